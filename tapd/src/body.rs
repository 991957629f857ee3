//! The wire format of the HTTP bodies: JSON strings holding standard padded base64 of one
//! Ethernet frame each (the contract of `POST /send` and `GET /recv`), or JSON arrays of them.
//!
//! Parsing decodes straight from the request body into one reusable byte buffer (no per-frame
//! allocation, no intermediate `Vec<String>`), and a problem is reported with the index of the
//! frame and what is wrong, e.g. `frame 3: 9 bytes, shorter than the 14-byte Ethernet header`.

use core::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proto_core::wire::ethernet::{EtherType, HEADER_LEN, MAX_VLAN_TAGS};
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

/// The length of one 802.1Q/802.1ad tag.
const VLAN_TAG_LEN: usize = 4;

/// The most frames one `POST /send` may carry, and the most one `GET /recv?max=N` may ask for.
pub const MAX_BATCH: usize = 4096;

/// The largest frame accepted for an MTU: the MTU plus the 14-byte header plus 4 bytes (one
/// VLAN tag or room for a frame check sequence), or 4 bytes more when the frame carries two
/// VLAN tags (QinQ). For MTU 1500: 1518, or 1522 with two tags.
pub fn max_frame_len(mtu: u16, vlan_tags: usize) -> usize {
    usize::from(mtu) + HEADER_LEN + VLAN_TAG_LEN * vlan_tags.clamp(1, MAX_VLAN_TAGS)
}

/// The largest frame any body can carry for an MTU (two VLAN tags).
pub fn max_frame_len_any(mtu: u16) -> usize {
    max_frame_len(mtu, MAX_VLAN_TAGS)
}

/// Counts the VLAN tags (0 to 2) at the start of a frame of at least 14 bytes.
fn vlan_tags(frame: &[u8]) -> usize {
    let mut tags = 0;
    let mut at = 12;
    while tags < MAX_VLAN_TAGS && frame.len() >= at + 2 {
        let tpid = EtherType::from(u16::from_be_bytes([frame[at], frame[at + 1]]));
        if !tpid.is_vlan_tpid() {
            break;
        }
        tags += 1;
        at += VLAN_TAG_LEN;
    }
    tags
}

/// Why one frame of a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The string is not standard padded base64.
    Base64(String),
    /// The frame is shorter than an Ethernet header.
    TooShort {
        /// The frame's length.
        len: usize,
    },
    /// The frame is longer than the MTU allows.
    TooLong {
        /// The frame's length.
        len: usize,
        /// The largest length allowed for this frame.
        max: usize,
        /// The MTU of the device.
        mtu: u16,
        /// How many VLAN tags the frame carries.
        tags: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Base64(why) => write!(f, "base64: {why}"),
            Self::TooShort { len } => write!(
                f,
                "{len} bytes, shorter than the {HEADER_LEN}-byte Ethernet header"
            ),
            Self::TooLong {
                len,
                max,
                mtu,
                tags,
            } => write!(
                f,
                "{len} bytes, longer than {max} (MTU {mtu} + {} for a frame with {tags} VLAN tag{})",
                max - usize::from(*mtu),
                if *tags == 1 { "" } else { "s" }
            ),
        }
    }
}

/// Describes a base64 decoding error in words, with the offset in the string.
fn base64_error(e: base64::DecodeError) -> String {
    use base64::DecodeError as D;
    match e {
        D::InvalidByte(at, b) if b.is_ascii_graphic() => {
            format!("invalid byte {:?} at {at}", char::from(b))
        }
        D::InvalidByte(at, b) => format!("invalid byte {b:#04x} at {at}"),
        D::InvalidLength(n) => {
            format!("{n} symbols is not a valid length (the last group needs 2 to 4)")
        }
        D::InvalidLastSymbol { offset, .. } => {
            format!("last symbol at {offset} has bits that decode to nothing")
        }
        D::InvalidPadding => "missing or wrong '=' padding (standard padded base64)".to_string(),
    }
}

/// Why a `POST /send` body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The body is not well-formed JSON (or has trailing data).
    NotJson(String),
    /// The body is JSON, but not a string nor an array of strings.
    WrongShape(String),
    /// One frame is bad.
    Frame {
        /// Its index in the array, `None` when the body was a single string.
        index: Option<usize>,
        /// What is wrong with it.
        error: FrameError,
    },
    /// The array holds more than [`MAX_BATCH`] frames.
    TooManyFrames,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson(e) => write!(f, "body is not JSON: {e}"),
            Self::WrongShape(e) => write!(
                f,
                "body must be a JSON string of base64 or an array of them: {e}"
            ),
            Self::Frame {
                index: Some(i),
                error,
            } => write!(f, "frame {i}: {error}"),
            Self::Frame { index: None, error } => write!(f, "frame: {error}"),
            Self::TooManyFrames => write!(f, "more than {MAX_BATCH} frames in one request"),
        }
    }
}

impl std::error::Error for BodyError {}

/// Frames decoded from one body, held back to back in one buffer.
#[derive(Debug, Default, Clone)]
pub struct FrameBatch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl FrameBatch {
    /// Parses a `POST /send` body: a JSON string of base64, or an array of them. Every frame
    /// is checked against `mtu` before any is returned, so a batch is taken whole or not at all.
    pub fn parse(body: &[u8], mtu: u16) -> Result<Self, BodyError> {
        let mut batch = FrameBatch {
            data: Vec::with_capacity(body.len() / 4 * 3),
            ends: Vec::new(),
        };
        let mut failure = None;
        let mut de = serde_json::Deserializer::from_slice(body);
        let seed = BatchSeed {
            batch: &mut batch,
            mtu,
            failure: &mut failure,
        };
        let result = seed.deserialize(&mut de).and_then(|()| de.end());
        if let Some(error) = failure {
            // A bad frame is found as soon as it is read; but if the body is not even JSON,
            // that is what the client should hear first.
            if let Err(syntax) = serde_json::from_slice::<de::IgnoredAny>(body) {
                return Err(BodyError::NotJson(syntax.to_string()));
            }
            return Err(error);
        }
        match result {
            Ok(()) => Ok(batch),
            // A wrong shape is found before the end is read: a body like `{` is not JSON at
            // all, and that is what the client should hear.
            Err(e) if e.is_data() => match serde_json::from_slice::<de::IgnoredAny>(body) {
                Ok(_) => Err(BodyError::WrongShape(e.to_string())),
                Err(syntax) => Err(BodyError::NotJson(syntax.to_string())),
            },
            Err(e) => Err(BodyError::NotJson(e.to_string())),
        }
    }

    /// The number of frames.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the batch holds no frame (an empty array).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The frames, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.ends.len()).map(|i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.data[start..self.ends[i]]
        })
    }

    /// The frames as shared buffers, slices of one allocation (for the capture ring).
    pub fn into_frames(self) -> Vec<bytes::Bytes> {
        let data = bytes::Bytes::from(self.data);
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let frame = data.slice(start..end);
                start = end;
                frame
            })
            .collect()
    }

    /// Decodes and checks one base64 string, appending the frame.
    fn push_b64(&mut self, s: &str, mtu: u16) -> Result<(), FrameError> {
        let start = self.data.len();
        if let Err(e) = STANDARD.decode_vec(s, &mut self.data) {
            self.data.truncate(start);
            return Err(FrameError::Base64(base64_error(e)));
        }
        let frame = &self.data[start..];
        let len = frame.len();
        if len < HEADER_LEN {
            return Err(FrameError::TooShort { len });
        }
        let tags = vlan_tags(frame);
        let max = max_frame_len(mtu, tags);
        if len > max {
            return Err(FrameError::TooLong {
                len,
                max,
                mtu,
                tags,
            });
        }
        self.ends.push(self.data.len());
        Ok(())
    }
}

/// Deserializes the body into a [`FrameBatch`]; the first problem found is left in `failure`
/// (serde's own error carries only text, and we want the frame's index and reason as data).
struct BatchSeed<'b> {
    batch: &'b mut FrameBatch,
    mtu: u16,
    failure: &'b mut Option<BodyError>,
}

impl BatchSeed<'_> {
    fn fail<E: de::Error>(&mut self, index: Option<usize>, error: FrameError) -> E {
        let msg = error.to_string();
        *self.failure = Some(BodyError::Frame { index, error });
        E::custom(msg)
    }
}

impl<'de> DeserializeSeed<'de> for BatchSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BatchSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base64 string or an array of base64 strings")
    }

    fn visit_str<E: de::Error>(mut self, s: &str) -> Result<(), E> {
        let mtu = self.mtu;
        self.batch.push_b64(s, mtu).map_err(|e| self.fail(None, e))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            if index == MAX_BATCH {
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    *self.failure = Some(BodyError::TooManyFrames);
                    return Err(de::Error::custom(BodyError::TooManyFrames));
                }
                return Ok(());
            }
            let element = FrameSeed {
                batch: self.batch,
                mtu: self.mtu,
                index,
                failure: self.failure,
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// One element of a batch array: must be a string.
struct FrameSeed<'b> {
    batch: &'b mut FrameBatch,
    mtu: u16,
    index: usize,
    failure: &'b mut Option<BodyError>,
}

impl<'de> DeserializeSeed<'de> for FrameSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FrameSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame {} as a base64 string", self.index)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.batch.push_b64(s, self.mtu).map_err(|error| {
            let msg = error.to_string();
            *self.failure = Some(BodyError::Frame {
                index: Some(self.index),
                error,
            });
            E::custom(msg)
        })
    }
}

/// The exact length of the JSON string holding the base64 of `len` bytes.
fn encoded_json_len(len: usize) -> usize {
    len.div_ceil(3) * 4 + 2
}

/// Appends `frame` as a JSON string of standard padded base64 (no escaping is ever needed:
/// the base64 alphabet has no character JSON must escape).
pub fn push_json_b64(out: &mut String, frame: &[u8]) {
    out.reserve(encoded_json_len(frame.len()));
    out.push('"');
    STANDARD.encode_string(frame, out);
    out.push('"');
}

/// The body of `GET /recv`: one JSON string, `""` when there is no frame.
pub fn encode_one(frame: Option<&[u8]>) -> String {
    let mut out = String::with_capacity(frame.map_or(2, |f| encoded_json_len(f.len())));
    match frame {
        Some(f) => push_json_b64(&mut out, f),
        None => out.push_str("\"\""),
    }
    out
}

/// The body of `GET /recv?max=N`: a JSON array of strings, `[]` when there is none.
pub fn encode_many<'a>(frames: impl IntoIterator<Item = &'a [u8]> + Clone) -> String {
    let len: usize = frames
        .clone()
        .into_iter()
        .map(|f| encoded_json_len(f.len()) + 1)
        .sum();
    let mut out = String::with_capacity(len + 2);
    out.push('[');
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_b64(&mut out, frame);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    fn frame(len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f
    }

    fn err(body: &str) -> String {
        FrameBatch::parse(body.as_bytes(), 1500)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn one_string_and_arrays_round_trip() {
        let a = frame(60);
        let mut b = frame(1518);
        b[0] = 7;
        let one = FrameBatch::parse(format!("\"{}\"", b64(&a)).as_bytes(), 1500).unwrap();
        assert_eq!(one.iter().collect::<Vec<_>>(), vec![&a[..]]);
        let body = encode_many([&a[..], &b[..]]);
        let many = FrameBatch::parse(body.as_bytes(), 1500).unwrap();
        assert_eq!(many.len(), 2);
        assert_eq!(many.iter().collect::<Vec<_>>(), vec![&a[..], &b[..]]);
        let spaced = format!(" [ \"{}\" ,\n\"{}\" ] ", b64(&a), b64(&b));
        assert_eq!(FrameBatch::parse(spaced.as_bytes(), 1500).unwrap().len(), 2);
        assert!(FrameBatch::parse(b"[]", 1500).unwrap().is_empty());
        // JSON may escape '/' as "\/"; that is still the same string.
        let escaped = format!("\"{}\"", b64(&[0xff; 60]).replace('/', "\\/"));
        assert!(escaped.contains("\\/"));
        assert_eq!(
            FrameBatch::parse(escaped.as_bytes(), 1500)
                .unwrap()
                .iter()
                .next()
                .unwrap(),
            &[0xff; 60][..]
        );
    }

    #[test]
    fn encoders_write_the_contract() {
        assert_eq!(encode_one(None), "\"\"");
        assert_eq!(encode_one(Some(b"abc")), "\"YWJj\"");
        assert_eq!(encode_many(std::iter::empty::<&[u8]>()), "[]");
        assert_eq!(encode_many([&b"a"[..], b"ab"]), "[\"YQ==\",\"YWI=\"]");
        for len in 0..10 {
            assert_eq!(encode_one(Some(&vec![1; len])).len(), encoded_json_len(len));
        }
    }

    #[test]
    fn lengths_follow_mtu_and_vlan_tags() {
        assert_eq!(max_frame_len(1500, 0), 1518);
        assert_eq!(max_frame_len(1500, 1), 1518);
        assert_eq!(max_frame_len(1500, 2), 1522);
        assert_eq!(
            err(&format!("\"{}\"", b64(&frame(1519)))),
            "frame: 1519 bytes, longer than 1518 (MTU 1500 + 18 for a frame with 0 VLAN tags)"
        );
        let mut qinq = frame(1522);
        qinq[12..14].copy_from_slice(&[0x88, 0xa8]);
        qinq[16..18].copy_from_slice(&[0x81, 0x00]);
        assert!(FrameBatch::parse(format!("\"{}\"", b64(&qinq)).as_bytes(), 1500).is_ok());
        qinq.push(0);
        assert_eq!(
            err(&format!("[\"{}\"]", b64(&qinq))),
            "frame 0: 1523 bytes, longer than 1522 (MTU 1500 + 22 for a frame with 2 VLAN tags)"
        );
        let mut one_tag = frame(1519);
        one_tag[12..14].copy_from_slice(&[0x81, 0x00]);
        assert!(err(&format!("\"{}\"", b64(&one_tag))).contains("1 VLAN tag)"));
    }

    #[test]
    fn every_error_names_the_frame_and_the_reason() {
        let good = b64(&frame(60));
        assert_eq!(
            err(&format!(
                "[\"{good}\",\"{good}\",\"{good}\",\"{}\"]",
                b64(&[0; 9])
            )),
            "frame 3: 9 bytes, shorter than the 14-byte Ethernet header"
        );
        assert_eq!(
            err("\"\""),
            "frame: 0 bytes, shorter than the 14-byte Ethernet header"
        );
        assert_eq!(err("\"AAAAA!AA\""), "frame: base64: invalid byte '!' at 5");
        assert!(err("\"AAAAA\"").starts_with("frame: base64: "));
        assert!(
            err("\"AAAAAA\"").contains("padding"),
            "{}",
            err("\"AAAAAA\"")
        );
        assert!(err("\"AAAAAA=\"").starts_with("frame: base64: "));
        assert!(err("{").starts_with("body is not JSON: "), "{}", err("{"));
        assert!(err("").starts_with("body is not JSON: "));
        assert!(err(&format!("\"{good}\" x")).starts_with("body is not JSON: trailing"));
        assert!(err("12").starts_with("body must be a JSON string of base64 or an array"));
        assert!(err("{\"a\":1}").starts_with("body must be a JSON string"));
        assert!(
            err(&format!("[\"{good}\", 5]")).contains("expected frame 1 as a base64 string"),
            "{}",
            err(&format!("[\"{good}\", 5]"))
        );
        let too_many = format!("[{}]", vec![format!("\"{good}\""); MAX_BATCH + 1].join(","));
        assert_eq!(err(&too_many), "more than 4096 frames in one request");
        let just_enough = format!("[{}]", vec![format!("\"{good}\""); MAX_BATCH].join(","));
        assert_eq!(
            FrameBatch::parse(just_enough.as_bytes(), 1500)
                .unwrap()
                .len(),
            MAX_BATCH
        );
    }
}
