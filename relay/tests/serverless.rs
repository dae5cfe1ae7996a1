//! The serverless shape end to end with real peers on loopback: the loopback Twitch IRC server
//! feeds the relay (`run_with` + the SQS window sink, channels from the DynamoDB table) → SQS
//! on moto_server → score handler (models in S3, claims in DynamoDB) → delayed clip queue →
//! clip handler with the real Helix client against a wiremock Helix that answers the first
//! Create Clip with a 503 → DynamoDB clips table. The clip message is delivered twice; exactly
//! one clip must come out. A channel added to the table while the relay runs is joined without
//! a restart, and one disabled is left.
//!
//! Skips when `CLIPPER_TEST_AWS_ENDPOINT` is unset; `.ci/run` starts moto and sets it.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

#[path = "../../functions/tests/common/aws_setup.rs"]
#[allow(dead_code)]
mod aws_setup;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clipper_functions::aws::{
    esm, DynamoChannelStore, DynamoClaims, DynamoClipStore, S3ModelStore, S3WindowArchive,
    SqsClipScheduler, SqsQueueConfig, SqsWindowQueue,
};
use clipper_functions::clip_flow::ClipFlowConfig;
use clipper_functions::handlers::clip::{ClipHandler, ClipHandlerConfig};
use clipper_functions::handlers::score::{ScoreConfig, ScoreHandler};
use clipper_functions::record::ClipStatus;
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore};
use clipper_functions::twitch::auth::{MemoryTokenStore, Secret, TwitchCredentials};
use clipper_functions::twitch::{HelixClient, HelixConfig};
use clipper_relay::live::loopback::{privmsg, room_id, Chatter, LoopbackIrc};
use clipper_relay::live::run::{run_with, RunConfig};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

const CH: &str = "hypechan";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_sqs_score_clip_dynamodb_with_a_duplicate_and_a_5xx() {
    let Some(ep) = aws_setup::endpoint("relay_sqs_score_clip_dynamodb_with_a_duplicate_and_a_5xx")
    else {
        return;
    };
    let aws = aws_setup::connect(&ep).await;
    let bucket = aws_setup::unique("relay-e2e");
    aws_setup::bucket(&aws, &bucket).await;
    let (wurl, _) = aws_setup::queue(&aws, &aws_setup::unique("relay-windows"), Some(3)).await;
    let (curl, _) = aws_setup::queue(&aws, &aws_setup::unique("relay-clips"), Some(5)).await;
    let (clips_t, state_t, chan_t) = (
        aws_setup::unique("relay-clips"),
        aws_setup::unique("relay-state"),
        aws_setup::unique("relay-channels"),
    );
    aws_setup::clips_table(&aws, &clips_t).await;
    aws_setup::table(&aws, &state_t, "channel").await;
    aws_setup::table(&aws, &chan_t, "channel").await;
    let channels = DynamoChannelStore::new(aws.dynamodb.clone(), &chan_t);
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
        &wurl,
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
    let score = ScoreHandler::new(
        S3ModelStore::new(aws.s3.clone(), &bucket),
        DynamoClaims::new(aws.dynamodb.clone(), &state_t),
        SqsClipScheduler::new(aws.sqs.clone(), &curl),
        S3WindowArchive::new(aws.s3.clone(), &bucket),
        channels.clone(),
        ScoreConfig::default(),
    );
    let mut scored = 0;
    loop {
        let (n, failed) = esm::poll_once(&aws.sqs, &wurl, 0, 10, |event| {
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
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&helix_srv)
        .await;
    Mock::given(method("POST"))
        .and(path("/helix/clips"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"data": [{"id": "ServerlessClip", "edit_url": "https://clips.twitch.tv/ServerlessClip/edit"}]})))
        .with_priority(2)
        .mount(&helix_srv)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/clips"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "ServerlessClip", "url": "https://clips.twitch.tv/ServerlessClip"}]})))
        .mount(&helix_srv)
        .await;
    let mut hc = HelixConfig::new("cid");
    hc.helix_base = format!("{}/helix", helix_srv.uri()).parse().unwrap();
    hc.oauth_base = format!("{}/oauth2", helix_srv.uri()).parse().unwrap();
    let creds = TwitchCredentials {
        client_id: "cid".into(),
        client_secret: None,
        access_token: Some(Secret::new("user-token")),
        refresh_token: Some(Secret::new("refresh")),
    };
    let helix = HelixClient::from_credentials(hc, &creds, MemoryTokenStore::new(None))
        .await
        .unwrap();
    let clip = ClipHandler::new(
        Some(helix),
        DynamoClipStore::new(aws.dynamodb.clone(), &clips_t),
        SqsClipScheduler::new(aws.sqs.clone(), &curl),
        DynamoClaims::new(aws.dynamodb.clone(), &state_t),
        channels.clone(),
        ClipHandlerConfig {
            flow: ClipFlowConfig {
                confirm_backoff: vec![Duration::from_secs(1), Duration::from_secs(2)],
                max_create_attempts: 4,
                retry_base: Duration::from_secs(1),
            },
            create_claim_ms: 60_000,
        },
    );
    let store = DynamoClipStore::new(aws.dynamodb.clone(), &clips_t);
    let began = Instant::now();
    let mut duplicated = false;
    loop {
        let (n, _) = esm::poll_once(&aws.sqs, &curl, 1, 5, |event| {
            let dup: Vec<String> = if duplicated {
                Vec::new()
            } else {
                event
                    .records
                    .iter()
                    .filter_map(|r| r.body.clone())
                    .collect()
            };
            let (sqs, curl, clip) = (aws.sqs.clone(), curl.clone(), &clip);
            async move {
                for body in dup {
                    sqs.send_message()
                        .queue_url(&curl)
                        .message_body(body)
                        .send()
                        .await
                        .unwrap();
                }
                clip.handle(&event, now_ms(), "relay-e2e").await
            }
        })
        .await
        .unwrap();
        if n > 0 {
            duplicated = true;
        }
        let done = store
            .list(None, None)
            .await
            .unwrap()
            .iter()
            .any(|r| r.status == ClipStatus::Confirmed);
        if done && n == 0 {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(90),
            "no confirmed clip in time"
        );
    }
    assert!(duplicated, "no clip request reached the clip queue");
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
}
