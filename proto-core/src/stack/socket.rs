//! The socket table: slots by handle, the O(1) demultiplexing index, the ready and event
//! queues, and the UDP and TCP socket calls.
//!
//! A slot is `Free`, a UDP socket (its queues live in a separate pool, so the slot stays
//! small), a TCP connection, or a TCP listener (its SYN backlog is the caller's `B`).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub(crate) use super::NIL;
use super::ring::Ring;
use super::table::{Key, Proto};
use super::{Ctx, Events, Interface, Memory, SocketHandle, StackError};
use crate::tcp::{Connection, FourTuple, Listener, State, SynSlot};
use crate::time::Instant;
use crate::wire::EthernetAddress;

pub(crate) const IN_READY: u8 = 1;
pub(crate) const IN_EVENTS: u8 = 2;
pub(crate) const HAS_TIMER: u8 = 4;
/// The application is done with the socket: free the slot once the connection is CLOSED.
pub(crate) const RELEASED: u8 = 8;
/// A connection a listener completed that `tcp_accept` has not returned yet.
pub(crate) const UNACCEPTED: u8 = 16;
/// CONNECTED or CLOSED were already reported.
pub(crate) const SAW_ESTABLISHED: u8 = 32;
pub(crate) const SAW_CLOSED: u8 = 64;

/// Where connections completed by a listener get their buffers (they must exist before
/// `tcp_accept`: data may arrive right after the handshake).
pub trait TcpBuffers<S> {
    /// A receive and a send buffer for a new connection on `local`, or `None` to refuse it
    /// (the peer gets a reset).
    fn take(&mut self, local: SocketAddr) -> Option<(S, S)>;
}

/// [`TcpBuffers`] that allocates two `vec![0; size]`.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct VecBuffers {
    /// Bytes of each buffer.
    pub size: usize,
}

#[cfg(feature = "std")]
impl TcpBuffers<std::vec::Vec<u8>> for VecBuffers {
    fn take(&mut self, _local: SocketAddr) -> Option<(std::vec::Vec<u8>, std::vec::Vec<u8>)> {
        Some((std::vec![0; self.size], std::vec![0; self.size]))
    }
}

/// A bound UDP socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UdpSocket {
    pub(crate) local: SocketAddr,
    /// Its chunk of the UDP pool.
    pub(crate) chunk: u32,
    pub(crate) rx: Ring,
    pub(crate) tx: Ring,
    /// Bytes of the head datagram (UDP header included) already sent as fragments.
    pub(crate) tx_sent: u32,
    pub(crate) tx_ident: u16,
    /// Refuse datagrams above the MTU instead of fragmenting them.
    pub(crate) dont_frag: bool,
}

/// A listener and its queue of completed connections (threaded through `Slot::link`).
pub(crate) struct ListenSocket<B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> {
    pub(crate) listener: Listener<B>,
    pub(crate) head: u32,
    pub(crate) tail: u32,
    pub(crate) queued: u32,
    /// The tail before the last append (scratch for linking).
    pub(crate) tail_prev: u32,
}

/// What a slot holds.
// Slots are the caller's fixed storage (no heap in `no_std`): a connection is held inline,
// whatever the other variants' sizes, so there is nothing to box.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Kind<S: AsRef<[u8]> + AsMut<[u8]>, B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> {
    Free,
    Udp(UdpSocket),
    Tcp(Connection<S>),
    Listen(ListenSocket<B>),
}

/// One socket slot (caller storage; `Slot::default()` is free).
pub struct Slot<S: AsRef<[u8]> + AsMut<[u8]>, B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> {
    pub(crate) generation: u32,
    pub(crate) flags: u8,
    pub(crate) events: u8,
    /// READABLE / WRITABLE already reported and not re-armed by the application touching
    /// the socket (edge-triggered readiness).
    pub(crate) reported: u8,
    /// Free list, or a listener's accept queue.
    pub(crate) link: u32,
    /// The deadline last pushed on the timer heap (valid with `HAS_TIMER`).
    pub(crate) timer: Instant,
    /// A connection's next-hop MAC, cached: valid while the interface's neighbour
    /// generation is `hop_generation` (0 is never current; see `State::neighbor_gen`).
    pub(crate) hop_generation: u32,
    pub(crate) hop_mac: EthernetAddress,
    pub(crate) kind: Kind<S, B>,
}

impl<S: AsRef<[u8]> + AsMut<[u8]>, B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> Default for Slot<S, B> {
    fn default() -> Self {
        Self {
            generation: 0,
            flags: 0,
            events: 0,
            reported: 0,
            link: NIL,
            timer: Instant::ZERO,
            hop_generation: 0,
            hop_mac: EthernetAddress([0; 6]),
            kind: Kind::Free,
        }
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>, B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> Slot<S, B> {
    pub(crate) fn is_free(&self) -> bool {
        matches!(self.kind, Kind::Free)
    }

    /// The index key of this slot.
    pub(crate) fn key(&self) -> Option<Key> {
        self.kind.key()
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>, B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> Kind<S, B> {
    /// The index key of a socket.
    #[inline]
    pub(crate) fn key(&self) -> Option<Key> {
        match self {
            Kind::Free => None,
            Kind::Udp(u) => Some(Key::new(Proto::Udp, u.local, None)),
            Kind::Tcp(c) => {
                let t = c.tuple();
                Some(Key::new(Proto::Tcp, t.local, Some(t.remote)))
            }
            Kind::Listen(l) => Some(Key::new(Proto::Tcp, l.listener.local(), None)),
        }
    }
}

/// The unspecified address of `ip`'s family.
pub(crate) fn unspecified(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// UDP record header in the queues: family (4 or 6), port, 16 address bytes.
pub(crate) const UDP_META: usize = 19;

pub(crate) fn encode_addr(a: SocketAddr) -> [u8; UDP_META] {
    let mut m = [0u8; UDP_META];
    m[1..3].copy_from_slice(&a.port().to_be_bytes());
    match a.ip() {
        IpAddr::V4(v4) => {
            m[0] = 4;
            m[3..7].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            m[0] = 6;
            m[3..19].copy_from_slice(&v6.octets());
        }
    }
    m
}

pub(crate) fn decode_addr(m: &[u8]) -> SocketAddr {
    let port = u16::from_be_bytes([m[1], m[2]]);
    if m[0] == 4 {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(m[3], m[4], m[5], m[6])), port)
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(&m[3..19]);
        SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port)
    }
}

impl<M: Memory> Ctx<'_, M> {
    /// Looks up a slot by key.
    #[inline]
    pub(crate) fn find(&mut self, key: &Key) -> Option<u32> {
        let hash = key.hash(self.st.index.seed);
        self.find_hashed(key, hash)
    }

    /// [`find`](Self::find) with the key's hash (`key.hash(self.st.index.seed)`) known.
    #[inline]
    pub(crate) fn find_hashed(&mut self, key: &Key, hash: u64) -> Option<u32> {
        let p = self.mem.parts();
        let slots = &*p.slots;
        self.st.index.find_hashed(p.index, key, hash, |s| {
            slots.get(s as usize).and_then(Slot::key)
        })
    }

    /// [`find`](Self::find) for a listener's key, through a one-entry cache of the last
    /// listener found (which [`free`](Self::free) clears when it frees that slot: a slot
    /// changes kind only through a free): a server's SYNs and handshake ACKs mostly go to one
    /// listener. A hit is one key comparison, without a look at the slot.
    #[inline(always)]
    pub(crate) fn find_listener(&mut self, key: &Key) -> Option<u32> {
        if let Some((k, i)) = self.st.last_listener
            && k == *key
        {
            return Some(i);
        }
        self.find_listener_indexed(key)
    }

    /// [`find_listener`](Self::find_listener) past its cache: the index, and the cache set.
    #[inline(never)]
    fn find_listener_indexed(&mut self, key: &Key) -> Option<u32> {
        let i = self.find(key)?;
        let s = &self.mem.parts().slots[i as usize];
        if matches!(s.kind, Kind::Listen(_)) {
            self.st.last_listener = Some((*key, i));
        }
        Some(i)
    }

    /// Takes a free slot for `kind` and indexes it under its key.
    pub(crate) fn alloc(&mut self, kind: Kind<M::Buffer, M::Backlog>) -> Result<u32, StackError> {
        let Some(key) = kind.key() else {
            return Err(StackError::InvalidHandle);
        };
        self.alloc_with(&key, || kind)
    }

    /// Takes a free slot, indexes it under `key` and fills it with `make()` (which must have
    /// that key). The value is built straight into the slot, and only once the slot and its
    /// index entry are certain: a connection is large (with inline buffers, kilobytes), and
    /// building it on the stack to move it in afterwards costs more than the rest of a
    /// handshake's bookkeeping.
    #[inline]
    pub(crate) fn alloc_with(
        &mut self,
        key: &Key,
        make: impl FnOnce() -> Kind<M::Buffer, M::Backlog>,
    ) -> Result<u32, StackError> {
        let hash = key.hash(self.st.index.seed);
        self.alloc_hashed(key, hash, make)
    }

    /// [`alloc_with`](Self::alloc_with) with the key's hash known.
    #[inline]
    pub(crate) fn alloc_hashed(
        &mut self,
        key: &Key,
        hash: u64,
        make: impl FnOnce() -> Kind<M::Buffer, M::Backlog>,
    ) -> Result<u32, StackError> {
        self.alloc_made(key, hash, |_| make())
    }

    /// [`alloc_hashed`](Self::alloc_hashed) for a value `make` builds with the buffer
    /// provider (a connection a listener completed: its buffers are taken only once the slot
    /// is certain, and go straight into it), or fails to build (`Kind::Free`: no buffers):
    /// the slot and its index entry are then given back.
    #[inline]
    pub(crate) fn alloc_made(
        &mut self,
        key: &Key,
        hash: u64,
        make: impl FnOnce(&mut dyn TcpBuffers<M::Buffer>) -> Kind<M::Buffer, M::Backlog>,
    ) -> Result<u32, StackError> {
        let i = if self.st.free_head != NIL {
            self.st.free_head
        } else if (self.st.fresh as usize) < self.mem.parts().slots.len() && self.st.fresh < NIL - 1
        {
            self.st.fresh
        } else {
            return Err(StackError::NoFreeSlot);
        };
        if !self.st.index.insert_hashed(self.mem.parts().index, hash, i) {
            return Err(StackError::NoFreeSlot);
        }
        let p = self.mem.parts();
        let s = &mut p.slots[i as usize];
        let next = s.link;
        // Free slots hold `Kind::Free`: nothing to drop, so the new value is written in place.
        if let Kind::Free = s.kind {
            s.kind = make(p.buffers);
        }
        if let Kind::Free = s.kind {
            let slots = &*p.slots;
            self.st.index.remove(p.index, key, i, |s| {
                slots.get(s as usize).and_then(Slot::key)
            });
            return Err(StackError::NoFreeSlot);
        }
        let s = &mut p.slots[i as usize];
        debug_assert_eq!(s.key().as_ref(), Some(key));
        if self.st.free_head == i {
            self.st.free_head = next;
        } else {
            self.st.fresh += 1;
        }
        // A freed slot may still sit in the ready or event queue: those flags stay true.
        s.flags &= IN_READY | IN_EVENTS;
        s.events = 0;
        s.reported = 0;
        s.link = NIL;
        s.hop_generation = 0;
        self.st.used += 1;
        Ok(i)
    }

    /// Frees slot `i`: unindexes it, returns a UDP chunk, bumps the generation.
    pub(crate) fn free(&mut self, i: u32) {
        let Some(key) = self.mem.parts().slots[i as usize].key() else {
            return;
        };
        let p = self.mem.parts();
        let slots = &*p.slots;
        self.st.index.remove(p.index, &key, i, |s| {
            slots.get(s as usize).and_then(Slot::key)
        });
        let s = &mut p.slots[i as usize];
        if let Kind::Udp(u) = &s.kind {
            let c = u.chunk as usize;
            let at = c * p.udp_chunk;
            p.udp[at..at + 4].copy_from_slice(&self.st.udp_free.to_le_bytes());
            self.st.udp_free = u.chunk;
        }
        s.kind = Kind::Free;
        s.generation = s.generation.wrapping_add(1);
        if self.st.last_listener.is_some_and(|(_, l)| l == i) {
            self.st.last_listener = None;
        }
        // Flags IN_READY / IN_EVENTS stay until those queues pop the slot (they skip free
        // slots); the timer entry goes stale.
        s.flags &= IN_READY | IN_EVENTS;
        s.events = 0;
        s.link = self.st.free_head;
        self.st.free_head = i;
        self.st.used -= 1;
    }

    /// Puts slot `i` on the ready queue (it may have something to send).
    #[inline]
    pub(crate) fn mark_ready(&mut self, i: u32) {
        let p = self.mem.parts();
        let s = &mut p.slots[i as usize];
        if s.flags & IN_READY == 0 && self.st.ready.push(p.ready, i) {
            s.flags |= IN_READY;
        }
    }

    /// Adds `ev` to slot `i`'s events and queues it for `poll_events`.
    #[inline]
    pub(crate) fn push_event(&mut self, i: u32, ev: Events) {
        if ev.is_empty() {
            return;
        }
        let p = self.mem.parts();
        let s = &mut p.slots[i as usize];
        s.events |= ev.bits();
        if s.flags & IN_EVENTS == 0 && self.st.events.push(p.events, i) {
            s.flags |= IN_EVENTS;
        }
    }

    /// Records slot `i`'s next deadline on the heap if it changed.
    pub(crate) fn set_timer(&mut self, i: u32, at: Option<Instant>) {
        let p = self.mem.parts();
        let s = &mut p.slots[i as usize];
        match at {
            None => s.flags &= !HAS_TIMER,
            Some(t) => {
                if s.flags & HAS_TIMER != 0 && s.timer == t {
                    return;
                }
                s.flags |= HAS_TIMER;
                s.timer = t;
                let slots = &*p.slots;
                let ok = self.st.heap.push(p.timers, t, i, |at, j| {
                    slots
                        .get(j as usize)
                        .is_some_and(|s| s.flags & HAS_TIMER != 0 && s.timer == at)
                });
                if !ok {
                    // Cannot happen with 2 heap entries per slot; fall back to polling.
                    self.mark_ready(i);
                }
            }
        }
    }

    /// Moves every slot whose deadline passed onto the ready queue.
    pub(crate) fn fire_timers(&mut self, now: Instant) {
        while let Some((at, i)) = self.st.heap.peek(self.mem.parts().timers) {
            if at > now {
                break;
            }
            self.st.heap.pop(self.mem.parts().timers);
            let s = &mut self.mem.parts().slots[i as usize];
            if s.flags & HAS_TIMER != 0 && s.timer == at {
                s.flags &= !HAS_TIMER;
                self.mark_ready(i);
            }
        }
    }

    /// Events of a connection after input, and the CONNECTED / CLOSED transitions.
    pub(crate) fn conn_events(&mut self, i: u32) {
        let s = &mut self.mem.parts().slots[i as usize];
        let Kind::Tcp(c) = &s.kind else {
            return;
        };
        let st = c.state();
        let mut level = 0;
        if c.may_recv() {
            level |= Events::READABLE.bits();
        }
        if st.is_synchronized() && c.send_capacity() > 0 {
            level |= Events::WRITABLE.bits();
        }
        // Edge-triggered: report what became true since the application last touched it.
        let mut ev = Events(level & !s.reported);
        s.reported |= level;
        if st.is_synchronized() && s.flags & SAW_ESTABLISHED == 0 {
            s.flags |= SAW_ESTABLISHED;
            ev = ev | Events::CONNECTED;
        }
        if matches!(st, State::Closed | State::TimeWait) && s.flags & SAW_CLOSED == 0 {
            s.flags |= SAW_CLOSED;
            ev = ev | Events::CLOSED | Events::READABLE;
        }
        if s.flags & RELEASED == 0 {
            self.push_event(i, ev);
        }
    }

    /// A handle's slot, checked.
    pub(crate) fn slot(
        &mut self,
        h: SocketHandle,
    ) -> Result<&mut Slot<M::Buffer, M::Backlog>, StackError> {
        match self.mem.parts().slots.get_mut(h.index as usize) {
            Some(s) if s.generation == h.generation && !s.is_free() => Ok(s),
            _ => Err(StackError::InvalidHandle),
        }
    }

    fn handle(&mut self, i: u32) -> SocketHandle {
        SocketHandle {
            index: i,
            generation: self.mem.parts().slots[i as usize].generation,
        }
    }

    /// The local address to use toward `remote` when the caller gave none (or an
    /// unspecified one).
    pub(crate) fn source_for(&self, remote: IpAddr) -> Result<IpAddr, StackError> {
        match remote {
            // RFC 2131 §4.1: without an address, a DHCP client broadcasts from 0.0.0.0.
            IpAddr::V4(r) => match self.cfg.ipv4 {
                Some(c) => Ok(IpAddr::V4(c.address())),
                None if r == Ipv4Addr::BROADCAST => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                None => Err(StackError::Unaddressable),
            },
            IpAddr::V6(r) => {
                if crate::wire::ipv6::is_link_local(r) {
                    return Ok(IpAddr::V6(crate::wire::ipv6::link_local_from_mac(
                        self.cfg.mac,
                    )));
                }
                self.cfg
                    .ipv6
                    .iter()
                    .flatten()
                    .next()
                    .map(|(a, _)| IpAddr::V6(*a))
                    .ok_or(StackError::Unaddressable)
            }
        }
    }

    fn is_ours(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.cfg.ipv4.is_some_and(|c| c.address() == v4),
            IpAddr::V6(v6) => self.is_our_v6(v6),
        }
    }

    /// An ephemeral port (RFC 6056 §3.3.3, "double-hash": a keyed offset per destination
    /// plus a counter) for which `key` with that local port is free, and that key's index
    /// hash. The offset and every candidate's index hash share one keyed hash of the
    /// addresses (the ports enter the index hash last).
    fn ephemeral(&mut self, key: Key) -> Result<(u16, u64), StackError> {
        const LOW: u32 = 49152;
        const COUNT: u32 = 65536 - LOW;
        let seed = self.st.index.seed;
        let addrs = key.hash_addrs(seed);
        // The offset: the addresses and the remote port, under another key than the index's.
        let offset = (Key::hash_ports(addrs, key.ports() & 0xffff, seed ^ 0x6056) as u32) % COUNT;
        for _ in 0..COUNT {
            self.st.port_counter = self.st.port_counter.wrapping_add(1);
            let port = (LOW + (offset + u32::from(self.st.port_counter)) % COUNT) as u16;
            let key = key.with_local_port(port);
            let hash = Key::hash_ports(addrs, key.ports(), seed);
            debug_assert_eq!(hash, key.hash(seed));
            if self.find_hashed(&key, hash).is_none() {
                return Ok((port, hash));
            }
        }
        Err(StackError::NoEphemeralPort)
    }

    /// Slot of a UDP socket.
    pub(crate) fn udp_slot(&mut self, h: SocketHandle) -> Result<&mut UdpSocket, StackError> {
        match &mut self.slot(h)?.kind {
            Kind::Udp(u) => Ok(u),
            _ => Err(StackError::InvalidHandle),
        }
    }
}

/// The bytes of UDP chunk `c`: (receive queue, send queue).
pub(crate) fn udp_bufs(udp: &mut [u8], chunk_len: usize, c: u32) -> (&mut [u8], &mut [u8]) {
    let at = c as usize * chunk_len;
    udp[at..at + chunk_len].split_at_mut(chunk_len / 2)
}

/// Socket calls.
impl<M: Memory> Interface<M> {
    /// Binds a UDP socket to `local` (port 0 picks an ephemeral port; the address may be
    /// unspecified to receive on all of ours).
    pub fn udp_bind(&mut self, local: SocketAddr) -> Result<SocketHandle, StackError> {
        let mut c = self.ctx();
        if !local.ip().is_unspecified() && !c.is_ours(local.ip()) {
            return Err(StackError::Unaddressable);
        }
        let mut local = local;
        if local.port() == 0 {
            let ip = local.ip();
            let (port, _) = c.ephemeral(Key::new(Proto::Udp, SocketAddr::new(ip, 0), None))?;
            local.set_port(port);
        }
        let key = Key::new(Proto::Udp, local, None);
        if c.find(&key).is_some() {
            return Err(StackError::AddrInUse);
        }
        let p = c.mem.parts();
        let chunks = p.udp.len().checked_div(p.udp_chunk).unwrap_or(0) as u32;
        let chunk = if c.st.udp_free != NIL {
            c.st.udp_free
        } else if c.st.udp_fresh < chunks {
            c.st.udp_fresh
        } else {
            return Err(StackError::NoFreeSlot);
        };
        let sock = UdpSocket {
            local,
            chunk,
            rx: Ring::EMPTY,
            tx: Ring::EMPTY,
            tx_sent: 0,
            tx_ident: 0,
            dont_frag: false,
        };
        let i = c.alloc(Kind::Udp(sock))?;
        if c.st.udp_free == chunk {
            let p = c.mem.parts();
            let at = chunk as usize * p.udp_chunk;
            let b = &p.udp[at..at + 4];
            c.st.udp_free = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        } else {
            c.st.udp_fresh += 1;
        }
        Ok(c.handle(i))
    }

    /// The address a UDP socket is bound to.
    pub fn udp_local(&mut self, h: SocketHandle) -> Result<SocketAddr, StackError> {
        Ok(self.ctx().udp_slot(h)?.local)
    }

    /// Sets Don't Fragment on a UDP socket's datagrams: `udp_send_to` then refuses
    /// datagrams that do not fit the MTU (RFC 1191 style) instead of fragmenting them.
    pub fn udp_set_dont_fragment(&mut self, h: SocketHandle, df: bool) -> Result<(), StackError> {
        self.ctx().udp_slot(h)?.dont_frag = df;
        Ok(())
    }

    /// Queues a datagram to `remote`; it leaves on the next `egress` calls (fragmented over
    /// IPv4 when larger than the MTU and Don't Fragment is clear).
    pub fn udp_send_to(
        &mut self,
        h: SocketHandle,
        remote: SocketAddr,
        data: &[u8],
    ) -> Result<(), StackError> {
        let mut c = self.ctx();
        let mtu = c.cfg.mtu;
        let chunk_len = c.mem.parts().udp_chunk;
        let u = *c.udp_slot(h)?;
        let ip_hdr = if remote.is_ipv4() { 20 } else { 40 };
        if data.len() > 65_507
            || (u.local.is_ipv4() != remote.is_ipv4()) && !u.local.ip().is_unspecified()
        {
            return Err(if data.len() > 65_507 {
                StackError::TooBig
            } else {
                StackError::Unaddressable
            });
        }
        // IPv6 is not fragmented here; IPv4 only with DF clear.
        if data.len() + 8 + ip_hdr > mtu && (u.dont_frag || remote.is_ipv6()) {
            return Err(StackError::TooBig);
        }
        c.source_for(remote.ip())?;
        let (_, tx) = udp_bufs(c.mem.parts().udp, chunk_len, u.chunk);
        let mut ring = u.tx;
        if !ring.push(tx, &[&encode_addr(remote), data]) {
            return Err(StackError::QueueFull);
        }
        c.udp_slot(h)?.tx = ring;
        c.mark_ready(h.index);
        Ok(())
    }

    /// Takes the oldest received datagram into `buf` (truncated to fit): its length before
    /// truncation and its source. `Ok(None)` when none is queued.
    pub fn udp_recv_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<Option<(usize, SocketAddr)>, StackError> {
        let mut c = self.ctx();
        let chunk_len = c.mem.parts().udp_chunk;
        let u = *c.udp_slot(h)?;
        let (rx, _) = udp_bufs(c.mem.parts().udp, chunk_len, u.chunk);
        let mut ring = u.rx;
        let Some(rec) = ring.peek(rx) else {
            return Ok(None);
        };
        let from = decode_addr(rec);
        let data = &rec[UDP_META..];
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        let len = data.len();
        ring.pop(rx);
        c.udp_slot(h)?.rx = ring;
        Ok(Some((len, from)))
    }

    /// Closes a UDP socket (queued datagrams are dropped).
    pub fn udp_close(&mut self, h: SocketHandle) -> Result<(), StackError> {
        let mut c = self.ctx();
        c.udp_slot(h)?;
        c.free(h.index);
        Ok(())
    }

    /// Listens on `local` (the address may be unspecified) with `backlog` as its SYN
    /// backlog storage (e.g. `vec![None; 128]`); past it, SYN cookies answer.
    pub fn tcp_listen(
        &mut self,
        local: SocketAddr,
        backlog: M::Backlog,
    ) -> Result<SocketHandle, StackError> {
        let mut c = self.ctx();
        if local.port() == 0 || (!local.ip().is_unspecified() && !c.is_ours(local.ip())) {
            return Err(StackError::Unaddressable);
        }
        let key = Key::new(Proto::Tcp, local, None);
        if c.find(&key).is_some() {
            return Err(StackError::AddrInUse);
        }
        let listener = Listener::new(&c.cfg.tcp, local, c.cfg.tcp_rx_buffer, backlog);
        let i = c.alloc(Kind::Listen(ListenSocket {
            listener,
            head: NIL,
            tail: NIL,
            queued: 0,
            tail_prev: NIL,
        }))?;
        Ok(c.handle(i))
    }

    /// The next connection a listener completed, if any (its buffers came from the
    /// memory's [`TcpBuffers`]). It may already hold data, or have been closed by the peer.
    pub fn tcp_accept(
        &mut self,
        listener: SocketHandle,
    ) -> Result<Option<SocketHandle>, StackError> {
        let mut c = self.ctx();
        let Kind::Listen(l) = &mut c.slot(listener)?.kind else {
            return Err(StackError::InvalidHandle);
        };
        if l.head == NIL {
            return Ok(None);
        }
        let i = l.head;
        l.queued -= 1;
        let next = c.mem.parts().slots[i as usize].link;
        let Kind::Listen(l) = &mut c.mem.parts().slots[listener.index as usize].kind else {
            return Err(StackError::InvalidHandle);
        };
        l.head = next;
        if next == NIL {
            l.tail = NIL;
        } else {
            // More to accept: keep the listener's ACCEPT event up.
            c.push_event(listener.index, Events::ACCEPT);
        }
        let s = &mut c.mem.parts().slots[i as usize];
        s.link = NIL;
        s.flags &= !UNACCEPTED;
        // Report what happened before accept.
        s.flags &= !(SAW_CLOSED | SAW_ESTABLISHED);
        s.flags |= SAW_ESTABLISHED;
        c.conn_events(i);
        Ok(Some(c.handle(i)))
    }

    /// Opens a connection to `remote` (RFC 9293 §3.10.1) from `local` (default: our address
    /// of that family and an ephemeral port, RFC 6056) with the given buffers. The SYN leaves
    /// on the next `egress`; `Events::CONNECTED` reports ESTABLISHED.
    #[inline]
    pub fn tcp_connect(
        &mut self,
        remote: SocketAddr,
        local: Option<SocketAddr>,
        now: Instant,
        rx: M::Buffer,
        tx: M::Buffer,
    ) -> Result<SocketHandle, StackError> {
        let mut c = self.ctx();
        if remote.ip().is_unspecified() || remote.port() == 0 {
            return Err(StackError::Unaddressable);
        }
        // Routable: the last destination resolved under the current configuration and
        // neighbour generation is, or else routing says.
        let cached =
            c.st.last_hop
                .is_some_and(|(ip, _, g)| ip == remote.ip() && g == c.st.neighbor_gen);
        if !cached {
            c.route(remote.ip())?;
        }
        let ip = match local {
            Some(l) if !l.ip().is_unspecified() => {
                if !c.is_ours(l.ip()) {
                    return Err(StackError::Unaddressable);
                }
                l.ip()
            }
            _ => c.source_for(remote.ip())?,
        };
        // An ephemeral port is one `ephemeral` found free for this key: no second lookup
        // (and its hash serves the insertion).
        let (port, free) = match local.map(|l| l.port()).unwrap_or(0) {
            0 => {
                let key = Key::new(Proto::Tcp, SocketAddr::new(ip, 0), Some(remote));
                let (port, hash) = c.ephemeral(key)?;
                (port, Some(hash))
            }
            p => (p, None),
        };
        let tuple = FourTuple {
            local: SocketAddr::new(ip, port),
            remote,
        };
        let key = Key::new(Proto::Tcp, tuple.local, Some(remote));
        let hash = match free {
            Some(hash) => hash,
            None => {
                let hash = key.hash(c.st.index.seed);
                if c.find_hashed(&key, hash).is_some() {
                    return Err(StackError::AddrInUse);
                }
                hash
            }
        };
        let cfg = &c.cfg.tcp;
        let pre = c.conn_cfg;
        let i = c.alloc_hashed(&key, hash, || {
            Kind::Tcp(Connection::connect_with(cfg, pre, tuple, now, rx, tx))
        })?;
        c.mark_ready(i);
        Ok(c.handle(i))
    }

    /// The connection behind a handle, for `send`/`recv`/`close`/`state`. The socket is put
    /// on the ready queue (whatever the caller does may give it something to send), so call
    /// `egress` afterwards.
    pub fn tcp(&mut self, h: SocketHandle) -> Result<&mut Connection<M::Buffer>, StackError> {
        let mut c = self.ctx();
        if !matches!(c.slot(h)?.kind, Kind::Tcp(_)) {
            return Err(StackError::InvalidHandle);
        }
        c.mark_ready(h.index);
        c.mem.parts().slots[h.index as usize].reported = 0;
        match &mut self.mem.parts().slots[h.index as usize].kind {
            Kind::Tcp(conn) => Ok(conn),
            _ => Err(StackError::InvalidHandle),
        }
    }

    /// The application is done with a connection or listener. A connection still open is
    /// closed gracefully (its buffered data and FIN still go out); its slot frees itself when
    /// it reaches CLOSED (after TIME-WAIT), and its buffers are dropped then. A listener
    /// stops at once; the connections it completed that were never accepted are reset.
    /// The handle is invalid from the moment the slot is freed.
    pub fn tcp_release(&mut self, h: SocketHandle) -> Result<(), StackError> {
        let mut c = self.ctx();
        let s = c.slot(h)?;
        match &mut s.kind {
            Kind::Tcp(conn) => {
                conn.close();
                s.flags |= RELEASED;
                s.events = 0;
                c.mark_ready(h.index);
                Ok(())
            }
            Kind::Listen(l) => {
                let mut next = l.head;
                c.free(h.index);
                let mut guard = c.mem.parts().slots.len();
                while next != NIL && guard > 0 {
                    guard -= 1;
                    let s = &mut c.mem.parts().slots[next as usize];
                    let after = s.link;
                    if let Kind::Tcp(conn) = &mut s.kind {
                        conn.abort();
                        s.flags |= RELEASED;
                        s.flags &= !UNACCEPTED;
                    }
                    s.link = NIL;
                    c.mark_ready(next);
                    next = after;
                }
                Ok(())
            }
            _ => Err(StackError::InvalidHandle),
        }
    }

    /// The state of a TCP connection (a shortcut for `tcp(h)?.state()` that does not mark
    /// it ready).
    pub fn tcp_state(&mut self, h: SocketHandle) -> Result<State, StackError> {
        match &self.ctx().slot(h)?.kind {
            Kind::Tcp(conn) => Ok(conn.state()),
            Kind::Listen(_) => Ok(State::Listen),
            _ => Err(StackError::InvalidHandle),
        }
    }
}
