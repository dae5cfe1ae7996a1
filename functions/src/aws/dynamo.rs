//! DynamoDB: clip records, moment claims, channel settings and short leases.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use clipper_models::Millis;

use super::{error_code, instance_id, sdk_error};
use crate::error::{FunctionsError, Result};
use crate::handlers::metrics::{self, COUNTS};
use crate::record::ClipRecord;
use crate::roles::{ChannelConfig, ChannelStore, ClipStore, MomentClaims};

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_n<T: std::str::FromStr>(item: &Item, k: &str) -> Option<T> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|x| x.parse().ok())
}

fn now_s() -> i64 {
    crate::clock::now_ms() / 1000
}

/// Clip records in the clips table: partition key `request_id`; the whole record as JSON in
/// `record`, with `channel`, `trigger_ms`, `status`, `url` beside it for the GSI `by_channel`
/// (partition `channel`, sort `trigger_ms`) used by `clipper clips export --channel`.
#[derive(Debug, Clone)]
pub struct DynamoClipStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    index: String,
}

impl DynamoClipStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoClipStore {
            client,
            table: table.into(),
            index: "by_channel".into(),
        }
    }

    fn decode(item: &Item) -> Result<ClipRecord> {
        let json = get_s(item, "record").unwrap_or_default();
        serde_json::from_str(json).map_err(|source| FunctionsError::Decode {
            what: "clip record item",
            source,
        })
    }
}

impl ClipStore for DynamoClipStore {
    async fn put(&self, record: &ClipRecord) -> Result<()> {
        let json = serde_json::to_string(record).map_err(|source| FunctionsError::Decode {
            what: "clip record",
            source,
        })?;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("request_id", s(&record.request_id))
            .item("channel", s(&record.channel))
            .item("trigger_ms", n(record.trigger_ms))
            .item(
                "status",
                s(serde_json::to_value(record.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()),
            )
            .item("record", s(json))
            .item("updated_at", n(now_s()));
        if let Some(u) = &record.url {
            req = req.item("url", s(u));
        }
        metrics::add(&COUNTS.ddb_write, 1);
        req.send()
            .await
            .map_err(|e| sdk_error("dynamodb", "PutItem", e))?;
        Ok(())
    }

    async fn get(&self, request_id: &str) -> Result<Option<ClipRecord>> {
        metrics::add(&COUNTS.ddb_read, 1);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("request_id", s(request_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb", "GetItem", e))?;
        out.item().map(Self::decode).transpose()
    }

    async fn list(
        &self,
        channel: Option<&str>,
        since_ms: Option<Millis>,
    ) -> Result<Vec<ClipRecord>> {
        let since = since_ms.unwrap_or(Millis::MIN);
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            metrics::add(&COUNTS.ddb_read, 1);
            let (items, last) = match channel {
                Some(c) => {
                    let o = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .index_name(&self.index)
                        .key_condition_expression("#c = :c AND trigger_ms >= :s")
                        .expression_attribute_names("#c", "channel")
                        .expression_attribute_values(":c", s(c))
                        .expression_attribute_values(":s", n(since))
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(|e| sdk_error("dynamodb", "Query", e))?;
                    (o.items.unwrap_or_default(), o.last_evaluated_key)
                }
                None => {
                    let o = self
                        .client
                        .scan()
                        .table_name(&self.table)
                        .filter_expression("trigger_ms >= :s")
                        .expression_attribute_values(":s", n(since))
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(|e| sdk_error("dynamodb", "Scan", e))?;
                    (o.items.unwrap_or_default(), o.last_evaluated_key)
                }
            };
            for it in &items {
                out.push(Self::decode(it)?);
            }
            match last {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.sort_by(|a, b| (a.trigger_ms, &a.request_id).cmp(&(b.trigger_ms, &b.request_id)));
        Ok(out)
    }
}

/// Moment claims: one item per channel in the state table (`channel`, `last_trigger_ms`,
/// `request_id`, `expires_at` for TTL), written with
/// `attribute_not_exists(last_trigger_ms) OR last_trigger_ms <= :t - cooldown OR request_id = :rid`
/// so that exactly one score worker wins a moment, and a retried claim of the winner wins again.
#[derive(Debug, Clone)]
pub struct DynamoClaims {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl_s: i64,
}

impl DynamoClaims {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoClaims {
            client,
            table: table.into(),
            ttl_s: 7 * 86_400,
        }
    }
}

impl MomentClaims for DynamoClaims {
    async fn claim(
        &self,
        channel: &str,
        trigger_ms: Millis,
        cooldown_ms: Millis,
        request_id: &str,
    ) -> Result<bool> {
        metrics::add(&COUNTS.ddb_write, 1);
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("channel", s(channel))
            .update_expression("SET last_trigger_ms = :t, request_id = :rid, expires_at = :exp")
            .condition_expression(
                "attribute_not_exists(last_trigger_ms) OR last_trigger_ms <= :limit OR request_id = :rid",
            )
            .expression_attribute_values(":t", n(trigger_ms))
            .expression_attribute_values(":limit", n(trigger_ms.saturating_sub(cooldown_ms)))
            .expression_attribute_values(":rid", s(request_id))
            .expression_attribute_values(":exp", n(now_s() + self.ttl_s))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(sdk_error("dynamodb", "UpdateItem", e)),
        }
    }
}

/// Channel settings: one item per channel (`channel`, `enabled`, `threshold`, `cooldown_ms`,
/// `webhook_url`, `notify` (list of targets), `notify_failures`, `notify_dry_run`, `chat_link`, `digest`).
#[derive(Debug, Clone)]
pub struct DynamoChannelStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoChannelStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoChannelStore {
            client,
            table: table.into(),
        }
    }

    fn decode(item: &Item) -> Option<ChannelConfig> {
        let mut c = ChannelConfig::new(get_s(item, "channel")?);
        c.enabled = item
            .get("enabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(true);
        c.threshold = get_n(item, "threshold");
        c.cooldown_ms = get_n(item, "cooldown_ms");
        c.clip_duration_s = get_n(item, "clip_duration_s");
        c.webhook_url = get_s(item, "webhook_url").map(str::to_owned);
        // Alert targets: a list of `kind:value` strings; an unreadable one is skipped with a
        // warning that does not repeat it (it may hold a webhook secret).
        if let Some(list) = item.get("notify").and_then(|v| v.as_l().ok()) {
            for t in list.iter().filter_map(|v| v.as_s().ok()) {
                match crate::notify::NotifyTarget::parse(t) {
                    Ok(t) => c.notify.push(t),
                    Err(e) => {
                        tracing::warn!(channel = %c.channel, error = %e, "skipping a stored alert target")
                    }
                }
            }
        }
        let flag = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false)
        };
        c.notify_failures = flag("notify_failures");
        c.notify_dry_run = flag("notify_dry_run");
        c.chat_link = flag("chat_link");
        c.digest = flag("digest");
        Some(c)
    }
}

impl ChannelStore for DynamoChannelStore {
    async fn list(&self) -> Result<Vec<ChannelConfig>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            metrics::add(&COUNTS.ddb_read, 1);
            let o = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("dynamodb", "Scan", e))?;
            out.extend(o.items().iter().filter_map(Self::decode));
            match o.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.channel.cmp(&b.channel));
        Ok(out)
    }

    async fn put(&self, c: &ChannelConfig) -> Result<()> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("channel", s(&c.channel))
            .item("enabled", AttributeValue::Bool(c.enabled));
        if let Some(t) = c.threshold {
            req = req.item("threshold", n(t));
        }
        if let Some(cd) = c.cooldown_ms {
            req = req.item("cooldown_ms", n(cd));
        }
        if let Some(d) = c.clip_duration_s {
            req = req.item("clip_duration_s", n(d));
        }
        if let Some(w) = &c.webhook_url {
            req = req.item("webhook_url", s(w));
        }
        if !c.notify.is_empty() {
            let list = c.notify.iter().map(|t| s(t.expose())).collect();
            req = req.item("notify", AttributeValue::L(list));
        }
        if c.notify_failures {
            req = req.item("notify_failures", AttributeValue::Bool(true));
        }
        if c.notify_dry_run {
            req = req.item("notify_dry_run", AttributeValue::Bool(true));
        }
        if c.chat_link {
            req = req.item("chat_link", AttributeValue::Bool(true));
        }
        if c.digest {
            req = req.item("digest", AttributeValue::Bool(true));
        }
        metrics::add(&COUNTS.ddb_write, 1);
        req.send()
            .await
            .map_err(|e| sdk_error("dynamodb", "PutItem", e))?;
        Ok(())
    }

    async fn remove(&self, channel: &str) -> Result<bool> {
        metrics::add(&COUNTS.ddb_write, 1);
        let o = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("channel", s(channel))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb", "DeleteItem", e))?;
        Ok(o.attributes().is_some_and(|a| !a.is_empty()))
    }
}

/// Short leases in the leases table (`lease`, `holder`, `expires_at_ms`, `expires_at` for TTL):
/// at most one holder at a time; an expired lease can be taken over.
#[derive(Debug, Clone)]
pub struct DynamoLease {
    client: aws_sdk_dynamodb::Client,
    table: String,
    holder: String,
}

/// A held lease; [`DynamoLease::release`] gives it back (it also expires by itself).
#[derive(Debug)]
pub struct LeaseGuard {
    pub name: String,
    pub holder: String,
    pub expires_at_ms: Millis,
}

impl DynamoLease {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoLease {
            client,
            table: table.into(),
            holder: instance_id(),
        }
    }

    /// The same table with another holder name (tests: two workers in one process).
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// Take `name` for `ttl_ms` if nobody holds it; `None` when someone else does.
    pub async fn try_acquire(&self, name: &str, ttl_ms: Millis) -> Result<Option<LeaseGuard>> {
        let now = crate::clock::now_ms();
        let expires = now + ttl_ms;
        metrics::add(&COUNTS.ddb_write, 1);
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("lease", s(name))
            .item("holder", s(&self.holder))
            .item("expires_at_ms", n(expires))
            .item("expires_at", n(expires / 1000 + 60))
            .condition_expression("attribute_not_exists(lease) OR expires_at_ms < :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Some(LeaseGuard {
                name: name.to_owned(),
                holder: self.holder.clone(),
                expires_at_ms: expires,
            })),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => Ok(None),
            Err(e) => Err(sdk_error("dynamodb", "PutItem", e)),
        }
    }

    /// Wait for `name` (polling every `poll_ms`) at most `wait_ms`.
    pub async fn acquire(
        &self,
        name: &str,
        ttl_ms: Millis,
        wait_ms: Millis,
        poll_ms: u64,
    ) -> Result<Option<LeaseGuard>> {
        let give_up = crate::clock::now_ms() + wait_ms;
        loop {
            if let Some(g) = self.try_acquire(name, ttl_ms).await? {
                return Ok(Some(g));
            }
            if crate::clock::now_ms() >= give_up {
                return Ok(None);
            }
            tokio::time::sleep(std::time::Duration::from_millis(poll_ms)).await;
        }
    }

    /// Give the lease back (only if still ours).
    pub async fn release(&self, guard: LeaseGuard) -> Result<()> {
        metrics::add(&COUNTS.ddb_write, 1);
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("lease", s(&guard.name))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(&guard.holder))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(sdk_error("dynamodb", "DeleteItem", e)),
        }
    }
}
