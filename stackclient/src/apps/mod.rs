//! Application protocols over the runtime: proto-core's sans-IO machines
//! ([`proto_core::app`]) glued to the userspace sockets.
//!
//! | module | what |
//! |---|---|
//! | [`dhcp`] | [`dhcp::DhcpClientTask`] (lease, ARP probe, renew/rebind, expiry, RELEASE) and [`dhcp::DhcpServerTask`] |
//! | [`dns`] | [`dns::Resolver`]: A/AAAA lookups over UDP with TCP fallback, servers from a lease or given |
//! | [`ntp`] | [`ntp::query`] (offset and delay against the system clock) and [`ntp::serve`] |
//! | [`http`] | [`http::serve`] (axum over a userspace [`TcpListener`](crate::runtime::TcpListener)) and [`http::Client`] (hyper over [`TcpStream`](crate::runtime::TcpStream)s) |
//!
//! Each glue task drives its machine in the order proto-core documents: datagrams in
//! (`handle*`), `handle_timeout`, `poll_transmit` until `None`, then sleep until `poll_at()`
//! or the next datagram. The machines' clock is the stack's ([`Stack::now`]).

use std::time::Duration as StdDuration;

use proto_core::time::{Duration, Instant};

use crate::runtime::Stack;

pub mod dhcp;
pub mod dns;
pub mod http;
pub mod ntp;

/// Sleeps until the stack's clock reads `at` (forever for `None`).
pub(crate) async fn sleep_until(stack: &Stack, at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep(until(stack, at)).await,
        None => std::future::pending().await,
    }
}

/// How long until the stack's clock reads `at` (zero when past).
pub(crate) fn until(stack: &Stack, at: Instant) -> StdDuration {
    StdDuration::from_micros(at.saturating_duration_since(stack.now()).micros())
}

/// A proto-core duration as a std one.
pub(crate) fn std_duration(d: Duration) -> StdDuration {
    StdDuration::from_micros(d.micros())
}

/// A seed for a machine's generator from the OS's randomness (std's hasher keys come from
/// it) and the clock.
pub(crate) fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() | 1
}
