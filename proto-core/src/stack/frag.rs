//! IPv4 fragment reassembly (RFC 791 §3.2, with RFC 815's hole bookkeeping kept as a bounded
//! list of received ranges) and the send-side split.
//!
//! Memory is fixed: a number of contexts, each with an equal share of one caller byte buffer
//! (the largest datagram it can rebuild). A fragment that would need more (a new datagram
//! with every context busy, a payload past the share, a range list full) is dropped and
//! counted; a context whose datagram is still incomplete after the timeout is freed (RFC 791
//! suggests 15 s; Linux uses 30 s).

use core::net::Ipv4Addr;

use crate::time::Instant;

/// Received ranges kept per datagram; more holes than this and the fragment is dropped.
const MAX_RANGES: usize = 16;

/// The identity of a datagram (RFC 791 §3.2: source, destination, protocol, identification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FragKey {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) ident: u16,
    pub(crate) protocol: u8,
}

/// A reassembly context (caller storage: `[FragContext::EMPTY; n]`).
#[derive(Debug, Clone, Copy)]
pub struct FragContext {
    key: Option<FragKey>,
    deadline: Instant,
    /// Payload length, known once the last fragment (MF clear) arrived.
    total: Option<u32>,
    /// Received byte ranges `[start, end)`, sorted and merged.
    ranges: [(u32, u32); MAX_RANGES],
    n: u8,
}

impl Default for FragContext {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl FragContext {
    /// A free context.
    pub const EMPTY: Self = Self {
        key: None,
        deadline: Instant::ZERO,
        total: None,
        ranges: [(0, 0); MAX_RANGES],
        n: 0,
    };

    /// Adds `[start, end)` to the received ranges, merging; false when the list is full.
    fn add_range(&mut self, start: u32, end: u32) -> bool {
        let mut s = start;
        let mut e = end;
        let mut out = [(0u32, 0u32); MAX_RANGES];
        let mut k = 0;
        let mut placed = false;
        for &(a, b) in &self.ranges[..usize::from(self.n)] {
            if b < s {
                out[k] = (a, b);
                k += 1;
            } else if e < a {
                if !placed {
                    if k == MAX_RANGES {
                        return false;
                    }
                    out[k] = (s, e);
                    k += 1;
                    placed = true;
                }
                if k == MAX_RANGES {
                    return false;
                }
                out[k] = (a, b);
                k += 1;
            } else {
                s = s.min(a);
                e = e.max(b);
            }
        }
        if !placed {
            if k == MAX_RANGES {
                return false;
            }
            out[k] = (s, e);
            k += 1;
        }
        self.ranges = out;
        self.n = k as u8;
        true
    }

    fn complete(&self) -> Option<u32> {
        let total = self.total?;
        (self.n == 1 && self.ranges[0] == (0, total)).then_some(total)
    }
}

/// Why a fragment was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FragError {
    /// No room: contexts busy, datagram too large, too many holes, inconsistent lengths.
    NoRoom,
}

/// Stores one fragment. Returns `Some((context, length))` when the datagram is complete: its
/// payload is the first `length` bytes of that context's share; call [`free`] after use.
#[allow(clippy::too_many_arguments)]
pub(crate) fn add(
    table: &mut [FragContext],
    bytes: &mut [u8],
    key: FragKey,
    offset: u32,
    more: bool,
    payload: &[u8],
    now: Instant,
    timeout: crate::time::Duration,
) -> Result<Option<(usize, usize)>, FragError> {
    let n = table.len();
    let per = bytes.len().checked_div(n).unwrap_or(0);
    let i = match table.iter().position(|c| c.key == Some(key)) {
        Some(i) => i,
        None => {
            let i = table
                .iter()
                .position(|c| c.key.is_none())
                .ok_or(FragError::NoRoom)?;
            table[i] = FragContext {
                key: Some(key),
                deadline: now + timeout,
                ..FragContext::EMPTY
            };
            i
        }
    };
    let end = offset
        .checked_add(payload.len() as u32)
        .ok_or(FragError::NoRoom)?;
    let ctx = &mut table[i];
    let bad = end as usize > per
        || (!more && ctx.total.is_some_and(|t| t != end))
        || ctx.total.is_some_and(|t| end > t)
        || (!more && ctx.n > 0 && ctx.ranges[usize::from(ctx.n) - 1].1 > end)
        // RFC 791: every fragment but the last carries a multiple of 8 bytes.
        || (more && payload.len() % 8 != 0);
    if bad {
        *ctx = FragContext::EMPTY;
        return Err(FragError::NoRoom);
    }
    if !ctx.add_range(offset, end) {
        *ctx = FragContext::EMPTY;
        return Err(FragError::NoRoom);
    }
    if !more {
        ctx.total = Some(end);
    }
    let share = &mut bytes[i * per..(i + 1) * per];
    // Overlaps: the later copy wins (RFC 791 leaves it open; RFC 815 does the same).
    share[offset as usize..end as usize].copy_from_slice(payload);
    Ok(ctx.complete().map(|len| (i, len as usize)))
}

/// The payload bytes of context `i`.
pub(crate) fn payload(table_len: usize, bytes: &[u8], i: usize, len: usize) -> &[u8] {
    let per = bytes.len().checked_div(table_len).unwrap_or(0);
    &bytes[i * per..i * per + len]
}

/// Frees context `i`.
pub(crate) fn free(table: &mut [FragContext], i: usize) {
    table[i] = FragContext::EMPTY;
}

/// Frees every context past its deadline; returns how many.
pub(crate) fn expire(table: &mut [FragContext], now: Instant) -> u64 {
    let mut n = 0;
    for c in table.iter_mut() {
        if c.key.is_some() && c.deadline <= now {
            *c = FragContext::EMPTY;
            n += 1;
        }
    }
    n
}

/// The earliest reassembly deadline.
pub(crate) fn poll_at(table: &[FragContext]) -> Option<Instant> {
    table
        .iter()
        .filter(|c| c.key.is_some())
        .map(|c| c.deadline)
        .min()
}

/// Contexts in use.
#[cfg(test)]
pub(crate) fn in_use(table: &[FragContext]) -> usize {
    table.iter().filter(|c| c.key.is_some()).count()
}

/// The payload bytes of the next fragment of a datagram whose payload is `total` bytes, of
/// which `sent` are sent, under an IP MTU of `mtu` with a 20-byte header: a multiple of 8
/// unless it is the last (RFC 791 §3.2). Returns `(length, more_fragments)`.
pub(crate) fn next_fragment(mtu: usize, total: usize, sent: usize) -> (usize, bool) {
    let room = (mtu.saturating_sub(20)) & !7;
    let left = total - sent;
    if left <= mtu.saturating_sub(20) && sent == 0 {
        return (left, false);
    }
    if left <= room {
        (left, false)
    } else {
        (room, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn key() -> FragKey {
        FragKey {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            ident: 7,
            protocol: 17,
        }
    }

    #[test]
    fn ranges_merge_in_any_order_and_overlap() {
        let mut t = [FragContext::EMPTY; 2];
        let mut b = [0u8; 2 * 64];
        let data: [u8; 40] = core::array::from_fn(|i| i as u8);
        let now = Instant::ZERO;
        let to = Duration::from_secs(30);
        assert_eq!(add(&mut t, &mut b, key(), 32, false, &data[32..], now, to), Ok(None));
        assert_eq!(add(&mut t, &mut b, key(), 0, true, &data[..16], now, to), Ok(None));
        // Overlapping the first and the second.
        assert_eq!(
            add(&mut t, &mut b, key(), 8, true, &data[8..32], now, to),
            Ok(Some((0, 40)))
        );
        assert_eq!(payload(2, &b, 0, 40), &data[..]);
        free(&mut t, 0);
        assert_eq!(in_use(&t), 0);
    }

    #[test]
    fn contexts_are_limited_and_time_out() {
        let mut t = [FragContext::EMPTY; 1];
        let mut b = [0u8; 64];
        let now = Instant::ZERO;
        let to = Duration::from_secs(30);
        assert_eq!(add(&mut t, &mut b, key(), 0, true, &[0; 8], now, to), Ok(None));
        let other = FragKey { ident: 8, ..key() };
        assert_eq!(
            add(&mut t, &mut b, other, 0, true, &[0; 8], now, to),
            Err(FragError::NoRoom)
        );
        assert_eq!(poll_at(&t), Some(now + to));
        assert_eq!(expire(&mut t, now + to), 1);
        assert_eq!(add(&mut t, &mut b, other, 0, true, &[0; 8], now, to), Ok(None));
        // Past the share.
        assert_eq!(
            add(&mut t, &mut b, other, 64, false, &[0; 8], now, to),
            Err(FragError::NoRoom)
        );
    }

    #[test]
    fn split_is_in_multiples_of_8() {
        assert_eq!(next_fragment(1500, 1480, 0), (1480, false));
        assert_eq!(next_fragment(1500, 3000, 0), (1480, true));
        assert_eq!(next_fragment(1500, 3000, 1480), (1480, true));
        assert_eq!(next_fragment(1500, 3000, 2960), (40, false));
        assert_eq!(next_fragment(1000, 2000, 0), (976, true));
    }
}
