//! `tcp_throughput`: bulk TCP transfer between two stacks of the same kind over
//! [`proto_core::sim`], in MB/s (10^6 payload bytes verified by the reader per wall-clock
//! second of the loop), each direction, and the ratio to smoltcp.
//!
//! One single-threaded loop drives both ends: the writer app writes the byte pattern, the
//! harness polls A and moves its frames to B, polls B and moves its frames to A, the reader app
//! reads and verifies; when both stacks only wait on a timer the simulated clock jumps to the
//! earliest deadline ("sim" clock), or, in the real-clock variant, the loop sleeps until it
//! ("real"). MTU 1500, checksums computed and verified on both sides, 256 KiB send and receive
//! buffers, smoltcp 0.14 with CUBIC.
//!
//! Scenarios: no loss (256 MiB); 1 % frame loss each way, seeded (32 MiB; smoltcp's 1 s minimum
//! RTO makes it slow, so every run stops after a wall-clock cap and reports the partial rate,
//! marked `partial`); write-then-close of 64 MiB to a reader that reads at most 4 KiB per round
//! (every byte must arrive).
//!
//! Run: `cargo bench -p proto-core --bench tcp_throughput`. Environment:
//! `TCP_BENCH_QUICK=1` (a smoke run of a few MiB), `TCP_BENCH_MIB=n` (the no-loss size),
//! `TCP_BENCH_WALL_CAP=s` (the per-run wall-clock cap, default 20), `TCP_BENCH_REAL=0` (skip
//! the real-clock variant), `TCP_BENCH_REPEAT=n` (report the fastest of n runs of each
//! transfer, default 7, 1 when quick; the stacks take turns, and a run stopped by the wall cap is not
//! repeated), `TCP_BENCH_SEED=n`, `TCP_BENCH_ONLY=name` (run one stack, e.g. for a profile).
//!
//! To add a stack: implement [`BenchEndpoint`] for its endpoint type and add one line to
//! [`stacks`]; the ratio line then compares it with smoltcp.

#[path = "../tests/common/smol.rs"]
#[allow(dead_code)]
pub mod smol;

#[path = "../tests/common/ours.rs"]
#[allow(dead_code)]
pub mod ours;

use std::fmt::Write as _;
use std::time::Instant as WallInstant;

use ours::OurEndpoint;
use proto_core::sim::{Endpoint, LinkConfig, Sim, SimError};
use proto_core::time::{Duration, Instant};
use smol::SmolEndpoint;

/// A stack plus the application of the benchmark: what the scenario runner needs of an
/// endpoint type.
pub trait BenchEndpoint: Endpoint + Sized {
    /// A server listening on `port`.
    fn server(port: u16) -> Self;
    /// A client connecting to the server's `port`.
    fn client(port: u16) -> Self;
    /// Writes the pattern up to stream offset `total` as far as the stack takes it; returns
    /// the bytes written so far.
    fn write_pattern(&mut self, total: u64) -> u64;
    /// Reads at most `max` bytes and verifies them; returns the bytes verified so far.
    fn read_verify(&mut self, max: u64) -> Result<u64, String>;
    /// Closes the sending half.
    fn close(&mut self);
    /// The peer closed and every byte has been read.
    fn eof(&self) -> bool;
    /// Closed or in TIME-WAIT.
    fn is_closed(&self) -> bool;
}

impl BenchEndpoint for OurEndpoint {
    fn server(port: u16) -> Self {
        OurEndpoint::server(&ours::config(1), port)
    }
    fn client(port: u16) -> Self {
        OurEndpoint::client(&ours::config(2), port)
    }
    fn write_pattern(&mut self, total: u64) -> u64 {
        OurEndpoint::write_pattern(self, total)
    }
    fn read_verify(&mut self, max: u64) -> Result<u64, String> {
        self.read_verify_max(max)
    }
    fn close(&mut self) {
        OurEndpoint::close(self)
    }
    fn eof(&self) -> bool {
        OurEndpoint::eof(self)
    }
    fn is_closed(&self) -> bool {
        OurEndpoint::is_closed(self)
    }
}

impl BenchEndpoint for SmolEndpoint {
    fn server(port: u16) -> Self {
        SmolEndpoint::server(port)
    }
    fn client(port: u16) -> Self {
        SmolEndpoint::client(smol::SERVER_IP, port)
    }
    fn write_pattern(&mut self, total: u64) -> u64 {
        SmolEndpoint::write_pattern(self, total)
    }
    fn read_verify(&mut self, max: u64) -> Result<u64, String> {
        self.read_verify_max(max)
    }
    fn close(&mut self) {
        SmolEndpoint::close(self)
    }
    fn eof(&self) -> bool {
        SmolEndpoint::eof(self)
    }
    fn is_closed(&self) -> bool {
        SmolEndpoint::is_closed(self)
    }
}

/// The server's port.
const PORT: u16 = 5001;
const MIB: u64 = 1 << 20;

/// Which end writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client writes, server reads.
    Up,
    /// Server writes, client reads.
    Down,
}

/// Simulated clock (jump to deadlines) or real clock (sleep until them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Jump to the next deadline.
    Sim,
    /// Sleep until the next deadline.
    Real,
}

/// One transfer setting.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name for the table.
    pub name: &'static str,
    /// Payload bytes to transfer.
    pub bytes: u64,
    /// Both directions' link.
    pub link: LinkConfig,
    /// The reader reads at most this much per round.
    pub read_max: u64,
    /// Every byte must arrive (else a run may stop at the caps and report a partial rate).
    pub must_complete: bool,
    /// Wall-clock cap of one run.
    pub wall_cap: std::time::Duration,
    /// Simulated-time cap of one run.
    pub sim_cap: Duration,
}

/// The benchmark's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Which clocks to run each scenario with.
    pub clocks: Vec<Clock>,
    /// Seed of the links.
    pub seed: u64,
    /// Runs of each transfer, taken in turn by the stacks; the fastest is reported (the
    /// machine is shared). Runs stopped by the wall cap are not repeated.
    pub repeat: u32,
}

impl Config {
    /// The full benchmark, adjusted by the environment (see the module doc).
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
        let quick = var("TCP_BENCH_QUICK").is_some_and(|v| v != 0);
        let cap = std::time::Duration::from_secs(var("TCP_BENCH_WALL_CAP").unwrap_or(20));
        let mut cfg = if quick {
            Self::quick()
        } else {
            Self::full(cap)
        };
        if let Some(mib) = var("TCP_BENCH_MIB") {
            cfg.scenarios[0].bytes = mib * MIB;
        }
        if var("TCP_BENCH_REAL") == Some(0) {
            cfg.clocks = vec![Clock::Sim];
        }
        if let Some(n) = var("TCP_BENCH_REPEAT") {
            cfg.repeat = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(seed) = var("TCP_BENCH_SEED") {
            cfg.seed = seed;
        }
        cfg
    }

    /// The scenarios: 256 MiB clean, 32 MiB at 1 % loss, 64 MiB to a slow reader.
    pub fn full(wall_cap: std::time::Duration) -> Self {
        Self::sized([256, 32, 64], wall_cap)
    }

    /// A smoke run: a few MiB, short caps.
    pub fn quick() -> Self {
        Self {
            repeat: 1,
            ..Self::sized([4, 1, 2], std::time::Duration::from_secs(5))
        }
    }

    fn sized(mib: [u64; 3], wall_cap: std::time::Duration) -> Self {
        let clean = LinkConfig {
            mtu: smol::FRAME_MTU,
            ..LinkConfig::default()
        };
        let unbounded = u64::MAX;
        Self {
            scenarios: vec![
                Scenario {
                    name: "no-loss",
                    bytes: mib[0] * MIB,
                    link: clean,
                    read_max: unbounded,
                    must_complete: true,
                    wall_cap,
                    sim_cap: Duration::from_secs(3600),
                },
                Scenario {
                    name: "loss-1%",
                    bytes: mib[1] * MIB,
                    link: LinkConfig {
                        loss_ppm: 10_000,
                        ..clean
                    },
                    read_max: unbounded,
                    must_complete: false,
                    wall_cap,
                    sim_cap: Duration::from_secs(600),
                },
                Scenario {
                    name: "slow-reader",
                    bytes: mib[2] * MIB,
                    link: clean,
                    read_max: 4096,
                    must_complete: true,
                    wall_cap: wall_cap.max(std::time::Duration::from_secs(60)),
                    sim_cap: Duration::from_secs(3600),
                },
            ],
            clocks: vec![Clock::Sim, Clock::Real],
            seed: 0x7c9_5eed,
            repeat: 7,
        }
    }
}

/// What one run achieved.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Bytes read and verified.
    pub verified: u64,
    /// Wall-clock seconds until the last byte was verified (or the run stopped).
    pub wall_secs: f64,
    /// Simulated (or real-clock) time at that point.
    pub at: Instant,
    /// Every byte arrived.
    pub complete: bool,
    /// Both ends reached Closed or TIME-WAIT.
    pub closed: bool,
    /// A pattern mismatch or a harness error, if any.
    pub error: Option<String>,
    /// Link counters, writer→reader and reader→writer.
    pub stats: String,
    /// The run stopped at the wall-clock cap.
    pub capped: bool,
}

impl Outcome {
    /// MB/s (10^6 bytes per wall-clock second).
    pub fn mb_per_s(&self) -> f64 {
        self.verified as f64 / 1e6 / self.wall_secs.max(1e-9)
    }

    /// `at` and the goodput in MB/s over it (simulated time for the sim clock).
    /// Under a millisecond (a zero-delay link on the simulated clock) the goodput means
    /// nothing and is shown as `-`.
    fn time_cell(&self) -> String {
        let secs = self.at.micros() as f64 / 1e6;
        if secs < 1e-3 {
            return format!("{secs:.3}s -");
        }
        format!("{secs:.3}s {:.2}MB/s", self.verified as f64 / 1e6 / secs)
    }
}

/// Application state of one run, shared by the loop's `done` closure.
struct App {
    total: u64,
    read_max: u64,
    writer_closed: bool,
    reader_closed: bool,
    verified: u64,
    done_at: Option<(f64, Instant)>,
    error: Option<String>,
    started: WallInstant,
    wall_cap: std::time::Duration,
    rounds: u64,
    capped: bool,
}

impl App {
    /// One application turn; true when the run is over.
    fn turn<E: BenchEndpoint>(&mut self, w: &mut E, r: &mut E, now: Instant) -> bool {
        self.rounds += 1;
        if w.write_pattern(self.total) >= self.total && !self.writer_closed {
            w.close();
            self.writer_closed = true;
        }
        match r.read_verify(self.read_max) {
            Ok(v) => self.verified = v,
            Err(e) => {
                self.error = Some(e);
                return true;
            }
        }
        if self.verified >= self.total && self.done_at.is_none() {
            self.done_at = Some((self.started.elapsed().as_secs_f64(), now));
        }
        if r.eof() && !self.reader_closed {
            if self.verified != self.total {
                self.error = Some(format!(
                    "end of stream after {} of {} bytes",
                    self.verified, self.total
                ));
                return true;
            }
            r.close();
            self.reader_closed = true;
        }
        if self.started.elapsed() > self.wall_cap {
            self.capped = true;
            return true;
        }
        self.done_at.is_some() && w.is_closed() && r.is_closed()
    }
}

/// One transfer of `sc` in direction `dir` between two `E`s on clock `clock`.
pub fn run_one<E: BenchEndpoint>(
    sc: &Scenario,
    dir: Direction,
    clock: Clock,
    seed: u64,
) -> Outcome {
    let mut sim = Sim::new(E::client(PORT), E::server(PORT), sc.link, seed);
    let mut app = App {
        total: sc.bytes,
        read_max: sc.read_max,
        writer_closed: false,
        reader_closed: false,
        verified: 0,
        done_at: None,
        error: None,
        started: WallInstant::now(),
        wall_cap: sc.wall_cap,
        rounds: 0,
        capped: false,
    };
    let mut done = |a: &mut E, b: &mut E, now: Instant| match dir {
        Direction::Up => app.turn(a, b, now),
        Direction::Down => app.turn(b, a, now),
    };
    let result = match clock {
        Clock::Sim => sim.run_until(Instant::ZERO + sc.sim_cap, &mut done),
        Clock::Real => {
            let start = WallInstant::now();
            let now = move || Instant::from_micros(start.elapsed().as_micros() as u64);
            let limit = Instant::ZERO + sc.sim_cap.min(sc.wall_cap.into());
            sim.run_until_real(limit, now, &mut done)
        }
    };
    let harness_error = match result {
        Ok(_) | Err(SimError::Timeout { .. }) => None,
        Err(e) => Some(e.to_string()),
    };
    let (wall_secs, at) = app
        .done_at
        .unwrap_or((app.started.elapsed().as_secs_f64(), sim.now));
    let (w2r, r2w) = match dir {
        Direction::Up => (sim.ab.stats(), sim.ba.stats()),
        Direction::Down => (sim.ba.stats(), sim.ab.stats()),
    };
    Outcome {
        verified: app.verified,
        wall_secs,
        at,
        complete: app.verified == sc.bytes,
        closed: sim.a.is_closed() && sim.b.is_closed(),
        error: app.error.or(harness_error),
        stats: format!(
            "w->r lost {} of {}, r->w lost {} of {}{}",
            w2r.lost,
            w2r.sent,
            r2w.lost,
            r2w.sent,
            if app.capped { ", wall cap" } else { "" }
        ),
        capped: app.capped,
    }
}

/// A stack under test: its name and its runner.
pub type StackRun = (
    &'static str,
    fn(&Scenario, Direction, Clock, u64) -> Outcome,
);

/// The stacks to compare; the first is the reference of the ratio line.
pub fn stacks() -> Vec<StackRun> {
    let all: Vec<StackRun> = vec![
        ("smoltcp", run_one::<SmolEndpoint>),
        ("proto-core", run_one::<OurEndpoint>),
    ];
    match std::env::var("TCP_BENCH_ONLY") {
        Ok(only) => all.into_iter().filter(|(name, _)| *name == only).collect(),
        Err(_) => all,
    }
}

/// One table row: a scenario on one clock for one stack, both directions.
#[derive(Debug, Clone)]
pub struct Row {
    /// The scenario's name.
    pub scenario: &'static str,
    /// The clock.
    pub clock: Clock,
    /// The stack's name.
    pub stack: &'static str,
    /// Client writes.
    pub up: Outcome,
    /// Server writes.
    pub down: Outcome,
}

fn cell(o: &Outcome, must_complete: bool) -> String {
    let mut s = format!("{:9.2}", o.mb_per_s());
    if let Some(e) = &o.error {
        let _ = write!(s, " ERROR {e}");
    } else if !o.complete {
        let _ = write!(s, " partial {:.1} MiB", o.verified as f64 / MIB as f64);
    } else if !o.closed && must_complete {
        s.push_str(" not-closed");
    }
    s
}

/// Runs every scenario on every clock for every stack, printing one line per scenario, clock
/// and stack, then a ratio line; returns the rows.
pub fn run(cfg: &Config) -> Vec<Row> {
    let stacks = stacks();
    let mut rows = Vec::new();
    println!(
        "{:<12} {:<5} {:<8} {:>6} {:>9} | {:>9} | {:>22} | {:>22} | links / notes",
        "scenario",
        "clock",
        "stack",
        "MiB",
        "up MB/s",
        "down MB/s",
        "up t, goodput",
        "down t, goodput"
    );
    for sc in &cfg.scenarios {
        for &clock in &cfg.clocks {
            // Repetitions go round the stacks in turn, so that a noisy stretch of the shared
            // machine hits both rather than one; each transfer keeps its fastest run. A run
            // stopped by the wall cap is not repeated (another would stop there too).
            let mut best: Vec<[Option<Outcome>; 2]> = vec![[None, None]; stacks.len()];
            for _ in 0..cfg.repeat.max(1) {
                for (&(_, run), best) in stacks.iter().zip(&mut best) {
                    for (dir, best) in [Direction::Up, Direction::Down].into_iter().zip(best) {
                        if best.as_ref().is_some_and(|o| o.capped) {
                            continue;
                        }
                        let o = run(sc, dir, clock, cfg.seed);
                        if best.as_ref().is_none_or(|b| o.mb_per_s() > b.mb_per_s()) {
                            *best = Some(o);
                        }
                    }
                }
            }
            let first = rows.len();
            for (&(name, _), [up, down]) in stacks.iter().zip(best) {
                let (up, down) = (up.expect("one run"), down.expect("one run"));
                println!(
                    "{:<12} {:<5} {:<8} {:>6} {} | {} | {:>22} | {:>22} | up: {}; down: {}",
                    sc.name,
                    format!("{clock:?}").to_lowercase(),
                    name,
                    sc.bytes / MIB,
                    cell(&up, sc.must_complete),
                    cell(&down, sc.must_complete),
                    up.time_cell(),
                    down.time_cell(),
                    up.stats,
                    down.stats,
                );
                rows.push(Row {
                    scenario: sc.name,
                    clock,
                    stack: name,
                    up,
                    down,
                });
            }
            print_ratio(&rows[first..]);
        }
    }
    rows
}

/// The ratio line: each stack's MB/s over the reference's (the first), per direction.
fn print_ratio(rows: &[Row]) {
    let Some((reference, others)) = rows.split_first() else {
        return;
    };
    if others.is_empty() {
        println!(
            "{:<12} {:<5} ratio: n/a (only {} ran)",
            reference.scenario,
            format!("{:?}", reference.clock).to_lowercase(),
            reference.stack
        );
    }
    for r in others {
        println!(
            "{:<12} {:<5} ratio {}/{}: up {:.2}x, down {:.2}x",
            r.scenario,
            format!("{:?}", r.clock).to_lowercase(),
            r.stack,
            reference.stack,
            r.up.mb_per_s() / reference.up.mb_per_s().max(1e-12),
            r.down.mb_per_s() / reference.down.mb_per_s().max(1e-12),
        );
    }
}

#[allow(dead_code)]
fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let cfg = Config::from_env();
    println!(
        "tcp_throughput: MTU 1500, checksums on, 256 KiB buffers, CUBIC; MB/s = 10^6 payload \
         bytes verified per wall second of the loop; t = simulated (sim) or elapsed (real) time \
         at the last byte, goodput = bytes / t; wall cap per run {:?}",
        cfg.scenarios[0].wall_cap
    );
    run(&cfg);
}
