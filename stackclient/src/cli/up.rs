//! `stackclient up`: brings the stack up, prints its address, and stays running (answering
//! ARP and ping) until Ctrl-C.

use super::{Global, bring_up, run_until};

/// Runs `up`.
pub async fn run(g: &Global) -> anyhow::Result<()> {
    let mut up = bring_up(g).await?;
    let gw = up
        .gateway
        .map(|g| format!(", gateway {g}"))
        .unwrap_or_default();
    println!(
        "up: {} (static){gw}, MAC {}, over {}, MTU {}",
        up.cidr, up.mac, up.link, up.mtu
    );
    println!("running; Ctrl-C to stop");
    run_until(&mut up, std::future::pending::<anyhow::Result<()>>()).await?;
    Ok(())
}
