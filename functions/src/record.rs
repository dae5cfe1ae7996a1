//! What is recorded of every clip attempt (`recordings/clips.jsonl`, DynamoDB clips table,
//! `clipper clips export`).

use clipper_models::{Millis, Scores, TriggerKind, WindowFeatures};
use serde::{Deserialize, Serialize};

/// Where a clip attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipStatus {
    /// No user token: the clip that would have been made.
    WouldClip,
    /// Create Clip answered 202; not yet seen by Get Clips.
    Pending,
    /// Get Clips returned it.
    Confirmed,
    /// Create Clip or confirmation failed for good (`error` says why).
    Failed,
    /// Not attempted: channel offline, paused (clipping disabled), or cooldown.
    Skipped,
}

/// One clip attempt, keyed by `request_id` ([`clipper_models::ClipRequest::id_for`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipRecord {
    pub request_id: String,
    pub channel: String,
    #[serde(default)]
    pub broadcaster_id: Option<String>,
    /// Trigger and peak (chat time, Unix ms) and when Create Clip was called.
    pub trigger_ms: Millis,
    pub peak_ms: Millis,
    #[serde(default)]
    pub created_at_ms: Option<Millis>,
    pub kind: TriggerKind,
    pub score: f64,
    pub scores: Scores,
    #[serde(default)]
    pub features: Option<WindowFeatures>,
    pub title: String,
    #[serde(default)]
    pub forced_by: Option<String>,
    pub status: ClipStatus,
    #[serde(default)]
    pub clip_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub edit_url: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// Create Clip attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// While Pending: when the next step was scheduled to run (Unix ms). A record still
    /// Pending well after it means that step's message was lost (its send failed after the
    /// record was stored); a redelivery of the previous step then sends it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due_ms: Option<Millis>,
    /// While Pending, in the relay's local store: the request of the next step, so that a
    /// restart (after SIGTERM or a crash) resumes it ([`crate::clip_flow`]). The serverless
    /// shape keeps it in the clip queue instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Box<clipper_models::ClipRequest>>,
}
