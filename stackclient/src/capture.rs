//! Writing captures: a [`CaptureWriter`] over any `io::Write`, in classic pcap or in pcapng
//! (with an interface name and each frame's direction), for the runtime's `--pcap` option.

use std::io::{self, Write};

use proto_core::pcap::{GlobalHeader, LINKTYPE_ETHERNET, RecordHeader};
use proto_core::pcapng::{self, Direction, EnhancedPacket, InterfaceDescription};

/// The capture file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap, microsecond timestamps.
    Pcap,
    /// pcapng, nanosecond timestamps, direction flags.
    Pcapng,
}

/// Writes Ethernet frames to a capture file.
#[derive(Debug)]
pub struct CaptureWriter<W: Write> {
    out: W,
    format: Format,
    buf: Vec<u8>,
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the file header (and for pcapng the interface `if_name`).
    pub fn new(mut out: W, format: Format, if_name: &str) -> io::Result<Self> {
        let mut buf = vec![0u8; 256 + if_name.len()];
        let n = match format {
            Format::Pcap => {
                GlobalHeader {
                    snaplen: proto_core::pcap::MAX_CAPLEN,
                    linktype: LINKTYPE_ETHERNET,
                    nanos: false,
                }
                .emit(&mut buf);
                proto_core::pcap::GLOBAL_HEADER_LEN
            }
            Format::Pcapng => {
                let mut n = pcapng::emit_section_header(&mut buf);
                let idb = InterfaceDescription {
                    linktype: LINKTYPE_ETHERNET as u16,
                    snaplen: proto_core::pcap::MAX_CAPLEN,
                    name: if_name,
                    tsresol: 9,
                };
                n += idb.emit(&mut buf[n..]);
                n
            }
        };
        out.write_all(&buf[..n])?;
        Ok(Self { out, format, buf })
    }

    /// Appends one frame with its time (since the Unix epoch) and direction (pcapng only).
    pub fn write(
        &mut self,
        frame: &[u8],
        since_epoch: std::time::Duration,
        direction: Option<Direction>,
    ) -> io::Result<()> {
        let caplen = frame.len().min(65535);
        let data = &frame[..caplen];
        match self.format {
            Format::Pcap => {
                let mut header = [0u8; proto_core::pcap::RECORD_HEADER_LEN];
                RecordHeader {
                    ts_sec: since_epoch.as_secs() as u32,
                    ts_frac: since_epoch.subsec_micros(),
                    caplen: caplen as u32,
                    origlen: frame.len() as u32,
                }
                .emit(&mut header);
                self.out.write_all(&header)?;
                self.out.write_all(data)
            }
            Format::Pcapng => {
                let epb = EnhancedPacket {
                    interface: 0,
                    timestamp: since_epoch.as_nanos() as u64,
                    origlen: frame.len() as u32,
                    direction,
                };
                let len = epb.buffer_len(caplen);
                if self.buf.len() < len {
                    self.buf.resize(len, 0);
                }
                let n = epb.emit(&mut self.buf, data);
                self.out.write_all(&self.buf[..n])
            }
        }
    }

    /// Flushes the inner writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
