//! Test support shared by the namespace tests and the benchmark (`#[path]`-included there):
//! a private network namespace per test, the `tapd` process inside it, a small blocking
//! keep-alive HTTP/1.1 client, and builders/decoders of the frames the tests exchange.
//!
//! Everything that touches the network happens on a thread that has entered the test's own
//! namespace ([`Netns::run`]), so sockets, child processes and addresses all live there.

#![allow(dead_code, missing_docs)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The path of the daemon under test.
pub fn tapd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tapd"))
}

/// The repository root (for scripts/).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Fails loudly unless we are root: these tests need namespaces and TAP devices, and CI runs
/// them as root. Skipping would hide that nothing was tested.
pub fn require_root() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this test creates network namespaces and TAP devices: run it as root (CI runs \
         scripts/test.sh as root)"
    );
}

/// Runs a command to completion, panicking with its output when it fails.
pub fn sh(cmd: &mut Command) -> String {
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

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

/// A network namespace of our own, removed on drop (also when the test panics).
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `tapd-<tag>-<pid>-<n>`, brings its loopback up and turns IPv6 off in it (so the
    /// kernel's own IPv6 chatter does not mix into the frames the tests look at).
    pub fn new(tag: &str) -> Self {
        require_root();
        let name = format!(
            "tapd-{tag}-{}-{}",
            std::process::id(),
            NEXT_NS.fetch_add(1, Ordering::Relaxed)
        );
        sh(Command::new("ip").args(["netns", "add", &name]));
        let ns = Self { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        for key in ["all", "default"] {
            ns.exec(&[
                "sysctl",
                "-q",
                "-w",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ]);
        }
        ns
    }

    /// Runs a command inside the namespace (from any thread), panicking if it fails.
    pub fn exec(&self, args: &[&str]) -> String {
        sh(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args))
    }

    /// Runs `f` on a new thread that has entered this namespace, and returns its result (a
    /// panic in `f` is re-raised here). Sockets and child processes made in `f` live in the
    /// namespace.
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let path = format!("/run/netns/{}", self.name);
        let handle = std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {path}: {e}"));
            f()
        });
        match handle.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes started inside go first, or `ip netns del` leaves the namespace alive.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A running `tapd`, killed on drop if still running. Start it from inside a namespace.
pub struct Tapd {
    pub child: Option<Child>,
    pub pid: i32,
    pub addr: SocketAddr,
    pub name: String,
    pub stderr_path: PathBuf,
}

/// The device name and HTTP address every test daemon uses (each in its own namespace).
pub const DEV: &str = "tapt0";
pub const LISTEN: &str = "127.0.0.1:7070";

impl Tapd {
    /// Starts `tapd --name tapt0 --listen 127.0.0.1:7070 <extra>` and waits until it answers
    /// `/healthz`. Must be called on a thread inside the test's namespace.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with(extra, None)
    }

    /// As [`Tapd::start`], with a bearer token in the environment.
    pub fn start_with(extra: &[&str], token: Option<&str>) -> Self {
        let stderr_path = std::env::temp_dir().join(format!(
            "tapd-test-{}-{}.log",
            std::process::id(),
            NEXT_NS.fetch_add(1, Ordering::Relaxed)
        ));
        let log = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new(tapd_bin());
        cmd.args(["--name", DEV]);
        if !extra.contains(&"--listen") {
            cmd.args(["--listen", LISTEN]);
        }
        cmd.args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(t) = token {
            cmd.env("TAPD_TOKEN", t);
        } else {
            cmd.env_remove("TAPD_TOKEN");
        }
        let child = cmd.spawn().expect("spawning tapd");
        let mut tapd = Tapd {
            pid: child.id() as i32,
            child: Some(child),
            addr: LISTEN.parse().unwrap(),
            name: DEV.to_string(),
            stderr_path,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = tapd.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("tapd exited early ({status}): {}", tapd.log());
            }
            let mut http = Http::new(tapd.addr);
            http.token = token.map(str::to_string);
            if let Ok(r) = http.request("GET", "/healthz", b"") {
                assert_eq!(r.status, 200, "healthz: {}", r.text());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "tapd did not come up: {}",
                tapd.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        tapd
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// A client for it.
    pub fn http(&self) -> Http {
        Http::new(self.addr)
    }

    /// Sends a signal.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), sig).unwrap();
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        let child = self.child.as_mut().expect("already waited");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tapd did not exit: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        proc_status_field(self.pid, "VmRSS")
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    }

    /// CPU time used so far (user + system), in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    }
}

impl Drop for Tapd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}

/// One line of /proc/PID/status, without its key.
pub fn proc_status_field(pid: i32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// True when an interface of this name exists in the calling thread's namespace.
pub fn link_exists(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok()
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `error` of a `{"error": ...}` body, asserting the shape.
    pub fn error(&self) -> String {
        let v = self.json();
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {v}"));
        assert_eq!(obj.len(), 1, "error body has other keys: {v}");
        obj["error"]
            .as_str()
            .expect("error is a string")
            .to_string()
    }
}

/// A blocking HTTP/1.1 client on one keep-alive connection (reconnecting when the server
/// closed it). Small on purpose: it is also the benchmark's client.
pub struct Http {
    pub addr: SocketAddr,
    pub token: Option<String>,
    conn: Option<BufReader<TcpStream>>,
    req: Vec<u8>,
}

impl Http {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            token: None,
            conn: None,
            req: Vec::with_capacity(4096),
        }
    }

    fn connect(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(90)))?;
            self.conn = Some(BufReader::with_capacity(256 * 1024, s));
        }
        Ok(self.conn.as_mut().unwrap())
    }

    /// `method path` with `body`.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<Resp> {
        self.request_with(method, path, &[], body)
    }

    /// `method path` with extra header lines (`"Name: value"`) and `body`.
    pub fn request_with(
        &mut self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: &[u8],
    ) -> io::Result<Resp> {
        let mut req = std::mem::take(&mut self.req);
        req.clear();
        write!(req, "{method} {path} HTTP/1.1\r\nHost: tapd\r\n")?;
        if let Some(t) = &self.token {
            write!(req, "Authorization: Bearer {t}\r\n")?;
        }
        for h in headers {
            write!(req, "{h}\r\n")?;
        }
        write!(req, "Content-Length: {}\r\n\r\n", body.len())?;
        req.extend_from_slice(body);
        let r = self.raw(&req);
        self.req = req;
        r
    }

    /// Sends raw request bytes and reads one response. A connection the server had closed
    /// while idle is reopened once.
    pub fn raw(&mut self, request: &[u8]) -> io::Result<Resp> {
        let reused = self.conn.is_some();
        match self.try_raw(request) {
            Err(e) if reused && is_stale(&e) => {
                self.conn = None;
                self.try_raw(request)
            }
            r => r,
        }
    }

    fn try_raw(&mut self, request: &[u8]) -> io::Result<Resp> {
        let conn = self.connect()?;
        let head = request.starts_with(b"HEAD ");
        let r = conn
            .get_mut()
            .write_all(request)
            .and_then(|()| read_response(conn, head));
        match &r {
            Ok(resp) if resp.header("connection").is_none_or(|v| v != "close") => {}
            _ => self.conn = None,
        }
        r
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, b"")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub fn stats(&mut self) -> serde_json::Value {
        let r = self.get("/stats");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    pub fn stat(&mut self, key: &str) -> u64 {
        self.stats()[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no {key}"))
    }

    /// `POST /send` of one frame as a JSON string.
    pub fn send_frame(&mut self, frame: &[u8]) {
        let body = format!("\"{}\"", STANDARD.encode(frame));
        let r = self.request("POST", "/send", body.as_bytes()).unwrap();
        assert_eq!((r.status, r.body.len()), (200, 0), "{}", r.text());
    }

    /// `POST /send` of frames as a JSON array.
    pub fn send_frames<F: AsRef<[u8]>>(&mut self, frames: &[F]) {
        let body = json_array(frames);
        let r = self.request("POST", "/send", body.as_bytes()).unwrap();
        assert_eq!((r.status, r.body.len()), (200, 0), "{}", r.text());
    }

    /// `GET /recv?max=N&wait_ms=T`.
    pub fn recv_frames(&mut self, max: usize, wait_ms: u64) -> Vec<Vec<u8>> {
        let r = self.get(&format!("/recv?max={max}&wait_ms={wait_ms}"));
        assert_eq!(r.status, 200, "{}", r.text());
        decode_array(&r.body)
    }

    /// `GET /recv?wait_ms=T` (or plain `/recv` for 0): one frame or none.
    pub fn recv_one(&mut self, wait_ms: u64) -> Option<Vec<u8>> {
        let path = if wait_ms == 0 {
            "/recv".to_string()
        } else {
            format!("/recv?wait_ms={wait_ms}")
        };
        let r = self.get(&path);
        assert_eq!(r.status, 200, "{}", r.text());
        let s: String = serde_json::from_slice(&r.body).expect("a JSON string");
        (!s.is_empty()).then(|| STANDARD.decode(s).expect("base64"))
    }

    /// Receives until `pick` accepts a frame (answering nothing else), up to `limit`.
    pub fn recv_until<T>(
        &mut self,
        limit: Duration,
        mut pick: impl FnMut(&[u8]) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            for f in self.recv_frames(64, 200) {
                if let Some(t) = pick(&f) {
                    return Some(t);
                }
            }
        }
        None
    }
}

fn is_stale(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

fn read_response(conn: &mut BufReader<TcpStream>, head: bool) -> io::Result<Resp> {
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let find = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if head {
        // A HEAD answer has no body, whatever its Content-Length says.
    } else if let Some(len) = find("content-length") {
        let len: usize = len.parse().map_err(io::Error::other)?;
        body.resize(len, 0);
        conn.read_exact(&mut body)?;
    } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            line.clear();
            conn.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(io::Error::other)?;
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..])?;
            line.clear();
            conn.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    } else {
        conn.read_to_end(&mut body)?;
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// `["b64", ...]`.
pub fn json_array<F: AsRef<[u8]>>(frames: &[F]) -> String {
    let mut s = String::with_capacity(frames.len() * 100 + 2);
    s.push('[');
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        STANDARD.encode_string(f.as_ref(), &mut s);
        s.push('"');
    }
    s.push(']');
    s
}

/// Decodes a `GET /recv?max=N` body.
pub fn decode_array(body: &[u8]) -> Vec<Vec<u8>> {
    let v: Vec<String> = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "not an array of strings ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    v.into_iter()
        .map(|s| STANDARD.decode(s).expect("base64"))
        .collect()
}

// ---- frames ----

/// The MAC and address the tests play at: a neighbour on the TAP's link.
pub const PEER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 2);
pub const TAP_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 1);

/// A permanent neighbour entry PEER_IP → PEER_MAC on the TAP, so the kernel puts datagrams
/// for the peer on the device at once, with no ARP in between.
pub fn static_peer_neighbour() {
    let mac: Vec<String> = PEER_MAC.iter().map(|b| format!("{b:02x}")).collect();
    sh(Command::new("ip").args([
        "neigh",
        "replace",
        &PEER_IP.to_string(),
        "lladdr",
        &mac.join(":"),
        "dev",
        DEV,
        "nud",
        "permanent",
    ]));
}

/// Reads the device's MAC address (in the calling thread's namespace).
pub fn mac_of(name: &str) -> [u8; 6] {
    for ifa in nix::ifaddrs::getifaddrs().unwrap() {
        if ifa.interface_name == name
            && let Some(mac) = ifa
                .address
                .as_ref()
                .and_then(|a| a.as_link_addr())
                .and_then(|l| l.addr())
        {
            return mac;
        }
    }
    panic!("no MAC for {name}");
}

fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(98);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// An ARP packet (op 1 request, 2 reply) in a frame.
pub fn arp(
    op: u16,
    eth_dst: [u8; 6],
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut f = ethernet(eth_dst, sha, 0x0806);
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&tha);
    f.extend_from_slice(&tpa.octets());
    f
}

/// "Who has `tpa`? Tell PEER_IP", broadcast from PEER_MAC.
pub fn arp_request(tpa: Ipv4Addr) -> Vec<u8> {
    arp(1, [0xff; 6], PEER_MAC, PEER_IP, [0; 6], tpa)
}

/// An IPv4 packet in a frame, header checksum filled.
pub fn ipv4(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = ethernet(dst_mac, src_mac, 0x0800);
    let total = (20 + payload.len()) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[6] = 0x40;
    h[8] = 64;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = proto_core::checksum::checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(payload);
    f
}

/// An ICMP echo request from the peer to the TAP.
pub fn echo_request(tap_mac: [u8; 6], ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&ident.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(data);
    let c = proto_core::checksum::checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4(tap_mac, PEER_MAC, PEER_IP, TAP_IP, 1, &icmp)
}

/// What a frame from the kernel is, as far as the tests care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    ArpRequest {
        sender: Ipv4Addr,
        target: Ipv4Addr,
    },
    ArpReply {
        sender: Ipv4Addr,
        mac: [u8; 6],
        target: Ipv4Addr,
    },
    EchoReply {
        ident: u16,
        seq: u16,
        data: Vec<u8>,
    },
    Udp {
        dst: Ipv4Addr,
        dst_port: u16,
        payload: Vec<u8>,
    },
    Other,
}

/// Decodes a frame; asserts (with proto-core) that it parses and its checksums hold.
pub fn seen(f: &[u8]) -> Seen {
    let frame = proto_core::wire::Frame::parse(f).unwrap_or_else(|e| panic!("{e}: {f:02x?}"));
    frame
        .verify_checksums()
        .unwrap_or_else(|e| panic!("{e}: {f:02x?}"));
    let ip = |at: usize| Ipv4Addr::new(f[at], f[at + 1], f[at + 2], f[at + 3]);
    let be16 = |at: usize| u16::from_be_bytes([f[at], f[at + 1]]);
    match be16(12) {
        0x0806 if be16(20) == 1 => Seen::ArpRequest {
            sender: ip(28),
            target: ip(38),
        },
        0x0806 if be16(20) == 2 => Seen::ArpReply {
            sender: ip(28),
            mac: f[22..28].try_into().unwrap(),
            target: ip(38),
        },
        0x0800 => {
            let ihl = usize::from(f[14] & 0x0f) * 4;
            let l4 = 14 + ihl;
            let total = 14 + usize::from(be16(16));
            match f[23] {
                1 if f[l4] == 0 => Seen::EchoReply {
                    ident: be16(l4 + 4),
                    seq: be16(l4 + 6),
                    data: f[l4 + 8..total].to_vec(),
                },
                17 => Seen::Udp {
                    dst: ip(30),
                    dst_port: be16(l4 + 2),
                    payload: f[l4 + 8..total].to_vec(),
                },
                _ => Seen::Other,
            }
        }
        _ => Seen::Other,
    }
}
