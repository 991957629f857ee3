//! Codec tests: real bytes (scapy's and hand-compressed RFC 1035 §4.1.4 layouts), round trips,
//! compression, every truncation, pointer loops.

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

/// A query for www.example.com A with an EDNS(0) OPT record (size 1232, DO set), by scapy.
const QUERY: &str =
    "12340100000100000000000103777777076578616d706c6503636f6d000001000100002904d0000080000000";
/// A response: www.example.com CNAME web.example.com, two A records, all names compressed.
const CNAME: &str = "12348180000100030000000103777777076578616d706c6503636f6d0000010001c00c000500010000012c000603776562c010c02d000100010000003c00045db8d822c02d000100010000007800045db8d82300002904d0000000000000";
/// NXDOMAIN with an SOA in the authority section, by scapy (uncompressed).
const NX: &str = "000781830001000000010000046e6f7065076578616d706c650000010001076578616d706c65000006000100000000002f026e73076578616d706c65000561646d696e076578616d706c6500000000010000000200000003000000040000012c";
/// AAAA answer, by scapy.
const AAAA: &str = "beef818000010001000000000469707636076578616d706c6500001c00010469707636076578616d706c6500001c000100000e10001020010db8000000000000000000000001";

#[test]
fn parses_a_query_with_edns() {
    let b = unhex(QUERY);
    let m = Message::parse(&b).unwrap();
    let h = m.header();
    assert_eq!(
        (h.id, h.response, h.recursion_desired),
        (0x1234, false, true)
    );
    let q: Vec<_> = m.questions().collect();
    assert_eq!(q.len(), 1);
    assert!(
        q[0].name
            .eq_buf(&NameBuf::from_text("WWW.Example.COM.").unwrap())
    );
    assert_eq!((q[0].qtype, q[0].qclass), (Type::A, CLASS_IN));
    let e = m.edns().unwrap();
    assert_eq!(
        (e.udp_payload_size, e.version, e.dnssec_ok),
        (1232, 0, true)
    );
    assert_eq!(m.len(), b.len());
}

#[test]
fn parses_compressed_cname_chain() {
    let b = unhex(CNAME);
    let m = Message::parse(&b).unwrap();
    let an: Vec<_> = m.answers().collect();
    assert_eq!(an.len(), 3);
    assert_eq!(an[0].name.to_string(), "www.example.com.");
    assert_eq!(an[0].ttl, 300);
    match an[0].data {
        RData::Cname(n) => assert_eq!(n.to_string(), "web.example.com."),
        other => panic!("{other:?}"),
    }
    assert_eq!(an[1].name.to_string(), "web.example.com.");
    assert_eq!(an[1].data, RData::A(Ipv4Addr::new(93, 184, 216, 34)));
    assert_eq!(an[2].data, RData::A(Ipv4Addr::new(93, 184, 216, 35)));
    assert_eq!(m.rcode(), 0);
    assert_eq!(an[1].name.wire_len(), 17);
}

#[test]
fn parses_nxdomain_with_soa_and_aaaa() {
    let b = unhex(NX);
    let m = Message::parse(&b).unwrap();
    assert_eq!(Rcode::from(m.header().rcode), Rcode::NxDomain);
    let soa = m.authorities().next().unwrap();
    match soa.data {
        RData::Soa {
            mname,
            rname,
            minimum,
            ..
        } => {
            assert_eq!(mname.to_string(), "ns.example.");
            assert_eq!(rname.to_string(), "admin.example.");
            assert_eq!(minimum, 300);
        }
        other => panic!("{other:?}"),
    }
    let b = unhex(AAAA);
    let m = Message::parse(&b).unwrap();
    let a = m.answers().next().unwrap();
    assert_eq!(a.data, RData::Aaaa("2001:db8::1".parse().unwrap()));
    assert_eq!(a.ttl, 3600);
}

#[test]
fn every_truncation_is_an_error() {
    for fixture in [QUERY, CNAME, NX, AAAA] {
        let b = unhex(fixture);
        for len in 0..b.len() {
            let e = Message::parse(&b[..len]).unwrap_err();
            assert!(e.is_truncated(), "{len}: {e}");
        }
    }
    let e = Message::parse(&[0; 5]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "DNS: header truncated: need 12 bytes, have 5"
    );
}

#[test]
fn pointer_loops_and_forward_pointers_are_rejected() {
    // One question whose name is a pointer to itself.
    let mut b = unhex("000001000001000000000000");
    b.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    let e = Message::parse(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "DNS: name pointer 12 is invalid, expected an offset before the name"
    );
    // A label then a pointer back to the same name's start: a loop through one label.
    let mut b = unhex("000001000001000000000000");
    b.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 1, 0, 1]);
    assert!(Message::parse(&b).is_err());
    // Two names pointing at each other: the second points forward, refused.
    let mut b = unhex("000001000002000000000000");
    b.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1]);
    assert!(Message::parse(&b).is_err());
    // Label types 01 and 10 are refused.
    let mut b = unhex("000001000001000000000000");
    b.extend_from_slice(&[0x41, 0, 0, 1, 0, 1]);
    assert_eq!(
        Message::parse(&b).unwrap_err().to_string(),
        "DNS: label type 1 is invalid, expected 0 (label) or 3 (pointer)"
    );
}

#[test]
fn long_names_are_bounded() {
    // 4 labels of 63 = 256 bytes with length octets, plus the root: too long.
    let mut b = unhex("000001000001000000000000");
    for _ in 0..4 {
        b.push(63);
        b.extend_from_slice(&[b'x'; 63]);
    }
    b.extend_from_slice(&[0, 0, 1, 0, 1]);
    let e = Message::parse(&b).unwrap_err();
    assert_eq!(e.to_string(), "DNS: name length 257 > maximum 255");
    let long = std::format!("{0}.{0}.{0}.{0}", "x".repeat(63));
    assert!(NameBuf::from_text(&long).is_err());
    assert!(NameBuf::from_text(&"y".repeat(64)).is_err());
    assert!(NameBuf::from_text("a..b").is_err());
    let ok = std::format!("{0}.{0}.{0}.{1}", "x".repeat(63), "x".repeat(61));
    assert_eq!(NameBuf::from_text(&ok).unwrap().as_wire().len(), 255);
    assert!(NameBuf::from_text(".").unwrap().is_root());
    assert_eq!(NameBuf::from_text("").unwrap().to_string(), ".");
}

#[test]
fn builder_compresses_and_round_trips() {
    let www = NameBuf::from_text("www.example.com").unwrap();
    let web = NameBuf::from_text("web.EXAMPLE.com").unwrap();
    let header = Header {
        id: 0x1234,
        response: true,
        recursion_desired: true,
        recursion_available: true,
        ..Header::default()
    };
    let mut buf = [0u8; 512];
    let mut b = MessageBuilder::new(&mut buf, &header).unwrap();
    b.question(&www, Type::A, CLASS_IN).unwrap();
    b.record(
        Section::Answer,
        &www,
        CLASS_IN,
        300,
        &RecordData::Cname(&web),
    )
    .unwrap();
    b.record(
        Section::Answer,
        &web,
        CLASS_IN,
        60,
        &RecordData::A(Ipv4Addr::new(93, 184, 216, 34)),
    )
    .unwrap();
    b.record(
        Section::Answer,
        &web,
        CLASS_IN,
        120,
        &RecordData::A(Ipv4Addr::new(93, 184, 216, 35)),
    )
    .unwrap();
    b.edns(&Edns {
        udp_payload_size: 1232,
        ext_rcode: 0,
        version: 0,
        dnssec_ok: false,
    })
    .unwrap();
    let len = b.finish();
    // The same bytes as the hand-compressed fixture (case of the stored name aside).
    let want = unhex(CNAME);
    assert_eq!(len, want.len());
    assert!(buf[..len].eq_ignore_ascii_case(&want));
    // Sections out of order are refused and leave the message unchanged.
    let mut b = MessageBuilder::new(&mut buf, &header).unwrap();
    b.record(
        Section::Answer,
        &www,
        CLASS_IN,
        1,
        &RecordData::A(Ipv4Addr::LOCALHOST),
    )
    .unwrap();
    let before = b.len();
    assert!(b.question(&www, Type::A, CLASS_IN).is_err());
    assert_eq!(b.len(), before);
}

#[test]
fn builder_refuses_a_short_buffer_and_rolls_back() {
    let name = NameBuf::from_text("a-rather-long-name.example.org").unwrap();
    let mut buf = [0u8; 60];
    let mut b = MessageBuilder::new(&mut buf, &Header::default()).unwrap();
    b.question(&name, Type::Aaaa, CLASS_IN).unwrap();
    let before = b.len();
    let e = b
        .record(
            Section::Answer,
            &name,
            CLASS_IN,
            5,
            &RecordData::Aaaa(Ipv6Addr::LOCALHOST),
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "DNS: message length 76 > buffer length 60");
    assert_eq!(b.len(), before);
    let len = b.finish();
    let m = Message::parse(&buf[..len]).unwrap();
    assert_eq!(m.counts(), [1, 0, 0, 0]);
    assert!(MessageBuilder::new(&mut [0u8; 11], &Header::default()).is_err());
}

#[test]
fn every_record_type_round_trips() {
    let n = NameBuf::from_text("host.example.net").unwrap();
    let m2 = NameBuf::from_text("mail.example.net").unwrap();
    let mut buf = [0u8; 1024];
    let mut b = MessageBuilder::new(
        &mut buf,
        &Header {
            id: 9,
            response: true,
            ..Header::default()
        },
    )
    .unwrap();
    b.question(&n, Type::Any, CLASS_IN).unwrap();
    let datas = [
        RecordData::A(Ipv4Addr::new(10, 0, 0, 1)),
        RecordData::Aaaa("fd00::1".parse().unwrap()),
        RecordData::Cname(&m2),
        RecordData::Ns(&m2),
        RecordData::Ptr(&m2),
        RecordData::Mx {
            preference: 10,
            exchange: &m2,
        },
        RecordData::Soa {
            mname: &m2,
            rname: &n,
            values: [1, 2, 3, 4, 5],
        },
        RecordData::Raw(Type::Txt, b"\x05hello\x02hi"),
        RecordData::Raw(Type::Unknown(999), b"\x01\x02\x03"),
    ];
    for d in &datas {
        b.record(Section::Answer, &n, CLASS_IN, 42, d).unwrap();
    }
    let len = b.finish();
    let msg = Message::parse(&buf[..len]).unwrap();
    let got: Vec<_> = msg.answers().collect();
    assert_eq!(got.len(), datas.len());
    assert_eq!(got[0].data, RData::A(Ipv4Addr::new(10, 0, 0, 1)));
    match got[5].data {
        RData::Mx {
            preference,
            exchange,
        } => {
            assert_eq!(preference, 10);
            assert!(exchange.eq_buf(&m2));
        }
        other => panic!("{other:?}"),
    }
    match got[6].data {
        RData::Soa {
            mname,
            rname,
            serial,
            minimum,
            ..
        } => {
            assert!(mname.eq_buf(&m2) && rname.eq_buf(&n));
            assert_eq!((serial, minimum), (1, 5));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(got[7].data, RData::Txt(b"\x05hello\x02hi"));
    assert_eq!(got[8].data, RData::Other(b"\x01\x02\x03"));
    assert!(got.iter().all(|r| r.name.eq_buf(&n) && r.ttl == 42));
}

#[test]
fn bad_rdata_lengths_are_rejected() {
    let n = NameBuf::from_text("x.y").unwrap();
    let mut buf = [0u8; 128];
    let mut b = MessageBuilder::new(&mut buf, &Header::default()).unwrap();
    b.record(
        Section::Answer,
        &n,
        CLASS_IN,
        1,
        &RecordData::Raw(Type::A, &[1, 2, 3]),
    )
    .unwrap();
    let len = b.finish();
    let e = Message::parse(&buf[..len]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "DNS: A RDATA length 3 is invalid, expected RDATA of the type's length"
    );
    let mut b = MessageBuilder::new(&mut buf, &Header::default()).unwrap();
    b.record(
        Section::Answer,
        &n,
        CLASS_IN,
        1,
        &RecordData::Raw(Type::Txt, &[5, b'a']),
    )
    .unwrap();
    let len = b.finish();
    assert!(Message::parse(&buf[..len]).is_err());
}

#[test]
fn header_flags_round_trip() {
    for flags in [0u16, 0x8180, 0x0100, 0x8583, 0xffbf] {
        let h = Header::from_flags(1, flags);
        assert_eq!(h.flags(), flags & !0x0040, "{flags:#x}");
    }
    let mut raw = [0u8; 12];
    let mut p = DnsPacket::new_checked(&mut raw[..]).unwrap();
    p.set_id(0xabcd);
    p.set_flags(0x8180);
    p.set_counts([1, 2, 3, 4]);
    assert_eq!(
        (p.id(), p.qdcount(), p.ancount(), p.nscount(), p.arcount()),
        (0xabcd, 1, 2, 3, 4)
    );
    assert_eq!(Type::from(28), Type::Aaaa);
    for n in 0..=300u16 {
        assert_eq!(u16::from(Type::from(n)), n);
    }
    for n in 0..=255u8 {
        assert_eq!(u8::from(Rcode::from(n)), n);
    }
    assert_eq!(Type::Unknown(999).to_string(), "TYPE999");
}

#[test]
fn names_display_with_escapes_and_compare_without_case() {
    let mut n = NameBuf::root();
    n.push_label(b"a.b").unwrap();
    n.push_label(b"\x00z").unwrap();
    assert_eq!(n.to_string(), "a\\046b.\\000z.");
    let a = NameBuf::from_text("Example.COM").unwrap();
    let b = NameBuf::from_text("example.com.").unwrap();
    assert!(a.eq_ignore_case(&b));
    assert_eq!(NameBuf::from_wire(b.as_wire()).unwrap(), b);
    assert!(NameBuf::from_wire(&[0xc0, 0]).is_err());
}

#[test]
fn a_repeated_label_is_not_compressed_against_the_name_being_written() {
    // Found by the fuzz target: "example" must not point into "example.example" before the
    // latter is complete.
    let name = NameBuf::from_text("ipv6.example.example").unwrap();
    let mut buf = [0xc0u8; 128];
    let mut b = MessageBuilder::new(&mut buf, &Header::default()).unwrap();
    b.question(&name, Type::A, CLASS_IN).unwrap();
    b.record(
        Section::Answer,
        &name,
        CLASS_IN,
        1,
        &RecordData::A(Ipv4Addr::LOCALHOST),
    )
    .unwrap();
    let len = b.finish();
    let m = Message::parse(&buf[..len]).unwrap();
    assert!(m.questions().next().unwrap().name.eq_buf(&name));
    assert!(m.answers().next().unwrap().name.eq_buf(&name));
    assert_eq!(len, 12 + 22 + 4 + 2 + 14);
}
