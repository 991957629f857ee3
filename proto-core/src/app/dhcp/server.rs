//! The DHCPv4 server (RFC 2131 §4.3): an address pool, static reservations by MAC, a lease
//! table with expiry, OFFER/ACK/NAK, RELEASE, DECLINE and INFORM.
//!
//! Clients are keyed by MAC address (`chaddr`); the client identifier is echoed (RFC 6842)
//! but not used as the key. Replies are broadcast unless they go to a relay (`giaddr`) or to
//! a configured client (`ciaddr`): RFC 2131 §4.1 allows broadcasting when the server cannot
//! unicast to a client without an address, and a sans-IO server cannot add the ARP entry that
//! would need.

use core::net::Ipv4Addr;

use super::{AddrList, CLIENT_PORT, DhcpRepr, MessageType, SERVER_PORT, client::SmallBytes};
use crate::time::{Duration, Instant};
use crate::wire::EthernetAddress;

/// [`DhcpServer`] settings.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// Our address: the server identifier (option 54) and the source of replies.
    pub server_addr: Ipv4Addr,
    /// First address of the pool.
    pub pool_start: Ipv4Addr,
    /// Last address of the pool (inclusive).
    pub pool_end: Ipv4Addr,
    /// Option 1.
    pub subnet_mask: Ipv4Addr,
    /// Option 3.
    pub router: Option<Ipv4Addr>,
    /// Option 6.
    pub dns_servers: AddrList,
    /// Option 42.
    pub ntp_servers: AddrList,
    /// Option 15.
    pub domain: Option<SmallBytes>,
    /// Lease duration granted (option 51); T1 and T2 are 1/2 and 7/8 of it.
    pub lease_time: Duration,
    /// How long an OFFER holds its address for the client.
    pub offer_hold: Duration,
    /// How long a DECLINEd address stays out of the pool (RFC 2131 §4.3.3).
    pub decline_hold: Duration,
}

impl ServerConfig {
    /// A /24-style config: pool `pool_start..=pool_end`, one-hour leases, offers held 60 s,
    /// declined addresses held 10 minutes.
    pub fn new(
        server_addr: Ipv4Addr,
        pool_start: Ipv4Addr,
        pool_end: Ipv4Addr,
        subnet_mask: Ipv4Addr,
    ) -> Self {
        Self {
            server_addr,
            pool_start,
            pool_end,
            subnet_mask,
            router: None,
            dns_servers: AddrList::new(),
            ntp_servers: AddrList::new(),
            domain: None,
            lease_time: Duration::from_secs(3600),
            offer_hold: Duration::from_secs(60),
            decline_hold: Duration::from_secs(600),
        }
    }
}

/// A static address for a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// The client.
    pub mac: EthernetAddress,
    /// Its address (inside or outside the pool, but inside the subnet).
    pub addr: Ipv4Addr,
}

/// What a lease-table entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    /// Offered, not yet requested.
    Offered,
    /// Acknowledged: the client uses it.
    Bound,
    /// Declined by a client (in use by someone unknown): kept out of the pool.
    Declined,
}

/// An entry of the lease table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The client.
    pub mac: EthernetAddress,
    /// The address.
    pub addr: Ipv4Addr,
    /// What it is.
    pub state: BindingState,
    /// When it stops holding the address.
    pub expires: Instant,
}

/// A reply to send from port 67.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The destination address (`255.255.255.255`, a relay or the client's `ciaddr`).
    pub dst: Ipv4Addr,
    /// 67 for a relay, else 68.
    pub dst_port: u16,
    /// Bytes written into the buffer.
    pub len: usize,
}

/// A DHCPv4 server with a lease table of `N` entries and `R` reservations.
///
/// When the table is full the oldest expired entry is reused; with none expired, new clients
/// get no OFFER until one expires (the pool is as good as exhausted). Call
/// [`handle`](Self::handle) for every datagram to port 67 and send what it returns; there are
/// no timers (expiry is checked against `now` on use).
#[derive(Debug, Clone)]
pub struct DhcpServer<const N: usize, const R: usize> {
    config: ServerConfig,
    reservations: [Option<Reservation>; R],
    bindings: [Option<Binding>; N],
}

impl<const N: usize, const R: usize> DhcpServer<N, R> {
    /// A server with an empty lease table.
    pub fn new(config: ServerConfig) -> Self {
        Self {
            config,
            reservations: [None; R],
            bindings: [None; N],
        }
    }

    /// Adds a reservation; false when all `R` slots are taken.
    pub fn reserve(&mut self, reservation: Reservation) -> bool {
        match self.reservations.iter_mut().find(|r| r.is_none()) {
            Some(slot) => {
                *slot = Some(reservation);
                true
            }
            None => false,
        }
    }

    /// The live entries of the lease table.
    pub fn bindings(&self, now: Instant) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .flatten()
            .filter(move |b| b.expires > now)
    }

    fn in_subnet(&self, addr: Ipv4Addr) -> bool {
        let mask = self.config.subnet_mask.to_bits();
        addr.to_bits() & mask == self.config.server_addr.to_bits() & mask
    }

    fn in_pool(&self, addr: Ipv4Addr) -> bool {
        (self.config.pool_start..=self.config.pool_end).contains(&addr)
    }

    fn reserved_for(&self, mac: EthernetAddress) -> Option<Ipv4Addr> {
        self.reservations
            .iter()
            .flatten()
            .find(|r| r.mac == mac)
            .map(|r| r.addr)
    }

    fn slot_of(&self, now: Instant, mac: EthernetAddress) -> Option<usize> {
        self.bindings.iter().position(|b| {
            b.is_some_and(|b| b.mac == mac && b.expires > now && b.state != BindingState::Declined)
        })
    }

    /// True when `addr` may go to `mac`: not ours, not held by another client or a decline,
    /// not reserved for another MAC.
    fn available(&self, now: Instant, addr: Ipv4Addr, mac: EthernetAddress) -> bool {
        addr != self.config.server_addr
            && !self.bindings.iter().flatten().any(|b| {
                b.addr == addr
                    && b.expires > now
                    && (b.mac != mac || b.state == BindingState::Declined)
            })
            && !self
                .reservations
                .iter()
                .flatten()
                .any(|r| r.addr == addr && r.mac != mac)
    }

    /// Picks an address for `mac` (RFC 2131 §4.3.1): its reservation, its current binding, the
    /// address it asks for, or the first free one in the pool.
    fn choose(
        &self,
        now: Instant,
        mac: EthernetAddress,
        requested: Option<Ipv4Addr>,
    ) -> Option<Ipv4Addr> {
        if let Some(addr) = self.reserved_for(mac) {
            return self.available(now, addr, mac).then_some(addr);
        }
        if let Some(i) = self.slot_of(now, mac) {
            return self.bindings[i].map(|b| b.addr);
        }
        if let Some(addr) = requested.filter(|&a| self.in_pool(a) && self.available(now, a, mac)) {
            return Some(addr);
        }
        // At most N + R addresses are taken, so a free one lies among the first N + R + 2
        // (the server's own address may be in the pool too): the scan is bounded.
        let start = self.config.pool_start.to_bits();
        let end = self.config.pool_end.to_bits();
        let span = u64::from(end.saturating_sub(start)) + 1;
        let tries = span.min((N + R + 2) as u64) as u32;
        (0..tries)
            .map(|i| Ipv4Addr::from_bits(start + i))
            .find(|&a| self.available(now, a, mac))
    }

    /// Records `mac` -> `addr` in `state` until `expires`, reusing its entry, a free one or
    /// the oldest expired one. False when the table is full of live entries.
    fn bind(
        &mut self,
        now: Instant,
        mac: EthernetAddress,
        addr: Ipv4Addr,
        state: BindingState,
        expires: Instant,
    ) -> bool {
        let slot = self
            .slot_of(now, mac)
            .or_else(|| self.bindings.iter().position(|b| b.is_none()))
            .or_else(|| {
                self.bindings
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| b.filter(|b| b.expires <= now).map(|b| (i, b.expires)))
                    .min_by_key(|&(_, e)| e)
                    .map(|(i, _)| i)
            });
        match slot {
            Some(i) => {
                self.bindings[i] = Some(Binding {
                    mac,
                    addr,
                    state,
                    expires,
                });
                true
            }
            None => false,
        }
    }

    fn unbind(&mut self, mac: EthernetAddress, addr: Ipv4Addr) {
        for slot in self.bindings.iter_mut() {
            if slot.is_some_and(|b| {
                b.mac == mac && b.addr == addr && b.state != BindingState::Declined
            }) {
                *slot = None;
            }
        }
    }

    /// Takes a datagram received on port 67; writes the reply, if any, into `out` (576 bytes
    /// always suffice) and says where to send it.
    pub fn handle(&mut self, now: Instant, payload: &[u8], out: &mut [u8]) -> Option<Reply> {
        let msg = DhcpRepr::parse_bytes(payload).ok()?;
        let mac = msg.client_hw_addr;
        match msg.message_type {
            MessageType::Discover => {
                let addr = self.choose(now, mac, msg.requested_ip)?;
                let existing = self.slot_of(now, mac).and_then(|i| self.bindings[i]);
                let (state, expires) = match existing {
                    Some(b) if b.addr == addr && b.state == BindingState::Bound => {
                        (BindingState::Bound, b.expires)
                    }
                    _ => (BindingState::Offered, now + self.config.offer_hold),
                };
                if !self.bind(now, mac, addr, state, expires) {
                    return None;
                }
                self.reply(&msg, MessageType::Offer, addr, out)
            }
            MessageType::Request => self.request(now, &msg, out),
            MessageType::Decline => {
                // RFC 2131 §4.3.3: the address is in use by someone else; keep it out.
                let addr = msg.requested_ip?;
                if msg.server_id != Some(self.config.server_addr) {
                    return None;
                }
                if let Some(i) = self
                    .bindings
                    .iter()
                    .position(|b| b.is_some_and(|b| b.mac == mac && b.addr == addr))
                {
                    self.bindings[i] = Some(Binding {
                        mac,
                        addr,
                        state: BindingState::Declined,
                        expires: now + self.config.decline_hold,
                    });
                }
                None
            }
            MessageType::Release => {
                // RFC 2131 §4.3.4.
                if msg.server_id == Some(self.config.server_addr) {
                    self.unbind(mac, msg.ciaddr);
                }
                None
            }
            MessageType::Inform => {
                // RFC 2131 §4.3.5: configuration only, no lease, no yiaddr, to ciaddr.
                if msg.ciaddr.is_unspecified() {
                    return None;
                }
                self.reply(&msg, MessageType::Ack, Ipv4Addr::UNSPECIFIED, out)
            }
            _ => None,
        }
    }

    /// DHCPREQUEST in its three forms (RFC 2131 §4.3.2).
    fn request(&mut self, now: Instant, msg: &DhcpRepr<'_>, out: &mut [u8]) -> Option<Reply> {
        let mac = msg.client_hw_addr;
        let lease_end = now + self.config.lease_time;
        let binding = self.slot_of(now, mac).and_then(|i| self.bindings[i]);
        if let Some(server) = msg.server_id {
            // SELECTING: the client chose a server; if not us, our offer is void.
            if server != self.config.server_addr {
                if let Some(b) = binding.filter(|b| b.state == BindingState::Offered) {
                    self.unbind(mac, b.addr);
                }
                return None;
            }
            let addr = msg.requested_ip?;
            return match binding {
                Some(b)
                    if b.addr == addr
                        && self.bind(now, mac, addr, BindingState::Bound, lease_end) =>
                {
                    self.reply(msg, MessageType::Ack, addr, out)
                }
                _ => self.reply(msg, MessageType::Nak, Ipv4Addr::UNSPECIFIED, out),
            };
        }
        if msg.ciaddr.is_unspecified() {
            // INIT-REBOOT: confirm a remembered address.
            let addr = msg.requested_ip?;
            let ours = binding.is_some_and(|b| b.addr == addr)
                || self.reserved_for(mac) == Some(addr)
                || (self.reserved_for(mac).is_none() && self.in_pool(addr));
            if self.in_subnet(addr)
                && ours
                && self.available(now, addr, mac)
                && self.bind(now, mac, addr, BindingState::Bound, lease_end)
            {
                return self.reply(msg, MessageType::Ack, addr, out);
            }
            return self.reply(msg, MessageType::Nak, Ipv4Addr::UNSPECIFIED, out);
        }
        // RENEWING / REBINDING: extend the client's binding.
        let addr = msg.ciaddr;
        match binding {
            Some(b) if b.addr == addr && b.state == BindingState::Bound => {
                self.bind(now, mac, addr, BindingState::Bound, lease_end);
                self.reply(msg, MessageType::Ack, addr, out)
            }
            _ => self.reply(msg, MessageType::Nak, Ipv4Addr::UNSPECIFIED, out),
        }
    }

    /// Builds an OFFER, ACK or NAK to `msg` (RFC 2131 §4.3.1 table 3).
    fn reply(
        &self,
        msg: &DhcpRepr<'_>,
        message_type: MessageType,
        yiaddr: Ipv4Addr,
        out: &mut [u8],
    ) -> Option<Reply> {
        let c = &self.config;
        let mut r = DhcpRepr::new(message_type, msg.xid, msg.client_hw_addr);
        r.broadcast = msg.broadcast;
        r.giaddr = msg.giaddr;
        r.server_id = Some(c.server_addr);
        r.client_id = msg.client_id;
        let inform = msg.message_type == MessageType::Inform;
        if message_type == MessageType::Nak {
            r.message = Some(b"address not available");
        } else {
            r.yiaddr = yiaddr;
            r.ciaddr = if inform {
                msg.ciaddr
            } else {
                Ipv4Addr::UNSPECIFIED
            };
            r.subnet_mask = Some(c.subnet_mask);
            r.router = c.router;
            r.dns_servers = c.dns_servers;
            r.ntp_servers = c.ntp_servers;
            r.domain_name = c.domain.as_ref().map(|d| d.as_bytes());
            if !inform {
                let secs = u32::try_from(c.lease_time.secs()).unwrap_or(u32::MAX);
                r.lease_time = Some(secs);
                r.renewal_time = Some(secs / 2);
                r.rebinding_time = Some(secs / 8 * 7);
            }
        }
        let len = r.buffer_len();
        r.emit(out.get_mut(..len)?);
        // RFC 2131 §4.1: relay first; a NAK is broadcast; a configured client gets unicast.
        let (dst, dst_port) = if !msg.giaddr.is_unspecified() {
            (msg.giaddr, SERVER_PORT)
        } else if message_type != MessageType::Nak && !msg.ciaddr.is_unspecified() {
            (msg.ciaddr, CLIENT_PORT)
        } else {
            (Ipv4Addr::BROADCAST, CLIENT_PORT)
        };
        Some(Reply { dst, dst_port, len })
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
