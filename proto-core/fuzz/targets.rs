//! The fuzz targets of proto-core: one plain function per parser, `pub fn NAME(data: &[u8])`,
//! that must never panic on any input (the panic contract of `proto_core::wire`).
//!
//! Shared by the cargo-fuzz binaries (`fuzz_targets/NAME.rs`) and by `cargo test`
//! (`proto-core/tests/fuzz.rs`), which runs every target over its seed corpus, deterministic
//! mutations of it and random inputs.
//!
//! Each target builds its view with `new_checked`; on `Ok` it calls every getter, walks every
//! iterator to its end (asserting a bound on the number of items), parses the `Repr`, emits it
//! into a buffer of exactly `buffer_len()` bytes and re-parses that: the result must equal the
//! first `Repr` (where a `Repr` deliberately normalizes something the comparison says so). It
//! verifies checksums with some address pairs, and calls every setter on a copy with the value
//! the getter read, checking that the bytes do not change. Any violated property is an
//! `assert!`, i.e. a panic, which is what the fuzzer reports.

use std::fmt::{Debug, Display};
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::vec::Vec;

use proto_core::pcap::{GlobalHeader, LINKTYPE_ETHERNET, PcapReader, RecordHeader};
use proto_core::wire::arp::{ArpHardware, ETHERNET_IPV4_LEN};
use proto_core::wire::icmpv4::QuotedIpv4;
use proto_core::wire::ipv6::{
    self, FragmentInfo, Ipv6FragmentHeader, Ipv6FragmentRepr, Ipv6Option, Ipv6Options,
    Ipv6OptionsRepr, find_upper_layer, is_extension_header,
};
use proto_core::wire::tcp::SackBlocks;
use proto_core::wire::{
    ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Frame,
    Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpAddrPair, IpProtocol, Ipv4Cidr,
    Ipv4Option, Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6ExtHeader, Ipv6ExtHeaders, Ipv6Packet,
    Ipv6Repr, NdpOptions, Network, TcpControl, TcpFlags, TcpOption, TcpOptions, TcpPacket, TcpRepr,
    Transport, UdpPacket, UdpRepr, VlanTag,
};
use proto_core::wire::{Error, ErrorKind, Icmpv6Message};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Address pairs for the pseudo-header checksums of the standalone transport targets: IPv4,
/// IPv6 unicast, and IPv6 from the unspecified address to a multicast group (which NDP parsing
/// treats specially).
fn pairs() -> [IpAddrPair; 3] {
    [
        IpAddrPair::V4 {
            src: Ipv4Addr::new(192, 168, 77, 1),
            dst: Ipv4Addr::new(192, 168, 77, 2),
        },
        IpAddrPair::V6 {
            src: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1),
            dst: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2),
        },
        IpAddrPair::V6 {
            src: Ipv6Addr::UNSPECIFIED,
            dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        },
    ]
}

/// Formats a value both ways (Display and Debug must not panic either).
fn show<T: Display + Debug>(value: &T) {
    black_box(format!("{value} {value:?}"));
}

/// Formats a value that only has Debug.
fn show_debug<T: Debug>(value: &T) {
    black_box(format!("{value:?}"));
}

/// Walks `iter` to its end, asserting it yields at most `bound` items, that an `Err` can only be
/// the last item, and that it stays finished.
fn walk<T, I: Iterator<Item = Result<T, E>>, E: Debug>(
    what: &str,
    mut iter: I,
    bound: usize,
) -> Vec<Result<T, E>> {
    let mut items: Vec<Result<T, E>> = Vec::new();
    for item in iter.by_ref() {
        assert!(
            items.last().is_none_or(|last| last.is_ok()),
            "{what}: an item after an error"
        );
        items.push(item);
        assert!(
            items.len() <= bound,
            "{what}: more than {bound} items (the bound)"
        );
    }
    assert!(iter.next().is_none(), "{what}: yields again after None");
    items
}

/// True when `inner` lies inside `outer` (zero-copy views must borrow, not copy).
fn within(inner: &[u8], outer: &[u8]) -> bool {
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    o.start <= i.start && i.end <= o.end
}

/// For a failed `check_checksum`: the checksum found must be the field and the one expected
/// must differ from it. Returns the expected checksum.
fn bad_checksum(what: &str, err: &Error, field: u16) -> Option<u16> {
    show(err);
    match err.kind {
        ErrorKind::BadChecksum { found, expected } => {
            assert_eq!(found, field, "{what}: BadChecksum.found is not the field");
            Some(expected)
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Ethernet
// ---------------------------------------------------------------------------------------------

/// Ethernet II header with up to two VLAN tags; also `EthernetAddress::from_str` on the bytes.
pub fn ethernet(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(addr) = text.parse::<EthernetAddress>()
    {
        assert_eq!(addr.to_string().parse::<EthernetAddress>(), Ok(addr));
    }
    ethernet_checked(data);
}

fn ethernet_checked(data: &[u8]) -> bool {
    let frame = match EthernetFrame::new_checked(data) {
        Ok(frame) => frame,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    frame
        .check_len()
        .expect("Ethernet: check_len after new_checked");
    let (dst, src) = (frame.dst_addr(), frame.src_addr());
    for addr in [dst, src] {
        show(&addr);
        black_box((
            addr.is_broadcast(),
            addr.is_multicast(),
            addr.is_unicast(),
            addr.is_local(),
            addr.as_bytes(),
        ));
        assert_eq!(EthernetAddress::from_bytes(addr.as_bytes()), addr);
    }
    let count = frame.vlan_count();
    assert!(
        count <= proto_core::wire::ethernet::MAX_VLAN_TAGS,
        "Ethernet: vlan_count {count}"
    );
    let tags: Vec<Option<VlanTag>> = (0..4).map(|i| frame.vlan_tag(i)).collect();
    for (i, tag) in tags.iter().enumerate() {
        assert_eq!(
            tag.is_some(),
            i < count,
            "Ethernet: vlan_tag({i}) with {count} tags"
        );
        if let Some(tag) = tag {
            show_debug(tag);
            assert!(tag.tpid.is_vlan_tpid(), "Ethernet: tag {i} TPID");
            assert_eq!(VlanTag::from_tci(tag.tpid, tag.tci()), *tag);
        }
    }
    let header_len = frame.header_len();
    assert_eq!(header_len, 14 + 4 * count, "Ethernet: header_len");
    let ethertype = frame.ethertype();
    show(&ethertype);
    assert!(
        !ethertype.is_vlan_tpid(),
        "Ethernet: EtherType after the tags is a TPID"
    );
    assert_eq!(EtherType::from(u16::from(ethertype)), ethertype);
    let payload = frame.payload();
    assert_eq!(payload, &data[header_len..], "Ethernet: payload");
    assert_eq!(frame.payload_slice(), payload, "Ethernet: payload_slice");
    assert!(within(frame.payload_slice(), data));

    let repr = EthernetRepr::parse(&frame).expect("Ethernet: Repr::parse after new_checked");
    show(&repr);
    assert_eq!(repr.vlan_count(), count, "EthernetRepr: vlan_count");
    let mut buf = vec![0u8; repr.buffer_len()];
    assert_eq!(repr.emit(&mut buf), buf.len(), "EthernetRepr: emit length");
    // Every header field is in the Repr, so the emitted header is the original one.
    assert_eq!(
        &buf[..],
        &data[..header_len],
        "EthernetRepr: emitted header"
    );
    let again = EthernetFrame::new_checked(&buf[..]).expect("EthernetRepr: emitted header");
    assert_eq!(
        EthernetRepr::parse(&again),
        Ok(repr),
        "EthernetRepr: round trip"
    );

    let mut copy = data.to_vec();
    let mut view = EthernetFrame::new_checked(&mut copy[..]).expect("Ethernet: mutable view");
    view.set_dst_addr(dst);
    view.set_src_addr(src);
    view.set_ethertype(ethertype);
    let spare = VlanTag::from_tci(EtherType::Vlan, 0xffff);
    for (i, tag) in tags.iter().enumerate() {
        assert_eq!(view.set_vlan_tci(i, tag.unwrap_or(spare)), tag.is_some());
    }
    view.payload_mut().copy_from_slice(payload);
    assert_eq!(
        copy, data,
        "Ethernet: setters with the values read changed the bytes"
    );
    true
}

// ---------------------------------------------------------------------------------------------
// ARP
// ---------------------------------------------------------------------------------------------

/// ARP with any address lengths, and the Ethernet/IPv4 `ArpRepr`.
pub fn arp(data: &[u8]) {
    arp_checked(data);
}

fn arp_checked(data: &[u8]) -> bool {
    let packet = match ArpPacket::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    packet
        .check_len()
        .expect("ARP: check_len after new_checked");
    let (htype, ptype, op) = (
        packet.hardware_type(),
        packet.protocol_type(),
        packet.operation(),
    );
    show(&htype);
    show(&ptype);
    show(&op);
    let (hlen, plen) = (packet.hardware_len(), packet.protocol_len());
    let len = packet.packet_len();
    assert_eq!(len, 8 + 2 * (usize::from(hlen) + usize::from(plen)));
    assert!(
        len <= data.len(),
        "ARP: packet_len {len} > buffer {}",
        data.len()
    );
    let addrs = [
        packet.source_hardware_addr().to_vec(),
        packet.source_protocol_addr().to_vec(),
        packet.target_hardware_addr().to_vec(),
        packet.target_protocol_addr().to_vec(),
    ];
    let lens = [hlen, plen, hlen, plen];
    for (addr, want) in addrs.iter().zip(lens) {
        assert_eq!(addr.len(), usize::from(want), "ARP: address length");
    }
    assert_eq!(addrs.concat(), &data[8..len], "ARP: addresses");

    match ArpRepr::parse(&packet) {
        Ok(repr) => {
            show(&repr);
            black_box((repr.is_gratuitous(), repr.is_probe()));
            let reply = ArpRepr::reply_to(&repr, repr.target_hardware_addr);
            show(&reply);
            for r in [repr, reply] {
                let mut buf = vec![0u8; r.buffer_len()];
                assert_eq!(r.emit(&mut buf), buf.len(), "ArpRepr: emit length");
                let again = ArpPacket::new_checked(&buf[..]).expect("ArpRepr: emitted packet");
                assert_eq!(ArpRepr::parse(&again), Ok(r), "ArpRepr: round trip");
            }
            // Every field of an Ethernet/IPv4 packet is in the Repr.
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut buf);
            assert_eq!(
                &buf[..],
                &data[..ETHERNET_IPV4_LEN],
                "ArpRepr: emitted packet"
            );
        }
        Err(e) => show(&e),
    }

    let mut copy = data.to_vec();
    let mut view = ArpPacket::new_checked(&mut copy[..]).expect("ARP: mutable view");
    view.set_hardware_type(htype);
    view.set_protocol_type(ptype);
    view.set_hardware_len(hlen);
    view.set_protocol_len(plen);
    view.set_operation(op);
    view.set_source_hardware_addr(&addrs[0]);
    view.set_source_protocol_addr(&addrs[1]);
    view.set_target_hardware_addr(&addrs[2]);
    view.set_target_protocol_addr(&addrs[3]);
    assert_eq!(
        copy, data,
        "ARP: setters with the values read changed the bytes"
    );
    assert_eq!(ArpHardware::from(u16::from(htype)), htype);
    true
}

// ---------------------------------------------------------------------------------------------
// IPv4
// ---------------------------------------------------------------------------------------------

/// IPv4 header, options, checksum and `Ipv4Repr` (with and without options); also
/// `Ipv4Cidr::from_str` on the bytes.
pub fn ipv4(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cidr) = text.parse::<Ipv4Cidr>()
    {
        show(&cidr);
        black_box((cidr.netmask(), cidr.network(), cidr.broadcast()));
        assert!(cidr.contains(cidr.address()));
        assert_eq!(cidr.to_string().parse::<Ipv4Cidr>(), Ok(cidr));
    }
    ipv4_checked(data);
}

fn ipv4_checked(data: &[u8]) -> bool {
    let packet = match Ipv4Packet::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    packet
        .check_len()
        .expect("IPv4: check_len after new_checked");
    assert_eq!(packet.version(), 4);
    let header_len = packet.header_len();
    assert!(
        (20..=60).contains(&header_len) && header_len % 4 == 0,
        "IPv4: header_len {header_len}"
    );
    let (dscp, ecn) = (packet.dscp(), packet.ecn());
    assert!(dscp < 64 && ecn < 4);
    let total = packet.total_len();
    assert!(usize::from(total) >= header_len && usize::from(total) <= data.len());
    let (ident, df, mf, offset) = (
        packet.ident(),
        packet.dont_frag(),
        packet.more_frags(),
        packet.frag_offset(),
    );
    assert_eq!(offset % 8, 0, "IPv4: frag_offset in bytes");
    assert_eq!(packet.is_fragment(), mf || offset != 0, "IPv4: is_fragment");
    let (ttl, protocol, checksum) = (packet.ttl(), packet.protocol(), packet.checksum());
    show(&protocol);
    assert_eq!(IpProtocol::from(u8::from(protocol)), protocol);
    let (src, dst) = (packet.src_addr(), packet.dst_addr());
    let options = packet.options();
    assert_eq!(options.len(), header_len - 20, "IPv4: options length");
    assert_eq!(packet.options_slice(), options);
    let payload = packet.payload();
    assert_eq!(
        payload,
        &data[header_len..usize::from(total)],
        "IPv4: payload"
    );
    assert_eq!(packet.payload_slice(), payload);
    assert!(within(packet.payload_slice(), data) && within(packet.options_slice(), data));
    let items = walk("IPv4 options", packet.options_iter(), options.len() + 1);
    assert_eq!(
        items,
        walk("IPv4 options", Ipv4Options::new(options), options.len() + 1)
    );
    ipv4_options_walk(options);

    let valid = packet.verify_checksum();
    let expected = match packet.check_checksum() {
        Ok(()) => None,
        Err(e) => bad_checksum("IPv4", &e, checksum),
    };
    assert_eq!(
        valid,
        expected.is_none(),
        "IPv4: verify_checksum vs check_checksum"
    );

    let repr = Ipv4Repr::parse(&packet).expect("IPv4: Repr::parse after new_checked");
    show(&repr);
    assert_eq!(repr.is_fragment(), packet.is_fragment());
    assert_eq!(repr.payload_len, payload.len());
    // The Repr leaves out the options (and the reserved flag), so compare Reprs only.
    let mut buf = vec![0u8; repr.buffer_len()];
    assert_eq!(repr.emit(&mut buf), buf.len(), "Ipv4Repr: emit length");
    buf.resize(buf.len() + repr.payload_len, 0);
    let again = Ipv4Packet::new_checked(&buf[..]).expect("Ipv4Repr: emitted packet");
    assert!(again.verify_checksum(), "Ipv4Repr: emitted checksum");
    assert_eq!(Ipv4Repr::parse(&again), Ok(repr), "Ipv4Repr: round trip");
    // With the original options: they come back byte for byte (already a multiple of 4).
    let mut buf = vec![0u8; repr.buffer_len_with_options(options.len())];
    assert_eq!(repr.emit_with_options(&mut buf, options), Ok(header_len));
    buf.resize(buf.len() + repr.payload_len, 0);
    let again = Ipv4Packet::new_checked(&buf[..]).expect("Ipv4Repr: emitted with options");
    assert!(
        again.verify_checksum(),
        "Ipv4Repr: emitted checksum with options"
    );
    assert_eq!(again.options(), options, "Ipv4Repr: options round trip");
    assert_eq!(
        Ipv4Repr::parse(&again),
        Ok(repr),
        "Ipv4Repr: round trip with options"
    );

    let mut copy = data.to_vec();
    let mut view = Ipv4Packet::new_checked(&mut copy[..]).expect("IPv4: mutable view");
    view.set_version(4);
    view.set_header_len(header_len);
    view.set_dscp(dscp);
    view.set_ecn(ecn);
    view.set_total_len(total);
    view.set_ident(ident);
    view.set_dont_frag(df);
    view.set_more_frags(mf);
    view.set_frag_offset(offset);
    view.set_ttl(ttl);
    view.set_protocol(protocol);
    view.set_checksum(checksum);
    view.set_src_addr(src);
    view.set_dst_addr(dst);
    view.options_mut().copy_from_slice(options);
    view.payload_mut().copy_from_slice(payload);
    assert_eq!(
        copy, data,
        "IPv4: setters with the values read changed the bytes"
    );
    let mut view = Ipv4Packet::new_checked(&mut copy[..]).expect("IPv4: mutable view");
    view.fill_checksum();
    assert!(view.verify_checksum(), "IPv4: fill_checksum");
    assert_eq!(view.check_checksum(), Ok(()));
    if let Some(expected) = expected {
        assert_eq!(view.checksum(), expected, "IPv4: BadChecksum.expected");
    }
    true
}

/// The options area of an IPv4 header (bytes 20 to IHL * 4); also emitted in a header with
/// `Ipv4Repr::emit_with_options` when it fits.
pub fn ipv4_options(data: &[u8]) {
    ipv4_options_walk(data);
    if data.len() <= proto_core::wire::ipv4::MAX_OPTIONS_LEN {
        let repr = Ipv4Repr::new(
            Ipv4Addr::new(192, 168, 77, 1),
            Ipv4Addr::new(192, 168, 77, 2),
            IpProtocol::Udp,
            0,
        );
        let mut buf = vec![0u8; repr.buffer_len_with_options(data.len())];
        let len = repr.emit_with_options(&mut buf, data);
        assert_eq!(len, Ok(buf.len()), "Ipv4Repr::emit_with_options length");
        let packet = Ipv4Packet::new_checked(&buf[..]).expect("emit_with_options: packet");
        assert!(packet.verify_checksum());
        let options = packet.options();
        assert_eq!(&options[..data.len()], data, "emit_with_options: options");
        assert!(
            options[data.len()..].iter().all(|&b| b == 0),
            "emit_with_options: padding"
        );
        assert_eq!(Ipv4Repr::parse(&packet), Ok(repr));
    } else {
        let repr = Ipv4Repr::new(
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            IpProtocol::Udp,
            0,
        );
        let mut buf = vec![0u8; repr.buffer_len_with_options(data.len())];
        assert!(repr.emit_with_options(&mut buf, data).is_err());
    }
}

/// Walks IPv4 options; every option re-emits to its original bytes.
fn ipv4_options_walk(data: &[u8]) {
    let items = walk("IPv4 options", Ipv4Options::new(data), data.len() + 1);
    let mut at = 0;
    for item in items {
        let option = match item {
            Ok(option) => option,
            Err(e) => {
                show(&e);
                break;
            }
        };
        show_debug(&option);
        black_box(option.kind());
        let len = option.buffer_len();
        assert!(
            at + len <= data.len(),
            "IPv4 option: buffer_len past the options"
        );
        let mut buf = vec![0u8; len];
        assert_eq!(option.emit(&mut buf), len, "Ipv4Option: emit length");
        // Every field of every option is kept, so it re-emits to its own bytes.
        assert_eq!(
            &buf[..],
            &data[at..at + len],
            "Ipv4Option {option:?}: emitted bytes"
        );
        let again = Ipv4Options::new(&buf).next();
        assert_eq!(again, Some(Ok(option)), "Ipv4Option: round trip");
        at += len;
        if option == Ipv4Option::EndOfList {
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------------------------

/// IPv6 fixed header, extension-header chain, address helpers and `Ipv6Repr`.
pub fn ipv6(data: &[u8]) {
    ipv6_checked(data);
}

fn ipv6_checked(data: &[u8]) -> bool {
    let packet = match Ipv6Packet::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    packet
        .check_len()
        .expect("IPv6: check_len after new_checked");
    assert_eq!(packet.version(), 6);
    let (tc, flow, payload_len) = (
        packet.traffic_class(),
        packet.flow_label(),
        packet.payload_len(),
    );
    assert!(flow < 1 << 20, "IPv6: flow label {flow:#x}");
    let total = packet.total_len();
    assert_eq!(total, 40 + usize::from(payload_len));
    assert!(total <= data.len());
    let (next, hop_limit) = (packet.next_header(), packet.hop_limit());
    show(&next);
    let (src, dst) = (packet.src_addr(), packet.dst_addr());
    assert_eq!(packet.addr_pair(), IpAddrPair::V6 { src, dst });
    for addr in [src, dst] {
        let sn = ipv6::solicited_node(addr);
        assert!(ipv6::is_solicited_node(sn), "solicited_node({addr})");
        black_box((ipv6::is_link_local(addr), ipv6::multicast_mac(addr)));
        let mac = EthernetAddress::from_bytes(&addr.octets()[10..16]);
        assert!(ipv6::is_link_local(ipv6::link_local_from_mac(mac)));
        black_box(ipv6::interface_id(mac));
    }
    let payload = packet.payload();
    assert_eq!(payload, &data[40..total], "IPv6: payload");
    assert_eq!(packet.payload_slice(), payload);
    assert!(within(packet.payload_slice(), data));
    let bound = payload.len() / 8 + 2;
    let a = walk("IPv6 extension headers", packet.ext_headers(), bound);
    let b = walk("IPv6 extension headers", packet.ext_headers_slice(), bound);
    assert_eq!(a, b, "IPv6: ext_headers vs ext_headers_slice");
    ipv6_ext_walk(next, payload);
    let upper = packet.upper_layer();
    assert_eq!(upper, find_upper_layer(next, payload), "IPv6: upper_layer");
    match upper {
        Ok(upper) => {
            show_debug(&upper);
            assert!(upper.offset <= payload.len(), "IPv6: upper-layer offset");
            black_box(upper.has_header());
        }
        Err(e) => show(&e),
    }

    let repr = Ipv6Repr::parse(&packet).expect("IPv6: Repr::parse after new_checked");
    show(&repr);
    let mut buf = vec![0u8; repr.buffer_len()];
    assert_eq!(repr.emit(&mut buf), buf.len(), "Ipv6Repr: emit length");
    // Every field of the fixed header is in the Repr.
    assert_eq!(&buf[..], &data[..40], "Ipv6Repr: emitted header");
    buf.resize(buf.len() + repr.payload_len, 0);
    let again = Ipv6Packet::new_checked(&buf[..]).expect("Ipv6Repr: emitted packet");
    assert_eq!(Ipv6Repr::parse(&again), Ok(repr), "Ipv6Repr: round trip");

    let mut copy = data.to_vec();
    let mut view = Ipv6Packet::new_checked(&mut copy[..]).expect("IPv6: mutable view");
    view.set_version(6);
    view.set_traffic_class(tc);
    view.set_flow_label(flow);
    view.set_payload_len(payload_len);
    view.set_next_header(next);
    view.set_hop_limit(hop_limit);
    view.set_src_addr(src);
    view.set_dst_addr(dst);
    view.payload_mut().copy_from_slice(payload);
    assert_eq!(
        copy, data,
        "IPv6: setters with the values read changed the bytes"
    );
    true
}

/// An IPv6 extension-header chain: the first byte is the Next Header of the fixed header, the
/// rest is the IPv6 payload. The same bytes are also read as a bare options area and as a
/// Fragment header.
pub fn ipv6_ext(data: &[u8]) {
    if let Some((&next, payload)) = data.split_first() {
        ipv6_ext_walk(IpProtocol::from(next), payload);
    }
    ipv6_options_walk(data);
    ipv6_fragment(data);
}

fn ipv6_ext_walk(next: IpProtocol, payload: &[u8]) {
    let mut headers = Ipv6ExtHeaders::new(next, payload);
    let mut count = 0;
    let mut offset = 0;
    let mut fragment = None;
    let mut error = None;
    let bound = (payload.len() / 8 + 1).min(proto_core::wire::ipv6::MAX_EXT_HEADERS + 1);
    while let Some(item) = headers.next() {
        count += 1;
        assert!(count <= bound, "IPv6 extension headers: more than {bound}");
        assert!(
            error.is_none(),
            "IPv6 extension headers: an item after an error"
        );
        let header = match item {
            Ok(header) => header,
            Err(e) => {
                show(&e);
                error = Some(e);
                continue;
            }
        };
        assert!(
            is_extension_header(header.kind),
            "IPv6: {:?} is not an extension header",
            header.kind
        );
        let len = header.header_len();
        assert!(len >= 8, "IPv6 extension header shorter than 8 bytes");
        assert_eq!(
            header.data,
            &payload[offset..offset + len],
            "IPv6 extension header bytes"
        );
        assert_eq!(header.next_header, IpProtocol::from(header.data[0]));
        offset += len;
        assert_eq!(headers.offset(), offset, "Ipv6ExtHeaders::offset");
        assert_eq!(headers.next_header(), header.next_header);
        if fragment.is_none() {
            fragment = header.fragment().map(|f| FragmentInfo {
                offset: f.frag_offset(),
                more: f.more_frags(),
                ident: f.ident(),
            });
        }
        ipv6_ext_header(&header);
    }
    assert!(
        headers.next().is_none(),
        "IPv6 extension headers: yields again after None"
    );
    let upper = find_upper_layer(next, payload);
    match error {
        Some(e) => assert_eq!(upper, Err(e), "find_upper_layer: error"),
        None => {
            let upper = upper.expect("find_upper_layer after a clean walk");
            assert_eq!(
                upper.protocol,
                headers.next_header(),
                "find_upper_layer: protocol"
            );
            assert_eq!(upper.offset, offset, "find_upper_layer: offset");
            assert_eq!(upper.fragment, fragment, "find_upper_layer: fragment");
        }
    }
}

fn ipv6_ext_header(header: &Ipv6ExtHeader<'_>) {
    show_debug(header);
    let options_kind = matches!(header.kind, IpProtocol::HopByHop | IpProtocol::Ipv6Opts);
    let options = walk("IPv6 options", header.options(), header.data.len());
    assert!(
        options_kind || options.is_empty(),
        "IPv6: options of a {:?}",
        header.kind
    );
    if options_kind {
        let options = ipv6_options_walk(&header.data[2..]);
        if let Some(options) = options {
            // A clean options area is re-emitted as the same options with the same length.
            let repr = Ipv6OptionsRepr {
                next_header: header.next_header,
                options: &options,
            };
            show_debug(&repr);
            assert_eq!(
                repr.buffer_len(),
                header.data.len(),
                "Ipv6OptionsRepr: buffer_len"
            );
            let mut buf = vec![0u8; repr.buffer_len()];
            assert_eq!(
                repr.emit(&mut buf),
                buf.len(),
                "Ipv6OptionsRepr: emit length"
            );
            assert_eq!(
                &buf[..2],
                &header.data[..2],
                "Ipv6OptionsRepr: next header and length"
            );
            let again = walk("IPv6 options", Ipv6Options::new(&buf[2..]), buf.len());
            let again: Vec<Ipv6Option<'_>> =
                again.into_iter().map(|o| o.expect("re-parse")).collect();
            assert_eq!(again, options, "Ipv6OptionsRepr: round trip");
        }
    }
    let routing = header.routing();
    assert_eq!(routing.is_some(), header.kind == IpProtocol::Ipv6Route);
    show_debug(&routing);
    let fragment = header.fragment();
    assert_eq!(fragment.is_some(), header.kind == IpProtocol::Ipv6Frag);
    if fragment.is_some() {
        assert!(ipv6_fragment(header.data));
    }
}

/// Walks a Hop-by-Hop / Destination Options area; returns the options when all parsed.
fn ipv6_options_walk(data: &[u8]) -> Option<Vec<Ipv6Option<'_>>> {
    let items = walk("IPv6 options", Ipv6Options::new(data), data.len());
    let mut at = 0;
    let mut options = Vec::new();
    for item in items {
        let option = match item {
            Ok(option) => option,
            Err(e) => {
                show(&e);
                return None;
            }
        };
        show_debug(&option);
        black_box((option.kind(), option.action(), option.may_change()));
        let len = option.buffer_len();
        let mut buf = vec![0u8; len];
        assert_eq!(option.emit(&mut buf), len, "Ipv6Option: emit length");
        // PadN is re-emitted with zero bytes; everything else byte for byte.
        let same = if matches!(option, Ipv6Option::PadN(_)) {
            2
        } else {
            len
        };
        assert_eq!(
            &buf[..same],
            &data[at..at + same],
            "Ipv6Option {option:?}: emitted bytes"
        );
        assert_eq!(
            Ipv6Options::new(&buf).next(),
            Some(Ok(option)),
            "Ipv6Option: round trip"
        );
        at += len;
        options.push(option);
    }
    assert_eq!(at, data.len(), "IPv6 options: lengths do not add up");
    Some(options)
}

/// A Fragment header view, its Repr and setters. Returns false when it is shorter than 8.
fn ipv6_fragment(data: &[u8]) -> bool {
    let header = match Ipv6FragmentHeader::new_checked(data) {
        Ok(h) => h,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    header.check_len().expect("Fragment header: check_len");
    let (next, offset, more, ident) = (
        header.next_header(),
        header.frag_offset(),
        header.more_frags(),
        header.ident(),
    );
    assert_eq!(offset % 8, 0);
    let repr = Ipv6FragmentRepr::parse(&header).expect("Ipv6FragmentRepr::parse after new_checked");
    show(&repr);
    let mut buf = vec![0u8; repr.buffer_len()];
    assert_eq!(repr.emit(&mut buf), buf.len());
    // The Repr leaves out the reserved byte and the two reserved bits, which emit zeroes.
    let mut normalized = data[..8].to_vec();
    normalized[1] = 0;
    normalized[3] &= !0x06;
    assert_eq!(buf, normalized, "Ipv6FragmentRepr: emitted header");
    let again = Ipv6FragmentHeader::new_checked(&buf[..]).expect("emitted Fragment header");
    assert_eq!(
        Ipv6FragmentRepr::parse(&again),
        Ok(repr),
        "Ipv6FragmentRepr: round trip"
    );

    let mut copy = data.to_vec();
    let mut view = Ipv6FragmentHeader::new_checked(&mut copy[..]).expect("mutable view");
    view.set_next_header(next);
    view.set_more_frags(more);
    view.set_ident(ident);
    assert_eq!(
        copy, data,
        "Fragment header: setters with the values read changed the bytes"
    );
    let mut view = Ipv6FragmentHeader::new_checked(&mut copy[..]).expect("mutable view");
    // set_frag_offset zeroes the reserved bits, clear_reserved the reserved byte (documented).
    view.set_frag_offset(offset);
    view.clear_reserved();
    assert_eq!(
        &copy[..8],
        &normalized[..],
        "Fragment header: set_frag_offset, clear_reserved"
    );
    assert_eq!(&copy[8..], &data[8..]);
    true
}

// ---------------------------------------------------------------------------------------------
// ICMPv4
// ---------------------------------------------------------------------------------------------

/// ICMPv4 message, its quoted IPv4 header, checksum and `Icmpv4Repr`.
pub fn icmpv4(data: &[u8]) {
    icmpv4_checked(data);
    if let Ok(quoted) = QuotedIpv4::parse(data) {
        quoted_ipv4(&quoted, data);
    }
}

fn quoted_ipv4(quoted: &QuotedIpv4<'_>, data: &[u8]) {
    show_debug(quoted);
    black_box(quoted.ports());
    assert!(
        quoted.header.len() >= 20 && within(quoted.header, data) && within(quoted.payload, data)
    );
}

fn icmpv4_checked(data: &[u8]) -> bool {
    let packet = match Icmpv4Packet::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    packet
        .check_len()
        .expect("ICMPv4: check_len after new_checked");
    let (msg_type, code, checksum) = (packet.msg_type(), packet.msg_code(), packet.checksum());
    show(&msg_type);
    black_box(msg_type.is_error());
    let rest = packet.rest_of_header();
    let (ident, seq_no, mtu, pointer, gateway) = (
        packet.echo_ident(),
        packet.echo_seq_no(),
        packet.next_hop_mtu(),
        packet.pointer(),
        packet.gateway(),
    );
    assert_eq!(rest, (u32::from(ident) << 16) | u32::from(seq_no));
    assert_eq!(u32::from(gateway), rest);
    assert_eq!(mtu, seq_no);
    assert_eq!(pointer, (rest >> 24) as u8);
    let body = packet.data();
    assert_eq!(body, &data[8..]);
    assert_eq!(packet.data_slice(), body);
    assert_eq!(packet.payload_slice(), body);
    match packet.quoted_header() {
        Ok(quoted) => quoted_ipv4(&quoted, data),
        Err(e) => show(&e),
    }
    let valid = packet.verify_checksum();
    let expected = match packet.check_checksum() {
        Ok(()) => None,
        Err(e) => bad_checksum("ICMPv4", &e, checksum),
    };
    assert_eq!(
        valid,
        expected.is_none(),
        "ICMPv4: verify_checksum vs check_checksum"
    );

    let repr = Icmpv4Repr::parse(&packet).expect("ICMPv4: Repr::parse after new_checked");
    show(&repr);
    assert_eq!(repr.msg_type(), msg_type, "Icmpv4Repr: msg_type");
    // The Repr keeps only the fields its message type defines (e.g. not the unused word of
    // Time Exceeded), so compare Reprs, not bytes.
    let mut buf = vec![0u8; repr.buffer_len()];
    assert_eq!(repr.emit(&mut buf), buf.len(), "Icmpv4Repr: emit length");
    let again = Icmpv4Packet::new_checked(&buf[..]).expect("Icmpv4Repr: emitted packet");
    assert!(again.verify_checksum(), "Icmpv4Repr: emitted checksum");
    assert_eq!(
        Icmpv4Repr::parse(&again),
        Ok(repr),
        "Icmpv4Repr: round trip"
    );

    let mut copy = data.to_vec();
    let mut view = Icmpv4Packet::new_checked(&mut copy[..]).expect("ICMPv4: mutable view");
    view.set_msg_type(msg_type);
    view.set_msg_code(code);
    view.set_checksum(checksum);
    view.set_rest_of_header(rest);
    view.set_echo_ident(ident);
    view.set_echo_seq_no(seq_no);
    view.set_next_hop_mtu(mtu);
    view.set_pointer(pointer);
    view.set_gateway(gateway);
    view.data_mut().copy_from_slice(body);
    view.payload_mut().copy_from_slice(body);
    assert_eq!(
        copy, data,
        "ICMPv4: setters with the values read changed the bytes"
    );
    let mut view = Icmpv4Packet::new_checked(&mut copy[..]).expect("ICMPv4: mutable view");
    view.fill_checksum();
    assert!(view.verify_checksum(), "ICMPv4: fill_checksum");
    if let Some(expected) = expected {
        assert_eq!(view.checksum(), expected, "ICMPv4: BadChecksum.expected");
    }
    true
}

// ---------------------------------------------------------------------------------------------
// ICMPv6
// ---------------------------------------------------------------------------------------------

/// ICMPv6 message (a whole IPv6 upper-layer payload), its NDP options, checksum and
/// `Icmpv6Repr`, with three address pairs; the same bytes also as a bare NDP options area.
pub fn icmpv6(data: &[u8]) {
    icmpv6_checked(data, &pairs());
    ndp_options_walk(data);
}

fn icmpv6_checked(data: &[u8], pairs: &[IpAddrPair]) -> bool {
    let packet = match Icmpv6Packet::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    packet
        .check_len()
        .expect("ICMPv6: check_len after new_checked");
    let (msg_type, code, checksum) = (packet.msg_type(), packet.msg_code(), packet.checksum());
    show(&msg_type);
    black_box((msg_type.is_error(), msg_type.is_ndp(), msg_type.name()));
    assert_eq!(Icmpv6Message::from(u8::from(msg_type)), msg_type);
    let header_len = packet.header_len();
    assert!(
        header_len <= data.len(),
        "ICMPv6: header_len {header_len} > buffer"
    );
    let payload = packet.payload();
    assert_eq!(payload, &data[header_len..]);
    assert_eq!(packet.payload_slice(), payload);
    assert_eq!(packet.quoted(), packet.quoted_slice());
    assert_eq!(
        packet.quoted().is_empty(),
        !msg_type.is_error() || payload.is_empty()
    );
    let fields = (
        packet.ident(),
        packet.seq_no(),
        packet.mtu(),
        packet.pointer(),
        packet.cur_hop_limit(),
        packet.managed(),
        packet.other(),
        packet.router_lifetime(),
        packet.reachable_time(),
        packet.retrans_time(),
    );
    let (target, router, solicited, override_flag, dest) = (
        packet.target_addr(),
        packet.router(),
        packet.solicited(),
        packet.override_flag(),
        packet.dest_addr(),
    );
    let a = walk("NDP options", packet.ndp_options(), payload.len() / 8 + 1);
    let b = walk(
        "NDP options",
        packet.ndp_options_slice(),
        payload.len() / 8 + 1,
    );
    assert_eq!(a, b, "ICMPv6: ndp_options vs ndp_options_slice");
    assert!(msg_type.is_ndp() || a.is_empty());
    if msg_type.is_ndp() {
        ndp_options_walk(payload);
    }

    let mut expected = Vec::new();
    for addrs in pairs {
        let valid = packet.verify_checksum(addrs);
        let bad = match packet.check_checksum(addrs) {
            Ok(()) => None,
            Err(e) => bad_checksum("ICMPv6", &e, checksum),
        };
        assert_eq!(
            valid,
            bad.is_none(),
            "ICMPv6: verify_checksum vs check_checksum"
        );
        expected.push(bad);

        let repr = match Icmpv6Repr::parse(&packet, addrs) {
            Ok(repr) => repr,
            Err(e) => {
                show(&e);
                continue;
            }
        };
        show(&repr);
        assert_eq!(repr.msg_type(), msg_type);
        // The Repr keeps the first link-layer address, MTU and prefix option of their kind
        // and drops the rest and any reserved bits, so compare Reprs, not bytes.
        let mut buf = vec![0u8; repr.buffer_len()];
        assert_eq!(
            repr.emit(addrs, &mut buf),
            buf.len(),
            "Icmpv6Repr: emit length"
        );
        let again = Icmpv6Packet::new_checked(&buf[..]).expect("Icmpv6Repr: emitted packet");
        assert!(again.verify_checksum(addrs), "Icmpv6Repr: emitted checksum");
        assert_eq!(
            Icmpv6Repr::parse(&again, addrs),
            Ok(repr),
            "Icmpv6Repr: round trip"
        );
    }

    let mut copy = data.to_vec();
    let mut view = Icmpv6Packet::new_checked(&mut copy[..]).expect("ICMPv6: mutable view");
    let (ident, seq_no, mtu, pointer, hop_limit, managed, other, lifetime, reachable, retrans) =
        fields;
    // Each setter writes only its own bytes (or bits), so any order restores the message.
    view.set_msg_type(msg_type);
    view.set_msg_code(code);
    view.set_checksum(checksum);
    view.set_mtu(mtu);
    view.set_pointer(pointer);
    view.set_ident(ident);
    view.set_seq_no(seq_no);
    view.set_cur_hop_limit(hop_limit);
    view.set_managed(managed);
    view.set_other(other);
    view.set_router_lifetime(lifetime);
    view.set_reachable_time(reachable);
    view.set_retrans_time(retrans);
    view.set_target_addr(target);
    view.set_router(router);
    view.set_solicited(solicited);
    view.set_override_flag(override_flag);
    view.set_dest_addr(dest);
    view.payload_mut().copy_from_slice(payload);
    assert_eq!(
        copy, data,
        "ICMPv6: setters with the values read changed the bytes"
    );
    check_fill("ICMPv6", pairs, expected, |addrs| {
        let mut view = Icmpv6Packet::new_checked(&mut copy[..]).expect("ICMPv6: mutable view");
        view.fill_checksum(addrs);
        (view.verify_checksum(addrs), view.checksum())
    });
    true
}

/// Walks NDP options; each re-emits to an option that parses the same.
fn ndp_options_walk(data: &[u8]) {
    for item in walk("NDP options", NdpOptions::new(data), data.len() / 8 + 1) {
        let option = match item {
            Ok(option) => option,
            Err(e) => {
                show(&e);
                break;
            }
        };
        show(&option);
        black_box(option.kind());
        let len = option.buffer_len();
        assert_eq!(len % 8, 0, "NdpOption: buffer_len {len}");
        let mut buf = vec![0u8; len];
        assert_eq!(option.emit(&mut buf), len, "NdpOption: emit length");
        // Reserved bytes are emitted as zero, so compare the parsed options.
        assert_eq!(
            NdpOptions::new(&buf).next(),
            Some(Ok(option)),
            "NdpOption: round trip"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// UDP
// ---------------------------------------------------------------------------------------------

/// UDP datagram, its checksum with three address pairs, and `UdpRepr`.
pub fn udp(data: &[u8]) {
    udp_checked(data, &pairs());
}

fn udp_checked(data: &[u8], pairs: &[IpAddrPair]) -> bool {
    let packet = match UdpPacket::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    packet
        .check_len()
        .expect("UDP: check_len after new_checked");
    let (src_port, dst_port, len, checksum) = (
        packet.src_port(),
        packet.dst_port(),
        packet.len(),
        packet.checksum(),
    );
    assert!(
        usize::from(len) >= 8 && usize::from(len) <= data.len(),
        "UDP: length {len}"
    );
    let payload = packet.payload();
    assert_eq!(payload, &data[8..usize::from(len)]);
    assert_eq!(packet.payload_slice(), payload);

    let mut expected = Vec::new();
    for addrs in pairs {
        // A zero checksum is "none" over IPv4 and an `invalid` error over IPv6.
        let check = packet.check_checksum(addrs);
        assert_eq!(
            packet.verify_checksum(addrs),
            check.is_ok(),
            "UDP: verify vs check"
        );
        expected.push(check.err().and_then(|e| bad_checksum("UDP", &e, checksum)));

        let repr = UdpRepr::parse(&packet).expect("UDP: Repr::parse after new_checked");
        show(&repr);
        let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
        assert_eq!(
            repr.emit(&mut buf, addrs, payload),
            buf.len(),
            "UdpRepr: emit length"
        );
        let again = UdpPacket::new_checked(&buf[..]).expect("UdpRepr: emitted datagram");
        assert!(again.verify_checksum(addrs), "UdpRepr: emitted checksum");
        assert_ne!(again.checksum(), 0, "UdpRepr: emitted a zero checksum");
        assert_eq!(again.payload(), payload, "UdpRepr: payload");
        assert_eq!(UdpRepr::parse(&again), Ok(repr), "UdpRepr: round trip");
    }

    let mut copy = data.to_vec();
    let mut view = UdpPacket::new_checked(&mut copy[..]).expect("UDP: mutable view");
    view.set_src_port(src_port);
    view.set_dst_port(dst_port);
    view.set_len(len);
    view.set_checksum(checksum);
    view.payload_mut().copy_from_slice(payload);
    assert_eq!(
        copy, data,
        "UDP: setters with the values read changed the bytes"
    );
    check_fill("UDP", pairs, expected, |addrs| {
        let mut view = UdpPacket::new_checked(&mut copy[..]).expect("UDP: mutable view");
        view.fill_checksum(addrs);
        (view.verify_checksum(addrs), view.checksum())
    });
    true
}

// ---------------------------------------------------------------------------------------------
// TCP
// ---------------------------------------------------------------------------------------------

/// TCP segment, its options, checksum with three address pairs, and `TcpRepr`.
pub fn tcp(data: &[u8]) {
    tcp_checked(data, &pairs());
}

fn tcp_checked(data: &[u8], pairs: &[IpAddrPair]) -> bool {
    let packet = match TcpPacket::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            show(&e);
            return false;
        }
    };
    packet
        .check_len()
        .expect("TCP: check_len after new_checked");
    let (src_port, dst_port) = (packet.src_port(), packet.dst_port());
    let (seq, ack) = (packet.seq_number(), packet.ack_number());
    show(&seq);
    let header_len = packet.header_len();
    assert!((20..=60).contains(&header_len) && header_len % 4 == 0 && header_len <= data.len());
    let flags = packet.flags();
    show(&flags);
    assert_eq!(flags.bits() & !TcpFlags::ALL.bits(), 0);
    let bits = [
        (packet.fin(), TcpFlags::FIN),
        (packet.syn(), TcpFlags::SYN),
        (packet.rst(), TcpFlags::RST),
        (packet.psh(), TcpFlags::PSH),
        (packet.ack(), TcpFlags::ACK),
        (packet.urg(), TcpFlags::URG),
        (packet.ece(), TcpFlags::ECE),
        (packet.cwr(), TcpFlags::CWR),
    ];
    for (set, flag) in bits {
        assert_eq!(set, flags.contains(flag), "TCP: flag {flag} getter");
    }
    let (window, checksum, urgent) = (packet.window_len(), packet.checksum(), packet.urgent_at());
    let options = packet.options();
    assert_eq!(options, &data[20..header_len]);
    assert_eq!(packet.options_slice(), options);
    let payload = packet.payload();
    assert_eq!(payload, &data[header_len..]);
    assert_eq!(packet.payload_slice(), payload);
    assert_eq!(
        packet.segment_len(),
        payload.len() + usize::from(packet.syn()) + usize::from(packet.fin())
    );
    let a = walk("TCP options", packet.options_iter(), options.len() + 1);
    assert_eq!(
        a,
        walk("TCP options", TcpOptions::new(options), options.len() + 1)
    );
    tcp_options_walk(options);

    let mut expected = Vec::new();
    for addrs in pairs {
        let valid = packet.verify_checksum(addrs);
        let bad = match packet.check_checksum(addrs) {
            Ok(()) => None,
            Err(e) => bad_checksum("TCP", &e, checksum),
        };
        assert_eq!(
            valid,
            bad.is_none(),
            "TCP: verify_checksum vs check_checksum"
        );
        expected.push(bad);
    }

    match TcpRepr::parse(&packet) {
        Ok(repr) => {
            show(&repr);
            assert_eq!(TcpControl::from_flags(flags), Ok(repr.control));
            black_box((
                repr.control.len(),
                repr.control.is_empty(),
                repr.segment_len(),
            ));
            assert_eq!(repr.buffer_len(), repr.header_len() + repr.payload.len());
            // Normalization: the Repr keeps every SACK block it read (up to 4), but emits
            // only as many as fit in 40 option bytes next to the other options.
            let mut want = repr;
            let emitted = repr.sack_blocks_emitted();
            for slot in want.sack_ranges.iter_mut().skip(emitted) {
                *slot = None;
            }
            for addrs in pairs {
                let mut buf = vec![0u8; repr.buffer_len()];
                assert_eq!(
                    repr.emit(&mut buf, addrs),
                    buf.len(),
                    "TcpRepr: emit length"
                );
                let again = TcpPacket::new_checked(&buf[..]).expect("TcpRepr: emitted segment");
                assert_eq!(again.header_len(), repr.header_len(), "TcpRepr: header_len");
                assert!(again.verify_checksum(addrs), "TcpRepr: emitted checksum");
                assert_eq!(again.flags(), repr.flags(), "TcpRepr: flags");
                assert_eq!(TcpRepr::parse(&again), Ok(want), "TcpRepr: round trip");
            }
        }
        Err(e) => show(&e),
    }

    let mut copy = data.to_vec();
    let mut view = TcpPacket::new_checked(&mut copy[..]).expect("TCP: mutable view");
    view.set_src_port(src_port);
    view.set_dst_port(dst_port);
    view.set_seq_number(seq);
    view.set_ack_number(ack);
    view.set_header_len(header_len);
    view.set_flags(flags);
    for (set, flag) in bits {
        match flag {
            TcpFlags::FIN => view.set_fin(set),
            TcpFlags::SYN => view.set_syn(set),
            TcpFlags::RST => view.set_rst(set),
            TcpFlags::PSH => view.set_psh(set),
            TcpFlags::ACK => view.set_ack(set),
            TcpFlags::URG => view.set_urg(set),
            TcpFlags::ECE => view.set_ece(set),
            _ => view.set_cwr(set),
        }
    }
    view.set_window_len(window);
    view.set_checksum(checksum);
    view.set_urgent_at(urgent);
    view.options_mut().copy_from_slice(options);
    view.payload_mut().copy_from_slice(payload);
    assert_eq!(
        copy, data,
        "TCP: setters with the values read changed the bytes"
    );
    check_fill("TCP", pairs, expected, |addrs| {
        let mut view = TcpPacket::new_checked(&mut copy[..]).expect("TCP: mutable view");
        view.fill_checksum(addrs);
        (view.verify_checksum(addrs), view.checksum())
    });
    true
}

/// The options area of a TCP header (bytes 20 to the data offset); the same bytes also as a
/// single option and as SACK blocks.
pub fn tcp_options(data: &[u8]) {
    tcp_options_walk(data);
    match TcpOption::parse(data) {
        Ok((option, len)) => {
            assert!(
                len <= data.len() && len == option.buffer_len(),
                "TcpOption::parse length"
            );
        }
        Err(e) => show(&e),
    }
    if let Some(blocks) = SackBlocks::new(data) {
        sack_blocks(&blocks);
    }
}

fn sack_blocks(blocks: &SackBlocks<'_>) {
    show_debug(blocks);
    let n = blocks.len();
    assert!((1..=4).contains(&n), "SackBlocks::len {n}");
    for i in 0..n + 2 {
        assert_eq!(blocks.get(i).is_some(), i < n, "SackBlocks::get({i})");
    }
    assert!(blocks.get(usize::MAX).is_none());
    let all: Vec<(u32, u32)> = blocks.iter().collect();
    assert_eq!(all.len(), n);
    assert_eq!(
        all,
        (0..n)
            .map(|i| blocks.get(i).expect("block"))
            .collect::<Vec<_>>()
    );
    assert_eq!(SackBlocks::new(blocks.as_bytes()), Some(*blocks));
}

/// Walks TCP options; every option re-emits to its original bytes.
fn tcp_options_walk(data: &[u8]) {
    let items = walk("TCP options", TcpOptions::new(data), data.len() + 1);
    let mut at = 0;
    for item in items {
        let option = match item {
            Ok(option) => option,
            Err(e) => {
                show(&e);
                break;
            }
        };
        show(&option);
        black_box(option.kind());
        if let TcpOption::SackRange(blocks) = option {
            sack_blocks(&blocks);
        }
        let len = option.buffer_len();
        assert!(
            at + len <= data.len(),
            "TCP option: buffer_len past the options"
        );
        let mut buf = vec![0u8; len];
        assert_eq!(option.emit(&mut buf), len, "TcpOption: emit length");
        // Every field of every option is kept, so it re-emits to its own bytes.
        assert_eq!(
            &buf[..],
            &data[at..at + len],
            "TcpOption {option:?}: emitted bytes"
        );
        assert_eq!(
            TcpOption::parse(&buf),
            Ok((option, len)),
            "TcpOption: round trip"
        );
        at += len;
        if option == TcpOption::EndOfList {
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Frame
// ---------------------------------------------------------------------------------------------

/// A whole Ethernet frame through `Frame::parse` and `verify_checksums`; every layer it finds
/// then goes through its own target's checks.
pub fn frame(data: &[u8]) {
    let frame = match Frame::parse(data) {
        Ok(frame) => frame,
        Err(e) => {
            show(&e);
            return;
        }
    };
    show_debug(&frame);
    let verified = frame.verify_checksums();
    if let Err(e) = &verified {
        show(e);
        assert!(
            frame.network.is_some(),
            "verify_checksums: error without a network layer"
        );
    }
    assert!(
        frame.payload.is_empty() || within(frame.payload, data),
        "Frame: payload is not inside the frame"
    );
    assert!(ethernet_checked(frame.ethernet.into_inner()));
    let addrs = frame.network.as_ref().and_then(Network::addrs);
    match frame.network {
        None => assert_eq!(frame.payload, frame.ethernet.payload_slice()),
        Some(Network::Arp(p)) => {
            assert!(addrs.is_none());
            assert!(arp_checked(p.into_inner()));
        }
        Some(Network::Ipv4(p)) => {
            assert!(ipv4_checked(p.into_inner()));
            if verified.is_ok() {
                assert!(
                    p.verify_checksum(),
                    "verify_checksums passed a bad IPv4 checksum"
                );
            }
            let known = is_transport(p.protocol(), false) && !p.is_fragment();
            assert_eq!(
                frame.transport.is_some(),
                known,
                "Frame: IPv4 transport layer"
            );
        }
        Some(Network::Ipv6 { packet, upper }) => {
            assert!(ipv6_checked(packet.into_inner()));
            assert_eq!(packet.upper_layer(), Ok(upper), "Frame: IPv6 upper layer");
            assert!(upper.offset <= packet.payload().len());
            // An atomic fragment (offset 0, M clear; RFC 6946) carries its whole datagram.
            let whole = upper.fragment.is_none_or(|f| f.offset == 0 && !f.more);
            let known = is_transport(upper.protocol, true) && whole;
            assert_eq!(
                frame.transport.is_some(),
                known,
                "Frame: IPv6 transport layer"
            );
        }
    }
    let pairs: Vec<IpAddrPair> = addrs.into_iter().collect();
    match frame.transport {
        None => {}
        Some(Transport::Tcp(t)) => {
            assert!(tcp_checked(t.into_inner(), &pairs));
            if verified.is_ok() {
                assert!(
                    t.verify_checksum(&pairs[0]),
                    "verify_checksums passed a bad TCP checksum"
                );
            }
        }
        Some(Transport::Udp(u)) => {
            assert!(udp_checked(u.into_inner(), &pairs));
            if verified.is_ok() {
                assert!(
                    u.verify_checksum(&pairs[0]),
                    "verify_checksums passed a bad UDP checksum"
                );
            }
        }
        Some(Transport::Icmpv4(i)) => {
            assert!(icmpv4_checked(i.into_inner()));
            if verified.is_ok() {
                assert!(
                    i.verify_checksum(),
                    "verify_checksums passed a bad ICMPv4 checksum"
                );
            }
        }
        Some(Transport::Icmpv6(i)) => {
            assert!(icmpv6_checked(i.into_inner(), &pairs));
            if verified.is_ok() {
                assert!(
                    i.verify_checksum(&pairs[0]),
                    "verify_checksums passed a bad ICMPv6 checksum"
                );
            }
        }
    }
}

/// The IP protocols `Frame::parse` reads a transport header for (over IPv4 and IPv6 alike).
/// For each address pair: `fill` writes the pseudo-header checksum into a copy and returns
/// (does it verify now, the value written). It must verify, and equal the `expected` a
/// `BadChecksum` error reported for that pair, if there was one.
fn check_fill(
    proto: &str,
    pairs: &[IpAddrPair],
    expected: impl IntoIterator<Item = Option<u16>>,
    mut fill: impl FnMut(&IpAddrPair) -> (bool, u16),
) {
    for (addrs, expected) in pairs.iter().zip(expected) {
        let (verifies, written) = fill(addrs);
        assert!(verifies, "{proto}: fill_checksum");
        if let Some(expected) = expected {
            assert_eq!(written, expected, "{proto}: BadChecksum.expected");
        }
    }
}

/// The upper layers `Frame` parses: TCP, UDP, and the ICMP of the packet's own IP family.
fn is_transport(protocol: IpProtocol, ipv6: bool) -> bool {
    match protocol {
        IpProtocol::Tcp | IpProtocol::Udp => true,
        IpProtocol::Icmp => !ipv6,
        IpProtocol::Icmpv6 => ipv6,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// pcap
// ---------------------------------------------------------------------------------------------

/// A classic pcap file through `PcapReader`; the records are re-written with the header
/// emitters and read back, and Ethernet records go through the `frame` target.
pub fn pcap(data: &[u8]) {
    let reader = match PcapReader::new(data) {
        Ok(r) => r,
        Err(e) => {
            show(&e);
            return;
        }
    };
    show_debug(&reader);
    let (linktype, snaplen, nanos) = (reader.linktype(), reader.snaplen(), reader.is_nanos());
    let bound = (data.len() - 24) / 16 + 1;
    let items = walk("pcap records", reader.records(), bound);
    let records: Vec<_> = items
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .copied()
        .collect();
    if let Some(Err(e)) = items.last() {
        show(e);
    }
    let mut file = vec![0u8; 24];
    GlobalHeader {
        snaplen,
        linktype,
        nanos,
    }
    .emit(&mut file);
    for record in &records {
        show_debug(record);
        assert!(
            within(record.data, data),
            "pcap: record data is not inside the file"
        );
        let at = file.len();
        file.resize(at + 16, 0);
        let ts_frac = if nanos {
            record.ts_nanos
        } else {
            record.ts_nanos / 1000
        };
        RecordHeader {
            ts_sec: record.ts_sec,
            ts_frac,
            caplen: record.data.len() as u32,
            origlen: record.origlen,
        }
        .emit(&mut file[at..]);
        file.extend_from_slice(record.data);
        if linktype & 0x0fff_ffff == LINKTYPE_ETHERNET {
            frame(record.data);
        }
    }
    let again = PcapReader::new(&file).expect("pcap: re-written file");
    assert_eq!(
        (again.linktype(), again.snaplen(), again.is_nanos()),
        (linktype, snaplen, nanos),
        "pcap: re-written global header"
    );
    let reread: Vec<_> = again
        .records()
        .map(|r| r.expect("pcap: re-written record"))
        .collect();
    assert_eq!(reread.len(), records.len(), "pcap: re-written record count");
    for (a, b) in reread.iter().zip(&records) {
        // Microsecond files: the reader scales to nanoseconds with a saturating multiply, so
        // compare what the file holds (microseconds), not the saturated product.
        let scale =
            |r: &proto_core::pcap::Record<'_>| if nanos { r.ts_nanos } else { r.ts_nanos / 1000 };
        assert_eq!(
            (a.ts_sec, scale(a), a.origlen, a.data),
            (b.ts_sec, scale(b), b.origlen, b.data),
            "pcap: re-written record"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Dissector and capture files
// ---------------------------------------------------------------------------------------------

/// `dissect`: any bytes as an Ethernet frame through `proto_core::dissect`, into storage big
/// enough and into storage far too small (which must end in `truncated_output`, not a panic),
/// then formatted three ways (summary, tree, JSON). Every field lies within the frame (or
/// at its end, for a zero-length field) and depths step down by at most one level. The same bytes are also read as a pcap/pcapng file by `CaptureReader`.
pub fn dissect(data: &[u8]) {
    use proto_core::dissect::{self, Field, Problem, format};
    let mut fields = vec![Field::EMPTY; 2048];
    let mut problems = vec![Problem::EMPTY; 32];
    let d = dissect::dissect(data, &mut fields, &mut problems);
    let bits = data.len() as u64 * 8;
    let mut depth = 0u8;
    for f in d.fields {
        assert!(
            u64::from(f.bit_offset) + u64::from(f.bit_len) <= bits,
            "{} out of the frame",
            f.name
        );
        assert!(
            f.depth <= depth + 1,
            "{} nests {} under {}",
            f.name,
            f.depth,
            depth
        );
        depth = f.depth;
        let _ = f.bytes(data);
        let _ = f.as_u64();
    }
    let mut text = String::new();
    format::summary(&d, &mut text).unwrap();
    text.clear();
    format::tree(&d, &mut text).unwrap();
    text.clear();
    format::json(&d, 1, &mut text).unwrap();
    black_box(&text);
    for f in d.fields {
        black_box(f.value);
    }
    // Tiny storage: must stop cleanly.
    let mut few = [Field::EMPTY; 3];
    let mut one = [Problem::EMPTY; 1];
    let small = dissect::dissect(data, &mut few, &mut one);
    assert!(small.fields.len() <= 3);
    if d.fields.len() > 3 {
        assert!(small.truncated_output);
    }
    text.clear();
    format::json(&small, 1, &mut text).unwrap();
    format::summary(&small, &mut text).unwrap();
    if let Ok(reader) = proto_core::pcap::CaptureReader::new(data) {
        let bound = data.len() / 12 + 1;
        walk("capture frames", reader, bound);
    }
}
