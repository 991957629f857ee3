//! IPv6 (RFC 8200): the fixed header, the extension-header chain ([`Ipv6ExtHeaders`],
//! [`Ipv6Packet::upper_layer`]) and address helpers (RFC 4291, RFC 2464).
//!
//! ```text
//!  0       4              12                      31
//! +-------+---------------+------------------------+
//! |Version| Traffic Class |       Flow Label       |
//! +-------+---------------+--------+---------------+
//! |      Payload Length (16)       | Next Hdr | Hop Limit |
//! +--------------------------------+----------+-----------+
//! |              Source Address (128)                     |
//! |           Destination Address (128)                   |
//! +-------------------------------------------------------+
//! ```
//!
//! The payload is bounded by Payload Length: bytes after it in the buffer are link-layer
//! padding. Jumbograms (RFC 2675: Payload Length 0 with a Jumbo Payload option) are out of
//! scope: a Payload Length of 0 always means an empty payload.

use core::fmt;
use core::net::Ipv6Addr;

use super::ethernet::EthernetAddress;
use super::{Error, IpAddrPair, IpProtocol, Proto, Result, be16, be32, put_be16, put_be32};

mod ext;

pub use ext::{
    FRAGMENT_HEADER_LEN, FragmentInfo, Ipv6ExtHeader, Ipv6ExtHeaders, Ipv6FragmentHeader,
    Ipv6FragmentRepr, Ipv6Option, Ipv6OptionAction, Ipv6Options, Ipv6OptionsRepr,
    Ipv6RoutingHeader, MAX_EXT_HEADERS, UpperLayer, find_upper_layer, is_extension_header,
    option_type,
};

mod field {
    use crate::wire::Field;
    /// Version(4) Traffic Class(8) Flow Label(20).
    pub const VER_TC_FLOW: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// The length of the IPv6 fixed header.
pub const HEADER_LEN: usize = 40;

/// `ff02::1`, all nodes on the link (RFC 4291 §2.7.1).
pub const LINK_LOCAL_ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// `ff02::2`, all routers on the link (RFC 4291 §2.7.1).
pub const LINK_LOCAL_ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// A read/write view of an IPv6 packet.
///
/// ```
/// use proto_core::wire::ipv6::Ipv6Packet;
/// use proto_core::wire::IpProtocol;
/// let mut bytes = [0u8; 44];
/// bytes[0] = 0x60;
/// bytes[5] = 4; // payload length
/// bytes[6] = 17; // UDP
/// let packet = Ipv6Packet::new_checked(&bytes[..]).unwrap();
/// let upper = packet.upper_layer().unwrap();
/// assert_eq!((upper.protocol, upper.offset), (IpProtocol::Udp, 0));
/// assert_eq!(packet.payload().len(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the 40-byte header, the version is 6 and the payload fits
    /// in the buffer. Extension headers are checked when walked (see
    /// [`upper_layer`](Self::upper_layer)). After `Ok`, no accessor panics.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(
                Proto::Ipv6,
                "header",
                HEADER_LEN,
                buf.len(),
            ));
        }
        let version = buf[field::VER_TC_FLOW] >> 4;
        if version != 6 {
            return Err(Error::invalid(Proto::Ipv6, "version", version.into(), "6"));
        }
        let payload_len = usize::from(be16(buf, field::PAYLOAD_LEN));
        if payload_len > buf.len() - HEADER_LEN {
            return Err(Error::above(
                Proto::Ipv6,
                "payload length",
                payload_len,
                "buffer length",
                buf.len() - HEADER_LEN,
            ));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (6 in a checked packet).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW] >> 4
    }

    /// The Traffic Class (DSCP in the high six bits, ECN in the low two; RFC 2474, RFC 3168).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (be16(self.buffer.as_ref(), field::VER_TC_FLOW) >> 4) as u8
    }

    /// The 20-bit Flow Label (RFC 6437).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        be32(self.buffer.as_ref(), field::VER_TC_FLOW) & 0x000f_ffff
    }

    /// The Payload Length: the bytes after the fixed header, extension headers included.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PAYLOAD_LEN)
    }

    /// The packet's length: 40 + Payload Length.
    #[inline]
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }

    /// The Next Header: the first extension header or the upper layer.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// The Hop Limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        ipv6_at(self.buffer.as_ref(), field::SRC_ADDR.start)
    }

    /// The destination address (with a Routing header: the next hop's, not the final one).
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        ipv6_at(self.buffer.as_ref(), field::DST_ADDR.start)
    }

    /// The source and destination, for upper-layer checksums. With a Routing header the
    /// pseudo-header needs the final destination instead (RFC 8200 §8.1).
    #[inline]
    pub fn addr_pair(&self) -> IpAddrPair {
        IpAddrPair::V6 {
            src: self.src_addr(),
            dst: self.dst_addr(),
        }
    }

    /// The payload (extension headers and upper layer), `payload_len` bytes long; anything
    /// after it in the buffer is link padding.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.total_len()]
    }

    /// An iterator over the extension headers at the start of the payload.
    #[inline]
    pub fn ext_headers(&self) -> Ipv6ExtHeaders<'_> {
        Ipv6ExtHeaders::new(self.next_header(), self.payload())
    }

    /// Where the upper-layer header starts in [`payload`](Self::payload), walking the
    /// extension headers (at most [`MAX_EXT_HEADERS`]); see [`find_upper_layer`].
    ///
    /// A non-first fragment has no upper-layer header: check
    /// [`UpperLayer::has_header`] (or `fragment.offset != 0`) before parsing at `offset`.
    #[inline]
    pub fn upper_layer(&self) -> Result<UpperLayer> {
        let next = self.buffer.as_ref()[field::NEXT_HEADER];
        // The hot path: no extension header.
        if !ext::is_ext_number(next) {
            return Ok(UpperLayer {
                protocol: IpProtocol::from(next),
                offset: 0,
                fragment: None,
            });
        }
        find_upper_layer(IpProtocol::from(next), self.payload())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv6Packet<&'a T> {
    /// The payload, borrowed for the buffer's whole lifetime (not just the view's).
    #[inline]
    pub fn payload_slice(&self) -> &'a [u8] {
        let end = self.total_len();
        &self.buffer.as_ref()[HEADER_LEN..end]
    }

    /// [`ext_headers`](Ipv6Packet::ext_headers), borrowed for the buffer's lifetime.
    #[inline]
    pub fn ext_headers_slice(&self) -> Ipv6ExtHeaders<'a> {
        Ipv6ExtHeaders::new(self.next_header(), self.payload_slice())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Sets the version field (normally 6).
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TC_FLOW];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Sets the Traffic Class.
    #[inline]
    pub fn set_traffic_class(&mut self, tc: u8) {
        let buf = self.buffer.as_mut();
        let word = be16(buf, field::VER_TC_FLOW) & 0xf00f;
        put_be16(buf, field::VER_TC_FLOW, word | (u16::from(tc) << 4));
    }

    /// Sets the Flow Label (its low 20 bits).
    #[inline]
    pub fn set_flow_label(&mut self, label: u32) {
        let buf = self.buffer.as_mut();
        let word = be32(buf, field::VER_TC_FLOW) & 0xfff0_0000;
        put_be32(buf, field::VER_TC_FLOW, word | (label & 0x000f_ffff));
    }

    /// Sets the Payload Length.
    #[inline]
    pub fn set_payload_len(&mut self, len: u16) {
        put_be16(self.buffer.as_mut(), field::PAYLOAD_LEN, len);
    }

    /// Sets the Next Header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value.into();
    }

    /// Sets the Hop Limit.
    #[inline]
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The payload (bounded by Payload Length), writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// Reads an IPv6 address at `at`. Callers guarantee the bounds.
#[inline(always)]
fn ipv6_at(buf: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&buf[at..at + 16]);
    Ipv6Addr::from(octets)
}

/// A parsed IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// The Next Header (first extension header or upper layer).
    pub next_header: IpProtocol,
    /// The Payload Length (at most 65,535).
    pub payload_len: usize,
    /// The Hop Limit.
    pub hop_limit: u8,
    /// The Traffic Class.
    pub traffic_class: u8,
    /// The Flow Label (20 bits).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Reads the header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.payload_len().into(),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// The header's length: 40.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into the start of `buf` (at least 40 bytes) and returns 40; the
    /// payload goes after it. Panics if `payload_len` exceeds 65,535 (no jumbograms).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let payload_len = u16::try_from(self.payload_len).expect("IPv6 payload length above 65535");
        let word =
            (6 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        put_be32(buf, field::VER_TC_FLOW, word);
        put_be16(buf, field::PAYLOAD_LEN, payload_len);
        buf[field::NEXT_HEADER] = self.next_header.into();
        buf[field::HOP_LIMIT] = self.hop_limit;
        buf[field::SRC_ADDR].copy_from_slice(&self.src_addr.octets());
        buf[field::DST_ADDR].copy_from_slice(&self.dst_addr.octets());
        HEADER_LEN
    }
}

impl fmt::Display for Ipv6Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv6 {} > {} next {} len {} hlim {}",
            self.src_addr, self.dst_addr, self.next_header, self.payload_len, self.hop_limit
        )?;
        if self.traffic_class != 0 {
            write!(f, " tc {:#04x}", self.traffic_class)?;
        }
        if self.flow_label != 0 {
            write!(f, " flow {:#07x}", self.flow_label)?;
        }
        Ok(())
    }
}

/// True for a link-local unicast address, `fe80::/10` (RFC 4291 §2.5.6).
#[inline]
pub const fn is_link_local(addr: Ipv6Addr) -> bool {
    let o = addr.octets();
    o[0] == 0xfe && o[1] & 0xc0 == 0x80
}

/// The solicited-node multicast address of `addr`: `ff02::1:ff00:0/104` plus its low 24 bits
/// (RFC 4291 §2.7.1), where Neighbor Solicitations for `addr` are sent (RFC 4861 §7.2.2).
#[inline]
pub const fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | o[13] as u16,
        ((o[14] as u16) << 8) | o[15] as u16,
    )
}

/// True for a solicited-node multicast address, `ff02::1:ff00:0/104` (RFC 4291 §2.7.1).
#[inline]
pub const fn is_solicited_node(addr: Ipv6Addr) -> bool {
    let s = addr.segments();
    s[0] == 0xff02
        && s[1] == 0
        && s[2] == 0
        && s[3] == 0
        && s[4] == 0
        && s[5] == 1
        && s[6] >> 8 == 0xff
}

/// The Ethernet multicast address an IPv6 multicast address maps to: `33:33` followed by its
/// low 32 bits (RFC 2464 §7). The mapping is only meaningful for multicast addresses.
#[inline]
pub const fn multicast_mac(addr: Ipv6Addr) -> EthernetAddress {
    let o = addr.octets();
    EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// The modified EUI-64 interface identifier of a MAC address: `ff:fe` inserted in the middle
/// and the universal/local bit inverted (RFC 4291 Appendix A).
#[inline]
pub const fn interface_id(mac: EthernetAddress) -> [u8; 8] {
    let m = mac.0;
    [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
}

/// The link-local address `fe80::/64` + the modified EUI-64 interface identifier of `mac`
/// (RFC 4291 Appendix A, RFC 4862 §5.3).
#[inline]
pub const fn link_local_from_mac(mac: EthernetAddress) -> Ipv6Addr {
    let id = interface_id(mac);
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([id[0], id[1]]),
        u16::from_be_bytes([id[2], id[3]]),
        u16::from_be_bytes([id[4], id[5]]),
        u16::from_be_bytes([id[6], id[7]]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;
    use std::vec::Vec;

    // scapy: IPv6(src="2001:db8::1", dst="2001:db8::2", hlim=64, fl=0x12345)
    //        / ICMPv6EchoRequest(id=0x1c2b, seq=1, data=bytes(range(0x10, 0x20)))
    static ECHO_REQUEST: [u8; 64] = [
        0x60, 0x01, 0x23, 0x45, 0x00, 0x18, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00, 0x4f, 0x4b, 0x1c,
        0x2b, 0x00, 0x01, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
        0x1c, 0x1d, 0x1e, 0x1f,
    ];
    // scapy: IPv6(...)/IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)])
    //        / IPv6ExtHdrFragment(offset=0, m=1, id=0xdeadbeef)/UDP(sport=1234, dport=53)/b"hello"
    static HBH_FRAG_UDP: [u8; 69] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x1d, 0x00, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x2c, 0x00, 0x05, 0x02, 0x00,
        0x00, 0x01, 0x00, 0x11, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x04, 0xd2, 0x00, 0x35,
        0x00, 0x0d, 0x5b, 0x86, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
    ];
    // scapy: IPv6(...)/IPv6ExtHdrRouting(addresses=["2001:db8::3"], segleft=1)
    //        / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0\0\0\0")])
    //        / IPv6ExtHdrFragment(offset=185, m=0, id=0x01020304, nh=17)/b"fragmentdata"
    static RT_DEST_FRAG: [u8; 92] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x34, 0x2b, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3c, 0x02, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x03, 0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x05,
        0xc8, 0x01, 0x02, 0x03, 0x04, 0x66, 0x72, 0x61, 0x67, 0x6d, 0x65, 0x6e, 0x74, 0x64, 0x61,
        0x74, 0x61,
    ];

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_reads_every_field() {
        let p = Ipv6Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0);
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.payload_len(), 24);
        assert_eq!(p.total_len(), 64);
        assert_eq!(p.next_header(), IpProtocol::Icmpv6);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr(), addr("2001:db8::1"));
        assert_eq!(p.dst_addr(), addr("2001:db8::2"));
        assert_eq!(
            p.addr_pair(),
            IpAddrPair::V6 {
                src: addr("2001:db8::1"),
                dst: addr("2001:db8::2")
            }
        );
        assert_eq!(p.payload(), &ECHO_REQUEST[40..]);
        assert_eq!(p.payload_slice(), &ECHO_REQUEST[40..]);
        assert_eq!(p.ext_headers().count(), 0);
        assert_eq!(p.ext_headers_slice().count(), 0);
        let upper = p.upper_layer().unwrap();
        assert_eq!(
            upper,
            UpperLayer {
                protocol: IpProtocol::Icmpv6,
                offset: 0,
                fragment: None
            }
        );
        assert!(upper.has_header());
        assert_eq!(p.into_inner(), &ECHO_REQUEST[..]);
    }

    #[test]
    fn repr_parses_emits_and_displays() {
        let p = Ipv6Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        let repr = Ipv6Repr::parse(&p).unwrap();
        assert_eq!(
            repr,
            Ipv6Repr {
                src_addr: addr("2001:db8::1"),
                dst_addr: addr("2001:db8::2"),
                next_header: IpProtocol::Icmpv6,
                payload_len: 24,
                hop_limit: 64,
                traffic_class: 0,
                flow_label: 0x12345,
            }
        );
        assert_eq!(repr.buffer_len(), 40);
        let mut out = [0xffu8; 40];
        assert_eq!(repr.emit(&mut out), 40);
        assert_eq!(out, ECHO_REQUEST[..40]);
        assert_eq!(
            repr.to_string(),
            "IPv6 2001:db8::1 > 2001:db8::2 next ICMPv6 len 24 hlim 64 flow 0x12345"
        );
        // Round trip with a traffic class.
        let repr = Ipv6Repr {
            traffic_class: 0xb8,
            ..repr
        };
        repr.emit(&mut out);
        let back = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&out[..])).unwrap_err();
        // 40 bytes but payload length 24: the buffer must hold the payload.
        assert_eq!(
            back.to_string(),
            "IPv6: payload length 24 > buffer length 0"
        );
        let mut full = [0u8; 64];
        repr.emit(&mut full);
        let back = Ipv6Repr::parse(&Ipv6Packet::new_checked(&full[..]).unwrap()).unwrap();
        assert_eq!(back, repr);
    }

    #[test]
    fn setters_write_the_fields() {
        let mut b = ECHO_REQUEST;
        let mut p = Ipv6Packet::new_checked(&mut b[..]).unwrap();
        p.set_traffic_class(0xfe);
        assert_eq!(
            (p.version(), p.traffic_class(), p.flow_label()),
            (6, 0xfe, 0x12345)
        );
        p.set_flow_label(0xfffff);
        assert_eq!(
            (p.version(), p.traffic_class(), p.flow_label()),
            (6, 0xfe, 0xfffff)
        );
        p.set_flow_label(0x1_00001);
        assert_eq!(p.flow_label(), 1);
        p.set_version(4);
        assert_eq!((p.version(), p.traffic_class()), (4, 0xfe));
        p.set_version(6);
        p.set_payload_len(20);
        p.set_next_header(IpProtocol::Udp);
        p.set_hop_limit(1);
        p.set_src_addr(addr("fe80::1"));
        p.set_dst_addr(addr("ff02::1"));
        p.payload_mut()[0] = 0xaa;
        assert_eq!(p.payload_len(), 20);
        assert_eq!(p.payload_mut().len(), 20);
        assert_eq!(p.next_header(), IpProtocol::Udp);
        assert_eq!(p.hop_limit(), 1);
        assert_eq!(p.src_addr(), addr("fe80::1"));
        assert_eq!(p.dst_addr(), addr("ff02::1"));
        assert_eq!(p.payload()[0], 0xaa);
        assert!(p.check_len().is_ok());
    }

    #[test]
    fn truncations_and_bad_fields_are_rejected() {
        for len in 0..ECHO_REQUEST.len() {
            let e = Ipv6Packet::new_checked(&ECHO_REQUEST[..len]).unwrap_err();
            if len < 40 {
                assert!(e.is_truncated(), "{len}: {e}");
            } else {
                assert_eq!(
                    e.to_string(),
                    std::format!("IPv6: payload length 24 > buffer length {}", len - 40)
                );
            }
        }
        let e = Ipv6Packet::new_checked(&ECHO_REQUEST[..39]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv6: header truncated: need 40 bytes, have 39"
        );
        let mut b = ECHO_REQUEST;
        b[0] = 0x45;
        let e = Ipv6Packet::new_checked(&b[..]).unwrap_err();
        assert_eq!(e.to_string(), "IPv6: version 4 is invalid, expected 6");
    }

    #[test]
    fn link_padding_is_not_payload() {
        let mut b = [0u8; 70];
        b[..64].copy_from_slice(&ECHO_REQUEST);
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload(), &ECHO_REQUEST[40..]);
        // Payload Length 0 is an empty payload (no jumbograms).
        b[4] = 0;
        b[5] = 0;
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload(), &[] as &[u8]);
    }

    #[test]
    fn upper_layer_walks_hop_by_hop_and_first_fragment() {
        let p = Ipv6Packet::new_checked(&HBH_FRAG_UDP[..]).unwrap();
        let upper = p.upper_layer().unwrap();
        assert_eq!(
            upper,
            UpperLayer {
                protocol: IpProtocol::Udp,
                offset: 16,
                fragment: Some(FragmentInfo {
                    offset: 0,
                    more: true,
                    ident: 0xdead_beef
                }),
            }
        );
        assert!(upper.has_header());
        // The UDP source port is at the offset.
        assert_eq!(&p.payload()[upper.offset..upper.offset + 2], &[0x04, 0xd2]);
        let kinds: Vec<_> = p.ext_headers().map(|h| h.unwrap().kind).collect();
        assert_eq!(kinds, [IpProtocol::HopByHop, IpProtocol::Ipv6Frag]);
    }

    #[test]
    fn upper_layer_of_a_non_first_fragment_has_no_header() {
        let p = Ipv6Packet::new_checked(&RT_DEST_FRAG[..]).unwrap();
        let upper = p.upper_layer().unwrap();
        assert_eq!(
            upper,
            UpperLayer {
                protocol: IpProtocol::Udp,
                offset: 40,
                fragment: Some(FragmentInfo {
                    offset: 1480,
                    more: false,
                    ident: 0x0102_0304
                }),
            }
        );
        assert!(!upper.has_header());
        assert_eq!(&p.payload()[upper.offset..], b"fragmentdata");
    }

    #[test]
    fn upper_layer_errors_surface() {
        // A Fragment header cut short by Payload Length.
        let mut b = HBH_FRAG_UDP;
        b[5] = 12;
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        let e = p.upper_layer().unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: Fragment header truncated: need 8 bytes, have 4"
        );
        // ESP ends the walk at once.
        b[6] = 50;
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.upper_layer().unwrap().protocol, IpProtocol::Esp);
    }

    #[test]
    fn address_helpers() {
        let ll = addr("fe80::5054:ff:feab:cdef");
        assert!(is_link_local(ll));
        assert!(is_link_local(addr("febf::1")));
        assert!(!is_link_local(addr("fec0::1")));
        assert!(!is_link_local(addr("2001:db8::1")));
        let sn = solicited_node(ll);
        assert_eq!(sn, addr("ff02::1:ffab:cdef"));
        assert!(is_solicited_node(sn));
        assert!(!is_solicited_node(LINK_LOCAL_ALL_NODES));
        assert_eq!(
            multicast_mac(sn),
            EthernetAddress([0x33, 0x33, 0xff, 0xab, 0xcd, 0xef])
        );
        assert_eq!(
            multicast_mac(LINK_LOCAL_ALL_ROUTERS),
            EthernetAddress([0x33, 0x33, 0, 0, 0, 2])
        );
        let mac = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(link_local_from_mac(mac), addr("fe80::5054:ff:fe12:3456"));
        assert_eq!(
            interface_id(mac),
            [0x50, 0x54, 0, 0xff, 0xfe, 0x12, 0x34, 0x56]
        );
        // A locally administered MAC gets the U/L bit cleared.
        let local = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
        assert_eq!(link_local_from_mac(local), addr("fe80::ff:fe00:1"));
    }

    /// Reads every accessor of a checked packet; walks every iterator.
    fn touch_everything(p: &Ipv6Packet<&[u8]>) {
        let _ = (
            p.version(),
            p.traffic_class(),
            p.flow_label(),
            p.payload_len(),
        );
        let _ = (p.next_header(), p.hop_limit(), p.src_addr(), p.dst_addr());
        let _ = (p.payload(), p.payload_slice(), p.addr_pair(), p.total_len());
        let _ = Ipv6Repr::parse(p).unwrap();
        if let Ok(upper) = p.upper_layer() {
            assert!(upper.offset <= p.payload().len());
            let _ = &p.payload()[upper.offset..];
        }
        let mut n = 0;
        for header in p.ext_headers() {
            n += 1;
            assert!(n <= MAX_EXT_HEADERS + 1);
            let Ok(header) = header else { continue };
            let _ = (header.header_len(), header.routing(), header.next_header);
            if let Some(f) = header.fragment() {
                let _ = (f.next_header(), f.frag_offset(), f.more_frags(), f.ident());
                let _ = Ipv6FragmentRepr::parse(&f).unwrap();
            }
            let mut m = 0;
            for option in header.options() {
                m += 1;
                assert!(m <= header.header_len());
                if let Ok(o) = option {
                    let _ = (o.kind(), o.action(), o.may_change(), o.buffer_len());
                }
            }
        }
    }

    #[test]
    fn no_panic_on_truncations_and_corruptions() {
        let values = [
            0x00, 0x01, 0x02, 0x05, 0x07, 0x2b, 0x2c, 0x33, 0x3c, 0x80, 0xc2, 0xff,
        ];
        for fixture in [&ECHO_REQUEST[..], &HBH_FRAG_UDP[..], &RT_DEST_FRAG[..]] {
            for len in 0..=fixture.len() {
                if let Ok(p) = Ipv6Packet::new_checked(&fixture[..len]) {
                    touch_everything(&p);
                }
            }
            for at in 0..fixture.len() {
                for v in values {
                    let mut b = fixture.to_vec();
                    b[at] = v;
                    if let Ok(p) = Ipv6Packet::new_checked(&b[..]) {
                        touch_everything(&p);
                    }
                }
            }
        }
    }
}
