//! Unit tests of the connection state machine, one per RFC scenario.
//!
//! Everything is driven at the [`TcpRepr`] level: a [`Peer`] test double builds the segments
//! the other end would send, [`feed`] hands one to the connection, and [`out`] collects owned
//! copies ([`Seg`]) of every segment `poll_transmit` produces (checksums verified). Time is
//! set by hand with [`at`]. [`established`] / [`open`] give a connection after a handshake
//! with chosen options.

extern crate std;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::vec;
use std::vec::Vec;

use super::{Connection, State};
use crate::tcp::{Config, FourTuple};
use crate::time::Instant;
use crate::wire::tcp::MAX_SACK_BLOCKS;
use crate::wire::{IpAddrPair, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber};

mod close;
mod data;
mod handshake;
mod recovery;
mod timers;

/// The connection type under test.
pub(super) type Conn = Connection<Vec<u8>>;

/// Our port and the peer's.
pub(super) const OUR_PORT: u16 = 4000;
pub(super) const PEER_PORT: u16 = 5000;
/// The peer's initial sequence number in [`open`].
pub(super) const PEER_ISS: TcpSeqNumber = TcpSeqNumber(0x1000_0000);
/// The time [`open`] completes the handshake (the handshake RTT), in ms.
pub(super) const T0: u64 = 10;

/// The instant `ms` milliseconds after the origin.
pub(super) fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

pub(super) fn our_ip() -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1)
}

pub(super) fn peer_ip() -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 2)
}

/// Our four-tuple.
pub(super) fn tuple() -> FourTuple {
    FourTuple {
        local: SocketAddr::V4(SocketAddrV4::new(our_ip(), OUR_PORT)),
        remote: SocketAddr::V4(SocketAddrV4::new(peer_ip(), PEER_PORT)),
    }
}

/// The IP addresses of a segment from the peer to us.
pub(super) fn from_peer() -> IpAddrPair {
    IpAddrPair::V4 {
        src: peer_ip(),
        dst: our_ip(),
    }
}

/// An owned copy of a segment the connection sent.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Seg {
    pub control: TcpControl,
    pub seq: TcpSeqNumber,
    pub ack: Option<TcpSeqNumber>,
    pub window: u16,
    pub wscale: Option<u8>,
    pub mss: Option<u16>,
    pub sack_perm: bool,
    pub sack: Vec<(u32, u32)>,
    pub ts: Option<(u32, u32)>,
    pub payload: Vec<u8>,
    /// The segment's length on the wire (header + payload).
    pub wire_len: usize,
}

impl core::fmt::Debug for Seg {
    /// One line, tcpdump-like; the payload by its length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "[{:?}] seq {} len {}",
            self.control,
            self.seq,
            self.payload.len()
        )?;
        if let Some(ack) = self.ack {
            write!(f, " ack {ack}")?;
        }
        write!(f, " win {}", self.window)?;
        if let Some(mss) = self.mss {
            write!(f, " mss {mss}")?;
        }
        if let Some(ws) = self.wscale {
            write!(f, " ws {ws}")?;
        }
        if self.sack_perm {
            write!(f, " sackOK")?;
        }
        if !self.sack.is_empty() {
            write!(f, " sack {:?}", self.sack)?;
        }
        if let Some((v, e)) = self.ts {
            write!(f, " TS {v}/{e}")?;
        }
        Ok(())
    }
}

impl Seg {
    fn from_repr(repr: &TcpRepr<'_>, wire_len: usize) -> Self {
        Self {
            control: repr.control,
            seq: repr.seq_number,
            ack: repr.ack_number,
            window: repr.window_len,
            wscale: repr.window_scale,
            mss: repr.max_seg_size,
            sack_perm: repr.sack_permitted,
            sack: repr.sack_ranges.iter().flatten().copied().collect(),
            ts: repr.timestamp,
            payload: repr.payload.to_vec(),
            wire_len,
        }
    }

    /// Length in sequence space.
    pub fn len(&self) -> usize {
        self.payload.len() + self.control.len()
    }

    /// One past the last sequence number it occupies.
    pub fn end(&self) -> TcpSeqNumber {
        self.seq + self.len()
    }

    pub fn is_syn(&self) -> bool {
        self.control == TcpControl::Syn
    }

    pub fn is_fin(&self) -> bool {
        self.control == TcpControl::Fin
    }

    pub fn is_rst(&self) -> bool {
        self.control == TcpControl::Rst
    }

    /// A pure ACK: no data, no SYN/FIN/RST.
    pub fn is_pure_ack(&self) -> bool {
        self.payload.is_empty() && self.control == TcpControl::None && self.ack.is_some()
    }

    /// Our TSval.
    pub fn tsval(&self) -> u32 {
        self.ts.expect("segment has timestamps").0
    }
}

/// Hands one segment from the peer to the connection.
pub(super) fn feed(conn: &mut Conn, now: Instant, seg: &TcpRepr<'_>) {
    conn.handle_segment(now, &from_peer(), seg);
}

/// Every segment `poll_transmit` produces at `now`, until it returns `None` (bounded).
/// Checks that each is a well-formed segment with a correct checksum that fits the buffer.
pub(super) fn out(conn: &mut Conn, now: Instant) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut buf = [0u8; 1480];
    for _ in 0..10_000 {
        let Some(n) = conn.poll_transmit(now, &mut buf) else {
            return segs;
        };
        let addrs = conn.tuple().outgoing_addrs().expect("same-family tuple");
        segs.push(parse_out(&buf[..n], &addrs));
    }
    panic!("poll_transmit never returned None");
}

/// Parses and checks one segment we produced.
pub(super) fn parse_out(bytes: &[u8], addrs: &IpAddrPair) -> Seg {
    let packet = TcpPacket::new_checked(bytes).expect("well-formed segment");
    packet.check_checksum(addrs).expect("correct checksum");
    let repr = TcpRepr::parse(&packet).expect("parsable segment");
    Seg::from_repr(&repr, bytes.len())
}

/// The one segment `out` produces; panics on none or several.
pub(super) fn out1(conn: &mut Conn, now: Instant) -> Seg {
    let mut segs = out(conn, now);
    assert_eq!(segs.len(), 1, "expected exactly one segment, got {segs:#?}");
    segs.pop().unwrap()
}

/// Reads everything readable.
pub(super) fn read_all(conn: &mut Conn) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        match conn.recv(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    data
}

/// `n` bytes of a recognizable pattern starting at stream offset `from`.
pub(super) fn pattern(from: usize, n: usize) -> Vec<u8> {
    (from..from + n).map(|i| (i % 251) as u8).collect()
}

/// What the peer's SYN (or SYN-ACK) offers.
#[derive(Debug, Clone, Copy)]
pub(super) struct PeerOpts {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack: bool,
    pub ts: bool,
    /// The window field of its SYN (never scaled).
    pub syn_window: u16,
}

impl Default for PeerOpts {
    fn default() -> Self {
        Self {
            mss: Some(1460),
            wscale: Some(0),
            sack: true,
            ts: true,
            syn_window: 65_535,
        }
    }
}

/// The test double of the other end: its sequence state and the segments it sends.
#[derive(Debug, Clone)]
pub(super) struct Peer {
    /// Its next sequence number (SND.NXT).
    pub seq: TcpSeqNumber,
    /// What it acknowledges (its RCV.NXT).
    pub ack: TcpSeqNumber,
    /// Its window field (already in its scale).
    pub window: u16,
    /// Its TSval clock when it uses timestamps.
    pub tsval: Option<u32>,
    /// The TSecr it echoes (our latest TSval it saw).
    pub tsecr: u32,
    pub opts: PeerOpts,
}

impl Peer {
    pub fn new(opts: PeerOpts) -> Self {
        Self {
            seq: PEER_ISS,
            ack: TcpSeqNumber(0),
            window: 65_535,
            tsval: opts.ts.then_some(1_000),
            tsecr: 0,
            opts,
        }
    }

    /// A segment with the peer's current numbers and no options but timestamps.
    pub fn seg(&self, control: TcpControl) -> TcpRepr<'static> {
        TcpRepr {
            src_port: PEER_PORT,
            dst_port: OUR_PORT,
            control,
            seq_number: self.seq,
            ack_number: Some(self.ack),
            window_len: self.window,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp: self.tsval.map(|v| (v, self.tsecr)),
            payload: &[],
        }
    }

    /// Its SYN (no ACK), with its options.
    pub fn syn(&self) -> TcpRepr<'static> {
        TcpRepr {
            ack_number: None,
            window_len: self.opts.syn_window,
            window_scale: self.opts.wscale,
            max_seg_size: self.opts.mss,
            sack_permitted: self.opts.sack,
            timestamp: self.tsval.map(|v| (v, 0)),
            ..self.seg(TcpControl::Syn)
        }
    }

    /// Its SYN-ACK, with its options.
    pub fn syn_ack(&self) -> TcpRepr<'static> {
        TcpRepr {
            ack_number: Some(self.ack),
            timestamp: self.tsval.map(|v| (v, self.tsecr)),
            ..self.syn()
        }
    }

    /// A pure ACK of everything up to `self.ack`.
    pub fn ack(&self) -> TcpRepr<'static> {
        self.seg(TcpControl::None)
    }

    /// A pure ACK of `ack`.
    pub fn ack_of(&self, ack: TcpSeqNumber) -> TcpRepr<'static> {
        TcpRepr {
            ack_number: Some(ack),
            ..self.ack()
        }
    }

    /// A pure ACK of `ack` with SACK blocks (most recent first).
    pub fn sack(
        &self,
        ack: TcpSeqNumber,
        blocks: &[(TcpSeqNumber, TcpSeqNumber)],
    ) -> TcpRepr<'static> {
        let mut repr = self.ack_of(ack);
        for (slot, &(s, e)) in repr.sack_ranges.iter_mut().zip(blocks) {
            *slot = Some((s.0, e.0));
        }
        repr
    }

    /// Data at sequence number `seq`.
    pub fn data_at<'a>(&self, seq: TcpSeqNumber, bytes: &'a [u8]) -> TcpRepr<'a> {
        TcpRepr {
            seq_number: seq,
            payload: bytes,
            ..self.seg(TcpControl::None)
        }
    }

    /// Data at its next sequence number; advances it.
    pub fn data<'a>(&mut self, bytes: &'a [u8]) -> TcpRepr<'a> {
        let repr = self.data_at(self.seq, bytes);
        self.seq += bytes.len();
        repr
    }

    /// Its FIN at its next sequence number; advances it.
    pub fn fin(&mut self) -> TcpRepr<'static> {
        let repr = self.seg(TcpControl::Fin);
        self.seq += 1;
        repr
    }

    /// A reset with sequence number `seq` (no ACK).
    pub fn rst(&self, seq: TcpSeqNumber) -> TcpRepr<'static> {
        TcpRepr {
            seq_number: seq,
            ack_number: None,
            timestamp: None,
            ..self.seg(TcpControl::Rst)
        }
    }

    /// Takes note of what we sent: echoes our latest TSval.
    pub fn saw(&mut self, segs: &[Seg]) {
        if let Some(ts) = segs.iter().rev().find_map(|s| s.ts) {
            self.tsecr = ts.0;
        }
    }
}

/// A connection set-up: our config and buffer sizes, and what the peer offers.
#[derive(Debug, Clone)]
pub(super) struct Setup {
    pub cfg: Config,
    pub peer: PeerOpts,
    pub rx: usize,
    pub tx: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            cfg: Config::default(),
            peer: PeerOpts::default(),
            rx: 65_536,
            tx: 65_536,
        }
    }
}

impl Setup {
    /// The defaults without SACK on our side: no tail loss probes (RFC 8985 needs SACK), so
    /// the retransmission timer alone acts on a silent peer.
    pub fn no_sack() -> Self {
        let mut s = Self::default();
        s.cfg.sack = false;
        s
    }

    /// Everything off on both sides: no timestamps, SACK or window scaling.
    pub fn plain() -> Self {
        let cfg = Config {
            timestamps: false,
            sack: false,
            window_scaling: false,
            ..Config::default()
        };
        let peer = PeerOpts {
            wscale: None,
            sack: false,
            ts: false,
            ..PeerOpts::default()
        };
        Self {
            cfg,
            peer,
            ..Self::default()
        }
    }

    pub fn with_cfg(cfg: Config) -> Self {
        Self {
            cfg,
            ..Self::default()
        }
    }
}

/// A fresh active-open connection (nothing sent yet).
pub(super) fn connect(s: &Setup) -> Conn {
    Connection::connect(&s.cfg, tuple(), at(0), vec![0; s.rx], vec![0; s.tx])
}

/// An active open completed at `T0` ms: our SYN at 0, the peer's SYN-ACK and our ACK at
/// `T0`. The peer then acknowledges our SYN and expects our first data byte.
pub(super) fn open(s: Setup) -> (Conn, Peer) {
    let mut conn = connect(&s);
    let syn = out1(&mut conn, at(0));
    assert!(syn.is_syn());
    let mut peer = Peer::new(s.peer);
    peer.ack = syn.seq + 1;
    peer.saw(&[syn]);
    feed(&mut conn, at(T0), &peer.syn_ack());
    peer.seq += 1;
    let ack = out1(&mut conn, at(T0));
    assert!(ack.is_pure_ack());
    assert_eq!(conn.state(), State::Established);
    peer.saw(&[ack]);
    (conn, peer)
}

/// [`open`] with the defaults: every option on at both ends, 64 KiB buffers.
pub(super) fn established() -> (Conn, Peer) {
    open(Setup::default())
}

/// [`established`] without SACK: only the retransmission timer recovers losses.
pub(super) fn established_no_sack() -> (Conn, Peer) {
    open(Setup::no_sack())
}

/// Sends `n` bytes of the pattern and returns the segments that leave at `now`.
pub(super) fn send_data(conn: &mut Conn, now: Instant, from: usize, n: usize) -> Vec<Seg> {
    assert_eq!(conn.send(&pattern(from, n)), Ok(n));
    out(conn, now)
}

/// Two of our connections wired together: `a` actively opens to `b` (a single-connection
/// LISTEN). `pump` moves segments both ways until both are quiet.
pub(super) struct Pair {
    pub a: Conn,
    pub b: Conn,
}

impl Pair {
    pub fn new(cfg: &Config, a_buf: usize, b_buf: usize) -> Self {
        let a = Connection::connect(cfg, tuple(), at(0), vec![0; a_buf], vec![0; a_buf]);
        let b = Connection::listen(cfg, tuple().remote, at(0), vec![0; b_buf], vec![0; b_buf]);
        Self { a, b }
    }

    /// Moves segments both ways at `now` until neither end has anything to send; returns the
    /// segments `a` sent and those `b` sent.
    pub fn pump(&mut self, now: Instant) -> (Vec<Seg>, Vec<Seg>) {
        let (mut sent_a, mut sent_b) = (Vec::new(), Vec::new());
        let a_in = IpAddrPair::V4 {
            src: peer_ip(),
            dst: our_ip(),
        };
        let b_in = IpAddrPair::V4 {
            src: our_ip(),
            dst: peer_ip(),
        };
        for _ in 0..10_000 {
            let mut buf = [0u8; 1480];
            let mut quiet = true;
            if let Some(n) = self.a.poll_transmit(now, &mut buf) {
                quiet = false;
                let packet = TcpPacket::new_checked(&buf[..n]).unwrap();
                packet.check_checksum(&b_in).unwrap();
                let repr = TcpRepr::parse(&packet).unwrap();
                sent_a.push(Seg::from_repr(&repr, n));
                self.b.handle_segment(now, &b_in, &repr);
            }
            if let Some(n) = self.b.poll_transmit(now, &mut buf) {
                quiet = false;
                let packet = TcpPacket::new_checked(&buf[..n]).unwrap();
                packet.check_checksum(&a_in).unwrap();
                let repr = TcpRepr::parse(&packet).unwrap();
                sent_b.push(Seg::from_repr(&repr, n));
                self.a.handle_segment(now, &a_in, &repr);
            }
            if quiet {
                return (sent_a, sent_b);
            }
        }
        panic!("pair never went quiet");
    }
}
// Per-connection memory (issue: at most 1 KiB per established connection besides its
// buffers, including the stack's slot and index entries): the engine's share stays below
// 960 bytes.
#[test]
fn connection_state_is_small() {
    let size = core::mem::size_of::<Connection<&'static mut [u8]>>();
    assert!(size <= 960, "Connection is {size} bytes");
}
