//! Scale-free evidence: what a window says against the channel's own trailing level.
//!
//! Every quantity here is a ratio to the channel's recent normal, so a chat of 3 messages a
//! minute and one of 300 a second are read on the same scale:
//!
//! * **activity**: messages in the last 5, 20 and 60 s and distinct chatters in the last 20 s,
//!   each as `ln((x + k) / (level + k))` against the trailing **median** of the same quantity
//!   (robust: the channel's own bursts do not inflate it), with a pseudo-count `k` so that a
//!   quiet channel's 1 → 3 messages is no event; and a Poisson tail guard (Anscombe) on the 20 s
//!   count, which stays small when few messages are involved.
//! * **content**: the window's reaction tokens ([`crate::text::reaction_tokens`]) weighted by
//!   what each token means *for this channel*: the [`Lexicon`] learns, per channel, how much a
//!   token rises in the channel's bursts, starting from a global prior learned from labelled
//!   chat in several languages (`data/reaction-prior.json`). Shares are shrunk toward the
//!   channel's normal by a prior of a few messages, so a tiny window cannot look extreme.
//!
//! [`Levels`] holds the trailing state; [`Levels::evidence`] reads a window against it and
//! [`Levels::learn`] then folds the window in. Pure: no clock, no I/O.

use crate::model::Ewma;
use crate::window::WindowFeatures;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::LazyLock;

/// Settings of the evidence layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvidenceConfig {
    /// Windows the trailing medians look back over. Default 180 (15 min of 5 s windows).
    pub level_windows: usize,
    /// Windows needed before levels count (before that, activity evidence is 0). Default 24
    /// (2 min).
    pub min_level_windows: usize,
    /// Pseudo-count (messages, chatters) added to both sides of a ratio. Default 3.
    pub pseudo_count: f64,
    /// Prior, in messages, that shrinks a window's shares toward the channel's normal.
    /// Default 40: a share from a window of a few messages is weak evidence, and with 10 a
    /// window of two laughing messages read almost like a laughing crowd (on small chat most
    /// false clips were such windows; 40 raised dota2 precision at 4/h at every size, see the
    /// README).
    pub share_prior: f64,
    /// A window is a burst (teaches the lexicon) when its 20 s messages are at least this many
    /// times the level. Default 2.
    pub burst_ratio: f64,
    /// Tokens a channel's lexicon keeps (most used first). Default 1,500.
    pub lexicon_tokens: usize,
    /// Burst appearances at which a channel's own view of a token weighs as much as the
    /// global prior. Default 6.
    pub lexicon_prior_weight: f64,
    /// A reaction prior to use instead of the shipped one (token → weight); for learning and
    /// validating a prior on some data sets while scoring others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior: Option<FxHashMap<String, f64>>,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            level_windows: 180,
            min_level_windows: 24,
            pseudo_count: 3.0,
            share_prior: 40.0,
            burst_ratio: 2.0,
            lexicon_tokens: 1_500,
            lexicon_prior_weight: 6.0,
            prior: None,
        }
    }
}

/// Names of the evidence features, in [`Evidence::vector`] order. The learned combination
/// (`decision::Weights`) and the forest read these.
pub const EVIDENCE_NAMES: [&str; 13] = [
    "act5", "act20", "act60", "chat20", "pois20", "z5", "z20", "react", "conc", "laugh", "hype",
    "question", "clip",
];

/// What a window shows against the channel's own level. All 0 until the levels are warm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// `ln` ratio of messages in the last 5 / 20 / 60 s to the channel's level.
    pub act5: f64,
    pub act20: f64,
    pub act60: f64,
    /// `ln` ratio of distinct chatters in the last 20 s to their level.
    pub chat20: f64,
    /// Poisson tail guard: Anscombe difference of the 20 s count from its level (≈ z).
    pub pois20: f64,
    /// Short-horizon surprise: the 5 s and 20 s counts against the mean and spread of the same
    /// counts over the 5 minutes before (spread at least 1 message), clamped to [-5, 10].
    pub z5: f64,
    pub z20: f64,
    /// Reaction content: chatter shares of the window's reaction tokens × what they mean for
    /// the channel, above the channel's normal.
    pub react: f64,
    /// Concentration: the largest share of chatters on one token, above normal (any language:
    /// everybody typing the same thing).
    pub conc: f64,
    /// Laughter, hype and `?` shares (shrunk to normal), as `ln` ratios to normal.
    pub laugh: f64,
    pub hype: f64,
    pub question: f64,
    /// Clip calls ("clip it"), shrunk share, as a `ln` ratio to normal.
    pub clip: f64,
    /// The channel's level: median messages per 5 s window.
    pub level_msgs: f64,
    /// Whether the levels were warm (enough history) for this window.
    pub warm: bool,
}

impl Evidence {
    /// The features in [`EVIDENCE_NAMES`] order.
    pub fn vector(&self) -> [f64; EVIDENCE_NAMES.len()] {
        [
            self.act5,
            self.act20,
            self.act60,
            self.chat20,
            self.pois20,
            self.z5,
            self.z20,
            self.react,
            self.conc,
            self.laugh,
            self.hype,
            self.question,
            self.clip,
        ]
    }
}

/// The median of counts read as a continuous quantity: counts are whole numbers, so with many
/// ties the plain median jumps (a small chat whose 5 s counts are 0 six times in ten and 1 or
/// 2 otherwise has median 0, and every message then reads as a burst over nothing). Each count
/// `m` stands for the unit interval around it, and the median is placed inside the middle
/// value's interval by how many values share it (the grouped-data median):
/// `m − ½ + (n/2 − below) / at`. With few ties (a big chat) it moves the median by under ½.
fn interpolated_median(m: f64, values: &[f64]) -> f64 {
    let (mut below, mut at) = (0usize, 0usize);
    for &v in values {
        if v < m {
            below += 1;
        } else if v == m {
            at += 1;
        }
    }
    if at == 0 {
        return m;
    }
    let half = values.len() as f64 / 2.0;
    (m - 0.5 + (half - below as f64) / at as f64).clamp((m - 0.5).max(0.0), m + 0.5)
}

/// A ring of the last values of a per-window quantity and its median, recomputed every few
/// windows (the level moves slowly; this keeps it off the per-window cost).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Level {
    ring: VecDeque<f64>,
    median: f64,
    #[serde(default)]
    since: u32,
}

const RECOMPUTE_EVERY: u32 = 4;

impl Level {
    fn push(&mut self, x: f64, cap: usize, scratch: &mut Vec<f64>) {
        if !x.is_finite() {
            return;
        }
        while self.ring.len() >= cap.max(1) {
            self.ring.pop_front();
        }
        self.ring.push_back(x);
        self.since += 1;
        if self.since >= RECOMPUTE_EVERY || self.ring.len() < 64 {
            self.since = 0;
            scratch.clear();
            scratch.extend(self.ring.iter().copied());
            let mid = scratch.len() / 2;
            let (_, m, _) = scratch.select_nth_unstable_by(mid, f64::total_cmp);
            self.median = interpolated_median(*m, scratch);
        }
    }

    pub fn median(&self) -> f64 {
        self.median
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// Mean and spread of the last `SHORT_WINDOWS` values of a count, skipping the newest `lag`
/// (so a 20 s count is compared with counts that do not overlap it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShortStats {
    ring: VecDeque<f64>,
    lagged: VecDeque<f64>,
    sum: f64,
    sum_sq: f64,
}

/// Five minutes of 5 s windows.
const SHORT_WINDOWS: usize = 60;

impl ShortStats {
    fn push(&mut self, x: f64, lag: usize) {
        self.lagged.push_back(x);
        while self.lagged.len() > lag {
            let Some(v) = self.lagged.pop_front() else {
                break;
            };
            self.ring.push_back(v);
            self.sum += v;
            self.sum_sq += v * v;
            while self.ring.len() > SHORT_WINDOWS {
                if let Some(old) = self.ring.pop_front() {
                    self.sum -= old;
                    self.sum_sq -= old * old;
                }
            }
        }
    }

    /// z of `x` against the ring; 0 with less than a minute of history.
    fn z(&self, x: f64) -> f64 {
        let n = self.ring.len() as f64;
        if n < 12.0 {
            return 0.0;
        }
        let mean = self.sum / n;
        let var = (self.sum_sq / n - mean * mean).max(0.0);
        ((x - mean) / var.sqrt().max(1.0)).clamp(-5.0, 10.0)
    }
}

/// How a channel uses one reaction token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenStat {
    /// Sum of the token's chatter share over all windows, and over burst windows.
    pub all: f64,
    pub burst: f64,
    /// Burst windows it appeared in.
    pub bursts: f64,
}

/// The global prior: reaction tokens and their weights learned from labelled chat in several
/// languages (see `infra/scripts/learn-weights.py`).
static PRIOR: LazyLock<FxHashMap<String, f64>> = LazyLock::new(|| {
    serde_json::from_str::<FxHashMap<String, f64>>(include_str!("../data/reaction-prior.json"))
        .unwrap_or_default()
});

/// The prior weight of a token (0 when unknown): from `c.prior` when set, else shipped.
pub fn prior_weight(token: &str, c: &EvidenceConfig) -> f64 {
    c.prior
        .as_ref()
        .unwrap_or(&PRIOR)
        .get(token)
        .copied()
        .unwrap_or(0.0)
}

/// What reaction tokens mean for one channel, learned from how much they rise in its bursts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lexicon {
    pub tokens: FxHashMap<String, TokenStat>,
    /// Windows and burst windows seen (decayed with the sums).
    pub windows: f64,
    pub burst_windows: f64,
}

impl Lexicon {
    /// The weight of `token` for this channel: the log lift of its share in bursts over its
    /// share overall, blended with the global prior by how often the channel has shown it.
    pub fn weight(&self, token: &str, c: &EvidenceConfig) -> f64 {
        let prior_weight_n = c.lexicon_prior_weight;
        let prior = prior_weight(token, c);
        let Some(s) = self.tokens.get(token) else {
            return prior;
        };
        if self.burst_windows < 1.0 || self.windows < 1.0 {
            return prior;
        }
        let eps = 0.01;
        let lift = ((s.burst / self.burst_windows + eps) / (s.all / self.windows + eps)).ln();
        let own = lift.clamp(0.0, 3.0);
        (s.bursts * own + prior_weight_n * prior) / (s.bursts + prior_weight_n)
    }

    fn learn(&mut self, w: &WindowFeatures, burst: bool, c: &EvidenceConfig) {
        self.windows += 1.0;
        if burst {
            self.burst_windows += 1.0;
        }
        let denom = f64::from(w.chatters) + 5.0;
        for t in &w.top_tokens {
            let share = f64::from(t.chatters) / denom;
            if let Some(s) = self.tokens.get_mut(t.token.as_str()) {
                s.all += share;
                if burst {
                    s.burst += share;
                    s.bursts += 1.0;
                }
            } else if self.tokens.len() < c.lexicon_tokens * 2 {
                self.tokens.insert(
                    t.token.clone(),
                    TokenStat {
                        all: share,
                        burst: if burst { share } else { 0.0 },
                        bursts: if burst { 1.0 } else { 0.0 },
                    },
                );
            }
        }
        // Forget slowly (half every ~28 h of windows) and keep the table bounded.
        if self.windows > 20_000.0 {
            self.windows *= 0.5;
            self.burst_windows *= 0.5;
            for s in self.tokens.values_mut() {
                s.all *= 0.5;
                s.burst *= 0.5;
                s.bursts *= 0.5;
            }
        }
        if self.tokens.len() >= c.lexicon_tokens * 2 {
            let mut v: Vec<(String, TokenStat)> = self.tokens.drain().collect();
            v.sort_by(|a, b| (b.1.all + b.1.burst).total_cmp(&(a.1.all + a.1.burst)));
            v.truncate(c.lexicon_tokens);
            self.tokens = v.into_iter().collect();
        }
    }
}

/// The channel's trailing state for evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Levels {
    pub msgs: Level,
    #[serde(default)]
    pub short5: ShortStats,
    #[serde(default)]
    pub short20: ShortStats,
    pub chatters_20s: Level,
    pub react: Ewma,
    pub conc: Ewma,
    pub laugh: Ewma,
    pub hype: Ewma,
    pub question: Ewma,
    pub clip: Ewma,
    pub lexicon: Lexicon,
    #[serde(skip)]
    scratch: Vec<f64>,
}

/// Reaction content of a window: raw (token shares × weights) and concentration.
fn content(w: &WindowFeatures, lex: &Lexicon, c: &EvidenceConfig) -> (f64, f64) {
    let denom = f64::from(w.chatters) + 5.0;
    let mut react = 0.0;
    let mut conc: f64 = 0.0;
    for t in &w.top_tokens {
        let share = f64::from(t.chatters) / denom;
        react += share * lex.weight(&t.token, c);
        conc = conc.max(share);
    }
    (react.min(3.0), conc)
}

impl Levels {
    /// Read `w` against the levels (before learning from it).
    pub fn evidence(&self, w: &WindowFeatures, c: &EvidenceConfig) -> Evidence {
        let hop_s = (w.end_ms.saturating_sub(w.start_ms) as f64 / 1000.0).max(0.001);
        let k = c.pseudo_count;
        let m = self.msgs.median();
        let warm = self.msgs.len() >= c.min_level_windows.max(1);
        let n5 = f64::from(w.messages);
        let n20 = w.rate_20s * 4.0 * hop_s;
        let n60 = w.rate_60s * 12.0 * hop_s;
        let lr = |x: f64, level: f64| ((x + k) / (level + k)).ln();
        let anscombe = |x: f64, lambda: f64| {
            (2.0 * ((x + 0.375).sqrt() - (lambda + 0.375).sqrt())).clamp(-5.0, 15.0)
        };
        let (react_raw, conc_raw) = content(w, &self.lexicon, c);
        // Shares shrunk toward the channel's normal by a prior of `share_prior` messages.
        let a = c.share_prior;
        let shrink = |share: f64, normal: &Ewma| {
            let p0 = normal.mean.max(0.0);
            let p = (share * n5 + a * p0) / (n5 + a);
            ((p + 0.02) / (p0 + 0.02)).ln()
        };
        let clip_share = f64::from(w.clip_mentions) / n5.max(1.0);
        if !warm {
            return Evidence {
                level_msgs: m,
                ..Evidence::default()
            };
        }
        Evidence {
            act5: lr(n5, m),
            act20: lr(n20, 4.0 * m),
            act60: lr(n60, 12.0 * m),
            chat20: lr(f64::from(w.chatters_20s), self.chatters_20s.median()),
            pois20: anscombe(n20, 4.0 * m),
            z5: self.short5.z(n5),
            z20: self.short20.z(n20),
            react: (react_raw - self.react.mean.max(0.0)).max(-1.0)
                * (n5 / (n5 + a)).max(0.0)
                * 2.0,
            conc: (conc_raw - self.conc.mean.max(0.0)) * 2.0,
            laugh: shrink(w.laugh_share, &self.laugh),
            hype: shrink(w.hype_share, &self.hype),
            question: shrink(w.question_share, &self.question),
            clip: shrink(clip_share, &self.clip),
            level_msgs: m,
            warm,
        }
    }

    /// Fold `w` into the levels (after it was read).
    pub fn learn(&mut self, w: &WindowFeatures, c: &EvidenceConfig, halflife: f64) {
        let hop_s = (w.end_ms.saturating_sub(w.start_ms) as f64 / 1000.0).max(0.001);
        let m = self.msgs.median();
        let n20 = w.rate_20s * 4.0 * hop_s;
        let burst = self.msgs.len() >= c.min_level_windows.max(1)
            && w.chatters >= 3
            && n20 >= c.burst_ratio * 4.0 * m.max(0.25);
        let cap = c.level_windows;
        self.msgs
            .push(f64::from(w.messages), cap, &mut self.scratch);
        self.chatters_20s
            .push(f64::from(w.chatters_20s), cap, &mut self.scratch);
        self.short5.push(f64::from(w.messages), 0);
        self.short20.push(n20, 3);
        if w.messages > 0 {
            let (react, conc) = content(w, &self.lexicon, c);
            self.react.update(react, halflife);
            self.conc.update(conc, halflife);
            self.laugh.update(w.laugh_share, halflife);
            self.hype.update(w.hype_share, halflife);
            self.question.update(w.question_share, halflife);
            self.clip
                .update(f64::from(w.clip_mentions) / f64::from(w.messages), halflife);
            self.lexicon.learn(w, burst, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::TokenCount;

    fn window(messages: u32, chatters: u32, tokens: &[(&str, u32)]) -> WindowFeatures {
        WindowFeatures {
            channel: "c".into(),
            start_ms: 0,
            end_ms: 5_000,
            messages,
            rate: f64::from(messages) / 5.0,
            rate_20s: f64::from(messages) / 5.0,
            rate_60s: f64::from(messages) / 5.0,
            chatters,
            chatters_60s: chatters,
            emotes: 0,
            emote_density: 0.0,
            emote_msg_share: 0.0,
            top_emote: None,
            top_emote_share: 0.0,
            top_emote_chatters: 0.0,
            laugh_share: 0.0,
            hype_share: 0.0,
            question_share: 0.0,
            exclaim_share: 0.0,
            elongated_share: 0.0,
            caps_ratio: 0.0,
            dup_share: 0.0,
            top_phrase: None,
            top_phrase_share: 0.0,
            mean_len: 5.0,
            sentiment: 0.0,
            clip_mentions: 0,
            bits: 0,
            subs: 0,
            raid_viewers: 0,
            viewers: None,
            chatters_20s: chatters,
            top_tokens: tokens
                .iter()
                .map(|(t, n)| TokenCount {
                    token: (*t).into(),
                    chatters: *n,
                })
                .collect(),
        }
    }

    #[test]
    fn ratios_are_scale_free_and_small_counts_are_guarded() {
        let c = EvidenceConfig::default();
        for (normal, burst) in [(10u32, 40u32), (1000, 4000)] {
            let mut l = Levels::default();
            for _ in 0..60 {
                l.learn(&window(normal, normal / 2, &[]), &c, 360.0);
            }
            let e = l.evidence(&window(burst, burst / 2, &[]), &c);
            assert!(e.warm);
            assert!((e.act5 - 4f64.ln()).abs() < 0.25, "{normal}: {e:?}");
        }
        // A quiet channel: 0-1 messages a window, then 3.
        let mut l = Levels::default();
        for i in 0..60 {
            l.learn(&window(i % 2, i % 2, &[]), &c, 360.0);
        }
        let e = l.evidence(&window(3, 3, &[]), &c);
        // The level is 0.5 a window (the alternation's mean, not the plain median's 1), so
        // 12 messages in 20 s over an expected 2 is a real rise; the pseudo-count and the
        // Anscombe guard keep it far below the unguarded z (5.0).
        assert!((e.level_msgs - 0.5).abs() < 1e-9, "{e:?}");
        assert!(e.act5 < 0.8, "{e:?}");
        assert!(e.pois20 < 4.5 && e.pois20 < e.z20, "{e:?}");
    }

    #[test]
    fn interpolated_median_of_counts() {
        let med = |v: &[f64]| {
            let mut s = v.to_vec();
            let mid = s.len() / 2;
            let (_, m, _) = s.select_nth_unstable_by(mid, f64::total_cmp);
            let m = *m;
            interpolated_median(m, &s)
        };
        // Six windows of 0 messages in ten: the plain median is 0, the level a third.
        let quiet = [0., 0., 0., 0., 0., 0., 1., 1., 1., 2.];
        assert!((med(&quiet) - 1.0 / 3.0).abs() < 1e-12);
        // All the same: that value. All 0: 0 (never below).
        assert_eq!(med(&[4.0; 9]), 4.0);
        assert_eq!(med(&[0.0; 9]), 0.0);
        // A big chat with few ties moves by less than a half.
        let big: Vec<f64> = (0..101).map(|i| f64::from(200 + (i * 37) % 101)).collect();
        assert!((med(&big) - 250.0).abs() <= 0.5, "{}", med(&big));
        // More mass below the middle value lowers the level, more above raises it.
        assert!(med(&[1., 1., 2., 2., 2., 3., 3.]) < med(&[1., 2., 2., 2., 3., 3., 3.]));
    }

    #[test]
    fn short_horizon_surprise() {
        let c = EvidenceConfig::default();
        let mut l = Levels::default();
        for i in 0..80 {
            l.learn(&window(8 + i % 3, 6, &[]), &c, 360.0);
        }
        let e = l.evidence(&window(30, 20, &[]), &c);
        assert!(e.z5 > 5.0 && e.z20 > 5.0, "{e:?}");
        let e = l.evidence(&window(9, 6, &[]), &c);
        assert!(e.z5.abs() < 1.0, "{e:?}");
    }

    #[test]
    fn lexicon_learns_what_rises_in_bursts() {
        let c = EvidenceConfig::default();
        let mut l = Levels::default();
        for i in 0..400 {
            // Normal chat greets; bursts (every 40th window) are "55" (crying here).
            if i % 40 == 39 {
                l.learn(&window(60, 40, &[("55", 30), ("hi", 2)]), &c, 360.0);
            } else {
                l.learn(&window(10, 8, &[("hi", 3)]), &c, 360.0);
            }
        }
        assert!(l.lexicon.weight("55", &c) > 1.0, "{:?}", l.lexicon.tokens);
        assert!(l.lexicon.weight("hi", &c) < 0.3);
        let calm = l.evidence(&window(10, 8, &[("hi", 3)]), &c);
        let burst = l.evidence(&window(12, 10, &[("55", 8)]), &c);
        assert!(burst.react > calm.react + 0.3, "{calm:?} {burst:?}");
    }
}
