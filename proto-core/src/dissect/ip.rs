//! Network layer: IPv4 with options (RFC 791, 7126) and IPv6 with its extension headers
//! (RFC 8200), from the views of [`crate::wire::ipv4`] and [`crate::wire::ipv6`].

use super::l4::{self, Context};
use super::{Class, Layer, Out, Value};
use crate::wire::ipv6::Ipv6ExtHeader;
use crate::wire::{IpAddrPair, IpProtocol, Ipv4Option, Ipv4Packet, Ipv6ExtHeaders, Ipv6Packet};

/// The name of an IP protocol number, for [`Value::Enum`].
pub(crate) fn protocol_name(p: u8) -> &'static str {
    match p {
        0 => "IPv6 Hop-by-Hop Option",
        1 => "ICMP",
        2 => "IGMP",
        6 => "TCP",
        17 => "UDP",
        43 => "Routing Header for IPv6",
        44 => "Fragment Header for IPv6",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        59 => "No Next Header for IPv6",
        60 => "Destination Options for IPv6",
        _ => "unknown",
    }
}

fn proto_value(p: u8) -> Value {
    Value::Enum(p.into(), protocol_name(p))
}

/// Dissects an IPv4 packet at byte `at` of the frame, and what it carries.
pub(crate) fn ipv4(out: &mut Out<'_, '_>, at: usize) {
    const L: Layer = Layer::Ipv4;
    let bytes = &out.frame[at..];
    let ip = match Ipv4Packet::new_checked(bytes) {
        Ok(ip) => ip,
        Err(e) => {
            out.layer(L, at, bytes.len());
            out.wire_error(L, e);
            return;
        }
    };
    let hl = ip.header_len();
    out.layer(L, at, hl);
    ipv4_header(out, at, bytes, 1);
    if let Err(e) = ip.check_checksum() {
        out.wire_error(L, e);
    }
    let payload = ip.payload_slice();
    let context = Context {
        addrs: Some(IpAddrPair::V4 {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
        }),
        whole: !ip.is_fragment(),
        ipv6: false,
    };
    if ip.frag_offset() != 0 {
        out.data(at + hl, payload.len());
    } else {
        l4::transport(out, ip.protocol(), at + hl, payload, context);
    }
}

/// The fields of an IPv4 header at byte `at` (`bytes` starts there and holds at least the
/// header its IHL claims), at `depth`. Shared with headers quoted in ICMP errors.
pub(crate) fn ipv4_header(out: &mut Out<'_, '_>, at: usize, bytes: &[u8], depth: u8) {
    const L: Layer = Layer::Ipv4;
    let ip = Ipv4Packet::new_unchecked(bytes);
    let d = depth;
    let b = at * 8;
    let version = Value::U64(ip.version().into());
    out.add_bits(d, L, "ip.version", "Version", version, b, 4, Class::Number);
    let hl = ip.header_len();
    let value = Value::U64(hl as u64);
    out.add_bits(
        d,
        L,
        "ip.hdr_len",
        "Header Length",
        value,
        b + 4,
        4,
        Class::Length,
    );
    let ds = Value::U64(bytes[1].into());
    out.add(
        d,
        L,
        "ip.dsfield",
        "Differentiated Services Field",
        ds,
        at + 1,
        1,
        Class::Flags,
    );
    let dscp = Value::U64(ip.dscp().into());
    out.add_bits(
        d + 1,
        L,
        "ip.dsfield.dscp",
        "DSCP",
        dscp,
        b + 8,
        6,
        Class::Number,
    );
    let ecn = Value::U64(ip.ecn().into());
    out.add_bits(
        d + 1,
        L,
        "ip.dsfield.ecn",
        "ECN",
        ecn,
        b + 14,
        2,
        Class::Number,
    );
    let len = Value::U64(ip.total_len().into());
    out.add(
        d,
        L,
        "ip.len",
        "Total Length",
        len,
        at + 2,
        2,
        Class::Length,
    );
    let id = Value::U64(ip.ident().into());
    out.add(d, L, "ip.id", "Identification", id, at + 4, 2, Class::Id);
    let flags = Value::U64((bytes[6] >> 5).into());
    out.add_bits(d, L, "ip.flags", "Flags", flags, b + 48, 3, Class::Flags);
    let rb = Value::Bool(bytes[6] & 0x80 != 0);
    out.add_bits(
        d + 1,
        L,
        "ip.flags.rb",
        "Reserved bit",
        rb,
        b + 48,
        1,
        Class::Flag,
    );
    let df = Value::Bool(ip.dont_frag());
    out.add_bits(
        d + 1,
        L,
        "ip.flags.df",
        "Don't fragment",
        df,
        b + 49,
        1,
        Class::Flag,
    );
    let mf = Value::Bool(ip.more_frags());
    out.add_bits(
        d + 1,
        L,
        "ip.flags.mf",
        "More fragments",
        mf,
        b + 50,
        1,
        Class::Flag,
    );
    // In 8-octet units, as on the wire (and as tshark shows it).
    let off = Value::U64((ip.frag_offset() / 8).into());
    let label = "Fragment Offset (8-octet units)";
    out.add_bits(
        d,
        L,
        "ip.frag_offset",
        label,
        off,
        b + 51,
        13,
        Class::Number,
    );
    let ttl = Value::U64(ip.ttl().into());
    out.add(
        d,
        L,
        "ip.ttl",
        "Time to Live",
        ttl,
        at + 8,
        1,
        Class::Number,
    );
    let proto = proto_value(bytes[9]);
    out.add(d, L, "ip.proto", "Protocol", proto, at + 9, 1, Class::Type);
    let sum = Value::U64(ip.checksum().into());
    out.add(
        d,
        L,
        "ip.checksum",
        "Header Checksum",
        sum,
        at + 10,
        2,
        Class::Checksum,
    );
    let src = Value::Ipv4(ip.src_addr());
    out.add(
        d,
        L,
        "ip.src",
        "Source Address",
        src,
        at + 12,
        4,
        Class::Address,
    );
    let dst = Value::Ipv4(ip.dst_addr());
    out.add(
        d,
        L,
        "ip.dst",
        "Destination Address",
        dst,
        at + 16,
        4,
        Class::Address,
    );
    if hl > 20 {
        ipv4_options(out, at + 20, &bytes[20..hl], depth);
    }
}

/// The options of an IPv4 header: `bytes` at byte `at` of the frame.
fn ipv4_options(out: &mut Out<'_, '_>, at: usize, bytes: &[u8], d: u8) {
    const L: Layer = Layer::Ipv4;
    let value = Value::Bytes {
        start: at as u32,
        len: bytes.len() as u32,
    };
    out.add(
        d,
        L,
        "ip.options",
        "Options",
        value,
        at,
        bytes.len(),
        Class::Group,
    );
    let mut rest = bytes;
    let mut pos = at;
    while !rest.is_empty() && !out.is_full() {
        let (option, len) = match Ipv4Option::parse(rest) {
            Ok(parsed) => parsed,
            Err(e) => {
                out.wire_error(L, e);
                return;
            }
        };
        let kind = rest[0];
        let name = match option {
            Ipv4Option::EndOfList => "End of Options List (EOL)",
            Ipv4Option::NoOperation => "No Operation (NOP)",
            Ipv4Option::RecordRoute { .. } => "Record Route",
            Ipv4Option::Timestamp { .. } => "Time Stamp",
            Ipv4Option::LooseSourceRoute { .. } => "Loose Source Route",
            Ipv4Option::StrictSourceRoute { .. } => "Strict Source Route",
            Ipv4Option::RouterAlert(_) => "Router Alert",
            Ipv4Option::Unknown { .. } => "unknown",
        };
        let len = if matches!(option, Ipv4Option::EndOfList) {
            rest.len()
        } else {
            len
        };
        out.add(
            d + 1,
            L,
            "ip.option",
            "Option",
            Value::Enum(kind.into(), name),
            pos,
            len,
            Class::Group,
        );
        let kv = Value::U64(kind.into());
        out.add(d + 2, L, "ip.opt.type", "Type", kv, pos, 1, Class::Type);
        if len >= 2 && kind > 1 {
            let lv = Value::U64(rest[1].into());
            out.add(
                d + 2,
                L,
                "ip.opt.len",
                "Length",
                lv,
                pos + 1,
                1,
                Class::Length,
            );
        }
        match option {
            Ipv4Option::RecordRoute { pointer, route }
            | Ipv4Option::LooseSourceRoute { pointer, route }
            | Ipv4Option::StrictSourceRoute { pointer, route } => {
                let pv = Value::U64(pointer.into());
                out.add(
                    d + 2,
                    L,
                    "ip.opt.ptr",
                    "Pointer",
                    pv,
                    pos + 2,
                    1,
                    Class::Number,
                );
                for (i, a) in route.chunks_exact(4).enumerate() {
                    let v = Value::Ipv4([a[0], a[1], a[2], a[3]].into());
                    let label = "Recorded Route";
                    out.add(
                        d + 2,
                        L,
                        "ip.rec_rt",
                        label,
                        v,
                        pos + 3 + 4 * i,
                        4,
                        Class::Address,
                    );
                }
            }
            Ipv4Option::RouterAlert(v) => {
                let v = Value::U64(v.into());
                out.add(
                    d + 2,
                    L,
                    "ip.opt.ra",
                    "Router Alert",
                    v,
                    pos + 2,
                    2,
                    Class::Number,
                );
            }
            _ => {}
        }
        rest = &rest[len..];
        pos += len;
    }
}

/// Dissects an IPv6 packet at byte `at` of the frame, its extension headers, and what it
/// carries.
pub(crate) fn ipv6(out: &mut Out<'_, '_>, at: usize) {
    const L: Layer = Layer::Ipv6;
    let bytes = &out.frame[at..];
    let ip = match Ipv6Packet::new_checked(bytes) {
        Ok(ip) => ip,
        Err(e) => {
            out.layer(L, at, bytes.len());
            out.wire_error(L, e);
            return;
        }
    };
    let layer = out.layer(L, at, 40);
    let b = at * 8;
    let version = Value::U64(ip.version().into());
    out.add_bits(
        1,
        L,
        "ipv6.version",
        "Version",
        version,
        b,
        4,
        Class::Number,
    );
    let tc = Value::U64(ip.traffic_class().into());
    out.add_bits(
        1,
        L,
        "ipv6.tclass",
        "Traffic Class",
        tc,
        b + 4,
        8,
        Class::Flags,
    );
    let dscp = Value::U64((ip.traffic_class() >> 2).into());
    out.add_bits(
        2,
        L,
        "ipv6.tclass.dscp",
        "DSCP",
        dscp,
        b + 4,
        6,
        Class::Number,
    );
    let ecn = Value::U64((ip.traffic_class() & 3).into());
    out.add_bits(
        2,
        L,
        "ipv6.tclass.ecn",
        "ECN",
        ecn,
        b + 10,
        2,
        Class::Number,
    );
    let flow = Value::U64(ip.flow_label().into());
    out.add_bits(1, L, "ipv6.flow", "Flow Label", flow, b + 12, 20, Class::Id);
    let plen = Value::U64(ip.payload_len().into());
    out.add(
        1,
        L,
        "ipv6.plen",
        "Payload Length",
        plen,
        at + 4,
        2,
        Class::Length,
    );
    out.add(
        1,
        L,
        "ipv6.nxt",
        "Next Header",
        proto_value(bytes[6]),
        at + 6,
        1,
        Class::Type,
    );
    let hlim = Value::U64(ip.hop_limit().into());
    out.add(
        1,
        L,
        "ipv6.hlim",
        "Hop Limit",
        hlim,
        at + 7,
        1,
        Class::Number,
    );
    let src = Value::Ipv6(ip.src_addr());
    out.add(
        1,
        L,
        "ipv6.src",
        "Source Address",
        src,
        at + 8,
        16,
        Class::Address,
    );
    let dst = Value::Ipv6(ip.dst_addr());
    out.add(
        1,
        L,
        "ipv6.dst",
        "Destination Address",
        dst,
        at + 24,
        16,
        Class::Address,
    );
    let payload = ip.payload_slice();
    let mut walk: Ipv6ExtHeaders<'_> = ip.ext_headers_slice();
    // (first fragment?, whole datagram?)
    let mut fragment = (true, true);
    for header in walk.by_ref() {
        match header {
            Ok(header) => {
                let pos = out.offset_of(header.data);
                if let Some(f) = ext_header(out, pos, &header) {
                    fragment = f;
                }
            }
            Err(e) => {
                out.wire_error(L, e);
                return;
            }
        }
        if out.is_full() {
            return;
        }
    }
    let offset = walk.offset();
    out.set_len(layer, 40 + offset);
    let upper = &payload[offset..];
    let upper_at = at + 40 + offset;
    if !fragment.0 {
        out.data(upper_at, upper.len());
        return;
    }
    let context = Context {
        addrs: Some(IpAddrPair::V6 {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
        }),
        whole: fragment.1,
        ipv6: true,
    };
    l4::transport(out, walk.next_header(), upper_at, upper, context);
}

/// One extension header at byte `at`. For a Fragment header, returns (first fragment,
/// whole datagram).
fn ext_header(out: &mut Out<'_, '_>, at: usize, h: &Ipv6ExtHeader<'_>) -> Option<(bool, bool)> {
    const L: Layer = Layer::Ipv6;
    let data = h.data;
    let len = data.len();
    let names: [&'static str; 4] = match h.kind {
        IpProtocol::HopByHop => [
            "ipv6.hopopts",
            "ipv6.hopopts.nxt",
            "ipv6.hopopts.len",
            "Hop-by-Hop Options",
        ],
        IpProtocol::Ipv6Route => [
            "ipv6.routing",
            "ipv6.routing.nxt",
            "ipv6.routing.len",
            "Routing Header",
        ],
        IpProtocol::Ipv6Frag => [
            "ipv6.fraghdr",
            "ipv6.fraghdr.nxt",
            "ipv6.fraghdr.reserved_octet",
            "Fragment Header",
        ],
        IpProtocol::Ipv6Opts => [
            "ipv6.dstopts",
            "ipv6.dstopts.nxt",
            "ipv6.dstopts.len",
            "Destination Options",
        ],
        _ => ["ah", "ah.nxt", "ah.len", "Authentication Header"],
    };
    let kind = proto_value(u8::from(h.kind));
    out.add(1, L, names[0], names[3], kind, at, len, Class::Group);
    out.add(
        2,
        L,
        names[1],
        "Next Header",
        proto_value(data[0]),
        at,
        1,
        Class::Type,
    );
    let lv = Value::U64(data[1].into());
    let class = if h.kind == IpProtocol::Ipv6Frag {
        Class::Number
    } else {
        Class::Length
    };
    out.add(2, L, names[2], "Length", lv, at + 1, 1, class);
    match h.kind {
        IpProtocol::HopByHop | IpProtocol::Ipv6Opts => ext_options(out, at + 2, &data[2..]),
        IpProtocol::Ipv6Route => {
            if let Some(r) = h.routing() {
                let t = Value::U64(r.routing_type.into());
                out.add(2, L, "ipv6.routing.type", "Type", t, at + 2, 1, Class::Type);
                let s = Value::U64(r.segments_left.into());
                let label = "Segments Left";
                out.add(
                    2,
                    L,
                    "ipv6.routing.segleft",
                    label,
                    s,
                    at + 3,
                    1,
                    Class::Number,
                );
            }
        }
        IpProtocol::Ipv6Frag => {
            let f = h.fragment()?;
            let units = f.frag_offset() / 8;
            let b = (at + 2) * 8;
            let ov = Value::U64(units.into());
            let label = "Offset (8-octet units)";
            out.add_bits(2, L, "ipv6.fraghdr.offset", label, ov, b, 13, Class::Number);
            let mv = Value::Bool(f.more_frags());
            let label = "More Fragments";
            out.add_bits(2, L, "ipv6.fraghdr.more", label, mv, b + 15, 1, Class::Flag);
            let iv = Value::U64(f.ident().into());
            out.add(
                2,
                L,
                "ipv6.fraghdr.ident",
                "Identification",
                iv,
                at + 4,
                4,
                Class::Id,
            );
            return Some((units == 0, units == 0 && !f.more_frags()));
        }
        _ => {}
    }
    None
}

/// The TLV options of a Hop-by-Hop or Destination Options header (RFC 8200 §4.2). The wire
/// layer has validated the header's length; options are walked here for their offsets, and
/// a malformed one ends the walk.
fn ext_options(out: &mut Out<'_, '_>, at: usize, bytes: &[u8]) {
    const L: Layer = Layer::Ipv6;
    let mut pos = 0;
    while pos < bytes.len() && !out.is_full() {
        let kind = bytes[pos];
        let len = if kind == 0 {
            1
        } else {
            match bytes.get(pos + 1) {
                Some(&n) if pos + 2 + usize::from(n) <= bytes.len() => 2 + usize::from(n),
                _ => {
                    out.problem(L, "ipv6.opt", super::ProblemKind::BadLength);
                    return;
                }
            }
        };
        let name = match kind {
            0 => "Pad1",
            1 => "PadN",
            5 => "Router Alert",
            0xc2 => "Jumbo Payload",
            _ => "unknown",
        };
        let a = at + pos;
        let value = Value::Enum(kind.into(), name);
        out.add(2, L, "ipv6.opt", "Option", value, a, len, Class::Group);
        out.add(
            3,
            L,
            "ipv6.opt.type",
            "Type",
            Value::U64(kind.into()),
            a,
            1,
            Class::Type,
        );
        if len > 1 {
            let lv = Value::U64((len - 2) as u64);
            out.add(
                3,
                L,
                "ipv6.opt.length",
                "Length",
                lv,
                a + 1,
                1,
                Class::Length,
            );
        }
        if kind == 5 && len == 4 {
            let v = Value::U64(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]).into());
            let label = "Router Alert";
            out.add(
                3,
                L,
                "ipv6.opt.router_alert",
                label,
                v,
                a + 2,
                2,
                Class::Number,
            );
        }
        pos += len;
    }
}
