//! The one error type of the functions crate (handlers and adapters).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum FunctionsError {
    /// A stored model exists but cannot be read back.
    #[error("stored model of channel {channel} is corrupt")]
    CorruptModel {
        channel: String,
        #[source]
        source: clipper_models::ModelsError,
    },
    /// A queue message or stored item that does not decode (poison).
    #[error("undecodable {what}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A message of another wire version.
    #[error("{what} has wire version {found}, this build reads {expected}")]
    WireVersion {
        what: &'static str,
        found: u32,
        expected: u32,
    },
    /// Local file I/O.
    #[error("{path}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A backend (AWS service, HTTP API) failed; `retryable` says whether trying again may help.
    #[error("{service} {operation} failed: {message}")]
    Backend {
        service: &'static str,
        operation: &'static str,
        message: String,
        retryable: bool,
    },
    /// Bad configuration (message says which setting).
    #[error("{0}")]
    Config(String),
    /// The OS random source failed (session ids).
    #[error("random source: {0}")]
    Random(String),
    /// A user token pair was refreshed but could not be saved, even after retries. Carries the
    /// new pair: the old refresh token may already be spent, so it is the only usable one.
    #[error("refreshed user token could not be saved")]
    TokenNotSaved {
        tokens: Box<crate::twitch::UserTokens>,
        #[source]
        source: Box<FunctionsError>,
    },
}

impl FunctionsError {
    /// Whether the same call may succeed later (throttling, 5xx, network).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            FunctionsError::Backend {
                retryable: true,
                ..
            } | FunctionsError::Io { .. }
        )
    }
}

pub type Result<T, E = FunctionsError> = std::result::Result<T, E>;
