//! Initial sequence numbers (RFC 6528), per-connection timestamp offsets (RFC 7323 §5.4) and
//! SYN cookies (RFC 4987 §3.6, in the scheme of Linux's `net/ipv4/syncookies.c`).
//!
//! All three are keyed hashes of the connection's [`FourTuple`] (RFC 6528 §3 asks for a
//! cryptographic hash of the tuple and a secret key). The keys are injected: the runtime draws
//! them from the OS. One key may serve all three: every hash input starts with a distinct
//! domain tag.
//!
//! The ISN offset and the timestamp offset of a tuple come from one SipHash-2-4 computation
//! with a 64-bit output ([`IsnGenerator::secrets`]): 32 bits of it for each. Both are halves
//! of one PRF output, so knowing one (the timestamp offset shows in TSval) says nothing about
//! the other; one hash per connection instead of one per use keeps a handshake cheap. SYN
//! cookies use the same SipHash-2-4 (Linux's choice), with their own domain tags.
//!
//! SipHash-2-4 is computed here over the fixed-layout input (`tuple_input`: 13 bytes for an
//! IPv4 tuple, 37 for IPv6, 4 more with a counter) from a keyed state derived once per key
//! (`Sip24`), word by word: the same function as the `siphasher` crate's `SipHasher24`
//! (a test checks it against that crate), without its generic byte streaming.
//!
//! Tuples are always seen from our side: `local` is our address and port (for a listener, the
//! listening address), `remote` the peer's.

use core::fmt;
use core::net::{IpAddr, SocketAddr};

use super::FourTuple;
use crate::time::Instant;
use crate::wire::tcp::TcpSeqNumber;

/// Domain tags: the first byte of every hash input, so that no two uses of a key collide.
mod domain {
    /// The ISN offset and the timestamp offset, from one 64-bit hash.
    pub const CONN: u8 = 0x10;
    /// Linux's `cookie_hash(.., 0, 0)`: the tuple alone.
    pub const COOKIE_TUPLE: u8 = 0x30;
    /// Linux's `cookie_hash(.., count, 1)`: the tuple and the minute counter.
    pub const COOKIE_COUNT: u8 = 0x40;
}

/// The longest hash input: tag, two IPv6 addresses, two ports, a 32-bit counter.
const MAX_INPUT_LEN: usize = 1 + 16 + 2 + 16 + 2 + 4;
/// The input buffer: the input, zero-padded to whole 64-bit words with room for SipHash's
/// final word.
const INPUT_BUF_LEN: usize = (MAX_INPUT_LEN / 8 + 1) * 8;

/// `tag || local addr || local port || remote addr || remote port || extra` in a zeroed
/// buffer, and its length.
///
/// Addresses are hashed as their bytes (4 for IPv4, 16 for IPv6), ports big-endian. The tag's
/// high bits carry the two address families so that inputs of different shapes never collide.
#[inline]
fn tuple_input(tag: u8, tuple: &FourTuple, extra: Option<u32>) -> ([u8; INPUT_BUF_LEN], usize) {
    let mut buf = [0u8; INPUT_BUF_LEN];
    let len = match (tuple.local, tuple.remote) {
        // The usual case, at fixed offsets.
        (SocketAddr::V4(l), SocketAddr::V4(r)) => {
            buf[0] = tag;
            buf[1..5].copy_from_slice(&l.ip().octets());
            buf[5..7].copy_from_slice(&l.port().to_be_bytes());
            buf[7..11].copy_from_slice(&r.ip().octets());
            buf[11..13].copy_from_slice(&r.port().to_be_bytes());
            13
        }
        _ => {
            let mut len = 1;
            let mut family = 0u8;
            for (i, addr) in [tuple.local, tuple.remote].iter().enumerate() {
                match addr.ip() {
                    IpAddr::V4(ip) => {
                        buf[len..len + 4].copy_from_slice(&ip.octets());
                        len += 4;
                    }
                    IpAddr::V6(ip) => {
                        buf[len..len + 16].copy_from_slice(&ip.octets());
                        len += 16;
                        family |= 1 << i;
                    }
                }
                buf[len..len + 2].copy_from_slice(&addr.port().to_be_bytes());
                len += 2;
            }
            buf[0] = tag | family;
            len
        }
    };
    if let Some(extra) = extra {
        buf[len..len + 4].copy_from_slice(&extra.to_be_bytes());
        return (buf, len + 4);
    }
    (buf, len)
}

/// SipHash-2-4 (Aumasson and Bernstein, 64-bit output) with its keyed initial state derived
/// once, for the short zero-padded inputs of [`tuple_input`].
#[derive(Clone)]
struct Sip24 {
    /// `v0..v3` after keying (the state before the first message word).
    v: [u64; 4],
}

impl Sip24 {
    /// The state keyed with `key` (`k0` and `k1` little-endian, as the reference code).
    #[inline]
    fn new(key: &[u8; 16]) -> Self {
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(&key[..8]);
        k1.copy_from_slice(&key[8..]);
        let (k0, k1) = (u64::from_le_bytes(k0), u64::from_le_bytes(k1));
        Self {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
        }
    }

    #[inline(always)]
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    #[inline(always)]
    fn compress(v: &mut [u64; 4], m: u64) {
        v[3] ^= m;
        Self::round(v);
        Self::round(v);
        v[0] ^= m;
    }

    /// SipHash-2-4 of `buf[..len]`; the bytes of `buf` from `len` on are zero and `len` is
    /// below `INPUT_BUF_LEN` (what [`tuple_input`] returns).
    #[inline]
    fn hash(&self, buf: &[u8; INPUT_BUF_LEN], len: usize) -> u64 {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&buf[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        let mut v = self.v;
        let full = len / 8;
        for i in 0..full {
            Self::compress(&mut v, word(i));
        }
        // The last word: the tail bytes (zero-padded) and the length's low byte on top.
        Self::compress(&mut v, word(full) | ((len as u64 & 0xff) << 56));
        v[2] ^= 0xff;
        for _ in 0..4 {
            Self::round(&mut v);
        }
        v[0] ^ v[1] ^ v[2] ^ v[3]
    }
}

/// SipHash-2-4 of [`tuple_input`].
#[inline]
fn hash_tuple(sip: &Sip24, tag: u8, tuple: &FourTuple, extra: Option<u32>) -> u64 {
    let (buf, len) = tuple_input(tag, tuple, extra);
    sip.hash(&buf, len)
}

/// What a connection derives from its tuple and the secret: the RFC 6528 `F` and the RFC 7323
/// §5.4 timestamp offset, from one keyed hash ([`IsnGenerator::secrets`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TupleSecrets {
    /// RFC 6528 `F(localip, localport, remoteip, remoteport, secretkey)`.
    f: u32,
    /// The timestamp clock offset.
    pub ts_offset: u32,
}

impl TupleSecrets {
    /// The initial sequence number at `now`: `M + F`, `M` being `now` in 4-µs ticks
    /// truncated to 32 bits (it wraps every ~4.77 hours).
    #[inline]
    pub fn isn(&self, now: Instant) -> TcpSeqNumber {
        let m = (now.micros() / 4) as u32;
        TcpSeqNumber(m.wrapping_add(self.f))
    }
}

impl fmt::Debug for TupleSecrets {
    /// Never prints `F` (it would give away every future ISN of the tuple).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TupleSecrets { .. }")
    }
}

/// RFC 6528 §3 initial sequence numbers, and RFC 7323 §5.4 timestamp offsets.
///
/// `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, where `M` is a timer
/// ticking every 4 µs and `F` is SipHash-2-4 keyed with the secret (see the module docs). A new incarnation of a
/// connection thus starts past the old one's sequence space (RFC 9293 §3.4.1), while an
/// off-path attacker cannot guess the ISN of a tuple it is not part of.
///
/// ```
/// use proto_core::tcp::{isn::IsnGenerator, FourTuple};
/// use proto_core::time::Instant;
/// let tuple = FourTuple {
///     local: "192.0.2.1:40000".parse().unwrap(),
///     remote: "198.51.100.7:443".parse().unwrap(),
/// };
/// let isn_gen = IsnGenerator::new([7; 16]);
/// let a = isn_gen.isn(&tuple, Instant::from_secs(10));
/// let b = isn_gen.isn(&tuple, Instant::from_secs(11));
/// assert_eq!(b - a, 250_000); // M advances once per 4 µs
/// ```
#[derive(Clone)]
pub struct IsnGenerator {
    sip: Sip24,
}

impl IsnGenerator {
    /// A generator keyed with `key` (RFC 6528 §3 `secretkey`: 128 random bits from the OS).
    #[inline]
    pub fn new(key: [u8; 16]) -> Self {
        Self {
            sip: Sip24::new(&key),
        }
    }

    /// Both per-tuple values at once: one SipHash-2-4 of the tuple, whose low 32 bits are
    /// the ISN's `F` and whose high 32 bits are the timestamp offset. Prefer this to calling
    /// [`isn`](Self::isn) and [`ts_offset`](Self::ts_offset), which each hash.
    #[inline]
    pub fn secrets(&self, tuple: &FourTuple) -> TupleSecrets {
        let h = hash_tuple(&self.sip, domain::CONN, tuple, None);
        TupleSecrets {
            f: h as u32,
            ts_offset: (h >> 32) as u32,
        }
    }

    /// The initial sequence number for a connection on `tuple` opened at `now` (RFC 6528 §3).
    ///
    /// `M` is `now` in 4-µs ticks, truncated to 32 bits (it wraps every ~4.77 hours).
    #[inline]
    pub fn isn(&self, tuple: &FourTuple, now: Instant) -> TcpSeqNumber {
        self.secrets(tuple).isn(now)
    }

    /// A per-connection offset to add to our timestamp clock when sending TSval on `tuple`
    /// (RFC 7323 §5.4; Linux's `tcp_ts_off`), so that TSval neither leaks our uptime nor lets
    /// an observer link connections. It is fixed for a tuple, so PAWS holds across
    /// incarnations (RFC 7323 §5.8).
    #[inline]
    pub fn ts_offset(&self, tuple: &FourTuple) -> u32 {
        self.secrets(tuple).ts_offset
    }
}

impl fmt::Debug for IsnGenerator {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IsnGenerator { .. }")
    }
}

/// What a client's SYN offered, as a SYN cookie carries it back (RFC 4987 §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CookieOptions {
    /// The peer's MSS (RFC 9293 §3.7.1).
    pub mss: u16,
    /// The peer's window scale shift (RFC 7323 §2.3), `None` when it sent no Window Scale
    /// option. At most 14.
    pub window_scale: Option<u8>,
    /// Whether the peer sent SACK-permitted (RFC 2018 §2).
    pub sack_permitted: bool,
}

/// The MSS values an IPv4 SYN cookie can carry (Linux's v4 `msstab`): the RFC 9293 §3.7.1
/// default, a tunnel-friendly value, PPPoE, and Ethernet.
pub const COOKIE_MSS_V4: [u16; 4] = [536, 1300, 1440, 1460];

/// The MSS values an IPv6 SYN cookie can carry (Linux's v6 `msstab`): the minimum MTU of
/// RFC 8200 §5 (1280), 1480 (IPv6-in-IPv4 tunnels), 1500 (Ethernet) and 9000 (jumbo frames),
/// each less 60 bytes of IPv6 and TCP headers.
pub const COOKIE_MSS_V6: [u16; 4] = [1220, 1420, 1440, 8940];

/// Bits of the cookie below the counter (Linux `COOKIEBITS`).
const COOKIE_BITS: u32 = 24;
/// The hashed data field of the cookie (Linux `COOKIEMASK`).
const COOKIE_MASK: u32 = (1 << COOKIE_BITS) - 1;
/// The length of one counter period: 64 s (Linux counts 60-s minutes; a power of two of
/// seconds is as good and says plainly that it is not wall-clock minutes).
const COOKIE_PERIOD_MICROS: u64 = 64_000_000;
/// Where the MSS index sits in the hashed data field: its top two bits. Linux adds the bare
/// index, so an ACK off by one or two decodes to a neighbouring MSS; with the index up here
/// every ACK but the exact one is rejected, and a random ACK passes no more often (4 in 2^24).
const MSS_INDEX_SHIFT: u32 = COOKIE_BITS - 2;
/// A cookie is accepted in the period it was made and the next (Linux `MAX_SYNCOOKIE_AGE`):
/// it lives at least 64 s and at most 128 s.
const MAX_COOKIE_AGE: u32 = 2;

/// Bits of TSval carrying options when the peer uses timestamps (Linux `TSBITS`).
const TS_BITS: u32 = 6;
/// The low bits of TSval: window scale shift, `0xf` meaning none (Linux `TS_OPT_WSCALE_MASK`).
const TS_OPT_WSCALE_MASK: u32 = 0xf;
/// The SACK-permitted bit of TSval (Linux `TS_OPT_SACK`). Bit 5 (Linux's ECN) stays zero.
const TS_OPT_SACK: u32 = 1 << 4;
/// The largest window scale shift (RFC 7323 §2.3).
const MAX_WINDOW_SCALE: u8 = 14;

/// Stateless SYN cookies (RFC 4987 §3.6), in the scheme of Linux's `syncookies.c`.
///
/// When a listener's SYN backlog is full it answers a SYN with a SYN-ACK whose ISN encodes
/// everything needed to rebuild the connection, and forgets the SYN. If the third ACK comes
/// back, its acknowledgment number minus one is that ISN, which [`decode`](Self::decode)
/// checks and unpacks. The ISN is (Linux `secure_tcp_syn_cookie`):
///
/// ```text
/// H1(tuple) + client_isn + (count << 24) + ((H2(tuple, count) + (mss_index << 22)) mod 2^24)
/// ```
///
/// with `count` the 64-s period of `now`. Linux adds the bare MSS index; we put it in the top
/// two bits of the 24-bit field, so that an ACK off by one is rejected rather than read as a
/// neighbouring MSS. Only that index (into [`COOKIE_MSS_V4`] / [`COOKIE_MSS_V6`]) fits in the
/// cookie; when the peer uses timestamps, its window scale and SACK-permitted ride in the low
/// 6 bits of our TSval, which the peer echoes in TSecr (Linux `cookie_init_timestamp`).
/// Without timestamps the connection goes on without window scaling and SACK, as in Linux.
///
/// ```
/// use proto_core::tcp::{isn::{CookieOptions, SynCookies}, FourTuple};
/// use proto_core::time::Instant;
/// use proto_core::wire::tcp::TcpSeqNumber;
/// let tuple = FourTuple {
///     local: "192.0.2.1:80".parse().unwrap(),
///     remote: "198.51.100.7:50000".parse().unwrap(),
/// };
/// let cookies = SynCookies::new([3; 16]);
/// let now = Instant::from_secs(1000);
/// let syn_seq = TcpSeqNumber(12345);
/// let offered = CookieOptions { mss: 1400, window_scale: Some(7), sack_permitted: true };
/// // SYN in, SYN-ACK out with seq = isn and TSval = SynCookies::tsval(clock, bits).
/// let (isn, encoded, bits) = cookies.encode(&tuple, now, syn_seq, offered, true);
/// assert_eq!(encoded.mss, 1300); // rounded down to the table
/// let tsval = SynCookies::tsval(5_000_000, bits.unwrap());
/// // The third ACK: seq = client ISN + 1, ack = our ISN + 1, TSecr = our TSval.
/// let got = cookies.decode(&tuple, now, isn + 1, syn_seq + 1, Some(tsval));
/// assert_eq!(got, Some(encoded));
/// ```
#[derive(Clone)]
pub struct SynCookies {
    sip: Sip24,
}

impl SynCookies {
    /// Cookies keyed with `key` (128 random bits from the OS; it must stay secret and may be
    /// the [`IsnGenerator`]'s key: the hash inputs are domain-separated).
    #[inline]
    pub fn new(key: [u8; 16]) -> Self {
        Self {
            sip: Sip24::new(&key),
        }
    }

    /// The counter period of `now` (truncated to 32 bits; only its low 8 bits are encoded).
    #[inline]
    fn count(now: Instant) -> u32 {
        (now.micros() / COOKIE_PERIOD_MICROS) as u32
    }

    /// The MSS table for the tuple's family (by our address).
    #[inline]
    fn mss_table(tuple: &FourTuple) -> &'static [u16; 4] {
        match tuple.local {
            SocketAddr::V4(_) => &COOKIE_MSS_V4,
            SocketAddr::V6(_) => &COOKIE_MSS_V6,
        }
    }

    /// The ISN of a SYN-ACK answering a SYN on `tuple` (seq `client_isn`) at `now`, with the
    /// options `opts` the SYN offered (already clamped by the caller).
    ///
    /// Returns our ISN; the options actually encoded (the MSS rounded down to the table,
    /// window scale and SACK only when `timestamps`); and, when `timestamps` (the SYN carried
    /// a Timestamps option and we will answer with one), the 6 low bits our TSval must carry:
    /// build it with [`SynCookies::tsval`]. An MSS below the table's smallest entry is sent as
    /// that entry (Linux does the same): 536 and 1220 are the sizes every IPv4 and IPv6 host
    /// must accept (RFC 9293 §3.7.1, RFC 8200 §5).
    #[must_use]
    pub fn encode(
        &self,
        tuple: &FourTuple,
        now: Instant,
        client_isn: TcpSeqNumber,
        opts: CookieOptions,
        timestamps: bool,
    ) -> (TcpSeqNumber, CookieOptions, Option<u32>) {
        let table = Self::mss_table(tuple);
        // The largest entry not above the offered MSS, else entry 0
        // (Linux `cookie_v4_init_sequence`).
        let mss_index = table.iter().rposition(|&m| m <= opts.mss).unwrap_or(0);
        let count = Self::count(now);
        let h1 = hash_tuple(&self.sip, domain::COOKIE_TUPLE, tuple, None) as u32;
        let h2 = hash_tuple(&self.sip, domain::COOKIE_COUNT, tuple, Some(count)) as u32;
        let isn = h1
            .wrapping_add(client_isn.0)
            .wrapping_add(count << COOKIE_BITS)
            .wrapping_add(h2.wrapping_add((mss_index as u32) << MSS_INDEX_SHIFT) & COOKIE_MASK);
        let mut encoded = CookieOptions {
            mss: table[mss_index],
            window_scale: None,
            sack_permitted: false,
        };
        let ts_bits = if timestamps {
            // Linux `cookie_init_timestamp`: 4 bits of shift (0xf = none), 1 bit of SACK.
            encoded.window_scale = opts.window_scale.map(|s| s.min(MAX_WINDOW_SCALE));
            encoded.sack_permitted = opts.sack_permitted;
            let mut bits = encoded.window_scale.map_or(TS_OPT_WSCALE_MASK, u32::from);
            if encoded.sack_permitted {
                bits |= TS_OPT_SACK;
            }
            Some(bits)
        } else {
            None
        };
        (TcpSeqNumber(isn), encoded, ts_bits)
    }

    /// The TSval to send in a cookie SYN-ACK: `clock` (our timestamp clock, offset included)
    /// with its low 6 bits replaced by `bits` from [`encode`](Self::encode), moved back one
    /// 64-tick step when that would put it ahead of `clock` (Linux `cookie_init_timestamp`),
    /// so TSval never runs ahead of the clock later segments use.
    #[inline]
    pub fn tsval(clock: u32, bits: u32) -> u32 {
        let mask = (1u32 << TS_BITS) - 1;
        let ts = (clock & !mask) | (bits & mask);
        if ts > clock {
            ts.wrapping_sub(1 << TS_BITS)
        } else {
            ts
        }
    }

    /// Checks the ACK completing a cookie handshake on `tuple` at `now` and returns the options
    /// the SYN offered, or `None` when it is no valid cookie of ours (RFC 4987 §3.6; Linux
    /// `check_tcp_syn_cookie`).
    ///
    /// `ack` and `seq` are the ACK's acknowledgment and sequence numbers (our ISN + 1 and the
    /// client's ISN + 1); `tsecr` is its TSecr when it carries a Timestamps option. A cookie is
    /// valid in the 64-s period it was made and the next. Window scale and SACK come from
    /// `tsecr`'s low bits when given, else are off. A forger needs the key: a random `ack`
    /// passes with probability about 2^-29.
    #[must_use]
    pub fn decode(
        &self,
        tuple: &FourTuple,
        now: Instant,
        ack: TcpSeqNumber,
        seq: TcpSeqNumber,
        tsecr: Option<u32>,
    ) -> Option<CookieOptions> {
        let cookie = ack.0.wrapping_sub(1);
        let client_isn = seq.0.wrapping_sub(1);
        let count = Self::count(now);
        let h1 = hash_tuple(&self.sip, domain::COOKIE_TUPLE, tuple, None) as u32;
        // What remains is (count << 24) + ((H2 + (mss_index << 22)) mod 2^24).
        let rest = cookie.wrapping_sub(h1).wrapping_sub(client_isn);
        // The age in periods, modulo 2^8; a cookie from the future wraps to a large age.
        let age = count.wrapping_sub(rest >> COOKIE_BITS) & (u32::MAX >> COOKIE_BITS);
        if age >= MAX_COOKIE_AGE {
            return None;
        }
        let made = count.wrapping_sub(age);
        let h2 = hash_tuple(&self.sip, domain::COOKIE_COUNT, tuple, Some(made)) as u32;
        let data = rest.wrapping_sub(h2) & COOKIE_MASK;
        if data & ((1 << MSS_INDEX_SHIFT) - 1) != 0 {
            return None;
        }
        // Two bits, so always within the four-entry table.
        let mss = Self::mss_table(tuple)[(data >> MSS_INDEX_SHIFT) as usize];
        let (window_scale, sack_permitted) = match tsecr {
            // Linux `cookie_timestamp_decode`.
            Some(tsecr) => {
                let shift = tsecr & TS_OPT_WSCALE_MASK;
                let window_scale = if shift == TS_OPT_WSCALE_MASK {
                    None
                } else {
                    // 15 is "none", so the 4 bits give at most 14.
                    Some((shift as u8).min(MAX_WINDOW_SCALE))
                };
                (window_scale, tsecr & TS_OPT_SACK != 0)
            }
            None => (None, false),
        };
        Some(CookieOptions {
            mss,
            window_scale,
            sack_permitted,
        })
    }
}

impl fmt::Debug for SynCookies {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SynCookies { .. }")
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::rand::Rng;
    use crate::time::Duration;
    use proptest::prelude::*;

    const KEY: [u8; 16] = *b"0123456789abcdef";
    const OTHER_KEY: [u8; 16] = *b"fedcba9876543210";

    fn v4() -> FourTuple {
        FourTuple {
            local: "192.0.2.1:80".parse().unwrap(),
            remote: "198.51.100.7:50000".parse().unwrap(),
        }
    }

    fn v6() -> FourTuple {
        FourTuple {
            local: "[2001:db8::1]:80".parse().unwrap(),
            remote: "[2001:db8::7]:50000".parse().unwrap(),
        }
    }

    /// A tuple from random bits: both IPv4 or both IPv6, random addresses and ports.
    fn random_tuple(rng: &mut Rng) -> FourTuple {
        let v6 = rng.next_u32() & 1 == 1;
        let mut addr = || -> SocketAddr {
            let port = rng.next_u32() as u16;
            let mut ip = [0u8; 16];
            rng.fill(&mut ip);
            if v6 {
                SocketAddr::from((ip, port))
            } else {
                SocketAddr::from(([ip[0], ip[1], ip[2], ip[3]], port))
            }
        };
        FourTuple {
            local: addr(),
            remote: addr(),
        }
    }

    const ALL_OPTS: CookieOptions = CookieOptions {
        mss: 1460,
        window_scale: Some(7),
        sack_permitted: true,
    };

    // RFC 6528 §3: F is a function of the tuple and the key only; M of the time only.
    #[test]
    fn isn_is_deterministic_for_same_key_tuple_and_time() {
        let now = Instant::from_secs(42);
        for tuple in [v4(), v6()] {
            let a = IsnGenerator::new(KEY).isn(&tuple, now);
            let b = IsnGenerator::new(KEY).isn(&tuple, now);
            assert_eq!(a, b);
            assert_eq!(
                IsnGenerator::new(KEY).ts_offset(&tuple),
                IsnGenerator::new(KEY).ts_offset(&tuple)
            );
        }
    }

    // RFC 6528 §3: the ISN of one tuple says nothing of another's, nor without the key.
    #[test]
    fn isn_differs_across_tuples_and_keys() {
        let now = Instant::from_secs(42);
        let isn_gen = IsnGenerator::new(KEY);
        let base = v4();
        let mut port_changed = base;
        port_changed.remote.set_port(50001);
        let mut local_port_changed = base;
        local_port_changed.local.set_port(81);
        let reversed = base.reversed();
        let a = isn_gen.isn(&base, now);
        for other in [port_changed, local_port_changed, reversed, v6()] {
            assert_ne!(a, isn_gen.isn(&other, now), "{other:?}");
        }
        assert_ne!(a, IsnGenerator::new(OTHER_KEY).isn(&base, now));
        assert_ne!(
            isn_gen.isn(&v6(), now),
            IsnGenerator::new(OTHER_KEY).isn(&v6(), now)
        );
    }

    // RFC 6528 §3: M is a 4-µs timer, so for a fixed tuple the ISN grows 250 000 per second.
    #[test]
    fn isn_grows_with_the_4us_timer() {
        let isn_gen = IsnGenerator::new(KEY);
        for tuple in [v4(), v6()] {
            let t0 = Instant::from_secs(1000);
            let a = isn_gen.isn(&tuple, t0);
            assert_eq!(
                isn_gen.isn(&tuple, t0 + Duration::from_secs(1)) - a,
                250_000
            );
            assert_eq!(isn_gen.isn(&tuple, t0 + Duration::from_micros(4)) - a, 1);
            assert_eq!(isn_gen.isn(&tuple, t0 + Duration::from_micros(3)), a);
            let mut prev = a;
            for ms in 1..100 {
                let isn = isn_gen.isn(&tuple, t0 + Duration::from_millis(ms));
                assert!(isn > prev);
                prev = isn;
            }
        }
    }

    // RFC 6528 §3 for both families: IPv4 and IPv6 tuples with the same ports differ.
    #[test]
    fn isn_hashes_ipv4_and_ipv6_addresses() {
        let isn_gen = IsnGenerator::new(KEY);
        let now = Instant::ZERO;
        let mapped = FourTuple {
            local: "[::ffff:192.0.2.1]:80".parse().unwrap(),
            remote: "[::ffff:198.51.100.7]:50000".parse().unwrap(),
        };
        assert_ne!(isn_gen.isn(&v4(), now), isn_gen.isn(&mapped, now));
        let mut v6_other = v6();
        v6_other.remote = "[2001:db8::8]:50000".parse().unwrap();
        assert_ne!(isn_gen.isn(&v6(), now), isn_gen.isn(&v6_other, now));
    }

    // RFC 7323 §5.4: the TSval offset is other bits of the tuple's keyed hash than the ISN's.
    #[test]
    fn ts_offset_is_domain_separated_from_isn() {
        let isn_gen = IsnGenerator::new(KEY);
        for tuple in [v4(), v6()] {
            assert_ne!(
                isn_gen.ts_offset(&tuple),
                isn_gen.isn(&tuple, Instant::ZERO).0
            );
        }
        assert_ne!(isn_gen.ts_offset(&v4()), isn_gen.ts_offset(&v6()));
        assert_ne!(
            isn_gen.ts_offset(&v4()),
            IsnGenerator::new(OTHER_KEY).ts_offset(&v4())
        );
    }

    // One hash gives both values, the same as the separate calls.
    #[test]
    fn secrets_match_isn_and_ts_offset() {
        let isn_gen = IsnGenerator::new(KEY);
        let now = Instant::from_secs(77);
        for tuple in [v4(), v6()] {
            let s = isn_gen.secrets(&tuple);
            assert_eq!(s.isn(now), isn_gen.isn(&tuple, now));
            assert_eq!(s.ts_offset, isn_gen.ts_offset(&tuple));
        }
        assert_eq!(
            std::format!("{:?}", isn_gen.secrets(&v4())),
            "TupleSecrets { .. }"
        );
    }

    // The word-wise SipHash-2-4 is the reference function (as the `siphasher` crate computes
    // it) for every input shape: IPv4 and IPv6 tuples, with and without a counter.
    #[test]
    fn sip24_matches_the_reference() {
        use core::hash::Hasher;
        let mut rng = Rng::new(24);
        for i in 0..2000u32 {
            let mut key = [0u8; 16];
            rng.fill(&mut key);
            let tuple = random_tuple(&mut rng);
            let extra = (i & 2 == 0).then(|| rng.next_u32());
            let (buf, len) = tuple_input(domain::COOKIE_COUNT, &tuple, extra);
            assert!(buf[len..].iter().all(|&b| b == 0));
            let mut reference = siphasher::sip::SipHasher24::new_with_key(&key);
            reference.write(&buf[..len]);
            assert_eq!(Sip24::new(&key).hash(&buf, len), reference.finish());
        }
        // The reference paper's key and a short input (SipHash appendix A's key).
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mut buf = [0u8; INPUT_BUF_LEN];
        for (i, b) in buf[..15].iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(Sip24::new(&key).hash(&buf, 15), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn debug_hides_the_key() {
        let s = std::format!("{:?} {:?}", IsnGenerator::new(KEY), SynCookies::new(KEY));
        assert_eq!(s, "IsnGenerator { .. } SynCookies { .. }");
    }

    // RFC 4987 §3.6: every MSS table entry survives the round trip, without timestamps (no
    // window scale, no SACK) and with them (carried in TSval).
    #[test]
    fn cookie_round_trips_each_mss_table_entry() {
        let cookies = SynCookies::new(KEY);
        let now = Instant::from_secs(3600);
        let syn_seq = TcpSeqNumber(0xffff_fff0);
        for (tuple, table) in [(v4(), COOKIE_MSS_V4), (v6(), COOKIE_MSS_V6)] {
            for mss in table {
                for timestamps in [false, true] {
                    let opts = CookieOptions { mss, ..ALL_OPTS };
                    let (isn, enc, bits) = cookies.encode(&tuple, now, syn_seq, opts, timestamps);
                    assert_eq!(enc.mss, mss);
                    assert_eq!(bits.is_some(), timestamps);
                    if timestamps {
                        assert_eq!(enc, opts);
                    } else {
                        assert_eq!(enc.window_scale, None);
                        assert!(!enc.sack_permitted);
                    }
                    let tsecr = bits.map(|b| SynCookies::tsval(123_456_789, b));
                    let got = cookies.decode(&tuple, now, isn + 1, syn_seq + 1, tsecr);
                    assert_eq!(got, Some(enc), "{tuple:?} mss {mss} ts {timestamps}");
                }
            }
        }
    }

    // Linux `cookie_v4_init_sequence`: the MSS is rounded down to the table, and one below
    // the smallest entry is sent as that entry (RFC 9293 §3.7.1's default).
    #[test]
    fn cookie_mss_rounds_down_to_the_table() {
        let cookies = SynCookies::new(KEY);
        let now = Instant::ZERO;
        let check = |tuple: FourTuple, offered: u16, want: u16| {
            let opts = CookieOptions {
                mss: offered,
                ..ALL_OPTS
            };
            let (isn, enc, _) = cookies.encode(&tuple, now, TcpSeqNumber(9), opts, false);
            assert_eq!(enc.mss, want, "offered {offered}");
            let got = cookies.decode(&tuple, now, isn + 1, TcpSeqNumber(10), None);
            assert_eq!(got.map(|o| o.mss), Some(want));
        };
        check(v4(), 1459, 1440);
        check(v4(), 1400, 1300);
        check(v4(), 9000, 1460);
        check(v4(), 100, 536);
        check(v6(), 1419, 1220);
        check(v6(), 65535, 8940);
    }

    // Linux `cookie_init_timestamp`: 4 bits of window scale (0xf = none) and a SACK bit.
    #[test]
    fn cookie_timestamp_bits_carry_wscale_and_sack() {
        let cookies = SynCookies::new(KEY);
        let now = Instant::ZERO;
        let cases = [
            (Some(0), false, 0x00),
            (Some(14), true, 0x1e),
            (None, true, 0x1f),
            (None, false, 0x0f),
            (Some(20), false, 0x0e), // clamped to 14 (RFC 7323 §2.3)
        ];
        for (window_scale, sack_permitted, want_bits) in cases {
            let opts = CookieOptions {
                mss: 1460,
                window_scale,
                sack_permitted,
            };
            let (isn, enc, bits) = cookies.encode(&v4(), now, TcpSeqNumber(1), opts, true);
            assert_eq!(bits, Some(want_bits));
            let tsval = SynCookies::tsval(0xabcd_ef00, want_bits);
            assert_eq!(tsval & 0x3f, want_bits);
            let got = cookies.decode(&v4(), now, isn + 1, TcpSeqNumber(2), Some(tsval));
            assert_eq!(got, Some(enc));
            assert_eq!(enc.window_scale, window_scale.map(|s| s.min(14)));
        }
    }

    // Linux `cookie_init_timestamp`: the cookie TSval never runs ahead of the clock.
    #[test]
    fn cookie_tsval_never_exceeds_the_clock() {
        assert_eq!(SynCookies::tsval(0x1000 + 0x3f, 0x1f), 0x1000 + 0x1f);
        assert_eq!(SynCookies::tsval(0x1000 + 0x01, 0x1f), 0x1000 - 0x40 + 0x1f);
        assert_eq!(SynCookies::tsval(0x1000 + 0x1f, 0x1f), 0x1000 + 0x1f);
        // At the bottom of the clock it wraps, as TSval arithmetic does (RFC 7323 §5.2).
        assert_eq!(SynCookies::tsval(0, 0x0f), 0u32.wrapping_sub(0x40) | 0x0f);
    }

    // RFC 4987 §3.6: an ACK that does not carry our cookie is rejected.
    #[test]
    fn cookie_rejects_wrong_ack_seq_tuple_or_key() {
        let cookies = SynCookies::new(KEY);
        let now = Instant::from_secs(500);
        let syn_seq = TcpSeqNumber(777);
        let (isn, _, _) = cookies.encode(&v4(), now, syn_seq, ALL_OPTS, false);
        let (ack, seq) = (isn + 1, syn_seq + 1);
        assert!(cookies.decode(&v4(), now, ack, seq, None).is_some());
        // Off by one either way: Linux would read a neighbouring MSS; we reject.
        assert!(cookies.decode(&v4(), now, ack + 1, seq, None).is_none());
        assert!(cookies.decode(&v4(), now, ack - 1, seq, None).is_none());
        assert!(
            cookies
                .decode(&v4(), now, ack + 0x1000, seq, None)
                .is_none()
        );
        assert!(
            cookies
                .decode(&v4(), now, ack - 0x1000, seq, None)
                .is_none()
        );
        assert!(
            cookies
                .decode(&v4(), now, TcpSeqNumber(ack.0 ^ 0x8000_0000), seq, None)
                .is_none()
        );
        assert!(cookies.decode(&v4(), now, ack, seq + 1, None).is_none());
        assert!(cookies.decode(&v4(), now, ack, seq - 1, None).is_none());
        let mut other = v4();
        other.remote.set_port(50001);
        assert!(cookies.decode(&other, now, ack, seq, None).is_none());
        assert!(
            cookies
                .decode(&v4().reversed(), now, ack, seq, None)
                .is_none()
        );
        let stranger = SynCookies::new(OTHER_KEY);
        assert!(stranger.decode(&v4(), now, ack, seq, None).is_none());
    }

    // Linux MAX_SYNCOOKIE_AGE: a cookie lives in its own 64-s period and the next only.
    #[test]
    fn cookie_expires_after_two_periods() {
        let cookies = SynCookies::new(KEY);
        let made = Instant::from_secs(640); // the start of period 10
        let (isn, _, _) = cookies.encode(&v6(), made, TcpSeqNumber(5), ALL_OPTS, false);
        let decode = |now| cookies.decode(&v6(), now, isn + 1, TcpSeqNumber(6), None);
        assert!(decode(made + Duration::from_secs(127)).is_some());
        assert!(decode(made + Duration::from_secs(128)).is_none());
        assert!(decode(made + Duration::from_secs(180)).is_none());
        // Period counters wrap modulo 2^8 in the cookie: 256 periods later is still old.
        assert!(decode(made + Duration::from_secs(256 * 64)).is_none());
        // A cookie from the future (a clock that went back) is no cookie.
        assert!(decode(made - Duration::from_secs(1)).is_none());
    }

    // Linux `check_tcp_syn_cookie`: a cookie made just before a period boundary is still
    // accepted just after it.
    #[test]
    fn cookie_accepted_across_a_period_boundary() {
        let cookies = SynCookies::new(KEY);
        let made = Instant::from_secs(64 * 1000 - 1);
        let opts = CookieOptions {
            mss: 1440,
            ..ALL_OPTS
        };
        let (isn, enc, bits) = cookies.encode(&v4(), made, TcpSeqNumber(1), opts, true);
        let tsecr = bits.map(|b| SynCookies::tsval(99_999, b));
        let later = made + Duration::from_secs(2);
        assert_eq!(
            cookies.decode(&v4(), later, isn + 1, TcpSeqNumber(2), tsecr),
            Some(enc)
        );
    }

    // RFC 4987 §3.6: without the key, a random ACK passes with probability ~2^-29; over
    // 2^18 seeded trials we demand fewer than 4 acceptances (< 1 in 2^16).
    #[test]
    fn cookie_rejects_random_acks() {
        let cookies = SynCookies::new(KEY);
        let mut rng = Rng::new(6528);
        let now = Instant::from_secs(1 << 20);
        let tuples = [v4(), v6()];
        let mut accepted = 0;
        for i in 0..(1u32 << 18) {
            let ack = TcpSeqNumber(rng.next_u32());
            let seq = TcpSeqNumber(rng.next_u32());
            let tuple = &tuples[(i & 1) as usize];
            if cookies.decode(tuple, now, ack, seq, None).is_some() {
                accepted += 1;
            }
        }
        assert!(accepted < 4, "{accepted} random acks accepted");
    }

    proptest! {
        // RFC 4987 §3.6: every cookie we make decodes to what we encoded while it is fresh.
        #[test]
        fn cookie_round_trip_always_succeeds(
            seed: u64,
            key: [u8; 16],
            now_micros in 0u64..(1 << 50),
            age_micros in 0u64..COOKIE_PERIOD_MICROS,
            client_isn: u32,
            mss: u16,
            window_scale in proptest::option::of(0u8..=14),
            sack_permitted: bool,
            timestamps: bool,
            clock: u32,
        ) {
            let tuple = random_tuple(&mut Rng::new(seed));
            let cookies = SynCookies::new(key);
            let now = Instant::from_micros(now_micros);
            let opts = CookieOptions { mss, window_scale, sack_permitted };
            let (isn, enc, bits) =
                cookies.encode(&tuple, now, TcpSeqNumber(client_isn), opts, timestamps);
            prop_assert!(enc.mss <= mss.max(SynCookies::mss_table(&tuple)[0]));
            let tsecr = bits.map(|b| SynCookies::tsval(clock, b));
            let later = now + Duration::from_micros(age_micros);
            let got = cookies.decode(&tuple, later, isn + 1, TcpSeqNumber(client_isn) + 1, tsecr);
            prop_assert_eq!(got, Some(enc));
        }

        // RFC 4987 §3.6: random acks for a random tuple and key are (almost) never accepted:
        // at ~2^-29 each, two acceptances among 256 would be a 2^-42 event.
        #[test]
        fn cookie_random_acks_almost_never_accepted(seed: u64, key: [u8; 16], now_micros: u64) {
            let mut rng = Rng::new(seed);
            let tuple = random_tuple(&mut rng);
            let cookies = SynCookies::new(key);
            let now = Instant::from_micros(now_micros);
            let accepted = (0..256)
                .filter(|_| {
                    let ack = TcpSeqNumber(rng.next_u32());
                    let seq = TcpSeqNumber(rng.next_u32());
                    cookies.decode(&tuple, now, ack, seq, None).is_some()
                })
                .count();
            prop_assert!(accepted <= 1);
        }

        // RFC 6528 §3: for any tuple, the ISN moves exactly with the 4-µs timer.
        #[test]
        fn isn_tracks_the_timer(
            seed: u64,
            key: [u8; 16],
            t in 0u64..(1 << 60),
            dt in 0u64..(1 << 30),
        ) {
            let tuple = random_tuple(&mut Rng::new(seed));
            let isn_gen = IsnGenerator::new(key);
            let a = isn_gen.isn(&tuple, Instant::from_micros(t));
            let b = isn_gen.isn(&tuple, Instant::from_micros(t + dt));
            let m = |x: u64| (x / 4) as u32;
            prop_assert_eq!(b.0.wrapping_sub(a.0), m(t + dt).wrapping_sub(m(t)));
        }
    }
}
