//! Unit tests of the dissector: fields, values and offsets on real frames (from
//! `tests/fixtures/`), truncation and malformed input, storage limits, the formatters.

extern crate std;
use std::string::String;
use std::vec::Vec;

use super::*;

/// Frame 1 of `tcp.pcap`: a SYN with MSS, SACK-permitted, timestamps, NOP, window scale.
static TCP_PCAP: &[u8] = include_bytes!("../../tests/fixtures/tcp.pcap");

fn syn() -> [u8; 74] {
    let frame = crate::pcap::PcapReader::new(TCP_PCAP)
        .unwrap()
        .records()
        .next()
        .unwrap()
        .unwrap()
        .data;
    frame.try_into().unwrap()
}

fn owned(frame: &[u8]) -> OwnedDissection {
    OwnedDissection::new(frame)
}

fn field<'a>(d: &Dissection<'a>, name: &str) -> &'a Field {
    d.find(name).unwrap_or_else(|| panic!("no field {name}"))
}

#[test]
fn tcp_syn_fields_values_and_offsets() {
    let syn = syn();
    let o = owned(&syn);
    let d = o.view(&syn);
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    let layers: Vec<_> = d.layers().map(|f| f.name).collect();
    assert_eq!(layers, ["eth", "ip", "tcp"]);
    let f = field(&d, "eth.src");
    assert_eq!(
        (f.value, f.bit_offset, f.bit_len),
        (Value::Mac([2, 0, 0, 0x77, 0, 0x0a]), 48, 48)
    );
    let f = field(&d, "ip.src");
    assert_eq!(f.value, Value::Ipv4(Ipv4Addr::new(192, 168, 77, 1)));
    assert_eq!(
        (f.bit_offset, f.bit_len, f.class),
        (26 * 8, 32, Class::Address)
    );
    let f = field(&d, "ip.flags.df");
    assert_eq!(
        (f.value, f.bit_offset, f.bit_len, f.depth),
        (Value::Bool(true), 20 * 8 + 1, 1, 2)
    );
    let f = field(&d, "ip.frag_offset");
    assert_eq!((f.bit_offset, f.bit_len), (20 * 8 + 3, 13));
    let f = field(&d, "tcp.dstport");
    assert_eq!(
        (f.value, f.bit_offset, f.class),
        (Value::U64(5001), 36 * 8, Class::Port)
    );
    let f = field(&d, "tcp.seq_raw");
    assert_eq!(f.value, Value::U64(523_772_118));
    let f = field(&d, "tcp.flags");
    assert_eq!(
        (f.value, f.bit_offset, f.bit_len),
        (Value::U64(2), 46 * 8 + 4, 12)
    );
    assert_eq!(field(&d, "tcp.flags.syn").value, Value::Bool(true));
    let f = field(&d, "tcp.options.mss_val");
    assert_eq!(
        (f.value, f.bit_offset, f.depth),
        (Value::U64(1460), 56 * 8, 3)
    );
    assert_eq!(field(&d, "tcp.options.wscale.shift").value, Value::U64(10));
    let kinds: Vec<_> = d
        .find_all("tcp.option_kind")
        .filter_map(Field::as_u64)
        .collect();
    assert_eq!(kinds, [2, 4, 8, 1, 3]);
    assert_eq!(field(&d, "tcp.options.mss").bytes(&syn), &[2, 4, 5, 0xb4]);
}

#[test]
fn a_bad_checksum_is_a_problem_and_the_fields_stay() {
    let mut frame = syn();
    frame[50] ^= 0xff;
    let o = owned(&frame);
    let d = o.view(&frame);
    assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
    let p = d.problems[0];
    assert_eq!(p.layer, Layer::Tcp);
    assert!(matches!(
        p.kind,
        ProblemKind::BadChecksum {
            found: 0xe7fc,
            expected: 0x18fc
        }
    ));
    assert!(d.find("tcp.options.mss_val").is_some());
    let mut line = String::new();
    format::summary(&d, &mut line).unwrap();
    assert!(
        line.ends_with("[tcp: checksum 0xe7fc is wrong, expected 0x18fc]"),
        "{line}"
    );
}

#[test]
fn every_truncation_gives_a_problem_or_fewer_layers_never_a_panic() {
    let syn = syn();
    for cut in 0..syn.len() {
        let o = owned(&syn[..cut]);
        let d = o.view(&syn[..cut]);
        assert!(!d.problems.is_empty(), "cut {cut}: no problem reported");
        for f in d.fields {
            assert!(
                (f.bit_offset + f.bit_len) as usize <= cut * 8,
                "cut {cut}: {}",
                f.name
            );
        }
        let mut s = String::new();
        format::json(&d, 1, &mut s).unwrap();
        format::tree(&d, &mut s).unwrap();
        format::summary(&d, &mut s).unwrap();
    }
}

#[test]
fn full_storage_stops_with_truncated_output() {
    let mut fields = [Field::EMPTY; 10];
    let mut problems = [Problem::EMPTY; 1];
    let syn = syn();
    let d = dissect(&syn, &mut fields, &mut problems);
    assert!(d.truncated_output);
    assert_eq!(d.fields.len(), 10);
    let mut s = String::new();
    format::json(&d, 1, &mut s).unwrap();
    assert!(s.ends_with("\"truncated_output\":true}"), "{s}");
}

/// A DNS response over UDP/IPv4 whose answer name is a pointer to itself: a loop.
fn dns_frame(answer_name: [u8; 2]) -> Vec<u8> {
    let mut dns = Vec::new();
    dns.extend_from_slice(&[0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    dns.extend_from_slice(b"\x03www\x02fx\x04test\x00\x00\x01\x00\x01");
    let at = dns.len();
    dns.extend_from_slice(&answer_name);
    dns.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 168, 78, 80]);
    let _ = at;
    let mut frame = Vec::new();
    frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let total = 20 + 8 + dns.len();
    frame.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0,
        0,
        64,
        17,
        0,
        0,
    ]);
    frame.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    let ulen = 8 + dns.len();
    frame.extend_from_slice(&[0, 53, 0x30, 0x39, (ulen >> 8) as u8, ulen as u8, 0, 0]);
    frame.extend_from_slice(&dns);
    let mut ip = crate::wire::Ipv4Packet::new_unchecked(&mut frame[14..]);
    ip.fill_checksum();
    frame
}

#[test]
fn dns_names_with_pointers_and_a_pointer_loop() {
    // Answer name = pointer to the question name (offset 12).
    let frame = dns_frame([0xc0, 12]);
    let o = owned(&frame);
    let d = o.view(&frame);
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    let mut s = String::new();
    format::write_value(&d, field(&d, "dns.resp.name"), &mut s).unwrap();
    assert_eq!(s, "www.fx.test");
    assert_eq!(
        field(&d, "dns.a").value,
        Value::Ipv4(Ipv4Addr::new(192, 168, 78, 80))
    );
    // Answer name = pointer to itself (offset 12 + 17 = 29): written as a bad name.
    let frame = dns_frame([0xc0, 29]);
    let o = owned(&frame);
    let d = o.view(&frame);
    let mut s = String::new();
    format::write_value(&d, field(&d, "dns.resp.name"), &mut s).unwrap();
    assert_eq!(s, "<bad name>");
}

#[test]
fn json_escapes_strings() {
    let mut s = String::new();
    format::json_str(&mut s, "a\"b\\c\nd\u{1}").unwrap();
    assert_eq!(s, r#""a\"b\\c\nd\u0001""#);
}

#[test]
fn ntp_times_print_like_tshark() {
    let mut s = String::new();
    // 2026-11-21 18:52:57.5 UTC = Unix 1795287177.5.
    let t = (1_795_287_177u64 + 2_208_988_800) << 32 | 0x8000_0000;
    format::write_ntp_time(&mut s, t).unwrap();
    assert_eq!(s, "Nov 21, 2026 18:52:57.500000000 UTC");
    s.clear();
    format::write_ntp_time(&mut s, 0).unwrap();
    assert_eq!(s, "NULL");
}

#[test]
fn http_request_line_and_headers() {
    let mut frame = syn().to_vec();
    let payload = b"GET /index.html HTTP/1.1\r\nHost: fx.test\r\nUser-Agent: t\r\n\r\n";
    frame.extend_from_slice(payload);
    let total = (frame.len() - 14) as u16;
    frame[16..18].copy_from_slice(&total.to_be_bytes());
    let o = owned(&frame);
    let d = o.view(&frame);
    assert!(d.has_layer(Layer::Http));
    let text = |name: &str| {
        let mut s = String::new();
        format::write_value(&d, field(&d, name), &mut s).unwrap();
        s
    };
    assert_eq!(text("http.request.method"), "GET");
    assert_eq!(text("http.request.uri"), "/index.html");
    assert_eq!(text("http.request.version"), "HTTP/1.1");
    assert_eq!(text("http.host"), "fx.test");
    assert_eq!(field(&d, "http.host").bit_offset as usize, (74 + 32) * 8);
}
