//! The DHCPv4 client state machine (RFC 2131 §4.4, figure 5), with the address probe of
//! RFC 5227 §2.1 before an address is used.
//!
//! ```text
//!  INIT-REBOOT --REQUEST--> REBOOTING --ACK--> PROBING --3 probes, no conflict--> BOUND
//!  INIT --DISCOVER--> SELECTING --OFFER/REQUEST--> REQUESTING --ACK--> PROBING
//!  PROBING --conflict: DECLINE, wait 10 s--> INIT        REQUESTING/REBOOTING --NAK--> INIT
//!  BOUND --T1--> RENEWING (unicast) --T2--> REBINDING (broadcast) --expiry--> INIT
//!  RENEWING/REBINDING --ACK--> BOUND;  --NAK--> INIT          any lease --release()--> RELEASED
//! ```

use core::net::Ipv4Addr;

use super::{AddrList, CLIENT_PORT, DhcpRepr, MessageType, SERVER_PORT, opt};
use crate::rand::Rng;
use crate::time::{Duration, Instant};
use crate::wire::EthernetAddress;

/// Retransmissions of a REQUEST (or INIT-REBOOT REQUEST) before going back to INIT.
const MAX_REQUEST_TRIES: u32 = 4;
/// RFC 5227 §1.1: PROBE_WAIT, PROBE_NUM, PROBE_MIN, PROBE_MAX, ANNOUNCE_WAIT.
const PROBE_WAIT: Duration = Duration::from_secs(1);
const PROBE_NUM: u8 = 3;
const PROBE_MIN: Duration = Duration::from_secs(1);
const PROBE_MAX: Duration = Duration::from_secs(2);
const ANNOUNCE_WAIT: Duration = Duration::from_secs(2);
/// RFC 2131 §3.1 step 5: after a DECLINE, wait at least 10 s before starting again.
const DECLINE_WAIT: Duration = Duration::from_secs(10);
/// RFC 2131 §4.4.5: retransmissions in RENEWING and REBINDING at least 60 s apart.
const MIN_RENEW_RETX: Duration = Duration::from_secs(60);
/// The options we ask for (RFC 2132 §9.8): mask, router, DNS, domain, NTP, lease, T1, T2.
const PARAMETERS: [u8; 8] = [
    opt::SUBNET_MASK,
    opt::ROUTER,
    opt::DNS_SERVERS,
    opt::DOMAIN_NAME,
    opt::NTP_SERVERS,
    opt::LEASE_TIME,
    opt::RENEWAL_TIME,
    opt::REBINDING_TIME,
];

/// Up to 64 bytes of an option (host name, client identifier, domain name), stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmallBytes {
    bytes: [u8; 64],
    len: u8,
}

impl SmallBytes {
    /// A copy of `bytes`, or `None` when longer than 64.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut s = Self {
            bytes: [0; 64],
            len: u8::try_from(bytes.len()).ok()?,
        };
        s.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(s)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// [`DhcpClient`] settings.
#[derive(Debug, Clone, Copy)]
pub struct ClientConfig {
    /// Our MAC address (`chaddr`).
    pub mac: EthernetAddress,
    /// Option 12, sent in DISCOVER and REQUEST.
    pub hostname: Option<SmallBytes>,
    /// Option 61; `None` sends type 1 (Ethernet) + the MAC (RFC 2132 §9.14).
    pub client_id: Option<SmallBytes>,
    /// An address remembered from an earlier lease: start in INIT-REBOOT (RFC 2131 §3.2).
    pub remembered_addr: Option<Ipv4Addr>,
    /// Probe the address with ARP before using it (RFC 5227); off only for tests or links
    /// without ARP.
    pub arp_probe: bool,
    /// Ask servers to broadcast their replies (RFC 2131 §4.1): needed by a stack that drops
    /// unicast to an address it does not have yet.
    pub broadcast_flag: bool,
    /// Seeds `xid`s and backoff jitter.
    pub seed: u64,
}

impl ClientConfig {
    /// Defaults for `mac`: no host name, MAC client id, ARP probe and broadcast flag on.
    pub fn new(mac: EthernetAddress, seed: u64) -> Self {
        Self {
            mac,
            hostname: None,
            client_id: None,
            remembered_addr: None,
            arp_probe: true,
            broadcast_flag: true,
            seed,
        }
    }
}

/// The configuration a server granted (RFC 2131 §4.4.1; times count from the first REQUEST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Our address.
    pub addr: Ipv4Addr,
    /// The subnet's prefix length (option 1; classful default without it).
    pub prefix_len: u8,
    /// The default router (option 3).
    pub router: Option<Ipv4Addr>,
    /// DNS servers (option 6).
    pub dns_servers: AddrList,
    /// NTP servers (option 42).
    pub ntp_servers: AddrList,
    /// Domain name (option 15).
    pub domain: Option<SmallBytes>,
    /// The server that granted it (option 54).
    pub server: Ipv4Addr,
    /// Lease duration ([`Duration::MAX`] for an infinite lease).
    pub lease_time: Duration,
    /// Renewal time T1 (default half the lease, RFC 2131 §4.4.5).
    pub t1: Duration,
    /// Rebinding time T2 (default 7/8 of the lease).
    pub t2: Duration,
    /// When the lease started (the first REQUEST of the exchange that got it).
    pub start: Instant,
}

impl Lease {
    /// When RENEWING starts.
    pub fn t1_at(&self) -> Instant {
        self.start + self.t1
    }

    /// When REBINDING starts.
    pub fn t2_at(&self) -> Instant {
        self.start + self.t2
    }

    /// When the address must be dropped.
    pub fn expires_at(&self) -> Instant {
        self.start + self.lease_time
    }

    /// Reads a lease from an ACK; `server` when it lacks option 54.
    fn from_ack(ack: &DhcpRepr<'_>, server: Ipv4Addr, start: Instant) -> Self {
        let secs = |s: u32| {
            if s == u32::MAX {
                Duration::MAX
            } else {
                Duration::from_secs(u64::from(s))
            }
        };
        // RFC 2131 §4.4.1 leaves the default lease to the client; an hour is common.
        let lease_time = secs(ack.lease_time.unwrap_or(3600));
        let mut t1 = ack.renewal_time.map_or(lease_time / 2, secs);
        let mut t2 = ack.rebinding_time.map_or(lease_time / 8 * 7, secs);
        if t2 > lease_time || t1 > t2 {
            (t1, t2) = (lease_time / 2, lease_time / 8 * 7);
        }
        let prefix_len = match ack.subnet_mask {
            Some(mask) => mask.to_bits().leading_ones() as u8,
            None => match ack.yiaddr.octets()[0] {
                0..=127 => 8,
                128..=191 => 16,
                _ => 24,
            },
        };
        Self {
            addr: ack.yiaddr,
            prefix_len,
            router: ack.router,
            dns_servers: ack.dns_servers,
            ntp_servers: ack.ntp_servers,
            domain: ack.domain_name.and_then(SmallBytes::new),
            server: ack.server_id.unwrap_or(server),
            lease_time,
            t1,
            t2,
            start,
        }
    }
}

/// What the runtime must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Configure this address, route and servers (after the probe found no conflict).
    Bound(Lease),
    /// The lease was extended (times and maybe options changed; the address did not).
    Renewed(Lease),
    /// The lease ran out: remove the address now (RFC 2131 §4.4.5). The client starts over.
    Expired(Lease),
    /// A server refused us. When `lost` is set we had that lease: remove its address now.
    /// The client starts over.
    Nak {
        /// The lease given up, if there was one.
        lost: Option<Lease>,
    },
    /// The offered address is in use (ARP conflict): a DECLINE goes out and the client
    /// starts over after 10 s. The address was never configured.
    Declined(Ipv4Addr),
}

/// A datagram to send from UDP port 68 to port 67.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Source address: `0.0.0.0` before we have one.
    pub src: Ipv4Addr,
    /// Destination: `255.255.255.255` or the server.
    pub dst: Ipv4Addr,
    /// Bytes written into the buffer.
    pub len: usize,
}

impl Transmit {
    /// Source port (68).
    pub const SRC_PORT: u16 = CLIENT_PORT;
    /// Destination port (67).
    pub const DST_PORT: u16 = SERVER_PORT;
}

/// An ARP probe to send (RFC 5227 §2.1.1): an ARP request with sender IP `0.0.0.0`, sender
/// MAC ours, target IP `addr`, broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpProbe {
    /// The address probed.
    pub addr: Ipv4Addr,
}

/// The client's state, for display and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Waiting to start (after a DECLINE).
    Init,
    /// DISCOVER sent, waiting for an OFFER.
    Selecting,
    /// REQUEST sent for an offer.
    Requesting,
    /// REQUEST sent for a remembered address.
    Rebooting,
    /// Probing the address with ARP.
    Probing,
    /// Configured.
    Bound,
    /// Extending the lease with its server.
    Renewing,
    /// Extending the lease with any server.
    Rebinding,
    /// Lease given up; the client is finished.
    Released,
}

/// A message on a retransmission schedule.
#[derive(Debug, Clone, Copy)]
struct Exchange {
    xid: u32,
    /// When the first message of the exchange went out (for `secs` and the lease start).
    start: Instant,
    next_tx: Instant,
    tries: u32,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Init {
        retry_at: Instant,
    },
    Selecting(Exchange),
    Requesting {
        ex: Exchange,
        addr: Ipv4Addr,
        server: Ipv4Addr,
    },
    Rebooting {
        ex: Exchange,
        addr: Ipv4Addr,
    },
    Probing {
        lease: Lease,
        sent: u8,
        next: Instant,
    },
    Bound(Lease),
    Renewing {
        lease: Lease,
        ex: Exchange,
    },
    Rebinding {
        lease: Lease,
        ex: Exchange,
    },
    Released,
}

/// A one-off message outside the retransmitted exchanges.
#[derive(Debug, Clone, Copy)]
enum OneShot {
    Decline {
        addr: Ipv4Addr,
        server: Ipv4Addr,
        xid: u32,
    },
    Release {
        addr: Ipv4Addr,
        server: Ipv4Addr,
        xid: u32,
    },
}

/// A DHCPv4 client.
///
/// Call order, each time the runtime wakes: [`handle`](Self::handle) for every datagram to
/// port 68, [`arp_conflict`](Self::arp_conflict) when the stack sees the probed address in
/// use, [`handle_timeout`](Self::handle_timeout), then [`poll_transmit`](Self::poll_transmit)
/// and [`poll_arp_probe`](Self::poll_arp_probe) until `None`, then sleep until
/// [`poll_at`](Self::poll_at). Events come back from the `handle*` calls.
///
/// ```
/// use proto_core::app::dhcp::{ClientConfig, DhcpClient};
/// use proto_core::time::Instant;
/// use proto_core::wire::EthernetAddress;
/// let mut c = DhcpClient::new(ClientConfig::new(EthernetAddress([2, 0, 0, 0, 0, 1]), 7), Instant::ZERO);
/// let mut buf = [0u8; 576];
/// let tx = c.poll_transmit(Instant::ZERO, &mut buf).unwrap(); // the DISCOVER
/// assert_eq!(tx.dst, core::net::Ipv4Addr::BROADCAST);
/// ```
#[derive(Debug, Clone)]
pub struct DhcpClient {
    config: ClientConfig,
    rng: Rng,
    state: State,
    one_shot: Option<OneShot>,
}

impl DhcpClient {
    /// A client starting at `now`: in INIT-REBOOT when the config remembers an address, else
    /// INIT. Its first message is due at once (RFC 2131 §4.4.1's random 1-10 s initial wait
    /// is left to the runtime).
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        let mut rng = Rng::new(config.seed);
        let ex = Exchange {
            xid: rng.next_u32(),
            start: now,
            next_tx: now,
            tries: 0,
        };
        let state = match config.remembered_addr {
            Some(addr) => State::Rebooting { ex, addr },
            None => State::Selecting(ex),
        };
        Self {
            config,
            rng,
            state,
            one_shot: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> ClientState {
        match self.state {
            State::Init { .. } => ClientState::Init,
            State::Selecting(_) => ClientState::Selecting,
            State::Requesting { .. } => ClientState::Requesting,
            State::Rebooting { .. } => ClientState::Rebooting,
            State::Probing { .. } => ClientState::Probing,
            State::Bound(_) => ClientState::Bound,
            State::Renewing { .. } => ClientState::Renewing,
            State::Rebinding { .. } => ClientState::Rebinding,
            State::Released => ClientState::Released,
        }
    }

    /// The lease in use (BOUND, RENEWING, REBINDING).
    pub fn lease(&self) -> Option<&Lease> {
        match &self.state {
            State::Bound(lease)
            | State::Renewing { lease, .. }
            | State::Rebinding { lease, .. } => Some(lease),
            _ => None,
        }
    }

    fn new_exchange(&mut self, now: Instant) -> Exchange {
        Exchange {
            xid: self.rng.next_u32(),
            start: now,
            next_tx: now,
            tries: 0,
        }
    }

    /// RFC 2131 §4.1: 4 s before the first retransmission, doubling up to 64 s, each
    /// randomized by ±1 s.
    fn backoff(&mut self, tries: u32) -> Duration {
        let base = Duration::from_secs(4 << tries.min(4));
        let jitter = self.rng.below(2_000_001);
        base + Duration::from_micros(jitter) - Duration::from_secs(1)
    }

    /// Takes a datagram received on port 68 from `src`. Anything that is not a reply to our
    /// current exchange is ignored.
    pub fn handle(&mut self, now: Instant, payload: &[u8], src: Ipv4Addr) -> Option<Event> {
        let msg = DhcpRepr::parse_bytes(payload).ok()?;
        if !msg.message_type.is_reply() || msg.client_hw_addr != self.config.mac {
            return None;
        }
        let server = msg.server_id.unwrap_or(src);
        match self.state {
            State::Selecting(ex) if msg.xid == ex.xid => {
                // RFC 2131 §4.4.1: take the first acceptable OFFER, REQUEST it with the same xid.
                if msg.message_type == MessageType::Offer && !msg.yiaddr.is_unspecified() {
                    let ex = Exchange {
                        next_tx: now,
                        tries: 0,
                        start: now,
                        ..ex
                    };
                    self.state = State::Requesting {
                        ex,
                        addr: msg.yiaddr,
                        server,
                    };
                }
                None
            }
            State::Requesting { ex, addr, .. } | State::Rebooting { ex, addr }
                if msg.xid == ex.xid =>
            {
                match msg.message_type {
                    MessageType::Ack if msg.yiaddr == addr => {
                        self.acked(now, Lease::from_ack(&msg, server, ex.start))
                    }
                    MessageType::Nak => {
                        self.restart(now);
                        Some(Event::Nak { lost: None })
                    }
                    _ => None,
                }
            }
            State::Renewing { lease, ex } | State::Rebinding { lease, ex } if msg.xid == ex.xid => {
                match msg.message_type {
                    MessageType::Ack if msg.yiaddr == lease.addr => {
                        let lease = Lease::from_ack(&msg, server, ex.start);
                        self.state = State::Bound(lease);
                        Some(Event::Renewed(lease))
                    }
                    // RFC 2131 §4.4.5: a NAK means the address is gone.
                    MessageType::Nak => {
                        self.restart(now);
                        Some(Event::Nak { lost: Some(lease) })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// An ACK for a new address: probe it first (RFC 2131 §4.4.1, RFC 5227 §2.1).
    fn acked(&mut self, now: Instant, lease: Lease) -> Option<Event> {
        if self.config.arp_probe {
            let wait = Duration::from_micros(self.rng.below(PROBE_WAIT.micros() + 1));
            self.state = State::Probing {
                lease,
                sent: 0,
                next: now + wait,
            };
            None
        } else {
            self.state = State::Bound(lease);
            Some(Event::Bound(lease))
        }
    }

    /// Back to INIT with a new DISCOVER exchange.
    fn restart(&mut self, now: Instant) {
        let ex = self.new_exchange(now);
        self.state = State::Selecting(ex);
    }

    /// The stack saw `addr` in use by another host (an ARP reply or probe for it from
    /// another MAC, RFC 5227 §2.1.1) while we probe it: DECLINE it and start over.
    pub fn arp_conflict(&mut self, now: Instant, addr: Ipv4Addr) -> Option<Event> {
        let State::Probing { lease, .. } = self.state else {
            // Once bound, defending the address is the stack's ARP job (RFC 5227 §2.4).
            return None;
        };
        if lease.addr != addr {
            return None;
        }
        let xid = self.rng.next_u32();
        self.one_shot = Some(OneShot::Decline {
            addr,
            server: lease.server,
            xid,
        });
        self.state = State::Init {
            retry_at: now + DECLINE_WAIT,
        };
        Some(Event::Declined(addr))
    }

    /// Runs the timers: T1, T2, expiry, the end of probing, giving up on a REQUEST.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Event> {
        match self.state {
            State::Init { retry_at } if now >= retry_at => self.restart(now),
            State::Requesting { ex, .. } | State::Rebooting { ex, .. }
                if ex.tries >= MAX_REQUEST_TRIES && now >= ex.next_tx =>
            {
                // RFC 2131 §4.4.1 (and §3.2 for INIT-REBOOT): no answer, back to INIT.
                self.restart(now);
            }
            State::Probing { lease, sent, next } if sent >= PROBE_NUM && now >= next => {
                self.state = State::Bound(lease);
                return Some(Event::Bound(lease));
            }
            State::Bound(lease)
            | State::Renewing { lease, .. }
            | State::Rebinding { lease, .. }
                if now >= lease.expires_at() =>
            {
                self.restart(now);
                return Some(Event::Expired(lease));
            }
            State::Bound(lease) if now >= lease.t1_at() => {
                let ex = self.new_exchange(now);
                self.state = State::Renewing { lease, ex };
            }
            State::Renewing { lease, .. } if now >= lease.t2_at() => {
                let ex = self.new_exchange(now);
                self.state = State::Rebinding { lease, ex };
            }
            _ => {}
        }
        None
    }

    /// The next ARP probe to send while probing, when one is due.
    #[must_use]
    pub fn poll_arp_probe(&mut self, now: Instant) -> Option<ArpProbe> {
        let State::Probing { lease, sent, next } = self.state else {
            return None;
        };
        if sent >= PROBE_NUM || now < next {
            return None;
        }
        let sent = sent + 1;
        let wait = if sent < PROBE_NUM {
            PROBE_MIN + Duration::from_micros(self.rng.below((PROBE_MAX - PROBE_MIN).micros() + 1))
        } else {
            ANNOUNCE_WAIT
        };
        self.state = State::Probing {
            lease,
            sent,
            next: now + wait,
        };
        Some(ArpProbe { addr: lease.addr })
    }

    /// Gives up the lease (RFC 2131 §4.4.6): a RELEASE goes out on the next
    /// [`poll_transmit`](Self::poll_transmit) and the client stops. Returns the lease whose
    /// address the runtime must now remove.
    pub fn release(&mut self, _now: Instant) -> Option<Lease> {
        let lease = *self.lease()?;
        let xid = self.rng.next_u32();
        self.one_shot = Some(OneShot::Release {
            addr: lease.addr,
            server: lease.server,
            xid,
        });
        self.state = State::Released;
        Some(lease)
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout), [`poll_transmit`](Self::poll_transmit)
    /// or [`poll_arp_probe`](Self::poll_arp_probe) has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.one_shot.is_some() {
            return Some(Instant::ZERO);
        }
        match self.state {
            State::Init { retry_at } => Some(retry_at),
            State::Selecting(ex) | State::Requesting { ex, .. } | State::Rebooting { ex, .. } => {
                Some(ex.next_tx)
            }
            State::Probing { next, .. } => Some(next),
            State::Bound(lease) => Some(lease.t1_at().min(lease.expires_at())),
            State::Renewing { lease, ex } => {
                Some(ex.next_tx.min(lease.t2_at()).min(lease.expires_at()))
            }
            State::Rebinding { lease, ex } => Some(ex.next_tx.min(lease.expires_at())),
            State::Released => None,
        }
    }

    /// Writes the next message due into `buf` (at least 576 bytes is always enough) and says
    /// where it goes; `None` when nothing is due.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if let Some(shot) = self.one_shot.take() {
            return self.emit_one_shot(now, shot, buf);
        }
        let (ex, kind) = match &mut self.state {
            State::Selecting(ex) => (ex, Kind::Discover),
            State::Requesting { ex, addr, server } => (ex, Kind::Select(*addr, *server)),
            State::Rebooting { ex, addr } => (ex, Kind::Reboot(*addr)),
            State::Renewing { ex, lease } => (ex, Kind::Renew(*lease)),
            State::Rebinding { ex, lease } => (ex, Kind::Rebind(*lease)),
            _ => return None,
        };
        if now < ex.next_tx
            || (matches!(kind, Kind::Select(..) | Kind::Reboot(_)) && ex.tries >= MAX_REQUEST_TRIES)
        {
            return None;
        }
        let mut exchange = *ex;
        exchange.tries += 1;
        exchange.next_tx = match kind {
            // RFC 2131 §4.4.5: half the time left until T2 (RENEWING) or expiry (REBINDING),
            // at least 60 s.
            Kind::Renew(lease) => now + ((lease.t2_at() - now) / 2).max(MIN_RENEW_RETX),
            Kind::Rebind(lease) => now + ((lease.expires_at() - now) / 2).max(MIN_RENEW_RETX),
            _ => now + self.backoff(exchange.tries - 1),
        };
        self.set_exchange(exchange);
        let tx = self.emit(now, &exchange, kind, buf)?;
        Some(tx)
    }

    fn set_exchange(&mut self, new: Exchange) {
        match &mut self.state {
            State::Selecting(ex)
            | State::Requesting { ex, .. }
            | State::Rebooting { ex, .. }
            | State::Renewing { ex, .. }
            | State::Rebinding { ex, .. } => *ex = new,
            _ => {}
        }
    }

    /// The fields every client message shares.
    fn base<'a>(
        &'a self,
        message_type: MessageType,
        xid: u32,
        secs: u16,
        client_id: &'a [u8],
    ) -> DhcpRepr<'a> {
        let mut m = DhcpRepr::new(message_type, xid, self.config.mac);
        m.secs = secs;
        m.client_id = Some(client_id);
        m
    }

    fn client_id(&self) -> [u8; 65] {
        let mut id = [0u8; 65];
        match &self.config.client_id {
            Some(c) => {
                id[0] = c.len;
                id[1..1 + c.as_bytes().len()].copy_from_slice(c.as_bytes());
            }
            None => {
                id[0] = 7;
                id[1] = 1; // hardware type Ethernet
                id[2..8].copy_from_slice(&self.config.mac.0);
            }
        }
        id
    }

    fn emit(&self, now: Instant, ex: &Exchange, kind: Kind, buf: &mut [u8]) -> Option<Transmit> {
        let secs = u16::try_from((now - ex.start).secs()).unwrap_or(u16::MAX);
        let id = self.client_id();
        let id = &id[1..1 + usize::from(id[0])];
        let message_type = match kind {
            Kind::Discover => MessageType::Discover,
            _ => MessageType::Request,
        };
        let mut m = self.base(message_type, ex.xid, secs, id);
        m.hostname = self.config.hostname.as_ref().map(|h| h.as_bytes());
        m.parameter_request_list = Some(&PARAMETERS);
        m.max_message_size = Some(1500);
        let (mut src, mut dst) = (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST);
        match kind {
            Kind::Discover => {
                m.broadcast = self.config.broadcast_flag;
                m.requested_ip = self.config.remembered_addr;
            }
            // RFC 2131 §4.3.2 / table 5: SELECTING carries server id and requested address,
            // INIT-REBOOT only the requested address, RENEWING/REBINDING only ciaddr.
            Kind::Select(addr, server) => {
                m.broadcast = self.config.broadcast_flag;
                m.requested_ip = Some(addr);
                m.server_id = Some(server);
            }
            Kind::Reboot(addr) => {
                m.broadcast = self.config.broadcast_flag;
                m.requested_ip = Some(addr);
            }
            Kind::Renew(lease) => {
                m.ciaddr = lease.addr;
                (src, dst) = (lease.addr, lease.server);
            }
            Kind::Rebind(lease) => {
                m.ciaddr = lease.addr;
                src = lease.addr;
            }
        }
        let len = m.buffer_len();
        let out = buf.get_mut(..len)?;
        m.emit(out);
        Some(Transmit { src, dst, len })
    }

    fn emit_one_shot(&self, _now: Instant, shot: OneShot, buf: &mut [u8]) -> Option<Transmit> {
        let id = self.client_id();
        let id = &id[1..1 + usize::from(id[0])];
        let (m, src, dst) = match shot {
            // RFC 2131 §4.4.1 / table 5: DECLINE carries the requested address and server id,
            // ciaddr 0, broadcast.
            OneShot::Decline { addr, server, xid } => {
                let mut m = self.base(MessageType::Decline, xid, 0, id);
                m.requested_ip = Some(addr);
                m.server_id = Some(server);
                m.message = Some(b"address in use (ARP probe)");
                (m, Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST)
            }
            // RFC 2131 §4.4.6: RELEASE unicast to the server, ciaddr set.
            OneShot::Release { addr, server, xid } => {
                let mut m = self.base(MessageType::Release, xid, 0, id);
                m.ciaddr = addr;
                m.server_id = Some(server);
                (m, addr, server)
            }
        };
        let len = m.buffer_len();
        m.emit(buf.get_mut(..len)?);
        Some(Transmit { src, dst, len })
    }
}

/// Which REQUEST/DISCOVER to build.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Discover,
    Select(Ipv4Addr, Ipv4Addr),
    Reboot(Ipv4Addr),
    Renew(Lease),
    Rebind(Lease),
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
