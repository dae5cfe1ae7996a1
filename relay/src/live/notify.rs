//! The alert worker of the local pipeline: the clip worker hands it every final clip record
//! (after the record is written); it looks up the channel's targets and sends on its own tasks,
//! so alerts never hold up chat, detection or clip creation. Exactly-once per clip and target
//! comes from the delivery log (`recordings/deliveries.jsonl`, see
//! [`clipper_functions::notify::delivery`]).

use std::sync::Arc;
use std::time::Instant;

use clipper_functions::notify::{
    targets_for, AlertKind, DeliveryLog, MessageSender, Notifier, NotifyTarget, Outcome,
};
use clipper_functions::record::ClipRecord;
use clipper_functions::roles::ChannelStore;
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
