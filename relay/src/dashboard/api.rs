//! Log-in routes and `/api/*`.
//!
//! Who may do what: the clipper's own account and `--admin` logins manage every channel; any
//! other logged-in user sees and manages only the channel they broadcast, if it is watched
//! (in the channel store); everyone else gets 403. Without a session `/api/*` answers 401.
//! Writes (PUT, DELETE, POST) also need an `Origin` equal to the public URL's (else 403).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use clipper_functions::record::ClipRecord;
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore, TokenStore};
use clipper_functions::twitch::auth::FileTokenStore;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{self, User, LOGIN_COOKIE, SESSION_COOKIE};
use super::App;
use crate::admin;

/// An error answer: a status and a message fit for the page (never a secret).
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

type ApiResult<T> = std::result::Result<T, ApiError>;

fn unauthorized() -> ApiError {
    ApiError(StatusCode::UNAUTHORIZED, "log in first: /login".into())
}

fn forbidden(what: &str) -> ApiError {
    ApiError(StatusCode::FORBIDDEN, what.into())
}

/// Logs `e` and answers 500 without its detail.
fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "dashboard request failed");
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error (see the clipper's log)".into(),
    )
}

/// The session's user, if any.
pub(super) fn session_user<C, S>(app: &App<C, S>, jar: &CookieJar) -> Option<User> {
    jar.get(SESSION_COOKIE)
        .and_then(|c| app.sessions.user(c.value()))
}

/// The user, and the channels they may see (`None`: all). 401 without a session; 403 for a
/// non-admin whose channel is not watched.
async fn viewer<C: ChannelStore, S>(
    app: &App<C, S>,
    jar: &CookieJar,
) -> ApiResult<(User, Vec<ChannelConfig>)> {
    let user = session_user(app, jar).ok_or_else(unauthorized)?;
    let all = app.channels.list().await.map_err(internal)?;
    if user.admin {
        return Ok((user, all));
    }
    let own: Vec<ChannelConfig> = all.into_iter().filter(|c| user.may(&c.channel)).collect();
    if own.is_empty() {
        return Err(forbidden(
            "your channel is not watched here; ask the operator to add it",
        ));
    }
    Ok((user, own))
}

/// Writes need a same-origin `Origin` header.
fn same_origin<C, S>(app: &App<C, S>, headers: &HeaderMap) -> ApiResult<()> {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(o) if o == app.origin => Ok(()),
        _ => Err(forbidden("cross-origin request refused")),
    }
}

// ---- log-in ----

/// `GET /login`: a new login attempt, then Twitch's authorize page.
pub async fn login<C: ChannelStore, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
) -> ApiResult<(CookieJar, Redirect)> {
    if app.cfg.client_id.is_empty() || app.cfg.client_secret.is_none() {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "log-in needs TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET (an application registered with the redirect URL shown in the README)".into(),
        ));
    }
    let (id, state) = app.sessions.begin_login().map_err(internal)?;
    let url = auth::authorize_url(
        &app.cfg.oauth_base,
        &app.cfg.client_id,
        &app.cfg.redirect_uri(),
        &state,
    );
    let jar = jar.add(auth::cookie(
        LOGIN_COOKIE,
        id,
        app.secure,
        std::time::Duration::from_secs(600),
    ));
    Ok((jar, Redirect::to(url.as_str())))
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/callback?code&state`: checks `state`, exchanges the code, opens a session.
pub async fn callback<C: ChannelStore, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    Query(q): Query<CallbackQuery>,
) -> ApiResult<(CookieJar, Redirect)> {
    let attempt = jar.get(LOGIN_COOKIE).map(|c| c.value().to_owned());
    let jar = jar.remove(auth::cookie(
        LOGIN_COOKIE,
        String::new(),
        app.secure,
        std::time::Duration::ZERO,
    ));
    let (Some(attempt), Some(state)) = (attempt, q.state.as_deref()) else {
        tracing::warn!("log-in callback without a login attempt or state; refused");
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "no log-in under way: start at /login".into(),
        ));
    };
    if !app.sessions.finish_login(&attempt, state) {
        tracing::warn!("log-in callback with a wrong state; refused");
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "log-in state does not match: start again at /login".into(),
        ));
    }
    if let Some(e) = q.error {
        return Err(ApiError(StatusCode::FORBIDDEN, format!("Twitch said: {e}")));
    }
    let code = q
        .code
        .ok_or_else(|| ApiError(StatusCode::BAD_REQUEST, "no code".into()))?;
    let (tokens, info) = auth::exchange(&app.oauth, &code, &app.cfg.redirect_uri())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "log-in: code exchange failed");
            ApiError(
                StatusCode::BAD_GATEWAY,
                "Twitch did not accept the log-in".into(),
            )
        })?;
    let login = info.login.clone().unwrap_or_default().to_ascii_lowercase();
    if login.is_empty() {
        return Err(ApiError(
            StatusCode::BAD_GATEWAY,
            "Twitch sent a token without a login".into(),
        ));
    }
    let admin = app.is_admin(&login);
    // The clipper's token: its own account, or (none known yet) an admin logging in.
    let runs_clipper =
        app.owner.as_deref() == Some(login.as_str()) || (app.owner.is_none() && admin);
    if runs_clipper && info.has_scope("clips:edit") {
        if let Some(file) = &app.cfg.token_file {
            match FileTokenStore::new(file).save(&tokens).await {
                Ok(()) => {
                    tracing::info!(%login, file = %file.display(), "user token saved; it is used from the next start")
                }
                Err(e) => tracing::warn!(%login, error = %e, "user token not saved"),
            }
        }
    }
    let user = User {
        login: login.clone(),
        user_id: info.user_id.unwrap_or_default(),
        admin,
    };
    let id = app
        .sessions
        .open(user, app.cfg.session_ttl)
        .map_err(internal)?;
    tracing::info!(%login, admin, "logged in");
    let jar = jar.add(auth::cookie(
        SESSION_COOKIE,
        id,
        app.secure,
        app.cfg.session_ttl,
    ));
    Ok((jar, Redirect::to("/")))
}

/// `POST /logout`.
pub async fn logout<C, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    headers: HeaderMap,
) -> ApiResult<(CookieJar, Response)> {
    let id = jar
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|id| app.sessions.user(id).is_some())
        .ok_or_else(unauthorized)?;
    same_origin(&app, &headers)?;
    app.sessions.close(&id);
    let jar = jar.remove(auth::cookie(
        SESSION_COOKIE,
        String::new(),
        app.secure,
        std::time::Duration::ZERO,
    ));
    Ok((jar, super::pages::logged_out()))
}

// ---- API ----

/// `GET /api/me`: who is logged in.
pub async fn me<C: ChannelStore, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
) -> ApiResult<Json<Value>> {
    let user = session_user(&app, &jar).ok_or_else(unauthorized)?;
    Ok(Json(json!({
        "login": user.login,
        "admin": user.admin,
        "owner": app.owner,
    })))
}

/// `GET /api/channels`: the channels the user may see, with settings and live state.
pub async fn list_channels<C: ChannelStore, S: ClipStore>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
) -> ApiResult<Json<Vec<Value>>> {
    let (_, channels) = viewer(&app, &jar).await?;
    let now = clipper_functions::clock::now_ms();
    let today = now - now.rem_euclid(86_400_000);
    let recent = app.clips.list(None, Some(today)).await.map_err(internal)?;
    let mut out = Vec::with_capacity(channels.len());
    for c in channels {
        let clips_today = recent.iter().filter(|r| r.channel == c.channel).count();
        let mut v = serde_json::to_value(&c).map_err(internal)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("live_state".into(), json!(app.events.live(&c.channel)));
            o.insert("clips_today".into(), json!(clips_today));
        }
        out.push(v);
    }
    Ok(Json(out))
}

/// A channel name as Twitch allows it (lower-cased): 1-25 of `a-z0-9_`.
fn channel_name(raw: &str) -> ApiResult<String> {
    let name = ChannelConfig::new(raw).channel;
    let ok = !name.is_empty()
        && name.len() <= 25
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(ApiError(
            StatusCode::BAD_REQUEST,
            "not a Twitch channel name".into(),
        ))
    }
}

/// `PUT /api/channels/{name}`: any subset of the settings (every field of the channel record
/// but `channel`); adds the channel or updates it, saves, and has it joined at once.
pub async fn put_channel<C: ChannelStore, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<(StatusCode, Json<ChannelConfig>)> {
    let user = session_user(&app, &jar).ok_or_else(unauthorized)?;
    same_origin(&app, &headers)?;
    let name = channel_name(&name)?;
    let list = app.channels.list().await.map_err(internal)?;
    let existing = list.into_iter().find(|c| c.channel == name);
    if !user.admin && (!user.may(&name) || existing.is_none()) {
        return Err(forbidden(
            "you may manage only your own channel, once it is watched",
        ));
    }
    let Value::Object(changes) = body else {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "expected a JSON object of settings".into(),
        ));
    };
    let created = existing.is_none();
    let mut merged = serde_json::to_value(existing.unwrap_or_else(|| ChannelConfig::new(&name)))
        .map_err(internal)?;
    if let Some(o) = merged.as_object_mut() {
        for (k, v) in changes {
            if k != "channel" {
                o.insert(k, v);
            }
        }
    }
    let config: ChannelConfig = serde_json::from_value(merged)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("settings: {e}")))?;
    if let Some(t) = config.threshold {
        if !(0.0..=1.0).contains(&t) {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "threshold must be within 0..1".into(),
            ));
        }
    }
    if config.cooldown_ms.is_some_and(|c| c < 0) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "cooldown_ms must not be negative".into(),
        ));
    }
    app.channels.put(&config).await.map_err(internal)?;
    app.changed.notify_one();
    tracing::info!(channel = %name, by = %user.login, created, enabled = config.enabled, "channel saved from the dashboard");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(config)))
}

/// `DELETE /api/channels/{name}`.
pub async fn delete_channel<C: ChannelStore, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let user = session_user(&app, &jar).ok_or_else(unauthorized)?;
    same_origin(&app, &headers)?;
    let name = channel_name(&name)?;
    if !user.admin {
        let watched = app.channels.list().await.map_err(internal)?;
        if !user.may(&name) || !watched.iter().any(|c| c.channel == name) {
            return Err(forbidden("you may manage only your own channel"));
        }
    }
    if app.channels.remove(&name).await.map_err(internal)? {
        app.changed.notify_one();
        tracing::info!(channel = %name, by = %user.login, "channel removed from the dashboard");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(StatusCode::NOT_FOUND, "no such channel".into()))
    }
}

#[derive(Debug, Deserialize)]
pub struct ClipsQuery {
    channel: Option<String>,
    since: Option<String>,
    status: Option<String>,
    format: Option<String>,
}

/// `GET /api/clips?channel=&since=&status=&format=json|csv`: the rows of `clipper clips
/// export` (CSV: the same writer), restricted to what the user may see.
pub async fn clips<C: ChannelStore, S: ClipStore>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    Query(q): Query<ClipsQuery>,
) -> ApiResult<Response> {
    let (user, visible) = viewer(&app, &jar).await?;
    let channel = q.channel.as_deref().filter(|c| !c.is_empty());
    if let Some(c) = channel {
        if !user.may(&ChannelConfig::new(c).channel) {
            return Err(forbidden("not your channel"));
        }
    }
    let since = q
        .since
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| admin::parse_since(s, clipper_functions::clock::now_ms()))
        .transpose()
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    let mut rows: Vec<ClipRecord> = admin::clip_rows(&*app.clips, channel, since)
        .await
        .map_err(internal)?;
    rows.retain(|r| {
        (user.admin || visible.iter().any(|c| c.channel == r.channel))
            && status.is_none_or(|s| status_name(r) == s)
    });
    match q.format.as_deref().unwrap_or("json") {
        "csv" => {
            let mut out = Vec::new();
            admin::write_clips(&rows, admin::Format::Csv, &mut out).map_err(internal)?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"clips.csv\"",
                    ),
                ],
                out,
            )
                .into_response())
        }
        "json" => {
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut v = serde_json::to_value(r).map_err(internal)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("trigger".into(), json!(r.kind));
                }
                out.push(v);
            }
            Ok(Json(out).into_response())
        }
        _ => Err(ApiError(
            StatusCode::BAD_REQUEST,
            "format is json or csv".into(),
        )),
    }
}

fn status_name(r: &ClipRecord) -> String {
    serde_json::to_value(r.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `GET /api/events`: server-sent events (scored windows, clip changes) of the channels the
/// user may see. Opens with a `connected` comment.
pub async fn events<C: ChannelStore, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
) -> ApiResult<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>> {
    let (user, _) = viewer(&app, &jar).await?;
    let rx = app.events.subscribe();
    let hello = futures_util::stream::iter([Ok(Event::default().comment("connected"))]);
    let live = futures_util::stream::unfold((rx, user), |(mut rx, user)| async move {
        loop {
            match rx.recv().await {
                Ok(ev) if user.may(ev.channel()) => {
                    let e = Event::default()
                        .json_data(&ev)
                        .unwrap_or_else(|_| Event::default().comment("unencodable"));
                    return Some((Ok(e), (rx, user)));
                }
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    let e = Event::default().comment(format!("missed {n} events"));
                    return Some((Ok(e), (rx, user)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(futures_util::StreamExt::chain(hello, live)).keep_alive(KeepAlive::default()))
}
