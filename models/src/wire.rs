//! Messages that cross a queue, shared by producer and consumer so they cannot drift.
//!
//! * windows queue: [`WindowBatch`] (relay → score function), closed windows of one or more
//!   channels, each with what the relay knows of the channel at that time;
//! * clip queue: [`ClipRequest`] (score function → clip function, and the clip function to
//!   itself for retries and confirmation re-checks, as delayed messages).
//!
//! Locally the same types travel through in-process channels. Every message carries [`WIRE_VERSION`];
//! a consumer rejects other versions as poison instead of misreading them.

use crate::decision::ClipDecision;
use crate::message::Millis;
use crate::window::WindowFeatures;
use serde::{Deserialize, Serialize};

/// Version of every message below.
pub const WIRE_VERSION: u32 = 1;

/// One message on the windows queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowBatch {
    pub v: u32,
    /// Which relay sent it (host name or task id) and its per-relay sequence number.
    pub relay: String,
    pub seq: u64,
    pub windows: Vec<WindowEnvelope>,
}

/// One closed window and the channel's context at the time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowEnvelope {
    pub channel: String,
    /// Twitch user id of the broadcaster, when known (ROOMSTATE `room-id` or Helix).
    #[serde(default)]
    pub broadcaster_id: Option<String>,
    /// Whether the stream is live per Helix (`None`: unknown, e.g. anonymous relay).
    #[serde(default)]
    pub live: Option<bool>,
    pub features: WindowFeatures,
    /// `!testclip` by this login (allowed by the relay) inside this window: force a clip.
    #[serde(default)]
    pub forced_by: Option<String>,
}

/// What a clip request is waiting for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum ClipPhase {
    /// Call Create Clip (again, after `attempt` failed tries).
    Create,
    /// Create Clip answered 202; check Get Clips (check number `check`, from 0).
    Confirm {
        clip_id: String,
        edit_url: String,
        created_at_ms: Millis,
        check: u32,
    },
}

/// One message on the clip queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipRequest {
    pub v: u32,
    /// Stable id of the moment: [`ClipRequest::id_for`]. Idempotency key everywhere.
    pub request_id: String,
    pub channel: String,
    #[serde(default)]
    pub broadcaster_id: Option<String>,
    pub decision: ClipDecision,
    pub phase: ClipPhase,
    /// Failed Create Clip attempts so far.
    #[serde(default)]
    pub attempt: u32,
    /// When an earlier Create Clip for this moment was sent, if one was (Unix ms): its answer
    /// may have been lost (timeout, crash), so the next attempt first looks for the clip it
    /// may have made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_call_ms: Option<Millis>,
}

impl ClipRequest {
    /// The id of the moment `channel` triggered at `trigger_ms`.
    pub fn id_for(channel: &str, trigger_ms: Millis) -> String {
        format!("{}:{}", channel.to_ascii_lowercase(), trigger_ms)
    }

    /// A fresh request for a decision.
    pub fn new(decision: ClipDecision, broadcaster_id: Option<String>) -> Self {
        ClipRequest {
            v: WIRE_VERSION,
            request_id: Self::id_for(&decision.channel, decision.trigger_ms),
            channel: decision.channel.clone(),
            broadcaster_id,
            decision,
            phase: ClipPhase::Create,
            attempt: 0,
            last_call_ms: None,
        }
    }
}
