//! In-process queues: windows through a bounded channel, clip requests through tokio timers.

use std::time::Duration;

use clipper_models::{ClipRequest, WindowBatch};
use tokio::sync::mpsc;

use crate::error::{FunctionsError, Result};
use crate::roles::{ClipScheduler, WindowQueue};

/// Windows to an in-process consumer. `send` waits while the channel is full (back-pressure).
#[derive(Debug, Clone)]
pub struct LocalWindowQueue {
    tx: mpsc::Sender<WindowBatch>,
}

impl LocalWindowQueue {
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<WindowBatch>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (LocalWindowQueue { tx }, rx)
    }
}

impl WindowQueue for LocalWindowQueue {
    async fn send(&self, batch: &WindowBatch) -> Result<()> {
        self.tx
            .send(batch.clone())
            .await
            .map_err(|_| FunctionsError::Config("window consumer has stopped".into()))
    }
}

/// A clip request handed out after its delay.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledClip {
    pub request: ClipRequest,
    pub delay: Duration,
}

/// Clip requests delivered to a channel after their delay, by a tokio timer (needs a tokio
/// runtime). With `deliver_at_once`, requests go out immediately with their delay attached
/// (tests: the caller decides what time means).
#[derive(Debug, Clone)]
pub struct LocalClipScheduler {
    tx: mpsc::UnboundedSender<ScheduledClip>,
    deliver_at_once: bool,
}

impl LocalClipScheduler {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<ScheduledClip>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            LocalClipScheduler {
                tx,
                deliver_at_once: false,
            },
            rx,
        )
    }

    pub fn immediate() -> (Self, mpsc::UnboundedReceiver<ScheduledClip>) {
        let (mut s, rx) = Self::new();
        s.deliver_at_once = true;
        (s, rx)
    }
}

impl ClipScheduler for LocalClipScheduler {
    async fn schedule(&self, request: &ClipRequest, delay: Duration) -> Result<()> {
        let item = ScheduledClip {
            request: request.clone(),
            delay,
        };
        if self.deliver_at_once || delay.is_zero() {
            return self
                .tx
                .send(item)
                .map_err(|_| FunctionsError::Config("clip consumer has stopped".into()));
        }
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if tx.send(item).is_err() {
                tracing::warn!("clip consumer stopped before a scheduled clip was due");
            }
        });
        Ok(())
    }
}
