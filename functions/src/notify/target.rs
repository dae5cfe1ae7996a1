//! Where an alert goes: [`NotifyTarget`], parsed from `discord:URL`, `slack:URL`,
//! `email:ADDRESS` and `sms:+E164`.
//!
//! Webhook URLs carry their secret in the path, so a target's `Display` and `Debug` show only
//! the kind, the host and a short fingerprint; the full URL is reachable only through
//! [`NotifyTarget::expose`] (the sender) and serde (the channel store).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{FunctionsError, Result};

/// One alert target of a channel.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum NotifyTarget {
    /// A Discord webhook (`https://discord.com/api/webhooks/ID/TOKEN`).
    Discord(url::Url),
    /// A Slack incoming webhook (`https://hooks.slack.com/services/...`).
    Slack(url::Url),
    /// An email address (SMTP locally, SES on AWS).
    Email(String),
    /// A phone number in E.164 form (SNS).
    Sms(String),
    /// The channel's own chat (Helix Send Chat Message, `clip: URL`). Never parsed from a
    /// `--notify` list: added by [`super::targets_for`] only for a channel whose `chat_link` is
    /// on (the login, lower case).
    Chat(String),
}

/// The kind of a target, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Discord,
    Slack,
    Email,
    Sms,
    Chat,
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TargetKind::Discord => "discord",
            TargetKind::Slack => "slack",
            TargetKind::Email => "email",
            TargetKind::Sms => "sms",
            TargetKind::Chat => "chat",
        })
    }
}

fn bad(input_kind: &str, why: &str) -> FunctionsError {
    FunctionsError::Config(format!("notify target {input_kind}: {why}"))
}

/// Whether `host` is a loopback address or `localhost` (plain `http` is accepted only there,
/// for tests).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// A webhook URL: absolute, `https` (or `http` to a loopback host), no credentials in the
/// authority. Errors never repeat the URL.
fn webhook_url(kind: &str, raw: &str) -> Result<url::Url> {
    let url = url::Url::parse(raw.trim()).map_err(|_| bad(kind, "not a valid URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => return Err(bad(kind, "only https webhooks are accepted")),
    }
    if url.host().is_none() {
        return Err(bad(kind, "the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(kind, "credentials in the URL are not accepted"));
    }
    Ok(url)
}

/// `+` then 8 to 15 digits, the first not 0 (ITU-T E.164).
fn e164(raw: &str) -> Result<String> {
    let s = raw.trim();
    let digits = s
        .strip_prefix('+')
        .ok_or_else(|| bad("sms", "the number must be in E.164 form, e.g. +14155550123"))?;
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !ok {
        return Err(bad(
            "sms",
            "the number must be in E.164 form: + and 8 to 15 digits, e.g. +14155550123",
        ));
    }
    Ok(s.to_owned())
}

/// A plausible address: one `@`, non-empty local part, a dotted domain, no spaces or angle
/// brackets (the SMTP server has the last word).
fn email(raw: &str) -> Result<String> {
    let s = raw.trim();
    let (local, domain) = s
        .split_once('@')
        .ok_or_else(|| bad("email", "expected an address like name@example.com"))?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && s.len() <= 254
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
    if !ok {
        return Err(bad("email", "expected an address like name@example.com"));
    }
    Ok(s.to_owned())
}

impl NotifyTarget {
    /// Parses `discord:URL`, `slack:URL`, `email:ADDRESS` or `sms:+E164`.
    pub fn parse(s: &str) -> Result<NotifyTarget> {
        let s = s.trim();
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            FunctionsError::Config(
                "notify target: expected discord:URL, slack:URL, email:ADDRESS or sms:+E164".into(),
            )
        })?;
        match kind.to_ascii_lowercase().as_str() {
            "discord" => Ok(NotifyTarget::Discord(webhook_url("discord", rest)?)),
            "slack" => Ok(NotifyTarget::Slack(webhook_url("slack", rest)?)),
            "email" | "mailto" => Ok(NotifyTarget::Email(email(rest)?)),
            "sms" | "tel" => Ok(NotifyTarget::Sms(e164(rest)?)),
            // Never echo the input: it may be a webhook URL with its token.
            _ => Err(FunctionsError::Config(
                "notify target: unknown kind; expected discord:, slack:, email: or sms:".into(),
            )),
        }
    }

    /// The target of the legacy `webhook_url` setting: Slack when the host is Slack's
    /// (`hooks.slack.com`), Discord otherwise.
    pub fn from_webhook(raw: &str) -> Result<NotifyTarget> {
        let url = webhook_url("webhook", raw)?;
        let slack = url
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case("hooks.slack.com"));
        Ok(if slack {
            NotifyTarget::Slack(url)
        } else {
            NotifyTarget::Discord(url)
        })
    }

    pub fn kind(&self) -> TargetKind {
        match self {
            NotifyTarget::Discord(_) => TargetKind::Discord,
            NotifyTarget::Slack(_) => TargetKind::Slack,
            NotifyTarget::Email(_) => TargetKind::Email,
            NotifyTarget::Sms(_) => TargetKind::Sms,
            NotifyTarget::Chat(_) => TargetKind::Chat,
        }
    }

    /// Whether anyone with the link may read what is posted (webhooks): such targets never
    /// get the clip's edit URL.
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            NotifyTarget::Discord(_) | NotifyTarget::Slack(_) | NotifyTarget::Chat(_)
        )
    }

    /// The full target, secret included: for the sender and the store only.
    pub fn expose(&self) -> String {
        match self {
            NotifyTarget::Discord(u) => format!("discord:{u}"),
            NotifyTarget::Slack(u) => format!("slack:{u}"),
            NotifyTarget::Email(a) => format!("email:{a}"),
            NotifyTarget::Sms(n) => format!("sms:{n}"),
            NotifyTarget::Chat(c) => format!("chat:{c}"),
        }
    }

    /// A stable id that does not reveal the target: kind and a 64-bit FNV-1a fingerprint of
    /// the full target. Delivery records are keyed by it.
    pub fn id(&self) -> String {
        format!("{}-{:016x}", self.kind(), fnv1a(self.expose().as_bytes()))
    }
}

/// FNV-1a, 64 bits: stable across builds (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Redacted: kind, host (webhooks), a masked address or number, and the fingerprint.
impl std::fmt::Display for NotifyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fp = &self.id()[self.kind().to_string().len() + 1..][..8];
        match self {
            NotifyTarget::Discord(u) | NotifyTarget::Slack(u) => write!(
                f,
                "{}:{}://{}/…({fp})",
                self.kind(),
                u.scheme(),
                u.host_str().unwrap_or("?")
            ),
            NotifyTarget::Email(a) => {
                let (local, domain) = a.split_once('@').unwrap_or((a, ""));
                let first: String = local.chars().take(1).collect();
                write!(f, "email:{first}…@{domain}")
            }
            NotifyTarget::Sms(n) => {
                let tail: String = n
                    .chars()
                    .rev()
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                write!(f, "sms:+…{tail}")
            }
            NotifyTarget::Chat(c) => write!(f, "chat:#{c}"),
        }
    }
}

impl std::fmt::Debug for NotifyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NotifyTarget({self})")
    }
}

impl std::str::FromStr for NotifyTarget {
    type Err = FunctionsError;

    fn from_str(s: &str) -> Result<Self> {
        NotifyTarget::parse(s)
    }
}

/// Stored as its full `kind:value` string (the channel store holds the secret).
impl Serialize for NotifyTarget {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.expose())
    }
}

impl<'de> Deserialize<'de> for NotifyTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NotifyTarget::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HOOK: &str = "https://discord.com/api/webhooks/123/SECRETTOKEN";

    #[test]
    fn parses_and_validates() {
        let d = NotifyTarget::parse(&format!("discord:{HOOK}")).unwrap();
        assert_eq!(d.kind(), TargetKind::Discord);
        assert!(d.is_public());
        assert!(NotifyTarget::parse("slack:https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(NotifyTarget::parse("discord:http://127.0.0.1:9/hook").is_ok());
        assert!(NotifyTarget::parse("discord:http://localhost:9/hook").is_ok());
        assert!(NotifyTarget::parse("discord:http://discord.com/api/webhooks/1/x").is_err());
        assert!(NotifyTarget::parse("discord:ftp://discord.com/x").is_err());
        assert!(NotifyTarget::parse("discord:https://u:p@discord.com/x").is_err());
        assert!(NotifyTarget::parse("email:me@example.com").is_ok());
        assert!(NotifyTarget::parse("email:me@example").is_err());
        assert!(NotifyTarget::parse("email:a b@example.com").is_err());
        assert_eq!(
            NotifyTarget::parse("sms:+14155550123").unwrap(),
            NotifyTarget::Sms("+14155550123".into())
        );
        assert!(NotifyTarget::parse("sms:14155550123").is_err());
        assert!(NotifyTarget::parse("sms:+0415555").is_err());
        assert!(NotifyTarget::parse("sms:+1415555012345678").is_err());
        assert!(NotifyTarget::parse("pager:123").is_err());
    }

    #[test]
    fn legacy_webhook_is_discord_or_slack_by_host() {
        assert_eq!(
            NotifyTarget::from_webhook(HOOK).unwrap().kind(),
            TargetKind::Discord
        );
        assert_eq!(
            NotifyTarget::from_webhook("https://hooks.slack.com/services/T/B/X")
                .unwrap()
                .kind(),
            TargetKind::Slack
        );
    }

    #[test]
    fn secrets_never_in_display_debug_ids_or_errors() {
        let d = NotifyTarget::parse(&format!("discord:{HOOK}")).unwrap();
        for s in [d.to_string(), format!("{d:?}"), d.id()] {
            assert!(!s.contains("SECRETTOKEN"), "{s}");
            assert!(!s.contains("123"), "{s}");
        }
        assert!(d.to_string().starts_with("discord:https://discord.com/"));
        let e = NotifyTarget::parse("discord:http://discord.com/api/webhooks/1/SECRETTOKEN")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SECRETTOKEN"), "{e}");
        let e = NotifyTarget::parse("bogus:https://x/SECRETTOKEN")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SECRETTOKEN"), "{e}");
        let s = NotifyTarget::parse("sms:+14155550123").unwrap().to_string();
        assert_eq!(s, "sms:+…23");
        let m = NotifyTarget::parse("email:alice@example.com")
            .unwrap()
            .to_string();
        assert_eq!(m, "email:a…@example.com");
    }

    #[test]
    fn serde_round_trip_and_stable_id() {
        let d = NotifyTarget::parse(&format!("discord:{HOOK}")).unwrap();
        let j = serde_json::to_string(&d).unwrap();
        assert_eq!(j, format!("\"discord:{HOOK}\""));
        let back: NotifyTarget = serde_json::from_str(&j).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.id(), d.id());
        assert_ne!(
            d.id(),
            NotifyTarget::parse("discord:https://discord.com/api/webhooks/123/other")
                .unwrap()
                .id()
        );
    }
}
