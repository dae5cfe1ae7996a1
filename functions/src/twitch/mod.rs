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
pub use helix::{ClipInfo, CreatedClip, HelixClient, HelixConfig, StreamInfo, StreamsBy};

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
