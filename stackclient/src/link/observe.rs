//! A middleware [`Link`] that watches every frame both ways: writes it to a capture file
//! (`--pcap`: pcapng with each frame's direction) and logs a one-line dissection of it
//! through `tracing` (`-v`: target `frames`, level INFO). Frames pass unchanged.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use proto_core::dissect::{Field, Problem, dissect, format};
use proto_core::pcapng::Direction;

use super::{FrameBatch, Link};
use crate::capture::{CaptureWriter, Format};

/// The capture file, flushed after every batch so that it is readable while the stack runs.
type Capture = CaptureWriter<BufWriter<File>>;

/// `L` with its frames captured and/or logged.
pub struct Observed<L: Link> {
    inner: L,
    capture: Option<Capture>,
    log: bool,
    fields: Vec<Field>,
    problems: Vec<Problem>,
    line: String,
}

impl<L: Link> std::fmt::Debug for Observed<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("capture", &self.capture.is_some())
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl<L: Link> Observed<L> {
    /// Wraps `inner`; nothing is watched until [`capture_to`](Self::capture_to) or
    /// [`log_frames`](Self::log_frames).
    pub fn new(inner: L) -> Self {
        Self {
            inner,
            capture: None,
            log: false,
            fields: vec![Field::EMPTY; 512],
            problems: vec![Problem::EMPTY; 16],
            line: String::new(),
        }
    }

    /// Writes every frame to a new pcapng file at `path` (interface `if_name`), with its
    /// direction: inbound = received by the stack, outbound = sent by it.
    pub fn capture_to(mut self, path: &Path, if_name: &str) -> io::Result<Self> {
        let file = File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", path.display())))?;
        let mut w = CaptureWriter::new(BufWriter::new(file), Format::Pcapng, if_name)?;
        // The header goes out at once: an empty capture is still a valid file.
        w.flush()?;
        self.capture = Some(w);
        Ok(self)
    }

    /// Logs one line per frame (`<` received, `>` sent) at INFO on target `frames`.
    pub fn log_frames(mut self, on: bool) -> Self {
        self.log = on;
        self
    }

    fn watch(&mut self, frames: &FrameBatch, direction: Direction) -> io::Result<()> {
        if self.capture.is_none() && !self.log {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        for frame in frames.iter() {
            if let Some(c) = &mut self.capture {
                c.write(frame, now, Some(direction))?;
            }
            if self.log {
                let d = dissect(frame, &mut self.fields, &mut self.problems);
                self.line.clear();
                let _ = format::summary(&d, &mut self.line);
                let arrow = match direction {
                    Direction::Inbound => '<',
                    Direction::Outbound => '>',
                };
                tracing::info!(target: "frames", "{arrow} {}", self.line);
            }
        }
        if let Some(c) = &mut self.capture {
            c.flush()?;
        }
        Ok(())
    }
}

impl<L: Link> Link for Observed<L> {
    async fn recv_batch(&mut self, out: &mut FrameBatch) -> io::Result<()> {
        // Cancel-safe as the inner link's is: nothing happens here before it returns.
        self.inner.recv_batch(out).await?;
        self.watch(out, Direction::Inbound)
    }

    async fn send_batch(&mut self, frames: &FrameBatch) -> io::Result<()> {
        self.watch(frames, Direction::Outbound)?;
        self.inner.send_batch(frames).await
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn tso(&self) -> usize {
        self.inner.tso()
    }

    fn reconnected(&mut self) -> bool {
        self.inner.reconnected()
    }
}
