//! `stack`: two in-memory [`Interface`]s, as lneto's `BenchmarkARPExchange` and
//! `BenchmarkTCPHandshake` (lneto: ~265 ns and ~1.5 µs, 0 allocations; targets here: 130 ns
//! and 750 ns, zero allocations).
//!
//! - `arp_exchange`: A forgets its neighbours and resolves B: ARP request out of A, into B,
//!   reply out of B, into A, resolved.
//! - `tcp_handshake`: A connects to B's listener: SYN, SYN-ACK, ACK; both ESTABLISHED and
//!   the connection accepted on B. Only the handshake is timed; the teardown (abort, reset)
//!   of each iteration is not.
//!
//! A counting global allocator checks that the measured code allocates nothing: the stacks
//! run on a [`Memory`] whose TCP buffers are inline arrays (no heap at all once built).
//!
//! Run: `cargo bench -p proto-core --bench stack`. Each prints a plain-loop mean after
//! criterion's figure. With `STACK_BENCH_PLAIN=n` only the plain loops run (n iterations),
//! for exact instruction counts of one iteration (the measured work is in `arp_once` and
//! `handshake_once`, never inlined):
//!
//! ```text
//! STACK_BENCH_PLAIN=1000 valgrind --tool=callgrind --toggle-collect='*handshake_once*' \
//!     target/release/deps/stack-<hash> --bench
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as WallDuration;

use criterion::{Criterion, criterion_group, criterion_main};
use proto_core::stack::{
    Capacities, Config, FragContext, Interface, Memory, Neighbor, Parts, Slot, SocketHandle,
    TcpBuffers, TimerEntry,
};
use proto_core::tcp::{State, SynSlot};
use proto_core::time::Instant;
use proto_core::wire::{EthernetAddress, Ipv4Cidr};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
#[allow(unsafe_code)]
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

type Buf = [u8; 512];
type Backlog = [SynSlot; 8];

/// Fixed storage with inline TCP buffers: what a `no_std` caller would have, in `Vec`s
/// allocated once.
struct FixedMemory {
    slots: Vec<Slot<Buf, Backlog>>,
    index: Vec<u32>,
    timers: Vec<TimerEntry>,
    ready: Vec<u32>,
    events: Vec<u32>,
    neighbors: Vec<Neighbor>,
    pending: Vec<u8>,
    frags: Vec<FragContext>,
    frag_bytes: Vec<u8>,
    udp: Vec<u8>,
    control: Vec<u8>,
    buffers: Inline,
}

struct Inline;

impl TcpBuffers<Buf> for Inline {
    fn take(&mut self, _local: SocketAddr) -> Option<(Buf, Buf)> {
        Some(([0; 512], [0; 512]))
    }
}

impl FixedMemory {
    fn new(c: &Capacities) -> Self {
        Self {
            slots: (0..c.sockets).map(|_| Slot::default()).collect(),
            index: vec![0; c.sockets * 2 + 2],
            timers: vec![TimerEntry::default(); c.sockets * 2 + 2],
            ready: vec![0; c.sockets],
            events: vec![0; c.sockets],
            neighbors: vec![Neighbor::EMPTY; c.neighbors],
            pending: vec![0; c.neighbors * c.pending_per_neighbor],
            frags: vec![FragContext::EMPTY; c.frag_contexts],
            frag_bytes: vec![0; c.frag_contexts * c.frag_size],
            udp: vec![0; c.udp_sockets * c.udp_queue * 2],
            control: vec![0; c.control_queue],
            buffers: Inline,
        }
    }
}

impl Memory for FixedMemory {
    type Buffer = Buf;
    type Backlog = Backlog;
    #[inline]
    fn parts(&mut self) -> Parts<'_, Buf, Backlog> {
        Parts {
            slots: &mut self.slots,
            index: &mut self.index,
            timers: &mut self.timers,
            ready: &mut self.ready,
            events: &mut self.events,
            neighbors: &mut self.neighbors,
            pending: &mut self.pending,
            frags: &mut self.frags,
            frag_bytes: &mut self.frag_bytes,
            udp: &mut self.udp,
            udp_chunk: 2048,
            control: &mut self.control,
            buffers: &mut self.buffers,
        }
    }
}

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn stacks() -> (Interface<FixedMemory>, Interface<FixedMemory>) {
    let caps = Capacities {
        sockets: 64,
        udp_sockets: 1,
        udp_queue: 1024,
        neighbors: 4,
        pending_per_neighbor: 4096,
        frag_contexts: 1,
        frag_size: 1500,
        control_queue: 8192,
        tcp_buffer: 512,
    };
    let mk = |mac: u8, ip: Ipv4Addr, seed: u64| {
        let cfg = Config::new(EthernetAddress([2, 0, 0, 0, 0, mac]))
            .with_ipv4(Ipv4Cidr::new(ip, 24).unwrap(), None)
            .with_seed(seed);
        Interface::new(cfg, FixedMemory::new(&caps))
    };
    (mk(1, A_IP, 1), mk(2, B_IP, 2))
}

/// Moves one frame from `from` to `to`; its length.
fn hop(
    from: &mut Interface<FixedMemory>,
    to: &mut Interface<FixedMemory>,
    buf: &mut [u8],
    now: Instant,
) -> usize {
    let n = from.egress(buf, now);
    if n > 0 {
        to.ingress(&buf[..n], now);
    }
    n
}

/// One measured ARP exchange (not inlined, so that `callgrind --toggle-collect=*arp_once*`
/// counts exactly this).
#[inline(never)]
fn arp_once(
    a: &mut Interface<FixedMemory>,
    b: &mut Interface<FixedMemory>,
    buf: &mut [u8],
    now: Instant,
) -> EthernetAddress {
    let b_ip = IpAddr::V4(B_IP);
    a.flush_neighbors();
    assert!(a.resolve_neighbor(b_ip, now).is_none());
    hop(a, b, buf, now);
    hop(b, a, buf, now);
    a.resolve_neighbor(b_ip, now).expect("resolved")
}

/// Iterations of the plain loops (`STACK_BENCH_PLAIN=n` runs only them, without criterion:
/// for `valgrind --tool=callgrind --toggle-collect='*arp_once*'` and the like).
fn plain_iters() -> Option<u64> {
    std::env::var("STACK_BENCH_PLAIN").ok()?.parse().ok()
}

fn arp_exchange(c: &mut Criterion) {
    let (mut a, mut b) = stacks();
    let mut buf = [0u8; 1514];
    let now = Instant::from_secs(1);
    if plain_iters().is_none() {
        c.bench_function("arp_exchange", |bench| {
            bench.iter(|| black_box(arp_once(&mut a, &mut b, &mut buf, now)))
        });
    }
    // Criterion's own bookkeeping allocates between samples; count only inside the loop
    // with a separate run.
    let n = plain_iters().unwrap_or(100_000);
    let start = ALLOCS.load(Ordering::Relaxed);
    let t = std::time::Instant::now();
    for _ in 0..n {
        black_box(arp_once(&mut a, &mut b, &mut buf, now));
    }
    let timed = t.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - start;
    println!(
        "arp_exchange: mean {:?} over {n} (plain loop); {allocs} allocations",
        timed / n.max(1) as u32
    );
    assert_eq!(allocs, 0);
}

/// One measured handshake: connect, SYN, SYN-ACK, ACK, accept (not inlined, for
/// `callgrind --toggle-collect='*handshake_once*'`). The connecting side's buffers are made
/// by the caller, outside the timed region (as lneto configures its buffers once, outside
/// its loop); the connection takes them over.
#[inline(never)]
fn handshake_once(
    a: &mut Interface<FixedMemory>,
    b: &mut Interface<FixedMemory>,
    buf: &mut [u8],
    l: SocketHandle,
    now: Instant,
    (rx, tx): (Buf, Buf),
) -> (SocketHandle, SocketHandle) {
    let remote = SocketAddr::new(B_IP.into(), 80);
    let h = a.tcp_connect(remote, None, now, rx, tx).unwrap();
    hop(a, b, buf, now); // SYN
    hop(b, a, buf, now); // SYN-ACK
    hop(a, b, buf, now); // ACK
    let s = b.tcp_accept(l).unwrap().expect("accepted");
    (h, s)
}

/// The untimed end of an iteration: both ESTABLISHED, then abort and release both sides.
fn teardown(
    a: &mut Interface<FixedMemory>,
    b: &mut Interface<FixedMemory>,
    buf: &mut [u8],
    (h, s): (SocketHandle, SocketHandle),
    now: Instant,
) {
    assert_eq!(a.tcp_state(h).unwrap(), State::Established);
    assert_eq!(b.tcp_state(s).unwrap(), State::Established);
    a.tcp(h).unwrap().abort();
    a.tcp_release(h).unwrap();
    b.tcp_release(s).unwrap();
    while hop(a, b, buf, now) + hop(b, a, buf, now) > 0 {}
    while a.poll_events().is_some() {}
    while b.poll_events().is_some() {}
}

fn tcp_handshake(c: &mut Criterion) {
    let (mut a, mut b) = stacks();
    let mut buf = [0u8; 1514];
    let now = Instant::from_secs(1);
    let l = b
        .tcp_listen(SocketAddr::new(B_IP.into(), 80), [None; 8])
        .unwrap();
    // Resolve both ways once.
    a.resolve_neighbor(IpAddr::V4(B_IP), now);
    while hop(&mut a, &mut b, &mut buf, now) + hop(&mut b, &mut a, &mut buf, now) > 0 {}
    if plain_iters().is_none() {
        c.bench_function("tcp_handshake", |bench| {
            bench.iter_custom(|iters| {
                let mut total = WallDuration::ZERO;
                for _ in 0..iters {
                    let bufs = black_box(([0; 512], [0; 512]));
                    let t = std::time::Instant::now();
                    let hs = handshake_once(&mut a, &mut b, &mut buf, l, now, bufs);
                    total += t.elapsed();
                    teardown(&mut a, &mut b, &mut buf, hs, now);
                }
                total
            })
        });
    }
    let n = plain_iters().unwrap_or(10_000);
    let mut allocs = 0;
    let mut timed = WallDuration::ZERO;
    for _ in 0..n {
        let bufs = black_box(([0; 512], [0; 512]));
        let start = ALLOCS.load(Ordering::Relaxed);
        let t = std::time::Instant::now();
        let hs = handshake_once(&mut a, &mut b, &mut buf, l, now, bufs);
        timed += t.elapsed();
        allocs += ALLOCS.load(Ordering::Relaxed) - start;
        teardown(&mut a, &mut b, &mut buf, hs, now);
    }
    println!(
        "tcp_handshake: mean {:?} over {n} (plain loop)",
        timed / n.max(1) as u32
    );
    println!(
        "tcp_handshake: {allocs} allocations in {n} handshakes; sockets in use after: {} / {}",
        a.sockets_in_use(),
        b.sockets_in_use()
    );
    assert_eq!(allocs, 0);
    assert_eq!(a.sockets_in_use(), 0);
}

criterion_group!(benches, arp_exchange, tcp_handshake);
criterion_main!(benches);
