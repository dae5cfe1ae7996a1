//! Local model store: one JSON file per channel in a directory (`models/` by default).

use crate::error::{RelayError, Result};
use clipper_models::ChannelModel;
use std::path::{Path, PathBuf};

/// File name of a channel's model (the functions' local model store names it the same way).
pub use clipper_functions::local::model_path;

/// Load a channel's model. A missing file is `Ok(None)`; an unreadable, old or corrupt file is
/// logged as a warning, moved aside (`.corrupt`) and also gives `Ok(None)`: the channel starts
/// fresh rather than crash.
pub fn load_model(dir: &Path, channel: &str) -> Result<Option<ChannelModel>> {
    let path = model_path(dir, channel);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(RelayError::Read { path, source }),
    };
    match ChannelModel::from_json(&bytes) {
        Ok(m) => Ok(Some(m)),
        Err(e) => {
            let aside = path.with_extension("json.corrupt");
            tracing::warn!(channel, path = %path.display(), error = %e, moved_to = %aside.display(),
                "cannot use saved model; starting a fresh one");
            let _ = std::fs::rename(&path, &aside);
            Ok(None)
        }
    }
}

/// Save a channel's model atomically (write a temporary file, then rename).
pub fn save_model(dir: &Path, model: &ChannelModel) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| RelayError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let path = model_path(dir, &model.channel);
    let tmp = path.with_extension("json.tmp");
    let bytes = model.to_json().map_err(|source| RelayError::Model {
        channel: model.channel.clone(),
        source,
    })?;
    std::fs::write(&tmp, bytes).map_err(|source| RelayError::Write {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| RelayError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_model(dir.path(), "Chan").unwrap().is_none());
        let m = ChannelModel::new("chan", Default::default());
        let p = save_model(dir.path(), &m).unwrap();
        assert!(p.ends_with("chan.clipper-model.json"));
        assert_eq!(
            load_model(dir.path(), "chan").unwrap().unwrap().channel,
            "chan"
        );
        std::fs::write(&p, b"\x00garbage").unwrap();
        assert!(load_model(dir.path(), "chan").unwrap().is_none());
        assert!(p.with_extension("json.corrupt").exists());
    }
}
