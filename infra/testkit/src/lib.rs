//! Test infrastructure of twitch-clipper, kept out of the production crates: a dev-dependency of
//! `clipper-relay` and `clipper-functions` (their tests and benchmarks), never a dependency.
//!
//! | part | module |
//! |---|---|
//! | a scripted Twitch HTTP side (Helix and OAuth routes, bodies, client config) | [`helix`] |
//! | the cost model fed by the end-to-end run's measurements | [`cost`] |
//! | `/proc` memory figures and environment knobs of the benchmarks | [`bench`] |
//! | a Twitch-dialect IRC server on loopback (feature `relay`) | `loopback` |
//! | the fuzz harnesses (`infra/fuzz` targets, corpus replay tests; feature `relay`) | `fuzz` |
//! | a minimal SMTP server on loopback (email alert tests) | [`smtp`] |
//! | resources on moto, the serverless stack wired to them, queue loops (feature `aws`) | `moto` |
//! | a poller doing what Lambda's SQS event source mapping does (feature `aws`) | `esm` |
//! | a DynamoDB stream reader handing out Lambda's stream events (feature `aws`) | `stream` |

// Test infrastructure: a failed set-up step should fail the test where it happens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bench;
pub mod cost;
#[cfg(feature = "aws")]
pub mod esm;
#[cfg(feature = "relay")]
pub mod fuzz;
pub mod helix;
#[cfg(feature = "aws")]
pub mod iam;
#[cfg(feature = "relay")]
pub mod loopback;
#[cfg(feature = "aws")]
pub mod moto;
pub mod proxy;
pub mod smtp;
#[cfg(feature = "aws")]
pub mod stream;
