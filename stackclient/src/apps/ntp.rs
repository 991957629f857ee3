//! NTP over the runtime: [`query`] measures the system clock against a server with
//! proto-core's [`NtpClient`] (best of several samples by delay), [`serve`] answers clients
//! with the system clock through [`NtpServer`]. Wall-clock time is [`SystemTime`]; the
//! machines' timers run on the stack's clock.
//!
//! ```no_run
//! # async fn example(stack: stackclient::runtime::Stack) -> std::io::Result<()> {
//! let s = stackclient::apps::ntp::query(&stack, "10.0.0.1:123".parse().unwrap(), 4).await?;
//! println!("offset {} ns, delay {} ns", s.offset_ns, s.delay_ns);
//! # Ok(()) }
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::SystemTime;

use proto_core::app::ntp::{
    LEAP_NONE, NtpClient, NtpClientConfig, NtpError, NtpServer, NtpServerConfig, NtpTimestamp,
    Sample,
};

use super::{seed, sleep_until};
use crate::runtime::{Stack, UdpSocket};

/// The most samples one [`query`] takes.
pub const MAX_SAMPLES: usize = 8;

/// The wall clock now, as an NTP timestamp.
fn wall() -> NtpTimestamp {
    NtpTimestamp::from_system_time(SystemTime::now())
}

fn any_local(server: SocketAddr) -> SocketAddr {
    match server.ip() {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    }
}

/// Takes `samples` samples (1 to [`MAX_SAMPLES`]) from `server` (2 s apart, 2 s timeout
/// each, as chrony's `iburst`) and returns the one with the least delay: how far the
/// server's clock is ahead of our system clock.
pub async fn query(stack: &Stack, server: SocketAddr, samples: usize) -> io::Result<Sample> {
    query_with(stack, server, samples, NtpClientConfig::default()).await
}

/// [`query`] with other timing (a zero seed is replaced from the OS).
pub async fn query_with(
    stack: &Stack,
    server: SocketAddr,
    samples: usize,
    mut config: NtpClientConfig,
) -> io::Result<Sample> {
    if config.seed == 0 {
        config.seed = seed();
    }
    match samples {
        0 | 1 => run::<1>(stack, server, config).await,
        2 => run::<2>(stack, server, config).await,
        3 => run::<3>(stack, server, config).await,
        4 => run::<4>(stack, server, config).await,
        5 => run::<5>(stack, server, config).await,
        6 => run::<6>(stack, server, config).await,
        7 => run::<7>(stack, server, config).await,
        _ => run::<MAX_SAMPLES>(stack, server, config).await,
    }
}

async fn run<const N: usize>(
    stack: &Stack,
    server: SocketAddr,
    config: NtpClientConfig,
) -> io::Result<Sample> {
    let sock = UdpSocket::bind(stack, any_local(server))?;
    let mut client = NtpClient::<N>::new(config, stack.now());
    let mut buf = [0u8; 1024];
    loop {
        let now = stack.now();
        client.handle_timeout(now);
        if let Some(len) = client.poll_transmit(now, wall(), &mut buf) {
            sock.send_to(&buf[..len], server).await?;
        }
        if let Some(r) = client.poll_result() {
            return r.map_err(|e| ntp_error(server, N, e));
        }
        let at = client.poll_at();
        tokio::select! {
            r = sock.recv_from(&mut buf) => {
                // T4 as early as we can read it.
                let t4 = wall();
                let (n, from) = r?;
                if from == server {
                    let _ = client.handle(stack.now(), t4, &buf[..n]);
                }
            }
            _ = sleep_until(stack, at) => {}
        }
    }
}

fn ntp_error(server: SocketAddr, samples: usize, e: NtpError) -> io::Error {
    let kind = match e {
        NtpError::NoResponse => io::ErrorKind::TimedOut,
        NtpError::Denied(_) => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{e} from {server} ({samples} request(s))"))
}

/// What [`serve`] announces: stratum 10 and reference "LOCL" (an undisciplined local clock,
/// as chrony's and ntpd's `local stratum 10`), precision 2^-20 s, root dispersion 10 ms,
/// reference time now.
pub fn local_clock_config() -> NtpServerConfig {
    NtpServerConfig {
        stratum: 10,
        ref_id: *b"LOCL",
        precision: -20,
        root_delay: 0,
        // 10 ms in 16.16 seconds.
        root_dispersion: 655,
        leap: LEAP_NONE,
        reference: wall(),
    }
}

/// Answers NTP client requests on `local` (port 123 usually) with the system clock, as
/// [`local_clock_config`] describes it, until the socket fails. Spawn it.
pub async fn serve(stack: &Stack, local: SocketAddr) -> io::Result<()> {
    serve_with(stack, local, local_clock_config()).await
}

/// [`serve`] announcing `config`.
pub async fn serve_with(
    stack: &Stack,
    local: SocketAddr,
    config: NtpServerConfig,
) -> io::Result<()> {
    let sock = UdpSocket::bind(stack, local)?;
    let server = NtpServer::new(config);
    let mut rx = [0u8; 1024];
    let mut tx = [0u8; 64];
    loop {
        let (n, from) = sock.recv_from(&mut rx).await?;
        // T2 as early as we can read it, T3 as late as we can write it.
        let t2 = wall();
        match server.respond(&rx[..n], t2, wall(), &mut tx) {
            Ok(len) => {
                sock.send_to(&tx[..len], from).await?;
            }
            Err(e) => tracing::debug!(error = %e, %from, "NTP: request dropped"),
        }
    }
}
