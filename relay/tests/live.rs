//! End to end against real protocol peers on loopback: a Twitch-dialect IRC server
//! ([`LoopbackIrc`]) and a wiremock HTTP server standing in for Helix, OAuth, 7TV, BTTV and FFZ.
//! Real time (the clip delay is the real 7 s), so these tests take seconds each; they share
//! the process-wide IRC address, so they run one at a time.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clipper_functions::twitch::auth::{Secret, TwitchCredentials};
use clipper_relay::live::run::{run, RunConfig, RunSummary};
use clipper_testkit::loopback::{privmsg, room_id, Chatter, LoopbackIrc, SERIAL_RUNS};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Answers with `template`, remembering when each request came.
#[derive(Clone)]
struct Timed {
    at: Arc<Mutex<Vec<i64>>>,
    template: ResponseTemplate,
}

impl Respond for Timed {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.at.lock().unwrap().push(now_ms());
        self.template.clone()
    }
}

const CHANNEL: &str = "hypechan";

async fn twitch_http() -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "app-token", "expires_in": 3600, "token_type": "bearer"}),
        ))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/oauth2/validate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "client_id": "cid", "login": "clipperbot", "user_id": "42",
            "scopes": ["clips:edit"], "expires_in": 3600
        })))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/streams"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "user_id": room_id(CHANNEL), "user_login": CHANNEL, "viewer_count": 800,
            "started_at": "2026-11-25T10:00:00Z", "title": "t", "game_name": "g"
        }], "pagination": {}})))
        .mount(&s)
        .await;
    for p in ["/helix/chat/emotes/global", "/helix/chat/emotes"] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"data": [{"id": "1", "name": "PogChamp"}]})),
            )
            .mount(&s)
            .await;
    }
    // Get Clips by broadcaster (the clip lookup after a lost Create Clip answer): none listed.
    Mock::given(method("GET"))
        .and(path("/helix/clips"))
        .and(query_param("broadcaster_id", room_id(CHANNEL)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/clips"))
        .and(query_param("id", "ClipOne"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": "ClipOne", "url": "https://clips.twitch.tv/ClipOne", "title": "KEKW",
            "created_at": "2026-11-25T10:00:00Z", "broadcaster_id": room_id(CHANNEL), "duration": 30.0
        }]})))
        .mount(&s)
        .await;
    // Third-party emotes: 7TV answers garbage; BTTV and FFZ answer real shapes.
    Mock::given(method("GET"))
        .and(path("/7tv/v3/emote-sets/global"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/bttv/3/cached/emotes/global"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": "a", "code": "catJAM"}])),
        )
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/ffz/v1/set/global"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"default_sets": [3], "sets": {"3": {"emoticons": [{"name": "LilZ"}]}}}),
        ))
        .mount(&s)
        .await;
    s
}

fn created() -> ResponseTemplate {
    ResponseTemplate::new(202).set_body_json(json!({"data": [{
        "id": "ClipOne", "edit_url": "https://clips.twitch.tv/ClipOne/edit"
    }]}))
}

struct Env {
    irc: LoopbackIrc,
    http: MockServer,
    dir: tempfile::TempDir,
}

impl Env {
    /// Requests the clipper sent to `/helix/clips`: Create Clip (POST) only, or also Get Clips.
    async fn clip_calls(&self, post_only: bool) -> usize {
        self.http
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/helix/clips")
            .filter(|r| !post_only || r.method.as_str() == "POST")
            .count()
    }

    async fn new() -> Env {
        Env {
            irc: LoopbackIrc::start().await.unwrap(),
            http: twitch_http().await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self, with_token: bool) -> RunConfig {
        let base = self.http.uri();
        let mut cfg = RunConfig::new(vec![CHANNEL.to_owned()]);
        cfg.irc = self.irc.endpoint();
        cfg.chat.new_connection_every = Duration::ZERO;
        cfg.driver.models_dir = Some(self.dir.path().join("models"));
        cfg.driver.status_every = Duration::from_secs(2);
        cfg.recordings_dir = self.dir.path().join("recordings");
        cfg.token_file = self.dir.path().join("tokens.json");
        cfg.credentials = TwitchCredentials {
            client_id: "cid".into(),
            client_secret: Some(Secret::new("csecret")),
            access_token: with_token.then(|| Secret::new("user-token-1")),
            refresh_token: with_token.then(|| Secret::new("refresh-1")),
        };
        cfg.helix.helix_base = format!("{base}/helix").parse().unwrap();
        cfg.helix.oauth_base = format!("{base}/oauth2").parse().unwrap();
        cfg.emote_providers.seventv = format!("{base}/7tv").parse().unwrap();
        cfg.emote_providers.bttv = format!("{base}/bttv").parse().unwrap();
        cfg.emote_providers.ffz = format!("{base}/ffz").parse().unwrap();
        cfg.clip_flow.confirm_backoff =
            vec![Duration::from_millis(300), Duration::from_millis(600)];
        cfg.clip_flow.retry_base = Duration::from_millis(300);
        cfg
    }

    fn records(&self) -> Vec<Value> {
        let p = self.dir.path().join("recordings/clips.jsonl");
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn clip_urls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("recordings/clip_urls.txt"))
            .unwrap_or_default()
    }

    /// Latest record per request id.
    fn final_records(&self) -> Vec<Value> {
        let mut by: Vec<(String, Value)> = Vec::new();
        for r in self.records() {
            let id = r["request_id"].as_str().unwrap().to_owned();
            by.retain(|(k, _)| *k != id);
            by.push((id, r));
        }
        by.into_iter().map(|(_, v)| v).collect()
    }
}

/// A model of `CHANNEL` that has seen 20 minutes of calm chat at 4 messages a second, as a
/// previous run would have saved it (the baseline needs a minute of history before z-scores
/// count, so a fresh model could not judge a burst inside a short test).
fn seed_model(dir: &std::path::Path) {
    use clipper_models::{ChannelDetector, ChatMessage, DetectorConfig, Training};
    let mut d = ChannelDetector::new(CHANNEL, DetectorConfig::default(), None, Training::Inline);
    let mut out = Vec::new();
    let start = now_ms() - 30 * 60 * 1000;
    for i in 0..(20 * 60 * 4) {
        let m = ChatMessage::plain(
            CHANNEL,
            &format!("calm{}", i % 9),
            CALM[i as usize % 6],
            start + i * 250,
        );
        d.on_message(&m, &mut out);
        out.clear();
    }
    d.finish(&mut out);
    clipper_functions::local::DirModelStore::new(dir)
        .save_now(&d.snapshot())
        .unwrap();
}

/// Starts `run` in the background; returns the stop switch and the join handle.
fn start(cfg: RunConfig) -> (oneshot::Sender<()>, tokio::task::JoinHandle<RunSummary>) {
    let (tx, rx) = oneshot::channel::<()>();
    let h = tokio::spawn(async move {
        run(cfg, async {
            let _ = rx.await;
        })
        .await
        .unwrap()
    });
    (tx, h)
}

async fn wait_for(mut f: impl FnMut() -> bool, timeout: Duration) -> bool {
    let end = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f()
}

const CALM: [&str; 6] = ["hello", "what game is this", "nice", "ok", "gg", "hmm"];
const HYPE: [&str; 5] = [
    "KEKW KEKW KEKW",
    "LMAOOOO",
    "CLIP IT",
    "clip that KEKW",
    "ㅋㅋㅋㅋㅋㅋ",
];

/// Calm chat for `calm_s` seconds, then a burst of laughter and clip calls for `burst_s`.
async fn chat_burst(irc: &LoopbackIrc, calm_s: u64, burst_s: u64) {
    let mut id = 0;
    for tick in 0..(calm_s * 4) {
        id += 1;
        let login = format!("calm{}", tick % 9);
        let who = Chatter {
            login: &login,
            user_id: &format!("{}", 1000 + tick % 9),
            badges: "",
        };
        irc.send(
            CHANNEL,
            &privmsg(CHANNEL, &who, CALM[(tick % 6) as usize], now_ms(), id),
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for tick in 0..(burst_s * 10) {
        for k in 0..6 {
            id += 1;
            let login = format!("fan{}_{k}", tick % 40);
            let uid = format!("{}", 5000 + tick * 10 + k);
            let who = Chatter {
                login: &login,
                user_id: &uid,
                badges: "",
            };
            irc.send(
                CHANNEL,
                &privmsg(CHANNEL, &who, HYPE[((tick + k) % 5) as usize], now_ms(), id),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_burst_makes_exactly_one_confirmed_clip_after_the_delay() {
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    let creates = Timed {
        at: Arc::default(),
        template: created(),
    };
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .and(query_param("broadcaster_id", room_id(CHANNEL)))
        .respond_with(creates.clone())
        .mount(&env.http)
        .await;
    seed_model(&env.dir.path().join("models"));
    let (stop, handle) = start(env.config(true));
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await,
        "never joined"
    );
    chat_burst(&env.irc, 6, 4).await;
    let confirmed = wait_for(
        || {
            env.final_records()
                .iter()
                .any(|r| r["status"] == "confirmed")
        },
        Duration::from_secs(20),
    )
    .await;
    // Quiet a little longer: a second clip for the same moment would show up now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop.send(());
    let summary = handle.await.unwrap();
    assert!(
        confirmed,
        "no confirmed clip; records: {:#?}",
        env.records()
    );
    let calls = creates.at.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "Create Clip calls: {calls:?}");
    let finals = env.final_records();
    assert_eq!(finals.len(), 1, "{finals:#?}");
    let r = &finals[0];
    assert_eq!(r["url"], "https://clips.twitch.tv/ClipOne");
    assert_eq!(r["broadcaster_id"], room_id(CHANNEL));
    assert!(!r["title"].as_str().unwrap().is_empty());
    let trigger_ms = r["trigger_ms"].as_i64().unwrap();
    assert!(
        calls[0] - trigger_ms >= 7_000,
        "created {} ms after the trigger",
        calls[0] - trigger_ms
    );
    assert!(
        calls[0] - trigger_ms < 9_000,
        "created {} ms after the trigger",
        calls[0] - trigger_ms
    );
    assert!(
        env.clip_urls().contains("https://clips.twitch.tv/ClipOne"),
        "{}",
        env.clip_urls()
    );
    assert_eq!(summary.stats.clips, 1);
    assert!(summary.mode.contains("clipperbot"), "{}", summary.mode);
    assert!(env
        .dir
        .path()
        .join("models")
        .join(format!("{CHANNEL}.clipper-model.json"))
        .exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testclip_from_a_moderator_clips_and_from_a_viewer_does_not() {
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    let creates = Timed {
        at: Arc::default(),
        template: created(),
    };
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .respond_with(creates.clone())
        .mount(&env.http)
        .await;
    let (stop, handle) = start(env.config(true));
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await
    );
    let viewer = Chatter {
        login: "randomviewer",
        user_id: "77",
        badges: "subscriber/3",
    };
    env.irc.send(
        CHANNEL,
        &privmsg(CHANNEL, &viewer, "!testclip", now_ms(), 1),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let moderator = Chatter {
        login: "modperson",
        user_id: "78",
        badges: "moderator/1",
    };
    let sent = now_ms();
    env.irc
        .send(CHANNEL, &privmsg(CHANNEL, &moderator, "!testclip", sent, 2));
    let ok = wait_for(
        || {
            env.final_records()
                .iter()
                .any(|r| r["status"] == "confirmed")
        },
        Duration::from_secs(15),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = stop.send(());
    let summary = handle.await.unwrap();
    assert!(ok, "{:#?}", env.records());
    let calls = creates.at.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert!(calls[0] - sent >= 7_000);
    let finals = env.final_records();
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0]["forced_by"], "modperson");
    assert_eq!(finals[0]["kind"], "forced");
    assert_eq!(summary.stats.ignored_testclips, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refreshed_and_429_and_5xx_are_retried() {
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    // Old token: 401. After the refresh: 429 (reset in 1 s), then 503, then 202.
    let creates = Timed {
        at: Arc::default(),
        template: created(),
    };
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer user-token-1",
        ))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}),
        ))
        .mount(&env.http)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "user-token-2", "refresh_token": "refresh-2",
            "expires_in": 14000, "scope": ["clips:edit"], "token_type": "bearer"
        })))
        .expect(1)
        .mount(&env.http)
        .await;
    let reset = (now_ms() / 1000 + 2).to_string();
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer user-token-2",
        ))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Ratelimit-Reset", reset.as_str())
                .set_body_json(json!({"error": "Too Many Requests", "status": 429, "message": ""})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&env.http)
        .await;
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer user-token-2",
        ))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&env.http)
        .await;
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer user-token-2",
        ))
        .respond_with(creates.clone())
        .with_priority(3)
        .mount(&env.http)
        .await;
    let (stop, handle) = start(env.config(true));
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await
    );
    let moderator = Chatter {
        login: CHANNEL,
        user_id: "1",
        badges: "broadcaster/1",
    };
    env.irc.send(
        CHANNEL,
        &privmsg(CHANNEL, &moderator, "!testclip", now_ms(), 1),
    );
    let ok = wait_for(
        || {
            env.final_records()
                .iter()
                .any(|r| r["status"] == "confirmed")
        },
        Duration::from_secs(25),
    )
    .await;
    let _ = stop.send(());
    handle.await.unwrap();
    assert!(ok, "{:#?}", env.records());
    assert_eq!(creates.at.lock().unwrap().len(), 1);
    let tokens = std::fs::read_to_string(env.dir.path().join("tokens.json")).unwrap();
    assert!(
        tokens.contains("refresh-2"),
        "rotated refresh token not persisted"
    );
    let finals = env.final_records();
    assert_eq!(finals.len(), 1);
    assert!(
        finals[0]["attempts"].as_u64().unwrap() >= 2,
        "{:#?}",
        finals[0]
    );
    let all: Vec<Value> = env
        .http
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/helix/clips" && r.method.as_str() == "POST")
        .map(|r| json!(r.url.as_str()))
        .collect();
    assert_eq!(all.len(), 4, "401, 429, 503, 202: {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_it_records_would_clip() {
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    let (stop, handle) = start(env.config(false));
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await
    );
    let moderator = Chatter {
        login: "m",
        user_id: "2",
        badges: "moderator/1",
    };
    env.irc.send(
        CHANNEL,
        &privmsg(CHANNEL, &moderator, "!testclip", now_ms(), 1),
    );
    let ok = wait_for(|| !env.final_records().is_empty(), Duration::from_secs(12)).await;
    let _ = stop.send(());
    let summary = handle.await.unwrap();
    assert!(ok);
    assert_eq!(env.final_records()[0]["status"], "would_clip");
    assert!(summary.mode.starts_with("dry run"), "{}", summary.mode);
    let posts = env.clip_calls(false).await;
    assert_eq!(posts, 0);
    assert!(!env.clip_urls().is_empty());
}

fn kill(pid: u32, signal: &str) {
    let st = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// The `clipper` binary against the loopback peers: SIGTERM saves models and flushes records,
/// a restart loads the models, and a 7TV answer of garbage only costs a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_saves_models_and_records_and_restart_loads_them() {
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    let base = env.http.uri();
    let dir = env.dir.path();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_clipper"))
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .args(["run", "--channels", CHANNEL, "--irc-addr"])
            .arg(format!("irc://{}", env.irc.addr()))
            .args([
                "--seventv-url",
                &format!("{base}/7tv"),
                "--bttv-url",
                &format!("{base}/bttv"),
                "--ffz-url",
                &format!("{base}/ffz"),
            ])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = spawn();
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(20))
            .await
    );
    for i in 0..30 {
        let who = Chatter {
            login: &format!("v{i}"),
            user_id: &format!("{i}"),
            badges: "",
        };
        env.irc
            .send(CHANNEL, &privmsg(CHANNEL, &who, "hello there", now_ms(), i));
    }
    let m = Chatter {
        login: "mod1",
        user_id: "900",
        badges: "moderator/1",
    };
    env.irc
        .send(CHANNEL, &privmsg(CHANNEL, &m, "!testclip", now_ms(), 99));
    let ok = wait_for(|| !env.final_records().is_empty(), Duration::from_secs(15)).await;
    kill(child.id(), "-TERM");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(ok, "no record; stderr:\n{err}");
    assert!(
        out.status.success(),
        "exit {:?}; stderr:\n{err}",
        out.status
    );
    assert!(err.contains("dry run: no TWITCH_ACCESS_TOKEN"), "{err}");
    assert!(err.contains("models saved at shutdown"), "{err}");
    assert!(err.contains("7tv"), "no 7TV warning: {err}");
    assert!(dir
        .join("models")
        .join(format!("{CHANNEL}.clipper-model.json"))
        .exists());
    assert_eq!(env.final_records()[0]["status"], "would_clip");
    assert!(env.clip_urls().contains(CHANNEL));

    let child = spawn();
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(20))
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(child.id(), "-TERM");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("model loaded"),
        "restart did not load the model: {err}"
    );
}

/// `clipper record` writes what the server sent, and replay reads it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_writes_raw_lines_that_replay_reads() {
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    clipper_relay::live::transport::set_endpoint(env.irc.endpoint());
    let opts = clipper_relay::live::chat::ChatOptions::default();
    let (rx, client) = clipper_relay::live::chat::connect(&opts);
    let (_keep, wanted) = tokio::sync::watch::channel(vec![CHANNEL.to_owned()]);
    tokio::spawn(clipper_relay::live::chat::run_joiner(
        client.clone(),
        opts,
        wanted,
    ));
    let out = env.dir.path().join("rec");
    let (tx, stop) = oneshot::channel::<()>();
    let out2 = out.clone();
    let h = tokio::spawn(async move {
        clipper_relay::live::record::record(rx, &out2, async {
            let _ = stop.await;
        })
        .await
        .unwrap()
    });
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await
    );
    for i in 0..20 {
        let who = Chatter {
            login: &format!("u{i}"),
            user_id: &format!("{i}"),
            badges: "",
        };
        env.irc.send(
            CHANNEL,
            &privmsg(CHANNEL, &who, &format!("message {i} KEKW"), now_ms(), i),
        );
    }
    let path = clipper_relay::live::record::record_path(&out, CHANNEL);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = tx.send(());
    let stats = h.await.unwrap();
    assert!(stats.lines >= 20, "{stats:?}");
    let mut reader = clipper_relay::input::ChatReader::open(&path, CHANNEL).unwrap();
    let msgs: Vec<_> = reader.by_ref().collect();
    assert_eq!(msgs.len(), 20);
    assert_eq!(msgs[7].text, "message 7 KEKW");
    assert_eq!(reader.stats().malformed, 0);
}

/// A 403 from Create Clip (clipping disabled) pauses the channel: the next moment is recorded as
/// skipped without another call. A channel Helix reports offline is not clipped at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_pauses_the_channel_and_offline_channels_are_not_clipped() {
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": "Forbidden", "status": 403, "message": "Clipping is disabled for this channel"})))
        .mount(&env.http)
        .await;
    let mut cfg = env.config(true);
    cfg.driver.detector.decision.cooldown_ms = 1_000;
    let (stop, handle) = start(cfg);
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await
    );
    let m = Chatter {
        login: "mod1",
        user_id: "5",
        badges: "moderator/1",
    };
    env.irc
        .send(CHANNEL, &privmsg(CHANNEL, &m, "!testclip", now_ms(), 1));
    assert!(
        wait_for(
            || env.final_records().iter().any(|r| r["status"] == "failed"),
            Duration::from_secs(12)
        )
        .await,
        "{:#?}",
        env.records()
    );
    env.irc
        .send(CHANNEL, &privmsg(CHANNEL, &m, "!testclip", now_ms(), 2));
    assert!(
        wait_for(
            || env.final_records().iter().any(|r| r["status"] == "skipped"),
            Duration::from_secs(12)
        )
        .await,
        "{:#?}",
        env.records()
    );
    let _ = stop.send(());
    handle.await.unwrap();
    let posts = env.clip_calls(true).await;
    assert_eq!(posts, 1, "a paused channel must not be clipped again");
    let skipped: Vec<Value> = env
        .final_records()
        .into_iter()
        .filter(|r| r["status"] == "skipped")
        .collect();
    assert!(
        skipped[0]["error"].as_str().unwrap().contains("paused"),
        "{skipped:?}"
    );

    // Offline: Get Streams does not list the channel.
    let env = Env::new().await;
    Mock::given(method("GET"))
        .and(path("/helix/streams"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [], "pagination": {}})),
        )
        .with_priority(1)
        .mount(&env.http)
        .await;
    let (stop, handle) = start(env.config(true));
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.irc
        .send(CHANNEL, &privmsg(CHANNEL, &m, "!testclip", now_ms(), 1));
    assert!(wait_for(|| !env.final_records().is_empty(), Duration::from_secs(12)).await);
    let _ = stop.send(());
    handle.await.unwrap();
    let r = &env.final_records()[0];
    assert_eq!(r["status"], "skipped", "{r:#}");
    assert_eq!(r["error"], "channel offline");
    let posts = env.clip_calls(true).await;
    assert_eq!(posts, 0);
}

/// Every file and directory under `dir`, relative, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// Forward mode (the serverless relay): windows go to the queue, an allowed `!testclip` goes out
/// at once in a window of its own with `forced_by`, and nothing is clipped or written: models,
/// recordings and token file all point below a plain file, where no directory can be created
/// (root included), and the old fallback in the temp dir does not appear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_mode_forwards_windows_and_a_prompt_testclip_and_writes_nothing() {
    use clipper_functions::local::{JsonChannelStore, LocalWindowQueue};
    use clipper_relay::live::run::run_with;
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .respond_with(created())
        .mount(&env.http)
        .await;
    let blocker = env.dir.path().join("read-only");
    std::fs::write(&blocker, "not a directory").unwrap();
    let mut cfg = env.config(true);
    cfg.driver.models_dir = Some(blocker.join("models"));
    cfg.recordings_dir = blocker.join("recordings");
    cfg.token_file = blocker.join("tokens.json");
    cfg.driver.autosave_every = Duration::from_millis(300);
    cfg.forward.linger = Duration::from_millis(100);
    let old_fallback = std::env::temp_dir().join("clipper-relay-recordings");
    // A leftover of an older build, if empty, is nobody's data.
    let _ = std::fs::remove_dir(&old_fallback);
    let fallback_existed = old_fallback.exists();
    let before = tree(env.dir.path());

    let (queue, mut batches) = LocalWindowQueue::new(1_000);
    let got: Arc<Mutex<Vec<(i64, clipper_models::WindowEnvelope)>>> = Arc::default();
    let sink = got.clone();
    tokio::spawn(async move {
        while let Some(b) = batches.recv().await {
            let t = now_ms();
            sink.lock()
                .unwrap()
                .extend(b.windows.into_iter().map(|w| (t, w)));
        }
    });
    let (stop, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(run_with::<LocalWindowQueue, JsonChannelStore>(
        cfg,
        Some(Arc::new(queue)),
        None,
        async {
            let _ = rx.await;
        },
    ));
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await
    );
    for i in 0..10 {
        let who = Chatter {
            login: &format!("v{i}"),
            user_id: &format!("{}", 100 + i),
            badges: "",
        };
        env.irc
            .send(CHANNEL, &privmsg(CHANNEL, &who, "KEKW KEKW", now_ms(), i));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let with_chat = |got: &[(i64, clipper_models::WindowEnvelope)]| {
        got.iter()
            .any(|(_, w)| w.channel == CHANNEL && w.features.messages > 0)
    };
    assert!(
        wait_for(|| with_chat(&got.lock().unwrap()), Duration::from_secs(8)).await,
        "no window forwarded"
    );
    // Right after a window closed, the next one closes ~5 s later: a prompt testclip beats it.
    let viewer = Chatter {
        login: "randomviewer",
        user_id: "77",
        badges: "",
    };
    env.irc.send(
        CHANNEL,
        &privmsg(CHANNEL, &viewer, "!testclip", now_ms(), 50),
    );
    let moderator = Chatter {
        login: "modperson",
        user_id: "78",
        badges: "moderator/1",
    };
    let sent = now_ms();
    env.irc.send(
        CHANNEL,
        &privmsg(CHANNEL, &moderator, "!testclip", sent, 51),
    );
    let forced = || {
        got.lock()
            .unwrap()
            .iter()
            .find(|(_, w)| w.forced_by.is_some())
            .cloned()
    };
    assert!(wait_for(|| forced().is_some(), Duration::from_secs(8)).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let _ = stop.send(());
    let summary = handle.await.unwrap().unwrap();

    let (at, env_forced) = forced().unwrap();
    assert_eq!(env_forced.forced_by.as_deref(), Some("modperson"));
    assert_eq!(env_forced.channel, CHANNEL);
    assert_eq!(env_forced.broadcaster_id, Some(room_id(CHANNEL)));
    assert!(
        at - sent < 2_000,
        "testclip forwarded {} ms after it was sent",
        at - sent
    );
    let all = got.lock().unwrap().clone();
    assert_eq!(
        all.iter().filter(|(_, w)| w.forced_by.is_some()).count(),
        1,
        "{all:#?}"
    );
    let fwd = summary.forwarded.unwrap();
    assert_eq!(fwd.windows as usize, all.len());
    assert!(summary.mode.starts_with("forwarding"), "{}", summary.mode);
    assert_eq!(summary.stats.clips, 0);
    assert_eq!(summary.stats.triggers, 0);
    assert_eq!(summary.stats.models_saved, 0);
    assert_eq!(summary.stats.ignored_testclips, 1);
    assert_eq!(summary.clips_finished, 0);
    let posts = env.clip_calls(false).await;
    assert_eq!(posts, 0);
    assert_eq!(tree(env.dir.path()), before, "forward mode wrote files");
    if !fallback_existed {
        assert!(!old_fallback.exists(), "{} created", old_fallback.display());
    }
}

/// Get Streams follows the channel set of the channels file: a channel added while running is
/// asked for, one removed is not asked for any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_polls_follow_the_channels_file() {
    use clipper_functions::local::{JsonChannelStore, LocalWindowQueue};
    use clipper_relay::live::run::run_with;
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    let file = env.dir.path().join("channels.json");
    let write = |names: &[&str]| {
        let v: Vec<Value> = names.iter().map(|n| json!({ "channel": n })).collect();
        std::fs::write(&file, serde_json::to_vec(&v).unwrap()).unwrap();
    };
    write(&["alpha", "beta"]);
    let mut cfg = env.config(false);
    cfg.channels = Vec::new();
    cfg.channels_every = Duration::from_millis(300);
    cfg.viewers_every = Duration::from_millis(300);
    let store = Arc::new(JsonChannelStore::new(file.clone()));
    let (stop, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(run_with::<LocalWindowQueue, JsonChannelStore>(
        cfg,
        None,
        Some(store),
        async {
            let _ = rx.await;
        },
    ));
    assert!(
        env.irc
            .wait_joined(&["alpha", "beta"], Duration::from_secs(10))
            .await
    );
    // Logins of each Get Streams request, in order.
    let asked = || async {
        env.http
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/helix/streams")
            .map(|r| {
                let mut v: Vec<String> = r
                    .url
                    .query_pairs()
                    .filter(|(k, _)| k == "user_login")
                    .map(|(_, v)| v.into_owned())
                    .collect();
                v.sort();
                v
            })
            .collect::<Vec<_>>()
    };
    let wait_asked = |channel: &'static str| {
        let asked = &asked;
        async move {
            let end = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let polls = asked().await;
                if polls.iter().any(|l| l.iter().any(|c| c == channel))
                    || tokio::time::Instant::now() > end
                {
                    return polls;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let first = wait_asked("beta").await;
    assert!(
        first.iter().any(|l| *l == ["alpha", "beta"]),
        "start set not asked for: {first:?}"
    );
    write(&["alpha", "gamma"]);
    wait_asked("gamma").await;
    // A few more rounds: the removed channel must not come back.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let polls = asked().await;
    let joined_gamma = env
        .irc
        .wait_joined(&["gamma"], Duration::from_secs(1))
        .await;
    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    assert!(joined_gamma);
    let since = polls
        .iter()
        .position(|l| l.contains(&"gamma".into()))
        .unwrap_or_else(|| panic!("added channel never asked for: {polls:?}"));
    assert!(polls.len() - since >= 2, "{polls:?}");
    for l in &polls[since..] {
        assert_eq!(*l, ["alpha", "gamma"], "{polls:?}");
    }
}

/// Drill: a stop 1–6 s after a `!testclip` (inside the 7 s delay), then a restart. Before the
/// fix the pending clip was dropped at the stop. Every moment must end with exactly one clip
/// (one Create Clip call, a confirmed record), whether the stop was graceful (the worker makes
/// the due clip within the drain) or abrupt (the task aborted, like `kill -9`: the restart
/// resumes the clip from its record). `CLIPPER_DRILL_RUNS` sets the rounds (default 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_inside_the_clip_delay_loses_no_clip_and_makes_none_twice() {
    let _g = SERIAL_RUNS.lock().await;
    let rounds: u64 = std::env::var("CLIPPER_DRILL_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let (mut graceful_ok, mut abrupt_ok) = (0, 0);
    for round in 0..rounds {
        let abrupt = round % 2 == 1;
        let stop_after = Duration::from_millis(1_000 + (round * 1_700) % 5_000);
        let env = Env::new().await;
        let creates = Timed {
            at: Arc::default(),
            template: created(),
        };
        Mock::given(method("POST"))
            .and(path("/helix/clips"))
            .respond_with(creates.clone())
            .mount(&env.http)
            .await;
        let (stop, handle) = start(env.config(true));
        assert!(
            env.irc
                .wait_joined(&[CHANNEL], Duration::from_secs(10))
                .await
        );
        let m = Chatter {
            login: "modperson",
            user_id: "78",
            badges: "moderator/1",
        };
        env.irc
            .send(CHANNEL, &privmsg(CHANNEL, &m, "!testclip", now_ms(), 1));
        tokio::time::sleep(stop_after).await;
        if abrupt {
            handle.abort();
            let _ = handle.await;
            drop(stop);
        } else {
            let _ = stop.send(());
            handle.await.unwrap();
        }
        let before = creates.at.lock().unwrap().len();
        // Restart on the same directory.
        let (stop, handle) = start(env.config(true));
        let ok = wait_for(
            || {
                env.final_records()
                    .iter()
                    .any(|r| r["status"] == "confirmed")
            },
            Duration::from_secs(20),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = stop.send(());
        handle.await.unwrap();
        let calls = creates.at.lock().unwrap().len();
        let finals = env.final_records();
        assert!(
            ok,
            "round {round} (abrupt {abrupt}, stop after {stop_after:?}): {finals:#?}"
        );
        assert_eq!(
            calls, 1,
            "round {round}: Create Clip calls (before restart {before})"
        );
        assert_eq!(finals.len(), 1, "{finals:#?}");
        if abrupt {
            abrupt_ok += 1;
        } else {
            assert_eq!(before, 1, "a graceful stop makes the due clip itself");
            graceful_ok += 1;
        }
    }
    println!(
        "drill: {graceful_ok} graceful stops and {abrupt_ok} aborts inside the clip delay, \
         each ended with exactly one confirmed clip"
    );
}

/// The process drill: the real `clipper` binary, stopped by a real signal 1–6 s after a chat
/// burst and a `!testclip` (inside the 7 s clip delay), then restarted on the same directory.
/// `SIGTERM` rounds (`CLIPPER_DRILL_TERM`, default 1) and `SIGKILL` rounds
/// (`CLIPPER_DRILL_KILL`, default 1) alternate. Every round must end with exactly one Create
/// Clip call and one confirmed record, and a restart must load any model file the stopped
/// process left (a `kill -9` during a save must not leave a torn one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_inside_the_clip_delay_lose_no_clip_and_make_none_twice() {
    let _g = SERIAL_RUNS.lock().await;
    let count = |k: &str| -> u64 {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
    };
    let (terms, kills) = (count("CLIPPER_DRILL_TERM"), count("CLIPPER_DRILL_KILL"));
    let mut plan: Vec<&str> = Vec::new();
    for i in 0..terms.max(kills) {
        if i < terms {
            plan.push("-TERM");
        }
        if i < kills {
            plan.push("-KILL");
        }
    }
    let (mut ok_term, mut ok_kill, mut models_loaded) = (0, 0, 0);
    let began = std::time::Instant::now();
    for (round, signal) in plan.iter().enumerate() {
        let stop_after = Duration::from_millis(1_000 + (round as u64 * 1_300) % 5_000);
        let env = Env::new().await;
        let creates = Timed {
            at: Arc::default(),
            template: created(),
        };
        Mock::given(method("POST"))
            .and(path("/helix/clips"))
            .respond_with(creates.clone())
            .mount(&env.http)
            .await;
        seed_model(&env.dir.path().join("models"));
        let base = env.http.uri();
        let dir = env.dir.path().to_path_buf();
        let irc_addr = env.irc.addr();
        let spawn = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_clipper"))
                .current_dir(&dir)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("RUST_LOG", "info")
                .args(["run", "--no-dashboard", "--channels", CHANNEL, "--irc-addr"])
                .arg(format!("irc://{irc_addr}"))
                .args(["--helix-url", &format!("{base}/helix")])
                .args(["--oauth-url", &format!("{base}/oauth2")])
                .args(["--seventv-url", &format!("{base}/7tv")])
                .args(["--bttv-url", &format!("{base}/bttv")])
                .args(["--ffz-url", &format!("{base}/ffz")])
                .args(["--client-id", "cid", "--client-secret", "csecret"])
                .args([
                    "--access-token",
                    "user-token-1",
                    "--refresh-token",
                    "refresh-1",
                ])
                .args(["--token-file", "tokens.json", "--confirm-backoff", "1,1"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let child = spawn();
        assert!(
            env.irc
                .wait_joined(&[CHANNEL], Duration::from_secs(20))
                .await,
            "round {round}: not joined"
        );
        for i in 0..40u64 {
            let who = Chatter {
                login: &format!("v{}", i % 23),
                user_id: &format!("{}", i % 23),
                badges: "",
            };
            env.irc.send(
                CHANNEL,
                &privmsg(CHANNEL, &who, "KEKW LUL no way", now_ms(), i),
            );
        }
        let m = Chatter {
            login: "modperson",
            user_id: "78",
            badges: "moderator/1",
        };
        env.irc
            .send(CHANNEL, &privmsg(CHANNEL, &m, "!testclip", now_ms(), 100));
        tokio::time::sleep(stop_after).await;
        kill(child.id(), signal);
        let first = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let had_model = dir
            .join("models")
            .join(format!("{CHANNEL}.clipper-model.json"))
            .exists();
        let child = spawn();
        let done = wait_for(
            || {
                env.final_records()
                    .iter()
                    .any(|r| r["status"] == "confirmed")
            },
            Duration::from_secs(30),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        kill(child.id(), "-TERM");
        let second = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&second.stderr).to_string();
        let finals = env.final_records();
        let calls = creates.at.lock().unwrap().len();
        assert!(
            done,
            "round {round} ({signal} after {stop_after:?}): no confirmed clip {finals:#?}\n{err}"
        );
        assert_eq!(calls, 1, "round {round} ({signal}): Create Clip calls");
        assert_eq!(finals.len(), 1, "round {round}: {finals:#?}");
        assert!(
            second.status.success(),
            "round {round}: restart exit\n{err}"
        );
        if had_model {
            assert!(
                err.contains("model loaded"),
                "round {round}: model not loaded\n{err}"
            );
            models_loaded += 1;
        }
        if *signal == "-TERM" {
            assert!(
                first.status.success(),
                "round {round}: SIGTERM exit {:?}",
                first.status
            );
            ok_term += 1;
        } else {
            ok_kill += 1;
        }
    }
    println!(
        "process drill: {ok_term} SIGTERM and {ok_kill} SIGKILL rounds 1–6 s after a burst and \
         !testclip, each then restarted: every round exactly one Create Clip call and one \
         confirmed clip; {models_loaded} restarts loaded the model left behind; {:.0} s",
        began.elapsed().as_secs_f64()
    );
}

/// Issue 13, end to end: a scripted chat burst on the loopback IRC server → one confirmed clip →
/// exactly one Discord post with its URL, although the first post is rate-limited (429 with
/// `Retry-After: 1`), and although the confirmed clip is alerted again afterwards (a redelivered
/// clip message / a restarted process over the same recordings directory). Prints the time
/// from confirmation (the Get Clips answer that found the clip) to the delivered post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_clip_is_posted_to_discord_exactly_once_despite_a_429_and_redelivery() {
    use clipper_functions::local::{JsonChannelStore, LocalWindowQueue};
    use clipper_functions::notify::{
        JsonlDeliveryLog, Notifier, NotifyConfig, NotifyTarget, Outcome,
    };
    use clipper_functions::record::ClipRecord;
    use clipper_relay::live::run::run_with;
    let _g = SERIAL_RUNS.lock().await;
    let env = Env::new().await;
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .respond_with(created())
        .mount(&env.http)
        .await;
    // Time every Get Clips answer (this mock wins over the generic one).
    let gets = Timed {
        at: Arc::default(),
        template: ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": "ClipOne", "url": "https://clips.twitch.tv/ClipOne", "title": "KEKW",
            "created_at": "2026-11-25T10:00:00Z", "broadcaster_id": room_id(CHANNEL), "duration": 30.0
        }]})),
    };
    Mock::given(method("GET"))
        .and(path("/helix/clips"))
        .respond_with(gets.clone())
        .with_priority(1)
        .mount(&env.http)
        .await;
    // The Discord receiver: 429 first (Retry-After 1 s), then 204.
    let discord = MockServer::start().await;
    let posts: Arc<Mutex<Vec<(i64, u16, Value)>>> = Arc::default();
    #[derive(Clone)]
    struct Hook(Arc<Mutex<Vec<(i64, u16, Value)>>>);
    impl Respond for Hook {
        fn respond(&self, r: &Request) -> ResponseTemplate {
            let mut v = self.0.lock().unwrap();
            let status = if v.is_empty() { 429 } else { 204 };
            v.push((now_ms(), status, serde_json::from_slice(&r.body).unwrap()));
            if status == 429 {
                ResponseTemplate::new(429)
                    .insert_header("Retry-After", "1")
                    .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 1.0, "global": false}))
            } else {
                ResponseTemplate::new(204)
            }
        }
    }
    Mock::given(method("POST"))
        .and(path("/api/webhooks/1/SECRETTOKEN"))
        .respond_with(Hook(posts.clone()))
        .mount(&discord)
        .await;
    let target = format!("discord:{}/api/webhooks/1/SECRETTOKEN", discord.uri());
    // The link back in chat is on for this channel: `clip: URL` through Send Chat Message.
    Mock::given(method("GET"))
        .and(path("/helix/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"id": room_id(CHANNEL), "login": CHANNEL}]})),
        )
        .mount(&env.http)
        .await;
    let chat_lines = Timed {
        at: Arc::default(),
        template: ResponseTemplate::new(200)
            .set_body_json(json!({"data": [{"message_id": "m1", "is_sent": true}]})),
    };
    Mock::given(method("POST"))
        .and(path("/helix/chat/messages"))
        .respond_with(chat_lines.clone())
        .mount(&env.http)
        .await;
    let file = env.dir.path().join("channels.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&json!([{ "channel": CHANNEL, "notify": [target], "chat_link": true }]))
            .unwrap(),
    )
    .unwrap();
    seed_model(&env.dir.path().join("models"));
    let mut cfg = env.config(true);
    cfg.notify = NotifyConfig {
        max_retry_after: Duration::from_secs(5),
        ..NotifyConfig::default()
    };
    let store = Arc::new(JsonChannelStore::new(file));
    let (stop, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(run_with::<LocalWindowQueue, JsonChannelStore>(
        cfg,
        None,
        Some(store),
        async {
            let _ = rx.await;
        },
    ));
    assert!(
        env.irc
            .wait_joined(&[CHANNEL], Duration::from_secs(10))
            .await,
        "never joined"
    );
    chat_burst(&env.irc, 6, 4).await;
    let delivered = wait_for(
        || posts.lock().unwrap().iter().any(|p| p.1 == 204),
        Duration::from_secs(25),
    )
    .await;
    // A second post would show up now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop.send(());
    let summary = handle.await.unwrap().unwrap();
    assert!(delivered, "no Discord post; records: {:#?}", env.records());
    let finals = env.final_records();
    assert_eq!(finals.len(), 1, "{finals:#?}");
    assert_eq!(finals[0]["status"], "confirmed");

    // Redelivery / restart: the same confirmed clip alerted again by a fresh notifier over the
    // same recordings directory.
    let record: ClipRecord = serde_json::from_value(finals[0].clone()).unwrap();
    let again = Notifier::new(
        JsonlDeliveryLog::open(env.dir.path().join("recordings")).unwrap(),
        NotifyConfig::default(),
    )
    .unwrap();
    let t = NotifyTarget::parse(&target).unwrap();
    for _ in 0..2 {
        let d = again.notify(&record, std::slice::from_ref(&t)).await;
        assert_eq!(d[0].outcome, Outcome::AlreadyDelivered);
    }

    let posts = posts.lock().unwrap().clone();
    let ok: Vec<_> = posts.iter().filter(|p| p.1 == 204).collect();
    assert_eq!(ok.len(), 1, "posts: {posts:?}");
    assert_eq!(posts.len(), 2, "one 429 then one post: {posts:?}");
    assert_eq!(ok[0].2["content"], "https://clips.twitch.tv/ClipOne");
    assert!(!ok[0].2.to_string().contains("/edit"));
    // Discord and the chat line.
    assert_eq!(summary.alerts_delivered, 2);
    let lines = clipper_testkit::helix::requests_to(&env.http, "/helix/chat/messages").await;
    assert_eq!(lines.len(), 1, "one chat line");
    let line: Value = serde_json::from_slice(&lines[0].body).unwrap();
    assert_eq!(
        line,
        json!({"broadcaster_id": room_id(CHANNEL), "sender_id": "42",
               "message": "clip: https://clips.twitch.tv/ClipOne"})
    );
    // Confirmation = the Get Clips answer that found the clip (the last one).
    let confirmed_at = *gets.at.lock().unwrap().last().unwrap();
    let first_try = posts[0].0 - confirmed_at;
    let latency = ok[0].0 - confirmed_at;
    assert!(first_try >= 0 && latency >= 1000, "{first_try} / {latency}");
    assert!(latency < 5000, "{latency} ms");
    let deliveries =
        std::fs::read_to_string(env.dir.path().join("recordings/deliveries.jsonl")).unwrap();
    assert!(!deliveries.contains("SECRETTOKEN"), "{deliveries}");
    let chat_latency = chat_lines.at.lock().unwrap()[0] - confirmed_at;
    println!(
        "e2e alert: Discord requests={} (429 then 204), posts delivered=1, redeliveries after=2 → 0 posts; \
         confirmation → first attempt {first_try} ms, → delivered post {latency} ms (Retry-After 1 s); \
         chat line `clip: URL` 1, {chat_latency} ms after confirmation",
        posts.len()
    );
}
