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
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{self, User, LOGIN_COOKIE, SESSION_COOKIE};
use super::export::{self, status_name};
use super::{App, DashEvent};
use crate::record::{ClipRecord, ClipStatus};
use crate::roles::{ChannelConfig, ChannelStore, ClipStore};

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

/// The session's user, if any (a failing session store is a 500, not a log-out).
pub(super) async fn session_user<C, S>(
    app: &App<C, S>,
    jar: &CookieJar,
) -> ApiResult<Option<User>> {
    match jar.get(SESSION_COOKIE) {
        Some(c) => app.sessions.user(c.value()).await.map_err(internal),
        None => Ok(None),
    }
}

/// The user, and the channels they may see (`None`: all). 401 without a session; 403 for a
/// non-admin whose channel is not watched.
async fn viewer<C: ChannelStore, S>(
    app: &App<C, S>,
    jar: &CookieJar,
) -> ApiResult<(User, Vec<ChannelConfig>)> {
    let user = session_user(app, jar).await?.ok_or_else(unauthorized)?;
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

/// Whether `user` may see `channel`, given the channels [`viewer`] found visible.
fn sees(user: &User, visible: &[ChannelConfig], channel: &str) -> bool {
    user.admin || visible.iter().any(|c| c.channel == channel)
}

/// Writes need a same-origin `Origin` header.
fn same_origin<C, S>(app: &App<C, S>, headers: &HeaderMap) -> ApiResult<()> {
    let public = app.public(headers);
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(o) if o == public.origin => Ok(()),
        _ => Err(forbidden("cross-origin request refused")),
    }
}

// ---- log-in ----

/// `GET /login`: a new login attempt, then Twitch's authorize page.
pub async fn login<C: ChannelStore, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    headers: HeaderMap,
) -> ApiResult<(CookieJar, Redirect)> {
    if app.cfg.client_id.is_empty() || app.cfg.client_secret.is_none() {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "log-in needs TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET (an application registered with the redirect URL shown in the README)".into(),
        ));
    }
    let public = app.public(&headers);
    let (id, state) = app.sessions.begin_login().await.map_err(internal)?;
    let url = auth::authorize_url(
        &app.cfg.oauth_base,
        &app.cfg.client_id,
        &public.redirect_uri,
        &state,
    );
    let jar = jar.add(auth::cookie(
        LOGIN_COOKIE,
        id,
        public.secure,
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
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> ApiResult<(CookieJar, Redirect)> {
    let public = app.public(&headers);
    let attempt = jar.get(LOGIN_COOKIE).map(|c| c.value().to_owned());
    let jar = jar.remove(auth::cookie(
        LOGIN_COOKIE,
        String::new(),
        public.secure,
        std::time::Duration::ZERO,
    ));
    let (Some(attempt), Some(state)) = (attempt, q.state.as_deref()) else {
        tracing::warn!("log-in callback without a login attempt or state; refused");
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "no log-in under way: start at /login".into(),
        ));
    };
    if !app
        .sessions
        .finish_login(&attempt, state)
        .await
        .map_err(internal)?
    {
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
    let (tokens, info) = auth::exchange(&app.oauth, &code, &public.redirect_uri)
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
        if let Some(sink) = &app.tokens {
            match sink.save(&tokens).await {
                Ok(()) => {
                    tracing::info!(%login, "user token saved; the clipper uses it from its next token read")
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
        .await
        .map_err(internal)?;
    tracing::info!(%login, admin, "logged in");
    let jar = jar.add(auth::cookie(
        SESSION_COOKIE,
        id,
        public.secure,
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
    session_user(&app, &jar).await?.ok_or_else(unauthorized)?;
    let id = jar
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(unauthorized)?;
    same_origin(&app, &headers)?;
    app.sessions.close(&id).await.map_err(internal)?;
    let jar = jar.remove(auth::cookie(
        SESSION_COOKIE,
        String::new(),
        app.public(&headers).secure,
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
    let user = session_user(&app, &jar).await?.ok_or_else(unauthorized)?;
    Ok(Json(json!({
        "login": user.login,
        "admin": user.admin,
        "owner": app.owner,
        "views": app.views.is_some(),
    })))
}

/// `GET /api/channels`: the channels the user may see, with settings and live state.
pub async fn list_channels<C: ChannelStore, S: ClipStore>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
) -> ApiResult<Json<Vec<Value>>> {
    let (_, channels) = viewer(&app, &jar).await?;
    let now = crate::clock::now_ms();
    let today = now - now.rem_euclid(86_400_000);
    let recent = app.clips.list(None, Some(today)).await.map_err(internal)?;
    // Live state: the board this process keeps (`clipper run`); where it knows nothing (the
    // function), the channel's last window in the timeline (10 min back at most).
    let lives = futures_util::future::join_all(channels.iter().map(|c| {
        let app = &app;
        async move {
            let mut live = app.events.live(&c.channel);
            if live.last_window_ms.is_none() {
                match app.timeline.recent(&c.channel, now - 600_000, 1).await {
                    Ok(p) => {
                        if let Some(p) = p.last() {
                            live.msgs_per_min = Some(p.msgs_per_min);
                            live.last_score = p.score;
                            live.threshold = p.threshold;
                            live.last_window_ms = Some(p.end_ms);
                            live.live = live.live.or(p.live);
                            live.viewers = live.viewers.or(p.viewers);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(channel = %c.channel, error = %e, "timeline unreadable")
                    }
                }
            }
            live
        }
    }))
    .await;
    let mut out = Vec::with_capacity(channels.len());
    for (c, live) in channels.into_iter().zip(lives) {
        let clips_today = recent.iter().filter(|r| r.channel == c.channel).count();
        let mut v = serde_json::to_value(&c).map_err(internal)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("live_state".into(), json!(live));
            o.insert("clips_today".into(), json!(clips_today));
        }
        out.push(v);
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
pub struct WindowsQuery {
    /// Unix ms; default: 30 minutes ago.
    since: Option<i64>,
}

/// Windows the timeline keeps at most per answer.
const MAX_WINDOWS: usize = 720;

/// `GET /api/channels/{name}/windows?since=`: the channel's recent windows (oldest first, at
/// most 720), as `window` events: the timeline's history when a page opens.
pub async fn channel_windows<C: ChannelStore, S>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    Path(name): Path<String>,
    Query(q): Query<WindowsQuery>,
) -> ApiResult<Json<Vec<DashEvent>>> {
    let (user, visible) = viewer(&app, &jar).await?;
    let name = channel_name(&name)?;
    if !sees(&user, &visible, &name) {
        return Err(forbidden("not your channel"));
    }
    let since = q
        .since
        .unwrap_or_else(|| crate::clock::now_ms() - 30 * 60_000);
    let points = app
        .timeline
        .recent(&name, since, MAX_WINDOWS)
        .await
        .map_err(internal)?;
    Ok(Json(points.iter().map(DashEvent::window_of).collect()))
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
    let user = session_user(&app, &jar).await?.ok_or_else(unauthorized)?;
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
    if config
        .clip_duration_s
        .is_some_and(|d| !(5.0..=60.0).contains(&d))
    {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "clip_duration_s must be within 5..60 seconds".into(),
        ));
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
    let user = session_user(&app, &jar).await?.ok_or_else(unauthorized)?;
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
        .map(|s| export::parse_since(s, crate::clock::now_ms()))
        .transpose()
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    let mut rows: Vec<ClipRecord> = export::clip_rows(&*app.clips, channel, since)
        .await
        .map_err(internal)?;
    rows.retain(|r| {
        sees(&user, &visible, &r.channel) && status.is_none_or(|s| status_name(r) == s)
    });
    match q.format.as_deref().unwrap_or("json") {
        "csv" => {
            let mut out = Vec::new();
            export::write_clips(&rows, export::Format::Csv, &mut out).map_err(internal)?;
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
            // Views of the confirmed clips (cached; `null` where unknown or not fetched).
            let views = match &app.views {
                Some(cache) => {
                    let ids: Vec<String> = rows
                        .iter()
                        .filter(|r| r.status == ClipStatus::Confirmed)
                        .filter_map(|r| r.clip_id.clone())
                        .collect();
                    cache.views(&ids).await
                }
                None => Default::default(),
            };
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut v = serde_json::to_value(r).map_err(internal)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("trigger".into(), json!(r.kind));
                    let st = r.clip_id.as_ref().and_then(|id| views.get(id));
                    o.insert("views".into(), json!(st.map(|s| s.views)));
                    o.insert(
                        "thumbnail_url".into(),
                        json!(st.and_then(|s| s.thumbnail_url.as_deref())),
                    );
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

/// `POST /api/clips/{request_id}/download`: Get Clips Download for a confirmed clip of a
/// channel the user may manage. 200 with `url` (and, locally, `saved` and `bytes`); 409 with
/// the reason when it cannot be done (no token, not the broadcaster's or an editor's token,
/// not confirmed); 502 when Twitch or the disk failed.
pub async fn download<C: ChannelStore, S: ClipStore>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(request_id): Path<String>,
) -> ApiResult<Response> {
    let (user, visible) = viewer(&app, &jar).await?;
    same_origin(&app, &headers)?;
    let record = app
        .clips
        .get(&request_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no such clip".into()))?;
    if !sees(&user, &visible, &record.channel) {
        return Err(forbidden("not your channel"));
    }
    if record.status != ClipStatus::Confirmed || record.clip_id.is_none() {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!(
                "this clip is {}: only a clip Twitch made (confirmed) can be downloaded",
                status_name(&record)
            ),
        ));
    }
    let Some(d) = &app.downloads else {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "downloads need the clipper's Twitch user token: log in with the clipper's account \
             (the broadcaster or one of their editors)"
                .into(),
        ));
    };
    match d.download(&record).await {
        Ok(done) => {
            tracing::info!(request_id = %record.request_id, channel = %record.channel,
                by = %user.login, saved = done.saved.is_some(), "clip download");
            Ok(Json(done).into_response())
        }
        Err(super::downloads::DownloadError::NotPossible(why)) => {
            Err(ApiError(StatusCode::CONFLICT, why))
        }
        Err(super::downloads::DownloadError::Failed(why)) => {
            tracing::warn!(request_id = %record.request_id, error = %why, "clip download failed");
            Err(ApiError(StatusCode::BAD_GATEWAY, why))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Poll mode: also the windows of this channel.
    channel: Option<String>,
}

/// How long the browser waits between polls of `/api/events` (poll mode).
pub const POLL_RETRY_MS: u64 = 5_000;
/// How far back a poll of `/api/events` looks for clip changes.
const POLL_WINDOW_MS: i64 = 15 * 60_000;

/// `GET /api/events`: server-sent events (scored windows, clip changes) of the channels the
/// user may see. Opens with a `connected` comment.
///
/// Poll mode (the function): answers at once with a `retry:` delay and the clip records of
/// the visible channels triggered in the last 15 minutes (in their current state; the page
/// updates a clip it already shows), and with `?channel=` that channel's windows from the
/// timeline table newer than `Last-Event-ID`, then ends; the browser's `EventSource`
/// reconnects after the delay.
pub async fn events<C: ChannelStore, S: ClipStore>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Response> {
    let (user, visible) = viewer(&app, &jar).await?;
    if app.cfg.poll_events {
        let now = crate::clock::now_ms();
        let since = now - POLL_WINDOW_MS;
        let rows = export::clip_rows(&*app.clips, None, Some(since))
            .await
            .map_err(internal)?;
        let mut body = format!(": polled\nretry: {POLL_RETRY_MS}\n\n");
        // The windows of `?channel=` newer than the last one this page got: each carries its
        // end as the event id, which the browser sends back as `Last-Event-ID`.
        if let Some(ch) = q.channel.as_deref().filter(|c| !c.is_empty()) {
            let ch = channel_name(ch)?;
            if sees(&user, &visible, &ch) {
                let after = headers
                    .get("last-event-id")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map_or(since, |id| id.max(since));
                let points = app
                    .timeline
                    .recent(&ch, after, MAX_WINDOWS)
                    .await
                    .map_err(internal)?;
                for p in &points {
                    let data = serde_json::to_string(&DashEvent::window_of(p)).map_err(internal)?;
                    body.push_str(&format!("id: {}\ndata: {data}\n\n", p.end_ms));
                }
            }
        }
        for r in rows.iter().filter(|r| sees(&user, &visible, &r.channel)) {
            let data = serde_json::to_string(&DashEvent::clip_of(r)).map_err(internal)?;
            body.push_str("data: ");
            body.push_str(&data);
            body.push_str("\n\n");
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response());
    }
    let rx = app.events.subscribe();
    let hello =
        futures_util::stream::iter([Ok::<_, Infallible>(Event::default().comment("connected"))]);
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
    Ok(Sse::new(futures_util::StreamExt::chain(hello, live))
        .keep_alive(KeepAlive::default())
        .into_response())
}
