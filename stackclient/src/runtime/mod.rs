//! The runtime: a [`Stack`] handle and the driver task that owns the [`Interface`] and the
//! [`Link`], plus tokio sockets over it ([`TcpListener`], [`TcpStream`], [`UdpSocket`]).
//!
//! ```text
//!  tasks: TcpStream / TcpListener / UdpSocket      driver task (one per stack)
//!        | lock, call the socket API, poke  ---->  select! { link frames, poke, poll_at }
//!        | register a waker when not ready          ingress all, egress until 0, send
//!        v                                          poll_events() -> wake those tasks
//!   Arc<Shared> { Mutex<Core { Interface, wakers }>, Notify }
//! ```
//!
//! The interface sits behind a std `Mutex` that is never held across an `.await`. Sockets
//! call into it directly and then poke the driver (a [`Notify`]), which egresses what they
//! queued. The driver sleeps until a frame arrives, a socket pokes it, or the interface's
//! [`poll_at`](Interface::poll_at) deadline: it never polls, and an idle stack uses no CPU
//! ([`Stack::driver_iterations`] lets a test check that).
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use stackclient::link::pipe;
//! use stackclient::runtime::{Stack, StackConfig, TcpStream};
//! use proto_core::stack::Config;
//! use proto_core::wire::EthernetAddress;
//! use tokio::io::AsyncWriteExt;
//!
//! let (link, _other_end) = pipe::pair(1024);
//! let cfg = Config::new(EthernetAddress([2, 0, 0, 0, 0, 1]))
//!     .with_ipv4("10.0.0.1/24".parse().unwrap(), None);
//! let (stack, _driver) = Stack::new(StackConfig::new(cfg), link);
//! let mut s = TcpStream::connect(&stack, "10.0.0.2:80".parse().unwrap()).await?;
//! s.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
//! s.shutdown().await?; // half-close: the peer reads EOF, we may still read
//! # Ok(()) }
//! ```

use std::io;
use std::net::Ipv6Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use proto_core::stack::{
    Capacities, Config, Events, Interface, SocketHandle, StackError, Stats, VecMemory,
};
use proto_core::tcp::ConnectionError;
use proto_core::time::Instant;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::link::{FrameBatch, Link};

mod ping;
mod serve;
mod tcp;
mod udp;

pub use self::ping::Pinger;
pub use self::tcp::{TcpListener, TcpStream};
pub use self::udp::UdpSocket;

/// The interface type the runtime drives.
pub type Iface = Interface<VecMemory>;

/// How to build a [`Stack`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StackConfig {
    /// The interface: MAC, addresses, TCP settings, seed (0 = seed from the OS).
    pub iface: Config,
    /// Table sizes (its `tcp_buffer` is overridden by [`tcp_buffer`](Self::tcp_buffer)).
    pub capacities: Capacities,
    /// Bytes of each TCP connection's receive buffer and of its send buffer (256 KiB by
    /// default); listeners announce a window scale for it.
    pub tcp_buffer: usize,
    /// Frames the driver egresses per batch handed to the link, at most.
    pub batch: usize,
    /// Use the link's TCP segmentation offload ([`Link::tso`]) when it has one (the
    /// default): TCP data leaves in frames of up to 64 KiB that the link cuts to the MTU.
    pub offload: bool,
}

impl StackConfig {
    /// Defaults around an interface configuration: 64 sockets, 256 KiB TCP buffers, 64-frame
    /// batches.
    pub fn new(iface: Config) -> Self {
        Self {
            iface,
            capacities: Capacities::default(),
            tcp_buffer: 256 * 1024,
            batch: 64,
            offload: true,
        }
    }

    /// Without the link's TCP segmentation offload: every frame the stack writes fits the
    /// MTU (as captures then show).
    pub fn without_offload(mut self) -> Self {
        self.offload = false;
        self
    }

    /// With another TCP buffer size.
    pub fn with_tcp_buffer(mut self, bytes: usize) -> Self {
        self.tcp_buffer = bytes;
        self
    }

    /// With other table sizes.
    pub fn with_capacities(mut self, capacities: Capacities) -> Self {
        self.capacities = capacities;
        self
    }
}

/// The tasks waiting on one socket slot.
#[derive(Debug, Default)]
struct Wakers {
    /// Waiting to read, to accept, or for a datagram.
    read: Option<Waker>,
    /// Waiting to write, or for a connect to complete.
    write: Option<Waker>,
}

/// What the driver and the sockets share under the lock.
pub(crate) struct Core {
    pub(crate) iface: Iface,
    wakers: Vec<Wakers>,
    /// UDP senders waiting for room in a send queue (the stack reports no UDP writability:
    /// they are woken after every batch that sent frames).
    udp_tx_waiters: Vec<Waker>,
    /// Echo clients waiting for a reply (the stack has no per-socket echo events: they are
    /// woken whenever replies wait after an ingress).
    echo_waiters: Vec<Waker>,
    /// UDP sockets dropped by the application: closed by the driver after its next egress,
    /// so that datagrams queued just before the drop still leave (as a kernel socket's do).
    udp_closing: Vec<SocketHandle>,
    /// Why the driver stopped, once it has.
    failed: Option<(io::ErrorKind, String)>,
}

impl Core {
    /// Fails when the driver is gone: nothing would move the socket's data any more.
    pub(crate) fn check(&self) -> io::Result<()> {
        match &self.failed {
            None => Ok(()),
            Some((kind, msg)) => Err(io::Error::new(*kind, msg.clone())),
        }
    }

    pub(crate) fn wait_read(&mut self, h: SocketHandle, w: &Waker) {
        if let Some(s) = self.wakers.get_mut(h.index()) {
            set_waker(&mut s.read, w);
        }
    }

    pub(crate) fn wait_write(&mut self, h: SocketHandle, w: &Waker) {
        if let Some(s) = self.wakers.get_mut(h.index()) {
            set_waker(&mut s.write, w);
        }
    }

    pub(crate) fn wait_udp_room(&mut self, w: &Waker) {
        if !self.udp_tx_waiters.iter().any(|x| x.will_wake(w)) {
            self.udp_tx_waiters.push(w.clone());
        }
    }

    pub(crate) fn wait_echo(&mut self, w: &Waker) {
        if !self.echo_waiters.iter().any(|x| x.will_wake(w)) {
            self.echo_waiters.push(w.clone());
        }
    }

    /// Closes a UDP socket after the driver's next egress.
    pub(crate) fn close_udp_later(&mut self, h: SocketHandle) {
        self.forget(h);
        self.udp_closing.push(h);
    }

    /// Forgets the tasks of a slot that is being given up.
    pub(crate) fn forget(&mut self, h: SocketHandle) {
        if let Some(s) = self.wakers.get_mut(h.index()) {
            *s = Wakers::default();
        }
    }

    /// Drains the interface's events into the wakers to wake (after unlocking).
    fn collect(&mut self, out: &mut Vec<Waker>) {
        while let Some((h, ev)) = self.iface.poll_events() {
            let Some(w) = self.wakers.get_mut(h.index()) else {
                continue;
            };
            let closed = ev.contains(Events::CLOSED);
            if closed || ev.contains(Events::READABLE) || ev.contains(Events::ACCEPT) {
                out.extend(w.read.take());
            }
            if closed || ev.contains(Events::WRITABLE) || ev.contains(Events::CONNECTED) {
                out.extend(w.write.take());
            }
        }
    }

    fn fail(&mut self, kind: io::ErrorKind, msg: String, out: &mut Vec<Waker>) {
        self.failed = Some((kind, msg));
        for w in &mut self.wakers {
            out.extend(w.read.take());
            out.extend(w.write.take());
        }
        out.append(&mut self.udp_tx_waiters);
        out.append(&mut self.echo_waiters);
    }
}

fn set_waker(slot: &mut Option<Waker>, w: &Waker) {
    match slot {
        Some(old) if old.will_wake(w) => {}
        _ => *slot = Some(w.clone()),
    }
}

/// State shared by the driver and every handle.
pub(crate) struct Shared {
    core: Mutex<Core>,
    notify: Notify,
    start: tokio::time::Instant,
    pub(crate) tcp_buffer: usize,
    pub(crate) udp_queue: usize,
    iterations: AtomicU64,
    shutdown: AtomicBool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic elsewhere while holding the lock leaves the interface consistent enough
        // (every call into it completes or changes nothing), so carry on.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The interface's clock: microseconds since the stack started.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// Wakes the driver: a socket queued data, read data (its window may open) or closed.
    pub(crate) fn poke(&self) {
        self.notify.notify_one();
    }
}

/// Ends the driver when the last [`Stack`] clone (sockets hold one) is dropped.
struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        self.shared.poke();
    }
}

/// A handle on a running userspace stack: cheap to clone; sockets are made from it. The
/// driver task ends (returning `Ok`) when the last clone and the last socket are dropped.
#[derive(Clone)]
pub struct Stack {
    owner: Arc<Owner>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack").finish_non_exhaustive()
    }
}

impl Stack {
    /// Builds the interface and spawns its driver on the current tokio runtime. The join
    /// handle yields the link's error if the link failed, `Ok` after a clean shutdown.
    ///
    /// The interface's MTU is lowered to the link's if it is larger; a zero seed is replaced
    /// by one from the OS.
    pub fn new<L: Link>(cfg: StackConfig, link: L) -> (Self, JoinHandle<io::Result<()>>) {
        let mut iface_cfg = cfg.iface;
        if iface_cfg.seed == 0 {
            iface_cfg = iface_cfg.with_seed(crate::apps::seed());
        }
        iface_cfg.mtu = iface_cfg.mtu.min(link.mtu());
        if cfg.offload && link.tso() > iface_cfg.mtu {
            iface_cfg.tso = link.tso();
        }
        iface_cfg.tcp_rx_buffer = cfg.tcp_buffer;
        let mut caps = cfg.capacities;
        caps.tcp_buffer = cfg.tcp_buffer;
        let frame_len = iface_cfg.mtu.max(iface_cfg.tso) + 14;
        let iface = Interface::new(iface_cfg, VecMemory::new(&caps));
        let shared = Arc::new(Shared {
            core: Mutex::new(Core {
                iface,
                wakers: (0..caps.sockets).map(|_| Wakers::default()).collect(),
                udp_tx_waiters: Vec::new(),
                echo_waiters: Vec::new(),
                udp_closing: Vec::new(),
                failed: None,
            }),
            notify: Notify::new(),
            start: tokio::time::Instant::now(),
            tcp_buffer: cfg.tcp_buffer,
            udp_queue: caps.udp_queue,
            iterations: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
        });
        let driver = tokio::spawn(drive(shared.clone(), link, cfg.batch.max(1), frame_len));
        (
            Self {
                owner: Arc::new(Owner { shared }),
            },
            driver,
        )
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.owner.shared
    }

    /// Runs `f` on the interface (under the lock; keep it short), then wakes the driver so
    /// that whatever `f` queued is sent. For what the socket types do not cover: counters,
    /// addresses, raw socket calls. Returns the driver's error if it has stopped.
    pub fn with_interface<R>(&self, f: impl FnOnce(&mut Iface, Instant) -> R) -> io::Result<R> {
        let sh = self.shared();
        let r = {
            let mut core = sh.lock();
            core.check()?;
            let now = sh.now();
            f(&mut core.iface, now)
        };
        sh.poke();
        Ok(r)
    }

    /// The interface's counters.
    pub fn stats(&self) -> Stats {
        self.shared().lock().iface.stats()
    }

    /// The interface's configuration (addresses, MTU, ...).
    pub fn config(&self) -> Config {
        self.shared().lock().iface.config().clone()
    }

    /// Our IPv6 link-local address.
    pub fn ipv6_link_local(&self) -> Ipv6Addr {
        self.shared().lock().iface.ipv6_link_local()
    }

    /// The interface's clock now (microseconds since the stack started).
    pub fn now(&self) -> Instant {
        self.shared().now()
    }

    /// How many rounds the driver has run (wake-ups), for checking that it sleeps when idle.
    pub fn driver_iterations(&self) -> u64 {
        self.shared().iterations.load(Ordering::Relaxed)
    }
}

/// The driver: ingest, egress, wake, send; then sleep until a frame, a poke or `poll_at`.
async fn drive<L: Link>(
    shared: Arc<Shared>,
    mut link: L,
    batch: usize,
    frame_len: usize,
) -> io::Result<()> {
    let mut rx = FrameBatch::new();
    let mut tx = FrameBatch::with_capacity(batch, frame_len);
    let mut wake: Vec<Waker> = Vec::new();
    // One persistent timer, reset to `poll_at()` each round.
    let timer = tokio::time::sleep_until(shared.start);
    tokio::pin!(timer);
    let result = loop {
        shared.iterations.fetch_add(1, Ordering::Relaxed);
        if shared.shutdown.load(Ordering::Acquire) {
            break Ok(());
        }
        let reconnected = link.reconnected();
        let (deadline, more) = {
            let mut core = shared.lock();
            let now = shared.now();
            if reconnected {
                // The other side may be a new device with a new MAC: resolve again.
                core.iface.flush_neighbors();
            }
            for frame in rx.iter() {
                core.iface.ingress(frame, now);
            }
            rx.clear();
            let mut more = false;
            loop {
                if tx.len() >= batch {
                    more = true;
                    break;
                }
                if tx.push_segmented(frame_len, |buf| core.iface.egress_segmented(buf, now)) == 0 {
                    break;
                }
            }
            if !more {
                for h in std::mem::take(&mut core.udp_closing) {
                    let _ = core.iface.udp_close(h);
                }
            }
            core.collect(&mut wake);
            if core.iface.has_echo_reply() {
                wake.append(&mut core.echo_waiters);
            }
            if !tx.is_empty() {
                wake.append(&mut core.udp_tx_waiters);
            }
            (core.iface.poll_at(), more)
        };
        for w in wake.drain(..) {
            w.wake();
        }
        if !tx.is_empty() {
            let sent = link.send_batch(&tx).await;
            tx.clear();
            if let Err(e) = sent {
                break Err(e);
            }
        }
        if more {
            // More to send: let other tasks (the peer, the readers) run first.
            tokio::task::yield_now().await;
            continue;
        }
        let armed = match deadline {
            Some(at) => {
                let at = shared.start + std::time::Duration::from_micros(at.micros());
                timer.as_mut().reset(at);
                true
            }
            None => false,
        };
        tokio::select! {
            r = link.recv_batch(&mut rx) => {
                if let Err(e) = r {
                    break Err(e);
                }
            }
            _ = shared.notify.notified() => {}
            _ = &mut timer, if armed => {}
        }
    };
    let mut core = shared.lock();
    match &result {
        Ok(()) => core.fail(
            io::ErrorKind::NotConnected,
            "the stack was shut down".into(),
            &mut wake,
        ),
        Err(e) => {
            tracing::error!(error = %e, "link failed; the stack stops");
            core.fail(e.kind(), format!("the stack's link failed: {e}"), &mut wake);
        }
    }
    drop(core);
    for w in wake.drain(..) {
        w.wake();
    }
    result
}

/// A stack error as an `io::Error` (one place for the mapping).
pub(crate) fn stack_error(e: StackError) -> io::Error {
    let kind = match e {
        StackError::NoFreeSlot | StackError::NoEphemeralPort => io::ErrorKind::OutOfMemory,
        StackError::InvalidHandle => io::ErrorKind::NotConnected,
        StackError::AddrInUse => io::ErrorKind::AddrInUse,
        StackError::Unaddressable => io::ErrorKind::AddrNotAvailable,
        StackError::NoRoute => io::ErrorKind::HostUnreachable,
        StackError::QueueFull => io::ErrorKind::WouldBlock,
        StackError::TooBig => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// A failed connection as an `io::Error`: reset, timed out, refused.
pub(crate) fn connection_error(e: ConnectionError) -> io::Error {
    let kind = match e {
        ConnectionError::Refused => io::ErrorKind::ConnectionRefused,
        ConnectionError::Reset => io::ErrorKind::ConnectionReset,
        ConnectionError::TimedOut => io::ErrorKind::TimedOut,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}
