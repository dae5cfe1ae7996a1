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
use clipper_testkit::loopback::{privmsg, room_id, Chatter, LoopbackIrc};
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
