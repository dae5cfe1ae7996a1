//! The library of the `clipper` command (`src/main.rs` and its `src/cmd/` modules parse and
//! dispatch): reading chat (logs and live IRC), driving the detection core, and writing what it
//! finds.
//!
//! | part | module |
//! |---|---|
//! | chat-log readers (TSV, raw IRC), format detection | [`input`] |
//! | replay of logs through the detector | [`replay`] |
//! | evaluation against labels, the z-score rules | [`eval`] |
//! | timeline charts (SVG) of plain numbers | [`chart`] |
//! | synthetic streams: generator, writers, word lists | [`synth`] |
//! | live chat, clips and the serverless relay | [`live`] |
//! | `clipper channels` and `clipper clips export` over any store | [`admin`] |
//! | the web dashboard `clipper run` serves | [`dashboard`] |
//! | the crate's error type | [`error`] |

pub mod admin;
pub mod chart;
pub mod dashboard;
pub mod error;
pub mod eval;
pub mod input;
pub mod live;
pub mod replay;
pub mod synth;

pub use error::{RelayError, Result};
