//! A listening port with a SYN backlog (RFC 9293 §3.10.7.2 LISTEN, §3.5 handshake), and SYN
//! cookies (RFC 4987 §3.6) when the backlog is full.
//!
//! The listener keeps half-open connections (SYN received, SYN-ACK sent) in caller-provided
//! slots, retransmits their SYN-ACKs, and hands back a [`Handshake`] when the final ACK
//! arrives; [`Connection::accept`](crate::tcp::Connection::accept) turns it into an
//! ESTABLISHED connection with its own buffers. When every slot is taken, the SYN-ACK's
//! sequence number is a cookie instead, and nothing is stored: a SYN flood cannot exhaust
//! memory, and genuine clients still get through.

use core::net::{IpAddr, SocketAddr};

use crate::tcp::FourTuple;
use crate::tcp::config::Config;
use crate::tcp::conn::{SynOptions, window_shift};
use crate::tcp::isn::{CookieOptions, IsnGenerator, SynCookies};
use crate::time::Instant;
use crate::wire::tcp::MAX_SACK_BLOCKS;
use crate::wire::{IpAddrPair, TcpControl, TcpRepr, TcpSeqNumber};

/// A completed three-way handshake: everything [`Connection::accept`] needs.
///
/// [`Connection::accept`]: crate::tcp::Connection::accept
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// The connection's four-tuple.
    pub tuple: FourTuple,
    /// Our initial sequence number.
    pub iss: TcpSeqNumber,
    /// The peer's initial sequence number.
    pub irs: TcpSeqNumber,
    /// The window field of the completing ACK (already in the peer's scale).
    pub window: u16,
    /// The sequence number of the completing ACK (`SND.WL1`).
    pub ack_seq: TcpSeqNumber,
    /// The MSS the peer's SYN announced.
    pub peer_mss: Option<u16>,
    /// What the peer's SYN offered, limited to what our SYN-ACK agreed to.
    pub peer: SynOptions,
    /// The peer's latest TSval when timestamps are in use.
    pub peer_tsval: Option<u32>,
    /// The window shift our SYN-ACK announced.
    pub our_wscale: Option<u8>,
    /// Our timestamp clock offset for this tuple (RFC 7323 §5.4), as the SYN-ACK used it:
    /// derived with the ISN on the SYN, so that the connection does not hash again.
    pub ts_offset: u32,
}

/// A four-tuple as plain values, compared in one piece (a [`FourTuple`]'s comparison is a
/// match over the address families of both ends, compiled for each pair): both addresses
/// (IPv4 in the low 32 bits), both ports, and the families. The listener's tuples never
/// carry an IPv6 flow label or scope (they are made from addresses and ports): equal keys
/// are equal tuples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TupleKey {
    local: u128,
    remote: u128,
    /// Local port << 16 | remote port.
    ports: u32,
    /// Bit 1: the local address is IPv6; bit 0: the remote one.
    v6: u8,
}

impl TupleKey {
    #[inline]
    fn new(tuple: &FourTuple) -> Self {
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        };
        Self {
            local: bits(tuple.local.ip()),
            remote: bits(tuple.remote.ip()),
            ports: u32::from(tuple.local.port()) << 16 | u32::from(tuple.remote.port()),
            v6: u8::from(tuple.local.is_ipv6()) << 1 | u8::from(tuple.remote.is_ipv6()),
        }
    }

    /// The tuple back (the tests check the key is exact).
    #[cfg(test)]
    fn tuple(&self) -> FourTuple {
        let addr = |bits: u128, v6: bool, port: u16| {
            let ip = if v6 {
                IpAddr::V6(core::net::Ipv6Addr::from(bits))
            } else {
                IpAddr::V4(core::net::Ipv4Addr::from(bits as u32))
            };
            SocketAddr::new(ip, port)
        };
        FourTuple {
            local: addr(self.local, self.v6 & 2 != 0, (self.ports >> 16) as u16),
            remote: addr(self.remote, self.v6 & 1 != 0, self.ports as u16),
        }
    }
}

/// One half-open connection: SYN received, SYN-ACK sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HalfOpen {
    /// What the backlog is searched by.
    key: TupleKey,
    tuple: FourTuple,
    iss: TcpSeqNumber,
    irs: TcpSeqNumber,
    peer_mss: Option<u16>,
    peer: SynOptions,
    peer_tsval: Option<u32>,
    /// Our timestamp clock offset (derived with `iss` from one hash of the tuple).
    ts_offset: u32,
    /// When the SYN-ACK is next (re)sent.
    due: Instant,
    retransmits: u32,
}

/// A backlog slot: free (`None`) or holding a half-open connection.
pub type SynSlot = Option<HalfOpen>;

/// A reply the listener owes that is not tied to a slot.
#[derive(Debug, Clone, Copy)]
enum Reply {
    /// A SYN-ACK whose ISN is a cookie.
    CookieSynAck {
        tuple: FourTuple,
        iss: TcpSeqNumber,
        irs: TcpSeqNumber,
        opts: CookieOptions,
        tsval: Option<u32>,
        tsecr: u32,
    },
    /// A reset `<SEQ=seq><ACK=ack>` (RFC 9293 §3.10.7.2).
    Rst {
        tuple: FourTuple,
        seq: TcpSeqNumber,
        ack: Option<TcpSeqNumber>,
    },
}

/// Replies waiting to go out; more are dropped (the peer retransmits). Small: a listener sits
/// in every socket slot of the stack, and the stack sends what is owed after each frame in.
const REPLIES: usize = 4;

/// What a listener counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// SYNs that took a backlog slot.
    pub syns_queued: u64,
    /// SYNs answered with a cookie because the backlog was full.
    pub cookies_sent: u64,
    /// Handshakes completed from a cookie.
    pub cookies_accepted: u64,
    /// ACKs whose cookie did not check out (answered with a reset).
    pub cookies_rejected: u64,
    /// Handshakes completed.
    pub established: u64,
    /// Half-open connections given up after `max_syn_retransmissions`.
    pub timed_out: u64,
    /// Replies dropped because the reply queue was full.
    pub replies_dropped: u64,
}

/// A listening port. `B` is the backlog storage, e.g. `[None; 64]` or `vec![None; 1024]`.
pub struct Listener<B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> {
    cfg: Config,
    local: SocketAddr,
    slots: B,
    isn: IsnGenerator,
    cookies: SynCookies,
    wscale: Option<u8>,
    /// The window our SYN-ACKs offer (unscaled, RFC 7323 §2.2).
    syn_window: u16,
    replies: [Option<Reply>; REPLIES],
    stats: ListenerStats,
}

impl<B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> Listener<B> {
    /// Listens on `local` (the address may be unspecified). `recv_buffer` is the receive
    /// buffer size accepted connections will get: it sets the window shift the SYN-ACK
    /// announces (RFC 7323 §2.3).
    pub fn new(cfg: &Config, local: SocketAddr, recv_buffer: usize, slots: B) -> Self {
        Self {
            cfg: cfg.clone(),
            local,
            isn: IsnGenerator::new(cfg.secret),
            cookies: SynCookies::new(cfg.secret),
            wscale: cfg.window_scaling.then(|| window_shift(recv_buffer)),
            syn_window: recv_buffer.min(65_535) as u16,
            slots,
            replies: [None; REPLIES],
            stats: ListenerStats::default(),
        }
    }

    /// The listening address.
    #[inline]
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Counters.
    #[inline]
    pub fn stats(&self) -> ListenerStats {
        self.stats
    }

    /// Half-open connections held.
    pub fn backlog_len(&self) -> usize {
        self.slots.as_ref().iter().flatten().count()
    }

    /// Processes a segment sent to the listening port by a peer with no connection yet.
    /// Returns the handshake when this segment completes one; if it also carries data or a
    /// FIN, hand it to the new connection's `handle_segment`.
    pub fn handle_segment(
        &mut self,
        now: Instant,
        addrs: &IpAddrPair,
        seg: &TcpRepr<'_>,
    ) -> Option<Handshake> {
        let tuple = self.tuple_of(addrs, seg);
        self.handle_segment_on(now, tuple, seg)
    }

    /// [`handle_segment`](Self::handle_segment) with the segment's tuple already known
    /// (ours: the listening port and the segment's destination address; the peer's: its
    /// source), as the stack has it from its lookup. A completed handshake carries `tuple`.
    #[inline]
    pub(crate) fn handle_segment_on(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
    ) -> Option<Handshake> {
        debug_assert_eq!(tuple.local.port(), self.local.port());
        let key = TupleKey::new(&tuple);
        let slot = self
            .slots
            .as_ref()
            .iter()
            .position(|s| s.is_some_and(|h| h.key == key));
        match (seg.control, seg.ack_number) {
            // RFC 9293 §3.10.7.2: a reset in LISTEN is ignored; for a half-open entry it
            // ends the attempt (RFC 5961 §3.2: only with the exact sequence number).
            (TcpControl::Rst, _) => {
                if let Some(i) = slot {
                    let h = self.slots.as_ref()[i].expect("slot found above");
                    if seg.seq_number == h.irs + 1 {
                        self.slots.as_mut()[i] = None;
                    }
                }
                None
            }
            (TcpControl::Syn, None) => {
                self.on_syn(now, (tuple, key), seg, slot);
                None
            }
            (_, Some(ack)) => self.on_ack(now, tuple, seg, ack, slot),
            _ => None,
        }
    }

    fn tuple_of(&self, addrs: &IpAddrPair, seg: &TcpRepr<'_>) -> FourTuple {
        let (src, dst): (core::net::IpAddr, core::net::IpAddr) = match *addrs {
            IpAddrPair::V4 { src, dst } => (src.into(), dst.into()),
            IpAddrPair::V6 { src, dst } => (src.into(), dst.into()),
        };
        let local_ip = if self.local.ip().is_unspecified() {
            dst
        } else {
            self.local.ip()
        };
        FourTuple {
            local: SocketAddr::new(local_ip, self.local.port()),
            remote: SocketAddr::new(src, seg.src_port),
        }
    }

    fn peer_options(&self, seg: &TcpRepr<'_>) -> SynOptions {
        SynOptions {
            window_scale: seg.window_scale.filter(|_| self.wscale.is_some()),
            sack: seg.sack_permitted && self.cfg.sack,
            timestamps: seg.timestamp.is_some() && self.cfg.timestamps,
        }
    }

    /// A SYN: take a slot, or answer with a cookie when the backlog is full.
    fn on_syn(
        &mut self,
        now: Instant,
        (tuple, key): (FourTuple, TupleKey),
        seg: &TcpRepr<'_>,
        slot: Option<usize>,
    ) {
        let peer = self.peer_options(seg);
        let peer_tsval = seg.timestamp.map(|t| t.0).filter(|_| peer.timestamps);
        if let Some(i) = slot {
            // A retransmitted SYN: our SYN-ACK was lost; send it again now.
            if let Some(h) = self.slots.as_mut()[i].as_mut()
                && h.irs == seg.seq_number
            {
                h.due = now;
                h.peer_tsval = peer_tsval;
            }
            return;
        }
        let free = self.slots.as_ref().iter().position(Option::is_none);
        match free {
            Some(i) => {
                // One keyed hash for the ISN and the timestamp offset (see `isn`).
                let secrets = self.isn.secrets(&tuple);
                self.slots.as_mut()[i] = Some(HalfOpen {
                    key,
                    tuple,
                    iss: secrets.isn(now),
                    irs: seg.seq_number,
                    peer_mss: seg.max_seg_size,
                    peer,
                    peer_tsval,
                    ts_offset: secrets.ts_offset,
                    due: now,
                    retransmits: 0,
                });
                self.stats.syns_queued += 1;
            }
            None => self.syn_cookie(now, tuple, seg, peer, peer_tsval),
        }
    }

    /// A SYN with the backlog full: a SYN-ACK whose sequence number is a cookie (out of line:
    /// a listener under a SYN flood is no fast path).
    #[cold]
    #[inline(never)]
    fn syn_cookie(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        peer: SynOptions,
        peer_tsval: Option<u32>,
    ) {
        let mss = seg.max_seg_size.unwrap_or(536).min(self.cfg.mss);
        let offered = CookieOptions {
            mss,
            window_scale: peer.window_scale,
            sack_permitted: peer.sack,
        };
        let (iss, opts, bits) =
            self.cookies
                .encode(&tuple, now, seg.seq_number, offered, peer.timestamps);
        let clock = (now.millis() as u32).wrapping_add(self.isn.ts_offset(&tuple));
        let tsval = bits.map(|b| SynCookies::tsval(clock, b));
        self.stats.cookies_sent += 1;
        self.push_reply(Reply::CookieSynAck {
            tuple,
            iss,
            irs: seg.seq_number,
            opts,
            tsval,
            tsecr: peer_tsval.unwrap_or(0),
        });
    }

    /// An ACK: completes a half-open entry or a cookie; anything else gets a reset.
    fn on_ack(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        ack: TcpSeqNumber,
        slot: Option<usize>,
    ) -> Option<Handshake> {
        if seg.control == TcpControl::Syn {
            // A SYN-ACK to a listener: RFC 9293 §3.10.7.2 "any acknowledgment is bad".
            self.push_reply(Reply::Rst {
                tuple,
                seq: ack,
                ack: None,
            });
            return None;
        }
        let peer_tsval = seg.timestamp.map(|t| t.0);
        if let Some(i) = slot {
            let h = self.slots.as_ref()[i].expect("slot found above");
            if ack == h.iss + 1 && seg.seq_number == h.irs + 1 {
                self.slots.as_mut()[i] = None;
                self.stats.established += 1;
                return Some(Handshake {
                    tuple,
                    iss: h.iss,
                    irs: h.irs,
                    window: seg.window_len,
                    ack_seq: seg.seq_number,
                    peer_mss: h.peer_mss,
                    peer: h.peer,
                    peer_tsval: peer_tsval.filter(|_| h.peer.timestamps),
                    our_wscale: self.wscale.filter(|_| h.peer.window_scale.is_some()),
                    ts_offset: h.ts_offset,
                });
            }
            self.push_reply(Reply::Rst {
                tuple,
                seq: ack,
                ack: None,
            });
            return None;
        }
        self.ack_cookie(now, tuple, seg, ack)
    }

    /// An ACK without a half-open entry: a cookie's, or a reset (out of line, as
    /// [`syn_cookie`](Self::syn_cookie)).
    #[cold]
    #[inline(never)]
    fn ack_cookie(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        ack: TcpSeqNumber,
    ) -> Option<Handshake> {
        let peer_tsval = seg.timestamp.map(|t| t.0);
        let tsecr = seg.timestamp.map(|t| t.1);
        match self.cookies.decode(&tuple, now, ack, seg.seq_number, tsecr) {
            Some(opts) => {
                self.stats.cookies_accepted += 1;
                self.stats.established += 1;
                let peer = SynOptions {
                    window_scale: opts.window_scale,
                    sack: opts.sack_permitted,
                    timestamps: tsecr.is_some() && self.cfg.timestamps,
                };
                Some(Handshake {
                    tuple,
                    iss: ack - 1,
                    irs: seg.seq_number - 1,
                    window: seg.window_len,
                    ack_seq: seg.seq_number,
                    peer_mss: Some(opts.mss),
                    peer,
                    peer_tsval: peer_tsval.filter(|_| peer.timestamps),
                    our_wscale: self.wscale.filter(|_| opts.window_scale.is_some()),
                    ts_offset: self.isn.ts_offset(&tuple),
                })
            }
            None => {
                self.stats.cookies_rejected += 1;
                self.push_reply(Reply::Rst {
                    tuple,
                    seq: ack,
                    ack: None,
                });
                None
            }
        }
    }

    fn push_reply(&mut self, reply: Reply) {
        match self.replies.iter_mut().find(|r| r.is_none()) {
            Some(slot) => *slot = Some(reply),
            None => self.stats.replies_dropped += 1,
        }
    }

    /// The next segment to send: a SYN-ACK (new or retransmitted) or a reset. Returns the
    /// tuple it belongs to (for the IP header) and its length in `buf`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<(FourTuple, usize)> {
        if let Some(i) = self.replies.iter().position(Option::is_some) {
            let reply = self.replies[i].take()?;
            return match reply {
                Reply::CookieSynAck {
                    tuple,
                    iss,
                    irs,
                    opts,
                    tsval,
                    tsecr,
                } => self.emit_syn_ack(tuple, iss, irs, &opts, tsval.map(|v| (v, tsecr)), buf),
                Reply::Rst { tuple, seq, ack } => emit_for(tuple, &rst_repr(tuple, seq, ack), buf),
            };
        }
        let initial_rto = self.cfg.rtt.initial_rto;
        let max_rto = self.cfg.rtt.max_rto;
        let max_retries = self.cfg.max_syn_retransmissions;
        let mss = self.cfg.mss;
        for i in 0..self.slots.as_ref().len() {
            // In place: only a due entry is read further (an entry is a hundred bytes).
            let Some(h) = self.slots.as_mut()[i].as_mut() else {
                continue;
            };
            if h.due > now {
                continue;
            }
            if h.retransmits > max_retries {
                self.slots.as_mut()[i] = None;
                self.stats.timed_out += 1;
                continue;
            }
            // RFC 6298 §5.5 backoff for SYN-ACK retransmissions.
            let backoff = initial_rto
                .saturating_mul(1u64 << h.retransmits.min(16))
                .min(max_rto);
            h.due = now + backoff;
            h.retransmits += 1;
            let opts = CookieOptions {
                mss,
                window_scale: h.peer.window_scale,
                sack_permitted: h.peer.sack,
            };
            let clock = (now.millis() as u32).wrapping_add(h.ts_offset);
            let timestamp = h
                .peer
                .timestamps
                .then(|| (clock, h.peer_tsval.unwrap_or(0)));
            let (tuple, iss, irs) = (h.tuple, h.iss, h.irs);
            return self.emit_syn_ack(tuple, iss, irs, &opts, timestamp, buf);
        }
        None
    }

    /// A SYN-ACK for `tuple` (ours `iss`, the peer's `irs`) with the options `opts` agreed
    /// to and `timestamp` (TSval, TSecr) when the peer uses timestamps.
    #[inline]
    fn emit_syn_ack(
        &self,
        tuple: FourTuple,
        iss: TcpSeqNumber,
        irs: TcpSeqNumber,
        opts: &CookieOptions,
        timestamp: Option<(u32, u32)>,
        buf: &mut [u8],
    ) -> Option<(FourTuple, usize)> {
        let repr = TcpRepr {
            src_port: tuple.local.port(),
            dst_port: tuple.remote.port(),
            control: TcpControl::Syn,
            seq_number: iss,
            ack_number: Some(irs + 1),
            window_len: self.syn_window,
            window_scale: self.wscale.filter(|_| opts.window_scale.is_some()),
            // Our own MSS: what we can receive (RFC 9293 §3.7.1), not the peer's.
            max_seg_size: Some(self.cfg.mss),
            sack_permitted: opts.sack_permitted,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp,
            payload: &[],
        };
        emit_for(tuple, &repr, buf)
    }

    /// When [`poll_transmit`](Self::poll_transmit) next has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.replies.iter().any(Option::is_some) {
            return Some(Instant::ZERO);
        }
        self.slots.as_ref().iter().flatten().map(|h| h.due).min()
    }
}

/// `repr` for `tuple` into `buf`; `None` when it does not fit or the tuple mixes families.
#[inline]
fn emit_for(tuple: FourTuple, repr: &TcpRepr<'_>, buf: &mut [u8]) -> Option<(FourTuple, usize)> {
    let addrs = tuple.outgoing_addrs()?;
    if buf.len() < repr.buffer_len() {
        return None;
    }
    Some((tuple, repr.emit_syn_inline(buf, &addrs)))
}

/// A bare reset (`<SEQ=seq><ACK=ack><CTL=RST>`).
pub(crate) fn rst_repr(
    tuple: FourTuple,
    seq: TcpSeqNumber,
    ack: Option<TcpSeqNumber>,
) -> TcpRepr<'static> {
    TcpRepr {
        src_port: tuple.local.port(),
        dst_port: tuple.remote.port(),
        control: TcpControl::Rst,
        seq_number: seq,
        ack_number: ack,
        window_len: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; MAX_SACK_BLOCKS],
        timestamp: None,
        payload: &[],
    }
}

/// The reset a host sends for a segment that reaches no connection and no listener
/// (RFC 9293 §3.10.7.1): `<SEQ=SEG.ACK><CTL=RST>` if it had an ACK, else
/// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`. A reset is never answered (`None`).
/// `tuple` is seen from our side (local = the segment's destination).
pub fn reset_for(tuple: FourTuple, seg: &TcpRepr<'_>) -> Option<TcpRepr<'static>> {
    if seg.control == TcpControl::Rst {
        return None;
    }
    Some(match seg.ack_number {
        Some(ack) => rst_repr(tuple, ack, None),
        None => rst_repr(
            tuple,
            TcpSeqNumber(0),
            Some(seg.seq_number + seg.segment_len()),
        ),
    })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::net::{Ipv4Addr, SocketAddrV4};
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::tcp::{Connection, State};
    use crate::wire::TcpPacket;

    const PORT: u16 = 80;
    const PEER_ISS: TcpSeqNumber = TcpSeqNumber(0x5000_0000);
    const BACKLOG: usize = 2;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn local() -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), PORT))
    }

    fn peer_ip() -> Ipv4Addr {
        Ipv4Addr::new(198, 51, 100, 7)
    }

    /// The addresses of a segment from the peer to the listener.
    fn from_peer() -> IpAddrPair {
        IpAddrPair::V4 {
            src: peer_ip(),
            dst: Ipv4Addr::new(192, 0, 2, 1),
        }
    }

    /// The tuple seen from the listener for a peer on `port`.
    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local: local(),
            remote: SocketAddr::V4(SocketAddrV4::new(peer_ip(), port)),
        }
    }

    fn listener(cfg: &Config, slots: usize) -> Listener<Vec<SynSlot>> {
        Listener::new(cfg, local(), 256 * 1024, vec![None; slots])
    }

    /// A segment from the peer on `port`.
    fn seg(
        port: u16,
        control: TcpControl,
        seq: TcpSeqNumber,
        ack: Option<TcpSeqNumber>,
    ) -> TcpRepr<'static> {
        TcpRepr {
            src_port: port,
            dst_port: PORT,
            control,
            seq_number: seq,
            ack_number: ack,
            window_len: 1000,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp: None,
            payload: &[],
        }
    }

    /// A SYN offering MSS 1400, window scale 7, SACK and timestamps (TSval 500).
    fn syn(port: u16) -> TcpRepr<'static> {
        TcpRepr {
            max_seg_size: Some(1400),
            window_scale: Some(7),
            sack_permitted: true,
            timestamp: Some((500, 0)),
            window_len: 65_535,
            ..seg(port, TcpControl::Syn, PEER_ISS, None)
        }
    }

    /// Every segment the listener sends at `now`: (tuple, parsed copy as owned fields).
    fn out(l: &mut Listener<Vec<SynSlot>>, now: Instant) -> Vec<(FourTuple, TcpRepr<'static>)> {
        let mut segs = Vec::new();
        let mut buf = [0u8; 1500];
        for _ in 0..1000 {
            let Some((tuple, n)) = l.poll_transmit(now, &mut buf) else {
                return segs;
            };
            let addrs = tuple.outgoing_addrs().unwrap();
            let packet = TcpPacket::new_checked(&buf[..n]).unwrap();
            packet.check_checksum(&addrs).unwrap();
            let repr = TcpRepr::parse(&packet).unwrap();
            assert!(repr.payload.is_empty());
            segs.push((
                tuple,
                TcpRepr {
                    payload: &[],
                    ..repr
                },
            ));
        }
        panic!("poll_transmit never returned None");
    }

    /// The ACK completing the handshake answered by `syn_ack`.
    fn third_ack(port: u16, syn_ack: &TcpRepr<'_>) -> TcpRepr<'static> {
        TcpRepr {
            timestamp: syn_ack.timestamp.map(|(v, _)| (501, v)),
            ..seg(
                port,
                TcpControl::None,
                PEER_ISS + 1,
                Some(syn_ack.seq_number + 1),
            )
        }
    }

    // RFC 9293 §3.10.7.2: a SYN in LISTEN takes a backlog slot and is answered with a SYN-ACK
    // <SEQ=ISS><ACK=RCV.NXT> offering our MSS and the options the SYN offered.
    // The backlog's compact key: the tuple back exactly, and equal keys for equal tuples
    // only (IPv4, IPv6, an IPv4-mapped IPv6 address, mixed families, swapped ports).
    #[test]
    fn tuple_key_round_trips_and_tells_tuples_apart() {
        use core::net::{Ipv6Addr, SocketAddrV6};
        let v4 =
            |a: u8, port: u16| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, a), port));
        let v6 = |ip: Ipv6Addr, port: u16| SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0));
        let mapped = Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped();
        let addrs = [
            v4(1, 80),
            v4(2, 80),
            v4(1, 81),
            v6(mapped, 80),
            v6(Ipv6Addr::LOCALHOST, 80),
            v6(Ipv6Addr::new(0xfe80, 0, 0, 0, 1, 2, 3, 4), 81),
        ];
        let mut tuples = Vec::new();
        for &local in &addrs {
            for &remote in &addrs {
                tuples.push(FourTuple { local, remote });
            }
        }
        for a in &tuples {
            assert_eq!(TupleKey::new(a).tuple(), *a);
            for b in &tuples {
                assert_eq!(TupleKey::new(a) == TupleKey::new(b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn syn_answered_with_syn_ack_from_backlog() {
        let cfg = Config::default();
        let mut l = listener(&cfg, BACKLOG);
        assert_eq!(l.handle_segment(at(0), &from_peer(), &syn(5000)), None);
        assert_eq!(l.backlog_len(), 1);
        assert_eq!(l.stats().syns_queued, 1);
        let segs = out(&mut l, at(0));
        assert_eq!(segs.len(), 1);
        let (t, sa) = segs[0];
        assert_eq!(t, tuple(5000));
        assert_eq!(sa.control, TcpControl::Syn);
        assert_eq!(sa.ack_number, Some(PEER_ISS + 1));
        assert_eq!(sa.max_seg_size, Some(1460));
        // 256 KiB of receive buffer: shift 3; the SYN-ACK window unscaled (RFC 7323 §2.2).
        assert_eq!(sa.window_scale, Some(3));
        assert_eq!(sa.window_len, 65_535);
        assert!(sa.sack_permitted);
        assert_eq!(sa.timestamp.unwrap().1, 500, "TSecr echoes the SYN's TSval");
        // A peer offering nothing gets nothing offered back.
        let bare = TcpRepr {
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            timestamp: None,
            ..syn(5001)
        };
        l.handle_segment(at(1), &from_peer(), &bare);
        let (_, sa) = out(&mut l, at(1))[0];
        assert_eq!(
            (sa.window_scale, sa.sack_permitted, sa.timestamp),
            (None, false, None)
        );
    }

    // RFC 9293 §3.10.7.4 (SYN-RECEIVED, fifth): the ACK of our SYN-ACK completes the handshake;
    // `Connection::accept` gives an ESTABLISHED connection with the negotiated options.
    #[test]
    fn ack_completes_handshake_and_accept_is_established() {
        let cfg = Config::default();
        let mut l = listener(&cfg, BACKLOG);
        l.handle_segment(at(0), &from_peer(), &syn(5000));
        let (_, sa) = out(&mut l, at(0))[0];
        let hs = l
            .handle_segment(at(10), &from_peer(), &third_ack(5000, &sa))
            .expect("handshake");
        assert_eq!(l.backlog_len(), 0);
        assert_eq!(l.stats().established, 1);
        assert_eq!(hs.tuple, tuple(5000));
        assert_eq!(hs.iss, sa.seq_number);
        assert_eq!(hs.irs, PEER_ISS);
        let mut conn =
            Connection::accept(&cfg, &hs, at(10), vec![0u8; 256 * 1024], vec![0u8; 65_536]);
        assert_eq!(conn.state(), State::Established);
        assert_eq!(conn.send_mss(), 1400);
        // The peer's window 1000 << 7.
        assert_eq!(conn.snd_wnd, 128_000);
        assert!(conn.sack_ok);
        assert!(conn.ts.is_some());
        // Data both ways.
        let data = TcpRepr {
            payload: b"GET /",
            timestamp: Some((502, 0)),
            ..third_ack(5000, &sa)
        };
        conn.handle_segment(at(11), &from_peer(), &data);
        let mut buf = [0u8; 16];
        assert_eq!(conn.recv(&mut buf), Ok(5));
        assert_eq!(conn.send(b"200 OK"), Ok(6));
        let mut seg_buf = [0u8; 1500];
        let n = conn.poll_transmit(at(12), &mut seg_buf).unwrap();
        let packet = TcpPacket::new_checked(&seg_buf[..n]).unwrap();
        let repr = TcpRepr::parse(&packet).unwrap();
        assert_eq!(repr.seq_number, hs.iss + 1);
        assert_eq!(repr.ack_number, Some(PEER_ISS + 6));
        assert_eq!(repr.payload, b"200 OK");
        assert_eq!(repr.timestamp.unwrap().1, 502);
    }

    // RFC 6298 §5.5 (RFC 9293 §3.8.1): an unanswered SYN-ACK is retransmitted with a doubling
    // timer from the initial RTO, and the entry is dropped after `max_syn_retransmissions`.
    #[test]
    fn syn_ack_retransmitted_with_backoff_then_given_up() {
        let cfg = Config {
            max_syn_retransmissions: 2,
            ..Config::default()
        };
        let mut l = listener(&cfg, BACKLOG);
        l.handle_segment(at(0), &from_peer(), &syn(5000));
        let mut sent = Vec::new();
        for _ in 0..10 {
            let Some(t) = l.poll_at() else { break };
            for (_, sa) in out(&mut l, t) {
                sent.push((t.millis(), sa.seq_number));
            }
        }
        let times: Vec<u64> = sent.iter().map(|s| s.0).collect();
        assert_eq!(times, [0, 1_000, 3_000]);
        assert!(sent.iter().all(|s| s.1 == sent[0].1), "same ISN each time");
        assert_eq!(l.backlog_len(), 0);
        assert_eq!(l.stats().timed_out, 1);
        assert_eq!(l.poll_at(), None);
    }

    // RFC 9293 §3.10.7.2 / RFC 5961 §3.2: a reset with the exact sequence number ends a
    // half-open entry; another one does not.
    #[test]
    fn rst_ends_half_open_entry_only_with_exact_seq() {
        let cfg = Config::default();
        let mut l = listener(&cfg, BACKLOG);
        l.handle_segment(at(0), &from_peer(), &syn(5000));
        l.handle_segment(
            at(1),
            &from_peer(),
            &seg(5000, TcpControl::Rst, PEER_ISS + 5, None),
        );
        assert_eq!(l.backlog_len(), 1);
        l.handle_segment(
            at(1),
            &from_peer(),
            &seg(5000, TcpControl::Rst, PEER_ISS + 1, None),
        );
        assert_eq!(l.backlog_len(), 0);
        assert!(out(&mut l, at(2)).is_empty(), "a reset is never answered");
    }

    // RFC 4987 §3.6: with the backlog full, a SYN gets a cookie SYN-ACK and no state; the
    // valid ACK completes the handshake with the MSS the cookie table kept and the options the
    // TSecr carried.
    #[test]
    fn backlog_full_cookie_syn_ack_and_valid_cookie_ack() {
        let cfg = Config {
            secret: [9; 16],
            ..Config::default()
        };
        let mut l = listener(&cfg, 1);
        l.handle_segment(at(0), &from_peer(), &syn(5000));
        out(&mut l, at(0));
        l.handle_segment(at(5), &from_peer(), &syn(5001));
        assert_eq!(l.backlog_len(), 1, "no slot taken");
        assert_eq!(l.stats().cookies_sent, 1);
        let segs = out(&mut l, at(5));
        assert_eq!(segs.len(), 1);
        let (t, sa) = segs[0];
        assert_eq!(t, tuple(5001));
        assert_eq!(sa.ack_number, Some(PEER_ISS + 1));
        assert_eq!(sa.max_seg_size, Some(1460), "our MSS, not the peer's");
        let hs = l
            .handle_segment(at(20), &from_peer(), &third_ack(5001, &sa))
            .expect("cookie handshake");
        assert_eq!(l.stats().cookies_accepted, 1);
        assert_eq!(hs.iss, sa.seq_number);
        assert_eq!(
            hs.peer_mss,
            Some(1300),
            "1400 rounded down to the cookie table"
        );
        assert_eq!(hs.peer.window_scale, Some(7));
        assert!(hs.peer.sack);
        let conn = Connection::accept(&cfg, &hs, at(20), vec![0u8; 256 * 1024], vec![0u8; 4096]);
        assert_eq!(conn.state(), State::Established);
        assert_eq!(conn.send_mss(), 1300);
        assert_eq!(conn.snd_wnd, 1000 << 7);
    }

    // RFC 4987 §3.6, RFC 9293 §3.10.7.2: an ACK whose cookie does not check out gets
    // <SEQ=SEG.ACK><CTL=RST>, is counted, and creates nothing.
    #[test]
    fn forged_cookie_ack_gets_rst_and_is_counted() {
        let cfg = Config::default();
        let mut l = listener(&cfg, 1);
        let forged = seg(
            6000,
            TcpControl::None,
            PEER_ISS + 1,
            Some(TcpSeqNumber(0x1234_5678)),
        );
        assert_eq!(l.handle_segment(at(0), &from_peer(), &forged), None);
        assert_eq!(l.stats().cookies_rejected, 1);
        assert_eq!(l.stats().established, 0);
        let segs = out(&mut l, at(0));
        assert_eq!(segs.len(), 1);
        let (t, rst) = segs[0];
        assert_eq!(t, tuple(6000));
        assert_eq!(rst.control, TcpControl::Rst);
        assert_eq!(rst.seq_number, TcpSeqNumber(0x1234_5678));
        assert_eq!(rst.ack_number, None);
        // A genuine cookie off by one is rejected too.
        l.handle_segment(at(1), &from_peer(), &syn(5000));
        l.handle_segment(at(1), &from_peer(), &syn(5001));
        let segs = out(&mut l, at(1));
        let (_, sa) = segs
            .iter()
            .find(|(t, _)| *t == tuple(5001))
            .copied()
            .unwrap();
        let off = TcpRepr {
            ack_number: Some(sa.seq_number + 2),
            ..third_ack(5001, &sa)
        };
        assert_eq!(l.handle_segment(at(2), &from_peer(), &off), None);
        assert_eq!(l.stats().cookies_rejected, 2);
    }

    // RFC 9293 §3.10.7.1: for a segment to no connection, `<SEQ=SEG.ACK><CTL=RST>` if it has an
    // ACK, else `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`; a reset is never answered.
    #[test]
    fn reset_for_segment_to_no_connection() {
        let t = tuple(5000);
        let with_ack = TcpRepr {
            payload: b"data",
            ..seg(5000, TcpControl::None, PEER_ISS, Some(TcpSeqNumber(77)))
        };
        let rst = reset_for(t, &with_ack).unwrap();
        assert_eq!(rst.control, TcpControl::Rst);
        assert_eq!(rst.seq_number, TcpSeqNumber(77));
        assert_eq!(rst.ack_number, None);
        assert_eq!((rst.src_port, rst.dst_port), (PORT, 5000));
        let rst = reset_for(t, &syn(5000)).unwrap();
        assert_eq!(rst.seq_number, TcpSeqNumber(0));
        assert_eq!(rst.ack_number, Some(PEER_ISS + 1), "a SYN counts one");
        let fin_data = TcpRepr {
            payload: b"abc",
            ..seg(5000, TcpControl::Fin, PEER_ISS, None)
        };
        assert_eq!(
            reset_for(t, &fin_data).unwrap().ack_number,
            Some(PEER_ISS + 4)
        );
        assert_eq!(
            reset_for(t, &seg(5000, TcpControl::Rst, PEER_ISS, None)),
            None
        );
        assert_eq!(
            reset_for(
                t,
                &seg(5000, TcpControl::Rst, PEER_ISS, Some(TcpSeqNumber(1)))
            ),
            None
        );
    }

    // RFC 9293 §3.10.7.2: a SYN-ACK to a listening port is a bad ACK: reset.
    #[test]
    fn syn_ack_to_listener_gets_rst() {
        let cfg = Config::default();
        let mut l = listener(&cfg, BACKLOG);
        let sa = seg(5000, TcpControl::Syn, PEER_ISS, Some(TcpSeqNumber(4242)));
        assert_eq!(l.handle_segment(at(0), &from_peer(), &sa), None);
        assert_eq!(l.backlog_len(), 0);
        let segs = out(&mut l, at(0));
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].1.control, TcpControl::Rst);
        assert_eq!(segs[0].1.seq_number, TcpSeqNumber(4242));
    }
}
