//! Twitch OAuth: credentials, the app access token (client credentials), and the user token
//! (refresh with rotation, persisted through a [`TokenStore`]).
//!
//! * App tokens cannot be refreshed: [`AppTokenProvider`] requests a new one when the cached one
//!   expires or Helix answers 401.
//! * User tokens are refreshed with their refresh token. Refresh tokens may rotate and may be
//!   single-use, so [`UserAuth`] persists the new pair through the [`TokenStore`] *before* handing
//!   out the new access token, and serialises refreshes so two tasks never spend the same refresh
//!   token.

use std::fmt;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use clipper_models::Millis;
use serde::{Deserialize, Serialize};

use super::error::HelixError;
use super::{join_url, now_ms};
use crate::handlers::metrics::{self, COUNTS};
use crate::roles::TokenStore;

/// The token stores moved to [`crate::local`]; these paths stay for the relay's callers.
pub use crate::local::{FileTokenStore, MemoryTokenStore, DEFAULT_TOKEN_FILE};

/// Renew a token this long before its announced expiry.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// A secret string (token, client secret). `Debug` and `Display` print `***`; read the value
/// with [`Secret::expose`] only where it is sent. Serialises as the plain string (token file).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the one place it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (not configured).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// What the operator configured (flags, environment, secrets manager).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TwitchCredentials {
    /// Application client id (sent as `Client-Id` on every Helix call).
    pub client_id: String,
    /// Application secret: enables app tokens (client credentials) and confidential-client
    /// refreshes. Public (device-flow) clients have none.
    pub client_secret: Option<Secret>,
    /// User access token with `clips:edit` (needed to create clips).
    pub access_token: Option<Secret>,
    /// Its refresh token.
    pub refresh_token: Option<Secret>,
}

impl TwitchCredentials {
    /// Read `TWITCH_CLIENT_ID`, `TWITCH_CLIENT_SECRET`, `TWITCH_ACCESS_TOKEN` and
    /// `TWITCH_REFRESH_TOKEN` through `lookup` (e.g. `|k| std::env::var(k).ok()`). Empty values
    /// count as unset; an `oauth:` prefix on the access token is removed.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        TwitchCredentials {
            client_id: get("TWITCH_CLIENT_ID").unwrap_or_default(),
            client_secret: get("TWITCH_CLIENT_SECRET").map(Secret),
            access_token: get("TWITCH_ACCESS_TOKEN")
                .map(|t| Secret(t.strip_prefix("oauth:").unwrap_or(&t).to_owned())),
            refresh_token: get("TWITCH_REFRESH_TOKEN").map(Secret),
        }
    }

    /// The configured user token pair, if an access token is configured. Without a refresh
    /// token the pair holds an empty one and [`UserAuth::refresh`] fails with a clear error.
    pub fn user_tokens(&self) -> Option<UserTokens> {
        self.access_token.as_ref().map(|a| UserTokens {
            access_token: a.clone(),
            refresh_token: self
                .refresh_token
                .clone()
                .unwrap_or_else(|| Secret::new("")),
            expires_at_ms: None,
        })
    }
}

/// A user token pair as stored by a [`TokenStore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTokens {
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// When the access token expires (Unix ms), if known.
    #[serde(default)]
    pub expires_at_ms: Option<Millis>,
}

/// What `GET oauth2/validate` says about a token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenInfo {
    pub client_id: String,
    /// Absent for app tokens.
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Seconds until expiry.
    #[serde(default)]
    pub expires_in: u64,
}

impl TokenInfo {
    /// Whether the token carries `scope` (e.g. `clips:edit`).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenResponse {
    fn parse(body: &str, operation: &'static str) -> std::result::Result<Self, HelixError> {
        serde_json::from_str(body).map_err(|source| HelixError::Decode { operation, source })
    }
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    #[serde(default)]
    message: Option<String>,
}

fn error_message(body: &str) -> String {
    serde_json::from_str::<OAuthErrorBody>(body)
        .ok()
        .and_then(|b| b.message)
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// The Twitch OAuth server (`{oauth_base}/token`, `{oauth_base}/validate`). Cheap to clone
/// (shares the HTTP connection pool).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    base: url::Url,
    client_id: String,
    client_secret: Option<Secret>,
}

impl OAuthClient {
    /// A client for the OAuth server at `base` (normally `https://id.twitch.tv/oauth2`).
    pub fn new(
        http: reqwest::Client,
        base: url::Url,
        client_id: impl Into<String>,
        client_secret: Option<Secret>,
    ) -> Self {
        OAuthClient {
            http,
            base,
            client_id: client_id.into(),
            client_secret: client_secret.filter(|s| !s.is_empty()),
        }
    }

    /// The application client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether a client secret is configured (app tokens possible).
    pub fn has_client_secret(&self) -> bool {
        self.client_secret.is_some()
    }

    async fn token_request(
        &self,
        operation: &'static str,
        form: &[(&str, &str)],
    ) -> std::result::Result<(u16, String), HelixError> {
        let resp = self
            .http
            .post(join_url(&self.base, "token"))
            .form(form)
            .send()
            .await
            .map_err(|source| HelixError::Transport { operation, source })?;
        let status = resp.status().as_u16();
        let body = super::text_capped(resp, operation).await?;
        Ok((status, body))
    }

    /// `POST {oauth}/token grant_type=client_credentials`: a new app access token and its
    /// lifetime.
    pub async fn client_credentials(
        &self,
    ) -> std::result::Result<(Secret, Option<Duration>), HelixError> {
        const OP: &str = "oauth client_credentials";
        let secret = self
            .client_secret
            .as_ref()
            .ok_or(HelixError::MissingCredentials("client secret (app token)"))?;
        let (status, body) = self
            .token_request(
                OP,
                &[
                    ("client_id", self.client_id.as_str()),
                    ("client_secret", secret.expose()),
                    ("grant_type", "client_credentials"),
                ],
            )
            .await?;
        match status {
            200..=299 => {
                let t = TokenResponse::parse(&body, OP)?;
                tracing::info!(operation = OP, "got a new app access token");
                Ok((
                    Secret(t.access_token),
                    t.expires_in.map(Duration::from_secs),
                ))
            }
            s => Err(oauth_status_error(s, &body, "client credentials rejected")),
        }
    }

    /// `POST {oauth}/token grant_type=refresh_token`: the new token pair. The returned pair must
    /// be persisted before its access token is used (the old refresh token may now be dead).
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
    ) -> std::result::Result<UserTokens, HelixError> {
        const OP: &str = "oauth refresh_token";
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        if let Some(s) = &self.client_secret {
            form.push(("client_secret", s.expose()));
        }
        let (status, body) = self.token_request(OP, &form).await?;
        match status {
            200..=299 => {
                let t = TokenResponse::parse(&body, OP)?;
                let expires_at_ms = t.expires_in.map(|s| {
                    now_ms().saturating_add(i64::try_from(s).unwrap_or(0).saturating_mul(1000))
                });
                Ok(UserTokens {
                    access_token: Secret(t.access_token),
                    // Twitch always sends one; keep the old one if it ever does not.
                    refresh_token: t
                        .refresh_token
                        .map(Secret)
                        .unwrap_or_else(|| refresh_token.clone()),
                    expires_at_ms,
                })
            }
            400 | 401
                if error_message(&body)
                    .to_ascii_lowercase()
                    .contains("refresh token") =>
            {
                Err(HelixError::InvalidRefreshToken {
                    message: error_message(&body),
                })
            }
            s => Err(oauth_status_error(s, &body, "token refresh failed")),
        }
    }

    /// `POST {oauth}/token grant_type=authorization_code`: the user's token pair for the `code`
    /// the authorize page sent to `redirect_uri` (the dashboard's "Log in with Twitch").
    pub async fn authorization_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> std::result::Result<UserTokens, HelixError> {
        const OP: &str = "oauth authorization_code";
        let secret = self
            .client_secret
            .as_ref()
            .ok_or(HelixError::MissingCredentials("client secret (log in)"))?;
        let (status, body) = self
            .token_request(
                OP,
                &[
                    ("client_id", self.client_id.as_str()),
                    ("client_secret", secret.expose()),
                    ("code", code),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", redirect_uri),
                ],
            )
            .await?;
        match status {
            200..=299 => {
                let t = TokenResponse::parse(&body, OP)?;
                let expires_at_ms = t.expires_in.map(|s| {
                    now_ms().saturating_add(i64::try_from(s).unwrap_or(0).saturating_mul(1000))
                });
                Ok(UserTokens {
                    access_token: Secret(t.access_token),
                    refresh_token: Secret(t.refresh_token.unwrap_or_default()),
                    expires_at_ms,
                })
            }
            s => Err(oauth_status_error(s, &body, "authorization code rejected")),
        }
    }

    /// `GET {oauth}/validate` with `token`.
    pub async fn validate(&self, token: &Secret) -> std::result::Result<TokenInfo, HelixError> {
        const OP: &str = "oauth validate";
        let resp = self
            .http
            .get(join_url(&self.base, "validate"))
            .header("Authorization", format!("OAuth {}", token.expose()))
            .send()
            .await
            .map_err(|source| HelixError::Transport {
                operation: OP,
                source,
            })?;
        let status = resp.status().as_u16();
        let body = super::text_capped(resp, OP).await?;
        match status {
            200..=299 => serde_json::from_str(&body).map_err(|source| HelixError::Decode {
                operation: OP,
                source,
            }),
            s => Err(oauth_status_error(s, &body, "token rejected")),
        }
    }
}

fn oauth_status_error(status: u16, body: &str, what: &str) -> HelixError {
    let message = format!("{what}: {}", error_message(body));
    match status {
        400 | 401 | 403 => HelixError::Unauthorized { message },
        429 => HelixError::RateLimited { reset_at_ms: None },
        500..=599 => HelixError::Server { status, message },
        _ => HelixError::Status { status, message },
    }
}

#[derive(Debug)]
struct CachedAppToken {
    token: Secret,
    /// `None`: no lifetime announced; used until rejected.
    renew_at: Option<Instant>,
}

/// The app access token (client credentials), fetched on first use, renewed before expiry and
/// replaced after a 401 ([`AppTokenProvider::invalidate`]). Concurrent callers share one fetch.
#[derive(Debug)]
pub struct AppTokenProvider {
    oauth: OAuthClient,
    current: tokio::sync::Mutex<Option<CachedAppToken>>,
}

impl AppTokenProvider {
    /// A provider that fetches tokens from `oauth` (which needs a client secret).
    pub fn new(oauth: OAuthClient) -> Self {
        AppTokenProvider {
            oauth,
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// A valid app token, fetching a new one if there is none or it is about to expire.
    pub async fn token(&self) -> std::result::Result<Secret, HelixError> {
        let mut cur = self.current.lock().await;
        if let Some(c) = cur.as_ref() {
            if c.renew_at.is_none_or(|at| Instant::now() < at) {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = self.oauth.client_credentials().await?;
        let renew_at = lifetime.map(|l| Instant::now() + l.saturating_sub(EXPIRY_MARGIN));
        *cur = Some(CachedAppToken {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }

    /// Forget `rejected` (Helix answered 401 with it) so the next [`AppTokenProvider::token`]
    /// requests a new one. A token already replaced by another task is left alone.
    pub async fn invalidate(&self, rejected: &Secret) {
        let mut cur = self.current.lock().await;
        if cur.as_ref().is_some_and(|c| &c.token == rejected) {
            *cur = None;
        }
    }
}

/// The user token (for Create Clip): the current pair, refreshed on demand and persisted through
/// a [`TokenStore`].
///
/// Refreshes are serialised by an async mutex; a task that waited for the lock while another
/// refreshed reuses the new token instead of spending the (possibly single-use) refresh token
/// again.
#[derive(Debug)]
pub struct UserAuth<S> {
    oauth: OAuthClient,
    store: S,
    current: RwLock<UserTokens>,
    refresh_lock: tokio::sync::Mutex<()>,
    /// The in-memory pair was rotated but not saved yet (the store failed): saved again at
    /// the next use.
    unsaved: std::sync::atomic::AtomicBool,
    /// Re-read the store this often (shared stores: a pair rotated or authorised elsewhere is
    /// picked up without a restart); `None` reads it only at start.
    reload_every: Option<Duration>,
    last_reload: std::sync::Mutex<Option<Instant>>,
    /// The token's user id once known ([`UserAuth::user_id`]).
    user_id: std::sync::OnceLock<String>,
}

impl<S: TokenStore> UserAuth<S> {
    /// Start from `tokens` (not saved until the first refresh).
    pub fn new(oauth: OAuthClient, store: S, tokens: UserTokens) -> Self {
        UserAuth {
            oauth,
            store,
            current: RwLock::new(tokens),
            refresh_lock: tokio::sync::Mutex::new(()),
            unsaved: std::sync::atomic::AtomicBool::new(false),
            reload_every: None,
            last_reload: std::sync::Mutex::new(None),
            user_id: std::sync::OnceLock::new(),
        }
    }

    /// Start from whatever the store holds, possibly nothing, and re-read it at most every
    /// `every` when a token is needed: for a store shared with others (the clip function's
    /// secret, filled in after deploy by `clipper aws put-token` or rotated by another
    /// instance). While the store is empty, calls fail with
    /// [`HelixError::MissingCredentials`] (the clip flow records a would-clip).
    pub async fn shared(
        oauth: OAuthClient,
        store: S,
        every: Duration,
    ) -> std::result::Result<Self, HelixError> {
        let stored = store.load().await.map_err(HelixError::from_store)?;
        let mut auth = Self::new(
            oauth,
            store,
            stored.unwrap_or(UserTokens {
                access_token: Secret::new(""),
                refresh_token: Secret::new(""),
                expires_at_ms: None,
            }),
        );
        auth.reload_every = Some(every);
        *auth
            .last_reload
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        Ok(auth)
    }

    /// Whether a user token is at hand (a shared store may still be empty).
    pub fn has_token(&self) -> bool {
        !self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .access_token
            .is_empty()
    }

    /// Re-read a shared store when its interval has passed (or at once while it was empty),
    /// adopting a pair that differs from the one in memory.
    async fn reload_if_due(&self) {
        let Some(every) = self.reload_every else {
            return;
        };
        if self.has_unsaved_tokens() {
            return; // ours is newer than the store's
        }
        {
            let mut last = self
                .last_reload
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = !self.has_token() || last.is_none_or(|t| t.elapsed() >= every);
            if !due {
                return;
            }
            *last = Some(Instant::now());
        }
        match self.store.load().await {
            Ok(Some(stored)) if stored != self.tokens() => {
                let _guard = self.refresh_lock.lock().await;
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = stored;
                tracing::info!("user token changed in the store; using the stored one");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %super::error::chain(&e), "re-reading the user token failed; keeping the one in memory");
            }
        }
    }

    /// Start from the stored pair if the store has one (it holds the latest rotation), else
    /// from `fallback` (e.g. [`TwitchCredentials::user_tokens`]). The stored pair wins over the
    /// environment: delete the token file to start from new environment tokens.
    pub async fn load(
        oauth: OAuthClient,
        store: S,
        fallback: Option<UserTokens>,
    ) -> std::result::Result<Self, HelixError> {
        let stored = store.load().await.map_err(HelixError::from_store)?;
        let tokens = stored
            .or(fallback)
            .ok_or(HelixError::MissingCredentials("user access token"))?;
        Ok(Self::new(oauth, store, tokens))
    }

    /// The token store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The current pair.
    pub fn tokens(&self) -> UserTokens {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The current access token (as is; see [`UserAuth::fresh_access_token`]).
    pub fn access_token(&self) -> Secret {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .access_token
            .clone()
    }

    /// The token's user id, from validating it once (then cached).
    pub async fn user_id(&self) -> std::result::Result<String, HelixError> {
        if let Some(id) = self.user_id.get() {
            return Ok(id.clone());
        }
        let info = self.validate().await?;
        let id = info.user_id.ok_or_else(|| HelixError::Unauthorized {
            message: "the user token validated without a user id".into(),
        })?;
        Ok(self.user_id.get_or_init(|| id).clone())
    }

    /// Whether the in-memory pair is a rotation the store has not accepted yet.
    pub fn has_unsaved_tokens(&self) -> bool {
        self.unsaved.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Save a rotated pair the store refused earlier (one attempt per use).
    async fn save_pending(&self) {
        if !self.has_unsaved_tokens() {
            return;
        }
        let _guard = self.refresh_lock.lock().await;
        if !self.has_unsaved_tokens() {
            return;
        }
        match self.store.save(&self.tokens()).await {
            Ok(()) => {
                self.unsaved
                    .store(false, std::sync::atomic::Ordering::Release);
                tracing::info!("refreshed user token saved on a later attempt");
            }
            Err(e) => {
                metrics::add(&COUNTS.token_save_failures, 1);
                tracing::error!(error = %super::error::chain(&e), "refreshed user token still not saved; kept in memory");
            }
        }
    }

    /// The current access token, refreshed first if it is known to expire within a minute.
    pub async fn fresh_access_token(&self) -> std::result::Result<Secret, HelixError> {
        self.save_pending().await;
        self.reload_if_due().await;
        let t = self.tokens();
        if t.access_token.is_empty() {
            return Err(HelixError::MissingCredentials(
                "user access token (clips:edit)",
            ));
        }
        let margin = i64::try_from(EXPIRY_MARGIN.as_millis()).unwrap_or(60_000);
        match t.expires_at_ms {
            Some(exp) if exp <= now_ms().saturating_add(margin) && !t.refresh_token.is_empty() => {
                self.refresh_rejected(&t.access_token).await
            }
            _ => Ok(t.access_token),
        }
    }

    /// Refresh now (`POST {oauth}/token grant_type=refresh_token`), persist the new pair, and
    /// return the new access token. Concurrent calls make one request.
    pub async fn refresh(&self) -> std::result::Result<Secret, HelixError> {
        let seen = self.access_token();
        self.refresh_rejected(&seen).await
    }

    /// Refresh because `rejected` was refused (401), unless another task already replaced it:
    /// then return the replacement without a request.
    pub async fn refresh_rejected(
        &self,
        rejected: &Secret,
    ) -> std::result::Result<Secret, HelixError> {
        let _guard = self.refresh_lock.lock().await;
        let cur = self.tokens();
        if &cur.access_token != rejected {
            tracing::debug!("user token already refreshed by another task");
            return Ok(cur.access_token);
        }
        if cur.refresh_token.is_empty() {
            return Err(HelixError::Unauthorized {
                message: "user token rejected and no refresh token configured".into(),
            });
        }
        let oauth = self.oauth.clone();
        let rotated = self
            .store
            .rotate(rejected, &cur, move |refresh_token| async move {
                oauth.refresh(&refresh_token).await
            })
            .await;
        match rotated {
            Ok(new) => {
                let access = new.access_token.clone();
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = new;
                tracing::info!("user token refreshed and persisted");
                Ok(access)
            }
            Err(HelixError::NotPersisted { tokens, source }) => {
                // Keep and use the new pair even though saving failed: the old refresh token
                // may already be spent, so it is the only usable pair left. It is saved again
                // at the next use; the failure is counted (alarm `TokenSaveFailures`).
                let access = tokens.access_token.clone();
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = *tokens;
                self.unsaved
                    .store(true, std::sync::atomic::Ordering::Release);
                metrics::add(&COUNTS.token_save_failures, 1);
                tracing::error!(error = %super::error::chain(&*source), "could not save the refreshed user token; using it from memory and saving again later");
                Ok(access)
            }
            Err(e) => {
                tracing::error!(error = %super::error::chain(&e), "user token refresh failed");
                Err(e)
            }
        }
    }

    /// `GET {oauth}/validate` the current user token (at start and hourly; the caller
    /// schedules). A 401 triggers one refresh and a second validation. Warns when the token
    /// lacks `clips:edit`.
    pub async fn validate(&self) -> std::result::Result<TokenInfo, HelixError> {
        let token = self.access_token();
        let info = match self.oauth.validate(&token).await {
            Err(HelixError::Unauthorized { .. }) => {
                let token = self.refresh_rejected(&token).await?;
                self.oauth.validate(&token).await?
            }
            other => other?,
        };
        if !info.has_scope("clips:edit") {
            tracing::warn!(login = ?info.login, "user token lacks the clips:edit scope; Create Clip will fail");
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = TwitchCredentials {
            client_id: "cid".into(),
            client_secret: Some(Secret::new("s3cr3t")),
            access_token: Some(Secret::new("acc3ss")),
            refresh_token: Some(Secret::new("r3fresh")),
        };
        let shown = format!("{c:?} {}", c.client_secret.as_ref().unwrap());
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("acc3ss") && !shown.contains("r3fresh")
        );
        assert!(shown.contains("cid"));
        let t = c.user_tokens().unwrap();
        assert!(!format!("{t:?}").contains("acc3ss"));
        assert_eq!(t.access_token.expose(), "acc3ss");
    }

    #[test]
    fn credentials_from_lookup() {
        let c = TwitchCredentials::from_lookup(|k| match k {
            "TWITCH_CLIENT_ID" => Some(" cid ".into()),
            "TWITCH_ACCESS_TOKEN" => Some("oauth:abc".into()),
            "TWITCH_CLIENT_SECRET" => Some(String::new()),
            _ => None,
        });
        assert_eq!(c.client_id, "cid");
        assert_eq!(c.access_token.as_ref().map(Secret::expose), Some("abc"));
        assert!(c.client_secret.is_none());
        assert!(c.user_tokens().unwrap().refresh_token.is_empty());
    }
}
