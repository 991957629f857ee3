//! Application protocols as sans-IO codecs and state machines over UDP (and TCP) payloads.
//!
//! | module | RFCs | codec | state machines |
//! |---|---|---|---|
//! | [`dhcp`] | 2131, 2132, 5227 (probe), 4361 (client id) | [`dhcp::DhcpPacket`], [`dhcp::DhcpRepr`] | [`dhcp::DhcpClient`], [`dhcp::DhcpServer`] |
//! | [`dns`] | 1035, 3596, 6891, 7766 | [`dns::Message`], [`dns::MessageBuilder`] | [`dns::Resolver`] (with cache) |
//! | [`ntp`] | 5905 | [`ntp::NtpPacket`], [`ntp::NtpRepr`], [`ntp::NtpTimestamp`] | [`ntp::NtpClient`], [`ntp::NtpServer`] |
//! | [`http`] | 9110, 9112 | [`http::parse_request`], [`http::parse_response`], [`http::ChunkedDecoder`] | |
//!
//! # The shape of a state machine
//!
//! None of them knows about sockets: the runtime owns a UDP (or TCP) socket per machine and
//! glues it on. Every machine follows the same call order, each time the runtime wakes up:
//!
//! 1. `handle*(now, ...)` for every datagram received (payload, source), which may return an
//!    event;
//! 2. `handle_timeout(now)` (where the machine has timers that change state), which may return
//!    an event;
//! 3. `poll_transmit(now, buf)` until it returns `None`: each call writes one datagram into
//!    `buf` and says where to send it;
//! 4. `poll_at()`: the next instant the machine needs to run; sleep until then or until input.
//!
//! Time is [`crate::time::Instant`] (the runtime's monotonic clock); wall-clock time, where a
//! protocol needs it (NTP), is passed as an [`ntp::NtpTimestamp`]. Randomness (DHCP `xid`,
//! backoff jitter, DNS IDs and source ports, NTP's transmit cookie) comes from a seed in each
//! machine's config. Every table (leases, cache, queries, samples) is a fixed-capacity array
//! sized by a const generic; what happens when it is full is documented on the type. Network
//! input never panics and never loops without a bound; the fuzz targets `dhcp`, `dns`, `ntp`
//! and `http` check it.
//!
//! Errors of the codecs are the shared [`crate::wire::Error`] with [`crate::wire::Proto::Dhcp`],
//! `Dns`, `Ntp` or `Http`, e.g. `DNS: name pointer 40 is invalid, expected an offset before the
//! name`.

pub mod dhcp;
pub mod dns;
pub mod http;
pub mod ntp;
