//! Sanity checks of the captured fixtures and of reading them with `proto_core::pcap`.

mod common;

use common::pcap::{all_fixtures, fixture, fixtures_dir, read_pcap};

/// Builds a pcap file in memory: `big_endian` byte order, `nanos` timestamp resolution.
fn build(big_endian: bool, nanos: bool, frames: &[&[u8]]) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend(u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend(u16b(2));
    out.extend(u16b(4));
    out.extend(u32b(0));
    out.extend(u32b(0));
    out.extend(u32b(65535));
    out.extend(u32b(1));
    for (i, frame) in frames.iter().enumerate() {
        out.extend(u32b(1_700_000_000 + i as u32));
        out.extend(u32b(123));
        out.extend(u32b(frame.len() as u32));
        out.extend(u32b(frame.len() as u32));
        out.extend_from_slice(frame);
    }
    out
}

#[test]
fn reads_both_byte_orders_and_resolutions() {
    let a = [0xaau8; 60];
    let b: Vec<u8> = (0..=255).collect();
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let file = build(big_endian, nanos, &[&a, &b, &[]]);
            let frames = read_pcap(&file);
            assert_eq!(
                frames,
                vec![a.to_vec(), b.clone(), vec![]],
                "be={big_endian} ns={nanos}"
            );
        }
    }
    assert!(read_pcap(&build(false, false, &[])).is_empty());
}

fn panic_message(bytes: Vec<u8>) -> String {
    let err = std::panic::catch_unwind(|| read_pcap(&bytes)).expect_err("should panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn rejects_bad_files_with_clear_messages() {
    let good = build(false, false, &[&[1, 2, 3, 4]]);
    assert!(panic_message(good[..10].to_vec()).contains("shorter than the 24-byte header"));
    let mut bad_magic = good.clone();
    bad_magic[0] = 0;
    assert!(panic_message(bad_magic).contains("is not a classic pcap file"));
    let mut ng = good.clone();
    ng[..4].copy_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
    assert!(panic_message(ng).contains("pcapng"));
    let mut linktype = good.clone();
    linktype[20] = 101;
    assert!(panic_message(linktype).contains("link type is not Ethernet"));
    assert!(panic_message(good[..30].to_vec()).contains("record at byte 24 is truncated"));
    assert!(panic_message(good[..good.len() - 1].to_vec()).contains("record at byte 24"));
}

#[test]
fn every_fixture_has_ethernet_frames() {
    let mut files = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".pcap") {
            continue;
        }
        files += 1;
        let frames = fixture(&name);
        assert!(!frames.is_empty(), "{name}: no frames");
        for (i, frame) in frames.iter().enumerate() {
            assert!(
                frame.len() >= 14,
                "{name} frame {}: {} bytes < 14",
                i + 1,
                frame.len()
            );
        }
        // Each fixture has a field table with a header line plus one line per frame.
        let tsv = fixtures_dir().join(name.replace(".pcap", ".fields.tsv"));
        let lines = std::fs::read_to_string(&tsv)
            .unwrap_or_else(|e| panic!("{}: {e}", tsv.display()))
            .lines()
            .count();
        assert_eq!(
            lines,
            frames.len() + 1,
            "{}: lines vs frames",
            tsv.display()
        );
    }
    assert!(files >= 15, "expected at least 15 fixtures, found {files}");
    let all = all_fixtures();
    assert!(all.iter().any(|(name, _)| name == "vlan.pcap"));
    assert!(all.iter().all(|(_, frame)| frame.len() >= 14));
}

#[test]
fn tagged_fixtures_carry_their_tags_in_the_bytes() {
    for frame in fixture("vlan.pcap") {
        assert_eq!(frame[12..14], [0x81, 0x00], "802.1Q TPID");
        assert_eq!(u16::from_be_bytes([frame[14], frame[15]]) & 0x0fff, 10);
    }
    for frame in fixture("qinq.pcap") {
        assert_eq!(frame[12..14], [0x88, 0xa8], "802.1ad TPID");
        assert_eq!(u16::from_be_bytes([frame[14], frame[15]]) & 0x0fff, 100);
        assert_eq!(frame[16..18], [0x81, 0x00], "inner 802.1Q TPID");
        assert_eq!(u16::from_be_bytes([frame[18], frame[19]]) & 0x0fff, 10);
    }
}
