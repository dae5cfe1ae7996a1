//! `clipper channels ...` and `clipper clips export`: the same code over any [`ChannelStore`] /
//! [`ClipStore`] (DynamoDB tables in the cloud, local files in embedded mode).

use std::io::Write;

use clipper_functions::record::ClipRecord;
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore};
use clipper_models::Millis;

use crate::error::{RelayError, Result};

/// A change to one channel.
#[derive(Debug, Clone, Default)]
pub struct ChannelChange {
    pub enabled: Option<bool>,
    pub threshold: Option<f64>,
    pub cooldown_ms: Option<Millis>,
    pub webhook_url: Option<String>,
    /// Remove every alert target first (`--notify-clear`).
    pub notify_clear: bool,
    /// Alert targets to add (`--notify`, repeatable); duplicates are kept once.
    pub notify_add: Vec<clipper_functions::notify::NotifyTarget>,
    /// Also alert on failed clips / announce dry-run clips.
    pub notify_failures: Option<bool>,
    pub notify_dry_run: Option<bool>,
}

fn backend(e: clipper_functions::FunctionsError) -> RelayError {
    RelayError::Invalid(format!("channel store: {e}"))
}

/// Adds `channel` (enabled) with `change` applied; replaces an existing entry.
pub async fn add_channel<C: ChannelStore>(
    store: &C,
    channel: &str,
    change: &ChannelChange,
) -> Result<ChannelConfig> {
    let mut c = ChannelConfig::new(channel);
    apply(&mut c, change);
    store.put(&c).await.map_err(backend)?;
    Ok(c)
}

/// Changes an existing channel; an unknown channel is an error.
pub async fn set_channel<C: ChannelStore>(
    store: &C,
    channel: &str,
    change: &ChannelChange,
) -> Result<ChannelConfig> {
    let name = ChannelConfig::new(channel).channel;
    let mut c = store
        .list()
        .await
        .map_err(backend)?
        .into_iter()
        .find(|c| c.channel == name)
        .ok_or_else(|| RelayError::Invalid(format!("no channel {name:?}; add it first")))?;
    apply(&mut c, change);
    store.put(&c).await.map_err(backend)?;
    Ok(c)
}

/// Removes a channel; false when it was not there.
pub async fn remove_channel<C: ChannelStore>(store: &C, channel: &str) -> Result<bool> {
    let name = ChannelConfig::new(channel).channel;
    store.remove(&name).await.map_err(backend)
}

/// All channels, sorted by name.
pub async fn list_channels<C: ChannelStore>(store: &C) -> Result<Vec<ChannelConfig>> {
    let mut v = store.list().await.map_err(backend)?;
    v.sort_by(|a, b| a.channel.cmp(&b.channel));
    Ok(v)
}

fn apply(c: &mut ChannelConfig, ch: &ChannelChange) {
    if let Some(e) = ch.enabled {
        c.enabled = e;
    }
    if ch.threshold.is_some() {
        c.threshold = ch.threshold;
    }
    if ch.cooldown_ms.is_some() {
        c.cooldown_ms = ch.cooldown_ms;
    }
    if ch.webhook_url.is_some() {
        c.webhook_url.clone_from(&ch.webhook_url);
    }
    if ch.notify_clear {
        c.notify.clear();
    }
    for t in &ch.notify_add {
        if !c.notify.contains(t) {
            c.notify.push(t.clone());
        }
    }
    if let Some(f) = ch.notify_failures {
        c.notify_failures = f;
    }
    if let Some(d) = ch.notify_dry_run {
        c.notify_dry_run = d;
    }
}

/// `--since`: Unix ms, an RFC 3339 UTC date-time (`2026-11-24T18:00:00Z`), or a span ago
/// (`90m`, `24h`, `7d`).
pub fn parse_since(s: &str, now_ms: Millis) -> Result<Millis> {
    let s = s.trim();
    let bad = || {
        RelayError::Invalid(format!(
            "--since {s:?}: expected Unix ms, 2026-11-24T18:00:00Z, or 90m / 24h / 7d"
        ))
    };
    if let Ok(ms) = s.parse::<Millis>() {
        return Ok(ms);
    }
    if let Some(unit) = s.chars().last().filter(|c| matches!(c, 'm' | 'h' | 'd')) {
        let n: f64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
        let ms = match unit {
            'm' => 60_000.0,
            'h' => 3_600_000.0,
            _ => 86_400_000.0,
        };
        return Ok(now_ms - (n * ms) as Millis);
    }
    parse_rfc3339_utc(s).ok_or_else(bad)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` → Unix ms (UTC only).
fn parse_rfc3339_utc(s: &str) -> Option<Millis> {
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let ms_frac: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    // Days from civil (Howard Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + ms_frac)
}

/// Output format of [`export_clips`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// Writes the records of `channel` (or all) triggered at or after `since`, oldest first.
pub async fn export_clips<S: ClipStore>(
    store: &S,
    channel: Option<&str>,
    since: Option<Millis>,
    format: Format,
    out: impl Write,
) -> Result<usize> {
    let channel = channel.map(|c| ChannelConfig::new(c).channel);
    let mut records: Vec<ClipRecord> = store
        .list(channel.as_deref(), since)
        .await
        .map_err(|e| RelayError::Invalid(format!("clip store: {e}")))?;
    records.sort_by_key(|r| (r.trigger_ms, r.request_id.clone()));
    let n = records.len();
    let io = |e: std::io::Error| RelayError::Write {
        path: "<stdout>".into(),
        source: e,
    };
    match format {
        Format::Json => {
            let mut out = out;
            for r in &records {
                serde_json::to_writer(&mut out, r)?;
                out.write_all(b"\n").map_err(io)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let header = [
                "request_id",
                "channel",
                "status",
                "trigger_ms",
                "peak_ms",
                "created_at_ms",
                "kind",
                "score",
                "title",
                "forced_by",
                "url",
                "edit_url",
                "error",
                "attempts",
            ];
            w.write_record(header)
                .map_err(|e| RelayError::Invalid(e.to_string()))?;
            for r in &records {
                let kind = serde_json::to_value(r.kind)?
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                let status = serde_json::to_value(r.status)?
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                w.write_record([
                    r.request_id.clone(),
                    r.channel.clone(),
                    status,
                    r.trigger_ms.to_string(),
                    r.peak_ms.to_string(),
                    r.created_at_ms.map(|t| t.to_string()).unwrap_or_default(),
                    kind,
                    format!("{:.3}", r.score),
                    r.title.clone(),
                    r.forced_by.clone().unwrap_or_default(),
                    r.url.clone().unwrap_or_default(),
                    r.edit_url.clone().unwrap_or_default(),
                    r.error.clone().unwrap_or_default(),
                    r.attempts.to_string(),
                ])
                .map_err(|e| RelayError::Invalid(e.to_string()))?;
            }
            w.flush().map_err(io)?;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("1700000000000", 0).unwrap(), 1_700_000_000_000);
        assert_eq!(
            parse_since("24h", 100_000_000).unwrap(),
            100_000_000 - 86_400_000
        );
        assert_eq!(
            parse_since("90m", 10_000_000).unwrap(),
            10_000_000 - 5_400_000
        );
        assert_eq!(parse_since("1970-01-02T00:00:00Z", 0).unwrap(), 86_400_000);
        assert_eq!(
            parse_since("2026-11-24T18:00:00.5Z", 0).unwrap(),
            1_795_543_200_500
        );
        assert!(parse_since("yesterday", 0).is_err());
        assert!(parse_since("2026-13-01T00:00:00Z", 0).is_err());
    }

    #[tokio::test]
    async fn channels_round_trip_and_export() {
        use clipper_functions::local::{JsonChannelStore, JsonlClipStore};
        let dir = tempfile::tempdir().unwrap();
        let store = JsonChannelStore::new(dir.path().join("channels.json"));
        add_channel(&store, "#Foo", &ChannelChange::default())
            .await
            .unwrap();
        add_channel(
            &store,
            "bar",
            &ChannelChange {
                threshold: Some(0.7),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        set_channel(
            &store,
            "foo",
            &ChannelChange {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(set_channel(&store, "nope", &ChannelChange::default())
            .await
            .is_err());
        let l = list_channels(&store).await.unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!((l[0].channel.as_str(), l[0].threshold), ("bar", Some(0.7)));
        assert_eq!((l[1].channel.as_str(), l[1].enabled), ("foo", false));
        assert!(remove_channel(&store, "FOO").await.unwrap());
        assert!(!remove_channel(&store, "foo").await.unwrap());

        let clips = JsonlClipStore::open(dir.path().join("rec")).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            export_clips(&clips, None, None, Format::Csv, &mut out)
                .await
                .unwrap(),
            0
        );
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with("request_id,channel,status"));
    }
}
