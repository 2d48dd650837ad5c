//! Running the HTTP server: bind, serve, shut down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::App;

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
    let app = crate::http::router(provider.clone());
    provider.spawn_key_refresher();
    provider.spawn_janitor();
    provider.spawn_checkpointer();
    provider.spawn_deny_list_sync();
    crate::oidc::backchannel::spawn_worker(&provider.backchannel);
    let handle = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    Ok(RunningServer {
        addr,
        provider,
        shutdown: Some(tx),
        handle,
    })
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
