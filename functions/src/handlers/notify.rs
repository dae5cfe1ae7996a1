//! The notify function: confirmed clip records → alerts, exactly once per clip and target
//! (the [`crate::notify::DeliveryLog`], DynamoDB on AWS).
//!
//! It is fed by the clips table's stream (records whose `status` became `confirmed`, filtered
//! by the event source mapping); [`stream_batch`] turns a DynamoDB stream event into a
//! [`QueueBatch`] whose ids are the records' sequence numbers and whose bodies are the stored
//! clip records, so the same handler also reads an SQS queue of clip records. A record whose
//! alert failed in a way a retry may fix is reported in the [`BatchOutcome`] (partial batch
//! failures); after the mapping's retries the stream sends it to the DLQ.
//!
//! The same function is invoked once a day by an EventBridge schedule ([`is_schedule`]): it
//! then sends the daily digests of the day before ([`NotifyHandler::digest`]).

use crate::notify::digest::{send_digests, DigestReport};
use crate::notify::{
    targets_for, AlertKind, DeliveryLog, MessageSender, Notifier, NotifyTarget, Outcome,
};
use crate::record::ClipRecord;
use crate::roles::ChannelStore;

use super::{BatchOutcome, QueueBatch, QueueRecord};

/// The notify handler over its roles.
#[derive(Debug)]
pub struct NotifyHandler<D, M, C> {
    notifier: Notifier<D, M>,
    channels: C,
    defaults: Vec<NotifyTarget>,
}

impl<D: DeliveryLog, M: MessageSender, C: ChannelStore> NotifyHandler<D, M, C> {
    pub fn new(notifier: Notifier<D, M>, channels: C, defaults: Vec<NotifyTarget>) -> Self {
        NotifyHandler {
            notifier,
            channels,
            defaults,
        }
    }

    /// Alerts every record of the batch; returns the ids of those to retry.
    pub async fn handle(&self, batch: &QueueBatch) -> BatchOutcome {
        let channels = match self.channels.list().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "channels table not read; the whole batch is retried");
                return BatchOutcome::failing(batch.records.iter().map(|r| r.message_id.clone()));
            }
        };
        let mut failed = Vec::new();
        let mut posted = 0u32;
        for rec in &batch.records {
            let Some(record) = decode(rec) else { continue };
            let Some(kind) = AlertKind::of(&record) else {
                continue;
            };
            let cfg = channels.iter().find(|c| c.channel == record.channel);
            let targets = targets_for(kind, cfg, &self.defaults);
            let deliveries = self.notifier.notify(&record, &targets).await;
            posted += deliveries
                .iter()
                .filter(|d| d.outcome == Outcome::Delivered)
                .count() as u32;
            if deliveries.iter().any(|d| d.should_retry()) {
                failed.push(rec.message_id.clone());
            }
        }
        tracing::info!(
            records = batch.records.len(),
            posted,
            retry = failed.len(),
            "notify batch"
        );
        BatchOutcome::failing(failed)
    }
}

impl<D: DeliveryLog, M: MessageSender, C: ChannelStore> NotifyHandler<D, M, C> {
    /// The daily digest of `date` ([`crate::notify::digest::send_digests`]) over this
    /// handler's notifier, channels and default targets: the scheduled invocation.
    pub async fn digest<S: crate::roles::ClipStore>(
        &self,
        clips: &S,
        date: chrono::NaiveDate,
    ) -> crate::Result<DigestReport> {
        send_digests(&self.notifier, &self.channels, clips, &self.defaults, date).await
    }
}

/// Whether a Lambda event is the daily schedule (EventBridge `Scheduled Event`) rather than
/// a stream batch.
pub fn is_schedule(event: &serde_json::Value) -> bool {
    event.get("Records").is_none()
        && (event.get("source").and_then(serde_json::Value::as_str) == Some("aws.events")
            || event.get("detail-type").and_then(serde_json::Value::as_str)
                == Some("Scheduled Event"))
}

/// The clip record in a queue record's body; a body that does not decode is logged and
/// dropped (retrying it cannot help, and on a stream it would block the shard).
fn decode(rec: &QueueRecord) -> Option<ClipRecord> {
    let body = rec.body.as_deref()?;
    match serde_json::from_str(body) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(message_id = %rec.message_id, error = %e, "undecodable clip record; dropped");
            None
        }
    }
}

/// A DynamoDB stream event (Lambda's JSON) as a [`QueueBatch`]: id = `dynamodb.SequenceNumber`
/// (what partial batch failures name on a stream), body = the new image's `record` attribute
/// (the clip record JSON the clips table stores). Records without a new image are skipped.
pub fn stream_batch(event: &serde_json::Value) -> QueueBatch {
    let records = event
        .get("Records")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    QueueBatch {
        records: records
            .iter()
            .filter_map(|r| {
                let ddb = r.get("dynamodb")?;
                let body = ddb
                    .get("NewImage")?
                    .get("record")?
                    .get("S")?
                    .as_str()?
                    .to_owned();
                Some(QueueRecord {
                    message_id: ddb
                        .get("SequenceNumber")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    body: Some(body),
                    receive_count: 1,
                })
            })
            .collect(),
    }
}

/// The partial-batch response Lambda reads, for streams and SQS alike.
pub fn batch_response(outcome: &BatchOutcome) -> serde_json::Value {
    serde_json::json!({
        "batchItemFailures": outcome
            .failed
            .iter()
            .map(|id| serde_json::json!({"itemIdentifier": id}))
            .collect::<Vec<_>>()
    })
}
