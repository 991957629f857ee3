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
    buf[..tail.len()].copy_from_slice(tail);
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
