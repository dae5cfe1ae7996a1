//! Local adapters of the [`crate::roles`] traits: files under a directory, in-memory maps and
//! in-process queues. Embedded mode (`clipper run` without AWS) and the handler tests use these.
//!
//! | role | adapter | where |
//! |---|---|---|
//! | [`crate::roles::ModelStore`] | [`DirModelStore`] | `<dir>/<channel>.clipper-model.json` |
//! | [`crate::roles::ClipStore`] | [`JsonlClipStore`] | `recordings/clips.jsonl`, `recordings/clip_urls.txt` |
//! | [`crate::roles::MomentClaims`] | [`MemoryClaims`] | memory |
//! | [`crate::roles::ChannelStore`] | [`JsonChannelStore`] | a JSON file |
//! | [`crate::roles::WindowQueue`] | [`LocalWindowQueue`] | bounded in-process channel |
//! | [`crate::roles::ClipScheduler`] | [`LocalClipScheduler`] | tokio timers into a channel |
//! | [`crate::roles::WindowArchive`] | [`DirWindowArchive`] | `<dir>/windows/*.jsonl` |
//! | [`crate::roles::TokenStore`] | [`FileTokenStore`], [`MemoryTokenStore`] | `.clipper-tokens.json` (mode 0600), memory |

mod archive;
#[cfg(feature = "aws")]
pub(crate) mod archive_codec {
    //! JSON-lines encoding of archived windows, shared with the S3 archive.
    pub(crate) use super::archive::{decode_lines, encode_lines};
}
mod channels;
mod claims;
mod clips;
mod model_store;
mod queues;
mod tokens;

pub use archive::DirWindowArchive;
pub use channels::JsonChannelStore;
pub use claims::MemoryClaims;
pub use clips::{clip_url_line, JsonlClipStore};
pub use model_store::{model_path, DirModelStore};
pub use queues::{LocalClipScheduler, LocalWindowQueue, ScheduledClip};
pub use tokens::{FileTokenStore, MemoryTokenStore, DEFAULT_TOKEN_FILE};

use std::path::Path;

use crate::error::{FunctionsError, Result};

/// Write `bytes` to `path` atomically: a temporary file beside it, then a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| FunctionsError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    // A temporary name no other writer (thread, task, process) uses at the same time.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}-{seq}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let written = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        // The bytes are on disk before the rename makes them the file.
        f.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(FunctionsError::Io { path: tmp, source });
    }
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        FunctionsError::Io {
            path: path.to_owned(),
            source,
        }
    })?;
    // And the rename itself survives a crash (best effort: not every platform opens dirs).
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FunctionsError + '_ {
    move |source| FunctionsError::Io {
        path: path.to_owned(),
        source,
    }
}
