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
use crate::record::{ClipRecord, ClipStatus};
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
    /// How long a Create step's claim keeps other workers off. Default 100 s: longer than the
    /// clip function may run on one message (its 90 s timeout, batch size 1) and shorter than
    /// the clip queue's visibility timeout (120 s), so a redelivery after a crashed worker finds
    /// the claim free (and looks for the clip the crashed call may have made).
    pub create_claim_ms: Millis,
}

impl Default for ClipHandlerConfig {
    fn default() -> Self {
        ClipHandlerConfig {
            flow: ClipFlowConfig::default(),
            create_claim_ms: 100_000,
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
        let token_failures_before = COUNTS
            .token_save_failures
            .load(std::sync::atomic::Ordering::Relaxed);
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
                (
                    "TokenSaveFailures",
                    COUNTS
                        .token_save_failures
                        .load(std::sync::atomic::Ordering::Relaxed)
                        .saturating_sub(token_failures_before),
                ),
            ],
            now_ms,
        );
        response
    }

    /// Run one request (see the module doc).
    pub async fn run(
        &self,
        mut req: ClipRequest,
        now_ms: Millis,
        holder: &str,
    ) -> Result<ClipOutcome> {
        let existing = self.clips.get(&req.request_id).await?;
        if !clip_flow::should_run(existing.as_ref(), &req) {
            if let Some(stored) = existing.as_ref() {
                if let Some((next, after)) = lost_successor(stored, &req, now_ms) {
                    // The record says a next step is due since long, and nothing ran it: its
                    // message was lost (the send failed after the record was stored). Send it
                    // again; running it twice is safe (see `clip_flow`'s contract).
                    tracing::warn!(request_id = %req.request_id, next = phase_name(&next),
                        "the next clip step was never run; scheduling it again");
                    let mut record = stored.clone();
                    record.next_due_ms = Some(now_ms.saturating_add(after.as_millis() as Millis));
                    self.clips.put(&record).await?;
                    self.scheduler.schedule(&next, after).await?;
                    return Ok(ClipOutcome::Stepped(ClipStatus::Pending));
                }
            }
            tracing::info!(request_id = %req.request_id, phase = ?phase_name(&req),
                stored = ?existing.as_ref().map(|r| r.status), "duplicate or stale clip request; skipped");
            return Ok(ClipOutcome::Skipped);
        }
        // A Create Clip for this moment was sent before and no answer was recorded (the
        // instance was killed between Twitch's 202 and the write): look for its clip first.
        if let Some(stored) = existing.as_ref() {
            if matches!(req.phase, ClipPhase::Create) && req.last_call_ms.is_none() {
                req.last_call_ms = stored.created_at_ms;
            }
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
        if matches!(req.phase, ClipPhase::Create) && self.api.is_some() {
            // Write down that a call is being made before making it, so that a crash before
            // its answer is recorded leads the retry to look for the clip ([`clip_flow`]).
            let mut intent = clip_flow::intent_record(&req, now_ms);
            // The queue holds the request; the record need not.
            intent.resume = None;
            if let Some(e) = existing.as_ref() {
                intent.error.clone_from(&e.error);
            }
            self.clips.put(&intent).await?;
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
                let mut record = record;
                record.next_due_ms = Some(now_ms.saturating_add(after.as_millis() as Millis));
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

/// How long past its due time a next step may be late before it counts as lost (SQS delivers
/// delayed messages within seconds of their delay; a busy worker answers within its timeout).
const LOST_STEP_GRACE_MS: Millis = 60_000;

/// The step `stored` says is next, when it was due more than [`LOST_STEP_GRACE_MS`] ago
/// and `req` (a redelivery of an earlier step) found it not run: the request to send again
/// and its delay.
fn lost_successor(
    stored: &ClipRecord,
    req: &ClipRequest,
    now_ms: Millis,
) -> Option<(ClipRequest, std::time::Duration)> {
    if stored.status != ClipStatus::Pending {
        return None;
    }
    let due = stored.next_due_ms?;
    if now_ms < due.saturating_add(LOST_STEP_GRACE_MS) {
        return None;
    }
    let mut next = req.clone();
    match &stored.clip_id {
        Some(clip_id) => {
            next.phase = ClipPhase::Confirm {
                clip_id: clip_id.clone(),
                edit_url: stored.edit_url.clone().unwrap_or_default(),
                created_at_ms: stored.created_at_ms.unwrap_or(now_ms),
                check: 0,
            };
        }
        None => {
            next.phase = ClipPhase::Create;
            next.attempt = stored.attempts;
            next.last_call_ms = stored.created_at_ms;
        }
    }
    Some((next, std::time::Duration::ZERO))
}

fn phase_name(r: &ClipRequest) -> &'static str {
    match r.phase {
        ClipPhase::Create => "create",
        ClipPhase::Confirm { .. } => "confirm",
    }
}
