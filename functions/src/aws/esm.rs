//! A queue poller that does what Lambda's SQS event source mapping does: receive up to 10
//! messages, hand them to a handler as the [`SqsEvent`] Lambda would send, delete the records
//! the handler did not report failed, and leave the failed ones to reappear after their
//! visibility timeout. Used by the end-to-end tests and for running the functions against real
//! queues without Lambda.

use std::future::Future;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

use super::sdk_error;
use crate::error::{FunctionsError, Result};
use crate::handlers::metrics::{self, COUNTS};
use crate::handlers::{SqsBatchResponse, SqsEvent};

/// Receive one batch (long-polling up to `wait_s`) and, if it has messages, run `handler` on
/// it. Returns the number of records handed over and the number reported failed.
pub async fn poll_once<F, Fut>(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    queue_arn: &str,
    wait_s: i32,
    visibility_s: i32,
    handler: F,
) -> Result<(usize, usize)>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
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
        .map_err(|e| sdk_error("sqs", "ReceiveMessage", e))?;
    let msgs = out.messages();
    if msgs.is_empty() {
        return Ok((0, 0));
    }
    let records: Vec<serde_json::Value> = msgs
        .iter()
        .map(|m| {
            let attrs: serde_json::Map<String, serde_json::Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), serde_json::Value::from(v.as_str())))
                        .collect()
                })
                .unwrap_or_default();
            serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attrs,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    let event: SqsEvent = serde_json::from_value(serde_json::json!({ "Records": records }))
        .map_err(|source| FunctionsError::Decode {
            what: "SQS event",
            source,
        })?;
    let n = event.records.len();
    let response = handler(event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
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
            .map_err(|e| sdk_error("sqs", "DeleteMessageBatch", e))?;
    }
    Ok((n, failed.len()))
}
