//! Lambda handlers of twitch-clipper (score, clip, train) and their AWS and Twitch adapters.
//!
//! | part | module |
//! |---|---|
//! | one trait per role (stores, queues, scheduler) | [`roles`] |
//! | what is recorded of a clip | [`record`] |
//! | errors | [`error`] |
//! | Twitch adapters: OAuth tokens, Helix, emote providers | [`twitch`] |
//! | the clip state machine (create, retry, confirm) | [`clip_flow`] |
//! | Lambda handlers (score, clip, train), metrics, cost model | [`handlers`] |
//! | local adapters of the roles (files, memory, in-process queues) | [`local`] |
//! | AWS adapters (S3, SQS, DynamoDB, Secrets Manager; feature `aws`) | `aws` |
//!
//! The serverless shape is built on the same detection core as the relay ([`clipper_models`]);
//! queue message types live there ([`clipper_models::wire`]).

#[cfg(feature = "aws")]
pub mod aws;
pub mod clip_flow;
pub mod error;
pub mod handlers;
pub mod local;
pub mod record;
pub mod roles;
pub mod twitch;

pub use clipper_models as models;
pub use error::{FunctionsError, Result};
