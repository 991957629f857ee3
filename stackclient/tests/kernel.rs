//! The userspace stack against the Linux kernel through a TAP device, inside a network
//! namespace each test creates and removes (needs root: the tests fail, not skip, without
//! it). The kernel side is 10.77.0.1/24 on `sct0`; our stack is 10.77.0.2/24 with its own
//! MAC. Peers on the kernel side are `ping` and small Python programs run in the namespace.

mod netns;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use proto_core::stack::Config;
use proto_core::wire::EthernetAddress;
use sha2::{Digest, Sha256};
use stackclient::link::tap::TapLink;
use stackclient::runtime::{Stack, StackConfig, TcpListener, TcpStream, UdpSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEV: &str = "sct0";
const KERNEL: &str = "10.77.0.1";
const US: &str = "10.77.0.2";
const BULK: usize = 64 << 20;
const LIMIT: Duration = Duration::from_secs(120);

/// Runs a command to completion; panics with its output when it fails.
fn sh(cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace of our own, removed on drop (also when the test panics), with every
/// process left in it killed first.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Self {
        Self {
            name: netns::create("sc", tag),
        }
    }

    /// Creates the TAP device from a thread inside the namespace, gives the kernel side its
    /// address, starts our stack on it, and runs `f` on a 2-worker runtime there. The
    /// runtime and the device are gone when this returns.
    fn with_stack<F, Fut>(&self, f: F)
    where
        F: FnOnce(NsHandle, Stack) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let name = self.name.clone();
        let thread = std::thread::spawn(move || {
            netns::enter(&name);
            // Worker threads are created from this one, so they live in the namespace too.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let link = TapLink::open(DEV).unwrap();
                let h = NsHandle { name };
                h.exec(&["ip", "addr", "add", &format!("{KERNEL}/24"), "dev", DEV]);
                let cfg = Config::new(EthernetAddress([2, 0, 0, 0x77, 0, 2]))
                    .with_ipv4(format!("{US}/24").parse().unwrap(), None);
                let (stack, driver) = Stack::new(StackConfig::new(cfg), link);
                tokio::time::timeout(LIMIT, f(h, stack))
                    .await
                    .expect("the test did not finish in time");
                // Every stack handle is gone: the driver ends cleanly.
                driver.await.unwrap().unwrap();
            });
        });
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        netns::remove(&self.name);
    }
}

/// The namespace's name, for running commands in it from the test's tasks.
#[derive(Clone)]
struct NsHandle {
    name: String,
}

impl NsHandle {
    fn exec(&self, args: &[&str]) -> String {
        sh(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args))
    }

    /// Runs a Python program in the namespace on a blocking thread; returns its stdout.
    async fn python(&self, code: &'static str, args: Vec<String>) -> String {
        let h = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut a = vec!["python3", "-c", code];
            a.extend(args.iter().map(String::as_str));
            h.exec(&a)
        })
        .await
        .unwrap()
    }
}

fn addr(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), port)
}

/// 64 MiB from a seeded generator (xorshift64*); the peer checks them by their SHA-256.
fn bulk_data(seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(BULK);
    while v.len() < BULK {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_kernel_pings_us() {
    let ns = Netns::new("ping");
    ns.with_stack(|h, stack| async move {
        let out = tokio::task::spawn_blocking(move || {
            h.exec(&["ping", "-c", "3", "-i", "0.2", "-W", "2", US])
        })
        .await
        .unwrap();
        assert!(out.contains("3 received"), "{out}");
        assert_eq!(stack.stats().echo_replies, 3);
    });
}

/// Kernel client -> our UDP echo server, then our client -> a kernel echo server.
#[test]
fn udp_echo_both_ways() {
    let ns = Netns::new("udp");
    ns.with_stack(|h, stack| async move {
        let server = UdpSocket::bind(&stack, addr(US, 7)).unwrap();
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            for _ in 0..3 {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let out = h
            .python(
                r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(3):
    msg = b"kernel to userspace %d" % i
    s.sendto(msg, (sys.argv[1], 7))
    data, src = s.recvfrom(2048)
    assert data == msg and src == (sys.argv[1], 7), (data, src)
print("ok")
"#,
                vec![US.into()],
            )
            .await;
        assert_eq!(out.trim(), "ok");
        echo.await.unwrap();

        // A kernel echo server; it signals readiness by printing a line.
        let name = h.name.clone();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &name, "python3", "-c"])
            .arg(
                r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7007))
print("ready", flush=True)
for i in range(3):
    data, src = s.recvfrom(2048)
    s.sendto(data, src)
"#,
            )
            .arg(KERNEL)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        tokio::task::spawn_blocking(move || {
            let mut b = [0u8; 6];
            std::io::Read::read_exact(&mut stdout, &mut b).unwrap();
        })
        .await
        .unwrap();
        let client = UdpSocket::bind(&stack, addr(US, 0)).unwrap();
        let mut buf = [0u8; 2048];
        for i in 0..3u8 {
            let msg = [b'u', b's', i];
            client.send_to(&msg, addr(KERNEL, 7007)).await.unwrap();
            let (n, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&msg[..], addr(KERNEL, 7007)));
        }
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success());
    });
}

/// The kernel sends a 4000-byte datagram (fragmented by the kernel at MTU 1500); we
/// reassemble it, echo it (fragmenting it ourselves), and the kernel reassembles ours.
#[test]
fn a_kernel_datagram_larger_than_the_mtu_is_reassembled() {
    let ns = Netns::new("frag");
    ns.with_stack(|h, stack| async move {
        let server = UdpSocket::bind(&stack, addr(US, 7)).unwrap();
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 8192];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            server.send_to(&buf[..n], from).await.unwrap();
            n
        });
        let out = h
            .python(
                r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
msg = bytes((i * 7 + i // 251) % 256 for i in range(4000))
s.sendto(msg, (sys.argv[1], 7))
data, src = s.recvfrom(8192)
assert data == msg, len(data)
print("ok")
"#,
                vec![US.into()],
            )
            .await;
        assert_eq!(out.trim(), "ok");
        assert_eq!(echo.await.unwrap(), 4000);
        let st = stack.stats();
        assert!(st.frag_reassembled >= 1 && st.frag_sent >= 3, "{st:?}");
    });
}

/// A kernel client sends 64 MiB to our server; both sides hash; our server answers with
/// its digest and closes.
#[test]
fn tcp_kernel_client_to_our_server_64mib() {
    let ns = Netns::new("tcpin");
    ns.with_stack(|h, stack| async move {
        let listener = TcpListener::bind(&stack, addr(US, 5001), 16).unwrap();
        let server = tokio::spawn(async move {
            let (mut s, peer) = listener.accept().await.unwrap();
            assert_eq!(peer.ip().to_string(), KERNEL);
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0usize;
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                total += n;
            }
            let digest = hex(&hasher.finalize());
            s.write_all(digest.as_bytes()).await.unwrap();
            s.shutdown().await.unwrap();
            (total, digest)
        });
        let out = h
            .python(
                r#"
import hashlib, random, socket, sys
data = random.Random(5001).randbytes(64 << 20)
s = socket.create_connection((sys.argv[1], 5001), timeout=60)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
reply = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    reply += chunk
digest = hashlib.sha256(data).hexdigest()
assert reply.decode() == digest, (reply, digest)
print(digest)
"#,
                vec![US.into()],
            )
            .await;
        let (total, digest) = server.await.unwrap();
        assert_eq!(total, BULK);
        assert_eq!(out.trim(), digest);
    });
}

/// Our client sends 64 MiB to a kernel server, which hashes them and sends 64 MiB back
/// (its own seeded bytes) with their digest checked here.
#[test]
fn tcp_our_client_to_a_kernel_server_64mib() {
    let ns = Netns::new("tcpout");
    ns.with_stack(|h, stack| async move {
        let name = h.name.clone();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &name, "python3", "-c"])
            .arg(
                r#"
import hashlib, socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], 6001))
ls.listen(1)
print("ready", flush=True)
c, _ = ls.accept()
h = hashlib.sha256()
total = 0
while True:
    chunk = c.recv(1 << 20)
    if not chunk:
        break
    h.update(chunk)
    total += len(chunk)
back = hashlib.sha256(b"back").digest() * (2 << 20)
c.sendall(back)
c.close()
print(total, h.hexdigest(), hashlib.sha256(back).hexdigest(), flush=True)
"#,
            )
            .arg(KERNEL)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut stdout = tokio::task::spawn_blocking(move || {
            let mut b = [0u8; 6];
            std::io::Read::read_exact(&mut stdout, &mut b).unwrap();
            stdout
        })
        .await
        .unwrap();
        let data = bulk_data(6001);
        let sent_digest = hex(&Sha256::digest(&data));
        let s = TcpStream::connect(&stack, addr(KERNEL, 6001))
            .await
            .unwrap();
        let (mut rd, mut wr) = tokio::io::split(s);
        let writer = tokio::spawn(async move {
            wr.write_all(&data).await.unwrap();
            wr.shutdown().await.unwrap();
            wr
        });
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        loop {
            let n = rd.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            total += n;
        }
        let _wr = writer.await.unwrap();
        let got_digest = hex(&hasher.finalize());
        let report = tokio::task::spawn_blocking(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
            assert!(child.wait().unwrap().success());
            s
        })
        .await
        .unwrap();
        let fields: Vec<&str> = report.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "{report}");
        assert_eq!(fields[0], BULK.to_string(), "bytes the kernel received");
        assert_eq!(fields[1], sent_digest, "digest of what the kernel received");
        assert_eq!(total, BULK, "bytes we received");
        assert_eq!(fields[2], got_digest, "digest of what we received");
    });
}
