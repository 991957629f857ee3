//! `stackclient decode` end to end: the binary over real captures and over bad input.

use std::process::Command;

fn stackclient(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackclient"))
        .args(args)
        .output()
        .expect("run stackclient")
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../proto-core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn decodes_every_frame_of_a_capture() {
    let out = stackclient(&["decode", &fixture("tcp.pcap")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    assert!(lines[0].contains("TCP") && lines[0].contains("[S]") && lines[0].contains("mss 1460"));
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("malformed") && !l.contains("checksum")),
        "{text}"
    );
}

#[test]
fn decodes_qinq_arp() {
    let out = stackclient(&["decode", &fixture("qinq.pcap")]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("802.1ad vlan 100 p 0, 802.1Q vlan 10")
    );
    assert!(
        text.contains("ARP who-has") && text.contains("is-at"),
        "{text}"
    );
}

#[test]
fn names_the_field_of_a_malformed_frame() {
    // An IPv4 header whose total length (20) is less than its header length (24).
    let hex = "ffffffffffff 020000000001 0800 46000014000000004006000000000000000000000000000000";
    let out = stackclient(&["decode", "--hex", hex]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "malformed: IPv4: total length 20 < header length 24"
    );
}

#[test]
fn reports_a_wrong_checksum() {
    // A UDP datagram whose checksum is off by one.
    let hex = "ffffffffffff0200000000010800 4500001d000040004011a47ec0a80a02c0a80aff 30390035 0009c11c 78";
    let out = stackclient(&["decode", "--hex", hex]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("[UDP: checksum 0xc11c is wrong, expected 0xc11b]"),
        "{text}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let out = stackclient(&["decode", "--hex", "abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("odd number of digits"));
    let out = stackclient(&["decode", "/nonexistent.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent.pcap"));
    let out = stackclient(&["decode", &fixture("README.md")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a classic pcap file"));
}
