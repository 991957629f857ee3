//! DNS messages (RFC 1035 §4, EDNS(0) RFC 6891, AAAA RFC 3596), walked here for the offset
//! of every field. Names with compression pointers (RFC 1035 §4.1.4) are followed with a hop
//! limit, so a loop of pointers ends.

use core::fmt::{self, Write};

use super::{Class, Layer, Out, ProblemKind, Value, get16, get32};

const L: Layer = Layer::Dns;

/// The most compression pointers followed in one name.
const MAX_POINTERS: usize = 16;
/// The most labels in one name (a name is at most 255 bytes, so at most 127 labels).
const MAX_LABELS: usize = 128;

/// The name of a DNS RR type.
pub(crate) fn type_name(t: u16) -> &'static str {
    match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        41 => "OPT",
        65 => "HTTPS",
        255 => "ANY",
        _ => "unknown",
    }
}

/// The length of the name at `at` of `msg` as it sits there: up to and including its root
/// label or its first compression pointer. `None` if it runs past the end or has a reserved
/// label type.
fn name_len(msg: &[u8], at: usize) -> Option<usize> {
    let mut pos = at;
    // Each label takes at least one byte, so the loop is bounded by the message length.
    loop {
        let len = *msg.get(pos)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(pos + 1 - at),
            0x00 => {
                pos += 1 + usize::from(len);
                if pos > msg.len() {
                    return None;
                }
            }
            0xc0 => {
                msg.get(pos + 1)?;
                return Some(pos + 2 - at);
            }
            _ => return None,
        }
    }
}

/// Writes the DNS name at byte `at` of `frame`, in the DNS message starting at byte `msg`
/// of `frame`, dotted (`www.example.com`; `<Root>` for the root). Compression pointers are
/// followed at most 16 times and at most 128 labels are written; a name that breaks a rule
/// ends with `<bad name>`.
pub fn write_name<W: Write + ?Sized>(
    frame: &[u8],
    msg: usize,
    at: usize,
    w: &mut W,
) -> fmt::Result {
    let message = frame.get(msg..).unwrap_or(&[]);
    let mut pos = at.wrapping_sub(msg);
    let mut pointers = 0;
    let mut labels = 0;
    loop {
        let Some(&len) = message.get(pos) else {
            return w.write_str("<bad name>");
        };
        match len & 0xc0 {
            0x00 if len == 0 => {
                if labels == 0 {
                    w.write_str("<Root>")?;
                }
                return Ok(());
            }
            0x00 => {
                let Some(label) = message.get(pos + 1..pos + 1 + usize::from(len)) else {
                    return w.write_str("<bad name>");
                };
                if labels > 0 {
                    w.write_char('.')?;
                }
                labels += 1;
                if labels > MAX_LABELS {
                    return w.write_str("<bad name>");
                }
                for &b in label {
                    if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                        w.write_char(b.into())?;
                    } else {
                        write!(w, "\\{b:03}")?;
                    }
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                pointers += 1;
                let Some(low) = message.get(pos + 1) else {
                    return w.write_str("<bad name>");
                };
                if pointers > MAX_POINTERS {
                    return w.write_str("<bad name>");
                }
                pos = usize::from(len & 0x3f) << 8 | usize::from(*low);
            }
            _ => return w.write_str("<bad name>"),
        }
    }
}

/// Flag bits of the DNS header's second word: (name, label, bit, width).
const FLAGS: [(&str, &str, usize, usize); 10] = [
    ("dns.flags.response", "Response", 0, 1),
    ("dns.flags.opcode", "Opcode", 1, 4),
    ("dns.flags.authoritative", "Authoritative", 5, 1),
    ("dns.flags.truncated", "Truncated", 6, 1),
    ("dns.flags.recdesired", "Recursion desired", 7, 1),
    ("dns.flags.recavail", "Recursion available", 8, 1),
    ("dns.flags.z", "Z", 9, 1),
    ("dns.flags.authenticated", "Answer authenticated", 10, 1),
    ("dns.flags.checkdisable", "Non-authenticated data", 11, 1),
    ("dns.flags.rcode", "Reply code", 12, 4),
];

/// Dissects a DNS message at byte `at` of the frame.
pub(crate) fn dns(out: &mut Out<'_, '_>, at: usize, msg: &[u8]) {
    out.layer(L, at, msg.len());
    if msg.len() < 12 {
        out.problem(L, "dns.header", ProblemKind::Truncated);
        return;
    }
    let word = |i: usize| get16(msg, i).unwrap_or(0);
    out.add(
        1,
        L,
        "dns.id",
        "Transaction ID",
        Value::U64(word(0).into()),
        at,
        2,
        Class::Id,
    );
    let flags = word(2);
    let fv = Value::U64(flags.into());
    out.add(1, L, "dns.flags", "Flags", fv, at + 2, 2, Class::Flags);
    let response = flags & 0x8000 != 0;
    for (name, label, bit, width) in FLAGS {
        // A query's AA, RA and RCODE bits mean nothing (RFC 1035 §4.1.1): shown for responses.
        if !response && matches!(bit, 5 | 8 | 12) {
            continue;
        }
        let v = (flags >> (16 - bit - width)) & ((1 << width) - 1);
        let (value, class) = if width == 1 {
            (Value::Bool(v != 0), Class::Flag)
        } else {
            (Value::U64(v.into()), Class::Type)
        };
        out.add_bits(2, L, name, label, value, (at + 2) * 8 + bit, width, class);
    }
    let counts = [
        ("dns.count.queries", "Questions"),
        ("dns.count.answers", "Answer RRs"),
        ("dns.count.auth_rr", "Authority RRs"),
        ("dns.count.add_rr", "Additional RRs"),
    ];
    for (i, (name, label)) in counts.into_iter().enumerate() {
        let v = Value::U64(word(4 + 2 * i).into());
        out.add(1, L, name, label, v, at + 4 + 2 * i, 2, Class::Length);
    }
    let mut pos = 12;
    for _ in 0..word(4) {
        match question(out, at, msg, pos) {
            Some(next) => pos = next,
            None => return,
        }
    }
    let sections = [word(6), word(8), word(10)];
    for count in sections {
        for _ in 0..count {
            if out.is_full() {
                return;
            }
            match record(out, at, msg, pos) {
                Some(next) => pos = next,
                None => return,
            }
        }
    }
}

/// One question at `pos` of the message; returns the position after it.
fn question(out: &mut Out<'_, '_>, at: usize, msg: &[u8], pos: usize) -> Option<usize> {
    let Some(nl) = name_len(msg, pos).filter(|n| pos + n + 4 <= msg.len()) else {
        out.problem(L, "dns.qry", ProblemKind::Truncated);
        return None;
    };
    let a = at + pos;
    let name = Value::Name {
        msg: at as u32,
        at: a as u32,
    };
    out.add(1, L, "dns.qry", "Query", name, a, nl + 4, Class::Group);
    out.add(2, L, "dns.qry.name", "Name", name, a, nl, Class::Text);
    let t = get16(msg, pos + nl)?;
    let tv = Value::Enum(t.into(), type_name(t));
    out.add(2, L, "dns.qry.type", "Type", tv, a + nl, 2, Class::Type);
    let c = Value::U64(get16(msg, pos + nl + 2)?.into());
    out.add(
        2,
        L,
        "dns.qry.class",
        "Class",
        c,
        a + nl + 2,
        2,
        Class::Type,
    );
    Some(pos + nl + 4)
}

/// One resource record at `pos` of the message; returns the position after it.
fn record(out: &mut Out<'_, '_>, at: usize, msg: &[u8], pos: usize) -> Option<usize> {
    let fixed = name_len(msg, pos).filter(|n| pos + n + 10 <= msg.len());
    let Some(nl) = fixed else {
        out.problem(L, "dns.resp", ProblemKind::Truncated);
        return None;
    };
    let rdlen = usize::from(get16(msg, pos + nl + 8)?);
    let rd = pos + nl + 10;
    if rd + rdlen > msg.len() {
        out.problem(L, "dns.resp.len", ProblemKind::BadLength);
        return None;
    }
    let a = at + pos;
    let name = Value::Name {
        msg: at as u32,
        at: a as u32,
    };
    out.add(
        1,
        L,
        "dns.resp",
        "Resource Record",
        name,
        a,
        nl + 10 + rdlen,
        Class::Group,
    );
    out.add(2, L, "dns.resp.name", "Name", name, a, nl, Class::Text);
    let t = get16(msg, pos + nl)?;
    let tv = Value::Enum(t.into(), type_name(t));
    out.add(2, L, "dns.resp.type", "Type", tv, a + nl, 2, Class::Type);
    let class = get16(msg, pos + nl + 2)?;
    let ttl = get32(msg, pos + nl + 4)?;
    if t == 41 {
        let v = Value::U64(class.into());
        let name = "dns.rr.udp_payload_size";
        out.add(
            2,
            L,
            name,
            "UDP payload size",
            v,
            a + nl + 2,
            2,
            Class::Number,
        );
        let v = Value::U64((ttl >> 16 & 0xff).into());
        out.add(
            2,
            L,
            "dns.resp.edns0_version",
            "EDNS0 version",
            v,
            a + nl + 5,
            1,
            Class::Number,
        );
    } else {
        let v = Value::U64(class.into());
        out.add(
            2,
            L,
            "dns.resp.class",
            "Class",
            v,
            a + nl + 2,
            2,
            Class::Type,
        );
        let v = Value::U64(ttl.into());
        out.add(
            2,
            L,
            "dns.resp.ttl",
            "Time to live",
            v,
            a + nl + 4,
            4,
            Class::Number,
        );
    }
    let v = Value::U64(rdlen as u64);
    out.add(
        2,
        L,
        "dns.resp.len",
        "Data length",
        v,
        a + nl + 8,
        2,
        Class::Length,
    );
    rdata(out, at, msg, t, rd, rdlen);
    Some(rd + rdlen)
}

/// The RDATA of a record of type `t`: `len` bytes at `pos` of the message.
fn rdata(out: &mut Out<'_, '_>, at: usize, msg: &[u8], t: u16, pos: usize, len: usize) {
    let a = at + pos;
    let data = &msg[pos..pos + len];
    let name_at = |p: usize| Value::Name {
        msg: at as u32,
        at: (at + p) as u32,
    };
    match (t, data) {
        (1, &[b0, b1, b2, b3]) => {
            let v = Value::Ipv4([b0, b1, b2, b3].into());
            out.add(2, L, "dns.a", "Address", v, a, 4, Class::Address);
        }
        (28, d) if d.len() == 16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(d);
            out.add(
                2,
                L,
                "dns.aaaa",
                "AAAA Address",
                Value::Ipv6(b.into()),
                a,
                16,
                Class::Address,
            );
        }
        (2 | 5 | 12, _) if name_len(msg, pos).is_some_and(|n| n <= len) => {
            let (name, label) = match t {
                2 => ("dns.ns", "Name Server"),
                5 => ("dns.cname", "CNAME"),
                _ => ("dns.ptr.domain_name", "Domain Name"),
            };
            out.add(2, L, name, label, name_at(pos), a, len, Class::Text);
        }
        (15, _) if len >= 3 => {
            let v = Value::U64(get16(data, 0).unwrap_or(0).into());
            out.add(
                2,
                L,
                "dns.mx.preference",
                "Preference",
                v,
                a,
                2,
                Class::Number,
            );
            let label = "Mail Exchange";
            let name = "dns.mx.mail_exchange";
            out.add(
                2,
                L,
                name,
                label,
                name_at(pos + 2),
                a + 2,
                len - 2,
                Class::Text,
            );
        }
        (16, _) if len >= 1 => {
            let n = usize::from(data[0]).min(len - 1);
            let v = Value::Str {
                start: (a + 1) as u32,
                len: n as u32,
            };
            out.add(2, L, "dns.txt", "TXT", v, a + 1, n, Class::Text);
        }
        (6, _) => {
            if let Some(m) = name_len(msg, pos).filter(|&m| m <= len) {
                let name = "dns.soa.mname";
                out.add(
                    2,
                    L,
                    name,
                    "Primary name server",
                    name_at(pos),
                    a,
                    m,
                    Class::Text,
                );
                if let Some(r) = name_len(msg, pos + m).filter(|&r| m + r <= len) {
                    let label = "Responsible authority's mailbox";
                    let v = name_at(pos + m);
                    out.add(2, L, "dns.soa.rname", label, v, a + m, r, Class::Text);
                }
            }
        }
        _ if len > 0 => {
            let v = Value::Bytes {
                start: a as u32,
                len: len as u32,
            };
            out.add(2, L, "dns.data", "Data", v, a, len, Class::Payload);
        }
        _ => {}
    }
}
