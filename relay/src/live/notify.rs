//! The alert worker of the local pipeline: the clip worker hands it every final clip record
//! (after the record is written); it looks up the channel's targets and sends on its own tasks,
//! so alerts never hold up chat, detection or clip creation. Exactly-once per clip and target
//! comes from the delivery log (`recordings/deliveries.jsonl`, see
//! [`clipper_functions::notify::delivery`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clipper_functions::notify::digest;
use clipper_functions::notify::{
    targets_for, AlertKind, DeliveryLog, MessageSender, Notifier, NotifyTarget, Outcome,
};
use clipper_functions::record::ClipRecord;
use clipper_functions::roles::{ChannelStore, ClipStore};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// A final clip record and when it became final (for the confirmation → post latency).
#[derive(Debug, Clone)]
pub struct AlertJob {
    pub record: ClipRecord,
    pub final_at: Instant,
}

/// Runs until `jobs` closes and every started alert finished; returns the posts delivered.
pub async fn run_notify_worker<D, M, C>(
    notifier: Arc<Notifier<D, M>>,
    channels: Option<Arc<C>>,
    defaults: Vec<NotifyTarget>,
    mut jobs: mpsc::UnboundedReceiver<AlertJob>,
) -> u64
where
    D: DeliveryLog + 'static,
    M: MessageSender + 'static,
    C: ChannelStore + 'static,
{
    let defaults = Arc::new(defaults);
    let mut tasks = JoinSet::new();
    let mut delivered = 0;
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => {
                    let (n, c, d) = (notifier.clone(), channels.clone(), defaults.clone());
                    tasks.spawn(async move { alert_one(&n, c.as_deref(), &d, job).await });
                }
                None => break,
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                delivered += done.unwrap_or(0);
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        delivered += done.unwrap_or(0);
    }
    delivered
}

async fn alert_one<D: DeliveryLog, M: MessageSender, C: ChannelStore>(
    notifier: &Notifier<D, M>,
    channels: Option<&C>,
    defaults: &[NotifyTarget],
    job: AlertJob,
) -> u64 {
    let Some(kind) = AlertKind::of(&job.record) else {
        return 0;
    };
    let config = match channels {
        Some(store) => match store.list().await {
            Ok(list) => list.into_iter().find(|c| c.channel == job.record.channel),
            Err(e) => {
                tracing::warn!(error = %e, "channel store not read; alerting the default targets only");
                None
            }
        },
        None => None,
    };
    let targets = targets_for(kind, config.as_ref(), defaults);
    if targets.is_empty() {
        return 0;
    }
    let mut delivered = 0;
    for d in notifier.notify(&job.record, &targets).await {
        if d.outcome == Outcome::Delivered {
            delivered += 1;
            tracing::info!(
                channel = %job.record.channel,
                request_id = %job.record.request_id,
                target = %d.target,
                since_final_ms = job.final_at.elapsed().as_millis() as u64,
                "alert posted"
            );
        }
    }
    delivered
}

/// The daily digests: once at start for the day before (a no-op when it was sent), then every
/// day [`digest::RUN_AFTER_MIDNIGHT`] past 00:00 UTC for the day that just ended. Runs until
/// aborted; a failed run is logged and retried an hour later (targets already served are not
/// sent again: the delivery record).
pub async fn run_digests<D, M, C, S>(
    notifier: Arc<Notifier<D, M>>,
    channels: Arc<C>,
    clips: Arc<S>,
    defaults: Vec<NotifyTarget>,
) where
    D: DeliveryLog + 'static,
    M: MessageSender + 'static,
    C: ChannelStore + 'static,
    S: ClipStore + 'static,
{
    let mut wait = Duration::ZERO;
    loop {
        tokio::time::sleep(wait).await;
        let now = super::driver::now_ms();
        let date = digest::yesterday(now);
        wait = digest::until_next_run(now);
        match digest::send_digests(&notifier, &*channels, &*clips, &defaults, date).await {
            Ok(r) if r.should_retry() => wait = wait.min(Duration::from_secs(3600)),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, %date, "daily digest not sent; retrying in an hour");
                wait = wait.min(Duration::from_secs(3600));
            }
        }
    }
}
