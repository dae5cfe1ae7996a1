//! All detection parameters in one typed config with documented defaults.

use crate::decision::DecisionConfig;
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
