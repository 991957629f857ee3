//! Closing (active, passive, simultaneous, half-close), abort, TIME-WAIT, resets in every
//! synchronized state, and the RFC 5961 challenge ACKs.

use super::*;
use crate::tcp::{ConnectionError, RecvError, SendError};
use crate::time::Duration;
use std::string::ToString;

/// 2 * MSL with the default MSL of 30 s.
const TWO_MSL: u64 = 60_000;

/// A connection driven into `state` by an orderly exchange at 20 ms, and its peer.
fn in_state(state: State) -> (Conn, Peer) {
    let (mut conn, mut peer) = established();
    let now = at(20);
    let our_fin = |conn: &mut Conn, peer: &mut Peer| {
        conn.close();
        let fin = out1(conn, now);
        assert!(fin.is_fin());
        peer.saw(core::slice::from_ref(&fin));
        fin
    };
    match state {
        State::Established => {}
        State::FinWait1 => {
            our_fin(&mut conn, &mut peer);
        }
        State::FinWait2 => {
            let fin = our_fin(&mut conn, &mut peer);
            peer.ack = fin.end();
            feed(&mut conn, now, &peer.ack());
        }
        State::CloseWait => {
            feed(&mut conn, now, &peer.fin());
            out1(&mut conn, now);
        }
        State::Closing => {
            our_fin(&mut conn, &mut peer);
            feed(&mut conn, now, &peer.fin());
            out1(&mut conn, now);
        }
        State::LastAck => {
            feed(&mut conn, now, &peer.fin());
            out1(&mut conn, now);
            our_fin(&mut conn, &mut peer);
        }
        State::TimeWait => {
            let fin = our_fin(&mut conn, &mut peer);
            peer.ack = fin.end();
            feed(&mut conn, now, &peer.ack());
            feed(&mut conn, now, &peer.fin());
            out1(&mut conn, now);
        }
        _ => unreachable!("not a synchronized state: {state}"),
    }
    assert_eq!(conn.state(), state);
    (conn, peer)
}

const SYNCHRONIZED: [State; 7] = [
    State::Established,
    State::FinWait1,
    State::FinWait2,
    State::CloseWait,
    State::Closing,
    State::LastAck,
    State::TimeWait,
];

// RFC 9293 §3.6, §3.10.4, §3.10.7.4: ESTABLISHED -(close)-> FIN-WAIT-1 -(ACK of FIN)->
// FIN-WAIT-2 -(FIN)-> TIME-WAIT -(2 MSL)-> CLOSED.
#[test]
fn active_close_fin_wait_to_time_wait_to_closed_after_2msl() {
    let (mut conn, mut peer) = established();
    let segs = send_data(&mut conn, at(20), 0, 100);
    conn.close();
    assert_eq!(conn.state(), State::FinWait1);
    let fin = out1(&mut conn, at(20));
    assert!(fin.is_fin());
    assert_eq!(fin.seq, segs[0].end(), "the FIN follows the last byte");
    assert_eq!(
        conn.send(b"x"),
        Err(SendError::InvalidState(State::FinWait1))
    );
    peer.ack = fin.end();
    feed(&mut conn, at(30), &peer.ack());
    assert_eq!(conn.state(), State::FinWait2);
    assert!(out(&mut conn, at(30)).is_empty());
    feed(&mut conn, at(40), &peer.fin());
    assert_eq!(conn.state(), State::TimeWait);
    let ack = out1(&mut conn, at(40));
    assert!(ack.is_pure_ack());
    assert_eq!(ack.ack, Some(peer.seq));
    assert_eq!(ack.seq, fin.end());
    assert_eq!(conn.recv(&mut [0; 8]), Err(RecvError::Finished));
    assert_eq!(conn.poll_at(), Some(at(40 + TWO_MSL)));
    assert!(out(&mut conn, at(40 + TWO_MSL - 1)).is_empty());
    assert_eq!(conn.state(), State::TimeWait);
    assert!(out(&mut conn, at(40 + TWO_MSL)).is_empty());
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), None);
    assert_eq!(conn.poll_at(), None);
}

// RFC 9293 §3.4.2: TIME-WAIT lasts 2 * MSL, and MSL is configurable.
#[test]
fn time_wait_lasts_two_msl_as_configured() {
    let cfg = Config {
        msl: Duration::from_secs(2),
        ..Config::default()
    };
    let (mut conn, mut peer) = open(Setup::with_cfg(cfg));
    conn.close();
    let fin = out1(&mut conn, at(20));
    peer.ack = fin.end();
    feed(&mut conn, at(20), &peer.ack());
    feed(&mut conn, at(20), &peer.fin());
    out1(&mut conn, at(20));
    assert_eq!(conn.state(), State::TimeWait);
    assert_eq!(conn.poll_at(), Some(at(4_020)));
    out(&mut conn, at(4_019));
    assert_eq!(conn.state(), State::TimeWait);
    out(&mut conn, at(4_020));
    assert_eq!(conn.state(), State::Closed);
}

// RFC 9293 §3.6 (case 1, passive side): FIN -> CLOSE-WAIT (ACK at once); close -> LAST-ACK
// (our FIN); its ACK -> CLOSED.
#[test]
fn passive_close_close_wait_last_ack_closed() {
    let (mut conn, mut peer) = established();
    feed(&mut conn, at(20), &peer.data(b"bye"));
    feed(&mut conn, at(20), &peer.fin());
    assert_eq!(conn.state(), State::CloseWait);
    let ack = out1(&mut conn, at(20));
    assert_eq!(ack.ack, Some(peer.seq), "the FIN is acknowledged at once");
    assert_eq!(read_all(&mut conn), b"bye");
    assert_eq!(conn.recv(&mut [0; 8]), Err(RecvError::Finished));
    // We may still send.
    let segs = send_data(&mut conn, at(30), 0, 10);
    assert_eq!(segs.len(), 1);
    conn.close();
    assert_eq!(conn.state(), State::LastAck);
    let fin = out1(&mut conn, at(30));
    assert!(fin.is_fin());
    assert_eq!(fin.seq, segs[0].end());
    peer.ack = fin.end();
    feed(&mut conn, at(40), &peer.ack());
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), None);
    assert!(out(&mut conn, at(40)).is_empty());
}

// RFC 9293 §3.6 figure 13: simultaneous close. FIN-WAIT-1 + FIN (our FIN not yet acked) ->
// CLOSING; the ACK of our FIN -> TIME-WAIT.
#[test]
fn simultaneous_close_closing_then_time_wait() {
    let (mut conn, mut peer) = established();
    conn.close();
    let fin = out1(&mut conn, at(20));
    feed(&mut conn, at(21), &peer.fin());
    assert_eq!(conn.state(), State::Closing);
    let ack = out1(&mut conn, at(21));
    assert_eq!(ack.ack, Some(peer.seq));
    peer.ack = fin.end();
    feed(&mut conn, at(22), &peer.ack());
    assert_eq!(conn.state(), State::TimeWait);
    assert_eq!(conn.poll_at(), Some(at(22 + TWO_MSL)));
}

// RFC 9293 §3.10.7.4 (eighth, FIN-WAIT-1): a FIN that also acknowledges our FIN goes
// straight to TIME-WAIT.
#[test]
fn fin_wait_1_fin_with_ack_of_our_fin_goes_to_time_wait() {
    let (mut conn, mut peer) = established();
    conn.close();
    let fin = out1(&mut conn, at(20));
    peer.ack = fin.end();
    feed(&mut conn, at(21), &peer.fin());
    assert_eq!(conn.state(), State::TimeWait);
    let ack = out1(&mut conn, at(21));
    assert_eq!(ack.ack, Some(peer.seq));
}

// RFC 9293 §3.10.4: close only ends our sending; data keeps arriving until the peer's FIN.
#[test]
fn half_close_keeps_receiving_until_peer_fin() {
    let (mut conn, mut peer) = established();
    conn.close();
    let fin = out1(&mut conn, at(20));
    peer.ack = fin.end();
    feed(&mut conn, at(21), &peer.ack());
    assert_eq!(conn.state(), State::FinWait2);
    let mut expected = Vec::new();
    for i in 0..5 {
        let chunk = pattern(i * 1000, 1000);
        feed(&mut conn, at(22 + i as u64), &peer.data(&chunk));
        expected.extend_from_slice(&chunk);
        let _ = out(&mut conn, at(22 + i as u64));
    }
    assert_eq!(conn.state(), State::FinWait2);
    assert_eq!(read_all(&mut conn), expected);
    assert_eq!(conn.recv(&mut [0; 8]), Ok(0), "not finished before the FIN");
    feed(&mut conn, at(30), &peer.fin());
    assert_eq!(conn.state(), State::TimeWait);
    assert_eq!(out1(&mut conn, at(30)).ack, Some(peer.seq));
    assert_eq!(conn.recv(&mut [0; 8]), Err(RecvError::Finished));
}

// RFC 9293 §3.10.5: abort sends `<SEQ=SND.NXT><CTL=RST>` and goes to CLOSED at once.
#[test]
fn abort_sends_rst_and_closes() {
    let (mut conn, _peer) = established();
    let segs = send_data(&mut conn, at(20), 0, 500);
    conn.abort();
    assert_eq!(conn.state(), State::Closed);
    let rst = out1(&mut conn, at(20));
    assert!(rst.is_rst());
    assert_eq!(rst.seq, segs[0].end());
    assert!(rst.payload.is_empty());
    assert!(
        out(&mut conn, at(2_000)).is_empty(),
        "no retransmission after abort"
    );
    assert_eq!(conn.poll_at(), None);
    assert_eq!(conn.send(b"x"), Err(SendError::InvalidState(State::Closed)));
}

// RFC 9293 §3.10.7.4 (second, RST bit) with RFC 5961 §3.2: a reset with exactly RCV.NXT
// closes the connection: "reset" in ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT; silently in
// CLOSING, LAST-ACK and TIME-WAIT.
#[test]
fn rst_with_exact_seq_closes_each_synchronized_state() {
    for state in SYNCHRONIZED {
        let (mut conn, peer) = in_state(state);
        feed(&mut conn, at(50), &peer.rst(peer.seq));
        assert_eq!(conn.state(), State::Closed, "{state}");
        let expected = match state {
            State::Closing | State::LastAck | State::TimeWait => None,
            _ => Some(ConnectionError::Reset),
        };
        assert_eq!(conn.error(), expected, "{state}");
        assert!(
            out(&mut conn, at(50)).is_empty(),
            "{state}: a reset is never answered"
        );
        assert_eq!(conn.poll_at(), None, "{state}");
    }
}

// RFC 5961 §3.2: a reset in the window but not at RCV.NXT gets a challenge ACK and changes
// nothing.
#[test]
fn rst_in_window_not_exact_gets_challenge_ack() {
    for state in SYNCHRONIZED {
        let (mut conn, peer) = in_state(state);
        feed(&mut conn, at(50), &peer.rst(peer.seq + 100));
        assert_eq!(conn.state(), state);
        assert_eq!(conn.error(), None);
        let ack = out1(&mut conn, at(50));
        assert!(ack.is_pure_ack(), "{state}: {ack:?}");
        assert_eq!(ack.ack, Some(peer.seq), "{state}");
    }
}

// RFC 9293 §3.10.7.4 (first, sequence number): a reset outside the window is dropped
// without an answer.
#[test]
fn rst_out_of_window_is_dropped() {
    for state in SYNCHRONIZED {
        // Just below RCV.NXT, and far beyond the window.
        for below in [true, false] {
            let (mut conn, peer) = in_state(state);
            let seq = if below {
                peer.seq - 1
            } else {
                peer.seq + 0x100_0000
            };
            feed(&mut conn, at(50), &peer.rst(seq));
            assert_eq!(conn.state(), state, "{state}");
            assert!(out(&mut conn, at(50)).is_empty(), "{state}");
        }
    }
}

// RFC 9293 §3.10.7.4 (TIME-WAIT): a retransmitted FIN is acknowledged and restarts the
// 2 MSL timeout.
#[test]
fn time_wait_retransmitted_fin_acked_and_timer_restarted() {
    let (mut conn, mut peer) = in_state(State::TimeWait);
    assert_eq!(conn.poll_at(), Some(at(20 + TWO_MSL)));
    let fin = TcpRepr {
        seq_number: peer.seq - 1,
        ..peer.seg(TcpControl::Fin)
    };
    peer.tsval = Some(1_100);
    let fin = TcpRepr {
        timestamp: peer.tsval.map(|v| (v, peer.tsecr)),
        ..fin
    };
    feed(&mut conn, at(10_000), &fin);
    assert_eq!(conn.state(), State::TimeWait);
    let ack = out1(&mut conn, at(10_000));
    assert!(ack.is_pure_ack());
    assert_eq!(ack.ack, Some(peer.seq));
    assert_eq!(conn.poll_at(), Some(at(10_000 + TWO_MSL)));
}

// RFC 9293 §3.10.7.4 (SYN-RECEIVED, RST bit): a reset of a passively opened connection in
// SYN-RECEIVED ends it (a single-connection LISTEN has nothing to return to).
#[test]
fn rst_in_syn_received_closes() {
    let cfg = Config::default();
    let mut conn: Conn =
        Connection::listen(&cfg, tuple().local, at(0), vec![0; 4096], vec![0; 4096]);
    let mut peer = Peer::new(PeerOpts::default());
    feed(&mut conn, at(1), &peer.syn());
    out1(&mut conn, at(1));
    peer.seq += 1;
    feed(&mut conn, at(2), &peer.rst(peer.seq));
    assert_eq!(conn.state(), State::Closed);
}

// RFC 5961 §4.2: a SYN in a synchronized state gets a challenge ACK; the state is unchanged.
#[test]
fn syn_in_established_gets_challenge_ack() {
    let (mut conn, peer) = established();
    for seq in [peer.seq, peer.seq + 5000, peer.seq - 5000] {
        let syn = TcpRepr {
            seq_number: seq,
            ..peer.syn()
        };
        feed(&mut conn, at(20), &syn);
        assert_eq!(conn.state(), State::Established);
        let ack = out1(&mut conn, at(20));
        assert!(ack.is_pure_ack(), "{ack:?}");
        assert_eq!(ack.ack, Some(peer.seq));
    }
}

// RFC 5961 §5.2 (RFC 9293 §3.10.7.4 fifth): an ACK of something not yet sent gets a
// (challenge) ACK and the segment is dropped, data included.
#[test]
fn ack_beyond_snd_max_gets_challenge_ack_and_is_dropped() {
    let (mut conn, mut peer) = established();
    let segs = send_data(&mut conn, at(20), 0, 100);
    let bad = TcpRepr {
        ack_number: Some(segs[0].end() + 1000),
        ..peer.data_at(peer.seq, b"zzz")
    };
    feed(&mut conn, at(21), &bad);
    assert_eq!(conn.recv_queue(), 0, "the data is dropped");
    assert_eq!(conn.send_queue(), 100, "nothing acknowledged");
    let ack = out1(&mut conn, at(21));
    assert!(ack.is_pure_ack());
    assert_eq!(ack.ack, Some(peer.seq));
    // The good segment still goes through.
    peer.ack = segs[0].end();
    feed(&mut conn, at(22), &peer.data(b"zzz"));
    assert_eq!(read_all(&mut conn), b"zzz");
    assert_eq!(conn.send_queue(), 0);
}

// RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND is dropped (with an ACK); one older than
// SND.UNA but within MAX.SND.WND is acceptable (a duplicate).
#[test]
fn too_old_ack_is_dropped() {
    let (mut conn, mut peer) = established();
    let segs = send_data(&mut conn, at(20), 0, 1000);
    peer.ack = segs[0].end();
    feed(&mut conn, at(21), &peer.ack());
    let una = segs[0].end();
    let too_old = TcpRepr {
        ack_number: Some(una - 70_000),
        ..peer.data_at(peer.seq, b"old")
    };
    feed(&mut conn, at(22), &too_old);
    assert_eq!(conn.recv_queue(), 0);
    assert!(out1(&mut conn, at(22)).is_pure_ack());
    let acceptable = TcpRepr {
        ack_number: Some(una - 500),
        ..peer.data(b"new")
    };
    feed(&mut conn, at(23), &acceptable);
    assert_eq!(read_all(&mut conn), b"new");
}

// RFC 5961 §7: at most `challenge_ack_limit` challenge ACKs per second.
#[test]
fn challenge_ack_rate_limited() {
    let cfg = Config {
        challenge_ack_limit: 5,
        ..Config::default()
    };
    let (mut conn, peer) = open(Setup::with_cfg(cfg));
    let mut acks = 0;
    for i in 0..20 {
        feed(&mut conn, at(100 + i * 10), &peer.rst(peer.seq + 10));
        acks += out(&mut conn, at(100 + i * 10)).len();
    }
    assert_eq!(acks, 5);
    // A new second, a new budget.
    feed(&mut conn, at(1_200), &peer.syn());
    assert_eq!(out(&mut conn, at(1_200)).len(), 1);
    assert_eq!(conn.state(), State::Established);
}

// RFC 9293 §3.3.2: every one of the eleven states is reachable through the interface.
#[test]
fn all_eleven_states_reached() {
    let mut seen = std::collections::BTreeSet::new();
    let cfg = Config::default();
    let mut listen: Conn =
        Connection::listen(&cfg, tuple().local, at(0), vec![0; 4096], vec![0; 4096]);
    seen.insert(listen.state().to_string());
    feed(&mut listen, at(1), &Peer::new(PeerOpts::default()).syn());
    seen.insert(listen.state().to_string());
    let mut conn = connect(&Setup::default());
    seen.insert(conn.state().to_string());
    conn.abort();
    seen.insert(conn.state().to_string());
    for state in SYNCHRONIZED {
        seen.insert(in_state(state).0.state().to_string());
    }
    assert_eq!(seen.len(), 11, "{seen:?}");
}

// RFC 9293 §3.10.4 (SYN-RECEIVED): a close waits for the handshake, then the FIN goes
// (straight to FIN-WAIT-1).
#[test]
fn close_in_syn_received_sends_fin_after_handshake() {
    let cfg = Config::default();
    let mut conn: Conn =
        Connection::listen(&cfg, tuple().local, at(0), vec![0; 4096], vec![0; 4096]);
    let mut peer = Peer::new(PeerOpts::default());
    feed(&mut conn, at(1), &peer.syn());
    let syn_ack = out1(&mut conn, at(1));
    conn.close();
    assert_eq!(conn.state(), State::SynReceived);
    assert!(
        out(&mut conn, at(2)).is_empty(),
        "no FIN before the handshake completes"
    );
    peer.seq += 1;
    peer.ack = syn_ack.seq + 1;
    peer.saw(&[syn_ack]);
    feed(&mut conn, at(3), &peer.ack());
    assert_eq!(conn.state(), State::FinWait1);
    let fin = out1(&mut conn, at(3));
    assert!(fin.is_fin());
    assert_eq!(fin.seq, peer.ack);
}

// RFC 6298 §5.4 applied to the FIN (RFC 9293 §3.10.4: the FIN is retransmitted until
// acknowledged).
#[test]
fn unacknowledged_fin_is_retransmitted_on_rto() {
    let (mut conn, _peer) = established_no_sack();
    conn.close();
    let fin = out1(&mut conn, at(20));
    assert_eq!(conn.poll_at(), Some(at(220)));
    let again = out1(&mut conn, at(220));
    assert!(again.is_fin());
    assert_eq!(again.seq, fin.seq);
    assert_eq!(conn.state(), State::FinWait1);
}
