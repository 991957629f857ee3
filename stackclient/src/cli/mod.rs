//! The command line: global options, bringing the stack up over the chosen link, and one
//! module per subcommand that needs the network (`up`, `ping`, `get`, `serve-http`).

use std::future::Future;
use std::io::IsTerminal;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use proto_core::stack::Config;
use proto_core::wire::{EthernetAddress, Ipv4Cidr};
use stackclient::link::Link;
use stackclient::link::http::{HttpLink, HttpStatsHandle, Mode};
use stackclient::link::observe::Observed;
use stackclient::link::tap::TapLink;
use stackclient::runtime::{Stack, StackConfig};
use tokio::task::JoinHandle;

pub mod get;
pub mod ping;
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
    /// Our IPv4 address and prefix, e.g. 192.168.10.2/24 (static addressing).
    #[arg(long, global = true, value_name = "ADDR/PREFIX")]
    pub addr: Option<Ipv4Cidr>,
    /// The IPv4 default gateway (on-link), with --addr.
    #[arg(long, global = true, value_name = "ADDR")]
    pub gateway: Option<Ipv4Addr>,
    /// The stack's own MAC address (not the TAP's); a random locally administered one by
    /// default.
    #[arg(long, global = true, value_name = "MAC")]
    pub mac: Option<EthernetAddress>,
    /// Write every frame the stack sends and receives to this pcapng file (with directions).
    #[arg(long, global = true, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Log each frame as a one-line field breakdown (-vv: also debug logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
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
}

/// A random locally administered unicast MAC (02:xx:xx:xx:xx:xx).
fn random_mac() -> EthernetAddress {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let x = h.finish().to_le_bytes();
    EthernetAddress([0x02, x[0], x[1], x[2], x[3], x[4]])
}

/// Brings the stack up over the link `g` names, with static addressing.
pub async fn bring_up(g: &Global) -> anyhow::Result<Up> {
    let Some(cidr) = g.addr else {
        bail!(
            "DHCP is not available yet: use --addr (e.g. --addr 192.168.10.2/24 --gateway \
             192.168.10.1 for tapd's default network)"
        );
    };
    if let Some(gw) = g.gateway
        && !cidr.contains(gw)
    {
        bail!("--gateway {gw} is not on --addr {cidr}'s network: the gateway must be on-link");
    }
    let mac = g.mac.unwrap_or_else(random_mac);
    if !mac.is_unicast() {
        bail!("--mac {mac} is a group address: the stack needs a unicast MAC");
    }
    let iface = Config::new(mac).with_ipv4(cidr, g.gateway);
    let cfg = StackConfig::new(iface);
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
        return start(g, cfg, link, name, desc, None, cidr, mac, mtu);
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
    if let Ok(tap) = info.ip_prefix.parse::<Ipv4Cidr>() {
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
    let desc = format!(
        "tapd {} ({mode})",
        link.url().as_str().trim_end_matches('/')
    );
    let stats = link.stats_handle();
    let mtu = link.mtu();
    start(g, cfg, link, "tapd", desc, Some(stats), cidr, mac, mtu)
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
    cidr: Ipv4Cidr,
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
    tracing::info!("up: {cidr} MAC {mac} over {desc}, MTU {mtu}");
    Ok(Up {
        stack,
        driver,
        cidr,
        gateway: g.gateway,
        mac,
        link: desc,
        http_stats,
        mtu,
    })
}

/// Runs `work` until it ends, the link fails, or Ctrl-C / SIGTERM.
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
    }
}
