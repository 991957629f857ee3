//! An async stub resolver over the runtime: proto-core's [`dns::Resolver`](ProtoResolver)
//! (servers in turn, random IDs and ports, CNAME chains, cache) with its queries sent on
//! userspace UDP sockets, and over a userspace [`TcpStream`] when an answer comes back
//! truncated (RFC 7766 §5).
//!
//! ```no_run
//! # async fn example(stack: stackclient::runtime::Stack) -> std::io::Result<()> {
//! use stackclient::apps::dns::Resolver;
//! let resolver = Resolver::new(&stack, &["10.0.0.1:53".parse().unwrap()]);
//! let addrs = resolver.lookup("www.example.test").await?; // A and AAAA
//! # Ok(()) }
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};

use proto_core::app::dhcp::Lease;
use proto_core::app::dns::{
    Answer, DnsError, QueryHandle, Resolver as ProtoResolver, ResolverConfig, Transmit, Type,
    tcp_message_len,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use super::{seed, sleep_until, std_duration};
use crate::runtime::{Stack, TcpStream, UdpSocket};

/// Queries in flight at once.
const QUERIES: usize = 16;
/// Answers cached.
const CACHE: usize = 64;

type Machine = ProtoResolver<QUERIES, CACHE>;

/// An async resolver on a [`Stack`]; cheap to clone (clones share the machine and its
/// cache), usable from many tasks at once.
#[derive(Clone)]
pub struct Resolver {
    stack: Stack,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

struct Shared {
    machine: Mutex<Machine>,
    /// Woken when an answer was handed to the machine.
    answered: Notify,
    config: ResolverConfig,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Machine> {
        self.machine.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Cancels an abandoned query (a no-op once its result was taken).
struct Cancel<'a> {
    shared: &'a Shared,
    handle: QueryHandle,
}

impl Drop for Cancel<'_> {
    fn drop(&mut self) {
        self.shared.lock().cancel(self.handle);
    }
}

impl Resolver {
    /// A resolver asking `servers` (the first 4), with default settings (2 s per attempt, 2
    /// attempts per server, EDNS(0) at 1232 bytes).
    pub fn new(stack: &Stack, servers: &[SocketAddr]) -> Self {
        Self::with_config(stack, servers, ResolverConfig::default())
    }

    /// A resolver with other settings (a zero seed is replaced from the OS).
    pub fn with_config(stack: &Stack, servers: &[SocketAddr], mut config: ResolverConfig) -> Self {
        if config.seed == 0 {
            config.seed = seed();
        }
        Self {
            stack: stack.clone(),
            shared: Arc::new(Shared {
                machine: Mutex::new(Machine::new(servers, config)),
                answered: Notify::new(),
                config,
            }),
        }
    }

    /// A resolver asking the DNS servers of a DHCP lease; an error when it names none.
    pub fn from_lease(stack: &Stack, lease: &Lease) -> io::Result<Self> {
        let servers = lease_servers(lease);
        if servers.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "the DHCP lease of {} from {} names no DNS server (option 6)",
                    lease.addr, lease.server
                ),
            ));
        }
        Ok(Self::new(stack, &servers))
    }

    /// Replaces the servers (e.g. after a new lease).
    pub fn set_servers(&self, servers: &[SocketAddr]) {
        self.shared.lock().set_servers(servers);
    }

    /// The IPv4 addresses of `name` (A records, CNAMEs followed).
    pub async fn lookup_ipv4(&self, name: &str) -> io::Result<Vec<Ipv4Addr>> {
        let a = self.query(name, Type::A).await?;
        Ok(a.addrs()
            .filter_map(|a| match a {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .collect())
    }

    /// The IPv6 addresses of `name` (AAAA records, CNAMEs followed).
    pub async fn lookup_ipv6(&self, name: &str) -> io::Result<Vec<Ipv6Addr>> {
        let a = self.query(name, Type::Aaaa).await?;
        Ok(a.addrs()
            .filter_map(|a| match a {
                IpAddr::V6(v6) => Some(v6),
                IpAddr::V4(_) => None,
            })
            .collect())
    }

    /// The addresses of `name`: A and AAAA asked at once, IPv4 first. Fails only when both
    /// fail (with the A lookup's error).
    pub async fn lookup(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        let (v4, v6) = tokio::join!(self.query(name, Type::A), self.query(name, Type::Aaaa));
        match (v4, v6) {
            (Err(e), Err(_)) => Err(e),
            (v4, v6) => Ok(v4
                .iter()
                .chain(v6.iter())
                .flat_map(|a| a.addrs().collect::<Vec<_>>())
                .collect()),
        }
    }

    /// One lookup of `name` for `qtype` (A or AAAA): the answer with its canonical name
    /// and TTL. NXDOMAIN and "no data" are `NotFound`, no answer `TimedOut`.
    pub async fn query(&self, name: &str, qtype: Type) -> io::Result<Answer> {
        let sh = &*self.shared;
        let handle = sh
            .lock()
            .query(self.stack.now(), name, qtype)
            .map_err(|e| dns_error(name, qtype, e))?;
        let _cancel = Cancel { shared: sh, handle };
        let mut buf = [0u8; 520];
        loop {
            // Registered before looking, so an answer arriving in between still wakes us.
            let mut answered = pin!(sh.answered.notified());
            answered.as_mut().enable();
            let mut due = Vec::new();
            let (result, at) = {
                let now = self.stack.now();
                let mut m = sh.lock();
                m.handle_timeout(now);
                while let Some(tx) = m.poll_transmit(now, &mut buf) {
                    due.push((tx, buf[..tx.len].to_vec()));
                }
                (m.poll_result(handle), m.poll_at())
            };
            for (tx, bytes) in due {
                self.send(tx, bytes);
            }
            if let Some(r) = result {
                return r.map_err(|e| dns_error(name, qtype, e));
            }
            tokio::select! {
                _ = answered => {}
                _ = sleep_until(&self.stack, at) => {}
            }
        }
    }

    /// Sends one query (of any lookup: the machine serves them all) and spawns the task
    /// that waits for its answer.
    fn send(&self, tx: Transmit, bytes: Vec<u8>) {
        if tx.over_tcp {
            let r = self.clone();
            tokio::spawn(async move { r.over_tcp(tx, bytes).await });
            return;
        }
        let local = match tx.server {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, tx.local_port)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, tx.local_port)),
        };
        // Bound before sending, so the answer finds the socket.
        let sock = match UdpSocket::bind(&self.stack, local) {
            Ok(s) => s,
            Err(e) => {
                // The attempt times out and the machine tries again with another port.
                tracing::debug!(error = %e, %local, "DNS: cannot bind the query's port");
                return;
            }
        };
        let r = self.clone();
        tokio::spawn(async move {
            if let Err(e) = sock.send_to(&bytes, tx.server).await {
                tracing::debug!(error = %e, server = %tx.server, "DNS: query not sent");
                return;
            }
            let wait = std_duration(r.shared.config.timeout);
            let mut rx = vec![0u8; 65_535];
            let _ = tokio::time::timeout(wait, async {
                loop {
                    let Ok((n, from)) = sock.recv_from(&mut rx).await else {
                        return;
                    };
                    let took =
                        r.shared
                            .lock()
                            .handle_udp(r.stack.now(), from, tx.local_port, &rx[..n]);
                    if took {
                        r.shared.answered.notify_waiters();
                        return;
                    }
                }
            })
            .await;
        });
    }

    /// RFC 7766: the query over a new TCP connection, the reply length-prefixed.
    async fn over_tcp(&self, tx: Transmit, bytes: Vec<u8>) {
        let wait = std_duration(self.shared.config.tcp_timeout);
        let reply = tokio::time::timeout(wait, async {
            let mut s = TcpStream::connect(&self.stack, tx.server).await?;
            s.write_all(&bytes).await?;
            let mut msg = vec![0u8; 2];
            s.read_exact(&mut msg).await?;
            let len = tcp_message_len(&msg).unwrap_or(2);
            msg.resize(len, 0);
            s.read_exact(&mut msg[2..]).await?;
            Ok::<_, io::Error>(msg)
        })
        .await;
        match reply {
            Ok(Ok(msg)) => {
                if self
                    .shared
                    .lock()
                    .handle_tcp(self.stack.now(), tx.handle, &msg)
                {
                    self.shared.answered.notify_waiters();
                }
            }
            Ok(Err(e)) => tracing::debug!(error = %e, server = %tx.server, "DNS over TCP failed"),
            Err(_) => tracing::debug!(server = %tx.server, "DNS over TCP timed out"),
        }
    }
}

/// The DNS servers of a lease, on port 53.
pub fn lease_servers(lease: &Lease) -> Vec<SocketAddr> {
    lease
        .dns_servers
        .iter()
        .map(|a| SocketAddr::from((a, 53)))
        .collect()
}

/// A lookup's failure as an `io::Error` naming what was asked.
fn dns_error(name: &str, qtype: Type, e: DnsError) -> io::Error {
    let kind = match e {
        DnsError::NxDomain | DnsError::NoData => io::ErrorKind::NotFound,
        DnsError::Timeout => io::ErrorKind::TimedOut,
        DnsError::BadName(_) | DnsError::UnsupportedType(_) => io::ErrorKind::InvalidInput,
        DnsError::NoServers => io::ErrorKind::NotConnected,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("looking up {name} ({qtype}): {e}"))
}
