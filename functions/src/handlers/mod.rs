//! The Lambda handlers, generic over the [`crate::roles`] traits so that they run the same with
//! local adapters (tests, embedded mode) and AWS ones (`aws` feature). Each takes a whole queue
//! batch ([`QueueBatch`], what Lambda's SQS event carries) and returns the ids of the records
//! that failed ([`BatchOutcome`], for `ReportBatchItemFailures`); time comes in as an argument.
//! The Lambda event types (`aws_lambda_events`) are only converted from and to in the Lambda
//! binaries (feature `lambda`), so the handlers build and test without them.
//!
//! | function | handler |
//! |---|---|
//! | score: windows → model → decision → claim → clip queue | [`score::ScoreHandler`] |
//! | clip: clip request → Helix → clips table, re-checks as delayed messages | [`clip::ClipHandler`] |
//! | notify: confirmed clip records (clips table stream) → alerts, once per target | [`notify::NotifyHandler`] |
//! | train: archived windows → learn → refit → models | [`train::TrainHandler`] |

pub mod clip;
pub mod metrics;
pub mod notify;
pub mod score;
pub mod train;

use serde::Deserialize;

use clipper_models::{ClipRequest, WindowBatch, WIRE_VERSION};

use crate::error::{FunctionsError, Result};

/// One queue record as the handlers see it: the part of an SQS record they use.
///
/// Deserializes from a record of Lambda's SQS event JSON (`messageId`, `body`,
/// `attributes.ApproximateReceiveCount`); the Lambda binaries convert from
/// `aws_lambda_events`' `SqsMessage` instead (feature `lambda`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "SqsRecordJson")]
pub struct QueueRecord {
    /// The id SQS knows the record by (`messageId`; empty when absent). A failure is reported
    /// by this id.
    pub message_id: String,
    pub body: Option<String>,
    /// How many times SQS has delivered this record (`ApproximateReceiveCount`, 1 when
    /// absent).
    pub receive_count: u32,
}

/// A batch of queue records, as one Lambda invocation gets them. Deserializes from Lambda's
/// SQS event JSON (`{"Records": [...]}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct QueueBatch {
    #[serde(rename = "Records", default)]
    pub records: Vec<QueueRecord>,
}

/// What a handler reports of a batch: the message ids of the records that failed (for
/// `ReportBatchItemFailures`; each id once, in first-failure order). The rest count as done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub failed: Vec<String>,
}

impl BatchOutcome {
    /// An outcome naming `failed` message ids (duplicates dropped).
    pub fn failing<I: IntoIterator<Item = String>>(failed: I) -> Self {
        let mut seen = std::collections::BTreeSet::new();
        BatchOutcome {
            failed: failed
                .into_iter()
                .filter(|id| seen.insert(id.clone()))
                .collect(),
        }
    }
}

/// A record of Lambda's SQS event JSON, the fields [`QueueRecord`] keeps.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqsRecordJson {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    body: Option<String>,
    /// `null` reads as absent, as `aws_lambda_events` reads it.
    #[serde(default)]
    attributes: Option<SqsAttributesJson>,
}

#[derive(Deserialize)]
struct SqsAttributesJson {
    #[serde(rename = "ApproximateReceiveCount", default)]
    approximate_receive_count: Option<String>,
}

impl From<SqsRecordJson> for QueueRecord {
    fn from(r: SqsRecordJson) -> Self {
        QueueRecord {
            message_id: r.message_id.unwrap_or_default(),
            body: r.body,
            receive_count: parse_receive_count(
                r.attributes
                    .as_ref()
                    .and_then(|a| a.approximate_receive_count.as_deref()),
            ),
        }
    }
}

/// `ApproximateReceiveCount` as a number, 1 when absent or unreadable (for adapters that build
/// [`QueueRecord`]s from SQS messages).
pub fn parse_receive_count(s: Option<&str>) -> u32 {
    s.and_then(|s| s.parse().ok()).unwrap_or(1)
}

/// Conversions from and to the Lambda event types, for the Lambda binaries.
#[cfg(feature = "lambda")]
mod lambda_events {
    use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

    use super::{parse_receive_count, BatchOutcome, QueueBatch, QueueRecord};

    impl From<SqsMessage> for QueueRecord {
        fn from(m: SqsMessage) -> Self {
            QueueRecord {
                receive_count: parse_receive_count(
                    m.attributes
                        .get("ApproximateReceiveCount")
                        .map(String::as_str),
                ),
                message_id: m.message_id.unwrap_or_default(),
                body: m.body,
            }
        }
    }

    impl From<SqsEvent> for QueueBatch {
        fn from(e: SqsEvent) -> Self {
            QueueBatch {
                records: e.records.into_iter().map(QueueRecord::from).collect(),
            }
        }
    }

    impl From<BatchOutcome> for SqsBatchResponse {
        fn from(o: BatchOutcome) -> Self {
            let mut r = SqsBatchResponse::default();
            for id in o.failed {
                r.add_failure(id);
            }
            r
        }
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]
        use super::*;

        /// The Lambda types and the handlers' own JSON reading agree on a Lambda SQS event.
        #[test]
        fn sqs_event_converts_like_the_json() {
            let json = serde_json::json!({"Records": [
                {"messageId": "m1", "receiptHandle": "rh", "body": "{}", "md5OfBody": "x",
                 "attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1"},
                 "messageAttributes": {}, "eventSource": "aws:sqs",
                 "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"},
                {"messageId": "m2", "body": null, "attributes": null, "messageAttributes": {}},
                {"body": "x", "attributes": {"ApproximateReceiveCount": "many"}}
            ]});
            let via_lambda =
                QueueBatch::from(serde_json::from_value::<SqsEvent>(json.clone()).unwrap());
            let direct: QueueBatch = serde_json::from_value(json).unwrap();
            assert_eq!(via_lambda, direct);
            assert_eq!(direct.records[0].receive_count, 3);
            assert_eq!(direct.records[1].receive_count, 1);
            assert_eq!(direct.records[1].body, None);
            assert_eq!(direct.records[2].message_id, "");
            assert_eq!(direct.records[2].receive_count, 1);

            let r =
                SqsBatchResponse::from(BatchOutcome::failing(["a".into(), "b".into(), "a".into()]));
            let json = serde_json::to_value(&r).unwrap();
            assert_eq!(
                json,
                serde_json::json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]})
            );
        }
    }
}

pub use crate::clock::now_ms;

/// A queue message type: JSON with a wire version ([`WIRE_VERSION`]).
pub trait Versioned: serde::de::DeserializeOwned {
    /// What the message is, for errors ("window batch").
    const WHAT: &'static str;
    /// The wire version the message carries.
    fn version(&self) -> u32;
}

impl Versioned for WindowBatch {
    const WHAT: &'static str = "window batch";
    fn version(&self) -> u32 {
        self.v
    }
}

impl Versioned for ClipRequest {
    const WHAT: &'static str = "clip request";
    fn version(&self) -> u32 {
        self.v
    }
}

/// Decode a queue message ([`WindowBatch`], [`ClipRequest`]), refusing other wire versions.
pub fn decode_message<T: Versioned>(body: &str) -> Result<T> {
    let m: T = serde_json::from_str(body).map_err(|source| FunctionsError::Decode {
        what: T::WHAT,
        source,
    })?;
    if m.version() != WIRE_VERSION {
        return Err(FunctionsError::WireVersion {
            what: T::WHAT,
            found: m.version(),
            expected: WIRE_VERSION,
        });
    }
    Ok(m)
}
