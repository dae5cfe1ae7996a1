//! Replay: recorded chat through the same detection pipeline as live, on the log's own clock,
//! without sleeping.

use crate::error::{RelayError, Result};
use crate::input::ChatReader;
use clipper_functions::local::DirModelStore;
use clipper_models::pipeline::{ChannelDetector, Output, ScoredWindow, Training};
use clipper_models::{ClipDecision, DetectorConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A clip the detector would create, as `clipper replay --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayClip {
    pub channel: String,
    /// The chat file it came from.
    pub source: String,
    /// Log time in seconds (the file's own clock) of the window that triggered.
    pub at: f64,
    /// Log time of the highest-scoring window merged into the clip.
    pub peak_at: f64,
    pub score: f64,
    pub trigger: String,
    pub title: String,
    pub merged: u32,
    pub forced_by: Option<String>,
    pub messages: Option<u32>,
    pub rate: Option<f64>,
    pub top_emote: Option<String>,
    /// The span of the stream the clip will hold ([`ClipDecision::span_ms`]), on the same
    /// clock as `at`.
    pub clip_start: f64,
    pub clip_end: f64,
}

impl ReplayClip {
    fn new(c: &ClipDecision, source: &Path) -> Self {
        let (clip_start, clip_end) = c.span_ms();
        ReplayClip {
            channel: c.channel.clone(),
            source: source.display().to_string(),
            at: c.trigger_ms as f64 / 1000.0,
            peak_at: c.peak_ms as f64 / 1000.0,
            score: (c.score * 10_000.0).round() / 10_000.0,
            trigger: c.kind.to_string(),
            title: c.title.clone(),
            merged: c.merged,
            forced_by: c.forced_by.clone(),
            messages: c.features.as_ref().map(|f| f.messages),
            rate: c.features.as_ref().map(|f| f.rate),
            top_emote: c.features.as_ref().and_then(|f| f.top_emote.clone()),
            clip_start: clip_start as f64 / 1000.0,
            clip_end: clip_end as f64 / 1000.0,
        }
    }
}

/// Options of a replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Channel for TSV logs; default: the name of the file's directory.
    pub channel: Option<String>,
    /// Load each channel's model from here before and save it after.
    pub models_dir: Option<PathBuf>,
    pub config: DetectorConfig,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
    /// Keep only the chat of 1 user in N ([`Thin`]): the same users in every run.
    pub thin: Option<Thin>,
}

/// Thinning: keep the chat of 1 chatter in `every`, a small channel simulated from a big one.
/// Chatters fall into `every` disjoint draws by a stable hash of their user key; `draw` picks
/// one. Draw 0 is what `--thin N` has always kept; the others let a measure be taken over every
/// chatter once (`clipper eval --thin-draws`), not over one arbitrary tenth of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thin {
    pub every: u32,
    pub draw: u32,
}

impl Thin {
    /// Draw 0 of 1 in `every`.
    pub fn every(every: u32) -> Self {
        Thin { every, draw: 0 }
    }

    /// All `every` draws, in order.
    pub fn draws(every: u32) -> impl Iterator<Item = Thin> {
        (0..every.max(1)).map(move |draw| Thin { every, draw })
    }

    /// Whether this draw keeps `user` (a user key or login): FNV-1a (64 bit) of its bytes is
    /// `draw` modulo `every`. Stable across runs and machines; `every` of 0 or 1 keeps all.
    pub fn keeps(&self, user: &str) -> bool {
        if self.every <= 1 {
            return true;
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in user.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h % u64::from(self.every) == u64::from(self.draw)
    }
}

/// Whether `thin` (none: keep all) keeps `user`.
pub fn thin_keeps(thin: Option<Thin>, user: &str) -> bool {
    thin.is_none_or(|t| t.keeps(user))
}

/// Totals of a replay.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ReplaySummary {
    pub files: usize,
    pub messages: u64,
    pub malformed: u64,
    pub windows: u64,
    pub clips: u64,
    /// Log time covered, summed over files (seconds).
    pub log_seconds: f64,
    pub elapsed_seconds: f64,
}

impl ReplaySummary {
    /// Fold another replay's totals into these.
    pub fn add(&mut self, o: &ReplaySummary) {
        self.files += o.files;
        self.messages += o.messages;
        self.malformed += o.malformed;
        self.windows += o.windows;
        self.clips += o.clips;
        self.log_seconds += o.log_seconds;
        self.elapsed_seconds += o.elapsed_seconds;
    }
    pub fn clips_per_hour(&self) -> f64 {
        self.clips as f64 / (self.log_seconds / 3600.0).max(1e-9)
    }
    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed_seconds.max(1e-9)
    }
}

/// What a replay hands to its caller as it goes.
pub trait ReplaySink {
    fn clip(&mut self, clip: &ReplayClip, decision: &ClipDecision);
    /// Every scored window (evaluation keeps them for charts); default: ignore.
    fn window(&mut self, _source: &Path, _w: &ScoredWindow) {}
    /// A file ended.
    fn file_done(&mut self, _source: &Path, _log_seconds: f64) {}
}

/// Default TSV channel for a file: its directory's name.
pub fn default_channel(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("replay")
        .to_lowercase()
}

/// Replay the files in order. Each file is one stream: windows and cooldowns start afresh, the
/// channel's model (baseline, forest, learned emotes) carries over from file to file, and to
/// and from `models_dir` when given.
pub fn replay_files(
    files: &[PathBuf],
    opts: &ReplayOptions,
    sink: &mut dyn ReplaySink,
) -> Result<ReplaySummary> {
    let started = Instant::now();
    let mut summary = ReplaySummary::default();
    let mut models: HashMap<String, clipper_models::ChannelModel> = HashMap::new();
    let mut out = Vec::with_capacity(64);
    for path in files {
        let channel = opts
            .channel
            .clone()
            .unwrap_or_else(|| default_channel(path));
        let file = File::open(path).map_err(|source| RelayError::Open {
            path: path.clone(),
            source,
        })?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bar = if opts.progress {
            let bar = ProgressBar::new(len);
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        let reader = BufReader::with_capacity(1 << 16, bar.wrap_read(file));
        let mut reader = ChatReader::new(reader, path, &channel)?;
        let mut detectors: HashMap<String, ChannelDetector> = HashMap::new();
        let (mut first_ms, mut last_ms) = (i64::MAX, i64::MIN);
        for msg in reader.by_ref() {
            first_ms = first_ms.min(msg.time_ms);
            last_ms = last_ms.max(msg.time_ms);
            if !thin_keeps(opts.thin, msg.user_key()) {
                continue;
            }
            let det = match detectors.get_mut(&msg.channel) {
                Some(d) => d,
                None => {
                    let model = match models.remove(&msg.channel) {
                        Some(m) => Some(m),
                        None => match &opts.models_dir {
                            Some(dir) => DirModelStore::new(dir).load_now(&msg.channel)?,
                            None => None,
                        },
                    };
                    let d = ChannelDetector::new(
                        &msg.channel,
                        opts.config.clone(),
                        model,
                        Training::Inline,
                    );
                    detectors.entry(msg.channel.clone()).or_insert(d)
                }
            };
            det.on_message(&msg, &mut out);
            if !out.is_empty() {
                drain(&mut out, path, sink, &mut summary);
            }
        }
        if let Some(e) = reader.take_error() {
            return Err(e);
        }
        reader.log_summary();
        bar.finish_and_clear();
        let stats = reader.stats();
        summary.messages += stats.messages;
        summary.malformed += stats.malformed;
        summary.files += 1;
        // TSV offsets count from the stream's start; IRC times are Unix times.
        let seconds = match reader.format() {
            _ if last_ms < first_ms => 0.0,
            crate::input::ChatFormat::Tsv => last_ms.max(0) as f64 / 1000.0,
            crate::input::ChatFormat::Irc => (last_ms - first_ms) as f64 / 1000.0,
        };
        summary.log_seconds += seconds;
        let mut names: Vec<String> = detectors.keys().cloned().collect();
        names.sort();
        for name in names {
            if let Some(mut d) = detectors.remove(&name) {
                d.finish(&mut out);
                drain(&mut out, path, sink, &mut summary);
                models.insert(name, d.snapshot());
            }
        }
        sink.file_done(path, seconds);
    }
    if let Some(dir) = &opts.models_dir {
        for m in models.values() {
            DirModelStore::new(dir).save_now(m)?;
        }
    }
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn drain(
    out: &mut Vec<Output>,
    path: &Path,
    sink: &mut dyn ReplaySink,
    summary: &mut ReplaySummary,
) {
    for o in out.drain(..) {
        match o {
            Output::Window(w) => {
                summary.windows += 1;
                sink.window(path, &w);
            }
            Output::Clip(c) => {
                summary.clips += 1;
                sink.clip(&ReplayClip::new(&c, path), &c);
            }
            Output::Trigger(_) | Output::IgnoredTestclip { .. } => {}
        }
    }
}
