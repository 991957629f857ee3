//! A sans-IO TCP engine (RFC 9293 and the RFCs cited in each module).
//!
//! Segments and `now` go in, segments come out into caller buffers, and `poll_at()` says when
//! the engine next needs to run. Send and receive buffers are handed in; time and randomness
//! are injected. Nothing here allocates.

use core::net::SocketAddr;

use crate::wire::IpAddrPair;

/// A connection's identity: our address and port, and the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FourTuple {
    /// Our address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
}

impl FourTuple {
    /// The tuple seen from the other end.
    #[inline]
    pub const fn reversed(self) -> Self {
        Self {
            local: self.remote,
            remote: self.local,
        }
    }

    /// The address pair of segments we send (source = local), for pseudo-header checksums;
    /// `None` when the two addresses are of different families.
    #[inline]
    pub fn outgoing_addrs(&self) -> Option<IpAddrPair> {
        match (self.local, self.remote) {
            (SocketAddr::V4(l), SocketAddr::V4(r)) => Some(IpAddrPair::V4 {
                src: *l.ip(),
                dst: *r.ip(),
            }),
            (SocketAddr::V6(l), SocketAddr::V6(r)) => Some(IpAddrPair::V6 {
                src: *l.ip(),
                dst: *r.ip(),
            }),
            _ => None,
        }
    }
}

pub mod assembler;
pub mod buffer;
pub mod cc;
mod config;
mod conn;
pub mod isn;
mod listener;
pub mod rtt;
pub mod sack;

pub use self::config::{Config, Keepalive};
pub(crate) use self::conn::ConnConfig;
pub use self::conn::{
    Connection, ConnectionError, ConnectionStats, RecvError, SendError, State, SynOptions,
};
pub use self::listener::{HalfOpen, Handshake, Listener, ListenerStats, SynSlot, reset_for};
