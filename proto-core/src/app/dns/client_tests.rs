//! Resolver tests on simulated time: answers, CNAME chains, TC -> TCP, timeouts and server
//! rotation, spoof checks, EDNS fallback, the cache.

extern crate std;
use std::vec::Vec;

use super::*;
use crate::app::dns::{Edns, Header, MessageBuilder, RecordData, Section};
use core::net::{Ipv4Addr, Ipv6Addr};

fn s(n: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), 53)
}

fn resolver(servers: &[SocketAddr]) -> Resolver<4, 8> {
    Resolver::new(
        servers,
        ResolverConfig {
            seed: 42,
            ..ResolverConfig::default()
        },
    )
}

fn name(s: &str) -> NameBuf {
    NameBuf::from_text(s).unwrap()
}

/// What a recursive server would answer to `query`: same ID and question, RA set, then
/// `records` (owner, ttl, data) and the rcode/TC given.
fn reply(query: &[u8], rcode: Rcode, tc: bool, records: &[(&str, u32, RecordData<'_>)]) -> Vec<u8> {
    let q = Message::parse(query).unwrap();
    let question = q.questions().next().unwrap();
    let header = Header {
        id: q.header().id,
        response: true,
        recursion_desired: true,
        recursion_available: true,
        truncated: tc,
        rcode: rcode.into(),
        ..Header::default()
    };
    let mut buf = [0u8; 1024];
    let mut b = MessageBuilder::new(&mut buf, &header).unwrap();
    b.question(&question.name.to_buf(), question.qtype, question.qclass)
        .unwrap();
    for (owner, ttl, data) in records {
        b.record(Section::Answer, &name(owner), CLASS_IN, *ttl, data)
            .unwrap();
    }
    if q.edns().is_some() {
        b.edns(&Edns {
            udp_payload_size: 1232,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
        })
        .unwrap();
    }
    let len = b.finish();
    buf[..len].to_vec()
}

fn a(n: u8) -> RecordData<'static> {
    RecordData::A(Ipv4Addr::new(93, 184, 216, n))
}

/// Sends the next query; returns it and its transmit.
fn next(r: &mut Resolver<4, 8>, now: Instant) -> (Transmit, Vec<u8>) {
    let mut buf = [0u8; 600];
    let tx = r.poll_transmit(now, &mut buf).expect("a query due");
    (tx, buf[..tx.len].to_vec())
}

#[test]
fn resolves_an_a_record_with_edns_and_caches_it() {
    let mut r = resolver(&[s(1)]);
    let now = Instant::ZERO;
    let h = r.query(now, "Example.com", Type::A).unwrap();
    let (tx, q) = next(&mut r, now);
    assert_eq!((tx.server, tx.over_tcp, tx.handle), (s(1), false, h));
    assert!(tx.local_port >= 49152);
    let msg = Message::parse(&q).unwrap();
    assert!(msg.header().recursion_desired);
    assert_eq!(msg.edns().unwrap().udp_payload_size, 1232);
    assert!(r.poll_transmit(now, &mut [0u8; 600]).is_none());
    assert!(r.handle_udp(
        now,
        s(1),
        tx.local_port,
        &reply(
            &q,
            Rcode::NoError,
            false,
            &[("example.com", 300, a(34)), ("example.com", 60, a(35))]
        )
    ));
    let ans = r.poll_result(h).unwrap().unwrap();
    assert_eq!(
        ans.addrs().collect::<Vec<_>>(),
        [
            IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34)),
            IpAddr::V4(Ipv4Addr::new(93, 184, 216, 35))
        ]
    );
    assert_eq!((ans.ttl, ans.from_cache), (60, false));
    assert!(ans.canonical.eq_ignore_case(&name("example.com")));
    assert!(r.poll_result(h).is_none(), "taken once");
    // From the cache, TTL counting down; then expired.
    let later = Instant::from_secs(20);
    let h = r.query(later, "EXAMPLE.COM.", Type::A).unwrap();
    let cached = r.poll_result(h).unwrap().unwrap();
    assert_eq!((cached.ttl, cached.from_cache), (40, true));
    assert!(r.poll_transmit(later, &mut [0u8; 600]).is_none());
    let h = r
        .query(Instant::from_secs(60), "example.com", Type::A)
        .unwrap();
    assert!(r.poll_result(h).is_none());
    assert!(
        r.poll_transmit(Instant::from_secs(60), &mut [0u8; 600])
            .is_some()
    );
    // AAAA is a different key.
    let h = r.query(later, "example.com", Type::Aaaa).unwrap();
    assert!(r.poll_result(h).is_none());
}

#[test]
fn aaaa_and_a_cname_chain_in_one_answer() {
    let mut r = resolver(&[s(1)]);
    let h = r
        .query(Instant::ZERO, "www.example.com", Type::Aaaa)
        .unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    let web = name("web.example.com");
    let cdn = name("cdn.example.net");
    let rep = reply(
        &q,
        Rcode::NoError,
        false,
        &[
            ("www.example.com", 300, RecordData::Cname(&web)),
            ("web.example.com", 100, RecordData::Cname(&cdn)),
            (
                "cdn.example.net",
                200,
                RecordData::Aaaa(Ipv6Addr::LOCALHOST),
            ),
            ("other.example", 1, RecordData::Aaaa(Ipv6Addr::UNSPECIFIED)),
        ],
    );
    assert!(r.handle_udp(Instant::ZERO, s(1), tx.local_port, &rep));
    let ans = r.poll_result(h).unwrap().unwrap();
    assert_eq!(
        ans.addrs().collect::<Vec<_>>(),
        [IpAddr::V6(Ipv6Addr::LOCALHOST)]
    );
    assert!(ans.canonical.eq_ignore_case(&cdn));
    assert_eq!(ans.ttl, 100);
}

#[test]
fn a_cname_only_answer_is_followed_with_a_new_query() {
    let mut r = resolver(&[s(1)]);
    let h = r.query(Instant::ZERO, "alias.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    let target = name("real.example");
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx.local_port,
        &reply(
            &q,
            Rcode::NoError,
            false,
            &[("alias.example", 50, RecordData::Cname(&target))]
        )
    ));
    assert!(r.poll_result(h).is_none());
    let (tx2, q2) = next(&mut r, Instant::ZERO);
    let asked = Message::parse(&q2).unwrap();
    assert!(asked.questions().next().unwrap().name.eq_buf(&target));
    assert_ne!(tx2.local_port, tx.local_port);
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx2.local_port,
        &reply(&q2, Rcode::NoError, false, &[("real.example", 500, a(1))])
    ));
    let ans = r.poll_result(h).unwrap().unwrap();
    assert!(ans.canonical.eq_ignore_case(&target));
    assert_eq!(ans.ttl, 50);
}

#[test]
fn long_cname_chains_fail() {
    let mut r = resolver(&[s(1)]);
    let h = r.query(Instant::ZERO, "c0.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    let names: Vec<NameBuf> = (1..=10)
        .map(|i| name(&std::format!("c{i}.example")))
        .collect();
    let owners: Vec<std::string::String> = (0..10).map(|i| std::format!("c{i}.example")).collect();
    let records: Vec<_> = (0..10)
        .map(|i| (owners[i].as_str(), 60, RecordData::Cname(&names[i])))
        .collect();
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx.local_port,
        &reply(&q, Rcode::NoError, false, &records)
    ));
    assert_eq!(r.poll_result(h), Some(Err(DnsError::CnameChainTooLong)));
    // A loop a -> b -> a ends the same way.
    let h = r.query(Instant::ZERO, "a.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    let (na, nb) = (name("a.example"), name("b.example"));
    let rep = reply(
        &q,
        Rcode::NoError,
        false,
        &[
            ("a.example", 1, RecordData::Cname(&nb)),
            ("b.example", 1, RecordData::Cname(&na)),
        ],
    );
    assert!(r.handle_udp(Instant::ZERO, s(1), tx.local_port, &rep));
    assert_eq!(r.poll_result(h), Some(Err(DnsError::CnameChainTooLong)));
}

#[test]
fn truncated_answers_are_retried_over_tcp() {
    let mut r = resolver(&[s(1), s(2)]);
    let h = r.query(Instant::ZERO, "big.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx.local_port,
        &reply(&q, Rcode::NoError, true, &[])
    ));
    let (tx, framed) = next(&mut r, Instant::ZERO);
    assert!(tx.over_tcp);
    assert_eq!(tx.server, s(1), "same server");
    assert_eq!(tcp_message_len(&framed), Some(framed.len()));
    let q = &framed[2..];
    let rep = reply(q, Rcode::NoError, false, &[("big.example", 60, a(7))]);
    // A UDP reply no longer counts; an unframed TCP reply is refused.
    assert!(!r.handle_udp(Instant::ZERO, s(1), tx.local_port, &rep));
    assert!(!r.handle_tcp(Instant::ZERO, h, &rep));
    let mut framed_rep = (rep.len() as u16).to_be_bytes().to_vec();
    framed_rep.extend_from_slice(&rep);
    assert!(r.handle_tcp(Instant::ZERO, h, &framed_rep));
    assert_eq!(r.poll_result(h).unwrap().unwrap().addrs().count(), 1);
    // A TCP timeout moves on to the next server over UDP.
    let h = r.query(Instant::ZERO, "big2.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    assert!(r.handle_udp(
        Instant::ZERO,
        tx.server,
        tx.local_port,
        &reply(&q, Rcode::NoError, true, &[])
    ));
    let (tx, _) = next(&mut r, Instant::ZERO);
    assert!(tx.over_tcp);
    let t = Instant::ZERO + ResolverConfig::default().tcp_timeout;
    assert_eq!(r.poll_at(), Some(t));
    r.handle_timeout(t);
    let (tx, _) = next(&mut r, t);
    assert_eq!((tx.server, tx.over_tcp), (s(2), false));
    r.cancel(h);
    assert!(r.poll_at().is_none());
}

#[test]
fn timeouts_rotate_servers_then_fail() {
    let mut r = resolver(&[s(1), s(2)]);
    let h = r.query(Instant::ZERO, "slow.example", Type::A).unwrap();
    let mut now = Instant::ZERO;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (tx, q) = next(&mut r, now);
        seen.push((
            tx.server,
            Message::parse(&q).unwrap().header().id,
            tx.local_port,
        ));
        now = r.poll_at().unwrap();
        assert!(r.poll_result(h).is_none());
        r.handle_timeout(now);
    }
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        [s(1), s(2), s(1), s(2)]
    );
    assert_eq!(now, Instant::from_secs(8));
    // A fresh ID and port on each attempt.
    let ids: std::collections::HashSet<_> = seen.iter().map(|s| (s.1, s.2)).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(r.poll_result(h), Some(Err(DnsError::Timeout)));
}

#[test]
fn server_failures_move_on_and_report_the_rcode() {
    let mut r = resolver(&[s(1), s(2)]);
    let h = r.query(Instant::ZERO, "broken.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx.local_port,
        &reply(&q, Rcode::ServFail, false, &[])
    ));
    let (tx, q) = next(&mut r, Instant::ZERO);
    assert_eq!(tx.server, s(2));
    assert!(r.handle_udp(
        Instant::ZERO,
        s(2),
        tx.local_port,
        &reply(&q, Rcode::NoError, false, &[("broken.example", 5, a(9))])
    ));
    assert!(r.poll_result(h).unwrap().is_ok());
    let h = r.query(Instant::ZERO, "refused.example", Type::A).unwrap();
    for _ in 0..4 {
        let (tx, q) = next(&mut r, Instant::ZERO);
        assert!(r.handle_udp(
            Instant::ZERO,
            tx.server,
            tx.local_port,
            &reply(&q, Rcode::Refused, false, &[])
        ));
    }
    assert_eq!(
        r.poll_result(h),
        Some(Err(DnsError::ServerFailure(Rcode::Refused)))
    );
}

#[test]
fn mismatched_answers_are_ignored() {
    let mut r = resolver(&[s(1)]);
    let h = r.query(Instant::ZERO, "target.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    let good = reply(&q, Rcode::NoError, false, &[("target.example", 60, a(1))]);
    let mut wrong_id = good.clone();
    wrong_id[1] ^= 1;
    assert!(!r.handle_udp(Instant::ZERO, s(1), tx.local_port, &wrong_id));
    let mut other_q = q.clone();
    other_q[13] = b'T' ^ 0x01; // another name in the question
    let wrong_question = reply(
        &other_q,
        Rcode::NoError,
        false,
        &[("target.example", 60, a(1))],
    );
    assert!(!r.handle_udp(Instant::ZERO, s(1), tx.local_port, &wrong_question));
    let mut as_query = good.clone();
    as_query[2] &= 0x7f; // QR clear
    assert!(!r.handle_udp(Instant::ZERO, s(1), tx.local_port, &as_query));
    assert!(
        !r.handle_udp(Instant::ZERO, s(2), tx.local_port, &good),
        "wrong source"
    );
    assert!(
        !r.handle_udp(Instant::ZERO, s(1), tx.local_port ^ 1, &good),
        "wrong port"
    );
    assert!(
        !r.handle_udp(Instant::ZERO, s(1), tx.local_port, &good[..20]),
        "malformed"
    );
    assert!(r.poll_result(h).is_none());
    // Case differences in the echoed question are fine (RFC 1035 §2.3.3).
    let mut upper = good.clone();
    upper[13..19].make_ascii_uppercase();
    assert!(r.handle_udp(Instant::ZERO, s(1), tx.local_port, &upper));
    assert!(r.poll_result(h).unwrap().is_ok());
}

#[test]
fn nxdomain_nodata_and_formerr_fallback() {
    let mut r = resolver(&[s(1)]);
    let h = r.query(Instant::ZERO, "nope.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx.local_port,
        &reply(&q, Rcode::NxDomain, false, &[])
    ));
    assert_eq!(r.poll_result(h), Some(Err(DnsError::NxDomain)));
    let h = r
        .query(Instant::ZERO, "v4only.example", Type::Aaaa)
        .unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx.local_port,
        &reply(&q, Rcode::NoError, false, &[])
    ));
    assert_eq!(r.poll_result(h), Some(Err(DnsError::NoData)));
    // An old server answering FORMERR to EDNS: asked again without the OPT record.
    let h = r.query(Instant::ZERO, "old.example", Type::A).unwrap();
    let (tx, q) = next(&mut r, Instant::ZERO);
    assert!(Message::parse(&q).unwrap().edns().is_some());
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx.local_port,
        &reply(&q, Rcode::FormErr, false, &[])
    ));
    let (tx, q) = next(&mut r, Instant::ZERO);
    assert!(Message::parse(&q).unwrap().edns().is_none());
    assert!(r.handle_udp(
        Instant::ZERO,
        s(1),
        tx.local_port,
        &reply(&q, Rcode::NoError, false, &[("old.example", 1, a(2))])
    ));
    assert!(r.poll_result(h).unwrap().is_ok());
}

#[test]
fn query_errors_and_limits() {
    let mut r = resolver(&[s(1)]);
    assert!(matches!(
        r.query(Instant::ZERO, "a..b", Type::A),
        Err(DnsError::BadName(_))
    ));
    assert_eq!(
        r.query(Instant::ZERO, "x", Type::Mx),
        Err(DnsError::UnsupportedType(Type::Mx))
    );
    let handles: Vec<_> = (0..4)
        .map(|i| {
            r.query(Instant::ZERO, &std::format!("h{i}.example"), Type::A)
                .unwrap()
        })
        .collect();
    assert_eq!(
        r.query(Instant::ZERO, "more.example", Type::A),
        Err(DnsError::TooManyQueries)
    );
    r.cancel(handles[0]);
    let h = r.query(Instant::ZERO, "more.example", Type::A).unwrap();
    assert_ne!(h, handles[0], "a new generation");
    assert!(r.poll_result(handles[0]).is_none());
    let mut empty = resolver(&[]);
    assert_eq!(
        empty.query(Instant::ZERO, "x", Type::A),
        Err(DnsError::NoServers)
    );
    assert_eq!(tcp_message_len(&[0]), None);
    assert_eq!(tcp_message_len(&[1, 0, 9]), Some(258));
}

#[test]
fn the_cache_evicts_the_entry_closest_to_expiry() {
    let mut c = Cache::<2>::default();
    let ans = |n| Answer {
        canonical: name(n),
        addrs: [None; MAX_ADDRS],
        ttl: 0,
        from_cache: false,
    };
    c.insert(Instant::ZERO, &name("a"), Type::A, &ans("a"), 100);
    c.insert(Instant::ZERO, &name("b"), Type::A, &ans("b"), 10);
    c.insert(Instant::ZERO, &name("c"), Type::A, &ans("c"), 50);
    assert!(c.get(Instant::ZERO, &name("a"), Type::A).is_some());
    assert!(c.get(Instant::ZERO, &name("b"), Type::A).is_none());
    assert!(c.get(Instant::ZERO, &name("c"), Type::A).is_some());
    c.insert(Instant::ZERO, &name("zero"), Type::A, &ans("zero"), 0);
    assert!(c.get(Instant::ZERO, &name("zero"), Type::A).is_none());
    c.clear();
    assert!(c.get(Instant::ZERO, &name("a"), Type::A).is_none());
}

#[test]
fn a_short_transmit_buffer_fails_the_query_instead_of_spinning() {
    let mut r = resolver(&[s(1)]);
    let h = r.query(Instant::ZERO, "example.com", Type::A).unwrap();
    assert!(r.poll_transmit(Instant::ZERO, &mut [0u8; 20]).is_none());
    assert_eq!(r.poll_result(h), Some(Err(DnsError::BufferTooSmall)));
    assert!(r.poll_at().is_none());
}
