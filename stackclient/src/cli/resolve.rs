//! `stackclient resolve NAME`: A and AAAA lookups through the userspace stack, against the
//! lease's DNS servers (or `--dns`), printing the addresses and the canonical name.

use std::net::IpAddr;

use anyhow::bail;
use clap::Args;
use proto_core::app::dns::Type;

use super::{Global, Up, bring_up, run_until};

/// `resolve`'s options.
#[derive(Debug, Clone, Args)]
pub struct ResolveArgs {
    /// The name to look up, e.g. www.example.test.
    pub name: String,
}

/// Runs `resolve`.
pub async fn run(g: &Global, a: &ResolveArgs) -> anyhow::Result<()> {
    if a.name.parse::<IpAddr>().is_ok() {
        bail!(
            "{}: that is an address already (resolve looks up names)",
            a.name
        );
    }
    if g.addr.is_some() && g.dns.is_empty() {
        bail!(
            "no DNS server: with --addr there is no DHCP lease to name one; give one with \
             --dns ADDR"
        );
    }
    let mut up = bring_up(g).await?;
    let result = resolve(&mut up, &a.name).await;
    up.finish().await;
    result
}

async fn resolve(up: &mut Up, name: &str) -> anyhow::Result<()> {
    let resolver = up.resolver()?;
    let asked = up.dns_list();
    let (v4, v6) = match run_until(up, async {
        Ok(tokio::join!(
            resolver.query(name, Type::A),
            resolver.query(name, Type::Aaaa)
        ))
    })
    .await?
    {
        Some(r) => r,
        None => bail!("interrupted"),
    };
    let (v4, v6) = match (v4, v6) {
        // Both failed: the A lookup's error says why (NXDOMAIN, no answer).
        (Err(e), Err(_)) => return Err(up.dns_failure(name, e)),
        (v4, v6) => (v4.ok(), v6.ok()),
    };
    let canonical = v4
        .as_ref()
        .or(v6.as_ref())
        .map(|a| a.canonical.to_string())
        .unwrap_or_else(|| name.to_string());
    if canonical.trim_end_matches('.') != name.trim_end_matches('.') {
        out!("{name} is an alias for {canonical}");
    }
    for a in v4.iter().chain(v6.iter()).flat_map(|a| a.addrs()) {
        match a {
            IpAddr::V4(a) => out!("{canonical} has address {a}"),
            IpAddr::V6(a) => out!("{canonical} has IPv6 address {a}"),
        }
    }
    out!("(asked {asked})");
    Ok(())
}
