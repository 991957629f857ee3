//! Interop between our TCP engine and smoltcp 0.14 over the simulated link
//! (`proto_core::sim`): ours as client against a smoltcp server and a smoltcp client against
//! ours as server, 16 MiB each way at once, on a perfect link and on a seeded 5 %-loss link,
//! both with 1 ms of delay each way (so that windows and retransmission timers matter); plus
//! smaller exchanges over a link with every fault for many seeds.
//!
//! In each run both applications write the byte pattern, close after the last byte, read and
//! verify everything the other sends; the run ends when both have read the end of the stream
//! and both connections are Closed or in TIME-WAIT. Every frame either side emits is parsed
//! and its checksums verified with our own `wire` code on the way out (smoltcp drops a bad
//! frame silently, so a malformed segment of ours would otherwise show only as a stall).

#[path = "common/ours.rs"]
#[allow(dead_code)]
mod ours;
#[path = "common/smol.rs"]
#[allow(dead_code)]
mod smol;

use std::time::Instant as WallInstant;

use ours::{OurEndpoint, config};
use proto_core::sim::{Endpoint, LinkConfig, Sim, Stats};
use proto_core::tcp::State;
use proto_core::time::{Duration, Instant};
use proto_core::wire::{Frame, Network, TcpRepr, Transport};
use smol::{SERVER_IP, SmolEndpoint};

const PORT: u16 = 7000;
const MIB: u64 = 1 << 20;
/// The transfer size, each way.
const TOTAL: u64 = 16 * MIB;

/// An endpoint whose every emitted frame is parsed and checksum-verified before it goes on
/// the link.
struct Checked<E> {
    inner: E,
    /// Frames emitted.
    frames: u64,
    /// Emitted frames that failed to parse or verify.
    bad: u64,
    /// The first failure, described.
    first_bad: Option<String>,
}

impl<E> Checked<E> {
    fn new(inner: E) -> Self {
        Self {
            inner,
            frames: 0,
            bad: 0,
            first_bad: None,
        }
    }
}

/// Why `frame` is not a well-formed frame: Ethernet + (ARP | IPv4 + TCP) with correct
/// checksums and a TCP header our parser accepts.
fn frame_problem(frame: &[u8]) -> Option<String> {
    let parsed = match Frame::parse(frame) {
        Ok(p) => p,
        Err(e) => return Some(format!("parse: {e}")),
    };
    if let Err(e) = parsed.verify_checksums() {
        return Some(format!("checksum: {e}"));
    }
    match (&parsed.network, &parsed.transport) {
        (Some(Network::Arp(_)), _) => None,
        (Some(Network::Ipv4(_)), Some(Transport::Tcp(tcp))) => TcpRepr::parse(tcp)
            .err()
            .map(|e| format!("tcp header: {e}")),
        _ => Some("neither ARP nor IPv4/TCP".into()),
    }
}

impl<E: Endpoint> Endpoint for Checked<E> {
    fn ingress(&mut self, now: Instant, frame: &[u8]) {
        self.inner.ingress(now, frame);
    }

    fn egress(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        let n = self.inner.egress(now, buf);
        if n > 0 {
            self.frames += 1;
            if let Some(problem) = frame_problem(&buf[..n]) {
                self.bad += 1;
                self.first_bad.get_or_insert_with(|| {
                    format!(
                        "frame {} at {now}: {problem}: {:02x?}",
                        self.frames,
                        &buf[..n.min(80)]
                    )
                });
            }
        }
        n
    }

    fn poll_at(&self) -> Option<Instant> {
        self.inner.poll_at()
    }
}

/// The application on either stack: writes the pattern and closes after it, reads and
/// verifies what arrives.
trait Peer {
    /// "ours" or "smoltcp".
    const NAME: &'static str;
    /// One turn of the application: write what fits of `total` bytes (closing after the last
    /// one), read and verify everything available.
    fn app(&mut self, total: u64) -> Result<(), String>;
    /// The reader saw the end of the stream.
    fn eof(&self) -> bool;
    /// Closed or in TIME-WAIT.
    fn is_closed(&self) -> bool;
    /// Bytes written into the connection.
    fn written(&self) -> u64;
    /// Bytes read and verified.
    fn verified(&self) -> u64;
    /// The state and, where available, the connection's variables.
    fn describe(&self) -> String;
}

impl Peer for OurEndpoint {
    const NAME: &'static str = "ours";

    fn app(&mut self, total: u64) -> Result<(), String> {
        // A LISTEN must not be closed (that would abandon it): write only once the handshake
        // is under way (RFC 9293 §3.10.4: a FIN queued in SYN-RECEIVED waits for ESTABLISHED).
        if self.state().is_synchronized() || self.state() == State::SynReceived {
            self.write_then_close(total);
        }
        self.read_verify().map(|_| ())
    }

    fn eof(&self) -> bool {
        OurEndpoint::eof(self)
    }

    fn is_closed(&self) -> bool {
        OurEndpoint::is_closed(self)
    }

    fn written(&self) -> u64 {
        OurEndpoint::written(self)
    }

    fn verified(&self) -> u64 {
        OurEndpoint::verified(self)
    }

    fn describe(&self) -> String {
        format!("{:?} (ingress dropped_bad {})", self.conn, self.dropped_bad)
    }
}

impl Peer for SmolEndpoint {
    const NAME: &'static str = "smoltcp";

    fn app(&mut self, total: u64) -> Result<(), String> {
        // `write_pattern` writes only where the socket can send (ESTABLISHED / CLOSE-WAIT), and
        // closing a socket twice is harmless once it has left those states.
        let sendable = self.socket().may_send();
        if self.write_pattern(total) == total && sendable {
            self.close();
        }
        self.read_verify().map(|_| ())
    }

    fn eof(&self) -> bool {
        SmolEndpoint::eof(self)
    }

    fn is_closed(&self) -> bool {
        SmolEndpoint::is_closed(self)
    }

    fn written(&self) -> u64 {
        SmolEndpoint::written(self)
    }

    fn verified(&self) -> u64 {
        SmolEndpoint::verified(self)
    }

    fn describe(&self) -> String {
        let s = self.socket();
        format!(
            "{} send_queue {} recv_queue {}",
            s.state(),
            s.send_queue(),
            s.recv_queue()
        )
    }
}

/// The link counters of one run.
struct Outcome {
    ab: Stats,
    ba: Stats,
}

/// Both directions at once between `client` and `server`: the client writes `up` bytes and
/// the server `down` bytes, each closes after its last byte, each reads and verifies what the
/// other sends. Checks byte-exact delivery both
/// ways, both ends closed, and that neither side emitted a malformed frame.
fn exchange<C: Peer + Endpoint, S: Peer + Endpoint>(
    client: C,
    server: S,
    link: LinkConfig,
    seed: u64,
    (up, down): (u64, u64),
    limit: Instant,
) -> Outcome {
    let name = format!("{} client -> {} server, seed {seed}", C::NAME, S::NAME);
    let wall = WallInstant::now();
    let mut sim = Sim::new(Checked::new(client), Checked::new(server), link, seed);
    let mut error = None;
    // When the server, then the client, had read everything.
    let (mut up_done, mut down_done) = (None, None);
    let r = sim.run_until(limit, |c, s, now| {
        for (who, r) in [("client", c.inner.app(up)), ("server", s.inner.app(down))] {
            if let Err(e) = r {
                error = Some(format!("{who} read a corrupt stream: {e}"));
                return true;
            }
        }
        if up_done.is_none() && s.inner.verified() == up {
            up_done = Some(now);
        }
        if down_done.is_none() && c.inner.verified() == down {
            down_done = Some(now);
        }
        c.inner.eof() && s.inner.eof() && c.inner.is_closed() && s.inner.is_closed()
    });
    let (c, s) = (&sim.a, &sim.b);
    let report = format!(
        "{name}: client wrote {} read {}: {}\n  server wrote {} read {}: {}\n  \
         c->s {}\n  s->c {}\n  frames checked: client {} ({} bad) server {} ({} bad)",
        c.inner.written(),
        c.inner.verified(),
        c.inner.describe(),
        s.inner.written(),
        s.inner.verified(),
        s.inner.describe(),
        sim.ab.stats(),
        sim.ba.stats(),
        c.frames,
        c.bad,
        s.frames,
        s.bad,
    );
    if let Some(e) = error {
        panic!("{e}\n{report}");
    }
    let at = r.unwrap_or_else(|e| panic!("{e}\n{report}"));
    assert_eq!(
        c.bad, 0,
        "client emitted bad frames: {:?}\n{report}",
        c.first_bad
    );
    assert_eq!(
        s.bad, 0,
        "server emitted bad frames: {:?}\n{report}",
        s.first_bad
    );
    assert_eq!(s.inner.verified(), up, "{report}");
    assert_eq!(c.inner.verified(), down, "{report}");
    assert!(c.inner.eof() && s.inner.eof(), "{report}");
    assert!(c.inner.is_closed() && s.inner.is_closed(), "{report}");
    eprintln!(
        "{report}\n  client->server data in at {}, server->client at {}; both closed at \
         simulated {at}; wall {:.2?}",
        up_done.unwrap_or(at),
        down_done.unwrap_or(at),
        wall.elapsed()
    );
    Outcome {
        ab: sim.ab.stats(),
        ba: sim.ba.stats(),
    }
}

/// A perfect link (no faults, unlimited bandwidth) with the lossy link's 1 ms one-way delay,
/// so that the window, not only the harness, paces the transfer.
fn perfect() -> LinkConfig {
    LinkConfig::delayed(Duration::from_millis(1))
}

/// The lossy link of the issue: 5 % of frames lost each way, 1 ms one-way delay.
fn lossy_5_percent() -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(1),
        ..LinkConfig::lossy(50_000)
    }
}

fn ours_client(seed: u64) -> OurEndpoint {
    OurEndpoint::client(&config(seed), PORT)
}

fn ours_server(seed: u64) -> OurEndpoint {
    OurEndpoint::server(&config(seed), PORT)
}

#[test]
fn ours_client_smoltcp_server_16_mib_each_way_perfect_link() {
    let seed = 1;
    let o = exchange(
        ours_client(seed),
        SmolEndpoint::server(PORT),
        perfect(),
        seed,
        (TOTAL, TOTAL),
        Instant::from_secs(600),
    );
    assert_eq!(o.ab.lost + o.ba.lost, 0);
}

#[test]
fn smoltcp_client_ours_server_16_mib_each_way_perfect_link() {
    let seed = 2;
    let o = exchange(
        SmolEndpoint::client(SERVER_IP, PORT),
        ours_server(seed),
        perfect(),
        seed,
        (TOTAL, TOTAL),
        Instant::from_secs(600),
    );
    assert_eq!(o.ab.lost + o.ba.lost, 0);
}

#[test]
fn ours_client_smoltcp_server_16_mib_each_way_5_percent_loss() {
    let seed = 3;
    let o = exchange(
        ours_client(seed),
        SmolEndpoint::server(PORT),
        lossy_5_percent(),
        seed,
        (TOTAL, TOTAL),
        Instant::from_secs(36_000),
    );
    assert!(
        o.ab.lost > 0 && o.ba.lost > 0,
        "the seed should lose frames both ways"
    );
}

#[test]
fn smoltcp_client_ours_server_16_mib_each_way_5_percent_loss() {
    let seed = 4;
    let o = exchange(
        SmolEndpoint::client(SERVER_IP, PORT),
        ours_server(seed),
        lossy_5_percent(),
        seed,
        (TOTAL, TOTAL),
        Instant::from_secs(36_000),
    );
    assert!(
        o.ab.lost > 0 && o.ba.lost > 0,
        "the seed should lose frames both ways"
    );
}

/// Not an interop test: the same exchange between two copies of the same stack on the same
/// lossy link, for comparison with the mixed runs (`cargo test --test tcp_interop -- --ignored
/// --nocapture`).
#[test]
#[ignore = "reference run for investigation (minutes in debug); not an interop check"]
fn reference_same_stack_16_mib_each_way_5_percent_loss() {
    for seed in [3, 4] {
        let limit = Instant::from_secs(36_000);
        exchange(
            ours_client(seed),
            ours_server(seed),
            lossy_5_percent(),
            seed,
            (TOTAL, TOTAL),
            limit,
        );
        let (c, s) = (
            SmolEndpoint::client(SERVER_IP, PORT),
            SmolEndpoint::server(PORT),
        );
        exchange(c, s, lossy_5_percent(), seed, (TOTAL, TOTAL), limit);
    }
}

/// Not an interop test: one direction at a time under the same loss, to tell which sender
/// the mixed runs wait for.
#[test]
#[ignore = "diagnostic: which sender the mixed runs wait for; not an interop check"]
fn reference_one_way_16_mib_5_percent_loss() {
    let limit = Instant::from_secs(36_000);
    for (seed, totals) in [
        (3, (TOTAL, 0)),
        (3, (0, TOTAL)),
        (4, (TOTAL, 0)),
        (4, (0, TOTAL)),
    ] {
        exchange(
            ours_client(seed),
            SmolEndpoint::server(PORT),
            lossy_5_percent(),
            seed,
            totals,
            limit,
        );
        let c = SmolEndpoint::client(SERVER_IP, PORT);
        exchange(c, ours_server(seed), lossy_5_percent(), seed, totals, limit);
        if totals.1 == 0 {
            let (c, s) = (
                SmolEndpoint::client(SERVER_IP, PORT),
                SmolEndpoint::server(PORT),
            );
            exchange(c, s, lossy_5_percent(), seed, totals, limit);
        }
    }
}

/// A link with `loss_ppm` loss each way plus duplication, corruption, reordering, delay and
/// jitter (as `tests/tcp_sim.rs`'s matrix).
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

/// Many seeds, both orientations, 256 KiB each way over a link with every fault.
#[test]
fn both_orientations_many_seeds_faulty_link() {
    let totals = (256 * 1024, 256 * 1024);
    let limit = Instant::from_secs(36_000);
    for seed in 0..10u64 {
        let link = faulty(20_000);
        exchange(
            ours_client(seed),
            SmolEndpoint::server(PORT),
            link,
            seed,
            totals,
            limit,
        );
        let c = SmolEndpoint::client(SERVER_IP, PORT);
        exchange(c, ours_server(seed), link, seed, totals, limit);
    }
}

/// A longer soak for bug hunting, in release: `SEEDS` seeds (default 200) at `LOSS` ppm
/// (default 20,000) of `KIB` KiB (default 1,024) each way over the faulty link, both
/// orientations; reports every failing seed. `BW` (bits per second) and `QUEUE` (frames)
/// add a bottleneck with a drop-tail queue.
#[test]
#[ignore = "soak with environment knobs (SEEDS, LOSS, KIB, BW, QUEUE); CI runs the many-seeds test"]
fn soak_faulty_link() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (seeds, loss, kib) = (env("SEEDS", 200), env("LOSS", 20_000), env("KIB", 1024));
    let totals = (kib * 1024, kib * 1024);
    let limit = Instant::from_secs(36_000);
    let mut link = faulty(u32::try_from(loss).unwrap());
    if env("BW", 0) > 0 {
        link = link.with_bandwidth(env("BW", 0));
        link.queue_frames = usize::try_from(env("QUEUE", 64)).unwrap();
    }
    let mut failed = Vec::new();
    for seed in 0..seeds {
        let r = std::panic::catch_unwind(|| {
            exchange(
                ours_client(seed),
                SmolEndpoint::server(PORT),
                link,
                seed,
                totals,
                limit,
            )
        });
        if r.is_err() {
            failed.push(format!("ours client seed {seed}"));
        }
        let r = std::panic::catch_unwind(|| {
            let c = SmolEndpoint::client(SERVER_IP, PORT);
            exchange(c, ours_server(seed), link, seed, totals, limit)
        });
        if r.is_err() {
            failed.push(format!("ours server seed {seed}"));
        }
    }
    assert!(failed.is_empty(), "{} failed: {failed:?}", failed.len());
}
