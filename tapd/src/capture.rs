//! `GET /pcap`: a live capture of every frame in both directions, as a classic pcap stream
//! (`curl -sN http://127.0.0.1:7070/pcap | wireshark -k -i -`).
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
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::hub::{Captured, Hub, bump};

/// The snapshot length written in the global header: frames are never cut.
pub const SNAPLEN: u32 = 65_535;

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
}

impl Viewer {
    fn new(hub: Arc<Hub>) -> Self {
        let rx = hub.subscribe_capture();
        bump(&hub.stats().pcap_viewers, 1);
        Self {
            hub,
            rx,
            started: false,
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
            return Some(global_header());
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
        push_record(&mut out, &first);
        while out.len() < CHUNK_BYTES {
            match self.rx.try_recv() {
                Ok(c) => push_record(&mut out, &c),
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
pub fn stream(hub: Arc<Hub>) -> axum::body::Body {
    let viewer = Viewer::new(hub);
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
            push_record(&mut file, &Captured { at, frame });
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
}
