//! The daily digest (per channel, off by default: `digest`): once a UTC day, one message per
//! alert target listing the channel's confirmed clips of the day before — exactly once per
//! (channel, day, target) through the same delivery record as clip alerts (key
//! `digest#CHANNEL#YYYY-MM-DD#digest#TARGET`). A day without clips sends nothing. Never to
//! chat.
//!
//! One code path, [`send_digests`], run locally by the relay a few minutes after 00:00 UTC (and
//! once at start for the day before, a no-op when already sent) and on AWS by a daily
//! EventBridge schedule invoking the notify function.

use std::time::Duration;

use chrono::{DateTime, NaiveDate};
use clipper_models::Millis;

use super::payload::{Alert, AlertKind, DigestItem};
use super::{targets_for, Delivery, DeliveryLog, MessageSender, Notifier, NotifyTarget, Outcome};
use crate::error::{FunctionsError, Result};
use crate::record::{ClipRecord, ClipStatus};
use crate::roles::{ChannelStore, ClipStore};

const DAY_MS: Millis = 86_400_000;

/// When the daily run happens: this long after 00:00 UTC (clips of the last minutes of the day
/// are confirmed by then: the clip flow confirms within about two minutes).
pub const RUN_AFTER_MIDNIGHT: Duration = Duration::from_secs(5 * 60);

/// Unix ms at 00:00 UTC of `date`.
pub fn day_start_ms(date: NaiveDate) -> Millis {
    date.and_hms_opt(0, 0, 0)
        .map_or(0, |d| d.and_utc().timestamp_millis())
}

/// The UTC day of `ms`.
pub fn day_of(ms: Millis) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive()
}

/// The UTC day before the one containing `now_ms` (what a run shortly after midnight sends).
pub fn yesterday(now_ms: Millis) -> NaiveDate {
    day_of(now_ms - DAY_MS)
}

/// How long from `now_ms` until the next run ([`RUN_AFTER_MIDNIGHT`] past a UTC midnight).
pub fn until_next_run(now_ms: Millis) -> Duration {
    let after = RUN_AFTER_MIDNIGHT.as_millis() as Millis;
    let today_run = now_ms - now_ms.rem_euclid(DAY_MS) + after;
    let next = if today_run > now_ms {
        today_run
    } else {
        today_run + DAY_MS
    };
    Duration::from_millis(u64::try_from(next - now_ms).unwrap_or(0))
}

/// The digest alert of `channel` for `date` from its records (only confirmed clips whose
/// moment falls in that UTC day, oldest first); `None` when there is none.
pub fn alert(channel: &str, date: NaiveDate, records: &[ClipRecord]) -> Option<Alert> {
    let (start, end) = (day_start_ms(date), day_start_ms(date) + DAY_MS);
    let mut clips: Vec<(Millis, DigestItem)> = records
        .iter()
        .filter(|r| r.channel == channel && r.status == ClipStatus::Confirmed)
        .filter(|r| (start..end).contains(&r.trigger_ms))
        .filter_map(|r| {
            Some((
                r.trigger_ms,
                DigestItem {
                    title: r.title.clone(),
                    url: r.url.clone()?,
                    trigger: r.kind.to_string(),
                    score: r.score,
                    at_ms: r.peak_ms,
                },
            ))
        })
        .collect();
    if clips.is_empty() {
        return None;
    }
    clips.sort_by_key(|(t, _)| *t);
    clips.dedup_by(|a, b| a.1.url == b.1.url);
    let clips: Vec<DigestItem> = clips.into_iter().map(|(_, c)| c).collect();
    Some(Alert {
        kind: AlertKind::Digest,
        request_id: format!("digest#{channel}#{date}"),
        channel: channel.to_owned(),
        title: format!("Clips of {channel} on {date}"),
        url: None,
        edit_url: None,
        trigger: String::new(),
        score: clips.iter().map(|c| c.score).fold(0.0, f64::max),
        at_ms: start,
        error: None,
        clips,
    })
}

/// What one digest run did.
#[derive(Debug, Clone, Default)]
pub struct DigestReport {
    pub date: String,
    /// Channels with the digest on.
    pub channels: usize,
    /// Of those, channels that had clips that day.
    pub with_clips: usize,
    pub deliveries: Vec<Delivery>,
}

impl DigestReport {
    pub fn delivered(&self) -> usize {
        self.deliveries
            .iter()
            .filter(|d| d.outcome == Outcome::Delivered)
            .count()
    }

    /// Whether a later run may still deliver something (a target failed in a retryable way).
    pub fn should_retry(&self) -> bool {
        self.deliveries.iter().any(Delivery::should_retry)
    }
}

/// Sends the digest of `date` for every channel that asked for it, to its targets (and the
/// global `defaults`), once per (channel, day, target).
pub async fn send_digests<D, M, C, S>(
    notifier: &Notifier<D, M>,
    channels: &C,
    clips: &S,
    defaults: &[NotifyTarget],
    date: NaiveDate,
) -> Result<DigestReport>
where
    D: DeliveryLog,
    M: MessageSender,
    C: ChannelStore,
    S: ClipStore,
{
    let mut report = DigestReport {
        date: date.to_string(),
        ..DigestReport::default()
    };
    let wanted: Vec<_> = channels
        .list()
        .await?
        .into_iter()
        .filter(|c| c.digest)
        .collect();
    report.channels = wanted.len();
    for c in &wanted {
        let records = clips
            .list(Some(&c.channel), Some(day_start_ms(date)))
            .await?;
        let Some(alert) = alert(&c.channel, date, &records) else {
            tracing::debug!(channel = %c.channel, %date, "no clips that day: no digest");
            continue;
        };
        report.with_clips += 1;
        for t in targets_for(AlertKind::Digest, Some(c), defaults) {
            report.deliveries.push(notifier.deliver(&alert, &t).await);
        }
    }
    tracing::info!(
        date = %report.date,
        channels = report.channels,
        with_clips = report.with_clips,
        delivered = report.delivered(),
        "daily digest"
    );
    Ok(report)
}

/// The day a scheduled event asks for: the day before its `time` (EventBridge's
/// `"time": "2026-11-25T00:05:00Z"`), or before `now_ms` when it has none.
pub fn scheduled_day(event: &serde_json::Value, now_ms: Millis) -> Result<NaiveDate> {
    match event.get("time").and_then(serde_json::Value::as_str) {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|d| yesterday(d.timestamp_millis()))
            .map_err(|e| FunctionsError::Config(format!("scheduled event time {t:?}: {e}"))),
        None => Ok(yesterday(now_ms)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn days_and_next_run() {
        // 2026-11-24T18:00:00Z
        let t = 1_795_543_200_000;
        assert_eq!(day_of(t).to_string(), "2026-11-24");
        assert_eq!(yesterday(t).to_string(), "2026-11-23");
        assert_eq!(day_start_ms(day_of(t)), t - 18 * 3_600_000);
        // Next run: 2026-11-25T00:05Z, 6 h 5 min later.
        assert_eq!(until_next_run(t), Duration::from_secs(6 * 3600 + 300));
        // Exactly at a run time: the next one, a day later.
        let run = day_start_ms(day_of(t)) + 300_000;
        assert_eq!(until_next_run(run), Duration::from_secs(86_400));
        let ev = serde_json::json!({"source": "aws.events", "time": "2026-11-25T00:05:00Z"});
        assert_eq!(scheduled_day(&ev, 0).unwrap().to_string(), "2026-11-24");
    }
}
