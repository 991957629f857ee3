//! The command line: global options, bringing the stack up over the chosen link (DHCP by
//! default, `--addr` for a static address), name resolution for the commands, and one module
//! per subcommand that needs the network (`up`, `ping`, `resolve`, `ntp`, `get`,
//! `serve-http`).

use std::future::Future;
use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use proto_core::app::dhcp::Lease;
use proto_core::stack::Config;
use proto_core::wire::{EthernetAddress, Ipv4Cidr};
use stackclient::apps::dhcp::{DhcpClientConfig, DhcpClientTask};
use stackclient::apps::dns::{Resolver, lease_servers};
use stackclient::link::Link;
use stackclient::link::http::{HttpLink, HttpStatsHandle, Mode};
use stackclient::link::observe::Observed;
use stackclient::link::tap::TapLink;
use stackclient::runtime::{Stack, StackConfig};
use tokio::task::JoinHandle;

/// `println!` for command output that never panics: once standard output is gone (the
/// reader of a pipe left, as with `| head`), output stops and the command ends as on Ctrl-C,
/// releasing its DHCP lease (see [`run_until`]).
macro_rules! out {
    ($($t:tt)*) => {
        $crate::cli::print_line(format_args!($($t)*))
    };
}

/// Set once writing to standard output failed.
static STDOUT_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Wakes [`run_until`] when standard output goes away.
static STDOUT_GONE_NOTIFY: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Writes one line to standard output (see `out!`).
pub fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{args}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        STDOUT_GONE_NOTIFY.notify_one();
    }
}

/// Resolves once standard output is gone.
async fn stdout_gone() {
    if !STDOUT_GONE.load(std::sync::atomic::Ordering::Relaxed) {
        STDOUT_GONE_NOTIFY.notified().await;
    }
}

pub mod get;
pub mod ntp;
pub mod ping;
pub mod resolve;
pub mod serve;
pub mod up;

/// The tapd URL used when `--link` is not given.
pub const DEFAULT_LINK: &str = "http://127.0.0.1:7070";

/// Options every network subcommand takes (before or after the subcommand's name).
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The link: tapd's URL (`http://HOST:PORT`) or a TAP device created here (`tap:NAME`,
    /// needs CAP_NET_ADMIN).
    #[arg(long, global = true, visible_alias = "tapd", value_name = "URL|tap:NAME",
          default_value = DEFAULT_LINK, env = "STACKCLIENT_LINK")]
    pub link: String,
    /// tapd's bearer token (prefer the variable: command lines are public).
    #[arg(long, global = true, env = "TAPD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Our IPv4 address and prefix, e.g. 192.168.10.2/24 (static addressing; without it the
    /// stack asks DHCP).
    #[arg(long, global = true, value_name = "ADDR/PREFIX")]
    pub addr: Option<Ipv4Cidr>,
    /// The IPv4 default gateway (on-link), with --addr.
    #[arg(long, global = true, value_name = "ADDR", requires = "addr")]
    pub gateway: Option<Ipv4Addr>,
    /// DNS server(s) to ask instead of the lease's (needed with --addr to use names).
    #[arg(long, global = true, value_name = "ADDR", value_delimiter = ',')]
    pub dns: Vec<IpAddr>,
    /// Seconds to wait for a DHCP lease.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30)]
    pub dhcp_timeout: u64,
    /// Use the offered address without probing it with ARP first (RFC 5227; saves ~3 s).
    #[arg(long, global = true)]
    pub no_arp_probe: bool,
    /// The stack's own MAC address (not the TAP's); a random locally administered one by
    /// default.
    #[arg(long, global = true, value_name = "MAC")]
    pub mac: Option<EthernetAddress>,
    /// Write every frame the stack sends and receives to this pcapng file (with directions).
    #[arg(long, global = true, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Send and receive buffer of each TCP connection (bytes, or with K/M); the send buffer
    /// bounds the data in flight, so a link with a longer round trip wants more.
    #[arg(long, global = true, value_name = "BYTES", default_value = "1M", value_parser = parse_size)]
    pub tcp_buffer: usize,
    /// Do not hand the link TCP frames of up to 64 KiB to segment (TSO; used with a TAP
    /// device and with a tapd that offers it): every frame then fits the MTU, also in --pcap.
    #[arg(long, global = true)]
    pub no_offload: bool,
    /// Log each frame as a one-line field breakdown (-vv: also debug logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `4096`, `256K`, `4M` (binary units): 4 KiB to 64 MiB.
fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, unit) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        _ => (s, 1),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size: give bytes, or a number with K or M"))?;
    let bytes = n.saturating_mul(unit);
    if !(4 << 10..=64 << 20).contains(&bytes) {
        return Err(format!("{s} is outside 4K..64M"));
    }
    Ok(bytes)
}

impl Global {
    /// Fails before anything is brought up when `host` is a name that cannot be resolved:
    /// with --addr and no --dns there is no DNS server to ask.
    pub fn check_resolvable(&self, host: &str) -> anyhow::Result<()> {
        let is_ip = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok();
        if !is_ip && self.addr.is_some() && self.dns.is_empty() {
            bail!(
                "{host}: no DNS server to resolve it: with --addr there is no DHCP lease to name \
                 one; give one with --dns ADDR, or use an IP address"
            );
        }
        Ok(())
    }
}

/// Sets up logging to stderr: warnings by default; `-v` adds the frame lines and info, `-vv`
/// debug. `RUST_LOG` overrides.
pub fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "warn,stackclient=info,frames=info",
        _ => "debug,hyper=info,hyper_util=info,reqwest=info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// What a running stack is made of, for the commands and the status page.
pub struct Up {
    /// The stack handle.
    pub stack: Stack,
    /// Its driver (ends with the link's error if the link fails).
    pub driver: JoinHandle<std::io::Result<()>>,
    /// Our address.
    pub cidr: Ipv4Cidr,
    /// Our gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Our MAC.
    pub mac: EthernetAddress,
    /// The link, in words (`tapd http://127.0.0.1:7070 (batched)`, `TAP tap1`).
    pub link: String,
    /// The HTTP link's counters, when that is the link.
    pub http_stats: Option<HttpStatsHandle>,
    /// The link's MTU.
    pub mtu: usize,
    /// The DHCP lease the address came from (none with --addr).
    pub lease: Option<Lease>,
    /// The DHCP client keeping the lease.
    pub dhcp: Option<DhcpClientTask>,
    /// DNS servers: --dns, else the lease's.
    pub dns: Vec<SocketAddr>,
}

impl Up {
    /// A resolver asking [`Up::dns`]; an error saying how to name a server when there is none.
    pub fn resolver(&self) -> anyhow::Result<Resolver> {
        if self.dns.is_empty() {
            match &self.lease {
                Some(l) => bail!(
                    "no DNS server: the DHCP lease from {} names none; give one with --dns ADDR",
                    l.server
                ),
                None => bail!(
                    "no DNS server: with --addr there is no DHCP lease to name one; give one \
                     with --dns ADDR"
                ),
            }
        }
        Ok(Resolver::new(&self.stack, &self.dns))
    }

    /// The DNS servers, in words ("192.168.10.1, 10.0.0.1").
    pub fn dns_list(&self) -> String {
        let v: Vec<String> = self.dns.iter().map(|s| s.ip().to_string()).collect();
        v.join(", ")
    }

    /// `host` as an address: an IP literal as is, a name through DNS (an IPv4 address first).
    pub async fn lookup_host(&self, host: &str) -> anyhow::Result<IpAddr> {
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
            return Ok(ip);
        }
        let resolver = self.resolver()?;
        let addrs = resolver
            .lookup(host)
            .await
            .map_err(|e| self.dns_failure(host, e))?;
        let first = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied();
        first.ok_or_else(|| anyhow::anyhow!("name not found: {host} (asked {})", self.dns_list()))
    }

    /// A lookup's error as the user should read it.
    pub fn dns_failure(&self, name: &str, e: std::io::Error) -> anyhow::Error {
        match e.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::anyhow!("name not found: {name} (asked {})", self.dns_list())
            }
            std::io::ErrorKind::TimedOut => anyhow::anyhow!(
                "no answer from the DNS server(s) {} for {name} (is a DNS server running \
                 there?)",
                self.dns_list()
            ),
            _ => anyhow::Error::new(e),
        }
    }

    /// Gives a DHCP lease back (bounded wait), so that short runs do not fill the server's
    /// table. Nothing to do with --addr or when the link has failed.
    pub async fn finish(mut self) {
        if let Some(dhcp) = self.dhcp.take()
            && !self.driver.is_finished()
        {
            match tokio::time::timeout(Duration::from_secs(2), dhcp.release()).await {
                Ok(Ok(Some(l))) => tracing::info!("DHCP: released {}", l.addr),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!("DHCP release: {e}"),
                Err(_) => tracing::warn!("DHCP release: timed out"),
            }
        }
    }
}

/// A random locally administered unicast MAC (02:xx:xx:xx:xx:xx).
fn random_mac() -> EthernetAddress {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let x = h.finish().to_le_bytes();
    EthernetAddress([0x02, x[0], x[1], x[2], x[3], x[4]])
}

/// Brings the stack up over the link `g` names: with `--addr`, a static address; otherwise
/// DHCP, waiting for a lease (at most `--dhcp-timeout`).
pub async fn bring_up(g: &Global) -> anyhow::Result<Up> {
    if let (Some(cidr), Some(gw)) = (g.addr, g.gateway)
        && !cidr.contains(gw)
    {
        bail!("--gateway {gw} is not on --addr {cidr}'s network: the gateway must be on-link");
    }
    let mac = g.mac.unwrap_or_else(random_mac);
    if !mac.is_unicast() {
        bail!("--mac {mac} is a group address: the stack needs a unicast MAC");
    }
    let mut iface = Config::new(mac);
    if let Some(cidr) = g.addr {
        iface = iface.with_ipv4(cidr, g.gateway);
    }
    let mut cfg = StackConfig::new(iface).with_tcp_buffer(g.tcp_buffer);
    if g.no_offload {
        cfg = cfg.without_offload();
    }
    if let Some(name) = g.link.strip_prefix("tap:") {
        if name.is_empty() || name.len() > 15 {
            bail!(
                "bad --link {:?}: tap:NAME needs a device name of 1 to 15 bytes",
                g.link
            );
        }
        let link = TapLink::open(name).with_context(|| format!("--link {}", g.link))?;
        let mtu = link.mtu();
        let desc = format!("TAP {name}");
        let hint = format!(
            "a DHCP server must answer on {name}'s side (e.g. dnsmasq), or give --addr \
             ADDR/PREFIX for a static address"
        );
        let up = start(g, cfg, link, name, desc, None, mac, mtu)?;
        return finish_up(g, up, &hint).await;
    }
    if !g.link.contains("://") {
        bail!(
            "bad --link {:?}: expected tapd's URL (http://HOST:PORT) or tap:NAME",
            g.link
        );
    }
    let link = HttpLink::connect(&g.link, g.token.as_deref()).await?;
    let info = link.info().clone();
    if let Ok(tap_mac) = info.hardware_addr.parse::<EthernetAddress>()
        && tap_mac == mac
    {
        bail!(
            "--mac {mac} is the TAP device's own MAC: the stack needs a MAC of its own \
             (leave --mac out for a random one)"
        );
    }
    if let (Ok(tap), Some(cidr)) = (info.ip_prefix.parse::<Ipv4Cidr>(), g.addr) {
        if tap.address() == cidr.address() {
            bail!(
                "--addr {cidr} is the TAP device's own address ({}): pick another address on \
                 that network, e.g. {}",
                info.ip_prefix,
                suggest(tap)
            );
        }
        if !tap.contains(cidr.address()) {
            tracing::warn!(
                "--addr {cidr} is not on the TAP's network {}: the kernel will not reach us \
                 without a route",
                info.ip_prefix
            );
        }
    }
    let mode = match link.mode() {
        Mode::Batched => "batched",
        Mode::Basic => "basic, polling",
    };
    let url = link.url().as_str().trim_end_matches('/').to_string();
    let desc = format!("tapd {url} ({mode})");
    let hint = format!(
        "tapd answers DHCP only when started with --dhcp (sudo tapd --dhcp), or give --addr \
         ADDR/PREFIX for a static address (e.g. --addr {} on tapd's network {})",
        info.ip_prefix
            .parse::<Ipv4Cidr>()
            .map(|t| format!("{}/{}", suggest(t), t.prefix_len()))
            .unwrap_or_else(|_| "192.168.10.2/24".into()),
        info.ip_prefix,
    );
    let stats = link.stats_handle();
    let mtu = link.mtu();
    let up = start(g, cfg, link, "tapd", desc, Some(stats), mac, mtu)?;
    finish_up(g, up, &hint).await
}

/// With --addr: the stack is up. Otherwise runs DHCP until bound (racing the link: a failed
/// link ends the wait with its error) and applies the lease; `hint` ends a timeout's message.
async fn finish_up(g: &Global, mut up: Up, hint: &str) -> anyhow::Result<Up> {
    up.dns = g.dns.iter().map(|a| SocketAddr::new(*a, 53)).collect();
    if g.addr.is_some() {
        return Ok(up);
    }
    let cfg = DhcpClientConfig::new(up.link.clone()).with_arp_probe(!g.no_arp_probe);
    let mut dhcp = up.stack.dhcp(cfg).context("starting the DHCP client")?;
    let limit = Duration::from_secs(g.dhcp_timeout.max(1));
    tracing::info!("DHCP: asking on {}", up.link);
    let lease = tokio::select! {
        l = dhcp.bound(limit) => l.map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut {
                anyhow::anyhow!("DHCP timeout: {e}; {hint}")
            } else {
                anyhow::Error::new(e).context("DHCP")
            }
        })?,
        d = &mut up.driver => match d {
            Ok(Ok(())) => bail!("the stack stopped while waiting for DHCP"),
            Ok(Err(e)) => return Err(anyhow::Error::new(e).context("the link failed")),
            Err(e) => bail!("the stack's driver task failed: {e}"),
        },
    };
    up.cidr =
        Ipv4Cidr::new(lease.addr, lease.prefix_len).context("the DHCP lease's prefix length")?;
    up.gateway = lease.router;
    if up.dns.is_empty() {
        up.dns = lease_servers(&lease);
    }
    up.lease = Some(lease);
    up.dhcp = Some(dhcp);
    tracing::info!("DHCP: bound {} from {}", up.cidr, lease.server);
    Ok(up)
}

/// An address on `tap`'s network that is not the TAP's.
fn suggest(tap: Ipv4Cidr) -> Ipv4Addr {
    let a = u32::from(tap.address());
    let next = Ipv4Addr::from(a.wrapping_add(1));
    if tap.contains(next) && next != tap.broadcast() {
        next
    } else {
        Ipv4Addr::from(a.wrapping_sub(1))
    }
}

#[allow(clippy::too_many_arguments)]
fn start<L: Link>(
    g: &Global,
    cfg: StackConfig,
    link: L,
    if_name: &str,
    desc: String,
    http_stats: Option<HttpStatsHandle>,
    mac: EthernetAddress,
    mtu: usize,
) -> anyhow::Result<Up> {
    let mut observed = Observed::new(link).log_frames(g.verbose > 0);
    if let Some(path) = &g.pcap {
        observed = observed
            .capture_to(path, if_name)
            .with_context(|| format!("--pcap {}", path.display()))?;
    }
    let (stack, driver) = Stack::new(cfg, observed);
    let cidr = g
        .addr
        .unwrap_or(Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0).expect("/0 is valid"));
    match g.addr {
        Some(cidr) => tracing::info!("up: {cidr} MAC {mac} over {desc}, MTU {mtu}"),
        None => tracing::info!("up: MAC {mac} over {desc}, MTU {mtu}; no address yet"),
    }
    Ok(Up {
        stack,
        driver,
        cidr,
        gateway: g.gateway,
        mac,
        link: desc,
        http_stats,
        mtu,
        lease: None,
        dhcp: None,
        dns: Vec::new(),
    })
}

/// Runs `work` until it ends, the link fails, Ctrl-C / SIGTERM, or standard output goes
/// away (a closed pipe).
pub async fn run_until<T>(
    up: &mut Up,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Option<T>> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = work => r.map(Some),
        d = &mut up.driver => match d {
            Ok(Ok(())) => bail!("the stack stopped"),
            Ok(Err(e)) => Err(anyhow::Error::new(e).context("the link failed")),
            Err(e) => bail!("the stack's driver task failed: {e}"),
        },
        _ = tokio::signal::ctrl_c() => Ok(None),
        _ = term.recv() => Ok(None),
        () = stdout_gone() => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_units_and_bounds() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("256K"), Ok(256 << 10));
        assert_eq!(parse_size("4m"), Ok(4 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("65M"), Err("65M is outside 4K..64M".into()));
        assert_eq!(parse_size("1K"), Err("1K is outside 4K..64M".into()));
        assert!(parse_size("x").unwrap_err().contains("not a size"));
        assert!(parse_size("").is_err());
    }
}
