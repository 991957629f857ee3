//! A tiny, dependency-free reader for classic pcap files (the fixtures under `tests/fixtures`).
//!
//! Supports both byte orders and both timestamp resolutions (magic `0xa1b2c3d4` microseconds,
//! `0xa1b23c4d` nanoseconds). Only link type 1 (Ethernet) is accepted, since every fixture is an
//! Ethernet capture. pcapng is not supported. This is test code: a malformed file panics with a
//! message saying what is wrong and where.
//!
//! File format (all fields in the writer's byte order, which the magic reveals):
//!
//! ```text
//! global header (24 bytes): magic u32, version_major u16, version_minor u16, thiszone i32,
//!                           sigfigs u32, snaplen u32, linktype u32
//! record header (16 bytes): ts_sec u32, ts_usec/ts_nsec u32, incl_len u32, orig_len u32
//! record data (incl_len bytes)
//! ```

use std::path::Path;

const GLOBAL_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;
const LINKTYPE_ETHERNET: u32 = 1;
/// Generous upper bound on one record; anything larger means a corrupt length field.
const MAX_RECORD_LEN: usize = 256 * 1024;

/// Reads every frame (the captured bytes of each record) of a classic pcap file.
///
/// Panics with a clear message if the file is not a classic Ethernet pcap or is truncated.
pub fn read_pcap(bytes: &[u8]) -> Vec<Vec<u8>> {
    assert!(
        bytes.len() >= GLOBAL_HEADER_LEN,
        "pcap: file is {} bytes, shorter than the {GLOBAL_HEADER_LEN}-byte global header",
        bytes.len()
    );
    let magic_le = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    let big_endian = match magic_le {
        0xa1b2_c3d4 | 0xa1b2_3c4d => false,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => true,
        0x0a0d_0d0a => panic!("pcap: this is a pcapng file; only classic pcap is supported"),
        other => panic!("pcap: bad magic number {other:#010x} (not a classic pcap file)"),
    };
    let u16_at = |at: usize| {
        let b = [bytes[at], bytes[at + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let (major, minor) = (u16_at(4), u16_at(6));
    assert!(
        major == 2,
        "pcap: unsupported version {major}.{minor} (expected 2.x)"
    );
    let linktype = u32_at(20) & 0x0fff_ffff; // the upper bits may carry FCS information
    assert!(
        linktype == LINKTYPE_ETHERNET,
        "pcap: link type {linktype} is not Ethernet ({LINKTYPE_ETHERNET})"
    );

    let mut frames = Vec::new();
    let mut at = GLOBAL_HEADER_LEN;
    while at < bytes.len() {
        let index = frames.len() + 1;
        assert!(
            bytes.len() - at >= RECORD_HEADER_LEN,
            "pcap: record {index} at offset {at}: header truncated ({} of {RECORD_HEADER_LEN} bytes)",
            bytes.len() - at
        );
        let incl_len = u32_at(at + 8) as usize;
        let orig_len = u32_at(at + 12) as usize;
        assert!(
            incl_len <= MAX_RECORD_LEN,
            "pcap: record {index} at offset {at}: captured length {incl_len} is implausible"
        );
        assert!(
            incl_len <= orig_len,
            "pcap: record {index} at offset {at}: captured length {incl_len} > original length {orig_len}"
        );
        let data = at + RECORD_HEADER_LEN;
        assert!(
            bytes.len() - data >= incl_len,
            "pcap: record {index} at offset {at}: data truncated ({} of {incl_len} bytes)",
            bytes.len() - data
        );
        frames.push(bytes[data..data + incl_len].to_vec());
        at = data + incl_len;
    }
    frames
}

/// Directory holding the captured fixtures.
pub fn fixtures_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/"))
}

/// Reads the frames of the fixture `name` (e.g. `"tcp.pcap"`) from `tests/fixtures/`.
pub fn fixture(name: &str) -> Vec<Vec<u8>> {
    let path = fixtures_dir().join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("fixture {}: cannot read: {e}", path.display()));
    read_pcap(&bytes)
}

/// Every frame of every `.pcap` fixture, as (file name, frame), files in name order.
pub fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("fixtures dir {}: cannot list: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("fixtures dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".pcap"))
        .collect();
    names.sort();
    names
        .into_iter()
        .flat_map(|name| {
            fixture(&name)
                .into_iter()
                .map(move |frame| (name.clone(), frame))
        })
        .collect()
}
