//! One client connection: served by hyper, watched for the header-read and idle
//! deadlines, which hyper alone cannot give (its header timer also starts while a
//! kept-alive connection waits, so an idle timeout longer than it would be void).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// Where a connection is in its life, which decides the deadline that applies.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for (the rest of) a request's headers, since then.
    Head(Instant),
    /// This many requests are being answered: the request timeout applies.
    Busy(usize),
    /// Kept alive with nothing to do, since then.
    Idle(Instant),
}

/// The phase, shared by the socket wrapper, the service and the watchdog.
struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    fn set(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        *phase = f(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    fn get(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: on an idle connection they start a request's headers.
    fn on_read(&self) {
        if matches!(self.get(), Phase::Idle(_)) {
            self.set(|p| match p {
                Phase::Idle(_) => Phase::Head(Instant::now()),
                other => other,
            });
        }
    }

    fn begin_request(&self) {
        self.set(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
    }

    /// The response is handed to hyper, which then writes it: the idle time starts a
    /// little early, which only matters for a body larger than ours ever are.
    fn end_request(&self) {
        self.set(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

/// Ends the request's busy phase however its future ends (answered or dropped).
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// The socket (or the TLS stream over it), reporting reads to the activity.
struct Watched<S> {
    stream: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.on_read();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A request body that says when the client has sent all of it.
struct Tracked {
    inner: Incoming,
    received: Arc<AtomicBool>,
}

impl Body for Tracked {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.received.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Answers a request in time: past the deadline, 408 when the client had not finished
/// sending it (RFC 9110 section 15.5.9, closing the connection), else 503 (Portico
/// could not answer in time; the client may retry).
async fn answer(
    router: axum::Router,
    request: hyper::Request<Incoming>,
    deadline: Duration,
) -> Response {
    let received = Arc::new(AtomicBool::new(request.body().is_end_stream()));
    let request = request.map(|inner| Tracked {
        inner,
        received: received.clone(),
    });
    match tokio::time::timeout(deadline, router.oneshot(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) if received.load(Ordering::Relaxed) => {
            tracing::warn!("request timed out");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Err(_) => {
            tracing::info!("request body not received in time");
            let mut response = StatusCode::REQUEST_TIMEOUT.into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// The connection and request deadlines.
#[derive(Clone, Copy)]
pub(super) struct Deadlines {
    pub header_read: Duration,
    pub idle: Duration,
    pub request: Duration,
}

/// Serves one connection until it ends, misses a deadline, or the server shuts down
/// (then an idle or half-sent connection is dropped at once and a busy one finishes
/// its request).
/// `peer` is the client's address, which handlers read as axum's `ConnectInfo`
/// (brute-force counters, audit).
pub(super) async fn serve<S>(
    stream: S,
    peer: Option<std::net::SocketAddr>,
    router: axum::Router,
    deadlines: Deadlines,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity {
        // The header timer runs from accept, so a connection that never sends a byte
        // is cut off as early as one that sends half a request line.
        phase: Mutex::new(Phase::Head(Instant::now())),
        changed: Notify::new(),
    });
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        if let Some(peer) = peer {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        service_activity.begin_request();
        let guard = RequestGuard(service_activity.clone());
        let router = router.clone();
        async move {
            let response = answer(router, request, deadlines.request).await;
            drop(guard);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog below does it; hyper's would also cut idle kept-alive connections.
    builder.header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    if *shutdown.borrow() {
        return;
    }
    let mut shutting_down = false;
    loop {
        let phase = activity.get();
        let deadline = match phase {
            Phase::Head(since) => Some(since + deadlines.header_read),
            Phase::Idle(since) => Some(since + deadlines.idle),
            Phase::Busy(_) => None,
        };
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = activity.changed.notified() => {}
            _ = expired => {
                let what = if matches!(phase, Phase::Head(_)) { "headers" } else { "idle" };
                tracing::debug!(deadline = what, "closing a connection past its deadline");
                return;
            }
            _ = shutdown.changed(), if !shutting_down => {
                shutting_down = true;
                // hyper closes an idle connection at once and a busy one after its
                // response; half-sent headers would wait for the deadline, so they go now.
                conn.as_mut().graceful_shutdown();
                if matches!(activity.get(), Phase::Head(_)) {
                    return;
                }
            }
        }
    }
}
