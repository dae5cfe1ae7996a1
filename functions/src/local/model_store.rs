//! Per-channel models as JSON files in a directory, named as the relay names them.

use std::path::{Path, PathBuf};

use clipper_models::ChannelModel;

use super::{io_err, write_atomic};
use crate::error::{FunctionsError, Result};
use crate::roles::{ModelFetch, ModelStore};

/// `<dir>/<channel>.clipper-model.json` (the relay and the functions name models alike: channel
/// logins are `[a-z0-9_]`, anything else becomes `_`).
pub fn model_path(dir: &Path, channel: &str) -> PathBuf {
    let safe: String = channel
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.clipper-model.json"))
}

/// Models in a directory. The version of a model is a stamp of its file (modification time and
/// length), so an unchanged file is not read again.
#[derive(Debug, Clone)]
pub struct DirModelStore {
    dir: PathBuf,
}

impl DirModelStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirModelStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn stamp(meta: &std::fs::Metadata) -> String {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        format!("{modified}-{}", meta.len())
    }
}

impl DirModelStore {
    /// Load a channel's model now (replay, the live driver). A missing file is `None`. A file
    /// that cannot be used (corrupt, truncated, another format) is the one policy of every local
    /// path: logged, moved aside (`.corrupt`), and `None`, so the channel starts fresh; it never
    /// stops the caller. Only an I/O error other than "not found" is an error.
    pub fn load_now(&self, channel: &str) -> Result<Option<ChannelModel>> {
        match self.fetch(channel, None)? {
            ModelFetch::Loaded { model, .. } => Ok(Some(*model)),
            ModelFetch::Missing | ModelFetch::Unchanged => Ok(None),
        }
    }

    /// Save a channel's model now: atomic (unique temporary file, fsync, rename).
    pub fn save_now(&self, model: &ChannelModel) -> Result<PathBuf> {
        let path = model_path(&self.dir, &model.channel);
        let bytes = ModelFetch::encode(model)?;
        write_atomic(&path, &bytes)?;
        Ok(path)
    }

    fn fetch(&self, channel: &str, known_version: Option<&str>) -> Result<ModelFetch> {
        let path = model_path(&self.dir, channel);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ModelFetch::Missing),
            Err(source) => return Err(FunctionsError::Io { path, source }),
        };
        let version = Self::stamp(&meta);
        if known_version == Some(version.as_str()) {
            return Ok(ModelFetch::Unchanged);
        }
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        match ModelFetch::decode(channel, &bytes, version) {
            Ok(f) => Ok(f),
            Err(e) => {
                let aside = path.with_extension("json.corrupt");
                tracing::warn!(channel, path = %path.display(), error = %e,
                    moved_to = %aside.display(), "cannot use saved model; starting a fresh one");
                if let Err(err) = std::fs::rename(&path, &aside) {
                    tracing::warn!(channel, error = %err, "could not move the unusable model aside");
                }
                Ok(ModelFetch::Missing)
            }
        }
    }
}

impl ModelStore for DirModelStore {
    async fn load(&self, channel: &str, known_version: Option<&str>) -> Result<ModelFetch> {
        self.fetch(channel, known_version)
    }

    async fn save(&self, model: &ChannelModel) -> Result<String> {
        let path = self.save_now(model)?;
        let meta = std::fs::metadata(&path).map_err(io_err(&path))?;
        Ok(Self::stamp(&meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_one_corrupt_file_policy() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirModelStore::new(dir.path());
        assert!(store.load_now("Chan").unwrap().is_none());
        let m = ChannelModel::new("chan", Default::default());
        let p = store.save_now(&m).unwrap();
        assert!(p.ends_with("chan.clipper-model.json"));
        assert_eq!(store.load_now("chan").unwrap().unwrap().channel, "chan");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        for bad in [&b"\x00garbage"[..], &b"{\"format_version\":2,\"chan"[..]] {
            std::fs::write(&p, bad).unwrap();
            assert!(store.load_now("chan").unwrap().is_none(), "fresh model");
            assert!(p.with_extension("json.corrupt").exists(), "moved aside");
            assert!(!p.exists());
            store.save_now(&m).unwrap();
        }
    }
}
