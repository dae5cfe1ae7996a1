//! Moment claims in memory: the same rule as the DynamoDB conditional write.

use std::collections::HashMap;
use std::sync::Mutex;

use clipper_models::Millis;

use crate::error::{FunctionsError, Result};
use crate::roles::MomentClaims;

/// Last claimed trigger per channel. A claim wins when the channel has none, when it repeats
/// the last winner's request id (a retried claim), or when it is at least the cooldown after
/// the last one.
#[derive(Debug, Default)]
pub struct MemoryClaims {
    last: Mutex<HashMap<String, (Millis, String)>>,
}

impl MemoryClaims {
    pub fn new() -> Self {
        Self::default()
    }
}

/// The claim rule shared by the local and the DynamoDB adapter.
pub(crate) fn claim_wins(
    last: Option<(Millis, &str)>,
    trigger_ms: Millis,
    cooldown_ms: Millis,
    request_id: &str,
) -> bool {
    match last {
        None => true,
        Some((t, rid)) => rid == request_id || t <= trigger_ms.saturating_sub(cooldown_ms),
    }
}

impl MomentClaims for MemoryClaims {
    async fn claim(
        &self,
        channel: &str,
        trigger_ms: Millis,
        cooldown_ms: Millis,
        request_id: &str,
    ) -> Result<bool> {
        let mut last = self
            .last
            .lock()
            .map_err(|_| FunctionsError::Config("claims lock poisoned".into()))?;
        let prev = last.get(channel).map(|(t, r)| (*t, r.as_str()));
        let wins = claim_wins(prev, trigger_ms, cooldown_ms, request_id);
        if wins {
            last.insert(channel.to_owned(), (trigger_ms, request_id.to_owned()));
        }
        Ok(wins)
    }
}
