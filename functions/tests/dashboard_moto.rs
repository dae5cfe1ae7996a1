//! The dashboard function against moto_server (DynamoDB channels, clips and sessions tables;
//! Secrets Manager for the client secret and the user token) and wiremock as Twitch's OAuth
//! server, driven exactly as Lambda drives it: a Function URL event (the committed fixture
//! `fixtures/function_url_event.json`, API Gateway v2 payload) through `lambda_http`'s adapter,
//! the answer read as the JSON the runtime returns. Skips without `CLIPPER_TEST_AWS_ENDPOINT`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use clipper_functions::aws::{AwsConfig, DynamoChannelStore, DynamoClipStore, DynamoTimeline};
use clipper_functions::dashboard::export::{write_clips, Format};
use clipper_functions::dashboard::function::{function_app, FunctionSettings};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore, Timeline, WindowPoint};
use clipper_models::{Scores, TriggerKind};
use clipper_testkit::moto;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Context, LambdaEvent};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORIGIN: &str = "https://abcdefghijklmnopqrstuvwxyz0123.lambda-url.us-east-1.on.aws";
const CLIENT_SECRET: &str = "client-secret-9f8e7d6c5b4a";
const OWNER: &str = "clipperbot";
const STREAMER: &str = "streamer1";
const OTHER: &str = "otherchan";

/// Twitch's OAuth server: `code-{login}` exchanges to `tok-{login}`, which validates as `login`.
async fn oauth_mock(logins: &[&str]) -> MockServer {
    let s = MockServer::start().await;
    for login in logins {
        Mock::given(method("POST"))
            .and(path("/oauth2/token"))
            .and(body_string_contains("grant_type=authorization_code"))
            .and(body_string_contains(format!("code=code-{login}&")))
            .and(body_string_contains(format!("client_secret={CLIENT_SECRET}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("tok-{login}-a1b2c3"), "refresh_token": format!("ref-{login}-d4e5f6"),
                "expires_in": 14000, "scope": ["clips:edit", "editor:manage:clips"], "token_type": "bearer"
            })))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/oauth2/validate"))
            .and(header(
                "authorization",
                format!("OAuth tok-{login}-a1b2c3").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "client_id": "cid", "login": login, "user_id": format!("id-{login}"),
                "scopes": ["clips:edit", "editor:manage:clips"], "expires_in": 14000
            })))
            .mount(&s)
            .await;
    }
    // App token (client credentials, with the secret from Secrets Manager) and Get Clips:
    // views of the one confirmed clip, fetched once however often the clips are listed.
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(format!(
            "client_secret={CLIENT_SECRET}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "app-tok-0a1b2c", "expires_in": 5000000, "token_type": "bearer"
        })))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/clips"))
        .and(query_param("id", "Clipa"))
        .and(header("authorization", "Bearer app-tok-0a1b2c"))
        .and(header("client-id", "cid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "Clipa", "url": "https://clips.twitch.tv/Clipa", "title": "title a",
                      "view_count": 1234, "created_at": "2026-11-28T01:00:00Z"}],
            "pagination": {}
        })))
        .mount(&s)
        .await;
    s
}

fn record(channel: &str, id: &str, status: ClipStatus, t: i64, score: f64) -> ClipRecord {
    ClipRecord {
        request_id: id.into(),
        channel: channel.into(),
        broadcaster_id: None,
        trigger_ms: t,
        peak_ms: t + 1000,
        created_at_ms: Some(t + 7000),
        kind: TriggerKind::Velocity,
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

/// The dashboard function's resources on moto and its router behind `lambda_http`.
struct Fn {
    aws: AwsConfig,
    settings: FunctionSettings,
    router: axum::Router,
    oauth: MockServer,
    /// Everything answered so far (status, headers, body; not the cookies set), for the
    /// no-secrets check.
    seen: std::sync::Mutex<String>,
    cold: Duration,
}

/// A Function URL answer as the runtime returns it.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Value,
    cookies: Vec<String>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(Value::as_str)
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    /// `name=value` of the cookie `name` this answer sets (not a removal).
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")) && !c.starts_with(&format!("{name}=;")))
            .map(|c| c.split(';').next().unwrap().to_owned())
    }
}

impl Fn {
    async fn start(test: &str) -> Option<Fn> {
        let aws = moto::aws(test).await?;
        let channels_table = moto::unique("dash-channels");
        let clips_table = moto::unique("dash-clips");
        let sessions_table = moto::unique("dash-sessions");
        moto::table(&aws, &channels_table, "channel").await;
        moto::clips_table(&aws, &clips_table).await;
        moto::table(&aws, &sessions_table, "session").await;
        let timeline_table = moto::unique("dash-timeline");
        moto::timeline_table(&aws, &timeline_table).await;
        let lease_table = moto::unique("dash-lease");
        moto::table(&aws, &lease_table, "lease").await;
        let client_secret_id = moto::unique("dash-client-secret");
        aws.secrets
            .create_secret()
            .name(&client_secret_id)
            .secret_string(CLIENT_SECRET)
            .send()
            .await
            .unwrap();
        let token_secret = moto::unique("dash-user-token");
        aws.secrets
            .create_secret()
            .name(&token_secret)
            .secret_string("{}")
            .send()
            .await
            .unwrap();
        let oauth = oauth_mock(&[OWNER, STREAMER, "stranger"]).await;
        let settings = FunctionSettings {
            client_id: "cid".into(),
            client_secret_id: Some(client_secret_id),
            channels_table,
            clips_table,
            sessions_table,
            token_secret: Some(token_secret),
            lease_table: Some(lease_table),
            timeline_table: Some(timeline_table),
            owner: Some(OWNER.into()),
            admins: vec![],
            public_url: None,
            oauth_base: Some(format!("{}/oauth2", oauth.uri()).parse().unwrap()),
            // Helix on the same mock: Get Clips is not mocked here, so views stay unknown.
            helix_base: Some(format!("{}/helix", oauth.uri()).parse().unwrap()),
        };
        let channels = DynamoChannelStore::new(aws.dynamodb.clone(), &settings.channels_table);
        for c in [STREAMER, OTHER] {
            channels.put(&ChannelConfig::new(c)).await.unwrap();
        }
        let clips = DynamoClipStore::new(aws.dynamodb.clone(), &settings.clips_table);
        let now = clipper_functions::clock::now_ms();
        for r in [
            record(STREAMER, "a", ClipStatus::Confirmed, now - 60_000, 0.9),
            record(OTHER, "b", ClipStatus::Failed, now - 50_000, 0.7),
            record(
                STREAMER,
                "c",
                ClipStatus::WouldClip,
                now - 2 * 3_600_000,
                0.5,
            ),
        ] {
            clips.put(&r).await.unwrap();
        }
        // Cold path: what the binary does before its first answer (one GetSecretValue, the
        // clients), then that first answer.
        let t0 = Instant::now();
        let app = function_app(&aws, &settings).await.unwrap();
        let router = Arc::new(app).router();
        let mut f = Fn {
            aws,
            settings,
            router,
            oauth,
            seen: Default::default(),
            cold: Duration::ZERO,
        };
        let r = f.call("GET", "/healthz", &[], &[], None).await;
        f.cold = t0.elapsed();
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        Some(f)
    }

    /// One invocation: the fixture with this method, path, cookies, headers and body, through
    /// `lambda_http`'s adapter; the answer's JSON as the runtime would send it back.
    async fn call(
        &self,
        verb: &str,
        path_and_query: &str,
        cookies: &[&str],
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut e: Value =
            serde_json::from_str(include_str!("fixtures/function_url_event.json")).unwrap();
        let (p, q) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        e["rawPath"] = p.into();
        e["rawQueryString"] = q.into();
        e["requestContext"]["http"]["method"] = verb.into();
        e["requestContext"]["http"]["path"] = p.into();
        if !cookies.is_empty() {
            e["cookies"] = cookies.iter().map(|c| Value::from(*c)).collect();
        }
        for (k, v) in headers {
            e["headers"][k.to_ascii_lowercase()] = (*v).into();
        }
        if let Some(b) = body {
            e["body"] = b.into();
            e["headers"]["content-type"] = "application/json".into();
        }
        let request: LambdaRequest = serde_json::from_value(e).unwrap();
        let adapter = lambda_http::Adapter::from(self.router.clone());
        let response = adapter
            .oneshot(LambdaEvent::new(request, Context::default()))
            .await
            .unwrap();
        let v = serde_json::to_value(&response).unwrap();
        let answer = Answer {
            status: v["statusCode"].as_u64().unwrap() as u16,
            headers: v["headers"].clone(),
            cookies: v["cookies"]
                .as_array()
                .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default(),
            body: v["body"].as_str().unwrap_or_default().to_owned(),
        };
        assert_ne!(
            v["isBase64Encoded"],
            json!(true),
            "{path_and_query}: text answers stay text"
        );
        // Everything but the cookies it sets (the session cookie carries its id, by design).
        let mut shown = v.clone();
        shown["cookies"] = Value::Null;
        self.seen.lock().unwrap().push_str(&shown.to_string());
        answer
    }

    /// Logs `login` in through the function and the OAuth mock; its session cookie pair.
    async fn login(&self, login: &str) -> String {
        let r = self.call("GET", "/login", &[], &[], None).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let loc: url::Url = r.header("location").unwrap().parse().unwrap();
        let q = |k: &str| {
            loc.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        assert_eq!(q("redirect_uri"), format!("{ORIGIN}/auth/callback"));
        assert!(q("scope").split(' ').any(|s| s == "clips:edit"));
        let attempt = r.cookie("clipper_login").expect("login cookie");
        let set = r
            .cookies
            .iter()
            .find(|c| c.starts_with("clipper_login="))
            .unwrap();
        for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(set.contains(flag), "{set} lacks {flag}");
        }
        let r = self
            .call(
                "GET",
                &format!("/auth/callback?code=code-{login}&state={}", q("state")),
                &[&attempt],
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let set = r
            .cookies
            .iter()
            .find(|c| c.starts_with("clipper_session="))
            .expect("session cookie")
            .clone();
        for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Max-Age="] {
            assert!(set.contains(flag), "{set} lacks {flag}");
        }
        r.cookie("clipper_session").unwrap()
    }

    async fn session_items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        self.aws
            .dynamodb
            .scan()
            .table_name(&self.settings.sessions_table)
            .send()
            .await
            .unwrap()
            .items()
            .to_vec()
    }
}

/// Everything logged by this test binary, for the no-secrets check.
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<&'static std::sync::Mutex<Vec<u8>>> =
        std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: &'static std::sync::Mutex<Vec<u8>> =
            Box::leak(Box::new(std::sync::Mutex::new(Vec::new())));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,aws_smithy_runtime=info,aws_smithy_runtime_api=info,aws_config=info,hyper_util=info,h2=info,rustls=info",
            ))
            .with_writer(move || LogWriter(buf))
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
async fn function_url_healthz_and_everything_else_needs_a_session() {
    let Some(f) = Fn::start("function_url_healthz_and_everything_else_needs_a_session").await
    else {
        return;
    };
    for p in [
        "/api/channels",
        "/api/clips",
        "/api/clips?format=csv",
        "/api/events",
        "/api/me",
    ] {
        let r = f.call("GET", p, &[], &[], None).await;
        assert_eq!(r.status, 401, "{p}: {}", r.body);
        assert_eq!(r.json()["error"], "log in first: /login");
    }
    // A made-up session id is no session.
    let r = f
        .call("GET", "/api/channels", &["clipper_session=00ff"], &[], None)
        .await;
    assert_eq!(r.status, 401);
    let r = f
        .call(
            "PUT",
            "/api/channels/x",
            &[],
            &[("origin", ORIGIN)],
            Some("{}"),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = f.call("GET", "/", &[], &[], None).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let r = f.call("GET", "/assets/app.js", &[], &[], None).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-security-policy").is_some());
    println!(
        "dashboard function cold path (function_app: GetSecretValue + clients, then the first \
         answer through lambda_http; moto on loopback): {:.1} ms",
        f.cold.as_secs_f64() * 1000.0
    );
}

#[tokio::test]
async fn login_keeps_the_session_in_dynamodb_and_saves_the_owners_token() {
    captured_logs();
    let Some(f) = Fn::start("login_keeps_the_session_in_dynamodb_and_saves_the_owners_token").await
    else {
        return;
    };
    // A forged state: 400, and no session.
    let r = f.call("GET", "/login", &[], &[], None).await;
    let attempt = r.cookie("clipper_login").unwrap();
    let r = f
        .call(
            "GET",
            "/auth/callback?code=code-clipperbot&state=forged",
            &[&attempt],
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.cookie("clipper_session").is_none());
    assert!(
        f.session_items().await.is_empty(),
        "attempt used up, nothing opened"
    );

    let session = f.login(OWNER).await;
    let id = session.split_once('=').unwrap().1.to_owned();
    let items = f.session_items().await;
    assert_eq!(items.len(), 1, "one session item (the attempt was used up)");
    let item = &items[0];
    let key = item["session"].as_s().unwrap();
    assert!(
        key.starts_with("session:") && !key.contains(&id),
        "stored under a hash: {key}"
    );
    let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let now_s = clipper_functions::clock::now_ms() / 1000;
    assert!(
        (now_s + 6 * 86_400..=now_s + 8 * 86_400).contains(&expires),
        "TTL attribute a week ahead"
    );
    // The owner's log-in put its token pair in the user token secret.
    let stored = f
        .aws
        .secrets
        .get_secret_value()
        .secret_id(f.settings.token_secret.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    let tokens: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(tokens["access_token"], "tok-clipperbot-a1b2c3");

    let r = f.call("GET", "/api/me", &[&session], &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["login"], OWNER);
    assert_eq!(r.json()["admin"], true);
    let r = f.call("GET", "/", &[&session], &[], None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("clipperbot (admin)"));

    // Logout needs the page's origin; then the session is gone from the table.
    let r = f
        .call(
            "POST",
            "/logout",
            &[&session],
            &[("origin", "https://evil.example")],
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    let r = f
        .call("POST", "/logout", &[&session], &[("origin", ORIGIN)], None)
        .await;
    assert_eq!(r.status, 200);
    assert!(f.session_items().await.is_empty());
    let r = f.call("GET", "/api/me", &[&session], &[], None).await;
    assert_eq!(r.status, 401);

    // No secret or token reached an answer or a log line.
    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    let seen = f.seen.lock().unwrap().clone();
    assert!(logs.contains("logged in"), "the log-in was logged");
    for secret in [
        CLIENT_SECRET,
        "tok-clipperbot-a1b2c3",
        "ref-clipperbot-d4e5f6",
        &id,
    ] {
        assert!(!seen.contains(secret), "{secret} in an answer");
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
}

#[tokio::test]
async fn channels_and_clips_from_the_tables() {
    let Some(f) = Fn::start("channels_and_clips_from_the_tables").await else {
        return;
    };
    let admin = f.login(OWNER).await;
    let t = Instant::now();
    let r = f.call("GET", "/api/channels", &[&admin], &[], None).await;
    let warm = t.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, [OTHER, STREAMER]);
    let streamer = r.json().as_array().unwrap()[1].clone();
    assert!(streamer["clips_today"].as_u64().is_some());
    assert!(streamer["live_state"].is_object());

    // PUT adds a channel to the table (same origin only).
    let r = f
        .call(
            "PUT",
            "/api/channels/NewChan",
            &[&admin],
            &[("origin", "https://evil.example")],
            Some(r#"{"threshold":0.8}"#),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = f
        .call(
            "PUT",
            "/api/channels/NewChan",
            &[&admin],
            &[("origin", ORIGIN)],
            Some(r#"{"threshold":0.8,"cooldown_ms":90000}"#),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let table = DynamoChannelStore::new(f.aws.dynamodb.clone(), &f.settings.channels_table);
    let saved = table
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.channel == "newchan")
        .expect("in the channels table");
    assert_eq!(
        (saved.threshold, saved.cooldown_ms),
        (Some(0.8), Some(90_000))
    );
    let r = f
        .call(
            "PUT",
            "/api/channels/newchan",
            &[&admin],
            &[("origin", ORIGIN)],
            Some(r#"{"enabled":false}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = f
        .call(
            "DELETE",
            "/api/channels/newchan",
            &[&admin],
            &[("origin", ORIGIN)],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(!table
        .list()
        .await
        .unwrap()
        .iter()
        .any(|c| c.channel == "newchan"));

    // Clips from the clips table, filtered; CSV = the rows of `clipper clips export`.
    let r = f.call("GET", "/api/clips", &[&admin], &[], None).await;
    assert_eq!(r.status, 200);
    let ids: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["request_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["c", "a", "b"], "oldest first");
    let r = f
        .call(
            "GET",
            "/api/clips?channel=streamer1&status=confirmed",
            &[&admin],
            &[],
            None,
        )
        .await;
    let rows = r.json();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["url"], "https://clips.twitch.tv/Clipa");
    assert_eq!(rows[0]["trigger"], "velocity");
    assert_eq!(rows[0]["views"], 1234, "views from Get Clips");
    let r = f.call("GET", "/api/clips", &[&admin], &[], None).await;
    let views: Vec<Value> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["views"].clone())
        .collect();
    assert_eq!(
        views,
        [Value::Null, json!(1234), Value::Null],
        "only confirmed clips have views"
    );
    let helix_calls = f
        .oauth
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/helix/clips")
        .count();
    assert_eq!(helix_calls, 1, "cached: one Get Clips for three listings");
    let r = f
        .call(
            "GET",
            "/api/clips?format=csv&since=1h",
            &[&admin],
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let store = DynamoClipStore::new(f.aws.dynamodb.clone(), &f.settings.clips_table);
    let since = clipper_functions::clock::now_ms() - 3_600_000;
    let mut expected = Vec::new();
    let rows = clipper_functions::dashboard::export::clip_rows(&store, None, Some(since))
        .await
        .unwrap();
    write_clips(&rows, Format::Csv, &mut expected).unwrap();
    assert_eq!(r.body, String::from_utf8(expected).unwrap());
    assert_eq!(
        r.body.lines().count(),
        3,
        "header and the two clips of the last hour"
    );

    // The live view polls: `/api/events` answers at once with a retry delay and recent clips.
    let r = f.call("GET", "/api/events", &[&admin], &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert!(r.body.contains("retry: 5000\n"), "{}", r.body);
    let events: Vec<Value> = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        events.len(),
        2,
        "the clips of the last 15 minutes: {}",
        r.body
    );
    assert!(events.iter().all(|e| e["type"] == "clip"));

    // A streamer sees their own channel only; a stranger gets 403.
    let own = f.login(STREAMER).await;
    let r = f.call("GET", "/api/channels", &[&own], &[], None).await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = f
        .call("GET", "/api/clips?format=csv", &[&own], &[], None)
        .await;
    assert!(!r.body.contains(OTHER));
    let r = f.call("GET", "/api/events", &[&own], &[], None).await;
    assert_eq!(r.body.matches("data: ").count(), 1);
    let r = f
        .call(
            "PUT",
            "/api/channels/otherchan",
            &[&own],
            &[("origin", ORIGIN)],
            Some("{}"),
        )
        .await;
    assert_eq!(r.status, 403);
    let stranger = f.login("stranger").await;
    let r = f
        .call("GET", "/api/channels", &[&stranger], &[], None)
        .await;
    assert_eq!(r.status, 403);
    println!(
        "dashboard function warm GET /api/channels (session GetItem, channels Scan, clips of \
         today; moto on loopback): {:.1} ms",
        warm.as_secs_f64() * 1000.0
    );
}

#[tokio::test]
async fn timeline_from_the_table_and_downloads_as_links() {
    let Some(f) = Fn::start("timeline_from_the_table_and_downloads_as_links").await else {
        return;
    };
    // What the score function writes: two minutes of windows of each channel.
    let timeline = DynamoTimeline::new(
        f.aws.dynamodb.clone(),
        f.settings.timeline_table.as_deref().unwrap(),
    );
    let now = clipper_functions::clock::now_ms();
    let mut points = Vec::new();
    for (ch, base) in [(STREAMER, 100.0), (OTHER, 10.0)] {
        for i in 0..24i64 {
            points.push(WindowPoint {
                channel: ch.into(),
                end_ms: now - 120_000 + i * 5_000,
                messages: 10,
                msgs_per_min: base + i as f64,
                score: Some(0.01 * i as f64),
                threshold: Some(0.6),
                live: Some(true),
                viewers: Some(4321),
            });
        }
    }
    timeline.record(&points).await.unwrap();

    let admin = f.login(OWNER).await;
    // History of a channel, oldest first.
    let r = f
        .call(
            "GET",
            "/api/channels/streamer1/windows",
            &[&admin],
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let w = r.json();
    let w = w.as_array().unwrap();
    assert_eq!(w.len(), 24);
    assert_eq!(w[0]["type"], "window");
    assert_eq!(w[0]["msgs_per_min"], 100.0);
    assert_eq!(w[23]["msgs_per_min"], 123.0);
    assert!(w
        .windows(2)
        .all(|p| p[0]["end_ms"].as_i64() < p[1]["end_ms"].as_i64()));
    // The overview's live state comes from the last window.
    let r = f.call("GET", "/api/channels", &[&admin], &[], None).await;
    let chans = r.json();
    let s = chans
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == STREAMER)
        .unwrap()["live_state"]
        .clone();
    assert_eq!(s["msgs_per_min"], 123.0);
    assert_eq!(s["last_score"], 0.23);
    assert_eq!(s["threshold"], 0.6);
    assert_eq!(s["viewers"], 4321);
    assert_eq!(s["live"], true);
    // A poll: the windows after Last-Event-ID, each with its end as the id.
    let after = now - 120_000 + 19 * 5_000;
    let r = f
        .call(
            "GET",
            "/api/events?channel=streamer1",
            &[&admin],
            &[("last-event-id", &after.to_string())],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let ids: Vec<i64> = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(
        ids,
        (20..24)
            .map(|i| now - 120_000 + i * 5_000)
            .collect::<Vec<_>>()
    );
    // Another user's channel: refused.
    let streamer = f.login(STREAMER).await;
    let r = f
        .call(
            "GET",
            "/api/channels/otherchan/windows",
            &[&streamer],
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 403);

    // Downloads with the clipper's token (saved to the token secret by the owner's log-in):
    // the function answers with Twitch's link.
    Mock::given(method("GET"))
        .and(path("/helix/clips/downloads"))
        .and(query_param("editor_id", "id-clipperbot"))
        .and(query_param("broadcaster_id", "id-streamer1"))
        .and(query_param("clip_id", "Clipd"))
        .and(header("authorization", "Bearer tok-clipperbot-a1b2c3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "clip_id": "Clipd",
            "landscape_download_url": "https://production.assets.clips.twitchcdn.net/Clipd.mp4?sig=x",
            "portrait_download_url": null
        }]})))
        .expect(1)
        .mount(&f.oauth)
        .await;
    let mut d = record(STREAMER, "d", ClipStatus::Confirmed, now - 30_000, 0.8);
    d.broadcaster_id = Some("id-streamer1".into());
    DynamoClipStore::new(f.aws.dynamodb.clone(), &f.settings.clips_table)
        .put(&d)
        .await
        .unwrap();
    let r = f
        .call(
            "POST",
            "/api/clips/d/download",
            &[&admin],
            &[("origin", ORIGIN)],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(
        j["url"],
        "https://production.assets.clips.twitchcdn.net/Clipd.mp4?sig=x"
    );
    assert!(j.get("saved").is_none(), "nothing saved in the function");
    let r = f
        .call(
            "POST",
            "/api/clips/b/download",
            &[&admin],
            &[("origin", ORIGIN)],
            None,
        )
        .await;
    assert_eq!(r.status, 409, "a failed clip: {}", r.body);
    f.oauth.verify().await;
    let seen = f.seen.lock().unwrap().clone();
    for secret in [
        CLIENT_SECRET,
        "tok-clipperbot-a1b2c3",
        "ref-clipperbot-d4e5f6",
    ] {
        assert!(!seen.contains(secret), "{secret} in an answer");
    }
}
