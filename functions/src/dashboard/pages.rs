//! The pages (one HTML shell each; `app.js` fills them from `/api/*`) and the embedded
//! assets. Nothing here carries a token, a secret or a session id.

use std::sync::Arc;

use crate::roles::{ChannelStore, ClipStore};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use super::api::session_user;
use super::App;

const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const UPLOT_JS: &str = include_str!("assets/vendor/uplot.min.js");
const UPLOT_CSS: &str = include_str!("assets/vendor/uplot.min.css");

/// `GET /assets/{file}`: the embedded assets (public: no data in them).
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "uplot.min.js" => (UPLOT_JS, "text/javascript; charset=utf-8"),
        "uplot.min.css" => (UPLOT_CSS, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Headers on every answer: a strict content security policy (scripts and styles from here
/// only, frames only from Twitch's clip player), no sniffing, no framing, referrers (and so `Origin` on form posts) only to this origin.
pub async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: https://clips-media-assets2.twitch.tv https://static-cdn.jtvnw.net; \
             frame-src https://clips.twitch.tv; connect-src 'self'; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// Which page a path is.
fn page_of(path: &str) -> (&'static str, &'static str) {
    match path {
        "/clips" => ("clips", "Clips"),
        "/analytics" => ("analytics", "Analytics"),
        _ => ("overview", "Channels"),
    }
}

/// `GET /`, `/clips`, `/analytics`: the page's shell, or `/login` without a session.
pub async fn page<C: ChannelStore, S: ClipStore>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    uri: Uri,
) -> Response {
    let (name, title) = page_of(uri.path());
    shell(&app, &jar, name, title, "").await
}

/// `GET /channel/{name}`.
pub async fn channel_page<C: ChannelStore, S: ClipStore>(
    State(app): State<Arc<App<C, S>>>,
    jar: CookieJar,
    Path(channel): Path<String>,
) -> Response {
    let name: String = channel
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(25)
        .collect::<String>()
        .to_ascii_lowercase();
    shell(&app, &jar, "channel", "Channel", &name).await
}

async fn shell<C: ChannelStore, S: ClipStore>(
    app: &App<C, S>,
    jar: &CookieJar,
    page: &str,
    title: &str,
    channel: &str,
) -> Response {
    let user = match session_user(app, jar).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return e.into_response(),
    };
    // Someone who is neither an admin nor the broadcaster of a watched channel (or of this
    // channel) gets 403, as from the API.
    if !user.admin {
        let watched = match app.channels.list().await {
            Ok(list) => list.iter().any(|c| c.channel == user.login),
            Err(e) => {
                tracing::error!(error = %e, "channel store not read");
                false
            }
        };
        if !watched || (!channel.is_empty() && channel != user.login) {
            return (
                StatusCode::FORBIDDEN,
                [(header::CACHE_CONTROL, "no-store")],
                Html(format!(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not allowed · clipper</title>\
                     <link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body><main id=\"main\">\
                     <h1>Not allowed</h1><p>Logged in as {}. Only the channel you broadcast can be managed here, once the operator watches it.</p>\
                     <form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form></main></body></html>",
                    escape(&user.login)
                )),
            )
                .into_response();
        }
    }
    let nav = |href: &str, label: &str, me: &str| {
        let current = if me == page {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{href}\"{current}>{label}</a>")
    };
    let role = if user.admin { "admin" } else { "streamer" };
    let html = format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · clipper</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
{uplot_css}
</head>
<body data-page="{page}" data-channel="{channel}">
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Main">
<strong class="brand">clipper</strong>
{n1}{n2}{n3}
</nav>
<div class="who"><span>{login} ({role})</span>
<form method="post" action="/logout" id="logout"><button type="submit">Log out</button></form></div>
</header>
<main id="main" tabindex="-1">
<h1>{heading}</h1>
<div id="app" aria-live="polite"><p>Loading…</p></div>
</main>
{uplot_js}
<script src="/assets/app.js" defer></script>
</body>
</html>
"##,
        uplot_css = if matches!(page, "channel" | "analytics") {
            r#"<link rel="stylesheet" href="/assets/uplot.min.css">"#
        } else {
            ""
        },
        uplot_js = if matches!(page, "channel" | "analytics") {
            r#"<script src="/assets/uplot.min.js" defer></script>"#
        } else {
            ""
        },
        n1 = nav("/", "Channels", "overview"),
        n2 = nav("/clips", "Clips", "clips"),
        n3 = nav("/analytics", "Analytics", "analytics"),
        login = escape(&user.login),
        heading = if channel.is_empty() {
            title.to_owned()
        } else {
            format!("#{}", escape(channel))
        },
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// The page after `POST /logout`.
pub fn logged_out() -> Response {
    Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Logged out · clipper</title><link rel=\"icon\" href=\"data:,\">\
         <link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body><main id=\"main\"><h1>Logged out</h1>\
         <p><a href=\"/login\">Log in with Twitch</a></p></main></body></html>",
    )
    .into_response()
}

/// HTML-escapes `s`.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}
