//! clip: a clip-queue batch of [`ClipRequest`]s → [`clip_flow::step`] (Create Clip, then
//! confirmation with Get Clips) → the clips table. Waits are delayed messages to the same queue,
//! never sleeps.
//!
//! Idempotent on `request_id` (the flow's caller contract, [`crate::clip_flow`]):
//!
//! 1. The stored record decides whether a request runs at all ([`clip_flow::should_run`]): a
//!    redelivered Create for a moment that already has a clip id, or has finished, is dropped.
//! 2. Two workers holding the same Create message at once (SQS may deliver a message twice)
//!    race for a claim on `create:<request_id>:<attempt>` ([`MomentClaims`]); the loser reports
//!    the record failed, so it comes back after the visibility timeout and then finds the
//!    winner's record. A claim held by a crashed worker expires after `create_claim_ms`.
//! 3. On [`Step::Again`] the interim record is stored first, then the next request scheduled;
//!    on [`Step::Done`] the record is stored and, when Twitch refused clipping on the channel
//!    (403), the channel is paused (disabled in the channels table) with the reason logged.
//!
//! A record that does not decode or has another wire version is reported failed (poison → DLQ).

use clipper_models::{ClipPhase, ClipRequest, Millis};

use super::metrics::{self, COUNTS};
use super::{decode_message, BatchOutcome, QueueBatch};
use crate::clip_flow::{self, ClipFlowConfig, Step};
use crate::error::{FunctionsError, Result};
use crate::record::ClipStatus;
use crate::roles::{ChannelStore, ClipApi, ClipScheduler, ClipStore, MomentClaims};

/// What a record came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipOutcome {
    /// The flow ran a step (its record is stored).
    Stepped(ClipStatus),
    /// Nothing to do: a duplicate or stale delivery.
    Skipped,
    /// Another worker holds this Create step right now: retry later.
    Busy,
}

/// Settings of the clip handler.
#[derive(Debug, Clone)]
pub struct ClipHandlerConfig {
    pub flow: ClipFlowConfig,
    /// How long a Create step's claim keeps other workers off (longer than a Create Clip call
    /// with its retries can take). Default 60 s.
    pub create_claim_ms: Millis,
}

impl Default for ClipHandlerConfig {
    fn default() -> Self {
        ClipHandlerConfig {
            flow: ClipFlowConfig::default(),
            create_claim_ms: 60_000,
        }
    }
}

/// The clip function.
#[derive(Debug)]
pub struct ClipHandler<A, S, Q, C, Ch> {
    /// `None`: no user token, clips are recorded as WouldClip.
    api: Option<A>,
    clips: S,
    scheduler: Q,
    claims: C,
    channels: Ch,
    config: ClipHandlerConfig,
}

impl<A, S, Q, C, Ch> ClipHandler<A, S, Q, C, Ch>
where
    A: ClipApi,
    S: ClipStore,
    Q: ClipScheduler,
    C: MomentClaims,
    Ch: ChannelStore,
{
    pub fn new(
        api: Option<A>,
        clips: S,
        scheduler: Q,
        claims: C,
        channels: Ch,
        config: ClipHandlerConfig,
    ) -> Self {
        ClipHandler {
            api,
            clips,
            scheduler,
            claims,
            channels,
            config,
        }
    }

    /// The Twitch API, `None` in dry run.
    pub fn api(&self) -> Option<&A> {
        self.api.as_ref()
    }

    pub fn clips(&self) -> &S {
        &self.clips
    }

    /// Handle one queue batch at time `now_ms`; an id for this invocation (the Lambda request
    /// id) marks its Create claims.
    pub async fn handle(
        &self,
        event: &QueueBatch,
        now_ms: Millis,
        invocation: &str,
    ) -> BatchOutcome {
        metrics::add(&COUNTS.clip_invocations, 1);
        let mut failed = Vec::new();
        let (mut stepped, mut skipped, mut busy) = (0u64, 0u64, 0u64);
        for rec in &event.records {
            let id = rec.message_id.clone();
            let req = match rec
                .body
                .as_deref()
                .ok_or_else(|| FunctionsError::Config("SQS record without a body".into()))
                .and_then(decode_message::<ClipRequest>)
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(message_id = %id, receive_count = rec.receive_count, error = %e,
                        "undecodable clip request; failing it (dead-letter queue after maxReceiveCount)");
                    failed.push(id);
                    continue;
                }
            };
            match self.run(req, now_ms, &format!("{invocation}/{id}")).await {
                Ok(ClipOutcome::Stepped(_)) => stepped += 1,
                Ok(ClipOutcome::Skipped) => skipped += 1,
                Ok(ClipOutcome::Busy) => {
                    busy += 1;
                    failed.push(id);
                }
                Err(e) => {
                    tracing::error!(message_id = %id, error = %e, retryable = e.is_retryable(),
                        "clip step failed; the request will be redelivered");
                    failed.push(id);
                }
            }
        }
        let response = BatchOutcome::failing(failed);
        let n_failed = response.failed.len() as u64;
        metrics::add(&COUNTS.records_failed, n_failed);
        tracing::info!(
            records = event.records.len(),
            stepped,
            skipped,
            busy,
            failed = n_failed,
            "clip batch done"
        );
        metrics::emit(
            "clip",
            &[
                ("ClipSteps", stepped),
                ("ClipDuplicates", skipped),
                ("FailedRecords", n_failed),
            ],
            now_ms,
        );
        response
    }

    /// Run one request (see the module doc).
    pub async fn run(&self, req: ClipRequest, now_ms: Millis, holder: &str) -> Result<ClipOutcome> {
        let existing = self.clips.get(&req.request_id).await?;
        if !clip_flow::should_run(existing.as_ref(), &req) {
            tracing::info!(request_id = %req.request_id, phase = ?phase_name(&req),
                stored = ?existing.as_ref().map(|r| r.status), "duplicate or stale clip request; skipped");
            return Ok(ClipOutcome::Skipped);
        }
        if matches!(req.phase, ClipPhase::Create) && self.api.is_some() {
            let key = format!("create:{}:{}", req.request_id, req.attempt);
            if !self
                .claims
                .claim(&key, now_ms, self.config.create_claim_ms, holder)
                .await?
            {
                tracing::info!(request_id = %req.request_id, attempt = req.attempt,
                    "another worker is creating this clip; retrying later");
                return Ok(ClipOutcome::Busy);
            }
        }
        let request_id = req.request_id.clone();
        let channel = req.channel.clone();
        let step = clip_flow::step(self.api.as_ref(), &self.config.flow, req, now_ms).await;
        let status = step.record().status;
        metrics::add(&COUNTS.clip_records, 1);
        match step {
            Step::Again {
                request,
                after,
                record,
            } => {
                self.clips.put(&record).await?;
                self.scheduler.schedule(&request, after).await?;
                tracing::info!(
                    request_id,
                    channel,
                    next = phase_name(&request),
                    after_ms = after.as_millis() as u64,
                    attempt = request.attempt,
                    "clip step scheduled again"
                );
            }
            Step::Done {
                record,
                pause_channel,
            } => {
                self.clips.put(&record).await?;
                if record.status == ClipStatus::Confirmed {
                    metrics::add(&COUNTS.clips_confirmed, 1);
                }
                tracing::info!(request_id, channel, status = ?record.status, url = ?record.url,
                    error = ?record.error, "clip finished");
                if let Some(reason) = pause_channel {
                    self.pause(&channel, &reason).await;
                }
            }
        }
        Ok(ClipOutcome::Stepped(status))
    }

    async fn pause(&self, channel: &str, reason: &str) {
        let current = match self.channels.list().await {
            Ok(list) => list.into_iter().find(|c| c.channel == channel),
            Err(e) => {
                tracing::error!(channel, reason, error = %e, "cannot pause channel");
                return;
            }
        };
        let mut c = current.unwrap_or_else(|| crate::roles::ChannelConfig::new(channel));
        c.enabled = false;
        match self.channels.put(&c).await {
            Ok(()) => tracing::error!(channel, reason, "channel paused: Twitch refused clipping there; re-enable it with `clipper channels set`"),
            Err(e) => tracing::error!(channel, reason, error = %e, "cannot pause channel"),
        }
    }
}

fn phase_name(r: &ClipRequest) -> &'static str {
    match r.phase {
        ClipPhase::Create => "create",
        ClipPhase::Confirm { .. } => "confirm",
    }
}
