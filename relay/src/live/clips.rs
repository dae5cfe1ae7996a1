//! The clip worker: runs every due clip through [`clip_flow`] (Create Clip, confirmation on a
//! backoff, retries), sleeping on tokio timers where the clip Lambda sends delayed messages,
//! and records each state in the [`ClipStore`] (locally `recordings/`).
//!
//! Idempotent like the Lambda: a request whose record already shows a clip id or a final
//! state is not created again.

use std::sync::Arc;

use clipper_functions::clip_flow::{self, ClipFlowConfig, Step};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::{ClipApi, ClipStore};
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
    if !clip_flow::should_run(existing.as_ref(), &req) {
        tracing::info!(request_id = %req.request_id, "clip already handled; not creating it again");
        return false;
    }
    loop {
        match clip_flow::step(api, cfg, req, now_ms()).await {
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
                record,
            } => {
                put(store, &record).await;
                tracing::debug!(request_id = %request.request_id, after_ms = after.as_millis() as u64, "clip step again later");
                tokio::time::sleep(after).await;
                req = request;
            }
        }
    }
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
