//! Timers: retransmission (RFC 6298), SYN retransmission, user timeout, persist and
//! keepalive.

use super::*;
use crate::tcp::rtt::RttConfig;
use crate::tcp::{ConnectionError, Keepalive, RecvError, SendError};
use crate::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Fires every timer up to `until`, jumping to each deadline; returns `(time, segments)` of
/// each firing that sent something.
fn run_timers(conn: &mut Conn, until: Instant) -> Vec<(Instant, Vec<Seg>)> {
    let mut fired = Vec::new();
    for _ in 0..1000 {
        let Some(t) = conn.poll_at() else { break };
        if t > until {
            break;
        }
        let segs = out(conn, t);
        if !segs.is_empty() {
            fired.push((t, segs));
        }
    }
    fired
}

// RFC 6298 §2.1 and §5.5 (RFC 9293 §3.8.1): the SYN is retransmitted after the initial RTO of
// 1 s, then with a doubling timer (1, 2, 4 s...).
#[test]
fn syn_retransmitted_after_initial_rto_of_one_second_with_backoff() {
    let s = Setup::default();
    let mut conn = connect(&s);
    let syn = out1(&mut conn, at(0));
    assert_eq!(conn.rto(), Duration::from_secs(1));
    assert_eq!(conn.poll_at(), Some(at(1_000)));
    assert!(out(&mut conn, at(999)).is_empty());
    let fired = run_timers(&mut conn, at(8_000));
    let times: Vec<u64> = fired.iter().map(|(t, _)| t.millis()).collect();
    assert_eq!(times, [1_000, 3_000, 7_000]);
    for (_, segs) in &fired {
        assert_eq!(segs.len(), 1);
        assert!(segs[0].is_syn());
        assert_eq!(segs[0].seq, syn.seq);
    }
}

// RFC 9293 §3.8.3 (R2 for SYN) : after `max_syn_retransmissions` the open fails with a
// timeout, visible on send and recv.
#[test]
fn syn_retransmission_limit_times_out() {
    let cfg = Config {
        max_syn_retransmissions: 2,
        ..Config::default()
    };
    let mut conn = connect(&Setup::with_cfg(cfg));
    out1(&mut conn, at(0));
    let fired = run_timers(&mut conn, at(100_000));
    assert_eq!(fired.len(), 2, "two retransmissions");
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), Some(ConnectionError::TimedOut));
    assert_eq!(
        conn.send(b"x"),
        Err(SendError::Failed(ConnectionError::TimedOut))
    );
    assert_eq!(conn.poll_at(), None);
}

// RFC 6298 §5.7 and RFC 5681 §3.1: after a lost SYN, with no RTT sample (Karn), the RTO for
// data is 3 s and the initial window one segment.
#[test]
fn lost_syn_gives_three_second_rto_and_one_segment_window() {
    let s = Setup::plain();
    let mut conn = connect(&s);
    let syn = out1(&mut conn, at(0));
    let again = out1(&mut conn, at(1_000));
    assert_eq!(again.seq, syn.seq);
    let mut peer = Peer::new(s.peer);
    peer.ack = syn.seq + 1;
    feed(&mut conn, at(1_100), &peer.syn_ack());
    assert_eq!(conn.state(), State::Established);
    out1(&mut conn, at(1_100));
    assert_eq!(conn.rtt.srtt(), None, "Karn: the SYN was retransmitted");
    assert_eq!(conn.rto(), Duration::from_secs(3));
    assert_eq!(conn.cwnd(), conn.send_mss());
}

// RFC 6298 §5.4-5.6: on timeout, retransmit the earliest unacknowledged segment and double
// the RTO each time.
#[test]
fn rto_retransmits_with_doubling_backoff() {
    let (mut conn, _peer) = established_no_sack();
    assert_eq!(conn.rto(), ms(200));
    let sent = send_data(&mut conn, at(20), 0, 3 * 1448);
    assert_eq!(sent.len(), 3);
    assert_eq!(conn.poll_at(), Some(at(220)));
    let fired = run_timers(&mut conn, at(6_500));
    let times: Vec<u64> = fired.iter().map(|(t, _)| t.millis()).collect();
    assert_eq!(times, [220, 620, 1_420, 3_020, 6_220]);
    for (_, segs) in &fired {
        // RFC 5681 §3.1: cwnd is one segment after a timeout: only the first goes again.
        assert_eq!(segs.len(), 1, "{segs:?}");
        assert_eq!(segs[0].seq, sent[0].seq);
        assert_eq!(segs[0].payload, sent[0].payload);
    }
}

// RFC 6298 §2.4: the RTO never goes below min_rto (200 ms by default, configurable), however
// short the RTT.
#[test]
fn rto_respects_min_rto() {
    for min in [200, 500] {
        let mut s = Setup::default();
        s.cfg.rtt = RttConfig {
            min_rto: ms(min),
            ..RttConfig::default()
        };
        let (mut conn, mut peer) = open(s);
        for i in 0..20u64 {
            let t = 20 + i * 10;
            let segs = send_data(&mut conn, at(t), i as usize * 10, 10);
            peer.saw(&segs);
            feed(&mut conn, at(t + 1), &peer.ack_of(segs[0].end()));
        }
        assert!(conn.rtt.srtt().unwrap() < ms(5));
        assert_eq!(conn.rto(), ms(min));
    }
}

// RFC 6298 §2.5, §5.5: the backed-off RTO is capped at max_rto (60 s).
#[test]
fn rto_backoff_capped_at_max_rto() {
    let cfg = Config {
        max_retransmissions: 20,
        sack: false,
        ..Config::default()
    };
    let (mut conn, _peer) = open(Setup::with_cfg(cfg));
    send_data(&mut conn, at(20), 0, 100);
    let fired = run_timers(&mut conn, at(1_000_000));
    let gaps: Vec<u64> = fired
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).millis())
        .collect();
    assert!(gaps.iter().all(|&g| g <= 60_000), "{gaps:?}");
    assert_eq!(
        gaps.iter().filter(|&&g| g == 60_000).count(),
        gaps.len() - 8,
        "{gaps:?}"
    );
    assert_eq!(conn.rto(), Duration::from_secs(60));
}

// RFC 6298 §3 (Karn's algorithm), without timestamps: the ACK of a retransmitted segment
// gives no RTT sample, and the backed-off RTO stays until a fresh segment is timed.
#[test]
fn karn_no_rtt_sample_from_retransmitted_segment() {
    let (mut conn, mut peer) = open(Setup::plain());
    let srtt = conn.rtt.srtt();
    assert_eq!(srtt, Some(ms(10)));
    let segs = send_data(&mut conn, at(20), 0, 100);
    let rtx = out1(&mut conn, at(220));
    assert_eq!(rtx.seq, segs[0].seq);
    // The ACK comes late: it could be for either transmission.
    feed(&mut conn, at(900), &peer.ack_of(segs[0].end()));
    assert_eq!(conn.rtt.srtt(), srtt, "no sample from an ambiguous ACK");
    assert_eq!(
        conn.rto(),
        ms(400),
        "the backed-off RTO is kept (RFC 6298 §5.7 note)"
    );
    // A segment sent once is timed again.
    let segs = send_data(&mut conn, at(1_000), 100, 100);
    peer.ack = segs[0].end();
    feed(&mut conn, at(1_050), &peer.ack());
    assert_ne!(conn.rtt.srtt(), srtt);
    assert_eq!(conn.rto(), ms(200));
}

// RFC 9293 §3.8.3 (R2): after `max_retransmissions` timeouts the connection is aborted with
// a timeout, reported by send and recv.
#[test]
fn retransmission_limit_times_out() {
    let cfg = Config {
        max_retransmissions: 3,
        sack: false,
        ..Config::default()
    };
    let (mut conn, mut peer) = open(Setup::with_cfg(cfg));
    feed(&mut conn, at(15), &peer.data(b"unread"));
    send_data(&mut conn, at(20), 0, 100);
    let fired = run_timers(&mut conn, at(100_000));
    let rtx = fired
        .iter()
        .flat_map(|(_, s)| s)
        .filter(|s| !s.payload.is_empty())
        .count();
    assert_eq!(rtx, 3);
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), Some(ConnectionError::TimedOut));
    assert_eq!(
        conn.send(b"x"),
        Err(SendError::Failed(ConnectionError::TimedOut))
    );
    assert_eq!(
        conn.recv(&mut [0; 16]),
        Err(RecvError::Failed(ConnectionError::TimedOut))
    );
    assert_eq!(conn.poll_at(), None);
}

// RFC 9293 §3.8.3 user timeout (RFC 5482): data unacknowledged for that long aborts the
// connection even though retransmissions remain.
#[test]
fn user_timeout_times_out() {
    let cfg = Config {
        user_timeout: Some(Duration::from_secs(5)),
        max_retransmissions: 100,
        ..Config::default()
    };
    let (mut conn, _peer) = open(Setup::with_cfg(cfg));
    send_data(&mut conn, at(20), 0, 100);
    run_timers(&mut conn, at(5_019));
    assert_eq!(conn.state(), State::Established);
    out(&mut conn, at(5_020));
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), Some(ConnectionError::TimedOut));
}

// RFC 9293 §3.8.3 user timeout: progress (new data acknowledged) restarts it.
#[test]
fn user_timeout_restarted_by_progress() {
    let cfg = Config {
        user_timeout: Some(Duration::from_secs(5)),
        ..Config::default()
    };
    let (mut conn, mut peer) = open(Setup::with_cfg(cfg));
    let segs = send_data(&mut conn, at(20), 0, 2000);
    peer.saw(&segs);
    feed(&mut conn, at(4_000), &peer.ack_of(segs[0].end()));
    // The rest (held by Nagle) leaves now: the timeout runs from here.
    assert_eq!(out1(&mut conn, at(4_000)).payload.len(), 2000 - 1448);
    run_timers(&mut conn, at(8_999));
    assert_eq!(conn.state(), State::Established);
    run_timers(&mut conn, at(9_000));
    assert_eq!(conn.error(), Some(ConnectionError::TimedOut));
}

// RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17: a zero window is probed, with exponentially growing
// intervals even while the peer answers (and the connection is not aborted then); when the
// window opens, data flows.
#[test]
fn persist_probes_zero_window_with_backoff_then_data_flows() {
    let (mut conn, mut peer) = established();
    peer.window = 0;
    feed(&mut conn, at(15), &peer.ack());
    assert!(
        send_data(&mut conn, at(20), 0, 1000).is_empty(),
        "nothing fits a zero window"
    );
    let mut times = Vec::new();
    for _ in 0..6 {
        let t = conn.poll_at().expect("persist timer");
        let probe = out1(&mut conn, t);
        assert!(probe.payload.len() <= 1, "{probe:?}");
        times.push(t.millis());
        // The peer answers each probe, still with a zero window.
        peer.saw(&[probe]);
        feed(&mut conn, t, &peer.ack());
        assert!(out(&mut conn, t).is_empty());
    }
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.windows(2).all(|g| g[1] == 2 * g[0]),
        "probe intervals double: {times:?}"
    );
    assert_eq!(conn.state(), State::Established);
    // The window opens: everything goes.
    peer.window = 65_535;
    let t = at(*times.last().unwrap() + 5);
    feed(&mut conn, t, &peer.ack());
    let segs = out(&mut conn, t);
    let sent: Vec<u8> = segs.iter().flat_map(|s| s.payload.clone()).collect();
    assert_eq!(sent.len(), 1000);
    assert_eq!(sent, pattern(0, 1000));
}

// RFC 1122 §4.2.2.17, RFC 6298 §5.5: unanswered zero-window probes back off exponentially.
#[test]
fn persist_probes_back_off_when_unanswered() {
    let (mut conn, mut peer) = established();
    peer.window = 0;
    feed(&mut conn, at(15), &peer.ack());
    send_data(&mut conn, at(20), 0, 1000);
    let fired = run_timers(&mut conn, at(30_000));
    let times: Vec<u64> = fired.iter().map(|(t, _)| t.millis()).collect();
    assert!(times.len() >= 4, "{times:?}");
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.windows(2).all(|g| g[1] == 2 * g[0] || g[1] == 60_000),
        "{times:?}"
    );
}

fn keepalive_cfg() -> Config {
    Config {
        keepalive: Some(Keepalive {
            idle: Duration::from_secs(10),
            interval: Duration::from_secs(1),
            count: 3,
        }),
        ..Config::default()
    }
}

// RFC 1122 §4.2.3.6: after `idle` without traffic a probe `<SEQ=SND.UNA-1>` with no data goes
// out; an answer restarts the idle period.
#[test]
fn keepalive_probe_after_idle_and_answer_keeps_connection() {
    let (mut conn, mut peer) = open(Setup::with_cfg(keepalive_cfg()));
    let una = peer.ack;
    assert_eq!(conn.poll_at(), Some(at(T0 + 10_000)));
    let probe = out1(&mut conn, at(T0 + 10_000));
    assert_eq!(probe.seq, una - 1);
    assert!(probe.payload.is_empty());
    assert_eq!(probe.ack, Some(peer.seq));
    peer.saw(&[probe]);
    feed(&mut conn, at(T0 + 10_050), &peer.ack());
    assert_eq!(
        conn.poll_at(),
        Some(at(T0 + 20_050)),
        "idle restarts from the answer"
    );
    let mut answered = T0 + 10_050;
    for _ in 0..4 {
        let t = conn.poll_at().unwrap();
        assert_eq!(t, at(answered + 10_000));
        let probe = out1(&mut conn, t);
        assert_eq!(probe.seq, una - 1);
        answered = t.millis() + 50;
        feed(&mut conn, at(answered), &peer.ack());
    }
    assert_eq!(conn.state(), State::Established);
}

// RFC 1122 §4.2.3.6: `count` unanswered probes abort the connection with a timeout.
#[test]
fn keepalive_unanswered_times_out() {
    let (mut conn, _peer) = open(Setup::with_cfg(keepalive_cfg()));
    let fired = run_timers(&mut conn, at(100_000));
    let times: Vec<u64> = fired.iter().map(|(t, _)| t.millis()).collect();
    assert_eq!(times, [T0 + 10_000, T0 + 11_000, T0 + 12_000]);
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), Some(ConnectionError::TimedOut));
    assert_eq!(
        conn.recv(&mut [0; 4]),
        Err(RecvError::Failed(ConnectionError::TimedOut))
    );
}

// RFC 1122 §4.2.3.6: keepalive is off by default.
#[test]
fn keepalive_off_by_default() {
    let (mut conn, _peer) = established();
    assert_eq!(conn.poll_at(), None);
    assert!(out(&mut conn, at(10_000_000)).is_empty());
}

// RFC 8985 §7: with SACK, a silent peer gets a tail loss probe after 2 SRTT (at least 2 ms;
// plus the delayed-ACK allowance with one segment in flight): the last segment sent again,
// before the RTO. Unanswered, the probe is repeated after 2 and 4 PTOs (our extension: the
// probe or its ACK may be lost too); then the RTO follows.
#[test]
fn tail_loss_probe_before_rto() {
    let (mut conn, _peer) = established();
    let srtt = conn.rtt.srtt().expect("handshake sample");
    let sent = send_data(&mut conn, at(20), 0, 3 * 1448);
    assert_eq!(sent.len(), 3);
    let pto = (srtt * 2).max(ms(2));
    assert_eq!(conn.poll_at(), Some(at(20) + pto));
    let probe = out1(&mut conn, at(20) + pto);
    assert_eq!(probe.seq, sent[2].seq, "the last segment goes again");
    assert_eq!(probe.payload, sent[2].payload);
    assert_eq!(conn.stats().loss_probes, 1);
    let mut t = at(20) + pto;
    for (n, backoff) in [(2, 2), (3, 4)] {
        assert_eq!(conn.poll_at(), Some(t + pto * backoff), "probe {n}");
        t += pto * backoff;
        let again = out1(&mut conn, t);
        assert_eq!(again.seq, sent[2].seq, "probe {n}");
        assert_eq!(conn.stats().loss_probes, n);
    }
    // Three unanswered probes: the RTO is next.
    let rto_at = conn.poll_at().unwrap();
    assert!(rto_at >= t + ms(200), "{rto_at}");
    let rtx = out1(&mut conn, rto_at);
    assert_eq!(rtx.seq, sent[0].seq);
    assert_eq!(conn.stats().rtos, 1);
    assert_eq!(conn.stats().loss_probes, 3);
}

// RFC 8985 §6.2-6.3 (RACK): a hole below SACKed data in a flight too small for RFC 6675's
// DupThresh is deemed lost once the reordering window (a quarter of the minimum RTT) has
// passed, without waiting for a probe or an RTO; once in recovery the window is 0.
#[test]
fn rack_repairs_a_hole_in_a_small_flight() {
    let (mut conn, peer) = established();
    let reo_wnd = conn.rtt.min_rtt().expect("handshake sample") / 4;
    assert!(reo_wnd > Duration::ZERO);
    let sent = send_data(&mut conn, at(20), 0, 3 * 1448);
    assert_eq!(sent.len(), 3);
    // The first segment is lost; the peer SACKs the second.
    let ack = peer.sack(sent[0].seq, &[(sent[1].seq, sent[1].seq + 1448)]);
    feed(&mut conn, at(21), &ack);
    assert!(out(&mut conn, at(21)).is_empty(), "reordering window first");
    assert_eq!(conn.poll_at(), Some(at(21) + reo_wnd));
    let rtx = out1(&mut conn, at(21) + reo_wnd);
    assert_eq!(rtx.seq, sent[0].seq, "the hole goes again");
    assert_eq!(conn.stats().fast_recoveries, 1);
    assert_eq!(conn.stats().loss_probes, 0);
    assert_eq!(conn.stats().rtos, 0);
}

// RFC 8985 §6.2 step 2: a hole filled by its original transmission (nothing retransmitted)
// shows the path reorders; RACK then always waits the reordering window.
#[test]
fn rack_notes_reordering() {
    let (mut conn, peer) = established();
    let sent = send_data(&mut conn, at(20), 0, 3 * 1448);
    let sacked = peer.sack(sent[0].seq, &[(sent[1].seq, sent[1].seq + 1448)]);
    feed(&mut conn, at(21), &sacked);
    assert!(!conn.reordering_seen);
    feed(&mut conn, at(21), &peer.ack_of(sent[1].seq + 1448));
    assert!(conn.reordering_seen);
    assert_eq!(conn.stats().fast_recoveries, 0);
}
