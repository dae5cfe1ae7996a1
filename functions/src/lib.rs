//! Lambda handlers of twitch-clipper (score, clip, train) and their AWS and Twitch adapters.
//!
//! The serverless shape is built on the same detection core as the relay ([`clipper_models`]).
//! Handlers land with the serverless issue; this crate is the place for them.

pub use clipper_models as models;
