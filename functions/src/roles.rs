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

impl ModelFetch {
    /// A stored model read back from its JSON `bytes` (version `version`); a corrupt one is
    /// [`crate::FunctionsError::CorruptModel`] naming `channel`.
    pub fn decode(channel: &str, bytes: &[u8], version: String) -> Result<ModelFetch> {
        let model = ChannelModel::from_json(bytes).map_err(|source| {
            crate::FunctionsError::CorruptModel {
                channel: channel.to_owned(),
                source,
            }
        })?;
        Ok(ModelFetch::Loaded {
            model: Box::new(model),
            version,
        })
    }

    /// The JSON a model is stored as.
    pub fn encode(model: &ChannelModel) -> Result<Vec<u8>> {
        model
            .to_json()
            .map_err(|source| crate::FunctionsError::CorruptModel {
                channel: model.channel.clone(),
                source,
            })
    }
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

/// One closed window as the dashboard's timeline shows it: chat rate, and the score and
/// threshold when it was scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowPoint {
    pub channel: String,
    pub end_ms: Millis,
    pub messages: u32,
    /// Messages per minute over the last 60 s (one decimal).
    pub msgs_per_min: f64,
    #[serde(default)]
    pub score: Option<f64>,
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Live per Helix and the viewer count, when the relay knew them.
    #[serde(default)]
    pub live: Option<bool>,
    #[serde(default)]
    pub viewers: Option<u32>,
}

impl WindowPoint {
    pub fn of(features: &WindowFeatures, score: Option<f64>, threshold: Option<f64>) -> Self {
        WindowPoint {
            channel: features.channel.clone(),
            end_ms: features.end_ms,
            messages: features.messages,
            msgs_per_min: (features.rate_60s * 60.0 * 10.0).round() / 10.0,
            score,
            threshold,
            live: None,
            viewers: features.viewers,
        }
    }
}

/// Recent windows per channel for the dashboard's live timeline and overview (a DynamoDB
/// table with a TTL, written by the score function; locally the dashboard's own board).
/// A view, never a record: a failing write is logged, not retried by redelivery.
#[async_trait::async_trait]
pub trait Timeline: Send + Sync + std::fmt::Debug {
    /// Keep `points` (any channels).
    async fn record(&self, points: &[WindowPoint]) -> Result<()>;
    /// `channel`'s windows that ended after `since_ms`, oldest first, at most `limit`
    /// (the newest ones when there are more).
    async fn recent(
        &self,
        channel: &str,
        since_ms: Millis,
        limit: usize,
    ) -> Result<Vec<WindowPoint>>;
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
    /// Length of this channel's clips in seconds (5–60), instead of the span the detector
    /// chooses to reach back to the moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_duration_s: Option<f64>,
    /// Discord/Slack webhook to post confirmed clips to (legacy single target: Discord
    /// format, Slack when the host is `hooks.slack.com`). Kept working beside `notify`.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Alert targets ([`crate::notify`]); absent in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<crate::notify::NotifyTarget>,
    /// Also alert when a clip fails for good (off by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notify_failures: bool,
    /// Also announce "would clip" records of dry runs (off by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notify_dry_run: bool,
    /// Post `clip: URL` in the channel's own chat once a clip is confirmed (off by default;
    /// needs a user token with `user:write:chat`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chat_link: bool,
    /// Once a day, one message per target listing the day's confirmed clips (off by
    /// default; [`crate::notify::digest`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub digest: bool,
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
            clip_duration_s: None,
            webhook_url: None,
            notify: Vec::new(),
            notify_failures: false,
            notify_dry_run: false,
            chat_link: false,
            digest: false,
        }
    }

    /// `base` (the run's decision settings) with this channel's threshold, cooldown and clip
    /// length: the one place the local driver and the score function apply them.
    pub fn decision(
        &self,
        base: &clipper_models::DecisionConfig,
    ) -> clipper_models::DecisionConfig {
        let mut d = base.clone();
        if let Some(t) = self.threshold {
            d.threshold = t;
        }
        if let Some(c) = self.cooldown_ms {
            d.cooldown_ms = c;
        }
        if let Some(s) = self.clip_duration_s.filter(|s| s.is_finite()) {
            let ms = (s.clamp(5.0, 60.0) * 1000.0).round() as Millis;
            d.min_duration_ms = ms;
            d.max_duration_ms = ms;
        }
        d
    }

    /// The settings for display and export: webhook URLs reduced to their redacted form
    /// (they carry secrets), other targets masked.
    pub fn redacted(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "channel": self.channel,
            "enabled": self.enabled,
            "threshold": self.threshold,
            "cooldown_ms": self.cooldown_ms,
        });
        if let Some(d) = self.clip_duration_s {
            v["clip_duration_s"] = d.into();
        }
        if let Some(w) = &self.webhook_url {
            v["webhook_url"] = match crate::notify::NotifyTarget::from_webhook(w) {
                Ok(t) => t.to_string().into(),
                Err(_) => "(invalid, redacted)".into(),
            };
        }
        if !self.notify.is_empty() {
            v["notify"] = self.notify.iter().map(ToString::to_string).collect();
        }
        if self.notify_failures {
            v["notify_failures"] = true.into();
        }
        if self.notify_dry_run {
            v["notify_dry_run"] = true.into();
        }
        if self.chat_link {
            v["chat_link"] = true.into();
        }
        if self.digest {
            v["digest"] = true.into();
        }
        v
    }
}

/// The set of channels to watch.
pub trait ChannelStore: Send + Sync {
    fn list(&self) -> impl Future<Output = Result<Vec<ChannelConfig>>> + Send;
    fn put(&self, channel: &ChannelConfig) -> impl Future<Output = Result<()>> + Send;
    fn remove(&self, channel: &str) -> impl Future<Output = Result<bool>> + Send;
}

// ---- Twitch roles: clips and the user token ----

/// Creates and looks up Twitch clips ([`crate::twitch::HelixClient`]; scripted fakes in tests).
/// The clip flow ([`crate::clip_flow`]) is written against this.
pub trait ClipApi: Send + Sync {
    /// Create Clip for `broadcaster_id` with an optional title and the clip length the decision
    /// asks for (`duration_s`: the span that reaches back to the moment; an implementation's
    /// configured duration, when set, wins). A 202 is not a clip yet: confirm with
    /// [`ClipApi::get_clips`].
    fn create_clip(
        &self,
        broadcaster_id: &str,
        title: Option<&str>,
        duration_s: Option<f64>,
    ) -> impl Future<
        Output = std::result::Result<crate::twitch::CreatedClip, crate::twitch::HelixError>,
    > + Send;
    /// The clips among `ids` that exist (unknown ids are simply absent).
    fn get_clips(
        &self,
        ids: &[String],
    ) -> impl Future<
        Output = std::result::Result<Vec<crate::twitch::ClipInfo>, crate::twitch::HelixError>,
    > + Send;
    /// Clips of `broadcaster_id` made by this API's own user since `since_ms`, newest first:
    /// how a retry finds the clip an earlier Create Clip made when its answer was lost. The
    /// default knows none (fakes that never lose answers).
    fn find_own_clips(
        &self,
        broadcaster_id: &str,
        since_ms: clipper_models::Millis,
    ) -> impl Future<
        Output = std::result::Result<Vec<crate::twitch::ClipInfo>, crate::twitch::HelixError>,
    > + Send {
        let _ = (broadcaster_id, since_ms);
        async { Ok(Vec::new()) }
    }
}

/// Where the rotated user token pair is kept (local JSON file, a secrets store). A save must be
/// durable when it returns: the previous refresh token may already be spent.
pub trait TokenStore: Send + Sync {
    /// The stored pair, `None` if nothing is stored yet.
    fn load(&self) -> impl Future<Output = Result<Option<crate::twitch::UserTokens>>> + Send;
    /// Replace the stored pair.
    fn save(&self, tokens: &crate::twitch::UserTokens) -> impl Future<Output = Result<()>> + Send;

    /// Rotate the pair whose access token `rejected` was refused: run `refresh` with a refresh
    /// token, persist the new pair, return it. [`crate::twitch::UserAuth`] calls this under its
    /// in-process lock, with `current` its in-memory pair.
    ///
    /// The default (one process per store, e.g. the relay's token file) refreshes `current`'s
    /// refresh token and saves the result. Stores shared by several processes (Lambda
    /// instances) override it to hold a cross-process lease, re-read the stored pair and return
    /// it without refreshing if another process already rotated it.
    ///
    /// If the refresh succeeded but saving failed, return
    /// [`crate::twitch::HelixError::NotPersisted`] with the new pair: the old refresh token may
    /// already be spent, so the caller keeps the new pair in memory.
    fn rotate<F, Fut>(
        &self,
        rejected: &crate::twitch::Secret,
        current: &crate::twitch::UserTokens,
        refresh: F,
    ) -> impl Future<
        Output = std::result::Result<crate::twitch::UserTokens, crate::twitch::HelixError>,
    > + Send
    where
        F: FnOnce(crate::twitch::Secret) -> Fut + Send,
        Fut: Future<
                Output = std::result::Result<crate::twitch::UserTokens, crate::twitch::HelixError>,
            > + Send,
    {
        let _ = rejected;
        let refresh_token = current.refresh_token.clone();
        async move {
            let new = refresh(refresh_token).await?;
            match save_rotated(self, &new).await {
                Ok(()) => Ok(new),
                Err(e) => Err(crate::twitch::HelixError::NotPersisted {
                    tokens: Box::new(new),
                    source: Box::new(e),
                }),
            }
        }
    }
}

/// Attempts [`save_rotated`] makes, and the wait before the second (doubling): 4 attempts over
/// about 1.75 s, well inside the token lease.
const SAVE_ATTEMPTS: u32 = 4;
const SAVE_BACKOFF: std::time::Duration = std::time::Duration::from_millis(250);

/// Save a freshly rotated pair, retrying a failing store (a throttled `PutSecretValue`, a full
/// disk that clears) a few times: the old refresh token may be spent already, so this pair must
/// not be lost. The last error is returned when every attempt failed.
pub async fn save_rotated<S: TokenStore + ?Sized>(
    store: &S,
    tokens: &crate::twitch::UserTokens,
) -> Result<()> {
    let mut wait = SAVE_BACKOFF;
    let mut attempt = 1;
    loop {
        match store.save(tokens).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= SAVE_ATTEMPTS => return Err(e),
            Err(e) => {
                tracing::warn!(attempt, error = %e, "saving the refreshed user token failed; retrying");
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
                attempt += 1;
            }
        }
    }
}

/// A shared store is the store.
impl<T: TokenStore> TokenStore for std::sync::Arc<T> {
    fn load(&self) -> impl Future<Output = Result<Option<crate::twitch::UserTokens>>> + Send {
        (**self).load()
    }

    fn save(&self, tokens: &crate::twitch::UserTokens) -> impl Future<Output = Result<()>> + Send {
        (**self).save(tokens)
    }

    fn rotate<F, Fut>(
        &self,
        rejected: &crate::twitch::Secret,
        current: &crate::twitch::UserTokens,
        refresh: F,
    ) -> impl Future<
        Output = std::result::Result<crate::twitch::UserTokens, crate::twitch::HelixError>,
    > + Send
    where
        F: FnOnce(crate::twitch::Secret) -> Fut + Send,
        Fut: Future<
                Output = std::result::Result<crate::twitch::UserTokens, crate::twitch::HelixError>,
            > + Send,
    {
        (**self).rotate(rejected, current, refresh)
    }
}
