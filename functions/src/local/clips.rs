//! Clip records as JSON lines (`recordings/clips.jsonl`) plus a human list of final clips
//! (`recordings/clip_urls.txt`, like the original tool's).
//!
//! Upserts by `request_id`: the store keeps an index in memory, appends a new JSON line for
//! every changed record, and on load the latest line of each `request_id` wins. A line that
//! does not decode (a torn last write) is skipped with a warning.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clipper_models::Millis;

use super::io_err;
use crate::error::{FunctionsError, Result};
use crate::record::{ClipRecord, ClipStatus};
use crate::roles::ClipStore;

#[derive(Debug)]
pub struct JsonlClipStore {
    jsonl: PathBuf,
    urls: PathBuf,
    index: Mutex<HashMap<String, ClipRecord>>,
}

impl JsonlClipStore {
    /// The store in `dir` (usually `recordings/`), loading what is already there.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let jsonl = dir.join("clips.jsonl");
        let mut index = HashMap::new();
        match std::fs::read_to_string(&jsonl) {
            Ok(text) => {
                for (n, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<ClipRecord>(line) {
                        Ok(r) => {
                            index.insert(r.request_id.clone(), r);
                        }
                        Err(e) => tracing::warn!(path = %jsonl.display(), line = n + 1,
                            error = %e, "skipping undecodable clip record"),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&jsonl)(e)),
        }
        // A torn last line (crash mid-write) must not swallow the next record.
        if std::fs::read(&jsonl).is_ok_and(|b| b.last().is_some_and(|c| *c != b'\n')) {
            Self::append(&jsonl, "\n")?;
        }
        Ok(JsonlClipStore {
            urls: dir.join("clip_urls.txt"),
            jsonl,
            index: Mutex::new(index),
        })
    }

    pub fn jsonl_path(&self) -> &Path {
        &self.jsonl
    }

    pub fn urls_path(&self) -> &Path {
        &self.urls
    }

    /// Append `line` and flush it to disk before returning: a record is how a restart knows a
    /// clip was already made (a few records per clip, so the fsync costs nothing that matters).
    fn append(path: &Path, line: &str) -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        f.write_all(line.as_bytes()).map_err(io_err(path))?;
        f.sync_data().map_err(io_err(path))
    }
}

fn is_final_clip(s: ClipStatus) -> bool {
    matches!(s, ClipStatus::Confirmed | ClipStatus::WouldClip)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time in ms.
pub(crate) fn iso_utc(ms: Millis) -> String {
    crate::clock::utc_string(ms, chrono::SecondsFormat::Secs)
}

/// The `clip_urls.txt` line of a final clip: URL (or `would clip`), channel, time, kind,
/// score, title; tab-separated.
pub fn clip_url_line(r: &ClipRecord) -> String {
    let what = match (&r.status, &r.url) {
        (ClipStatus::Confirmed, Some(u)) => u.clone(),
        (ClipStatus::Confirmed, None) => r.clip_id.as_deref().map_or_else(
            || "clip".to_owned(),
            |id| format!("https://clips.twitch.tv/{id}"),
        ),
        _ => "would clip".to_owned(),
    };
    format!(
        "{what}\t{}\t{}\t{}\t{:.2}\t{}\n",
        r.channel,
        iso_utc(r.peak_ms),
        r.kind,
        r.score,
        r.title.replace(['\t', '\n'], " ")
    )
}

impl ClipStore for JsonlClipStore {
    async fn put(&self, record: &ClipRecord) -> Result<()> {
        let mut index = self
            .index
            .lock()
            .map_err(|_| FunctionsError::Config("clip store lock poisoned".into()))?;
        let prev = index.get(&record.request_id);
        if prev == Some(record) {
            return Ok(());
        }
        let newly_final =
            is_final_clip(record.status) && prev.is_none_or(|p| p.status != record.status);
        let mut line = serde_json::to_string(record).map_err(|source| FunctionsError::Decode {
            what: "clip record",
            source,
        })?;
        line.push('\n');
        Self::append(&self.jsonl, &line)?;
        if newly_final {
            Self::append(&self.urls, &clip_url_line(record))?;
        }
        index.insert(record.request_id.clone(), record.clone());
        Ok(())
    }

    async fn get(&self, request_id: &str) -> Result<Option<ClipRecord>> {
        let index = self
            .index
            .lock()
            .map_err(|_| FunctionsError::Config("clip store lock poisoned".into()))?;
        Ok(index.get(request_id).cloned())
    }

    async fn list(
        &self,
        channel: Option<&str>,
        since_ms: Option<Millis>,
    ) -> Result<Vec<ClipRecord>> {
        let index = self
            .index
            .lock()
            .map_err(|_| FunctionsError::Config("clip store lock poisoned".into()))?;
        let mut v: Vec<ClipRecord> = index
            .values()
            .filter(|r| channel.is_none_or(|c| r.channel == c))
            .filter(|r| since_ms.is_none_or(|s| r.trigger_ms >= s))
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.trigger_ms, &a.request_id).cmp(&(b.trigger_ms, &b.request_id)));
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
