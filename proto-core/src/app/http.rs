//! HTTP/1.1 message heads (RFC 9112 §2-§6, field syntax of RFC 9110 §5) parsed into caller
//! storage, strictly, and an incremental chunked-body decoder (RFC 9112 §7.1).
//!
//! [`parse_request`] and [`parse_response`] take the bytes received so far and a slice of
//! [`Header`]s to fill; they return [`Status::Partial`] until the head's empty line has
//! arrived, then the parsed head, its length and how the body is framed ([`BodyKind`]).
//! Nothing allocates. Refused, each with an error naming the problem:
//!
//! - a method or header name that is not a token, a request target with a byte outside
//!   visible ASCII or of the wrong form for its method, a version other than `HTTP/1.0` or
//!   `HTTP/1.1`, a status code that is not three digits;
//! - a bare CR or LF as a line ending, whitespace before a header's colon (RFC 9112 §5.1),
//!   obs-fold (RFC 9112 §5.2), a control character in a value;
//! - more headers than the slice holds, a head longer than [`MAX_HEAD_LEN`];
//! - framing conflicts (RFC 9112 §6.3): `Content-Length` not a number, or several different
//!   ones; `Transfer-Encoding` together with `Content-Length`; in a request, a
//!   `Transfer-Encoding` whose last coding is not `chunked`; `Transfer-Encoding` in an HTTP/1.0
//!   message (RFC 9112 §6.1).
//!
//! ```
//! use proto_core::app::http::{parse_request, BodyKind, Header, Status, EMPTY_HEADER};
//! let mut headers = [EMPTY_HEADER; 16];
//! let bytes = b"POST /send HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
//! let Status::Complete(req) = parse_request(bytes, &mut headers).unwrap() else { panic!() };
//! assert_eq!((req.method, req.target), ("POST", "/send"));
//! assert_eq!(req.body, BodyKind::ContentLength(2));
//! assert_eq!(&bytes[req.head_len..], b"hi");
//! ```

use crate::wire::{Error, Proto, Result};

/// The longest head accepted (request or status line, headers and the empty line).
pub const MAX_HEAD_LEN: usize = 16 * 1024;

/// One header field: its name (a token) and value (surrounding whitespace removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'b> {
    /// The name, as sent (compare with `eq_ignore_ascii_case`).
    pub name: &'b str,
    /// The value: visible ASCII, spaces, tabs and obs-text bytes.
    pub value: &'b [u8],
}

/// An unused header slot, to fill arrays with.
pub const EMPTY_HEADER: Header<'static> = Header {
    name: "",
    value: b"",
};

/// Whether the head is all there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// The head, parsed.
    Complete(T),
    /// More bytes are needed (nothing wrong so far).
    Partial,
}

/// The protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
}

/// How the body after the head is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// No body (a request without framing headers; a 1xx, 204 or 304 response).
    None,
    /// Exactly this many bytes.
    ContentLength(u64),
    /// Chunked ([`ChunkedDecoder`]).
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
}

/// A parsed request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'b, 'h> {
    /// The method (a token).
    pub method: &'b str,
    /// The request target.
    pub target: &'b str,
    /// The version.
    pub version: Version,
    /// The header fields, in order.
    pub headers: &'h [Header<'b>],
    /// The length of the head; the body starts there.
    pub head_len: usize,
    /// How the body is framed.
    pub body: BodyKind,
}

/// A parsed response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'b, 'h> {
    /// The version.
    pub version: Version,
    /// The status code (100-999).
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: &'b str,
    /// The header fields, in order.
    pub headers: &'h [Header<'b>],
    /// The length of the head.
    pub head_len: usize,
    /// How the body is framed, assuming the request was not HEAD (whose response never has
    /// one) nor a successful CONNECT.
    pub body: BodyKind,
}

impl<'b> Request<'b, '_> {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        find(self.headers, name)
    }
}

impl<'b> Response<'b, '_> {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        find(self.headers, name)
    }
}

fn find<'b>(headers: &[Header<'b>], name: &str) -> Option<&'b [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

fn err(field: &'static str, value: u32, expected: &'static str) -> Error {
    Error::invalid(Proto::Http, field, value, expected)
}

/// tchar (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn token<'b>(bytes: &'b [u8], field: &'static str) -> Result<&'b str> {
    if bytes.is_empty() {
        return Err(err(field, 0, "a non-empty token (RFC 9110 §5.6.2)"));
    }
    if let Some(&b) = bytes.iter().find(|&&b| !is_tchar(b)) {
        return Err(err(field, b.into(), "token characters (RFC 9110 §5.6.2)"));
    }
    // Token characters are ASCII.
    core::str::from_utf8(bytes).map_err(|_| err(field, 0, "ASCII"))
}

/// Splits off the next line (without its CRLF); `None` when it has not all arrived.
fn next_line(buf: &[u8], at: usize) -> Result<Option<(&[u8], usize)>> {
    let rest = &buf[at..];
    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_HEAD_LEN {
            return Err(Error::above(
                Proto::Http,
                "head length",
                buf.len(),
                "limit",
                MAX_HEAD_LEN,
            ));
        }
        return Ok(None);
    };
    if at + lf + 1 > MAX_HEAD_LEN {
        return Err(Error::above(
            Proto::Http,
            "head length",
            at + lf + 1,
            "limit",
            MAX_HEAD_LEN,
        ));
    }
    // RFC 9112 §2.2: CRLF only; a bare LF or a CR elsewhere in the line is refused.
    if lf == 0 || rest[lf - 1] != b'\r' {
        return Err(err(
            "line ending",
            u32::from(b'\n'),
            "CRLF, not a bare LF (RFC 9112 §2.2)",
        ));
    }
    let line = &rest[..lf - 1];
    if line.contains(&b'\r') {
        return Err(err(
            "line ending",
            u32::from(b'\r'),
            "CRLF, not a bare CR (RFC 9112 §2.2)",
        ));
    }
    Ok(Some((line, at + lf + 1)))
}

fn version(bytes: &[u8]) -> Result<Version> {
    match bytes {
        b"HTTP/1.1" => Ok(Version::Http11),
        b"HTTP/1.0" => Ok(Version::Http10),
        _ => Err(err(
            "version",
            bytes.len() as u32,
            "HTTP/1.0 or HTTP/1.1 (length shown)",
        )),
    }
}

/// Parses the header lines from `at` into `slots`; returns how many and the head's end.
fn headers<'b>(
    buf: &'b [u8],
    mut at: usize,
    slots: &mut [Header<'b>],
) -> Result<Option<(usize, usize)>> {
    let mut n = 0;
    loop {
        let Some((line, next)) = next_line(buf, at)? else {
            return Ok(None);
        };
        at = next;
        if line.is_empty() {
            return Ok(Some((n, at)));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(err(
                "header line",
                u32::from(line[0]),
                "no obs-fold continuation (RFC 9112 §5.2)",
            ));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| err("header line", 0, "a colon after the name"))?;
        let name = &line[..colon];
        if name.last().is_some_and(|&b| b == b' ' || b == b'\t') {
            return Err(err(
                "header name",
                u32::from(b' '),
                "no whitespace before the colon (RFC 9112 §5.1)",
            ));
        }
        let name = token(name, "header name byte")?;
        let value = trim_ows(&line[colon + 1..]);
        if let Some(&b) = value
            .iter()
            .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(err(
                "header value byte",
                b.into(),
                "no control characters (RFC 9110 §5.5)",
            ));
        }
        let slot = slots
            .get_mut(n)
            .ok_or_else(|| Error::too_many(Proto::Http, "header fields", n))?;
        *slot = Header { name, value };
        n += 1;
    }
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The framing headers: `Content-Length` (agreed value) and whether the last
/// `Transfer-Encoding` coding is chunked (`Some(false)`: present, not chunked).
fn framing(headers: &[Header<'_>], version: Version) -> Result<(Option<u64>, Option<bool>)> {
    let mut length: Option<u64> = None;
    let mut chunked: Option<bool> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            // RFC 9110 §8.6: a list of identical values may be taken as one.
            for part in h.value.split(|&b| b == b',') {
                let v = parse_length(trim_ows(part))?;
                if length.is_some_and(|l| l != v) {
                    return Err(err(
                        "content-length",
                        0,
                        "one value, not several different ones (RFC 9112 §6.3)",
                    ));
                }
                length = Some(v);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if version == Version::Http10 {
                return Err(err(
                    "transfer-encoding",
                    0,
                    "absent in HTTP/1.0 (RFC 9112 §6.1)",
                ));
            }
            let mut last = None;
            for coding in h.value.split(|&b| b == b',') {
                let coding = trim_ows(coding);
                if coding.is_empty() {
                    continue;
                }
                // A coding is a token, perhaps with parameters.
                let name = coding
                    .split(|&b| b == b';')
                    .next()
                    .map(trim_ows)
                    .unwrap_or_default();
                token(name, "transfer coding byte")?;
                last = Some(name.eq_ignore_ascii_case(b"chunked"));
            }
            if let Some(last) = last {
                chunked = Some(last);
            }
        }
    }
    if chunked.is_some() && length.is_some() {
        return Err(err(
            "content-length",
            0,
            "not with transfer-encoding (RFC 9112 §6.3)",
        ));
    }
    Ok((length, chunked))
}

fn parse_length(v: &[u8]) -> Result<u64> {
    if v.is_empty() {
        return Err(err("content-length", 0, "decimal digits"));
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return Err(err("content-length byte", b.into(), "decimal digits"));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| err("content-length", 0, "a value below 2^64"))?;
    }
    Ok(n)
}

/// Parses a request head from `buf` into `headers` (see the module doc).
pub fn parse_request<'b, 'h>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
) -> Result<Status<Request<'b, 'h>>> {
    // RFC 9112 §2.2: empty lines before the request line are ignored (at most a few).
    let mut at = 0;
    for _ in 0..4 {
        if buf[at..].starts_with(b"\r\n") {
            at += 2;
        }
    }
    let Some((line, at)) = next_line(buf, at)? else {
        return Ok(Status::Partial);
    };
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(method), Some(target), Some(ver)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err(
            "request line",
            0,
            "method SP request-target SP version (RFC 9112 §3)",
        ));
    };
    let method = token(method, "method byte")?;
    let target = request_target(method, target)?;
    let version = version(ver)?;
    let Some((n, head_len)) = self::headers(buf, at, headers)? else {
        return Ok(Status::Partial);
    };
    let headers = &headers[..n];
    let body = match framing(headers, version)? {
        (_, Some(true)) => BodyKind::Chunked,
        (_, Some(false)) => {
            return Err(err(
                "transfer-encoding",
                0,
                "chunked as the last coding of a request (RFC 9112 §6.3)",
            ));
        }
        (Some(len), None) => BodyKind::ContentLength(len),
        (None, None) => BodyKind::None,
    };
    Ok(Status::Complete(Request {
        method,
        target,
        version,
        headers,
        head_len,
        body,
    }))
}

/// Checks the request target's bytes and form (RFC 9112 §3.2).
fn request_target<'b>(method: &str, target: &'b [u8]) -> Result<&'b str> {
    if target.is_empty() {
        return Err(err("request target", 0, "non-empty"));
    }
    if let Some(&b) = target.iter().find(|&&b| !(0x21..=0x7e).contains(&b)) {
        return Err(err(
            "request target byte",
            b.into(),
            "visible ASCII (RFC 9112 §3.2)",
        ));
    }
    let form_ok = if method == "CONNECT" {
        // authority-form: host:port.
        !target.contains(&b'/') && target.contains(&b':')
    } else if target == b"*" {
        method == "OPTIONS"
    } else {
        target[0] == b'/' || target.windows(3).any(|w| w == b"://")
    };
    if !form_ok {
        return Err(err(
            "request target",
            u32::from(target[0]),
            "origin-form, absolute-form, authority-form for CONNECT or * for OPTIONS (RFC 9112 §3.2)",
        ));
    }
    core::str::from_utf8(target).map_err(|_| err("request target", 0, "ASCII"))
}

/// Parses a response head from `buf` into `headers` (see the module doc).
pub fn parse_response<'b, 'h>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
) -> Result<Status<Response<'b, 'h>>> {
    let Some((line, at)) = next_line(buf, 0)? else {
        return Ok(Status::Partial);
    };
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(ver), Some(code)) = (parts.next(), parts.next()) else {
        return Err(err(
            "status line",
            0,
            "version SP status-code SP reason (RFC 9112 §4)",
        ));
    };
    let version = version(ver)?;
    let status = match code {
        [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => {
            return Err(err(
                "status code",
                code.len() as u32,
                "three digits (length shown)",
            ));
        }
    };
    let reason = parts.next().unwrap_or_default();
    if let Some(&b) = reason
        .iter()
        .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(err("reason phrase byte", b.into(), "no control characters"));
    }
    let reason = core::str::from_utf8(reason).unwrap_or("");
    let Some((n, head_len)) = self::headers(buf, at, headers)? else {
        return Ok(Status::Partial);
    };
    let headers = &headers[..n];
    let (length, chunked) = framing(headers, version)?;
    // RFC 9112 §6.3, items 1-7.
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        BodyKind::None
    } else {
        match (chunked, length) {
            (Some(true), _) => BodyKind::Chunked,
            (Some(false), _) => BodyKind::UntilClose,
            (None, Some(len)) => BodyKind::ContentLength(len),
            (None, None) => BodyKind::UntilClose,
        }
    };
    Ok(Status::Complete(Response {
        version,
        status,
        reason,
        headers,
        head_len,
        body,
    }))
}

/// The most hex digits of a chunk size (2^64 - 1).
const MAX_SIZE_DIGITS: u8 = 16;
/// The longest chunk extension or trailer line accepted.
const MAX_LINE: u16 = 4096;
/// The most trailer fields accepted.
const MAX_TRAILERS: u8 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size { value: u64, digits: u8 },
    Ext { value: u64, len: u16 },
    SizeLf { value: u64 },
    Data { left: u64 },
    DataCr,
    DataLf,
    Trailer { len: u16, count: u8 },
    TrailerLf { len: u16, count: u8 },
    Done,
}

/// Decodes a chunked body incrementally (RFC 9112 §7.1) without copying: feed it bytes as
/// they arrive; it returns how many it consumed and the body data among them. Chunk
/// extensions and trailer fields are skipped (bounded to 4 KiB a line, 64 trailers).
///
/// ```
/// use proto_core::app::http::ChunkedDecoder;
/// let mut d = ChunkedDecoder::new();
/// let mut input: &[u8] = b"3\r\nabc\r\n0\r\n\r\n";
/// let mut body = Vec::new();
/// while !input.is_empty() {
///     let (used, data) = d.decode(input).unwrap();
///     body.extend_from_slice(data);
///     input = &input[used..];
/// }
/// assert!(d.is_done());
/// assert_eq!(body, b"abc");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: Chunk,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub const fn new() -> Self {
        Self {
            state: Chunk::Size {
                value: 0,
                digits: 0,
            },
        }
    }

    /// True after the last chunk and the trailer section.
    pub fn is_done(&self) -> bool {
        self.state == Chunk::Done
    }

    /// Consumes framing from `input` up to the next data (or the end of `input`); returns the
    /// bytes consumed and the data slice among them (possibly empty). Bytes after the end of
    /// the body are not consumed.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8])> {
        let mut at = 0;
        while at < input.len() {
            let b = input[at];
            if let Chunk::Data { left } = self.state {
                let n = (input.len() - at).min(usize::try_from(left).unwrap_or(usize::MAX));
                let left = left - n as u64;
                self.state = if left == 0 {
                    Chunk::DataCr
                } else {
                    Chunk::Data { left }
                };
                return Ok((at + n, &input[at..at + n]));
            }
            if self.state == Chunk::Done {
                break;
            }
            self.state = self.step(b)?;
            at += 1;
        }
        Ok((at, &[]))
    }

    /// One framing byte.
    fn step(&self, b: u8) -> Result<Chunk> {
        let line_too_long = || {
            Error::above(
                Proto::Http,
                "chunk line",
                usize::from(MAX_LINE) + 1,
                "limit",
                MAX_LINE.into(),
            )
        };
        Ok(match self.state {
            Chunk::Size { value, digits } => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    if digits == MAX_SIZE_DIGITS {
                        return Err(Error::too_many(
                            Proto::Http,
                            "chunk size digits",
                            MAX_SIZE_DIGITS.into(),
                        ));
                    }
                    let d = (b as char).to_digit(16).unwrap_or(0);
                    Chunk::Size {
                        value: (value << 4) | u64::from(d),
                        digits: digits + 1,
                    }
                }
                _ if digits == 0 => return Err(err("chunk size byte", b.into(), "hex digits")),
                b';' | b' ' | b'\t' => Chunk::Ext { value, len: 0 },
                b'\r' => Chunk::SizeLf { value },
                _ => return Err(err("chunk size byte", b.into(), "hex digits")),
            },
            Chunk::Ext { value, len } => match b {
                b'\r' => Chunk::SizeLf { value },
                b'\n' => return Err(err("line ending", b.into(), "CRLF after a chunk size")),
                _ if len >= MAX_LINE => return Err(line_too_long()),
                _ => Chunk::Ext {
                    value,
                    len: len + 1,
                },
            },
            Chunk::SizeLf { value } => {
                if b != b'\n' {
                    return Err(err("line ending", b.into(), "CRLF after a chunk size"));
                }
                match value {
                    0 => Chunk::Trailer { len: 0, count: 0 },
                    left => Chunk::Data { left },
                }
            }
            Chunk::Data { .. } | Chunk::Done => self.state,
            Chunk::DataCr if b == b'\r' => Chunk::DataLf,
            Chunk::DataLf if b == b'\n' => Chunk::Size {
                value: 0,
                digits: 0,
            },
            Chunk::DataCr | Chunk::DataLf => {
                return Err(err("chunk data end", b.into(), "CRLF after the chunk data"));
            }
            Chunk::Trailer { len, count } => match b {
                b'\r' => Chunk::TrailerLf { len, count },
                b'\n' => return Err(err("line ending", b.into(), "CRLF in the trailer section")),
                _ if len >= MAX_LINE => return Err(line_too_long()),
                _ => Chunk::Trailer {
                    len: len + 1,
                    count,
                },
            },
            Chunk::TrailerLf { len, count } => {
                if b != b'\n' {
                    return Err(err("line ending", b.into(), "CRLF in the trailer section"));
                }
                if len == 0 {
                    Chunk::Done
                } else if count >= MAX_TRAILERS {
                    return Err(Error::too_many(
                        Proto::Http,
                        "trailer fields",
                        MAX_TRAILERS.into(),
                    ));
                } else {
                    Chunk::Trailer {
                        len: 0,
                        count: count + 1,
                    }
                }
            }
        })
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
