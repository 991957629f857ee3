//! `GET /pcap`: a live capture of every frame in both directions, as a classic pcap stream
//! (`curl -sN http://127.0.0.1:7070/pcap | wireshark -k -i -`), or with `?format=pcapng` as
//! pcapng: an interface block naming the TAP device, nanosecond timestamps, and each
//! frame's direction in `epb_flags` (inbound = read from the device, outbound = written to
//! it).
//!
//! Each viewer has its own place in a bounded broadcast ring ([`crate::hub::CAPTURE_RING`]
//! frames). The device side never waits for a viewer: one that reads too slowly falls behind
//! the ring, loses the frames it missed, and they are counted in `pcap_dropped`.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::{BufMut, Bytes, BytesMut};
use proto_core::pcap::{
    GLOBAL_HEADER_LEN, GlobalHeader, LINKTYPE_ETHERNET, RECORD_HEADER_LEN, RecordHeader,
};
use proto_core::pcapng::{self, EnhancedPacket, InterfaceDescription};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::hub::{Captured, Hub, bump};

/// The snapshot length written in the global header: frames are never cut (libpcap's and
/// Wireshark's bound, with room for the 64 KiB frames of segmentation offload).
pub const SNAPLEN: u32 = proto_core::pcap::MAX_CAPLEN;

/// One body chunk gathers the frames already waiting, up to this many bytes, so a busy link
/// costs one write per batch rather than one per frame.
const CHUNK_BYTES: usize = 64 * 1024;

/// The 24-byte pcap global header that opens every stream (microsecond timestamps, Ethernet).
pub fn global_header() -> Bytes {
    let mut buf = [0u8; GLOBAL_HEADER_LEN];
    GlobalHeader {
        snaplen: SNAPLEN,
        linktype: LINKTYPE_ETHERNET,
        nanos: false,
    }
    .emit(&mut buf);
    Bytes::copy_from_slice(&buf)
}

/// The format of a capture stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Classic pcap (the default).
    #[default]
    Pcap,
    /// pcapng with direction flags.
    Pcapng,
}

impl Format {
    /// Parses the `format` query parameter: `pcap` or `pcapng`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pcap" => Some(Self::Pcap),
            "pcapng" => Some(Self::Pcapng),
            _ => None,
        }
    }

    /// The media type of the stream.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pcap => "application/vnd.tcpdump.pcap",
            Self::Pcapng => "application/x-pcapng",
        }
    }
}

/// The pcapng stream's opening: a Section Header Block and one Interface Description Block
/// (Ethernet, `if_name` = the device, nanosecond timestamps).
pub fn pcapng_header(if_name: &str) -> Bytes {
    let idb = InterfaceDescription {
        linktype: LINKTYPE_ETHERNET as u16,
        snaplen: SNAPLEN,
        name: if_name,
        tsresol: 9,
    };
    let mut buf = vec![0u8; pcapng::SHB_LEN + idb.buffer_len()];
    let n = pcapng::emit_section_header(&mut buf);
    idb.emit(&mut buf[n..]);
    Bytes::from(buf)
}

/// Appends one Enhanced Packet Block, with the frame's direction, to `out`.
pub fn push_block(out: &mut BytesMut, captured: &Captured) {
    let since = captured.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let len = captured.frame.len();
    let data = &captured.frame[..len.min(SNAPLEN as usize)];
    let epb = EnhancedPacket {
        interface: 0,
        timestamp: since.as_nanos() as u64,
        origlen: len as u32,
        direction: Some(captured.direction),
    };
    let start = out.len();
    out.resize(start + epb.buffer_len(data.len()), 0);
    epb.emit(&mut out[start..], data);
}

/// Appends one record in `format` to `out`.
pub fn push(out: &mut BytesMut, captured: &Captured, format: Format) {
    match format {
        Format::Pcap => push_record(out, captured),
        Format::Pcapng => push_block(out, captured),
    }
}

/// Appends one record (16-byte header and the frame) to `out`.
pub fn push_record(out: &mut BytesMut, captured: &Captured) {
    let since = captured.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let len = captured.frame.len() as u32;
    let mut header = [0u8; RECORD_HEADER_LEN];
    RecordHeader {
        // pcap's 32-bit seconds run out in 2106.
        ts_sec: since.as_secs() as u32,
        ts_frac: since.subsec_micros(),
        caplen: len.min(SNAPLEN),
        origlen: len,
    }
    .emit(&mut header);
    out.put_slice(&header);
    out.put_slice(&captured.frame[..(len.min(SNAPLEN) as usize)]);
}

/// Keeps the viewer gauge right however the stream ends (client gone, shutdown).
struct Viewer {
    hub: Arc<Hub>,
    rx: broadcast::Receiver<Captured>,
    started: bool,
    format: Format,
}

impl Viewer {
    fn new(hub: Arc<Hub>, format: Format) -> Self {
        let rx = hub.subscribe_capture();
        bump(&hub.stats().pcap_viewers, 1);
        Self {
            hub,
            rx,
            started: false,
            format,
        }
    }

    fn lost(&self, n: u64) {
        bump(&self.hub.stats().pcap_dropped, n);
    }

    /// The next body chunk: the global header first, then records as they come; `None` when
    /// the daemon shuts down.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if !self.started {
            self.started = true;
            return Some(match self.format {
                Format::Pcap => global_header(),
                Format::Pcapng => pcapng_header(&self.hub.config().if_name),
            });
        }
        // What is already in the ring goes out even when shutting down, so a capture ends
        // with every frame that crossed the link before the end.
        let first = loop {
            match self.rx.try_recv() {
                Ok(c) => break c,
                Err(TryRecvError::Lagged(n)) => self.lost(n),
                Err(TryRecvError::Closed) => return None,
                Err(TryRecvError::Empty) if self.hub.is_shutting_down() => return None,
                Err(TryRecvError::Empty) => {}
            }
            let hub = self.hub.clone();
            tokio::select! {
                r = self.rx.recv() => match r {
                    Ok(c) => break c,
                    Err(RecvError::Lagged(n)) => self.lost(n),
                    Err(RecvError::Closed) => return None,
                },
                () = hub.shutting_down() => {}
            }
        };
        let mut out = BytesMut::with_capacity(CHUNK_BYTES.max(first.frame.len() + 64));
        push(&mut out, &first, self.format);
        while out.len() < CHUNK_BYTES {
            match self.rx.try_recv() {
                Ok(c) => push(&mut out, &c, self.format),
                Err(TryRecvError::Lagged(n)) => self.lost(n),
                Err(_) => break,
            }
        }
        Some(out.freeze())
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.hub
            .stats()
            .pcap_viewers
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The body of `GET /pcap` for one viewer: endless until the client leaves or the daemon
/// shuts down.
pub fn stream(hub: Arc<Hub>, format: Format) -> axum::body::Body {
    let viewer = Viewer::new(hub, format);
    let chunks = futures_util::stream::unfold(viewer, |mut viewer| async move {
        let chunk = viewer.next_chunk().await?;
        Some((Ok::<_, std::convert::Infallible>(chunk), viewer))
    });
    axum::body::Body::from_stream(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_core::pcap::PcapReader;
    use std::time::Duration;

    #[test]
    fn records_read_back_with_the_reader() {
        let mut file = BytesMut::new();
        file.put_slice(&global_header());
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000);
        for len in [14, 60, 1514] {
            let frame = Bytes::from(vec![len as u8; len]);
            push_record(
                &mut file,
                &Captured {
                    at,
                    frame,
                    direction: crate::hub::Direction::Inbound,
                },
            );
        }
        let reader = PcapReader::new(&file).unwrap();
        assert_eq!(reader.linktype(), LINKTYPE_ETHERNET);
        assert_eq!(reader.snaplen(), SNAPLEN);
        let records: Vec<_> = reader.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[1].data, &[60u8; 60][..]);
        assert_eq!(records[2].origlen, 1514);
        assert_eq!(
            (records[0].ts_sec, records[0].ts_nanos),
            (1_700_000_000, 123_456_000)
        );
    }

    #[test]
    fn pcapng_blocks_read_back_with_directions() {
        use crate::hub::Direction;
        use proto_core::pcap::CaptureReader;
        let mut file = BytesMut::new();
        file.put_slice(&pcapng_header("tap7"));
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        for (len, direction) in [(14, Direction::Inbound), (61, Direction::Outbound)] {
            let frame = Bytes::from(vec![len as u8; len]);
            push_block(
                &mut file,
                &Captured {
                    at,
                    frame,
                    direction,
                },
            );
        }
        let frames: Vec<_> = CaptureReader::new(&file)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].direction, Some(Direction::Inbound));
        assert_eq!(frames[1].direction, Some(Direction::Outbound));
        assert_eq!(frames[1].data, &[61u8; 61][..]);
        assert_eq!(
            (frames[0].ts_sec, frames[0].ts_nanos),
            (1_700_000_000, 123_456_789)
        );
        assert_eq!(Format::parse("pcapng"), Some(Format::Pcapng));
        assert_eq!(Format::parse("ng"), None);
    }
}
