//! The per-channel model: baseline state, scaler, Isolation Forest and training buffer.
//!
//! [`ChannelModel::assess`] turns a window into its baseline-relative view ([`Relative`]) and an
//! anomaly score, then learns from it (baseline update, training buffer). Refitting is split so
//! that it never stalls scoring: [`ChannelModel::training_job`] takes a snapshot that can be fitted
//! anywhere (inline in replay, on a blocking thread live, in a Lambda) and
//! [`ChannelModel::install`] swaps the result in.

use crate::error::{ModelsError, Result};
use crate::iforest::{IsolationForest, IsolationForestParams};
use crate::traits::{Fit, ParamGuard, Predict};
use crate::window::WindowFeatures;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Version of the serialised model; a file of another version is refused with a clear error.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Names of the features the anomaly model sees, in vector order.
pub const FEATURE_NAMES: [&str; 16] = [
    "log_rate",
    "log_rate_20s",
    "rate_z",
    "rate_20s_z",
    "chatters_z",
    "accel",
    "emote_msg_share",
    "top_emote_share",
    "top_emote_chatters",
    "laugh_share",
    "hype_share",
    "question_share",
    "elongated_share",
    "caps_ratio",
    "dup_share",
    "sentiment",
];

/// Settings of the per-channel model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelConfig {
    /// Trees in the forest. Default 100.
    pub n_trees: usize,
    /// Subsample per tree (ψ). Default 256.
    pub max_samples: usize,
    /// Windows kept for training (a ring). Default 4,320 (6 h of 5 s windows).
    pub buffer_windows: usize,
    /// The forest is first fitted once this many active windows were seen; until then only
    /// rules decide. Default 120 (10 min).
    pub warmup_windows: usize,
    /// Refit after this many new windows. Default 720 (1 h).
    pub refit_every: usize,
    /// Half-life, in windows, of the baseline (EWMA). Default 360 (30 min).
    pub baseline_halflife: f64,
    /// Seed of the forest (each refit derives its own from it).
    pub seed: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            n_trees: 100,
            max_samples: 256,
            buffer_windows: 4_320,
            warmup_windows: 120,
            refit_every: 720,
            baseline_halflife: 360.0,
            seed: 0x5EED,
        }
    }
}

/// Exponentially weighted mean and variance, with winsorised updates so that a spike does not
/// become the new normal at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    pub n: u64,
    pub mean: f64,
    pub var: f64,
}

impl Ewma {
    /// z-score of `x` against the state, with `floor` as the smallest variance.
    pub fn z(&self, x: f64, floor: f64) -> f64 {
        if self.n < 12 {
            return 0.0;
        }
        (x - self.mean) / self.var.max(floor).sqrt()
    }

    pub fn update(&mut self, x: f64, halflife: f64) {
        if !x.is_finite() {
            return;
        }
        self.n += 1;
        let alpha = (1.0 / self.n as f64).max(1.0 - 0.5f64.powf(1.0 / halflife.max(1.0)));
        let x = if self.n > 12 {
            x.min(self.mean + 4.0 * self.var.sqrt().max(1e-9))
        } else {
            x
        };
        let d = x - self.mean;
        self.mean += alpha * d;
        self.var = (1.0 - alpha) * (self.var + alpha * d * d);
    }
}

/// The channel's normal, for the quantities the decision compares against.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub rate: Ewma,
    pub rate_20s: Ewma,
    pub chatters: Ewma,
    pub laugh: Ewma,
    pub emote: Ewma,
    pub hype: Ewma,
    pub question: Ewma,
    pub dup: Ewma,
    pub elongated: Ewma,
}

/// A window seen against the channel's baseline (z-scores; 0 during the first minute).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Relative {
    pub rate_z: f64,
    pub rate_20s_z: f64,
    pub chatters_z: f64,
    pub laugh_z: f64,
    pub emote_z: f64,
    pub hype_z: f64,
    pub question_z: f64,
    pub dup_z: f64,
    pub elongated_z: f64,
    /// The channel's baseline message rate (msgs/s).
    pub base_rate: f64,
}

impl Baseline {
    fn relative(&self, w: &WindowFeatures, hop_s: f64) -> Relative {
        // Poisson floor on rate variance: a quiet channel's 1→3 messages is not a 10σ event.
        let rate_floor = (self.rate.mean / hop_s).max(0.04) + 0.01 * self.rate.mean.powi(2);
        let rate20_floor =
            (self.rate_20s.mean / (4.0 * hop_s)).max(0.01) + 0.01 * self.rate_20s.mean.powi(2);
        let chat_floor = self.chatters.mean.max(1.0);
        // Shares of a window with n messages vary like p(1-p)/n at least.
        let n = f64::from(w.messages.max(1));
        let share_floor = |e: &Ewma| (e.mean * (1.0 - e.mean) / n).max(0.0025);
        Relative {
            rate_z: self.rate.z(w.rate, rate_floor),
            rate_20s_z: self.rate_20s.z(w.rate_20s, rate20_floor),
            chatters_z: self.chatters.z(f64::from(w.chatters), chat_floor),
            laugh_z: self.laugh.z(w.laugh_share, share_floor(&self.laugh)),
            emote_z: self.emote.z(w.emote_msg_share, share_floor(&self.emote)),
            hype_z: self.hype.z(w.hype_share, share_floor(&self.hype)),
            question_z: self
                .question
                .z(w.question_share, share_floor(&self.question)),
            dup_z: self.dup.z(w.dup_share, share_floor(&self.dup)),
            elongated_z: self
                .elongated
                .z(w.elongated_share, share_floor(&self.elongated)),
            base_rate: self.rate.mean,
        }
    }

    fn update(&mut self, w: &WindowFeatures, h: f64) {
        self.rate.update(w.rate, h);
        self.rate_20s.update(w.rate_20s, h);
        self.chatters.update(f64::from(w.chatters), h);
        if w.messages > 0 {
            self.laugh.update(w.laugh_share, h);
            self.emote.update(w.emote_msg_share, h);
            self.hype.update(w.hype_share, h);
            self.question.update(w.question_share, h);
            self.dup.update(w.dup_share, h);
            self.elongated.update(w.elongated_share, h);
        }
    }
}

/// The anomaly model's input for one window, in [`FEATURE_NAMES`] order.
pub fn feature_vector(w: &WindowFeatures, r: &Relative) -> [f64; FEATURE_NAMES.len()] {
    let clamp = |z: f64| z.clamp(-10.0, 10.0);
    [
        w.rate.ln_1p(),
        w.rate_20s.ln_1p(),
        clamp(r.rate_z),
        clamp(r.rate_20s_z),
        clamp(r.chatters_z),
        ((w.rate_20s + 0.1) / (w.rate_60s + 0.1)).ln(),
        w.emote_msg_share,
        w.top_emote_share,
        w.top_emote_chatters,
        w.laugh_share,
        w.hype_share,
        w.question_share,
        w.elongated_share,
        w.caps_ratio,
        w.dup_share,
        w.sentiment,
    ]
}

/// Per-feature standardisation fitted with the forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl StandardScaler {
    pub fn fit(rows: &[Vec<f64>]) -> Result<Self> {
        let first = rows.first().ok_or(ModelsError::EmptyTrainingSet)?;
        let d = first.len();
        let n = rows.len() as f64;
        let mut mean = vec![0.0; d];
        for r in rows {
            if r.len() != d {
                return Err(ModelsError::DimensionMismatch {
                    expected: d,
                    got: r.len(),
                });
            }
            for (m, x) in mean.iter_mut().zip(r) {
                *m += x / n;
            }
        }
        let mut var = vec![0.0; d];
        for r in rows {
            for ((v, x), m) in var.iter_mut().zip(r).zip(&mean) {
                *v += (x - m).powi(2) / n;
            }
        }
        let scale = var
            .into_iter()
            .map(|v| if v > 1e-12 { v.sqrt() } else { 1.0 })
            .collect();
        Ok(StandardScaler { mean, scale })
    }

    pub fn transform_into(&self, x: &[f64], out: &mut [f64]) {
        for (((o, x), m), s) in out.iter_mut().zip(x).zip(&self.mean).zip(&self.scale) {
            *o = (x - m) / s;
        }
    }
}

/// A fitted forest with its scaler and the spread of its own training scores, which turns a raw
/// score into a channel-relative one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fitted {
    pub scaler: StandardScaler,
    pub forest: IsolationForest,
    /// Median and 99th percentile of the training windows' scores.
    pub score_median: f64,
    pub score_p99: f64,
    pub trained_on: usize,
}

impl Fitted {
    /// Raw Isolation Forest score (0..1, higher is more anomalous) of a feature vector.
    pub fn score(&self, x: &[f64]) -> f64 {
        let mut buf = [0.0; FEATURE_NAMES.len()];
        let n = x.len().min(buf.len());
        self.scaler.transform_into(&x[..n], &mut buf[..n]);
        self.forest.predict(&buf[..n])
    }

    /// Score relative to the channel's own spread: 0 at the median window, 1 at the 99th
    /// percentile.
    pub fn relative(&self, raw: f64) -> f64 {
        (raw - self.score_median) / (self.score_p99 - self.score_median).max(1e-6)
    }
}

/// A snapshot to fit, detached from the model so it can run anywhere.
#[derive(Debug, Clone)]
pub struct TrainingJob {
    pub rows: Vec<Vec<f64>>,
    pub params: IsolationForestParams,
}

impl TrainingJob {
    /// Fit scaler and forest. Pure and deterministic.
    pub fn run(self) -> Result<Fitted> {
        let scaler = StandardScaler::fit(&self.rows)?;
        let d = scaler.mean.len();
        let scaled: Vec<Vec<f64>> = self
            .rows
            .iter()
            .map(|r| {
                let mut o = vec![0.0; d];
                scaler.transform_into(r, &mut o);
                o
            })
            .collect();
        let forest = self.params.check()?.fit(scaled.as_slice())?;
        // The score spread comes from an even subsample: enough for a median and a 99th
        // percentile, and it keeps refits cheap on a full buffer.
        let step = (scaled.len() / 512).max(1);
        let mut scores: Vec<f64> = scaled
            .iter()
            .step_by(step)
            .map(|r| forest.predict(r.as_slice()))
            .collect();
        scores.sort_unstable_by(f64::total_cmp);
        let q = |p: f64| scores[((scores.len() - 1) as f64 * p).round() as usize];
        Ok(Fitted {
            score_median: q(0.5),
            score_p99: q(0.99),
            trained_on: scores.len(),
            scaler,
            forest,
        })
    }
}

/// What the model says of one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub relative: Relative,
    /// Raw forest score, `None` during warm-up.
    pub anomaly: Option<f64>,
    /// Channel-relative anomaly (0 = median window, 1 = 99th percentile), 0 during warm-up.
    pub anomaly_rel: f64,
}

/// Everything a channel's detector learns and keeps between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelModel {
    pub format_version: u32,
    pub channel: String,
    pub config: ModelConfig,
    pub baseline: Baseline,
    pub fitted: Option<Fitted>,
    buffer: VecDeque<Vec<f64>>,
    pub windows_seen: u64,
    since_fit: u64,
    pub fits: u32,
    /// Emotes the channel's vocabulary learned from chat (kept between runs).
    #[serde(default)]
    pub learned_emotes: Vec<String>,
    #[serde(skip)]
    job_out: bool,
}

impl ChannelModel {
    pub fn new(channel: &str, config: ModelConfig) -> Self {
        ChannelModel {
            format_version: MODEL_FORMAT_VERSION,
            channel: channel.to_owned(),
            config,
            baseline: Baseline::default(),
            fitted: None,
            buffer: VecDeque::new(),
            windows_seen: 0,
            since_fit: 0,
            fits: 0,
            learned_emotes: Vec::new(),
            job_out: false,
        }
    }

    /// Score a window against what the channel has shown so far, then learn from it.
    pub fn assess(&mut self, w: &WindowFeatures) -> Assessment {
        let hop_s = ((w.end_ms - w.start_ms) as f64 / 1000.0).max(0.001);
        let relative = self.baseline.relative(w, hop_s);
        let x = feature_vector(w, &relative);
        let anomaly = self.fitted.as_ref().map(|f| f.score(&x));
        let anomaly_rel = match (&self.fitted, anomaly) {
            (Some(f), Some(s)) => f.relative(s),
            _ => 0.0,
        };
        self.baseline.update(w, self.config.baseline_halflife);
        if w.messages > 0 && x.iter().all(|v| v.is_finite()) {
            if self.buffer.len() >= self.config.buffer_windows.max(1) {
                self.buffer.pop_front();
            }
            self.buffer.push_back(x.to_vec());
            self.windows_seen += 1;
            self.since_fit += 1;
        }
        Assessment {
            relative,
            anomaly,
            anomaly_rel,
        }
    }

    /// True when a (re)fit is due and no job is out.
    pub fn wants_fit(&self) -> bool {
        if self.job_out {
            return false;
        }
        let warm = self.buffer.len() >= self.config.warmup_windows.max(2);
        match self.fitted {
            None => warm,
            Some(_) => warm && self.since_fit >= self.config.refit_every as u64,
        }
    }

    /// Snapshot of the training buffer to fit; scoring goes on with the old forest meanwhile.
    pub fn training_job(&mut self) -> TrainingJob {
        self.job_out = true;
        self.since_fit = 0;
        self.fits += 1;
        let seed = self.config.seed ^ u64::from(self.fits).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        TrainingJob {
            rows: self.buffer.iter().cloned().collect(),
            params: IsolationForestParams::new()
                .n_trees(self.config.n_trees)
                .max_samples(self.config.max_samples)
                .seed(seed),
        }
    }

    /// Swap in a fitted forest (or, on `Err`, keep the old one and allow another job).
    pub fn install(&mut self, fitted: Result<Fitted>) -> Result<()> {
        self.job_out = false;
        self.fitted = Some(fitted?);
        Ok(())
    }

    /// Fit now, inline (replay, tests).
    pub fn fit_now(&mut self) -> Result<()> {
        let job = self.training_job();
        self.install(job.run())
    }

    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    pub fn to_json(&self) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(self)?)
    }

    /// Decode a saved model. A file of another format version, or one that does not decode or
    /// is inconsistent, is an error: callers log it and start a fresh model.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
        }
        let header: Header = serde_json::from_slice(bytes)?;
        if header.format_version != MODEL_FORMAT_VERSION {
            return Err(ModelsError::FormatVersion {
                found: header.format_version,
                expected: MODEL_FORMAT_VERSION,
            });
        }
        let model: ChannelModel = serde_json::from_slice(bytes)?;
        if let Some(f) = &model.fitted {
            if f.forest.n_features() != FEATURE_NAMES.len()
                || f.scaler.mean.len() != FEATURE_NAMES.len()
            {
                return Err(ModelsError::Inconsistent(format!(
                    "forest has {} features, expected {}",
                    f.forest.n_features(),
                    FEATURE_NAMES.len()
                )));
            }
        }
        if model.buffer.iter().any(|r| r.len() != FEATURE_NAMES.len()) {
            return Err(ModelsError::Inconsistent(
                "training buffer rows of the wrong size".into(),
            ));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::{WindowAggregator, WindowConfig};
    use crate::ChatMessage;

    /// Windows of a steady channel (about 2 msgs/s), deterministic.
    pub(crate) fn steady_windows(n: usize) -> Vec<WindowFeatures> {
        let mut agg = WindowAggregator::new("c", WindowConfig::default());
        let mut out = Vec::new();
        let words = ["hi", "nice", "what", "ok", "lol", "gg", "why", "yes"];
        // A small LCG makes the chat uneven, as real chat is.
        let mut x: u64 = 12345;
        let mut t = 0i64;
        while t < n as i64 * 5_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            t += 100 + ((x >> 33) % 800) as i64;
            let m = ChatMessage::plain(
                "c",
                &format!("u{}", (x >> 40) % 23),
                words[((x >> 20) % 8) as usize],
                t,
            );
            agg.flush(t, &mut out);
            agg.record(&m);
        }
        agg.flush(n as i64 * 5_000, &mut out);
        out
    }

    #[test]
    fn warms_up_fits_and_scores() {
        let mut m = ChannelModel::new("c", ModelConfig::default());
        for w in steady_windows(150) {
            let a = m.assess(&w);
            if m.wants_fit() {
                m.fit_now().unwrap();
            }
            assert!(a.anomaly.is_none() || m.fits > 0);
        }
        assert_eq!(m.fits, 1);
        let mut spike = steady_windows(1).remove(0);
        spike.rate = 40.0;
        spike.rate_20s = 30.0;
        spike.laugh_share = 0.9;
        spike.messages = 200;
        spike.chatters = 150;
        let a = m.assess(&spike);
        assert!(a.relative.rate_z > 5.0, "{:?}", a.relative);
        assert!(a.anomaly_rel > 1.0, "{a:?}");
    }

    #[test]
    fn serde_roundtrip_and_bad_files() {
        let mut m = ChannelModel::new("c", ModelConfig::default());
        for w in steady_windows(130) {
            m.assess(&w);
        }
        m.fit_now().unwrap();
        let bytes = m.to_json().unwrap();
        let back = ChannelModel::from_json(&bytes).unwrap();
        assert_eq!(back.buffered(), m.buffered());
        let w = &steady_windows(3)[2];
        let x = feature_vector(w, &Relative::default());
        assert_eq!(
            back.fitted.as_ref().unwrap().score(&x),
            m.fitted.as_ref().unwrap().score(&x)
        );

        assert!(matches!(
            ChannelModel::from_json(b"{not json"),
            Err(ModelsError::Corrupt(_))
        ));
        let old = String::from_utf8(bytes.clone()).unwrap().replacen(
            "\"format_version\":1",
            "\"format_version\":0",
            1,
        );
        assert!(matches!(
            ChannelModel::from_json(old.as_bytes()),
            Err(ModelsError::FormatVersion {
                found: 0,
                expected: 1
            })
        ));
        assert!(ChannelModel::from_json(&bytes[..bytes.len() / 2]).is_err());
    }

    #[test]
    fn ewma_winsorises_spikes() {
        let mut e = Ewma::default();
        for _ in 0..100 {
            e.update(1.0, 50.0);
            e.update(1.2, 50.0);
        }
        let before = e.mean;
        e.update(1000.0, 50.0);
        assert!(e.mean - before < 0.1, "{} -> {}", before, e.mean);
    }
}
