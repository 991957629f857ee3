//! Transport layer: UDP (RFC 768) and TCP with its options (RFC 9293, 7323, 2018), from the
//! views of [`crate::wire::udp`] and [`crate::wire::tcp`], and the choice of application
//! dissector above them.

use super::{Class, Layer, Out, Value, dhcp, dns, get16, http, icmp, ntp};
use crate::wire::{IpAddrPair, IpProtocol, TcpOption, TcpPacket, UdpPacket};

/// What the network layer tells the transport.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    /// The addresses, for pseudo-header checksums.
    pub(crate) addrs: Option<IpAddrPair>,
    /// False for the first fragment of a fragmented datagram: the transport header is there
    /// but its length and checksum cover bytes that are not.
    pub(crate) whole: bool,
    /// Carried in IPv6 (ICMPv6 belongs to IPv6, ICMPv4 to IPv4).
    pub(crate) ipv6: bool,
}

/// Dissects the transport layer `bytes` at byte `at` of the frame.
pub(crate) fn transport(
    out: &mut Out<'_, '_>,
    protocol: IpProtocol,
    at: usize,
    bytes: &[u8],
    ctx: Context,
) {
    match protocol {
        IpProtocol::Tcp => tcp(out, at, bytes, ctx),
        IpProtocol::Udp => udp(out, at, bytes, ctx),
        IpProtocol::Icmp if !ctx.ipv6 => icmp::icmpv4(out, at, bytes, ctx),
        IpProtocol::Icmpv6 if ctx.ipv6 => icmp::icmpv6(out, at, bytes, ctx),
        _ => out.data(at, bytes.len()),
    }
}

/// Dissects a UDP datagram.
fn udp(out: &mut Out<'_, '_>, at: usize, bytes: &[u8], ctx: Context) {
    const L: Layer = Layer::Udp;
    let (Some(src), Some(dst), Some(len), Some(sum)) = (
        get16(bytes, 0),
        get16(bytes, 2),
        get16(bytes, 4),
        get16(bytes, 6),
    ) else {
        out.layer(L, at, bytes.len());
        out.problem(L, "udp.hdr", super::ProblemKind::Truncated);
        return;
    };
    out.layer(L, at, 8);
    let (sv, dv) = (Value::U64(src.into()), Value::U64(dst.into()));
    out.add(1, L, "udp.srcport", "Source Port", sv, at, 2, Class::Port);
    out.add(
        1,
        L,
        "udp.dstport",
        "Destination Port",
        dv,
        at + 2,
        2,
        Class::Port,
    );
    out.add(
        1,
        L,
        "udp.length",
        "Length",
        Value::U64(len.into()),
        at + 4,
        2,
        Class::Length,
    );
    out.add(
        1,
        L,
        "udp.checksum",
        "Checksum",
        Value::U64(sum.into()),
        at + 6,
        2,
        Class::Checksum,
    );
    if !ctx.whole {
        // A first fragment: the payload is incomplete, and no application dissector runs.
        out.data(at + 8, bytes.len() - 8);
        return;
    }
    let packet = match UdpPacket::new_checked(bytes) {
        Ok(p) => p,
        Err(e) => {
            out.wire_error(L, e);
            return;
        }
    };
    if let Some(addrs) = ctx.addrs
        && let Err(e) = packet.check_checksum(&addrs)
    {
        out.wire_error(L, e);
    }
    let payload = packet.payload_slice();
    let pat = at + 8;
    let port = |p: u16| src == p || dst == p;
    if port(67) || port(68) {
        dhcp::dhcp(out, pat, payload);
    } else if port(53) || port(5353) {
        dns::dns(out, pat, payload);
    } else if port(123) {
        ntp::ntp(out, pat, payload);
    } else {
        out.data(pat, payload.len());
    }
}

/// TCP flag bits, most significant first: (name, label, bit offset within the 12-bit
/// reserved+flags field).
const TCP_FLAGS: [(&str, &str, usize); 10] = [
    ("tcp.flags.res", "Reserved", 0),
    ("tcp.flags.ae", "Accurate ECN", 3),
    ("tcp.flags.cwr", "Congestion Window Reduced", 4),
    ("tcp.flags.ece", "ECN-Echo", 5),
    ("tcp.flags.urg", "Urgent", 6),
    ("tcp.flags.ack", "Acknowledgment", 7),
    ("tcp.flags.push", "Push", 8),
    ("tcp.flags.reset", "Reset", 9),
    ("tcp.flags.syn", "Syn", 10),
    ("tcp.flags.fin", "Fin", 11),
];

/// Dissects a TCP segment.
fn tcp(out: &mut Out<'_, '_>, at: usize, bytes: &[u8], ctx: Context) {
    const L: Layer = Layer::Tcp;
    let tcp = match TcpPacket::new_checked(bytes) {
        Ok(p) => p,
        Err(e) => {
            out.layer(L, at, bytes.len());
            out.wire_error(L, e);
            return;
        }
    };
    let hl = tcp.header_len();
    out.layer(L, at, hl);
    let (sv, dv) = (
        Value::U64(tcp.src_port().into()),
        Value::U64(tcp.dst_port().into()),
    );
    out.add(1, L, "tcp.srcport", "Source Port", sv, at, 2, Class::Port);
    out.add(
        1,
        L,
        "tcp.dstport",
        "Destination Port",
        dv,
        at + 2,
        2,
        Class::Port,
    );
    let payload = tcp.payload_slice();
    let lv = Value::U64(payload.len() as u64);
    out.add(
        1,
        L,
        "tcp.len",
        "TCP Segment Len",
        lv,
        at + hl,
        0,
        Class::Length,
    );
    let seq = Value::U64(tcp.seq_number().0.into());
    out.add(
        1,
        L,
        "tcp.seq_raw",
        "Sequence Number",
        seq,
        at + 4,
        4,
        Class::Sequence,
    );
    let ack = Value::U64(tcp.ack_number().0.into());
    let label = "Acknowledgment Number";
    out.add(1, L, "tcp.ack_raw", label, ack, at + 8, 4, Class::Sequence);
    let b = at * 8;
    let hv = Value::U64(hl as u64);
    out.add_bits(
        1,
        L,
        "tcp.hdr_len",
        "Header Length",
        hv,
        b + 96,
        4,
        Class::Length,
    );
    let word = get16(bytes, 12).unwrap_or(0) & 0x0fff;
    let fv = Value::U64(word.into());
    out.add_bits(1, L, "tcp.flags", "Flags", fv, b + 100, 12, Class::Flags);
    for (name, label, bit) in TCP_FLAGS {
        let (value, bits) = if bit == 0 {
            (Value::U64((word >> 9).into()), 3)
        } else {
            (Value::Bool(word & (0x800 >> bit) != 0), 1)
        };
        let class = if bits == 1 {
            Class::Flag
        } else {
            Class::Number
        };
        out.add_bits(2, L, name, label, value, b + 100 + bit, bits, class);
    }
    let wv = Value::U64(tcp.window_len().into());
    out.add(
        1,
        L,
        "tcp.window_size_value",
        "Window",
        wv,
        at + 14,
        2,
        Class::Number,
    );
    let cv = Value::U64(tcp.checksum().into());
    out.add(
        1,
        L,
        "tcp.checksum",
        "Checksum",
        cv,
        at + 16,
        2,
        Class::Checksum,
    );
    let uv = Value::U64(tcp.urgent_at().into());
    out.add(
        1,
        L,
        "tcp.urgent_pointer",
        "Urgent Pointer",
        uv,
        at + 18,
        2,
        Class::Number,
    );
    if hl > 20 {
        tcp_options(out, at + 20, tcp.options_slice());
    }
    if ctx.whole
        && let Some(addrs) = ctx.addrs
        && let Err(e) = tcp.check_checksum(&addrs)
    {
        out.wire_error(L, e);
    }
    let pat = at + hl;
    if payload.is_empty() {
        return;
    }
    let http_port = [80, 8080]
        .iter()
        .any(|p| [tcp.src_port(), tcp.dst_port()].contains(p));
    if !(ctx.whole && http::http(out, pat, payload, http_port)) {
        out.data(pat, payload.len());
    }
}

/// The options of a TCP header at byte `at` of the frame.
fn tcp_options(out: &mut Out<'_, '_>, at: usize, bytes: &[u8]) {
    const L: Layer = Layer::Tcp;
    let value = Value::Bytes {
        start: at as u32,
        len: bytes.len() as u32,
    };
    out.add(
        1,
        L,
        "tcp.options",
        "Options",
        value,
        at,
        bytes.len(),
        Class::Group,
    );
    let mut pos = 0;
    while pos < bytes.len() && !out.is_full() {
        let rest = &bytes[pos..];
        let (option, len) = match TcpOption::parse(rest) {
            Ok(parsed) => parsed,
            Err(e) => {
                out.wire_error(L, e);
                return;
            }
        };
        let a = at + pos;
        let len = if matches!(option, TcpOption::EndOfList) {
            1
        } else {
            len
        };
        let (name, label) = match option {
            TcpOption::EndOfList => ("tcp.options.eol", "End of Option List (EOL)"),
            TcpOption::NoOperation => ("tcp.options.nop", "No-Operation (NOP)"),
            TcpOption::MaxSegmentSize(_) => ("tcp.options.mss", "Maximum segment size"),
            TcpOption::WindowScale(_) => ("tcp.options.wscale", "Window scale"),
            TcpOption::SackPermitted => ("tcp.options.sack_perm", "SACK permitted"),
            TcpOption::SackRange(_) => ("tcp.options.sack", "SACK"),
            TcpOption::Timestamps { .. } => ("tcp.options.timestamp", "Timestamps"),
            TcpOption::Unknown { .. } => ("tcp.options.unknown", "Unknown option"),
        };
        let value = Value::Bytes {
            start: a as u32,
            len: len as u32,
        };
        out.add(2, L, name, label, value, a, len, Class::Group);
        let kv = Value::U64(rest[0].into());
        out.add(3, L, "tcp.option_kind", "Kind", kv, a, 1, Class::Type);
        if len >= 2 {
            let lv = Value::U64(rest[1].into());
            out.add(
                3,
                L,
                "tcp.option_len",
                "Length",
                lv,
                a + 1,
                1,
                Class::Length,
            );
        }
        match option {
            TcpOption::MaxSegmentSize(mss) => {
                let v = Value::U64(mss.into());
                out.add(
                    3,
                    L,
                    "tcp.options.mss_val",
                    "MSS Value",
                    v,
                    a + 2,
                    2,
                    Class::Number,
                );
            }
            TcpOption::WindowScale(shift) => {
                let v = Value::U64(shift.into());
                let name = "tcp.options.wscale.shift";
                out.add(3, L, name, "Shift count", v, a + 2, 1, Class::Number);
            }
            TcpOption::SackRange(blocks) => {
                for (i, (le, re)) in blocks.iter().enumerate() {
                    let p = a + 2 + 8 * i;
                    let (lv, rv) = (Value::U64(le.into()), Value::U64(re.into()));
                    let name = "tcp.options.sack_le";
                    out.add(3, L, name, "left edge", lv, p, 4, Class::Sequence);
                    let name = "tcp.options.sack_re";
                    out.add(3, L, name, "right edge", rv, p + 4, 4, Class::Sequence);
                }
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                let (v, e) = (Value::U64(tsval.into()), Value::U64(tsecr.into()));
                let name = "tcp.options.timestamp.tsval";
                out.add(3, L, name, "Timestamp value", v, a + 2, 4, Class::Timestamp);
                let name = "tcp.options.timestamp.tsecr";
                out.add(
                    3,
                    L,
                    name,
                    "Timestamp echo reply",
                    e,
                    a + 6,
                    4,
                    Class::Timestamp,
                );
            }
            _ => {}
        }
        if matches!(option, TcpOption::EndOfList) {
            // The rest of the options area is padding (RFC 9293 §3.1).
            let rest = bytes.len() - pos - 1;
            if rest > 0 {
                let value = Value::Bytes {
                    start: (a + 1) as u32,
                    len: rest as u32,
                };
                out.add(
                    2,
                    L,
                    "tcp.options.padding",
                    "Padding",
                    value,
                    a + 1,
                    rest,
                    Class::Payload,
                );
            }
            return;
        }
        pos += len;
    }
}
