//! `dissect`: frames per second through `proto_core::dissect` to the JSON form and to the
//! one-line summary, over every frame of every capture in `tests/fixtures/` and `tests/fixtures/apps/`, beside
//! `tshark -T json -r FILE > /dev/null` (the whole process, wall time) on the same files,
//! in the same run.
//!
//! Run: `cargo bench -p proto-core --bench dissect`. After criterion's figures it prints
//! `dissect summary: ...`: frames/s for ours (JSON, summary) and for tshark, and the ratios.
//! tshark's time includes its start-up (about a fifth of a second per file here), which is
//! what a user of `tshark -T json` pays; the summary also gives tshark's rate over the frames
//! without that, measured as the difference between two corpus sizes. If tshark is not
//! installed, its half is skipped with a warning.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use proto_core::dissect::{Field, Problem, dissect, format};
use proto_core::pcap::CaptureReader;

fn corpus() -> (Vec<PathBuf>, Vec<Vec<u8>>) {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    let mut files: Vec<PathBuf> = [dir.clone(), dir.join("apps")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    files.sort();
    let mut frames = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for r in CaptureReader::new(&bytes).unwrap() {
            frames.push(r.unwrap().data.to_vec());
        }
    }
    (files, frames)
}

/// Dissects and writes every frame as JSON into one reused String.
fn to_json(frames: &[Vec<u8>], fields: &mut [Field], problems: &mut [Problem], out: &mut String) {
    out.clear();
    for (i, f) in frames.iter().enumerate() {
        let d = dissect(f, fields, problems);
        format::json(&d, i as u64 + 1, out).unwrap();
        out.push('\n');
    }
}

fn to_summary(
    frames: &[Vec<u8>],
    fields: &mut [Field],
    problems: &mut [Problem],
    out: &mut String,
) {
    out.clear();
    for f in frames {
        let d = dissect(f, fields, problems);
        format::summary(&d, out).unwrap();
        out.push('\n');
    }
}

fn bench(c: &mut Criterion) {
    let (_, frames) = corpus();
    let mut fields = vec![Field::EMPTY; 1024];
    let mut problems = vec![Problem::EMPTY; 16];
    let mut out = String::with_capacity(1 << 20);
    let mut g = c.benchmark_group("dissect");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("json", |b| {
        b.iter(|| to_json(black_box(&frames), &mut fields, &mut problems, &mut out))
    });
    g.bench_function("summary", |b| {
        b.iter(|| to_summary(black_box(&frames), &mut fields, &mut problems, &mut out))
    });
    g.finish();
}

/// Best of `runs` of `f`, in seconds.
fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// `tshark -T json -r FILE > /dev/null` over every file, wall time; `None` without tshark.
fn tshark_secs(files: &[PathBuf]) -> Option<f64> {
    Command::new("tshark").arg("--version").output().ok()?;
    Some(best(3, || {
        for f in files {
            let status = Command::new("tshark")
                .arg("-r")
                .arg(f)
                .args(["-T", "json"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        }
    }))
}

/// One pcap holding the whole corpus `copies` times, for tshark's per-frame rate.
fn big_file(frames: &[Vec<u8>], copies: usize) -> PathBuf {
    use proto_core::pcap::{GlobalHeader, RecordHeader};
    let mut file = vec![0u8; 24];
    GlobalHeader {
        snaplen: 65535,
        linktype: 1,
        nanos: false,
    }
    .emit(&mut file);
    for _ in 0..copies {
        for f in frames {
            let mut h = [0u8; 16];
            RecordHeader {
                ts_sec: 1,
                ts_frac: 0,
                caplen: f.len() as u32,
                origlen: f.len() as u32,
            }
            .emit(&mut h);
            file.extend_from_slice(&h);
            file.extend_from_slice(f);
        }
    }
    let path = std::env::temp_dir().join(format!(
        "dissect-bench-{}-{copies}.pcap",
        std::process::id()
    ));
    std::fs::write(&path, file).unwrap();
    path
}

fn summary() {
    let (files, frames) = corpus();
    let n = frames.len() as f64;
    let mut fields = vec![Field::EMPTY; 1024];
    let mut problems = vec![Problem::EMPTY; 16];
    let mut out = String::with_capacity(1 << 20);
    let json = best(50, || {
        to_json(&frames, &mut fields, &mut problems, &mut out)
    });
    let line = best(50, || {
        to_summary(&frames, &mut fields, &mut problems, &mut out)
    });
    println!(
        "dissect summary: {} frames; ours to JSON {:.0} frames/s, to summary {:.0} frames/s",
        frames.len(),
        n / json,
        n / line
    );
    let Some(tshark) = tshark_secs(&files) else {
        println!("dissect summary: WARNING: tshark not installed, no comparison");
        return;
    };
    println!(
        "dissect summary: tshark -T json over the {} files (whole processes): {:.0} frames/s; \
         ours to JSON is {:.0}x faster",
        files.len(),
        n / tshark,
        tshark / json
    );
    // tshark's own per-frame rate: the difference between 1 and 101 copies of the corpus.
    let (small, large) = (big_file(&frames, 1), big_file(&frames, 101));
    let t1 = tshark_secs(std::slice::from_ref(&small)).unwrap();
    let t101 = tshark_secs(std::slice::from_ref(&large)).unwrap();
    let per_frame = (t101 - t1) / (100.0 * n);
    println!(
        "dissect summary: tshark -T json per frame without start-up: {:.0} frames/s; \
         ours to JSON is {:.0}x faster",
        1.0 / per_frame,
        per_frame / (json / n)
    );
    let _ = std::fs::remove_file(small);
    let _ = std::fs::remove_file(large);
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
