//! The `stackclient` binary against real peers, each test in a network namespace of its own
//! (root; the tests fail, not skip, without it): the real `tapd` inside it, the kernel behind
//! the TAP (10.66.0.1/24), `curl` and `python3 -m http.server` as peers, `tshark` on our
//! capture. Our stack is 10.66.0.2/24 (or .3 for one-shot commands).
//!
//! - serve-http over tapd: the index, 64 MiB from `/bytes/N` (SHA-256 checked), `/echo`,
//!   `/stats`, and a tapd restart in the middle (the link reconnects);
//! - `ping` and `get` over tapd, with `--pcap` read back by our reader and by tshark, and
//!   `-v` frame lines;
//! - serve-http over `--link tap:NAME` (stackclient run as root inside the namespace);
//! - the errors a user meets (no tapd, no --addr, bad URL).

mod netns;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proto_core::pcap::CaptureReader;
use proto_core::pcapng::Direction;
use sha2::{Digest, Sha256};

const KERNEL: &str = "10.66.0.1";
const US: &str = "10.66.0.2";
const TAPD_URL: &str = "http://127.0.0.1:7070";

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn stackclient_bin() -> &'static str {
    env!("CARGO_BIN_EXE_stackclient")
}

/// The tapd binary of this build (target/<profile>/tapd: `cargo test --workspace` builds it).
/// When it is missing (`cargo test -p stackclient` alone), it is built into a target
/// directory of its own: cargo keeps this build's directory locked while tests run.
fn tapd_bin() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/cli_http-<hash> -> target/<profile>/tapd
        let profile_dir = exe.parent().unwrap().parent().unwrap();
        let tapd = profile_dir.join("tapd");
        if tapd.exists() {
            return tapd;
        }
        let own = profile_dir.parent().unwrap().join("tapd-for-tests");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "tapd", "--bin", "tapd", "--target-dir"])
            .arg(&own)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo build -p tapd");
        assert!(status.success(), "cargo build -p tapd failed");
        let tapd = own.join("debug").join("tapd");
        assert!(tapd.exists(), "no tapd binary at {}", tapd.display());
        tapd
    })
    .clone()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "cli-http-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A network namespace of our own with its loopback up and IPv6 off; removed on drop with
/// every process left in it (also when the test panics).
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Self {
        Self {
            name: netns::create("scli", tag),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c.stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a background process in the namespace, stderr to a file.
    fn spawn(&self, args: &[&str], log: &Path) -> Proc {
        let child = self
            .cmd(args)
            .stdout(Stdio::from(
                std::fs::File::create(log.with_extension("out")).unwrap(),
            ))
            .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
            .spawn()
            .unwrap();
        Proc {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    fn start_tapd(&self, dev: &str) -> Proc {
        self.start_tapd_with(dev, &[])
    }

    /// tapd with more flags (e.g. `--dhcp`).
    fn start_tapd_with(&self, dev: &str, extra: &[&str]) -> Proc {
        let log = temp("tapd.log");
        let tapd = tapd_bin();
        let addr = format!("{KERNEL}/24");
        let mut args = vec![
            tapd.to_str().unwrap(),
            "--name",
            dev,
            "--addr",
            &addr,
            "--listen",
            "127.0.0.1:7070",
        ];
        args.extend_from_slice(extra);
        let p = self.spawn(&args, &log);
        self.wait_for(
            || {
                self.run(&["curl", "-sf", "-m", "2", "http://127.0.0.1:7070/healthz"])
                    .status
                    .success()
            },
            &format!("tapd to come up: {}", p.log()),
        );
        p
    }

    fn wait_for(&self, mut f: impl FnMut() -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `curl -sf URL` with retries until it succeeds (the stack may still be coming up).
    fn curl_until_ok(&self, url: &str, server: &Proc) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.run(&["curl", "-sf", "-m", "5", url]);
            if out.status.success() {
                return out.stdout;
            }
            assert!(
                Instant::now() < deadline,
                "curl {url} kept failing: {}\nserver: {}",
                text(&out),
                server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        netns::remove(&self.name);
    }
}

/// A background process, killed on drop.
struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.log.with_extension("out")).unwrap_or_default()
    }

    /// Waits until stdout has a line starting with `prefix`, and returns it.
    fn wait_line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(l) = self.stdout().lines().find(|l| l.starts_with(prefix)) {
                return l.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no line {prefix:?} after 40 s; stdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM (through `ip netns exec`, which passes it on by exec'ing), then waits.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("already stopped");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("process did not stop on SIGTERM: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.log);
        let _ = std::fs::remove_file(self.log.with_extension("out"));
    }
}

/// `/bytes/N`'s pattern: byte i is i % 256.
fn pattern_sha256(n: usize) -> String {
    let chunk: Vec<u8> = (0..65536).map(|i| i as u8).collect();
    let mut h = Sha256::new();
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        h.update(&chunk[..k]);
        left -= k;
    }
    hex(&h.finalize())
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a pcapng capture back: (frames, inbound, outbound), checking every frame parses.
fn read_capture(path: &Path) -> (Vec<Vec<u8>>, usize, usize) {
    let bytes = std::fs::read(path).unwrap();
    let reader = CaptureReader::new(&bytes).unwrap();
    assert!(reader.is_pcapng());
    let (mut frames, mut inbound, mut outbound) = (Vec::new(), 0, 0);
    for f in reader {
        let f = f.unwrap();
        match f.direction {
            Some(Direction::Inbound) => inbound += 1,
            Some(Direction::Outbound) => outbound += 1,
            None => panic!("a frame without direction"),
        }
        frames.push(f.data.to_vec());
    }
    (frames, inbound, outbound)
}

/// tshark reads the file without an error or warning.
fn tshark_reads(path: &Path) -> String {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .output()
        .expect("tshark (apt install tshark)");
    assert!(out.status.success(), "tshark: {}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("rror") && !err.contains("appears to be damaged"),
        "tshark complained: {err}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_http_over_tapd_survives_a_tapd_restart() {
    let ns = Netns::new("serve");
    let mut tapd = ns.start_tapd("tsc0");
    let log = temp("serve.log");
    let server = ns.spawn(
        &[
            stackclient_bin(),
            "--link",
            TAPD_URL,
            "--addr",
            &format!("{US}/24"),
            "--gateway",
            KERNEL,
            "--serve-http",
        ],
        &log,
    );
    let index = String::from_utf8(ns.curl_until_ok(&format!("http://{US}/"), &server)).unwrap();
    assert!(index.contains(&format!("{US}/24")), "{index}");
    assert!(index.contains("rx_frames"), "{index}");
    assert!(index.contains("Recent connections"), "{index}");

    // 64 MiB streamed, checked by its SHA-256; POST /echo sends the body back.
    curl_bytes_and_echo(&ns, &format!("http://{US}"), &server);

    // /stats is JSON with the stack's counters and the connections.
    let stats: serde_json::Value =
        serde_json::from_slice(&ns.curl_until_ok(&format!("http://{US}/stats"), &server)).unwrap();
    // 64 MiB left in segments of at most 64 KiB (with segmentation offload; 1.4 KiB without).
    assert!(
        stats["stack"]["tcp_segments_sent"].as_u64().unwrap() > 1000,
        "{stats}"
    );
    assert!(stats["connections"].as_u64().unwrap() >= 3, "{stats}");
    assert_eq!(stats["address"], format!("{US}/24, gateway {KERNEL}"));

    // tapd goes away and comes back (a new TAP, a new MAC): the link reconnects.
    assert!(tapd.stop().success(), "tapd: {}", tapd.log());
    drop(tapd);
    let _tapd = ns.start_tapd("tsc0");
    let again = ns.curl_until_ok(&format!("http://{US}/bytes/100000"), &server);
    assert_eq!(again.len(), 100_000);
    let log_text = server.log();
    assert!(log_text.contains("unreachable"), "{log_text}");
    assert!(log_text.contains("answers again"), "{log_text}");
}

#[test]
fn ping_and_get_over_tapd_with_pcap_and_frame_log() {
    let ns = Netns::new("ping");
    let _tapd = ns.start_tapd("tsc1");
    let us = "10.66.0.3/24";

    let pcap = temp("ping.pcapng");
    let out = ns.run(&[
        stackclient_bin(),
        "--addr",
        us,
        "--pcap",
        pcap.to_str().unwrap(),
        "-v",
        "ping",
        "-c",
        "3",
        "-i",
        "0.2",
        KERNEL,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("64 bytes from {KERNEL}: icmp_seq=1 ttl=64")),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 packets transmitted, 3 received"),
        "{stdout}"
    );
    // -v: one line per frame, both ways.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("> IP 10.66.0.3 > 10.66.0.1: ICMP Echo (ping) request"),
        "{stderr}"
    );
    assert!(
        stderr.contains("< IP 10.66.0.1 > 10.66.0.3: ICMP Echo (ping) reply"),
        "{stderr}"
    );
    assert!(stderr.contains("ARP"), "{stderr}");
    // The capture: our reader and tshark agree, both directions are there.
    let (frames, inbound, outbound) = read_capture(&pcap);
    assert!(frames.len() >= 8, "{} frames", frames.len());
    assert!(
        inbound >= 4 && outbound >= 4,
        "in {inbound}, out {outbound}"
    );
    let shark = tshark_reads(&pcap);
    assert_eq!(shark.matches("Echo (ping) request").count(), 3, "{shark}");
    assert_eq!(shark.matches("Echo (ping) reply").count(), 3, "{shark}");
    let _ = std::fs::remove_file(&pcap);

    // No answer: an address nobody has.
    let out = ns.run(&[
        stackclient_bin(),
        "--addr",
        us,
        "ping",
        "-c",
        "1",
        "-W",
        "0.5",
        "10.66.0.99",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no reply from 10.66.0.99"),
        "{}",
        text(&out)
    );

    // get from python's http.server in the namespace.
    let dir = temp("www");
    let (_web, data) = ns.start_web(&dir, &temp("web.log"));
    let got = temp("got.bin");
    let out = ns.run(&[
        stackclient_bin(),
        "--addr",
        us,
        "get",
        &format!("http://{KERNEL}:8000/file.bin"),
        "-o",
        got.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(&got).unwrap() == data, "the file differs");
    // To stdout.
    let out = ns.run(&[
        stackclient_bin(),
        "--addr",
        us,
        "get",
        &format!("http://{KERNEL}:8000/file.bin"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(out.stdout == data);
    // A 404 and a refused port say so.
    let out = ns.run(&[
        stackclient_bin(),
        "--addr",
        us,
        "get",
        &format!("http://{KERNEL}:8000/nope"),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the server answered 404 Not Found"),
        "{}",
        text(&out)
    );
    let out = ns.run(&[
        stackclient_bin(),
        "--addr",
        us,
        "get",
        &format!("http://{KERNEL}:8001/"),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("connecting to 10.66.0.1:8001: connection refused"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_file(&got);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_http_over_a_direct_tap() {
    let ns = Netns::new("tap");
    let dev = "sctap0";
    let server = ns.spawn(
        &[
            stackclient_bin(),
            "--link",
            &format!("tap:{dev}"),
            "--addr",
            &format!("{US}/24"),
            "serve-http",
            "--port",
            "8080",
        ],
        &temp("tap.log"),
    );
    ns.wait_for(
        || ns.run(&["ip", "link", "show", dev]).status.success(),
        "the TAP device",
    );
    ns.ok(&["ip", "addr", "add", &format!("{KERNEL}/24"), "dev", dev]);
    let index =
        String::from_utf8(ns.curl_until_ok(&format!("http://{US}:8080/"), &server)).unwrap();
    assert!(index.contains(&format!("TAP {dev}")), "{index}");
    let out = ns.run(&[
        "sh",
        "-c",
        &format!("curl -sf -m 60 http://{US}:8080/bytes/8388608 | sha256sum"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next(),
        Some(pattern_sha256(8 << 20).as_str())
    );
    // The kernel pings us through the TAP.
    ns.ok(&["ping", "-c", "2", "-i", "0.2", "-W", "2", US]);
}

#[test]
fn user_errors_are_clear() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = |args: &[&str]| {
        Command::new(stackclient_bin())
            .args(args)
            .env_remove("TAPD_TOKEN")
            .env_remove("STACKCLIENT_LINK")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let url = format!("http://127.0.0.1:{port}");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--link", &url, "--addr", "10.0.0.2/24", "up"],
            format!(
                "stackclient: cannot reach tapd at {url}: connection refused — start it with `sudo tapd --dhcp`"
            ),
        ),
        (
            vec!["--tapd", &url, "up"],
            format!("stackclient: cannot reach tapd at {url}"),
        ),
        (
            vec!["--addr", "10.0.0.2/24", "get", "http://example.com/"],
            "stackclient: example.com: no DNS server to resolve it: with --addr there is no \
             DHCP lease to name one; give one with --dns ADDR"
                .into(),
        ),
        (
            vec!["--addr", "10.0.0.2/24", "resolve", "example.com"],
            "no DNS server: with --addr there is no DHCP lease to name one".into(),
        ),
        (
            vec!["--addr", "10.0.0.2/24", "ntp"],
            "no NTP server: with --addr there is no DHCP lease to name one".into(),
        ),
        (
            vec!["resolve", "10.0.0.1"],
            "that is an address already".into(),
        ),
        (
            vec!["--addr", "10.0.0.2/24", "get", "https://10.0.0.1/"],
            "https is not supported".into(),
        ),
        (
            vec!["--addr", "10.0.0.2/24", "get", "not a url"],
            "bad URL \"not a url\"".into(),
        ),
        (
            vec!["--link", "ftp://x", "--addr", "10.0.0.2/24", "up"],
            "bad tapd URL \"ftp://x\"".into(),
        ),
        (
            vec!["--link", "tap0", "--addr", "10.0.0.2/24", "up"],
            "expected tapd's URL (http://HOST:PORT) or tap:NAME".into(),
        ),
        (
            vec!["--addr", "10.0.0.2/24", "ping", "some.host"],
            "some.host: no DNS server to resolve it".into(),
        ),
        (vec!["--gateway", "10.0.0.1", "up"], "--addr".into()),
        (
            vec!["--addr", "10.0.0.2/24", "--gateway", "10.9.9.9", "up"],
            "must be on-link".into(),
        ),
    ];
    for (args, want) in cases {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&want), "{args:?}: want {want:?}, got:\n{err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // --help works on every subcommand.
    for sub in [
        "up",
        "ping",
        "resolve",
        "ntp",
        "get",
        "serve-http",
        "decode",
        "dissect",
    ] {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help: {}", text(&out));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Usage: stackclient"), "{help}");
    }
    let out = run(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--link",
        "--token",
        "--addr",
        "--gateway",
        "--mac",
        "--pcap",
        "--verbose",
        "--serve-http",
        "--dns",
        "--dhcp-timeout",
    ] {
        assert!(help.contains(opt), "{opt} missing from --help:\n{help}");
    }
    let _ = std::io::stdout().flush();
}

/// The peers of the DHCP/DNS/NTP/HTTP tests on the kernel side of the link, each removed with
/// the namespace: dnsmasq (DNS, and DHCP when `dhcp_dev` is given), chronyd (`local stratum
/// 8`), python3's http.server on port 8000 with a 2 MB file.
struct Peers {
    dir: PathBuf,
    file: Vec<u8>,
    _procs: Vec<Proc>,
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Names dnsmasq answers: `gw` and `web` are the kernel, `www` has A and AAAA, `alias` is a
/// CNAME of `www`.
const ZONE: &str = "cli.test";

fn which(bin: &str, package: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(
        ok,
        "{bin} is missing: apt-get install {package} (scripts/test.sh does)"
    );
}

impl Netns {
    fn wait_listening(&self, proto: &str, port: u16, what: &Proc) {
        self.wait_for(
            || {
                self.ok(&["ss", &format!("-Hln{proto}")])
                    .split_whitespace()
                    .any(|w| w.ends_with(&format!(":{port}")))
            },
            &format!("port {port}/{proto}: {}", what.log()),
        );
    }

    /// python3's http.server on the kernel's address, port 8000, serving `dir` with a 2 MB
    /// `file.bin` (returned), once it listens.
    fn start_web(&self, dir: &Path, log: &Path) -> (Proc, Vec<u8>) {
        std::fs::create_dir_all(dir).unwrap();
        let file: Vec<u8> = (0..2_000_000u32).map(|i| (i ^ (i >> 9)) as u8).collect();
        std::fs::write(dir.join("file.bin"), &file).unwrap();
        let web = self.spawn(
            &[
                "python3",
                "-m",
                "http.server",
                "8000",
                "--bind",
                KERNEL,
                "--directory",
                dir.to_str().unwrap(),
            ],
            log,
        );
        self.wait_listening("t", 8000, &web);
        (web, file)
    }

    fn start_peers(&self, dhcp_dev: Option<&str>) -> Peers {
        which("dnsmasq", "dnsmasq-base");
        which("chronyd", "chrony");
        let dir = temp("peers");
        std::fs::create_dir_all(&dir).unwrap();
        let path = |f: &str| dir.join(f).to_str().unwrap().to_string();
        std::fs::write(
            dir.join("hosts"),
            format!(
                "{KERNEL} gw.{ZONE}\n{KERNEL} web.{ZONE}\n10.66.0.80 www.{ZONE}\n\
                 fd66::80 www.{ZONE}\n"
            ),
        )
        .unwrap();
        let dhcp = match dhcp_dev {
            Some(dev) => format!(
                "interface={dev}\ndhcp-range=10.66.0.100,10.66.0.150,255.255.255.0,10m\n\
                 dhcp-option=option:router,{KERNEL}\ndhcp-option=option:dns-server,{KERNEL}\n\
                 dhcp-option=option:ntp-server,{KERNEL}\ndhcp-leasefile={}\n",
                path("leases")
            ),
            None => format!("listen-address={KERNEL}\nno-dhcp-interface=lo\n"),
        };
        std::fs::write(
            dir.join("dnsmasq.conf"),
            format!(
                "no-resolv\nno-hosts\naddn-hosts={}\nbind-interfaces\nexcept-interface=lo\n\
                 user=root\nno-ping\nlocal=/{ZONE}/\ncname=alias.{ZONE},www.{ZONE}\n\
                 pid-file={}\nlog-dhcp\nlog-queries\n{dhcp}",
                path("hosts"),
                path("dnsmasq.pid"),
            ),
        )
        .unwrap();
        let dnsmasq = self.spawn(
            &["dnsmasq", "-k", "-C", &path("dnsmasq.conf")],
            &dir.join("dnsmasq.log"),
        );
        self.wait_listening("u", 53, &dnsmasq);
        std::fs::write(
            dir.join("chrony.conf"),
            format!(
                "allow 10.66.0.0/24\nlocal stratum 8\nbindaddress {KERNEL}\ncmdport 0\n\
                 bindcmdaddress /\npidfile {}\ndriftfile {}\n",
                path("chronyd.pid"),
                path("chrony.drift")
            ),
        )
        .unwrap();
        let chrony = self.spawn(
            &["chronyd", "-d", "-x", "-f", &path("chrony.conf")],
            &dir.join("chronyd.log"),
        );
        self.wait_listening("u", 123, &chrony);
        let (web, file) = self.start_web(&dir.join("www"), &dir.join("web.log"));
        Peers {
            dir,
            file,
            _procs: vec![dnsmasq, chrony, web],
        }
    }

    /// Runs stackclient with `args` (after `link`), expecting success; returns stdout.
    fn stackclient_ok(&self, link: &[&str], args: &[&str]) -> String {
        let mut all = vec![stackclient_bin()];
        all.extend_from_slice(link);
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs stackclient with `args`, expecting failure; returns stderr.
    fn stackclient_err(&self, link: &[&str], args: &[&str]) -> String {
        let mut all = vec![stackclient_bin()];
        all.extend_from_slice(link);
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            !out.status.success(),
            "{args:?} should fail: {}",
            text(&out)
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!err.contains("panicked"), "{err}");
        err
    }
}

/// `up` (DHCP with the ARP probe), `ping`/`get` by name, `resolve` (A, AAAA, a CNAME,
/// NXDOMAIN), and `ntp` from the lease's server, all over `link`; `lease` is what `up` prints
/// for the lease (its address varies).
fn every_command(ns: &Netns, peers: &Peers, link: &[&str], lease_prefix: &str, lease_rest: &str) {
    // up: lease printed, running until SIGTERM, then the lease given back.
    let mut args = vec![stackclient_bin()];
    args.extend_from_slice(link);
    args.push("up");
    let mut up = ns.spawn(&args, &temp("up.log"));
    let line = up.wait_line("lease: ");
    assert!(line.starts_with(lease_prefix), "{line}");
    assert!(line.ends_with(lease_rest), "{line}");
    assert!(
        up.stdout().contains("(DHCP), gateway 10.66.0.1"),
        "{}",
        up.stdout()
    );
    // The kernel reaches the leased address.
    let addr = line["lease: ".len()..]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    ns.ok(&["ping", "-c", "1", "-W", "2", &addr]);
    assert!(up.stop().success(), "up: {}", up.log());

    let fast = ["--no-arp-probe"];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = fast.to_vec();
        a.extend_from_slice(extra);
        ns.stackclient_ok(link, &a)
    };
    let out = run(&["ping", "-c", "2", "-i", "0.2", &format!("gw.{ZONE}")]);
    assert!(out.contains(&format!("gw.{ZONE} is {KERNEL}")), "{out}");
    assert!(out.contains("2 packets transmitted, 2 received"), "{out}");

    // A reader that leaves early (`| head -1`): the command stops cleanly, no panic, and
    // gives its lease back as on Ctrl-C.
    let mut args = vec![stackclient_bin()];
    args.extend_from_slice(link);
    args.extend_from_slice(&fast);
    args.extend_from_slice(&["ping", "-c", "100", "-i", "0.2", KERNEL]);
    let mut child = ns
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(first.starts_with("PING "), "{first}");
    // The pipe is closed now (the reader was dropped); the next line ends the command.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ping kept running after its reader left");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = run(&["resolve", &format!("www.{ZONE}")]);
    assert!(
        out.contains(&format!("www.{ZONE}. has address 10.66.0.80")),
        "{out}"
    );
    assert!(
        out.contains(&format!("www.{ZONE}. has IPv6 address fd66::80")),
        "{out}"
    );
    assert!(out.contains(&format!("(asked {KERNEL})")), "{out}");
    let out = run(&["resolve", &format!("alias.{ZONE}")]);
    assert!(
        out.contains(&format!("alias.{ZONE} is an alias for www.{ZONE}.")),
        "{out}"
    );
    let mut a: Vec<&str> = fast.to_vec();
    let nope = format!("nope.{ZONE}");
    a.extend_from_slice(&["resolve", &nope]);
    let err = ns.stackclient_err(link, &a);
    assert!(
        err.contains(&format!("name not found: nope.{ZONE} (asked {KERNEL})")),
        "{err}"
    );

    // chronyd may call itself unsynchronised for its first moments: ask again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        let mut all = vec![stackclient_bin()];
        all.extend_from_slice(link);
        all.extend_from_slice(&["--no-arp-probe", "ntp", "-n", "1"]);
        let out = ns.run(&all);
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(Instant::now() < deadline, "ntp: {}", text(&out));
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        out.contains(&format!(
            "server {KERNEL}:123 (from the DHCP lease), stratum 8"
        )),
        "{out}"
    );
    let offset: f64 = out
        .split("offset ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no offset in {out}"));
    let delay: f64 = out
        .split("delay ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no delay in {out}"));
    // One clock for all namespaces: the true offset is 0, and NTP's estimate is off by at
    // most half the round trip (RFC 5905 §8) when the paths are asymmetric (a loaded machine).
    assert!(
        offset.abs() <= delay / 2.0 + 1.0,
        "one clock for all namespaces: {out}"
    );

    let got = temp("got.bin");
    run(&[
        "get",
        &format!("http://web.{ZONE}:8000/file.bin"),
        "-o",
        got.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read(&got).unwrap() == peers.file,
        "the file differs"
    );
    let _ = std::fs::remove_file(&got);
}

/// curl fetches the index, 64 MiB from `/bytes` (SHA-256 checked) and `/echo` from a
/// `--serve-http` at `base`.
fn curl_serve_http(ns: &Netns, base: &str, server: &Proc) {
    let index = String::from_utf8(ns.curl_until_ok(&format!("{base}/"), server)).unwrap();
    assert!(index.contains("(DHCP)"), "{index}");
    curl_bytes_and_echo(ns, base, server);
}

/// `{base}/bytes/N` of 64 MiB has the pattern's SHA-256, and `{base}/echo` returns a
/// 300 KB POST body unchanged.
fn curl_bytes_and_echo(ns: &Netns, base: &str, server: &Proc) {
    let n = 64 << 20;
    let out = ns.run(&[
        "sh",
        "-c",
        &format!("curl -sf -m 120 {base}/bytes/{n} | sha256sum"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next(),
        Some(pattern_sha256(n).as_str()),
        "server log: {}",
        server.log()
    );
    let body = temp("echo.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(&body, &data).unwrap();
    let out = ns.run(&[
        "curl",
        "-sf",
        "-m",
        "30",
        "--data-binary",
        &format!("@{}", body.display()),
        "-H",
        "Content-Type: application/octet-stream",
        &format!("{base}/echo"),
    ]);
    let _ = std::fs::remove_file(&body);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        out.stdout == data,
        "echo differs ({} bytes back)",
        out.stdout.len()
    );
}

/// The address `serve-http` announces ("serving http://ADDR:PORT/ ...").
fn served_base(server: &Proc) -> String {
    let line = server.wait_line("serving http://");
    let url = line.split_whitespace().nth(1).unwrap();
    url.trim_end_matches('/').to_string()
}

/// tapd --dhcp is the only server the stack needs: every command with DHCP from tapd
/// (dnsmasq answers DNS only, chronyd NTP, python3 HTTP), then `stackclient --serve-http`
/// with no other option, fetched by curl, across a tapd restart.
#[test]
fn every_command_with_dhcp_from_tapd() {
    let ns = Netns::new("tdhcp");
    let dhcp_args = ["--dhcp", "--dhcp-ntp", KERNEL];
    let mut tapd = ns.start_tapd_with("tsc4", &dhcp_args);
    let peers = ns.start_peers(None);
    every_command(
        &ns,
        &peers,
        &[],
        "lease: 10.66.0.2/24 from 10.66.0.1",
        "router 10.66.0.1, DNS 10.66.0.1, NTP 10.66.0.1, lease time 1 h",
    );
    let stats: serde_json::Value =
        serde_json::from_slice(&ns.curl_until_ok(&format!("{TAPD_URL}/stats"), &tapd)).unwrap();
    // up, 2 pings... each got an OFFER and an ACK.
    assert!(stats["dhcp_replies"].as_u64().unwrap() >= 12, "{stats}");

    let server = ns.spawn(&[stackclient_bin(), "--serve-http"], &temp("serve.log"));
    let lease = server.wait_line("lease: ");
    // Every earlier command gave its lease back, so the first address is free again.
    assert!(lease.starts_with("lease: 10.66.0.2/24"), "{lease}");
    let base = served_base(&server);
    assert_eq!(base, "http://10.66.0.2:80");
    curl_serve_http(&ns, &base, &server);

    // tapd goes away and comes back: the stack keeps its address and serves again.
    assert!(tapd.stop().success(), "tapd: {}", tapd.log());
    drop(tapd);
    let _tapd = ns.start_tapd_with("tsc4", &dhcp_args);
    let again = ns.curl_until_ok(&format!("{base}/bytes/100000"), &server);
    assert_eq!(again.len(), 100_000);
}

/// The same over `--link tap:NAME` (a persistent TAP the namespace made), with dnsmasq as
/// the DHCP server too.
#[test]
fn every_command_over_a_direct_tap_with_dhcp_from_dnsmasq() {
    let ns = Netns::new("tapdhcp");
    let dev = "sctapd";
    ns.ok(&["ip", "tuntap", "add", "dev", dev, "mode", "tap"]);
    ns.ok(&["ip", "addr", "add", &format!("{KERNEL}/24"), "dev", dev]);
    ns.ok(&["ip", "link", "set", dev, "up"]);
    let peers = ns.start_peers(Some(dev));
    let link = format!("tap:{dev}");
    every_command(
        &ns,
        &peers,
        &["--link", &link],
        "lease: 10.66.0.1",
        "router 10.66.0.1, DNS 10.66.0.1, NTP 10.66.0.1, lease time 10 min",
    );
    let server = ns.spawn(
        &[stackclient_bin(), "--link", &link, "--serve-http"],
        &temp("serve.log"),
    );
    let base = served_base(&server);
    assert!(base.starts_with("http://10.66.0.1"), "{base}");
    curl_serve_http(&ns, &base, &server);
}

/// Without a DHCP server the wait ends with what was tried and how to fix it.
#[test]
fn dhcp_timeout_says_what_was_tried() {
    let ns = Netns::new("dhcpto");
    let _tapd = ns.start_tapd("tsc5");
    let t0 = Instant::now();
    let err = ns.stackclient_err(&[], &["--dhcp-timeout", "5", "up"]);
    assert!(t0.elapsed() < Duration::from_secs(15));
    assert!(err.contains("DHCP timeout: no DHCP offer after"), "{err}");
    assert!(
        err.contains("DISCOVER(s) over 5 s on tapd http://127.0.0.1:7070"),
        "{err}"
    );
    assert!(
        err.contains("tapd answers DHCP only when started with --dhcp"),
        "{err}"
    );
    assert!(err.contains("--addr 10.66.0.2/24"), "{err}");
}
