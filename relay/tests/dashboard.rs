//! The dashboard against real peers on loopback: the real axum server (port 0), reqwest as the
//! browser, wiremock as Twitch's OAuth server, local files as the channel and clip stores; and
//! once the whole `clipper run` wiring with the loopback IRC server (a PUT joins at once, chat
//! reaches `/api/events`). The browser test (`infra/dashboard-tests`) runs from the last test
//! when Chromium and the npm packages are there (and must, with `CLIPPER_BROWSER_TESTS=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clipper_functions::local::{JsonChannelStore, JsonlClipStore};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore};
use clipper_functions::twitch::auth::{Secret, TwitchCredentials};
use clipper_models::{Scores, TriggerKind};
use clipper_relay::dashboard::{self, App, DashEvent, DashboardConfig, Events};
use clipper_relay::live::run::{run_with, RunConfig};
use clipper_testkit::loopback::{privmsg, Chatter, LoopbackIrc, SERIAL_RUNS};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Notify;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OWNER: &str = "clipperbot";
const ADMIN: &str = "boss";
const STREAMER: &str = "streamer1";
const OTHER: &str = "otherchan";
const STRANGER: &str = "stranger";

/// Twitch's OAuth server: `code-{login}` exchanges to `tok-{login}`, which validates as `login`.
async fn oauth_mock(logins: &[&str]) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oauth2/authorize"))
        .respond_with(AuthorizePage(ADMIN))
        .mount(&s)
        .await;
    for login in logins {
        Mock::given(method("POST"))
            .and(path("/oauth2/token"))
            .and(body_string_contains("grant_type=authorization_code"))
            .and(body_string_contains(format!("code=code-{login}&")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("tok-{login}"), "refresh_token": format!("ref-{login}"),
                "expires_in": 14000, "scope": ["clips:edit"], "token_type": "bearer"
            })))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/oauth2/validate"))
            .and(header(
                "authorization",
                format!("OAuth tok-{login}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "client_id": "cid", "login": login, "user_id": format!("id-{login}"),
                "scopes": ["clips:edit"], "expires_in": 14000
            })))
            .mount(&s)
            .await;
    }
    s
}

/// Twitch's authorize page, faked: one link back to `redirect_uri` with `code-{login}` and the
/// `state` it was given.
struct AuthorizePage(&'static str);

impl wiremock::Respond for AuthorizePage {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let q = |k: &str| {
            req.url
                .query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let mut back: url::Url = q("redirect_uri").parse().unwrap();
        back.query_pairs_mut()
            .append_pair("code", &format!("code-{}", self.0))
            .append_pair("state", &q("state"));
        let html = format!(
            "<!doctype html><html lang=en><head><meta charset=utf-8><link rel=icon href=\"data:,\"><title>Authorize</title></head><body>\
             <h1>Authorize clipper ({})</h1><p>scope: {}</p><a id=authorize href=\"{}\">Authorize</a></body></html>",
            self.0, q("scope"), back
        );
        ResponseTemplate::new(200).set_body_raw(html, "text/html")
    }
}

struct Dash {
    url: String,
    dir: tempfile::TempDir,
    oauth: MockServer,
    events: Events,
    clips: Arc<JsonlClipStore>,
    changed: Arc<Notify>,
    http: reqwest::Client,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn record(
    channel: &str,
    id: &str,
    status: ClipStatus,
    kind: TriggerKind,
    t: i64,
    score: f64,
) -> ClipRecord {
    ClipRecord {
        request_id: id.into(),
        channel: channel.into(),
        broadcaster_id: None,
        trigger_ms: t,
        peak_ms: t + 1000,
        created_at_ms: Some(t + 7000),
        kind,
        score,
        scores: Scores::default(),
        features: None,
        title: format!("title {id}"),
        forced_by: None,
        status,
        clip_id: Some(format!("Clip{id}")),
        url: Some(format!("https://clips.twitch.tv/Clip{id}")),
        edit_url: Some(format!("https://clips.twitch.tv/Clip{id}/edit")),
        error: None,
        attempts: 1,
        next_due_ms: None,
        resume: None,
    }
}

impl Dash {
    async fn start(public_url: Option<&str>) -> Dash {
        Dash::start_with(public_url, |app, _| app).await
    }

    /// [`Dash::start`], with `extend` adding to the app (given the data directory).
    async fn start_with(
        public_url: Option<&str>,
        extend: impl FnOnce(
            App<JsonChannelStore, JsonlClipStore>,
            &std::path::Path,
        ) -> App<JsonChannelStore, JsonlClipStore>,
    ) -> Dash {
        let dir = tempfile::tempdir().unwrap();
        let oauth = oauth_mock(&[OWNER, ADMIN, STREAMER, STRANGER]).await;
        let channels = Arc::new(JsonChannelStore::new(dir.path().join("channels.json")));
        for c in [STREAMER, OTHER] {
            channels.put(&ChannelConfig::new(c)).await.unwrap();
        }
        let clips = Arc::new(JsonlClipStore::open(dir.path().join("recordings")).unwrap());
        let now = clipper_functions::clock::now_ms();
        clips
            .put(&record(
                STREAMER,
                "a",
                ClipStatus::Confirmed,
                TriggerKind::Velocity,
                now - 60_000,
                0.9,
            ))
            .await
            .unwrap();
        clips
            .put(&record(
                OTHER,
                "b",
                ClipStatus::Failed,
                TriggerKind::Laughter,
                now - 50_000,
                0.7,
            ))
            .await
            .unwrap();
        clips
            .put(&record(
                STREAMER,
                "c",
                ClipStatus::WouldClip,
                TriggerKind::Forced,
                now - 40_000,
                0.5,
            ))
            .await
            .unwrap();
        let bound = dashboard::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut cfg = DashboardConfig::new(bound.local_addr).unwrap();
        if let Some(u) = public_url {
            cfg.public_url = u.parse().unwrap();
        }
        cfg.oauth_base = format!("{}/oauth2", oauth.uri()).parse().unwrap();
        cfg.client_id = "cid".into();
        cfg.client_secret = Some(Secret::new("csecret"));
        cfg.admins = vec![ADMIN.into()];
        cfg.token_file = Some(dir.path().join("tokens.json"));
        let events = Events::new();
        let changed = Arc::new(Notify::new());
        let app = App::new(
            cfg,
            Some(OWNER.into()),
            channels,
            clips.clone(),
            events.clone(),
            changed.clone(),
        )
        .unwrap();
        let app = extend(app, dir.path());
        let url = format!("http://{}", bound.local_addr);
        tokio::spawn(dashboard::serve(
            bound,
            Arc::new(app),
            std::future::pending(),
        ));
        Dash {
            url,
            dir,
            oauth,
            events,
            clips,
            changed,
            http: client(),
        }
    }

    fn channels_file(&self) -> Vec<ChannelConfig> {
        serde_json::from_slice(&std::fs::read(self.dir.path().join("channels.json")).unwrap())
            .unwrap()
    }

    async fn get(&self, path: &str, session: Option<&str>) -> reqwest::Response {
        let mut r = self.http.get(format!("{}{path}", self.url));
        if let Some(s) = session {
            r = r.header(COOKIE, s);
        }
        r.send().await.unwrap()
    }

    async fn write(
        &self,
        verb: reqwest::Method,
        path: &str,
        session: Option<&str>,
        origin: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut r = self.http.request(verb, format!("{}{path}", self.url));
        if let Some(s) = session {
            r = r.header(COOKIE, s);
        }
        if let Some(o) = origin {
            r = r.header(ORIGIN, o);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    /// `GET /login`: (the login cookie pair, the authorize URL).
    async fn begin(&self) -> (String, url::Url, HeaderMap) {
        let r = self.get("/login", None).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let loc: url::Url = r.headers()[LOCATION].to_str().unwrap().parse().unwrap();
        let cookie = set_cookie(r.headers(), "clipper_login").expect("login cookie");
        (cookie_pair(&cookie), loc, r.headers().clone())
    }

    /// Logs `login` in through the OAuth mock; the `Cookie` header value of its session.
    async fn login(&self, login: &str) -> String {
        let (attempt, loc, _) = self.begin().await;
        let state = query(&loc, "state").unwrap();
        let r = self
            .get(
                &format!("/auth/callback?code=code-{login}&state={state}"),
                Some(&attempt),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{}",
            r.text().await.unwrap()
        );
        let c = set_cookie(r.headers(), "clipper_session").expect("session cookie");
        cookie_pair(&c)
    }
}

fn set_cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

fn query(u: &url::Url, key: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Everything this test binary logs (debug level and up), for the no-secrets-in-logs check.
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<&'static std::sync::Mutex<Vec<u8>>> =
        std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: &'static std::sync::Mutex<Vec<u8>> =
            Box::leak(Box::new(std::sync::Mutex::new(Vec::new())));
        let writer = move || LogWriter(buf);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(writer)
            .with_ansi(false)
            .try_init();
        buf
    })
}

struct LogWriter(&'static std::sync::Mutex<Vec<u8>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn healthz_and_login_redirect() {
    let d = Dash::start(None).await;
    let r = d.get("/healthz", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, loc, headers) = d.begin().await;
    assert_eq!(loc.path(), "/oauth2/authorize");
    assert_eq!(
        loc.origin(),
        url::Url::parse(&d.oauth.uri()).unwrap().origin()
    );
    assert_eq!(query(&loc, "client_id").as_deref(), Some("cid"));
    assert_eq!(
        query(&loc, "redirect_uri"),
        Some(format!("{}/auth/callback", d.url))
    );
    assert_eq!(query(&loc, "response_type").as_deref(), Some("code"));
    // clips:edit for Create Clip; the clip-manage scopes for Get Clips Download.
    let scope = query(&loc, "scope").unwrap();
    for want in ["clips:edit", "editor:manage:clips", "channel:manage:clips"] {
        assert!(scope.split(' ').any(|s| s == want), "{scope}");
    }
    assert!(query(&loc, "state").unwrap().len() >= 32);
    let c = set_cookie(&headers, "clipper_login").unwrap();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"),
        "{c}"
    );
    // Pages without a session go to /login; the API answers 401.
    let r = d.get("/", None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login");
    for p in ["/api/channels", "/api/clips", "/api/events", "/api/me"] {
        assert_eq!(
            d.get(p, None).await.status(),
            StatusCode::UNAUTHORIZED,
            "{p}"
        );
    }
}

#[tokio::test]
async fn callback_with_a_wrong_state_is_refused_and_opens_no_session() {
    let d = Dash::start(None).await;
    let (attempt, loc, _) = d.begin().await;
    let good = query(&loc, "state").unwrap();
    let forged = format!("{}x", &good[..good.len() - 1]);
    let r = d
        .get(
            &format!("/auth/callback?code=code-{OWNER}&state={forged}"),
            Some(&attempt),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookie(r.headers(), "clipper_session").is_none());
    // The attempt is spent: the right state afterwards is refused too.
    let r = d
        .get(
            &format!("/auth/callback?code=code-{OWNER}&state={good}"),
            Some(&attempt),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A right state without the browser's attempt cookie (login CSRF) is refused.
    let (_, loc, _) = d.begin().await;
    let state = query(&loc, "state").unwrap();
    let r = d
        .get(
            &format!("/auth/callback?code=code-{OWNER}&state={state}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let token_calls = d
        .oauth
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth2/token")
        .count();
    assert_eq!(token_calls, 0, "no code was exchanged");
    assert!(!d.dir.path().join("tokens.json").exists());
}

#[tokio::test]
async fn callback_opens_a_session_and_saves_the_clippers_token() {
    let logs = captured_logs();
    let d = Dash::start(None).await;
    let (attempt, loc, _) = d.begin().await;
    let state = query(&loc, "state").unwrap();
    let r = d
        .get(
            &format!("/auth/callback?code=code-{OWNER}&state={state}"),
            Some(&attempt),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/");
    let c = set_cookie(r.headers(), "clipper_session").unwrap();
    assert!(
        c.contains("HttpOnly")
            && c.contains("SameSite=Lax")
            && c.contains("Max-Age=")
            && c.contains("Path=/"),
        "{c}"
    );
    let session = cookie_pair(&c);
    let me: Value = d.get("/api/me", Some(&session)).await.json().await.unwrap();
    assert_eq!(me["login"], OWNER);
    assert_eq!(me["admin"], true);
    // The clipper's own account: its token is saved like a rotated one (mode 0600).
    let file = d.dir.path().join("tokens.json");
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["access_token"], format!("tok-{OWNER}"));
    assert_eq!(saved["refresh_token"], format!("ref-{OWNER}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // A streamer's log-in does not replace it.
    let _ = d.login(STREAMER).await;
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["access_token"], format!("tok-{OWNER}"));
    // No token, secret or session id in any page or answer.
    let sid = session.split('=').nth(1).unwrap().to_owned();
    for p in [
        "/",
        "/clips",
        "/analytics",
        "/channel/streamer1",
        "/api/me",
        "/api/channels",
        "/api/clips",
        "/api/clips?format=csv",
        "/assets/app.js",
    ] {
        let body = d.get(p, Some(&session)).await.text().await.unwrap();
        for secret in ["tok-", "ref-", "csecret", sid.as_str()] {
            assert!(!body.contains(secret), "{p} shows {secret}");
        }
    }
    // Logout: cross-origin refused, same-origin ends the session.
    let r = d
        .write(
            reqwest::Method::POST,
            "/logout",
            Some(&session),
            Some("http://evil.example"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let origin = d.url.clone();
    let r = d
        .write(
            reqwest::Method::POST,
            "/logout",
            Some(&session),
            Some(&origin),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get_all(SET_COOKIE).iter().any(|v| v
        .to_str()
        .unwrap()
        .starts_with("clipper_session=;")
        || v.to_str().unwrap().contains("Max-Age=0")));
    assert_eq!(
        d.get("/api/me", Some(&session)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Nor in the log (debug level), which did record the log-in.
    let log = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(log.contains("logged in"), "nothing captured: {log}");
    for secret in ["tok-", "ref-", "csecret", sid.as_str()] {
        assert!(!log.contains(secret), "the log shows {secret}");
    }
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let d = Dash::start(Some("https://dash.example.com")).await;
    let (_, loc, headers) = d.begin().await;
    assert_eq!(
        query(&loc, "redirect_uri").as_deref(),
        Some("https://dash.example.com/auth/callback")
    );
    let c = set_cookie(&headers, "clipper_login").unwrap();
    assert!(c.contains("Secure"), "{c}");
}

#[tokio::test]
async fn who_may_do_what() {
    let d = Dash::start(None).await;
    let origin = d.url.clone();
    let owner = d.login(OWNER).await;
    let admin = d.login(ADMIN).await;
    let streamer = d.login(STREAMER).await;
    let stranger = d.login(STRANGER).await;
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["channel"].as_str().unwrap().to_owned())
            .collect()
    };

    // Reading.
    for s in [&owner, &admin] {
        let r = d.get("/api/channels", Some(s)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(names(r.json().await.unwrap()), [OTHER, STREAMER]);
    }
    let r = d.get("/api/channels", Some(&streamer)).await;
    let own: Value = r.json().await.unwrap();
    assert_eq!(names(own.clone()), [STREAMER]);
    assert!(
        own[0].get("live_state").is_some() && own[0]["clips_today"].as_u64().is_some(),
        "{own}"
    );
    for (session, page, status) in [
        (&stranger, "/", StatusCode::FORBIDDEN),
        (&stranger, "/clips", StatusCode::FORBIDDEN),
        (&streamer, "/", StatusCode::OK),
        (&streamer, "/channel/streamer1", StatusCode::OK),
        (&streamer, "/channel/otherchan", StatusCode::FORBIDDEN),
        (&admin, "/channel/otherchan", StatusCode::OK),
    ] {
        assert_eq!(d.get(page, Some(session)).await.status(), status, "{page}");
    }
    assert_eq!(
        d.get("/api/channels", Some(&stranger)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.get("/api/clips", Some(&stranger)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.get("/api/events", Some(&stranger)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.get(&format!("/api/clips?channel={OTHER}"), Some(&streamer))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.get("/api/channels", Some("clipper_session=made-up"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Writing: session, then same origin, then ownership.
    let put = reqwest::Method::PUT;
    let del = reqwest::Method::DELETE;
    let body = || Some(json!({"threshold": 0.8}));
    assert_eq!(
        d.write(
            put.clone(),
            "/api/channels/newchan",
            None,
            Some(&origin),
            body()
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        d.write(
            put.clone(),
            "/api/channels/newchan",
            Some(&admin),
            None,
            body()
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.write(
            put.clone(),
            "/api/channels/newchan",
            Some(&admin),
            Some("http://evil.example"),
            body()
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.write(
            put.clone(),
            &format!("/api/channels/{OTHER}"),
            Some(&streamer),
            Some(&origin),
            body()
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.write(
            put.clone(),
            "/api/channels/newchan",
            Some(&streamer),
            Some(&origin),
            body()
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.write(
            put.clone(),
            &format!("/api/channels/{STRANGER}"),
            Some(&stranger),
            Some(&origin),
            body()
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        d.write(
            del.clone(),
            &format!("/api/channels/{OTHER}"),
            Some(&streamer),
            Some(&origin),
            None
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert!(!d.channels_file().iter().any(|c| c.channel == "newchan"));

    // The streamer tunes their own channel; the admin adds and removes one.
    let r = d
        .write(
            put.clone(),
            &format!("/api/channels/{STREAMER}"),
            Some(&streamer),
            Some(&origin),
            Some(json!({"threshold": 0.65, "cooldown_ms": 45000, "clip_duration_s": 40})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = d
        .write(
            put.clone(),
            "/api/channels/NewChan",
            Some(&admin),
            Some(&origin),
            Some(json!({"enabled": true, "threshold": 0.7})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    tokio::time::timeout(Duration::from_secs(1), d.changed.notified())
        .await
        .expect("the run is told to re-read the channels");
    let file = d.channels_file();
    let s = file.iter().find(|c| c.channel == STREAMER).unwrap();
    assert_eq!((s.threshold, s.cooldown_ms), (Some(0.65), Some(45_000)));
    assert_eq!(s.clip_duration_s, Some(40.0));
    let n = file.iter().find(|c| c.channel == "newchan").unwrap();
    assert_eq!((n.enabled, n.threshold), (true, Some(0.7)));
    // Bad input is 400.
    assert_eq!(
        d.write(
            put.clone(),
            "/api/channels/bad%20name",
            Some(&admin),
            Some(&origin),
            body()
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        d.write(
            put.clone(),
            "/api/channels/newchan",
            Some(&admin),
            Some(&origin),
            Some(json!({"threshold": 7}))
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    for d_s in [2, 90] {
        assert_eq!(
            d.write(
                put.clone(),
                "/api/channels/newchan",
                Some(&admin),
                Some(&origin),
                Some(json!({ "clip_duration_s": d_s }))
            )
            .await
            .status(),
            StatusCode::BAD_REQUEST,
            "a clip of {d_s} s"
        );
    }
    assert_eq!(
        d.write(
            put.clone(),
            "/api/channels/newchan",
            Some(&admin),
            Some(&origin),
            Some(json!({"enabled": "maybe"}))
        )
        .await
        .status(),
        StatusCode::BAD_REQUEST
    );
    let r = d
        .write(
            del.clone(),
            "/api/channels/newchan",
            Some(&owner),
            Some(&origin),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!d.channels_file().iter().any(|c| c.channel == "newchan"));
    assert_eq!(
        d.write(
            del,
            "/api/channels/newchan",
            Some(&owner),
            Some(&origin),
            None
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
}

/// Helix for downloads and views: the user token `tok-{name}` validates as `clipperbot` with
/// `scopes`; Get Clips Download answers for broadcaster `b-streamer` (its file on this server)
/// and refuses `b-other` (403, not an editor); Get Clips reports views.
async fn helix_for_downloads(
    name: &str,
    scopes: &[&str],
    get_clips_calls: u64,
) -> (
    MockServer,
    Arc<clipper_functions::twitch::HelixClient<clipper_functions::local::MemoryTokenStore>>,
) {
    use clipper_testkit::helix as th;
    use wiremock::matchers::query_param;
    let h = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oauth2/validate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "client_id": th::CLIENT_ID, "login": OWNER, "user_id": "id-editor",
            "scopes": scopes, "expires_in": 3600
        })))
        .mount(&h)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/clips/downloads"))
        .and(query_param("editor_id", "id-editor"))
        .and(query_param("broadcaster_id", "b-streamer"))
        .and(query_param("clip_id", "Clipd"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "clip_id": "Clipd",
            "landscape_download_url": format!("{}/media/Clipd-landscape.mp4?sig=abc", h.uri()),
            "portrait_download_url": null
        }]})))
        .mount(&h)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/clips/downloads"))
        .and(query_param("broadcaster_id", "b-other"))
        .respond_with(th::error(
            403,
            "The user in editor_id is not an editor of the broadcaster",
        ))
        .mount(&h)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/clips"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "Clipd", "url": "https://clips.twitch.tv/Clipd", "view_count": 1234,
             "thumbnail_url": "https://static-cdn.jtvnw.net/twitch-clips-thumbnails-prod/Clipd/preview-480x272.jpg"},
            {"id": "Clipa", "url": "https://clips.twitch.tv/Clipa", "view_count": 7}
        ]})))
        .expect(get_clips_calls)
        .mount(&h)
        .await;
    let api = th::user_client(
        th::config(&h),
        clipper_functions::local::MemoryTokenStore::default(),
        &format!("tok-{name}"),
        &format!("ref-{name}"),
    );
    (h, Arc::new(api))
}

/// 300 kB that are not all one byte.
fn mp4_bytes() -> Vec<u8> {
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

#[tokio::test]
async fn downloads_save_the_clip_or_say_why_not_and_views_come_from_get_clips() {
    let (h, helix) = helix_for_downloads("editor", &["clips:edit", "editor:manage:clips"], 1).await;
    let media = mp4_bytes();
    Mock::given(method("GET"))
        .and(path("/media/Clipd-landscape.mp4"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(media.clone(), "video/mp4"))
        .expect(1)
        .mount(&h)
        .await;
    let downloads_dir = Arc::new(std::sync::Mutex::new(PathBuf::new()));
    let dd = downloads_dir.clone();
    let hx = helix.clone();
    let d = Dash::start_with(None, move |app, dir| {
        let target = dir.join("recordings").join("downloads");
        *dd.lock().unwrap() = target.clone();
        app.with_views(
            Arc::new(dashboard::views::ClipApiViews(hx.clone())),
            Duration::from_secs(600),
        )
        .with_downloads(Arc::new(dashboard::downloads::HelixDownloads::saving(
            hx, target,
        )))
    })
    .await;
    let now = clipper_functions::clock::now_ms();
    for (ch, id, b) in [(STREAMER, "d", "b-streamer"), (OTHER, "e", "b-other")] {
        let mut r = record(
            ch,
            id,
            ClipStatus::Confirmed,
            TriggerKind::Velocity,
            now - 30_000,
            0.8,
        );
        r.broadcaster_id = Some(b.into());
        d.clips.put(&r).await.unwrap();
    }
    let admin = d.login(ADMIN).await;
    let origin = d.url.clone();
    let post = |id: &str, session: Option<String>, origin: Option<String>| {
        let d = &d;
        let path = format!("/api/clips/{id}/download");
        async move {
            let r = d
                .write(
                    reqwest::Method::POST,
                    &path,
                    session.as_deref(),
                    origin.as_deref(),
                    None,
                )
                .await;
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            assert!(
                !body.to_string().contains("tok-"),
                "no token in an answer: {body}"
            );
            (status, body)
        }
    };

    // The broadcaster's clip, by an admin: saved under recordings/downloads/{channel}/.
    let (st, body) = post("d", Some(admin.clone()), Some(origin.clone())).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let file = downloads_dir
        .lock()
        .unwrap()
        .join(STREAMER)
        .join("Clipd.mp4");
    assert_eq!(body["saved"], json!(file.display().to_string()));
    assert_eq!(body["bytes"], json!(media.len()));
    assert!(body["url"]
        .as_str()
        .unwrap()
        .contains("/media/Clipd-landscape.mp4"));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        media,
        "the file is what Twitch served"
    );
    assert!(!file.with_extension("mp4.part").exists());
    // Again: the file is kept, nothing downloaded twice (the media mock expects one GET).
    let (st, body) = post("d", Some(admin.clone()), Some(origin.clone())).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["already"], json!(true));

    // Twitch refuses (the token's user is not an editor of that channel): the reason, 409.
    let (st, body) = post("e", Some(admin.clone()), Some(origin.clone())).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    let why = body["error"].as_str().unwrap();
    assert!(
        why.contains("not an editor") && why.contains("editor:manage:clips"),
        "{why}"
    );
    // Not a confirmed clip.
    let (st, body) = post("c", Some(admin.clone()), Some(origin.clone())).await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("would_clip"),
        "{body}"
    );
    // Unknown clip, no session, cross-origin, another user's channel.
    assert_eq!(
        post("nope", Some(admin.clone()), Some(origin.clone()))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post("d", None, Some(origin.clone())).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post("d", Some(admin.clone()), Some("http://evil.example".into()))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post("d", Some(admin.clone()), None).await.0,
        StatusCode::FORBIDDEN
    );
    let streamer = d.login(STREAMER).await;
    assert_eq!(
        post("e", Some(streamer.clone()), Some(origin.clone()))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // View counts of confirmed clips from Get Clips, cached: two page loads, one Helix call.
    for _ in 0..2 {
        let rows: Vec<Value> = d
            .get("/api/clips", Some(&admin))
            .await
            .json()
            .await
            .unwrap();
        let views =
            |id: &str| rows.iter().find(|r| r["request_id"] == id).unwrap()["views"].clone();
        assert_eq!(views("d"), json!(1234));
        let row = |id: &str| rows.iter().find(|r| r["request_id"] == id).unwrap().clone();
        assert!(row("d")["thumbnail_url"]
            .as_str()
            .unwrap()
            .ends_with("/Clipd/preview-480x272.jpg"));
        assert_eq!(row("a")["thumbnail_url"], Value::Null);
        assert_eq!(views("a"), json!(7));
        assert_eq!(views("e"), Value::Null, "Twitch does not know it");
        assert_eq!(views("c"), Value::Null, "not confirmed: not asked");
    }
    let asked = clipper_testkit::helix::requests_to(&h, "/helix/clips").await;
    let ids: Vec<String> = asked[0]
        .url
        .query_pairs()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert!(
        ids.contains(&"Clipd".to_owned()) && !ids.contains(&"Clipc".to_owned()),
        "{ids:?}"
    );
    h.verify().await;
}

#[tokio::test]
async fn downloads_without_the_scope_or_a_token_say_why() {
    // A token with clips:edit only.
    let (_h, helix) = helix_for_downloads("plain", &["clips:edit"], 0).await;
    let d = Dash::start_with(None, move |app, dir| {
        app.with_downloads(Arc::new(dashboard::downloads::HelixDownloads::saving(
            helix,
            dir.join("downloads"),
        )))
    })
    .await;
    let now = clipper_functions::clock::now_ms();
    let mut r = record(
        STREAMER,
        "d",
        ClipStatus::Confirmed,
        TriggerKind::Velocity,
        now,
        0.8,
    );
    r.broadcaster_id = Some("b-streamer".into());
    d.clips.put(&r).await.unwrap();
    let admin = d.login(ADMIN).await;
    let r = d
        .write(
            reqwest::Method::POST,
            "/api/clips/d/download",
            Some(&admin),
            Some(&d.url),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("lacks the editor:manage:clips"),
        "{body}"
    );
    assert!(!d.dir.path().join("downloads").exists());

    // No user token at all (no downloader wired): the page is told so.
    let d = Dash::start(None).await;
    let mut r = record(
        STREAMER,
        "d",
        ClipStatus::Confirmed,
        TriggerKind::Velocity,
        now,
        0.8,
    );
    r.broadcaster_id = Some("b-streamer".into());
    d.clips.put(&r).await.unwrap();
    let admin = d.login(ADMIN).await;
    let r = d
        .write(
            reqwest::Method::POST,
            "/api/clips/d/download",
            Some(&admin),
            Some(&d.url),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("user token"),
        "{body}"
    );
}

#[tokio::test]
async fn clips_as_json_and_csv_with_filters() {
    let d = Dash::start(None).await;
    let admin = d.login(ADMIN).await;
    let streamer = d.login(STREAMER).await;
    let all: Vec<Value> = d
        .get("/api/clips", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    for k in [
        "request_id",
        "channel",
        "status",
        "url",
        "title",
        "score",
        "trigger",
        "trigger_ms",
        "peak_ms",
        "created_at_ms",
    ] {
        assert!(all[0].get(k).is_some(), "no {k}: {}", all[0]);
    }
    assert_eq!(all[0]["trigger"], "velocity");
    let failed: Vec<Value> = d
        .get("/api/clips?status=failed", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["channel"], OTHER);
    let own: Vec<Value> = d
        .get("/api/clips", Some(&streamer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own.len(), 2);
    assert!(own.iter().all(|c| c["channel"] == STREAMER));
    let recent: Vec<Value> = d
        .get("/api/clips?since=0.75m", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(
        d.get("/api/clips?since=whenever", Some(&admin))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    // CSV: exactly what `clipper clips export` writes.
    let r = d
        .get(
            &format!("/api/clips?format=csv&channel={STREAMER}"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let mut expected = Vec::new();
    clipper_relay::admin::export_clips(
        &*d.clips,
        Some(STREAMER),
        None,
        clipper_relay::admin::Format::Csv,
        &mut expected,
    )
    .await
    .unwrap();
    assert_eq!(csv, String::from_utf8(expected).unwrap());
    assert_eq!(csv.lines().count(), 3);
}

/// Reads the SSE body until `want` shows up (or the timeout).
async fn read_until(
    resp: &mut reqwest::Response,
    seen: &mut String,
    want: &str,
    timeout: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while !seen.contains(want) {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn events_stream_delivers_windows_and_clips_of_visible_channels() {
    let d = Dash::start(None).await;
    let streamer = d.login(STREAMER).await;
    let mut r = d.get("/api/events", Some(&streamer)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut seen = String::new();
    assert!(read_until(&mut r, &mut seen, "connected", Duration::from_secs(5)).await);
    let window = |channel: &str, score: f64| DashEvent::Window {
        channel: channel.into(),
        end_ms: 1_000,
        messages: 12,
        msgs_per_min: 144.0,
        score: Some(score),
        threshold: Some(0.6),
    };
    d.events.publish(window(OTHER, 0.11));
    d.events.publish(window(STREAMER, 0.42));
    d.clips
        .put(&record(
            STREAMER,
            "z",
            ClipStatus::Pending,
            TriggerKind::Combined,
            5,
            0.8,
        ))
        .await
        .unwrap();
    let publishing = dashboard::PublishingClipStore::new(d.clips.clone(), d.events.clone());
    publishing
        .put(&record(
            STREAMER,
            "y",
            ClipStatus::Confirmed,
            TriggerKind::Combined,
            6,
            0.8,
        ))
        .await
        .unwrap();
    assert!(
        read_until(
            &mut r,
            &mut seen,
            "\"request_id\":\"y\"",
            Duration::from_secs(5)
        )
        .await,
        "{seen}"
    );
    assert!(
        seen.contains("\"type\":\"window\"") && seen.contains("0.42"),
        "{seen}"
    );
    assert!(
        !seen.contains(OTHER),
        "another channel's event leaked: {seen}"
    );
    // The board behind the overview.
    let list: Value = d
        .get("/api/channels", Some(&streamer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["live_state"]["last_score"], 0.42);
}

// ---- the whole run: loopback IRC, the driver, the dashboard ----

const LIVE: &str = "livechan";
const ADDED: &str = "addedchan";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct LiveRun {
    /// [`SERIAL_RUNS`], held for the whole run.
    _serial: tokio::sync::MutexGuard<'static, ()>,
    irc: Arc<LoopbackIrc>,
    url: String,
    dir: tempfile::TempDir,
    oauth: MockServer,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<clipper_relay::Result<clipper_relay::live::run::RunSummary>>,
}

async fn live_run(seed: &[ClipRecord]) -> LiveRun {
    let serial = SERIAL_RUNS.lock().await;
    let irc = Arc::new(LoopbackIrc::start().await.unwrap());
    let oauth = oauth_mock(&[OWNER, ADMIN]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(JsonChannelStore::new(dir.path().join("channels.json")));
    store.put(&ChannelConfig::new(LIVE)).await.unwrap();
    let clips = JsonlClipStore::open(dir.path().join("recordings")).unwrap();
    for r in seed {
        clips.put(r).await.unwrap();
    }
    let mut cfg = RunConfig::new(vec![]);
    cfg.irc = irc.endpoint();
    cfg.chat.new_connection_every = Duration::ZERO;
    cfg.driver.models_dir = Some(dir.path().join("models"));
    cfg.recordings_dir = dir.path().join("recordings");
    cfg.token_file = dir.path().join("tokens.json");
    // Only the channel store's own poll would notice a change in an hour: the dashboard's
    // PUT must make it re-read at once.
    cfg.channels_every = Duration::from_secs(3600);
    cfg.credentials = TwitchCredentials::default();
    let unused: url::Url = format!("{}/none", oauth.uri()).parse().unwrap();
    cfg.emote_providers.seventv = unused.clone();
    cfg.emote_providers.bttv = unused.clone();
    cfg.emote_providers.ffz = unused;
    let port = free_port();
    let mut dash = DashboardConfig::new(format!("127.0.0.1:{port}").parse().unwrap()).unwrap();
    dash.oauth_base = format!("{}/oauth2", oauth.uri()).parse().unwrap();
    dash.client_id = "cid".into();
    dash.client_secret = Some(Secret::new("csecret"));
    dash.admins = vec![ADMIN.into()];
    dash.token_file = Some(cfg.token_file.clone());
    cfg.dashboard = Some(dash);
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(run_with::<clipper_functions::local::LocalWindowQueue, _>(
        cfg,
        None,
        Some(store),
        async move {
            let _ = rx.await;
        },
    ));
    let url = format!("http://127.0.0.1:{port}");
    let http = client();
    for _ in 0..100 {
        if http.get(format!("{url}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    LiveRun {
        _serial: serial,
        irc,
        url,
        dir,
        oauth,
        stop,
        handle,
    }
}

/// Sends a few seconds of chat to `channel` in the background until `stop` flips.
/// With `burst`: once that file exists (the browser test creates it when the live page
/// listens), a moderator's `!testclip` and a burst of laughter follow.
fn chatter(
    irc: &Arc<LoopbackIrc>,
    channel: &'static str,
    stop: Arc<std::sync::atomic::AtomicBool>,
    burst: Option<PathBuf>,
) -> impl std::future::Future<Output = ()> {
    let irc = irc.clone();
    async move {
        let mut i = 0u64;
        let mut burst = burst;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if burst.as_ref().is_some_and(|b| b.exists()) {
                burst = None;
                let m = Chatter {
                    login: "mod1",
                    user_id: "900",
                    badges: "moderator/1",
                };
                let now = clipper_functions::clock::now_ms();
                irc.send(channel, &privmsg(channel, &m, "!testclip", now, 100_000));
                for k in 0..40u64 {
                    let who = Chatter {
                        login: &format!("b{k}"),
                        user_id: &format!("5{k}"),
                        badges: "",
                    };
                    irc.send(
                        channel,
                        &privmsg(channel, &who, "KEKW LMAO KEKW", now, 200_000 + k),
                    );
                }
            }
            let who = Chatter {
                login: &format!("v{}", i % 17),
                user_id: &format!("{}", i % 17),
                badges: "",
            };
            irc.send(
                channel,
                &privmsg(
                    channel,
                    &who,
                    if i % 3 == 0 {
                        "KEKW KEKW"
                    } else {
                        "hello there"
                    },
                    clipper_functions::clock::now_ms(),
                    i,
                ),
            );
            i += 1;
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipper_run_serves_the_dashboard_joins_at_once_and_streams_windows() {
    let run = live_run(&[]).await;
    assert!(run.irc.wait_joined(&[LIVE], Duration::from_secs(10)).await);
    let d = Dash {
        url: run.url.clone(),
        dir: tempfile::tempdir().unwrap(),
        oauth: MockServer::start().await,
        events: Events::new(),
        clips: Arc::new(JsonlClipStore::open(run.dir.path().join("r2")).unwrap()),
        changed: Arc::new(Notify::new()),
        http: client(),
    };
    let admin = d.login(ADMIN).await;
    let origin = run.url.clone();
    // Added from the dashboard: saved and joined at once (the store's own poll is an hour).
    let r = d
        .write(
            reqwest::Method::PUT,
            &format!("/api/channels/{ADDED}"),
            Some(&admin),
            Some(&origin),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(
        run.irc.wait_joined(&[ADDED], Duration::from_secs(5)).await,
        "not joined at once"
    );
    let saved: Vec<ChannelConfig> =
        serde_json::from_slice(&std::fs::read(run.dir.path().join("channels.json")).unwrap())
            .unwrap();
    assert!(saved.iter().any(|c| c.channel == ADDED));
    // Chat becomes scored windows on the event stream.
    let mut sse = d.get("/api/events", Some(&admin)).await;
    let mut seen = String::new();
    assert!(read_until(&mut sse, &mut seen, "connected", Duration::from_secs(5)).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let chat = tokio::spawn(chatter(&run.irc, LIVE, stop.clone(), None));
    let ok = read_until(
        &mut sse,
        &mut seen,
        &format!("\"channel\":\"{LIVE}\""),
        Duration::from_secs(15),
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = chat.await;
    assert!(ok, "no window event: {seen}");
    assert!(
        seen.contains("\"type\":\"window\"") && seen.contains("\"score\""),
        "{seen}"
    );
    let _ = run.oauth.received_requests().await;
    let _ = run.stop.send(());
    let summary = run.handle.await.unwrap().unwrap();
    assert_eq!(summary.dashboard.as_deref(), Some(run.url.as_str()));
}

/// The browser test (`infra/dashboard-tests/run.mjs`, playwright-core driving Debian's
/// Chromium) against a whole `clipper run` with a scripted chat. Skipped when Chromium, Node or
/// the npm packages are missing, unless `CLIPPER_BROWSER_TESTS=1` (CI) makes that a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/dashboard-tests");
    let required = std::env::var("CLIPPER_BROWSER_TESTS").is_ok_and(|v| v == "1");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing = [
        (!std::path::Path::new(&chromium).exists())
            .then_some("chromium (apt-get install chromium)"),
        (!root.join("node_modules/playwright-core").exists())
            .then_some("npm packages (npm ci in infra/dashboard-tests)"),
        std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_err()
            .then_some("node"),
    ];
    let missing: Vec<&str> = missing.into_iter().flatten().collect();
    if !missing.is_empty() {
        assert!(!required, "browser test required but missing: {missing:?}");
        eprintln!("browser test skipped: missing {missing:?}");
        return;
    }
    // Clips for the clips and analytics pages (written before the run opens its store).
    let now = clipper_functions::clock::now_ms();
    let seed = [
        record(
            LIVE,
            "b1",
            ClipStatus::Confirmed,
            TriggerKind::Laughter,
            now - 86_400_000,
            0.8,
        ),
        record(
            LIVE,
            "b2",
            ClipStatus::Failed,
            TriggerKind::Velocity,
            now - 3_600_000,
            0.7,
        ),
    ];
    let run = live_run(&seed).await;
    assert!(run.irc.wait_joined(&[LIVE], Duration::from_secs(10)).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let out = run.dir.path().join("shots");
    let chat = tokio::spawn(chatter(
        &run.irc,
        LIVE,
        stop.clone(),
        Some(out.join("burst.now")),
    ));
    let url = run.url.clone();
    let root2 = root.clone();
    let oauth = run.oauth.uri();
    let result = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(root2.join("run.mjs"))
            .env("DASH_URL", &url)
            .env("OAUTH_URL", format!("{oauth}/oauth2"))
            .env("LOGIN", ADMIN)
            .env("CHANNEL", LIVE)
            .env("CHROMIUM", &chromium)
            .env("SHOTS", &out)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = chat.await;
    let _ = run.stop.send(());
    let _ = run.handle.await;
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    let keep = root.join("output");
    let _ = std::fs::create_dir_all(&keep);
    if let Ok(entries) = std::fs::read_dir(run.dir.path().join("shots")) {
        for e in entries.flatten() {
            let _ = std::fs::copy(e.path(), keep.join(e.file_name()));
        }
    }
    assert!(
        result.status.success(),
        "browser test failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn run_help_lists_the_dashboard_flags() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clipper"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--dashboard <ADDR>",
        "127.0.0.1:8080",
        "--no-dashboard",
        "--public-url <URL>",
        "--admin <LOGIN>",
    ] {
        assert!(help.contains(flag), "no {flag} in:\n{help}");
    }
}
