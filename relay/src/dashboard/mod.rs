//! The web dashboard `clipper run` serves (`--dashboard ADDR`, default `127.0.0.1:8080`):
//! log in with Twitch, manage channels, watch detection live, review and export clips.
//!
//! | part | module |
//! |---|---|
//! | log-in (authorization code), sessions, cookies | [`auth`] |
//! | `/api/*` handlers, who may do what | [`api`] |
//! | the pages and the embedded assets | [`pages`] |
//! | scored windows and clip changes from the driver (SSE), the live board | [`events`] |
//!
//! The router is generic over the [`ChannelStore`] and [`ClipStore`] it manages, so the same
//! code can serve local files (here) or other stores. Everything the pages need is compiled
//! into the binary (`include_str!`): no CDN, no build step.

pub mod api;
pub mod auth;
pub mod events;
pub mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post, put};
use axum::Router;
use clipper_functions::roles::{ChannelStore, ClipStore};
use clipper_functions::twitch::auth::{OAuthClient, Secret};
use tokio::sync::Notify;

use crate::error::{RelayError, Result};
pub use events::{DashEvent, Events, PublishingClipStore};

/// Settings of the dashboard.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The address browsers use (`http://{addr}` unless behind a proxy); the OAuth redirect is
    /// `{public_url}/auth/callback`, and cookies are `Secure` when it is `https`.
    pub public_url: url::Url,
    /// Twitch OAuth base (`--oauth-url`).
    pub oauth_base: url::Url,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// Logins that manage every channel (besides the clipper's own account).
    pub admins: Vec<String>,
    /// Where the clipper's user token is kept: a log-in by the clipper's own account (or, when
    /// no token is configured yet, by an admin) with `clips:edit` is saved here, like a rotated
    /// token.
    pub token_file: Option<PathBuf>,
    /// Lifetime of a session.
    pub session_ttl: Duration,
}

impl DashboardConfig {
    /// Defaults for listening on `addr` (public URL `http://{addr}`), no credentials.
    pub fn new(addr: SocketAddr) -> Result<Self> {
        Ok(DashboardConfig {
            addr,
            public_url: url::Url::parse(&format!("http://{addr}"))
                .map_err(|e| RelayError::Invalid(format!("dashboard address {addr}: {e}")))?,
            oauth_base: url::Url::parse("https://id.twitch.tv/oauth2")
                .map_err(|e| RelayError::Invalid(e.to_string()))?,
            client_id: String::new(),
            client_secret: None,
            admins: Vec::new(),
            token_file: None,
            session_ttl: Duration::from_secs(7 * 24 * 3600),
        })
    }

    /// `{public_url}/auth/callback`.
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}/auth/callback",
            self.public_url.as_str().trim_end_matches('/')
        )
    }
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
    /// `scheme://host[:port]` of the public URL (the `Origin` writes must come from).
    origin: String,
    secure: bool,
}

impl<C: ChannelStore + 'static, S: ClipStore + 'static> App<C, S> {
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
            .map_err(|e| RelayError::Invalid(format!("HTTP client: {e}")))?;
        let oauth = OAuthClient::new(
            http,
            cfg.oauth_base.clone(),
            cfg.client_id.clone(),
            cfg.client_secret.clone(),
        );
        let origin = cfg.public_url.origin().ascii_serialization();
        let secure = cfg.public_url.scheme() == "https";
        Ok(App {
            owner: owner.map(|o| o.to_ascii_lowercase()),
            oauth,
            sessions: auth::Sessions::default(),
            channels,
            clips,
            events,
            changed,
            origin,
            secure,
            cfg,
        })
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
            .route("/api/clips", get(api::clips::<C, S>))
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
}

/// A bound dashboard, not yet serving.
#[derive(Debug)]
pub struct Bound {
    listener: tokio::net::TcpListener,
    pub local_addr: SocketAddr,
}

/// Binds `addr` (port 0: any free port).
pub async fn bind(addr: SocketAddr) -> Result<Bound> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RelayError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| RelayError::Bind { addr, source })?;
    Ok(Bound {
        listener,
        local_addr,
    })
}

/// Serves `app` on `bound` until `shutdown` completes.
pub async fn serve<C: ChannelStore + 'static, S: ClipStore + 'static>(
    bound: Bound,
    app: Arc<App<C, S>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = bound.local_addr;
    axum::serve(bound.listener, app.router())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| RelayError::Bind { addr, source })
}
