//! Counters of calls and events, for the CloudWatch dashboard (embedded metric format log
//! lines) and for the cost model (the end-to-end test reads them).
//!
//! The counters are process-wide atomics: each adapter counts the billable requests it makes,
//! each handler its invocations and what they produced.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// Process-wide counters (see the module doc).
        #[derive(Debug)]
        pub struct Counters { $(pub $name: AtomicU64,)* }

        /// A snapshot of [`Counters`].
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        pub struct Snapshot { $(pub $name: u64,)* }

        impl Counters {
            const fn new() -> Self {
                Counters { $($name: AtomicU64::new(0),)* }
            }

            pub fn snapshot(&self) -> Snapshot {
                Snapshot { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }

        impl Snapshot {
            /// `self - earlier`, per counter.
            pub fn since(&self, earlier: &Snapshot) -> Snapshot {
                Snapshot { $($name: self.$name.saturating_sub(earlier.$name),)* }
            }
        }
    };
}

counters!(
    // Handler invocations.
    score_invocations,
    clip_invocations,
    train_invocations,
    // What flowed.
    window_batches,
    windows,
    triggers,
    clips_scheduled,
    claims_lost,
    skipped_offline,
    clip_records,
    clips_confirmed,
    records_failed,
    models_trained,
    // Billable requests, as sent (SQS counts 64 KiB chunks separately: `sqs_send_bytes`).
    sqs_requests,
    sqs_send_bytes,
    sqs_messages_sent,
    s3_get,
    s3_put,
    s3_list,
    ddb_write,
    ddb_read,
    secrets_calls,
    // A refreshed user token the store refused (kept in memory, saved again later).
    token_save_failures,
    // Relay-side window queue.
    queue_full,
    queue_retries,
);

/// The process-wide counters.
pub static COUNTS: Counters = Counters::new();

/// Add `n` to a counter.
pub fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Namespace of the custom metrics (the dashboard in `template.yaml` reads it).
pub const NAMESPACE: &str = "TwitchClipper";

/// One log line in CloudWatch's embedded metric format: the metrics named in `values`, with
/// dimension `Function`. Printed to stdout (Lambda sends it to CloudWatch Logs, which extracts
/// the metrics); nothing is printed outside Lambda.
pub fn emit(function: &str, values: &[(&str, u64)], timestamp_ms: i64) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none() {
        return;
    }
    println!("{}", emf_line(function, values, timestamp_ms));
}

/// The EMF JSON of [`emit`].
pub fn emf_line(function: &str, values: &[(&str, u64)], timestamp_ms: i64) -> String {
    let metrics: Vec<serde_json::Value> = values
        .iter()
        .map(|(n, _)| serde_json::json!({"Name": n, "Unit": "Count"}))
        .collect();
    let mut obj = serde_json::Map::new();
    obj.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": metrics,
            }],
        }),
    );
    obj.insert("Function".into(), serde_json::Value::from(function));
    for (n, v) in values {
        obj.insert((*n).into(), serde_json::Value::from(*v));
    }
    serde_json::Value::Object(obj).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_shape() {
        let l = emf_line("score", &[("Windows", 3), ("Triggers", 1)], 1_000);
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["Windows"], 3);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Name"],
            "Triggers"
        );
    }
}
