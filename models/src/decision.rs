//! The hybrid decision: rule triggers scaled by viewer count, the anomaly score, a combined
//! score; triggers inside a cooldown merge into one clip at the peak; a forced path for
//! `!testclip`.
//!
//! [`Decider`] is a state machine on event time. [`Decider::on_window`] may open a pending clip
//! (returning a [`Trigger`]); later windows before the clip is due move its peak;
//! [`Decider::poll`] with a time at or past `fire_at_ms` hands out the [`ClipDecision`]. The
//! driver calls `poll` from a timer live, and with window times in replay.

use crate::evidence::EVIDENCE_NAMES;
use crate::message::Millis;
use crate::model::Assessment;
use crate::window::WindowFeatures;
use serde::{Deserialize, Serialize};

/// Settings of the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionConfig {
    /// Combined score (0..1) at or above which a window triggers while the channel has no
    /// score history of its own. Default: the threshold learned with the weights
    /// (`data/weights.json`), which gives about `target_clips_per_hour` on labelled chat.
    pub threshold: f64,
    /// Clips per hour of the channel's stream the adaptive threshold aims at: the threshold
    /// is the score that would have made that many clips over the channel's last 2 h (see
    /// [`ScoreLevel`]), never below `floor`. 0 turns adaptation off (then `threshold` applies
    /// as written). Default 4.
    pub target_clips_per_hour: f64,
    /// The adaptive threshold never goes below this score: a dull stream makes few clips or
    /// none. Default 0.5.
    pub floor: f64,
    /// Windows of the channel's own score history that weigh as much as `threshold` in the
    /// adaptive threshold (its prior). Default 30 (2.5 min).
    pub prior_windows: f64,
    /// Clip this long after the trigger so that the reaction is inside it. Default 7,000 ms.
    pub clip_delay_ms: Millis,
    /// No second clip within this long after a clip's trigger; triggers inside merge into it.
    /// Default 60,000 ms.
    pub cooldown_ms: Millis,
    /// Fewest messages in the last 20 s for an automatic trigger. Default 2, which the
    /// chatter gate below implies at its default; it binds when `min_chatters_20s` is set lower.
    pub min_messages_20s: f64,
    /// Fewest messages in the triggering window itself (its 5 s) for an automatic trigger.
    /// Default 1: the window must carry some of the reaction; how many people reacted is
    /// `min_chatters_20s`'s job. (It was 3 and did that job alone: in small chat it held a
    /// clip back until three messages fell into one window, often the tail of a long burst;
    /// of dota2's wrong clips at 1 in 30, 109 of 175 came 30–90 s after a highlight's end.
    /// README: 0 to 3 compared.)
    pub min_messages_5s: f64,
    /// Fewest standard deviations the 20 s count must rise over the channel's level
    /// (`pois20`, Anscombe) for an automatic trigger. Default 1.5: in small chat two or three
    /// messages over a level of one or two are noise, however they laugh (pooled over every
    /// draw of 1 in 30, dota2 clips from 1 message in 5 s were right 0.38 of the time, from 4,
    /// 0.69); a big chat's moments rise far more. README: 1, 1.5, 2 and 3 compared.
    pub min_rise_z: f64,
    /// Fewest distinct chatters in the last 20 s (the window's own chatters when the window
    /// does not say: an older relay) for an automatic trigger. Default 5: a moment is several
    /// people reacting, not one chatter's three messages. A chat of a message a second or more
    /// passes it at every real burst; in a chat of a few messages a minute it is what tells a
    /// reaction from a conversation. In place of a 5 s gate of 3 messages (same weights,
    /// pooled over every draw) it raised dota2's precision at 4/h at 1 in 30 from 0.59 to 0.62
    /// and kimdoe's recall at 4/h from 0.34 to 0.36 (1 in 10: 0.68 to 0.68, 0.49 to 0.53); full
    /// chat kept its clips but one. README: 4, 5 and 6 compared.
    pub min_chatters_20s: f64,
    /// Clip-call rule: messages asking for a clip in one window (reported as the trigger kind;
    /// the clip-call share is part of the learned score). Default 3.
    pub clip_calls: u32,
    /// How far before the onset of a burst the moment is taken to start (chat reacts after
    /// what it reacts to). The clip reaches back this far, within Twitch's 60 s. Default
    /// 20,000 ms, from labelled chat (`infra/scripts/learn-weights.py` prints the lag).
    pub lead_ms: Millis,
    /// Shortest and longest clip to request (Twitch: 5–60 s). Defaults 30 s and 60 s.
    pub min_duration_ms: Millis,
    pub max_duration_ms: Millis,
    /// The learned combination of the evidence.
    pub weights: Weights,
    /// Parts of the score switched off, for ablation studies (`clipper eval --ablate`).
    pub ablate: Ablation,
}

/// Which evidence the combined score leaves out (all on by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ablation {
    /// Without the per-channel Isolation Forest.
    pub forest: bool,
    /// Without content (reactions, laughter, emotes, ...).
    pub content: bool,
    /// Without activity (message rate and chatters against the channel's level).
    pub activity: bool,
}

/// Names of the score's inputs: the evidence ([`EVIDENCE_NAMES`]) and the forest's novelty.
pub fn input_names() -> impl Iterator<Item = &'static str> {
    EVIDENCE_NAMES.iter().copied().chain(["novelty"])
}

/// Which part of the score an input belongs to.
fn part_of(name: &str) -> Part {
    match name {
        "act5" | "act20" | "act60" | "chat20" | "pois20" => Part::Activity,
        "novelty" => Part::Forest,
        _ => Part::Content,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Activity,
    Content,
    Forest,
}

/// [`Weights::features`] in [`input_names`] order (0 for a missing name).
pub type DenseWeights = [f64; EVIDENCE_NAMES.len() + 1];

/// A logistic combination of the inputs, learned from labelled chat of several languages
/// (`infra/scripts/learn-weights.py`; shipped as `models/data/weights.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    pub intercept: f64,
    /// Weight per input name ([`input_names`]); a missing name weighs 0.
    pub features: std::collections::BTreeMap<String, f64>,
    /// The threshold learned with these weights.
    pub threshold: f64,
}

#[derive(Deserialize)]
struct ShippedWeights {
    #[serde(flatten)]
    weights: Weights,
}

static SHIPPED: std::sync::LazyLock<Weights> = std::sync::LazyLock::new(|| {
    serde_json::from_str::<ShippedWeights>(include_str!("../data/weights.json"))
        .map(|s| s.weights)
        .unwrap_or_default()
});

impl Default for Weights {
    fn default() -> Self {
        Weights {
            intercept: 0.0,
            features: Default::default(),
            threshold: 0.5,
        }
    }
}

impl Weights {
    /// The weights shipped with this build.
    pub fn shipped() -> Weights {
        SHIPPED.clone()
    }

    /// Dense weights in [`input_names`] order.
    pub fn dense(&self) -> DenseWeights {
        let mut out = [0.0; EVIDENCE_NAMES.len() + 1];
        for (o, name) in out.iter_mut().zip(input_names()) {
            *o = self.features.get(name).copied().unwrap_or(0.0);
        }
        out
    }
}

impl Default for DecisionConfig {
    fn default() -> Self {
        let weights = Weights::shipped();
        DecisionConfig {
            threshold: weights.threshold,
            target_clips_per_hour: 4.0,
            floor: 0.5,
            prior_windows: SCORE_PRIOR_WINDOWS,
            clip_delay_ms: 7_000,
            cooldown_ms: 60_000,
            min_messages_20s: 2.0,
            min_messages_5s: 1.0,
            min_rise_z: 1.5,
            min_chatters_20s: 5.0,
            clip_calls: 3,
            lead_ms: 20_000,
            min_duration_ms: 30_000,
            max_duration_ms: 60_000,
            weights,
            ablate: Ablation::default(),
        }
    }
}

/// Which rules fired on a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHits {
    pub velocity: bool,
    pub emote_burst: bool,
    pub laughter: bool,
    pub clip_call: bool,
}

impl RuleHits {
    pub fn any(&self) -> bool {
        self.velocity || self.emote_burst || self.laughter || self.clip_call
    }
}

/// Why a clip was made: the strongest reason at its peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    Velocity,
    EmoteBurst,
    Laughter,
    ClipCall,
    Anomaly,
    Combined,
    Forced,
}

impl std::fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            TriggerKind::Velocity => "velocity",
            TriggerKind::EmoteBurst => "emote_burst",
            TriggerKind::Laughter => "laughter",
            TriggerKind::ClipCall => "clip_call",
            TriggerKind::Anomaly => "anomaly",
            TriggerKind::Combined => "combined",
            TriggerKind::Forced => "forced",
        };
        f.write_str(s)
    }
}

/// The decision layer's view of one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Named reasons (for the trigger kind and the record; they add nothing to the score).
    pub rules: RuleHits,
    /// Contributions to the score's logit: activity (rate and chatters against the channel's
    /// level), content (reactions against the channel's normal) and the forest's novelty.
    pub activity: f64,
    pub content: f64,
    pub anomaly: f64,
    /// The combined score (0..1) the threshold applies to.
    pub combined: f64,
    /// The threshold in force for this window (the channel's adaptive one, see
    /// [`ScoreLevel`]).
    #[serde(default)]
    pub threshold: f64,
    /// Whether the window is part of a rise (for the moment's onset).
    #[serde(default)]
    pub rising: bool,
    /// The window lacks the evidence for an automatic trigger (fewer than `min_messages_20s`,
    /// `min_messages_5s` or `min_chatters_20s`, no rise of `min_rise_z`, or cold levels): it
    /// never triggers, and its `combined` is scaled by [`GATED_SCALE`] (0 when cold), so it
    /// still ranks by its evidence, below the windows that may trigger.
    #[serde(default)]
    pub gated: bool,
}

/// What a gated window's score is scaled by. Not 0: a small chat's spikes are mostly gated,
/// and at 0 they all tie (chatinterpreter's AUC at 1 chatter in 30 fell to 0.49 with the
/// `min_messages_5s` gate, against 0.58 ranked this way). A window that may trigger nearly
/// always scores above 0.01.
pub const GATED_SCALE: f64 = 0.01;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Score one window: the learned combination of its evidence and the forest's novelty.
pub fn score(w: &WindowFeatures, a: &Assessment, c: &DecisionConfig) -> Scores {
    score_with(w, a, c, &c.weights.dense())
}

/// [`score`] with `c.weights` already in input order ([`Weights::dense`]): a scorer resolves
/// them once instead of by name every window.
pub fn score_with(
    w: &WindowFeatures,
    a: &Assessment,
    c: &DecisionConfig,
    weights: &DenseWeights,
) -> Scores {
    let e = &a.evidence;
    let novelty = if e.warm {
        a.anomaly_rel.clamp(0.0, 3.0)
    } else {
        0.0
    };
    let mut parts = [0.0f64; 3];
    for ((name, x), wt) in input_names()
        .zip(e.vector().into_iter().chain([novelty]))
        .zip(weights)
    {
        let part = part_of(name);
        let off = match part {
            Part::Activity => c.ablate.activity,
            Part::Content => c.ablate.content,
            Part::Forest => c.ablate.forest,
        };
        if !off && x.is_finite() {
            parts[part as usize] += wt * x;
        }
    }
    let logit = c.weights.intercept + parts.iter().sum::<f64>();
    let n20 = w.rate_20s * 4.0 * (w.end_ms.saturating_sub(w.start_ms) as f64 / 1000.0);
    let enough = e.warm
        && n20 >= c.min_messages_20s
        && f64::from(w.messages) >= c.min_messages_5s
        && e.pois20 >= c.min_rise_z
        && f64::from(w.chatters_20s.max(w.chatters)) >= c.min_chatters_20s;
    let combined = match (e.warm, enough) {
        (false, _) => 0.0,
        (true, true) => sigmoid(logit),
        (true, false) => sigmoid(logit) * GATED_SCALE,
    };
    let rules = RuleHits {
        velocity: e.act20 >= 3f64.ln(),
        emote_burst: w.emote_msg_share >= 0.5 && w.top_emote_chatters >= 0.35,
        laughter: w.laugh_share >= 0.3 && e.laugh >= 2f64.ln(),
        clip_call: w.clip_mentions >= c.clip_calls,
    };
    Scores {
        rules,
        activity: parts[Part::Activity as usize],
        content: parts[Part::Content as usize],
        anomaly: parts[Part::Forest as usize],
        combined,
        threshold: c.threshold,
        rising: e.warm && (e.act5 >= 0.4 || e.act20 >= 0.3),
        gated: !enough,
    }
}

fn kind_of(s: &Scores) -> TriggerKind {
    let r = s.rules;
    if r.clip_call {
        TriggerKind::ClipCall
    } else if r.laughter {
        TriggerKind::Laughter
    } else if r.emote_burst {
        TriggerKind::EmoteBurst
    } else if r.velocity {
        TriggerKind::Velocity
    } else if s.anomaly >= s.activity && s.anomaly >= s.content {
        TriggerKind::Anomaly
    } else {
        TriggerKind::Combined
    }
}

/// The channel's own score history: the scores of its last windows (0 where silent or too
/// thin to score), in order, and the threshold that would have made about
/// `target_clips_per_hour` clips over them, counting clips as the decider makes them (a
/// window at or above the threshold starts a clip unless it falls in the cooldown of the
/// previous one). Kept with the model.
///
/// Counting clips rather than taking a fixed quantile of windows matters on small chat: a
/// burst there spans one or two windows above the line, not the three of a large chat, and
/// many windows have too few messages to score, so a window quantile made a third of the
/// clips asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreLevel {
    ring: std::collections::VecDeque<f32>,
    /// The threshold the channel's own history gives (before the prior and the floor).
    quantile: f64,
    #[serde(default)]
    since: u32,
}

/// Score windows the adaptive threshold looks back over (2 h of 5 s windows).
const SCORE_WINDOWS: usize = 1_440;
/// Windows of its own history at which the channel's threshold weighs as much as the
/// shipped one (2.5 min; the default of `prior_windows`). At 10 min, short and small
/// streams stayed on the full-chat threshold and made too few clips (dota2 1-in-30: 0.39/h).
const SCORE_PRIOR_WINDOWS: f64 = 30.0;
/// Windows between recomputations once the ring holds 10 minutes (3 min: the level moves
/// slowly).
const RECOMPUTE_WINDOWS: u32 = 36;

impl ScoreLevel {
    /// The threshold in force now.
    pub fn threshold(&self, c: &DecisionConfig) -> f64 {
        if c.target_clips_per_hour <= 0.0 {
            return c.threshold;
        }
        let n = self.ring.len() as f64;
        let prior = c.prior_windows.max(0.0);
        let own = (n * self.quantile + prior * c.threshold) / (n + prior).max(1.0);
        own.max(c.floor)
    }

    /// Learn a window's score (every window; 0 for one too thin to score or silent).
    pub fn push(&mut self, combined: f64, hop_ms: Millis, c: &DecisionConfig) {
        if !combined.is_finite() || combined < 0.0 {
            return;
        }
        if self.ring.len() >= SCORE_WINDOWS {
            self.ring.pop_front();
        }
        self.ring.push_back(combined as f32);
        self.since += 1;
        if self.since >= RECOMPUTE_WINDOWS || self.ring.len() < 120 {
            self.since = 0;
            self.quantile = self.clip_threshold(hop_ms, c);
        }
    }

    /// The lowest score that, as a threshold over the ring, makes at most the target number
    /// of clips. The count cannot grow as the threshold rises (the greedy count is the most
    /// clips the cooldown allows among the windows above it), so a binary search over the
    /// ring's distinct scores finds it.
    fn clip_threshold(&self, hop_ms: Millis, c: &DecisionConfig) -> f64 {
        let hop = hop_ms.max(1);
        let hours = self.ring.len() as f64 * hop as f64 / 3_600_000.0;
        let target = (c.target_clips_per_hour * hours).max(1.0);
        let gap = (c.cooldown_ms / hop).max(1) as usize;
        // Only the top scores are candidates: every window at or above a threshold lies within
        // `gap` windows after one of its clips, so a threshold making at most `target` clips
        // has at most ⌊target⌋ × gap windows at or above it.
        let mut v: Vec<f32> = self.ring.iter().copied().filter(|&x| x > 0.0).collect();
        if v.is_empty() {
            return 1.0;
        }
        let keep = (target.floor() as usize)
            .saturating_mul(gap)
            .saturating_add(1);
        let cut = if v.len() > keep {
            let k = v.len() - keep;
            *v.select_nth_unstable_by(k, f32::total_cmp).1
        } else {
            0.0
        };
        // The windows that can matter, in ring order (ties with the cut included).
        let top: Vec<(usize, f32)> = self
            .ring
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, x)| x > 0.0 && x >= cut)
            .collect();
        let clips = |t: f32| {
            let mut n = 0usize;
            let mut free_at = 0usize;
            for &(i, x) in &top {
                if x >= t && i >= free_at {
                    n += 1;
                    free_at = i + gap;
                }
            }
            n as f64
        };
        v.clear();
        v.extend(top.iter().map(|&(_, x)| x));
        v.sort_unstable_by(f32::total_cmp);
        v.dedup();
        // The first candidate whose count is within the target.
        let (mut lo, mut hi) = (0usize, v.len() - 1);
        if clips(v[hi]) > target {
            // Even the highest score alone is too many (a tiny target): above it, no clip.
            return f64::from(v[hi]) + 1e-6;
        }
        while lo < hi {
            let mid = (lo + hi) / 2;
            if clips(v[mid]) <= target {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        f64::from(v[lo])
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// A window crossed the threshold: a clip is now pending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    pub channel: String,
    /// End of the window that triggered.
    pub trigger_ms: Millis,
    /// When the clip is due (`trigger_ms + clip_delay_ms`).
    pub fire_at_ms: Millis,
    pub kind: TriggerKind,
    pub score: f64,
}

impl From<&ClipDecision> for Trigger {
    fn from(c: &ClipDecision) -> Self {
        Trigger {
            channel: c.channel.clone(),
            trigger_ms: c.trigger_ms,
            fire_at_ms: c.fire_at_ms,
            kind: c.kind,
            score: c.score,
        }
    }
}

/// A clip to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipDecision {
    pub channel: String,
    /// End of the window that first triggered.
    pub trigger_ms: Millis,
    /// End of the highest-scoring window merged into this clip (the moment).
    pub peak_ms: Millis,
    /// When to call Create Clip.
    pub fire_at_ms: Millis,
    pub kind: TriggerKind,
    pub score: f64,
    pub scores: Scores,
    pub features: Option<WindowFeatures>,
    /// Triggering windows merged into this clip.
    pub merged: u32,
    /// Who forced it (`!testclip`), if forced.
    pub forced_by: Option<String>,
    /// A title for the clip: the moment's top phrase or emote.
    pub title: String,
    /// Clip length to ask Twitch for (Create Clip `duration`, 5–60 s): long enough to reach
    /// back from the clip's end to the estimated start of the moment.
    #[serde(default = "default_duration_ms")]
    pub duration_ms: Millis,
}

fn default_duration_ms() -> Millis {
    30_000
}

/// Twitch ends a clip about this long after the Create Clip call.
pub const CAPTURE_LAG_MS: Millis = 5_000;

impl ClipDecision {
    /// The span of the stream the clip will hold, in event time: it ends about
    /// [`CAPTURE_LAG_MS`] after the Create Clip call at `fire_at_ms` and lasts `duration_ms`.
    /// A clip from the VOD (exact offsets) would request this same span.
    pub fn span_ms(&self) -> (Millis, Millis) {
        let end = self.fire_at_ms.saturating_add(CAPTURE_LAG_MS);
        (end.saturating_sub(self.duration_ms), end)
    }
}

/// A meaningful clip title from the window: its top phrase, emote or reaction token, else
/// the chat rate.
pub fn suggest_title(w: &WindowFeatures) -> String {
    let phrase = w
        .top_phrase
        .as_deref()
        .filter(|p| w.top_phrase_share >= 0.15 && !p.is_empty());
    let emote = w
        .top_emote
        .as_deref()
        .filter(|_| w.top_emote_chatters >= 0.2);
    let mut t = match (phrase, emote) {
        (Some(p), _) => p.to_owned(),
        (None, Some(e)) => format!("{e} {e} {e}"),
        (None, None) => format!("Chat explodes: {:.0} msgs/s", w.rate),
    };
    if t.chars().count() > 100 {
        t = t.chars().take(100).collect();
    }
    t
}

/// The decision state machine of one channel.
#[derive(Debug, Clone)]
pub struct Decider {
    channel: String,
    config: DecisionConfig,
    pending: Option<ClipDecision>,
    /// Triggers before this time merge into the last clip.
    cooldown_until: Millis,
    /// Start of the current run of rising windows (the moment's onset as chat shows it).
    rise_since: Option<Millis>,
    pub merged_into_previous: u64,
}

impl Decider {
    pub fn new(channel: &str, config: DecisionConfig) -> Self {
        Decider {
            channel: channel.to_owned(),
            config,
            pending: None,
            cooldown_until: Millis::MIN,
            rise_since: None,
            merged_into_previous: 0,
        }
    }

    pub fn config(&self) -> &DecisionConfig {
        &self.config
    }

    /// The pending clip's due time, for a driver's timer.
    pub fn next_due(&self) -> Option<Millis> {
        self.pending.as_ref().map(|p| p.fire_at_ms)
    }

    /// The clip pending now (triggered, not yet due), as it stands.
    pub fn pending(&self) -> Option<&ClipDecision> {
        self.pending.as_ref()
    }

    /// The one place a clip is made: due `clip_delay_ms` after `at`, long enough to reach back
    /// from its end to `lead_ms` before `onset_ms` (within the configured bounds).
    fn new_clip(&self, at: Millis, onset_ms: Millis) -> ClipDecision {
        let c = &self.config;
        let fire_at_ms = at.saturating_add(c.clip_delay_ms);
        let end = fire_at_ms.saturating_add(CAPTURE_LAG_MS);
        let want = end
            .saturating_sub(onset_ms.min(at))
            .saturating_add(c.lead_ms);
        let lo = c.min_duration_ms.clamp(5_000, 60_000);
        let hi = c.max_duration_ms.clamp(lo, 60_000);
        ClipDecision {
            channel: self.channel.clone(),
            trigger_ms: at,
            peak_ms: at,
            fire_at_ms,
            kind: TriggerKind::Combined,
            score: 0.0,
            scores: Scores::default(),
            features: None,
            merged: 0,
            forced_by: None,
            title: String::new(),
            duration_ms: want.clamp(lo, hi),
        }
    }

    /// Feed one scored window. Returns the clip, as known at its trigger, when this window
    /// opens a new pending clip.
    pub fn on_window(&mut self, w: &WindowFeatures, s: &Scores) -> Option<ClipDecision> {
        if s.rising {
            self.rise_since.get_or_insert(w.start_ms);
        } else {
            self.rise_since = None;
        }
        if s.gated || s.combined < s.threshold.max(1e-9) {
            return None;
        }
        if let Some(p) = &mut self.pending {
            p.merged += 1;
            if s.combined > p.score {
                p.peak_ms = w.end_ms;
                p.score = s.combined;
                p.scores = *s;
                if p.forced_by.is_none() {
                    p.kind = kind_of(s);
                }
                p.title = suggest_title(w);
                p.features = Some(w.clone());
            }
            return None;
        }
        if w.end_ms < self.cooldown_until {
            self.merged_into_previous += 1;
            return None;
        }
        // The onset: where this rise began, at most a minute back.
        let onset = self
            .rise_since
            .unwrap_or(w.start_ms)
            .max(w.end_ms.saturating_sub(60_000));
        let mut clip = self.new_clip(w.end_ms, onset);
        clip.kind = kind_of(s);
        clip.score = s.combined;
        clip.scores = *s;
        clip.title = suggest_title(w);
        clip.features = Some(w.clone());
        self.pending = Some(clip.clone());
        Some(clip)
    }

    /// `!testclip` from someone allowed to force: a clip is pending now whatever the cooldown.
    /// Returns the new clip, or `None` when a clip of this moment was already pending (it is
    /// marked forced instead: never two clips for one moment).
    pub fn force(&mut self, now: Millis, by: &str) -> Option<ClipDecision> {
        if let Some(p) = &mut self.pending {
            p.forced_by = Some(by.to_owned());
            p.kind = TriggerKind::Forced;
            return None;
        }
        // The moderator saw the moment a few seconds ago: reach back as for a burst's onset.
        let mut clip = self.new_clip(now, now.saturating_sub(5_000));
        clip.kind = TriggerKind::Forced;
        clip.score = 1.0;
        clip.forced_by = Some(by.to_owned());
        clip.title = format!("Clip requested by {by}");
        self.pending = Some(clip.clone());
        Some(clip)
    }

    /// Hand out the pending clip once it is due.
    pub fn poll(&mut self, now: Millis) -> Option<ClipDecision> {
        if self.pending.as_ref().is_none_or(|p| p.fire_at_ms > now) {
            return None;
        }
        let p = self.pending.take()?;
        self.cooldown_until = p.trigger_ms.saturating_add(self.config.cooldown_ms);
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Evidence;

    fn window(end_ms: Millis) -> WindowFeatures {
        WindowFeatures {
            channel: "c".into(),
            start_ms: end_ms - 5_000,
            end_ms,
            messages: 50,
            rate: 10.0,
            rate_20s: 8.0,
            rate_60s: 4.0,
            chatters: 40,
            chatters_60s: 80,
            emotes: 30,
            emote_density: 0.6,
            emote_msg_share: 0.6,
            top_emote: Some("KEKW".into()),
            top_emote_share: 0.8,
            top_emote_chatters: 0.5,
            laugh_share: 0.7,
            hype_share: 0.1,
            question_share: 0.0,
            exclaim_share: 0.0,
            elongated_share: 0.1,
            caps_ratio: 0.5,
            dup_share: 0.3,
            top_phrase: None,
            top_phrase_share: 0.0,
            mean_len: 8.0,
            sentiment: 0.1,
            clip_mentions: 0,
            bits: 0,
            subs: 0,
            raid_viewers: 0,
            viewers: Some(2_000),
            chatters_20s: 60,
            top_tokens: Vec::new(),
        }
    }

    fn scores(combined: f64) -> Scores {
        Scores {
            combined,
            threshold: 0.9,
            ..Scores::default()
        }
    }

    #[test]
    fn merges_to_peak_then_cools_down() {
        let mut d = Decider::new("c", DecisionConfig::default());
        assert!(d.on_window(&window(10_000), &scores(0.97)).is_some());
        assert!(d.poll(15_000).is_none(), "not due before 7 s");
        assert!(d.on_window(&window(15_000), &scores(0.99)).is_none());
        let clip = d.poll(17_000).unwrap();
        assert_eq!(
            (clip.trigger_ms, clip.peak_ms, clip.merged),
            (10_000, 15_000, 1)
        );
        assert_eq!(clip.fire_at_ms, 17_000);
        assert!((clip.score - 0.99).abs() < 1e-12);
        // Inside the cooldown: merged, no new clip.
        assert!(d.on_window(&window(40_000), &scores(0.995)).is_none());
        assert_eq!(d.merged_into_previous, 1);
        assert!(d.poll(100_000).is_none());
        // After it: a new one.
        assert!(d.on_window(&window(75_000), &scores(0.97)).is_some());
        assert!(d.poll(82_000).is_some());
        // Below threshold never triggers.
        assert!(d.on_window(&window(500_000), &scores(0.1)).is_none());
    }

    #[test]
    fn force_ignores_cooldown_but_never_doubles() {
        let mut d = Decider::new("c", DecisionConfig::default());
        d.on_window(&window(10_000), &scores(0.97));
        assert!(
            d.force(11_000, "mod").is_none(),
            "already pending: marked, not doubled"
        );
        let clip = d.poll(17_000).unwrap();
        assert_eq!(clip.kind, TriggerKind::Forced);
        assert!(d.poll(30_000).is_none(), "one clip for one moment");
        d.force(20_000, "mod");
        assert_eq!(d.poll(27_000).map(|c| c.kind), Some(TriggerKind::Forced));
    }

    #[test]
    fn learned_score_and_ablation() {
        let c = DecisionConfig::default();
        let w = window(10_000);
        let mut a = Assessment {
            evidence: Evidence {
                act5: 1.5,
                act20: 1.4,
                act60: 1.0,
                chat20: 1.2,
                pois20: 8.0,
                react: 1.0,
                conc: 0.5,
                laugh: 1.0,
                warm: true,
                ..Evidence::default()
            },
            anomaly: Some(0.7),
            anomaly_rel: 2.0,
        };
        let hot = score(&w, &a, &c);
        assert!(hot.combined >= c.threshold, "{hot:?}");
        assert!(hot.rules.velocity && hot.rules.laughter && hot.rules.emote_burst);
        let mut calm_a = a;
        calm_a.evidence = Evidence {
            warm: true,
            ..Evidence::default()
        };
        calm_a.anomaly_rel = 0.0;
        let calm = score(&w, &calm_a, &c);
        assert!(calm.combined < c.threshold, "{calm:?}");
        // Ablation removes a part's contribution.
        let mut off = c.clone();
        off.ablate.activity = true;
        let s = score(&w, &a, &off);
        assert_eq!(s.activity, 0.0);
        assert!(s.combined < hot.combined);
        // Laughing content without a rise in the count over the level (small chat: two
        // messages over a level of two): gated, so no automatic trigger, and its score is
        // kept but scaled below any window that may trigger; at the rise, the full score.
        let mut flat = a;
        flat.evidence.pois20 = c.min_rise_z - 0.1;
        let gated = score(&w, &flat, &c);
        assert!(gated.gated, "{gated:?}");
        assert!(
            gated.combined > 0.0 && gated.combined <= GATED_SCALE,
            "{gated:?}"
        );
        let mut less = flat;
        less.evidence.laugh = 0.0;
        assert!(
            score(&w, &less, &c).combined < gated.combined,
            "still ranked"
        );
        flat.evidence.pois20 = c.min_rise_z;
        let risen = score(&w, &flat, &c);
        assert!(
            !risen.gated && risen.combined / gated.combined > 50.0,
            "{risen:?}"
        );
        // No message in the window itself: gated; at `min_messages_5s`, not.
        let mut thin = w.clone();
        thin.messages = 0;
        assert_eq!(c.min_messages_5s, 1.0);
        assert!(score(&thin, &a, &c).gated);
        thin.messages = 1;
        assert!(!score(&thin, &a, &c).gated);
        // Too few people in the last 20 s, however many messages they sent: gated; at
        // `min_chatters_20s`, not.
        let mut few = w.clone();
        assert_eq!(c.min_chatters_20s, 5.0);
        (few.chatters, few.chatters_20s) = (3, 4);
        assert!(score(&few, &a, &c).gated);
        few.chatters_20s = 5;
        assert!(!score(&few, &a, &c).gated);
        // A window from a relay that does not send `chatters_20s` (0) counts its own chatters.
        (few.chatters, few.chatters_20s) = (5, 0);
        assert!(!score(&few, &a, &c).gated);
        few.chatters = 4;
        assert!(score(&few, &a, &c).gated);
        // Cold levels: no evidence, no score.
        a.evidence.warm = false;
        let cold = score(&w, &a, &c);
        assert!(cold.gated && cold.combined == 0.0);
        assert!(suggest_title(&window(1)).contains("KEKW"));
    }

    #[test]
    fn a_gated_window_never_triggers_nor_moves_a_peak() {
        let c = DecisionConfig {
            floor: 0.0,
            ..DecisionConfig::default()
        };
        let mut d = Decider::new("c", c);
        let gated = Scores {
            gated: true,
            threshold: 0.0,
            ..scores(0.99)
        };
        assert!(d.on_window(&window(10_000), &gated).is_none());
        assert!(d.on_window(&window(15_000), &scores(0.95)).is_some());
        assert!(d.on_window(&window(20_000), &gated).is_none());
        let clip = d.poll(30_000).unwrap();
        assert_eq!((clip.peak_ms, clip.score), (15_000, 0.95));
    }

    #[test]
    fn the_clip_reaches_back_to_the_onset() {
        let mut d = Decider::new("c", DecisionConfig::default());
        let rising = Scores {
            rising: true,
            ..scores(0.1)
        };
        assert!(scores(0.99).threshold < 0.99);
        d.on_window(&window(100_000), &rising);
        d.on_window(&window(105_000), &rising);
        let clip = d
            .on_window(
                &window(110_000),
                &Scores {
                    rising: true,
                    ..scores(0.99)
                },
            )
            .unwrap();
        // Onset at 95 s (start of the first rising window), moment 20 s before it; the clip
        // ends 5 s after the call at 117 s.
        let (start, end) = clip.span_ms();
        assert_eq!(end, 122_000);
        assert_eq!(start, 122_000 - clip.duration_ms);
        assert_eq!(clip.duration_ms, 47_000);
        assert!(start <= 75_000);
    }

    /// A small deterministic generator of uniform numbers in [0, 1) for the tests below.
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut rng = seed;
        move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// The adaptive threshold counts clips, not windows: whether a moment spans one window
    /// above the line (small chat) or four (large chat), and however many windows are silent,
    /// it lets about `target_clips_per_hour` moments of stream time through.
    #[test]
    fn the_adaptive_threshold_makes_the_target_clips_per_hour_of_stream() {
        let c = DecisionConfig::default();
        let hop: Millis = 5_000;
        for (burst_len, silent_share) in [(1usize, 0.0), (4, 0.0), (1, 0.6), (3, 0.8)] {
            let mut level = ScoreLevel::default();
            let mut next = uniform(0x2545_f491_4f6c_dd1d);
            // 12 h: a moment every ~6 min (10/h) of a random height in 0.6..1.0, ordinary
            // windows 0.05..0.45 (or silent: 0).
            let mut series = Vec::new();
            while series.len() < 12 * 720 {
                let gap = 30 + (next() * 80.0) as usize;
                for _ in 0..gap {
                    let x = if next() < silent_share {
                        0.0
                    } else {
                        0.05 + 0.4 * next()
                    };
                    series.push(x);
                }
                let h = 0.6 + 0.4 * next();
                series.extend(std::iter::repeat_n(h, burst_len));
            }
            // Warm on the first 2 h, then count the clips the next 10 h make at the threshold
            // in force (with the cooldown, as the decider does).
            let (warm, rest) = series.split_at(1_440);
            for &x in warm {
                level.push(x, hop, &c);
            }
            let mut clips = 0;
            let mut free_at: Millis = 0;
            for (i, &x) in rest.iter().enumerate() {
                let t = level.threshold(&c);
                let now = i as Millis * hop;
                if x > 0.0 && x >= t && now >= free_at {
                    clips += 1;
                    free_at = now + c.cooldown_ms;
                }
                level.push(x, hop, &c);
            }
            let per_hour = clips as f64 / (rest.len() as f64 * hop as f64 / 3_600_000.0);
            assert!(
                (3.0..=5.5).contains(&per_hour),
                "bursts of {burst_len}, {silent_share} silent: {per_hour:.2} clips/h"
            );
        }
    }

    /// The candidate cut (only the top ⌊target⌋ × gap scores) gives the threshold a search
    /// over every score gives.
    #[test]
    fn the_clip_threshold_equals_a_search_over_every_score() {
        let mut next = uniform(0x9e37_79b9_7f4a_7c15);
        for case in 0..200 {
            let c = DecisionConfig {
                target_clips_per_hour: [0.5, 4.0, 12.0][case % 3],
                cooldown_ms: [5_000, 30_000, 60_000][(case / 3) % 3],
                ..DecisionConfig::default()
            };
            let len = 1 + (next() * 1_440.0) as usize;
            let zeros = next();
            let level = ScoreLevel {
                ring: (0..len)
                    .map(|_| {
                        if next() < zeros {
                            0.0
                        } else {
                            // Coarse values: plenty of ties.
                            ((next() * 40.0).floor() / 40.0) as f32
                        }
                    })
                    .collect(),
                ..ScoreLevel::default()
            };
            let hop: Millis = 5_000;
            let got = level.clip_threshold(hop, &c);
            // Brute force: the lowest positive score whose greedy clip count is within target.
            let target = (c.target_clips_per_hour * len as f64 * 5.0 / 3_600.0).max(1.0);
            let gap = (c.cooldown_ms / hop).max(1) as usize;
            let count = |t: f32| {
                let (mut n, mut free_at) = (0usize, 0usize);
                for (i, &x) in level.ring.iter().enumerate() {
                    if x > 0.0 && x >= t && i >= free_at {
                        n += 1;
                        free_at = i + gap;
                    }
                }
                n as f64
            };
            let mut all: Vec<f32> = level.ring.iter().copied().filter(|&x| x > 0.0).collect();
            all.sort_unstable_by(f32::total_cmp);
            all.dedup();
            let want = match all.iter().find(|&&t| count(t) <= target) {
                Some(&t) => f64::from(t),
                None => all.last().map_or(1.0, |&m| f64::from(m) + 1e-6),
            };
            assert_eq!(got, want, "case {case}: {len} windows");
        }
    }
}
