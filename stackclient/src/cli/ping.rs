//! `stackclient ping HOST`: ICMP (or ICMPv6) Echo Requests from the userspace stack, one a
//! second by default, with the kernel ping's output and summary.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use stackclient::runtime::Pinger;
use tokio::time::Instant;

use super::{Global, Up, bring_up, run_until};

/// `ping`'s options.
#[derive(Debug, Clone, Args)]
pub struct PingArgs {
    /// The host to ping: an IP address or a name (resolved through DNS).
    pub host: String,
    /// Stop after this many requests (0: until Ctrl-C).
    #[arg(short = 'c', long, default_value_t = 4)]
    pub count: u32,
    /// Seconds between requests.
    #[arg(short = 'i', long, default_value_t = 1.0)]
    pub interval: f64,
    /// Bytes of data per request.
    #[arg(short = 's', long, default_value_t = 56)]
    pub size: usize,
    /// Seconds to wait for the last reply.
    #[arg(short = 'W', long, default_value_t = 2.0)]
    pub timeout: f64,
}

fn secs(what: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{what} {s}: not a number of seconds"))
}

/// Runs `ping`; fails when no reply came.
pub async fn run(g: &Global, a: &PingArgs) -> anyhow::Result<()> {
    let interval = secs("--interval", a.interval)?;
    let wait = secs("--timeout", a.timeout)?;
    g.check_resolvable(&a.host)?;
    let mut up = bring_up(g).await?;
    let result = ping(&mut up, a, interval, wait).await;
    up.finish().await;
    result
}

async fn ping(up: &mut Up, a: &PingArgs, interval: Duration, wait: Duration) -> anyhow::Result<()> {
    let dst: IpAddr = up.lookup_host(&a.host).await?;
    if a.host.parse::<IpAddr>().is_err() {
        out!("{} is {dst}", a.host);
    }
    let pinger = Pinger::new(&up.stack, std::process::id() as u16);
    out!(
        "PING {dst}: {} data bytes (from {})",
        a.size,
        up.cidr.address()
    );
    let data: Vec<u8> = (0..a.size).map(|i| i as u8).collect();
    let count = a.count;
    let mut stats = (0u32, 0u32, Vec::<f64>::new());
    let result = run_until(up, async {
        let mut sent_at = Vec::new();
        let mut seq: u16 = 0;
        let mut next = Instant::now();
        let mut last_sent: Option<Instant> = None;
        loop {
            let done = count != 0 && u32::from(seq) >= count;
            let deadline = match (done, last_sent) {
                (true, Some(t)) => t + wait,
                (true, None) => break,
                (false, _) => next,
            };
            if done && stats.1 >= stats.0 {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    if done {
                        break;
                    }
                    seq = seq.wrapping_add(1);
                    pinger
                        .send(dst, seq, &data)
                        .with_context(|| format!("sending an echo request to {dst}"))?;
                    let now = Instant::now();
                    sent_at.push((seq, now));
                    last_sent = Some(now);
                    stats.0 += 1;
                    next = now + interval;
                }
                r = pinger.recv() => {
                    let r = r?;
                    let Some(&(_, at)) = sent_at.iter().find(|(s, _)| *s == r.seq_no) else {
                        continue;
                    };
                    let ms = at.elapsed().as_secs_f64() * 1000.0;
                    out!(
                        "{} bytes from {}: icmp_seq={} ttl={} time={ms:.2} ms",
                        r.data_len + 8,
                        r.from,
                        r.seq_no,
                        r.ttl
                    );
                    stats.1 += 1;
                    stats.2.push(ms);
                }
            }
        }
        Ok(())
    })
    .await;
    let (sent, received, times) = stats;
    out!("--- {dst} ping statistics ---");
    let loss = if sent == 0 {
        0.0
    } else {
        100.0 * f64::from(sent - received.min(sent)) / f64::from(sent)
    };
    out!("{sent} packets transmitted, {received} received, {loss:.0}% packet loss");
    if !times.is_empty() {
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        let max = times.iter().copied().fold(0.0, f64::max);
        let avg = times.iter().sum::<f64>() / times.len() as f64;
        out!("rtt min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms");
    }
    result?;
    if received == 0 && sent > 0 {
        bail!("no reply from {dst}");
    }
    Ok(())
}
