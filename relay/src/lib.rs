//! The `clipper` command: reading chat (logs and, later, live IRC), driving the detection core,
//! and writing what it finds.

pub mod admin;
pub mod chart;
pub mod error;
pub mod eval;
pub mod input;
pub mod live;
pub mod replay;
pub mod store;
pub mod synth;

pub use error::{RelayError, Result};
