//! One TCP connection: the RFC 9293 state machine with its send and receive sequence spaces,
//! timers, loss recovery and congestion control.
//!
//! # Call order
//!
//! 1. Create it with [`Connection::connect`] (active open), [`Connection::listen`] (passive
//!    open of a single connection) or [`Connection::accept`] (from a [`Listener`] handshake).
//! 2. Hand every segment of this connection to [`handle_segment`](Connection::handle_segment),
//!    checksum already verified.
//! 3. After any input (a segment, [`send`](Connection::send), [`recv`](Connection::recv),
//!    [`close`](Connection::close)) and whenever [`poll_at`](Connection::poll_at) is due, call
//!    [`poll_transmit`](Connection::poll_transmit) until it returns `None`; each call writes one
//!    complete TCP segment (header, options, payload, checksum) into the caller's buffer.
//!
//! Nothing here allocates: the send and receive buffers are the caller's storage.
//!
//! [`Listener`]: crate::tcp::Listener

mod input;
mod output;
mod timer;

#[cfg(test)]
mod tests;

use core::fmt;
use core::net::SocketAddr;

use crate::tcp::buffer::{RecvBuffer, SendBuffer};
use crate::tcp::cc::CongestionControl;
use crate::tcp::config::{Config, Keepalive};
use crate::tcp::isn::IsnGenerator;
use crate::tcp::rtt::RttEstimator;
use crate::tcp::sack::Scoreboard;
use crate::tcp::{FourTuple, Handshake};
use crate::time::{Duration, Instant};
use crate::wire::{IpAddrPair, TcpSeqNumber};

use self::timer::{Timer, Timers};

/// The RFC 9293 §3.3.2 connection states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a SYN.
    Listen,
    /// Our SYN is sent; waiting for the peer's.
    SynSent,
    /// Both SYNs seen; waiting for the ACK of ours.
    SynReceived,
    /// Data flows both ways.
    Established,
    /// We closed; our FIN is not acknowledged yet.
    FinWait1,
    /// We closed and our FIN is acknowledged; the peer may still send.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both closed; waiting 2 MSL so that stray segments die out.
    TimeWait,
}

impl State {
    /// True in the states where both ends have exchanged SYNs (RFC 9293 §3.5.2 "synchronized").
    #[inline]
    pub const fn is_synchronized(self) -> bool {
        !matches!(
            self,
            Self::Closed | Self::Listen | Self::SynSent | Self::SynReceived
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Closed => "CLOSED",
            Self::Listen => "LISTEN",
            Self::SynSent => "SYN-SENT",
            Self::SynReceived => "SYN-RECEIVED",
            Self::Established => "ESTABLISHED",
            Self::FinWait1 => "FIN-WAIT-1",
            Self::FinWait2 => "FIN-WAIT-2",
            Self::CloseWait => "CLOSE-WAIT",
            Self::Closing => "CLOSING",
            Self::LastAck => "LAST-ACK",
            Self::TimeWait => "TIME-WAIT",
        })
    }
}

/// Why a connection ended other than by an orderly close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer answered our SYN with a reset: nothing listens there (`ECONNREFUSED`).
    Refused,
    /// The peer reset the connection (`ECONNRESET`).
    Reset,
    /// Retransmissions, keepalive probes or the user timeout ran out (`ETIMEDOUT`).
    TimedOut,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Refused => "connection refused by the peer",
            Self::Reset => "connection reset by the peer",
            Self::TimedOut => "connection timed out",
        })
    }
}

impl core::error::Error for ConnectionError {}

/// Why [`Connection::send`] took nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is not open for sending in this state (never opened, or already
    /// closed for sending by [`Connection::close`]).
    InvalidState(State),
    /// The connection failed; the error says why.
    Failed(ConnectionError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidState(s) => write!(f, "cannot send in state {s}"),
            Self::Failed(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for SendError {}

/// Why [`Connection::recv`] returned no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecvError {
    /// The peer closed its side and every byte it sent has been read: end of stream.
    Finished,
    /// The connection never received anything in this state (still opening, or closed).
    InvalidState(State),
    /// The connection failed; the error says why. Unread data is discarded, as a reset
    /// requires (RFC 9293 §3.10.7.4).
    Failed(ConnectionError),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Finished => f.write_str("end of stream"),
            Self::InvalidState(s) => write!(f, "cannot receive in state {s}"),
            Self::Failed(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for RecvError {}

/// What a connection keeps of its [`Config`] after construction, compactly: it lives in
/// every connection (times in whole milliseconds or microseconds as `u32`, 0 for "off").
#[derive(Debug, Clone)]
pub(crate) struct ConnConfig {
    /// ISN and timestamp-offset key (a listening connection derives them on the SYN).
    pub(crate) secret: [u8; 16],
    ack_delay_us: u32,
    msl_ms: u32,
    user_timeout_ms: u32,
    keepalive_idle_ms: u32,
    keepalive_interval_ms: u32,
    keepalive_count: u32,
    max_rto_ms: u32,
    pub(crate) challenge_ack_limit: u32,
    pub(crate) max_retransmissions: u32,
    pub(crate) max_syn_retransmissions: u32,
    pub(crate) mss: u16,
    pub(crate) nagle: bool,
    keepalive_on: bool,
}

/// A duration in `u32` units of `unit_us` microseconds, saturating.
fn units(d: Duration, unit_us: u64) -> u32 {
    u32::try_from(d.micros().div_ceil(unit_us)).unwrap_or(u32::MAX)
}

impl ConnConfig {
    /// What connections made with `cfg` keep of it (a stack computes it once, not once
    /// per connection: the unit conversions divide).
    pub(crate) fn new(cfg: &Config) -> Self {
        let ka = cfg.keepalive.unwrap_or_default();
        Self {
            secret: cfg.secret,
            ack_delay_us: units(cfg.ack_delay, 1),
            msl_ms: units(cfg.msl, 1000),
            user_timeout_ms: cfg.user_timeout.map_or(0, |t| units(t, 1000).max(1)),
            keepalive_idle_ms: units(ka.idle, 1000),
            keepalive_interval_ms: units(ka.interval, 1000),
            keepalive_count: ka.count,
            max_rto_ms: units(cfg.rtt.max_rto, 1000),
            challenge_ack_limit: cfg.challenge_ack_limit,
            max_retransmissions: cfg.max_retransmissions,
            max_syn_retransmissions: cfg.max_syn_retransmissions,
            mss: cfg.mss,
            nagle: cfg.nagle,
            keepalive_on: cfg.keepalive.is_some(),
        }
    }

    /// `Config::ack_delay`.
    #[inline]
    pub(crate) fn ack_delay(&self) -> Duration {
        Duration::from_micros(u64::from(self.ack_delay_us))
    }

    /// `Config::msl`.
    #[inline]
    pub(crate) fn msl(&self) -> Duration {
        Duration::from_millis(u64::from(self.msl_ms))
    }

    /// `Config::user_timeout`.
    #[inline]
    pub(crate) fn user_timeout(&self) -> Option<Duration> {
        (self.user_timeout_ms > 0).then(|| Duration::from_millis(u64::from(self.user_timeout_ms)))
    }

    /// `Config::keepalive`.
    #[inline]
    pub(crate) fn keepalive(&self) -> Option<Keepalive> {
        self.keepalive_on.then(|| Keepalive {
            idle: Duration::from_millis(u64::from(self.keepalive_idle_ms)),
            interval: Duration::from_millis(u64::from(self.keepalive_interval_ms)),
            count: self.keepalive_count,
        })
    }

    /// `Config::rtt.max_rto`.
    #[inline]
    pub(crate) fn max_rto(&self) -> Duration {
        Duration::from_millis(u64::from(self.max_rto_ms))
    }
}

/// Separate ACKs a batch of in-order segments can owe before its final one.
pub(crate) const ACK_POINTS: usize = 3;

/// What a connection counted, for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Retransmission timeouts that fired with data outstanding.
    pub rtos: u32,
    /// Fast recoveries entered (RFC 6675 / RFC 6582).
    pub fast_recoveries: u32,
    /// Tail loss probes sent (RFC 8985 §7).
    pub loss_probes: u32,
    /// Retransmissions found lost and sent again without a timeout.
    pub lost_retransmissions: u32,
    /// Segments sent that carried old data (any retransmission).
    pub retransmitted_segments: u64,
}

/// Loss recovery in progress (RFC 6675 with SACK, RFC 6582 without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// RFC 6675 `RecoveryPoint` / RFC 6582 `recover`: recovery ends when this is acknowledged.
    pub(crate) recover: TcpSeqNumber,
}

/// RFC 7323 timestamp state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timestamps {
    /// `TS.Recent` (RFC 7323 §4.3).
    pub(crate) recent: u32,
    /// When `TS.Recent` was last set (for the 24-day PAWS validity, §5.5).
    pub(crate) recent_at: Instant,
    /// Our clock's random offset (RFC 7323 §5.4).
    pub(crate) offset: u32,
}

/// A TCP connection over caller-provided buffers `S` (`Vec<u8>`, `Box<[u8]>`, `&mut [u8]`,
/// `[u8; N]`...). See the [module docs](self) for the call order.
pub struct Connection<S: AsRef<[u8]> + AsMut<[u8]>> {
    pub(crate) cfg: ConnConfig,
    pub(crate) tuple: FourTuple,
    pub(crate) state: State,
    pub(crate) error: Option<ConnectionError>,

    // Send sequence space (RFC 9293 §3.3.1).
    pub(crate) iss: TcpSeqNumber,
    pub(crate) snd_una: TcpSeqNumber,
    /// The next sequence number to send: equal to `snd_max` except after an RTO, when it goes
    /// back to `snd_una` and walks forward again (go-back-N, skipping SACKed ranges).
    pub(crate) snd_nxt: TcpSeqNumber,
    /// One past the highest sequence number ever sent.
    pub(crate) snd_max: TcpSeqNumber,
    pub(crate) snd_wnd: u32,
    pub(crate) max_snd_wnd: u32,
    pub(crate) snd_wl1: TcpSeqNumber,
    pub(crate) snd_wl2: TcpSeqNumber,
    /// The peer's window shift (RFC 7323 §2.2), 0 without window scaling.
    pub(crate) snd_wscale: u8,
    /// The peer's MSS (RFC 9293 §3.7.1), clamped to what our buffers can carry.
    pub(crate) smss: u32,
    pub(crate) tx: SendBuffer<S>,
    /// The user closed: a FIN follows the last buffered byte.
    pub(crate) fin_queued: bool,
    /// Our FIN has been sent at least once.
    pub(crate) fin_sent: bool,
    /// Our SYN is acknowledged (so the send buffer starts at `snd_una`).
    pub(crate) syn_acked: bool,
    /// Our FIN is acknowledged.
    pub(crate) fin_acked: bool,

    // Receive sequence space.
    pub(crate) irs: TcpSeqNumber,
    pub(crate) rcv_nxt: TcpSeqNumber,
    /// The right edge of the window we last advertised (RFC 9293 §3.8.6.2.2: never moved left).
    pub(crate) rcv_adv: TcpSeqNumber,
    /// RFC 7323 §4.3 `Last.ACK.sent`: the acknowledgment number of our latest segment.
    pub(crate) last_ack_sent: TcpSeqNumber,
    /// Our window shift.
    pub(crate) rcv_wscale: u8,
    pub(crate) rx: RecvBuffer<S>,
    /// Sequence number of the peer's FIN, once seen (it may arrive before the data below it).
    pub(crate) peer_fin: Option<TcpSeqNumber>,
    /// The peer's FIN has been consumed (all data before it received).
    pub(crate) fin_received: bool,

    // Options negotiated on the handshake.
    pub(crate) ts: Option<Timestamps>,
    pub(crate) sack_ok: bool,
    /// The options our SYN offered, to echo in a SYN-ACK only what the peer offered.
    pub(crate) syn_opts: SynOptions,

    // Timers and the RTT estimator.
    pub(crate) timers: Timers,
    pub(crate) rtt: RttEstimator,
    /// Karn's rule timing without timestamps: one segment `(seq, sent at)` being timed.
    pub(crate) rtt_probe: Option<(TcpSeqNumber, Instant)>,
    /// Our TSval when the last retransmission timeout fired (see `sample_ts_rtt`).
    pub(crate) rto_tsval: Option<u32>,
    /// RTOs in a row without progress (RFC 9293 §3.8.3 R2).
    pub(crate) retransmits: u32,
    /// Persist or keepalive probes sent without an answer.
    pub(crate) probes: u32,
    /// Zero-window probes sent since the window was last open: the persist backoff, which an
    /// answer does not reset (RFC 1122 §4.2.2.17).
    pub(crate) persist_backoff: u32,
    /// The SYN (or SYN-ACK) is due to be sent.
    pub(crate) syn_due: bool,
    /// Last time anything was received (keepalive) and sent (idle restart).
    pub(crate) last_rx: Instant,
    pub(crate) last_tx: Instant,

    // Congestion control and loss recovery.
    pub(crate) cc: CongestionControl,
    pub(crate) scoreboard: Scoreboard,
    pub(crate) recovery: Option<Recovery>,
    /// RFC 6675 `HighRxt`: holes below it have been retransmitted in this recovery.
    pub(crate) high_rxt: TcpSeqNumber,
    /// Below this, every un-SACKed byte is deemed lost (RFC 6675 `IsLost`; for NewReno, the
    /// one segment at `snd_una` that a partial ACK shows lost).
    pub(crate) lost_end: TcpSeqNumber,
    /// The one retransmission allowed regardless of cwnd on entering recovery (RFC 6675 §5
    /// step 4.3, RFC 6582 §3.2 step 2).
    pub(crate) fast_rtx_due: bool,
    pub(crate) dupacks: u32,
    /// The first hole retransmitted in this round of recovery and `snd_max` when it was: if
    /// data sent after it is SACKed while it is not acknowledged, the retransmission was lost
    /// too (the idea of RFC 8985 RACK, kept to the one mark that matters).
    pub(crate) rxt_mark: Option<(TcpSeqNumber, TcpSeqNumber)>,
    pub(crate) stats: ConnectionStats,
    /// A tail loss probe (RFC 8985 §7) is due to be sent.
    pub(crate) tlp_due: bool,
    /// The end of the tail loss probe in flight, until an ACK reports on it.
    pub(crate) tlp_end: Option<TcpSeqNumber>,
    /// Loss probes sent in a row without the peer reporting progress (see `arm_tlp`).
    pub(crate) tlp_probes: u8,
    /// RFC 8985 §6.2 `RACK.reordering_seen`: a hole was filled by its original transmission.
    pub(crate) reordering_seen: bool,
    /// While the reorder timer runs: the start of the highest SACKed range when it was armed;
    /// un-SACKed bytes below it are deemed lost when it fires.
    pub(crate) reorder_end: TcpSeqNumber,
    /// NewReno window inflation (RFC 6582 §3.2 steps 2-4), added to cwnd during recovery.
    pub(crate) inflation: u32,

    // ACK generation.
    pub(crate) ack_now: bool,
    /// In-order bytes received since our last ACK (RFC 9293 §3.8.6.3: ACK every second
    /// full-sized segment).
    pub(crate) unacked_bytes: u32,
    /// Acknowledgment numbers owed in order before the current one: every second full-sized
    /// segment of a batch of in-order segments gets its own ACK (RFC 9293 §3.8.6.3), so the
    /// loss of one ACK does not silence a whole window. At most [`ACK_POINTS`]; when full,
    /// the newest is replaced.
    pub(crate) ack_points: [TcpSeqNumber; ACK_POINTS],
    pub(crate) ack_points_len: u8,
    /// RFC 5961 §7 challenge-ACK budget: window start and count.
    pub(crate) challenge_window: Instant,
    pub(crate) challenge_count: u32,
    /// A reset to send: `(seq, ack)` (on abort, or to answer a bad ACK in SYN states).
    pub(crate) rst_due: Option<(TcpSeqNumber, Option<TcpSeqNumber>)>,
    /// Send a keepalive or zero-window probe.
    pub(crate) probe_due: bool,
}

/// What our SYN offered (RFC 7323 §2, §3; RFC 2018 §2), or what the peer's SYN asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynOptions {
    /// Window scale shift offered, `None` when not offered.
    pub window_scale: Option<u8>,
    /// SACK-permitted.
    pub sack: bool,
    /// Timestamps offered.
    pub timestamps: bool,
}

/// RFC 7323 §2.3: the smallest shift that lets the window field express the whole buffer.
pub(crate) fn window_shift(capacity: usize) -> u8 {
    let mut shift = 0u8;
    while shift < crate::wire::tcp::MAX_WINDOW_SCALE && (capacity >> shift) > 65_535 {
        shift += 1;
    }
    shift
}

/// What both SYNs' options come to (RFC 9293 §3.7.1, RFC 7323 §2.2 and §3.2, RFC 2018 §2):
/// an option is used only when both SYNs carried it.
#[derive(Debug, Clone, Copy)]
struct Negotiated {
    smss: u32,
    snd_wscale: u8,
    rcv_wscale: u8,
    sack_ok: bool,
    /// `TS.Recent` when timestamps are on; `None` turns them off.
    ts_recent: Option<u32>,
}

impl Negotiated {
    /// `ours`: what our SYN offered (`rcv_wscale` our shift, `ts` whether we still use
    /// timestamps); the rest is what the peer's SYN carried.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn new(
        remote_v6: bool,
        our_mss: u16,
        ours: SynOptions,
        rcv_wscale: u8,
        ts: bool,
        mss: Option<u16>,
        window_scale: Option<u8>,
        sack: bool,
        tsval: Option<u32>,
    ) -> Self {
        // RFC 9293 §3.7.1: without the option, assume 536 (IPv4) / 1220 (IPv6).
        let default_mss = if remote_v6 { 1220 } else { 536 };
        let peer_mss = u32::from(mss.unwrap_or(default_mss));
        let (snd_wscale, rcv_wscale) = match (ours.window_scale, window_scale) {
            (Some(_), Some(shift)) => (shift.min(crate::wire::tcp::MAX_WINDOW_SCALE), rcv_wscale),
            _ => (0, 0),
        };
        Self {
            // Segments never exceed the peer's MSS nor our own (our side of the path).
            smss: peer_mss.min(u32::from(our_mss)).max(64),
            snd_wscale,
            rcv_wscale,
            sack_ok: ours.sack && sack,
            ts_recent: tsval.filter(|_| ts),
        }
    }

    /// The payload bytes of a segment (see [`Connection::eff_mss`]).
    #[inline]
    fn eff_mss(&self) -> u32 {
        let opts = if self.ts_recent.is_some() { 12 } else { 0 };
        self.smss.saturating_sub(opts).max(1)
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Connection<S> {
    /// A connection on `tuple`, opening (`hs` is `None`: SYN-SENT or LISTEN, its ISN and
    /// timestamp offset derived from the tuple with one keyed hash, see
    /// [`IsnGenerator::secrets`]) or accepted from a listener's handshake (ESTABLISHED, with
    /// the listener's ISN and offset).
    ///
    /// Every field is computed first and the connection is written in one expression, with
    /// no call taking `&mut self` on the way: inlined into the stack's slot allocation, it is
    /// then built in place rather than on the stack and copied (it is about 1 KiB, more with
    /// inline buffers).
    #[inline(always)]
    fn build(
        cfg: &Config,
        pre: &ConnConfig,
        tuple: FourTuple,
        state: State,
        now: Instant,
        (rx, tx): (S, S),
        hs: Option<&Handshake>,
    ) -> Self {
        let rx = RecvBuffer::new(rx);
        let tx = SendBuffer::new(tx);
        let (iss, ts_offset) = match hs {
            Some(hs) => (hs.iss, hs.ts_offset),
            None => {
                let secrets = IsnGenerator::new(cfg.secret).secrets(&tuple);
                (secrets.isn(now), secrets.ts_offset)
            }
        };
        let mut rcv_wscale = if cfg.window_scaling {
            window_shift(rx.capacity())
        } else {
            0
        };
        let mut syn_opts = SynOptions {
            window_scale: cfg.window_scaling.then_some(rcv_wscale),
            sack: cfg.sack,
            timestamps: cfg.timestamps,
        };
        let mut smss = u32::from(cfg.mss).max(64);
        let mut eff_mss = smss;
        let mut snd_wscale = 0;
        let mut sack_ok = false;
        let mut ts_recent = cfg.timestamps.then_some(0);
        // Accepted: both sequence spaces are synchronized (the listener saw SYN and ACK).
        let mut snd_una = iss;
        let mut irs = TcpSeqNumber(0);
        let mut rcv_nxt = TcpSeqNumber(0);
        let mut rcv_adv = TcpSeqNumber(0);
        let mut snd_wnd = 0;
        let mut snd_wl1 = TcpSeqNumber(0);
        if let Some(hs) = hs {
            snd_una = hs.iss + 1;
            irs = hs.irs;
            rcv_nxt = hs.irs + 1;
            // The SYN-ACK offered min(buffer, 65535) unscaled; never shrink below it.
            rcv_adv = rcv_nxt + rx.capacity().min(65_535);
            syn_opts = SynOptions {
                window_scale: hs.our_wscale,
                sack: hs.peer.sack,
                timestamps: hs.peer.timestamps,
            };
            let n = Negotiated::new(
                matches!(tuple.remote, SocketAddr::V6(_)),
                cfg.mss,
                syn_opts,
                hs.our_wscale.unwrap_or(0),
                cfg.timestamps,
                hs.peer_mss,
                hs.peer.window_scale,
                hs.peer.sack,
                hs.peer_tsval,
            );
            smss = n.smss;
            eff_mss = n.eff_mss();
            snd_wscale = n.snd_wscale;
            rcv_wscale = n.rcv_wscale;
            sack_ok = n.sack_ok;
            ts_recent = n.ts_recent;
            snd_wnd = u32::from(hs.window) << snd_wscale;
            snd_wl1 = hs.ack_seq;
        }
        Self {
            cfg: pre.clone(),
            tuple,
            state,
            error: None,
            iss,
            snd_una,
            snd_nxt: snd_una,
            snd_max: snd_una,
            snd_wnd,
            max_snd_wnd: snd_wnd,
            snd_wl1,
            snd_wl2: snd_una,
            snd_wscale,
            smss,
            tx,
            fin_queued: false,
            fin_sent: false,
            syn_acked: hs.is_some(),
            fin_acked: false,
            irs,
            rcv_nxt,
            rcv_adv,
            last_ack_sent: rcv_nxt,
            rcv_wscale,
            rx,
            peer_fin: None,
            fin_received: false,
            ts: ts_recent.map(|recent| Timestamps {
                recent,
                recent_at: now,
                offset: ts_offset,
            }),
            sack_ok,
            syn_opts,
            timers: Timers::default(),
            rtt: RttEstimator::new(cfg.rtt),
            rtt_probe: None,
            rto_tsval: None,
            retransmits: 0,
            probes: 0,
            persist_backoff: 0,
            syn_due: hs.is_none() && state == State::SynSent,
            last_rx: now,
            last_tx: now,
            // The same as `new(smss)` then `set_smss(eff_mss)` on a fresh controller.
            cc: CongestionControl::new(cfg.congestion, eff_mss),
            scoreboard: Scoreboard::new(),
            recovery: None,
            high_rxt: snd_una,
            lost_end: snd_una,
            fast_rtx_due: false,
            dupacks: 0,
            rxt_mark: None,
            stats: ConnectionStats::default(),
            tlp_due: false,
            tlp_end: None,
            tlp_probes: 0,
            reordering_seen: false,
            reorder_end: iss,
            inflation: 0,
            ack_now: false,
            unacked_bytes: 0,
            ack_points: [iss; ACK_POINTS],
            ack_points_len: 0,
            challenge_window: now,
            challenge_count: 0,
            rst_due: None,
            probe_due: false,
        }
    }

    /// Active open (RFC 9293 §3.10.1): the first [`poll_transmit`](Self::poll_transmit)
    /// sends the SYN. Data written before the handshake completes is sent after it.
    #[inline(always)]
    pub fn connect(cfg: &Config, tuple: FourTuple, now: Instant, rx: S, tx: S) -> Self {
        Self::build(
            cfg,
            &ConnConfig::new(cfg),
            tuple,
            State::SynSent,
            now,
            (rx, tx),
            None,
        )
    }

    /// [`connect`](Self::connect) with `pre`, which must be `ConnConfig::new(cfg)`.
    #[inline(always)]
    pub(crate) fn connect_with(
        cfg: &Config,
        pre: &ConnConfig,
        tuple: FourTuple,
        now: Instant,
        rx: S,
        tx: S,
    ) -> Self {
        Self::build(cfg, pre, tuple, State::SynSent, now, (rx, tx), None)
    }

    /// Passive open of one connection (RFC 9293 §3.10.1): waits in LISTEN on `local` for a
    /// SYN from anyone. The local address may be unspecified; it is then taken from the SYN.
    /// For a backlog of many half-open connections use a [`Listener`](crate::tcp::Listener).
    pub fn listen(cfg: &Config, local: SocketAddr, now: Instant, rx: S, tx: S) -> Self {
        let tuple = FourTuple {
            local,
            remote: local,
        };
        Self::build(
            cfg,
            &ConnConfig::new(cfg),
            tuple,
            State::Listen,
            now,
            (rx, tx),
            None,
        )
    }

    /// A connection whose handshake a [`Listener`](crate::tcp::Listener) completed, in
    /// ESTABLISHED. If the segment that completed the handshake carried data or a FIN, hand
    /// it to [`handle_segment`](Self::handle_segment) next.
    #[inline(always)]
    pub fn accept(cfg: &Config, hs: &Handshake, now: Instant, rx: S, tx: S) -> Self {
        let pre = ConnConfig::new(cfg);
        Self::build(
            cfg,
            &pre,
            hs.tuple,
            State::Established,
            now,
            (rx, tx),
            Some(hs),
        )
    }

    /// [`accept`](Self::accept) with `pre`, which must be `ConnConfig::new(cfg)`.
    #[inline(always)]
    pub(crate) fn accept_with(
        cfg: &Config,
        pre: &ConnConfig,
        hs: &Handshake,
        now: Instant,
        rx: S,
        tx: S,
    ) -> Self {
        Self::build(
            cfg,
            pre,
            hs.tuple,
            State::Established,
            now,
            (rx, tx),
            Some(hs),
        )
    }

    /// Applies what the peer's SYN offered (RFC 9293 §3.7.1, RFC 7323 §2.2 and §3.2, RFC 2018
    /// §2): an option is used only when both SYNs carried it.
    pub(crate) fn apply_peer_syn_options(
        &mut self,
        mss: Option<u16>,
        window_scale: Option<u8>,
        sack: bool,
        tsval: Option<u32>,
    ) {
        let n = Negotiated::new(
            matches!(self.tuple.remote, SocketAddr::V6(_)),
            self.cfg.mss,
            self.syn_opts,
            self.rcv_wscale,
            self.ts.is_some(),
            mss,
            window_scale,
            sack,
            tsval,
        );
        self.smss = n.smss;
        self.snd_wscale = n.snd_wscale;
        self.rcv_wscale = n.rcv_wscale;
        self.sack_ok = n.sack_ok;
        match (self.ts.as_mut(), n.ts_recent) {
            (Some(ts), Some(val)) => ts.recent = val,
            _ => self.ts = None,
        }
        let eff = self.eff_mss();
        self.cc.set_smss(eff);
    }

    /// The payload bytes one segment carries at most: the send MSS less the options every
    /// segment repeats (RFC 6691 §2: MSS excludes options; timestamps take 12 bytes).
    #[inline]
    pub(crate) fn eff_mss(&self) -> u32 {
        let opts = if self.ts.is_some() { 12 } else { 0 };
        self.smss.saturating_sub(opts).max(1)
    }

    /// The payload bytes of one full segment we send: the peer's MSS (clamped to ours) less
    /// the options every segment carries. A link segmenting for us
    /// ([`poll_transmit_offload`](Self::poll_transmit_offload)) cuts at this size.
    #[inline]
    pub fn segment_payload(&self) -> usize {
        self.eff_mss() as usize
    }

    /// The state.
    #[inline]
    pub fn state(&self) -> State {
        self.state
    }

    /// Why the connection failed, if it did.
    #[inline]
    pub fn error(&self) -> Option<ConnectionError> {
        self.error
    }

    /// The four-tuple.
    #[inline]
    pub fn tuple(&self) -> FourTuple {
        self.tuple
    }

    /// The peer's MSS as used for sending (after clamping).
    #[inline]
    pub fn send_mss(&self) -> u32 {
        self.smss
    }

    /// Counters of loss recovery.
    #[inline]
    pub fn stats(&self) -> ConnectionStats {
        self.stats
    }

    /// The congestion window in bytes.
    #[inline]
    pub fn cwnd(&self) -> u32 {
        self.cc.cwnd()
    }

    /// The current retransmission timeout.
    #[inline]
    pub fn rto(&self) -> crate::time::Duration {
        self.rtt.rto()
    }

    /// True when [`send`](Self::send) may take data (it may still take 0 bytes when full).
    #[inline]
    pub fn may_send(&self) -> bool {
        !self.fin_queued
            && matches!(
                self.state,
                State::SynSent | State::SynReceived | State::Established | State::CloseWait
            )
    }

    /// True when [`recv`](Self::recv) has data or an end of stream to report.
    #[inline]
    pub fn may_recv(&self) -> bool {
        !self.rx.is_empty() || self.fin_received || self.error.is_some()
    }

    /// Bytes [`send`](Self::send) would take now.
    #[inline]
    pub fn send_capacity(&self) -> usize {
        if self.may_send() { self.tx.free() } else { 0 }
    }

    /// Bytes buffered for sending and not yet acknowledged.
    #[inline]
    pub fn send_queue(&self) -> usize {
        self.tx.len()
    }

    /// Bytes received in order and not yet read.
    #[inline]
    pub fn recv_queue(&self) -> usize {
        self.rx.len()
    }

    /// Queues `data` for sending; returns how much was taken (0 when the buffer is full).
    pub fn send(&mut self, data: &[u8]) -> Result<usize, SendError> {
        if let Some(e) = self.error {
            return Err(SendError::Failed(e));
        }
        if !self.may_send() {
            return Err(SendError::InvalidState(self.state));
        }
        Ok(self.tx.write(data))
    }

    /// Like [`send`](Self::send), but hands the free buffer space to `f` so the caller can
    /// produce data in place (zero copy); `f` returns how many bytes it wrote.
    pub fn send_with(&mut self, f: impl FnOnce(&mut [u8]) -> usize) -> Result<usize, SendError> {
        if let Some(e) = self.error {
            return Err(SendError::Failed(e));
        }
        if !self.may_send() {
            return Err(SendError::InvalidState(self.state));
        }
        Ok(self.tx.write_with(f))
    }

    /// Reads received data into `buf`. `Ok(0)` means nothing yet; the end of the stream is
    /// `Err(RecvError::Finished)`.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        let n = self.rx.read(buf);
        self.after_read(n)
    }

    /// Reads in place: `f` sees the readable bytes (as far as they are contiguous in the
    /// buffer) and returns how many it consumed.
    pub fn recv_with(&mut self, f: impl FnOnce(&[u8]) -> usize) -> Result<usize, RecvError> {
        let n = self.rx.read_with(f);
        self.after_read(n)
    }

    fn after_read(&mut self, n: usize) -> Result<usize, RecvError> {
        if n > 0 {
            self.maybe_window_update();
            return Ok(n);
        }
        if let Some(e) = self.error {
            return Err(RecvError::Failed(e));
        }
        if self.fin_received {
            return Err(RecvError::Finished);
        }
        match self.state {
            State::Closed | State::Listen => Err(RecvError::InvalidState(self.state)),
            _ => Ok(0),
        }
    }

    /// After the application read: announce a window that opened a lot (RFC 9293 §3.8.6.2.2,
    /// as Linux's `tcp_cleanup_rbuf`: when the window we could offer is at least twice what
    /// the peer last saw, and larger by at least one segment).
    fn maybe_window_update(&mut self) {
        if !self.state.is_synchronized() || self.fin_received {
            return;
        }
        let advertised = (self.rcv_adv - self.rcv_nxt) as u32;
        let possible = self.rx.window() as u32;
        if possible >= advertised.saturating_mul(2) && possible - advertised >= self.eff_mss() {
            self.ack_now = true;
        }
    }

    /// Closes our sending side (RFC 9293 §3.10.4): every byte already written is delivered,
    /// then a FIN. Receiving continues until the peer closes too.
    pub fn close(&mut self) {
        match self.state {
            State::Listen | State::SynSent => self.enter_closed(),
            // RFC 9293 §3.10.4: in SYN-RECEIVED the FIN waits until ESTABLISHED is reached
            // (the state then goes straight to FIN-WAIT-1).
            State::SynReceived => self.fin_queued = true,
            State::Established => {
                self.fin_queued = true;
                self.state = State::FinWait1;
            }
            State::CloseWait => {
                self.fin_queued = true;
                self.state = State::LastAck;
            }
            _ => {}
        }
    }

    /// Aborts (RFC 9293 §3.10.5): sends a reset if the peer knows of us, discards everything,
    /// and goes to CLOSED at once.
    pub fn abort(&mut self) {
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            self.rst_due = Some((self.snd_max, None));
        }
        self.enter_closed();
    }

    pub(crate) fn enter_closed(&mut self) {
        self.state = State::Closed;
        self.timers.stop_all();
        self.tx.clear();
        self.ack_now = false;
        self.probe_due = false;
        self.syn_due = false;
    }

    pub(crate) fn fail(&mut self, error: ConnectionError) {
        self.error = Some(error);
        self.rx.clear();
        self.enter_closed();
    }

    /// The next instant [`poll_transmit`](Self::poll_transmit) must be called even if nothing
    /// else happens: the earliest timer. `None` when no timer runs.
    #[inline]
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The address pair of the segments we send.
    #[inline]
    pub(crate) fn addrs(&self) -> Option<IpAddrPair> {
        self.tuple.outgoing_addrs()
    }

    /// The sequence number of our FIN (right after the last buffered byte) once queued.
    #[inline]
    pub(crate) fn fin_seq(&self) -> Option<TcpSeqNumber> {
        if self.fin_acked {
            return Some(self.snd_una - 1);
        }
        self.fin_queued.then(|| self.data_start() + self.tx.len())
    }

    /// The sequence number of the first byte in the send buffer: `snd_una`, or one past the
    /// SYN before the SYN is acknowledged.
    #[inline]
    pub(crate) fn data_start(&self) -> TcpSeqNumber {
        if self.syn_acked {
            self.snd_una
        } else {
            self.iss + 1
        }
    }

    /// Our timestamp clock: milliseconds plus the connection's offset (RFC 7323 §5.4).
    #[inline]
    pub(crate) fn ts_now(&self, now: Instant) -> u32 {
        let offset = self.ts.map_or(0, |t| t.offset);
        (now.millis() as u32).wrapping_add(offset)
    }

    /// Restarts the retransmission timer (RFC 6298 §5.3) and the user timeout.
    pub(crate) fn restart_rto(&mut self, now: Instant) {
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("tuple", &self.tuple)
            .field("state", &self.state)
            .field("snd_una", &self.snd_una)
            .field("snd_nxt", &self.snd_nxt)
            .field("snd_max", &self.snd_max)
            .field("snd_wnd", &self.snd_wnd)
            .field("rcv_nxt", &self.rcv_nxt)
            .field("cwnd", &self.cc.cwnd())
            .field("rto", &self.rtt.rto())
            .field("error", &self.error)
            .field("send_queue", &self.tx.len())
            .field("recv_queue", &self.rx.len())
            .field("retransmits", &self.retransmits)
            .field("recovery", &self.recovery)
            .field("high_rxt", &self.high_rxt)
            .field("lost_end", &self.lost_end)
            .field("sacked", &self.scoreboard.ranges())
            .field("tlp_end", &self.tlp_end)
            .field("reordering_seen", &self.reordering_seen)
            .field(
                "fin",
                &(
                    self.fin_queued,
                    self.fin_sent,
                    self.fin_acked,
                    self.fin_received,
                ),
            )
            .field("timers", &self.timers)
            .finish_non_exhaustive()
    }
}
