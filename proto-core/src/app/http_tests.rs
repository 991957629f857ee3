//! HTTP head parsing and chunked decoding: curl's and common servers' heads, every partial
//! prefix, each validation error's text.

extern crate std;
use std::string::ToString;
use std::vec::Vec;

use super::*;

/// What curl 8 sends for `curl -d hi http://10.0.0.1:8080/send`.
const CURL: &[u8] = b"POST /send HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Length: 2\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nhi";
/// A chunked response as hyper sends it.
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";

fn req(bytes: &[u8]) -> Result<Status<(BodyKind, usize)>> {
    let mut h = [EMPTY_HEADER; 8];
    parse_request(bytes, &mut h).map(|s| match s {
        Status::Complete(r) => Status::Complete((r.body, r.head_len)),
        Status::Partial => Status::Partial,
    })
}

fn req_err(bytes: &[u8]) -> std::string::String {
    req(bytes).unwrap_err().to_string()
}

#[test]
fn parses_curl_request_and_every_prefix_is_partial() {
    let mut h = [EMPTY_HEADER; 8];
    let Status::Complete(r) = parse_request(CURL, &mut h).unwrap() else {
        panic!()
    };
    assert_eq!(
        (r.method, r.target, r.version),
        ("POST", "/send", Version::Http11)
    );
    assert_eq!(r.headers.len(), 5);
    assert_eq!(r.header("host"), Some(&b"10.0.0.1:8080"[..]));
    assert_eq!(r.header("CONTENT-LENGTH"), Some(&b"2"[..]));
    assert_eq!(r.body, BodyKind::ContentLength(2));
    assert_eq!(&CURL[r.head_len..], b"hi");
    for len in 0..r.head_len {
        assert_eq!(req(&CURL[..len]).unwrap(), Status::Partial, "{len}");
    }
}

#[test]
fn parses_a_chunked_response_and_decodes_its_body() {
    let mut h = [EMPTY_HEADER; 8];
    let Status::Complete(r) = parse_response(CHUNKED, &mut h).unwrap() else {
        panic!()
    };
    assert_eq!(
        (r.version, r.status, r.reason),
        (Version::Http11, 200, "OK")
    );
    assert_eq!(r.body, BodyKind::Chunked);
    let body = &CHUNKED[r.head_len..];
    // Fed all at once, and one byte at a time.
    for step in [body.len(), 1, 3] {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let end = (at + step).min(body.len());
            let mut input = &body[at..end];
            while !input.is_empty() {
                let (used, data) = d.decode(input).unwrap();
                out.extend_from_slice(data);
                if used == 0 {
                    break;
                }
                input = &input[used..];
            }
            at = end;
        }
        assert!(d.is_done(), "step {step}");
        assert_eq!(out, b"hello world");
    }
}

#[test]
fn chunked_errors() {
    for (bytes, want) in [
        (
            &b"x\r\n"[..],
            "HTTP: chunk size byte 120 is invalid, expected hex digits",
        ),
        (
            b"5\r\nhelloX",
            "HTTP: chunk data end 88 is invalid, expected CRLF after the chunk data",
        ),
        (
            b"5\nhello",
            "HTTP: chunk size byte 10 is invalid, expected hex digits",
        ),
        (
            b"11111111111111111\r\n",
            "HTTP: chunk size digits: more than 16",
        ),
    ] {
        let mut d = ChunkedDecoder::new();
        let mut input = bytes;
        let e = loop {
            match d.decode(input) {
                Ok((used, _)) => input = &input[used..],
                Err(e) => break e,
            }
        };
        assert_eq!(e.to_string(), want);
    }
    // Bytes after the body are left alone.
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.decode(b"0\r\n\r\nGET").unwrap(), (5, &b""[..]));
    assert!(d.is_done());
}

#[test]
fn responses_without_bodies_and_close_delimited() {
    let mut h = [EMPTY_HEADER; 4];
    for (bytes, want) in [
        (
            &b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"[..],
            BodyKind::None,
        ),
        (b"HTTP/1.1 304 Not Modified\r\n\r\n", BodyKind::None),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", BodyKind::None),
        (b"HTTP/1.0 200 OK\r\n\r\n", BodyKind::UntilClose),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            BodyKind::UntilClose,
        ),
        (
            b"HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
            BodyKind::ContentLength(0),
        ),
        (
            b"HTTP/1.1 500\r\nContent-Length: 3, 3\r\n\r\n",
            BodyKind::ContentLength(3),
        ),
    ] {
        let Status::Complete(r) = parse_response(bytes, &mut h).unwrap() else {
            panic!()
        };
        assert_eq!(r.body, want, "{}", bytes.escape_ascii());
    }
}

#[test]
fn request_validation_errors_name_the_problem() {
    for (bytes, want) in [
        (&b"GE T / HTTP/1.1\r\n\r\n"[..], "HTTP: request target 84 is invalid, expected origin-form, absolute-form, authority-form for CONNECT or * for OPTIONS (RFC 9112 §3.2)"),
        (b"G(T / HTTP/1.1\r\n\r\n", "HTTP: method byte 40 is invalid, expected token characters (RFC 9110 §5.6.2)"),
        (b"GET /a\x01 HTTP/1.1\r\n\r\n", "HTTP: request target byte 1 is invalid, expected visible ASCII (RFC 9112 §3.2)"),
        (b"GET * HTTP/1.1\r\n\r\n", "HTTP: request target 42 is invalid, expected origin-form, absolute-form, authority-form for CONNECT or * for OPTIONS (RFC 9112 §3.2)"),
        (b"GET / HTTP/2.0\r\n\r\n", "HTTP: version 8 is invalid, expected HTTP/1.0 or HTTP/1.1 (length shown)"),
        (b"GET / HTTP/1.1\n\n", "HTTP: line ending 10 is invalid, expected CRLF, not a bare LF (RFC 9112 §2.2)"),
        (b"GET / HTTP/1.1\r\nA\rB: c\r\n\r\n", "HTTP: line ending 13 is invalid, expected CRLF, not a bare CR (RFC 9112 §2.2)"),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", "HTTP: header name 32 is invalid, expected no whitespace before the colon (RFC 9112 §5.1)"),
        (b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "HTTP: header line 32 is invalid, expected no obs-fold continuation (RFC 9112 §5.2)"),
        (b"GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n", "HTTP: header value byte 0 is invalid, expected no control characters (RFC 9110 §5.5)"),
        (b"GET / HTTP/1.1\r\nA@: b\r\n\r\n", "HTTP: header name byte 64 is invalid, expected token characters (RFC 9110 §5.6.2)"),
        (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "HTTP: header line 0 is invalid, expected a colon after the name"),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "HTTP: content-length 0 is invalid, expected one value, not several different ones (RFC 9112 §6.3)"),
        (b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "HTTP: content-length byte 45 is invalid, expected decimal digits"),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", "HTTP: content-length 0 is invalid, expected a value below 2^64"),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP: content-length 0 is invalid, expected not with transfer-encoding (RFC 9112 §6.3)"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "HTTP: transfer-encoding 0 is invalid, expected chunked as the last coding of a request (RFC 9112 §6.3)"),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP: transfer-encoding 0 is invalid, expected absent in HTTP/1.0 (RFC 9112 §6.1)"),
        (b"GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\nf:6\r\ng:7\r\nh:8\r\ni:9\r\n\r\n", "HTTP: header fields: more than 8"),
    ] {
        assert_eq!(req_err(bytes), want, "{}", bytes.escape_ascii());
    }
}

#[test]
fn accepted_request_forms() {
    for (bytes, body) in [
        (
            &b"\r\nGET http://example.com/x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"[..],
            BodyKind::None,
        ),
        (b"CONNECT example.com:443 HTTP/1.1\r\n\r\n", BodyKind::None),
        (b"OPTIONS * HTTP/1.1\r\n\r\n", BodyKind::None),
        (
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
            BodyKind::Chunked,
        ),
        (
            b"PUT /x HTTP/1.0\r\nContent-Length:  10 \r\nX: \t\r\n\r\n",
            BodyKind::ContentLength(10),
        ),
    ] {
        assert!(
            matches!(req(bytes).unwrap(), Status::Complete((b, _)) if b == body),
            "{}",
            bytes.escape_ascii()
        );
    }
    let mut h = [EMPTY_HEADER; 4];
    let Status::Complete(r) =
        parse_request(b"GET / HTTP/1.1\r\nX:  a b \t\r\nY:\r\n\r\n", &mut h).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.header("x"), Some(&b"a b"[..]));
    assert_eq!(r.header("y"), Some(&b""[..]));
}

#[test]
fn long_heads_are_refused() {
    let mut big = Vec::from(&b"GET / HTTP/1.1\r\nX: "[..]);
    big.resize(MAX_HEAD_LEN + 10, b'a');
    assert_eq!(
        req_err(&big),
        std::format!(
            "HTTP: head length {} > limit {MAX_HEAD_LEN}",
            MAX_HEAD_LEN + 10
        )
    );
    let mut h = [EMPTY_HEADER; 4];
    assert!(parse_response(&big, &mut h).is_err());
    // Malformed status lines.
    for bytes in [
        &b"HTTP/1.1 20 OK\r\n\r\n"[..],
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 O\x01K\r\n\r\n",
    ] {
        assert!(
            parse_response(bytes, &mut h).is_err(),
            "{}",
            bytes.escape_ascii()
        );
    }
}
