//! Our TCP engine as a [`proto_core::sim`] endpoint: one [`Connection`] inside a thin
//! Ethernet + IPv4 framing (real headers, IP and TCP checksums written and verified, ARP
//! answered), plus the application that writes or reads the byte pattern, with the same
//! helpers as [`super::smol::SmolEndpoint`] so a scenario can drive either.
//!
//! The framing is deliberately thin: the stack issue's `Interface` replaces it.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use proto_core::checksum;
use proto_core::sim::{Endpoint, FrameSink};
use proto_core::tcp::{Config, Connection, FourTuple, RecvError, State, reset_for};
use proto_core::time::Instant;
use proto_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetRepr, Frame, IpAddrPair,
    IpProtocol, Ipv4Repr, Network, TcpRepr, Transport,
};

use super::smol::{BUFFER_SIZE, CLIENT_IP, CLIENT_PORT, SERVER_IP, pattern_check, pattern_fill};

/// Ethernet + IPv4 headers in front of each segment.
const HEADERS: usize = 14 + 20;

/// Our engine plus its application.
pub struct OurEndpoint {
    /// The connection.
    pub conn: Connection<Vec<u8>>,
    mac: EthernetAddress,
    peer_mac: EthernetAddress,
    ip: Ipv4Addr,
    peer_ip: Ipv4Addr,
    arp_reply: Option<ArpRepr>,
    /// A reset owed for a segment that reached a closed connection (what a host's stack does,
    /// RFC 9293 §3.10.7.1).
    rst_reply: Option<(FourTuple, TcpRepr<'static>)>,
    now: Instant,
    written: u64,
    write_total: u64,
    verified: u64,
    reading: bool,
    read_limit: u64,
    fin_read: bool,
    close_when_written: bool,
    /// Frames whose checksum or parse failed (corruption on the link).
    pub dropped_bad: u64,
    /// The Ethernet and IPv4 headers of our segments, built once with a zero-length payload:
    /// a segment's frame gets a copy with its total length and header checksum updated.
    headers: [u8; HEADERS],
    /// The IPv4 pseudo-header sum of the peer's segments without their length.
    peer_pseudo: u16,
}

fn to_std(ip: smoltcp::wire::Ipv4Address) -> Ipv4Addr {
    Ipv4Addr::from(ip.octets())
}

/// The default configuration for the sims: a 200 ms minimum RTO and everything on.
pub fn config(seed: u64) -> Config {
    let mut secret = [0u8; 16];
    secret[..8].copy_from_slice(&seed.to_le_bytes());
    Config {
        secret,
        ..Config::default()
    }
}

impl OurEndpoint {
    fn new(
        conn: Connection<Vec<u8>>,
        ip: Ipv4Addr,
        peer_ip: Ipv4Addr,
        mac: [u8; 6],
        peer_mac: [u8; 6],
    ) -> Self {
        let mut headers = [0u8; HEADERS];
        let n = EthernetRepr::new(
            EthernetAddress(mac),
            EthernetAddress(peer_mac),
            EtherType::Ipv4,
        )
        .emit(&mut headers);
        Ipv4Repr::new(ip, peer_ip, IpProtocol::Tcp, 0).emit(&mut headers[n..]);
        Self {
            conn,
            mac: EthernetAddress(mac),
            peer_mac: EthernetAddress(peer_mac),
            ip,
            peer_ip,
            arp_reply: None,
            rst_reply: None,
            now: Instant::ZERO,
            written: 0,
            write_total: 0,
            verified: 0,
            reading: false,
            read_limit: u64::MAX,
            fin_read: false,
            close_when_written: false,
            dropped_bad: 0,
            headers,
            peer_pseudo: checksum::pseudo_header_v4(peer_ip, ip, IpProtocol::Tcp.into(), 0),
        }
    }

    /// A server at `SERVER_IP:port` (a single-connection LISTEN).
    pub fn server(cfg: &Config, port: u16) -> Self {
        let ip = to_std(SERVER_IP);
        let local = SocketAddr::V4(SocketAddrV4::new(ip, port));
        let conn = Connection::listen(
            cfg,
            local,
            Instant::ZERO,
            vec![0; BUFFER_SIZE],
            vec![0; BUFFER_SIZE],
        );
        Self::new(
            conn,
            ip,
            to_std(CLIENT_IP),
            [0x02, 0, 0, 0, 0, 0x01],
            [0x02, 0, 0, 0, 0, 0x02],
        )
    }

    /// A client at `CLIENT_IP:CLIENT_PORT` connecting to `SERVER_IP:port`.
    pub fn client(cfg: &Config, port: u16) -> Self {
        let ip = to_std(CLIENT_IP);
        let peer_ip = to_std(SERVER_IP);
        let tuple = FourTuple {
            local: SocketAddr::V4(SocketAddrV4::new(ip, CLIENT_PORT)),
            remote: SocketAddr::V4(SocketAddrV4::new(peer_ip, port)),
        };
        let conn = Connection::connect(
            cfg,
            tuple,
            Instant::ZERO,
            vec![0; BUFFER_SIZE],
            vec![0; BUFFER_SIZE],
        );
        Self::new(
            conn,
            ip,
            peer_ip,
            [0x02, 0, 0, 0, 0, 0x02],
            [0x02, 0, 0, 0, 0, 0x01],
        )
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// Closed or in TIME-WAIT.
    pub fn is_closed(&self) -> bool {
        matches!(self.state(), State::Closed | State::TimeWait)
    }

    /// The reader saw the end of the stream.
    pub fn eof(&self) -> bool {
        self.fin_read
    }

    /// Pattern bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Pattern bytes read and verified so far.
    pub fn verified(&self) -> u64 {
        self.verified
    }

    /// Writes the pattern up to offset `total` as far as the send buffer takes it.
    pub fn write_pattern(&mut self, total: u64) -> u64 {
        self.write_total = self.write_total.max(total);
        for _ in 0..2 {
            if self.written >= total {
                break;
            }
            let left = total - self.written;
            let start = self.written;
            let n = self
                .conn
                .send_with(|buf| {
                    let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    pattern_fill(start, &mut buf[..n]);
                    n
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            self.written += n as u64;
        }
        if self.close_when_written && self.written >= self.write_total {
            self.conn.close();
        }
        self.written
    }

    /// Writes `total` pattern bytes (over as many calls as the buffer needs), then closes.
    pub fn write_then_close(&mut self, total: u64) {
        self.close_when_written = true;
        self.write_pattern(total);
    }

    /// Reads all available data and checks the pattern.
    pub fn read_verify(&mut self) -> Result<u64, String> {
        self.read_verify_max(u64::MAX)
    }

    /// Reads at most `max` bytes (a slow reader) and checks the pattern.
    pub fn read_verify_max(&mut self, max: u64) -> Result<u64, String> {
        self.reading = true;
        self.read_limit = max;
        let mut budget = max;
        let mut result = Ok(());
        for _ in 0..3 {
            if budget == 0 {
                break;
            }
            let verified = self.verified;
            let r = self.conn.recv_with(|buf| {
                let n = buf.len().min(usize::try_from(budget).unwrap_or(usize::MAX));
                result = pattern_check(verified, &buf[..n]);
                n
            });
            match r {
                Ok(0) => break,
                Ok(n) => {
                    self.verified += n as u64;
                    budget -= n as u64;
                    if result.is_err() {
                        break;
                    }
                }
                Err(RecvError::Finished) => {
                    self.fin_read = true;
                    break;
                }
                Err(_) => break,
            }
        }
        result.map(|()| self.verified)
    }

    /// Closes the sending half.
    pub fn close(&mut self) {
        self.conn.close();
    }

    fn app_ready(&self) -> bool {
        (self.reading && !self.fin_read && self.conn.may_recv())
            || (self.written < self.write_total && self.conn.send_capacity() > 0)
    }

    /// The frame nearly every frame is: a TCP segment in an option-less, unfragmented IPv4
    /// packet from the peer to us, with both checksums verified, found without the generic
    /// [`Frame`] walk. `None` for anything else, which the generic path then handles (and
    /// counts if it is bad).
    fn fast_tcp<'f>(&self, frame: &'f [u8]) -> Option<&'f [u8]> {
        let ip = frame.get(14..)?;
        if frame[12..14] != [0x08, 0x00] || ip.len() < 40 || ip[0] != 0x45 || ip[9] != 6 {
            return None;
        }
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff;
        if total < 40 || total > ip.len() || frag != 0 {
            return None;
        }
        if ip[12..16] != self.peer_ip.octets() || ip[16..20] != self.ip.octets() {
            return None;
        }
        if !checksum::verify(checksum::sum(&ip[..20])) {
            return None;
        }
        let tcp = &ip[20..total];
        let sum = checksum::combine(&[self.peer_pseudo, (total - 20) as u16, checksum::sum(tcp)]);
        if !checksum::verify(sum) {
            return None;
        }
        Some(tcp)
    }

    fn handle_arp(&mut self, arp: &ArpPacket<&[u8]>) {
        let Ok(repr) = ArpRepr::parse(arp) else {
            return;
        };
        if repr.operation == ArpOperation::Request && repr.target_protocol_addr == self.ip {
            self.arp_reply = Some(ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.mac,
                source_protocol_addr: self.ip,
                target_hardware_addr: repr.source_hardware_addr,
                target_protocol_addr: repr.source_protocol_addr,
            });
        }
    }
}

/// The prebuilt `headers` in front of a segment of `len` bytes: the IPv4 total length set and
/// the header checksum updated for it (RFC 1624).
fn write_headers(headers: &[u8; HEADERS], h: &mut [u8], len: usize) {
    h.copy_from_slice(headers);
    let old = u16::from_be_bytes([h[16], h[17]]);
    let new = old + len as u16;
    h[16..18].copy_from_slice(&new.to_be_bytes());
    let c = u16::from_be_bytes([h[24], h[25]]);
    h[24..26].copy_from_slice(&checksum::update_u16(c, old, new).to_be_bytes());
}

impl Endpoint for OurEndpoint {
    fn ingress(&mut self, now: Instant, frame: &[u8]) {
        self.now = self.now.max(now);
        if let Some(tcp) = self.fast_tcp(frame)
            && self.conn.state() != State::Closed
        {
            let addrs = IpAddrPair::V4 {
                src: self.peer_ip,
                dst: self.ip,
            };
            if self.conn.handle_packet(now, &addrs, tcp).is_err() {
                self.dropped_bad += 1;
            }
            return;
        }
        let Ok(parsed) = Frame::parse(frame) else {
            self.dropped_bad += 1;
            return;
        };
        if parsed.verify_checksums().is_err() {
            self.dropped_bad += 1;
            return;
        }
        let ip = match parsed.network {
            Some(Network::Arp(arp)) => return self.handle_arp(&arp),
            Some(Network::Ipv4(ip)) => ip,
            _ => return,
        };
        if ip.dst_addr() != self.ip {
            return;
        }
        let Some(Transport::Tcp(tcp)) = parsed.transport else {
            return;
        };
        let Ok(seg) = TcpRepr::parse(&tcp) else {
            self.dropped_bad += 1;
            return;
        };
        let addrs = IpAddrPair::V4 {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
        };
        if self.conn.state() == State::Closed {
            let tuple = FourTuple {
                local: SocketAddr::V4(SocketAddrV4::new(self.ip, seg.dst_port)),
                remote: SocketAddr::V4(SocketAddrV4::new(ip.src_addr(), seg.src_port)),
            };
            self.rst_reply = reset_for(tuple, &seg).map(|r| (tuple, r));
            return;
        }
        self.conn.handle_segment(now, &addrs, &seg);
    }

    fn egress(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        self.now = self.now.max(now);
        if let Some(arp) = self.arp_reply.take() {
            let eth = EthernetRepr::new(self.mac, arp.target_hardware_addr, EtherType::Arp);
            let n = eth.emit(buf);
            return n + arp.emit(&mut buf[n..]);
        }
        if buf.len() <= HEADERS {
            return 0;
        }
        let len = match self.rst_reply.take() {
            Some((tuple, rst)) => {
                let (SocketAddr::V4(l), SocketAddr::V4(r)) = (tuple.local, tuple.remote) else {
                    return 0;
                };
                rst.emit(
                    &mut buf[HEADERS..],
                    &IpAddrPair::V4 {
                        src: *l.ip(),
                        dst: *r.ip(),
                    },
                )
            }
            None => match self.conn.poll_transmit(now, &mut buf[HEADERS..]) {
                Some(len) => len,
                None => return 0,
            },
        };
        write_headers(&self.headers, &mut buf[..HEADERS], len);
        HEADERS + len
    }

    fn egress_burst(
        &mut self,
        now: Instant,
        max: usize,
        room: usize,
        send: &mut FrameSink<'_>,
    ) -> usize {
        let mut n = 0;
        // A run of full segments, when nothing comes before them (as `egress` decides).
        if self.arp_reply.is_none() && self.rst_reply.is_none() && max > 0 {
            self.now = self.now.max(now);
            let headers = &self.headers;
            let seg_room = room.saturating_sub(HEADERS);
            n = self
                .conn
                .poll_transmit_burst(now, max, seg_room, |segment| {
                    let len = send(&mut |buf: &mut [u8]| {
                        if buf.len() <= HEADERS {
                            return 0;
                        }
                        let len = segment(&mut buf[HEADERS..]);
                        if len == 0 {
                            return 0;
                        }
                        write_headers(headers, &mut buf[..HEADERS], len);
                        HEADERS + len
                    });
                    len > 0
                });
        }
        n
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.arp_reply.is_some() || self.rst_reply.is_some() || self.app_ready() {
            return Some(self.now);
        }
        self.conn.poll_at()
    }
}
