//! stackclient: the userspace stack's runtime and command line.
//!
//! - [`link`]: how frames travel ([`link::Link`], batches; an in-memory pipe, a TAP device).
//! - [`runtime`]: the [`Stack`](runtime::Stack) handle and its driver task, and tokio sockets
//!   ([`TcpListener`](runtime::TcpListener), [`TcpStream`](runtime::TcpStream),
//!   [`UdpSocket`](runtime::UdpSocket)) over proto-core's sans-IO interface.
//! - [`apps`]: DHCP, DNS, NTP and HTTP over the runtime (proto-core's machines on its sockets).
//! - [`decode`]: one-line summaries of Ethernet frames from proto-core's wire layer.
//! - [`dissect`]: proto-core's dissector over a capture file (summary, tree or JSON).
//! - [`capture`]: a pcap/pcapng writer for the runtime's `--pcap`.

pub mod apps;
pub mod capture;
pub mod decode;
pub mod dissect;
pub mod link;
pub mod runtime;
