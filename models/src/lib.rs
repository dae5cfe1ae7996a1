//! Detection core of twitch-clipper.
//!
//! Pure: no I/O, no clock, no environment. Time comes in as an argument (message times and
//! `flush(until)`), randomness from a seed. The relay (live and replay) and the Lambda functions
//! all drive this same code.
//!
//! | concept | module |
//! |---|---|
//! | chat message, roles, emote spans, events | [`message`] |
//! | per-message text signals (laughter, hype, `?`, copypasta fingerprint) | [`text`] |
//! | per-channel emote vocabulary | [`emotes`] |
//! | window aggregation (`record`/`flush`), named features | [`window`] |
//! | Isolation Forest on linfa's traits and ndarray (params → check → fit → predict) | [`iforest`] |
//! | scale-free evidence: trailing levels, learned reaction lexicon | [`evidence`] |
//! | per-channel model: levels, scaler, forest, buffer, persistence | [`model`] |
//! | learned combination, clip span, cooldown/merge, `!testclip` | [`decision`] |
//! | one channel's whole pipeline | [`pipeline`] |
//! | the one score step: model + decision fed windows | [`scorer`] |
//! | the shared test fixture (feature `testkit`) | `fixture` |
//! | every parameter with its default | [`config`] |

pub mod config;
pub mod decision;
pub mod emotes;
pub mod error;
pub mod evidence;
#[cfg(any(test, feature = "testkit"))]
pub mod fixture;
pub mod iforest;
pub mod message;
pub mod model;
pub mod pipeline;
pub mod scorer;
pub mod text;
pub mod window;
pub mod wire;

pub use config::DetectorConfig;
pub use decision::{ClipDecision, DecisionConfig, Scores, Trigger, TriggerKind};
pub use error::{ModelsError, Result};
pub use message::{ChatEvent, ChatMessage, EmoteSpan, Millis, Roles};
pub use model::{ChannelModel, ModelConfig};
pub use pipeline::{ChannelDetector, Output, ScoredWindow, Training};
pub use scorer::{ChannelScorer, Scored};
pub use window::{WindowAggregator, WindowConfig, WindowFeatures};
pub use wire::{ClipPhase, ClipRequest, WindowBatch, WindowEnvelope, WIRE_VERSION};
