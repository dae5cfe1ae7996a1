//! Live mode: chat from Twitch IRC through the same detector as replay, clips through Helix.
//!
//! | part | module |
//! |---|---|
//! | TCP/TLS transport to a configurable IRC address | [`transport`] |
//! | pooled anonymous client, paced joins, message mapping | [`chat`] |
//! | the driver task (detectors, timer, training, autosave, status) | [`driver`] |
//! | the clip worker (clip flow, records) | [`clips`] |
//! | the alert worker (clip alerts after confirmation) | [`notify`] |
//! | the serverless relay's window forwarder | [`forward`] |
//! | `clipper record` (raw IRC lines to files) | [`record`] |
//! | wiring of `clipper run` | [`run`] |
//!
//! The loopback Twitch IRC server the tests and the ingest benchmark talk to is test
//! infrastructure: `clipper_testkit::loopback` (`infra/testkit`).

pub mod chat;
pub mod clips;
pub mod driver;
pub mod forward;
pub mod notify;
pub mod record;
pub mod run;
pub mod transport;
