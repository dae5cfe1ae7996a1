//! The live driver: one task owning every channel's state, fed by chat and a timer. Everything
//! slow happens elsewhere: model fits on the blocking pool, clip creation in the clip worker
//! ([`super::clips`]), Helix polls in their own tasks; they talk to the driver through
//! [`Control`] messages.
//!
//! Two modes share the chat, timer and control loop:
//!
//! * **detect** ([`Driver::new`], local `clipper run`): each channel runs the whole
//!   [`ChannelDetector`], exactly the code replay runs; due clips go to the clip worker, models
//!   are loaded, refitted on the blocking pool and saved.
//! * **forward** ([`Driver::forwarding`], the relay of the serverless shape): each channel runs
//!   only a [`WindowAggregator`]; closed windows go to the window sink (the forwarder), where the
//!   score function decides. No model, no training, no clip, no file.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use clipper_models::emotes::EmoteSource;
use clipper_models::model::Fitted;
use clipper_models::{
    ChannelDetector, ChannelModel, ChatMessage, ClipRequest, DetectorConfig, Millis, Output,
    Training, WindowAggregator, WindowEnvelope, WindowFeatures,
};
use serde::Serialize;
use tokio::sync::mpsc;
use twitch_irc::message::ServerMessage;

use super::chat::{to_event, ChatEvent};
use crate::dashboard::Events;
use clipper_functions::local::DirModelStore;

/// Wall-clock Unix milliseconds: the time base of live chat (the one clock helper).
pub use clipper_functions::clock::now_ms;

/// Settings of the driver.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// Detection settings; in forward mode only `window` (aggregation) and the `!testclip`
    /// allowlist are used.
    pub detector: DetectorConfig,
    /// Where models are loaded from and saved to (`None`: not persisted). Unused in forward
    /// mode.
    pub models_dir: Option<PathBuf>,
    /// How often models are saved (detect mode).
    pub autosave_every: Duration,
    pub status_every: Duration,
    /// How often time advances without chat (closes windows, releases due clips).
    pub tick: Duration,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            detector: DetectorConfig::default(),
            models_dir: Some(PathBuf::from("models")),
            autosave_every: Duration::from_secs(600),
            status_every: Duration::from_secs(60),
            tick: Duration::from_millis(200),
        }
    }
}

/// Messages to the driver from the other tasks.
#[derive(Debug)]
pub enum Control {
    /// Helix Get Streams answered for `queried`; `live` holds viewers of those live now.
    Streams {
        queried: Vec<String>,
        live: HashMap<String, u32>,
    },
    /// Emote names of a channel (or of every channel when `channel` is `None`).
    Emotes {
        channel: Option<String>,
        lists: Vec<(EmoteSource, Vec<String>)>,
    },
    /// Stop clipping a channel (403 from Create Clip: clipping disabled, banned, ...).
    Pause { channel: String, reason: String },
    /// A clip of the channel reached a final state.
    ClipDone { channel: String, ok: bool },
    /// A model fit finished.
    Trained {
        channel: String,
        result: clipper_models::Result<Fitted>,
    },
    /// Per-channel settings (threshold and cooldown overrides) from the channel store; applied
    /// to the channels watched now and to those added later.
    Settings(Vec<clipper_functions::roles::ChannelConfig>),
    /// Channels to watch from now on (others are dropped, after a final model save in detect
    /// mode). Only this and the start list add channels: chat and Helix answers for a channel
    /// not (or no longer) watched are ignored.
    Channels(Vec<String>),
}

/// A clip for the clip worker; `skip` says why it must only be recorded; `scheduled`: only
/// record it as triggered (it is due later and comes again then).
#[derive(Debug, Clone)]
pub struct ClipJob {
    pub request: ClipRequest,
    pub skip: Option<String>,
    pub scheduled: bool,
}

/// Where the driver's results go.
#[derive(Debug)]
enum Mode {
    /// Due clips to the clip worker; finished fits back to the driver through `control`.
    Detect {
        clips: mpsc::UnboundedSender<ClipJob>,
        control: mpsc::UnboundedSender<Control>,
    },
    /// Closed windows to the forwarder.
    Forward {
        windows: mpsc::Sender<WindowEnvelope>,
    },
}

/// What one channel runs (always the variant of the driver's [`Mode`]).
#[derive(Debug)]
enum Core {
    Detect(Box<Detecting>),
    Forward(Box<Forwarding>),
}

/// A channel in detect mode: the detector and the clip state around it.
#[derive(Debug)]
struct Detecting {
    detector: ChannelDetector,
    paused: Option<String>,
    training: bool,
    clips_ok: u64,
    clips_failed: u64,
}

/// A channel in forward mode: window aggregation only.
#[derive(Debug)]
struct Forwarding {
    aggregator: WindowAggregator,
    /// End of the last window closed (for the early close at a `!testclip`).
    closed_until: Millis,
}

/// Per-channel state.
#[derive(Debug)]
struct Chan {
    core: Core,
    broadcaster_id: Option<String>,
    viewers: Option<u32>,
    live: Option<bool>,
    msgs_since_status: u64,
}

impl Chan {
    fn aggregator_mut(&mut self) -> &mut WindowAggregator {
        match &mut self.core {
            Core::Detect(d) => d.detector.aggregator_mut(),
            Core::Forward(f) => &mut f.aggregator,
        }
    }

    fn detecting(&mut self) -> Option<&mut Detecting> {
        match &mut self.core {
            Core::Detect(d) => Some(d),
            Core::Forward(_) => None,
        }
    }

    fn envelope(
        &self,
        channel: &str,
        features: WindowFeatures,
        forced_by: Option<String>,
    ) -> WindowEnvelope {
        WindowEnvelope {
            channel: channel.to_owned(),
            broadcaster_id: self.broadcaster_id.clone(),
            live: self.live,
            features,
            forced_by,
        }
    }
}

/// Counters for the summary and the ingest benchmark.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DriverStats {
    pub messages: u64,
    pub windows: u64,
    pub triggers: u64,
    pub clips: u64,
    pub ignored_testclips: u64,
    pub models_saved: u64,
    /// Forward mode: windows not handed to the forwarder because its backlog was full.
    pub windows_shed: u64,
}

/// The driver.
#[derive(Debug)]
pub struct Driver {
    opts: DriverOptions,
    mode: Mode,
    chans: HashMap<String, Chan>,
    room_ids: Option<mpsc::UnboundedSender<(String, String)>>,
    progress: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// The dashboard's events and live board, if it is on.
    events: Option<Events>,
    /// Per-channel settings (threshold, cooldown and clip length overrides) from the channel
    /// store.
    overrides: HashMap<String, clipper_functions::roles::ChannelConfig>,
    out: Vec<Output>,
    closed: Vec<WindowFeatures>,
    pub stats: DriverStats,
    /// Model saves still running (awaited before the shutdown save, so that an older
    /// snapshot never lands after it).
    saves: Vec<tokio::task::JoinHandle<()>>,
}

impl Driver {
    /// A detecting driver for `channels` (models loaded now), sending clips to `clips`.
    /// `control_tx` is the sender side of the control channel the caller passes to
    /// [`run`](Self::run) (used for finished fits).
    pub fn new(
        opts: DriverOptions,
        channels: &[String],
        clips: mpsc::UnboundedSender<ClipJob>,
        control_tx: mpsc::UnboundedSender<Control>,
    ) -> Self {
        Self::with_mode(
            opts,
            channels,
            Mode::Detect {
                clips,
                control: control_tx,
            },
        )
    }

    /// A forwarding driver for `channels`: window aggregation only, closed windows to
    /// `windows`. It loads, trains and saves no model, makes no clip and writes no file.
    pub fn forwarding(
        opts: DriverOptions,
        channels: &[String],
        windows: mpsc::Sender<WindowEnvelope>,
    ) -> Self {
        Self::with_mode(opts, channels, Mode::Forward { windows })
    }

    fn with_mode(opts: DriverOptions, channels: &[String], mode: Mode) -> Self {
        let mut d = Driver {
            opts,
            mode,
            chans: HashMap::new(),
            room_ids: None,
            progress: None,
            events: None,
            overrides: HashMap::new(),
            out: Vec::with_capacity(16),
            closed: Vec::with_capacity(4),
            stats: DriverStats::default(),
            saves: Vec::new(),
        };
        for c in channels {
            d.add(c);
        }
        d
    }

    /// Also report every channel's Twitch user id (first seen or changed) to `tx`.
    pub fn with_room_ids(mut self, tx: mpsc::UnboundedSender<(String, String)>) -> Self {
        self.room_ids = Some(tx);
        self
    }

    /// Also count chat messages handled into `counter` (benchmarks, health checks).
    pub fn with_progress(mut self, counter: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Self {
        self.progress = Some(counter);
        self
    }

    /// Also publish scored windows, live state and pauses to the dashboard.
    pub fn with_events(mut self, events: Events) -> Self {
        self.events = Some(events);
        self
    }

    /// Whether closed windows are forwarded (and nothing is scored here).
    pub fn is_forwarding(&self) -> bool {
        matches!(self.mode, Mode::Forward { .. })
    }

    /// Channels being watched.
    pub fn channels(&self) -> Vec<String> {
        let mut v: Vec<String> = self.chans.keys().cloned().collect();
        v.sort();
        v
    }

    /// Starts watching `channel` (no-op when watched already).
    fn add(&mut self, channel: &str) {
        if self.chans.contains_key(channel) {
            return;
        }
        let core = match &self.mode {
            Mode::Detect { .. } => {
                let model = self.load_model(channel);
                let mut config = self.opts.detector.clone();
                config.decision = self.decision_for(channel);
                Core::Detect(Box::new(Detecting {
                    detector: ChannelDetector::new(channel, config, model, Training::External),
                    paused: None,
                    training: false,
                    clips_ok: 0,
                    clips_failed: 0,
                }))
            }
            Mode::Forward { .. } => Core::Forward(Box::new(Forwarding {
                aggregator: WindowAggregator::new(channel, self.opts.detector.window.clone()),
                closed_until: Millis::MIN,
            })),
        };
        self.chans.insert(
            channel.to_owned(),
            Chan {
                core,
                broadcaster_id: None,
                viewers: None,
                live: None,
                msgs_since_status: 0,
            },
        );
    }

    /// The decision settings of `channel`: the run's, with the channel's overrides.
    fn decision_for(&self, channel: &str) -> clipper_models::DecisionConfig {
        match self.overrides.get(channel) {
            Some(c) => c.decision(&self.opts.detector.decision),
            None => self.opts.detector.decision.clone(),
        }
    }

    fn load_model(&self, channel: &str) -> Option<ChannelModel> {
        let dir = self.opts.models_dir.as_ref()?;
        match DirModelStore::new(dir).load_now(channel) {
            Ok(Some(m)) => {
                tracing::info!(
                    channel,
                    trained_on = m.fitted.as_ref().map(|f| f.trained_on),
                    "model loaded"
                );
                Some(m)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(channel, error = %e, "model not loaded; starting fresh");
                None
            }
        }
    }

    /// Runs until `shutdown` completes or chat ends; then (detect mode) saves models and
    /// returns.
    pub async fn run(
        mut self,
        mut chat: mpsc::UnboundedReceiver<ServerMessage>,
        mut control: mpsc::UnboundedReceiver<Control>,
        shutdown: impl Future<Output = ()>,
    ) -> DriverStats {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(self.opts.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut status = tokio::time::interval(self.opts.status_every);
        status.tick().await;
        let mut autosave = tokio::time::interval(self.opts.autosave_every);
        autosave.tick().await;
        let saves_models = !self.is_forwarding();
        let mut batch = Vec::with_capacity(512);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(c) = control.recv() => self.on_control(c),
                _ = tick.tick() => self.advance_all(now_ms()),
                _ = status.tick() => self.log_status(),
                _ = autosave.tick(), if saves_models => self.autosave(),
                n = chat.recv_many(&mut batch, 512) => {
                    if n == 0 {
                        tracing::info!("chat client ended");
                        break;
                    }
                    let now = now_ms();
                    for m in batch.drain(..) {
                        self.on_server_message(m, now);
                    }
                    if let Some(p) = &self.progress {
                        p.store(self.stats.messages, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        }
        if saves_models {
            self.hand_out_pending();
            self.save_all().await;
        }
        self.stats
    }

    /// Stopping: every clip triggered but not yet due goes to the clip worker now (it waits for
    /// the due time, within the shutdown grace period); the windows still open are closed up to
    /// now first, so a trigger they hold is not lost either.
    fn hand_out_pending(&mut self) {
        self.advance_all(now_ms());
        let names: Vec<String> = self.chans.keys().cloned().collect();
        let mut out = std::mem::take(&mut self.out);
        for name in names {
            if let Some(d) = self.chans.get_mut(&name).and_then(Chan::detecting) {
                if let Some(clip) = d.detector.take_pending() {
                    tracing::info!(channel = %name, fire_at_ms = clip.fire_at_ms, "stopping: handing out a pending clip");
                    out.push(Output::Clip(Box::new(clip)));
                }
            }
            if !out.is_empty() {
                self.handle(&name, &mut out);
            }
        }
        self.out = out;
    }

    fn on_server_message(&mut self, m: ServerMessage, now: Millis) {
        match to_event(m) {
            Some(ChatEvent::Message(mut msg)) => {
                // Live time is our receive time: the same clock as the timer.
                msg.time_ms = now;
                self.stats.messages += 1;
                let Some(chan) = self.chans.get_mut(&msg.channel) else {
                    // Parted a moment ago: chat still in flight.
                    return;
                };
                chan.msgs_since_status += 1;
                if matches!(chan.core, Core::Forward(_)) {
                    self.forward_message(&msg);
                    return;
                }
                let mut out = std::mem::take(&mut self.out);
                if let Some(d) = chan.detecting() {
                    d.detector.on_message(&msg, &mut out);
                }
                if !out.is_empty() {
                    self.handle(&msg.channel, &mut out);
                }
                self.out = out;
            }
            Some(ChatEvent::RoomId { channel, id }) => {
                let Some(chan) = self.chans.get_mut(&channel) else {
                    return;
                };
                if chan.broadcaster_id.as_deref() != Some(id.as_str()) {
                    tracing::debug!(channel = %channel, room_id = %id, "joined");
                    chan.broadcaster_id = Some(id.clone());
                    if let Some(tx) = &self.room_ids {
                        let _ = tx.send((channel, id));
                    }
                }
            }
            Some(ChatEvent::Notice { channel, id, text }) => {
                tracing::warn!(channel = channel.as_deref().unwrap_or("-"), notice = id.as_deref().unwrap_or("-"), %text, "chat notice");
            }
            None => {}
        }
    }

    /// Forward mode: one message into its channel's aggregator (windows it closes go out).
    ///
    /// An allowed `!testclip` goes out at once: the open window is closed early (at the end of
    /// its hop, at most one hop ahead of the clock) with `forced_by` set, so the score function
    /// forces the clip now rather than when the window would have closed. After a silence long
    /// enough that no window is open, the command opens one of its own.
    fn forward_message(&mut self, msg: &ChatMessage) {
        let Some(chan) = self.chans.get_mut(&msg.channel) else {
            return;
        };
        let Core::Forward(f) = &mut chan.core else {
            return;
        };
        let closed = &mut self.closed;
        closed.clear();
        // Time order: finished windows close before the message counts.
        f.aggregator.flush(msg.time_ms, closed);
        let mut forced_by = None;
        if msg.is_testclip_command() {
            if !self.opts.detector.may_force_clip(msg) {
                self.stats.ignored_testclips += 1;
                tracing::info!(channel = %msg.channel, login = %msg.login, "!testclip ignored: not the broadcaster, a moderator or allow-listed");
            } else {
                let hop = self.opts.detector.window.hop_ms.max(1);
                if let Some(w) = closed.last() {
                    f.closed_until = f.closed_until.max(w.end_ms);
                }
                // The open window: the one holding the message, or the one after an early
                // close already past it.
                let start = msg.time_ms.div_euclid(hop) * hop;
                let until = start.max(f.closed_until).saturating_add(hop);
                let before = closed.len();
                f.aggregator.flush(until, closed);
                if closed.len() == before {
                    f.aggregator.record(msg);
                    f.aggregator.flush(until, closed);
                }
                if closed.len() == before {
                    tracing::warn!(channel = %msg.channel, "!testclip: no window to forward it in");
                } else {
                    tracing::info!(channel = %msg.channel, login = %msg.login, "!testclip forwarded");
                    forced_by = Some(msg.login.clone());
                }
            }
        } else {
            f.aggregator.record(msg);
        }
        Self::send_windows(
            &mut self.mode,
            self.events.as_ref(),
            &mut self.stats,
            &msg.channel,
            chan,
            closed,
            forced_by,
        );
    }

    /// Sends `closed` windows of `chan` (the last with `forced_by`) to the window sink.
    fn send_windows(
        mode: &mut Mode,
        events: Option<&Events>,
        stats: &mut DriverStats,
        name: &str,
        chan: &mut Chan,
        closed: &mut Vec<WindowFeatures>,
        mut forced_by: Option<String>,
    ) {
        let Mode::Forward { windows } = mode else {
            return;
        };
        if let (Some(w), Core::Forward(f)) = (closed.last(), &mut chan.core) {
            f.closed_until = f.closed_until.max(w.end_ms);
        }
        let n = closed.len();
        if let Some(ev) = events {
            closed.iter().for_each(|w| ev.closed(w));
        }
        for (i, w) in closed.drain(..).enumerate() {
            stats.windows += 1;
            let by = if i + 1 == n { forced_by.take() } else { None };
            match windows.try_send(chan.envelope(name, w, by)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(env)) => {
                    // The queue has been down long enough to fill the backlog: shed (memory
                    // stays bounded) and count it; the summary and the exit say how many.
                    stats.windows_shed += 1;
                    if env.forced_by.is_some() || stats.windows_shed % 1_000 == 1 {
                        tracing::error!(
                            channel = name,
                            shed = stats.windows_shed,
                            forced = env.forced_by.is_some(),
                            "window backlog full (the queue is down); windows shed"
                        );
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    stats.windows_shed += 1;
                    tracing::error!(channel = name, "window forwarder gone; window not sent");
                }
            }
        }
    }

    fn advance_all(&mut self, now: Millis) {
        if self.is_forwarding() {
            let mut closed = std::mem::take(&mut self.closed);
            for (name, chan) in &mut self.chans {
                closed.clear();
                chan.aggregator_mut().flush(now, &mut closed);
                if !closed.is_empty() {
                    Self::send_windows(
                        &mut self.mode,
                        self.events.as_ref(),
                        &mut self.stats,
                        name,
                        chan,
                        &mut closed,
                        None,
                    );
                }
            }
            self.closed = closed;
            return;
        }
        let mut out = std::mem::take(&mut self.out);
        let names: Vec<String> = self.chans.keys().cloned().collect();
        for name in names {
            if let Some(d) = self.chans.get_mut(&name).and_then(Chan::detecting) {
                d.detector.advance(now, &mut out);
            }
            self.handle(&name, &mut out);
            self.maybe_train(&name);
        }
        self.out = out;
    }

    fn maybe_train(&mut self, name: &str) {
        let Mode::Detect { control, .. } = &self.mode else {
            return;
        };
        let Some(d) = self.chans.get_mut(name).and_then(Chan::detecting) else {
            return;
        };
        if d.training {
            return;
        }
        if let Some(job) = d.detector.take_training_job() {
            d.training = true;
            let tx = control.clone();
            let channel = name.to_owned();
            tokio::task::spawn_blocking(move || {
                let result = job.run();
                let _ = tx.send(Control::Trained { channel, result });
            });
        }
    }

    /// Detect mode: acts on the detector's outputs.
    fn handle(&mut self, name: &str, out: &mut Vec<Output>) {
        let Mode::Detect { clips, .. } = &self.mode else {
            out.clear();
            return;
        };
        for o in out.drain(..) {
            let Some(chan) = self.chans.get_mut(name) else {
                continue;
            };
            match o {
                Output::Window(w) => {
                    self.stats.windows += 1;
                    if let Some(ev) = &self.events {
                        ev.scored(&w);
                    }
                }
                Output::Trigger(t) => {
                    self.stats.triggers += 1;
                    tracing::info!(channel = name, kind = ?t.kind, score = t.score, fire_at_ms = t.fire_at_ms, "trigger");
                    // Recorded now, so that a stop before it is due does not lose it.
                    let pending = chan.detecting().and_then(|d| d.detector.pending().cloned());
                    if let Some(decision) = pending {
                        let request = ClipRequest::new(decision, chan.broadcaster_id.clone());
                        let _ = clips.send(ClipJob {
                            request,
                            skip: None,
                            scheduled: true,
                        });
                    }
                }
                Output::Clip(decision) => {
                    self.stats.clips += 1;
                    let paused = chan.detecting().and_then(|d| d.paused.clone());
                    let skip = if let Some(r) = paused {
                        Some(format!("channel paused: {r}"))
                    } else if chan.live == Some(false) {
                        Some("channel offline".to_owned())
                    } else {
                        None
                    };
                    let request = ClipRequest::new(*decision, chan.broadcaster_id.clone());
                    tracing::info!(channel = name, request_id = %request.request_id, title = %request.decision.title, skip = skip.as_deref().unwrap_or(""), "clip due");
                    if clips
                        .send(ClipJob {
                            request,
                            skip,
                            scheduled: false,
                        })
                        .is_err()
                    {
                        tracing::error!(channel = name, "clip worker gone; clip not made");
                    }
                }
                Output::IgnoredTestclip { login, .. } => {
                    self.stats.ignored_testclips += 1;
                    tracing::info!(channel = name, %login, "!testclip ignored: not the broadcaster, a moderator or allow-listed");
                }
            }
        }
    }

    fn on_control(&mut self, c: Control) {
        match c {
            Control::Streams { queried, live } => {
                for name in queried {
                    // A channel dropped while the poll was under way stays dropped.
                    let Some(chan) = self.chans.get_mut(&name) else {
                        continue;
                    };
                    let v = live.get(&name).copied();
                    chan.live = Some(v.is_some());
                    chan.viewers = v;
                    if let Some(ev) = &self.events {
                        ev.stream(&name, v.is_some(), v);
                    }
                    chan.aggregator_mut().set_viewers(v);
                }
            }
            Control::Emotes { channel, lists } => {
                let add = |chan: &mut Chan| {
                    let vocab = chan.aggregator_mut().vocab_mut();
                    for (source, list) in &lists {
                        vocab.add_list(*source, list.iter().map(String::as_str));
                    }
                };
                match channel {
                    Some(c) => {
                        if let Some(chan) = self.chans.get_mut(&c) {
                            add(chan);
                        }
                    }
                    None => self.chans.values_mut().for_each(add),
                }
            }
            Control::Pause { channel, reason } => {
                if let Some(d) = self.chans.get_mut(&channel).and_then(Chan::detecting) {
                    tracing::warn!(channel = %channel, %reason, "clipping paused for this channel");
                    if let Some(ev) = &self.events {
                        ev.paused(&channel, &reason);
                    }
                    d.paused = Some(reason);
                }
            }
            Control::ClipDone { channel, ok } => {
                if let Some(d) = self.chans.get_mut(&channel).and_then(Chan::detecting) {
                    if ok {
                        d.clips_ok += 1;
                    } else {
                        d.clips_failed += 1;
                    }
                }
            }
            Control::Trained { channel, result } => {
                if let Some(d) = self.chans.get_mut(&channel).and_then(Chan::detecting) {
                    d.training = false;
                    if let Err(e) = d.detector.install(result) {
                        tracing::warn!(channel = %channel, error = %e, "model fit failed; keeping the previous model");
                    }
                }
            }
            Control::Settings(list) => {
                self.overrides = list.into_iter().map(|c| (c.channel.clone(), c)).collect();
                let names: Vec<String> = self.chans.keys().cloned().collect();
                for name in names {
                    let d = self.decision_for(&name);
                    if let Some(det) = self.chans.get_mut(&name).and_then(Chan::detecting) {
                        det.detector.set_decision_config(d);
                    }
                }
            }
            Control::Channels(list) => {
                let keep: std::collections::HashSet<&String> = list.iter().collect();
                let gone: Vec<String> = self
                    .chans
                    .keys()
                    .filter(|c| !keep.contains(c))
                    .cloned()
                    .collect();
                for c in gone {
                    if let Some(ev) = &self.events {
                        ev.forget(&c);
                    }
                    if let Some(Chan {
                        core: Core::Detect(d),
                        ..
                    }) = self.chans.remove(&c)
                    {
                        self.save_one(d.detector.snapshot());
                    }
                }
                for c in &list {
                    self.add(c);
                }
            }
        }
    }

    fn log_status(&mut self) {
        let secs = self.opts.status_every.as_secs_f64().max(1.0);
        let mut names: Vec<&String> = self.chans.keys().collect();
        names.sort();
        for name in names {
            let Some(c) = self.chans.get(name) else {
                continue;
            };
            let msgs_per_min = (c.msgs_since_status as f64 * 60.0 / secs).round();
            let viewers = c.viewers.map_or_else(|| "?".to_owned(), |v| v.to_string());
            let live = c.live.map_or("?", |l| if l { "yes" } else { "no" });
            match &c.core {
                Core::Detect(d) => tracing::info!(
                    channel = %name,
                    msgs_per_min,
                    score = (d.detector.stats.last_score * 100.0).round() / 100.0,
                    viewers,
                    live,
                    clips = d.clips_ok,
                    failed = d.clips_failed,
                    paused = d.paused.is_some(),
                    "status"
                ),
                Core::Forward(_) => {
                    tracing::info!(channel = %name, msgs_per_min, viewers, live, "status")
                }
            }
        }
        for c in self.chans.values_mut() {
            c.msgs_since_status = 0;
        }
    }

    fn snapshots(&self) -> Vec<ChannelModel> {
        self.chans
            .values()
            .filter_map(|c| match &c.core {
                Core::Detect(d) => Some(d.detector.snapshot()),
                Core::Forward(_) => None,
            })
            .collect()
    }

    fn save_one(&mut self, model: ChannelModel) {
        let Some(dir) = self.opts.models_dir.clone() else {
            return;
        };
        self.stats.models_saved += 1;
        self.saves.retain(|h| !h.is_finished());
        self.saves.push(tokio::task::spawn_blocking(move || {
            if let Err(e) = DirModelStore::new(&dir).save_now(&model) {
                tracing::warn!(channel = %model.channel, error = %e, "model save failed");
            }
        }));
    }

    fn autosave(&mut self) {
        for m in self.snapshots() {
            self.save_one(m);
        }
        tracing::info!(channels = self.chans.len(), "models saved");
    }

    async fn save_all(&mut self) {
        // Autosaves still writing finish first: the shutdown snapshot is the newest and must
        // be the one left on disk.
        for h in std::mem::take(&mut self.saves) {
            let _ = h.await;
        }
        let Some(dir) = self.opts.models_dir.clone() else {
            return;
        };
        let snaps = self.snapshots();
        let n = snaps.len();
        let res = tokio::task::spawn_blocking(move || {
            snaps
                .iter()
                .map(|m| DirModelStore::new(&dir).save_now(m))
                .filter(Result::is_err)
                .count()
        })
        .await;
        self.stats.models_saved += n as u64;
        match res {
            Ok(0) => tracing::info!(channels = n, "models saved at shutdown"),
            Ok(failed) => tracing::warn!(failed, "some models could not be saved at shutdown"),
            Err(e) => tracing::error!(error = %e, "model save task failed"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn forwarding(channels: &[&str]) -> (Driver, mpsc::Receiver<WindowEnvelope>) {
        let (tx, rx) = mpsc::channel(10_000);
        let names: Vec<String> = channels.iter().map(|c| (*c).to_owned()).collect();
        let opts = DriverOptions {
            models_dir: None,
            ..DriverOptions::default()
        };
        (Driver::forwarding(opts, &names, tx), rx)
    }

    fn msg(channel: &str, login: &str, text: &str, t: Millis) -> ChatMessage {
        ChatMessage::plain(channel, login, text, t)
    }

    fn moderator(channel: &str, t: Millis) -> ChatMessage {
        let mut m = msg(channel, "mod1", "!testclip", t);
        m.roles.moderator = true;
        m
    }

    fn drain(rx: &mut mpsc::Receiver<WindowEnvelope>) -> Vec<WindowEnvelope> {
        let mut v = Vec::new();
        while let Ok(w) = rx.try_recv() {
            v.push(w);
        }
        v
    }

    #[test]
    fn forward_mode_aggregates_only_and_sends_closed_windows() {
        let (mut d, mut rx) = forwarding(&["a", "b"]);
        assert!(d.is_forwarding());
        assert!(d.chans.values().all(|c| matches!(c.core, Core::Forward(_))));
        for i in 0..8 {
            d.forward_message(&msg("a", &format!("u{i}"), "KEKW KEKW", 1_000 + i * 500));
        }
        assert!(drain(&mut rx).is_empty(), "no window closed yet");
        d.advance_all(10_000);
        let out = drain(&mut rx);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out
            .iter()
            .all(|w| w.channel == "a" && w.forced_by.is_none()));
        assert_eq!(out[0].features.end_ms, 5_000);
        assert_eq!(out[0].features.messages, 8);
        assert_eq!(out[1].features.messages, 0);
        assert_eq!(d.stats.windows, 2);
        assert_eq!(d.stats.triggers + d.stats.clips, 0);
    }

    #[test]
    fn a_full_backlog_sheds_windows_with_a_count_instead_of_growing() {
        let (tx, mut rx) = mpsc::channel(3);
        let opts = DriverOptions {
            models_dir: None,
            ..DriverOptions::default()
        };
        let mut d = Driver::forwarding(opts, &["a".to_owned()], tx);
        // The queue is down: nobody reads `rx`. Ten windows close.
        for i in 0..10 {
            d.forward_message(&msg("a", "u", "hi", 1_000 + i * 5_000));
        }
        d.advance_all(60_000);
        assert_eq!(d.stats.windows, 12);
        assert_eq!(d.stats.windows_shed, 9, "3 kept, the rest shed and counted");
        assert_eq!(drain(&mut rx).len(), 3);
    }

    #[test]
    fn testclip_closes_the_open_window_at_once_with_forced_by() {
        let (mut d, mut rx) = forwarding(&["a"]);
        d.forward_message(&msg("a", "u1", "hello", 1_000));
        d.forward_message(&msg("a", "u2", "hi", 2_000));
        d.forward_message(&moderator("a", 3_000));
        let out = drain(&mut rx);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].forced_by.as_deref(), Some("mod1"));
        assert_eq!(out[0].features.end_ms, 5_000);
        assert_eq!(out[0].features.messages, 2, "the command is not chat");
        // The rest of that hop counts in the next window; the clock catches up.
        d.forward_message(&msg("a", "u3", "late", 4_000));
        d.advance_all(9_999);
        assert!(drain(&mut rx).is_empty());
        d.advance_all(10_000);
        let out = drain(&mut rx);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].features.start_ms, 5_000);
        assert_eq!(out[0].features.messages, 1);
        assert!(out[0].forced_by.is_none());
    }

    #[test]
    fn a_second_testclip_in_the_same_hop_is_forwarded_too() {
        let (mut d, mut rx) = forwarding(&["a"]);
        d.forward_message(&msg("a", "u1", "hello", 1_000));
        d.forward_message(&moderator("a", 2_000));
        d.forward_message(&moderator("a", 3_000));
        let out = drain(&mut rx);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out.iter().all(|w| w.forced_by.as_deref() == Some("mod1")));
        assert_eq!(out[0].features.end_ms, 5_000);
        assert_eq!(out[1].features.end_ms, 10_000);
        d.advance_all(12_000);
        assert!(drain(&mut rx).is_empty(), "no window twice");
        d.advance_all(15_000);
        assert_eq!(drain(&mut rx)[0].features.start_ms, 10_000);
    }

    #[test]
    fn testclip_after_a_long_silence_opens_a_window_of_its_own() {
        let (mut d, mut rx) = forwarding(&["a"]);
        d.forward_message(&msg("a", "u1", "hello", 1_000));
        d.advance_all(400_000);
        drain(&mut rx);
        d.advance_all(700_000);
        assert!(drain(&mut rx).is_empty(), "idle: no windows");
        d.forward_message(&moderator("a", 700_100));
        let out = drain(&mut rx);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].forced_by.as_deref(), Some("mod1"));
        assert_eq!(out[0].features.end_ms, 705_000);
        assert_eq!(out[0].features.messages, 1);
    }

    #[test]
    fn testclip_from_a_viewer_is_ignored() {
        let (mut d, mut rx) = forwarding(&["a"]);
        d.forward_message(&msg("a", "u1", "hello", 1_000));
        d.forward_message(&msg("a", "viewer", "!testclip", 2_000));
        assert!(drain(&mut rx).is_empty());
        assert_eq!(d.stats.ignored_testclips, 1);
        d.advance_all(5_000);
        let out = drain(&mut rx);
        assert_eq!(out[0].features.messages, 1);
        assert!(out[0].forced_by.is_none());
    }

    #[test]
    fn answers_for_a_dropped_channel_do_not_bring_it_back() {
        let (mut d, _rx) = forwarding(&["a", "b"]);
        d.on_control(Control::Channels(vec!["a".into(), "c".into()]));
        assert_eq!(d.channels(), ["a", "c"]);
        d.on_control(Control::Streams {
            queried: vec!["a".into(), "b".into()],
            live: HashMap::from([("a".to_owned(), 10), ("b".to_owned(), 20)]),
        });
        d.on_control(Control::Emotes {
            channel: Some("b".into()),
            lists: vec![(EmoteSource::Bttv, vec!["catJAM".into()])],
        });
        d.on_control(Control::Pause {
            channel: "b".into(),
            reason: "x".into(),
        });
        d.forward_message(&msg("b", "u1", "hello", 1_000));
        assert_eq!(d.channels(), ["a", "c"]);
        assert_eq!(d.chans["a"].viewers, Some(10));
        assert_eq!(d.chans["c"].live, None);
    }

    #[test]
    fn channel_settings_override_threshold_and_cooldown() {
        let (clips, _c) = mpsc::unbounded_channel();
        let (control, _r) = mpsc::unbounded_channel();
        let opts = DriverOptions {
            models_dir: None,
            ..DriverOptions::default()
        };
        let base = opts.detector.decision.clone();
        let mut d = Driver::new(opts, &["a".to_owned()], clips, control);
        let mut a = clipper_functions::roles::ChannelConfig::new("a");
        a.threshold = Some(0.77);
        a.cooldown_ms = Some(90_000);
        a.clip_duration_s = Some(45.0);
        d.on_control(Control::Settings(vec![a]));
        let got = d.decision_for("a");
        assert_eq!((got.threshold, got.cooldown_ms), (0.77, 90_000));
        assert_eq!((got.min_duration_ms, got.max_duration_ms), (45_000, 45_000));
        assert_eq!(
            d.decision_for("b"),
            base,
            "no overrides: the run's settings"
        );
        d.on_control(Control::Settings(vec![]));
        assert_eq!(d.decision_for("a"), base);
    }

    #[test]
    fn detect_mode_keeps_the_detector() {
        let (clips, _c) = mpsc::unbounded_channel();
        let (control, _r) = mpsc::unbounded_channel();
        let opts = DriverOptions {
            models_dir: None,
            ..DriverOptions::default()
        };
        let d = Driver::new(opts, &["a".to_owned()], clips, control);
        assert!(!d.is_forwarding());
        assert!(matches!(d.chans["a"].core, Core::Detect(_)));
    }
}
