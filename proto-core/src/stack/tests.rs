//! Unit tests, one behaviour each, on a single interface fed hand-built frames.

extern crate std;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::vec;
use std::vec::Vec;

use super::*;
use crate::wire::{
    ArpOperation, ArpRepr, EtherType, EthernetRepr, Frame, Icmpv4Repr, Icmpv6Repr, IpAddrPair,
    IpProtocol, Ipv4Repr, Ipv6Repr, Network, TcpControl, TcpRepr, TcpSeqNumber, Transport, UdpRepr,
};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);
const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

fn iface() -> Interface<VecMemory> {
    let cfg = Config::new(MAC)
        .with_ipv4(Ipv4Cidr::new(US, 24).unwrap(), Some(GW))
        .with_ipv6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1), 64)
        .with_seed(7);
    Interface::new(cfg, VecMemory::new(&Capacities::default()))
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// Every frame out, verified.
fn drain<M: Memory>(i: &mut Interface<M>, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1514];
    loop {
        let n = i.egress(&mut buf, now);
        if n == 0 {
            return out;
        }
        let f = Frame::parse(&buf[..n]).unwrap();
        f.verify_checksums().unwrap();
        out.push(buf[..n].to_vec());
    }
}

fn arp(op: ArpOperation, smac: EthernetAddress, sip: Ipv4Addr, tip: Ipv4Addr) -> Vec<u8> {
    let r = ArpRepr {
        operation: op,
        source_hardware_addr: smac,
        source_protocol_addr: sip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: tip,
    };
    let mut f = vec![0u8; 42];
    EthernetRepr::new(smac, EthernetAddress::BROADCAST, EtherType::Arp).emit(&mut f);
    r.emit(&mut f[14..]);
    f
}

fn ipv4_frame(proto: IpProtocol, ttl: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 34 + body.len()];
    EthernetRepr::new(PEER_MAC, MAC, EtherType::Ipv4).emit(&mut f);
    let mut ip = Ipv4Repr::new(PEER, US, proto, body.len());
    ip.ttl = ttl;
    ip.emit(&mut f[14..]);
    f[34..].copy_from_slice(body);
    f
}

fn udp_body(dst_port: u16, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 8 + data.len()];
    UdpRepr {
        src_port: 5000,
        dst_port,
    }
    .emit(&mut b, &IpAddrPair::V4 { src: PEER, dst: US }, data);
    b
}

fn arp_of(frame: &[u8]) -> ArpRepr {
    match Frame::parse(frame).unwrap().network {
        Some(Network::Arp(a)) => ArpRepr::parse(&a).unwrap(),
        _ => panic!("not ARP"),
    }
}

#[test]
fn answers_arp_requests_for_our_address_only() {
    let mut i = iface();
    i.ingress(&arp(ArpOperation::Request, PEER_MAC, PEER, US), at(0));
    i.ingress(&arp(ArpOperation::Request, PEER_MAC, PEER, GW), at(0));
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    let r = arp_of(&out[0]);
    assert_eq!(r.operation, ArpOperation::Reply);
    assert_eq!(r.source_hardware_addr, MAC);
    assert_eq!(r.target_hardware_addr, PEER_MAC);
    assert_eq!(i.stats().drop_arp_ignored, 1);
}

#[test]
fn arp_retries_back_off_then_give_up_dropping_queued_packets() {
    let mut i = iface();
    let u = i.udp_bind(SocketAddr::new(US.into(), 0)).unwrap();
    for _ in 0..3 {
        i.udp_send_to(u, SocketAddr::new(PEER.into(), 9), b"x")
            .unwrap();
    }
    let mut times = Vec::new();
    let mut now = at(0);
    for _ in 0..10 {
        for f in drain(&mut i, now) {
            assert_eq!(arp_of(&f).target_protocol_addr, PEER);
            times.push(now.millis());
        }
        match i.poll_at() {
            Some(t) if t > now => now = t,
            _ => break,
        }
    }
    // 3 requests: at 0, after ~1 s, then ~2 s more (each with up to 25% jitter).
    assert_eq!(times.len(), 3, "{times:?}");
    assert!((1000..=1250).contains(&(times[1] - times[0])), "{times:?}");
    assert!((2000..=2500).contains(&(times[2] - times[1])), "{times:?}");
    assert_eq!(i.stats().drop_resolution_failed, 3);
    assert_eq!(i.poll_at(), None);
}

#[test]
fn neighbor_entries_expire() {
    let mut i = iface();
    // Learn the peer from its request to us.
    i.ingress(&arp(ArpOperation::Request, PEER_MAC, PEER, US), at(0));
    drain(&mut i, at(0));
    let u = i.udp_bind(SocketAddr::new(US.into(), 0)).unwrap();
    i.udp_send_to(u, SocketAddr::new(PEER.into(), 9), b"x")
        .unwrap();
    let out = drain(&mut i, at(1));
    assert_eq!(out.len(), 1);
    assert!(matches!(
        Frame::parse(&out[0]).unwrap().transport,
        Some(Transport::Udp(_))
    ));
    // After the reachable time the address is resolved again.
    let later = at(61_000);
    i.udp_send_to(u, SocketAddr::new(PEER.into(), 9), b"x")
        .unwrap();
    let out = drain(&mut i, later);
    assert_eq!(out.len(), 1);
    assert_eq!(arp_of(&out[0]).operation, ArpOperation::Request);
}

#[test]
fn address_change_sends_two_gratuitous_arps() {
    let mut i = iface();
    let new = Ipv4Addr::new(10, 0, 0, 9);
    i.set_ipv4(Ipv4Cidr::new(new, 24), None, at(0));
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    let a = arp_of(&out[0]);
    assert!(a.is_gratuitous());
    assert_eq!(a.source_protocol_addr, new);
    assert_eq!(i.poll_at(), Some(at(2000)));
    assert_eq!(drain(&mut i, at(2000)).len(), 1);
    assert_eq!(i.poll_at(), None);
}

#[test]
fn off_link_goes_to_the_gateway_and_no_gateway_is_no_route() {
    let mut i = iface();
    let u = i.udp_bind(SocketAddr::new(US.into(), 0)).unwrap();
    i.udp_send_to(u, "192.0.2.1:9".parse().unwrap(), b"x")
        .unwrap();
    let out = drain(&mut i, at(0));
    assert_eq!(arp_of(&out[0]).target_protocol_addr, GW);
    i.set_ipv4(Ipv4Cidr::new(US, 24), None, at(0));
    let r = i.tcp_connect(
        "192.0.2.1:80".parse().unwrap(),
        None,
        at(0),
        vec![0; 64],
        vec![0; 64],
    );
    assert_eq!(r.unwrap_err(), StackError::NoRoute);
}

#[test]
fn icmp_echo_v4_and_v6() {
    let mut i = iface();
    let echo = Icmpv4Repr::EchoRequest {
        ident: 1,
        seq_no: 2,
        data: b"ping",
    };
    let mut body = vec![0u8; echo.buffer_len()];
    echo.emit(&mut body);
    i.ingress(&ipv4_frame(IpProtocol::Icmp, 64, &body), at(0));
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    assert_eq!(i.stats().echo_replies, 1);

    let peer6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    let us6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    let req = Icmpv6Repr::EchoRequest {
        ident: 3,
        seq_no: 4,
        data: b"ping6",
    };
    let addrs = IpAddrPair::V6 {
        src: peer6,
        dst: us6,
    };
    let len = req.buffer_len();
    let mut f = vec![0u8; 54 + len];
    EthernetRepr::new(PEER_MAC, MAC, EtherType::Ipv6).emit(&mut f);
    Ipv6Repr {
        src_addr: peer6,
        dst_addr: us6,
        next_header: IpProtocol::Icmpv6,
        payload_len: len,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut f[14..]);
    req.emit(&addrs, &mut f[54..]);
    i.ingress(&f, at(0));
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    let parsed = Frame::parse(&out[0]).unwrap();
    let Some(Transport::Icmpv6(p)) = parsed.transport else {
        panic!()
    };
    let back = IpAddrPair::V6 {
        src: us6,
        dst: peer6,
    };
    assert!(matches!(
        Icmpv6Repr::parse(&p, &back).unwrap(),
        Icmpv6Repr::EchoReply {
            ident: 3,
            seq_no: 4,
            ..
        }
    ));
}

#[test]
fn ndp_solicitation_gets_an_advertisement_and_the_cache_learns() {
    let mut i = iface();
    let peer6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    let us6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    let dst = crate::wire::ipv6::solicited_node(us6);
    let ns = Icmpv6Repr::NeighborSolicit {
        target_addr: us6,
        lladdr: Some(PEER_MAC),
    };
    let len = ns.buffer_len();
    let mk = |hop: u8| {
        let mut f = vec![0u8; 54 + len];
        EthernetRepr::new(
            PEER_MAC,
            crate::wire::ipv6::multicast_mac(dst),
            EtherType::Ipv6,
        )
        .emit(&mut f);
        Ipv6Repr {
            src_addr: peer6,
            dst_addr: dst,
            next_header: IpProtocol::Icmpv6,
            payload_len: len,
            hop_limit: hop,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut f[14..]);
        ns.emit(&IpAddrPair::V6 { src: peer6, dst }, &mut f[54..]);
        f
    };
    // RFC 4861 §7.1.1: a hop limit other than 255 is dropped.
    i.ingress(&mk(64), at(0));
    assert_eq!(i.stats().drop_ndp_invalid, 1);
    i.ingress(&mk(255), at(0));
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    let parsed = Frame::parse(&out[0]).unwrap();
    assert_eq!(parsed.ethernet.dst_addr(), PEER_MAC);
    let Some(Transport::Icmpv6(p)) = parsed.transport else {
        panic!()
    };
    assert!(matches!(
        Icmpv6Repr::parse(&p, &IpAddrPair::V6 { src: us6, dst: peer6 }).unwrap(),
        Icmpv6Repr::NeighborAdvert { solicited: true, target_addr, lladdr: Some(MAC), .. } if target_addr == us6
    ));
    // The solicitation taught us the peer: sending to it needs no NS.
    let u = i.udp_bind(SocketAddr::new(us6.into(), 0)).unwrap();
    i.udp_send_to(u, SocketAddr::new(peer6.into(), 9), b"x")
        .unwrap();
    let out = drain(&mut i, at(1));
    assert!(matches!(
        Frame::parse(&out[0]).unwrap().transport,
        Some(Transport::Udp(_))
    ));
}

#[test]
fn closed_udp_port_gets_port_unreachable_and_closed_tcp_port_a_reset() {
    let mut i = iface();
    i.ingress(
        &ipv4_frame(IpProtocol::Udp, 64, &udp_body(9999, b"x")),
        at(0),
    );
    let out = drain(&mut i, at(0));
    let f = Frame::parse(&out[0]).unwrap();
    let Some(Transport::Icmpv4(p)) = f.transport else {
        panic!()
    };
    assert!(matches!(
        Icmpv4Repr::parse(&p).unwrap(),
        Icmpv4Repr::DstUnreachable {
            reason: crate::wire::icmpv4::DstUnreachable::PortUnreachable,
            ..
        }
    ));
    i.ingress(&syn_frame(81, 100), at(0));
    let out = drain(&mut i, at(0));
    let f = Frame::parse(&out[0]).unwrap();
    let Some(Transport::Tcp(t)) = f.transport else {
        panic!()
    };
    let rst = TcpRepr::parse(&t).unwrap();
    assert_eq!(rst.control, TcpControl::Rst);
    assert_eq!(rst.ack_number, Some(TcpSeqNumber(101)));
}

/// A SYN from the peer's port 4000 to our `dst_port`, in an IPv4 frame.
fn syn_frame(dst_port: u16, seq: u32) -> Vec<u8> {
    let syn = TcpRepr {
        src_port: 4000,
        dst_port,
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(seq),
        ack_number: None,
        window_len: 1000,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: None,
        payload: &[],
    };
    let mut body = vec![0u8; syn.buffer_len()];
    syn.emit(&mut body, &IpAddrPair::V4 { src: PEER, dst: US });
    ipv4_frame(IpProtocol::Tcp, 64, &body)
}

/// The one-entry listener cache forgets a released listener: its slot, reused by a UDP
/// socket, is no listener, and a SYN to the port gets a reset.
#[test]
fn a_released_listener_is_not_found_through_the_cache() {
    let mut i = iface();
    let control_of = |frame: &[u8]| {
        let f = Frame::parse(frame).unwrap();
        let Some(Transport::Tcp(t)) = f.transport else {
            panic!()
        };
        TcpRepr::parse(&t).unwrap().control
    };
    // The peer's address is known (the SYN-ACK leaves without an ARP request first).
    i.ingress(&arp(ArpOperation::Request, PEER_MAC, PEER, US), at(0));
    drain(&mut i, at(0));
    let l = i
        .tcp_listen(SocketAddr::new(US.into(), 80), vec![None; 8])
        .unwrap();
    i.ingress(&syn_frame(80, 100), at(0));
    let out = drain(&mut i, at(0));
    assert_eq!(control_of(&out[0]), TcpControl::Syn, "a SYN-ACK");
    i.tcp_release(l).unwrap();
    drain(&mut i, at(0));
    let u = i.udp_bind(SocketAddr::new(US.into(), 80)).unwrap();
    assert_eq!(u.index, l.index, "the listener's slot is reused");
    i.ingress(&syn_frame(80, 500), at(1));
    let out = drain(&mut i, at(1));
    assert_eq!(control_of(&out[0]), TcpControl::Rst);
}

#[test]
fn errors_are_rate_limited() {
    let mut i = iface();
    let f = ipv4_frame(IpProtocol::Udp, 64, &udp_body(9999, b"x"));
    for _ in 0..100 {
        i.ingress(&f, at(0));
    }
    assert_eq!(drain(&mut i, at(0)).len(), 50);
    assert_eq!(i.stats().drop_rate_limited, 50);
    // 1000/s: 10 ms later, 10 more.
    for _ in 0..100 {
        i.ingress(&f, at(10));
    }
    assert_eq!(drain(&mut i, at(10)).len(), 10);
}

#[test]
fn ttl_zero_is_dropped() {
    let mut i = iface();
    let u = i.udp_bind(SocketAddr::new(US.into(), 7)).unwrap();
    i.ingress(&ipv4_frame(IpProtocol::Udp, 0, &udp_body(7, b"x")), at(0));
    assert_eq!(i.stats().drop_ttl_zero, 1);
    let mut buf = [0u8; 8];
    assert_eq!(i.udp_recv_from(u, &mut buf).unwrap(), None);
    i.ingress(&ipv4_frame(IpProtocol::Udp, 1, &udp_body(7, b"x")), at(0));
    assert!(i.udp_recv_from(u, &mut buf).unwrap().is_some());
}

#[test]
fn fragments_reassemble_in_any_order_and_dont_fragment_refuses() {
    let mut i = iface();
    let u = i.udp_bind(SocketAddr::new(US.into(), 7)).unwrap();
    let data: Vec<u8> = (0..3000u32).map(|x| x as u8).collect();
    let body = udp_body(7, &data);
    // Three fragments, last first, the middle one overlapping the first.
    let pieces = [
        (2400usize, body.len(), false),
        (0, 1200, true),
        (800, 2400, true),
    ];
    for (start, end, more) in pieces {
        let mut f = vec![0u8; 34 + end - start];
        EthernetRepr::new(PEER_MAC, MAC, EtherType::Ipv4).emit(&mut f);
        let mut ip = Ipv4Repr::new(PEER, US, IpProtocol::Udp, end - start);
        ip.dont_frag = false;
        ip.more_frags = more;
        ip.frag_offset = start as u16;
        ip.ident = 77;
        ip.emit(&mut f[14..]);
        f[34..].copy_from_slice(&body[start..end]);
        i.ingress(&f, at(0));
    }
    let mut buf = vec![0u8; 4000];
    let (n, _) = i.udp_recv_from(u, &mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!(i.stats().frag_reassembled, 1);

    i.udp_set_dont_fragment(u, true).unwrap();
    assert_eq!(
        i.udp_send_to(u, SocketAddr::new(PEER.into(), 9), &data),
        Err(StackError::TooBig)
    );
}

#[test]
fn incomplete_datagrams_time_out() {
    let mut i = iface();
    let mut f = vec![0u8; 34 + 16];
    EthernetRepr::new(PEER_MAC, MAC, EtherType::Ipv4).emit(&mut f);
    let mut ip = Ipv4Repr::new(PEER, US, IpProtocol::Udp, 16);
    ip.dont_frag = false;
    ip.more_frags = true;
    ip.emit(&mut f[14..]);
    i.ingress(&f, at(0));
    assert_eq!(i.poll_at(), Some(at(30_000)));
    drain(&mut i, at(30_000));
    assert_eq!(i.stats().drop_frag_timeout, 1);
    assert_eq!(i.poll_at(), None);
}

#[test]
fn stale_handles_are_errors() {
    let mut i = iface();
    let u = i.udp_bind(SocketAddr::new(US.into(), 7)).unwrap();
    i.udp_close(u).unwrap();
    let v = i.udp_bind(SocketAddr::new(US.into(), 8)).unwrap();
    assert_eq!(u.index(), v.index());
    assert_eq!(i.udp_local(u), Err(StackError::InvalidHandle));
    assert_eq!(i.udp_local(v), Ok(SocketAddr::new(IpAddr::V4(US), 8)));
    assert_eq!(
        i.udp_bind(SocketAddr::new(US.into(), 8)),
        Err(StackError::AddrInUse)
    );
    assert!(i.tcp(v).is_err());
}

#[test]
fn sizes() {
    use crate::tcp::Connection;
    let slot = core::mem::size_of::<Slot<Vec<u8>, Vec<crate::tcp::SynSlot>>>();
    let conn = core::mem::size_of::<Connection<Vec<u8>>>();
    // Per connection: the slot, 2 index entries, 2 heap entries, 1 ready + 1 event entry.
    let overhead = slot + 2 * 4 + 2 * core::mem::size_of::<TimerEntry>() + 2 * 4;
    std::println!(
        "Connection<Vec<u8>> {conn} B, slot {slot} B, per-connection total {overhead} B (slot - connection = {} B)",
        slot - conn
    );
    let listener = core::mem::size_of::<crate::tcp::Listener<Vec<crate::tcp::SynSlot>>>();
    std::println!("Listener<Vec<SynSlot>> {listener} B");
    // The slot is its largest variant plus 24 bytes of bookkeeping.
    assert!(slot <= conn.max(listener) + 40);
    // The target: at most 1 KiB per established connection besides its buffers.
    assert!(overhead <= 1024, "{overhead} B per connection");
}

#[test]
fn echo_requests_wait_for_arp_and_replies_queue_for_the_caller() {
    let mut i = iface();
    i.icmp_echo_send(IpAddr::V4(PEER), 0x1234, 1, b"abcdefgh", at(0))
        .unwrap();
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1, "only the ARP request: the echo waits on it");
    assert_eq!(arp_of(&out[0]).target_protocol_addr, PEER);
    i.ingress(&arp(ArpOperation::Reply, PEER_MAC, PEER, US), at(1));
    let out = drain(&mut i, at(1));
    assert_eq!(out.len(), 1);
    let f = Frame::parse(&out[0]).unwrap();
    let Some(Transport::Icmpv4(p)) = f.transport else {
        panic!("not ICMP")
    };
    assert_eq!(
        Icmpv4Repr::parse(&p).unwrap(),
        Icmpv4Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 1,
            data: b"abcdefgh"
        }
    );
    // Resolved now: the next request leaves at once, from the control queue.
    i.icmp_echo_send(IpAddr::V4(PEER), 0x1234, 2, b"x", at(2))
        .unwrap();
    assert_eq!(drain(&mut i, at(2)).len(), 1);
    assert_eq!(i.stats().echo_requests_sent, 2);

    assert!(!i.has_echo_reply());
    let reply = Icmpv4Repr::EchoReply {
        ident: 0x1234,
        seq_no: 1,
        data: b"abcdefgh",
    };
    let mut body = vec![0u8; reply.buffer_len()];
    reply.emit(&mut body);
    i.ingress(&ipv4_frame(IpProtocol::Icmp, 61, &body), at(5));
    assert!(i.has_echo_reply());
    assert_eq!(
        i.poll_echo_reply(),
        Some(EchoReply {
            from: IpAddr::V4(PEER),
            ident: 0x1234,
            seq_no: 1,
            data_len: 8,
            ttl: 61,
            at: at(5),
        })
    );
    assert_eq!(i.poll_echo_reply(), None);
    assert_eq!(i.stats().echo_replies_received, 1);
    assert!(drain(&mut i, at(5)).is_empty(), "a reply is not answered");

    // The queue keeps the newest ECHO_QUEUE replies.
    for seq in 0..ECHO_QUEUE as u16 + 3 {
        let r = Icmpv4Repr::EchoReply {
            ident: 9,
            seq_no: seq,
            data: b"",
        };
        let mut body = vec![0u8; r.buffer_len()];
        r.emit(&mut body);
        i.ingress(&ipv4_frame(IpProtocol::Icmp, 64, &body), at(6));
    }
    assert_eq!(i.stats().drop_echo_queue_full, 3);
    let seqs: Vec<u16> = core::iter::from_fn(|| i.poll_echo_reply())
        .map(|r| r.seq_no)
        .collect();
    assert_eq!(seqs, (3..ECHO_QUEUE as u16 + 3).collect::<Vec<_>>());
}

#[test]
fn echo_requests_over_ipv6_and_their_errors() {
    let mut i = iface();
    let peer6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
    i.icmp_echo_send(IpAddr::V6(peer6), 5, 6, b"ping6", at(0))
        .unwrap();
    // A Neighbour Solicitation first; the advertisement releases the request.
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    let us6 = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
    let na = Icmpv6Repr::NeighborAdvert {
        router: false,
        solicited: true,
        override_flag: true,
        target_addr: peer6,
        lladdr: Some(PEER_MAC),
    };
    let len = na.buffer_len();
    let mut f = vec![0u8; 54 + len];
    EthernetRepr::new(PEER_MAC, MAC, EtherType::Ipv6).emit(&mut f);
    Ipv6Repr {
        src_addr: peer6,
        dst_addr: us6,
        next_header: IpProtocol::Icmpv6,
        payload_len: len,
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut f[14..]);
    na.emit(
        &IpAddrPair::V6 {
            src: peer6,
            dst: us6,
        },
        &mut f[54..],
    );
    i.ingress(&f, at(1));
    let out = drain(&mut i, at(1));
    assert_eq!(out.len(), 1);
    let f = Frame::parse(&out[0]).unwrap();
    let Some(Transport::Icmpv6(p)) = f.transport else {
        panic!("not ICMPv6")
    };
    let addrs = IpAddrPair::V6 {
        src: us6,
        dst: peer6,
    };
    assert_eq!(
        Icmpv6Repr::parse(&p, &addrs).unwrap(),
        Icmpv6Repr::EchoRequest {
            ident: 5,
            seq_no: 6,
            data: b"ping6"
        }
    );
    assert_eq!(
        i.icmp_echo_send(IpAddr::V4(PEER), 1, 1, &[0; 1473], at(2)),
        Err(StackError::TooBig)
    );
    let mut no_v4 = Interface::new(
        Config::new(MAC).with_seed(1),
        VecMemory::new(&Capacities::default()),
    );
    assert_eq!(
        no_v4.icmp_echo_send(IpAddr::V4(PEER), 1, 1, b"", at(0)),
        Err(StackError::Unaddressable)
    );
    let mut no_gw = Interface::new(
        Config::new(MAC).with_ipv4(Ipv4Cidr::new(US, 24).unwrap(), None),
        VecMemory::new(&Capacities::default()),
    );
    assert_eq!(
        no_gw.icmp_echo_send(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)), 1, 1, b"", at(0)),
        Err(StackError::NoRoute)
    );
}

/// An interface with no IPv4 address, as a DHCP client starts.
fn unconfigured() -> Interface<VecMemory> {
    Interface::new(
        Config::new(MAC).with_seed(9),
        VecMemory::new(&Capacities::default()),
    )
}

/// A UDP datagram from `src`:67 to `dst`:`dst_port`, to our MAC.
fn udp_frame(src: Ipv4Addr, dst: Ipv4Addr, dst_port: u16, data: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8; 8 + data.len()];
    UdpRepr {
        src_port: 67,
        dst_port,
    }
    .emit(&mut body, &IpAddrPair::V4 { src, dst }, data);
    let mut f = vec![0u8; 34 + body.len()];
    EthernetRepr::new(PEER_MAC, MAC, EtherType::Ipv4).emit(&mut f);
    Ipv4Repr::new(src, dst, IpProtocol::Udp, body.len()).emit(&mut f[14..]);
    f[34..].copy_from_slice(&body);
    f
}

#[test]
fn without_an_address_only_the_dhcp_client_port_is_reachable() {
    let mut i = unconfigured();
    let s = i.udp_bind("0.0.0.0:68".parse().unwrap()).unwrap();
    let offered = Ipv4Addr::new(10, 0, 0, 50);
    // An OFFER broadcast, one unicast to the offered address and our MAC, and a datagram to
    // another port.
    i.ingress(&udp_frame(PEER, Ipv4Addr::BROADCAST, 68, b"bcast"), at(0));
    i.ingress(&udp_frame(PEER, offered, 68, b"ucast"), at(0));
    i.ingress(&udp_frame(PEER, offered, 69, b"other"), at(0));
    let mut buf = [0u8; 16];
    let (n, from) = i.udp_recv_from(s, &mut buf).unwrap().unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"bcast"[..], SocketAddr::new(PEER.into(), 67))
    );
    let (n, _) = i.udp_recv_from(s, &mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], b"ucast");
    assert_eq!(i.udp_recv_from(s, &mut buf).unwrap(), None);
    assert_eq!(i.stats().drop_not_our_ip, 1);
    // Nothing answers (no port unreachable without an address).
    assert!(drain(&mut i, at(0)).is_empty());
}

#[test]
fn without_an_address_broadcasts_leave_from_0_0_0_0() {
    let mut i = unconfigured();
    let s = i.udp_bind("0.0.0.0:68".parse().unwrap()).unwrap();
    assert_eq!(
        i.udp_send_to(s, "10.0.0.2:67".parse().unwrap(), b"x"),
        Err(StackError::Unaddressable)
    );
    i.udp_send_to(s, "255.255.255.255:67".parse().unwrap(), b"discover")
        .unwrap();
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    let f = Frame::parse(&out[0]).unwrap();
    assert!(f.ethernet.dst_addr().is_broadcast());
    assert_eq!(
        f.network.unwrap().addrs(),
        Some(IpAddrPair::V4 {
            src: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::BROADCAST
        })
    );
    assert_eq!(f.payload, b"discover");
}

#[test]
fn arp_probe_goes_out_and_sees_conflicts_from_others_only() {
    let mut i = unconfigured();
    let cand = Ipv4Addr::new(10, 0, 0, 50);
    assert!(i.arp_probe(cand));
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    let p = arp_of(&out[0]);
    assert!(p.is_probe());
    assert_eq!(
        (p.source_hardware_addr, p.target_protocol_addr),
        (MAC, cand)
    );
    // Our own probe looped back, and ARP about other addresses, are no conflict.
    i.ingress(&out[0], at(1));
    i.ingress(&arp(ArpOperation::Request, PEER_MAC, PEER, GW), at(1));
    assert_eq!(i.arp_probe_conflict(), None);
    // Another host answers for the address (as Linux answers a probe).
    i.ingress(
        &arp(ArpOperation::Reply, PEER_MAC, cand, Ipv4Addr::UNSPECIFIED),
        at(2),
    );
    assert_eq!(i.arp_probe_conflict(), Some(cand));
    i.arp_probe_end();
    assert_eq!(i.arp_probe_conflict(), None);
    // Another host probing the same address is a conflict too (RFC 5227 §2.1.1).
    let mut i = unconfigured();
    assert!(i.arp_probe(cand));
    i.ingress(
        &arp(ArpOperation::Request, PEER_MAC, Ipv4Addr::UNSPECIFIED, cand),
        at(0),
    );
    assert_eq!(i.arp_probe_conflict(), Some(cand));
}

/// A connection's cached next hop follows the neighbour cache: a new MAC learned for the
/// peer is used at once, and an expired entry is resolved again before anything is sent.
#[test]
fn connections_follow_neighbour_changes_and_expiry() {
    let mut i = iface();
    i.tcp_connect(
        SocketAddr::new(PEER.into(), 80),
        None,
        at(0),
        vec![0; 4096],
        vec![0; 4096],
    )
    .unwrap();
    let out = drain(&mut i, at(0));
    assert_eq!(arp_of(&out[0]).target_protocol_addr, PEER);
    i.ingress(&arp(ArpOperation::Reply, PEER_MAC, PEER, US), at(0));
    let out = drain(&mut i, at(0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][..6], PEER_MAC.0, "the SYN goes to the resolved MAC");
    // Its retransmission (initial RTO 1 s) too, now from the connection's cached next hop.
    let out = drain(&mut i, at(1_500));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][..6], PEER_MAC.0);
    // The peer moves to another MAC (a request for our address says so).
    let moved = EthernetAddress([2, 0, 0, 0, 0, 9]);
    i.ingress(&arp(ArpOperation::Request, moved, PEER, US), at(2_000));
    let out = drain(&mut i, at(2_000));
    assert_eq!(out.len(), 1, "the ARP reply");
    let out = drain(&mut i, at(3_500));
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0][..6],
        moved.0,
        "the next retransmission follows the new MAC"
    );
    // Past the entry's reachable time (60 s) the next retransmission waits on a new
    // resolution.
    let out = drain(&mut i, at(70_000));
    assert_eq!(out.len(), 1, "only the ARP request: the SYN waits on it");
    let req = arp_of(&out[0]);
    assert_eq!(req.operation, ArpOperation::Request);
    assert_eq!(req.target_protocol_addr, PEER);
}

/// A buffer provider that refuses while `refuse` is set.
struct Refuser {
    refuse: bool,
}

impl TcpBuffers<Vec<u8>> for Refuser {
    fn take(&mut self, _local: SocketAddr) -> Option<(Vec<u8>, Vec<u8>)> {
        (!self.refuse).then(|| (vec![0; 4096], vec![0; 4096]))
    }
}

struct RefusingMemory {
    inner: VecMemory,
    buffers: Refuser,
}

impl Memory for RefusingMemory {
    type Buffer = Vec<u8>;
    type Backlog = Vec<crate::tcp::SynSlot>;
    fn parts(&mut self) -> Parts<'_, Vec<u8>, Vec<crate::tcp::SynSlot>> {
        let mut p = self.inner.parts();
        p.buffers = &mut self.buffers;
        p
    }
}

/// The peer's SYN, then its ACK of our SYN-ACK: the frames sent after the ACK.
fn handshake_from(i: &mut Interface<RefusingMemory>, port: u16, now: Instant) -> Vec<Vec<u8>> {
    let seg = |control, seq, ack| TcpRepr {
        src_port: port,
        dst_port: 80,
        control,
        seq_number: TcpSeqNumber(seq),
        ack_number: ack,
        window_len: 1000,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: None,
        payload: &[],
    };
    let frame = |s: TcpRepr<'_>| {
        let mut body = vec![0u8; s.buffer_len()];
        s.emit(&mut body, &IpAddrPair::V4 { src: PEER, dst: US });
        ipv4_frame(IpProtocol::Tcp, 64, &body)
    };
    i.ingress(&frame(seg(TcpControl::Syn, 100, None)), now);
    let out = drain(i, now);
    let f = Frame::parse(&out[0]).unwrap();
    let Some(Transport::Tcp(t)) = f.transport else {
        panic!("a SYN-ACK")
    };
    let syn_ack = TcpRepr::parse(&t).unwrap();
    assert_eq!(syn_ack.control, TcpControl::Syn);
    let ack = Some(syn_ack.seq_number + 1);
    i.ingress(&frame(seg(TcpControl::None, 101, ack)), now);
    drain(i, now)
}

/// A listener whose buffer provider refuses resets the completed handshake and gives its
/// slot and index entry back; once the provider has buffers again connections are accepted.
#[test]
fn a_refusing_buffer_provider_resets_the_connection_and_frees_its_slot() {
    let cfg = Config::new(MAC)
        .with_ipv4(Ipv4Cidr::new(US, 24).unwrap(), Some(GW))
        .with_seed(7);
    let mem = RefusingMemory {
        inner: VecMemory::new(&Capacities::default()),
        buffers: Refuser { refuse: true },
    };
    let mut i = Interface::new(cfg, mem);
    i.ingress(&arp(ArpOperation::Reply, PEER_MAC, PEER, US), at(0));
    let l = i
        .tcp_listen(SocketAddr::new(US.into(), 80), vec![None; 8])
        .unwrap();
    let (index, _) = i.table_sizes();
    let out = handshake_from(&mut i, 4000, at(0));
    let f = Frame::parse(&out[0]).unwrap();
    let Some(Transport::Tcp(t)) = f.transport else {
        panic!("a reset")
    };
    assert_eq!(TcpRepr::parse(&t).unwrap().control, TcpControl::Rst);
    assert_eq!(i.stats().drop_tcp_accept_full, 1);
    assert_eq!(i.table_sizes().0, index, "the index entry was given back");
    assert_eq!(i.sockets_in_use(), 1, "only the listener");
    assert_eq!(i.tcp_accept(l), Ok(None));
    i.mem.buffers.refuse = false;
    handshake_from(&mut i, 4001, at(10));
    let s = i.tcp_accept(l).unwrap().expect("accepted");
    assert_eq!(i.tcp_state(s), Ok(crate::tcp::State::Established));
    assert_eq!(i.sockets_in_use(), 2);
}
