//! Opening: active, passive and simultaneous open, the SYN-SENT checks, ISNs, and the options
//! negotiated on the handshake (MSS, window scaling, timestamps).

use super::*;
use crate::tcp::ConnectionError;
use crate::tcp::{RecvError, SendError};

// RFC 9293 §3.7.1, RFC 7323 §2.2-2.3 and §3.2, RFC 2018 §2: the SYN of an active open offers
// MSS, a window scale chosen from the receive buffer, SACK-permitted and timestamps; its
// window field is not scaled.
#[test]
fn active_open_syn_offers_mss_wscale_sack_ts() {
    let s = Setup {
        rx: 256 * 1024,
        ..Setup::default()
    };
    let mut conn = connect(&s);
    assert_eq!(conn.state(), State::SynSent);
    let syn = out1(&mut conn, at(0));
    assert!(syn.is_syn());
    assert_eq!(syn.ack, None);
    assert!(syn.payload.is_empty());
    assert_eq!(syn.mss, Some(1460));
    // 256 KiB >> 3 = 32 KiB is the first shift that fits in 16 bits.
    assert_eq!(syn.wscale, Some(3));
    assert!(syn.sack_perm);
    let (_, tsecr) = syn.ts.expect("timestamps offered");
    assert_eq!(tsecr, 0);
    // RFC 7323 §2.2: the SYN's window is the buffer, unscaled, capped at 65535.
    assert_eq!(syn.window, 65_535);
    // Nothing else until the timer.
    assert!(out(&mut conn, at(1)).is_empty());
}

// RFC 9293 §3.7.1: the MSS we announce is the configured one.
#[test]
fn syn_mss_option_comes_from_config() {
    let s = Setup::with_cfg(Config {
        mss: 1200,
        ..Config::default()
    });
    let syn = out1(&mut connect(&s), at(0));
    assert_eq!(syn.mss, Some(1200));
}

// RFC 9293 §3.10.7.3 (fourth, SYN bit): a SYN-ACK acknowledging our SYN takes SYN-SENT to
// ESTABLISHED, and we acknowledge its SYN.
#[test]
fn syn_sent_syn_ack_establishes_and_acks() {
    let s = Setup::default();
    let mut conn = connect(&s);
    let syn = out1(&mut conn, at(0));
    let mut peer = Peer::new(s.peer);
    peer.ack = syn.seq + 1;
    peer.saw(core::slice::from_ref(&syn));
    feed(&mut conn, at(5), &peer.syn_ack());
    assert_eq!(conn.state(), State::Established);
    let ack = out1(&mut conn, at(5));
    assert!(ack.is_pure_ack());
    assert_eq!(ack.seq, syn.seq + 1);
    assert_eq!(ack.ack, Some(PEER_ISS + 1));
    // RFC 7323 §3.2: the ACK echoes the SYN-ACK's TSval.
    assert_eq!(ack.ts.unwrap().1, peer.tsval.unwrap());
    // No retransmission of the SYN is pending any more.
    assert_eq!(conn.poll_at(), None);
}

// RFC 9293 §3.10.7.2 and §3.10.7.4: LISTEN -> (SYN) SYN-RECEIVED -> (ACK) ESTABLISHED, the
// SYN-ACK offering only the options the peer's SYN offered.
#[test]
fn passive_open_listen_syn_received_established() {
    let cfg = Config::default();
    let mut conn: Conn =
        Connection::listen(&cfg, tuple().local, at(0), vec![0; 65_536], vec![0; 65_536]);
    assert_eq!(conn.state(), State::Listen);
    assert!(out(&mut conn, at(0)).is_empty());
    let mut peer = Peer::new(PeerOpts {
        sack: false,
        wscale: None,
        ..PeerOpts::default()
    });
    feed(&mut conn, at(1), &peer.syn());
    assert_eq!(conn.state(), State::SynReceived);
    assert_eq!(conn.tuple(), tuple());
    let syn_ack = out1(&mut conn, at(1));
    assert!(syn_ack.is_syn());
    assert_eq!(syn_ack.ack, Some(PEER_ISS + 1));
    assert_eq!(syn_ack.mss, Some(1460));
    assert!(!syn_ack.sack_perm, "SACK not offered by the peer");
    assert_eq!(syn_ack.wscale, None, "window scale not offered by the peer");
    assert_eq!(syn_ack.ts.unwrap().1, peer.tsval.unwrap());
    peer.seq += 1;
    peer.ack = syn_ack.seq + 1;
    peer.saw(&[syn_ack]);
    feed(&mut conn, at(2), &peer.ack());
    assert_eq!(conn.state(), State::Established);
    // Data flows both ways.
    feed(&mut conn, at(3), &peer.data(b"hello"));
    assert_eq!(read_all(&mut conn), b"hello");
    let segs = send_data(&mut conn, at(3), 0, 100);
    assert_eq!(segs[0].seq, peer.ack);
    assert_eq!(segs[0].payload, pattern(0, 100));
}

// RFC 9293 §3.5 figure 7: simultaneous open. SYN-SENT + SYN -> SYN-RECEIVED, our SYN-ACK
// (same ISN), then the peer's SYN-ACK acknowledges our SYN -> ESTABLISHED.
#[test]
fn simultaneous_open_reaches_established() {
    let s = Setup::default();
    let mut conn = connect(&s);
    let syn = out1(&mut conn, at(0));
    let mut peer = Peer::new(s.peer);
    feed(&mut conn, at(1), &peer.syn());
    assert_eq!(conn.state(), State::SynReceived);
    let syn_ack = out1(&mut conn, at(1));
    assert!(syn_ack.is_syn());
    assert_eq!(syn_ack.seq, syn.seq, "the SYN-ACK repeats our ISN");
    assert_eq!(syn_ack.ack, Some(PEER_ISS + 1));
    // The peer, also in SYN-RECEIVED, sends its SYN-ACK (figure 7, line 6).
    peer.ack = syn.seq + 1;
    peer.saw(&[syn_ack]);
    feed(&mut conn, at(2), &peer.syn_ack());
    assert_eq!(conn.state(), State::Established);
    peer.seq += 1;
    // And data flows.
    let segs = send_data(&mut conn, at(3), 0, 10);
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].seq, syn.seq + 1);
    assert_eq!(segs[0].ack, Some(PEER_ISS + 1));
    feed(&mut conn, at(4), &peer.data(b"abc"));
    assert_eq!(read_all(&mut conn), b"abc");
}

// RFC 9293 §3.5 figure 7 between two of our ends: both SYNs cross, both SYN-ACKs cross, and
// both reach ESTABLISHED with no timer involved.
#[test]
fn simultaneous_open_between_two_of_our_ends() {
    let cfg = Config::default();
    let mut a: Conn = Connection::connect(&cfg, tuple(), at(0), vec![0; 8192], vec![0; 8192]);
    let mut b: Conn = Connection::connect(
        &cfg,
        tuple().reversed(),
        at(0),
        vec![0; 8192],
        vec![0; 8192],
    );
    let to_a = from_peer();
    let to_b = IpAddrPair::V4 {
        src: our_ip(),
        dst: peer_ip(),
    };
    let mut buf_a = [0u8; 1480];
    let mut buf_b = [0u8; 1480];
    for round in 0..3 {
        let na = a.poll_transmit(at(round), &mut buf_a);
        let nb = b.poll_transmit(at(round), &mut buf_b);
        if let Some(n) = na {
            let p = TcpPacket::new_checked(&buf_a[..n]).unwrap();
            b.handle_segment(at(round), &to_b, &TcpRepr::parse(&p).unwrap());
        }
        if let Some(n) = nb {
            let p = TcpPacket::new_checked(&buf_b[..n]).unwrap();
            a.handle_segment(at(round), &to_a, &TcpRepr::parse(&p).unwrap());
        }
        if round == 0 {
            assert_eq!(
                (a.state(), b.state()),
                (State::SynReceived, State::SynReceived)
            );
        }
    }
    assert_eq!(
        (a.state(), b.state()),
        (State::Established, State::Established)
    );
}

// RFC 9293 §3.10.7.3 (second, RST bit): a reset whose ACK acknowledges our SYN refuses the
// connection; a reset without an ACK is ignored.
#[test]
fn syn_sent_rst_with_acceptable_ack_refused() {
    let s = Setup::default();
    let mut conn = connect(&s);
    let syn = out1(&mut conn, at(0));
    let peer = Peer::new(s.peer);
    feed(&mut conn, at(1), &peer.rst(TcpSeqNumber(0)));
    assert_eq!(conn.state(), State::SynSent, "RST without ACK is dropped");
    let rst_ack = TcpRepr {
        ack_number: Some(syn.seq + 1),
        ..peer.rst(TcpSeqNumber(0))
    };
    feed(&mut conn, at(2), &rst_ack);
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), Some(ConnectionError::Refused));
    assert_eq!(
        conn.send(b"x"),
        Err(SendError::Failed(ConnectionError::Refused))
    );
    assert_eq!(
        conn.recv(&mut [0; 4]),
        Err(RecvError::Failed(ConnectionError::Refused))
    );
    assert!(out(&mut conn, at(3)).is_empty());
    assert_eq!(conn.poll_at(), None);
}

// RFC 9293 §3.10.7.3 (first, ACK bit): an ACK outside (ISS, SND.NXT] gets
// `<SEQ=SEG.ACK><CTL=RST>` and is otherwise dropped; a reset with a bad ACK is ignored.
#[test]
fn syn_sent_bad_ack_answered_with_rst() {
    let s = Setup::default();
    let mut conn = connect(&s);
    let syn = out1(&mut conn, at(0));
    let mut peer = Peer::new(s.peer);
    for bad in [syn.seq, syn.seq + 2, syn.seq - 1000] {
        peer.ack = bad;
        feed(&mut conn, at(1), &peer.syn_ack());
        assert_eq!(conn.state(), State::SynSent);
        let rst = out1(&mut conn, at(1));
        assert!(rst.is_rst());
        assert_eq!(rst.seq, bad);
        assert_eq!(rst.ack, None);
    }
    // A RST with a bad ACK: no answer, no state change.
    let rst = TcpRepr {
        ack_number: Some(syn.seq + 5),
        ..peer.rst(TcpSeqNumber(0))
    };
    feed(&mut conn, at(2), &rst);
    assert_eq!(conn.state(), State::SynSent);
    assert!(out(&mut conn, at(2)).is_empty());
    // The handshake can still complete.
    peer.ack = syn.seq + 1;
    feed(&mut conn, at(3), &peer.syn_ack());
    assert_eq!(conn.state(), State::Established);
}

// RFC 6528 §3: ISN = M + F(4-tuple, secret), M a 4-µs clock: it differs per tuple and
// advances with time.
#[test]
fn isn_differs_per_tuple_and_advances_with_time() {
    let cfg = Config {
        secret: [7; 16],
        ..Config::default()
    };
    let isn = |t: FourTuple, now: Instant| {
        let mut conn: Conn = Connection::connect(&cfg, t, now, vec![0; 1024], vec![0; 1024]);
        out1(&mut conn, now).seq
    };
    let t1 = tuple();
    let mut t2 = tuple();
    t2.remote.set_port(PEER_PORT + 1);
    let a = isn(t1, at(0));
    let b = isn(t2, at(0));
    assert_ne!(a, b, "the hash of the tuple differs");
    let later = isn(t1, at(1000));
    assert_eq!(later - a, 250_000, "one second of a 4-µs clock");
    let other_secret = Config {
        secret: [8; 16],
        ..cfg.clone()
    };
    let mut conn: Conn =
        Connection::connect(&other_secret, t1, at(0), vec![0; 1024], vec![0; 1024]);
    assert_ne!(out1(&mut conn, at(0)).seq, a, "the secret is part of F");
}

// RFC 9293 §3.7.1: segments never carry more than the peer's MSS (less the options every
// segment repeats, RFC 6691 §2).
#[test]
fn peer_mss_clamps_our_segments() {
    let s = Setup {
        peer: PeerOpts {
            mss: Some(536),
            ..PeerOpts::default()
        },
        ..Setup::default()
    };
    let (mut conn, _peer) = open(s);
    assert_eq!(conn.send_mss(), 536);
    let segs = send_data(&mut conn, at(20), 0, 5000);
    assert!(segs.len() >= 9, "{segs:?}");
    for seg in &segs {
        let options = seg.wire_len - seg.payload.len() - 20;
        assert!(
            seg.payload.len() + options <= 536,
            "{} + {options} > 536",
            seg.payload.len()
        );
    }
    assert_eq!(segs[0].payload.len(), 536 - 12);
}

// RFC 9293 §3.7.1: with no MSS option, an IPv4 peer is assumed to take 536 bytes.
#[test]
fn default_mss_536_without_option() {
    let mut s = Setup::plain();
    s.peer.mss = None;
    let (mut conn, _peer) = open(s);
    assert_eq!(conn.send_mss(), 536);
    let segs = send_data(&mut conn, at(20), 0, 3000);
    assert!(segs.iter().all(|s| s.payload.len() <= 536));
    assert_eq!(segs[0].payload.len(), 536);
}

// RFC 7323 §2.2-2.3: both SYNs carry Window Scale, so both shifts apply to every later
// window field (ours from the buffer, the peer's from its option).
#[test]
fn window_scale_negotiated_when_both_offer() {
    let s = Setup {
        rx: 256 * 1024,
        peer: PeerOpts {
            wscale: Some(2),
            ..PeerOpts::default()
        },
        ..Setup::default()
    };
    let (mut conn, mut peer) = open(s);
    // Our ACK of the SYN-ACK already uses our shift 3: 256 KiB >> 3.
    feed(&mut conn, at(20), &peer.data(b"x"));
    let ack = out(&mut conn, at(100)).pop().unwrap();
    assert_eq!(ack.window, ((256 * 1024 - 1) >> 3) as u16);
    // The peer's window field 1086 means 1086 << 2 = 4344 bytes = 3 segments of 1448.
    peer.window = 1086;
    feed(&mut conn, at(110), &peer.ack());
    let segs = send_data(&mut conn, at(110), 0, 20_000);
    let sent: usize = segs.iter().map(|s| s.payload.len()).sum();
    assert_eq!(sent, 4344);
}

// RFC 7323 §2.2: when only one SYN carries Window Scale, neither side scales (shift 0).
#[test]
fn window_scale_not_negotiated_when_only_one_side_offers() {
    // We offer (shift 3), the peer does not.
    let s = Setup {
        rx: 256 * 1024,
        peer: PeerOpts {
            wscale: None,
            ..PeerOpts::default()
        },
        ..Setup::default()
    };
    let (mut conn, mut peer) = open(s);
    feed(&mut conn, at(20), &peer.data(b"x"));
    let ack = out(&mut conn, at(100)).pop().unwrap();
    assert_eq!(ack.window, 65_535, "our window unscaled, capped");
    peer.window = 4344;
    feed(&mut conn, at(110), &peer.ack());
    let sent: usize = send_data(&mut conn, at(110), 0, 20_000)
        .iter()
        .map(|s| s.payload.len())
        .sum();
    assert_eq!(sent, 4344, "the peer's window is unscaled");

    // The peer offers (shift 2), we do not.
    let mut s = Setup {
        rx: 256 * 1024,
        peer: PeerOpts {
            wscale: Some(2),
            ..PeerOpts::default()
        },
        ..Setup::default()
    };
    s.cfg.window_scaling = false;
    let mut conn = connect(&s);
    let syn = out1(&mut conn, at(0));
    assert_eq!(syn.wscale, None);
    let (mut conn, mut peer) = open(s);
    peer.window = 4344;
    feed(&mut conn, at(110), &peer.ack());
    let sent: usize = send_data(&mut conn, at(110), 0, 20_000)
        .iter()
        .map(|s| s.payload.len())
        .sum();
    assert_eq!(sent, 4344, "the peer's shift is ignored");
}

// RFC 7323 §2.2: the window field of a SYN (here the peer's SYN-ACK) is never scaled.
#[test]
fn window_in_syn_is_unscaled() {
    let s = Setup {
        peer: PeerOpts {
            wscale: Some(4),
            syn_window: 2896,
            ..PeerOpts::default()
        },
        ..Setup::default()
    };
    let (mut conn, _peer) = open(s);
    let sent: usize = send_data(&mut conn, at(20), 0, 20_000)
        .iter()
        .map(|s| s.payload.len())
        .sum();
    assert_eq!(sent, 2896, "2896 bytes, not 2896 << 4");
}

// RFC 7323 §3.2, §4.3: every segment carries TSval and echoes the peer's TSval (TS.Recent).
#[test]
fn timestamps_echo_peer_tsval() {
    let (mut conn, mut peer) = established();
    peer.tsval = Some(1_500);
    feed(&mut conn, at(20), &peer.data(&[1; 1448]));
    feed(&mut conn, at(20), &peer.data(&[2; 1448]));
    let ack = out1(&mut conn, at(20));
    assert_eq!(ack.ts.unwrap().1, 1_500);
    // TSval is our millisecond clock plus a per-connection offset.
    let ack2 = {
        feed(&mut conn, at(520), &peer.data(&[3; 10]));
        out(&mut conn, at(600)).pop().unwrap()
    };
    assert_eq!(ack2.tsval().wrapping_sub(ack.tsval()), 580);
}

// RFC 7323 §4.1 (RTTM): the RTT sample is our clock now minus the echoed TSecr.
#[test]
fn rtt_sample_from_tsecr() {
    let (mut conn, mut peer) = established();
    // The handshake measured 10 ms: SRTT 10 ms, RTTVAR 5 ms.
    assert_eq!(
        conn.rtt.srtt(),
        Some(crate::time::Duration::from_millis(10))
    );
    let segs = send_data(&mut conn, at(100), 0, 100);
    peer.saw(&segs);
    feed(&mut conn, at(400), &peer.ack_of(segs[0].end()));
    // RFC 6298 §2.3 with R = 300 ms: SRTT = 7/8 * 10 + 300 / 8 = 46.25 ms.
    assert_eq!(
        conn.rtt.srtt(),
        Some(crate::time::Duration::from_micros(46_250))
    );
    // An echo of an older TSval gives the longer sample (it is TSecr that is measured).
    let segs = send_data(&mut conn, at(500), 100, 100);
    peer.tsecr = segs[0].tsval().wrapping_sub(400);
    feed(&mut conn, at(500), &peer.ack_of(segs[0].end()));
    let srtt = conn.rtt.srtt().unwrap().micros();
    // 7/8 * 46.25 + 400 / 8 = 90.47 ms
    assert_eq!(srtt, 46_250 * 7 / 8 + 50_000);
}

// RFC 7323 §5.3 R1: a segment whose TSval is older than TS.Recent is dropped (PAWS) and
// acknowledged.
#[test]
fn paws_drops_old_tsval_and_acks() {
    let (mut conn, mut peer) = established();
    peer.tsval = Some(999);
    feed(&mut conn, at(20), &peer.data_at(peer.seq, b"old"));
    assert_eq!(conn.recv_queue(), 0);
    let ack = out1(&mut conn, at(20));
    assert!(ack.is_pure_ack());
    assert_eq!(ack.ack, Some(peer.seq));
    assert_eq!(ack.ts.unwrap().1, 1_000, "TS.Recent unchanged");
    peer.tsval = Some(1_001);
    feed(&mut conn, at(21), &peer.data(b"new"));
    assert_eq!(read_all(&mut conn), b"new");
}

// RFC 7323 §4.3 (3) case C: an out-of-order segment (SEQ > Last.ACK.sent) does not update
// TS.Recent; the dup ACK echoes the TSval of the last in-order segment.
#[test]
fn ts_recent_not_updated_by_out_of_order_segment() {
    let (mut conn, mut peer) = established();
    peer.tsval = Some(1_005);
    feed(&mut conn, at(20), &peer.data_at(peer.seq + 1000, b"later"));
    let dup = out1(&mut conn, at(20));
    assert_eq!(dup.ack, Some(peer.seq));
    assert_eq!(dup.ts.unwrap().1, 1_000);
    // The hole filled: the segment at Last.ACK.sent updates it.
    peer.tsval = Some(1_006);
    feed(&mut conn, at(21), &peer.data_at(peer.seq, &[0; 1000]));
    let ack = out1(&mut conn, at(21));
    assert_eq!(ack.ack, Some(peer.seq + 1005));
    assert_eq!(ack.ts.unwrap().1, 1_006);
}

// RFC 7323 §4.3 (3) case A: with delayed ACKs, TS.Recent takes the TSval of the earliest
// unacknowledged segment (SEG.SEQ <= Last.ACK.sent), so the echo covers the ACK delay.
#[test]
fn ts_recent_echoes_earliest_segment_of_delayed_ack() {
    let (mut conn, mut peer) = established();
    peer.tsval = Some(1_001);
    feed(&mut conn, at(20), &peer.data(&[1; 1448]));
    peer.tsval = Some(1_002);
    feed(&mut conn, at(21), &peer.data(&[2; 1448]));
    let ack = out1(&mut conn, at(21));
    assert_eq!(ack.ack, Some(peer.seq));
    assert_eq!(ack.ts.unwrap().1, 1_001);
}

// RFC 9293 §3.10.2 (SEND in SYN-SENT): data written before the handshake completes is queued
// and sent once it does.
#[test]
fn data_written_in_syn_sent_goes_after_handshake() {
    let s = Setup::default();
    let mut conn = connect(&s);
    assert_eq!(conn.send(b"early"), Ok(5));
    let syn = out1(&mut conn, at(0));
    assert!(syn.payload.is_empty(), "no data on the SYN");
    let mut peer = Peer::new(s.peer);
    peer.ack = syn.seq + 1;
    peer.saw(core::slice::from_ref(&syn));
    feed(&mut conn, at(10), &peer.syn_ack());
    let segs = out(&mut conn, at(10));
    assert_eq!(
        segs.len(),
        1,
        "the data carries the ACK of the SYN-ACK: {segs:?}"
    );
    assert_eq!(segs[0].seq, syn.seq + 1);
    assert_eq!(segs[0].payload, b"early");
    assert_eq!(segs[0].ack, Some(PEER_ISS + 1));
}
