//! A deterministic simulated link and a two-endpoint harness (behind the `std` feature).
//!
//! [`SimLink`] carries frames one way with seeded faults: loss, duplication, single-bit
//! corruption, reordering, propagation delay, jitter, a bandwidth limit (serialization delay,
//! frames queue behind each other) and a drop-tail bound on frames in flight. [`Sim`] joins two
//! [`Endpoint`]s with a link each way and drives them round by round; when a round moves nothing
//! it jumps the simulated clock to the earliest deadline (an endpoint's `poll_at` or a frame's
//! delivery), so timers of seconds cost no wall time. [`Sim::run_until_real`] is the same loop
//! against a caller's real clock, sleeping until the next deadline instead of jumping.
//!
//! Nothing here reads a clock of its own or the OS's randomness: the same seeds and the same
//! endpoints give the same trace, frame for frame.
//!
//! # Example
//!
//! ```
//! use proto_core::sim::{LinkConfig, SimLink};
//! use proto_core::time::{Duration, Instant};
//!
//! let mut link = SimLink::new(
//!     LinkConfig { delay: Duration::from_millis(5), ..LinkConfig::default() },
//!     42,
//! );
//! link.send(Instant::ZERO, b"hello");
//! assert_eq!(link.next_delivery(), Some(Instant::from_millis(5)));
//! let mut got = Vec::new();
//! link.deliver(Instant::from_millis(5), |f| got.push(f.to_vec()));
//! assert_eq!(got, [b"hello".to_vec()]);
//! ```

use core::cmp::{Ordering, Reverse};
use core::fmt;
use std::collections::{BinaryHeap, VecDeque};
use std::vec::Vec;

use crate::rand::Rng;
use crate::time::{Duration, Instant};

/// The faults and limits of one direction of a [`SimLink`].
///
/// Rates are in parts per million of frames sent (`10_000` = 1 %). The default is a perfect
/// link: no faults, zero delay, unlimited bandwidth, 1,024 frames in flight, 1,514-byte frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// Frames dropped, per million sent.
    pub loss_ppm: u32,
    /// Frames delivered twice (the copy right behind the original), per million sent.
    pub duplicate_ppm: u32,
    /// Frames with one random bit of one random byte flipped, per million sent.
    pub corrupt_ppm: u32,
    /// Frames held back by an extra random delay in `1..=reorder_delay` µs, per million sent,
    /// so that later frames overtake them.
    pub reorder_ppm: u32,
    /// The longest extra delay of a reordered frame.
    pub reorder_delay: Duration,
    /// One-way propagation delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per frame. Jitter alone never reorders:
    /// a frame is not delivered before one sent earlier (only `reorder_ppm` reorders).
    pub jitter: Duration,
    /// Bandwidth in bits per second: a frame of `n` bytes occupies the sender for
    /// `8 n / bandwidth` seconds and frames queue behind each other. `None` is unlimited.
    pub bandwidth: Option<u64>,
    /// Drop-tail bound on frames in flight (sent and not yet delivered, serializing or
    /// propagating): a frame sent while this many are in flight is dropped.
    pub queue_frames: usize,
    /// The largest frame carried, in bytes, link-layer header included; longer frames are
    /// dropped. Also the size of the buffer [`Sim`] hands to [`Endpoint::egress`].
    pub mtu: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            loss_ppm: 0,
            duplicate_ppm: 0,
            corrupt_ppm: 0,
            reorder_ppm: 0,
            reorder_delay: Duration::ZERO,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            bandwidth: None,
            queue_frames: 1024,
            mtu: 1514,
        }
    }
}

impl LinkConfig {
    /// A perfect link but for `loss_ppm` frames per million lost.
    pub fn lossy(loss_ppm: u32) -> Self {
        Self {
            loss_ppm,
            ..Self::default()
        }
    }

    /// A perfect link but for a one-way propagation `delay`.
    pub fn delayed(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }

    /// This configuration with a bandwidth limit of `bits_per_second`.
    pub fn with_bandwidth(self, bits_per_second: u64) -> Self {
        Self {
            bandwidth: Some(bits_per_second),
            ..self
        }
    }
}

/// Counters of one [`SimLink`]. Every frame sent is lost, dropped or delivered (once, or twice
/// when duplicated) eventually.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames handed to [`SimLink::send`].
    pub sent: u64,
    /// Frames handed out by [`SimLink::deliver`] (duplicates count twice).
    pub delivered: u64,
    /// Bytes handed out by [`SimLink::deliver`].
    pub delivered_bytes: u64,
    /// Frames dropped by `loss_ppm`.
    pub lost: u64,
    /// Frames sent twice.
    pub duplicated: u64,
    /// Frames with a flipped bit.
    pub corrupted: u64,
    /// Frames held back to be overtaken.
    pub reordered: u64,
    /// Frames dropped because `queue_frames` were in flight.
    pub dropped_queue: u64,
    /// Frames dropped for being longer than `mtu` (or empty).
    pub dropped_oversize: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sent {} delivered {} lost {} duplicated {} corrupted {} reordered {} \
             dropped_queue {} dropped_oversize {}",
            self.sent,
            self.delivered,
            self.lost,
            self.duplicated,
            self.corrupted,
            self.reordered,
            self.dropped_queue,
            self.dropped_oversize
        )
    }
}

/// A frame waiting for its delivery instant; ordered by `(at, seq)` only.
#[derive(Debug)]
struct Pending {
    at: Instant,
    /// Send order, to break ties.
    seq: u64,
    data: Vec<u8>,
}

impl Pending {
    #[inline]
    fn key(&self) -> (Instant, u64) {
        (self.at, self.seq)
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// One direction of a simulated link.
///
/// Frames in order of delivery time live in a FIFO (jitter never reorders them); reordered
/// frames in a heap; [`deliver`](Self::deliver) merges the two by `(delivery instant, send
/// order)`. Frame bytes are copied into buffers recycled through a free list ([`Sim`] has its
/// endpoints write them there directly, [`send_with`](Self::send_with)), so the steady state
/// allocates nothing.
#[derive(Debug)]
pub struct SimLink {
    cfg: LinkConfig,
    rng: Rng,
    stats: Stats,
    /// Frames in nondecreasing `at` (and increasing `seq`) order.
    fifo: VecDeque<Pending>,
    /// Reordered frames.
    late: BinaryHeap<Reverse<Pending>>,
    free: Vec<Vec<u8>>,
    next_seq: u64,
    /// When the transmitter finishes the frames queued so far, in nanoseconds (bandwidth).
    tx_free_at_ns: u64,
    /// The latest delivery instant of a FIFO frame: later frames are not delivered before it.
    last_fifo_at: Instant,
}

impl SimLink {
    /// A link with the faults of `cfg`, all its randomness drawn from `seed`.
    pub fn new(cfg: LinkConfig, seed: u64) -> Self {
        Self {
            cfg,
            rng: Rng::new(seed),
            stats: Stats::default(),
            fifo: VecDeque::new(),
            late: BinaryHeap::new(),
            free: Vec::new(),
            next_seq: 0,
            tx_free_at_ns: 0,
            last_fifo_at: Instant::ZERO,
        }
    }

    /// The link's configuration.
    #[inline]
    pub fn config(&self) -> &LinkConfig {
        &self.cfg
    }

    /// Changes the configuration for frames sent from now on (frames in flight keep their
    /// delivery instants).
    pub fn set_config(&mut self, cfg: LinkConfig) {
        self.cfg = cfg;
    }

    /// The counters so far.
    #[inline]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Frames sent and not yet delivered.
    #[inline]
    pub fn in_flight(&self) -> usize {
        self.fifo.len() + self.late.len()
    }

    /// Sends `frame` at `now`: applies loss, the queue bound, corruption and duplication, and
    /// queues the frame (and its duplicate) for delivery after serialization, propagation,
    /// jitter and any reordering delay.
    pub fn send(&mut self, now: Instant, frame: &[u8]) {
        if self.admit(frame.len()) {
            let data = self.buffer(frame);
            self.enqueue(now, data);
        }
    }

    /// [`send`](Self::send) without the copy: `write` writes the frame into one of the link's
    /// (recycled) buffers, `len` bytes long, and returns the frame's length; 0 means there is
    /// no frame, and nothing is sent or counted. Returns the length `write` returned. Faults
    /// and counters are exactly those of `send` with the same frame.
    pub fn send_with(
        &mut self,
        now: Instant,
        len: usize,
        write: impl FnOnce(&mut [u8]) -> usize,
    ) -> usize {
        let mut data = self.free.pop().unwrap_or_default();
        if data.len() != len {
            data.resize(len, 0);
        }
        let n = write(&mut data);
        if n == 0 {
            self.free.push(data);
            return 0;
        }
        data.truncate(n);
        if self.admit(n) {
            self.enqueue(now, data);
        } else {
            self.free.push(data);
        }
        n
    }

    /// Counts a frame of `len` bytes sent and applies the oversize check, loss and the queue
    /// bound; true when the frame goes on.
    #[inline]
    fn admit(&mut self, len: usize) -> bool {
        self.stats.sent += 1;
        if len == 0 || len > self.cfg.mtu {
            self.stats.dropped_oversize += 1;
            return false;
        }
        if self.rng.chance_ppm(self.cfg.loss_ppm) {
            self.stats.lost += 1;
            return false;
        }
        if self.in_flight() >= self.cfg.queue_frames {
            self.stats.dropped_queue += 1;
            return false;
        }
        true
    }

    /// Corruption, duplication, reordering and the delivery instant of an admitted frame.
    #[inline]
    fn enqueue(&mut self, now: Instant, mut data: Vec<u8>) {
        if self.rng.chance_ppm(self.cfg.corrupt_ppm) {
            self.stats.corrupted += 1;
            let len = data.len() as u64;
            let byte = self.rng.below(len) as usize;
            let bit = self.rng.below(8) as u32;
            data[byte] ^= 1u8 << bit;
        }
        let duplicate = self.rng.chance_ppm(self.cfg.duplicate_ppm)
            && self.in_flight() + 1 < self.cfg.queue_frames;
        let at = self.arrival(now, data.len());
        let reorder = self.cfg.reorder_ppm > 0 && self.rng.chance_ppm(self.cfg.reorder_ppm);
        let copy = if duplicate {
            self.stats.duplicated += 1;
            Some(self.buffer(&data))
        } else {
            None
        };
        if reorder {
            self.stats.reordered += 1;
            let extra = 1 + self.rng.below(self.cfg.reorder_delay.micros().max(1));
            let at = at + Duration::from_micros(extra);
            for data in core::iter::once(data).chain(copy) {
                let seq = self.take_seq();
                self.late.push(Reverse(Pending { at, seq, data }));
            }
        } else {
            // Jitter never reorders: a frame waits for the one sent before it.
            let at = at.max(self.last_fifo_at);
            self.last_fifo_at = at;
            for data in core::iter::once(data).chain(copy) {
                let seq = self.take_seq();
                self.fifo.push_back(Pending { at, seq, data });
            }
        }
    }

    /// The earliest instant at which a frame is due, if any is in flight.
    #[inline]
    pub fn next_delivery(&self) -> Option<Instant> {
        let fifo = self.fifo.front().map(|p| p.at);
        let late = self.late.peek().map(|p| p.0.at);
        match (fifo, late) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Hands every frame due at or before `now` to `f`, in delivery-time order (ties in send
    /// order), and returns how many it handed out.
    pub fn deliver(&mut self, now: Instant, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        // Bounded: each pass removes one frame, and `f` cannot add any.
        while let Some(p) = self.pop_due(now) {
            self.stats.delivered += 1;
            self.stats.delivered_bytes += p.data.len() as u64;
            f(&p.data);
            self.free.push(p.data);
            n += 1;
        }
        n
    }

    /// The next frame due at or before `now`, from whichever queue holds the earliest.
    #[inline]
    fn pop_due(&mut self, now: Instant) -> Option<Pending> {
        let fifo = self.fifo.front().map(Pending::key);
        let late = self.late.peek().map(|p| p.0.key());
        let take_late = match (fifo, late) {
            (Some(a), Some(b)) => b < a,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if take_late {
            match self.late.peek() {
                Some(p) if p.0.at <= now => self.late.pop().map(|p| p.0),
                _ => None,
            }
        } else {
            match self.fifo.front() {
                Some(p) if p.at <= now => self.fifo.pop_front(),
                _ => None,
            }
        }
    }

    #[inline]
    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// A recycled buffer holding a copy of `frame`.
    #[inline]
    fn buffer(&mut self, frame: &[u8]) -> Vec<u8> {
        let mut data = self.free.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(frame);
        data
    }

    /// The delivery instant of a frame of `len` bytes sent at `now`, before reordering:
    /// the end of its serialization behind the frames queued before it, plus propagation and
    /// jitter.
    fn arrival(&mut self, now: Instant, len: usize) -> Instant {
        let sent = match self.cfg.bandwidth {
            Some(bps) if bps > 0 => {
                let now_ns = now.micros().saturating_mul(1000);
                let start = self.tx_free_at_ns.max(now_ns);
                let bits = (len as u128) * 8;
                let ser_ns = (bits * 1_000_000_000).div_ceil(u128::from(bps));
                let end = start.saturating_add(u64::try_from(ser_ns).unwrap_or(u64::MAX));
                self.tx_free_at_ns = end;
                Instant::from_micros(end.div_ceil(1000))
            }
            _ => now,
        };
        let jitter = match self.cfg.jitter.micros() {
            0 => Duration::ZERO,
            j => Duration::from_micros(self.rng.below(j.saturating_add(1))),
        };
        sent + self.cfg.delay + jitter
    }
}

/// Writes one frame into the buffer it is given and returns its length (0: no frame).
pub type FrameWriter<'a> = dyn FnMut(&mut [u8]) -> usize + 'a;

/// Calls the [`FrameWriter`] it is given with a buffer of the link's, sends what it wrote,
/// and returns its length (0: nothing was written).
pub type FrameSink<'a> = dyn FnMut(&mut FrameWriter<'_>) -> usize + 'a;

/// One end of a [`Sim`]: a network stack (and its application) that takes frames in, gives
/// frames out and says when it next needs to run.
pub trait Endpoint {
    /// A frame arrived at `now`.
    fn ingress(&mut self, now: Instant, frame: &[u8]);
    /// Writes the next frame to send at `now` into `buf` and returns its length; 0 when there
    /// is nothing to send.
    fn egress(&mut self, now: Instant, buf: &mut [u8]) -> usize;
    /// Up to `max` of the frames [`egress`](Self::egress) would give next at `now`, written
    /// at once (an endpoint may do per-frame work once for several frames): for each, `send`
    /// is called with a writer, which it calls with a buffer of `room` bytes and which
    /// returns what `egress` would; `send` returns that length. Stops at the first 0 and
    /// returns the number of frames; `egress` then gives the frames after them. The default
    /// writes none.
    fn egress_burst(
        &mut self,
        now: Instant,
        max: usize,
        room: usize,
        send: &mut FrameSink<'_>,
    ) -> usize {
        let _ = (now, max, room, send);
        0
    }
    /// The instant the endpoint next needs to run with nothing arriving (a timer, or at or
    /// before the current instant for "as soon as possible"); `None` when it only waits for
    /// frames.
    fn poll_at(&self) -> Option<Instant>;
}

/// Why [`Sim::run_until`] stopped before its condition held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// The time limit was reached.
    Timeout {
        /// The simulated instant when the run stopped.
        at: Instant,
    },
    /// Nothing was in flight and neither endpoint had a deadline: nothing can ever happen.
    Deadlock {
        /// The simulated instant of the deadlock.
        at: Instant,
    },
    /// An endpoint kept asking to run at once without sending anything
    /// ([`Sim::MAX_IDLE_ROUNDS`] rounds in a row at the same instant).
    Stalled {
        /// The simulated instant of the stall.
        at: Instant,
    },
    /// [`Sim::max_rounds`] rounds ran without the condition holding.
    RoundLimit {
        /// The simulated instant when the run stopped.
        at: Instant,
    },
}

/// The name the design brief gave [`SimError`].
pub type SimTimeout = SimError;

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { at } => write!(f, "sim: time limit reached at {at}"),
            Self::Deadlock { at } => write!(
                f,
                "sim: deadlock at {at}: nothing in flight and no endpoint deadline"
            ),
            Self::Stalled { at } => write!(
                f,
                "sim: stalled at {at}: an endpoint keeps asking to run but sends nothing"
            ),
            Self::RoundLimit { at } => write!(f, "sim: round limit reached at {at}"),
        }
    }
}

impl core::error::Error for SimError {}

/// Two endpoints joined by a [`SimLink`] each way, on a simulated clock.
///
/// Each [`step`](Self::step) drains A's egress into `ab`, B's into `ba`, then delivers the
/// frames due both ways. [`run_until`](Self::run_until) repeats steps, calling the caller's
/// `done` (where the applications read and write) before each, and jumps the clock to the next
/// deadline when a round moved nothing.
#[derive(Debug)]
pub struct Sim<A: Endpoint, B: Endpoint> {
    /// Endpoint A (sends on `ab`).
    pub a: A,
    /// Endpoint B (sends on `ba`).
    pub b: B,
    /// The link from A to B.
    pub ab: SimLink,
    /// The link from B to A.
    pub ba: SimLink,
    /// The simulated clock.
    pub now: Instant,
    /// The size of the buffer handed to [`Endpoint::egress`].
    pub mtu: usize,
    /// The most rounds one `run_until*` call runs (a bound against endpoints that chatter
    /// forever without time passing).
    pub max_rounds: u64,
}

impl<A: Endpoint, B: Endpoint> Sim<A, B> {
    /// The most frames taken from one endpoint's egress in one step.
    pub const MAX_FRAMES_PER_STEP: usize = 1 << 16;
    /// Rounds in a row that move nothing while a deadline is already due before
    /// [`SimError::Stalled`].
    pub const MAX_IDLE_ROUNDS: u32 = 10_000;
    /// The default of [`max_rounds`](Self::max_rounds).
    pub const DEFAULT_MAX_ROUNDS: u64 = 50_000_000;

    /// A simulation with the same link configuration both ways, seeded from `seed` (the two
    /// directions draw from different streams), starting at [`Instant::ZERO`].
    pub fn new(a: A, b: B, cfg: LinkConfig, seed: u64) -> Self {
        let ab = SimLink::new(cfg, seed);
        let ba = SimLink::new(cfg, seed ^ 0x5bd1_e995_9e37_79b9);
        Self::with_links(a, b, ab, ba)
    }

    /// A simulation over the given links, starting at [`Instant::ZERO`]; `mtu` is the larger
    /// of the two links' MTUs.
    pub fn with_links(a: A, b: B, ab: SimLink, ba: SimLink) -> Self {
        let mtu = ab.config().mtu.max(ba.config().mtu);
        Self {
            a,
            b,
            ab,
            ba,
            now: Instant::ZERO,
            mtu,
            max_rounds: Self::DEFAULT_MAX_ROUNDS,
        }
    }

    /// One round at `self.now`: drains A's egress into `ab` and B's into `ba` (at most
    /// [`MAX_FRAMES_PER_STEP`](Self::MAX_FRAMES_PER_STEP) each), then delivers every frame due
    /// both ways. Returns whether any frame was sent or delivered.
    pub fn step(&mut self) -> bool {
        let (now, mtu) = (self.now, self.mtu);
        let mut active = false;
        // Each endpoint writes its frames straight into the link's buffers: a burst first
        // (if the endpoint has one), then one by one.
        let ab = &mut self.ab;
        let a = &mut self.a;
        let burst = a.egress_burst(now, Self::MAX_FRAMES_PER_STEP, mtu, &mut |write| {
            ab.send_with(now, mtu, |buf| write(buf).min(mtu))
        });
        active |= burst > 0;
        for _ in burst..Self::MAX_FRAMES_PER_STEP {
            if self
                .ab
                .send_with(now, mtu, |buf| a.egress(now, buf).min(mtu))
                == 0
            {
                break;
            }
            active = true;
        }
        let ba = &mut self.ba;
        let b = &mut self.b;
        let burst = b.egress_burst(now, Self::MAX_FRAMES_PER_STEP, mtu, &mut |write| {
            ba.send_with(now, mtu, |buf| write(buf).min(mtu))
        });
        active |= burst > 0;
        for _ in burst..Self::MAX_FRAMES_PER_STEP {
            if self
                .ba
                .send_with(now, mtu, |buf| b.egress(now, buf).min(mtu))
                == 0
            {
                break;
            }
            active = true;
        }
        let b = &mut self.b;
        active |= self.ab.deliver(now, |f| b.ingress(now, f)) > 0;
        let a = &mut self.a;
        active |= self.ba.deliver(now, |f| a.ingress(now, f)) > 0;
        active
    }

    /// The earliest of both endpoints' `poll_at` and both links' next delivery.
    #[inline]
    pub fn next_event(&self) -> Option<Instant> {
        [
            self.a.poll_at(),
            self.b.poll_at(),
            self.ab.next_delivery(),
            self.ba.next_delivery(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs rounds until `done(a, b, now)` holds (checked before every round; the
    /// applications act there), and returns the instant it did. When two rounds in a row move
    /// nothing the clock jumps to [`next_event`](Self::next_event) (never backwards).
    ///
    /// # Errors
    ///
    /// [`SimError::Timeout`] when the clock would pass `limit`, [`SimError::Deadlock`] when
    /// there is no next event, [`SimError::Stalled`] and [`SimError::RoundLimit`] for
    /// endpoints that never let time pass.
    pub fn run_until(
        &mut self,
        limit: Instant,
        mut done: impl FnMut(&mut A, &mut B, Instant) -> bool,
    ) -> Result<Instant, SimError> {
        let mut idle_rounds = 0u32;
        for _ in 0..self.max_rounds {
            if done(&mut self.a, &mut self.b, self.now) {
                return Ok(self.now);
            }
            if self.step() {
                idle_rounds = 0;
                continue;
            }
            idle_rounds += 1;
            match self.next_event() {
                None => return Err(SimError::Deadlock { at: self.now }),
                // The clock moves only after a second idle round, so that `done` sees what
                // an idle round changed (an endpoint may have processed input silently).
                Some(t) if t > self.now && idle_rounds >= 2 => {
                    if t > limit {
                        self.now = limit;
                        return Err(SimError::Timeout { at: limit });
                    }
                    self.now = t;
                    idle_rounds = 0;
                }
                Some(_) if idle_rounds >= Self::MAX_IDLE_ROUNDS => {
                    return Err(SimError::Stalled { at: self.now });
                }
                Some(_) => {}
            }
        }
        Err(SimError::RoundLimit { at: self.now })
    }

    /// [`run_until`](Self::run_until) against a real clock: `clock()` gives the current
    /// instant (e.g. microseconds since a `std::time::Instant`), and when a round moves
    /// nothing the loop sleeps until the next event instead of jumping. `limit` is on
    /// `clock()`'s time line. No event at all is still a deadlock.
    ///
    /// # Errors
    ///
    /// As [`run_until`](Self::run_until), but for [`SimError::Stalled`]: an endpoint that
    /// keeps asking to run only costs rounds here.
    pub fn run_until_real(
        &mut self,
        limit: Instant,
        mut clock: impl FnMut() -> Instant,
        mut done: impl FnMut(&mut A, &mut B, Instant) -> bool,
    ) -> Result<Instant, SimError> {
        let mut idle_rounds = 0u32;
        for _ in 0..self.max_rounds {
            self.now = self.now.max(clock());
            if done(&mut self.a, &mut self.b, self.now) {
                return Ok(self.now);
            }
            if self.now >= limit {
                return Err(SimError::Timeout { at: self.now });
            }
            if self.step() {
                idle_rounds = 0;
                continue;
            }
            idle_rounds += 1;
            match self.next_event() {
                None => return Err(SimError::Deadlock { at: self.now }),
                // As in `run_until`: sleep only after a second idle round.
                Some(_) if idle_rounds < 2 => {}
                Some(t) => {
                    idle_rounds = 0;
                    let now = self.now.max(clock());
                    let wake = t.min(limit);
                    if wake > now {
                        std::thread::sleep((wake - now).into());
                    }
                }
            }
        }
        Err(SimError::RoundLimit { at: self.now })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn frame(i: u32) -> [u8; 64] {
        let mut f = [0u8; 64];
        f[..4].copy_from_slice(&i.to_be_bytes());
        f
    }

    fn id(f: &[u8]) -> u32 {
        u32::from_be_bytes([f[0], f[1], f[2], f[3]])
    }

    /// Sends `n` numbered frames at 1 µs spacing and drains the link, recording the delivered
    /// ids and instants.
    fn trace(cfg: LinkConfig, seed: u64, n: u32) -> Vec<(u32, Instant)> {
        let mut link = SimLink::new(cfg, seed);
        let mut out = Vec::new();
        for i in 0..n {
            let now = Instant::from_micros(u64::from(i));
            link.send(now, &frame(i));
            link.deliver(now, |f| out.push((id(f), now)));
        }
        while let Some(t) = link.next_delivery() {
            link.deliver(t, |f| out.push((id(f), t)));
        }
        out
    }

    #[test]
    fn perfect_link_delivers_in_order_after_delay() {
        let cfg = LinkConfig::delayed(Duration::from_millis(3));
        let mut link = SimLink::new(cfg, 1);
        for i in 0..10 {
            link.send(Instant::from_micros(u64::from(i) * 10), &frame(i));
        }
        assert_eq!(link.in_flight(), 10);
        assert_eq!(link.next_delivery(), Some(Instant::from_micros(3000)));
        let mut got = Vec::new();
        link.deliver(Instant::from_micros(3045), |f| got.push(id(f)));
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(link.next_delivery(), Some(Instant::from_micros(3050)));
        link.deliver(Instant::from_secs(1), |f| got.push(id(f)));
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!(link.in_flight(), 0);
        assert_eq!(link.next_delivery(), None);
        let s = link.stats();
        assert_eq!((s.sent, s.delivered, s.delivered_bytes), (10, 10, 640));
    }

    #[test]
    fn zero_delay_frames_are_due_at_once() {
        let mut link = SimLink::new(LinkConfig::default(), 1);
        link.send(Instant::from_secs(2), b"x");
        assert_eq!(link.next_delivery(), Some(Instant::from_secs(2)));
        assert_eq!(link.deliver(Instant::from_secs(2), |_| {}), 1);
    }

    #[test]
    fn loss_rate_within_tolerance() {
        let mut link = SimLink::new(LinkConfig::lossy(10_000), 7);
        for _ in 0..100_000 {
            link.send(Instant::ZERO, b"frame");
            link.deliver(Instant::ZERO, |_| {});
        }
        let s = link.stats();
        // 1 % of 1e5 is 1,000, standard deviation ~31.5: ±15 % is ~5 sigma.
        assert!((850..1150).contains(&s.lost), "{s}");
        assert_eq!(s.lost + s.delivered, 100_000);
    }

    #[test]
    fn duplication_delivers_a_copy_right_behind() {
        let cfg = LinkConfig {
            duplicate_ppm: 1_000_000,
            ..LinkConfig::default()
        };
        let got = trace(cfg, 3, 3);
        let ids: Vec<u32> = got.iter().map(|g| g.0).collect();
        assert_eq!(ids, [0, 0, 1, 1, 2, 2]);
        let cfg = LinkConfig {
            duplicate_ppm: 100_000,
            ..LinkConfig::default()
        };
        let mut link = SimLink::new(cfg, 5);
        for i in 0..10_000 {
            link.send(Instant::ZERO, &frame(i));
            link.deliver(Instant::ZERO, |_| {});
        }
        let s = link.stats();
        assert!((800..1200).contains(&s.duplicated), "{s}");
        assert_eq!(s.delivered, 10_000 + s.duplicated);
    }

    #[test]
    fn corruption_flips_exactly_one_bit() {
        let cfg = LinkConfig {
            corrupt_ppm: 1_000_000,
            ..LinkConfig::default()
        };
        let mut link = SimLink::new(cfg, 11);
        let original: Vec<u8> = (0..200u8).collect();
        for _ in 0..1000 {
            link.send(Instant::ZERO, &original);
            link.deliver(Instant::ZERO, |f| {
                assert_eq!(f.len(), original.len());
                let flipped: u32 = f
                    .iter()
                    .zip(&original)
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum();
                assert_eq!(flipped, 1);
            });
        }
        assert_eq!(link.stats().corrupted, 1000);
    }

    #[test]
    fn reordering_lets_later_frames_overtake() {
        let cfg = LinkConfig {
            reorder_ppm: 100_000,
            reorder_delay: Duration::from_micros(50),
            ..LinkConfig::default()
        };
        let got = trace(cfg, 9, 2000);
        assert_eq!(got.len(), 2000);
        let ids: Vec<u32> = got.iter().map(|g| g.0).collect();
        let inversions = ids.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(inversions > 50, "only {inversions} inversions");
        // Delivery instants never go backwards, and every frame arrives.
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..2000).collect::<Vec<_>>());
    }

    #[test]
    fn jitter_delays_but_keeps_order() {
        let cfg = LinkConfig {
            delay: Duration::from_millis(1),
            jitter: Duration::from_millis(1),
            ..LinkConfig::default()
        };
        let got = trace(cfg, 4, 1000);
        let ids: Vec<u32> = got.iter().map(|g| g.0).collect();
        assert_eq!(ids, (0..1000).collect::<Vec<_>>());
        let late = got
            .iter()
            .filter(|(i, t)| t.micros() > u64::from(*i) + 1000)
            .count();
        assert!(late > 500, "{late}");
    }

    #[test]
    fn bandwidth_limit_spaces_frames() {
        // 1,500 bytes at 12 Mbit/s serialize in exactly 1 ms.
        let cfg = LinkConfig {
            mtu: 1500,
            ..LinkConfig::default().with_bandwidth(12_000_000)
        };
        let mut link = SimLink::new(cfg, 2);
        for _ in 0..5 {
            link.send(Instant::ZERO, &[0u8; 1500]);
        }
        let mut at = Vec::new();
        while let Some(t) = link.next_delivery() {
            link.deliver(t, |_| at.push(t.micros()));
        }
        assert_eq!(at, [1000, 2000, 3000, 4000, 5000]);
        // An idle transmitter starts at once.
        link.send(Instant::from_millis(10), &[0u8; 750]);
        assert_eq!(link.next_delivery(), Some(Instant::from_micros(10_500)));
    }

    #[test]
    fn queue_bound_drops_tail() {
        let cfg = LinkConfig {
            queue_frames: 4,
            ..LinkConfig::delayed(Duration::from_millis(1))
        };
        let mut link = SimLink::new(cfg, 2);
        for i in 0..10 {
            link.send(Instant::ZERO, &frame(i));
        }
        assert_eq!(link.in_flight(), 4);
        assert_eq!(link.stats().dropped_queue, 6);
        let mut got = Vec::new();
        link.deliver(Instant::from_secs(1), |f| got.push(id(f)));
        assert_eq!(got, [0, 1, 2, 3]);
    }

    #[test]
    fn oversize_frames_are_dropped() {
        let mut link = SimLink::new(LinkConfig::default(), 2);
        link.send(Instant::ZERO, &[0u8; 1515]);
        link.send(Instant::ZERO, &[]);
        assert_eq!(link.stats().dropped_oversize, 2);
        assert_eq!(link.in_flight(), 0);
    }

    #[test]
    fn same_seed_same_trace_different_seed_different() {
        let cfg = LinkConfig {
            loss_ppm: 50_000,
            duplicate_ppm: 20_000,
            corrupt_ppm: 20_000,
            reorder_ppm: 50_000,
            reorder_delay: Duration::from_micros(100),
            delay: Duration::from_micros(30),
            jitter: Duration::from_micros(20),
            ..LinkConfig::default()
        };
        assert_eq!(trace(cfg, 1, 3000), trace(cfg, 1, 3000));
        assert_ne!(trace(cfg, 1, 3000), trace(cfg, 2, 3000));
    }

    #[test]
    fn buffers_are_recycled() {
        let mut link = SimLink::new(LinkConfig::default(), 2);
        for _ in 0..100 {
            link.send(Instant::ZERO, &[1u8; 100]);
            link.deliver(Instant::ZERO, |_| {});
        }
        assert_eq!(link.free.len(), 1);
    }

    proptest::proptest! {
        /// Whatever the faults (but corruption): every frame sent is accounted for, deliveries come in time
        /// order and never before the propagation delay, and a duplicate is the only way a
        /// frame arrives twice.
        #[test]
        fn link_conserves_frames_and_time(
            loss in 0u32..200_000,
            dup in 0u32..200_000,
            reorder in 0u32..200_000,
            delay in 0u64..1000,
            jitter in 0u64..1000,
            bandwidth in proptest::option::of(1_000_000u64..10_000_000_000),
            queue in 1usize..64,
            seed: u64,
        ) {
            let cfg = LinkConfig {
                loss_ppm: loss,
                duplicate_ppm: dup,
                // Corruption may hit the frame number: tested on its own above.
                corrupt_ppm: 0,
                reorder_ppm: reorder,
                reorder_delay: Duration::from_micros(500),
                delay: Duration::from_micros(delay),
                jitter: Duration::from_micros(jitter),
                bandwidth,
                queue_frames: queue,
                mtu: 1514,
            };
            let mut link = SimLink::new(cfg, seed);
            let mut last = Instant::ZERO;
            let mut seen = vec![0u32; 500];
            for i in 0..500u32 {
                let now = Instant::from_micros(u64::from(i) * 7);
                link.send(now, &frame(i));
                proptest::prop_assert!(link.in_flight() <= queue);
                while let Some(t) = link.next_delivery().filter(|t| *t <= now + Duration::from_micros(5)) {
                    link.deliver(t, |f| {
                        let sent_at = u64::from(id(f)) * 7;
                        assert!(t.micros() >= sent_at + delay);
                        assert!(t >= last);
                        last = t;
                        seen[id(f) as usize % 500] += 1;
                    });
                }
            }
            while let Some(t) = link.next_delivery() {
                link.deliver(t, |_| {});
            }
            let s = link.stats();
            proptest::prop_assert_eq!(
                s.sent,
                s.lost + s.dropped_queue + s.dropped_oversize + s.delivered - s.duplicated
            );
            proptest::prop_assert!(seen.iter().all(|&n| n <= 2));
        }
    }

    /// Sends `count` frames, one per egress call, then goes quiet; counts frames received.
    struct Pinger {
        left: u32,
        received: u32,
        timer: Option<Instant>,
    }

    impl Endpoint for Pinger {
        fn ingress(&mut self, _now: Instant, _frame: &[u8]) {
            self.received += 1;
        }
        fn egress(&mut self, now: Instant, buf: &mut [u8]) -> usize {
            if self.timer.is_some_and(|t| t <= now) {
                self.timer = None;
            }
            if self.left == 0 || self.timer.is_some() {
                return 0;
            }
            self.left -= 1;
            // One frame per millisecond.
            self.timer = Some(now + Duration::from_millis(1));
            buf[0] = 1;
            1
        }
        fn poll_at(&self) -> Option<Instant> {
            self.timer
        }
    }

    fn pinger(left: u32) -> Pinger {
        Pinger {
            left,
            received: 0,
            timer: None,
        }
    }

    #[test]
    fn sim_jumps_to_deadlines_and_delivers() {
        let cfg = LinkConfig::delayed(Duration::from_millis(10));
        let mut sim = Sim::new(pinger(5), pinger(0), cfg, 1);
        let at = sim
            .run_until(Instant::from_secs(1), |_, b, _| b.received == 5)
            .unwrap();
        // The fifth frame leaves at 4 ms and arrives 10 ms later.
        assert_eq!(at, Instant::from_millis(14));
        assert_eq!(sim.ab.stats().delivered, 5);
    }

    #[test]
    fn sim_reports_deadlock() {
        let mut sim = Sim::new(pinger(1), pinger(0), LinkConfig::default(), 1);
        let err = sim
            .run_until(Instant::from_secs(1), |_, b, _| b.received == 2)
            .unwrap_err();
        assert!(matches!(err, SimError::Deadlock { .. }), "{err}");
    }

    #[test]
    fn sim_stops_at_the_limit() {
        let mut sim = Sim::new(pinger(100), pinger(0), LinkConfig::default(), 1);
        let err = sim
            .run_until(Instant::from_millis(10), |_, b, _| b.received == 100)
            .unwrap_err();
        assert_eq!(
            err,
            SimError::Timeout {
                at: Instant::from_millis(10)
            }
        );
        assert_eq!(sim.b.received, 11);
    }

    /// Always asks to run now, never sends.
    struct Spinner;

    impl Endpoint for Spinner {
        fn ingress(&mut self, _now: Instant, _frame: &[u8]) {}
        fn egress(&mut self, _now: Instant, _buf: &mut [u8]) -> usize {
            0
        }
        fn poll_at(&self) -> Option<Instant> {
            Some(Instant::ZERO)
        }
    }

    #[test]
    fn sim_reports_a_stalled_endpoint() {
        let mut sim = Sim::new(Spinner, pinger(0), LinkConfig::default(), 1);
        let err = sim
            .run_until(Instant::from_secs(1), |_, _, _| false)
            .unwrap_err();
        assert!(matches!(err, SimError::Stalled { .. }), "{err}");
    }

    /// Echoes every frame back, forever.
    struct Echo(Vec<Vec<u8>>);

    impl Endpoint for Echo {
        fn ingress(&mut self, _now: Instant, frame: &[u8]) {
            self.0.push(frame.to_vec());
        }
        fn egress(&mut self, _now: Instant, buf: &mut [u8]) -> usize {
            match self.0.pop() {
                Some(f) => {
                    buf[..f.len()].copy_from_slice(&f);
                    f.len()
                }
                None => 0,
            }
        }
        fn poll_at(&self) -> Option<Instant> {
            None
        }
    }

    #[test]
    fn sim_bounds_endless_chatter() {
        let mut sim = Sim::new(
            Echo(vec![vec![1]]),
            Echo(Vec::new()),
            LinkConfig::default(),
            1,
        );
        sim.max_rounds = 1000;
        let err = sim
            .run_until(Instant::from_secs(1), |_, _, _| false)
            .unwrap_err();
        assert!(matches!(err, SimError::RoundLimit { .. }), "{err}");
    }

    #[test]
    fn sim_real_clock_sleeps_until_deadlines() {
        let start = std::time::Instant::now();
        let clock = || Instant::from_micros(start.elapsed().as_micros() as u64);
        let cfg = LinkConfig::delayed(Duration::from_millis(2));
        let mut sim = Sim::new(pinger(3), pinger(0), cfg, 1);
        let at = sim
            .run_until_real(Instant::from_secs(5), clock, |_, b, _| b.received == 3)
            .unwrap();
        // Frames leave at ~0, 1 and 2 ms and take 2 ms.
        assert!(at >= Instant::from_millis(4), "{at}");
        assert!(start.elapsed() >= std::time::Duration::from_millis(4));
    }
}
