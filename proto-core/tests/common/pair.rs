//! Two [`Interface`]s joined by an in-memory pipe on a simulated clock: every frame either
//! emits is parsed with `wire::Frame::parse` and its checksums verified before delivery.

use std::net::{Ipv4Addr, Ipv6Addr};

use proto_core::stack::{Capacities, Config, Interface, Segmentation, VecMemory};
use proto_core::time::Instant;
use proto_core::wire::{EthernetAddress, Frame, Ipv4Cidr};
use proto_core::wire::{IpAddrPair, Ipv4Packet, Ipv6Packet, TcpPacket};

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
    /// Frames larger than the MTU that were cut into segments on the way (TCP segmentation
    /// offload, when a side's config has `tso`), and the segments they made.
    pub segmented: (u64, u64),
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
            buf: vec![0; 14 + 65_535],
            cut_a: false,
            record: None,
            segmented: (0, 0),
        }
    }

    /// Moves frames both ways until neither has anything to send now; returns how many.
    /// A frame a side wrote larger than the MTU (segmentation offload) is cut into TCP
    /// segments as a TAP device would, each checked and delivered.
    pub fn pump(&mut self) -> u64 {
        let mut moved = 0;
        loop {
            let mut round = 0;
            for a_to_b in [true, false] {
                loop {
                    let (from, to) = if a_to_b {
                        (&mut self.a, &mut self.b)
                    } else {
                        (&mut self.b, &mut self.a)
                    };
                    let (n, seg) = from.egress_segmented(&mut self.buf, self.now);
                    if n == 0 {
                        break;
                    }
                    round += 1;
                    if a_to_b {
                        self.frames.0 += 1;
                    } else {
                        self.frames.1 += 1;
                    }
                    let frames = match seg {
                        Some(seg) => {
                            // Complete checksums before the cut too.
                            check(&self.buf[..n]);
                            let cut = segment(&self.buf[..n], seg);
                            assert!(cut.iter().all(|f| f.len() <= 1514), "a piece over the MTU");
                            self.segmented.0 += 1;
                            self.segmented.1 += cut.len() as u64;
                            cut
                        }
                        None => vec![self.buf[..n].to_vec()],
                    };
                    for f in frames {
                        check(&f);
                        if let Some(r) = &mut self.record {
                            r.push((self.now.micros(), f.clone()));
                        }
                        if !(a_to_b && self.cut_a) {
                            to.ingress(&f, self.now);
                        }
                    }
                }
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

/// Cuts a frame as a TAP device with GSO would (what `Segmentation` asks of a link): pieces
/// of `mss` payload bytes, each with a copy of the headers, its own sequence number, IP
/// length (and IPv4 identification), FIN and PSH only on the last, checksums recomputed.
pub fn segment(frame: &[u8], seg: Segmentation) -> Vec<Vec<u8>> {
    let h = usize::from(seg.header_len);
    let mss = usize::from(seg.mss);
    let payload = &frame[h..];
    assert!(
        payload.len() > mss,
        "a frame to cut holds more than one segment"
    );
    let l4 = if seg.ipv6 {
        14 + 40
    } else {
        14 + Ipv4Packet::new_checked(&frame[14..]).unwrap().header_len()
    };
    let first_seq = TcpPacket::new_checked(&frame[l4..]).unwrap().seq_number();
    let chunks: Vec<&[u8]> = payload.chunks(mss).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut f = frame[..h].to_vec();
            f.extend_from_slice(chunk);
            let ip_len = f.len() - 14;
            let addrs = if seg.ipv6 {
                let mut ip = Ipv6Packet::new_unchecked(&mut f[14..]);
                ip.set_payload_len((ip_len - 40) as u16);
                IpAddrPair::V6 {
                    src: ip.src_addr(),
                    dst: ip.dst_addr(),
                }
            } else {
                let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
                ip.set_total_len(ip_len as u16);
                let ident = ip.ident().wrapping_add(i as u16);
                ip.set_ident(ident);
                ip.fill_checksum();
                IpAddrPair::V4 {
                    src: ip.src_addr(),
                    dst: ip.dst_addr(),
                }
            };
            let mut tcp = TcpPacket::new_unchecked(&mut f[l4..]);
            tcp.set_seq_number(first_seq + i * mss);
            if i != last {
                tcp.set_fin(false);
                tcp.set_psh(false);
            }
            tcp.fill_checksum(&addrs);
            f
        })
        .collect()
}
