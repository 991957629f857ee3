//! What a connection or listener can be tuned with, and the defaults.

use crate::tcp::cc::Algorithm;
use crate::tcp::rtt::RttConfig;
use crate::time::Duration;

/// Keepalive probing (RFC 1122 §4.2.3.6): off by default, as the RFC requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe (RFC 1122: at least two hours by default).
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes after which the connection is aborted with
    /// [`ConnectionError::TimedOut`](crate::tcp::ConnectionError::TimedOut).
    pub count: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(75),
            count: 9,
        }
    }
}

/// Connection settings. `Config::default()` is what a general-purpose host uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The largest segment we are willing to receive, advertised in our SYN (RFC 9293 §3.7.1):
    /// the path MTU minus the IP and TCP headers (1460 for IPv4 on Ethernet).
    pub mss: u16,
    /// Retransmission timer bounds (RFC 6298): min 200 ms, initial 1 s, max 60 s.
    pub rtt: RttConfig,
    /// Retransmissions of one segment before the connection is aborted with
    /// [`ConnectionError::TimedOut`](crate::tcp::ConnectionError::TimedOut) (RFC 9293 §3.8.3 R2;
    /// Linux's `tcp_retries2` is 15).
    pub max_retransmissions: u32,
    /// Retransmissions of a SYN or SYN-ACK before giving up (Linux's `tcp_syn_retries` is 6).
    pub max_syn_retransmissions: u32,
    /// Abort when sent data stays unacknowledged this long (RFC 9293 §3.8.3 user timeout,
    /// RFC 5482). `None`: only the retransmission limit applies.
    pub user_timeout: Option<Duration>,
    /// The congestion controller: CUBIC (RFC 9438) by default, or NewReno (RFC 5681/6582).
    pub congestion: Algorithm,
    /// Nagle's algorithm (RFC 9293 §3.7.4): on by default; `false` is `TCP_NODELAY`.
    pub nagle: bool,
    /// The longest an ACK may be delayed (RFC 9293 §3.8.6.3: under 0.5 s; we use 40 ms).
    /// `Duration::ZERO` acknowledges every segment at once.
    pub ack_delay: Duration,
    /// Offer window scaling (RFC 7323 §2); the shift is chosen from the receive buffer size.
    pub window_scaling: bool,
    /// Offer timestamps (RFC 7323 §3): RTT measurement on every ACK, and PAWS.
    pub timestamps: bool,
    /// Offer SACK (RFC 2018), and use the peer's blocks for loss recovery (RFC 6675).
    pub sack: bool,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this (RFC 9293 §3.4.2). Linux waits
    /// 60 s in TIME-WAIT, so the default MSL is 30 s.
    pub msl: Duration,
    /// Keepalive probing, `None` (the default) for none.
    pub keepalive: Option<Keepalive>,
    /// Challenge ACKs sent per second at most (RFC 5961 §7).
    pub challenge_ack_limit: u32,
    /// Key for the RFC 6528 ISN hash and the timestamp offset. The runtime draws it from the
    /// OS once and uses it for every connection.
    pub secret: [u8; 16],
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mss: 1460,
            rtt: RttConfig::default(),
            max_retransmissions: 15,
            max_syn_retransmissions: 6,
            user_timeout: None,
            congestion: Algorithm::Cubic,
            nagle: true,
            ack_delay: Duration::from_millis(40),
            window_scaling: true,
            timestamps: true,
            sack: true,
            msl: Duration::from_secs(30),
            keepalive: None,
            challenge_ack_limit: 10,
            secret: [0; 16],
        }
    }
}
