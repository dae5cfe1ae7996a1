//! A reader of a DynamoDB table's stream (moto's DynamoDB Streams) that hands out the events
//! Lambda's stream event source mapping would: `{"Records": [{"eventName", "dynamodb":
//! {"SequenceNumber", "NewImage"}}]}` in Lambda's attribute-value JSON, filtered like the notify
//! function's mapping (`FilterCriteria`: new images whose `status` is `confirmed`).

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use serde_json::{json, Value};

/// One reader per stream, from its oldest record (`TRIM_HORIZON`).
#[derive(Debug)]
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    /// Next iterator of every open shard.
    iterators: Vec<String>,
}

/// Lambda's JSON for one attribute value.
fn attr(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::M(m) => json!({ "M": image(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attr).collect::<Vec<_>>() }),
        other => panic!("attribute type not used by the clips table: {other:?}"),
    }
}

fn image(m: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), attr(v))).collect())
}

impl StreamReader {
    /// The stream of `table` on the test endpoint (it must have a stream specification).
    pub async fn open(endpoint: &str, dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Self {
        let arn = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .expect("DescribeTable")
            .table
            .and_then(|t| t.latest_stream_arn)
            .expect("the table has a stream");
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .load()
            .await;
        let client = aws_sdk_dynamodbstreams::Client::new(&shared);
        let shards = client
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .expect("DescribeStream")
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default();
        let mut iterators = Vec::new();
        for s in shards {
            let it = client
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(s.shard_id.unwrap_or_default())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("GetShardIterator")
                .shard_iterator;
            iterators.extend(it);
        }
        StreamReader { client, iterators }
    }

    /// The records written since the last call, as Lambda's stream event, keeping only new
    /// images whose `status` is `confirmed` (the notify mapping's filter). Also returns how
    /// many records the stream held before filtering.
    pub async fn confirmed_event(&mut self) -> (Value, usize) {
        let mut records = Vec::new();
        let mut seen = 0;
        for it in &mut self.iterators {
            let out = self
                .client
                .get_records()
                .shard_iterator(it.clone())
                .send()
                .await
                .expect("GetRecords");
            if let Some(next) = out.next_shard_iterator {
                *it = next;
            }
            for r in out.records.unwrap_or_default() {
                seen += 1;
                let Some(d) = r.dynamodb else { continue };
                let Some(new) = d.new_image else { continue };
                let confirmed =
                    matches!(new.get("status"), Some(AttributeValue::S(s)) if s == "confirmed");
                if !confirmed {
                    continue;
                }
                records.push(json!({
                    "eventName": r.event_name.map(|e| e.as_str().to_owned()),
                    "eventSource": "aws:dynamodb",
                    "dynamodb": {
                        "SequenceNumber": d.sequence_number,
                        "NewImage": image(&new),
                        "StreamViewType": "NEW_IMAGE",
                    }
                }));
            }
        }
        (json!({ "Records": records }), seen)
    }
}
