//! What the interface counted: every frame dropped, with the reason, and what it received and
//! sent.

/// Counters of an [`Interface`](super::Interface). Every drop has its own counter, named after
/// the reason; nothing is dropped without one of them moving.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Frames handed to `ingress`.
    pub rx_frames: u64,
    /// Frames written by `egress`.
    pub tx_frames: u64,
    /// Dropped: the frame did not parse (truncated or malformed header at any layer).
    pub drop_malformed: u64,
    /// Dropped: a checksum (IPv4 header, TCP, UDP, ICMP) was wrong.
    pub drop_checksum: u64,
    /// Dropped: the Ethernet destination is neither us, broadcast, nor a multicast group we
    /// listen to.
    pub drop_not_our_mac: u64,
    /// Dropped: an EtherType or IP protocol we do not handle.
    pub drop_unknown_protocol: u64,
    /// Dropped: the IP destination is not one of our addresses (a host does not forward,
    /// RFC 1122 §3.3.1).
    pub drop_not_our_ip: u64,
    /// Dropped: TTL or hop limit 0 (RFC 1122 §3.2.1.7, RFC 8200 §3).
    pub drop_ttl_zero: u64,
    /// Dropped: a source address that must never appear (broadcast, multicast, ours).
    pub drop_bad_source: u64,
    /// Dropped: an ARP packet not for Ethernet/IPv4 or not for us.
    pub drop_arp_ignored: u64,
    /// Dropped: an IPv4 fragment that could not be stored (no free reassembly context, too
    /// large for a context, or too many holes).
    pub drop_frag_no_room: u64,
    /// Dropped: a partial datagram whose reassembly timed out (RFC 791, RFC 815).
    pub drop_frag_timeout: u64,
    /// Dropped: an IPv6 fragment (reassembly is IPv4 only).
    pub drop_ipv6_fragment: u64,
    /// Dropped: an NDP message that failed RFC 4861 validity checks (hop limit not 255, bad
    /// code or options).
    pub drop_ndp_invalid: u64,
    /// Dropped: an ICMP message we do not act on (errors, unknown types).
    pub drop_icmp_ignored: u64,
    /// Dropped: a UDP datagram for a socket whose receive queue was full.
    pub drop_udp_queue_full: u64,
    /// Dropped: a UDP datagram to a closed port (a port unreachable may have been sent).
    pub drop_udp_no_socket: u64,
    /// Dropped: a TCP segment to a closed port (a reset may have been sent).
    pub drop_tcp_no_socket: u64,
    /// Dropped: a completed TCP handshake with no free socket slot or no buffers, or an
    /// accept queue at its limit (the peer gets a reset).
    pub drop_tcp_accept_full: u64,
    /// Dropped: an outgoing packet waiting for address resolution, because the neighbour's
    /// queue was full.
    pub drop_pending_full: u64,
    /// Dropped: outgoing packets still waiting when address resolution gave up.
    pub drop_resolution_failed: u64,
    /// Dropped: no free neighbour cache entry for a new resolution.
    pub drop_neighbor_table_full: u64,
    /// Dropped: no route to the destination (off-link without a gateway).
    pub drop_no_route: u64,
    /// Not sent: an ICMP error or TCP reset over the rate limit (RFC 1812 §4.3.2.8 style).
    pub drop_rate_limited: u64,
    /// Not sent: the control queue (ARP/NDP answers, echo replies, ICMP errors, resets) was
    /// full.
    pub drop_control_queue_full: u64,
    /// Not sent: a datagram larger than the MTU with Don't Fragment set, or above 65,535.
    pub drop_too_big: u64,
    /// Not sent: the caller's `egress` buffer was smaller than the frame.
    pub drop_buffer_too_small: u64,
    /// IPv4 datagrams reassembled from fragments.
    pub frag_reassembled: u64,
    /// IPv4 fragments sent.
    pub frag_sent: u64,
    /// ARP requests sent (resolution and retries).
    pub arp_requests_sent: u64,
    /// ARP replies sent.
    pub arp_replies_sent: u64,
    /// Neighbour Solicitations sent.
    pub ns_sent: u64,
    /// Neighbour Advertisements sent.
    pub na_sent: u64,
    /// ICMP/ICMPv6 echo replies queued.
    pub echo_replies: u64,
    /// ICMP/ICMPv6 echo requests queued by `icmp_echo_send`.
    pub echo_requests_sent: u64,
    /// ICMP/ICMPv6 echo replies received (for `poll_echo_reply`).
    pub echo_replies_received: u64,
    /// Dropped: the oldest unread echo reply, to make room for a new one.
    pub drop_echo_queue_full: u64,
    /// ICMP/ICMPv6 port unreachable messages queued.
    pub port_unreachables: u64,
    /// TCP resets queued for closed ports.
    pub resets_sent: u64,
    /// UDP datagrams delivered to sockets.
    pub udp_received: u64,
    /// UDP datagrams sent.
    pub udp_sent: u64,
    /// TCP segments handed to connections or listeners.
    pub tcp_segments_received: u64,
    /// TCP segments sent.
    pub tcp_segments_sent: u64,
}

impl Stats {
    /// How many counters there are.
    pub const COUNT: usize = 43;

    /// Every counter with its name, in declaration order (for a status page or JSON).
    pub fn fields(&self) -> [(&'static str, u64); Self::COUNT] {
        [
            ("rx_frames", self.rx_frames),
            ("tx_frames", self.tx_frames),
            ("drop_malformed", self.drop_malformed),
            ("drop_checksum", self.drop_checksum),
            ("drop_not_our_mac", self.drop_not_our_mac),
            ("drop_unknown_protocol", self.drop_unknown_protocol),
            ("drop_not_our_ip", self.drop_not_our_ip),
            ("drop_ttl_zero", self.drop_ttl_zero),
            ("drop_bad_source", self.drop_bad_source),
            ("drop_arp_ignored", self.drop_arp_ignored),
            ("drop_frag_no_room", self.drop_frag_no_room),
            ("drop_frag_timeout", self.drop_frag_timeout),
            ("drop_ipv6_fragment", self.drop_ipv6_fragment),
            ("drop_ndp_invalid", self.drop_ndp_invalid),
            ("drop_icmp_ignored", self.drop_icmp_ignored),
            ("drop_udp_queue_full", self.drop_udp_queue_full),
            ("drop_udp_no_socket", self.drop_udp_no_socket),
            ("drop_tcp_no_socket", self.drop_tcp_no_socket),
            ("drop_tcp_accept_full", self.drop_tcp_accept_full),
            ("drop_pending_full", self.drop_pending_full),
            ("drop_resolution_failed", self.drop_resolution_failed),
            ("drop_neighbor_table_full", self.drop_neighbor_table_full),
            ("drop_no_route", self.drop_no_route),
            ("drop_rate_limited", self.drop_rate_limited),
            ("drop_control_queue_full", self.drop_control_queue_full),
            ("drop_too_big", self.drop_too_big),
            ("drop_buffer_too_small", self.drop_buffer_too_small),
            ("frag_reassembled", self.frag_reassembled),
            ("frag_sent", self.frag_sent),
            ("arp_requests_sent", self.arp_requests_sent),
            ("arp_replies_sent", self.arp_replies_sent),
            ("ns_sent", self.ns_sent),
            ("na_sent", self.na_sent),
            ("echo_replies", self.echo_replies),
            ("echo_requests_sent", self.echo_requests_sent),
            ("echo_replies_received", self.echo_replies_received),
            ("drop_echo_queue_full", self.drop_echo_queue_full),
            ("port_unreachables", self.port_unreachables),
            ("resets_sent", self.resets_sent),
            ("udp_received", self.udp_received),
            ("udp_sent", self.udp_sent),
            ("tcp_segments_received", self.tcp_segments_received),
            ("tcp_segments_sent", self.tcp_segments_sent),
        ]
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn fields_name_every_counter() {
        // Debug lists every field: a counter added to the struct but not to `fields` fails here.
        let debug = std::format!("{:?}", Stats::default());
        assert_eq!(debug.matches(": 0").count(), Stats::COUNT);
        for (name, _) in Stats::default().fields() {
            assert!(debug.contains(&std::format!("{name}: ")), "{name}");
        }
    }
}
