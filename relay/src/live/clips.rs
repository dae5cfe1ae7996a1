//! The clip worker: runs every due clip through [`clip_flow`] (Create Clip, confirmation on a
//! backoff, retries), sleeping on tokio timers where the clip Lambda sends delayed messages,
//! and records each state in the [`ClipStore`] (locally `recordings/`).
//!
//! Idempotent like the Lambda: a request whose record already shows a clip id or a final
//! state is not created again.
//!
//! Durable across stops: a clip is recorded when it is triggered (Pending, with the request to
//! resume), again just before Create Clip is called, and at every step; a job arriving before
//! its due time waits for it. At start, [`pending_jobs`] turns the Pending records of the store
//! into jobs, so a restart after SIGTERM or `kill -9` makes a clip still within Twitch's reach
//! (an older one ends as expired, a lost Create Clip answer is looked up first), never twice.

use std::sync::Arc;

use clipper_functions::clip_flow::{self, ClipFlowConfig, Step};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::{ClipApi, ClipStore};
use clipper_models::{ClipPhase, Millis};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::driver::{now_ms, ClipJob, Control};
use super::notify::AlertJob;

/// Runs until `jobs` closes and every started clip finished; returns how many records were
/// written in a final state. Final records go to `alerts` (the alert worker) after they are
/// written: a confirmed clip is announced only once its URL exists.
pub async fn run_clip_worker<A, S>(
    api: Option<Arc<A>>,
    store: Arc<S>,
    cfg: ClipFlowConfig,
    mut jobs: mpsc::UnboundedReceiver<ClipJob>,
    control: mpsc::UnboundedSender<Control>,
    alerts: Option<mpsc::UnboundedSender<AlertJob>>,
) -> u64
where
    A: ClipApi + 'static,
    S: ClipStore + 'static,
{
    let mut tasks = JoinSet::new();
    let mut finished = 0;
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => {
                    let (api, store, cfg, control, alerts) = (api.clone(), store.clone(), cfg.clone(), control.clone(), alerts.clone());
                    tasks.spawn(async move { run_one(api.as_deref(), &*store, &cfg, job, &control, alerts.as_ref()).await });
                }
                None => break,
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if matches!(done, Ok(true)) { finished += 1; }
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        if matches!(done, Ok(true)) {
            finished += 1;
        }
    }
    finished
}

async fn put<S: ClipStore>(store: &S, record: &ClipRecord) {
    // A record that cannot be written is retried a few times, then logged whole so it is not
    // lost.
    for attempt in 0..3u32 {
        match store.put(record).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(request_id = %record.request_id, attempt, error = %e, "cannot write clip record");
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
            }
        }
    }
    match serde_json::to_string(record) {
        Ok(json) => tracing::error!(record = %json, "clip record not written"),
        Err(e) => tracing::error!(error = %e, "clip record not written"),
    }
}

async fn run_one<A: ClipApi, S: ClipStore>(
    api: Option<&A>,
    store: &S,
    cfg: &ClipFlowConfig,
    job: ClipJob,
    control: &mpsc::UnboundedSender<Control>,
    alerts: Option<&mpsc::UnboundedSender<AlertJob>>,
) -> bool {
    let mut req = job.request;
    let channel = req.channel.clone();
    if let Some(reason) = job.skip {
        let mut r = ClipRecord::from_request(&req, ClipStatus::Skipped);
        r.error = Some(reason);
        put(store, &r).await;
        return true;
    }
    let existing = store.get(&req.request_id).await.ok().flatten();
    if job.scheduled {
        // Triggered, due later: write it down now (unless a step already did).
        if existing.is_none() {
            put(store, &clip_flow::scheduled_record(&req)).await;
        }
        return false;
    }
    if !clip_flow::should_run(existing.as_ref(), &req) {
        tracing::info!(request_id = %req.request_id, "clip already handled; not creating it again");
        return false;
    }
    // A job handed out early (at shutdown) or resumed waits for its due time.
    let wait = req.decision.fire_at_ms.saturating_sub(now_ms());
    if matches!(req.phase, ClipPhase::Create) && wait > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(wait.unsigned_abs())).await;
    }
    loop {
        let now = now_ms();
        if api.is_some() && matches!(req.phase, ClipPhase::Create) {
            put(store, &clip_flow::intent_record(&req, now)).await;
        }
        match clip_flow::step(api, cfg, req, now).await {
            Step::Done {
                record,
                pause_channel,
            } => {
                put(store, &record).await;
                log_final(&record);
                if let Some(tx) = alerts {
                    // Never blocks: the alert worker runs on its own tasks.
                    let _ = tx.send(AlertJob {
                        record: record.clone(),
                        final_at: std::time::Instant::now(),
                    });
                }
                if let Some(reason) = pause_channel {
                    let _ = control.send(Control::Pause {
                        channel: channel.clone(),
                        reason,
                    });
                }
                let ok = matches!(record.status, ClipStatus::Confirmed | ClipStatus::WouldClip);
                let _ = control.send(Control::ClipDone { channel, ok });
                return true;
            }
            Step::Again {
                request,
                after,
                mut record,
            } => {
                record.next_due_ms = Some(now.saturating_add(after.as_millis() as i64));
                record.resume = Some(Box::new(request.clone()));
                put(store, &record).await;
                tracing::debug!(request_id = %request.request_id, after_ms = after.as_millis() as u64, "clip step again later");
                tokio::time::sleep(after).await;
                req = request;
            }
        }
    }
}

/// Jobs for the Pending records of `store` (the last day) that carry a request to resume: what
/// a previous run scheduled or started and did not finish. Their steps decide: a Create more
/// than 90 s after its moment ends as expired, a Create whose call may have been made looks
/// for its clip first, a Confirm checks again.
pub async fn pending_jobs<S: ClipStore>(store: &S, now: Millis) -> Vec<ClipJob> {
    let records = match store.list(None, Some(now.saturating_sub(86_400_000))).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the clip records to resume");
            return Vec::new();
        }
    };
    records
        .iter()
        .filter_map(clip_flow::resume_request)
        .map(|request| {
            tracing::info!(request_id = %request.request_id, phase = ?request.phase, "resuming a clip left pending");
            ClipJob {
                request,
                skip: None,
                scheduled: false,
            }
        })
        .collect()
}

fn log_final(r: &ClipRecord) {
    match r.status {
        ClipStatus::Confirmed => {
            tracing::info!(channel = %r.channel, url = r.url.as_deref().unwrap_or(""), title = %r.title, "clip created")
        }
        ClipStatus::WouldClip => {
            tracing::info!(channel = %r.channel, title = %r.title, at_ms = r.peak_ms, "would clip (dry run: no user token)")
        }
        _ => {
            tracing::warn!(channel = %r.channel, status = ?r.status, error = r.error.as_deref().unwrap_or(""), "clip not made")
        }
    }
}
