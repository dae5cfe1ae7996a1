//! What an alert says, independent of where it goes: [`Alert`] is built from a
//! [`ClipRecord`]; [`super::discord`], [`super::slack`] and [`text`] render it.

use clipper_models::Millis;

use crate::record::{ClipRecord, ClipStatus};

/// Why an alert is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A clip exists (its URL was confirmed by Get Clips).
    Confirmed,
    /// Dry run: the clip that would have been made (only when the channel asks for it).
    WouldClip,
    /// A clip attempt failed for good (only when the channel asks for it).
    Failed,
    /// The day's confirmed clips of a channel, once a day (only when the channel asks for
    /// it; [`super::digest`]).
    Digest,
}

impl AlertKind {
    /// The alert a final record calls for, if any.
    pub fn of(record: &ClipRecord) -> Option<AlertKind> {
        match record.status {
            ClipStatus::Confirmed if record.url.is_some() => Some(AlertKind::Confirmed),
            ClipStatus::WouldClip => Some(AlertKind::WouldClip),
            ClipStatus::Failed => Some(AlertKind::Failed),
            _ => None,
        }
    }

    /// Part of the delivery key: a clip that failed and an alert for its success are
    /// different deliveries.
    pub fn key(self) -> &'static str {
        match self {
            AlertKind::Confirmed => "clip",
            AlertKind::WouldClip => "would_clip",
            AlertKind::Failed => "failed",
            AlertKind::Digest => "digest",
        }
    }
}

/// The facts of one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub kind: AlertKind,
    pub request_id: String,
    pub channel: String,
    pub title: String,
    /// The public clip URL (Confirmed only).
    pub url: Option<String>,
    /// The edit URL: private targets only (email).
    pub edit_url: Option<String>,
    pub trigger: String,
    pub score: f64,
    /// When the moment happened (chat time, Unix ms).
    pub at_ms: Millis,
    /// Why the clip failed (Failed only).
    pub error: Option<String>,
    /// The day's clips, oldest first (Digest only).
    pub clips: Vec<DigestItem>,
}

/// One clip of a daily digest.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestItem {
    pub title: String,
    pub url: String,
    pub trigger: String,
    pub score: f64,
    pub at_ms: Millis,
}

impl Alert {
    pub fn from_record(kind: AlertKind, r: &ClipRecord) -> Alert {
        Alert {
            kind,
            request_id: r.request_id.clone(),
            channel: r.channel.clone(),
            title: r.title.clone(),
            url: r.url.clone(),
            edit_url: r.edit_url.clone(),
            trigger: r.kind.to_string(),
            score: r.score,
            at_ms: r.peak_ms,
            error: r.error.clone(),
            clips: Vec::new(),
        }
    }

    /// One line: what happened and the link.
    pub fn headline(&self) -> String {
        match self.kind {
            AlertKind::Confirmed => format!(
                "New clip on {}: {}",
                self.channel,
                self.url.as_deref().unwrap_or("")
            ),
            AlertKind::WouldClip => format!(
                "Dry run: would have clipped {} at {}",
                self.channel,
                rfc3339(self.at_ms)
            ),
            AlertKind::Failed => format!("Clip on {} failed", self.channel),
            AlertKind::Digest => format!(
                "{} clip{} on {} on {}",
                self.clips.len(),
                if self.clips.len() == 1 { "" } else { "s" },
                self.channel,
                day(self.at_ms)
            ),
        }
    }
}

/// Unix ms → `YYYY-MM-DD` (UTC).
pub fn day(ms: Millis) -> String {
    crate::clock::utc_string(ms, chrono::SecondsFormat::Secs)
        .chars()
        .take(10)
        .collect()
}

/// The digest's list, one clip a line: `- title (trigger, score 0.87) URL`.
pub fn digest_lines(a: &Alert) -> Vec<String> {
    a.clips
        .iter()
        .map(|c| {
            format!(
                "- {} ({}, score {:.2}) {}",
                truncate(&c.title, 100),
                c.trigger,
                c.score,
                c.url
            )
        })
        .collect()
}

/// Plain text (email text part): the headline, then title and trigger (a digest: the list).
pub fn text(a: &Alert, with_edit_url: bool) -> String {
    let mut s = a.headline();
    if a.kind == AlertKind::Digest {
        for l in digest_lines(a) {
            s.push('\n');
            s.push_str(&l);
        }
        return s;
    }
    s.push_str(&format!(
        "\n\"{}\" - {} (score {:.2}) at {}",
        truncate(&a.title, 200),
        a.trigger,
        a.score,
        rfc3339(a.at_ms)
    ));
    if let Some(e) = &a.error {
        s.push_str(&format!("\nreason: {}", truncate(e, 300)));
    }
    if with_edit_url {
        if let Some(e) = &a.edit_url {
            s.push_str(&format!("\nedit: {e}"));
        }
    }
    s
}

/// The SMS: one short line with the link (never the edit URL), e.g.
/// `New clip on hypechan: https://clips.twitch.tv/…`. The channel name is at most 25
/// characters (Twitch logins) and clip URLs about 80, so it fits one 160-character SMS.
pub fn sms(a: &Alert) -> String {
    match (a.kind, a.clips.first()) {
        // `3 clips on hypechan on 2026-11-24, first: URL`
        (AlertKind::Digest, Some(first)) => {
            truncate(&format!("{}, first: {}", a.headline(), first.url), 300)
        }
        _ => truncate(&a.headline(), 300),
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Unix ms → `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub fn rfc3339(ms: Millis) -> String {
    crate::clock::utc_string(ms, chrono::SecondsFormat::Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_543_200_500), "2026-11-24T18:00:00.500Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn truncates_on_chars() {
        assert_eq!(truncate("ㅋㅋㅋㅋ", 3), "ㅋㅋ…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
