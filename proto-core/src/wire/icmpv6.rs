//! ICMPv6 (RFC 4443) with Neighbor Discovery (RFC 4861) messages and options.
//!
//! ```text
//! type(8) code(8) checksum(16)  then, by type:
//!   1,3  Dst Unreachable / Time Exceeded  unused(32)           invoking packet...
//!   2    Packet Too Big                   MTU(32)              invoking packet...
//!   4    Parameter Problem                pointer(32)          invoking packet...
//!   128/129 Echo Request / Reply          ident(16) seq(16)    data...
//!   133  Router Solicitation              reserved(32)                        options...
//!   134  Router Advertisement             hop limit(8) M O res(6) lifetime(16)
//!                                         reachable time(32) retrans timer(32) options...
//!   135  Neighbor Solicitation            reserved(32) target(128)            options...
//!   136  Neighbor Advertisement           R S O res(29) target(128)           options...
//!   137  Redirect                         reserved(32) target(128) dest(128)  options...
//! ```
//!
//! # Getters and message types
//!
//! [`Icmpv6Packet::check_len`] checks that the buffer holds the fixed part of the message's
//! own type (e.g. 24 bytes for a Neighbor Solicitation, 16 for a Router Advertisement). Every
//! type-specific getter reads its field's bytes whatever the type is (asking an Echo Request
//! for its `mtu` reads bytes 4..8) and returns 0 / `false` / the unspecified address when the
//! buffer does not hold the field, so no getter panics on any buffer of at least 4 bytes.
//! Setters do nothing when the buffer does not hold their field.
//!
//! The checksum covers a pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1), so the view's buffer
//! must be exactly the ICMPv6 message: the IPv6 payload (bounded by its Payload Length) after
//! any extension headers.

use core::fmt;
use core::net::Ipv6Addr;

use super::ethernet::EthernetAddress;
use super::{Error, IpAddrPair, IpProtocol, Proto, Result};
use crate::checksum;

mod ndp;

pub use ndp::{NdpOption, NdpOptions, NdpPrefixInfo, ndp_option_type};

/// An ICMPv6 message type (RFC 4443 §2.1, RFC 4861 §4, RFC 2710, RFC 3810).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Icmpv6Message {
    /// Destination Unreachable (1).
    DstUnreachable,
    /// Packet Too Big (2).
    PktTooBig,
    /// Time Exceeded (3).
    TimeExceeded,
    /// Parameter Problem (4).
    ParamProblem,
    /// Echo Request (128).
    EchoRequest,
    /// Echo Reply (129).
    EchoReply,
    /// Multicast Listener Query (130, RFC 2710 / RFC 3810).
    MldQuery,
    /// MLDv1 Multicast Listener Report (131, RFC 2710).
    MldReport,
    /// MLDv1 Multicast Listener Done (132, RFC 2710).
    MldDone,
    /// Router Solicitation (133).
    RouterSolicit,
    /// Router Advertisement (134).
    RouterAdvert,
    /// Neighbor Solicitation (135).
    NeighborSolicit,
    /// Neighbor Advertisement (136).
    NeighborAdvert,
    /// Redirect (137).
    Redirect,
    /// MLDv2 Multicast Listener Report (143, RFC 3810).
    MldV2Report,
    /// Any other type.
    Unknown(u8),
}

impl Icmpv6Message {
    /// True for an error message (type < 128, RFC 4443 §2.1).
    #[inline]
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }

    /// True for the Neighbor Discovery messages (RS, RA, NS, NA, Redirect), which carry
    /// [`NdpOption`]s.
    #[inline]
    pub fn is_ndp(self) -> bool {
        matches!(
            self,
            Self::RouterSolicit
                | Self::RouterAdvert
                | Self::NeighborSolicit
                | Self::NeighborAdvert
                | Self::Redirect
        )
    }

    /// The length of the fixed part of this type's message (what [`Icmpv6Packet::check_len`]
    /// requires); 4 for an unknown type.
    #[inline]
    pub fn header_len(self) -> usize {
        match self {
            Self::DstUnreachable
            | Self::PktTooBig
            | Self::TimeExceeded
            | Self::ParamProblem
            | Self::EchoRequest
            | Self::EchoReply
            | Self::RouterSolicit
            | Self::MldV2Report => 8,
            Self::RouterAdvert => 16,
            Self::MldQuery
            | Self::MldReport
            | Self::MldDone
            | Self::NeighborSolicit
            | Self::NeighborAdvert => 24,
            Self::Redirect => 40,
            Self::Unknown(_) => 4,
        }
    }

    /// The RFC's name of the message.
    pub fn name(self) -> &'static str {
        match self {
            Self::DstUnreachable => "Destination Unreachable",
            Self::PktTooBig => "Packet Too Big",
            Self::TimeExceeded => "Time Exceeded",
            Self::ParamProblem => "Parameter Problem",
            Self::EchoRequest => "Echo Request",
            Self::EchoReply => "Echo Reply",
            Self::MldQuery => "Multicast Listener Query",
            Self::MldReport => "Multicast Listener Report",
            Self::MldDone => "Multicast Listener Done",
            Self::RouterSolicit => "Router Solicitation",
            Self::RouterAdvert => "Router Advertisement",
            Self::NeighborSolicit => "Neighbor Solicitation",
            Self::NeighborAdvert => "Neighbor Advertisement",
            Self::Redirect => "Redirect",
            Self::MldV2Report => "Version 2 Multicast Listener Report",
            Self::Unknown(_) => "message",
        }
    }
}

impl From<u8> for Icmpv6Message {
    fn from(value: u8) -> Self {
        match value {
            1 => Self::DstUnreachable,
            2 => Self::PktTooBig,
            3 => Self::TimeExceeded,
            4 => Self::ParamProblem,
            128 => Self::EchoRequest,
            129 => Self::EchoReply,
            130 => Self::MldQuery,
            131 => Self::MldReport,
            132 => Self::MldDone,
            133 => Self::RouterSolicit,
            134 => Self::RouterAdvert,
            135 => Self::NeighborSolicit,
            136 => Self::NeighborAdvert,
            137 => Self::Redirect,
            143 => Self::MldV2Report,
            other => Self::Unknown(other),
        }
    }
}

impl From<Icmpv6Message> for u8 {
    fn from(value: Icmpv6Message) -> Self {
        match value {
            Icmpv6Message::DstUnreachable => 1,
            Icmpv6Message::PktTooBig => 2,
            Icmpv6Message::TimeExceeded => 3,
            Icmpv6Message::ParamProblem => 4,
            Icmpv6Message::EchoRequest => 128,
            Icmpv6Message::EchoReply => 129,
            Icmpv6Message::MldQuery => 130,
            Icmpv6Message::MldReport => 131,
            Icmpv6Message::MldDone => 132,
            Icmpv6Message::RouterSolicit => 133,
            Icmpv6Message::RouterAdvert => 134,
            Icmpv6Message::NeighborSolicit => 135,
            Icmpv6Message::NeighborAdvert => 136,
            Icmpv6Message::Redirect => 137,
            Icmpv6Message::MldV2Report => 143,
            Icmpv6Message::Unknown(other) => other,
        }
    }
}

impl fmt::Display for Icmpv6Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(n) => write!(f, "type {n}"),
            other => f.write_str(other.name()),
        }
    }
}

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    /// Echo Identifier / Sequence Number.
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQ_NO: usize = 6;
    /// Packet Too Big MTU, Parameter Problem Pointer.
    pub const MTU: usize = 4;
    pub const POINTER: usize = 4;
    /// Router Advertisement.
    pub const CUR_HOP_LIMIT: usize = 4;
    pub const RA_FLAGS: usize = 5;
    pub const ROUTER_LIFETIME: usize = 6;
    pub const REACHABLE_TIME: usize = 8;
    pub const RETRANS_TIME: usize = 12;
    /// Neighbor Advertisement R/S/O flags.
    pub const NA_FLAGS: usize = 4;
    /// NS / NA / Redirect.
    pub const TARGET_ADDR: usize = 8;
    /// Redirect.
    pub const DEST_ADDR: usize = 24;
}

/// RA M flag (RFC 4861 §4.2).
const FLAG_MANAGED: u8 = 0x80;
/// RA O flag.
const FLAG_OTHER: u8 = 0x40;
/// NA R flag (RFC 4861 §4.4).
const FLAG_ROUTER: u8 = 0x80;
/// NA S flag.
const FLAG_SOLICITED: u8 = 0x40;
/// NA O flag.
const FLAG_OVERRIDE: u8 = 0x20;

/// The type, code and checksum every message has.
pub const MIN_HEADER_LEN: usize = 4;

#[inline(always)]
fn get8(buf: &[u8], at: usize) -> u8 {
    buf.get(at).copied().unwrap_or(0)
}

#[inline(always)]
fn get16(buf: &[u8], at: usize) -> u16 {
    match buf.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

#[inline(always)]
fn get32(buf: &[u8], at: usize) -> u32 {
    match buf.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[inline(always)]
fn get_addr(buf: &[u8], at: usize) -> Ipv6Addr {
    match buf.get(at..at + 16) {
        Some(bytes) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            Ipv6Addr::from(octets)
        }
        None => Ipv6Addr::UNSPECIFIED,
    }
}

/// Writes `bytes` at `at` if the buffer holds them.
#[inline(always)]
fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Sets or clears `mask` in the byte at `at`, if the buffer holds it.
#[inline(always)]
fn put_flag(buf: &mut [u8], at: usize, mask: u8, value: bool) {
    if let Some(b) = buf.get_mut(at) {
        *b = if value { *b | mask } else { *b & !mask };
    }
}

/// A read/write view of an ICMPv6 message. See the [module docs](self) for which getters
/// apply to which type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wraps a buffer without checking it. Getters never panic; they return 0 for fields the
    /// buffer does not hold.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the type, code and checksum and the fixed part of the
    /// message's type ([`Icmpv6Message::header_len`]). Options are checked when iterated.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        if buf.len() < MIN_HEADER_LEN {
            return Err(Error::truncated(
                Proto::Icmpv6,
                "header",
                MIN_HEADER_LEN,
                buf.len(),
            ));
        }
        let msg_type = Icmpv6Message::from(buf[field::TYPE]);
        let need = msg_type.header_len();
        if buf.len() < need {
            return Err(Error::truncated(
                Proto::Icmpv6,
                msg_type.name(),
                need,
                buf.len(),
            ));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The message type.
    #[inline]
    pub fn msg_type(&self) -> Icmpv6Message {
        Icmpv6Message::from(get8(self.buffer.as_ref(), field::TYPE))
    }

    /// The message code.
    #[inline]
    pub fn msg_code(&self) -> u8 {
        get8(self.buffer.as_ref(), field::CODE)
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        get16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The length of the fixed part of this message's type; the
    /// [`payload`](Self::payload) follows it.
    #[inline]
    pub fn header_len(&self) -> usize {
        self.msg_type().header_len()
    }

    /// The bytes after the fixed part: echo data, the invoking packet of an error, the NDP
    /// options. Empty if the buffer is shorter than the fixed part.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(self.header_len()..)
            .unwrap_or_default()
    }

    /// Echo Request/Reply Identifier.
    #[inline]
    pub fn ident(&self) -> u16 {
        get16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Echo Request/Reply Sequence Number.
    #[inline]
    pub fn seq_no(&self) -> u16 {
        get16(self.buffer.as_ref(), field::ECHO_SEQ_NO)
    }

    /// Packet Too Big: the MTU of the next-hop link.
    #[inline]
    pub fn mtu(&self) -> u32 {
        get32(self.buffer.as_ref(), field::MTU)
    }

    /// Parameter Problem: the offset of the error in the invoking packet.
    #[inline]
    pub fn pointer(&self) -> u32 {
        get32(self.buffer.as_ref(), field::POINTER)
    }

    /// The invoking packet quoted by an error message (as much as fit, RFC 4443 §2.4(c));
    /// empty for other messages.
    #[inline]
    pub fn quoted(&self) -> &[u8] {
        if self.msg_type().is_error() {
            self.payload()
        } else {
            &[]
        }
    }

    /// Router Advertisement: Cur Hop Limit (0 = unspecified).
    #[inline]
    pub fn cur_hop_limit(&self) -> u8 {
        get8(self.buffer.as_ref(), field::CUR_HOP_LIMIT)
    }

    /// Router Advertisement: the M (Managed address configuration) flag.
    #[inline]
    pub fn managed(&self) -> bool {
        get8(self.buffer.as_ref(), field::RA_FLAGS) & FLAG_MANAGED != 0
    }

    /// Router Advertisement: the O (Other configuration) flag.
    #[inline]
    pub fn other(&self) -> bool {
        get8(self.buffer.as_ref(), field::RA_FLAGS) & FLAG_OTHER != 0
    }

    /// Router Advertisement: Router Lifetime in seconds (0 = not a default router).
    #[inline]
    pub fn router_lifetime(&self) -> u16 {
        get16(self.buffer.as_ref(), field::ROUTER_LIFETIME)
    }

    /// Router Advertisement: Reachable Time in milliseconds (0 = unspecified).
    #[inline]
    pub fn reachable_time(&self) -> u32 {
        get32(self.buffer.as_ref(), field::REACHABLE_TIME)
    }

    /// Router Advertisement: Retrans Timer in milliseconds (0 = unspecified).
    #[inline]
    pub fn retrans_time(&self) -> u32 {
        get32(self.buffer.as_ref(), field::RETRANS_TIME)
    }

    /// Neighbor Solicitation / Advertisement, Redirect: the Target Address.
    #[inline]
    pub fn target_addr(&self) -> Ipv6Addr {
        get_addr(self.buffer.as_ref(), field::TARGET_ADDR)
    }

    /// Neighbor Advertisement: the R (Router) flag.
    #[inline]
    pub fn router(&self) -> bool {
        get8(self.buffer.as_ref(), field::NA_FLAGS) & FLAG_ROUTER != 0
    }

    /// Neighbor Advertisement: the S (Solicited) flag.
    #[inline]
    pub fn solicited(&self) -> bool {
        get8(self.buffer.as_ref(), field::NA_FLAGS) & FLAG_SOLICITED != 0
    }

    /// Neighbor Advertisement: the O (Override) flag (`override` is a Rust keyword).
    #[inline]
    pub fn override_flag(&self) -> bool {
        get8(self.buffer.as_ref(), field::NA_FLAGS) & FLAG_OVERRIDE != 0
    }

    /// Redirect: the Destination Address.
    #[inline]
    pub fn dest_addr(&self) -> Ipv6Addr {
        get_addr(self.buffer.as_ref(), field::DEST_ADDR)
    }

    /// The NDP options of a Neighbor Discovery message (after its fixed part); empty for
    /// other messages.
    #[inline]
    pub fn ndp_options(&self) -> NdpOptions<'_> {
        if self.msg_type().is_ndp() {
            NdpOptions::new(self.payload())
        } else {
            NdpOptions::new(&[])
        }
    }

    /// The sum of the pseudo-header and the whole message, checksum field included.
    #[inline]
    fn full_sum(&self, addrs: &IpAddrPair) -> u16 {
        let buf = self.buffer.as_ref();
        checksum::combine(&[
            addrs.pseudo_header_sum(IpProtocol::Icmpv6, buf.len()),
            checksum::sum(buf),
        ])
    }

    /// True when the checksum (over the pseudo-header of `addrs` and the whole buffer) is
    /// right (RFC 4443 §2.3).
    #[inline]
    pub fn verify_checksum(&self, addrs: &IpAddrPair) -> bool {
        checksum::verify(self.full_sum(addrs))
    }

    /// [`verify_checksum`](Self::verify_checksum), as an error naming the value expected.
    #[inline]
    pub fn check_checksum(&self, addrs: &IpAddrPair) -> Result<()> {
        let total = self.full_sum(addrs);
        if checksum::verify(total) {
            return Ok(());
        }
        let found = self.checksum();
        // Take the field back out of the sum (one's-complement subtraction adds `!found`).
        let expected = !checksum::combine(&[total, !found]);
        Err(Error::bad_checksum(Proto::Icmpv6, found, expected))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv6Packet<&'a T> {
    /// [`payload`](Icmpv6Packet::payload), borrowed for the buffer's whole lifetime.
    #[inline]
    pub fn payload_slice(&self) -> &'a [u8] {
        let start = self.header_len();
        self.buffer.as_ref().get(start..).unwrap_or_default()
    }

    /// [`quoted`](Icmpv6Packet::quoted), borrowed for the buffer's whole lifetime.
    #[inline]
    pub fn quoted_slice(&self) -> &'a [u8] {
        if self.msg_type().is_error() {
            self.payload_slice()
        } else {
            &[]
        }
    }

    /// [`ndp_options`](Icmpv6Packet::ndp_options), borrowed for the buffer's whole lifetime.
    #[inline]
    pub fn ndp_options_slice(&self) -> NdpOptions<'a> {
        if self.msg_type().is_ndp() {
            NdpOptions::new(self.payload_slice())
        } else {
            NdpOptions::new(&[])
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, value: Icmpv6Message) {
        put(self.buffer.as_mut(), field::TYPE, &[value.into()]);
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, value: u8) {
        put(self.buffer.as_mut(), field::CODE, &[value]);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        put(self.buffer.as_mut(), field::CHECKSUM, &value.to_be_bytes());
    }

    /// Sets the Echo Identifier.
    #[inline]
    pub fn set_ident(&mut self, value: u16) {
        put(
            self.buffer.as_mut(),
            field::ECHO_IDENT,
            &value.to_be_bytes(),
        );
    }

    /// Sets the Echo Sequence Number.
    #[inline]
    pub fn set_seq_no(&mut self, value: u16) {
        put(
            self.buffer.as_mut(),
            field::ECHO_SEQ_NO,
            &value.to_be_bytes(),
        );
    }

    /// Sets the Packet Too Big MTU.
    #[inline]
    pub fn set_mtu(&mut self, value: u32) {
        put(self.buffer.as_mut(), field::MTU, &value.to_be_bytes());
    }

    /// Sets the Parameter Problem Pointer.
    #[inline]
    pub fn set_pointer(&mut self, value: u32) {
        put(self.buffer.as_mut(), field::POINTER, &value.to_be_bytes());
    }

    /// Sets the RA Cur Hop Limit.
    #[inline]
    pub fn set_cur_hop_limit(&mut self, value: u8) {
        put(self.buffer.as_mut(), field::CUR_HOP_LIMIT, &[value]);
    }

    /// Sets the RA M flag.
    #[inline]
    pub fn set_managed(&mut self, value: bool) {
        put_flag(self.buffer.as_mut(), field::RA_FLAGS, FLAG_MANAGED, value);
    }

    /// Sets the RA O flag.
    #[inline]
    pub fn set_other(&mut self, value: bool) {
        put_flag(self.buffer.as_mut(), field::RA_FLAGS, FLAG_OTHER, value);
    }

    /// Sets the RA Router Lifetime.
    #[inline]
    pub fn set_router_lifetime(&mut self, value: u16) {
        put(
            self.buffer.as_mut(),
            field::ROUTER_LIFETIME,
            &value.to_be_bytes(),
        );
    }

    /// Sets the RA Reachable Time.
    #[inline]
    pub fn set_reachable_time(&mut self, value: u32) {
        put(
            self.buffer.as_mut(),
            field::REACHABLE_TIME,
            &value.to_be_bytes(),
        );
    }

    /// Sets the RA Retrans Timer.
    #[inline]
    pub fn set_retrans_time(&mut self, value: u32) {
        put(
            self.buffer.as_mut(),
            field::RETRANS_TIME,
            &value.to_be_bytes(),
        );
    }

    /// Sets the Target Address (NS, NA, Redirect).
    #[inline]
    pub fn set_target_addr(&mut self, addr: Ipv6Addr) {
        put(self.buffer.as_mut(), field::TARGET_ADDR, &addr.octets());
    }

    /// Sets the NA R flag.
    #[inline]
    pub fn set_router(&mut self, value: bool) {
        put_flag(self.buffer.as_mut(), field::NA_FLAGS, FLAG_ROUTER, value);
    }

    /// Sets the NA S flag.
    #[inline]
    pub fn set_solicited(&mut self, value: bool) {
        put_flag(self.buffer.as_mut(), field::NA_FLAGS, FLAG_SOLICITED, value);
    }

    /// Sets the NA O flag.
    #[inline]
    pub fn set_override_flag(&mut self, value: bool) {
        put_flag(self.buffer.as_mut(), field::NA_FLAGS, FLAG_OVERRIDE, value);
    }

    /// Sets the Redirect Destination Address.
    #[inline]
    pub fn set_dest_addr(&mut self, addr: Ipv6Addr) {
        put(self.buffer.as_mut(), field::DEST_ADDR, &addr.octets());
    }

    /// The bytes after the fixed part, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        self.buffer.as_mut().get_mut(start..).unwrap_or_default()
    }

    /// Computes and writes the checksum over the pseudo-header of `addrs` and the whole
    /// buffer (RFC 4443 §2.3).
    #[inline]
    pub fn fill_checksum(&mut self, addrs: &IpAddrPair) {
        self.set_checksum(0);
        let sum = self.full_sum(addrs);
        self.set_checksum(!sum);
    }
}

/// A parsed ICMPv6 message: echo, the four error messages, and the NDP messages a host sends
/// and receives (RS, RA, NS, NA).
///
/// The NDP variants keep the options a host uses: the first link-layer address option of the
/// right kind, and for RA the first MTU and Prefix Information options; other options are
/// skipped (iterate [`Icmpv6Packet::ndp_options`] for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Repr<'a> {
    /// Destination Unreachable (RFC 4443 §3.1).
    DstUnreachable {
        /// 0 no route, 1 administratively prohibited, 2 beyond scope, 3 address unreachable,
        /// 4 port unreachable, 5 source address failed policy, 6 reject route.
        code: u8,
        /// The invoking packet.
        data: &'a [u8],
    },
    /// Packet Too Big (RFC 4443 §3.2).
    PktTooBig {
        /// The next-hop MTU.
        mtu: u32,
        /// The invoking packet.
        data: &'a [u8],
    },
    /// Time Exceeded (RFC 4443 §3.3).
    TimeExceeded {
        /// 0 hop limit exceeded, 1 fragment reassembly time exceeded.
        code: u8,
        /// The invoking packet.
        data: &'a [u8],
    },
    /// Parameter Problem (RFC 4443 §3.4).
    ParamProblem {
        /// 0 erroneous header field, 1 unrecognized Next Header, 2 unrecognized option.
        code: u8,
        /// The offset of the error in the invoking packet.
        pointer: u32,
        /// The invoking packet.
        data: &'a [u8],
    },
    /// Echo Request (RFC 4443 §4.1).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence Number.
        seq_no: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Echo Reply (RFC 4443 §4.2).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence Number.
        seq_no: u16,
        /// Data.
        data: &'a [u8],
    },
    /// Router Solicitation (RFC 4861 §4.1).
    RouterSolicit {
        /// The Source Link-Layer Address option.
        lladdr: Option<EthernetAddress>,
    },
    /// Router Advertisement (RFC 4861 §4.2). The other flag bits (Home Agent, RFC 6275;
    /// Default Router Preference, RFC 4191; Proxy, RFC 4389) are not kept and emitted as 0.
    RouterAdvert {
        /// Cur Hop Limit (0 = unspecified).
        hop_limit: u8,
        /// M flag.
        managed: bool,
        /// O flag.
        other: bool,
        /// Router Lifetime in seconds.
        router_lifetime: u16,
        /// Reachable Time in milliseconds.
        reachable_time: u32,
        /// Retrans Timer in milliseconds.
        retrans_time: u32,
        /// The Source Link-Layer Address option.
        lladdr: Option<EthernetAddress>,
        /// The MTU option.
        mtu: Option<u32>,
        /// The first Prefix Information option.
        prefix_info: Option<NdpPrefixInfo>,
    },
    /// Neighbor Solicitation (RFC 4861 §4.3).
    NeighborSolicit {
        /// The address being resolved.
        target_addr: Ipv6Addr,
        /// The Source Link-Layer Address option.
        lladdr: Option<EthernetAddress>,
    },
    /// Neighbor Advertisement (RFC 4861 §4.4).
    NeighborAdvert {
        /// R flag: the sender is a router.
        router: bool,
        /// S flag: sent in response to a solicitation.
        solicited: bool,
        /// O flag: override an existing cache entry.
        override_flag: bool,
        /// The address advertised.
        target_addr: Ipv6Addr,
        /// The Target Link-Layer Address option.
        lladdr: Option<EthernetAddress>,
    },
}

/// The options [`Icmpv6Repr`] keeps (the first of each kind).
#[derive(Default)]
struct KeptOptions {
    source: Option<EthernetAddress>,
    target: Option<EthernetAddress>,
    mtu: Option<u32>,
    prefix_info: Option<NdpPrefixInfo>,
}

impl KeptOptions {
    /// Walks `options`, failing on the first malformed one (RFC 4861 §6.1, §7.1: such a
    /// message is discarded).
    fn gather(options: NdpOptions<'_>) -> Result<Self> {
        let mut kept = Self::default();
        for option in options {
            match option? {
                NdpOption::SourceLinkLayerAddr(a) => {
                    kept.source.get_or_insert(a);
                }
                NdpOption::TargetLinkLayerAddr(a) => {
                    kept.target.get_or_insert(a);
                }
                NdpOption::Mtu(m) => {
                    kept.mtu.get_or_insert(m);
                }
                NdpOption::PrefixInformation(p) => {
                    kept.prefix_info.get_or_insert(p);
                }
                NdpOption::RedirectedHeader(_) | NdpOption::Unknown { .. } => {}
            }
        }
        Ok(kept)
    }
}

/// The source address of an IPv6 pair (for the NDP checks that depend on it).
fn v6_src(addrs: &IpAddrPair) -> Option<Ipv6Addr> {
    match *addrs {
        IpAddrPair::V6 { src, .. } => Some(src),
        IpAddrPair::V4 { .. } => None,
    }
}

/// The NDP length of a link-layer address option: 8 bytes if present.
fn lladdr_len(lladdr: Option<EthernetAddress>) -> usize {
    if lladdr.is_some() { 8 } else { 0 }
}

impl<'a> Icmpv6Repr<'a> {
    /// Reads a message. The checksum is *not* verified (see
    /// [`Icmpv6Packet::check_checksum`]); `addrs` (of the carrying IPv6 packet) is used for
    /// the NDP validity checks of RFC 4861 §6.1.1 and §7.1 that depend on it.
    ///
    /// Errors: a type not listed in [`Icmpv6Repr`] (MLD, Redirect, unknown), an NDP message
    /// with a code other than 0, a malformed NDP option, a source link-layer address option
    /// from the unspecified address, a solicited NA to a multicast destination.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Icmpv6Packet<&'a T>,
        addrs: &IpAddrPair,
    ) -> Result<Self> {
        packet.check_len()?;
        let msg_type = packet.msg_type();
        let code = packet.msg_code();
        let data = packet.payload_slice();
        if msg_type.is_ndp() && code != 0 {
            // RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2: ICMP Code is 0.
            return Err(Error::invalid(Proto::Icmpv6, "code", code.into(), "0"));
        }
        let repr = match msg_type {
            Icmpv6Message::DstUnreachable => Self::DstUnreachable { code, data },
            Icmpv6Message::PktTooBig => Self::PktTooBig {
                mtu: packet.mtu(),
                data,
            },
            Icmpv6Message::TimeExceeded => Self::TimeExceeded { code, data },
            Icmpv6Message::ParamProblem => Self::ParamProblem {
                code,
                pointer: packet.pointer(),
                data,
            },
            Icmpv6Message::EchoRequest => Self::EchoRequest {
                ident: packet.ident(),
                seq_no: packet.seq_no(),
                data,
            },
            Icmpv6Message::EchoReply => Self::EchoReply {
                ident: packet.ident(),
                seq_no: packet.seq_no(),
                data,
            },
            Icmpv6Message::RouterSolicit => {
                let kept = KeptOptions::gather(NdpOptions::new(data))?;
                Self::check_unspecified_source(addrs, kept.source)?;
                Self::RouterSolicit {
                    lladdr: kept.source,
                }
            }
            Icmpv6Message::RouterAdvert => {
                let kept = KeptOptions::gather(NdpOptions::new(data))?;
                Self::RouterAdvert {
                    hop_limit: packet.cur_hop_limit(),
                    managed: packet.managed(),
                    other: packet.other(),
                    router_lifetime: packet.router_lifetime(),
                    reachable_time: packet.reachable_time(),
                    retrans_time: packet.retrans_time(),
                    lladdr: kept.source,
                    mtu: kept.mtu,
                    prefix_info: kept.prefix_info,
                }
            }
            Icmpv6Message::NeighborSolicit => {
                let kept = KeptOptions::gather(NdpOptions::new(data))?;
                Self::check_unspecified_source(addrs, kept.source)?;
                Self::NeighborSolicit {
                    target_addr: packet.target_addr(),
                    lladdr: kept.source,
                }
            }
            Icmpv6Message::NeighborAdvert => {
                let kept = KeptOptions::gather(NdpOptions::new(data))?;
                // RFC 4861 §7.1.2: if the destination is multicast, the Solicited flag is 0.
                if let IpAddrPair::V6 { dst, .. } = addrs
                    && dst.is_multicast()
                    && packet.solicited()
                {
                    return Err(Error::invalid(
                        Proto::Icmpv6,
                        "Solicited flag",
                        1,
                        "0 when the destination is multicast",
                    ));
                }
                Self::NeighborAdvert {
                    router: packet.router(),
                    solicited: packet.solicited(),
                    override_flag: packet.override_flag(),
                    target_addr: packet.target_addr(),
                    lladdr: kept.target,
                }
            }
            other => {
                return Err(Error::invalid(
                    Proto::Icmpv6,
                    "type",
                    u8::from(other).into(),
                    "an error, echo, RS, RA, NS or NA message",
                ));
            }
        };
        Ok(repr)
    }

    /// RFC 4861 §6.1.1, §7.1.1: from the unspecified address there is no Source Link-Layer
    /// Address option.
    fn check_unspecified_source(addrs: &IpAddrPair, source: Option<EthernetAddress>) -> Result<()> {
        if source.is_some() && v6_src(addrs).is_some_and(|s| s.is_unspecified()) {
            return Err(Error::invalid(
                Proto::NdpOption,
                "Source Link-Layer Address option count",
                1,
                "0 when the source is the unspecified address",
            ));
        }
        Ok(())
    }

    /// The message type.
    pub fn msg_type(&self) -> Icmpv6Message {
        match self {
            Self::DstUnreachable { .. } => Icmpv6Message::DstUnreachable,
            Self::PktTooBig { .. } => Icmpv6Message::PktTooBig,
            Self::TimeExceeded { .. } => Icmpv6Message::TimeExceeded,
            Self::ParamProblem { .. } => Icmpv6Message::ParamProblem,
            Self::EchoRequest { .. } => Icmpv6Message::EchoRequest,
            Self::EchoReply { .. } => Icmpv6Message::EchoReply,
            Self::RouterSolicit { .. } => Icmpv6Message::RouterSolicit,
            Self::RouterAdvert { .. } => Icmpv6Message::RouterAdvert,
            Self::NeighborSolicit { .. } => Icmpv6Message::NeighborSolicit,
            Self::NeighborAdvert { .. } => Icmpv6Message::NeighborAdvert,
        }
    }

    /// The message's length on the wire: the fixed part, data and options.
    pub fn buffer_len(&self) -> usize {
        let fixed = self.msg_type().header_len();
        fixed
            + match *self {
                Self::DstUnreachable { data, .. }
                | Self::PktTooBig { data, .. }
                | Self::TimeExceeded { data, .. }
                | Self::ParamProblem { data, .. }
                | Self::EchoRequest { data, .. }
                | Self::EchoReply { data, .. } => data.len(),
                Self::RouterSolicit { lladdr }
                | Self::NeighborSolicit { lladdr, .. }
                | Self::NeighborAdvert { lladdr, .. } => lladdr_len(lladdr),
                Self::RouterAdvert {
                    lladdr,
                    mtu,
                    prefix_info,
                    ..
                } => {
                    lladdr_len(lladdr)
                        + mtu.map_or(0, |m| NdpOption::Mtu(m).buffer_len())
                        + prefix_info.map_or(0, |p| NdpOption::PrefixInformation(p).buffer_len())
                }
            }
    }

    /// Writes the message into the start of `buf` (at least [`buffer_len`](Self::buffer_len)
    /// bytes), fills the checksum for `addrs` and returns the length. Reserved fields are
    /// zeroed.
    pub fn emit(&self, addrs: &IpAddrPair, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let fixed = self.msg_type().header_len();
        let buf = &mut buf[..len];
        buf[..fixed].fill(0);
        let mut packet = Icmpv6Packet::new_unchecked(&mut *buf);
        packet.set_msg_type(self.msg_type());
        match *self {
            Self::DstUnreachable { code, data } | Self::TimeExceeded { code, data } => {
                packet.set_msg_code(code);
                packet.payload_mut().copy_from_slice(data);
            }
            Self::PktTooBig { mtu, data } => {
                packet.set_mtu(mtu);
                packet.payload_mut().copy_from_slice(data);
            }
            Self::ParamProblem {
                code,
                pointer,
                data,
            } => {
                packet.set_msg_code(code);
                packet.set_pointer(pointer);
                packet.payload_mut().copy_from_slice(data);
            }
            Self::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Self::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                packet.set_ident(ident);
                packet.set_seq_no(seq_no);
                packet.payload_mut().copy_from_slice(data);
            }
            Self::RouterSolicit { lladdr } => {
                emit_options(
                    packet.payload_mut(),
                    &[lladdr.map(NdpOption::SourceLinkLayerAddr)],
                );
            }
            Self::RouterAdvert {
                hop_limit,
                managed,
                other,
                router_lifetime,
                reachable_time,
                retrans_time,
                lladdr,
                mtu,
                prefix_info,
            } => {
                packet.set_cur_hop_limit(hop_limit);
                packet.set_managed(managed);
                packet.set_other(other);
                packet.set_router_lifetime(router_lifetime);
                packet.set_reachable_time(reachable_time);
                packet.set_retrans_time(retrans_time);
                let options = [
                    lladdr.map(NdpOption::SourceLinkLayerAddr),
                    mtu.map(NdpOption::Mtu),
                    prefix_info.map(NdpOption::PrefixInformation),
                ];
                emit_options(packet.payload_mut(), &options);
            }
            Self::NeighborSolicit {
                target_addr,
                lladdr,
            } => {
                packet.set_target_addr(target_addr);
                emit_options(
                    packet.payload_mut(),
                    &[lladdr.map(NdpOption::SourceLinkLayerAddr)],
                );
            }
            Self::NeighborAdvert {
                router,
                solicited,
                override_flag,
                target_addr,
                lladdr,
            } => {
                packet.set_router(router);
                packet.set_solicited(solicited);
                packet.set_override_flag(override_flag);
                packet.set_target_addr(target_addr);
                emit_options(
                    packet.payload_mut(),
                    &[lladdr.map(NdpOption::TargetLinkLayerAddr)],
                );
            }
        }
        packet.fill_checksum(addrs);
        len
    }
}

/// Writes the present options one after another.
fn emit_options(buf: &mut [u8], options: &[Option<NdpOption<'_>>]) {
    let mut at = 0;
    for option in options.iter().flatten() {
        at += option.emit(&mut buf[at..]);
    }
}

impl fmt::Display for Icmpv6Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ICMPv6 {}", self.msg_type())?;
        match *self {
            Self::DstUnreachable { code, data } | Self::TimeExceeded { code, data } => {
                write!(f, " code {code} ({} bytes quoted)", data.len())
            }
            Self::PktTooBig { mtu, data } => write!(f, " mtu {mtu} ({} bytes quoted)", data.len()),
            Self::ParamProblem {
                code,
                pointer,
                data,
            } => write!(
                f,
                " code {code} pointer {pointer} ({} bytes quoted)",
                data.len()
            ),
            Self::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Self::EchoReply {
                ident,
                seq_no,
                data,
            } => write!(f, " id {ident} seq {seq_no} len {}", data.len()),
            Self::RouterSolicit { lladdr } => fmt_lladdr(f, lladdr),
            Self::RouterAdvert {
                hop_limit,
                router_lifetime,
                lladdr,
                mtu,
                prefix_info,
                ..
            } => {
                write!(f, " hlim {hop_limit} lifetime {router_lifetime}")?;
                fmt_lladdr(f, lladdr)?;
                if let Some(m) = mtu {
                    write!(f, " mtu {m}")?;
                }
                if let Some(p) = prefix_info {
                    write!(f, " {}", NdpOption::PrefixInformation(p))?;
                }
                Ok(())
            }
            Self::NeighborSolicit {
                target_addr,
                lladdr,
            } => {
                write!(f, " who has {target_addr}")?;
                fmt_lladdr(f, lladdr)
            }
            Self::NeighborAdvert {
                router,
                solicited,
                override_flag,
                target_addr,
                lladdr,
            } => {
                write!(f, " {target_addr}")?;
                fmt_lladdr(f, lladdr)?;
                for (set, name) in [(router, " R"), (solicited, " S"), (override_flag, " O")] {
                    if set {
                        f.write_str(name)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Writes ` lladdr xx:..` when present.
fn fmt_lladdr(f: &mut fmt::Formatter<'_>, lladdr: Option<EthernetAddress>) -> fmt::Result {
    match lladdr {
        Some(a) => write!(f, " lladdr {a}"),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;
    use std::vec::Vec;

    // Whole IPv6 packets from scapy (the ICMPv6 message is at 40..); MACs 52:54:00:12:34:56
    // (host, fe80::5054:ff:fe12:3456) and 52:54:00:ab:cd:ef (router, fe80::5054:ff:feab:cdef).
    // IPv6(src="2001:db8::1", dst="2001:db8::2")/ICMPv6EchoRequest(id=0x1c2b, seq=1, data=16 B)
    static ECHO_REQUEST: [u8; 64] = [
        0x60, 0x01, 0x23, 0x45, 0x00, 0x18, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00, 0x4f, 0x4b, 0x1c,
        0x2b, 0x00, 0x01, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
        0x1c, 0x1d, 0x1e, 0x1f,
    ];
    // The reply.
    static ECHO_REPLY: [u8; 64] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x81, 0x00, 0x4e, 0x4b, 0x1c,
        0x2b, 0x00, 0x01, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
        0x1c, 0x1d, 0x1e, 0x1f,
    ];
    // ICMPv6ND_NS(tgt=router)/ICMPv6NDOptSrcLLAddr(host MAC), to ff02::1:ffab:cdef.
    static NS: [u8; 72] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xab, 0xcd, 0xef, 0x87, 0x00, 0x85, 0x9a, 0x00,
        0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x54, 0x00, 0xff,
        0xfe, 0xab, 0xcd, 0xef, 0x01, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    ];
    // ICMPv6ND_NA(tgt=router, S=1, O=1)/ICMPv6NDOptDstLLAddr(router MAC).
    static NA: [u8; 72] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x50, 0x54, 0x00, 0xff, 0xfe, 0xab, 0xcd, 0xef, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56, 0x88, 0x00, 0x39, 0x97, 0x60,
        0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x54, 0x00, 0xff,
        0xfe, 0xab, 0xcd, 0xef, 0x02, 0x01, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,
    ];
    // ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(host MAC), to ff02::2.
    static RS: [u8; 56] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x85, 0x00, 0x71, 0xb5, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
    ];
    // ICMPv6ND_RA(chlim=64, O=1, prf=0, routerlifetime=1800, reachabletime=30000, retranstimer=1000)
    // / SrcLLAddr(router MAC) / MTU(1500) / PrefixInfo(2001:db8:1::/64, L, A, 86400, 14400).
    static RA: [u8; 104] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x40, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x50, 0x54, 0x00, 0xff, 0xfe, 0xab, 0xcd, 0xef, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0x00, 0x75, 0xa3, 0x40,
        0x40, 0x07, 0x08, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x03, 0xe8, 0x01, 0x01, 0x52, 0x54,
        0x00, 0xab, 0xcd, 0xef, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc, 0x03, 0x04, 0x40,
        0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01,
        0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    // ICMPv6PacketTooBig(mtu=1280) quoting IPv6/UDP(1234 -> 53)/b"hello".
    static PTB: [u8; 101] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x2a, 0xe8, 0x00,
        0x00, 0x05, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x11, 0x40, 0x20, 0x01, 0x0d, 0xb8,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d,
        0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0xd2,
        0x00, 0x35, 0x00, 0x0d, 0x5b, 0x86, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
    ];

    fn addrs(ip: &[u8]) -> IpAddrPair {
        let src: [u8; 16] = ip[8..24].try_into().unwrap();
        let dst: [u8; 16] = ip[24..40].try_into().unwrap();
        IpAddrPair::V6 {
            src: src.into(),
            dst: dst.into(),
        }
    }

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    const HOST_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    const ROUTER_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);

    /// Parses the ICMPv6 part of `ip`, checks the checksum, that emitting the Repr gives the
    /// same bytes, and returns the Repr.
    fn round_trip(ip: &'static [u8]) -> Icmpv6Repr<'static> {
        let pair = addrs(ip);
        let p = Icmpv6Packet::new_checked(&ip[40..]).unwrap();
        assert!(p.verify_checksum(&pair));
        p.check_checksum(&pair).unwrap();
        let repr = Icmpv6Repr::parse(&p, &pair).unwrap();
        assert_eq!(repr.buffer_len(), ip.len() - 40);
        let mut out = std::vec![0xa5u8; repr.buffer_len()];
        assert_eq!(repr.emit(&pair, &mut out), ip.len() - 40);
        assert_eq!(out, &ip[40..]);
        repr
    }

    #[test]
    fn echo_request_and_reply() {
        let p = Icmpv6Packet::new_checked(&ECHO_REQUEST[40..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::EchoRequest);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x4f4b);
        assert_eq!((p.ident(), p.seq_no()), (0x1c2b, 1));
        assert_eq!(p.header_len(), 8);
        assert_eq!(p.payload(), &ECHO_REQUEST[48..]);
        assert_eq!(p.payload_slice(), &ECHO_REQUEST[48..]);
        assert_eq!(p.quoted(), &[] as &[u8]);
        assert_eq!(p.ndp_options().count(), 0);
        let repr = round_trip(&ECHO_REQUEST);
        assert_eq!(
            repr,
            Icmpv6Repr::EchoRequest {
                ident: 0x1c2b,
                seq_no: 1,
                data: &ECHO_REQUEST[48..]
            }
        );
        assert_eq!(repr.to_string(), "ICMPv6 Echo Request id 7211 seq 1 len 16");
        let repr = round_trip(&ECHO_REPLY);
        assert_eq!(
            repr,
            Icmpv6Repr::EchoReply {
                ident: 0x1c2b,
                seq_no: 1,
                data: &ECHO_REPLY[48..]
            }
        );
    }

    #[test]
    fn neighbor_solicitation() {
        let p = Icmpv6Packet::new_checked(&NS[40..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::NeighborSolicit);
        assert_eq!(p.target_addr(), addr("fe80::5054:ff:feab:cdef"));
        let options: Vec<_> = p.ndp_options().map(|o| o.unwrap()).collect();
        assert_eq!(options, [NdpOption::SourceLinkLayerAddr(HOST_MAC)]);
        let repr = round_trip(&NS);
        assert_eq!(
            repr,
            Icmpv6Repr::NeighborSolicit {
                target_addr: addr("fe80::5054:ff:feab:cdef"),
                lladdr: Some(HOST_MAC)
            }
        );
        assert_eq!(
            repr.to_string(),
            "ICMPv6 Neighbor Solicitation who has fe80::5054:ff:feab:cdef lladdr 52:54:00:12:34:56"
        );
    }

    #[test]
    fn neighbor_advertisement() {
        let p = Icmpv6Packet::new_checked(&NA[40..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::NeighborAdvert);
        assert_eq!(
            (p.router(), p.solicited(), p.override_flag()),
            (false, true, true)
        );
        assert_eq!(p.target_addr(), addr("fe80::5054:ff:feab:cdef"));
        let options: Vec<_> = p.ndp_options().map(|o| o.unwrap()).collect();
        assert_eq!(options, [NdpOption::TargetLinkLayerAddr(ROUTER_MAC)]);
        let repr = round_trip(&NA);
        assert_eq!(
            repr,
            Icmpv6Repr::NeighborAdvert {
                router: false,
                solicited: true,
                override_flag: true,
                target_addr: addr("fe80::5054:ff:feab:cdef"),
                lladdr: Some(ROUTER_MAC)
            }
        );
        assert_eq!(
            repr.to_string(),
            "ICMPv6 Neighbor Advertisement fe80::5054:ff:feab:cdef lladdr 52:54:00:ab:cd:ef S O"
        );
    }

    #[test]
    fn router_solicitation() {
        let p = Icmpv6Packet::new_checked(&RS[40..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::RouterSolicit);
        assert_eq!(p.header_len(), 8);
        let repr = round_trip(&RS);
        assert_eq!(
            repr,
            Icmpv6Repr::RouterSolicit {
                lladdr: Some(HOST_MAC)
            }
        );
    }

    #[test]
    fn router_advertisement() {
        let p = Icmpv6Packet::new_checked(&RA[40..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::RouterAdvert);
        assert_eq!(p.cur_hop_limit(), 64);
        assert_eq!((p.managed(), p.other()), (false, true));
        assert_eq!(p.router_lifetime(), 1800);
        assert_eq!(p.reachable_time(), 30_000);
        assert_eq!(p.retrans_time(), 1000);
        let prefix = NdpPrefixInfo {
            prefix_len: 64,
            on_link: true,
            autonomous: true,
            valid_lifetime: 86_400,
            preferred_lifetime: 14_400,
            prefix: addr("2001:db8:1::"),
        };
        let options: Vec<_> = p.ndp_options().map(|o| o.unwrap()).collect();
        assert_eq!(
            options,
            [
                NdpOption::SourceLinkLayerAddr(ROUTER_MAC),
                NdpOption::Mtu(1500),
                NdpOption::PrefixInformation(prefix)
            ]
        );
        let repr = round_trip(&RA);
        assert_eq!(
            repr,
            Icmpv6Repr::RouterAdvert {
                hop_limit: 64,
                managed: false,
                other: true,
                router_lifetime: 1800,
                reachable_time: 30_000,
                retrans_time: 1000,
                lladdr: Some(ROUTER_MAC),
                mtu: Some(1500),
                prefix_info: Some(prefix),
            }
        );
        assert_eq!(
            repr.to_string(),
            "ICMPv6 Router Advertisement hlim 64 lifetime 1800 lladdr 52:54:00:ab:cd:ef mtu 1500 \
             prefix 2001:db8:1::/64 valid 86400 preferred 14400 L A"
        );
    }

    #[test]
    fn packet_too_big_quotes_the_packet() {
        let p = Icmpv6Packet::new_checked(&PTB[40..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::PktTooBig);
        assert!(p.msg_type().is_error());
        assert_eq!(p.mtu(), 1280);
        assert_eq!(p.quoted(), &PTB[48..]);
        assert_eq!(p.quoted()[0], 0x60);
        let repr = round_trip(&PTB);
        assert_eq!(
            repr,
            Icmpv6Repr::PktTooBig {
                mtu: 1280,
                data: &PTB[48..]
            }
        );
        assert_eq!(
            repr.to_string(),
            "ICMPv6 Packet Too Big mtu 1280 (53 bytes quoted)"
        );
    }

    #[test]
    fn error_messages_round_trip() {
        let pair = addrs(&PTB);
        let quoted = &PTB[48..];
        for repr in [
            Icmpv6Repr::DstUnreachable {
                code: 4,
                data: quoted,
            },
            Icmpv6Repr::TimeExceeded {
                code: 0,
                data: quoted,
            },
            Icmpv6Repr::ParamProblem {
                code: 1,
                pointer: 6,
                data: quoted,
            },
            Icmpv6Repr::RouterSolicit { lladdr: None },
            Icmpv6Repr::NeighborSolicit {
                target_addr: addr("2001:db8::1"),
                lladdr: None,
            },
        ] {
            let mut out = [0u8; 128];
            let n = repr.emit(&pair, &mut out);
            assert_eq!(n, repr.buffer_len());
            let p = Icmpv6Packet::new_checked(&out[..n]).unwrap();
            assert!(p.verify_checksum(&pair));
            assert_eq!(Icmpv6Repr::parse(&p, &pair).unwrap(), repr);
            if p.msg_type().is_error() {
                assert_eq!(p.quoted(), quoted);
            }
        }
        let mut out = [0u8; 64];
        let repr = Icmpv6Repr::ParamProblem {
            code: 1,
            pointer: 6,
            data: &quoted[..8],
        };
        let n = repr.emit(&pair, &mut out);
        let p = Icmpv6Packet::new_checked(&out[..n]).unwrap();
        assert_eq!(p.pointer(), 6);
        assert_eq!(
            repr.to_string(),
            "ICMPv6 Parameter Problem code 1 pointer 6 (8 bytes quoted)"
        );
    }

    #[test]
    fn checksums() {
        let pair = addrs(&NS);
        let mut b = NS;
        let mut p = Icmpv6Packet::new_checked(&mut b[40..]).unwrap();
        p.set_checksum(0);
        assert!(!p.verify_checksum(&pair));
        assert_eq!(
            p.check_checksum(&pair).unwrap_err().to_string(),
            "ICMPv6: checksum 0x0000 is wrong, expected 0x859a"
        );
        p.fill_checksum(&pair);
        assert_eq!(p.checksum(), 0x859a);
        // The pseudo-header counts: another destination fails.
        let other = IpAddrPair::V6 {
            src: addr("fe80::1"),
            dst: addr("ff02::1"),
        };
        assert!(!p.verify_checksum(&other));
        let e = p.check_checksum(&other).unwrap_err();
        p.fill_checksum(&other);
        assert_eq!(e, Error::bad_checksum(Proto::Icmpv6, 0x859a, p.checksum()));
    }

    #[test]
    fn truncations_are_rejected_per_type() {
        for ip in [&ECHO_REQUEST[..], &NS, &NA, &RS, &RA, &PTB] {
            let icmp = &ip[40..];
            let need = Icmpv6Message::from(icmp[0]).header_len();
            for len in 0..=icmp.len() {
                let r = Icmpv6Packet::new_checked(&icmp[..len]);
                if len < need {
                    assert!(r.unwrap_err().is_truncated(), "{len}");
                } else {
                    r.unwrap();
                }
            }
        }
        let e = Icmpv6Packet::new_checked(&NS[40..60]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ICMPv6: Neighbor Solicitation truncated: need 24 bytes, have 20"
        );
        let e = Icmpv6Packet::new_checked(&RA[40..55]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ICMPv6: Router Advertisement truncated: need 16 bytes, have 15"
        );
        let e = Icmpv6Packet::new_checked(&RA[40..43]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ICMPv6: header truncated: need 4 bytes, have 3"
        );
        let redirect = [137, 0, 0, 0, 0, 0, 0, 0];
        let e = Icmpv6Packet::new_checked(&redirect[..]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ICMPv6: Redirect truncated: need 40 bytes, have 8"
        );
        // An unknown type only needs its 4-byte header.
        Icmpv6Packet::new_checked(&[200, 0, 0, 0][..]).unwrap();
    }

    #[test]
    fn other_types_fields_read_as_zero_when_absent() {
        let echo = [128, 0, 0, 0, 0, 1, 0, 2];
        let p = Icmpv6Packet::new_checked(&echo[..]).unwrap();
        assert_eq!(p.target_addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(p.dest_addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!((p.reachable_time(), p.retrans_time()), (0, 0));
        assert_eq!(p.mtu(), 0x0001_0002);
        assert_eq!(p.payload(), &[] as &[u8]);
        // Setters of absent fields do nothing.
        let mut b = echo;
        let mut p = Icmpv6Packet::new_unchecked(&mut b[..]);
        p.set_target_addr(addr("::1"));
        p.set_retrans_time(5);
        assert_eq!(b, echo);
        // Unchecked views of short buffers do not panic either.
        let p = Icmpv6Packet::new_unchecked(&[][..]);
        assert_eq!(
            (p.msg_type(), p.msg_code(), p.checksum()),
            (Icmpv6Message::Unknown(0), 0, 0)
        );
        assert_eq!(p.payload(), &[] as &[u8]);
    }

    #[test]
    fn setters_write_the_fields() {
        let mut b = NA;
        let mut p = Icmpv6Packet::new_checked(&mut b[40..]).unwrap();
        p.set_router(true);
        p.set_solicited(false);
        p.set_override_flag(false);
        p.set_target_addr(addr("2001:db8::9"));
        assert_eq!(
            (p.router(), p.solicited(), p.override_flag()),
            (true, false, false)
        );
        assert_eq!(p.target_addr(), addr("2001:db8::9"));
        p.payload_mut()[2] = 0xaa;
        p.set_msg_code(0);
        let pair = addrs(&NA);
        p.fill_checksum(&pair);
        let repr = Icmpv6Repr::parse(&Icmpv6Packet::new_checked(&b[40..]).unwrap(), &pair);
        assert!(matches!(
            repr,
            Ok(Icmpv6Repr::NeighborAdvert {
                router: true,
                lladdr: Some(EthernetAddress([0xaa, ..])),
                ..
            })
        ));

        let mut b = [0u8; 40];
        let mut p = Icmpv6Packet::new_unchecked(&mut b[..]);
        p.set_msg_type(Icmpv6Message::RouterAdvert);
        p.set_cur_hop_limit(255);
        p.set_managed(true);
        p.set_other(true);
        p.set_managed(false);
        p.set_router_lifetime(9000);
        p.set_reachable_time(1);
        p.set_retrans_time(2);
        assert_eq!(p.cur_hop_limit(), 255);
        assert_eq!((p.managed(), p.other()), (false, true));
        assert_eq!(
            (p.router_lifetime(), p.reachable_time(), p.retrans_time()),
            (9000, 1, 2)
        );
        p.set_msg_type(Icmpv6Message::Redirect);
        p.set_dest_addr(addr("2001:db8::7"));
        assert_eq!(p.dest_addr(), addr("2001:db8::7"));
        p.set_msg_type(Icmpv6Message::EchoRequest);
        p.set_ident(3);
        p.set_seq_no(4);
        assert_eq!((p.ident(), p.seq_no()), (3, 4));
        p.set_mtu(1500);
        assert_eq!(p.mtu(), 1500);
        p.set_pointer(40);
        assert_eq!(p.pointer(), 40);
        assert_eq!(p.into_inner()[4..8], [0, 0, 0, 40]);
    }

    #[test]
    fn parse_errors() {
        let pair = addrs(&NS);
        let parse_err = |icmp: &[u8], pair: &IpAddrPair| {
            let p = Icmpv6Packet::new_checked(icmp).unwrap();
            Icmpv6Repr::parse(&p, pair).unwrap_err().to_string()
        };
        let mut b = NS;
        b[41] = 1;
        assert_eq!(
            parse_err(&b[40..], &pair),
            "ICMPv6: code 1 is invalid, expected 0"
        );
        let mut redirect = [0u8; 40];
        redirect[0] = 137;
        assert_eq!(
            parse_err(&redirect, &pair),
            "ICMPv6: type 137 is invalid, expected an error, echo, RS, RA, NS or NA message"
        );
        // Duplicate address detection: from :: there is no source link-layer address.
        let dad = IpAddrPair::V6 {
            src: Ipv6Addr::UNSPECIFIED,
            dst: addr("ff02::1:ffab:cdef"),
        };
        assert_eq!(
            parse_err(&NS[40..], &dad),
            "NDP option: Source Link-Layer Address option count 1 is invalid, expected 0 when \
             the source is the unspecified address"
        );
        assert_eq!(
            parse_err(&RS[40..], &dad),
            "NDP option: Source Link-Layer Address option count 1 is invalid, expected 0 when \
             the source is the unspecified address"
        );
        let p = Icmpv6Packet::new_checked(&NS[40..64]).unwrap();
        assert!(Icmpv6Repr::parse(&p, &dad).is_ok());
        // A solicited advertisement to a multicast address.
        let to_all = IpAddrPair::V6 {
            src: addr("fe80::1"),
            dst: LINK_LOCAL_ALL_NODES,
        };
        assert_eq!(
            parse_err(&NA[40..], &to_all),
            "ICMPv6: Solicited flag 1 is invalid, expected 0 when the destination is multicast"
        );
        // A malformed option fails the whole message.
        let mut b = RA;
        b[57] = 0;
        assert_eq!(
            parse_err(&b[40..], &pair),
            "NDP option: length 0 < minimum 1"
        );
    }

    const LINK_LOCAL_ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

    #[test]
    fn ndp_option_errors() {
        let first_err = |data: &[u8]| {
            let mut it = NdpOptions::new(data);
            let e = it.find_map(|o| o.err()).unwrap();
            assert!(it.next().is_none(), "the iterator stops after an error");
            e.to_string()
        };
        assert_eq!(
            first_err(&[1, 0, 0, 0, 0, 0, 0, 0]),
            "NDP option: length 0 < minimum 1"
        );
        assert_eq!(
            first_err(&[1]),
            "NDP option: option truncated: need 2 bytes, have 1"
        );
        assert_eq!(
            first_err(&[3, 4, 64, 0xc0, 0, 0, 0, 0]),
            "NDP option: Prefix Information truncated: need 32 bytes, have 8"
        );
        assert_eq!(
            first_err(&[1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            "NDP option: Source Link-Layer Address length 2 is invalid, expected 1"
        );
        assert_eq!(
            first_err(&[2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            "NDP option: Target Link-Layer Address length 2 is invalid, expected 1"
        );
        assert_eq!(
            first_err(&[5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            "NDP option: MTU length 2 is invalid, expected 1"
        );
        assert_eq!(
            first_err(&RA[72..80]),
            "NDP option: Prefix Information truncated: need 32 bytes, have 8"
        );
        let mut prefix: [u8; 32] = RA[72..104].try_into().unwrap();
        prefix[2] = 129;
        assert_eq!(
            first_err(&prefix),
            "NDP option: prefix length 129 > maximum 128"
        );
        prefix[1] = 3;
        assert_eq!(
            first_err(&prefix[..24]),
            "NDP option: Prefix Information length 3 is invalid, expected 4"
        );
    }

    #[test]
    fn ndp_options_emit_and_parse_back() {
        let options = [
            NdpOption::SourceLinkLayerAddr(HOST_MAC),
            NdpOption::TargetLinkLayerAddr(ROUTER_MAC),
            NdpOption::PrefixInformation(NdpPrefixInfo {
                prefix_len: 48,
                on_link: false,
                autonomous: true,
                valid_lifetime: u32::MAX,
                preferred_lifetime: 0,
                prefix: addr("2001:db8::"),
            }),
            NdpOption::RedirectedHeader(&PTB[48..]),
            NdpOption::Mtu(9000),
            NdpOption::Unknown {
                kind: 25,
                data: &[1, 2, 3, 4, 5, 6, 7, 8, 9],
            },
        ];
        let mut buf = [0xffu8; 256];
        let mut at = 0;
        for option in &options {
            let n = option.emit(&mut buf[at..]);
            assert_eq!(n, option.buffer_len());
            assert_eq!(n % 8, 0);
            at += n;
        }
        let back: Vec<_> = NdpOptions::new(&buf[..at]).map(|o| o.unwrap()).collect();
        assert_eq!(back.len(), options.len());
        for (got, want) in back.iter().zip(&options) {
            match (got, want) {
                // Padding is kept in the parsed data.
                (NdpOption::RedirectedHeader(g), NdpOption::RedirectedHeader(w)) => {
                    assert_eq!(&g[..w.len()], *w);
                    assert!(g[w.len()..].iter().all(|&b| b == 0));
                }
                (NdpOption::Unknown { kind, data }, NdpOption::Unknown { kind: k, data: d }) => {
                    assert_eq!(kind, k);
                    assert_eq!(&data[..d.len()], *d);
                }
                _ => assert_eq!(got, want),
            }
            let _ = got.to_string();
        }
        assert_eq!(options[4].to_string(), "mtu 9000");
        assert_eq!(options[0].to_string(), "source lladdr 52:54:00:12:34:56");
    }

    #[test]
    fn message_numbers_round_trip() {
        for n in 0..=255u8 {
            let m = Icmpv6Message::from(n);
            assert_eq!(u8::from(m), n);
            assert_eq!(m.is_error(), n < 128);
            assert!(m.header_len() >= 4);
            let _ = m.to_string();
        }
        assert_eq!(Icmpv6Message::Unknown(200).to_string(), "type 200");
        assert_eq!(Icmpv6Message::MldV2Report.header_len(), 8);
        assert_eq!(Icmpv6Message::MldQuery.header_len(), 24);
    }

    /// Reads every getter, walks the options, parses the Repr and checks the checksum.
    fn touch_everything(p: &Icmpv6Packet<&[u8]>, pair: &IpAddrPair) {
        let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.header_len());
        let _ = (p.ident(), p.seq_no(), p.mtu(), p.pointer(), p.quoted());
        let _ = (
            p.cur_hop_limit(),
            p.managed(),
            p.other(),
            p.router_lifetime(),
        );
        let _ = (
            p.reachable_time(),
            p.retrans_time(),
            p.target_addr(),
            p.dest_addr(),
        );
        let _ = (p.router(), p.solicited(), p.override_flag(), p.payload());
        let _ = (
            p.payload_slice(),
            p.verify_checksum(pair),
            p.check_checksum(pair),
        );
        let mut n = 0;
        for option in p.ndp_options() {
            n += 1;
            assert!(n <= p.payload().len());
            if let Ok(o) = option {
                let _ = (o.kind(), o.buffer_len());
            }
        }
        if let Ok(repr) = Icmpv6Repr::parse(p, pair) {
            let mut out = std::vec![0u8; repr.buffer_len()];
            repr.emit(pair, &mut out);
            let _ = repr.to_string();
        }
    }

    #[test]
    fn no_panic_on_truncations_and_corruptions() {
        for ip in [&ECHO_REQUEST[..], &ECHO_REPLY, &NS, &NA, &RS, &RA, &PTB] {
            let pair = addrs(ip);
            let icmp = &ip[40..];
            for len in 0..=icmp.len() {
                let p = Icmpv6Packet::new_unchecked(&icmp[..len]);
                if p.check_len().is_ok() {
                    touch_everything(&p, &pair);
                }
            }
            for at in 0..icmp.len() {
                for v in [
                    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x80, 0x81, 0x85, 0x86, 0x87, 0xff,
                ] {
                    let mut b = icmp.to_vec();
                    b[at] = v;
                    if let Ok(p) = Icmpv6Packet::new_checked(&b[..]) {
                        touch_everything(&p, &pair);
                    }
                }
            }
        }
    }
}
