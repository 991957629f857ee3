//! A connection's send and receive buffers: rings over caller storage (RFC 9293 §3.8.6).
//!
//! Both work over any `S: AsRef<[u8]> + AsMut<[u8]>` (`&mut [u8]`, `Vec<u8>`, `Box<[u8]>`,
//! `[u8; N]`); the capacity is the storage's length, any length (not only powers of two).
//! Nothing here allocates, and index math is a conditional subtract, never `%`.
//!
//! - [`SendBuffer`] holds the bytes from `snd_una` on: first sent-but-unacknowledged, then
//!   unsent. The application writes at the tail; the engine reads segments at an offset from
//!   the head ([`SendBuffer::peek`], [`SendBuffer::copy_out`]) and drops acknowledged bytes
//!   ([`SendBuffer::consume`]).
//! - [`RecvBuffer`] holds the bytes the application has not read: first the contiguous,
//!   readable part up to `rcv_nxt`, then, in the same ring, out-of-order bytes whose ranges an
//!   [`Assembler`] tracks (RFC 9293 §3.10.7.4). The engine stores segments with
//!   [`RecvBuffer::write_at`] and advertises [`RecvBuffer::window`].
//!
//! ```
//! use proto_core::tcp::buffer::{RecvBuffer, SendBuffer};
//!
//! let mut tx = SendBuffer::new([0u8; 16]);
//! assert_eq!(tx.write(b"hello world"), 11);
//! let mut segment = [0u8; 5];
//! assert_eq!(tx.copy_out(6, &mut segment), 5); // bytes snd_una+6 .. snd_una+11
//! assert_eq!(&segment, b"world");
//! tx.consume(6); // "hello " acknowledged
//!
//! let mut rx = RecvBuffer::new([0u8; 16]);
//! assert_eq!(rx.write_at(5, b"world"), Ok(0)); // out of order: 5 bytes after rcv_nxt
//! assert_eq!(rx.write_at(0, b"hello"), Ok(10)); // fills the gap: rcv_nxt += 10
//! let mut out = [0u8; 16];
//! assert_eq!(rx.read(&mut out), 10);
//! assert_eq!(&out[..10], b"helloworld");
//! ```

use super::assembler::{Assembler, MAX_RANGES, TooManyRanges};

/// `idx` reduced into `0..cap`, for `idx < 2 * cap`: a conditional subtract instead of `%`.
#[inline(always)]
fn wrap(idx: usize, cap: usize) -> usize {
    if idx >= cap { idx - cap } else { idx }
}

/// The `len` bytes of the ring `buf` that start at index `start` (`start < buf.len()`, or 0),
/// as two slices: up to the end of the storage, then from its beginning.
#[inline]
fn ring_slices(buf: &[u8], start: usize, len: usize) -> (&[u8], &[u8]) {
    let first = len.min(buf.len() - start);
    (&buf[start..start + first], &buf[..len - first])
}

/// Copies `data` into the ring `buf` from index `start` (`start < buf.len()`, or 0), wrapping
/// at most once (`data.len() <= buf.len()`).
#[inline]
fn ring_write(buf: &mut [u8], start: usize, data: &[u8]) {
    let first = data.len().min(buf.len() - start);
    let (head, tail) = data.split_at(first);
    buf[start..start + first].copy_from_slice(head);
    // Most writes do not wrap: no second (library) copy call for nothing.
    if !tail.is_empty() {
        buf[..tail.len()].copy_from_slice(tail);
    }
}

/// Copies the two slices `(a, b)` into `dst`, which holds exactly `a.len() + b.len()` bytes.
#[inline]
fn copy_pair(dst: &mut [u8], a: &[u8], b: &[u8]) {
    let (da, db) = dst.split_at_mut(a.len());
    da.copy_from_slice(a);
    db.copy_from_slice(b);
}

/// The send buffer: the bytes from `snd_una` on, sent-but-unacknowledged then unsent, in a
/// ring over caller storage. See the [module documentation](self).
///
/// Offsets given to [`peek`](Self::peek) and [`copy_out`](Self::copy_out) count from the head,
/// the byte at `snd_una`: the byte at sequence number `snd_una + k` is at offset `k` (the
/// caller accounts for SYN and FIN, which take sequence space but no buffer space).
#[derive(Debug, Clone)]
pub struct SendBuffer<S> {
    storage: S,
    /// Index of the byte at `snd_una`.
    head: usize,
    /// Bytes held.
    len: usize,
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> SendBuffer<S> {
    /// An empty buffer over `storage`, whose length is the capacity.
    #[inline]
    pub fn new(storage: S) -> Self {
        Self {
            storage,
            head: 0,
            len: 0,
        }
    }

    /// Gives the storage back (its contents are unspecified).
    #[inline]
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The storage length: the most bytes the buffer can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.storage.as_ref().len()
    }

    /// Bytes held (unacknowledged and unsent).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room to write: `capacity() - len()`.
    #[inline]
    pub fn free(&self) -> usize {
        self.capacity() - self.len
    }

    /// Appends as much of `data` as fits and returns how many bytes it took.
    #[inline]
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        let cap = self.capacity();
        let tail = wrap(self.head + self.len, cap);
        ring_write(self.storage.as_mut(), tail, &data[..n]);
        self.len += n;
        n
    }

    /// Zero-copy write: hands `f` the first contiguous free region (it may be shorter than
    /// [`free`](Self::free) when the free space wraps; empty when the buffer is full) and
    /// appends the bytes `f` says it wrote, clamped to the region. Returns that count.
    ///
    /// ```
    /// # use proto_core::tcp::buffer::SendBuffer;
    /// let mut tx = SendBuffer::new([0u8; 8]);
    /// let n = tx.write_with(|region| {
    ///     region[..3].copy_from_slice(b"abc");
    ///     3
    /// });
    /// assert_eq!((n, tx.len()), (3, 3));
    /// ```
    #[inline]
    pub fn write_with(&mut self, f: impl FnOnce(&mut [u8]) -> usize) -> usize {
        let cap = self.capacity();
        let tail = wrap(self.head + self.len, cap);
        let region = (cap - self.len).min(cap - tail);
        let n = f(&mut self.storage.as_mut()[tail..tail + region]).min(region);
        self.len += n;
        n
    }

    /// Up to `max` bytes starting `offset` bytes after the head (the byte at `snd_una`), as at
    /// most two slices (the second is non-empty only where the ring wraps). Both are empty when
    /// `offset >= len()`.
    #[inline]
    pub fn peek(&self, offset: usize, max: usize) -> (&[u8], &[u8]) {
        let Some(avail) = self.len.checked_sub(offset) else {
            return (&[], &[]);
        };
        let cap = self.capacity();
        // head < cap and offset <= len <= cap, so head + offset < 2 * cap.
        let start = wrap(self.head + offset, cap);
        ring_slices(self.storage.as_ref(), start, avail.min(max))
    }

    /// Copies `min(dst.len(), len() - offset)` bytes starting `offset` bytes after the head into
    /// `dst` (to build a segment) and returns that count (0 when `offset >= len()`).
    #[inline]
    pub fn copy_out(&self, offset: usize, dst: &mut [u8]) -> usize {
        let (a, b) = self.peek(offset, dst.len());
        let n = a.len() + b.len();
        copy_pair(&mut dst[..n], a, b);
        n
    }

    /// Drops `n` acknowledged bytes from the head (`n` is clamped to `len()`); `snd_una` moved
    /// by `n` data bytes (RFC 9293 §3.10.7.4, the ACK processing of ESTABLISHED).
    #[inline]
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        // An empty ring restarts at index 0, so the next write_with gets the whole storage.
        self.head = if self.len == 0 {
            0
        } else {
            wrap(self.head + n, self.capacity())
        };
    }

    /// Drops every byte.
    #[inline]
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

/// The receive buffer: bytes the application has not read, in a ring over caller storage.
/// See the [module documentation](self).
///
/// The readable part runs from the head to the contiguous end, the byte at `rcv_nxt`. Beyond
/// it, within the window, the ring holds out-of-order bytes whose ranges an [`Assembler`]
/// tracks in absolute stream offsets (bytes since the start of the stream; the head is at
/// the number of bytes ever read). Offsets in this API are relative to `rcv_nxt`.
#[derive(Debug, Clone)]
pub struct RecvBuffer<S> {
    storage: S,
    /// Index of the first readable byte.
    head: usize,
    /// Readable, contiguous bytes.
    len: usize,
    /// Absolute stream offset of the head: the bytes ever read.
    read_offset: u64,
    /// Out-of-order ranges beyond `read_offset + len`, in absolute stream offsets.
    assembler: Assembler,
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> RecvBuffer<S> {
    /// An empty buffer over `storage`, whose length is the capacity.
    #[inline]
    pub fn new(storage: S) -> Self {
        Self {
            storage,
            head: 0,
            len: 0,
            read_offset: 0,
            assembler: Assembler::new(),
        }
    }

    /// Gives the storage back (its contents are unspecified).
    #[inline]
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The storage length: the most bytes the buffer can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.storage.as_ref().len()
    }

    /// Readable, contiguous bytes (in order, up to `rcv_nxt`).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is readable.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The space the receiver can advertise from `rcv_nxt`: `capacity() - len()` (RFC 9293
    /// §3.8.6). Out-of-order bytes lie inside it and do not shrink it. Receiver-side silly
    /// window avoidance (§3.8.6.2.2) is the caller's, on top of this value.
    #[inline]
    pub fn window(&self) -> usize {
        self.capacity() - self.len
    }

    /// Whether any out-of-order data is held beyond `rcv_nxt`.
    #[inline]
    pub fn has_ooo(&self) -> bool {
        !self.assembler.is_empty()
    }

    /// The out-of-order ranges in absolute stream offsets (the head is at the number of bytes
    /// ever read).
    #[inline]
    pub fn assembler(&self) -> &Assembler {
        &self.assembler
    }

    /// Absolute stream offset of the contiguous end (`rcv_nxt` as a byte count).
    #[inline]
    fn contiguous_end(&self) -> u64 {
        self.read_offset + self.len as u64
    }

    /// `abs` as an offset from `rcv_nxt` (the ranges lie within the window, so it fits).
    #[inline]
    fn rel(&self, abs: u64) -> u32 {
        u32::try_from(abs.saturating_sub(self.contiguous_end())).unwrap_or(u32::MAX)
    }

    /// [`write_at`](Self::write_at) at offset 0 of data that fits the window with no
    /// out-of-order data held (the caller checks both: the in-order segment of a bulk
    /// transfer), in fewer steps: the bytes are appended and all of them become readable.
    #[inline]
    pub(crate) fn append_in_order(&mut self, data: &[u8]) {
        debug_assert!(data.len() <= self.window() && self.assembler.is_empty());
        let cap = self.capacity();
        // head < cap and len <= cap, so the sum is below 2 * cap.
        let at = wrap(self.head + self.len, cap);
        ring_write(self.storage.as_mut(), at, data);
        self.len += data.len();
    }

    /// Stores a segment whose first byte is `offset` bytes after the contiguous end
    /// (`rcv_nxt`), and returns how many bytes the contiguous end advanced: the caller adds it
    /// to `rcv_nxt`.
    ///
    /// The caller has trimmed any part before `rcv_nxt` (RFC 9293 §3.10.7.4). Bytes beyond the
    /// window are clipped (never written); a segment wholly beyond it is ignored (`Ok(0)`).
    /// With `offset == 0` the readable part grows by the segment plus any out-of-order ranges
    /// that now join it. With `offset > 0` the bytes are stored and their range recorded; the
    /// result is `Ok(0)`. Overlapping retransmissions are fine: TCP sends the same bytes at the
    /// same sequence numbers.
    ///
    /// # Errors
    ///
    /// [`TooManyRanges`] when an out-of-order segment would need a new range and
    /// [`MAX_RANGES`] are tracked: nothing is stored; the caller drops the segment (RFC 9293
    /// §3.10.7.4 allows it) and the peer retransmits it.
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<usize, TooManyRanges> {
        let cap = self.capacity();
        let window = cap - self.len;
        if offset >= window || data.is_empty() {
            return Ok(0);
        }
        let data = &data[..data.len().min(window - offset)];
        // head < cap and len + offset < cap, so the sum is below 2 * cap.
        let at = wrap(self.head + self.len + offset, cap);
        let end = self.contiguous_end();
        if offset == 0 {
            ring_write(self.storage.as_mut(), at, data);
            let new_end = end + data.len() as u64;
            let advanced = if self.assembler.is_empty() {
                data.len()
            } else {
                // Ranges lie within the window, so the advance fits in it.
                usize::try_from(self.assembler.advance(new_end) - end)
                    .map_or(window, |a| a.min(window))
            };
            self.len += advanced;
            Ok(advanced)
        } else {
            let start = end + offset as u64;
            self.assembler.add(start, start + data.len() as u64)?;
            ring_write(self.storage.as_mut(), at, data);
            Ok(0)
        }
    }

    /// Writes up to `out.len()` SACK blocks as `(start, end)` offsets from `rcv_nxt` (add
    /// `rcv_nxt` to get sequence numbers), the most recently touched range first, then the
    /// others most recent first (RFC 2018 §4), and returns how many it wrote.
    pub fn sack_blocks(&self, out: &mut [(u32, u32)]) -> usize {
        let mut abs = [(0u64, 0u64); MAX_RANGES];
        let want = out.len().min(MAX_RANGES);
        let n = self.assembler.sack_blocks(&mut abs[..want]);
        for (o, &(s, e)) in out.iter_mut().zip(&abs[..n]) {
            *o = (self.rel(s), self.rel(e));
        }
        n
    }

    /// The out-of-order ranges, in increasing order, as `(start, end)` offsets from `rcv_nxt`.
    #[inline]
    pub fn ooo_ranges(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.assembler
            .iter()
            .map(|(s, e)| (self.rel(s), self.rel(e)))
    }

    /// The readable part as at most two slices (the second is non-empty only where the ring
    /// wraps); follow with [`consume`](Self::consume) for a zero-copy read.
    #[inline]
    pub fn peek(&self) -> (&[u8], &[u8]) {
        ring_slices(self.storage.as_ref(), self.head, self.len)
    }

    /// Drops `n` read bytes (clamped to `len()`) from the head, opening the window by `n`.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.read_offset += n as u64;
        // An empty ring restarts at index 0 (longer contiguous reads), unless out-of-order
        // bytes are held at their positions.
        self.head = if self.len == 0 && self.assembler.is_empty() {
            0
        } else {
            wrap(self.head + n, self.capacity())
        };
    }

    /// Copies up to `dst.len()` readable bytes into `dst`, consumes them, and returns the count.
    #[inline]
    pub fn read(&mut self, dst: &mut [u8]) -> usize {
        let (a, b) = self.peek();
        let na = a.len().min(dst.len());
        let nb = b.len().min(dst.len() - na);
        copy_pair(&mut dst[..na + nb], &a[..na], &b[..nb]);
        self.consume(na + nb);
        na + nb
    }

    /// Zero-copy read: hands `f` the first contiguous readable slice (empty when nothing is
    /// readable; shorter than [`len`](Self::len) where the ring wraps) and consumes the bytes
    /// `f` says it used, clamped to the slice. Returns that count.
    #[inline]
    pub fn read_with(&mut self, f: impl FnOnce(&[u8]) -> usize) -> usize {
        let (a, _) = self.peek();
        let n = f(a).min(a.len());
        self.consume(n);
        n
    }

    /// Drops every byte, readable and out-of-order, and restarts the stream offsets at 0.
    #[inline]
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.read_offset = 0;
        self.assembler.clear();
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::rand::Rng;
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::collections::VecDeque;
    use std::vec;
    use std::vec::Vec;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn cat((a, b): (&[u8], &[u8])) -> Vec<u8> {
        let mut v = a.to_vec();
        v.extend_from_slice(b);
        v
    }

    /// A send buffer whose head sits at ring index `head`.
    fn send_at(cap: usize, head: usize) -> SendBuffer<Vec<u8>> {
        SendBuffer {
            storage: vec![0; cap],
            head,
            len: 0,
        }
    }

    /// A receive buffer whose head sits at ring index `head`, `read` bytes into the stream.
    fn recv_at(cap: usize, head: usize, read: u64) -> RecvBuffer<Vec<u8>> {
        RecvBuffer {
            storage: vec![0; cap],
            head,
            len: 0,
            read_offset: read,
            assembler: Assembler::new(),
        }
    }

    #[test]
    fn send_any_storage_type_works() {
        let mut slice = [0u8; 4];
        assert_eq!(SendBuffer::new(&mut slice[..]).write(b"abcdef"), 4);
        assert_eq!(SendBuffer::new(vec![0u8; 5]).capacity(), 5);
        assert_eq!(SendBuffer::new(Box::<[u8]>::from([0u8; 6])).free(), 6);
        assert_eq!(RecvBuffer::new([0u8; 7]).window(), 7);
    }

    #[test]
    fn send_wraparound_at_every_position() {
        for cap in [1, 7, 16] {
            for head in 0..cap {
                for n in 0..=cap {
                    let mut tx = send_at(cap, head);
                    let data = pattern(n);
                    assert_eq!(tx.write(&data), n);
                    assert_eq!((tx.len(), tx.free()), (n, cap - n));
                    for offset in 0..=cap + 1 {
                        for max in 0..=cap + 1 {
                            let want = data.get(offset..).unwrap_or(&[]);
                            let want = &want[..want.len().min(max)];
                            assert_eq!(cat(tx.peek(offset, max)), want, "{cap} {head} {n}");
                            let mut dst = vec![0; max];
                            assert_eq!(tx.copy_out(offset, &mut dst), want.len());
                            assert_eq!(&dst[..want.len()], want);
                        }
                    }
                    for k in 0..=n {
                        let mut t = tx.clone();
                        t.consume(k);
                        assert_eq!(cat(t.peek(0, cap)), &data[k..]);
                        // Refill up to capacity across the wrap.
                        let more = pattern(cap);
                        assert_eq!(t.write(&more), k + cap - n);
                        let mut want = data[k..].to_vec();
                        want.extend_from_slice(&more[..k + cap - n]);
                        assert_eq!(cat(t.peek(0, cap)), want);
                    }
                }
            }
        }
    }

    #[test]
    fn send_partial_write_when_nearly_full() {
        let mut tx = SendBuffer::new([0u8; 7]);
        assert_eq!(tx.write(b"abcde"), 5);
        assert_eq!(tx.write(b"fghij"), 2);
        assert_eq!(tx.write(b"k"), 0);
        assert_eq!(cat(tx.peek(0, 10)), b"abcdefg");
    }

    #[test]
    fn send_write_with_gets_first_contiguous_region() {
        let mut tx = send_at(7, 5);
        tx.write(b"ab"); // occupies indices 5 and 6; free space is 0..5
        let n = tx.write_with(|r| {
            assert_eq!(r.len(), 5);
            r[..3].copy_from_slice(b"cde");
            3
        });
        assert_eq!(n, 3);
        assert_eq!(cat(tx.peek(0, 7)), b"abcde");

        let mut tx = send_at(7, 3);
        tx.write(b"x"); // tail at 4: the region is 4..7, not the wrapped 0..3
        tx.write_with(|r| {
            assert_eq!(r.len(), 3);
            0
        });
    }

    #[test]
    fn send_write_with_clamps_count_to_region() {
        let mut tx = SendBuffer::new([0u8; 4]);
        assert_eq!(tx.write_with(|_| 100), 4);
        assert_eq!(tx.len(), 4);
        assert_eq!(
            tx.write_with(|r| {
                assert!(r.is_empty());
                5
            }),
            0
        );
    }

    #[test]
    fn send_peek_across_wrap_gives_two_slices() {
        let mut tx = send_at(8, 6);
        tx.write(b"abcde");
        assert_eq!(tx.peek(0, 8), (&b"ab"[..], &b"cde"[..]));
        assert_eq!(tx.peek(1, 3), (&b"b"[..], &b"cd"[..]));
        assert_eq!(tx.peek(2, 8), (&b"cde"[..], &b""[..]));
    }

    #[test]
    fn send_peek_past_end_is_empty() {
        let mut tx = SendBuffer::new([0u8; 8]);
        tx.write(b"abc");
        assert_eq!(tx.peek(3, 8), (&b""[..], &b""[..]));
        assert_eq!(tx.peek(100, 8), (&b""[..], &b""[..]));
        assert_eq!(tx.copy_out(5, &mut [0; 4]), 0);
    }

    // RFC 9293 §3.10.7.4: an ACK for more than was sent is the caller's to reject; the buffer
    // clamps.
    #[test]
    fn send_consume_clamps_to_len() {
        let mut tx = SendBuffer::new([0u8; 8]);
        tx.write(b"abc");
        tx.consume(10);
        assert!(tx.is_empty());
        assert_eq!(tx.free(), 8);
    }

    #[test]
    fn send_clear_empties() {
        let mut tx = send_at(8, 5);
        tx.write(b"abcdef");
        tx.clear();
        assert!(tx.is_empty());
        assert_eq!(tx.write_with(|r| r.len()), 8);
    }

    #[test]
    fn zero_capacity_buffers_accept_nothing() {
        let mut tx = SendBuffer::new([0u8; 0]);
        assert_eq!(tx.write(b"a"), 0);
        assert_eq!(tx.write_with(|r| r.len() + 1), 0);
        assert_eq!(tx.peek(0, 1), (&b""[..], &b""[..]));
        let mut rx = RecvBuffer::new([0u8; 0]);
        assert_eq!(rx.window(), 0);
        assert_eq!(rx.write_at(0, b"a"), Ok(0));
        assert_eq!(rx.read(&mut [0; 1]), 0);
    }

    #[test]
    fn recv_wraparound_at_every_position() {
        for cap in [1, 7, 16] {
            for head in 0..cap {
                for split in 0..cap {
                    let mut rx = recv_at(cap, head, 1000);
                    let data = pattern(cap);
                    // Out of order from `split`, then the gap: RFC 9293 §3.10.7.4.
                    if split > 0 {
                        assert_eq!(rx.write_at(split, &data[split..]), Ok(0));
                        let ooo: Vec<_> = rx.ooo_ranges().collect();
                        assert_eq!(ooo, [(split as u32, cap as u32)]);
                    }
                    let gap = if split > 0 { &data[..split] } else { &data[..] };
                    assert_eq!(rx.write_at(0, gap), Ok(cap));
                    assert!(!rx.has_ooo());
                    assert_eq!((rx.len(), rx.window()), (cap, 0));
                    assert_eq!(cat(rx.peek()), data);
                    // Read in two steps, then write and read again across the wrap.
                    let mut out = vec![0; split];
                    assert_eq!(rx.read(&mut out), split);
                    assert_eq!(out, &data[..split]);
                    assert_eq!(rx.window(), split);
                    let more = pattern(split + 3);
                    assert_eq!(rx.write_at(0, &more), Ok(split));
                    let mut want = data[split..].to_vec();
                    want.extend_from_slice(&more[..split]);
                    let mut out = vec![0; cap + 1];
                    assert_eq!(rx.read(&mut out), cap);
                    assert_eq!(&out[..cap], want);
                    assert!(rx.is_empty());
                }
            }
        }
    }

    // RFC 9293 §3.10.7.4: out-of-order segments are held and delivered once the gap fills.
    #[test]
    fn recv_out_of_order_then_gap_fill_delivers_in_order() {
        let mut rx = RecvBuffer::new([0u8; 16]);
        assert_eq!(rx.write_at(8, b"ij"), Ok(0));
        assert_eq!(rx.write_at(4, b"efg"), Ok(0));
        assert_eq!(rx.write_at(3, b"d"), Ok(0));
        assert!(rx.has_ooo());
        assert_eq!(rx.len(), 0);
        assert_eq!(rx.window(), 16);
        assert_eq!(rx.ooo_ranges().collect::<Vec<_>>(), [(3, 7), (8, 10)]);
        assert_eq!(rx.write_at(0, b"abc"), Ok(7));
        assert_eq!(rx.ooo_ranges().collect::<Vec<_>>(), [(1, 3)]);
        assert_eq!(rx.write_at(0, b"h"), Ok(3));
        assert!(!rx.has_ooo());
        let mut out = [0u8; 16];
        assert_eq!(rx.read(&mut out), 10);
        assert_eq!(&out[..10], b"abcdefghij");
    }

    #[test]
    fn recv_overlapping_retransmits_are_harmless() {
        let mut rx = RecvBuffer::new([0u8; 16]);
        let data = b"0123456789";
        assert_eq!(rx.write_at(4, &data[4..8]), Ok(0));
        assert_eq!(rx.write_at(2, &data[2..6]), Ok(0));
        assert_eq!(rx.write_at(6, &data[6..10]), Ok(0));
        assert_eq!(rx.write_at(4, &data[4..8]), Ok(0));
        assert_eq!(rx.ooo_ranges().collect::<Vec<_>>(), [(2, 10)]);
        assert_eq!(rx.write_at(0, &data[..5]), Ok(10));
        assert_eq!(cat(rx.peek()), data);
        // A retransmission of bytes already received in order is trimmed by the caller to
        // what is new; here nothing is new beyond rcv_nxt.
        assert_eq!(rx.write_at(0, b""), Ok(0));
        assert_eq!(rx.len(), 10);
    }

    // RFC 9293 §3.8.6, §3.10.7.4: bytes beyond the advertised window are not kept.
    #[test]
    fn recv_clips_at_window() {
        let mut rx = RecvBuffer::new([0u8; 8]);
        assert_eq!(rx.write_at(0, b"abcdefghij"), Ok(8));
        assert_eq!(rx.window(), 0);
        assert_eq!(rx.write_at(0, b"k"), Ok(0));
        let mut out = [0u8; 3];
        rx.read(&mut out);
        assert_eq!(rx.window(), 3);
        assert_eq!(rx.write_at(1, b"lmnop"), Ok(0));
        assert_eq!(rx.ooo_ranges().collect::<Vec<_>>(), [(1, 3)]);
        assert_eq!(rx.write_at(0, b"klmno"), Ok(3));
        assert_eq!(cat(rx.peek()), b"defghklm");
    }

    #[test]
    fn recv_ignores_data_wholly_beyond_window() {
        let mut rx = RecvBuffer::new([0u8; 8]);
        assert_eq!(rx.write_at(8, b"abc"), Ok(0));
        assert_eq!(rx.write_at(usize::MAX, b"abc"), Ok(0));
        assert!(!rx.has_ooo());
        rx.write_at(0, b"abcd").unwrap();
        assert_eq!(rx.write_at(4, b"x"), Ok(0));
        assert!(!rx.has_ooo());
    }

    // RFC 9293 §3.10.7.4: out-of-order data beyond the bound on tracked gaps is dropped.
    #[test]
    fn recv_refuses_segment_needing_range_beyond_bound() {
        let mut rx = RecvBuffer::new(vec![0u8; 200]);
        let data = pattern(100);
        for i in 0..MAX_RANGES {
            let at = 2 * i + 1;
            assert_eq!(rx.write_at(at, &data[at..at + 1]), Ok(0));
        }
        let at = 2 * MAX_RANGES + 1;
        assert_eq!(rx.write_at(at, &data[at..at + 1]), Err(TooManyRanges));
        assert_eq!(rx.ooo_ranges().count(), MAX_RANGES);
        assert_eq!(
            rx.ooo_ranges().last(),
            Some((2 * MAX_RANGES as u32 - 1, 2 * MAX_RANGES as u32))
        );
        // A segment that merges is still taken; the gap fill joins the first range.
        assert_eq!(rx.write_at(2, &data[2..3]), Ok(0));
        assert_eq!(rx.write_at(0, &data[..1]), Ok(4));
        assert_eq!(rx.ooo_ranges().count(), MAX_RANGES - 2);
        assert_eq!(rx.write_at(0, &data[4..100]), Ok(96));
        assert!(!rx.has_ooo());
        assert_eq!(cat(rx.peek()), data);
    }

    // RFC 2018 §4: most recent block first; offsets relative to rcv_nxt.
    #[test]
    fn recv_sack_blocks_relative_to_rcv_nxt_most_recent_first() {
        let mut rx = RecvBuffer::new([0u8; 32]);
        rx.write_at(0, b"abcd").unwrap();
        rx.consume(2); // reads do not move rcv_nxt
        rx.write_at(10, b"kl").unwrap();
        rx.write_at(4, b"ef").unwrap();
        rx.write_at(20, b"uv").unwrap();
        let mut out = [(0u32, 0u32); 4];
        assert_eq!(rx.sack_blocks(&mut out), 3);
        assert_eq!(out[..3], [(20, 22), (4, 6), (10, 12)]);
        let mut one = [(0u32, 0u32); 1];
        assert_eq!(rx.sack_blocks(&mut one), 1);
        assert_eq!(one, [(20, 22)]);
        rx.write_at(0, b"ab").unwrap(); // rcv_nxt moves by 2; [4, 6) is not yet joined
        assert_eq!(rx.sack_blocks(&mut out), 3);
        assert_eq!(out[..3], [(18, 20), (2, 4), (8, 10)]);
    }

    #[test]
    fn recv_peek_and_consume_across_wrap() {
        let mut rx = recv_at(8, 6, 0);
        rx.write_at(0, b"abcde").unwrap();
        assert_eq!(rx.peek(), (&b"ab"[..], &b"cde"[..]));
        rx.consume(3);
        assert_eq!(rx.peek(), (&b"de"[..], &b""[..]));
        rx.consume(99);
        assert!(rx.is_empty());
        assert_eq!(rx.window(), 8);
    }

    #[test]
    fn recv_read_with_gets_first_slice_and_clamps() {
        let mut rx = recv_at(8, 6, 0);
        rx.write_at(0, b"abcde").unwrap();
        let n = rx.read_with(|s| {
            assert_eq!(s, b"ab");
            100
        });
        assert_eq!(n, 2);
        assert_eq!(rx.read_with(|s| s.len() - 1), 2);
        assert_eq!(cat(rx.peek()), b"e");
    }

    #[test]
    fn recv_partial_read() {
        let mut rx = RecvBuffer::new([0u8; 8]);
        rx.write_at(0, b"abcdef").unwrap();
        let mut out = [0u8; 4];
        assert_eq!(rx.read(&mut out), 4);
        assert_eq!(&out, b"abcd");
        assert_eq!(rx.read(&mut out), 2);
        assert_eq!(&out[..2], b"ef");
        assert_eq!(rx.read(&mut out), 0);
    }

    #[test]
    fn recv_keeps_ooo_bytes_in_place_when_readable_part_empties() {
        let mut rx = recv_at(8, 5, 0);
        rx.write_at(0, b"ab").unwrap();
        rx.write_at(1, b"de").unwrap();
        rx.consume(2);
        assert_eq!(rx.write_at(0, b"c"), Ok(3));
        assert_eq!(cat(rx.peek()), b"cde");
    }

    #[test]
    fn recv_clear_forgets_everything() {
        let mut rx = RecvBuffer::new([0u8; 8]);
        rx.write_at(0, b"ab").unwrap();
        rx.write_at(4, b"x").unwrap();
        rx.clear();
        assert!(rx.is_empty() && !rx.has_ooo());
        assert_eq!(rx.window(), 8);
    }

    #[derive(Debug, Clone)]
    enum SendOp {
        Write(Vec<u8>),
        WriteWith(usize, u8),
        Consume(usize),
        Peek(usize, usize),
    }

    fn send_op() -> impl Strategy<Value = SendOp> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..24).prop_map(SendOp::Write),
            (0usize..24, any::<u8>()).prop_map(|(n, b)| SendOp::WriteWith(n, b)),
            (0usize..24).prop_map(SendOp::Consume),
            (0usize..24, 0usize..24).prop_map(|(o, m)| SendOp::Peek(o, m)),
        ]
    }

    proptest! {
        #[test]
        fn send_matches_vecdeque_model(
            cap in 1usize..20,
            ops in proptest::collection::vec(send_op(), 1..200),
        ) {
            let mut tx = SendBuffer::new(vec![0u8; cap]);
            let mut model = VecDeque::new();
            for op in ops {
                match op {
                    SendOp::Write(d) => {
                        let n = tx.write(&d);
                        prop_assert_eq!(n, d.len().min(cap - model.len()));
                        model.extend(&d[..n]);
                    }
                    SendOp::WriteWith(want, b) => {
                        let mut region = 0;
                        let n = tx.write_with(|r| {
                            region = r.len();
                            r.iter_mut().take(want).for_each(|x| *x = b);
                            want
                        });
                        prop_assert!(region <= cap - model.len());
                        prop_assert!(region > 0 || model.len() == cap);
                        prop_assert_eq!(n, want.min(region));
                        model.extend(std::iter::repeat_n(b, n));
                    }
                    SendOp::Consume(n) => {
                        tx.consume(n);
                        model.drain(..n.min(model.len()));
                    }
                    SendOp::Peek(o, m) => {
                        let want: Vec<u8> = model.iter().copied().skip(o).take(m).collect();
                        prop_assert_eq!(cat(tx.peek(o, m)), want.clone());
                        let mut dst = vec![0; m];
                        let n = tx.copy_out(o, &mut dst);
                        prop_assert_eq!(&dst[..n], &want[..]);
                    }
                }
                prop_assert_eq!(tx.len(), model.len());
                prop_assert_eq!(tx.free(), cap - model.len());
                prop_assert_eq!(cat(tx.peek(0, cap)), model.iter().copied().collect::<Vec<_>>());
            }
        }

        // RFC 9293 §3.10.7.4: whatever the order and duplication of segments, the application
        // reads exactly the stream.
        #[test]
        fn recv_reads_back_stream_from_shuffled_duplicated_segments(
            // Large capacities with small segments reach the MAX_RANGES bound.
            cap in 1usize..160,
            stream in proptest::collection::vec(any::<u8>(), 0..400),
            max_seg in 1u64..20,
            seed in any::<u64>(),
        ) {
            let mut rng = Rng::new(seed);
            let mut segs = Vec::new();
            let mut at = 0;
            while at < stream.len() {
                let end = (at + 1 + rng.below(max_seg) as usize).min(stream.len());
                segs.push((at, end));
                at = end;
            }
            let mut rx = RecvBuffer::new(vec![0u8; cap]);
            let mut rcv_nxt = 0usize;
            let mut out: Vec<u8> = Vec::new();
            // Each round moves rcv_nxt by at least one byte: the bound.
            for _round in 0..=stream.len() + 1 {
                if out.len() == stream.len() {
                    break;
                }
                let mut order: Vec<usize> = (0..segs.len()).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i as u64 + 1) as usize);
                }
                for _ in 0..rng.below(segs.len() as u64 + 1) {
                    order.push(rng.below(segs.len() as u64) as usize);
                }
                for i in order {
                    let (s, e) = segs[i];
                    if e <= rcv_nxt {
                        continue;
                    }
                    let s = s.max(rcv_nxt);
                    match rx.write_at(s - rcv_nxt, &stream[s..e]) {
                        Ok(adv) => rcv_nxt += adv,
                        Err(TooManyRanges) => {
                            prop_assert_eq!(rx.ooo_ranges().count(), MAX_RANGES);
                        }
                    }
                    prop_assert_eq!(rx.len(), rcv_nxt - out.len());
                    prop_assert_eq!(rx.window(), cap - rx.len());
                    for (a, b) in rx.ooo_ranges() {
                        prop_assert!(0 < a && a < b && b as usize <= rx.window());
                    }
                    match rng.below(4) {
                        0 => {
                            let mut dst = vec![0; rng.below(cap as u64 + 1) as usize];
                            let n = rx.read(&mut dst);
                            out.extend_from_slice(&dst[..n]);
                        }
                        1 => {
                            let k = rng.below(cap as u64 + 1) as usize;
                            rx.read_with(|s| {
                                let n = k.min(s.len());
                                out.extend_from_slice(&s[..n]);
                                n
                            });
                        }
                        _ => {}
                    }
                    prop_assert_eq!(&out[..], &stream[..out.len()]);
                }
                let (a, b) = rx.peek();
                let n = a.len() + b.len();
                out.extend_from_slice(a);
                out.extend_from_slice(b);
                rx.consume(n);
                prop_assert_eq!(&out[..], &stream[..out.len()]);
            }
            prop_assert_eq!(out, stream);
        }
    }
}
