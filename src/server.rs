//! Running the HTTP server: bind, serve, shut down gracefully. Each connection has a
//! header-read and an idle deadline (`connection`), each request a deadline, and the
//! number of connections served at once is capped, so slow or idle clients cannot use
//! up the file descriptors (slowloris).

mod cert_listener;
mod connection;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::ServerConfig;

/// A server running in the background (tests and the CLI).
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The certificate-login listeners (`kind = "x509"` sources), in configured order.
    pub certificate_addrs: Vec<SocketAddr>,
    pub provider: Arc<App>,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<std::io::Result<()>>,
    certificate_handles: Vec<JoinHandle<std::io::Result<()>>>,
}

/// Serves the provider on an already bound listener until [`RunningServer::stop`];
/// each certificate source's listener binds its own `listen` address.
pub fn serve(listener: TcpListener, provider: Arc<App>) -> std::io::Result<RunningServer> {
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let limits = provider.config.server.clone();
    let app = crate::http::router(provider.clone());
    let mut certificate_addrs = Vec::new();
    let mut certificate_handles = Vec::new();
    for source in provider.sources.x509() {
        let tls = cert_listener::Listener::bind(source)?;
        certificate_addrs.push(tls.addr);
        let router = crate::http::cert_login::router(provider.clone(), &source.config.id);
        certificate_handles.push(tokio::spawn(accept_loop(
            tls.listener,
            limits.clone(),
            rx.clone(),
            move |stream, peer, deadlines, shutdown| {
                cert_listener::serve(
                    stream,
                    peer,
                    tls.acceptor.clone(),
                    router.clone(),
                    deadlines,
                    shutdown,
                )
            },
        )));
    }
    provider.spawn_key_refresher();
    provider.spawn_janitor();
    provider.spawn_checkpointer();
    provider.spawn_deny_list_sync();
    provider.spawn_crl_refreshers();
    crate::oidc::backchannel::spawn_worker(&provider.backchannel);
    let handle = tokio::spawn(accept_loop(
        listener,
        limits,
        rx,
        move |stream, peer, deadlines, shutdown| {
            connection::serve(stream, Some(peer), app.clone(), deadlines, shutdown)
        },
    ));
    Ok(RunningServer {
        addr,
        certificate_addrs,
        provider,
        shutdown: tx,
        handle,
        certificate_handles,
    })
}

/// Accepts while a connection slot is free (the others wait in the kernel's backlog),
/// until the shutdown signal; then waits for every connection to finish. Each
/// connection is served (a TLS handshake included) in a task of its own.
async fn accept_loop<F, Fut>(
    listener: TcpListener,
    limits: ServerConfig,
    mut stop: watch::Receiver<bool>,
    serve_one: F,
) -> std::io::Result<()>
where
    F: Fn(TcpStream, SocketAddr, connection::Deadlines, watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let deadlines = connection::Deadlines {
        header_read: limits.header_read_timeout,
        idle: limits.idle_timeout,
        request: limits.request_timeout,
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::pin!(stopped);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stopped => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: not the
                    // listener's end. Pause so a full descriptor table is not spun on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        // Small responses should not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let served = serve_one(stream, peer, deadlines, shutdown_rx.clone());
        tokio::spawn(async move {
            served.await;
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
        let _ = self.shutdown.send(true);
        let result = (&mut self.handle).await.unwrap_or(Ok(()));
        for handle in self.certificate_handles.drain(..) {
            let _ = handle.await;
        }
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
