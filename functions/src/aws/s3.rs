//! S3: per-channel models and the window archive.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use clipper_models::{ChannelModel, Millis, WindowFeatures};

use super::{error_code, error_status, instance_id, sdk_error};
use crate::error::{FunctionsError, Result};
use crate::handlers::metrics::{self, COUNTS};
use crate::handlers::train::{ArchiveSource, Archived};
use crate::local::archive_codec::{decode_lines, encode_lines};
use crate::roles::{ModelFetch, ModelStore, WindowArchive};

/// An object's whole body (a failed read is a retryable backend error).
async fn body_bytes(body: ByteStream) -> Result<Vec<u8>> {
    let data = body.collect().await.map_err(|e| FunctionsError::Backend {
        service: "s3",
        operation: "GetObject body",
        message: e.to_string(),
        retryable: true,
    })?;
    Ok(data.to_vec())
}

/// Models as `s3://<bucket>/<prefix><channel>.clipper-model.json`; the version is the ETag, so
/// an unchanged model costs a `304 Not Modified` and no transfer. With bucket versioning on
/// (template.yaml), every save keeps the earlier model as a noncurrent version.
#[derive(Debug, Clone)]
pub struct S3ModelStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3ModelStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3ModelStore {
            client,
            bucket: bucket.into(),
            prefix: "models/".into(),
        }
    }

    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The object key of `channel`'s model.
    pub fn key(&self, channel: &str) -> String {
        let file = crate::local::model_path(std::path::Path::new(""), channel);
        format!("{}{}", self.prefix, file.display())
    }
}

impl ModelStore for S3ModelStore {
    async fn load(&self, channel: &str, known_version: Option<&str>) -> Result<ModelFetch> {
        metrics::add(&COUNTS.s3_get, 1);
        let res = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(channel))
            .set_if_none_match(known_version.map(str::to_owned))
            .send()
            .await;
        let out = match res {
            Ok(o) => o,
            Err(e) if error_status(&e) == Some(304) => return Ok(ModelFetch::Unchanged),
            Err(e) if error_code(&e) == Some("NoSuchKey") || error_status(&e) == Some(404) => {
                return Ok(ModelFetch::Missing)
            }
            Err(e) => return Err(sdk_error("s3", "GetObject", e)),
        };
        let version = out.e_tag().unwrap_or_default().to_owned();
        let bytes = body_bytes(out.body).await?;
        ModelFetch::decode(channel, &bytes, version)
    }

    async fn save(&self, model: &ChannelModel) -> Result<String> {
        let bytes = ModelFetch::encode(model)?;
        metrics::add(&COUNTS.s3_put, 1);
        let out = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(&model.channel))
            .content_type("application/json")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| sdk_error("s3", "PutObject", e))?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }
}

#[derive(Debug, Default)]
struct Buffer {
    windows: Vec<WindowFeatures>,
    first_ms: Option<Millis>,
    seq: u64,
}

/// Windows kept for retraining, as JSON-lines objects
/// `s3://<bucket>/windows/<unix ms>-<instance>-<seq>.jsonl`.
///
/// Appends of all channels are buffered in memory and written as one object when the oldest
/// buffered window is `flush_every_ms` old (default 60 s) or `max_windows` are buffered: one
/// PUT a minute per score instance instead of one per channel per batch. Windows still buffered
/// when an instance is shut down are lost to training (never to scoring); the Lambda binary
/// flushes on SIGTERM where Lambda sends it.
#[derive(Debug)]
pub struct S3WindowArchive {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    cursor_key: String,
    flush_every_ms: Millis,
    max_windows: usize,
    grace_ms: Millis,
    max_objects_per_run: usize,
    buffer: tokio::sync::Mutex<Buffer>,
}

impl S3WindowArchive {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3WindowArchive {
            client,
            bucket: bucket.into(),
            prefix: "windows/".into(),
            cursor_key: "train/cursor".into(),
            flush_every_ms: 60_000,
            max_windows: 20_000,
            grace_ms: 120_000,
            max_objects_per_run: 5_000,
            buffer: tokio::sync::Mutex::new(Buffer::default()),
        }
    }

    /// Flush when the oldest buffered window is this old (0: on every append).
    pub fn flush_every_ms(mut self, ms: Millis) -> Self {
        self.flush_every_ms = ms;
        self
    }

    /// Objects younger than this are left for the next training run (a score instance may be
    /// writing an older-named object still). Default 120 s.
    pub fn grace_ms(mut self, ms: Millis) -> Self {
        self.grace_ms = ms;
        self
    }

    /// Windows waiting in memory.
    pub async fn buffered(&self) -> usize {
        self.buffer.lock().await.windows.len()
    }

    /// Write everything buffered now (shutdown, tests).
    pub async fn flush(&self) -> Result<()> {
        let mut buf = self.buffer.lock().await;
        self.flush_locked(&mut buf).await
    }

    async fn flush_locked(&self, buf: &mut Buffer) -> Result<()> {
        if buf.windows.is_empty() {
            return Ok(());
        }
        let body = encode_lines(&buf.windows)?;
        let key = format!(
            "{}{:013}-{}-{:06}.jsonl",
            self.prefix,
            crate::clock::now_ms(),
            instance_id(),
            buf.seq
        );
        metrics::add(&COUNTS.s3_put, 1);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/x-ndjson")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| sdk_error("s3", "PutObject", e))?;
        tracing::debug!(key, windows = buf.windows.len(), "windows archived");
        buf.seq += 1;
        buf.windows.clear();
        buf.first_ms = None;
        Ok(())
    }

    async fn read_cursor(&self) -> Result<Option<String>> {
        metrics::add(&COUNTS.s3_get, 1);
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.cursor_key)
            .send()
            .await
        {
            Ok(o) => {
                let b = body_bytes(o.body).await?;
                Ok(Some(String::from_utf8_lossy(&b).trim().to_owned()))
            }
            Err(e) if error_code(&e) == Some("NoSuchKey") || error_status(&e) == Some(404) => {
                Ok(None)
            }
            Err(e) => Err(sdk_error("s3", "GetObject", e)),
        }
    }

    fn key_time(&self, key: &str) -> Option<Millis> {
        key.strip_prefix(&self.prefix)?.get(..13)?.parse().ok()
    }
}

impl WindowArchive for S3WindowArchive {
    async fn append(&self, _channel: &str, windows: &[WindowFeatures]) -> Result<()> {
        if windows.is_empty() {
            return Ok(());
        }
        let now = crate::clock::now_ms();
        let mut buf = self.buffer.lock().await;
        buf.windows.extend_from_slice(windows);
        let first = *buf.first_ms.get_or_insert(now);
        if now - first >= self.flush_every_ms || buf.windows.len() >= self.max_windows {
            if let Err(e) = self.flush_locked(&mut buf).await {
                // Keep the windows for the next try, but never grow without bound.
                let cap = self.max_windows * 4;
                if buf.windows.len() > cap {
                    let drop_n = buf.windows.len() - cap;
                    buf.windows.drain(..drop_n);
                    tracing::warn!(
                        dropped = drop_n,
                        "archive buffer full; oldest windows dropped"
                    );
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

impl ArchiveSource for S3WindowArchive {
    async fn pending(&self, now_ms: Millis) -> Result<Archived> {
        let cursor = self.read_cursor().await?;
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        'pages: loop {
            metrics::add(&COUNTS.s3_list, 1);
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .set_start_after(cursor.clone())
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("s3", "ListObjectsV2", e))?;
            for o in out.contents() {
                let Some(k) = o.key() else { continue };
                match self.key_time(k) {
                    // Keys sort by time: the first one too young ends the run.
                    Some(t) if t > now_ms - self.grace_ms => break 'pages,
                    Some(_) => keys.push(k.to_owned()),
                    None => tracing::warn!(key = k, "unexpected key in the window archive"),
                }
                if keys.len() >= self.max_objects_per_run {
                    break 'pages;
                }
            }
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let mut archived = Archived::default();
        let mut by_channel: BTreeMap<String, Vec<WindowFeatures>> = BTreeMap::new();
        for k in &keys {
            metrics::add(&COUNTS.s3_get, 1);
            let o = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(k)
                .send()
                .await
                .map_err(|e| sdk_error("s3", "GetObject", e))?;
            let b = body_bytes(o.body).await?;
            archived.bad_lines += decode_lines(&b, &mut by_channel);
            archived.objects += 1;
        }
        archived.by_channel = by_channel;
        archived.cursor = keys.last().cloned();
        Ok(archived)
    }

    async fn commit(&self, cursor: &str) -> Result<()> {
        metrics::add(&COUNTS.s3_put, 1);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.cursor_key)
            .body(ByteStream::from(cursor.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("s3", "PutObject", e))?;
        Ok(())
    }
}

/// The score binary shares its archive with the shutdown hook.
impl WindowArchive for std::sync::Arc<S3WindowArchive> {
    async fn append(&self, channel: &str, windows: &[WindowFeatures]) -> Result<()> {
        <S3WindowArchive as WindowArchive>::append(self.as_ref(), channel, windows).await
    }
}
