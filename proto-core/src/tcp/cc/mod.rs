//! Congestion control: the size of the congestion window.
//!
//! RFCs: 5681 (TCP congestion control: slow start, congestion avoidance, restart after idle),
//! 3465 (Appropriate Byte Counting), 6928 (initial window), 6582 (NewReno recovery exit),
//! 6675 (SACK-based recovery exit), 9438 (CUBIC, the default), 7661 (no growth while
//! application-limited).
//!
//! This module only sizes the window. The connection detects loss (duplicate ACKs, the RFC 6675
//! scoreboard, the retransmission timer) and reports events; it also decides when the sender
//! is cwnd-limited. Call order, per connection:
//!
//! 1. [`CongestionControl::new`] with the MSS we would send, then
//!    [`set_smss`](CongestionControl::set_smss) once the peer's MSS option is known (and
//!    [`on_syn_lost`](CongestionControl::on_syn_lost) if the SYN had to be retransmitted).
//! 2. For every ACK that acknowledges new data outside loss recovery:
//!    [`on_ack`](CongestionControl::on_ack).
//! 3. On entering fast recovery (third duplicate ACK or the RFC 6675 trigger):
//!    [`on_congestion_event`](CongestionControl::on_congestion_event); no `on_ack` during
//!    recovery; on leaving it: [`on_recovery_exit`](CongestionControl::on_recovery_exit).
//! 4. On a retransmission timeout: [`on_rto`](CongestionControl::on_rto).
//! 5. When new data is about to be sent with nothing in flight:
//!    [`on_idle_restart`](CongestionControl::on_idle_restart).
//!
//! All windows are in bytes. Congestion avoidance for NewReno is byte-counted (RFC 3465 §2.1:
//! one SMSS per cwnd bytes acknowledged), which is exact under delayed and stretch ACKs where
//! the per-ACK `SMSS*SMSS/cwnd` rule undercounts. CUBIC works in integers too; its precision is
//! documented in `cubic.rs` (windows exact to the byte, `t - K` to the millisecond). All
//! arithmetic saturates: no event sequence overflows, whatever the window (up to `u32::MAX`)
//! or the time (up to centuries).

mod cubic;

use crate::time::{Duration, Instant};
use cubic::{BETA_DEN, BETA_NUM, Cubic};

/// The window-growth algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// CUBIC (RFC 9438), the default.
    #[default]
    Cubic,
    /// NewReno (RFC 5681 growth, RFC 6582 recovery).
    NewReno,
}

/// The congestion window and slow-start threshold of one connection, in bytes.
///
/// ```
/// use proto_core::tcp::cc::{Algorithm, CongestionControl};
/// use proto_core::time::{Duration, Instant};
///
/// let mut cc = CongestionControl::new(Algorithm::Cubic, 1460);
/// assert_eq!(cc.cwnd(), 14600); // RFC 6928: 10 segments
/// let rtt = Duration::from_millis(10);
/// cc.on_ack(Instant::from_millis(10), 1460, rtt, true); // slow start: +1 SMSS
/// assert_eq!(cc.cwnd(), 16060);
/// cc.on_congestion_event(Instant::from_millis(20), 16060); // fast retransmit
/// assert_eq!(cc.ssthresh(), 16060 * 7 / 10); // beta_cubic = 0.7
/// assert_eq!(cc.cwnd(), cc.ssthresh());
/// cc.on_rto(Instant::from_millis(900), 11242);
/// assert_eq!(cc.cwnd(), 1460); // the loss window
/// ```
#[derive(Debug, Clone)]
pub struct CongestionControl {
    algo: Algorithm,
    /// Sender maximum segment size, at least 1.
    smss: u32,
    cwnd: u32,
    ssthresh: u32,
    /// No data acknowledged yet: [`set_smss`](Self::set_smss) may resize the initial window.
    pristine: bool,
    /// The SYN was retransmitted: the initial window is one segment (RFC 6928 §2).
    syn_lost: bool,
    /// An RTO fired and no new data has been acknowledged since (RFC 5681 §3.1 note on
    /// repeated timeouts: ssthresh is held constant).
    in_rto_loss: bool,
    /// NewReno's `bytes_acked` of RFC 3465 §2.1.
    bytes_acked: u64,
    /// The last ACK or event seen, to measure idle periods.
    last_activity: OptInstant,
    /// Since when the sender has been application-limited or idle (RFC 9438 §5.8).
    app_limited_since: OptInstant,
    cubic: Cubic,
}

/// An `Option<Instant>` in 8 bytes (`u64::MAX` for none), for state every connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OptInstant(u64);

impl OptInstant {
    const NONE: Self = Self(u64::MAX);

    #[inline]
    fn some(at: Instant) -> Self {
        Self(at.micros().min(u64::MAX - 1))
    }

    #[inline]
    fn get(self) -> Option<Instant> {
        (self != Self::NONE).then_some(Instant::from_micros(self.0))
    }

    #[inline]
    fn take(&mut self) -> Option<Instant> {
        let v = self.get();
        *self = Self::NONE;
        v
    }

    #[inline]
    fn get_or_insert(&mut self, at: Instant) {
        if *self == Self::NONE {
            *self = Self::some(at);
        }
    }
}

/// RFC 6928 §2: `IW = min(10*SMSS, max(2*SMSS, 14600))`.
#[inline]
fn rfc6928_initial_window(smss: u32) -> u32 {
    smss.saturating_mul(10)
        .min(smss.saturating_mul(2).max(14_600))
}

impl CongestionControl {
    /// A window for a new connection sending segments of at most `smss` bytes (0 counts as
    /// 1): cwnd = the initial window of RFC 6928 §2, ssthresh "arbitrarily high" (RFC 5681
    /// §3.1: `u32::MAX`).
    pub fn new(algo: Algorithm, smss: u32) -> Self {
        let smss = smss.max(1);
        Self {
            algo,
            smss,
            cwnd: rfc6928_initial_window(smss),
            ssthresh: u32::MAX,
            pristine: true,
            syn_lost: false,
            in_rto_loss: false,
            bytes_acked: 0,
            last_activity: OptInstant::NONE,
            app_limited_since: OptInstant::NONE,
            cubic: Cubic::default(),
        }
    }

    /// Sets the sender MSS (once the peer's MSS option is known). Before any data has been
    /// acknowledged, the initial window is recomputed for it (RFC 6928 §2).
    pub fn set_smss(&mut self, smss: u32) {
        self.smss = smss.max(1);
        if self.pristine {
            self.cwnd = self.initial_window();
        }
    }

    /// The SYN or SYN-ACK was retransmitted: the initial window is one segment (RFC 6928 §2,
    /// "MUST be one segment"; RFC 5681 §3.1). No effect once data has been acknowledged.
    pub fn on_syn_lost(&mut self) {
        self.syn_lost = true;
        if self.pristine {
            self.cwnd = self.initial_window();
        }
    }

    /// The congestion window, bytes.
    #[inline]
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }

    /// The slow-start threshold, bytes (`u32::MAX` until the first loss).
    #[inline]
    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    /// The sender MSS, bytes.
    #[inline]
    pub fn smss(&self) -> u32 {
        self.smss
    }

    /// `cwnd < ssthresh` (RFC 5681 §3.1).
    #[inline]
    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// The growth algorithm.
    #[inline]
    pub fn algorithm(&self) -> Algorithm {
        self.algo
    }

    /// The initial window (RFC 6928 §2), one segment after a lost SYN.
    #[inline]
    fn initial_window(&self) -> u32 {
        if self.syn_lost {
            self.smss
        } else {
            rfc6928_initial_window(self.smss)
        }
    }

    /// `acked` bytes of new data were acknowledged outside loss recovery.
    ///
    /// `rtt` is the smoothed RTT (or the latest sample; zero when none yet): CUBIC aims at
    /// the window one RTT ahead (RFC 9438 §4.2). `cwnd_limited` is false when the sender was
    /// application-limited (it had less data than the window allowed, e.g. flight size below
    /// `cwnd - SMSS` with an empty send queue): the window does not grow then (RFC 7661 §4.1,
    /// RFC 9438 §5.8), and CUBIC's clock does not run.
    pub fn on_ack(&mut self, now: Instant, acked: u32, rtt: Duration, cwnd_limited: bool) {
        self.last_activity = OptInstant::some(now);
        if acked == 0 {
            return;
        }
        self.pristine = false;
        self.in_rto_loss = false;
        if !cwnd_limited {
            self.app_limited_since.get_or_insert(now);
            return;
        }
        if let Some(since) = self.app_limited_since.take() {
            // RFC 9438 §5.8: t MUST NOT include application-limited or idle periods.
            self.cubic.shift_epoch(now - since, now);
        }

        let mut acked = acked;
        if self.cwnd < self.ssthresh {
            // RFC 5681 §3.1 slow start with RFC 3465 §2.2 byte counting. Every acknowledged
            // byte counts (no L limit, as Linux's `tcp_slow_start`): a receiver that ACKs a
            // whole window at once (GRO, coalescing, a loss-free burst) would otherwise turn
            // slow start into linear growth. cwnd still at most doubles per RTT, since an
            // RTT acknowledges at most cwnd bytes.
            let inc = acked;
            let room = self.ssthresh - self.cwnd;
            if inc <= room {
                self.cwnd = self.cwnd.saturating_add(inc);
                return;
            }
            // Reached ssthresh: what is left over counts towards congestion avoidance.
            self.cwnd = self.ssthresh;
            acked = inc - room;
        }
        self.cwnd = match self.algo {
            Algorithm::NewReno => self.newreno_congestion_avoidance(acked),
            Algorithm::Cubic => self.cubic.on_ack(now, self.cwnd, self.smss, acked, rtt),
        };
    }

    /// RFC 5681 §3.1 congestion avoidance, byte-counted per RFC 3465 §2.1: when
    /// `bytes_acked >= cwnd`, subtract cwnd and grow by one SMSS. At most one SMSS per ACK;
    /// the carry is bounded by cwnd.
    #[inline]
    fn newreno_congestion_avoidance(&mut self, acked: u32) -> u32 {
        let cwnd = u64::from(self.cwnd);
        self.bytes_acked = self.bytes_acked.saturating_add(u64::from(acked));
        if self.bytes_acked < cwnd {
            return self.cwnd;
        }
        self.bytes_acked = (self.bytes_acked - cwnd).min(cwnd);
        self.cwnd.saturating_add(self.smss)
    }

    /// `flight_size * beta`, at least 2 SMSS: RFC 5681 §3.1 eq. (4) (beta = 1/2) or RFC 9438
    /// §4.6 (beta_cubic = 0.7).
    #[inline]
    fn reduced_ssthresh(&self, flight_size: u32) -> u32 {
        let flight = u64::from(flight_size);
        let reduced = match self.algo {
            Algorithm::NewReno => flight / 2,
            Algorithm::Cubic => flight * BETA_NUM / BETA_DEN,
        };
        // reduced <= flight_size, so it fits a u32.
        let reduced = u32::try_from(reduced).unwrap_or(u32::MAX);
        reduced.max(self.smss.saturating_mul(2))
    }

    /// Loss detected by fast retransmit or SACK: the connection enters recovery.
    ///
    /// `flight_size` is the data outstanding when the loss was detected (RFC 5681 §3.1:
    /// FlightSize, not cwnd). ssthresh = `max(flight_size * beta, 2*SMSS)` (RFC 5681 eq. (4),
    /// beta = 1/2; RFC 9438 §4.6, beta = 0.7) and cwnd = ssthresh (RFC 6675 §5 step 4.2);
    /// CUBIC records W_max with fast convergence (§4.7) and starts a new epoch at the first
    /// ACK after recovery.
    pub fn on_congestion_event(&mut self, now: Instant, flight_size: u32) {
        self.last_activity = OptInstant::some(now);
        self.app_limited_since = OptInstant::NONE;
        self.ssthresh = self.reduced_ssthresh(flight_size);
        if self.algo == Algorithm::Cubic {
            self.cubic.on_congestion_event(self.cwnd);
        }
        self.cwnd = self.ssthresh;
        self.bytes_acked = 0;
    }

    /// Loss recovery is over (the ACK covering the recovery point arrived): cwnd = ssthresh
    /// (RFC 6582 §3.2 step 3, option 2; RFC 6675 §5).
    pub fn on_recovery_exit(&mut self, now: Instant) {
        self.last_activity = OptInstant::some(now);
        self.cwnd = self.ssthresh;
        self.bytes_acked = 0;
    }

    /// The retransmission timer expired.
    ///
    /// RFC 5681 §3.1: ssthresh = eq. (4) (`max(flight_size * beta, 2*SMSS)`, beta = 1/2, or
    /// beta_cubic per RFC 9438 §4.8), then cwnd = the loss window, 1 SMSS. When the timer
    /// fires again before any new data is acknowledged, ssthresh is held constant (RFC 5681
    /// §3.1, note on repeated timeouts). CUBIC (§4.8): the next congestion-avoidance stage
    /// starts with K = 0 and W_max = its initial window.
    pub fn on_rto(&mut self, now: Instant, flight_size: u32) {
        self.last_activity = OptInstant::some(now);
        self.app_limited_since = OptInstant::NONE;
        if !self.in_rto_loss {
            self.ssthresh = self.reduced_ssthresh(flight_size);
            if self.algo == Algorithm::Cubic {
                self.cubic.on_rto(self.cwnd);
            }
            self.in_rto_loss = true;
        }
        self.cubic.reset_epoch();
        self.cwnd = self.smss;
        self.bytes_acked = 0;
    }

    /// New data is about to be sent with nothing in flight (the connection was idle).
    ///
    /// If nothing was heard for longer than `rto` (the idle time is measured from the last
    /// ACK or event this window saw), RFC 5681 §4.1: cwnd = min(cwnd, IW); like Linux, and as
    /// RFC 2861 §3 suggests, ssthresh is first raised to at least 3/4 of the old cwnd so that
    /// slow start quickly regains it; CUBIC starts a new epoch. In every case the idle time
    /// does not count in CUBIC's `t` (RFC 9438 §5.8).
    pub fn on_idle_restart(&mut self, now: Instant, rto: Duration) {
        let Some(last) = self.last_activity.get() else {
            return;
        };
        self.last_activity = OptInstant::some(now);
        // §5.8: idle time is excluded from t, counted from the last activity (or from the
        // start of an application-limited stretch that led into the idle period).
        self.app_limited_since.get_or_insert(last);
        if now - last <= rto {
            return;
        }
        let restart_window = rfc6928_initial_window(self.smss);
        if self.cwnd > restart_window {
            let three_quarters = u32::try_from(u64::from(self.cwnd) * 3 / 4).unwrap_or(u32::MAX);
            self.ssthresh = self.ssthresh.max(three_quarters);
            self.cwnd = restart_window;
        }
        self.cubic.reset_epoch();
        self.bytes_acked = 0;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const MSS: u32 = 1460;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn at_ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    /// A connection in congestion avoidance at `segments` segments (ssthresh below cwnd).
    fn in_ca(algo: Algorithm, segments: u32) -> CongestionControl {
        let mut cc = CongestionControl::new(algo, MSS);
        cc.cwnd = segments * MSS;
        cc.ssthresh = 2 * MSS;
        cc.pristine = false;
        cc
    }

    /// One RTT of a cwnd-limited flow: the window is acked in ACKs of `per_ack` segments,
    /// evenly spread over `rtt`. Returns the time at the end.
    fn run_rtt(cc: &mut CongestionControl, now: Instant, rtt: Duration, per_ack: u32) -> Instant {
        let n = (cc.cwnd() / (per_ack * MSS)).max(1);
        let mut t = now;
        for i in 1..=u64::from(n) {
            t = now + Duration::from_micros(rtt.micros() * i / u64::from(n));
            cc.on_ack(t, per_ack * MSS, rtt, true);
        }
        t
    }

    /// RFC 9438 eq. (1) and (2) in floating point, in segments.
    fn w_cubic_ref(t: f64, w_max: f64, cwnd_epoch: f64) -> f64 {
        let k = ((w_max - cwnd_epoch) / 0.4).cbrt();
        0.4 * (t - k).powi(3) + w_max
    }

    fn segs(bytes: u32) -> f64 {
        f64::from(bytes) / f64::from(MSS)
    }

    // RFC 6928 §2: IW = min(10*SMSS, max(2*SMSS, 14600)); RFC 5681 §3.1: ssthresh arbitrarily high.
    #[test]
    fn initial_window_follows_rfc6928() {
        for (smss, iw) in [(1460, 14_600), (536, 5_360), (9000, 18_000), (1, 10)] {
            let cc = CongestionControl::new(Algorithm::default(), smss);
            assert_eq!(cc.cwnd(), iw, "smss {smss}");
            assert_eq!(cc.ssthresh(), u32::MAX);
            assert!(cc.in_slow_start());
        }
        assert_eq!(Algorithm::default(), Algorithm::Cubic);
        assert_eq!(
            CongestionControl::new(Algorithm::NewReno, u32::MAX).cwnd(),
            u32::MAX
        );
    }

    // RFC 6928 §2: the initial window depends on the SMSS learnt in the handshake.
    #[test]
    fn set_smss_rescales_initial_window_until_data_acked() {
        let mut cc = CongestionControl::new(Algorithm::Cubic, 536);
        assert_eq!(cc.cwnd(), 5_360);
        cc.set_smss(1460);
        assert_eq!(cc.cwnd(), 14_600);
        cc.on_ack(at_ms(1), 1460, ms(1), true);
        assert_eq!(cc.cwnd(), 16_060);
        cc.set_smss(1000);
        assert_eq!(cc.cwnd(), 16_060);
        assert_eq!(cc.smss(), 1000);
    }

    // RFC 6928 §2: after a lost SYN the initial window MUST be one segment.
    #[test]
    fn syn_lost_makes_initial_window_one_segment() {
        let mut cc = CongestionControl::new(Algorithm::NewReno, 536);
        cc.on_syn_lost();
        assert_eq!(cc.cwnd(), 536);
        cc.set_smss(MSS);
        assert_eq!(cc.cwnd(), MSS);
    }

    // RFC 5681 §3.1: slow start doubles cwnd every RTT when each segment is acked.
    #[test]
    fn slow_start_doubles_per_rtt() {
        for algo in [Algorithm::NewReno, Algorithm::Cubic] {
            let mut cc = CongestionControl::new(algo, MSS);
            let mut now = Instant::ZERO;
            for round in 1..=5 {
                now = run_rtt(&mut cc, now, ms(50), 1);
                assert_eq!(cc.cwnd(), (10 * MSS) << round, "{algo:?} round {round}");
            }
        }
    }

    // RFC 3465 §2.2: with delayed ACKs (one per two segments) byte counting still doubles.
    #[test]
    fn slow_start_doubles_with_delayed_acks() {
        let mut cc = CongestionControl::new(Algorithm::Cubic, MSS);
        run_rtt(&mut cc, Instant::ZERO, ms(50), 2);
        assert_eq!(cc.cwnd(), 20 * MSS);
    }

    // RFC 3465 §2.2 byte counting without the L limit: a stretch ACK of a whole window
    // grows cwnd by all of it (cwnd still at most doubles per RTT).
    #[test]
    fn slow_start_counts_every_byte_of_a_stretch_ack() {
        let mut cc = CongestionControl::new(Algorithm::NewReno, MSS);
        cc.on_ack(at_ms(1), 10 * MSS, ms(1), true);
        assert_eq!(cc.cwnd(), 20 * MSS);
        cc.on_ack(at_ms(2), 100, ms(1), true);
        assert_eq!(cc.cwnd(), 20 * MSS + 100);
    }

    // RFC 5681 §3.1: slow start ends at ssthresh; the rest of the ACK is congestion avoidance.
    #[test]
    fn slow_start_stops_at_ssthresh() {
        let mut cc = CongestionControl::new(Algorithm::NewReno, MSS);
        cc.ssthresh = 10 * MSS + 100;
        cc.on_ack(at_ms(1), 2 * MSS, ms(1), true);
        assert_eq!(cc.cwnd(), 10 * MSS + 100);
        assert!(!cc.in_slow_start());
        assert_eq!(cc.bytes_acked, u64::from(2 * MSS - 100));
    }

    // RFC 5681 §3.1 with RFC 3465 §2.1: congestion avoidance adds one SMSS per RTT.
    #[test]
    fn newreno_congestion_avoidance_adds_one_smss_per_rtt() {
        let mut cc = in_ca(Algorithm::NewReno, 20);
        let mut now = Instant::ZERO;
        for round in 1..=10 {
            now = run_rtt(&mut cc, now, ms(50), 1);
            assert_eq!(cc.cwnd(), (20 + round) * MSS);
        }
        // Delayed ACKs make no difference with byte counting.
        let mut cc = in_ca(Algorithm::NewReno, 20);
        run_rtt(&mut cc, Instant::ZERO, ms(50), 2);
        assert_eq!(cc.cwnd(), 21 * MSS);
    }

    // RFC 3465 §2.1: a stretch ACK grows cwnd by at most one SMSS, and the carry is bounded.
    #[test]
    fn newreno_stretch_ack_grows_at_most_one_smss() {
        let mut cc = in_ca(Algorithm::NewReno, 20);
        cc.on_ack(at_ms(1), 100 * MSS, ms(1), true);
        assert_eq!(cc.cwnd(), 21 * MSS);
        assert!(cc.bytes_acked <= u64::from(cc.cwnd()));
    }

    // RFC 5681 eq. (4): ssthresh = FlightSize/2; cwnd = ssthresh (RFC 6675 §5).
    #[test]
    fn newreno_congestion_event_halves_flight_size() {
        let mut cc = in_ca(Algorithm::NewReno, 100);
        cc.on_congestion_event(at_ms(1), 80 * MSS);
        assert_eq!(cc.ssthresh(), 40 * MSS);
        assert_eq!(cc.cwnd(), 40 * MSS);
    }

    // RFC 9438 §4.6: ssthresh = flight_size * 0.7; §4.7: W_max = cwnd.
    #[test]
    fn cubic_congestion_event_uses_beta_0_7() {
        let mut cc = in_ca(Algorithm::Cubic, 100);
        cc.on_congestion_event(at_ms(1), 100 * MSS);
        assert_eq!(cc.ssthresh(), 70 * MSS);
        assert_eq!(cc.cwnd(), 70 * MSS);
        assert_eq!(cc.cubic.w_max, u64::from(100 * MSS));
        assert_eq!(cc.cubic.cwnd_prior, u64::from(100 * MSS));
    }

    // RFC 5681 eq. (4) and RFC 9438 §4.6: ssthresh is at least 2*SMSS.
    #[test]
    fn ssthresh_floors_at_two_smss() {
        for algo in [Algorithm::NewReno, Algorithm::Cubic] {
            let mut cc = in_ca(algo, 100);
            cc.on_congestion_event(at_ms(1), MSS);
            assert_eq!(cc.ssthresh(), 2 * MSS);
            assert_eq!(cc.cwnd(), 2 * MSS);
            let mut cc = in_ca(algo, 100);
            cc.on_rto(at_ms(1), 0);
            assert_eq!(cc.ssthresh(), 2 * MSS);
        }
    }

    // RFC 6582 §3.2 step 3 / RFC 6675 §5: leaving recovery sets cwnd = ssthresh.
    #[test]
    fn recovery_exit_sets_cwnd_to_ssthresh() {
        let mut cc = in_ca(Algorithm::NewReno, 100);
        cc.on_congestion_event(at_ms(1), 100 * MSS);
        cc.cwnd = 3 * MSS; // whatever the connection did during recovery
        cc.on_recovery_exit(at_ms(100));
        assert_eq!(cc.cwnd(), 50 * MSS);
    }

    // RFC 5681 §3.1: on RTO, ssthresh by eq. (4) (RFC 9438 §4.8: beta_cubic) and cwnd = 1 SMSS.
    #[test]
    fn rto_sets_cwnd_to_one_smss() {
        for (algo, ssthresh) in [(Algorithm::NewReno, 50), (Algorithm::Cubic, 70)] {
            let mut cc = in_ca(algo, 100);
            cc.on_rto(at_ms(1), 100 * MSS);
            assert_eq!(cc.cwnd(), MSS);
            assert_eq!(cc.ssthresh(), ssthresh * MSS);
            assert!(cc.in_slow_start());
        }
    }

    // RFC 5681 §3.1 note: ssthresh is held constant over repeated timeouts of the same data.
    #[test]
    fn repeated_rto_holds_ssthresh() {
        let mut cc = in_ca(Algorithm::NewReno, 100);
        cc.on_rto(at_ms(1), 100 * MSS);
        cc.on_rto(at_ms(1000), MSS);
        assert_eq!(cc.ssthresh(), 50 * MSS);
        assert_eq!(cc.cwnd(), MSS);
        // Once new data is acknowledged, a later timeout is a new loss event.
        cc.on_ack(at_ms(1100), MSS, ms(100), true);
        cc.on_rto(at_ms(2000), 10 * MSS);
        assert_eq!(cc.ssthresh(), 5 * MSS);
    }

    // RFC 9438 §4.8: after an RTO the first CA stage has K = 0 and W_max = cwnd at its start.
    #[test]
    fn cubic_after_rto_starts_epoch_with_k_zero() {
        let mut cc = in_ca(Algorithm::Cubic, 100);
        cc.on_rto(at_ms(0), 100 * MSS);
        let mut now = at_ms(0);
        while cc.in_slow_start() {
            now = run_rtt(&mut cc, now, ms(100), 1);
        }
        now += ms(1);
        cc.on_ack(now, MSS, ms(100), true);
        let e = cc.cubic.epoch.as_ref().unwrap();
        assert_eq!(e.k_us, 0);
        assert_eq!(e.origin, u64::from(70 * MSS));
        assert_eq!(cc.cubic.w_max, u64::from(70 * MSS));
    }

    // RFC 9438 §4.7: a loss below the previous W_max sets W_max = cwnd * (1 + beta) / 2.
    #[test]
    fn cubic_fast_convergence_lowers_w_max() {
        let mut cc = in_ca(Algorithm::Cubic, 100);
        cc.on_congestion_event(at_ms(0), 100 * MSS);
        assert_eq!(cc.cubic.w_max, u64::from(100 * MSS));
        cc.on_recovery_exit(at_ms(100));
        cc.on_congestion_event(at_ms(200), 70 * MSS);
        assert_eq!(cc.cubic.w_max, u64::from(70 * MSS) * 17 / 20);
        assert_eq!(cc.ssthresh(), 49 * MSS);
        // A loss above W_max records cwnd itself.
        cc.cwnd = 80 * MSS;
        cc.on_congestion_event(at_ms(300), 80 * MSS);
        assert_eq!(cc.cubic.w_max, u64::from(80 * MSS));
    }

    // RFC 9438 §4.2, eq. (1) and (2): the integer curve matches the formula within 1%.
    #[test]
    fn cubic_curve_matches_rfc_formula() {
        for w_max in [10u32, 100, 1000, 30_000] {
            let mut cc = in_ca(Algorithm::Cubic, w_max);
            cc.on_congestion_event(at_ms(0), w_max * MSS);
            cc.on_recovery_exit(at_ms(0));
            let cwnd_epoch = segs(cc.cwnd());
            cc.on_ack(at_ms(0), MSS, ms(100), true);
            let e = cc.cubic.epoch.as_ref().unwrap();
            let k_ref = ((f64::from(w_max) - cwnd_epoch) / 0.4).cbrt();
            assert!((e.k_us as f64 / 1e6 - k_ref).abs() < 1e-5, "K for {w_max}");
            for t_ms in (0..60_000u64).step_by(250) {
                let got = e.w_cubic(t_ms * 1000, MSS) as f64 / f64::from(MSS);
                let want = w_cubic_ref(t_ms as f64 / 1000.0, f64::from(w_max), cwnd_epoch);
                let err = (got - want).abs() / want;
                assert!(err < 0.01, "w_max {w_max} t {t_ms} ms: {got} vs {want}");
            }
        }
    }

    // RFC 9438 §4.2-4.5: after a loss, cwnd tracks W_cubic(t) (it aims one RTT ahead).
    #[test]
    fn cubic_window_follows_curve_after_loss() {
        let rtt = ms(100);
        let mut cc = in_ca(Algorithm::Cubic, 1000);
        cc.on_congestion_event(at_ms(0), 1000 * MSS);
        cc.on_recovery_exit(at_ms(0));
        let cwnd_epoch = segs(cc.cwnd());
        // The epoch starts at the first ACK, at t = 0.
        cc.on_ack(at_ms(0), MSS, rtt, true);
        let mut now = at_ms(0);
        for _ in 0..150 {
            now = run_rtt(&mut cc, now, rtt, 1);
            let t = now.micros() as f64 / 1e6;
            let lo = w_cubic_ref(t, 1000.0, cwnd_epoch);
            let hi = w_cubic_ref(t + 0.1, 1000.0, cwnd_epoch);
            let got = segs(cc.cwnd());
            assert!(
                got >= lo * 0.99 && got <= hi * 1.01,
                "t {t}: {got} not in [{lo}, {hi}]"
            );
        }
    }

    // RFC 9438 §4.4/§4.5: growth slows while approaching W_max (concave) and speeds up past
    // K (convex).
    #[test]
    fn cubic_concave_then_convex_around_k() {
        let rtt = ms(100);
        let mut cc = in_ca(Algorithm::Cubic, 1000);
        cc.on_congestion_event(at_ms(0), 1000 * MSS);
        cc.on_ack(at_ms(0), MSS, rtt, true);
        let k_ms = cc.cubic.epoch.as_ref().unwrap().k_us / 1000;
        let mut now = at_ms(0);
        let mut samples: Vec<(u64, u32)> = Vec::new();
        while now.millis() < 2 * k_ms {
            now = run_rtt(&mut cc, now, rtt, 1);
            samples.push((now.millis(), cc.cwnd()));
        }
        let growth = |from: u64, to: u64| {
            let w = |t: u64| samples.iter().find(|s| s.0 >= t).unwrap().1;
            i64::from(w(to)) - i64::from(w(from))
        };
        let second = 1000;
        // Concave: each second adds less than the one before, until K.
        let early = growth(0, second);
        let mid = growth(2 * second, 3 * second);
        let late = growth(k_ms - second, k_ms);
        assert!(
            early > mid && mid > late && late >= 0,
            "{early} {mid} {late}"
        );
        // At K the window is at W_max.
        let at_k = samples.iter().find(|s| s.0 >= k_ms).unwrap().1;
        assert!((segs(at_k) - 1000.0).abs() < 10.0, "{}", segs(at_k));
        // Convex: each second adds more than the one before.
        let after = growth(k_ms, k_ms + second);
        let later = growth(k_ms + 3 * second, k_ms + 4 * second);
        let latest = growth(2 * k_ms - second, 2 * k_ms - 100);
        assert!(after < later && later < latest, "{after} {later} {latest}");
        assert!(late < after + MSS as i64 * 2);
    }

    // RFC 9438 §4.3: with a small RTT and window, Reno-friendly W_est outgrows W_cubic and
    // cwnd follows it (alpha_cubic = 9/17, then 1 once W_est >= cwnd_prior).
    #[test]
    fn cubic_reno_friendly_region_at_small_rtt() {
        let rtt = ms(1);
        let mut cc = in_ca(Algorithm::Cubic, 20);
        cc.on_congestion_event(at_ms(0), 20 * MSS);
        let cwnd_epoch = segs(cc.cwnd());
        // Float shadow of W_est, per ACK.
        let mut w_est = cwnd_epoch;
        let mut now = at_ms(0);
        for _ in 0..200 {
            let n = cc.cwnd() / MSS;
            let start = now;
            for i in 1..=u64::from(n) {
                let alpha = if w_est >= 20.0 { 1.0 } else { 9.0 / 17.0 };
                w_est += alpha / segs(cc.cwnd());
                now = start + Duration::from_micros(rtt.micros() * i / u64::from(n));
                cc.on_ack(now, MSS, rtt, true);
            }
        }
        let t = now.micros() as f64 / 1e6;
        let cubic = w_cubic_ref(t, 20.0, cwnd_epoch);
        let got = segs(cc.cwnd());
        assert!(got > 2.0 * cubic, "{got} vs cubic {cubic}");
        assert!((got - w_est).abs() / w_est < 0.02, "{got} vs W_est {w_est}");
        // Roughly 11 RTTs at 9/17 segment, then one segment per RTT.
        assert!((195.0..215.0).contains(&got), "{got}");
    }

    // RFC 9438 §4.2: the target is at most 1.5 * cwnd, so cwnd grows at most 50% per RTT.
    #[test]
    fn cubic_target_clamped_to_one_and_a_half_cwnd() {
        let rtt = ms(100);
        let mut cc = in_ca(Algorithm::Cubic, 100);
        cc.on_congestion_event(at_ms(0), 100 * MSS);
        cc.on_ack(at_ms(0), MSS, rtt, true);
        let before = cc.cwnd();
        // Far beyond K, W_cubic is enormous.
        run_rtt(&mut cc, Instant::from_secs(1000), rtt, 1);
        let after = cc.cwnd();
        let limit = before + before / 2;
        assert!(
            after <= limit + MSS && after + MSS >= limit,
            "{before} -> {after}"
        );
    }

    // RFC 7661 §4.1 / RFC 9438 §5.8: no growth while application-limited.
    #[test]
    fn app_limited_acks_do_not_grow_cwnd() {
        for algo in [Algorithm::NewReno, Algorithm::Cubic] {
            let mut cc = CongestionControl::new(algo, MSS);
            for i in 1..100 {
                cc.on_ack(at_ms(i), MSS, ms(10), false);
            }
            assert_eq!(cc.cwnd(), 10 * MSS, "{algo:?} slow start");
            let mut cc = in_ca(algo, 50);
            for i in 1..1000 {
                cc.on_ack(at_ms(i), MSS, ms(10), false);
            }
            assert_eq!(cc.cwnd(), 50 * MSS, "{algo:?} congestion avoidance");
        }
    }

    // RFC 9438 §5.8: t does not include application-limited periods.
    #[test]
    fn cubic_app_limited_time_excluded_from_epoch() {
        let mut cc = in_ca(Algorithm::Cubic, 100);
        cc.on_congestion_event(at_ms(0), 100 * MSS);
        cc.on_ack(at_ms(10), MSS, ms(10), true);
        cc.on_ack(at_ms(1000), MSS, ms(10), false);
        cc.on_ack(at_ms(5000), MSS, ms(10), false);
        cc.on_ack(at_ms(6000), MSS, ms(10), true);
        assert_eq!(cc.cubic.epoch.as_ref().unwrap().start, at_ms(10 + 5000));
    }

    // RFC 5681 §4.1: after an idle period longer than RTO, cwnd = min(cwnd, IW).
    #[test]
    fn idle_restart_resets_to_initial_window() {
        for algo in [Algorithm::NewReno, Algorithm::Cubic] {
            let mut cc = in_ca(algo, 100);
            cc.ssthresh = 20 * MSS;
            cc.on_ack(at_ms(1000), MSS, ms(10), true);
            let cwnd = cc.cwnd();
            // Idle for less than RTO: nothing changes.
            cc.on_idle_restart(at_ms(1500), ms(1000));
            assert_eq!(cc.cwnd(), cwnd);
            // Idle for more than RTO.
            cc.on_idle_restart(at_ms(3000), ms(1000));
            assert_eq!(cc.cwnd(), 10 * MSS);
            // RFC 2861 §3: ssthresh keeps 3/4 of the old window.
            assert_eq!(cc.ssthresh(), cwnd * 3 / 4);
            assert!(cc.cubic.epoch.is_none());
        }
        // A window already below IW is kept; no activity yet means no idle period.
        let mut cc = CongestionControl::new(Algorithm::Cubic, MSS);
        cc.on_idle_restart(at_ms(100_000), ms(1000));
        assert_eq!(cc.cwnd(), 10 * MSS);
        cc.on_rto(at_ms(0), 5 * MSS);
        cc.on_idle_restart(at_ms(100_000), ms(1000));
        assert_eq!(cc.cwnd(), MSS);
    }

    // RFC 9438 §5.8: a short idle period shifts CUBIC's epoch instead of counting in t.
    #[test]
    fn cubic_idle_time_excluded_from_epoch() {
        let mut cc = in_ca(Algorithm::Cubic, 100);
        cc.on_congestion_event(at_ms(0), 100 * MSS);
        cc.on_ack(at_ms(100), MSS, ms(10), true);
        cc.on_ack(at_ms(200), MSS, ms(10), true);
        cc.on_idle_restart(at_ms(900), ms(1000));
        cc.on_ack(at_ms(950), MSS, ms(10), true);
        // Idle from the last ACK (200 ms) to the first cwnd-limited ACK (950 ms).
        assert_eq!(cc.cubic.epoch.as_ref().unwrap().start, at_ms(100 + 750));
    }

    // Saturation: windows near u32::MAX and hours of time neither overflow nor wrap.
    #[test]
    fn huge_windows_and_times_saturate() {
        for algo in [Algorithm::NewReno, Algorithm::Cubic] {
            let mut cc = in_ca(algo, 1);
            cc.cwnd = u32::MAX - 10;
            cc.on_ack(Instant::ZERO, u32::MAX, Duration::MAX, true);
            cc.on_ack(Instant::from_secs(10 * 3600), u32::MAX, Duration::MAX, true);
            cc.on_ack(
                Instant::from_micros(u64::MAX),
                u32::MAX,
                Duration::MAX,
                true,
            );
            assert_eq!(cc.cwnd(), u32::MAX);
            cc.on_congestion_event(Instant::from_micros(u64::MAX), u32::MAX);
            cc.on_ack(
                Instant::from_micros(u64::MAX),
                u32::MAX,
                Duration::MAX,
                true,
            );
            assert!(cc.cwnd() >= u32::MAX / 2);
        }
    }

    // The bit-by-bit cube root is the exact floor on the whole u128 range.
    #[test]
    fn integer_cube_root_is_exact_floor() {
        use super::cubic::icbrt;
        for n in [0u128, 1, 2, 7, 100, 12_345, 6_981_463_658_331] {
            assert_eq!(u128::from(icbrt(n * n * n)), n);
            if n > 0 {
                assert_eq!(u128::from(icbrt(n * n * n - 1)), n - 1);
            }
        }
        assert_eq!(icbrt(u128::MAX), 6_981_463_658_331);
    }

    #[derive(Debug, Clone)]
    enum Event {
        Ack(u32, u64, bool),
        Loss(u32),
        Rto(u32),
        Exit,
        Idle(u64),
        Smss(u32),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            4 => (any::<u32>(), any::<u64>(), any::<bool>()).prop_map(|(a, r, l)| Event::Ack(a, r, l)),
            1 => any::<u32>().prop_map(Event::Loss),
            1 => any::<u32>().prop_map(Event::Rto),
            1 => Just(Event::Exit),
            1 => any::<u64>().prop_map(Event::Idle),
            1 => any::<u32>().prop_map(Event::Smss),
        ]
    }

    proptest! {
        // No sequence of events overflows (debug builds check arithmetic), and after any
        // reduction ssthresh respects its 2*SMSS floor (RFC 5681 eq. (4)).
        #[test]
        fn no_event_sequence_overflows(
            cubic in any::<bool>(),
            smss in 1u32..65_536,
            steps in proptest::collection::vec((0u64..7_200_000_000, event()), 1..200),
        ) {
            let algo = if cubic { Algorithm::Cubic } else { Algorithm::NewReno };
            let mut cc = CongestionControl::new(algo, smss);
            let mut now = Instant::ZERO;
            for (dt, ev) in steps {
                now += Duration::from_micros(dt);
                match ev {
                    Event::Ack(acked, rtt, limited) => {
                        cc.on_ack(now, acked, Duration::from_micros(rtt), limited)
                    }
                    Event::Loss(flight) => {
                        cc.on_congestion_event(now, flight);
                        prop_assert!(cc.ssthresh() >= cc.smss().saturating_mul(2));
                        prop_assert_eq!(cc.cwnd(), cc.ssthresh());
                    }
                    Event::Rto(flight) => {
                        cc.on_rto(now, flight);
                        prop_assert_eq!(cc.cwnd(), cc.smss());
                    }
                    Event::Exit => cc.on_recovery_exit(now),
                    Event::Idle(rto) => cc.on_idle_restart(now, Duration::from_micros(rto)),
                    Event::Smss(s) => cc.set_smss(s),
                }
                prop_assert!(cc.cwnd() > 0);
            }
        }
    }
}
