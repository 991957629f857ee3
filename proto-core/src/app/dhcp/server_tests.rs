//! Server tests: pool exhaustion, reservations, lease expiry, INFORM, the REQUEST forms.

extern crate std;
use std::vec::Vec;

use super::*;

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([2, 0, 0, 0, 1, n])
}

fn server<const N: usize>(pool_end: u8) -> DhcpServer<N, 2> {
    DhcpServer::new(ServerConfig::new(
        SERVER,
        Ipv4Addr::new(10, 0, 0, 10),
        Ipv4Addr::new(10, 0, 0, pool_end),
        Ipv4Addr::new(255, 255, 255, 0),
    ))
}

fn msg(t: MessageType, m: EthernetAddress) -> DhcpRepr<'static> {
    let mut r = DhcpRepr::new(t, u32::from(m.0[5]), m);
    r.broadcast = true;
    r
}

fn ask<const N: usize>(
    s: &mut DhcpServer<N, 2>,
    now: Instant,
    r: &DhcpRepr<'_>,
) -> Option<(Reply, DhcpRepr<'static>)> {
    let mut buf = [0u8; 600];
    let n = r.emit(&mut buf);
    let out: &'static mut [u8] = std::vec![0u8; 600].leak();
    let reply = s.handle(now, &buf[..n], out)?;
    Some((reply, DhcpRepr::parse_bytes(&out[..reply.len]).unwrap()))
}

fn dora<const N: usize>(
    s: &mut DhcpServer<N, 2>,
    now: Instant,
    m: EthernetAddress,
) -> Option<Ipv4Addr> {
    let (_, offer) = ask(s, now, &msg(MessageType::Discover, m))?;
    assert_eq!(offer.message_type, MessageType::Offer);
    let mut req = msg(MessageType::Request, m);
    req.server_id = Some(SERVER);
    req.requested_ip = Some(offer.yiaddr);
    let (reply, ack) = ask(s, now, &req)?;
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!((reply.dst, reply.dst_port), (Ipv4Addr::BROADCAST, 68));
    Some(ack.yiaddr)
}

#[test]
fn offers_carry_the_options_and_the_same_client_gets_the_same_address() {
    let mut s = server::<8>(20);
    let (_, offer) = ask(&mut s, Instant::ZERO, &msg(MessageType::Discover, mac(1))).unwrap();
    assert_eq!(offer.yiaddr, Ipv4Addr::new(10, 0, 0, 10));
    assert_eq!(offer.server_id, Some(SERVER));
    assert_eq!(
        (offer.lease_time, offer.renewal_time, offer.rebinding_time),
        (Some(3600), Some(1800), Some(3150))
    );
    assert_eq!(offer.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(
        dora(&mut s, Instant::ZERO, mac(1)),
        Some(Ipv4Addr::new(10, 0, 0, 10))
    );
    assert_eq!(
        dora(&mut s, Instant::ZERO, mac(1)),
        Some(Ipv4Addr::new(10, 0, 0, 10))
    );
    assert_eq!(
        dora(&mut s, Instant::ZERO, mac(2)),
        Some(Ipv4Addr::new(10, 0, 0, 11))
    );
    let b: Vec<_> = s
        .bindings(Instant::ZERO)
        .map(|b| (b.mac, b.state))
        .collect();
    assert_eq!(
        b,
        [(mac(1), BindingState::Bound), (mac(2), BindingState::Bound)]
    );
    // A requested free address is honoured.
    let mut d = msg(MessageType::Discover, mac(3));
    d.requested_ip = Some(Ipv4Addr::new(10, 0, 0, 15));
    assert_eq!(
        ask(&mut s, Instant::ZERO, &d).unwrap().1.yiaddr,
        Ipv4Addr::new(10, 0, 0, 15)
    );
}

#[test]
fn pool_exhaustion_and_table_exhaustion() {
    // Three addresses, eight slots.
    let mut s = server::<8>(12);
    for i in 0..3 {
        assert!(dora(&mut s, Instant::ZERO, mac(i)).is_some());
    }
    assert!(ask(&mut s, Instant::ZERO, &msg(MessageType::Discover, mac(9))).is_none());
    // Two slots, a big pool: the table is the limit.
    let mut s = server::<2>(200);
    assert!(dora(&mut s, Instant::ZERO, mac(1)).is_some());
    assert!(dora(&mut s, Instant::ZERO, mac(2)).is_some());
    assert!(ask(&mut s, Instant::ZERO, &msg(MessageType::Discover, mac(3))).is_none());
    // Once a lease expires its slot and address are reused.
    let later = Instant::from_secs(3601);
    assert_eq!(
        dora(&mut s, later, mac(3)),
        Some(Ipv4Addr::new(10, 0, 0, 10))
    );
}

#[test]
fn unrequested_offers_lapse() {
    let mut s = server::<8>(10);
    assert!(ask(&mut s, Instant::ZERO, &msg(MessageType::Discover, mac(1))).is_some());
    assert!(ask(&mut s, Instant::ZERO, &msg(MessageType::Discover, mac(2))).is_none());
    assert!(
        ask(
            &mut s,
            Instant::from_secs(61),
            &msg(MessageType::Discover, mac(2))
        )
        .is_some()
    );
}

#[test]
fn reservations() {
    let mut s = server::<8>(20);
    assert!(s.reserve(Reservation {
        mac: mac(7),
        addr: Ipv4Addr::new(10, 0, 0, 10)
    }));
    assert!(s.reserve(Reservation {
        mac: mac(8),
        addr: Ipv4Addr::new(10, 0, 0, 200)
    }));
    assert!(!s.reserve(Reservation {
        mac: mac(9),
        addr: Ipv4Addr::new(10, 0, 0, 201)
    }));
    // Another client never gets the reserved address, even asking for it.
    let mut d = msg(MessageType::Discover, mac(1));
    d.requested_ip = Some(Ipv4Addr::new(10, 0, 0, 10));
    assert_eq!(
        ask(&mut s, Instant::ZERO, &d).unwrap().1.yiaddr,
        Ipv4Addr::new(10, 0, 0, 11)
    );
    assert_eq!(
        dora(&mut s, Instant::ZERO, mac(7)),
        Some(Ipv4Addr::new(10, 0, 0, 10))
    );
    // Outside the pool works too.
    assert_eq!(
        dora(&mut s, Instant::ZERO, mac(8)),
        Some(Ipv4Addr::new(10, 0, 0, 200))
    );
}

#[test]
fn request_forms_renew_rebind_init_reboot_and_other_server() {
    let mut s = server::<8>(20);
    let addr = dora(&mut s, Instant::ZERO, mac(1)).unwrap();
    // RENEWING: ciaddr, unicast reply to it; the lease is extended from now.
    let mut r = msg(MessageType::Request, mac(1));
    r.broadcast = false;
    r.ciaddr = addr;
    let (reply, ack) = ask(&mut s, Instant::from_secs(1800), &r).unwrap();
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!((reply.dst, reply.dst_port), (addr, 68));
    assert_eq!(s.bindings(Instant::from_secs(5000)).count(), 1);
    // Renewing an address that is not the client's: NAK, broadcast.
    r.ciaddr = Ipv4Addr::new(10, 0, 0, 19);
    let (reply, nak) = ask(&mut s, Instant::from_secs(1800), &r).unwrap();
    assert_eq!(
        (nak.message_type, reply.dst),
        (MessageType::Nak, Ipv4Addr::BROADCAST)
    );
    // INIT-REBOOT: a free pool address is confirmed, another subnet NAKed, another's refused.
    let mut r = msg(MessageType::Request, mac(2));
    r.requested_ip = Some(Ipv4Addr::new(10, 0, 0, 18));
    assert_eq!(
        ask(&mut s, Instant::ZERO, &r).unwrap().1.message_type,
        MessageType::Ack
    );
    r.requested_ip = Some(Ipv4Addr::new(192, 168, 1, 5));
    assert_eq!(
        ask(&mut s, Instant::ZERO, &r).unwrap().1.message_type,
        MessageType::Nak
    );
    let mut r = msg(MessageType::Request, mac(3));
    r.requested_ip = Some(addr);
    assert_eq!(
        ask(&mut s, Instant::ZERO, &r).unwrap().1.message_type,
        MessageType::Nak
    );
    // SELECTING another server: our offer is withdrawn, no reply.
    let (_, offer) = ask(&mut s, Instant::ZERO, &msg(MessageType::Discover, mac(4))).unwrap();
    let mut r = msg(MessageType::Request, mac(4));
    r.server_id = Some(Ipv4Addr::new(10, 0, 0, 2));
    r.requested_ip = Some(offer.yiaddr);
    assert!(ask(&mut s, Instant::ZERO, &r).is_none());
    assert!(s.bindings(Instant::ZERO).all(|b| b.mac != mac(4)));
    // Through a relay: the reply goes to giaddr:67.
    let mut d = msg(MessageType::Discover, mac(5));
    d.giaddr = Ipv4Addr::new(10, 0, 0, 254);
    let (reply, _) = ask(&mut s, Instant::ZERO, &d).unwrap();
    assert_eq!(
        (reply.dst, reply.dst_port),
        (Ipv4Addr::new(10, 0, 0, 254), 67)
    );
}

#[test]
fn leases_expire() {
    let mut s = server::<8>(10);
    assert_eq!(
        dora(&mut s, Instant::ZERO, mac(1)),
        Some(Ipv4Addr::new(10, 0, 0, 10))
    );
    assert!(
        ask(
            &mut s,
            Instant::from_secs(3599),
            &msg(MessageType::Discover, mac(2))
        )
        .is_none()
    );
    assert_eq!(
        dora(&mut s, Instant::from_secs(3600), mac(2)),
        Some(Ipv4Addr::new(10, 0, 0, 10))
    );
    // The first client's renewal is refused now.
    let mut r = msg(MessageType::Request, mac(1));
    r.ciaddr = Ipv4Addr::new(10, 0, 0, 10);
    assert_eq!(
        ask(&mut s, Instant::from_secs(3600), &r)
            .unwrap()
            .1
            .message_type,
        MessageType::Nak
    );
}

#[test]
fn decline_and_release() {
    let mut s = server::<8>(11);
    let addr = dora(&mut s, Instant::ZERO, mac(1)).unwrap();
    let mut d = msg(MessageType::Decline, mac(1));
    d.requested_ip = Some(addr);
    d.server_id = Some(SERVER);
    assert!(ask(&mut s, Instant::ZERO, &d).is_none());
    // Nobody gets the declined address until the hold ends.
    assert_eq!(
        dora(&mut s, Instant::ZERO, mac(1)),
        Some(Ipv4Addr::new(10, 0, 0, 11))
    );
    assert!(ask(&mut s, Instant::ZERO, &msg(MessageType::Discover, mac(2))).is_none());
    // RELEASE frees an address at once.
    let mut r = msg(MessageType::Release, mac(1));
    r.ciaddr = Ipv4Addr::new(10, 0, 0, 11);
    r.server_id = Some(SERVER);
    assert!(ask(&mut s, Instant::ZERO, &r).is_none());
    assert_eq!(
        dora(&mut s, Instant::ZERO, mac(2)),
        Some(Ipv4Addr::new(10, 0, 0, 11))
    );
    assert_eq!(dora(&mut s, Instant::from_secs(601), mac(3)), Some(addr));
}

#[test]
fn inform_gets_options_without_a_lease() {
    let mut s = server::<8>(20);
    let mut i = msg(MessageType::Inform, mac(1));
    i.ciaddr = Ipv4Addr::new(10, 0, 0, 99);
    i.broadcast = false;
    let (reply, ack) = ask(&mut s, Instant::ZERO, &i).unwrap();
    assert_eq!(ack.message_type, MessageType::Ack);
    assert_eq!(
        (ack.yiaddr, ack.ciaddr, ack.lease_time),
        (Ipv4Addr::UNSPECIFIED, i.ciaddr, None)
    );
    assert_eq!(ack.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!((reply.dst, reply.dst_port), (i.ciaddr, 68));
    assert_eq!(s.bindings(Instant::ZERO).count(), 0);
    // Garbage and server messages are ignored.
    assert!(
        s.handle(Instant::ZERO, &[1, 2, 3], &mut [0u8; 600])
            .is_none()
    );
    assert!(ask(&mut s, Instant::ZERO, &msg(MessageType::Offer, mac(1))).is_none());
}
