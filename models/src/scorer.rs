//! One channel's model and decision, fed closed windows instead of chat messages.
//!
//! The serverless score function receives windows that a relay already aggregated; this runs
//! the same [`ChannelModel::assess`], [`decision::score`] and [`Decider`] as
//! [`crate::ChannelDetector`], minus the aggregator. The difference is when a clip goes out: a
//! scorer hands out the clip at trigger time ([`Scored::trigger`]), because the caller schedules
//! it `clip_delay_ms` later on a queue instead of holding it in memory; the decider still keeps
//! the pending clip and the cooldown, so later windows merge exactly as they do in the relay and
//! open no second clip for the same moment.

use crate::config::DetectorConfig;
use crate::decision::{self, ClipDecision, Decider, DecisionConfig, Scores, TriggerKind};
use crate::message::Millis;
use crate::model::ChannelModel;
use crate::pipeline::ScoredWindow;
use crate::window::WindowFeatures;

/// What one window produced.
#[derive(Debug, Clone)]
pub struct Scored {
    pub window: ScoredWindow,
    /// The clip this window triggered, as known at the trigger (peak = trigger).
    pub trigger: Option<ClipDecision>,
}

/// Model + decision of one channel, driven by windows.
#[derive(Debug)]
pub struct ChannelScorer {
    channel: String,
    config: DetectorConfig,
    model: ChannelModel,
    decider: Decider,
    inline_fit: bool,
    pub windows: u64,
    pub triggers: u64,
}

impl ChannelScorer {
    /// A scorer for `channel`, continuing from `model` when one was saved.
    pub fn new(channel: &str, config: DetectorConfig, model: Option<ChannelModel>) -> Self {
        let model = model.unwrap_or_else(|| ChannelModel::new(channel, config.model.clone()));
        ChannelScorer {
            channel: channel.to_owned(),
            decider: Decider::new(channel, config.decision.clone()),
            config,
            model,
            inline_fit: false,
            windows: 0,
            triggers: 0,
        }
    }

    /// Refit inline as soon as due, exactly where [`crate::ChannelDetector`] with
    /// [`crate::Training::Inline`] does (tests, local runs). Off by default: the serverless
    /// train function refits.
    pub fn with_inline_fit(mut self, yes: bool) -> Self {
        self.inline_fit = yes;
        self
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    pub fn model(&self) -> &ChannelModel {
        &self.model
    }

    pub fn decision_config(&self) -> &DecisionConfig {
        self.decider.config()
    }

    /// Swap in a newer stored model (retrained elsewhere); the decision state (pending clip,
    /// cooldown) is kept.
    pub fn replace_model(&mut self, model: ChannelModel) {
        self.model = model;
    }

    /// Apply changed decision settings (per-channel threshold or cooldown). A change resets
    /// the decision state; the same settings are a no-op.
    pub fn set_decision_config(&mut self, config: DecisionConfig) {
        if &config != self.decider.config() {
            self.decider = Decider::new(&self.channel, config.clone());
            self.config.decision = config;
        }
    }

    /// Score one closed window (in time order per channel) and decide.
    pub fn on_window(&mut self, w: WindowFeatures) -> Scored {
        // A pending clip due before this window ends is done: its cooldown starts.
        let _ = self.decider.poll(w.end_ms);
        self.windows += 1;
        let assessment = self.model.assess(&w);
        if self.inline_fit && self.model.wants_fit() {
            // A failed fit keeps the old forest (or rules only), as in the detector.
            let _ = self.model.fit_now();
        }
        let scores = decision::score(&w, &assessment, &self.config.decision);
        let trigger = self.decider.on_window(&w, &scores).map(|t| {
            self.triggers += 1;
            ClipDecision {
                channel: self.channel.clone(),
                trigger_ms: t.trigger_ms,
                peak_ms: t.trigger_ms,
                fire_at_ms: t.fire_at_ms,
                kind: t.kind,
                score: t.score,
                scores,
                features: Some(w.clone()),
                merged: 0,
                forced_by: None,
                title: decision::suggest_title(&w),
                duration_ms: 30_000,
            }
        });
        Scored {
            window: ScoredWindow {
                features: w,
                assessment,
                scores,
            },
            trigger,
        }
    }

    /// `!testclip` by an allowed login at `now`: a clip regardless of the cooldown, unless a
    /// clip of this moment is already pending (then that one is the clip: never two).
    pub fn force(&mut self, now: Millis, by: &str) -> Option<ClipDecision> {
        let _ = self.decider.poll(now);
        let already_pending = self.decider.next_due().is_some();
        let t = self.decider.force(now, by);
        if already_pending {
            return None;
        }
        self.triggers += 1;
        Some(ClipDecision {
            channel: self.channel.clone(),
            trigger_ms: t.trigger_ms,
            peak_ms: t.trigger_ms,
            fire_at_ms: t.fire_at_ms,
            kind: TriggerKind::Forced,
            score: t.score,
            scores: Scores::default(),
            features: None,
            merged: 0,
            forced_by: Some(by.to_owned()),
            title: format!("Clip requested by {by}"),
            duration_ms: 30_000,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{ChannelDetector, Output, Training};
    use crate::window::{WindowAggregator, WindowConfig};
    use crate::ChatMessage;

    /// 30 min of calm chat with one burst of laughter at 20 min, as windows.
    fn windows() -> (Vec<ChatMessage>, Vec<WindowFeatures>) {
        let calm = [
            "hi",
            "what is this",
            "nice",
            "ok",
            "he is good",
            "lol",
            "gg",
            "hmm",
        ];
        let mut msgs = Vec::new();
        for i in 0..(30 * 60 * 2) {
            let t = i * 500;
            msgs.push(ChatMessage::plain(
                "c",
                &format!("u{}", i % 37),
                calm[(i % 8) as usize],
                t,
            ));
            if (1_200_000..1_215_000).contains(&t) {
                for k in 0..8 {
                    msgs.push(ChatMessage::plain(
                        "c",
                        &format!("f{k}_{i}"),
                        "KEKW KEKW ㅋㅋㅋㅋ",
                        t + k * 50,
                    ));
                }
            }
        }
        let mut agg = WindowAggregator::new("c", WindowConfig::default());
        let mut out = Vec::new();
        for m in &msgs {
            agg.flush(m.time_ms, &mut out);
            agg.record(m);
        }
        agg.flush(Millis::MAX / 2, &mut out);
        (msgs, out)
    }

    #[test]
    fn triggers_where_the_detector_clips() {
        let (msgs, ws) = windows();
        let mut det = ChannelDetector::new("c", DetectorConfig::default(), None, Training::Inline);
        let mut out = Vec::new();
        for m in &msgs {
            det.on_message(m, &mut out);
        }
        det.finish(&mut out);
        let clips: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Clip(c) => Some(c.trigger_ms),
                _ => None,
            })
            .collect();

        let mut s = ChannelScorer::new("c", DetectorConfig::default(), None).with_inline_fit(true);
        let mut triggers = Vec::new();
        for w in ws {
            let r = s.on_window(w);
            if let Some(c) = r.trigger {
                assert_eq!(c.fire_at_ms, c.trigger_ms + 7_000);
                triggers.push(c.trigger_ms);
            }
        }
        assert_eq!(triggers, clips);
        assert_eq!(triggers.len(), 1);
    }

    #[test]
    fn force_never_doubles_a_pending_clip() {
        let mut s = ChannelScorer::new("c", DetectorConfig::default(), None);
        let c = s.force(10_000, "mod").unwrap();
        assert_eq!(c.kind, TriggerKind::Forced);
        assert_eq!(c.forced_by.as_deref(), Some("mod"));
        assert!(s.force(12_000, "mod").is_none(), "same moment");
        // After the first is due, a new force is a new clip even inside the cooldown.
        assert!(s.force(30_000, "mod").is_some());
    }
}
