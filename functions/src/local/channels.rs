//! Channel settings in one JSON file (an array of [`ChannelConfig`]), re-read on every call so
//! that edits take effect without a restart.

use std::path::PathBuf;

use super::{io_err, write_atomic};
use crate::error::{FunctionsError, Result};
use crate::roles::{ChannelConfig, ChannelStore};

#[derive(Debug)]
pub struct JsonChannelStore {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl JsonChannelStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonChannelStore {
            path: path.into(),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn read(&self) -> Result<Vec<ChannelConfig>> {
        match std::fs::read(&self.path) {
            Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Vec::new()),
            Ok(b) => serde_json::from_slice(&b).map_err(|source| FunctionsError::Decode {
                what: "channels file",
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err(&self.path)(e)),
        }
    }

    fn write(&self, channels: &[ChannelConfig]) -> Result<()> {
        let bytes =
            serde_json::to_vec_pretty(channels).map_err(|source| FunctionsError::Decode {
                what: "channels file",
                source,
            })?;
        write_atomic(&self.path, &bytes)
    }
}

impl ChannelStore for JsonChannelStore {
    async fn list(&self) -> Result<Vec<ChannelConfig>> {
        let _g = self.lock.lock().await;
        let mut v = self.read()?;
        v.sort_by(|a, b| a.channel.cmp(&b.channel));
        Ok(v)
    }

    async fn put(&self, channel: &ChannelConfig) -> Result<()> {
        let _g = self.lock.lock().await;
        let mut v = self.read()?;
        match v.iter_mut().find(|c| c.channel == channel.channel) {
            Some(c) => *c = channel.clone(),
            None => v.push(channel.clone()),
        }
        self.write(&v)
    }

    async fn remove(&self, channel: &str) -> Result<bool> {
        let _g = self.lock.lock().await;
        let mut v = self.read()?;
        let before = v.len();
        v.retain(|c| c.channel != channel);
        if v.len() == before {
            return Ok(false);
        }
        self.write(&v)?;
        Ok(true)
    }
}
