//! SEGMENT ARRIVES (RFC 9293 §3.10.7), with RFC 5961, RFC 7323 and RFC 6675 / 6582 on the way.

use core::net::SocketAddr;

use super::timer::Timer;
use super::{ACK_POINTS, Connection, ConnectionError, Recovery, State, Timestamps};
use crate::tcp::sack::DUP_THRESH;
use crate::time::{Duration, Instant};
use crate::wire::{IpAddrPair, TcpControl, TcpRepr, TcpSeqNumber};

/// RFC 7323 §5.5: `TS.Recent` older than 24 days is invalid for PAWS.
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 3600);

impl<S: AsRef<[u8]> + AsMut<[u8]>> Connection<S> {
    /// [`handle_segment`](Self::handle_segment) for the TCP header and payload `tcp` as
    /// received (checksum already verified): the in-order data segment that header
    /// prediction takes (Van Jacobson's fast path, see `handle_segment`), with the usual
    /// header (20 bytes, or 32 with `NOP NOP TS`; flags ACK or ACK|PSH), is recognised from
    /// its fixed-offset fields and handled without building a [`TcpRepr`]; any other
    /// segment goes through [`TcpRepr::parse`] and `handle_segment`, whose error is returned.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        addrs: &IpAddrPair,
        tcp: &[u8],
    ) -> crate::wire::Result<()> {
        const ACK: u8 = 0x10;
        const ACK_PSH: u8 = 0x18;
        if self.state == State::Established
            && let Some(h) = tcp.first_chunk::<32>()
            && (h[13] == ACK || h[13] == ACK_PSH)
        {
            let word = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
            // Data offset 5, or 8 with `NOP NOP TS` (kind 8, length 10); reserved bits clear.
            let (header_len, tsval) = match h[12] {
                0x50 => (20, None),
                0x80 if word(20) == 0x0101_080a => (32, Some(word(24))),
                _ => (0, None),
            };
            if header_len > 0
                && self.predicted_fields(
                    now,
                    TcpSeqNumber(word(4)),
                    TcpSeqNumber(word(8)),
                    u16::from_be_bytes([h[14], h[15]]),
                    tsval,
                    &tcp[header_len..],
                )
            {
                return Ok(());
            }
        }
        let seg = TcpRepr::parse(&crate::wire::TcpPacket::new_unchecked(tcp))?;
        self.handle_segment(now, addrs, &seg);
        Ok(())
    }

    /// Processes one segment of this connection. `addrs` are the segment's IP addresses as
    /// received (source = the peer); the TCP checksum must already be verified. Replies (ACKs,
    /// resets) are queued for [`poll_transmit`](Self::poll_transmit).
    pub fn handle_segment(&mut self, now: Instant, addrs: &IpAddrPair, seg: &TcpRepr<'_>) {
        if self.state == State::Established && self.predicted_data(now, seg) {
            return;
        }
        match self.state {
            State::Closed => {}
            State::Listen => self.on_listen(now, addrs, seg),
            State::SynSent => self.on_syn_sent(now, seg),
            _ => self.on_synchronized(now, seg),
        }
    }

    /// Header prediction (Van Jacobson's, as Linux's `tcp_rcv_established` fast path): the
    /// next in-order data segment of a one-way transfer to us, with nothing unusual about it,
    /// takes a short cut. Returns false, having changed nothing, when `seg` is not that
    /// segment; [`on_synchronized`](Self::on_synchronized) then runs every check.
    ///
    /// The segment must be: in ESTABLISHED (the caller checks), neither SYN, FIN nor RST,
    /// exactly at `RCV.NXT`, fitting in the free buffer with no out-of-order data held and no
    /// FIN seen, acknowledging exactly `SND.UNA` with nothing of ours in flight and no
    /// recovery or loss probe pending, without SACK blocks, with the send window unchanged,
    /// and with timestamps as negotiated passing PAWS (RFC 7323 §5.3). For such a segment the
    /// full path's steps come down to what is done here: the sequence check passes (RFC 9293
    /// §3.10.7.4 first), the ACK is neither new nor a duplicate and the window update only
    /// moves `SND.WL1/WL2` (fifth), TS.Recent is updated (RFC 7323 §4.3) and the data is
    /// queued with the delayed-ACK rules (seventh).
    #[inline]
    fn predicted_data(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let Some(ack) = seg.ack_number else {
            return false;
        };
        if !matches!(seg.control, TcpControl::None | TcpControl::Psh)
            || seg.sack_ranges.iter().any(Option::is_some)
        {
            return false;
        }
        let tsval = seg.timestamp.map(|(tsval, _)| tsval);
        self.predicted_fields(now, seg.seq_number, ack, seg.window_len, tsval, seg.payload)
    }

    /// [`predicted_data`](Self::predicted_data) for a segment with ACK, neither SYN, FIN nor
    /// RST and no SACK blocks, given by its fields: `tsval` is its timestamp value when it
    /// carries the timestamps option.
    #[inline(always)]
    fn predicted_fields(
        &mut self,
        now: Instant,
        seq: TcpSeqNumber,
        ack: TcpSeqNumber,
        window_len: u16,
        tsval: Option<u32>,
        payload: &[u8],
    ) -> bool {
        if ack != self.snd_una
            || seq != self.rcv_nxt
            || self.snd_una != self.snd_max
            || payload.is_empty()
            || payload.len() > self.rx.window()
            || self.rx.has_ooo()
            || self.peer_fin.is_some()
            || self.recovery.is_some()
            || self.tlp_end.is_some()
            || !self.scoreboard.is_empty()
            || u32::from(window_len) << self.snd_wscale != self.snd_wnd
        {
            return false;
        }
        match (self.ts.as_mut(), tsval) {
            (Some(ts), Some(tsval)) if (tsval.wrapping_sub(ts.recent) as i32) >= 0 => {
                // RFC 7323 §4.3 (3), as `update_timestamps`.
                if seq <= self.last_ack_sent {
                    ts.recent = tsval;
                    ts.recent_at = now;
                }
            }
            (None, None) => {}
            _ => return false,
        }
        self.last_rx = now;
        self.probes = 0;
        if self.cfg.keepalive().is_some() {
            self.reset_keepalive(now);
        }
        // The window update of `process_ack`: the window is the same, the marks move.
        if self.snd_wl1 < seq || (self.snd_wl1 == seq && self.snd_wl2 <= self.snd_una) {
            self.snd_wl1 = seq;
            self.snd_wl2 = self.snd_una;
            if self.snd_wnd > 0 {
                self.timers.stop(Timer::Persist);
                self.persist_backoff = 0;
            }
        }
        // What `rack_detect` and `arm_tlp` do with nothing in flight and nothing SACKed.
        if self.sack_ok {
            self.timers.stop(Timer::Reorder);
        }
        self.timers.stop(Timer::LossProbe);
        // In order, within the window, no out-of-order data held: what `write_at` at
        // offset 0 does then.
        let n = payload.len();
        self.rx.append_in_order(payload);
        self.rcv_nxt += n;
        self.delay_ack(now, n as u32);
        true
    }

    /// RFC 9293 §3.10.7.2: LISTEN.
    fn on_listen(&mut self, now: Instant, addrs: &IpAddrPair, seg: &TcpRepr<'_>) {
        match seg.control {
            TcpControl::Rst => {}
            _ if seg.ack_number.is_some() => {
                self.rst_due = Some((seg.ack_number.unwrap_or_default(), None));
                self.remote_for_reply(addrs, seg);
            }
            TcpControl::Syn => {
                let (src, dst) = match *addrs {
                    IpAddrPair::V4 { src, dst } => (src.into(), dst.into()),
                    IpAddrPair::V6 { src, dst } => (src.into(), dst.into()),
                };
                let local_ip = if self.tuple.local.ip().is_unspecified() {
                    dst
                } else {
                    self.tuple.local.ip()
                };
                self.tuple.local = SocketAddr::new(local_ip, self.tuple.local.port());
                self.tuple.remote = SocketAddr::new(src, seg.src_port);
                self.reinit_for_tuple(now);
                self.take_peer_syn(seg);
                self.syn_opts.window_scale = self
                    .syn_opts
                    .window_scale
                    .filter(|_| seg.window_scale.is_some());
                self.syn_opts.sack &= seg.sack_permitted;
                self.syn_opts.timestamps &= seg.timestamp.is_some();
                self.state = State::SynReceived;
                self.syn_due = true;
            }
            _ => {}
        }
    }

    /// Takes what the peer's SYN says (RFC 9293 §3.10.7.2-3): its ISN, its options, and its
    /// window (RFC 7323 §2.2: the window of a SYN is never scaled).
    fn take_peer_syn(&mut self, seg: &TcpRepr<'_>) {
        self.irs = seg.seq_number;
        self.rcv_nxt = seg.seq_number + 1;
        self.rcv_adv = self.rcv_nxt;
        self.last_ack_sent = self.rcv_nxt;
        let tsval = seg.timestamp.map(|t| t.0);
        self.apply_peer_syn_options(
            seg.max_seg_size,
            seg.window_scale,
            seg.sack_permitted,
            tsval,
        );
        self.snd_wnd = u32::from(seg.window_len);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq_number;
    }

    /// Points the tuple at a segment's sender so a reset can go back to it (LISTEN only).
    fn remote_for_reply(&mut self, addrs: &IpAddrPair, seg: &TcpRepr<'_>) {
        let src = match *addrs {
            IpAddrPair::V4 { src, .. } => src.into(),
            IpAddrPair::V6 { src, .. } => src.into(),
        };
        self.tuple.remote = SocketAddr::new(src, seg.src_port);
    }

    /// RFC 9293 §3.10.7.3: SYN-SENT.
    fn on_syn_sent(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        // First, check the ACK bit.
        if let Some(ack) = seg.ack_number
            && (ack <= self.iss || ack > self.snd_max)
        {
            if seg.control != TcpControl::Rst {
                self.rst_due = Some((ack, None));
            }
            return;
        }
        // Second, the RST bit: refused only if it acknowledges our SYN (RFC 5961 §3.2 note).
        if seg.control == TcpControl::Rst {
            if seg.ack_number.is_some() {
                self.fail(ConnectionError::Refused);
            }
            return;
        }
        // Fourth, the SYN bit.
        if seg.control != TcpControl::Syn {
            return;
        }
        self.take_peer_syn(seg);
        self.last_rx = now;
        match seg.ack_number {
            Some(ack) => {
                // Our SYN is acknowledged: ESTABLISHED.
                self.snd_wl2 = ack;
                self.ack_our_syn(now, ack, seg);
                self.state = State::Established;
                self.ack_now = true;
                self.on_established(now);
            }
            None => {
                // Simultaneous open (RFC 9293 §3.5, figure 7): SYN-RECEIVED, send SYN-ACK.
                self.state = State::SynReceived;
                self.syn_due = true;
            }
        }
    }

    /// Recomputes what depends on the four-tuple once LISTEN learns the peer.
    fn reinit_for_tuple(&mut self, now: Instant) {
        let isn = crate::tcp::isn::IsnGenerator::new(self.cfg.secret);
        self.iss = isn.isn(&self.tuple, now);
        self.snd_una = self.iss;
        self.snd_nxt = self.iss;
        self.snd_max = self.iss;
        self.snd_wl2 = self.iss;
        self.high_rxt = self.iss;
        self.lost_end = self.iss;
        if let Some(ts) = self.ts.as_mut() {
            ts.offset = isn.ts_offset(&self.tuple);
        }
    }

    /// Our SYN is acknowledged by `ack` (from SYN-SENT or SYN-RECEIVED).
    fn ack_our_syn(&mut self, now: Instant, ack: TcpSeqNumber, seg: &TcpRepr<'_>) {
        self.snd_una = ack;
        self.syn_acked = true;
        if self.snd_nxt < ack {
            self.snd_nxt = ack;
        }
        self.high_rxt = ack;
        self.lost_end = ack;
        let syn_retransmitted = self.retransmits > 0;
        self.retransmits = 0;
        // RTT of the handshake (Karn: only if the SYN was not retransmitted).
        if let Some((tsval_echo, _)) = seg
            .timestamp
            .map(|t| (t.1, t.0))
            .filter(|_| self.ts.is_some())
        {
            self.sample_ts_rtt(now, tsval_echo);
        } else if let Some((_, sent)) = self.rtt_probe.take() {
            self.rtt.sample(now - sent);
        }
        self.rtt_probe = None;
        if syn_retransmitted {
            // RFC 6298 §5.7: with no sample yet, the RTO for data starts at 3 s.
            self.rtt.syn_lost();
        }
        self.timers.stop(Timer::Retransmit);
    }

    /// Timers of a freshly established connection.
    fn on_established(&mut self, now: Instant) {
        self.timers.stop(Timer::Retransmit);
        self.reset_keepalive(now);
    }

    pub(crate) fn reset_keepalive(&mut self, now: Instant) {
        self.probes = 0;
        if let Some(ka) = self.cfg.keepalive() {
            self.timers.set(Timer::Keepalive, now + ka.idle);
        }
    }

    /// RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states.
    fn on_synchronized(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if self.state == State::SynReceived && self.on_simultaneous_syn_ack(now, seg) {
            return;
        }
        // RFC 7323 §5.3 R1: PAWS, before the sequence check.
        if !self.paws_ok(now, seg) {
            if seg.control != TcpControl::Rst {
                self.ack_now = true;
            }
            return;
        }
        // First, check the sequence number.
        if !self.acceptable(seg) {
            if seg.control != TcpControl::Rst {
                // RFC 9293: send an ACK and drop.
                self.ack_now = true;
            }
            if self.state == State::TimeWait && seg.control == TcpControl::Fin {
                // RFC 9293 §3.10.7.4: a retransmitted FIN restarts the 2 MSL timeout.
                self.enter_time_wait(now);
            }
            return;
        }
        self.last_rx = now;
        // Any acceptable segment answers our persist or keepalive probes (RFC 1122
        // §4.2.2.17: probing continues as long as the peer answers).
        self.probes = 0;
        if self.cfg.keepalive().is_some() {
            self.reset_keepalive(now);
        }
        // Second, the RST bit (RFC 5961 §3.2).
        if seg.control == TcpControl::Rst {
            if seg.seq_number == self.rcv_nxt {
                match self.state {
                    // RFC 9293: SYN-RECEIVED from a passive open returns to LISTEN; for a
                    // single-connection listener that is closing (the peer gave up).
                    State::SynReceived => self.fail(ConnectionError::Refused),
                    State::Closing | State::LastAck | State::TimeWait => self.enter_closed(),
                    _ => self.fail(ConnectionError::Reset),
                }
            } else {
                self.challenge_ack(now);
            }
            return;
        }
        // Fourth, the SYN bit (RFC 5961 §4.2): any SYN here gets a challenge ACK.
        if seg.control == TcpControl::Syn {
            if self.state == State::SynReceived
                && seg.seq_number + 1 == self.rcv_nxt
                && seg.ack_number.is_none()
            {
                // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost, send it again.
                self.syn_due = true;
            } else {
                self.challenge_ack(now);
            }
            return;
        }
        // Fifth, the ACK field.
        let Some(ack) = seg.ack_number else { return };
        if self.state == State::SynReceived {
            if self.snd_una < ack && ack <= self.snd_max {
                self.ack_our_syn(now, ack, seg);
                self.state = if self.fin_queued {
                    State::FinWait1
                } else {
                    State::Established
                };
                self.snd_wnd = u32::from(seg.window_len) << self.snd_wscale;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = seg.seq_number;
                self.snd_wl2 = ack;
                self.on_established(now);
            } else {
                self.rst_due = Some((ack, None));
                return;
            }
        }
        if !self.process_ack(now, ack, seg) {
            return;
        }
        if self.state == State::Closed {
            return;
        }
        self.update_timestamps(now, seg);
        // Seventh, the segment text.
        if !seg.payload.is_empty() {
            self.process_data(now, seg);
        }
        // Eighth, the FIN bit.
        if seg.control == TcpControl::Fin {
            self.peer_fin = Some(seg.seq_number + seg.payload.len());
            self.ack_now = true;
        }
        self.consume_peer_fin(now);
    }

    /// RFC 9293 §3.5 figure 7 (simultaneous open), as Linux's `tcp_validate_incoming`: in
    /// SYN-RECEIVED, the peer's SYN-ACK repeats the SYN we already have and acknowledges ours.
    /// The plain sequence check would drop it (its SYN lies before RCV.NXT) and owe an ACK this
    /// state never sends, so two such ends would never leave SYN-RECEIVED. Take it as the ACK
    /// that completes the handshake. Returns false when `seg` is not that SYN-ACK.
    fn on_simultaneous_syn_ack(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let Some(ack) = seg.ack_number else {
            return false;
        };
        if seg.control != TcpControl::Syn
            || !seg.payload.is_empty()
            || seg.seq_number + 1 != self.rcv_nxt
            || ack != self.snd_max
            || self.syn_acked
        {
            return false;
        }
        self.last_rx = now;
        self.ack_our_syn(now, ack, seg);
        self.state = if self.fin_queued {
            State::FinWait1
        } else {
            State::Established
        };
        // RFC 7323 §2.2: the window of a SYN is never scaled.
        self.snd_wnd = u32::from(seg.window_len);
        self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
        self.snd_wl1 = seg.seq_number;
        self.snd_wl2 = ack;
        self.update_timestamps(now, seg);
        self.on_established(now);
        // Acknowledge its SYN again in case our SYN-ACK was lost.
        self.ack_now = true;
        true
    }

    /// RFC 7323 §5.3 R1-R2: reject a segment whose TSval is older than `TS.Recent`.
    fn paws_ok(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let (Some(ts), Some((tsval, _))) = (self.ts.as_mut(), seg.timestamp) else {
            return true;
        };
        if seg.control == TcpControl::Rst || (tsval.wrapping_sub(ts.recent) as i32) >= 0 {
            return true;
        }
        if now - ts.recent_at > PAWS_IDLE {
            // R2: TS.Recent is stale; accept and let the update below refresh it.
            ts.recent = tsval;
            ts.recent_at = now;
            return true;
        }
        false
    }

    /// RFC 7323 §4.3 (3): `TS.Recent = SEG.TSval` when `SEG.SEQ <= Last.ACK.sent`. With a
    /// delayed ACK that is the earliest unacknowledged segment, so the echo covers the delay.
    fn update_timestamps(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let last_ack_sent = self.last_ack_sent;
        if let (Some(ts), Some((tsval, _))) = (self.ts.as_mut(), seg.timestamp)
            && (tsval.wrapping_sub(ts.recent) as i32) >= 0
            && seg.seq_number <= last_ack_sent
        {
            *ts = Timestamps {
                recent: tsval,
                recent_at: now,
                ..*ts
            };
        }
    }

    /// RFC 9293 §3.10.7.4 "first, check sequence number": the four acceptability cases.
    fn acceptable(&self, seg: &TcpRepr<'_>) -> bool {
        let len = seg.segment_len();
        let wnd = self.rcv_wnd();
        let start = seg.seq_number;
        let in_window = |s: TcpSeqNumber| self.rcv_nxt <= s && s < self.rcv_nxt + wnd as usize;
        match (len, wnd) {
            (0, 0) => start == self.rcv_nxt,
            (0, _) => in_window(start),
            (_, 0) => false,
            (_, _) => in_window(start) || in_window(start + (len - 1)),
        }
    }

    /// The receive window from `rcv_nxt` as last advertised (never less than what we told
    /// the peer, RFC 9293 §3.8.6.2.2), and never less than the buffer's free space.
    #[inline]
    pub(crate) fn rcv_wnd(&self) -> u32 {
        let advertised = (self.rcv_adv - self.rcv_nxt) as u32;
        advertised.max(self.rx.window() as u32)
    }

    /// RFC 5961 §7: a challenge ACK, at most `challenge_ack_limit` per second.
    fn challenge_ack(&mut self, now: Instant) {
        if now - self.challenge_window >= Duration::from_secs(1) {
            self.challenge_window = now;
            self.challenge_count = 0;
        }
        if self.challenge_count < self.cfg.challenge_ack_limit {
            self.challenge_count += 1;
            self.ack_now = true;
        }
    }

    /// RFC 9293 §3.10.7.4 "fifth, check the ACK field". Returns false when the segment must
    /// be dropped.
    fn process_ack(&mut self, now: Instant, ack: TcpSeqNumber, seg: &TcpRepr<'_>) -> bool {
        // RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT.
        let oldest = self.snd_una - self.max_snd_wnd.max(1) as usize;
        if ack > self.snd_max {
            self.challenge_ack(now);
            return false;
        }
        if ack < oldest {
            self.challenge_ack(now);
            return false;
        }
        let window_before = self.snd_wnd;
        // Update the send window (RFC 9293 §3.10.7.4: SND.WL1 < SEG.SEQ, or equal with
        // SND.WL2 =< SEG.ACK).
        if ack >= self.snd_una
            && (self.snd_wl1 < seg.seq_number
                || (self.snd_wl1 == seg.seq_number && self.snd_wl2 <= ack))
        {
            self.snd_wnd = u32::from(seg.window_len) << self.snd_wscale;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            self.snd_wl1 = seg.seq_number;
            self.snd_wl2 = ack;
            if self.snd_wnd > 0 {
                self.timers.stop(Timer::Persist);
                self.probes = 0;
                self.persist_backoff = 0;
            }
        }
        // RFC 8985 §6.2 step 2: a hole below SACKed data filled by its original transmission
        // (nothing has been retransmitted: no recovery, no timeout) means the path reorders.
        let filled_without_rxt = ack > self.snd_una
            && self.recovery.is_none()
            && self.retransmits == 0
            && self.scoreboard.high_sacked().is_some();
        let newly_sacked = if self.sack_ok {
            self.read_sack_blocks(seg)
        } else {
            0
        };
        if filled_without_rxt {
            self.reordering_seen = true;
        }
        if ack > self.snd_una || newly_sacked > 0 {
            self.tlp_probes = 0;
        }
        if ack > self.snd_una {
            self.on_new_ack(now, ack, seg);
        } else if ack == self.snd_una && self.snd_max > self.snd_una {
            // RFC 5681 §2 duplicate ACK: no data, no window change, data outstanding; with
            // SACK, RFC 6675 §2: any ACK that brings new SACK information counts.
            let dup = if self.sack_ok {
                newly_sacked > 0
            } else {
                seg.payload.is_empty()
                    && seg.control == TcpControl::None
                    && self.snd_wnd == window_before
            };
            if dup {
                self.on_dupack(now);
            }
        }
        self.rack_detect(now);
        self.detect_late_losses(now);
        self.arm_tlp(now);
        self.after_ack_state_changes(now);
        true
    }

    /// RFC 8985 §6.2 step 5 (`RACK_detect_loss`) for the holes below the highest SACKed range.
    /// We send new data in sequence order, so such a hole was sent before the SACKed data
    /// (a retransmitted hole sits below `HighRxt` and is left to `detect_late_losses`): once
    /// the reordering window has passed, it is lost. Unlike RFC 6675's `IsLost` this needs no
    /// `DupThresh` segments above the hole, so a loss in a small flight is repaired without
    /// waiting for a timeout.
    pub(crate) fn rack_detect(&mut self, now: Instant) {
        if !self.sack_ok {
            return;
        }
        let Some(&(start, _)) = self.scoreboard.ranges().last() else {
            self.timers.stop(Timer::Reorder);
            return;
        };
        if start <= self.lost_end.max(self.snd_una) {
            return;
        }
        let reo_wnd = self.reo_wnd();
        if reo_wnd == Duration::ZERO {
            self.mark_lost_below(now, start);
        } else if self.timers.get(Timer::Reorder).is_none() {
            self.reorder_end = start;
            self.timers.set(Timer::Reorder, now + reo_wnd);
        }
    }

    /// RFC 8985 §6.2 step 4 (`RACK_update_reo_wnd`, without the DSACK multiplier): no wait
    /// in recovery or with `DupThresh` segments SACKed while the path has not been seen to
    /// reorder; otherwise a quarter of the minimum RTT, at most SRTT.
    fn reo_wnd(&self) -> Duration {
        if !self.reordering_seen
            && (self.recovery.is_some()
                || self.scoreboard.sacked_bytes() >= DUP_THRESH * self.eff_mss())
        {
            return Duration::ZERO;
        }
        let min_rtt = self.rtt.min_rtt().unwrap_or(Duration::ZERO);
        (min_rtt / 4).min(self.rtt.srtt().unwrap_or(Duration::ZERO))
    }

    /// Every un-SACKed byte below `end` is lost: raise the lost mark, entering recovery if
    /// not in it (RFC 8985 §6.2 step 5 feeding RFC 6675's `NextSeg`).
    pub(crate) fn mark_lost_below(&mut self, now: Instant, end: TcpSeqNumber) {
        self.timers.stop(Timer::Reorder);
        if end > self.lost_end {
            self.lost_end = end;
        }
        if self.recovery.is_none() && self.lost_end > self.snd_una {
            self.enter_recovery(now);
        }
    }

    /// Losses RFC 6675 alone would leave to the retransmission timer, found as RFC 8985 does,
    /// kept to what two marks can tell: a tail loss probe SACKed above holes means the holes
    /// were lost (§7.4); data sent after a retransmission SACKed while the retransmission is
    /// not acknowledged means the retransmission was lost too (§6.2).
    fn detect_late_losses(&mut self, now: Instant) {
        if let Some(end) = self.tlp_end {
            if self.snd_una >= end {
                self.tlp_end = None;
            } else if self.scoreboard.high_sacked().is_some_and(|h| h >= end) {
                self.tlp_end = None;
                if let Some(&(start, _)) = self.scoreboard.ranges().last() {
                    self.lost_end = self.lost_end.max(start);
                }
                if self.recovery.is_none() {
                    self.enter_recovery(now);
                }
            }
        }
        if let (Some((seq, mark)), Some(_)) = (self.rxt_mark, self.recovery) {
            let beyond = mark + (DUP_THRESH * self.eff_mss()) as usize;
            if self.snd_una > seq {
                self.rxt_mark = None;
            } else if self.scoreboard.high_sacked().is_some_and(|h| h >= beyond) {
                self.rxt_mark = None;
                self.high_rxt = self.snd_una;
                self.stats.lost_retransmissions += 1;
            }
        }
    }

    /// Records the peer's SACK blocks; returns the newly SACKed bytes.
    fn read_sack_blocks(&mut self, seg: &TcpRepr<'_>) -> u32 {
        let una = seg.ack_number.unwrap_or(self.snd_una).max(self.snd_una);
        let mut newly = 0;
        for &(start, end) in seg.sack_ranges.iter().flatten() {
            newly += self
                .scoreboard
                .add(TcpSeqNumber(start), TcpSeqNumber(end), una, self.snd_max);
        }
        newly
    }

    /// New data acknowledged (RFC 9293 §3.10.7.4; RFC 6298 §5.2-5.3; RFC 5681 §3.1).
    fn on_new_ack(&mut self, now: Instant, ack: TcpSeqNumber, seg: &TcpRepr<'_>) {
        let acked = (ack - self.snd_una) as u32;
        let flight_before = (self.snd_max - self.snd_una) as u32;
        let mut data_acked = acked as usize;
        if !self.syn_acked {
            data_acked = data_acked.saturating_sub(1);
            self.syn_acked = true;
        }
        if let Some(fin) = self.fin_seq().filter(|_| self.fin_sent && !self.fin_acked)
            && ack > fin
        {
            data_acked = data_acked.saturating_sub(1);
            self.fin_acked = true;
        }
        self.tx.consume(data_acked);
        self.snd_una = ack;
        if self.snd_nxt < ack {
            self.snd_nxt = ack;
        }
        if self.high_rxt < ack {
            self.high_rxt = ack;
        }
        if self.lost_end < ack {
            self.lost_end = ack;
        }
        self.scoreboard.ack(ack);
        self.retransmits = 0;
        self.probes = 0;
        // RTT: RFC 7323 §4.2 with timestamps, else Karn's rule on the one timed segment.
        match (self.ts.is_some(), seg.timestamp) {
            (true, Some((_, tsecr))) => self.sample_ts_rtt(now, tsecr),
            _ => {
                if let Some((seq, sent)) = self.rtt_probe
                    && ack > seq
                {
                    self.rtt.sample(now - sent);
                    self.rtt_probe = None;
                }
            }
        }
        // Loss recovery and congestion control.
        match self.recovery {
            Some(rec) if ack >= rec.recover => {
                // Full acknowledgment: leave recovery (RFC 6675 §5, RFC 6582 §3.2 step 3).
                self.recovery = None;
                self.inflation = 0;
                self.dupacks = 0;
                self.rxt_mark = None;
                self.cc.on_recovery_exit(now);
            }
            Some(_) => {
                // Partial acknowledgment.
                if !self.sack_ok {
                    // RFC 6582 §3.2 step 3: retransmit the first unacknowledged segment,
                    // deflate by the amount acked, add back one SMSS.
                    self.lost_end = self.snd_una + self.eff_mss() as usize;
                    self.high_rxt = self.snd_una;
                    self.fast_rtx_due = true;
                    self.inflation = self.inflation.saturating_sub(acked) + self.eff_mss();
                } else {
                    self.update_lost_end();
                }
            }
            None => {
                self.dupacks = 0;
                let srtt = self.rtt.srtt().unwrap_or(Duration::ZERO);
                let cwnd_limited =
                    flight_before.saturating_add(2 * self.eff_mss()) >= self.cc.cwnd();
                self.cc.on_ack(now, acked, srtt, cwnd_limited);
                if self.sack_ok {
                    self.update_lost_end();
                    if self.lost_end > self.snd_una {
                        self.enter_recovery(now);
                    }
                }
            }
        }
        // RFC 6298 §5.2-5.3: stop the timer when all is acknowledged, else restart it.
        if self.snd_una == self.snd_max {
            self.timers.stop(Timer::Retransmit);
            self.timers.stop(Timer::UserTimeout);
        } else {
            self.restart_rto(now);
            self.arm_user_timeout(now, true);
        }
        self.arm_tlp(now);
    }

    pub(crate) fn arm_user_timeout(&mut self, now: Instant, progress: bool) {
        if let Some(t) = self.cfg.user_timeout() {
            if progress {
                self.timers.set(Timer::UserTimeout, now + t);
            } else {
                self.timers.set_if_idle(Timer::UserTimeout, now + t);
            }
        }
    }

    /// RFC 7323 §4.1: RTT = our clock now minus the echoed timestamp.
    fn sample_ts_rtt(&mut self, now: Instant, tsecr: u32) {
        let elapsed = self.ts_now(now).wrapping_sub(tsecr);
        // Ignore echoes that are in the future or absurdly old (a broken peer).
        // After a retransmission timeout, an echo of a timestamp sent before it may be the
        // answer to a retransmission the peer dropped as a duplicate (RFC 7323 §4.3 (2)
        // echoes the old TS.Recent then): it measures the timeout, not the path. Like Karn's
        // rule, skip such samples until an echo from after the timeout arrives.
        if let Some(rto_ts) = self.rto_tsval {
            if (tsecr.wrapping_sub(rto_ts) as i32) < 0 {
                return;
            }
            self.rto_tsval = None;
        }
        if elapsed < 3_600_000 {
            self.rtt.sample(Duration::from_millis(u64::from(elapsed)));
        }
    }

    /// A duplicate ACK (RFC 5681 §3.2, RFC 3042, RFC 6675 §5, RFC 6582 §3.2).
    fn on_dupack(&mut self, now: Instant) {
        self.dupacks = self.dupacks.saturating_add(1);
        match self.recovery {
            Some(_) if !self.sack_ok => {
                // RFC 6582 §3.2 step 4: inflate by one SMSS per further duplicate.
                self.inflation = self.inflation.saturating_add(self.eff_mss());
            }
            Some(_) => self.update_lost_end(),
            None => {
                if self.sack_ok {
                    self.update_lost_end();
                    if self.dupacks >= DUP_THRESH || self.lost_end > self.snd_una {
                        self.enter_recovery(now);
                    }
                } else if self.dupacks == DUP_THRESH {
                    self.enter_recovery(now);
                }
            }
        }
    }

    fn update_lost_end(&mut self) {
        let end = self.scoreboard.lost_end(self.snd_una, self.eff_mss());
        if end > self.lost_end {
            self.lost_end = end;
        }
        if self.dupacks >= DUP_THRESH && self.lost_end == self.snd_una {
            // RFC 6675 §5 step 4: DupThresh duplicates mark the first segment lost too.
            self.lost_end = self.snd_una + self.eff_mss() as usize;
        }
    }

    /// Enters fast recovery (RFC 6675 §5 steps 4.1-4.3; RFC 6582 §3.2 step 2).
    fn enter_recovery(&mut self, now: Instant) {
        let flight = self.pipe();
        self.stats.fast_recoveries += 1;
        self.recovery = Some(Recovery {
            recover: self.snd_max,
        });
        self.cc
            .on_congestion_event(now, flight.max((self.snd_max - self.snd_una) as u32 / 2));
        self.high_rxt = self.snd_una;
        if self.lost_end <= self.snd_una {
            self.lost_end = self.snd_una + self.eff_mss() as usize;
        }
        self.fast_rtx_due = true;
        self.rxt_mark = None;
        if !self.sack_ok {
            self.inflation = DUP_THRESH * self.eff_mss();
        }
        // Karn: the timed segment may be retransmitted now.
        self.rtt_probe = None;
    }

    /// RFC 6675 §4 `pipe`: bytes believed in the network. Un-SACKed bytes sent, less those
    /// deemed lost and not yet retransmitted. Without SACK this is the flight size.
    #[inline]
    pub(crate) fn pipe(&self) -> u32 {
        let outstanding = self.scoreboard.unsacked_between(self.snd_una, self.snd_nxt);
        if self.recovery.is_none() || self.lost_end <= self.high_rxt {
            return outstanding;
        }
        let lost_pending = self.scoreboard.unsacked_between(
            self.high_rxt.max(self.snd_una),
            self.lost_end.min(self.snd_nxt),
        );
        outstanding.saturating_sub(lost_pending)
    }

    /// State changes the acknowledgment of our FIN causes (RFC 9293 §3.10.7.4 fifth step).
    fn after_ack_state_changes(&mut self, now: Instant) {
        if !self.fin_acked {
            return;
        }
        match self.state {
            State::FinWait1 => self.state = State::FinWait2,
            State::Closing => self.enter_time_wait(now),
            State::LastAck => self.enter_closed(),
            _ => {}
        }
    }

    pub(crate) fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        self.timers.stop_all();
        self.timers.set(Timer::TimeWait, now + self.cfg.msl() * 2);
    }

    /// RFC 9293 §3.10.7.4 "seventh, process the segment text".
    fn process_data(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if !matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            return; // After the peer's FIN, data is ignored.
        }
        let mut data = seg.payload;
        let mut seq = seg.seq_number;
        // Trim what we already have.
        if seq < self.rcv_nxt {
            let dup = (self.rcv_nxt - seq).min(data.len());
            data = &data[dup..];
            seq = self.rcv_nxt;
        }
        if data.is_empty() {
            self.ack_now = true; // A pure retransmission: our ACK was lost.
            return;
        }
        let offset = seq - self.rcv_nxt;
        let had_ooo = self.rx.has_ooo();
        match self.rx.write_at(offset, data) {
            Ok(advanced) if advanced > 0 => {
                self.rcv_nxt += advanced;
                if had_ooo {
                    // RFC 5681 §4.2: ACK at once when a segment fills a gap.
                    self.ack_now = true;
                } else {
                    self.delay_ack(now, advanced as u32);
                }
            }
            // Out of order (RFC 5681 §4.2: an immediate duplicate ACK, with SACK blocks), or
            // refused because too many gaps are tracked (RFC 9293 §3.10.7.4 allows dropping).
            Ok(_) | Err(_) => self.ack_now = true,
        }
    }

    /// RFC 9293 §3.8.6.3: delay the ACK, but ACK at least every second full-sized segment.
    /// Counted in bytes (as Linux's `__tcp_ack_snd_check`: more than one MSS unacknowledged),
    /// so segments a little under the MSS (a smaller path MTU) still count.
    fn delay_ack(&mut self, now: Instant, bytes: u32) {
        self.unacked_bytes = self.unacked_bytes.saturating_add(bytes);
        if self.unacked_bytes > self.eff_mss() || self.cfg.ack_delay() == Duration::ZERO {
            // Every second full-sized segment gets its own ACK, also when several arrive
            // before we next transmit: the point is sent before the final ACK.
            let n = usize::from(self.ack_points_len);
            if n < ACK_POINTS {
                self.ack_points_len += 1;
            }
            self.ack_points[n.min(ACK_POINTS - 1)] = self.rcv_nxt;
            self.unacked_bytes = 0;
            self.ack_now = true;
        } else {
            self.timers
                .set_if_idle(Timer::DelayedAck, now + self.cfg.ack_delay());
        }
    }

    /// RFC 9293 §3.10.7.4 "eighth, check the FIN bit", once every byte before the FIN is in.
    fn consume_peer_fin(&mut self, now: Instant) {
        let Some(fin) = self.peer_fin else { return };
        if self.fin_received || fin != self.rcv_nxt {
            return;
        }
        self.fin_received = true;
        self.rcv_nxt += 1;
        self.ack_now = true;
        match self.state {
            State::SynReceived | State::Established => self.state = State::CloseWait,
            State::FinWait1 => {
                if self.fin_acked {
                    self.enter_time_wait(now);
                } else {
                    self.state = State::Closing;
                }
            }
            State::FinWait2 => self.enter_time_wait(now),
            State::TimeWait => self.enter_time_wait(now),
            _ => {}
        }
    }
}
