//! Typed, zero-copy views over protocol headers, one module per protocol.
//!
//! # The pattern
//!
//! Every protocol module offers:
//!
//! - a view `Packet<T: AsRef<[u8]>>` (named after the protocol: [`EthernetFrame`],
//!   [`Ipv4Packet`], [`TcpPacket`], ...) that wraps a buffer without copying it. Getters live in
//!   `impl<T: AsRef<[u8]>>`, setters and `payload_mut` in `impl<T: AsRef<[u8]> + AsMut<[u8]>>`;
//! - `new_unchecked(buffer)` (no checks), `check_len()` and `new_checked(buffer)` (both checks);
//! - a small validated `Repr` (where a protocol has one) with `parse`, `buffer_len` and `emit`,
//!   which writes a header into a caller's buffer.
//!
//! Field positions are byte ranges in a private `mod field` of each module.
//!
//! # The panic contract
//!
//! After `new_checked` (or `check_len`) has returned `Ok`, **no accessor of that view panics**,
//! whatever the bytes say: every length the header claims has been checked against the buffer.
//! Accessors of a view made with `new_unchecked` may panic on a short buffer. `emit` needs a
//! buffer of at least `buffer_len()` bytes and panics on a shorter one (that is a caller bug,
//! not bad input). Parsing allocates nothing and copies nothing; the fuzz targets under
//! `proto-core/fuzz` check that no input makes any parser panic.
//!
//! # Errors
//!
//! Every failure is an [`Error`]: the protocol, the field and what is wrong, e.g.
//! `IPv4: total length 20 < header length 24`. It is `Copy` and small, so it can be used both to
//! reject a packet and to report why (dissectors, counters, HTTP 4xx bodies).

use core::fmt;

pub mod arp;
pub mod ethernet;
mod frame;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use core::net::{Ipv4Addr, Ipv6Addr};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, VlanTag};
pub use frame::{Frame, Network, Transport};
pub use icmpv4::{Icmpv4Message, Icmpv4Packet, Icmpv4Repr};
pub use icmpv6::{Icmpv6Message, Icmpv6Packet, Icmpv6Repr, NdpOption, NdpOptions};
pub use ipv4::{Ipv4Cidr, Ipv4Option, Ipv4Options, Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6ExtHeader, Ipv6ExtHeaders, Ipv6Packet, Ipv6Repr, UpperLayer};
pub use tcp::{TcpControl, TcpFlags, TcpOption, TcpOptions, TcpPacket, TcpRepr, TcpSeqNumber};
pub use udp::{UdpPacket, UdpRepr};

/// A byte range of a header field, relative to the start of the header.
pub(crate) type Field = core::ops::Range<usize>;

/// An IP protocol number (IPv4 `protocol`, IPv6 `next header`).
///
/// Unknown numbers are a value ([`IpProtocol::Unknown`]), not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpProtocol {
    /// IPv6 Hop-by-Hop Options (0).
    HopByHop,
    /// ICMP for IPv4 (1).
    Icmp,
    /// IGMP (2).
    Igmp,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// IPv6 Routing header (43).
    Ipv6Route,
    /// IPv6 Fragment header (44).
    Ipv6Frag,
    /// Encapsulating Security Payload (50).
    Esp,
    /// Authentication Header (51).
    Ah,
    /// ICMP for IPv6 (58).
    Icmpv6,
    /// IPv6 No Next Header (59).
    Ipv6NoNxt,
    /// IPv6 Destination Options (60).
    Ipv6Opts,
    /// Any other protocol number.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        match value {
            0 => Self::HopByHop,
            1 => Self::Icmp,
            2 => Self::Igmp,
            6 => Self::Tcp,
            17 => Self::Udp,
            43 => Self::Ipv6Route,
            44 => Self::Ipv6Frag,
            50 => Self::Esp,
            51 => Self::Ah,
            58 => Self::Icmpv6,
            59 => Self::Ipv6NoNxt,
            60 => Self::Ipv6Opts,
            other => Self::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    #[inline]
    fn from(value: IpProtocol) -> Self {
        match value {
            IpProtocol::HopByHop => 0,
            IpProtocol::Icmp => 1,
            IpProtocol::Igmp => 2,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6Route => 43,
            IpProtocol::Ipv6Frag => 44,
            IpProtocol::Esp => 50,
            IpProtocol::Ah => 51,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Ipv6NoNxt => 59,
            IpProtocol::Ipv6Opts => 60,
            IpProtocol::Unknown(other) => other,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HopByHop => f.write_str("HOPOPT"),
            Self::Icmp => f.write_str("ICMP"),
            Self::Igmp => f.write_str("IGMP"),
            Self::Tcp => f.write_str("TCP"),
            Self::Udp => f.write_str("UDP"),
            Self::Ipv6Route => f.write_str("IPv6-Route"),
            Self::Ipv6Frag => f.write_str("IPv6-Frag"),
            Self::Esp => f.write_str("ESP"),
            Self::Ah => f.write_str("AH"),
            Self::Icmpv6 => f.write_str("ICMPv6"),
            Self::Ipv6NoNxt => f.write_str("IPv6-NoNxt"),
            Self::Ipv6Opts => f.write_str("IPv6-Opts"),
            Self::Unknown(n) => write!(f, "protocol {n}"),
        }
    }
}

/// The source and destination of the IP packet that carries a transport header: what the
/// pseudo-header checksum of UDP, TCP and ICMPv6 covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpAddrPair {
    /// Carried in IPv4.
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// Carried in IPv6.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address (the final one, if a routing header is present).
        dst: Ipv6Addr,
    },
}

impl IpAddrPair {
    /// The folded sum of the pseudo-header for an upper-layer packet of `length` bytes.
    /// For IPv4 the length is truncated to 16 bits (an IPv4 payload cannot be longer).
    #[inline]
    pub fn pseudo_header_sum(&self, protocol: IpProtocol, length: usize) -> u16 {
        match *self {
            Self::V4 { src, dst } => {
                crate::checksum::pseudo_header_v4(src, dst, protocol.into(), length as u16)
            }
            Self::V6 { src, dst } => {
                crate::checksum::pseudo_header_v6(src, dst, protocol.into(), length as u32)
            }
        }
    }

    /// [`pseudo_header_sum`](Self::pseudo_header_sum), always inlined (the SYN and SYN-ACK
    /// template: the protocol folds to a constant). A copy rather than a call from the other
    /// so that the data path's inlining of that one does not change.
    #[inline(always)]
    pub(crate) fn pseudo_header_sum_inline(&self, protocol: IpProtocol, length: usize) -> u16 {
        match *self {
            Self::V4 { src, dst } => {
                crate::checksum::pseudo_header_v4(src, dst, protocol.into(), length as u16)
            }
            Self::V6 { src, dst } => {
                crate::checksum::pseudo_header_v6(src, dst, protocol.into(), length as u32)
            }
        }
    }
}

/// The protocol (or part of one) an [`Error`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Proto {
    /// Ethernet II header.
    Ethernet,
    /// An 802.1Q / 802.1ad VLAN tag.
    Vlan,
    /// ARP.
    Arp,
    /// IPv4 header.
    Ipv4,
    /// An IPv4 option.
    Ipv4Option,
    /// IPv6 fixed header.
    Ipv6,
    /// An IPv6 extension header.
    Ipv6Ext,
    /// ICMPv4.
    Icmpv4,
    /// ICMPv6.
    Icmpv6,
    /// An NDP option inside ICMPv6.
    NdpOption,
    /// UDP.
    Udp,
    /// TCP header.
    Tcp,
    /// A TCP option.
    TcpOption,
    /// A DHCPv4 message or option (RFC 2131, 2132).
    Dhcp,
    /// A DNS message (RFC 1035).
    Dns,
    /// An NTP packet (RFC 5905).
    Ntp,
    /// An HTTP/1.1 message head or chunked body (RFC 9112).
    Http,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ethernet => "Ethernet",
            Self::Vlan => "VLAN tag",
            Self::Arp => "ARP",
            Self::Ipv4 => "IPv4",
            Self::Ipv4Option => "IPv4 option",
            Self::Ipv6 => "IPv6",
            Self::Ipv6Ext => "IPv6 extension header",
            Self::Icmpv4 => "ICMPv4",
            Self::Icmpv6 => "ICMPv6",
            Self::NdpOption => "NDP option",
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::TcpOption => "TCP option",
            Self::Dhcp => "DHCP",
            Self::Dns => "DNS",
            Self::Ntp => "NTP",
            Self::Http => "HTTP",
        })
    }
}

/// What is wrong with a field; see [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The buffer ends before the field does: `need` bytes from the start of the header, `have`
    /// available. Displayed as `truncated: need 20 bytes, have 14`.
    Truncated {
        /// Bytes needed, counted from the start of this protocol's header.
        need: u32,
        /// Bytes available.
        have: u32,
    },
    /// The value is smaller than a bound another field or the protocol sets.
    /// Displayed as `{field} {value} < {bound_name} {bound}`.
    Below {
        /// The value found.
        value: u32,
        /// What it must be at least.
        bound: u32,
        /// The name of the bound, e.g. `"header length"` or `"minimum"`.
        bound_name: &'static str,
    },
    /// The value is greater than a bound another field, the buffer or the protocol sets.
    /// Displayed as `{field} {value} > {bound_name} {bound}`.
    Above {
        /// The value found.
        value: u32,
        /// What it must be at most.
        bound: u32,
        /// The name of the bound, e.g. `"buffer length"`.
        bound_name: &'static str,
    },
    /// The value is not one this protocol allows, e.g. an IP version of 6 in an IPv4 header.
    /// Displayed as `{field} {value} is invalid, expected {expected}`.
    Invalid {
        /// The value found.
        value: u32,
        /// What the protocol expects, in words.
        expected: &'static str,
    },
    /// The checksum field does not match the data.
    /// Displayed as `checksum 0x1234 is wrong, expected 0xabcd`.
    BadChecksum {
        /// The checksum carried in the packet.
        found: u16,
        /// The checksum computed over the data.
        expected: u16,
    },
    /// More items than the parser's bound allows (e.g. IPv6 extension headers, VLAN tags).
    /// Displayed as `{field}: more than {limit}`.
    TooMany {
        /// The bound.
        limit: u32,
    },
}

/// Why a packet was rejected: the protocol, the field and what is wrong.
///
/// ```
/// use proto_core::wire::{Error, ErrorKind, Proto};
/// let e = Error::new(Proto::Ipv4, "total length", ErrorKind::Below {
///     value: 20, bound: 24, bound_name: "header length" });
/// assert_eq!(e.to_string(), "IPv4: total length 20 < header length 24");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    /// The protocol whose header is wrong.
    pub proto: Proto,
    /// The field (in the protocol's own words), e.g. `"total length"`.
    pub field: &'static str,
    /// What is wrong with it.
    pub kind: ErrorKind,
}

impl Error {
    /// Makes an error.
    pub const fn new(proto: Proto, field: &'static str, kind: ErrorKind) -> Self {
        Self { proto, field, kind }
    }

    /// `field` needs `need` bytes of the header, only `have` are there.
    pub const fn truncated(proto: Proto, field: &'static str, need: usize, have: usize) -> Self {
        Self::new(
            proto,
            field,
            ErrorKind::Truncated {
                need: sat32(need),
                have: sat32(have),
            },
        )
    }

    /// `field` is `value`, less than `bound_name` `bound`.
    pub const fn below(
        proto: Proto,
        field: &'static str,
        value: usize,
        bound_name: &'static str,
        bound: usize,
    ) -> Self {
        Self::new(
            proto,
            field,
            ErrorKind::Below {
                value: sat32(value),
                bound: sat32(bound),
                bound_name,
            },
        )
    }

    /// `field` is `value`, more than `bound_name` `bound`.
    pub const fn above(
        proto: Proto,
        field: &'static str,
        value: usize,
        bound_name: &'static str,
        bound: usize,
    ) -> Self {
        Self::new(
            proto,
            field,
            ErrorKind::Above {
                value: sat32(value),
                bound: sat32(bound),
                bound_name,
            },
        )
    }

    /// `field` is `value`, which the protocol does not allow.
    pub const fn invalid(
        proto: Proto,
        field: &'static str,
        value: u32,
        expected: &'static str,
    ) -> Self {
        Self::new(proto, field, ErrorKind::Invalid { value, expected })
    }

    /// The checksum carried (`found`) differs from the one computed (`expected`).
    pub const fn bad_checksum(proto: Proto, found: u16, expected: u16) -> Self {
        Self::new(
            proto,
            "checksum",
            ErrorKind::BadChecksum { found, expected },
        )
    }

    /// More than `limit` of `field`.
    pub const fn too_many(proto: Proto, field: &'static str, limit: usize) -> Self {
        Self::new(
            proto,
            field,
            ErrorKind::TooMany {
                limit: sat32(limit),
            },
        )
    }

    /// True when the error says the buffer was too short (as opposed to a wrong value).
    pub const fn is_truncated(&self) -> bool {
        matches!(self.kind, ErrorKind::Truncated { .. })
    }
}

/// Lengths in errors are stored as `u32` to keep [`Error`] small; no packet is longer.
const fn sat32(v: usize) -> u32 {
    if v > u32::MAX as usize {
        u32::MAX
    } else {
        v as u32
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { proto, field, kind } = self;
        match *kind {
            ErrorKind::Truncated { need, have } => {
                write!(
                    f,
                    "{proto}: {field} truncated: need {need} bytes, have {have}"
                )
            }
            ErrorKind::Below {
                value,
                bound,
                bound_name,
            } => write!(f, "{proto}: {field} {value} < {bound_name} {bound}"),
            ErrorKind::Above {
                value,
                bound,
                bound_name,
            } => write!(f, "{proto}: {field} {value} > {bound_name} {bound}"),
            ErrorKind::Invalid { value, expected } => {
                write!(
                    f,
                    "{proto}: {field} {value} is invalid, expected {expected}"
                )
            }
            ErrorKind::BadChecksum { found, expected } => {
                write!(
                    f,
                    "{proto}: checksum {found:#06x} is wrong, expected {expected:#06x}"
                )
            }
            ErrorKind::TooMany { limit } => write!(f, "{proto}: {field}: more than {limit}"),
        }
    }
}

impl core::error::Error for Error {}

/// The result type of this module.
pub type Result<T> = core::result::Result<T, Error>;

/// Reads a big-endian `u16` at `at`. Callers guarantee the bounds (see the panic contract).
#[inline(always)]
pub(crate) fn be16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Reads a big-endian `u32` at `at`. Callers guarantee the bounds.
#[inline(always)]
pub(crate) fn be32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// Writes a big-endian `u16` at `at`.
#[inline(always)]
pub(crate) fn put_be16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Writes a big-endian `u32` at `at`.
#[inline(always)]
pub(crate) fn put_be32(buf: &mut [u8], at: usize, value: u32) {
    buf[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn error_messages_name_protocol_field_and_reason() {
        let e = Error::below(Proto::Ipv4, "total length", 20, "header length", 24);
        assert_eq!(e.to_string(), "IPv4: total length 20 < header length 24");
        let e = Error::truncated(Proto::Tcp, "header", 20, 7);
        assert_eq!(
            e.to_string(),
            "TCP: header truncated: need 20 bytes, have 7"
        );
        let e = Error::bad_checksum(Proto::Udp, 0x1234, 0xabcd);
        assert_eq!(
            e.to_string(),
            "UDP: checksum 0x1234 is wrong, expected 0xabcd"
        );
        let e = Error::invalid(Proto::Ipv4, "version", 6, "4");
        assert_eq!(e.to_string(), "IPv4: version 6 is invalid, expected 4");
        let e = Error::too_many(Proto::Ipv6Ext, "extension headers", 8);
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: extension headers: more than 8"
        );
        assert!(
            core::mem::size_of::<Error>() <= 56,
            "{}",
            core::mem::size_of::<Error>()
        );
    }

    #[test]
    fn ip_protocol_round_trips_every_number() {
        for n in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(n)), n);
        }
    }
}
