//! Ethernet II frames (IEEE 802.3 clause 3.2.6 type field) with up to two VLAN tags:
//! IEEE 802.1Q customer tags (TPID `0x8100`) and IEEE 802.1ad service tags (TPID `0x88a8`,
//! "QinQ"; the pre-standard `0x9100` is read as one too).
//!
//! The frame has no FCS: TAP devices and AF_PACKET sockets deliver frames without it.
//!
//! ```text
//! dst(6) src(6) [TPID(2) TCI(2)]{0,2} EtherType(2) payload
//! TCI = PCP(3) DEI(1) VID(12)
//! ```

use core::fmt;
use core::str::FromStr;

use super::{Error, Proto, Result, be16, put_be16};

/// A 48-bit MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: Self = Self([0xff; 6]);

    /// Reads an address from the first six bytes of `bytes`. Panics if there are fewer.
    #[inline]
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut a = [0; 6];
        a.copy_from_slice(&bytes[..6]);
        Self(a)
    }

    /// The six bytes.
    #[inline]
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// True for `ff:ff:ff:ff:ff:ff`.
    #[inline]
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// True when the group bit (I/G, least significant bit of the first octet) is set; this
    /// includes broadcast.
    #[inline]
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// True for an individual (unicast) address.
    #[inline]
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// True when the U/L bit says the address is locally administered.
    #[inline]
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// The error of [`EthernetAddress::from_str`]: the text is not six `:`- or `-`-separated hex
/// octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseEthernetAddressError;

impl fmt::Display for ParseEthernetAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid MAC address: expected six hex octets like 02:00:00:00:00:01")
    }
}

impl core::error::Error for ParseEthernetAddressError {}

impl FromStr for EthernetAddress {
    type Err = ParseEthernetAddressError;

    /// Parses `02:00:5e:10:00:01` (or with `-` separators).
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for byte in out.iter_mut() {
            let part = parts.next().ok_or(ParseEthernetAddressError)?;
            if part.is_empty() || part.len() > 2 {
                return Err(ParseEthernetAddressError);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| ParseEthernetAddressError)?;
        }
        if parts.next().is_some() {
            return Err(ParseEthernetAddressError);
        }
        Ok(Self(out))
    }
}

/// An EtherType (or a VLAN TPID, which sits in the same place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EtherType {
    /// IPv4 (`0x0800`).
    Ipv4,
    /// ARP (`0x0806`).
    Arp,
    /// IEEE 802.1Q customer VLAN tag (`0x8100`).
    Vlan,
    /// IPv6 (`0x86dd`).
    Ipv6,
    /// IEEE 802.1ad service VLAN tag, "QinQ" (`0x88a8`).
    ServiceVlan,
    /// Pre-standard QinQ service tag (`0x9100`).
    LegacyQinQ,
    /// Any other value.
    Unknown(u16),
}

impl EtherType {
    /// True for the TPIDs that introduce a VLAN tag.
    #[inline]
    pub const fn is_vlan_tpid(self) -> bool {
        matches!(self, Self::Vlan | Self::ServiceVlan | Self::LegacyQinQ)
    }
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => Self::Ipv4,
            0x0806 => Self::Arp,
            0x8100 => Self::Vlan,
            0x86dd => Self::Ipv6,
            0x88a8 => Self::ServiceVlan,
            0x9100 => Self::LegacyQinQ,
            other => Self::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Vlan => 0x8100,
            EtherType::Ipv6 => 0x86dd,
            EtherType::ServiceVlan => 0x88a8,
            EtherType::LegacyQinQ => 0x9100,
            EtherType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ipv4 => f.write_str("IPv4"),
            Self::Arp => f.write_str("ARP"),
            Self::Vlan => f.write_str("802.1Q"),
            Self::Ipv6 => f.write_str("IPv6"),
            Self::ServiceVlan => f.write_str("802.1ad"),
            Self::LegacyQinQ => f.write_str("QinQ(0x9100)"),
            Self::Unknown(n) => write!(f, "0x{n:04x}"),
        }
    }
}

/// One VLAN tag: its TPID and the fields of its Tag Control Information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// The tag protocol identifier: [`EtherType::Vlan`] (C-tag) or [`EtherType::ServiceVlan`]
    /// (S-tag).
    pub tpid: EtherType,
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits).
    pub vid: u16,
}

impl VlanTag {
    /// Decodes a tag from its TPID and 16-bit TCI.
    #[inline]
    pub const fn from_tci(tpid: EtherType, tci: u16) -> Self {
        Self {
            tpid,
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }

    /// The 16-bit TCI. Fields wider than their bits are truncated to them.
    #[inline]
    pub const fn tci(&self) -> u16 {
        ((self.pcp as u16 & 0x7) << 13) | ((self.dei as u16) << 12) | (self.vid & 0x0fff)
    }
}

/// The most VLAN tags a frame may carry (802.1ad outer S-tag plus 802.1Q inner C-tag).
pub const MAX_VLAN_TAGS: usize = 2;

mod field {
    use crate::wire::Field;
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    /// The EtherType, or the TPID of the first VLAN tag.
    pub const ETHERTYPE: Field = 12..14;
    /// Bytes before the first tag / the untagged EtherType.
    pub const ADDRS_LEN: usize = 12;
    /// A VLAN tag: TPID(2) + TCI(2).
    pub const TAG_LEN: usize = 4;
}

/// The length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = 14;

/// A read/write view of an Ethernet II frame.
///
/// ```
/// use proto_core::wire::{EthernetFrame, EtherType};
/// let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0xde, 0xad];
/// let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
/// assert_eq!(frame.ethertype(), EtherType::Arp);
/// assert_eq!(frame.payload(), &[0xde, 0xad]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds the addresses, every VLAN tag (at most
    /// [`MAX_VLAN_TAGS`]) and the EtherType. After `Ok`, no accessor panics.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        let mut at = field::ADDRS_LEN;
        let mut tags = 0;
        loop {
            if buf.len() < at + 2 {
                let what = if tags == 0 { "header" } else { "VLAN tag" };
                return Err(Error::truncated(Proto::Ethernet, what, at + 2, buf.len()));
            }
            if !EtherType::from(be16(buf, at)).is_vlan_tpid() {
                return Ok(());
            }
            if tags == MAX_VLAN_TAGS {
                return Err(Error::too_many(Proto::Ethernet, "VLAN tags", MAX_VLAN_TAGS));
            }
            if buf.len() < at + field::TAG_LEN {
                return Err(Error::truncated(
                    Proto::Vlan,
                    "TCI",
                    at + field::TAG_LEN,
                    buf.len(),
                ));
            }
            tags += 1;
            at += field::TAG_LEN;
        }
    }

    /// Unwraps the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SOURCE])
    }

    /// The number of VLAN tags (0, 1 or 2).
    #[inline]
    pub fn vlan_count(&self) -> usize {
        let buf = self.buffer.as_ref();
        if !EtherType::from(be16(buf, field::ETHERTYPE.start)).is_vlan_tpid() {
            0
        } else if EtherType::from(be16(buf, field::ETHERTYPE.start + field::TAG_LEN)).is_vlan_tpid()
        {
            2
        } else {
            1
        }
    }

    /// The `index`th VLAN tag, outermost first, or `None` past the last.
    #[inline]
    pub fn vlan_tag(&self, index: usize) -> Option<VlanTag> {
        if index >= self.vlan_count() {
            return None;
        }
        let buf = self.buffer.as_ref();
        let at = field::ADDRS_LEN + index * field::TAG_LEN;
        Some(VlanTag::from_tci(
            EtherType::from(be16(buf, at)),
            be16(buf, at + 2),
        ))
    }

    /// The length of the header including tags: `14 + 4 * vlan_count()`.
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN + field::TAG_LEN * self.vlan_count()
    }

    /// The EtherType of the payload (after any VLAN tags).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), self.header_len() - 2))
    }

    /// The payload after the header and tags.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetFrame<&'a T> {
    /// The payload, borrowed for the buffer's whole lifetime (not just the view's).
    #[inline]
    pub fn payload_slice(&self) -> &'a [u8] {
        let len = self.header_len();
        &self.buffer.as_ref()[len..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the payload's EtherType (after any tags already in the buffer).
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        let at = self.header_len() - 2;
        put_be16(self.buffer.as_mut(), at, ethertype.into());
    }

    /// Rewrites the TCI of the `index`th tag already present (for re-tagging in place).
    /// Returns false when there is no such tag.
    #[inline]
    pub fn set_vlan_tci(&mut self, index: usize, tag: VlanTag) -> bool {
        if index >= self.vlan_count() {
            return false;
        }
        let at = field::ADDRS_LEN + index * field::TAG_LEN;
        let buf = self.buffer.as_mut();
        put_be16(buf, at, tag.tpid.into());
        put_be16(buf, at + 2, tag.tci());
        true
    }

    /// The payload, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        &mut self.buffer.as_mut()[len..]
    }
}

/// A parsed Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// Source address.
    pub src_addr: EthernetAddress,
    /// Destination address.
    pub dst_addr: EthernetAddress,
    /// VLAN tags, outermost first; `tags[1]` is only set when `tags[0]` is.
    pub tags: [Option<VlanTag>; MAX_VLAN_TAGS],
    /// The payload's EtherType.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// An untagged header.
    #[inline]
    pub const fn new(
        src_addr: EthernetAddress,
        dst_addr: EthernetAddress,
        ethertype: EtherType,
    ) -> Self {
        Self {
            src_addr,
            dst_addr,
            tags: [None; MAX_VLAN_TAGS],
            ethertype,
        }
    }

    /// Reads the header of a checked frame.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<Self> {
        frame.check_len()?;
        Ok(Self {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            tags: [frame.vlan_tag(0), frame.vlan_tag(1)],
            ethertype: frame.ethertype(),
        })
    }

    /// The number of tags.
    #[inline]
    pub fn vlan_count(&self) -> usize {
        self.tags.iter().take_while(|t| t.is_some()).count()
    }

    /// The header's length on the wire.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + field::TAG_LEN * self.vlan_count()
    }

    /// Writes the header into the start of `buf`, which must hold at least
    /// [`buffer_len`](Self::buffer_len) bytes. Returns the header length; the payload goes
    /// after it.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        buf[field::DESTINATION].copy_from_slice(&self.dst_addr.0);
        buf[field::SOURCE].copy_from_slice(&self.src_addr.0);
        let mut at = field::ADDRS_LEN;
        for tag in self.tags.iter().map_while(|t| *t) {
            put_be16(buf, at, tag.tpid.into());
            put_be16(buf, at + 2, tag.tci());
            at += field::TAG_LEN;
        }
        put_be16(buf, at, self.ethertype.into());
        at + 2
    }
}

impl fmt::Display for EthernetRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ethernet {} > {}", self.src_addr, self.dst_addr)?;
        for tag in self.tags.iter().map_while(|t| *t) {
            write!(f, " {} vid {} pcp {}", tag.tpid, tag.vid, tag.pcp)?;
        }
        write!(f, " type {}", self.ethertype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    static UNTAGGED: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0xaa,
        0xbb, 0xcc, 0xdd,
    ];

    static QINQ: [u8; 24] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0xa8, 0x20,
        0x64, 0x81, 0x00, 0xb0, 0x0a, 0x86, 0xdd, 0x60, 0x00,
    ];

    #[test]
    fn parse_untagged() {
        let f = EthernetFrame::new_checked(&UNTAGGED[..]).unwrap();
        assert_eq!(f.dst_addr(), EthernetAddress::BROADCAST);
        assert_eq!(f.src_addr(), EthernetAddress([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.vlan_count(), 0);
        assert_eq!(f.ethertype(), EtherType::Ipv4);
        assert_eq!(f.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn parse_qinq() {
        let f = EthernetFrame::new_checked(&QINQ[..]).unwrap();
        assert_eq!(f.vlan_count(), 2);
        let outer = f.vlan_tag(0).unwrap();
        assert_eq!(outer.tpid, EtherType::ServiceVlan);
        assert_eq!((outer.pcp, outer.dei, outer.vid), (1, false, 100));
        let inner = f.vlan_tag(1).unwrap();
        assert_eq!(inner.tpid, EtherType::Vlan);
        assert_eq!((inner.pcp, inner.dei, inner.vid), (5, true, 10));
        assert_eq!(f.vlan_tag(2), None);
        assert_eq!(f.ethertype(), EtherType::Ipv6);
        assert_eq!(f.header_len(), 22);
        assert_eq!(f.payload(), &[0x60, 0x00]);
    }

    #[test]
    fn emit_round_trips() {
        for bytes in [&UNTAGGED[..], &QINQ[..]] {
            let f = EthernetFrame::new_checked(bytes).unwrap();
            let repr = EthernetRepr::parse(&f).unwrap();
            let mut out = [0u8; 24];
            let n = repr.emit(&mut out);
            assert_eq!(n, repr.buffer_len());
            assert_eq!(&out[..n], &bytes[..n]);
        }
    }

    #[test]
    fn truncations_are_rejected_with_the_field() {
        for len in 0..QINQ.len() {
            let r = EthernetFrame::new_checked(&QINQ[..len]);
            if len < 22 {
                let e = r.unwrap_err();
                assert!(e.is_truncated(), "{len}: {e}");
            } else {
                assert!(r.is_ok());
            }
        }
        let e = EthernetFrame::new_checked(&UNTAGGED[..13]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Ethernet: header truncated: need 14 bytes, have 13"
        );
    }

    #[test]
    fn a_third_tag_is_refused() {
        let mut b = [0u8; 30];
        b[12..14].copy_from_slice(&[0x88, 0xa8]);
        b[16..18].copy_from_slice(&[0x81, 0x00]);
        b[20..22].copy_from_slice(&[0x81, 0x00]);
        let e = EthernetFrame::new_checked(&b[..]).unwrap_err();
        assert_eq!(e.to_string(), "Ethernet: VLAN tags: more than 2");
    }

    #[test]
    fn setters_write_the_fields() {
        let mut b = QINQ;
        let mut f = EthernetFrame::new_checked(&mut b[..]).unwrap();
        f.set_ethertype(EtherType::Arp);
        f.set_src_addr(EthernetAddress([9; 6]));
        assert!(f.set_vlan_tci(
            1,
            VlanTag {
                tpid: EtherType::Vlan,
                pcp: 0,
                dei: false,
                vid: 7
            }
        ));
        assert!(!f.set_vlan_tci(
            2,
            VlanTag {
                tpid: EtherType::Vlan,
                pcp: 0,
                dei: false,
                vid: 7
            }
        ));
        assert_eq!(f.ethertype(), EtherType::Arp);
        assert_eq!(f.src_addr(), EthernetAddress([9; 6]));
        assert_eq!(f.vlan_tag(1).unwrap().vid, 7);
    }

    #[test]
    fn mac_text_round_trips() {
        let a: EthernetAddress = "02:00:5e:10:00:01".parse().unwrap();
        assert_eq!(a.to_string(), "02:00:5e:10:00:01");
        assert_eq!("02-00-5e-10-00-01".parse::<EthernetAddress>().unwrap(), a);
        assert!("02:00:5e:10:00".parse::<EthernetAddress>().is_err());
        assert!("02:00:5e:10:00:01:02".parse::<EthernetAddress>().is_err());
        assert!("02:00:5e:10:00:zz".parse::<EthernetAddress>().is_err());
        assert!(a.is_unicast() && a.is_local());
        assert!(EthernetAddress::BROADCAST.is_multicast());
    }
}
