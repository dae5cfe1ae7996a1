//! The AWS adapters against a real AWS-compatible server (moto_server on loopback). Each test
//! skips with a message when `CLIPPER_TEST_AWS_ENDPOINT` is unset; `.ci/run` starts moto and
//! sets it.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use clipper_functions::aws::{
    DynamoChannelStore, DynamoClaims, DynamoClipStore, DynamoLease, S3ModelStore, S3WindowArchive,
    SecretsManagerTokenStore, SqsClipScheduler, SqsQueueConfig, SqsWindowQueue,
};
use clipper_functions::handlers::train::ArchiveSource;
use clipper_functions::handlers::{decode_message, BatchOutcome};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::{
    ChannelConfig, ChannelStore, ClipScheduler, ClipStore, ModelFetch, ModelStore, MomentClaims,
    TokenStore, WindowArchive, WindowQueue,
};
use clipper_functions::twitch::{Secret, UserTokens};
use clipper_functions::FunctionsError;
use clipper_models::{ChannelModel, ClipRequest, ModelConfig, Scores, TriggerKind};
use clipper_testkit::{esm, moto};
use common::{batches, windows};

const T0: i64 = 1_767_225_600_000;

#[tokio::test]
async fn s3_model_store_roundtrip_etag_and_corrupt() {
    let Some(aws) = moto::aws("s3_model_store_roundtrip_etag_and_corrupt").await else {
        return;
    };
    let bucket = moto::unique("models");
    moto::bucket(&aws, &bucket).await;
    let store = S3ModelStore::new(aws.s3.clone(), &bucket);

    assert!(matches!(
        store.load("chan", None).await.unwrap(),
        ModelFetch::Missing
    ));
    let mut model = ChannelModel::new("chan", ModelConfig::default());
    for w in windows("chan", T0, 12, None) {
        model.assess(&w);
    }
    model.fit_now().unwrap();
    let v1 = store.save(&model).await.unwrap();
    assert!(!v1.is_empty());
    let (loaded, version) = match store.load("chan", None).await.unwrap() {
        ModelFetch::Loaded { model, version } => (model, version),
        other => panic!("{other:?}"),
    };
    assert_eq!(version, v1);
    assert_eq!(loaded.buffered(), model.buffered());
    assert!(loaded.fitted.is_some());
    // Same ETag: 304, nothing transferred.
    assert!(matches!(
        store.load("chan", Some(&v1)).await.unwrap(),
        ModelFetch::Unchanged
    ));
    // A new save: a new version, and the old one is kept by bucket versioning.
    model.assess(&windows("chan", T0 + 3_600_000, 1, None)[0]);
    let v2 = store.save(&model).await.unwrap();
    assert_ne!(v1, v2);
    assert!(matches!(
        store.load("chan", Some(&v1)).await.unwrap(),
        ModelFetch::Loaded { .. }
    ));
    let versions = aws
        .s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix(store.key("chan"))
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2);
    // A corrupt object is an error, never a silent fresh model.
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key(store.key("chan"))
        .body(ByteStream::from_static(b"{\"format_version\":1,\"chan"))
        .send()
        .await
        .unwrap();
    match store.load("chan", None).await {
        Err(FunctionsError::CorruptModel { channel, .. }) => assert_eq!(channel, "chan"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn s3_window_archive_flushes_and_trains_from_cursor() {
    let Some(aws) = moto::aws("s3_window_archive_flushes_and_trains_from_cursor").await else {
        return;
    };
    let bucket = moto::unique("archive");
    moto::bucket(&aws, &bucket).await;
    let archive = S3WindowArchive::new(aws.s3.clone(), &bucket).grace_ms(0);
    let a = windows("a", T0, 2, None);
    let b = windows("b", T0, 2, None);
    archive.append("a", &a).await.unwrap();
    archive.append("b", &b).await.unwrap();
    assert_eq!(
        archive.buffered().await,
        a.len() + b.len(),
        "buffered until a minute passes"
    );
    archive.flush().await.unwrap();
    assert_eq!(archive.buffered().await, 0);
    let now = clipper_functions::handlers::now_ms() + 1;
    let got = archive.pending(now).await.unwrap();
    assert_eq!(got.objects, 1);
    assert_eq!(got.by_channel["a"], a);
    assert_eq!(got.by_channel["b"].len(), b.len());
    archive
        .commit(got.cursor.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(archive.pending(now).await.unwrap().objects, 0, "committed");
}

#[tokio::test]
async fn sqs_window_queue_batches_and_delayed_clip_messages_wait() {
    let Some(aws) = moto::aws("sqs_window_queue_batches_and_delayed_clip_messages_wait").await
    else {
        return;
    };
    let (url, _) = moto::queue(&aws, &moto::unique("windows"), Some(3)).await;
    let queue = SqsWindowQueue::start(aws.sqs.clone(), &url, SqsQueueConfig::default());
    let ws = [windows("a", T0, 2, None), windows("b", T0, 2, None)];
    let sent = batches("relay", &ws, Some(true));
    for b in &sent {
        queue.send(b).await.unwrap();
    }
    let requests_before_flush = clipper_functions::aws::QueueStats::get(&queue.stats().requests);
    assert_eq!(
        queue.shutdown(Duration::from_secs(30)).await,
        0,
        "all flushed"
    );
    let _ = requests_before_flush;
    let received = moto::receive_window_batches(&aws, &url, sent.len(), 20).await;
    assert_eq!(received, sent);

    // Clip queue: a message delayed 2 s is not visible before.
    let (curl, _) = moto::queue(&aws, &moto::unique("clips"), None).await;
    let sched = SqsClipScheduler::new(aws.sqs.clone(), &curl);
    let req = clip_request("chan", T0);
    let t = std::time::Instant::now();
    sched
        .schedule(&req, Duration::from_millis(1_500))
        .await
        .unwrap();
    let mut early = 0;
    esm::poll_once(&aws.sqs, &curl, 0, 30, |e| {
        early = e.records.len();
        async { BatchOutcome::default() }
    })
    .await
    .unwrap();
    assert_eq!(early, 0, "not visible before its delay");
    let mut got = None;
    while t.elapsed() < Duration::from_secs(10) && got.is_none() {
        esm::poll_once(&aws.sqs, &curl, 1, 30, |e| {
            got = e.records.first().and_then(|r| r.body.clone());
            async { BatchOutcome::default() }
        })
        .await
        .unwrap();
    }
    assert!(
        t.elapsed() >= Duration::from_millis(1_900),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(decode_message::<ClipRequest>(&got.unwrap()).unwrap(), req);
}

#[tokio::test]
async fn sqs_failed_records_come_back_then_dead_letter() {
    let Some(aws) = moto::aws("sqs_failed_records_come_back_then_dead_letter").await else {
        return;
    };
    let name = moto::unique("poison");
    let (url, _) = moto::queue(&aws, &name, Some(2)).await;
    aws.sqs
        .send_message()
        .queue_url(&url)
        .message_body("not a batch")
        .send()
        .await
        .unwrap();
    let mut deliveries = 0;
    for _ in 0..6 {
        esm::poll_once(&aws.sqs, &url, 0, 0, |e| {
            deliveries += e.records.len();
            let ids: Vec<String> = e.records.iter().map(|r| r.message_id.clone()).collect();
            async move { BatchOutcome::failing(ids) }
        })
        .await
        .unwrap();
    }
    assert_eq!(
        deliveries, 2,
        "maxReceiveCount 2, then the dead-letter queue"
    );
    assert_eq!(moto::dead_letters(&aws, &url).await, 1);
}

fn clip_request(channel: &str, t: i64) -> ClipRequest {
    ClipRequest::new(
        clipper_models::ClipDecision {
            channel: channel.into(),
            trigger_ms: t,
            peak_ms: t,
            fire_at_ms: t + 7_000,
            kind: TriggerKind::Laughter,
            score: 0.8,
            scores: Scores::default(),
            features: None,
            merged: 0,
            forced_by: None,
            title: "KEKW".into(),
            duration_ms: 30_000,
        },
        Some("123".into()),
    )
}

#[tokio::test]
async fn dynamo_claims_one_winner_per_moment() {
    let Some(aws) = moto::aws("dynamo_claims_one_winner_per_moment").await else {
        return;
    };
    let table = moto::unique("state");
    moto::table(&aws, &table, "channel").await;
    let claims = Arc::new(DynamoClaims::new(aws.dynamodb.clone(), &table));
    // Two workers saw triggers of the same moment (different windows, so different ids).
    let (a, b) = tokio::join!(
        claims.claim("chan", T0, 60_000, "chan:a"),
        claims.claim("chan", T0 + 5_000, 60_000, "chan:b")
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a ^ b, "exactly one wins: {a} {b}");
    let winner = if a {
        ("chan:a", T0)
    } else {
        ("chan:b", T0 + 5_000)
    };
    // The winner's retried claim wins again (redelivered batch); the loser's does not.
    assert!(claims
        .claim("chan", winner.1, 60_000, winner.0)
        .await
        .unwrap());
    assert!(!claims
        .claim("chan", T0 + 30_000, 60_000, "chan:c")
        .await
        .unwrap());
    // After the cooldown a new moment wins; other channels are independent.
    assert!(claims
        .claim("chan", T0 + 70_000, 60_000, "chan:d")
        .await
        .unwrap());
    assert!(claims.claim("other", T0, 60_000, "other:a").await.unwrap());
}

fn record(channel: &str, t: i64, status: ClipStatus) -> ClipRecord {
    let mut r = ClipRecord::from_request(&clip_request(channel, t), status);
    r.score = 0.8;
    r
}

#[tokio::test]
async fn dynamo_clip_store_upserts_and_lists_by_channel() {
    let Some(aws) = moto::aws("dynamo_clip_store_upserts_and_lists_by_channel").await else {
        return;
    };
    let table = moto::unique("clips");
    moto::clips_table(&aws, &table).await;
    let store = DynamoClipStore::new(aws.dynamodb.clone(), &table);
    let mut r = record("a", T0, ClipStatus::Pending);
    store.put(&r).await.unwrap();
    r.status = ClipStatus::Confirmed;
    r.url = Some("https://clips.twitch.tv/x".into());
    store.put(&r).await.unwrap();
    for other in [
        record("a", T0 + 100_000, ClipStatus::Failed),
        record("b", T0 + 50_000, ClipStatus::WouldClip),
    ] {
        store.put(&other).await.unwrap();
    }
    assert_eq!(store.get(&r.request_id).await.unwrap().unwrap(), r);
    assert!(store.get("nope").await.unwrap().is_none());
    let a = store.list(Some("a"), None).await.unwrap();
    assert_eq!(a.len(), 2, "upsert, not a second record");
    assert_eq!(a[0], r);
    let since = store.list(Some("a"), Some(T0 + 1)).await.unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].status, ClipStatus::Failed);
    let all = store.list(None, Some(T0 + 1)).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.channel.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
}

#[tokio::test]
async fn dynamo_channels_crud() {
    let Some(aws) = moto::aws("dynamo_channels_crud").await else {
        return;
    };
    let table = moto::unique("channels");
    moto::table(&aws, &table, "channel").await;
    let store = DynamoChannelStore::new(aws.dynamodb.clone(), &table);
    assert!(store.list().await.unwrap().is_empty());
    let mut a = ChannelConfig::new("#KimDoe");
    a.threshold = Some(0.7);
    a.cooldown_ms = Some(90_000);
    a.clip_duration_s = Some(45.0);
    a.webhook_url = Some("https://discord.example/hook".into());
    store.put(&a).await.unwrap();
    store.put(&ChannelConfig::new("zed")).await.unwrap();
    let list = store.list().await.unwrap();
    assert_eq!(list, vec![a.clone(), ChannelConfig::new("zed")]);
    common::disable_then_remove(&store, a, "zed").await;
}

#[tokio::test]
async fn secrets_token_store_refreshes_once_across_workers() {
    let Some(aws) = moto::aws("secrets_token_store_refreshes_once_across_workers").await else {
        return;
    };
    let secret = moto::unique("token");
    let leases = moto::unique("leases");
    moto::table(&aws, &leases, "lease").await;
    aws.secrets
        .create_secret()
        .name(&secret)
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    let store = |who: &str| {
        SecretsManagerTokenStore::new(aws.secrets.clone(), &secret)
            .with_lease(DynamoLease::new(aws.dynamodb.clone(), &leases).with_holder(who))
    };
    let (w1, w2) = (store("w1"), store("w2"));
    assert!(w1.load().await.unwrap().is_none());
    let old = UserTokens {
        access_token: Secret::new("old-access"),
        refresh_token: Secret::new("old-refresh"),
        expires_at_ms: None,
    };
    w1.save(&old).await.unwrap();
    assert_eq!(w2.load().await.unwrap(), Some(old.clone()));

    // Both workers got a 401 with the old token at once; only one refresh may happen (the
    // refresh token is single-use).
    let refreshes = Arc::new(AtomicU32::new(0));
    let refresh = |r: Arc<AtomicU32>| {
        move |rt: Secret| async move {
            assert_eq!(
                rt.expose(),
                "old-refresh",
                "only the stored refresh token is spent"
            );
            let n = r.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(UserTokens {
                access_token: Secret::new(format!("new-access-{n}")),
                refresh_token: Secret::new(format!("new-refresh-{n}")),
                expires_at_ms: Some(T0),
            })
        }
    };
    let rejected = Secret::new("old-access");
    let (a, b) = tokio::join!(
        w1.refresh_guarded(&rejected, refresh(refreshes.clone())),
        w2.refresh_guarded(&rejected, refresh(refreshes.clone()))
    );
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert_eq!(a.access_token.expose(), "new-access-0");
    assert_eq!(w1.load().await.unwrap(), Some(a.clone()));

    // The same through `TokenStore::rotate`, the path the Helix client takes on a 401.
    let rotations = Arc::new(AtomicU32::new(0));
    let rotate = |r: Arc<AtomicU32>| {
        move |rt: Secret| async move {
            assert_eq!(rt.expose(), "new-refresh-0");
            let n = r.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, clipper_functions::twitch::HelixError>(UserTokens {
                access_token: Secret::new(format!("third-access-{n}")),
                refresh_token: Secret::new(format!("third-refresh-{n}")),
                expires_at_ms: Some(T0),
            })
        }
    };
    let rejected = Secret::new("new-access-0");
    let (c, d) = tokio::join!(
        w1.rotate(&rejected, &a, rotate(rotations.clone())),
        w2.rotate(&rejected, &a, rotate(rotations.clone()))
    );
    assert_eq!(
        rotations.load(Ordering::SeqCst),
        1,
        "one refresh across workers"
    );
    let (c, d) = (c.unwrap(), d.unwrap());
    assert_eq!(c, d);
    assert_eq!(w2.load().await.unwrap(), Some(c));
}

/// The queue is unreachable for a while (it does not exist yet): the relay's sender keeps every
/// window, `send` waits once the small buffer is full (back-pressure, counted), and when the
/// queue appears everything is delivered, in full, by the shutdown flush.
#[tokio::test]
async fn sqs_window_queue_survives_an_outage_without_losing_windows() {
    let Some(ep) = moto::endpoint("sqs_window_queue_survives_an_outage_without_losing_windows")
    else {
        return;
    };
    let aws = moto::connect(&ep).await;
    let name = moto::unique("outage");
    let url = format!("{}/123456789012/{name}", ep.trim_end_matches('/'));
    let queue = Arc::new(SqsWindowQueue::start(
        aws.sqs.clone(),
        &url,
        SqsQueueConfig {
            capacity: 4,
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
            ..SqsQueueConfig::default()
        },
    ));
    let sent = batches("relay", &[windows("a", T0, 3, None)], Some(true));
    let producer = {
        let queue = Arc::clone(&queue);
        let sent = sent.clone();
        tokio::spawn(async move {
            for b in &sent {
                queue.send(b).await.unwrap();
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        !producer.is_finished(),
        "send waits while the buffer is full"
    );
    let stats = queue.stats();
    assert!(clipper_functions::aws::QueueStats::get(&stats.full) > 0);
    assert!(clipper_functions::aws::QueueStats::get(&stats.retries) > 0);
    assert_eq!(clipper_functions::aws::QueueStats::get(&stats.sent), 0);
    // The queue comes back.
    let (real_url, _) = moto::queue(&aws, &name, None).await;
    assert_eq!(real_url, url);
    producer.await.unwrap();
    let queue = Arc::into_inner(queue).unwrap();
    assert_eq!(queue.shutdown(Duration::from_secs(30)).await, 0);
    let received = moto::receive_window_batches(&aws, &url, sent.len(), 30).await;
    assert_eq!(received, sent, "no window lost");
}

/// `PutSecretValue` failing after Twitch already rotated the pair (here: the secret vanished
/// between the read and the write): the store retries, then hands the new pair back with the
/// error instead of losing it; a later save puts it in place.
#[tokio::test]
async fn secrets_token_store_never_loses_a_refreshed_pair() {
    let Some(aws) = moto::aws("secrets_token_store_never_loses_a_refreshed_pair").await else {
        return;
    };
    let secret = moto::unique("token");
    let old = UserTokens {
        access_token: Secret::new("old-access"),
        refresh_token: Secret::new("old-refresh"),
        expires_at_ms: None,
    };
    aws.secrets
        .create_secret()
        .name(&secret)
        .secret_string(serde_json::to_string(&old).unwrap())
        .send()
        .await
        .unwrap();
    let store = SecretsManagerTokenStore::new(aws.secrets.clone(), &secret);
    let secrets = aws.secrets.clone();
    let name = secret.clone();
    let rotated = store
        .rotate(&old.access_token, &old, move |_rt: Secret| async move {
            // Twitch answered with a new pair (the old refresh token is spent); then every
            // write fails.
            secrets
                .delete_secret()
                .secret_id(&name)
                .force_delete_without_recovery(true)
                .send()
                .await
                .unwrap();
            Ok::<_, clipper_functions::twitch::HelixError>(UserTokens {
                access_token: Secret::new("new-access"),
                refresh_token: Secret::new("new-refresh"),
                expires_at_ms: Some(T0),
            })
        })
        .await;
    let Err(clipper_functions::twitch::HelixError::NotPersisted { tokens, .. }) = rotated else {
        panic!("expected the new pair back with the error, got {rotated:?}");
    };
    assert_eq!(tokens.refresh_token.expose(), "new-refresh");
    // The secret is back (an operator, or the throttling ended): the pair is saved.
    aws.secrets
        .create_secret()
        .name(&secret)
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    store.save(&tokens).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(*tokens));
}

/// A corrupt or absurd model in S3 (truncated, a format from the future, `n_trees` = 10⁷)
/// loads fast as a fresh model: the score function scores the channel (nothing fails, nothing
/// hangs), and the train function writes a good model over it while the bucket keeps the bad
/// one as an older version to roll back to or inspect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_models_in_s3_score_as_fresh_and_the_old_version_is_kept() {
    let Some(aws) =
        moto::aws("absurd_models_in_s3_score_as_fresh_and_the_old_version_is_kept").await
    else {
        return;
    };
    let stack = moto::Stack::create(&aws, "absurd").await;
    let store = stack.models();
    let good = ChannelModel::new("x", ModelConfig::default())
        .to_json()
        .unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let mut future = json.clone();
    future["format_version"] = serde_json::json!(99);
    json["config"]["n_trees"] = serde_json::json!(10_000_000u64);
    let bad: [(&str, Vec<u8>); 3] = [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("future", serde_json::to_vec(&future).unwrap()),
        ("huge", serde_json::to_vec(&json).unwrap()),
    ];
    for (channel, body) in &bad {
        aws.s3
            .put_object()
            .bucket(&stack.bucket)
            .key(store.key(channel))
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
    }
    let names: Vec<&str> = bad.iter().map(|(c, _)| *c).collect();
    let per_channel: Vec<_> = names
        .iter()
        .map(|c| windows(c, 1_767_225_600_000, 12, None))
        .collect();
    let all = batches("absurd", &per_channel, Some(true));
    let score = stack.score_handler();
    let bodies: Vec<String> = all
        .iter()
        .map(|b| serde_json::to_string(b).unwrap())
        .collect();
    let event = common::sqs_event(&bodies, 0);
    let t = std::time::Instant::now();
    let now = all.last().unwrap().windows[0].features.end_ms + 300;
    let out = score.handle(&event, now).await;
    let took = t.elapsed();
    assert!(out.failed.is_empty(), "{out:?}");
    assert!(took < Duration::from_secs(5), "scoring took {took:?}");
    score.archive().flush().await.unwrap();

    let trainer = clipper_functions::handlers::train::TrainHandler::new(
        stack.models(),
        stack.archive().grace_ms(0),
        ModelConfig::default(),
    );
    let report = trainer
        .handle(clipper_functions::handlers::now_ms() + 1)
        .await
        .unwrap();
    assert_eq!(report.channels, 3, "{report:?}");
    for channel in names {
        assert!(
            matches!(
                store.load(channel, None).await.unwrap(),
                ModelFetch::Loaded { .. }
            ),
            "{channel}: train did not replace the bad model"
        );
        let versions = aws
            .s3
            .list_object_versions()
            .bucket(&stack.bucket)
            .prefix(store.key(channel))
            .send()
            .await
            .unwrap();
        assert_eq!(
            versions.versions().len(),
            2,
            "{channel}: the bad version is kept beside the new one"
        );
    }
    println!(
        "3 bad models (truncated, format 99, n_trees 10^7): {} windows scored in {:.0} ms, \
         replaced by train, old versions kept",
        all.iter().map(|b| b.windows.len()).sum::<usize>(),
        took.as_secs_f64() * 1000.0
    );
}
