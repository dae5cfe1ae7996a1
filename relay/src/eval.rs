//! Evaluation: replay chat files against human labels and print the scores defined in the data's
//! README, beside a message-count z-score baseline computed in the same run.
//!
//! Two label forms: `vod_id,offset_s` (a hot clip starts there; measured as recall under a clip
//! budget) and `vod_id,start_s,end_s` (highlight intervals; precision, recall, F1, and precision
//! at a budget beside chance). A stream's id is its file name without extension.

use crate::error::{RelayError, Result};
use crate::input::ChatReader;
use crate::replay::{self, ReplayClip, ReplayOptions, ReplaySink};
use clipper_models::pipeline::ScoredWindow;
use clipper_models::ClipDecision;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Human labels of some streams.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// Hot-clip start offsets per stream.
    Points(HashMap<String, Vec<f64>>),
    /// Highlight intervals per stream.
    Intervals(HashMap<String, Vec<(f64, f64)>>),
}

/// Read a labels CSV (header `vod_id,offset_s` or `vod_id,start_s,end_s`).
pub fn load_labels(path: &Path) -> Result<Labels> {
    let text = std::fs::read_to_string(path).map_err(|source| RelayError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bad = |line: usize, reason: String| RelayError::Labels {
        path: path.to_owned(),
        line,
        reason,
    };
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

/// One detection: chat time (s) and its score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    pub t: f64,
    pub score: f64,
}

/// What the evaluation keeps of one stream.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub id: String,
    pub path: PathBuf,
    pub seconds: f64,
    pub ours: Vec<Detection>,
    pub baseline: Vec<Detection>,
    /// (window end s, msgs/s, combined score) for charts.
    pub windows: Vec<(f64, f64, f64)>,
}

/// The README's reference rule: messages in the last 20 s against the 20 s counts of the
/// trailing 300 s before them, z ≥ 2, 30 s cooldown. Scored by z.
#[allow(clippy::needless_range_loop)] // t indexes four arrays at once
pub fn zscore_baseline(per_second: &[u32]) -> Vec<Detection> {
    const W: usize = 20;
    const TRAIL: usize = 300;
    let n = per_second.len();
    let mut prefix = vec![0u64; n + 1];
    for (i, c) in per_second.iter().enumerate() {
        prefix[i + 1] = prefix[i] + u64::from(*c);
    }
    // x[t] = messages in (t-20, t]
    let x: Vec<f64> = (0..n)
        .map(|t| (prefix[t + 1] - prefix[(t + 1).saturating_sub(W)]) as f64)
        .collect();
    let mut px = vec![0f64; n + 1];
    let mut pxx = vec![0f64; n + 1];
    for t in 0..n {
        px[t + 1] = px[t] + x[t];
        pxx[t + 1] = pxx[t] + x[t] * x[t];
    }
    let mut out: Vec<Detection> = Vec::new();
    let mut cooldown_until = 0usize;
    for t in (W + TRAIL)..n {
        let (a, b) = (t - W - TRAIL, t - W);
        let m = (b - a) as f64;
        let mean = (px[b] - px[a]) / m;
        let var = ((pxx[b] - pxx[a]) / m - mean * mean).max(0.0);
        let sd = var.sqrt().max(1.0);
        let z = (x[t] - mean) / sd;
        if z >= 2.0 && t >= cooldown_until {
            out.push(Detection {
                t: t as f64,
                score: z,
            });
            cooldown_until = t + 30;
        }
    }
    out
}

/// Per-second message counts of a file (for the baseline), on the file's own clock.
fn per_second_counts(path: &Path, channel: &str) -> Result<Vec<u32>> {
    let mut reader = ChatReader::open(path, channel)?;
    let mut counts: Vec<u32> = Vec::new();
    let mut origin: Option<i64> = None;
    let tsv = reader.format() == crate::input::ChatFormat::Tsv;
    for m in reader.by_ref() {
        let o = *origin.get_or_insert(if tsv { 0 } else { m.time_ms });
        let s = ((m.time_ms - o).max(0) / 1000) as usize;
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

fn top_k(dets: &[Detection], k: usize) -> Vec<Detection> {
    let mut v = dets.to_vec();
    v.sort_by(|a, b| b.score.total_cmp(&a.score));
    v.truncate(k);
    v
}

fn budget_k(budget: f64, seconds: f64) -> usize {
    ((budget * seconds / 3600.0).floor() as usize).max(1)
}

/// Recall of point labels at a clip budget, as the data README defines it.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PointScores {
    pub recall_at_2: f64,
    pub recall_at_4: f64,
    pub recall_at_8: f64,
    pub caught_at_4: usize,
    pub labels: usize,
    pub clips_per_hour: f64,
}

pub fn score_points(
    streams: &[Stream],
    labels: &HashMap<String, Vec<f64>>,
    pick: fn(&Stream) -> &[Detection],
) -> PointScores {
    let hours: f64 = streams.iter().map(|s| s.seconds).sum::<f64>() / 3600.0;
    let total: usize = streams
        .iter()
        .map(|s| labels.get(&s.id).map_or(0, Vec::len))
        .sum();
    let caught = |budget: f64| -> usize {
        streams
            .iter()
            .map(|s| {
                let kept = top_k(pick(s), budget_k(budget, s.seconds));
                labels.get(&s.id).map_or(0, |ls| {
                    ls.iter()
                        .filter(|o| kept.iter().any(|d| d.t >= *o - 10.0 && d.t <= *o + 60.0))
                        .count()
                })
            })
            .sum()
    };
    let r = |c: usize| c as f64 / total.max(1) as f64;
    let c4 = caught(4.0);
    PointScores {
        recall_at_2: r(caught(2.0)),
        recall_at_4: r(c4),
        recall_at_8: r(caught(8.0)),
        caught_at_4: c4,
        labels: total,
        clips_per_hour: streams.iter().map(|s| pick(s).len()).sum::<usize>() as f64
            / hours.max(1e-9),
    }
}

/// Interval scores, as the data README defines them.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct IntervalScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub precision_at_4: f64,
    pub recall_at_4: f64,
    pub chance: f64,
    pub clips_per_hour: f64,
}

pub fn score_intervals(
    streams: &[Stream],
    labels: &HashMap<String, Vec<(f64, f64)>>,
    pick: fn(&Stream) -> &[Detection],
) -> IntervalScores {
    let correct = |d: &Detection, ls: &[(f64, f64)]| {
        ls.iter().any(|(s, e)| d.t >= s - 10.0 && d.t <= e + 30.0)
    };
    let (mut det, mut ok, mut det4, mut ok4) = (0usize, 0usize, 0usize, 0usize);
    let (mut hit, mut hit4, mut total) = (0usize, 0usize, 0usize);
    let (mut covered, mut seconds) = (0f64, 0f64);
    for s in streams {
        let empty = Vec::new();
        let ls = labels.get(&s.id).unwrap_or(&empty);
        let all = pick(s);
        let kept = top_k(all, budget_k(4.0, s.seconds));
        det += all.len();
        ok += all.iter().filter(|d| correct(d, ls)).count();
        det4 += kept.len();
        ok4 += kept.iter().filter(|d| correct(d, ls)).count();
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
    }
}

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

/// Everything `clipper eval` measured.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "labels", rename_all = "snake_case")]
pub enum Report {
    Points {
        ours: PointScores,
        baseline: PointScores,
    },
    Intervals {
        ours: IntervalScores,
        baseline: IntervalScores,
    },
}

/// Replay `files` (as `clipper replay` would) and score against `labels`.
pub fn evaluate(
    files: &[PathBuf],
    labels: &Labels,
    opts: &ReplayOptions,
    chart_dir: Option<&Path>,
) -> Result<(Report, Vec<Stream>, replay::ReplaySummary)> {
    let mut sink = Collect {
        streams: Vec::new(),
        keep_windows: chart_dir.is_some(),
    };
    let summary = replay::replay_files(files, opts, &mut sink)?;
    let mut streams = sink.streams;
    for s in &mut streams {
        let channel = opts
            .channel
            .clone()
            .unwrap_or_else(|| replay::default_channel(&s.path));
        s.baseline = zscore_baseline(&per_second_counts(&s.path, &channel)?);
    }
    fn ours(s: &Stream) -> &[Detection] {
        &s.ours
    }
    fn base(s: &Stream) -> &[Detection] {
        &s.baseline
    }
    let report = match labels {
        Labels::Points(l) => Report::Points {
            ours: score_points(&streams, l, ours),
            baseline: score_points(&streams, l, base),
        },
        Labels::Intervals(l) => Report::Intervals {
            ours: score_intervals(&streams, l, ours),
            baseline: score_intervals(&streams, l, base),
        },
    };
    if let Some(dir) = chart_dir {
        for s in &streams {
            crate::chart::write_chart(dir, s, labels)?;
        }
    }
    Ok((report, streams, summary))
}

/// The report as a small table.
pub fn render(report: &Report, streams: usize, hours: f64) -> String {
    match report {
        Report::Points { ours, baseline } => {
            let row = |name: &str, s: &PointScores| {
                format!(
                    "{name:<18} {:>8.2} {:>7.2} {:>7.2} {:>7.2}\n",
                    s.clips_per_hour, s.recall_at_2, s.recall_at_4, s.recall_at_8
                )
            };
            format!(
                "{streams} streams, {hours:.1} h, {} labels (hot-clip recall at a budget)\n{:<18} {:>8} {:>7} {:>7} {:>7}\n{}{}",
                ours.labels, "detector", "clips/h", "R@2/h", "R@4/h", "R@8/h",
                row("clipper", ours),
                row("z-score baseline", baseline)
            )
        }
        Report::Intervals { ours, baseline } => {
            let row = |name: &str, s: &IntervalScores| {
                format!(
                    "{name:<18} {:>8.2} {:>6.2} {:>6.2} {:>6.2} {:>7.2} {:>7.2} {:>7.2}\n",
                    s.clips_per_hour,
                    s.precision,
                    s.recall,
                    s.f1,
                    s.precision_at_4,
                    s.recall_at_4,
                    s.chance
                )
            };
            format!(
                "{streams} streams, {hours:.1} h (highlight intervals)\n{:<18} {:>8} {:>6} {:>6} {:>6} {:>7} {:>7} {:>7}\n{}{}",
                "detector", "clips/h", "P", "R", "F1", "P@4/h", "R@4/h", "chance",
                row("clipper", ours),
                row("z-score baseline", baseline)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(id: &str, secs: f64, ours: &[(f64, f64)]) -> Stream {
        Stream {
            id: id.into(),
            seconds: secs,
            ours: ours
                .iter()
                .map(|&(t, score)| Detection { t, score })
                .collect(),
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
}
