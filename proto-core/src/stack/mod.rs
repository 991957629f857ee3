//! The network stack: an [`Interface`] with ARP, IPv4 (fragments, ICMP), IPv6 (NDP, ICMPv6),
//! and UDP and TCP sockets by handle, over one Ethernet link. Sans-IO: frames go in with
//! [`ingress`](Interface::ingress), come out of [`egress`](Interface::egress), and
//! [`poll_at`](Interface::poll_at) says when to call `egress` next if nothing arrives.
//!
//! # Storage
//!
//! Every table is the caller's, fixed at construction, through [`Memory`]: the socket slab,
//! its hash index (2 entries per slot), the timer heap (2 per slot), the ready and event
//! queues (1 per slot), the neighbour cache and its pending queues, the reassembly contexts,
//! the UDP queues and the control-frame queue. When one is full the stack drops and counts
//! ([`Stats`]); it never grows and never panics. With `std`, [`VecMemory`] builds all of them
//! from [`Capacities`].
//!
//! # Driving it
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use core::net::{Ipv4Addr, SocketAddr};
//! use proto_core::stack::{Capacities, Config, Interface, VecMemory};
//! use proto_core::time::Instant;
//! use proto_core::wire::{EthernetAddress, Ipv4Cidr};
//!
//! let cfg = Config::new(EthernetAddress([2, 0, 0, 0, 0, 1]))
//!     .with_ipv4(Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 1), 24).unwrap(), None);
//! let mut iface = Interface::new(cfg, VecMemory::new(&Capacities::default()));
//! let now = Instant::ZERO;
//! let udp = iface.udp_bind("10.0.0.1:7".parse().unwrap()).unwrap();
//! iface.udp_send_to(udp, "10.0.0.2:7".parse().unwrap(), b"hi").unwrap();
//! let mut frame = [0u8; 1514];
//! // The first frame out is the ARP request for 10.0.0.2; the datagram waits for the reply.
//! let n = iface.egress(&mut frame, now);
//! assert!(n > 0);
//! # let _ = iface.ingress(&frame[..n], now);
//! // A runtime: ingress every received frame, then egress until it returns 0, then sleep
//! // until poll_at() or the next frame; wake tasks from poll_events().
//! while iface.egress(&mut frame, now) > 0 {}
//! while let Some((_handle, _events)) = iface.poll_events() {}
//! let _next = iface.poll_at();
//! # }
//! ```
//!
//! RFCs: 826 (ARP), 5227 (announcements), 791 and 815 (IPv4, reassembly), 792 (ICMP), 1122
//! (host requirements), 8200 (IPv6), 4861 (NDP), 4443 (ICMPv6), 6056 (ephemeral ports).

mod echo;
mod egress;
mod frag;
mod ingress;
mod neighbor;
mod ring;
mod socket;
mod stats;
mod table;

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::rand::Rng;
use crate::tcp::SynSlot;
use crate::time::{Duration, Instant};
use crate::wire::{ArpRepr, EtherType, EthernetAddress, EthernetRepr, Ipv4Cidr};

pub use self::echo::{ECHO_QUEUE, EchoReply};
pub use self::frag::FragContext;
pub use self::neighbor::{Neighbor, NeighborConfig};
pub use self::socket::{Slot, TcpBuffers};
pub use self::stats::Stats;
pub use self::table::TimerEntry;

use self::ring::Ring;
use self::table::{Fifo, Index, TimerHeap};

/// The most static IPv6 addresses an interface holds (besides its link-local one).
pub const MAX_IPV6_ADDRS: usize = 4;

/// A token bucket: `per_second` tokens a second, at most `burst` saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: u32,
    /// The bucket size.
    pub burst: u32,
}

/// How an [`Interface`] behaves. Build with [`Config::new`] and the `with_` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Our MAC address.
    pub mac: EthernetAddress,
    /// Our IPv4 address and prefix.
    pub ipv4: Option<Ipv4Cidr>,
    /// The IPv4 default gateway (must be on-link).
    pub gateway: Option<Ipv4Addr>,
    /// Static IPv6 addresses with their on-link prefix length. The link-local address
    /// (`fe80::` + the modified EUI-64 of `mac`, RFC 4862 §5.3) is always there.
    pub ipv6: [Option<(Ipv6Addr, u8)>; MAX_IPV6_ADDRS],
    /// The IPv6 default router.
    pub gateway6: Option<Ipv6Addr>,
    /// The IP MTU (payload of an Ethernet frame), 1500 by default.
    pub mtu: usize,
    /// TTL of IPv4 packets we send (RFC 1122 §3.2.1.7), hop limit of IPv6 ones.
    pub ttl: u8,
    /// The TCP engine's configuration, `secret` included (ISNs, SYN cookies).
    pub tcp: crate::tcp::Config,
    /// Receive buffer size a listener announces in SYN-ACKs (its window scale); the buffers
    /// given to accepted connections should be this large.
    pub tcp_rx_buffer: usize,
    /// Seed of the interface's generator: ephemeral ports (RFC 6056), IPv4 identification,
    /// neighbour retry jitter, and the hash index's key.
    pub seed: u64,
    /// Neighbour cache timing.
    pub neighbor: NeighborConfig,
    /// How long an incomplete IPv4 datagram is kept (RFC 791 suggests 15 s; 30 s as Linux).
    pub frag_timeout: Duration,
    /// ICMP errors and TCP resets for closed ports share this bucket (RFC 1122 §4.2.3.1
    /// allows rate limiting; RFC 4443 §2.4(f) requires it for ICMPv6).
    pub error_rate: RateLimit,
    /// Completed handshakes waiting for `tcp_accept` per listener.
    pub accept_queue: u32,
    /// TCP segmentation offload: the largest IP packet (up to 65,535 bytes) a TCP segment of
    /// new data may fill when the link cuts it into MTU-sized segments itself (a TAP device
    /// with virtio-net headers does). 0, the default, keeps every packet within `mtu`.
    /// [`Interface::egress_segmented`] says which frames need cutting.
    pub tso: usize,
}

/// How the link must cut a frame that [`Interface::egress_segmented`] wrote larger than
/// the MTU (TCP segmentation offload, [`Config::tso`]): into TCP segments of `mss` payload
/// bytes, each with a copy of the first `header_len` bytes (Ethernet, IP and TCP headers),
/// sequence numbers, lengths and checksums adjusted. The frame's checksums are complete, so
/// a link that does nothing also sends a valid (oversized) frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segmentation {
    /// Payload bytes per segment.
    pub mss: u16,
    /// Ethernet + IP + TCP header bytes at the start of the frame.
    pub header_len: u16,
    /// The frame carries IPv6 (else IPv4).
    pub ipv6: bool,
}

/// The largest IP packet a frame to segment may carry (the IPv4 total length's limit; a TAP
/// device's GSO takes no more).
pub const MAX_SEGMENTED_PACKET: usize = 65_535;

/// The length of a `struct virtio_net_hdr` (virtio 1.x §5.1.6, without `num_buffers`): what
/// precedes every frame on a Linux TAP device opened with `IFF_VNET_HDR`.
pub const VIRTIO_NET_HDR_LEN: usize = 10;

impl Segmentation {
    /// The `struct virtio_net_hdr` (little-endian, as virtio 1.x and Linux TAP devices on
    /// little-endian hosts use) for a frame: all zero for one sent as it is; for one to cut,
    /// `gso_type` TCPV4 or TCPV6, `hdr_len` and `gso_size`. `flags` stay 0: our checksums
    /// are complete, so the receiver need not trust a partial one.
    pub fn virtio_net_hdr(seg: Option<Self>) -> [u8; VIRTIO_NET_HDR_LEN] {
        const GSO_TCPV4: u8 = 1;
        const GSO_TCPV6: u8 = 4;
        let mut h = [0u8; VIRTIO_NET_HDR_LEN];
        if let Some(s) = seg {
            h[1] = if s.ipv6 { GSO_TCPV6 } else { GSO_TCPV4 };
            h[2..4].copy_from_slice(&s.header_len.to_le_bytes());
            h[4..6].copy_from_slice(&s.mss.to_le_bytes());
        }
        h
    }

    /// How a frame larger than `mtu` (IP bytes) would be cut into TCP segments of `mss`
    /// payload bytes, checked: an untagged Ethernet frame of IPv4 (no options beyond its
    /// header length, not a fragment) or IPv6 (TCP as the next header) carrying TCP, whose
    /// lengths agree with the frame, and each piece with its headers within `mtu`. The error
    /// says what does not fit.
    pub fn check(frame: &[u8], mss: u16, mtu: usize) -> Result<Self, &'static str> {
        use crate::wire::{Ipv4Packet, Ipv6Packet, TcpPacket};
        const ETH: usize = 14;
        let ethertype = frame
            .get(12..14)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or("shorter than an Ethernet header")?;
        let ip = &frame[ETH..];
        let (l3, ipv6, l4) = match ethertype {
            0x0800 => {
                let p = Ipv4Packet::new_checked(ip).map_err(|_| "not a valid IPv4 header")?;
                if usize::from(p.total_len()) != ip.len() {
                    return Err("IPv4 total length is not the frame's");
                }
                if p.more_frags() || p.frag_offset() != 0 {
                    return Err("an IPv4 fragment");
                }
                if p.protocol() != crate::wire::IpProtocol::Tcp {
                    return Err("not TCP");
                }
                (p.header_len(), false, &ip[p.header_len()..])
            }
            0x86dd => {
                let p = Ipv6Packet::new_checked(ip).map_err(|_| "not a valid IPv6 header")?;
                if usize::from(p.payload_len()) + 40 != ip.len() {
                    return Err("IPv6 payload length is not the frame's");
                }
                if p.next_header() != crate::wire::IpProtocol::Tcp {
                    return Err("not TCP right after the IPv6 header");
                }
                (40, true, &ip[40..])
            }
            _ => return Err("not untagged IPv4 or IPv6"),
        };
        let tcp = TcpPacket::new_checked(l4).map_err(|_| "not a valid TCP header")?;
        let tcp_header = tcp.header_len();
        if mss == 0 || l3 + tcp_header + usize::from(mss) > mtu {
            return Err("a segment of mss bytes with its headers exceeds the MTU");
        }
        Ok(Self {
            mss,
            header_len: (ETH + l3 + tcp_header) as u16,
            ipv6,
        })
    }
}

impl Config {
    /// Defaults for `mac`: no addresses but the IPv6 link-local one, MTU 1500, TTL 64.
    pub fn new(mac: EthernetAddress) -> Self {
        Self {
            mac,
            ipv4: None,
            gateway: None,
            ipv6: [None; MAX_IPV6_ADDRS],
            gateway6: None,
            mtu: 1500,
            ttl: 64,
            tcp: crate::tcp::Config::default(),
            tcp_rx_buffer: 64 * 1024,
            seed: 0,
            neighbor: NeighborConfig::default(),
            frag_timeout: Duration::from_secs(30),
            error_rate: RateLimit {
                per_second: 1000,
                burst: 50,
            },
            accept_queue: 1024,
            tso: 0,
        }
    }

    /// With TCP segmentation offload up to `max_packet` bytes of IP packet (see
    /// [`Config::tso`]; clamped to [`MAX_SEGMENTED_PACKET`]).
    pub fn with_tso(mut self, max_packet: usize) -> Self {
        self.tso = max_packet.min(MAX_SEGMENTED_PACKET);
        self
    }

    /// With an IPv4 address and optional gateway.
    pub fn with_ipv4(mut self, cidr: Ipv4Cidr, gateway: Option<Ipv4Addr>) -> Self {
        self.ipv4 = Some(cidr);
        self.gateway = gateway;
        self
    }

    /// With a static IPv6 address (ignored when [`MAX_IPV6_ADDRS`] are already set).
    pub fn with_ipv6(mut self, addr: Ipv6Addr, prefix_len: u8) -> Self {
        if let Some(s) = self.ipv6.iter_mut().find(|s| s.is_none()) {
            *s = Some((addr, prefix_len));
        }
        self
    }

    /// With the seed of the generator and the TCP secret derived from it.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        let mut r = Rng::new(seed ^ 0x005e_c2e7);
        r.fill(&mut self.tcp.secret);
        self
    }
}

/// Sizes of the tables [`VecMemory`] allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacities {
    /// Socket slots (TCP connections, listeners and UDP sockets together).
    pub sockets: usize,
    /// UDP sockets that can be bound at once.
    pub udp_sockets: usize,
    /// Bytes of each UDP socket's receive queue and of its send queue.
    pub udp_queue: usize,
    /// Neighbour cache entries.
    pub neighbors: usize,
    /// Bytes of the packets waiting on each unresolved neighbour.
    pub pending_per_neighbor: usize,
    /// IPv4 reassembly contexts.
    pub frag_contexts: usize,
    /// The largest IPv4 datagram payload a context rebuilds.
    pub frag_size: usize,
    /// Bytes of the control-frame queue (ARP/NDP answers, echo replies, ICMP errors, resets).
    pub control_queue: usize,
    /// Receive and send buffer sizes of connections completed by a listener
    /// ([`VecMemory`]'s [`TcpBuffers`]).
    pub tcp_buffer: usize,
}

impl Default for Capacities {
    fn default() -> Self {
        Self {
            sockets: 64,
            udp_sockets: 8,
            udp_queue: 16 * 1024,
            neighbors: 16,
            pending_per_neighbor: 8 * 1024,
            frag_contexts: 4,
            frag_size: 65_535,
            control_queue: 16 * 1024,
            tcp_buffer: 64 * 1024,
        }
    }
}

/// Borrowed views of all of an interface's storage, handed out by [`Memory::parts`].
pub struct Parts<'m, S: AsRef<[u8]> + AsMut<[u8]>, B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> {
    /// The socket slab.
    pub slots: &'m mut [Slot<S, B>],
    /// The hash index: about 2 entries per slot (at most 7/8 full).
    pub index: &'m mut [u32],
    /// The timer heap: 2 entries per slot.
    pub timers: &'m mut [TimerEntry],
    /// The ready queue: 1 entry per slot.
    pub ready: &'m mut [u32],
    /// The event queue: 1 entry per slot.
    pub events: &'m mut [u32],
    /// The neighbour cache.
    pub neighbors: &'m mut [Neighbor],
    /// Pending packets, an equal share per neighbour entry.
    pub pending: &'m mut [u8],
    /// Reassembly contexts.
    pub frags: &'m mut [FragContext],
    /// Reassembly bytes, an equal share per context.
    pub frag_bytes: &'m mut [u8],
    /// UDP queues: `udp_sockets` chunks, each a receive then a send queue.
    pub udp: &'m mut [u8],
    /// Bytes of one UDP socket's chunk (twice its queue size).
    pub udp_chunk: usize,
    /// The control-frame queue.
    pub control: &'m mut [u8],
    /// Where connections completed by a listener get their buffers.
    pub buffers: &'m mut dyn TcpBuffers<S>,
}

/// Views already taken, as a [`Memory`]: for a reassembled datagram, whose bytes stay
/// borrowed from `frag_bytes` while the L4 handlers use the other views.
pub(crate) struct Taken<'m, S: AsRef<[u8]> + AsMut<[u8]>, B: AsRef<[SynSlot]> + AsMut<[SynSlot]>>(
    pub(crate) Parts<'m, S, B>,
);

impl<S: AsRef<[u8]> + AsMut<[u8]>, B: AsRef<[SynSlot]> + AsMut<[SynSlot]>> Memory
    for Taken<'_, S, B>
{
    type Buffer = S;
    type Backlog = B;
    #[inline]
    fn parts(&mut self) -> Parts<'_, S, B> {
        let p = &mut self.0;
        Parts {
            slots: &mut *p.slots,
            index: &mut *p.index,
            timers: &mut *p.timers,
            ready: &mut *p.ready,
            events: &mut *p.events,
            neighbors: &mut *p.neighbors,
            pending: &mut *p.pending,
            frags: &mut *p.frags,
            frag_bytes: &mut *p.frag_bytes,
            udp: &mut *p.udp,
            udp_chunk: p.udp_chunk,
            control: &mut *p.control,
            buffers: &mut *p.buffers,
        }
    }
}

/// The caller's storage for an [`Interface`]: `S` is the TCP buffer type (as in
/// [`Connection<S>`](crate::tcp::Connection)), `B` a listener's SYN backlog.
pub trait Memory {
    /// TCP send/receive buffer storage.
    type Buffer: AsRef<[u8]> + AsMut<[u8]>;
    /// Listener backlog storage.
    type Backlog: AsRef<[SynSlot]> + AsMut<[SynSlot]>;
    /// All tables at once (disjoint borrows).
    fn parts(&mut self) -> Parts<'_, Self::Buffer, Self::Backlog>;
}

#[cfg(feature = "std")]
pub use self::socket::VecBuffers;

/// Heap-backed [`Memory`] for `std` callers (the one place the stack allocates, and only
/// here at construction, and for the buffers of connections a listener completes).
#[cfg(feature = "std")]
pub struct VecMemory {
    slots: std::vec::Vec<Slot<std::vec::Vec<u8>, std::vec::Vec<SynSlot>>>,
    index: std::vec::Vec<u32>,
    timers: std::vec::Vec<TimerEntry>,
    ready: std::vec::Vec<u32>,
    events: std::vec::Vec<u32>,
    neighbors: std::vec::Vec<Neighbor>,
    pending: std::vec::Vec<u8>,
    frags: std::vec::Vec<FragContext>,
    frag_bytes: std::vec::Vec<u8>,
    udp: std::vec::Vec<u8>,
    udp_chunk: usize,
    control: std::vec::Vec<u8>,
    buffers: VecBuffers,
}

#[cfg(feature = "std")]
impl VecMemory {
    /// Allocates every table.
    pub fn new(c: &Capacities) -> Self {
        use std::vec;
        Self {
            slots: core::iter::repeat_with(Slot::default)
                .take(c.sockets)
                .collect(),
            index: vec![0; c.sockets * 2 + 2],
            timers: vec![TimerEntry::default(); c.sockets * 2 + 2],
            ready: vec![0; c.sockets],
            events: vec![0; c.sockets],
            neighbors: vec![Neighbor::EMPTY; c.neighbors],
            pending: vec![0; c.neighbors * c.pending_per_neighbor],
            frags: vec![FragContext::EMPTY; c.frag_contexts],
            frag_bytes: vec![0; c.frag_contexts * c.frag_size],
            udp: vec![0; c.udp_sockets * c.udp_queue * 2],
            udp_chunk: c.udp_queue * 2,
            control: vec![0; c.control_queue],
            buffers: VecBuffers { size: c.tcp_buffer },
        }
    }
}

#[cfg(feature = "std")]
impl Memory for VecMemory {
    type Buffer = std::vec::Vec<u8>;
    type Backlog = std::vec::Vec<SynSlot>;
    #[inline]
    fn parts(&mut self) -> Parts<'_, Self::Buffer, Self::Backlog> {
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
            udp_chunk: self.udp_chunk,
            control: &mut self.control,
            buffers: &mut self.buffers,
        }
    }
}

/// Why a socket call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StackError {
    /// Every socket slot (or UDP queue chunk) is in use: close something first.
    NoFreeSlot,
    /// The handle is stale (its socket was released) or of another kind of socket.
    InvalidHandle,
    /// Another socket has this address (and port).
    AddrInUse,
    /// The address is not one of ours, or of a family we have no address for.
    Unaddressable,
    /// No route: off-link without a gateway.
    NoRoute,
    /// Every ephemeral port is taken for this destination.
    NoEphemeralPort,
    /// The send queue is full; try again after `egress`.
    QueueFull,
    /// The datagram is larger than 65,507 bytes, or than the MTU with Don't Fragment set.
    TooBig,
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoFreeSlot => "no free socket slot",
            Self::InvalidHandle => "invalid or stale socket handle",
            Self::AddrInUse => "address in use",
            Self::Unaddressable => "address not assigned to this interface",
            Self::NoRoute => "no route to host",
            Self::NoEphemeralPort => "no free ephemeral port",
            Self::QueueFull => "send queue full",
            Self::TooBig => "datagram too big",
        })
    }
}

impl core::error::Error for StackError {}

/// A socket: its slot and the slot's generation, so that a stale handle is an error rather
/// than someone else's socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketHandle {
    index: u32,
    generation: u32,
}

impl SocketHandle {
    /// The slot number (dense, below the slab size: usable as an index by a runtime).
    pub const fn index(self) -> usize {
        self.index as usize
    }
}

/// What became true of a socket, from [`Interface::poll_events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Events(pub(crate) u8);

impl Events {
    /// Data (or the end of the stream, or an error) to read.
    pub const READABLE: Self = Self(1);
    /// Room in the send buffer.
    pub const WRITABLE: Self = Self(2);
    /// The connection reached CLOSED or TIME-WAIT (or failed: see `Connection::error`).
    pub const CLOSED: Self = Self(4);
    /// A listener has a connection for `tcp_accept`.
    pub const ACCEPT: Self = Self(8);
    /// A TCP connect completed (ESTABLISHED).
    pub const CONNECTED: Self = Self(16);

    /// No event.
    pub const fn empty() -> Self {
        Self(0)
    }
    /// True when every event of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// True when no event is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl core::ops::BitOr for Events {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The interface's own scalar state (everything not in caller storage).
#[derive(Debug)]
pub(crate) struct State {
    rng: Rng,
    stats: Stats,
    index: Index,
    heap: TimerHeap,
    ready: Fifo,
    events: Fifo,
    /// Free slots: a list threaded through `Slot::link`, then never-used ones.
    free_head: u32,
    fresh: u32,
    used: u32,
    /// UDP chunks: free list threaded through their first bytes, then never-used ones.
    udp_free: u32,
    udp_fresh: u32,
    control: Ring,
    ip_ident: u16,
    /// RFC 6056 algorithm 3-ish: a keyed offset per destination plus a moving counter.
    port_counter: u16,
    tokens: u32,
    tokens_at: Instant,
    /// Gratuitous ARP announcements still to send (RFC 5227 §2.3: two, 2 s apart).
    announce: Option<(Instant, u8)>,
    /// An ARP reply owed, built straight into the egress buffer: it stands at the head of
    /// the control queue (it is only taken while that queue is empty, so the order of
    /// answers is kept).
    arp_reply: Option<ArpRepr>,
    /// `egress` queued a packet on an unresolved neighbour in this pass.
    queued_on_neighbor: bool,
    /// Echo replies for `poll_echo_reply`.
    echo: echo::EchoQueue,
    /// The address being probed with [`Interface::arp_probe`], if any.
    probe: Option<Probe>,
    /// No neighbour work (request, retry, release of queued packets) is due before this:
    /// egress skips the table until then. Lowered whenever a resolution starts or a reply
    /// releases packets; recomputed by the egress that finds nothing due.
    neighbor_at: Instant,
    /// No reassembly context expires before this: egress skips the table until then.
    /// Lowered when a fragment arrives (a context it makes expires `frag_timeout` later);
    /// recomputed by the egress that expires contexts.
    frag_at: Instant,
    /// How the frame the last `egress` wrote must be cut, when it is larger than the MTU.
    segmentation: Option<Segmentation>,
    /// Changes whenever a neighbour entry is made, replaced or updated, the table is
    /// flushed, or our address changes: next-hop MACs cached on connections
    /// (`Slot::hop_mac`) are valid only under the generation they were taken in.
    neighbor_gen: u32,
    /// The earliest expiry of a neighbour entry cached under this generation: the
    /// generation ends then.
    neighbor_gen_until: Instant,
    /// The last destination resolved, its MAC, and the generation it was resolved in.
    last_hop: Option<(IpAddr, EthernetAddress, u32)>,
    /// The last listener `tcp_in` found: its key and slot (cleared when that slot is freed).
    last_listener: Option<(table::Key, u32)>,
}

impl State {
    /// Invalidates every cached next hop.
    #[inline]
    pub(crate) fn neighbors_changed(&mut self) {
        self.neighbor_gen = self.neighbor_gen.wrapping_add(1).max(1);
        self.neighbor_gen_until = NEVER;
    }
}

/// An address probe in progress (RFC 5227 §2.1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    pub(crate) addr: Ipv4Addr,
    /// Another host showed it uses (or probes) the address.
    pub(crate) conflict: bool,
}

/// No slot.
pub(crate) const NIL: u32 = u32::MAX;

/// An instant that never comes (for "nothing scheduled").
pub(crate) const NEVER: Instant = Instant::from_micros(u64::MAX);

/// A network interface. See the [module docs](self).
///
/// Call order: [`ingress`](Self::ingress) each received frame; then
/// [`egress`](Self::egress) until it returns 0; wake tasks from
/// [`poll_events`](Self::poll_events); sleep until [`poll_at`](Self::poll_at) or the next
/// frame. Socket calls may come in between; their output leaves on the next `egress`.
pub struct Interface<M: Memory> {
    cfg: Config,
    /// What every connection keeps of `cfg.tcp`, computed once (not per connection).
    conn_cfg: crate::tcp::ConnConfig,
    mem: M,
    st: State,
}

/// Everything a packet path needs, borrowed at once.
///
/// The storage is borrowed whole and its views taken with `mem.parts()` where they are
/// used: `parts` is inlined, so a path pays only for the views it reads (building all of
/// them for every call cost more than a whole ARP lookup).
pub(crate) struct Ctx<'a, M: Memory> {
    pub(crate) cfg: &'a Config,
    pub(crate) conn_cfg: &'a crate::tcp::ConnConfig,
    pub(crate) st: &'a mut State,
    pub(crate) mem: &'a mut M,
}

impl<M: Memory> Interface<M> {
    /// An interface over `mem`, with nothing bound.
    pub fn new(cfg: Config, mut mem: M) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let seed = rng.next_u64();
        let ip_ident = rng.next_u32() as u16;
        let port_counter = rng.next_u32() as u16;
        let p = mem.parts();
        let nslots = p.slots.len().min(NIL as usize - 1) as u32;
        let _ = nslots;
        Self {
            st: State {
                rng,
                stats: Stats::default(),
                index: Index { seed, len: 0 },
                heap: TimerHeap::default(),
                ready: Fifo::default(),
                events: Fifo::default(),
                free_head: NIL,
                fresh: 0,
                used: 0,
                udp_free: NIL,
                udp_fresh: 0,
                control: Ring::EMPTY,
                ip_ident,
                port_counter,
                tokens: cfg.error_rate.burst,
                tokens_at: Instant::ZERO,
                announce: None,
                arp_reply: None,
                queued_on_neighbor: false,
                echo: echo::EchoQueue::EMPTY,
                probe: None,
                neighbor_at: NEVER,
                frag_at: NEVER,
                segmentation: None,
                neighbor_gen: 1,
                neighbor_gen_until: NEVER,
                last_hop: None,
                last_listener: None,
            },
            conn_cfg: crate::tcp::ConnConfig::new(&cfg.tcp),
            cfg,
            mem,
        }
    }

    pub(crate) fn ctx(&mut self) -> Ctx<'_, M> {
        Ctx {
            cfg: &self.cfg,
            conn_cfg: &self.conn_cfg,
            st: &mut self.st,
            mem: &mut self.mem,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.st.stats
    }

    /// Socket slots in use (connections in TIME-WAIT included).
    pub fn sockets_in_use(&self) -> usize {
        self.st.used as usize
    }

    /// Entries in the hash index and the timer heap (stale ones included), for leak checks.
    pub fn table_sizes(&self) -> (usize, usize) {
        (self.st.index.len as usize, self.st.heap.len as usize)
    }

    /// The MAC address of on-link neighbour `ip` if known; otherwise starts resolving it
    /// (the request leaves on the next `egress`) and returns `None`.
    pub fn resolve_neighbor(&mut self, ip: IpAddr, now: Instant) -> Option<EthernetAddress> {
        // Only the neighbour table: the other views of `parts` are never built.
        let neighbors = self.mem.parts().neighbors;
        match egress::resolve(neighbors, &mut self.st, egress::NextHop::Unicast(ip), now) {
            egress::Resolved::Mac(m) => Some(m),
            _ => None,
        }
    }

    /// Forgets every neighbour (packets waiting on a resolution are dropped and counted).
    pub fn flush_neighbors(&mut self) {
        self.st.neighbors_changed();
        self.st.stats.drop_resolution_failed += neighbor::flush(self.mem.parts().neighbors);
    }

    /// Our IPv6 link-local address (RFC 4862 §5.3).
    pub fn ipv6_link_local(&self) -> Ipv6Addr {
        crate::wire::ipv6::link_local_from_mac(self.cfg.mac)
    }

    /// Changes the IPv4 address (and gateway); announces the new one with gratuitous ARP
    /// (RFC 5227 §2.3: two ARP Announcements, 2 s apart, the first at the next `egress`).
    pub fn set_ipv4(&mut self, cidr: Option<Ipv4Cidr>, gateway: Option<Ipv4Addr>, now: Instant) {
        self.cfg.ipv4 = cidr;
        self.cfg.gateway = gateway;
        self.st.neighbors_changed();
        self.st.announce = cidr.map(|_| (now, 2));
    }

    /// Sends an ARP Probe for `addr` (RFC 5227 §2.1.1: sender IP `0.0.0.0`, broadcast, at
    /// the next `egress`) and watches for a conflict until [`arp_probe_end`](Self::arp_probe_end):
    /// an ARP packet from another host whose sender is `addr`, or another host's probe for
    /// it. The caller times the probes (a DHCP client's `poll_arp_probe` does). Works
    /// without an IPv4 address. Returns false when the control queue is full.
    pub fn arp_probe(&mut self, addr: Ipv4Addr) -> bool {
        if self.st.probe.is_none_or(|p| p.addr != addr) {
            self.st.probe = Some(Probe {
                addr,
                conflict: false,
            });
        }
        let mut c = self.ctx();
        let mac = c.cfg.mac;
        let probe = ArpRepr::probe(mac, addr);
        c.push_control(egress::ETH + probe.buffer_len(), |b| {
            let n = EthernetRepr::new(mac, EthernetAddress::BROADCAST, EtherType::Arp).emit(b);
            probe.emit(&mut b[n..]);
        })
    }

    /// The probed address when a conflict was seen for it since [`arp_probe`](Self::arp_probe)
    /// started watching it.
    pub fn arp_probe_conflict(&self) -> Option<Ipv4Addr> {
        self.st.probe.filter(|p| p.conflict).map(|p| p.addr)
    }

    /// Stops watching the probed address.
    pub fn arp_probe_end(&mut self) {
        self.st.probe = None;
    }

    /// When [`egress`](Self::egress) next needs to be called if no frame arrives: now if
    /// anything is queued, else the earliest timer. Cheap: the timer heap's top (possibly a
    /// stale entry: an early wake-up costs one empty `egress`), the neighbour cache and the
    /// reassembly contexts (small tables).
    pub fn poll_at(&mut self) -> Option<Instant> {
        let c = self.ctx();
        if c.st.ready.len > 0 || !c.st.control.is_empty() || c.st.arp_reply.is_some() {
            return Some(Instant::ZERO);
        }
        let mut at = c.st.heap.peek(c.mem.parts().timers).map(|(t, _)| t);
        let mut merge = |t: Option<Instant>| {
            at = match (at, t) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        if c.st.neighbor_at != NEVER {
            merge(neighbor::poll_at(c.mem.parts().neighbors));
        }
        merge(frag::poll_at(c.mem.parts().frags));
        merge(c.st.announce.map(|(t, _)| t));
        at
    }

    /// The next socket with news, and what: drains a queue that ingress, egress and timers
    /// fill (O(events), never a scan of the sockets). A socket appears once however many
    /// events it collected since it was last returned.
    pub fn poll_events(&mut self) -> Option<(SocketHandle, Events)> {
        let c = self.ctx();
        loop {
            let i = c.st.events.pop(c.mem.parts().events)?;
            let s = &mut c.mem.parts().slots[i as usize];
            s.flags &= !socket::IN_EVENTS;
            let ev = core::mem::take(&mut s.events);
            if ev != 0 && !s.is_free() {
                return Some((
                    SocketHandle {
                        index: i,
                        generation: s.generation,
                    },
                    Events(ev),
                ));
            }
        }
    }
}

impl<M: Memory> Ctx<'_, M> {
    /// Takes a token from the error bucket (RFC 4443 §2.4(f) token bucket).
    pub(crate) fn take_token(&mut self, now: Instant) -> bool {
        let rl = self.cfg.error_rate;
        let elapsed = now.saturating_duration_since(self.st.tokens_at).micros();
        let add = elapsed.saturating_mul(u64::from(rl.per_second)) / 1_000_000;
        if add > 0 {
            self.st.tokens = (u64::from(self.st.tokens) + add).min(u64::from(rl.burst)) as u32;
            self.st.tokens_at = now;
        }
        if self.st.tokens == 0 {
            self.st.stats.drop_rate_limited += 1;
            return false;
        }
        self.st.tokens -= 1;
        true
    }

    /// True when `ip` is one of our IPv6 addresses.
    pub(crate) fn is_our_v6(&self, ip: Ipv6Addr) -> bool {
        ip == crate::wire::ipv6::link_local_from_mac(self.cfg.mac)
            || self.cfg.ipv6.iter().flatten().any(|(a, _)| *a == ip)
    }

    /// Queues a complete frame built by `f` (given a buffer of `len` bytes) on the control
    /// queue; counts a drop when full.
    pub(crate) fn push_control(&mut self, len: usize, f: impl FnOnce(&mut [u8])) -> bool {
        match self.st.control.push_with(self.mem.parts().control, len) {
            Some(buf) => {
                f(buf);
                true
            }
            None => {
                self.st.stats.drop_control_queue_full += 1;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
