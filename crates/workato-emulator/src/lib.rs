//! `workato-emulator`: a local stand-in for the Workato Developer API.
//!
//! It serves an rlcm environment directory as a Workato workspace: the API on one listener
//! (`/api/...`, Bearer auth), and the package downloads on a second one (another port, so
//! another origin), as Workato hands downloads to pre-signed S3 URLs. The real work is done by
//! the rlcm library: an export is rlcm's export of the folder (a Workato-layout zip), an
//! import is rlcm's plan and journaled import into the served environment, running state is
//! the environment's `.rlcm/recipes.json`, connector versions its `.rlcm/connectors/`.
//!
//! - [`config`]: the options (the binary's flags)
//! - [`ids`]: stable numeric ids for folders, recipes, connections and connectors
//! - [`model`]: the environment seen as Workato API objects
//! - [`control`]: Bearer auth, rate limits and injected faults
//! - [`storage`]: the second origin (signed, short-lived download URLs)
//! - [`api`]: the endpoints

pub mod api;
pub mod config;
pub mod control;
pub mod ids;
pub mod model;
pub mod storage;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Config, Fault, FaultKind, RateLimits};

/// A running emulator: its two origins and the task serving them.
pub struct Running {
    /// The API's address (`http://ADDR/api/...`).
    pub api: SocketAddr,
    /// The download origin's address.
    pub storage: SocketAddr,
    /// Resolves when a server stops (only on an I/O error).
    pub served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds both listeners and starts serving.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let api_listener = tokio::net::TcpListener::bind(config.listen).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {}: {e}; choose another --listen address",
            config.listen
        )
    })?;
    let api_addr = api_listener.local_addr()?;
    // The download origin: same host, another port (port 0: any free one).
    let storage_bind = SocketAddr::new(api_addr.ip(), 0);
    let storage_listener = tokio::net::TcpListener::bind(storage_bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {storage_bind} for downloads: {e}"))?;
    let storage_addr = storage_listener.local_addr()?;
    let app = Arc::new(api::App::new(config, storage_addr)?);
    let api_router = api::router(app.clone());
    let storage_router = storage::router(app);
    let served = tokio::spawn(async move {
        let a = axum::serve(api_listener, api_router);
        let s = axum::serve(storage_listener, storage_router);
        tokio::try_join!(async { a.await }, async { s.await })?;
        Ok(())
    });
    Ok(Running {
        api: api_addr,
        storage: storage_addr,
        served,
    })
}
