//! TCP segments (RFC 9293 §3.1) and their options: End of Option List, No-Operation and
//! Maximum Segment Size (RFC 9293 §3.2, RFC 6691), Window Scale and Timestamps (RFC 7323),
//! SACK-Permitted and SACK (RFC 2018).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |     |A|C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrv|E|W|C|R|C|S|S|Y|I|            Window             |
//! |       |     | |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options (0..40 bytes)      |    Padding    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                             data                              |
//! ```
//!
//! The data offset counts 32-bit words (5..=15, so the header is 20..=60 bytes). The segment
//! has no length field: the data is the rest of the buffer, which the IP layer must bound.
//! The checksum covers the pseudo-header (RFC 9293 §3.1; RFC 8200 §8.1 for IPv6), the header
//! and the data.
//!
//! # Building a segment
//!
//! [`TcpRepr::emit`] writes header, payload and checksum. To write the payload in place
//! instead: [`TcpRepr::emit_header`], write the data after the header, then
//! [`TcpPacket::fill_checksum`] over a buffer of exactly [`TcpRepr::buffer_len`] bytes.

use core::cmp::Ordering;
use core::fmt;
use core::ops;

use super::{Error, IpAddrPair, IpProtocol, Proto, Result, be16, be32, put_be16, put_be32};
use crate::checksum;

// ---------------------------------------------------------------------------------------------
// Sequence numbers
// ---------------------------------------------------------------------------------------------

/// A TCP sequence number: a `u32` in modulo-2^32 sequence space (RFC 9293 §3.4).
///
/// Arithmetic wraps: `TcpSeqNumber(u32::MAX) + 1 == TcpSeqNumber(0)`. Comparison is in sequence
/// space: `a < b` iff `(a - b) as i32 < 0`, i.e. `b` is less than 2^31 ahead of `a`.
///
/// **Caveat:** this is not a total order. It is only meaningful for numbers less than 2^31
/// apart (which any window is); two numbers exactly 2^31 apart are each "less" than the
/// other, and the relation is not transitive over larger spans. That is why the type
/// implements `PartialOrd` but not `Ord`, and has its own [`max`](Self::max) and
/// [`min`](Self::min).
///
/// ```
/// use proto_core::wire::tcp::TcpSeqNumber;
/// let a = TcpSeqNumber(u32::MAX - 1);
/// let b = a + 4; // wraps to 2
/// assert_eq!(b, TcpSeqNumber(2));
/// assert!(a < b);
/// assert_eq!(b - a, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpSeqNumber(pub u32);

impl TcpSeqNumber {
    /// The later of two numbers in sequence space.
    #[inline]
    pub fn max(self, other: Self) -> Self {
        if self < other { other } else { self }
    }

    /// The earlier of two numbers in sequence space.
    #[inline]
    pub fn min(self, other: Self) -> Self {
        if self < other { self } else { other }
    }

    /// The signed distance from `other` to `self` (`self - other` as `i32`): positive when
    /// `self` is after `other`.
    #[inline]
    pub const fn wrapping_diff(self, other: Self) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
}

impl ops::Add<usize> for TcpSeqNumber {
    type Output = Self;

    /// Advances by `rhs` bytes, modulo 2^32.
    #[inline]
    fn add(self, rhs: usize) -> Self {
        Self(self.0.wrapping_add(rhs as u32))
    }
}

impl ops::AddAssign<usize> for TcpSeqNumber {
    #[inline]
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl ops::Sub<usize> for TcpSeqNumber {
    type Output = Self;

    /// Goes back by `rhs` bytes, modulo 2^32.
    #[inline]
    fn sub(self, rhs: usize) -> Self {
        Self(self.0.wrapping_sub(rhs as u32))
    }
}

impl ops::Sub for TcpSeqNumber {
    type Output = usize;

    /// The number of bytes from `rhs` up to `self`. When `self` is before `rhs` in sequence
    /// space the result saturates to 0 (it never panics and never wraps to ~4 GiB).
    #[inline]
    fn sub(self, rhs: Self) -> usize {
        let d = self.wrapping_diff(rhs);
        if d < 0 { 0 } else { d as usize }
    }
}

impl PartialOrd for TcpSeqNumber {
    /// Sequence-space order (RFC 9293 §3.4); see the caveat on the type.
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.wrapping_diff(*other).cmp(&0))
    }
}

impl From<u32> for TcpSeqNumber {
    #[inline]
    fn from(value: u32) -> Self {
        Self(value)
    }
}

impl From<TcpSeqNumber> for u32 {
    #[inline]
    fn from(value: TcpSeqNumber) -> Self {
        value.0
    }
}

impl fmt::Display for TcpSeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

/// The nine control bits of the TCP header (the low 9 bits of bytes 12..14).
///
/// The ninth bit, once the ECN-nonce `NS` flag (RFC 3540, made historic by RFC 8311), is
/// [`AE`](Self::AE), the Accurate ECN bit of RFC 9768; it is kept as read and otherwise not
/// interpreted. The three bits between it and the data offset are reserved and not part of
/// the flags.
///
/// `Display` is tcpdump's: `[S.]` for SYN+ACK, `[P.]` for PSH+ACK, `[none]` for no flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: Self = Self(0x001);
    /// Synchronize sequence numbers.
    pub const SYN: Self = Self(0x002);
    /// Reset the connection.
    pub const RST: Self = Self(0x004);
    /// Push function.
    pub const PSH: Self = Self(0x008);
    /// Acknowledgment field is significant.
    pub const ACK: Self = Self(0x010);
    /// Urgent pointer field is significant.
    pub const URG: Self = Self(0x020);
    /// ECN-Echo (RFC 3168).
    pub const ECE: Self = Self(0x040);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: Self = Self(0x080);
    /// Accurate ECN (RFC 9768); formerly the ECN-nonce `NS` bit (RFC 3540, historic).
    pub const AE: Self = Self(0x100);
    /// All nine bits.
    pub const ALL: Self = Self(0x1ff);

    /// No flags.
    #[inline]
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The bits.
    #[inline]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// True when every flag of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when no flag is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets or clears the flags of `other`.
    #[inline]
    pub fn set(&mut self, other: Self, value: bool) {
        if value {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }
}

impl ops::BitOr for TcpFlags {
    type Output = Self;
    #[inline]
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for TcpFlags {
    #[inline]
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for TcpFlags {
    type Output = Self;
    #[inline]
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tcpdump's order and letters (print-tcp.c `tcp_flag_values`).
        const LETTERS: [(TcpFlags, char); 9] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
            (TcpFlags::AE, 'e'),
        ];
        f.write_str("[")?;
        if self.is_empty() {
            f.write_str("none")?;
        }
        for (flag, letter) in LETTERS {
            if self.contains(flag) {
                write!(f, "{letter}")?;
            }
        }
        f.write_str("]")
    }
}

// ---------------------------------------------------------------------------------------------
// The packet view
// ---------------------------------------------------------------------------------------------

mod field {
    use crate::wire::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    /// Data offset (4 bits), reserved (3 bits), then the nine flags.
    pub const FLAGS: Field = 12..14;
    pub const WIN_SIZE: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
    pub const OPTIONS_START: usize = 20;
}

/// The length of a TCP header without options.
pub const HEADER_LEN: usize = 20;

/// The longest TCP header: data offset 15.
pub const MAX_HEADER_LEN: usize = 60;

/// A read/write view of a TCP segment: the header, then the data up to the buffer's end.
///
/// ```
/// use proto_core::wire::tcp::{TcpPacket, TcpOption};
/// let syn = [
///     0x9c, 0x40, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0x60, 0x02, 0xfa, 0xf0,
///     0, 0, 0, 0, 0x02, 0x04, 0x05, 0xb4,
/// ];
/// let tcp = TcpPacket::new_checked(&syn[..]).unwrap();
/// assert!(tcp.syn() && !tcp.ack());
/// assert_eq!(tcp.flags().to_string(), "[S]");
/// let mut options = tcp.options_iter();
/// assert_eq!(options.next(), Some(Ok(TcpOption::MaxSegmentSize(1460))));
/// assert_eq!(options.next(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed header, that the data offset is at least 5
    /// (RFC 9293 §3.1) and that the buffer holds the options it announces. The options
    /// themselves are checked lazily by [`options_iter`](Self::options_iter) (and by
    /// [`TcpRepr::parse`]). After `Ok`, no accessor panics.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(
                Proto::Tcp,
                "header",
                HEADER_LEN,
                buf.len(),
            ));
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::below(
                Proto::Tcp,
                "header length",
                header_len,
                "minimum",
                HEADER_LEN,
            ));
        }
        if header_len > buf.len() {
            return Err(Error::truncated(
                Proto::Tcp,
                "options",
                header_len,
                buf.len(),
            ));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// The destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The sequence number.
    #[inline]
    pub fn seq_number(&self) -> TcpSeqNumber {
        TcpSeqNumber(be32(self.buffer.as_ref(), field::SEQ_NUM.start))
    }

    /// The acknowledgment number (meaningful when [`ack`](Self::ack) is set).
    #[inline]
    pub fn ack_number(&self) -> TcpSeqNumber {
        TcpSeqNumber(be32(self.buffer.as_ref(), field::ACK_NUM.start))
    }

    /// The header length in bytes: the data offset times 4.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::FLAGS.start] >> 4) * 4
    }

    /// The nine control bits.
    #[inline]
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(be16(self.buffer.as_ref(), field::FLAGS.start) & TcpFlags::ALL.0)
    }

    #[inline]
    fn flag(&self, flag: TcpFlags) -> bool {
        self.flags().contains(flag)
    }

    /// The FIN flag.
    #[inline]
    pub fn fin(&self) -> bool {
        self.flag(TcpFlags::FIN)
    }

    /// The SYN flag.
    #[inline]
    pub fn syn(&self) -> bool {
        self.flag(TcpFlags::SYN)
    }

    /// The RST flag.
    #[inline]
    pub fn rst(&self) -> bool {
        self.flag(TcpFlags::RST)
    }

    /// The PSH flag.
    #[inline]
    pub fn psh(&self) -> bool {
        self.flag(TcpFlags::PSH)
    }

    /// The ACK flag.
    #[inline]
    pub fn ack(&self) -> bool {
        self.flag(TcpFlags::ACK)
    }

    /// The URG flag.
    #[inline]
    pub fn urg(&self) -> bool {
        self.flag(TcpFlags::URG)
    }

    /// The ECE (ECN-Echo) flag.
    #[inline]
    pub fn ece(&self) -> bool {
        self.flag(TcpFlags::ECE)
    }

    /// The CWR (Congestion Window Reduced) flag.
    #[inline]
    pub fn cwr(&self) -> bool {
        self.flag(TcpFlags::CWR)
    }

    /// The window field, as sent (not scaled).
    #[inline]
    pub fn window_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::WIN_SIZE.start)
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The urgent pointer (meaningful when [`urg`](Self::urg) is set).
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        be16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// The raw options area (bytes 20 to [`header_len`](Self::header_len)), padding included.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS_START..self.header_len()]
    }

    /// The options, parsed one at a time; see [`TcpOptions`].
    #[inline]
    pub fn options_iter(&self) -> TcpOptions<'_> {
        TcpOptions::new(self.options())
    }

    /// The data after the header: the rest of the buffer.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// The length in sequence space: the data plus one for SYN and one for FIN.
    #[inline]
    pub fn segment_len(&self) -> usize {
        self.payload().len() + usize::from(self.syn()) + usize::from(self.fin())
    }

    /// The folded sum of pseudo-header, header and data, checksum field included.
    #[inline]
    fn checksum_sum(&self, addrs: &IpAddrPair) -> u16 {
        let buf = self.buffer.as_ref();
        checksum::combine(&[
            addrs.pseudo_header_sum(IpProtocol::Tcp, buf.len()),
            checksum::sum(buf),
        ])
    }

    /// True when the checksum over the pseudo-header and the whole buffer is right.
    #[inline]
    pub fn verify_checksum(&self, addrs: &IpAddrPair) -> bool {
        checksum::verify(self.checksum_sum(addrs))
    }

    /// Like [`verify_checksum`](Self::verify_checksum), with the checksum that was expected
    /// on failure (`TCP: checksum 0x1234 is wrong, expected 0x17af`).
    #[inline]
    pub fn check_checksum(&self, addrs: &IpAddrPair) -> Result<()> {
        let total = self.checksum_sum(addrs);
        if checksum::verify(total) {
            return Ok(());
        }
        let found = self.checksum();
        // Take the field back out of the sum (one's-complement subtraction adds `!found`).
        let expected = !checksum::combine(&[total, !found]);
        Err(Error::bad_checksum(Proto::Tcp, found, expected))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// The raw options area, borrowed for the buffer's whole lifetime.
    #[inline]
    pub fn options_slice(&self) -> &'a [u8] {
        let len = self.header_len();
        &self.buffer.as_ref()[field::OPTIONS_START..len]
    }

    /// The data, borrowed for the buffer's whole lifetime (not just the view's).
    #[inline]
    pub fn payload_slice(&self) -> &'a [u8] {
        let len = self.header_len();
        &self.buffer.as_ref()[len..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        put_be16(self.buffer.as_mut(), field::SRC_PORT.start, port);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        put_be16(self.buffer.as_mut(), field::DST_PORT.start, port);
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, seq: TcpSeqNumber) {
        put_be32(self.buffer.as_mut(), field::SEQ_NUM.start, seq.0);
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, ack: TcpSeqNumber) {
        put_be32(self.buffer.as_mut(), field::ACK_NUM.start, ack.0);
    }

    /// Sets the data offset to `len / 4` (`len` is a multiple of 4 in 20..=60; other bits of
    /// byte 12 are kept).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        let b = &mut self.buffer.as_mut()[field::FLAGS.start];
        *b = (*b & 0x0f) | ((((len / 4) as u8) & 0x0f) << 4);
    }

    /// Sets the nine control bits (the data offset and the reserved bits are kept).
    #[inline]
    pub fn set_flags(&mut self, flags: TcpFlags) {
        let buf = self.buffer.as_mut();
        let raw = be16(buf, field::FLAGS.start) & !TcpFlags::ALL.0;
        put_be16(buf, field::FLAGS.start, raw | (flags.0 & TcpFlags::ALL.0));
    }

    #[inline]
    fn set_flag(&mut self, flag: TcpFlags, value: bool) {
        let mut flags = self.flags();
        flags.set(flag, value);
        self.set_flags(flags);
    }

    /// Sets or clears FIN.
    #[inline]
    pub fn set_fin(&mut self, value: bool) {
        self.set_flag(TcpFlags::FIN, value);
    }

    /// Sets or clears SYN.
    #[inline]
    pub fn set_syn(&mut self, value: bool) {
        self.set_flag(TcpFlags::SYN, value);
    }

    /// Sets or clears RST.
    #[inline]
    pub fn set_rst(&mut self, value: bool) {
        self.set_flag(TcpFlags::RST, value);
    }

    /// Sets or clears PSH.
    #[inline]
    pub fn set_psh(&mut self, value: bool) {
        self.set_flag(TcpFlags::PSH, value);
    }

    /// Sets or clears ACK.
    #[inline]
    pub fn set_ack(&mut self, value: bool) {
        self.set_flag(TcpFlags::ACK, value);
    }

    /// Sets or clears URG.
    #[inline]
    pub fn set_urg(&mut self, value: bool) {
        self.set_flag(TcpFlags::URG, value);
    }

    /// Sets or clears ECE.
    #[inline]
    pub fn set_ece(&mut self, value: bool) {
        self.set_flag(TcpFlags::ECE, value);
    }

    /// Sets or clears CWR.
    #[inline]
    pub fn set_cwr(&mut self, value: bool) {
        self.set_flag(TcpFlags::CWR, value);
    }

    /// Sets the window field.
    #[inline]
    pub fn set_window_len(&mut self, window: u16) {
        put_be16(self.buffer.as_mut(), field::WIN_SIZE.start, window);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        put_be16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, at: u16) {
        put_be16(self.buffer.as_mut(), field::URGENT.start, at);
    }

    /// Computes and writes the checksum over the pseudo-header and the whole buffer (header
    /// and data): the buffer must end where the segment does.
    #[inline]
    pub fn fill_checksum(&mut self, addrs: &IpAddrPair) {
        self.set_checksum(0);
        let c = !self.checksum_sum(addrs);
        self.set_checksum(c);
    }

    /// The options area, writable.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        &mut self.buffer.as_mut()[field::OPTIONS_START..len]
    }

    /// The data, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        &mut self.buffer.as_mut()[len..]
    }
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// Option kinds (IANA "TCP Option Kind Numbers").
mod kind {
    pub const END_OF_LIST: u8 = 0;
    pub const NO_OPERATION: u8 = 1;
    pub const MAX_SEG_SIZE: u8 = 2;
    pub const WINDOW_SCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMPS: u8 = 8;
}

/// The largest window shift RFC 7323 §2.3 allows; larger values are to be used as 14.
pub const MAX_WINDOW_SCALE: u8 = 14;

/// The most SACK blocks an option can hold (RFC 2018 §3: 40 bytes of options fit four).
pub const MAX_SACK_BLOCKS: usize = 4;

/// The blocks of a SACK option (RFC 2018 §3): 1 to 4 `(left edge, right edge)` pairs of
/// 32-bit sequence numbers, read from the packet without copying.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SackBlocks<'a> {
    /// 8, 16, 24 or 32 bytes.
    bytes: &'a [u8],
}

impl<'a> SackBlocks<'a> {
    /// Wraps the option's data (after kind and length). `None` unless it is 1 to 4 blocks of
    /// 8 bytes.
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        let ok = !bytes.is_empty()
            && bytes.len().is_multiple_of(8)
            && bytes.len() <= 8 * MAX_SACK_BLOCKS;
        ok.then_some(Self { bytes })
    }

    /// The number of blocks (1 to 4).
    #[inline]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.bytes.len() / 8
    }

    /// The `index`th block, or `None` past the last.
    #[inline]
    pub fn get(&self, index: usize) -> Option<(u32, u32)> {
        let at = index.checked_mul(8)?;
        if at + 8 > self.bytes.len() {
            return None;
        }
        Some((be32(self.bytes, at), be32(self.bytes, at + 4)))
    }

    /// The blocks, in option order (RFC 2018 §4: the first is the most recent).
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.bytes.chunks_exact(8).map(|b| (be32(b, 0), be32(b, 4)))
    }

    /// The raw blocks.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

impl fmt::Debug for SackBlocks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One TCP option (RFC 9293 §3.2), borrowing its data from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    /// End of Option List (kind 0): the rest of the options area is padding.
    EndOfList,
    /// No-Operation (kind 1), used for alignment.
    NoOperation,
    /// Maximum Segment Size (kind 2, length 4; RFC 9293 §3.7.1, RFC 6691).
    MaxSegmentSize(u16),
    /// Window Scale (kind 3, length 3; RFC 7323 §2): the shift count as read. Values above
    /// [`MAX_WINDOW_SCALE`] are not clamped here (RFC 7323 §2.3 says to use 14;
    /// [`TcpRepr::parse`] does).
    WindowScale(u8),
    /// SACK-Permitted (kind 4, length 2; RFC 2018 §2).
    SackPermitted,
    /// SACK (kind 5, length 2 + 8n with n in 1..=4; RFC 2018 §3).
    SackRange(SackBlocks<'a>),
    /// Timestamps (kind 8, length 10; RFC 7323 §3).
    Timestamps {
        /// TSval: the sender's timestamp clock.
        tsval: u32,
        /// TSecr: the TSval echoed back (valid when ACK is set).
        tsecr: u32,
    },
    /// Any other kind, skipped by its length.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The data after kind and length.
        data: &'a [u8],
    },
}

/// The error field naming option `kind`'s length byte.
const fn length_field(kind: u8) -> &'static str {
    match kind {
        kind::MAX_SEG_SIZE => "MSS length",
        kind::WINDOW_SCALE => "window scale length",
        kind::SACK_PERMITTED => "SACK-permitted length",
        kind::SACK => "SACK length",
        kind::TIMESTAMPS => "timestamps length",
        _ => "option length",
    }
}

impl<'a> TcpOption<'a> {
    /// Parses the option at the start of `bytes`, returning it and the bytes it takes
    /// (always at least 1). `bytes` runs to the end of the options area.
    ///
    /// Errors (all [`Proto::TcpOption`], the field naming the option's length byte):
    /// - the length byte is missing: `TCP option: MSS length truncated: need 2 bytes, have 1`;
    /// - a fixed-length option with another length:
    ///   `TCP option: MSS length 3 is invalid, expected 4`;
    /// - a SACK length that is not 2 + 8n, n in 1..=4:
    ///   `TCP option: SACK length 11 is invalid, expected 10, 18, 26 or 34`;
    /// - another option with a length below 2: `TCP option: option length 1 < minimum 2`;
    /// - a length past the end of the options:
    ///   `TCP option: timestamps length 10 > bytes left 8`;
    /// - no bytes at all: `TCP option: option kind truncated: need 1 bytes, have 0`.
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<(Self, usize)> {
        let Some(&kind) = bytes.first() else {
            return Err(Error::truncated(Proto::TcpOption, "option kind", 1, 0));
        };
        match kind {
            kind::END_OF_LIST => return Ok((Self::EndOfList, 1)),
            kind::NO_OPERATION => return Ok((Self::NoOperation, 1)),
            _ => {}
        }
        let field = length_field(kind);
        let Some(&len) = bytes.get(1) else {
            return Err(Error::truncated(Proto::TcpOption, field, 2, bytes.len()));
        };
        let len = usize::from(len);
        let expected = match kind {
            kind::MAX_SEG_SIZE => Some((4, "4")),
            kind::WINDOW_SCALE => Some((3, "3")),
            kind::SACK_PERMITTED => Some((2, "2")),
            kind::TIMESTAMPS => Some((10, "10")),
            _ => None,
        };
        match expected {
            Some((want, text)) if len != want => {
                return Err(Error::invalid(Proto::TcpOption, field, len as u32, text));
            }
            None if kind == kind::SACK
                && (len < 10 || !(len - 2).is_multiple_of(8) || len > 2 + 8 * MAX_SACK_BLOCKS) =>
            {
                return Err(Error::invalid(
                    Proto::TcpOption,
                    field,
                    len as u32,
                    "10, 18, 26 or 34",
                ));
            }
            None if len < 2 => {
                return Err(Error::below(Proto::TcpOption, field, len, "minimum", 2));
            }
            _ => {}
        }
        if len > bytes.len() {
            return Err(Error::above(
                Proto::TcpOption,
                field,
                len,
                "bytes left",
                bytes.len(),
            ));
        }
        let data = &bytes[2..len];
        let option = match kind {
            kind::MAX_SEG_SIZE => Self::MaxSegmentSize(be16(data, 0)),
            kind::WINDOW_SCALE => Self::WindowScale(data[0]),
            kind::SACK_PERMITTED => Self::SackPermitted,
            kind::TIMESTAMPS => Self::Timestamps {
                tsval: be32(data, 0),
                tsecr: be32(data, 4),
            },
            kind::SACK => Self::SackRange(SackBlocks { bytes: data }),
            _ => Self::Unknown { kind, data },
        };
        Ok((option, len))
    }

    /// The option kind.
    #[inline]
    pub const fn kind(&self) -> u8 {
        match self {
            Self::EndOfList => kind::END_OF_LIST,
            Self::NoOperation => kind::NO_OPERATION,
            Self::MaxSegmentSize(_) => kind::MAX_SEG_SIZE,
            Self::WindowScale(_) => kind::WINDOW_SCALE,
            Self::SackPermitted => kind::SACK_PERMITTED,
            Self::SackRange(_) => kind::SACK,
            Self::Timestamps { .. } => kind::TIMESTAMPS,
            Self::Unknown { kind, .. } => *kind,
        }
    }

    /// The option's length on the wire.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::EndOfList | Self::NoOperation => 1,
            Self::MaxSegmentSize(_) => 4,
            Self::WindowScale(_) => 3,
            Self::SackPermitted => 2,
            Self::SackRange(blocks) => 2 + blocks.bytes.len(),
            Self::Timestamps { .. } => 10,
            Self::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` (at least [`buffer_len`](Self::buffer_len)
    /// bytes, or it panics) and returns its length. An [`Unknown`](Self::Unknown) option's
    /// data must be at most 253 bytes (it panics otherwise).
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        buf[0] = self.kind();
        if len > 1 {
            buf[1] = u8::try_from(len).expect("TCP option longer than 255 bytes");
        }
        match *self {
            Self::EndOfList | Self::NoOperation | Self::SackPermitted => {}
            Self::MaxSegmentSize(mss) => put_be16(buf, 2, mss),
            Self::WindowScale(shift) => buf[2] = shift,
            Self::SackRange(blocks) => buf[2..len].copy_from_slice(blocks.bytes),
            Self::Timestamps { tsval, tsecr } => {
                put_be32(buf, 2, tsval);
                put_be32(buf, 6, tsecr);
            }
            Self::Unknown { data, .. } => buf[2..len].copy_from_slice(data),
        }
        len
    }
}

impl fmt::Display for TcpOption<'_> {
    /// tcpdump-like: `mss 1460`, `nop`, `wscale 7`, `sackOK`, `sack 1 {1000:2000}`,
    /// `TS val 1 ecr 0`, `eol`, `unknown-254 2 bytes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EndOfList => f.write_str("eol"),
            Self::NoOperation => f.write_str("nop"),
            Self::MaxSegmentSize(mss) => write!(f, "mss {mss}"),
            Self::WindowScale(shift) => write!(f, "wscale {shift}"),
            Self::SackPermitted => f.write_str("sackOK"),
            Self::SackRange(blocks) => {
                write!(f, "sack {}", blocks.len())?;
                for (left, right) in blocks.iter() {
                    write!(f, " {{{left}:{right}}}")?;
                }
                Ok(())
            }
            Self::Timestamps { tsval, tsecr } => write!(f, "TS val {tsval} ecr {tsecr}"),
            Self::Unknown { kind, data } => write!(f, "unknown-{kind} {} bytes", data.len()),
        }
    }
}

/// An iterator over the options of a TCP header, yielding `Result<TcpOption>`.
///
/// Bounds-safe on any bytes: every step consumes at least one byte, and iteration stops after
/// [`TcpOption::EndOfList`] (the rest is padding) and after the first error.
#[derive(Debug, Clone)]
pub struct TcpOptions<'a> {
    bytes: &'a [u8],
}

impl<'a> TcpOptions<'a> {
    /// Iterates over an options area (the bytes after the fixed header, up to the data
    /// offset).
    #[inline]
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = Result<TcpOption<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.bytes.is_empty() {
            return None;
        }
        match TcpOption::parse(self.bytes) {
            Ok((TcpOption::EndOfList, _)) => {
                self.bytes = &[];
                Some(Ok(TcpOption::EndOfList))
            }
            Ok((option, len)) => {
                self.bytes = &self.bytes[len..];
                Some(Ok(option))
            }
            Err(e) => {
                self.bytes = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for TcpOptions<'_> {}

// ---------------------------------------------------------------------------------------------
// The Repr
// ---------------------------------------------------------------------------------------------

/// The control function of a segment: at most one of SYN, FIN and RST, or PSH (which may also
/// ride along with the others and is then dropped, as smoltcp does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TcpControl {
    /// None of SYN, FIN, RST, PSH.
    #[default]
    None,
    /// PSH alone.
    Psh,
    /// SYN.
    Syn,
    /// FIN.
    Fin,
    /// RST.
    Rst,
}

impl TcpControl {
    /// The length the control takes in sequence space: 1 for SYN and FIN, 0 otherwise.
    #[inline]
    pub const fn len(self) -> usize {
        match self {
            Self::Syn | Self::Fin => 1,
            Self::None | Self::Psh | Self::Rst => 0,
        }
    }

    /// True when the control takes no sequence space.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The flags that encode it.
    #[inline]
    pub const fn flags(self) -> TcpFlags {
        match self {
            Self::None => TcpFlags::empty(),
            Self::Psh => TcpFlags::PSH,
            Self::Syn => TcpFlags::SYN,
            Self::Fin => TcpFlags::FIN,
            Self::Rst => TcpFlags::RST,
        }
    }

    /// Decodes the flags; more than one of SYN, FIN and RST is an error
    /// (`TCP: flags 3 is invalid, expected at most one of SYN, FIN, RST`).
    #[inline]
    pub fn from_flags(flags: TcpFlags) -> Result<Self> {
        let has = |f| flags.contains(f);
        match (has(TcpFlags::SYN), has(TcpFlags::FIN), has(TcpFlags::RST)) {
            (false, false, false) if has(TcpFlags::PSH) => Ok(Self::Psh),
            (false, false, false) => Ok(Self::None),
            (true, false, false) => Ok(Self::Syn),
            (false, true, false) => Ok(Self::Fin),
            (false, false, true) => Ok(Self::Rst),
            _ => Err(Error::invalid(
                Proto::Tcp,
                "flags",
                u32::from(flags.0),
                "at most one of SYN, FIN, RST",
            )),
        }
    }
}

/// A parsed TCP segment: header fields, the options this stack uses, and the payload.
///
/// Not represented (dropped by `parse`, written as zero by `emit`): URG and the urgent
/// pointer, ECE/CWR/AE, the reserved bits, unknown options.
///
/// Options are kept whatever the segment: RFC 9293 §3.7.1 (MSS) and RFC 7323 §2.2 (window
/// scale: ignore it on a non-SYN segment) are the stack's to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// SYN, FIN, RST, PSH or none.
    pub control: TcpControl,
    /// The sequence number.
    pub seq_number: TcpSeqNumber,
    /// The acknowledgment number; `Some` exactly when ACK is set.
    pub ack_number: Option<TcpSeqNumber>,
    /// The window field as sent (not scaled).
    pub window_len: u16,
    /// Window Scale shift, clamped to [`MAX_WINDOW_SCALE`] (RFC 7323 §2.3).
    pub window_scale: Option<u8>,
    /// Maximum Segment Size.
    pub max_seg_size: Option<u16>,
    /// SACK-Permitted.
    pub sack_permitted: bool,
    /// SACK blocks, first (most recent, RFC 2018 §4) first; on emit, the `Some` entries in
    /// order, as many as fit (see [`header_len`](Self::header_len)).
    pub sack_ranges: [Option<(u32, u32)>; MAX_SACK_BLOCKS],
    /// Timestamps: `(TSval, TSecr)`.
    pub timestamp: Option<(u32, u32)>,
    /// The data.
    pub payload: &'a [u8],
}

/// Option layout lengths on emit (Linux's, `tcp_options_write`).
mod layout {
    /// `MSS(4)`.
    pub const MSS: usize = 4;
    /// `SACKPERM(2) TS(10)` or `NOP NOP TS(10)`.
    pub const TIMESTAMPS: usize = 12;
    /// `NOP NOP SACKPERM(2)`, when there are no timestamps to pack it with.
    pub const SACK_PERMITTED: usize = 4;
    /// `NOP WS(3)`.
    pub const WINDOW_SCALE: usize = 4;
    /// `NOP NOP SACK(2)`, plus 8 per block.
    pub const SACK_BASE: usize = 4;
    /// Bytes per SACK block.
    pub const SACK_BLOCK: usize = 8;
}

impl<'a> TcpRepr<'a> {
    /// Reads a segment: the header fields, every option (the first malformed one is the error)
    /// and the payload. The window scale is clamped to 14 (RFC 7323 §2.3); later duplicates of
    /// an option override earlier ones; up to 4 SACK blocks are kept.
    ///
    /// The checksum is *not* verified: call [`TcpPacket::check_checksum`].
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &TcpPacket<&'a T>) -> Result<Self> {
        Self::parse_inline(packet)
    }

    /// [`parse`](Self::parse), always inlined (the stack's TCP input: no call, and the
    /// result is built in the caller's frame).
    #[inline(always)]
    pub(crate) fn parse_inline<T: AsRef<[u8]> + ?Sized>(packet: &TcpPacket<&'a T>) -> Result<Self> {
        packet.check_len()?;
        let buf = packet.buffer.as_ref();
        // After `check_len`: the fixed header is there, and the options up to the data offset.
        let Some((h, _)) = buf.split_first_chunk::<HEADER_LEN>() else {
            return Err(Error::truncated(
                Proto::Tcp,
                "header",
                HEADER_LEN,
                buf.len(),
            ));
        };
        let flags = TcpFlags(u16::from_be_bytes([h[12], h[13]]) & TcpFlags::ALL.0);
        let word = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let mut repr = Self {
            src_port: u16::from_be_bytes([h[0], h[1]]),
            dst_port: u16::from_be_bytes([h[2], h[3]]),
            control: TcpControl::from_flags(flags)?,
            seq_number: TcpSeqNumber(word(4)),
            ack_number: flags.contains(TcpFlags::ACK).then(|| TcpSeqNumber(word(8))),
            window_len: u16::from_be_bytes([h[14], h[15]]),
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp: None,
            payload: packet.payload_slice(),
        };
        // The layout of nearly every segment of an established connection (RFC 7323
        // appendix A, what Linux and this stack send): `NOP NOP TS`, or no options at all.
        let options = packet.options_slice();
        if options.is_empty() {
            return Ok(repr);
        }
        const NOP_NOP_TS: [u8; 4] = [kind::NO_OPERATION, kind::NO_OPERATION, kind::TIMESTAMPS, 10];
        if options.len() == 12 && options[..4] == NOP_NOP_TS {
            repr.timestamp = Some((be32(options, 4), be32(options, 8)));
            return Ok(repr);
        }
        // The quick layouts above are inlined into the caller; the general walk is not.
        repr.parse_options(options)?;
        Ok(repr)
    }

    /// The options of [`parse`](Self::parse) in any layout, into `self`.
    #[inline(never)]
    fn parse_options(&mut self, options: &[u8]) -> Result<()> {
        let repr = self;
        // The options every connection uses are matched on their exact bytes (kind, length,
        // data: what `TcpOption::parse` accepts for them); anything else goes through it.
        let mut opts = options;
        loop {
            opts = match opts {
                [] | [kind::END_OF_LIST, ..] => break,
                // The SYN and SYN-ACK layout of Linux and this stack, in one step:
                // `MSS, SACKPERM TS, NOP WS` (the fields the arms below read one by one).
                [
                    kind::MAX_SEG_SIZE,
                    4,
                    m0,
                    m1,
                    kind::SACK_PERMITTED,
                    2,
                    kind::TIMESTAMPS,
                    10,
                    v0,
                    v1,
                    v2,
                    v3,
                    e0,
                    e1,
                    e2,
                    e3,
                    kind::NO_OPERATION,
                    kind::WINDOW_SCALE,
                    3,
                    shift,
                    rest @ ..,
                ] => {
                    repr.max_seg_size = Some(u16::from_be_bytes([*m0, *m1]));
                    repr.sack_permitted = true;
                    repr.timestamp = Some((
                        u32::from_be_bytes([*v0, *v1, *v2, *v3]),
                        u32::from_be_bytes([*e0, *e1, *e2, *e3]),
                    ));
                    repr.window_scale = Some((*shift).min(MAX_WINDOW_SCALE));
                    rest
                }
                [kind::NO_OPERATION, rest @ ..] => rest,
                [kind::MAX_SEG_SIZE, 4, a, b, rest @ ..] => {
                    repr.max_seg_size = Some(u16::from_be_bytes([*a, *b]));
                    rest
                }
                [kind::WINDOW_SCALE, 3, shift, rest @ ..] => {
                    repr.window_scale = Some((*shift).min(MAX_WINDOW_SCALE));
                    rest
                }
                [kind::SACK_PERMITTED, 2, rest @ ..] => {
                    repr.sack_permitted = true;
                    rest
                }
                [
                    kind::TIMESTAMPS,
                    10,
                    v0,
                    v1,
                    v2,
                    v3,
                    e0,
                    e1,
                    e2,
                    e3,
                    rest @ ..,
                ] => {
                    repr.timestamp = Some((
                        u32::from_be_bytes([*v0, *v1, *v2, *v3]),
                        u32::from_be_bytes([*e0, *e1, *e2, *e3]),
                    ));
                    rest
                }
                _ => {
                    let (option, len) = TcpOption::parse(opts)?;
                    match option {
                        TcpOption::EndOfList => break,
                        TcpOption::MaxSegmentSize(mss) => repr.max_seg_size = Some(mss),
                        TcpOption::WindowScale(shift) => {
                            repr.window_scale = Some(shift.min(MAX_WINDOW_SCALE));
                        }
                        TcpOption::SackPermitted => repr.sack_permitted = true,
                        TcpOption::SackRange(blocks) => {
                            repr.sack_ranges = [None; MAX_SACK_BLOCKS];
                            for (slot, block) in repr.sack_ranges.iter_mut().zip(blocks.iter()) {
                                *slot = Some(block);
                            }
                        }
                        TcpOption::Timestamps { tsval, tsecr } => {
                            repr.timestamp = Some((tsval, tsecr));
                        }
                        TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
                    }
                    // `parse` returns at least 1 and at most the bytes left.
                    opts.get(len..).unwrap_or_default()
                }
            };
        }
        Ok(())
    }

    /// The number of SACK blocks `emit` writes: the `Some` entries of `sack_ranges`, trimmed
    /// from the end to what fits in 40 bytes of options after the other options.
    #[inline]
    pub fn sack_blocks_emitted(&self) -> usize {
        let wanted = self.sack_ranges.iter().flatten().count();
        if wanted == 0 {
            return 0;
        }
        let room = (MAX_HEADER_LEN - HEADER_LEN) - self.fixed_options_len();
        let fit = room.saturating_sub(layout::SACK_BASE) / layout::SACK_BLOCK;
        wanted.min(fit)
    }

    /// The length of the options other than SACK blocks (at most 20, so they always fit).
    #[inline]
    fn fixed_options_len(&self) -> usize {
        let mut len = 0;
        if self.max_seg_size.is_some() {
            len += layout::MSS;
        }
        if self.timestamp.is_some() {
            len += layout::TIMESTAMPS;
        } else if self.sack_permitted {
            len += layout::SACK_PERMITTED;
        }
        if self.window_scale.is_some() {
            len += layout::WINDOW_SCALE;
        }
        len
    }

    /// The header length `emit` writes: 20 plus the options, a multiple of 4, at most 60.
    ///
    /// MSS, window scale, SACK-Permitted and timestamps always fit (20 bytes at most); SACK
    /// blocks take the rest (RFC 2018 §3): 4 blocks alone, 3 with timestamps (or with MSS,
    /// SACK-Permitted and window scale), 2 with all four. Blocks that do not fit are dropped
    /// from the end (the first block is the most recent one, RFC 2018 §4).
    #[inline]
    pub fn header_len(&self) -> usize {
        let blocks = self.sack_blocks_emitted();
        let sack = if blocks == 0 {
            0
        } else {
            layout::SACK_BASE + layout::SACK_BLOCK * blocks
        };
        HEADER_LEN + self.fixed_options_len() + sack
    }

    /// The segment's length on the wire: header plus payload.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The length in sequence space: payload plus one for SYN or FIN.
    #[inline]
    pub fn segment_len(&self) -> usize {
        self.payload.len() + self.control.len()
    }

    /// The flags `emit` writes: the control's, plus ACK when there is an acknowledgment.
    #[inline]
    pub fn flags(&self) -> TcpFlags {
        let mut flags = self.control.flags();
        flags.set(TcpFlags::ACK, self.ack_number.is_some());
        flags
    }

    /// Writes the header (options included, checksum zero) into the start of `buf`, which
    /// must hold at least [`header_len`](Self::header_len) bytes (it panics otherwise).
    /// Returns the header length. Write the payload after it, then call
    /// [`TcpPacket::fill_checksum`] on exactly the segment's bytes.
    ///
    /// Options are laid out as Linux does: `MSS`, then `SACKPERM TS` or `NOP NOP TS`
    /// (or `NOP NOP SACKPERM` without timestamps), `NOP WS`, `NOP NOP SACK`.
    pub fn emit_header(&self, buf: &mut [u8]) -> usize {
        let blocks = self.sack_blocks_emitted();
        let sack = if blocks == 0 {
            0
        } else {
            layout::SACK_BASE + layout::SACK_BLOCK * blocks
        };
        let header_len = HEADER_LEN + self.fixed_options_len() + sack;
        let (fixed, options) = buf[..header_len].split_at_mut(HEADER_LEN);
        // The fixed header in one store: ports, numbers, offset and flags, window, zero
        // checksum and urgent pointer.
        let [s0, s1] = self.src_port.to_be_bytes();
        let [d0, d1] = self.dst_port.to_be_bytes();
        let [q0, q1, q2, q3] = self.seq_number.0.to_be_bytes();
        let [a0, a1, a2, a3] = self.ack_number.map_or(0, |a| a.0).to_be_bytes();
        let [f0, f1] = (((header_len as u16 / 4) << 12) | self.flags().0).to_be_bytes();
        let [w0, w1] = self.window_len.to_be_bytes();
        fixed.copy_from_slice(&[
            s0, s1, d0, d1, q0, q1, q2, q3, a0, a1, a2, a3, f0, f1, w0, w1, 0, 0, 0, 0,
        ]);
        self.emit_options(options, blocks);
        header_len
    }

    /// Writes the options into `buf`, exactly the options area, with `blocks` SACK blocks.
    fn emit_options(&self, buf: &mut [u8], blocks: usize) {
        const NOP: u8 = kind::NO_OPERATION;
        let mut at = 0;
        if let Some(mss) = self.max_seg_size {
            let [m0, m1] = mss.to_be_bytes();
            buf[at..at + layout::MSS].copy_from_slice(&[kind::MAX_SEG_SIZE, 4, m0, m1]);
            at += layout::MSS;
        }
        if let Some((tsval, tsecr)) = self.timestamp {
            let lead = if self.sack_permitted {
                [kind::SACK_PERMITTED, 2]
            } else {
                [NOP, NOP]
            };
            let [v0, v1, v2, v3] = tsval.to_be_bytes();
            let [e0, e1, e2, e3] = tsecr.to_be_bytes();
            buf[at..at + layout::TIMESTAMPS].copy_from_slice(&[
                lead[0],
                lead[1],
                kind::TIMESTAMPS,
                10,
                v0,
                v1,
                v2,
                v3,
                e0,
                e1,
                e2,
                e3,
            ]);
            at += layout::TIMESTAMPS;
        } else if self.sack_permitted {
            buf[at..at + layout::SACK_PERMITTED].copy_from_slice(&[
                NOP,
                NOP,
                kind::SACK_PERMITTED,
                2,
            ]);
            at += layout::SACK_PERMITTED;
        }
        if let Some(shift) = self.window_scale {
            buf[at..at + layout::WINDOW_SCALE].copy_from_slice(&[
                NOP,
                kind::WINDOW_SCALE,
                3,
                shift,
            ]);
            at += layout::WINDOW_SCALE;
        }
        if blocks > 0 {
            let len = 2 + layout::SACK_BLOCK * blocks;
            buf[at..at + 4].copy_from_slice(&[NOP, NOP, kind::SACK, len as u8]);
            at += 4;
            for (left, right) in self.sack_ranges.iter().flatten().take(blocks) {
                put_be32(buf, at, *left);
                put_be32(buf, at + 4, *right);
                at += layout::SACK_BLOCK;
            }
        }
        debug_assert_eq!(at, buf.len());
    }

    /// Writes the header, the payload and the checksum into the start of `buf`, which must
    /// hold at least [`buffer_len`](Self::buffer_len) bytes (it panics otherwise). Returns the
    /// segment length.
    pub fn emit(&self, buf: &mut [u8], addrs: &IpAddrPair) -> usize {
        if let Some(len) = self.emit_full_options(buf, addrs) {
            return len;
        }
        let header_len = self.emit_header(buf);
        let len = header_len + self.payload.len();
        buf[header_len..len].copy_from_slice(self.payload);
        TcpPacket::new_unchecked(&mut buf[..len]).fill_checksum(addrs);
        len
    }

    /// [`emit`](Self::emit) with the usual SYN and SYN-ACK written inline (no call, the
    /// header words built in the caller's frame); anything else through `emit`.
    #[inline(always)]
    pub(crate) fn emit_syn_inline(&self, buf: &mut [u8], addrs: &IpAddrPair) -> usize {
        match self.emit_full_options(buf, addrs) {
            Some(len) => len,
            None => self.emit(buf, addrs),
        }
    }

    /// [`emit`](Self::emit) of the usual SYN and SYN-ACK: no payload, no SACK blocks, and
    /// every other option (`MSS, SACKPERM TS, NOP WS`: a 40-byte header). The same bytes as
    /// the general path, written as one array whose checksum is summed word by word. `None`
    /// (nothing written) for any other segment, or a buffer shorter than 40 bytes (the
    /// general path then panics, as documented).
    #[inline]
    fn emit_full_options(&self, buf: &mut [u8], addrs: &IpAddrPair) -> Option<usize> {
        const LEN: usize = HEADER_LEN + layout::MSS + layout::TIMESTAMPS + layout::WINDOW_SCALE;
        let (Some(mss), Some((tsval, tsecr)), Some(shift), true, true) = (
            self.max_seg_size,
            self.timestamp,
            self.window_scale,
            self.sack_permitted,
            self.payload.is_empty(),
        ) else {
            return None;
        };
        if self.sack_ranges.iter().any(Option::is_some) {
            return None;
        }
        let out = buf.first_chunk_mut::<LEN>()?;
        // The header as ten 32-bit words (the checksum word last filled in), summed as
        // they are made rather than read back.
        let mut words: [u32; LEN / 4] = [
            u32::from(self.src_port) << 16 | u32::from(self.dst_port),
            self.seq_number.0,
            self.ack_number.map_or(0, |a| a.0),
            u32::from(((LEN as u16 / 4) << 12) | self.flags().0) << 16 | u32::from(self.window_len),
            0, // checksum and urgent pointer
            u32::from_be_bytes([kind::MAX_SEG_SIZE, 4, 0, 0]) | u32::from(mss),
            u32::from_be_bytes([kind::SACK_PERMITTED, 2, kind::TIMESTAMPS, 10]),
            tsval,
            tsecr,
            u32::from_be_bytes([kind::NO_OPERATION, kind::WINDOW_SCALE, 3, shift]),
        ];
        let pseudo = u32::from(addrs.pseudo_header_sum_inline(IpProtocol::Tcp, LEN));
        let sum = checksum::sum_words32(core::iter::once(pseudo).chain(words));
        words[4] = u32::from(!sum) << 16;
        for (chunk, w) in out.as_chunks_mut::<4>().0.iter_mut().zip(words) {
            *chunk = w.to_be_bytes();
        }
        Some(LEN)
    }
}

impl fmt::Display for TcpRepr<'_> {
    /// tcpdump-like: `TCP 40000 > 80 [S] seq 305419896 win 64240 [mss 1460 sackOK TS val
    /// 2882400001 ecr 0 wscale 7] len 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TCP {} > {} {} seq {}",
            self.src_port,
            self.dst_port,
            self.flags(),
            self.seq_number
        )?;
        if let Some(ack) = self.ack_number {
            write!(f, " ack {ack}")?;
        }
        write!(f, " win {}", self.window_len)?;
        let mut sep = " [";
        if let Some(mss) = self.max_seg_size {
            write!(f, "{sep}mss {mss}")?;
            sep = " ";
        }
        if self.sack_permitted {
            write!(f, "{sep}sackOK")?;
            sep = " ";
        }
        if let Some((tsval, tsecr)) = self.timestamp {
            write!(f, "{sep}TS val {tsval} ecr {tsecr}")?;
            sep = " ";
        }
        if let Some(shift) = self.window_scale {
            write!(f, "{sep}wscale {shift}")?;
            sep = " ";
        }
        for (left, right) in self.sack_ranges.iter().flatten() {
            write!(f, "{sep}sack {{{left}:{right}}}")?;
            sep = " ";
        }
        if sep == " " {
            f.write_str("]")?;
        }
        write!(f, " len {}", self.payload.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Ipv4Addr, Ipv6Addr};
    extern crate std;
    use std::string::ToString;
    use std::vec::Vec;

    /// A Linux SYN, 192.168.10.2:40000 -> 192.168.10.1:80 (scapy, Linux option layout):
    /// `mss 1460, sackOK, TS val 2882400001 ecr 0, nop, wscale 7`.
    static SYN: [u8; 40] = [
        0x9c, 0x40, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0x17, 0xaf, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xab, 0xcd,
        0xef, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    /// [2001:db8::1]:80 -> [2001:db8::2]:40000, PSH+ACK, seq 0xfffffff0 (wraps over the
    /// payload), `nop, nop, TS val 100 ecr 200, nop, nop, sack 3 {1000:2000}{3000:4000}
    /// {5000:6000}`, payload "hello" (scapy).
    static SACK: [u8; 65] = [
        0x00, 0x50, 0x9c, 0x40, 0xff, 0xff, 0xff, 0xf0, 0x01, 0x02, 0x03, 0x04, 0xf0, 0x18, 0x01,
        0xf5, 0x6b, 0x81, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00,
        0x00, 0xc8, 0x01, 0x01, 0x05, 0x1a, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x07, 0xd0, 0x00,
        0x00, 0x0b, 0xb8, 0x00, 0x00, 0x0f, 0xa0, 0x00, 0x00, 0x13, 0x88, 0x00, 0x00, 0x17, 0x70,
        0x68, 0x65, 0x6c, 0x6c, 0x6f,
    ];

    fn v4() -> IpAddrPair {
        IpAddrPair::V4 {
            src: Ipv4Addr::new(192, 168, 10, 2),
            dst: Ipv4Addr::new(192, 168, 10, 1),
        }
    }

    fn v6() -> IpAddrPair {
        IpAddrPair::V6 {
            src: "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
            dst: "2001:db8::2".parse::<Ipv6Addr>().unwrap(),
        }
    }

    fn options(bytes: &[u8]) -> Vec<Result<TcpOption<'_>>> {
        TcpOptions::new(bytes).collect()
    }

    /// The error of the first malformed option in `bytes`.
    fn option_error(bytes: &[u8]) -> std::string::String {
        let all = options(bytes);
        let last = all.last().unwrap();
        assert!(all[..all.len() - 1].iter().all(|o| o.is_ok()));
        last.unwrap_err().to_string()
    }

    #[test]
    fn parse_a_linux_syn() {
        let p = TcpPacket::new_checked(&SYN[..]).unwrap();
        assert_eq!(p.src_port(), 40000);
        assert_eq!(p.dst_port(), 80);
        assert_eq!(p.seq_number(), TcpSeqNumber(0x1234_5678));
        assert_eq!(p.ack_number(), TcpSeqNumber(0));
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), TcpFlags::SYN);
        assert_eq!(p.flags().to_string(), "[S]");
        assert!(p.syn());
        assert!(!(p.fin() || p.rst() || p.psh() || p.ack() || p.urg() || p.ece() || p.cwr()));
        assert_eq!(p.window_len(), 64240);
        assert_eq!(p.checksum(), 0x17af);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(p.options(), &SYN[20..]);
        assert_eq!(p.options_slice(), &SYN[20..]);
        assert_eq!(
            options(p.options()),
            [
                Ok(TcpOption::MaxSegmentSize(1460)),
                Ok(TcpOption::SackPermitted),
                Ok(TcpOption::Timestamps {
                    tsval: 2_882_400_001,
                    tsecr: 0
                }),
                Ok(TcpOption::NoOperation),
                Ok(TcpOption::WindowScale(7)),
            ]
        );
        assert_eq!(p.options_iter().count(), 5);
        assert_eq!(p.payload(), b"");
        assert_eq!(p.payload_slice(), b"");
        assert_eq!(p.segment_len(), 1);
        assert!(p.verify_checksum(&v4()));
        assert_eq!(p.check_checksum(&v4()), Ok(()));
        assert!(!p.verify_checksum(&v6()));

        let repr = TcpRepr::parse(&p).unwrap();
        assert_eq!(
            repr,
            TcpRepr {
                src_port: 40000,
                dst_port: 80,
                control: TcpControl::Syn,
                seq_number: TcpSeqNumber(0x1234_5678),
                ack_number: None,
                window_len: 64240,
                window_scale: Some(7),
                max_seg_size: Some(1460),
                sack_permitted: true,
                sack_ranges: [None; 4],
                timestamp: Some((2_882_400_001, 0)),
                payload: b"",
            }
        );
        assert_eq!(repr.segment_len(), 1);
        assert_eq!(
            repr.to_string(),
            "TCP 40000 > 80 [S] seq 305419896 win 64240 \
             [mss 1460 sackOK TS val 2882400001 ecr 0 wscale 7] len 0"
        );
        assert_eq!(p.into_inner(), &SYN[..]);
    }

    #[test]
    fn parse_three_sack_blocks_and_timestamps() {
        let p = TcpPacket::new_checked(&SACK[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (80, 40000));
        assert_eq!(p.seq_number(), TcpSeqNumber(0xffff_fff0));
        assert_eq!(p.ack_number(), TcpSeqNumber(0x0102_0304));
        assert_eq!(p.header_len(), 60);
        assert_eq!(p.flags(), TcpFlags::PSH | TcpFlags::ACK);
        assert_eq!(p.flags().to_string(), "[P.]");
        assert!(p.psh() && p.ack() && !p.syn() && !p.fin());
        assert_eq!(p.window_len(), 501);
        assert_eq!(p.checksum(), 0x6b81);
        assert_eq!(p.payload(), b"hello");
        assert_eq!(p.segment_len(), 5);
        assert_eq!(p.seq_number() + p.segment_len(), TcpSeqNumber(0xffff_fff5));
        assert!(p.verify_checksum(&v6()));
        assert_eq!(p.check_checksum(&v6()), Ok(()));

        let all = options(p.options());
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[2],
            Ok(TcpOption::Timestamps {
                tsval: 100,
                tsecr: 200
            })
        );
        let Ok(TcpOption::SackRange(blocks)) = all[5] else {
            panic!("{:?}", all[5]);
        };
        assert_eq!(blocks.len(), 3);
        assert_eq!(
            blocks.iter().collect::<Vec<_>>(),
            [(1000, 2000), (3000, 4000), (5000, 6000)]
        );
        assert_eq!(blocks.get(2), Some((5000, 6000)));
        assert_eq!(blocks.get(3), None);
        assert_eq!(blocks.get(usize::MAX), None);
        assert_eq!(blocks.as_bytes(), &SACK[36..60]);
        assert_eq!(
            std::format!("{blocks:?}"),
            "[(1000, 2000), (3000, 4000), (5000, 6000)]"
        );
        assert_eq!(
            all[5].unwrap().to_string(),
            "sack 3 {1000:2000} {3000:4000} {5000:6000}"
        );

        let repr = TcpRepr::parse(&p).unwrap();
        assert_eq!(repr.control, TcpControl::Psh);
        assert_eq!(repr.ack_number, Some(TcpSeqNumber(0x0102_0304)));
        assert_eq!(repr.timestamp, Some((100, 200)));
        assert_eq!(
            repr.sack_ranges,
            [
                Some((1000, 2000)),
                Some((3000, 4000)),
                Some((5000, 6000)),
                None
            ]
        );
        assert_eq!(repr.payload, b"hello");
        assert_eq!(
            repr.to_string(),
            "TCP 80 > 40000 [P.] seq 4294967280 ack 16909060 win 501 [TS val 100 ecr 200 \
             sack {1000:2000} sack {3000:4000} sack {5000:6000}] len 5"
        );
    }

    #[test]
    fn emit_matches_the_fixtures() {
        for (fixture, addrs) in [(&SYN[..], v4()), (&SACK[..], v6())] {
            let p = TcpPacket::new_checked(fixture).unwrap();
            let repr = TcpRepr::parse(&p).unwrap();
            assert_eq!(repr.header_len(), p.header_len());
            assert_eq!(repr.buffer_len(), fixture.len());
            let mut out = [0u8; 80];
            let n = repr.emit(&mut out, &addrs);
            assert_eq!(&out[..n], fixture);

            // In place: header, the payload written by the caller, then the checksum.
            let mut out = [0xeeu8; 80];
            let h = repr.emit_header(&mut out);
            assert_eq!(h, p.header_len());
            let mut q = TcpPacket::new_unchecked(&mut out[..fixture.len()]);
            q.payload_mut().copy_from_slice(p.payload());
            q.fill_checksum(&addrs);
            assert_eq!(&out[..fixture.len()], fixture);
        }
    }

    #[test]
    fn every_option_emits_what_it_parses() {
        let mut buf = [0u8; 40];
        let all = options(&SACK[20..60]);
        let mut at = 0;
        for option in &all {
            let option = option.unwrap();
            let n = option.emit(&mut buf[at..]);
            assert_eq!(n, option.buffer_len());
            assert_eq!(TcpOption::parse(&buf[at..]), Ok((option, n)));
            at += n;
        }
        assert_eq!(&buf[..], &SACK[20..60]);
        for option in [
            TcpOption::EndOfList,
            TcpOption::NoOperation,
            TcpOption::MaxSegmentSize(536),
            TcpOption::WindowScale(14),
            TcpOption::SackPermitted,
            TcpOption::Unknown {
                kind: 254,
                data: &[0xf9, 0x89],
            },
        ] {
            let n = option.emit(&mut buf);
            assert_eq!(n, option.buffer_len());
            assert_eq!(TcpOption::parse(&buf[..n]), Ok((option, n)));
            assert_eq!(option.kind(), buf[0]);
        }
        let text: Vec<_> = options(&SYN[20..])
            .iter()
            .map(|o| o.unwrap().to_string())
            .collect();
        assert_eq!(
            text,
            [
                "mss 1460",
                "sackOK",
                "TS val 2882400001 ecr 0",
                "nop",
                "wscale 7"
            ]
        );
    }

    #[test]
    fn unknown_options_are_skipped_by_length() {
        // RFC 6994 experimental option (kind 254, length 4), then NOP, an empty unknown
        // option, MSS, then the end of list and padding that is not looked at.
        let bytes = [
            254, 4, 0xf9, 0x89, 1, 200, 2, 2, 4, 0x05, 0xb4, 0, 0xff, 0xff,
        ];
        assert_eq!(
            options(&bytes),
            [
                Ok(TcpOption::Unknown {
                    kind: 254,
                    data: &[0xf9, 0x89]
                }),
                Ok(TcpOption::NoOperation),
                Ok(TcpOption::Unknown {
                    kind: 200,
                    data: &[]
                }),
                Ok(TcpOption::MaxSegmentSize(1460)),
                Ok(TcpOption::EndOfList),
            ]
        );
        assert_eq!(
            TcpOption::Unknown {
                kind: 254,
                data: &[1, 2]
            }
            .to_string(),
            "unknown-254 2 bytes"
        );
    }

    #[test]
    fn malformed_option_lengths_are_errors_naming_the_option() {
        let cases: [(&[u8], &str); 16] = [
            (
                &[2, 3, 5],
                "TCP option: MSS length 3 is invalid, expected 4",
            ),
            (
                &[2, 0, 5, 0],
                "TCP option: MSS length 0 is invalid, expected 4",
            ),
            (
                &[3, 4, 7, 0],
                "TCP option: window scale length 4 is invalid, expected 3",
            ),
            (
                &[3, 2, 7],
                "TCP option: window scale length 2 is invalid, expected 3",
            ),
            (
                &[4, 3, 0],
                "TCP option: SACK-permitted length 3 is invalid, expected 2",
            ),
            (
                &[8, 8, 0, 0, 0, 0, 0, 0],
                "TCP option: timestamps length 8 is invalid, expected 10",
            ),
            (
                &[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                "TCP option: SACK length 11 is invalid, expected 10, 18, 26 or 34",
            ),
            (
                &[5, 2],
                "TCP option: SACK length 2 is invalid, expected 10, 18, 26 or 34",
            ),
            (
                &[5, 42, 0],
                "TCP option: SACK length 42 is invalid, expected 10, 18, 26 or 34",
            ),
            (&[1, 254, 1, 0], "TCP option: option length 1 < minimum 2"),
            (&[254, 0], "TCP option: option length 0 < minimum 2"),
            (
                &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0],
                "TCP option: timestamps length 10 > bytes left 8",
            ),
            (&[2, 4, 5], "TCP option: MSS length 4 > bytes left 3"),
            (
                &[5, 18, 0, 0, 0, 0, 0, 0, 0, 0],
                "TCP option: SACK length 18 > bytes left 10",
            ),
            (
                &[1, 1, 1, 2],
                "TCP option: MSS length truncated: need 2 bytes, have 1",
            ),
            (&[254, 9, 1], "TCP option: option length 9 > bytes left 3"),
        ];
        for (bytes, message) in cases {
            assert_eq!(option_error(bytes), message, "{bytes:?}");
        }
        let e = TcpOption::parse(&[3]).unwrap_err();
        assert!(e.is_truncated());
        assert_eq!(e.proto, Proto::TcpOption);
        assert_eq!(
            TcpOption::parse(&[]).unwrap_err().to_string(),
            "TCP option: option kind truncated: need 1 bytes, have 0"
        );
    }

    #[test]
    fn iteration_stops_after_end_of_list_and_after_an_error() {
        let mut it = TcpOptions::new(&[1, 0, 2, 4, 5, 0xb4]);
        assert_eq!(it.next(), Some(Ok(TcpOption::NoOperation)));
        assert_eq!(it.next(), Some(Ok(TcpOption::EndOfList)));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
        let mut it = TcpOptions::new(&[2, 3, 1, 1, 1]);
        assert!(it.next().unwrap().is_err());
        assert_eq!(it.next(), None);
        assert_eq!(TcpOptions::new(&[]).next(), None);
    }

    #[test]
    fn truncations_and_bad_header_lengths_are_rejected() {
        for fixture in [&SYN[..], &SACK[..]] {
            let header_len = usize::from(fixture[12] >> 4) * 4;
            for len in 0..=fixture.len() {
                let r = TcpPacket::new_checked(&fixture[..len]);
                if len < header_len {
                    let e = r.unwrap_err();
                    assert!(e.is_truncated(), "{len}: {e}");
                } else {
                    assert_eq!(r.unwrap().payload().len(), len - header_len);
                }
            }
        }
        let e = TcpPacket::new_checked(&SYN[..19]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "TCP: header truncated: need 20 bytes, have 19"
        );
        let e = TcpPacket::new_checked(&SYN[..39]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "TCP: options truncated: need 40 bytes, have 39"
        );
        let mut b = SYN;
        TcpPacket::new_unchecked(&mut b[..]).set_header_len(16);
        let e = TcpPacket::new_checked(&b[..]).unwrap_err();
        assert_eq!(e.to_string(), "TCP: header length 16 < minimum 20");
        TcpPacket::new_unchecked(&mut b[..]).set_header_len(0);
        let e = TcpPacket::new_checked(&b[..]).unwrap_err();
        assert_eq!(e.to_string(), "TCP: header length 0 < minimum 20");
    }

    #[test]
    fn repr_parse_reports_the_first_option_error_and_bad_flags() {
        let mut b = SYN;
        b[21] = 3; // MSS length 3
        b[25] = 9; // SACK-permitted length 9
        let p = TcpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            TcpRepr::parse(&p).unwrap_err().to_string(),
            "TCP option: MSS length 3 is invalid, expected 4"
        );
        // The view still reads everything else.
        assert_eq!(p.options_iter().count(), 1);

        let mut b = SYN;
        TcpPacket::new_unchecked(&mut b[..]).set_fin(true);
        let p = TcpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            TcpRepr::parse(&p).unwrap_err().to_string(),
            "TCP: flags 3 is invalid, expected at most one of SYN, FIN, RST"
        );
        assert_eq!(
            TcpControl::from_flags(TcpFlags::RST | TcpFlags::FIN | TcpFlags::ACK)
                .unwrap_err()
                .to_string(),
            "TCP: flags 21 is invalid, expected at most one of SYN, FIN, RST"
        );
        assert_eq!(
            TcpControl::from_flags(TcpFlags::SYN | TcpFlags::PSH),
            Ok(TcpControl::Syn)
        );
        assert_eq!(TcpControl::from_flags(TcpFlags::ACK), Ok(TcpControl::None));
        assert_eq!(TcpControl::from_flags(TcpFlags::RST), Ok(TcpControl::Rst));
        assert_eq!(TcpControl::from_flags(TcpFlags::FIN), Ok(TcpControl::Fin));
        assert_eq!(TcpControl::Fin.len(), 1);
        assert!(TcpControl::Rst.is_empty());
    }

    #[test]
    fn window_scale_above_14_is_exposed_by_the_view_and_clamped_by_the_repr() {
        let mut b = SYN;
        b[39] = 15;
        let p = TcpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            p.options_iter().last(),
            Some(Ok(TcpOption::WindowScale(15)))
        );
        assert_eq!(TcpRepr::parse(&p).unwrap().window_scale, Some(14));
    }

    fn full_repr() -> TcpRepr<'static> {
        TcpRepr {
            src_port: 1,
            dst_port: 2,
            control: TcpControl::None,
            seq_number: TcpSeqNumber(10),
            ack_number: Some(TcpSeqNumber(20)),
            window_len: 1000,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [Some((1, 2)), Some((3, 4)), Some((5, 6)), Some((7, 8))],
            timestamp: None,
            payload: b"data",
        }
    }

    #[test]
    fn sack_blocks_are_trimmed_to_fit_60_bytes() {
        let mut repr = full_repr();
        // 4 blocks: 4 + 32 = 36 bytes of options.
        assert_eq!(repr.sack_blocks_emitted(), 4);
        assert_eq!(repr.header_len(), 56);
        // With timestamps (12): 3 blocks.
        repr.timestamp = Some((7, 9));
        assert_eq!(repr.sack_blocks_emitted(), 3);
        assert_eq!(repr.header_len(), 60);
        // With every option (MSS 4 + SACKPERM TS 12 + NOP WS 4 = 20): 2 blocks.
        repr.max_seg_size = Some(1460);
        repr.window_scale = Some(7);
        repr.sack_permitted = true;
        assert_eq!(repr.sack_blocks_emitted(), 2);
        assert_eq!(repr.header_len(), 60);
        // Every option but timestamps (MSS 4 + NOP NOP SACKPERM 4 + NOP WS 4 = 12): 3 blocks.
        let mut no_ts = repr;
        no_ts.timestamp = None;
        assert_eq!(no_ts.sack_blocks_emitted(), 3);
        assert_eq!(no_ts.header_len(), 60);
        // Only SACK-permitted and window scale: `NOP NOP SACKPERM NOP WS`, no blocks.
        let mut lone = full_repr();
        lone.sack_ranges = [None, Some((3, 4)), None, None];
        lone.sack_permitted = true;
        lone.window_scale = Some(2);
        lone.ack_number = None;
        let mut buf = [0u8; 64];
        let n = lone.emit(&mut buf, &v4());
        assert_eq!(n, lone.buffer_len());
        assert_eq!(
            &buf[20..40],
            &[1, 1, 4, 2, 1, 3, 3, 2, 1, 1, 5, 10, 0, 0, 0, 3, 0, 0, 0, 4]
        );

        for addrs in [v4(), v6()] {
            let mut buf = [0u8; 64];
            let n = repr.emit(&mut buf, &addrs);
            assert_eq!(n, 64);
            let p = TcpPacket::new_checked(&buf[..n]).unwrap();
            assert!(p.verify_checksum(&addrs));
            let back = TcpRepr::parse(&p).unwrap();
            assert_eq!(back.sack_ranges, [Some((1, 2)), Some((3, 4)), None, None]);
            assert_eq!(
                TcpRepr {
                    sack_ranges: repr.sack_ranges,
                    ..back
                },
                repr
            );
        }
    }

    #[test]
    fn emit_without_options_and_with_timestamps_only() {
        let mut repr = full_repr();
        repr.sack_ranges = [None; 4];
        repr.control = TcpControl::Rst;
        assert_eq!(repr.header_len(), 20);
        let mut buf = [0u8; 24];
        repr.emit(&mut buf, &v4());
        assert_eq!(buf[12], 0x50);
        assert_eq!(buf[13], 0x14);
        let p = TcpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(TcpRepr::parse(&p).unwrap(), repr);

        repr.timestamp = Some((1, 2));
        let mut buf = [0u8; 36];
        repr.emit(&mut buf, &v4());
        assert_eq!(&buf[20..24], &[1, 1, 8, 10]);
        let p = TcpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(TcpRepr::parse(&p).unwrap(), repr);
    }

    #[test]
    fn wrong_checksum_names_the_right_one() {
        let mut b = SYN;
        TcpPacket::new_unchecked(&mut b[..]).set_checksum(0x1234);
        let p = TcpPacket::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum(&v4()));
        assert_eq!(
            p.check_checksum(&v4()).unwrap_err().to_string(),
            "TCP: checksum 0x1234 is wrong, expected 0x17af"
        );
    }

    #[test]
    fn setters_write_the_fields() {
        let mut b = [0u8; 28];
        let mut p = TcpPacket::new_unchecked(&mut b[..]);
        p.set_header_len(24);
        p.set_src_port(0x0102);
        p.set_dst_port(0x0304);
        p.set_seq_number(TcpSeqNumber(0x0506_0708));
        p.set_ack_number(TcpSeqNumber(0x090a_0b0c));
        p.set_flags(TcpFlags::AE | TcpFlags::CWR);
        p.set_fin(true);
        p.set_syn(true);
        p.set_rst(true);
        p.set_psh(true);
        p.set_ack(true);
        p.set_urg(true);
        p.set_ece(true);
        p.set_cwr(false);
        p.set_window_len(0x0d0e);
        p.set_checksum(0x0f10);
        p.set_urgent_at(0x1112);
        p.options_mut().copy_from_slice(&[2, 4, 0x05, 0xb4]);
        p.payload_mut().copy_from_slice(b"abcd");
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.flags(), TcpFlags(0x17f));
        assert_eq!(p.flags().to_string(), "[FSRP.UEe]");
        assert!(p.fin() && p.syn() && p.rst() && p.psh() && p.ack() && p.urg() && p.ece());
        assert!(!p.cwr());
        assert_eq!(
            p.options_iter().next(),
            Some(Ok(TcpOption::MaxSegmentSize(1460)))
        );
        assert_eq!(p.payload(), b"abcd");
        #[rustfmt::skip]
        assert_eq!(b, [
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x61, 0x7f, 13, 14, 15, 16, 17, 18,
            2, 4, 5, 0xb4, b'a', b'b', b'c', b'd',
        ]);
        // Reserved bits survive set_flags and set_header_len.
        b[12] |= 0x0e;
        let mut p = TcpPacket::new_unchecked(&mut b[..]);
        p.set_flags(TcpFlags::empty());
        p.set_header_len(20);
        assert_eq!(b[12..14], [0x5e, 0x00]);
    }

    #[test]
    fn flags_display_like_tcpdump() {
        assert_eq!((TcpFlags::SYN | TcpFlags::ACK).to_string(), "[S.]");
        assert_eq!((TcpFlags::FIN | TcpFlags::ACK).to_string(), "[F.]");
        assert_eq!(TcpFlags::RST.to_string(), "[R]");
        assert_eq!(TcpFlags::empty().to_string(), "[none]");
        assert_eq!(
            (TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR).to_string(),
            "[SEW]"
        );
        let mut f = TcpFlags::ALL;
        f.set(TcpFlags::AE, false);
        assert!(f.contains(TcpFlags::SYN | TcpFlags::FIN));
        assert!(!f.contains(TcpFlags::AE));
        assert_eq!((f & TcpFlags::ACK).bits(), 0x10);
        let mut g = TcpFlags::empty();
        g |= TcpFlags::URG;
        assert_eq!(g, TcpFlags::URG);
        assert!(!g.is_empty());
    }

    #[test]
    fn sequence_numbers_wrap() {
        let max = TcpSeqNumber(u32::MAX);
        assert_eq!(max + 1, TcpSeqNumber(0));
        assert_eq!(TcpSeqNumber(0) - 1, max);
        let mut s = TcpSeqNumber(u32::MAX - 2);
        s += 10;
        assert_eq!(s, TcpSeqNumber(7));
        assert!(max < TcpSeqNumber(0));
        assert!(TcpSeqNumber(0) > max);
        assert!(TcpSeqNumber(5) >= TcpSeqNumber(5));
        assert_eq!(TcpSeqNumber(3) - max, 4);
        assert_eq!(max - TcpSeqNumber(3), 0, "saturates when before");
        assert_eq!(TcpSeqNumber(3).wrapping_diff(max), 4);
        assert_eq!(max.wrapping_diff(TcpSeqNumber(3)), -4);
        assert_eq!(max.max(TcpSeqNumber(3)), TcpSeqNumber(3));
        assert_eq!(max.min(TcpSeqNumber(3)), max);
        assert_eq!(TcpSeqNumber(1).max(TcpSeqNumber(2)), TcpSeqNumber(2));
        // Within 2^31 the order is consistent across the wrap...
        let a = TcpSeqNumber(0x7fff_ffff);
        assert!(a > TcpSeqNumber(0) && a + 1 > a);
        // ...and at exactly 2^31 apart each is "less" than the other (the caveat).
        let (x, y) = (TcpSeqNumber(0), TcpSeqNumber(0x8000_0000));
        assert!(x < y && y < x);
        assert_eq!(u32::from(TcpSeqNumber::from(7)), 7);
        assert_eq!(TcpSeqNumber(42).to_string(), "42");
        assert_eq!(TcpSeqNumber(10) + 0x1_0000_0005usize, TcpSeqNumber(15));
    }

    #[test]
    fn etherparse_reads_every_emitted_option_layout() {
        use etherparse::TcpOptionElement as E;
        for mask in 0..16u8 {
            for blocks in 0..=4usize {
                let mut repr = full_repr();
                repr.max_seg_size = (mask & 1 != 0).then_some(1460);
                repr.timestamp = (mask & 2 != 0).then_some((0xdead_beef, 42));
                repr.sack_permitted = mask & 4 != 0;
                repr.window_scale = (mask & 8 != 0).then_some(9);
                for (i, slot) in repr.sack_ranges.iter_mut().enumerate() {
                    *slot = (i < blocks).then_some((i as u32 * 10, i as u32 * 10 + 5));
                }
                let mut buf = [0u8; 64];
                let n = repr.emit(&mut buf, &v4());
                let (h, payload) = etherparse::TcpHeader::from_slice(&buf[..n]).unwrap();
                assert_eq!(payload, b"data");
                assert_eq!(h.header_len(), repr.header_len());
                let c = h
                    .calc_checksum_ipv4_raw([192, 168, 10, 2], [192, 168, 10, 1], payload)
                    .unwrap();
                assert_eq!(c, h.checksum);
                let mut theirs: Vec<_> = h
                    .options_iterator()
                    .map(|o| o.unwrap())
                    .filter(|o| *o != E::Noop)
                    .collect();
                let mut want = Vec::new();
                if let Some(mss) = repr.max_seg_size {
                    want.push(E::MaximumSegmentSize(mss));
                }
                if repr.sack_permitted {
                    want.push(E::SelectiveAcknowledgementPermitted);
                }
                if let Some((a, b)) = repr.timestamp {
                    want.push(E::Timestamp(a, b));
                }
                if let Some(ws) = repr.window_scale {
                    want.push(E::WindowScale(ws));
                }
                let sent = repr.sack_blocks_emitted();
                assert!(sent >= blocks.min(2));
                if sent > 0 {
                    let mut rest = [None; 3];
                    for (i, r) in rest.iter_mut().enumerate().take(sent - 1) {
                        *r = repr.sack_ranges[i + 1];
                    }
                    want.push(E::SelectiveAcknowledgement(
                        repr.sack_ranges[0].unwrap(),
                        rest,
                    ));
                }
                theirs.sort_by_key(|o| std::format!("{o:?}"));
                want.sort_by_key(|o| std::format!("{o:?}"));
                assert_eq!(theirs, want, "mask {mask} blocks {blocks}");
            }
        }
    }

    fn exercise<T: AsRef<[u8]>>(p: &TcpPacket<T>) {
        let _ = (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number());
        let _ = (
            p.flags(),
            p.fin(),
            p.syn(),
            p.rst(),
            p.psh(),
            p.ack(),
            p.urg(),
        );
        let _ = (
            p.ece(),
            p.cwr(),
            p.window_len(),
            p.checksum(),
            p.urgent_at(),
        );
        let _ = (p.options(), p.payload(), p.segment_len());
        let n = p.options_iter().count();
        assert!(n <= p.options().len());
        for o in p.options_iter().flatten() {
            let _ = o.to_string();
            let mut buf = [0u8; 40];
            assert_eq!(o.emit(&mut buf), o.buffer_len());
        }
        for addrs in [v4(), v6()] {
            assert_eq!(p.verify_checksum(&addrs), p.check_checksum(&addrs).is_ok());
        }
    }

    #[test]
    fn no_input_makes_an_accessor_panic() {
        for fixture in [&SYN[..], &SACK[..]] {
            for len in 0..=fixture.len() {
                for at in 0..len.max(1) {
                    for v in [0x00, 0x01, 0x02, 0x05, 0x08, 0x0a, 0x1f, 0x50, 0xf0, 0xff] {
                        let mut b = [0u8; 65];
                        b[..len].copy_from_slice(&fixture[..len]);
                        if at < len {
                            b[at] = v;
                        }
                        let Ok(p) = TcpPacket::new_checked(&b[..len]) else {
                            continue;
                        };
                        exercise(&p);
                        if let Ok(repr) = TcpRepr::parse(&p) {
                            let mut out = [0u8; 128];
                            let n = repr.emit(&mut out, &v4());
                            assert_eq!(n, repr.buffer_len());
                            assert!(repr.header_len() <= MAX_HEADER_LEN);
                            let q = TcpPacket::new_checked(&out[..n]).unwrap();
                            assert!(q.verify_checksum(&v4()));
                            assert_eq!(TcpRepr::parse(&q).unwrap().payload, repr.payload);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn option_iteration_is_bounds_safe_on_any_bytes() {
        // Every two-byte area, and a pseudo-random sample of longer ones.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let steps = TcpOptions::new(&[a, b]).count();
                assert!((1..=2).contains(&steps));
            }
        }
        let mut x: u32 = 0x9e37_79b9;
        let mut area = [0u8; 40];
        for round in 0..20_000 {
            for byte in area.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Mostly small kinds/lengths so that options actually parse.
                *byte = if x & 0x100 != 0 {
                    (x % 12) as u8
                } else {
                    x as u8
                };
            }
            let len = round % 41;
            // Every step consumes at least one byte, and the options it yields lie within
            // the area.
            let mut steps = 0;
            let mut consumed = 0;
            for o in TcpOptions::new(&area[..len]) {
                steps += 1;
                if let Ok(o) = o {
                    consumed += o.buffer_len();
                }
            }
            assert!(steps <= len && consumed <= len, "{:?}", &area[..len]);
        }
    }

    /// The reference `TcpRepr::parse` reads options with: every option through
    /// `TcpOptions`, the first error returned.
    fn parse_by_iterator(bytes: &[u8]) -> Result<TcpRepr<'_>> {
        let packet = TcpPacket::new_checked(bytes)?;
        let mut fixed = [0u8; HEADER_LEN];
        fixed.copy_from_slice(&bytes[..HEADER_LEN]);
        fixed[12] = 0x50 | (fixed[12] & 0x0f);
        let head = TcpRepr::parse(&TcpPacket::new_unchecked(&fixed[..]))?;
        let mut repr = TcpRepr {
            payload: packet.payload_slice(),
            ..head
        };
        for option in TcpOptions::new(packet.options_slice()) {
            match option? {
                TcpOption::MaxSegmentSize(mss) => repr.max_seg_size = Some(mss),
                TcpOption::WindowScale(s) => repr.window_scale = Some(s.min(MAX_WINDOW_SCALE)),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::SackRange(blocks) => {
                    repr.sack_ranges = [None; MAX_SACK_BLOCKS];
                    for (slot, block) in repr.sack_ranges.iter_mut().zip(blocks.iter()) {
                        *slot = Some(block);
                    }
                }
                TcpOption::Timestamps { tsval, tsecr } => repr.timestamp = Some((tsval, tsecr)),
                _ => {}
            }
        }
        Ok(repr)
    }

    // The 40-byte SYN fast path writes what the general path writes (header and checksum),
    // for SYNs and SYN-ACKs over IPv4 and IPv6 with random field values.
    #[test]
    fn emit_full_options_matches_the_general_path() {
        let mut rng = crate::rand::Rng::new(0x9e37_79b9_u64);
        let mut next = || rng.next_u64();
        for i in 0..20_000 {
            let addrs = if i % 2 == 0 {
                IpAddrPair::V4 {
                    src: Ipv4Addr::from(next() as u32),
                    dst: Ipv4Addr::from(next() as u32),
                }
            } else {
                IpAddrPair::V6 {
                    src: Ipv6Addr::from(u128::from(next()) << 64 | u128::from(next())),
                    dst: Ipv6Addr::from(u128::from(next()) << 64 | u128::from(next())),
                }
            };
            let repr = TcpRepr {
                src_port: next() as u16,
                dst_port: next() as u16,
                control: if i % 3 == 0 {
                    TcpControl::None
                } else {
                    TcpControl::Syn
                },
                seq_number: TcpSeqNumber(next() as u32),
                ack_number: (i % 4 < 2).then(|| TcpSeqNumber(next() as u32)),
                window_len: next() as u16,
                window_scale: Some((next() % 15) as u8),
                max_seg_size: Some(next() as u16),
                sack_permitted: true,
                sack_ranges: [None; MAX_SACK_BLOCKS],
                timestamp: Some((next() as u32, next() as u32)),
                payload: &[],
            };
            let mut fast = [0xaau8; 64];
            assert_eq!(repr.emit_full_options(&mut fast, &addrs), Some(40));
            let mut general = [0xaau8; 64];
            let n = repr.emit_header(&mut general);
            TcpPacket::new_unchecked(&mut general[..n]).fill_checksum(&addrs);
            assert_eq!(n, 40);
            assert_eq!(fast, general, "{repr:?}");
            assert_eq!(repr.emit(&mut general, &addrs), 40);
            assert_eq!(fast, general);
            let parsed = TcpRepr::parse(&TcpPacket::new_checked(&fast[..40]).unwrap()).unwrap();
            assert_eq!(parsed, repr);
        }
        // Anything else takes the general path.
        let mut repr = TcpRepr {
            src_port: 1,
            dst_port: 2,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(3),
            ack_number: None,
            window_len: 4,
            window_scale: Some(7),
            max_seg_size: Some(1460),
            sack_permitted: true,
            sack_ranges: [None; MAX_SACK_BLOCKS],
            timestamp: Some((5, 6)),
            payload: &[],
        };
        let addrs = IpAddrPair::V4 {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut buf = [0u8; 64];
        assert_eq!(repr.emit_full_options(&mut buf[..39], &addrs), None);
        repr.sack_ranges[1] = Some((1, 2));
        assert_eq!(repr.emit_full_options(&mut buf, &addrs), None);
        repr.sack_ranges[1] = None;
        repr.payload = b"x";
        assert_eq!(repr.emit_full_options(&mut buf, &addrs), None);
        repr.payload = &[];
        repr.window_scale = None;
        assert_eq!(repr.emit_full_options(&mut buf, &addrs), None);
    }

    #[test]
    fn parse_fast_options_match_the_option_iterator() {
        // Option areas built from well-formed, truncated and malformed pieces, in random
        // order: the byte-pattern fast path must agree with the generic parser on all.
        let pieces: [&[u8]; 14] = [
            &[1],
            &[0],
            &[2, 4, 5, 0xb4],
            &[2, 4, 5],
            &[2, 3, 5],
            &[3, 3, 20],
            &[3, 2],
            &[4, 2],
            &[4, 3, 0],
            &[8, 10, 1, 2, 3, 4, 5, 6, 7, 8],
            &[8, 10, 1, 2],
            &[5, 10, 0, 0, 0, 1, 0, 0, 0, 2],
            &[254, 4, 9, 9],
            &[254, 1],
        ];
        let mut rng = crate::rand::Rng::new(0x1234_5678_u64);
        let mut next = || rng.next_u64();
        for _ in 0..20_000 {
            let mut opts = Vec::new();
            for _ in 0..next() % 6 {
                opts.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            opts.truncate(40);
            opts.resize(opts.len().div_ceil(4) * 4, (next() % 2) as u8);
            let mut seg = SYN[..20].to_vec();
            seg[12] = (((20 + opts.len()) / 4) as u8) << 4 | (seg[12] & 0x0f);
            seg.extend_from_slice(&opts);
            seg.extend_from_slice(b"data");
            let fast = TcpRepr::parse(&TcpPacket::new_unchecked(&seg[..]));
            assert_eq!(fast, parse_by_iterator(&seg), "{opts:?}");
        }
        // The SYN layout (`MSS, SACKPERM TS, NOP WS`), exact and with any one byte changed.
        let syn_opts: [u8; 20] = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7,
        ];
        for at in 0..=20 {
            for value in [0u8, 1, 2, 3, 4, 8, 10, 15, 0xff] {
                let mut opts = syn_opts;
                if at < 20 {
                    opts[at] = value;
                }
                let mut seg = SYN[..20].to_vec();
                seg[12] = (((20 + opts.len()) / 4) as u8) << 4 | (seg[12] & 0x0f);
                seg.extend_from_slice(&opts);
                let fast = TcpRepr::parse(&TcpPacket::new_unchecked(&seg[..]));
                assert_eq!(fast, parse_by_iterator(&seg), "{opts:?}");
            }
        }
    }
}
