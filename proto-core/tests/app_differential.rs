//! Differential tests of the application codecs: DHCP against `dhcproto`, DNS against
//! `hickory-proto`, on messages generated with proptest, both ways (encode with one, decode
//! with the other, compare every field), plus the fixtures of the unit tests.

use std::net::{Ipv4Addr, Ipv6Addr};

use dhcproto::v4 as dp;
use dhcproto::{Decodable, Decoder, Encodable};
use hickory_proto::op as hop;
use hickory_proto::rr as hrr;
use proptest::prelude::*;
use proto_core::app::dhcp::{AddrList, DhcpRepr, MessageType};
use proto_core::app::dns::{
    CLASS_IN, Edns, Header, Message, MessageBuilder, NameBuf, RData, RecordData, Section, Type,
};
use proto_core::wire::EthernetAddress;

// ---------------------------------------------------------------- DHCP

/// A DHCP message's fields, generated.
#[derive(Debug, Clone)]
struct DhcpSpec {
    message_type: u8,
    xid: u32,
    secs: u16,
    broadcast: bool,
    addrs: [Ipv4Addr; 4],
    mac: [u8; 6],
    subnet_mask: Option<Ipv4Addr>,
    router: Option<Ipv4Addr>,
    dns: Vec<Ipv4Addr>,
    ntp: Vec<Ipv4Addr>,
    domain: Option<String>,
    hostname: Option<String>,
    requested: Option<Ipv4Addr>,
    server_id: Option<Ipv4Addr>,
    lease: Option<u32>,
    t1: Option<u32>,
    t2: Option<u32>,
    params: Option<Vec<u8>>,
    client_id: Option<Vec<u8>>,
    message: Option<String>,
    max_size: Option<u16>,
}

fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn text() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9.-]{0,40}"
}

prop_compose! {
    fn dhcp_spec()(
        message_type in 1u8..=8,
        xid in any::<u32>(),
        secs in any::<u16>(),
        broadcast in any::<bool>(),
        addrs in [ip(), ip(), ip(), ip()],
        mac in any::<[u8; 6]>(),
        subnet_mask in proptest::option::of(ip()),
        router in proptest::option::of(ip()),
        dns in proptest::collection::vec(ip(), 0..=4),
        ntp in proptest::collection::vec(ip(), 0..=4),
        domain in proptest::option::of(text()),
        hostname in proptest::option::of(text()),
        requested in proptest::option::of(ip()),
        server_id in proptest::option::of(ip()),
        lease in proptest::option::of(any::<u32>()),
        t1 in proptest::option::of(any::<u32>()),
        t2 in proptest::option::of(any::<u32>()),
        params in proptest::option::of(proptest::collection::vec(1u8..=254, 1..12)),
        client_id in proptest::option::of(proptest::collection::vec(any::<u8>(), 2..20)),
        message in proptest::option::of(text()),
        max_size in proptest::option::of(576u16..),
    ) -> DhcpSpec {
        DhcpSpec { message_type, xid, secs, broadcast, addrs, mac, subnet_mask, router, dns, ntp,
            domain, hostname, requested, server_id, lease, t1, t2, params, client_id, message,
            max_size }
    }
}

fn ours_from_spec(s: &DhcpSpec) -> DhcpRepr<'_> {
    let mut r = DhcpRepr::new(
        MessageType::from(s.message_type),
        s.xid,
        EthernetAddress(s.mac),
    );
    r.secs = s.secs;
    r.broadcast = s.broadcast;
    [r.ciaddr, r.yiaddr, r.siaddr, r.giaddr] = s.addrs;
    r.subnet_mask = s.subnet_mask;
    r.router = s.router;
    r.dns_servers = AddrList::from_slice(&s.dns);
    r.ntp_servers = AddrList::from_slice(&s.ntp);
    r.domain_name = s.domain.as_deref().map(str::as_bytes);
    r.hostname = s.hostname.as_deref().map(str::as_bytes);
    r.requested_ip = s.requested;
    r.server_id = s.server_id;
    r.lease_time = s.lease;
    r.renewal_time = s.t1;
    r.rebinding_time = s.t2;
    r.parameter_request_list = s.params.as_deref();
    r.client_id = s.client_id.as_deref();
    r.message = s.message.as_deref().map(str::as_bytes);
    r.max_message_size = s.max_size;
    r
}

fn dhcproto_from_spec(s: &DhcpSpec) -> dp::Message {
    let [ci, yi, si, gi] = s.addrs;
    let mut m = dp::Message::new_with_id(s.xid, ci, yi, si, gi, &s.mac);
    m.set_secs(s.secs);
    if s.broadcast {
        m.set_flags(dp::Flags::default().set_broadcast());
    }
    if MessageType::from(s.message_type).is_reply() {
        m.set_opcode(dp::Opcode::BootReply);
    }
    let o = m.opts_mut();
    o.insert(dp::DhcpOption::MessageType(dp::MessageType::from(
        s.message_type,
    )));
    if let Some(v) = s.subnet_mask {
        o.insert(dp::DhcpOption::SubnetMask(v));
    }
    if let Some(v) = s.router {
        o.insert(dp::DhcpOption::Router(vec![v]));
    }
    if !s.dns.is_empty() {
        o.insert(dp::DhcpOption::DomainNameServer(s.dns.clone()));
    }
    if !s.ntp.is_empty() {
        o.insert(dp::DhcpOption::NtpServers(s.ntp.clone()));
    }
    if let Some(v) = &s.domain {
        o.insert(dp::DhcpOption::DomainName(v.clone()));
    }
    if let Some(v) = &s.hostname {
        o.insert(dp::DhcpOption::Hostname(v.clone()));
    }
    if let Some(v) = s.requested {
        o.insert(dp::DhcpOption::RequestedIpAddress(v));
    }
    if let Some(v) = s.server_id {
        o.insert(dp::DhcpOption::ServerIdentifier(v));
    }
    if let Some(v) = s.lease {
        o.insert(dp::DhcpOption::AddressLeaseTime(v));
    }
    if let Some(v) = s.t1 {
        o.insert(dp::DhcpOption::Renewal(v));
    }
    if let Some(v) = s.t2 {
        o.insert(dp::DhcpOption::Rebinding(v));
    }
    if let Some(v) = &s.params {
        o.insert(dp::DhcpOption::ParameterRequestList(
            v.iter().map(|&c| dp::OptionCode::from(c)).collect(),
        ));
    }
    if let Some(v) = &s.client_id {
        o.insert(dp::DhcpOption::ClientIdentifier(v.clone()));
    }
    if let Some(v) = &s.message {
        o.insert(dp::DhcpOption::Message(v.clone()));
    }
    if let Some(v) = s.max_size {
        o.insert(dp::DhcpOption::MaxMessageSize(v));
    }
    m
}

/// Asserts that dhcproto's view of a message matches the spec.
fn check_dhcproto(m: &dp::Message, s: &DhcpSpec) {
    use dp::DhcpOption as O;
    use dp::OptionCode as C;
    assert_eq!(
        (m.xid(), m.secs(), m.flags().broadcast()),
        (s.xid, s.secs, s.broadcast)
    );
    assert_eq!([m.ciaddr(), m.yiaddr(), m.siaddr(), m.giaddr()], s.addrs);
    assert_eq!(&m.chaddr()[..6], &s.mac);
    let o = m.opts();
    assert_eq!(o.msg_type().map(u8::from), Some(s.message_type));
    let get = |c: C| o.get(c).cloned();
    assert_eq!(get(C::SubnetMask), s.subnet_mask.map(O::SubnetMask));
    assert_eq!(get(C::Router), s.router.map(|r| O::Router(vec![r])));
    assert_eq!(
        get(C::DomainNameServer),
        (!s.dns.is_empty()).then(|| O::DomainNameServer(s.dns.clone()))
    );
    assert_eq!(
        get(C::NtpServers),
        (!s.ntp.is_empty()).then(|| O::NtpServers(s.ntp.clone()))
    );
    assert_eq!(get(C::DomainName), s.domain.clone().map(O::DomainName));
    assert_eq!(get(C::Hostname), s.hostname.clone().map(O::Hostname));
    assert_eq!(
        get(C::RequestedIpAddress),
        s.requested.map(O::RequestedIpAddress)
    );
    assert_eq!(
        get(C::ServerIdentifier),
        s.server_id.map(O::ServerIdentifier)
    );
    assert_eq!(get(C::AddressLeaseTime), s.lease.map(O::AddressLeaseTime));
    assert_eq!(get(C::Renewal), s.t1.map(O::Renewal));
    assert_eq!(get(C::Rebinding), s.t2.map(O::Rebinding));
    let params = match get(C::ParameterRequestList) {
        Some(O::ParameterRequestList(v)) => Some(v.into_iter().map(u8::from).collect::<Vec<_>>()),
        None => None,
        other => panic!("{other:?}"),
    };
    assert_eq!(params, s.params);
    assert_eq!(
        get(C::ClientIdentifier),
        s.client_id.clone().map(O::ClientIdentifier)
    );
    assert_eq!(get(C::Message), s.message.clone().map(O::Message));
    assert_eq!(get(C::MaxMessageSize), s.max_size.map(O::MaxMessageSize));
}

/// Asserts that our view of a message matches the spec.
fn check_ours(r: &DhcpRepr<'_>, s: &DhcpSpec) {
    assert_eq!(r, &ours_from_spec(s));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn dhcp_ours_to_dhcproto(s in dhcp_spec()) {
        let repr = ours_from_spec(&s);
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf);
        let m = dp::Message::decode(&mut Decoder::new(&buf)).expect("dhcproto decodes ours");
        check_dhcproto(&m, &s);
    }

    #[test]
    fn dhcp_dhcproto_to_ours(s in dhcp_spec()) {
        let bytes = dhcproto_from_spec(&s).to_vec().expect("dhcproto encodes");
        let repr = DhcpRepr::parse_bytes(&bytes).expect("we decode dhcproto's");
        check_ours(&repr, &s);
    }
}

#[test]
fn dhcp_scapy_offer_reads_the_same_in_both() {
    let mut b = hex(
        "02010600112233440000000000000000c0a80732c0a807010000000002000000000100000000000000000000",
    );
    b.resize(236, 0);
    b.extend(hex("638253633501023604c0a80701330400000e103a04000007083b0400000c4e0104ffffff000304c0a807010608c0a80701090909090f036c616e2a04c0a80702ff"));
    let ours = DhcpRepr::parse_bytes(&b).unwrap();
    let theirs = dp::Message::decode(&mut Decoder::new(&b)).unwrap();
    assert_eq!(theirs.yiaddr(), ours.yiaddr);
    assert_eq!(
        theirs.opts().get(dp::OptionCode::DomainNameServer),
        Some(&dp::DhcpOption::DomainNameServer(
            ours.dns_servers.iter().collect()
        ))
    );
    assert_eq!(
        theirs.opts().get(dp::OptionCode::AddressLeaseTime),
        Some(&dp::DhcpOption::AddressLeaseTime(ours.lease_time.unwrap()))
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ---------------------------------------------------------------- DNS

/// A record's data, generated; names index into the spec's name pool.
#[derive(Debug, Clone)]
enum DataSpec {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(usize),
    Ns(usize),
    Mx(u16, usize),
}

#[derive(Debug, Clone)]
struct DnsSpec {
    id: u16,
    response: bool,
    aa: bool,
    tc: bool,
    rd: bool,
    ra: bool,
    rcode: u8,
    names: Vec<String>,
    question: (usize, bool),
    answers: Vec<(usize, u32, DataSpec)>,
    edns: Option<u16>,
}

fn dns_name() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-zA-Z0-9][a-z0-9-]{0,12}", 1..5).prop_map(|l| l.join("."))
}

fn data_spec() -> impl Strategy<Value = DataSpec> {
    prop_oneof![
        ip().prop_map(DataSpec::A),
        any::<u128>().prop_map(|v| DataSpec::Aaaa(Ipv6Addr::from(v))),
        (0usize..4).prop_map(DataSpec::Cname),
        (0usize..4).prop_map(DataSpec::Ns),
        (any::<u16>(), 0usize..4).prop_map(|(p, n)| DataSpec::Mx(p, n)),
    ]
}

prop_compose! {
    fn dns_spec()(
        id in any::<u16>(),
        flags in any::<[bool; 5]>(),
        rcode in 0u8..=5,
        // Names that share suffixes often, so compression has work to do.
        base in dns_name(),
        prefixes in proptest::collection::vec("[a-z]{1,6}", 4),
        question in (0usize..4, any::<bool>()),
        answers in proptest::collection::vec((0usize..4, any::<u32>(), data_spec()), 0..8),
        edns in proptest::option::of(512u16..),
    ) -> DnsSpec {
        let names = prefixes.iter().enumerate().map(|(i, p)| {
            if i == 0 { base.clone() } else { format!("{p}.{base}") }
        }).filter(|n| n.len() < 200).collect::<Vec<_>>();
        let names = if names.len() == 4 { names } else { vec!["a.example".into(), "b.example".into(), "c.a.example".into(), "example".into()] };
        DnsSpec { id, response: flags[0], aa: flags[1], tc: flags[2], rd: flags[3], ra: flags[4], rcode,
            names, question, answers, edns }
    }
}

fn ours_dns(s: &DnsSpec) -> Vec<u8> {
    let header = Header {
        id: s.id,
        response: s.response,
        authoritative: s.aa,
        truncated: s.tc,
        recursion_desired: s.rd,
        recursion_available: s.ra,
        rcode: s.rcode,
        ..Header::default()
    };
    let names: Vec<NameBuf> = s
        .names
        .iter()
        .map(|n| NameBuf::from_text(n).unwrap())
        .collect();
    let mut buf = vec![0u8; 4096];
    let mut b = MessageBuilder::new(&mut buf, &header).unwrap();
    let qtype = if s.question.1 { Type::Aaaa } else { Type::A };
    b.question(&names[s.question.0], qtype, CLASS_IN).unwrap();
    for (owner, ttl, data) in &s.answers {
        let d = match data {
            DataSpec::A(a) => RecordData::A(*a),
            DataSpec::Aaaa(a) => RecordData::Aaaa(*a),
            DataSpec::Cname(n) => RecordData::Cname(&names[*n]),
            DataSpec::Ns(n) => RecordData::Ns(&names[*n]),
            DataSpec::Mx(p, n) => RecordData::Mx {
                preference: *p,
                exchange: &names[*n],
            },
        };
        b.record(Section::Answer, &names[*owner], CLASS_IN, *ttl, &d)
            .unwrap();
    }
    if let Some(size) = s.edns {
        b.edns(&Edns {
            udp_payload_size: size,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
        })
        .unwrap();
    }
    let len = b.finish();
    buf.truncate(len);
    buf
}

fn hname(s: &str) -> hrr::Name {
    let mut n = hrr::Name::from_ascii(s).unwrap();
    n.set_fqdn(true);
    n
}

fn hickory_dns(s: &DnsSpec) -> Vec<u8> {
    let mt = if s.response {
        hop::MessageType::Response
    } else {
        hop::MessageType::Query
    };
    let mut m = hop::Message::new(s.id, mt, hop::OpCode::Query);
    m.metadata.authoritative = s.aa;
    m.metadata.truncation = s.tc;
    m.metadata.recursion_desired = s.rd;
    m.metadata.recursion_available = s.ra;
    m.metadata.response_code = hop::ResponseCode::from(0, s.rcode);
    let qtype = if s.question.1 {
        hrr::RecordType::AAAA
    } else {
        hrr::RecordType::A
    };
    m.add_query(hop::Query::query(hname(&s.names[s.question.0]), qtype));
    for (owner, ttl, data) in &s.answers {
        use hrr::rdata;
        let d = match data {
            DataSpec::A(a) => hrr::RData::A(rdata::A(*a)),
            DataSpec::Aaaa(a) => hrr::RData::AAAA(rdata::AAAA(*a)),
            DataSpec::Cname(n) => hrr::RData::CNAME(rdata::CNAME(hname(&s.names[*n]))),
            DataSpec::Ns(n) => hrr::RData::NS(rdata::NS(hname(&s.names[*n]))),
            DataSpec::Mx(p, n) => hrr::RData::MX(rdata::MX::new(*p, hname(&s.names[*n]))),
        };
        m.add_answer(hrr::Record::from_rdata(hname(&s.names[*owner]), *ttl, d));
    }
    if let Some(size) = s.edns {
        let mut e = hop::Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

fn same_name(ours: &str, theirs: &hrr::Name) -> bool {
    ours.trim_end_matches('.')
        .eq_ignore_ascii_case(theirs.to_ascii().trim_end_matches('.'))
}

/// Compares our parse and hickory's parse of the same bytes with the spec.
fn compare_dns(bytes: &[u8], s: &DnsSpec) {
    let ours = Message::parse(bytes).expect("we parse");
    let theirs = hop::Message::from_vec(bytes).expect("hickory parses");
    let h = ours.header();
    let md = &theirs.metadata;
    assert_eq!((h.id, md.id), (s.id, s.id));
    assert_eq!(
        (
            h.response,
            h.authoritative,
            h.truncated,
            h.recursion_desired,
            h.recursion_available
        ),
        (s.response, s.aa, s.tc, s.rd, s.ra)
    );
    assert_eq!(md.message_type == hop::MessageType::Response, s.response);
    assert_eq!(
        (
            md.authoritative,
            md.truncation,
            md.recursion_desired,
            md.recursion_available
        ),
        (s.aa, s.tc, s.rd, s.ra)
    );
    assert_eq!(h.rcode, s.rcode);
    assert_eq!(u16::from(md.response_code), u16::from(s.rcode));
    let q = ours.questions().next().unwrap();
    let tq = &theirs.queries[0];
    assert!(same_name(&q.name.to_string(), tq.name()));
    assert!(same_name(&s.names[s.question.0], tq.name()));
    assert_eq!(u16::from(q.qtype), u16::from(tq.query_type()));
    let answers: Vec<_> = ours.answers().collect();
    assert_eq!(answers.len(), s.answers.len());
    assert_eq!(theirs.answers.len(), s.answers.len());
    for ((ours, theirs), (owner, ttl, data)) in answers.iter().zip(&theirs.answers).zip(&s.answers)
    {
        assert!(same_name(&ours.name.to_string(), &theirs.name));
        assert!(same_name(&s.names[*owner], &theirs.name));
        assert_eq!((ours.ttl, theirs.ttl), (*ttl, *ttl));
        match (&ours.data, &theirs.data, data) {
            (RData::A(a), hrr::RData::A(b), DataSpec::A(c)) => assert!(a == &b.0 && a == c),
            (RData::Aaaa(a), hrr::RData::AAAA(b), DataSpec::Aaaa(c)) => {
                assert!(a == &b.0 && a == c)
            }
            (RData::Cname(a), hrr::RData::CNAME(hrr::rdata::CNAME(b)), DataSpec::Cname(n))
            | (RData::Ns(a), hrr::RData::NS(hrr::rdata::NS(b)), DataSpec::Ns(n)) => {
                assert!(same_name(&a.to_string(), b) && same_name(&s.names[*n], b));
            }
            (
                RData::Mx {
                    preference,
                    exchange,
                },
                hrr::RData::MX(mx),
                DataSpec::Mx(p, n),
            ) => {
                assert_eq!((*preference, mx.preference), (*p, *p));
                assert!(
                    same_name(&exchange.to_string(), &mx.exchange)
                        && same_name(&s.names[*n], &mx.exchange)
                );
            }
            other => panic!("mismatch: {other:?}"),
        }
    }
    assert_eq!(
        ours.edns().map(|e| e.udp_payload_size),
        s.edns.map(|e| e.max(512))
    );
    assert_eq!(
        theirs.edns.as_ref().map(|e| e.max_payload()),
        s.edns.map(|e| e.max(512))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn dns_ours_to_hickory(s in dns_spec()) {
        compare_dns(&ours_dns(&s), &s);
    }

    #[test]
    fn dns_hickory_to_ours(s in dns_spec()) {
        compare_dns(&hickory_dns(&s), &s);
    }

    /// Our compression is never worse than hickory's on the same message.
    #[test]
    fn dns_compression_is_as_tight_as_hickory(s in dns_spec()) {
        let ours = ours_dns(&s);
        let theirs = hickory_dns(&s);
        prop_assert!(ours.len() <= theirs.len(), "ours {} > hickory {}", ours.len(), theirs.len());
    }
}

// ---------------------------------------------------------------- captured messages

#[path = "common/app_compare.rs"]
mod app_compare;
#[path = "common/pcap.rs"]
#[allow(dead_code)]
mod pcap;

/// Every DHCP message of the fixture capture (busybox udhcpc and dnsmasq: DISCOVER, OFFER,
/// REQUEST, ACK) reads the same in dhcproto and in ours.
#[test]
fn dhcp_fixture_messages_read_the_same_in_both() {
    let frames = pcap::fixture("apps/dhcp.pcap");
    let payloads = app_compare::udp_payloads(&frames, &[67, 68]);
    let kinds: Vec<u8> = payloads
        .iter()
        .map(|(_, p)| app_compare::compare_dhcp(p))
        .collect();
    // udhcpc sent a second DISCOVER before it took an OFFER.
    assert_eq!(
        kinds,
        [1, 2, 1, 2, 3, 5],
        "DISCOVER, OFFER, ..., REQUEST, ACK"
    );
}

/// Every DNS message of the fixture capture (dig and dnsmasq: A, AAAA, CNAME, NXDOMAIN)
/// reads the same in hickory-proto and in ours.
#[test]
fn dns_fixture_messages_read_the_same_in_both() {
    let frames = pcap::fixture("apps/dns.pcap");
    let payloads = app_compare::udp_payloads(&frames, &[53]);
    assert_eq!(payloads.len(), 8, "4 queries, 4 answers");
    let addrs: Vec<_> = payloads
        .iter()
        .flat_map(|(_, p)| app_compare::compare_dns(p))
        .collect();
    let want: [std::net::IpAddr; 2] = [
        "192.168.78.80".parse().unwrap(),
        "fd78::80".parse().unwrap(),
    ];
    assert_eq!(addrs, want);
}
