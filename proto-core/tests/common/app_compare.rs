//! Differential decoding of real DHCP and DNS messages: each payload is decoded by our codec
//! and by a well-kept library (dhcproto 0.15, hickory-proto 0.26) and every field both
//! expose is compared. Shared by `tests/app_differential.rs` (the fixture captures) and
//! stackclient's `tests/apps_netns.rs` (the messages our stack exchanged with dnsmasq), which
//! includes this file by path. Test code: a mismatch panics naming the field.

use std::net::{IpAddr, Ipv4Addr};

use dhcproto::v4 as dp;
use dhcproto::{Decodable, Decoder};
use hickory_proto::op as hop;
use hickory_proto::rr as hrr;
use proto_core::app::dhcp::{AddrList, DhcpRepr};
use proto_core::app::dns::{Message, RData};
use proto_core::wire::{Frame, Transport};

/// The UDP payloads of `frames` to or from `port`, with the destination port.
pub fn udp_payloads(frames: &[Vec<u8>], ports: &[u16]) -> Vec<(u16, Vec<u8>)> {
    frames
        .iter()
        .filter_map(|f| {
            let frame = Frame::parse(f).ok()?;
            let Some(Transport::Udp(u)) = frame.transport else {
                return None;
            };
            (ports.contains(&u.src_port()) || ports.contains(&u.dst_port()))
                .then(|| (u.dst_port(), frame.payload.to_vec()))
        })
        .collect()
}

fn text(b: Option<&[u8]>) -> Option<String> {
    b.map(|b| String::from_utf8_lossy(b).into_owned())
}

fn list(l: &AddrList) -> Vec<Ipv4Addr> {
    l.iter().collect()
}

/// Decodes one DHCP message with both codecs and compares every field; returns its type.
pub fn compare_dhcp(bytes: &[u8]) -> u8 {
    use dp::DhcpOption as O;
    use dp::OptionCode as C;
    let ours = DhcpRepr::parse_bytes(bytes).unwrap_or_else(|e| panic!("we reject: {e}"));
    let m = dp::Message::decode(&mut Decoder::new(bytes)).expect("dhcproto decodes");
    assert_eq!(
        (m.xid(), m.secs(), m.flags().broadcast(), m.hops()),
        (ours.xid, ours.secs, ours.broadcast, ours.hops),
        "xid, secs, broadcast flag, hops"
    );
    assert_eq!(
        [m.ciaddr(), m.yiaddr(), m.siaddr(), m.giaddr()],
        [ours.ciaddr, ours.yiaddr, ours.siaddr, ours.giaddr],
        "ciaddr, yiaddr, siaddr, giaddr"
    );
    assert_eq!(&m.chaddr()[..6], &ours.client_hw_addr.0, "chaddr");
    let o = m.opts();
    let kind = u8::from(ours.message_type);
    assert_eq!(o.msg_type().map(u8::from), Some(kind), "message type");
    let get = |c: C| o.get(c).cloned();
    assert_eq!(
        get(C::SubnetMask),
        ours.subnet_mask.map(O::SubnetMask),
        "mask"
    );
    // We keep the first router (the default route); dhcproto keeps the list.
    let router = match get(C::Router) {
        Some(O::Router(v)) => v.first().copied(),
        None => None,
        other => panic!("router: {other:?}"),
    };
    assert_eq!(router, ours.router, "router");
    let addrs = |c: C| match get(c) {
        Some(O::DomainNameServer(v) | O::NtpServers(v)) => v
            .into_iter()
            .take(proto_core::app::dhcp::MAX_ADDRS)
            .collect(),
        None => Vec::new(),
        other => panic!("{c:?}: {other:?}"),
    };
    assert_eq!(
        addrs(C::DomainNameServer),
        list(&ours.dns_servers),
        "DNS servers"
    );
    assert_eq!(addrs(C::NtpServers), list(&ours.ntp_servers), "NTP servers");
    assert_eq!(
        get(C::DomainName),
        text(ours.domain_name).map(O::DomainName),
        "domain"
    );
    assert_eq!(
        get(C::Hostname),
        text(ours.hostname).map(O::Hostname),
        "host name"
    );
    assert_eq!(
        get(C::RequestedIpAddress),
        ours.requested_ip.map(O::RequestedIpAddress),
        "requested address"
    );
    assert_eq!(
        get(C::ServerIdentifier),
        ours.server_id.map(O::ServerIdentifier),
        "server id"
    );
    assert_eq!(
        get(C::AddressLeaseTime),
        ours.lease_time.map(O::AddressLeaseTime),
        "lease"
    );
    assert_eq!(get(C::Renewal), ours.renewal_time.map(O::Renewal), "T1");
    assert_eq!(
        get(C::Rebinding),
        ours.rebinding_time.map(O::Rebinding),
        "T2"
    );
    let params = match get(C::ParameterRequestList) {
        Some(O::ParameterRequestList(v)) => Some(v.into_iter().map(u8::from).collect::<Vec<_>>()),
        None => None,
        other => panic!("parameters: {other:?}"),
    };
    assert_eq!(
        params.as_deref(),
        ours.parameter_request_list,
        "parameter list"
    );
    assert_eq!(
        get(C::ClientIdentifier),
        ours.client_id.map(|c| O::ClientIdentifier(c.to_vec())),
        "client id"
    );
    assert_eq!(
        get(C::Message),
        text(ours.message).map(O::Message),
        "message"
    );
    assert_eq!(
        get(C::MaxMessageSize),
        ours.max_message_size.map(O::MaxMessageSize),
        "max message size"
    );
    kind
}

fn same_name(ours: &str, theirs: &hrr::Name) -> bool {
    ours.trim_end_matches('.')
        .eq_ignore_ascii_case(theirs.to_ascii().trim_end_matches('.'))
}

/// Decodes one DNS message with both codecs and compares header, question, every answer
/// (A, AAAA, CNAME; others by type and TTL) and EDNS; returns the answer addresses.
pub fn compare_dns(bytes: &[u8]) -> Vec<IpAddr> {
    let ours = Message::parse(bytes).unwrap_or_else(|e| panic!("we reject: {e}"));
    let theirs = hop::Message::from_vec(bytes).expect("hickory parses");
    let h = ours.header();
    let md = &theirs.metadata;
    assert_eq!(h.id, md.id, "id");
    assert_eq!(
        h.response,
        md.message_type == hop::MessageType::Response,
        "QR"
    );
    assert_eq!(
        (
            h.authoritative,
            h.truncated,
            h.recursion_desired,
            h.recursion_available
        ),
        (
            md.authoritative,
            md.truncation,
            md.recursion_desired,
            md.recursion_available
        ),
        "AA, TC, RD, RA"
    );
    assert_eq!(u16::from(h.rcode), u16::from(md.response_code), "rcode");
    let qs: Vec<_> = ours.questions().collect();
    assert_eq!(qs.len(), theirs.queries.len(), "questions");
    for (q, tq) in qs.iter().zip(&theirs.queries) {
        assert!(same_name(&q.name.to_string(), tq.name()), "question name");
        assert_eq!(
            u16::from(q.qtype),
            u16::from(tq.query_type()),
            "question type"
        );
    }
    let answers: Vec<_> = ours.answers().collect();
    assert_eq!(answers.len(), theirs.answers.len(), "answers");
    let mut addrs = Vec::new();
    for (a, t) in answers.iter().zip(&theirs.answers) {
        assert!(
            same_name(&a.name.to_string(), &t.name),
            "owner {} vs {}",
            a.name,
            t.name
        );
        assert_eq!(a.ttl, t.ttl, "TTL of {}", a.name);
        assert_eq!(
            u16::from(a.rtype),
            u16::from(t.record_type()),
            "type of {}",
            a.name
        );
        match (&a.data, &t.data) {
            (RData::A(x), hrr::RData::A(y)) => {
                assert_eq!(*x, y.0);
                addrs.push(IpAddr::V4(*x));
            }
            (RData::Aaaa(x), hrr::RData::AAAA(y)) => {
                assert_eq!(*x, y.0);
                addrs.push(IpAddr::V6(*x));
            }
            (RData::Cname(x), hrr::RData::CNAME(hrr::rdata::CNAME(y))) => {
                assert!(same_name(&x.to_string(), y), "CNAME {x} vs {y}");
            }
            _ => {}
        }
    }
    assert_eq!(
        ours.authorities().count(),
        theirs.authorities.len(),
        "authorities"
    );
    assert_eq!(
        ours.edns().map(|e| e.udp_payload_size),
        theirs.edns.as_ref().map(|e| e.max_payload()),
        "EDNS payload size"
    );
    addrs
}
