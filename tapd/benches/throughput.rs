//! Frames per second through tapd, between the kernel behind the TAP device and HTTP clients,
//! both directions, single-frame requests and batched ones with long-poll.
//!
//! ```sh
//! sudo cargo bench -p tapd --bench throughput            # 3 s per case
//! sudo BENCH_SECS=10 cargo bench -p tapd --bench throughput
//! sudo BENCH_ONLY=batched cargo bench -p tapd --bench throughput   # cases named so
//! ```
//!
//! Everything runs in a private network namespace the benchmark creates and removes: the
//! daemon (release build), its clients on the namespace's loopback, and the kernel side: UDP
//! datagrams sent to a neighbour with a static ARP entry (so every one leaves through the
//! TAP), and, the other way, UDP datagrams addressed to the TAP's own address and a socket
//! bound there. Frames are 60 bytes (the Ethernet minimum). Client CPU is on the same 2 cores
//! and counted in: the client encodes and decodes base64 like a real one.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;

/// One measured case.
struct Case {
    name: &'static str,
    conns: usize,
    batch: usize,
}

/// A result line.
struct Outcome {
    rate: f64,
    detail: String,
}

/// CPU time (user + system, all threads) of a process so far, in seconds.
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// The kernel's receive-packet count of an interface in the calling thread's namespace.
fn kernel_rx_packets(dev: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{dev}:")))
        .expect("device in /proc/net/dev");
    let fields: Vec<&str> = line.split(':').nth(1).unwrap().split_whitespace().collect();
    fields[1].parse().unwrap()
}

/// The kernel's transmit-drop count of an interface (frames the TAP's queue had no room for).
fn kernel_tx_dropped(dev: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{dev}:")))
        .expect("device in /proc/net/dev");
    let fields: Vec<&str> = line.split(':').nth(1).unwrap().split_whitespace().collect();
    fields[11].parse().unwrap()
}

/// A 60-byte frame: UDP from the peer to the TAP's address, port 9999.
fn udp_frame(tap_mac: [u8; 6], i: u16) -> Vec<u8> {
    let mut udp = Vec::new();
    udp.extend_from_slice(&(40000 + i % 1000).to_be_bytes());
    udp.extend_from_slice(&9999u16.to_be_bytes());
    udp.extend_from_slice(&26u16.to_be_bytes());
    udp.extend_from_slice(&0u16.to_be_bytes()); // no checksum (allowed over IPv4)
    udp.extend_from_slice(b"tapd bench 0123..");
    udp.push(b'.');
    ipv4(tap_mac, PEER_MAC, PEER_IP, TAP_IP, 17, &udp)
}

/// Clients POST frames to /send for `secs`; the kernel counts what it receives.
fn to_kernel(case: &Case, tap_mac: [u8; 6], secs: f64) -> Outcome {
    let frames: Vec<Vec<u8>> = (0..case.batch as u16)
        .map(|i| udp_frame(tap_mac, i))
        .collect();
    assert_eq!(frames[0].len(), 60);
    let body = if case.batch == 1 {
        format!("\"{}\"", STANDARD.encode(&frames[0]))
    } else {
        json_array(&frames)
    };
    let body = Arc::new(body.into_bytes());
    let mut stats = Http::new(LISTEN.parse().unwrap());
    let tapd_before = stats.stat("frames_to_tap");
    let kernel_before = kernel_rx_packets(DEV);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..case.conns)
        .map(|_| {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut http = Http::new(LISTEN.parse().unwrap());
                let mut requests = 0u64;
                while Instant::now() < deadline {
                    let r = http.request("POST", "/send", &body).unwrap();
                    assert_eq!(r.status, 200, "{}", r.text());
                    requests += 1;
                }
                requests
            })
        })
        .collect();
    let requests: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let elapsed = t0.elapsed().as_secs_f64();
    let tapd = stats.stat("frames_to_tap") - tapd_before;
    let kernel = kernel_rx_packets(DEV) - kernel_before;
    assert_eq!(tapd, requests * case.batch as u64);
    Outcome {
        rate: kernel as f64 / elapsed,
        detail: format!(
            "{requests} requests, tapd wrote {tapd}, kernel received {kernel} in {elapsed:.2} s"
        ),
    }
}

/// How far the kernel-side sender may run ahead of what clients have received: enough to keep
/// tapd's queue from running dry, less than the TAP's queue and tapd's so neither drops.
const WINDOW: u64 = 16_384;

/// What makes the kernel put frames on the TAP.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// UDP datagrams from a socket to the neighbour: the kernel's whole IPv4/UDP transmit path.
    Udp,
    /// The same 60-byte frames through an AF_PACKET socket bound to the TAP (qdisc bypassed):
    /// the cheapest way the kernel puts a frame on the device, so more of the 2 cores is left
    /// for tapd and its clients.
    Packet,
}

/// An AF_PACKET socket bound to `dev` for sending only.
fn packet_socket(dev: &str) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    let ifindex = nix::net::if_::if_nametoindex(dev).unwrap();
    // SAFETY: socket(2), setsockopt(2) and bind(2) with valid, initialised arguments of the
    // sizes given; the new descriptor is owned by the OwnedFd from here on.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        assert!(
            fd >= 0,
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        );
        let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
        let one: libc::c_int = 1;
        let r = libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "PACKET_QDISC_BYPASS");
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        let r = libc::bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
        fd
    }
}

/// A sender makes the kernel put frames on the TAP (see [`Source`]), 64 per system call,
/// staying at most [`WINDOW`] frames ahead of the clients, which GET /recv for `secs`.
fn from_kernel(case: &Case, source: Source, tap_mac: [u8; 6], secs: f64) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let sender = {
        let (stop, sent, received) = (stop.clone(), sent.clone(), received.clone());
        std::thread::spawn(move || {
            use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrIn, sendmmsg};
            use std::io::IoSlice;
            use std::os::fd::AsRawFd;
            const BURST: usize = 64;
            let udp = UdpSocket::bind("0.0.0.0:0").unwrap();
            udp.connect((PEER_IP, 9)).unwrap();
            let packet = packet_socket(DEV);
            let payload = *b"tapd bench 0123...";
            // The frame the kernel makes of that datagram, for the AF_PACKET source.
            let mut frame = udp_frame(tap_mac, 0);
            frame[0..6].copy_from_slice(&PEER_MAC);
            frame[6..12].copy_from_slice(&tap_mac);
            let (fd, bytes) = match source {
                Source::Udp => (udp.as_raw_fd(), &payload[..]),
                Source::Packet => (packet.as_raw_fd(), &frame[..]),
            };
            let iovs: Vec<[IoSlice; 1]> = (0..BURST).map(|_| [IoSlice::new(bytes)]).collect();
            let addrs: Vec<Option<SockaddrIn>> = vec![None; BURST];
            let mut headers = MultiHeaders::<SockaddrIn>::preallocate(BURST, None);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if n >= received.load(Ordering::Relaxed) + WINDOW {
                    std::thread::sleep(Duration::from_micros(100));
                    continue;
                }
                let cmsgs: [ControlMessage; 0] = [];
                let sent_now = sendmmsg(fd, &mut headers, &iovs, &addrs, cmsgs, MsgFlags::empty())
                    .map(|r| r.count())
                    .unwrap_or(0);
                n += sent_now as u64;
                sent.store(n, Ordering::Relaxed);
            }
        })
    };
    // Let the queue fill and the sender reach its pace before measuring.
    std::thread::sleep(Duration::from_millis(300));
    let mut stats = Http::new(LISTEN.parse().unwrap());
    let before = stats.stats();
    let kernel_dropped = kernel_tx_dropped(DEV);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(secs);
    let path = if case.batch == 1 {
        "/recv?wait_ms=1000".to_string()
    } else {
        format!("/recv?max={}&wait_ms=1000", case.batch)
    };
    let workers: Vec<_> = (0..case.conns)
        .map(|_| {
            let path = path.clone();
            let received = received.clone();
            std::thread::spawn(move || {
                let mut http = Http::new(LISTEN.parse().unwrap());
                let (mut frames, mut bytes, mut requests) = (0u64, 0u64, 0u64);
                let mut buf = Vec::with_capacity(2048);
                while Instant::now() < deadline {
                    let r = http.request("GET", &path, b"").unwrap();
                    assert_eq!(r.status, 200);
                    requests += 1;
                    let mut got = 0;
                    // Decode like a client would: each quoted string is base64 of a frame.
                    let mut rest = &r.body[..];
                    while let Some(open) = rest.iter().position(|&b| b == b'"') {
                        let len = rest[open + 1..].iter().position(|&b| b == b'"').unwrap();
                        let b64 = &rest[open + 1..open + 1 + len];
                        rest = &rest[open + len + 2..];
                        if b64.is_empty() {
                            continue;
                        }
                        buf.clear();
                        STANDARD.decode_vec(b64, &mut buf).unwrap();
                        got += 1;
                        bytes += buf.len() as u64;
                    }
                    frames += got;
                    received.fetch_add(got, Ordering::Relaxed);
                }
                (frames, bytes, requests)
            })
        })
        .collect();
    let (mut frames, mut bytes, mut requests) = (0, 0, 0);
    for w in workers {
        let (f, b, r) = w.join().unwrap();
        frames += f;
        bytes += b;
        requests += r;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let after = stats.stats();
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    let delta = |k: &str| after[k].as_u64().unwrap() - before[k].as_u64().unwrap();
    Outcome {
        rate: frames as f64 / elapsed,
        detail: format!(
            "{requests} requests, {frames} frames ({:.0} B avg) to clients; tapd read {} \
             and dropped {} (queue full), the kernel dropped {} in {elapsed:.2} s; sender sent {} in all",
            bytes as f64 / frames.max(1) as f64,
            delta("frames_from_tap"),
            delta("queue_dropped"),
            kernel_tx_dropped(DEV) - kernel_dropped,
            sent.load(Ordering::Relaxed),
        ),
    }
}

fn main() {
    require_root();
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let ns = Netns::new("bench");
    ns.run(move || {
        let tapd = Tapd::start(&["--queue", "65536"]);
        let tapd_pid = tapd.pid.to_string();
        static_peer_neighbour();
        // Room for the whole sender window in the TAP's own queue (500 frames by default), so
        // the kernel never drops a frame tapd has not had the chance to read.
        sh(Command::new("ip").args(["link", "set", "dev", DEV, "txqueuelen", "20000"]));
        // The datagrams sent to the TAP's address land here (never read: the kernel still
        // runs them through IP and UDP, then drops them at the full socket).
        let _sink = UdpSocket::bind((TAP_IP, 9999)).unwrap();
        let tap_mac = mac_of(DEV);
        println!(
            "tapd throughput: 60-byte frames, {} CPUs, {secs} s per case, build {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        );
        println!(
            "{:<36} {:>5} {:>6} {:>10} {:>6} {:>6}",
            "case", "conns", "batch", "frames/s", "tapd", "bench"
        );
        use Source::{Packet, Udp};
        let cases = [
            ("client -> kernel, single", 1, 1, None),
            ("client -> kernel, single", 2, 1, None),
            ("client -> kernel, single", 4, 1, None),
            ("kernel -> client, single", 1, 1, Some(Packet)),
            ("kernel -> client, single", 2, 1, Some(Packet)),
            ("kernel -> client, single", 4, 1, Some(Packet)),
            ("client -> kernel, batched", 1, 1024, None),
            ("client -> kernel, batched", 2, 1024, None),
            ("kernel -> client, batched+poll", 1, 1024, Some(Packet)),
            ("kernel -> client, batched+poll", 2, 1024, Some(Packet)),
            ("kernel(udp) -> client, batched+poll", 1, 1024, Some(Udp)),
            ("kernel(udp) -> client, batched+poll", 2, 1024, Some(Udp)),
        ];
        // BENCH_ONLY=text runs only the cases whose name contains it.
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        for (name, conns, batch, source) in cases {
            if !name.contains(only.as_str()) {
                continue;
            }
            let case = Case { name, conns, batch };
            let cpu0 = (cpu_secs(&tapd_pid), cpu_secs("self"), Instant::now());
            let out = match source {
                None => to_kernel(&case, tap_mac, secs),
                Some(source) => from_kernel(&case, source, tap_mac, secs),
            };
            let wall = cpu0.2.elapsed().as_secs_f64();
            let tapd_cpu = (cpu_secs(&tapd_pid) - cpu0.0) / wall * 100.0;
            let bench_cpu = (cpu_secs("self") - cpu0.1) / wall * 100.0;
            println!(
                "{:<36} {:>5} {:>6} {:>10.0} {:>5.0}% {:>5.0}%   ({})",
                case.name, case.conns, case.batch, out.rate, tapd_cpu, bench_cpu, out.detail
            );
            // Let the queue from one case drain so it does not count in the next.
            let mut http = Http::new(LISTEN.parse().unwrap());
            while !http.recv_frames(4096, 0).is_empty() {}
        }
    });
}
