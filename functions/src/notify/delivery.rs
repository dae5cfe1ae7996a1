//! The delivery record: at most one post per (clip, alert kind, target), across retries,
//! restarts and redelivered messages.
//!
//! # Semantics: claim before send
//!
//! A sender first **claims** the key (an atomic "create if absent or released"), then posts,
//! then marks it **delivered** — or **releases** it when the post certainly did not land
//! (refused, 4xx/5xx answers, connection not made) so a later redelivery may try again.
//!
//! The window between claim and outcome is the trade-off: if the process dies there (or a
//! request times out after the body was sent and retries are exhausted), the key stays
//! *claimed* and is **never retried** — the alert may be lost, but it is never posted twice
//! by a restart or a redelivery. This is at-most-once across processes; within one process a
//! retry after a network error that hit after the body was sent can, rarely, post twice
//! (webhooks have no idempotency key). Stale claims are visible in the record (state
//! `claimed`) and logged when met.
//!
//! A target answering 401/403/404/410 is **disabled** for its channel (also kept here, so it
//! survives restarts, and warned about once).

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};

use clipper_models::Millis;
use serde::{Deserialize, Serialize};

use crate::clock::now_ms;
use crate::error::{FunctionsError, Result};
use crate::local::io_err;

/// One delivery: a clip's alert to one target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryKey {
    pub request_id: String,
    /// [`super::AlertKind::key`].
    pub alert: &'static str,
    /// [`super::NotifyTarget::id`] (no secret).
    pub target_id: String,
}

impl DeliveryKey {
    /// `request_id#alert#target_id`: the record's key.
    pub fn as_key(&self) -> String {
        format!("{}#{}#{}", self.request_id, self.alert, self.target_id)
    }
}

/// The key under which a disabled target of a channel is kept.
pub fn disabled_key(channel: &str, target_id: &str) -> String {
    format!("disabled#{channel}#{target_id}")
}

/// Result of [`DeliveryLog::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller owns the delivery: post, then [`DeliveryLog::delivered`] or
    /// [`DeliveryLog::release`].
    Claimed,
    /// Already posted.
    Delivered,
    /// Claimed by someone else (now, or before a crash): not posted again.
    InFlight { since_ms: Millis },
}

/// Where delivery records are kept (locally `recordings/deliveries.jsonl`, on AWS a DynamoDB
/// table written with conditional puts).
pub trait DeliveryLog: Send + Sync {
    fn claim(&self, key: &DeliveryKey) -> impl Future<Output = Result<Claim>> + Send;
    fn delivered(&self, key: &DeliveryKey) -> impl Future<Output = Result<()>> + Send;
    /// The post did not land: a later attempt may claim the key again.
    fn release(&self, key: &DeliveryKey) -> impl Future<Output = Result<()>> + Send;
    /// Disable `target_id` for `channel`; `label` is the redacted target, `reason` the answer.
    fn disable(
        &self,
        channel: &str,
        target_id: &str,
        label: &str,
        reason: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    fn is_disabled(
        &self,
        channel: &str,
        target_id: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
}

impl<T: DeliveryLog> DeliveryLog for std::sync::Arc<T> {
    fn claim(&self, key: &DeliveryKey) -> impl Future<Output = Result<Claim>> + Send {
        (**self).claim(key)
    }
    fn delivered(&self, key: &DeliveryKey) -> impl Future<Output = Result<()>> + Send {
        (**self).delivered(key)
    }
    fn release(&self, key: &DeliveryKey) -> impl Future<Output = Result<()>> + Send {
        (**self).release(key)
    }
    fn disable(
        &self,
        channel: &str,
        target_id: &str,
        label: &str,
        reason: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        (**self).disable(channel, target_id, label, reason)
    }
    fn is_disabled(
        &self,
        channel: &str,
        target_id: &str,
    ) -> impl Future<Output = Result<bool>> + Send {
        (**self).is_disabled(channel, target_id)
    }
}

/// State of a key in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Claimed,
    Delivered,
    Released,
    Disabled,
}

/// One line of `deliveries.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    key: String,
    state: DeliveryState,
    at_ms: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// The local delivery log: an append-only JSON-lines file (`<dir>/deliveries.jsonl`), every
/// line fsynced before the call returns; the latest line of a key is its state. Read once at
/// open; one process per file (the relay).
#[derive(Debug)]
pub struct JsonlDeliveryLog {
    path: PathBuf,
    state: std::sync::Mutex<HashMap<String, (DeliveryState, Millis)>>,
}

/// File name of the local delivery log under the recordings directory.
pub const DELIVERIES_FILE: &str = "deliveries.jsonl";

impl JsonlDeliveryLog {
    /// Opens (or starts) `<dir>/deliveries.jsonl`. A torn last line (crash mid-write) is
    /// skipped.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(DELIVERIES_FILE);
        let mut state = HashMap::new();
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                for l in s.lines().filter(|l| !l.trim().is_empty()) {
                    match serde_json::from_str::<Line>(l) {
                        Ok(line) => {
                            state.insert(line.key, (line.state, line.at_ms));
                        }
                        Err(e) => {
                            tracing::warn!(file = %path.display(), error = %e, "skipping an unreadable delivery record")
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path)(e)),
        }
        Ok(JsonlDeliveryLog {
            path,
            state: std::sync::Mutex::new(state),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, line: &Line) -> Result<()> {
        let mut bytes = serde_json::to_vec(line).map_err(|source| FunctionsError::Decode {
            what: "delivery record",
            source,
        })?;
        bytes.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        f.write_all(&bytes).map_err(io_err(&self.path))?;
        f.sync_data().map_err(io_err(&self.path))
    }

    /// Sets `key` to `state` (in memory only once the line is on disk).
    fn set(
        &self,
        map: &mut HashMap<String, (DeliveryState, Millis)>,
        key: String,
        state: DeliveryState,
        reason: Option<String>,
    ) -> Result<()> {
        let at_ms = now_ms();
        self.append(&Line {
            key: key.clone(),
            state,
            at_ms,
            reason,
        })?;
        map.insert(key, (state, at_ms));
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (DeliveryState, Millis)>> {
        // A panic while holding the lock leaves the map consistent with the file (it is
        // updated after the append), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl DeliveryLog for JsonlDeliveryLog {
    async fn claim(&self, key: &DeliveryKey) -> Result<Claim> {
        let k = key.as_key();
        let mut map = self.lock();
        match map.get(&k).copied() {
            Some((DeliveryState::Delivered, _)) => Ok(Claim::Delivered),
            Some((DeliveryState::Claimed, since_ms)) => Ok(Claim::InFlight { since_ms }),
            _ => {
                self.set(&mut map, k, DeliveryState::Claimed, None)?;
                Ok(Claim::Claimed)
            }
        }
    }

    async fn delivered(&self, key: &DeliveryKey) -> Result<()> {
        let mut map = self.lock();
        self.set(&mut map, key.as_key(), DeliveryState::Delivered, None)
    }

    async fn release(&self, key: &DeliveryKey) -> Result<()> {
        let mut map = self.lock();
        self.set(&mut map, key.as_key(), DeliveryState::Released, None)
    }

    async fn disable(
        &self,
        channel: &str,
        target_id: &str,
        label: &str,
        reason: &str,
    ) -> Result<()> {
        let mut map = self.lock();
        self.set(
            &mut map,
            disabled_key(channel, target_id),
            DeliveryState::Disabled,
            Some(format!("{label}: {reason}")),
        )
    }

    async fn is_disabled(&self, channel: &str, target_id: &str) -> Result<bool> {
        Ok(matches!(
            self.lock().get(&disabled_key(channel, target_id)),
            Some((DeliveryState::Disabled, _))
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() -> DeliveryKey {
        DeliveryKey {
            request_id: "r1".into(),
            alert: "clip",
            target_id: "discord-00".into(),
        }
    }

    #[tokio::test]
    async fn claim_is_once_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let log = JsonlDeliveryLog::open(dir.path()).unwrap();
        assert_eq!(log.claim(&key()).await.unwrap(), Claim::Claimed);
        assert!(matches!(
            log.claim(&key()).await.unwrap(),
            Claim::InFlight { .. }
        ));
        log.release(&key()).await.unwrap();
        assert_eq!(log.claim(&key()).await.unwrap(), Claim::Claimed);
        log.delivered(&key()).await.unwrap();
        assert_eq!(log.claim(&key()).await.unwrap(), Claim::Delivered);
        log.disable("chan", "discord-00", "discord:https://x/…", "404")
            .await
            .unwrap();
        drop(log);
        // A torn line at the end (crash mid-append) is skipped.
        let p = dir.path().join(DELIVERIES_FILE);
        let mut s = std::fs::read_to_string(&p).unwrap();
        s.push_str("{\"key\":\"r2#clip#x\",\"sta");
        std::fs::write(&p, s).unwrap();
        let log = JsonlDeliveryLog::open(dir.path()).unwrap();
        assert_eq!(log.claim(&key()).await.unwrap(), Claim::Delivered);
        assert!(log.is_disabled("chan", "discord-00").await.unwrap());
        assert!(!log.is_disabled("other", "discord-00").await.unwrap());
    }

    #[tokio::test]
    async fn a_claim_left_by_a_crash_is_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let log = JsonlDeliveryLog::open(dir.path()).unwrap();
        assert_eq!(log.claim(&key()).await.unwrap(), Claim::Claimed);
        drop(log); // "crash" between claim and outcome
        let log = JsonlDeliveryLog::open(dir.path()).unwrap();
        assert!(matches!(
            log.claim(&key()).await.unwrap(),
            Claim::InFlight { .. }
        ));
    }
}
