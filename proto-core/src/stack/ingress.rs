//! Frames in: Ethernet, then ARP (RFC 826), IPv4 (RFC 791, reassembly RFC 815) or IPv6
//! (RFC 8200), then ICMP (RFC 792) / ICMPv6 and NDP (RFC 4443, 4861), UDP and TCP.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::egress::ETH;
use super::frag::{self, FragKey};
use super::neighbor;
use super::socket::{
    Kind, ListenSocket, NIL, UDP_META, UNACCEPTED, encode_addr, udp_bufs, unspecified,
};
use super::table::{Key, Proto};
use super::{Ctx, EchoReply, Events, Interface, Memory, Taken};
use crate::tcp::{Connection, FourTuple, SynSlot, reset_for};
use crate::time::Instant;
use crate::wire::icmpv4::DstUnreachable;
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpAddrPair, IpProtocol, Ipv4Packet,
    Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpPacket, TcpRepr, UdpPacket, ipv6,
};

/// What an ICMP error quotes: the IP header and the first 8 bytes of its payload (RFC 792),
/// or as much of the packet as fits a minimum-MTU reply for ICMPv6 (RFC 4443 §2.4(c)); we
/// quote at most this much.
const QUOTE_MAX: usize = 548;
/// The DHCP client's UDP port (RFC 2131 §4.1).
const DHCP_CLIENT_PORT: u16 = 68;

/// The parts of the received packet an L4 handler needs.
#[derive(Clone, Copy)]
struct Rx<'f> {
    src_mac: EthernetAddress,
    addrs: IpAddrPair,
    /// The IP packet as received (for ICMP error quotes); empty after reassembly.
    packet: &'f [u8],
    /// Sent to a broadcast or multicast address: never answered with an error.
    group: bool,
    /// The IP header's TTL or hop limit.
    ttl: u8,
}

impl<M: Memory> Interface<M> {
    /// Processes one received Ethernet frame (FCS stripped). Replies and socket output are
    /// queued for [`egress`](Self::egress). Never panics, whatever the bytes.
    pub fn ingress(&mut self, frame: &[u8], now: Instant) {
        let mut c = self.ctx();
        c.st.stats.rx_frames += 1;
        c.ingress(frame, now);
    }
}

fn ip_pair(addrs: &IpAddrPair) -> (IpAddr, IpAddr) {
    match *addrs {
        IpAddrPair::V4 { src, dst } => (src.into(), dst.into()),
        IpAddrPair::V6 { src, dst } => (src.into(), dst.into()),
    }
}

impl<M: Memory> Ctx<'_, M> {
    fn ingress(&mut self, frame: &[u8], now: Instant) {
        // The usual frame, untagged: its header at fixed offsets (what `EthernetFrame` would
        // read, without its VLAN walk).
        let Some(hdr) = frame.first_chunk::<ETH>() else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        let ethertype = u16::from_be_bytes([hdr[12], hdr[13]]);
        if EtherType::from(ethertype).is_vlan_tpid() {
            return self.ingress_tagged(frame, now);
        }
        let dst = &hdr[..6];
        if *dst != self.cfg.mac.0 && *dst != [0xff; 6] && !(dst[0] == 0x33 && dst[1] == 0x33) {
            self.st.stats.drop_not_our_mac += 1;
            return;
        }
        let src_mac = EthernetAddress::from_bytes(&hdr[6..12]);
        let payload = &frame[ETH..];
        match ethertype {
            0x0806 => self.arp_in(payload, now),
            0x0800 => self.ipv4_in(src_mac, payload, now),
            0x86dd => self.ipv6_in(src_mac, payload, now),
            _ => self.st.stats.drop_unknown_protocol += 1,
        }
    }

    /// A frame with VLAN tags: checked as any other, then dropped (we have no VLANs).
    #[cold]
    fn ingress_tagged(&mut self, frame: &[u8], now: Instant) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        let dst = eth.dst_addr();
        if dst != self.cfg.mac && !dst.is_broadcast() && !(dst.0[0] == 0x33 && dst.0[1] == 0x33) {
            self.st.stats.drop_not_our_mac += 1;
            return;
        }
        if eth.vlan_count() > 0 {
            self.st.stats.drop_unknown_protocol += 1;
            return;
        }
        let src_mac = eth.src_addr();
        let payload = &frame[eth.header_len()..];
        match eth.ethertype() {
            EtherType::Arp => self.arp_in(payload, now),
            EtherType::Ipv4 => self.ipv4_in(src_mac, payload, now),
            EtherType::Ipv6 => self.ipv6_in(src_mac, payload, now),
            _ => self.st.stats.drop_unknown_protocol += 1,
        }
    }

    /// RFC 5227 §2.1.1: while we probe an address, any ARP packet whose sender is that
    /// address, or another host's probe for it, is a conflict.
    fn watch_probe(&mut self, repr: &ArpRepr) {
        let Some(probe) = &mut self.st.probe else {
            return;
        };
        let from_other = repr.source_hardware_addr != self.cfg.mac;
        if from_other
            && (repr.source_protocol_addr == probe.addr
                || (repr.is_probe() && repr.target_protocol_addr == probe.addr))
        {
            probe.conflict = true;
        }
    }

    /// RFC 826 "packet reception", with RFC 5227's announcements updating the cache.
    fn arp_in(&mut self, payload: &[u8], now: Instant) {
        // The usual packet (Ethernet/IPv4, no address probe watched, an address configured)
        // is read at fixed offsets; anything else goes the general way.
        if self.st.probe.is_none()
            && let Some(cidr) = self.cfg.ipv4
            && let Some(b) = payload.first_chunk::<28>()
            && b[..6] == [0, 1, 8, 0, 6, 4]
        {
            return self.arp_in_fast(b, cidr, now);
        }
        self.arp_in_general(payload, now);
    }

    /// [`arp_in_general`](Self::arp_in_general) for an Ethernet/IPv4 ARP packet while no
    /// probe is watched and we have an address: the same decisions on the fixed offsets, no
    /// `ArpRepr` built unless a reply is owed.
    #[inline(always)]
    fn arp_in_fast(&mut self, b: &[u8; 28], cidr: crate::wire::Ipv4Cidr, now: Instant) {
        let ours = cidr.address();
        let sender = Ipv4Addr::new(b[14], b[15], b[16], b[17]);
        let target = Ipv4Addr::new(b[24], b[25], b[26], b[27]);
        // Unicast: the group bit of the first octet clear.
        if sender == ours || b[8] & 1 != 0 {
            self.st.stats.drop_bad_source += 1;
            return;
        }
        let sha = EthernetAddress::from_bytes(&b[8..14]);
        let for_us = target == ours;
        if !sender.is_unspecified() && cidr.contains(sender) {
            self.learn_neighbor_v4(sender, sha, now, for_us);
        }
        if !for_us {
            self.st.stats.drop_arp_ignored += 1;
            return;
        }
        if [b[6], b[7]] == [0, 1] {
            let reply = ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.cfg.mac,
                source_protocol_addr: target,
                target_hardware_addr: sha,
                target_protocol_addr: sender,
            };
            self.queue_arp_reply(reply);
        }
    }

    /// Queues `reply` (to a request for our address) for egress.
    #[inline(always)]
    fn queue_arp_reply(&mut self, reply: ArpRepr) {
        // The usual case (nothing else owed): egress writes the reply straight into its
        // buffer; otherwise it queues behind the rest.
        let ok = if self.st.arp_reply.is_none() && self.st.control.is_empty() {
            self.st.arp_reply = Some(reply);
            true
        } else {
            let mac = self.cfg.mac;
            self.push_control(ETH + reply.buffer_len(), |b| {
                super::egress::arp_frame(b, mac, reply.target_hardware_addr, &reply);
            })
        };
        if ok {
            self.st.stats.arp_replies_sent += 1;
        }
    }

    /// Any ARP packet, parsed and checked field by field.
    fn arp_in_general(&mut self, payload: &[u8], now: Instant) {
        let parsed = match arp_fast(payload) {
            Some(r) => Ok(r),
            None => ArpPacket::new_checked(payload).and_then(|p| ArpRepr::parse(&p)),
        };
        let Ok(repr) = parsed else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        self.watch_probe(&repr);
        let Some(cidr) = self.cfg.ipv4 else {
            self.st.stats.drop_arp_ignored += 1;
            return;
        };
        let ours = cidr.address();
        let sender = repr.source_protocol_addr;
        if sender == ours || !repr.source_hardware_addr.is_unicast() {
            // Someone else claims our address (RFC 5227 §2.4 conflict), or nonsense.
            self.st.stats.drop_bad_source += 1;
            return;
        }
        let for_us = repr.target_protocol_addr == ours;
        if !sender.is_unspecified() && cidr.contains(sender) {
            // RFC 826: merge into an existing entry; create one when we are the target.
            self.learn_neighbor(IpAddr::V4(sender), repr.source_hardware_addr, now, for_us);
        }
        if !for_us {
            self.st.stats.drop_arp_ignored += 1;
            return;
        }
        if repr.operation == ArpOperation::Request {
            self.queue_arp_reply(ArpRepr::reply_to(&repr, self.cfg.mac));
        }
    }

    /// The usual IPv4 packet read at fixed offsets, in one pass: a 20-byte header with a
    /// correct checksum, not a fragment, TCP, to our unicast address (not a broadcast one)
    /// from a unicast source that is not us, TTL above zero: straight to `tcp_in`, as
    /// `ipv4_in` would send it. `false` (nothing done, nothing counted) for any other
    /// packet, which `ipv4_in` then handles.
    #[inline]
    fn ipv4_tcp_fast(&mut self, src_mac: EthernetAddress, payload: &[u8], now: Instant) -> bool {
        const HEADER: usize = 20;
        let (Some(h), Some(cidr)) = (payload.first_chunk::<HEADER>(), self.cfg.ipv4) else {
            return false;
        };
        let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
        let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        let ours = cidr.address();
        // Version 4 and IHL 5; MF clear and offset 0 (DF may be set); TTL; protocol 6.
        let usual = h[0] == 0x45
            && (HEADER..=payload.len()).contains(&total)
            && u16::from_be_bytes([h[6], h[7]]) & 0x3fff == 0
            && h[8] != 0
            && h[9] == 6;
        if !usual
            || dst != ours
            || dst == Ipv4Addr::BROADCAST
            || dst == cidr.broadcast()
            || dst.is_multicast()
            || src.is_multicast()
            || src == Ipv4Addr::BROADCAST
            || src == ours
            || !crate::checksum::verify(crate::wire::ipv4::sum_fixed(h))
        {
            return false;
        }
        let rx = Rx {
            src_mac,
            addrs: IpAddrPair::V4 { src, dst },
            packet: &payload[..total],
            group: false,
            ttl: h[8],
        };
        self.tcp_in(rx, &payload[HEADER..total], now);
        true
    }

    fn ipv4_in(&mut self, src_mac: EthernetAddress, payload: &[u8], now: Instant) {
        if !self.ipv4_tcp_fast(src_mac, payload, now) {
            self.ipv4_in_general(src_mac, payload, now);
        }
    }

    /// [`ipv4_in`](Self::ipv4_in) past its fast path: any IPv4 packet (out of line, so that
    /// the fast path's code stays small).
    #[inline(never)]
    fn ipv4_in_general(&mut self, src_mac: EthernetAddress, payload: &[u8], now: Instant) {
        let Ok(ip) = Ipv4Packet::new_checked(payload) else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        if !ip.verify_checksum() {
            self.st.stats.drop_checksum += 1;
            return;
        }
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let (ours, group) = match self.cfg.ipv4 {
            Some(cidr) => (
                cidr.address(),
                dst == Ipv4Addr::BROADCAST || dst == cidr.broadcast() || dst.is_multicast(),
            ),
            // Without an address only a DHCP client's port is reachable (RFC 2131 §4.1: a
            // server may send to the broadcast address or to the offered address and our
            // MAC); nothing is ever answered with an error.
            None if is_to_dhcp_client(&ip) => (dst, true),
            None => {
                self.st.stats.drop_not_our_ip += 1;
                return;
            }
        };
        if dst != ours && !group {
            self.st.stats.drop_not_our_ip += 1;
            return;
        }
        if src.is_multicast()
            || src == Ipv4Addr::BROADCAST
            || (src == ours && !src.is_unspecified())
        {
            self.st.stats.drop_bad_source += 1;
            return;
        }
        if ip.ttl() == 0 {
            self.st.stats.drop_ttl_zero += 1;
            return;
        }
        let addrs = IpAddrPair::V4 { src, dst };
        let packet = &payload[..usize::from(ip.total_len())];
        let rx = Rx {
            src_mac,
            addrs,
            packet,
            group,
            ttl: ip.ttl(),
        };
        let proto = ip.protocol();
        if !ip.is_fragment() {
            return self.l4_in(rx, proto, ip.payload_slice(), now);
        }
        let key = FragKey {
            src,
            dst,
            ident: ip.ident(),
            protocol: proto.into(),
        };
        // A context this fragment makes expires `frag_timeout` from now (egress looks then).
        self.st.frag_at = self.st.frag_at.min(now + self.cfg.frag_timeout);
        let p = self.mem.parts();
        let res = frag::add(
            p.frags,
            p.frag_bytes,
            key,
            u32::from(ip.frag_offset()),
            ip.more_frags(),
            ip.payload_slice(),
            now,
            self.cfg.frag_timeout,
        );
        match res {
            Ok(None) => {}
            Ok(Some((ctx, len))) => {
                self.st.stats.frag_reassembled += 1;
                // Borrow the bytes out of the storage while the L4 handlers use the rest
                // (through views taken once, with the reassembly bytes left out).
                let mut p = self.mem.parts();
                let bytes = core::mem::take(&mut p.frag_bytes);
                let n = p.frags.len();
                let rx = Rx { packet: &[], ..rx };
                let mut rest = Taken(p);
                let mut c = Ctx {
                    cfg: self.cfg,
                    conn_cfg: self.conn_cfg,
                    st: &mut *self.st,
                    mem: &mut rest,
                };
                c.l4_in(rx, proto, frag::payload(n, bytes, ctx, len), now);
                frag::free(self.mem.parts().frags, ctx);
            }
            Err(_) => self.st.stats.drop_frag_no_room += 1,
        }
    }

    fn ipv6_in(&mut self, src_mac: EthernetAddress, payload: &[u8], now: Instant) {
        let Ok(ip) = Ipv6Packet::new_checked(payload) else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let group = dst.is_multicast();
        let wanted = self.is_our_v6(dst)
            || dst == ipv6::LINK_LOCAL_ALL_NODES
            || (ipv6::is_solicited_node(dst)
                && (self.is_our_v6(ipv6::link_local_from_mac(self.cfg.mac))
                    && (solicits(dst, ipv6::link_local_from_mac(self.cfg.mac))
                        || self
                            .cfg
                            .ipv6
                            .iter()
                            .flatten()
                            .any(|(a, _)| solicits(dst, *a)))));
        if !wanted {
            self.st.stats.drop_not_our_ip += 1;
            return;
        }
        if src.is_multicast() || (self.is_our_v6(src) && !src.is_unspecified()) {
            self.st.stats.drop_bad_source += 1;
            return;
        }
        if ip.hop_limit() == 0 {
            self.st.stats.drop_ttl_zero += 1;
            return;
        }
        let upper = match ip.upper_layer() {
            Ok(u) => u,
            Err(_) => {
                self.st.stats.drop_malformed += 1;
                return;
            }
        };
        if upper.fragment.is_some() {
            self.st.stats.drop_ipv6_fragment += 1;
            return;
        }
        let rx = Rx {
            src_mac,
            addrs: IpAddrPair::V6 { src, dst },
            packet: &payload[..ip.total_len()],
            group,
            ttl: ip.hop_limit(),
        };
        let body = &ip.payload_slice()[upper.offset..];
        if upper.protocol == IpProtocol::Icmpv6 {
            return self.icmpv6_in(rx, ip.hop_limit(), body, now);
        }
        self.l4_in(rx, upper.protocol, body, now);
    }

    fn l4_in(&mut self, rx: Rx<'_>, proto: IpProtocol, body: &[u8], now: Instant) {
        match (proto, rx.addrs) {
            (IpProtocol::Tcp, _) => self.tcp_in(rx, body, now),
            (IpProtocol::Udp, _) => self.udp_in(rx, body, now),
            (IpProtocol::Icmp, IpAddrPair::V4 { .. }) => self.icmpv4_in(rx, body, now),
            _ => self.st.stats.drop_unknown_protocol += 1,
        }
    }

    fn icmpv4_in(&mut self, rx: Rx<'_>, body: &[u8], now: Instant) {
        let Ok(pkt) = Icmpv4Packet::new_checked(body) else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        if !pkt.verify_checksum() {
            self.st.stats.drop_checksum += 1;
            return;
        }
        match Icmpv4Repr::parse(&pkt) {
            // RFC 1122 §3.2.2.6: answer echo requests; not those sent to a broadcast address.
            Ok(Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }) if !rx.group => {
                let reply = Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                if self.queue_ip_reply(rx, IpProtocol::Icmp, reply.buffer_len(), |b, _| {
                    reply.emit(b);
                }) {
                    self.st.stats.echo_replies += 1;
                }
            }
            Ok(Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            }) => self.echo_reply_in(EchoReply {
                from: ip_pair(&rx.addrs).0,
                ident,
                seq_no,
                data_len: data.len(),
                ttl: rx.ttl,
                at: now,
            }),
            _ => self.st.stats.drop_icmp_ignored += 1,
        }
    }

    fn icmpv6_in(&mut self, rx: Rx<'_>, hop_limit: u8, body: &[u8], now: Instant) {
        let Ok(pkt) = Icmpv6Packet::new_checked(body) else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        if !pkt.verify_checksum(&rx.addrs) {
            self.st.stats.drop_checksum += 1;
            return;
        }
        let IpAddrPair::V6 { src, .. } = rx.addrs else {
            return;
        };
        let repr = match Icmpv6Repr::parse(&pkt, &rx.addrs) {
            Ok(r) => r,
            Err(_) => {
                self.st.stats.drop_ndp_invalid += 1;
                return;
            }
        };
        let ndp = matches!(
            repr,
            Icmpv6Repr::NeighborSolicit { .. } | Icmpv6Repr::NeighborAdvert { .. }
        );
        // RFC 4861 §7.1.1, §7.1.2: NDP arrives with hop limit 255 (it was not forwarded).
        if ndp && hop_limit != 255 {
            self.st.stats.drop_ndp_invalid += 1;
            return;
        }
        match repr {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } if !rx.group => {
                let reply = Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                if self.queue_ip_reply(rx, IpProtocol::Icmpv6, reply.buffer_len(), |b, a| {
                    reply.emit(a, b);
                }) {
                    self.st.stats.echo_replies += 1;
                }
            }
            Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => self.echo_reply_in(EchoReply {
                from: IpAddr::V6(src),
                ident,
                seq_no,
                data_len: data.len(),
                ttl: hop_limit,
                at: now,
            }),
            Icmpv6Repr::NeighborSolicit {
                target_addr,
                lladdr,
            } if self.is_our_v6(target_addr) => {
                if src.is_unspecified() {
                    // Duplicate address detection by someone else (RFC 4862 §5.4.3): we do
                    // not defend here; the conflict is counted.
                    self.st.stats.drop_bad_source += 1;
                    return;
                }
                if let Some(mac) = lladdr {
                    self.learn_neighbor(IpAddr::V6(src), mac, now, true);
                }
                // RFC 4861 §7.2.4: a solicited advertisement with our link-layer address.
                let na = Icmpv6Repr::NeighborAdvert {
                    router: false,
                    solicited: true,
                    override_flag: true,
                    target_addr,
                    lladdr: Some(self.cfg.mac),
                };
                let len = na.buffer_len();
                let dst_mac = lladdr.unwrap_or(rx.src_mac);
                let mut frame = [0u8; ETH + 40 + 32];
                let n = self.ndp_frame(&mut frame, target_addr, src, dst_mac, len);
                na.emit(
                    &IpAddrPair::V6 {
                        src: target_addr,
                        dst: src,
                    },
                    &mut frame[n..],
                );
                if self.push_control(n + len, |b| b.copy_from_slice(&frame[..n + len])) {
                    self.st.stats.na_sent += 1;
                }
            }
            Icmpv6Repr::NeighborAdvert {
                target_addr,
                lladdr: Some(mac),
                ..
            } => {
                // RFC 4861 §7.2.5: only an entry that exists is updated.
                self.learn_neighbor(IpAddr::V6(target_addr), mac, now, false);
            }
            _ => self.st.stats.drop_icmp_ignored += 1,
        }
    }

    /// Queues an IP packet answering `rx` (source and destination swapped), sent to the
    /// frame's source MAC; `f` writes the `len`-byte body.
    fn queue_ip_reply(
        &mut self,
        rx: Rx<'_>,
        proto: IpProtocol,
        len: usize,
        f: impl FnOnce(&mut [u8], &IpAddrPair),
    ) -> bool {
        let (src, dst) = ip_pair(&rx.addrs);
        let (ours, theirs) = (dst, src);
        let l3 = if ours.is_ipv4() { 20 } else { 40 };
        if l3 + len > self.cfg.mtu {
            self.st.stats.drop_too_big += 1;
            return false;
        }
        let mac = self.cfg.mac;
        let ttl = self.cfg.ttl;
        let back = match (ours, theirs) {
            (IpAddr::V4(s), IpAddr::V4(d)) => IpAddrPair::V4 { src: s, dst: d },
            (IpAddr::V6(s), IpAddr::V6(d)) => IpAddrPair::V6 { src: s, dst: d },
            _ => return false,
        };
        self.push_control(ETH + l3 + len, |b| {
            let et = if l3 == 20 {
                EtherType::Ipv4
            } else {
                EtherType::Ipv6
            };
            EthernetRepr::new(mac, rx.src_mac, et).emit(b);
            match back {
                IpAddrPair::V4 { src, dst } => {
                    let mut ip = Ipv4Repr::new(src, dst, proto, len);
                    ip.ttl = ttl;
                    ip.emit(&mut b[ETH..]);
                }
                IpAddrPair::V6 { src, dst } => {
                    Ipv6Repr {
                        src_addr: src,
                        dst_addr: dst,
                        next_header: proto,
                        payload_len: len,
                        hop_limit: ttl,
                        traffic_class: 0,
                        flow_label: 0,
                    }
                    .emit(&mut b[ETH..]);
                }
            }
            f(&mut b[ETH + l3..], &back);
        })
    }

    /// ICMP port unreachable (RFC 792; RFC 1122 §3.2.2.1; RFC 4443 §3.1 code 4), rate
    /// limited, never for broadcast/multicast or a reassembled datagram.
    fn port_unreachable(&mut self, rx: Rx<'_>, now: Instant) {
        if rx.group || rx.packet.is_empty() || !self.take_token(now) {
            return;
        }
        let quote_len = match rx.addrs {
            IpAddrPair::V4 { .. } => {
                let ihl = usize::from(rx.packet[0] & 0x0f) * 4;
                (ihl + 8).min(rx.packet.len())
            }
            IpAddrPair::V6 { .. } => rx.packet.len().min(QUOTE_MAX),
        };
        let quote = &rx.packet[..quote_len];
        let ok = match rx.addrs {
            IpAddrPair::V4 { .. } => {
                let m = Icmpv4Repr::DstUnreachable {
                    reason: DstUnreachable::PortUnreachable,
                    next_hop_mtu: 0,
                    quoted: quote,
                };
                self.queue_ip_reply(rx, IpProtocol::Icmp, m.buffer_len(), |b, _| {
                    m.emit(b);
                })
            }
            IpAddrPair::V6 { .. } => {
                let m = Icmpv6Repr::DstUnreachable {
                    code: 4,
                    data: quote,
                };
                self.queue_ip_reply(rx, IpProtocol::Icmpv6, m.buffer_len(), |b, a| {
                    m.emit(a, b);
                })
            }
        };
        if ok {
            self.st.stats.port_unreachables += 1;
        }
    }

    fn udp_in(&mut self, rx: Rx<'_>, body: &[u8], now: Instant) {
        let Ok(pkt) = UdpPacket::new_checked(body) else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        if !pkt.verify_checksum(&rx.addrs) {
            self.st.stats.drop_checksum += 1;
            return;
        }
        let (src, dst) = ip_pair(&rx.addrs);
        let local = SocketAddr::new(dst, pkt.dst_port());
        let mut key = Key::new(Proto::Udp, local, None);
        let mut found = self.find(&key);
        if found.is_none() {
            key = Key::new(
                Proto::Udp,
                SocketAddr::new(unspecified(dst), pkt.dst_port()),
                None,
            );
            found = self.find(&key);
        }
        let Some(i) = found else {
            self.st.stats.drop_udp_no_socket += 1;
            self.port_unreachable(rx, now);
            return;
        };
        let chunk_len = self.mem.parts().udp_chunk;
        let p = self.mem.parts();
        let Kind::Udp(u) = &mut p.slots[i as usize].kind else {
            return;
        };
        let (rxq, _) = udp_bufs(p.udp, chunk_len, u.chunk);
        let from = SocketAddr::new(src, pkt.src_port());
        if u.rx.push(rxq, &[&encode_addr(from), pkt.payload_slice()]) {
            self.st.stats.udp_received += 1;
            self.push_event(i, Events::READABLE);
        } else {
            self.st.stats.drop_udp_queue_full += 1;
        }
        let _ = UDP_META;
    }

    fn tcp_in(&mut self, rx: Rx<'_>, body: &[u8], now: Instant) {
        let Ok(pkt) = TcpPacket::new_checked(body) else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        // `verify_checksum`, with the pseudo-header summed inline (the protocol is constant).
        let sum = crate::checksum::combine(&[
            rx.addrs
                .pseudo_header_sum_inline(IpProtocol::Tcp, body.len()),
            crate::checksum::sum(body),
        ]);
        if !crate::checksum::verify(sum) {
            self.st.stats.drop_checksum += 1;
            return;
        }
        let Ok(seg) = TcpRepr::parse_inline(&pkt) else {
            self.st.stats.drop_malformed += 1;
            return;
        };
        if rx.group {
            // RFC 1122 §4.2.3.10: no TCP to broadcast or multicast.
            self.st.stats.drop_not_our_ip += 1;
            return;
        }
        let (src, dst) = ip_pair(&rx.addrs);
        let tuple = FourTuple {
            local: SocketAddr::new(dst, seg.dst_port),
            remote: SocketAddr::new(src, seg.src_port),
        };
        self.st.stats.tcp_segments_received += 1;
        let key = Key::new(Proto::Tcp, tuple.local, Some(tuple.remote));
        let hash = key.hash(self.st.index.seed);
        if let Some(i) = self.find_hashed(&key, hash)
            && let Kind::Tcp(conn) = &mut self.mem.parts().slots[i as usize].kind
        {
            conn.handle_segment(now, &rx.addrs, &seg);
            self.mark_ready(i);
            self.conn_events(i);
            return;
        }
        let lkey = Key::new(Proto::Tcp, tuple.local, None);
        let mut found = self.find_listener(&lkey);
        if found.is_none() {
            let any = SocketAddr::new(unspecified(dst), seg.dst_port);
            found = self.find_listener(&Key::new(Proto::Tcp, any, None));
        }
        if let Some(li) = found {
            return self.listener_in(li, rx, &seg, now, tuple, (key, hash));
        }
        self.st.stats.drop_tcp_no_socket += 1;
        self.send_reset(rx, tuple, &seg, now);
    }

    /// RFC 9293 §3.10.7.1: a segment to a closed port gets a reset (rate limited).
    fn send_reset(&mut self, rx: Rx<'_>, tuple: FourTuple, seg: &TcpRepr<'_>, now: Instant) {
        let Some(rst) = reset_for(tuple, seg) else {
            return;
        };
        if !self.take_token(now) {
            return;
        }
        if self.queue_ip_reply(rx, IpProtocol::Tcp, rst.buffer_len(), |b, a| {
            rst.emit(b, a);
        }) {
            self.st.stats.resets_sent += 1;
        }
    }

    /// A segment for listener `li`; `tuple` is the segment's (seen from our side), `key` the
    /// connection key `tcp_in` missed and `hash` its hash (the new connection's, when the
    /// listener completes a handshake).
    fn listener_in(
        &mut self,
        li: u32,
        rx: Rx<'_>,
        seg: &TcpRepr<'_>,
        now: Instant,
        tuple: FourTuple,
        (key, hash): (Key, u64),
    ) {
        let Kind::Listen(l) = &mut self.mem.parts().slots[li as usize].kind else {
            return;
        };
        // The tuple `tcp_in` looked up is the listener's (the same local port, and the
        // destination address whether the listener's is that one or unspecified).
        let hs = l.listener.handle_segment_on(now, tuple, seg);
        let queued = l.queued;
        let local = l.listener.local();
        self.mark_ready(li);
        let Some(hs) = hs else {
            return;
        };
        if queued >= self.cfg.accept_queue {
            self.st.stats.drop_tcp_accept_full += 1;
            return self.send_reset(rx, hs.tuple, seg, now);
        }
        // A completed handshake carries the tuple it was given: its key and hash are the
        // ones looked up.
        debug_assert_eq!(
            key,
            Key::new(Proto::Tcp, hs.tuple.local, Some(hs.tuple.remote))
        );
        let cfg = &self.cfg.tcp;
        let pre = self.conn_cfg;
        // The buffers are taken once the slot is certain, straight into the connection;
        // none (the provider refuses) leaves the slot free and refuses the connection.
        let made = self.alloc_made(&key, hash, |buffers| match buffers.take(local) {
            Some((rbuf, tbuf)) => {
                Kind::Tcp(Connection::accept_with(cfg, pre, &hs, now, rbuf, tbuf))
            }
            None => Kind::Free,
        });
        let i = match made {
            Ok(i) => i,
            Err(_) => {
                self.st.stats.drop_tcp_accept_full += 1;
                return self.send_reset(rx, hs.tuple, seg, now);
            }
        };
        if (!seg.payload.is_empty() || seg.control == crate::wire::TcpControl::Fin)
            && let Kind::Tcp(conn) = &mut self.mem.parts().slots[i as usize].kind
        {
            conn.handle_segment(now, &rx.addrs, seg);
        }
        self.mem.parts().slots[i as usize].flags |= UNACCEPTED;
        self.mark_ready(i);
        let Kind::Listen(l) = &mut self.mem.parts().slots[li as usize].kind else {
            return;
        };
        append(l, i);
        let tail_prev = l.tail_prev;
        if tail_prev != NIL {
            self.mem.parts().slots[tail_prev as usize].link = i;
        }
        self.push_event(li, Events::ACCEPT);
    }
}

/// An Ethernet/IPv4 ARP packet (hardware type 1, protocol 0x0800, lengths 6 and 4) read at
/// fixed offsets: what [`ArpRepr::parse`] returns for it. `None` for anything else (the
/// caller parses that with the generic code, which says what is wrong).
#[inline(always)]
fn arp_fast(payload: &[u8]) -> Option<ArpRepr> {
    let b = payload.first_chunk::<28>()?;
    if b[..6] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let ip = |at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
    Some(ArpRepr {
        operation: ArpOperation::from(u16::from_be_bytes([b[6], b[7]])),
        source_hardware_addr: EthernetAddress::from_bytes(&b[8..14]),
        source_protocol_addr: ip(14),
        target_hardware_addr: EthernetAddress::from_bytes(&b[18..24]),
        target_protocol_addr: ip(24),
    })
}

/// True for an unfragmented UDP datagram to the DHCP client port (68), the one thing an
/// interface without an IPv4 address accepts.
fn is_to_dhcp_client(ip: &Ipv4Packet<&[u8]>) -> bool {
    ip.protocol() == IpProtocol::Udp
        && !ip.is_fragment()
        && UdpPacket::new_checked(ip.payload_slice())
            .is_ok_and(|u| u.dst_port() == DHCP_CLIENT_PORT)
}

/// Appends slot `i` to a listener's accept queue (the caller links the previous tail).
fn append<B: AsRef<[SynSlot]> + AsMut<[SynSlot]>>(l: &mut ListenSocket<B>, i: u32) {
    l.tail_prev = l.tail;
    if l.head == NIL {
        l.head = i;
    }
    l.tail = i;
    l.queued += 1;
}

impl<M: Memory> Ctx<'_, M> {
    /// [`learn_neighbor`](Self::learn_neighbor) for an IPv4 address: the table scan compiled
    /// for that family only.
    #[inline(never)]
    fn learn_neighbor_v4(
        &mut self,
        ip: Ipv4Addr,
        mac: EthernetAddress,
        now: Instant,
        create: bool,
    ) {
        self.learn_neighbor(IpAddr::V4(ip), mac, now, create);
    }

    /// Records a neighbour (see [`neighbor::learn`]); when that releases queued packets,
    /// egress goes through the table again at once.
    #[inline(always)]
    fn learn_neighbor(&mut self, ip: IpAddr, mac: EthernetAddress, now: Instant, create: bool) {
        // An entry made, replaced (another one evicted) or given a new address.
        self.st.neighbors_changed();
        let flush = neighbor::learn(
            self.mem.parts().neighbors,
            &self.cfg.neighbor,
            ip,
            mac,
            now,
            create,
        );
        if flush.is_some() {
            self.st.neighbor_at = Instant::ZERO;
        }
    }
}

/// True when `group` is the solicited-node address of `addr`.
fn solicits(group: core::net::Ipv6Addr, addr: core::net::Ipv6Addr) -> bool {
    ipv6::solicited_node(addr) == group
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::Rng;

    /// The fixed-offset ARP path and the general one, fed the same random Ethernet/IPv4 ARP
    /// packets (requests, replies, other operations; senders ours, unspecified, on and off
    /// link, group MACs; targets ours or not; a small table that evicts), leave two
    /// interfaces in the same state: counters, neighbour table, what egress sends.
    #[cfg(feature = "std")]
    #[test]
    fn arp_fast_path_agrees_with_the_general_one() {
        extern crate std;
        use super::super::{Capacities, Config, VecMemory};
        use crate::wire::Ipv4Cidr;
        use std::format;

        let ours = Ipv4Addr::new(10, 0, 0, 1);
        let cidr = Ipv4Cidr::new(ours, 24).unwrap();
        let make = || {
            let cfg = Config::new(EthernetAddress([2, 0, 0, 0, 0, 1]))
                .with_ipv4(cidr, None)
                .with_seed(3);
            let caps = Capacities {
                neighbors: 3,
                control_queue: 200,
                ..Capacities::default()
            };
            let mut i = Interface::new(cfg, VecMemory::new(&caps));
            // Past the two gratuitous ARPs of the new address.
            let mut buf = [0u8; 1514];
            while i.egress(&mut buf, Instant::from_secs(10)) > 0 {}
            i
        };
        let (mut fast, mut general) = (make(), make());
        let mut rng = Rng::new(11);
        let mut now = Instant::from_secs(10);
        let pick_ip = |r: u32| match r % 6 {
            0 => ours,
            1 => Ipv4Addr::UNSPECIFIED,
            2 => Ipv4Addr::new(192, 168, 1, (r >> 8) as u8),
            _ => Ipv4Addr::new(10, 0, 0, (r >> 8) as u8 % 8),
        };
        for round in 0..20_000 {
            let mut b = [0u8; 28];
            b[..6].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
            b[7] = [1, 2, 1, 2, 3][(rng.next_u32() % 5) as usize];
            if rng.next_u32().is_multiple_of(16) {
                b[6] = 1;
            }
            for x in &mut b[8..14] {
                *x = rng.next_u32() as u8;
            }
            if !rng.next_u32().is_multiple_of(4) {
                b[8] &= !1;
            }
            b[14..18].copy_from_slice(&pick_ip(rng.next_u32()).octets());
            for x in &mut b[18..24] {
                *x = rng.next_u32() as u8;
            }
            let tpa = if rng.next_u32().is_multiple_of(2) {
                ours
            } else {
                pick_ip(rng.next_u32())
            };
            b[24..28].copy_from_slice(&tpa.octets());
            now += crate::time::Duration::from_millis(u64::from(rng.next_u32() % 5000));
            fast.ctx().arp_in_fast(&b, cidr, now);
            general.ctx().arp_in_general(&b, now);
            assert_eq!(fast.stats(), general.stats(), "round {round}");
            if rng.next_u32().is_multiple_of(3) {
                let (mut x, mut y) = ([0u8; 1514], [0u8; 1514]);
                loop {
                    let (n, m) = (fast.egress(&mut x, now), general.egress(&mut y, now));
                    assert_eq!(x[..n], y[..m], "round {round}");
                    if n == 0 {
                        break;
                    }
                }
            }
            assert_eq!(
                format!("{:?}", fast.mem.parts().neighbors),
                format!("{:?}", general.mem.parts().neighbors),
                "round {round}"
            );
        }
        assert!(fast.stats().arp_replies_sent > 1000);
    }

    /// The fixed-offset ARP reader agrees with `ArpRepr::parse` whenever it answers, and
    /// answers for every valid Ethernet/IPv4 packet.
    #[test]
    fn arp_fast_agrees_with_the_generic_parser() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let req = ArpRepr::request(mac, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut good = [0u8; 28];
        req.emit(&mut good);
        assert_eq!(arp_fast(&good), Some(req));
        let mut rng = Rng::new(5);
        for _ in 0..20_000 {
            let mut b = good;
            let len = 20 + (rng.next_u32() % 12) as usize;
            for _ in 0..rng.next_u32() % 3 {
                let at = (rng.next_u32() % 28) as usize;
                b[at] = rng.next_u32() as u8;
            }
            let slow = ArpPacket::new_checked(&b[..len.min(28)])
                .and_then(|p| ArpRepr::parse(&p))
                .ok();
            match arp_fast(&b[..len.min(28)]) {
                Some(r) => assert_eq!(Some(r), slow),
                None => assert!(slow.is_none()),
            }
        }
    }
}
