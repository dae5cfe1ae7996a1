//! A small typed Helix client: users, streams, Create/Get Clips, Twitch emotes.
//!
//! Every call sends `Client-Id` and `Authorization: Bearer`. Reads use the app token when a
//! client secret is configured (else the user token); Create Clip uses the user token. A 401
//! gets exactly one retry: with a fresh app token, or after refreshing the user token.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::auth::{AppTokenProvider, OAuthClient, Secret, TwitchCredentials, UserAuth};
use super::error::HelixError;
use super::join_url;
use crate::local::MemoryTokenStore;
use crate::roles::{ClipApi, TokenStore};
use clipper_models::Millis;

type HResult<T> = std::result::Result<T, HelixError>;

/// Helix accepts at most this many ids/logins per call.
const PER_CALL: usize = 100;

/// Where and how to reach Twitch.
#[derive(Debug, Clone, PartialEq)]
pub struct HelixConfig {
    /// Helix base URL. Default `https://api.twitch.tv/helix`.
    pub helix_base: url::Url,
    /// OAuth base URL. Default `https://id.twitch.tv/oauth2`.
    pub oauth_base: url::Url,
    /// Application client id.
    pub client_id: String,
    /// Per-request timeout. Default 10 s.
    pub timeout: Duration,
    /// Clip length asked of Create Clip (5–60 s, 0.1 s steps); `None` = Twitch's default (30 s).
    pub clip_duration_s: Option<f64>,
}

/// Default Helix base URL.
pub const DEFAULT_HELIX_BASE: &str = "https://api.twitch.tv/helix";
/// Default OAuth base URL.
pub const DEFAULT_OAUTH_BASE: &str = "https://id.twitch.tv/oauth2";

impl HelixConfig {
    /// The public Twitch endpoints for `client_id`, 10 s timeout, Twitch's default clip length.
    pub fn new(client_id: impl Into<String>) -> Self {
        HelixConfig {
            helix_base: parse_default(DEFAULT_HELIX_BASE),
            oauth_base: parse_default(DEFAULT_OAUTH_BASE),
            client_id: client_id.into(),
            timeout: Duration::from_secs(10),
            clip_duration_s: None,
        }
    }
}

fn parse_default(s: &str) -> url::Url {
    url::Url::parse(s).unwrap_or_else(|e| unreachable!("built-in URL {s} is valid: {e}"))
}

/// Answer of Create Clip (202): the clip is being made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedClip {
    pub id: String,
    pub edit_url: String,
}

/// A clip as Get Clips reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipInfo {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub title: String,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub broadcaster_id: String,
    #[serde(default)]
    pub creator_id: String,
    #[serde(default)]
    pub creator_name: String,
    /// Seconds.
    #[serde(default)]
    pub duration: f64,
    #[serde(default)]
    pub view_count: u64,
    #[serde(default)]
    pub thumbnail_url: String,
}

/// Download links of one clip (Get Clips Download). Either may be absent (not rendered yet,
/// or no portrait version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipDownload {
    pub clip_id: String,
    #[serde(default)]
    pub landscape_download_url: Option<String>,
    #[serde(default)]
    pub portrait_download_url: Option<String>,
}

/// Scopes that allow Get Clips Download: an editor's, or the broadcaster's own.
pub const DOWNLOAD_SCOPES: [&str; 2] = ["editor:manage:clips", "channel:manage:clips"];

/// A live stream as Get Streams reports it (offline channels are absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub user_id: String,
    pub user_login: String,
    #[serde(default)]
    pub viewer_count: u64,
    /// RFC 3339.
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub game_name: String,
}

/// Which streams to ask Get Streams for.
#[derive(Debug, Clone, Copy)]
pub enum StreamsBy<'a> {
    /// By login (`user_login`).
    Logins(&'a [String]),
    /// By user id (`user_id`).
    Ids(&'a [String]),
}

#[derive(Deserialize)]
struct Data<T> {
    data: Vec<T>,
}

/// What Send Chat Message answered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChatSent {
    #[serde(default)]
    pub message_id: String,
    pub is_sent: bool,
    #[serde(default)]
    pub drop_reason: Option<ChatDropReason>,
}

/// Why Twitch dropped a chat message (`msg_duplicate`, `msg_rejected`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChatDropReason {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct UserRow {
    id: String,
    login: String,
}

#[derive(Deserialize)]
struct EmoteRow {
    name: String,
}

#[derive(Deserialize)]
struct HelixErrorBody {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Auth {
    /// App token if configured, else the user token.
    Read,
    /// The user token.
    User,
}

#[derive(Clone, Copy, Debug)]
enum Used {
    App,
    User,
}

/// Typed Helix client. Cheap to share behind an `Arc`; `S` is the user token's store.
#[derive(Debug)]
pub struct HelixClient<S = MemoryTokenStore> {
    http: reqwest::Client,
    config: HelixConfig,
    oauth: OAuthClient,
    app: Option<AppTokenProvider>,
    user: Option<Arc<UserAuth<S>>>,
}

impl HelixClient {
    /// A client without a user token (reads only; add one with [`HelixClient::with_user`]).
    /// With `client_secret`, reads use app tokens (client credentials).
    pub fn new(config: HelixConfig, client_secret: Option<Secret>) -> HResult<HelixClient> {
        if config.client_id.trim().is_empty() {
            return Err(HelixError::Config("client id is empty".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("twitch-clipper/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HelixError::Config(format!("HTTP client: {e}")))?;
        let oauth = OAuthClient::new(
            http.clone(),
            config.oauth_base.clone(),
            config.client_id.clone(),
            client_secret,
        );
        let app = oauth
            .has_client_secret()
            .then(|| AppTokenProvider::new(oauth.clone()));
        Ok(HelixClient {
            http,
            config,
            oauth,
            app,
            user: None,
        })
    }

    /// A client from `creds`: app tokens when a secret is given, and the user token from `store`
    /// (preferred, latest rotation) or from `creds`. Without any user token the client can read
    /// but not create clips (dry run).
    pub async fn from_credentials<S: TokenStore>(
        mut config: HelixConfig,
        creds: &TwitchCredentials,
        store: S,
    ) -> HResult<HelixClient<S>> {
        config.client_id.clone_from(&creds.client_id);
        let client = HelixClient::new(config, creds.client_secret.clone())?;
        match UserAuth::load(client.oauth.clone(), store, creds.user_tokens()).await {
            Ok(user) => Ok(client.with_user(Arc::new(user))),
            Err(HelixError::MissingCredentials(_)) => Ok(client.without_user()),
            Err(e) => Err(e),
        }
    }
}

impl HelixClient {
    /// A client whose user token lives in a store shared with others (the clip function's
    /// secret): read at start, re-read every `reload_every` when needed
    /// ([`UserAuth::shared`]). An empty store is not an error: Create Clip answers
    /// [`HelixError::MissingCredentials`] until a token is put there.
    pub async fn from_shared_store<S: TokenStore>(
        mut config: HelixConfig,
        creds: &TwitchCredentials,
        store: S,
        reload_every: Duration,
    ) -> HResult<HelixClient<S>> {
        config.client_id.clone_from(&creds.client_id);
        let client = HelixClient::new(config, creds.client_secret.clone())?;
        let user = UserAuth::shared(client.oauth.clone(), store, reload_every).await?;
        Ok(client.with_user(Arc::new(user)))
    }
}

impl<S: TokenStore> HelixClient<S> {
    /// The same client using `user` for Create Clip.
    pub fn with_user<S2: TokenStore>(self, user: Arc<UserAuth<S2>>) -> HelixClient<S2> {
        HelixClient {
            http: self.http,
            config: self.config,
            oauth: self.oauth,
            app: self.app,
            user: Some(user),
        }
    }

    fn without_user<S2: TokenStore>(self) -> HelixClient<S2> {
        HelixClient {
            http: self.http,
            config: self.config,
            oauth: self.oauth,
            app: self.app,
            user: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HelixConfig {
        &self.config
    }

    /// The OAuth client (to build a [`UserAuth`] sharing this client's connections).
    pub fn oauth(&self) -> &OAuthClient {
        &self.oauth
    }

    /// The user token, if configured.
    pub fn user_auth(&self) -> Option<&Arc<UserAuth<S>>> {
        self.user.as_ref()
    }

    /// Whether Create Clip can be called (a user token is configured).
    pub fn can_clip(&self) -> bool {
        self.user.is_some()
    }

    /// Whether read endpoints can be called (an app secret or a user token).
    pub fn can_read(&self) -> bool {
        self.app.is_some() || self.user.is_some()
    }

    async fn bearer(&self, auth: Auth) -> HResult<(Secret, Used)> {
        if auth == Auth::Read {
            if let Some(app) = &self.app {
                return Ok((app.token().await?, Used::App));
            }
        }
        match &self.user {
            Some(u) => Ok((u.fresh_access_token().await?, Used::User)),
            None if auth == Auth::User => Err(HelixError::MissingCredentials(
                "user access token (clips:edit)",
            )),
            None => Err(HelixError::MissingCredentials(
                "client secret or user access token",
            )),
        }
    }

    /// Send one Helix request; on 401 renew the token once and send again.
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        auth: Auth,
    ) -> HResult<Response> {
        self.call_with(operation, method, path, query, None, auth)
            .await
    }

    /// [`Self::call`] with an optional JSON body.
    async fn call_with(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        auth: Auth,
    ) -> HResult<Response> {
        let url = join_url(&self.config.helix_base, path);
        let mut retried = false;
        loop {
            let (token, used) = self.bearer(auth).await?;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .query(query)
                .header("Client-Id", &self.config.client_id)
                .bearer_auth(token.expose());
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .map_err(|source| HelixError::Transport { operation, source })?;
            let status = resp.status();
            tracing::debug!(
                operation,
                status = status.as_u16(),
                ratelimit_remaining = header_str(&resp, "ratelimit-remaining"),
                "helix call"
            );
            if status != StatusCode::UNAUTHORIZED || retried {
                return Ok(resp);
            }
            retried = true;
            match used {
                Used::App => {
                    tracing::warn!(operation, "app token rejected (401); requesting a new one");
                    if let Some(app) = &self.app {
                        app.invalidate(&token).await;
                    }
                }
                Used::User => {
                    tracing::warn!(operation, "user token rejected (401); refreshing it");
                    if let Some(user) = &self.user {
                        user.refresh_rejected(&token).await?;
                    }
                }
            }
        }
    }

    async fn get_data<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &str,
        query: &[(&str, &str)],
    ) -> HResult<Vec<T>> {
        let resp = self
            .call(operation, Method::GET, path, query, Auth::Read)
            .await?;
        if !resp.status().is_success() {
            return Err(status_error(operation, resp).await);
        }
        decode::<Data<T>>(operation, resp).await.map(|d| d.data)
    }

    /// Get Users: login (lower case) → user id, 100 logins per call. Unknown logins are absent.
    pub async fn get_users(&self, logins: &[String]) -> HResult<HashMap<String, String>> {
        let logins: Vec<String> = logins
            .iter()
            .map(|l| l.trim().trim_start_matches('#').to_ascii_lowercase())
            .filter(|l| !l.is_empty())
            .collect();
        let mut out = HashMap::with_capacity(logins.len());
        for chunk in logins.chunks(PER_CALL) {
            let query: Vec<(&str, &str)> = chunk.iter().map(|l| ("login", l.as_str())).collect();
            let rows: Vec<UserRow> = self.get_data("get users", "users", &query).await?;
            out.extend(
                rows.into_iter()
                    .map(|u| (u.login.to_ascii_lowercase(), u.id)),
            );
        }
        Ok(out)
    }

    /// Get Streams for up to any number of logins or ids (100 per call). Offline channels are
    /// simply absent.
    pub async fn get_streams(&self, by: StreamsBy<'_>) -> HResult<Vec<StreamInfo>> {
        let (key, values) = match by {
            StreamsBy::Logins(l) => ("user_login", l),
            StreamsBy::Ids(i) => ("user_id", i),
        };
        let mut out = Vec::new();
        for chunk in values.chunks(PER_CALL) {
            let mut query: Vec<(&str, &str)> = chunk.iter().map(|v| (key, v.as_str())).collect();
            query.push(("first", "100"));
            out.extend(
                self.get_data::<StreamInfo>("get streams", "streams", &query)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Clips of `broadcaster_id` created since `since_ms` by the user token's own user
    /// (`GET /clips?broadcaster_id&started_at`, filtered by `creator_id`), newest first. The
    /// user id comes from validating the token once.
    pub async fn find_own_clips(
        &self,
        broadcaster_id: &str,
        since_ms: Millis,
    ) -> HResult<Vec<ClipInfo>> {
        let user = self.user.as_ref().ok_or(HelixError::MissingCredentials(
            "user access token (clips:edit)",
        ))?;
        let me = user.user_id().await?;
        let started_at = chrono::DateTime::from_timestamp_millis(since_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut clips: Vec<ClipInfo> = self
            .get_data::<ClipInfo>(
                "get clips",
                "clips",
                &[
                    ("broadcaster_id", broadcaster_id),
                    ("started_at", &started_at),
                    ("first", "100"),
                ],
            )
            .await?
            .into_iter()
            .filter(|c| c.creator_id == me)
            .collect();
        clips.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(clips)
    }

    /// Create Clip (`POST /clips`, user token with `clips:edit`) → 202 with the clip id.
    ///
    /// `title` and `duration_s` (clamped to 5–60 s, 0.1 s steps) are optional. A title rejected
    /// (400 mentioning AutoMod or the title) is retried once without it. Status mapping:
    /// other 400 → [`HelixError::BadRequest`]; 401 → refresh the user token, retry once, then
    /// [`HelixError::Unauthorized`]; 403 → [`HelixError::ClippingForbidden`]; 404 →
    /// [`HelixError::NotLive`]; 429 → [`HelixError::RateLimited`]; 5xx → [`HelixError::Server`].
    pub async fn create_clip(
        &self,
        broadcaster_id: &str,
        title: Option<&str>,
        duration_s: Option<f64>,
    ) -> HResult<CreatedClip> {
        let title = title.map(str::trim).filter(|t| !t.is_empty());
        match self
            .create_clip_once(broadcaster_id, title, duration_s)
            .await
        {
            Err(HelixError::BadRequest { message })
                if title.is_some() && is_title_rejection(&message) =>
            {
                tracing::warn!(
                    broadcaster_id,
                    %message,
                    "clip title rejected; creating the clip without a title"
                );
                self.create_clip_once(broadcaster_id, None, duration_s)
                    .await
            }
            other => other,
        }
    }

    async fn create_clip_once(
        &self,
        broadcaster_id: &str,
        title: Option<&str>,
        duration_s: Option<f64>,
    ) -> HResult<CreatedClip> {
        const OP: &str = "create clip";
        let duration = duration_s.map(|d| format!("{:.1}", d.clamp(5.0, 60.0)));
        let mut query = vec![("broadcaster_id", broadcaster_id)];
        if let Some(t) = title {
            query.push(("title", t));
        }
        if let Some(d) = &duration {
            query.push(("duration", d.as_str()));
        }
        let resp = self
            .call(OP, Method::POST, "clips", &query, Auth::User)
            .await?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => {
                let rows = decode::<Data<CreatedClip>>(OP, resp).await?.data;
                let clip = rows.into_iter().next().ok_or(HelixError::Status {
                    status,
                    message: "Create Clip answered without a clip".into(),
                })?;
                tracing::info!(broadcaster_id, clip_id = %clip.id, "clip creation started");
                Ok(clip)
            }
            403 | 404 => {
                let (_, message) = read_error(resp).await;
                tracing::warn!(broadcaster_id, status, %message, "Create Clip refused");
                if status == 403 {
                    Err(HelixError::ClippingForbidden { message })
                } else {
                    Err(HelixError::NotLive)
                }
            }
            _ => Err(status_error(OP, resp).await),
        }
    }

    /// Send Chat Message (`POST /chat/messages`, user token with `user:write:chat`): `message`
    /// in the chat of `broadcaster_id`, sent as the token's user. Twitch may accept the call
    /// and still drop the message (AutoMod, duplicate within 30 s, channel settings):
    /// [`ChatSent::is_sent`] says which, with the reason. Status mapping: 400 →
    /// [`HelixError::BadRequest`]; 401 → refresh once, then [`HelixError::Unauthorized`]; 403
    /// (the user may not chat there, or the token lacks the scope) → [`HelixError::Status`];
    /// 429 → [`HelixError::RateLimited`]; 5xx → [`HelixError::Server`].
    pub async fn send_chat_message(
        &self,
        broadcaster_id: &str,
        message: &str,
    ) -> HResult<ChatSent> {
        const OP: &str = "send chat message";
        let user = self.user.as_ref().ok_or(HelixError::MissingCredentials(
            "user access token (user:write:chat)",
        ))?;
        let sender_id = user.user_id().await?;
        let body = serde_json::json!({
            "broadcaster_id": broadcaster_id,
            "sender_id": sender_id,
            "message": message,
        });
        let resp = self
            .call_with(
                OP,
                Method::POST,
                "chat/messages",
                &[],
                Some(&body),
                Auth::User,
            )
            .await?;
        if !resp.status().is_success() {
            return Err(status_error(OP, resp).await);
        }
        decode::<Data<ChatSent>>(OP, resp)
            .await?
            .data
            .into_iter()
            .next()
            .ok_or(HelixError::Status {
                status: 200,
                message: "Send Chat Message answered without a result".into(),
            })
    }

    /// Get Clips by id (100 per call). Clips that do not exist (yet) are absent.
    pub async fn get_clips(&self, ids: &[String]) -> HResult<Vec<ClipInfo>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(PER_CALL) {
            let query: Vec<(&str, &str)> = chunk.iter().map(|i| ("id", i.as_str())).collect();
            out.extend(
                self.get_data::<ClipInfo>("get clips", "clips", &query)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Get Clips Download (`GET /clips/downloads?editor_id&broadcaster_id&clip_id`) with the
    /// user token, as its own user (the editor; the broadcaster when it is their channel).
    /// A token without [`DOWNLOAD_SCOPES`] fails before the call with
    /// [`HelixError::Forbidden`] naming the scopes; Twitch's 403 (not the broadcaster or an
    /// editor of that channel) comes back as [`HelixError::Forbidden`] too.
    pub async fn clip_downloads(
        &self,
        broadcaster_id: &str,
        clip_ids: &[String],
    ) -> HResult<Vec<ClipDownload>> {
        let user = self.user.as_ref().ok_or(HelixError::MissingCredentials(
            "user access token (editor:manage:clips or channel:manage:clips)",
        ))?;
        // A shared store (the function) may have been empty until now: load the pair first.
        user.fresh_access_token().await?;
        let info = user.validate().await?;
        if !DOWNLOAD_SCOPES.iter().any(|s| info.has_scope(s)) {
            return Err(HelixError::Forbidden {
                message: format!(
                    "the token of {} lacks the editor:manage:clips and channel:manage:clips scopes",
                    info.login.as_deref().unwrap_or("the clipper's account")
                ),
            });
        }
        let me = user.user_id().await?;
        let mut out = Vec::new();
        // Twitch takes at most 10 clip ids per call.
        for chunk in clip_ids.chunks(10) {
            let mut query: Vec<(&str, &str)> = vec![
                ("editor_id", me.as_str()),
                ("broadcaster_id", broadcaster_id),
            ];
            query.extend(chunk.iter().map(|i| ("clip_id", i.as_str())));
            let resp = self
                .call(
                    "get clips download",
                    Method::GET,
                    "clips/downloads",
                    &query,
                    Auth::User,
                )
                .await?;
            match resp.status() {
                s if s.is_success() => {
                    out.extend(
                        decode::<Data<ClipDownload>>("get clips download", resp)
                            .await?
                            .data,
                    );
                }
                StatusCode::FORBIDDEN => {
                    let (_, message) = read_error(resp).await;
                    return Err(HelixError::Forbidden { message });
                }
                _ => return Err(status_error("get clips download", resp).await),
            }
        }
        Ok(out)
    }

    /// Names of Twitch's global emotes (`/chat/emotes/global`).
    pub async fn get_global_emotes(&self) -> HResult<Vec<String>> {
        let rows: Vec<EmoteRow> = self
            .get_data("get global emotes", "chat/emotes/global", &[])
            .await?;
        Ok(rows.into_iter().map(|e| e.name).collect())
    }

    /// Names of a channel's Twitch emotes (`/chat/emotes?broadcaster_id=`).
    pub async fn get_channel_emotes(&self, broadcaster_id: &str) -> HResult<Vec<String>> {
        let rows: Vec<EmoteRow> = self
            .get_data(
                "get channel emotes",
                "chat/emotes",
                &[("broadcaster_id", broadcaster_id)],
            )
            .await?;
        Ok(rows.into_iter().map(|e| e.name).collect())
    }
}

impl<S: TokenStore> ClipApi for HelixClient<S> {
    /// [`HelixClient::create_clip`] with the configured clip duration when one is set
    /// (`--clip-duration`), else the decision's.
    async fn create_clip(
        &self,
        broadcaster_id: &str,
        title: Option<&str>,
        duration_s: Option<f64>,
    ) -> HResult<CreatedClip> {
        let duration = self.config.clip_duration_s.or(duration_s);
        HelixClient::create_clip(self, broadcaster_id, title, duration).await
    }

    async fn get_clips(&self, ids: &[String]) -> HResult<Vec<ClipInfo>> {
        HelixClient::get_clips(self, ids).await
    }

    async fn find_own_clips(
        &self,
        broadcaster_id: &str,
        since_ms: Millis,
    ) -> HResult<Vec<ClipInfo>> {
        HelixClient::find_own_clips(self, broadcaster_id, since_ms).await
    }
}

/// Whether a 400 from Create Clip is about the title (AutoMod). Twitch's wording is not
/// documented; anything mentioning AutoMod or the title counts.
fn is_title_rejection(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("automod") || m.contains("title")
}

fn header_str<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn decode<T: DeserializeOwned>(operation: &'static str, resp: Response) -> HResult<T> {
    let bytes = super::body_capped(resp, operation).await?;
    serde_json::from_slice(&bytes).map_err(|source| HelixError::Decode { operation, source })
}

/// The `Ratelimit-Reset` (Unix seconds → ms) and the Helix error message of a failed answer.
async fn read_error(resp: Response) -> (Option<i64>, String) {
    let reset = header_str(&resp, "ratelimit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| s.saturating_mul(1000));
    let body = super::text_capped(resp, "error body")
        .await
        .unwrap_or_default();
    let message = serde_json::from_str::<HelixErrorBody>(&body)
        .ok()
        .and_then(|b| b.message)
        .unwrap_or_else(|| body.chars().take(200).collect());
    (reset, message)
}

/// The error of a non-success Helix answer (generic mapping).
async fn status_error(operation: &'static str, resp: Response) -> HelixError {
    let status = resp.status().as_u16();
    let (reset_at_ms, message) = read_error(resp).await;
    tracing::warn!(operation, status, %message, "helix call failed");
    match status {
        400 => HelixError::BadRequest { message },
        401 => HelixError::Unauthorized { message },
        429 => HelixError::RateLimited { reset_at_ms },
        500..=599 => HelixError::Server { status, message },
        _ => HelixError::Status { status, message },
    }
}
