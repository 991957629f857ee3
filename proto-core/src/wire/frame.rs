//! One call from a frame's bytes to views of all its layers: Ethernet (with VLAN tags), then
//! ARP / IPv4 / IPv6 (extension headers walked), then TCP / UDP / ICMPv4 / ICMPv6, and the
//! innermost payload. Zero-copy: every layer is a checked view into the same buffer.
//!
//! A layer this module does not know ends the walk without an error (an unknown EtherType, an
//! unknown IP protocol, an IP fragment, whose transport header is missing or incomplete): the
//! layers above it are `None` and `payload` is that layer's payload. A layer it knows that is
//! malformed is an [`Error`] naming the protocol and field.

use super::arp::ArpPacket;
use super::ethernet::{EtherType, EthernetFrame};
use super::icmpv4::Icmpv4Packet;
use super::icmpv6::Icmpv6Packet;
use super::ipv4::Ipv4Packet;
use super::ipv6::{Ipv6Packet, UpperLayer};
use super::tcp::TcpPacket;
use super::udp::UdpPacket;
use super::{IpAddrPair, IpProtocol, Result, be16};

/// The network layer of a [`Frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network<'a> {
    /// An ARP packet.
    Arp(ArpPacket<&'a [u8]>),
    /// An IPv4 packet.
    Ipv4(Ipv4Packet<&'a [u8]>),
    /// An IPv6 packet and where its extension-header chain ends.
    Ipv6 {
        /// The fixed header and payload.
        packet: Ipv6Packet<&'a [u8]>,
        /// The upper-layer protocol, its offset in the payload and any fragment header.
        upper: UpperLayer,
    },
}

impl Network<'_> {
    /// The source and destination addresses, for pseudo-header checksums (`None` for ARP).
    #[inline]
    pub fn addrs(&self) -> Option<IpAddrPair> {
        match self {
            Self::Arp(_) => None,
            Self::Ipv4(p) => Some(IpAddrPair::V4 {
                src: p.src_addr(),
                dst: p.dst_addr(),
            }),
            Self::Ipv6 { packet, .. } => Some(IpAddrPair::V6 {
                src: packet.src_addr(),
                dst: packet.dst_addr(),
            }),
        }
    }
}

/// The transport layer of a [`Frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp(TcpPacket<&'a [u8]>),
    /// A UDP datagram.
    Udp(UdpPacket<&'a [u8]>),
    /// An ICMPv4 message.
    Icmpv4(Icmpv4Packet<&'a [u8]>),
    /// An ICMPv6 message.
    Icmpv6(Icmpv6Packet<&'a [u8]>),
}

/// Every layer of an Ethernet frame, as checked zero-copy views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The Ethernet header (and VLAN tags).
    pub ethernet: EthernetFrame<&'a [u8]>,
    /// The network layer, if its EtherType is ARP, IPv4 or IPv6.
    pub network: Option<Network<'a>>,
    /// The transport layer, if the IP protocol is TCP, UDP, ICMPv4 or ICMPv6 and the packet
    /// is not a fragment.
    pub transport: Option<Transport<'a>>,
    /// The innermost payload: the transport payload, else the network payload, else the
    /// Ethernet payload. For ICMP it is the message body after the 8-byte header; for ARP empty.
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Parses `bytes` down to the transport payload. Checksums are not verified here: call
    /// [`verify_checksums`](Self::verify_checksums) (parsing and verifying are separate so that
    /// a capture viewer can show a frame with a bad checksum).
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let ethernet = EthernetFrame::new_checked(bytes)?;
        // Walk the VLAN tags once: the EtherType is the last two bytes of the header.
        let header_len = ethernet.header_len();
        let ethertype = EtherType::from(be16(bytes, header_len - 2));
        let l2_payload = &bytes[header_len..];
        let mut frame = Frame {
            ethernet,
            network: None,
            transport: None,
            payload: l2_payload,
        };
        match ethertype {
            EtherType::Ipv4 => {
                let ip = Ipv4Packet::new_checked(l2_payload)?;
                frame.network = Some(Network::Ipv4(ip));
                frame.payload = ip.payload_slice();
                if !ip.is_fragment() {
                    frame.parse_transport(ip.protocol(), false, frame.payload)?;
                }
            }
            EtherType::Ipv6 => {
                let ip = Ipv6Packet::new_checked(l2_payload)?;
                let upper = ip.upper_layer()?;
                let payload = &ip.payload_slice()[upper.offset..];
                frame.network = Some(Network::Ipv6 { packet: ip, upper });
                frame.payload = payload;
                // An atomic fragment (offset 0, M clear; RFC 6946) holds the whole datagram:
                // its transport is parsed, as for an IPv4 packet with MF clear and offset 0.
                if upper.fragment.is_none_or(|f| f.offset == 0 && !f.more) {
                    frame.parse_transport(upper.protocol, true, payload)?;
                }
            }
            EtherType::Arp => {
                frame.network = Some(Network::Arp(ArpPacket::new_checked(l2_payload)?));
                frame.payload = &[];
            }
            _ => {}
        }
        Ok(frame)
    }

    #[inline]
    /// Parses the transport layer. ICMPv4 belongs to IPv4 and ICMPv6 to IPv6 (RFC 4443 §1):
    /// the other family's ICMP number is an unknown upper layer, not parsed, since its
    /// checksum would be verified against the wrong pseudo-header.
    fn parse_transport(&mut self, protocol: IpProtocol, ipv6: bool, bytes: &'a [u8]) -> Result<()> {
        let transport = match protocol {
            IpProtocol::Tcp => {
                let tcp = TcpPacket::new_checked(bytes)?;
                self.payload = tcp.payload_slice();
                Transport::Tcp(tcp)
            }
            IpProtocol::Udp => {
                let udp = UdpPacket::new_checked(bytes)?;
                self.payload = udp.payload_slice();
                Transport::Udp(udp)
            }
            IpProtocol::Icmp if !ipv6 => {
                let icmp = Icmpv4Packet::new_checked(bytes)?;
                self.payload = icmp.data_slice();
                Transport::Icmpv4(icmp)
            }
            IpProtocol::Icmpv6 if ipv6 => {
                let icmp = Icmpv6Packet::new_checked(bytes)?;
                self.payload = icmp.payload_slice();
                Transport::Icmpv6(icmp)
            }
            _ => return Ok(()),
        };
        self.transport = Some(transport);
        Ok(())
    }

    /// Verifies every checksum present: the IPv4 header's, and the transport's (ICMPv4 over
    /// its message; TCP, UDP and ICMPv6 with their pseudo-header). The first wrong one is the
    /// error. A UDP checksum of zero over IPv4 means "none" and passes.
    #[inline]
    pub fn verify_checksums(&self) -> Result<()> {
        if let Some(Network::Ipv4(ip)) = &self.network {
            ip.check_checksum()?;
        }
        let (Some(transport), Some(addrs)) = (
            &self.transport,
            self.network.as_ref().and_then(Network::addrs),
        ) else {
            return Ok(());
        };
        match transport {
            Transport::Tcp(tcp) => tcp.check_checksum(&addrs),
            Transport::Udp(udp) => udp.check_checksum(&addrs),
            Transport::Icmpv4(icmp) => icmp.check_checksum(),
            Transport::Icmpv6(icmp) => icmp.check_checksum(&addrs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 packet claiming protocol 58 (ICMPv6): the transport is unknown, not ICMPv6.
    #[test]
    fn icmp_of_the_other_family_is_not_parsed() {
        let mut frame = [
            0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, // Ethernet
            0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 58, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
            128, 0, 0, 0, 0, 1, 0, 1, // an ICMPv6 echo request's bytes
        ];
        let mut ip = Ipv4Packet::new_unchecked(&mut frame[14..]);
        ip.fill_checksum();
        let parsed = Frame::parse(&frame).unwrap();
        assert!(parsed.transport.is_none());
        assert_eq!(parsed.payload.len(), 8);
        parsed.verify_checksums().unwrap();
    }
}
