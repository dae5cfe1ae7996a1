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

impl ModelStore for DirModelStore {
    async fn load(&self, channel: &str, known_version: Option<&str>) -> Result<ModelFetch> {
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
        ModelFetch::decode(channel, &bytes, version)
    }

    async fn save(&self, model: &ChannelModel) -> Result<String> {
        let path = model_path(&self.dir, &model.channel);
        let bytes = ModelFetch::encode(model)?;
        write_atomic(&path, &bytes)?;
        let meta = std::fs::metadata(&path).map_err(io_err(&path))?;
        Ok(Self::stamp(&meta))
    }
}
