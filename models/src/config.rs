//! All detection parameters in one typed config with documented defaults.

use crate::decision::DecisionConfig;
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
