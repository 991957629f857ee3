//! Neighbor Discovery options (RFC 4861 §4.6), carried after the fixed part of Router
//! Solicitation / Advertisement, Neighbor Solicitation / Advertisement and Redirect messages.
//!
//! ```text
//! type(8) length(8, in units of 8 bytes, including type and length) data...
//! ```
//!
//! Only Ethernet link-layer addresses (option length 1) are decoded.

use core::fmt;
use core::net::Ipv6Addr;

use crate::wire::ethernet::EthernetAddress;
use crate::wire::{Error, Proto, Result, be32, put_be32};

/// NDP option types (RFC 4861 §4.6).
pub mod ndp_option_type {
    /// Source Link-Layer Address (§4.6.1).
    pub const SOURCE_LL_ADDR: u8 = 1;
    /// Target Link-Layer Address (§4.6.1).
    pub const TARGET_LL_ADDR: u8 = 2;
    /// Prefix Information (§4.6.2).
    pub const PREFIX_INFO: u8 = 3;
    /// Redirected Header (§4.6.3).
    pub const REDIRECTED_HEADER: u8 = 4;
    /// MTU (§4.6.4).
    pub const MTU: u8 = 5;
}

/// The fields of a Prefix Information option (RFC 4861 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdpPrefixInfo {
    /// The number of leading bits of `prefix` that are valid (0..=128).
    pub prefix_len: u8,
    /// L flag: the prefix can be used for on-link determination.
    pub on_link: bool,
    /// A flag: the prefix can be used for stateless address autoconfiguration (RFC 4862).
    pub autonomous: bool,
    /// Valid lifetime in seconds (`0xffffffff` = infinity).
    pub valid_lifetime: u32,
    /// Preferred lifetime in seconds (`0xffffffff` = infinity).
    pub preferred_lifetime: u32,
    /// The prefix (bits after `prefix_len` should be zero).
    pub prefix: Ipv6Addr,
}

/// One NDP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdpOption<'a> {
    /// The sender's link-layer address (type 1).
    SourceLinkLayerAddr(EthernetAddress),
    /// The target's link-layer address (type 2).
    TargetLinkLayerAddr(EthernetAddress),
    /// Prefix Information (type 3).
    PrefixInformation(NdpPrefixInfo),
    /// Redirected Header (type 4): as much of the redirected packet as fits (after the
    /// option's 8-byte header, including any zero padding at its end).
    RedirectedHeader(&'a [u8]),
    /// The link MTU (type 5).
    Mtu(u32),
    /// Any other option (RFC 4861 §4.6: receivers silently ignore unknown options).
    Unknown {
        /// The option type.
        kind: u8,
        /// The bytes after the type and length.
        data: &'a [u8],
    },
}

/// The Prefix Information option's length in bytes.
const PREFIX_INFO_LEN: usize = 32;
/// The option header of a Redirected Header option: type, length, 6 reserved bytes.
const REDIRECTED_HEADER_START: usize = 8;

impl NdpOption<'_> {
    /// The option type.
    pub fn kind(&self) -> u8 {
        match *self {
            Self::SourceLinkLayerAddr(_) => ndp_option_type::SOURCE_LL_ADDR,
            Self::TargetLinkLayerAddr(_) => ndp_option_type::TARGET_LL_ADDR,
            Self::PrefixInformation(_) => ndp_option_type::PREFIX_INFO,
            Self::RedirectedHeader(_) => ndp_option_type::REDIRECTED_HEADER,
            Self::Mtu(_) => ndp_option_type::MTU,
            Self::Unknown { kind, .. } => kind,
        }
    }

    /// The option's length on the wire, a multiple of 8.
    pub fn buffer_len(&self) -> usize {
        match *self {
            Self::SourceLinkLayerAddr(_) | Self::TargetLinkLayerAddr(_) | Self::Mtu(_) => 8,
            Self::PrefixInformation(_) => PREFIX_INFO_LEN,
            Self::RedirectedHeader(data) => {
                (REDIRECTED_HEADER_START + data.len()).next_multiple_of(8)
            }
            Self::Unknown { data, .. } => (2 + data.len()).next_multiple_of(8),
        }
    }

    /// Writes the option at the start of `buf` (at least [`buffer_len`](Self::buffer_len)
    /// bytes), zero-padded to a multiple of 8, and returns its length. Panics if the option is
    /// longer than 2,040 bytes (the most the length byte can describe; a caller bug).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        buf.fill(0);
        buf[0] = self.kind();
        buf[1] = u8::try_from(len / 8).expect("NDP option longer than 2040 bytes");
        match *self {
            Self::SourceLinkLayerAddr(addr) | Self::TargetLinkLayerAddr(addr) => {
                buf[2..8].copy_from_slice(&addr.0);
            }
            Self::PrefixInformation(p) => {
                buf[2] = p.prefix_len;
                buf[3] = (u8::from(p.on_link) << 7) | (u8::from(p.autonomous) << 6);
                put_be32(buf, 4, p.valid_lifetime);
                put_be32(buf, 8, p.preferred_lifetime);
                buf[16..32].copy_from_slice(&p.prefix.octets());
            }
            Self::RedirectedHeader(data) => {
                buf[REDIRECTED_HEADER_START..REDIRECTED_HEADER_START + data.len()]
                    .copy_from_slice(data);
            }
            Self::Mtu(mtu) => put_be32(buf, 4, mtu),
            Self::Unknown { data, .. } => buf[2..2 + data.len()].copy_from_slice(data),
        }
        len
    }
}

impl fmt::Display for NdpOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SourceLinkLayerAddr(a) => write!(f, "source lladdr {a}"),
            Self::TargetLinkLayerAddr(a) => write!(f, "target lladdr {a}"),
            Self::PrefixInformation(p) => {
                write!(
                    f,
                    "prefix {}/{} valid {} preferred {}",
                    p.prefix, p.prefix_len, p.valid_lifetime, p.preferred_lifetime
                )?;
                if p.on_link {
                    f.write_str(" L")?;
                }
                if p.autonomous {
                    f.write_str(" A")?;
                }
                Ok(())
            }
            Self::RedirectedHeader(d) => write!(f, "redirected header ({} bytes)", d.len()),
            Self::Mtu(m) => write!(f, "mtu {m}"),
            Self::Unknown { kind, data } => write!(f, "option {kind} ({} bytes)", data.len()),
        }
    }
}

/// The RFC's name of an option, for errors.
fn option_name(kind: u8) -> &'static str {
    match kind {
        ndp_option_type::SOURCE_LL_ADDR => "Source Link-Layer Address",
        ndp_option_type::TARGET_LL_ADDR => "Target Link-Layer Address",
        ndp_option_type::PREFIX_INFO => "Prefix Information",
        ndp_option_type::REDIRECTED_HEADER => "Redirected Header",
        ndp_option_type::MTU => "MTU",
        _ => "option",
    }
}

/// Checks a known option's fixed length (in units of 8 bytes).
fn expect_units(kind: u8, units: usize, expected: usize, text: &'static str) -> Result<()> {
    if units != expected {
        let field = match kind {
            ndp_option_type::SOURCE_LL_ADDR => "Source Link-Layer Address length",
            ndp_option_type::TARGET_LL_ADDR => "Target Link-Layer Address length",
            ndp_option_type::PREFIX_INFO => "Prefix Information length",
            _ => "MTU length",
        };
        return Err(Error::invalid(Proto::NdpOption, field, units as u32, text));
    }
    Ok(())
}

/// Decodes one option whose length (in bytes, `option.len()`) has been checked.
fn decode(kind: u8, option: &[u8]) -> Result<NdpOption<'_>> {
    let units = option.len() / 8;
    Ok(match kind {
        ndp_option_type::SOURCE_LL_ADDR => {
            expect_units(kind, units, 1, "1")?;
            NdpOption::SourceLinkLayerAddr(EthernetAddress::from_bytes(&option[2..8]))
        }
        ndp_option_type::TARGET_LL_ADDR => {
            expect_units(kind, units, 1, "1")?;
            NdpOption::TargetLinkLayerAddr(EthernetAddress::from_bytes(&option[2..8]))
        }
        ndp_option_type::PREFIX_INFO => {
            expect_units(kind, units, 4, "4")?;
            let prefix_len = option[2];
            if prefix_len > 128 {
                return Err(Error::above(
                    Proto::NdpOption,
                    "prefix length",
                    prefix_len.into(),
                    "maximum",
                    128,
                ));
            }
            let mut prefix = [0u8; 16];
            prefix.copy_from_slice(&option[16..32]);
            NdpOption::PrefixInformation(NdpPrefixInfo {
                prefix_len,
                on_link: option[3] & 0x80 != 0,
                autonomous: option[3] & 0x40 != 0,
                valid_lifetime: be32(option, 4),
                preferred_lifetime: be32(option, 8),
                prefix: Ipv6Addr::from(prefix),
            })
        }
        ndp_option_type::REDIRECTED_HEADER => {
            NdpOption::RedirectedHeader(&option[REDIRECTED_HEADER_START..])
        }
        ndp_option_type::MTU => {
            expect_units(kind, units, 1, "1")?;
            NdpOption::Mtu(be32(option, 4))
        }
        kind => NdpOption::Unknown {
            kind,
            data: &option[2..],
        },
    })
}

/// An iterator over NDP options (RFC 4861 §4.6). Yields an error and then stops on an option
/// with length 0 (which RFC 4861 §4.6 says MUST make the node discard the packet), longer than
/// the bytes left, or a known option with the wrong length.
#[derive(Debug, Clone)]
pub struct NdpOptions<'a> {
    data: &'a [u8],
}

impl<'a> NdpOptions<'a> {
    /// Iterates over `data`, the options area of an NDP message.
    #[inline]
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Stops the iteration with `error`.
    fn fail(&mut self, error: Error) -> Option<Result<NdpOption<'a>>> {
        self.data = &[];
        Some(Err(error))
    }
}

impl<'a> Iterator for NdpOptions<'a> {
    type Item = Result<NdpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (kind, units) = match self.data {
            [] => return None,
            [kind, units, ..] => (*kind, usize::from(*units)),
            [_] => return self.fail(Error::truncated(Proto::NdpOption, "option", 2, 1)),
        };
        if units == 0 {
            return self.fail(Error::below(Proto::NdpOption, "length", 0, "minimum", 1));
        }
        let len = units * 8;
        let Some(option) = self.data.get(..len) else {
            let have = self.data.len();
            return self.fail(Error::truncated(
                Proto::NdpOption,
                option_name(kind),
                len,
                have,
            ));
        };
        self.data = &self.data[len..];
        match decode(kind, option) {
            Ok(option) => Some(Ok(option)),
            Err(e) => self.fail(e),
        }
    }
}
