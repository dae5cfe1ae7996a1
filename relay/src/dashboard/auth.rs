//! Log in with Twitch (authorization-code flow) and the sessions it opens.
//!
//! * `GET /login` opens a *login attempt*: a random `state`, kept server-side under a random
//!   id in a short-lived `clipper_login` cookie, and redirects to `{oauth}/authorize`.
//! * `GET /auth/callback` accepts the code only if its `state` is the one of the attempt named
//!   by the caller's cookie (a forged or replayed `state` is 400 and opens nothing), exchanges
//!   it at `{oauth}/token`, validates the token to learn the login, and opens a session: a
//!   random id in the `clipper_session` cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS,
//!   Max-Age = the session's lifetime).
//! * Ids come from the OS random source; neither they nor tokens are ever logged or put in a
//!   page (tokens are [`Secret`]s, whose `Debug`/`Display` print `***`).

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum_extra::extract::cookie::{Cookie, SameSite};
use clipper_functions::twitch::auth::{OAuthClient, TokenInfo, UserTokens};

use crate::error::RelayError;

/// Cookie of the session.
pub const SESSION_COOKIE: &str = "clipper_session";
/// Cookie of a login attempt (binds `state` to the browser that started it).
pub const LOGIN_COOKIE: &str = "clipper_login";
/// How long a login attempt may take.
const LOGIN_TTL: Duration = Duration::from_secs(600);
/// Scopes asked for: `clips:edit` makes the login's token the clipper's user token.
pub const SCOPES: &str = "clips:edit";

/// A logged-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Debug)]
struct Session {
    user: User,
    expires: Instant,
}

#[derive(Debug)]
struct Attempt {
    state: String,
    expires: Instant,
}

/// Open sessions and login attempts (in memory: a restart logs everyone out).
#[derive(Debug, Default)]
pub struct Sessions {
    sessions: RwLock<HashMap<String, Session>>,
    attempts: RwLock<HashMap<String, Attempt>>,
}

/// 32 random bytes from the OS, hex.
pub fn random_id() -> Result<String, RelayError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| RelayError::Random(e.to_string()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

impl Sessions {
    /// Starts a login attempt: `(attempt id, state)`.
    pub fn begin_login(&self) -> Result<(String, String), RelayError> {
        let id = random_id()?;
        let state = random_id()?;
        let now = Instant::now();
        let mut a = self
            .attempts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        a.retain(|_, v| v.expires > now);
        a.insert(
            id.clone(),
            Attempt {
                state: state.clone(),
                expires: now + LOGIN_TTL,
            },
        );
        Ok((id, state))
    }

    /// Ends the attempt `id` (whatever the outcome: one use) and says whether `state` is its.
    pub fn finish_login(&self, id: &str, state: &str) -> bool {
        let attempt = self
            .attempts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        match attempt {
            Some(a) => a.expires > Instant::now() && constant_time_eq(&a.state, state),
            None => false,
        }
    }

    /// Opens a session for `user`; returns its id.
    pub fn open(&self, user: User, ttl: Duration) -> Result<String, RelayError> {
        let id = random_id()?;
        let now = Instant::now();
        let mut s = self
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        s.retain(|_, v| v.expires > now);
        s.insert(
            id.clone(),
            Session {
                user,
                expires: now + ttl,
            },
        );
        Ok(id)
    }

    /// The user of session `id`, if it is open and not expired.
    pub fn user(&self, id: &str) -> Option<User> {
        let s = self.sessions.read().unwrap_or_else(PoisonError::into_inner);
        s.get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.user.clone())
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
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
) -> Result<(UserTokens, TokenInfo), RelayError> {
    let tokens = oauth
        .authorization_code(code, redirect_uri)
        .await
        .map_err(RelayError::OAuth)?;
    let info = oauth
        .validate(&tokens.access_token)
        .await
        .map_err(RelayError::OAuth)?;
    Ok((tokens, info))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn state_is_single_use_and_bound_to_its_attempt() {
        let s = Sessions::default();
        let (id, state) = s.begin_login().unwrap();
        let (other, _) = s.begin_login().unwrap();
        assert!(!s.finish_login(&other, &state), "another attempt's state");
        assert!(s.finish_login(&id, &state));
        assert!(!s.finish_login(&id, &state), "replayed");
    }

    #[test]
    fn sessions_expire_and_close() {
        let s = Sessions::default();
        let u = User {
            login: "a".into(),
            user_id: "1".into(),
            admin: false,
        };
        let id = s.open(u.clone(), Duration::from_secs(60)).unwrap();
        assert_eq!(s.user(&id), Some(u.clone()));
        s.close(&id);
        assert_eq!(s.user(&id), None);
        let id = s.open(u, Duration::ZERO).unwrap();
        assert_eq!(s.user(&id), None);
        assert_eq!(random_id().unwrap().len(), 64);
    }
}
