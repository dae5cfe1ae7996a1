//! Shared helpers of the functions tests: synthetic windows, a scripted Twitch clip API, SQS
//! events as Lambda sends them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use clipper_functions::handlers::QueueBatch;
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipApi};
use clipper_functions::twitch::{ClipInfo, CreatedClip, HelixError};
use clipper_models::{Millis, WindowBatch, WindowEnvelope, WindowFeatures, WIRE_VERSION};

/// Windows of `minutes` of calm chat in `channel` starting at `t0`, with a burst of laughter
/// at `burst_at_ms` (offset from `t0`) when given: the shared fixture of `clipper_models`.
pub fn windows(
    channel: &str,
    t0: Millis,
    minutes: i64,
    burst_at_ms: Option<Millis>,
) -> Vec<WindowFeatures> {
    let chat = clipper_models::fixture::chat(channel, t0, minutes, burst_at_ms);
    clipper_models::fixture::windows_until(&chat, t0 + minutes * 60_000)
}

/// Pack windows of several channels into one batch per 5 s tick, as a relay does.
pub fn batches(
    relay: &str,
    per_channel: &[Vec<WindowFeatures>],
    live: Option<bool>,
) -> Vec<WindowBatch> {
    let mut all: Vec<&WindowFeatures> = per_channel.iter().flatten().collect();
    all.sort_by_key(|w| (w.end_ms, w.channel.clone()));
    let mut out: Vec<WindowBatch> = Vec::new();
    for w in all {
        let env = WindowEnvelope {
            channel: w.channel.clone(),
            broadcaster_id: Some(format!("id_{}", w.channel)),
            live,
            features: w.clone(),
            forced_by: None,
        };
        match out.last_mut() {
            Some(b) if b.windows[0].features.end_ms == w.end_ms => b.windows.push(env),
            _ => {
                let seq = out.len() as u64;
                out.push(WindowBatch {
                    v: WIRE_VERSION,
                    relay: relay.into(),
                    seq,
                    windows: vec![env],
                });
            }
        }
    }
    out
}

/// An SQS event (Lambda's JSON) with one record per body.
pub fn sqs_event(bodies: &[String], first_id: usize) -> QueueBatch {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            serde_json::json!({
                "messageId": format!("msg-{}", first_id + i),
                "receiptHandle": format!("rh-{}", first_id + i),
                "body": b,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000"},
                "messageAttributes": {},
                "md5OfBody": "00000000000000000000000000000000",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

pub fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

/// A Twitch clip API that fails the first `fail_first` Create Clip calls with a 503, then
/// creates clips `clip0`, `clip1`, …; Get Clips finds every created clip.
#[derive(Debug, Default)]
pub struct FakeClipApi {
    pub fail_first: u32,
    pub create_calls: AtomicU32,
    pub created: Mutex<Vec<(String, Option<String>)>>,
    pub get_calls: AtomicU32,
}

impl FakeClipApi {
    pub fn failing_first(n: u32) -> Self {
        FakeClipApi {
            fail_first: n,
            ..Self::default()
        }
    }

    pub fn created(&self) -> Vec<(String, Option<String>)> {
        self.created.lock().unwrap().clone()
    }
}

impl ClipApi for FakeClipApi {
    async fn create_clip(
        &self,
        broadcaster_id: &str,
        title: Option<&str>,
        _duration_s: Option<f64>,
    ) -> Result<CreatedClip, HelixError> {
        let n = self.create_calls.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_first {
            return Err(HelixError::Server {
                status: 503,
                message: "Service Unavailable".into(),
            });
        }
        let mut created = self.created.lock().unwrap();
        let id = format!("clip{}", created.len());
        created.push((broadcaster_id.to_owned(), title.map(str::to_owned)));
        Ok(serde_json::from_value(serde_json::json!({
            "id": id,
            "edit_url": format!("https://clips.twitch.tv/{id}/edit"),
        }))
        .unwrap())
    }

    async fn get_clips(&self, ids: &[String]) -> Result<Vec<ClipInfo>, HelixError> {
        self.get_calls.fetch_add(1, Ordering::SeqCst);
        let created = self.created.lock().unwrap();
        Ok(ids
            .iter()
            .filter(|id| {
                id.strip_prefix("clip")
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n < created.len())
            })
            .map(|id| {
                serde_json::from_value(serde_json::json!({
                    "id": id,
                    "url": format!("https://clips.twitch.tv/{id}"),
                    "title": "t",
                    "created_at": "2026-01-01T00:00:10Z",
                    "broadcaster_id": "123",
                    "creator_name": "clipper",
                    "duration": 30.0,
                    "view_count": 0,
                    "thumbnail_url": "",
                }))
                .unwrap()
            })
            .collect())
    }
}

/// The end of every channel store's test: `first` (listed first) disabled stays listed,
/// disabled; `other` is removed once, then is gone.
pub async fn disable_then_remove<C: ChannelStore>(
    store: &C,
    mut first: ChannelConfig,
    other: &str,
) {
    first.enabled = false;
    store.put(&first).await.unwrap();
    assert!(!store.list().await.unwrap()[0].enabled);
    assert!(store.remove(other).await.unwrap());
    assert!(!store.remove(other).await.unwrap());
    assert_eq!(store.list().await.unwrap().len(), 1);
}
