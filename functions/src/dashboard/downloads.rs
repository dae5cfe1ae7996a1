//! Clip downloads (the clips page's "Download" button): Helix Get Clips Download with the
//! clipper's user token. Twitch answers only to the broadcaster or one of their editors
//! (scopes `channel:manage:clips` / `editor:manage:clips`, which the log-in asks for), so
//! every other case ends in a reason the page shows, not an error page.
//!
//! * `clipper run` saves the MP4 under `recordings/downloads/{channel}/{clip_id}.mp4`
//!   (written to a temporary name, synced, then renamed; a file already there is kept and
//!   reported, so a second click downloads nothing).
//! * The dashboard function has no disk worth the name: it answers with Twitch's (short-lived)
//!   download link and the browser fetches the file itself.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::record::ClipRecord;
use crate::roles::TokenStore;
use crate::twitch::{HelixClient, HelixError};

/// Largest file saved (a 60 s clip at 1080p60 is about 60 MB).
pub const MAX_BYTES: u64 = 1 << 30;

/// What a download did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct Downloaded {
    /// Twitch's download link (expires after a while).
    pub url: String,
    /// Where the file was saved (local dashboard), and its size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The file was there from an earlier download.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already: bool,
}

/// Why a download did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// Not possible for this clip or this token: the page shows the reason (409).
    #[error("{0}")]
    NotPossible(String),
    /// Twitch or the disk failed; worth another try (502).
    #[error("{0}")]
    Failed(String),
}

/// Downloads a confirmed clip.
#[async_trait::async_trait]
pub trait ClipDownloader: Send + Sync + Debug {
    async fn download(&self, record: &ClipRecord) -> Result<Downloaded, DownloadError>;
}

/// Get Clips Download through a Helix client (its user token), saving to `dir` when set.
#[derive(Debug)]
pub struct HelixDownloads<S> {
    helix: Arc<HelixClient<S>>,
    http: reqwest::Client,
    dir: Option<PathBuf>,
}

impl<S> HelixDownloads<S> {
    /// Links only (the function).
    pub fn links(helix: Arc<HelixClient<S>>) -> Self {
        HelixDownloads {
            helix,
            http: reqwest::Client::new(),
            dir: None,
        }
    }

    /// Saving each file under `dir` (`recordings/downloads`).
    pub fn saving(helix: Arc<HelixClient<S>>, dir: impl Into<PathBuf>) -> Self {
        HelixDownloads {
            helix,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap_or_default(),
            dir: Some(dir.into()),
        }
    }
}

/// A clip id or login fit for a file name (Twitch's are `[A-Za-z0-9_-]`).
fn file_part(s: &str) -> Option<&str> {
    (!s.is_empty()
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(s)
}

fn refused(e: HelixError) -> DownloadError {
    match e {
        HelixError::Forbidden { message } => DownloadError::NotPossible(format!(
            "Twitch refused the download ({message}). Twitch lets only the broadcaster or one \
             of their editors download clips: log in with such an account as the clipper's \
             account (the log-in asks for editor:manage:clips and channel:manage:clips)."
        )),
        HelixError::MissingCredentials(_) => DownloadError::NotPossible(
            "the clipper has no Twitch user token: log in with the clipper's account first".into(),
        ),
        HelixError::Unauthorized { .. } | HelixError::InvalidRefreshToken { .. } => {
            DownloadError::NotPossible(
                "the clipper's Twitch token is no longer accepted: log in with the clipper's \
                 account again"
                    .into(),
            )
        }
        HelixError::BadRequest { message } => {
            DownloadError::NotPossible(format!("Twitch did not accept the request: {message}"))
        }
        other => DownloadError::Failed(format!("Twitch: {other}")),
    }
}

#[async_trait::async_trait]
impl<S: TokenStore + Debug + 'static> ClipDownloader for HelixDownloads<S> {
    async fn download(&self, record: &ClipRecord) -> Result<Downloaded, DownloadError> {
        let (Some(clip_id), Some(broadcaster)) = (
            record.clip_id.as_deref().and_then(file_part),
            record.broadcaster_id.as_deref(),
        ) else {
            return Err(DownloadError::NotPossible(
                "only a clip Twitch made (confirmed) can be downloaded".into(),
            ));
        };
        let channel = file_part(&record.channel).unwrap_or("channel");
        let target = self
            .dir
            .as_ref()
            .map(|d| d.join(channel).join(format!("{clip_id}.mp4")));
        let links = self
            .helix
            .clip_downloads(broadcaster, &[clip_id.to_owned()])
            .await
            .map_err(refused)?;
        let url = links
            .into_iter()
            .find(|l| l.clip_id == clip_id)
            .and_then(|l| l.landscape_download_url.or(l.portrait_download_url))
            .ok_or_else(|| {
                DownloadError::NotPossible(
                    "Twitch has no download for this clip yet; try again in a minute".into(),
                )
            })?;
        let Some(target) = target else {
            return Ok(Downloaded {
                url,
                saved: None,
                bytes: None,
                already: false,
            });
        };
        if let Ok(m) = tokio::fs::metadata(&target).await {
            if m.len() > 0 {
                return Ok(Downloaded {
                    url,
                    saved: Some(target.display().to_string()),
                    bytes: Some(m.len()),
                    already: true,
                });
            }
        }
        let bytes = self.save(&url, &target).await?;
        tracing::info!(channel, clip_id, bytes, path = %target.display(), "clip downloaded");
        Ok(Downloaded {
            url,
            saved: Some(target.display().to_string()),
            bytes: Some(bytes),
            already: false,
        })
    }
}

impl<S> HelixDownloads<S> {
    /// Streams `url` to `target` through a temporary file; returns the size.
    async fn save(&self, url: &str, target: &Path) -> Result<u64, DownloadError> {
        let failed =
            |what: &str, e: &dyn std::fmt::Display| DownloadError::Failed(format!("{what}: {e}"));
        let dir = target
            .parent()
            .ok_or_else(|| DownloadError::Failed("download path has no folder".into()))?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| failed(&format!("cannot create {}", dir.display()), &e))?;
        let mut resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| failed("download", &crate::twitch::error::chain(&e)))?;
        if !resp.status().is_success() {
            return Err(DownloadError::Failed(format!(
                "the download link answered {}",
                resp.status().as_u16()
            )));
        }
        if resp.content_length().is_some_and(|n| n > MAX_BYTES) {
            return Err(DownloadError::Failed(format!(
                "the file is larger than {} MB",
                MAX_BYTES >> 20
            )));
        }
        let tmp = target.with_extension("mp4.part");
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| failed(&format!("cannot write {}", tmp.display()), &e))?;
        let mut n: u64 = 0;
        let result: Result<(), DownloadError> = async {
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| failed("download", &crate::twitch::error::chain(&e)))?
            {
                n += chunk.len() as u64;
                if n > MAX_BYTES {
                    return Err(DownloadError::Failed(format!(
                        "the file is larger than {} MB",
                        MAX_BYTES >> 20
                    )));
                }
                file.write_all(&chunk)
                    .await
                    .map_err(|e| failed(&format!("cannot write {}", tmp.display()), &e))?;
            }
            file.sync_all()
                .await
                .map_err(|e| failed(&format!("cannot write {}", tmp.display()), &e))?;
            if n == 0 {
                return Err(DownloadError::Failed("the download was empty".into()));
            }
            tokio::fs::rename(&tmp, target)
                .await
                .map_err(|e| failed(&format!("cannot write {}", target.display()), &e))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result.map(|()| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_become_file_names() {
        assert_eq!(file_part("AbC-12_x"), Some("AbC-12_x"));
        assert_eq!(file_part("../etc"), None);
        assert_eq!(file_part("a/b"), None);
        assert_eq!(file_part(""), None);
    }
}
