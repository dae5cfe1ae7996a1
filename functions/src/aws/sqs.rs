//! SQS: the windows queue (relay side, batched and retried) and the clip queue (delayed
//! messages).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use clipper_models::{ClipRequest, WindowBatch};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{jitter_ms, sdk_error};
use crate::error::{FunctionsError, Result};
use crate::handlers::metrics::{self, COUNTS};
use crate::roles::{ClipScheduler, WindowQueue};

/// Limits and timing of [`SqsWindowQueue`].
#[derive(Debug, Clone)]
pub struct SqsQueueConfig {
    /// Entries per `SendMessageBatch` (SQS allows 10).
    pub max_entries: usize,
    /// Bytes of message bodies per request (SQS allows 256 KiB; a little is kept for ids).
    pub max_request_bytes: usize,
    /// How long a message may wait for others to fill a request.
    pub linger: Duration,
    /// Messages buffered before `send` waits (back-pressure).
    pub capacity: usize,
    /// Backoff after a failed request: doubling from `base_backoff` up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for SqsQueueConfig {
    fn default() -> Self {
        SqsQueueConfig {
            max_entries: 10,
            max_request_bytes: 256 * 1024 - 2 * 1024,
            linger: Duration::from_millis(200),
            capacity: 2_048,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl SqsQueueConfig {
    /// The relay's: a buffer of 128 messages (≤ 12,800 windows at 100 per message, ~15 MiB)
    /// instead of 2,048 (~200 MiB), so that in a long outage the relay's memory stays small
    /// and the forwarder's bounded backlog (which sheds with a count) takes the rest.
    pub fn relay() -> Self {
        SqsQueueConfig {
            capacity: 128,
            ..SqsQueueConfig::default()
        }
    }
}

/// Counters of one [`SqsWindowQueue`].
#[derive(Debug, Default)]
pub struct QueueStats {
    pub enqueued: AtomicU64,
    pub sent: AtomicU64,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub full: AtomicU64,
    pub dropped: AtomicU64,
}

impl QueueStats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// The relay's window sink: [`WindowQueue::send`] serialises the batch into a bounded buffer
/// and returns; a background task packs buffered messages into `SendMessageBatch` requests
/// (≤ 10 entries, ≤ 256 KiB, or after `linger`), retries throttling, 5xx and network failures
/// with exponential backoff and jitter, and re-sends entries SQS reported failed. Nothing is
/// dropped while the outage lasts: when the buffer is full, `send` waits (back-pressure) and a
/// warning says so. [`SqsWindowQueue::shutdown`] flushes everything still buffered.
#[derive(Debug)]
pub struct SqsWindowQueue {
    tx: mpsc::Sender<String>,
    stats: Arc<QueueStats>,
    config: SqsQueueConfig,
    task: JoinHandle<()>,
}

impl SqsWindowQueue {
    /// Start the sender task (needs a tokio runtime).
    pub fn start(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        config: SqsQueueConfig,
    ) -> Self {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let stats = Arc::new(QueueStats::default());
        let task = tokio::spawn(run_sender(
            client,
            queue_url.into(),
            config.clone(),
            rx,
            Arc::clone(&stats),
        ));
        SqsWindowQueue {
            tx,
            stats,
            config,
            task,
        }
    }

    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    /// Messages waiting in the buffer.
    pub fn buffered(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Stop accepting, send everything buffered (retrying as usual), and wait at most
    /// `timeout`. Returns how many messages were still unsent when the time ran out (0: all
    /// delivered).
    pub async fn shutdown(self, timeout: Duration) -> u64 {
        let SqsWindowQueue {
            tx, stats, task, ..
        } = self;
        drop(tx);
        let mut task = task;
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(_) => 0,
            Err(_) => {
                task.abort();
                let unsent = QueueStats::get(&stats.enqueued)
                    .saturating_sub(QueueStats::get(&stats.sent) + QueueStats::get(&stats.dropped));
                tracing::error!(unsent, "window queue shutdown timed out; windows lost");
                unsent
            }
        }
    }

    /// One or more message bodies for `batch`, split by windows when it exceeds a request.
    fn bodies(&self, batch: &WindowBatch, out: &mut Vec<String>) -> Result<()> {
        let body =
            sqs_body(
                serde_json::to_string(batch).map_err(|source| FunctionsError::Decode {
                    what: "window batch",
                    source,
                })?,
            );
        if body.len() <= self.config.max_request_bytes {
            out.push(body);
            return Ok(());
        }
        if batch.windows.len() <= 1 {
            return Err(FunctionsError::Config(format!(
                "one window is {} bytes, over the SQS limit",
                body.len()
            )));
        }
        let mid = batch.windows.len() / 2;
        for part in [&batch.windows[..mid], &batch.windows[mid..]] {
            let b = WindowBatch {
                windows: part.to_vec(),
                ..batch.clone()
            };
            self.bodies(&b, out)?;
        }
        Ok(())
    }
}

impl WindowQueue for SqsWindowQueue {
    async fn send(&self, batch: &WindowBatch) -> Result<()> {
        let mut bodies = Vec::with_capacity(1);
        self.bodies(batch, &mut bodies)?;
        for body in bodies {
            let body = match self.tx.try_send(body) {
                Ok(()) => {
                    self.stats.enqueued.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    return Err(FunctionsError::Config("window queue is shut down".into()))
                }
                Err(mpsc::error::TrySendError::Full(body)) => body,
            };
            let n = self.stats.full.fetch_add(1, Ordering::Relaxed);
            metrics::add(&COUNTS.queue_full, 1);
            if n % 100 == 0 {
                tracing::warn!(
                    capacity = self.config.capacity,
                    times = n + 1,
                    "window queue buffer full (SQS slow or down); waiting"
                );
            }
            self.tx
                .send(body)
                .await
                .map_err(|_| FunctionsError::Config("window queue is shut down".into()))?;
            self.stats.enqueued.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

async fn run_sender(
    client: aws_sdk_sqs::Client,
    url: String,
    config: SqsQueueConfig,
    mut rx: mpsc::Receiver<String>,
    stats: Arc<QueueStats>,
) {
    let mut pending: Vec<String> = Vec::new();
    let mut carry: Option<String> = None;
    loop {
        let first = match carry.take() {
            Some(b) => b,
            None => match rx.recv().await {
                Some(b) => b,
                None => break,
            },
        };
        let mut bytes = first.len();
        pending.push(first);
        let deadline = tokio::time::Instant::now() + config.linger;
        while pending.len() < config.max_entries {
            let next = tokio::select! {
                m = rx.recv() => m,
                _ = tokio::time::sleep_until(deadline) => None,
            };
            let Some(b) = next else { break };
            if bytes + b.len() > config.max_request_bytes {
                carry = Some(b);
                break;
            }
            bytes += b.len();
            pending.push(b);
        }
        send_with_retry(&client, &url, &config, &mut pending, &stats).await;
    }
    tracing::debug!("window queue sender stopped");
}

/// Send `pending` until every entry is accepted (or refused as malformed).
async fn send_with_retry(
    client: &aws_sdk_sqs::Client,
    url: &str,
    config: &SqsQueueConfig,
    pending: &mut Vec<String>,
    stats: &QueueStats,
) {
    let mut attempt: u32 = 0;
    while !pending.is_empty() {
        let entries: Vec<SendMessageBatchRequestEntry> = pending
            .iter()
            .enumerate()
            .filter_map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .ok()
            })
            .collect();
        let bytes: usize = pending.iter().map(String::len).sum();
        stats.requests.fetch_add(1, Ordering::Relaxed);
        metrics::add(&COUNTS.sqs_requests, 1);
        metrics::add(&COUNTS.sqs_send_bytes, bytes as u64);
        let res = client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await;
        let retry_ids: Vec<usize> = match res {
            Ok(out) => {
                let mut retry = Vec::new();
                for f in out.failed() {
                    let Ok(i) = f.id().parse::<usize>() else {
                        continue;
                    };
                    if f.sender_fault() {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(code = f.code(), message = ?f.message(),
                            "SQS refused a window batch as malformed; dropped");
                    } else {
                        retry.push(i);
                    }
                }
                let ok = out.successful().len() as u64;
                stats.sent.fetch_add(ok, Ordering::Relaxed);
                metrics::add(&COUNTS.sqs_messages_sent, ok);
                retry
            }
            Err(e) => {
                let err = sdk_error("sqs", "SendMessageBatch", e);
                tracing::warn!(error = %err, attempt, retryable = err.is_retryable(),
                    "SendMessageBatch failed; retrying (windows are kept)");
                (0..pending.len()).collect()
            }
        };
        if retry_ids.is_empty() {
            pending.clear();
            return;
        }
        let mut keep = Vec::with_capacity(retry_ids.len());
        for (i, body) in pending.drain(..).enumerate() {
            if retry_ids.contains(&i) {
                keep.push(body);
            }
        }
        *pending = keep;
        stats.retries.fetch_add(1, Ordering::Relaxed);
        metrics::add(&COUNTS.queue_retries, 1);
        let exp = config
            .base_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(config.max_backoff);
        let jitter = Duration::from_millis(jitter_ms(exp.as_millis() as u64 / 2 + 1));
        tokio::time::sleep(exp + jitter).await;
        attempt += 1;
    }
}

/// A JSON text as an SQS message body. SQS accepts only XML characters (#x9, #xA, #xD,
/// #x20–#xD7FF, #xE000–#xFFFD, #x10000–#x10FFFF) and refuses the whole entry otherwise;
/// serde_json escapes control characters but writes the noncharacters U+FFFE and U+FFFF as
/// they are, and a chatter can type them (they reach a window through `top_phrase` and
/// `top_tokens`). They can only occur inside JSON strings, so writing them as `\ufffe` /
/// `\uffff` escapes is exact: the decoded message is the same.
pub fn sqs_body(json: String) -> String {
    if !json.contains(['\u{fffe}', '\u{ffff}']) {
        return json;
    }
    json.replace('\u{fffe}', "\\ufffe")
        .replace('\u{ffff}', "\\uffff")
}

/// The clip queue: a request is a message delayed until it is due (`DelaySeconds`, rounded up
/// to whole seconds, at most 900: SQS's limit; a longer wait is re-scheduled by the clip
/// handler).
#[derive(Debug, Clone)]
pub struct SqsClipScheduler {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsClipScheduler {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsClipScheduler {
            client,
            url: queue_url.into(),
        }
    }

    /// `DelaySeconds` for `delay`.
    pub fn delay_seconds(delay: Duration) -> i32 {
        let s = delay.as_millis().div_ceil(1000);
        i32::try_from(s.min(900)).unwrap_or(900)
    }
}

impl ClipScheduler for SqsClipScheduler {
    async fn schedule(&self, request: &ClipRequest, delay: Duration) -> Result<()> {
        let body =
            sqs_body(
                serde_json::to_string(request).map_err(|source| FunctionsError::Decode {
                    what: "clip request",
                    source,
                })?,
            );
        metrics::add(&COUNTS.sqs_requests, 1);
        metrics::add(&COUNTS.sqs_send_bytes, body.len() as u64);
        metrics::add(&COUNTS.sqs_messages_sent, 1);
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(Self::delay_seconds(delay))
            .send()
            .await
            .map_err(|e| sdk_error("sqs", "SendMessage", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_hold_only_characters_sqs_accepts_and_decode_the_same() {
        let text = "a\u{fffe}b\u{ffff}c\u{0}d\u{1}\u{fffd}\u{10ffff}";
        let json = serde_json::to_string(&serde_json::json!({ "top_phrase": text })).unwrap();
        assert!(
            json.contains('\u{fffe}'),
            "serde writes it raw: the case to handle"
        );
        let body = sqs_body(json);
        let sqs_ok = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..);
        assert!(body.chars().all(sqs_ok), "{body:?}");
        let back: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(back["top_phrase"], text);
    }

    #[test]
    fn delays_round_up_and_cap() {
        assert_eq!(SqsClipScheduler::delay_seconds(Duration::ZERO), 0);
        assert_eq!(
            SqsClipScheduler::delay_seconds(Duration::from_millis(6_001)),
            7
        );
        assert_eq!(SqsClipScheduler::delay_seconds(Duration::from_secs(7)), 7);
        assert_eq!(
            SqsClipScheduler::delay_seconds(Duration::from_secs(5_000)),
            900
        );
    }
}
