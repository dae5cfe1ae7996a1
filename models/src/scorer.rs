//! The one score step: a channel's model and decision, fed closed windows.
//!
//! [`ChannelScorer::score`] is the only place a window is assessed (evidence, forest), refitted
//! when due, scored and decided. Replay and live drive it through [`crate::ChannelDetector`]
//! (aggregator + scorer), the serverless score function drives it directly with windows a relay
//! aggregated. The difference is only when a clip goes out: the detector holds the pending
//! clip and hands it out when due ([`ChannelScorer::poll`]); the score function takes it at
//! trigger time ([`Scored::trigger`]) and schedules it `clip_delay_ms` later on a queue, while
//! the decider still keeps the pending clip and the cooldown, so later windows merge exactly as
//! they do in the relay and open no second clip for the same moment.

use crate::config::DetectorConfig;
use crate::decision::{self, ClipDecision, Decider, DecisionConfig};
use crate::message::Millis;
use crate::model::{ChannelModel, Fitted, TrainingJob};
use crate::pipeline::{ScoredWindow, Training};
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
    /// `config.decision.weights` in input order, resolved once (not by name every window).
    weights: decision::DenseWeights,
    training: Training,
    pub windows: u64,
    pub triggers: u64,
    pub fit_errors: u64,
}

impl ChannelScorer {
    /// A scorer for `channel`, continuing from `model` when one was saved. Refits are left to
    /// the caller ([`Training::External`]) unless [`with_training`](Self::with_training) says
    /// otherwise.
    pub fn new(channel: &str, config: DetectorConfig, model: Option<ChannelModel>) -> Self {
        let model = model.unwrap_or_else(|| ChannelModel::new(channel, config.model.clone()));
        ChannelScorer {
            channel: channel.to_owned(),
            decider: Decider::new(channel, config.decision.clone()),
            weights: config.decision.weights.dense(),
            config,
            model,
            training: Training::External,
            windows: 0,
            triggers: 0,
            fit_errors: 0,
        }
    }

    /// How refits run: inline as soon as due (replay, tests, local runs) or by the caller.
    pub fn with_training(mut self, training: Training) -> Self {
        self.training = training;
        self
    }

    /// Shorthand for [`Training::Inline`] when `yes`.
    pub fn with_inline_fit(self, yes: bool) -> Self {
        self.with_training(if yes {
            Training::Inline
        } else {
            Training::External
        })
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    pub fn model(&self) -> &ChannelModel {
        &self.model
    }

    pub fn model_mut(&mut self) -> &mut ChannelModel {
        &mut self.model
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
            self.weights = config.weights.dense();
            self.config.decision = config;
        }
    }

    /// The pending clip's due time.
    pub fn next_due(&self) -> Option<Millis> {
        self.decider.next_due()
    }

    /// The clip pending now (triggered, not yet due).
    pub fn pending(&self) -> Option<&ClipDecision> {
        self.decider.pending()
    }

    /// Hand out the pending clip once it is due (the detector's path).
    pub fn poll(&mut self, now: Millis) -> Option<ClipDecision> {
        self.decider.poll(now)
    }

    /// The score step: assess the window (evidence, forest), refit inline when due, score,
    /// decide. Does not hand out due clips: call [`poll`](Self::poll) first for that.
    pub fn score(&mut self, w: WindowFeatures) -> Scored {
        self.windows += 1;
        let assessment = self.model.assess(&w);
        if self.training == Training::Inline
            && self.model.wants_fit()
            && self.model.fit_now().is_err()
        {
            // A failed fit keeps the old forest (or none): scoring goes on.
            self.fit_errors += 1;
        }
        let mut scores =
            decision::score_with(&w, &assessment, &self.config.decision, &self.weights);
        let c = self.decider.config();
        scores.threshold = self.model.score_level.threshold(c);
        // Every window, silent and gated ones as 0 (they cannot trigger): the history is then
        // chat time, and "clips per hour" means per hour of the stream, however thin its chat.
        let level = if scores.gated { 0.0 } else { scores.combined };
        self.model
            .score_level
            .push(level, w.end_ms.saturating_sub(w.start_ms), c);
        let trigger = self.decider.on_window(&w, &scores);
        if trigger.is_some() {
            self.triggers += 1;
        }
        Scored {
            window: ScoredWindow {
                features: w,
                assessment,
                scores,
            },
            trigger,
        }
    }

    /// The score function's path: a pending clip due before this window ends is done (it went
    /// out at its trigger), then [`score`](Self::score).
    pub fn on_window(&mut self, w: WindowFeatures) -> Scored {
        let _ = self.decider.poll(w.end_ms);
        self.score(w)
    }

    /// `!testclip` by an allowed login at `now`: a clip regardless of the cooldown, unless a
    /// clip of this moment is already pending (then that one is the clip: never two).
    pub fn force(&mut self, now: Millis, by: &str) -> Option<ClipDecision> {
        let clip = self.decider.force(now, by);
        if clip.is_some() {
            self.triggers += 1;
        }
        clip
    }

    /// Like [`force`](Self::force) for the score function: a pending clip already due before
    /// `now` went out at its trigger.
    pub fn force_at(&mut self, now: Millis, by: &str) -> Option<ClipDecision> {
        let _ = self.decider.poll(now);
        self.force(now, by)
    }

    /// A due refit to run off the hot path (with [`Training::External`]).
    pub fn take_training_job(&mut self) -> Option<TrainingJob> {
        self.model.wants_fit().then(|| self.model.training_job())
    }

    /// Install the result of a job from [`take_training_job`](Self::take_training_job).
    pub fn install(&mut self, fitted: crate::Result<Fitted>) -> crate::Result<()> {
        let r = self.model.install(fitted);
        if r.is_err() {
            self.fit_errors += 1;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::TriggerKind;
    use crate::fixture;
    use crate::pipeline::{ChannelDetector, Output};

    #[test]
    fn triggers_where_the_detector_clips() {
        let msgs = fixture::calm_and_burst();
        let ws = fixture::windows_of(&msgs);
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

    /// Windows come from a queue, so anything may be in them: times at the ends of `i64`,
    /// start after end, NaN and infinite features. Scoring must not panic (overflow included).
    #[test]
    fn absurd_windows_never_panic() {
        use proptest::prelude::*;
        let base = fixture::windows_of(&fixture::calm_and_burst());
        let times = prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0i64),
            Just(i64::MAX - 1),
            any::<i64>()
        ];
        let floats = prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-1.0e300),
            Just(1.0e300),
            any::<f64>()
        ];
        let mut runner =
            proptest::test_runner::TestRunner::new(proptest::test_runner::Config::with_cases(48));
        runner
            .run(
                &(0..base.len(), times.clone(), times, floats.clone(), floats),
                |(i, start, end, rate, share)| {
                    let mut s = ChannelScorer::new("c", DetectorConfig::default(), None)
                        .with_inline_fit(true);
                    for w in &base[..i] {
                        s.on_window(w.clone());
                    }
                    let mut w = base[i].clone();
                    w.start_ms = start;
                    w.end_ms = end;
                    w.rate = rate;
                    w.rate_20s = rate;
                    w.caps_ratio = share;
                    w.dup_share = share;
                    w.sentiment = share;
                    w.viewers = Some(u32::MAX);
                    w.messages = u32::MAX;
                    let _ = s.on_window(w);
                    let _ = s.poll(end);
                    let _ = s.force_at(end, "mod");
                    let _ = s.poll(i64::MAX);
                    Ok(())
                },
            )
            .unwrap();
    }

    #[test]
    fn force_never_doubles_a_pending_clip() {
        let mut s = ChannelScorer::new("c", DetectorConfig::default(), None);
        let c = s.force_at(10_000, "mod").unwrap();
        assert_eq!(c.kind, TriggerKind::Forced);
        assert_eq!(c.forced_by.as_deref(), Some("mod"));
        assert!(s.force_at(12_000, "mod").is_none(), "same moment");
        // After the first is due, a new force is a new clip even inside the cooldown.
        assert!(s.force_at(30_000, "mod").is_some());
    }
}
