//! `--dhcp`: tapd answers DHCP (RFC 2131) for the clients of its link with proto-core's
//! [`DhcpServer`], so that a userspace stack behind the HTTP link needs nothing else to get an
//! address.
//!
//! Which way frames travel decides where the answer goes. A client behind the HTTP link sends
//! its DISCOVER with `POST /send`: tapd writes it to the TAP as usual (so a capture on the
//! device shows it), and [`DhcpResponder::answer`] makes the OFFER, which the hub queues for
//! `GET /recv` as if the device had produced it. The kernel side never sees the replies: the
//! kernel owns the TAP's address already and needs no lease.
//!
//! The pool is the TAP's prefix without its network, broadcast and tapd's own address; the
//! router and DNS server offered are tapd's address (the kernel side of the TAP), the lease
//! lasts an hour. An NTP server (option 42) is offered only when configured.

use std::net::Ipv4Addr;

use proto_core::app::dhcp::{
    AddrList, DhcpRepr, DhcpServer, MessageType, SERVER_PORT, ServerConfig,
};
use proto_core::time::{Duration, Instant};
use proto_core::wire::{
    EtherType, EthernetAddress, EthernetRepr, Frame, IpAddrPair, IpProtocol, Ipv4Cidr, Ipv4Repr,
    Network, Transport, UdpRepr,
};

/// How many clients the lease table holds.
pub const LEASES: usize = 256;

/// How long a lease lasts.
pub const LEASE_TIME: Duration = Duration::from_secs(3600);

/// Ethernet, IPv4 and UDP headers in front of a DHCP message.
const HEADERS: usize = 14 + 20 + 8;

/// Why `--dhcp` cannot serve a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "--dhcp needs a prefix with room for clients; {0} has none besides tapd's address (use /30 or shorter)"
)]
pub struct NoRoom(pub Ipv4Cidr);

/// What the DHCP server hands out, beside the pool and the router.
#[derive(Debug, Clone, Default)]
pub struct DhcpOptions {
    /// NTP servers to offer (option 42); none by default.
    pub ntp_servers: Vec<Ipv4Addr>,
}

/// The DHCP server of one tapd: the proto-core server, and the addresses its replies come from.
#[derive(Debug)]
pub struct DhcpResponder {
    server: Box<DhcpServer<LEASES, 0>>,
    mac: EthernetAddress,
    addr: Ipv4Addr,
    subnet_broadcast: Ipv4Addr,
    epoch: std::time::Instant,
}

impl DhcpResponder {
    /// A server for the TAP at `prefix` with MAC `mac`: pool = the prefix's host addresses
    /// (tapd's own is never offered), router and DNS = tapd's address, one-hour leases.
    pub fn new(prefix: Ipv4Cidr, mac: EthernetAddress, opts: &DhcpOptions) -> Result<Self, NoRoom> {
        let addr = prefix.address();
        if prefix.prefix_len() >= 31 {
            return Err(NoRoom(prefix));
        }
        let first = Ipv4Addr::from_bits(prefix.network().to_bits() + 1);
        let last = Ipv4Addr::from_bits(prefix.broadcast().to_bits() - 1);
        // Start after tapd's address when it is the first (the usual .1): offers then begin
        // at .2, as people expect.
        let pool_start = if addr == first {
            Ipv4Addr::from_bits(first.to_bits() + 1)
        } else {
            first
        };
        let mut config = ServerConfig::new(addr, pool_start, last, prefix.netmask());
        config.router = Some(addr);
        config.dns_servers = AddrList::from_slice(&[addr]);
        config.ntp_servers = AddrList::from_slice(&opts.ntp_servers);
        config.lease_time = LEASE_TIME;
        Ok(Self {
            server: Box::new(DhcpServer::new(config)),
            mac,
            addr,
            subnet_broadcast: prefix.broadcast(),
            epoch: std::time::Instant::now(),
        })
    }

    /// True when `frame` may be a DHCP message to a server: IPv4, UDP, destination port 67.
    /// A cheap look at fixed offsets, so that every other frame costs almost nothing.
    pub fn wants(frame: &[u8]) -> bool {
        frame.len() >= HEADERS && frame[12..14] == [0x08, 0x00] && frame[23] == 17 && {
            let ihl = usize::from(frame[14] & 0x0f) * 4;
            frame.len() >= 14 + ihl + 8 && frame[14 + ihl + 2..14 + ihl + 4] == [0, 67]
        }
    }

    /// Answers a frame a client sent, if it is a DHCP message for us (to the broadcast
    /// address, the prefix's broadcast or tapd's address): the reply as a whole Ethernet frame.
    pub fn answer(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        let now = Instant::from_micros(self.epoch.elapsed().as_micros() as u64);
        self.answer_at(frame, now)
    }

    /// [`answer`](Self::answer) at a given time.
    pub fn answer_at(&mut self, frame: &[u8], now: Instant) -> Option<Vec<u8>> {
        if !Self::wants(frame) {
            return None;
        }
        let f = Frame::parse(frame).ok()?;
        let (Some(Network::Ipv4(ip)), Some(Transport::Udp(udp))) = (f.network, f.transport) else {
            return None;
        };
        let dst = ip.dst_addr();
        if udp.dst_port() != SERVER_PORT
            || !(dst == Ipv4Addr::BROADCAST || dst == self.addr || dst == self.subnet_broadcast)
            || f.verify_checksums().is_err()
        {
            return None;
        }
        let client_mac = f.ethernet.src_addr();
        let mut msg = [0u8; 576];
        let reply = self.server.handle(now, f.payload, &mut msg)?;
        let msg = &msg[..reply.len];
        if let Ok(r) = DhcpRepr::parse_bytes(msg) {
            match r.message_type {
                MessageType::Ack if !r.yiaddr.is_unspecified() => {
                    tracing::info!(client = %client_mac, addr = %r.yiaddr, "DHCP lease granted");
                }
                MessageType::Nak => tracing::info!(client = %client_mac, "DHCP NAK"),
                t => tracing::debug!(client = %client_mac, addr = %r.yiaddr, "DHCP {t:?}"),
            }
        }
        // Broadcast replies go to every station; unicast ones (a renewal's ACK, to ciaddr) to
        // the client's MAC, which we know from its request.
        let dst_mac = if reply.dst == Ipv4Addr::BROADCAST {
            EthernetAddress::BROADCAST
        } else {
            client_mac
        };
        let mut out = vec![0u8; HEADERS + msg.len()];
        EthernetRepr::new(self.mac, dst_mac, EtherType::Ipv4).emit(&mut out);
        Ipv4Repr::new(self.addr, reply.dst, IpProtocol::Udp, 8 + msg.len()).emit(&mut out[14..]);
        UdpRepr {
            src_port: SERVER_PORT,
            dst_port: reply.dst_port,
        }
        .emit(
            &mut out[34..],
            &IpAddrPair::V4 {
                src: self.addr,
                dst: reply.dst,
            },
            msg,
        );
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAPD_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const CLIENT: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x42]);

    fn responder(prefix: &str) -> DhcpResponder {
        DhcpResponder::new(
            prefix.parse().unwrap(),
            TAPD_MAC,
            &DhcpOptions {
                ntp_servers: vec![Ipv4Addr::new(192, 168, 10, 1)],
            },
        )
        .unwrap()
    }

    /// A client's DHCP message in a whole frame, from 0.0.0.0:68 (or `src`) to `dst`:`port`.
    pub(crate) fn client_frame(
        msg: &DhcpRepr<'_>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        port: u16,
    ) -> Vec<u8> {
        let mut m = vec![0u8; msg.buffer_len()];
        msg.emit(&mut m);
        let mut out = vec![0u8; HEADERS + m.len()];
        EthernetRepr::new(CLIENT, EthernetAddress::BROADCAST, EtherType::Ipv4).emit(&mut out);
        Ipv4Repr::new(src, dst, IpProtocol::Udp, 8 + m.len()).emit(&mut out[14..]);
        UdpRepr {
            src_port: 68,
            dst_port: port,
        }
        .emit(&mut out[34..], &IpAddrPair::V4 { src, dst }, &m);
        out
    }

    fn reply_of(frame: &[u8]) -> (Frame<'_>, DhcpRepr<'_>) {
        let f = Frame::parse(frame).unwrap();
        f.verify_checksums().unwrap();
        let r = DhcpRepr::parse_bytes(f.payload).unwrap();
        (f, r)
    }

    #[test]
    fn discover_request_renew_get_offer_ack_with_our_options() {
        let mut d = responder("192.168.10.1/24");
        let t0 = Instant::from_secs(1);
        let discover = DhcpRepr::new(MessageType::Discover, 7, CLIENT);
        let out = d
            .answer_at(
                &client_frame(&discover, Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, 67),
                t0,
            )
            .expect("an OFFER");
        let (f, offer) = reply_of(&out);
        assert_eq!(f.ethernet.src_addr(), TAPD_MAC);
        assert!(f.ethernet.dst_addr().is_broadcast());
        let Some(Network::Ipv4(ip)) = f.network else {
            panic!("not IPv4")
        };
        assert_eq!(
            (ip.src_addr(), ip.dst_addr()),
            (Ipv4Addr::new(192, 168, 10, 1), Ipv4Addr::BROADCAST)
        );
        let Some(Transport::Udp(udp)) = f.transport else {
            panic!("not UDP")
        };
        assert_eq!((udp.src_port(), udp.dst_port()), (67, 68));
        assert_eq!(offer.message_type, MessageType::Offer);
        assert_eq!(offer.xid, 7);
        let us = Ipv4Addr::new(192, 168, 10, 1);
        assert_eq!(offer.yiaddr, Ipv4Addr::new(192, 168, 10, 2));
        assert_eq!(offer.router, Some(us));
        assert_eq!(offer.server_id, Some(us));
        assert_eq!(offer.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(offer.dns_servers.iter().collect::<Vec<_>>(), [us]);
        assert_eq!(offer.ntp_servers.iter().collect::<Vec<_>>(), [us]);
        assert_eq!(offer.lease_time, Some(3600));

        let mut request = DhcpRepr::new(MessageType::Request, 8, CLIENT);
        request.requested_ip = Some(offer.yiaddr);
        request.server_id = Some(us);
        let out = d
            .answer_at(
                &client_frame(&request, Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, 67),
                t0,
            )
            .expect("an ACK");
        let (_, ack) = reply_of(&out);
        assert_eq!(
            (ack.message_type, ack.yiaddr),
            (MessageType::Ack, offer.yiaddr)
        );

        // Renewal at T1: unicast to tapd's address, answered by unicast to the client.
        let mut renew = DhcpRepr::new(MessageType::Request, 9, CLIENT);
        renew.ciaddr = offer.yiaddr;
        let out = d
            .answer_at(
                &client_frame(&renew, offer.yiaddr, us, 67),
                t0 + Duration::from_secs(1800),
            )
            .expect("an ACK");
        let (f, ack) = reply_of(&out);
        assert_eq!(ack.message_type, MessageType::Ack);
        assert_eq!(f.ethernet.dst_addr(), CLIENT);
        let Some(Network::Ipv4(ip)) = f.network else {
            panic!("not IPv4")
        };
        assert_eq!(ip.dst_addr(), offer.yiaddr);
    }

    #[test]
    fn other_traffic_and_other_servers_messages_are_not_answered() {
        let mut d = responder("10.0.0.5/29");
        let discover = DhcpRepr::new(MessageType::Discover, 7, CLIENT);
        let any = Ipv4Addr::UNSPECIFIED;
        // Another port, another destination, a broken checksum.
        assert!(
            d.answer_at(
                &client_frame(&discover, any, Ipv4Addr::BROADCAST, 69),
                Instant::ZERO
            )
            .is_none()
        );
        assert!(
            d.answer_at(
                &client_frame(&discover, any, Ipv4Addr::new(10, 0, 0, 9), 67),
                Instant::ZERO
            )
            .is_none()
        );
        let mut bad = client_frame(&discover, any, Ipv4Addr::BROADCAST, 67);
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        assert!(d.answer_at(&bad, Instant::ZERO).is_none());
        assert!(d.answer_at(&[0u8; 10], Instant::ZERO).is_none());
        // To the prefix's broadcast: answered; tapd at .5 is never offered (pool .1-.6).
        let mut seen = Vec::new();
        for i in 0..6u8 {
            let mac = EthernetAddress([2, 0, 0, 0, 1, i]);
            let m = DhcpRepr::new(MessageType::Discover, 1, mac);
            match d.answer_at(
                &client_frame(&m, any, Ipv4Addr::new(10, 0, 0, 7), 67),
                Instant::ZERO,
            ) {
                Some(out) => seen.push(reply_of(&out).1.yiaddr),
                None => break,
            }
        }
        assert_eq!(
            seen,
            [1, 2, 3, 4, 6].map(|h| Ipv4Addr::new(10, 0, 0, h)),
            "the pool is the host addresses but tapd's"
        );
    }

    #[test]
    fn prefixes_without_room_are_refused() {
        for p in ["10.0.0.1/31", "10.0.0.1/32", "10.0.0.1/30"] {
            let r = DhcpResponder::new(p.parse().unwrap(), TAPD_MAC, &DhcpOptions::default());
            assert_eq!(r.is_ok(), p.ends_with("/30"), "{p}");
        }
    }
}
