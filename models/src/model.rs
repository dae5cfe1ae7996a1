//! The per-channel model: trailing levels and reaction lexicon ([`Levels`]), scaler, Isolation
//! Forest and training buffer.
//!
//! [`ChannelModel::assess`] turns a window into its scale-free [`Evidence`] and an anomaly score
//! (how novel the window's combination of evidence is for this channel), then learns from it
//! (levels, lexicon, training buffer). Refitting is split so
//! that it never stalls scoring: [`ChannelModel::training_job`] takes a snapshot that can be fitted
//! anywhere (inline in replay, on a blocking thread live, in a Lambda) and
//! [`ChannelModel::install`] swaps the result in.
//!
//! The numeric side is ndarray, with linfa's traits: the training buffer is one `Array2<f64>`
//! used as a ring ([`TrainingRing`], one row per window, columns in [`FEATURE_NAMES`] order), a
//! [`TrainingJob`] carries an `Array2` snapshot, the [`StandardScaler`] fits on it and scales it
//! in place (linfa's [`Transformer`]), and the Isolation Forest fits on a linfa `DatasetBase` of
//! it. Scoring a window ([`Fitted::score`]) scales into a stack buffer and predicts on an
//! `ArrayView1` over it: no allocation per window. Saved files keep format 2 unchanged: the
//! buffer is still written, and read, as a JSON array of rows (`"buffer":[[...],[...]]`, oldest
//! first).

use crate::error::{ModelsError, Result};
use crate::evidence::{Evidence, EvidenceConfig, Levels};
use crate::iforest::{IsolationForest, IsolationForestParams};
use crate::window::WindowFeatures;
use linfa::traits::{Fit, Predict, Transformer};
use linfa::DatasetBase;
use ndarray::{Array2, ArrayBase, ArrayView1, Axis, Data, Ix2, Slice};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Version of the serialised model; a file of another version is refused with a clear error.
/// Format 1 (z-score baseline) files are migrated on load: learned emotes and counters are
/// kept, the baseline and forest start afresh on the new evidence.
pub const MODEL_FORMAT_VERSION: u32 = 2;

/// Largest model file accepted (a full channel's model is a few MB).
pub const MAX_MODEL_BYTES: usize = 64 << 20;

/// Names of the features the anomaly model sees, in vector order.
pub const FEATURE_NAMES: [&str; 16] = [
    "act5",
    "act20",
    "act60",
    "chat20",
    "react",
    "conc",
    "laugh",
    "hype",
    "question",
    "emote_msg_share",
    "top_emote_chatters",
    "elongated_share",
    "caps_ratio",
    "dup_share",
    "log_mean_len",
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
    /// The forest is first fitted once this many active windows were seen (then again each
    /// time the buffer has doubled, until `refit_every`); until then it adds nothing.
    /// Default 36 (3 min).
    pub warmup_windows: usize,
    /// Refit after this many new windows. Default 720 (1 h).
    pub refit_every: usize,
    /// Half-life, in windows, of the content levels (EWMA). Default 360 (30 min).
    pub baseline_halflife: f64,
    /// Seed of the forest (each refit derives its own from it).
    pub seed: u64,
    /// The scale-free evidence layer (levels, lexicon).
    pub evidence: EvidenceConfig,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            n_trees: 100,
            max_samples: 256,
            buffer_windows: 4_320,
            warmup_windows: 36,
            refit_every: 720,
            baseline_halflife: 360.0,
            seed: 0x5EED,
            evidence: EvidenceConfig::default(),
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

/// The anomaly model's input for one window, in [`FEATURE_NAMES`] order: the scale-free
/// evidence plus a few shape features, so the forest judges how unusual the *combination* is
/// for this channel (a rate spike with ordinary content, content with ordinary rate).
pub fn feature_vector(w: &WindowFeatures, e: &Evidence) -> [f64; FEATURE_NAMES.len()] {
    let clamp = |z: f64| z.clamp(-10.0, 10.0);
    [
        clamp(e.act5),
        clamp(e.act20),
        clamp(e.act60),
        clamp(e.chat20),
        clamp(e.react),
        clamp(e.conc),
        clamp(e.laugh),
        clamp(e.hype),
        clamp(e.question),
        w.emote_msg_share,
        w.top_emote_chatters,
        w.elongated_share,
        w.caps_ratio,
        w.dup_share,
        ((w.mean_len + 1.0).ln()).clamp(0.0, 6.0),
        w.sentiment,
    ]
}

/// Per-feature standardisation fitted with the forest: `(x - mean) / scale`, with `scale` the
/// population standard deviation, or 1 for a feature without variance (so a constant feature
/// maps to about 0, up to the rounding of its mean, never to `NaN`).
///
/// Ours, on ndarray, rather than `linfa-preprocessing`'s `LinearScaler::standard`, which would do
/// the same (it also maps a zero deviation to 1) but pulls in `linfa-linalg`, `ndarray-stats`,
/// `ndarray-rand`, `regex`, `encoding` and `unicode-normalization` (and `serde_regex` for serde)
/// for these few lines, serialises differently (ndarray's `{"v","dim","data"}` arrays, so saved
/// models would need migrating), and scales one sample only as an owned `Array2`, an allocation
/// per window where [`StandardScaler::transform_into`] writes into a caller's buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl StandardScaler {
    /// Fits on the rows of `records` (one sample per row).
    ///
    /// # Errors
    /// [`ModelsError::EmptyTrainingSet`] for no rows.
    pub fn fit<D: Data<Elem = f64>>(records: &ArrayBase<D, Ix2>) -> Result<Self> {
        let (n, d) = records.dim();
        if n == 0 {
            return Err(ModelsError::EmptyTrainingSet);
        }
        // Row by row, in order: the same sums as the scaler had over `Vec` rows.
        let n = n as f64;
        let mut mean = vec![0.0; d];
        for r in records.rows() {
            for (m, x) in mean.iter_mut().zip(r) {
                *m += x / n;
            }
        }
        let mut var = vec![0.0; d];
        for r in records.rows() {
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

    /// Scales one sample into `out` (allocation-free).
    pub fn transform_into(&self, x: &[f64], out: &mut [f64]) {
        for (((o, x), m), s) in out.iter_mut().zip(x).zip(&self.mean).zip(&self.scale) {
            *o = (x - m) / s;
        }
    }
}

/// Scales a batch in place (columns beyond the fitted dimension are left as they are).
impl Transformer<Array2<f64>, Array2<f64>> for StandardScaler {
    fn transform(&self, mut records: Array2<f64>) -> Array2<f64> {
        for mut row in records.rows_mut() {
            for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *x = (*x - m) / s;
            }
        }
        records
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
    /// Training rows the forest was fitted on.
    #[serde(default)]
    pub trained_rows: usize,
}

impl Fitted {
    /// Raw Isolation Forest score (0..1, higher is more anomalous) of a feature vector.
    ///
    /// Allocation-free: the vector is scaled into a stack buffer and scored through an
    /// `ArrayView1` over it (see the `scoring_allocs` test).
    pub fn score(&self, x: &[f64]) -> f64 {
        let mut buf = [0.0; FEATURE_NAMES.len()];
        let n = x.len().min(buf.len());
        self.scaler.transform_into(&x[..n], &mut buf[..n]);
        self.forest.predict(&ArrayView1::from(&buf[..n]))
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
    /// The training windows, oldest first, one row each ([`FEATURE_NAMES`] columns).
    pub rows: Array2<f64>,
    pub params: IsolationForestParams,
}

impl TrainingJob {
    /// Fit scaler and forest. Pure and deterministic.
    pub fn run(self) -> Result<Fitted> {
        let scaler = StandardScaler::fit(&self.rows)?;
        let trained_rows = self.rows.nrows();
        let train = DatasetBase::from(scaler.transform(self.rows));
        let forest: IsolationForest = self.params.fit(&train)?;
        // The score spread comes from an even subsample: enough for a median and a 99th
        // percentile, and it keeps refits cheap on a full buffer.
        // (ndarray's `s!` expands to code that `forbid(unsafe_code)` rejects: no `s!` here.)
        let step = (trained_rows / 512).max(1) as isize;
        // Copied to a standard layout so the forest walks it row by row as slices.
        let sample = train
            .records
            .slice_axis(Axis(0), Slice::from(..).step_by(step))
            .as_standard_layout()
            .into_owned();
        let mut scores = forest.predict(&sample).into_raw_vec_and_offset().0;
        scores.sort_unstable_by(f64::total_cmp);
        let q = |p: f64| scores[((scores.len() - 1) as f64 * p).round() as usize];
        Ok(Fitted {
            score_median: q(0.5),
            score_p99: q(0.99),
            trained_on: scores.len(),
            trained_rows,
            scaler,
            forest,
        })
    }
}

/// The training buffer: the last windows' feature vectors, one row each, in one `Array2` used
/// as a ring.
///
/// Rows are appended until the capacity is reached (amortised growth; the array is then
/// compacted to exactly the capacity), after which each new window overwrites the oldest row,
/// at `head`. Serialises as a JSON array of rows, oldest first, which is what format 2 wrote
/// for its `VecDeque<Vec<f64>>`: files stay readable both ways.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRing {
    rows: Array2<f64>,
    /// Index of the oldest row (0 until the ring has wrapped).
    head: usize,
}

impl Default for TrainingRing {
    fn default() -> Self {
        TrainingRing {
            rows: Array2::zeros((0, FEATURE_NAMES.len())),
            head: 0,
        }
    }
}

impl TrainingRing {
    /// Number of windows held.
    pub fn len(&self) -> usize {
        self.rows.nrows()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.nrows() == 0
    }

    /// Width of the rows (what a decoded file held; [`FEATURE_NAMES`]`.len()` otherwise).
    pub fn n_features(&self) -> usize {
        self.rows.ncols()
    }

    /// Adds a window, overwriting the oldest once `capacity` windows are held.
    fn push(&mut self, x: &[f64; FEATURE_NAMES.len()], capacity: usize) {
        let x = ArrayView1::from(x);
        if self.rows.ncols() != x.len() {
            // Only a file decoded without `ChannelModel::from_json`'s checks gets here.
            *self = TrainingRing::default();
        }
        let n = self.rows.nrows();
        if n < capacity.max(1) {
            if self.rows.push_row(x).is_err() {
                // Not reachable: the widths match. Start afresh rather than panic.
                *self = TrainingRing::default();
                return;
            }
            if n + 1 == capacity {
                // Drop the growth slack: a full ring holds exactly `capacity` rows.
                self.rows = self.rows.to_owned();
            }
        } else {
            self.rows.row_mut(self.head).assign(&x);
            self.head = (self.head + 1) % n;
        }
    }

    /// The rows in order, oldest first.
    fn oldest_first(&self) -> impl Iterator<Item = ArrayView1<'_, f64>> {
        let n = self.rows.nrows();
        (0..n).map(move |i| self.rows.row((self.head + i) % n))
    }

    /// A copy of the rows, oldest first.
    fn to_array(&self) -> Array2<f64> {
        if self.head == 0 {
            return self.rows.clone();
        }
        let (old, new) = self.rows.view().split_at(Axis(0), self.head);
        // Same width, so concatenating cannot fail; fall back to ring order if it did.
        ndarray::concatenate(Axis(0), &[new, old]).unwrap_or_else(|_| self.rows.clone())
    }
}

impl Serialize for TrainingRing {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        struct Row<'a>(ArrayView1<'a, f64>);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter())
            }
        }
        serializer.collect_seq(self.oldest_first().map(Row))
    }
}

impl<'de> Deserialize<'de> for TrainingRing {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let rows = Vec::<Vec<f64>>::deserialize(deserializer)?;
        let d = rows.first().map_or(FEATURE_NAMES.len(), Vec::len);
        let mut flat = Vec::with_capacity(rows.len() * d);
        for r in &rows {
            if r.len() != d {
                return Err(D::Error::custom(format!(
                    "training buffer rows of differing lengths ({d} and {})",
                    r.len()
                )));
            }
            flat.extend_from_slice(r);
        }
        let rows = Array2::from_shape_vec((rows.len(), d), flat).map_err(D::Error::custom)?;
        Ok(TrainingRing { rows, head: 0 })
    }
}

/// What the model says of one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub evidence: Evidence,
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
    pub levels: Levels,
    pub fitted: Option<Fitted>,
    buffer: TrainingRing,
    pub windows_seen: u64,
    since_fit: u64,
    pub fits: u32,
    /// The channel's own score distribution (adaptive threshold).
    #[serde(default)]
    pub score_level: crate::decision::ScoreLevel,
    /// Emotes the channel's vocabulary learned from chat (kept between runs).
    #[serde(default)]
    pub learned_emotes: Vec<String>,
    /// End of the latest window learned (event time): a trainer re-reading windows it already
    /// learned (a run that timed out after saving) skips them instead of counting them twice.
    #[serde(default)]
    pub learned_until_ms: Option<crate::message::Millis>,
    #[serde(skip)]
    job_out: bool,
}

impl ChannelModel {
    pub fn new(channel: &str, config: ModelConfig) -> Self {
        ChannelModel {
            format_version: MODEL_FORMAT_VERSION,
            channel: channel.to_owned(),
            config,
            levels: Levels::default(),
            score_level: Default::default(),
            fitted: None,
            buffer: TrainingRing::default(),
            windows_seen: 0,
            since_fit: 0,
            fits: 0,
            learned_emotes: Vec::new(),
            learned_until_ms: None,
            job_out: false,
        }
    }

    /// Whether `w` ends after every window this model learned (so it is new to it).
    pub fn is_new(&self, w: &WindowFeatures) -> bool {
        self.learned_until_ms.is_none_or(|t| w.end_ms > t)
    }

    /// Score a window against what the channel has shown so far, then learn from it.
    pub fn assess(&mut self, w: &WindowFeatures) -> Assessment {
        let evidence = self.levels.evidence(w, &self.config.evidence);
        let x = feature_vector(w, &evidence);
        let anomaly = self.fitted.as_ref().map(|f| f.score(&x));
        let anomaly_rel = match (&self.fitted, anomaly) {
            (Some(f), Some(s)) => f.relative(s),
            _ => 0.0,
        };
        self.levels
            .learn(w, &self.config.evidence, self.config.baseline_halflife);
        self.learned_until_ms = Some(self.learned_until_ms.map_or(w.end_ms, |t| t.max(w.end_ms)));
        if evidence.warm && w.messages > 0 && x.iter().all(|v| v.is_finite()) {
            self.buffer.push(&x, self.config.buffer_windows);
            self.windows_seen += 1;
            self.since_fit += 1;
        }
        Assessment {
            evidence,
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
        match &self.fitted {
            None => warm,
            // Early on, refit each time the buffer has doubled (3, 6, 12, ... min), so that
            // a new channel's forest soon knows more than its first minutes.
            Some(f) => {
                warm && (self.since_fit >= self.config.refit_every as u64
                    || (self.buffer.len() < self.config.refit_every
                        && self.buffer.len() >= 2 * f.trained_rows.max(1)))
            }
        }
    }

    /// Snapshot of the training buffer to fit; scoring goes on with the old forest meanwhile.
    pub fn training_job(&mut self) -> TrainingJob {
        self.job_out = true;
        self.since_fit = 0;
        self.fits += 1;
        let seed = self.config.seed ^ u64::from(self.fits).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        TrainingJob {
            rows: self.buffer.to_array(),
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

    /// A format-1 file (z-score baseline, older forest features): keep what still means the
    /// same (learned emotes, counters, settings); levels and forest start afresh.
    fn migrate_v1(bytes: &[u8]) -> Result<Self> {
        #[derive(Deserialize)]
        struct V1 {
            channel: String,
            #[serde(default)]
            config: Option<serde_json::Value>,
            #[serde(default)]
            windows_seen: u64,
            #[serde(default)]
            learned_emotes: Vec<String>,
        }
        let old: V1 = serde_json::from_slice(bytes)?;
        let config = old
            .config
            .and_then(|v| serde_json::from_value::<ModelConfig>(v).ok())
            .map(|c| ModelConfig {
                warmup_windows: ModelConfig::default().warmup_windows,
                ..c
            })
            .unwrap_or_default();
        let mut m = ChannelModel::new(&old.channel, config);
        m.windows_seen = old.windows_seen;
        m.learned_emotes = old.learned_emotes;
        Ok(m)
    }

    pub fn to_json(&self) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(self)?)
    }

    /// Decode a saved model. A file of another format version, or one that does not decode or
    /// is inconsistent, is an error: callers log it and start a fresh model.
    ///
    /// Absurd content is refused before it can cost anything: files over
    /// [`MAX_MODEL_BYTES`], settings outside [`ModelConfig::validate`]'s ranges (a forest of
    /// 10⁷ trees would hang the next refit), forests whose trees break their invariants.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
        }
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(ModelsError::Inconsistent(format!(
                "model file of {} bytes (at most {MAX_MODEL_BYTES})",
                bytes.len()
            )));
        }
        let header: Header = serde_json::from_slice(bytes)?;
        if header.format_version == 1 {
            let m = Self::migrate_v1(bytes)?;
            m.config.validate()?;
            return Ok(m);
        }
        if header.format_version != MODEL_FORMAT_VERSION {
            return Err(ModelsError::FormatVersion {
                found: header.format_version,
                expected: MODEL_FORMAT_VERSION,
            });
        }
        let model: ChannelModel = serde_json::from_slice(bytes)?;
        model.config.validate()?;
        if let Some(f) = &model.fitted {
            if f.forest.n_trees() > 1_000 {
                return Err(ModelsError::Inconsistent(format!(
                    "forest of {} trees (at most 1,000)",
                    f.forest.n_trees()
                )));
            }
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
        if !model.buffer.is_empty() && model.buffer.n_features() != FEATURE_NAMES.len() {
            return Err(ModelsError::Inconsistent(format!(
                "training buffer rows of the wrong size: {}, expected {}",
                model.buffer.n_features(),
                FEATURE_NAMES.len()
            )));
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
        // First fit at 36 warm windows, again at 72.
        assert_eq!(m.fits, 2);
        let mut spike = steady_windows(1).remove(0);
        spike.rate = 40.0;
        spike.rate_20s = 30.0;
        spike.rate_60s = 15.0;
        spike.laugh_share = 0.9;
        spike.messages = 200;
        spike.chatters = 150;
        spike.chatters_20s = 160;
        let a = m.assess(&spike);
        assert!(a.evidence.act5 > 2.0, "{:?}", a.evidence);
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
        let x = feature_vector(w, &Evidence::default());
        assert_eq!(
            back.fitted.as_ref().unwrap().score(&x),
            m.fitted.as_ref().unwrap().score(&x)
        );

        assert!(matches!(
            ChannelModel::from_json(b"{not json"),
            Err(ModelsError::Corrupt(_))
        ));
        let old = String::from_utf8(bytes.clone()).unwrap().replacen(
            "\"format_version\":2",
            "\"format_version\":0",
            1,
        );
        assert!(matches!(
            ChannelModel::from_json(old.as_bytes()),
            Err(ModelsError::FormatVersion {
                found: 0,
                expected: 2
            })
        ));
        assert!(ChannelModel::from_json(&bytes[..bytes.len() / 2]).is_err());
        // Absurd settings fail at load, at once, instead of at the next refit.
        let json = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            json.contains("\"n_trees\":100"),
            "the config is saved with the model"
        );
        let absurd = json.replacen("\"n_trees\":100", "\"n_trees\":10000000", 1);
        let t = std::time::Instant::now();
        let e = ChannelModel::from_json(absurd.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("model.n_trees"), "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        let huge = vec![b' '; MAX_MODEL_BYTES + 1];
        assert!(matches!(
            ChannelModel::from_json(&huge),
            Err(ModelsError::Inconsistent(_))
        ));
    }

    #[test]
    fn format_1_files_are_migrated() {
        // The shape format 1 wrote: z-score baseline, 16 older forest features.
        let v1 = br#"{"format_version":1,"channel":"kimdoe","config":{"n_trees":100,
            "max_samples":256,"buffer_windows":4320,"warmup_windows":120,"refit_every":720,
            "baseline_halflife":360.0,"seed":24301},"baseline":{"rate":{"n":5,"mean":1.0,
            "var":0.5}},"fitted":null,"buffer":[[1.0,2.0]],"windows_seen":777,"since_fit":3,
            "fits":2,"learned_emotes":["kimdoeWA","kimdoeOOPS"]}"#;
        let m = ChannelModel::from_json(v1).unwrap();
        assert_eq!(m.format_version, MODEL_FORMAT_VERSION);
        assert_eq!((m.channel.as_str(), m.windows_seen), ("kimdoe", 777));
        assert_eq!(m.learned_emotes, ["kimdoeWA", "kimdoeOOPS"]);
        assert!(m.fitted.is_none() && m.buffered() == 0);
        assert_eq!(
            m.config.warmup_windows,
            ModelConfig::default().warmup_windows
        );
        // And it saves as the current format.
        let again = ChannelModel::from_json(&m.to_json().unwrap()).unwrap();
        assert_eq!(again.learned_emotes, m.learned_emotes);
    }

    #[test]
    fn format_2_files_with_the_vecdeque_buffer_load() {
        // Written by the build whose buffer was a `VecDeque<Vec<f64>>` (4 trees, 40-window
        // buffer that had wrapped), with a probe vector and the score that build gave it.
        let fixture: serde_json::Value =
            serde_json::from_slice(include_bytes!("../tests/fixtures/model_v2_vecdeque.json"))
                .unwrap();
        let bytes = serde_json::to_vec(&fixture["model"]).unwrap();
        let mut m = ChannelModel::from_json(&bytes).unwrap();
        let rows: Vec<Vec<f64>> =
            serde_json::from_value(fixture["model"]["buffer"].clone()).unwrap();
        assert_eq!((m.buffered(), rows.len()), (40, 40));
        let job = m.training_job();
        for (got, want) in job.rows.rows().into_iter().zip(&rows) {
            assert_eq!(got.to_vec(), *want);
        }
        let probe: Vec<f64> = serde_json::from_value(fixture["probe"].clone()).unwrap();
        let score = m.fitted.as_ref().unwrap().score(&probe);
        assert_eq!(score, fixture["score"].as_f64().unwrap());
        // Saved again, the buffer and forest are written as they were read.
        let again: serde_json::Value = serde_json::from_slice(&m.to_json().unwrap()).unwrap();
        assert_eq!(again["buffer"], fixture["model"]["buffer"]);
        assert_eq!(again["fitted"], fixture["model"]["fitted"]);
        // And it goes on learning: the ring is full, new windows replace the oldest.
        m.install(job.run()).unwrap();
        for w in steady_windows(20) {
            m.assess(&w);
        }
        assert_eq!(m.buffered(), 40);
    }

    #[test]
    fn training_ring_keeps_window_order_across_wraps() {
        let row = |k: usize| -> [f64; FEATURE_NAMES.len()] {
            std::array::from_fn(|j| (k * 100 + j) as f64)
        };
        let mut ring = TrainingRing::default();
        for k in 0..5 {
            ring.push(&row(k), 5);
        }
        assert_eq!((ring.len(), ring.head), (5, 0));
        for k in 5..12 {
            ring.push(&row(k), 5);
        }
        assert_eq!((ring.len(), ring.head), (5, 2));
        let oldest_first: Vec<f64> = ring.to_array().column(0).to_vec();
        assert_eq!(oldest_first, [700.0, 800.0, 900.0, 1000.0, 1100.0]);
        // Serialised oldest first, as format 2's deque was; read back unwrapped.
        let json = serde_json::to_string(&ring).unwrap();
        assert!(json.starts_with("[[700.0,701.0,"), "{json}");
        let back: TrainingRing = serde_json::from_str(&json).unwrap();
        assert_eq!(back.head, 0);
        assert_eq!(back.to_array(), ring.to_array());
        // A full ring holds exactly its capacity.
        let mut big = TrainingRing::default();
        for k in 0..300 {
            big.push(&row(k), 200);
        }
        assert_eq!(big.len(), 200);
        assert_eq!(big.to_array()[[0, 0]], 10_000.0);
        // Capacity 0 behaves as 1, as the deque did.
        let mut one = TrainingRing::default();
        one.push(&row(1), 0);
        one.push(&row(2), 0);
        assert_eq!(one.to_array().column(0).to_vec(), [200.0]);
    }

    #[test]
    fn buffer_rows_of_the_wrong_size_are_refused() {
        let mut m = ChannelModel::new("c", ModelConfig::default());
        for w in steady_windows(60) {
            m.assess(&w);
        }
        assert!(m.buffered() > 0);
        let mut v: serde_json::Value = serde_json::from_slice(&m.to_json().unwrap()).unwrap();
        v["buffer"] = serde_json::json!([[1.0, 2.0], [3.0, 4.0]]);
        assert!(matches!(
            ChannelModel::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(ModelsError::Inconsistent(_))
        ));
        v["buffer"] = serde_json::json!([[1.0, 2.0], [3.0]]);
        assert!(matches!(
            ChannelModel::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(ModelsError::Corrupt(_))
        ));
        v["buffer"] = serde_json::json!([]);
        let empty = ChannelModel::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(empty.buffered(), 0);
    }

    #[test]
    fn scaler_maps_constant_features_near_zero() {
        let rows = Array2::from_shape_fn((50, 3), |(i, j)| match j {
            0 => i as f64,
            1 => 7.0,
            _ => -(i as f64) / 10.0,
        });
        let scaler = StandardScaler::fit(&rows).unwrap();
        assert_eq!(scaler.scale[1], 1.0);
        let scaled = scaler.transform(rows.clone());
        assert!(scaled.iter().all(|v| v.is_finite()));
        assert!(scaled.column(1).iter().all(|&v| v.abs() < 1e-12));
        let mean0 = scaled.column(0).sum() / 50.0;
        let var0 = scaled.column(0).mapv(|v| v * v).sum() / 50.0;
        assert!(mean0.abs() < 1e-12 && (var0 - 1.0).abs() < 1e-12);
        // One sample scales as its row of the batch.
        let mut out = [0.0; 3];
        scaler.transform_into(&[10.0, 7.0, -1.0], &mut out);
        assert_eq!(out.to_vec(), scaled.row(10).to_vec());
        assert!(matches!(
            StandardScaler::fit(&Array2::<f64>::zeros((0, 3))),
            Err(ModelsError::EmptyTrainingSet)
        ));
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
