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

#[test]
#[ignore]
fn debug_seed() {
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let loss: u32 = std::env::var("LOSS").unwrap().parse().unwrap();
    let r = exchange(faulty(loss), seed, MIB, Instant::from_secs(3600));
    eprintln!("{r:?}");
}

#[test]
#[ignore]
fn debug_stalls() {
    let cfg = config(1);
    let client = OurEndpoint::client(&cfg, PORT);
    let server = OurEndpoint::server(&cfg, PORT);
    let mut sim = Sim::new(client, server, LinkConfig::default(), 1);
    let mut last = Instant::ZERO;
    let total = 4 * MIB;
    let r = sim.run_until(Instant::from_secs(60), |c, s, now| {
        if now != last {
            eprintln!("jump to {now}: client {:?}\n   server {:?}", c.conn, s.conn);
            last = now;
        }
        if c.state().is_synchronized() {
            c.write_then_close(total);
        }
        s.read_verify().unwrap();
        s.eof()
    });
    eprintln!("{r:?}");
}

#[test]
#[ignore]
fn debug_slow_reader() {
    let cfg = config(1);
    let client = OurEndpoint::client(&cfg, PORT);
    let server = OurEndpoint::server(&cfg, PORT);
    let mut sim = Sim::new(client, server, LinkConfig::default(), 1);
    let total = 2 * MIB;
    let r = sim.run_until(Instant::from_secs(60), |c, s, _| {
        if c.state().is_synchronized() {
            c.write_then_close(total);
        }
        s.read_verify_max(4096).unwrap();
        s.eof()
    });
    eprintln!("{r:?}\nclient {:?}\nserver {:?}", sim.a.conn, sim.b.conn);
}

#[test]
#[ignore]
fn debug_lossy_bulk() {
    let cfg = config(1);
    let client = OurEndpoint::client(&cfg, PORT);
    let server = OurEndpoint::server(&cfg, PORT);
    let mut sim = Sim::new(client, server, LinkConfig::lossy(10_000), 1);
    let total = 32 * MIB;
    let r = sim.run_until(Instant::from_secs(600), |c, s, _| {
        if c.state().is_synchronized() {
            c.write_then_close(total);
        }
        s.read_verify().unwrap();
        s.eof()
    });
    eprintln!(
        "{r:?}\nclient {:?} {:?}\nserver {:?}",
        sim.a.conn.stats(),
        sim.a.conn,
        sim.b.conn.stats()
    );
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
