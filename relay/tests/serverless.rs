//! The serverless shape end to end with real peers on loopback: the loopback Twitch IRC server
//! feeds the relay (`run_with` + the SQS window sink, channels from the DynamoDB table) → SQS
//! on moto_server → score handler (models in S3, claims in DynamoDB) → delayed clip queue →
//! clip handler with the real Helix client against a wiremock Helix that answers the first
//! Create Clip with a 503 → DynamoDB clips table. The clip message is delivered twice; exactly
//! one clip must come out — and, from the clips table's stream through the notify handler,
//! exactly one Discord post with its URL (the first post answered 429, the stream batch handled
//! twice). A channel added to the table while the relay runs is joined without
//! a restart, and one disabled is left.
//!
//! Skips when `CLIPPER_TEST_AWS_ENDPOINT` is unset; `.ci/run` starts moto and sets it.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clipper_functions::aws::{DynamoDeliveryLog, SqsQueueConfig, SqsWindowQueue};
use clipper_functions::handlers::notify::{stream_batch, NotifyHandler};
use clipper_functions::local::MemoryTokenStore;
use clipper_functions::notify::{Notifier, NotifyConfig, NotifyTarget};
use clipper_functions::record::ClipStatus;
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore};
use clipper_functions::twitch::auth::{Secret, TwitchCredentials};
use clipper_functions::twitch::HelixClient;
use clipper_relay::live::run::{run_with, RunConfig};
use clipper_testkit::helix::{self, create_clip, error, found, get_clips};
use clipper_testkit::loopback::{privmsg, room_id, Chatter, LoopbackIrc, SERIAL_RUNS};
use clipper_testkit::stream::StreamReader;
use clipper_testkit::{esm, moto};
use wiremock::MockServer;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

const CH: &str = "hypechan";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_sqs_score_clip_dynamodb_with_a_duplicate_and_a_5xx() {
    let _serial = SERIAL_RUNS.lock().await;
    let Some(aws) = moto::aws("relay_sqs_score_clip_dynamodb_with_a_duplicate_and_a_5xx").await
    else {
        return;
    };
    let stack = moto::Stack::create(&aws, "relay").await;
    let channels = stack.channels();
    channels.put(&ChannelConfig::new(CH)).await.unwrap();

    // The relay: chat from the loopback server, windows to SQS, channels from the table.
    let irc = LoopbackIrc::start().await.unwrap();
    let mut cfg = RunConfig::new(Vec::new());
    cfg.irc = irc.endpoint();
    cfg.chat.new_connection_every = Duration::ZERO;
    cfg.driver.models_dir = None;
    cfg.recordings_dir = tempfile::tempdir().unwrap().keep();
    cfg.channels_every = Duration::from_millis(500);
    cfg.forward.relay_id = "test-relay".into();
    cfg.forward.linger = Duration::from_millis(300);
    let queue = Arc::new(SqsWindowQueue::start(
        aws.sqs.clone(),
        &stack.windows_url,
        SqsQueueConfig::default(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(run_with(
        cfg,
        Some(queue.clone()),
        Some(Arc::new(channels.clone())),
        async {
            let _ = stop_rx.await;
        },
    ));
    assert!(irc.wait_joined(&[CH], Duration::from_secs(10)).await);
    // A channel added and one disabled while the relay runs.
    channels
        .put(&ChannelConfig::new("latecomer"))
        .await
        .unwrap();
    assert!(
        irc.wait_joined(&["latecomer"], Duration::from_secs(10))
            .await,
        "added channel not joined without a restart"
    );
    let mut off = ChannelConfig::new("latecomer");
    off.enabled = false;
    channels.put(&off).await.unwrap();
    let t = Instant::now();
    while irc.joined().contains("latecomer") && t.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !irc.joined().contains("latecomer"),
        "disabled channel still joined"
    );

    for i in 0..40u64 {
        let who = Chatter {
            login: &format!("v{}", i % 13),
            user_id: &format!("{i}"),
            badges: "",
        };
        irc.send(CH, &privmsg(CH, &who, "KEKW that was close", now_ms(), i));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let m = Chatter {
        login: "the_mod",
        user_id: "900",
        badges: "moderator/1",
    };
    irc.send(CH, &privmsg(CH, &m, "!testclip", now_ms(), 1000));
    // Let the window holding the command close (5 s hop) and go out.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let _ = stop_tx.send(());
    let summary = relay.await.unwrap().unwrap();
    let fwd = summary.forwarded.unwrap();
    assert!(fwd.windows >= 1, "{fwd:?}");
    let q = Arc::into_inner(queue).expect("relay released the queue");
    assert_eq!(
        q.shutdown(Duration::from_secs(30)).await,
        0,
        "windows left unsent"
    );

    // Score function over what the relay sent.
    let score = stack.score_handler();
    let mut scored = 0;
    loop {
        let (n, failed) = esm::poll_once(&aws.sqs, &stack.windows_url, 0, 10, |event| {
            let score = &score;
            async move { score.handle(&event, now_ms()).await }
        })
        .await
        .unwrap();
        assert_eq!(failed, 0);
        if n == 0 {
            break;
        }
        scored += n;
    }
    assert_eq!(
        scored as u64, fwd.messages,
        "every relay message scored once"
    );

    // Clip function with the real Helix client; Twitch answers 503 first.
    let helix_srv = MockServer::start().await;
    create_clip()
        .respond_with(error(503, ""))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&helix_srv)
        .await;
    create_clip()
        .respond_with(helix::created("ServerlessClip"))
        .with_priority(2)
        .mount(&helix_srv)
        .await;
    get_clips()
        .respond_with(found("ServerlessClip", serde_json::json!({})))
        .mount(&helix_srv)
        .await;
    // The look-up after the 503 learns whose clips to adopt (the listed one is not ours).
    helix::mount_validate(&helix_srv, "u1").await;
    let creds = TwitchCredentials {
        client_id: helix::CLIENT_ID.into(),
        client_secret: None,
        access_token: Some(Secret::new("user-token")),
        refresh_token: Some(Secret::new("refresh")),
    };
    let config = helix::config(&helix_srv);
    let api = HelixClient::from_credentials(config, &creds, MemoryTokenStore::new(None))
        .await
        .unwrap();
    let clip = stack.clip_handler(Some(api));
    let store = stack.clip_store();
    let batches = stack
        .drain_clip_queue(|event| {
            let clip = &clip;
            async move { clip.handle(&event, now_ms(), "relay-e2e").await }
        })
        .await;
    assert!(batches > 0, "no clip request reached the clip queue");
    let records = store.list(None, None).await.unwrap();
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(r.channel, CH);
    assert_eq!(r.status, ClipStatus::Confirmed);
    assert_eq!(r.forced_by.as_deref(), Some("the_mod"));
    assert_eq!(r.broadcaster_id.as_deref(), Some(room_id(CH).as_str()));
    assert_eq!(
        r.url.as_deref(),
        Some("https://clips.twitch.tv/ServerlessClip")
    );
    let posts = helix_srv
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|q| q.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 2, "503, then one clip created");

    // ---- and the chain ends in one Discord post: clips table stream → notify function ----
    // The channel's Discord target answers the first post with 429 (Retry-After: 1); the
    // stream's confirmed record is handled twice (a redelivery).
    let discord = MockServer::start().await;
    let hook: Arc<std::sync::Mutex<Vec<(Instant, u16, serde_json::Value)>>> = Arc::default();
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/api/webhooks/7/relay"))
        .respond_with(RateLimitedOnce(hook.clone()))
        .mount(&discord)
        .await;
    let mut hype = channels
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.channel == CH)
        .unwrap();
    hype.notify =
        vec![
            NotifyTarget::parse(&format!("discord:{}/api/webhooks/7/relay", discord.uri()))
                .unwrap(),
        ];
    channels.put(&hype).await.unwrap();
    let deliveries = moto::unique("relay-deliveries");
    moto::table(&aws, &deliveries, "delivery_key").await;
    let notify = NotifyHandler::new(
        Notifier::new(
            DynamoDeliveryLog::new(aws.dynamodb.clone(), &deliveries),
            NotifyConfig::default(),
        )
        .unwrap(),
        stack.channels(),
        Vec::new(),
    );
    let endpoint = std::env::var("CLIPPER_TEST_AWS_ENDPOINT").unwrap();
    let mut stream = StreamReader::open(&endpoint, &aws.dynamodb, &stack.clips_table).await;
    let (event, on_stream) = stream.confirmed_event().await;
    let batch = stream_batch(&event);
    assert!(
        !batch.records.is_empty(),
        "no confirmed record among {on_stream}"
    );
    let t = Instant::now();
    assert!(notify.handle(&batch).await.failed.is_empty());
    let took = t.elapsed();
    assert!(notify.handle(&batch).await.failed.is_empty());
    let hook = hook.lock().unwrap().clone();
    let ok: Vec<_> = hook.iter().filter(|h| h.1 < 300).collect();
    assert_eq!(ok.len(), 1, "exactly one Discord post: {hook:?}");
    assert_eq!(hook.len(), 2, "429, then the post; none for the redelivery");
    assert_eq!(ok[0].2["content"], "https://clips.twitch.tv/ServerlessClip");
    assert!(hook[1].0 - hook[0].0 >= Duration::from_millis(990));
    println!(
        "serverless alert: Discord requests {} (429, 204), posts 1 for a batch handled twice; notify handler to the delivered post {took:?}",
        hook.len()
    );
}

/// A Discord webhook answering 429 (`Retry-After: 1`) first, then 204.
struct RateLimitedOnce(Arc<std::sync::Mutex<Vec<(Instant, u16, serde_json::Value)>>>);

impl wiremock::Respond for RateLimitedOnce {
    fn respond(&self, req: &wiremock::Request) -> wiremock::ResponseTemplate {
        let mut seen = self.0.lock().unwrap();
        let status = if seen.is_empty() { 429 } else { 204 };
        seen.push((
            Instant::now(),
            status,
            serde_json::from_slice(&req.body).unwrap_or_default(),
        ));
        let t = wiremock::ResponseTemplate::new(status);
        if status == 429 {
            t.insert_header("Retry-After", "1")
        } else {
            t
        }
    }
}

fn drill_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of this process now (KiB), from /proc.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The SQS outage drill: the relay forwards the windows of `CLIPPER_DRILL_CHANNELS` (20)
/// chatty channels through a line to SQS (moto) that is cut for `CLIPPER_DRILL_OUTAGE_S` (8)
/// seconds, then mended. Every window the driver closed is either in the queue or counted as
/// shed or unsent (never dropped silently); with an outage the buffers absorb, none is shed.
/// Prints the windows, the retries and the relay process's peak resident memory — run it
/// with `CLIPPER_DRILL_OUTAGE_S=60` for the 60 s drill and `=1800` for the 30 min one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqs_outage_loses_no_window() {
    let _serial = SERIAL_RUNS.lock().await;
    let Some(endpoint) = moto::endpoint("an_sqs_outage_loses_no_window") else {
        return;
    };
    let aws = moto::connect(&endpoint).await;
    let outage = Duration::from_secs(drill_env("CLIPPER_DRILL_OUTAGE_S", 8));
    let n_channels = drill_env("CLIPPER_DRILL_CHANNELS", 20) as usize;
    let (url, _) = moto::queue(&aws, &moto::unique("outage"), None).await;
    let target: std::net::SocketAddr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("moto endpoint host:port");
    let proxy = clipper_testkit::proxy::CutProxy::start(target)
        .await
        .unwrap();
    let via = moto::connect(&proxy.url()).await;

    let irc = LoopbackIrc::start().await.unwrap();
    let chans: Vec<String> = (0..n_channels).map(|i| format!("outage{i}")).collect();
    let mut cfg = RunConfig::new(chans.clone());
    cfg.irc = irc.endpoint();
    cfg.chat.new_connection_every = Duration::ZERO;
    cfg.driver.models_dir = None;
    cfg.recordings_dir = tempfile::tempdir().unwrap().keep();
    cfg.forward.relay_id = "outage-relay".into();
    let queue = Arc::new(SqsWindowQueue::start(
        via.sqs.clone(),
        &url,
        SqsQueueConfig::relay(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(run_with(
        cfg,
        Some(queue.clone()),
        None::<Arc<clipper_functions::local::JsonChannelStore>>,
        async {
            let _ = stop_rx.await;
        },
    ));
    let names: Vec<&str> = chans.iter().map(String::as_str).collect();
    // Joins are paced as Twitch limits them (20 per 10 s).
    assert!(
        irc.wait_joined(&names, Duration::from_secs(30 + n_channels as u64))
            .await
    );
    let chatting = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let chatter = tokio::spawn({
        let chatting = chatting.clone();
        let chans = chans.clone();
        let irc = irc.clone();
        async move {
            let mut i = 0u64;
            while chatting.load(std::sync::atomic::Ordering::Relaxed) {
                for c in &chans {
                    let who = Chatter {
                        login: &format!("v{}", i % 17),
                        user_id: &format!("{}", i % 17),
                        badges: "",
                    };
                    irc.send(c, &privmsg(c, &who, "PogChamp what a play", now_ms(), i));
                    i += 1;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    });
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(rss_kib()));
    let sampler = tokio::spawn({
        let peak = peak.clone();
        async move {
            loop {
                peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(6)).await;
    let cut_at = now_ms();
    proxy.cut(true);
    tokio::time::sleep(outage).await;
    proxy.cut(false);
    let mended_at = now_ms();
    tokio::time::sleep(Duration::from_secs(8)).await;
    chatting.store(false, std::sync::atomic::Ordering::Relaxed);
    chatter.await.unwrap();
    let _ = stop_tx.send(());
    let summary = relay.await.unwrap().unwrap();
    let fwd = summary.forwarded.unwrap();
    let q = Arc::into_inner(queue).expect("relay released the queue");
    let retries = clipper_functions::aws::QueueStats::get(&q.stats().retries);
    let left = q.shutdown(Duration::from_secs(60)).await;
    sampler.abort();
    assert_eq!(left, 0, "queue messages left unsent after the outage");

    let batches = moto::receive_window_batches(&aws, &url, fwd.messages as usize, 200).await;
    let received: usize = batches.iter().map(|b| b.windows.len()).sum();
    let during = batches
        .iter()
        .flat_map(|b| &b.windows)
        .filter(|w| (cut_at..mended_at).contains(&w.features.end_ms))
        .count();
    let shed = summary.stats.windows_shed;
    println!(
        "sqs outage {} s, {n_channels} channels: {} windows closed, {received} in the queue \
         ({during} closed during the outage), {shed} shed, {} unsent, {retries} request \
         retries, peak RSS {:.1} MiB",
        outage.as_secs(),
        summary.stats.windows,
        fwd.unsent,
        peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0
    );
    assert!(during > 0, "no window closed during the outage");
    assert_eq!(
        received as u64, fwd.windows,
        "forwarded windows all in the queue"
    );
    // `unsent` counts the shed windows and any left when the shutdown grace ran out.
    assert_eq!(
        summary.stats.windows,
        received as u64 + fwd.unsent,
        "every closed window is in the queue or counted"
    );
    if outage <= Duration::from_secs(120) {
        assert_eq!((shed, fwd.unsent), (0, 0), "windows lost to a short outage");
    }
}
