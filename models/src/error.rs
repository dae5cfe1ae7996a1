//! The one error type of the detection core.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelsError {
    /// A parameter set failed its check (linfa's `ParamGuard::check`).
    #[error("invalid parameter {name}: {reason}")]
    InvalidParams { name: &'static str, reason: String },
    /// Fitting needs at least one sample.
    #[error("cannot fit on an empty training set")]
    EmptyTrainingSet,
    /// A sample's dimension differs from what the model was fitted on.
    #[error("expected {expected} features, got {got}")]
    DimensionMismatch { expected: usize, got: usize },
    /// A saved model was written by another format version.
    #[error("model file has format version {found}, this build reads version {expected}")]
    FormatVersion { found: u32, expected: u32 },
    /// A saved model could not be decoded.
    #[error("model file is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// A saved model decoded but its content is inconsistent.
    #[error("model file is inconsistent: {0}")]
    Inconsistent(String),
    /// An error from linfa (or ndarray, through it); linfa's `Fit` requires that model errors
    /// convert from it.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}

pub type Result<T, E = ModelsError> = std::result::Result<T, E>;
