//! ARP (RFC 826), with the probe and announcement of IPv4 address conflict detection
//! (RFC 5227 §2.1.1, §2.3).
//!
//! The view reads any hardware/protocol address lengths; [`ArpRepr`] is Ethernet/IPv4 only.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Hardware Type         |         Protocol Type         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  HW Addr Len  | Proto Addr Len|           Operation           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Sender Hardware Address (hlen) | Sender Protocol Address (plen)
//! | Target Hardware Address (hlen) | Target Protocol Address (plen)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Bytes after the target protocol address (Ethernet padding to 60 bytes) are ignored.

use core::fmt;
use core::net::Ipv4Addr;

use super::{Error, Proto, Result, be16, put_be16};
use crate::wire::ethernet::{EtherType, EthernetAddress};

/// An ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArpOperation {
    /// Request (1).
    Request,
    /// Reply (2).
    Reply,
    /// Any other operation (e.g. RARP's 3 and 4).
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(value: u16) -> Self {
        match value {
            1 => Self::Request,
            2 => Self::Reply,
            other => Self::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(value: ArpOperation) -> Self {
        match value {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

impl fmt::Display for ArpOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request => f.write_str("request"),
            Self::Reply => f.write_str("reply"),
            Self::Unknown(n) => write!(f, "operation {n}"),
        }
    }
}

/// An ARP hardware type (IANA "Hardware Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArpHardware {
    /// Ethernet (1).
    Ethernet,
    /// Any other hardware type.
    Unknown(u16),
}

impl From<u16> for ArpHardware {
    fn from(value: u16) -> Self {
        match value {
            1 => Self::Ethernet,
            other => Self::Unknown(other),
        }
    }
}

impl From<ArpHardware> for u16 {
    fn from(value: ArpHardware) -> Self {
        match value {
            ArpHardware::Ethernet => 1,
            ArpHardware::Unknown(other) => other,
        }
    }
}

impl fmt::Display for ArpHardware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ethernet => f.write_str("Ethernet"),
            Self::Unknown(n) => write!(f, "hardware type {n}"),
        }
    }
}

mod field {
    use crate::wire::Field;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    /// The fixed part before the addresses.
    pub const FIXED_LEN: usize = 8;
}

/// The length of the fixed part of an ARP packet (before the addresses).
pub const HEADER_LEN: usize = field::FIXED_LEN;

/// The length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = 28;

/// A read/write view of an ARP packet with any address lengths.
///
/// ```
/// use proto_core::wire::arp::{ArpOperation, ArpPacket};
/// let bytes = [
///     0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 168, 10, 2,
///     0, 0, 0, 0, 0, 0, 192, 168, 10, 1,
/// ];
/// let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
/// assert_eq!(packet.operation(), ArpOperation::Request);
/// assert_eq!(packet.target_protocol_addr(), &[192, 168, 10, 1]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed part and the four addresses its length fields
    /// claim (`8 + 2 * (hlen + plen)` bytes). After `Ok`, no accessor panics.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::truncated(Proto::Arp, "header", HEADER_LEN, len));
        }
        let need = self.packet_len();
        if len < need {
            return Err(Error::truncated(Proto::Arp, "addresses", need, len));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The hardware type.
    #[inline]
    pub fn hardware_type(&self) -> ArpHardware {
        ArpHardware::from(be16(self.buffer.as_ref(), field::HTYPE.start))
    }

    /// The protocol type (an EtherType; IPv4 is `0x0800`).
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::PTYPE.start))
    }

    /// The hardware address length in bytes.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// The protocol address length in bytes.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The operation.
    #[inline]
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(be16(self.buffer.as_ref(), field::OPER.start))
    }

    /// The length of the packet the length fields describe: `8 + 2 * (hlen + plen)`.
    #[inline]
    pub fn packet_len(&self) -> usize {
        HEADER_LEN + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    /// The hardware and protocol address lengths.
    #[inline]
    fn layout(&self) -> (usize, usize) {
        (
            usize::from(self.hardware_len()),
            usize::from(self.protocol_len()),
        )
    }

    /// The sender hardware address (`hlen` bytes).
    #[inline]
    pub fn source_hardware_addr(&self) -> &[u8] {
        let (h, _) = self.layout();
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + h]
    }

    /// The sender protocol address (`plen` bytes).
    #[inline]
    pub fn source_protocol_addr(&self) -> &[u8] {
        let (h, p) = self.layout();
        let at = HEADER_LEN + h;
        &self.buffer.as_ref()[at..at + p]
    }

    /// The target hardware address (`hlen` bytes).
    #[inline]
    pub fn target_hardware_addr(&self) -> &[u8] {
        let (h, p) = self.layout();
        let at = HEADER_LEN + h + p;
        &self.buffer.as_ref()[at..at + h]
    }

    /// The target protocol address (`plen` bytes).
    #[inline]
    pub fn target_protocol_addr(&self) -> &[u8] {
        let (h, p) = self.layout();
        let at = HEADER_LEN + 2 * h + p;
        &self.buffer.as_ref()[at..at + p]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    #[inline]
    pub fn set_hardware_type(&mut self, value: ArpHardware) {
        put_be16(self.buffer.as_mut(), field::HTYPE.start, value.into());
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, value: EtherType) {
        put_be16(self.buffer.as_mut(), field::PTYPE.start, value.into());
    }

    /// Sets the hardware address length (set the lengths before the addresses).
    #[inline]
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length (set the lengths before the addresses).
    #[inline]
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation.
    #[inline]
    pub fn set_operation(&mut self, value: ArpOperation) {
        put_be16(self.buffer.as_mut(), field::OPER.start, value.into());
    }

    /// Sets the sender hardware address; `addr` must be `hlen` bytes long (else this panics).
    #[inline]
    pub fn set_source_hardware_addr(&mut self, addr: &[u8]) {
        let (h, _) = self.layout();
        self.buffer.as_mut()[HEADER_LEN..HEADER_LEN + h].copy_from_slice(addr);
    }

    /// Sets the sender protocol address; `addr` must be `plen` bytes long (else this panics).
    #[inline]
    pub fn set_source_protocol_addr(&mut self, addr: &[u8]) {
        let (h, p) = self.layout();
        let at = HEADER_LEN + h;
        self.buffer.as_mut()[at..at + p].copy_from_slice(addr);
    }

    /// Sets the target hardware address; `addr` must be `hlen` bytes long (else this panics).
    #[inline]
    pub fn set_target_hardware_addr(&mut self, addr: &[u8]) {
        let (h, p) = self.layout();
        let at = HEADER_LEN + h + p;
        self.buffer.as_mut()[at..at + h].copy_from_slice(addr);
    }

    /// Sets the target protocol address; `addr` must be `plen` bytes long (else this panics).
    #[inline]
    pub fn set_target_protocol_addr(&mut self, addr: &[u8]) {
        let (h, p) = self.layout();
        let at = HEADER_LEN + 2 * h + p;
        self.buffer.as_mut()[at..at + p].copy_from_slice(addr);
    }
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// The operation.
    pub operation: ArpOperation,
    /// The sender's MAC address.
    pub source_hardware_addr: EthernetAddress,
    /// The sender's IPv4 address (`0.0.0.0` in a probe).
    pub source_protocol_addr: Ipv4Addr,
    /// The target's MAC address (all zeros in a request).
    pub target_hardware_addr: EthernetAddress,
    /// The target's IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

/// The zero MAC address a request carries as its target hardware address.
const UNKNOWN_MAC: EthernetAddress = EthernetAddress([0; 6]);

impl ArpRepr {
    /// Reads an Ethernet/IPv4 ARP packet. Rejects another hardware type, protocol type or
    /// address length with an `invalid` error naming the field; keeps any operation.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<Self> {
        let len = packet.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::truncated(Proto::Arp, "header", HEADER_LEN, len));
        }
        let htype = u16::from(packet.hardware_type());
        if htype != 1 {
            return Err(Error::invalid(
                Proto::Arp,
                "hardware type",
                htype.into(),
                "1 (Ethernet)",
            ));
        }
        let ptype = u16::from(packet.protocol_type());
        if ptype != 0x0800 {
            return Err(Error::invalid(
                Proto::Arp,
                "protocol type",
                ptype.into(),
                "0x0800 (IPv4)",
            ));
        }
        if packet.hardware_len() != 6 {
            return Err(Error::invalid(
                Proto::Arp,
                "hardware address length",
                packet.hardware_len().into(),
                "6",
            ));
        }
        if packet.protocol_len() != 4 {
            return Err(Error::invalid(
                Proto::Arp,
                "protocol address length",
                packet.protocol_len().into(),
                "4",
            ));
        }
        packet.check_len()?;
        let b = packet.buffer.as_ref();
        Ok(Self {
            operation: packet.operation(),
            source_hardware_addr: EthernetAddress::from_bytes(&b[8..14]),
            source_protocol_addr: Ipv4Addr::new(b[14], b[15], b[16], b[17]),
            target_hardware_addr: EthernetAddress::from_bytes(&b[18..24]),
            target_protocol_addr: Ipv4Addr::new(b[24], b[25], b[26], b[27]),
        })
    }

    /// A request "who has `target_protocol_addr`? tell `source_protocol_addr`" (RFC 826), with
    /// a zero target hardware address. Send it to the Ethernet broadcast address.
    pub const fn request(
        source_hardware_addr: EthernetAddress,
        source_protocol_addr: Ipv4Addr,
        target_protocol_addr: Ipv4Addr,
    ) -> Self {
        Self {
            operation: ArpOperation::Request,
            source_hardware_addr,
            source_protocol_addr,
            target_hardware_addr: UNKNOWN_MAC,
            target_protocol_addr,
        }
    }

    /// The reply to `request` from the owner of its target address, `our_mac` (RFC 826:
    /// swap sender and target, fill in our hardware address). Send it unicast to
    /// `request.source_hardware_addr`.
    pub const fn reply_to(request: &Self, our_mac: EthernetAddress) -> Self {
        Self {
            operation: ArpOperation::Reply,
            source_hardware_addr: our_mac,
            source_protocol_addr: request.target_protocol_addr,
            target_hardware_addr: request.source_hardware_addr,
            target_protocol_addr: request.source_protocol_addr,
        }
    }

    /// An ARP Probe for `candidate` (RFC 5227 §2.1.1): a request with sender IP `0.0.0.0`
    /// and a zero target hardware address, asking whether anyone uses `candidate`.
    pub const fn probe(our_mac: EthernetAddress, candidate: Ipv4Addr) -> Self {
        Self::request(our_mac, Ipv4Addr::UNSPECIFIED, candidate)
    }

    /// An ARP Announcement of `our_ip` (RFC 5227 §2.3): a request whose sender and target IP
    /// are both `our_ip` (a "gratuitous ARP"), with a zero target hardware address.
    pub const fn announce(our_mac: EthernetAddress, our_ip: Ipv4Addr) -> Self {
        Self::request(our_mac, our_ip, our_ip)
    }

    /// True for a gratuitous ARP (an announcement, RFC 5227 §2.3, request or reply): the sender
    /// and target IP are the same and not `0.0.0.0`.
    pub fn is_gratuitous(&self) -> bool {
        self.source_protocol_addr == self.target_protocol_addr
            && !self.source_protocol_addr.is_unspecified()
    }

    /// True for an ARP Probe (RFC 5227 §2.1.1): a request with sender IP `0.0.0.0`.
    pub fn is_probe(&self) -> bool {
        self.operation == ArpOperation::Request && self.source_protocol_addr.is_unspecified()
    }

    /// The length of the packet on the wire: 28.
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet into the start of `buf`, which must hold at least 28 bytes. Returns
    /// the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        self.emit_inline(buf)
    }

    /// [`emit`](Self::emit), always inlined (the stack's ARP frames: most fields fold).
    #[inline(always)]
    pub(crate) fn emit_inline(&self, buf: &mut [u8]) -> usize {
        // One store of the whole packet.
        let [h0, h1] = u16::from(ArpHardware::Ethernet).to_be_bytes();
        let [p0, p1] = u16::from(EtherType::Ipv4).to_be_bytes();
        let [o0, o1] = u16::from(self.operation).to_be_bytes();
        let [a0, a1, a2, a3, a4, a5] = self.source_hardware_addr.0;
        let [b0, b1, b2, b3] = self.source_protocol_addr.octets();
        let [c0, c1, c2, c3, c4, c5] = self.target_hardware_addr.0;
        let [d0, d1, d2, d3] = self.target_protocol_addr.octets();
        buf[..ETHERNET_IPV4_LEN].copy_from_slice(&[
            h0, h1, p0, p1, 6, 4, o0, o1, a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, c0, c1, c2, c3,
            c4, c5, d0, d1, d2, d3,
        ]);
        ETHERNET_IPV4_LEN
    }
}

impl fmt::Display for ArpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            ArpOperation::Request if self.is_probe() => write!(
                f,
                "ARP probe who-has {} from {}",
                self.target_protocol_addr, self.source_hardware_addr
            ),
            ArpOperation::Request => write!(
                f,
                "ARP request who-has {} tell {} ({})",
                self.target_protocol_addr, self.source_protocol_addr, self.source_hardware_addr
            ),
            ArpOperation::Reply => write!(
                f,
                "ARP reply {} is-at {} to {} ({})",
                self.source_protocol_addr,
                self.source_hardware_addr,
                self.target_protocol_addr,
                self.target_hardware_addr
            ),
            op => write!(
                f,
                "ARP {op} {} ({}) > {} ({})",
                self.source_protocol_addr,
                self.source_hardware_addr,
                self.target_protocol_addr,
                self.target_hardware_addr
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    /// From scapy: who-has 192.168.10.1 tell 192.168.10.2 (02:00:00:00:00:01).
    static REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0,
        0xa8, 0x0a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x0a, 0x01,
    ];

    /// From scapy: 192.168.10.1 is-at 02:00:00:00:00:02, to 192.168.10.2.
    static REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc0,
        0xa8, 0x0a, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0xa8, 0x0a, 0x02,
    ];

    const MAC1: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const MAC2: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
    const IP1: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 1);
    const IP2: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 2);

    #[test]
    fn parse_every_getter() {
        let p = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), ArpHardware::Ethernet);
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!(p.hardware_len(), 6);
        assert_eq!(p.protocol_len(), 4);
        assert_eq!(p.operation(), ArpOperation::Request);
        assert_eq!(p.packet_len(), 28);
        assert_eq!(p.source_hardware_addr(), &MAC1.0);
        assert_eq!(p.source_protocol_addr(), &IP2.octets());
        assert_eq!(p.target_hardware_addr(), &[0; 6]);
        assert_eq!(p.target_protocol_addr(), &IP1.octets());
        let r = ArpRepr::parse(&p).unwrap();
        assert_eq!(r, ArpRepr::request(MAC1, IP2, IP1));
        assert!(!r.is_gratuitous() && !r.is_probe());
        assert_eq!(
            r.to_string(),
            "ARP request who-has 192.168.10.1 tell 192.168.10.2 (02:00:00:00:00:01)"
        );
    }

    #[test]
    fn emit_and_reply() {
        let req = ArpRepr::request(MAC1, IP2, IP1);
        let mut out = [0u8; 28];
        assert_eq!(req.buffer_len(), 28);
        assert_eq!(req.emit(&mut out), 28);
        assert_eq!(out, REQUEST);
        let reply = ArpRepr::reply_to(&req, MAC2);
        assert_eq!(reply.emit(&mut out), 28);
        assert_eq!(out, REPLY);
        let p = ArpPacket::new_checked(&out[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p).unwrap(), reply);
        assert_eq!(
            reply.to_string(),
            "ARP reply 192.168.10.1 is-at 02:00:00:00:00:02 to 192.168.10.2 (02:00:00:00:00:01)"
        );
    }

    #[test]
    fn probe_and_announce() {
        let probe = ArpRepr::probe(MAC1, IP1);
        assert!(probe.is_probe() && !probe.is_gratuitous());
        assert_eq!(probe.source_protocol_addr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(probe.target_hardware_addr, EthernetAddress([0; 6]));
        assert_eq!(
            probe.to_string(),
            "ARP probe who-has 192.168.10.1 from 02:00:00:00:00:01"
        );
        let ann = ArpRepr::announce(MAC1, IP1);
        assert!(ann.is_gratuitous() && !ann.is_probe());
        assert_eq!(ann.operation, ArpOperation::Request);
        assert_eq!(
            (ann.source_protocol_addr, ann.target_protocol_addr),
            (IP1, IP1)
        );
        let mut out = [0u8; 28];
        ann.emit(&mut out);
        let p = ArpPacket::new_checked(&out[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p).unwrap(), ann);
    }

    #[test]
    fn other_lengths_are_read() {
        // Hardware length 8 (e.g. EUI-64), protocol length 2, operation 3 (RARP).
        let b = [
            0x00, 0x20, 0x12, 0x34, 8, 2, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 0xa, 0xb, 11, 12, 13, 14,
            15, 16, 17, 18, 0xc, 0xd, 0xff,
        ];
        let p = ArpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.hardware_type(), ArpHardware::Unknown(0x20));
        assert_eq!(p.protocol_type(), EtherType::Unknown(0x1234));
        assert_eq!(p.operation(), ArpOperation::Unknown(3));
        assert_eq!(p.source_hardware_addr(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(p.source_protocol_addr(), &[0xa, 0xb]);
        assert_eq!(p.target_hardware_addr(), &[11, 12, 13, 14, 15, 16, 17, 18]);
        assert_eq!(p.target_protocol_addr(), &[0xc, 0xd]);
        assert_eq!(
            ArpRepr::parse(&p).unwrap_err().to_string(),
            "ARP: hardware type 32 is invalid, expected 1 (Ethernet)"
        );
    }

    #[test]
    fn parse_rejects_non_ethernet_ipv4() {
        let err = |at: usize, v: u8| {
            let mut b = REQUEST;
            b[at] = v;
            ArpRepr::parse(&ArpPacket::new_unchecked(&b[..]))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(1, 6),
            "ARP: hardware type 6 is invalid, expected 1 (Ethernet)"
        );
        assert_eq!(
            err(2, 0x86),
            "ARP: protocol type 34304 is invalid, expected 0x0800 (IPv4)"
        );
        assert_eq!(
            err(4, 8),
            "ARP: hardware address length 8 is invalid, expected 6"
        );
        assert_eq!(
            err(5, 16),
            "ARP: protocol address length 16 is invalid, expected 4"
        );
        let p = ArpPacket::new_unchecked(&REQUEST[..27]);
        assert_eq!(
            ArpRepr::parse(&p).unwrap_err().to_string(),
            "ARP: addresses truncated: need 28 bytes, have 27"
        );
        let mut b = REQUEST;
        b[7] = 9;
        let r = ArpRepr::parse(&ArpPacket::new_unchecked(&b[..])).unwrap();
        assert_eq!(r.operation, ArpOperation::Unknown(9));
        assert_eq!(
            r.to_string(),
            "ARP operation 9 192.168.10.2 (02:00:00:00:00:01) > 192.168.10.1 (00:00:00:00:00:00)"
        );
    }

    #[test]
    fn setters_write_the_fields() {
        let mut b = [0u8; 28];
        let mut p = ArpPacket::new_unchecked(&mut b[..]);
        p.set_hardware_type(ArpHardware::Ethernet);
        p.set_protocol_type(EtherType::Ipv4);
        p.set_hardware_len(6);
        p.set_protocol_len(4);
        p.set_operation(ArpOperation::Reply);
        p.set_source_hardware_addr(&MAC2.0);
        p.set_source_protocol_addr(&IP1.octets());
        p.set_target_hardware_addr(&MAC1.0);
        p.set_target_protocol_addr(&IP2.octets());
        assert_eq!(b, REPLY);
    }

    #[test]
    fn every_truncation_is_rejected() {
        for len in 0..REQUEST.len() {
            let e = ArpPacket::new_checked(&REQUEST[..len]).unwrap_err();
            assert!(e.is_truncated(), "{len}: {e}");
            assert!(ArpRepr::parse(&ArpPacket::new_unchecked(&REQUEST[..len])).is_err());
        }
        assert_eq!(
            ArpPacket::new_checked(&REQUEST[..7])
                .unwrap_err()
                .to_string(),
            "ARP: header truncated: need 8 bytes, have 7"
        );
        // Ethernet padding after the packet is ignored.
        let mut padded = [0u8; 46];
        padded[..28].copy_from_slice(&REQUEST);
        let p = ArpPacket::new_checked(&padded[..]).unwrap();
        assert_eq!(
            ArpRepr::parse(&p).unwrap(),
            ArpRepr::request(MAC1, IP2, IP1)
        );
    }

    fn exercise(bytes: &[u8]) {
        if let Ok(p) = ArpPacket::new_checked(bytes) {
            let _ = (p.hardware_type(), p.protocol_type(), p.hardware_len());
            let _ = (p.protocol_len(), p.operation(), p.packet_len());
            let _ = (p.source_hardware_addr(), p.source_protocol_addr());
            let _ = (p.target_hardware_addr(), p.target_protocol_addr());
        }
        if let Ok(r) = ArpRepr::parse(&ArpPacket::new_unchecked(bytes)) {
            let _ = (r.to_string(), r.is_gratuitous(), r.is_probe());
        }
    }

    #[test]
    fn no_panic_on_truncations_and_corruptions() {
        for fixture in [&REQUEST, &REPLY] {
            for len in 0..=fixture.len() {
                exercise(&fixture[..len]);
            }
            for at in 0..fixture.len() {
                for v in 0..=255u8 {
                    let mut b = *fixture;
                    b[at] = v;
                    exercise(&b);
                }
            }
        }
    }
}
