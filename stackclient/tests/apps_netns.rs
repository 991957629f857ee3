//! The application glue (`stackclient::apps`) against real peers, each test inside a network
//! namespace it creates and removes, behind a TAP (needs root and the peers: the tests fail,
//! never skip, without them; `scripts/test.sh` installs them). The kernel side of the TAP is
//! `sct0` (10.77.0.1/24 unless a test leaves it to DHCP); our stack opens the TAP from a
//! thread inside the namespace. Peers: dnsmasq (DHCP, DNS), busybox udhcpc (DHCP client),
//! chronyd (NTP server, and `chronyd -Q` as a client), curl and `python3 -m http.server`.
//! A guard kills every process in the namespace and deletes it on any exit.

mod netns;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proto_core::stack::Config;
use proto_core::wire::EthernetAddress;
use stackclient::apps::dhcp::DhcpClientConfig;
use stackclient::apps::dns::Resolver;
use stackclient::link::tap::TapLink;
use stackclient::link::{FrameBatch, Link};
use stackclient::runtime::{Stack, StackConfig};

const DEV: &str = "sct0";
const KERNEL: &str = "10.77.0.1";
const US: &str = "10.77.0.2";
const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0x77, 0, 2]);
const LIMIT: Duration = Duration::from_secs(150);

#[path = "../../proto-core/tests/common/app_compare.rs"]
mod app_compare;

/// Every frame our stack sent or received, in order.
type Frames = Arc<Mutex<Vec<Vec<u8>>>>;

/// A link that records every frame through it (for the differential decoding of the
/// messages exchanged with the peers).
struct Recording<L> {
    inner: L,
    frames: Frames,
}

impl<L: Link> Link for Recording<L> {
    async fn recv_batch(&mut self, out: &mut FrameBatch) -> std::io::Result<()> {
        // Cancel-safe as the inner link: frames are recorded in the poll that takes them.
        self.inner.recv_batch(out).await?;
        let mut f = self.frames.lock().unwrap();
        f.extend(out.iter().map(<[u8]>::to_vec));
        Ok(())
    }

    async fn send_batch(&mut self, frames: &FrameBatch) -> std::io::Result<()> {
        self.frames
            .lock()
            .unwrap()
            .extend(frames.iter().map(<[u8]>::to_vec));
        self.inner.send_batch(frames).await
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }
}

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

/// Fails (never skips) when a peer program is missing, naming the Debian package.
fn need(tool: &str, package: &str) {
    let found = std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|d| d.join(tool).is_file())
    });
    assert!(
        found,
        "{tool} is missing: apt-get install {package} (scripts/test.sh installs it)"
    );
}

/// A network namespace and a scratch directory of our own, removed on drop (also when the
/// test panics), with every process left in the namespace killed first.
struct Netns {
    name: String,
    dir: PathBuf,
    children: Children,
    frames: Frames,
}

/// Peers started in the namespace: killed and reaped by [`Netns`]'s drop.
type Children = Arc<Mutex<Vec<Child>>>;

impl Netns {
    fn new(tag: &str) -> Self {
        let name = netns::create("sca", tag);
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            name,
            dir,
            children: Children::default(),
            frames: Frames::default(),
        }
    }

    fn handle(&self) -> NsHandle {
        NsHandle {
            name: self.name.clone(),
            dir: self.dir.clone(),
            children: self.children.clone(),
            frames: self.frames.clone(),
        }
    }

    /// Creates the TAP device from a thread inside the namespace, gives the kernel side
    /// `kernel_cidr` (if any), starts our stack with `cfg` on it, and runs `f` on a 2-worker
    /// runtime there. The runtime and the device are gone when this returns.
    fn with_stack<F, Fut>(&self, kernel_cidr: Option<&str>, cfg: Config, f: F)
    where
        F: FnOnce(NsHandle, Stack) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let h = self.handle();
        let kernel_cidr = kernel_cidr.map(str::to_owned);
        let thread = std::thread::spawn(move || {
            netns::enter(&h.name);
            // Worker threads are created from this one, so they live in the namespace too.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let link = Recording {
                    inner: TapLink::open(DEV).unwrap(),
                    frames: h.frames.clone(),
                };
                if let Some(c) = &kernel_cidr {
                    h.exec(&["ip", "addr", "add", c, "dev", DEV]);
                }
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
        for mut c in self
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = c.kill();
            let _ = c.wait();
        }
        netns::remove(&self.name);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The namespace's name and scratch directory, for running peers from the test's tasks.
#[derive(Clone)]
struct NsHandle {
    name: String,
    dir: PathBuf,
    children: Children,
    frames: Frames,
}

impl NsHandle {
    /// The UDP payloads our stack exchanged to or from `ports`, with their destination port.
    fn udp_payloads(&self, ports: &[u16]) -> Vec<(u16, Vec<u8>)> {
        app_compare::udp_payloads(&self.frames.lock().unwrap(), ports)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    fn exec(&self, args: &[&str]) -> String {
        sh(&mut self.cmd(args))
    }

    /// Runs a command in the namespace on a blocking thread; returns its stdout.
    async fn exec_async(&self, args: &[&str]) -> String {
        let h = self.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            h.exec(&a)
        })
        .await
        .unwrap()
    }

    /// Starts a long-running peer in the namespace, its output in `<dir>/<log>`. The
    /// namespace's guard kills it.
    fn spawn(&self, log: &str, args: &[&str]) {
        let out = std::fs::File::create(self.dir.join(log)).unwrap();
        let err = out.try_clone().unwrap();
        let child = self
            .cmd(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {args:?}: {e}"));
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    fn write(&self, file: &str, text: &str) -> String {
        std::fs::write(self.dir.join(file), text).unwrap();
        self.path(file)
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_default()
    }

    /// Waits until something in the namespace listens on `port` (`proto` "u" or "t").
    async fn wait_listening(&self, proto: &str, port: u16, log: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let flag = format!("-Hln{proto}");
        loop {
            let out = self.exec_async(&["ss", &flag]).await;
            if out
                .split_whitespace()
                .any(|w| w.ends_with(&format!(":{port}")))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nothing listens on {proto} port {port} after 10 s; {log}: {}",
                self.read(log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn unconfigured() -> Config {
    Config::new(MAC)
}

fn configured() -> Config {
    Config::new(MAC).with_ipv4(format!("{US}/24").parse().unwrap(), None)
}

/// dnsmasq as DHCP server (2-minute leases, T1 10 s, T2 15 s) and DNS server for
/// `apps.test` from a hosts file and `cname=` lines, on the kernel side of the TAP.
async fn start_dnsmasq(h: &NsHandle) {
    need("dnsmasq", "dnsmasq-base");
    let mut hosts = String::from(
        "10.77.0.80 www.apps.test\nfd77::80 v6.apps.test\n10.77.0.81 both.apps.test\n\
         fd77::81 both.apps.test\n",
    );
    // 40 A records: 656 bytes of answer, more than a UDP answer without EDNS may carry.
    for i in 1..=40 {
        hosts.push_str(&format!("10.77.1.{i} big.apps.test\n"));
    }
    let hosts = h.write("hosts", &hosts);
    let conf = h.write(
        "dnsmasq.conf",
        &format!(
            "no-resolv\nno-hosts\naddn-hosts={hosts}\ninterface={DEV}\nbind-interfaces\n\
             user=root\nno-ping\nlocal=/apps.test/\n\
             dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,2m\n\
             dhcp-option=option:router,{KERNEL}\ndhcp-option=option:dns-server,{KERNEL}\n\
             dhcp-option=option:T1,10\ndhcp-option=option:T2,15\n\
             cname=alias.apps.test,www.apps.test\ncname=alias2.apps.test,alias.apps.test\n\
             dhcp-leasefile={}\npid-file={}\nlog-dhcp\nlog-queries\nlog-facility={}\n",
            h.path("leases"),
            h.path("dnsmasq.pid"),
            h.path("dnsmasq.log"),
        ),
    );
    h.spawn("dnsmasq.out", &["dnsmasq", "-k", "-C", &conf]);
    h.wait_listening("u", 67, "dnsmasq.out").await;
    h.wait_listening("u", 53, "dnsmasq.out").await;
}

/// Our client gets a lease from dnsmasq (ARP probe first), the stack is configured with
/// it (the kernel pings the address), the lease is renewed at T1, and RELEASE gives it back.
#[test]
fn dnsmasq_leases_us_an_address_renewed_at_t1() {
    let ns = Netns::new("dhcp");
    ns.with_stack(
        Some(&format!("{KERNEL}/24")),
        unconfigured(),
        |h, stack| async move {
            start_dnsmasq(&h).await;
            let t0 = Instant::now();
            let mut dhcp = stack.dhcp(DhcpClientConfig::new(DEV)).unwrap();
            let lease = dhcp.bound(Duration::from_secs(30)).await.unwrap();
            let bound_after = t0.elapsed();
            eprintln!("bound after {bound_after:?}: {lease:?}");
            let a = lease.addr.octets();
            assert!(
                a[..3] == [10, 77, 0] && (100..=150).contains(&a[3]),
                "{lease:?}"
            );
            assert_eq!(lease.prefix_len, 24);
            assert_eq!(lease.router, Some(KERNEL.parse().unwrap()));
            assert_eq!(lease.dns_servers.first(), Some(KERNEL.parse().unwrap()));
            assert_eq!(lease.server, KERNEL.parse::<Ipv4Addr>().unwrap());
            assert_eq!(lease.lease_time.secs(), 120);
            assert_eq!((lease.t1.secs(), lease.t2.secs()), (10, 15));
            let p = dhcp.progress();
            assert_eq!(
                (p.discovers, p.offers, p.requests, p.acks),
                (1, 1, 1, 1),
                "{p:?}"
            );
            assert_eq!(
                p.arp_probes, 3,
                "RFC 5227: three probes before using the address"
            );
            let cfg = stack.config();
            assert_eq!(cfg.ipv4.map(|c| c.address()), Some(lease.addr));
            assert_eq!(cfg.gateway, lease.router);
            let out = h
                .exec_async(&["ping", "-c", "1", "-W", "2", &lease.addr.to_string()])
                .await;
            assert!(out.contains("1 received"), "{out}");

            // RENEWING at T1: a unicast REQUEST, an ACK, a new lease start.
            let mut watch = dhcp.watch();
            let renewed = tokio::time::timeout(Duration::from_secs(20), async {
                watch
                    .wait_for(|l| l.is_some_and(|l| l.start > lease.start))
                    .await
                    .map(|l| *l)
            })
            .await
            .expect("no renewal within 20 s")
            .unwrap()
            .unwrap();
            let t1_after = renewed.start.saturating_duration_since(lease.start);
            eprintln!("renewed {t1_after:?} after the lease started");
            assert!(
                (10_000..11_000).contains(&t1_after.millis()),
                "renewal {t1_after:?} after the lease started, T1 is 10 s"
            );
            assert_eq!(renewed.addr, lease.addr);
            assert_eq!(dhcp.progress().renewals, 1);

            // RELEASE: the server frees the lease, our address goes.
            let released = dhcp.release().await.unwrap();
            assert_eq!(released.map(|l| l.addr), Some(lease.addr));
            assert_eq!(stack.config().ipv4, None);
            let deadline = Instant::now() + Duration::from_secs(5);
            while !h.read("dnsmasq.log").contains("DHCPRELEASE") {
                assert!(Instant::now() < deadline, "{}", h.read("dnsmasq.log"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let log = h.read("dnsmasq.log");
            assert!(
                log.contains(&format!("DHCPRELEASE({DEV}) {}", lease.addr)),
                "{log}"
            );

            // Every DHCP message of the exchange reads the same in dhcproto and in ours.
            let kinds: Vec<u8> = h
                .udp_payloads(&[67, 68])
                .iter()
                .map(|(_, p)| app_compare::compare_dhcp(p))
                .collect();
            // DISCOVER, OFFER, REQUEST, ACK, REQUEST (renewing), ACK, RELEASE.
            assert_eq!(kinds, [1, 2, 3, 5, 3, 5, 7]);
        },
    );
}

/// The resolver asks the DNS server of a lease from dnsmasq: A, AAAA, both, a CNAME chain,
/// NXDOMAIN, and a 40-record answer truncated over UDP that comes back over TCP.
#[test]
fn dnsmasq_resolves_a_aaaa_and_a_cname_chain() {
    let ns = Netns::new("dns");
    ns.with_stack(
        Some(&format!("{KERNEL}/24")),
        unconfigured(),
        |h, stack| async move {
            start_dnsmasq(&h).await;
            let mut dhcp = stack
                .dhcp(DhcpClientConfig::new(DEV).with_arp_probe(false))
                .unwrap();
            let lease = dhcp.bound(Duration::from_secs(30)).await.unwrap();
            let r = Resolver::from_lease(&stack, &lease).unwrap();
            let www: Ipv4Addr = "10.77.0.80".parse().unwrap();
            assert_eq!(r.lookup_ipv4("www.apps.test").await.unwrap(), vec![www]);
            let v6: Ipv6Addr = "fd77::80".parse().unwrap();
            assert_eq!(r.lookup_ipv6("v6.apps.test").await.unwrap(), vec![v6]);
            let both = r.lookup("both.apps.test").await.unwrap();
            assert_eq!(
                both,
                vec![
                    IpAddr::from("10.77.0.81".parse::<Ipv4Addr>().unwrap()),
                    IpAddr::from("fd77::81".parse::<Ipv6Addr>().unwrap())
                ]
            );
            // alias2 -> alias -> www.
            let a = r
                .query("alias2.apps.test", proto_core::app::dns::Type::A)
                .await
                .unwrap();
            assert_eq!(a.canonical.to_string(), "www.apps.test.");
            assert_eq!(a.addrs().collect::<Vec<_>>(), vec![IpAddr::from(www)]);
            let e = r.lookup_ipv4("nothing.apps.test").await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{e}");

            // Without EDNS a 40-record answer does not fit 512 bytes: TC, then TCP.
            let cfg = proto_core::app::dns::ResolverConfig {
                edns_udp_size: None,
                ..Default::default()
            };
            let small = Resolver::with_config(
                &stack,
                &[SocketAddr::from((lease.dns_servers.first().unwrap(), 53))],
                cfg,
            );
            let big = small.lookup_ipv4("big.apps.test").await.unwrap();
            assert_eq!(big.len(), 8, "the resolver keeps 8 addresses: {big:?}");
            assert!(
                big.iter().all(|a| a.octets()[..3] == [10, 77, 1]),
                "{big:?}"
            );
            let tcp_segments = stack.stats().tcp_segments_received;
            assert!(tcp_segments > 0, "the big answer came over TCP");
            drop(dhcp);

            // Every DNS message over UDP reads the same in hickory-proto and in ours (the
            // truncated UDP answer included), and so does every DHCP message.
            let dns = h.udp_payloads(&[53]);
            assert!(dns.len() >= 14, "{} DNS messages", dns.len());
            let mut truncated = 0;
            for (_, p) in &dns {
                app_compare::compare_dns(p);
                truncated += usize::from(p[2] & 0x02 != 0);
            }
            assert_eq!(truncated, 1, "one truncated UDP answer");
            for (_, p) in h.udp_payloads(&[67, 68]) {
                app_compare::compare_dhcp(&p);
            }
        },
    );
}

/// chronyd serving its local clock (the host's: one clock for every namespace) on the
/// kernel side; our client's best-of-4 offset against the system clock is within 10 ms.
#[test]
fn chrony_serves_us_the_time_within_10_ms() {
    need("chronyd", "chrony");
    let ns = Netns::new("ntpc");
    ns.with_stack(
        Some(&format!("{KERNEL}/24")),
        configured(),
        |h, stack| async move {
            let conf = h.write(
                "chrony.conf",
                &format!(
                    "allow 10.77.0.0/24\nlocal stratum 8\nbindaddress {KERNEL}\ncmdport 0\n\
                 bindcmdaddress /\npidfile {}\ndriftfile {}\n",
                    h.path("chronyd.pid"),
                    h.path("chrony.drift")
                ),
            );
            h.spawn("chronyd.log", &["chronyd", "-d", "-x", "-f", &conf]);
            h.wait_listening("u", 123, "chronyd.log").await;
            let cfg = proto_core::app::ntp::NtpClientConfig {
                interval: proto_core::time::Duration::from_millis(250),
                ..Default::default()
            };
            let server = SocketAddr::from(([10, 77, 0, 1], 123));
            // chronyd may call itself unsynchronised for its first moments: ask again.
            let mut tries = 0;
            let s = loop {
                tries += 1;
                match stackclient::apps::ntp::query_with(&stack, server, 4, cfg).await {
                    Ok(s) => break s,
                    Err(e) if tries < 10 => eprintln!("try {tries}: {e}"),
                    Err(e) => panic!("{e}; chronyd: {}", h.read("chronyd.log")),
                }
            };
            eprintln!(
                "chrony: offset {:.3} ms, delay {:.3} ms, stratum {}",
                s.offset_ns as f64 / 1e6,
                s.delay_ns as f64 / 1e6,
                s.stratum
            );
            assert!(s.offset_ns.abs() < 10_000_000, "{s:?}");
            assert_eq!(s.stratum, 8, "chronyd's `local stratum 8`");
        },
    );
}

/// `chronyd -Q` (measure once, do not set the clock) asks our server; it finds the clock
/// right within 10 ms.
#[test]
fn chronyd_queries_our_ntp_server() {
    need("chronyd", "chrony");
    let ns = Netns::new("ntps");
    ns.with_stack(
        Some(&format!("{KERNEL}/24")),
        configured(),
        |h, stack| async move {
            let st = stack.clone();
            let server = tokio::spawn(async move {
                stackclient::apps::ntp::serve(&st, SocketAddr::from(([0, 0, 0, 0], 123))).await
            });
            let conf = h.write(
                "chrony-q.conf",
                &format!(
                    "server {US} iburst maxsamples 4\ncmdport 0\nbindcmdaddress /\npidfile {}\n",
                    h.path("chrony-q.pid")
                ),
            );
            let out = h
                .exec_async(&[
                    "sh",
                    "-c",
                    &format!("timeout 30 chronyd -Q -t 25 -f {conf} 2>&1"),
                ])
                .await;
            eprintln!("{out}");
            // "System clock wrong by 0.000123 seconds (ignored)"
            let wrong = out
                .split("System clock wrong by ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("chronyd -Q measured nothing: {out}"));
            assert!(
                wrong.abs() < 0.010,
                "chronyd finds our clock {wrong} s off: {out}"
            );
            server.abort();
        },
    );
}

/// busybox udhcpc on the kernel side gets an address and a router from our DHCP server;
/// its script applies them, and the kernel then reaches us through them.
#[test]
fn udhcpc_gets_an_address_and_router_from_our_server() {
    use proto_core::app::dhcp::{AddrList, BindingState, DhcpServer, ServerConfig};
    need("busybox", "busybox");
    let ns = Netns::new("dhcps");
    ns.with_stack(None, configured(), |h, stack| async move {
        let us: Ipv4Addr = US.parse().unwrap();
        let mut cfg = ServerConfig::new(
            us,
            Ipv4Addr::new(10, 77, 0, 50),
            Ipv4Addr::new(10, 77, 0, 59),
            Ipv4Addr::new(255, 255, 255, 0),
        );
        cfg.router = Some(us);
        cfg.dns_servers = AddrList::from_slice(&[us]);
        let server =
            stackclient::apps::dhcp::DhcpServerTask::spawn(&stack, DhcpServer::<16, 2>::new(cfg))
                .unwrap();
        let env = h.path("udhcpc.env");
        let script = h.write(
            "udhcpc.sh",
            &format!(
                "#!/bin/sh\ncase \"$1\" in\nbound|renew)\n  ip addr add \"$ip/$mask\" dev \
                 \"$interface\"\n  ip route add default via \"${{router%% *}}\" dev \
                 \"$interface\"\n  echo \"$ip $mask $router $dns $lease\" > {env}\n  ;;\nesac\n"
            ),
        );
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let t0 = Instant::now();
        let out = h
            .exec_async(&[
                "sh",
                "-c",
                &format!("busybox udhcpc -i {DEV} -n -q -f -t 5 -T 2 -s {script} 2>&1"),
            ])
            .await;
        eprintln!("udhcpc in {:?}: {out}", t0.elapsed());
        assert_eq!(
            h.read("udhcpc.env").trim(),
            format!("10.77.0.50 24 {US} {US} 3600"),
            "{out}"
        );
        let addr = h
            .exec_async(&["ip", "-4", "-o", "addr", "show", "dev", DEV])
            .await;
        assert!(addr.contains("inet 10.77.0.50/24"), "{addr}");
        let route = h
            .exec_async(&["ip", "-4", "route", "show", "default"])
            .await;
        assert!(
            route.contains(&format!("default via {US} dev {DEV}")),
            "{route}"
        );
        let ping = h.exec_async(&["ping", "-c", "1", "-W", "2", US]).await;
        assert!(ping.contains("1 received"), "{ping}");
        let b = server.bindings();
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(
            (b[0].addr, b[0].state),
            (Ipv4Addr::new(10, 77, 0, 50), BindingState::Bound)
        );
    });
}

fn web_router() -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(|| async { "hello from the userspace stack\n" }))
        .route(
            "/chunked",
            get(|| async {
                // No length known up front: hyper sends it chunked.
                let parts = (0..100).map(|i| Ok::<_, std::io::Error>(format!("line {i}\n")));
                axum::body::Body::from_stream(futures_util::stream::iter(parts))
            }),
        )
        .route("/big", get(|| async { vec![b'x'; 1 << 20] }))
        .route(
            "/old",
            get(|| async { axum::response::Redirect::permanent("/") }),
        )
}

/// curl in the namespace fetches pages from axum on our stack: two on one connection
/// (keep-alive), a chunked one, 1 MiB, and a redirect it follows.
#[test]
fn curl_fetches_pages_from_our_axum_server() {
    need("curl", "curl");
    let ns = Netns::new("httpd");
    ns.with_stack(
        Some(&format!("{KERNEL}/24")),
        configured(),
        |h, stack| async move {
            let listener = stackclient::runtime::TcpListener::bind(
                &stack,
                SocketAddr::from(([0, 0, 0, 0], 80)),
                64,
            )
            .unwrap();
            let server = tokio::spawn(stackclient::apps::http::serve(listener, web_router()));
            let base = format!("http://{US}");
            let out = h
                .exec_async(&[
                    "sh",
                    "-c",
                    &format!("curl -sS -v --max-time 20 {base}/ {base}/chunked 2>&1"),
                ])
                .await;
            assert!(out.contains("hello from the userspace stack"), "{out}");
            let lines = (0..100).map(|i| format!("line {i}\n")).collect::<String>();
            assert!(out.contains(&lines), "{out}");
            assert!(out.contains("< transfer-encoding: chunked"), "{out}");
            assert!(
                out.contains("Re-using existing connection"),
                "keep-alive: {out}"
            );
            let big = h
                .exec_async(&[
                    "sh",
                    "-c",
                    &format!("curl -sS --max-time 20 {base}/big | sha256sum"),
                ])
                .await;
            let want = {
                use sha2::Digest;
                let d = sha2::Sha256::digest(vec![b'x'; 1 << 20]);
                d.iter().map(|b| format!("{b:02x}")).collect::<String>()
            };
            assert!(big.starts_with(&want), "{big}");
            let redirected = h
                .exec_async(&[
                    "curl",
                    "-sS",
                    "-L",
                    "--max-time",
                    "20",
                    "-w",
                    "%{http_code} %{num_redirects}",
                    &format!("{base}/old"),
                ])
                .await;
            assert_eq!(redirected, "hello from the userspace stack\n200 1");
            server.abort();
        },
    );
}

/// Our hyper client fetches from `python3 -m http.server` on the kernel side: a page, a
/// directory through its redirect (/sub -> /sub/), a 404, and 1 MiB checked byte for byte.
#[test]
fn our_client_fetches_from_python_http_server() {
    need("python3", "python3");
    let ns = Netns::new("httpc");
    ns.with_stack(
        Some(&format!("{KERNEL}/24")),
        configured(),
        |h, stack| async move {
            let www = h.dir.join("www");
            std::fs::create_dir_all(www.join("sub")).unwrap();
            std::fs::write(www.join("index.html"), "<p>python's page</p>\n").unwrap();
            std::fs::write(www.join("sub/index.html"), "<p>sub page</p>\n").unwrap();
            let big: Vec<u8> = (0..1u32 << 20)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            std::fs::write(www.join("big.bin"), &big).unwrap();
            let dir = www.to_string_lossy().into_owned();
            h.spawn(
                "http.log",
                &[
                    "python3",
                    "-m",
                    "http.server",
                    "8000",
                    "--bind",
                    KERNEL,
                    "--directory",
                    &dir,
                ],
            );
            h.wait_listening("t", 8000, "http.log").await;
            let client = stackclient::apps::http::Client::new(&stack);
            let base = format!("http://{KERNEL}:8000");
            let page = client.get(&format!("{base}/")).await.unwrap();
            assert_eq!(page.status.as_u16(), 200);
            assert_eq!(&page.body[..], b"<p>python's page</p>\n");
            let sub = client.get(&format!("{base}/sub")).await.unwrap();
            assert_eq!((sub.status.as_u16(), sub.redirects), (200, 1));
            assert_eq!(sub.url.to_string(), format!("{base}/sub/"));
            assert_eq!(&sub.body[..], b"<p>sub page</p>\n");
            let missing = client.get(&format!("{base}/missing")).await.unwrap();
            assert_eq!(missing.status.as_u16(), 404);
            let t0 = Instant::now();
            let got = client.get(&format!("{base}/big.bin")).await.unwrap();
            eprintln!("1 MiB from python3 -m http.server in {:?}", t0.elapsed());
            assert!(got.body == big[..], "1 MiB body differs");
        },
    );
}
