//! The fuzz targets of proto-core's application codecs and state machines (`dhcp`, `dns`,
//! `ntp`, `http`): one plain function each, `pub fn NAME(data: &[u8])`, that must never panic.
//!
//! Shared by the cargo-fuzz binaries (`fuzz_targets/NAME.rs`) and by `cargo test`
//! (`proto-core/tests/fuzz.rs`). Each target parses the input, walks everything the parse
//! hands out, re-emits what it parsed and checks the round trip, and feeds the input to the
//! state machines that would receive it (with the input patched, where needed, to pass their
//! ID checks, so the deeper paths run too).

use std::fmt::{Debug, Display};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};

use proto_core::app::dhcp::{
    ClientConfig, DhcpClient, DhcpPacket, DhcpRepr, DhcpServer, ServerConfig,
};
use proto_core::app::dns::{
    self, Message, MessageBuilder, NameBuf, RData, RecordData, Resolver, ResolverConfig, Section,
    Type,
};
use proto_core::app::http::{self, ChunkedDecoder, EMPTY_HEADER, Status};
use proto_core::app::ntp::{
    LEAP_NONE, NtpClient, NtpClientConfig, NtpPacket, NtpRepr, NtpServer, NtpServerConfig,
    NtpTimestamp, UnixTime,
};
use proto_core::time::Instant;
use proto_core::wire::EthernetAddress;

fn show<T: Display + Debug>(value: &T) {
    black_box(format!("{value} {value:?}"));
}

/// `dhcp`: a DHCP message (UDP payload).
pub fn dhcp(data: &[u8]) {
    if let Ok(p) = DhcpPacket::new_checked(data) {
        black_box((
            p.op(),
            p.htype(),
            p.hlen(),
            p.hops(),
            p.xid(),
            p.secs(),
            p.flags(),
        ));
        black_box((
            p.ciaddr(),
            p.yiaddr(),
            p.siaddr(),
            p.giaddr(),
            p.chaddr(),
            p.sname(),
            p.file(),
        ));
        let mut n = 0;
        let mut failed = false;
        for o in p.options() {
            assert!(!failed, "an error must be the last item");
            n += 1;
            assert!(n <= data.len(), "more options than bytes");
            match o {
                Ok(o) => black_box(o),
                Err(e) => {
                    show(&e);
                    failed = true;
                    continue;
                }
            };
        }
        match DhcpRepr::parse(&p) {
            Ok(repr) => {
                show(&repr);
                let mut out = vec![0u8; repr.buffer_len()];
                assert_eq!(repr.emit(&mut out), out.len());
                let back = DhcpRepr::parse_bytes(&out).expect("our own emit parses");
                assert_eq!(back, repr, "round trip");
            }
            Err(e) => show(&e),
        }
    } else if let Err(e) = DhcpPacket::new_checked(data) {
        show(&e);
    }
    // The machines that receive it.
    let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
    let mut server: DhcpServer<4, 1> = DhcpServer::new(ServerConfig::new(
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 10),
        Ipv4Addr::new(10, 0, 0, 20),
        Ipv4Addr::new(255, 255, 255, 0),
    ));
    let mut out = [0u8; 600];
    for t in [0, 100, 5000] {
        if let Some(r) = server.handle(Instant::from_secs(t), data, &mut out) {
            assert!(r.len <= out.len());
            DhcpRepr::parse_bytes(&out[..r.len]).expect("our reply parses");
        }
    }
    // A client whose transaction ID and MAC the input is patched to match.
    let mut cfg = ClientConfig::new(mac, 1);
    for remembered in [None, Some(Ipv4Addr::new(10, 0, 0, 15))] {
        cfg.remembered_addr = remembered;
        let mut client = DhcpClient::new(cfg, Instant::ZERO);
        let mut buf = [0u8; 600];
        let Some(tx) = client.poll_transmit(Instant::ZERO, &mut buf) else {
            continue;
        };
        let mut patched = data.to_vec();
        if patched.len() >= 34 {
            patched[4..8].copy_from_slice(&buf[4..8]);
            patched[28..34].copy_from_slice(&mac.0);
        }
        for _ in 0..3 {
            black_box(client.handle(Instant::ZERO, &patched, tx.dst));
            while let Some(t) = client.poll_transmit(Instant::ZERO, &mut buf) {
                assert!(t.len <= buf.len());
            }
            black_box(client.handle_timeout(Instant::from_secs(10_000)));
            black_box(client.poll_at());
        }
    }
}

/// Rebuilds a parsed message with [`MessageBuilder`]; `None` when it does not fit.
fn rebuild(msg: &Message<'_>, buf: &mut [u8]) -> Option<usize> {
    let mut b = MessageBuilder::new(buf, &msg.header()).ok()?;
    for q in msg.questions() {
        b.question(&q.name.to_buf(), q.qtype, q.qclass).ok()?;
    }
    for (section, records) in [
        (Section::Answer, msg.answers()),
        (Section::Authority, msg.authorities()),
        (Section::Additional, msg.additionals()),
    ] {
        for r in records {
            let (n1, n2);
            let data = match r.data {
                RData::A(a) => RecordData::A(a),
                RData::Aaaa(a) => RecordData::Aaaa(a),
                RData::Cname(n) => {
                    n1 = n.to_buf();
                    RecordData::Cname(&n1)
                }
                RData::Ns(n) => {
                    n1 = n.to_buf();
                    RecordData::Ns(&n1)
                }
                RData::Ptr(n) => {
                    n1 = n.to_buf();
                    RecordData::Ptr(&n1)
                }
                RData::Mx {
                    preference,
                    exchange,
                } => {
                    n1 = exchange.to_buf();
                    RecordData::Mx {
                        preference,
                        exchange: &n1,
                    }
                }
                RData::Soa {
                    mname,
                    rname,
                    serial,
                    refresh,
                    retry,
                    expire,
                    minimum,
                } => {
                    n1 = mname.to_buf();
                    n2 = rname.to_buf();
                    RecordData::Soa {
                        mname: &n1,
                        rname: &n2,
                        values: [serial, refresh, retry, expire, minimum],
                    }
                }
                RData::Txt(d) => RecordData::Raw(Type::Txt, d),
                RData::Opt(d) => RecordData::Raw(Type::Opt, d),
                RData::Other(d) => RecordData::Raw(r.rtype, d),
            };
            b.record(section, &r.name.to_buf(), r.class, r.ttl, &data)
                .ok()?;
        }
    }
    Some(b.finish())
}

/// `dns`: a DNS message (UDP payload).
pub fn dns(data: &[u8]) {
    let msg = match Message::parse(data) {
        Ok(m) => m,
        Err(e) => {
            show(&e);
            return;
        }
    };
    assert!(msg.len() <= data.len());
    black_box((
        msg.header(),
        msg.counts(),
        msg.edns(),
        msg.rcode(),
        msg.is_empty(),
    ));
    let mut items = 0;
    for q in msg.questions() {
        items += 1;
        black_box((
            q.name.to_string(),
            q.name.to_buf(),
            q.name.wire_len(),
            q.name.is_root(),
        ));
    }
    for s in [Section::Answer, Section::Authority, Section::Additional] {
        for r in msg.records(s) {
            items += 1;
            black_box(format!("{} {:?}", r.name, r.data));
        }
    }
    let counts = msg.counts();
    assert_eq!(
        items,
        counts.iter().map(|&c| usize::from(c)).sum::<usize>(),
        "every counted item is there"
    );
    // Rebuilt (uncompressed names recompressed), the message parses to the same content.
    let mut buf = vec![0u8; 65_535];
    if let Some(len) = rebuild(&msg, &mut buf) {
        let again = Message::parse(&buf[..len]).expect("our own message parses");
        assert_eq!(again.counts(), msg.counts());
        assert_eq!(again.header(), msg.header());
        for (a, b) in again.answers().zip(msg.answers()) {
            assert_eq!(a, b, "records equal");
        }
        for (a, b) in again.questions().zip(msg.questions()) {
            assert_eq!(a, b);
        }
    }
    // The resolver, asked the message's own question, fed the message with its ID.
    let Some(q) = msg.questions().next() else {
        return;
    };
    if !matches!(q.qtype, Type::A | Type::Aaaa) {
        return;
    }
    let text = q.name.to_string();
    if text.contains('\\') || NameBuf::from_text(&text).is_err() {
        return;
    }
    let server: SocketAddr = "10.0.0.53:53".parse().unwrap();
    let mut r = Resolver::<2, 4>::new(&[server], ResolverConfig::default());
    let Ok(h) = r.query(Instant::ZERO, &text, q.qtype) else {
        return;
    };
    let mut out = [0u8; 600];
    let mut patched = data.to_vec();
    for round in 0..12 {
        let now = Instant::from_secs(round);
        r.handle_timeout(now);
        let Some(tx) = r.poll_transmit(now, &mut out) else {
            break;
        };
        let prefix = if tx.over_tcp { 2 } else { 0 };
        patched[..2].copy_from_slice(&out[prefix..prefix + 2]);
        if tx.over_tcp {
            let mut framed = (patched.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&patched);
            black_box(r.handle_tcp(now, tx.handle, &framed));
        } else {
            black_box(r.handle_udp(now, tx.server, tx.local_port, &patched));
        }
        if let Some(result) = r.poll_result(h) {
            match result {
                Ok(a) => black_box(a.addrs().count()),
                Err(e) => {
                    show(&e);
                    0
                }
            };
            break;
        }
    }
    black_box(dns::tcp_message_len(data));
}

/// `ntp`: an NTP packet (UDP payload).
pub fn ntp(data: &[u8]) {
    match NtpPacket::new_checked(data) {
        Ok(p) => {
            black_box((
                p.leap(),
                p.version(),
                p.mode(),
                p.stratum(),
                p.poll(),
                p.precision(),
            ));
            black_box((
                p.root_delay(),
                p.root_dispersion(),
                p.ref_id(),
                p.reference(),
            ));
            black_box((p.origin(), p.receive(), p.transmit()));
            if let Ok(repr) = NtpRepr::parse(&p) {
                let mut out = [0u8; 48];
                repr.emit(&mut out);
                assert_eq!(&out[..], &data[..48], "every bit is kept");
                black_box(repr.kiss_code());
            }
            for pivot in [0i64, 1_700_000_000, 2_085_978_496, -3_000_000_000] {
                let t = p.transmit().to_unix(UnixTime {
                    secs: pivot,
                    nanos: 0,
                });
                // Nanoseconds are coarser than 2^-32 s: the round trip is exact to 1 ns.
                let back = NtpTimestamp::from_unix(t);
                assert!(
                    back.diff_nanos(p.transmit()).abs() <= 1,
                    "conversion round trip"
                );
            }
            show(&p.transmit());
        }
        Err(e) => show(&e),
    }
    let server = NtpServer::new(NtpServerConfig {
        stratum: 2,
        ref_id: [10, 0, 0, 1],
        precision: -20,
        root_delay: 0,
        root_dispersion: 0,
        leap: LEAP_NONE,
        reference: NtpTimestamp(1),
    });
    let mut out = [0u8; 48];
    if let Ok(n) = server.respond(data, NtpTimestamp(5), NtpTimestamp(6), &mut out) {
        assert_eq!(n, 48);
    }
    // A client whose cookie the input is patched to echo.
    let mut c = NtpClient::<2>::new(NtpClientConfig::default(), Instant::ZERO);
    let mut patched = data.to_vec();
    for round in 0..4 {
        let now = Instant::from_secs(round * 3);
        c.handle_timeout(now);
        if c.poll_transmit(now, NtpTimestamp(round << 32), &mut out)
            .is_some()
            && patched.len() >= 48
        {
            patched[24..32].copy_from_slice(&out[40..48]);
        }
        if let Some(s) = c.handle(now, NtpTimestamp((round << 32) + 7), &patched) {
            assert!(s.delay_ns >= 0);
        }
        if let Some(r) = c.poll_result() {
            if let Err(e) = r {
                show(&e);
            }
            break;
        }
    }
}

/// `http`: bytes of a request or response head (and maybe a chunked body).
pub fn http(data: &[u8]) {
    for slots in [16usize, 2] {
        let mut headers = vec![EMPTY_HEADER; slots];
        match http::parse_request(data, &mut headers) {
            Ok(Status::Complete(r)) => {
                assert!(r.head_len <= data.len() && r.headers.len() <= slots);
                black_box((r.method, r.target, r.version, r.body, r.header("host")));
            }
            Ok(Status::Partial) => {}
            Err(e) => show(&e),
        }
        let mut headers = vec![EMPTY_HEADER; slots];
        match http::parse_response(data, &mut headers) {
            Ok(Status::Complete(r)) => {
                assert!(r.head_len <= data.len());
                black_box((r.status, r.reason, r.body));
                chunked(&data[r.head_len..]);
            }
            Ok(Status::Partial) => {}
            Err(e) => show(&e),
        }
    }
    chunked(data);
}

/// Decodes `body` as chunked, whole and in 7-byte pieces: the same data both ways.
fn chunked(body: &[u8]) {
    let mut results = Vec::new();
    for step in [body.len().max(1), 7] {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut at = 0;
        let mut error = false;
        'outer: while at < body.len() {
            let end = (at + step).min(body.len());
            let mut input = &body[at..end];
            while !input.is_empty() {
                match d.decode(input) {
                    Ok((used, data)) => {
                        assert!(used <= input.len() && data.len() <= used);
                        out.extend_from_slice(data);
                        if used == 0 {
                            break 'outer;
                        }
                        input = &input[used..];
                    }
                    Err(e) => {
                        show(&e);
                        error = true;
                        break 'outer;
                    }
                }
            }
            at = end;
        }
        results.push((out, error, d.is_done()));
    }
    assert_eq!(
        results[0], results[1],
        "decoding does not depend on how input is split"
    );
}
