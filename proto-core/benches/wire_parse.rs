//! `wire_parse`: 10,000 mixed frames (ARP, IPv4/TCP with options, IPv4/UDP, IPv6/TCP,
//! 802.1Q-tagged IPv4, QinQ IPv4) parsed down to the L4 payload with every checksum verified:
//! proto-core's `Frame::parse` + `verify_checksums` beside etherparse 0.21's
//! `SlicedPacket::from_ethernet` + its checksum computations, in the same run.
//!
//! The corpus is built with etherparse's `PacketBuilder` (ARP by hand), not by our emitters.
//! A counting global allocator checks that our side allocates nothing.
//!
//! Run: `cargo bench -p proto-core --bench wire_parse`. After criterion's figures it prints
//! `wire_parse summary: ...`: best ns/frame for both, and the ratio ours / etherparse (of the
//! bests, and the median and quartiles over 300 interleaved pairs).

// The counting allocator below is the only `unsafe` in proto-core's targets; the library
// itself is `#![forbid(unsafe_code)]`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use etherparse::{
    NetSlice, PacketBuilder, SlicedPacket, TcpOptionElement, TransportSlice, VlanId,
    checksum::Sum16BitWords,
};
use proto_core::wire::Frame;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const FRAMES: usize = 10_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
const IP_A: [u8; 4] = [192, 168, 10, 2];
const IP_B: [u8; 4] = [192, 168, 10, 1];
const IP6_A: [u8; 16] = [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const IP6_B: [u8; 16] = [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

fn tcp_options(rng: &mut Rng) -> Vec<TcpOptionElement> {
    use TcpOptionElement::*;
    let ts = Timestamp(rng.next() as u32, rng.next() as u32);
    match rng.below(3) {
        // A Linux SYN: MSS, SACK-permitted, timestamps, window scale.
        0 => vec![
            MaximumSegmentSize(1460),
            SelectiveAcknowledgementPermitted,
            ts,
            Noop,
            WindowScale(7),
        ],
        // Data with timestamps.
        1 => vec![Noop, Noop, ts],
        // A dup ACK with timestamps and two SACK blocks.
        _ => vec![
            Noop,
            Noop,
            ts,
            Noop,
            Noop,
            SelectiveAcknowledgement((1000, 2000), [Some((3000, 4000)), None, None]),
        ],
    }
}

fn payload(rng: &mut Rng, max: u64) -> Vec<u8> {
    let len = rng.below(max + 1) as usize;
    (0..len).map(|_| rng.next() as u8).collect()
}

fn arp(rng: &mut Rng) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1 + rng.below(2) as u8]);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&IP_A);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&IP_B);
    f
}

fn build(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = Vec::new();
    write(&mut v);
    v
}

fn corpus() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let vid = |n| VlanId::try_new(n).unwrap();
    (0..FRAMES)
        .map(|_| {
            let kind = rng.below(10);
            let base = PacketBuilder::ethernet2(MAC_A, MAC_B);
            let seq = rng.next() as u32;
            let ack = rng.next() as u32;
            match kind {
                0 => arp(&mut rng),
                1..=3 => {
                    let opts = tcp_options(&mut rng);
                    let p = payload(&mut rng, 1400);
                    let b = base
                        .ipv4(IP_A, IP_B, 64)
                        .tcp(40000, 80, seq, 64240)
                        .ack(ack)
                        .options(&opts)
                        .unwrap();
                    build(|v| b.write_to_vec(v, &p).unwrap())
                }
                4 | 5 => {
                    let p = payload(&mut rng, 1472);
                    let b = base.ipv4(IP_A, IP_B, 64).udp(5353, 53);
                    build(|v| b.write_to_vec(v, &p).unwrap())
                }
                6 | 7 => {
                    let opts = tcp_options(&mut rng);
                    let p = payload(&mut rng, 1380);
                    let b = base
                        .ipv6(IP6_A, IP6_B, 64)
                        .tcp(40000, 443, seq, 65535)
                        .ack(ack)
                        .options(&opts)
                        .unwrap();
                    build(|v| b.write_to_vec(v, &p).unwrap())
                }
                8 => {
                    let p = payload(&mut rng, 1400);
                    let b = base
                        .single_vlan(vid(10))
                        .ipv4(IP_A, IP_B, 64)
                        .udp(4000, 4001);
                    build(|v| b.write_to_vec(v, &p).unwrap())
                }
                _ => {
                    let opts = tcp_options(&mut rng);
                    let p = payload(&mut rng, 1400);
                    let b = base
                        .double_vlan(vid(100), vid(10))
                        .ipv4(IP_A, IP_B, 64)
                        .tcp(40000, 80, seq, 64240)
                        .ack(ack)
                        .options(&opts)
                        .unwrap();
                    build(|v| b.write_to_vec(v, &p).unwrap())
                }
            }
        })
        .collect()
}

/// Ours: parse every layer, verify every checksum, return the sum of L4 payload lengths.
#[inline(never)]
fn ours(corpus: &[Vec<u8>]) -> usize {
    let mut total = 0;
    for f in corpus {
        let frame = Frame::parse(f).expect("valid frame");
        frame.verify_checksums().expect("valid checksums");
        total += frame.payload.len();
    }
    total
}

fn ipv4_header_ok(header: &[u8]) -> bool {
    Sum16BitWords::new().add_slice(header).ones_complement() == 0
}

/// etherparse: slice every layer, verify every checksum with its own functions.
#[inline(never)]
fn theirs(corpus: &[Vec<u8>]) -> usize {
    let mut total = 0;
    for f in corpus {
        let p = SlicedPacket::from_ethernet(f).expect("valid frame");
        let ok = match (&p.net, &p.transport) {
            (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) => {
                let h = ip.header();
                ipv4_header_ok(h.slice())
                    && tcp.calc_checksum_ipv4(h.source(), h.destination()).unwrap()
                        == tcp.checksum()
            }
            (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Udp(udp))) => {
                let h = ip.header();
                ipv4_header_ok(h.slice())
                    && udp
                        .to_header()
                        .calc_checksum_ipv4_raw(h.source(), h.destination(), udp.payload())
                        .unwrap()
                        == udp.checksum()
            }
            (Some(NetSlice::Ipv6(ip)), Some(TransportSlice::Tcp(tcp))) => {
                let h = ip.header();
                tcp.calc_checksum_ipv6(h.source(), h.destination()).unwrap() == tcp.checksum()
            }
            (Some(NetSlice::Arp(_)), None) => true,
            other => panic!("unexpected layers {other:?}"),
        };
        assert!(ok, "checksum");
        total += match &p.transport {
            Some(TransportSlice::Tcp(t)) => t.payload().len(),
            Some(TransportSlice::Udp(u)) => u.payload().len(),
            _ => 0,
        };
    }
    total
}

fn wire_parse(c: &mut Criterion) {
    let corpus = corpus();
    assert_eq!(
        ours(&corpus),
        theirs(&corpus),
        "both see the same payload bytes"
    );
    let mut group = c.benchmark_group("wire_parse");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("proto-core", |b| b.iter(|| ours(black_box(&corpus))));
    group.bench_function("etherparse", |b| b.iter(|| theirs(black_box(&corpus))));
    group.finish();
}

/// Interleaved pairs of timed passes over the corpus: best time per frame for each side, and
/// the median of the per-pair ratios (noise that drifts slowly hits both halves of a pair).
fn summary() {
    let corpus = corpus();
    let before = ALLOCS.load(Ordering::Relaxed);
    black_box(ours(&corpus));
    let ours_allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let before = ALLOCS.load(Ordering::Relaxed);
    black_box(theirs(&corpus));
    let theirs_allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let time = |f: fn(&[Vec<u8>]) -> usize| {
        let t = Instant::now();
        black_box(f(black_box(&corpus)));
        t.elapsed().as_secs_f64()
    };
    let (mut best_ours, mut best_theirs) = (f64::MAX, f64::MAX);
    let mut ratios = Vec::with_capacity(300);
    for _ in 0..300 {
        let (o, t) = (time(ours), time(theirs));
        best_ours = best_ours.min(o);
        best_theirs = best_theirs.min(t);
        ratios.push(o / t);
    }
    ratios.sort_by(f64::total_cmp);
    let per_frame = |s: f64| s * 1e9 / FRAMES as f64;
    println!(
        "wire_parse summary: proto-core {:.1} ns/frame ({ours_allocs} allocations), \
         etherparse {:.1} ns/frame ({theirs_allocs} allocations), \
         ratio of bests {:.2}, median ratio {:.2} (quartiles {:.2}..{:.2})",
        per_frame(best_ours),
        per_frame(best_theirs),
        best_ours / best_theirs,
        ratios[ratios.len() / 2],
        ratios[ratios.len() / 4],
        ratios[ratios.len() * 3 / 4],
    );
    assert_eq!(ours_allocs, 0, "proto-core must not allocate while parsing");
}

criterion_group!(benches, wire_parse);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
