//! A queue poller that does what Lambda's SQS event source mapping does: receive up to 10
//! messages, hand them to a handler as the [`QueueBatch`] Lambda's SQS event carries, delete the
//! records the handler did not report failed, and leave the failed ones to reappear after their
//! visibility timeout. The moto tests drive the functions with it (feature `aws`).

use std::future::Future;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

use clipper_functions::handlers::metrics::{self, COUNTS};
use clipper_functions::handlers::{parse_receive_count, BatchOutcome, QueueBatch, QueueRecord};

type Result<T> = std::result::Result<T, aws_sdk_sqs::Error>;

/// Receive one batch (long-polling up to `wait_s`) and, if it has messages, run `handler` on
/// it. Returns the number of records handed over and the number reported failed.
pub async fn poll_once<F, Fut>(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait_s: i32,
    visibility_s: i32,
    handler: F,
) -> Result<(usize, usize)>
where
    F: FnOnce(QueueBatch) -> Fut,
    Fut: Future<Output = BatchOutcome>,
{
    metrics::add(&COUNTS.sqs_requests, 1);
    let out = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_s)
        .visibility_timeout(visibility_s)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(aws_sdk_sqs::Error::from)?;
    let msgs = out.messages();
    if msgs.is_empty() {
        return Ok((0, 0));
    }
    let event = QueueBatch {
        records: msgs
            .iter()
            .map(|m| QueueRecord {
                message_id: m.message_id().unwrap_or_default().to_owned(),
                body: m.body().map(str::to_owned),
                receive_count: parse_receive_count(
                    m.attributes()
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .map(String::as_str),
                ),
            })
            .collect(),
    };
    let n = event.records.len();
    let response = handler(event).await;
    let failed: Vec<&str> = response.failed.iter().map(String::as_str).collect();
    let entries: Vec<DeleteMessageBatchRequestEntry> = msgs
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.message_id().is_some_and(|id| failed.contains(&id)))
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle().map(str::to_owned))
                .build()
                .ok()
        })
        .collect();
    if !entries.is_empty() {
        metrics::add(&COUNTS.sqs_requests, 1);
        client
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(aws_sdk_sqs::Error::from)?;
    }
    Ok((n, failed.len()))
}
