//! Link layer: Ethernet II (IEEE 802.3 clause 3), 802.1Q / 802.1ad VLAN tags, and ARP
//! (RFC 826), from the views of [`crate::wire::ethernet`] and [`crate::wire::arp`].

use super::{Class, Layer, Out, Value, ip};
use crate::wire::{ArpPacket, EtherType, EthernetFrame, be16};

/// The name of an EtherType, for [`Value::Enum`].
pub(crate) fn ethertype_name(value: u16) -> &'static str {
    match value {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x8100 => "802.1Q Virtual LAN",
        0x86dd => "IPv6",
        0x88a8 => "802.1ad Provider Bridge (Q-in-Q)",
        0x9100 => "QinQ (legacy)",
        0x88cc => "LLDP",
        _ => "unknown",
    }
}

/// Dissects the Ethernet header, its VLAN tags, and everything above.
pub(crate) fn ethernet(out: &mut Out<'_, '_>) {
    let frame = out.frame;
    let eth = match EthernetFrame::new_checked(frame) {
        Ok(eth) => eth,
        Err(e) => {
            out.layer(Layer::Ethernet, 0, frame.len());
            out.wire_error(Layer::Ethernet, e);
            return;
        }
    };
    const L: Layer = Layer::Ethernet;
    out.layer(L, 0, 14);
    let dst = Value::Mac(eth.dst_addr().0);
    out.add(1, L, "eth.dst", "Destination", dst, 0, 6, Class::Address);
    let src = Value::Mac(eth.src_addr().0);
    out.add(1, L, "eth.src", "Source", src, 6, 6, Class::Address);
    let first = be16(frame, 12);
    let value = Value::Enum(first.into(), ethertype_name(first));
    out.add(1, L, "eth.type", "Type", value, 12, 2, Class::Type);
    for index in 0..eth.vlan_count() {
        let Some(tag) = eth.vlan_tag(index) else {
            break;
        };
        // Tag `index`: its TCI at 14 + 4 * index, the next type right after it.
        let at = 14 + 4 * index;
        let (layer, prefix) = if tag.tpid == EtherType::ServiceVlan {
            (Layer::ServiceVlan, 1)
        } else {
            (Layer::Vlan, 0)
        };
        out.layer(layer, at, 4);
        let names = [
            [
                "vlan.priority",
                "vlan.dei",
                "vlan.id",
                "vlan.etype",
                "vlan.tci",
            ],
            [
                "ieee8021ad.priority",
                "ieee8021ad.dei",
                "ieee8021ad.id",
                "ieee8021ad.etype",
                "ieee8021ad.tci",
            ],
        ][prefix];
        let tci = Value::U64(tag.tci().into());
        out.add(
            1,
            layer,
            names[4],
            "Tag Control Information",
            tci,
            at,
            2,
            Class::Flags,
        );
        let (pcp, dei, vid) = (
            Value::U64(tag.pcp.into()),
            Value::Bool(tag.dei),
            Value::U64(tag.vid.into()),
        );
        out.add_bits(
            2,
            layer,
            names[0],
            "Priority",
            pcp,
            at * 8,
            3,
            Class::Number,
        );
        out.add_bits(2, layer, names[1], "DEI", dei, at * 8 + 3, 1, Class::Flag);
        out.add_bits(2, layer, names[2], "ID", vid, at * 8 + 4, 12, Class::Id);
        let next = be16(frame, at + 2);
        let value = Value::Enum(next.into(), ethertype_name(next));
        out.add(1, layer, names[3], "Type", value, at + 2, 2, Class::Type);
    }
    let header_len = eth.header_len();
    let ethertype = be16(frame, header_len - 2);
    match EtherType::from(ethertype) {
        EtherType::Ipv4 => ip::ipv4(out, header_len),
        EtherType::Ipv6 => ip::ipv6(out, header_len),
        EtherType::Arp => arp(out, header_len),
        _ => out.data(header_len, frame.len() - header_len),
    }
}

/// Dissects an ARP packet at byte `at`.
fn arp(out: &mut Out<'_, '_>, at: usize) {
    const L: Layer = Layer::Arp;
    let bytes = &out.frame[at..];
    let arp = match ArpPacket::new_checked(bytes) {
        Ok(arp) => arp,
        Err(e) => {
            out.layer(L, at, bytes.len());
            out.wire_error(L, e);
            return;
        }
    };
    out.layer(L, at, arp.packet_len());
    let hw = be16(bytes, 0);
    let hw_name = if hw == 1 { "Ethernet" } else { "unknown" };
    let value = Value::Enum(hw.into(), hw_name);
    out.add(
        1,
        L,
        "arp.hw.type",
        "Hardware type",
        value,
        at,
        2,
        Class::Type,
    );
    let proto = be16(bytes, 2);
    let value = Value::Enum(proto.into(), ethertype_name(proto));
    out.add(
        1,
        L,
        "arp.proto.type",
        "Protocol type",
        value,
        at + 2,
        2,
        Class::Type,
    );
    let (hlen, plen) = (arp.hardware_len(), arp.protocol_len());
    let value = Value::U64(hlen.into());
    out.add(
        1,
        L,
        "arp.hw.size",
        "Hardware size",
        value,
        at + 4,
        1,
        Class::Length,
    );
    let value = Value::U64(plen.into());
    out.add(
        1,
        L,
        "arp.proto.size",
        "Protocol size",
        value,
        at + 5,
        1,
        Class::Length,
    );
    let op = u16::from(arp.operation());
    let op_name = match op {
        1 => "request",
        2 => "reply",
        _ => "unknown",
    };
    let value = Value::Enum(op.into(), op_name);
    out.add(1, L, "arp.opcode", "Opcode", value, at + 6, 2, Class::Type);
    let addrs = [
        (
            arp.source_hardware_addr(),
            "arp.src.hw_mac",
            "Sender MAC address",
        ),
        (
            arp.source_protocol_addr(),
            "arp.src.proto_ipv4",
            "Sender IP address",
        ),
        (
            arp.target_hardware_addr(),
            "arp.dst.hw_mac",
            "Target MAC address",
        ),
        (
            arp.target_protocol_addr(),
            "arp.dst.proto_ipv4",
            "Target IP address",
        ),
    ];
    for (bytes, name, label) in addrs {
        let start = out.offset_of(bytes);
        let value = match *bytes {
            [a, b, c, d, e, f] => Value::Mac([a, b, c, d, e, f]),
            [a, b, c, d] => Value::Ipv4([a, b, c, d].into()),
            _ => Value::Bytes {
                start: start as u32,
                len: bytes.len() as u32,
            },
        };
        out.add(1, L, name, label, value, start, bytes.len(), Class::Address);
    }
}
