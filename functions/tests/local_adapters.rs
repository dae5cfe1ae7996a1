//! The local adapters of the roles: model directory, JSONL clip store, claims, channels file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use clipper_functions::local::{
    model_path, DirModelStore, JsonChannelStore, JsonlClipStore, MemoryClaims,
};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::{
    ChannelConfig, ChannelStore, ClipStore, ModelFetch, ModelStore, MomentClaims,
};
use clipper_models::{ChannelModel, ClipDecision, ClipRequest, ModelConfig, Scores, TriggerKind};

const T0: i64 = 1_767_225_600_000;

#[tokio::test]
async fn dir_model_store_roundtrip_unchanged_and_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirModelStore::new(dir.path());
    assert!(matches!(
        store.load("Chan", None).await.unwrap(),
        ModelFetch::Missing
    ));
    let mut m = ChannelModel::new("chan", ModelConfig::default());
    for w in common::windows("chan", T0, 3, None) {
        m.assess(&w);
    }
    let v = store.save(&m).await.unwrap();
    assert!(
        dir.path().join("chan.clipper-model.json").exists(),
        "relay naming"
    );
    assert_eq!(
        model_path(dir.path(), "Chan#1"),
        dir.path().join("chan_1.clipper-model.json")
    );
    match store.load("chan", None).await.unwrap() {
        ModelFetch::Loaded { model, version } => {
            assert_eq!(version, v);
            assert_eq!(model.buffered(), m.buffered());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.load("chan", Some(&v)).await.unwrap(),
        ModelFetch::Unchanged
    ));
    // No temporary file is left behind by the atomic write.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    std::fs::write(
        dir.path().join("chan.clipper-model.json"),
        b"{\"format_version\":1,",
    )
    .unwrap();
    // One corrupt-file policy everywhere local (issue 9): moved aside, a fresh model.
    assert!(matches!(
        store.load("chan", Some(&v)).await.unwrap(),
        ModelFetch::Missing
    ));
    assert!(dir.path().join("chan.clipper-model.json.corrupt").exists());
}

fn record(channel: &str, t: i64, status: ClipStatus) -> ClipRecord {
    let d = ClipDecision {
        channel: channel.into(),
        trigger_ms: t,
        peak_ms: t,
        fire_at_ms: t + 7_000,
        kind: TriggerKind::Velocity,
        score: 0.7,
        scores: Scores::default(),
        features: None,
        merged: 0,
        forced_by: None,
        title: "Chat explodes".into(),
        duration_ms: 30_000,
    };
    ClipRecord::from_request(&ClipRequest::new(d, None), status)
}

#[tokio::test]
async fn jsonl_clip_store_upserts_survives_a_torn_line_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let store = JsonlClipStore::open(dir.path()).unwrap();
    let mut a = record("a", T0, ClipStatus::Pending);
    store.put(&a).await.unwrap();
    store.put(&a).await.unwrap(); // unchanged: no new line
    a.status = ClipStatus::Confirmed;
    a.clip_id = Some("Abc".into());
    store.put(&a).await.unwrap();
    store
        .put(&record("b", T0 + 10, ClipStatus::WouldClip))
        .await
        .unwrap();
    store
        .put(&record("a", T0 + 99, ClipStatus::Failed))
        .await
        .unwrap();
    let lines = std::fs::read_to_string(store.jsonl_path()).unwrap();
    assert_eq!(lines.lines().count(), 4);
    let urls = std::fs::read_to_string(store.urls_path()).unwrap();
    let urls: Vec<&str> = urls.lines().collect();
    assert_eq!(urls.len(), 2, "final clips only: {urls:?}");
    assert!(urls[0]
        .starts_with("https://clips.twitch.tv/Abc\ta\t2026-01-01T00:00:00Z\tvelocity\t0.70\t"));
    assert!(urls[1].starts_with("would clip\tb\t"));
    // A crash mid-write leaves a torn last line: it is skipped on load.
    std::fs::write(store.jsonl_path(), format!("{lines}{{\"request_id\":\"x")).unwrap();
    let reopened = JsonlClipStore::open(dir.path()).unwrap();
    assert_eq!(
        reopened.get(&a.request_id).await.unwrap().unwrap(),
        a,
        "latest line wins"
    );
    let only_a = reopened.list(Some("a"), None).await.unwrap();
    assert_eq!(only_a.len(), 2);
    assert_eq!(reopened.list(None, Some(T0 + 5)).await.unwrap().len(), 2);
    // The next record after the torn line is kept.
    let c = record("c", T0 + 200, ClipStatus::Pending);
    reopened.put(&c).await.unwrap();
    let again = JsonlClipStore::open(dir.path()).unwrap();
    assert_eq!(again.get(&c.request_id).await.unwrap().unwrap(), c);
}

#[tokio::test]
async fn memory_claims_follow_the_dynamodb_rule() {
    let c = MemoryClaims::new();
    assert!(c.claim("ch", T0, 60_000, "ch:1").await.unwrap());
    assert!(
        c.claim("ch", T0, 60_000, "ch:1").await.unwrap(),
        "retry of the winner"
    );
    assert!(!c.claim("ch", T0 + 59_999, 60_000, "ch:2").await.unwrap());
    assert!(c.claim("ch", T0 + 60_000, 60_000, "ch:3").await.unwrap());
    assert!(c.claim("other", T0, 60_000, "other:1").await.unwrap());
}

#[tokio::test]
async fn json_channel_store_crud() {
    let dir = tempfile::tempdir().unwrap();
    let store = JsonChannelStore::new(dir.path().join("channels.json"));
    assert!(store.list().await.unwrap().is_empty());
    store.put(&ChannelConfig::new("#Zed")).await.unwrap();
    let mut a = ChannelConfig::new("alpha");
    a.threshold = Some(0.8);
    store.put(&a).await.unwrap();
    assert_eq!(
        store.list().await.unwrap(),
        vec![a.clone(), ChannelConfig::new("zed")]
    );
    common::disable_then_remove(&store, a, "zed").await;
}
