//! The web dashboard: log in with Twitch, manage channels, watch detection live, review and
//! export clips. One router, served by `clipper run` (local files, in-memory sessions, live
//! events over SSE) and by the `dashboard` Lambda function (DynamoDB tables and sessions,
//! `/api/events` answered by polling the clips table).
//!
//! | part | module |
//! |---|---|
//! | log-in (authorization code), sessions and their stores, cookies | [`auth`] |
//! | `/api/*` handlers, who may do what | [`api`] |
//! | the pages and the embedded assets | [`pages`] |
//! | scored windows and clip changes from the driver (SSE), the live board | [`events`] |
//! | the clip rows of `/api/clips` and `clipper clips export` | [`export`] |
//! | view counts from Helix Get Clips, cached | [`views`] |
//! | clip downloads (Get Clips Download: saved to disk, or a link) | [`downloads`] |
//! | the Lambda function's wiring: DynamoDB, Secrets Manager (feature `aws`) | `function` |
//!
//! The router is generic over the [`ChannelStore`] and [`ClipStore`] it manages; sessions and
//! the place a log-in's token is saved are trait objects ([`auth::SessionStore`],
//! [`TokenSink`]). Everything the pages need is compiled into the binary (`include_str!`): no
//! CDN, no build step.

pub mod api;
pub mod auth;
pub mod downloads;
pub mod events;
pub mod export;
#[cfg(feature = "aws")]
pub mod function;
pub mod pages;
pub mod views;

use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use axum::routing::{get, post, put};
use axum::Router;
use tokio::sync::Notify;

use crate::error::{FunctionsError, Result};
use crate::roles::{ChannelStore, ClipStore, Timeline, TokenStore};
use crate::twitch::auth::{OAuthClient, Secret, UserTokens};
pub use events::{DashEvent, Events, PublishingClipStore};

/// Settings of the dashboard.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// Where to listen (`clipper run`; unused by the function).
    pub addr: SocketAddr,
    /// The address browsers use (`http://{addr}` unless behind a proxy); the OAuth redirect is
    /// `{public_url}/auth/callback`, and cookies are `Secure` when it is `https`.
    pub public_url: url::Url,
    /// Take the public URL from each request's `Host` (as `https://{host}`) instead: a Lambda
    /// Function URL, whose address is known only once the function exists. AWS routes a
    /// Function URL by its host, so the header cannot name another site.
    pub public_url_from_host: bool,
    /// Twitch OAuth base (`--oauth-url`).
    pub oauth_base: url::Url,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// Logins that manage every channel (besides the clipper's own account).
    pub admins: Vec<String>,
    /// Where the clipper's user token is kept: a log-in by the clipper's own account (or, when
    /// no token is configured yet, by an admin) with `clips:edit` is saved here, like a rotated
    /// token. (The function saves it to the token secret instead: [`App::with_token_sink`].)
    pub token_file: Option<PathBuf>,
    /// Lifetime of a session.
    pub session_ttl: Duration,
    /// `/api/events` answers at once with the recent clip changes and a `retry:` delay, and the
    /// browser's `EventSource` polls (no long-lived stream: Lambda buffers answers).
    pub poll_events: bool,
}

impl DashboardConfig {
    /// Defaults for listening on `addr` (public URL `http://{addr}`), no credentials.
    pub fn new(addr: SocketAddr) -> Result<Self> {
        Ok(DashboardConfig {
            addr,
            public_url: url::Url::parse(&format!("http://{addr}"))
                .map_err(|e| FunctionsError::Config(format!("dashboard address {addr}: {e}")))?,
            public_url_from_host: false,
            oauth_base: url::Url::parse("https://id.twitch.tv/oauth2")
                .map_err(|e| FunctionsError::Config(e.to_string()))?,
            client_id: String::new(),
            client_secret: None,
            admins: Vec::new(),
            token_file: None,
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            poll_events: false,
        })
    }

    /// `{public_url}/auth/callback`.
    pub fn redirect_uri(&self) -> String {
        redirect_uri(&self.public_url)
    }
}

fn redirect_uri(public: &url::Url) -> String {
    format!("{}/auth/callback", public.as_str().trim_end_matches('/'))
}

/// Where a log-in's user token is saved when it is the clipper's (a token file, the token
/// secret). Any [`TokenStore`] is one.
#[async_trait::async_trait]
pub trait TokenSink: Send + Sync + Debug {
    async fn save(&self, tokens: &UserTokens) -> Result<()>;
}

#[async_trait::async_trait]
impl<T: TokenStore + Debug> TokenSink for T {
    async fn save(&self, tokens: &UserTokens) -> Result<()> {
        TokenStore::save(self, tokens).await
    }
}

/// The public address of one request: its origin, whether it is HTTPS, the OAuth redirect.
#[derive(Debug, Clone)]
pub(crate) struct Public {
    origin: String,
    secure: bool,
    redirect_uri: String,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct App<C, S> {
    cfg: DashboardConfig,
    /// Login of the account whose token runs the clipper, if known.
    owner: Option<String>,
    oauth: OAuthClient,
    sessions: auth::Sessions,
    channels: Arc<C>,
    clips: Arc<S>,
    events: Events,
    /// Notified after every channel change: the run re-reads the channel store at once.
    changed: Arc<Notify>,
    tokens: Option<Arc<dyn TokenSink>>,
    /// View counts of confirmed clips (Helix), when a Helix client can read.
    views: Option<views::ViewCache>,
    /// Clip downloads, when the clipper has a user token.
    downloads: Option<Arc<dyn downloads::ClipDownloader>>,
    /// Recent windows per channel (the timeline's history; on AWS also the overview's live
    /// state): `events` itself unless told otherwise.
    timeline: Arc<dyn Timeline>,
}

impl<C: ChannelStore + 'static, S: ClipStore + 'static> App<C, S> {
    /// The dashboard over `channels` and `clips`, with sessions in memory and the clipper's
    /// token saved to `cfg.token_file` (if set).
    pub fn new(
        cfg: DashboardConfig,
        owner: Option<String>,
        channels: Arc<C>,
        clips: Arc<S>,
        events: Events,
        changed: Arc<Notify>,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| FunctionsError::Config(format!("HTTP client: {e}")))?;
        let oauth = OAuthClient::new(
            http,
            cfg.oauth_base.clone(),
            cfg.client_id.clone(),
            cfg.client_secret.clone(),
        );
        let tokens = cfg
            .token_file
            .as_ref()
            .map(|f| Arc::new(crate::local::FileTokenStore::new(f)) as Arc<dyn TokenSink>);
        Ok(App {
            owner: owner.map(|o| o.to_ascii_lowercase()),
            oauth,
            sessions: auth::Sessions::default(),
            channels,
            clips,
            events: events.clone(),
            changed,
            tokens,
            views: None,
            downloads: None,
            timeline: Arc::new(events.clone()),
            cfg,
        })
    }

    /// Keep sessions and login attempts in `store` instead of memory.
    pub fn with_session_store(mut self, store: Arc<dyn auth::SessionStore>) -> Self {
        self.sessions = auth::Sessions::new(store);
        self
    }

    /// Save the clipper's token to `sink` instead of `cfg.token_file`.
    pub fn with_token_sink(mut self, sink: Arc<dyn TokenSink>) -> Self {
        self.tokens = Some(sink);
        self
    }

    /// Show view counts from `source` (Helix Get Clips), refreshed at most every `max_age`.
    pub fn with_views(mut self, source: Arc<dyn views::ViewSource>, max_age: Duration) -> Self {
        self.views = Some(views::ViewCache::new(source, max_age));
        self
    }

    /// Read recent windows from `t` (the function: the timeline table).
    pub fn with_timeline(mut self, t: Arc<dyn Timeline>) -> Self {
        self.timeline = t;
        self
    }

    /// Offer clip downloads through `d`.
    pub fn with_downloads(mut self, d: Arc<dyn downloads::ClipDownloader>) -> Self {
        self.downloads = Some(d);
        self
    }

    /// The routes.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/login", get(api::login::<C, S>))
            .route("/auth/callback", get(api::callback::<C, S>))
            .route("/logout", post(api::logout::<C, S>))
            .route("/api/me", get(api::me::<C, S>))
            .route("/api/channels", get(api::list_channels::<C, S>))
            .route(
                "/api/channels/{name}",
                put(api::put_channel::<C, S>).delete(api::delete_channel::<C, S>),
            )
            .route(
                "/api/channels/{name}/windows",
                get(api::channel_windows::<C, S>),
            )
            .route("/api/clips", get(api::clips::<C, S>))
            .route(
                "/api/clips/{request_id}/download",
                post(api::download::<C, S>),
            )
            .route("/api/events", get(api::events::<C, S>))
            .route("/", get(pages::page::<C, S>))
            .route("/clips", get(pages::page::<C, S>))
            .route("/analytics", get(pages::page::<C, S>))
            .route("/channel/{name}", get(pages::channel_page::<C, S>))
            .route("/assets/{file}", get(pages::asset))
            .layer(axum::middleware::map_response(pages::security_headers))
            .with_state(self)
    }
}

impl<C, S> App<C, S> {
    /// Whether `login` manages everything.
    fn is_admin(&self, login: &str) -> bool {
        self.owner.as_deref() == Some(login)
            || self
                .cfg
                .admins
                .iter()
                .any(|a| a.eq_ignore_ascii_case(login))
    }

    /// The public address this request came to: the configured one, or (Function URL)
    /// `https://{Host}` when the host is a plain host name.
    pub(crate) fn public(&self, headers: &HeaderMap) -> Public {
        let from_host = self
            .cfg
            .public_url_from_host
            .then(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
            .flatten()
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 253
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
            })
            .and_then(|h| url::Url::parse(&format!("https://{h}")).ok());
        let url = from_host.as_ref().unwrap_or(&self.cfg.public_url);
        Public {
            origin: url.origin().ascii_serialization(),
            secure: url.scheme() == "https",
            redirect_uri: redirect_uri(url),
        }
    }
}
