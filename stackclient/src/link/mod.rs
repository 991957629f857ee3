//! Links: how Ethernet frames travel between the stack and the world.
//!
//! A [`Link`] moves frames in batches ([`FrameBatch`]: one byte arena plus frame ends, reused
//! from call to call, so the steady state allocates nothing per frame). Implementations:
//! [`pipe`] (an in-memory wire between two stacks, for tests and benchmarks), [`tap`]
//! (a Linux TAP device, needs CAP_NET_ADMIN) and [`http`] (tapd's HTTP interface, no
//! privilege); [`observe`] wraps any of them to capture (`--pcap`) and log (`-v`) frames.

use std::future::Future;
use std::io;

use proto_core::stack::Segmentation;

pub mod http;
pub mod observe;
pub mod pipe;
pub mod tap;

/// A reusable buffer of Ethernet frames: one byte arena and the end offset of each frame.
///
/// Clearing keeps the capacity, so a batch that is cleared and refilled stops allocating once
/// it has grown to the largest batch it carries.
#[derive(Debug, Default)]
pub struct FrameBatch {
    /// The arena; `bytes[..used]` holds the frames. Its length only grows (it is zeroed once),
    /// so [`push_with`](Self::push_with) can hand out room without re-zeroing it.
    bytes: Vec<u8>,
    used: usize,
    ends: Vec<usize>,
    /// How each frame must be cut (TCP segmentation offload), `None` for most.
    segs: Vec<Option<Segmentation>>,
}

/// A copy of the frames only (the arena's room beyond them is not copied: a batch of one
/// small frame in a 4 MiB arena clones in a few bytes).
impl Clone for FrameBatch {
    fn clone(&self) -> Self {
        Self {
            bytes: self.bytes[..self.used].to_vec(),
            used: self.used,
            ends: self.ends.clone(),
            segs: self.segs.clone(),
        }
    }
}

impl FrameBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `frames` frames of `frame_len` bytes.
    pub fn with_capacity(frames: usize, frame_len: usize) -> Self {
        Self {
            bytes: vec![0; frames * frame_len],
            used: 0,
            ends: Vec::with_capacity(frames),
            segs: Vec::with_capacity(frames),
        }
    }

    /// Forgets every frame (the capacity stays).
    pub fn clear(&mut self) {
        self.used = 0;
        self.ends.clear();
        self.segs.clear();
    }

    /// The number of frames.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of all frames together.
    pub fn total_bytes(&self) -> usize {
        self.used
    }

    /// Appends a copy of `frame`.
    pub fn push(&mut self, frame: &[u8]) {
        self.push_with(frame.len(), |buf| {
            buf.copy_from_slice(frame);
            frame.len()
        });
    }

    /// Appends a frame written in place: `f` gets `max` bytes of room and returns the frame's
    /// length (at most `max`; 0 appends nothing). Returns that length.
    pub fn push_with(&mut self, max: usize, f: impl FnOnce(&mut [u8]) -> usize) -> usize {
        self.push_segmented(max, |buf| (f(buf), None))
    }

    /// [`push_with`](Self::push_with) for a frame that may need cutting by the link (TCP
    /// segmentation offload): `f` also returns how.
    pub fn push_segmented(
        &mut self,
        max: usize,
        f: impl FnOnce(&mut [u8]) -> (usize, Option<Segmentation>),
    ) -> usize {
        let need = self.used + max;
        if self.bytes.len() < need {
            self.bytes.resize(need.max(self.bytes.len() * 2), 0);
        }
        let (n, seg) = f(&mut self.bytes[self.used..need]);
        let n = n.min(max);
        if n > 0 {
            self.used += n;
            self.ends.push(self.used);
            self.segs.push(seg);
        }
        n
    }

    /// Frame `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }

    /// The frames in order, each with how the link must cut it (`None`: as it is).
    pub fn iter_segmented(&self) -> impl Iterator<Item = (&[u8], Option<Segmentation>)> + '_ {
        self.iter().zip(self.segs.iter().copied())
    }

    /// The frames in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let f = &self.bytes[start..end];
            start = end;
            f
        })
    }
}

/// A frame transport with batch send and receive.
///
/// The driver calls [`recv_batch`](Self::recv_batch) inside a `select!` with other wake-up
/// sources, so it must be **cancel-safe**: when its future is dropped before it completes, no
/// frame may be lost (frames are taken from the source only in the poll that returns
/// `Ready`). [`send_batch`](Self::send_batch) is always awaited to completion.
pub trait Link: Send + 'static {
    /// Waits until at least one frame has arrived, then appends to `out` (cleared first) every
    /// frame that is ready without waiting further. An error ends the driver (the link is
    /// gone).
    fn recv_batch<'a>(
        &'a mut self,
        out: &'a mut FrameBatch,
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// Sends every frame of `frames`. A frame the medium drops (a full queue) is not an
    /// error, as on a wire; an error means the link is unusable.
    fn send_batch<'a>(
        &'a mut self,
        frames: &'a FrameBatch,
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// The link's MTU: the largest IP packet an Ethernet frame on it carries.
    fn mtu(&self) -> usize;

    /// TCP segmentation offload: the largest IP packet the link takes in a frame that
    /// [`send_batch`](Self::send_batch) cuts into MTU-sized TCP segments itself (see
    /// [`FrameBatch::iter_segmented`]). 0 (the default): none, every frame fits the MTU.
    fn tso(&self) -> usize {
        0
    }

    /// True (once) when the link came back after an outage in which the other side may have
    /// changed (tapd restarted with a new TAP device and MAC): the driver then forgets its
    /// neighbours and resolves them again. Links that cannot tell say false.
    fn reconnected(&mut self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_keeps_frames_apart_and_reuses_its_arena() {
        let mut b = FrameBatch::with_capacity(2, 4);
        b.push(b"abc");
        assert_eq!(
            b.push_with(10, |buf| {
                buf[..2].copy_from_slice(b"xy");
                2
            }),
            2
        );
        assert_eq!(b.push_with(5, |_| 0), 0);
        b.push(b"");
        assert_eq!(b.len(), 2);
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![&b"abc"[..], b"xy"]);
        assert_eq!(b.get(1), Some(&b"xy"[..]));
        assert_eq!(b.get(2), None);
        assert_eq!(b.total_bytes(), 5);
        let cap = b.bytes.len();
        b.clear();
        assert!(b.is_empty());
        b.push(b"1234");
        assert_eq!(b.bytes.len(), cap);
        assert_eq!(b.get(0), Some(&b"1234"[..]));
    }
}
