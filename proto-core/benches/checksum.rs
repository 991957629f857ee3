//! `checksum`: Internet checksum throughput (GB/s) over 20 (an IPv4 header), 64, 576, 1500 and
//! 9000 byte buffers,
//! proto-core's `checksum::sum` beside smoltcp 0.14's `wire::checksum::data` in the same run.
//! Both return the folded, uncomplemented one's-complement sum in network order.
//!
//! Run: `cargo bench -p proto-core --bench checksum`. After criterion's figures it prints
//! `checksum summary` lines: best GB/s for both over 400 interleaved pairs of timed loops, and
//! the speed ratio ours / smoltcp (of the bests, and the median per pair; above 1 we are faster).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use std::hint::black_box;
use std::time::Instant;

fn buffer(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn checksum(c: &mut Criterion) {
    let mut group = c.benchmark_group("checksum");
    for len in [20usize, 64, 576, 1500, 9000] {
        let data = buffer(len);
        assert_eq!(
            proto_core::checksum::sum(&data),
            smoltcp::wire::checksum::data(&data),
            "both compute the same sum"
        );
        group.throughput(Throughput::BytesDecimal(len as u64));
        group.bench_with_input(BenchmarkId::new("proto-core", len), &data, |b, d| {
            b.iter(|| proto_core::checksum::sum(black_box(d)))
        });
        group.bench_with_input(BenchmarkId::new("smoltcp", len), &data, |b, d| {
            b.iter(|| smoltcp::wire::checksum::data(black_box(d)))
        });
    }
    group.finish();
}

/// Seconds per call, over a short timed loop.
fn time(f: fn(&[u8]) -> u16, data: &[u8]) -> f64 {
    let iters = (200_000 / data.len()).max(50);
    let start = Instant::now();
    let mut x = 0u16;
    for _ in 0..iters {
        x ^= f(black_box(data));
    }
    black_box(x);
    start.elapsed().as_secs_f64() / iters as f64
}

fn summary() {
    for len in [20usize, 64, 576, 1500, 9000] {
        let data = buffer(len);
        let (mut ours, mut theirs) = (f64::MAX, f64::MAX);
        let mut ratios = Vec::with_capacity(400);
        for _ in 0..400 {
            let o = time(proto_core::checksum::sum, &data);
            let t = time(smoltcp::wire::checksum::data, &data);
            ours = ours.min(o);
            theirs = theirs.min(t);
            ratios.push(t / o);
        }
        ratios.sort_by(f64::total_cmp);
        let gbs = |t: f64| len as f64 / t / 1e9;
        println!(
            "checksum summary {len:>5} B: proto-core {:.1} GB/s, smoltcp {:.1} GB/s, \
             speed ratio of bests {:.2}, median {:.2}",
            gbs(ours),
            gbs(theirs),
            theirs / ours,
            ratios[ratios.len() / 2]
        );
    }
}

criterion_group!(benches, checksum);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
