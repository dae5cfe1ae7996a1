//! Dashboard sessions and login attempts in a DynamoDB table with TTL (the dashboard
//! function's instances share nothing else).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use clipper_models::Millis;

use super::sdk_error;
use crate::dashboard::auth::{SessionEntry, SessionStore};
use crate::error::{FunctionsError, Result};

type Item = HashMap<String, AttributeValue>;

/// One item per session or login attempt: partition key `session` (the SHA-256 of the cookie
/// value, never the value), `entry` (JSON), `expires_at_ms`, and `expires_at` (Unix seconds,
/// the table's TTL attribute: DynamoDB deletes expired items within a day or two, and entries
/// past `expires_at_ms` are refused before that).
#[derive(Debug, Clone)]
pub struct DynamoSessionStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoSessionStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoSessionStore {
            client,
            table: table.into(),
        }
    }

    fn decode(item: &Item) -> Result<Option<(SessionEntry, Millis)>> {
        let Some(json) = item.get("entry").and_then(|v| v.as_s().ok()) else {
            return Ok(None);
        };
        let entry = serde_json::from_str(json).map_err(|source| FunctionsError::Decode {
            what: "dashboard session item",
            source,
        })?;
        let expires = item
            .get("expires_at_ms")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Ok(Some((entry, expires)))
    }
}

#[async_trait::async_trait]
impl SessionStore for DynamoSessionStore {
    async fn put(&self, key: &str, entry: &SessionEntry, expires_ms: Millis) -> Result<()> {
        let json = serde_json::to_string(entry).map_err(|source| FunctionsError::Decode {
            what: "dashboard session",
            source,
        })?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("session", AttributeValue::S(key.to_owned()))
            .item("entry", AttributeValue::S(json))
            .item("expires_at_ms", AttributeValue::N(expires_ms.to_string()))
            .item(
                "expires_at",
                AttributeValue::N((expires_ms / 1000 + 1).to_string()),
            )
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb", "PutItem", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<(SessionEntry, Millis)>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("session", AttributeValue::S(key.to_owned()))
            // A logout on one instance must hold on the next request to another.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb", "GetItem", e))?;
        match out.item() {
            Some(item) => Self::decode(item),
            None => Ok(None),
        }
    }

    async fn take(&self, key: &str) -> Result<Option<(SessionEntry, Millis)>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("session", AttributeValue::S(key.to_owned()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb", "DeleteItem", e))?;
        match out.attributes() {
            Some(item) if !item.is_empty() => Self::decode(item),
            _ => Ok(None),
        }
    }
}
