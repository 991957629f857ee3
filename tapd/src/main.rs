//! `tapd`: opens a TAP device and exposes it over HTTP (`POST /send`, `GET /recv`).
//!
//! Only the command line exists so far; the daemon lands with issue 3. Running it says so and
//! exits with status 2 rather than pretending to serve.

use clap::Parser;

/// Exposes a TAP device over HTTP so unprivileged programs can send and receive raw frames.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Name of the TAP device to create.
    #[arg(long, default_value = "tap0")]
    name: String,
    /// Address and prefix to give the device.
    #[arg(long, default_value = "192.168.10.1/24")]
    addr: proto_core::wire::ipv4::Ipv4Cidr,
}

fn main() {
    let args = Args::parse();
    eprintln!(
        "tapd: the daemon is not built yet (it lands with issue 3); \
         parsed --name {} --addr {}, nothing opened",
        args.name, args.addr
    );
    std::process::exit(2);
}
