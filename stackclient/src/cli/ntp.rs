//! `stackclient ntp [SERVER]`: measures the system clock against an NTP server (the lease's
//! NTP server by default) through the userspace stack: offset and round-trip delay.

use std::net::{IpAddr, SocketAddr};

use anyhow::bail;
use clap::Args;
use stackclient::apps::ntp;

use super::{Global, Up, bring_up, run_until};

/// `ntp`'s options.
#[derive(Debug, Clone, Args)]
pub struct NtpArgs {
    /// The server: an address or a name, optionally with :PORT (default: the DHCP lease's
    /// NTP server).
    pub server: Option<String>,
    /// Samples to take, 2 s apart (the one with the least delay is reported).
    #[arg(short = 'n', long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub samples: u8,
}

/// Runs `ntp`.
pub async fn run(g: &Global, a: &NtpArgs) -> anyhow::Result<()> {
    match &a.server {
        None if g.addr.is_some() => bail!(
            "no NTP server: with --addr there is no DHCP lease to name one; give one \
             (stackclient ntp ADDR)"
        ),
        Some(s) => g.check_resolvable(split_port(s).0)?,
        None => {}
    }
    let mut up = bring_up(g).await?;
    let result = measure(&mut up, a).await;
    up.finish().await;
    result
}

/// `host`, `host:port` or `[v6]:port` as a host and a port (123 by default).
fn split_port(s: &str) -> (&str, u16) {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return (s.rsplit_once(':').map_or(s, |(h, _)| h), a.port());
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(p) => (h, p),
            Err(_) => (s, 123),
        },
        _ => (s, 123),
    }
}

async fn measure(up: &mut Up, a: &NtpArgs) -> anyhow::Result<()> {
    let (server, how) = match &a.server {
        Some(s) => {
            let (host, port) = split_port(s);
            let ip: IpAddr = up.lookup_host(host).await?;
            (SocketAddr::new(ip, port), "")
        }
        None => {
            let Some(lease) = &up.lease else {
                bail!(
                    "no NTP server: with --addr there is no DHCP lease to name one; give one \
                     (stackclient ntp ADDR)"
                );
            };
            let Some(ip) = lease.ntp_servers.iter().next() else {
                bail!(
                    "no NTP server: the DHCP lease from {} names none (option 42); give one \
                     (stackclient ntp ADDR)",
                    lease.server
                );
            };
            (SocketAddr::new(ip.into(), 123), " (from the DHCP lease)")
        }
    };
    let stack = up.stack.clone();
    let samples = usize::from(a.samples);
    let sample = run_until(up, async move {
        ntp::query(&stack, server, samples)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::TimedOut => {
                    anyhow::anyhow!("no NTP answer: {e} (is an NTP server running at {server}?)")
                }
                _ => anyhow::anyhow!("NTP: {e}"),
            })
    })
    .await?;
    let Some(s) = sample else {
        bail!("interrupted");
    };
    let ms = |ns: i64| ns as f64 / 1e6;
    out!("server {server}{how}, stratum {}", s.stratum);
    out!(
        "offset {:+.3} ms ({}), delay {:.3} ms",
        ms(s.offset_ns),
        if s.offset_ns >= 0 {
            "the server's clock is ahead of ours"
        } else {
            "the server's clock is behind ours"
        },
        ms(s.delay_ns)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_port;

    #[test]
    fn servers_with_and_without_ports() {
        assert_eq!(split_port("10.0.0.1"), ("10.0.0.1", 123));
        assert_eq!(split_port("10.0.0.1:1123"), ("10.0.0.1", 1123));
        assert_eq!(split_port("ntp.test"), ("ntp.test", 123));
        assert_eq!(split_port("ntp.test:5"), ("ntp.test", 5));
        assert_eq!(split_port("[fd00::1]:9"), ("[fd00::1]", 9));
        assert_eq!(split_port("fd00::1"), ("fd00::1", 123));
    }
}
