//! An in-memory wire between two links, for tests and benchmarks.
//!
//! Each direction is a bounded queue of frames (a [`FrameBatch`] under a mutex, with a
//! [`Notify`] for the receiver). Receiving swaps the whole queue with the caller's batch, so
//! frames are copied once (on send) and the two arenas trade places instead of being
//! reallocated. A frame sent into a full queue, or toward an end that was dropped, is dropped
//! and counted, as a wire would.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::{FrameBatch, Link};

/// One direction of the wire.
#[derive(Debug)]
struct Queue {
    frames: Mutex<FrameBatch>,
    notify: Notify,
    /// The sending end was dropped.
    closed: AtomicBool,
    /// The receiving end was dropped.
    deaf: AtomicBool,
    dropped: AtomicU64,
    sent: AtomicU64,
}

impl Queue {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            frames: Mutex::new(FrameBatch::new()),
            notify: Notify::new(),
            closed: AtomicBool::new(false),
            deaf: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        })
    }
}

/// One end of an in-memory wire made by [`pair`].
#[derive(Debug)]
pub struct PipeLink {
    rx: Arc<Queue>,
    tx: Arc<Queue>,
    capacity: usize,
    mtu: usize,
}

/// Two connected ends: what one sends, the other receives. Each direction holds at most
/// `capacity` frames; the MTU is 1500.
pub fn pair(capacity: usize) -> (PipeLink, PipeLink) {
    let ab = Queue::new();
    let ba = Queue::new();
    let capacity = capacity.max(1);
    (
        PipeLink {
            rx: ba.clone(),
            tx: ab.clone(),
            capacity,
            mtu: 1500,
        },
        PipeLink {
            rx: ab,
            tx: ba,
            capacity,
            mtu: 1500,
        },
    )
}

/// Counters of one end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipeStats {
    /// Frames this end sent that were queued for the other end.
    pub sent: u64,
    /// Frames this end sent that were dropped (queue full, or the other end gone).
    pub dropped: u64,
}

impl PipeLink {
    /// Sets the MTU this end reports (frames are never checked against it).
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }

    /// What this end sent and dropped.
    pub fn stats(&self) -> PipeStats {
        PipeStats {
            sent: self.tx.sent.load(Ordering::Relaxed),
            dropped: self.tx.dropped.load(Ordering::Relaxed),
        }
    }

    /// Takes every queued frame into `out` (cleared first) without waiting; false when there
    /// was none.
    pub fn try_recv_batch(&mut self, out: &mut FrameBatch) -> bool {
        out.clear();
        let mut q = self.rx.frames.lock().unwrap_or_else(|e| e.into_inner());
        if q.is_empty() {
            return false;
        }
        std::mem::swap(&mut *q, out);
        true
    }

    /// Sends one frame (a convenience over [`Link::send_batch`]).
    pub fn send_frame(&mut self, frame: &[u8]) {
        self.push(std::iter::once(frame));
    }

    fn push<'a>(&mut self, frames: impl Iterator<Item = &'a [u8]>) {
        if self.tx.deaf.load(Ordering::Relaxed) {
            let n = frames.count() as u64;
            self.tx.dropped.fetch_add(n, Ordering::Relaxed);
            return;
        }
        let (mut sent, mut dropped) = (0, 0);
        {
            let mut q = self.tx.frames.lock().unwrap_or_else(|e| e.into_inner());
            for f in frames {
                if q.len() >= self.capacity {
                    dropped += 1;
                } else {
                    q.push(f);
                    sent += 1;
                }
            }
        }
        self.tx.sent.fetch_add(sent, Ordering::Relaxed);
        self.tx.dropped.fetch_add(dropped, Ordering::Relaxed);
        if sent > 0 {
            self.tx.notify.notify_one();
        }
    }
}

impl Drop for PipeLink {
    fn drop(&mut self) {
        self.tx.closed.store(true, Ordering::Relaxed);
        self.tx.notify.notify_one();
        self.rx.deaf.store(true, Ordering::Relaxed);
    }
}

impl Link for PipeLink {
    async fn recv_batch(&mut self, out: &mut FrameBatch) -> io::Result<()> {
        loop {
            // Frames are only taken in the poll that returns, so dropping this future loses
            // nothing (cancel safety). A permit stored by `notify_one` before we wait makes
            // the wait return at once, so a frame pushed between the look and the wait is
            // not missed.
            if self.try_recv_batch(out) {
                return Ok(());
            }
            if self.rx.closed.load(Ordering::Relaxed) {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "pipe: the other end was dropped",
                ));
            }
            self.rx.notify.notified().await;
        }
    }

    async fn send_batch(&mut self, frames: &FrameBatch) -> io::Result<()> {
        self.push(frames.iter());
        Ok(())
    }

    fn mtu(&self) -> usize {
        self.mtu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_cross_in_order_and_overflow_is_dropped() {
        let (mut a, mut b) = pair(2);
        let mut batch = FrameBatch::new();
        batch.push(b"one");
        batch.push(b"two");
        batch.push(b"three");
        a.send_batch(&batch).await.unwrap();
        assert_eq!(
            a.stats(),
            PipeStats {
                sent: 2,
                dropped: 1
            }
        );
        let mut out = FrameBatch::new();
        b.recv_batch(&mut out).await.unwrap();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![&b"one"[..], b"two"]);
        assert!(!b.try_recv_batch(&mut out));
        b.send_frame(b"back");
        a.recv_batch(&mut out).await.unwrap();
        assert_eq!(out.get(0), Some(&b"back"[..]));
        drop(a);
        let e = b.recv_batch(&mut out).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        b.send_frame(b"lost");
        assert_eq!(b.stats().dropped, 1);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_send() {
        let (mut a, mut b) = pair(16);
        let t = tokio::spawn(async move {
            let mut out = FrameBatch::new();
            b.recv_batch(&mut out).await.unwrap();
            out.get(0).map(<[u8]>::to_vec)
        });
        tokio::task::yield_now().await;
        a.send_frame(b"hi");
        assert_eq!(t.await.unwrap(), Some(b"hi".to_vec()));
    }
}
