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
    last_activity: Option<Instant>,
    /// Since when the sender has been application-limited or idle (RFC 9438 §5.8).
    app_limited_since: Option<Instant>,
    cubic: Cubic,
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
            last_activity: None,
            app_limited_since: None,
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
        self.last_activity = Some(now);
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
            // RFC 5681 §3.1 slow start with RFC 3465 §2.2 byte counting, L = 2 SMSS per ACK.
            let inc = acked.min(self.smss.saturating_mul(2));
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
        self.last_activity = Some(now);
        self.app_limited_since = None;
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
        self.last_activity = Some(now);
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
        self.last_activity = Some(now);
        self.app_limited_since = None;
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
        let Some(last) = self.last_activity else {
            return;
        };
        self.last_activity = Some(now);
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

