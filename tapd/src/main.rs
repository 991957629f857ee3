//! `tapd`: opens a TAP device and exposes it over HTTP (`POST /send`, `GET /recv`, ...).
//!
//! This is the privileged part only: parse flags, open and configure the device, bind the
//! listener, drop root, then hand over to [`tapd::run`].

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use proto_core::wire::EthernetAddress;
use proto_core::wire::ipv4::Ipv4Cidr;
use tapd::dhcp::{DhcpOptions, DhcpResponder};
use tapd::tap::{self, TapConfig, TapDevice, TapError};
use tapd::{Hub, HubConfig, privs};

/// Exposes a TAP device over HTTP so unprivileged programs can send and receive raw frames.
///
/// Run as root: tapd creates the device, gives it its address, MTU and link up, binds the
/// listener, then drops to --user before serving. SIGINT/SIGTERM remove the device.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Name of the TAP device to create (it must not exist yet).
    #[arg(long, default_value = "tap0")]
    name: String,
    /// Address and prefix to give the device.
    #[arg(long, default_value = "192.168.10.1/24")]
    addr: Ipv4Cidr,
    /// MTU of the device.
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u16).range(i64::from(tap::MIN_MTU)..=i64::from(tap::MAX_MTU)))]
    mtu: u16,
    /// Address to serve HTTP on. Anything but loopback needs --token.
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Receive queue length in frames; when full, the oldest frame is dropped (and counted).
    /// The queue also never holds more than 256 MiB.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    queue: u64,
    /// The account to run as after start-up (no supplementary groups).
    #[arg(long, default_value = "nobody")]
    user: String,
    /// Require `Authorization: Bearer <TOKEN>` on every request. Prefer the environment
    /// variable: command lines are visible to every local user.
    #[arg(long, env = "TAPD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Answer DHCP for the link's clients: addresses from the device's prefix, router and DNS
    /// server = the device's address, one-hour leases.
    #[arg(long)]
    dhcp: bool,
    /// With --dhcp: an NTP server to offer (option 42); repeat for more.
    #[arg(long, value_name = "ADDR", requires = "dhcp")]
    dhcp_ntp: Vec<std::net::Ipv4Addr>,
}

/// Why the daemon did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("--listen {0} is not a loopback address; serving beyond this machine needs --token")]
    ListenNeedsToken(SocketAddr),
    #[error("--token is empty")]
    EmptyToken,
    #[error(transparent)]
    Privileges(#[from] privs::PrivError),
    #[error(transparent)]
    Tap(#[from] TapError),
    #[error(transparent)]
    Dhcp(#[from] tapd::dhcp::NoRoom),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

fn io_err(what: &'static str) -> impl FnOnce(std::io::Error) -> StartError {
    move |source| StartError::Io { what, source }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    match start(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tapd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Privileged set-up, the drop, then serving. Every check that needs no privilege comes
/// first, so a mistake is reported before anything is created.
fn start(args: Args) -> Result<(), StartError> {
    if !args.listen.ip().is_loopback() && args.token.is_none() {
        return Err(StartError::ListenNeedsToken(args.listen));
    }
    if args.token.as_deref() == Some("") {
        return Err(StartError::EmptyToken);
    }
    tap::check_name(&args.name)?;
    tap::check_address(args.addr)?;
    let dhcp_options = DhcpOptions {
        ntp_servers: args.dhcp_ntp.clone(),
    };
    if args.dhcp {
        // Checked now, before anything is created; made again once the MAC is known.
        DhcpResponder::new(
            args.addr,
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            &dhcp_options,
        )?;
    }
    privs::require_root()?;
    let user = privs::lookup(&args.user)?;

    let config = TapConfig {
        name: args.name.clone(),
        addr: args.addr,
        mtu: args.mtu,
    };
    let device = TapDevice::open(&config)?;
    let listener = std::net::TcpListener::bind(args.listen).map_err(|source| StartError::Bind {
        addr: args.listen,
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(io_err("setting the listener non-blocking"))?;
    // No thread exists yet: the new identity applies to the whole process.
    let dropped = privs::drop_to(&user)?;
    tracing::info!(
        device = device.name(),
        addr = %args.addr,
        mtu = args.mtu,
        mac = %device.hardware_addr(),
        listen = %args.listen,
        user = %args.user,
        uid = %dropped.uid,
        gid = %dropped.gid,
        auth = args.token.is_some(),
        dhcp = args.dhcp,
        "serving",
    );
    let dhcp = if args.dhcp {
        Some(DhcpResponder::new(
            args.addr,
            device.hardware_addr(),
            &dhcp_options,
        )?)
    } else {
        None
    };

    let hub_config = HubConfig {
        mtu: args.mtu,
        prefix: args.addr,
        hardware_addr: device.hardware_addr(),
        queue_len: args.queue as usize,
        token: args.token,
        if_name: args.name.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io_err("starting the async runtime"))?;
    let result = runtime.block_on(serve(device, listener, hub_config, dhcp));
    // Tasks still holding the device (requests past the grace period) end with the runtime;
    // the last close of the descriptor makes the kernel remove the device.
    runtime.shutdown_timeout(Duration::from_secs(1));
    if tap::exists(&args.name) {
        tracing::warn!(device = args.name, "device still present after shutdown");
    } else {
        tracing::info!(device = args.name, "device removed");
    }
    result
}

async fn serve(
    device: TapDevice,
    listener: std::net::TcpListener,
    config: HubConfig,
    dhcp: Option<DhcpResponder>,
) -> Result<(), StartError> {
    let (hub, reader) = device
        .start_reader(move |link| {
            let hub = Hub::new(config, link);
            Arc::new(match dhcp {
                Some(d) => hub.with_dhcp(d),
                None => hub,
            })
        })
        .map_err(io_err("starting the device reader"))?;
    let listener =
        tokio::net::TcpListener::from_std(listener).map_err(io_err("registering the listener"))?;
    let signals = shutdown_signal().map_err(io_err("installing signal handlers"))?;
    tapd::run(listener, hub, signals)
        .await
        .map_err(io_err("serving"))?;
    reader.stop().map_err(io_err("reading the device"))
}

/// Resolves on the first SIGINT or SIGTERM.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let which = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = which, "received");
    })
}
