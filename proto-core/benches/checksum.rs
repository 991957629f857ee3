//! `checksum`: Internet checksum throughput (GB/s) over 64, 576, 1500 and 9000 byte buffers,
//! proto-core's `checksum::sum` beside smoltcp 0.14's `wire::checksum::data` in the same run.
//! Both return the folded, uncomplemented one's-complement sum in network order.
//!
//! Run: `cargo bench -p proto-core --bench checksum`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

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
    for len in [64usize, 576, 1500, 9000] {
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

criterion_group!(benches, checksum);
criterion_main!(benches);
