//! ICMPv4 (RFC 792) with the datagram quoted by an error, and ICMPv6 (RFC 4443) with
//! Neighbor Discovery (RFC 4861), from the views of [`crate::wire::icmpv4`] and
//! [`crate::wire::icmpv6`].

use super::l4::Context;
use super::{Class, Layer, Out, Value, get16, get32, ip};
use crate::wire::icmpv4::QuotedIpv4;
use crate::wire::{Icmpv4Packet, Icmpv6Message, Icmpv6Packet, IpProtocol, NdpOption};

fn icmpv4_name(t: u8) -> &'static str {
    match t {
        0 => "Echo (ping) reply",
        3 => "Destination unreachable",
        4 => "Source quench",
        5 => "Redirect",
        8 => "Echo (ping) request",
        9 => "Router advertisement",
        10 => "Router solicitation",
        11 => "Time-to-live exceeded",
        12 => "Parameter problem",
        13 => "Timestamp",
        14 => "Timestamp reply",
        _ => "unknown",
    }
}

/// Dissects an ICMPv4 message.
pub(crate) fn icmpv4(out: &mut Out<'_, '_>, at: usize, bytes: &[u8], ctx: Context) {
    const L: Layer = Layer::Icmpv4;
    let icmp = match Icmpv4Packet::new_checked(bytes) {
        Ok(p) => p,
        Err(e) => {
            out.layer(L, at, bytes.len());
            out.wire_error(L, e);
            return;
        }
    };
    out.layer(L, at, bytes.len());
    let t = bytes[0];
    let tv = Value::Enum(t.into(), icmpv4_name(t));
    out.add(1, L, "icmp.type", "Type", tv, at, 1, Class::Type);
    out.add(
        1,
        L,
        "icmp.code",
        "Code",
        Value::U64(bytes[1].into()),
        at + 1,
        1,
        Class::Type,
    );
    let cv = Value::U64(icmp.checksum().into());
    out.add(
        1,
        L,
        "icmp.checksum",
        "Checksum",
        cv,
        at + 2,
        2,
        Class::Checksum,
    );
    if ctx.whole
        && let Err(e) = icmp.check_checksum()
    {
        out.wire_error(L, e);
    }
    match t {
        0 | 8 | 13 | 14 => {
            let iv = Value::U64(icmp.echo_ident().into());
            out.add(1, L, "icmp.ident", "Identifier", iv, at + 4, 2, Class::Id);
            let sv = Value::U64(icmp.echo_seq_no().into());
            out.add(
                1,
                L,
                "icmp.seq",
                "Sequence Number",
                sv,
                at + 6,
                2,
                Class::Sequence,
            );
        }
        3 if bytes[1] == 4 => {
            let mv = Value::U64(icmp.next_hop_mtu().into());
            out.add(
                1,
                L,
                "icmp.mtu",
                "MTU of next hop",
                mv,
                at + 6,
                2,
                Class::Number,
            );
        }
        5 => {
            let gv = Value::Ipv4(icmp.gateway());
            out.add(
                1,
                L,
                "icmp.redir_gw",
                "Gateway Address",
                gv,
                at + 4,
                4,
                Class::Address,
            );
        }
        12 => {
            let pv = Value::U64(icmp.pointer().into());
            out.add(
                1,
                L,
                "icmp.pointer",
                "Pointer",
                pv,
                at + 4,
                1,
                Class::Number,
            );
        }
        _ => {}
    }
    let data = icmp.data_slice();
    if icmp.msg_type().is_error()
        && let Ok(quoted) = QuotedIpv4::parse(data)
    {
        quoted_ipv4(out, at + 8, &quoted);
        return;
    }
    if !data.is_empty() {
        let value = Value::Bytes {
            start: (at + 8) as u32,
            len: data.len() as u32,
        };
        out.add(
            1,
            L,
            "icmp.data",
            "Data",
            value,
            at + 8,
            data.len(),
            Class::Payload,
        );
    }
}

/// The datagram quoted by an ICMPv4 error (at byte `at`): its IPv4 header and the ports of
/// a quoted UDP or TCP header, as layers nested in the ICMP layer (as tshark shows them).
fn quoted_ipv4(out: &mut Out<'_, '_>, at: usize, quoted: &QuotedIpv4<'_>) {
    out.depth += 1;
    out.layer(Layer::Ipv4, at, quoted.header.len());
    ip::ipv4_header(out, at, quoted.header, 1);
    let pat = at + quoted.header.len();
    let p = quoted.payload;
    if quoted.frag_offset == 0 {
        match quoted.protocol {
            IpProtocol::Udp if p.len() >= 8 => {
                const L: Layer = Layer::Udp;
                out.layer(L, pat, 8);
                let v = |at: usize| Value::U64(get16(p, at).unwrap_or(0).into());
                out.add(
                    1,
                    L,
                    "udp.srcport",
                    "Source Port",
                    v(0),
                    pat,
                    2,
                    Class::Port,
                );
                out.add(
                    1,
                    L,
                    "udp.dstport",
                    "Destination Port",
                    v(2),
                    pat + 2,
                    2,
                    Class::Port,
                );
                out.add(
                    1,
                    L,
                    "udp.length",
                    "Length",
                    v(4),
                    pat + 4,
                    2,
                    Class::Length,
                );
                out.add(
                    1,
                    L,
                    "udp.checksum",
                    "Checksum",
                    v(6),
                    pat + 6,
                    2,
                    Class::Checksum,
                );
            }
            IpProtocol::Tcp if p.len() >= 8 => {
                const L: Layer = Layer::Tcp;
                out.layer(L, pat, p.len().min(20));
                let v = |at: usize| Value::U64(get16(p, at).unwrap_or(0).into());
                out.add(
                    1,
                    L,
                    "tcp.srcport",
                    "Source Port",
                    v(0),
                    pat,
                    2,
                    Class::Port,
                );
                out.add(
                    1,
                    L,
                    "tcp.dstport",
                    "Destination Port",
                    v(2),
                    pat + 2,
                    2,
                    Class::Port,
                );
                let sv = Value::U64(get32(p, 4).unwrap_or(0).into());
                let label = "Sequence Number";
                out.add(1, L, "tcp.seq_raw", label, sv, pat + 4, 4, Class::Sequence);
            }
            IpProtocol::Icmp if p.len() >= 4 => {
                const L: Layer = Layer::Icmpv4;
                out.layer(L, pat, p.len());
                let tv = Value::Enum(p[0].into(), icmpv4_name(p[0]));
                out.add(1, L, "icmp.type", "Type", tv, pat, 1, Class::Type);
                out.add(
                    1,
                    L,
                    "icmp.code",
                    "Code",
                    Value::U64(p[1].into()),
                    pat + 1,
                    1,
                    Class::Type,
                );
            }
            _ => {}
        }
    }
    out.depth -= 1;
}

/// Dissects an ICMPv6 message.
pub(crate) fn icmpv6(out: &mut Out<'_, '_>, at: usize, bytes: &[u8], ctx: Context) {
    const L: Layer = Layer::Icmpv6;
    let icmp = match Icmpv6Packet::new_checked(bytes) {
        Ok(p) => p,
        Err(e) => {
            out.layer(L, at, bytes.len());
            out.wire_error(L, e);
            return;
        }
    };
    out.layer(L, at, bytes.len());
    let msg = icmp.msg_type();
    let t = bytes[0];
    let tv = Value::Enum(t.into(), msg.name());
    out.add(1, L, "icmpv6.type", "Type", tv, at, 1, Class::Type);
    out.add(
        1,
        L,
        "icmpv6.code",
        "Code",
        Value::U64(bytes[1].into()),
        at + 1,
        1,
        Class::Type,
    );
    let cv = Value::U64(icmp.checksum().into());
    out.add(
        1,
        L,
        "icmpv6.checksum",
        "Checksum",
        cv,
        at + 2,
        2,
        Class::Checksum,
    );
    if let (true, Some(addrs)) = (ctx.whole, ctx.addrs)
        && let Err(e) = icmp.check_checksum(&addrs)
    {
        out.wire_error(L, e);
    }
    icmpv6_body(out, at, &icmp, msg);
    let payload = icmp.payload_slice();
    let pat = at + icmp.header_len();
    if msg.is_ndp() {
        ndp_options(out, &icmp, pat);
    } else if msg.is_error() && payload.len() >= 40 {
        quoted_ipv6(out, pat, payload);
    } else if !payload.is_empty() {
        let value = Value::Bytes {
            start: pat as u32,
            len: payload.len() as u32,
        };
        out.add(
            1,
            L,
            "icmpv6.data",
            "Data",
            value,
            pat,
            payload.len(),
            Class::Payload,
        );
    }
}

/// The fixed fields after type, code and checksum.
fn icmpv6_body(out: &mut Out<'_, '_>, at: usize, icmp: &Icmpv6Packet<&[u8]>, msg: Icmpv6Message) {
    const L: Layer = Layer::Icmpv6;
    let b = (at + 4) * 8;
    match msg {
        Icmpv6Message::EchoRequest | Icmpv6Message::EchoReply => {
            let iv = Value::U64(icmp.ident().into());
            let name = "icmpv6.echo.identifier";
            out.add(1, L, name, "Identifier", iv, at + 4, 2, Class::Id);
            let sv = Value::U64(icmp.seq_no().into());
            let name = "icmpv6.echo.sequence_number";
            out.add(1, L, name, "Sequence", sv, at + 6, 2, Class::Sequence);
        }
        Icmpv6Message::PktTooBig => {
            let mv = Value::U64(icmp.mtu().into());
            out.add(1, L, "icmpv6.mtu", "MTU", mv, at + 4, 4, Class::Number);
        }
        Icmpv6Message::ParamProblem => {
            let pv = Value::U64(icmp.pointer().into());
            out.add(
                1,
                L,
                "icmpv6.pointer",
                "Pointer",
                pv,
                at + 4,
                4,
                Class::Number,
            );
        }
        Icmpv6Message::RouterAdvert => {
            let hv = Value::U64(icmp.cur_hop_limit().into());
            let name = "icmpv6.nd.ra.cur_hop_limit";
            out.add(1, L, name, "Cur hop limit", hv, at + 4, 1, Class::Number);
            let fv = Value::U64(out.frame[at + 5].into());
            out.add(
                1,
                L,
                "icmpv6.nd.ra.flag",
                "Flags",
                fv,
                at + 5,
                1,
                Class::Flags,
            );
            let m = Value::Bool(icmp.managed());
            out.add_bits(
                2,
                L,
                "icmpv6.nd.ra.flag.m",
                "Managed",
                m,
                b + 8,
                1,
                Class::Flag,
            );
            let o = Value::Bool(icmp.other());
            out.add_bits(
                2,
                L,
                "icmpv6.nd.ra.flag.o",
                "Other",
                o,
                b + 9,
                1,
                Class::Flag,
            );
            let lv = Value::U64(icmp.router_lifetime().into());
            let name = "icmpv6.nd.ra.router_lifetime";
            out.add(
                1,
                L,
                name,
                "Router lifetime (s)",
                lv,
                at + 6,
                2,
                Class::Number,
            );
            let rv = Value::U64(icmp.reachable_time().into());
            let name = "icmpv6.nd.ra.reachable_time";
            out.add(
                1,
                L,
                name,
                "Reachable time (ms)",
                rv,
                at + 8,
                4,
                Class::Number,
            );
            let tv = Value::U64(icmp.retrans_time().into());
            let name = "icmpv6.nd.ra.retrans_timer";
            out.add(
                1,
                L,
                name,
                "Retrans timer (ms)",
                tv,
                at + 12,
                4,
                Class::Number,
            );
        }
        Icmpv6Message::NeighborSolicit => {
            let tv = Value::Ipv6(icmp.target_addr());
            let name = "icmpv6.nd.ns.target_address";
            out.add(1, L, name, "Target Address", tv, at + 8, 16, Class::Address);
        }
        Icmpv6Message::NeighborAdvert => {
            let fv = Value::U64(get32(out.frame, at + 4).unwrap_or(0).into());
            out.add(
                1,
                L,
                "icmpv6.nd.na.flag",
                "Flags",
                fv,
                at + 4,
                4,
                Class::Flags,
            );
            let flags = [
                ("icmpv6.nd.na.flag.r", "Router", icmp.router()),
                ("icmpv6.nd.na.flag.s", "Solicited", icmp.solicited()),
                ("icmpv6.nd.na.flag.o", "Override", icmp.override_flag()),
            ];
            for (i, (name, label, v)) in flags.into_iter().enumerate() {
                out.add_bits(2, L, name, label, Value::Bool(v), b + i, 1, Class::Flag);
            }
            let tv = Value::Ipv6(icmp.target_addr());
            let name = "icmpv6.nd.na.target_address";
            out.add(1, L, name, "Target Address", tv, at + 8, 16, Class::Address);
        }
        Icmpv6Message::Redirect => {
            let tv = Value::Ipv6(icmp.target_addr());
            let name = "icmpv6.nd.rd.target_address";
            out.add(1, L, name, "Target Address", tv, at + 8, 16, Class::Address);
            let dv = Value::Ipv6(icmp.dest_addr());
            let name = "icmpv6.nd.rd.destination_address";
            out.add(
                1,
                L,
                name,
                "Destination Address",
                dv,
                at + 24,
                16,
                Class::Address,
            );
        }
        _ => {}
    }
}

/// The NDP options after the fixed part, at byte `at`: the wire layer decodes each, the
/// offsets come from walking the same type/length layout.
fn ndp_options(out: &mut Out<'_, '_>, icmp: &Icmpv6Packet<&[u8]>, at: usize) {
    const L: Layer = Layer::Icmpv6;
    let mut pos = at;
    for option in icmp.ndp_options_slice() {
        if out.is_full() {
            return;
        }
        let option = match option {
            Ok(o) => o,
            Err(e) => {
                out.wire_error(L, e);
                return;
            }
        };
        // The iterator only yields options that fit, with a length of at least 1 unit.
        let kind = out.frame[pos];
        let units = out.frame[pos + 1];
        let len = usize::from(units) * 8;
        let name = match kind {
            1 => "Source link-layer address",
            2 => "Target link-layer address",
            3 => "Prefix information",
            4 => "Redirected header",
            5 => "MTU",
            14 => "Nonce",
            _ => "unknown",
        };
        let value = Value::Enum(kind.into(), name);
        out.add(
            1,
            L,
            "icmpv6.opt",
            "ICMPv6 Option",
            value,
            pos,
            len,
            Class::Group,
        );
        out.add(
            2,
            L,
            "icmpv6.opt.type",
            "Type",
            Value::U64(kind.into()),
            pos,
            1,
            Class::Type,
        );
        let lv = Value::U64(units.into());
        out.add(
            2,
            L,
            "icmpv6.opt.length",
            "Length (8-octet units)",
            lv,
            pos + 1,
            1,
            Class::Length,
        );
        match option {
            NdpOption::SourceLinkLayerAddr(mac) | NdpOption::TargetLinkLayerAddr(mac) => {
                let v = Value::Mac(mac.0);
                let label = "Link-layer address";
                out.add(
                    2,
                    L,
                    "icmpv6.opt.linkaddr",
                    label,
                    v,
                    pos + 2,
                    6,
                    Class::Address,
                );
            }
            NdpOption::Mtu(mtu) => {
                let v = Value::U64(mtu.into());
                out.add(2, L, "icmpv6.opt.mtu", "MTU", v, pos + 4, 4, Class::Number);
            }
            NdpOption::PrefixInformation(p) => {
                let v = Value::U64(p.prefix_len.into());
                let label = "Prefix Length";
                out.add(
                    2,
                    L,
                    "icmpv6.opt.prefix.length",
                    label,
                    v,
                    pos + 2,
                    1,
                    Class::Length,
                );
                let b = (pos + 3) * 8;
                let (l, a) = (Value::Bool(p.on_link), Value::Bool(p.autonomous));
                let name = "icmpv6.opt.prefix.flag.l";
                out.add_bits(2, L, name, "On-link flag (L)", l, b, 1, Class::Flag);
                let name = "icmpv6.opt.prefix.flag.a";
                out.add_bits(2, L, name, "Autonomous flag (A)", a, b + 1, 1, Class::Flag);
                let v = Value::U64(p.valid_lifetime.into());
                let name = "icmpv6.opt.prefix.valid_lifetime";
                out.add(2, L, name, "Valid Lifetime", v, pos + 4, 4, Class::Number);
                let v = Value::U64(p.preferred_lifetime.into());
                let name = "icmpv6.opt.prefix.preferred_lifetime";
                out.add(
                    2,
                    L,
                    name,
                    "Preferred Lifetime",
                    v,
                    pos + 8,
                    4,
                    Class::Number,
                );
                let v = Value::Ipv6(p.prefix);
                out.add(
                    2,
                    L,
                    "icmpv6.opt.prefix",
                    "Prefix",
                    v,
                    pos + 16,
                    16,
                    Class::Address,
                );
            }
            NdpOption::Unknown { kind: 14, data } => {
                let value = Value::Bytes {
                    start: (pos + 2) as u32,
                    len: data.len() as u32,
                };
                out.add(
                    2,
                    L,
                    "icmpv6.opt.nonce",
                    "Nonce",
                    value,
                    pos + 2,
                    data.len(),
                    Class::Id,
                );
            }
            _ => {}
        }
        pos += len;
    }
}

/// The IPv6 header quoted by an ICMPv6 error, as a nested layer.
fn quoted_ipv6(out: &mut Out<'_, '_>, at: usize, q: &[u8]) {
    const L: Layer = Layer::Ipv6;
    out.depth += 1;
    out.layer(L, at, 40);
    let plen = Value::U64(get16(q, 4).unwrap_or(0).into());
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
    let nxt = Value::Enum(q[6].into(), ip::protocol_name(q[6]));
    out.add(1, L, "ipv6.nxt", "Next Header", nxt, at + 6, 1, Class::Type);
    out.add(
        1,
        L,
        "ipv6.hlim",
        "Hop Limit",
        Value::U64(q[7].into()),
        at + 7,
        1,
        Class::Number,
    );
    let mut a = [[0u8; 16]; 2];
    a[0].copy_from_slice(&q[8..24]);
    a[1].copy_from_slice(&q[24..40]);
    let src = Value::Ipv6(a[0].into());
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
    let dst = Value::Ipv6(a[1].into());
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
    out.depth -= 1;
}
