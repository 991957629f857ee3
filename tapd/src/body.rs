//! The wire format of the HTTP bodies: JSON strings holding standard padded base64 of one
//! Ethernet frame each (the contract of `POST /send` and `GET /recv`), or JSON arrays of them.
//!
//! An element of a `POST /send` array may also be an object `{"frame": "<base64>", "mss": N}`:
//! a TCP frame of up to 64 KiB that the kernel cuts into segments of N payload bytes (TCP
//! segmentation offload; `GET /info` gives the largest IP packet as `TSO`). It must be an
//! untagged IPv4 or IPv6 frame carrying TCP whose lengths agree, and each cut segment must fit
//! the MTU.
//!
//! Parsing decodes straight from the request body into one reusable byte buffer (no per-frame
//! allocation, no intermediate `Vec<String>`), and a problem is reported with the index of the
//! frame and what is wrong, e.g. `frame 3: 9 bytes, shorter than the 14-byte Ethernet header`.

use core::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proto_core::stack::Segmentation;
use proto_core::wire::ethernet::{EtherType, HEADER_LEN, MAX_VLAN_TAGS};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

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
    /// A `{"frame", "mss"}` object that cannot be segmented, and why.
    Segmentation(String),
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
            Self::Segmentation(why) => write!(f, "{why}"),
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
    /// How each frame is cut (TCP segmentation offload), `None` for most.
    segs: Vec<Option<Segmentation>>,
}

/// What frames a body may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The device's MTU.
    pub mtu: u16,
    /// The largest IP packet of a frame to segment (`{"frame", "mss"}`); 0: none accepted.
    pub tso: usize,
}

impl FrameBatch {
    /// Parses a `POST /send` body: a JSON string of base64, or an array of them. Every frame
    /// is checked against `mtu` before any is returned, so a batch is taken whole or not at all.
    pub fn parse(body: &[u8], mtu: u16) -> Result<Self, BodyError> {
        Self::parse_with(body, Limits { mtu, tso: 0 })
    }

    /// [`parse`](Self::parse), also taking `{"frame", "mss"}` objects up to `limits.tso`.
    pub fn parse_with(body: &[u8], limits: Limits) -> Result<Self, BodyError> {
        let mut batch = FrameBatch {
            data: Vec::with_capacity(body.len() / 4 * 3),
            ends: Vec::new(),
            segs: Vec::new(),
        };
        let mut failure = None;
        let mut de = serde_json::Deserializer::from_slice(body);
        let seed = BatchSeed {
            batch: &mut batch,
            limits,
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

    /// The frames in order, each with how the device must cut it (`None`: as it is).
    pub fn iter_segmented(&self) -> impl Iterator<Item = (&[u8], Option<Segmentation>)> + '_ {
        self.iter().zip(self.segs.iter().copied())
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
        self.decode(s)?;
        self.finish(start, mtu, None)
    }

    /// Appends the bytes of one base64 string (not yet a frame of the batch).
    fn decode(&mut self, s: &str) -> Result<(), FrameError> {
        let start = self.data.len();
        STANDARD.decode_vec(s, &mut self.data).map_err(|e| {
            self.data.truncate(start);
            FrameError::Base64(base64_error(e))
        })
    }

    /// Checks the bytes decoded from `start` on and makes them the next frame: within the
    /// MTU, or, with `mss` (and at most `tso` bytes of IP packet), a TCP frame to segment.
    fn finish(
        &mut self,
        start: usize,
        mtu: u16,
        mss: Option<(u16, usize)>,
    ) -> Result<(), FrameError> {
        let frame = &self.data[start..];
        let len = frame.len();
        if len < HEADER_LEN {
            return Err(FrameError::TooShort { len });
        }
        let tags = vlan_tags(frame);
        let max = max_frame_len(mtu, tags);
        let mut seg = None;
        if let Some((mss, tso)) = mss.filter(|_| len > HEADER_LEN + usize::from(mtu)) {
            if len > HEADER_LEN + tso {
                return Err(FrameError::Segmentation(format!(
                    "{len} bytes, longer than {} (the largest packet to segment, TSO {tso}, + {HEADER_LEN})",
                    HEADER_LEN + tso
                )));
            }
            seg = Some(
                Segmentation::check(frame, mss, usize::from(mtu)).map_err(|why| {
                    FrameError::Segmentation(format!(
                        "cannot segment {len} bytes at mss {mss} for MTU {mtu}: {why}"
                    ))
                })?,
            );
        } else if len > max {
            return Err(FrameError::TooLong {
                len,
                max,
                mtu,
                tags,
            });
        }
        self.ends.push(self.data.len());
        self.segs.push(seg);
        Ok(())
    }
}

/// Deserializes the body into a [`FrameBatch`]; the first problem found is left in `failure`
/// (serde's own error carries only text, and we want the frame's index and reason as data).
struct BatchSeed<'b> {
    batch: &'b mut FrameBatch,
    limits: Limits,
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
        let mtu = self.limits.mtu;
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
                limits: self.limits,
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

/// One element of a batch array: a string, or a `{"frame", "mss"}` object.
struct FrameSeed<'b> {
    batch: &'b mut FrameBatch,
    limits: Limits,
    index: usize,
    failure: &'b mut Option<BodyError>,
}

impl FrameSeed<'_> {
    fn fail<E: de::Error>(self, error: FrameError) -> E {
        let msg = error.to_string();
        *self.failure = Some(BodyError::Frame {
            index: Some(self.index),
            error,
        });
        E::custom(msg)
    }
}

impl<'de> DeserializeSeed<'de> for FrameSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// The keys of a `{"frame", "mss"}` object.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Frame,
    Mss,
}

/// The base64 string of a `{"frame", ...}` object, decoded into the batch's bytes.
struct Decode<'b>(&'b mut FrameBatch, &'b mut Option<FrameError>);

impl<'de> DeserializeSeed<'de> for Decode<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Decode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.0.decode(s).map_err(|e| {
            let msg = e.to_string();
            *self.1 = Some(e);
            E::custom(msg)
        })
    }
}

impl<'de> Visitor<'de> for FrameSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame {} as a base64 string or a {{\"frame\", \"mss\"}} object",
            self.index
        )
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        let mtu = self.limits.mtu;
        self.batch
            .push_b64(s, mtu)
            .map_err(|error| self.fail(error))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let start = self.batch.data.len();
        let mut decoded = false;
        let mut mss = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Frame if decoded => return Err(de::Error::duplicate_field("frame")),
                Key::Frame => {
                    let mut bad = None;
                    if let Err(e) = map.next_value_seed(Decode(self.batch, &mut bad)) {
                        return Err(match bad {
                            Some(error) => self.fail(error),
                            None => e,
                        });
                    }
                    decoded = true;
                }
                Key::Mss if mss.is_some() => return Err(de::Error::duplicate_field("mss")),
                Key::Mss => mss = Some(map.next_value::<u16>()?),
            }
        }
        if !decoded {
            self.batch.data.truncate(start);
            return Err(de::Error::missing_field("frame"));
        }
        let Limits { mtu, tso } = self.limits;
        if mss.is_some() && tso == 0 {
            self.batch.data.truncate(start);
            return Err(self.fail(FrameError::Segmentation(
                "\"mss\": segmentation offload is off on this daemon".into(),
            )));
        }
        let result = self.batch.finish(start, mtu, mss.map(|m| (m, tso)));
        result.map_err(|error| self.fail(error))
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

    /// An Ethernet + IPv4 + TCP (20-byte header) frame with `payload` bytes of data.
    fn tcp_frame(payload: usize) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20 + payload];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + payload) as u16;
        f[14] = 0x45;
        f[16..18].copy_from_slice(&total.to_be_bytes());
        f[14 + 9] = 6;
        f[14 + 20 + 12] = 5 << 4;
        f
    }

    fn parse_tso(body: &str) -> Result<FrameBatch, String> {
        FrameBatch::parse_with(
            body.as_bytes(),
            Limits {
                mtu: 1500,
                tso: 65_535,
            },
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn objects_carry_frames_to_segment() {
        let big = tcp_frame(1460 * 40);
        let body = format!(
            "[\"{}\", {{\"mss\": 1460, \"frame\": \"{}\"}}, {{\"frame\": \"{}\"}}]",
            b64(&frame(60)),
            b64(&big),
            b64(&frame(100))
        );
        let batch = parse_tso(&body).unwrap();
        let got: Vec<_> = batch.iter_segmented().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].0, &big[..]);
        assert_eq!(
            got[1].1,
            Some(Segmentation {
                mss: 1460,
                header_len: 54,
                ipv6: false
            })
        );
        assert_eq!((got[0].1, got[2].1), (None, None));
        // A frame within the MTU needs no cutting, mss or not.
        let small = format!("[{{\"frame\":\"{}\",\"mss\":1460}}]", b64(&tcp_frame(100)));
        assert_eq!(
            parse_tso(&small)
                .unwrap()
                .iter_segmented()
                .next()
                .unwrap()
                .1,
            None
        );
    }

    #[test]
    fn objects_that_cannot_be_segmented_say_why() {
        let big = b64(&tcp_frame(1460 * 4));
        let one = |mss: &str, frame: &str| format!("[{{\"frame\":\"{frame}\",\"mss\":{mss}}}]");
        assert_eq!(
            parse_tso(&one("1461", &big)).unwrap_err(),
            "frame 0: cannot segment 5894 bytes at mss 1461 for MTU 1500: a segment of mss bytes with its headers exceeds the MTU"
        );
        let mut udp = tcp_frame(1460 * 4);
        udp[14 + 9] = 17;
        assert!(
            parse_tso(&one("1460", &b64(&udp)))
                .unwrap_err()
                .ends_with(": not TCP")
        );
        let mut wrong_len = tcp_frame(1460 * 4);
        wrong_len.push(0);
        assert!(
            parse_tso(&one("1460", &b64(&wrong_len)))
                .unwrap_err()
                .ends_with("IPv4 total length is not the frame's")
        );
        assert!(
            parse_tso(&one("1460", &b64(&frame(3000))))
                .unwrap_err()
                .contains("cannot segment")
        );
        let huge = b64(&vec![0u8; 14 + 65_536]);
        assert!(
            parse_tso(&one("1460", &huge))
                .unwrap_err()
                .contains("longer than 65549"),
            "{}",
            parse_tso(&one("1460", &huge)).unwrap_err()
        );
        assert!(
            parse_tso("[{\"mss\": 1460}]")
                .unwrap_err()
                .contains("missing field `frame`")
        );
        assert!(
            parse_tso("[{\"frame\": \"AAAA\", \"x\": 1}]")
                .unwrap_err()
                .contains("unknown field `x`")
        );
        assert!(parse_tso(&one("-1", &big)).is_err());
        assert_eq!(
            parse_tso("[{\"frame\": \"AA!A\"}]").unwrap_err(),
            "frame 0: base64: invalid byte '!' at 2"
        );
        // Without offload (plain `parse`), objects with "mss" are refused.
        assert_eq!(
            err(&one("1460", &big)),
            "frame 0: \"mss\": segmentation offload is off on this daemon"
        );
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
