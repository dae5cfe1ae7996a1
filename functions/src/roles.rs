//! One small trait per role. Each has a local adapter (embedded mode, tests) and an AWS one
//! (`aws` feature). Handlers and the relay's local pipeline are generic over them.
//!
//! Methods return `impl Future + Send` so adapters can be written with `async fn` and handlers
//! can be spawned on a multi-threaded runtime.

use std::future::Future;
use std::time::Duration;

use clipper_models::{ChannelModel, ClipRequest, Millis, WindowBatch, WindowFeatures};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::record::ClipRecord;

/// Per-channel models (local `models/` directory, S3 bucket).
pub trait ModelStore: Send + Sync {
    /// The stored model of `channel` unless its version equals `known_version` (an ETag or a
    /// file stamp). A corrupt stored model is an error ([`crate::FunctionsError::CorruptModel`]),
    /// never silently replaced.
    fn load(
        &self,
        channel: &str,
        known_version: Option<&str>,
    ) -> impl Future<Output = Result<ModelFetch>> + Send;
    /// Store `model` and return its new version. Earlier versions are kept where the backend
    /// can (S3 versioning); locally the file is replaced atomically.
    fn save(&self, model: &ChannelModel) -> impl Future<Output = Result<String>> + Send;
}

/// Result of [`ModelStore::load`].
#[derive(Debug)]
pub enum ModelFetch {
    Missing,
    Unchanged,
    Loaded {
        model: Box<ChannelModel>,
        version: String,
    },
}

/// Clip records (local `recordings/`, DynamoDB clips table). Writes are upserts keyed by
/// `request_id`, so a retried write never duplicates a record.
pub trait ClipStore: Send + Sync {
    fn put(&self, record: &ClipRecord) -> impl Future<Output = Result<()>> + Send;
    fn get(&self, request_id: &str) -> impl Future<Output = Result<Option<ClipRecord>>> + Send;
    /// Records of `channel` (or all) whose trigger time is at or after `since_ms`, oldest first.
    fn list(
        &self,
        channel: Option<&str>,
        since_ms: Option<Millis>,
    ) -> impl Future<Output = Result<Vec<ClipRecord>>> + Send;
}

/// Claims a moment before a clip is scheduled: true for exactly one caller per channel and
/// cooldown, however many score workers see the same trigger (DynamoDB conditional write;
/// locally a mutex-guarded map).
pub trait MomentClaims: Send + Sync {
    fn claim(
        &self,
        channel: &str,
        trigger_ms: Millis,
        cooldown_ms: Millis,
        request_id: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// Where the relay sends closed windows (SQS windows queue; locally an in-process channel).
pub trait WindowQueue: Send + Sync {
    fn send(&self, batch: &WindowBatch) -> impl Future<Output = Result<()>> + Send;
}

/// Runs a clip request later (SQS clip queue with `DelaySeconds`; locally a tokio timer).
pub trait ClipScheduler: Send + Sync {
    fn schedule(
        &self,
        request: &ClipRequest,
        delay: Duration,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Window features kept for retraining (S3 objects per channel; locally in the model itself).
pub trait WindowArchive: Send + Sync {
    fn append(
        &self,
        channel: &str,
        windows: &[WindowFeatures],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// A channel's settings (DynamoDB channels table; locally flags and `TWITCH_CHANNELS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConfig {
    /// Login, lower case.
    pub channel: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Overrides of the decision threshold and cooldown.
    #[serde(default)]
    pub threshold: Option<f64>,
    #[serde(default)]
    pub cooldown_ms: Option<Millis>,
    /// Discord/Slack webhook to post confirmed clips to.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

fn yes() -> bool {
    true
}

impl ChannelConfig {
    pub fn new(channel: &str) -> Self {
        ChannelConfig {
            channel: channel.trim().trim_start_matches('#').to_ascii_lowercase(),
            enabled: true,
            threshold: None,
            cooldown_ms: None,
            webhook_url: None,
        }
    }
}

/// The set of channels to watch.
pub trait ChannelStore: Send + Sync {
    fn list(&self) -> impl Future<Output = Result<Vec<ChannelConfig>>> + Send;
    fn put(&self, channel: &ChannelConfig) -> impl Future<Output = Result<()>> + Send;
    fn remove(&self, channel: &str) -> impl Future<Output = Result<bool>> + Send;
}
