//! One client connection: HTTP/1.1 served by hyper, under the limits a client must not exceed.
//!
//! hyper's own header-read timer also runs while a keep-alive connection waits for its next
//! request, so it cannot tell a slow client from an idle one. The watchdog here does: the
//! connection's IO marks the first byte of each request head, the service marks when a request
//! is being answered, and the watchdog closes the connection when
//!
//! * a request's headers are not complete `header_timeout` after their first byte, or
//! * no request has started `idle_timeout` after the last answer (or after the accept).
//!
//! The body has its own timeout, enforced by the handler that reads it; a request being answered
//! is never cut by the watchdog. Dropping the hyper connection closes the socket.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// What a connection is allowed, from the server's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

/// Serves one accepted connection until the client closes it, a timeout closes it, or a
/// graceful shutdown finishes its request in flight. `_permit` is the connection's slot under
/// the connection limit, given back when this returns.
pub(crate) async fn serve(
    stream: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let router = router.clone();
            let answering = Answering::start(Arc::clone(&activity));
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                drop(answering);
                response
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        // The watchdog below times headers; hyper's timer would also cut idle keep-alive.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let watchdog = activity.expired(limits);
    tokio::pin!(watchdog);
    // On shutdown hyper closes a connection at once unless a request head has been parsed, so a
    // request already on the wire but not yet read would be lost: the connection is told to
    // finish only once it is answering or has been quiet for a moment.
    let mut stopping_seen = *stopping.borrow();
    let mut told = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%err, "connection ended with an error");
                }
                return;
            }
            reason = &mut watchdog => {
                tracing::debug!(reason, "closing the connection");
                return;
            }
            changed = stopping.changed(), if !stopping_seen => {
                // A dropped sender means the server is gone: stop as for a shutdown.
                stopping_seen = changed.is_err() || *stopping.borrow();
            }
            () = activity.settled(), if stopping_seen && !told => {
                told = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// How long a connection with nothing in progress must stay quiet before a shutdown closes it.
const QUIET: Duration = Duration::from_millis(100);

/// No time recorded (`u64::MAX` milliseconds).
const NONE: u64 = u64::MAX;

/// What the watchdog knows of a connection, shared by its IO, its service and the watchdog.
/// Times are milliseconds since `epoch`.
#[derive(Debug)]
struct Activity {
    epoch: Instant,
    /// Requests being answered (more than one only with pipelining).
    answering: AtomicU32,
    /// When the first byte of the next request head arrived, or `NONE`.
    head_started: AtomicU64,
    /// When the connection last became idle: accepted, or its last answer produced.
    idle_since: AtomicU64,
    /// Wakes the watchdog when a head starts: its deadline may then come before the idle one.
    head_arrived: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            answering: AtomicU32::new(0),
            head_started: AtomicU64::new(NONE),
            idle_since: AtomicU64::new(0),
            head_arrived: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Bytes arrived from the client.
    fn read_some(&self) {
        if self.answering.load(Ordering::Acquire) == 0
            && self.head_started.load(Ordering::Acquire) == NONE
        {
            self.head_started.store(self.now(), Ordering::Release);
            self.head_arrived.notify_one();
        }
    }

    /// Resolves once a request is being answered (hyper then finishes it before closing), or
    /// once no request has started for [`QUIET`].
    async fn settled(&self) {
        loop {
            if self.answering.load(Ordering::Acquire) > 0 {
                return;
            }
            let quiet_since = self.idle_since.load(Ordering::Acquire);
            if self.head_started.load(Ordering::Acquire) == NONE
                && self.now().saturating_sub(quiet_since) >= QUIET.as_millis() as u64
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Resolves when a limit is passed, with the reason; never while a request is answered.
    async fn expired(&self, limits: ConnectionLimits) -> &'static str {
        loop {
            let now = self.now();
            let head = self.head_started.load(Ordering::Acquire);
            let (deadline, reason) = if self.answering.load(Ordering::Acquire) > 0 {
                (now + limits.header_timeout.as_millis() as u64, "")
            } else if head != NONE {
                let timeout = limits.header_timeout.as_millis() as u64;
                (head.saturating_add(timeout), "header timeout")
            } else {
                let since = self.idle_since.load(Ordering::Acquire);
                let timeout = limits.idle_timeout.as_millis() as u64;
                (since.saturating_add(timeout), "idle timeout")
            };
            if deadline <= now && !reason.is_empty() {
                return reason;
            }
            // Answers only move deadlines later, so waking at this one and looking again is
            // exact: the connection is never closed early. A head's first byte can bring the
            // deadline forward, and wakes the watchdog to look again.
            let wake = self.epoch + Duration::from_millis(deadline.max(now + 1));
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = self.head_arrived.notified() => {}
            }
        }
    }
}

/// Held while the service answers one request: the headers are complete, the watchdog waits.
struct Answering(Arc<Activity>);

impl Answering {
    fn start(activity: Arc<Activity>) -> Answering {
        activity.answering.fetch_add(1, Ordering::AcqRel);
        activity.head_started.store(NONE, Ordering::Release);
        Answering(activity)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.idle_since.store(activity.now(), Ordering::Release);
        activity.head_started.store(NONE, Ordering::Release);
        activity.answering.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The TCP stream, telling [`Activity`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
