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
//!     },
//!     Discard,
//! ));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! tapd::run(listener, hub, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

pub mod body;
pub mod capture;
pub mod http;
pub mod hub;
pub mod privs;
pub mod tap;

use std::future::{Future, IntoFuture};
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;

pub use http::{ApiError, router};
pub use hub::{Hub, HubConfig, Link, StatsSnapshot};

/// How long shutdown waits for in-flight requests to finish before giving up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves the API on `listener` until `shutdown` resolves or [`Hub::begin_shutdown`] is called
/// (e.g. by the device reader failing). Then it stops accepting, answers long polls at once,
/// ends `/pcap` streams, and waits up to [`SHUTDOWN_GRACE`] for requests in flight.
pub async fn run(
    listener: tokio::net::TcpListener,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = router(hub.clone());
    let trigger = {
        let hub = hub.clone();
        async move {
            tokio::select! {
                () = shutdown => {}
                () = hub.shutting_down() => {}
            }
            hub.begin_shutdown();
            tracing::info!("shutting down: no new connections, finishing requests in flight");
        }
    };
    // Frames are small and requests are answered at once: do not let Nagle hold them back.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serve = axum::serve(listener, app)
        .with_graceful_shutdown(trigger)
        .into_future();
    tokio::select! {
        r = serve => r,
        () = async { hub.shutting_down().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; closing anyway");
            Ok(())
        }
    }
}
