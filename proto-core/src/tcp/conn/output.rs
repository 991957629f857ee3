//! Timers firing and segments leaving: what to send next (RFC 9293 §3.8.6.2.1 sender SWS and
//! Nagle, RFC 6675 §4 `NextSeg`, RFC 3042 limited transmit, RFC 6298 §5 retransmission).

use super::timer::Timer;
use super::{Connection, ConnectionError, State};
use crate::checksum;
use crate::tcp::sack::DUP_THRESH;
use crate::time::{Duration, Instant};
use crate::wire::tcp::{MAX_SACK_BLOCKS, TcpPacket};
use crate::wire::{IpAddrPair, IpProtocol, TcpControl, TcpFlags, TcpRepr, TcpSeqNumber};

/// Loss probes in a row without progress before only the RTO is left (see `arm_next_probe`).
const MAX_LOSS_PROBES: u8 = 3;

/// What one segment carries, before it is written.
#[derive(Debug, Clone, Copy)]
struct Segment {
    seq: TcpSeqNumber,
    len: usize,
    control: TcpControl,
    /// A zero-window or keepalive probe: `seq` is `snd_una - 1`, no data.
    probe: bool,
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Connection<S> {
    /// Runs expired timers, then writes the next segment to send into `buf` (header, options,
    /// payload and checksum; `buf` should hold the path MTU less the IP header) and returns its
    /// length. `None`: nothing to send now. Call it until it returns `None`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let room = buf.len();
        self.poll_transmit_offload(now, buf, room, 0)
            .map(|(len, _)| len)
    }

    /// [`poll_transmit`](Self::poll_transmit) for a link that segments TCP itself (TSO/GSO,
    /// e.g. a TAP device with virtio-net headers). `seg_room` is what one segment on the wire
    /// may take (the path MTU less the IP header); a segment of new data may carry up to
    /// `max_payload` bytes (whole segments only, and as `buf` allows), which the link must
    /// cut into pieces of the returned payload size, each with a copy of this header (so
    /// that each piece fits `seg_room`). Returns the length written and that size.
    ///
    /// Congestion and flow control count bytes, so nothing else changes: retransmissions,
    /// probes and short segments leave exactly as without offload. A `max_payload` at or
    /// below the MSS is no offload.
    pub fn poll_transmit_offload(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        seg_room: usize,
        max_payload: usize,
    ) -> Option<(usize, usize)> {
        self.poll_transmit_with::<true>(now, buf, seg_room, max_payload)
    }

    /// [`poll_transmit_offload`](Self::poll_transmit_offload), with (`ACK_SHORTCUT`) or
    /// without the short cut to a pure ACK when nothing else can be due (see
    /// [`only_ack_due`](Self::only_ack_due)): without it only in the tests that check the
    /// two send the same.
    #[inline(always)]
    pub(in crate::tcp::conn) fn poll_transmit_with<const ACK_SHORTCUT: bool>(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        seg_room: usize,
        max_payload: usize,
    ) -> Option<(usize, usize)> {
        self.handle_timers(now);
        if let Some((seq, ack)) = self.rst_due.take() {
            return self.emit_rst(seq, ack, buf).map(|n| (n, 0));
        }
        let seg_room = seg_room.min(buf.len());
        match self.state {
            State::Closed | State::Listen => None,
            State::SynSent | State::SynReceived => {
                if self.syn_due {
                    self.syn_due = false;
                    return self.emit_syn(now, &mut buf[..seg_room]).map(|n| (n, 0));
                }
                None
            }
            _ if ACK_SHORTCUT && self.only_ack_due() => {
                let max_len = self.max_seg_len(seg_room);
                self.emit_pure_ack(now, &mut buf[..seg_room])
                    .map(|n| (n, max_len))
            }
            _ => self.emit_next(now, buf, seg_room, max_payload),
        }
    }

    /// Only a pure ACK can be owed: one is due (`ack_now`: e.g. the third segment of our
    /// active open, RFC 9293 §3.10.7.3, or an ACK of data), with no ACK point, loss probe,
    /// window probe or fast retransmission pending, nothing in flight or in recovery, no
    /// data or FIN left to send and nothing SACKed. [`emit_next`](Self::emit_next) then
    /// chooses no segment (`next_segment` finds nothing available and arms no persist timer,
    /// as nothing is unsent) and ends in [`emit_pure_ack`](Self::emit_pure_ack): the short
    /// cut goes there directly.
    #[inline(always)]
    fn only_ack_due(&self) -> bool {
        self.ack_now
            && !self.tlp_due
            && !self.probe_due
            && !self.fast_rtx_due
            && self.ack_points_len == 0
            && self.recovery.is_none()
            && self.snd_una == self.snd_max
            && self.snd_nxt == self.snd_max
            && !self.fin_queued
            && self.scoreboard.is_empty()
            && !self.has_unsent()
    }

    /// The payload a segment may carry with `seg_room` bytes for it on the wire: the
    /// effective MSS, less what the header takes now.
    #[inline]
    fn max_seg_len(&self, seg_room: usize) -> usize {
        (self.eff_mss() as usize).min(seg_room.saturating_sub(self.header_len_now()))
    }

    /// The run of full-sized segments of new data that [`poll_transmit`](Self::poll_transmit)
    /// would return one by one from now on (a bulk transfer with open windows), up to
    /// `max_segments`, decided and written at once: the per-connection work (timers, window
    /// advertisement, timestamps, addresses) is done once for the run instead of once a
    /// segment, and the send bookkeeping once at its end, where the result is the same.
    /// Each segment is written by the writer handed to `emit`, which `emit` calls with a
    /// buffer of `seg_room` bytes (as `poll_transmit`'s `buf`); the writer returns the
    /// segment's length, 0 when the buffer is too small. `emit` returns whether a segment
    /// was written; the run stops at the first that was not. Returns the number written.
    ///
    /// When anything else is due (a reset, a loss probe, a retransmission, a FIN, an idle
    /// restart, SACK blocks to report, a short segment) the run is empty and nothing but the
    /// timers has run: [`poll_transmit`](Self::poll_transmit) then does the rest, and after
    /// a run it continues exactly where the run stopped.
    pub fn poll_transmit_burst(
        &mut self,
        now: Instant,
        max_segments: usize,
        seg_room: usize,
        mut emit: impl FnMut(&mut dyn FnMut(&mut [u8]) -> usize) -> bool,
    ) -> usize {
        self.handle_timers(now);
        if self.rst_due.is_some()
            || !matches!(self.state, State::Established | State::CloseWait)
            || self.tlp_due
            || (self.sack_ok && self.rx.has_ooo())
            // RFC 5681 §4.1's restart changes the window between the first and second segment.
            || (self.snd_una == self.snd_max && now - self.last_tx > self.rtt.rto())
        {
            return 0;
        }
        let Some(addrs) = self.addrs() else {
            return 0;
        };
        // `emit_next` with `poll_transmit`'s sizes (no offload).
        let max_len = (self.eff_mss() as usize).min(seg_room.saturating_sub(self.header_len_now()));
        let n = if max_len == 0 {
            0
        } else {
            self.full_segments(max_len).min(max_segments)
        };
        if n == 0 {
            return 0;
        }
        // What `next_full_segment` and `emit_segment` do before writing the first segment.
        self.fast_rtx_due = false;
        let window_len = self.advertise_window();
        let (first, ack) = (self.snd_nxt, self.rcv_nxt);
        let timestamp = self.ts.map(|ts| (self.ts_now(now), ts.recent));
        let mut sent = 0;
        while sent < n {
            let seg = Segment {
                seq: first + sent * max_len,
                len: max_len,
                control: TcpControl::None,
                probe: false,
            };
            let this = &*self;
            let written = emit(&mut |buf: &mut [u8]| {
                let room = seg_room.min(buf.len());
                let buf = &mut buf[..room];
                match this.emit_plain_header(&seg, ack, window_len, timestamp, buf) {
                    Some((header_len, header_sum)) => {
                        this.write_payload(&seg, &addrs, header_len, header_sum, buf)
                    }
                    None => 0,
                }
            });
            if !written {
                break;
            }
            sent += 1;
        }
        if sent > 0 {
            // `emit_segment`'s and `after_send`'s bookkeeping, once for the run: the same as
            // after each segment in turn (the state it reads is the run's, the timers are
            // set from `now` and the final flight).
            self.last_ack_sent = ack;
            self.ack_points_len = 0;
            let run = Segment {
                seq: first,
                len: sent * max_len,
                control: TcpControl::None,
                probe: false,
            };
            self.after_send(now, run);
        }
        sent
    }

    /// Handles every expired timer (RFC 6298 §5.4-5.7, RFC 9293 §3.8.6.1 and §3.8.6.3,
    /// RFC 1122 §4.2.3.6, TIME-WAIT, user timeout). Inlined: the check; out of line: the
    /// handling, which most calls skip (it would otherwise make every caller's code larger).
    #[inline(always)]
    fn handle_timers(&mut self, now: Instant) {
        if let Some(timer) = self.timers.take_expired(now) {
            self.handle_expired(now, timer);
        }
    }

    /// [`handle_timers`](Self::handle_timers) once `first` expired: it and every other
    /// expired timer.
    #[cold]
    #[inline(never)]
    fn handle_expired(&mut self, now: Instant, first: Timer) {
        let mut next = Some(first);
        // Bounded: each timer is taken (stopped) as it is handled, eight at most.
        for _ in 0..9 {
            let Some(timer) = next else {
                return;
            };
            match timer {
                Timer::Retransmit => self.on_rto(now),
                Timer::DelayedAck => self.ack_now = true,
                Timer::Persist => self.on_persist(now),
                Timer::Keepalive => self.on_keepalive(now),
                Timer::TimeWait => self.enter_closed(),
                Timer::LossProbe => {
                    if self.snd_una != self.snd_max && self.state.is_synchronized() {
                        self.tlp_due = true;
                    }
                }
                Timer::Reorder => {
                    let end = self.reorder_end;
                    if self.state.is_synchronized() && end > self.snd_una {
                        self.mark_lost_below(now, end);
                    }
                    self.rack_detect(now);
                }
                Timer::UserTimeout => {
                    if self.snd_una != self.snd_max {
                        self.fail(ConnectionError::TimedOut);
                    }
                }
            }
            next = self.timers.take_expired(now);
        }
    }

    /// RFC 6298 §5.4-5.7 with RFC 5681 §3.1 eq. (4) and go-back-N from `snd_una`.
    fn on_rto(&mut self, now: Instant) {
        let limit = match self.state {
            State::SynSent | State::SynReceived => self.cfg.max_syn_retransmissions,
            _ => self.cfg.max_retransmissions,
        };
        let syn_state = matches!(self.state, State::SynSent | State::SynReceived);
        if !syn_state
            && (self.snd_una == self.snd_max
                || !self.state.is_synchronized()
                || self.state == State::TimeWait)
        {
            return; // Nothing outstanding.
        }
        if self.retransmits >= limit {
            self.fail(ConnectionError::TimedOut);
            return;
        }
        self.retransmits += 1;
        self.rtt.backoff();
        self.rtt_probe = None; // Karn.
        if self.ts.is_some() {
            self.rto_tsval = Some(self.ts_now(now));
        }
        match self.state {
            State::SynSent | State::SynReceived => {
                // RFC 6928 §2, RFC 5681 §3.1: after a lost SYN or SYN-ACK the initial window
                // is one segment. (The 3-s RTO for data of RFC 6298 §5.7 is set when the
                // handshake completes: setting it here would break the doubling, §5.5.)
                self.cc.on_syn_lost();
                self.syn_due = true;
                return;
            }
            _ => {}
        }
        let flight = self.pipe();
        self.stats.rtos += 1;
        self.cc.on_rto(now, flight);
        self.recovery = None;
        self.inflation = 0;
        self.dupacks = 0;
        self.fast_rtx_due = false;
        self.rxt_mark = None;
        self.tlp_due = false;
        self.tlp_end = None;
        self.tlp_probes = 0;
        self.timers.stop(Timer::LossProbe);
        self.timers.stop(Timer::Reorder);
        if self.retransmits > 1 {
            // Repeated timeouts: the peer may have reneged on its SACKs (RFC 2018 §8).
            self.scoreboard.clear();
        }
        self.snd_nxt = self.snd_una;
        self.high_rxt = self.snd_una;
        self.lost_end = self.snd_una;
        self.restart_rto(now);
    }

    /// RFC 9293 §3.8.6.1: the peer's window is zero (or too small to send into without
    /// silly-window segments) and nothing is in flight to bring an ACK; probe it.
    fn on_persist(&mut self, now: Instant) {
        if self.snd_una != self.snd_max || !self.has_unsent() {
            return;
        }
        if self.probes >= self.cfg.max_retransmissions {
            self.fail(ConnectionError::TimedOut);
            return;
        }
        self.probes += 1;
        self.probe_due = true;
        // RFC 1122 §4.2.2.17: the interval grows exponentially even while the peer answers
        // (an answer resets `probes`, the abort count, but not the backoff).
        self.persist_backoff = self.persist_backoff.saturating_add(1);
        let backoff = self
            .rtt
            .rto()
            .saturating_mul(1 << self.persist_backoff.min(10));
        self.timers
            .set(Timer::Persist, now + backoff.min(self.cfg.max_rto()));
    }

    /// RFC 1122 §4.2.3.6.
    fn on_keepalive(&mut self, now: Instant) {
        let Some(ka) = self.cfg.keepalive() else {
            return;
        };
        if !self.state.is_synchronized() || self.state == State::TimeWait {
            return;
        }
        if self.probes >= ka.count {
            self.fail(ConnectionError::TimedOut);
            return;
        }
        if self.snd_una == self.snd_max {
            self.probes += 1;
            self.probe_due = true;
        }
        self.timers.set(Timer::Keepalive, now + ka.interval);
    }

    /// Data or a FIN is waiting to be sent for the first time.
    #[inline]
    fn has_unsent(&self) -> bool {
        let data_end = self.data_start() + self.tx.len();
        self.snd_nxt < data_end || (self.fin_queued && !self.fin_sent)
    }

    /// The next data, FIN, probe or pure ACK segment: the length written and the payload of
    /// one full segment (what a link segmenting for us cuts at).
    fn emit_next(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        seg_room: usize,
        offload: usize,
    ) -> Option<(usize, usize)> {
        let header = self.header_len_now();
        let max_len = self.max_seg_len(seg_room);
        // With segmentation offload, new data may leave as several whole segments at once.
        let room = buf.len().saturating_sub(header);
        let bulk_len = if offload > max_len && max_len > 0 {
            (offload.min(room) / max_len * max_len).max(max_len)
        } else {
            max_len
        };
        let buf = if bulk_len > max_len {
            buf
        } else {
            &mut buf[..seg_room]
        };
        self.emit_next_within(now, buf, max_len, bulk_len)
            .map(|n| (n, max_len))
    }

    /// [`emit_next`](Self::emit_next) once the sizes are known.
    fn emit_next_within(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        max_len: usize,
        bulk_len: usize,
    ) -> Option<usize> {
        if self.tlp_due {
            self.tlp_due = false;
            if let Some(seg) = self.tlp_segment(max_len) {
                self.tlp_end = Some(seg.seq + seg.len + seg.control.len());
                self.stats.loss_probes += 1;
                let sent = self.emit_segment(now, seg, buf);
                self.restart_rto(now);
                self.tlp_probes = self.tlp_probes.saturating_add(1);
                self.arm_next_probe(now);
                return sent;
            }
        }
        if let Some(seg) = self.next_segment(now, max_len, bulk_len) {
            return self.emit_segment(now, seg, buf);
        }
        if self.probe_due {
            self.probe_due = false;
            // Into whatever window there is (RFC 9293 §3.8.6.2.1 (4): the override
            // timeout), else a zero-window / keepalive probe at SND.UNA - 1 that only asks
            // for an ACK (Linux's `tcp_write_wakeup`).
            let data_end = self.data_start() + self.tx.len();
            let rwnd_room = (self.snd_una + self.snd_wnd as usize) - self.snd_nxt;
            let len = rwnd_room.min(data_end - self.snd_nxt).min(max_len);
            let seg = if len > 0 && self.snd_nxt == self.snd_max {
                Segment {
                    seq: self.snd_nxt,
                    len,
                    control: TcpControl::None,
                    probe: false,
                }
            } else {
                Segment {
                    seq: self.snd_una - 1,
                    len: 0,
                    control: TcpControl::None,
                    probe: true,
                }
            };
            return self.emit_segment(now, seg, buf);
        }
        if self.ack_now {
            if let Some(sent) = self.emit_ack_point(now, buf) {
                return Some(sent);
            }
            return self.emit_pure_ack(now, buf);
        }
        None
    }

    /// The pure ACK `<SEQ=SND.MAX><ACK=RCV.NXT><CTL=ACK>` (RFC 9293 §3.10.7.3 SYN-SENT:
    /// "form an ACK segment ... and send it"; §3.10.7.4 for any other owed ACK), what
    /// [`emit_segment`](Self::emit_segment) writes for it, without its data, FIN and flight
    /// bookkeeping (a pure ACK has none). With SACK blocks to report, through it.
    #[inline(never)]
    fn emit_pure_ack(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let seg = Segment {
            seq: self.snd_max,
            len: 0,
            control: TcpControl::None,
            probe: false,
        };
        if self.sack_ok && self.rx.has_ooo() {
            return self.emit_segment(now, seg, buf);
        }
        let window_len = self.advertise_window();
        let addrs = self.addrs()?;
        let ack = self.rcv_nxt;
        let timestamp = self.ts.map(|ts| (self.ts_now(now), ts.recent));
        let (header_len, header_sum) =
            self.emit_plain_header(&seg, ack, window_len, timestamp, buf)?;
        // No payload: the checksum covers the pseudo-header and the header.
        let pseudo = addrs.pseudo_header_sum_inline(IpProtocol::Tcp, header_len);
        let c = !checksum::combine(&[pseudo, (header_sum >> 16) as u16, header_sum as u16]);
        TcpPacket::new_unchecked(&mut buf[..header_len]).set_checksum(c);
        self.last_ack_sent = ack;
        self.ack_points_len = 0;
        self.after_ack_sent();
        Some(header_len)
    }

    /// The length of the header our next data segment carries: 20 bytes, timestamps, and
    /// the SACK blocks we would report (RFC 2018 §3: as many as fit with the timestamps).
    #[inline]
    fn header_len_now(&self) -> usize {
        let ts = if self.ts.is_some() { 12 } else { 0 };
        let sack = if self.sack_ok && self.rx.has_ooo() {
            let fit = (40 - ts - 4) / 8;
            4 + 8 * self.rx.ooo_ranges().count().min(fit).min(MAX_SACK_BLOCKS)
        } else {
            0
        };
        20 + ts + sack
    }

    /// Chooses the next data/FIN segment (RFC 6675 §4 `NextSeg`, then new data): at most
    /// `max_len` (a full segment) bytes, or `bulk_len` (whole segments, for a link that
    /// segments) of data sent for the first time.
    fn next_segment(&mut self, now: Instant, max_len: usize, bulk_len: usize) -> Option<Segment> {
        if max_len == 0 {
            return None;
        }
        if bulk_len == max_len
            && let Some(seg) = self.next_full_segment(max_len)
        {
            return Some(seg);
        }
        let data_end = self.data_start() + self.tx.len();
        let window = self.cc.cwnd().saturating_add(self.inflation);
        let pipe = self.pipe();
        // (1) Retransmit a hole deemed lost (RFC 6675 §4 NextSeg rule 1; RFC 6582 step 2/3).
        if self.recovery.is_some()
            && (self.fast_rtx_due || pipe.saturating_add(self.eff_mss()) <= window)
            && let Some(seg) = self.next_hole(max_len, data_end)
        {
            self.fast_rtx_due = false;
            return Some(seg);
        }
        self.fast_rtx_due = false;
        // (2) Data at snd_nxt: new data, or data being resent after an RTO (go-back-N).
        let mut seq = self.snd_nxt;
        // Skip what the peer SACKed (only below snd_max can anything be SACKed).
        for _ in 0..crate::tcp::sack::MAX_RANGES + 1 {
            match self.scoreboard.sacked_end(seq) {
                Some(end) => seq = end,
                None => break,
            }
        }
        if seq != self.snd_nxt {
            self.snd_nxt = seq;
        }
        let fin_seq = self.fin_seq();
        let fin_pending = fin_seq.is_some_and(|fin| seq <= fin && !(self.fin_sent && seq > fin));
        let available = data_end - seq;
        if available == 0 && !fin_pending {
            self.arm_persist_if_needed(now);
            return None;
        }
        // RFC 3042 limited transmit: one more SMSS per duplicate ACK (at most two). With SACK
        // the segment each duplicate ACK reports has already left `pipe`, which makes room for
        // exactly that one new segment (RFC 6675 §5): no allowance on top.
        let limited = !self.sack_ok && self.recovery.is_none();
        let allowance = if limited && self.dupacks > 0 && self.dupacks < DUP_THRESH {
            self.dupacks * self.eff_mss()
        } else {
            0
        };
        let cwnd_room = window.saturating_add(allowance).saturating_sub(pipe) as usize;
        let rwnd_edge = self.snd_una + self.snd_wnd as usize;
        let rwnd_room = rwnd_edge - seq;
        let cap = if seq < self.snd_max {
            max_len
        } else {
            bulk_len
        };
        let mut len = available.min(cap).min(rwnd_room).min(cwnd_room);
        if seq < self.snd_max {
            // Do not resend over a SACKed range further on.
            if let Some(next_sacked) = self.scoreboard.next_sacked_after(seq) {
                len = len.min(next_sacked - seq);
            }
        } else if len > max_len && len % max_len != 0 {
            // Several segments at once: whole ones only. The short rest would leave after
            // them, with data outstanding: Nagle holds it (RFC 9293 §3.7.4) unless Nagle is
            // off or a FIN is queued, as without offload.
            let nagle = self.cfg.nagle && !self.fin_queued;
            if seq + len != data_end || nagle {
                len -= len % max_len;
            }
        }
        let fin_fits = fin_pending && seq + len == data_end;
        if len == 0 && !fin_fits {
            self.arm_persist_if_needed(now);
            return None;
        }
        if len == 0 && fin_fits && (cwnd_room == 0 && self.snd_una != self.snd_max) {
            return None; // The FIN waits for room like data would.
        }
        // RFC 9293 §3.8.6.2.1 sender SWS avoidance and Nagle (§3.7.4): a short segment goes
        // only if it empties the buffer and nothing is outstanding (or Nagle is off), or it is
        // at least half the largest window the peer offered, or it is a retransmission.
        let resend = seq < self.snd_max;
        let all_of_it = seq + len == data_end;
        let nagle = self.cfg.nagle && !self.fin_queued;
        if len < max_len && !resend && !fin_fits {
            let idle = self.snd_una == self.snd_max;
            let ok = (all_of_it && (idle || !nagle)) || len as u32 >= self.max_snd_wnd / 2;
            if !ok {
                self.arm_persist_if_needed(now);
                return None;
            }
        }
        let control = if fin_fits {
            TcpControl::Fin
        } else {
            TcpControl::None
        };
        Some(Segment {
            seq,
            len,
            control,
            probe: false,
        })
    }

    /// The segment of a bulk transfer: a full-sized one of new data, sent with no loss
    /// recovery, SACKed data or go-back-N in progress, when both windows have room for all of
    /// it and it does not end where a FIN is due. This is what the general rules below choose
    /// then (`pipe` is the flight size, Nagle and SWS avoidance pass a full segment), in fewer
    /// steps; `None` sends the decision to them.
    #[inline]
    fn next_full_segment(&mut self, max_len: usize) -> Option<Segment> {
        if self.full_segments(max_len) == 0 {
            return None;
        }
        self.fast_rtx_due = false;
        Some(Segment {
            seq: self.snd_nxt,
            len: max_len,
            control: TcpControl::None,
            probe: false,
        })
    }

    /// How many [`next_full_segment`](Self::next_full_segment)s of `max_len` bytes (> 0)
    /// would leave in a row now, each sent before the next is chosen: nothing but the
    /// sequence pointers and the flight change in between (sending moves `snd_nxt` and
    /// `snd_max` together; windows, recovery and SACK state stay), so the k-th (from 0) has
    /// `k * max_len` bytes less available, cwnd room and receive window room; the count ends
    /// before any of those runs short, and before the segment that would end where a FIN is
    /// due.
    #[inline]
    fn full_segments(&self, max_len: usize) -> usize {
        if self.recovery.is_some() || self.snd_nxt != self.snd_max || !self.scoreboard.is_empty() {
            return 0;
        }
        let seq = self.snd_nxt;
        let available = (self.data_start() + self.tx.len()) - seq;
        let flight = (self.snd_max - self.snd_una) as u32;
        let window = self.cc.cwnd().saturating_add(self.inflation);
        let cwnd_room = window.saturating_sub(flight) as usize;
        let rwnd_room = (self.snd_una + self.snd_wnd as usize) - seq;
        let n = (available / max_len)
            .min(cwnd_room / max_len)
            .min(rwnd_room / max_len);
        if n > 0 && self.fin_queued && available == n * max_len {
            return n - 1;
        }
        n
    }

    /// RFC 8985 §7.3: the probe is the last segment sent, again. (The RFC prefers a new
    /// segment when the windows allow, but a lone new segment meets the receiver's delayed
    /// ACK and costs 40 ms; a copy of data the receiver has is acknowledged at once, RFC 5681
    /// §4.2, and a copy of data it lacks is what it needs.)
    fn tlp_segment(&self, max_len: usize) -> Option<Segment> {
        let data_end = self.data_start() + self.tx.len();
        if self.recovery.is_some() {
            // A recovery that stalled (its ACKs lost, or a retransmission lost with nothing
            // sent after it to reveal that): probe with the first unacknowledged segment,
            // which the RTO would resend, without collapsing the window as the RTO does.
            let fin = self.fin_sent && !self.fin_acked && self.fin_seq() == Some(self.snd_una);
            let end = self
                .scoreboard
                .next_sacked_after(self.snd_una)
                .unwrap_or(self.snd_max);
            let len = (end - self.snd_una)
                .min(max_len)
                .min(data_end - self.snd_una);
            let control = if fin {
                TcpControl::Fin
            } else {
                TcpControl::None
            };
            return (len > 0 || fin).then_some(Segment {
                seq: self.snd_una,
                len,
                control,
                probe: false,
            });
        }
        let fin = self.fin_sent && !self.fin_acked;
        let sent_end = if fin { self.snd_max - 1 } else { self.snd_max };
        let start = (sent_end - max_len)
            .max(self.data_start())
            .max(self.snd_una);
        let len = sent_end - start;
        if len == 0 && !fin {
            return None;
        }
        let control = if fin {
            TcpControl::Fin
        } else {
            TcpControl::None
        };
        Some(Segment {
            seq: start,
            len,
            control,
            probe: false,
        })
    }

    /// RFC 8985 §7.2 `PTO`: 2 SRTT (plus the peer's delayed-ACK allowance when one segment is
    /// in flight), at least 2 ms; `None` before the first RTT sample or without SACK.
    fn pto(&self) -> Option<Duration> {
        let srtt = self.rtt.srtt().filter(|_| self.sack_ok)?;
        let mut pto = (srtt * 2).max(Duration::from_millis(2));
        if ((self.snd_max - self.snd_una) as u32) <= self.eff_mss() {
            pto += self.cfg.ack_delay();
        }
        Some(pto)
    }

    /// Sets the loss-probe timer to `now + pto` unless the RTO comes first.
    fn set_probe_timer(&mut self, at: Instant) {
        match self.timers.get(Timer::Retransmit) {
            Some(rto_at) if rto_at <= at => self.timers.stop(Timer::LossProbe),
            _ => self.timers.set(Timer::LossProbe, at),
        }
    }

    /// RFC 8985 §7.2: after sending new data or on an ACK, with data in flight, schedule a
    /// probe timeout if it comes before the RTO. While a probe is unanswered the timer is left
    /// to [`arm_next_probe`](Self::arm_next_probe).
    #[inline]
    pub(crate) fn arm_tlp(&mut self, now: Instant) {
        if self.snd_una == self.snd_max {
            self.timers.stop(Timer::LossProbe);
            return;
        }
        if self.tlp_end.is_some() {
            return;
        }
        match self.pto() {
            Some(pto) => self.set_probe_timer(now + pto),
            None => self.timers.stop(Timer::LossProbe),
        }
    }

    /// After a probe: RFC 8985 §7.3 leaves the rest to the RTO, whose 200 ms floor is a
    /// hundred PTOs on a short path. When the probe or its ACK is lost too, one more probe
    /// after twice the PTO (the exponential backoff the RTO would apply) recovers without
    /// collapsing the window; after [`MAX_LOSS_PROBES`] unanswered probes the RTO decides.
    fn arm_next_probe(&mut self, now: Instant) {
        match self.pto() {
            Some(pto) if self.tlp_probes < MAX_LOSS_PROBES => {
                self.set_probe_timer(now + pto * (1u32 << self.tlp_probes));
            }
            _ => self.timers.stop(Timer::LossProbe),
        }
    }

    /// RFC 6675 §4 NextSeg rule 1: the first un-SACKed byte at or above `HighRxt` and below
    /// the lost mark.
    fn next_hole(&mut self, max_len: usize, data_end: TcpSeqNumber) -> Option<Segment> {
        let mut seq = self.high_rxt.max(self.snd_una);
        for _ in 0..crate::tcp::sack::MAX_RANGES + 1 {
            match self.scoreboard.sacked_end(seq) {
                Some(end) => seq = end,
                None => break,
            }
        }
        let limit = self.lost_end.min(self.snd_max);
        if seq >= limit {
            return None;
        }
        let mut end = limit.min(seq + max_len);
        if let Some(next) = self.scoreboard.next_sacked_after(seq) {
            end = end.min(next);
        }
        let len = (end - seq).min(data_end - seq);
        let fin = self
            .fin_seq()
            .is_some_and(|f| self.fin_sent && seq + len == f && f < self.snd_max);
        if len == 0 && !fin {
            return None;
        }
        self.high_rxt = seq + len + usize::from(fin);
        if self.rxt_mark.is_none() {
            self.rxt_mark = Some((seq, self.snd_max));
        }
        Some(Segment {
            seq,
            len,
            control: if fin {
                TcpControl::Fin
            } else {
                TcpControl::None
            },
            probe: false,
        })
    }

    /// RFC 9293 §3.8.6.1: with data waiting, nothing in flight (so no ACK will come) and a
    /// window too small to send into, start the persist timer.
    fn arm_persist_if_needed(&mut self, now: Instant) {
        if self.snd_una == self.snd_max && self.has_unsent() {
            self.timers
                .set_if_idle(Timer::Persist, now + self.rtt.rto());
        }
    }

    /// The window field and its new right edge (RFC 9293 §3.8.6.2.2 receiver SWS avoidance:
    /// the right edge moves only by at least min(buffer / 2, MSS); it never moves left).
    fn advertise_window(&mut self) -> u16 {
        let free = self.rx.window() as u32;
        let right = self.rcv_nxt + free as usize;
        let threshold = (self.rx.capacity() as u32 / 2).min(self.eff_mss());
        // A zero window is no exception: reopening it by a few bytes is the silly window.
        if right > self.rcv_adv && (right - self.rcv_adv) as u32 >= threshold {
            let wnd = (free >> self.rcv_wscale).min(65_535);
            self.rcv_adv = self.rcv_nxt + ((wnd as usize) << self.rcv_wscale);
        }
        let wnd = (self.rcv_adv - self.rcv_nxt) >> self.rcv_wscale;
        wnd.min(65_535) as u16
    }

    /// Writes a data/FIN/ACK/probe segment and updates the send state.
    fn emit_segment(&mut self, now: Instant, seg: Segment, buf: &mut [u8]) -> Option<usize> {
        let window_len = self.advertise_window();
        let total = self.write_segment(now, &seg, self.rcv_nxt, window_len, buf)?;
        self.last_ack_sent = self.rcv_nxt;
        // This segment acknowledges everything: no earlier ACK point is owed any more.
        self.ack_points_len = 0;
        self.after_send(now, seg);
        Some(total)
    }

    /// The oldest ACK point still owed (see `Connection::ack_points`), as a pure ACK whose
    /// window reaches the same right edge as the final one; `None` when none is owed.
    fn emit_ack_point(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        while self.ack_points_len > 0 {
            let point = self.ack_points[0];
            self.ack_points.copy_within(1.., 0);
            self.ack_points_len -= 1;
            if point <= self.last_ack_sent || point >= self.rcv_nxt {
                continue;
            }
            self.advertise_window();
            let window = ((self.rcv_adv - point) >> self.rcv_wscale).min(65_535) as u16;
            let seg = Segment {
                seq: self.snd_max,
                len: 0,
                control: TcpControl::None,
                probe: false,
            };
            let total = self.write_segment(now, &seg, point, window, buf)?;
            self.last_ack_sent = point;
            return Some(total);
        }
        None
    }

    /// Writes `seg` acknowledging `ack` with `window_len` into `buf`; the caller updates
    /// the state.
    fn write_segment(
        &mut self,
        now: Instant,
        seg: &Segment,
        ack: TcpSeqNumber,
        window_len: u16,
        buf: &mut [u8],
    ) -> Option<usize> {
        let addrs = self.addrs()?;
        let timestamp = self.ts.map(|ts| (self.ts_now(now), ts.recent));
        let (header_len, header_sum) = if self.sack_ok && self.rx.has_ooo() {
            let len = self.emit_header_with_sack(seg, ack, window_len, timestamp, buf)?;
            (len, u32::from(checksum::sum(&buf[..len])))
        } else {
            self.emit_plain_header(seg, ack, window_len, timestamp, buf)?
        };
        Some(self.write_payload(seg, &addrs, header_len, header_sum, buf))
    }

    /// The rest of [`write_segment`](Self::write_segment) once the header (`header_len`
    /// bytes, summing to `header_sum`, not folded) is in `buf`, which has room for the
    /// payload: the payload and the checksum. Returns the segment's length.
    #[inline]
    fn write_payload(
        &self,
        seg: &Segment,
        addrs: &IpAddrPair,
        header_len: usize,
        header_sum: u32,
        buf: &mut [u8],
    ) -> usize {
        let total = header_len + seg.len;
        // The payload is copied out of the send buffer and summed in the same pass (it may
        // sit in two pieces of the ring; a piece at an odd offset sums byte-swapped, RFC 1071
        // §2(B)).
        let (mut sum_first, mut sum_second) = (0, 0);
        // A pure ACK has no payload to copy and sum.
        if seg.len > 0 {
            let (first, second) = self.tx.peek(seg.seq - self.data_start(), seg.len);
            let mid = header_len + first.len();
            sum_first = checksum::copy_and_sum(&mut buf[header_len..mid], first);
            // The ring wraps inside a segment rarely: most have no second piece.
            if !second.is_empty() {
                sum_second = checksum::copy_and_sum(&mut buf[mid..total], second);
                if first.len() % 2 == 1 {
                    sum_second = sum_second.swap_bytes();
                }
            }
        }
        // One accumulator (each part is below 2^20: no overflow), folded once.
        let pseudo = match *addrs {
            IpAddrPair::V4 { src, dst } => {
                let (s, d) = (u32::from(src), u32::from(dst));
                let proto = u32::from(u8::from(IpProtocol::Tcp));
                (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto + (total as u16) as u32
            }
            _ => u32::from(addrs.pseudo_header_sum(IpProtocol::Tcp, total)),
        };
        let acc = pseudo + header_sum + u32::from(sum_first) + u32::from(sum_second);
        let c = !checksum::combine(&[(acc >> 16) as u16, acc as u16]);
        TcpPacket::new_unchecked(&mut buf[..total]).set_checksum(c);
        total
    }

    /// The header of a segment without SACK blocks, the layout nearly every segment has:
    /// 20 bytes, then `NOP NOP TS` with timestamps (RFC 7323 appendix A), the same bytes
    /// [`TcpRepr::emit_header`] writes, written field by field. Returns the header length and
    /// the header's sum, not folded (taken from the field values, not read back from `buf`);
    /// `None` when `buf` is shorter than the header and `seg.len` bytes of payload.
    #[inline]
    fn emit_plain_header(
        &self,
        seg: &Segment,
        ack: TcpSeqNumber,
        window_len: u16,
        timestamp: Option<(u32, u32)>,
        buf: &mut [u8],
    ) -> Option<(usize, u32)> {
        const NOP_NOP_TS: [u8; 4] = [1, 1, 8, 10];
        let header_len = if timestamp.is_some() { 32 } else { 20 };
        if buf.len() < header_len + seg.len {
            return None;
        }
        let (src_port, dst_port) = (self.tuple.local.port(), self.tuple.remote.port());
        let flags = seg.control.flags() | TcpFlags::ACK;
        let offset_and_flags = ((header_len as u16 / 4) << 12) | flags.bits();
        let h = &mut buf[..header_len];
        h[0..2].copy_from_slice(&src_port.to_be_bytes());
        h[2..4].copy_from_slice(&dst_port.to_be_bytes());
        h[4..8].copy_from_slice(&seg.seq.0.to_be_bytes());
        h[8..12].copy_from_slice(&ack.0.to_be_bytes());
        h[12..14].copy_from_slice(&offset_and_flags.to_be_bytes());
        h[14..16].copy_from_slice(&window_len.to_be_bytes());
        h[16..20].fill(0); // checksum (filled in later) and urgent pointer
        let words = |x: u32| (x >> 16) + (x & 0xffff);
        let mut sum = u32::from(src_port)
            + u32::from(dst_port)
            + words(seg.seq.0)
            + words(ack.0)
            + u32::from(offset_and_flags)
            + u32::from(window_len);
        if let Some((tsval, tsecr)) = timestamp {
            h[20..24].copy_from_slice(&NOP_NOP_TS);
            h[24..28].copy_from_slice(&tsval.to_be_bytes());
            h[28..32].copy_from_slice(&tsecr.to_be_bytes());
            sum += 0x0101 + 0x080a + words(tsval) + words(tsecr);
        }
        Some((header_len, sum))
    }

    /// The header of a segment that reports SACK blocks (RFC 2018 §3: as many as fit, the
    /// most recent first), through [`TcpRepr::emit_header`]. Returns the header length;
    /// `None` when `buf` is shorter than the header and `seg.len` bytes of payload.
    fn emit_header_with_sack(
        &self,
        seg: &Segment,
        ack: TcpSeqNumber,
        window_len: u16,
        timestamp: Option<(u32, u32)>,
        buf: &mut [u8],
    ) -> Option<usize> {
        let mut repr = TcpRepr {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            control: seg.control,
            seq_number: seg.seq,
            ack_number: Some(ack),
            window_len,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp,
            payload: &[],
        };
        let mut blocks = [(0u32, 0u32); MAX_SACK_BLOCKS];
        let n = self.rx.sack_blocks(&mut blocks);
        for (slot, &(s, e)) in repr.sack_ranges.iter_mut().zip(&blocks[..n]) {
            *slot = Some(((self.rcv_nxt + s as usize).0, (self.rcv_nxt + e as usize).0));
        }
        let header_len = repr.header_len();
        if buf.len() < header_len + seg.len {
            return None;
        }
        Some(repr.emit_header(buf))
    }

    /// Bookkeeping after a segment left: sequence pointers, timers, ACK state.
    fn after_send(&mut self, now: Instant, seg: Segment) {
        self.after_ack_sent();
        if seg.probe {
            return;
        }
        let seg_end = seg.seq + seg.len + seg.control.len();
        if seg.control == TcpControl::Fin {
            self.fin_sent = true;
        }
        if seg.len == 0 && seg.control == TcpControl::None {
            return;
        }
        // RFC 5681 §4.1: after an idle period longer than the RTO, restart from the
        // initial window.
        if self.snd_una == self.snd_max && now - self.last_tx > self.rtt.rto() {
            self.cc.on_idle_restart(now, self.rtt.rto());
        }
        self.last_tx = now;
        let is_new = seg_end > self.snd_max;
        if seg.seq <= self.snd_nxt && seg_end > self.snd_nxt {
            self.snd_nxt = seg_end;
        }
        if seg.seq < self.snd_max {
            self.stats.retransmitted_segments += 1;
            // Karn: a retransmission of the timed segment spoils its sample.
            if let Some((probe_seq, _)) = self.rtt_probe
                && seg.seq <= probe_seq
                && probe_seq < seg_end
            {
                self.rtt_probe = None;
            }
        } else if self.rtt_probe.is_none() && self.ts.is_none() {
            self.rtt_probe = Some((seg.seq, now));
        }
        if is_new {
            self.snd_max = seg_end;
        }
        // RFC 6298 §5.1: start the timer if it is not running.
        self.timers
            .set_if_idle(Timer::Retransmit, now + self.rtt.rto());
        self.arm_user_timeout(now, false);
        if is_new {
            self.arm_tlp(now);
        }
    }

    /// What any segment we send does: it acknowledges all we received, no ACK is owed.
    #[inline(always)]
    fn after_ack_sent(&mut self) {
        self.ack_now = false;
        self.unacked_bytes = 0;
        self.timers.stop(Timer::DelayedAck);
    }

    /// SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) with our options (RFC 9293 §3.7.1,
    /// RFC 7323 §2-3, RFC 2018 §2).
    fn emit_syn(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let addrs = self.addrs()?;
        let synack = self.state == State::SynReceived;
        let repr = TcpRepr {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            control: TcpControl::Syn,
            seq_number: self.iss,
            ack_number: synack.then_some(self.rcv_nxt),
            // RFC 7323 §2.2: the window in a SYN is not scaled.
            window_len: self.rx.window().min(65_535) as u16,
            window_scale: self.syn_opts.window_scale,
            max_seg_size: Some(self.cfg.mss),
            sack_permitted: self.syn_opts.sack,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp: self
                .ts
                .filter(|_| self.syn_opts.timestamps)
                .map(|ts| (self.ts_now(now), if synack { ts.recent } else { 0 })),
            payload: &[],
        };
        if buf.len() < repr.buffer_len() {
            self.syn_due = true;
            return None;
        }
        let len = repr.emit_syn_inline(buf, &addrs);
        if synack {
            self.rcv_adv = self.rcv_nxt + usize::from(repr.window_len);
        }
        if self.snd_max == self.iss {
            self.snd_max = self.iss + 1;
            self.snd_nxt = self.snd_max;
            if self.retransmits == 0 {
                self.rtt_probe = Some((self.iss, now));
            }
        }
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        Some(len)
    }

    /// A reset `<SEQ=seq><CTL=RST>` (with ACK when `ack` is given).
    fn emit_rst(
        &mut self,
        seq: TcpSeqNumber,
        ack: Option<TcpSeqNumber>,
        buf: &mut [u8],
    ) -> Option<usize> {
        let addrs = self.addrs()?;
        let repr = crate::tcp::listener::rst_repr(self.tuple, seq, ack);
        if buf.len() < repr.buffer_len() {
            return None;
        }
        Some(repr.emit(buf, &addrs))
    }
}
