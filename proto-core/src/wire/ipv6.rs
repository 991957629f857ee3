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
    let mut o = [0u8; 16];
    o[0] = 0xfe;
    o[1] = 0x80;
    let mut i = 0;
    while i < 8 {
        o[8 + i] = id[i];
        i += 1;
    }
    Ipv6Addr::from_octets(o)
}
