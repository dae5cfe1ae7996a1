//! The `clipper` command: reading chat (logs and, later, live IRC), driving the detection core,
//! and writing what it finds.

pub mod error;
pub mod input;

pub use error::{RelayError, Result};
