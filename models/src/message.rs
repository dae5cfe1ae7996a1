//! Our own chat message type, independent of any chat library.
//!
//! Sources (IRC with tags, a TSV log, an SQS message) convert into [`ChatMessage`]; the detection
//! core never sees a library type.

use serde::{Deserialize, Serialize};

/// Milliseconds of event time. For live chat: Unix milliseconds (`tmi-sent-ts`); for a log: the
/// log's own offset. The core never reads a clock: every time comes in through messages or
/// `flush(until)`.
pub type Millis = i64;

/// Roles of the sender, taken from the IRC `badges` tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    pub broadcaster: bool,
    pub moderator: bool,
    pub vip: bool,
    pub subscriber: bool,
}

impl Roles {
    /// Broadcaster or moderator: may force a clip with `!testclip`.
    pub fn can_force_clip(&self) -> bool {
        self.broadcaster || self.moderator
    }

    /// Parse a Twitch `badges` tag value such as `broadcaster/1,subscriber/12`.
    pub fn from_badges(badges: &str) -> Self {
        let mut roles = Roles::default();
        for badge in badges.split(',') {
            let name = badge.split('/').next().unwrap_or("");
            match name {
                "broadcaster" => roles.broadcaster = true,
                // `lead_moderator` (2025) is a moderator with more rights.
                "moderator" | "lead_moderator" => roles.moderator = true,
                "vip" => roles.vip = true,
                "subscriber" | "founder" => roles.subscriber = true,
                _ => {}
            }
        }
        roles
    }
}

/// Where an emote sits in the message text, as the IRC `emotes` tag gives it.
///
/// `start`/`end` are **char** indices (inclusive start, exclusive end), as Twitch counts them
/// (Unicode code points).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmoteSpan {
    pub id: String,
    pub start: usize,
    pub end: usize,
}

/// Non-text events that come with chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatEvent {
    /// Cheer with bits attached to a message.
    Bits { bits: u32 },
    /// New subscription, resubscription or gift (USERNOTICE `sub`, `resub`, `subgift`, ...).
    Sub { months: u32, gift: bool },
    /// Raid arriving in the channel.
    Raid { viewers: u32 },
}

/// One chat line (or chat event) in a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Channel login, lower case, without `#`.
    pub channel: String,
    /// Twitch user id when known (IRC `user-id` tag); logs without tags have none.
    pub user_id: Option<String>,
    /// Sender login (or a pseudonym in anonymised logs).
    pub login: String,
    pub roles: Roles,
    pub text: String,
    /// Event time in milliseconds (see [`Millis`]).
    pub time_ms: Millis,
    /// Emote spans from the IRC `emotes` tag; `None` when the source had no tags.
    pub emotes: Option<Vec<EmoteSpan>>,
    pub event: Option<ChatEvent>,
}

impl ChatMessage {
    /// A plain text message with no tags, as read from a TSV log.
    pub fn plain(channel: &str, login: &str, text: &str, time_ms: Millis) -> Self {
        ChatMessage {
            channel: channel.to_owned(),
            user_id: None,
            login: login.to_owned(),
            roles: Roles::default(),
            text: text.to_owned(),
            time_ms,
            emotes: None,
            event: None,
        }
    }

    /// A stable key for the sender: the user id when known, else the login.
    pub fn user_key(&self) -> &str {
        self.user_id.as_deref().unwrap_or(&self.login)
    }

    /// Emote names named by the tag spans, in order (slices of `text`).
    pub fn tagged_emote_names(&self) -> Vec<&str> {
        let Some(spans) = &self.emotes else {
            return Vec::new();
        };
        // Map char indices to byte offsets once.
        let offsets: Vec<usize> = self
            .text
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(self.text.len()))
            .collect();
        spans
            .iter()
            .filter_map(|s| {
                let start = *offsets.get(s.start)?;
                let end = *offsets.get(s.end)?;
                self.text.get(start..end)
            })
            .collect()
    }

    /// True when the message is `!testclip` (optionally followed by words).
    pub fn is_testclip_command(&self) -> bool {
        let t = self.text.trim_start();
        t.len() >= 9
            && t.is_char_boundary(9)
            && t[..9].eq_ignore_ascii_case("!testclip")
            && t[9..].chars().next().is_none_or(char::is_whitespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_give_roles() {
        let r = Roles::from_badges("moderator/1,subscriber/24");
        assert!(r.moderator && r.subscriber && !r.broadcaster && r.can_force_clip());
        assert!(!Roles::from_badges("subscriber/3,premium/1").can_force_clip());
        assert!(Roles::from_badges("broadcaster/1").can_force_clip());
        assert_eq!(Roles::from_badges(""), Roles::default());
    }

    #[test]
    fn emote_spans_use_char_indices() {
        let mut m = ChatMessage::plain("c", "u", "ㅋㅋ Kappa 와 LUL", 0);
        m.emotes = Some(vec![
            EmoteSpan {
                id: "25".into(),
                start: 3,
                end: 8,
            },
            EmoteSpan {
                id: "425618".into(),
                start: 11,
                end: 14,
            },
            EmoteSpan {
                id: "bad".into(),
                start: 40,
                end: 44,
            },
        ]);
        assert_eq!(m.tagged_emote_names(), vec!["Kappa", "LUL"]);
    }

    #[test]
    fn testclip_command() {
        let mut m = ChatMessage::plain("c", "u", "!testclip", 0);
        assert!(m.is_testclip_command());
        m.text = "  !TestClip now".into();
        assert!(m.is_testclip_command());
        m.text = "!testclipper".into();
        assert!(!m.is_testclip_command());
        m.text = "!test".into();
        assert!(!m.is_testclip_command());
    }
}
