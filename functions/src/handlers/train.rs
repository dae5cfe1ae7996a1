//! train: every 10 minutes, channels with newly archived windows learn from them (baseline,
//! training buffer), refit when due ([`clipper_models::model::TrainingJob`]) and are saved;
//! S3 versioning keeps the earlier models.
//!
//! The archive cursor is committed after the run, so every archived window is learned once. A
//! channel that fails (its model cannot be read or written) is reported and skipped: its windows
//! of this run are not learned again later (retraining them would count them twice). When every
//! channel fails (the store is down) nothing is committed and the next run tries again.

use std::collections::BTreeMap;
use std::future::Future;

use clipper_models::{ChannelModel, Millis, ModelConfig, WindowFeatures};
use serde::Serialize;

use super::metrics::{self, COUNTS};
use crate::error::{FunctionsError, Result};
use crate::roles::{ModelFetch, ModelStore};

/// The read side of the window archive, for training.
pub trait ArchiveSource: Send + Sync {
    /// Windows archived since the last committed cursor, per channel, and the cursor to commit
    /// once they are learned. `now_ms` lets an adapter leave out objects that may still be
    /// incomplete.
    fn pending(&self, now_ms: Millis) -> impl Future<Output = Result<Archived>> + Send;
    /// Remember that everything up to `cursor` was learned.
    fn commit(&self, cursor: &str) -> impl Future<Output = Result<()>> + Send;
}

/// Result of [`ArchiveSource::pending`].
#[derive(Debug, Default)]
pub struct Archived {
    pub by_channel: BTreeMap<String, Vec<WindowFeatures>>,
    pub cursor: Option<String>,
    pub objects: usize,
    pub bad_lines: usize,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrainReport {
    pub objects: usize,
    pub channels: usize,
    pub windows: usize,
    pub fits: usize,
    pub saved: usize,
    pub failed: Vec<String>,
}

#[derive(Debug)]
pub struct TrainHandler<M, A> {
    models: M,
    archive: A,
    model_config: ModelConfig,
}

impl<M: ModelStore, A: ArchiveSource> TrainHandler<M, A> {
    pub fn new(models: M, archive: A, model_config: ModelConfig) -> Self {
        TrainHandler {
            models,
            archive,
            model_config,
        }
    }

    pub async fn handle(&self, now_ms: Millis) -> Result<TrainReport> {
        metrics::add(&COUNTS.train_invocations, 1);
        let archived = self.archive.pending(now_ms).await?;
        let mut report = TrainReport {
            objects: archived.objects,
            channels: archived.by_channel.len(),
            ..TrainReport::default()
        };
        if archived.bad_lines > 0 {
            tracing::warn!(
                lines = archived.bad_lines,
                "undecodable archived windows skipped"
            );
        }
        let mut last_error = None;
        for (channel, mut windows) in archived.by_channel {
            windows.sort_by_key(|w| w.end_ms);
            windows.dedup_by_key(|w| w.end_ms);
            match self.train_channel(&channel, &windows).await {
                Ok(fitted) => {
                    report.windows += windows.len();
                    report.fits += usize::from(fitted);
                    report.saved += 1;
                }
                Err(e) => {
                    tracing::error!(channel, error = %e, "training failed; channel skipped this run");
                    report.failed.push(channel);
                    last_error = Some(e);
                }
            }
        }
        if report.channels > 0 && report.failed.len() == report.channels {
            if let Some(e) = last_error {
                return Err(e);
            }
        }
        if let Some(c) = &archived.cursor {
            self.archive.commit(c).await?;
        }
        metrics::add(&COUNTS.models_trained, report.saved as u64);
        tracing::info!(
            objects = report.objects,
            channels = report.channels,
            windows = report.windows,
            fits = report.fits,
            failed = report.failed.len(),
            "train run done"
        );
        metrics::emit(
            "train",
            &[
                ("ModelsSaved", report.saved as u64),
                ("Refits", report.fits as u64),
                ("TrainFailures", report.failed.len() as u64),
            ],
            now_ms,
        );
        Ok(report)
    }

    /// Learn from `windows`, refit when due, save. Returns whether it refitted.
    async fn train_channel(&self, channel: &str, windows: &[WindowFeatures]) -> Result<bool> {
        let mut model = match self.models.load(channel, None).await {
            Ok(ModelFetch::Loaded { model, .. }) => *model,
            Ok(ModelFetch::Missing | ModelFetch::Unchanged) => {
                ChannelModel::new(channel, self.model_config.clone())
            }
            Err(e @ FunctionsError::CorruptModel { .. }) => {
                tracing::error!(channel, error = %e,
                    "stored model is corrupt; starting a fresh one (the bucket keeps the old version)");
                ChannelModel::new(channel, self.model_config.clone())
            }
            Err(e) => return Err(e),
        };
        // Windows a previous run already learned (it saved this model, then timed out before
        // committing the archive cursor) are not learned twice.
        let mut learned = 0usize;
        for w in windows {
            if model.is_new(w) {
                model.assess(w);
                learned += 1;
            }
        }
        if learned < windows.len() {
            tracing::info!(
                channel,
                skipped = windows.len() - learned,
                "windows already learned by an earlier run skipped"
            );
        }
        let mut fitted = false;
        if model.wants_fit() {
            let job = model.training_job();
            match model.install(job.run()) {
                Ok(()) => fitted = true,
                Err(e) => {
                    tracing::warn!(channel, error = %e, "refit failed; keeping the old forest")
                }
            }
        }
        let version = self.models.save(&model).await?;
        tracing::info!(
            channel,
            windows = windows.len(),
            fitted,
            version,
            "model saved"
        );
        Ok(fitted)
    }
}
