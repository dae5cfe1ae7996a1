//! The dashboard's timeline in DynamoDB: one item per scored window, written by the score
//! function in `BatchWriteItem`s of 25, read by the dashboard function with `Query`, deleted
//! by TTL three hours later.
//!
//! Cost: the score function writes a channel's window at most once a minute, plus the
//! windows that triggered ([`crate::handlers::score::ScoreConfig`]): about 1,440 writes per
//! channel-day (~$0.002 on demand); reads are the pages open.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use clipper_models::Millis;

use super::sdk_error;
use crate::error::{FunctionsError, Result};
use crate::handlers::metrics::{self, COUNTS};
use crate::roles::{Timeline, WindowPoint};

type Item = HashMap<String, AttributeValue>;

/// How long a window stays in the table.
pub const KEEP_MS: Millis = 3 * 3600 * 1000;
/// `BatchWriteItem` takes at most 25 items.
const BATCH: usize = 25;
/// Tries of the items DynamoDB leaves unprocessed (throttling).
const TRIES: u32 = 4;

/// Partition key `channel` (S), sort key `end_ms` (N); attributes `messages`,
/// `msgs_per_min`, `score`, `threshold`, `live`, `viewers` (absent when unknown) and
/// `expires_at` (Unix seconds, the TTL attribute).
#[derive(Debug, Clone)]
pub struct DynamoTimeline {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoTimeline {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoTimeline {
            client,
            table: table.into(),
        }
    }

    fn item(p: &WindowPoint) -> Item {
        let n = |v: String| AttributeValue::N(v);
        let mut it = Item::new();
        it.insert("channel".into(), AttributeValue::S(p.channel.clone()));
        it.insert("end_ms".into(), n(p.end_ms.to_string()));
        it.insert("messages".into(), n(p.messages.to_string()));
        if p.msgs_per_min.is_finite() {
            it.insert("msgs_per_min".into(), n(p.msgs_per_min.to_string()));
        }
        for (k, v) in [("score", p.score), ("threshold", p.threshold)] {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                it.insert(k.into(), n(v.to_string()));
            }
        }
        if let Some(l) = p.live {
            it.insert("live".into(), AttributeValue::Bool(l));
        }
        if let Some(v) = p.viewers {
            it.insert("viewers".into(), n(v.to_string()));
        }
        it.insert(
            "expires_at".into(),
            n(((p.end_ms + KEEP_MS) / 1000).to_string()),
        );
        it
    }

    fn point(it: &Item) -> Option<WindowPoint> {
        let num = |k: &str| it.get(k).and_then(|v| v.as_n().ok());
        Some(WindowPoint {
            channel: it.get("channel")?.as_s().ok()?.clone(),
            end_ms: num("end_ms")?.parse().ok()?,
            messages: num("messages").and_then(|v| v.parse().ok()).unwrap_or(0),
            msgs_per_min: num("msgs_per_min")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
            score: num("score").and_then(|v| v.parse().ok()),
            threshold: num("threshold").and_then(|v| v.parse().ok()),
            live: it.get("live").and_then(|v| v.as_bool().ok()).copied(),
            viewers: num("viewers").and_then(|v| v.parse().ok()),
        })
    }
}

#[async_trait::async_trait]
impl Timeline for DynamoTimeline {
    async fn record(&self, points: &[WindowPoint]) -> Result<()> {
        for chunk in points.chunks(BATCH) {
            let mut requests: Vec<WriteRequest> = Vec::with_capacity(chunk.len());
            for p in chunk {
                let put = PutRequest::builder()
                    .set_item(Some(Self::item(p)))
                    .build()
                    .map_err(|e| FunctionsError::Config(format!("timeline item: {e}")))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            let mut tries = 0;
            while !requests.is_empty() {
                tries += 1;
                metrics::add(&COUNTS.ddb_write, 1);
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| sdk_error("dynamodb", "BatchWriteItem", e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    if tries >= TRIES {
                        return Err(FunctionsError::Config(format!(
                            "timeline: {} windows left unprocessed after {TRIES} tries",
                            requests.len()
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(50 << tries)).await;
                }
            }
        }
        Ok(())
    }

    async fn recent(
        &self,
        channel: &str,
        since_ms: Millis,
        limit: usize,
    ) -> Result<Vec<WindowPoint>> {
        // Newest first, so that `limit` keeps the newest; reversed at the end.
        let mut out: Vec<WindowPoint> = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < limit {
            metrics::add(&COUNTS.ddb_read, 1);
            let o = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#c = :c AND end_ms > :s")
                .expression_attribute_names("#c", "channel")
                .expression_attribute_values(":c", AttributeValue::S(channel.to_owned()))
                .expression_attribute_values(":s", AttributeValue::N(since_ms.to_string()))
                .scan_index_forward(false)
                .limit(i32::try_from(limit - out.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("dynamodb", "Query", e))?;
            out.extend(o.items().iter().filter_map(Self::point));
            match o.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.truncate(limit);
        out.reverse();
        Ok(out)
    }
}
