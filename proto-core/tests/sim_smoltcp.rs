//! The simulated link and harness (`proto_core::sim`) with smoltcp 0.14 on both ends: a 1 MiB
//! transfer arrives byte-exact over a perfect link and over a seeded 1 %-loss link, and both
//! ends close; the same seed gives the same run; and a smoke run of the `tcp_throughput`
//! benchmark's scenario runner.

// The benchmark brings `tests/common/smol.rs` in as `bench::smol`; loading it a second time
// through `mod common` would make two copies of its types.
#[path = "../benches/tcp_throughput.rs"]
#[allow(dead_code)]
mod bench;

use bench::smol::{SERVER_IP, SmolEndpoint, pattern_byte, pattern_check, pattern_fill};
use proto_core::sim::{LinkConfig, Sim, Stats};
use proto_core::time::Instant;
use smoltcp::socket::tcp::State;

const PORT: u16 = 7000;
const MIB: u64 = 1 << 20;

/// Client writes `total` bytes and closes; the server reads, verifies, closes on end of
/// stream. Returns the instant both ends were closed and the two links' counters.
fn transfer(cfg: LinkConfig, seed: u64, total: u64) -> (Instant, Stats, Stats) {
    let client = SmolEndpoint::client(SERVER_IP, PORT);
    let server = SmolEndpoint::server(PORT);
    let mut sim = Sim::new(client, server, cfg, seed);
    let mut client_closed = false;
    let mut server_closed = false;
    let at = sim
        .run_until(Instant::from_secs(600), |c, s, _| {
            if c.write_pattern(total) == total && !client_closed {
                c.close();
                client_closed = true;
            }
            s.read_verify().unwrap_or_else(|e| panic!("{e}"));
            if s.eof() && !server_closed {
                assert_eq!(s.verified(), total, "end of stream before the last byte");
                s.close();
                server_closed = true;
            }
            c.is_closed() && s.is_closed()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sim.b.verified(), total);
    assert!(matches!(sim.a.state(), State::TimeWait | State::Closed));
    assert!(matches!(sim.b.state(), State::Closed | State::TimeWait));
    (at, sim.ab.stats(), sim.ba.stats())
}

#[test]
fn pattern_fill_and_check_agree_with_pattern_byte() {
    for offset in [0u64, 1, 250, 251, 252, 1 << 33] {
        let mut buf = [0u8; 600];
        pattern_fill(offset, &mut buf);
        for (i, &b) in buf.iter().enumerate() {
            assert_eq!(b, pattern_byte(offset + i as u64));
        }
        pattern_check(offset, &buf).unwrap();
        buf[300] ^= 1;
        let err = pattern_check(offset, &buf).unwrap_err();
        assert!(err.starts_with(&format!("byte {}", offset + 300)), "{err}");
    }
}

#[test]
fn one_mib_over_a_perfect_link_arrives_byte_exact() {
    let (at, ab, ba) = transfer(LinkConfig::default(), 1, MIB);
    println!("perfect link: closed at {at}\n  c->s {ab}\n  s->c {ba}");
    assert_eq!(ab.lost + ba.lost, 0);
}

#[test]
fn one_mib_over_a_lossy_link_arrives_byte_exact() {
    let (at, ab, ba) = transfer(LinkConfig::lossy(10_000), 42, MIB);
    println!("1% loss: closed at {at}\n  c->s {ab}\n  s->c {ba}");
    assert!(ab.lost > 0, "the seed should lose some frames: {ab}");
}

#[test]
fn same_seed_same_run() {
    let cfg = LinkConfig::lossy(20_000);
    let one = transfer(cfg, 7, 256 * 1024);
    let two = transfer(cfg, 7, 256 * 1024);
    assert_eq!(one, two);
}

#[test]
fn throughput_runner_smoke() {
    // The benchmark's runner on a few MiB, simulated clock only (CI exercises the code; no
    // timings are asserted).
    let mut cfg = bench::Config::quick();
    cfg.clocks = vec![bench::Clock::Sim];
    let rows = bench::run(&cfg);
    let stacks = bench::stacks().len();
    assert_eq!(rows.len(), cfg.scenarios.len() * stacks);
    for (row, sc) in rows.iter().zip(
        cfg.scenarios
            .iter()
            .flat_map(|sc| std::iter::repeat_n(sc, stacks)),
    ) {
        for o in [&row.up, &row.down] {
            assert!(o.error.is_none(), "{}: {:?}", row.scenario, o.error);
            assert!(o.verified > 0, "{}: nothing arrived", row.scenario);
            if sc.must_complete {
                assert!(o.complete && o.closed, "{}: {o:?}", row.scenario);
            }
        }
    }
}
