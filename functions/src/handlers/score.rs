//! score: an SQS batch of [`WindowBatch`](clipper_models::WindowBatch) messages → per-channel
//! model → score → decision (the relay's code: [`ChannelScorer`]) → on a trigger, claim the
//! moment and put the clip request on the clip queue, delayed until it is due.
//!
//! * Models come from the [`ModelStore`] and stay cached across invocations; a cached model is
//!   re-checked by version at most every `model_refresh_ms` (default 60 s).
//! * Channel settings (enabled, threshold, cooldown) come from the [`ChannelStore`], re-read at
//!   most every `channels_refresh_ms`; a channel missing there is scored with the defaults.
//! * A record that does not decode, or has another wire version, is reported failed, so SQS
//!   redelivers it and after `maxReceiveCount` moves it to the dead-letter queue. A channel whose
//!   claim or scheduling fails fails the records that carried its windows (and its cached state
//!   is dropped, so the redelivered windows are scored again from the stored model).
//! * Windows already seen for a channel (a duplicated delivery) are skipped.
//! * Scored windows go to the [`WindowArchive`] for retraining, once per channel per batch,
//!   and (when set) to the dashboard's [`Timeline`]; neither failing fails the batch.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use clipper_models::{
    ChannelScorer, ClipDecision, ClipRequest, DecisionConfig, DetectorConfig, Millis, TriggerKind,
    WindowBatch, WindowEnvelope, WindowFeatures,
};

use super::metrics::{self, COUNTS};
use super::{decode_message, BatchOutcome, QueueBatch};
use crate::error::{FunctionsError, Result};
use crate::roles::{
    ChannelConfig, ChannelStore, ClipScheduler, ModelFetch, ModelStore, MomentClaims, Timeline,
    WindowArchive, WindowPoint,
};

/// Settings of the score handler.
#[derive(Debug, Clone)]
pub struct ScoreConfig {
    /// Detection parameters (per-channel threshold and cooldown override the decision's).
    pub detector: DetectorConfig,
    /// Re-check a cached model's version at most this often. Default 60 s.
    pub model_refresh_ms: Millis,
    /// Re-read channel settings at most this often. Default 60 s.
    pub channels_refresh_ms: Millis,
    /// Write a channel's window to the dashboard timeline at most this often, unless it
    /// triggered. Default 60 s: one write a minute per channel (1,440 a day, ~$0.002).
    pub timeline_every_ms: Millis,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            detector: DetectorConfig::default(),
            model_refresh_ms: 60_000,
            channels_refresh_ms: 60_000,
            timeline_every_ms: 60_000,
        }
    }
}

#[derive(Debug)]
struct Cached {
    scorer: ChannelScorer,
    version: Option<String>,
    checked_ms: Millis,
    last_end_ms: Millis,
}

#[derive(Debug, Default)]
struct State {
    scorers: HashMap<String, Cached>,
    settings: HashMap<String, ChannelConfig>,
    settings_read_ms: Option<Millis>,
    /// End of the last window written to the timeline, per channel.
    timeline_last: HashMap<String, Millis>,
}

/// What one invocation did (also logged and emitted as metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScoreStats {
    pub records: u64,
    pub failed_records: u64,
    pub windows: u64,
    pub duplicate_windows: u64,
    pub triggers: u64,
    pub scheduled: u64,
    pub claims_lost: u64,
    pub skipped_offline: u64,
    pub skipped_disabled: u64,
}

/// The score function. One per process; invocations may share it (state behind a mutex).
#[derive(Debug)]
pub struct ScoreHandler<M, C, S, A, Ch> {
    models: M,
    claims: C,
    scheduler: S,
    archive: A,
    channels: Ch,
    config: ScoreConfig,
    state: tokio::sync::Mutex<State>,
    timeline: Option<std::sync::Arc<dyn Timeline>>,
}

impl<M, C, S, A, Ch> ScoreHandler<M, C, S, A, Ch>
where
    M: ModelStore,
    C: MomentClaims,
    S: ClipScheduler,
    A: WindowArchive,
    Ch: ChannelStore,
{
    pub fn new(
        models: M,
        claims: C,
        scheduler: S,
        archive: A,
        channels: Ch,
        config: ScoreConfig,
    ) -> Self {
        ScoreHandler {
            models,
            claims,
            scheduler,
            archive,
            channels,
            config,
            state: tokio::sync::Mutex::new(State::default()),
            timeline: None,
        }
    }

    /// Also write each scored window to `t` (the dashboard's timeline).
    pub fn with_timeline(mut self, t: std::sync::Arc<dyn Timeline>) -> Self {
        self.timeline = Some(t);
        self
    }

    pub fn archive(&self) -> &A {
        &self.archive
    }

    /// Handle one queue batch at time `now_ms`.
    pub async fn handle(&self, event: &QueueBatch, now_ms: Millis) -> BatchOutcome {
        self.handle_with_stats(event, now_ms).await.0
    }

    /// [`handle`](Self::handle), also returning what it did.
    pub async fn handle_with_stats(
        &self,
        event: &QueueBatch,
        now_ms: Millis,
    ) -> (BatchOutcome, ScoreStats) {
        metrics::add(&COUNTS.score_invocations, 1);
        let mut stats = ScoreStats {
            records: event.records.len() as u64,
            ..ScoreStats::default()
        };
        let mut failed: Vec<String> = Vec::new();
        let mut per_channel: BTreeMap<String, Vec<(usize, WindowEnvelope)>> = BTreeMap::new();
        for (i, rec) in event.records.iter().enumerate() {
            let decoded = rec
                .body
                .as_deref()
                .ok_or_else(|| FunctionsError::Config("SQS record without a body".into()))
                .and_then(decode_message::<WindowBatch>);
            match decoded {
                Ok(batch) => {
                    metrics::add(&COUNTS.window_batches, 1);
                    for env in batch.windows {
                        per_channel
                            .entry(env.channel.to_ascii_lowercase())
                            .or_default()
                            .push((i, env));
                    }
                }
                Err(e) => {
                    tracing::warn!(message_id = %rec.message_id, receive_count = rec.receive_count,
                        error = %e, "undecodable window batch; failing it (dead-letter queue after maxReceiveCount)");
                    failed.push(rec.message_id.clone());
                }
            }
        }

        let mut state = self.state.lock().await;
        self.refresh_settings(&mut state, now_ms).await;
        for (channel, mut items) in per_channel {
            items.sort_by_key(|(_, e)| e.features.end_ms);
            if let Err(e) = self
                .score_channel(&mut state, &channel, &items, now_ms, &mut stats)
                .await
            {
                tracing::error!(channel, error = %e, retryable = e.is_retryable(),
                    "scoring failed; its records will be redelivered");
                state.scorers.remove(&channel);
                failed.extend(
                    items
                        .iter()
                        .map(|(i, _)| event.records[*i].message_id.clone()),
                );
            }
        }
        drop(state);

        let response = BatchOutcome::failing(failed);
        stats.failed_records = response.failed.len() as u64;
        metrics::add(&COUNTS.records_failed, stats.failed_records);
        tracing::info!(
            records = stats.records,
            failed = stats.failed_records,
            windows = stats.windows,
            duplicates = stats.duplicate_windows,
            triggers = stats.triggers,
            scheduled = stats.scheduled,
            claims_lost = stats.claims_lost,
            skipped_offline = stats.skipped_offline,
            "score batch done"
        );
        metrics::emit(
            "score",
            &[
                ("Windows", stats.windows),
                ("Triggers", stats.triggers),
                ("ClipsScheduled", stats.scheduled),
                ("ClaimsLost", stats.claims_lost),
                ("SkippedOffline", stats.skipped_offline),
                ("FailedRecords", stats.failed_records),
            ],
            now_ms,
        );
        (response, stats)
    }

    async fn refresh_settings(&self, state: &mut State, now_ms: Millis) {
        let due = state
            .settings_read_ms
            .is_none_or(|t| now_ms - t >= self.config.channels_refresh_ms);
        if !due {
            return;
        }
        match self.channels.list().await {
            Ok(list) => {
                state.settings = list.into_iter().map(|c| (c.channel.clone(), c)).collect();
                state.settings_read_ms = Some(now_ms);
            }
            Err(e) => {
                // Keep the settings we had; try again next batch.
                tracing::warn!(error = %e, "cannot read channel settings; keeping the previous ones");
            }
        }
    }

    fn decision_for(&self, settings: Option<&ChannelConfig>) -> DecisionConfig {
        match settings {
            Some(s) => s.decision(&self.config.detector.decision),
            None => self.config.detector.decision.clone(),
        }
    }

    async fn load_scorer(&self, channel: &str, now_ms: Millis) -> Result<Cached> {
        let (model, version) = match self.models.load(channel, None).await {
            Ok(ModelFetch::Loaded { model, version }) => (Some(*model), Some(version)),
            Ok(ModelFetch::Missing | ModelFetch::Unchanged) => (None, None),
            Err(e @ FunctionsError::CorruptModel { .. }) => {
                tracing::error!(channel, error = %e, "stored model is corrupt; scoring with a fresh one until train replaces it");
                (None, None)
            }
            Err(e) => return Err(e),
        };
        Ok(Cached {
            scorer: ChannelScorer::new(channel, self.config.detector.clone(), model),
            version,
            checked_ms: now_ms,
            last_end_ms: Millis::MIN,
        })
    }

    async fn refresh_model(&self, channel: &str, cached: &mut Cached, now_ms: Millis) {
        if now_ms - cached.checked_ms < self.config.model_refresh_ms {
            return;
        }
        cached.checked_ms = now_ms;
        match self.models.load(channel, cached.version.as_deref()).await {
            Ok(ModelFetch::Loaded { model, version }) => {
                tracing::info!(channel, version, "newer model loaded");
                cached.scorer.replace_model(*model);
                cached.version = Some(version);
            }
            Ok(ModelFetch::Unchanged | ModelFetch::Missing) => {}
            Err(e) => {
                tracing::warn!(channel, error = %e, "cannot refresh model; keeping the cached one")
            }
        }
    }

    async fn score_channel(
        &self,
        state: &mut State,
        channel: &str,
        items: &[(usize, WindowEnvelope)],
        now_ms: Millis,
        stats: &mut ScoreStats,
    ) -> Result<()> {
        let settings = state.settings.get(channel).cloned();
        if settings.as_ref().is_some_and(|s| !s.enabled) {
            stats.skipped_disabled += items.len() as u64;
            tracing::debug!(
                channel,
                windows = items.len(),
                "channel disabled; windows ignored"
            );
            return Ok(());
        }
        let decision = self.decision_for(settings.as_ref());
        if !state.scorers.contains_key(channel) {
            let c = self.load_scorer(channel, now_ms).await?;
            state.scorers.insert(channel.to_owned(), c);
        }
        let Some(cached) = state.scorers.get_mut(channel) else {
            return Err(FunctionsError::Config(format!("no scorer for {channel}")));
        };
        self.refresh_model(channel, cached, now_ms).await;
        let timeline_last = &mut state.timeline_last;
        cached.scorer.set_decision_config(decision.clone());

        let mut archived: Vec<WindowFeatures> = Vec::with_capacity(items.len());
        let mut points: Vec<WindowPoint> = Vec::new();
        for (_, env) in items {
            let end = env.features.end_ms;
            if end <= cached.last_end_ms {
                stats.duplicate_windows += 1;
                continue;
            }
            cached.last_end_ms = end;
            let mut decisions: Vec<ClipDecision> = Vec::new();
            if let Some(by) = &env.forced_by {
                decisions.extend(cached.scorer.force_at(end, by));
            }
            let scored = cached.scorer.on_window(env.features.clone());
            stats.windows += 1;
            metrics::add(&COUNTS.windows, 1);
            decisions.extend(scored.trigger);
            if self.timeline.is_some() {
                let sc = &scored.window.scores;
                let last = timeline_last.get(channel).copied().unwrap_or(Millis::MIN);
                if end.saturating_sub(last) >= self.config.timeline_every_ms
                    || !decisions.is_empty()
                {
                    let mut p = WindowPoint::of(
                        &scored.window.features,
                        Some(sc.combined),
                        Some(sc.threshold),
                    );
                    p.live = env.live;
                    points.push(p);
                    timeline_last.insert(channel.to_owned(), end);
                }
            }
            archived.push(scored.window.features);
            for d in decisions {
                stats.triggers += 1;
                metrics::add(&COUNTS.triggers, 1);
                self.dispatch(d, env, &decision, now_ms, stats).await?;
            }
        }
        if let Err(e) = self.archive.append(channel, &archived).await {
            tracing::warn!(channel, windows = archived.len(), error = %e,
                "cannot archive windows for retraining");
        }
        if let Some(t) = self.timeline.as_ref().filter(|_| !points.is_empty()) {
            if let Err(e) = t.record(&points).await {
                tracing::warn!(channel, windows = points.len(), error = %e,
                    "cannot write windows to the dashboard timeline");
            }
        }
        Ok(())
    }

    async fn dispatch(
        &self,
        d: ClipDecision,
        env: &WindowEnvelope,
        decision: &DecisionConfig,
        now_ms: Millis,
        stats: &mut ScoreStats,
    ) -> Result<()> {
        let channel = d.channel.clone();
        if env.live == Some(false) {
            stats.skipped_offline += 1;
            metrics::add(&COUNTS.skipped_offline, 1);
            tracing::info!(
                channel,
                trigger_ms = d.trigger_ms,
                "channel offline; no clip"
            );
            return Ok(());
        }
        // A forced clip ignores the cooldown but is still one clip per moment.
        let cooldown = if d.kind == TriggerKind::Forced {
            decision.clip_delay_ms
        } else {
            decision.cooldown_ms
        };
        let req = ClipRequest::new(d, env.broadcaster_id.clone());
        let won = self
            .claims
            .claim(&channel, req.decision.trigger_ms, cooldown, &req.request_id)
            .await?;
        if !won {
            stats.claims_lost += 1;
            metrics::add(&COUNTS.claims_lost, 1);
            tracing::info!(channel, request_id = %req.request_id, "moment already claimed; no second clip");
            return Ok(());
        }
        let delay_ms = (req.decision.fire_at_ms - now_ms).max(0);
        self.scheduler
            .schedule(&req, Duration::from_millis(delay_ms.unsigned_abs()))
            .await?;
        stats.scheduled += 1;
        metrics::add(&COUNTS.clips_scheduled, 1);
        tracing::info!(channel, request_id = %req.request_id, kind = %req.decision.kind,
            score = req.decision.score, delay_ms, forced_by = ?req.decision.forced_by, "clip scheduled");
        Ok(())
    }
}
