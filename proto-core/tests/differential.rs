//! Differential tests of `proto_core::wire` against etherparse 0.21.
//!
//! 1. Frames generated with etherparse's `PacketBuilder` (Ethernet ± 1/2 VLAN tags, ARP, IPv4
//!    with options and fragment fields, IPv6 with 0..3 extension headers, TCP with random option
//!    lists, UDP, ICMPv4, ICMPv6 echo/NS/NA): every field both libraries expose agrees, our
//!    `verify_checksums` passes and our computed checksums equal etherparse's `calc_*`.
//! 2. Frames emitted with our `Repr`s parse in etherparse with the same fields and checksums.
//! 3. Truncation agreement, layer by layer, for generated and captured frames (plain cuts, and
//!    cuts with the IP length patched so that the transport layer is the one cut short); and
//!    single-byte corruptions of captured frames.
//! 4. Every frame of every fixture: all shared fields agree.
//!
//! Where the two libraries' contracts differ on purpose, [`Limit`] names the difference and the
//! layer from which the two are no longer compared; anything else that differs fails the test,
//! naming the frame, the cut or corruption, and both results.

mod common;

use std::fmt::Debug;

use common::pcap::all_fixtures;
use etherparse as ep;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};
use proto_core::wire::ipv6::{Ipv6FragmentRepr, Ipv6Option, Ipv6OptionsRepr, is_extension_header};
use proto_core::wire::tcp::{TcpOption, TcpOptions, TcpSeqNumber};
use proto_core::wire::{
    ArpPacket, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Frame, Icmpv4Packet,
    Icmpv4Repr, Icmpv6Message, Icmpv6Packet, Icmpv6Repr, IpAddrPair, IpProtocol, Ipv4Addr,
    Ipv4Packet, Ipv4Repr, Ipv6Addr, Ipv6Packet, Ipv6Repr, Network, TcpControl, TcpPacket, TcpRepr,
    Transport, UdpPacket, UdpRepr, VlanTag,
};
use proto_core::wire::{Error, ErrorKind, Proto};

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// Deterministic proptest configuration: fixed seed, no persistence files, `cases` cases.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x5eed_d1ff),
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// A small deterministic generator (xorshift64*) for the corruption values.
struct Xorshift(u64);

impl Xorshift {
    fn next_u8(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    }
}

// ---------------------------------------------------------------------------------------------
// Layers, and the differences between the two libraries' contracts
// ---------------------------------------------------------------------------------------------

/// How deep a comparison goes; also the rank of the layer an error is about.
const LINK: u8 = 0;
const NET: u8 = 1;
const EXT: u8 = 2;
const TRANSPORT: u8 = 3;
const ALL: u8 = 4;

fn rank_name(rank: u8) -> &'static str {
    [
        "link",
        "network",
        "IP extension/payload",
        "transport",
        "all",
    ][usize::from(rank)]
}

/// The rank of the layer one of our errors is about.
fn our_rank(e: &Error) -> u8 {
    match e.proto {
        Proto::Ethernet | Proto::Vlan => LINK,
        Proto::Arp | Proto::Ipv4 | Proto::Ipv4Option | Proto::Ipv6 => NET,
        Proto::Ipv6Ext => EXT,
        _ => TRANSPORT,
    }
}

/// The rank of the layer one of etherparse's errors is about.
fn their_rank(e: &ep::err::packet::SliceError) -> u8 {
    use ep::err::Layer as L;
    use ep::err::packet::SliceError as S;
    match e {
        S::Len(len) => match len.layer {
            L::Ethernet2Header
            | L::EtherPayload
            | L::VlanHeader
            | L::MacsecHeader
            | L::MacsecPacket
            | L::LinuxSllHeader => LINK,
            L::Arp
            | L::IpHeader
            | L::Ipv4Header
            | L::Ipv4Packet
            | L::Ipv6Header
            | L::Ipv6Packet => NET,
            L::IpAuthHeader
            | L::Ipv6ExtHeader
            | L::Ipv6HopByHopHeader
            | L::Ipv6DestOptionsHeader
            | L::Ipv6RouteHeader
            | L::Ipv6FragHeader => EXT,
            _ => TRANSPORT,
        },
        S::LinuxSll(_) | S::Macsec(_) => LINK,
        S::Ip(_) | S::Ipv4(_) | S::Ipv6(_) => NET,
        S::Ipv4Exts(_) | S::Ipv6Exts(_) => EXT,
        S::Tcp(_) => TRANSPORT,
    }
}

/// Up to which layer the two libraries share a contract for a given frame, and why not beyond.
///
/// The deliberate differences (each checked on the frame's bytes, so that only frames that
/// really hit one are compared less deeply):
///
/// - **Third VLAN tag** (link): we reject a frame with more than [`MAX_VLAN_TAGS`] (2) tags
///   (802.1ad S-tag + 802.1Q C-tag is the deepest stack we support); etherparse slices up to
///   three and stops without error at a fourth.
/// - **MACsec** (EtherType 0x88e5, from network): etherparse decodes the SecTAG; to us it is an
///   unknown EtherType whose payload is left alone.
/// - **AH over IPv4** (from IP payload): etherparse walks an IPv4 Authentication Header; we
///   treat protocol 51 as an upper layer we do not know (the payload is the AH).
/// - **IPv6 Payload Length 0 with bytes after the header** (from IP payload): etherparse takes
///   the rest of the buffer as the payload (RFC 2675 jumbogram handling); we do not support
///   jumbograms, so Payload Length 0 is an empty payload.
/// - **More than 8 IPv6 extension headers** (from IP payload): we stop with `TooMany`
///   ([`MAX_EXT_HEADERS`]) to bound the walk; etherparse has no bound.
/// - **Extension headers after a non-first IPv6 fragment** (from IP payload): what follows a
///   non-first fragment's header is fragment data, so we stop the walk there (RFC 8200 §4.5);
///   etherparse keeps decoding it as headers if the Next Header is an extension number.
/// - **Several Fragment headers** (from IP payload): we report the first; etherparse calls the
///   packet fragmented if any of them fragments.
/// - **IGMP** (transport): etherparse slices IGMP; we do not know IGMP (no transport layer).
/// - **ICMP of the other IP family** (transport): etherparse slices protocol 1 inside IPv6 as
///   ICMPv4 and 58 inside IPv4 as ICMPv6; we treat them as unknown upper layers (RFC 4443 §1),
///   since their checksums would otherwise be verified against the wrong pseudo-header.
/// - **UDP Length 0** (transport): etherparse accepts it (RFC 2675 §4, UDP jumbograms) and
///   takes the whole IP payload; we reject it (below the header length).
/// - **ICMPv4 Timestamp / Timestamp Reply with code 0 not 20 bytes long** (transport):
///   etherparse requires exactly 20 bytes; we only require the 8-byte header.
/// - **ICMPv6 minimum length** (transport): etherparse requires 8 bytes for every type; we
///   require the fixed part of the message's own type (4 for an unknown type, 16 for RA, 24 for
///   NS/NA/MLD, 40 for Redirect), so lengths between the two minimums differ.
///
/// [`MAX_VLAN_TAGS`]: proto_core::wire::ethernet::MAX_VLAN_TAGS
/// [`MAX_EXT_HEADERS`]: proto_core::wire::ipv6::MAX_EXT_HEADERS
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limit {
    /// Layers of this rank and above are not compared.
    upto: u8,
    /// The deliberate difference, for messages.
    why: &'static str,
}

const FULL: Limit = Limit { upto: ALL, why: "" };

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn limit_of(bytes: &[u8]) -> Limit {
    let lim = |upto, why| Limit { upto, why };
    // The VLAN tags and the EtherType, walked by hand (our parser rejects a third tag).
    let mut at = 12;
    let mut tags = 0;
    while bytes.len() >= at + 2 {
        let ethertype = be16(bytes, at);
        if matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
            tags += 1;
            if tags == 3 {
                return lim(LINK, "third VLAN tag: we allow 2, etherparse 3");
            }
            at += 4;
        } else {
            if ethertype == 0x88e5 {
                return lim(NET, "MACsec: etherparse decodes it, we do not");
            }
            break;
        }
    }
    let Ok(eth) = EthernetFrame::new_checked(bytes) else {
        return FULL;
    };
    match eth.ethertype() {
        EtherType::Ipv4 => {
            let Ok(ip) = Ipv4Packet::new_checked(eth.payload_slice()) else {
                return FULL;
            };
            match ip.protocol() {
                IpProtocol::Ah => lim(EXT, "AH over IPv4: etherparse walks it, we do not"),
                _ if ip.is_fragment() => FULL,
                proto => transport_limit(proto, false, ip.payload_slice()),
            }
        }
        EtherType::Ipv6 => {
            let l2 = eth.payload_slice();
            let Ok(ip) = Ipv6Packet::new_checked(l2) else {
                return FULL;
            };
            if ip.payload_len() == 0 && l2.len() > 40 {
                return lim(EXT, "IPv6 Payload Length 0: etherparse takes the rest");
            }
            let mut headers = ip.ext_headers_slice();
            let mut fragments = 0;
            let mut last = None;
            for header in headers.by_ref() {
                let header = match header {
                    Ok(h) => h,
                    Err(e) if matches!(e.kind, ErrorKind::TooMany { .. }) => {
                        return lim(EXT, "more than 8 IPv6 extension headers: we stop");
                    }
                    Err(_) => return FULL,
                };
                fragments += usize::from(header.kind == IpProtocol::Ipv6Frag);
                last = Some(header);
            }
            if fragments > 1 {
                return lim(EXT, "several Fragment headers: we report the first");
            }
            if let Some(frag) = last.and_then(|h| h.fragment())
                && frag.frag_offset() != 0
                && is_extension_header(headers.next_header())
            {
                return lim(
                    EXT,
                    "headers after a non-first fragment: etherparse walks on",
                );
            }
            let Ok(upper) = ip.upper_layer() else {
                return FULL;
            };
            if upper.fragment.is_some_and(|f| f.offset != 0 || f.more) {
                return FULL;
            }
            transport_limit(upper.protocol, true, &ip.payload_slice()[upper.offset..])
        }
        _ => FULL,
    }
}

fn transport_limit(proto: IpProtocol, ipv6: bool, bytes: &[u8]) -> Limit {
    let lim = |why| Limit {
        upto: TRANSPORT,
        why,
    };
    match proto {
        IpProtocol::Igmp => lim("IGMP: etherparse slices it, we do not"),
        IpProtocol::Icmp if ipv6 => lim("ICMPv4 inside IPv6: etherparse slices it, we do not"),
        IpProtocol::Icmpv6 if !ipv6 => lim("ICMPv6 inside IPv4: etherparse slices it, we do not"),
        IpProtocol::Udp if bytes.len() >= 8 && be16(bytes, 4) == 0 => {
            lim("UDP Length 0: etherparse accepts (jumbogram), we reject")
        }
        IpProtocol::Icmp
            if bytes.len() >= 8
                && matches!(bytes[0], 13 | 14)
                && bytes[1] == 0
                && bytes.len() != 20 =>
        {
            lim("ICMPv4 Timestamp not 20 bytes: etherparse rejects")
        }
        IpProtocol::Icmpv6 if !bytes.is_empty() => {
            let ours = Icmpv6Message::from(bytes[0]).header_len().max(4);
            let (lo, hi) = (ours.min(8), ours.max(8));
            if (lo..hi).contains(&bytes.len()) {
                lim("ICMPv6 minimum length: 8 for etherparse, the type's fixed part for us")
            } else {
                FULL
            }
        }
        _ => FULL,
    }
}

// ---------------------------------------------------------------------------------------------
// Field comparison
// ---------------------------------------------------------------------------------------------

type Check = Result<(), String>;

fn check<T: PartialEq + Debug>(field: &str, ours: T, theirs: T) -> Check {
    if ours == theirs {
        Ok(())
    } else {
        Err(format!("{field}: ours {ours:?} != etherparse {theirs:?}"))
    }
}

/// Compares every field both libraries expose, for layers below `upto`.
fn compare_fields(o: &Frame<'_>, t: &ep::SlicedPacket<'_>, upto: u8) -> Check {
    let Some(ep::LinkSlice::Ethernet2(eth)) = &t.link else {
        return Err(format!("etherparse has no Ethernet II link: {:?}", t.link));
    };
    check(
        "Ethernet destination",
        o.ethernet.dst_addr().0,
        eth.destination(),
    )?;
    check("Ethernet source", o.ethernet.src_addr().0, eth.source())?;
    let tags: Vec<&ep::SingleVlanSlice<'_>> = t
        .link_exts
        .iter()
        .filter_map(|e| match e {
            ep::LinkExtSlice::Vlan(v) => Some(v),
            _ => None,
        })
        .collect();
    check("VLAN tag count", o.ethernet.vlan_count(), tags.len())?;
    check(
        "Ethernet header length",
        o.ethernet.header_len(),
        14 + 4 * tags.len(),
    )?;
    let mut tpid = eth.ether_type().0;
    for (i, v) in tags.iter().enumerate() {
        let ours = o
            .ethernet
            .vlan_tag(i)
            .ok_or(format!("our VLAN tag {i} missing"))?;
        check(&format!("VLAN tag {i} TPID"), u16::from(ours.tpid), tpid)?;
        check(
            &format!("VLAN tag {i} PCP"),
            ours.pcp,
            v.priority_code_point().value(),
        )?;
        check(
            &format!("VLAN tag {i} DEI"),
            ours.dei,
            v.drop_eligible_indicator(),
        )?;
        check(
            &format!("VLAN tag {i} VID"),
            ours.vid,
            v.vlan_identifier().value(),
        )?;
        tpid = v.ether_type().0;
    }
    check("EtherType", u16::from(o.ethernet.ethertype()), tpid)?;
    if upto <= NET {
        return Ok(());
    }
    match (&o.network, &t.net) {
        (None, None) => {}
        (Some(Network::Arp(a)), Some(ep::NetSlice::Arp(b))) => compare_arp(a, b)?,
        (Some(Network::Ipv4(a)), Some(ep::NetSlice::Ipv4(b))) => compare_ipv4(a, b, upto)?,
        (Some(Network::Ipv6 { packet, upper }), Some(ep::NetSlice::Ipv6(b))) => {
            compare_ipv6(packet, upper, b, upto)?
        }
        (ours, theirs) => {
            return Err(format!(
                "network layer: ours {ours:?} vs etherparse {theirs:?}"
            ));
        }
    }
    if upto <= TRANSPORT {
        return Ok(());
    }
    match (&o.transport, &t.transport) {
        (None, None) => Ok(()),
        (Some(Transport::Tcp(a)), Some(ep::TransportSlice::Tcp(b))) => compare_tcp(a, b),
        (Some(Transport::Udp(a)), Some(ep::TransportSlice::Udp(b))) => compare_udp(a, b),
        (Some(Transport::Icmpv4(a)), Some(ep::TransportSlice::Icmpv4(b))) => compare_icmpv4(a, b),
        (Some(Transport::Icmpv6(a)), Some(ep::TransportSlice::Icmpv6(b))) => compare_icmpv6(a, b),
        (ours, theirs) => Err(format!(
            "transport layer: ours {ours:?} vs etherparse {theirs:?}"
        )),
    }
}

fn compare_arp(a: &ArpPacket<&[u8]>, b: &ep::ArpPacketSlice<'_>) -> Check {
    check(
        "ARP hardware type",
        u16::from(a.hardware_type()),
        b.hw_addr_type().0,
    )?;
    check(
        "ARP protocol type",
        u16::from(a.protocol_type()),
        b.proto_addr_type().0,
    )?;
    check("ARP hardware length", a.hardware_len(), b.hw_addr_size())?;
    check("ARP protocol length", a.protocol_len(), b.proto_addr_size())?;
    check("ARP operation", u16::from(a.operation()), b.operation().0)?;
    check(
        "ARP sender MAC",
        a.source_hardware_addr(),
        b.sender_hw_addr(),
    )?;
    check(
        "ARP sender IP",
        a.source_protocol_addr(),
        b.sender_protocol_addr(),
    )?;
    check(
        "ARP target MAC",
        a.target_hardware_addr(),
        b.target_hw_addr(),
    )?;
    check(
        "ARP target IP",
        a.target_protocol_addr(),
        b.target_protocol_addr(),
    )
}

fn compare_ipv4(a: &Ipv4Packet<&[u8]>, b: &ep::Ipv4Slice<'_>, upto: u8) -> Check {
    let h = b.header();
    check("IPv4 header length", a.header_len(), h.slice().len())?;
    check("IPv4 DSCP", a.dscp(), h.dcp().value())?;
    check("IPv4 ECN", a.ecn(), h.ecn().value())?;
    check("IPv4 total length", a.total_len(), h.total_len())?;
    check("IPv4 identification", a.ident(), h.identification())?;
    check("IPv4 DF", a.dont_frag(), h.dont_fragment())?;
    check("IPv4 MF", a.more_frags(), h.more_fragments())?;
    check(
        "IPv4 fragment offset (bytes)",
        a.frag_offset(),
        h.fragments_offset().value() * 8,
    )?;
    check(
        "IPv4 is fragment",
        a.is_fragment(),
        h.is_fragmenting_payload(),
    )?;
    check("IPv4 TTL", a.ttl(), h.ttl())?;
    check("IPv4 protocol", u8::from(a.protocol()), h.protocol().0)?;
    check("IPv4 checksum field", a.checksum(), h.header_checksum())?;
    check("IPv4 source", a.src_addr(), h.source_addr())?;
    check("IPv4 destination", a.dst_addr(), h.destination_addr())?;
    check("IPv4 options", a.options_slice(), h.options())?;
    if upto > EXT {
        check("IPv4 payload", a.payload_slice(), b.payload().payload)?;
        check("IPv4 fragmented", a.is_fragment(), b.payload().fragmented)?;
    }
    Ok(())
}

fn compare_ipv6(
    a: &Ipv6Packet<&[u8]>,
    upper: &proto_core::wire::UpperLayer,
    b: &ep::Ipv6Slice<'_>,
    upto: u8,
) -> Check {
    let h = b.header();
    check("IPv6 traffic class", a.traffic_class(), h.traffic_class())?;
    check("IPv6 flow label", a.flow_label(), h.flow_label().value())?;
    check("IPv6 payload length", a.payload_len(), h.payload_length())?;
    check(
        "IPv6 next header",
        u8::from(a.next_header()),
        h.next_header().0,
    )?;
    check("IPv6 hop limit", a.hop_limit(), h.hop_limit())?;
    check("IPv6 source", a.src_addr(), h.source_addr())?;
    check("IPv6 destination", a.dst_addr(), h.destination_addr())?;
    if upto <= EXT {
        return Ok(());
    }
    // The extension-header chain, header by header.
    let ours: Vec<_> = a
        .ext_headers_slice()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("our extension-header walk failed after the frame parsed: {e}"))?;
    let theirs: Vec<ep::Ipv6ExtensionSlice<'_>> = b.extensions().clone().into_iter().collect();
    check("IPv6 extension header count", ours.len(), theirs.len())?;
    for (i, (x, y)) in ours.iter().zip(&theirs).enumerate() {
        use ep::Ipv6ExtensionSlice as E;
        let (kind, bytes) = match y {
            E::HopByHop(s) => (IpProtocol::HopByHop, s.slice()),
            E::Routing(s) => (IpProtocol::Ipv6Route, s.slice()),
            E::Fragment(s) => (IpProtocol::Ipv6Frag, s.slice()),
            E::DestinationOptions(s) => (IpProtocol::Ipv6Opts, s.slice()),
            E::Authentication(s) => (IpProtocol::Ah, s.slice()),
        };
        check(&format!("IPv6 extension header {i} kind"), x.kind, kind)?;
        check(&format!("IPv6 extension header {i} bytes"), x.data, bytes)?;
        if let (Some(f), E::Fragment(s)) = (x.fragment(), y) {
            check(
                "IPv6 fragment offset (bytes)",
                f.frag_offset(),
                s.fragment_offset().value() * 8,
            )?;
            check("IPv6 fragment M flag", f.more_frags(), s.more_fragments())?;
            check(
                "IPv6 fragment identification",
                f.ident(),
                s.identification(),
            )?;
            check(
                "IPv6 fragment next header",
                u8::from(f.next_header()),
                s.next_header().0,
            )?;
        }
        if let Some(r) = x.routing() {
            check("IPv6 routing type", r.routing_type, bytes[2])?;
            check("IPv6 segments left", r.segments_left, bytes[3])?;
        }
    }
    let payload = b.payload();
    check(
        "IPv6 upper-layer protocol",
        u8::from(upper.protocol),
        payload.ip_number.0,
    )?;
    check(
        "IPv6 fragmented",
        upper.fragment.is_some_and(|f| f.offset != 0 || f.more),
        payload.fragmented,
    )?;
    check(
        "IPv6 upper-layer payload",
        &a.payload_slice()[upper.offset..],
        payload.payload,
    )
}

fn compare_tcp(a: &TcpPacket<&[u8]>, b: &ep::TcpSlice<'_>) -> Check {
    check("TCP source port", a.src_port(), b.source_port())?;
    check("TCP destination port", a.dst_port(), b.destination_port())?;
    check("TCP sequence number", a.seq_number().0, b.sequence_number())?;
    check(
        "TCP acknowledgment number",
        a.ack_number().0,
        b.acknowledgment_number(),
    )?;
    check("TCP header length", a.header_len(), b.header_len())?;
    check("TCP FIN", a.fin(), b.fin())?;
    check("TCP SYN", a.syn(), b.syn())?;
    check("TCP RST", a.rst(), b.rst())?;
    check("TCP PSH", a.psh(), b.psh())?;
    check("TCP ACK", a.ack(), b.ack())?;
    check("TCP URG", a.urg(), b.urg())?;
    check("TCP ECE", a.ece(), b.ece())?;
    check("TCP CWR", a.cwr(), b.cwr())?;
    check(
        "TCP AE/NS",
        a.flags().contains(proto_core::wire::TcpFlags::AE),
        b.ns(),
    )?;
    check("TCP window", a.window_len(), b.window_size())?;
    check("TCP checksum field", a.checksum(), b.checksum())?;
    check("TCP urgent pointer", a.urgent_at(), b.urgent_pointer())?;
    check("TCP options bytes", a.options_slice(), b.options())?;
    compare_tcp_options(a.options_slice(), b.options_iterator())?;
    check("TCP payload", a.payload_slice(), b.payload())
}

/// Compares the option lists element by element. etherparse ends at End of Option List
/// without yielding it, and stops with `UnknownId` at the first option kind it does not know
/// (we yield `Unknown` and go on), so the lists are compared up to there.
fn compare_tcp_options(ours: &[u8], mut theirs: ep::TcpOptionsIterator<'_>) -> Check {
    use ep::TcpOptionElement as T;
    for (i, option) in TcpOptions::new(ours).enumerate() {
        let field = format!("TCP option {i}");
        let other = theirs.next();
        match (option, other) {
            (Ok(TcpOption::EndOfList), None) => return Ok(()),
            (
                Ok(TcpOption::Unknown { kind, .. }),
                Some(Err(ep::TcpOptionReadError::UnknownId(k))),
            ) => {
                return check(&format!("{field} unknown kind"), kind, k);
            }
            (Err(_), Some(Err(_))) => return Ok(()),
            (Ok(TcpOption::NoOperation), Some(Ok(T::Noop))) => {}
            (Ok(TcpOption::MaxSegmentSize(x)), Some(Ok(T::MaximumSegmentSize(y)))) => {
                check(&field, x, y)?
            }
            (Ok(TcpOption::WindowScale(x)), Some(Ok(T::WindowScale(y)))) => check(&field, x, y)?,
            (Ok(TcpOption::SackPermitted), Some(Ok(T::SelectiveAcknowledgementPermitted))) => {}
            (Ok(TcpOption::SackRange(x)), Some(Ok(T::SelectiveAcknowledgement(first, rest)))) => {
                let theirs: Vec<(u32, u32)> = std::iter::once(first)
                    .chain(rest.into_iter().flatten())
                    .collect();
                check(&field, x.iter().collect::<Vec<_>>(), theirs)?
            }
            (Ok(TcpOption::Timestamps { tsval, tsecr }), Some(Ok(T::Timestamp(v, e)))) => {
                check(&field, (tsval, tsecr), (v, e))?
            }
            (x, y) => return Err(format!("{field}: ours {x:?} vs etherparse {y:?}")),
        }
    }
    match theirs.next() {
        None => Ok(()),
        other => Err(format!(
            "TCP options: ours ended, etherparse yields {other:?}"
        )),
    }
}

fn compare_udp(a: &UdpPacket<&[u8]>, b: &ep::UdpSlice<'_>) -> Check {
    check("UDP source port", a.src_port(), b.source_port())?;
    check("UDP destination port", a.dst_port(), b.destination_port())?;
    check("UDP length", a.len(), b.length())?;
    check("UDP checksum field", a.checksum(), b.checksum())?;
    check("UDP payload", a.payload_slice(), b.payload())
}

fn compare_icmpv4(a: &Icmpv4Packet<&[u8]>, b: &ep::Icmpv4Slice<'_>) -> Check {
    check("ICMPv4 type", u8::from(a.msg_type()), b.type_u8())?;
    check("ICMPv4 code", a.msg_code(), b.code_u8())?;
    check("ICMPv4 checksum field", a.checksum(), b.checksum())?;
    check(
        "ICMPv4 bytes 4..8",
        a.rest_of_header().to_be_bytes(),
        b.bytes5to8(),
    )?;
    match b.icmp_type() {
        ep::Icmpv4Type::EchoRequest(e) | ep::Icmpv4Type::EchoReply(e) => {
            check("ICMPv4 echo identifier", a.echo_ident(), e.id)?;
            check("ICMPv4 echo sequence", a.echo_seq_no(), e.seq)?;
        }
        ep::Icmpv4Type::DestinationUnreachable(
            ep::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu },
        ) => check("ICMPv4 next-hop MTU", a.next_hop_mtu(), next_hop_mtu)?,
        _ => {}
    }
    check("ICMPv4 message", a.into_inner(), b.slice())?;
    if b.header_len() == 8 {
        check("ICMPv4 data", a.data_slice(), b.payload())?;
    }
    Ok(())
}

fn compare_icmpv6(a: &Icmpv6Packet<&[u8]>, b: &ep::Icmpv6Slice<'_>) -> Check {
    check("ICMPv6 type", u8::from(a.msg_type()), b.type_u8())?;
    check("ICMPv6 code", a.msg_code(), b.code_u8())?;
    check("ICMPv6 checksum field", a.checksum(), b.checksum())?;
    // `mtu` reads bytes 4..8 whatever the type (see the module docs of icmpv6).
    check("ICMPv6 bytes 4..8", a.mtu().to_be_bytes(), b.bytes5to8())?;
    check("ICMPv6 message", a.into_inner(), b.slice())?;
    match b.icmp_type() {
        ep::Icmpv6Type::EchoRequest(e) | ep::Icmpv6Type::EchoReply(e) => {
            check("ICMPv6 echo identifier", a.ident(), e.id)?;
            check("ICMPv6 echo sequence", a.seq_no(), e.seq)?;
            check("ICMPv6 echo data", a.payload_slice(), b.payload())?;
        }
        ep::Icmpv6Type::NeighborAdvertisement(h) => {
            check("ICMPv6 NA router", a.router(), h.router)?;
            check("ICMPv6 NA solicited", a.solicited(), h.solicited)?;
            check("ICMPv6 NA override", a.override_flag(), h.r#override)?;
        }
        _ => {}
    }
    use ep::icmpv6::Icmpv6PayloadSlice as P;
    match b.payload_slice() {
        Ok(P::NeighborSolicitation(s)) => {
            check("ICMPv6 NS target", a.target_addr(), s.target_address())?;
            check("ICMPv6 NS options", a.payload_slice(), s.options())?;
        }
        Ok(P::NeighborAdvertisement(s)) => {
            check("ICMPv6 NA target", a.target_addr(), s.target_address())?;
            check("ICMPv6 NA options", a.payload_slice(), s.options())?;
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Checksums
// ---------------------------------------------------------------------------------------------

fn addrs_of(net: &ep::NetSlice<'_>) -> Option<IpAddrPair> {
    match net {
        ep::NetSlice::Ipv4(s) => Some(IpAddrPair::V4 {
            src: s.header().source_addr(),
            dst: s.header().destination_addr(),
        }),
        ep::NetSlice::Ipv6(s) => Some(IpAddrPair::V6 {
            src: s.header().source_addr(),
            dst: s.header().destination_addr(),
        }),
        ep::NetSlice::Arp(_) => None,
    }
}

/// True when etherparse finds every checksum of the frame right (IPv4 header, transport).
/// `None` when its checksum helpers do not cover the combination (ICMPv6 over IPv4).
fn their_checksums_ok(t: &ep::SlicedPacket<'_>) -> Option<bool> {
    let mut ok = true;
    if let Some(ep::NetSlice::Ipv4(s)) = &t.net {
        // Summed over the raw header: `Ipv4Header::calc_header_checksum` re-encodes the decoded
        // fields, which drops the reserved flag bit.
        let sum = ep::checksum::Sum16BitWords::new().add_slice(s.header().slice());
        ok &= sum.ones_complement() == 0;
    }
    let (Some(net), Some(transport)) = (&t.net, &t.transport) else {
        return Some(ok);
    };
    let addrs = addrs_of(net)?;
    let transport_ok = match (transport, addrs) {
        (ep::TransportSlice::Tcp(s), IpAddrPair::V4 { src, dst }) => {
            s.calc_checksum_ipv4(src.octets(), dst.octets()).ok()? == s.checksum()
        }
        (ep::TransportSlice::Tcp(s), IpAddrPair::V6 { src, dst }) => {
            s.calc_checksum_ipv6(src.octets(), dst.octets()).ok()? == s.checksum()
        }
        (ep::TransportSlice::Udp(s), IpAddrPair::V4 { src, dst }) => {
            s.checksum() == 0
                || s.to_header()
                    .calc_checksum_ipv4_raw(src.octets(), dst.octets(), s.payload())
                    .ok()?
                    == s.checksum()
        }
        (ep::TransportSlice::Udp(s), IpAddrPair::V6 { src, dst }) => {
            s.to_header()
                .calc_checksum_ipv6_raw(src.octets(), dst.octets(), s.payload())
                .ok()?
                == s.checksum()
        }
        (ep::TransportSlice::Icmpv4(s), _) => {
            ep::checksum::Sum16BitWords::new()
                .add_slice(s.slice())
                .ones_complement()
                == 0
        }
        (ep::TransportSlice::Icmpv6(s), IpAddrPair::V6 { src, dst }) => {
            s.is_checksum_valid(src.octets(), dst.octets())
        }
        _ => return None,
    };
    Some(ok && transport_ok)
}

/// For frames whose checksums were written correctly: our `verify_checksums` passes,
/// etherparse agrees, and the checksums we compute equal the ones etherparse computes.
///
/// etherparse's ICMP `calc_checksum` re-encodes the header from its decoded type, which drops
/// bits it does not model (its docs warn against using it on received packets, e.g. the RA
/// flags other than M and O); so with `exact_icmp` false (captured frames) our computed ICMP
/// checksum is compared with the checksum field instead.
fn compare_computed_checksums(o: &Frame<'_>, t: &ep::SlicedPacket<'_>, exact_icmp: bool) -> Check {
    o.verify_checksums()
        .map_err(|e| format!("our verify_checksums: {e}"))?;
    check(
        "etherparse finds the checksums right",
        their_checksums_ok(t),
        Some(true),
    )?;
    if let (Some(Network::Ipv4(ip)), Some(ep::NetSlice::Ipv4(s))) = (&o.network, &t.net) {
        let mut copy = ip.into_inner().to_vec();
        let mut packet = Ipv4Packet::new_unchecked(&mut copy[..]);
        packet.set_checksum(0);
        packet.fill_checksum();
        check(
            "IPv4 header checksum computed",
            packet.checksum(),
            s.header().to_header().calc_header_checksum(),
        )?;
    }
    let (Some(transport), Some(net)) = (&o.transport, &t.net) else {
        return Ok(());
    };
    let addrs = addrs_of(net).ok_or("transport without IP")?;
    let (src4, dst4, src6, dst6) = match addrs {
        IpAddrPair::V4 { src, dst } => (src.octets(), dst.octets(), [0; 16], [0; 16]),
        IpAddrPair::V6 { src, dst } => ([0; 4], [0; 4], src.octets(), dst.octets()),
    };
    let v4 = matches!(addrs, IpAddrPair::V4 { .. });
    match (transport, &t.transport) {
        (Transport::Tcp(a), Some(ep::TransportSlice::Tcp(b))) => {
            let mut copy = a.into_inner().to_vec();
            let mut p = TcpPacket::new_unchecked(&mut copy[..]);
            p.fill_checksum(&addrs);
            let theirs = if v4 {
                b.calc_checksum_ipv4(src4, dst4)
            } else {
                b.calc_checksum_ipv6(src6, dst6)
            };
            check(
                "TCP checksum computed",
                Ok(p.checksum()),
                theirs.map_err(|e| e.to_string()),
            )
        }
        (Transport::Udp(a), Some(ep::TransportSlice::Udp(b))) => {
            let mut copy = a.into_inner().to_vec();
            let mut p = UdpPacket::new_unchecked(&mut copy[..]);
            p.fill_checksum(&addrs);
            let h = b.to_header();
            let theirs = if v4 {
                h.calc_checksum_ipv4_raw(src4, dst4, b.payload())
            } else {
                h.calc_checksum_ipv6_raw(src6, dst6, b.payload())
            };
            check(
                "UDP checksum computed",
                Ok(p.checksum()),
                theirs.map_err(|e| e.to_string()),
            )
        }
        (Transport::Icmpv4(a), Some(ep::TransportSlice::Icmpv4(b))) => {
            let mut copy = a.into_inner().to_vec();
            let mut p = Icmpv4Packet::new_unchecked(&mut copy[..]);
            p.fill_checksum();
            let theirs = if exact_icmp {
                b.icmp_type().calc_checksum(b.payload())
            } else {
                b.checksum()
            };
            check("ICMPv4 checksum computed", p.checksum(), theirs)
        }
        (Transport::Icmpv6(a), Some(ep::TransportSlice::Icmpv6(b))) => {
            let mut copy = a.into_inner().to_vec();
            let mut p = Icmpv6Packet::new_unchecked(&mut copy[..]);
            p.fill_checksum(&addrs);
            let theirs = if exact_icmp {
                b.icmp_type().calc_checksum(src6, dst6, b.payload())
            } else {
                Ok(b.checksum())
            };
            check(
                "ICMPv6 checksum computed",
                Ok(p.checksum()),
                theirs.map_err(|e| e.to_string()),
            )
        }
        (ours, theirs) => Err(format!(
            "transport layer: ours {ours:?} vs etherparse {theirs:?}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// One frame through both parsers
// ---------------------------------------------------------------------------------------------

/// Parses `bytes` with both libraries and checks that they agree: both accept (and every
/// shared field agrees below the frame's [`Limit`]), or both reject at the same layer, or they
/// disagree only at or above the layer of a deliberate difference. With `checksums`, the
/// verdicts of the two checksum checks must agree too (when no difference limits the frame).
fn agree(bytes: &[u8], checksums: bool) -> Check {
    let limit = limit_of(bytes);
    let ours = Frame::parse(bytes);
    let theirs = ep::SlicedPacket::from_ethernet(bytes);
    let why = if limit.upto == ALL {
        String::new()
    } else {
        format!(
            " (compared below the {} layer: {})",
            rank_name(limit.upto),
            limit.why
        )
    };
    let result = match (&ours, &theirs) {
        (Ok(o), Ok(t)) => compare_fields(o, t, limit.upto).and_then(|()| {
            if checksums
                && limit.upto == ALL
                && let Some(theirs) = their_checksums_ok(t)
            {
                let ours = o.verify_checksums();
                if ours.is_ok() != theirs {
                    return Err(format!(
                        "checksum verdicts differ: ours {ours:?}, etherparse all right: {theirs}"
                    ));
                }
            }
            Ok(())
        }),
        (Err(e), Err(f)) => {
            let (r, s) = (our_rank(e), their_rank(f));
            if r != s && r.min(s) < limit.upto {
                Err(format!(
                    "both reject, at different layers: ours {} ({e}), etherparse {} ({f:?})",
                    rank_name(r),
                    rank_name(s)
                ))
            } else {
                Ok(())
            }
        }
        (Err(e), Ok(_)) if our_rank(e) < limit.upto => Err(format!("only we reject: {e}")),
        (Ok(_), Err(f)) if their_rank(f) < limit.upto => {
            Err(format!("only etherparse rejects: {f:?}"))
        }
        _ => Ok(()),
    };
    result.map_err(|msg| {
        let ours = match &ours {
            Ok(_) => "Ok".to_string(),
            Err(e) => format!("Err({e})"),
        };
        let theirs = match &theirs {
            Ok(_) => "Ok".to_string(),
            Err(f) => format!("Err({f:?})"),
        };
        format!("{msg}{why}; ours: {ours}; etherparse: {theirs}")
    })
}

/// Parses a frame that both libraries must accept, and compares everything both expose and
/// the checksums. `generated`: a frame built by the tests, whose ICMP checksums etherparse can
/// recompute exactly (see [`compare_computed_checksums`]) and which may hit a deliberate
/// difference (then compared below it); captured frames must be comparable in full.
fn agree_full(bytes: &[u8], generated: bool) -> Check {
    let limit = limit_of(bytes);
    if limit != FULL && !generated {
        return Err(format!("unexpected contract difference: {}", limit.why));
    }
    let o = Frame::parse(bytes).map_err(|e| format!("we reject: {e}"))?;
    let t =
        ep::SlicedPacket::from_ethernet(bytes).map_err(|e| format!("etherparse rejects: {e:?}"))?;
    compare_fields(&o, &t, limit.upto).map_err(|e| {
        if limit == FULL {
            e
        } else {
            let layer = rank_name(limit.upto);
            format!("{e} (compared below the {layer} layer: {})", limit.why)
        }
    })?;
    if limit == FULL || (o.transport.is_none() && t.transport.is_none()) {
        compare_computed_checksums(&o, &t, generated)?;
    }
    Ok(())
}

/// The offset of the IP header, if the frame's EtherType is IPv4 or IPv6.
fn ip_offset(bytes: &[u8]) -> Option<(usize, EtherType)> {
    let eth = EthernetFrame::new_checked(bytes).ok()?;
    matches!(eth.ethertype(), EtherType::Ipv4 | EtherType::Ipv6)
        .then(|| (eth.header_len(), eth.ethertype()))
}

/// Every cut of `bytes`: as is, and with the IP length field patched to the cut, so that
/// the layers above IP see a short packet rather than IP seeing a short buffer.
fn truncations_agree(label: &str, bytes: &[u8]) -> Check {
    for cut in 0..=bytes.len() {
        agree(&bytes[..cut], false)
            .map_err(|e| format!("{label}: cut to {cut} of {} bytes: {e}", bytes.len()))?;
    }
    let Some((ip, ethertype)) = ip_offset(bytes) else {
        return Ok(());
    };
    for cut in ip..=bytes.len() {
        let mut short = bytes[..cut].to_vec();
        let ip_len = cut - ip;
        match ethertype {
            EtherType::Ipv4 if ip_len >= 20 => {
                let header_len = usize::from(short[ip] & 0x0f) * 4;
                if ip_len < header_len {
                    continue;
                }
                short[ip + 2..ip + 4].copy_from_slice(&(ip_len as u16).to_be_bytes());
            }
            EtherType::Ipv6 if ip_len >= 40 => {
                short[ip + 4..ip + 6].copy_from_slice(&((ip_len - 40) as u16).to_be_bytes());
            }
            _ => continue,
        }
        agree(&short, false).map_err(|e| {
            format!(
                "{label}: cut to {cut} of {} bytes, IP length patched: {e}",
                bytes.len()
            )
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 1. Frames generated with etherparse
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct TagSpec {
    pcp: u8,
    dei: bool,
    vid: u16,
}

#[derive(Debug, Clone)]
enum VlanSpec {
    None,
    Single(TagSpec),
    /// Outer tag, inner tag, and the outer TPID to patch in (the builder writes 0x88a8).
    Double(TagSpec, TagSpec, u16),
}

#[derive(Debug, Clone)]
struct Ipv4Spec {
    src: [u8; 4],
    dst: [u8; 4],
    dscp: u8,
    ecn: u8,
    ident: u16,
    df: bool,
    mf: bool,
    /// In 8-byte units.
    frag_offset: u16,
    ttl: u8,
    options: Vec<u8>,
}

#[derive(Debug, Clone)]
enum ExtSpec {
    HopByHop(Vec<u8>),
    DestOpts(Vec<u8>),
    /// The routing header's payload (type, segments left, data) and optional final
    /// Destination Options after it.
    Routing(Vec<u8>, Option<Vec<u8>>),
    Fragment {
        offset: u16,
        more: bool,
        ident: u32,
    },
    Auth {
        spi: u32,
        seq: u32,
        icv: Vec<u8>,
    },
}

#[derive(Debug, Clone)]
struct Ipv6Spec {
    src: [u8; 16],
    dst: [u8; 16],
    traffic_class: u8,
    flow_label: u32,
    hop_limit: u8,
    exts: Vec<ExtSpec>,
}

#[derive(Debug, Clone)]
struct TcpSpec {
    src: u16,
    dst: u16,
    seq: u32,
    ack: Option<u32>,
    window: u16,
    urg: Option<u16>,
    /// FIN SYN RST PSH ECE CWR NS, one bit each.
    flags: u8,
    options: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Icmp4Spec {
    Echo { request: bool, id: u16, seq: u16 },
    Unreachable { code: u8, mtu: u16 },
    TimeExceeded { code: u8 },
}

#[derive(Debug, Clone)]
enum Icmp6Spec {
    Echo {
        request: bool,
        id: u16,
        seq: u16,
    },
    Ns {
        target: [u8; 16],
        lladdr: Option<[u8; 6]>,
    },
    Na {
        router: bool,
        solicited: bool,
        override_flag: bool,
        target: [u8; 16],
        lladdr: Option<[u8; 6]>,
    },
}

#[derive(Debug, Clone)]
enum L4Spec {
    Tcp(TcpSpec),
    Udp(u16, u16),
    Icmp4(Icmp4Spec),
    Icmp6(Icmp6Spec),
}

#[derive(Debug, Clone)]
enum NetSpec {
    Arp {
        op: u16,
        sha: [u8; 6],
        spa: [u8; 4],
        tha: [u8; 6],
        tpa: [u8; 4],
    },
    V4(Ipv4Spec, L4Spec),
    V6(Ipv6Spec, L4Spec),
}

#[derive(Debug, Clone)]
struct FrameSpec {
    src: [u8; 6],
    dst: [u8; 6],
    vlan: VlanSpec,
    net: NetSpec,
    payload: Vec<u8>,
}

fn tag_spec() -> impl Strategy<Value = TagSpec> {
    (0u8..8, any::<bool>(), 0u16..4096).prop_map(|(pcp, dei, vid)| TagSpec { pcp, dei, vid })
}

fn vlan_spec() -> impl Strategy<Value = VlanSpec> {
    prop_oneof![
        2 => Just(VlanSpec::None),
        1 => tag_spec().prop_map(VlanSpec::Single),
        1 => (tag_spec(), tag_spec(), prop::sample::select(vec![0x88a8u16, 0x8100, 0x9100]))
            .prop_map(|(o, i, tpid)| VlanSpec::Double(o, i, tpid)),
    ]
}

/// One IPv4 option, as bytes (RFC 791 layouts, plus unknown kinds).
fn ipv4_option() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![1u8]),
        (0usize..4, any::<[u8; 16]>()).prop_map(|(n, route)| {
            let mut o = vec![7, (3 + 4 * n) as u8, 4];
            o.extend_from_slice(&route[..4 * n]);
            o
        }),
        any::<u16>().prop_map(|v| vec![148, 4, (v >> 8) as u8, v as u8]),
        (0usize..3, any::<[u8; 8]>()).prop_map(|(n, ts)| {
            let mut o = vec![68, (4 + 4 * n) as u8, 5, 0];
            o.extend_from_slice(&ts[..4 * n]);
            o
        }),
        (
            prop::sample::select(vec![130u8, 133, 30, 94, 222]),
            prop::collection::vec(any::<u8>(), 0..6)
        )
            .prop_map(|(kind, data)| {
                let mut o = vec![kind, (2 + data.len()) as u8];
                o.extend(data);
                o
            }),
    ]
}

/// An IPv4 or TCP options area: the options that fit in 40 bytes, in order, then zero (End of
/// Option List) padding to a multiple of 4.
fn pack_options(options: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for o in options {
        if out.len() + o.len() <= 40 {
            out.extend(o);
        }
    }
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

/// An IPv4 options area (see [`pack_options`]).
fn ipv4_options() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(Vec::new()),
        1 => prop::collection::vec(ipv4_option(), 1..6).prop_map(pack_options),
    ]
}

fn ipv4_spec() -> impl Strategy<Value = Ipv4Spec> {
    (
        any::<([u8; 4], [u8; 4])>(),
        (0u8..64, 0u8..4, any::<u16>()),
        (
            any::<bool>(),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
            0u16..8192,
        ),
        any::<u8>(),
        ipv4_options(),
    )
        .prop_map(
            |((src, dst), (dscp, ecn, ident), (df, mf, fragmented, offset), ttl, options)| {
                Ipv4Spec {
                    src,
                    dst,
                    dscp,
                    ecn,
                    ident,
                    df,
                    mf,
                    frag_offset: if fragmented { offset } else { 0 },
                    ttl,
                    options,
                }
            },
        )
}

/// The payload of a Hop-by-Hop / Destination Options / Routing header: 6 + 8k bytes.
fn ext_payload() -> impl Strategy<Value = Vec<u8>> {
    (0usize..3).prop_flat_map(|k| prop::collection::vec(any::<u8>(), 6 + 8 * k))
}

fn ext_spec(kind: u8) -> BoxedStrategy<ExtSpec> {
    match kind {
        0 => ext_payload().prop_map(ExtSpec::HopByHop).boxed(),
        1 => ext_payload().prop_map(ExtSpec::DestOpts).boxed(),
        2 => (ext_payload(), prop::option::weighted(0.3, ext_payload()))
            .prop_map(|(r, d)| ExtSpec::Routing(r, d))
            .boxed(),
        3 => (
            prop_oneof![Just(0u16), 0u16..8192],
            any::<bool>(),
            any::<u32>(),
        )
            .prop_map(|(offset, more, ident)| ExtSpec::Fragment {
                offset,
                more,
                ident,
            })
            .boxed(),
        _ => (
            any::<u32>(),
            any::<u32>(),
            (0usize..4).prop_flat_map(|n| prop::collection::vec(any::<u8>(), 4 * n)),
        )
            .prop_map(|(spi, seq, icv)| ExtSpec::Auth { spi, seq, icv })
            .boxed(),
    }
}

fn ipv6_spec() -> impl Strategy<Value = Ipv6Spec> {
    let exts = prop::sample::subsequence(vec![0u8, 1, 2, 3, 4], 0..=3)
        .prop_flat_map(|kinds| kinds.into_iter().map(ext_spec).collect::<Vec<_>>());
    (
        any::<([u8; 16], [u8; 16])>(),
        any::<u8>(),
        0u32..(1 << 20),
        any::<u8>(),
        exts,
    )
        .prop_map(
            |((src, dst), traffic_class, flow_label, hop_limit, exts)| Ipv6Spec {
                src,
                dst,
                traffic_class,
                flow_label,
                hop_limit,
                exts,
            },
        )
}

/// One TCP option, as bytes.
fn tcp_option() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(vec![1u8]),
        1 => Just(vec![0u8]),
        2 => any::<u16>().prop_map(|m| vec![2, 4, (m >> 8) as u8, m as u8]),
        2 => any::<u8>().prop_map(|s| vec![3, 3, s]),
        2 => Just(vec![4u8, 2]),
        2 => prop::collection::vec(any::<u32>(), 2..=8).prop_map(|edges| {
            let blocks = edges.len() / 2;
            let mut o = vec![5, (2 + 8 * blocks) as u8];
            for e in &edges[..2 * blocks] {
                o.extend_from_slice(&e.to_be_bytes());
            }
            o
        }),
        2 => any::<(u32, u32)>().prop_map(|(v, e)| {
            let mut o = vec![8, 10];
            o.extend_from_slice(&v.to_be_bytes());
            o.extend_from_slice(&e.to_be_bytes());
            o
        }),
        1 => (prop::sample::select(vec![6u8, 9, 19, 28, 30, 34, 253, 254]),
              prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(kind, data)| {
                let mut o = vec![kind, (2 + data.len()) as u8];
                o.extend(data);
                o
            }),
    ]
}

fn tcp_options() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(tcp_option(), 0..8).prop_map(pack_options)
}

fn tcp_spec() -> impl Strategy<Value = TcpSpec> {
    (
        any::<(u16, u16, u32)>(),
        prop::option::of(any::<u32>()),
        any::<u16>(),
        prop::option::weighted(0.2, any::<u16>()),
        0u8..128,
        tcp_options(),
    )
        .prop_map(
            |((src, dst, seq), ack, window, urg, flags, options)| TcpSpec {
                src,
                dst,
                seq,
                ack,
                window,
                urg,
                flags,
                options,
            },
        )
}

fn icmp4_spec() -> impl Strategy<Value = Icmp4Spec> {
    prop_oneof![
        any::<(bool, u16, u16)>().prop_map(|(request, id, seq)| Icmp4Spec::Echo {
            request,
            id,
            seq
        }),
        (0u8..16, any::<u16>()).prop_map(|(code, mtu)| Icmp4Spec::Unreachable { code, mtu }),
        (0u8..2).prop_map(|code| Icmp4Spec::TimeExceeded { code }),
    ]
}

fn icmp6_spec() -> impl Strategy<Value = Icmp6Spec> {
    prop_oneof![
        any::<(bool, u16, u16)>().prop_map(|(request, id, seq)| Icmp6Spec::Echo {
            request,
            id,
            seq
        }),
        (any::<[u8; 16]>(), prop::option::of(any::<[u8; 6]>()))
            .prop_map(|(target, lladdr)| Icmp6Spec::Ns { target, lladdr }),
        (
            any::<(bool, bool, bool)>(),
            any::<[u8; 16]>(),
            prop::option::of(any::<[u8; 6]>())
        )
            .prop_map(|((router, solicited, override_flag), target, lladdr)| {
                Icmp6Spec::Na {
                    router,
                    solicited,
                    override_flag,
                    target,
                    lladdr,
                }
            }),
    ]
}

fn net_spec() -> impl Strategy<Value = NetSpec> {
    let l4_v4 = prop_oneof![
        tcp_spec().prop_map(L4Spec::Tcp),
        any::<(u16, u16)>().prop_map(|(s, d)| L4Spec::Udp(s, d)),
        icmp4_spec().prop_map(L4Spec::Icmp4),
    ];
    let l4_v6 = prop_oneof![
        tcp_spec().prop_map(L4Spec::Tcp),
        any::<(u16, u16)>().prop_map(|(s, d)| L4Spec::Udp(s, d)),
        icmp6_spec().prop_map(L4Spec::Icmp6),
    ];
    prop_oneof![
        1 => (prop::sample::select(vec![1u16, 2, 3, 4]), any::<([u8; 6], [u8; 4], [u8; 6], [u8; 4])>())
            .prop_map(|(op, (sha, spa, tha, tpa))| NetSpec::Arp { op, sha, spa, tha, tpa }),
        4 => (ipv4_spec(), l4_v4).prop_map(|(ip, l4)| NetSpec::V4(ip, l4)),
        4 => (ipv6_spec(), l4_v6).prop_map(|(ip, l4)| NetSpec::V6(ip, l4)),
    ]
}

fn frame_spec() -> impl Strategy<Value = FrameSpec> {
    (
        any::<([u8; 6], [u8; 6])>(),
        vlan_spec(),
        net_spec(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|((src, dst), vlan, net, payload)| FrameSpec {
            src,
            dst,
            vlan,
            net,
            payload,
        })
}

fn ep_tag(t: &TagSpec) -> ep::SingleVlanHeader {
    ep::SingleVlanHeader {
        pcp: ep::VlanPcp::try_new(t.pcp).unwrap(),
        drop_eligible_indicator: t.dei,
        vlan_id: ep::VlanId::try_new(t.vid).unwrap(),
        ether_type: ep::EtherType(0),
    }
}

fn raw_ext(payload: &[u8]) -> ep::Ipv6RawExtHeader {
    ep::Ipv6RawExtHeader::new_raw(ep::IpNumber(0), payload).unwrap()
}

fn ep_ip_headers(net: &NetSpec) -> ep::IpHeaders {
    match net {
        NetSpec::V4(s, _) => {
            let mut h = ep::Ipv4Header::new(0, s.ttl, ep::IpNumber::UDP, s.src, s.dst).unwrap();
            h.dscp = ep::IpDscp::try_new(s.dscp).unwrap();
            h.ecn = ep::IpEcn::try_new(s.ecn).unwrap();
            h.identification = s.ident;
            h.dont_fragment = s.df;
            h.more_fragments = s.mf;
            h.fragment_offset = ep::IpFragOffset::try_new(s.frag_offset).unwrap();
            h.options = ep::Ipv4Options::try_from(&s.options[..]).unwrap();
            ep::IpHeaders::Ipv4(h, Default::default())
        }
        NetSpec::V6(s, _) => {
            let h = ep::Ipv6Header {
                traffic_class: s.traffic_class,
                flow_label: ep::Ipv6FlowLabel::try_new(s.flow_label).unwrap(),
                payload_length: 0,
                next_header: ep::IpNumber(0),
                hop_limit: s.hop_limit,
                source: s.src,
                destination: s.dst,
            };
            let mut exts = ep::Ipv6Extensions::default();
            for e in &s.exts {
                match e {
                    ExtSpec::HopByHop(p) => exts.hop_by_hop_options = Some(raw_ext(p)),
                    ExtSpec::DestOpts(p) => exts.destination_options = Some(raw_ext(p)),
                    ExtSpec::Routing(r, d) => {
                        exts.routing = Some(ep::Ipv6RoutingExtensions {
                            routing: raw_ext(r),
                            final_destination_options: d.as_deref().map(raw_ext),
                        })
                    }
                    ExtSpec::Fragment {
                        offset,
                        more,
                        ident,
                    } => {
                        exts.fragment = Some(ep::Ipv6FragmentHeader::new(
                            ep::IpNumber(0),
                            ep::IpFragOffset::try_new(*offset).unwrap(),
                            *more,
                            *ident,
                        ))
                    }
                    ExtSpec::Auth { spi, seq, icv } => {
                        exts.auth =
                            Some(ep::IpAuthHeader::new(ep::IpNumber(0), *spi, *seq, icv).unwrap())
                    }
                }
            }
            ep::IpHeaders::Ipv6(h, exts)
        }
        NetSpec::Arp { .. } => unreachable!(),
    }
}

/// An NDP link-layer address option (type 1 source, 2 target).
fn lladdr_option(kind: u8, mac: &Option<[u8; 6]>) -> Vec<u8> {
    match mac {
        Some(m) => [&[kind, 1][..], m].concat(),
        None => Vec::new(),
    }
}

/// Builds the frame with etherparse's `PacketBuilder`.
fn build(spec: &FrameSpec) -> Vec<u8> {
    let eth = ep::PacketBuilder::ethernet2(spec.src, spec.dst);
    let vlan = match &spec.vlan {
        VlanSpec::None => None,
        VlanSpec::Single(t) => Some(ep::VlanHeader::Single(ep_tag(t))),
        VlanSpec::Double(o, i, _) => Some(ep::VlanHeader::Double(ep::DoubleVlanHeader {
            outer: ep_tag(o),
            inner: ep_tag(i),
        })),
    };
    let mut out = Vec::new();
    if let NetSpec::Arp {
        op,
        sha,
        spa,
        tha,
        tpa,
    } = &spec.net
    {
        let arp = ep::ArpPacket::new(
            ep::ArpHardwareId::ETHERNET,
            ep::EtherType::IPV4,
            ep::ArpOperation(*op),
            sha,
            spa,
            tha,
            tpa,
        )
        .unwrap();
        match vlan {
            None => eth.arp(arp).write(&mut out).unwrap(),
            Some(v) => eth.vlan(v).arp(arp).write(&mut out).unwrap(),
        }
    } else {
        let headers = ep_ip_headers(&spec.net);
        let ip = match vlan {
            None => eth.ip(headers),
            Some(v) => eth.vlan(v).ip(headers),
        };
        let (NetSpec::V4(_, l4) | NetSpec::V6(_, l4)) = &spec.net else {
            unreachable!()
        };
        let payload = &spec.payload;
        match l4 {
            L4Spec::Tcp(t) => {
                let mut b = ip.tcp(t.src, t.dst, t.seq, t.window);
                let bit = |n: u8| t.flags & (1 << n) != 0;
                if bit(0) {
                    b = b.fin();
                }
                if bit(1) {
                    b = b.syn();
                }
                if bit(2) {
                    b = b.rst();
                }
                if bit(3) {
                    b = b.psh();
                }
                if bit(4) {
                    b = b.ece();
                }
                if bit(5) {
                    b = b.cwr();
                }
                if bit(6) {
                    b = b.ns();
                }
                if let Some(ack) = t.ack {
                    b = b.ack(ack);
                }
                if let Some(urg) = t.urg {
                    b = b.urg(urg);
                }
                b.options_raw(&t.options)
                    .unwrap()
                    .write(&mut out, payload)
                    .unwrap()
            }
            L4Spec::Udp(s, d) => ip.udp(*s, *d).write(&mut out, payload).unwrap(),
            L4Spec::Icmp4(Icmp4Spec::Echo { request, id, seq }) => {
                let b = if *request {
                    ip.icmpv4_echo_request(*id, *seq)
                } else {
                    ip.icmpv4_echo_reply(*id, *seq)
                };
                b.write(&mut out, payload).unwrap()
            }
            L4Spec::Icmp4(Icmp4Spec::Unreachable { code, mtu }) => {
                let rest = if *code == 4 {
                    [0, 0, (mtu >> 8) as u8, *mtu as u8]
                } else {
                    [0; 4]
                };
                ip.icmpv4_raw(3, *code, rest)
                    .write(&mut out, payload)
                    .unwrap()
            }
            L4Spec::Icmp4(Icmp4Spec::TimeExceeded { code }) => ip
                .icmpv4_raw(11, *code, [0; 4])
                .write(&mut out, payload)
                .unwrap(),
            L4Spec::Icmp6(Icmp6Spec::Echo { request, id, seq }) => {
                let b = if *request {
                    ip.icmpv6_echo_request(*id, *seq)
                } else {
                    ip.icmpv6_echo_reply(*id, *seq)
                };
                b.write(&mut out, payload).unwrap()
            }
            L4Spec::Icmp6(Icmp6Spec::Ns { target, lladdr }) => {
                let body = [&target[..], &lladdr_option(1, lladdr)].concat();
                ip.icmpv6(ep::Icmpv6Type::NeighborSolicitation)
                    .write(&mut out, &body)
                    .unwrap()
            }
            L4Spec::Icmp6(Icmp6Spec::Na {
                router,
                solicited,
                override_flag,
                target,
                lladdr,
            }) => {
                let body = [&target[..], &lladdr_option(2, lladdr)].concat();
                let header = ep::icmpv6::NeighborAdvertisementHeader {
                    router: *router,
                    solicited: *solicited,
                    r#override: *override_flag,
                };
                ip.icmpv6(ep::Icmpv6Type::NeighborAdvertisement(header))
                    .write(&mut out, &body)
                    .unwrap()
            }
        }
    }
    if let VlanSpec::Double(_, _, tpid) = spec.vlan {
        out[12..14].copy_from_slice(&tpid.to_be_bytes());
    }
    out
}

/// Checks a few fields of our parse against the spec itself (the rest is differential).
fn check_against_spec(spec: &FrameSpec, o: &Frame<'_>) -> Check {
    let tags: Vec<&TagSpec> = match &spec.vlan {
        VlanSpec::None => vec![],
        VlanSpec::Single(t) => vec![t],
        VlanSpec::Double(a, b, _) => vec![a, b],
    };
    check(
        "VLAN tag count vs spec",
        o.ethernet.vlan_count(),
        tags.len(),
    )?;
    for (i, t) in tags.iter().enumerate() {
        let ours = o.ethernet.vlan_tag(i).unwrap();
        check(
            "VLAN tag vs spec",
            (ours.pcp, ours.dei, ours.vid),
            (t.pcp, t.dei, t.vid),
        )?;
    }
    match (&spec.net, &o.network) {
        (NetSpec::Arp { op, .. }, Some(Network::Arp(a))) => {
            check("ARP operation vs spec", u16::from(a.operation()), *op)
        }
        (NetSpec::V4(s, _), Some(Network::Ipv4(ip))) => {
            check("IPv4 options vs spec", ip.options_slice(), &s.options[..])?;
            check("IPv4 offset vs spec", ip.frag_offset(), s.frag_offset * 8)
        }
        (NetSpec::V6(s, _), Some(Network::Ipv6 { packet, .. })) => {
            // etherparse writes the chain in RFC 8200 order; our walk stops after a non-first
            // fragment's header (what follows is fragment data).
            let mut count = 0;
            for kind in 0..6 {
                for e in &s.exts {
                    match (kind, e) {
                        (0, ExtSpec::HopByHop(_)) | (1, ExtSpec::DestOpts(_)) => count += 1,
                        (2, ExtSpec::Routing(_, _)) => count += 1,
                        (3, ExtSpec::Fragment { offset, .. }) => {
                            count += 1;
                            if *offset != 0 {
                                return check(
                                    "IPv6 extension headers vs spec",
                                    packet.ext_headers_slice().count(),
                                    count,
                                );
                            }
                        }
                        (4, ExtSpec::Auth { .. }) | (5, ExtSpec::Routing(_, Some(_))) => count += 1,
                        _ => {}
                    }
                }
            }
            check("IPv6 flow label vs spec", packet.flow_label(), s.flow_label)?;
            check(
                "IPv6 extension headers vs spec",
                packet.ext_headers_slice().count(),
                count,
            )
        }
        (s, n) => Err(format!("network vs spec: {s:?} vs {n:?}")),
    }
}

#[test]
fn generated_frames_agree() {
    let mut runner = TestRunner::new(config(512));
    runner
        .run(&frame_spec(), |spec| {
            let bytes = build(&spec);
            let o = Frame::parse(&bytes)
                .map_err(|e| TestCaseError::fail(format!("we reject {bytes:02x?}: {e}")))?;
            check_against_spec(&spec, &o).map_err(TestCaseError::fail)?;
            agree_full(&bytes, true)
                .map_err(|e| TestCaseError::fail(format!("frame {bytes:02x?}: {e}")))?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn generated_frame_truncations_agree() {
    let mut runner = TestRunner::new(config(256));
    runner
        .run(&frame_spec(), |spec| {
            let bytes = build(&spec);
            truncations_agree(&format!("generated frame {bytes:02x?}"), &bytes)
                .map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// 2. Frames emitted with our Reprs, parsed by etherparse
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum OurL4 {
    Tcp {
        src: u16,
        dst: u16,
        control: u8,
        seq: u32,
        ack: Option<u32>,
        window: u16,
        window_scale: Option<u8>,
        mss: Option<u16>,
        sack_permitted: bool,
        sacks: Vec<(u32, u32)>,
        timestamp: Option<(u32, u32)>,
    },
    Udp(u16, u16),
    Icmp4(Icmp4Spec),
    Icmp6(Icmp6Spec),
}

#[derive(Debug, Clone)]
enum OurNet {
    V4 {
        spec: Ipv4Spec,
    },
    V6 {
        spec: Ipv6Spec,
        /// An atomic Fragment header (offset 0, M clear) with this identification.
        atomic_fragment: Option<u32>,
        /// A Destination Options header with a PadN of this many data bytes.
        dest_opts: Option<u8>,
    },
}

#[derive(Debug, Clone)]
struct OurFrame {
    src: [u8; 6],
    dst: [u8; 6],
    tags: Vec<(u16, TagSpec)>,
    net: OurNet,
    l4: OurL4,
    payload: Vec<u8>,
}

fn our_tcp() -> impl Strategy<Value = OurL4> {
    (
        any::<(u16, u16, u32)>(),
        (0u8..5, prop::option::of(any::<u32>()), any::<u16>()),
        (
            prop::option::of(0u8..=14),
            prop::option::of(any::<u16>()),
            any::<bool>(),
        ),
        prop::collection::vec(any::<(u32, u32)>(), 0..=4),
        prop::option::of(any::<(u32, u32)>()),
    )
        .prop_map(
            |(
                (src, dst, seq),
                (control, ack, window),
                (window_scale, mss, sack_permitted),
                sacks,
                timestamp,
            )| {
                OurL4::Tcp {
                    src,
                    dst,
                    control,
                    seq,
                    ack,
                    window,
                    window_scale,
                    mss,
                    sack_permitted,
                    sacks,
                    timestamp,
                }
            },
        )
}

fn our_frame() -> impl Strategy<Value = OurFrame> {
    let tags = prop_oneof![
        Just(vec![]),
        tag_spec().prop_map(|t| vec![(0x8100u16, t)]),
        (tag_spec(), tag_spec()).prop_map(|(a, b)| vec![(0x88a8u16, a), (0x8100, b)]),
    ];
    let v4 = (
        ipv4_spec(),
        prop_oneof![
            our_tcp(),
            any::<(u16, u16)>().prop_map(|(s, d)| OurL4::Udp(s, d)),
            icmp4_spec().prop_map(OurL4::Icmp4),
        ],
    )
        .prop_map(|(spec, l4)| (OurNet::V4 { spec }, l4));
    let v6 = (
        ipv6_spec(),
        prop::option::of(any::<u32>()),
        prop::option::of(0u8..12),
        prop_oneof![
            our_tcp(),
            any::<(u16, u16)>().prop_map(|(s, d)| OurL4::Udp(s, d)),
            icmp6_spec().prop_map(OurL4::Icmp6),
        ],
    )
        .prop_map(|(spec, atomic_fragment, dest_opts, l4)| {
            (
                OurNet::V6 {
                    spec,
                    atomic_fragment,
                    dest_opts,
                },
                l4,
            )
        });
    (
        any::<([u8; 6], [u8; 6])>(),
        tags,
        prop_oneof![v4, v6],
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|((src, dst), tags, (net, l4), payload)| OurFrame {
            src,
            dst,
            tags,
            net,
            l4,
            payload,
        })
}

fn control_of(n: u8) -> TcpControl {
    [
        TcpControl::None,
        TcpControl::Psh,
        TcpControl::Syn,
        TcpControl::Fin,
        TcpControl::Rst,
    ][usize::from(n)]
}

/// Emits the frame with our Reprs.
fn emit(f: &OurFrame) -> Vec<u8> {
    let mut eth = EthernetRepr::new(
        EthernetAddress(f.src),
        EthernetAddress(f.dst),
        EtherType::Ipv4,
    );
    for (slot, (tpid, t)) in eth.tags.iter_mut().zip(&f.tags) {
        *slot = Some(VlanTag {
            tpid: EtherType::from(*tpid),
            pcp: t.pcp,
            dei: t.dei,
            vid: t.vid,
        });
    }
    let l4_proto = match f.l4 {
        OurL4::Tcp { .. } => IpProtocol::Tcp,
        OurL4::Udp(..) => IpProtocol::Udp,
        OurL4::Icmp4(_) => IpProtocol::Icmp,
        OurL4::Icmp6(_) => IpProtocol::Icmpv6,
    };
    // The transport, emitted first into its own buffer (it needs the addresses only).
    let addrs = match &f.net {
        OurNet::V4 { spec } => IpAddrPair::V4 {
            src: Ipv4Addr::from(spec.src),
            dst: Ipv4Addr::from(spec.dst),
        },
        OurNet::V6 { spec, .. } => IpAddrPair::V6 {
            src: Ipv6Addr::from(spec.src),
            dst: Ipv6Addr::from(spec.dst),
        },
    };
    let mut l4 = vec![0u8; 200];
    let l4_len = match &f.l4 {
        OurL4::Tcp {
            src,
            dst,
            control,
            seq,
            ack,
            window,
            window_scale,
            mss,
            sack_permitted,
            sacks,
            timestamp,
        } => {
            let mut sack_ranges = [None; 4];
            for (slot, s) in sack_ranges.iter_mut().zip(sacks) {
                *slot = Some(*s);
            }
            TcpRepr {
                src_port: *src,
                dst_port: *dst,
                control: control_of(*control),
                seq_number: TcpSeqNumber(*seq),
                ack_number: ack.map(TcpSeqNumber),
                window_len: *window,
                window_scale: *window_scale,
                max_seg_size: *mss,
                sack_permitted: *sack_permitted,
                sack_ranges,
                timestamp: *timestamp,
                payload: &f.payload,
            }
            .emit(&mut l4, &addrs)
        }
        OurL4::Udp(s, d) => UdpRepr {
            src_port: *s,
            dst_port: *d,
        }
        .emit(&mut l4, &addrs, &f.payload),
        OurL4::Icmp4(Icmp4Spec::Echo { request, id, seq }) => {
            let repr = if *request {
                Icmpv4Repr::EchoRequest {
                    ident: *id,
                    seq_no: *seq,
                    data: &f.payload,
                }
            } else {
                Icmpv4Repr::EchoReply {
                    ident: *id,
                    seq_no: *seq,
                    data: &f.payload,
                }
            };
            repr.emit(&mut l4)
        }
        OurL4::Icmp4(Icmp4Spec::Unreachable { code, mtu }) => Icmpv4Repr::DstUnreachable {
            reason: (*code).into(),
            next_hop_mtu: if *code == 4 { *mtu } else { 0 },
            quoted: &f.payload,
        }
        .emit(&mut l4),
        OurL4::Icmp4(Icmp4Spec::TimeExceeded { code }) => Icmpv4Repr::TimeExceeded {
            reason: (*code).into(),
            quoted: &f.payload,
        }
        .emit(&mut l4),
        OurL4::Icmp6(Icmp6Spec::Echo { request, id, seq }) => {
            let repr = if *request {
                Icmpv6Repr::EchoRequest {
                    ident: *id,
                    seq_no: *seq,
                    data: &f.payload,
                }
            } else {
                Icmpv6Repr::EchoReply {
                    ident: *id,
                    seq_no: *seq,
                    data: &f.payload,
                }
            };
            repr.emit(&addrs, &mut l4)
        }
        OurL4::Icmp6(Icmp6Spec::Ns { target, lladdr }) => Icmpv6Repr::NeighborSolicit {
            target_addr: Ipv6Addr::from(*target),
            lladdr: lladdr.map(EthernetAddress),
        }
        .emit(&addrs, &mut l4),
        OurL4::Icmp6(Icmp6Spec::Na {
            router,
            solicited,
            override_flag,
            target,
            lladdr,
        }) => Icmpv6Repr::NeighborAdvert {
            router: *router,
            solicited: *solicited,
            override_flag: *override_flag,
            target_addr: Ipv6Addr::from(*target),
            lladdr: lladdr.map(EthernetAddress),
        }
        .emit(&addrs, &mut l4),
    };
    l4.truncate(l4_len);
    // The network layer.
    let mut ip = vec![0u8; 200];
    let ip_len = match &f.net {
        OurNet::V4 { spec } => {
            eth.ethertype = EtherType::Ipv4;
            let repr = Ipv4Repr {
                src_addr: Ipv4Addr::from(spec.src),
                dst_addr: Ipv4Addr::from(spec.dst),
                protocol: l4_proto,
                payload_len: l4.len(),
                ttl: spec.ttl,
                dscp: spec.dscp,
                ecn: spec.ecn,
                ident: spec.ident,
                dont_frag: spec.df,
                more_frags: false,
                frag_offset: 0,
            };
            repr.emit_with_options(&mut ip, &spec.options).unwrap()
        }
        OurNet::V6 {
            spec,
            atomic_fragment,
            dest_opts,
        } => {
            eth.ethertype = EtherType::Ipv6;
            let pad = [Ipv6Option::PadN(dest_opts.unwrap_or(0))];
            let opts = Ipv6OptionsRepr {
                next_header: l4_proto,
                options: &pad,
            };
            let frag = atomic_fragment.map(|ident| Ipv6FragmentRepr {
                next_header: if dest_opts.is_some() {
                    IpProtocol::Ipv6Opts
                } else {
                    l4_proto
                },
                frag_offset: 0,
                more_frags: false,
                ident,
            });
            let ext_len =
                frag.map_or(0, |f| f.buffer_len()) + dest_opts.map_or(0, |_| opts.buffer_len());
            let first = match (frag, dest_opts) {
                (Some(_), _) => IpProtocol::Ipv6Frag,
                (None, Some(_)) => IpProtocol::Ipv6Opts,
                (None, None) => l4_proto,
            };
            let repr = Ipv6Repr {
                src_addr: Ipv6Addr::from(spec.src),
                dst_addr: Ipv6Addr::from(spec.dst),
                next_header: first,
                payload_len: ext_len + l4.len(),
                hop_limit: spec.hop_limit,
                traffic_class: spec.traffic_class,
                flow_label: spec.flow_label,
            };
            let mut at = repr.emit(&mut ip);
            if let Some(frag) = frag {
                at += frag.emit(&mut ip[at..]);
            }
            if dest_opts.is_some() {
                at += opts.emit(&mut ip[at..]);
            }
            at
        }
    };
    ip.truncate(ip_len);
    let mut out = vec![0u8; eth.buffer_len()];
    eth.emit(&mut out);
    out.extend(ip);
    out.extend(l4);
    out
}

/// Checks etherparse's view of a frame we emitted against the values we emitted.
fn check_emitted(f: &OurFrame, t: &ep::SlicedPacket<'_>) -> Check {
    let Some(ep::LinkSlice::Ethernet2(eth)) = &t.link else {
        return Err("no Ethernet II".into());
    };
    check("Ethernet source", eth.source(), f.src)?;
    check("Ethernet destination", eth.destination(), f.dst)?;
    check("VLAN tag count", t.link_exts.len(), f.tags.len())?;
    let mut tpid = eth.ether_type().0;
    for ((want_tpid, want), ext) in f.tags.iter().zip(&t.link_exts) {
        let ep::LinkExtSlice::Vlan(v) = ext else {
            return Err(format!("not a VLAN tag: {ext:?}"));
        };
        check("VLAN TPID", tpid, *want_tpid)?;
        check(
            "VLAN tag",
            (
                v.priority_code_point().value(),
                v.drop_eligible_indicator(),
                v.vlan_identifier().value(),
            ),
            (want.pcp, want.dei, want.vid),
        )?;
        tpid = v.ether_type().0;
    }
    match (&f.net, &t.net) {
        (OurNet::V4 { spec }, Some(ep::NetSlice::Ipv4(s))) => {
            let h = s.header();
            check("IPv4 source", h.source(), spec.src)?;
            check("IPv4 destination", h.destination(), spec.dst)?;
            check("IPv4 TTL", h.ttl(), spec.ttl)?;
            check(
                "IPv4 DSCP/ECN",
                (h.dcp().value(), h.ecn().value()),
                (spec.dscp, spec.ecn),
            )?;
            check("IPv4 identification", h.identification(), spec.ident)?;
            check("IPv4 DF", h.dont_fragment(), spec.df)?;
            check(
                "IPv4 MF/offset",
                (h.more_fragments(), h.fragments_offset().value()),
                (false, 0),
            )?;
            check("IPv4 options", h.options(), &spec.options[..])?;
            check(
                "IPv4 header checksum (etherparse)",
                h.header_checksum(),
                h.to_header().calc_header_checksum(),
            )?;
        }
        (
            OurNet::V6 {
                spec,
                atomic_fragment,
                dest_opts,
            },
            Some(ep::NetSlice::Ipv6(s)),
        ) => {
            let h = s.header();
            check("IPv6 source", h.source(), spec.src)?;
            check("IPv6 destination", h.destination(), spec.dst)?;
            check("IPv6 hop limit", h.hop_limit(), spec.hop_limit)?;
            check("IPv6 traffic class", h.traffic_class(), spec.traffic_class)?;
            check("IPv6 flow label", h.flow_label().value(), spec.flow_label)?;
            let exts: Vec<_> = s.extensions().clone().into_iter().collect();
            check(
                "IPv6 extension header count",
                exts.len(),
                usize::from(atomic_fragment.is_some()) + usize::from(dest_opts.is_some()),
            )?;
            for e in &exts {
                match e {
                    ep::Ipv6ExtensionSlice::Fragment(fr) => {
                        check(
                            "IPv6 fragment",
                            (
                                fr.fragment_offset().value(),
                                fr.more_fragments(),
                                Some(fr.identification()),
                            ),
                            (0, false, *atomic_fragment),
                        )?;
                    }
                    ep::Ipv6ExtensionSlice::DestinationOptions(d) => {
                        check(
                            "IPv6 options header length",
                            d.slice().len(),
                            (2 + 2 + usize::from(dest_opts.unwrap())).next_multiple_of(8),
                        )?;
                    }
                    other => return Err(format!("unexpected extension header {other:?}")),
                }
            }
            check("IPv6 fragmented", s.payload().fragmented, false)?;
        }
        (net, theirs) => return Err(format!("network: ours {net:?} vs etherparse {theirs:?}")),
    }
    let ok = their_checksums_ok(t);
    check("etherparse finds our checksums right", ok, Some(true))?;
    match (&f.l4, &t.transport) {
        (
            OurL4::Tcp {
                src,
                dst,
                control,
                seq,
                ack,
                window,
                window_scale,
                mss,
                sack_permitted,
                sacks,
                timestamp,
            },
            Some(ep::TransportSlice::Tcp(s)),
        ) => {
            check(
                "TCP ports",
                (s.source_port(), s.destination_port()),
                (*src, *dst),
            )?;
            check("TCP sequence number", s.sequence_number(), *seq)?;
            check("TCP ACK flag", s.ack(), ack.is_some())?;
            check(
                "TCP acknowledgment number",
                s.acknowledgment_number(),
                ack.unwrap_or(0),
            )?;
            check("TCP window", s.window_size(), *window)?;
            let c = control_of(*control);
            check(
                "TCP SYN/FIN/RST/PSH",
                (s.syn(), s.fin(), s.rst(), s.psh()),
                (
                    c == TcpControl::Syn,
                    c == TcpControl::Fin,
                    c == TcpControl::Rst,
                    c == TcpControl::Psh,
                ),
            )?;
            check(
                "TCP URG/ECE/CWR/NS",
                (s.urg(), s.ece(), s.cwr(), s.ns()),
                (false, false, false, false),
            )?;
            check("TCP payload", s.payload(), &f.payload[..])?;
            // The options as etherparse reads them.
            let (mut got_mss, mut got_ws, mut got_sp, mut got_ts, mut got_sack) =
                (None, None, false, None, Vec::new());
            for option in s.options_iterator() {
                match option.map_err(|e| format!("etherparse TCP option error: {e}"))? {
                    ep::TcpOptionElement::Noop => {}
                    ep::TcpOptionElement::MaximumSegmentSize(m) => got_mss = Some(m),
                    ep::TcpOptionElement::WindowScale(w) => got_ws = Some(w),
                    ep::TcpOptionElement::SelectiveAcknowledgementPermitted => got_sp = true,
                    ep::TcpOptionElement::Timestamp(v, e) => got_ts = Some((v, e)),
                    ep::TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                        got_sack = std::iter::once(first)
                            .chain(rest.into_iter().flatten())
                            .collect()
                    }
                }
            }
            let repr_sacks = {
                let fixed = 4 * usize::from(mss.is_some())
                    + if timestamp.is_some() {
                        12
                    } else {
                        4 * usize::from(*sack_permitted)
                    }
                    + 4 * usize::from(window_scale.is_some());
                let fit = (40 - fixed).saturating_sub(4) / 8;
                sacks.iter().copied().take(fit).collect::<Vec<_>>()
            };
            check("TCP MSS", got_mss, *mss)?;
            check("TCP window scale", got_ws, *window_scale)?;
            check("TCP SACK-permitted", got_sp, *sack_permitted)?;
            check("TCP timestamps", got_ts, *timestamp)?;
            check("TCP SACK blocks", got_sack, repr_sacks)
        }
        (OurL4::Udp(src, dst), Some(ep::TransportSlice::Udp(s))) => {
            check(
                "UDP ports",
                (s.source_port(), s.destination_port()),
                (*src, *dst),
            )?;
            check("UDP length", usize::from(s.length()), 8 + f.payload.len())?;
            check("UDP payload", s.payload(), &f.payload[..])
        }
        (OurL4::Icmp4(spec), Some(ep::TransportSlice::Icmpv4(s))) => {
            match (spec, s.icmp_type()) {
                (
                    Icmp4Spec::Echo {
                        request: true,
                        id,
                        seq,
                    },
                    ep::Icmpv4Type::EchoRequest(e),
                )
                | (
                    Icmp4Spec::Echo {
                        request: false,
                        id,
                        seq,
                    },
                    ep::Icmpv4Type::EchoReply(e),
                ) => check("ICMPv4 echo", (e.id, e.seq), (*id, *seq))?,
                (Icmp4Spec::Unreachable { code, mtu }, _) => {
                    check("ICMPv4 type/code", (s.type_u8(), s.code_u8()), (3, *code))?;
                    if *code == 4 {
                        check("ICMPv4 next-hop MTU", be16(&s.bytes5to8(), 2), *mtu)?;
                    }
                }
                (Icmp4Spec::TimeExceeded { code }, _) => {
                    check("ICMPv4 type/code", (s.type_u8(), s.code_u8()), (11, *code))?
                }
                (spec, other) => return Err(format!("ICMPv4: {spec:?} vs {other:?}")),
            }
            check("ICMPv4 data", s.payload(), &f.payload[..])
        }
        (OurL4::Icmp6(spec), Some(ep::TransportSlice::Icmpv6(s))) => {
            use ep::icmpv6::Icmpv6PayloadSlice as P;
            match (spec, s.icmp_type(), s.payload_slice()) {
                (
                    Icmp6Spec::Echo {
                        request: true,
                        id,
                        seq,
                    },
                    ep::Icmpv6Type::EchoRequest(e),
                    _,
                )
                | (
                    Icmp6Spec::Echo {
                        request: false,
                        id,
                        seq,
                    },
                    ep::Icmpv6Type::EchoReply(e),
                    _,
                ) => {
                    check("ICMPv6 echo", (e.id, e.seq), (*id, *seq))?;
                    check("ICMPv6 echo data", s.payload(), &f.payload[..])
                }
                (Icmp6Spec::Ns { target, lladdr }, _, Ok(P::NeighborSolicitation(p))) => {
                    check("ICMPv6 NS target", p.target_address().octets(), *target)?;
                    check(
                        "ICMPv6 NS options",
                        p.options(),
                        &lladdr_option(1, lladdr)[..],
                    )
                }
                (
                    Icmp6Spec::Na {
                        router,
                        solicited,
                        override_flag,
                        target,
                        lladdr,
                    },
                    ep::Icmpv6Type::NeighborAdvertisement(h),
                    Ok(P::NeighborAdvertisement(p)),
                ) => {
                    check(
                        "ICMPv6 NA flags",
                        (h.router, h.solicited, h.r#override),
                        (*router, *solicited, *override_flag),
                    )?;
                    check("ICMPv6 NA target", p.target_address().octets(), *target)?;
                    check(
                        "ICMPv6 NA options",
                        p.options(),
                        &lladdr_option(2, lladdr)[..],
                    )
                }
                (spec, other, _) => Err(format!("ICMPv6: {spec:?} vs {other:?}")),
            }
        }
        (l4, theirs) => Err(format!("transport: ours {l4:?} vs etherparse {theirs:?}")),
    }
}

#[test]
fn emitted_frames_parse_in_etherparse() {
    let mut runner = TestRunner::new(config(512));
    runner
        .run(&our_frame(), |f| {
            let bytes = emit(&f);
            let t = ep::SlicedPacket::from_ethernet(&bytes).map_err(|e| {
                TestCaseError::fail(format!("etherparse rejects our frame {bytes:02x?}: {e:?}"))
            })?;
            check_emitted(&f, &t)
                .map_err(|e| TestCaseError::fail(format!("frame {bytes:02x?}: {e}")))?;
            // And the two parsers agree on it, as on any frame.
            agree_full(&bytes, true)
                .map_err(|e| TestCaseError::fail(format!("frame {bytes:02x?}: {e}")))?;
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. Captured fixtures
// ---------------------------------------------------------------------------------------------

/// Every fixture frame, labelled `file#index` (1-based, like tshark's frame.number).
fn fixture_frames() -> Vec<(String, Vec<u8>)> {
    let mut index = 0;
    let mut last = String::new();
    all_fixtures()
        .into_iter()
        .map(|(name, frame)| {
            if name != last {
                index = 0;
                last.clone_from(&name);
            }
            index += 1;
            (format!("{name}#{index}"), frame)
        })
        .collect()
}

#[test]
fn fixture_frames_agree() {
    let frames = fixture_frames();
    assert!(frames.len() >= 100, "only {} fixture frames", frames.len());
    let mut transports = 0;
    for (label, bytes) in &frames {
        agree_full(bytes, false).unwrap_or_else(|e| panic!("{label}: {e}"));
        transports += usize::from(Frame::parse(bytes).unwrap().transport.is_some());
    }
    // Fragments and ARP have no transport; everything else does.
    assert!(
        transports >= 80,
        "only {transports} frames with a transport layer"
    );
}

#[test]
fn fixture_truncations_agree() {
    for (label, bytes) in fixture_frames() {
        truncations_agree(&label, &bytes).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn fixture_corruptions_agree() {
    let mut rng = Xorshift(0x00c0_ffee_1234_5678);
    let mut cases = 0usize;
    for (label, bytes) in fixture_frames() {
        for at in 0..bytes.len() {
            // Headers live in the first 128 bytes: try several values there, one beyond.
            let values: Vec<u8> = if at < 128 {
                let b = bytes[at];
                vec![b ^ 0xff, b ^ 0x01, b ^ 0x80, 0x00, 0xff, rng.next_u8()]
            } else {
                vec![rng.next_u8()]
            };
            for value in values {
                if value == bytes[at] {
                    continue;
                }
                let mut corrupt = bytes.clone();
                corrupt[at] = value;
                cases += 1;
                agree(&corrupt, true).unwrap_or_else(|e| {
                    panic!("{label}: byte {at} {:#04x} -> {value:#04x}: {e}", bytes[at])
                });
            }
        }
    }
    assert!(cases > 10_000, "only {cases} corruptions");
}

/// The explanations of [`limit_of`] are not dead code: each deliberate difference is hit.
#[test]
fn deliberate_differences_are_real() {
    let udp = |len: u16| {
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        f[23] = 17;
        f[38..40].copy_from_slice(&len.to_be_bytes());
        f
    };
    // UDP Length 0: etherparse accepts, we reject.
    let f = udp(0);
    assert!(Frame::parse(&f).is_err());
    assert!(ep::SlicedPacket::from_ethernet(&f).is_ok());
    assert_eq!(limit_of(&f).upto, TRANSPORT);
    agree(&f, true).unwrap();
    assert_eq!(limit_of(&udp(8)), FULL);
    agree(&udp(8), true).unwrap();
    // Three VLAN tags: etherparse accepts, we reject.
    let mut f = vec![0u8; 12];
    for _ in 0..3 {
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
    }
    f.extend_from_slice(&[0x88, 0xb5, 1, 2, 3]);
    assert!(matches!(
        Frame::parse(&f),
        Err(Error {
            kind: ErrorKind::TooMany { .. },
            ..
        })
    ));
    assert!(ep::SlicedPacket::from_ethernet(&f).is_ok());
    agree(&f, true).unwrap();
    // An ICMPv6 Neighbor Solicitation of 8..24 bytes: etherparse accepts, we reject.
    let mut f = vec![0u8; 14 + 40 + 12];
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    f[14] = 0x60;
    f[18..20].copy_from_slice(&12u16.to_be_bytes());
    f[20] = 58;
    f[54] = 135;
    assert!(Frame::parse(&f).is_err());
    assert!(ep::SlicedPacket::from_ethernet(&f).is_ok());
    assert_eq!(limit_of(&f).upto, TRANSPORT);
    agree(&f, true).unwrap();
    // And a real disagreement is reported, naming both results.
    let f = udp(8);
    let ours = Frame::parse(&f).unwrap();
    let mut theirs = ep::SlicedPacket::from_ethernet(&f).unwrap();
    theirs.transport = None;
    let e = compare_fields(&ours, &theirs, ALL).unwrap_err();
    assert!(e.contains("transport layer"), "{e}");
}
