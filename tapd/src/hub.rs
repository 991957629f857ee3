//! The daemon's shared state: the bounded receive queue, the link to the device, the capture
//! broadcast and the counters. The HTTP handlers and the device reader meet here.

pub use proto_core::pcapng::Direction;
use std::collections::VecDeque;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use proto_core::stack::Segmentation;
use proto_core::wire::ethernet::EthernetAddress;
use proto_core::wire::ipv4::Ipv4Cidr;
use serde::Serialize;
use tokio::sync::{Notify, broadcast, watch};

use crate::body::FrameBatch;
use crate::dhcp::DhcpResponder;

/// How many frames the capture ring holds for each `/pcap` viewer before a slow one loses the
/// oldest (counted in [`StatsSnapshot::pcap_dropped`]).
pub const CAPTURE_RING: usize = 4096;

/// However long the queue is in frames, the frames it holds never add up to more than this
/// many bytes (256 MiB); past it the oldest are dropped as when the queue is full.
pub const QUEUE_MAX_BYTES: usize = 256 << 20;

/// The receive queue: frames oldest first, and the bytes they hold.
#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Bytes>,
    bytes: usize,
}

impl Queue {
    fn pop(&mut self) -> Option<Bytes> {
        let f = self.frames.pop_front()?;
        self.bytes -= f.len();
        Some(f)
    }
}

/// Where frames from HTTP clients go: the TAP device, or a test double.
pub trait Link: Send + Sync + 'static {
    /// Writes one Ethernet frame without blocking. `ErrorKind::WouldBlock` means the device is
    /// momentarily full; any other error is the device's.
    fn send(&self, frame: &[u8]) -> io::Result<()>;

    /// TCP segmentation offload: the largest IP packet of a frame the link cuts into
    /// MTU-sized TCP segments ([`send_segmented`](Self::send_segmented)); 0 (the default):
    /// none.
    fn tso(&self) -> usize {
        0
    }

    /// Writes one frame, cut as `seg` says when it is `Some` (only offered when
    /// [`tso`](Self::tso) is not 0).
    fn send_segmented(&self, frame: &[u8], seg: Option<Segmentation>) -> io::Result<()> {
        match seg {
            None => self.send(frame),
            Some(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this link does not segment frames",
            )),
        }
    }
}

/// What the daemon serves, fixed at start-up.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The device's MTU.
    pub mtu: u16,
    /// The device's address and prefix.
    pub prefix: Ipv4Cidr,
    /// The device's MAC address.
    pub hardware_addr: EthernetAddress,
    /// The receive queue's length in frames (at least 1).
    pub queue_len: usize,
    /// When set, every request needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// The device's name, written as the pcapng interface name of `/pcap?format=pcapng`.
    pub if_name: String,
}

/// One frame seen on the link, for `/pcap`.
#[derive(Debug, Clone)]
pub struct Captured {
    /// When it was read from or written to the device.
    pub at: SystemTime,
    /// The frame.
    pub frame: Bytes,
    /// Inbound: read from the device (sent by the kernel); outbound: written to it.
    pub direction: Direction,
}

/// The counters `GET /stats` reports.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames read from the device (kernel to clients).
    pub frames_from_tap: AtomicU64,
    /// Bytes of those frames.
    pub bytes_from_tap: AtomicU64,
    /// Frames written to the device (clients to kernel).
    pub frames_to_tap: AtomicU64,
    /// Bytes of those frames.
    pub bytes_to_tap: AtomicU64,
    /// Frames handed to a `GET /recv`.
    pub frames_delivered: AtomicU64,
    /// Frames dropped from the receive queue because it was full (the oldest go first).
    pub queue_dropped: AtomicU64,
    /// Requests answered with a 4xx status.
    pub bad_requests: AtomicU64,
    /// Writes to the device that failed.
    pub tap_write_errors: AtomicU64,
    /// Reads from the device that failed.
    pub tap_read_errors: AtomicU64,
    /// `/pcap` viewers connected now.
    pub pcap_viewers: AtomicU64,
    /// Frames `/pcap` viewers lost because they read too slowly.
    pub pcap_dropped: AtomicU64,
    /// DHCP replies made by `--dhcp` and queued for the clients.
    pub dhcp_replies: AtomicU64,
}

/// A point-in-time copy of [`Stats`], as `GET /stats` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StatsSnapshot {
    /// Frames read from the device (kernel to clients).
    pub frames_from_tap: u64,
    /// Bytes of those frames.
    pub bytes_from_tap: u64,
    /// Frames written to the device (clients to kernel).
    pub frames_to_tap: u64,
    /// Bytes of those frames.
    pub bytes_to_tap: u64,
    /// Frames handed to a `GET /recv`.
    pub frames_delivered: u64,
    /// Frames waiting in the receive queue now.
    pub queue_depth: u64,
    /// The receive queue's length.
    pub queue_capacity: u64,
    /// Frames dropped because the receive queue was full.
    pub queue_dropped: u64,
    /// Requests answered with a 4xx status.
    pub bad_requests: u64,
    /// Writes to the device that failed.
    pub tap_write_errors: u64,
    /// Reads from the device that failed.
    pub tap_read_errors: u64,
    /// `/pcap` viewers connected now.
    pub pcap_viewers: u64,
    /// Frames `/pcap` viewers lost because they read too slowly.
    pub pcap_dropped: u64,
    /// DHCP replies made by `--dhcp` and queued for the clients (0 without `--dhcp`).
    #[serde(default)]
    pub dhcp_replies: u64,
}

/// Adds to a counter.
pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// The shared state of one daemon.
pub struct Hub {
    config: HubConfig,
    link: Box<dyn Link>,
    queue: Mutex<Queue>,
    ready: Notify,
    capture: broadcast::Sender<Captured>,
    stats: Stats,
    shutdown: watch::Sender<bool>,
    dhcp: Option<Mutex<DhcpResponder>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub writing to `link`. The queue length is raised to 1 if given as 0.
    pub fn new(mut config: HubConfig, link: impl Link) -> Self {
        config.queue_len = config.queue_len.max(1);
        let (capture, _) = broadcast::channel(CAPTURE_RING);
        Self {
            queue: Mutex::new(Queue {
                frames: VecDeque::with_capacity(config.queue_len.min(65_536)),
                bytes: 0,
            }),
            config,
            link: Box::new(link),
            ready: Notify::new(),
            capture,
            stats: Stats::default(),
            shutdown: watch::Sender::new(false),
            dhcp: None,
        }
    }

    /// With a DHCP server (`--dhcp`): every frame a client sends is also shown to it, and its
    /// replies are queued for the clients as if read from the device.
    pub fn with_dhcp(mut self, dhcp: DhcpResponder) -> Self {
        self.dhcp = Some(Mutex::new(dhcp));
        self
    }

    /// The largest IP packet of a frame the device segments (TSO), 0 for none.
    pub fn tso(&self) -> usize {
        self.link.tso()
    }

    /// What the hub serves.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// The live counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the deque inconsistent: use it anyway.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues frames read from the device, dropping the oldest when the queue is full (in
    /// frames, or in bytes: [`QUEUE_MAX_BYTES`]), copies
    /// them to `/pcap` viewers, and wakes long-polling `GET /recv`s.
    pub fn ingest(&self, frames: &[Bytes]) {
        if frames.is_empty() {
            return;
        }
        let bytes: usize = frames.iter().map(Bytes::len).sum();
        self.enqueue(frames);
        bump(&self.stats.frames_from_tap, frames.len() as u64);
        bump(&self.stats.bytes_from_tap, bytes as u64);
        self.capture_all(frames.iter().cloned(), Direction::Inbound);
    }

    /// Queues frames for `GET /recv` (dropping the oldest past the bounds) and wakes the
    /// long polls.
    fn enqueue(&self, frames: &[Bytes]) {
        let mut dropped = 0;
        {
            let mut queue = self.lock_queue();
            for frame in frames {
                while queue.frames.len() >= self.config.queue_len
                    || (queue.bytes + frame.len() > QUEUE_MAX_BYTES && !queue.frames.is_empty())
                {
                    queue.pop();
                    dropped += 1;
                }
                queue.bytes += frame.len();
                queue.frames.push_back(frame.clone());
            }
        }
        if dropped > 0 {
            bump(&self.stats.queue_dropped, dropped);
        }
        self.ready.notify_waiters();
    }

    /// Copies frames to `/pcap` viewers, if there are any. Never waits: a viewer that is behind
    /// loses its oldest frames instead.
    pub fn capture_all(&self, frames: impl Iterator<Item = Bytes>, direction: Direction) {
        if self.capture.receiver_count() == 0 {
            return;
        }
        let at = SystemTime::now();
        for frame in frames {
            // An error only means the last viewer left meanwhile.
            let _ = self.capture.send(Captured {
                at,
                frame,
                direction,
            });
        }
    }

    /// Subscribes a `/pcap` viewer.
    pub fn subscribe_capture(&self) -> broadcast::Receiver<Captured> {
        self.capture.subscribe()
    }

    /// Writes a batch to the device, in order. Each frame is captured for `/pcap` just before
    /// it is written, so a capture shows it before any answer the kernel makes to it. On an
    /// error, the frames before the failing one have been written; the error says which one.
    ///
    /// With `--dhcp`, DHCP messages to a server are answered after the batch is written: the
    /// replies are queued for `GET /recv` and captured as inbound.
    pub fn send_batch(&self, batch: FrameBatch) -> Result<(), (usize, io::Error)> {
        let replies = self.answer_dhcp(&batch);
        let result = if self.capture.receiver_count() == 0 {
            self.write_frames(batch.iter_segmented(), |_| {})
        } else {
            let segs: Vec<_> = batch.iter_segmented().map(|(_, s)| s).collect();
            let frames = batch.into_frames();
            self.write_frames(frames.iter().map(|f| &f[..]).zip(segs), |i| {
                self.capture_all(std::iter::once(frames[i].clone()), Direction::Outbound)
            })
        };
        if !replies.is_empty() {
            bump(&self.stats.dhcp_replies, replies.len() as u64);
            self.enqueue(&replies);
            self.capture_all(replies.into_iter(), Direction::Inbound);
        }
        result
    }

    /// The `--dhcp` server's replies to the DHCP messages in `batch`, if it runs.
    fn answer_dhcp(&self, batch: &FrameBatch) -> Vec<Bytes> {
        let Some(dhcp) = &self.dhcp else {
            return Vec::new();
        };
        let mut replies = Vec::new();
        for frame in batch.iter().filter(|f| DhcpResponder::wants(f)) {
            let mut dhcp = dhcp.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(reply) = dhcp.answer(frame) {
                replies.push(Bytes::from(reply));
            }
        }
        replies
    }

    fn write_frames<'a>(
        &self,
        frames: impl Iterator<Item = (&'a [u8], Option<Segmentation>)>,
        before_each: impl Fn(usize),
    ) -> Result<(), (usize, io::Error)> {
        let mut bytes = 0;
        let mut sent = 0;
        let mut result = Ok(());
        for (i, (frame, seg)) in frames.enumerate() {
            before_each(i);
            if let Err(e) = self.link.send_segmented(frame, seg) {
                bump(&self.stats.tap_write_errors, 1);
                result = Err((i, e));
                break;
            }
            bytes += frame.len();
            sent += 1;
        }
        bump(&self.stats.frames_to_tap, sent);
        bump(&self.stats.bytes_to_tap, bytes as u64);
        result
    }

    /// Takes up to `max` frames, oldest first.
    pub fn take(&self, max: usize) -> Vec<Bytes> {
        let frames: Vec<Bytes> = {
            let mut queue = self.lock_queue();
            let n = max.min(queue.frames.len());
            (0..n).filter_map(|_| queue.pop()).collect()
        };
        bump(&self.stats.frames_delivered, frames.len() as u64);
        frames
    }

    /// Takes up to `max` frames, waiting up to `wait` for the first one (never spinning: the
    /// wait is on a notification from [`Hub::ingest`]). Returns early, possibly empty, when
    /// the daemon shuts down.
    pub async fn take_wait(&self, max: usize, wait: Duration) -> Vec<Bytes> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut shutdown = self.shutdown.subscribe();
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            // Register before looking, so an ingest between the look and the await still wakes us.
            notified.as_mut().enable();
            let frames = self.take(max);
            if !frames.is_empty() || wait.is_zero() || *shutdown.borrow_and_update() {
                return frames;
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline) => return self.take(max),
                _ = shutdown.changed() => return self.take(max),
            }
        }
    }

    /// True when at least one frame is queued.
    pub fn data_ready(&self) -> bool {
        !self.lock_queue().frames.is_empty()
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let s = &self.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            frames_from_tap: get(&s.frames_from_tap),
            bytes_from_tap: get(&s.bytes_from_tap),
            frames_to_tap: get(&s.frames_to_tap),
            bytes_to_tap: get(&s.bytes_to_tap),
            frames_delivered: get(&s.frames_delivered),
            queue_depth: self.lock_queue().frames.len() as u64,
            queue_capacity: self.config.queue_len as u64,
            queue_dropped: get(&s.queue_dropped),
            bad_requests: get(&s.bad_requests),
            tap_write_errors: get(&s.tap_write_errors),
            tap_read_errors: get(&s.tap_read_errors),
            pcap_viewers: get(&s.pcap_viewers),
            pcap_dropped: get(&s.pcap_dropped),
            dhcp_replies: get(&s.dhcp_replies),
        }
    }

    /// Starts shutting down: long polls answer now and `/pcap` streams end.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// True once [`Hub::begin_shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once [`Hub::begin_shutdown`] was called.
    pub async fn shutting_down(&self) {
        let mut rx = self.shutdown.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we borrow it.
        let _ = rx.wait_for(|down| *down).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Null;
    impl Link for Null {
        fn send(&self, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
    }

    fn hub(queue_len: usize) -> Arc<Hub> {
        Arc::new(Hub::new(
            HubConfig {
                mtu: 1500,
                prefix: "192.168.10.1/24".parse().unwrap(),
                hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
                queue_len,
                token: None,
                if_name: "tap0".into(),
            },
            Null,
        ))
    }

    fn frames(range: std::ops::Range<u8>) -> Vec<Bytes> {
        range.map(|i| Bytes::from(vec![i; 14])).collect()
    }

    #[test]
    fn full_queue_drops_the_oldest_and_counts() {
        let hub = hub(3);
        hub.ingest(&frames(0..5));
        let s = hub.snapshot();
        assert_eq!(
            (s.frames_from_tap, s.queue_depth, s.queue_dropped),
            (5, 3, 2)
        );
        let got: Vec<u8> = hub.take(10).iter().map(|f| f[0]).collect();
        assert_eq!(got, [2, 3, 4]);
        assert!(!hub.data_ready());
        assert_eq!(hub.snapshot().frames_delivered, 3);
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_too() {
        let hub = hub(100_000);
        // 300 frames of 1 MiB each (one shared allocation): only 256 fit in 256 MiB.
        let big = Bytes::from(vec![0u8; 1 << 20]);
        hub.ingest(&vec![big; 300]);
        let s = hub.snapshot();
        assert_eq!((s.queue_depth, s.queue_dropped), (256, 44));
        assert_eq!(hub.take(1000).len(), 256);
        assert_eq!(hub.lock_queue().bytes, 0);
    }

    #[tokio::test]
    async fn long_poll_wakes_on_ingest_and_times_out() {
        let hub = hub(16);
        let t0 = tokio::time::Instant::now();
        assert!(hub.take_wait(1, Duration::from_millis(30)).await.is_empty());
        assert!(t0.elapsed() >= Duration::from_millis(30));

        let waiter = {
            let hub = hub.clone();
            tokio::spawn(async move { hub.take_wait(8, Duration::from_secs(30)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        hub.ingest(&frames(7..9));
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.len(), 2);

        let waiter = {
            let hub = hub.clone();
            tokio::spawn(async move { hub.take_wait(1, Duration::from_secs(30)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        hub.begin_shutdown();
        let got = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert!(got.unwrap().unwrap().is_empty());
    }
}
