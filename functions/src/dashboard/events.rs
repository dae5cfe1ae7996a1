//! What the live driver and the clip worker tell the dashboard: scored windows and clip state
//! changes, on a tokio broadcast channel (the `/api/events` stream), plus a board of each
//! channel's latest live state (the overview). Publishing never blocks and never fails: with
//! no page open the events are simply dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, PoisonError, RwLock};

use crate::record::{ClipRecord, ClipStatus};
use crate::roles::{ClipStore, Timeline, WindowPoint};
use clipper_models::{Millis, ScoredWindow, TriggerKind, WindowFeatures};
use serde::Serialize;
use tokio::sync::broadcast;

/// Events kept for a slow page before it misses some.
const CAPACITY: usize = 1024;
/// Windows kept per channel for a page opened later (an hour at the default 5 s hop).
pub const RECENT_WINDOWS: usize = 720;

/// One event of `/api/events` (`type`: `window` or `clip`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DashEvent {
    /// A closed window: its chat rate and (when scored here) its score and the threshold.
    Window {
        channel: String,
        end_ms: Millis,
        messages: u32,
        /// Messages per minute over the last 60 s.
        msgs_per_min: f64,
        score: Option<f64>,
        threshold: Option<f64>,
    },
    /// A clip record was written (any state).
    Clip {
        channel: String,
        request_id: String,
        status: ClipStatus,
        kind: TriggerKind,
        score: f64,
        title: String,
        trigger_ms: Millis,
        url: Option<String>,
    },
}

impl DashEvent {
    /// The channel the event is about.
    pub fn channel(&self) -> &str {
        match self {
            DashEvent::Window { channel, .. } | DashEvent::Clip { channel, .. } => channel,
        }
    }

    /// The event of a window point.
    pub fn window_of(p: &WindowPoint) -> Self {
        DashEvent::Window {
            channel: p.channel.clone(),
            end_ms: p.end_ms,
            messages: p.messages,
            msgs_per_min: p.msgs_per_min,
            score: p.score,
            threshold: p.threshold,
        }
    }

    /// The event of a clip record (in its current state).
    pub fn clip_of(r: &ClipRecord) -> Self {
        DashEvent::Clip {
            channel: r.channel.clone(),
            request_id: r.request_id.clone(),
            status: r.status,
            kind: r.kind,
            score: r.score,
            title: r.title.clone(),
            trigger_ms: r.trigger_ms,
            url: r.url.clone(),
        }
    }
}

/// A channel's live state as the driver last reported it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ChannelLive {
    /// Helix says live (`None`: not known, e.g. no client id).
    pub live: Option<bool>,
    pub viewers: Option<u32>,
    pub msgs_per_min: Option<f64>,
    pub last_score: Option<f64>,
    pub threshold: Option<f64>,
    /// Why clipping is paused (403 from Create Clip), if it is.
    pub paused: Option<String>,
    /// End of the last window seen (Unix ms).
    pub last_window_ms: Option<Millis>,
}

/// A window as the board keeps it: 32 bytes, without the channel's name (the map's key), so
/// an hour of a thousand channels stays near 23 MB.
#[derive(Debug, Clone, Copy)]
struct Kept {
    end_ms: Millis,
    messages: u32,
    msgs_per_min: f32,
    /// NaN: not scored.
    score: f32,
    threshold: f32,
    /// `u32::MAX`: unknown.
    viewers: u32,
    /// 0 unknown, 1 offline, 2 live.
    live: u8,
}

impl Kept {
    fn of(p: &WindowPoint) -> Self {
        let f = |v: Option<f64>| v.map_or(f32::NAN, |x| x as f32);
        Kept {
            end_ms: p.end_ms,
            messages: p.messages,
            msgs_per_min: p.msgs_per_min as f32,
            score: f(p.score),
            threshold: f(p.threshold),
            viewers: p.viewers.unwrap_or(u32::MAX),
            live: p.live.map_or(0, |l| 1 + u8::from(l)),
        }
    }

    fn point(&self, channel: &str) -> WindowPoint {
        let f = |v: f32| (!v.is_nan()).then_some(f64::from(v));
        WindowPoint {
            channel: channel.to_owned(),
            end_ms: self.end_ms,
            messages: self.messages,
            msgs_per_min: (f64::from(self.msgs_per_min) * 10.0).round() / 10.0,
            score: f(self.score),
            threshold: f(self.threshold),
            live: (self.live > 0).then_some(self.live == 2),
            viewers: (self.viewers != u32::MAX).then_some(self.viewers),
        }
    }
}

/// The publishing side (the driver and the clip store hold clones) and the board.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<DashEvent>,
    board: Arc<RwLock<HashMap<String, ChannelLive>>>,
    /// The last [`RECENT_WINDOWS`] windows of each channel.
    recent: Arc<RwLock<HashMap<String, VecDeque<Kept>>>>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Events {
            tx,
            board: Arc::default(),
            recent: Arc::default(),
        }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DashEvent> {
        self.tx.subscribe()
    }

    /// Sends `event` to every open stream (none open: dropped).
    pub fn publish(&self, event: DashEvent) {
        if let DashEvent::Window {
            channel,
            end_ms,
            msgs_per_min,
            score,
            threshold,
            ..
        } = &event
        {
            self.update(channel, |c| {
                c.msgs_per_min = Some(*msgs_per_min);
                c.last_window_ms = Some(*end_ms);
                if score.is_some() {
                    c.last_score = *score;
                    c.threshold = *threshold;
                }
            });
        }
        let _ = self.tx.send(event);
    }

    /// A scored window (detect mode).
    pub fn scored(&self, w: &ScoredWindow) {
        self.window(WindowPoint::of(
            &w.features,
            Some(w.scores.combined),
            Some(w.scores.threshold),
        ));
    }

    /// A closed window that is not scored here (the serverless relay).
    pub fn closed(&self, w: &WindowFeatures) {
        self.window(WindowPoint::of(w, None, None));
    }

    /// Keep `p` among the channel's recent windows and publish it.
    pub fn window(&self, p: WindowPoint) {
        {
            let mut r = self.recent.write().unwrap_or_else(PoisonError::into_inner);
            if !r.contains_key(&p.channel) {
                r.insert(p.channel.clone(), VecDeque::new());
            }
            if let Some(q) = r.get_mut(&p.channel) {
                if q.back().is_none_or(|b| b.end_ms < p.end_ms) {
                    if q.len() >= RECENT_WINDOWS {
                        q.pop_front();
                    }
                    q.push_back(Kept::of(&p));
                }
            }
        }
        self.publish(DashEvent::window_of(&p));
    }

    /// A clip record was written.
    pub fn clip(&self, r: &ClipRecord) {
        self.publish(DashEvent::clip_of(r));
    }

    /// Viewers and live state from Helix.
    pub fn stream(&self, channel: &str, live: bool, viewers: Option<u32>) {
        self.update(channel, |c| {
            c.live = Some(live);
            c.viewers = viewers;
        });
    }

    /// Clipping paused for `channel`.
    pub fn paused(&self, channel: &str, reason: &str) {
        self.update(channel, |c| c.paused = Some(reason.to_owned()));
    }

    /// A channel is no longer watched.
    pub fn forget(&self, channel: &str) {
        self.board
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(channel);
        self.recent
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(channel);
    }

    /// The live state of `channel` (default when nothing is known).
    pub fn live(&self, channel: &str) -> ChannelLive {
        self.board
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel)
            .cloned()
            .unwrap_or_default()
    }

    fn update(&self, channel: &str, f: impl FnOnce(&mut ChannelLive)) {
        let mut b = self.board.write().unwrap_or_else(PoisonError::into_inner);
        f(b.entry(channel.to_owned()).or_default());
    }
}

/// The local timeline: the windows this process saw.
#[async_trait::async_trait]
impl Timeline for Events {
    async fn record(&self, points: &[WindowPoint]) -> crate::Result<()> {
        for p in points {
            self.window(p.clone());
        }
        Ok(())
    }

    async fn recent(
        &self,
        channel: &str,
        since_ms: Millis,
        limit: usize,
    ) -> crate::Result<Vec<WindowPoint>> {
        let r = self.recent.read().unwrap_or_else(PoisonError::into_inner);
        let Some(q) = r.get(channel) else {
            return Ok(Vec::new());
        };
        // The ring is in end order (a window is kept only when it is newer than the last).
        let newer = q.partition_point(|k| k.end_ms <= since_ms);
        let from = newer.max(q.len().saturating_sub(limit));
        Ok(q.range(from..).map(|k| k.point(channel)).collect())
    }
}

/// A [`ClipStore`] that publishes every record it writes (the clip worker's store when the
/// dashboard is on).
#[derive(Debug)]
pub struct PublishingClipStore<S> {
    inner: Arc<S>,
    events: Events,
}

impl<S> PublishingClipStore<S> {
    pub fn new(inner: Arc<S>, events: Events) -> Self {
        PublishingClipStore { inner, events }
    }
}

impl<S: ClipStore> ClipStore for PublishingClipStore<S> {
    async fn put(&self, record: &ClipRecord) -> crate::Result<()> {
        self.inner.put(record).await?;
        self.events.clip(record);
        Ok(())
    }

    async fn get(&self, request_id: &str) -> crate::Result<Option<ClipRecord>> {
        self.inner.get(request_id).await
    }

    async fn list(
        &self,
        channel: Option<&str>,
        since_ms: Option<Millis>,
    ) -> crate::Result<Vec<ClipRecord>> {
        self.inner.list(channel, since_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_board_keeps_windows_compactly_and_gives_them_back_whole() {
        let e = Events::new();
        let a = WindowPoint {
            channel: "chan".into(),
            end_ms: 5_000,
            messages: 7,
            msgs_per_min: 84.3,
            score: Some(0.25),
            threshold: Some(0.89),
            live: Some(true),
            viewers: Some(4_321),
        };
        let b = WindowPoint {
            end_ms: 10_000,
            score: None,
            threshold: None,
            live: None,
            viewers: None,
            ..a.clone()
        };
        e.record(&[a.clone(), b.clone(), a.clone()]).await.unwrap();
        let got = e.recent("chan", 0, 10).await.unwrap();
        assert_eq!(got.len(), 2, "an older window is not kept twice");
        assert_eq!(got[1], b);
        assert_eq!(got[0].end_ms, 5_000);
        assert_eq!((got[0].live, got[0].viewers), (Some(true), Some(4_321)));
        assert!((got[0].score.unwrap() - 0.25).abs() < 1e-6);
        assert_eq!(got[0].msgs_per_min, 84.3);
        assert_eq!(e.recent("chan", 5_000, 10).await.unwrap(), vec![b.clone()]);
        assert_eq!(e.recent("chan", 0, 1).await.unwrap(), vec![b]);
        assert!(e.recent("other", 0, 10).await.unwrap().is_empty());
    }
}
