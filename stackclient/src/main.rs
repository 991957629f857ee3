//! `stackclient`: the userspace network stack's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use proto_core::pcap::{LINKTYPE_ETHERNET, PcapReader};

/// A userspace network stack over tapd's HTTP link or another link.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a one-line summary of each Ethernet frame of a pcap file (or of one hex frame).
    Decode {
        /// A classic pcap file with Ethernet frames.
        #[arg(required_unless_present = "hex", conflicts_with = "hex")]
        file: Option<PathBuf>,
        /// One frame as hex digits instead of a file (spaces and colons allowed).
        #[arg(long)]
        hex: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode { file, hex } => match (file, hex) {
            (_, Some(hex)) => decode_hex(&hex),
            (Some(file), None) => decode_file(&file),
            (None, None) => unreachable!("clap requires one of FILE and --hex"),
        },
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
    println!("{}", stackclient::decode::summary(&bytes));
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
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => println!("{:4} {}", i + 1, stackclient::decode::summary(r.data)),
            Err(e) => {
                eprintln!("stackclient: {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
