//! Two [`Interface`]s joined by an in-memory pipe on a simulated clock: every frame either
//! emits is parsed with `wire::Frame::parse` and its checksums verified before delivery.

use std::net::{Ipv4Addr, Ipv6Addr};

use proto_core::stack::{Capacities, Config, Interface, VecMemory};
use proto_core::time::Instant;
use proto_core::wire::{EthernetAddress, Frame, Ipv4Cidr};

/// A's and B's addresses.
pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const A_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0a]);
pub const B_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0b]);
pub const A_IP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0xa);
pub const B_IP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0xb);

/// An interface config for one side.
pub fn config(mac: EthernetAddress, ip: Ipv4Addr, ip6: Ipv6Addr, seed: u64) -> Config {
    Config::new(mac)
        .with_ipv4(Ipv4Cidr::new(ip, 24).unwrap(), None)
        .with_ipv6(ip6, 64)
        .with_seed(seed)
}

/// The pair.
pub struct Pair {
    pub a: Interface<VecMemory>,
    pub b: Interface<VecMemory>,
    pub now: Instant,
    /// Frames moved A to B and B to A.
    pub frames: (u64, u64),
    buf: Vec<u8>,
    /// Drop every frame from A (to test retries).
    pub cut_a: bool,
    /// When set, every frame moved is recorded here with its time in µs.
    pub record: Option<Vec<(u64, Vec<u8>)>>,
}

impl Pair {
    /// Two stacks with the given capacities.
    pub fn new(caps: &Capacities) -> Self {
        Self::with_configs(
            config(A_MAC, A_IP, A_IP6, 1),
            config(B_MAC, B_IP, B_IP6, 2),
            caps,
        )
    }

    /// Two stacks with these configs.
    pub fn with_configs(a: Config, b: Config, caps: &Capacities) -> Self {
        Self {
            a: Interface::new(a, VecMemory::new(caps)),
            b: Interface::new(b, VecMemory::new(caps)),
            now: Instant::ZERO,
            frames: (0, 0),
            buf: vec![0; 1514],
            cut_a: false,
            record: None,
        }
    }

    /// Moves frames both ways until neither has anything to send now; returns how many.
    pub fn pump(&mut self) -> u64 {
        let mut moved = 0;
        loop {
            let mut round = 0;
            loop {
                let n = self.a.egress(&mut self.buf, self.now);
                if n == 0 {
                    break;
                }
                check(&self.buf[..n]);
                if let Some(r) = &mut self.record {
                    r.push((self.now.micros(), self.buf[..n].to_vec()));
                }
                round += 1;
                self.frames.0 += 1;
                if !self.cut_a {
                    self.b.ingress(&self.buf[..n], self.now);
                }
            }
            loop {
                let n = self.b.egress(&mut self.buf, self.now);
                if n == 0 {
                    break;
                }
                check(&self.buf[..n]);
                if let Some(r) = &mut self.record {
                    r.push((self.now.micros(), self.buf[..n].to_vec()));
                }
                round += 1;
                self.frames.1 += 1;
                self.a.ingress(&self.buf[..n], self.now);
            }
            moved += round;
            if round == 0 {
                return moved;
            }
        }
    }

    /// Jumps the clock to the earliest deadline of either side (if later than now); false
    /// when neither has one.
    pub fn advance(&mut self) -> bool {
        let next = match (self.a.poll_at(), self.b.poll_at()) {
            (Some(x), Some(y)) => x.min(y),
            (x, y) => match x.or(y) {
                Some(t) => t,
                None => return false,
            },
        };
        if next > self.now {
            self.now = next;
        }
        true
    }
}

/// Every frame a stack emits must parse and carry right checksums.
pub fn check(frame: &[u8]) {
    let parsed =
        Frame::parse(frame).unwrap_or_else(|e| panic!("emitted frame does not parse: {e}"));
    parsed
        .verify_checksums()
        .unwrap_or_else(|e| panic!("emitted frame has a bad checksum: {e}"));
}
