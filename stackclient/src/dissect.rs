//! The CLI's `dissect` subcommand: every frame of a pcap or pcapng file through proto-core's
//! dissector, as one summary line per frame, a tree (`-V`) or one JSON document (`--json`).

use std::fmt::Write as _;
use std::io::{self, Write};

use proto_core::dissect::{Dissection, Field, OwnedDissection, Problem, dissect, format};
use proto_core::pcap::{CaptureError, CaptureReader, LINKTYPE_ETHERNET};

/// How to print each frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One line per frame, like tcpdump.
    Summary,
    /// The field tree, like `tshark -V`.
    Tree,
    /// One JSON array of frames (see `proto_core::dissect::format`).
    Json,
}

/// Why a capture could not be dissected.
#[derive(Debug, thiserror::Error)]
pub enum DissectError {
    /// The file is not a capture file (or its header is broken).
    #[error("{0}")]
    Open(CaptureError),
    /// A record is broken; the frames before it were written.
    #[error("frame {frame}: {error}")]
    Record {
        /// The reader's error.
        error: CaptureError,
        /// The 1-based number of the broken frame.
        frame: usize,
    },
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Io(#[from] io::Error),
}

/// Dissects every frame of `capture` (pcap or pcapng bytes) and writes them to `out` in
/// `mode`. Returns the number of frames. Frames of a link type other than Ethernet are
/// listed but not dissected.
pub fn dissect_capture<W: Write>(
    capture: &[u8],
    mode: Mode,
    out: &mut W,
) -> Result<usize, DissectError> {
    let reader = CaptureReader::new(capture).map_err(DissectError::Open)?;
    let mut fields = vec![Field::EMPTY; 4096];
    let mut problems = vec![Problem::EMPTY; 64];
    let mut text = String::new();
    let mut count = 0;
    if mode == Mode::Json {
        out.write_all(b"[")?;
    }
    for record in reader {
        let record = record.map_err(|error| DissectError::Record {
            error,
            frame: count + 1,
        })?;
        count += 1;
        text.clear();
        let number = count as u64;
        if record.linktype != LINKTYPE_ETHERNET {
            let _ = write!(
                text,
                "frame {number}: link type {} is not Ethernet, not dissected",
                record.linktype
            );
            if mode == Mode::Json {
                eprintln!("stackclient: {text}");
                continue;
            }
            text.push('\n');
            out.write_all(text.as_bytes())?;
            continue;
        }
        let owned;
        let mut d = dissect(record.data, &mut fields, &mut problems);
        if d.truncated_output {
            owned = OwnedDissection::new(record.data);
            d = owned.view(record.data);
        }
        write_frame(&d, number, record.origlen, mode, &mut text);
        out.write_all(text.as_bytes())?;
    }
    if mode == Mode::Json {
        out.write_all(b"]\n")?;
    }
    Ok(count)
}

/// One frame in `mode` into `text`.
fn write_frame(d: &Dissection<'_>, number: u64, origlen: u32, mode: Mode, text: &mut String) {
    // Writing into a String cannot fail.
    let _ = match mode {
        Mode::Summary => write!(text, "{number:4} ")
            .and_then(|()| format::summary(d, text))
            .and_then(|()| text.write_char('\n')),
        Mode::Tree => writeln!(
            text,
            "Frame {number}: {origlen} bytes on wire, {} bytes captured",
            d.frame.len()
        )
        .and_then(|()| format::tree(d, text))
        .and_then(|()| text.write_char('\n')),
        Mode::Json => {
            if number > 1 {
                text.push_str(",\n");
            }
            format::json(d, number, text)
        }
    };
}
