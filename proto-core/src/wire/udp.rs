//! UDP datagrams (RFC 768), with the pseudo-header checksum over IPv4 (RFC 768) and IPv6
//! (RFC 8200 §8.1).
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |   Source Port   | Destination Port|
//! +--------+--------+--------+--------+
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! |          data octets ...
//! ```
//!
//! `Length` counts the header and the data. The checksum covers the pseudo-header, the header
//! and the data; a transmitted zero means "no checksum", which RFC 768 allows over IPv4 and
//! RFC 8200 §8.1 forbids over IPv6. A computed zero is sent as `0xffff`.
//!
//! # Building a datagram
//!
//! Either hand the payload to [`UdpRepr::emit`], which copies it and fills the checksum, or
//! write it in place (no copy) and checksum afterwards:
//!
//! ```
//! use proto_core::wire::udp::{UdpPacket, UdpRepr};
//! use proto_core::wire::{IpAddrPair, Ipv4Addr};
//! let addrs = IpAddrPair::V4 { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2) };
//! let repr = UdpRepr { src_port: 5000, dst_port: 53 };
//! let mut buf = [0u8; 8 + 3];
//! // 1. the header, with the length and a zero checksum;
//! repr.emit_header(&mut buf, 3);
//! // 2. the payload, written in place by whoever produces it;
//! buf[8..].copy_from_slice(b"abc");
//! // 3. the checksum, over the pseudo-header, header and payload.
//! let mut packet = UdpPacket::new_unchecked(&mut buf[..]);
//! packet.fill_checksum(&addrs);
//! assert!(packet.verify_checksum(&addrs));
//! ```

use core::fmt;

use super::{Error, IpAddrPair, IpProtocol, Proto, Result, be16, put_be16};
use crate::checksum;

mod field {
    use crate::wire::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// The length of a UDP header.
pub const HEADER_LEN: usize = 8;

/// A read/write view of a UDP datagram.
///
/// The datagram is the first `len()` bytes of the buffer (checked by
/// [`check_len`](Self::check_len)); bytes past it (e.g. Ethernet padding) are ignored.
///
/// ```
/// use proto_core::wire::udp::UdpPacket;
/// let bytes = [0x30, 0x39, 0x00, 0x35, 0x00, 0x09, 0xc1, 0x1b, b'x', 0, 0];
/// let udp = UdpPacket::new_checked(&bytes[..]).unwrap();
/// assert_eq!((udp.src_port(), udp.dst_port(), udp.len()), (12345, 53, 9));
/// assert_eq!(udp.payload(), b"x");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
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

    /// Checks that the buffer holds the header and that the `Length` field is at least the
    /// header length and at most the buffer length (RFC 768). After `Ok`, no accessor panics.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(
                Proto::Udp,
                "header",
                HEADER_LEN,
                buf.len(),
            ));
        }
        let len = usize::from(be16(buf, field::LENGTH.start));
        if len < HEADER_LEN {
            return Err(Error::below(
                Proto::Udp,
                "length",
                len,
                "header length",
                HEADER_LEN,
            ));
        }
        if len > buf.len() {
            return Err(Error::above(
                Proto::Udp,
                "length",
                len,
                "buffer length",
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

    /// The `Length` field: header plus data, in bytes.
    #[inline]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The `Checksum` field (0 means "none", over IPv4 only).
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The data, bounded by the `Length` field.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// The folded sum of pseudo-header, header and data, checksum field included.
    #[inline]
    fn checksum_sum(&self, addrs: &IpAddrPair) -> u16 {
        let len = usize::from(self.len());
        let datagram = &self.buffer.as_ref()[..len];
        checksum::combine(&[
            addrs.pseudo_header_sum(IpProtocol::Udp, len),
            checksum::sum(datagram),
        ])
    }

    /// True when the checksum is right, or absent (zero) over IPv4 (RFC 768). A zero checksum
    /// over IPv6 is never right (RFC 8200 §8.1).
    #[inline]
    pub fn verify_checksum(&self, addrs: &IpAddrPair) -> bool {
        if self.checksum() == 0 {
            return matches!(addrs, IpAddrPair::V4 { .. });
        }
        checksum::verify(self.checksum_sum(addrs))
    }

    /// Like [`verify_checksum`](Self::verify_checksum), with the reason on failure: a zero
    /// checksum over IPv6 (`UDP: checksum 0 is invalid, expected nonzero over IPv6`) or a
    /// wrong one (`UDP: checksum 0x1234 is wrong, expected 0xc11b`).
    #[inline]
    pub fn check_checksum(&self, addrs: &IpAddrPair) -> Result<()> {
        let found = self.checksum();
        if found == 0 {
            return match addrs {
                IpAddrPair::V4 { .. } => Ok(()),
                IpAddrPair::V6 { .. } => Err(Error::invalid(
                    Proto::Udp,
                    "checksum",
                    0,
                    "nonzero over IPv6",
                )),
            };
        }
        let total = self.checksum_sum(addrs);
        if checksum::verify(total) {
            return Ok(());
        }
        // Take the field back out of the sum (one's-complement subtraction adds `!found`).
        let expected = match !checksum::combine(&[total, !found]) {
            0 => 0xffff,
            c => c,
        };
        Err(Error::bad_checksum(Proto::Udp, found, expected))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> UdpPacket<&'a T> {
    /// The data (bounded by `Length`), borrowed for the buffer's whole lifetime.
    #[inline]
    pub fn payload_slice(&self) -> &'a [u8] {
        let len = usize::from(self.len());
        &self.buffer.as_ref()[HEADER_LEN..len]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
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

    /// Sets the `Length` field (header plus data).
    #[inline]
    pub fn set_len(&mut self, len: u16) {
        put_be16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Sets the `Checksum` field.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        put_be16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Computes and writes the checksum over the pseudo-header, the header and the first
    /// `len()` bytes; a computed zero is written as `0xffff` (RFC 768, RFC 8200 §8.1).
    /// The `Length` field must already be set.
    #[inline]
    pub fn fill_checksum(&mut self, addrs: &IpAddrPair) {
        self.set_checksum(0);
        let c = !self.checksum_sum(addrs);
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }

    /// The data (bounded by `Length`), writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }
}

/// A parsed UDP header: the ports. The length follows from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl UdpRepr {
    /// Reads the header of a datagram after [`UdpPacket::check_len`].
    ///
    /// The checksum is *not* verified here: call [`UdpPacket::check_checksum`].
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &UdpPacket<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Self {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
        })
    }

    /// The header's length on the wire (8).
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header for `payload_len` bytes of data into the start of `buf` with a zero
    /// checksum. Returns the header length. Write the data after it, then call
    /// [`UdpPacket::fill_checksum`] (see the [module docs](self)).
    ///
    /// Panics if `buf` is shorter than 8 bytes. A `payload_len` over `65535 - 8` is a caller
    /// bug; the length field is truncated to 16 bits.
    #[inline]
    pub fn emit_header(&self, buf: &mut [u8], payload_len: usize) -> usize {
        put_be16(buf, field::SRC_PORT.start, self.src_port);
        put_be16(buf, field::DST_PORT.start, self.dst_port);
        put_be16(buf, field::LENGTH.start, (HEADER_LEN + payload_len) as u16);
        put_be16(buf, field::CHECKSUM.start, 0);
        HEADER_LEN
    }

    /// Writes the header, copies `payload` after it and fills the checksum. `buf` must hold at
    /// least `8 + payload.len()` bytes (it panics otherwise). Returns the datagram length.
    #[inline]
    pub fn emit(&self, buf: &mut [u8], addrs: &IpAddrPair, payload: &[u8]) -> usize {
        let len = HEADER_LEN + payload.len();
        self.emit_header(buf, payload.len());
        buf[HEADER_LEN..len].copy_from_slice(payload);
        UdpPacket::new_unchecked(&mut buf[..len]).fill_checksum(addrs);
        len
    }
}

impl fmt::Display for UdpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UDP {} > {}", self.src_port, self.dst_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Ipv4Addr, Ipv6Addr};
    extern crate std;
    use std::string::ToString;

    /// 192.168.10.2:12345 -> 192.168.10.255:53, payload "x" (scapy).
    static UDP4: [u8; 9] = [0x30, 0x39, 0x00, 0x35, 0x00, 0x09, 0xc1, 0x1b, 0x78];
    /// [fe80::1]:5353 -> [ff02::fb]:5353, payload "abcd" (scapy).
    static UDP6: [u8; 12] = [
        0x14, 0xe9, 0x14, 0xe9, 0x00, 0x0c, 0x12, 0xbe, 0x61, 0x62, 0x63, 0x64,
    ];

    fn v4() -> IpAddrPair {
        IpAddrPair::V4 {
            src: Ipv4Addr::new(192, 168, 10, 2),
            dst: Ipv4Addr::new(192, 168, 10, 255),
        }
    }

    fn v6() -> IpAddrPair {
        IpAddrPair::V6 {
            src: "fe80::1".parse::<Ipv6Addr>().unwrap(),
            dst: "ff02::fb".parse::<Ipv6Addr>().unwrap(),
        }
    }

    #[test]
    fn parse_over_ipv4() {
        let p = UdpPacket::new_checked(&UDP4[..]).unwrap();
        assert_eq!(p.src_port(), 12345);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.len(), 9);
        assert_eq!(p.checksum(), 0xc11b);
        assert_eq!(p.payload(), b"x");
        assert_eq!(p.payload_slice(), b"x");
        assert!(p.verify_checksum(&v4()));
        assert_eq!(p.check_checksum(&v4()), Ok(()));
        assert!(!p.verify_checksum(&v6()));
        let repr = UdpRepr::parse(&p).unwrap();
        assert_eq!(
            repr,
            UdpRepr {
                src_port: 12345,
                dst_port: 53
            }
        );
        assert_eq!(repr.to_string(), "UDP 12345 > 53");
        assert_eq!(p.into_inner(), &UDP4[..]);
    }

    #[test]
    fn parse_over_ipv6() {
        let p = UdpPacket::new_checked(&UDP6[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (5353, 5353, 12));
        assert_eq!(p.checksum(), 0x12be);
        assert_eq!(p.payload(), b"abcd");
        assert!(p.verify_checksum(&v6()));
        assert_eq!(p.check_checksum(&v6()), Ok(()));
    }

    #[test]
    fn emit_matches_the_fixtures() {
        for (fixture, addrs) in [(&UDP4[..], v4()), (&UDP6[..], v6())] {
            let p = UdpPacket::new_checked(fixture).unwrap();
            let repr = UdpRepr::parse(&p).unwrap();
            assert_eq!(repr.buffer_len(), 8);
            let mut out = [0u8; 16];
            let n = repr.emit(&mut out, &addrs, p.payload());
            assert_eq!(&out[..n], fixture);

            // The in-place path: header, payload written by the caller, then the checksum.
            let mut out = [0u8; 16];
            let payload = p.payload();
            assert_eq!(repr.emit_header(&mut out, payload.len()), 8);
            assert_eq!(&out[6..8], &[0, 0]);
            let mut q = UdpPacket::new_unchecked(&mut out[..fixture.len()]);
            q.payload_mut().copy_from_slice(payload);
            q.fill_checksum(&addrs);
            assert_eq!(&out[..fixture.len()], fixture);
        }
    }

    #[test]
    fn zero_checksum_means_none_over_ipv4_only() {
        let mut b = UDP4;
        let mut p = UdpPacket::new_checked(&mut b[..]).unwrap();
        p.set_checksum(0);
        assert!(p.verify_checksum(&v4()));
        assert_eq!(p.check_checksum(&v4()), Ok(()));
        assert!(!p.verify_checksum(&v6()));
        assert_eq!(
            p.check_checksum(&v6()).unwrap_err().to_string(),
            "UDP: checksum 0 is invalid, expected nonzero over IPv6"
        );
    }

    #[test]
    fn wrong_checksum_names_the_right_one() {
        let mut b = UDP4;
        UdpPacket::new_unchecked(&mut b[..]).set_checksum(0x1234);
        let p = UdpPacket::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum(&v4()));
        assert_eq!(
            p.check_checksum(&v4()).unwrap_err().to_string(),
            "UDP: checksum 0x1234 is wrong, expected 0xc11b"
        );
        let mut b = UDP6;
        b[11] ^= 1;
        let e = UdpPacket::new_checked(&b[..])
            .unwrap()
            .check_checksum(&v6())
            .unwrap_err();
        assert_eq!(e, Error::bad_checksum(Proto::Udp, 0x12be, 0x12bd));
    }

    #[test]
    fn a_computed_zero_is_sent_as_all_ones() {
        // Two payload bytes equal to the checksum of the datagram with a zero payload make
        // the data sum to 0xffff, so the computed checksum is 0 (RFC 768: send 0xffff).
        let repr = UdpRepr {
            src_port: 1,
            dst_port: 2,
        };
        for addrs in [v4(), v6()] {
            let mut b = [0u8; 10];
            repr.emit(&mut b, &addrs, &[0, 0]);
            let c = UdpPacket::new_unchecked(&b[..]).checksum();
            let n = repr.emit(&mut b, &addrs, &c.to_be_bytes());
            let p = UdpPacket::new_checked(&b[..n]).unwrap();
            assert_eq!(p.checksum(), 0xffff);
            assert!(p.verify_checksum(&addrs));
            assert_eq!(p.check_checksum(&addrs), Ok(()));
        }
    }

    #[test]
    fn the_length_field_bounds_the_payload() {
        let mut b = [0u8; 12];
        b[..9].copy_from_slice(&UDP4);
        let p = UdpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload(), b"x");
        assert!(p.verify_checksum(&v4()));
    }

    #[test]
    fn truncations_and_bad_lengths_are_rejected() {
        for len in 0..8 {
            let e = UdpPacket::new_checked(&UDP4[..len]).unwrap_err();
            assert!(e.is_truncated(), "{len}: {e}");
            assert_eq!(
                e.to_string(),
                std::format!("UDP: header truncated: need 8 bytes, have {len}")
            );
        }
        // A whole header but less data than `Length` claims.
        let e = UdpPacket::new_checked(&UDP4[..8]).unwrap_err();
        assert_eq!(e.to_string(), "UDP: length 9 > buffer length 8");
        let mut b = UDP4;
        UdpPacket::new_unchecked(&mut b[..]).set_len(7);
        let e = UdpPacket::new_checked(&b[..]).unwrap_err();
        assert_eq!(e.to_string(), "UDP: length 7 < header length 8");
    }

    #[test]
    fn setters_write_the_fields() {
        let mut b = [0u8; 12];
        let mut p = UdpPacket::new_unchecked(&mut b[..]);
        p.set_src_port(0x0102);
        p.set_dst_port(0x0304);
        p.set_len(11);
        p.set_checksum(0x0506);
        p.payload_mut().copy_from_slice(b"xyz");
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (0x0102, 0x0304, 11));
        assert_eq!(p.checksum(), 0x0506);
        assert_eq!(p.payload(), b"xyz");
        assert_eq!(b, [1, 2, 3, 4, 0, 11, 5, 6, b'x', b'y', b'z', 0]);
    }

    #[test]
    fn no_input_makes_an_accessor_panic() {
        for fixture in [&UDP4[..], &UDP6[..]] {
            for len in 0..=fixture.len() {
                for at in 0..len.max(1) {
                    for v in [0x00, 0x01, 0x07, 0x08, 0x09, 0x0c, 0x80, 0xff] {
                        let mut b = [0u8; 16];
                        b[..len].copy_from_slice(&fixture[..len]);
                        if at < len {
                            b[at] = v;
                        }
                        let Ok(p) = UdpPacket::new_checked(&b[..len]) else {
                            continue;
                        };
                        let _ = (p.src_port(), p.dst_port(), p.len(), p.checksum());
                        assert!(p.payload().len() + 8 <= len);
                        let _ = p.payload_slice();
                        for addrs in [v4(), v6()] {
                            let ok = p.verify_checksum(&addrs);
                            assert_eq!(ok, p.check_checksum(&addrs).is_ok());
                            let _ = UdpRepr::parse(&p).unwrap();
                        }
                    }
                }
            }
        }
    }
}
