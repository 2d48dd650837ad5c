//! Running the HTTP server: bind, serve, shut down gracefully. Each connection has a
//! header-read and an idle deadline (`connection`), each request a deadline, and the
//! number of connections served at once is capped, so slow or idle clients cannot use
//! up the file descriptors (slowloris).

mod connection;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::ServerConfig;

/// A server running in the background (tests and the CLI).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub provider: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

/// Serves the provider on an already bound listener until [`RunningServer::stop`].
pub fn serve(listener: TcpListener, provider: Arc<App>) -> std::io::Result<RunningServer> {
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let limits = provider.config.server.clone();
    let app = crate::http::router(provider.clone());
    provider.spawn_key_refresher();
    provider.spawn_janitor();
    provider.spawn_checkpointer();
    provider.spawn_deny_list_sync();
    crate::oidc::backchannel::spawn_worker(&provider.backchannel);
    let handle = tokio::spawn(accept_loop(listener, app, limits, rx));
    Ok(RunningServer {
        addr,
        provider,
        shutdown: Some(tx),
        handle,
    })
}

/// Accepts while a connection slot is free (the others wait in the kernel's backlog),
/// until the shutdown signal; then waits for every connection to finish.
async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    limits: ServerConfig,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let deadlines = connection::Deadlines {
        header_read: limits.header_read_timeout,
        idle: limits.idle_timeout,
        request: limits.request_timeout,
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: not the
                    // listener's end. Pause so a full descriptor table is not spun on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let router = router.clone();
        let shutdown = shutdown_rx.clone();
        tokio::spawn(async move {
            connection::serve(stream, router, deadlines, shutdown).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    // Every connection holds a slot until it ends: all slots back means all done.
    let _ = slots.acquire_many(limits.max_connections as u32).await;
    Ok(())
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, then returns.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let result = (&mut self.handle).await.unwrap_or(Ok(()));
        self.provider.store.close().await;
        result
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down: draining in-flight requests");
        self.stop().await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
