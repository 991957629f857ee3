//! Bulk TCP through the whole runtime: two `Stack`s over an in-memory pipe on one tokio
//! current-thread runtime, a `TcpStream` writer sending `BENCH_MIB` MiB (default 256) and a
//! reader verifying a pattern; MB/s. Beside it in the same run: smoltcp 0.14 (CUBIC, 256 KiB
//! buffers, MTU 1500, checksums computed and verified) driven by a comparable async loop over
//! the same pipe link: one task per smoltcp interface that waits on the link or
//! `poll_delay`, polls, runs its application (write or read-and-verify the pattern in
//! place), and sends its frames as one batch.
//!
//! The difference in shape: our application is a separate task using `AsyncRead`/
//! `AsyncWrite` (locks, wakers, a copy through the tokio buffer); smoltcp's application runs
//! inline in its driver loop with zero-copy socket access. So the ratio includes the cost of
//! the tokio socket layer.
//!
//! `cargo bench -p stackclient --bench runtime_bulk` (`BENCH_MIB=64` for a quick run).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant as StdInstant};

use proto_core::stack::Config;
use proto_core::wire::EthernetAddress;
use stackclient::link::pipe::{self, PipeLink};
use stackclient::link::{FrameBatch, Link};
use stackclient::runtime::{Stack, StackConfig, TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The pattern repeats with this (prime) period.
const PERIOD: usize = 65_521;
/// Largest piece written or read at once.
const CHUNK: usize = 64 * 1024;

/// The pattern, one period plus one chunk, so any window of up to `CHUNK` bytes from any
/// offset is one contiguous slice.
fn table() -> &'static [u8] {
    static T: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        (0..(PERIOD + CHUNK) as u64)
            .map(|i| {
                let x = i % PERIOD as u64;
                (x.wrapping_mul(7).wrapping_add(x / 251)) as u8
            })
            .collect()
    })
}

fn window(offset: u64, len: usize) -> &'static [u8] {
    let at = (offset % PERIOD as u64) as usize;
    &table()[at..at + len.min(CHUNK)]
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

async fn ours(total: u64) -> Duration {
    let (la, lb) = pipe::pair(1024);
    let cfg = |mac: u8, ip: &str| {
        StackConfig::new(
            Config::new(EthernetAddress([2, 0, 0, 0, 0, mac]))
                .with_ipv4(ip.parse().unwrap(), None)
                .with_seed(u64::from(mac)),
        )
    };
    let (a, _) = Stack::new(cfg(1, "10.0.0.1/24"), la);
    let (b, _) = Stack::new(cfg(2, "10.0.0.2/24"), lb);
    let server: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    let listener = TcpListener::bind(&b, server, 16).unwrap();
    let start = StdInstant::now();
    let reader = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut off = 0u64;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(
                buf[..n] == *window(off, n),
                "pattern mismatch near byte {off}"
            );
            off += n as u64;
        }
        off
    });
    let mut s = TcpStream::connect(&a, server).await.unwrap();
    let mut off = 0u64;
    while off < total {
        let n = (total - off).min(CHUNK as u64) as usize;
        let w = s.write(window(off, n)).await.unwrap();
        off += w as u64;
    }
    s.shutdown().await.unwrap();
    let got = reader.await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(got, total);
    elapsed
}

mod smol {
    //! smoltcp 0.14 endpoints, each driven by its own task over a `PipeLink`.

    use super::*;
    use smoltcp::iface::{Config as SConfig, Interface, SocketSet};
    use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
    use smoltcp::socket::tcp;
    use smoltcp::time::Instant as SInstant;
    use smoltcp::wire::{EthernetAddress as SMac, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

    /// A `phy::Device` over two frame queues with recycled buffers.
    #[derive(Default)]
    struct Queues {
        rx: VecDeque<Vec<u8>>,
        tx: FrameBatch,
        free: Vec<Vec<u8>>,
    }

    struct Rx<'a> {
        buf: Vec<u8>,
        free: &'a mut Vec<Vec<u8>>,
    }

    impl phy::RxToken for Rx<'_> {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            let r = f(&self.buf);
            self.free.push(self.buf);
            r
        }
    }

    struct Tx<'a> {
        tx: &'a mut FrameBatch,
    }

    impl phy::TxToken for Tx<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut r = None;
            self.tx.push_with(len, |buf| {
                r = Some(f(buf));
                len
            });
            r.expect("push_with calls f")
        }
    }

    impl Device for Queues {
        type RxToken<'a> = Rx<'a>;
        type TxToken<'a> = Tx<'a>;

        fn receive(&mut self, _: SInstant) -> Option<(Rx<'_>, Tx<'_>)> {
            let buf = self.rx.pop_front()?;
            Some((
                Rx {
                    buf,
                    free: &mut self.free,
                },
                Tx { tx: &mut self.tx },
            ))
        }

        fn transmit(&mut self, _: SInstant) -> Option<Tx<'_>> {
            Some(Tx { tx: &mut self.tx })
        }

        fn capabilities(&self) -> DeviceCapabilities {
            let mut caps = DeviceCapabilities::default();
            caps.medium = Medium::Ethernet;
            caps.max_transmission_unit = 1514;
            caps
        }
    }

    enum Role {
        Writer { total: u64, written: u64 },
        Reader { verified: u64 },
    }

    /// Runs one endpoint until its application is done; returns the bytes it moved.
    async fn endpoint(mut link: PipeLink, ip: Ipv4Address, mac: u8, mut role: Role) -> u64 {
        let start = tokio::time::Instant::now();
        let now = || SInstant::from_micros(start.elapsed().as_micros() as i64);
        let mut dev = Queues::default();
        let mut config = SConfig::new(HardwareAddress::Ethernet(SMac([2, 0, 0, 0, 0, mac])));
        config.random_seed = u64::from(mac);
        let mut iface = Interface::new(config, &mut dev, now());
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(ip), 24)).unwrap();
        });
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 256 * 1024]),
            tcp::SocketBuffer::new(vec![0; 256 * 1024]),
        );
        socket.set_congestion_control(tcp::CongestionControl::Cubic);
        let mut sockets = SocketSet::new(Vec::new());
        let h = sockets.add(socket);
        match role {
            Role::Writer { .. } => {
                let s = sockets.get_mut::<tcp::Socket>(h);
                s.connect(
                    iface.context(),
                    (IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, 2)), 5000),
                    49152,
                )
                .unwrap();
            }
            Role::Reader { .. } => sockets.get_mut::<tcp::Socket>(h).listen(5000).unwrap(),
        }
        let mut rx = FrameBatch::new();
        loop {
            for f in rx.iter() {
                let mut b = dev.free.pop().unwrap_or_default();
                b.clear();
                b.extend_from_slice(f);
                dev.rx.push_back(b);
            }
            rx.clear();
            // Poll and run the application until neither has anything more to do.
            loop {
                iface.poll(now(), &mut dev, &mut sockets);
                let s = sockets.get_mut::<tcp::Socket>(h);
                let progressed = match &mut role {
                    Role::Writer { total, written } => {
                        let before = *written;
                        while *written < *total && s.can_send() {
                            let left = *total - *written;
                            let n = s
                                .send(|buf| {
                                    let n = buf.len().min(left as usize).min(CHUNK);
                                    buf[..n].copy_from_slice(window(*written, n));
                                    (n, n)
                                })
                                .unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            *written += n as u64;
                        }
                        if *written == *total && s.may_send() {
                            s.close();
                        }
                        if matches!(
                            s.state(),
                            tcp::State::FinWait2 | tcp::State::TimeWait | tcp::State::Closed
                        ) {
                            link.send_batch(&dev.tx).await.unwrap();
                            return *written;
                        }
                        *written != before
                    }
                    Role::Reader { verified } => {
                        let before = *verified;
                        loop {
                            let v = *verified;
                            match s.recv(|buf| {
                                let n = buf.len().min(CHUNK);
                                assert!(buf[..n] == *window(v, n), "smoltcp: pattern mismatch");
                                (n, n)
                            }) {
                                Ok(0) => break,
                                Ok(n) => *verified += n as u64,
                                Err(tcp::RecvError::Finished) => {
                                    s.close();
                                    iface.poll(now(), &mut dev, &mut sockets);
                                    link.send_batch(&dev.tx).await.unwrap();
                                    return *verified;
                                }
                                Err(_) => break,
                            }
                        }
                        *verified != before
                    }
                };
                if !progressed {
                    break;
                }
            }
            if !dev.tx.is_empty() {
                link.send_batch(&dev.tx).await.unwrap();
                dev.tx.clear();
            }
            let delay = iface
                .poll_delay(now(), &sockets)
                .map(|d| Duration::from_micros(d.total_micros()));
            tokio::select! {
                r = link.recv_batch(&mut rx) => r.unwrap(),
                _ = tokio::time::sleep(delay.unwrap_or(Duration::from_secs(3600))) => {}
            }
        }
    }

    pub async fn run(total: u64) -> Duration {
        let (la, lb) = pipe::pair(1024);
        let start = StdInstant::now();
        let reader = tokio::spawn(endpoint(
            lb,
            Ipv4Address::new(10, 0, 0, 2),
            2,
            Role::Reader { verified: 0 },
        ));
        let writer = tokio::spawn(endpoint(
            la,
            Ipv4Address::new(10, 0, 0, 1),
            1,
            Role::Writer { total, written: 0 },
        ));
        let got = reader.await.unwrap();
        let elapsed = start.elapsed();
        writer.abort();
        assert_eq!(got, total);
        elapsed
    }
}

fn main() {
    let mib: u64 = std::env::var("BENCH_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let total = mib << 20;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("bulk TCP, {mib} MiB over an in-memory pipe, one current-thread tokio runtime");
    let mut best = (0f64, 0f64);
    for round in 1..=3 {
        let d_ours = rt.block_on(ours(total));
        let d_smol = rt.block_on(smol::run(total));
        let (o, s) = (mbps(total, d_ours), mbps(total, d_smol));
        println!(
            "round {round}: ours (tokio streams) {o:8.1} MB/s   smoltcp 0.14 {s:8.1} MB/s   ratio {:.2}",
            o / s
        );
        best = (best.0.max(o), best.1.max(s));
    }
    println!(
        "best:    ours (tokio streams) {:8.1} MB/s   smoltcp 0.14 {:8.1} MB/s   ratio {:.2}",
        best.0,
        best.1,
        best.0 / best.1
    );
}
