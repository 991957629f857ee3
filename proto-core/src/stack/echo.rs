//! An ICMP echo client (what `ping` needs): [`Interface::icmp_echo_send`] queues an Echo
//! Request (RFC 792; ICMPv6 RFC 4443 §4.1), and Echo Replies that arrive wait in a small
//! fixed queue for [`Interface::poll_echo_reply`] (RFC 4443 §4.2, RFC 792).
//!
//! The queue holds the last [`ECHO_QUEUE`] replies (any identifier: the caller matches its
//! own); when full the oldest is dropped and counted. The reply's data is not kept, only its
//! length: a caller that wants to check it can compare lengths, or match by sequence number.

use core::net::IpAddr;

use super::egress::{ETH, Resolved, ethertype_of};
use super::{Ctx, Interface, Memory, StackError, neighbor};
use crate::time::Instant;
use crate::wire::{EthernetRepr, IpAddrPair, IpProtocol, Ipv4Repr, Ipv6Repr};

/// Echo replies kept for [`Interface::poll_echo_reply`] at most.
pub const ECHO_QUEUE: usize = 16;

/// An ICMP or ICMPv6 Echo Reply that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoReply {
    /// Who answered.
    pub from: IpAddr,
    /// The identifier echoed back.
    pub ident: u16,
    /// The sequence number echoed back.
    pub seq_no: u16,
    /// Bytes of echo data.
    pub data_len: usize,
    /// The TTL (hop limit) of the reply's IP header.
    pub ttl: u8,
    /// When it arrived (the `now` of its `ingress`).
    pub at: Instant,
}

/// The fixed queue of replies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EchoQueue {
    items: [Option<EchoReply>; ECHO_QUEUE],
    head: usize,
    len: usize,
}

impl EchoQueue {
    pub(crate) const EMPTY: Self = Self {
        items: [None; ECHO_QUEUE],
        head: 0,
        len: 0,
    };

    /// Adds a reply; returns false when the oldest one had to make room.
    pub(crate) fn push(&mut self, r: EchoReply) -> bool {
        let full = self.len == ECHO_QUEUE;
        if full {
            self.head = (self.head + 1) % ECHO_QUEUE;
            self.len -= 1;
        }
        self.items[(self.head + self.len) % ECHO_QUEUE] = Some(r);
        self.len += 1;
        !full
    }

    fn pop(&mut self) -> Option<EchoReply> {
        if self.len == 0 {
            return None;
        }
        let r = self.items[self.head].take();
        self.head = (self.head + 1) % ECHO_QUEUE;
        self.len -= 1;
        r
    }
}

/// IPv6 header + ICMP header: the most we build before the data.
const HEADERS_MAX: usize = 40 + 8;

impl<M: Memory> Interface<M> {
    /// Queues an Echo Request to `dst` (ICMP for IPv4, ICMPv6 for IPv6) with `ident`,
    /// `seq_no` and `data`; it leaves on the next [`egress`](Self::egress) (after address
    /// resolution when the next hop is not known yet: it waits on the neighbour like any
    /// packet, and is dropped and counted if resolution fails).
    ///
    /// Errors: `Unaddressable` (no address of `dst`'s family), `NoRoute` (off-link without a
    /// gateway), `TooBig` (does not fit the MTU; echo requests are not fragmented),
    /// `QueueFull` (the control queue or the neighbour's queue is full, or no neighbour entry
    /// is free: try again later).
    pub fn icmp_echo_send(
        &mut self,
        dst: IpAddr,
        ident: u16,
        seq_no: u16,
        data: &[u8],
        now: Instant,
    ) -> Result<(), StackError> {
        let mut c = self.ctx();
        let r = c.echo_send(dst, ident, seq_no, data, now);
        if r.is_ok() {
            c.st.stats.echo_requests_sent += 1;
        }
        r
    }

    /// The oldest Echo Reply received and not yet taken.
    pub fn poll_echo_reply(&mut self) -> Option<EchoReply> {
        self.st.echo.pop()
    }

    /// True when an Echo Reply waits for [`poll_echo_reply`](Self::poll_echo_reply).
    pub fn has_echo_reply(&self) -> bool {
        self.st.echo.len > 0
    }
}

impl<M: Memory> Ctx<'_, M> {
    fn echo_send(
        &mut self,
        dst: IpAddr,
        ident: u16,
        seq_no: u16,
        data: &[u8],
        now: Instant,
    ) -> Result<(), StackError> {
        let src = self.source_for(dst)?;
        let hop = self.route(dst)?;
        let (addrs, l3, proto, msg_type) = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                (IpAddrPair::V4 { src: s, dst: d }, 20, IpProtocol::Icmp, 8u8)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => (
                IpAddrPair::V6 { src: s, dst: d },
                40,
                IpProtocol::Icmpv6,
                128u8,
            ),
            _ => return Err(StackError::Unaddressable),
        };
        let icmp_len = 8 + data.len();
        if l3 + icmp_len > self.cfg.mtu {
            return Err(StackError::TooBig);
        }
        // The headers in a small buffer; the data is copied once, where the packet goes.
        let mut hdr = [0u8; HEADERS_MAX];
        match addrs {
            IpAddrPair::V4 { src, dst } => {
                let mut ip = Ipv4Repr::new(src, dst, proto, icmp_len);
                ip.ttl = self.cfg.ttl;
                ip.emit(&mut hdr);
            }
            IpAddrPair::V6 { src, dst } => {
                Ipv6Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: proto,
                    payload_len: icmp_len,
                    hop_limit: self.cfg.ttl,
                    traffic_class: 0,
                    flow_label: 0,
                }
                .emit(&mut hdr);
            }
        }
        let icmp = &mut hdr[l3..l3 + 8];
        icmp[0] = msg_type;
        icmp[1] = 0;
        icmp[4..6].copy_from_slice(&ident.to_be_bytes());
        icmp[6..8].copy_from_slice(&seq_no.to_be_bytes());
        // RFC 792: over the ICMP message; RFC 4443 §2.3: plus the IPv6 pseudo-header.
        let pseudo = match addrs {
            IpAddrPair::V4 { .. } => 0,
            IpAddrPair::V6 { .. } => addrs.pseudo_header_sum(proto, icmp_len),
        };
        let sum = crate::checksum::combine(&[
            pseudo,
            crate::checksum::sum(&hdr[l3..l3 + 8]),
            crate::checksum::sum(data),
        ]);
        hdr[l3 + 2..l3 + 4].copy_from_slice(&(!sum).to_be_bytes());
        let headers = &hdr[..l3 + 8];
        match self.resolve(hop, now) {
            Resolved::Mac(mac) => {
                let our_mac = self.cfg.mac;
                let ok = self.push_control(ETH + headers.len() + data.len(), |b| {
                    EthernetRepr::new(our_mac, mac, ethertype_of(headers)).emit(b);
                    b[ETH..ETH + headers.len()].copy_from_slice(headers);
                    b[ETH + headers.len()..].copy_from_slice(data);
                });
                if ok {
                    Ok(())
                } else {
                    Err(StackError::QueueFull)
                }
            }
            Resolved::Queue(i) => {
                let p = self.mem.parts();
                if neighbor::enqueue_parts(
                    p.neighbors,
                    p.pending,
                    &self.cfg.neighbor,
                    i,
                    &[headers, data],
                ) {
                    Ok(())
                } else {
                    self.st.stats.drop_pending_full += 1;
                    Err(StackError::QueueFull)
                }
            }
            Resolved::Fail => Err(StackError::QueueFull),
        }
    }

    /// An Echo Reply arrived (from `ingress`).
    pub(crate) fn echo_reply_in(&mut self, reply: EchoReply) {
        self.st.stats.echo_replies_received += 1;
        if !self.st.echo.push(reply) {
            self.st.stats.drop_echo_queue_full += 1;
        }
    }
}
