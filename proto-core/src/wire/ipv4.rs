//! IPv4 (RFC 791), with the DSCP/ECN split of the old TOS octet (RFC 2474, RFC 3168), the
//! identification rules of RFC 6864 and the Router Alert option (RFC 2113).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |Flags|      Fragment Offset    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options (0-40 bytes)       |    Padding    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! Flags = reserved(1) DF(1) MF(1); IHL and Fragment Offset count 4- and 8-byte units.
//! ```
//!
//! Bytes after `total length` (e.g. Ethernet padding of short frames) are not part of the
//! packet: [`Ipv4Packet::payload`] ends at `total length`.

use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;

use super::{Error, IpProtocol, Proto, Result, be16, put_be16};
use crate::checksum;

/// An IPv4 address with a prefix length, e.g. `192.168.10.1/24`.
///
/// ```
/// use proto_core::wire::ipv4::Ipv4Cidr;
/// use core::net::Ipv4Addr;
/// let cidr: Ipv4Cidr = "192.168.10.1/24".parse().unwrap();
/// assert_eq!(cidr.network(), Ipv4Addr::new(192, 168, 10, 0));
/// assert!(cidr.contains(Ipv4Addr::new(192, 168, 10, 200)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    address: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Cidr {
    /// `address/prefix_len`, or `None` when `prefix_len > 32`.
    pub const fn new(address: Ipv4Addr, prefix_len: u8) -> Option<Self> {
        if prefix_len > 32 {
            None
        } else {
            Some(Self {
                address,
                prefix_len,
            })
        }
    }

    /// The address (host bits included, as given).
    #[inline]
    pub const fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The prefix length, `0..=32`.
    #[inline]
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The network mask, e.g. `255.255.255.0` for `/24`.
    #[inline]
    pub const fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.mask_bits())
    }

    const fn mask_bits(&self) -> u32 {
        match u32::MAX.checked_shl(32 - self.prefix_len as u32) {
            Some(m) => m,
            None => 0,
        }
    }

    /// The address with the host bits cleared, e.g. `192.168.10.0` for `192.168.10.1/24`.
    #[inline]
    pub const fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.address.to_bits() & self.mask_bits())
    }

    /// The directed broadcast address: the host bits all set, e.g. `192.168.10.255` for `/24`
    /// (for `/31` and `/32` this is simply the highest address of the prefix).
    #[inline]
    pub const fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.address.to_bits() | !self.mask_bits())
    }

    /// True when `addr` is inside the prefix.
    #[inline]
    pub const fn contains(&self, addr: Ipv4Addr) -> bool {
        (addr.to_bits() ^ self.address.to_bits()) & self.mask_bits() == 0
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// The error of [`Ipv4Cidr::from_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseIpv4CidrError {
    /// There is no `/prefix` part.
    MissingPrefixLen,
    /// The part before `/` is not a dotted-quad IPv4 address.
    InvalidAddress,
    /// The part after `/` is not a decimal number in `0..=32`.
    InvalidPrefixLen,
}

impl fmt::Display for ParseIpv4CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingPrefixLen => {
                "invalid IPv4 CIDR: expected address/prefix-length like 192.168.10.1/24"
            }
            Self::InvalidAddress => "invalid IPv4 CIDR: the address is not like 192.168.10.1",
            Self::InvalidPrefixLen => "invalid IPv4 CIDR: the prefix length must be 0 to 32",
        })
    }
}

impl core::error::Error for ParseIpv4CidrError {}

impl FromStr for Ipv4Cidr {
    type Err = ParseIpv4CidrError;

    /// Parses `192.168.10.1/24`.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let (addr, len) = s
            .split_once('/')
            .ok_or(ParseIpv4CidrError::MissingPrefixLen)?;
        let address = addr
            .parse::<Ipv4Addr>()
            .map_err(|_| ParseIpv4CidrError::InvalidAddress)?;
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseIpv4CidrError::InvalidPrefixLen);
        }
        let prefix_len = len
            .parse::<u8>()
            .map_err(|_| ParseIpv4CidrError::InvalidPrefixLen)?;
        Self::new(address, prefix_len).ok_or(ParseIpv4CidrError::InvalidPrefixLen)
    }
}

mod field {
    use crate::wire::Field;
    /// Version(4) IHL(4).
    pub const VER_IHL: usize = 0;
    /// DSCP(6) ECN(2), formerly Type of Service.
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    /// Flags(3) Fragment Offset(13).
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// The length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// The most option bytes a header can carry (IHL 15 = 60 bytes, RFC 791 §3.1).
pub const MAX_OPTIONS_LEN: usize = 40;

/// The Don't Fragment flag in the flags/fragment-offset word.
const FLAG_DF: u16 = 0x4000;
/// The More Fragments flag.
const FLAG_MF: u16 = 0x2000;
/// The fragment offset bits (in 8-byte units).
const OFFSET_MASK: u16 = 0x1fff;

/// The folded one's-complement sum of a 20-byte header (RFC 1071), as five 32-bit adds: the
/// common header's checksum without the general loop.
#[inline(always)]
pub(crate) fn sum_fixed(h: &[u8; HEADER_LEN]) -> u16 {
    checksum::sum_words32(h.as_chunks::<4>().0.iter().map(|w| u32::from_be_bytes(*w)))
}

/// A read/write view of an IPv4 packet.
///
/// ```
/// use proto_core::wire::{IpProtocol, ipv4::Ipv4Packet};
/// let bytes = [
///     0x45, 0x00, 0x00, 0x15, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
///     192, 168, 10, 2, 192, 168, 10, 1, 0xaa, 0xff, 0xff, // 2 bytes of link padding
/// ];
/// let mut packet = Ipv4Packet::new_checked(bytes).unwrap();
/// packet.fill_checksum();
/// assert!(packet.verify_checksum());
/// assert_eq!(packet.protocol(), IpProtocol::Udp);
/// assert_eq!(packet.payload(), &[0xaa]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
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

    /// Checks that the buffer holds the fixed header, that the version is 4, and that
    /// `20 <= header length <= total length <= buffer length`. After `Ok`, no accessor panics.
    /// The checksum is not verified (see [`check_checksum`](Self::check_checksum)) and the
    /// options are not walked.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(
                Proto::Ipv4,
                "header",
                HEADER_LEN,
                buf.len(),
            ));
        }
        let version = buf[field::VER_IHL] >> 4;
        if version != 4 {
            return Err(Error::invalid(Proto::Ipv4, "version", version.into(), "4"));
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::below(
                Proto::Ipv4,
                "header length",
                header_len,
                "minimum",
                HEADER_LEN,
            ));
        }
        if header_len > buf.len() {
            return Err(Error::truncated(
                Proto::Ipv4,
                "options",
                header_len,
                buf.len(),
            ));
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::below(
                Proto::Ipv4,
                "total length",
                total_len,
                "header length",
                header_len,
            ));
        }
        if total_len > buf.len() {
            return Err(Error::above(
                Proto::Ipv4,
                "total length",
                total_len,
                "buffer length",
                buf.len(),
            ));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (4 after `check_len`).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL * 4), options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The Differentiated Services Code Point (RFC 2474), 6 bits.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// The Explicit Congestion Notification field (RFC 3168), 2 bits.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// The total length of the packet (header and payload) in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The identification field (RFC 791; RFC 6864: only meaningful for fragmentation).
    #[inline]
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT.start)
    }

    /// The Don't Fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF.start) & FLAG_DF != 0
    }

    /// The More Fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF.start) & FLAG_MF != 0
    }

    /// The fragment offset **in bytes**: the 13-bit field (which counts 8-byte units) times 8.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (be16(self.buffer.as_ref(), field::FLG_OFF.start) & OFFSET_MASK) << 3
    }

    /// True when the packet is a fragment: More Fragments is set or the offset is not zero.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF.start) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// The time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }

    /// The raw option bytes (padding included): bytes 20 to `header_len`.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// An iterator over the options; see [`Ipv4Options`].
    #[inline]
    pub fn options_iter(&self) -> Ipv4Options<'_> {
        Ipv4Options::new(self.options())
    }

    /// The payload: from `header_len` to `total_len`. Bytes after `total_len` are link-layer
    /// padding and are not included.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let total = usize::from(self.total_len());
        &self.buffer.as_ref()[self.header_len()..total]
    }

    /// True when the header checksum is correct (RFC 1071: the header sums to all ones).
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let buf = self.buffer.as_ref();
        let len = self.header_len();
        if len == HEADER_LEN
            && let Some(h) = buf.first_chunk::<HEADER_LEN>()
        {
            return checksum::verify(sum_fixed(h));
        }
        checksum::verify(checksum::sum(&buf[..len]))
    }

    /// `Ok` when the header checksum is correct, else a `BadChecksum` error with the checksum
    /// found and the one expected.
    #[inline]
    pub fn check_checksum(&self) -> Result<()> {
        if self.verify_checksum() {
            return Ok(());
        }
        let buf = self.buffer.as_ref();
        let expected = !checksum::combine(&[
            checksum::sum(&buf[..field::CHECKSUM.start]),
            checksum::sum(&buf[field::CHECKSUM.end..self.header_len()]),
        ]);
        Err(Error::bad_checksum(Proto::Ipv4, self.checksum(), expected))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The payload (bounded by `total_len`), borrowed for the buffer's whole lifetime.
    #[inline]
    pub fn payload_slice(&self) -> &'a [u8] {
        let buf: &'a [u8] = self.buffer.as_ref();
        let total = usize::from(be16(buf, field::LENGTH.start));
        &buf[self.header_len()..total]
    }

    /// The raw option bytes, borrowed for the buffer's whole lifetime.
    #[inline]
    pub fn options_slice(&self) -> &'a [u8] {
        let buf: &'a [u8] = self.buffer.as_ref();
        &buf[HEADER_LEN..self.header_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets the version field.
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Sets the header length in bytes; it is stored divided by 4 (the IHL), so it should be a
    /// multiple of 4 in `20..=60`.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP (6 bits; higher bits are dropped).
    #[inline]
    pub fn set_dscp(&mut self, dscp: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (dscp << 2);
    }

    /// Sets the ECN field (2 bits; higher bits are dropped).
    #[inline]
    pub fn set_ecn(&mut self, ecn: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & !0x03) | (ecn & 0x03);
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        put_be16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        put_be16(self.buffer.as_mut(), field::IDENT.start, ident);
    }

    fn set_flag(&mut self, flag: u16, on: bool) {
        let buf = self.buffer.as_mut();
        let w = be16(buf, field::FLG_OFF.start);
        put_be16(
            buf,
            field::FLG_OFF.start,
            if on { w | flag } else { w & !flag },
        );
    }

    /// Sets the Don't Fragment flag.
    #[inline]
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flag(FLAG_DF, value);
    }

    /// Sets the More Fragments flag.
    #[inline]
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flag(FLAG_MF, value);
    }

    /// Sets the fragment offset **in bytes**; it is stored divided by 8, so the low three bits
    /// are dropped (fragments other than the last carry a multiple of 8 bytes, RFC 791 §2.3).
    #[inline]
    pub fn set_frag_offset(&mut self, offset: u16) {
        let buf = self.buffer.as_mut();
        let w = be16(buf, field::FLG_OFF.start) & !OFFSET_MASK;
        put_be16(buf, field::FLG_OFF.start, w | (offset >> 3));
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.into();
    }

    /// Sets the checksum field (see [`fill_checksum`](Self::fill_checksum) to compute it).
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        put_be16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum (over `header_len` bytes) and writes it.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let len = self.header_len();
        let c = checksum::checksum(&self.buffer.as_ref()[..len]);
        self.set_checksum(c);
    }

    /// The option bytes, writable.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }

    /// The payload (bounded by `total_len`), writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), usize::from(self.total_len()));
        &mut self.buffer.as_mut()[start..end]
    }
}

mod option_kind {
    pub const END_OF_LIST: u8 = 0;
    pub const NO_OPERATION: u8 = 1;
    pub const RECORD_ROUTE: u8 = 7;
    pub const TIMESTAMP: u8 = 68;
    pub const LOOSE_SOURCE_ROUTE: u8 = 131;
    pub const STRICT_SOURCE_ROUTE: u8 = 137;
    pub const ROUTER_ALERT: u8 = 148;
}

/// One IPv4 option (RFC 791 §3.1, RFC 2113), borrowing its data from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv4Option<'a> {
    /// End of Option List (kind 0): the rest of the options area is padding.
    EndOfList,
    /// No Operation (kind 1), used to align the next option.
    NoOperation,
    /// Record Route (kind 7).
    RecordRoute {
        /// The 1-based octet offset, from the option's start, of the next free address slot.
        pointer: u8,
        /// The route data: a list of 4-byte addresses (not checked to be a multiple of 4).
        route: &'a [u8],
    },
    /// Internet Timestamp (kind 68).
    Timestamp {
        /// The 1-based octet offset, from the option's start, of the next free slot.
        pointer: u8,
        /// The overflow counter (4 bits): hops that could not record a timestamp.
        overflow: u8,
        /// The flags (4 bits): 0 timestamps only, 1 address + timestamp, 3 prespecified.
        flags: u8,
        /// The timestamp data.
        data: &'a [u8],
    },
    /// Loose Source and Record Route (kind 131).
    LooseSourceRoute {
        /// The 1-based octet offset, from the option's start, of the next address.
        pointer: u8,
        /// The route data: a list of 4-byte addresses.
        route: &'a [u8],
    },
    /// Strict Source and Record Route (kind 137).
    StrictSourceRoute {
        /// The 1-based octet offset, from the option's start, of the next address.
        pointer: u8,
        /// The route data: a list of 4-byte addresses.
        route: &'a [u8],
    },
    /// Router Alert (kind 148, RFC 2113): 0 means "routers shall examine this packet".
    RouterAlert(u16),
    /// Any other option with the usual kind/length/data layout.
    Unknown {
        /// The option type octet.
        kind: u8,
        /// The data after the length octet.
        data: &'a [u8],
    },
}

impl<'a> Ipv4Option<'a> {
    /// The option type octet.
    pub const fn kind(&self) -> u8 {
        match self {
            Self::EndOfList => option_kind::END_OF_LIST,
            Self::NoOperation => option_kind::NO_OPERATION,
            Self::RecordRoute { .. } => option_kind::RECORD_ROUTE,
            Self::Timestamp { .. } => option_kind::TIMESTAMP,
            Self::LooseSourceRoute { .. } => option_kind::LOOSE_SOURCE_ROUTE,
            Self::StrictSourceRoute { .. } => option_kind::STRICT_SOURCE_ROUTE,
            Self::RouterAlert(_) => option_kind::ROUTER_ALERT,
            Self::Unknown { kind, .. } => *kind,
        }
    }

    /// Parses the option at the start of `data` (the rest of the options area). Returns the
    /// option and the bytes it takes.
    pub(crate) fn parse(data: &'a [u8]) -> Result<(Self, usize)> {
        let kind = data[0];
        match kind {
            option_kind::END_OF_LIST => return Ok((Self::EndOfList, 1)),
            option_kind::NO_OPERATION => return Ok((Self::NoOperation, 1)),
            _ => {}
        }
        if data.len() < 2 {
            return Err(Error::truncated(Proto::Ipv4Option, "length", 2, data.len()));
        }
        let len = usize::from(data[1]);
        if len < 2 {
            return Err(Error::below(Proto::Ipv4Option, "length", len, "minimum", 2));
        }
        if len > data.len() {
            return Err(Error::above(
                Proto::Ipv4Option,
                "length",
                len,
                "options left",
                data.len(),
            ));
        }
        let body = &data[2..len];
        let route = |name: &'static str| -> Result<(u8, &'a [u8])> {
            // RFC 791: type, length, pointer, then the route data.
            match body.split_first() {
                Some((&pointer, route)) => Ok((pointer, route)),
                None => Err(Error::below(Proto::Ipv4Option, name, len, "minimum", 3)),
            }
        };
        let option = match kind {
            option_kind::RECORD_ROUTE => {
                let (pointer, route) = route("record route length")?;
                Self::RecordRoute { pointer, route }
            }
            option_kind::LOOSE_SOURCE_ROUTE => {
                let (pointer, route) = route("loose source route length")?;
                Self::LooseSourceRoute { pointer, route }
            }
            option_kind::STRICT_SOURCE_ROUTE => {
                let (pointer, route) = route("strict source route length")?;
                Self::StrictSourceRoute { pointer, route }
            }
            option_kind::TIMESTAMP => match body {
                // RFC 791: type, length, pointer, overflow(4) flags(4), then the data.
                [pointer, oflw_flg, data @ ..] => Self::Timestamp {
                    pointer: *pointer,
                    overflow: oflw_flg >> 4,
                    flags: oflw_flg & 0x0f,
                    data,
                },
                _ => {
                    return Err(Error::below(
                        Proto::Ipv4Option,
                        "timestamp length",
                        len,
                        "minimum",
                        4,
                    ));
                }
            },
            option_kind::ROUTER_ALERT => match body {
                // RFC 2113 §2.1: type 148, length 4, a two-octet value.
                [hi, lo] => Self::RouterAlert(u16::from_be_bytes([*hi, *lo])),
                _ => {
                    return Err(Error::invalid(
                        Proto::Ipv4Option,
                        "router alert length",
                        len as u32,
                        "4",
                    ));
                }
            },
            _ => Self::Unknown { kind, data: body },
        };
        Ok((option, len))
    }

    /// The bytes the option takes on the wire.
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::EndOfList | Self::NoOperation => 1,
            Self::RecordRoute { route, .. }
            | Self::LooseSourceRoute { route, .. }
            | Self::StrictSourceRoute { route, .. } => 3 + route.len(),
            Self::Timestamp { data, .. } => 4 + data.len(),
            Self::RouterAlert(_) => 4,
            Self::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option into the start of `buf`, which must hold at least
    /// [`buffer_len`](Self::buffer_len) bytes (and an option longer than 255 bytes cannot be
    /// represented: the header holds at most [`MAX_OPTIONS_LEN`]). Returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        buf[0] = self.kind();
        if len > 1 {
            buf[1] = len as u8;
        }
        match *self {
            Self::EndOfList | Self::NoOperation => {}
            Self::RecordRoute { pointer, route }
            | Self::LooseSourceRoute { pointer, route }
            | Self::StrictSourceRoute { pointer, route } => {
                buf[2] = pointer;
                buf[3..len].copy_from_slice(route);
            }
            Self::Timestamp {
                pointer,
                overflow,
                flags,
                data,
            } => {
                buf[2] = pointer;
                buf[3] = (overflow << 4) | (flags & 0x0f);
                buf[4..len].copy_from_slice(data);
            }
            Self::RouterAlert(value) => put_be16(buf, 2, value),
            Self::Unknown { data, .. } => buf[2..len].copy_from_slice(data),
        }
        len
    }
}

/// An iterator over the options of an IPv4 header.
///
/// Yields `Ok(option)` for each option, including [`Ipv4Option::EndOfList`], after which it
/// stops. A malformed option (length below 2, running past the end of the options, or a wrong
/// length for a fixed-size option) is yielded once as an `Err` with [`Proto::Ipv4Option`], and
/// then iteration stops. Safe on any bytes.
#[derive(Debug, Clone)]
pub struct Ipv4Options<'a> {
    data: &'a [u8],
}

impl<'a> Ipv4Options<'a> {
    /// Iterates over raw option bytes (the options area of a header).
    pub const fn new(data: &'a [u8]) -> Self {
        Self { data }
    }
}

impl<'a> Iterator for Ipv4Options<'a> {
    type Item = Result<Ipv4Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        match Ipv4Option::parse(self.data) {
            Ok((Ipv4Option::EndOfList, _)) => {
                self.data = &[];
                Some(Ok(Ipv4Option::EndOfList))
            }
            Ok((option, len)) => {
                // `parse` returns len >= 1 and <= data.len().
                self.data = &self.data[len..];
                Some(Ok(option))
            }
            Err(e) => {
                self.data = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for Ipv4Options<'_> {}

/// A parsed IPv4 header without its options (read them with [`Ipv4Packet::options_iter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Payload length in bytes: total length minus header length.
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Differentiated Services Code Point (6 bits).
    pub dscp: u8,
    /// Explicit Congestion Notification (2 bits).
    pub ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Fragment offset **in bytes** (a multiple of 8).
    pub frag_offset: u16,
}

impl Ipv4Repr {
    /// A header for an unfragmented datagram: TTL 64, DSCP/ECN 0, identification 0 and Don't
    /// Fragment set (an "atomic datagram", whose identification RFC 6864 §4.1 leaves free).
    pub const fn new(
        src_addr: Ipv4Addr,
        dst_addr: Ipv4Addr,
        protocol: IpProtocol,
        payload_len: usize,
    ) -> Self {
        Self {
            src_addr,
            dst_addr,
            protocol,
            payload_len,
            ttl: 64,
            dscp: 0,
            ecn: 0,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        }
    }

    /// Reads the header of a packet (after [`Ipv4Packet::check_len`]). The checksum is *not*
    /// verified: call [`Ipv4Packet::check_checksum`] if the packet did not come from a NIC that
    /// did. Options are skipped.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
        })
    }

    /// The length of the header [`emit`](Self::emit) writes: 20.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The length of the header [`emit_with_options`](Self::emit_with_options) writes:
    /// 20 plus `options_len` rounded up to a multiple of 4.
    #[inline]
    pub const fn buffer_len_with_options(&self, options_len: usize) -> usize {
        HEADER_LEN + options_len.div_ceil(4) * 4
    }

    /// Writes a 20-byte header with a correct checksum into the start of `buf` (which must hold
    /// at least 20 bytes). Returns the header length; the payload goes after it.
    /// `payload_len` must be at most 65,515 (the total length is 16 bits).
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        self.emit_header(buf, HEADER_LEN);
        HEADER_LEN
    }

    /// Writes a header carrying `options` (raw option bytes, e.g. written with
    /// [`Ipv4Option::emit`]) with a correct checksum into the start of `buf`, which must hold
    /// [`buffer_len_with_options`](Self::buffer_len_with_options) bytes. Options that are not a
    /// multiple of 4 bytes long are padded with zero bytes (End of Option List, RFC 791 §3.1:
    /// "The padding is zero"). Returns the header length, or an error if the options are
    /// longer than 40 bytes or the total length would exceed 65,535.
    pub fn emit_with_options(&self, buf: &mut [u8], options: &[u8]) -> Result<usize> {
        if options.len() > MAX_OPTIONS_LEN {
            return Err(Error::above(
                Proto::Ipv4,
                "options length",
                options.len(),
                "maximum",
                MAX_OPTIONS_LEN,
            ));
        }
        let header_len = self.buffer_len_with_options(options.len());
        let total = header_len + self.payload_len;
        if total > usize::from(u16::MAX) {
            return Err(Error::above(
                Proto::Ipv4,
                "total length",
                total,
                "maximum",
                usize::from(u16::MAX),
            ));
        }
        buf[HEADER_LEN..HEADER_LEN + options.len()].copy_from_slice(options);
        buf[HEADER_LEN + options.len()..header_len].fill(0);
        self.emit_header(buf, header_len);
        Ok(header_len)
    }

    /// Writes the fixed header for a header of `header_len` bytes whose options are already in
    /// place, then the checksum. Always inlined: with the usual constant fields (length 20, no
    /// fragmentation, DSCP 0) most of the words fold at the call site.
    #[inline(always)]
    fn emit_header(&self, buf: &mut [u8], header_len: usize) {
        debug_assert!(header_len + self.payload_len <= usize::from(u16::MAX));
        let mut flg_off = (self.frag_offset >> 3) & OFFSET_MASK;
        if self.dont_frag {
            flg_off |= FLAG_DF;
        }
        if self.more_frags {
            flg_off |= FLAG_MF;
        }
        // The fixed header as five 32-bit words (the checksum, in the third, filled in last).
        let mut words = [
            u32::from_be_bytes([
                0x40 | (header_len / 4) as u8,
                (self.dscp << 2) | (self.ecn & 0x03),
                0,
                0,
            ]) | u32::from((header_len + self.payload_len) as u16),
            u32::from(self.ident) << 16 | u32::from(flg_off),
            u32::from_be_bytes([self.ttl, self.protocol.into(), 0, 0]),
            self.src_addr.to_bits(),
            self.dst_addr.to_bits(),
        ];
        let out = &mut buf[..HEADER_LEN];
        if header_len == HEADER_LEN {
            // The common header: its checksum from the five words in hand.
            words[2] |= u32::from(!checksum::sum_words32(words));
        }
        for (chunk, w) in out.as_chunks_mut::<4>().0.iter_mut().zip(words) {
            *chunk = w.to_be_bytes();
        }
        if header_len != HEADER_LEN {
            // Options are already in place after the fixed header.
            let c = checksum::checksum(&buf[..header_len]);
            put_be16(buf, field::CHECKSUM.start, c);
        }
    }

    /// True when this header describes a fragment (More Fragments or a non-zero offset).
    #[inline]
    pub const fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }
}

impl fmt::Display for Ipv4Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv4 {} > {} proto {} len {} ttl {} id {:#06x}",
            self.src_addr, self.dst_addr, self.protocol, self.payload_len, self.ttl, self.ident
        )?;
        if self.dscp != 0 || self.ecn != 0 {
            write!(f, " dscp {} ecn {}", self.dscp, self.ecn)?;
        }
        if self.dont_frag {
            f.write_str(" DF")?;
        }
        if self.is_fragment() {
            write!(
                f,
                " frag {}{}",
                self.frag_offset,
                if self.more_frags { "+" } else { "" }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;
    use std::vec::Vec;

    /// IPv4/UDP from scapy: 192.168.10.2 > 192.168.10.1, id 0x1234, DF, ttl 64, tos 0xb9,
    /// then 4 bytes of link padding after total length 30.
    static UDP: [u8; 34] = [
        0x45, 0xb9, 0x00, 0x1e, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x92, 0x8e, 0xc0, 0xa8, 0x0a,
        0x02, 0xc0, 0xa8, 0x0a, 0x01, 0x30, 0x39, 0x00, 0x35, 0x00, 0x0a, 0xd1, 0xae, 0x68, 0x69,
        0x00, 0x00, 0x00, 0x00,
    ];

    /// From scapy: IHL 11 with Record Route, NOP, Router Alert, Timestamp, EOL + padding.
    static OPTIONS: [u8; 46] = [
        0x4b, 0x00, 0x00, 0x2e, 0x00, 0x07, 0x00, 0x00, 0x01, 0x06, 0xb3, 0x96, 0x0a, 0x00, 0x00,
        0x01, 0x0a, 0x00, 0x00, 0x02, 0x07, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x94, 0x04,
        0x00, 0x00, 0x44, 0x08, 0x05, 0x10, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0xaa,
        0xbb,
    ];

    /// From scapy: a fragment with MF and offset 185 * 8 = 1480, id 0xabcd.
    static FRAGMENT: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, 0xab, 0xcd, 0x20, 0xb9, 0x40, 0x11, 0x18, 0xf7, 0xc0, 0xa8, 0x0a,
        0x02, 0xc0, 0xa8, 0x0a, 0x01, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    ];

    fn udp_repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(192, 168, 10, 2),
            dst_addr: Ipv4Addr::new(192, 168, 10, 1),
            protocol: IpProtocol::Udp,
            payload_len: 10,
            ttl: 64,
            dscp: 0x2e,
            ecn: 1,
            ident: 0x1234,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        }
    }

    #[test]
    fn parse_every_getter() {
        let p = Ipv4Packet::new_checked(&UDP[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp(), 0x2e);
        assert_eq!(p.ecn(), 1);
        assert_eq!(p.total_len(), 30);
        assert_eq!(p.ident(), 0x1234);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), IpProtocol::Udp);
        assert_eq!(p.checksum(), 0x928e);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 168, 10, 2));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(192, 168, 10, 1));
        assert_eq!(p.options(), &[] as &[u8]);
        assert_eq!(p.options_iter().count(), 0);
        assert_eq!(p.payload(), &UDP[20..30]);
        assert_eq!(p.payload_slice(), &UDP[20..30]);
        assert!(p.verify_checksum());
        assert_eq!(p.check_checksum(), Ok(()));
        assert_eq!(Ipv4Repr::parse(&p).unwrap(), udp_repr());
    }

    #[test]
    fn parse_fragment() {
        let p = Ipv4Packet::new_checked(&FRAGMENT[..]).unwrap();
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
        assert!(p.verify_checksum());
        let r = Ipv4Repr::parse(&p).unwrap();
        assert_eq!((r.ident, r.frag_offset, r.payload_len), (0xabcd, 1480, 8));
        assert!(r.is_fragment());
        let mut out = [0u8; 20];
        assert_eq!(r.emit(&mut out), 20);
        assert_eq!(out, FRAGMENT[..20]);
        assert_eq!(
            r.to_string(),
            "IPv4 192.168.10.2 > 192.168.10.1 proto UDP len 8 ttl 64 id 0xabcd frag 1480+"
        );
    }

    #[test]
    fn parse_options() {
        let p = Ipv4Packet::new_checked(&OPTIONS[..]).unwrap();
        assert_eq!(p.header_len(), 44);
        assert_eq!(p.options(), &OPTIONS[20..44]);
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
        assert!(p.verify_checksum());
        let opts: Vec<_> = p.options_iter().collect::<Result<_>>().unwrap();
        assert_eq!(
            opts,
            [
                Ipv4Option::RecordRoute {
                    pointer: 4,
                    route: &[0, 0, 0, 0]
                },
                Ipv4Option::NoOperation,
                Ipv4Option::RouterAlert(0),
                Ipv4Option::Timestamp {
                    pointer: 5,
                    overflow: 1,
                    flags: 0,
                    data: &[1, 2, 3, 4]
                },
                Ipv4Option::EndOfList,
            ]
        );
        // Each option emits back to its bytes.
        let mut out = [0u8; 40];
        let mut at = 0;
        for o in &opts {
            let n = o.emit(&mut out[at..]);
            assert_eq!(n, o.buffer_len());
            at += n;
        }
        assert_eq!(&out[..at], &OPTIONS[20..20 + at]);
        // And the repr + options emit the whole header.
        let r = Ipv4Repr::parse(&p).unwrap();
        assert_eq!(r.payload_len, 2);
        assert_eq!(r.buffer_len_with_options(at), 44);
        let mut hdr = [0xffu8; 44];
        assert_eq!(r.emit_with_options(&mut hdr, &out[..at]), Ok(44));
        assert_eq!(hdr, OPTIONS[..44]);
    }

    #[test]
    fn other_options_parse() {
        let bytes = [
            0x83, 7, 4, 1, 2, 3, 4, 0x89, 3, 4, 0x99, 3, 0xee, 0x88, 2, 1, 0,
        ];
        let opts: Vec<_> = Ipv4Options::new(&bytes).collect::<Result<_>>().unwrap();
        assert_eq!(
            opts,
            [
                Ipv4Option::LooseSourceRoute {
                    pointer: 4,
                    route: &[1, 2, 3, 4]
                },
                Ipv4Option::StrictSourceRoute {
                    pointer: 4,
                    route: &[]
                },
                Ipv4Option::Unknown {
                    kind: 0x99,
                    data: &[0xee]
                },
                Ipv4Option::Unknown {
                    kind: 0x88,
                    data: &[]
                },
                Ipv4Option::NoOperation,
                Ipv4Option::EndOfList,
            ]
        );
        let mut out = [0u8; 17];
        let mut at = 0;
        for o in &opts {
            at += o.emit(&mut out[at..]);
        }
        assert_eq!(out, bytes);
    }

    #[test]
    fn malformed_options_are_errors_then_stop() {
        let cases: [(&[u8], &str); 6] = [
            (
                &[0x07],
                "IPv4 option: length truncated: need 2 bytes, have 1",
            ),
            (&[0x07, 1, 0, 0], "IPv4 option: length 1 < minimum 2"),
            (
                &[1, 0x07, 9, 4, 0],
                "IPv4 option: length 9 > options left 4",
            ),
            (
                &[0x94, 3, 0, 0],
                "IPv4 option: router alert length 3 is invalid, expected 4",
            ),
            (
                &[0x07, 2, 0, 0],
                "IPv4 option: record route length 2 < minimum 3",
            ),
            (
                &[0x44, 3, 5, 0],
                "IPv4 option: timestamp length 3 < minimum 4",
            ),
        ];
        for (bytes, msg) in cases {
            let mut it = Ipv4Options::new(bytes);
            let mut item = it.next().unwrap();
            if bytes[0] == 1 {
                assert_eq!(item, Ok(Ipv4Option::NoOperation));
                item = it.next().unwrap();
            }
            assert_eq!(item.unwrap_err().to_string(), msg);
            assert!(it.next().is_none());
        }
        // End of list stops iteration even with bytes after it.
        let mut it = Ipv4Options::new(&[0, 1, 1]);
        assert_eq!(it.next(), Some(Ok(Ipv4Option::EndOfList)));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn emit_and_round_trip() {
        let mut out = [0u8; 30];
        assert_eq!(udp_repr().buffer_len(), 20);
        assert_eq!(udp_repr().emit(&mut out), 20);
        assert_eq!(out[..20], UDP[..20]);
        out[20..30].copy_from_slice(&UDP[20..30]);
        let p = Ipv4Packet::new_checked(&out[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p).unwrap(), udp_repr());
        assert_eq!(
            udp_repr().to_string(),
            "IPv4 192.168.10.2 > 192.168.10.1 proto UDP len 10 ttl 64 id 0x1234 dscp 46 ecn 1 DF"
        );
    }

    // The word-wise header checksum is the one the general sum computes, for any fields.
    #[test]
    fn emit_checksum_matches_the_general_sum() {
        let mut rng = crate::rand::Rng::new(0x2545_f491_u64);
        let mut next = || rng.next_u64();
        for _ in 0..20_000 {
            let r = next();
            let repr = Ipv4Repr {
                src_addr: Ipv4Addr::from_bits(next() as u32),
                dst_addr: Ipv4Addr::from_bits(next() as u32),
                protocol: IpProtocol::from(r as u8),
                payload_len: (r >> 8) as usize % 65_000,
                ttl: (r >> 24) as u8,
                dscp: (r >> 32) as u8 & 0x3f,
                ecn: (r >> 40) as u8 & 3,
                ident: (r >> 42) as u16,
                dont_frag: r & (1 << 60) != 0,
                more_frags: r & (1 << 61) != 0,
                frag_offset: ((r >> 48) as u16 & 0x1fff) << 3,
            };
            let mut out = [0u8; HEADER_LEN];
            assert_eq!(repr.emit(&mut out), HEADER_LEN);
            let mut zeroed = out;
            zeroed[10..12].fill(0);
            assert_eq!(
                u16::from_be_bytes([out[10], out[11]]),
                checksum::checksum(&zeroed)
            );
            assert!(Ipv4Packet::new_unchecked(&out[..]).verify_checksum());
        }
    }

    #[test]
    fn emit_with_options_pads_and_bounds() {
        let r = Ipv4Repr::new(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(224, 0, 0, 22),
            IpProtocol::Igmp,
            8,
        );
        let mut opt = [0u8; 4];
        let n = Ipv4Option::RouterAlert(0).emit(&mut opt);
        let mut buf = [0xffu8; 32];
        assert_eq!(r.emit_with_options(&mut buf, &opt[..n]), Ok(24));
        // An odd length is padded with zeros to a multiple of 4.
        assert_eq!(r.emit_with_options(&mut buf, &[1, 1, 1]), Ok(24));
        assert_eq!(&buf[20..24], &[1, 1, 1, 0]);
        let p = Ipv4Packet::new_unchecked(&buf[..24]);
        assert_eq!((p.header_len(), p.total_len()), (24, 32));
        assert!(p.verify_checksum());
        let mut big = [0u8; 64];
        let e = r.emit_with_options(&mut big, &[1; 41]).unwrap_err();
        assert_eq!(e.to_string(), "IPv4: options length 41 > maximum 40");
        let mut huge = r;
        huge.payload_len = 65_515;
        let e = huge.emit_with_options(&mut big, &[1; 4]).unwrap_err();
        assert_eq!(e.to_string(), "IPv4: total length 65539 > maximum 65535");
    }

    #[test]
    fn setters_write_the_fields() {
        let mut b = [0u8; 28];
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_version(4);
        p.set_header_len(24);
        p.set_dscp(10);
        p.set_ecn(3);
        p.set_total_len(28);
        p.set_ident(0xbeef);
        p.set_dont_frag(true);
        p.set_more_frags(true);
        p.set_frag_offset(2960);
        p.set_dont_frag(false);
        p.set_ttl(3);
        p.set_protocol(IpProtocol::Tcp);
        p.set_src_addr(Ipv4Addr::new(1, 2, 3, 4));
        p.set_dst_addr(Ipv4Addr::new(5, 6, 7, 8));
        p.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        p.payload_mut().copy_from_slice(&[9, 9, 9, 9]);
        p.fill_checksum();
        p.check_len().unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 24);
        assert_eq!((p.dscp(), p.ecn()), (10, 3));
        assert_eq!(p.total_len(), 28);
        assert_eq!(p.ident(), 0xbeef);
        assert!(!p.dont_frag() && p.more_frags());
        assert_eq!(p.frag_offset(), 2960);
        assert_eq!(p.ttl(), 3);
        assert_eq!(p.protocol(), IpProtocol::Tcp);
        assert_eq!(p.src_addr(), Ipv4Addr::new(1, 2, 3, 4));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(5, 6, 7, 8));
        assert_eq!(p.payload(), &[9, 9, 9, 9]);
        assert!(p.verify_checksum());
        p.set_checksum(0x1234);
        assert_eq!(p.checksum(), 0x1234);
        p.set_ecn(0);
        p.set_dscp(0);
        p.set_more_frags(false);
        assert_eq!(b[1], 0);
        assert_eq!(&b[6..8], &[0x01, 0x72]);
    }

    #[test]
    fn every_truncation_is_rejected() {
        for fixture in [&UDP[..30], &OPTIONS[..], &FRAGMENT[..]] {
            for len in 0..fixture.len() {
                let e = Ipv4Packet::new_checked(&fixture[..len]).unwrap_err();
                if len < 20 {
                    assert!(e.is_truncated(), "{len}: {e}");
                } else if len < Ipv4Packet::new_unchecked(fixture).header_len() {
                    assert!(e.is_truncated(), "{len}: {e}");
                    assert_eq!(e.field, "options");
                } else {
                    assert_eq!(e.field, "total length", "{len}: {e}");
                }
            }
            assert!(Ipv4Packet::new_checked(fixture).is_ok());
        }
        // Link padding after total length is accepted.
        assert!(Ipv4Packet::new_checked(&UDP[..]).is_ok());
    }

    #[test]
    fn malformed_headers_have_exact_messages() {
        let check = |b: &[u8], msg: &str| {
            let e = Ipv4Packet::new_checked(b).unwrap_err();
            assert_eq!(e.to_string(), msg);
        };
        check(&UDP[..19], "IPv4: header truncated: need 20 bytes, have 19");
        let mut b = UDP;
        b[0] = 0x65;
        check(&b, "IPv4: version 6 is invalid, expected 4");
        b[0] = 0x44;
        check(&b, "IPv4: header length 16 < minimum 20");
        b[0] = 0x4f;
        check(&b, "IPv4: options truncated: need 60 bytes, have 34");
        b[0] = 0x46;
        b[2..4].copy_from_slice(&20u16.to_be_bytes());
        check(&b, "IPv4: total length 20 < header length 24");
        let mut big = [0u8; 1500];
        big[..20].copy_from_slice(&UDP[..20]);
        big[2..4].copy_from_slice(&1600u16.to_be_bytes());
        check(&big, "IPv4: total length 1600 > buffer length 1500");
    }

    #[test]
    fn bad_checksum_reports_found_and_expected() {
        let mut b = UDP;
        b[10..12].copy_from_slice(&[0x12, 0x34]);
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(
            p.check_checksum().unwrap_err().to_string(),
            "IPv4: checksum 0x1234 is wrong, expected 0x928e"
        );
    }

    fn exercise(bytes: &[u8]) {
        if let Ok(p) = Ipv4Packet::new_checked(bytes) {
            let _ = (
                p.version(),
                p.header_len(),
                p.dscp(),
                p.ecn(),
                p.total_len(),
            );
            let _ = (p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset());
            let _ = (p.is_fragment(), p.ttl(), p.protocol(), p.checksum());
            let _ = (p.src_addr(), p.dst_addr(), p.options(), p.payload());
            let _ = (p.payload_slice(), p.options_slice(), p.verify_checksum());
            let _ = p.check_checksum();
            let mut n = 0;
            for o in p.options_iter() {
                n += 1;
                assert!(n <= 40);
                if let Ok(o) = o {
                    let mut out = [0u8; 64];
                    assert_eq!(o.emit(&mut out), o.buffer_len());
                }
            }
            let r = Ipv4Repr::parse(&p).unwrap();
            let _ = r.to_string();
        }
    }

    #[test]
    fn no_panic_on_truncations_and_corruptions() {
        for fixture in [&UDP[..], &OPTIONS[..], &FRAGMENT[..]] {
            for len in 0..=fixture.len() {
                exercise(&fixture[..len]);
            }
            for at in 0..fixture.len() {
                for v in 0..=255u8 {
                    let mut b = fixture.to_vec();
                    b[at] = v;
                    exercise(&b);
                }
            }
        }
    }

    #[test]
    fn cidr() {
        let c: Ipv4Cidr = "192.168.10.1/24".parse().unwrap();
        assert_eq!(c.address(), Ipv4Addr::new(192, 168, 10, 1));
        assert_eq!(c.prefix_len(), 24);
        assert_eq!(c.to_string(), "192.168.10.1/24");
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.network(), Ipv4Addr::new(192, 168, 10, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(192, 168, 10, 255));
        assert!(c.contains(Ipv4Addr::new(192, 168, 10, 77)));
        assert!(!c.contains(Ipv4Addr::new(192, 168, 11, 1)));
        let all = Ipv4Cidr::new(Ipv4Addr::new(10, 1, 2, 3), 0).unwrap();
        assert_eq!(all.netmask(), Ipv4Addr::UNSPECIFIED);
        assert!(all.contains(Ipv4Addr::BROADCAST));
        let host = Ipv4Cidr::new(Ipv4Addr::new(10, 1, 2, 3), 32).unwrap();
        assert_eq!(host.netmask(), Ipv4Addr::BROADCAST);
        assert_eq!(host.network(), host.broadcast());
        assert!(!host.contains(Ipv4Addr::new(10, 1, 2, 4)));
        assert_eq!(Ipv4Cidr::new(Ipv4Addr::LOCALHOST, 33), None);
        let err = |s: &str| s.parse::<Ipv4Cidr>().unwrap_err();
        assert_eq!(err("10.0.0.1"), ParseIpv4CidrError::MissingPrefixLen);
        assert_eq!(err("10.0.0/8"), ParseIpv4CidrError::InvalidAddress);
        assert_eq!(err("10.0.0.1/33"), ParseIpv4CidrError::InvalidPrefixLen);
        assert_eq!(err("10.0.0.1/"), ParseIpv4CidrError::InvalidPrefixLen);
        assert_eq!(err("10.0.0.1/+8"), ParseIpv4CidrError::InvalidPrefixLen);
        assert_eq!(err("10.0.0.1/8/8"), ParseIpv4CidrError::InvalidPrefixLen);
        assert_eq!(
            err("10.0.0.1/33").to_string(),
            "invalid IPv4 CIDR: the prefix length must be 0 to 32"
        );
    }
}
