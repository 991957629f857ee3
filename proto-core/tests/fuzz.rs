//! Runs the fuzz targets of `proto-core/fuzz/targets.rs` under `cargo test`: each target over
//! (a) every file of its seed corpus `fuzz/corpus/NAME/`, (b) deterministic mutations of every
//! seed (bit flips, bytes set to 0 / 0xff / random, truncations, insertions, deletions, 8- and
//! 16-bit length-like values patched in) and (c) random inputs of 0..=2000 bytes, all from
//! fixed-seed PRNGs. A panic fails the test with the target, the input's origin and its hex.
//!
//! The seed corpus is derived from the captured fixtures by the ignored test `write_corpus`:
//! `cargo test -p proto-core --test fuzz -- --ignored write_corpus`.

#[path = "../fuzz/app_targets.rs"]
mod app_targets;
mod common;
#[path = "../fuzz/targets.rs"]
mod targets;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use proto_core::wire::ipv6::is_extension_header;
use proto_core::wire::{Frame, Network, Transport};

/// Mutated inputs per target, spread over its seeds.
const MUTANTS: usize = 6000;
/// Bounds on the mutants per seed.
const MUTANTS_PER_SEED: (usize, usize) = (16, 1200);
/// Purely random inputs per target.
const RANDOM_INPUTS: usize = 2000;
/// The longest random input.
const RANDOM_MAX_LEN: usize = 2000;
/// Fixtures small enough to be pcap seeds (whole files).
const PCAP_SEED_MAX_LEN: usize = 1100;

/// SplitMix64: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn new(name: &str) -> Self {
        // FNV-1a of the target name, so each target gets its own fixed stream.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Self(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    /// A position in `0..len` (`len > 0`), half the time in the first 64 bytes, where the
    /// headers and their length fields are.
    fn pos(&mut self, len: usize) -> usize {
        if self.next() & 1 == 0 {
            self.below(len.min(64))
        } else {
            self.below(len)
        }
    }
}

/// Applies one random mutation to `input`; returns what it did.
fn mutate_once(rng: &mut Rng, input: &mut Vec<u8>) -> String {
    const BYTES: [u8; 22] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0f, 0x10, 0x11, 0x3a, 0x40, 0x45, 0x46, 0x4f, 0x50, 0x60,
        0x7f, 0x80, 0xff,
    ];
    let len = input.len();
    if len == 0 {
        let n = 1 + rng.below(16);
        let extra = rng.bytes(n);
        input.extend_from_slice(&extra);
        return format!("appended {} random bytes", extra.len());
    }
    match rng.below(9) {
        0 => {
            let (at, bit) = (rng.pos(len), rng.below(8));
            input[at] ^= 1 << bit;
            format!("flipped bit {bit} of byte {at}")
        }
        1 => {
            let at = rng.pos(len);
            input[at] = [0, 0xff, rng.byte()][rng.below(3)];
            format!("set byte {at} to {:#04x}", input[at])
        }
        2 => {
            let at = rng.pos(len);
            input[at] = BYTES[rng.below(BYTES.len())];
            format!("set byte {at} to {:#04x}", input[at])
        }
        3 => {
            let to = rng.below(len);
            input.truncate(to);
            format!("truncated to {to} bytes")
        }
        4 => {
            let at = rng.pos(len + 1).min(len);
            let n = 1 + rng.below(16);
            let extra = rng.bytes(n);
            let n = extra.len();
            input.splice(at..at, extra);
            format!("inserted {n} random bytes at {at}")
        }
        5 => {
            let at = rng.pos(len);
            let n = (1 + rng.below(16)).min(len - at);
            input.drain(at..at + n);
            format!("deleted {n} bytes at {at}")
        }
        6 | 7 => {
            // A 16-bit length-like field: small, around the input's length, or huge.
            if len < 2 {
                input.push(rng.byte());
                return "appended a byte".to_string();
            }
            let at = rng.pos(len - 1);
            let rest = (len - at) as u16;
            let values = [
                0,
                1,
                2,
                4,
                7,
                8,
                20,
                39,
                40,
                0xff,
                0x100,
                rest.wrapping_sub(1),
                rest,
                rest.wrapping_add(1),
                len as u16,
                (len as u16).wrapping_add(8),
                0x7fff,
                0x8000,
                0xfffe,
                0xffff,
                rng.next() as u16,
            ];
            let v = values[rng.below(values.len())];
            input[at..at + 2].copy_from_slice(&v.to_be_bytes());
            format!("set u16 at {at} to {v}")
        }
        _ => {
            // Repeat a chunk of the input right after itself.
            let at = rng.pos(len);
            let n = (1 + rng.below(32)).min(len - at);
            let chunk = input[at..at + n].to_vec();
            input.splice(at + n..at + n, chunk);
            format!("repeated {n} bytes at {at}")
        }
    }
}

/// One to three stacked mutations of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8]) -> (Vec<u8>, String) {
    let mut input = seed.to_vec();
    let rounds = 1 + rng.below(3);
    let what: Vec<String> = (0..rounds).map(|_| mutate_once(rng, &mut input)).collect();
    (input, what.join(", then "))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `target` on `input`; a panic fails the test naming the target, the origin and the
/// input as hex (paste it into a file to replay it with `cargo fuzz run NAME FILE`).
fn check(name: &str, target: fn(&[u8]), input: &[u8], origin: impl FnOnce() -> String) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(input))) {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!(
            "fuzz target `{name}` panicked on {}: {message}\ninput ({} bytes): {}",
            origin(),
            input.len(),
            hex(input)
        );
    }
}

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

/// The seed files of a target, in name order.
fn read_corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_root().join(name);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: cannot list: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("corpus file {}: {e}", path.display()));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    files.sort();
    files
}

/// Runs one target over its corpus, mutations of it and random inputs.
fn run(name: &str, target: fn(&[u8])) {
    let seeds = read_corpus(name);
    assert!(
        !seeds.is_empty(),
        "{name}: empty seed corpus; run `cargo test -p proto-core --test fuzz -- --ignored write_corpus`"
    );
    let mut rng = Rng::new(name);
    let mut count = 0;
    for (file, seed) in &seeds {
        check(name, target, seed, || format!("corpus file {name}/{file}"));
        count += 1;
    }
    let per_seed = (MUTANTS / seeds.len()).clamp(MUTANTS_PER_SEED.0, MUTANTS_PER_SEED.1);
    for (file, seed) in &seeds {
        for i in 0..per_seed {
            let (input, what) = mutate(&mut rng, seed);
            check(name, target, &input, || {
                format!("mutation {i} of corpus file {name}/{file} ({what})")
            });
            count += 1;
        }
    }
    for i in 0..RANDOM_INPUTS {
        let len = rng.below(RANDOM_MAX_LEN + 1);
        let input = rng.bytes(len);
        check(name, target, &input, || format!("random input {i}"));
        count += 1;
    }
    assert!(count >= 2000, "{name}: only {count} inputs");
}

macro_rules! fuzz_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name), targets::$name);
            }
        )*
        /// Every target, by name.
        const TARGETS: &[&str] = &[$(stringify!($name)),*];
    };
}

fuzz_tests!(
    ethernet,
    arp,
    ipv4,
    ipv4_options,
    ipv6,
    ipv6_ext,
    icmpv4,
    icmpv6,
    udp,
    tcp,
    tcp_options,
    frame,
    pcap,
    dissect,
);

/// The application targets: their seeds are the unit tests' fixtures (committed by hand, not
/// derived from the pcap fixtures, so `write_corpus` leaves them alone).
macro_rules! app_fuzz_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name), app_targets::$name);
            }
        )*
    };
}

app_fuzz_tests!(dhcp, dns, ntp, http);

/// The seed corpus derived from the fixtures: (target, file name, bytes), identical inputs of a
/// target kept once (the first, in fixture order).
fn derive_corpus() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut seen: HashSet<(&'static str, Vec<u8>)> = HashSet::new();
    let mut add = |target: &'static str, file: String, bytes: &[u8]| {
        if seen.insert((target, bytes.to_vec())) {
            out.push((target, file, bytes.to_vec()));
        }
    };
    let mut index = 0;
    let mut last = String::new();
    for (fixture, frame) in common::pcap::all_fixtures() {
        if fixture != last {
            index = 0;
            last.clone_from(&fixture);
        }
        let stem = fixture.trim_end_matches(".pcap");
        let file = format!("{stem}-{index:02}");
        index += 1;
        add("ethernet", file.clone(), &frame);
        add("frame", file.clone(), &frame);
        add("dissect", file.clone(), &frame);
        let parsed = Frame::parse(&frame).unwrap_or_else(|e| panic!("{file}: {e}"));
        match parsed.network {
            Some(Network::Arp(p)) => add("arp", file.clone(), p.into_inner()),
            Some(Network::Ipv4(p)) => {
                add("ipv4", file.clone(), p.into_inner());
                if !p.options().is_empty() {
                    add("ipv4_options", file.clone(), p.options());
                }
            }
            Some(Network::Ipv6 { packet, .. }) => {
                add("ipv6", file.clone(), packet.into_inner());
                let next = packet.next_header();
                if is_extension_header(next) {
                    let mut chain = vec![u8::from(next)];
                    chain.extend_from_slice(packet.payload());
                    add("ipv6_ext", file.clone(), &chain);
                }
            }
            None => {}
        }
        match parsed.transport {
            Some(Transport::Tcp(t)) => {
                add("tcp", file.clone(), t.into_inner());
                if !t.options().is_empty() {
                    add("tcp_options", file.clone(), t.options());
                }
            }
            Some(Transport::Udp(u)) => add("udp", file.clone(), u.into_inner()),
            Some(Transport::Icmpv4(i)) => add("icmpv4", file.clone(), i.into_inner()),
            Some(Transport::Icmpv6(i)) => add("icmpv6", file.clone(), i.into_inner()),
            None => {}
        }
    }
    // The application-layer captures seed the dissector only.
    let apps = common::pcap::fixtures_dir().join("apps");
    let mut app_files: Vec<_> = std::fs::read_dir(&apps)
        .expect("fixtures/apps dir")
        .map(|e| e.expect("fixtures/apps entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    app_files.sort();
    for path in app_files {
        let bytes = std::fs::read(&path).expect("fixture file");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (i, frame) in common::pcap::read_pcap(&bytes).iter().enumerate() {
            add("dissect", format!("{stem}-{i:02}"), frame);
        }
    }
    let dir = common::pcap::fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures dir")
        .map(|e| {
            e.expect("fixtures entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".pcap"))
        .collect();
    names.sort();
    for name in names {
        let bytes = std::fs::read(dir.join(&name)).expect("fixture file");
        if bytes.len() <= PCAP_SEED_MAX_LEN {
            add("pcap", name, &bytes);
        }
    }
    out
}

/// Rewrites `fuzz/corpus/NAME/` for every target from the fixtures.
#[test]
#[ignore = "rewrites fuzz/corpus; run with --ignored write_corpus"]
fn write_corpus() {
    let corpus = derive_corpus();
    let root = corpus_root();
    for target in TARGETS {
        let dir = root.join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let seeds: Vec<_> = corpus.iter().filter(|(t, _, _)| t == target).collect();
        assert!(!seeds.is_empty(), "no seed for target {target}");
        for (_, file, bytes) in seeds {
            std::fs::write(dir.join(file), bytes)
                .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()));
        }
    }
}

/// The committed corpus holds every seed the fixtures give (fuzzing runs may add more).
#[test]
fn corpus_holds_the_fixture_seeds() {
    for (target, file, bytes) in derive_corpus() {
        let path = corpus_root().join(target).join(&file);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo test -p proto-core --test fuzz -- --ignored write_corpus`",
                path.display()
            )
        });
        assert!(
            on_disk == bytes,
            "{}: differs from the fixture seed",
            path.display()
        );
    }
}
