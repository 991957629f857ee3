//! Classic libpcap capture files: a zero-copy reader and header emitters for a writer.
//!
//! Format (the libpcap file format, draft-ietf-opsawg-pcap): a 24-byte global header (magic
//! `0xa1b2c3d4` for microsecond or `0xa1b23c4d` for nanosecond timestamps, written in the
//! writer's byte order), then records of a 16-byte header (seconds, sub-seconds, captured
//! length, original length) followed by the captured bytes.
//!
//! ```
//! use proto_core::pcap::{PcapReader, GlobalHeader, RecordHeader, LINKTYPE_ETHERNET};
//! let mut file = [0u8; 24 + 16 + 3];
//! GlobalHeader { snaplen: 65535, linktype: LINKTYPE_ETHERNET, nanos: false }.emit(&mut file);
//! RecordHeader { ts_sec: 1, ts_frac: 2, caplen: 3, origlen: 3 }.emit(&mut file[24..]);
//! file[40..].copy_from_slice(b"abc");
//! let reader = PcapReader::new(&file).unwrap();
//! assert_eq!(reader.linktype(), LINKTYPE_ETHERNET);
//! let records: Vec<_> = reader.records().collect::<Result<_, _>>().unwrap();
//! assert_eq!(records[0].data, b"abc");
//! ```

use core::fmt;

pub use crate::pcapng::{CaptureError, CaptureReader, CapturedFrame};

/// Link type of Ethernet frames (`LINKTYPE_ETHERNET`).
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Length of the global header.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Length of a record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// The largest captured length the reader accepts for one record (libpcap's own bound).
pub const MAX_CAPLEN: u32 = 262_144;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Why a capture file could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PcapError {
    /// Fewer than 24 bytes: no global header.
    TruncatedHeader,
    /// The magic number is not a classic pcap one (a pcapng file starts `0a0d0d0a`).
    BadMagic(u32),
    /// A record header or its data runs past the end of the file, at this byte offset.
    TruncatedRecord {
        /// Offset of the record header in the file.
        offset: usize,
    },
    /// A record claims more than [`MAX_CAPLEN`] captured bytes.
    CaplenTooLarge {
        /// Offset of the record header in the file.
        offset: usize,
        /// The captured length it claims.
        caplen: u32,
    },
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TruncatedHeader => f.write_str("pcap: file shorter than the 24-byte header"),
            Self::BadMagic(0x0a0d_0d0a) => {
                f.write_str("pcap: this is a pcapng file, not a classic pcap file")
            }
            Self::BadMagic(m) => write!(f, "pcap: magic {m:#010x} is not a classic pcap file"),
            Self::TruncatedRecord { offset } => {
                write!(f, "pcap: record at byte {offset} is truncated")
            }
            Self::CaplenTooLarge { offset, caplen } => write!(
                f,
                "pcap: record at byte {offset} captured length {caplen} > maximum {MAX_CAPLEN}"
            ),
        }
    }
}

impl core::error::Error for PcapError {}

/// A pcap global header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalHeader {
    /// The largest captured length of any record.
    pub snaplen: u32,
    /// The link type, e.g. [`LINKTYPE_ETHERNET`].
    pub linktype: u32,
    /// True for nanosecond timestamps, false for microseconds.
    pub nanos: bool,
}

impl GlobalHeader {
    /// Writes the 24-byte header (version 2.4, little-endian) into `buf[..24]`.
    pub fn emit(&self, buf: &mut [u8]) {
        let magic = if self.nanos {
            MAGIC_NANOS
        } else {
            MAGIC_MICROS
        };
        buf[0..4].copy_from_slice(&magic.to_le_bytes());
        buf[4..6].copy_from_slice(&2u16.to_le_bytes());
        buf[6..8].copy_from_slice(&4u16.to_le_bytes());
        buf[8..16].fill(0);
        buf[16..20].copy_from_slice(&self.snaplen.to_le_bytes());
        buf[20..24].copy_from_slice(&self.linktype.to_le_bytes());
    }
}

/// A pcap record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Seconds since the Unix epoch.
    pub ts_sec: u32,
    /// Microseconds or nanoseconds within the second (per the global header).
    pub ts_frac: u32,
    /// Bytes captured (that follow this header).
    pub caplen: u32,
    /// Length of the frame on the wire.
    pub origlen: u32,
}

impl RecordHeader {
    /// Writes the 16-byte header (little-endian) into `buf[..16]`.
    pub fn emit(&self, buf: &mut [u8]) {
        for (i, v) in [self.ts_sec, self.ts_frac, self.caplen, self.origlen]
            .into_iter()
            .enumerate()
        {
            buf[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// One record of a capture file, borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Seconds since the Unix epoch.
    pub ts_sec: u32,
    /// Nanoseconds within the second (microsecond files are scaled).
    pub ts_nanos: u32,
    /// Length of the frame on the wire (may exceed `data.len()` when truncated by snaplen).
    pub origlen: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// A zero-copy reader of a classic pcap file held in memory.
#[derive(Debug, Clone, Copy)]
pub struct PcapReader<'a> {
    bytes: &'a [u8],
    big_endian: bool,
    nanos: bool,
}

impl<'a> PcapReader<'a> {
    /// Reads the global header; either byte order, micro- or nanosecond timestamps.
    pub fn new(bytes: &'a [u8]) -> Result<Self, PcapError> {
        if bytes.len() < GLOBAL_HEADER_LEN {
            return Err(PcapError::TruncatedHeader);
        }
        let le = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let (big_endian, nanos) = match le {
            MAGIC_MICROS => (false, false),
            MAGIC_NANOS => (false, true),
            _ => match le.swap_bytes() {
                MAGIC_MICROS => (true, false),
                MAGIC_NANOS => (true, true),
                _ => return Err(PcapError::BadMagic(le.swap_bytes())),
            },
        };
        Ok(Self {
            bytes,
            big_endian,
            nanos,
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

    /// The link type of every record.
    pub fn linktype(&self) -> u32 {
        self.u32_at(20)
    }

    /// The snapshot length.
    pub fn snaplen(&self) -> u32 {
        self.u32_at(16)
    }

    /// True when timestamps are in nanoseconds.
    pub fn is_nanos(&self) -> bool {
        self.nanos
    }

    /// The records, in file order. A malformed record ends the iteration with its error.
    pub fn records(&self) -> Records<'a> {
        Records {
            reader: *self,
            offset: GLOBAL_HEADER_LEN,
            failed: false,
        }
    }
}

/// Iterator over the records of a [`PcapReader`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    reader: PcapReader<'a>,
    offset: usize,
    failed: bool,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.reader.bytes;
        if self.failed || self.offset == bytes.len() {
            return None;
        }
        let offset = self.offset;
        if bytes.len() - offset < RECORD_HEADER_LEN {
            self.failed = true;
            return Some(Err(PcapError::TruncatedRecord { offset }));
        }
        let r = &self.reader;
        let (ts_sec, frac, caplen, origlen) = (
            r.u32_at(offset),
            r.u32_at(offset + 4),
            r.u32_at(offset + 8),
            r.u32_at(offset + 12),
        );
        if caplen > MAX_CAPLEN {
            self.failed = true;
            return Some(Err(PcapError::CaplenTooLarge { offset, caplen }));
        }
        let start = offset + RECORD_HEADER_LEN;
        let end = start + caplen as usize;
        if end > bytes.len() {
            self.failed = true;
            return Some(Err(PcapError::TruncatedRecord { offset }));
        }
        self.offset = end;
        let ts_nanos = if r.nanos {
            frac
        } else {
            frac.saturating_mul(1000)
        };
        Some(Ok(Record {
            ts_sec,
            ts_nanos,
            origlen,
            data: &bytes[start..end],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_byte_orders_and_rejects_garbage() {
        let mut le = [0u8; 24 + 16 + 2];
        GlobalHeader {
            snaplen: 100,
            linktype: 1,
            nanos: true,
        }
        .emit(&mut le);
        RecordHeader {
            ts_sec: 5,
            ts_frac: 7,
            caplen: 2,
            origlen: 60,
        }
        .emit(&mut le[24..]);
        le[40..].copy_from_slice(&[1, 2]);
        let r = PcapReader::new(&le).unwrap();
        assert!(r.is_nanos());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(
            (rec.ts_sec, rec.ts_nanos, rec.origlen, rec.data),
            (5, 7, 60, &[1u8, 2][..])
        );

        // The same file in big-endian.
        let mut be = le;
        for w in [0, 16, 20, 24, 28, 32, 36] {
            be[w..w + 4].reverse();
        }
        be[4..6].reverse();
        be[6..8].reverse();
        let r = PcapReader::new(&be).unwrap();
        assert_eq!(r.linktype(), 1);
        assert_eq!(r.records().next().unwrap().unwrap().data, &[1, 2]);

        assert_eq!(
            PcapReader::new(&le[..10]).unwrap_err(),
            PcapError::TruncatedHeader
        );
        let mut bad = le;
        bad[0] = 0;
        assert!(matches!(PcapReader::new(&bad), Err(PcapError::BadMagic(_))));
        for cut in 25..le.len() {
            let r = PcapReader::new(&le[..cut]).unwrap();
            let mut it = r.records();
            assert_eq!(
                it.next(),
                Some(Err(PcapError::TruncatedRecord { offset: 24 }))
            );
            assert_eq!(it.next(), None);
        }
    }
}
