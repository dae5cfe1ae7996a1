//! The live driver: one task owning every channel's [`ChannelDetector`], fed by chat and a
//! timer, exactly the code replay runs. Everything slow happens elsewhere: model fits on the
//! blocking pool, clip creation in the clip worker ([`super::clips`]), Helix polls in their own
//! tasks; they talk to the driver through [`Control`] messages.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clipper_models::emotes::EmoteSource;
use clipper_models::model::Fitted;
use clipper_models::{
    ChannelDetector, ChannelModel, ClipRequest, DetectorConfig, Millis, Output, Training,
    WindowEnvelope,
};
use serde::Serialize;
use tokio::sync::mpsc;
use twitch_irc::message::ServerMessage;

use super::chat::{to_event, ChatEvent};
use crate::store;

/// Wall-clock Unix milliseconds: the time base of live chat.
pub fn now_ms() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
    })
}

/// Settings of the driver.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    pub detector: DetectorConfig,
    /// Where models are loaded from and saved to (`None`: not persisted).
    pub models_dir: Option<PathBuf>,
    pub autosave_every: Duration,
    pub status_every: Duration,
    /// How often time advances without chat (closes windows, releases due clips).
    pub tick: Duration,
    /// Forward closed windows instead of scoring them (relay of the serverless shape).
    pub forward_windows: bool,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            detector: DetectorConfig::default(),
            models_dir: Some(PathBuf::from("models")),
            autosave_every: Duration::from_secs(600),
            status_every: Duration::from_secs(60),
            tick: Duration::from_millis(200),
            forward_windows: false,
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
    /// Channels to watch from now on (others are dropped after a final model save).
    Channels(Vec<String>),
}

/// A clip for the clip worker; `skip` says why it must only be recorded.
#[derive(Debug, Clone)]
pub struct ClipJob {
    pub request: ClipRequest,
    pub skip: Option<String>,
}

/// Per-channel state beside the detector.
#[derive(Debug)]
struct Chan {
    detector: ChannelDetector,
    broadcaster_id: Option<String>,
    viewers: Option<u32>,
    live: Option<bool>,
    paused: Option<String>,
    training: bool,
    msgs_since_status: u64,
    clips_ok: u64,
    clips_failed: u64,
    forced_by: Option<String>,
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
}

/// The driver.
#[derive(Debug)]
pub struct Driver {
    opts: DriverOptions,
    chans: HashMap<String, Chan>,
    clips: mpsc::UnboundedSender<ClipJob>,
    windows: Option<mpsc::UnboundedSender<WindowEnvelope>>,
    control_tx: mpsc::UnboundedSender<Control>,
    room_ids: Option<mpsc::UnboundedSender<(String, String)>>,
    progress: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    out: Vec<Output>,
    pub stats: DriverStats,
}

impl Driver {
    /// A driver for `channels` (models loaded now), sending clips to `clips` and, in forward
    /// mode, windows to `windows`. `control_tx` is the sender side of the control channel the
    /// caller passes to [`run`](Self::run) (used for finished fits).
    pub fn new(
        opts: DriverOptions,
        channels: &[String],
        clips: mpsc::UnboundedSender<ClipJob>,
        windows: Option<mpsc::UnboundedSender<WindowEnvelope>>,
        control_tx: mpsc::UnboundedSender<Control>,
    ) -> Self {
        let mut d = Driver {
            opts,
            chans: HashMap::new(),
            clips,
            windows,
            control_tx,
            room_ids: None,
            progress: None,
            out: Vec::with_capacity(16),
            stats: DriverStats::default(),
        };
        for c in channels {
            d.chan(c);
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

    /// Channels being watched.
    pub fn channels(&self) -> Vec<String> {
        let mut v: Vec<String> = self.chans.keys().cloned().collect();
        v.sort();
        v
    }

    fn chan(&mut self, channel: &str) -> &mut Chan {
        if !self.chans.contains_key(channel) {
            let model = self.load_model(channel);
            let detector = ChannelDetector::new(
                channel,
                self.opts.detector.clone(),
                model,
                Training::External,
            );
            self.chans.insert(
                channel.to_owned(),
                Chan {
                    detector,
                    broadcaster_id: None,
                    viewers: None,
                    live: None,
                    paused: None,
                    training: false,
                    msgs_since_status: 0,
                    clips_ok: 0,
                    clips_failed: 0,
                    forced_by: None,
                },
            );
        }
        match self.chans.get_mut(channel) {
            Some(c) => c,
            None => unreachable!("inserted above"),
        }
    }

    fn load_model(&self, channel: &str) -> Option<ChannelModel> {
        let dir = self.opts.models_dir.as_ref()?;
        match store::load_model(dir, channel) {
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

    /// Runs until `shutdown` completes or chat ends; then saves models and returns.
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
        let mut batch = Vec::with_capacity(512);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(c) = control.recv() => self.on_control(c),
                _ = tick.tick() => self.advance_all(now_ms()),
                _ = status.tick() => self.log_status(),
                _ = autosave.tick() => self.autosave(),
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
        self.save_all().await;
        self.stats
    }

    fn on_server_message(&mut self, m: ServerMessage, now: Millis) {
        match to_event(m) {
            Some(ChatEvent::Message(mut msg)) => {
                // Live time is our receive time: the same clock as the timer.
                msg.time_ms = now;
                self.stats.messages += 1;
                let channel = std::mem::take(&mut msg.channel);
                let chan = self.chan(&channel);
                msg.channel = channel;
                chan.msgs_since_status += 1;
                if self.opts.forward_windows && msg.is_testclip_command() {
                    if self.opts.detector.may_force_clip(&msg) {
                        let chan = self.chan(&msg.channel);
                        chan.forced_by = Some(msg.login.clone());
                    }
                    return;
                }
                let mut out = std::mem::take(&mut self.out);
                self.chan(&msg.channel).detector.on_message(&msg, &mut out);
                if !out.is_empty() {
                    self.handle(&msg.channel, &mut out);
                }
                self.out = out;
            }
            Some(ChatEvent::RoomId { channel, id }) => {
                let chan = self.chan(&channel);
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

    fn advance_all(&mut self, now: Millis) {
        let mut out = std::mem::take(&mut self.out);
        let names: Vec<String> = self.chans.keys().cloned().collect();
        for name in names {
            if let Some(chan) = self.chans.get_mut(&name) {
                chan.detector.advance(now, &mut out);
            }
            self.handle(&name, &mut out);
            self.maybe_train(&name);
        }
        self.out = out;
    }

    fn maybe_train(&mut self, name: &str) {
        let Some(chan) = self.chans.get_mut(name) else {
            return;
        };
        if chan.training {
            return;
        }
        if let Some(job) = chan.detector.take_training_job() {
            chan.training = true;
            let tx = self.control_tx.clone();
            let channel = name.to_owned();
            tokio::task::spawn_blocking(move || {
                let result = job.run();
                let _ = tx.send(Control::Trained { channel, result });
            });
        }
    }

    fn handle(&mut self, name: &str, out: &mut Vec<Output>) {
        for o in out.drain(..) {
            let Some(chan) = self.chans.get_mut(name) else {
                continue;
            };
            match o {
                Output::Window(w) => {
                    self.stats.windows += 1;
                    if let Some(tx) = &self.windows {
                        let env = WindowEnvelope {
                            channel: name.to_owned(),
                            broadcaster_id: chan.broadcaster_id.clone(),
                            live: chan.live,
                            features: w.features,
                            forced_by: chan.forced_by.take(),
                        };
                        if tx.send(env).is_err() {
                            tracing::error!(
                                channel = name,
                                "window forwarder gone; window not sent"
                            );
                        }
                    }
                }
                // Forwarding: the score function decides; local triggers are not acted on.
                Output::Trigger(_) | Output::Clip(_) if self.windows.is_some() => {}
                Output::Trigger(t) => {
                    self.stats.triggers += 1;
                    tracing::info!(channel = name, kind = ?t.kind, score = t.score, fire_at_ms = t.fire_at_ms, "trigger");
                }
                Output::Clip(decision) => {
                    self.stats.clips += 1;
                    let skip = if let Some(r) = &chan.paused {
                        Some(format!("channel paused: {r}"))
                    } else if chan.live == Some(false) {
                        Some("channel offline".to_owned())
                    } else {
                        None
                    };
                    let request = ClipRequest::new(*decision, chan.broadcaster_id.clone());
                    tracing::info!(channel = name, request_id = %request.request_id, title = %request.decision.title, skip = skip.as_deref().unwrap_or(""), "clip due");
                    if self.clips.send(ClipJob { request, skip }).is_err() {
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
                    let chan = self.chan(&name);
                    let v = live.get(&name).copied();
                    chan.live = Some(v.is_some());
                    chan.viewers = v;
                    chan.detector.set_viewers(v);
                }
            }
            Control::Emotes { channel, lists } => {
                let names: Vec<String> = match channel {
                    Some(c) => vec![c],
                    None => self.chans.keys().cloned().collect(),
                };
                for name in names {
                    let vocab = self.chan(&name).detector.aggregator_mut().vocab_mut();
                    for (source, list) in &lists {
                        vocab.add_list(*source, list.iter().map(String::as_str));
                    }
                }
            }
            Control::Pause { channel, reason } => {
                tracing::warn!(channel = %channel, %reason, "clipping paused for this channel");
                self.chan(&channel).paused = Some(reason);
            }
            Control::ClipDone { channel, ok } => {
                let chan = self.chan(&channel);
                if ok {
                    chan.clips_ok += 1;
                } else {
                    chan.clips_failed += 1;
                }
            }
            Control::Trained { channel, result } => {
                if let Some(chan) = self.chans.get_mut(&channel) {
                    chan.training = false;
                    if let Err(e) = chan.detector.install(result) {
                        tracing::warn!(channel = %channel, error = %e, "model fit failed; keeping the previous model");
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
                    if let Some(chan) = self.chans.remove(&c) {
                        self.save_one(chan.detector.snapshot());
                    }
                }
                for c in &list {
                    self.chan(c);
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
            tracing::info!(
                channel = %name,
                msgs_per_min = (c.msgs_since_status as f64 * 60.0 / secs).round(),
                score = (c.detector.stats.last_score * 100.0).round() / 100.0,
                viewers = c.viewers.map_or_else(|| "?".to_owned(), |v| v.to_string()),
                live = c.live.map_or("?", |l| if l { "yes" } else { "no" }),
                clips = c.clips_ok,
                failed = c.clips_failed,
                paused = c.paused.is_some(),
                "status"
            );
        }
        for c in self.chans.values_mut() {
            c.msgs_since_status = 0;
        }
    }

    fn save_one(&mut self, model: ChannelModel) {
        let Some(dir) = self.opts.models_dir.clone() else {
            return;
        };
        self.stats.models_saved += 1;
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store::save_model(&dir, &model) {
                tracing::warn!(channel = %model.channel, error = %e, "model save failed");
            }
        });
    }

    fn autosave(&mut self) {
        let snaps: Vec<ChannelModel> = self.chans.values().map(|c| c.detector.snapshot()).collect();
        for m in snaps {
            self.save_one(m);
        }
        tracing::info!(channels = self.chans.len(), "models saved");
    }

    async fn save_all(&mut self) {
        let Some(dir) = self.opts.models_dir.clone() else {
            return;
        };
        let snaps: Vec<ChannelModel> = self.chans.values().map(|c| c.detector.snapshot()).collect();
        let n = snaps.len();
        let res = tokio::task::spawn_blocking(move || {
            snaps
                .iter()
                .map(|m| store::save_model(&dir, m))
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
