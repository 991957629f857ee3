//! A ring of variable-length records in a caller's byte buffer: UDP receive and send queues,
//! the control-frame queue (ARP/NDP/ICMP/RST replies) and neighbour pending queues.
//!
//! Each record is a 4-byte little-endian length followed by its bytes, stored contiguously
//! (a record never wraps: when it does not fit before the end, a wrap marker is written and
//! it starts at 0). A full ring refuses a record; the caller drops and counts it.

/// Length prefix of every record.
const PREFIX: usize = 4;
/// The length value that marks "continue at offset 0".
const WRAP: u32 = u32::MAX;

/// The positions of a ring; the bytes are the caller's, passed to every call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ring {
    /// Offset of the oldest record.
    read: u32,
    /// Offset where the next record goes.
    write: u32,
    /// Records held.
    count: u32,
}

impl Ring {
    /// An empty ring.
    pub(crate) const EMPTY: Self = Self {
        read: 0,
        write: 0,
        count: 0,
    };

    /// Records held.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.count as usize
    }

    /// True when no record is held.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Where a record of `n` bytes would start, or `None` when it does not fit. Also returns
    /// whether a wrap marker is needed first.
    fn place(&self, cap: usize, n: usize) -> Option<(usize, bool)> {
        let need = PREFIX.checked_add(n)?;
        let (r, w) = (self.read as usize, self.write as usize);
        if self.count == 0 {
            // Empty: start over at 0 so the whole buffer is free.
            return (need <= cap).then_some((0, false));
        }
        if w > r || (w == r && self.count == 0) {
            // Data in [r, w): free space at the end, then [0, r).
            if cap - w >= need {
                return Some((w, false));
            }
            // Strictly less than r so that write never catches up with read.
            (need < r).then_some((0, true))
        } else {
            // Wrapped: data in [r, cap) and [0, w); free space is [w, r).
            (r - w > need).then_some((w, false))
        }
    }

    /// Appends a record made of `parts` concatenated; false (nothing written) when full.
    pub(crate) fn push(&mut self, buf: &mut [u8], parts: &[&[u8]]) -> bool {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        if n >= WRAP as usize {
            return false;
        }
        let Some((at, wrap)) = self.place(buf.len(), n) else {
            return false;
        };
        if wrap && buf.len() - (self.write as usize) >= PREFIX {
            let w = self.write as usize;
            buf[w..w + PREFIX].copy_from_slice(&WRAP.to_le_bytes());
        }
        if self.count == 0 {
            self.read = 0;
        }
        buf[at..at + PREFIX].copy_from_slice(&(n as u32).to_le_bytes());
        let mut pos = at + PREFIX;
        for p in parts {
            buf[pos..pos + p.len()].copy_from_slice(p);
            pos += p.len();
        }
        self.write = pos as u32;
        self.count += 1;
        true
    }

    /// Reserves a record of `n` bytes and returns it for the caller to fill (zero copy).
    pub(crate) fn push_with<'b>(&mut self, buf: &'b mut [u8], n: usize) -> Option<&'b mut [u8]> {
        if n >= WRAP as usize {
            return None;
        }
        let (at, wrap) = self.place(buf.len(), n)?;
        if wrap && buf.len() - (self.write as usize) >= PREFIX {
            let w = self.write as usize;
            buf[w..w + PREFIX].copy_from_slice(&WRAP.to_le_bytes());
        }
        if self.count == 0 {
            self.read = 0;
        }
        buf[at..at + PREFIX].copy_from_slice(&(n as u32).to_le_bytes());
        self.write = (at + PREFIX + n) as u32;
        self.count += 1;
        Some(&mut buf[at + PREFIX..at + PREFIX + n])
    }

    /// The start of the oldest record's bytes and its length.
    fn head(&self, buf: &[u8]) -> Option<(usize, usize)> {
        if self.count == 0 {
            return None;
        }
        let mut r = self.read as usize;
        if buf.len() - r < PREFIX || read_len(buf, r) == WRAP {
            r = 0;
        }
        let n = read_len(buf, r) as usize;
        Some((r + PREFIX, n))
    }

    /// The oldest record.
    pub(crate) fn peek<'b>(&self, buf: &'b [u8]) -> Option<&'b [u8]> {
        self.head(buf).map(|(at, n)| &buf[at..at + n])
    }

    /// Moves the oldest record into `out` when it fits: its length; `Some(0)` (the record
    /// dropped) when it does not fit; `None` when the ring is empty. One lookup of the head
    /// instead of a `peek` and a `pop`.
    pub(crate) fn pop_into(&mut self, buf: &[u8], out: &mut [u8]) -> Option<usize> {
        let (at, n) = self.head(buf)?;
        let copied = match (out.get_mut(..n), buf.get(at..at + n)) {
            (Some(o), Some(rec)) => {
                o.copy_from_slice(rec);
                n
            }
            _ => 0,
        };
        self.read = (at + n) as u32;
        self.count -= 1;
        if self.count == 0 {
            self.read = 0;
            self.write = 0;
        }
        Some(copied)
    }

    /// Drops the oldest record.
    pub(crate) fn pop(&mut self, buf: &[u8]) {
        if let Some((at, n)) = self.head(buf) {
            self.read = (at + n) as u32;
            self.count -= 1;
            if self.count == 0 {
                self.read = 0;
                self.write = 0;
            }
        }
    }
}

fn read_len(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_across_wraps() {
        let mut buf = [0u8; 64];
        let mut ring = Ring::EMPTY;
        let mut next_in = 0u8;
        let mut next_out = 0u8;
        for round in 0..200 {
            let n = (round % 13) as usize + 1;
            while ring.push(&mut buf, &[&[next_in; 13][..n]]) {
                next_in = next_in.wrapping_add(1);
            }
            assert!(!ring.is_empty() || n + 4 > 64);
            // Pop about half.
            for _ in 0..ring.len().div_ceil(2) {
                let rec = ring.peek(&buf).unwrap();
                assert!(rec.iter().all(|&b| b == next_out), "round {round}");
                next_out = next_out.wrapping_add(1);
                ring.pop(&buf);
            }
        }
        while let Some(rec) = ring.peek(&buf) {
            assert!(rec.iter().all(|&b| b == next_out));
            next_out = next_out.wrapping_add(1);
            ring.pop(&buf);
        }
        assert_eq!(next_in, next_out);
        assert!(ring.is_empty());
    }

    #[test]
    fn a_full_ring_refuses() {
        let mut buf = [0u8; 16];
        let mut ring = Ring::EMPTY;
        assert!(ring.push(&mut buf, &[&[1; 12]]));
        assert!(!ring.push(&mut buf, &[&[2; 1]]));
        assert!(!Ring::EMPTY.clone().push(&mut buf, &[&[0; 13]]));
    }
}
