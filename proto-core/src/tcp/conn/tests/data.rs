//! Data transfer: delayed ACKs, Nagle, receiver silly-window avoidance, out-of-order
//! reassembly, and write-then-close through a small window.

use super::*;
use crate::tcp::RecvError;
use proptest::prelude::*;

// RFC 9293 §3.8.6.3 (RFC 1122 §4.2.3.2): one segment alone is acknowledged after the ACK
// delay (40 ms), not at once.
#[test]
fn delayed_ack_single_segment_waits_40ms() {
    let (mut conn, mut peer) = established();
    feed(&mut conn, at(100), &peer.data(&[7; 100]));
    assert!(out(&mut conn, at(100)).is_empty());
    assert_eq!(conn.poll_at(), Some(at(140)));
    assert!(out(&mut conn, at(139)).is_empty());
    let ack = out1(&mut conn, at(140));
    assert_eq!(ack.ack, Some(peer.seq));
    assert_eq!(conn.poll_at(), None);
}

// RFC 9293 §3.8.6.3, RFC 5681 §4.2: an ACK at least for every second full-sized segment.
#[test]
fn delayed_ack_two_full_segments_acked_at_once() {
    let (mut conn, mut peer) = established();
    feed(&mut conn, at(100), &peer.data(&[1; 1448]));
    assert!(out(&mut conn, at(100)).is_empty(), "the first is delayed");
    feed(&mut conn, at(101), &peer.data(&[2; 1448]));
    let ack = out1(&mut conn, at(101));
    assert_eq!(ack.ack, Some(peer.seq));
    assert_eq!(conn.poll_at(), None, "the delayed-ACK timer is stopped");
}

// RFC 5681 §4.2: an out-of-order segment is acknowledged at once (a duplicate ACK), and so
// is the segment that fills the gap.
#[test]
fn out_of_order_segment_acked_at_once() {
    let (mut conn, peer) = established();
    feed(&mut conn, at(100), &peer.data_at(peer.seq + 100, &[1; 100]));
    let dup = out1(&mut conn, at(100));
    assert_eq!(dup.ack, Some(peer.seq));
    feed(&mut conn, at(101), &peer.data_at(peer.seq, &[0; 100]));
    let ack = out1(&mut conn, at(101));
    assert_eq!(ack.ack, Some(peer.seq + 200));
}

// RFC 2018 §4: the duplicate ACK for out-of-order data carries SACK blocks, the first one
// covering the most recently received segment.
#[test]
fn out_of_order_data_dup_ack_carries_sack_most_recent_first() {
    let (mut conn, peer) = established();
    let base = peer.seq;
    feed(&mut conn, at(100), &peer.data_at(base + 1000, &[1; 100]));
    let a = out1(&mut conn, at(100));
    assert_eq!(a.ack, Some(base));
    assert_eq!(a.sack, [((base + 1000).0, (base + 1100).0)]);
    feed(&mut conn, at(101), &peer.data_at(base + 3000, &[1; 100]));
    let b = out1(&mut conn, at(101));
    assert_eq!(
        b.sack,
        [
            ((base + 3000).0, (base + 3100).0),
            ((base + 1000).0, (base + 1100).0)
        ]
    );
    // Extending the older block makes it the most recent.
    feed(&mut conn, at(102), &peer.data_at(base + 1100, &[1; 100]));
    let c = out1(&mut conn, at(102));
    assert_eq!(
        c.sack,
        [
            ((base + 1000).0, (base + 1200).0),
            ((base + 3000).0, (base + 3100).0)
        ]
    );
    // Without SACK negotiated, no blocks.
    let (mut conn, peer) = open(Setup::plain());
    feed(
        &mut conn,
        at(100),
        &peer.data_at(peer.seq + 1000, &[1; 100]),
    );
    assert!(out1(&mut conn, at(100)).sack.is_empty());
}

// RFC 9293 §3.10.7.4 (seventh): out-of-order segments are held and delivered in order once
// the gaps fill; here they arrive in reverse.
#[test]
fn out_of_order_segments_in_reverse_delivered_in_order() {
    let (mut conn, peer) = established();
    let data = pattern(0, 5000);
    for i in (0..10).rev() {
        let chunk = &data[i * 500..(i + 1) * 500];
        feed(
            &mut conn,
            at(100 + (10 - i) as u64),
            &peer.data_at(peer.seq + i * 500, chunk),
        );
        let ack = out1(&mut conn, at(100 + (10 - i) as u64));
        let expected = if i == 0 { peer.seq + 5000 } else { peer.seq };
        assert_eq!(ack.ack, Some(expected), "segment {i}");
        if i > 0 {
            assert_eq!(conn.recv_queue(), 0);
        }
    }
    assert_eq!(read_all(&mut conn), data);
}

// RFC 9293 §3.10.7.4 allows dropping out-of-order data: beyond the bound on tracked gaps an
// extra segment is dropped but still acknowledged; once the sender fills in, the stream is
// intact.
#[test]
fn out_of_order_beyond_gap_bound_dropped_but_acked() {
    use crate::tcp::assembler::MAX_RANGES;
    let (mut conn, peer) = established();
    let n = MAX_RANGES + 4;
    let data = pattern(0, n * 200);
    // Every odd 100-byte piece first: each one a new gap.
    for k in 0..n {
        let off = k * 200 + 100;
        feed(
            &mut conn,
            at(100),
            &peer.data_at(peer.seq + off, &data[off..off + 100]),
        );
        let ack = out1(&mut conn, at(100));
        assert_eq!(ack.ack, Some(peer.seq), "piece {k} acknowledged");
    }
    // Then every even piece, in order: the tracked odd ones join in, the dropped ones are
    // holes the sender fills on retransmission.
    for k in 0..n {
        let off = k * 200;
        feed(
            &mut conn,
            at(200),
            &peer.data_at(peer.seq + off, &data[off..off + 100]),
        );
        let _ = out(&mut conn, at(200));
    }
    for k in MAX_RANGES..n {
        let off = k * 200 + 100;
        feed(
            &mut conn,
            at(300),
            &peer.data_at(peer.seq + off, &data[off..off + 100]),
        );
        let _ = out(&mut conn, at(300));
    }
    assert_eq!(read_all(&mut conn), data);
}

// RFC 9293 §3.7.4 (Nagle): a small write waits while data is unacknowledged; a full segment
// still goes; the ACK releases the rest.
#[test]
fn nagle_delays_small_write_while_data_unacked() {
    let (mut conn, mut peer) = established();
    let first = send_data(&mut conn, at(20), 0, 100);
    assert_eq!(first.len(), 1, "idle: a small segment goes at once");
    assert!(
        send_data(&mut conn, at(21), 100, 100).is_empty(),
        "held while 100 bytes are in flight"
    );
    let segs = send_data(&mut conn, at(22), 200, 2000);
    assert_eq!(segs.len(), 1, "a full segment goes");
    assert_eq!(segs[0].payload.len(), 1448);
    peer.saw(&segs);
    feed(&mut conn, at(30), &peer.ack_of(segs[0].end()));
    let rest = out1(&mut conn, at(30));
    assert_eq!(rest.payload, pattern(1548, 652));
}

// RFC 9293 §3.7.4: with Nagle off (TCP_NODELAY) small writes go at once.
#[test]
fn nagle_off_sends_small_writes_at_once() {
    let cfg = Config {
        nagle: false,
        ..Config::default()
    };
    let (mut conn, _peer) = open(Setup::with_cfg(cfg));
    for i in 0..5 {
        let segs = send_data(&mut conn, at(20 + i as u64), i * 10, 10);
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].payload, pattern(i * 10, 10));
    }
}

/// A connection whose 8 KiB receive buffer the peer filled (window 0 advertised).
fn full_receiver() -> (Conn, Peer) {
    let s = Setup {
        rx: 8192,
        ..Setup::default()
    };
    let (mut conn, mut peer) = open(s);
    for i in 0..8 {
        feed(&mut conn, at(100), &peer.data(&pattern(i * 1024, 1024)));
    }
    let acks = out(&mut conn, at(100));
    let last = acks.last().unwrap();
    assert_eq!(last.ack, Some(peer.seq));
    assert_eq!(last.window, 0);
    (conn, peer)
}

// RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): the right edge does not move by small
// amounts: reading a little from a zero window still advertises zero.
#[test]
fn receiver_sws_window_edge_does_not_creep() {
    let (mut conn, peer) = full_receiver();
    let mut buf = [0u8; 100];
    assert_eq!(conn.recv(&mut buf), Ok(100));
    assert!(
        out(&mut conn, at(110)).is_empty(),
        "no window update for 100 bytes"
    );
    // A zero-window probe gets an ACK that still says zero.
    feed(&mut conn, at(120), &peer.data_at(peer.seq - 1, &[]));
    let ack = out1(&mut conn, at(120));
    assert_eq!(ack.ack, Some(peer.seq));
    assert_eq!(ack.window, 0, "the edge moved by 100 bytes only");
    let mut buf = [0u8; 1000];
    assert_eq!(conn.recv(&mut buf), Ok(1000));
    feed(&mut conn, at(130), &peer.data_at(peer.seq - 1, &[]));
    assert_eq!(out1(&mut conn, at(130)).window, 0, "1100 bytes < one MSS");
}

// RFC 9293 §3.8.6.2.2: once the application has read enough (an MSS, or half the buffer), a
// window update goes out without waiting for the peer.
#[test]
fn window_update_after_app_reads_from_zero_window() {
    let (mut conn, _peer) = full_receiver();
    let mut buf = [0u8; 1500];
    assert_eq!(conn.recv(&mut buf), Ok(1500));
    let update = out1(&mut conn, at(110));
    assert!(update.is_pure_ack());
    assert_eq!(update.window, 1500);
    let mut buf = [0u8; 8192];
    assert_eq!(conn.recv(&mut buf), Ok(8192 - 1500));
    let update = out1(&mut conn, at(111));
    assert_eq!(update.window, 8192);
}

// RFC 9293 §3.10.4, §3.8.6.1: written data and then the FIN all arrive through a small
// window read slowly: every byte before the end of the stream.
#[test]
fn write_then_close_with_slow_reader_delivers_every_byte_before_fin() {
    let total = 100_000;
    let data = pattern(0, total);
    let mut pair = Pair::new(&Config::default(), 16 * 1024, 2048);
    let mut written = 0;
    let mut read = Vec::new();
    let mut finished = false;
    let mut now = at(0);
    for _ in 0..200_000 {
        if pair.a.state() == State::Established && written < total {
            written += pair.a.send(&data[written..]).unwrap();
            if written == total {
                pair.a.close();
            }
        }
        let mut buf = [0u8; 300];
        match pair.b.recv(&mut buf) {
            Ok(n) => read.extend_from_slice(&buf[..n]),
            Err(RecvError::Finished) => finished = true,
            Err(RecvError::InvalidState(State::Listen)) => {}
            Err(e) => panic!("{e}"),
        }
        pair.pump(now);
        if finished && pair.a.state() == State::FinWait2 {
            break;
        }
        now += crate::time::Duration::from_millis(1);
    }
    assert!(
        finished,
        "end of stream seen; a {:?}; b {:?}",
        pair.a, pair.b
    );
    assert_eq!(read.len(), total);
    assert!(read == data, "stream intact");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    // RFC 9293 §3.10.7.4: whatever the order and duplication of segments, the application
    // reads exactly the stream, and the cumulative ACK never goes backwards. (Segments that
    // would need more than the tracked gaps are dropped; the final in-order pass stands for
    // the sender's retransmissions.)
    #[test]
    fn reassembly_any_order_delivers_exact_stream(
        order in Just((0..24usize).collect::<std::vec::Vec<_>>()).prop_shuffle(),
        dups in proptest::collection::vec(0..24usize, 0..10),
    ) {
        let (mut conn, peer) = established();
        let data = pattern(0, 24 * 300);
        let mut last_ack = peer.seq;
        let resend: std::vec::Vec<usize> = (0..24).collect();
        for (t, &i) in order.iter().chain(dups.iter()).chain(resend.iter()).enumerate() {
            let now = at(100 + t as u64);
            feed(&mut conn, now, &peer.data_at(peer.seq + i * 300, &data[i * 300..(i + 1) * 300]));
            for seg in out(&mut conn, now) {
                let ack = seg.ack.unwrap();
                prop_assert!(ack >= last_ack);
                last_ack = ack;
            }
        }
        prop_assert_eq!(read_all(&mut conn), data);
    }
}

/// Every segment `poll_transmit_offload` produces at `now` for a link that segments (up to
/// 64 KiB per frame, 1480-byte segments on the wire), with the payload it says to cut at.
fn out_offload(conn: &mut Conn, now: Instant) -> Vec<(Seg, usize)> {
    let mut segs = Vec::new();
    let mut buf = vec![0u8; 65_515];
    for _ in 0..10_000 {
        let Some((n, cut)) = conn.poll_transmit_offload(now, &mut buf, 1480, usize::MAX) else {
            return segs;
        };
        let addrs = conn.tuple().outgoing_addrs().expect("same-family tuple");
        segs.push((parse_out(&buf[..n], &addrs), cut));
    }
    panic!("poll_transmit_offload never returned None");
}

// Segmentation offload: new data leaves as whole segments at once (the initial window of
// 10 in one frame), with the cut at the full segment's payload; bytes and sequence numbers
// are exactly those of the 10 segments it replaces.
#[test]
fn offload_sends_whole_segments_at_once() {
    let (mut conn, mut peer) = established();
    assert_eq!(
        conn.segment_payload(),
        1448,
        "1460 less the timestamp option"
    );
    assert_eq!(conn.send(&pattern(0, 60_000)), Ok(60_000));
    let segs = out_offload(&mut conn, at(20));
    assert_eq!(segs.len(), 1, "{segs:?}");
    let (seg, cut) = &segs[0];
    assert_eq!(*cut, 1448);
    assert_eq!(seg.payload, pattern(0, 10 * 1448));
    assert!(seg.wire_len > 1480, "one frame for the link to cut");
    // Acknowledging 5 segments opens room for more: sent as whole segments again.
    peer.saw(core::slice::from_ref(seg));
    feed(&mut conn, at(30), &peer.ack_of(seg.seq + 5 * 1448));
    let more = out_offload(&mut conn, at(30));
    let sent: usize = more.iter().map(|(s, _)| s.payload.len()).sum();
    assert!(sent >= 5 * 1448, "{more:?}");
    for (s, cut) in &more {
        assert_eq!(s.payload.len() % 1448, 0, "whole segments only: {s:?}");
        assert_eq!(*cut, 1448);
    }
}

// The short rest of the data waits for Nagle as it would after the whole segments without
// offload (data is outstanding then), and leaves with the FIN once the sender closes.
#[test]
fn offload_keeps_nagle_for_the_short_rest() {
    let (mut conn, _peer) = established();
    assert_eq!(conn.send(&pattern(0, 3 * 1448 + 100)), Ok(3 * 1448 + 100));
    let segs = out_offload(&mut conn, at(20));
    let lens: Vec<usize> = segs.iter().map(|(s, _)| s.payload.len()).collect();
    assert_eq!(lens, [3 * 1448], "the 100-byte rest waits: {lens:?}");
    conn.close();
    let segs = out_offload(&mut conn, at(21));
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_eq!(segs[0].0.payload, pattern(3 * 1448, 100));
    assert!(segs[0].0.is_fin());
}

// Retransmissions are never larger than one segment, offload or not.
#[test]
fn offload_retransmits_one_segment_at_a_time() {
    let (mut conn, _peer) = established();
    assert_eq!(conn.send(&pattern(0, 20_000)), Ok(20_000));
    let first = out_offload(&mut conn, at(20));
    assert!(!first.is_empty());
    // No ACK: the retransmission timer (initial RTO 1 s) resends from SND.UNA.
    let again = out_offload(&mut conn, at(20 + 1_000));
    assert!(!again.is_empty());
    assert_eq!(again[0].0.seq, first[0].0.seq);
    assert_eq!(again[0].0.payload.len(), 1448, "{again:?}");
}

// `handle_packet` (header prediction straight from the header bytes, else `TcpRepr::parse`
// and `handle_segment`) leaves the connection exactly as `TcpRepr::parse` + `handle_segment`
// does: for in-order data, and for segments with random bytes in the header, random
// headers, old timestamps, changed windows, data of ours in flight and a full buffer.
#[test]
fn handle_packet_matches_parse_and_handle_segment() {
    use std::format;
    let mut delivered = 0;
    for seed in 0..48u64 {
        let mut rng = crate::rand::Rng::new(seed);
        let setup = if seed % 4 == 3 {
            Setup::plain()
        } else {
            Setup::default()
        };
        let (mut a, mut peer) = open(setup.clone());
        let (mut b, _) = open(setup);
        let mut t = T0;
        let mut buf = [0u8; 1600];
        let mut sent = 0;
        for step in 0..300 {
            t += rng.below(25);
            let now = at(t);
            if rng.chance_ppm(100_000) {
                let data = pattern(sent, rng.below(3000) as usize);
                assert_eq!(a.send(&data), b.send(&data));
                sent += data.len();
            }
            if rng.chance_ppm(50_000) {
                peer.window = rng.below(65_536) as u16;
            }
            let payload = pattern(step * 1000, rng.below(1400) as usize);
            let mut seg = peer.data_at(peer.seq, &payload);
            if rng.chance_ppm(50_000)
                && let Some((v, e)) = seg.timestamp
            {
                seg.timestamp = Some((v.wrapping_sub(rng.below(1 << 31) as u32), e));
            }
            let len = seg.emit(&mut buf, &from_peer());
            let bytes = &mut buf[..len];
            let mutated = match rng.below(6) {
                0 => {
                    let i = rng.below(bytes.len().min(40) as u64) as usize;
                    bytes[i] ^= (rng.below(255) + 1) as u8;
                    true
                }
                1 => {
                    let i = [12, 13, 13, 20, 21, 22, 23][rng.below(7) as usize];
                    if i < bytes.len() {
                        bytes[i] = rng.next_u32() as u8;
                    }
                    true
                }
                2 => {
                    let n = bytes.len().min(32);
                    rng.fill(&mut bytes[..n]);
                    true
                }
                _ => false,
            };
            let before = a.rcv_nxt;
            let ra = a.handle_packet(now, &from_peer(), bytes);
            delivered += usize::from(a.rcv_nxt != before);
            let rb = TcpRepr::parse(&TcpPacket::new_unchecked(&bytes[..]))
                .map(|seg| b.handle_segment(now, &from_peer(), &seg));
            assert_eq!(
                ra.is_ok(),
                rb.is_ok(),
                "seed {seed} step {step}: {bytes:02x?}"
            );
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "seed {seed} step {step}"
            );
            if !mutated {
                peer.seq += payload.len();
            }
            let (oa, ob) = (out(&mut a, now), out(&mut b, now));
            assert!(oa == ob, "seed {seed} step {step}: {oa:?} / {ob:?}");
            peer.saw(&oa);
            if let Some(end) = oa.last().map(Seg::end)
                && rng.chance_ppm(700_000)
                && end > peer.ack
            {
                peer.ack = end;
            }
            assert_eq!(a.poll_at(), b.poll_at());
            if rng.chance_ppm(300_000) {
                assert_eq!(read_all(&mut a), read_all(&mut b));
            }
            assert_eq!(a.state(), b.state());
            if a.state() != State::Established {
                break;
            }
        }
    }
    assert!(delivered > 1_000, "{delivered}");
}

/// The send and ACK state `Connection`'s `Debug` leaves out.
fn hidden(c: &Conn) -> std::string::String {
    std::format!(
        "{:?}",
        (
            (c.last_ack_sent, c.ack_points_len, c.ack_points, c.rcv_adv),
            (c.fast_rtx_due, c.rtt_probe, c.last_tx, c.unacked_bytes),
            (c.ack_now, c.tlp_due, c.probe_due, c.inflation, c.dupacks),
            (c.stats.retransmitted_segments, c.stats.loss_probes),
        )
    )
}

/// Every frame `poll_transmit` writes at `now` into `room`-byte buffers, as bytes, until it
/// returns `None` (bounded); with `burst`, `poll_transmit_burst` (at most `max` segments,
/// its buffers `room` bytes, `seg_room` offered) goes first.
fn raw_out(conn: &mut Conn, now: Instant, burst: Option<(usize, usize)>) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    if let Some((max, room)) = burst {
        let n = conn.poll_transmit_burst(now, max, 1480, |write| {
            let mut buf = std::vec![0u8; room];
            let n = write(&mut buf);
            buf.truncate(n);
            if n > 0 {
                frames.push(buf);
            }
            n > 0
        });
        assert!(n <= max && n == frames.len());
    }
    let mut buf = [0u8; 1480];
    for _ in 0..10_000 {
        let Some(n) = conn.poll_transmit(now, &mut buf) else {
            return frames;
        };
        frames.push(buf[..n].to_vec());
    }
    panic!("poll_transmit never returned None");
}

// `poll_transmit_burst` (a run of full segments written at once, the bookkeeping done once)
// followed by `poll_transmit` gives the same segments, byte for byte, and leaves the
// connection exactly as `poll_transmit` alone: over random writes, ACKs (partial, duplicate,
// with SACK blocks, window changes), losses left to the timers, data from the peer, closes,
// small buffers and run limits.
#[test]
fn poll_transmit_burst_matches_poll_transmit() {
    use std::format;
    let mut bursts = 0;
    for seed in 0..64u64 {
        let mut rng = crate::rand::Rng::new(seed);
        let mut setup = if seed % 4 == 3 {
            Setup::plain()
        } else {
            Setup::default()
        };
        setup.tx = [4_000, 65_536, 200_000][(seed % 3) as usize];
        let (mut a, mut peer) = open(setup.clone());
        let (mut b, _) = open(setup);
        let mut t = T0;
        let mut sent = 0;
        let mut in_flight: Vec<(TcpSeqNumber, TcpSeqNumber)> = Vec::new();
        for step in 0..400 {
            t += [0, 0, 1, 5, 50, 400, 1_500][rng.below(7) as usize];
            let now = at(t);
            if rng.chance_ppm(400_000) {
                // Often whole segments, so a FIN can be due right after a full one.
                let len = if rng.chance_ppm(300_000) {
                    1448 * (1 + rng.below(6) as usize)
                } else {
                    rng.below(20_000) as usize
                };
                let data = pattern(sent, len);
                assert_eq!(a.send(&data), b.send(&data));
                sent += data.len();
            }
            if rng.chance_ppm(8_000) {
                a.close();
                b.close();
            }
            if rng.chance_ppm(50_000) {
                peer.window = rng.below(65_536) as u16;
            }
            // The peer acknowledges some of what it saw, maybe with a SACK block past a hole.
            if !in_flight.is_empty() && rng.chance_ppm(600_000) {
                // Often all of it: the flight drains, and an idle restart may follow.
                let i = if rng.chance_ppm(400_000) {
                    in_flight.len() - 1
                } else {
                    rng.below(in_flight.len() as u64) as usize
                };
                let ack = in_flight[i].1;
                let seg = if rng.chance_ppm(100_000) && i + 2 < in_flight.len() {
                    let j = i + 2 + rng.below((in_flight.len() - i - 2) as u64) as usize;
                    peer.sack(ack, &[in_flight[j]])
                } else if rng.chance_ppm(100_000) {
                    peer.ack_of(in_flight[0].0)
                } else {
                    peer.ack_of(ack)
                };
                feed(&mut a, now, &seg);
                feed(&mut b, now, &seg);
            }
            if rng.chance_ppm(100_000) {
                // Up to two full segments: ACK points may be owed when ours go out.
                let payload = pattern(step * 100, 1 + rng.below(2 * 1448) as usize);
                let seg = peer.data(&payload);
                feed(&mut a, now, &seg);
                feed(&mut b, now, &seg);
            }
            let max = [1, 2, 5, 1 << 16][rng.below(4) as usize];
            let room = if rng.chance_ppm(100_000) { 1_000 } else { 1480 };
            let fa = raw_out(&mut a, now, Some((max, room)));
            let fb = raw_out(&mut b, now, None);
            assert!(fa == fb, "seed {seed} step {step}");
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "seed {seed} step {step}"
            );
            assert_eq!(hidden(&a), hidden(&b), "seed {seed} step {step}");
            assert_eq!(a.poll_at(), b.poll_at());
            let segs: Vec<Seg> = fa
                .iter()
                .map(|f| parse_out(f, &a.tuple().outgoing_addrs().unwrap()))
                .collect();
            bursts += usize::from(segs.len() > 1 && segs[1].payload.len() == 1448);
            peer.saw(&segs);
            for s in &segs {
                // A few segments are lost: the timers and SACK recover them.
                if !s.payload.is_empty() && !rng.chance_ppm(30_000) {
                    in_flight.push((s.seq, s.end()));
                }
            }
            in_flight.retain(|&(_, e)| e > a.snd_una);
            if a.state() == State::Closed {
                break;
            }
        }
    }
    assert!(bursts > 200, "{bursts}");
}

// RFC 5681 §4.1: after an idle period the window restarts between the first segment and
// the second; `poll_transmit_burst` leaves that to `poll_transmit`, which sends the same.
#[test]
fn poll_transmit_burst_after_idle_matches_poll_transmit() {
    let setup = Setup {
        tx: 400_000,
        ..Setup::default()
    };
    let (mut a, mut peer) = open(setup.clone());
    let (mut b, _) = open(setup);
    let mut t = T0;
    let mut sent = 0;
    let mut run = |a: &mut Conn, b: &mut Conn, peer: &mut Peer, t: u64, write: usize| {
        let data = pattern(sent, write);
        assert_eq!(a.send(&data), b.send(&data));
        sent += data.len();
        let fa = raw_out(a, at(t), Some((1 << 16, 1480)));
        let fb = raw_out(b, at(t), None);
        assert!(fa == fb);
        assert_eq!(std::format!("{a:?}"), std::format!("{b:?}"));
        assert_eq!(hidden(a), hidden(b));
        let addrs = a.tuple().outgoing_addrs().unwrap();
        let segs: Vec<Seg> = fa.iter().map(|f| parse_out(f, &addrs)).collect();
        peer.saw(&segs);
        let ack = peer.ack_of(a.snd_max);
        feed(a, at(t + 10), &ack);
        feed(b, at(t + 10), &ack);
        segs.len()
    };
    for _ in 0..6 {
        t += 20;
        run(&mut a, &mut b, &mut peer, t, 100_000);
    }
    assert!(a.cc.cwnd() > 40_000, "{}", a.cc.cwnd());
    t += 3_000;
    let n = run(&mut a, &mut b, &mut peer, t, 100_000);
    assert!(n <= 11, "{n} segments after the restart");
}

/// Every frame `poll_transmit_with::<SHORTCUT>` writes at `now` (into a `room`-byte buffer,
/// `offload` as `poll_transmit_offload`'s), with the payload size it reports, until `None`.
fn shortcut_out<const SHORTCUT: bool>(
    conn: &mut Conn,
    now: Instant,
    room: usize,
    offload: usize,
) -> Vec<(Vec<u8>, usize)> {
    let mut frames = Vec::new();
    let mut buf = std::vec![0u8; room];
    for _ in 0..10_000 {
        let Some((n, mss)) = conn.poll_transmit_with::<SHORTCUT>(now, &mut buf, 1480, offload)
        else {
            return frames;
        };
        frames.push((buf[..n].to_vec(), mss));
    }
    panic!("poll_transmit never returned None");
}

// The short cut to a pure ACK (`only_ack_due`, the third segment of an active open and any
// ACK owed with nothing else to send) writes the same bytes as the general path and leaves
// the connection the same (state, timers, hidden send/ACK state): twin connections, one
// with the short cut and one without, over random active opens (options on or off at
// either end, data or a close queued before the SYN-ACK, the SYN-ACK late or retransmitted)
// followed by random traffic both ways (data in and out of order, ACKs with and without
// SACK blocks, FINs, reads opening the window, losses left to the timers, offload).
#[test]
fn pure_ack_shortcut_matches_general_path() {
    use std::format;
    let mut pure_acks = 0;
    for seed in 0..96u64 {
        let mut rng = crate::rand::Rng::new(seed ^ 0x5eed);
        let mut setup = match seed % 4 {
            3 => Setup::plain(),
            2 => Setup::no_sack(),
            _ => Setup::default(),
        };
        setup.peer.ts = rng.chance_ppm(700_000);
        setup.peer.sack = rng.chance_ppm(700_000);
        setup.peer.wscale = [None, Some(0), Some(7)][rng.below(3) as usize];
        setup.rx = [4_000, 65_536][rng.below(2) as usize];
        let mut a = connect(&setup);
        let mut b = connect(&setup);
        let mut peer = Peer::new(setup.peer);
        let mut t = 0;
        let mut sent = 0;
        let mut got_syn = false;
        let mut in_flight: Vec<(TcpSeqNumber, TcpSeqNumber)> = Vec::new();
        for step in 0..300 {
            let now = at(t);
            let (room, offload) = if rng.chance_ppm(200_000) {
                (65_536, 65_536)
            } else {
                (1480, 0)
            };
            let fa = shortcut_out::<true>(&mut a, now, room, offload);
            let fb = shortcut_out::<false>(&mut b, now, room, offload);
            assert!(fa == fb, "seed {seed} step {step}");
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "seed {seed} step {step}"
            );
            assert_eq!(hidden(&a), hidden(&b), "seed {seed} step {step}");
            assert_eq!(a.poll_at(), b.poll_at(), "seed {seed} step {step}");
            let addrs = a.tuple().outgoing_addrs().unwrap();
            let segs: Vec<Seg> = fa.iter().map(|(f, _)| parse_out(f, &addrs)).collect();
            pure_acks += segs.iter().filter(|s| s.is_pure_ack()).count();
            if !got_syn && let Some(syn) = segs.iter().find(|s| s.is_syn()) {
                got_syn = true;
                peer.ack = syn.seq + 1;
            }
            peer.saw(&segs);
            for s in &segs {
                if !s.is_syn() && s.len() > 0 && !rng.chance_ppm(50_000) {
                    in_flight.push((s.seq, s.end()));
                }
            }
            if a.state() == State::Closed {
                break;
            }
            t += [0, 0, 1, 5, 40, 300, 1_500][rng.below(7) as usize];
            let now = at(t);
            macro_rules! both {
                ($seg:expr) => {{
                    let seg = $seg;
                    feed(&mut a, now, &seg);
                    feed(&mut b, now, &seg);
                }};
            }
            if a.state() == State::SynSent {
                if got_syn && rng.chance_ppm(500_000) {
                    both!(peer.syn_ack());
                    if rng.chance_ppm(100_000) {
                        // A retransmitted SYN-ACK once established: acknowledged again.
                        both!(peer.syn_ack());
                    }
                    peer.seq += 1;
                }
            } else {
                if !in_flight.is_empty() && rng.chance_ppm(500_000) {
                    let i = rng.below(in_flight.len() as u64) as usize;
                    let ack = in_flight[i].1;
                    if rng.chance_ppm(150_000) && i + 2 < in_flight.len() {
                        both!(peer.sack(ack, &[in_flight[i + 2]]));
                    } else {
                        both!(peer.ack_of(ack));
                    }
                    in_flight.retain(|&(_, e)| e > ack);
                }
                if rng.chance_ppm(400_000) {
                    let payload = pattern(step * 37, 1 + rng.below(3_000) as usize);
                    if rng.chance_ppm(200_000) {
                        // Out of order: a hole before it (SACK blocks reported).
                        let gap = 1 + rng.below(2_000) as usize;
                        both!(peer.data_at(peer.seq + gap, &payload));
                    } else {
                        both!(peer.data(&payload));
                    }
                }
                if rng.chance_ppm(10_000) {
                    both!(peer.fin());
                }
                if rng.chance_ppm(300_000) {
                    assert_eq!(read_all(&mut a), read_all(&mut b));
                }
            }
            if rng.chance_ppm(150_000) {
                let data = pattern(sent, rng.below(5_000) as usize);
                assert_eq!(a.send(&data), b.send(&data));
                sent += data.len();
            }
            if rng.chance_ppm(5_000) {
                a.close();
                b.close();
            }
        }
    }
    assert!(pure_acks > 2_000, "{pure_acks}");
}
