//! The neighbour cache, one type for ARP (RFC 826) and NDP (RFC 4861 §7.3): IP address to
//! MAC address, with expiry, a bounded queue of packets waiting for each unresolved neighbour,
//! and request retries with exponential backoff.
//!
//! The table is small and fixed (a few dozen entries), so it is scanned; the pending queues
//! are equal shares of one caller byte buffer.

use core::net::IpAddr;

use super::ring::Ring;
use crate::rand::Rng;
use crate::time::{Duration, Instant};
use crate::wire::EthernetAddress;

/// Neighbour cache timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborConfig {
    /// How long a learned address is used before it is resolved again (RFC 4861 §10
    /// REACHABLE_TIME is 30 s; Linux keeps ARP entries about a minute).
    pub reachable: Duration,
    /// The first retransmission interval of a request (RFC 4861 RETRANS_TIMER, 1 s); it
    /// doubles with each retry (RFC 1122 §2.3.2.1 asks for at most one request per second).
    pub retry: Duration,
    /// Requests sent before giving up (RFC 4861 MAX_MULTICAST_SOLICIT is 3).
    pub max_requests: u8,
    /// Packets queued at most per unresolved neighbour (RFC 1122 §2.3.2.2 asks for at least
    /// one); also bounded by its share of the pending buffer.
    pub max_pending: u8,
}

impl Default for NeighborConfig {
    fn default() -> Self {
        Self {
            reachable: Duration::from_secs(60),
            retry: Duration::from_secs(1),
            max_requests: 3,
            max_pending: 16,
        }
    }
}

/// Resolution state of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A request is outstanding: `sent` requests so far, the next due at `next`.
    Incomplete { sent: u8, next: Instant },
    /// Resolved until `expires`.
    Reachable { expires: Instant },
}

/// One neighbour cache entry (caller storage: `[Neighbor::EMPTY; n]`).
#[derive(Debug, Clone, Copy)]
pub struct Neighbor {
    ip: Option<IpAddr>,
    mac: EthernetAddress,
    state: State,
    pending: Ring,
}

impl Default for Neighbor {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Neighbor {
    /// A free entry.
    pub const EMPTY: Self = Self {
        ip: None,
        mac: EthernetAddress([0; 6]),
        state: State::Reachable {
            expires: Instant::ZERO,
        },
        pending: Ring::EMPTY,
    };
}

/// Frees every entry in use (the free ones are left as they are); returns how many queued
/// packets that dropped.
#[inline]
pub(crate) fn flush(table: &mut [Neighbor]) -> u64 {
    let mut dropped = 0;
    for e in table.iter_mut().filter(|e| e.ip.is_some()) {
        dropped += e.pending.len() as u64;
        *e = Neighbor::EMPTY;
    }
    dropped
}

/// Something the cache needs sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// A request (first or retry) for this address.
    Request(IpAddr),
    /// The entry at this index is resolved and has queued packets to flush.
    Flush(usize),
}

/// The byte share of entry `i` in the pending buffer.
pub(crate) fn share(pending: &mut [u8], n: usize, i: usize) -> &mut [u8] {
    let per = pending.len().checked_div(n).unwrap_or(0);
    &mut pending[i * per..(i + 1) * per]
}

/// The index of `ip`'s entry. The family is matched once, outside the loop, so that each
/// entry costs a tag and an address compare (no free-entry bookkeeping: a miss looks for a
/// free entry afterwards, in [`victim`]). Inlined: a caller that knows the family gets the
/// loop for that family only.
#[inline(always)]
fn find(table: &[Neighbor], ip: IpAddr) -> Option<usize> {
    match ip {
        IpAddr::V4(b) => table
            .iter()
            .position(|e| matches!(e.ip, Some(IpAddr::V4(a)) if a == b)),
        IpAddr::V6(b) => table
            .iter()
            .position(|e| matches!(e.ip, Some(IpAddr::V6(a)) if a == b)),
    }
}

/// The outcome of [`resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// Resolved, until the instant given.
    Mac(EthernetAddress, Instant),
    /// Being resolved; entry index.
    Pending(usize),
    /// A resolution started now on this entry.
    Started(usize),
    /// Every entry is busy resolving or holding packets.
    Full,
}

/// [`lookup`], then [`start`] when the address is unknown or expired, in one pass over the
/// table in the usual cases (a hit, or a miss with a free entry).
pub(crate) fn resolve(table: &mut [Neighbor], ip: IpAddr, now: Instant) -> Resolution {
    let i = match find(table, ip) {
        Some(i) => match table[i].state {
            State::Reachable { expires } if expires > now => {
                return Resolution::Mac(table[i].mac, expires);
            }
            State::Reachable { .. } => i,
            State::Incomplete { .. } => return Resolution::Pending(i),
        },
        None => match victim(table, now) {
            Some(i) => i,
            None => return Resolution::Full,
        },
    };
    table[i] = incomplete(ip, now);
    Resolution::Started(i)
}

/// A fresh entry resolving `ip`, its first request due at `now`.
fn incomplete(ip: IpAddr, now: Instant) -> Neighbor {
    Neighbor {
        ip: Some(ip),
        mac: EthernetAddress([0; 6]),
        state: State::Incomplete { sent: 0, next: now },
        pending: Ring::EMPTY,
    }
}

/// A free entry, else an expired one, else the resolved one that expires first.
#[inline]
fn victim(table: &[Neighbor], now: Instant) -> Option<usize> {
    if let Some(i) = table.iter().position(|e| e.ip.is_none()) {
        return Some(i);
    }
    table
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.state {
            State::Reachable { expires } if e.pending.is_empty() => Some((
                if expires <= now {
                    Instant::ZERO
                } else {
                    expires
                },
                i,
            )),
            _ => None,
        })
        .min()
        .map(|(_, i)| i)
}

/// True when entry `i` holds as many packets as it may.
pub(crate) fn pending_full(table: &[Neighbor], cfg: &NeighborConfig, i: usize) -> bool {
    table[i].pending.len() >= usize::from(cfg.max_pending)
}

/// Queues an IP packet for the pending entry `i`; false when its queue is full.
pub(crate) fn enqueue(
    table: &mut [Neighbor],
    pending: &mut [u8],
    cfg: &NeighborConfig,
    i: usize,
    packet: &[u8],
) -> bool {
    let n = table.len();
    let e = &mut table[i];
    if e.pending.len() >= usize::from(cfg.max_pending) {
        return false;
    }
    e.pending.push(share(pending, n, i), &[packet])
}

/// As [`enqueue`], for a packet given in parts (written contiguously).
pub(crate) fn enqueue_parts(
    table: &mut [Neighbor],
    pending: &mut [u8],
    cfg: &NeighborConfig,
    i: usize,
    parts: &[&[u8]],
) -> bool {
    let n = table.len();
    let e = &mut table[i];
    if e.pending.len() >= usize::from(cfg.max_pending) {
        return false;
    }
    e.pending.push(share(pending, n, i), parts)
}

/// Records `ip` at `mac` (RFC 826 "merge": only updates an existing entry unless `create`).
/// Returns the entry index when it now has packets to flush. Inlined: ARP's callers know the
/// address family, and the scan folds to it.
#[inline(always)]
pub(crate) fn learn(
    table: &mut [Neighbor],
    cfg: &NeighborConfig,
    ip: IpAddr,
    mac: EthernetAddress,
    now: Instant,
    create: bool,
) -> Option<usize> {
    let state = State::Reachable {
        expires: now + cfg.reachable,
    };
    let Some(i) = find(table, ip) else {
        if create && let Some(i) = victim(table, now) {
            // A new entry: nothing queued on it.
            table[i] = Neighbor {
                ip: Some(ip),
                mac,
                state,
                pending: Ring::EMPTY,
            };
        }
        return None;
    };
    // Found by its address: that stays.
    let e = &mut table[i];
    e.mac = mac;
    e.state = state;
    (!e.pending.is_empty()).then_some(i)
}

/// The next thing due at `now`: flushes first, then requests. Retries back off (the interval
/// doubles, plus up to a quarter of it of jitter drawn from `rng`); after `max_requests` the entry is freed
/// and the count of packets dropped with it is returned in `dropped`.
#[inline]
pub(crate) fn due(
    table: &mut [Neighbor],
    cfg: &NeighborConfig,
    now: Instant,
    rng: &mut Rng,
    dropped: &mut u64,
) -> Option<Due> {
    // One pass for a flush (they come first) and the first request that may be due.
    let mut first_due = None;
    for (i, e) in table.iter().enumerate() {
        if e.ip.is_none() {
            continue;
        }
        match e.state {
            State::Reachable { .. } if !e.pending.is_empty() => return Some(Due::Flush(i)),
            State::Incomplete { next, .. } if next <= now && first_due.is_none() => {
                first_due = Some(i);
            }
            _ => {}
        }
    }
    for e in table[first_due?..].iter_mut() {
        let (Some(ip), State::Incomplete { sent, next }) = (e.ip, e.state) else {
            continue;
        };
        if next > now {
            continue;
        }
        if sent >= cfg.max_requests {
            *dropped += e.pending.len() as u64;
            *e = Neighbor::EMPTY;
            continue;
        }
        let interval = cfg.retry.saturating_mul(1 << sent.min(16));
        let jitter = rng.next_u64();
        // Uniform in [0, interval / 4] by a multiply-shift (Lemire), not a division.
        let range = u128::from(interval.micros() / 4 + 1);
        let extra = Duration::from_micros(((u128::from(jitter) * range) >> 64) as u64);
        e.state = State::Incomplete {
            sent: sent + 1,
            next: now + interval + extra,
        };
        return Some(Due::Request(ip));
    }
    None
}

/// Takes the next packet queued on entry `i` (resolved), copying it into `out`; returns its
/// length and the MAC, or `None` when the queue is empty. A packet larger than `out` is
/// dropped and reported as length 0.
pub(crate) fn flush_one(
    table: &mut [Neighbor],
    pending: &mut [u8],
    i: usize,
    out: &mut [u8],
) -> Option<(usize, EthernetAddress)> {
    let n = table.len();
    let e = &mut table[i];
    let buf = share(pending, n, i);
    let rec = e.pending.peek(buf)?;
    let len = if rec.len() <= out.len() {
        out[..rec.len()].copy_from_slice(rec);
        rec.len()
    } else {
        0
    };
    e.pending.pop(buf);
    Some((len, e.mac))
}

/// When [`due`] next has something to do.
pub(crate) fn poll_at(table: &[Neighbor]) -> Option<Instant> {
    table
        .iter()
        .filter(|e| e.ip.is_some())
        .filter_map(|e| match e.state {
            State::Incomplete { next, .. } => Some(next),
            State::Reachable { .. } if !e.pending.is_empty() => Some(Instant::ZERO),
            State::Reachable { .. } => None,
        })
        .min()
}
