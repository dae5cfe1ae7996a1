//! End to end through real queues, tables, a bucket and a secret (moto_server): relay-side window
//! queue → windows queue → score handler → delayed clip queue → clip handler → the real Helix
//! client against a local Helix (wiremock: the stored user token is refused once with 401 and
//! refreshed into Secrets Manager, then Create Clip answers 503, then 202, then Get Clips finds
//! the clip) → clips table, with a duplicated window batch and a duplicated clip message on the
//! way. Exactly one clip must come out — and, from the clips table's stream through the notify
//! handler, exactly one Discord post with its URL although the first post is rate limited and the
//! stream batch is handled twice. Also measures the calls made and prints the cost model
//! from them (`infra/COST.md`).
//!
//! Skips when `CLIPPER_TEST_AWS_ENDPOINT` is unset; `.ci/run` starts moto and sets it.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use clipper_functions::aws::{
    DynamoDeliveryLog, DynamoLease, S3ModelStore, SecretsManagerTokenStore, SqsQueueConfig,
    SqsWindowQueue,
};
use clipper_functions::handlers::metrics::COUNTS;
use clipper_functions::handlers::notify::{stream_batch, NotifyHandler};
use clipper_functions::handlers::train::TrainHandler;
use clipper_functions::handlers::{decode_message, now_ms};
use clipper_functions::notify::{Notifier, NotifyConfig, NotifyTarget};
use clipper_functions::record::ClipStatus;
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore, TokenStore, WindowQueue};
use clipper_functions::twitch::{HelixClient, TwitchCredentials};
use clipper_models::{ModelConfig, WindowBatch};
use clipper_testkit::cost::{per_channel_day, Assumptions, Prices};
use clipper_testkit::helix::{
    self, create_clip, error, found, get_clips, refresh_once, refused_once,
};
use clipper_testkit::stream::StreamReader;
use clipper_testkit::{esm, moto};
use common::{batches, windows};
use serde_json::{json, Value};
use wiremock::matchers::{bearer_token, query_param};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

const T0: i64 = 1_767_225_600_000;
const CHANNELS: [&str; 3] = ["alpha", "beta", "gamma"];

/// Create Clip with the refreshed token: 503 first, then 202.
struct FlakyCreate(AtomicU32);

impl Respond for FlakyCreate {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            error(503, "")
        } else {
            helix::created("E2eClip")
        }
    }
}

/// A local Helix and OAuth server: the first token is refused, the refresh gives `user-b`,
/// Create Clip fails once with 503, Get Clips finds the clip.
async fn twitch() -> MockServer {
    let server = MockServer::start().await;
    refused_once("user-a").mount(&server).await;
    refresh_once("user-b", "refresh-b").mount(&server).await;
    create_clip()
        .and(bearer_token("user-b"))
        .respond_with(FlakyCreate(AtomicU32::new(0)))
        .expect(2)
        .mount(&server)
        .await;
    let clip = json!({
        "title": "t", "broadcaster_id": "id_alpha", "created_at": "2026-01-01T00:20:10Z"
    });
    get_clips()
        .and(query_param("id", "E2eClip"))
        .respond_with(found("E2eClip", clip))
        .mount(&server)
        .await;
    // After the 503 the clip flow looks for a clip the lost call may have made: none listed.
    helix::mount_validate(&server, "u1").await;
    get_clips()
        .and(query_param("broadcaster_id", "id_alpha"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_to_one_clip_through_real_queues() {
    let Some(aws) = moto::aws("relay_to_one_clip_through_real_queues").await else {
        return;
    };
    let stack = moto::Stack::create(&aws, "e2e").await;
    let (bucket, wurl) = (&stack.bucket, &stack.windows_url);
    let channels = stack.channels();
    for c in CHANNELS {
        channels.put(&ChannelConfig::new(c)).await.unwrap();
    }
    let start = COUNTS.snapshot();

    let score = stack.score_handler();
    let trainer = TrainHandler::new(
        stack.models(),
        stack.archive().grace_ms(0),
        ModelConfig::default(),
    );

    // 30 min of three channels; alpha's chat bursts with laughter at 20 min.
    let per_channel: Vec<_> = CHANNELS
        .iter()
        .map(|c| windows(c, T0, 30, (*c == "alpha").then_some(20 * 60_000)))
        .collect();
    let all = batches("relay-e2e", &per_channel, Some(true));
    let n_windows: usize = all.iter().map(|b| b.windows.len()).sum();
    let window_bytes: usize = all
        .iter()
        .map(|b| serde_json::to_string(b).unwrap().len())
        .sum();
    let split = all
        .iter()
        .position(|b| b.windows[0].features.end_ms >= T0 + 15 * 60_000)
        .unwrap();
    let mut score_time = Duration::ZERO;
    let mut score_batches = 0usize;

    // The relay sends the first 15 min; score them; train; then the rest, with one batch
    // delivered twice.
    for (part, range) in [(0, 0..split), (1, split..all.len())] {
        let queue = SqsWindowQueue::start(aws.sqs.clone(), wurl, SqsQueueConfig::default());
        for b in &all[range.clone()] {
            queue.send(b).await.unwrap();
        }
        if part == 1 {
            queue.send(&all[split + 3]).await.unwrap();
        }
        assert_eq!(queue.shutdown(Duration::from_secs(60)).await, 0);
        let expected = range.len() + part;
        let mut seen = 0;
        let mut idle = 0;
        while idle < 2 {
            let t = Instant::now();
            let (n, failed) = esm::poll_once(&aws.sqs, wurl, 0, 30, |event| {
                // Live, the function runs just after the newest window closed.
                let now = event
                    .records
                    .iter()
                    .filter_map(|r| decode_message::<WindowBatch>(r.body.as_deref()?).ok())
                    .flat_map(|b: WindowBatch| b.windows.into_iter().map(|w| w.features.end_ms))
                    .max()
                    .unwrap_or(T0)
                    + 300;
                let score = &score;
                async move { score.handle(&event, now).await }
            })
            .await
            .unwrap();
            assert_eq!(failed, 0);
            if n == 0 {
                idle += 1;
            } else {
                score_time += t.elapsed();
                score_batches += 1;
                seen += n;
            }
        }
        assert_eq!(seen, expected);
        if part == 0 {
            score.archive().flush().await.unwrap();
            let report = trainer.handle(now_ms() + 1).await.unwrap();
            assert_eq!(report.channels, 3, "{report:?}");
            assert_eq!(report.fits, 3, "{report:?}");
        }
    }
    score.archive().flush().await.unwrap();

    // The clip function, wired as the clip binary wires it: the Helix client with the user
    // token from Secrets Manager (refresh lease table in DynamoDB). The first clip batch is
    // delivered twice.
    let helix_server = twitch().await;
    let secret = moto::unique("e2e-token");
    let leases = moto::unique("e2e-leases");
    moto::table(&aws, &leases, "lease").await;
    aws.secrets
        .create_secret()
        .name(&secret)
        .secret_string(r#"{"access_token":"user-a","refresh_token":"refresh-a"}"#)
        .send()
        .await
        .unwrap();
    let token_store = SecretsManagerTokenStore::new(aws.secrets.clone(), &secret)
        .with_lease(DynamoLease::new(aws.dynamodb.clone(), &leases));
    let creds = TwitchCredentials {
        client_id: helix::CLIENT_ID.into(),
        ..TwitchCredentials::default()
    };
    let config = helix::config(&helix_server);
    let api = HelixClient::from_credentials(config, &creds, token_store.clone())
        .await
        .unwrap();
    assert!(api.can_clip());
    let clip = stack.clip_handler(Some(api));
    let store = stack.clip_store();
    // The chat of this test happened at T0 (2026-01-01); the clip function's clock runs from
    // the moment's due time, as it would live (a Create more than 90 s late is expired).
    let skew = now_ms() - (T0 + 20 * 60_000);
    let clip_batches = stack
        .drain_clip_queue(|event| {
            let clip = &clip;
            async move { clip.handle(&event, now_ms() - skew, "e2e").await }
        })
        .await;
    assert!(clip_batches > 0, "no clip request reached the clip queue");
    let records = store.list(None, None).await.unwrap();
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(r.channel, "alpha");
    assert_eq!(r.status, ClipStatus::Confirmed);
    assert_eq!(r.url.as_deref(), Some("https://clips.twitch.tv/E2eClip"));
    assert!((T0 + 20 * 60_000..=T0 + 20 * 60_000 + 20_000).contains(&r.trigger_ms));
    // Create Clip: 401 with the stored token, then 503 and 202 with the refreshed one; nothing
    // more despite the duplicated message.
    let creates = helix_server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|q| q.method.as_str() == "POST" && q.url.path() == "/helix/clips")
        .count();
    assert_eq!(creates, 3, "401, 503, 202: one clip made on Twitch");
    helix_server.verify().await;
    let stored = token_store.load().await.unwrap().unwrap();
    assert_eq!(
        stored.access_token.expose(),
        "user-b",
        "refreshed token written back"
    );
    assert_eq!(stored.refresh_token.expose(), "refresh-b");
    for q in [wurl, &stack.clips_url] {
        assert_eq!(
            moto::dead_letters(&aws, q).await,
            0,
            "nothing dead-lettered"
        );
    }

    // Train once more on the second half (what the schedule does), measuring it.
    let t = Instant::now();
    let report = trainer.handle(now_ms() + 1).await.unwrap();
    let train_time = t.elapsed();
    assert_eq!(report.channels, 3);
    let model_bytes = aws
        .s3
        .head_object()
        .bucket(bucket)
        .key(S3ModelStore::new(aws.s3.clone(), bucket).key("alpha"))
        .send()
        .await
        .unwrap()
        .content_length()
        .unwrap_or(0);

    // A model at steady state (full 6 h training buffer, fitted) for the storage figure.
    let mut full = clipper_models::ChannelModel::new("full", ModelConfig::default());
    for w in windows("full", T0, 6 * 60, None) {
        full.assess(&w);
    }
    full.fit_now().unwrap();
    let full_model_bytes = full.to_json().unwrap().len();

    // Calls made, and the cost model from them.
    let used = COUNTS.snapshot().since(&start);
    let clips = 1.0;
    let measured = Assumptions {
        bytes_per_window: window_bytes as f64 / n_windows as f64,
        score_ms_per_window: score_time.as_secs_f64() * 1000.0 / n_windows as f64,
        model_bytes: full_model_bytes as f64,
        train_ms_per_channel: train_time.as_secs_f64() * 1000.0 / 3.0,
        clip_messages_per_clip: (used.sqs_messages_sent as f64 - (all.len() + 1) as f64) / clips,
        ddb_writes_per_clip: (used.ddb_write as f64 - 3.0) / clips,
        ddb_reads_per_clip: used.ddb_read as f64 / clips,
        ..Assumptions::default()
    };
    let prices = Prices::us_east_1();
    let at_100 = per_channel_day(&measured, &prices);
    let at_50 = per_channel_day(
        &Assumptions {
            channels_per_relay: 50.0,
            ..measured.clone()
        },
        &prices,
    );
    println!(
        "e2e measured: {}",
        serde_json::json!({
            "channels": CHANNELS.len(),
            "windows": n_windows,
            "window_batches": all.len() + 1,
            "score_invocations": used.score_invocations,
            "score_batches": score_batches,
            "model_bytes_after_30_min": model_bytes,
            "clip_batches": clip_batches,
            "clip_invocations": used.clip_invocations,
            "train_invocations": used.train_invocations,
            "counts": used,
            "assumptions": measured,
        })
    );
    println!(
        "e2e cost per channel-day, 100 channels per relay: {}",
        serde_json::to_string(&at_100).unwrap()
    );
    println!(
        "e2e cost per channel-day, 50 channels per relay: {}",
        serde_json::to_string(&at_50).unwrap()
    );
    assert!(at_100.total <= 0.01, "{at_100:?}");

    // ---- the chain ends in one Discord post: clips table stream → notify function ----
    // alpha has a Discord target whose first answer is a 429 (Retry-After: 1 s); the stream's
    // confirmed record is handed to the notify handler twice (a Lambda retry/redelivery).
    let discord = MockServer::start().await;
    let posts = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(Instant, u16, Value)>::new()));
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/api/webhooks/1/e2e"))
        .respond_with(RateLimitedOnce(posts.clone()))
        .mount(&discord)
        .await;
    let mut alpha = ChannelConfig::new("alpha");
    alpha.notify =
        vec![
            NotifyTarget::parse(&format!("discord:{}/api/webhooks/1/e2e", discord.uri())).unwrap(),
        ];
    channels.put(&alpha).await.unwrap();
    let deliveries = moto::unique("e2e-deliveries");
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
    let (event, stream_records) = stream.confirmed_event().await;
    let batch = stream_batch(&event);
    assert!(
        !batch.records.is_empty(),
        "no confirmed record on the stream ({stream_records} records)"
    );
    let t = Instant::now();
    assert!(notify.handle(&batch).await.failed.is_empty());
    let first_handle = t.elapsed();
    // Redelivered: the same stream records again.
    assert!(notify.handle(&batch).await.failed.is_empty());
    let posts = posts.lock().unwrap().clone();
    let ok: Vec<_> = posts.iter().filter(|p| p.1 < 300).collect();
    assert_eq!(ok.len(), 1, "exactly one Discord post: {posts:?}");
    assert_eq!(
        posts.len(),
        2,
        "a 429, then the post; nothing for the redelivery"
    );
    assert_eq!(ok[0].2["content"], "https://clips.twitch.tv/E2eClip");
    let waited = posts[1].0 - posts[0].0;
    assert!(waited >= Duration::from_millis(990), "{waited:?}");
    println!(
        "e2e notify: stream records {stream_records}, confirmed in the event {}, Discord requests {} (429 then 2xx), posts 1 after 2 deliveries of the batch; handler time to the delivered post {first_handle:?} (Retry-After 1 s)",
        batch.records.len(),
        posts.len()
    );
}

/// A Discord webhook that answers the first post with 429 (`Retry-After: 1`) and every later
/// one with 204, keeping when each came, its status and body.
struct RateLimitedOnce(std::sync::Arc<std::sync::Mutex<Vec<(Instant, u16, Value)>>>);

impl Respond for RateLimitedOnce {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut seen = self.0.lock().unwrap();
        let status = if seen.is_empty() { 429 } else { 204 };
        seen.push((
            Instant::now(),
            status,
            serde_json::from_slice(&req.body).unwrap_or_default(),
        ));
        if status == 429 {
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 1.0, "global": false}))
        } else {
            ResponseTemplate::new(204)
        }
    }
}
