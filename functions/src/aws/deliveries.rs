//! The alert delivery record in DynamoDB ([`crate::notify::DeliveryLog`]): one item per
//! (clip, alert kind, target) keyed `delivery_key`, claimed with a conditional put
//! (`attribute_not_exists(delivery_key) OR #s = released`), so however many notify workers see
//! the same clip (redelivered queue messages, concurrent Lambda instances) only one posts.
//! Items expire after 30 days (`expires_at`, the table's TTL attribute); disabled targets
//! (`disabled#channel#target`) do not expire.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{error_code, sdk_error};
use crate::error::Result;
use crate::handlers::metrics::{self, COUNTS};
use crate::notify::delivery::disabled_key;
use crate::notify::{Claim, DeliveryKey, DeliveryLog};

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[derive(Debug, Clone)]
pub struct DynamoDeliveryLog {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl_s: i64,
}

impl DynamoDeliveryLog {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoDeliveryLog {
            client,
            table: table.into(),
            ttl_s: 30 * 86_400,
        }
    }

    async fn read(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>> {
        metrics::add(&COUNTS.ddb_read, 1);
        let o = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("delivery_key", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb", "GetItem", e))?;
        Ok(o.item)
    }

    async fn set_state(&self, key: &str, state: &str, expires: bool) -> Result<()> {
        let now = crate::clock::now_ms();
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("delivery_key", s(key))
            .item("state", s(state))
            .item("at_ms", n(now));
        if expires {
            req = req.item("expires_at", n(now / 1000 + self.ttl_s));
        }
        metrics::add(&COUNTS.ddb_write, 1);
        req.send()
            .await
            .map_err(|e| sdk_error("dynamodb", "PutItem", e))?;
        Ok(())
    }
}

impl DeliveryLog for DynamoDeliveryLog {
    async fn claim(&self, key: &DeliveryKey) -> Result<Claim> {
        let k = key.as_key();
        let now = crate::clock::now_ms();
        metrics::add(&COUNTS.ddb_write, 1);
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("delivery_key", s(&k))
            .item("state", s("claimed"))
            .item("at_ms", n(now))
            .item("expires_at", n(now / 1000 + self.ttl_s))
            .condition_expression("attribute_not_exists(delivery_key) OR #s = :released")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":released", s("released"))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Claim::Claimed),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {
                let item = self.read(&k).await?.unwrap_or_default();
                let state = item.get("state").and_then(|v| v.as_s().ok());
                let since_ms = item
                    .get("at_ms")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                Ok(match state.map(String::as_str) {
                    Some("delivered") => Claim::Delivered,
                    _ => Claim::InFlight { since_ms },
                })
            }
            Err(e) => Err(sdk_error("dynamodb", "PutItem", e)),
        }
    }

    async fn delivered(&self, key: &DeliveryKey) -> Result<()> {
        self.set_state(&key.as_key(), "delivered", true).await
    }

    async fn release(&self, key: &DeliveryKey) -> Result<()> {
        self.set_state(&key.as_key(), "released", true).await
    }

    async fn disable(
        &self,
        channel: &str,
        target_id: &str,
        label: &str,
        reason: &str,
    ) -> Result<()> {
        metrics::add(&COUNTS.ddb_write, 1);
        self.client
            .put_item()
            .table_name(&self.table)
            .item("delivery_key", s(disabled_key(channel, target_id)))
            .item("state", s("disabled"))
            .item("at_ms", n(crate::clock::now_ms()))
            .item("reason", s(format!("{label}: {reason}")))
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb", "PutItem", e))?;
        Ok(())
    }

    async fn is_disabled(&self, channel: &str, target_id: &str) -> Result<bool> {
        let item = self.read(&disabled_key(channel, target_id)).await?;
        Ok(item
            .and_then(|i| i.get("state").and_then(|v| v.as_s().ok()).cloned())
            .is_some_and(|s| s == "disabled"))
    }
}
