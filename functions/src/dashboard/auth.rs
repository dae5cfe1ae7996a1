//! Log in with Twitch (authorization-code flow) and the sessions it opens.
//!
//! * `GET /login` opens a *login attempt*: a random `state`, kept server-side under a random
//!   id in a short-lived `clipper_login` cookie, and redirects to `{oauth}/authorize`.
//! * `GET /auth/callback` accepts the code only if its `state` is the one of the attempt named
//!   by the caller's cookie (a forged or replayed `state` is 400 and opens nothing), exchanges
//!   it at `{oauth}/token`, validates the token to learn the login, and opens a session: a
//!   random id in the `clipper_session` cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS,
//!   Max-Age = the session's lifetime).
//! * Sessions and attempts are kept in a [`SessionStore`] (memory locally, DynamoDB on AWS)
//!   under the SHA-256 of their id.
//! * Ids come from the OS random source; neither they nor tokens are ever logged or put in a
//!   page (tokens are [`Secret`]s, whose `Debug`/`Display` print `***`).

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum_extra::extract::cookie::{Cookie, SameSite};
use clipper_models::Millis;
use serde::{Deserialize, Serialize};

use crate::clock::now_ms;
use crate::error::{FunctionsError, Result};
use crate::twitch::auth::{OAuthClient, TokenInfo, UserTokens};
use crate::twitch::HelixError;

/// Cookie of the session.
pub const SESSION_COOKIE: &str = "clipper_session";
/// Cookie of a login attempt (binds `state` to the browser that started it).
pub const LOGIN_COOKIE: &str = "clipper_login";
/// How long a login attempt may take.
const LOGIN_TTL: Duration = Duration::from_secs(600);
/// Scopes asked for: `clips:edit` makes the login's token the clipper's user token;
/// `editor:manage:clips` and `channel:manage:clips` let it download the clips of channels its
/// user edits or owns (Get Clips Download).
pub const SCOPES: &str = "clips:edit editor:manage:clips channel:manage:clips";

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Twitch login, lower case.
    pub login: String,
    pub user_id: String,
    /// The clipper's own account or an `--admin`: manages every channel.
    pub admin: bool,
}

impl User {
    /// Whether this user may see and manage `channel` (admins: all; others: their own).
    pub fn may(&self, channel: &str) -> bool {
        self.admin || self.login == channel
    }
}

/// What a [`SessionStore`] keeps under a key: a login attempt's `state`, or a session's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionEntry {
    Login { state: String },
    Session { user: User },
}

/// Where sessions and login attempts are kept: memory (`clipper run`: a restart logs everyone
/// out) or a DynamoDB table with TTL (the dashboard function, whose instances come and go).
///
/// Keys are never the cookie values themselves but their SHA-256 ([`Sessions`] hashes them),
/// so whoever can read the store cannot take over a session. Stores need not delete expired
/// entries on time: [`Sessions`] checks `expires_ms` itself.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + Debug {
    async fn put(&self, key: &str, entry: &SessionEntry, expires_ms: Millis) -> Result<()>;
    async fn get(&self, key: &str) -> Result<Option<(SessionEntry, Millis)>>;
    /// Removes the entry and returns what it was (single use: one caller gets it).
    async fn take(&self, key: &str) -> Result<Option<(SessionEntry, Millis)>>;
}

/// Sessions in memory.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    entries: RwLock<HashMap<String, (SessionEntry, Millis)>>,
}

#[async_trait::async_trait]
impl SessionStore for MemorySessionStore {
    async fn put(&self, key: &str, entry: &SessionEntry, expires_ms: Millis) -> Result<()> {
        let now = now_ms();
        let mut m = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        m.retain(|_, (_, e)| *e > now);
        m.insert(key.to_owned(), (entry.clone(), expires_ms));
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<(SessionEntry, Millis)>> {
        let m = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        Ok(m.get(key).cloned())
    }

    async fn take(&self, key: &str) -> Result<Option<(SessionEntry, Millis)>> {
        let mut m = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        Ok(m.remove(key))
    }
}

/// Open sessions and login attempts, over a [`SessionStore`].
#[derive(Debug, Clone)]
pub struct Sessions {
    store: Arc<dyn SessionStore>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(Arc::new(MemorySessionStore::default()))
    }
}

/// 32 random bytes from the OS, hex.
pub fn random_id() -> Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| FunctionsError::Random(e.to_string()))?;
    Ok(hex(&b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The key an id is stored under: `kind:` and the id's SHA-256.
fn key(kind: &str, id: &str) -> String {
    format!(
        "{kind}:{}",
        hex(ring::digest::digest(&ring::digest::SHA256, id.as_bytes()).as_ref())
    )
}

fn ms(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

impl Sessions {
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        Sessions { store }
    }

    /// Starts a login attempt: `(attempt id, state)`.
    pub async fn begin_login(&self) -> Result<(String, String)> {
        let id = random_id()?;
        let state = random_id()?;
        let entry = SessionEntry::Login {
            state: state.clone(),
        };
        self.store
            .put(
                &key("login", &id),
                &entry,
                now_ms().saturating_add(ms(LOGIN_TTL)),
            )
            .await?;
        Ok((id, state))
    }

    /// Ends the attempt `id` (whatever the outcome: one use) and says whether `state` is its.
    pub async fn finish_login(&self, id: &str, state: &str) -> Result<bool> {
        Ok(match self.store.take(&key("login", id)).await? {
            Some((SessionEntry::Login { state: s }, expires)) => {
                expires > now_ms() && constant_time_eq(&s, state)
            }
            _ => false,
        })
    }

    /// Opens a session for `user`; returns its id.
    pub async fn open(&self, user: User, ttl: Duration) -> Result<String> {
        let id = random_id()?;
        self.store
            .put(
                &key("session", &id),
                &SessionEntry::Session { user },
                now_ms().saturating_add(ms(ttl)),
            )
            .await?;
        Ok(id)
    }

    /// The user of session `id`, if it is open and not expired.
    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        Ok(match self.store.get(&key("session", id)).await? {
            Some((SessionEntry::Session { user }, expires)) if expires > now_ms() => Some(user),
            _ => None,
        })
    }

    /// Ends session `id`.
    pub async fn close(&self, id: &str) -> Result<()> {
        self.store.take(&key("session", id)).await.map(|_| ())
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A cookie with the dashboard's flags: HttpOnly, SameSite=Lax, Path=/, Secure when served
/// over HTTPS, and `max_age`.
pub fn cookie(
    name: &'static str,
    value: String,
    secure: bool,
    max_age: Duration,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .build()
}

/// The `/authorize` address for a login attempt.
pub fn authorize_url(
    oauth_base: &url::Url,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> url::Url {
    let mut u = oauth_base.clone();
    let path = format!("{}/authorize", u.path().trim_end_matches('/'));
    u.set_path(&path);
    u.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", SCOPES)
        .append_pair("state", state);
    u
}

/// Exchanges `code` for the user's tokens and validates them (who logged in).
pub async fn exchange(
    oauth: &OAuthClient,
    code: &str,
    redirect_uri: &str,
) -> std::result::Result<(UserTokens, TokenInfo), HelixError> {
    let tokens = oauth.authorization_code(code, redirect_uri).await?;
    let info = oauth.validate(&tokens.access_token).await?;
    Ok((tokens, info))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn state_is_single_use_and_bound_to_its_attempt() {
        let s = Sessions::default();
        let (id, state) = s.begin_login().await.unwrap();
        let (other, _) = s.begin_login().await.unwrap();
        assert!(
            !s.finish_login(&other, &state).await.unwrap(),
            "another attempt's state"
        );
        assert!(s.finish_login(&id, &state).await.unwrap());
        assert!(!s.finish_login(&id, &state).await.unwrap(), "replayed");
    }

    #[tokio::test]
    async fn sessions_expire_and_close() {
        let s = Sessions::default();
        let u = User {
            login: "a".into(),
            user_id: "1".into(),
            admin: false,
        };
        let id = s.open(u.clone(), Duration::from_secs(60)).await.unwrap();
        assert_eq!(s.user(&id).await.unwrap(), Some(u.clone()));
        // A login attempt's id is no session, and the other way round.
        assert!(!s.finish_login(&id, "x").await.unwrap());
        assert_eq!(s.user(&id).await.unwrap(), Some(u.clone()));
        s.close(&id).await.unwrap();
        assert_eq!(s.user(&id).await.unwrap(), None);
        let id = s.open(u, Duration::ZERO).await.unwrap();
        assert_eq!(s.user(&id).await.unwrap(), None);
        assert_eq!(random_id().unwrap().len(), 64);
        // Stored under a hash, never the id itself.
        assert!(!key("session", &id).contains(&id));
    }
}
