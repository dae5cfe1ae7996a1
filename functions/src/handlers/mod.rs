//! The Lambda handlers, generic over the [`crate::roles`] traits so that they run the same with
//! local adapters (tests, embedded mode) and AWS ones (`aws` feature). Each takes a whole SQS
//! batch (the event Lambda sends) and returns the ids of the records that failed, for
//! `ReportBatchItemFailures`; time comes in as an argument.
//!
//! | function | handler |
//! |---|---|
//! | score: windows → model → decision → claim → clip queue | [`score::ScoreHandler`] |
//! | clip: clip request → Helix → clips table, re-checks as delayed messages | [`clip::ClipHandler`] |
//! | train: archived windows → learn → refit → models | [`train::TrainHandler`] |

pub mod clip;
pub mod cost;
pub mod metrics;
pub mod score;
pub mod train;

pub use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

use clipper_models::{ClipRequest, Millis, WindowBatch, WIRE_VERSION};

use crate::error::{FunctionsError, Result};

/// Current Unix time in ms.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Decode a windows-queue message, refusing other wire versions.
pub fn decode_window_batch(body: &str) -> Result<WindowBatch> {
    let b: WindowBatch = serde_json::from_str(body).map_err(|source| FunctionsError::Decode {
        what: "window batch",
        source,
    })?;
    if b.v != WIRE_VERSION {
        return Err(FunctionsError::WireVersion {
            what: "window batch",
            found: b.v,
            expected: WIRE_VERSION,
        });
    }
    Ok(b)
}

/// Decode a clip-queue message, refusing other wire versions.
pub fn decode_clip_request(body: &str) -> Result<ClipRequest> {
    let r: ClipRequest = serde_json::from_str(body).map_err(|source| FunctionsError::Decode {
        what: "clip request",
        source,
    })?;
    if r.v != WIRE_VERSION {
        return Err(FunctionsError::WireVersion {
            what: "clip request",
            found: r.v,
            expected: WIRE_VERSION,
        });
    }
    Ok(r)
}

/// The id SQS knows a record by (`messageId`), or a placeholder when absent.
pub(crate) fn message_id(m: &SqsMessage) -> String {
    m.message_id.clone().unwrap_or_default()
}

/// How many times SQS has delivered this record (attribute `ApproximateReceiveCount`).
pub(crate) fn receive_count(m: &SqsMessage) -> u32 {
    m.attributes
        .get("ApproximateReceiveCount")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// A batch response naming `failed` message ids.
pub fn batch_response<I: IntoIterator<Item = String>>(failed: I) -> SqsBatchResponse {
    let mut r = SqsBatchResponse::default();
    let mut seen = std::collections::BTreeSet::new();
    for id in failed {
        if seen.insert(id.clone()) {
            r.add_failure(id);
        }
    }
    r
}
