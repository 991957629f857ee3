//! DHCPv4 (RFC 2131) over BOOTP (RFC 951), with its options (RFC 2132), walked here for the
//! offset of every field.

use super::{Class, Layer, Out, ProblemKind, Value, get16, get32};

const L: Layer = Layer::Dhcp;

/// The fixed BOOTP part before the options, magic cookie included.
const FIXED_LEN: usize = 240;

fn message_type_name(t: u8) -> &'static str {
    match t {
        1 => "Discover",
        2 => "Offer",
        3 => "Request",
        4 => "Decline",
        5 => "ACK",
        6 => "NAK",
        7 => "Release",
        8 => "Inform",
        _ => "unknown",
    }
}

fn option_name(code: u8) -> &'static str {
    match code {
        0 => "Padding",
        1 => "Subnet Mask",
        3 => "Router",
        6 => "Domain Name Server",
        12 => "Host Name",
        15 => "Domain Name",
        28 => "Broadcast Address",
        42 => "Network Time Protocol Servers",
        50 => "Requested IP Address",
        51 => "IP Address Lease Time",
        53 => "DHCP Message Type",
        54 => "DHCP Server Identifier",
        55 => "Parameter Request List",
        57 => "Maximum DHCP Message Size",
        58 => "Renewal Time Value",
        59 => "Rebinding Time Value",
        60 => "Vendor class identifier",
        61 => "Client identifier",
        81 => "Client Fully Qualified Domain Name",
        255 => "End",
        _ => "unknown",
    }
}

/// Dissects a DHCP message at byte `at` of the frame.
pub(crate) fn dhcp(out: &mut Out<'_, '_>, at: usize, msg: &[u8]) {
    out.layer(L, at, msg.len());
    if msg.len() < FIXED_LEN {
        out.problem(L, "dhcp.fixed", ProblemKind::Truncated);
        return;
    }
    let op = msg[0];
    let op_name = match op {
        1 => "Boot Request",
        2 => "Boot Reply",
        _ => "unknown",
    };
    out.add(
        1,
        L,
        "dhcp.type",
        "Message type",
        Value::Enum(op.into(), op_name),
        at,
        1,
        Class::Type,
    );
    let hw = Value::U64(msg[1].into());
    out.add(
        1,
        L,
        "dhcp.hw.type",
        "Hardware type",
        hw,
        at + 1,
        1,
        Class::Type,
    );
    let hlen = msg[2];
    let hl = Value::U64(hlen.into());
    out.add(
        1,
        L,
        "dhcp.hw.len",
        "Hardware address length",
        hl,
        at + 2,
        1,
        Class::Length,
    );
    out.add(
        1,
        L,
        "dhcp.hops",
        "Hops",
        Value::U64(msg[3].into()),
        at + 3,
        1,
        Class::Number,
    );
    let xid = Value::U64(get32(msg, 4).unwrap_or(0).into());
    out.add(1, L, "dhcp.id", "Transaction ID", xid, at + 4, 4, Class::Id);
    let secs = Value::U64(get16(msg, 8).unwrap_or(0).into());
    out.add(
        1,
        L,
        "dhcp.secs",
        "Seconds elapsed",
        secs,
        at + 8,
        2,
        Class::Number,
    );
    let flags = get16(msg, 10).unwrap_or(0);
    out.add(
        1,
        L,
        "dhcp.flags",
        "Bootp flags",
        Value::U64(flags.into()),
        at + 10,
        2,
        Class::Flags,
    );
    let bc = Value::Bool(flags & 0x8000 != 0);
    out.add_bits(
        2,
        L,
        "dhcp.flags.bc",
        "Broadcast flag",
        bc,
        (at + 10) * 8,
        1,
        Class::Flag,
    );
    let addrs = [
        ("dhcp.ip.client", "Client IP address"),
        ("dhcp.ip.your", "Your (client) IP address"),
        ("dhcp.ip.server", "Next server IP address"),
        ("dhcp.ip.relay", "Relay agent IP address"),
    ];
    for (i, (name, label)) in addrs.into_iter().enumerate() {
        let p = 12 + 4 * i;
        let v = Value::Ipv4([msg[p], msg[p + 1], msg[p + 2], msg[p + 3]].into());
        out.add(1, L, name, label, v, at + p, 4, Class::Address);
    }
    if hlen == 6 {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&msg[28..34]);
        out.add(
            1,
            L,
            "dhcp.hw.mac_addr",
            "Client MAC address",
            Value::Mac(mac),
            at + 28,
            6,
            Class::Address,
        );
    } else {
        let v = Value::Bytes {
            start: (at + 28) as u32,
            len: 16,
        };
        out.add(
            1,
            L,
            "dhcp.hw.addr",
            "Client hardware address",
            v,
            at + 28,
            16,
            Class::Address,
        );
    }
    for (p, len, name, label) in [
        (44, 64, "dhcp.server", "Server host name"),
        (108, 128, "dhcp.file", "Boot file name"),
    ] {
        let text = msg[p..p + len].iter().position(|&b| b == 0).unwrap_or(len);
        if text > 0 {
            let v = Value::Str {
                start: (at + p) as u32,
                len: text as u32,
            };
            out.add(1, L, name, label, v, at + p, len, Class::Text);
        }
    }
    let cookie = get32(msg, 236).unwrap_or(0);
    let cv = Value::Ipv4(cookie.into());
    out.add(
        1,
        L,
        "dhcp.cookie",
        "Magic cookie",
        cv,
        at + 236,
        4,
        Class::Id,
    );
    if cookie != 0x6382_5363 {
        out.problem(L, "dhcp.cookie", ProblemKind::BadLength);
        return;
    }
    options(out, at, msg);
}

/// The options after the magic cookie.
fn options(out: &mut Out<'_, '_>, at: usize, msg: &[u8]) {
    let mut pos = FIXED_LEN;
    while pos < msg.len() && !out.is_full() {
        let code = msg[pos];
        let a = at + pos;
        if code == 0 || code == 255 {
            // Pad and End have no length (RFC 2132 §3.1, §3.2).
            let v = Value::Enum(code.into(), option_name(code));
            out.add(1, L, "dhcp.option.type", "Option", v, a, 1, Class::Group);
            if code == 255 {
                let rest = msg.len() - pos - 1;
                if rest > 0 {
                    let v = Value::Bytes {
                        start: (a + 1) as u32,
                        len: rest as u32,
                    };
                    out.add(
                        1,
                        L,
                        "dhcp.option.padding",
                        "Padding",
                        v,
                        a + 1,
                        rest,
                        Class::Payload,
                    );
                }
                return;
            }
            pos += 1;
            continue;
        }
        let Some(&len) = msg.get(pos + 1) else {
            out.problem(L, "dhcp.option.length", ProblemKind::Truncated);
            return;
        };
        let len = usize::from(len);
        let Some(data) = msg.get(pos + 2..pos + 2 + len) else {
            out.problem(L, "dhcp.option.length", ProblemKind::BadLength);
            return;
        };
        let v = Value::Enum(code.into(), option_name(code));
        out.add(
            1,
            L,
            "dhcp.option.type",
            "Option",
            v,
            a,
            len + 2,
            Class::Group,
        );
        let lv = Value::U64(len as u64);
        out.add(
            2,
            L,
            "dhcp.option.length",
            "Length",
            lv,
            a + 1,
            1,
            Class::Length,
        );
        option_value(out, code, a + 2, data);
        pos += 2 + len;
    }
}

/// The value of option `code`: `data` at byte `a` of the frame.
fn option_value(out: &mut Out<'_, '_>, code: u8, a: usize, data: &[u8]) {
    let ipv4s = |out: &mut Out<'_, '_>, name: &'static str, label: &'static str| {
        for (i, c) in data.chunks_exact(4).enumerate() {
            let v = Value::Ipv4([c[0], c[1], c[2], c[3]].into());
            out.add(2, L, name, label, v, a + 4 * i, 4, Class::Address);
        }
    };
    let u32v = |out: &mut Out<'_, '_>, name: &'static str, label: &'static str| {
        if let Some(v) = get32(data, 0) {
            out.add(2, L, name, label, Value::U64(v.into()), a, 4, Class::Number);
        }
    };
    let text = |out: &mut Out<'_, '_>, name: &'static str, label: &'static str| {
        let v = Value::Str {
            start: a as u32,
            len: data.len() as u32,
        };
        out.add(2, L, name, label, v, a, data.len(), Class::Text);
    };
    match code {
        53 if data.len() == 1 => {
            let v = Value::Enum(data[0].into(), message_type_name(data[0]));
            out.add(2, L, "dhcp.option.dhcp", "DHCP", v, a, 1, Class::Type);
        }
        1 => ipv4s(out, "dhcp.option.subnet_mask", "Subnet Mask"),
        3 => ipv4s(out, "dhcp.option.router", "Router"),
        6 => ipv4s(out, "dhcp.option.domain_name_server", "Domain Name Server"),
        28 => ipv4s(out, "dhcp.option.broadcast_address", "Broadcast Address"),
        42 => ipv4s(
            out,
            "dhcp.option.ntp_server",
            "Network Time Protocol Server",
        ),
        50 => ipv4s(
            out,
            "dhcp.option.requested_ip_address",
            "Requested IP Address",
        ),
        54 => ipv4s(out, "dhcp.option.dhcp_server_id", "DHCP Server Identifier"),
        51 => u32v(
            out,
            "dhcp.option.ip_address_lease_time",
            "IP Address Lease Time",
        ),
        58 => u32v(out, "dhcp.option.renewal_time_value", "Renewal Time Value"),
        59 => u32v(
            out,
            "dhcp.option.rebinding_time_value",
            "Rebinding Time Value",
        ),
        12 => text(out, "dhcp.option.hostname", "Host Name"),
        15 => text(out, "dhcp.option.domain_name", "Domain Name"),
        60 => text(
            out,
            "dhcp.option.vendor_class_id",
            "Vendor class identifier",
        ),
        57 => {
            if let Some(v) = get16(data, 0) {
                let name = "dhcp.option.dhcp_max_message_size";
                out.add(
                    2,
                    L,
                    name,
                    "Maximum DHCP Message Size",
                    Value::U64(v.into()),
                    a,
                    2,
                    Class::Length,
                );
            }
        }
        61 if data.len() == 7 && data[0] == 1 => {
            // Client identifier of hardware type 1 (RFC 2132 §9.14): a MAC address.
            let hv = Value::U64(1);
            out.add(2, L, "dhcp.hw.type", "Hardware type", hv, a, 1, Class::Type);
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&data[1..]);
            let label = "Client MAC address";
            out.add(
                2,
                L,
                "dhcp.hw.mac_addr",
                label,
                Value::Mac(mac),
                a + 1,
                6,
                Class::Address,
            );
        }
        55 => {
            for (i, &item) in data.iter().enumerate() {
                let v = Value::Enum(item.into(), option_name(item));
                let name = "dhcp.option.request_list_item";
                out.add(
                    2,
                    L,
                    name,
                    "Parameter Request List Item",
                    v,
                    a + i,
                    1,
                    Class::Type,
                );
            }
        }
        _ if !data.is_empty() => {
            let v = Value::Bytes {
                start: a as u32,
                len: data.len() as u32,
            };
            out.add(
                2,
                L,
                "dhcp.option.value",
                "Value",
                v,
                a,
                data.len(),
                Class::Payload,
            );
        }
        _ => {}
    }
}
