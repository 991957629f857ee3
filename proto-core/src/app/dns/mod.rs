//! DNS messages (RFC 1035 §4), AAAA records (RFC 3596), EDNS(0) (RFC 6891) and the resolver
//! ([`Resolver`], in `client.rs`).
//!
//! ```text
//! header(12): ID | QR Opcode AA TC RD RA Z AD CD RCODE | QDCOUNT ANCOUNT NSCOUNT ARCOUNT
//! question:   QNAME QTYPE(2) QCLASS(2)
//! record:     NAME TYPE(2) CLASS(2) TTL(4) RDLENGTH(2) RDATA
//! ```
//!
//! Reading is zero-copy: [`Message::parse`] validates the whole message once (every name with
//! a bounded walk of compression pointers, every RDATA length and the names inside RDATA), so
//! the iterators it hands out ([`Message::questions`], [`Message::answers`], ...) cannot fail.
//! A compression pointer must point strictly before the labels it continues (RFC 1035 §4.1.4:
//! "a prior occurrence of the same name"), which makes loops impossible; at most
//! [`MAX_POINTERS`] are followed per name.
//!
//! Writing goes through [`MessageBuilder`], which compresses names (owner names and the names
//! inside CNAME, NS, PTR, MX and SOA data, the types RFC 3597 §4 allows) against the names
//! already written.

mod client;

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

pub use client::{
    Answer, Cache, DnsError, MAX_ADDRS, MAX_CNAME_CHAIN, MAX_SERVERS, QueryHandle, Resolver,
    ResolverConfig, Transmit, tcp_message_len,
};

use crate::wire::{Error, Proto, Result, be16, be32, put_be16};

/// The length of the message header.
pub const HEADER_LEN: usize = 12;
/// The longest name on the wire, labels and length octets included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// The most compression pointers followed in one name.
pub const MAX_POINTERS: usize = 32;
/// The most distinct name suffixes [`MessageBuilder`] remembers for compression.
const MAX_COMPRESSION_ENTRIES: usize = 64;

/// A record or query type (RFC 1035 §3.2.2, RFC 3596, RFC 6891).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// IPv4 address (1).
    A,
    /// Authoritative name server (2).
    Ns,
    /// Canonical name (5).
    Cname,
    /// Start of authority (6).
    Soa,
    /// Domain name pointer (12).
    Ptr,
    /// Mail exchange (15).
    Mx,
    /// Text strings (16).
    Txt,
    /// IPv6 address (28, RFC 3596).
    Aaaa,
    /// EDNS(0) pseudo-record (41, RFC 6891).
    Opt,
    /// Any type (255), queries only.
    Any,
    /// Any other type.
    Unknown(u16),
}

impl From<u16> for Type {
    fn from(v: u16) -> Self {
        match v {
            1 => Self::A,
            2 => Self::Ns,
            5 => Self::Cname,
            6 => Self::Soa,
            12 => Self::Ptr,
            15 => Self::Mx,
            16 => Self::Txt,
            28 => Self::Aaaa,
            41 => Self::Opt,
            255 => Self::Any,
            other => Self::Unknown(other),
        }
    }
}

impl From<Type> for u16 {
    fn from(t: Type) -> u16 {
        match t {
            Type::A => 1,
            Type::Ns => 2,
            Type::Cname => 5,
            Type::Soa => 6,
            Type::Ptr => 12,
            Type::Mx => 15,
            Type::Txt => 16,
            Type::Aaaa => 28,
            Type::Opt => 41,
            Type::Any => 255,
            Type::Unknown(n) => n,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::A => f.write_str("A"),
            Self::Ns => f.write_str("NS"),
            Self::Cname => f.write_str("CNAME"),
            Self::Soa => f.write_str("SOA"),
            Self::Ptr => f.write_str("PTR"),
            Self::Mx => f.write_str("MX"),
            Self::Txt => f.write_str("TXT"),
            Self::Aaaa => f.write_str("AAAA"),
            Self::Opt => f.write_str("OPT"),
            Self::Any => f.write_str("ANY"),
            Self::Unknown(n) => write!(f, "TYPE{n}"),
        }
    }
}

/// The Internet class (1), the only one the resolver uses.
pub const CLASS_IN: u16 = 1;

/// A response code (RFC 1035 §4.1.1; the low 4 bits, extended by EDNS(0)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    /// No error (0).
    NoError,
    /// The server could not interpret the query (1).
    FormErr,
    /// The server failed (2).
    ServFail,
    /// The name does not exist (3).
    NxDomain,
    /// Not implemented (4).
    NotImp,
    /// Refused (5).
    Refused,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for Rcode {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::NoError,
            1 => Self::FormErr,
            2 => Self::ServFail,
            3 => Self::NxDomain,
            4 => Self::NotImp,
            5 => Self::Refused,
            other => Self::Unknown(other),
        }
    }
}

impl From<Rcode> for u8 {
    fn from(r: Rcode) -> u8 {
        match r {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Unknown(n) => n,
        }
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoError => f.write_str("NOERROR"),
            Self::FormErr => f.write_str("FORMERR"),
            Self::ServFail => f.write_str("SERVFAIL"),
            Self::NxDomain => f.write_str("NXDOMAIN"),
            Self::NotImp => f.write_str("NOTIMP"),
            Self::Refused => f.write_str("REFUSED"),
            Self::Unknown(n) => write!(f, "RCODE{n}"),
        }
    }
}

/// The header of a message (RFC 1035 §4.1.1), without the four counts (which
/// [`MessageBuilder`] keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// The query identifier, copied into the response.
    pub id: u16,
    /// True in a response.
    pub response: bool,
    /// The kind of query (0 = standard query).
    pub opcode: u8,
    /// Authoritative answer.
    pub authoritative: bool,
    /// Truncated: the answer did not fit (retry over TCP, RFC 7766 §5).
    pub truncated: bool,
    /// Recursion desired.
    pub recursion_desired: bool,
    /// Recursion available.
    pub recursion_available: bool,
    /// Authentic data (RFC 4035 §3.2.3).
    pub authentic_data: bool,
    /// Checking disabled (RFC 4035 §3.2.2).
    pub checking_disabled: bool,
    /// The low 4 bits of the response code.
    pub rcode: u8,
}

impl Header {
    /// The header as its 16 bits of flags.
    pub fn flags(&self) -> u16 {
        (u16::from(self.response) << 15)
            | (u16::from(self.opcode & 0xf) << 11)
            | (u16::from(self.authoritative) << 10)
            | (u16::from(self.truncated) << 9)
            | (u16::from(self.recursion_desired) << 8)
            | (u16::from(self.recursion_available) << 7)
            | (u16::from(self.authentic_data) << 5)
            | (u16::from(self.checking_disabled) << 4)
            | u16::from(self.rcode & 0xf)
    }

    /// A header from its ID and 16 bits of flags (the Z bit is dropped).
    pub fn from_flags(id: u16, flags: u16) -> Self {
        Self {
            id,
            response: flags & 0x8000 != 0,
            opcode: ((flags >> 11) & 0xf) as u8,
            authoritative: flags & 0x0400 != 0,
            truncated: flags & 0x0200 != 0,
            recursion_desired: flags & 0x0100 != 0,
            recursion_available: flags & 0x0080 != 0,
            authentic_data: flags & 0x0020 != 0,
            checking_disabled: flags & 0x0010 != 0,
            rcode: (flags & 0xf) as u8,
        }
    }
}

mod field {
    use crate::wire::Field;
    pub const ID: Field = 0..2;
    pub const FLAGS: Field = 2..4;
    pub const QDCOUNT: Field = 4..6;
    pub const ANCOUNT: Field = 6..8;
    pub const NSCOUNT: Field = 8..10;
    pub const ARCOUNT: Field = 10..12;
}

/// A read/write view of a DNS message header; [`Message::parse`] reads the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DnsPacket<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the 12-byte header. After `Ok`, no accessor panics.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::truncated(Proto::Dns, "header", HEADER_LEN, len));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The query identifier.
    pub fn id(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ID.start)
    }

    /// The 16 bits of flags.
    pub fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS.start)
    }

    /// The header's fields.
    pub fn header(&self) -> Header {
        Header::from_flags(self.id(), self.flags())
    }

    /// The number of questions.
    pub fn qdcount(&self) -> u16 {
        be16(self.buffer.as_ref(), field::QDCOUNT.start)
    }

    /// The number of answer records.
    pub fn ancount(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ANCOUNT.start)
    }

    /// The number of authority records.
    pub fn nscount(&self) -> u16 {
        be16(self.buffer.as_ref(), field::NSCOUNT.start)
    }

    /// The number of additional records.
    pub fn arcount(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ARCOUNT.start)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> DnsPacket<T> {
    /// Sets the query identifier.
    pub fn set_id(&mut self, id: u16) {
        put_be16(self.buffer.as_mut(), field::ID.start, id);
    }

    /// Sets the 16 bits of flags.
    pub fn set_flags(&mut self, flags: u16) {
        put_be16(self.buffer.as_mut(), field::FLAGS.start, flags);
    }

    /// Sets the four counts (questions, answers, authorities, additionals).
    pub fn set_counts(&mut self, counts: [u16; 4]) {
        let buf = self.buffer.as_mut();
        put_be16(buf, field::QDCOUNT.start, counts[0]);
        put_be16(buf, field::ANCOUNT.start, counts[1]);
        put_be16(buf, field::NSCOUNT.start, counts[2]);
        put_be16(buf, field::ARCOUNT.start, counts[3]);
    }
}

/// Walks the name at `at` in `msg`: returns the offset just past it where it is written (after
/// its first pointer or its root label) and its uncompressed wire length. Every rule of the
/// module doc is checked here.
fn walk_name(msg: &[u8], at: usize) -> Result<(usize, usize)> {
    let mut pos = at;
    let mut run_start = at;
    let mut end = None;
    let mut wire_len = 0usize;
    let mut pointers = 0;
    loop {
        let Some(&b) = msg.get(pos) else {
            return Err(Error::truncated(Proto::Dns, "name", pos + 1, msg.len()));
        };
        match b & 0xc0 {
            0x00 if b == 0 => {
                wire_len += 1;
                return Ok((end.unwrap_or(pos + 1), wire_len));
            }
            0x00 => {
                let len = usize::from(b);
                if msg.len() < pos + 1 + len {
                    return Err(Error::truncated(
                        Proto::Dns,
                        "label",
                        pos + 1 + len,
                        msg.len(),
                    ));
                }
                wire_len += 1 + len;
                // The root label must still fit (RFC 1035 §2.3.4).
                if wire_len + 1 > MAX_NAME_LEN {
                    return Err(Error::above(
                        Proto::Dns,
                        "name length",
                        wire_len + 1,
                        "maximum",
                        MAX_NAME_LEN,
                    ));
                }
                pos += 1 + len;
            }
            0xc0 => {
                let Some(&low) = msg.get(pos + 1) else {
                    return Err(Error::truncated(
                        Proto::Dns,
                        "name pointer",
                        pos + 2,
                        msg.len(),
                    ));
                };
                let target = (usize::from(b & 0x3f) << 8) | usize::from(low);
                // RFC 1035 §4.1.4: a pointer names a prior occurrence; strictly backwards
                // from the labels it continues means no loop can form.
                if target >= run_start {
                    return Err(Error::invalid(
                        Proto::Dns,
                        "name pointer",
                        target as u32,
                        "an offset before the name",
                    ));
                }
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(Error::too_many(Proto::Dns, "name pointers", MAX_POINTERS));
                }
                end.get_or_insert(pos + 2);
                pos = target;
                run_start = target;
            }
            other => {
                return Err(Error::invalid(
                    Proto::Dns,
                    "label type",
                    u32::from(other >> 6),
                    "0 (label) or 3 (pointer)",
                ));
            }
        }
    }
}

/// A validated (possibly compressed) name inside a message. Compare it with
/// [`eq_buf`](Self::eq_buf), copy it with [`to_buf`](Self::to_buf).
#[derive(Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    at: usize,
}

impl<'a> Name<'a> {
    /// Reads the name at `at`; returns it and the offset just past it.
    pub fn parse(msg: &'a [u8], at: usize) -> Result<(Self, usize)> {
        let (end, _) = walk_name(msg, at)?;
        Ok((Self { msg, at }, end))
    }

    /// The labels, first (leftmost) to last, without the root.
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            msg: self.msg,
            pos: self.at,
            hops: 0,
        }
    }

    /// The uncompressed wire length (length octets and the root included).
    pub fn wire_len(&self) -> usize {
        1 + self.labels().map(|l| l.len() + 1).sum::<usize>()
    }

    /// True when this is the root name.
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// The name, uncompressed.
    pub fn to_buf(&self) -> NameBuf {
        let mut out = NameBuf::root();
        for label in self.labels() {
            // Validated: the whole name fits in MAX_NAME_LEN.
            let _ = out.push_label(label);
        }
        out
    }

    /// Compares with `other`, ASCII case-insensitively (RFC 1035 §2.3.3).
    pub fn eq_buf(&self, other: &NameBuf) -> bool {
        let mut theirs = other.labels();
        for label in self.labels() {
            match theirs.next() {
                Some(l) if l.eq_ignore_ascii_case(label) => {}
                _ => return false,
            }
        }
        theirs.next().is_none()
    }
}

impl PartialEq for Name<'_> {
    fn eq(&self, other: &Self) -> bool {
        let mut theirs = other.labels();
        for label in self.labels() {
            match theirs.next() {
                Some(l) if l.eq_ignore_ascii_case(label) => {}
                _ => return false,
            }
        }
        theirs.next().is_none()
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_labels(f, self.labels())
    }
}

/// Writes labels as dotted text with a trailing dot; bytes outside printable ASCII and `.`
/// and `\` inside labels as `\DDD` (RFC 1035 §5.1).
fn write_labels<'x>(
    f: &mut fmt::Formatter<'_>,
    labels: impl Iterator<Item = &'x [u8]>,
) -> fmt::Result {
    let mut any = false;
    for label in labels {
        any = true;
        for &b in label {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\{b:03}")?;
            }
        }
        f.write_str(".")?;
    }
    if !any {
        f.write_str(".")?;
    }
    Ok(())
}

/// The labels of a validated [`Name`].
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    hops: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The name was validated; the bounds here only keep a misuse from looping.
        while self.hops <= MAX_POINTERS {
            let b = *self.msg.get(self.pos)?;
            if b == 0 {
                return None;
            }
            if b & 0xc0 == 0xc0 {
                let low = *self.msg.get(self.pos + 1)?;
                self.pos = (usize::from(b & 0x3f) << 8) | usize::from(low);
                self.hops += 1;
                continue;
            }
            let start = self.pos + 1;
            let label = self.msg.get(start..start + usize::from(b))?;
            self.pos = start + usize::from(b);
            return Some(label);
        }
        None
    }
}

/// An uncompressed name in wire format (length-prefixed labels and the root label), owned and
/// fixed-size: what the resolver stores and what [`MessageBuilder`] writes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameBuf {
    bytes: [u8; MAX_NAME_LEN],
    len: u8,
}

impl NameBuf {
    /// The root name `.`.
    pub const fn root() -> Self {
        Self {
            bytes: [0; MAX_NAME_LEN],
            len: 1,
        }
    }

    /// Parses dotted text: `www.example.com` or `www.example.com.`; `""` and `"."` are the root.
    /// Labels must be 1 to 63 bytes and the name at most 255 on the wire. No escapes.
    pub fn from_text(text: &str) -> Result<Self> {
        let mut out = Self::root();
        let text = text.strip_suffix('.').unwrap_or(text);
        if text.is_empty() {
            return Ok(out);
        }
        for label in text.split('.') {
            out.push_label(label.as_bytes())?;
        }
        Ok(out)
    }

    /// Reads an uncompressed wire-format name.
    pub fn from_wire(wire: &[u8]) -> Result<Self> {
        // `walk_name` rejects every pointer here: none can point before offset 0.
        walk_name(wire, 0)?;
        Ok(Name { msg: wire, at: 0 }.to_buf())
    }

    /// Appends a label before the root.
    pub fn push_label(&mut self, label: &[u8]) -> Result<()> {
        if label.is_empty() {
            return Err(Error::invalid(Proto::Dns, "label length", 0, "1 to 63"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(Error::above(
                Proto::Dns,
                "label length",
                label.len(),
                "maximum",
                MAX_LABEL_LEN,
            ));
        }
        let len = usize::from(self.len);
        let new_len = len + 1 + label.len();
        if new_len > MAX_NAME_LEN {
            return Err(Error::above(
                Proto::Dns,
                "name length",
                new_len,
                "maximum",
                MAX_NAME_LEN,
            ));
        }
        let at = len - 1;
        self.bytes[at] = label.len() as u8;
        self.bytes[at + 1..at + 1 + label.len()].copy_from_slice(label);
        self.bytes[new_len - 1] = 0;
        self.len = new_len as u8;
        Ok(())
    }

    /// The wire bytes (uncompressed, root label included).
    pub fn as_wire(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            msg: self.as_wire(),
            pos: 0,
            hops: 0,
        }
    }

    /// Compares two names ASCII case-insensitively.
    pub fn eq_ignore_case(&self, other: &NameBuf) -> bool {
        self.as_wire().eq_ignore_ascii_case(other.as_wire())
    }

    /// True for the root name.
    pub fn is_root(&self) -> bool {
        self.len == 1
    }
}

impl Default for NameBuf {
    fn default() -> Self {
        Self::root()
    }
}

impl fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameBuf({self})")
    }
}

impl fmt::Display for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_labels(f, self.labels())
    }
}

/// One question (RFC 1035 §4.1.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Question<'a> {
    /// The name asked about.
    pub name: Name<'a>,
    /// The type asked for.
    pub qtype: Type,
    /// The class (1 = IN).
    pub qclass: u16,
}

/// The data of a record (RFC 1035 §3.3, RFC 3596 §2.2, RFC 6891 §6.1.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RData<'a> {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// The canonical name of an alias.
    Cname(Name<'a>),
    /// An authoritative name server.
    Ns(Name<'a>),
    /// A domain name pointer.
    Ptr(Name<'a>),
    /// A mail exchange.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The exchange host.
        exchange: Name<'a>,
    },
    /// The start of a zone of authority.
    Soa {
        /// The primary name server.
        mname: Name<'a>,
        /// The mailbox of the person responsible.
        rname: Name<'a>,
        /// Serial number.
        serial: u32,
        /// Refresh interval (s).
        refresh: u32,
        /// Retry interval (s).
        retry: u32,
        /// Expiry (s).
        expire: u32,
        /// The TTL of negative answers (RFC 2308 §4).
        minimum: u32,
    },
    /// TXT data: one or more length-prefixed character strings, as they are on the wire.
    Txt(&'a [u8]),
    /// The options of an OPT pseudo-record, as they are on the wire.
    Opt(&'a [u8]),
    /// The data of any other type.
    Other(&'a [u8]),
}

/// One resource record (RFC 1035 §4.1.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record<'a> {
    /// The owner name.
    pub name: Name<'a>,
    /// The type.
    pub rtype: Type,
    /// The class (for OPT: the requestor's UDP payload size).
    pub class: u16,
    /// Time to live in seconds (for OPT: extended RCODE, version and flags).
    pub ttl: u32,
    /// The data.
    pub data: RData<'a>,
}

/// The EDNS(0) parameters of an OPT record (RFC 6891 §6.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// The largest UDP payload the sender can reassemble.
    pub udp_payload_size: u16,
    /// The upper 8 bits of the 12-bit response code.
    pub ext_rcode: u8,
    /// The EDNS version (0).
    pub version: u8,
    /// DNSSEC OK.
    pub dnssec_ok: bool,
}

/// Parses a question at `at`.
fn parse_question(msg: &[u8], at: usize) -> Result<(Question<'_>, usize)> {
    let (name, at) = Name::parse(msg, at)?;
    if msg.len() < at + 4 {
        return Err(Error::truncated(Proto::Dns, "question", at + 4, msg.len()));
    }
    let q = Question {
        name,
        qtype: Type::from(be16(msg, at)),
        qclass: be16(msg, at + 2),
    };
    Ok((q, at + 4))
}

/// Parses a record at `at`.
fn parse_record(msg: &[u8], at: usize) -> Result<(Record<'_>, usize)> {
    let (name, at) = Name::parse(msg, at)?;
    if msg.len() < at + 10 {
        return Err(Error::truncated(Proto::Dns, "record", at + 10, msg.len()));
    }
    let rtype = Type::from(be16(msg, at));
    let class = be16(msg, at + 2);
    let ttl = be32(msg, at + 4);
    let rdlen = usize::from(be16(msg, at + 8));
    let start = at + 10;
    let end = start + rdlen;
    if msg.len() < end {
        return Err(Error::truncated(Proto::Dns, "RDATA", end, msg.len()));
    }
    let data = parse_rdata(msg, rtype, start, end)?;
    Ok((
        Record {
            name,
            rtype,
            class,
            ttl,
            data,
        },
        end,
    ))
}

/// A name inside RDATA that must end at `end` (or before, for MX/SOA the caller checks).
fn rdata_name(msg: &[u8], at: usize, end: usize) -> Result<(Name<'_>, usize)> {
    // Names in RDATA may point back into the message but must not run past the RDATA.
    let (name, after) = Name::parse(&msg[..end], at)?;
    Ok((Name { msg, at: name.at }, after))
}

fn exact(rtype: &'static str, len: usize, want: usize) -> Result<()> {
    if len != want {
        return Err(Error::invalid(
            Proto::Dns,
            rtype,
            len as u32,
            "RDATA of the type's length",
        ));
    }
    Ok(())
}

fn parse_rdata(msg: &[u8], rtype: Type, start: usize, end: usize) -> Result<RData<'_>> {
    let data = &msg[start..end];
    Ok(match rtype {
        Type::A => {
            exact("A RDATA length", data.len(), 4)?;
            RData::A(Ipv4Addr::new(data[0], data[1], data[2], data[3]))
        }
        Type::Aaaa => {
            exact("AAAA RDATA length", data.len(), 16)?;
            let mut a = [0u8; 16];
            a.copy_from_slice(data);
            RData::Aaaa(Ipv6Addr::from(a))
        }
        Type::Cname | Type::Ns | Type::Ptr => {
            let (name, after) = rdata_name(msg, start, end)?;
            exact("name RDATA length", after - start, data.len())?;
            match rtype {
                Type::Cname => RData::Cname(name),
                Type::Ns => RData::Ns(name),
                _ => RData::Ptr(name),
            }
        }
        Type::Mx => {
            if data.len() < 3 {
                return Err(Error::truncated(Proto::Dns, "MX RDATA", start + 3, end));
            }
            let (exchange, after) = rdata_name(msg, start + 2, end)?;
            exact("MX RDATA length", after - start, data.len())?;
            RData::Mx {
                preference: be16(msg, start),
                exchange,
            }
        }
        Type::Soa => {
            let (mname, at) = rdata_name(msg, start, end)?;
            let (rname, at) = rdata_name(msg, at, end)?;
            exact("SOA RDATA length", end - at, 20)?;
            RData::Soa {
                mname,
                rname,
                serial: be32(msg, at),
                refresh: be32(msg, at + 4),
                retry: be32(msg, at + 8),
                expire: be32(msg, at + 12),
                minimum: be32(msg, at + 16),
            }
        }
        Type::Txt => {
            // One or more <character-string>s filling the RDATA exactly (RFC 1035 §3.3.14).
            let mut at = 0;
            while at < data.len() {
                at += 1 + usize::from(data[at]);
            }
            if at != data.len() || data.is_empty() {
                return Err(Error::invalid(
                    Proto::Dns,
                    "TXT RDATA length",
                    data.len() as u32,
                    "character strings filling the RDATA",
                ));
            }
            RData::Txt(data)
        }
        Type::Opt => RData::Opt(data),
        _ => RData::Other(data),
    })
}

/// A validated DNS message. Built by [`Message::parse`]; its iterators cannot fail.
///
/// ```
/// use proto_core::app::dns::{Header, Message, MessageBuilder, NameBuf, Type, CLASS_IN};
/// let mut buf = [0u8; 512];
/// let header = Header { id: 7, recursion_desired: true, ..Header::default() };
/// let mut b = MessageBuilder::new(&mut buf, &header).unwrap();
/// b.question(&NameBuf::from_text("example.com").unwrap(), Type::A, CLASS_IN).unwrap();
/// let len = b.finish();
/// let msg = Message::parse(&buf[..len]).unwrap();
/// let q = msg.questions().next().unwrap();
/// assert_eq!(q.name.to_string(), "example.com.");
/// assert_eq!(q.qtype, Type::A);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    msg: &'a [u8],
    header: Header,
    counts: [u16; 4],
    /// Where each section starts, and the end of the last one.
    starts: [usize; 5],
}

/// The sections of a message, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Questions.
    Question,
    /// Answer records.
    Answer,
    /// Authority records.
    Authority,
    /// Additional records.
    Additional,
}

impl<'a> Message<'a> {
    /// Parses and validates a whole message. Bytes after the last record are ignored.
    pub fn parse(msg: &'a [u8]) -> Result<Self> {
        let p = DnsPacket::new_checked(msg)?;
        let counts = [p.qdcount(), p.ancount(), p.nscount(), p.arcount()];
        let mut starts = [HEADER_LEN; 5];
        let mut at = HEADER_LEN;
        for _ in 0..counts[0] {
            at = parse_question(msg, at)?.1;
        }
        starts[1] = at;
        for (i, &count) in counts.iter().enumerate().skip(1) {
            for _ in 0..count {
                at = parse_record(msg, at)?.1;
            }
            starts[i + 1] = at;
        }
        Ok(Self {
            msg,
            header: p.header(),
            counts,
            starts,
        })
    }

    /// The header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The four counts: questions, answers, authorities, additionals.
    pub fn counts(&self) -> [u16; 4] {
        self.counts
    }

    /// The length of the message up to the end of its last record.
    pub fn len(&self) -> usize {
        self.starts[4]
    }

    /// True when the message has no sections at all (a bare header).
    pub fn is_empty(&self) -> bool {
        self.counts == [0; 4]
    }

    /// The questions.
    pub fn questions(&self) -> Questions<'a> {
        Questions {
            msg: self.msg,
            at: self.starts[0],
            left: self.counts[0],
        }
    }

    /// The records of one record section (for [`Section::Question`], none).
    pub fn records(&self, section: Section) -> Records<'a> {
        let i = section as usize;
        Records {
            msg: self.msg,
            at: self.starts[i],
            left: if i == 0 { 0 } else { self.counts[i] },
        }
    }

    /// The answer records.
    pub fn answers(&self) -> Records<'a> {
        self.records(Section::Answer)
    }

    /// The authority records.
    pub fn authorities(&self) -> Records<'a> {
        self.records(Section::Authority)
    }

    /// The additional records.
    pub fn additionals(&self) -> Records<'a> {
        self.records(Section::Additional)
    }

    /// The EDNS(0) parameters, from the first OPT record of the additional section.
    pub fn edns(&self) -> Option<Edns> {
        self.additionals()
            .find(|r| r.rtype == Type::Opt)
            .map(|r| Edns {
                udp_payload_size: r.class,
                ext_rcode: (r.ttl >> 24) as u8,
                version: (r.ttl >> 16) as u8,
                dnssec_ok: r.ttl & 0x8000 != 0,
            })
    }

    /// The full 12-bit response code (the header's 4 bits extended by EDNS, RFC 6891 §6.1.3).
    pub fn rcode(&self) -> u16 {
        let ext = self.edns().map_or(0, |e| u16::from(e.ext_rcode));
        (ext << 4) | u16::from(self.header.rcode)
    }
}

/// The questions of a [`Message`].
#[derive(Debug, Clone)]
pub struct Questions<'a> {
    msg: &'a [u8],
    at: usize,
    left: u16,
}

impl<'a> Iterator for Questions<'a> {
    type Item = Question<'a>;

    fn next(&mut self) -> Option<Question<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (q, at) = parse_question(self.msg, self.at).ok()?;
        self.at = at;
        Some(q)
    }
}

/// The records of one section of a [`Message`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    msg: &'a [u8],
    at: usize,
    left: u16,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (r, at) = parse_record(self.msg, self.at).ok()?;
        self.at = at;
        Some(r)
    }
}

/// Data of a record to write with [`MessageBuilder::record`].
#[derive(Debug, Clone, Copy)]
pub enum RecordData<'x> {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A canonical name (compressed).
    Cname(&'x NameBuf),
    /// A name server (compressed).
    Ns(&'x NameBuf),
    /// A pointer (compressed).
    Ptr(&'x NameBuf),
    /// A mail exchange (the name compressed).
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The exchange host.
        exchange: &'x NameBuf,
    },
    /// A start of authority (both names compressed).
    Soa {
        /// The primary name server.
        mname: &'x NameBuf,
        /// The responsible mailbox.
        rname: &'x NameBuf,
        /// Serial, refresh, retry, expire, minimum.
        values: [u32; 5],
    },
    /// Raw RDATA of the given type, written as is (TXT strings, OPT options, unknown types).
    Raw(Type, &'x [u8]),
}

impl RecordData<'_> {
    fn rtype(&self) -> Type {
        match self {
            Self::A(_) => Type::A,
            Self::Aaaa(_) => Type::Aaaa,
            Self::Cname(_) => Type::Cname,
            Self::Ns(_) => Type::Ns,
            Self::Ptr(_) => Type::Ptr,
            Self::Mx { .. } => Type::Mx,
            Self::Soa { .. } => Type::Soa,
            Self::Raw(t, _) => *t,
        }
    }
}

/// Writes a message into a caller's buffer, sections in order, compressing names.
///
/// Every method returns an error, and writes nothing, when the buffer is too small
/// (`DNS: message length 530 > buffer length 512`) or a section comes after a later one.
pub struct MessageBuilder<'b> {
    buf: &'b mut [u8],
    len: usize,
    section: Section,
    counts: [u16; 4],
    /// Offsets of the name suffixes written so far (each below 0x4000).
    suffixes: [u16; MAX_COMPRESSION_ENTRIES],
    n_suffixes: usize,
}

impl<'b> MessageBuilder<'b> {
    /// Starts a message with `header` (counts are kept by the builder).
    pub fn new(buf: &'b mut [u8], header: &Header) -> Result<Self> {
        if buf.len() < HEADER_LEN {
            return Err(too_long(HEADER_LEN, buf.len()));
        }
        let mut p = DnsPacket::new_unchecked(&mut buf[..HEADER_LEN]);
        p.set_id(header.id);
        p.set_flags(header.flags());
        p.set_counts([0; 4]);
        Ok(Self {
            buf,
            len: HEADER_LEN,
            section: Section::Question,
            counts: [0; 4],
            suffixes: [0; MAX_COMPRESSION_ENTRIES],
            n_suffixes: 0,
        })
    }

    /// Sets the response code's low 4 bits after the fact (e.g. when an answer turns out empty).
    pub fn set_rcode(&mut self, rcode: u8) {
        let mut p = DnsPacket::new_unchecked(&mut self.buf[..HEADER_LEN]);
        let flags = (p.flags() & !0xf) | u16::from(rcode & 0xf);
        p.set_flags(flags);
    }

    /// Sets or clears the TC bit (RFC 1035 §4.1.1).
    pub fn set_truncated(&mut self, truncated: bool) {
        let mut p = DnsPacket::new_unchecked(&mut self.buf[..HEADER_LEN]);
        let flags = (p.flags() & !0x0200) | (u16::from(truncated) << 9);
        p.set_flags(flags);
    }

    /// The bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when only the header is written.
    pub fn is_empty(&self) -> bool {
        self.len == HEADER_LEN
    }

    fn enter(&mut self, section: Section) -> Result<()> {
        if section < self.section {
            return Err(Error::invalid(
                Proto::Dns,
                "section",
                section as u32,
                "sections written in order",
            ));
        }
        if self.counts[section as usize] == u16::MAX {
            return Err(Error::too_many(Proto::Dns, "records in a section", 65535));
        }
        self.section = section;
        Ok(())
    }

    /// Adds a question.
    pub fn question(&mut self, name: &NameBuf, qtype: Type, qclass: u16) -> Result<()> {
        self.enter(Section::Question)?;
        let start = self.len;
        let r = self.write_name(name).and_then(|()| {
            self.put(&u16::from(qtype).to_be_bytes())?;
            self.put(&qclass.to_be_bytes())
        });
        self.commit(start, Section::Question, r)
    }

    /// Adds a record to `section` (not [`Section::Question`]).
    pub fn record(
        &mut self,
        section: Section,
        name: &NameBuf,
        class: u16,
        ttl: u32,
        data: &RecordData<'_>,
    ) -> Result<()> {
        if section == Section::Question {
            return Err(Error::invalid(Proto::Dns, "section", 0, "a record section"));
        }
        self.enter(section)?;
        let start = self.len;
        let r = self.write_record(name, class, ttl, data);
        self.commit(start, section, r)
    }

    /// Adds an EDNS(0) OPT record with no options to the additional section (RFC 6891 §6.1.2).
    pub fn edns(&mut self, edns: &Edns) -> Result<()> {
        let ttl = (u32::from(edns.ext_rcode) << 24)
            | (u32::from(edns.version) << 16)
            | (u32::from(edns.dnssec_ok) << 15);
        self.record(
            Section::Additional,
            &NameBuf::root(),
            edns.udp_payload_size,
            ttl,
            &RecordData::Raw(Type::Opt, &[]),
        )
    }

    /// Finishes the message; returns its length.
    pub fn finish(self) -> usize {
        self.len
    }

    /// Keeps a completed item or rolls back a failed one (and the suffixes it recorded).
    fn commit(&mut self, start: usize, section: Section, r: Result<()>) -> Result<()> {
        match r {
            Ok(()) => {
                let i = section as usize;
                self.counts[i] += 1;
                let mut p = DnsPacket::new_unchecked(&mut self.buf[..HEADER_LEN]);
                p.set_counts(self.counts);
                Ok(())
            }
            Err(e) => {
                self.len = start;
                while self.n_suffixes > 0
                    && usize::from(self.suffixes[self.n_suffixes - 1]) >= start
                {
                    self.n_suffixes -= 1;
                }
                Err(e)
            }
        }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            return Err(too_long(end, self.buf.len()));
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn write_record(
        &mut self,
        name: &NameBuf,
        class: u16,
        ttl: u32,
        data: &RecordData<'_>,
    ) -> Result<()> {
        self.write_name(name)?;
        self.put(&u16::from(data.rtype()).to_be_bytes())?;
        self.put(&class.to_be_bytes())?;
        self.put(&ttl.to_be_bytes())?;
        let rdlen_at = self.len;
        self.put(&[0, 0])?;
        match *data {
            RecordData::A(a) => self.put(&a.octets())?,
            RecordData::Aaaa(a) => self.put(&a.octets())?,
            RecordData::Cname(n) | RecordData::Ns(n) | RecordData::Ptr(n) => self.write_name(n)?,
            RecordData::Mx {
                preference,
                exchange,
            } => {
                self.put(&preference.to_be_bytes())?;
                self.write_name(exchange)?;
            }
            RecordData::Soa {
                mname,
                rname,
                values,
            } => {
                self.write_name(mname)?;
                self.write_name(rname)?;
                for v in values {
                    self.put(&v.to_be_bytes())?;
                }
            }
            RecordData::Raw(_, bytes) => self.put(bytes)?,
        }
        let rdlen = self.len - rdlen_at - 2;
        if rdlen > usize::from(u16::MAX) {
            return Err(Error::above(
                Proto::Dns,
                "RDATA length",
                rdlen,
                "maximum",
                65535,
            ));
        }
        put_be16(self.buf, rdlen_at, rdlen as u16);
        Ok(())
    }

    /// Writes `name`, replacing its longest suffix already in the message by a pointer
    /// (RFC 1035 §4.1.4), and remembers the new suffixes it wrote once the name is complete
    /// (a suffix of a name still being written must not be pointed at: its end is not there
    /// yet).
    fn write_name(&mut self, name: &NameBuf) -> Result<()> {
        let wire = name.as_wire();
        let mut new = [0u16; MAX_NAME_LEN / 2];
        let mut n_new = 0;
        let mut at = 0;
        let mut pointer = None;
        while wire[at] != 0 {
            if let Some(target) = self.find_suffix(&wire[at..]) {
                pointer = Some(target);
                break;
            }
            if self.len < 0x4000 && n_new < new.len() {
                new[n_new] = self.len as u16;
                n_new += 1;
            }
            let label_len = usize::from(wire[at]);
            self.put(&wire[at..at + 1 + label_len])?;
            at += 1 + label_len;
        }
        match pointer {
            Some(target) => self.put(&(0xc000 | target).to_be_bytes())?,
            None => self.put(&[0])?,
        }
        for &off in &new[..n_new] {
            if self.n_suffixes < MAX_COMPRESSION_ENTRIES {
                self.suffixes[self.n_suffixes] = off;
                self.n_suffixes += 1;
            }
        }
        Ok(())
    }

    /// The offset of a name already written equal to the uncompressed `suffix`.
    fn find_suffix(&self, suffix: &[u8]) -> Option<u16> {
        let written = &self.buf[..self.len];
        self.suffixes[..self.n_suffixes]
            .iter()
            .copied()
            .find(|&off| {
                let theirs = Labels {
                    msg: written,
                    pos: usize::from(off),
                    hops: 0,
                };
                let ours = Labels {
                    msg: suffix,
                    pos: 0,
                    hops: 0,
                };
                labels_eq(theirs, ours)
            })
    }
}

fn labels_eq<'x, 'y>(mut a: Labels<'x>, mut b: Labels<'y>) -> bool {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
            _ => return false,
        }
    }
}

fn too_long(need: usize, have: usize) -> Error {
    Error::above(Proto::Dns, "message length", need, "buffer length", have)
}

/// Writes a standard query for `name`/`qtype` (class IN, RD set), with an OPT record when
/// `edns_size` is given; returns its length.
pub fn emit_query(
    buf: &mut [u8],
    id: u16,
    name: &NameBuf,
    qtype: Type,
    edns_size: Option<u16>,
) -> Result<usize> {
    let header = Header {
        id,
        recursion_desired: true,
        ..Header::default()
    };
    let mut b = MessageBuilder::new(buf, &header)?;
    b.question(name, qtype, CLASS_IN)?;
    if let Some(size) = edns_size {
        b.edns(&Edns {
            udp_payload_size: size,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
        })?;
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests;
