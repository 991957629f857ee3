//! A dissector: one frame broken into layers and fields, with the bit offset and length of
//! every field, a class, nesting, and the problems found on the way.
//!
//! ```
//! use proto_core::dissect::{dissect, Field, Problem, Value};
//! # let frame: &[u8] = &[
//! #   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
//! #   0x45, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xa4, 0x7e,
//! #   0xc0, 0xa8, 0x0a, 0x02, 0xc0, 0xa8, 0x0a, 0xff,
//! #   0x30, 0x39, 0x00, 0x35, 0x00, 0x09, 0xc1, 0x1b, 0x78,
//! # ];
//! let mut fields = [Field::EMPTY; 128];
//! let mut problems = [Problem::EMPTY; 8];
//! let d = dissect(frame, &mut fields, &mut problems);
//! let port = d.find("udp.dstport").unwrap();
//! assert_eq!(port.value, Value::U64(53));
//! assert_eq!((port.bit_offset, port.bit_len), ((14 + 20 + 2) * 8, 16));
//! let mut line = String::new();
//! proto_core::dissect::format::summary(&d, &mut line).unwrap();
//! assert!(line.starts_with("IP 192.168.10.2.12345 > 192.168.10.255.53: UDP"), "{line}");
//! ```
//!
//! # Model
//!
//! A dissection is a flat list of [`Field`]s in frame order, each with a `depth`: a field of
//! depth `d + 1` after one of depth `d` is its child. Depth 0 fields are layers (class
//! [`Class::Protocol`], named as tshark names its protocols: `eth`, `ip`, `tcp`, ...); their
//! children are the header fields (`ip.src`, `tcp.flags`), whose children are sub-fields
//! (`tcp.flags.syn`). A header quoted inside an ICMP error is a nested layer.
//!
//! The storage is the caller's (`&mut [Field]`, `&mut [Problem]`, or a [`DissectionBuf`]);
//! when it is full the dissector stops adding and sets
//! [`Dissection::truncated_output`], it never panics. Values are raw (numbers, addresses,
//! byte ranges of the frame): text is made only when a formatter in [`format`] asks for it.
//!
//! The layers are Ethernet II with 802.1Q/802.1ad tags, ARP, IPv4 with options, IPv6 with its
//! extension headers, ICMPv4, ICMPv6 with NDP options, UDP, TCP with options, and above them
//! DHCPv4 (UDP 67/68), DNS (UDP 53, 5353), NTP (UDP 123) and HTTP/1.x request and status
//! lines with headers (a TCP payload that starts with a method or `HTTP/1.`). L2-L4 use the
//! views of [`crate::wire`]; the application layers are walked here, since a dissector needs
//! the offset of every field, which a codec's `Repr` does not keep.
//!
//! # Panics
//!
//! None, for any input: every read is bounds-checked, every loop is bounded by the bytes it
//! walks (DNS compression pointers by a hop limit).

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use crate::wire;

mod dhcp;
mod dns;
pub mod format;
mod http;
mod icmp;
mod ip;
mod l4;
mod link;
mod ntp;

pub use dns::write_name as write_dns_name;

/// The protocol layer a field or problem belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// Ethernet II header.
    Ethernet,
    /// An 802.1Q (C-tag) VLAN tag.
    Vlan,
    /// An 802.1ad (S-tag) VLAN tag.
    ServiceVlan,
    /// ARP.
    Arp,
    /// IPv4.
    Ipv4,
    /// IPv6 and its extension headers.
    Ipv6,
    /// ICMPv4.
    Icmpv4,
    /// ICMPv6 (and NDP).
    Icmpv6,
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// DHCPv4 (BOOTP).
    Dhcp,
    /// DNS.
    Dns,
    /// NTP.
    Ntp,
    /// HTTP/1.x.
    Http,
    /// Bytes no dissector claimed.
    Data,
}

impl Layer {
    /// The protocol's short name, as tshark names it (`"eth"`, `"ip"`, `"tcp"`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ethernet => "eth",
            Self::Vlan => "vlan",
            Self::ServiceVlan => "ieee8021ad",
            Self::Arp => "arp",
            Self::Ipv4 => "ip",
            Self::Ipv6 => "ipv6",
            Self::Icmpv4 => "icmp",
            Self::Icmpv6 => "icmpv6",
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Dhcp => "dhcp",
            Self::Dns => "dns",
            Self::Ntp => "ntp",
            Self::Http => "http",
            Self::Data => "data",
        }
    }

    /// The protocol's long name, e.g. `"Internet Protocol Version 4"`.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Ethernet => "Ethernet II",
            Self::Vlan => "802.1Q Virtual LAN",
            Self::ServiceVlan => "IEEE 802.1ad",
            Self::Arp => "Address Resolution Protocol",
            Self::Ipv4 => "Internet Protocol Version 4",
            Self::Ipv6 => "Internet Protocol Version 6",
            Self::Icmpv4 => "Internet Control Message Protocol",
            Self::Icmpv6 => "Internet Control Message Protocol v6",
            Self::Udp => "User Datagram Protocol",
            Self::Tcp => "Transmission Control Protocol",
            Self::Dhcp => "Dynamic Host Configuration Protocol",
            Self::Dns => "Domain Name System",
            Self::Ntp => "Network Time Protocol",
            Self::Http => "Hypertext Transfer Protocol",
            Self::Data => "Data",
        }
    }
}

/// What kind of thing a field holds, for formatters and highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Class {
    /// A whole layer (depth 0, or a quoted header).
    Protocol,
    /// A group of fields: an option, an extension header, a DNS record, a flags word's parts.
    Group,
    /// A link-layer or network address.
    Address,
    /// A transport port.
    Port,
    /// A flags word (its bits are sub-fields of class [`Class::Flag`]).
    Flags,
    /// One flag bit.
    Flag,
    /// A length or count.
    Length,
    /// A checksum.
    Checksum,
    /// A type, code, opcode, protocol number or other enumerated value.
    Type,
    /// An identifier (IP ID, transaction ID, VLAN ID, ...).
    Id,
    /// A sequence or acknowledgement number.
    Sequence,
    /// A plain number (TTL, window, lifetime, ...).
    Number,
    /// A timestamp.
    Timestamp,
    /// Text (a DNS name, an HTTP line or header).
    Text,
    /// Payload bytes no dissector claimed, or padding.
    Payload,
}

impl Class {
    /// A lowercase name, as used in the JSON form.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Protocol => "protocol",
            Self::Group => "group",
            Self::Address => "address",
            Self::Port => "port",
            Self::Flags => "flags",
            Self::Flag => "flag",
            Self::Length => "length",
            Self::Checksum => "checksum",
            Self::Type => "type",
            Self::Id => "id",
            Self::Sequence => "sequence",
            Self::Number => "number",
            Self::Timestamp => "timestamp",
            Self::Text => "text",
            Self::Payload => "payload",
        }
    }
}

/// A field's value, kept raw: text is made by the formatters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value {
    /// No value (a layer or a group).
    None,
    /// An unsigned number.
    U64(u64),
    /// A flag.
    Bool(bool),
    /// A MAC address.
    Mac([u8; 6]),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
    /// Bytes of the frame: `len` bytes from byte `start`.
    Bytes {
        /// Byte offset in the frame.
        start: u32,
        /// Number of bytes.
        len: u32,
    },
    /// Text of the frame (ASCII expected; other bytes are escaped when formatted).
    Str {
        /// Byte offset in the frame.
        start: u32,
        /// Number of bytes.
        len: u32,
    },
    /// A DNS name at byte `at` of the frame, in the DNS message that starts at byte `msg`
    /// (compression pointers are relative to it). Formatted by re-walking the labels; see
    /// [`write_dns_name`].
    Name {
        /// Byte offset of the DNS message in the frame.
        msg: u32,
        /// Byte offset of the name in the frame.
        at: u32,
    },
    /// A number with its meaning, e.g. `Enum(0x0800, "IPv4")`.
    Enum(u64, &'static str),
    /// A 64-bit NTP timestamp (seconds since 1900 in the high 32 bits, fraction in the low).
    NtpTime(u64),
}

/// One field of a dissected frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field {
    /// The layer it belongs to.
    pub layer: Layer,
    /// A tshark-like abbreviation, e.g. `"ip.src"`, `"tcp.flags.syn"`, `"dhcp.option.type"`.
    pub name: &'static str,
    /// A human label, e.g. `"Source Address"`.
    pub label: &'static str,
    /// The value.
    pub value: Value,
    /// Offset of the field's first bit from the start of the frame.
    pub bit_offset: u32,
    /// Length in bits.
    pub bit_len: u32,
    /// What kind of field it is.
    pub class: Class,
    /// Nesting: 0 for a layer, 1 for its fields, 2 for their sub-fields, ...
    pub depth: u8,
}

impl Field {
    /// A placeholder to initialise storage arrays with.
    pub const EMPTY: Self = Self {
        layer: Layer::Data,
        name: "",
        label: "",
        value: Value::None,
        bit_offset: 0,
        bit_len: 0,
        class: Class::Payload,
        depth: 0,
    };

    /// The bytes of the frame this field covers (whole bytes; a bit field gives the bytes it
    /// touches). Empty if out of range.
    pub fn bytes<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        let start = (self.bit_offset / 8) as usize;
        let end = (self.bit_offset as usize + self.bit_len as usize).div_ceil(8);
        frame.get(start..end).unwrap_or(&[])
    }

    /// The value as a number, for numeric, flag and enumerated values.
    pub fn as_u64(&self) -> Option<u64> {
        match self.value {
            Value::U64(v) | Value::Enum(v, _) | Value::NtpTime(v) => Some(v),
            Value::Bool(b) => Some(b.into()),
            _ => None,
        }
    }
}

/// What is wrong, in a [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The checksum carried (`found`) is not the one computed (`expected`).
    BadChecksum {
        /// The checksum computed over the data.
        expected: u16,
        /// The checksum carried in the frame.
        found: u16,
    },
    /// The frame ends before the field does.
    Truncated,
    /// A length field disagrees with the bytes present or with the protocol.
    BadLength,
    /// The wire layer rejected a header; its error says which field and why.
    Malformed(wire::Error),
}

/// A problem found while dissecting: the layer, the field, and what is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Problem {
    /// The layer.
    pub layer: Layer,
    /// The field (its name or the protocol's word for it).
    pub field: &'static str,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl Problem {
    /// A placeholder to initialise storage arrays with.
    pub const EMPTY: Self = Self {
        layer: Layer::Data,
        field: "",
        kind: ProblemKind::Truncated,
    };
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layer = self.layer.name();
        match self.kind {
            ProblemKind::BadChecksum { expected, found } => write!(
                f,
                "{layer}: {} {found:#06x} is wrong, expected {expected:#06x}",
                self.field
            ),
            ProblemKind::Truncated => write!(f, "{layer}: {} truncated", self.field),
            ProblemKind::BadLength => write!(f, "{layer}: {} is a bad length", self.field),
            ProblemKind::Malformed(e) => write!(f, "{layer}: malformed: {e}"),
        }
    }
}

/// The result of [`dissect`]: the frame, its fields in order, and the problems found.
#[derive(Debug, Clone, Copy)]
pub struct Dissection<'a> {
    /// The frame's bytes.
    pub frame: &'a [u8],
    /// The fields, in frame order, layers at depth 0.
    pub fields: &'a [Field],
    /// The problems found.
    pub problems: &'a [Problem],
    /// True when the storage filled up: fields or problems after that point are missing.
    pub truncated_output: bool,
}

impl<'a> Dissection<'a> {
    /// The first field named `name`.
    pub fn find(&self, name: &str) -> Option<&'a Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every field named `name`, in order.
    pub fn find_all<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a Field> + 'n
    where
        'a: 'n,
    {
        self.fields.iter().filter(move |f| f.name == name)
    }

    /// The layers (depth-0 fields), in order.
    pub fn layers(&self) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(|f| f.depth == 0)
    }

    /// True if the frame has this layer at the top level.
    pub fn has_layer(&self, layer: Layer) -> bool {
        self.layers().any(|f| f.layer == layer)
    }
}

/// Storage for one dissection in arrays: `N` fields and `P` problems.
///
/// ```
/// use proto_core::dissect::DissectionBuf;
/// let mut buf = DissectionBuf::<256, 8>::new();
/// let d = buf.dissect(&[0u8; 10]);
/// assert!(!d.problems.is_empty()); // shorter than an Ethernet header
/// ```
#[derive(Debug, Clone)]
pub struct DissectionBuf<const N: usize, const P: usize> {
    fields: [Field; N],
    problems: [Problem; P],
}

impl<const N: usize, const P: usize> DissectionBuf<N, P> {
    /// Empty storage.
    pub const fn new() -> Self {
        Self {
            fields: [Field::EMPTY; N],
            problems: [Problem::EMPTY; P],
        }
    }

    /// Dissects `frame` into this storage.
    pub fn dissect<'a>(&'a mut self, frame: &'a [u8]) -> Dissection<'a> {
        dissect(frame, &mut self.fields, &mut self.problems)
    }
}

impl<const N: usize, const P: usize> Default for DissectionBuf<N, P> {
    fn default() -> Self {
        Self::new()
    }
}

/// Dissects an Ethernet frame into `fields` and `problems`, which bound the output.
pub fn dissect<'a>(
    frame: &'a [u8],
    fields: &'a mut [Field],
    problems: &'a mut [Problem],
) -> Dissection<'a> {
    let mut out = Out {
        frame,
        fields,
        nf: 0,
        problems,
        np: 0,
        full: false,
        depth: 0,
    };
    link::ethernet(&mut out);
    let Out {
        fields,
        nf,
        problems,
        np,
        full,
        ..
    } = out;
    Dissection {
        frame,
        fields: &fields[..nf],
        problems: &problems[..np],
        truncated_output: full,
    }
}

/// A dissection that owns its storage (feature `std`).
#[cfg(feature = "std")]
#[derive(Debug, Clone, Default)]
pub struct OwnedDissection {
    /// The fields.
    pub fields: std::vec::Vec<Field>,
    /// The problems.
    pub problems: std::vec::Vec<Problem>,
}

#[cfg(feature = "std")]
impl OwnedDissection {
    /// Dissects `frame`, growing the storage until everything fits.
    pub fn new(frame: &[u8]) -> Self {
        let mut fields = std::vec![Field::EMPTY; 256];
        let mut problems = std::vec![Problem::EMPTY; 16];
        loop {
            let d = dissect(frame, &mut fields, &mut problems);
            if !d.truncated_output {
                let (nf, np) = (d.fields.len(), d.problems.len());
                fields.truncate(nf);
                problems.truncate(np);
                return Self { fields, problems };
            }
            // Bounded: a frame has at most one field per bit, and each round doubles.
            let n = fields.len() * 2;
            fields.resize(n, Field::EMPTY);
            let p = problems.len() * 2;
            problems.resize(p, Problem::EMPTY);
        }
    }

    /// A view of this dissection over its `frame` (the one given to [`OwnedDissection::new`]).
    pub fn view<'a>(&'a self, frame: &'a [u8]) -> Dissection<'a> {
        Dissection {
            frame,
            fields: &self.fields,
            problems: &self.problems,
            truncated_output: false,
        }
    }
}

/// The dissectors' output cursor: appends fields and problems, and stops when full.
pub(crate) struct Out<'f, 's> {
    pub(crate) frame: &'f [u8],
    fields: &'s mut [Field],
    nf: usize,
    problems: &'s mut [Problem],
    np: usize,
    full: bool,
    /// Added to every depth: 1 inside a quoted header.
    pub(crate) depth: u8,
}

impl<'f> Out<'f, '_> {
    /// Byte offset of `sub` (a slice of the frame) in the frame.
    #[inline]
    pub(crate) fn offset_of(&self, sub: &[u8]) -> usize {
        (sub.as_ptr() as usize).wrapping_sub(self.frame.as_ptr() as usize)
    }

    /// True once the storage is full: dissectors may stop early.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.full
    }

    /// Appends a field covering `len` bytes from byte `at` of the frame.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        depth: u8,
        layer: Layer,
        name: &'static str,
        label: &'static str,
        value: Value,
        at: usize,
        len: usize,
        class: Class,
    ) {
        self.add_bits(depth, layer, name, label, value, at * 8, len * 8, class);
    }

    /// Appends a field covering `bits` bits from bit `bit_at` of the frame.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_bits(
        &mut self,
        depth: u8,
        layer: Layer,
        name: &'static str,
        label: &'static str,
        value: Value,
        bit_at: usize,
        bits: usize,
        class: Class,
    ) {
        let Some(slot) = self.fields.get_mut(self.nf) else {
            self.full = true;
            return;
        };
        *slot = Field {
            layer,
            name,
            label,
            value,
            bit_offset: bit_at as u32,
            bit_len: bits as u32,
            class,
            depth: depth.saturating_add(self.depth),
        };
        self.nf += 1;
    }

    /// Opens a layer: a depth-0 field covering `len` bytes from `at`. Returns its index, so
    /// that its length can be fixed once known ([`Out::set_len`]).
    pub(crate) fn layer(&mut self, layer: Layer, at: usize, len: usize) -> usize {
        let index = self.nf;
        self.add(
            0,
            layer,
            layer.name(),
            layer.label(),
            Value::None,
            at,
            len,
            Class::Protocol,
        );
        index
    }

    /// Sets the byte length of the field at `index` (if it was stored).
    pub(crate) fn set_len(&mut self, index: usize, len: usize) {
        if index < self.nf {
            self.fields[index].bit_len = (len * 8) as u32;
        }
    }

    /// Records a problem.
    pub(crate) fn problem(&mut self, layer: Layer, field: &'static str, kind: ProblemKind) {
        let Some(slot) = self.problems.get_mut(self.np) else {
            self.full = true;
            return;
        };
        *slot = Problem { layer, field, kind };
        self.np += 1;
    }

    /// Records a wire-layer error: a bad checksum as [`ProblemKind::BadChecksum`], anything
    /// else as [`ProblemKind::Malformed`].
    pub(crate) fn wire_error(&mut self, layer: Layer, e: wire::Error) {
        let kind = match e.kind {
            wire::ErrorKind::BadChecksum { found, expected } => {
                ProblemKind::BadChecksum { expected, found }
            }
            _ => ProblemKind::Malformed(e),
        };
        self.problem(layer, e.field, kind);
    }

    /// Adds `len` bytes from `at` as a `data` layer (if there are any).
    pub(crate) fn data(&mut self, at: usize, len: usize) {
        if len == 0 || self.depth != 0 {
            return;
        }
        self.layer(Layer::Data, at, len);
        let value = Value::Bytes {
            start: at as u32,
            len: len as u32,
        };
        self.add(
            1,
            Layer::Data,
            "data.data",
            "Data",
            value,
            at,
            len,
            Class::Payload,
        );
        self.add(
            1,
            Layer::Data,
            "data.len",
            "Length",
            Value::U64(len as u64),
            at,
            0,
            Class::Length,
        );
    }
}

/// Big-endian u16 at `at` of `b`, if present.
#[inline]
pub(crate) fn get16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Big-endian u32 at `at` of `b`, if present.
#[inline]
pub(crate) fn get32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(test)]
mod tests;
