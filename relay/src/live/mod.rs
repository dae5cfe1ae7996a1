//! Live mode: chat from Twitch IRC through the same detector as replay, clips through Helix.
//!
//! | part | module |
//! |---|---|
//! | TCP/TLS transport to a configurable IRC address | [`transport`] |
//! | pooled anonymous client, paced joins, message mapping | [`chat`] |
//! | the driver task (detectors, timer, training, autosave, status) | [`driver`] |
//! | a Twitch-dialect IRC server on loopback (tests, benchmark) | [`loopback`] |

pub mod chat;
pub mod clips;
pub mod driver;
pub mod forward;
pub mod loopback;
pub mod record;
pub mod run;
pub mod transport;
