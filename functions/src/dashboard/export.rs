//! The clip rows of `clipper clips export` and of the dashboard's `/api/clips` (CSV or JSON,
//! one writer for both), and the `--since` / `since=` forms.

use std::io::Write;

use clipper_models::Millis;

use crate::error::{FunctionsError, Result};
use crate::record::ClipRecord;
use crate::roles::{ChannelConfig, ClipStore};

/// `--since`: Unix ms, an RFC 3339 date-time (`2026-11-24T18:00:00Z`, any offset), or a span
/// ago (`90m`, `24h`, `7d`, decimals allowed). Anything else, or a time before 1970 or out of
/// range, is a clear error.
pub fn parse_since(s: &str, now_ms: Millis) -> Result<Millis> {
    let s = s.trim();
    let bad = || {
        FunctionsError::Config(format!(
            "--since {s:?}: expected Unix ms, 2026-11-24T18:00:00Z, or 90m / 24h / 7d"
        ))
    };
    if let Ok(ms) = s.parse::<Millis>() {
        return if ms >= 0 { Ok(ms) } else { Err(bad()) };
    }
    let unit_ms = match s.as_bytes().last() {
        Some(b'm') => Some(60_000.0),
        Some(b'h') => Some(3_600_000.0),
        Some(b'd') => Some(86_400_000.0),
        _ => None,
    };
    if let Some(unit_ms) = unit_ms {
        // The last byte is ASCII, so this slice is on a char boundary.
        let n: f64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
        let ago = n * unit_ms;
        // Up to ~290 years back; NaN, infinities and negative spans are refused.
        if !(0.0..=9.0e12).contains(&ago) {
            return Err(bad());
        }
        return Ok(now_ms.saturating_sub(ago as Millis).max(0));
    }
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map_err(|_| bad())?;
    let ms = t.timestamp_millis();
    if ms < 0 {
        return Err(bad());
    }
    Ok(ms)
}

/// Output format of [`write_clips`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// The records of `channel` (or all) triggered at or after `since`, oldest first: the rows of
/// `clipper clips export` and of the dashboard's `/api/clips`.
pub async fn clip_rows<S: ClipStore + ?Sized>(
    store: &S,
    channel: Option<&str>,
    since: Option<Millis>,
) -> Result<Vec<ClipRecord>> {
    let channel = channel.map(|c| ChannelConfig::new(c).channel);
    let mut records: Vec<ClipRecord> = store.list(channel.as_deref(), since).await?;
    records.sort_by_key(|r| (r.trigger_ms, r.request_id.clone()));
    Ok(records)
}

fn out_error(e: std::io::Error) -> FunctionsError {
    FunctionsError::Io {
        path: "<output>".into(),
        source: e,
    }
}

fn json_error(source: serde_json::Error) -> FunctionsError {
    FunctionsError::Decode {
        what: "clip record",
        source,
    }
}

/// Writes `records` as CSV (with a header) or JSON lines.
pub fn write_clips(records: &[ClipRecord], format: Format, out: impl Write) -> Result<()> {
    match format {
        Format::Json => {
            let mut out = out;
            for r in records {
                serde_json::to_writer(&mut out, r).map_err(json_error)?;
                out.write_all(b"\n").map_err(out_error)?;
            }
        }
        Format::Csv => {
            let csv_error = |e: csv::Error| out_error(std::io::Error::other(e.to_string()));
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
            w.write_record(header).map_err(csv_error)?;
            for r in records {
                let kind = serde_json::to_value(r.kind)
                    .map_err(json_error)?
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                w.write_record([
                    r.request_id.clone(),
                    r.channel.clone(),
                    status_name(r),
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
                .map_err(csv_error)?;
            }
            w.flush().map_err(out_error)?;
        }
    }
    Ok(())
}

/// The record's status as it is written (`confirmed`, `failed`, ...).
pub fn status_name(r: &ClipRecord) -> String {
    serde_json::to_value(r.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
