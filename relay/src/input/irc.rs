//! Raw Twitch IRC logs, parsed with `twitch-irc` ([`IRCMessage::parse`] and
//! [`ServerMessage::try_from`]).
//!
//! Accepted line shapes (after removing the line terminator):
//!
//! * a raw line starting with `@` (`IRCv3` tags), `:` (prefix) or `PING`/`PONG`;
//! * the same preceded by a recorder receive time: exactly 13 ASCII digits (Unix milliseconds)
//!   and one TAB or space. The receive time stands in for `tmi-sent-ts` when that tag is missing
//!   or empty; otherwise it is ignored.
//!
//! Mapping to [`ChatMessage`]:
//!
//! * `PRIVMSG` → channel login (lower case), `user-id`, sender login, roles from the badges, text
//!   (`/me` actions without the `ACTION` wrapper), `time_ms` from `tmi-sent-ts`, emote spans from
//!   the `emotes` tag (char ranges, end exclusive; out-of-range spans are kept as Twitch sent
//!   them), and [`ChatEvent::Bits`] when `bits` is positive.
//! * `USERNOTICE` → the same fields for the notice's sender, text = the user's message or empty,
//!   and the event: `sub`/`resub` → [`ChatEvent::Sub`] with the cumulative months, `subgift`/
//!   `anonsubgift` → `Sub { gift: true }` with the recipient's months, `submysterygift`/
//!   `anonsubmysterygift` → `Sub { months: 0, gift: true }` (0: unknown; the individual `subgift`
//!   notices follow), `raid` → [`ChatEvent::Raid`]. Other notices (announcement, ritual, ...)
//!   become a plain message when they carry user text and are ignored otherwise.
//! * every other command (`PING`, `JOIN`, `ROOMSTATE`, `CLEARCHAT`, `NOTICE`, numeric replies,
//!   ...) is ignored, even when its own tags are incomplete.
//!
//! A `PRIVMSG`/`USERNOTICE` that `twitch-irc` rejects (missing tag, bad number, no channel,
//! truncated line, ...) is malformed. Two values that would make `twitch-irc` 6.1 panic are
//! rejected first as malformed: an emote range whose end lies before its start, and a non-ASCII
//! `color` tag.

use std::borrow::Cow;

use clipper_models::{ChatEvent, ChatMessage, EmoteSpan, Millis, Roles};
use twitch_irc::message::{
    Badge, Emote, IRCMessage, PrivmsgMessage, ServerMessage, ServerMessageParseError,
    UserNoticeEvent, UserNoticeMessage,
};

use super::LineOutcome;

/// Number of digits of a recorder receive time (Unix milliseconds, years 2001 to 2286).
const RECEIVE_TIME_DIGITS: usize = 13;

/// Splits an optional recorder receive time (13 digits + TAB or space) off a line.
#[must_use]
pub fn split_receive_time(line: &str) -> (Option<Millis>, &str) {
    let bytes = line.as_bytes();
    if bytes.len() > RECEIVE_TIME_DIGITS
        && bytes[..RECEIVE_TIME_DIGITS].iter().all(u8::is_ascii_digit)
        && matches!(bytes[RECEIVE_TIME_DIGITS], b'\t' | b' ')
    {
        let (digits, rest) = line.split_at(RECEIVE_TIME_DIGITS);
        if let Ok(ms) = digits.parse::<Millis>() {
            return (Some(ms), &rest[1..]);
        }
    }
    (None, line)
}

/// True when the raw line (receive time already removed) has a shape this reader accepts.
fn has_irc_start(raw: &str) -> bool {
    raw.starts_with('@')
        || raw.starts_with(':')
        || ["PING", "PONG"].iter().any(|cmd| {
            raw.get(..cmd.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(cmd))
                && raw[cmd.len()..].chars().next().is_none_or(|c| c == ' ')
        })
}

/// True when `line` is a raw IRC line (optionally with a receive time) that `twitch-irc` parses.
#[must_use]
pub fn looks_like_irc(line: &str) -> bool {
    let (_, raw) = split_receive_time(line);
    has_irc_start(raw) && IRCMessage::parse(raw).is_ok()
}

/// Turns one non-blank line (terminator already removed) into a message. `fallback_channel` is
/// used only if a chat line somehow names no channel.
pub(crate) fn parse_line(line: &str, fallback_channel: &str) -> LineOutcome {
    let (receive_ms, raw) = split_receive_time(line);
    if !has_irc_start(raw) {
        return LineOutcome::Malformed(Cow::Borrowed(
            "not a raw IRC line (expected `@tags`, `:prefix` or PING, optionally after a \
             13-digit unix-ms receive time)",
        ));
    }
    let mut irc = match IRCMessage::parse(raw) {
        Ok(irc) => irc,
        Err(e) => return LineOutcome::Malformed(Cow::Owned(format!("IRC syntax: {e}"))),
    };
    if !matches!(irc.command.as_str(), "PRIVMSG" | "USERNOTICE") {
        return LineOutcome::Ignored;
    }
    if let Some(ms) = receive_ms {
        let ts = irc.tags.0.entry("tmi-sent-ts".to_owned()).or_default();
        if ts.is_empty() {
            *ts = ms.to_string();
        }
    }
    if let Err(reason) = check_panicky_tags(&irc) {
        return LineOutcome::Malformed(Cow::Borrowed(reason));
    }
    let message = match ServerMessage::try_from(irc) {
        Ok(ServerMessage::Privmsg(m)) => from_privmsg(m),
        Ok(ServerMessage::UserNotice(m)) => from_usernotice(m),
        Ok(_) => None,
        Err(e) => return LineOutcome::Malformed(Cow::Owned(describe(&e))),
    };
    match message {
        Some(mut m) => {
            if m.channel.is_empty() {
                fallback_channel.clone_into(&mut m.channel);
            }
            LineOutcome::Message(m)
        }
        None => LineOutcome::Ignored,
    }
}

/// Rejects tag values on which `twitch-irc` 6.1 would panic instead of returning an error.
pub(crate) fn check_panicky_tags(irc: &IRCMessage) -> Result<(), &'static str> {
    if let Some(color) = irc.tags.0.get("color") {
        // The library slices the value by bytes when it is 7 bytes long.
        if !color.is_ascii() {
            return Err("malformed `color` tag (not ASCII)");
        }
    }
    if let Some(emotes) = irc.tags.0.get("emotes") {
        // The library computes `end + 1 - start` unchecked.
        for emote in emotes.split('/') {
            let Some((_, ranges)) = emote.split_once(':') else {
                continue;
            };
            for range in ranges.split(',') {
                let Some((start, end)) = range.split_once('-') else {
                    continue;
                };
                if let (Ok(start), Ok(end)) = (start.parse::<usize>(), end.parse::<usize>()) {
                    if end < start || end == usize::MAX {
                        return Err("malformed `emotes` tag (range ends before it starts)");
                    }
                }
            }
        }
    }
    Ok(())
}

/// A short reason for a rejected chat line (the library's own message repeats the whole line).
fn describe(e: &ServerMessageParseError) -> String {
    use ServerMessageParseError as E;
    match e {
        E::MismatchedCommand(m) => format!("unexpected command {}", m.command),
        E::MissingTag(_, key) => format!("missing tag `{key}`"),
        E::MissingTagValue(_, key) => format!("empty tag `{key}`"),
        E::MalformedTagValue(_, key, value) => format!("malformed tag `{key}`={value:?}"),
        E::MissingParameter(_, index) => format!("missing parameter {index} (truncated line?)"),
        E::MalformedChannel(_) => "malformed channel (expected #name)".to_owned(),
        E::MalformedParameter(_, index) => format!("malformed parameter {index}"),
        E::MissingPrefix(_) => "missing prefix".to_owned(),
        E::MissingNickname(_) => "missing nickname in prefix".to_owned(),
    }
}

/// Roles from the library's parsed badge list.
fn roles_from_badges(badges: &[Badge]) -> Roles {
    let mut roles = Roles::default();
    for badge in badges {
        let one = Roles::from_badges(&badge.name);
        roles.broadcaster |= one.broadcaster;
        roles.moderator |= one.moderator;
        roles.vip |= one.vip;
        roles.subscriber |= one.subscriber;
    }
    roles
}

/// Emote spans from the library's emote list.
fn emote_spans(emotes: Vec<Emote>) -> Vec<EmoteSpan> {
    emotes
        .into_iter()
        .map(|e| EmoteSpan {
            id: e.id,
            start: e.char_range.start,
            end: e.char_range.end,
        })
        .collect()
}

/// Saturating `u64` → `u32`.
fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Whether a Shared Chat message came from another channel of the session: Twitch delivers it
/// to every channel of the session with `source-room-id` naming where it was sent. Such a
/// message must not count for this channel (its reaction belongs to another stream).
fn from_other_room(source: &IRCMessage, room_id: &str) -> bool {
    source
        .tags
        .0
        .get("source-room-id")
        .is_some_and(|src| !src.is_empty() && src != room_id)
}

/// The chat message of a `PRIVMSG`; `None` for a Shared Chat message sent in another channel.
pub(crate) fn from_privmsg(m: PrivmsgMessage) -> Option<ChatMessage> {
    if from_other_room(&m.source, &m.channel_id) {
        return None;
    }
    let mut channel = m.channel_login;
    channel.make_ascii_lowercase();
    Some(ChatMessage {
        channel,
        user_id: Some(m.sender.id),
        login: m.sender.login,
        roles: roles_from_badges(&m.badges),
        text: m.message_text,
        time_ms: m.server_timestamp.timestamp_millis(),
        emotes: Some(emote_spans(m.emotes)),
        event: m.bits.filter(|&bits| bits > 0).map(|bits| ChatEvent::Bits {
            bits: clamp_u32(bits),
        }),
    })
}

pub(crate) fn from_usernotice(m: UserNoticeMessage) -> Option<ChatMessage> {
    let event = match &m.event {
        UserNoticeEvent::SubOrResub {
            cumulative_months, ..
        } => Some(ChatEvent::Sub {
            months: clamp_u32(*cumulative_months),
            gift: false,
        }),
        UserNoticeEvent::SubGift {
            cumulative_months, ..
        } => Some(ChatEvent::Sub {
            months: clamp_u32(*cumulative_months),
            gift: true,
        }),
        UserNoticeEvent::SubMysteryGift { .. } | UserNoticeEvent::AnonSubMysteryGift { .. } => {
            Some(ChatEvent::Sub {
                months: 0,
                gift: true,
            })
        }
        UserNoticeEvent::Raid { viewer_count, .. } => Some(ChatEvent::Raid {
            viewers: clamp_u32(*viewer_count),
        }),
        _ => None,
    };
    if event.is_none() && m.message_text.as_deref().is_none_or(str::is_empty) {
        return None;
    }
    if from_other_room(&m.source, &m.channel_id) {
        return None;
    }
    let mut channel = m.channel_login;
    channel.make_ascii_lowercase();
    Some(ChatMessage {
        channel,
        user_id: Some(m.sender.id),
        login: m.sender.login,
        roles: roles_from_badges(&m.badges),
        text: m.message_text.unwrap_or_default(),
        time_ms: m.server_timestamp.timestamp_millis(),
        emotes: Some(emote_spans(m.emotes)),
        event,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const PRIVMSG: &str = "@badge-info=subscriber/5;badges=moderator/1,subscriber/3;color=#FF0000;display-name=NightOwl_77;emotes=25:0-4,12-16/1902:6-10;first-msg=0;flags=;id=b34ccfc7-4977-403a-8a94-33c6bac34fb8;mod=1;room-id=40123456;subscriber=1;tmi-sent-ts=1700000000123;turbo=0;user-id=51234567;user-type=mod :nightowl_77!nightowl_77@nightowl_77.tmi.twitch.tv PRIVMSG #pixelbard :Kappa Keepo Kappa";

    fn parse(line: &str) -> LineOutcome {
        parse_line(line, "fallback")
    }

    fn message(line: &str) -> ChatMessage {
        match parse(line) {
            LineOutcome::Message(m) => m,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    fn malformed(line: &str) -> String {
        match parse(line) {
            LineOutcome::Malformed(reason) => reason.into_owned(),
            other => panic!("{line:?}: {other:?}"),
        }
    }

    #[test]
    fn shared_chat_from_another_room_does_not_count() {
        // Same room: an ordinary message (Twitch also sets source-room-id on it in a session).
        let own = PRIVMSG.replace(
            "room-id=40123456;",
            "room-id=40123456;source-room-id=40123456;",
        );
        assert_eq!(message(&own).text, "Kappa Keepo Kappa");
        let other = PRIVMSG.replace(
            "room-id=40123456;",
            "room-id=40123456;source-room-id=99999;",
        );
        assert!(
            matches!(parse(&other), LineOutcome::Ignored),
            "{:?}",
            parse(&other)
        );
    }

    #[test]
    fn lead_moderator_is_a_moderator() {
        let line = PRIVMSG.replace("badges=moderator/1,", "badges=lead_moderator/1,");
        let m = message(&line);
        assert!(m.roles.moderator && m.roles.can_force_clip());
    }

    #[test]
    fn privmsg_maps_all_fields() {
        let m = message(PRIVMSG);
        assert_eq!(m.channel, "pixelbard");
        assert_eq!(m.user_id.as_deref(), Some("51234567"));
        assert_eq!(m.login, "nightowl_77");
        assert!(m.roles.moderator && m.roles.subscriber && !m.roles.broadcaster && !m.roles.vip);
        assert_eq!(m.text, "Kappa Keepo Kappa");
        assert_eq!(m.time_ms, 1_700_000_000_123);
        assert_eq!(m.event, None);
        assert_eq!(m.tagged_emote_names(), vec!["Kappa", "Keepo", "Kappa"]);
        let spans = m.emotes.unwrap();
        assert_eq!(
            spans[0],
            EmoteSpan {
                id: "25".into(),
                start: 0,
                end: 5
            }
        );
        assert_eq!(
            spans[1],
            EmoteSpan {
                id: "1902".into(),
                start: 6,
                end: 11
            }
        );
    }

    #[test]
    fn receive_time_prefix() {
        assert_eq!(
            split_receive_time("1700000000999\tPING"),
            (Some(1_700_000_000_999), "PING")
        );
        assert_eq!(
            split_receive_time("1700000000999 @a=b"),
            (Some(1_700_000_000_999), "@a=b")
        );
        assert_eq!(
            split_receive_time("170000000099\t@a=b"),
            (None, "170000000099\t@a=b")
        );
        assert_eq!(split_receive_time("1700000000999"), (None, "1700000000999"));
        // Present tmi-sent-ts wins over the receive time.
        assert_eq!(
            message(&format!("1700000009999\t{PRIVMSG}")).time_ms,
            1_700_000_000_123
        );
        // Missing or empty tmi-sent-ts: the receive time is used.
        let without = PRIVMSG.replace("tmi-sent-ts=1700000000123;", "");
        assert_eq!(
            message(&format!("1700000009999\t{without}")).time_ms,
            1_700_000_009_999
        );
        let empty = PRIVMSG.replace("tmi-sent-ts=1700000000123;", "tmi-sent-ts=;");
        assert_eq!(
            message(&format!("1700000009999 {empty}")).time_ms,
            1_700_000_009_999
        );
        // Without either it is malformed.
        assert!(malformed(&without).contains("tmi-sent-ts"));
    }

    #[test]
    fn panicky_tags_are_rejected() {
        let reversed = PRIVMSG.replace("emotes=25:0-4,12-16/1902:6-10", "emotes=25:9-2");
        assert!(malformed(&reversed).contains("emotes"));
        let huge = PRIVMSG.replace(
            "emotes=25:0-4,12-16/1902:6-10",
            "emotes=25:0-18446744073709551615",
        );
        assert!(malformed(&huge).contains("emotes"));
        let color = PRIVMSG.replace("color=#FF0000", "color=#aéfff");
        assert!(malformed(&color).contains("color"));
        // Out-of-range (but ordered) spans are Twitch's known bug: kept.
        let past_end = PRIVMSG.replace("emotes=25:0-4,12-16/1902:6-10", "emotes=25:40-44");
        assert_eq!(message(&past_end).emotes.unwrap()[0].start, 40);
    }

    #[test]
    fn other_commands_are_ignored() {
        for line in [
            "PING :tmi.twitch.tv",
            ":tmi.twitch.tv PONG tmi.twitch.tv :x",
            ":justinfan1!justinfan1@justinfan1.tmi.twitch.tv JOIN #pixelbard",
            ":tmi.twitch.tv 001 justinfan1 :Welcome, GLHF!",
            "@room-id=40123456 :tmi.twitch.tv CLEARCHAT #pixelbard",
            // Incomplete tags on a command we do not read: still just ignored.
            "@msg-id=whatever :tmi.twitch.tv NOTICE",
        ] {
            assert!(matches!(parse(line), LineOutcome::Ignored), "{line}");
        }
    }

    #[test]
    fn not_irc_lines_are_malformed() {
        assert!(malformed("hello world").contains("not a raw IRC line"));
        assert!(malformed("12\tuser\tmessage").contains("not a raw IRC line"));
        assert!(malformed("PINGU").contains("not a raw IRC line"));
        assert!(malformed("@badge-info=;badges=").contains("IRC syntax"));
        assert!(malformed(": PRIVMSG #a :b").contains("IRC syntax"));
    }
}
