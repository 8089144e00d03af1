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
/// Change detection of the kept workspace: the library's (shared with `rlcm watch`).
pub use rlcm::watch;

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

/// An emulator serving from a background thread of this process (for tests that link the
/// library instead of spawning the binary); it stops when dropped.
pub struct Background {
    /// The API's address.
    pub api: SocketAddr,
    /// The download origin's address.
    pub storage: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// `http://HOST:PORT` of the API (what the binary prints after `listening on `).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.api)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts an emulator on a thread of its own (with its own runtime) and returns once both
/// listeners are bound.
pub fn spawn(config: Config) -> anyhow::Result<Background> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<(SocketAddr, SocketAddr)>>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("workato-emulator".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow::anyhow!("cannot start the runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                match start(config).await {
                    Ok(running) => {
                        let _ = ready_tx.send(Ok((running.api, running.storage)));
                        tokio::select! {
                            _ = running.served => {}
                            _ = stop_rx => {}
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
            // An import or export still running on a blocking thread gets a few seconds.
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        })
        .map_err(|e| anyhow::anyhow!("cannot start the emulator's thread: {e}"))?;
    let (api, storage) = ready_rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the emulator's thread ended before it was listening"))??;
    Ok(Background {
        api,
        storage,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}
