//! NTP (RFC 5905) in client/server modes: the packet codec, era-aware timestamps, a client
//! that takes several samples and keeps the best, and a server answering from a supplied
//! clock.
//!
//! ```text
//! LI(2) VN(3) Mode(3) | Stratum | Poll | Precision | Root Delay(4) | Root Dispersion(4)
//! Reference ID(4) | Reference(8) | Origin(8) | Receive(8) | Transmit(8)   = 48 bytes
//! ```
//!
//! # Timestamps and eras (RFC 5905 §6)
//!
//! An [`NtpTimestamp`] is 32 bits of seconds since 1900-01-01 and 32 bits of fraction; the
//! seconds wrap every 2^32 s (era 0 ends on 2036-02-07 06:28:16 UTC). The era is not on the
//! wire, so [`NtpTimestamp::to_unix`] takes a pivot (a rough idea of the time, e.g. the build
//! date or the last known time) and picks the date within 68 years of it. Differences between
//! timestamps (offset and delay, RFC 5905 §8) use wrapping 64-bit arithmetic and so work
//! across an era boundary. NTP and Unix time both ignore leap seconds (a leap second repeats
//! a second), so the conversion is a constant shift; the leap indicator only announces one.
//!
//! # Client
//!
//! [`NtpClient`] sends `N` requests one after the other (each after the previous answer or
//! timeout, at least `interval` apart), checks each answer against its request (the origin
//! timestamp must echo the transmit timestamp we sent, RFC 5905 §8's "bogus" test; we send a
//! random one, as draft-ietf-ntp-data-minimization recommends, so it reveals no clock), and gives the sample with the lowest round-trip
//! delay (RFC 5905 §10's clock filter in its simplest form). A Kiss-o'-Death (stratum 0,
//! RFC 5905 §7.4) RATE, DENY or RSTR ends the run with an error; other kiss codes are ignored.

use core::fmt;

use crate::rand::Rng;
use crate::time::{Duration, Instant};
use crate::wire::{Error, Proto, Result, be32, put_be32};

/// The UDP port of NTP.
pub const PORT: u16 = 123;
/// The length of a packet without extension fields or MAC.
pub const HEADER_LEN: usize = 48;
/// Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch (1970-01-01).
pub const UNIX_OFFSET: i64 = 2_208_988_800;
const ERA_SECS: i64 = 1 << 32;
const NANOS: i128 = 1_000_000_000;

/// A point in Unix time: seconds since 1970-01-01 UTC (negative before) and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime {
    /// Whole seconds (floor).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl UnixTime {
    /// The time `nanos` nanoseconds after the Unix epoch (saturating to the `i64` range of
    /// seconds).
    pub fn from_nanos(nanos: i128) -> Self {
        let secs = nanos.div_euclid(NANOS);
        Self {
            secs: secs.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
            nanos: nanos.rem_euclid(NANOS) as u32,
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub fn as_nanos(self) -> i128 {
        i128::from(self.secs) * NANOS + i128::from(self.nanos)
    }

    /// Converts a `SystemTime` (before the epoch too).
    #[cfg(feature = "std")]
    pub fn from_system_time(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Self::from_nanos(d.as_nanos() as i128),
            Err(e) => Self::from_nanos(-(e.duration().as_nanos() as i128)),
        }
    }

    /// Converts to a `SystemTime`.
    #[cfg(feature = "std")]
    pub fn to_system_time(self) -> std::time::SystemTime {
        let n = self.as_nanos();
        let d = std::time::Duration::new(
            (n.unsigned_abs() / NANOS as u128) as u64,
            (n.unsigned_abs() % NANOS as u128) as u32,
        );
        if n >= 0 {
            std::time::UNIX_EPOCH + d
        } else {
            std::time::UNIX_EPOCH - d
        }
    }
}

/// A 64-bit NTP timestamp: 32 bits of seconds since the start of its era, 32 of fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// Zero: "unknown" on the wire.
    pub const ZERO: Self = Self(0);

    /// From seconds and fraction.
    pub const fn new(seconds: u32, fraction: u32) -> Self {
        Self(((seconds as u64) << 32) | fraction as u64)
    }

    /// The seconds within the era.
    pub const fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The fraction of a second in units of 2^-32 s.
    pub const fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// The timestamp of a Unix time (its era is dropped). Rounds down to the 2^-32 s unit.
    pub fn from_unix(t: UnixTime) -> Self {
        let ntp_secs = i128::from(t.secs) + i128::from(UNIX_OFFSET);
        let seconds = ntp_secs.rem_euclid(i128::from(ERA_SECS)) as u32;
        let fraction = ((u64::from(t.nanos.min(999_999_999)) << 32) / 1_000_000_000) as u32;
        Self::new(seconds, fraction)
    }

    /// The era `era` date of this timestamp as Unix time (era 0 began 1900-01-01, era 1
    /// begins 2036-02-07 06:28:16 UTC). Nanoseconds are rounded to nearest, so
    /// `from_unix` then `to_unix_in_era` gives back the same time.
    pub fn to_unix_in_era(self, era: i32) -> UnixTime {
        let ntp_secs = i128::from(era) * i128::from(ERA_SECS) + i128::from(self.seconds());
        let frac_ns = (u128::from(self.fraction()) * NANOS as u128 + (1 << 31)) >> 32;
        UnixTime::from_nanos((ntp_secs - i128::from(UNIX_OFFSET)) * NANOS + frac_ns as i128)
    }

    /// The date of this timestamp closest to `pivot` (within 2^31 s, about 68 years).
    pub fn to_unix(self, pivot: UnixTime) -> UnixTime {
        let pivot_ntp = i128::from(pivot.secs) + i128::from(UNIX_OFFSET);
        let era = pivot_ntp.div_euclid(i128::from(ERA_SECS));
        let mut best = self.to_unix_in_era(era as i32);
        for e in [era - 1, era + 1] {
            let cand = self.to_unix_in_era(e as i32);
            if (cand.as_nanos() - pivot.as_nanos()).abs()
                < (best.as_nanos() - pivot.as_nanos()).abs()
            {
                best = cand;
            }
        }
        best
    }

    /// The era of a Unix time (0 until 2036-02-07 06:28:16 UTC, then 1; negative before 1900).
    pub fn era_of(t: UnixTime) -> i32 {
        (i128::from(t.secs) + i128::from(UNIX_OFFSET)).div_euclid(i128::from(ERA_SECS)) as i32
    }

    /// The timestamp of a `SystemTime`.
    #[cfg(feature = "std")]
    pub fn from_system_time(t: std::time::SystemTime) -> Self {
        Self::from_unix(UnixTime::from_system_time(t))
    }

    /// The `SystemTime` of this timestamp nearest to `pivot`.
    #[cfg(feature = "std")]
    pub fn to_system_time(self, pivot: std::time::SystemTime) -> std::time::SystemTime {
        self.to_unix(UnixTime::from_system_time(pivot))
            .to_system_time()
    }

    /// `self - earlier` in nanoseconds (rounded to nearest), with wrapping arithmetic (RFC 5905 §6: valid when the
    /// two are within 68 years, across an era boundary too).
    pub fn diff_nanos(self, earlier: Self) -> i64 {
        let d = self.0.wrapping_sub(earlier.0) as i64;
        ((i128::from(d) * NANOS + (1 << 31)) >> 32) as i64
    }
}

impl fmt::Display for NtpTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.seconds(),
            (u64::from(self.fraction()) * 1_000_000_000) >> 32
        )
    }
}

/// The association mode (RFC 5905 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Reserved (0).
    Reserved,
    /// Symmetric active (1).
    SymmetricActive,
    /// Symmetric passive (2).
    SymmetricPassive,
    /// Client (3).
    Client,
    /// Server (4).
    Server,
    /// Broadcast (5).
    Broadcast,
    /// NTP control message (6).
    Control,
    /// Private use (7).
    Private,
}

impl From<u8> for Mode {
    fn from(v: u8) -> Self {
        match v & 7 {
            0 => Self::Reserved,
            1 => Self::SymmetricActive,
            2 => Self::SymmetricPassive,
            3 => Self::Client,
            4 => Self::Server,
            5 => Self::Broadcast,
            6 => Self::Control,
            _ => Self::Private,
        }
    }
}

impl From<Mode> for u8 {
    fn from(m: Mode) -> u8 {
        m as u8
    }
}

/// Leap indicator: no warning.
pub const LEAP_NONE: u8 = 0;
/// Leap indicator: the last minute of the day has 61 seconds.
pub const LEAP_ADD: u8 = 1;
/// Leap indicator: the last minute of the day has 59 seconds.
pub const LEAP_DEL: u8 = 2;
/// Leap indicator: unknown (clock unsynchronized).
pub const LEAP_UNSYNC: u8 = 3;

mod field {
    use crate::wire::Field;
    pub const FLAGS: usize = 0;
    pub const STRATUM: usize = 1;
    pub const POLL: usize = 2;
    pub const PRECISION: usize = 3;
    pub const ROOT_DELAY: Field = 4..8;
    pub const ROOT_DISPERSION: Field = 8..12;
    pub const REF_ID: Field = 12..16;
    pub const REFERENCE: Field = 16..24;
    pub const ORIGIN: Field = 24..32;
    pub const RECEIVE: Field = 32..40;
    pub const TRANSMIT: Field = 40..48;
}

/// A read/write view of an NTP packet. Extension fields and a MAC after the 48 bytes are
/// left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn ts_at(buf: &[u8], at: usize) -> NtpTimestamp {
    NtpTimestamp((u64::from(be32(buf, at)) << 32) | u64::from(be32(buf, at + 4)))
}

impl<T: AsRef<[u8]>> NtpPacket<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the 48-byte header. After `Ok`, no accessor panics.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::truncated(Proto::Ntp, "header", HEADER_LEN, len));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Leap indicator (2 bits).
    pub fn leap(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS] >> 6
    }

    /// Version number (3 bits).
    pub fn version(&self) -> u8 {
        (self.buffer.as_ref()[field::FLAGS] >> 3) & 7
    }

    /// Mode.
    pub fn mode(&self) -> Mode {
        Mode::from(self.buffer.as_ref()[field::FLAGS])
    }

    /// Stratum (0 = Kiss-o'-Death / unspecified, 1 = primary, 2-15 secondary, 16 unsynchronized).
    pub fn stratum(&self) -> u8 {
        self.buffer.as_ref()[field::STRATUM]
    }

    /// Poll interval, log2 seconds.
    pub fn poll(&self) -> i8 {
        self.buffer.as_ref()[field::POLL] as i8
    }

    /// Precision, log2 seconds.
    pub fn precision(&self) -> i8 {
        self.buffer.as_ref()[field::PRECISION] as i8
    }

    /// Root delay, NTP short format (16.16 s).
    pub fn root_delay(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ROOT_DELAY.start)
    }

    /// Root dispersion, NTP short format.
    pub fn root_dispersion(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ROOT_DISPERSION.start)
    }

    /// Reference ID (a kiss code when stratum is 0).
    pub fn ref_id(&self) -> [u8; 4] {
        let mut id = [0; 4];
        id.copy_from_slice(&self.buffer.as_ref()[field::REF_ID]);
        id
    }

    /// Reference timestamp.
    pub fn reference(&self) -> NtpTimestamp {
        ts_at(self.buffer.as_ref(), field::REFERENCE.start)
    }

    /// Origin timestamp (T1 of the request this answers).
    pub fn origin(&self) -> NtpTimestamp {
        ts_at(self.buffer.as_ref(), field::ORIGIN.start)
    }

    /// Receive timestamp (T2).
    pub fn receive(&self) -> NtpTimestamp {
        ts_at(self.buffer.as_ref(), field::RECEIVE.start)
    }

    /// Transmit timestamp (T3).
    pub fn transmit(&self) -> NtpTimestamp {
        ts_at(self.buffer.as_ref(), field::TRANSMIT.start)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> NtpPacket<T> {
    /// Sets the transmit timestamp.
    pub fn set_transmit(&mut self, ts: NtpTimestamp) {
        let buf = self.buffer.as_mut();
        put_be32(buf, field::TRANSMIT.start, ts.seconds());
        put_be32(buf, field::TRANSMIT.start + 4, ts.fraction());
    }
}

/// A validated NTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NtpRepr {
    /// Leap indicator ([`LEAP_NONE`] ...).
    pub leap: u8,
    /// Version (1 to 4).
    pub version: u8,
    /// Mode.
    pub mode: Mode,
    /// Stratum.
    pub stratum: u8,
    /// Poll interval, log2 s.
    pub poll: i8,
    /// Precision, log2 s.
    pub precision: i8,
    /// Root delay (16.16 s).
    pub root_delay: u32,
    /// Root dispersion (16.16 s).
    pub root_dispersion: u32,
    /// Reference ID or kiss code.
    pub ref_id: [u8; 4],
    /// Reference timestamp.
    pub reference: NtpTimestamp,
    /// Origin timestamp.
    pub origin: NtpTimestamp,
    /// Receive timestamp.
    pub receive: NtpTimestamp,
    /// Transmit timestamp.
    pub transmit: NtpTimestamp,
}

impl NtpRepr {
    /// Parses a checked packet; the version must be 1 to 4.
    pub fn parse<T: AsRef<[u8]>>(p: &NtpPacket<T>) -> Result<Self> {
        p.check_len()?;
        let version = p.version();
        if !(1..=4).contains(&version) {
            return Err(Error::invalid(
                Proto::Ntp,
                "version",
                version.into(),
                "1 to 4",
            ));
        }
        Ok(Self {
            leap: p.leap(),
            version,
            mode: p.mode(),
            stratum: p.stratum(),
            poll: p.poll(),
            precision: p.precision(),
            root_delay: p.root_delay(),
            root_dispersion: p.root_dispersion(),
            ref_id: p.ref_id(),
            reference: p.reference(),
            origin: p.origin(),
            receive: p.receive(),
            transmit: p.transmit(),
        })
    }

    /// The header's length: 48.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 48-byte header; returns 48.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        buf[field::FLAGS] = (self.leap << 6) | ((self.version & 7) << 3) | u8::from(self.mode);
        buf[field::STRATUM] = self.stratum;
        buf[field::POLL] = self.poll as u8;
        buf[field::PRECISION] = self.precision as u8;
        put_be32(buf, field::ROOT_DELAY.start, self.root_delay);
        put_be32(buf, field::ROOT_DISPERSION.start, self.root_dispersion);
        buf[field::REF_ID].copy_from_slice(&self.ref_id);
        for (at, ts) in [
            (field::REFERENCE.start, self.reference),
            (field::ORIGIN.start, self.origin),
            (field::RECEIVE.start, self.receive),
            (field::TRANSMIT.start, self.transmit),
        ] {
            put_be32(buf, at, ts.seconds());
            put_be32(buf, at + 4, ts.fraction());
        }
        HEADER_LEN
    }

    /// The kiss code of a Kiss-o'-Death packet (stratum 0, RFC 5905 §7.4).
    pub fn kiss_code(&self) -> Option<[u8; 4]> {
        (self.stratum == 0 && self.mode == Mode::Server).then_some(self.ref_id)
    }
}

/// One measurement (RFC 5905 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sample {
    /// How far the server's clock is ahead of ours: `((T2 - T1) + (T3 - T4)) / 2`.
    pub offset_ns: i64,
    /// Round-trip delay: `(T4 - T1) - (T3 - T2)`, at least 0.
    pub delay_ns: i64,
    /// The server's stratum.
    pub stratum: u8,
    /// The server's leap indicator.
    pub leap: u8,
}

impl Sample {
    /// The sample of one exchange: T1 our transmit, T2 the server's receive, T3 the server's
    /// transmit, T4 our receive.
    pub fn from_timestamps(
        t1: NtpTimestamp,
        t2: NtpTimestamp,
        t3: NtpTimestamp,
        t4: NtpTimestamp,
    ) -> Self {
        let a = i128::from(t2.diff_nanos(t1));
        let b = i128::from(t3.diff_nanos(t4));
        let delay = i128::from(t4.diff_nanos(t1)) - i128::from(t3.diff_nanos(t2));
        Self {
            offset_ns: ((a + b) / 2) as i64,
            delay_ns: delay.clamp(0, i128::from(i64::MAX)) as i64,
            stratum: 0,
            leap: LEAP_NONE,
        }
    }
}

/// Why an [`NtpClient`] run ended without a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NtpError {
    /// Every request timed out or was answered with something unusable.
    NoResponse,
    /// Kiss-o'-Death RATE: the server wants us to poll less often. Wait at least the poll
    /// interval the server gave (log2 s) before the next run.
    RateLimited {
        /// The server's poll field (log2 seconds).
        poll: i8,
    },
    /// Kiss-o'-Death DENY or RSTR: the server refuses us; do not ask it again.
    Denied([u8; 4]),
}

impl fmt::Display for NtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoResponse => f.write_str("NTP: no usable response"),
            Self::RateLimited { poll } => {
                write!(f, "NTP: rate limited (kiss code RATE, poll 2^{poll} s)")
            }
            Self::Denied(code) => {
                write!(f, "NTP: access denied (kiss code {})", code.escape_ascii())
            }
        }
    }
}

impl core::error::Error for NtpError {}

/// [`NtpClient`] settings.
#[derive(Debug, Clone, Copy)]
pub struct NtpClientConfig {
    /// Time to wait for each answer.
    pub timeout: Duration,
    /// The least time between two requests (2 s, as chrony's `iburst`).
    pub interval: Duration,
    /// Seeds the random transmit timestamps.
    pub seed: u64,
}

impl Default for NtpClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            interval: Duration::from_secs(2),
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Outstanding {
    /// The random transmit timestamp we sent: the answer's origin must echo it.
    cookie: NtpTimestamp,
    /// Our wall clock when we sent it (T1).
    t1: NtpTimestamp,
    deadline: Instant,
}

/// A client taking `N` samples from one server (the runtime sends to `server:123`).
///
/// Call order: [`handle`](Self::handle) for each datagram from the server,
/// [`handle_timeout`](Self::handle_timeout), [`poll_transmit`](Self::poll_transmit),
/// [`poll_result`](Self::poll_result), [`poll_at`](Self::poll_at).
#[derive(Debug, Clone)]
pub struct NtpClient<const N: usize> {
    config: NtpClientConfig,
    rng: Rng,
    samples: [Option<Sample>; N],
    sent: usize,
    outstanding: Option<Outstanding>,
    next_send: Instant,
    result: Option<core::result::Result<Sample, NtpError>>,
    done: bool,
}

impl<const N: usize> NtpClient<N> {
    /// A client that sends its first request at `now`.
    pub fn new(config: NtpClientConfig, now: Instant) -> Self {
        Self {
            config,
            rng: Rng::new(config.seed),
            samples: [None; N],
            sent: 0,
            outstanding: None,
            next_send: now,
            result: None,
            done: N == 0,
        }
    }

    /// Writes the next request into `buf` (at least 48 bytes) when one is due; `wall` is the
    /// local wall clock now (T1). Returns its length.
    #[must_use]
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        wall: NtpTimestamp,
        buf: &mut [u8],
    ) -> Option<usize> {
        if self.done
            || self.outstanding.is_some()
            || self.sent >= N
            || now < self.next_send
            || buf.len() < HEADER_LEN
        {
            return None;
        }
        // draft-ietf-ntp-data-minimization: a client request carries nothing but the mode,
        // the version and a random transmit timestamp.
        let cookie = NtpTimestamp(self.rng.next_u64());
        let req = NtpRepr {
            leap: LEAP_NONE,
            version: 4,
            mode: Mode::Client,
            stratum: 0,
            poll: 0,
            precision: 0,
            root_delay: 0,
            root_dispersion: 0,
            ref_id: [0; 4],
            reference: NtpTimestamp::ZERO,
            origin: NtpTimestamp::ZERO,
            receive: NtpTimestamp::ZERO,
            transmit: cookie,
        };
        let len = req.emit(buf);
        self.outstanding = Some(Outstanding {
            cookie,
            t1: wall,
            deadline: now + self.config.timeout,
        });
        self.sent += 1;
        self.next_send = now + self.config.interval;
        Some(len)
    }

    /// Takes a datagram from the server; `wall` is the local wall clock when it arrived (T4).
    /// Returns the sample it gave, if it was a valid answer to the outstanding request.
    pub fn handle(&mut self, now: Instant, wall: NtpTimestamp, payload: &[u8]) -> Option<Sample> {
        let out = self.outstanding?;
        let repr = NtpPacket::new_checked(payload)
            .and_then(|p| NtpRepr::parse(&p))
            .ok()?;
        // RFC 5905 §8: an answer whose origin is not our transmit is bogus.
        if repr.mode != Mode::Server || repr.origin != out.cookie {
            return None;
        }
        if let Some(code) = repr.kiss_code() {
            match &code {
                b"RATE" => self.finish(Err(NtpError::RateLimited { poll: repr.poll })),
                b"DENY" | b"RSTR" => self.finish(Err(NtpError::Denied(code))),
                _ => {
                    // Other kiss codes: not usable, not fatal (RFC 5905 §7.4).
                    self.outstanding = None;
                    self.check_done();
                }
            }
            return None;
        }
        // Unsynchronized servers and empty timestamps are not usable (RFC 5905 §8 tests).
        self.outstanding = None;
        if repr.leap == LEAP_UNSYNC
            || repr.stratum >= 16
            || repr.transmit == NtpTimestamp::ZERO
            || repr.receive == NtpTimestamp::ZERO
        {
            self.check_done();
            return None;
        }
        let mut s = Sample::from_timestamps(out.t1, repr.receive, repr.transmit, wall);
        s.stratum = repr.stratum;
        s.leap = repr.leap;
        if let Some(slot) = self.samples.iter_mut().find(|s| s.is_none()) {
            *slot = Some(s);
        }
        let _ = now;
        self.check_done();
        Some(s)
    }

    /// Gives up on an unanswered request whose time is up.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(out) = self.outstanding
            && now >= out.deadline
        {
            self.outstanding = None;
            self.check_done();
        }
    }

    fn check_done(&mut self) {
        if self.done || self.outstanding.is_some() || self.sent < N {
            return;
        }
        let best = self
            .samples
            .iter()
            .flatten()
            .min_by_key(|s| s.delay_ns)
            .copied();
        self.finish(best.ok_or(NtpError::NoResponse));
    }

    fn finish(&mut self, r: core::result::Result<Sample, NtpError>) {
        self.done = true;
        self.outstanding = None;
        self.result = Some(r);
    }

    /// The outcome once the run is over: the lowest-delay sample, or why there is none.
    pub fn poll_result(&mut self) -> Option<core::result::Result<Sample, NtpError>> {
        self.result.take()
    }

    /// True once the run is over (the result may have been taken).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The samples collected so far.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter().flatten()
    }

    /// When to call again: the answer deadline, or the next request.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        match self.outstanding {
            Some(o) => Some(o.deadline),
            None => Some(self.next_send),
        }
    }
}

/// What an [`NtpServer`] says about its clock.
#[derive(Debug, Clone, Copy)]
pub struct NtpServerConfig {
    /// Stratum (1 for a reference clock, the upstream's + 1 otherwise).
    pub stratum: u8,
    /// Reference ID: a 4-letter source at stratum 1 (e.g. `GPS\0`), the upstream's IPv4
    /// address otherwise.
    pub ref_id: [u8; 4],
    /// Precision, log2 s.
    pub precision: i8,
    /// Root delay (16.16 s).
    pub root_delay: u32,
    /// Root dispersion (16.16 s).
    pub root_dispersion: u32,
    /// Leap indicator to announce.
    pub leap: u8,
    /// When the clock was last set or corrected.
    pub reference: NtpTimestamp,
}

/// A server answering client (mode 3) requests with server (mode 4) replies from a supplied
/// clock (RFC 5905 §9.2, §8).
#[derive(Debug, Clone)]
pub struct NtpServer {
    /// The clock's description; change it when the clock is corrected.
    pub config: NtpServerConfig,
}

impl NtpServer {
    /// A server with `config`.
    pub const fn new(config: NtpServerConfig) -> Self {
        Self { config }
    }

    /// Answers `request`, received at `received` (T2), writing the reply into `out` (at least
    /// 48 bytes) with `transmit` (T3: the clock now) as late as possible. Anything but a
    /// client request is an error (drop it).
    pub fn respond(
        &self,
        request: &[u8],
        received: NtpTimestamp,
        transmit: NtpTimestamp,
        out: &mut [u8],
    ) -> Result<usize> {
        let req = NtpRepr::parse(&NtpPacket::new_checked(request)?)?;
        if req.mode != Mode::Client {
            return Err(Error::invalid(
                Proto::Ntp,
                "mode",
                u8::from(req.mode).into(),
                "3 (client)",
            ));
        }
        if out.len() < HEADER_LEN {
            return Err(Error::above(
                Proto::Ntp,
                "reply length",
                HEADER_LEN,
                "buffer length",
                out.len(),
            ));
        }
        let c = &self.config;
        let reply = NtpRepr {
            leap: c.leap,
            version: req.version,
            mode: Mode::Server,
            stratum: c.stratum,
            poll: req.poll,
            precision: c.precision,
            root_delay: c.root_delay,
            root_dispersion: c.root_dispersion,
            ref_id: c.ref_id,
            reference: c.reference,
            origin: req.transmit,
            receive: received,
            transmit,
        };
        Ok(reply.emit(out))
    }
}

#[cfg(test)]
#[path = "ntp_tests.rs"]
mod tests;
