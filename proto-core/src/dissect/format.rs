//! Text forms of a [`Dissection`], written to any [`fmt::Write`] (no allocation): a one-line
//! summary per frame ([`summary`], like tcpdump), an indented tree ([`tree`], like
//! `tshark -V`), and JSON ([`json`]).
//!
//! # JSON
//!
//! One object per frame:
//!
//! ```text
//! {"number":1,"length":74,
//!  "layers":[{"name":"eth","label":"Ethernet II","class":"protocol","bit_offset":0,
//!             "bit_len":112,"fields":[{"name":"eth.dst","label":"Destination",
//!             "class":"address","bit_offset":0,"bit_len":48,"value":"02:00:00:77:00:0b"},..]},
//!            ..],
//!  "problems":[{"layer":"tcp","field":"checksum","message":"tcp: checksum 0x1234 is wrong, .."}],
//!  "truncated_output":false}
//! ```
//!
//! Every node has `name` (tshark's abbreviation), `label`, `class`, `bit_offset` and
//! `bit_len` (from the start of the frame), `value` unless it has none (a number, `true` /
//! `false`, or a string for addresses, bytes as colon-separated hex, text and DNS names),
//! `show` for enumerated values and timestamps (the meaning: `"IPv4"`, a date), and `fields`
//! for its children. [`json_frames_start`] / [`json_frames_end`] wrap frames in an array.

use core::fmt::{self, Write};

use super::{Class, Dissection, Field, Layer, Value, write_dns_name};
use crate::wire::TcpFlags;

/// Nesting deeper than this is written flat (the dissectors nest at most 5 deep).
const MAX_DEPTH: usize = 16;

/// Writes a field's value as text (no quotes, no escaping): numbers in decimal (hex for
/// checksums and flag words), addresses in their usual notation, bytes in colon-separated
/// hex, text as it is, DNS names dotted, enumerations as their meaning and number.
pub fn write_value<W: Write + ?Sized>(d: &Dissection<'_>, f: &Field, w: &mut W) -> fmt::Result {
    match f.value {
        Value::None => Ok(()),
        Value::U64(v) if matches!(f.class, Class::Checksum | Class::Flags) => {
            write!(w, "{v:#06x}")
        }
        Value::U64(v) => write!(w, "{v}"),
        Value::Bool(b) => w.write_str(if b { "1" } else { "0" }),
        Value::Mac(m) => write_mac(w, &m),
        Value::Ipv4(a) => write!(w, "{a}"),
        Value::Ipv6(a) => write!(w, "{a}"),
        Value::Bytes { start, len } => write_hex(w, slice(d.frame, start, len)),
        Value::Str { start, len } => {
            for &b in slice(d.frame, start, len) {
                if b.is_ascii_graphic() || b == b' ' {
                    w.write_char(b.into())?;
                } else {
                    write!(w, "\\x{b:02x}")?;
                }
            }
            Ok(())
        }
        Value::Name { msg, at } => write_dns_name(d.frame, msg as usize, at as usize, w),
        Value::Enum(v, name) => write!(w, "{name} ({v})"),
        Value::NtpTime(t) => write_ntp_time(w, t),
    }
}

fn slice(frame: &[u8], start: u32, len: u32) -> &[u8] {
    let (s, l) = (start as usize, len as usize);
    frame.get(s..s.saturating_add(l)).unwrap_or(&[])
}

fn write_mac<W: Write + ?Sized>(w: &mut W, m: &[u8; 6]) -> fmt::Result {
    write!(
        w,
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn write_hex<W: Write + ?Sized>(w: &mut W, bytes: &[u8]) -> fmt::Result {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            w.write_char(':')?;
        }
        write!(w, "{b:02x}")?;
    }
    Ok(())
}

/// Writes an NTP timestamp as a UTC date, as tshark does: `Nov 21, 2026 18:52:57.173729000
/// UTC` (seconds since 1900, or since 2036 when the top bit is clear; `NULL` for zero).
pub fn write_ntp_time<W: Write + ?Sized>(w: &mut W, t: u64) -> fmt::Result {
    if t == 0 {
        return w.write_str("NULL");
    }
    // RFC 4330 §3: a seconds value with the top bit clear is in era 1 (from 2036).
    let era_secs = t >> 32;
    let era = if era_secs & 0x8000_0000 == 0 {
        1i64 << 32
    } else {
        0
    };
    let secs = era_secs as i64 + era - 2_208_988_800;
    let nanos = ((t & 0xffff_ffff) * 1_000_000_000) >> 32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    write!(
        w,
        "{} {:2}, {} {:02}:{:02}:{:02}.{:09} UTC",
        MONTHS[(month - 1) as usize],
        day,
        year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        nanos
    )
}

/// Fields outside any nested layer (a header quoted in an ICMP error), for the summary.
fn top_level<'a>(d: &Dissection<'a>) -> impl Iterator<Item = &'a Field> + 'a {
    let mut nested: Option<u8> = None;
    d.fields.iter().filter(move |f| {
        if let Some(depth) = nested {
            if f.depth > depth {
                return false;
            }
            nested = None;
        }
        if f.depth > 0 && f.class == Class::Protocol {
            nested = Some(f.depth);
            return false;
        }
        true
    })
}

/// A lookup of top-level fields by name.
struct Top<'d, 'a> {
    d: &'d Dissection<'a>,
}

impl<'a> Top<'_, 'a> {
    fn get(&self, name: &str) -> Option<&'a Field> {
        top_level(self.d).find(|f| f.name == name)
    }

    fn num(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(Field::as_u64)
    }

    fn val<W: Write + ?Sized>(&self, w: &mut W, name: &str) -> fmt::Result {
        match self.get(name) {
            Some(f) => write_value(self.d, f, w),
            None => w.write_char('?'),
        }
    }
}

/// Writes a one-line summary of the frame, in the manner of tcpdump:
/// `IP 192.168.77.1.41668 > 192.168.77.2.5001: Flags [S], seq 523772118, win 64240,
/// options [mss 1460,sackOK,TS val 822210910 ecr 0,nop,wscale 10], length 0`, then any
/// application summary and the problems in brackets.
pub fn summary<W: Write + ?Sized>(d: &Dissection<'_>, w: &mut W) -> fmt::Result {
    let t = Top { d };
    for tag in top_level(d).filter(|f| f.name == "vlan.id" || f.name == "ieee8021ad.id") {
        write!(w, "vlan {}, ", tag.as_u64().unwrap_or(0))?;
    }
    if t.get("arp").is_some() {
        summary_arp(&t, w)?;
    } else if t.get("ip").is_some() || t.get("ipv6").is_some() {
        summary_ip(&t, w)?;
    } else if t.get("eth.src").is_some() {
        t.val(w, "eth.src")?;
        w.write_str(" > ")?;
        t.val(w, "eth.dst")?;
        w.write_str(", ethertype ")?;
        let ty = t
            .get("vlan.etype")
            .or_else(|| t.get("eth.type"))
            .and_then(Field::as_u64);
        write!(w, "{:#06x}, length {}", ty.unwrap_or(0), d.frame.len())?;
    } else {
        write!(w, "frame of {} bytes", d.frame.len())?;
    }
    for p in d.problems {
        write!(w, " [{p}]")?;
    }
    if d.truncated_output {
        w.write_str(" [output truncated]")?;
    }
    Ok(())
}

fn summary_arp<W: Write + ?Sized>(t: &Top<'_, '_>, w: &mut W) -> fmt::Result {
    match t.num("arp.opcode") {
        Some(1) => {
            w.write_str("ARP, Request who-has ")?;
            t.val(w, "arp.dst.proto_ipv4")?;
            w.write_str(" tell ")?;
            t.val(w, "arp.src.proto_ipv4")
        }
        Some(2) => {
            w.write_str("ARP, Reply ")?;
            t.val(w, "arp.src.proto_ipv4")?;
            w.write_str(" is-at ")?;
            t.val(w, "arp.src.hw_mac")
        }
        op => write!(w, "ARP, opcode {}", op.unwrap_or(0)),
    }
}

fn summary_ip<W: Write + ?Sized>(t: &Top<'_, '_>, w: &mut W) -> fmt::Result {
    let v6 = t.get("ipv6").is_some();
    let (src, dst) = if v6 {
        ("ipv6.src", "ipv6.dst")
    } else {
        ("ip.src", "ip.dst")
    };
    w.write_str(if v6 { "IP6 " } else { "IP " })?;
    let ports = if t.get("tcp").is_some() {
        Some(("tcp.srcport", "tcp.dstport"))
    } else if t.get("udp").is_some() {
        Some(("udp.srcport", "udp.dstport"))
    } else {
        None
    };
    t.val(w, src)?;
    if let Some((sp, _)) = ports {
        write!(w, ".{}", t.num(sp).unwrap_or(0))?;
    }
    w.write_str(" > ")?;
    t.val(w, dst)?;
    if let Some((_, dp)) = ports {
        write!(w, ".{}", t.num(dp).unwrap_or(0))?;
    }
    w.write_str(": ")?;
    if t.get("tcp").is_some() {
        summary_tcp(t, w)?;
    } else if t.get("udp").is_some() {
        let len = t.num("udp.length").unwrap_or(8).saturating_sub(8);
        write!(w, "UDP, length {len}")?;
    } else if t.get("icmp").is_some() {
        w.write_str("ICMP ")?;
        if let Some(Value::Enum(_, name)) = t.get("icmp.type").map(|f| f.value) {
            w.write_str(name)?;
        }
        if let (Some(id), Some(seq)) = (t.num("icmp.ident"), t.num("icmp.seq")) {
            write!(w, ", id {id}, seq {seq}")?;
        }
        if let Some(f) = t.get("icmp") {
            write!(w, ", length {}", f.bit_len / 8)?;
        }
    } else if t.get("icmpv6").is_some() {
        w.write_str("ICMP6, ")?;
        if let Some(Value::Enum(_, name)) = t.get("icmpv6.type").map(|f| f.value) {
            w.write_str(name)?;
        }
        if let Some(target) = t
            .get("icmpv6.nd.ns.target_address")
            .or_else(|| t.get("icmpv6.nd.na.target_address"))
        {
            w.write_char(' ')?;
            write_value(t.d, target, w)?;
        }
        if let Some(f) = t.get("icmpv6") {
            write!(w, ", length {}", f.bit_len / 8)?;
        }
    } else if v6 {
        w.write_str("ip-proto-")?;
        let nxt = t.num("ipv6.fraghdr.nxt").or_else(|| t.num("ipv6.nxt"));
        write!(w, "{}", nxt.unwrap_or(0))?;
    } else {
        let off = t.num("ip.frag_offset").unwrap_or(0) * 8;
        let mf = if t.num("ip.flags.mf") == Some(1) {
            "+"
        } else {
            ""
        };
        write!(w, "frag {}@{off}{mf}", t.num("ip.proto").unwrap_or(0))?;
    }
    summary_app(t, w)
}

fn summary_tcp<W: Write + ?Sized>(t: &Top<'_, '_>, w: &mut W) -> fmt::Result {
    let flags = TcpFlags((t.num("tcp.flags").unwrap_or(0) & 0x1ff) as u16);
    write!(
        w,
        "Flags {flags}, seq {}",
        t.num("tcp.seq_raw").unwrap_or(0)
    )?;
    if flags.contains(TcpFlags::ACK) {
        write!(w, ", ack {}", t.num("tcp.ack_raw").unwrap_or(0))?;
    }
    write!(w, ", win {}", t.num("tcp.window_size_value").unwrap_or(0))?;
    let mut first = true;
    for f in
        top_level(t.d).filter(|f| f.layer == Layer::Tcp && f.depth == 2 && f.class == Class::Group)
    {
        w.write_str(if first { ", options [" } else { "," })?;
        first = false;
        summary_tcp_option(t, f, w)?;
    }
    if !first {
        w.write_char(']')?;
    }
    write!(w, ", length {}", t.num("tcp.len").unwrap_or(0))
}

fn summary_tcp_option<W: Write + ?Sized>(t: &Top<'_, '_>, f: &Field, w: &mut W) -> fmt::Result {
    let bytes = f.bytes(t.d.frame);
    let be32 = |at: usize| {
        bytes
            .get(at..at + 4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    match f.name {
        "tcp.options.mss" => write!(w, "mss {}", super::get16(bytes, 2).unwrap_or(0)),
        "tcp.options.nop" => w.write_str("nop"),
        "tcp.options.eol" => w.write_str("eol"),
        "tcp.options.sack_perm" => w.write_str("sackOK"),
        "tcp.options.wscale" => write!(w, "wscale {}", bytes.get(2).copied().unwrap_or(0)),
        "tcp.options.timestamp" => write!(w, "TS val {} ecr {}", be32(2), be32(6)),
        "tcp.options.sack" => {
            write!(w, "sack {}", (bytes.len().saturating_sub(2)) / 8)?;
            for i in 0..(bytes.len().saturating_sub(2)) / 8 {
                write!(w, " {{{}:{}}}", be32(2 + 8 * i), be32(6 + 8 * i))?;
            }
            Ok(())
        }
        _ => write!(w, "opt-{}", bytes.first().copied().unwrap_or(0)),
    }
}

/// The application layer's part of the summary.
fn summary_app<W: Write + ?Sized>(t: &Top<'_, '_>, w: &mut W) -> fmt::Result {
    if t.get("dns").is_some() {
        let response = t.num("dns.flags.response") == Some(1);
        write!(w, " DNS {}", if response { "response" } else { "query" })?;
        write!(w, " 0x{:04x}", t.num("dns.id").unwrap_or(0))?;
        for f in top_level(t.d).filter(|f| f.name == "dns.qry.name") {
            w.write_char(' ')?;
            write_value(t.d, f, w)?;
        }
        for f in top_level(t.d) {
            if matches!(
                f.name,
                "dns.a" | "dns.aaaa" | "dns.cname" | "dns.ptr.domain_name"
            ) {
                w.write_char(' ')?;
                write_value(t.d, f, w)?;
            }
        }
    } else if t.get("dhcp").is_some() {
        w.write_str(" DHCP")?;
        if let Some(Value::Enum(_, name)) = t.get("dhcp.option.dhcp").map(|f| f.value) {
            write!(w, " {name}")?;
        }
        write!(w, " xid 0x{:08x}", t.num("dhcp.id").unwrap_or(0))?;
    } else if t.get("ntp").is_some() {
        write!(w, " NTP v{}", t.num("ntp.flags.vn").unwrap_or(0))?;
        if let Some(Value::Enum(_, name)) = t.get("ntp.flags.mode").map(|f| f.value) {
            write!(w, " {name}")?;
        }
    } else if let Some(line) = t
        .get("http.request.first_line")
        .or_else(|| t.get("http.response.first_line"))
    {
        w.write_str(" HTTP ")?;
        write_value(t.d, line, w)?;
    }
    Ok(())
}

/// Writes the frame as an indented tree, like `tshark -V`: one line per field,
/// `label: value`, four spaces per level; a layer's line names its addresses or ports.
pub fn tree<W: Write + ?Sized>(d: &Dissection<'_>, w: &mut W) -> fmt::Result {
    for (i, f) in d.fields.iter().enumerate() {
        for _ in 0..f.depth {
            w.write_str("    ")?;
        }
        if f.class == Class::Protocol {
            w.write_str(f.label)?;
            layer_line(d, i, w)?;
            w.write_char('\n')?;
            continue;
        }
        write!(w, "{}: ", f.label)?;
        match f.value {
            Value::Bool(b) => w.write_str(if b { "Set" } else { "Not set" })?,
            Value::None => {}
            _ => write_value(d, f, w)?,
        }
        w.write_char('\n')?;
    }
    for p in d.problems {
        writeln!(w, "[Problem: {p}]")?;
    }
    if d.truncated_output {
        writeln!(w, "[Output truncated: storage full]")?;
    }
    Ok(())
}

/// `, Src: a, Dst: b` for a layer line, from its direct children.
fn layer_line<W: Write + ?Sized>(d: &Dissection<'_>, index: usize, w: &mut W) -> fmt::Result {
    let depth = d.fields[index].depth;
    let children = d.fields[index + 1..]
        .iter()
        .take_while(|f| f.depth > depth)
        .filter(|f| f.depth == depth + 1);
    for f in children {
        let tag = match f.name.rsplit('.').next() {
            Some("src" | "srcport") => "Src",
            Some("dst" | "dstport") => "Dst",
            _ => continue,
        };
        let port = if f.class == Class::Port { " Port" } else { "" };
        write!(w, ", {tag}{port}: ")?;
        write_value(d, f, w)?;
    }
    Ok(())
}

/// Writes `s` as a JSON string, quotes included.
pub fn json_str<W: Write + ?Sized>(w: &mut W, s: &str) -> fmt::Result {
    w.write_char('"')?;
    for c in s.chars() {
        json_char(w, c)?;
    }
    w.write_char('"')
}

fn json_char<W: Write + ?Sized>(w: &mut W, c: char) -> fmt::Result {
    match c {
        '"' => w.write_str("\\\""),
        '\\' => w.write_str("\\\\"),
        '\n' => w.write_str("\\n"),
        '\r' => w.write_str("\\r"),
        '\t' => w.write_str("\\t"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => write!(w, "\\u{:04x}", c as u32),
        c => w.write_char(c),
    }
}

/// An adapter that JSON-escapes what is written through it.
struct Escape<'w, W: Write + ?Sized>(&'w mut W);

impl<W: Write + ?Sized> Write for Escape<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            json_char(self.0, c)?;
        }
        Ok(())
    }
}

/// Writes a field's value as a JSON value.
fn json_value<W: Write + ?Sized>(d: &Dissection<'_>, f: &Field, w: &mut W) -> fmt::Result {
    match f.value {
        Value::U64(v) | Value::Enum(v, _) | Value::NtpTime(v) => write!(w, "{v}"),
        Value::Bool(b) => w.write_str(if b { "true" } else { "false" }),
        Value::None => w.write_str("null"),
        Value::Str { start, len } => {
            // Frame bytes: ASCII as is, anything else as the Latin-1 character.
            w.write_char('"')?;
            for &b in slice(d.frame, start, len) {
                json_char(w, char::from(b))?;
            }
            w.write_char('"')
        }
        _ => {
            w.write_char('"')?;
            write_value(d, f, &mut Escape(w))?;
            w.write_char('"')
        }
    }
}

/// Writes one field's opening: `{"name":..,...` without the closing brace.
fn json_open<W: Write + ?Sized>(d: &Dissection<'_>, f: &Field, w: &mut W) -> fmt::Result {
    w.write_str("{\"name\":")?;
    json_str(w, f.name)?;
    w.write_str(",\"label\":")?;
    json_str(w, f.label)?;
    write!(
        w,
        ",\"class\":\"{}\",\"bit_offset\":{},\"bit_len\":{}",
        f.class.name(),
        f.bit_offset,
        f.bit_len
    )?;
    if f.value != Value::None {
        w.write_str(",\"value\":")?;
        json_value(d, f, w)?;
    }
    match f.value {
        Value::Enum(_, name) => {
            w.write_str(",\"show\":")?;
            json_str(w, name)?;
        }
        Value::NtpTime(t) => {
            w.write_str(",\"show\":\"")?;
            write_ntp_time(w, t)?;
            w.write_char('"')?;
        }
        _ => {}
    }
    Ok(())
}

/// Writes the frame as one JSON object (see the module doc); `number` is its 1-based frame
/// number in the capture.
pub fn json<W: Write + ?Sized>(d: &Dissection<'_>, number: u64, w: &mut W) -> fmt::Result {
    write!(
        w,
        "{{\"number\":{number},\"length\":{},\"layers\":[",
        d.frame.len()
    )?;
    // The open nodes: their depth and whether their "fields" array is open.
    let mut open = [(0u8, false); MAX_DEPTH];
    let mut n = 0;
    for f in d.fields {
        while n > 0 && open[n - 1].0 >= f.depth {
            n -= 1;
            w.write_str(if open[n].1 { "]}" } else { "}" })?;
        }
        if n == 0 {
            if !core::ptr::eq(f, d.fields.as_ptr()) {
                w.write_char(',')?;
            }
        } else if open[n - 1].1 {
            w.write_char(',')?;
        } else {
            w.write_str(",\"fields\":[")?;
            open[n - 1].1 = true;
        }
        json_open(d, f, w)?;
        if n < MAX_DEPTH {
            open[n] = (f.depth, false);
            n += 1;
        } else {
            // Too deep to nest: written as a sibling.
            w.write_char('}')?;
        }
    }
    while n > 0 {
        n -= 1;
        w.write_str(if open[n].1 { "]}" } else { "}" })?;
    }
    w.write_str("],\"problems\":[")?;
    for (i, p) in d.problems.iter().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        w.write_str("{\"layer\":")?;
        json_str(w, p.layer.name())?;
        w.write_str(",\"field\":")?;
        json_str(w, p.field)?;
        w.write_str(",\"message\":\"")?;
        write!(Escape(w), "{p}")?;
        w.write_str("\"}")?;
    }
    write!(w, "],\"truncated_output\":{}}}", d.truncated_output)
}

/// Opens a JSON array of frames: `[`.
pub fn json_frames_start<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    w.write_char('[')
}

/// Closes a JSON array of frames: `]` and a newline.
pub fn json_frames_end<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    w.write_str("]\n")
}
