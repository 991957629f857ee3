//! NTP tests: scapy bytes, era boundaries, leap-second-adjacent conversion, samples, the
//! client's best-of-N, bogus answers and Kiss-o'-Death, the server.

extern crate std;
use std::string::ToString;
use std::vec::Vec;

use super::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A v4 client request, transmit 3913056000.5, by scapy.
const REQUEST: &str = "230006ec0000000000000000000000000000000000000000eeac862f56f8b8000000000000000000e93c7f0080000000";
/// A v4 server reply: stratum 2, ref id 192.168.7.1, origin = the request's transmit.
const REPLY: &str = "240206e90000040000000800c0a80701e93c7ef640000000e93c7f0080000000e93c7f00c0000000e93c7f00c003f000";

fn unix(secs: i64, nanos: u32) -> UnixTime {
    UnixTime { secs, nanos }
}

#[test]
fn parses_scapy_packets_and_round_trips() {
    for hex in [REQUEST, REPLY] {
        let b = unhex(hex);
        let p = NtpPacket::new_checked(&b[..]).unwrap();
        let r = NtpRepr::parse(&p).unwrap();
        let mut out = [0u8; 48];
        assert_eq!(r.emit(&mut out), 48);
        assert_eq!(&out[..], &b[..]);
    }
    let b = unhex(REPLY);
    let r = NtpRepr::parse(&NtpPacket::new_checked(&b[..]).unwrap()).unwrap();
    assert_eq!(
        (r.version, r.mode, r.stratum, r.poll, r.precision),
        (4, Mode::Server, 2, 6, -23)
    );
    assert_eq!(r.ref_id, [192, 168, 7, 1]);
    assert_eq!(r.root_delay, 0x400); // 1/64 s in 16.16
    assert_eq!(r.origin, NtpTimestamp::new(3_913_056_000, 0x8000_0000));
    assert_eq!(r.receive.fraction(), 0xc000_0000);
    for len in 0..48 {
        assert_eq!(
            NtpPacket::new_checked(&b[..len]).unwrap_err().to_string(),
            std::format!("NTP: header truncated: need 48 bytes, have {len}")
        );
    }
    let mut bad = b.clone();
    bad[0] = 0x3c; // version 7
    assert_eq!(
        NtpRepr::parse(&NtpPacket::new_checked(&bad[..]).unwrap())
            .unwrap_err()
            .to_string(),
        "NTP: version 7 is invalid, expected 1 to 4"
    );
}

#[test]
fn unix_conversion_at_the_era_boundary() {
    // 2036-02-07 06:28:16 UTC: NTP seconds wrap to 0, era 1 begins.
    let boundary = 2_085_978_496;
    let before = unix(boundary - 1, 999_999_999);
    let at = unix(boundary, 0);
    let ts_before = NtpTimestamp::from_unix(before);
    let ts_at = NtpTimestamp::from_unix(at);
    assert_eq!(ts_before.seconds(), u32::MAX);
    assert_eq!(ts_at, NtpTimestamp::ZERO);
    assert_eq!(NtpTimestamp::era_of(before), 0);
    assert_eq!(NtpTimestamp::era_of(at), 1);
    // Pivots on either side of the boundary pick the right era.
    for pivot in [
        unix(1_700_000_000, 0),
        unix(boundary + 86_400, 0),
        unix(boundary - 5, 0),
    ] {
        assert_eq!(ts_before.to_unix(pivot), before, "{pivot:?}");
        assert_eq!(ts_at.to_unix(pivot), at, "{pivot:?}");
    }
    assert_eq!(ts_at.to_unix_in_era(0), unix(-UNIX_OFFSET, 0)); // 1900-01-01
    // A difference across the boundary is small and right.
    assert_eq!(ts_at.diff_nanos(ts_before), 1);
    assert_eq!(ts_before.diff_nanos(ts_at), -1);
    // The Unix epoch and 1900.
    assert_eq!(
        NtpTimestamp::from_unix(unix(0, 0)).seconds(),
        UNIX_OFFSET as u32
    );
    assert_eq!(
        NtpTimestamp::new(0, 0).to_unix(unix(-2_208_988_000, 0)),
        unix(-UNIX_OFFSET, 0)
    );
    // Era -1 and era 2 round trip too.
    for t in [unix(-UNIX_OFFSET - 10, 5), unix(boundary * 3, 123_456_789)] {
        assert_eq!(NtpTimestamp::from_unix(t).to_unix(t), t);
    }
}

#[test]
fn conversion_round_trips_to_the_nanosecond() {
    let mut rng = crate::rand::Rng::new(5);
    for _ in 0..10_000 {
        let t = unix(
            rng.below(4_000_000_000) as i64 - 2_500_000_000,
            rng.below(1_000_000_000) as u32,
        );
        let ts = NtpTimestamp::from_unix(t);
        assert_eq!(ts.to_unix(t), t);
        assert_eq!(ts.to_unix(unix(t.secs + 2_000_000_000, 0)), t);
        assert_eq!(ts.to_unix(unix(t.secs - 2_000_000_000, 0)), t);
    }
}

#[test]
fn leap_second_adjacent_conversion_is_a_constant_shift() {
    // The leap second at the end of 2016-12-31: Unix 1483228799 is 23:59:59, 1483228800 is
    // 2017-01-01 00:00:00; the leap second itself has no number in either scale.
    let last = unix(1_483_228_799, 500_000_000);
    let next = unix(1_483_228_800, 0);
    assert_eq!(NtpTimestamp::from_unix(last).seconds(), 3_692_217_599);
    assert_eq!(NtpTimestamp::from_unix(next).seconds(), 3_692_217_600);
    assert_eq!(
        NtpTimestamp::from_unix(next).diff_nanos(NtpTimestamp::from_unix(last)),
        500_000_000
    );
    // A server announcing it: LI = 1 parsed and carried into the sample.
    let mut b = unhex(REPLY);
    b[0] = (LEAP_ADD << 6) | (4 << 3) | 4;
    let p = NtpPacket::new_checked(&b[..]).unwrap();
    assert_eq!(p.leap(), LEAP_ADD);
}

#[cfg(feature = "std")]
#[test]
fn system_time_conversion() {
    use std::time::{Duration as StdDuration, UNIX_EPOCH};
    let t = UNIX_EPOCH + StdDuration::new(2_085_978_496 + 10, 250_000_000);
    let ts = NtpTimestamp::from_system_time(t);
    assert_eq!(ts, NtpTimestamp::new(10, 0x4000_0000));
    assert_eq!(
        ts.to_system_time(UNIX_EPOCH + StdDuration::from_secs(2_000_000_000)),
        t
    );
    let before = UNIX_EPOCH - StdDuration::from_secs(86_400);
    assert_eq!(UnixTime::from_system_time(before), unix(-86_400, 0));
    assert_eq!(UnixTime::from_system_time(before).to_system_time(), before);
}

#[test]
fn sample_offset_and_delay() {
    let ts = |s: u32, ms: u64| NtpTimestamp::new(s, ((ms << 32) / 1000) as u32);
    // Server 1 s ahead, 20 ms each way, 5 ms processing.
    let s = Sample::from_timestamps(ts(100, 0), ts(101, 20), ts(101, 25), ts(100, 45));
    assert!((s.offset_ns - 1_000_000_000).abs() <= 2, "{s:?}");
    assert!((s.delay_ns - 40_000_000).abs() <= 2, "{s:?}");
    // Server behind by 3 s, across the era boundary.
    let s = Sample::from_timestamps(
        ts(1, 0),
        NtpTimestamp::new(u32::MAX - 1, 0),
        NtpTimestamp::new(u32::MAX - 1, 0),
        ts(1, 0),
    );
    assert_eq!(s.offset_ns, -3_000_000_000);
    assert_eq!(s.delay_ns, 0);
}

/// A server reply to `request` with T2/T3 `server_now` + the given delays (ns from `t1`).
fn reply_to(request: &[u8], t2: NtpTimestamp, t3: NtpTimestamp) -> Vec<u8> {
    let server = NtpServer::new(NtpServerConfig {
        stratum: 2,
        ref_id: [10, 0, 0, 1],
        precision: -20,
        root_delay: 0,
        root_dispersion: 0,
        leap: LEAP_NONE,
        reference: t2,
    });
    let mut out = [0u8; 48];
    let n = server.respond(request, t2, t3, &mut out).unwrap();
    out[..n].to_vec()
}

fn wall(ms: u64) -> NtpTimestamp {
    NtpTimestamp::from_unix(UnixTime::from_nanos(
        1_700_000_000_000_000_000 + i128::from(ms) * 1_000_000,
    ))
}

#[test]
fn client_takes_the_lowest_delay_of_n() {
    let cfg = NtpClientConfig {
        seed: 9,
        ..NtpClientConfig::default()
    };
    let mut c = NtpClient::<4>::new(cfg, Instant::ZERO);
    let mut now = Instant::ZERO;
    let mut buf = [0u8; 64];
    // Round-trip delays 80, 20, 50, (lost) ms; the server is 500 ms ahead.
    for (i, rtt) in [Some(80u64), Some(20), Some(50), None]
        .into_iter()
        .enumerate()
    {
        assert_eq!(c.poll_at(), Some(now));
        let t1 = now.millis();
        let n = c
            .poll_transmit(now, wall(t1), &mut buf)
            .expect("request due");
        assert!(
            c.poll_transmit(now, wall(t1), &mut buf).is_none(),
            "one at a time"
        );
        let req = buf[..n].to_vec();
        match rtt {
            Some(rtt) => {
                let t2 = wall(t1 + rtt / 2 + 500);
                let reply = reply_to(&req, t2, t2);
                now += Duration::from_millis(rtt);
                let s = c.handle(now, wall(now.millis()), &reply).expect("sample");
                assert!(
                    (s.delay_ns - rtt as i64 * 1_000_000).abs() < 10,
                    "{i}: {s:?}"
                );
                assert!((s.offset_ns - 500_000_000).abs() < 10, "{i}: {s:?}");
                // The same reply again is no longer outstanding: ignored.
                assert!(c.handle(now, wall(now.millis()), &reply).is_none());
            }
            None => {
                assert_eq!(c.poll_at(), Some(now + cfg.timeout));
                now += cfg.timeout;
                c.handle_timeout(now);
            }
        }
        // The next request waits for the interval.
        if i < 3 {
            let next = c.poll_at().unwrap();
            assert!(next >= now);
            now = next;
        }
    }
    let best = c.poll_result().unwrap().unwrap();
    assert!((best.delay_ns - 20_000_000).abs() < 10);
    assert_eq!(best.stratum, 2);
    assert_eq!(c.samples().count(), 3);
    assert!(c.is_done() && c.poll_at().is_none());
}

#[test]
fn bogus_answers_are_ignored() {
    let mut c = NtpClient::<1>::new(NtpClientConfig::default(), Instant::ZERO);
    let mut buf = [0u8; 48];
    let n = c.poll_transmit(Instant::ZERO, wall(0), &mut buf).unwrap();
    let req = buf[..n].to_vec();
    let good = reply_to(&req, wall(10), wall(10));
    // Wrong origin.
    let mut bad = good.clone();
    bad[31] ^= 1;
    assert!(c.handle(Instant::ZERO, wall(20), &bad).is_none());
    // A client-mode packet.
    let mut bad = good.clone();
    bad[0] = (bad[0] & !7) | 3;
    assert!(c.handle(Instant::ZERO, wall(20), &bad).is_none());
    // Truncated.
    assert!(c.handle(Instant::ZERO, wall(20), &good[..40]).is_none());
    assert!(!c.is_done());
    assert!(c.handle(Instant::ZERO, wall(20), &good).is_some());
    assert!(c.poll_result().unwrap().is_ok());
}

#[test]
fn unsynchronized_server_gives_no_sample_and_all_lost_is_an_error() {
    let mut c = NtpClient::<2>::new(NtpClientConfig::default(), Instant::ZERO);
    let mut buf = [0u8; 48];
    let n = c.poll_transmit(Instant::ZERO, wall(0), &mut buf).unwrap();
    let mut reply = reply_to(&buf[..n], wall(1), wall(1));
    reply[0] |= LEAP_UNSYNC << 6;
    assert!(c.handle(Instant::ZERO, wall(2), &reply).is_none());
    let now = c.poll_at().unwrap();
    assert!(c.poll_transmit(now, wall(2000), &mut buf).is_some());
    let now = c.poll_at().unwrap();
    c.handle_timeout(now);
    assert_eq!(c.poll_result(), Some(Err(NtpError::NoResponse)));
}

fn kod(request: &[u8], code: &[u8; 4]) -> Vec<u8> {
    let mut reply = reply_to(request, NtpTimestamp::ZERO, NtpTimestamp::ZERO);
    reply[1] = 0; // stratum 0
    reply[2] = 10; // poll 2^10
    reply[12..16].copy_from_slice(code);
    reply
}

#[test]
fn kiss_of_death_stops_the_client() {
    for (code, want) in [
        (b"RATE", NtpError::RateLimited { poll: 10 }),
        (b"DENY", NtpError::Denied(*b"DENY")),
        (b"RSTR", NtpError::Denied(*b"RSTR")),
    ] {
        let mut c = NtpClient::<3>::new(NtpClientConfig::default(), Instant::ZERO);
        let mut buf = [0u8; 48];
        let n = c.poll_transmit(Instant::ZERO, wall(0), &mut buf).unwrap();
        assert!(
            c.handle(Instant::ZERO, wall(1), &kod(&buf[..n], code))
                .is_none()
        );
        assert_eq!(c.poll_result(), Some(Err(want)));
        assert!(c.poll_at().is_none());
        assert!(
            c.poll_transmit(Instant::from_secs(100), wall(0), &mut buf)
                .is_none()
        );
    }
    assert_eq!(
        NtpError::Denied(*b"DENY").to_string(),
        "NTP: access denied (kiss code DENY)"
    );
    // An unknown kiss code is not fatal.
    let mut c = NtpClient::<1>::new(NtpClientConfig::default(), Instant::ZERO);
    let mut buf = [0u8; 48];
    let n = c.poll_transmit(Instant::ZERO, wall(0), &mut buf).unwrap();
    assert!(
        c.handle(Instant::ZERO, wall(1), &kod(&buf[..n], b"INIT"))
            .is_none()
    );
    assert_eq!(c.poll_result(), Some(Err(NtpError::NoResponse)));
}

#[test]
fn server_answers_clients_only() {
    let req = unhex(REQUEST);
    let t2 = NtpTimestamp::new(3_913_056_000, 0xc000_0000);
    let reply = reply_to(&req, t2, t2);
    let r = NtpRepr::parse(&NtpPacket::new_checked(&reply[..]).unwrap()).unwrap();
    assert_eq!((r.mode, r.version, r.stratum), (Mode::Server, 4, 2));
    assert_eq!(r.origin, NtpTimestamp::new(3_913_056_000, 0x8000_0000));
    assert_eq!((r.receive, r.transmit), (t2, t2));
    let server = NtpServer::new(NtpServerConfig {
        stratum: 1,
        ref_id: *b"GPS\0",
        precision: -20,
        root_delay: 0,
        root_dispersion: 0,
        leap: LEAP_NONE,
        reference: t2,
    });
    let e = server
        .respond(&unhex(REPLY), t2, t2, &mut [0u8; 48])
        .unwrap_err();
    assert_eq!(e.to_string(), "NTP: mode 4 is invalid, expected 3 (client)");
    assert!(server.respond(&req, t2, t2, &mut [0u8; 47]).is_err());
}
