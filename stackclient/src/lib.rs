//! stackclient: the userspace stack's runtime and command line.
//!
//! So far it holds [`decode`] (one-line summaries from proto-core's wire layer), [`dissect`]
//! (proto-core's dissector over a capture file: summary, tree or JSON) and [`capture`] (a
//! pcap/pcapng writer for the runtime's `--pcap`). The links, the driver task and the tokio
//! sockets land with the stack issue.

pub mod capture;
pub mod decode;
pub mod dissect;
