//! `stackclient`: the userspace network stack's command line.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use proto_core::pcap::{LINKTYPE_ETHERNET, PcapReader};
use stackclient::dissect::{Mode, dissect_capture};

mod cli;

/// A userspace network stack over tapd's HTTP link or another link.
///
/// Typical use, with `sudo tapd --dhcp` running (tap0, 192.168.10.1/24):
/// `stackclient --serve-http` (DHCP; or `--addr 192.168.10.2/24 --gateway 192.168.10.1`)
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: cli::Global,
    /// Serve HTTP on the stack (the same as the serve-http subcommand).
    #[arg(long)]
    serve_http: bool,
    /// The port for --serve-http.
    #[arg(long, default_value_t = 80, requires = "serve_http")]
    port: u16,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bring the stack up, print its address and DHCP lease, and keep running (it answers ARP
    /// and ping, and renews the lease).
    Up,
    /// Send ICMP echo requests to a host and print the replies.
    Ping(cli::ping::PingArgs),
    /// Look a name up (A and AAAA) through DNS: its addresses and canonical name.
    Resolve(cli::resolve::ResolveArgs),
    /// Measure the system clock against an NTP server: offset and delay.
    Ntp(cli::ntp::NtpArgs),
    /// Fetch a URL over the userspace stack (HTTP/1.1) to stdout or a file.
    Get(cli::get::GetArgs),
    /// Serve HTTP on the stack: an index page, /bytes/N, /echo, /stats.
    ServeHttp(cli::serve::ServeArgs),
    /// Print a one-line summary of each Ethernet frame of a pcap file (or of one hex frame).
    Decode {
        /// A classic pcap file with Ethernet frames.
        #[arg(required_unless_present = "hex", conflicts_with = "hex")]
        file: Option<PathBuf>,
        /// One frame as hex digits instead of a file (spaces and colons allowed).
        #[arg(long)]
        hex: Option<String>,
    },
    /// Dissect every frame of a pcap or pcapng file: one summary line per frame, the field
    /// tree with -V, or one JSON document with --json.
    Dissect {
        /// A pcap or pcapng file.
        file: PathBuf,
        /// Print the field tree of each frame (like tshark -V).
        #[arg(short = 'V', long = "tree", conflicts_with = "json")]
        tree: bool,
        /// Print one JSON array of frames, with layers and fields.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match (cli.command, cli.serve_http) {
        (Some(_), true) => {
            eprintln!(
                "stackclient: --serve-http is itself a command: give it alone or use serve-http"
            );
            return ExitCode::from(2);
        }
        (Some(c), false) => c,
        (None, true) => Command::ServeHttp(cli::serve::ServeArgs { port: cli.port }),
        (None, false) => {
            eprintln!(
                "stackclient: no command given; try `stackclient --help` (e.g. `stackclient \
                 --serve-http`)"
            );
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Decode { file, hex } => match (file, hex) {
            (_, Some(hex)) => decode_hex(&hex),
            (Some(file), None) => decode_file(&file),
            (None, None) => unreachable!("clap requires one of FILE and --hex"),
        },
        Command::Dissect { file, tree, json } => {
            let mode = match (tree, json) {
                (_, true) => Mode::Json,
                (true, false) => Mode::Tree,
                (false, false) => Mode::Summary,
            };
            dissect_file(&file, mode)
        }
        network => run_network(&cli.global, network),
    }
}

/// Runs a subcommand that brings the stack up, on a 2-worker tokio runtime.
fn run_network(g: &cli::Global, command: Command) -> ExitCode {
    cli::init_logging(g.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stackclient: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        match &command {
            Command::Up => cli::up::run(g).await,
            Command::Ping(a) => cli::ping::run(g, a).await,
            Command::Resolve(a) => cli::resolve::run(g, a).await,
            Command::Ntp(a) => cli::ntp::run(g, a).await,
            Command::Get(a) => cli::get::run(g, a).await,
            Command::ServeHttp(a) => cli::serve::run(g, a).await,
            Command::Decode { .. } | Command::Dissect { .. } => Ok(()),
        }
    });
    // Tasks still running (the link's) are dropped with the runtime.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stackclient: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn dissect_file(path: &PathBuf, mode: Mode) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("stackclient: cannot read {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = dissect_capture(&bytes, mode, &mut out);
    let flushed = std::io::Write::flush(&mut out);
    match (result, flushed) {
        (Ok(_), Ok(())) => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("stackclient: {}: {e}", path.display());
            ExitCode::from(1)
        }
        (_, Err(e)) => {
            eprintln!("stackclient: writing output: {e}");
            ExitCode::from(1)
        }
    }
}

fn decode_hex(hex: &str) -> ExitCode {
    let digits: String = hex
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        eprintln!(
            "stackclient: --hex has an odd number of digits ({})",
            digits.len()
        );
        return ExitCode::from(2);
    }
    let mut bytes = Vec::with_capacity(digits.len() / 2);
    for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).unwrap_or("??");
        match u8::from_str_radix(text, 16) {
            Ok(b) => bytes.push(b),
            Err(_) => {
                eprintln!("stackclient: --hex: {text:?} at byte {i} is not a hex byte");
                return ExitCode::from(2);
            }
        }
    }
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        stackclient::decode::summary(&bytes)
    );
    ExitCode::SUCCESS
}

fn decode_file(path: &PathBuf) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("stackclient: cannot read {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let reader = match PcapReader::new(&bytes) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stackclient: {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    if reader.linktype() & 0x0fff_ffff != LINKTYPE_ETHERNET {
        eprintln!(
            "stackclient: {}: link type {} is not Ethernet (1)",
            path.display(),
            reader.linktype()
        );
        return ExitCode::from(1);
    }
    let mut out = std::io::stdout().lock();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => {
                let line = stackclient::decode::summary(r.data);
                if writeln!(out, "{:4} {line}", i + 1).is_err() {
                    // The reader left (`| head`): nothing more to say.
                    return ExitCode::SUCCESS;
                }
            }
            Err(e) => {
                eprintln!("stackclient: {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
