//! Handler tests with real SQS event JSON (as Lambda sends it) and the local adapters.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::time::Duration;

use clipper_functions::clip_flow::ClipFlowConfig;
use clipper_functions::handlers::clip::{ClipHandler, ClipHandlerConfig};
use clipper_functions::handlers::score::{ScoreConfig, ScoreHandler};
use clipper_functions::handlers::train::TrainHandler;
use clipper_functions::handlers::{BatchOutcome, QueueBatch};
use clipper_functions::local::{
    DirModelStore, DirWindowArchive, JsonChannelStore, JsonlClipStore, LocalClipScheduler,
    MemoryClaims, ScheduledClip,
};
use clipper_functions::record::ClipStatus;
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore, ModelFetch, ModelStore};
use clipper_models::{ClipPhase, ModelConfig, TriggerKind};
use common::{batches, fixture, sqs_event, windows, FakeClipApi};
use tokio::sync::mpsc::UnboundedReceiver;

const T0: i64 = 1_767_225_600_000;

fn failed_ids(r: &BatchOutcome) -> Vec<String> {
    r.failed.clone()
}

fn drain(rx: &mut UnboundedReceiver<ScheduledClip>) -> Vec<ScheduledClip> {
    let mut v = Vec::new();
    while let Ok(c) = rx.try_recv() {
        v.push(c);
    }
    v
}

type LocalScore = ScoreHandler<
    DirModelStore,
    MemoryClaims,
    LocalClipScheduler,
    DirWindowArchive,
    JsonChannelStore,
>;

fn score_handler(dir: &std::path::Path) -> (LocalScore, UnboundedReceiver<ScheduledClip>) {
    let (sched, rx) = LocalClipScheduler::immediate();
    let h = ScoreHandler::new(
        DirModelStore::new(dir.join("models")),
        MemoryClaims::new(),
        sched,
        DirWindowArchive::new(dir.join("archive")),
        JsonChannelStore::new(dir.join("channels.json")),
        ScoreConfig::default(),
    );
    (h, rx)
}

#[tokio::test]
async fn score_fixture_forces_a_clip_and_fails_poison_records() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut rx) = score_handler(dir.path());
    let event: QueueBatch = serde_json::from_str(&fixture("sqs_windows_event.json")).unwrap();
    let now = T0 + 10_500;
    let (resp, stats) = h.handle_with_stats(&event, now).await;
    // The truncated body and the wire-version-2 batch fail; the good one does not.
    assert_eq!(
        failed_ids(&resp),
        vec![
            "7b0d3f2a-1111-4a8e-9c1e-000000000002".to_string(),
            "7b0d3f2a-1111-4a8e-9c1e-000000000003".to_string()
        ]
    );
    // (The response JSON Lambda gets, `batchItemFailures`, is checked where it is made:
    // `handlers::lambda_events`, feature `lambda`.)
    assert_eq!(stats.windows, 3);
    assert_eq!(
        stats.skipped_offline, 1,
        "the offline channel's forced clip is skipped"
    );
    let scheduled = drain(&mut rx);
    assert_eq!(scheduled.len(), 1, "{scheduled:#?}");
    let c = &scheduled[0];
    assert_eq!(c.request.channel, "kimdoe");
    assert_eq!(c.request.broadcaster_id.as_deref(), Some("123"));
    assert_eq!(c.request.decision.kind, TriggerKind::Forced);
    assert_eq!(c.request.decision.forced_by.as_deref(), Some("somemod"));
    assert_eq!(c.request.request_id, format!("kimdoe:{}", T0 + 10_000));
    assert_eq!(c.request.phase, ClipPhase::Create);
    // Due 7 s after the trigger; 0.5 s of that has passed.
    assert_eq!(c.delay, Duration::from_millis(6_500));

    // Lambda delivers the same batch again: nothing new is scheduled.
    let (resp, stats) = h.handle_with_stats(&event, now + 1_000).await;
    assert_eq!(resp.failed.len(), 2);
    assert_eq!(stats.duplicate_windows, 3);
    assert!(drain(&mut rx).is_empty());

    // The windows were archived for training.
    let files = std::fs::read_dir(dir.path().join("archive/windows"))
        .unwrap()
        .count();
    assert!(files >= 2, "{files}");
}

#[tokio::test]
async fn score_disabled_channel_is_ignored_and_overrides_apply() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut rx) = score_handler(dir.path());
    let channels = JsonChannelStore::new(dir.path().join("channels.json"));
    let mut c = ChannelConfig::new("KimDoe");
    c.enabled = false;
    channels.put(&c).await.unwrap();
    let event: QueueBatch = serde_json::from_str(&fixture("sqs_windows_event.json")).unwrap();
    let (_, stats) = h.handle_with_stats(&event, T0 + 10_500).await;
    assert_eq!(stats.skipped_disabled, 2);
    assert!(drain(&mut rx).is_empty());
}

/// Score a stream (calm, then a burst of laughter) through the handler in SQS batches, with
/// the model trained in between by the train handler from the archived windows.
#[tokio::test]
async fn score_train_score_loop_clips_the_burst_once() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut rx) = score_handler(dir.path());
    let ws = windows("chan", T0, 30, Some(20 * 60_000));
    let bodies: Vec<String> = batches("r", &[ws], Some(true))
        .iter()
        .map(|b| serde_json::to_string(b).unwrap())
        .collect();
    let trainer = TrainHandler::new(
        DirModelStore::new(dir.path().join("models")),
        DirWindowArchive::new(dir.path().join("archive")),
        ModelConfig::default(),
    );
    let mut trained = false;
    for (i, chunk) in bodies.chunks(10).enumerate() {
        let event = sqs_event(chunk, i * 10);
        let last: clipper_models::WindowBatch =
            serde_json::from_str(chunk.last().unwrap()).unwrap();
        let now = last.windows[0].features.end_ms + 200;
        let resp = h.handle(&event, now).await;
        assert!(resp.failed.is_empty());
        // At 15 min the train function has run: a fitted model is stored.
        if !trained && now >= T0 + 15 * 60_000 {
            let report = trainer.handle(now).await.unwrap();
            assert_eq!(report.channels, 1);
            assert_eq!(report.fits, 1, "{report:?}");
            trained = true;
        }
    }
    assert!(trained);
    let store = DirModelStore::new(dir.path().join("models"));
    match store.load("chan", None).await.unwrap() {
        ModelFetch::Loaded { model, .. } => assert!(model.fitted.is_some()),
        other => panic!("{other:?}"),
    }
    let scheduled = drain(&mut rx);
    assert_eq!(scheduled.len(), 1, "{scheduled:#?}");
    let d = &scheduled[0].request.decision;
    assert!(
        (T0 + 20 * 60_000..=T0 + 20 * 60_000 + 20_000).contains(&d.trigger_ms),
        "{}",
        d.trigger_ms - T0
    );
    assert!(scheduled[0].delay <= Duration::from_secs(7));
}

type LocalClip =
    ClipHandler<FakeClipApi, JsonlClipStore, LocalClipScheduler, MemoryClaims, JsonChannelStore>;

fn clip_handler(
    dir: &std::path::Path,
    api: Option<FakeClipApi>,
) -> (LocalClip, UnboundedReceiver<ScheduledClip>) {
    let (sched, rx) = LocalClipScheduler::immediate();
    let h = ClipHandler::new(
        api,
        JsonlClipStore::open(dir.join("recordings")).expect("clip store"),
        sched,
        MemoryClaims::new(),
        JsonChannelStore::new(dir.join("channels.json")),
        ClipHandlerConfig {
            flow: ClipFlowConfig {
                confirm_backoff: vec![Duration::from_secs(15), Duration::from_secs(30)],
                max_create_attempts: 4,
                retry_base: Duration::from_secs(5),
            },
            create_claim_ms: 60_000,
        },
    );
    (h, rx)
}

#[tokio::test]
async fn clip_fixture_with_duplicate_and_503_makes_one_clip() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut rx) = clip_handler(dir.path(), Some(FakeClipApi::failing_first(1)));
    let event: QueueBatch = serde_json::from_str(&fixture("sqs_clip_event.json")).unwrap();
    let mut now = T0 + 17_000;
    let resp = h.handle(&event, now, "inv-1").await;
    assert_eq!(
        failed_ids(&resp),
        vec!["c1a2b3c4-2222-4f00-8000-000000000003".to_string()]
    );
    // 503 → a retry scheduled after 5 s; the duplicate in the same batch was skipped.
    let mut next = drain(&mut rx);
    assert_eq!(next.len(), 1, "{next:#?}");
    assert_eq!(next[0].delay, Duration::from_secs(5));
    assert_eq!(next[0].request.attempt, 1);
    let rid = next[0].request.request_id.clone();
    let stored = h.clips().get(&rid).await.unwrap().unwrap();
    assert_eq!(stored.status, ClipStatus::Pending);

    // Run the scheduled steps as the clip queue would deliver them, and redeliver the
    // original Create message in between.
    let original = event.records[0].body.clone().unwrap();
    let mut i = 100;
    while let Some(s) = next.pop() {
        now += s.delay.as_millis() as i64;
        let bodies = vec![serde_json::to_string(&s.request).unwrap(), original.clone()];
        let resp = h.handle(&sqs_event(&bodies, i), now, "inv").await;
        assert!(resp.failed.is_empty());
        i += 10;
        next.extend(drain(&mut rx));
    }
    let rec = h.clips().get(&rid).await.unwrap().unwrap();
    assert_eq!(rec.status, ClipStatus::Confirmed, "{rec:#?}");
    assert_eq!(rec.url.as_deref(), Some("https://clips.twitch.tv/clip0"));
    let all = h.clips().list(Some("kimdoe"), None).await.unwrap();
    assert_eq!(all.len(), 1);
    let urls = std::fs::read_to_string(dir.path().join("recordings/clip_urls.txt")).unwrap();
    assert_eq!(urls.lines().count(), 1, "{urls}");
    assert!(urls.starts_with("https://clips.twitch.tv/clip0\tkimdoe\t2026-01-01T00:00:10Z\tlaughter\t0.81\tKEKW KEKW KEKW"), "{urls}");

    // Reopened, the store has the latest record per request id.
    let reopened = JsonlClipStore::open(dir.path().join("recordings")).unwrap();
    assert_eq!(
        reopened.get(&rid).await.unwrap().unwrap().status,
        ClipStatus::Confirmed
    );
}

#[tokio::test]
async fn clip_without_token_records_would_clip() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut rx) = clip_handler(dir.path(), None);
    let event: QueueBatch = serde_json::from_str(&fixture("sqs_clip_event.json")).unwrap();
    let resp = h.handle(&event, T0 + 17_000, "inv").await;
    assert_eq!(resp.failed.len(), 1);
    assert!(drain(&mut rx).is_empty());
    let all = h.clips().list(None, None).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, ClipStatus::WouldClip);
    let urls = std::fs::read_to_string(dir.path().join("recordings/clip_urls.txt")).unwrap();
    assert!(urls.starts_with("would clip\tkimdoe"), "{urls}");
}

/// An archive whose first cursor commit fails: the train run saved its models, then ended
/// (a timeout) before committing, so the next run reads the same windows again.
struct CommitFailsOnce {
    inner: DirWindowArchive,
    failed: std::sync::atomic::AtomicBool,
}

impl clipper_functions::handlers::train::ArchiveSource for CommitFailsOnce {
    async fn pending(
        &self,
        now_ms: i64,
    ) -> clipper_functions::Result<clipper_functions::handlers::train::Archived> {
        self.inner.pending(now_ms).await
    }
    async fn commit(&self, cursor: &str) -> clipper_functions::Result<()> {
        if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(clipper_functions::FunctionsError::Config(
                "timed out".into(),
            ));
        }
        self.inner.commit(cursor).await
    }
}

#[tokio::test]
async fn a_train_run_that_ends_before_its_commit_does_not_learn_windows_twice() {
    use clipper_functions::roles::WindowArchive;
    let dir = tempfile::tempdir().unwrap();
    let archive = DirWindowArchive::new(dir.path().join("archive"));
    let ws = windows("chan", T0, 10, None);
    archive.append("chan", &ws).await.unwrap();
    let trainer = TrainHandler::new(
        DirModelStore::new(dir.path().join("models")),
        CommitFailsOnce {
            inner: DirWindowArchive::new(dir.path().join("archive")),
            failed: Default::default(),
        },
        ModelConfig::default(),
    );
    let now = T0 + 11 * 60_000;
    assert!(trainer.handle(now).await.is_err(), "the commit failed");
    let seen = |dir: std::path::PathBuf| async move {
        match DirModelStore::new(dir).load("chan", None).await.unwrap() {
            ModelFetch::Loaded { model, .. } => model.windows_seen,
            other => panic!("{other:?}"),
        }
    };
    let first = seen(dir.path().join("models")).await;
    assert!(first > 0);
    // The next run reads the same windows (cursor not committed) and learns none of them again.
    let report = trainer.handle(now + 600_000).await.unwrap();
    assert_eq!(report.channels, 1);
    assert_eq!(seen(dir.path().join("models")).await, first);
}
