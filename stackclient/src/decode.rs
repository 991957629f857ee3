//! One-line, tcpdump-style summaries of Ethernet frames, built on proto-core's [`Frame`].
//!
//! This is the CLI's `decode` subcommand. A full field breakdown (tree, JSON) is the job of
//! proto-core's dissector; this shows what the wire layer sees, including its precise errors.

use std::fmt::Write as _;

use proto_core::wire::{ArpOperation, Frame, Network, Transport, icmpv6::Icmpv6Message};

/// Summarizes one frame: link, network and transport headers, payload length, and whether
/// the checksums are right. A malformed frame gives the wire layer's error instead.
///
/// ```
/// # let frame = [0xffu8; 6].iter().chain(&[2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45]).copied()
/// #     .collect::<Vec<u8>>();
/// let line = stackclient::decode::summary(&frame);
/// assert_eq!(line, "malformed: IPv4: header truncated: need 20 bytes, have 1");
/// ```
pub fn summary(bytes: &[u8]) -> String {
    let frame = match Frame::parse(bytes) {
        Ok(frame) => frame,
        Err(e) => return format!("malformed: {e}"),
    };
    let mut out = String::with_capacity(160);
    let eth = &frame.ethernet;
    let _ = write!(out, "{} > {}", eth.src_addr(), eth.dst_addr());
    for tag in (0..eth.vlan_count()).filter_map(|i| eth.vlan_tag(i)) {
        let _ = write!(out, ", {} vlan {} p {}", tag.tpid, tag.vid, tag.pcp);
    }
    match &frame.network {
        None => {
            let _ = write!(
                out,
                ", ethertype {}, length {}",
                eth.ethertype(),
                bytes.len()
            );
            return out;
        }
        Some(Network::Arp(arp)) => {
            match proto_core::wire::ArpRepr::parse(arp) {
                Ok(r) if r.operation == ArpOperation::Request => {
                    let _ = write!(
                        out,
                        ", ARP who-has {} tell {}",
                        r.target_protocol_addr, r.source_protocol_addr
                    );
                }
                Ok(r) if r.operation == ArpOperation::Reply => {
                    let _ = write!(
                        out,
                        ", ARP reply {} is-at {}",
                        r.source_protocol_addr, r.source_hardware_addr
                    );
                }
                Ok(r) => {
                    let _ = write!(out, ", ARP {}", r.operation);
                }
                Err(e) => {
                    let _ = write!(out, ", ARP {} [{e}]", arp.operation());
                }
            }
            return out;
        }
        Some(Network::Ipv4(ip)) => {
            let _ = write!(
                out,
                ", IPv4 {} > {} ttl {} id {}",
                ip.src_addr(),
                ip.dst_addr(),
                ip.ttl(),
                ip.ident()
            );
            if ip.is_fragment() {
                let _ = write!(
                    out,
                    " frag {}@{}{}",
                    ip.protocol(),
                    ip.frag_offset(),
                    if ip.more_frags() { "+" } else { "" }
                );
            }
            if !ip.options().is_empty() {
                let _ = write!(out, " options {}B", ip.options().len());
            }
        }
        Some(Network::Ipv6 { packet, upper }) => {
            let _ = write!(
                out,
                ", IPv6 {} > {} hlim {}",
                packet.src_addr(),
                packet.dst_addr(),
                packet.hop_limit()
            );
            if upper.offset > 0 {
                let _ = write!(out, " ext {}B", upper.offset);
            }
            if let Some(frag) = upper.fragment {
                let _ = write!(
                    out,
                    " frag {}@{}{}",
                    upper.protocol,
                    frag.offset,
                    if frag.more { "+" } else { "" }
                );
            }
        }
    }
    match &frame.transport {
        Some(Transport::Tcp(tcp)) => {
            let _ = write!(
                out,
                ": TCP {} > {} {} seq {}",
                tcp.src_port(),
                tcp.dst_port(),
                tcp.flags(),
                tcp.seq_number()
            );
            if tcp.ack() {
                let _ = write!(out, " ack {}", tcp.ack_number());
            }
            let _ = write!(out, " win {}", tcp.window_len());
            let options: Vec<String> = tcp
                .options_iter()
                .map(|o| o.map_or_else(|e| format!("bad: {e}"), |o| o.to_string()))
                .collect();
            if !options.is_empty() {
                let _ = write!(out, " <{}>", options.join(","));
            }
        }
        Some(Transport::Udp(udp)) => {
            let _ = write!(out, ": UDP {} > {}", udp.src_port(), udp.dst_port());
        }
        Some(Transport::Icmpv4(icmp)) => {
            let _ = write!(out, ": ICMP {} code {}", icmp.msg_type(), icmp.msg_code());
        }
        Some(Transport::Icmpv6(icmp)) => {
            let _ = write!(out, ": ICMPv6 {}", icmp.msg_type());
            if matches!(
                icmp.msg_type(),
                Icmpv6Message::NeighborSolicit
                    | Icmpv6Message::NeighborAdvert
                    | Icmpv6Message::Redirect
            ) {
                let _ = write!(out, " target {}", icmp.target_addr());
            }
        }
        None => {}
    }
    let _ = write!(out, ", length {}", frame.payload.len());
    match frame.verify_checksums() {
        Ok(()) => {}
        Err(e) => {
            let _ = write!(out, " [{e}]");
        }
    }
    out
}
