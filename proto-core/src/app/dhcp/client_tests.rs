//! Client transitions on simulated time, against our server and hand-made replies.

extern crate std;
use std::vec::Vec;

use super::*;
use crate::app::dhcp::{DhcpServer, ServerConfig};

const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 7, 1);

fn server() -> DhcpServer<8, 2> {
    let mut cfg = ServerConfig::new(
        SERVER,
        Ipv4Addr::new(192, 168, 7, 50),
        Ipv4Addr::new(192, 168, 7, 99),
        Ipv4Addr::new(255, 255, 255, 0),
    );
    cfg.router = Some(SERVER);
    cfg.dns_servers = AddrList::from_slice(&[SERVER]);
    cfg.ntp_servers = AddrList::from_slice(&[Ipv4Addr::new(192, 168, 7, 2)]);
    cfg.domain = SmallBytes::new(b"lan");
    DhcpServer::new(cfg)
}

struct Net {
    client: DhcpClient,
    server: DhcpServer<8, 2>,
    now: Instant,
    /// Whether the server answers.
    up: bool,
    sent: Vec<(Instant, Transmit, MessageType)>,
}

impl Net {
    fn new(config: ClientConfig) -> Self {
        Self {
            client: DhcpClient::new(config, Instant::ZERO),
            server: server(),
            now: Instant::ZERO,
            up: true,
            sent: Vec::new(),
        }
    }

    /// Sends whatever the client has due, lets the server answer; returns the events.
    fn step(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        events.extend(self.client.handle_timeout(self.now));
        let mut buf = [0u8; 600];
        while let Some(tx) = self.client.poll_transmit(self.now, &mut buf) {
            let msg = DhcpRepr::parse_bytes(&buf[..tx.len]).unwrap();
            self.sent.push((self.now, tx, msg.message_type));
            if !self.up {
                continue;
            }
            let mut out = [0u8; 600];
            if let Some(reply) = self.server.handle(self.now, &buf[..tx.len], &mut out) {
                events.extend(self.client.handle(self.now, &out[..reply.len], SERVER));
            }
        }
        while self.client.poll_arp_probe(self.now).is_some() {}
        events
    }

    /// Runs until `until`, jumping from deadline to deadline.
    fn run_until(&mut self, until: Instant) -> Vec<Event> {
        let mut events = self.step();
        for _ in 0..10_000 {
            let Some(next) = self.client.poll_at() else {
                break;
            };
            let next = next.max(self.now);
            if next > until {
                break;
            }
            self.now = next;
            events.extend(self.step());
        }
        self.now = until;
        events.extend(self.step());
        events
    }

    fn last(&self) -> (Instant, Transmit, MessageType) {
        *self.sent.last().unwrap()
    }
}

fn bound(events: &[Event]) -> Lease {
    events
        .iter()
        .find_map(|e| match e {
            Event::Bound(l) => Some(*l),
            _ => None,
        })
        .expect("bound")
}

#[test]
fn full_dora_with_arp_probe() {
    let mut cfg = ClientConfig::new(MAC, 1);
    cfg.hostname = SmallBytes::new(b"box");
    let mut net = Net::new(cfg);
    // DISCOVER -> OFFER -> REQUEST -> ACK in one step; then probing.
    assert!(net.step().is_empty());
    let kinds: Vec<_> = net.sent.iter().map(|s| s.2).collect();
    assert_eq!(kinds, [MessageType::Discover, MessageType::Request]);
    assert!(
        net.sent
            .iter()
            .all(|s| s.1.dst == Ipv4Addr::BROADCAST && s.1.src.is_unspecified())
    );
    assert_eq!(net.client.state(), ClientState::Probing);
    // Three probes: the first within PROBE_WAIT, then 1-2 s apart; bound 2 s after the last.
    let mut probes = Vec::new();
    let mut events = Vec::new();
    for _ in 0..20 {
        net.now = net.client.poll_at().unwrap();
        events.extend(net.client.handle_timeout(net.now));
        if let Some(p) = net.client.poll_arp_probe(net.now) {
            assert_eq!(p.addr, Ipv4Addr::new(192, 168, 7, 50));
            probes.push(net.now);
        }
        if !events.is_empty() {
            break;
        }
    }
    assert_eq!(probes.len(), 3);
    assert!(probes[0] <= Instant::from_secs(1));
    for w in probes.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_secs(1) && gap <= Duration::from_secs(2),
            "{gap}"
        );
    }
    assert_eq!(net.now - probes[2], Duration::from_secs(2));
    let lease = bound(&events);
    assert_eq!(lease.addr, Ipv4Addr::new(192, 168, 7, 50));
    assert_eq!(lease.prefix_len, 24);
    assert_eq!(lease.router, Some(SERVER));
    assert_eq!(lease.dns_servers.first(), Some(SERVER));
    assert_eq!(
        lease.ntp_servers.first(),
        Some(Ipv4Addr::new(192, 168, 7, 2))
    );
    assert_eq!(lease.domain.unwrap().as_bytes(), b"lan");
    assert_eq!(
        (lease.lease_time, lease.t1, lease.t2),
        (
            Duration::from_secs(3600),
            Duration::from_secs(1800),
            Duration::from_secs(3150)
        )
    );
    assert_eq!(lease.server, SERVER);
    assert_eq!(lease.start, Instant::ZERO);
    assert_eq!(net.client.state(), ClientState::Bound);
    assert_eq!(net.client.poll_at(), Some(lease.t1_at()));
}

#[test]
fn discover_backoff_is_4_8_16_32_64_64_with_1s_jitter() {
    let mut net = Net::new(ClientConfig::new(MAC, 2));
    net.up = false;
    net.run_until(Instant::from_secs(400));
    let times: Vec<Instant> = net.sent.iter().map(|s| s.0).collect();
    assert!(net.sent.iter().all(|s| s.2 == MessageType::Discover));
    let xids: std::collections::HashSet<u32> = net.sent.iter().map(|_| 0).collect();
    assert_eq!(xids.len(), 1);
    for (i, w) in times.windows(2).enumerate() {
        let want = 4u64 << i.min(4);
        let gap = (w[1] - w[0]).micros() as i64;
        assert!(
            (gap - want as i64 * 1_000_000).abs() <= 1_000_000,
            "retransmission {i}: {gap} us"
        );
    }
    assert!(times.len() >= 7, "{}", times.len());
    // Different seeds jitter differently.
    let mut other = Net::new(ClientConfig::new(MAC, 3));
    other.up = false;
    other.run_until(Instant::from_secs(400));
    assert_ne!(other.sent[1].0, net.sent[1].0);
}

#[test]
fn no_probe_binds_at_once_and_secs_counts_up() {
    let mut cfg = ClientConfig::new(MAC, 4);
    cfg.arp_probe = false;
    let mut net = Net::new(cfg);
    let lease = bound(&net.step());
    assert_eq!(lease.addr, Ipv4Addr::new(192, 168, 7, 50));
    // secs in a retransmitted DISCOVER.
    let mut c = DhcpClient::new(ClientConfig::new(MAC, 4), Instant::ZERO);
    let mut buf = [0u8; 600];
    let _ = c.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let at = c.poll_at().unwrap();
    let tx = c.poll_transmit(at, &mut buf).unwrap();
    let m = DhcpRepr::parse_bytes(&buf[..tx.len]).unwrap();
    assert_eq!(u64::from(m.secs), at.micros() / 1_000_000);
    assert!(m.broadcast);
    assert_eq!(m.client_id, Some(&[1, 2, 0, 0, 0, 0, 1][..]));
    assert_eq!(m.parameter_request_list.unwrap().len(), 8);
}

#[test]
fn init_reboot_confirms_a_remembered_address_or_falls_back() {
    let mut cfg = ClientConfig::new(MAC, 5);
    cfg.arp_probe = false;
    cfg.remembered_addr = Some(Ipv4Addr::new(192, 168, 7, 77));
    let mut net = Net::new(cfg);
    assert_eq!(net.client.state(), ClientState::Rebooting);
    let lease = bound(&net.step());
    assert_eq!(lease.addr, Ipv4Addr::new(192, 168, 7, 77));
    let mut buf = [0u8; 600];
    // The REQUEST had no server id, the requested address, ciaddr 0.
    let mut c = DhcpClient::new(cfg, Instant::ZERO);
    let tx = c.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let m = DhcpRepr::parse_bytes(&buf[..tx.len]).unwrap();
    assert_eq!(
        (m.message_type, m.server_id, m.requested_ip, m.ciaddr),
        (
            MessageType::Request,
            None,
            Some(Ipv4Addr::new(192, 168, 7, 77)),
            Ipv4Addr::UNSPECIFIED
        )
    );
    // A remembered address from another network: NAK, then DORA gives a pool address.
    cfg.remembered_addr = Some(Ipv4Addr::new(10, 1, 2, 3));
    let mut net = Net::new(cfg);
    let events = net.step();
    // The NAK restarts DORA at once, in the same step.
    assert_eq!(events[0], Event::Nak { lost: None });
    let lease = bound(&events);
    assert_eq!(lease.addr, Ipv4Addr::new(192, 168, 7, 50));
    // No server: four REQUESTs, then back to DISCOVER.
    let mut net = Net::new(cfg);
    net.up = false;
    net.run_until(Instant::from_secs(200));
    let kinds: Vec<_> = net.sent.iter().map(|s| s.2).collect();
    assert_eq!(
        &kinds[..5],
        &[
            MessageType::Request,
            MessageType::Request,
            MessageType::Request,
            MessageType::Request,
            MessageType::Discover
        ]
    );
}

fn bound_net(seed: u64) -> (Net, Lease) {
    let mut cfg = ClientConfig::new(MAC, seed);
    cfg.arp_probe = false;
    let mut net = Net::new(cfg);
    let lease = bound(&net.step());
    (net, lease)
}

#[test]
fn renews_unicast_at_t1() {
    let (mut net, lease) = bound_net(6);
    net.sent.clear();
    let events = net.run_until(lease.t1_at());
    let (at, tx, kind) = net.last();
    assert_eq!((at, kind), (lease.t1_at(), MessageType::Request));
    assert_eq!((tx.src, tx.dst), (lease.addr, SERVER));
    let Event::Renewed(renewed) = events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(renewed.addr, lease.addr);
    assert_eq!(renewed.start, lease.t1_at());
    assert_eq!(net.client.state(), ClientState::Bound);
    assert_eq!(net.client.poll_at(), Some(renewed.t1_at()));
}

#[test]
fn rebinds_by_broadcast_at_t2_then_expires() {
    let (mut net, lease) = bound_net(7);
    net.up = false;
    net.sent.clear();
    net.run_until(lease.t2_at() - Duration::from_micros(1));
    // RENEWING: unicast, retransmitted at half the time left to T2, at least 60 s apart.
    assert!(
        net.sent
            .iter()
            .all(|s| s.1.dst == SERVER && s.2 == MessageType::Request)
    );
    let times: Vec<Instant> = net.sent.iter().map(|s| s.0).collect();
    assert_eq!(times[0], lease.t1_at());
    assert_eq!(times[1] - times[0], (lease.t2_at() - lease.t1_at()) / 2);
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(60));
    }
    assert_eq!(net.client.state(), ClientState::Renewing);
    net.sent.clear();
    net.run_until(lease.t2_at());
    assert_eq!(net.client.state(), ClientState::Rebinding);
    let (_, tx, _) = net.last();
    assert_eq!((tx.src, tx.dst), (lease.addr, Ipv4Addr::BROADCAST));
    let events = net.run_until(lease.expires_at());
    assert_eq!(events, [Event::Expired(lease)]);
    assert_eq!(net.client.state(), ClientState::Selecting);
    assert!(net.client.lease().is_none());
}

#[test]
fn a_server_that_wakes_up_during_rebinding_extends_the_lease() {
    let (mut net, lease) = bound_net(8);
    net.up = false;
    net.run_until(lease.t2_at());
    net.up = true;
    let events = net.run_until(lease.expires_at() - Duration::from_secs(1));
    assert!(
        matches!(events[..], [Event::Renewed(l)] if l.addr == lease.addr),
        "{events:?}"
    );
}

/// A NAK or ACK from `SERVER` for the client's last message.
fn reply(net: &Net, message_type: MessageType, yiaddr: Ipv4Addr, buf_of_last: &[u8]) -> Vec<u8> {
    let last = DhcpRepr::parse_bytes(buf_of_last).unwrap();
    let mut r = DhcpRepr::new(message_type, last.xid, MAC);
    r.server_id = Some(SERVER);
    r.yiaddr = yiaddr;
    r.lease_time = Some(600);
    let _ = net;
    let mut out = std::vec![0u8; r.buffer_len()];
    r.emit(&mut out);
    out
}

#[test]
fn nak_while_renewing_loses_the_address() {
    let (mut net, lease) = bound_net(9);
    net.now = lease.t1_at();
    assert!(net.client.handle_timeout(net.now).is_none());
    let mut buf = [0u8; 600];
    let tx = net.client.poll_transmit(net.now, &mut buf).unwrap();
    let nak = reply(
        &net,
        MessageType::Nak,
        Ipv4Addr::UNSPECIFIED,
        &buf[..tx.len],
    );
    // Wrong xid or MAC: ignored.
    let mut other = nak.clone();
    other[4] ^= 1;
    assert!(net.client.handle(net.now, &other, SERVER).is_none());
    let mut other = nak.clone();
    other[33] ^= 1;
    assert!(net.client.handle(net.now, &other, SERVER).is_none());
    assert_eq!(
        net.client.handle(net.now, &nak, SERVER),
        Some(Event::Nak { lost: Some(lease) })
    );
    assert_eq!(net.client.state(), ClientState::Selecting);
    assert_eq!(net.client.poll_at(), Some(net.now));
}

#[test]
fn nak_while_requesting_restarts() {
    let mut c = DhcpClient::new(ClientConfig::new(MAC, 10), Instant::ZERO);
    let mut buf = [0u8; 600];
    let tx = c.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let net = Net::new(ClientConfig::new(MAC, 10));
    let offer = reply(
        &net,
        MessageType::Offer,
        Ipv4Addr::new(192, 168, 7, 60),
        &buf[..tx.len],
    );
    assert!(c.handle(Instant::ZERO, &offer, SERVER).is_none());
    assert_eq!(c.state(), ClientState::Requesting);
    let tx = c.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let m = DhcpRepr::parse_bytes(&buf[..tx.len]).unwrap();
    assert_eq!(
        (m.server_id, m.requested_ip),
        (Some(SERVER), Some(Ipv4Addr::new(192, 168, 7, 60)))
    );
    // An ACK for another address is ignored; a NAK restarts.
    let ack = reply(
        &net,
        MessageType::Ack,
        Ipv4Addr::new(192, 168, 7, 61),
        &buf[..tx.len],
    );
    assert!(c.handle(Instant::ZERO, &ack, SERVER).is_none());
    let nak = reply(
        &net,
        MessageType::Nak,
        Ipv4Addr::UNSPECIFIED,
        &buf[..tx.len],
    );
    assert_eq!(
        c.handle(Instant::ZERO, &nak, SERVER),
        Some(Event::Nak { lost: None })
    );
    assert_eq!(c.state(), ClientState::Selecting);
}

#[test]
fn arp_conflict_declines_and_waits_10_s() {
    let mut net = Net::new(ClientConfig::new(MAC, 11));
    net.step();
    assert_eq!(net.client.state(), ClientState::Probing);
    net.now = net.client.poll_at().unwrap();
    let probe = net.client.poll_arp_probe(net.now).unwrap();
    // Another address: no effect; the probed one: DECLINE.
    assert!(
        net.client
            .arp_conflict(net.now, Ipv4Addr::new(192, 168, 7, 51))
            .is_none()
    );
    assert_eq!(
        net.client.arp_conflict(net.now, probe.addr),
        Some(Event::Declined(probe.addr))
    );
    assert_eq!(net.client.state(), ClientState::Init);
    let t = net.now;
    net.sent.clear();
    net.step();
    let (_, tx, kind) = net.sent[0];
    assert_eq!(
        (kind, tx.src, tx.dst),
        (
            MessageType::Decline,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST
        )
    );
    assert_eq!(net.sent.len(), 1);
    assert_eq!(net.client.poll_at(), Some(t + Duration::from_secs(10)));
    // The server keeps the declined address out: the next DORA gets another one.
    net.run_until(t + Duration::from_secs(10));
    assert_eq!(net.sent[1].2, MessageType::Discover);
    net.run_until(t + Duration::from_secs(20));
    assert_eq!(
        net.client.lease().unwrap().addr,
        Ipv4Addr::new(192, 168, 7, 51)
    );
}

#[test]
fn release_unicasts_and_stops() {
    let (mut net, lease) = bound_net(12);
    assert_eq!(net.client.release(net.now), Some(lease));
    let mut buf = [0u8; 600];
    let tx = net.client.poll_transmit(net.now, &mut buf).unwrap();
    let m = DhcpRepr::parse_bytes(&buf[..tx.len]).unwrap();
    assert_eq!(
        (m.message_type, m.ciaddr, m.server_id),
        (MessageType::Release, lease.addr, Some(SERVER))
    );
    assert_eq!((tx.src, tx.dst), (lease.addr, SERVER));
    let mut out = [0u8; 600];
    assert!(
        net.server
            .handle(net.now, &buf[..tx.len], &mut out)
            .is_none()
    );
    assert_eq!(net.server.bindings(net.now).count(), 0);
    assert!(net.client.poll_transmit(net.now, &mut buf).is_none());
    assert_eq!(net.client.poll_at(), None);
    assert_eq!(net.client.state(), ClientState::Released);
    assert!(net.client.release(net.now).is_none());
}

#[test]
fn garbage_is_ignored() {
    let mut c = DhcpClient::new(ClientConfig::new(MAC, 13), Instant::ZERO);
    assert!(c.handle(Instant::ZERO, &[0u8; 300], SERVER).is_none());
    assert!(c.handle(Instant::ZERO, &[], SERVER).is_none());
    assert_eq!(c.state(), ClientState::Selecting);
    assert!(
        c.poll_transmit(Instant::ZERO, &mut [0u8; 100]).is_none(),
        "short buffer"
    );
}
