//! Relay of the serverless shape: closed windows, packed into [`WindowBatch`] messages, go to a
//! [`WindowQueue`] (SQS in the cloud, an in-process channel locally). Scoring and clipping
//! happen in the score and clip functions.
//!
//! Packing many windows into one message is what keeps the queue cheap: a message carries up
//! to `max_windows` windows (of any channels) or whatever arrived within `linger`. The queue
//! adapter batches messages into `SendMessageBatch` requests, retries and applies
//! back-pressure; this task never drops a window: a failed send is retried with backoff until
//! it succeeds or the process is told to stop, and what is left at shutdown is sent before
//! exit.

use std::time::Duration;

use clipper_functions::roles::WindowQueue;
use clipper_models::{WindowBatch, WindowEnvelope, WIRE_VERSION};
use serde::Serialize;
use tokio::sync::mpsc;

/// Packing limits.
#[derive(Debug, Clone)]
pub struct ForwardOptions {
    /// Relay id written into every message (host name or task id).
    pub relay_id: String,
    /// Windows per message at most (a window is ~1 KiB of JSON; SQS allows 256 KiB).
    pub max_windows: usize,
    /// How long the first window of a message may wait for others.
    pub linger: Duration,
    /// Windows waiting for the queue at most (the driver sheds, with a count, beyond it):
    /// with SQS down, memory stays bounded. Default 20,000 (~100 s of 1,000 busy channels, on
    /// top of the SQS adapter's own buffer of 2,048 messages).
    pub max_backlog: usize,
    /// At shutdown, how long the forwarder may keep trying to hand over what is left.
    /// Default 10 s (the SQS adapter then has its own flush time; both fit ECS's 30 s).
    pub shutdown_grace: Duration,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            relay_id: "relay".into(),
            max_windows: 100,
            linger: Duration::from_secs(1),
            max_backlog: 20_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What the forwarder did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ForwardStats {
    pub windows: u64,
    pub messages: u64,
    pub send_retries: u64,
    /// Windows that were still waiting when the shutdown grace ran out.
    pub unsent: u64,
}

/// Windows the forwarder handed to the queue so far (readable after it was aborted).
pub type SentCounter = std::sync::Arc<std::sync::atomic::AtomicU64>;

/// Waits at most `grace` for the forwarder to hand over what is left; then stops it and says
/// how many of the `closed` windows the driver passed on were not handed over.
pub async fn finish_forwarder(
    handle: tokio::task::JoinHandle<ForwardStats>,
    sent: &SentCounter,
    passed_on: u64,
    grace: Duration,
) -> ForwardStats {
    let mut handle = handle;
    match tokio::time::timeout(grace, &mut handle).await {
        Ok(Ok(stats)) => stats,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "window forwarder failed");
            let windows = sent.load(std::sync::atomic::Ordering::Relaxed);
            ForwardStats {
                windows,
                unsent: passed_on.saturating_sub(windows),
                ..ForwardStats::default()
            }
        }
        Err(_) => {
            handle.abort();
            let windows = sent.load(std::sync::atomic::Ordering::Relaxed);
            let unsent = passed_on.saturating_sub(windows);
            tracing::error!(
                unsent,
                grace_ms = grace.as_millis() as u64,
                "the queue did not take the last windows in time; they are not sent"
            );
            ForwardStats {
                windows,
                unsent,
                ..ForwardStats::default()
            }
        }
    }
}

/// Forwards until `windows` closes (the driver ended), then sends what is left.
pub async fn run_forwarder<Q: WindowQueue>(
    queue: &Q,
    mut windows: mpsc::Receiver<WindowEnvelope>,
    opts: ForwardOptions,
    sent: SentCounter,
) -> ForwardStats {
    let mut stats = ForwardStats::default();
    let mut seq = 0u64;
    let max = opts.max_windows.max(1);
    loop {
        let Some(first) = windows.recv().await else {
            break;
        };
        let mut pack = vec![first];
        let deadline = tokio::time::Instant::now() + opts.linger;
        let mut closed = false;
        while pack.len() < max {
            match tokio::time::timeout_at(deadline, windows.recv()).await {
                Ok(Some(w)) => pack.push(w),
                Ok(None) => {
                    closed = true;
                    break;
                }
                Err(_) => break,
            }
        }
        seq += 1;
        let batch = WindowBatch {
            v: WIRE_VERSION,
            relay: opts.relay_id.clone(),
            seq,
            windows: pack,
        };
        let mut backoff = Duration::from_millis(200);
        loop {
            match queue.send(&batch).await {
                Ok(()) => break,
                Err(e) => {
                    stats.send_retries += 1;
                    tracing::warn!(error = %e, windows = batch.windows.len(), retry_in_ms = backoff.as_millis() as u64, "window message not queued; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        stats.windows += batch.windows.len() as u64;
        sent.fetch_add(
            batch.windows.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        stats.messages += 1;
        let backlog = windows.len();
        if backlog > opts.max_backlog / 2 {
            tracing::warn!(
                backlog,
                "window backlog growing: the queue is slower than chat"
            );
        }
        if closed {
            break;
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use clipper_functions::local::LocalWindowQueue;
    use clipper_models::WindowAggregator;

    fn window(channel: &str, end_ms: i64) -> WindowEnvelope {
        let mut agg = WindowAggregator::new(channel, clipper_models::WindowConfig::default());
        let mut out = Vec::new();
        agg.record(&clipper_models::ChatMessage::plain(
            channel,
            "u",
            "hi",
            end_ms - 1000,
        ));
        agg.flush(end_ms + 5_000, &mut out);
        WindowEnvelope {
            channel: channel.into(),
            broadcaster_id: None,
            live: None,
            features: out.remove(0),
            forced_by: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn packs_by_count_and_time_and_flushes_at_the_end() {
        let (q, mut rx) = LocalWindowQueue::new(100);
        let (tx, wrx) = mpsc::channel(100);
        let opts = ForwardOptions {
            relay_id: "r1".into(),
            max_windows: 3,
            linger: Duration::from_secs(1),
            ..ForwardOptions::default()
        };
        for i in 0..7 {
            tx.send(window(if i % 2 == 0 { "a" } else { "b" }, 10_000 * i))
                .await
                .unwrap();
        }
        drop(tx);
        let stats = run_forwarder(&q, wrx, opts, SentCounter::default()).await;
        assert_eq!(stats.windows, 7);
        assert_eq!(stats.messages, 3);
        let mut sizes = Vec::new();
        let mut seqs = Vec::new();
        while let Ok(b) = rx.try_recv() {
            assert_eq!(b.v, WIRE_VERSION);
            assert_eq!(b.relay, "r1");
            sizes.push(b.windows.len());
            seqs.push(b.seq);
        }
        assert_eq!(sizes, vec![3, 3, 1]);
        assert_eq!(seqs, vec![1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_window_goes_out_after_the_linger() {
        let (q, mut rx) = LocalWindowQueue::new(100);
        let (tx, wrx) = mpsc::channel(100);
        let h = tokio::spawn(async move {
            run_forwarder(&q, wrx, ForwardOptions::default(), SentCounter::default()).await
        });
        tx.send(window("a", 5_000)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(rx.try_recv().is_err());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(rx.try_recv().unwrap().windows.len(), 1);
        drop(tx);
        h.await.unwrap();
    }

    /// A queue that never takes anything (SQS down, the adapter's buffer full).
    struct Down;

    impl WindowQueue for Down {
        async fn send(&self, _: &WindowBatch) -> clipper_functions::Result<()> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_queue_outage_at_shutdown_ends_within_the_grace_and_counts_what_is_left() {
        let (tx, wrx) = mpsc::channel(100);
        let sent = SentCounter::default();
        let h = tokio::spawn({
            let sent = sent.clone();
            async move { run_forwarder(&Down, wrx, ForwardOptions::default(), sent).await }
        });
        for i in 0..5 {
            tx.send(window("a", 5_000 * (i + 1))).await.unwrap();
        }
        drop(tx);
        let t = std::time::Instant::now();
        let stats = finish_forwarder(h, &sent, 5, Duration::from_millis(300)).await;
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!((stats.windows, stats.unsent), (0, 5));
    }
}
