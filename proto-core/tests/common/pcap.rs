//! Fixture access for the integration tests: the captures under `tests/fixtures/`, read with
//! proto-core's own zero-copy pcap reader (`proto_core::pcap`). Test code: a bad file panics
//! with the reader's error, naming the file.

use std::path::Path;

use proto_core::pcap::{LINKTYPE_ETHERNET, PcapReader};

/// Reads every frame (the captured bytes of each record) of a classic Ethernet pcap file.
pub fn read_pcap(bytes: &[u8]) -> Vec<Vec<u8>> {
    let reader = PcapReader::new(bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        reader.linktype() & 0x0fff_ffff,
        LINKTYPE_ETHERNET,
        "pcap: link type is not Ethernet"
    );
    reader
        .records()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")).data.to_vec())
        .collect()
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
    let reader =
        PcapReader::new(&bytes).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    assert_eq!(
        reader.linktype() & 0x0fff_ffff,
        LINKTYPE_ETHERNET,
        "{name}: not Ethernet"
    );
    reader
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
                .data
                .to_vec()
        })
        .collect()
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
