//! Token stores of the user token pair: a JSON file (the relay) and memory (tests, deployments
//! that keep tokens elsewhere). The Secrets Manager one is an AWS adapter
//! (`crate::aws::SecretsManagerTokenStore`).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use tokio::io::AsyncWriteExt;

use crate::error::{FunctionsError, Result};
use crate::roles::TokenStore;
use crate::twitch::UserTokens;

/// Where the relay keeps the rotated user token pair by default.
pub const DEFAULT_TOKEN_FILE: &str = ".clipper-tokens.json";

/// A [`TokenStore`] in a JSON file, replaced atomically (temporary file with mode 0600, then
/// rename) so a crash never leaves half a token pair.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path` (the relay uses [`DEFAULT_TOKEN_FILE`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> FunctionsError {
        FunctionsError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Option<UserTokens>> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| FunctionsError::Decode {
                        what: "token file",
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    async fn save(&self, tokens: &UserTokens) -> Result<()> {
        let json = serde_json::to_vec_pretty(tokens).map_err(|source| FunctionsError::Decode {
            what: "token file",
            source,
        })?;
        let mut tmp_name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| DEFAULT_TOKEN_FILE.into());
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = self.path.with_file_name(tmp_name);
        let tmp_err = |source| FunctionsError::Io {
            path: tmp.clone(),
            source,
        };
        let mut opts = tokio::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let mut f = opts.open(&tmp).await.map_err(tmp_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // A leftover temporary file keeps its old mode on open: set it explicitly.
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .await
                .map_err(tmp_err)?;
        }
        f.write_all(&json).await.map_err(tmp_err)?;
        f.sync_all().await.map_err(tmp_err)?;
        drop(f);
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| self.io(e))?;
        Ok(())
    }
}

/// An in-memory [`TokenStore`] (tests, and deployments that keep tokens elsewhere). Counts saves.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<UserTokens>>,
    saves: std::sync::atomic::AtomicUsize,
}

impl MemoryTokenStore {
    /// A store holding `tokens`.
    pub fn new(tokens: Option<UserTokens>) -> Self {
        MemoryTokenStore {
            tokens: Mutex::new(tokens),
            saves: Default::default(),
        }
    }

    /// What is stored now.
    pub fn current(&self) -> Option<UserTokens> {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many times [`TokenStore::save`] was called.
    pub fn saves(&self) -> usize {
        self.saves.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<UserTokens>> {
        Ok(self.current())
    }

    async fn save(&self, tokens: &UserTokens) -> Result<()> {
        *self.tokens.lock().unwrap_or_else(PoisonError::into_inner) = Some(tokens.clone());
        self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}
