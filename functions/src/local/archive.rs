//! Archived windows as JSON-lines files in `<dir>/windows/`, one file per append, named so
//! that names sort by time; the train handler's cursor is `<dir>/windows/.cursor`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use clipper_models::{Millis, WindowFeatures};

use super::{io_err, write_atomic};
use crate::error::{FunctionsError, Result};
use crate::handlers::train::{ArchiveSource, Archived};
use crate::roles::WindowArchive;

#[derive(Debug)]
pub struct DirWindowArchive {
    dir: PathBuf,
    seq: AtomicU64,
}

impl DirWindowArchive {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirWindowArchive {
            dir: dir.into().join("windows"),
            seq: AtomicU64::new(0),
        }
    }

    fn cursor_path(&self) -> PathBuf {
        self.dir.join(".cursor")
    }
}

/// Encode windows as JSON lines.
pub(crate) fn encode_lines(windows: &[WindowFeatures]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for w in windows {
        serde_json::to_writer(&mut out, w).map_err(|source| FunctionsError::Decode {
            what: "window",
            source,
        })?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Decode JSON lines of windows into `into` (per channel); undecodable lines are counted.
pub(crate) fn decode_lines(
    bytes: &[u8],
    into: &mut BTreeMap<String, Vec<WindowFeatures>>,
) -> usize {
    let mut bad = 0;
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<WindowFeatures>(line) {
            Ok(w) => into.entry(w.channel.clone()).or_default().push(w),
            Err(_) => bad += 1,
        }
    }
    bad
}

impl WindowArchive for DirWindowArchive {
    async fn append(&self, _channel: &str, windows: &[WindowFeatures]) -> Result<()> {
        if windows.is_empty() {
            return Ok(());
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{:013}-{}-{seq:08}.jsonl",
            crate::clock::now_ms(),
            std::process::id()
        );
        write_atomic(&self.dir.join(name), &encode_lines(windows)?)
    }
}

impl ArchiveSource for DirWindowArchive {
    async fn pending(&self, _now_ms: Millis) -> Result<Archived> {
        let cursor = std::fs::read_to_string(self.cursor_path()).unwrap_or_default();
        let mut names: Vec<String> = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".jsonl") && n.as_str() > cursor.trim())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&self.dir)(e)),
        };
        names.sort();
        let mut out = Archived::default();
        for n in &names {
            let p = self.dir.join(n);
            let bytes = std::fs::read(&p).map_err(io_err(&p))?;
            out.bad_lines += decode_lines(&bytes, &mut out.by_channel);
            out.objects += 1;
        }
        out.cursor = names.last().cloned();
        Ok(out)
    }

    async fn commit(&self, cursor: &str) -> Result<()> {
        write_atomic(&self.cursor_path(), cursor.as_bytes())
    }
}
