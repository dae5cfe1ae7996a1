//! `clipper record`: save live chat as raw IRC lines with tags, one file per channel, each
//! line prefixed by its receive time (`<unix ms><TAB><raw line>`). `clipper replay` reads these
//! files back (see [`crate::input::irc`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use twitch_irc::message::{AsRawIRC, ServerMessage};

use crate::error::{RelayError, Result};
use clipper_functions::clock::now_ms;

/// What was written.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RecordStats {
    pub lines: u64,
    pub files: Vec<PathBuf>,
}

/// The file channel `c` is recorded to in `dir`.
///
/// The name is reduced to what a Twitch login may hold (ASCII letters, digits, `_`; lower
/// case, at most 25 chars), so that no channel name read from a server or a file can name a
/// path outside `dir` (`../x`, `/etc/x`, `a/b`).
pub fn record_path(dir: &Path, channel: &str) -> PathBuf {
    let mut name: String = channel
        .trim_start_matches('#')
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(25)
        .collect();
    name.make_ascii_lowercase();
    if name.is_empty() {
        name.push('_');
    }
    dir.join(format!("{name}.irc.log"))
}

fn channel_of(m: &ServerMessage) -> Option<&str> {
    match m {
        ServerMessage::Privmsg(m) => Some(&m.channel_login),
        ServerMessage::UserNotice(m) => Some(&m.channel_login),
        ServerMessage::RoomState(m) => Some(&m.channel_login),
        ServerMessage::ClearChat(m) => Some(&m.channel_login),
        ServerMessage::ClearMsg(m) => Some(&m.channel_login),
        ServerMessage::Notice(m) => m.channel_login.as_deref(),
        _ => None,
    }
}

/// Records until `shutdown` completes or chat ends. Files are appended to, flushed every
/// second and at the end.
pub async fn record(
    mut chat: mpsc::UnboundedReceiver<ServerMessage>,
    dir: &Path,
    shutdown: impl Future<Output = ()>,
) -> Result<RecordStats> {
    std::fs::create_dir_all(dir).map_err(|source| RelayError::Write {
        path: dir.to_owned(),
        source,
    })?;
    tokio::pin!(shutdown);
    let mut files: HashMap<String, (PathBuf, BufWriter<File>)> = HashMap::new();
    let mut stats = RecordStats::default();
    let mut flush = tokio::time::interval(Duration::from_secs(1));
    let mut batch = Vec::with_capacity(256);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            _ = flush.tick() => flush_all(&mut files)?,
            n = chat.recv_many(&mut batch, 256) => {
                if n == 0 { break; }
                let now = now_ms();
                for m in batch.drain(..) {
                    let Some(channel) = channel_of(&m).map(str::to_owned) else { continue };
                    if !files.contains_key(&channel) {
                        let path = record_path(dir, &channel);
                        let f = OpenOptions::new().create(true).append(true).open(&path)
                            .map_err(|source| RelayError::Write { path: path.clone(), source })?;
                        tracing::info!(channel = %channel, path = %path.display(), "recording");
                        stats.files.push(path.clone());
                        files.insert(channel.clone(), (path, BufWriter::new(f)));
                    }
                    if let Some((path, w)) = files.get_mut(&channel) {
                        let raw = m.source().as_raw_irc();
                        writeln!(w, "{now}\t{raw}").map_err(|source| RelayError::Write { path: path.clone(), source })?;
                        stats.lines += 1;
                    }
                }
            }
        }
    }
    flush_all(&mut files)?;
    Ok(stats)
}

fn flush_all(files: &mut HashMap<String, (PathBuf, BufWriter<File>)>) -> Result<()> {
    for (path, w) in files.values_mut() {
        w.flush().map_err(|source| RelayError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_path_stays_in_its_directory() {
        let dir = Path::new("/rec");
        assert_eq!(record_path(dir, "Foo_1"), Path::new("/rec/foo_1.irc.log"));
        assert_eq!(record_path(dir, "#foo"), Path::new("/rec/foo.irc.log"));
        for evil in [
            "../../etc/passwd",
            "/etc/x",
            "a/b",
            "..",
            "",
            "\u{0}x",
            "名前",
        ] {
            let p = record_path(dir, evil);
            assert_eq!(p.parent(), Some(dir), "{evil:?} → {}", p.display());
            assert!(
                !p.to_string_lossy().contains(".."),
                "{evil:?} → {}",
                p.display()
            );
        }
    }
}
