//! The one error type of the relay crate.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RelayError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is empty")]
    EmptyFile { path: PathBuf },
    #[error("{path}: unknown chat log format (expected a TSV with header `offset_s<TAB>user<TAB>message` or raw Twitch IRC lines); first line: {first_line:?}")]
    UnknownFormat { path: PathBuf, first_line: String },
    #[error("{path}:{line}: {reason}")]
    Labels {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("model for channel {channel}: {source}")]
    Model {
        channel: String,
        #[source]
        source: clipper_models::ModelsError,
    },
    #[error("chart {path}: {reason}")]
    Chart { path: PathBuf, reason: String },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A model store (or other functions adapter) failed.
    #[error(transparent)]
    Store(#[from] clipper_functions::FunctionsError),
    /// The dashboard could not listen.
    #[error("dashboard cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A setting out of range (message says which).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = RelayError> = std::result::Result<T, E>;
