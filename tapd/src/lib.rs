//! `tapd`: opens a TAP device and exposes it over HTTP so that unprivileged programs in any
//! language can send and receive raw Ethernet frames.
//!
//! The library holds everything but the privileged start-up, so tests drive it directly:
//!
//! - [`hub`]: the shared state: the bounded receive queue, counters, the capture ring, and the
//!   [`Link`] frames are written to;
//! - [`http`]: the axum router (`/send`, `/recv`, `/info`, `/pcap`, `/stats`, `/healthz`);
//! - [`body`]: the JSON/base64 bodies, parsed without per-frame allocation, errors that name
//!   the frame and the reason;
//! - [`capture`]: the `/pcap` stream;
//! - [`dhcp`]: the `--dhcp` server, answering the clients' DHCP messages;
//! - [`tap`]: opening and configuring the device, and the reader task that drains it;
//! - [`privs`]: dropping root.
//!
//! `main` parses flags, opens the device, binds, drops root, and calls [`run`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use tapd::{Hub, HubConfig, Link};
//!
//! struct Discard;
//! impl Link for Discard {
//!     fn send(&self, _frame: &[u8]) -> std::io::Result<()> { Ok(()) }
//! }
//!
//! # async fn demo() -> std::io::Result<()> {
//! let hub = Arc::new(Hub::new(
//!     HubConfig {
//!         mtu: 1500,
//!         prefix: "192.168.10.1/24".parse().unwrap(),
//!         hardware_addr: "02:00:00:00:00:01".parse().unwrap(),
//!         queue_len: 4096,
//!         token: None,
//!         if_name: "tap0".into(),
//!     },
//!     Discard,
//! ));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! tapd::run(listener, hub, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

pub mod body;
pub mod capture;
pub mod dhcp;
pub mod http;
pub mod hub;
pub mod privs;
pub mod tap;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

pub use http::{ApiError, router};
pub use hub::{Hub, HubConfig, Link, StatsSnapshot};

/// How long shutdown waits for in-flight requests to finish before giving up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The most connections served at once; further clients wait in the listen backlog. Bounds
/// the memory and descriptors clients can take.
pub const MAX_CONNECTIONS: usize = 512;

/// How long a client may take to send a request's headers, and how long an idle keep-alive
/// connection stays open. Bounds what a slow or silent client can hold.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves the API on `listener` until `shutdown` resolves or [`Hub::begin_shutdown`] is called
/// (e.g. by the device reader failing). Then it stops accepting, answers long polls at once,
/// ends `/pcap` streams, and waits up to [`SHUTDOWN_GRACE`] for requests in flight.
///
/// HTTP/1.1 with keep-alive and pipelining; `TCP_NODELAY` on every connection (frames are
/// small and answered at once: Nagle's algorithm would only delay them).
pub async fn run(
    listener: tokio::net::TcpListener,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = router(hub.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .pipeline_flush(true);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let stop = {
        let hub = hub.clone();
        async move {
            tokio::select! {
                () = shutdown => {}
                () = hub.shutting_down() => {}
            }
        }
    };
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            () = &mut stop => break,
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or memory, or a connection reset before we took it:
                    // not fatal, but do not spin on it.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    hub.begin_shutdown();
    drop(listener);
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; closing anyway");
        }
    }
    Ok(())
}
