//! proto-core: the sans-IO, `no_std`, zero-copy protocol library under `tapd` and `stackclient`.
//!
//! It never touches a socket, a clock, a thread or a random source: those are handed in.
//!
//! - [`wire`]: typed zero-copy views over packet buffers, with checked constructors, setters,
//!   emitters and precise validation errors, one module per protocol.
//! - [`app`]: sans-IO codecs and state machines of the application protocols over UDP/TCP
//!   payloads: DHCPv4 (client, server), DNS (codec, resolver), NTP (client, server), HTTP/1.1
//!   heads.
//! - [`checksum`]: the Internet checksum (RFC 1071), its incremental update (RFC 1624) and the
//!   IPv4/IPv6 pseudo-headers.
//! - [`pcap`]: a zero-copy reader of classic pcap capture files and the header emitters of a
//!   writer; [`pcapng`]: the same for pcapng, and a reader of either format.
//! - [`dissect`]: a frame broken into layers and fields (names, values, bit offsets, problems),
//!   with summary, tree and JSON formatters.
//! - [`tcp`]: the sans-IO TCP engine.
//! - [`time`] and [`rand`]: the injected clock's types and the seeded generator the core draws
//!   from.
//! - `sim` (with the `std` feature): a deterministic simulated link with seeded faults and a
//!   two-endpoint harness on a simulated clock, for tests and benchmarks.
//!
//! # Example
//!
//! Parse an Ethernet frame down to its transport payload, verifying every checksum on the way:
//!
//! ```
//! use proto_core::wire::{Frame, Transport};
//! # let frame: &[u8] = &[
//! #   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
//! #   0x45, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xa4, 0x7e,
//! #   0xc0, 0xa8, 0x0a, 0x02, 0xc0, 0xa8, 0x0a, 0xff,
//! #   0x30, 0x39, 0x00, 0x35, 0x00, 0x09, 0xc1, 0x1b, 0x78,
//! # ];
//! let parsed = Frame::parse(frame).unwrap();
//! parsed.verify_checksums().unwrap();
//! if let Some(Transport::Udp(udp)) = parsed.transport {
//!     assert_eq!(udp.dst_port(), 53);
//! }
//! assert_eq!(parsed.payload, b"x");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod app;
pub mod checksum;
pub mod dissect;
pub mod pcap;
pub mod pcapng;
pub mod rand;
#[cfg(feature = "std")]
pub mod sim;
pub mod stack;
pub mod tcp;
pub mod time;
pub mod wire;
