//! The accept loop: HTTP/1.1 connections served by hyper with read timeouts, and graceful shutdown.
//!
//! Why not `axum::serve`: it offers no timeouts, so a client that sends half a request head (or stops sending a
//! body) holds its connection, and a task, forever. Here:
//! - the request head must arrive within [`Timeouts::header_read`] (hyper's `header_read_timeout`, which also
//!   closes a kept-alive connection idle that long between requests);
//! - a request body must make progress: at most [`Timeouts::body_idle`] between two of its chunks
//!   (`tower_http::timeout::TimeoutBody`). It is an idle timeout, not a total one, so a large upload to
//!   `/v1/projects/{project}/imports` takes as long as it needs while bytes keep coming; a stalled one ends with the
//!   body read failing (the handler answers as for any broken body).
//!
//! On the shutdown signal the listener closes, each connection finishes its request in flight and closes, and
//! [`serve`] returns once all have.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// How long a client may take to send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest wait for a complete request head (request line and headers), and for the next request on an idle
    /// kept-alive connection. Default 30 s.
    pub header_read: Duration,
    /// Longest pause between two chunks of a request body. Default 60 s.
    pub body_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { header_read: Duration::from_secs(30), body_idle: Duration::from_secs(60) }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for the open connections to finish their
/// requests. Errors: none today (accept errors are logged and retried, as `axum::serve` does); the `Result` leaves
/// room for set-up failures.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (app, body_idle) = (app.clone(), timeouts.body_idle);
        let (stream, peer) = stream;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(request.map(|body| TimeoutBody::new(body_idle, body)))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed accept: per-connection errors are the client's; others (e.g. too many open files) are logged,
/// and accepting pauses for a second rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind as K;
    if matches!(e.kind(), K::ConnectionRefused | K::ConnectionAborted | K::ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
