//! The hybrid decision: rule triggers scaled by viewer count, the anomaly score, a combined
//! score; triggers inside a cooldown merge into one clip at the peak; a forced path for
//! `!testclip`.
//!
//! [`Decider`] is a state machine on event time. [`Decider::on_window`] may open a pending clip
//! (returning a [`Trigger`]); later windows before the clip is due move its peak;
//! [`Decider::poll`] with a time at or past `fire_at_ms` hands out the [`ClipDecision`]. The
//! driver calls `poll` from a timer live, and with window times in replay.

use crate::message::Millis;
use crate::model::{Assessment, Relative};
use crate::window::WindowFeatures;
use serde::{Deserialize, Serialize};

/// Settings of the decision. Defaults are tuned on chat of several languages and sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionConfig {
    /// Combined score at or above which a window triggers. Default 0.62.
    pub threshold: f64,
    /// Clip this long after the trigger so that the reaction is inside it. Default 7,000 ms.
    pub clip_delay_ms: Millis,
    /// No second clip within this long after a clip's trigger; triggers inside merge into it.
    /// Default 60,000 ms.
    pub cooldown_ms: Millis,
    /// Viewer count at which the rule floors below hold as written; they scale with the square
    /// root of viewers / this. Default 1,000.
    pub reference_viewers: f64,
    /// Without a viewer count (logs), viewers are estimated as baseline msgs/s × this. Default 300.
    pub viewers_per_msg_per_s: f64,
    /// Fewest messages in a window for any automatic trigger, at the reference viewers.
    /// Default 8 (bounded to 3..=60 after scaling).
    pub min_messages: f64,
    /// Velocity rule: 20 s rate z-score at least this. Default 3.5.
    pub velocity_z: f64,
    /// Emote burst rule: share of messages with an emote, and share of chatters on the top
    /// emote. Defaults 0.5 and 0.35.
    pub emote_burst_share: f64,
    pub emote_burst_chatters: f64,
    /// Laughter rule: share of messages laughing. Default 0.45.
    pub laughter_share: f64,
    /// Clip-call rule: messages asking for a clip in one window. Default 3.
    pub clip_calls: u32,
    /// Weights of the combined score's parts. Defaults: activity 0.4, content 0.45, anomaly
    /// 0.15 (normalised to sum 1), plus 0.15 per rule that fired. The forest's score is the
    /// least discriminative part on labelled chat, so it weighs least; it matters most where
    /// rate and content look ordinary but their combination is not.
    pub weight_activity: f64,
    pub weight_content: f64,
    pub weight_anomaly: f64,
    pub weight_rules: f64,
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

impl Default for DecisionConfig {
    fn default() -> Self {
        DecisionConfig {
            threshold: 0.62,
            clip_delay_ms: 7_000,
            cooldown_ms: 60_000,
            reference_viewers: 1_000.0,
            viewers_per_msg_per_s: 300.0,
            min_messages: 8.0,
            velocity_z: 3.5,
            emote_burst_share: 0.5,
            emote_burst_chatters: 0.35,
            laughter_share: 0.45,
            clip_calls: 3,
            weight_activity: 0.4,
            weight_content: 0.45,
            weight_anomaly: 0.15,
            weight_rules: 0.15,
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
    fn count(&self) -> u32 {
        u32::from(self.velocity)
            + u32::from(self.emote_burst)
            + u32::from(self.laughter)
            + u32::from(self.clip_call)
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
    pub rules: RuleHits,
    /// Activity part (message rate against baseline), 0..1.
    pub activity: f64,
    /// Content part (laughter, emotes, hype, `?`, copypasta against baseline), 0..1.
    pub content: f64,
    /// Anomaly part (forest score relative to the channel), 0..1; 0 during warm-up.
    pub anomaly: f64,
    /// The combined score the threshold applies to.
    pub combined: f64,
    /// Smallest window (messages) that may trigger, after viewer scaling.
    pub min_messages: f64,
}

fn sat(x: f64, half: f64) -> f64 {
    let x = x.max(0.0);
    x / (x + half)
}

/// Score one window: rules, parts and the combined score.
pub fn score(w: &WindowFeatures, a: &Assessment, c: &DecisionConfig) -> Scores {
    let r: &Relative = &a.relative;
    let viewers = w
        .viewers
        .map(f64::from)
        .unwrap_or(r.base_rate * c.viewers_per_msg_per_s)
        .max(1.0);
    let scale = (viewers / c.reference_viewers.max(1.0)).sqrt();
    let min_messages = (c.min_messages * scale).clamp(3.0, 60.0);
    let n = f64::from(w.messages);
    let big_enough = n >= min_messages;

    let rules = RuleHits {
        velocity: big_enough && r.rate_20s_z >= c.velocity_z && r.rate_z >= 1.0,
        emote_burst: big_enough
            && w.emote_msg_share >= c.emote_burst_share
            && w.top_emote_chatters >= c.emote_burst_chatters
            && r.emote_z >= 1.5,
        laughter: big_enough && w.laugh_share >= c.laughter_share && r.laugh_z >= 1.5,
        clip_call: w.clip_mentions >= c.clip_calls && r.rate_z >= 0.0,
    };

    let activity = sat(0.6 * r.rate_20s_z.max(0.0) + 0.4 * r.rate_z.max(0.0), 2.5);
    // Content only counts where there is chat to speak of (share noise on tiny windows).
    let volume = (n / min_messages).min(1.0);
    let content_z = [
        r.laugh_z,
        r.emote_z,
        r.hype_z,
        r.question_z,
        r.dup_z,
        r.elongated_z,
    ];
    let mut zs: Vec<f64> = content_z.iter().map(|z| z.max(0.0)).collect();
    zs.sort_unstable_by(|a, b| b.total_cmp(a));
    let content = volume * sat(zs[0] + 0.5 * zs[1] + 0.25 * zs[2], 3.0);
    let anomaly = if r.rate_z > -0.5 {
        sat(a.anomaly_rel, 1.0)
    } else {
        0.0
    };
    let weight_sum = c.weight_activity + c.weight_content + c.weight_anomaly;
    let mut combined =
        (c.weight_activity * activity + c.weight_content * content + c.weight_anomaly * anomaly)
            / weight_sum.max(1e-9);
    combined += c.weight_rules * f64::from(rules.count());
    if !big_enough && !rules.clip_call {
        combined *= n / min_messages;
    }
    Scores {
        rules,
        activity,
        content,
        anomaly,
        combined,
        min_messages,
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

/// A meaningful clip title from the window: its top phrase or emote, else the chat rate.
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

#[derive(Debug, Clone)]
struct Pending {
    clip: ClipDecision,
}

/// The decision state machine of one channel.
#[derive(Debug, Clone)]
pub struct Decider {
    channel: String,
    config: DecisionConfig,
    pending: Option<Pending>,
    /// Triggers before this time merge into the last clip.
    cooldown_until: Millis,
    last_clip_score: f64,
    pub merged_into_previous: u64,
}

impl Decider {
    pub fn new(channel: &str, config: DecisionConfig) -> Self {
        Decider {
            channel: channel.to_owned(),
            config,
            pending: None,
            cooldown_until: Millis::MIN,
            last_clip_score: 0.0,
            merged_into_previous: 0,
        }
    }

    pub fn config(&self) -> &DecisionConfig {
        &self.config
    }

    /// The pending clip's due time, for a driver's timer.
    pub fn next_due(&self) -> Option<Millis> {
        self.pending.as_ref().map(|p| p.clip.fire_at_ms)
    }

    /// Feed one scored window. Returns a [`Trigger`] when it opens a new pending clip.
    pub fn on_window(&mut self, w: &WindowFeatures, s: &Scores) -> Option<Trigger> {
        if s.combined < self.config.threshold {
            return None;
        }
        if let Some(p) = &mut self.pending {
            p.clip.merged += 1;
            if s.combined > p.clip.score {
                p.clip.peak_ms = w.end_ms;
                p.clip.score = s.combined;
                p.clip.scores = *s;
                if p.clip.forced_by.is_none() {
                    p.clip.kind = kind_of(s);
                }
                p.clip.title = suggest_title(w);
                p.clip.features = Some(w.clone());
            }
            return None;
        }
        if w.end_ms < self.cooldown_until {
            self.merged_into_previous += 1;
            self.last_clip_score = self.last_clip_score.max(s.combined);
            return None;
        }
        let kind = kind_of(s);
        let fire_at_ms = w.end_ms + self.config.clip_delay_ms;
        self.pending = Some(Pending {
            clip: ClipDecision {
                channel: self.channel.clone(),
                trigger_ms: w.end_ms,
                peak_ms: w.end_ms,
                fire_at_ms,
                kind,
                score: s.combined,
                scores: *s,
                features: Some(w.clone()),
                merged: 0,
                forced_by: None,
                title: suggest_title(w),
                duration_ms: 30_000,
            },
        });
        Some(Trigger {
            channel: self.channel.clone(),
            trigger_ms: w.end_ms,
            fire_at_ms,
            kind,
            score: s.combined,
        })
    }

    /// `!testclip` from someone allowed to force: a clip is pending now whatever the cooldown.
    pub fn force(&mut self, now: Millis, by: &str) -> Trigger {
        let fire_at_ms = now + self.config.clip_delay_ms;
        let clip = ClipDecision {
            channel: self.channel.clone(),
            trigger_ms: now,
            peak_ms: now,
            fire_at_ms,
            kind: TriggerKind::Forced,
            score: 1.0,
            scores: Scores::default(),
            features: None,
            merged: 0,
            forced_by: Some(by.to_owned()),
            title: format!("Clip requested by {by}"),
            duration_ms: 30_000,
        };
        if let Some(p) = &mut self.pending {
            // Already clipping this moment: mark it forced, keep one clip.
            p.clip.forced_by = Some(by.to_owned());
            p.clip.kind = TriggerKind::Forced;
        } else {
            self.pending = Some(Pending { clip });
        }
        Trigger {
            channel: self.channel.clone(),
            trigger_ms: now,
            fire_at_ms,
            kind: TriggerKind::Forced,
            score: 1.0,
        }
    }

    /// Hand out the pending clip once it is due.
    pub fn poll(&mut self, now: Millis) -> Option<ClipDecision> {
        let due = self
            .pending
            .as_ref()
            .is_some_and(|p| p.clip.fire_at_ms <= now);
        if !due {
            return None;
        }
        let p = self.pending.take()?;
        self.cooldown_until = p.clip.trigger_ms + self.config.cooldown_ms;
        self.last_clip_score = p.clip.score;
        Some(p.clip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    fn scores(combined: f64) -> Scores {
        Scores {
            combined,
            ..Scores::default()
        }
    }

    #[test]
    fn merges_to_peak_then_cools_down() {
        let mut d = Decider::new("c", DecisionConfig::default());
        assert!(d.on_window(&window(10_000), &scores(0.7)).is_some());
        assert!(d.poll(15_000).is_none(), "not due before 7 s");
        assert!(d.on_window(&window(15_000), &scores(0.9)).is_none());
        let clip = d.poll(17_000).unwrap();
        assert_eq!(
            (clip.trigger_ms, clip.peak_ms, clip.merged),
            (10_000, 15_000, 1)
        );
        assert_eq!(clip.fire_at_ms, 17_000);
        assert!((clip.score - 0.9).abs() < 1e-12);
        // Inside the cooldown: merged, no new clip.
        assert!(d.on_window(&window(40_000), &scores(0.95)).is_none());
        assert_eq!(d.merged_into_previous, 1);
        assert!(d.poll(100_000).is_none());
        // After it: a new one.
        assert!(d.on_window(&window(75_000), &scores(0.7)).is_some());
        assert!(d.poll(82_000).is_some());
        // Below threshold never triggers.
        assert!(d.on_window(&window(500_000), &scores(0.1)).is_none());
    }

    #[test]
    fn force_ignores_cooldown_but_never_doubles() {
        let mut d = Decider::new("c", DecisionConfig::default());
        d.on_window(&window(10_000), &scores(0.7));
        d.force(11_000, "mod");
        let clip = d.poll(17_000).unwrap();
        assert_eq!(clip.kind, TriggerKind::Forced);
        assert!(d.poll(30_000).is_none(), "one clip for one moment");
        d.force(20_000, "mod");
        assert_eq!(d.poll(27_000).map(|c| c.kind), Some(TriggerKind::Forced));
    }

    #[test]
    fn rules_scale_with_viewers() {
        let c = DecisionConfig::default();
        let mut w = window(10_000);
        let a = Assessment {
            relative: Relative {
                rate_z: 5.0,
                rate_20s_z: 5.0,
                laugh_z: 4.0,
                emote_z: 3.0,
                ..Relative::default()
            },
            anomaly: None,
            anomaly_rel: 0.0,
        };
        let s = score(&w, &a, &c);
        assert!(
            s.rules.velocity && s.rules.laughter && s.rules.emote_burst,
            "{s:?}"
        );
        assert!(s.combined >= c.threshold);
        // A huge channel needs more messages for the same rules.
        w.viewers = Some(200_000);
        let s = score(&w, &a, &c);
        assert!(!s.rules.velocity && s.min_messages > 50.0, "{s:?}");
        assert!(suggest_title(&window(1)).contains("KEKW"));
    }
}
