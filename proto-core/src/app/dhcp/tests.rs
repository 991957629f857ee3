//! Codec tests: scapy-made DISCOVER and OFFER, round trips, overload, bad options.

extern crate std;
use std::string::ToString;
use std::vec::Vec;

use super::*;

pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A message from its first 44 bytes (up to `chaddr`) and its cookie and options, with zero
/// `sname` and `file` between.
pub(crate) fn fixture(parts: [&str; 2]) -> Vec<u8> {
    let mut b = unhex(parts[0]);
    b.resize(236, 0);
    b.extend_from_slice(&unhex(parts[1]));
    b
}

/// A DISCOVER (broadcast flag, client id, host name "box", parameter request list), by scapy.
pub(crate) const DISCOVER: [&str; 2] = [
    "0101060011223344000080000000000000000000000000000000000002000000000100000000000000000000",
    "638253633501013d07010200000000010c03626f7837080103060f2a333a3bff",
];
/// The OFFER of 192.168.7.50 (lease 3600, T1 1800, T2 3150, mask, router, two DNS servers,
/// domain "lan", one NTP server), by scapy.
pub(crate) const OFFER: [&str; 2] = [
    "02010600112233440000000000000000c0a80732c0a807010000000002000000000100000000000000000000",
    "638253633501023604c0a80701330400000e103a04000007083b0400000c4e0104ffffff000304c0a807010608c0a80701090909090f036c616e2a04c0a80702ff",
];

const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

#[test]
fn fixtures_have_the_right_length() {
    assert_eq!(fixture(DISCOVER).len(), 268);
    assert_eq!(fixture(OFFER).len(), 301);
}

#[test]
fn parses_scapy_discover() {
    let b = fixture(DISCOVER);
    let p = DhcpPacket::new_checked(&b[..]).unwrap();
    assert_eq!(
        (p.op(), p.htype(), p.hlen(), p.xid()),
        (1, 1, 6, 0x1122_3344)
    );
    let r = DhcpRepr::parse(&p).unwrap();
    assert_eq!(r.message_type, MessageType::Discover);
    assert!(r.broadcast);
    assert_eq!(r.client_hw_addr, MAC);
    assert_eq!(r.client_id, Some(&[1, 2, 0, 0, 0, 0, 1][..]));
    assert_eq!(r.hostname, Some(&b"box"[..]));
    assert_eq!(
        r.parameter_request_list,
        Some(&[1, 3, 6, 15, 42, 51, 58, 59][..])
    );
    let codes: Vec<u8> = p.options().map(|o| o.unwrap().code).collect();
    assert_eq!(codes, [53, 61, 12, 55]);
}

#[test]
fn parses_scapy_offer() {
    let b = fixture(OFFER);
    let r = DhcpRepr::parse_bytes(&b).unwrap();
    assert_eq!(r.message_type, MessageType::Offer);
    assert_eq!(r.yiaddr, Ipv4Addr::new(192, 168, 7, 50));
    assert_eq!(r.server_id, Some(Ipv4Addr::new(192, 168, 7, 1)));
    assert_eq!(
        (r.lease_time, r.renewal_time, r.rebinding_time),
        (Some(3600), Some(1800), Some(3150))
    );
    assert_eq!(r.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(r.router, Some(Ipv4Addr::new(192, 168, 7, 1)));
    let dns: Vec<_> = r.dns_servers.iter().collect();
    assert_eq!(
        dns,
        [Ipv4Addr::new(192, 168, 7, 1), Ipv4Addr::new(9, 9, 9, 9)]
    );
    assert_eq!(r.ntp_servers.first(), Some(Ipv4Addr::new(192, 168, 7, 2)));
    assert_eq!(r.domain_name, Some(&b"lan"[..]));
    assert_eq!(
        r.to_string(),
        "DHCPOFFER xid 0x11223344 chaddr 02:00:00:00:00:01 yiaddr 192.168.7.50 server 192.168.7.1 lease 3600s"
    );
}

#[test]
fn emit_round_trips() {
    for fixture_parts in [DISCOVER, OFFER] {
        let b = fixture(fixture_parts);
        let r = DhcpRepr::parse_bytes(&b).unwrap();
        let mut out = [0u8; 600];
        let len = r.emit(&mut out);
        assert_eq!(len, r.buffer_len());
        assert!(len >= MIN_MESSAGE_LEN);
        let back = DhcpRepr::parse_bytes(&out[..len]).unwrap();
        assert_eq!(back, r);
        // The fixed part is byte-identical (sname/file are zero in both).
        assert_eq!(&out[..HEADER_LEN], &b[..HEADER_LEN]);
    }
}

#[test]
fn truncations_and_bad_cookie() {
    let b = fixture(OFFER);
    for len in 0..HEADER_LEN {
        assert!(
            DhcpPacket::new_checked(&b[..len])
                .unwrap_err()
                .is_truncated()
        );
    }
    // Cut inside the options: an option runs past the end.
    let e = DhcpRepr::parse_bytes(&b[..HEADER_LEN + 5]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "DHCP: option truncated: need 9 bytes, have 5"
    );
    let mut bad = b.clone();
    bad[236] = 0;
    assert_eq!(
        DhcpPacket::new_checked(&bad[..]).unwrap_err().to_string(),
        "DHCP: magic cookie 8541027 is invalid, expected 0x63825363"
    );
}

#[test]
fn bad_option_lengths_name_the_option() {
    let mut b = fixture(OFFER);
    // The lease time option (51, len 4) at offset 249: make it 3 long.
    let at = b.windows(2).position(|w| w == [51, 4]).unwrap();
    b[at + 1] = 3;
    let e = DhcpRepr::parse_bytes(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "DHCP: lease time length 3 is invalid, expected 4"
    );
    // No message type: BOOTP, refused.
    let mut b = fixture(OFFER);
    b[HEADER_LEN] = opt::PAD;
    b[HEADER_LEN + 1] = opt::PAD;
    b[HEADER_LEN + 2] = opt::PAD;
    let e = DhcpRepr::parse_bytes(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "DHCP: message type 0 is invalid, expected an option 53 from 1 to 8"
    );
}

#[test]
fn overloaded_file_and_sname_hold_options() {
    let mut r = DhcpRepr::new(MessageType::Ack, 7, MAC);
    r.yiaddr = Ipv4Addr::new(10, 0, 0, 9);
    let mut buf = [0u8; 400];
    let len = r.emit(&mut buf);
    // Put option 52 = 3 in the options field, the lease time in `file` and the host name in
    // `sname`.
    let end = buf[HEADER_LEN..len]
        .iter()
        .position(|&b| b == opt::END)
        .unwrap()
        + HEADER_LEN;
    buf[end..end + 4].copy_from_slice(&[opt::OVERLOAD, 1, 3, opt::END]);
    buf[108..115].copy_from_slice(&[opt::LEASE_TIME, 4, 0, 0, 1, 0, opt::END]);
    buf[44..50].copy_from_slice(&[opt::HOSTNAME, 3, b'a', b'b', b'c', opt::END]);
    let back = DhcpRepr::parse_bytes(&buf[..len]).unwrap();
    assert_eq!(back.lease_time, Some(256));
    assert_eq!(back.hostname, Some(&b"abc"[..]));
}

#[test]
fn options_iterator_ends_after_an_error() {
    let area = [opt::PAD, 3, 4, 1, 2, 3, 4, 6, 9, 1];
    let mut it = DhcpOptions::new(&area);
    assert_eq!(
        it.next().unwrap().unwrap(),
        DhcpOption {
            code: 3,
            data: &[1, 2, 3, 4]
        }
    );
    assert!(it.next().unwrap().is_err());
    assert!(it.next().is_none());
    let mut it = DhcpOptions::new(&[7]);
    assert!(it.next().unwrap().unwrap_err().is_truncated());
    assert!(it.next().is_none());
    for n in 0..=255u8 {
        assert_eq!(u8::from(MessageType::from(n)), n);
    }
}

#[test]
fn addr_lists_keep_four() {
    let many: Vec<Ipv4Addr> = (1..=6).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    let l = AddrList::from_slice(&many);
    assert_eq!(l.len(), 4);
    assert_eq!(l.first(), Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert!(AddrList::new().is_empty());
}
