//! The link back in chat: `clip: URL` posted in the channel's own chat with Helix Send Chat
//! Message (`POST /helix/chat/messages`), as the user of the clip token, which then needs the
//! `user:write:chat` scope besides `clips:edit`.
//!
//! Only for channels that opted in (`chat_link`, off by default; [`super::targets_for`] adds
//! the [`NotifyTarget::Chat`] target only then), only for confirmed clips, exactly once per clip
//! through the same delivery record as every other target (target id `chat-…`), and at most one
//! line per channel per [`super::NotifyConfig::chat_interval`] (30 s).
//!
//! Answers: sent → delivered; accepted but dropped by Twitch (AutoMod, duplicate, channel
//! settings) → refused with the drop code; 403 (the user may not chat there or the token lacks
//! the scope) → the chat target is disabled for that channel with one warning; 429 → wait until
//! `Ratelimit-Reset`; 5xx and network → retried; no user token → not configured.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Alert, AlertKind, Attempt, MessageSender, NoMessages, NotifyTarget};
use crate::roles::TokenStore;
use crate::twitch::{HelixClient, HelixError};

/// The chat line of a confirmed clip: `clip: URL`.
pub fn line(a: &Alert) -> Option<String> {
    match (a.kind, &a.url) {
        (AlertKind::Confirmed, Some(url)) => Some(format!("clip: {url}")),
        _ => None,
    }
}

/// Posts chat lines through a [`HelixClient`] (its user token, refreshed on 401 by the
/// client). Broadcaster ids are looked up once per channel.
#[derive(Debug)]
pub struct HelixChatSender<S> {
    helix: Arc<HelixClient<S>>,
    ids: tokio::sync::Mutex<HashMap<String, String>>,
}

impl<S: TokenStore> HelixChatSender<S> {
    pub fn new(helix: Arc<HelixClient<S>>) -> Self {
        HelixChatSender {
            helix,
            ids: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    async fn broadcaster_id(&self, channel: &str) -> Result<String, Attempt> {
        if let Some(id) = self.ids.lock().await.get(channel) {
            return Ok(id.clone());
        }
        let ids = self
            .helix
            .get_users(&[channel.to_owned()])
            .await
            .map_err(classify)?;
        let id = ids
            .get(channel)
            .cloned()
            .ok_or_else(|| Attempt::Refused(format!("no Twitch user named {channel}")))?;
        self.ids.lock().await.insert(channel.to_owned(), id.clone());
        Ok(id)
    }

    async fn post(&self, channel: &str, alert: &Alert) -> Attempt {
        let Some(line) = line(alert) else {
            return Attempt::Refused("only confirmed clips are linked in chat".into());
        };
        let id = match self.broadcaster_id(channel).await {
            Ok(id) => id,
            Err(a) => return a,
        };
        match self.helix.send_chat_message(&id, &line).await {
            Ok(sent) if sent.is_sent => Attempt::Sent,
            Ok(sent) => {
                let why = sent
                    .drop_reason
                    .map(|r| format!("{}: {}", r.code, r.message))
                    .unwrap_or_else(|| "no reason given".into());
                Attempt::Refused(format!("Twitch dropped the chat message ({why})"))
            }
            Err(e) => classify(e),
        }
    }
}

/// A Helix failure as an [`Attempt`].
fn classify(e: HelixError) -> Attempt {
    match e {
        HelixError::RateLimited { reset_at_ms } => Attempt::RateLimited(reset_at_ms.map(|at| {
            Duration::from_millis(u64::try_from(at - crate::clock::now_ms()).unwrap_or(0))
        })),
        HelixError::Server { .. } | HelixError::Transport { .. } => Attempt::Retry(e.to_string()),
        HelixError::Status { status: 403, .. } | HelixError::ClippingForbidden { .. } => {
            Attempt::Gone(format!("{e} (is the token's user allowed to chat there, and does the token have user:write:chat?)"))
        }
        HelixError::MissingCredentials(_) => Attempt::Unsupported(format!(
            "the link back in chat needs a Twitch user token with user:write:chat: {e}"
        )),
        other => Attempt::Refused(other.to_string()),
    }
}

impl<S: TokenStore> MessageSender for HelixChatSender<S> {
    async fn send(&self, target: &NotifyTarget, alert: &Alert) -> Attempt {
        match target {
            NotifyTarget::Chat(channel) => self.post(channel, alert).await,
            other => NoMessages.send(other, alert).await,
        }
    }
}

impl<S: TokenStore> MessageSender for Arc<HelixChatSender<S>> {
    async fn send(&self, target: &NotifyTarget, alert: &Alert) -> Attempt {
        (**self).send(target, alert).await
    }
}
