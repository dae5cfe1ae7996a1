//! The clip state machine, shared by the relay's local pipeline (which sleeps on tokio timers
//! between steps) and the clip Lambda (which sends itself delayed SQS messages instead).
//!
//! [`step`] runs one step of a [`ClipRequest`] against a [`ClipApi`] and says what happened:
//! either [`Step::Done`] with the final [`ClipRecord`], or [`Step::Again`] with the next request,
//! how long to wait before running it, and an interim record to store. The function is pure
//! apart from the API calls: time comes in as `now_ms`, nothing sleeps.
//!
//! * **Create** phase: Create Clip. 202 → Confirm phase after `confirm_backoff[0]`. 429 → again
//!   at the `Ratelimit-Reset` (at least 1 s). 5xx or network → again with exponential backoff
//!   (`retry_base`, doubling, capped at 60 s) until `max_create_attempts` calls were made, then
//!   Failed. 403 → Failed and the channel should be paused. 404 → Skipped (not live). 401 (after
//!   the client's own refresh and retry) → Failed, "token rejected". Without an API (no user
//!   token), or when the API has no user token at call time (`MissingCredentials`): WouldClip.
//! * **Confirm** phase: Get Clips with the clip id. Found → Confirmed with its URL. Not found (or
//!   Get Clips failing) → check again after the next `confirm_backoff` step; after the last step
//!   → Failed, "not confirmed after N s". The Confirm phase never calls Create Clip.
//!
//! # Idempotency contract (callers)
//!
//! Requests are keyed by `request_id`, and a queue may deliver a message twice. So:
//!
//! 1. Before running a **Create** step, look the `request_id` up in the
//!    [`crate::roles::ClipStore`] and run it only if [`should_create`] (or, with the request at
//!    hand, [`should_run`]) says so. A redelivered Create for a request that is already Pending
//!    with a clip id, Confirmed, or finished must not call Create Clip again.
//! 2. On [`Step::Again`], **store the interim record first** (for a Confirm step it holds the
//!    clip id), then schedule the next request. If storing fails, do not schedule; if scheduling
//!    fails after storing, a retry of the same message is safe (rule 1 stops a second clip).
//! 3. On [`Step::Done`], store the record; if `pause_channel` is set, pause the channel (clips
//!    are disabled or the token's user is banned there) and say why.

use std::time::Duration;

use clipper_models::{ClipPhase, ClipRequest, Millis};

use crate::record::{ClipRecord, ClipStatus};
use crate::roles::ClipApi;
use crate::twitch::HelixError;

/// Longest wait between two Create Clip attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);
/// Create Clip captures what the stream shows at the call (ending ~5 s later): a call more than
/// this long after the clip was due would capture another moment, so such a request is recorded
/// as expired instead (after looking for a clip an earlier call may have made).
pub const MAX_CREATE_LATENESS_MS: Millis = 90_000;
/// How far before a lost call's send time a clip it made may be dated (clock skew).
const ADOPT_SLACK_MS: Millis = 5_000;
/// How long after a Create Clip whose answer was lost the flow keeps trying to find out
/// whether it made a clip (Get Clips failing meanwhile: a Helix outage). Adopting needs no
/// live stream, so this outlasts Twitch's 90 s reach; after it the record says the outcome is
/// unknown.
pub const ADOPT_WINDOW_MS: Millis = 10 * 60_000;
/// Shortest wait after a 429.
const MIN_RATE_LIMIT_DELAY: Duration = Duration::from_secs(1);

/// Timing of the clip flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipFlowConfig {
    /// Wait before each Get Clips check after Create Clip answered 202: check `i` runs
    /// `confirm_backoff[i]` after the previous step. Default 15 s, 30 s, 60 s (the clip is
    /// called failed about 105 s after creation). An empty list means one check after 15 s.
    pub confirm_backoff: Vec<Duration>,
    /// Create Clip calls at most (first try included) for retryable errors. Default 4.
    pub max_create_attempts: u32,
    /// Wait after the first failed Create Clip; doubles per attempt, capped at 60 s.
    /// Default 5 s.
    pub retry_base: Duration,
}

impl Default for ClipFlowConfig {
    fn default() -> Self {
        ClipFlowConfig {
            confirm_backoff: vec![
                Duration::from_secs(15),
                Duration::from_secs(30),
                Duration::from_secs(60),
            ],
            max_create_attempts: 4,
            retry_base: Duration::from_secs(5),
        }
    }
}

impl ClipFlowConfig {
    fn confirm_delays(&self) -> &[Duration] {
        const FALLBACK: &[Duration] = &[Duration::from_secs(15)];
        if self.confirm_backoff.is_empty() {
            FALLBACK
        } else {
            &self.confirm_backoff
        }
    }

    /// Wait after `failed` failed Create Clip attempts (1 → `retry_base`, then doubling, at
    /// most 60 s).
    pub fn retry_delay(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1));
        self.retry_base
            .checked_mul(factor)
            .unwrap_or(MAX_RETRY_DELAY)
            .min(MAX_RETRY_DELAY)
    }
}

/// Outcome of one [`step`].
// Both variants are large (a record each); a step result is made and consumed once, so boxing
// would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Finished: store `record`. `pause_channel` carries the reason when the channel should be
    /// paused (Create Clip answered 403).
    Done {
        record: ClipRecord,
        pause_channel: Option<String>,
    },
    /// Store `record` (interim, status Pending), then run `request` after `after`.
    Again {
        request: ClipRequest,
        after: Duration,
        record: ClipRecord,
    },
}

impl Step {
    /// The record to store, final or interim.
    pub fn record(&self) -> &ClipRecord {
        match self {
            Step::Done { record, .. } | Step::Again { record, .. } => record,
        }
    }
}

impl ClipRecord {
    /// A record of `req`'s decision with `status`: moment, scores, features and title from the
    /// [`clipper_models::ClipDecision`]; clip id, URLs and creation time from a Confirm phase;
    /// `attempts` = Create Clip calls made (the request's failed attempts, plus the successful
    /// one in the Confirm phase).
    pub fn from_request(req: &ClipRequest, status: ClipStatus) -> ClipRecord {
        let d = &req.decision;
        let (clip_id, edit_url, created_at_ms, succeeded) = match &req.phase {
            ClipPhase::Create => (None, None, None, 0),
            ClipPhase::Confirm {
                clip_id,
                edit_url,
                created_at_ms,
                ..
            } => (
                Some(clip_id.clone()),
                Some(edit_url.clone()),
                Some(*created_at_ms),
                1,
            ),
        };
        ClipRecord {
            request_id: req.request_id.clone(),
            channel: req.channel.clone(),
            broadcaster_id: req.broadcaster_id.clone(),
            trigger_ms: d.trigger_ms,
            peak_ms: d.peak_ms,
            created_at_ms,
            kind: d.kind,
            score: d.score,
            scores: d.scores,
            features: d.features.clone(),
            title: d.title.clone(),
            forced_by: d.forced_by.clone(),
            status,
            clip_id,
            url: None,
            edit_url,
            error: None,
            attempts: req.attempt.saturating_add(succeeded),
            next_due_ms: None,
            resume: None,
        }
    }

    fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }
}

/// Whether a Create step may call Create Clip, given the stored record of its `request_id`:
/// yes with no record, or with a Pending record without a clip id (an earlier attempt failed
/// and this is its scheduled retry); no once a clip id exists or the request finished
/// (Confirmed, Failed, Skipped, WouldClip).
pub fn should_create(existing: Option<&ClipRecord>) -> bool {
    match existing {
        None => true,
        Some(r) => r.status == ClipStatus::Pending && r.clip_id.is_none(),
    }
}

/// Whether to run `req` at all, given the stored record: a Create step as [`should_create`] and
/// not older than the stored attempt count (a redelivered first attempt after a retry was
/// scheduled is dropped); a Confirm step unless the request already finished.
pub fn should_run(existing: Option<&ClipRecord>, req: &ClipRequest) -> bool {
    match req.phase {
        ClipPhase::Create => {
            should_create(existing) && existing.is_none_or(|r| req.attempt >= r.attempts)
        }
        ClipPhase::Confirm { .. } => existing.is_none_or(|r| r.status == ClipStatus::Pending),
    }
}

/// Run one step of `req`. `api` is `None` in dry run (no user token): the clip is recorded as
/// WouldClip. See the module documentation for the transitions and the caller's contract.
pub async fn step<A: ClipApi>(
    api: Option<&A>,
    cfg: &ClipFlowConfig,
    req: ClipRequest,
    now_ms: Millis,
) -> Step {
    match req.phase.clone() {
        ClipPhase::Create => create_step(api, cfg, req, now_ms).await,
        ClipPhase::Confirm {
            clip_id,
            edit_url,
            created_at_ms,
            check,
        } => {
            let Some(api) = api else {
                let record = ClipRecord::from_request(&req, ClipStatus::Failed)
                    .with_error("confirmation step without a Twitch client");
                return Step::Done {
                    record,
                    pause_channel: None,
                };
            };
            confirm_step(api, cfg, req, clip_id, edit_url, created_at_ms, check).await
        }
    }
}

/// The record written just before a Create Clip call: Pending, no clip id, `created_at_ms` = the
/// call time, and (for a local store) the request to resume with, marked as called so that a
/// restart looks for the clip the call may have made before calling again.
pub fn intent_record(req: &ClipRequest, now_ms: Millis) -> ClipRecord {
    let mut r = ClipRecord::from_request(req, ClipStatus::Pending);
    r.created_at_ms = Some(now_ms);
    r.attempts = req.attempt;
    let mut next = req.clone();
    next.last_call_ms = Some(now_ms);
    r.resume = Some(Box::new(next));
    r
}

/// The record of a clip scheduled but not yet due (written at the trigger, so that a stop or a
/// crash before the due time does not lose it).
pub fn scheduled_record(req: &ClipRequest) -> ClipRecord {
    let mut r = ClipRecord::from_request(req, ClipStatus::Pending);
    r.next_due_ms = Some(req.decision.fire_at_ms);
    r.resume = Some(Box::new(req.clone()));
    r
}

/// The request a Pending record resumes with, if it was written by a worker that keeps them.
pub fn resume_request(record: &ClipRecord) -> Option<ClipRequest> {
    (record.status == ClipStatus::Pending)
        .then(|| record.resume.as_deref().cloned())
        .flatten()
}

fn done(record: ClipRecord) -> Step {
    Step::Done {
        record,
        pause_channel: None,
    }
}

async fn create_step<A: ClipApi>(
    api: Option<&A>,
    cfg: &ClipFlowConfig,
    mut req: ClipRequest,
    now_ms: Millis,
) -> Step {
    let Some(api) = api else {
        return done(ClipRecord::from_request(&req, ClipStatus::WouldClip));
    };
    let Some(broadcaster_id) = req.broadcaster_id.clone().filter(|b| !b.is_empty()) else {
        let record = ClipRecord::from_request(&req, ClipStatus::Failed).with_error(format!(
            "no broadcaster id known for channel {} (user lookup failed?)",
            req.channel
        ));
        return done(record);
    };
    // An earlier Create Clip for this moment was sent and its answer lost (timeout, crash
    // before the record was written, 5xx after Twitch made the clip): adopt the clip it made,
    // if Twitch lists one by our user since that call, instead of making a second.
    if let Some(called) = req.last_call_ms {
        match api
            .find_own_clips(&broadcaster_id, called.saturating_sub(ADOPT_SLACK_MS))
            .await
        {
            Ok(clips) => {
                if let Some(clip) = clips.into_iter().next() {
                    tracing::info!(channel = %req.channel, request_id = %req.request_id,
                        clip_id = %clip.id, "an earlier Create Clip made this clip; adopting it");
                    req.phase = ClipPhase::Confirm {
                        edit_url: format!("https://clips.twitch.tv/{}/edit", clip.id),
                        clip_id: clip.id,
                        created_at_ms: called,
                        check: 0,
                    };
                    let mut record = ClipRecord::from_request(&req, ClipStatus::Confirmed);
                    record.url = Some(clip.url);
                    record.attempts = req.attempt;
                    return done(record);
                }
            }
            Err(e) if !e.is_retryable() => {
                // The lookup cannot work (no user id for the token, a 4xx): it would fail the
                // same way later, so make the clip rather than lose the moment.
                tracing::warn!(channel = %req.channel, request_id = %req.request_id,
                    error = %crate::twitch::error::chain(&e),
                    "cannot look for a clip an earlier call may have made; creating it");
            }
            Err(e) => {
                // Not knowing whether the clip exists, do not risk a second one now: look again
                // later, with backoff, for as long as a clip it made could still be adopted
                // (the lookups count as attempts for the backoff only).
                let attempts = req.attempt.saturating_add(1);
                let msg = crate::twitch::error::chain(&e);
                tracing::warn!(channel = %req.channel, request_id = %req.request_id, error = %msg,
                    "cannot look for the clip an earlier call may have made; retrying later");
                if now_ms.saturating_sub(called) > ADOPT_WINDOW_MS {
                    let mut r =
                        ClipRecord::from_request(&req, ClipStatus::Failed).with_error(format!(
                            "outcome unknown: a Create Clip answer was lost and Get Clips kept \
                             failing for {} min: {msg}",
                            ADOPT_WINDOW_MS / 60_000
                        ));
                    r.attempts = attempts;
                    return done(r);
                }
                req.attempt = attempts;
                let mut r = ClipRecord::from_request(&req, ClipStatus::Pending).with_error(msg);
                r.attempts = attempts;
                return Step::Again {
                    after: cfg.retry_delay(attempts),
                    request: req,
                    record: r,
                };
            }
        }
    }
    let late = now_ms.saturating_sub(req.decision.fire_at_ms);
    if late > MAX_CREATE_LATENESS_MS {
        tracing::warn!(channel = %req.channel, request_id = %req.request_id, late_s = late / 1000,
            "clip request expired: the moment is out of Twitch's reach");
        let mut r = ClipRecord::from_request(&req, ClipStatus::Failed).with_error(format!(
            "expired: {} s after the moment (Create Clip captures only what is live)",
            late / 1000
        ));
        r.attempts = req.attempt;
        return done(r);
    }
    let title = Some(req.decision.title.trim()).filter(|t| !t.is_empty());
    // The span the decision chose (reaching back to the moment), in Twitch's 0.1 s steps.
    let duration_s = Some((req.decision.duration_ms as f64 / 100.0).round() / 10.0);
    let result = api.create_clip(&broadcaster_id, title, duration_s).await;
    let attempts = req.attempt.saturating_add(1);
    match result {
        Ok(created) => {
            tracing::info!(
                channel = %req.channel,
                request_id = %req.request_id,
                clip_id = %created.id,
                "clip created; confirming"
            );
            req.phase = ClipPhase::Confirm {
                clip_id: created.id,
                edit_url: created.edit_url,
                created_at_ms: now_ms,
                check: 0,
            };
            let record = ClipRecord::from_request(&req, ClipStatus::Pending);
            Step::Again {
                after: cfg.confirm_delays()[0],
                request: req,
                record,
            }
        }
        Err(e) => {
            let failed = |req: &ClipRequest, status, msg: String| {
                let mut r = ClipRecord::from_request(req, status).with_error(msg);
                r.attempts = attempts;
                r
            };
            let msg = crate::twitch::error::chain(&e);
            tracing::warn!(
                channel = %req.channel,
                request_id = %req.request_id,
                attempt = attempts,
                error = %msg,
                "Create Clip failed"
            );
            match e {
                HelixError::ClippingForbidden { message } => Step::Done {
                    record: failed(&req, ClipStatus::Failed, msg),
                    pause_channel: Some(format!("clipping forbidden: {message}")),
                },
                HelixError::NotLive => done(failed(&req, ClipStatus::Skipped, "not live".into())),
                // No user token yet (a shared store still empty): what dry run records.
                HelixError::MissingCredentials(_) => done(failed(&req, ClipStatus::WouldClip, msg)),
                HelixError::Unauthorized { .. } | HelixError::InvalidRefreshToken { .. } => done(
                    failed(&req, ClipStatus::Failed, format!("token rejected: {msg}")),
                ),
                e if e.is_retryable() => {
                    if attempts >= cfg.max_create_attempts.max(1) {
                        return done(failed(
                            &req,
                            ClipStatus::Failed,
                            format!("gave up after {attempts} attempts: {msg}"),
                        ));
                    }
                    let after = match &e {
                        HelixError::RateLimited {
                            reset_at_ms: Some(reset),
                        } => {
                            let ms = u64::try_from(reset.saturating_sub(now_ms)).unwrap_or(0);
                            Duration::from_millis(ms).max(MIN_RATE_LIMIT_DELAY)
                        }
                        _ => cfg.retry_delay(attempts),
                    };
                    req.attempt = attempts;
                    // The call may have made a clip whose answer was lost (a timeout, a
                    // 5xx): the next attempt looks for it first. A 429 made nothing.
                    if !matches!(e, HelixError::RateLimited { .. }) {
                        req.last_call_ms = Some(now_ms);
                    }
                    let record = failed(&req, ClipStatus::Pending, msg);
                    Step::Again {
                        request: req,
                        after,
                        record,
                    }
                }
                _ => done(failed(&req, ClipStatus::Failed, msg)),
            }
        }
    }
}

async fn confirm_step<A: ClipApi>(
    api: &A,
    cfg: &ClipFlowConfig,
    mut req: ClipRequest,
    clip_id: String,
    edit_url: String,
    created_at_ms: Millis,
    check: u32,
) -> Step {
    let found = match api.get_clips(std::slice::from_ref(&clip_id)).await {
        Ok(clips) => clips.into_iter().find(|c| c.id == clip_id),
        Err(e) => {
            tracing::debug!(
                request_id = %req.request_id,
                %clip_id,
                error = %crate::twitch::error::chain(&e),
                "Get Clips failed; counts as not found yet"
            );
            None
        }
    };
    if let Some(clip) = found {
        tracing::info!(channel = %req.channel, %clip_id, url = %clip.url, "clip confirmed");
        let mut record = ClipRecord::from_request(&req, ClipStatus::Confirmed);
        record.url = Some(clip.url);
        return done(record);
    }
    let delays = cfg.confirm_delays();
    let next = check.saturating_add(1);
    match delays.get(next as usize) {
        Some(&after) => {
            req.phase = ClipPhase::Confirm {
                clip_id,
                edit_url,
                created_at_ms,
                check: next,
            };
            let record = ClipRecord::from_request(&req, ClipStatus::Pending);
            Step::Again {
                request: req,
                after,
                record,
            }
        }
        None => {
            let waited: u64 = delays.iter().map(Duration::as_secs).sum();
            tracing::warn!(channel = %req.channel, %clip_id, waited_s = waited, "clip never confirmed");
            done(
                ClipRecord::from_request(&req, ClipStatus::Failed)
                    .with_error(format!("not confirmed after {waited} s")),
            )
        }
    }
}
