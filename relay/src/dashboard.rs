//! The web dashboard `clipper run` serves (`--dashboard ADDR`, default `127.0.0.1:8080`):
//! the router of [`clipper_functions::dashboard`] (the same one the `dashboard` Lambda
//! function serves) over local files, with sessions in memory and live events over SSE. This
//! module only listens and serves.

use std::net::SocketAddr;
use std::sync::Arc;

pub use clipper_functions::dashboard::*;
use clipper_functions::roles::{ChannelStore, ClipStore};

use crate::error::{RelayError, Result};

/// A bound dashboard, not yet serving.
#[derive(Debug)]
pub struct Bound {
    listener: tokio::net::TcpListener,
    pub local_addr: SocketAddr,
}

/// Binds `addr` (port 0: any free port).
pub async fn bind(addr: SocketAddr) -> Result<Bound> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RelayError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| RelayError::Bind { addr, source })?;
    Ok(Bound {
        listener,
        local_addr,
    })
}

/// Serves `app` on `bound` until `shutdown` completes.
pub async fn serve<C: ChannelStore + 'static, S: ClipStore + 'static>(
    bound: Bound,
    app: Arc<App<C, S>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = bound.local_addr;
    axum::serve(bound.listener, app.router())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| RelayError::Bind { addr, source })
}
