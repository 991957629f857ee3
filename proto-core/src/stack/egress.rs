//! Frames out: one per [`Interface::egress`] call, in this order: neighbour requests and
//! packets released by a resolution, gratuitous ARP, the control queue (ARP/NDP answers, echo
//! replies, ICMP errors, resets), then sockets from the ready queue (round robin: a socket
//! that sent goes to the back).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::neighbor::{self, Due, Resolution};
use super::socket::{
    HAS_TIMER, IN_READY, Kind, RELEASED, UDP_META, UNACCEPTED, decode_addr, udp_bufs,
};
use super::{Ctx, Interface, Memory, NEVER, Segmentation, StackError, State as Scalars, frag};
use crate::tcp::State;
use crate::time::Instant;
use crate::wire::{
    ArpRepr, EtherType, EthernetAddress, EthernetRepr, Icmpv6Repr, IpAddrPair, IpProtocol,
    Ipv4Repr, Ipv6Repr, UdpPacket, ipv6,
};

/// Ethernet header length (no VLAN tags).
pub(crate) const ETH: usize = 14;

/// What became of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// A frame of this length is in the buffer.
    Sent(usize),
    /// Queued on an unresolved neighbour.
    Queued,
    /// Dropped (counted).
    Dropped,
}

/// Where a packet goes on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NextHop {
    /// A unicast neighbour to resolve.
    Unicast(IpAddr),
    /// A fixed link-layer address (broadcast, multicast).
    Fixed(EthernetAddress),
}

/// The outcome of resolving a next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    Mac(EthernetAddress),
    /// Queue the packet on this neighbour entry.
    Queue(usize),
    /// No entry could be made: drop.
    Fail,
}

pub(crate) fn ethertype_of(ip_packet: &[u8]) -> EtherType {
    if ip_packet.first().is_some_and(|b| b >> 4 == 6) {
        EtherType::Ipv6
    } else {
        EtherType::Ipv4
    }
}

/// An untagged Ethernet header from `src` to `dst` at the start of `buf` (at least 14
/// bytes), written in one store; its length.
#[inline]
pub(crate) fn eth_header(
    buf: &mut [u8],
    src: EthernetAddress,
    dst: EthernetAddress,
    ethertype: u16,
) -> usize {
    let mut h = [0u8; ETH];
    h[..6].copy_from_slice(&dst.0);
    h[6..12].copy_from_slice(&src.0);
    h[12..].copy_from_slice(&ethertype.to_be_bytes());
    if let Some(out) = buf.first_chunk_mut::<ETH>() {
        *out = h;
    }
    ETH
}

/// The EtherType of an IP packet (by its version nibble).
fn ip_ethertype(ip_packet: &[u8]) -> u16 {
    if ip_packet.first().is_some_and(|b| b >> 4 == 6) {
        0x86dd
    } else {
        0x0800
    }
}

/// An ARP packet in an Ethernet frame from `src` to `dst` (at least 42 bytes); its length.
/// Always inlined: the constant fields fold into the stores.
#[inline(always)]
pub(crate) fn arp_frame(
    buf: &mut [u8],
    src: EthernetAddress,
    dst: EthernetAddress,
    arp: &ArpRepr,
) -> usize {
    let n = eth_header(buf, src, dst, 0x0806);
    n + arp.emit_inline(&mut buf[n..])
}

/// Resolves a next hop, starting a resolution if needed (for [`Ctx::resolve`], and for
/// callers that borrow only the neighbour table).
#[inline]
pub(crate) fn resolve(
    neighbors: &mut [neighbor::Neighbor],
    st: &mut Scalars,
    hop: NextHop,
    now: Instant,
) -> Resolved {
    resolve_until(neighbors, st, hop, now).0
}

/// [`resolve`], and until when a MAC it gives stays valid (while the neighbour table's
/// generation stays the same): the entry's expiry, or never for a fixed address.
#[inline]
pub(crate) fn resolve_until(
    neighbors: &mut [neighbor::Neighbor],
    st: &mut Scalars,
    hop: NextHop,
    now: Instant,
) -> (Resolved, Instant) {
    match hop {
        NextHop::Fixed(mac) => (Resolved::Mac(mac), NEVER),
        NextHop::Unicast(ip) => match neighbor::resolve(neighbors, ip, now) {
            Resolution::Mac(m, until) => (Resolved::Mac(m), until),
            Resolution::Pending(i) => (Resolved::Queue(i), Instant::ZERO),
            Resolution::Started(i) => {
                st.neighbor_at = st.neighbor_at.min(now);
                st.neighbors_changed();
                (Resolved::Queue(i), Instant::ZERO)
            }
            Resolution::Full => {
                st.stats.drop_neighbor_table_full += 1;
                (Resolved::Fail, Instant::ZERO)
            }
        },
    }
}

impl<M: Memory> Interface<M> {
    /// Writes the next frame to send into `buf` (which should hold 14 + MTU bytes) and
    /// returns its length; 0 when there is nothing to send. Call it until it returns 0
    /// after every `ingress`, socket call, and when `poll_at` is due.
    pub fn egress(&mut self, buf: &mut [u8], now: Instant) -> usize {
        let mut c = self.ctx();
        let n = c.egress(buf, now);
        if n > 0 {
            c.st.stats.tx_frames += 1;
        }
        n
    }

    /// [`egress`](Self::egress) for a link with TCP segmentation offload ([`Config::tso`]):
    /// `buf` should hold 14 + `tso` bytes. A frame larger than the MTU comes with how the
    /// link must cut it.
    pub fn egress_segmented(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> (usize, Option<Segmentation>) {
        self.st.segmentation = None;
        let n = self.egress(buf, now);
        (n, self.st.segmentation.take())
    }
}

impl<M: Memory> Ctx<'_, M> {
    /// The next hop toward `dst` (RFC 1122 §3.3.1.1: on-link directly, else the gateway).
    pub(crate) fn route(&self, dst: IpAddr) -> Result<NextHop, StackError> {
        match dst {
            IpAddr::V4(d) => {
                if d == Ipv4Addr::BROADCAST {
                    // Also without an address (a DHCP client's DISCOVER).
                    return Ok(NextHop::Fixed(EthernetAddress::BROADCAST));
                }
                let cidr = self.cfg.ipv4.ok_or(StackError::Unaddressable)?;
                if cidr.prefix_len() < 31 && d == cidr.broadcast() {
                    return Ok(NextHop::Fixed(EthernetAddress::BROADCAST));
                }
                if d.is_multicast() {
                    let o = d.octets();
                    return Ok(NextHop::Fixed(EthernetAddress([
                        0x01,
                        0x00,
                        0x5e,
                        o[1] & 0x7f,
                        o[2],
                        o[3],
                    ])));
                }
                if cidr.contains(d) {
                    return Ok(NextHop::Unicast(dst));
                }
                self.cfg
                    .gateway
                    .map(|g| NextHop::Unicast(IpAddr::V4(g)))
                    .ok_or(StackError::NoRoute)
            }
            IpAddr::V6(d) => {
                if d.is_multicast() {
                    return Ok(NextHop::Fixed(ipv6::multicast_mac(d)));
                }
                let on_link = ipv6::is_link_local(d)
                    || self.cfg.ipv6.iter().flatten().any(|(a, plen)| {
                        let plen = u32::from((*plen).min(128));
                        let mask = u128::MAX.checked_shl(128 - plen).unwrap_or(0);
                        a.to_bits() & mask == d.to_bits() & mask
                    });
                if on_link {
                    return Ok(NextHop::Unicast(dst));
                }
                self.cfg
                    .gateway6
                    .map(|g| NextHop::Unicast(IpAddr::V6(g)))
                    .ok_or(StackError::NoRoute)
            }
        }
    }

    /// Resolves a next hop, starting a resolution if needed.
    pub(crate) fn resolve(&mut self, hop: NextHop, now: Instant) -> Resolved {
        resolve(self.mem.parts().neighbors, self.st, hop, now)
    }

    /// Finishes a frame whose IP packet is at `buf[14..14 + ip_len]`: the Ethernet header
    /// when resolved, else the packet is queued on the neighbour.
    fn finish(&mut self, buf: &mut [u8], ip_len: usize, to: Resolved) -> Out {
        match to {
            Resolved::Mac(mac) => {
                let et = ip_ethertype(&buf[ETH..]);
                eth_header(buf, self.cfg.mac, mac, et);
                Out::Sent(ETH + ip_len)
            }
            Resolved::Queue(i) => {
                self.st.queued_on_neighbor = true;
                let packet = &buf[ETH..ETH + ip_len];
                let p = self.mem.parts();
                if neighbor::enqueue(p.neighbors, p.pending, &self.cfg.neighbor, i, packet) {
                    Out::Queued
                } else {
                    self.st.stats.drop_pending_full += 1;
                    Out::Dropped
                }
            }
            Resolved::Fail => Out::Dropped,
        }
    }

    /// Writes an IP header for `proto` at `buf[14..]`; returns its length.
    fn ip_header(
        &mut self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        proto: IpProtocol,
        len: usize,
    ) -> usize {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut ip = Ipv4Repr::new(s, d, proto, len);
                ip.ttl = self.cfg.ttl;
                ip.emit(&mut buf[ETH..])
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => Ipv6Repr {
                src_addr: s,
                dst_addr: d,
                next_header: proto,
                payload_len: len,
                hop_limit: self.cfg.ttl,
                traffic_class: 0,
                flow_label: 0,
            }
            .emit(&mut buf[ETH..]),
            _ => 0,
        }
    }

    pub(crate) fn egress(&mut self, buf: &mut [u8], now: Instant) -> usize {
        if buf.len() < ETH + 60 {
            self.st.stats.drop_buffer_too_small += 1;
            return 0;
        }
        // A socket whose packet waits on a new resolution leaves the request to send: one
        // more pass picks it up.
        for _ in 0..2 {
            self.st.queued_on_neighbor = false;
            let n = self.egress_once(buf, now);
            if n > 0 || !self.st.queued_on_neighbor {
                return n;
            }
        }
        0
    }

    fn egress_once(&mut self, buf: &mut [u8], now: Instant) -> usize {
        // Link-level work first, each a test here and its body out of line (the usual egress
        // has none of it; the prologue of this function stays small).
        if now >= self.st.frag_at {
            self.expire_frags(now);
        }
        if now >= self.st.neighbor_at
            && let Some(n) = self.neighbor_out(buf, now)
        {
            return n;
        }
        if let Some((at, _)) = self.st.announce
            && at <= now
            && let Some(n) = self.announce_out(buf, now)
        {
            return n;
        }
        if self.st.arp_reply.is_some() {
            return self.arp_reply_out(buf);
        }
        // O(1) when empty (the usual case): no look at the ring's bytes.
        while !self.st.control.is_empty()
            && let Some(n) = self.st.control.pop_into(self.mem.parts().control, buf)
        {
            if n > 0 {
                return n;
            }
            self.st.stats.drop_buffer_too_small += 1;
        }
        self.fire_timers(now);
        // Sockets whose packets get queued on a neighbour come back; the pending queues bound
        // that, and this bound stops anything else.
        let mut budget = self.mem.parts().ready.len() * 4 + 64;
        while budget > 0 {
            budget -= 1;
            let Some(i) = self.st.ready.pop(self.mem.parts().ready) else {
                break;
            };
            let s = &mut self.mem.parts().slots[i as usize];
            s.flags &= !IN_READY;
            let n = match s.kind {
                Kind::Free => 0,
                Kind::Tcp(_) => self.tcp_out(i, buf, now),
                Kind::Listen(_) => self.listener_out(i, buf, now),
                Kind::Udp(_) => self.udp_out(i, buf, now),
            };
            if n > 0 {
                return n;
            }
        }
        0
    }

    /// Drops the reassembly contexts that timed out.
    #[cold]
    #[inline(never)]
    fn expire_frags(&mut self, now: Instant) {
        let frags = self.mem.parts().frags;
        self.st.stats.drop_frag_timeout += frag::expire(frags, now);
        self.st.frag_at = frag::poll_at(frags).unwrap_or(NEVER);
    }

    /// The announcement due (RFC 5227 §2.3: an ARP Announcement, broadcast), if we have an
    /// address.
    #[cold]
    #[inline(never)]
    fn announce_out(&mut self, buf: &mut [u8], now: Instant) -> Option<usize> {
        let (_, left) = self.st.announce?;
        self.st.announce =
            (left > 1).then(|| (now + crate::time::Duration::from_secs(2), left - 1));
        let cidr = self.cfg.ipv4?;
        let arp = ArpRepr::announce(self.cfg.mac, cidr.address());
        Some(arp_frame(
            buf,
            self.cfg.mac,
            EthernetAddress::BROADCAST,
            &arp,
        ))
    }

    /// RFC 826: the reply to a request for our address, unicast to the requester (the
    /// caller saw one owed).
    #[inline]
    fn arp_reply_out(&mut self, buf: &mut [u8]) -> usize {
        match self.st.arp_reply.take() {
            Some(reply) => arp_frame(buf, self.cfg.mac, reply.target_hardware_addr, &reply),
            None => 0,
        }
    }

    /// Neighbour work due at `now`: a request, or a packet a resolution released. Called only
    /// when `State::neighbor_at` is due, so that egress does not scan the table every time.
    fn neighbor_out(&mut self, buf: &mut [u8], now: Instant) -> Option<usize> {
        // Bounded by the table (each flush empties a record).
        let bound =
            self.mem.parts().neighbors.len() * (usize::from(self.cfg.neighbor.max_pending) + 2) + 1;
        for _ in 0..bound {
            let mut dropped = 0;
            let due = neighbor::due(
                self.mem.parts().neighbors,
                &self.cfg.neighbor,
                now,
                &mut self.st.rng,
                &mut dropped,
            );
            self.st.stats.drop_resolution_failed += dropped;
            match due {
                None => {
                    // Nothing due: until the next retry, egress skips the table.
                    self.st.neighbor_at =
                        neighbor::poll_at(self.mem.parts().neighbors).unwrap_or(NEVER);
                    break;
                }
                Some(Due::Request(ip)) => {
                    if let Some(n) = self.neighbor_request(buf, ip) {
                        return Some(n);
                    }
                }
                Some(Due::Flush(i)) => {
                    let p = self.mem.parts();
                    if let Some((len, mac)) =
                        neighbor::flush_one(p.neighbors, p.pending, i, &mut buf[ETH..])
                    {
                        if len == 0 {
                            self.st.stats.drop_buffer_too_small += 1;
                            continue;
                        }
                        let et = ip_ethertype(&buf[ETH..]);
                        eth_header(buf, self.cfg.mac, mac, et);
                        return Some(ETH + len);
                    }
                }
            }
        }
        None
    }

    /// An ARP request (RFC 826) or a Neighbor Solicitation to the solicited-node group
    /// (RFC 4861 §7.2.2).
    fn neighbor_request(&mut self, buf: &mut [u8], ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(target) => {
                let cidr = self.cfg.ipv4?;
                let arp = ArpRepr::request(self.cfg.mac, cidr.address(), target);
                self.st.stats.arp_requests_sent += 1;
                Some(arp_frame(
                    buf,
                    self.cfg.mac,
                    EthernetAddress::BROADCAST,
                    &arp,
                ))
            }
            IpAddr::V6(target) => {
                let src = match self.source_for(IpAddr::V6(target)) {
                    Ok(IpAddr::V6(s)) => s,
                    _ => ipv6::link_local_from_mac(self.cfg.mac),
                };
                let dst = ipv6::solicited_node(target);
                let ns = Icmpv6Repr::NeighborSolicit {
                    target_addr: target,
                    lladdr: Some(self.cfg.mac),
                };
                let len = ns.buffer_len();
                let n = self.ndp_frame(buf, src, dst, ipv6::multicast_mac(dst), len);
                ns.emit(&IpAddrPair::V6 { src, dst }, &mut buf[n..]);
                self.st.stats.ns_sent += 1;
                Some(n + len)
            }
        }
    }

    /// Ethernet + IPv6 headers for an NDP message (hop limit 255, RFC 4861 §7.1).
    pub(crate) fn ndp_frame(
        &self,
        buf: &mut [u8],
        src: Ipv6Addr,
        dst: Ipv6Addr,
        mac: EthernetAddress,
        len: usize,
    ) -> usize {
        let n = EthernetRepr::new(self.cfg.mac, mac, EtherType::Ipv6).emit(buf);
        n + Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Icmpv6,
            payload_len: len,
            hop_limit: 255,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut buf[n..])
    }

    /// The next hop of connection `i` toward `remote`: its MAC as cached on the slot while
    /// the neighbour table (and our address) did not change and no cached entry expired;
    /// else routed and resolved (and cached when resolved).
    fn conn_next_hop(&mut self, i: u32, remote: IpAddr, now: Instant) -> Resolved {
        if now >= self.st.neighbor_gen_until {
            // Some cached entry expired: drop them all (rare: once per reachable time).
            self.st.neighbors_changed();
        }
        let s = &self.mem.parts().slots[i as usize];
        if s.hop_generation == self.st.neighbor_gen {
            return Resolved::Mac(s.hop_mac);
        }
        let to = self.next_hop(remote, now);
        if let Resolved::Mac(mac) = to {
            let s = &mut self.mem.parts().slots[i as usize];
            s.hop_generation = self.st.neighbor_gen;
            s.hop_mac = mac;
        }
        to
    }

    /// Where a packet to `dst` goes: the last destination's MAC when `dst` is that one and
    /// the neighbour generation has not changed since (a one-entry destination cache: a
    /// listener answers one peer's SYN, then its ACK...); else routed and resolved.
    #[inline(always)]
    fn next_hop(&mut self, dst: IpAddr, now: Instant) -> Resolved {
        if now >= self.st.neighbor_gen_until {
            self.st.neighbors_changed();
        }
        if let Some((ip, mac, generation)) = self.st.last_hop
            && generation == self.st.neighbor_gen
            && ip == dst
        {
            return Resolved::Mac(mac);
        }
        self.next_hop_resolve(dst, now)
    }

    /// [`next_hop`](Self::next_hop) past its one-entry cache: routed and resolved.
    #[inline(never)]
    fn next_hop_resolve(&mut self, dst: IpAddr, now: Instant) -> Resolved {
        match self.route(dst) {
            Ok(next) => {
                let (to, until) = resolve_until(self.mem.parts().neighbors, self.st, next, now);
                if let Resolved::Mac(mac) = to {
                    self.st.neighbor_gen_until = self.st.neighbor_gen_until.min(until);
                    self.st.last_hop = Some((dst, mac, self.st.neighbor_gen));
                }
                to
            }
            Err(_) => {
                self.st.stats.drop_no_route += 1;
                Resolved::Fail
            }
        }
    }

    /// One segment of connection `i`, or its timer and events updated when it has none.
    fn tcp_out(&mut self, i: u32, buf: &mut [u8], now: Instant) -> usize {
        let Kind::Tcp(conn) = &self.mem.parts().slots[i as usize].kind else {
            return 0;
        };
        let tuple = conn.tuple();
        let l3 = if tuple.remote.is_ipv4() { 20 } else { 40 };
        let seg_room = self.cfg.mtu.saturating_sub(l3);
        let (max, offload) = if self.cfg.tso > self.cfg.mtu {
            (buf.len().min(ETH + self.cfg.tso), usize::MAX)
        } else {
            (buf.len().min(ETH + self.cfg.mtu), 0)
        };
        let Kind::Tcp(conn) = &mut self.mem.parts().slots[i as usize].kind else {
            return 0;
        };
        match conn.poll_transmit_offload(now, &mut buf[ETH + l3..max], seg_room, offload) {
            Some((len, mss)) => {
                self.st.stats.tcp_segments_sent += 1;
                // Routed and resolved only for a segment to send.
                let mut to = self.conn_next_hop(i, tuple.remote.ip(), now);
                let oversized = len > seg_room;
                if oversized && !matches!(to, Resolved::Mac(_)) {
                    // A frame to cut cannot wait on a neighbour: the packet queue would
                    // release it later without its segmentation. Dropped; the engine resends
                    // (one segment at a time) on its timer.
                    to = Resolved::Fail;
                }
                self.ip_header(
                    buf,
                    tuple.local.ip(),
                    tuple.remote.ip(),
                    IpProtocol::Tcp,
                    len,
                );
                match self.finish(buf, l3 + len, to) {
                    Out::Sent(n) => {
                        if oversized {
                            let tcp_header = usize::from(buf[ETH + l3 + 12] >> 4) * 4;
                            self.st.segmentation = Some(Segmentation {
                                mss: mss as u16,
                                header_len: (ETH + l3 + tcp_header) as u16,
                                ipv6: l3 == 40,
                            });
                        }
                        self.mark_ready(i);
                        n
                    }
                    Out::Queued => {
                        self.mark_ready(i);
                        0
                    }
                    Out::Dropped => {
                        // The engine retransmits on its timer.
                        if let Kind::Tcp(conn) = &self.mem.parts().slots[i as usize].kind {
                            let at = conn.poll_at();
                            self.set_timer(i, at);
                        }
                        0
                    }
                }
            }
            None => {
                let at = conn.poll_at();
                let closed = conn.state() == State::Closed;
                self.set_timer(i, at);
                self.conn_events(i);
                let s = &self.mem.parts().slots[i as usize];
                if closed && s.flags & RELEASED != 0 && s.flags & UNACCEPTED == 0 {
                    self.free(i);
                }
                0
            }
        }
    }

    /// A SYN-ACK or reset of listener `i`.
    fn listener_out(&mut self, i: u32, buf: &mut [u8], now: Instant) -> usize {
        let Kind::Listen(l) = &mut self.mem.parts().slots[i as usize].kind else {
            return 0;
        };
        let l3 = if l.listener.local().is_ipv4() { 20 } else { 40 };
        let max = buf.len().min(ETH + self.cfg.mtu);
        match l.listener.poll_transmit(now, &mut buf[ETH + l3..max]) {
            Some((tuple, len)) => {
                self.mark_ready(i);
                self.st.stats.tcp_segments_sent += 1;
                let to = self.next_hop(tuple.remote.ip(), now);
                self.ip_header(
                    buf,
                    tuple.local.ip(),
                    tuple.remote.ip(),
                    IpProtocol::Tcp,
                    len,
                );
                match self.finish(buf, l3 + len, to) {
                    Out::Sent(n) => n,
                    Out::Queued | Out::Dropped => 0,
                }
            }
            None => {
                let at = l.listener.poll_at();
                self.set_timer(i, at);
                0
            }
        }
    }

    /// One datagram (or IPv4 fragment) of UDP socket `i`.
    #[inline(never)]
    fn udp_out(&mut self, i: u32, buf: &mut [u8], now: Instant) -> usize {
        let Kind::Udp(u) = self.mem.parts().slots[i as usize].kind else {
            return 0;
        };
        let chunk_len = self.mem.parts().udp_chunk;
        let (_, tx) = udp_bufs(self.mem.parts().udp, chunk_len, u.chunk);
        let Some(rec) = u.tx.peek(tx) else {
            return 0;
        };
        let remote = decode_addr(rec);
        let data_len = rec.len() - UDP_META;
        let total = 8 + data_len;
        let src = if u.local.ip().is_unspecified() {
            self.source_for(remote.ip())
        } else {
            Ok(u.local.ip())
        };
        let hop = src.and_then(|s| self.route(remote.ip()).map(|h| (s, h)));
        let v4 = remote.is_ipv4();
        let l3 = if v4 { 20 } else { 40 };
        let (flen, more) = if v4 {
            frag::next_fragment(self.cfg.mtu, total, u.tx_sent as usize)
        } else {
            (total, false)
        };
        let Ok((src, hop)) = hop else {
            self.st.stats.drop_no_route += 1;
            return self.udp_done(i, true, 0);
        };
        if ETH + l3 + flen > buf.len() || (u.dont_frag && more) {
            self.st.stats.drop_too_big += 1;
            return self.udp_done(i, true, 0);
        }
        let to = self.resolve(hop, now);
        if let Resolved::Queue(n) = to
            && neighbor::pending_full(self.mem.parts().neighbors, &self.cfg.neighbor, n)
        {
            // Wait (the datagram stays queued) and look again after a retry interval.
            let at = now + self.cfg.neighbor.retry;
            self.set_timer(i, Some(at));
            return 0;
        }
        let addrs = match (src, remote.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => IpAddrPair::V4 { src: s, dst: d },
            (IpAddr::V6(s), IpAddr::V6(d)) => IpAddrPair::V6 { src: s, dst: d },
            _ => return self.udp_done(i, true, 0),
        };
        let p = self.mem.parts();
        let Kind::Udp(u) = &mut p.slots[i as usize].kind else {
            return 0;
        };
        let (_, tx) = udp_bufs(p.udp, chunk_len, u.chunk);
        let Some(rec) = u.tx.peek(tx) else {
            return 0;
        };
        let data = &rec[UDP_META..];
        let sent = u.tx_sent as usize;
        let at = ETH + l3;
        if sent == 0 {
            let hdr = crate::wire::UdpRepr {
                src_port: u.local.port(),
                dst_port: remote.port(),
            };
            hdr.emit_header(&mut buf[at..], data_len);
            let sum = crate::checksum::combine(&[
                addrs.pseudo_header_sum(IpProtocol::Udp, total),
                crate::checksum::sum(&buf[at..at + 8]),
                crate::checksum::sum(data),
            ]);
            let c = !sum;
            UdpPacket::new_unchecked(&mut buf[at..at + 8]).set_checksum(if c == 0 {
                0xffff
            } else {
                c
            });
            buf[at + 8..at + flen].copy_from_slice(&data[..flen - 8]);
            if more {
                u.tx_ident = self.st.ip_ident;
                self.st.ip_ident = self.st.ip_ident.wrapping_add(1);
            }
        } else {
            buf[at..at + flen].copy_from_slice(&data[sent - 8..sent - 8 + flen]);
        }
        let fragmented = more || sent > 0;
        if v4 {
            let (IpAddr::V4(s), IpAddr::V4(d)) = (src, remote.ip()) else {
                return 0;
            };
            let mut ip = Ipv4Repr::new(s, d, IpProtocol::Udp, flen);
            ip.ttl = self.cfg.ttl;
            ip.dont_frag = u.dont_frag;
            if fragmented {
                ip.dont_frag = false;
                ip.more_frags = more;
                ip.frag_offset = sent as u16;
                ip.ident = u.tx_ident;
                self.st.stats.frag_sent += 1;
            }
            ip.emit(&mut buf[ETH..]);
        } else {
            self.ip_header(buf, src, remote.ip(), IpProtocol::Udp, flen);
        }
        let n = match self.finish(buf, l3 + flen, to) {
            Out::Sent(n) => n,
            Out::Queued | Out::Dropped => 0,
        };
        if more {
            if let Kind::Udp(u) = &mut self.mem.parts().slots[i as usize].kind {
                u.tx_sent += flen as u32;
            }
            self.mark_ready(i);
            n
        } else {
            self.st.stats.udp_sent += 1;
            self.udp_done(i, false, n)
        }
    }

    /// The head datagram of UDP socket `i` is done (sent or dropped): pop it, reschedule.
    fn udp_done(&mut self, i: u32, _dropped: bool, n: usize) -> usize {
        let chunk_len = self.mem.parts().udp_chunk;
        let p = self.mem.parts();
        if let Kind::Udp(u) = &mut p.slots[i as usize].kind {
            let (_, tx) = udp_bufs(p.udp, chunk_len, u.chunk);
            u.tx.pop(tx);
            u.tx_sent = 0;
            if !u.tx.is_empty() {
                self.mark_ready(i);
            }
        }
        let _ = HAS_TIMER;
        n
    }
}
