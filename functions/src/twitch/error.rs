//! Errors of the Twitch adapters (OAuth and Helix), with their retry semantics.

use std::time::Duration;

use clipper_models::Millis;
use thiserror::Error;

use crate::error::FunctionsError;

/// Delay suggested for a retryable server or network error before the caller's own backoff.
const SERVER_RETRY: Duration = Duration::from_secs(5);
/// Delay suggested for a 429 without a usable `Ratelimit-Reset` (the Helix bucket refills per
/// minute).
const RATE_LIMIT_FALLBACK: Duration = Duration::from_secs(60);

/// What went wrong talking to Twitch (Helix or OAuth).
///
/// The Create Clip specific variants ([`HelixError::ClippingForbidden`],
/// [`HelixError::NotLive`]) are only produced by [`crate::twitch::HelixClient::create_clip`];
/// other endpoints report 403/404 as [`HelixError::Status`].
#[derive(Debug, Error)]
pub enum HelixError {
    /// 400: unknown broadcaster, category not clippable, bad parameter. (A title rejected by
    /// AutoMod is retried once without a title inside `create_clip` before this is returned.)
    #[error("bad request: {message}")]
    BadRequest { message: String },
    /// 401 that a token refresh (or a fresh app token) did not cure, or no way to refresh.
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    /// 403 on Create Clip: clips disabled, followers/subscribers only, or the token's user is
    /// banned or timed out. The caller pauses the channel.
    #[error("clipping forbidden: {message}")]
    ClippingForbidden { message: String },
    /// 403 on a request the token's user may not make (Get Clips Download: not the
    /// broadcaster or an editor), or a token without the scope the request needs.
    #[error("forbidden: {message}")]
    Forbidden { message: String },
    /// 404 on Create Clip: the broadcaster is not live.
    #[error("broadcaster is not live")]
    NotLive,
    /// 429: the Helix point budget is spent until `reset_at_ms` (Unix ms, from the
    /// `Ratelimit-Reset` header in Unix seconds; `None` when the header was missing).
    #[error("rate limited (reset at {reset_at_ms:?} ms)")]
    RateLimited { reset_at_ms: Option<Millis> },
    /// 5xx (503 is seen on Create Clip for some channels).
    #[error("Twitch server error {status}: {message}")]
    Server { status: u16, message: String },
    /// Any other unexpected status (e.g. 403/404 outside Create Clip).
    #[error("unexpected status {status}: {message}")]
    Status { status: u16, message: String },
    /// Network failure: connect, TLS, timeout, body read.
    #[error("{operation}: request failed")]
    Transport {
        operation: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// An answer whose body is larger than [`crate::twitch::MAX_BODY_BYTES`].
    #[error("{operation}: response body over {limit} bytes")]
    BodyTooLarge {
        operation: &'static str,
        limit: usize,
    },
    /// A 2xx answer whose body does not decode.
    #[error("{operation}: undecodable response")]
    Decode {
        operation: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The OAuth server rejected the refresh token (400 "Invalid refresh token"): the user must
    /// authorise again and put the new tokens in the token file or environment.
    #[error("invalid refresh token ({message}); authorise again and replace the stored tokens")]
    InvalidRefreshToken { message: String },
    /// A call that needs credentials that were not configured (which ones is said).
    #[error("no {0} configured")]
    MissingCredentials(&'static str),
    /// The token store failed (loading, or persisting a rotated token pair).
    #[error("token store failed")]
    TokenStore(#[source] Box<FunctionsError>),
    /// The user token was refreshed but the new pair could not be persisted. Carries the new
    /// pair (the old refresh token may already be spent); [`crate::twitch::UserAuth`] keeps it
    /// in memory and reports the store's error.
    #[error("refreshed user token could not be persisted")]
    NotPersisted {
        tokens: Box<crate::twitch::UserTokens>,
        #[source]
        source: Box<FunctionsError>,
    },
    /// Bad configuration (base URL, client id, HTTP client).
    #[error("bad Twitch configuration: {0}")]
    Config(String),
}

impl HelixError {
    /// Whether the same call may succeed later without any change (429, 5xx, network).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            HelixError::RateLimited { .. }
                | HelixError::Server { .. }
                | HelixError::Transport { .. }
        )
    }

    /// How long to wait before retrying, for retryable errors: until the rate-limit reset (at
    /// least 1 s; 60 s when the reset is unknown), 5 s for server and network errors. `None`
    /// when retrying cannot help.
    pub fn suggested_delay(&self, now_ms: Millis) -> Option<Duration> {
        match self {
            HelixError::RateLimited {
                reset_at_ms: Some(reset),
            } => {
                let ms = reset.saturating_sub(now_ms).max(1_000);
                Some(Duration::from_millis(u64::try_from(ms).unwrap_or(1_000)))
            }
            HelixError::RateLimited { reset_at_ms: None } => Some(RATE_LIMIT_FALLBACK),
            HelixError::Server { .. } | HelixError::Transport { .. } => Some(SERVER_RETRY),
            _ => None,
        }
    }

    /// The HTTP status behind this error, if it came from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HelixError::BadRequest { .. } => Some(400),
            HelixError::Unauthorized { .. } => Some(401),
            HelixError::ClippingForbidden { .. } | HelixError::Forbidden { .. } => Some(403),
            HelixError::NotLive => Some(404),
            HelixError::RateLimited { .. } => Some(429),
            HelixError::Server { status, .. } | HelixError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn from_store(e: FunctionsError) -> Self {
        HelixError::TokenStore(Box::new(e))
    }
}

/// Text of an error and all its causes, `: `-separated.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl From<HelixError> for FunctionsError {
    /// A token-store failure converts back into the store's own error; everything else into
    /// [`FunctionsError::Backend`] (service `twitch`) with the whole cause chain in the message
    /// and the retry flag of [`HelixError::is_retryable`].
    fn from(e: HelixError) -> Self {
        match e {
            HelixError::TokenStore(inner) | HelixError::NotPersisted { source: inner, .. } => {
                *inner
            }
            HelixError::Config(m) => FunctionsError::Config(m),
            other => FunctionsError::Backend {
                service: "twitch",
                operation: "helix",
                retryable: other.is_retryable(),
                message: chain(&other),
            },
        }
    }
}
