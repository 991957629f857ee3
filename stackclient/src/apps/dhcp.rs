//! DHCPv4 over the runtime: [`DhcpClientTask`] configures the stack from a lease and keeps it,
//! [`DhcpServerTask`] hands out addresses from a [`Stack`].
//!
//! ```no_run
//! # async fn example(stack: stackclient::runtime::Stack) -> std::io::Result<()> {
//! use std::time::Duration;
//! use stackclient::apps::dhcp::DhcpClientConfig;
//!
//! let mut dhcp = stack.dhcp(DhcpClientConfig::new("tap0"))?;
//! let lease = dhcp.bound(Duration::from_secs(30)).await?; // address, route set on the stack
//! println!("{} via {:?}, DNS {:?}", lease.addr, lease.router, lease.dns_servers.first());
//! // ... the task renews in the background ...
//! dhcp.release().await?; // RELEASE sent, address removed
//! # Ok(()) }
//! ```

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use proto_core::app::dhcp::{
    Binding, ClientConfig, ClientState, DhcpClient, DhcpRepr, DhcpServer, Event, Lease,
    MessageType, SERVER_PORT, SmallBytes,
};
use proto_core::time::Instant;
use proto_core::wire::Ipv4Cidr;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::{seed, sleep_until};
use crate::runtime::{Stack, UdpSocket};

/// The DHCP client port (RFC 2131 §4.1).
const CLIENT_PORT: u16 = 68;
/// How long a RELEASE may take to leave before the address is removed anyway.
const RELEASE_WAIT: StdDuration = StdDuration::from_secs(1);

/// How to run a [`DhcpClientTask`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DhcpClientConfig {
    /// The link's name, for messages ("no DHCP offer ... on tap0").
    pub link_name: String,
    /// Option 12 (host name), if any (at most 64 bytes).
    pub hostname: Option<String>,
    /// An address from an earlier lease: start in INIT-REBOOT.
    pub remembered_addr: Option<Ipv4Addr>,
    /// Probe the offered address with ARP before using it (RFC 5227; on by default).
    pub arp_probe: bool,
    /// Seed of the client's `xid`s and jitter (0: from the OS).
    pub seed: u64,
}

impl DhcpClientConfig {
    /// Defaults: no host name, ARP probe on, seeded from the OS.
    pub fn new(link_name: impl Into<String>) -> Self {
        Self {
            link_name: link_name.into(),
            hostname: None,
            remembered_addr: None,
            arp_probe: true,
            seed: 0,
        }
    }

    /// With a host name (option 12).
    pub fn with_hostname(mut self, name: impl Into<String>) -> Self {
        self.hostname = Some(name.into());
        self
    }

    /// With or without the ARP probe.
    pub fn with_arp_probe(mut self, on: bool) -> Self {
        self.arp_probe = on;
        self
    }
}

/// What the client has done so far (for messages, tests and status lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DhcpProgress {
    /// The client's state now.
    pub state: Option<ClientState>,
    /// DISCOVERs sent.
    pub discovers: u32,
    /// REQUESTs sent (selecting, rebooting, renewing, rebinding).
    pub requests: u32,
    /// OFFERs received for us.
    pub offers: u32,
    /// The last OFFER: (offered address, server).
    pub last_offer: Option<(Ipv4Addr, Ipv4Addr)>,
    /// ACKs received for us.
    pub acks: u32,
    /// NAKs received for us.
    pub naks: u32,
    /// ARP probes sent.
    pub arp_probes: u32,
    /// Addresses declined after an ARP conflict.
    pub declines: u32,
    /// Leases extended (RENEWING or REBINDING answered).
    pub renewals: u32,
    /// Leases that ran out.
    pub expiries: u32,
}

/// A DHCP client running on a [`Stack`]: it binds UDP port 68, gets a lease (probing the
/// address with ARP, RFC 5227), applies it with `set_ipv4` (address, prefix, router), renews
/// at T1 and rebinds at T2 in the background, and removes the address when the lease runs
/// out or a server NAKs it.
///
/// Dropping it stops the client without a RELEASE (the address stays configured but is no
/// longer renewed); [`release`](Self::release) gives the lease back first.
#[derive(Debug)]
pub struct DhcpClientTask {
    lease: watch::Receiver<Option<Lease>>,
    progress: Arc<Mutex<DhcpProgress>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<Option<Lease>>>>,
    link_name: String,
    started: tokio::time::Instant,
}

impl Stack {
    /// Starts a DHCP client on this stack (see [`DhcpClientTask`]).
    pub fn dhcp(&self, cfg: DhcpClientConfig) -> io::Result<DhcpClientTask> {
        DhcpClientTask::spawn(self, cfg)
    }
}

impl DhcpClientTask {
    /// Binds `0.0.0.0:68` and starts the client on the current tokio runtime.
    pub fn spawn(stack: &Stack, cfg: DhcpClientConfig) -> io::Result<Self> {
        let hostname = match &cfg.hostname {
            Some(h) => Some(SmallBytes::new(h.as_bytes()).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("DHCP host name {h:?} is longer than 64 bytes"),
                )
            })?),
            None => None,
        };
        let mut client_cfg = ClientConfig::new(
            stack.config().mac,
            if cfg.seed == 0 { seed() } else { cfg.seed },
        );
        client_cfg.hostname = hostname;
        client_cfg.remembered_addr = cfg.remembered_addr;
        client_cfg.arp_probe = cfg.arp_probe;
        let sock = UdpSocket::bind(
            stack,
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, CLIENT_PORT)),
        )
        .map_err(|e| io::Error::new(e.kind(), format!("DHCP client: binding UDP port 68: {e}")))?;
        let (lease_tx, lease) = watch::channel(None);
        let (stop, stop_rx) = oneshot::channel();
        let progress = Arc::new(Mutex::new(DhcpProgress::default()));
        let run = ClientRun {
            stack: stack.clone(),
            sock,
            client: DhcpClient::new(client_cfg, stack.now()),
            lease: lease_tx,
            progress: progress.clone(),
        };
        Ok(Self {
            lease,
            progress,
            stop: Some(stop),
            task: Some(tokio::spawn(run.run(stop_rx))),
            link_name: cfg.link_name,
            started: tokio::time::Instant::now(),
        })
    }

    /// The lease in use, if any.
    pub fn lease(&self) -> Option<Lease> {
        *self.lease.borrow()
    }

    /// A receiver that sees every change of the lease (bound, renewed, expired, released).
    pub fn watch(&self) -> watch::Receiver<Option<Lease>> {
        self.lease.clone()
    }

    /// What the client has done so far.
    pub fn progress(&self) -> DhcpProgress {
        *self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the client holds a lease (already applied to the stack), at most `limit`.
    /// The error says what was tried, e.g. "no DHCP offer after 4 DISCOVERs over 30 s on
    /// tap0".
    pub async fn bound(&mut self, limit: StdDuration) -> io::Result<Lease> {
        let mut rx = self.lease.clone();
        let got = async { rx.wait_for(Option::is_some).await.map(|l| *l) };
        match tokio::time::timeout(limit, got).await {
            Ok(Ok(Some(lease))) => Ok(lease),
            Ok(Ok(None)) => Err(io::Error::other("DHCP client: no lease")),
            Ok(Err(_)) => Err(self.stopped().await),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, self.describe())),
        }
    }

    /// Why the task ended.
    async fn stopped(&mut self) -> io::Error {
        match self.task.take() {
            Some(t) => match t.await {
                Ok(Err(e)) => e,
                Ok(Ok(_)) => io::Error::other("DHCP client: stopped"),
                Err(e) => io::Error::other(format!("DHCP client task failed: {e}")),
            },
            None => io::Error::other("DHCP client: stopped"),
        }
    }

    /// What was tried, for a timeout message.
    fn describe(&self) -> String {
        let p = self.progress();
        let secs = self.started.elapsed().as_secs();
        let link = &self.link_name;
        if let Some((addr, server)) = p.last_offer.filter(|_| p.acks == 0) {
            format!(
                "DHCP: {} OFFER(s), the last of {addr} from {server}, but no ACK after {} \
                 REQUEST(s) over {secs} s on {link}",
                p.offers, p.requests
            )
        } else if p.acks > 0 {
            format!(
                "DHCP: an ACK but no usable address after {secs} s on {link} ({} ARP probe(s), \
                 {} address(es) declined as in use, {} NAK(s))",
                p.arp_probes, p.declines, p.naks
            )
        } else {
            format!(
                "no DHCP offer after {} DISCOVER(s) over {secs} s on {link} (is a DHCP server \
                 on that link? are broadcasts reaching it?)",
                p.discovers
            )
        }
    }

    /// Gives the lease back (RFC 2131 §4.4.6: a RELEASE to the server), removes the address
    /// from the stack and stops the client. Returns the lease given up, if there was one.
    pub async fn release(mut self) -> io::Result<Option<Lease>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(t) => t
                .await
                .map_err(|e| io::Error::other(format!("DHCP client task failed: {e}")))?,
            None => Ok(None),
        }
    }
}

impl Drop for DhcpClientTask {
    fn drop(&mut self) {
        // Dropping `stop` ends the task without a RELEASE.
        self.stop.take();
    }
}

/// The client task's state.
struct ClientRun {
    stack: Stack,
    sock: UdpSocket,
    client: DhcpClient,
    lease: watch::Sender<Option<Lease>>,
    progress: Arc<Mutex<DhcpProgress>>,
}

impl ClientRun {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) -> io::Result<Option<Lease>> {
        let mut rx = [0u8; 1500];
        loop {
            self.step().await?;
            let at = self.client.poll_at();
            tokio::select! {
                r = self.sock.recv_from(&mut rx) => {
                    let (n, from) = r?;
                    let src = match from.ip() {
                        std::net::IpAddr::V4(a) => a,
                        std::net::IpAddr::V6(_) => continue,
                    };
                    self.count_reply(&rx[..n]);
                    let ev = self.client.handle(self.stack.now(), &rx[..n], src);
                    self.apply(ev)?;
                }
                _ = sleep_until(&self.stack, at) => {}
                r = &mut stop => {
                    return match r {
                        Ok(()) => self.release().await,
                        Err(_) => Ok(None),
                    };
                }
            }
        }
    }

    /// Timers, then everything due: datagrams and ARP probes.
    async fn step(&mut self) -> io::Result<()> {
        let now = self.stack.now();
        if self.client.state() == ClientState::Probing
            && let Some(addr) = self.stack.with_interface(|i, _| i.arp_probe_conflict())?
        {
            let ev = self.client.arp_conflict(now, addr);
            self.stack.with_interface(|i, _| i.arp_probe_end())?;
            self.apply(ev)?;
        }
        let ev = self.client.handle_timeout(now);
        self.apply(ev)?;
        self.transmit(now).await?;
        while let Some(probe) = self.client.poll_arp_probe(now) {
            self.stack.with_interface(|i, _| i.arp_probe(probe.addr))?;
            self.update(|p| p.arp_probes += 1);
        }
        let state = self.client.state();
        self.update(|p| p.state = Some(state));
        Ok(())
    }

    async fn transmit(&mut self, now: Instant) -> io::Result<()> {
        let mut buf = [0u8; 1024];
        while let Some(tx) = self.client.poll_transmit(now, &mut buf) {
            let msg = &buf[..tx.len];
            if let Ok(m) = DhcpRepr::parse_bytes(msg) {
                match m.message_type {
                    MessageType::Discover => self.update(|p| p.discovers += 1),
                    MessageType::Request => self.update(|p| p.requests += 1),
                    MessageType::Decline => self.update(|p| p.declines += 1),
                    _ => {}
                }
            }
            let to = SocketAddr::from((tx.dst, SERVER_PORT));
            if let Err(e) = self.sock.send_to(msg, to).await {
                // No route yet (e.g. a unicast RENEW while the address changed): the
                // machine retransmits on its own schedule.
                tracing::debug!(error = %e, %to, "DHCP: send failed");
            }
        }
        Ok(())
    }

    fn count_reply(&self, payload: &[u8]) {
        let Ok(m) = DhcpRepr::parse_bytes(payload) else {
            return;
        };
        if m.client_hw_addr != self.stack.config().mac {
            return;
        }
        match m.message_type {
            MessageType::Offer => self.update(|p| {
                p.offers += 1;
                p.last_offer = Some((m.yiaddr, m.server_id.unwrap_or(Ipv4Addr::UNSPECIFIED)));
            }),
            MessageType::Ack => self.update(|p| p.acks += 1),
            MessageType::Nak => self.update(|p| p.naks += 1),
            _ => {}
        }
    }

    fn update(&self, f: impl FnOnce(&mut DhcpProgress)) {
        f(&mut self.progress.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Applies an event to the stack and the watchers.
    fn apply(&mut self, ev: Option<Event>) -> io::Result<()> {
        let Some(ev) = ev else {
            return Ok(());
        };
        tracing::info!(?ev, "DHCP");
        match ev {
            Event::Bound(lease) => {
                self.configure(Some(&lease))?;
                self.lease.send_replace(Some(lease));
            }
            Event::Renewed(lease) => {
                let old = *self.lease.borrow();
                let same = old.is_some_and(|o| {
                    (o.addr, o.prefix_len, o.router) == (lease.addr, lease.prefix_len, lease.router)
                });
                if !same {
                    self.configure(Some(&lease))?;
                }
                self.update(|p| p.renewals += 1);
                self.lease.send_replace(Some(lease));
            }
            Event::Expired(_) | Event::Nak { lost: Some(_) } => {
                if matches!(ev, Event::Expired(_)) {
                    self.update(|p| p.expiries += 1);
                }
                self.configure(None)?;
                self.lease.send_replace(None);
            }
            Event::Nak { lost: None } | Event::Declined(_) => {}
        }
        Ok(())
    }

    /// Sets (or removes) the stack's address and default route.
    fn configure(&self, lease: Option<&Lease>) -> io::Result<()> {
        let cidr = match lease {
            Some(l) => Some(Ipv4Cidr::new(l.addr, l.prefix_len).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "DHCP: lease {}/{} is not a valid prefix",
                        l.addr, l.prefix_len
                    ),
                )
            })?),
            None => None,
        };
        let router = lease.and_then(|l| l.router);
        self.stack.with_interface(|i, now| {
            i.arp_probe_end();
            i.set_ipv4(cidr, router, now);
        })
    }

    /// RELEASE (when we hold a lease), then the address goes.
    async fn release(mut self) -> io::Result<Option<Lease>> {
        let now = self.stack.now();
        let Some(lease) = self.client.release(now) else {
            return Ok(None);
        };
        let sent_before = self.stack.stats().udp_sent;
        self.transmit(now).await?;
        // The RELEASE leaves from the address: keep it until the driver has sent it.
        let deadline = tokio::time::Instant::now() + RELEASE_WAIT;
        while self.stack.stats().udp_sent == sent_before && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        self.configure(None)?;
        self.lease.send_replace(None);
        Ok(Some(lease))
    }
}

/// A DHCP server on a [`Stack`] (UDP port 67 on all its addresses), answering from a
/// proto-core [`DhcpServer`] with `N` lease entries and `R` reservations. The stack needs
/// the server's address (`ServerConfig::server_addr`). Dropping it stops the server.
pub struct DhcpServerTask<const N: usize = 256, const R: usize = 16> {
    server: Arc<Mutex<DhcpServer<N, R>>>,
    stack: Stack,
    task: JoinHandle<io::Result<()>>,
}

impl<const N: usize, const R: usize> std::fmt::Debug for DhcpServerTask<N, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DhcpServerTask").finish_non_exhaustive()
    }
}

impl<const N: usize, const R: usize> DhcpServerTask<N, R> {
    /// Binds `0.0.0.0:67` (broadcasts from clients without an address reach it there) and
    /// serves on the current tokio runtime.
    pub fn spawn(stack: &Stack, server: DhcpServer<N, R>) -> io::Result<Self> {
        let sock = UdpSocket::bind(
            stack,
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, SERVER_PORT)),
        )
        .map_err(|e| io::Error::new(e.kind(), format!("DHCP server: binding UDP port 67: {e}")))?;
        let server = Arc::new(Mutex::new(server));
        let task = tokio::spawn(serve(stack.clone(), sock, server.clone()));
        Ok(Self {
            server,
            stack: stack.clone(),
            task,
        })
    }

    /// The lease table now (offers, bindings, declined addresses that have not expired).
    pub fn bindings(&self) -> Vec<Binding> {
        let now = self.stack.now();
        let s = self.server.lock().unwrap_or_else(|e| e.into_inner());
        s.bindings(now).copied().collect()
    }
}

impl<const N: usize, const R: usize> Drop for DhcpServerTask<N, R> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The server loop: one datagram in, at most one reply out (the machine has no timers).
async fn serve<const N: usize, const R: usize>(
    stack: Stack,
    sock: UdpSocket,
    server: Arc<Mutex<DhcpServer<N, R>>>,
) -> io::Result<()> {
    let mut rx = [0u8; 1500];
    let mut tx = [0u8; 1024];
    loop {
        let (n, from) = sock.recv_from(&mut rx).await?;
        let reply = {
            let mut s = server.lock().unwrap_or_else(|e| e.into_inner());
            s.handle(stack.now(), &rx[..n], &mut tx)
        };
        let Some(reply) = reply else {
            tracing::debug!(%from, "DHCP server: ignored a datagram");
            continue;
        };
        let to = SocketAddr::from((reply.dst, reply.dst_port));
        if let Err(e) = sock.send_to(&tx[..reply.len], to).await {
            tracing::warn!(error = %e, %to, "DHCP server: reply not sent");
        }
    }
}
