//! The TCP engine over the deterministic simulated link (`proto_core::sim`): our client and
//! server move 1 MiB each way, byte-exact, under loss, reordering, duplication and corruption,
//! for many seeds, and both ends finish closed within a bound of simulated time.

#[path = "common/ours.rs"]
#[allow(dead_code)]
mod ours;
#[path = "common/smol.rs"]
#[allow(dead_code)]
mod smol;

use ours::{OurEndpoint, config};
use proto_core::sim::{LinkConfig, Sim};
use proto_core::time::{Duration, Instant};

const PORT: u16 = 7000;
const MIB: u64 = 1 << 20;

/// Both directions at once: each side writes `total` bytes then closes, and reads and
/// verifies everything the other sends. Returns the simulated time it took.
fn exchange(link: LinkConfig, seed: u64, total: u64, limit: Instant) -> Result<Instant, String> {
    let cfg = config(seed);
    let client = OurEndpoint::client(&cfg, PORT);
    let server = OurEndpoint::server(&cfg, PORT);
    let mut sim = Sim::new(client, server, link, seed);
    let mut error = None;
    let r = sim.run_until(limit, |c, s, _| {
        for ep in [&mut *c, &mut *s] {
            if ep.state().is_synchronized() || ep.state() == proto_core::tcp::State::SynReceived {
                ep.write_then_close(total);
            }
            if let Err(e) = ep.read_verify() {
                error = Some(e);
                return true;
            }
        }
        c.eof() && s.eof() && c.is_closed() && s.is_closed()
    });
    if let Some(e) = error {
        return Err(format!("seed {seed}: corrupt stream: {e}"));
    }
    let c = &sim.a;
    let s = &sim.b;
    match r {
        Ok(at) => {
            if c.verified() != total || s.verified() != total {
                return Err(format!(
                    "seed {seed}: verified {} / {}",
                    c.verified(),
                    s.verified()
                ));
            }
            Ok(at)
        }
        Err(e) => Err(format!(
            "seed {seed}: {e}; client {:?} wrote {} read {}; server {:?} wrote {} read {}; links {} / {}",
            c.conn,
            c.written(),
            c.verified(),
            s.conn,
            s.written(),
            s.verified(),
            sim.ab.stats(),
            sim.ba.stats()
        )),
    }
}

#[test]
fn one_mib_each_way_perfect_link() {
    let at = exchange(LinkConfig::default(), 1, MIB, Instant::from_secs(60)).unwrap();
    eprintln!("done at {at}");
}

#[test]
fn one_mib_each_way_lossy_link() {
    let link = LinkConfig {
        delay: Duration::from_millis(5),
        ..LinkConfig::lossy(10_000)
    };
    let at = exchange(link, 2, MIB, Instant::from_secs(600)).unwrap();
    eprintln!("done at {at}");
}

/// A link with `loss_ppm` loss each way, plus reordering, duplication and corruption, and a
/// few milliseconds of delay with jitter.
fn faulty(loss_ppm: u32) -> LinkConfig {
    LinkConfig {
        loss_ppm,
        duplicate_ppm: 10_000,
        corrupt_ppm: 5_000,
        reorder_ppm: 20_000,
        reorder_delay: Duration::from_millis(3),
        delay: Duration::from_millis(2),
        jitter: Duration::from_micros(500),
        ..LinkConfig::default()
    }
}

/// Runs `seeds` seeds on two threads; fails with every failing seed named.
fn matrix(loss_ppm: u32, seeds: u64, limit: Instant) {
    let results: Vec<Result<Instant, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2u64)
            .map(|t| {
                scope.spawn(move || {
                    (0..seeds)
                        .filter(|s| s % 2 == t)
                        .map(|seed| {
                            exchange(
                                faulty(loss_ppm),
                                seed * 7919 + u64::from(loss_ppm),
                                MIB,
                                limit,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let worst = results.iter().filter_map(|r| r.as_ref().ok()).max();
    eprintln!(
        "loss {loss_ppm} ppm: {} seeds, {} failed, slowest {worst:?}",
        results.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {seeds} seeds failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn matrix_loss_0() {
    matrix(0, 200, Instant::from_secs(60));
}

#[test]
fn matrix_loss_1_percent() {
    matrix(10_000, 200, Instant::from_secs(300));
}

#[test]
fn matrix_loss_5_percent() {
    matrix(50_000, 200, Instant::from_secs(600));
}

#[test]
fn matrix_loss_20_percent() {
    matrix(200_000, 200, Instant::from_secs(3600));
}

/// One direction of bulk data (`total` bytes, then close) to a reader that reads at most
/// `read_max` bytes per round; returns the end time and the writer's loss-recovery counters.
fn one_way(
    link: LinkConfig,
    seed: u64,
    total: u64,
    read_max: u64,
) -> (Instant, proto_core::tcp::ConnectionStats) {
    let cfg = config(seed);
    let client = OurEndpoint::client(&cfg, PORT);
    let server = OurEndpoint::server(&cfg, PORT);
    let mut sim = Sim::new(client, server, link, seed);
    let at = sim
        .run_until(Instant::from_secs(600), |c, s, _| {
            if c.state().is_synchronized() {
                c.write_then_close(total);
            }
            s.read_verify_max(read_max).unwrap();
            s.eof()
        })
        .unwrap_or_else(|e| panic!("{e}: client {:?} server {:?}", sim.a.conn, sim.b.conn));
    assert_eq!(sim.b.verified(), total);
    (at, sim.a.conn.stats())
}

/// On a perfect zero-delay link nothing ever waits for a timer: every ACK is immediate
/// (more than one MSS unacknowledged, RFC 9293 §3.8.6.3), slow start is not throttled by
/// stretch ACKs, and the close completes at once.
#[test]
fn perfect_link_never_waits_on_a_timer() {
    let (at, stats) = one_way(LinkConfig::default(), 1, 4 * MIB, u64::MAX);
    assert_eq!(at, Instant::ZERO);
    assert_eq!(stats, proto_core::tcp::ConnectionStats::default());
}

/// Write-then-close of 2 MiB to a reader that takes 4 KiB per round: the window closes and
/// reopens hundreds of times, every byte arrives before the FIN, and nothing deadlocks.
#[test]
fn write_then_close_to_a_slow_reader() {
    let (_, stats) = one_way(LinkConfig::default(), 1, 2 * MIB, 4096);
    assert_eq!(stats.rtos, 0);
}

/// 16 MiB at 1 % loss each way on a zero-delay link (the benchmark's lossy case), several
/// seeds: RACK, SACK recovery, ACKs every second segment, loss probes and lost-retransmission
/// detection repair every loss without a single retransmission timeout, and the simulated
/// time (on this link, only time spent waiting on timers) stays under 80 ms, i.e. the
/// transfer is never stalled for long.
#[test]
fn one_percent_loss_bulk_needs_no_rto() {
    for seed in 1..=4 {
        let (at, stats) = one_way(LinkConfig::lossy(10_000), seed, 16 * MIB, u64::MAX);
        eprintln!("seed {seed}: 16 MiB at 1% loss: {at}, {stats:?}");
        assert!(stats.fast_recoveries > 50, "seed {seed}: {stats:?}");
        assert_eq!(stats.rtos, 0, "seed {seed}: {stats:?}");
        assert!(
            at < Instant::from_millis(80),
            "seed {seed}: done at {at}, {stats:?}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// Random link parameters: whatever the faults, delay and bandwidth, both directions
    /// arrive byte-exact and both ends close, within a bound of simulated time.
    #[test]
    fn random_links_deliver_and_close(
        seed in 0u64..1_000_000,
        loss_ppm in 0u32..200_000,
        duplicate_ppm in 0u32..50_000,
        corrupt_ppm in 0u32..20_000,
        reorder_ppm in 0u32..100_000,
        reorder_ms in 0u64..20,
        delay_ms in 0u64..50,
        jitter_us in 0u64..5_000,
        mbit in proptest::option::of(1u64..1_000),
        kib in 1u64..256,
    ) {
        let link = LinkConfig {
            loss_ppm,
            duplicate_ppm,
            corrupt_ppm,
            reorder_ppm,
            reorder_delay: Duration::from_millis(reorder_ms),
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::from_micros(jitter_us),
            bandwidth: mbit.map(|m| m * 1_000_000),
            ..LinkConfig::default()
        };
        let r = exchange(link, seed, kib * 1024, Instant::from_secs(3600));
        proptest::prop_assert!(r.is_ok(), "{:?} with {link:?}", r.err());
    }
}
