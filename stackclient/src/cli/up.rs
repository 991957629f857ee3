//! `stackclient up`: brings the stack up (DHCP by default), prints its address and lease, and
//! stays running (answering ARP and ping, renewing the lease) until Ctrl-C, when it gives
//! the lease back.

use proto_core::app::dhcp::Lease;

use super::{Global, bring_up, run_until};

/// A lease in one line: address, router, DNS, NTP, lease time.
pub fn describe_lease(l: &Lease) -> String {
    let list = |v: Vec<std::net::Ipv4Addr>| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let router = l
        .router
        .map_or_else(|| "none".to_string(), |r| r.to_string());
    let secs = l.lease_time.secs();
    let time = if l.lease_time == proto_core::time::Duration::MAX {
        "infinite".to_string()
    } else if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    };
    format!(
        "lease: {}/{} from {}, router {router}, DNS {}, NTP {}, lease time {time}",
        l.addr,
        l.prefix_len,
        l.server,
        list(l.dns_servers.iter().collect()),
        list(l.ntp_servers.iter().collect()),
    )
}

/// Runs `up`.
pub async fn run(g: &Global) -> anyhow::Result<()> {
    let mut up = bring_up(g).await?;
    let gw = up
        .gateway
        .map(|g| format!(", gateway {g}"))
        .unwrap_or_default();
    let how = if up.lease.is_some() { "DHCP" } else { "static" };
    out!(
        "up: {} ({how}){gw}, MAC {}, over {}, MTU {}",
        up.cidr,
        up.mac,
        up.link,
        up.mtu
    );
    if let Some(l) = &up.lease {
        out!("{}", describe_lease(l));
    }
    out!("running; Ctrl-C to stop");
    let watch = up.dhcp.as_ref().map(|d| d.watch());
    let work = async move {
        let Some(mut w) = watch else {
            return std::future::pending::<anyhow::Result<()>>().await;
        };
        w.mark_unchanged();
        loop {
            if w.changed().await.is_err() {
                anyhow::bail!("the DHCP client stopped");
            }
            let now = *w.borrow_and_update();
            match now {
                Some(l) => out!("renewed: {}", describe_lease(&l)),
                None => out!("lease lost: the address was removed; asking DHCP again"),
            }
        }
    };
    let result = run_until(&mut up, work).await;
    up.finish().await;
    result.map(drop)
}
