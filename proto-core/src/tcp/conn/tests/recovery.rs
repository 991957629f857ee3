//! Loss recovery and congestion control: RFC 6675 SACK recovery, RFC 6582 NewReno, RFC 3042
//! limited transmit, CUBIC and NewReno reductions.

use super::*;
use crate::tcp::cc::Algorithm;

/// Data queued (more than the initial window).
const QUEUED: usize = 40_000;

/// Queues `QUEUED` bytes at 20 ms and returns the initial window's segments.
fn first_flight(conn: &mut Conn) -> Vec<Seg> {
    let segs = send_data(conn, at(20), 0, QUEUED);
    assert_eq!(segs.len(), 10, "RFC 6928 initial window of 10 segments");
    segs
}

/// `[start of segs[from], end of segs[to - 1])` as a SACK block.
fn block(segs: &[Seg], from: usize, to: usize) -> (TcpSeqNumber, TcpSeqNumber) {
    (segs[from].seq, segs[to - 1].end())
}

/// Bytes of new data in `segs` (at or above `snd_max`).
fn new_data(segs: &[Seg], snd_max: TcpSeqNumber) -> usize {
    segs.iter()
        .filter(|s| s.seq >= snd_max)
        .map(|s| s.payload.len())
        .sum()
}

// RFC 3042 §2 (with RFC 6675 pipe accounting when SACK is on): each of the first two
// duplicate ACKs sends one new segment; cwnd is unchanged; nothing is retransmitted.
#[test]
fn limited_transmit_sends_one_new_segment_per_first_two_dupacks() {
    for setup in [Setup::plain(), Setup::default()] {
        let sack = setup.cfg.sack;
        let (mut conn, peer) = open(setup);
        let segs = first_flight(&mut conn);
        let una = segs[0].seq;
        let cwnd = conn.cwnd();
        let mut snd_max = segs.last().unwrap().end();
        for dup in 1..=2 {
            let ack = if sack {
                peer.sack(una, &[block(&segs, 1, 1 + dup)])
            } else {
                peer.ack_of(una)
            };
            feed(&mut conn, at(30 + dup as u64), &ack);
            let sent = out(&mut conn, at(30 + dup as u64));
            assert_eq!(sent.len(), 1, "sack {sack}, dup {dup}: {sent:?}");
            assert_eq!(sent[0].seq, snd_max, "new data");
            assert_eq!(sent[0].payload.len(), segs[0].payload.len());
            snd_max = sent[0].end();
            assert_eq!(conn.cwnd(), cwnd);
            assert!(conn.recovery.is_none());
        }
    }
}

// RFC 6675 §5: three duplicate ACKs with SACK blocks start recovery: the hole (and only the
// hole) is retransmitted at once, and SACKed data is never resent.
#[test]
fn sack_fast_retransmit_resends_only_the_hole() {
    let (mut conn, peer) = established();
    let segs = first_flight(&mut conn);
    let una = segs[0].seq;
    let mut sent = Vec::new();
    for k in 1..=3 {
        feed(
            &mut conn,
            at(30 + k as u64),
            &peer.sack(una, &[block(&segs, 1, 1 + k)]),
        );
        sent.push(out(&mut conn, at(30 + k as u64)));
    }
    assert!(
        conn.recovery.is_some(),
        "in recovery after three SACKed segments"
    );
    let rtx = &sent[2][0];
    assert_eq!(rtx.seq, una, "the hole first");
    assert_eq!(rtx.payload, segs[0].payload);
    // Every later ACK SACKs more; nothing SACKed (1..) is ever sent again.
    let recover = conn.recovery.unwrap().recover;
    for k in 4..10 {
        feed(
            &mut conn,
            at(40 + k as u64),
            &peer.sack(una, &[block(&segs, 1, 1 + k)]),
        );
        for s in out(&mut conn, at(40 + k as u64)) {
            assert!(
                s.seq >= recover || s.seq == una,
                "resent SACKed data: {s:?}"
            );
        }
    }
    let resent: Vec<_> = sent
        .iter()
        .flatten()
        .filter(|s| s.seq < segs[9].end() && s.seq != una)
        .collect();
    assert!(resent.is_empty(), "{resent:?}");
}

// RFC 6675 §5 (C): in recovery, a segment goes only when cwnd - pipe >= 1 SMSS; each SACKed
// segment takes one out of the pipe.
#[test]
fn pipe_limits_sending_during_recovery() {
    let (mut conn, peer) = established();
    let segs = first_flight(&mut conn);
    let una = segs[0].seq;
    let mut sent_new = 0;
    let mut held = 0;
    let mut snd_max = segs.last().unwrap().end();
    for k in 1..10 {
        feed(
            &mut conn,
            at(30 + k as u64),
            &peer.sack(una, &[block(&segs, 1, 1 + k)]),
        );
        let out = out(&mut conn, at(30 + k as u64));
        if conn.recovery.is_some() {
            // On entry cwnd drops below pipe; new data waits until SACKs drain it.
            let new = new_data(&out, snd_max);
            if new > 0 {
                assert!(
                    conn.pipe() <= conn.cwnd(),
                    "pipe {} > cwnd {}",
                    conn.pipe(),
                    conn.cwnd()
                );
            } else {
                assert!(
                    conn.pipe() + 1448 > conn.cwnd(),
                    "room for a segment left unused"
                );
                held += 1;
            }
            sent_new += new;
        }
        snd_max = out.iter().map(Seg::end).fold(snd_max, TcpSeqNumber::max);
    }
    assert!(held > 0, "pipe held new data back");
    assert!(sent_new > 0, "SACKs free the pipe for new data");
}

// RFC 6675 §5 and RFC 6582 §3.2 step 3: the ACK covering the recovery point ends recovery;
// cwnd = ssthresh.
#[test]
fn sack_recovery_exits_on_full_ack() {
    let (mut conn, mut peer) = established();
    let segs = first_flight(&mut conn);
    let una = segs[0].seq;
    for k in 1..=3 {
        feed(
            &mut conn,
            at(30 + k as u64),
            &peer.sack(una, &[block(&segs, 1, 1 + k)]),
        );
        let segs_out = out(&mut conn, at(30 + k as u64));
        peer.saw(&segs_out);
    }
    let recover = conn.recovery.expect("in recovery").recover;
    let ssthresh = conn.cc.ssthresh();
    feed(&mut conn, at(50), &peer.ack_of(recover));
    assert!(conn.recovery.is_none());
    assert_eq!(conn.cwnd(), ssthresh);
}

/// Plain (no SACK) recovery after losing segments 0 and 3 of the first flight: dup ACKs for
/// 1, 2 (limited transmit) and 4 (fast retransmit), then for 5..; returns the first flight.
fn newreno_into_recovery(conn: &mut Conn, peer: &Peer) -> Vec<Seg> {
    let segs = first_flight(conn);
    let una = segs[0].seq;
    for k in 1..=3u64 {
        feed(conn, at(30 + k), &peer.ack_of(una));
        let sent = out(conn, at(30 + k));
        if k == 3 {
            assert_eq!(sent[0].seq, una, "fast retransmit of the first hole");
            assert!(conn.recovery.is_some());
        }
    }
    for k in 5..10u64 {
        feed(conn, at(40 + k), &peer.ack_of(una));
        for s in out(conn, at(40 + k)) {
            assert!(
                s.seq >= segs[9].end(),
                "no further retransmission on dup ACKs: {s:?}"
            );
        }
    }
    segs
}

// RFC 6582 §3.2 step 3: a partial ACK (below the recovery point) retransmits the next hole
// at once and stays in recovery.
#[test]
fn newreno_partial_ack_retransmits_next_hole() {
    let (mut conn, peer) = open(Setup::plain());
    let segs = newreno_into_recovery(&mut conn, &peer);
    // The retransmitted segment 0 arrives: the ACK stops at the second hole (segment 3).
    feed(&mut conn, at(60), &peer.ack_of(segs[3].seq));
    assert!(
        conn.recovery.is_some(),
        "a partial ACK does not end recovery"
    );
    let sent = out(&mut conn, at(60));
    assert_eq!(sent[0].seq, segs[3].seq, "{sent:?}");
    assert_eq!(sent[0].payload, segs[3].payload);
    assert!(sent[1..].iter().all(|s| s.seq >= segs[9].end()));
}

// RFC 6582 §3.2 step 3 (full acknowledgment): recovery ends and cwnd = ssthresh
// (deflation).
#[test]
fn newreno_full_ack_exits_recovery() {
    let (mut conn, peer) = open(Setup::plain());
    let segs = newreno_into_recovery(&mut conn, &peer);
    feed(&mut conn, at(60), &peer.ack_of(segs[3].seq));
    out(&mut conn, at(60));
    let recover = conn.recovery.unwrap().recover;
    let ssthresh = conn.cc.ssthresh();
    feed(&mut conn, at(70), &peer.ack_of(recover));
    assert!(conn.recovery.is_none());
    assert_eq!(conn.inflation, 0);
    assert_eq!(conn.cwnd(), ssthresh);
}

// RFC 9438 §4.6 (CUBIC, the default: beta 0.7) vs RFC 5681 §3.1 eq. (4) (NewReno, selectable:
// 1/2): the window after a fast-retransmit loss event is that fraction of the flight size.
#[test]
fn cubic_default_and_newreno_reduce_cwnd_differently() {
    assert_eq!(Config::default().congestion, Algorithm::Cubic);
    let mut results = Vec::new();
    for algo in [Algorithm::Cubic, Algorithm::NewReno] {
        let mut s = Setup::plain();
        s.cfg.congestion = algo;
        let (mut conn, peer) = open(s);
        let segs = first_flight(&mut conn);
        let una = segs[0].seq;
        let mut flight = 0;
        for k in 1..=3u64 {
            flight = (conn.snd_max - conn.snd_una) as u32;
            feed(&mut conn, at(30 + k), &peer.ack_of(una));
            out(&mut conn, at(30 + k));
        }
        assert!(conn.recovery.is_some());
        assert_eq!(
            flight,
            12 * 1460,
            "ten segments plus two of limited transmit"
        );
        results.push((algo, flight, conn.cwnd()));
    }
    let (_, flight, cubic) = results[0];
    let (_, _, reno) = results[1];
    assert_eq!(cubic, flight * 7 / 10);
    assert_eq!(reno, flight / 2);
}
