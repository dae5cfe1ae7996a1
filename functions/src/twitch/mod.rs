//! Twitch adapters: OAuth tokens ([`auth`]; where the user token pair is kept is a
//! [`crate::roles::TokenStore`], in [`crate::local`] or `crate::aws`), a small typed Helix client
//! ([`helix`]) and the third-party emote providers ([`emotes`]).
//!
//! # Why plain `reqwest` and not `twitch_api` / `twitch_oauth2`
//!
//! This module is plain [`reqwest`] (rustls, JSON) plus a small typed Helix layer with `serde`
//! bodies, rather than the `twitch_api` and `twitch_oauth2` crates, because:
//!
//! 1. those crates take their base URLs only from process-global environment variables
//!    (`TWITCH_HELIX_URL`, `TWITCH_OAUTH2_URL`, behind the `mock_api` feature), while we need
//!    per-instance base URLs ([`HelixConfig::helix_base`], [`HelixConfig::oauth_base`]) for
//!    tests that run many mock servers in one process and for self-hosted proxies;
//! 2. we need the raw `Ratelimit-Reset` header and the exact status mapping of Create Clip
//!    (AutoMod-rejected title, 403 clipping disabled, 404 offline, 429, 503) — see
//!    [`HelixError`];
//! 3. we use about eight endpoints (token, validate, users, streams, create/get clips, global and
//!    channel emotes), which is less code than adapting a general client.
//!
//! # Secrets
//!
//! Tokens and client secrets are held in [`Secret`], whose `Debug` and `Display` print `***`;
//! logs carry structured fields (endpoint, status, channel), never token values.

pub mod auth;
pub mod emotes;
pub mod error;
pub mod helix;

pub use auth::{
    AppTokenProvider, OAuthClient, Secret, TokenInfo, TwitchCredentials, UserAuth, UserTokens,
};
pub use emotes::{EmoteCatalog, EmoteList, EmoteProvider, EmoteProviders, RefreshOutcome};
pub use error::HelixError;
pub use helix::{
    ChatDropReason, ChatSent, ClipDownload, ClipInfo, CreatedClip, HelixClient, HelixConfig,
    StreamInfo, StreamsBy, DOWNLOAD_SCOPES,
};

/// `base` + `/` + `path`, keeping any path the base already has (`https://proxy/helix` +
/// `clips` → `https://proxy/helix/clips`).
pub(crate) fn join_url(base: &url::Url, path: &str) -> String {
    format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

pub(crate) use crate::clock::now_ms;

/// Largest HTTP body read from Twitch, its OAuth server or an emote provider (the largest real
/// answer, a big channel's 7TV emote set, is well under 2 MiB).
pub const MAX_BODY_BYTES: usize = 8 << 20;

/// The body of `resp`, refused past [`MAX_BODY_BYTES`] (announced or streamed) so that a broken
/// or hostile server cannot make us buffer without bound.
pub(crate) async fn body_capped(
    mut resp: reqwest::Response,
    operation: &'static str,
) -> Result<Vec<u8>, HelixError> {
    let too_large = || HelixError::BodyTooLarge {
        operation,
        limit: MAX_BODY_BYTES,
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|source| HelixError::Transport { operation, source })?
    {
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// [`body_capped`] as text (invalid UTF-8 replaced).
pub(crate) async fn text_capped(
    resp: reqwest::Response,
    operation: &'static str,
) -> Result<String, HelixError> {
    let bytes = body_capped(resp, operation).await?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}
