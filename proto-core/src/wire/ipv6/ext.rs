//! IPv6 extension headers (RFC 8200 §4): the chain walker, Hop-by-Hop and Destination Options
//! (RFC 8200 §4.2-4.3, §4.6), Routing (§4.4), Fragment (§4.5) and the Authentication Header
//! (RFC 4302 §2), plus emitters for Fragment and option headers.
//!
//! ```text
//! Hop-by-Hop / Destination Options / Routing     Fragment (8 bytes)
//! next header(8) hdr ext len(8) ...              next header(8) reserved(8)
//! length = (hdr ext len + 1) * 8                 fragment offset(13) res(2) M(1)
//!                                                identification(32)
//! Authentication Header: next header(8) payload len(8) ...; length = (payload len + 2) * 4
//! option: type(8) [opt data len(8) data]; type 0 (Pad1) is a single byte
//! ```
//!
//! Every length is checked against the bytes there before anything is read, the walk stops
//! after [`MAX_EXT_HEADERS`] headers, and each step consumes at least 8 bytes, so the
//! iterators terminate and never panic on any input.

use core::fmt;

use crate::wire::{Error, IpProtocol, Proto, Result, be16, be32, put_be16, put_be32};

/// The most extension headers [`Ipv6ExtHeaders`] walks before giving up with
/// [`ErrorKind::TooMany`](crate::wire::ErrorKind::TooMany).
pub const MAX_EXT_HEADERS: usize = 8;

/// Bit `n` is set for each protocol number walked as an extension header: Hop-by-Hop (0),
/// Routing (43), Fragment (44), AH (51), Destination Options (60).
const EXT_MASK: u64 = 1 | (1 << 43) | (1 << 44) | (1 << 51) | (1 << 60);

/// True for a next-header number that [`Ipv6ExtHeaders`] walks (one shift and a compare).
#[inline(always)]
pub(crate) const fn is_ext_number(n: u8) -> bool {
    n < 64 && (EXT_MASK >> n) & 1 != 0
}

/// True for the extension headers this module walks: Hop-by-Hop Options, Routing, Fragment,
/// Destination Options and AH. ESP (50) and No Next Header (59) end a chain, like an upper
/// layer (RFC 8200 §4.7; ESP encrypts what follows).
#[inline]
pub fn is_extension_header(protocol: IpProtocol) -> bool {
    is_ext_number(protocol.into())
}

/// The RFC's name of an extension header, for errors.
fn header_name(kind: IpProtocol) -> &'static str {
    match kind {
        IpProtocol::HopByHop => "Hop-by-Hop Options header",
        IpProtocol::Ipv6Route => "Routing header",
        IpProtocol::Ipv6Frag => "Fragment header",
        IpProtocol::Ipv6Opts => "Destination Options header",
        IpProtocol::Ah => "Authentication Header",
        _ => "header",
    }
}

/// One extension header, as yielded by [`Ipv6ExtHeaders`].
///
/// `data` is the whole header (from its Next Header byte); the walker guarantees it is at least
/// 8 bytes and exactly as long as the header says. The accessors also stay panic-free on a
/// hand-built value with a shorter `data` (they then return `None` / nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6ExtHeader<'a> {
    /// Which extension header this is (the previous header's Next Header).
    pub kind: IpProtocol,
    /// The header after this one.
    pub next_header: IpProtocol,
    /// The whole header, including its Next Header and length bytes.
    pub data: &'a [u8],
}

impl<'a> Ipv6ExtHeader<'a> {
    /// The header's length in bytes.
    #[inline]
    pub fn header_len(&self) -> usize {
        self.data.len()
    }

    /// The options of a Hop-by-Hop or Destination Options header (RFC 8200 §4.2); an empty
    /// iterator for any other kind.
    #[inline]
    pub fn options(&self) -> Ipv6Options<'a> {
        match self.kind {
            IpProtocol::HopByHop | IpProtocol::Ipv6Opts => {
                Ipv6Options::new(self.data.get(2..).unwrap_or(&[]))
            }
            _ => Ipv6Options::new(&[]),
        }
    }

    /// The fields of a Routing header (RFC 8200 §4.4), or `None` for another kind.
    #[inline]
    pub fn routing(&self) -> Option<Ipv6RoutingHeader<'a>> {
        if self.kind != IpProtocol::Ipv6Route {
            return None;
        }
        match self.data {
            [_, _, routing_type, segments_left, data @ ..] => Some(Ipv6RoutingHeader {
                routing_type: *routing_type,
                segments_left: *segments_left,
                data,
            }),
            _ => None,
        }
    }

    /// A view of a Fragment header (RFC 8200 §4.5), or `None` for another kind.
    #[inline]
    pub fn fragment(&self) -> Option<Ipv6FragmentHeader<&'a [u8]>> {
        if self.kind != IpProtocol::Ipv6Frag {
            return None;
        }
        Ipv6FragmentHeader::new_checked(self.data).ok()
    }
}

/// The fields of a Routing header (RFC 8200 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6RoutingHeader<'a> {
    /// The Routing Type (e.g. 2 for Mobile IPv6, 3 for RPL, 4 for SRH).
    pub routing_type: u8,
    /// Segments Left: route segments still to visit.
    pub segments_left: u8,
    /// The type-specific data: everything after the first four bytes of the header.
    pub data: &'a [u8],
}

/// Where an upper-layer header starts in an IPv6 payload; see
/// [`Ipv6Packet::upper_layer`](super::Ipv6Packet::upper_layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpperLayer {
    /// The protocol after the last extension header (may be ESP or No Next Header, which end
    /// the walk).
    pub protocol: IpProtocol,
    /// The offset of that protocol's header from the start of the IPv6 payload; never past the
    /// end of the payload the walk was given.
    pub offset: usize,
    /// The (first) Fragment header's fields, if the packet is a fragment.
    pub fragment: Option<FragmentInfo>,
}

impl UpperLayer {
    /// True when the bytes at `offset` are the start of `protocol`'s header: the packet is not
    /// a non-first fragment (whose bytes continue a header sent earlier, RFC 8200 §4.5).
    #[inline]
    pub fn has_header(&self) -> bool {
        self.fragment.is_none_or(|f| f.offset == 0)
    }
}

/// The fields of a Fragment header that reassembly needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentInfo {
    /// The offset of this fragment's data in the original packet, in bytes (a multiple of 8).
    pub offset: u16,
    /// The M flag: more fragments follow.
    pub more: bool,
    /// The Identification shared by all fragments of one packet.
    pub ident: u32,
}

/// Walks the extension headers of `payload` (which follows a header whose Next Header is
/// `next_header`) and returns where the upper layer starts.
///
/// The first Fragment header found is reported; for a non-first fragment the walk stops right
/// after it (what follows is fragment data). ESP and No Next Header end the walk.
pub fn find_upper_layer(next_header: IpProtocol, payload: &[u8]) -> Result<UpperLayer> {
    let mut headers = Ipv6ExtHeaders::new(next_header, payload);
    let mut fragment = None;
    for header in headers.by_ref() {
        let header = header?;
        if fragment.is_none()
            && let Some(f) = header.fragment()
        {
            fragment = Some(FragmentInfo {
                offset: f.frag_offset(),
                more: f.more_frags(),
                ident: f.ident(),
            });
        }
    }
    Ok(UpperLayer {
        protocol: headers.next_header(),
        offset: headers.offset(),
        fragment,
    })
}

/// An iterator over the extension headers at the start of an IPv6 payload (RFC 8200 §4).
///
/// It yields each Hop-by-Hop, Routing, Fragment, Destination Options and AH header, and stops
/// at the first other protocol (an upper layer, ESP or No Next Header), after a non-first
/// Fragment header, or after the first error. Errors: a header longer than the bytes left,
/// a Hop-by-Hop header anywhere but first (RFC 8200 §4.1), more than [`MAX_EXT_HEADERS`].
#[derive(Debug, Clone)]
pub struct Ipv6ExtHeaders<'a> {
    next: IpProtocol,
    data: &'a [u8],
    offset: usize,
    count: usize,
    done: bool,
}

impl<'a> Ipv6ExtHeaders<'a> {
    /// Starts a walk over `payload`, which follows a header whose Next Header is
    /// `next_header` (the IPv6 header's, for the whole chain).
    #[inline]
    pub fn new(next_header: IpProtocol, payload: &'a [u8]) -> Self {
        Self {
            next: next_header,
            data: payload,
            offset: 0,
            count: 0,
            done: false,
        }
    }

    /// The Next Header after the headers yielded so far (the upper layer once the iterator is
    /// exhausted without error).
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        self.next
    }

    /// The offset, from the start of the payload, after the headers yielded so far.
    #[inline]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Stops the walk with `error`.
    fn fail(&mut self, error: Error) -> Option<Result<Ipv6ExtHeader<'a>>> {
        self.done = true;
        Some(Err(error))
    }
}

impl<'a> Iterator for Ipv6ExtHeaders<'a> {
    type Item = Result<Ipv6ExtHeader<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let kind = self.next;
        if self.done || !is_extension_header(kind) {
            return None;
        }
        if self.count == MAX_EXT_HEADERS {
            return self.fail(Error::too_many(
                Proto::Ipv6Ext,
                "extension headers",
                MAX_EXT_HEADERS,
            ));
        }
        // RFC 8200 §4.1: Hop-by-Hop Options only immediately after the IPv6 header.
        if kind == IpProtocol::HopByHop && self.count != 0 {
            return self.fail(Error::invalid(
                Proto::Ipv6Ext,
                "next header",
                0,
                "Hop-by-Hop Options only right after the IPv6 header",
            ));
        }
        let rest = &self.data[self.offset..];
        let name = header_name(kind);
        let len = match (kind, rest) {
            (IpProtocol::Ipv6Frag, _) => FRAGMENT_HEADER_LEN,
            // RFC 4302 §2.2: AH's fixed part (next header .. sequence number) is 12 bytes, so
            // Payload Len (in 4-byte words, minus 2) is at least 1.
            (_, [_, 0, ..]) if kind == IpProtocol::Ah => {
                return self.fail(Error::below(
                    Proto::Ipv6Ext,
                    "AH payload length",
                    0,
                    "minimum",
                    1,
                ));
            }
            (_, [_, len, ..]) if kind == IpProtocol::Ah => (usize::from(*len) + 2) * 4,
            (_, [_, len, ..]) => (usize::from(*len) + 1) * 8,
            _ => return self.fail(Error::truncated(Proto::Ipv6Ext, name, 2, rest.len())),
        };
        let Some(data) = rest.get(..len) else {
            return self.fail(Error::truncated(Proto::Ipv6Ext, name, len, rest.len()));
        };
        let header = Ipv6ExtHeader {
            kind,
            next_header: IpProtocol::from(data[0]),
            data,
        };
        self.offset += len;
        self.count += 1;
        self.next = header.next_header;
        // RFC 8200 §4.5: after a non-first fragment's header comes fragment data, not headers.
        if header.fragment().is_some_and(|f| f.frag_offset() != 0) {
            self.done = true;
        }
        Some(Ok(header))
    }
}

/// Option types of Hop-by-Hop and Destination Options headers that [`Ipv6Option`] decodes.
pub mod option_type {
    /// Pad1 (RFC 8200 §4.2).
    pub const PAD1: u8 = 0;
    /// PadN (RFC 8200 §4.2).
    pub const PADN: u8 = 1;
    /// Router Alert (RFC 2711 §2.1).
    pub const ROUTER_ALERT: u8 = 5;
    /// Jumbo Payload (RFC 2675 §2).
    pub const JUMBO: u8 = 0xc2;
}

/// What a node must do with an option type it does not recognize: the two high bits of the
/// type (RFC 8200 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6OptionAction {
    /// `00`: skip the option and continue.
    Skip,
    /// `01`: discard the packet.
    Discard,
    /// `10`: discard and send an ICMP Parameter Problem, code 2.
    DiscardAndReport,
    /// `11`: discard and send the ICMP Parameter Problem only if the destination was not
    /// multicast.
    DiscardAndReportUnlessMulticast,
}

impl Ipv6OptionAction {
    /// The action encoded in an option type.
    #[inline]
    pub const fn from_type(option_type: u8) -> Self {
        match option_type >> 6 {
            0 => Self::Skip,
            1 => Self::Discard,
            2 => Self::DiscardAndReport,
            _ => Self::DiscardAndReportUnlessMulticast,
        }
    }
}

/// One option of a Hop-by-Hop or Destination Options header (RFC 8200 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6Option<'a> {
    /// One byte of padding.
    Pad1,
    /// Padding of `2 + n` bytes (`n` data bytes).
    PadN(u8),
    /// Router Alert (RFC 2711), with its 16-bit value (0 = MLD).
    RouterAlert(u16),
    /// Jumbo Payload length (RFC 2675). Jumbograms are not otherwise supported.
    Jumbo(u32),
    /// Any other option; see [`Ipv6OptionAction::from_type`] for what to do with it.
    Unknown {
        /// The option type.
        kind: u8,
        /// The option data (up to 255 bytes).
        data: &'a [u8],
    },
}

impl Ipv6Option<'_> {
    /// The option type.
    #[inline]
    pub fn kind(&self) -> u8 {
        match *self {
            Self::Pad1 => option_type::PAD1,
            Self::PadN(_) => option_type::PADN,
            Self::RouterAlert(_) => option_type::ROUTER_ALERT,
            Self::Jumbo(_) => option_type::JUMBO,
            Self::Unknown { kind, .. } => kind,
        }
    }

    /// What to do if the type is not recognized (its two high bits).
    #[inline]
    pub fn action(&self) -> Ipv6OptionAction {
        Ipv6OptionAction::from_type(self.kind())
    }

    /// The type's third-highest bit: the option data may change en route (RFC 8200 §4.2).
    #[inline]
    pub fn may_change(&self) -> bool {
        self.kind() & 0x20 != 0
    }

    /// The option's length on the wire.
    pub fn buffer_len(&self) -> usize {
        match *self {
            Self::Pad1 => 1,
            Self::PadN(n) => 2 + usize::from(n),
            Self::RouterAlert(_) => 4,
            Self::Jumbo(_) => 6,
            Self::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` (at least [`buffer_len`](Self::buffer_len)
    /// bytes) and returns its length. Panics if an `Unknown` option has more than 255 data
    /// bytes (a caller bug).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        buf[0] = self.kind();
        match *self {
            Self::Pad1 => {}
            Self::PadN(n) => {
                buf[1] = n;
                buf[2..len].fill(0);
            }
            Self::RouterAlert(value) => {
                buf[1] = 2;
                put_be16(buf, 2, value);
            }
            Self::Jumbo(value) => {
                buf[1] = 4;
                put_be32(buf, 2, value);
            }
            Self::Unknown { data, .. } => {
                buf[1] = u8::try_from(data.len()).expect("IPv6 option data longer than 255");
                buf[2..len].copy_from_slice(data);
            }
        }
        len
    }
}

/// An iterator over the options of a Hop-by-Hop or Destination Options header; see
/// [`Ipv6ExtHeader::options`]. Yields an error (and then stops) on an option longer than the
/// header or a known option with the wrong length.
#[derive(Debug, Clone)]
pub struct Ipv6Options<'a> {
    data: &'a [u8],
    at: usize,
}

/// Options start after the Next Header and Hdr Ext Len bytes; errors count from the header.
const OPTIONS_START: usize = 2;

impl<'a> Ipv6Options<'a> {
    /// Iterates over `data`, the options area (a header without its first two bytes).
    #[inline]
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    /// Stops the iteration with `error`.
    fn fail(&mut self, error: Error) -> Option<Result<Ipv6Option<'a>>> {
        self.at = self.data.len();
        Some(Err(error))
    }
}

impl<'a> Iterator for Ipv6Options<'a> {
    type Item = Result<Ipv6Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.at..).filter(|r| !r.is_empty())?;
        let (kind, len) = match rest {
            [option_type::PAD1, ..] => {
                self.at += 1;
                return Some(Ok(Ipv6Option::Pad1));
            }
            [kind, len, ..] => (*kind, usize::from(*len)),
            _ => {
                let need = OPTIONS_START + self.at + 2;
                let have = OPTIONS_START + self.data.len();
                return self.fail(Error::truncated(Proto::Ipv6Ext, "option", need, have));
            }
        };
        let Some(body) = rest.get(2..2 + len) else {
            return self.fail(Error::above(
                Proto::Ipv6Ext,
                "option data length",
                len,
                "bytes left in header",
                rest.len() - 2,
            ));
        };
        self.at += 2 + len;
        let option = match kind {
            option_type::PADN => Ipv6Option::PadN(len as u8),
            // RFC 2711 §2.1: Opt Data Len = 2.
            option_type::ROUTER_ALERT if len == 2 => Ipv6Option::RouterAlert(be16(body, 0)),
            option_type::ROUTER_ALERT => {
                return self.fail(Error::invalid(
                    Proto::Ipv6Ext,
                    "Router Alert option length",
                    len as u32,
                    "2",
                ));
            }
            // RFC 2675 §2: Opt Data Len = 4.
            option_type::JUMBO if len == 4 => Ipv6Option::Jumbo(be32(body, 0)),
            option_type::JUMBO => {
                return self.fail(Error::invalid(
                    Proto::Ipv6Ext,
                    "Jumbo Payload option length",
                    len as u32,
                    "4",
                ));
            }
            kind => Ipv6Option::Unknown { kind, data: body },
        };
        Some(Ok(option))
    }
}

/// A Hop-by-Hop or Destination Options header to emit: a list of options, padded to a
/// multiple of 8 bytes (RFC 8200 §4.3, §4.6) with Pad1/PadN.
///
/// Options are written in the order given; their alignment requirements (`xn+y`, RFC 8200
/// §4.2) are the caller's to meet, with explicit [`Ipv6Option::PadN`] if needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6OptionsRepr<'a> {
    /// The header after this one.
    pub next_header: IpProtocol,
    /// The options, without the trailing padding.
    pub options: &'a [Ipv6Option<'a>],
}

impl Ipv6OptionsRepr<'_> {
    /// The header's length: 2 + the options, rounded up to 8.
    pub fn buffer_len(&self) -> usize {
        let len: usize = OPTIONS_START + self.options.iter().map(|o| o.buffer_len()).sum::<usize>();
        len.next_multiple_of(8)
    }

    /// Writes the header at the start of `buf` (at least [`buffer_len`](Self::buffer_len)
    /// bytes) and returns its length. Panics if the options need more than 2,046 bytes (the
    /// most Hdr Ext Len can describe).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let units = u8::try_from(len / 8 - 1).expect("IPv6 options header longer than 2048");
        buf[0] = self.next_header.into();
        buf[1] = units;
        let mut at = OPTIONS_START;
        for option in self.options {
            at += option.emit(&mut buf[at..]);
        }
        match len - at {
            0 => {}
            1 => {
                Ipv6Option::Pad1.emit(&mut buf[at..]);
            }
            n => {
                Ipv6Option::PadN((n - 2) as u8).emit(&mut buf[at..]);
            }
        }
        len
    }
}

/// The length of a Fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

mod field {
    pub const NEXT_HEADER: usize = 0;
    pub const RESERVED: usize = 1;
    /// Fragment Offset (13 bits, in 8-byte units), Res (2), M (1).
    pub const OFFSET_FLAGS: usize = 2;
    pub const IDENT: usize = 4;
}

/// A read/write view of a Fragment header (RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6FragmentHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6FragmentHeader<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Checks that the buffer holds the 8-byte header.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < FRAGMENT_HEADER_LEN {
            return Err(Error::truncated(
                Proto::Ipv6Ext,
                "Fragment header",
                FRAGMENT_HEADER_LEN,
                len,
            ));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header after this one (in the reassembled packet).
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// The offset of this fragment's data in the original packet, in bytes.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        be16(self.buffer.as_ref(), field::OFFSET_FLAGS) & 0xfff8
    }

    /// The M flag: more fragments follow.
    #[inline]
    pub fn more_frags(&self) -> bool {
        be16(self.buffer.as_ref(), field::OFFSET_FLAGS) & 1 != 0
    }

    /// The Identification.
    #[inline]
    pub fn ident(&self) -> u32 {
        be32(self.buffer.as_ref(), field::IDENT)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6FragmentHeader<T> {
    /// Sets the Next Header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value.into();
    }

    /// Sets the fragment offset in bytes (the low three bits are dropped: it is sent in
    /// 8-byte units). Keeps the M flag and zeroes the reserved bits.
    #[inline]
    pub fn set_frag_offset(&mut self, offset: u16) {
        let m = u16::from(self.more_frags());
        put_be16(
            self.buffer.as_mut(),
            field::OFFSET_FLAGS,
            (offset & 0xfff8) | m,
        );
    }

    /// Sets the M flag.
    #[inline]
    pub fn set_more_frags(&mut self, more: bool) {
        let v = be16(self.buffer.as_ref(), field::OFFSET_FLAGS) & !1;
        put_be16(
            self.buffer.as_mut(),
            field::OFFSET_FLAGS,
            v | u16::from(more),
        );
    }

    /// Sets the Identification.
    #[inline]
    pub fn set_ident(&mut self, ident: u32) {
        put_be32(self.buffer.as_mut(), field::IDENT, ident);
    }

    /// Zeroes the reserved byte.
    #[inline]
    pub fn clear_reserved(&mut self) {
        self.buffer.as_mut()[field::RESERVED] = 0;
    }
}

/// A parsed Fragment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6FragmentRepr {
    /// The header after this one.
    pub next_header: IpProtocol,
    /// The fragment offset in bytes (a multiple of 8).
    pub frag_offset: u16,
    /// More fragments follow.
    pub more_frags: bool,
    /// The Identification.
    pub ident: u32,
}

impl Ipv6FragmentRepr {
    /// Reads a checked Fragment header.
    pub fn parse<T: AsRef<[u8]>>(header: &Ipv6FragmentHeader<T>) -> Result<Self> {
        header.check_len()?;
        Ok(Self {
            next_header: header.next_header(),
            frag_offset: header.frag_offset(),
            more_frags: header.more_frags(),
            ident: header.ident(),
        })
    }

    /// The header's length: 8.
    pub const fn buffer_len(&self) -> usize {
        FRAGMENT_HEADER_LEN
    }

    /// Writes the header into the start of `buf` (at least 8 bytes) and returns 8. The low
    /// three bits of `frag_offset` are dropped.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        buf[field::NEXT_HEADER] = self.next_header.into();
        buf[field::RESERVED] = 0;
        let word = (self.frag_offset & 0xfff8) | u16::from(self.more_frags);
        put_be16(buf, field::OFFSET_FLAGS, word);
        put_be32(buf, field::IDENT, self.ident);
        FRAGMENT_HEADER_LEN
    }
}

impl fmt::Display for Ipv6FragmentRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv6 Fragment next {} offset {} ident {:#010x}",
            self.next_header, self.frag_offset, self.ident
        )?;
        if self.more_frags {
            f.write_str(" MF")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;
    use std::vec::Vec;

    /// Hop-by-Hop (Router Alert 0, PadN) + Fragment (offset 0, M, ident 0xdeadbeef), then UDP;
    /// the payload of scapy's
    /// `IPv6()/IPv6ExtHdrHopByHop(options=[RouterAlert()])/IPv6ExtHdrFragment(m=1, ..)/UDP()`.
    static HBH_FRAG: [u8; 18] = [
        0x2c, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00, 0x11, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe,
        0xef, 0x04, 0xd2,
    ];

    /// Routing (type 0, segments left 1, one address) + Destination Options (PadN 4) +
    /// Fragment (offset 1480, ident 0x01020304) + fragment data.
    static RT_DEST_FRAG: [u8; 42] = [
        0x3c, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x2c, 0x00, 0x01, 0x04, 0x00, 0x00,
        0x00, 0x00, 0x11, 0x00, 0x05, 0xc8, 0x01, 0x02, 0x03, 0x04, b'f', b'r',
    ];

    fn walk(next: IpProtocol, data: &[u8]) -> Vec<Result<Ipv6ExtHeader<'_>>> {
        Ipv6ExtHeaders::new(next, data).collect()
    }

    #[test]
    fn walks_hop_by_hop_and_fragment() {
        let mut it = Ipv6ExtHeaders::new(IpProtocol::HopByHop, &HBH_FRAG);
        let hbh = it.next().unwrap().unwrap();
        assert_eq!(hbh.kind, IpProtocol::HopByHop);
        assert_eq!(hbh.next_header, IpProtocol::Ipv6Frag);
        assert_eq!(hbh.data, &HBH_FRAG[..8]);
        assert_eq!(hbh.header_len(), 8);
        assert_eq!(hbh.routing(), None);
        assert!(hbh.fragment().is_none());
        let options: Vec<_> = hbh.options().map(|o| o.unwrap()).collect();
        assert_eq!(options, [Ipv6Option::RouterAlert(0), Ipv6Option::PadN(0)]);
        assert_eq!((it.next_header(), it.offset()), (IpProtocol::Ipv6Frag, 8));
        let frag = it.next().unwrap().unwrap();
        assert_eq!(frag.kind, IpProtocol::Ipv6Frag);
        assert_eq!(frag.options().count(), 0);
        let f = frag.fragment().unwrap();
        assert_eq!(f.next_header(), IpProtocol::Udp);
        assert_eq!(
            (f.frag_offset(), f.more_frags(), f.ident()),
            (0, true, 0xdead_beef)
        );
        assert!(it.next().is_none());
        assert_eq!((it.next_header(), it.offset()), (IpProtocol::Udp, 16));
    }

    #[test]
    fn walks_routing_destination_options_and_stops_after_a_later_fragment() {
        let headers = walk(IpProtocol::Ipv6Route, &RT_DEST_FRAG);
        assert_eq!(headers.len(), 3);
        let rt = headers[0].unwrap();
        assert_eq!(rt.header_len(), 24);
        let r = rt.routing().unwrap();
        assert_eq!((r.routing_type, r.segments_left), (0, 1));
        assert_eq!(r.data, &RT_DEST_FRAG[4..24]);
        assert_eq!(rt.options().count(), 0);
        let dest = headers[1].unwrap();
        assert_eq!(dest.kind, IpProtocol::Ipv6Opts);
        let options: Vec<_> = dest.options().map(|o| o.unwrap()).collect();
        assert_eq!(options, [Ipv6Option::PadN(4)]);
        let f = headers[2].unwrap().fragment().unwrap();
        assert_eq!(
            (f.frag_offset(), f.more_frags(), f.ident()),
            (1480, false, 0x0102_0304)
        );
        // Even if the fragment data looked like a header, the walk stops at a later fragment.
        let mut b = RT_DEST_FRAG;
        b[32] = 60;
        let upper = find_upper_layer(IpProtocol::Ipv6Route, &b).unwrap();
        assert_eq!((upper.protocol, upper.offset), (IpProtocol::Ipv6Opts, 40));
        assert!(!upper.has_header());
    }

    #[test]
    fn authentication_header_length_is_in_4_byte_units() {
        // AH: next UDP, payload len 1 -> (1 + 2) * 4 = 12 bytes.
        let ah = [17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xaa];
        let upper = find_upper_layer(IpProtocol::Ah, &ah).unwrap();
        assert_eq!((upper.protocol, upper.offset), (IpProtocol::Udp, 12));
        // Payload Len 0 would be an 8-byte AH, shorter than AH's 12-byte fixed part.
        let e = find_upper_layer(IpProtocol::Ah, &[17, 0, 0, 0, 0, 0, 0, 0, 0xaa]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: AH payload length 0 < minimum 1"
        );
        let e = find_upper_layer(IpProtocol::Ah, &[17, 2, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: Authentication Header truncated: need 16 bytes, have 8"
        );
    }

    #[test]
    fn esp_and_no_next_header_end_the_walk() {
        for p in [IpProtocol::Esp, IpProtocol::Ipv6NoNxt, IpProtocol::Tcp] {
            assert!(!is_extension_header(p));
            assert!(walk(p, &HBH_FRAG).is_empty());
        }
        // Destination Options followed by ESP.
        let d = [50, 0, 1, 4, 0, 0, 0, 0, 0xff];
        let upper = find_upper_layer(IpProtocol::Ipv6Opts, &d).unwrap();
        assert_eq!((upper.protocol, upper.offset), (IpProtocol::Esp, 8));
        for n in 0..=255u8 {
            assert_eq!(
                is_extension_header(n.into()),
                matches!(n, 0 | 43 | 44 | 51 | 60),
                "{n}"
            );
        }
    }

    #[test]
    fn truncated_headers_are_rejected() {
        let e = walk(IpProtocol::Ipv6Route, &RT_DEST_FRAG[..16]);
        assert_eq!(e.len(), 1);
        let e = e[0].unwrap_err();
        assert!(e.is_truncated());
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: Routing header truncated: need 24 bytes, have 16"
        );
        let e = walk(IpProtocol::Ipv6Opts, &[17]).remove(0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: Destination Options header truncated: need 2 bytes, have 1"
        );
        let e = walk(IpProtocol::HopByHop, &[]).remove(0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: Hop-by-Hop Options header truncated: need 2 bytes, have 0"
        );
        let e = walk(IpProtocol::Ipv6Frag, &HBH_FRAG[8..13])
            .remove(0)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: Fragment header truncated: need 8 bytes, have 5"
        );
        // Every truncation of the chain is an error or a shorter, valid walk.
        for len in 0..RT_DEST_FRAG.len() {
            let r = find_upper_layer(IpProtocol::Ipv6Route, &RT_DEST_FRAG[..len]);
            if len < 40 {
                assert!(r.unwrap_err().is_truncated(), "{len}");
            } else {
                assert_eq!(r.unwrap().offset, 40);
            }
        }
    }

    #[test]
    fn hop_by_hop_must_come_first() {
        let d = [0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0];
        let headers = walk(IpProtocol::Ipv6Opts, &d);
        assert_eq!(headers.len(), 2);
        assert_eq!(
            headers[1].unwrap_err().to_string(),
            "IPv6 extension header: next header 0 is invalid, expected Hop-by-Hop Options only \
             right after the IPv6 header"
        );
    }

    #[test]
    fn the_chain_is_bounded() {
        // Destination Options headers chained to each other, the last pointing at UDP.
        let chain = |n: usize| {
            let mut v = Vec::new();
            for i in 0..n {
                let next = if i + 1 == n { 17 } else { 60 };
                v.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
            }
            v
        };
        let ok = chain(MAX_EXT_HEADERS);
        let upper = find_upper_layer(IpProtocol::Ipv6Opts, &ok).unwrap();
        assert_eq!((upper.protocol, upper.offset), (IpProtocol::Udp, 64));
        let too_many = chain(MAX_EXT_HEADERS + 1);
        let headers = walk(IpProtocol::Ipv6Opts, &too_many);
        assert_eq!(headers.len(), MAX_EXT_HEADERS + 1);
        let e = find_upper_layer(IpProtocol::Ipv6Opts, &too_many).unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv6 extension header: extension headers: more than 8"
        );
    }

    #[test]
    fn option_errors() {
        let first_err = |data: &[u8]| {
            let mut it = Ipv6Options::new(data);
            let e = it.find_map(|o| o.err()).unwrap();
            assert!(it.next().is_none(), "the iterator stops after an error");
            e.to_string()
        };
        assert_eq!(
            first_err(&[0, 5]),
            "IPv6 extension header: option truncated: need 5 bytes, have 4"
        );
        assert_eq!(
            first_err(&[1, 5, 0, 0]),
            "IPv6 extension header: option data length 5 > bytes left in header 2"
        );
        assert_eq!(
            first_err(&[5, 1, 0, 0, 0, 0]),
            "IPv6 extension header: Router Alert option length 1 is invalid, expected 2"
        );
        assert_eq!(
            first_err(&[0xc2, 2, 0, 0, 0, 0]),
            "IPv6 extension header: Jumbo Payload option length 2 is invalid, expected 4"
        );
    }

    #[test]
    fn options_decode_with_action_bits() {
        let data = [0, 0xc2, 4, 0, 1, 0x11, 0x70, 0x3e, 1, 9, 0x83, 0, 0x5f, 0];
        let options: Vec<_> = Ipv6Options::new(&data).map(|o| o.unwrap()).collect();
        assert_eq!(
            options,
            [
                Ipv6Option::Pad1,
                Ipv6Option::Jumbo(70_000),
                Ipv6Option::Unknown {
                    kind: 0x3e,
                    data: &[9]
                },
                Ipv6Option::Unknown {
                    kind: 0x83,
                    data: &[]
                },
                Ipv6Option::Unknown {
                    kind: 0x5f,
                    data: &[]
                },
            ]
        );
        assert_eq!(options[2].action(), Ipv6OptionAction::Skip);
        assert!(options[2].may_change());
        assert_eq!(options[3].action(), Ipv6OptionAction::DiscardAndReport);
        assert!(!options[3].may_change());
        assert_eq!(options[4].action(), Ipv6OptionAction::Discard);
        assert_eq!(
            Ipv6OptionAction::from_type(0xc2),
            Ipv6OptionAction::DiscardAndReportUnlessMulticast
        );
    }

    #[test]
    fn options_repr_pads_to_8() {
        let repr = Ipv6OptionsRepr {
            next_header: IpProtocol::Ipv6Frag,
            options: &[Ipv6Option::RouterAlert(0)],
        };
        assert_eq!(repr.buffer_len(), 8);
        let mut out = [0xffu8; 8];
        assert_eq!(repr.emit(&mut out), 8);
        assert_eq!(out, HBH_FRAG[..8]);

        let options = [
            Ipv6Option::Jumbo(70_000),
            Ipv6Option::Unknown {
                kind: 0x1e,
                data: &[1, 2, 3],
            },
        ];
        let repr = Ipv6OptionsRepr {
            next_header: IpProtocol::Udp,
            options: &options,
        };
        assert_eq!(repr.buffer_len(), 16);
        let mut out = [0xffu8; 16];
        assert_eq!(repr.emit(&mut out), 16);
        assert_eq!(out[..2], [17, 1]);
        let header = Ipv6ExtHeaders::new(IpProtocol::HopByHop, &out)
            .next()
            .unwrap()
            .unwrap();
        let back: Vec<_> = header.options().map(|o| o.unwrap()).collect();
        assert_eq!(back[..2], options);
        assert_eq!(back[2..], [Ipv6Option::PadN(1)]);

        // Exactly 8 bytes: no padding.
        let repr = Ipv6OptionsRepr {
            next_header: IpProtocol::Tcp,
            options: &[Ipv6Option::Jumbo(1)],
        };
        let mut out = [0u8; 8];
        assert_eq!(repr.emit(&mut out), 8);
        assert_eq!(out, [6, 0, 0xc2, 4, 0, 0, 0, 1]);
        // No options: a PadN of 4.
        let repr = Ipv6OptionsRepr {
            next_header: IpProtocol::Udp,
            options: &[],
        };
        repr.emit(&mut out);
        assert_eq!(out, [17, 0, 1, 4, 0, 0, 0, 0]);
    }

    #[test]
    fn fragment_view_and_repr() {
        let frag = &RT_DEST_FRAG[32..40];
        let f = Ipv6FragmentHeader::new_checked(frag).unwrap();
        let repr = Ipv6FragmentRepr::parse(&f).unwrap();
        assert_eq!(
            repr,
            Ipv6FragmentRepr {
                next_header: IpProtocol::Udp,
                frag_offset: 1480,
                more_frags: false,
                ident: 0x0102_0304
            }
        );
        assert_eq!(repr.buffer_len(), 8);
        let mut out = [0xffu8; 8];
        assert_eq!(repr.emit(&mut out), 8);
        assert_eq!(out, frag);
        assert_eq!(
            repr.to_string(),
            "IPv6 Fragment next UDP offset 1480 ident 0x01020304"
        );
        assert_eq!(f.into_inner(), frag);

        let mut b = [0xffu8; 8];
        let mut f = Ipv6FragmentHeader::new_checked(&mut b[..]).unwrap();
        f.set_next_header(IpProtocol::Tcp);
        f.set_frag_offset(8);
        f.set_more_frags(false);
        f.set_ident(7);
        f.clear_reserved();
        assert_eq!((f.frag_offset(), f.more_frags(), f.ident()), (8, false, 7));
        f.set_more_frags(true);
        f.set_frag_offset(65528);
        assert_eq!((f.frag_offset(), f.more_frags()), (65528, true));
        assert_eq!(f.next_header(), IpProtocol::Tcp);
        let repr = Ipv6FragmentRepr::parse(&f).unwrap();
        assert_eq!(
            repr.to_string(),
            "IPv6 Fragment next TCP offset 65528 ident 0x00000007 MF"
        );
        assert_eq!(b, [6, 0, 0xff, 0xf9, 0, 0, 0, 7]);

        for len in 0..8 {
            let e = Ipv6FragmentHeader::new_checked(&frag[..len]).unwrap_err();
            assert!(e.is_truncated());
        }
        assert_eq!(
            Ipv6FragmentHeader::new_checked(&frag[..3])
                .unwrap_err()
                .to_string(),
            "IPv6 extension header: Fragment header truncated: need 8 bytes, have 3"
        );
    }

    #[test]
    fn option_emit_round_trips() {
        let options = [
            Ipv6Option::Pad1,
            Ipv6Option::PadN(3),
            Ipv6Option::RouterAlert(2),
            Ipv6Option::Jumbo(u32::MAX),
            Ipv6Option::Unknown {
                kind: 0x07,
                data: &[1, 2],
            },
        ];
        for option in options {
            let mut buf = [0xffu8; 8];
            let n = option.emit(&mut buf);
            assert_eq!(n, option.buffer_len());
            let back = Ipv6Options::new(&buf[..n]).next().unwrap().unwrap();
            assert_eq!(back, option);
        }
    }

    #[test]
    fn hand_built_headers_do_not_panic() {
        for kind in [
            IpProtocol::Ipv6Route,
            IpProtocol::Ipv6Frag,
            IpProtocol::HopByHop,
        ] {
            let h = Ipv6ExtHeader {
                kind,
                next_header: IpProtocol::Udp,
                data: &[1],
            };
            assert!(h.routing().is_none() && h.fragment().is_none());
            assert_eq!(h.options().count(), 0);
        }
    }

    #[test]
    fn no_panic_on_any_corruption() {
        let starts = [
            IpProtocol::HopByHop,
            IpProtocol::Ipv6Route,
            IpProtocol::Ipv6Opts,
            IpProtocol::Ah,
            IpProtocol::Ipv6Frag,
        ];
        for fixture in [&HBH_FRAG[..], &RT_DEST_FRAG[..]] {
            for at in 0..fixture.len() {
                for v in 0..=255u8 {
                    let mut b = fixture.to_vec();
                    b[at] = v;
                    for len in [b.len(), at + 1] {
                        for start in starts {
                            let _ = find_upper_layer(start, &b[..len]);
                            for h in Ipv6ExtHeaders::new(start, &b[..len]).flatten() {
                                let _ = (h.routing(), h.fragment());
                                assert!(h.options().count() <= h.header_len());
                            }
                        }
                    }
                }
            }
        }
    }
}
