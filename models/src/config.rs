//! All detection parameters in one typed config with documented defaults.

use crate::decision::DecisionConfig;
use crate::error::{ModelsError, Result};
use crate::message::ChatMessage;
use crate::model::ModelConfig;
use crate::window::WindowConfig;
use serde::{Deserialize, Serialize};

/// Everything that tunes detection. Every field has a default; a JSON or TOML file may set any
/// subset (missing fields keep their defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorConfig {
    pub window: WindowConfig,
    pub model: ModelConfig,
    pub decision: DecisionConfig,
    /// Logins (lower case) allowed to force a clip with `!testclip` besides the broadcaster
    /// and moderators.
    pub testclip_allowlist: Vec<String>,
}

impl DetectorConfig {
    /// Whether `msg`'s sender may force a clip with `!testclip`: the broadcaster, a moderator,
    /// or a login on the allowlist.
    pub fn may_force_clip(&self, msg: &ChatMessage) -> bool {
        msg.roles.can_force_clip()
            || self
                .testclip_allowlist
                .iter()
                .any(|l| l.eq_ignore_ascii_case(&msg.login))
    }
}

/// A range check: `Ok` when `ok`, else [`ModelsError::InvalidParams`] naming the field.
fn check(ok: bool, name: &'static str, reason: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(ModelsError::InvalidParams {
            name,
            reason: reason(),
        })
    }
}

fn finite(x: f64, name: &'static str) -> Result<()> {
    check(x.is_finite(), name, || {
        format!("{x} is not a finite number")
    })
}

fn within<T: PartialOrd + std::fmt::Display + Copy>(
    x: T,
    lo: T,
    hi: T,
    name: &'static str,
) -> Result<()> {
    check(x >= lo && x <= hi, name, || {
        format!("{x} is outside {lo}..={hi}")
    })
}

impl crate::window::WindowConfig {
    /// Checks every field (a hop of 0 would divide by zero, a negative one loop forever).
    pub fn validate(&self) -> Result<()> {
        within(self.hop_ms, 500, 60_000, "window.hop_ms")?;
        within(
            self.max_idle_ms,
            self.hop_ms,
            86_400_000,
            "window.max_idle_ms",
        )?;
        within(self.sentiment_sample, 0, 10_000, "window.sentiment_sample")
    }
}

impl ModelConfig {
    /// Checks every field: sizes that would allocate without bound or never fit are refused.
    pub fn validate(&self) -> Result<()> {
        within(self.n_trees, 1, 1_000, "model.n_trees")?;
        within(self.max_samples, 2, 4_096, "model.max_samples")?;
        within(self.buffer_windows, 16, 100_000, "model.buffer_windows")?;
        within(
            self.warmup_windows,
            1,
            self.buffer_windows,
            "model.warmup_windows",
        )?;
        within(self.refit_every, 1, 1_000_000, "model.refit_every")?;
        finite(self.baseline_halflife, "model.baseline_halflife")?;
        within(
            self.baseline_halflife,
            1.0,
            1.0e6,
            "model.baseline_halflife",
        )?;
        let e = &self.evidence;
        within(e.level_windows, 2, 100_000, "model.evidence.level_windows")?;
        within(
            e.min_level_windows,
            1,
            e.level_windows,
            "model.evidence.min_level_windows",
        )?;
        for (x, name) in [
            (e.pseudo_count, "model.evidence.pseudo_count"),
            (e.share_prior, "model.evidence.share_prior"),
            (e.burst_ratio, "model.evidence.burst_ratio"),
            (
                e.lexicon_prior_weight,
                "model.evidence.lexicon_prior_weight",
            ),
        ] {
            finite(x, name)?;
            within(x, 0.0, 1.0e6, name)?;
        }
        within(
            e.lexicon_tokens,
            0,
            100_000,
            "model.evidence.lexicon_tokens",
        )?;
        if let Some(prior) = &e.prior {
            check(
                prior.values().all(|v| v.is_finite()),
                "model.evidence.prior",
                || "holds a value that is not a finite number".into(),
            )?;
        }
        Ok(())
    }
}

impl DecisionConfig {
    /// Checks every field (times in range so that time arithmetic cannot overflow, weights
    /// finite, durations within what Create Clip accepts).
    pub fn validate(&self) -> Result<()> {
        for (x, name) in [
            (self.threshold, "decision.threshold"),
            (self.target_clips_per_hour, "decision.target_clips_per_hour"),
            (self.floor, "decision.floor"),
            (self.min_messages_20s, "decision.min_messages_20s"),
            (self.min_messages_5s, "decision.min_messages_5s"),
            (self.min_rise_z, "decision.min_rise_z"),
            (self.min_chatters_20s, "decision.min_chatters_20s"),
            (self.weights.intercept, "decision.weights.intercept"),
            (self.weights.threshold, "decision.weights.threshold"),
        ] {
            finite(x, name)?;
        }
        check(
            self.weights.features.values().all(|v| v.is_finite()),
            "decision.weights.features",
            || "holds a value that is not a finite number".into(),
        )?;
        within(
            self.target_clips_per_hour,
            0.0,
            720.0,
            "decision.target_clips_per_hour",
        )?;
        within(
            self.min_messages_20s,
            0.0,
            1.0e6,
            "decision.min_messages_20s",
        )?;
        within(self.min_messages_5s, 0.0, 1.0e6, "decision.min_messages_5s")?;
        within(
            self.min_chatters_20s,
            0.0,
            1.0e6,
            "decision.min_chatters_20s",
        )?;
        within(self.prior_windows, 0.0, 1.0e6, "decision.prior_windows")?;
        within(self.clip_delay_ms, 0, 60_000, "decision.clip_delay_ms")?;
        within(self.cooldown_ms, 0, 86_400_000, "decision.cooldown_ms")?;
        within(self.lead_ms, 0, 120_000, "decision.lead_ms")?;
        within(
            self.min_duration_ms,
            5_000,
            60_000,
            "decision.min_duration_ms",
        )?;
        within(
            self.max_duration_ms,
            self.min_duration_ms,
            60_000,
            "decision.max_duration_ms",
        )
    }
}

impl DetectorConfig {
    /// Checks every part ([`WindowConfig::validate`](crate::window::WindowConfig::validate),
    /// [`ModelConfig::validate`], [`DecisionConfig::validate`]).
    pub fn validate(&self) -> Result<()> {
        self.window.validate()?;
        self.model.validate()?;
        self.decision.validate()?;
        check(
            self.testclip_allowlist.len() <= 10_000,
            "testclip_allowlist",
            || format!("{} logins (at most 10,000)", self.testclip_allowlist.len()),
        )
    }

    /// The one config loader: JSON with any subset of the fields (the rest default), then
    /// [`validate`](Self::validate)d. Used by the command line (`--config`) and the functions
    /// (`DETECTOR_CONFIG`).
    pub fn from_json(text: &str) -> Result<Self> {
        let c: DetectorConfig = serde_json::from_str(text)?;
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        DetectorConfig::default().validate().unwrap();
    }

    #[test]
    fn absurd_values_are_refused_with_the_field_named() {
        for (json, field) in [
            (r#"{"window":{"hop_ms":0}}"#, "window.hop_ms"),
            (r#"{"window":{"hop_ms":-5000}}"#, "window.hop_ms"),
            (r#"{"model":{"n_trees":10000000}}"#, "model.n_trees"),
            (r#"{"model":{"buffer_windows":0}}"#, "model.buffer_windows"),
            (
                r#"{"decision":{"clip_delay_ms":9223372036854775807}}"#,
                "decision.clip_delay_ms",
            ),
            (
                r#"{"decision":{"min_duration_ms":1000}}"#,
                "decision.min_duration_ms",
            ),
            (
                r#"{"decision":{"target_clips_per_hour":-1}}"#,
                "decision.target_clips_per_hour",
            ),
            (
                r#"{"decision":{"min_messages_5s":-1}}"#,
                "decision.min_messages_5s",
            ),
            (
                r#"{"decision":{"min_chatters_20s":-1}}"#,
                "decision.min_chatters_20s",
            ),
        ] {
            let e = DetectorConfig::from_json(json).unwrap_err().to_string();
            assert!(e.contains(field), "{json}: {e}");
        }
        assert!(matches!(
            DetectorConfig::from_json("{\"window\":"),
            Err(ModelsError::Corrupt(_))
        ));
        let ok = DetectorConfig::from_json(r#"{"decision":{"cooldown_ms":30000}}"#).unwrap();
        assert_eq!(ok.decision.cooldown_ms, 30_000);
    }
}
