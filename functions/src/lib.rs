//! Lambda handlers of twitch-clipper (score, clip, train) and their AWS and Twitch adapters.
//!
//! | part | module |
//! |---|---|
//! | one trait per role (stores, queues, scheduler, Twitch API, token store) | [`roles`] |
//! | what is recorded of a clip | [`record`] |
//! | errors | [`error`] |
//! | Twitch adapters: OAuth tokens, Helix, emote providers | [`twitch`] |
//! | the clip state machine (create, retry, confirm) | [`clip_flow`] |
//! | Lambda handlers (score, clip, train), metrics | [`handlers`] |
//! | clip alerts: targets, payloads, exactly-once delivery, sending | [`notify`] |
//! | the web dashboard (`clipper run` and the dashboard function serve the same router) | [`dashboard`] |
//! | local adapters of the roles (files, memory, in-process queues, token file) | [`local`] |
//! | AWS adapters (S3, SQS, DynamoDB, Secrets Manager token store; feature `aws`) | `aws` |
//!
//! Test infrastructure (the SQS event-source poller, moto set-up, a scripted Helix, the cost
//! model) is in the dev-only crate `clipper-testkit` (`infra/testkit`).
//!
//! The serverless shape is built on the same detection core as the relay ([`clipper_models`]);
//! queue message types live there ([`clipper_models::wire`]).

#[cfg(feature = "aws")]
pub mod aws;
pub mod clip_flow;
pub mod clock;
pub mod dashboard;
pub mod error;
pub mod handlers;
pub mod local;
pub mod notify;
pub mod record;
pub mod roles;
pub mod twitch;

pub use clipper_models as models;
pub use error::{FunctionsError, Result};
