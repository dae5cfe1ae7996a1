//! Evaluation: replay chat files against human labels and print the scores defined in the data's
//! README, beside the whole family of simple message-count z-score rules computed in the same
//! run (the best of them per measure, with its configuration).
//!
//! Two label forms: `vod_id,offset_s` (a hot clip starts there; measured as recall under a clip
//! budget) and `vod_id,start_s,end_s` (highlight intervals; precision, recall, F1, and precision
//! at a budget beside chance). A stream's id is its file name without extension.
//!
//! Besides where a detection fires, the span of the stream its clip would hold is scored:
//! whether a hot clip's start lies inside a kept clip (`contain@4/h`), and whether a kept clip
//! overlaps a highlight interval (`overlap@4/h`).
//!
//! A third input, chat spikes labelled by reaction (`--spikes`, chatinterpreter JSONL), is
//! scored by ROC AUC: does a spike's score rank the clip-worthy spikes first?

use crate::chart::{self, Timeline};
use crate::error::{RelayError, Result};
use crate::input::ChatReader;
use crate::replay::{self, thin_keeps, ReplayClip, ReplayOptions, ReplaySink, Thin};
use clipper_models::decision::{Ablation, CAPTURE_LAG_MS};
use clipper_models::pipeline::ScoredWindow;
use clipper_models::{
    ChannelDetector, ChatMessage, ClipDecision, DetectorConfig, Output, Training,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Human labels of some streams.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// Hot-clip start offsets per stream.
    Points(HashMap<String, Vec<f64>>),
    /// Highlight intervals per stream.
    Intervals(HashMap<String, Vec<(f64, f64)>>),
}

/// The whole text of a labels file.
fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| RelayError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The error for line `line` of labels file `path`.
fn bad_line(path: &Path) -> impl Fn(usize, String) -> RelayError + '_ {
    |line, reason| RelayError::Labels {
        path: path.to_owned(),
        line,
        reason,
    }
}

/// Read a labels CSV (header `vod_id,offset_s` or `vod_id,start_s,end_s`).
pub fn load_labels(path: &Path) -> Result<Labels> {
    let text = read_text(path)?;
    let bad = bad_line(path);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| RelayError::EmptyFile {
        path: path.to_owned(),
    })?;
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let intervals = match cols.as_slice() {
        [_, "offset_s"] => false,
        [_, "start_s", "end_s"] => true,
        _ => {
            return Err(bad(
                1,
                format!(
                    "expected header `vod_id,offset_s` or `vod_id,start_s,end_s`, got {header:?}"
                ),
            ))
        }
    };
    let mut points: HashMap<String, Vec<f64>> = HashMap::new();
    let mut spans: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
    for (i, line) in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |s: &str| {
            s.parse::<f64>()
                .map_err(|e| bad(i + 1, format!("{s:?}: {e}")))
        };
        match (intervals, f.as_slice()) {
            (false, [id, o]) => points.entry((*id).to_owned()).or_default().push(num(o)?),
            (true, [id, s, e]) => spans
                .entry((*id).to_owned())
                .or_default()
                .push((num(s)?, num(e)?)),
            _ => {
                return Err(bad(
                    i + 1,
                    format!(
                        "expected {} fields: {line:?}",
                        if intervals { 3 } else { 2 }
                    ),
                ))
            }
        }
    }
    Ok(if intervals {
        Labels::Intervals(spans)
    } else {
        Labels::Points(points)
    })
}

/// One detection: chat time (s), its score, and the span of the stream its clip would hold
/// (start, end; same clock as `t`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    pub t: f64,
    pub score: f64,
    pub span: (f64, f64),
}

/// What the evaluation keeps of one stream.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub id: String,
    pub path: PathBuf,
    pub seconds: f64,
    pub ours: Vec<Detection>,
    /// Detections of each rule of [`RULES`], in that order.
    pub rules: Vec<Vec<Detection>>,
    /// (window end s, msgs/s, combined score) for charts.
    pub windows: Vec<(f64, f64, f64)>,
}

impl Stream {
    /// Detections of the README's reference rule (20 s, z ≥ 2); empty before the rules ran.
    pub fn reference_rule(&self) -> &[Detection] {
        self.rules.get(REFERENCE_RULE).map_or(&[], Vec::as_slice)
    }

    /// What its chart shows, with the labels of this stream.
    pub fn timeline<'a>(&'a self, labels: &'a Labels) -> Timeline<'a> {
        let (label_points, label_spans) = match labels {
            Labels::Points(p) => (p.get(&self.id).map_or(&[][..], Vec::as_slice), &[][..]),
            Labels::Intervals(iv) => (&[][..], iv.get(&self.id).map_or(&[][..], Vec::as_slice)),
        };
        Timeline {
            id: &self.id,
            seconds: self.seconds,
            windows: &self.windows,
            label_points,
            label_spans,
            rule_firings: self.reference_rule().iter().map(|d| d.t).collect(),
            clips: self.ours.iter().map(|d| (d.t, d.score, d.span)).collect(),
        }
    }
}

// --- The simple rules --------------------------------------------------------------------------

/// A simple message-count rule: messages in the last `window_s` seconds against the
/// `window_s`-second counts of the trailing [`RULE_TRAIL_S`] seconds before them, firing at
/// z ≥ `z` with a [`RULE_COOLDOWN_S`] cooldown, scored by z.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rule {
    pub window_s: usize,
    pub z: f64,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} s, z≥{}", self.window_s, self.z)
    }
}

/// The family the detector is compared with: W ∈ {5, 10, 20} s × Z ∈ {2, 3, 4}.
pub const RULES: [Rule; 9] = [
    Rule {
        window_s: 5,
        z: 2.0,
    },
    Rule {
        window_s: 5,
        z: 3.0,
    },
    Rule {
        window_s: 5,
        z: 4.0,
    },
    Rule {
        window_s: 10,
        z: 2.0,
    },
    Rule {
        window_s: 10,
        z: 3.0,
    },
    Rule {
        window_s: 10,
        z: 4.0,
    },
    Rule {
        window_s: 20,
        z: 2.0,
    },
    Rule {
        window_s: 20,
        z: 3.0,
    },
    Rule {
        window_s: 20,
        z: 4.0,
    },
];

/// Index in [`RULES`] of the data README's reference rule (20 s, z ≥ 2).
pub const REFERENCE_RULE: usize = 6;
/// History a rule compares its window with (s).
pub const RULE_TRAIL_S: usize = 300;
/// No second firing of a rule within this long (s).
pub const RULE_COOLDOWN_S: usize = 30;
/// The clip a rule firing at `t` would make, with the detector's geometry today: Create Clip
/// 7 s after `t`, the clip ends [`CAPTURE_LAG_MS`] after the call and lasts 30 s, so it holds
/// `[t + RULE_SPAN.0, t + RULE_SPAN.1]` = `[t − 18, t + 12]`.
pub const RULE_SPAN: (f64, f64) = (
    (7_000 + CAPTURE_LAG_MS - 30_000) as f64 / 1000.0,
    (7_000 + CAPTURE_LAG_MS) as f64 / 1000.0,
);

fn rule_detection(t: usize, z: f64) -> Detection {
    let t = t as f64;
    Detection {
        t,
        score: z,
        span: (t + RULE_SPAN.0, t + RULE_SPAN.1),
    }
}

/// One simple rule on per-second message counts: x[t] = messages in seconds (t − W, t], against
/// the mean and standard deviation (at least 1) of x over the [`RULE_TRAIL_S`] values before
/// t − W; fires at z ≥ `z_min` unless within [`RULE_COOLDOWN_S`] of its last firing.
#[allow(clippy::needless_range_loop)] // t indexes several arrays at once
pub fn zscore_rule(per_second: &[u32], window_s: usize, z_min: f64) -> Vec<Detection> {
    let w = window_s.max(1);
    let n = per_second.len();
    let mut prefix = vec![0u64; n + 1];
    for (i, c) in per_second.iter().enumerate() {
        prefix[i + 1] = prefix[i] + u64::from(*c);
    }
    // x[t] = messages in (t-W, t]
    let x: Vec<f64> = (0..n)
        .map(|t| (prefix[t + 1] - prefix[(t + 1).saturating_sub(w)]) as f64)
        .collect();
    let mut px = vec![0f64; n + 1];
    let mut pxx = vec![0f64; n + 1];
    for t in 0..n {
        px[t + 1] = px[t] + x[t];
        pxx[t + 1] = pxx[t] + x[t] * x[t];
    }
    let mut out: Vec<Detection> = Vec::new();
    let mut cooldown_until = 0usize;
    for t in (w + RULE_TRAIL_S)..n {
        let (a, b) = (t - w - RULE_TRAIL_S, t - w);
        let m = (b - a) as f64;
        let mean = (px[b] - px[a]) / m;
        let var = ((pxx[b] - pxx[a]) / m - mean * mean).max(0.0);
        let sd = var.sqrt().max(1.0);
        let z = (x[t] - mean) / sd;
        if z >= z_min && t >= cooldown_until {
            out.push(rule_detection(t, z));
            cooldown_until = t + RULE_COOLDOWN_S;
        }
    }
    out
}

/// The README's reference rule: 20 s window, z ≥ 2.
pub fn zscore_baseline(per_second: &[u32]) -> Vec<Detection> {
    let r = RULES[REFERENCE_RULE];
    zscore_rule(per_second, r.window_s, r.z)
}

/// Every rule of [`RULES`] on one stream's per-second counts, in that order.
pub fn all_rules(per_second: &[u32]) -> Vec<Vec<Detection>> {
    RULES
        .iter()
        .map(|r| zscore_rule(per_second, r.window_s, r.z))
        .collect()
}

/// Longest stream the rules are computed on (their per-second arrays grow with it): 14 days.
const MAX_STREAM_S: usize = 14 * 86_400;

/// Per-second message counts of a file (for the rules), on the file's own clock, counting only
/// the chatters that thinning to 1 in `thin` keeps.
fn per_second_counts(path: &Path, channel: &str, thin: Option<Thin>) -> Result<Vec<u32>> {
    let mut reader = ChatReader::open(path, channel)?;
    let mut counts: Vec<u32> = Vec::new();
    let mut origin: Option<i64> = None;
    let tsv = reader.format() == crate::input::ChatFormat::Tsv;
    for m in reader.by_ref() {
        let o = *origin.get_or_insert(if tsv { 0 } else { m.time_ms });
        if !thin_keeps(thin, m.user_key()) {
            continue;
        }
        let s = (m.time_ms.saturating_sub(o).max(0) / 1000) as usize;
        if s > MAX_STREAM_S {
            return Err(RelayError::Invalid(format!(
                "{}: a message {s} s after the start; eval compares streams of at most {} days \
                 (is the offset column in seconds?)",
                path.display(),
                MAX_STREAM_S / 86_400
            )));
        }
        if s >= counts.len() {
            counts.resize(s + 1, 0);
        }
        counts[s] += 1;
    }
    if let Some(e) = reader.take_error() {
        return Err(e);
    }
    Ok(counts)
}

// --- Scores ------------------------------------------------------------------------------------

fn top_k(dets: &[Detection], k: usize) -> Vec<Detection> {
    let mut v = dets.to_vec();
    v.sort_by(|a, b| b.score.total_cmp(&a.score));
    v.truncate(k);
    v
}

fn budget_k(budget: f64, seconds: f64) -> usize {
    ((budget * seconds / 3600.0).floor() as usize).max(1)
}

fn inside(o: f64, span: (f64, f64)) -> bool {
    span.0 <= o && o <= span.1
}

/// Whether a clip span overlaps the interval `[s, e]` by at least min(10 s, e − s).
pub fn overlaps_enough(span: (f64, f64), (s, e): (f64, f64)) -> bool {
    let ov = span.1.min(e) - span.0.max(s);
    ov >= 0.0 && ov >= (e - s).clamp(0.0, 10.0)
}

/// One headline measure of a score set (higher is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    /// JSON field name.
    pub key: &'static str,
    /// Column name in the text report.
    pub name: &'static str,
    pub value: f64,
    /// Numerator and denominator, when a small count makes the share worth seeing.
    pub of: Option<(usize, usize)>,
}

impl Measure {
    pub fn new(
        key: &'static str,
        name: &'static str,
        value: f64,
        of: Option<(usize, usize)>,
    ) -> Self {
        Measure {
            key,
            name,
            value,
            of,
        }
    }
}

/// Recall of point labels at a clip budget, as the data README defines it, and where the kept
/// clips' spans fall.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PointScores {
    pub recall_at_2: f64,
    pub recall_at_4: f64,
    pub recall_at_8: f64,
    pub caught_at_4: usize,
    pub labels: usize,
    pub clips_per_hour: f64,
    /// Share of all labels whose offset lies inside the span of a clip kept at 4/h.
    pub contain_at_4: f64,
    pub contained_at_4: usize,
    /// Among the labels caught at 4/h, the share whose offset lies inside a kept clip's span.
    pub contained_of_caught_at_4: f64,
    pub caught_contained_at_4: usize,
}

pub fn score_points<F>(
    streams: &[Stream],
    labels: &HashMap<String, Vec<f64>>,
    pick: F,
) -> PointScores
where
    F: Fn(&Stream) -> &[Detection],
{
    let hours: f64 = streams.iter().map(|s| s.seconds).sum::<f64>() / 3600.0;
    let total: usize = streams
        .iter()
        .map(|s| labels.get(&s.id).map_or(0, Vec::len))
        .sum();
    let is_caught =
        |o: f64, kept: &[Detection]| kept.iter().any(|d| d.t >= o - 10.0 && d.t <= o + 60.0);
    let is_contained = |o: f64, kept: &[Detection]| kept.iter().any(|d| inside(o, d.span));
    // (caught, contained, caught and contained) at a budget
    let count = |budget: f64| -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for s in streams {
            let kept = top_k(pick(s), budget_k(budget, s.seconds));
            for &o in labels.get(&s.id).into_iter().flatten() {
                let (hit, within) = (is_caught(o, &kept), is_contained(o, &kept));
                c.0 += usize::from(hit);
                c.1 += usize::from(within);
                c.2 += usize::from(hit && within);
            }
        }
        c
    };
    let r = |c: usize| c as f64 / total.max(1) as f64;
    let (c4, in4, both4) = count(4.0);
    PointScores {
        recall_at_2: r(count(2.0).0),
        recall_at_4: r(c4),
        recall_at_8: r(count(8.0).0),
        caught_at_4: c4,
        labels: total,
        clips_per_hour: streams.iter().map(|s| pick(s).len()).sum::<usize>() as f64
            / hours.max(1e-9),
        contain_at_4: r(in4),
        contained_at_4: in4,
        contained_of_caught_at_4: both4 as f64 / c4.max(1) as f64,
        caught_contained_at_4: both4,
    }
}

/// Interval scores, as the data README defines them, and how many kept clips overlap a
/// highlight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct IntervalScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub precision_at_4: f64,
    pub recall_at_4: f64,
    pub chance: f64,
    pub clips_per_hour: f64,
    pub intervals: usize,
    /// Clips kept at 4/h, and the share of them whose span overlaps a labelled interval by at
    /// least min(10 s, its length).
    pub kept_at_4: usize,
    /// Of those, the ones counted correct (what `precision_at_4` is the share of).
    pub correct_at_4: usize,
    pub overlap_at_4: f64,
    pub overlapping_at_4: usize,
}

pub fn score_intervals<F>(
    streams: &[Stream],
    labels: &HashMap<String, Vec<(f64, f64)>>,
    pick: F,
) -> IntervalScores
where
    F: Fn(&Stream) -> &[Detection],
{
    let correct = |d: &Detection, ls: &[(f64, f64)]| {
        ls.iter().any(|(s, e)| d.t >= s - 10.0 && d.t <= e + 30.0)
    };
    let (mut det, mut ok, mut det4, mut ok4, mut ov4) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut hit, mut hit4, mut total) = (0usize, 0usize, 0usize);
    let (mut covered, mut seconds) = (0f64, 0f64);
    for s in streams {
        let ls: &[(f64, f64)] = labels.get(&s.id).map_or(&[], Vec::as_slice);
        let all = pick(s);
        let kept = top_k(all, budget_k(4.0, s.seconds));
        det += all.len();
        ok += all.iter().filter(|d| correct(d, ls)).count();
        det4 += kept.len();
        ok4 += kept.iter().filter(|d| correct(d, ls)).count();
        ov4 += kept
            .iter()
            .filter(|d| ls.iter().any(|&iv| overlaps_enough(d.span, iv)))
            .count();
        total += ls.len();
        let hits = |ds: &[Detection]| {
            ls.iter()
                .filter(|(a, b)| ds.iter().any(|d| d.t >= a - 10.0 && d.t <= b + 30.0))
                .count()
        };
        hit += hits(all);
        hit4 += hits(&kept);
        // Chance: share of seconds where a detection would be correct.
        let dur = s.seconds.max(1.0);
        let mut spans: Vec<(f64, f64)> = ls
            .iter()
            .map(|(a, b)| ((a - 10.0).max(0.0), (b + 30.0).min(dur)))
            .collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cur: Option<(f64, f64)> = None;
        for (a, b) in spans {
            match cur {
                Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
                Some((ca, cb)) => {
                    covered += (cb - ca).max(0.0);
                    cur = Some((a, b));
                }
                None => cur = Some((a, b)),
            }
        }
        if let Some((ca, cb)) = cur {
            covered += (cb - ca).max(0.0);
        }
        seconds += dur;
    }
    let p = ok as f64 / det.max(1) as f64;
    let r = hit as f64 / total.max(1) as f64;
    IntervalScores {
        precision: p,
        recall: r,
        f1: if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        },
        precision_at_4: ok4 as f64 / det4.max(1) as f64,
        recall_at_4: hit4 as f64 / total.max(1) as f64,
        chance: covered / seconds.max(1.0),
        clips_per_hour: det as f64 / (seconds / 3600.0).max(1e-9),
        intervals: total,
        kept_at_4: det4,
        correct_at_4: ok4,
        overlap_at_4: ov4 as f64 / det4.max(1) as f64,
        overlapping_at_4: ov4,
    }
}

/// The scores of one detector on one kind of labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Scores {
    Points(PointScores),
    Intervals(IntervalScores),
}

impl Scores {
    /// The measures of this score, in report order.
    pub fn measures(&self) -> Vec<Measure> {
        let m = Measure::new;
        match self {
            Scores::Points(s) => vec![
                m("recall_at_2", "R@2/h", s.recall_at_2, None),
                m(
                    "recall_at_4",
                    "R@4/h",
                    s.recall_at_4,
                    Some((s.caught_at_4, s.labels)),
                ),
                m("recall_at_8", "R@8/h", s.recall_at_8, None),
                m(
                    "contain_at_4",
                    "contain@4/h",
                    s.contain_at_4,
                    Some((s.contained_at_4, s.labels)),
                ),
                m(
                    "contained_of_caught_at_4",
                    "contained/caught@4/h",
                    s.contained_of_caught_at_4,
                    Some((s.caught_contained_at_4, s.caught_at_4)),
                ),
            ],
            Scores::Intervals(s) => vec![
                m("precision", "P", s.precision, None),
                m("recall", "R", s.recall, None),
                m("f1", "F1", s.f1, None),
                m(
                    "precision_at_4",
                    "P@4/h",
                    s.precision_at_4,
                    Some((s.correct_at_4, s.kept_at_4)),
                ),
                m("recall_at_4", "R@4/h", s.recall_at_4, None),
                m(
                    "overlap_at_4",
                    "overlap@4/h",
                    s.overlap_at_4,
                    Some((s.overlapping_at_4, s.kept_at_4)),
                ),
            ],
        }
    }

    pub fn clips_per_hour(&self) -> f64 {
        match self {
            Scores::Points(s) => s.clips_per_hour,
            Scores::Intervals(s) => s.clips_per_hour,
        }
    }
}

fn score<F>(streams: &[Stream], labels: &Labels, pick: F) -> Scores
where
    F: Fn(&Stream) -> &[Detection],
{
    match labels {
        Labels::Points(l) => Scores::Points(score_points(streams, l, pick)),
        Labels::Intervals(l) => Scores::Intervals(score_intervals(streams, l, pick)),
    }
}

// --- Replay and report -------------------------------------------------------------------------

struct Collect {
    streams: Vec<Stream>,
    keep_windows: bool,
}

fn stream_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Collect {
    fn current(&mut self, path: &Path) -> &mut Stream {
        if self.streams.last().is_none_or(|s| s.path != path) {
            self.streams.push(Stream {
                id: stream_id(path),
                path: path.to_owned(),
                ..Stream::default()
            });
        }
        let i = self.streams.len() - 1;
        &mut self.streams[i]
    }
}

impl ReplaySink for Collect {
    fn clip(&mut self, clip: &ReplayClip, decision: &ClipDecision) {
        let s = self.current(Path::new(&clip.source));
        s.ours.push(Detection {
            t: clip.at,
            score: decision.score,
            span: (clip.clip_start, clip.clip_end),
        });
    }
    fn window(&mut self, source: &Path, w: &ScoredWindow) {
        if self.keep_windows {
            let t = w.features.end_secs();
            let (rate, score) = (w.features.rate, w.scores.combined);
            self.current(source).windows.push((t, rate, score));
        }
    }
    fn file_done(&mut self, source: &Path, log_seconds: f64) {
        self.current(source).seconds = log_seconds;
    }
}

/// Names of the score parts an [`Ablation`] switches off.
pub fn ablated(a: &Ablation) -> Vec<&'static str> {
    [
        (a.forest, "forest"),
        (a.content, "content"),
        (a.activity, "activity"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

/// Switch off one part of the score by name (`forest`, `content`, `activity`).
pub fn ablate(a: &mut Ablation, part: &str) -> Result<()> {
    match part {
        "forest" => a.forest = true,
        "content" => a.content = true,
        "activity" => a.activity = true,
        other => {
            return Err(RelayError::Invalid(format!(
                "--ablate {other:?}: expected forest, content or activity"
            )))
        }
    }
    Ok(())
}

/// One simple rule's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleScores {
    pub rule: String,
    pub window_s: usize,
    pub z: f64,
    pub scores: Scores,
}

impl RuleScores {
    /// `rule`'s `scores`.
    pub fn new(rule: &Rule, scores: Scores) -> Self {
        RuleScores {
            rule: rule.to_string(),
            window_s: rule.window_s,
            z: rule.z,
            scores,
        }
    }
}

/// One headline measure: clipper, the best of the nine rules (the first in [`RULES`] order on
/// ties) and the reference rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Best {
    pub measure: &'static str,
    pub clipper: f64,
    pub best_rule: f64,
    pub rule: String,
    pub window_s: usize,
    pub z: f64,
    pub reference: f64,
}

/// Everything `clipper eval --labels` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `points` (hot-clip offsets) or `intervals` (highlight intervals).
    pub labels: &'static str,
    pub streams: usize,
    pub hours: f64,
    /// Chat thinned to 1 chatter in N.
    pub thin: Option<u32>,
    /// Draws of the thinning the measures pool ([`Draws`]): 1, or N with `--thin-draws`.
    pub draws: u32,
    pub ablated: Vec<&'static str>,
    pub ours: Scores,
    /// The README's reference rule (20 s, z ≥ 2).
    pub baseline: Scores,
    pub reference_rule: String,
    /// All nine rules, in [`RULES`] order.
    pub rules: Vec<RuleScores>,
    /// Per headline measure: clipper beside the best rule.
    pub best: Vec<Best>,
    /// Clipper's measures over several forest seeds (`clipper eval --seeds N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_spread: Option<SeedSpread>,
}

/// Per measure of `ours`, the best of `rules` (first on ties) and the reference rule.
fn best_per_measure(ours: &Scores, rules: &[RuleScores]) -> Vec<Best> {
    let per_rule: Vec<Vec<Measure>> = rules.iter().map(|r| r.scores.measures()).collect();
    ours.measures()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut best = 0;
            for (j, ms) in per_rule.iter().enumerate() {
                if ms[i].value > per_rule[best][i].value {
                    best = j;
                }
            }
            Best {
                measure: m.key,
                clipper: m.value,
                best_rule: per_rule[best][i].value,
                rule: rules[best].rule.clone(),
                window_s: rules[best].window_s,
                z: rules[best].z,
                reference: per_rule[REFERENCE_RULE][i].value,
            }
        })
        .collect()
}

/// Which thinnings a run measures: the one `ReplayOptions::thin` names, or every draw of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Draws {
    /// The options' own thinning (none, or one draw).
    #[default]
    One,
    /// Every draw of the options' 1 in N, pooled: each chatter's chat is measured once, in
    /// the draw that keeps it, and the counts of all draws are summed (a label caught in 4
    /// of 10 draws counts 4 of 10). One draw of 20 labels moves a measure by 0.05 a label;
    /// the pool shows what a small channel can expect, not what one tenth of the chatters did.
    All,
}

impl Draws {
    /// The thinnings to run for `thin`.
    pub fn of(self, thin: Option<Thin>) -> Vec<Option<Thin>> {
        match (self, thin) {
            (Draws::All, Some(t)) => Thin::draws(t.every).map(Some).collect(),
            _ => vec![thin],
        }
    }
}

/// Replay `files` (as `clipper replay` would), run the nine rules on the same (thinned) chat,
/// and score all against `labels`; with [`Draws::All`], over every draw of the thinning.
pub fn evaluate(
    files: &[PathBuf],
    labels: &Labels,
    opts: &ReplayOptions,
    draws: Draws,
    chart_dir: Option<&Path>,
) -> Result<(Report, Vec<Stream>, replay::ReplaySummary)> {
    let thins = draws.of(opts.thin);
    let mut streams = Vec::new();
    let mut summary = replay::ReplaySummary::default();
    for (thin, mut part, s) in replay_draws(files, opts, &thins, chart_dir.is_some())? {
        for st in &mut part {
            let channel = opts
                .channel
                .clone()
                .unwrap_or_else(|| replay::default_channel(&st.path));
            st.rules = all_rules(&per_second_counts(&st.path, &channel, thin)?);
        }
        streams.extend(part);
        summary.add(&s);
    }
    let ours = score(&streams, labels, |s| &s.ours);
    let rules: Vec<RuleScores> = RULES
        .iter()
        .enumerate()
        .map(|(i, r)| RuleScores::new(r, score(&streams, labels, |s| s.rules[i].as_slice())))
        .collect();
    let report = Report {
        labels: match labels {
            Labels::Points(_) => "points",
            Labels::Intervals(_) => "intervals",
        },
        // Per draw: the files and their hours (every draw replays them all).
        streams: streams.len() / thins.len(),
        hours: summary.log_seconds / 3600.0 / thins.len() as f64,
        thin: opts.thin.map(|t| t.every),
        draws: thins.len() as u32,
        ablated: ablated(&opts.config.decision.ablate),
        best: best_per_measure(&ours, &rules),
        seed_spread: None,
        ours,
        baseline: rules[REFERENCE_RULE].scores,
        reference_rule: RULES[REFERENCE_RULE].to_string(),
        rules,
    };
    if let Some(dir) = chart_dir {
        for s in &streams {
            chart::write_chart(dir, &s.timeline(labels))?;
        }
    }
    Ok((report, streams, summary))
}

/// The files replayed as `clipper replay` would, one [`Stream`] each (its clips, not yet the
/// rules').
fn replay_streams(
    files: &[PathBuf],
    opts: &ReplayOptions,
    keep_windows: bool,
) -> Result<(Vec<Stream>, replay::ReplaySummary)> {
    let mut sink = Collect {
        streams: Vec::new(),
        keep_windows,
    };
    let summary = replay::replay_files(files, opts, &mut sink)?;
    Ok((sink.streams, summary))
}

/// One thinning's replay: the thinning, its streams and its totals.
type Draw = (Option<Thin>, Vec<Stream>, replay::ReplaySummary);

/// [`replay_streams`] once per thinning of `thins`.
fn replay_draws(
    files: &[PathBuf],
    opts: &ReplayOptions,
    thins: &[Option<Thin>],
    keep_windows: bool,
) -> Result<Vec<Draw>> {
    thins
        .iter()
        .map(|&thin| {
            let opts = ReplayOptions {
                thin,
                ..opts.clone()
            };
            let (streams, summary) = replay_streams(files, &opts, keep_windows)?;
            Ok((thin, streams, summary))
        })
        .collect()
}

/// Clipper's scores alone (no rules, so the logs are read once): for runs that differ from a
/// full [`evaluate`] only in the detector's settings.
pub fn evaluate_clipper(
    files: &[PathBuf],
    labels: &Labels,
    opts: &ReplayOptions,
    draws: Draws,
) -> Result<Scores> {
    let streams: Vec<Stream> = replay_draws(files, opts, &draws.of(opts.thin), false)?
        .into_iter()
        .flat_map(|(_, part, _)| part)
        .collect();
    Ok(score(&streams, labels, |s| &s.ours))
}

/// ", thin 1/N; ablated: a, b" (empty when neither).
fn run_note(thin: Option<u32>, draws: u32, ablated: &[&str]) -> String {
    let mut s = String::new();
    if let Some(n) = thin {
        let _ = write!(s, "; chat thinned to 1 chatter in {n}");
        if draws > 1 {
            let _ = write!(s, ", all {draws} draws pooled");
        }
    }
    if !ablated.is_empty() {
        let _ = write!(s, "; ablated: {}", ablated.join(", "));
    }
    s
}

fn cell(m: &Measure) -> String {
    match m.of {
        Some((a, b)) => format!("{:.2} ({a}/{b})", m.value),
        None => format!("{:.2}", m.value),
    }
}

/// The report as text: per headline measure, clipper beside the best of the nine rules (with
/// its configuration) and the reference rule; with `all_rules`, the nine rules' table too.
pub fn render(report: &Report, all_rules: bool) -> String {
    let mut out = String::new();
    let note = run_note(report.thin, report.draws, &report.ablated);
    let _ = match &report.ours {
        Scores::Points(p) => writeln!(
            out,
            "{} streams, {:.1} h, {} labels (hot-clip recall at a budget){note}",
            report.streams, report.hours, p.labels
        ),
        Scores::Intervals(iv) => writeln!(
            out,
            "{} streams, {:.1} h, {} intervals (highlight intervals), chance {:.2}{note}",
            report.streams, report.hours, iv.intervals, iv.chance
        ),
    };
    let reference = format!("rule {}", report.reference_rule);
    let _ = writeln!(
        out,
        "{:<22} {:>14}   {:<26} {:>14}",
        "measure", "clipper", "best of 9 rules", reference
    );
    let (lo, hi) = report
        .rules
        .iter()
        .map(|r| r.scores.clips_per_hour())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let _ = writeln!(
        out,
        "{:<22} {:>14.2}   {:<26} {:>14.2}",
        "clips/h",
        report.ours.clips_per_hour(),
        format!("({lo:.2}–{hi:.2})"),
        report.baseline.clips_per_hour()
    );
    let ours = report.ours.measures();
    let reference = report.baseline.measures();
    let rules: Vec<Vec<Measure>> = report.rules.iter().map(|r| r.scores.measures()).collect();
    for (i, b) in report.best.iter().enumerate() {
        let j = report
            .rules
            .iter()
            .position(|r| r.rule == b.rule)
            .unwrap_or(REFERENCE_RULE);
        let _ = writeln!(
            out,
            "{:<22} {:>14}   {:<26} {:>14}",
            ours[i].name,
            cell(&ours[i]),
            format!("{} ({})", cell(&rules[j][i]), b.rule),
            cell(&reference[i])
        );
    }
    if all_rules {
        let names: Vec<&str> = ours.iter().map(|m| m.name).collect();
        let _ = write!(out, "\n{:<12} {:>8}", "rule", "clips/h");
        for n in &names {
            let _ = write!(out, " {:>w$}", n, w = n.len().max(6));
        }
        out.push('\n');
        for (r, ms) in report.rules.iter().zip(&rules) {
            let _ = write!(out, "{:<12} {:>8.2}", r.rule, r.scores.clips_per_hour());
            for (n, m) in names.iter().zip(ms) {
                let _ = write!(out, " {:>w$.2}", m.value, w = n.len().max(6));
            }
            out.push('\n');
        }
    }
    out
}

// --- Spikes (chatinterpreter): ROC AUC ---------------------------------------------------------

/// One labelled chat spike.
#[derive(Debug, Clone, PartialEq)]
pub struct Spike {
    pub video: String,
    pub start_s: f64,
    pub end_s: f64,
    /// `binary == 1`: a clip-worthy reaction.
    pub positive: bool,
    /// (time s, text), in time order.
    pub messages: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct SpikeLine {
    video_id: serde_json::Value,
    start_s: f64,
    end_s: f64,
    binary: i64,
    #[serde(default)]
    messages: Vec<String>,
    #[serde(default)]
    timestamps_s: Vec<f64>,
}

/// Read a spikes JSONL file (one spike per line: `video_id`, `start_s`, `end_s`, `binary`,
/// `messages`, `timestamps_s`).
pub fn load_spikes(path: &Path) -> Result<Vec<Spike>> {
    let text = read_text(path)?;
    let bad = bad_line(path);
    let mut spikes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let l: SpikeLine = serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
        if l.messages.len() != l.timestamps_s.len() {
            return Err(bad(
                i + 1,
                format!(
                    "{} messages but {} timestamps",
                    l.messages.len(),
                    l.timestamps_s.len()
                ),
            ));
        }
        let video = match l.video_id {
            serde_json::Value::String(s) => s,
            v @ serde_json::Value::Number(_) => v.to_string(),
            v => return Err(bad(i + 1, format!("video_id: expected a string, got {v}"))),
        };
        let mut messages: Vec<(f64, String)> = l.timestamps_s.into_iter().zip(l.messages).collect();
        messages.sort_by(|a, b| a.0.total_cmp(&b.0));
        spikes.push(Spike {
            video,
            start_s: l.start_s,
            end_s: l.end_s,
            positive: l.binary == 1,
            messages,
        });
    }
    if spikes.is_empty() {
        return Err(RelayError::EmptyFile {
            path: path.to_owned(),
        });
    }
    Ok(spikes)
}

/// ROC AUC of `scores` against `positive` (Mann–Whitney; ties count half). `None` without
/// both positives and negatives.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|p| **p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 || scores.len() != positive.len() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the positives' ranks (1-based), ties sharing their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg * order[i..=j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Most messages in any `window_s`-second interval `[t, t + W)` of sorted `times`.
pub fn max_in_window(times: &[f64], window_s: f64) -> usize {
    let mut best = 0;
    let mut j = 0;
    for (i, &t) in times.iter().enumerate() {
        j = j.max(i);
        while j < times.len() && times[j] < t + window_s {
            j += 1;
        }
        best = best.max(j - i);
    }
    best
}

/// Window lengths of the spike rules (max messages in W s inside the spike).
pub const SPIKE_RULE_WINDOWS: [usize; 3] = [5, 10, 20];

/// A spike rule's AUC.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpikeRule {
    pub window_s: usize,
    pub auc: Option<f64>,
}

/// Everything `clipper eval --spikes` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpikeReport {
    pub spikes: usize,
    pub positives: usize,
    pub videos: usize,
    /// Messages fed to the detector (after thinning; summed over draws).
    pub messages: usize,
    pub thin: Option<u32>,
    /// Draws of the thinning the AUCs are the mean of ([`Draws`]): 1, or N.
    pub draws: u32,
    pub ablated: Vec<&'static str>,
    /// ROC AUC of clipper's score: the highest combined score of a window overlapping
    /// `[start_s, end_s + 5]`.
    pub clipper_auc: Option<f64>,
    /// Spikes no scored window overlapped (score 0).
    pub unscored: usize,
    /// Max messages in a W-s window inside the spike, W ∈ {5, 10, 20}.
    pub rules: Vec<SpikeRule>,
    /// The best of `rules` (first on ties).
    pub best_rule: Option<SpikeRule>,
    /// Clipper's AUC over several forest seeds (`clipper eval --seeds N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_spread: Option<SeedSpread>,
}

/// Per spike (in input order): clipper's score and each spike rule's count, running one
/// detector per video over all its spikes' chat in time order. Users are unknown: message `i`
/// of a video (in time order) is from pseudo user `m{i}`, which is also what thinning keys on.
pub fn score_spikes(
    spikes: &[Spike],
    config: &DetectorConfig,
    thin: Option<Thin>,
) -> (Vec<Option<f64>>, Vec<[usize; 3]>, usize) {
    let mut by_video: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in spikes.iter().enumerate() {
        by_video.entry(&s.video).or_default().push(i);
    }
    let mut ours: Vec<Option<f64>> = vec![None; spikes.len()];
    let mut counts: Vec<[usize; 3]> = vec![[0; 3]; spikes.len()];
    let mut fed = 0usize;
    let mut out: Vec<Output> = Vec::new();
    for (video, idx) in by_video {
        // (time ms, spike, text): the video's chat in time order.
        let mut chat: Vec<(i64, usize, &str)> = idx
            .iter()
            .flat_map(|&k| {
                spikes[k]
                    .messages
                    .iter()
                    .map(move |(t, text)| ((t * 1000.0).round() as i64, k, text.as_str()))
            })
            .collect();
        chat.sort_by_key(|m| m.0);
        let channel = format!("chatinterpreter-{video}");
        let mut det = ChannelDetector::new(&channel, config.clone(), None, Training::Inline);
        // (start ms, end ms, combined) of every window
        let mut windows: Vec<(i64, i64, f64)> = Vec::new();
        let collect = |out: &mut Vec<Output>, windows: &mut Vec<(i64, i64, f64)>| {
            for o in out.drain(..) {
                if let Output::Window(w) = o {
                    windows.push((w.features.start_ms, w.features.end_ms, w.scores.combined));
                }
            }
        };
        let mut kept_times: HashMap<usize, Vec<f64>> = HashMap::new();
        for (i, &(ms, k, text)) in chat.iter().enumerate() {
            let user = format!("m{i}");
            if !thin_keeps(thin, &user) {
                continue;
            }
            fed += 1;
            kept_times.entry(k).or_default().push(ms as f64 / 1000.0);
            det.on_message(&ChatMessage::plain(&channel, &user, text, ms), &mut out);
            collect(&mut out, &mut windows);
        }
        det.finish(&mut out);
        collect(&mut out, &mut windows);
        for &k in &idx {
            let s = &spikes[k];
            let (a, b) = (
                (s.start_s * 1000.0) as i64,
                ((s.end_s + 5.0) * 1000.0) as i64,
            );
            ours[k] = windows
                .iter()
                .filter(|w| w.0 <= b && w.1 >= a)
                .map(|w| w.2)
                .reduce(f64::max);
            let times = kept_times.get(&k).map_or(&[][..], Vec::as_slice);
            for (c, w) in counts[k].iter_mut().zip(SPIKE_RULE_WINDOWS) {
                *c = max_in_window(times, w as f64);
            }
        }
    }
    (ours, counts, fed)
}

/// Score every spike by clipper and by the spike rules; ROC AUC against `binary == 1`. With
/// [`Draws::All`], each AUC is the mean over the draws of the thinning (an AUC is a ranking
/// within one chat, so draws are averaged, not pooled).
pub fn evaluate_spikes(
    spikes: &[Spike],
    config: &DetectorConfig,
    thin: Option<Thin>,
    draws: Draws,
) -> SpikeReport {
    let positive: Vec<bool> = spikes.iter().map(|s| s.positive).collect();
    let thins = draws.of(thin);
    let (mut clipper_aucs, mut rule_aucs) =
        (Vec::new(), vec![Vec::new(); SPIKE_RULE_WINDOWS.len()]);
    let (mut fed, mut unscored) = (0, 0);
    for &thin in &thins {
        let (ours, counts, n) = score_spikes(spikes, config, thin);
        fed += n;
        unscored += ours.iter().filter(|s| s.is_none()).count();
        let clipper: Vec<f64> = ours.iter().map(|s| s.unwrap_or(0.0)).collect();
        clipper_aucs.push(roc_auc(&clipper, &positive));
        for (i, aucs) in rule_aucs.iter_mut().enumerate() {
            let s: Vec<f64> = counts.iter().map(|c| c[i] as f64).collect();
            aucs.push(roc_auc(&s, &positive));
        }
    }
    let rules: Vec<SpikeRule> = SPIKE_RULE_WINDOWS
        .iter()
        .zip(&rule_aucs)
        .map(|(&w, aucs)| SpikeRule {
            window_s: w,
            auc: mean_auc(aucs),
        })
        .collect();
    let best_rule = rules.iter().copied().reduce(|best, r| {
        if r.auc.unwrap_or(f64::NAN) > best.auc.unwrap_or(f64::NEG_INFINITY) {
            r
        } else {
            best
        }
    });
    let mut videos: Vec<&str> = spikes.iter().map(|s| s.video.as_str()).collect();
    videos.sort_unstable();
    videos.dedup();
    SpikeReport {
        spikes: spikes.len(),
        positives: positive.iter().filter(|p| **p).count(),
        videos: videos.len(),
        messages: fed,
        thin: thin.map(|t| t.every),
        draws: thins.len() as u32,
        ablated: ablated(&config.decision.ablate),
        clipper_auc: mean_auc(&clipper_aucs),
        unscored,
        rules,
        best_rule,
        seed_spread: None,
    }
}

/// Mean of AUCs; none when any is undefined (a draw without both classes).
fn mean_auc(aucs: &[Option<f64>]) -> Option<f64> {
    let all: Option<Vec<f64>> = aucs.iter().copied().collect();
    let all = all.filter(|a| !a.is_empty())?;
    Some(all.iter().sum::<f64>() / all.len() as f64)
}

impl SpikeReport {
    /// Clipper's headline measure, as [`Scores::measures`] gives them for labels.
    pub fn measures(&self) -> Vec<Measure> {
        vec![Measure::new(
            "auc",
            "AUC",
            self.clipper_auc.unwrap_or(f64::NAN),
            None,
        )]
    }
}

// --- Forest seed spread -------------------------------------------------------------------------

/// Clipper's headline measures over several runs that differ only in the Isolation Forest's
/// seed: how much of a difference between two settings the seed alone makes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedSpread {
    /// The seeds, in run order (the configured one first).
    pub seeds: Vec<u64>,
    pub measures: Vec<MeasureSpread>,
}

/// One measure over the seeds of a [`SeedSpread`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureSpread {
    pub measure: &'static str,
    #[serde(skip)]
    pub name: &'static str,
    /// Per seed, in [`SeedSpread::seeds`] order.
    pub values: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Clipper's measures over `n` forest seeds: `first` are those of `config`'s own seed, `run`
/// gives those of `config` with another seed (1, 2, 3, ...). `None` when `n` ≤ 1.
pub fn over_seeds(
    config: &DetectorConfig,
    n: u32,
    first: Vec<Measure>,
    mut run: impl FnMut(&DetectorConfig) -> Result<Vec<Measure>>,
) -> Result<Option<SeedSpread>> {
    if n <= 1 {
        return Ok(None);
    }
    let seeds = spread_seeds(config.model.seed, n as usize);
    let mut runs = vec![first];
    for &seed in &seeds[1..] {
        let mut c = config.clone();
        c.model.seed = seed;
        runs.push(run(&c)?);
    }
    Ok(Some(seed_spread(&seeds, &runs)))
}

/// `n` forest seeds: `first` (the configured one), then 1, 2, 3, ... without `first`.
pub fn spread_seeds(first: u64, n: usize) -> Vec<u64> {
    std::iter::once(first)
        .chain((1..).filter(move |&s| s != first))
        .take(n)
        .collect()
}

/// Median, minimum and maximum of each measure over the runs (`runs[i]`: the measures of
/// seed `seeds[i]`, all runs listing the same measures in the same order). `NaN` values (an
/// AUC with one class) are left out of the median and range.
pub fn seed_spread(seeds: &[u64], runs: &[Vec<Measure>]) -> SeedSpread {
    let Some(first) = runs.first() else {
        return SeedSpread {
            seeds: seeds.to_vec(),
            measures: Vec::new(),
        };
    };
    let measures = first
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let values: Vec<f64> = runs
                .iter()
                .map(|r| r.get(i).map_or(f64::NAN, |x| x.value))
                .collect();
            let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            finite.sort_by(f64::total_cmp);
            let median = match finite.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => finite[n / 2],
                n => (finite[n / 2 - 1] + finite[n / 2]) / 2.0,
            };
            MeasureSpread {
                measure: m.key,
                name: m.name,
                min: finite.first().copied().unwrap_or(f64::NAN),
                max: finite.last().copied().unwrap_or(f64::NAN),
                median,
                values,
            }
        })
        .collect();
    SeedSpread {
        seeds: seeds.to_vec(),
        measures,
    }
}

/// The spread as text, after the report.
pub fn render_spread(s: &SeedSpread) -> String {
    let mut out = String::new();
    let seeds: Vec<String> = s.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(
        out,
        "\nclipper over {} forest seeds ({}):",
        s.seeds.len(),
        seeds.join(", ")
    );
    let _ = writeln!(
        out,
        "{:<22} {:>7} {:>13}  per seed",
        "measure", "median", "range"
    );
    for m in &s.measures {
        let per: Vec<String> = m.values.iter().map(|v| format!("{v:.3}")).collect();
        let _ = writeln!(
            out,
            "{:<22} {:>7.3} {:>13}  {}",
            m.name,
            m.median,
            format!("{:.3}–{:.3}", m.min, m.max),
            per.join(" ")
        );
    }
    out
}

fn auc_text(a: Option<f64>) -> String {
    a.map_or_else(|| "n/a".to_owned(), |a| format!("{a:.3}"))
}

/// The spike report as text: clipper's AUC beside the best rule's.
pub fn render_spikes(r: &SpikeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} spikes in {} videos, {} clip-worthy (binary = 1), {} messages (ROC AUC of a score per spike){}",
        r.spikes,
        r.videos,
        r.positives,
        r.messages,
        run_note(r.thin, r.draws, &r.ablated)
    );
    let _ = writeln!(out, "{:<40} {:>6}", "score", "AUC");
    let _ = writeln!(
        out,
        "{:<40} {:>6}",
        "clipper (max combined score)",
        auc_text(r.clipper_auc)
    );
    if let Some(b) = r.best_rule {
        let _ = writeln!(
            out,
            "{:<40} {:>6}",
            format!("best rule (max messages in {} s)", b.window_s),
            auc_text(b.auc)
        );
    }
    let rules: Vec<String> = r
        .rules
        .iter()
        .map(|x| format!("{} s {}", x.window_s, auc_text(x.auc)))
        .collect();
    let _ = writeln!(out, "rules: {}", rules.join(", "));
    if r.unscored > 0 {
        let _ = writeln!(out, "{} spikes had no scored window (scored 0)", r.unscored);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_seeds_start_with_the_configured_one_and_never_repeat() {
        assert_eq!(spread_seeds(24301, 4), [24301, 1, 2, 3]);
        assert_eq!(spread_seeds(2, 4), [2, 1, 3, 4]);
        assert_eq!(spread_seeds(7, 1), [7]);
    }

    #[test]
    fn seed_spread_median_and_range() {
        let m = |v: f64| {
            vec![
                Measure::new("p", "P", v, None),
                Measure::new("a", "A", 1.0 - v, None),
            ]
        };
        let s = seed_spread(&[9, 1, 2, 3], &[m(0.8), m(0.6), m(0.7), m(0.9)]);
        assert_eq!(s.seeds, [9, 1, 2, 3]);
        assert_eq!(s.measures.len(), 2);
        let p = &s.measures[0];
        assert_eq!((p.measure, p.values.len()), ("p", 4));
        assert!((p.median - 0.75).abs() < 1e-12, "{p:?}");
        assert_eq!((p.min, p.max), (0.6, 0.9));
        let a = &s.measures[1];
        assert!((a.median - 0.25).abs() < 1e-12, "{a:?}");
        // Odd count; a NaN (AUC of one class) is left out of median and range, kept per seed.
        let s = seed_spread(&[1, 2, 3], &[m(0.5), m(f64::NAN), m(0.7)]);
        let p = &s.measures[0];
        assert!(p.values[1].is_nan());
        assert!((p.median - 0.6).abs() < 1e-12, "{p:?}");
        assert_eq!((p.min, p.max), (0.5, 0.7));
        let s = seed_spread(&[1, 2, 3], &[m(0.5), m(0.9), m(0.7)]);
        assert_eq!(s.measures[0].median, 0.7);
        let text = render_spread(&s);
        assert!(
            text.contains("clipper over 3 forest seeds (1, 2, 3):"),
            "{text}"
        );
        assert!(text.contains("0.500 0.900 0.700"), "{text}");
        assert!(seed_spread(&[], &[]).measures.is_empty());
    }

    fn det(t: f64, score: f64) -> Detection {
        Detection {
            t,
            score,
            span: (t - 18.0, t + 12.0),
        }
    }

    fn stream(id: &str, secs: f64, ours: &[(f64, f64)]) -> Stream {
        Stream {
            id: id.into(),
            seconds: secs,
            ours: ours.iter().map(|&(t, score)| det(t, score)).collect(),
            ..Stream::default()
        }
    }

    #[test]
    fn point_recall_respects_budget_and_tolerance() {
        let labels: HashMap<String, Vec<f64>> = [("a".to_owned(), vec![100.0, 1000.0])].into();
        // 1 hour: budget 2 keeps the two best. Label 100 caught by t=150 (≤ o+60), 1000 only by
        // t=995 (≥ o-10) which scores lowest.
        let s = vec![stream(
            "a",
            3600.0,
            &[(150.0, 0.9), (995.0, 0.1), (2000.0, 0.8), (3000.0, 0.7)],
        )];
        let r = score_points(&s, &labels, |s| &s.ours);
        assert_eq!(r.labels, 2);
        assert!((r.recall_at_2 - 0.5).abs() < 1e-9);
        assert!((r.recall_at_4 - 1.0).abs() < 1e-9);
        assert!((r.clips_per_hour - 4.0).abs() < 1e-9);
        let s = vec![stream("a", 3600.0, &[(161.0, 0.9), (990.0, 0.9)])];
        assert_eq!(
            score_points(&s, &labels, |s| &s.ours).caught_at_4,
            1,
            "161 is past o+60, 990 is within o-10"
        );
    }

    #[test]
    fn interval_scores_and_chance() {
        let labels: HashMap<String, Vec<(f64, f64)>> =
            [("a".to_owned(), vec![(100.0, 110.0), (500.0, 520.0)])].into();
        let s = vec![stream(
            "a",
            1000.0,
            &[(95.0, 1.0), (135.0, 0.5), (700.0, 0.2)],
        )];
        let r = score_intervals(&s, &labels, |s| &s.ours);
        assert!((r.precision - 2.0 / 3.0).abs() < 1e-9);
        assert!((r.recall - 0.5).abs() < 1e-9);
        // Spans [90,140] and [490,550]: 110 s of 1000.
        assert!((r.chance - 0.11).abs() < 1e-9);
        // Budget 4/h on 1000 s keeps one: the best (95, correct).
        assert!((r.precision_at_4 - 1.0).abs() < 1e-9);
        assert_eq!((r.correct_at_4, r.kept_at_4), (1, 1));
        let p4 = Scores::Intervals(r)
            .measures()
            .into_iter()
            .find(|m| m.key == "precision_at_4")
            .unwrap();
        assert_eq!(cell(&p4), "1.00 (1/1)");
    }

    #[test]
    fn baseline_fires_on_a_burst_with_cooldown() {
        let mut c = vec![1u32; 1000];
        for s in c.iter_mut().skip(600).take(10) {
            *s = 20;
        }
        let d = zscore_baseline(&c);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!((600.0..620.0).contains(&d[0].t));
        assert_eq!(d, zscore_rule(&c, 20, 2.0));
        assert_eq!(d[0].span, (d[0].t - 18.0, d[0].t + 12.0));
    }

    #[test]
    fn rule_family_short_burst_and_cooldown() {
        assert_eq!(RULES.len(), 9);
        assert_eq!(
            RULES[REFERENCE_RULE],
            Rule {
                window_s: 20,
                z: 2.0
            }
        );
        assert_eq!(RULES[2].to_string(), "5 s, z≥4");
        // Chat that swings between 3 and 7 messages per second every 20 s, and a 4 s burst of
        // 14 more per second at 600, another inside the cooldown at 615, a third at 1000.
        let mut c: Vec<u32> = (0..1500)
            .map(|t| if (t / 20) % 2 == 0 { 3 } else { 7 })
            .collect();
        for start in [600, 615, 1000] {
            for s in c.iter_mut().skip(start).take(4) {
                *s += 14;
            }
        }
        let all = all_rules(&c);
        assert_eq!(all.len(), 9);
        let fires =
            |r: usize, a: f64, b: f64| all[r].iter().filter(|d| d.t >= a && d.t <= b).count();
        // (5 s, z≥4): catches both bursts, once each; the one at 615 falls in its cooldown.
        assert_eq!(fires(2, 600.0, 604.0), 1, "{:?}", all[2]);
        assert_eq!(fires(2, 605.0, 629.0), 0, "{:?}", all[2]);
        assert_eq!(fires(2, 1000.0, 1004.0), 1, "{:?}", all[2]);
        let first = all[2].iter().find(|d| d.t >= 600.0).unwrap();
        assert!(first.score >= 4.0);
        assert_eq!(first.span, (first.t - 18.0, first.t + 12.0));
        // The 20 s window drowns a 4 s burst in the swings at z≥4 (its z is about 3.5).
        assert_eq!(fires(8, 595.0, 640.0), 0, "{:?}", all[8]);
        assert_eq!(fires(6, 595.0, 605.0), 1, "z≥2 does: {:?}", all[6]);
        // Lower thresholds fire at least as often.
        assert!(all[0].len() >= all[1].len() && all[1].len() >= all[2].len());
        // Firings of one rule are at least a cooldown apart.
        for ds in &all {
            for w in ds.windows(2) {
                assert!(w[1].t - w[0].t >= RULE_COOLDOWN_S as f64);
            }
        }
    }

    #[test]
    fn thinning_is_stable_and_keeps_about_one_in_n() {
        let users: Vec<String> = (0..20_000u64)
            .map(|i| format!("u_{:010x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24))
            .collect();
        let keeps = |t: Thin| users.iter().map(|u| t.keeps(u)).collect::<Vec<bool>>();
        for n in [10u32, 30] {
            let a = keeps(Thin::every(n));
            assert_eq!(a, keeps(Thin::every(n)));
            let share = a.iter().filter(|k| **k).count() as f64 / users.len() as f64;
            let want = 1.0 / f64::from(n);
            assert!((share - want).abs() < 0.25 * want, "1/{n}: kept {share}");
            // The draws split the chatters: each is kept by exactly one draw.
            let draws: Vec<Vec<bool>> = Thin::draws(n).map(keeps).collect();
            assert_eq!(draws.len(), n as usize);
            assert_eq!(draws[0], a, "draw 0 is what --thin N keeps");
            for (i, _) in users.iter().enumerate() {
                assert_eq!(draws.iter().filter(|d| d[i]).count(), 1);
            }
        }
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c: a fixed function, not a per-run seed.
        let h = 0xaf63_dc4c_8601_ec8c_u64;
        assert_eq!(Thin::every(2).keeps("a"), h % 2 == 0);
        assert_eq!(Thin::every(7).keeps("a"), h % 7 == 0);
        assert!(Thin {
            every: 7,
            draw: (h % 7) as u32
        }
        .keeps("a"));
        assert!(users.iter().all(|u| Thin::every(1).keeps(u)));
        assert!(users.iter().all(|u| thin_keeps(None, u)));
    }

    #[test]
    fn thinning_applies_to_the_rule_counts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.tsv");
        let mut text = String::from("offset_s\tuser\tmessage\n");
        let users = ["u_a", "u_b", "u_c", "u_d", "u_e", "u_f", "u_g", "u_h"];
        for s in 0..50 {
            for u in users {
                text.push_str(&format!("{s}\t{u}\thi\n"));
            }
        }
        std::fs::write(&p, text).unwrap();
        let all = per_second_counts(&p, "c", None).unwrap();
        assert_eq!(all, vec![8; 50]);
        let mut total = 0;
        for t in Thin::draws(3) {
            let kept = users.iter().filter(|u| t.keeps(u)).count() as u32;
            let thin = per_second_counts(&p, "c", Some(t)).unwrap();
            assert_eq!(thin.iter().sum::<u32>(), 50 * kept);
            assert!(thin.iter().all(|c| *c == kept));
            total += kept;
        }
        assert_eq!(total, 8, "the three draws together are the whole chat");
    }

    #[test]
    fn span_measures_on_points() {
        let labels: HashMap<String, Vec<f64>> = [
            ("a".to_owned(), vec![100.0, 500.0]),
            ("b".to_owned(), vec![900.0]),
        ]
        .into();
        // 100: caught by t=110 and inside its span [92, 122]. 500: caught by t=540 but its span
        // [522, 552] starts after 500. 900: nothing near.
        let s = vec![
            stream("a", 3600.0, &[(110.0, 0.9), (540.0, 0.8)]),
            stream("b", 3600.0, &[(2000.0, 0.5)]),
        ];
        let r = score_points(&s, &labels, |s| &s.ours);
        assert_eq!(
            (r.caught_at_4, r.contained_at_4, r.caught_contained_at_4),
            (2, 1, 1)
        );
        assert!((r.contain_at_4 - 1.0 / 3.0).abs() < 1e-9);
        assert!((r.contained_of_caught_at_4 - 0.5).abs() < 1e-9);
        // A clip can hold a label it does not catch: t = 89 < 100 − 10, span [71, 101] ∋ 100.
        let s = vec![stream("a", 3600.0, &[(89.0, 0.9)])];
        let r = score_points(&s, &labels, |s| &s.ours);
        assert_eq!((r.caught_at_4, r.contained_at_4), (0, 1));
        assert!((r.contained_of_caught_at_4 - 0.0).abs() < 1e-9);
    }

    #[test]
    fn span_overlap_with_intervals() {
        // A 4 s interval needs 4 s of overlap; a 60 s one needs 10 s.
        assert!(!overlaps_enough((90.0, 102.0), (100.0, 104.0)));
        assert!(overlaps_enough((95.0, 120.0), (100.0, 104.0)));
        assert!(overlaps_enough((245.0, 275.0), (200.0, 260.0)));
        assert!(!overlaps_enough((255.0, 285.0), (200.0, 260.0)));
        assert!(!overlaps_enough((0.0, 30.0), (40.0, 50.0)));
        // A point interval needs the span to hold it.
        assert!(overlaps_enough((0.0, 30.0), (30.0, 30.0)));
        assert!(!overlaps_enough((0.0, 30.0), (31.0, 31.0)));

        let labels: HashMap<String, Vec<(f64, f64)>> =
            [("a".to_owned(), vec![(100.0, 104.0), (1000.0, 1060.0)])].into();
        // 2 h: 8 kept. t=110 → [92, 122] covers (100, 104); t=1066 → [1048, 1078] overlaps
        // (1000, 1060) by 12; t=1075 → [1057, 1087] by 3 only; t=3000 nowhere.
        let s = vec![stream(
            "a",
            7200.0,
            &[(110.0, 0.9), (1066.0, 0.8), (1075.0, 0.7), (3000.0, 0.6)],
        )];
        let r = score_intervals(&s, &labels, |s| &s.ours);
        assert_eq!((r.kept_at_4, r.overlapping_at_4), (4, 2));
        assert!((r.overlap_at_4 - 0.5).abs() < 1e-9);
    }

    #[test]
    fn best_rule_per_measure_is_the_max_first_on_ties() {
        let p = |r4: f64| {
            Scores::Points(PointScores {
                recall_at_4: r4,
                ..PointScores::default()
            })
        };
        let rules: Vec<RuleScores> = RULES
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let recall = if i == 4 || i == 7 {
                    0.6
                } else {
                    0.1 * i as f64 / 9.0
                };
                RuleScores::new(r, p(recall))
            })
            .collect();
        let best = best_per_measure(&p(0.5), &rules);
        let b = best.iter().find(|b| b.measure == "recall_at_4").unwrap();
        assert_eq!((b.rule.as_str(), b.window_s), ("10 s, z≥3", 10));
        assert!((b.best_rule - 0.6).abs() < 1e-9 && (b.clipper - 0.5).abs() < 1e-9);
        assert!((b.reference - rules[REFERENCE_RULE].scores.measures()[1].value).abs() < 1e-12);
    }

    #[test]
    fn auc_perfect_reversed_ties() {
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.3, 0.4], &y), Some(1.0));
        assert_eq!(roc_auc(&[0.4, 0.3, 0.2, 0.1], &y), Some(0.0));
        assert_eq!(roc_auc(&[1.0, 1.0, 1.0, 1.0], &y), Some(0.5));
        // Pairs: 0.35 beats 0.1, loses to 0.4; 0.8 beats both → 3 of 4.
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &y), Some(0.75));
        // One tie among four pairs counts half.
        assert_eq!(roc_auc(&[0.1, 0.4, 0.4, 0.8], &y), Some(0.875));
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn max_messages_in_a_sliding_window() {
        assert_eq!(max_in_window(&[], 5.0), 0);
        assert_eq!(max_in_window(&[0.0, 1.0, 4.9, 5.0, 5.5], 5.0), 4);
        assert_eq!(max_in_window(&[0.0, 10.0, 20.0], 5.0), 1);
    }

    #[test]
    fn spikes_load_and_score() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        std::fs::write(
            &p,
            concat!(
                r#"{"video_id": "1", "start_s": 10.0, "end_s": 12.0, "binary": 1, "messages": ["b", "a"], "timestamps_s": [11.5, 10.5]}"#,
                "\n",
                r#"{"video_id": 2, "start_s": 0.0, "end_s": 1.0, "binary": -1, "messages": [], "timestamps_s": []}"#,
                "\n"
            ),
        )
        .unwrap();
        let s = load_spikes(&p).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].messages[0], (10.5, "a".to_owned()));
        assert!(s[0].positive && !s[1].positive);
        assert_eq!(s[1].video, "2");
        let r = evaluate_spikes(&s, &DetectorConfig::default(), None, Draws::One);
        assert_eq!((r.spikes, r.positives, r.videos, r.messages), (2, 1, 2, 2));
        assert_eq!(r.rules.len(), 3);
        assert_eq!(r.rules[0].auc, Some(1.0), "2 messages beat none");

        std::fs::write(&p, r#"{"video_id": "1", "start_s": 1, "end_s": 2, "binary": 1, "messages": ["x"], "timestamps_s": []}"#).unwrap();
        assert!(load_spikes(&p).unwrap_err().to_string().contains(":1:"));
    }

    #[test]
    fn ablation_names() {
        let mut a = Ablation::default();
        assert!(ablated(&a).is_empty());
        ablate(&mut a, "content").unwrap();
        ablate(&mut a, "forest").unwrap();
        assert_eq!(ablated(&a), vec!["forest", "content"]);
        assert!(ablate(&mut a, "rules").is_err());
    }

    #[test]
    fn label_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.csv");
        std::fs::write(&p, "vod_id,offset_s\n1,10\n1,20\n2,5\n").unwrap();
        assert!(matches!(load_labels(&p).unwrap(), Labels::Points(m) if m["1"].len() == 2));
        std::fs::write(&p, "vod_id,start_s,end_s\n1,10,20\n").unwrap();
        assert!(
            matches!(load_labels(&p).unwrap(), Labels::Intervals(m) if m["1"] == vec![(10.0, 20.0)])
        );
        std::fs::write(&p, "vod_id,start_s,end_s\n1,x,20\n").unwrap();
        assert!(load_labels(&p).unwrap_err().to_string().contains(":2:"));
        std::fs::write(&p, "a,b\n").unwrap();
        assert!(load_labels(&p).is_err());
    }

    #[test]
    fn absurd_offsets_are_an_error_not_a_huge_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("1.tsv");
        std::fs::write(
            &p,
            "offset_s\tuser\tmessage\n0\ta\thi\n100000000000\tb\tlate\n",
        )
        .unwrap();
        let e = per_second_counts(&p, "c", None).unwrap_err().to_string();
        assert!(e.contains("at most 14 days"), "{e}");
        std::fs::write(&p, "offset_s\tuser\tmessage\n0\ta\thi\n3.5\tb\tyo\n").unwrap();
        assert_eq!(per_second_counts(&p, "c", None).unwrap(), vec![1, 0, 0, 1]);
    }
}
