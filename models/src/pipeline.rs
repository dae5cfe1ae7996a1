//! One channel's detector: aggregation → model → decision, driven by messages and time.
//!
//! Replay feeds it a log on the log's own clock; live mode feeds it IRC messages and a timer.
//! Both see exactly this code. Outputs go into a caller-owned `Vec` so the hot path does not
//! allocate.

use crate::config::DetectorConfig;
use crate::decision::{ClipDecision, Scores, Trigger};
use crate::emotes::{EmoteSource, EmoteVocab};
use crate::message::{ChatMessage, Millis};
use crate::model::{Assessment, ChannelModel, TrainingJob};
use crate::scorer::ChannelScorer;
use crate::window::{WindowAggregator, WindowFeatures};
use serde::Serialize;

/// A window with what the model and the decision said of it.
#[derive(Debug, Clone, Serialize)]
pub struct ScoredWindow {
    pub features: WindowFeatures,
    pub assessment: Assessment,
    pub scores: Scores,
}

/// What the detector reports.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    Window(Box<ScoredWindow>),
    Trigger(Trigger),
    Clip(Box<ClipDecision>),
    /// `!testclip` from someone not allowed to force a clip.
    IgnoredTestclip {
        login: String,
        at_ms: Millis,
    },
}

/// How refits run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Training {
    /// Fit inline as soon as due (replay, tests: deterministic).
    Inline,
    /// Leave due jobs for the driver: [`ChannelDetector::take_training_job`].
    External,
}

/// The detection pipeline of one channel: the aggregator and the one score step
/// ([`ChannelScorer`]).
#[derive(Debug)]
pub struct ChannelDetector {
    aggregator: WindowAggregator,
    scorer: ChannelScorer,
    windows: Vec<WindowFeatures>,
    pub stats: DetectorStats,
}

/// Counters for summaries and status lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DetectorStats {
    pub messages: u64,
    pub windows: u64,
    pub triggers: u64,
    pub clips: u64,
    pub fit_errors: u64,
    pub last_score: f64,
}

impl ChannelDetector {
    /// A detector for `channel`, continuing from `model` when one was saved.
    pub fn new(
        channel: &str,
        config: DetectorConfig,
        model: Option<ChannelModel>,
        training: Training,
    ) -> Self {
        let model = model.unwrap_or_else(|| ChannelModel::new(channel, config.model.clone()));
        let mut vocab = EmoteVocab::new(config.window.emotes.clone());
        vocab.add_list(
            EmoteSource::Learned,
            model.learned_emotes.iter().map(String::as_str),
        );
        Self::with_parts(channel, config, model, vocab, training)
    }

    /// A detector from a model and a vocabulary (provider emote lists, learned emotes).
    pub fn with_parts(
        channel: &str,
        config: DetectorConfig,
        model: ChannelModel,
        vocab: EmoteVocab,
        training: Training,
    ) -> Self {
        ChannelDetector {
            aggregator: WindowAggregator::with_vocab(channel, config.window.clone(), vocab),
            scorer: ChannelScorer::new(channel, config, Some(model)).with_training(training),
            windows: Vec::new(),
            stats: DetectorStats::default(),
        }
    }

    /// Apply per-channel decision settings (threshold, cooldown); see
    /// [`ChannelScorer::set_decision_config`].
    pub fn set_decision_config(&mut self, config: crate::DecisionConfig) {
        self.scorer.set_decision_config(config);
    }

    pub fn channel(&self) -> &str {
        self.aggregator.channel()
    }

    pub fn model(&self) -> &ChannelModel {
        self.scorer.model()
    }

    pub fn aggregator_mut(&mut self) -> &mut WindowAggregator {
        &mut self.aggregator
    }

    pub fn set_viewers(&mut self, viewers: Option<u32>) {
        self.aggregator.set_viewers(viewers);
    }

    /// The earliest time at which [`advance`](Self::advance) has something to do: the pending
    /// clip's due time.
    pub fn next_due(&self) -> Option<Millis> {
        self.scorer.next_due()
    }

    /// The clip pending now (triggered, not yet due), as it stands.
    pub fn pending(&self) -> Option<&crate::decision::ClipDecision> {
        self.scorer.pending()
    }

    /// Hand out the pending clip now, due or not (a stopping relay: its `fire_at_ms` still
    /// says when it should be made).
    pub fn take_pending(&mut self) -> Option<crate::decision::ClipDecision> {
        let clip = self.scorer.poll(Millis::MAX);
        if clip.is_some() {
            self.stats.clips += 1;
        }
        clip
    }

    /// Feed one message (in time order per channel; late ones are still counted).
    pub fn on_message(&mut self, msg: &ChatMessage, out: &mut Vec<Output>) {
        self.advance(msg.time_ms, out);
        self.stats.messages += 1;
        if msg.is_testclip_command() {
            if self.scorer.config().may_force_clip(msg) {
                if let Some(clip) = self.scorer.force(msg.time_ms, &msg.login) {
                    self.stats.triggers += 1;
                    out.push(Output::Trigger(Trigger::from(&clip)));
                }
            } else {
                out.push(Output::IgnoredTestclip {
                    login: msg.login.clone(),
                    at_ms: msg.time_ms,
                });
            }
            return;
        }
        self.aggregator.record(msg);
    }

    /// Move time to `now`: close finished windows, score them, decide, hand out due clips.
    pub fn advance(&mut self, now: Millis, out: &mut Vec<Output>) {
        self.aggregator.flush(now, &mut self.windows);
        let mut windows = std::mem::take(&mut self.windows);
        for w in windows.drain(..) {
            // A clip due before this window ends goes out first.
            self.poll(w.end_ms, out);
            self.score_window(w, out);
        }
        self.windows = windows;
        self.poll(now, out);
    }

    /// End of input (end of a log, shutdown): close the open window and hand out any pending
    /// clip.
    pub fn finish(&mut self, out: &mut Vec<Output>) {
        let until = self.next_due().unwrap_or(Millis::MIN);
        self.advance(Millis::MAX / 2, out);
        self.poll(until.max(Millis::MAX / 2), out);
    }

    fn poll(&mut self, now: Millis, out: &mut Vec<Output>) {
        if let Some(clip) = self.scorer.poll(now) {
            self.stats.clips += 1;
            out.push(Output::Clip(Box::new(clip)));
        }
    }

    fn score_window(&mut self, w: WindowFeatures, out: &mut Vec<Output>) {
        self.stats.windows += 1;
        let scored = self.scorer.score(w);
        self.stats.last_score = scored.window.scores.combined;
        self.stats.fit_errors = self.scorer.fit_errors;
        if let Some(clip) = &scored.trigger {
            self.stats.triggers += 1;
            out.push(Output::Trigger(Trigger::from(clip)));
        }
        out.push(Output::Window(Box::new(scored.window)));
    }

    /// A due refit for the driver to run off the hot path (with [`Training::External`]).
    pub fn take_training_job(&mut self) -> Option<TrainingJob> {
        self.scorer.take_training_job()
    }

    /// Install the result of a job from [`take_training_job`](Self::take_training_job).
    pub fn install(&mut self, fitted: crate::Result<crate::model::Fitted>) -> crate::Result<()> {
        let r = self.scorer.install(fitted);
        self.stats.fit_errors = self.scorer.fit_errors;
        r
    }

    /// The model as it should be saved now, with the emotes learned so far.
    pub fn snapshot(&self) -> ChannelModel {
        let mut m = self.scorer.model().clone();
        m.learned_emotes = self
            .aggregator
            .vocab()
            .learned()
            .map(str::to_owned)
            .collect();
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::TriggerKind;
    use crate::Roles;

    fn clips(out: &[Output]) -> Vec<&ClipDecision> {
        out.iter()
            .filter_map(|o| match o {
                Output::Clip(c) => Some(&**c),
                _ => None,
            })
            .collect()
    }

    fn scripted() -> Vec<ChatMessage> {
        crate::fixture::calm_and_burst()
    }

    #[test]
    fn burst_gives_exactly_one_clip_after_the_delay() {
        let mut d = ChannelDetector::new("c", DetectorConfig::default(), None, Training::Inline);
        let mut out = Vec::new();
        for m in scripted() {
            d.on_message(&m, &mut out);
        }
        d.finish(&mut out);
        let c = clips(&out);
        assert_eq!(c.len(), 1, "{:#?}", c);
        assert!(
            (1_200_000..=1_225_000).contains(&c[0].peak_ms),
            "{}",
            c[0].peak_ms
        );
        assert_eq!(c[0].fire_at_ms, c[0].trigger_ms + 7_000);
        assert!(d.model().fitted.is_some());
    }

    #[test]
    fn testclip_only_from_moderators() {
        let mut d = ChannelDetector::new("c", DetectorConfig::default(), None, Training::Inline);
        let mut out = Vec::new();
        let mut viewer = ChatMessage::plain("c", "viewer", "!testclip", 1_000);
        d.on_message(&viewer, &mut out);
        viewer.roles = Roles {
            moderator: true,
            ..Roles::default()
        };
        viewer.login = "mod".into();
        viewer.time_ms = 2_000;
        d.on_message(&viewer, &mut out);
        d.advance(8_999, &mut out);
        assert!(clips(&out).is_empty());
        d.advance(9_000, &mut out);
        let c = clips(&out);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].kind, TriggerKind::Forced);
        assert_eq!(c[0].forced_by.as_deref(), Some("mod"));
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::IgnoredTestclip { login, .. } if login == "viewer")));
    }
}
