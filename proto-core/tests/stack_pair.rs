//! Two `Interface`s over an in-memory pipe: ARP, ping, UDP echo, TCP echo over IPv4 and
//! IPv6, a 64 KiB UDP datagram fragmented and reassembled, and 10,000 concurrent TCP
//! connections.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use common::pair::{A_IP, A_IP6, A_MAC, B_IP, B_IP6, B_MAC, Pair, check};
use proto_core::stack::{Capacities, Events, SocketHandle};
use proto_core::tcp::{RecvError, State};
use proto_core::time::Duration;
use proto_core::wire::{
    EtherType, EthernetRepr, Frame, Icmpv4Repr, IpProtocol, Ipv4Repr, Transport,
};

fn small() -> Capacities {
    Capacities {
        sockets: 16,
        udp_queue: 150 * 1024,
        tcp_buffer: 8 * 1024,
        ..Capacities::default()
    }
}

#[test]
fn arp_resolves_and_udp_echoes() {
    let mut p = Pair::new(&small());
    let server = p.b.udp_bind(SocketAddr::new(B_IP.into(), 7)).unwrap();
    let client = p.a.udp_bind(SocketAddr::new(A_IP.into(), 0)).unwrap();
    p.a.udp_send_to(client, SocketAddr::new(B_IP.into(), 7), b"hello")
        .unwrap();
    p.pump();
    assert_eq!(p.a.stats().arp_requests_sent, 1);
    assert_eq!(p.b.stats().arp_replies_sent, 1);
    let mut buf = [0u8; 64];
    let (n, from) = p.b.udp_recv_from(server, &mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert_eq!(from, p.a.udp_local(client).unwrap());
    p.b.udp_send_to(server, from, &buf[..n]).unwrap();
    p.pump();
    // B learned A from A's request: no second ARP exchange.
    assert_eq!(p.b.stats().arp_requests_sent, 0);
    let (n, _) = p.a.udp_recv_from(client, &mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert!(matches!(
        p.b.poll_events(),
        Some((h, ev)) if h == server && ev.contains(Events::READABLE)
    ));
}

#[test]
fn ping_gets_an_echo_reply() {
    let mut p = Pair::new(&small());
    let data = b"abcdefgh";
    let icmp = Icmpv4Repr::EchoRequest {
        ident: 9,
        seq_no: 1,
        data,
    };
    let mut frame = vec![0u8; 14 + 20 + icmp.buffer_len()];
    EthernetRepr::new(A_MAC, B_MAC, EtherType::Ipv4).emit(&mut frame);
    Ipv4Repr::new(A_IP, B_IP, IpProtocol::Icmp, icmp.buffer_len()).emit(&mut frame[14..]);
    icmp.emit(&mut frame[34..]);
    p.b.ingress(&frame, p.now);
    let mut out = [0u8; 1514];
    let n = p.b.egress(&mut out, p.now);
    check(&out[..n]);
    let f = Frame::parse(&out[..n]).unwrap();
    let Some(Transport::Icmpv4(reply)) = f.transport else {
        panic!("not ICMP")
    };
    assert_eq!(
        Icmpv4Repr::parse(&reply).unwrap(),
        Icmpv4Repr::EchoReply {
            ident: 9,
            seq_no: 1,
            data
        }
    );
    assert_eq!(f.ethernet.dst_addr(), A_MAC);
    assert_eq!(p.b.stats().echo_replies, 1);
}

#[test]
fn udp_64k_datagram_is_fragmented_and_reassembled() {
    let mut p = Pair::new(&small());
    let server = p.b.udp_bind(SocketAddr::new(B_IP.into(), 9)).unwrap();
    let client = p.a.udp_bind(SocketAddr::new(A_IP.into(), 0)).unwrap();
    // Resolve first: the pending queue is smaller than 45 fragments.
    p.a.udp_send_to(client, SocketAddr::new(B_IP.into(), 9), b"warm")
        .unwrap();
    p.pump();
    let mut buf = vec![0u8; 70_000];
    assert!(p.b.udp_recv_from(server, &mut buf).unwrap().is_some());
    let big: Vec<u8> = (0..65_507u32).map(|i| (i * 7 + i / 251) as u8).collect();
    p.a.udp_send_to(client, SocketAddr::new(B_IP.into(), 9), &big)
        .unwrap();
    p.pump();
    let (n, _) = p.b.udp_recv_from(server, &mut buf).unwrap().unwrap();
    assert_eq!(n, big.len());
    assert!(buf[..n] == big[..]);
    assert_eq!(p.a.stats().frag_sent, 45);
    assert_eq!(p.b.stats().frag_reassembled, 1);
}

/// TCP echo of `size` bytes from A (client) to B (server) and back, over `v6` or not.
fn tcp_echo(v6: bool, size: usize) {
    tcp_echo_with(v6, size, false);
}

/// `tso`: both sides hand over TCP frames of up to 64 KiB, which the pipe cuts.
fn tcp_echo_with(v6: bool, size: usize, tso: bool) {
    let caps = Capacities {
        tcp_buffer: if tso { 256 * 1024 } else { 8 * 1024 },
        ..small()
    };
    let (mut ca, mut cb) = (
        common::pair::config(A_MAC, A_IP, A_IP6, 1),
        common::pair::config(B_MAC, B_IP, B_IP6, 2),
    );
    if tso {
        ca = ca.with_tso(65_535);
        cb = cb.with_tso(65_535);
    }
    let mut p = Pair::with_configs(ca, cb, &caps);
    let (a_ip, b_ip): (IpAddr, IpAddr) = if v6 {
        (A_IP6.into(), B_IP6.into())
    } else {
        (A_IP.into(), B_IP.into())
    };
    let l =
        p.b.tcp_listen(SocketAddr::new(b_ip, 80), vec![None; 8])
            .unwrap();
    let c =
        p.a.tcp_connect(
            SocketAddr::new(b_ip, 80),
            None,
            p.now,
            vec![0; caps.tcp_buffer],
            vec![0; caps.tcp_buffer],
        )
        .unwrap();
    let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut sent = 0;
    let mut echoed = Vec::new();
    let mut server = None;
    for round in 0..10_000 {
        if tso && round == 20 {
            // Both forget their neighbours mid-transfer: frames to cut must not wait on a
            // resolution (they are dropped and resent as single segments).
            p.a.flush_neighbors();
            p.b.flush_neighbors();
        }
        p.pump();
        if server.is_none() {
            server = p.b.tcp_accept(l).unwrap();
        }
        if let Some(s) = server {
            let mut buf = [0u8; 4096];
            if let Ok(n) = p.b.tcp(s).unwrap().recv(&mut buf) {
                let mut off = 0;
                while off < n {
                    off += p.b.tcp(s).unwrap().send(&buf[off..n]).unwrap();
                }
            }
        }
        if p.a.tcp_state(c).unwrap() == State::Established && sent < size {
            sent += p.a.tcp(c).unwrap().send(&data[sent..]).unwrap();
        }
        let mut buf = [0u8; 4096];
        if let Ok(n) = p.a.tcp(c).unwrap().recv(&mut buf) {
            echoed.extend_from_slice(&buf[..n]);
        }
        if echoed.len() == size {
            break;
        }
        if p.pump() == 0 {
            p.advance();
        }
    }
    assert!(echoed == data, "echoed {} of {size}", echoed.len());
    if tso {
        assert!(
            p.segmented.0 > 0 && p.segmented.1 > 2 * p.segmented.0,
            "frames cut: {:?}",
            p.segmented
        );
    } else {
        assert_eq!(p.segmented, (0, 0));
    }
    let _ = a_ip;
    if v6 {
        assert!(p.a.stats().ns_sent >= 1);
        assert!(p.b.stats().na_sent >= 1);
    }
}

#[test]
fn tcp_echo_with_segmentation_offload_v4_and_v6() {
    tcp_echo_with(false, 2_000_000, true);
    tcp_echo_with(true, 2_000_000, true);
}

#[test]
fn tcp_echo_v4() {
    tcp_echo(false, 100_000);
}

#[test]
fn tcp_echo_v6() {
    tcp_echo(true, 100_000);
}

#[derive(Default)]
struct Client {
    sent: bool,
    got: usize,
    done: bool,
}

/// 10,000 connections between two stacks, each echoing 1 KiB; every one completes, and the
/// socket tables and timer heaps are empty after close and TIME-WAIT.
#[test]
fn ten_thousand_connections_echo_and_leave_nothing_behind() {
    const N: usize = 10_000;
    const SIZE: usize = 1024;
    let caps = Capacities {
        sockets: N + 8,
        udp_sockets: 1,
        udp_queue: 1024,
        tcp_buffer: 2048,
        neighbors: 4,
        control_queue: 256 * 1024,
        ..Capacities::default()
    };
    let mut p = Pair::new(&caps);
    let l =
        p.b.tcp_listen(SocketAddr::new(B_IP.into(), 80), vec![None; 256])
            .unwrap();
    let mut clients: HashMap<SocketHandle, Client> = HashMap::new();
    let mut opened = 0;
    let open_wave =
        |p: &mut Pair, clients: &mut HashMap<SocketHandle, Client>, opened: &mut usize| {
            // Waves of 500 SYNs, so that the listener's backlog is not what is measured here.
            let wave = (N - *opened).min(500);
            for _ in 0..wave {
                let h =
                    p.a.tcp_connect(
                        SocketAddr::new(B_IP.into(), 80),
                        None,
                        p.now,
                        vec![0; 2048],
                        vec![0; 2048],
                    )
                    .unwrap();
                clients.insert(h, Client::default());
            }
            *opened += wave;
        };
    let mut all_open = false;
    let payload: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let mut done = 0;
    let mut servers_closed = 0;
    let mut buf = vec![0u8; 4096];
    for _round in 0..100_000 {
        if opened < N && p.b.sockets_in_use() + 1 >= opened {
            open_wave(&mut p, &mut clients, &mut opened);
        }
        let moved = p.pump();
        let mut events = 0;
        // Server side: accept, echo, close on EOF.
        while let Some((h, ev)) = p.b.poll_events() {
            events += 1;
            if h == l {
                while let Some(s) = p.b.tcp_accept(l).unwrap() {
                    echo(&mut p, s, &mut buf, &mut servers_closed);
                }
                continue;
            }
            if ev.contains(Events::READABLE) || ev.contains(Events::CLOSED) {
                echo(&mut p, h, &mut buf, &mut servers_closed);
            }
        }
        while let Some((h, ev)) = p.a.poll_events() {
            events += 1;
            let Some(cl) = clients.get_mut(&h) else {
                continue;
            };
            if cl.done {
                continue;
            }
            if !cl.sent && (ev.contains(Events::CONNECTED) || ev.contains(Events::WRITABLE)) {
                let conn = p.a.tcp(h).unwrap();
                if conn.state() == State::Established {
                    assert_eq!(conn.send(&payload).unwrap(), SIZE);
                    cl.sent = true;
                }
            }
            if ev.contains(Events::READABLE) {
                while let Ok(n) = p.a.tcp(h).unwrap().recv(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    assert!(buf[..n] == payload[cl.got..cl.got + n]);
                    cl.got += n;
                }
                if cl.got == SIZE {
                    cl.done = true;
                    done += 1;
                }
            }
        }
        if done == N && !all_open {
            // Every connection is established and echoed at once: now close them all.
            all_open = true;
            assert_eq!(p.a.sockets_in_use(), N);
            assert_eq!(p.b.sockets_in_use(), N + 1);
            for h in clients.keys() {
                p.a.tcp_release(*h).unwrap();
            }
            continue;
        }
        if moved == 0 && events == 0 && !p.advance() {
            break;
        }
        if done == N
            && servers_closed == N
            && p.a.sockets_in_use() == 0
            && p.b.sockets_in_use() == 1
        {
            break;
        }
    }
    eprintln!(
        "poll_at a {:?} b {:?} tables a {:?} b {:?} now {}",
        p.a.poll_at(),
        p.b.poll_at(),
        p.a.table_sizes(),
        p.b.table_sizes(),
        p.now
    );
    for (h, cl) in &clients {
        if !cl.done {
            eprintln!(
                "{h:?} sent {} got {} {:?}",
                cl.sent,
                cl.got,
                p.a.tcp(*h).map(|c| format!("{c:?}"))
            );
        }
    }
    assert_eq!(
        done,
        N,
        "clients done; a {:?} b {:?} now {}",
        p.a.stats(),
        p.b.stats(),
        p.now
    );
    assert_eq!(servers_closed, N, "servers closed");
    // TIME-WAIT: let the clock run out every 2 MSL.
    let end = p.now + Duration::from_secs(300);
    while p.a.sockets_in_use() > 0 || p.b.sockets_in_use() > 1 {
        p.pump();
        if !p.advance() || p.now > end {
            break;
        }
    }
    assert_eq!(p.a.sockets_in_use(), 0, "client sockets left");
    assert_eq!(
        p.b.sockets_in_use(),
        1,
        "server sockets left (the listener)"
    );
    p.b.tcp_release(l).unwrap();
    p.pump();
    // Drain stale timer entries.
    while p.advance() {
        p.pump();
        if p.now > end + Duration::from_secs(600) {
            break;
        }
    }
    assert_eq!(p.a.table_sizes(), (0, 0));
    assert_eq!(p.b.table_sizes().0, 0);
    assert_eq!(p.b.table_sizes().1, 0);
}

fn echo(p: &mut Pair, s: SocketHandle, buf: &mut [u8], closed: &mut usize) {
    let Ok(conn) = p.b.tcp(s) else {
        return;
    };
    loop {
        match conn.recv(buf) {
            Ok(0) => return,
            Ok(n) => {
                let w = conn.send(&buf[..n]).unwrap();
                assert_eq!(w, n, "echo buffer full");
            }
            Err(RecvError::Finished) => {
                *closed += 1;
                p.b.tcp_release(s).unwrap();
                return;
            }
            Err(e) => panic!("server recv: {e}"),
        }
    }
}
