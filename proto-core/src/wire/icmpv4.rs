//! ICMP for IPv4 (RFC 792), with the next-hop MTU of "fragmentation needed" (RFC 1191 §4)
//! and the destination-unreachable codes of RFC 1122 §3.2.2.1 and RFC 1812 §5.2.7.1.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  rest of header: echo   Identifier      | Sequence Number     |
//! |                  unreach unused(16)     | Next-Hop MTU        |
//! |                  param   Pointer(8) unused(24)                |
//! |                  redirect Gateway Internet Address            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | data: echo data, or for errors the quoted IPv4 header + 8 bytes |
//! ```
//!
//! The checksum covers the whole ICMP message, with no pseudo-header. The RFC 4884 length
//! field (byte 5 of some error messages) and its extension structures are ignored.

use core::fmt;
use core::net::Ipv4Addr;

use super::{Error, IpProtocol, Proto, Result, be16, be32, put_be16, put_be32};
use crate::checksum;
use crate::wire::ipv4::{HEADER_LEN as IPV4_HEADER_LEN, Ipv4Packet};

/// An ICMPv4 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv4Message {
    /// Echo Reply (0).
    EchoReply,
    /// Destination Unreachable (3).
    DstUnreachable,
    /// Redirect (5).
    Redirect,
    /// Echo Request (8).
    EchoRequest,
    /// Router Advertisement (9, RFC 1256).
    RouterAdvert,
    /// Router Solicitation (10, RFC 1256).
    RouterSolicit,
    /// Time Exceeded (11).
    TimeExceeded,
    /// Parameter Problem (12).
    ParamProblem,
    /// Timestamp (13).
    Timestamp,
    /// Timestamp Reply (14).
    TimestampReply,
    /// Any other type.
    Unknown(u8),
}

impl Icmpv4Message {
    /// True for the error messages, whose data quotes the datagram that caused them
    /// (Destination Unreachable, Redirect, Time Exceeded, Parameter Problem).
    pub const fn is_error(self) -> bool {
        matches!(
            self,
            Self::DstUnreachable | Self::Redirect | Self::TimeExceeded | Self::ParamProblem
        )
    }
}

impl From<u8> for Icmpv4Message {
    fn from(value: u8) -> Self {
        match value {
            0 => Self::EchoReply,
            3 => Self::DstUnreachable,
            5 => Self::Redirect,
            8 => Self::EchoRequest,
            9 => Self::RouterAdvert,
            10 => Self::RouterSolicit,
            11 => Self::TimeExceeded,
            12 => Self::ParamProblem,
            13 => Self::Timestamp,
            14 => Self::TimestampReply,
            other => Self::Unknown(other),
        }
    }
}

impl From<Icmpv4Message> for u8 {
    fn from(value: Icmpv4Message) -> Self {
        match value {
            Icmpv4Message::EchoReply => 0,
            Icmpv4Message::DstUnreachable => 3,
            Icmpv4Message::Redirect => 5,
            Icmpv4Message::EchoRequest => 8,
            Icmpv4Message::RouterAdvert => 9,
            Icmpv4Message::RouterSolicit => 10,
            Icmpv4Message::TimeExceeded => 11,
            Icmpv4Message::ParamProblem => 12,
            Icmpv4Message::Timestamp => 13,
            Icmpv4Message::TimestampReply => 14,
            Icmpv4Message::Unknown(other) => other,
        }
    }
}

impl fmt::Display for Icmpv4Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EchoReply => f.write_str("echo reply"),
            Self::DstUnreachable => f.write_str("destination unreachable"),
            Self::Redirect => f.write_str("redirect"),
            Self::EchoRequest => f.write_str("echo request"),
            Self::RouterAdvert => f.write_str("router advertisement"),
            Self::RouterSolicit => f.write_str("router solicitation"),
            Self::TimeExceeded => f.write_str("time exceeded"),
            Self::ParamProblem => f.write_str("parameter problem"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::TimestampReply => f.write_str("timestamp reply"),
            Self::Unknown(n) => write!(f, "type {n}"),
        }
    }
}

/// The code of a Destination Unreachable message (RFC 792, RFC 1122 §3.2.2.1, RFC 1812
/// §5.2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DstUnreachable {
    /// Net unreachable (0).
    NetUnreachable,
    /// Host unreachable (1).
    HostUnreachable,
    /// Protocol unreachable (2).
    ProtoUnreachable,
    /// Port unreachable (3).
    PortUnreachable,
    /// Fragmentation needed and DF set (4); the message carries the next-hop MTU (RFC 1191).
    FragRequired,
    /// Source route failed (5).
    SrcRouteFailed,
    /// Destination network unknown (6).
    DstNetUnknown,
    /// Destination host unknown (7).
    DstHostUnknown,
    /// Source host isolated (8).
    SrcHostIsolated,
    /// Communication with destination network administratively prohibited (9).
    NetProhibited,
    /// Communication with destination host administratively prohibited (10).
    HostProhibited,
    /// Network unreachable for type of service (11).
    NetUnreachToS,
    /// Host unreachable for type of service (12).
    HostUnreachToS,
    /// Communication administratively prohibited (13, RFC 1812).
    CommProhibited,
    /// Host precedence violation (14, RFC 1812).
    HostPrecedenceViolation,
    /// Precedence cutoff in effect (15, RFC 1812).
    PrecedenceCutoff,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for DstUnreachable {
    fn from(value: u8) -> Self {
        match value {
            0 => Self::NetUnreachable,
            1 => Self::HostUnreachable,
            2 => Self::ProtoUnreachable,
            3 => Self::PortUnreachable,
            4 => Self::FragRequired,
            5 => Self::SrcRouteFailed,
            6 => Self::DstNetUnknown,
            7 => Self::DstHostUnknown,
            8 => Self::SrcHostIsolated,
            9 => Self::NetProhibited,
            10 => Self::HostProhibited,
            11 => Self::NetUnreachToS,
            12 => Self::HostUnreachToS,
            13 => Self::CommProhibited,
            14 => Self::HostPrecedenceViolation,
            15 => Self::PrecedenceCutoff,
            other => Self::Unknown(other),
        }
    }
}

impl From<DstUnreachable> for u8 {
    fn from(value: DstUnreachable) -> Self {
        match value {
            DstUnreachable::NetUnreachable => 0,
            DstUnreachable::HostUnreachable => 1,
            DstUnreachable::ProtoUnreachable => 2,
            DstUnreachable::PortUnreachable => 3,
            DstUnreachable::FragRequired => 4,
            DstUnreachable::SrcRouteFailed => 5,
            DstUnreachable::DstNetUnknown => 6,
            DstUnreachable::DstHostUnknown => 7,
            DstUnreachable::SrcHostIsolated => 8,
            DstUnreachable::NetProhibited => 9,
            DstUnreachable::HostProhibited => 10,
            DstUnreachable::NetUnreachToS => 11,
            DstUnreachable::HostUnreachToS => 12,
            DstUnreachable::CommProhibited => 13,
            DstUnreachable::HostPrecedenceViolation => 14,
            DstUnreachable::PrecedenceCutoff => 15,
            DstUnreachable::Unknown(other) => other,
        }
    }
}

impl fmt::Display for DstUnreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NetUnreachable => f.write_str("net unreachable"),
            Self::HostUnreachable => f.write_str("host unreachable"),
            Self::ProtoUnreachable => f.write_str("protocol unreachable"),
            Self::PortUnreachable => f.write_str("port unreachable"),
            Self::FragRequired => f.write_str("fragmentation needed"),
            Self::SrcRouteFailed => f.write_str("source route failed"),
            Self::DstNetUnknown => f.write_str("destination network unknown"),
            Self::DstHostUnknown => f.write_str("destination host unknown"),
            Self::SrcHostIsolated => f.write_str("source host isolated"),
            Self::NetProhibited => f.write_str("network prohibited"),
            Self::HostProhibited => f.write_str("host prohibited"),
            Self::NetUnreachToS => f.write_str("network unreachable for TOS"),
            Self::HostUnreachToS => f.write_str("host unreachable for TOS"),
            Self::CommProhibited => f.write_str("communication prohibited"),
            Self::HostPrecedenceViolation => f.write_str("host precedence violation"),
            Self::PrecedenceCutoff => f.write_str("precedence cutoff"),
            Self::Unknown(n) => write!(f, "code {n}"),
        }
    }
}

/// The code of a Time Exceeded message (RFC 792).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeExceeded {
    /// Time to live exceeded in transit (0).
    TtlExpired,
    /// Fragment reassembly time exceeded (1).
    FragExpired,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for TimeExceeded {
    fn from(value: u8) -> Self {
        match value {
            0 => Self::TtlExpired,
            1 => Self::FragExpired,
            other => Self::Unknown(other),
        }
    }
}

impl From<TimeExceeded> for u8 {
    fn from(value: TimeExceeded) -> Self {
        match value {
            TimeExceeded::TtlExpired => 0,
            TimeExceeded::FragExpired => 1,
            TimeExceeded::Unknown(other) => other,
        }
    }
}

impl fmt::Display for TimeExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TtlExpired => f.write_str("TTL expired in transit"),
            Self::FragExpired => f.write_str("fragment reassembly time exceeded"),
            Self::Unknown(n) => write!(f, "code {n}"),
        }
    }
}

mod field {
    use crate::wire::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// The "rest of header" word, interpreted per message type.
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ_NO: Field = 6..8;
    /// Parameter Problem: pointer to the octet in error.
    pub const POINTER: usize = 4;
    /// Redirect: the gateway address.
    pub const GATEWAY: Field = 4..8;
    /// Destination Unreachable, code 4: the next-hop MTU (RFC 1191 §4).
    pub const NEXT_HOP_MTU: Field = 6..8;
}

/// The length of the ICMPv4 header (type, code, checksum, rest of header).
pub const HEADER_LEN: usize = 8;

/// A read/write view of an ICMPv4 message: the whole payload of its IPv4 packet.
///
/// ```
/// use proto_core::wire::icmpv4::{Icmpv4Message, Icmpv4Packet};
/// let bytes = [8, 0, 0x54, 0x35, 0x12, 0x34, 0, 1, b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h'];
/// let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
/// assert_eq!(packet.msg_type(), Icmpv4Message::EchoRequest);
/// assert_eq!((packet.echo_ident(), packet.echo_seq_no()), (0x1234, 1));
/// assert!(packet.verify_checksum());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
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

    /// Checks that the buffer holds the 8-byte header. After `Ok`, no accessor panics.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::truncated(Proto::Icmpv4, "header", HEADER_LEN, len));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The message type.
    #[inline]
    pub fn msg_type(&self) -> Icmpv4Message {
        Icmpv4Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The message code (see [`DstUnreachable`] and [`TimeExceeded`]).
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The "rest of header" word (bytes 4..8), whatever the type.
    #[inline]
    pub fn rest_of_header(&self) -> u32 {
        be32(self.buffer.as_ref(), field::REST.start)
    }

    /// The identifier of an Echo or Timestamp message.
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// The sequence number of an Echo or Timestamp message.
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_SEQ_NO.start)
    }

    /// The next-hop MTU of a "fragmentation needed" Destination Unreachable (RFC 1191 §4);
    /// zero from routers older than RFC 1191.
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        be16(self.buffer.as_ref(), field::NEXT_HOP_MTU.start)
    }

    /// The pointer of a Parameter Problem: the offset of the octet in error in the quoted
    /// header.
    #[inline]
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[field::POINTER]
    }

    /// The gateway address of a Redirect.
    #[inline]
    pub fn gateway(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[4], b[5], b[6], b[7])
    }

    /// The data after the 8-byte header: the echo data, or for error messages the quoted
    /// datagram (its IPv4 header and at least 8 bytes of its payload).
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// A lenient view of the quoted datagram of an error message; see [`QuotedIpv4::parse`].
    /// Meaningful for error messages only ([`Icmpv4Message::is_error`]).
    #[inline]
    pub fn quoted_header(&self) -> Result<QuotedIpv4<'_>> {
        QuotedIpv4::parse(self.data())
    }

    /// True when the checksum over the whole message is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(checksum::sum(self.buffer.as_ref()))
    }

    /// `Ok` when the checksum is correct, else a `BadChecksum` error with the checksum found
    /// and the one expected.
    #[inline]
    pub fn check_checksum(&self) -> Result<()> {
        if self.verify_checksum() {
            return Ok(());
        }
        let buf = self.buffer.as_ref();
        let expected = !checksum::combine(&[
            checksum::sum(&buf[..field::CHECKSUM.start]),
            checksum::sum(&buf[field::CHECKSUM.end..]),
        ]);
        Err(Error::bad_checksum(
            Proto::Icmpv4,
            self.checksum(),
            expected,
        ))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv4Packet<&'a T> {
    /// The data after the header, borrowed for the buffer's whole lifetime.
    #[inline]
    pub fn data_slice(&self) -> &'a [u8] {
        let buf: &'a [u8] = self.buffer.as_ref();
        &buf[HEADER_LEN..]
    }

    /// The payload (the data after the header); the same as
    /// [`data_slice`](Self::data_slice), named like the other views.
    #[inline]
    pub fn payload_slice(&self) -> &'a [u8] {
        self.data_slice()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, msg_type: Icmpv4Message) {
        self.buffer.as_mut()[field::TYPE] = msg_type.into();
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, code: u8) {
        self.buffer.as_mut()[field::CODE] = code;
    }

    /// Sets the checksum field (see [`fill_checksum`](Self::fill_checksum) to compute it).
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        put_be16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Sets the whole "rest of header" word.
    #[inline]
    pub fn set_rest_of_header(&mut self, value: u32) {
        put_be32(self.buffer.as_mut(), field::REST.start, value);
    }

    /// Sets the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, ident: u16) {
        put_be16(self.buffer.as_mut(), field::ECHO_IDENT.start, ident);
    }

    /// Sets the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, seq_no: u16) {
        put_be16(self.buffer.as_mut(), field::ECHO_SEQ_NO.start, seq_no);
    }

    /// Sets the next-hop MTU (bytes 6..8).
    #[inline]
    pub fn set_next_hop_mtu(&mut self, mtu: u16) {
        put_be16(self.buffer.as_mut(), field::NEXT_HOP_MTU.start, mtu);
    }

    /// Sets the Parameter Problem pointer (byte 4).
    #[inline]
    pub fn set_pointer(&mut self, pointer: u8) {
        self.buffer.as_mut()[field::POINTER] = pointer;
    }

    /// Sets the Redirect gateway address.
    #[inline]
    pub fn set_gateway(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::GATEWAY].copy_from_slice(&addr.octets());
    }

    /// Computes the checksum over the whole buffer and writes it.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(c);
    }

    /// The data after the header, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// The same as [`data_mut`](Self::data_mut), named like the other views.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.data_mut()
    }
}

/// The datagram quoted in an ICMPv4 error message: the fields of its IPv4 header and the
/// bytes quoted after it (RFC 792: at least the first 8, i.e. the transport ports).
///
/// Lenient by design: the quoted datagram is truncated, so its `total_len` usually exceeds
/// what was quoted, and its checksum is not verified (routers may have changed its TTL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuotedIpv4<'a> {
    /// Source address of the original datagram (normally ours).
    pub src_addr: Ipv4Addr,
    /// Destination address of the original datagram.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the original datagram.
    pub protocol: IpProtocol,
    /// Identification of the original datagram.
    pub ident: u16,
    /// TTL of the original datagram as the reporting node saw it.
    pub ttl: u8,
    /// The total length the original header claims (may exceed what was quoted).
    pub total_len: u16,
    /// Don't Fragment of the original datagram.
    pub dont_frag: bool,
    /// More Fragments of the original datagram.
    pub more_frags: bool,
    /// Fragment offset of the original datagram, in bytes.
    pub frag_offset: u16,
    /// The quoted IPv4 header, options included.
    pub header: &'a [u8],
    /// The quoted bytes after the header: the start of the original payload. Bounded by the
    /// original `total_len` when that is shorter than the quote (RFC 4884 padding); may be
    /// shorter than 8 bytes if the reporting node quoted less than RFC 792 asks for.
    pub payload: &'a [u8],
}

impl<'a> QuotedIpv4<'a> {
    /// Reads the quoted datagram from the data of an ICMPv4 error message. Accepts a quote
    /// shorter than the original `total_len`; rejects a quote shorter than 20 bytes, a version
    /// other than 4, an IHL below 5, or a quote that ends inside the header its IHL claims.
    pub fn parse(quoted: &'a [u8]) -> Result<Self> {
        if quoted.len() < IPV4_HEADER_LEN {
            return Err(Error::truncated(
                Proto::Icmpv4,
                "quoted header",
                IPV4_HEADER_LEN,
                quoted.len(),
            ));
        }
        let ip = Ipv4Packet::new_unchecked(quoted);
        if ip.version() != 4 {
            return Err(Error::invalid(
                Proto::Icmpv4,
                "quoted version",
                ip.version().into(),
                "4",
            ));
        }
        let header_len = ip.header_len();
        if header_len < IPV4_HEADER_LEN {
            return Err(Error::below(
                Proto::Icmpv4,
                "quoted header length",
                header_len,
                "minimum",
                IPV4_HEADER_LEN,
            ));
        }
        if header_len > quoted.len() {
            return Err(Error::truncated(
                Proto::Icmpv4,
                "quoted options",
                header_len,
                quoted.len(),
            ));
        }
        let total_len = ip.total_len();
        // A total length below the header length is nonsense (some old stacks quote it in
        // host order or without the header): ignore it rather than reject the message.
        let total = usize::from(total_len);
        let end = if total >= header_len {
            total.min(quoted.len())
        } else {
            quoted.len()
        };
        Ok(Self {
            src_addr: ip.src_addr(),
            dst_addr: ip.dst_addr(),
            protocol: ip.protocol(),
            ident: ip.ident(),
            ttl: ip.ttl(),
            total_len,
            dont_frag: ip.dont_frag(),
            more_frags: ip.more_frags(),
            frag_offset: ip.frag_offset(),
            header: &quoted[..header_len],
            payload: &quoted[header_len..end],
        })
    }

    /// The source and destination ports of a quoted TCP or UDP header (its first 4 bytes), or
    /// `None` for another protocol, a non-first fragment, or a quote too short.
    pub fn ports(&self) -> Option<(u16, u16)> {
        if !matches!(self.protocol, IpProtocol::Tcp | IpProtocol::Udp) || self.frag_offset != 0 {
            return None;
        }
        match self.payload {
            [a, b, c, d, ..] => Some((u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d]))),
            _ => None,
        }
    }
}

/// A parsed ICMPv4 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Repr<'a> {
    /// Echo Request (type 8, code 0).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Echo data.
        data: &'a [u8],
    },
    /// Echo Reply (type 0, code 0).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Echo data.
        data: &'a [u8],
    },
    /// Destination Unreachable (type 3).
    DstUnreachable {
        /// The code.
        reason: DstUnreachable,
        /// The next-hop MTU for [`DstUnreachable::FragRequired`] (RFC 1191), else 0.
        next_hop_mtu: u16,
        /// The quoted datagram (see [`QuotedIpv4::parse`]).
        quoted: &'a [u8],
    },
    /// Time Exceeded (type 11).
    TimeExceeded {
        /// The code.
        reason: TimeExceeded,
        /// The quoted datagram (see [`QuotedIpv4::parse`]).
        quoted: &'a [u8],
    },
    /// Any other message, kept raw (also echo messages with a code other than 0).
    Other {
        /// The type.
        msg_type: Icmpv4Message,
        /// The code.
        code: u8,
        /// Bytes 4..8 of the header.
        rest_of_header: u32,
        /// The data after the header.
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Reads a message (after [`Icmpv4Packet::check_len`]). The checksum is *not* verified:
    /// call [`Icmpv4Packet::check_checksum`]. The quoted datagram of error messages is not
    /// validated either (see [`QuotedIpv4::parse`]).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv4Packet<&'a T>) -> Result<Self> {
        packet.check_len()?;
        let data = packet.data_slice();
        Ok(match (packet.msg_type(), packet.msg_code()) {
            (Icmpv4Message::EchoRequest, 0) => Self::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Icmpv4Message::EchoReply, 0) => Self::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Icmpv4Message::DstUnreachable, code) => Self::DstUnreachable {
                reason: code.into(),
                next_hop_mtu: packet.next_hop_mtu(),
                quoted: data,
            },
            (Icmpv4Message::TimeExceeded, code) => Self::TimeExceeded {
                reason: code.into(),
                quoted: data,
            },
            (msg_type, code) => Self::Other {
                msg_type,
                code,
                rest_of_header: packet.rest_of_header(),
                data,
            },
        })
    }

    /// The message type.
    pub const fn msg_type(&self) -> Icmpv4Message {
        match self {
            Self::EchoRequest { .. } => Icmpv4Message::EchoRequest,
            Self::EchoReply { .. } => Icmpv4Message::EchoReply,
            Self::DstUnreachable { .. } => Icmpv4Message::DstUnreachable,
            Self::TimeExceeded { .. } => Icmpv4Message::TimeExceeded,
            Self::Other { msg_type, .. } => *msg_type,
        }
    }

    fn data(&self) -> &'a [u8] {
        match *self {
            Self::EchoRequest { data, .. }
            | Self::EchoReply { data, .. }
            | Self::Other { data, .. } => data,
            Self::DstUnreachable { quoted, .. } | Self::TimeExceeded { quoted, .. } => quoted,
        }
    }

    /// The length of the message on the wire: 8 plus the data.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes the message, checksum included, into the start of `buf`, which must hold at
    /// least [`buffer_len`](Self::buffer_len) bytes. Returns the bytes written; the checksum
    /// covers exactly those.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let (code, rest): (u8, u32) = match *self {
            Self::EchoRequest { ident, seq_no, .. } | Self::EchoReply { ident, seq_no, .. } => {
                (0, (u32::from(ident) << 16) | u32::from(seq_no))
            }
            Self::DstUnreachable {
                reason,
                next_hop_mtu,
                ..
            } => (reason.into(), u32::from(next_hop_mtu)),
            Self::TimeExceeded { reason, .. } => (reason.into(), 0),
            Self::Other {
                code,
                rest_of_header,
                ..
            } => (code, rest_of_header),
        };
        let mut packet = Icmpv4Packet::new_unchecked(&mut buf[..len]);
        packet.set_msg_type(self.msg_type());
        packet.set_msg_code(code);
        packet.set_rest_of_header(rest);
        packet.data_mut().copy_from_slice(self.data());
        packet.fill_checksum();
        len
    }
}

impl fmt::Display for Icmpv4Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ICMPv4 {}", self.msg_type())?;
        match *self {
            Self::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Self::EchoReply {
                ident,
                seq_no,
                data,
            } => write!(f, " id {ident:#06x} seq {seq_no} len {}", data.len()),
            Self::DstUnreachable {
                reason: reason @ DstUnreachable::FragRequired,
                next_hop_mtu,
                ..
            } => write!(f, " ({reason}, mtu {next_hop_mtu})"),
            Self::DstUnreachable { reason, .. } => write!(f, " ({reason})"),
            Self::TimeExceeded { reason, .. } => write!(f, " ({reason})"),
            Self::Other { code, data, .. } => write!(f, " code {code} len {}", data.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    /// From scapy: echo request id 0x1234 seq 1, data "abcdefgh".
    static ECHO: [u8; 16] = [
        0x08, 0x00, 0x54, 0x35, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
        0x68,
    ];

    /// From scapy: fragmentation needed, MTU 1400, quoting a 1500-byte UDP datagram
    /// 192.168.10.2:12345 > 192.0.2.53:53 (a documentation address, RFC 5737; header + 8 bytes).
    static FRAG_NEEDED: [u8; 36] = [
        0x03, 0x04, 0x02, 0x5e, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x05, 0xdc, 0x11, 0x11, 0x40,
        0x00, 0x40, 0x11, 0x97, 0x20, 0xc0, 0xa8, 0x0a, 0x02, 0xc0, 0x00, 0x02, 0x35, 0x30, 0x39,
        0x00, 0x35, 0x05, 0xc8, 0xbe, 0xef,
    ];

    /// From scapy: TTL exceeded quoting the same datagram.
    static TIME_EXCEEDED: [u8; 36] = [
        0x0b, 0x00, 0xff, 0xd9, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x05, 0xdc, 0x11, 0x11, 0x40,
        0x00, 0x40, 0x11, 0x97, 0x20, 0xc0, 0xa8, 0x0a, 0x02, 0xc0, 0x00, 0x02, 0x35, 0x30, 0x39,
        0x00, 0x35, 0x05, 0xc8, 0xbe, 0xef,
    ];

    #[test]
    fn parse_echo() {
        let p = Icmpv4Packet::new_checked(&ECHO[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv4Message::EchoRequest);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x5435);
        assert_eq!(p.echo_ident(), 0x1234);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.rest_of_header(), 0x1234_0001);
        assert_eq!(p.data(), b"abcdefgh");
        assert_eq!(p.data_slice(), b"abcdefgh");
        assert_eq!(p.payload_slice(), b"abcdefgh");
        assert!(p.verify_checksum());
        assert_eq!(p.check_checksum(), Ok(()));
        let r = Icmpv4Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Icmpv4Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
                data: b"abcdefgh"
            }
        );
        assert_eq!(r.to_string(), "ICMPv4 echo request id 0x1234 seq 1 len 8");
    }

    #[test]
    fn parse_frag_needed_and_its_quote() {
        let p = Icmpv4Packet::new_checked(&FRAG_NEEDED[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv4Message::DstUnreachable);
        assert!(p.msg_type().is_error());
        assert_eq!(
            DstUnreachable::from(p.msg_code()),
            DstUnreachable::FragRequired
        );
        assert_eq!(p.next_hop_mtu(), 1400);
        assert!(p.verify_checksum());
        let q = p.quoted_header().unwrap();
        assert_eq!(q.src_addr, Ipv4Addr::new(192, 168, 10, 2));
        assert_eq!(q.dst_addr, Ipv4Addr::new(192, 0, 2, 53));
        assert_eq!(q.protocol, IpProtocol::Udp);
        assert_eq!((q.ident, q.ttl, q.total_len), (0x1111, 64, 1500));
        assert!(q.dont_frag && !q.more_frags && q.frag_offset == 0);
        assert_eq!(q.header, &FRAG_NEEDED[8..28]);
        assert_eq!(q.payload, &FRAG_NEEDED[28..36]);
        assert_eq!(q.ports(), Some((12345, 53)));
        let r = Icmpv4Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Icmpv4Repr::DstUnreachable {
                reason: DstUnreachable::FragRequired,
                next_hop_mtu: 1400,
                quoted: &FRAG_NEEDED[8..]
            }
        );
        assert_eq!(
            r.to_string(),
            "ICMPv4 destination unreachable (fragmentation needed, mtu 1400)"
        );
    }

    #[test]
    fn parse_time_exceeded() {
        let p = Icmpv4Packet::new_checked(&TIME_EXCEEDED[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv4Message::TimeExceeded);
        assert_eq!(TimeExceeded::from(p.msg_code()), TimeExceeded::TtlExpired);
        assert!(p.verify_checksum());
        let r = Icmpv4Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Icmpv4Repr::TimeExceeded {
                reason: TimeExceeded::TtlExpired,
                quoted: &TIME_EXCEEDED[8..]
            }
        );
        assert_eq!(
            r.to_string(),
            "ICMPv4 time exceeded (TTL expired in transit)"
        );
    }

    #[test]
    fn emit_matches_fixtures_and_round_trips() {
        for fixture in [&ECHO[..], &FRAG_NEEDED[..], &TIME_EXCEEDED[..]] {
            let p = Icmpv4Packet::new_checked(fixture).unwrap();
            let r = Icmpv4Repr::parse(&p).unwrap();
            assert_eq!(r.buffer_len(), fixture.len());
            let mut out = [0xaau8; 64];
            assert_eq!(r.emit(&mut out), fixture.len());
            assert_eq!(&out[..fixture.len()], fixture);
            let p2 = Icmpv4Packet::new_checked(&out[..fixture.len()]).unwrap();
            assert_eq!(Icmpv4Repr::parse(&p2).unwrap(), r);
        }
        let reply = Icmpv4Repr::EchoReply {
            ident: 7,
            seq_no: 9,
            data: b"xyz",
        };
        let mut out = [0u8; 11];
        assert_eq!(reply.emit(&mut out), 11);
        let p = Icmpv4Packet::new_checked(&out[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(Icmpv4Repr::parse(&p).unwrap(), reply);
    }

    #[test]
    fn other_messages_are_kept_raw() {
        // A redirect to 10.0.0.254 and an echo request with a non-zero code.
        let mut b = [5u8, 1, 0, 0, 10, 0, 0, 254, 0x45];
        let mut p = Icmpv4Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum();
        assert_eq!(p.gateway(), Ipv4Addr::new(10, 0, 0, 254));
        let p = Icmpv4Packet::new_checked(&b[..]).unwrap();
        let r = Icmpv4Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Icmpv4Repr::Other {
                msg_type: Icmpv4Message::Redirect,
                code: 1,
                rest_of_header: 0x0a00_00fe,
                data: &[0x45]
            }
        );
        assert_eq!(r.to_string(), "ICMPv4 redirect code 1 len 1");
        let mut out = [0u8; 9];
        r.emit(&mut out);
        assert_eq!(out, b);
        let mut e = ECHO;
        e[1] = 1;
        let p = Icmpv4Packet::new_checked(&e[..]).unwrap();
        assert!(matches!(
            Icmpv4Repr::parse(&p).unwrap(),
            Icmpv4Repr::Other { code: 1, .. }
        ));
    }

    #[test]
    fn setters_write_the_fields() {
        let mut b = [0u8; 12];
        let mut p = Icmpv4Packet::new_unchecked(&mut b[..]);
        p.set_msg_type(Icmpv4Message::ParamProblem);
        p.set_msg_code(0);
        p.set_pointer(9);
        p.data_mut().copy_from_slice(&[1, 2, 3, 4]);
        p.fill_checksum();
        assert_eq!(p.msg_type(), Icmpv4Message::ParamProblem);
        assert_eq!(p.pointer(), 9);
        assert!(p.verify_checksum());
        p.set_gateway(Ipv4Addr::new(1, 2, 3, 4));
        assert_eq!(p.gateway(), Ipv4Addr::new(1, 2, 3, 4));
        p.set_echo_ident(0xabcd);
        p.set_echo_seq_no(0x0102);
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0xabcd, 0x0102));
        p.set_next_hop_mtu(576);
        assert_eq!(p.next_hop_mtu(), 576);
        p.set_rest_of_header(0xdead_beef);
        assert_eq!(p.rest_of_header(), 0xdead_beef);
        p.payload_mut()[0] = 7;
        p.set_checksum(0x1111);
        assert_eq!(p.checksum(), 0x1111);
        assert_eq!(p.data(), &[7, 2, 3, 4]);
    }

    #[test]
    fn truncations_and_bad_checksum() {
        for fixture in [&ECHO[..], &FRAG_NEEDED[..]] {
            for len in 0..fixture.len() {
                let r = Icmpv4Packet::new_checked(&fixture[..len]);
                if len < 8 {
                    assert!(r.unwrap_err().is_truncated());
                } else {
                    assert!(r.is_ok());
                }
            }
        }
        assert_eq!(
            Icmpv4Packet::new_checked(&ECHO[..7])
                .unwrap_err()
                .to_string(),
            "ICMPv4: header truncated: need 8 bytes, have 7"
        );
        let mut b = ECHO;
        b[15] ^= 1;
        let p = Icmpv4Packet::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(
            p.check_checksum().unwrap_err().to_string(),
            "ICMPv4: checksum 0x5435 is wrong, expected 0x5434"
        );
    }

    #[test]
    fn quote_validation() {
        let quote = |b: &[u8]| QuotedIpv4::parse(b).unwrap_err().to_string();
        let q = &FRAG_NEEDED[8..];
        assert_eq!(
            quote(&q[..19]),
            "ICMPv4: quoted header truncated: need 20 bytes, have 19"
        );
        let mut b = [0u8; 28];
        b.copy_from_slice(q);
        b[0] = 0x65;
        assert_eq!(quote(&b), "ICMPv4: quoted version 6 is invalid, expected 4");
        b[0] = 0x43;
        assert_eq!(quote(&b), "ICMPv4: quoted header length 12 < minimum 20");
        b[0] = 0x48;
        assert_eq!(
            quote(&b),
            "ICMPv4: quoted options truncated: need 32 bytes, have 28"
        );
        // IHL 6 fits: 4 option bytes, then 4 bytes of payload.
        b[0] = 0x46;
        let ok = QuotedIpv4::parse(&b).unwrap();
        assert_eq!((ok.header.len(), ok.payload.len()), (24, 4));
        assert_eq!(ok.ports(), Some((0x05c8, 0xbeef)));
        // A total length shorter than the quote bounds the payload (RFC 4884 padding).
        b[0] = 0x45;
        b[2..4].copy_from_slice(&24u16.to_be_bytes());
        let ok = QuotedIpv4::parse(&b).unwrap();
        assert_eq!(ok.payload, &q[20..24]);
        // Header only: no ports.
        let ok = QuotedIpv4::parse(&q[..20]).unwrap();
        assert_eq!((ok.payload.len(), ok.ports()), (0, None));
    }

    fn exercise(bytes: &[u8]) {
        if let Ok(p) = Icmpv4Packet::new_checked(bytes) {
            let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.rest_of_header());
            let _ = (
                p.echo_ident(),
                p.echo_seq_no(),
                p.next_hop_mtu(),
                p.pointer(),
            );
            let _ = (p.gateway(), p.data(), p.data_slice(), p.verify_checksum());
            let _ = p.check_checksum();
            if let Ok(q) = p.quoted_header() {
                let _ = q.ports();
            }
            let r = Icmpv4Repr::parse(&p).unwrap();
            let _ = r.to_string();
            let mut out = [0u8; 64];
            assert_eq!(r.emit(&mut out), bytes.len());
        }
    }

    #[test]
    fn no_panic_on_truncations_and_corruptions() {
        for fixture in [&ECHO[..], &FRAG_NEEDED[..], &TIME_EXCEEDED[..]] {
            for len in 0..=fixture.len() {
                exercise(&fixture[..len]);
            }
            for at in 0..fixture.len() {
                for v in 0..=255u8 {
                    let mut b = [0u8; 36];
                    let b = &mut b[..fixture.len()];
                    b.copy_from_slice(fixture);
                    b[at] = v;
                    exercise(b);
                }
            }
        }
    }
}
