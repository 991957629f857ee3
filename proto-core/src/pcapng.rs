//! pcapng capture files (draft-ietf-opsawg-pcapng): block emitters for a writer, a zero-copy
//! reader, and [`CaptureReader`], which opens either pcapng or classic pcap by its magic.
//!
//! A file is a series of blocks (`type`, `total length`, body, `total length`, each length a
//! multiple of 4). The writer emits a Section Header Block, one Interface Description Block
//! per interface (name, timestamp resolution) and an Enhanced Packet Block per frame, with
//! the direction (inbound/outbound) in `epb_flags`. All in little-endian.
//!
//! The reader handles Section Header, Interface Description, Enhanced Packet and Simple
//! Packet blocks in either byte order and several sections; it skips other blocks. Every
//! length is checked: bad input is an error naming the block's offset, never a panic.
//!
//! ```
//! use proto_core::pcapng::{self, Direction, EnhancedPacket, InterfaceDescription};
//! use proto_core::pcap::CaptureReader;
//! let mut file = vec![0u8; 256];
//! let mut n = pcapng::emit_section_header(&mut file);
//! let idb = InterfaceDescription { linktype: 1, snaplen: 65535, name: "tap0", tsresol: 9 };
//! n += idb.emit(&mut file[n..]);
//! let epb = EnhancedPacket { interface: 0, timestamp: 1_500_000_000, origlen: 3,
//!     direction: Some(Direction::Outbound) };
//! n += epb.emit(&mut file[n..], b"abc");
//! file.truncate(n);
//! let frame = CaptureReader::new(&file).unwrap().next().unwrap().unwrap();
//! assert_eq!((frame.data, frame.ts_sec, frame.ts_nanos), (&b"abc"[..], 1, 500_000_000));
//! assert_eq!(frame.direction, Some(Direction::Outbound));
//! ```

use core::fmt;

use crate::pcap::{MAX_CAPLEN, PcapError, PcapReader, Records};

/// Block type of a Section Header Block (also the file's magic).
pub const SHB_TYPE: u32 = 0x0a0d_0d0a;
/// Block type of an Interface Description Block.
pub const IDB_TYPE: u32 = 1;
/// Block type of a Simple Packet Block.
pub const SPB_TYPE: u32 = 3;
/// Block type of an Enhanced Packet Block.
pub const EPB_TYPE: u32 = 6;
/// The byte-order magic of a Section Header Block.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// The most interfaces one section may describe (the reader keeps them in a fixed table).
pub const MAX_INTERFACES: usize = 64;

/// The direction of a packet (`epb_flags` bits 0-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received on the interface.
    Inbound,
    /// Sent on the interface.
    Outbound,
}

/// Why a pcapng file could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PcapngError {
    /// The file does not start with a Section Header Block.
    NoSectionHeader,
    /// A block header or body runs past the end of the file.
    Truncated {
        /// Offset of the block in the file.
        offset: usize,
    },
    /// A block's total length is below 12, not a multiple of 4, or differs from its trailer.
    BadBlockLength {
        /// Offset of the block in the file.
        offset: usize,
        /// The length it claims.
        length: u32,
    },
    /// A Section Header Block's byte-order magic is neither order of `0x1a2b3c4d`.
    BadByteOrder {
        /// Offset of the block in the file.
        offset: usize,
    },
    /// A packet names an interface no Interface Description Block described.
    UnknownInterface {
        /// Offset of the block in the file.
        offset: usize,
        /// The interface id.
        interface: u32,
    },
    /// More than [`MAX_INTERFACES`] interfaces in one section.
    TooManyInterfaces {
        /// Offset of the block in the file.
        offset: usize,
    },
    /// A packet's captured length exceeds its block or [`MAX_CAPLEN`].
    BadCaplen {
        /// Offset of the block in the file.
        offset: usize,
        /// The captured length it claims.
        caplen: u32,
    },
}

impl fmt::Display for PcapngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoSectionHeader => f.write_str("pcapng: no section header block at the start"),
            Self::Truncated { offset } => write!(f, "pcapng: block at byte {offset} is truncated"),
            Self::BadBlockLength { offset, length } => write!(
                f,
                "pcapng: block at byte {offset} has a bad total length {length}"
            ),
            Self::BadByteOrder { offset } => write!(
                f,
                "pcapng: section header at byte {offset} has a bad byte-order magic"
            ),
            Self::UnknownInterface { offset, interface } => write!(
                f,
                "pcapng: packet at byte {offset} names undescribed interface {interface}"
            ),
            Self::TooManyInterfaces { offset } => write!(
                f,
                "pcapng: interface at byte {offset}: more than {MAX_INTERFACES} in a section"
            ),
            Self::BadCaplen { offset, caplen } => write!(
                f,
                "pcapng: packet at byte {offset} has a bad captured length {caplen}"
            ),
        }
    }
}

impl core::error::Error for PcapngError {}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

fn put32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// The length of the Section Header Block [`emit_section_header`] writes.
pub const SHB_LEN: usize = 28;

/// Writes a Section Header Block (version 1.0, section length unknown, no options) into
/// `buf[..28]`; returns 28. Panics if `buf` is shorter (a caller bug).
pub fn emit_section_header(buf: &mut [u8]) -> usize {
    put32(buf, 0, SHB_TYPE);
    put32(buf, 4, SHB_LEN as u32);
    put32(buf, 8, BYTE_ORDER_MAGIC);
    put16(buf, 12, 1);
    put16(buf, 14, 0);
    buf[16..24].copy_from_slice(&(-1i64).to_le_bytes());
    put32(buf, 24, SHB_LEN as u32);
    SHB_LEN
}

/// An Interface Description Block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceDescription<'a> {
    /// The link type (1 for Ethernet).
    pub linktype: u16,
    /// The largest captured length.
    pub snaplen: u32,
    /// `if_name` (omitted when empty).
    pub name: &'a str,
    /// `if_tsresol`: timestamps are in units of 10^-tsresol seconds (6 = µs, 9 = ns).
    pub tsresol: u8,
}

impl InterfaceDescription<'_> {
    /// The block's length in bytes.
    pub fn buffer_len(&self) -> usize {
        let name = if self.name.is_empty() {
            0
        } else {
            4 + pad4(self.name.len())
        };
        // header(8) + linktype/reserved/snaplen(8) + name + tsresol(8) + end(4) + trailer(4)
        16 + name + 8 + 4 + 4
    }

    /// Writes the block into `buf[..buffer_len()]`; returns its length. Panics if `buf` is
    /// shorter (a caller bug). A name longer than 65,535 bytes is cut.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        buf[..len].fill(0);
        put32(buf, 0, IDB_TYPE);
        put32(buf, 4, len as u32);
        put16(buf, 8, self.linktype);
        put32(buf, 12, self.snaplen);
        let mut at = 16;
        if !self.name.is_empty() {
            let name = &self.name.as_bytes()[..self.name.len().min(usize::from(u16::MAX))];
            put16(buf, at, 2);
            put16(buf, at + 2, name.len() as u16);
            buf[at + 4..at + 4 + name.len()].copy_from_slice(name);
            at += 4 + pad4(name.len());
        }
        put16(buf, at, 9);
        put16(buf, at + 2, 1);
        buf[at + 4] = self.tsresol;
        at += 8;
        // opt_endofopt is the zeroed 4 bytes at `at`.
        put32(buf, at + 4, len as u32);
        len
    }
}

/// The header of an Enhanced Packet Block; the captured bytes are passed to
/// [`emit`](Self::emit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnhancedPacket {
    /// Index of the interface (in order of its Interface Description Block).
    pub interface: u32,
    /// Timestamp in the interface's `if_tsresol` units since the Unix epoch.
    pub timestamp: u64,
    /// Length of the frame on the wire.
    pub origlen: u32,
    /// Direction, written as `epb_flags` (omitted when `None`).
    pub direction: Option<Direction>,
}

impl EnhancedPacket {
    /// The block's length for `caplen` captured bytes.
    pub fn buffer_len(&self, caplen: usize) -> usize {
        let options = if self.direction.is_some() { 8 + 4 } else { 0 };
        28 + pad4(caplen) + options + 4
    }

    /// Writes the block with `data` as the captured bytes into `buf[..buffer_len(data.len())]`;
    /// returns its length. Panics if `buf` is shorter (a caller bug).
    pub fn emit(&self, buf: &mut [u8], data: &[u8]) -> usize {
        let len = self.buffer_len(data.len());
        put32(buf, 0, EPB_TYPE);
        put32(buf, 4, len as u32);
        put32(buf, 8, self.interface);
        put32(buf, 12, (self.timestamp >> 32) as u32);
        put32(buf, 16, self.timestamp as u32);
        put32(buf, 20, data.len() as u32);
        put32(buf, 24, self.origlen);
        buf[28..28 + data.len()].copy_from_slice(data);
        let mut at = 28 + data.len();
        let padded = 28 + pad4(data.len());
        buf[at..padded].fill(0);
        at = padded;
        if let Some(direction) = self.direction {
            put16(buf, at, 2);
            put16(buf, at + 2, 4);
            let bits = match direction {
                Direction::Inbound => 1,
                Direction::Outbound => 2,
            };
            put32(buf, at + 4, bits);
            put32(buf, at + 8, 0);
            at += 12;
        }
        put32(buf, at, len as u32);
        len
    }
}

/// One packet read from a capture file, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapturedFrame<'a> {
    /// Seconds since the Unix epoch.
    pub ts_sec: u64,
    /// Nanoseconds within the second.
    pub ts_nanos: u32,
    /// Length of the frame on the wire.
    pub origlen: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// The link type of its interface.
    pub linktype: u32,
    /// Its interface (always 0 in classic pcap).
    pub interface: u32,
    /// Its direction, if the file records one.
    pub direction: Option<Direction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interface {
    linktype: u16,
    snaplen: u32,
    /// `if_tsresol` as stored: bit 7 clear = 10^-n, set = 2^-n.
    tsresol: u8,
}

/// A zero-copy reader of a pcapng file held in memory: an iterator over its packets.
#[derive(Debug, Clone)]
pub struct PcapngReader<'a> {
    bytes: &'a [u8],
    offset: usize,
    big_endian: bool,
    interfaces: [Interface; MAX_INTERFACES],
    count: usize,
    failed: bool,
}

impl<'a> PcapngReader<'a> {
    /// Checks that `bytes` starts with a Section Header Block.
    pub fn new(bytes: &'a [u8]) -> Result<Self, PcapngError> {
        if bytes.len() < 12 || bytes[..4] != SHB_TYPE.to_le_bytes() {
            return Err(PcapngError::NoSectionHeader);
        }
        Ok(Self {
            bytes,
            offset: 0,
            big_endian: false,
            interfaces: [Interface {
                linktype: 0,
                snaplen: 0,
                tsresol: 6,
            }; MAX_INTERFACES],
            count: 0,
            failed: false,
        })
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = [
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn u16_at(&self, at: usize) -> u16 {
        let b = [self.bytes[at], self.bytes[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    /// Reads the next block: `Ok(Some(frame))` for a packet, `Ok(None)` for another block.
    fn block(&mut self) -> Result<Option<CapturedFrame<'a>>, PcapngError> {
        let offset = self.offset;
        let rest = self.bytes.len() - offset;
        if rest < 12 {
            return Err(PcapngError::Truncated { offset });
        }
        let kind = u32::from_le_bytes([
            self.bytes[offset],
            self.bytes[offset + 1],
            self.bytes[offset + 2],
            self.bytes[offset + 3],
        ]);
        if kind == SHB_TYPE {
            // The byte order of a section is set by its own header.
            let magic = u32::from_le_bytes([
                self.bytes[offset + 8],
                self.bytes[offset + 9],
                self.bytes[offset + 10],
                self.bytes[offset + 11],
            ]);
            self.big_endian = match magic {
                BYTE_ORDER_MAGIC => false,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                _ => return Err(PcapngError::BadByteOrder { offset }),
            };
            self.count = 0;
        }
        let length = self.u32_at(offset + 4);
        let len = length as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return Err(PcapngError::BadBlockLength { offset, length });
        }
        if len > rest {
            return Err(PcapngError::Truncated { offset });
        }
        if self.u32_at(offset + len - 4) != length {
            return Err(PcapngError::BadBlockLength { offset, length });
        }
        self.offset += len;
        let kind = if kind == SHB_TYPE {
            kind
        } else {
            self.u32_at(offset)
        };
        let body = offset + 8..offset + len - 4;
        match kind {
            IDB_TYPE => self.interface(offset, body).map(|()| None),
            EPB_TYPE => self.enhanced(offset, body).map(Some),
            SPB_TYPE => self.simple(offset, body).map(Some),
            _ => Ok(None),
        }
    }

    fn interface(
        &mut self,
        offset: usize,
        body: core::ops::Range<usize>,
    ) -> Result<(), PcapngError> {
        if body.len() < 8 {
            return Err(PcapngError::Truncated { offset });
        }
        if self.count == MAX_INTERFACES {
            return Err(PcapngError::TooManyInterfaces { offset });
        }
        let mut interface = Interface {
            linktype: self.u16_at(body.start),
            snaplen: self.u32_at(body.start + 4),
            tsresol: 6,
        };
        // Options: code(2) length(2) value padded to 4; bounded by the body.
        let mut at = body.start + 8;
        while at + 4 <= body.end {
            let code = self.u16_at(at);
            let olen = usize::from(self.u16_at(at + 2));
            if code == 0 || at + 4 + olen > body.end {
                break;
            }
            if code == 9 && olen >= 1 {
                interface.tsresol = self.bytes[at + 4];
            }
            at += 4 + pad4(olen);
        }
        self.interfaces[self.count] = interface;
        self.count += 1;
        Ok(())
    }

    fn lookup(&self, offset: usize, id: u32) -> Result<Interface, PcapngError> {
        if (id as usize) < self.count {
            Ok(self.interfaces[id as usize])
        } else {
            Err(PcapngError::UnknownInterface {
                offset,
                interface: id,
            })
        }
    }

    fn enhanced(
        &self,
        offset: usize,
        body: core::ops::Range<usize>,
    ) -> Result<CapturedFrame<'a>, PcapngError> {
        if body.len() < 20 {
            return Err(PcapngError::Truncated { offset });
        }
        let s = body.start;
        let id = self.u32_at(s);
        let interface = self.lookup(offset, id)?;
        let ts = u64::from(self.u32_at(s + 4)) << 32 | u64::from(self.u32_at(s + 8));
        let caplen = self.u32_at(s + 12);
        let origlen = self.u32_at(s + 16);
        let data_start = s + 20;
        let cap = caplen as usize;
        if caplen > MAX_CAPLEN || cap > body.end - data_start {
            return Err(PcapngError::BadCaplen { offset, caplen });
        }
        let mut direction = None;
        let mut at = data_start + pad4(cap);
        while at + 4 <= body.end {
            let code = self.u16_at(at);
            let olen = usize::from(self.u16_at(at + 2));
            if code == 0 || at + 4 + olen > body.end {
                break;
            }
            if code == 2 && olen == 4 {
                direction = match self.u32_at(at + 4) & 3 {
                    1 => Some(Direction::Inbound),
                    2 => Some(Direction::Outbound),
                    _ => None,
                };
            }
            at += 4 + pad4(olen);
        }
        let (ts_sec, ts_nanos) = split_timestamp(ts, interface.tsresol);
        Ok(CapturedFrame {
            ts_sec,
            ts_nanos,
            origlen,
            data: &self.bytes[data_start..data_start + cap],
            linktype: interface.linktype.into(),
            interface: id,
            direction,
        })
    }

    fn simple(
        &self,
        offset: usize,
        body: core::ops::Range<usize>,
    ) -> Result<CapturedFrame<'a>, PcapngError> {
        if body.len() < 4 {
            return Err(PcapngError::Truncated { offset });
        }
        let interface = self.lookup(offset, 0)?;
        let origlen = self.u32_at(body.start);
        let data_start = body.start + 4;
        let mut cap = (origlen as usize).min(body.end - data_start);
        if interface.snaplen != 0 {
            cap = cap.min(interface.snaplen as usize);
        }
        Ok(CapturedFrame {
            ts_sec: 0,
            ts_nanos: 0,
            origlen,
            data: &self.bytes[data_start..data_start + cap],
            linktype: interface.linktype.into(),
            interface: 0,
            direction: None,
        })
    }
}

/// Splits a timestamp in `tsresol` units into seconds and nanoseconds.
fn split_timestamp(ts: u64, tsresol: u8) -> (u64, u32) {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 != 0 {
        // 2^-exp units.
        if exp >= 64 {
            return (0, 0);
        }
        let secs = ts >> exp;
        let frac = ts & ((1u64 << exp) - 1);
        let nanos = (u128::from(frac) * 1_000_000_000) >> exp;
        return (secs, nanos as u32);
    }
    let Some(units) = 10u64.checked_pow(exp) else {
        return (0, 0);
    };
    let secs = ts / units;
    let frac = ts % units;
    let nanos = if exp <= 9 {
        frac * 10u64.pow(9 - exp)
    } else {
        frac / 10u64.pow(exp - 9)
    };
    (secs, nanos as u32)
}

impl<'a> Iterator for PcapngReader<'a> {
    type Item = Result<CapturedFrame<'a>, PcapngError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each block advances the offset by at least 12 bytes, so this loop is bounded.
        while !self.failed && self.offset < self.bytes.len() {
            match self.block() {
                Ok(Some(frame)) => return Some(Ok(frame)),
                Ok(None) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Why a capture file could not be read: the classic pcap or the pcapng reader's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureError {
    /// The file starts with neither pcap's nor pcapng's magic number.
    UnknownFormat(u32),
    /// A classic pcap file's error.
    Pcap(PcapError),
    /// A pcapng file's error.
    Pcapng(PcapngError),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFormat(m) => write!(
                f,
                "magic number {m:#010x} is neither pcap nor pcapng: not a capture file"
            ),
            Self::Pcap(e) => e.fmt(f),
            Self::Pcapng(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for CaptureError {}

/// A reader of either capture format, chosen by the file's magic; an iterator over its
/// packets.
#[derive(Debug, Clone)]
// The pcapng reader's interface table is inline (no allocation); one reader per file.
#[allow(clippy::large_enum_variant)]
pub enum CaptureReader<'a> {
    /// A classic pcap file.
    Pcap {
        /// Its records.
        records: Records<'a>,
        /// Its link type.
        linktype: u32,
    },
    /// A pcapng file.
    Pcapng(PcapngReader<'a>),
}

impl<'a> CaptureReader<'a> {
    /// Opens `bytes` as pcapng if it starts with a Section Header Block, else as classic pcap.
    pub fn new(bytes: &'a [u8]) -> Result<Self, CaptureError> {
        if bytes.len() >= 4 && bytes[..4] == SHB_TYPE.to_le_bytes() {
            return PcapngReader::new(bytes)
                .map(Self::Pcapng)
                .map_err(CaptureError::Pcapng);
        }
        let reader = PcapReader::new(bytes).map_err(|e| match e {
            PcapError::BadMagic(m) => CaptureError::UnknownFormat(m),
            e => CaptureError::Pcap(e),
        })?;
        Ok(Self::Pcap {
            records: reader.records(),
            linktype: reader.linktype() & 0x0fff_ffff,
        })
    }

    /// True for a pcapng file.
    pub fn is_pcapng(&self) -> bool {
        matches!(self, Self::Pcapng(_))
    }
}

impl<'a> Iterator for CaptureReader<'a> {
    type Item = Result<CapturedFrame<'a>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Pcap { records, linktype } => Some(match records.next()? {
                Ok(r) => Ok(CapturedFrame {
                    ts_sec: r.ts_sec.into(),
                    ts_nanos: r.ts_nanos,
                    origlen: r.origlen,
                    data: r.data,
                    linktype: *linktype,
                    interface: 0,
                    direction: None,
                }),
                Err(e) => Err(CaptureError::Pcap(e)),
            }),
            Self::Pcapng(reader) => Some(reader.next()?.map_err(CaptureError::Pcapng)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn sample(direction: Option<Direction>) -> ([u8; 256], usize) {
        let mut file = [0u8; 256];
        let mut n = emit_section_header(&mut file);
        let idb = InterfaceDescription {
            linktype: 1,
            snaplen: 65535,
            name: "tap0x",
            tsresol: 6,
        };
        n += idb.emit(&mut file[n..]);
        let epb = EnhancedPacket {
            interface: 0,
            timestamp: 3_000_001,
            origlen: 60,
            direction,
        };
        n += epb.emit(&mut file[n..], b"hello");
        (file, n)
    }

    #[test]
    fn round_trip_with_direction_and_microseconds() {
        let (file, n) = sample(Some(Direction::Inbound));
        let frames: Vec<_> = PcapngReader::new(&file[..n]).unwrap().collect();
        assert_eq!(frames.len(), 1);
        let f = frames[0].unwrap();
        assert_eq!((f.ts_sec, f.ts_nanos, f.origlen), (3, 1000, 60));
        assert_eq!((f.data, f.linktype), (&b"hello"[..], 1));
        assert_eq!(f.direction, Some(Direction::Inbound));
    }

    #[test]
    fn big_endian_sections_and_unknown_blocks() {
        // A big-endian section by hand: SHB, IDB (no options), an unknown block, an SPB.
        let mut f: Vec<u8> = Vec::new();
        let be = |f: &mut Vec<u8>, v: u32| f.extend_from_slice(&v.to_be_bytes());
        f.extend_from_slice(&SHB_TYPE.to_le_bytes());
        be(&mut f, 28);
        be(&mut f, BYTE_ORDER_MAGIC);
        f.extend_from_slice(&[0, 1, 0, 0]);
        f.extend_from_slice(&[0xff; 8]);
        be(&mut f, 28);
        be(&mut f, IDB_TYPE);
        be(&mut f, 20);
        f.extend_from_slice(&[0, 1, 0, 0]);
        be(&mut f, 0);
        be(&mut f, 20);
        be(&mut f, 0x4242);
        be(&mut f, 16);
        be(&mut f, 7);
        be(&mut f, 16);
        be(&mut f, SPB_TYPE);
        be(&mut f, 20);
        be(&mut f, 3);
        f.extend_from_slice(b"xyz\0");
        be(&mut f, 20);
        // Then a second, little-endian section.
        let (le, n) = sample(None);
        f.extend_from_slice(&le[..n]);
        let frames: Vec<_> = CaptureReader::new(&f).unwrap().collect();
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0].unwrap().data, b"xyz");
        assert_eq!(frames[1].unwrap().data, b"hello");
        assert_eq!(frames[1].unwrap().direction, None);
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let (file, n) = sample(Some(Direction::Outbound));
        for cut in 0..n {
            let _ = CaptureReader::new(&file[..cut]).map(|r| r.count());
        }
        for i in 0..n {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut bad = file;
                bad[i] = v;
                let _ = CaptureReader::new(&bad[..n]).map(|r| r.count());
            }
        }
        let mut bad = file;
        bad[4] = 13;
        let mut r = PcapngReader::new(&bad[..n]).unwrap();
        assert_eq!(
            r.next(),
            Some(Err(PcapngError::BadBlockLength {
                offset: 0,
                length: 13
            }))
        );
        assert_eq!(r.next(), None);
    }

    #[test]
    fn timestamps_in_every_resolution() {
        assert_eq!(split_timestamp(1_500_000_000, 9), (1, 500_000_000));
        assert_eq!(split_timestamp(1_500_000, 6), (1, 500_000_000));
        assert_eq!(
            split_timestamp(3 << 20 | 1 << 19, 0x80 | 20),
            (3, 500_000_000)
        );
        assert_eq!(split_timestamp(5, 0x80 | 100), (0, 0));
        assert_eq!(split_timestamp(5, 40), (0, 0));
    }
}
