//! HTTP/1.x (RFC 9112): the request or status line and the header fields of a TCP payload
//! that starts with a method or `HTTP/1.`. One segment is dissected on its own (no stream
//! reassembly); a body is shown as bytes.

use super::{Class, Layer, Out, Value};

const L: Layer = Layer::Http;

/// The most header lines dissected in one segment.
const MAX_HEADERS: usize = 128;

const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// tshark's names of common header fields.
fn header_name(name: &[u8]) -> (&'static str, &'static str) {
    const KNOWN: [(&str, &str, &str); 12] = [
        ("host", "http.host", "Host"),
        ("user-agent", "http.user_agent", "User-Agent"),
        ("accept", "http.accept", "Accept"),
        (
            "content-length",
            "http.content_length_header",
            "Content-Length",
        ),
        ("content-type", "http.content_type", "Content-Type"),
        ("server", "http.server", "Server"),
        ("date", "http.date", "Date"),
        ("connection", "http.connection", "Connection"),
        ("last-modified", "http.last_modified", "Last-Modified"),
        ("location", "http.location", "Location"),
        (
            "transfer-encoding",
            "http.transfer_encoding",
            "Transfer-Encoding",
        ),
        ("cookie", "http.cookie", "Cookie"),
    ];
    for (lower, field, label) in KNOWN {
        if name.eq_ignore_ascii_case(lower.as_bytes()) {
            return (field, label);
        }
    }
    ("http.header.value", "Header value")
}

fn text(start: usize, len: usize) -> Value {
    Value::Str {
        start: start as u32,
        len: len as u32,
    }
}

/// The index of the next CRLF (or bare LF) at or after `from`: (line end, next line start).
fn line_end(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let lf = bytes[from..].iter().position(|&b| b == b'\n')? + from;
    let end = if lf > from && bytes[lf - 1] == b'\r' {
        lf - 1
    } else {
        lf
    };
    Some((end, lf + 1))
}

/// Dissects an HTTP/1.x message at byte `at` of the frame if `bytes` starts like one, or
/// as the continuation of a body if `http_port` (the segment is to or from an HTTP port:
/// without reassembly it can only be the rest of a message); returns false (and adds
/// nothing) otherwise.
pub(crate) fn http(out: &mut Out<'_, '_>, at: usize, bytes: &[u8], http_port: bool) -> bool {
    let response = bytes.starts_with(b"HTTP/1.");
    if !response && !METHODS.iter().any(|m| bytes.starts_with(m)) {
        if !http_port {
            return false;
        }
        out.layer(L, at, bytes.len());
        let v = Value::Bytes {
            start: at as u32,
            len: bytes.len() as u32,
        };
        out.add(
            1,
            L,
            "http.file_data",
            "File Data",
            v,
            at,
            bytes.len(),
            Class::Payload,
        );
        return true;
    }
    out.layer(L, at, bytes.len());
    let (end, mut next) = line_end(bytes, 0).unwrap_or((bytes.len(), bytes.len()));
    first_line(out, at, &bytes[..end], response);
    let line_name = if response {
        "http.response.line"
    } else {
        "http.request.line"
    };
    let mut headers_done = false;
    for _ in 0..MAX_HEADERS {
        if next >= bytes.len() || out.is_full() {
            break;
        }
        let Some((end, after)) = line_end(bytes, next) else {
            // A header cut by the end of the segment.
            let v = text(at + next, bytes.len() - next);
            out.add(
                1,
                L,
                line_name,
                "Header (partial)",
                v,
                at + next,
                bytes.len() - next,
                Class::Text,
            );
            next = bytes.len();
            break;
        };
        if end == next {
            headers_done = true;
            next = after;
            break;
        }
        let line = &bytes[next..end];
        let v = text(at + next, line.len());
        out.add(
            1,
            L,
            line_name,
            "Header",
            v,
            at + next,
            after - next,
            Class::Text,
        );
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let (name, label) = header_name(&line[..colon]);
            let mut vs = colon + 1;
            while line.get(vs).is_some_and(|b| *b == b' ' || *b == b'\t') {
                vs += 1;
            }
            let v = text(at + next + vs, line.len() - vs);
            out.add(
                2,
                L,
                name,
                label,
                v,
                at + next + vs,
                line.len() - vs,
                Class::Text,
            );
        }
        next = after;
    }
    if headers_done && next < bytes.len() {
        let v = Value::Bytes {
            start: (at + next) as u32,
            len: (bytes.len() - next) as u32,
        };
        out.add(
            1,
            L,
            "http.file_data",
            "File Data",
            v,
            at + next,
            bytes.len() - next,
            Class::Payload,
        );
    }
    true
}

/// The request line (`GET /path HTTP/1.1`) or status line (`HTTP/1.1 200 OK`).
fn first_line(out: &mut Out<'_, '_>, at: usize, line: &[u8], response: bool) {
    let (group, names) = if response {
        (
            "http.response.first_line",
            [
                ("http.response.version", "Response Version"),
                ("http.response.code", "Status Code"),
                ("http.response.phrase", "Response Phrase"),
            ],
        )
    } else {
        (
            "http.request.first_line",
            [
                ("http.request.method", "Request Method"),
                ("http.request.uri", "Request URI"),
                ("http.request.version", "Request Version"),
            ],
        )
    };
    let label = if response {
        "Status line"
    } else {
        "Request line"
    };
    out.add(
        1,
        L,
        group,
        label,
        text(at, line.len()),
        at,
        line.len(),
        Class::Text,
    );
    // Three parts split at the first two spaces; the last (a reason phrase) may hold spaces.
    let mut start = 0;
    for (i, (name, label)) in names.into_iter().enumerate() {
        if start > line.len() {
            break;
        }
        let end = if i == 2 {
            line.len()
        } else {
            line[start..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(line.len(), |p| start + p)
        };
        let part = &line[start..end];
        let value = if response && i == 1 {
            match core::str::from_utf8(part)
                .ok()
                .and_then(|s| s.parse::<u16>().ok())
            {
                Some(code) => Value::U64(code.into()),
                None => text(at + start, part.len()),
            }
        } else {
            text(at + start, part.len())
        };
        let class = if response && i == 1 {
            Class::Number
        } else {
            Class::Text
        };
        out.add(2, L, name, label, value, at + start, part.len(), class);
        start = end + 1;
    }
}
