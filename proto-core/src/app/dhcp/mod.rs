//! DHCPv4 messages (RFC 2131 §2, options of RFC 2132), the client (RFC 2131 §4.4 with the
//! RFC 5227 address probe) and the server (RFC 2131 §4.3).
//!
//! ```text
//! op(1) htype(1) hlen(1) hops(1) xid(4) secs(2) flags(2) ciaddr(4) yiaddr(4) siaddr(4)
//! giaddr(4) chaddr(16) sname(64) file(128) magic cookie(4) = 240 bytes, then options
//! option: code(1) len(1) data(len); 0 = pad, 255 = end (RFC 2132 §2)
//! ```
//!
//! [`DhcpPacket`] is the zero-copy view and [`DhcpOptions`] iterates the options of one area;
//! [`DhcpRepr`] is the validated message with the options this crate uses, read from the
//! options field and, when option 52 (overload) says so, from `file` then `sname`
//! (RFC 2131 §4.1). When an option appears twice the first is kept (RFC 3396 concatenation
//! of long options is not done: none of the options used here is longer than 255 bytes).

mod client;
mod server;

use core::fmt;
use core::net::Ipv4Addr;

pub use client::{
    ArpProbe, ClientConfig, ClientState, DhcpClient, Event, Lease, SmallBytes, Transmit,
};
pub use server::{Binding, BindingState, DhcpServer, Reply, Reservation, ServerConfig};

use crate::wire::{Error, EthernetAddress, Proto, Result, be16, be32, put_be16, put_be32};

/// The UDP port of servers (RFC 2131 §4.1).
pub const SERVER_PORT: u16 = 67;
/// The UDP port of clients.
pub const CLIENT_PORT: u16 = 68;
/// The magic cookie before the options (RFC 2131 §3).
pub const MAGIC_COOKIE: u32 = 0x6382_5363;
/// The fixed part, magic cookie included.
pub const HEADER_LEN: usize = 240;
/// The shortest message emitted: BOOTP's 300 bytes (RFC 1542 §2.1), which some relays and
/// servers still require.
pub const MIN_MESSAGE_LEN: usize = 300;
/// The most DNS or NTP server addresses kept from one option.
pub const MAX_ADDRS: usize = 4;

/// Option codes (RFC 2132).
pub mod opt {
    /// Padding (§3.1).
    pub const PAD: u8 = 0;
    /// Subnet mask (§3.3).
    pub const SUBNET_MASK: u8 = 1;
    /// Routers (§3.5).
    pub const ROUTER: u8 = 3;
    /// DNS servers (§3.8).
    pub const DNS_SERVERS: u8 = 6;
    /// Host name (§3.14).
    pub const HOSTNAME: u8 = 12;
    /// Domain name (§3.17).
    pub const DOMAIN_NAME: u8 = 15;
    /// NTP servers (§8.3).
    pub const NTP_SERVERS: u8 = 42;
    /// Requested IP address (§9.1).
    pub const REQUESTED_IP: u8 = 50;
    /// IP address lease time (§9.2).
    pub const LEASE_TIME: u8 = 51;
    /// Option overload (§9.3).
    pub const OVERLOAD: u8 = 52;
    /// DHCP message type (§9.6).
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier (§9.7).
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list (§9.8).
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// Message (§9.9).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP message size (§9.10).
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    /// Renewal (T1) time (§9.11).
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding (T2) time (§9.12).
    pub const REBINDING_TIME: u8 = 59;
    /// Client identifier (§9.14).
    pub const CLIENT_ID: u8 = 61;
    /// End (§3.2).
    pub const END: u8 = 255;
}

/// The DHCP message type (RFC 2132 §9.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Client broadcast to locate servers (1).
    Discover,
    /// Server offer of parameters (2).
    Offer,
    /// Client request of offered parameters, or confirmation/extension of a lease (3).
    Request,
    /// Client: the address is already in use (4).
    Decline,
    /// Server: parameters committed (5).
    Ack,
    /// Server: the client's notion of its address is wrong or its lease expired (6).
    Nak,
    /// Client relinquishes its address (7).
    Release,
    /// Client asks for local configuration only (8).
    Inform,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Discover,
            2 => Self::Offer,
            3 => Self::Request,
            4 => Self::Decline,
            5 => Self::Ack,
            6 => Self::Nak,
            7 => Self::Release,
            8 => Self::Inform,
            other => Self::Unknown(other),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        match t {
            MessageType::Discover => 1,
            MessageType::Offer => 2,
            MessageType::Request => 3,
            MessageType::Decline => 4,
            MessageType::Ack => 5,
            MessageType::Nak => 6,
            MessageType::Release => 7,
            MessageType::Inform => 8,
            MessageType::Unknown(n) => n,
        }
    }
}

impl MessageType {
    /// True for the types a server sends (op BOOTREPLY).
    pub fn is_reply(self) -> bool {
        matches!(self, Self::Offer | Self::Ack | Self::Nak)
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Discover => f.write_str("DHCPDISCOVER"),
            Self::Offer => f.write_str("DHCPOFFER"),
            Self::Request => f.write_str("DHCPREQUEST"),
            Self::Decline => f.write_str("DHCPDECLINE"),
            Self::Ack => f.write_str("DHCPACK"),
            Self::Nak => f.write_str("DHCPNAK"),
            Self::Release => f.write_str("DHCPRELEASE"),
            Self::Inform => f.write_str("DHCPINFORM"),
            Self::Unknown(n) => write!(f, "DHCP type {n}"),
        }
    }
}

mod field {
    use crate::wire::Field;
    pub const OP: usize = 0;
    pub const HTYPE: usize = 1;
    pub const HLEN: usize = 2;
    pub const HOPS: usize = 3;
    pub const XID: Field = 4..8;
    pub const SECS: Field = 8..10;
    pub const FLAGS: Field = 10..12;
    pub const CIADDR: Field = 12..16;
    pub const YIADDR: Field = 16..20;
    pub const SIADDR: Field = 20..24;
    pub const GIADDR: Field = 24..28;
    pub const CHADDR: Field = 28..44;
    pub const SNAME: Field = 44..108;
    pub const FILE: Field = 108..236;
    pub const MAGIC: Field = 236..240;
}

/// BOOTREQUEST (op 1).
pub const OP_REQUEST: u8 = 1;
/// BOOTREPLY (op 2).
pub const OP_REPLY: u8 = 2;
/// The broadcast bit of `flags` (RFC 2131 §2, figure 2).
const FLAG_BROADCAST: u16 = 0x8000;

/// A read/write view of a DHCP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn ip_at(buf: &[u8], r: core::ops::Range<usize>) -> Ipv4Addr {
    Ipv4Addr::from(be32(buf, r.start))
}

impl<T: AsRef<[u8]>> DhcpPacket<T> {
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

    /// Checks that the buffer holds the 240-byte fixed part and that it ends with the magic
    /// cookie. After `Ok`, no accessor panics.
    pub fn check_len(&self) -> Result<()> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(
                Proto::Dhcp,
                "header",
                HEADER_LEN,
                buf.len(),
            ));
        }
        let cookie = be32(buf, field::MAGIC.start);
        if cookie != MAGIC_COOKIE {
            return Err(Error::invalid(
                Proto::Dhcp,
                "magic cookie",
                cookie,
                "0x63825363",
            ));
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// `op`: 1 = BOOTREQUEST, 2 = BOOTREPLY.
    pub fn op(&self) -> u8 {
        self.buffer.as_ref()[field::OP]
    }

    /// Hardware address type (1 = Ethernet).
    pub fn htype(&self) -> u8 {
        self.buffer.as_ref()[field::HTYPE]
    }

    /// Hardware address length.
    pub fn hlen(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Relay hops.
    pub fn hops(&self) -> u8 {
        self.buffer.as_ref()[field::HOPS]
    }

    /// Transaction ID.
    pub fn xid(&self) -> u32 {
        be32(self.buffer.as_ref(), field::XID.start)
    }

    /// Seconds since the client began acquisition or renewal.
    pub fn secs(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SECS.start)
    }

    /// Flags (only the broadcast bit is defined).
    pub fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS.start)
    }

    /// The client's address, when it has one.
    pub fn ciaddr(&self) -> Ipv4Addr {
        ip_at(self.buffer.as_ref(), field::CIADDR)
    }

    /// "Your" address: the one offered or assigned.
    pub fn yiaddr(&self) -> Ipv4Addr {
        ip_at(self.buffer.as_ref(), field::YIADDR)
    }

    /// The next server to use in bootstrap.
    pub fn siaddr(&self) -> Ipv4Addr {
        ip_at(self.buffer.as_ref(), field::SIADDR)
    }

    /// The relay agent's address.
    pub fn giaddr(&self) -> Ipv4Addr {
        ip_at(self.buffer.as_ref(), field::GIADDR)
    }

    /// The 16-byte client hardware address field.
    pub fn chaddr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::CHADDR]
    }

    /// The server host name field (64 bytes; options when overloaded).
    pub fn sname(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SNAME]
    }

    /// The boot file name field (128 bytes; options when overloaded).
    pub fn file(&self) -> &[u8] {
        &self.buffer.as_ref()[field::FILE]
    }

    /// The options field (after the magic cookie).
    pub fn options(&self) -> DhcpOptions<'_> {
        DhcpOptions::new(&self.buffer.as_ref()[HEADER_LEN..])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> DhcpPacket<T> {
    /// Sets `op`.
    pub fn set_op(&mut self, op: u8) {
        self.buffer.as_mut()[field::OP] = op;
    }

    /// Sets the transaction ID.
    pub fn set_xid(&mut self, xid: u32) {
        put_be32(self.buffer.as_mut(), field::XID.start, xid);
    }

    /// Sets `secs`.
    pub fn set_secs(&mut self, secs: u16) {
        put_be16(self.buffer.as_mut(), field::SECS.start, secs);
    }

    /// Sets `flags`.
    pub fn set_flags(&mut self, flags: u16) {
        put_be16(self.buffer.as_mut(), field::FLAGS.start, flags);
    }

    /// Sets `yiaddr`.
    pub fn set_yiaddr(&mut self, addr: Ipv4Addr) {
        put_be32(self.buffer.as_mut(), field::YIADDR.start, addr.to_bits());
    }
}

/// One option: its code and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpOption<'a> {
    /// The code (RFC 2132).
    pub code: u8,
    /// The data (at most 255 bytes).
    pub data: &'a [u8],
}

/// The options of one area (the options field, `file` or `sname`): pads skipped, stops at the
/// end option or the area's end; a truncated option is an error, then the iterator ends.
#[derive(Debug, Clone)]
pub struct DhcpOptions<'a> {
    area: &'a [u8],
    at: usize,
}

impl<'a> DhcpOptions<'a> {
    /// Iterates the options of `area`.
    pub fn new(area: &'a [u8]) -> Self {
        Self { area, at: 0 }
    }
}

impl<'a> Iterator for DhcpOptions<'a> {
    type Item = Result<DhcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let code = *self.area.get(self.at)?;
            match code {
                opt::PAD => self.at += 1,
                opt::END => {
                    self.at = self.area.len();
                    return None;
                }
                _ => {
                    let start = self.at + 2;
                    let Some(&len) = self.area.get(self.at + 1) else {
                        let (need, have) = (self.at + 2, self.area.len());
                        self.at = self.area.len();
                        return Some(Err(Error::truncated(
                            Proto::Dhcp,
                            "option length",
                            need,
                            have,
                        )));
                    };
                    let end = start + usize::from(len);
                    let Some(data) = self.area.get(start..end) else {
                        let have = self.area.len();
                        self.at = have;
                        return Some(Err(Error::truncated(Proto::Dhcp, "option", end, have)));
                    };
                    self.at = end;
                    return Some(Ok(DhcpOption { code, data }));
                }
            }
        }
    }
}

/// Up to [`MAX_ADDRS`] IPv4 addresses from a list option; further ones are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrList {
    addrs: [Option<Ipv4Addr>; MAX_ADDRS],
}

impl AddrList {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            addrs: [None; MAX_ADDRS],
        }
    }

    /// A list of the first [`MAX_ADDRS`] of `addrs`.
    pub fn from_slice(addrs: &[Ipv4Addr]) -> Self {
        let mut l = Self::new();
        for &a in addrs {
            l.push(a);
        }
        l
    }

    /// Appends `addr` unless the list is full; returns whether it was kept.
    pub fn push(&mut self, addr: Ipv4Addr) -> bool {
        match self.addrs.iter_mut().find(|a| a.is_none()) {
            Some(slot) => {
                *slot = Some(addr);
                true
            }
            None => false,
        }
    }

    /// The addresses, in option order.
    pub fn iter(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.addrs.iter().map_while(|a| *a)
    }

    /// The number of addresses.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.addrs[0].is_none()
    }

    /// The first address.
    pub fn first(&self) -> Option<Ipv4Addr> {
        self.addrs[0]
    }
}

/// A validated DHCP message with the options this crate uses (see the module doc for what is
/// read where). Strings (host name, domain name, message) are the option's bytes, not
/// checked for UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpRepr<'a> {
    /// The message type (option 53; required).
    pub message_type: MessageType,
    /// Transaction ID.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// The broadcast flag: the client cannot receive unicast before it is configured.
    pub broadcast: bool,
    /// Relay hops.
    pub hops: u8,
    /// Client address (in BOUND, RENEWING, REBINDING; and INFORM).
    pub ciaddr: Ipv4Addr,
    /// "Your" address.
    pub yiaddr: Ipv4Addr,
    /// Next server address.
    pub siaddr: Ipv4Addr,
    /// Relay agent address.
    pub giaddr: Ipv4Addr,
    /// The client's MAC address (`htype` 1, `hlen` 6).
    pub client_hw_addr: EthernetAddress,
    /// Option 1.
    pub subnet_mask: Option<Ipv4Addr>,
    /// Option 3 (the first router).
    pub router: Option<Ipv4Addr>,
    /// Option 6.
    pub dns_servers: AddrList,
    /// Option 42.
    pub ntp_servers: AddrList,
    /// Option 15.
    pub domain_name: Option<&'a [u8]>,
    /// Option 12.
    pub hostname: Option<&'a [u8]>,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 51, seconds (`0xffffffff` = infinite).
    pub lease_time: Option<u32>,
    /// Option 58 (T1), seconds.
    pub renewal_time: Option<u32>,
    /// Option 59 (T2), seconds.
    pub rebinding_time: Option<u32>,
    /// Option 55: the option codes the client asks for.
    pub parameter_request_list: Option<&'a [u8]>,
    /// Option 61: type byte then identifier (RFC 2132 §9.14, RFC 4361).
    pub client_id: Option<&'a [u8]>,
    /// Option 56: an error message (NAK) or reason (DECLINE).
    pub message: Option<&'a [u8]>,
    /// Option 57.
    pub max_message_size: Option<u16>,
}

impl<'a> DhcpRepr<'a> {
    /// A message of `message_type` from `client_hw_addr` with every other field empty.
    pub fn new(message_type: MessageType, xid: u32, client_hw_addr: EthernetAddress) -> Self {
        Self {
            message_type,
            xid,
            secs: 0,
            broadcast: false,
            hops: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            client_hw_addr,
            subnet_mask: None,
            router: None,
            dns_servers: AddrList::new(),
            ntp_servers: AddrList::new(),
            domain_name: None,
            hostname: None,
            requested_ip: None,
            server_id: None,
            lease_time: None,
            renewal_time: None,
            rebinding_time: None,
            parameter_request_list: None,
            client_id: None,
            message: None,
            max_message_size: None,
        }
    }

    /// Parses a checked message.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &DhcpPacket<&'a T>) -> Result<Self> {
        packet.check_len()?;
        let inner: &'a T = packet.buffer;
        let buf: &'a [u8] = inner.as_ref();
        let (htype, hlen) = (buf[field::HTYPE], buf[field::HLEN]);
        if htype != 1 {
            return Err(Error::invalid(
                Proto::Dhcp,
                "hardware type",
                htype.into(),
                "1 (Ethernet)",
            ));
        }
        if hlen != 6 {
            return Err(Error::invalid(
                Proto::Dhcp,
                "hardware address length",
                hlen.into(),
                "6",
            ));
        }
        let mut repr = Self::new(
            MessageType::Unknown(0),
            packet.xid(),
            EthernetAddress::from_bytes(&buf[field::CHADDR]),
        );
        repr.secs = packet.secs();
        repr.broadcast = packet.flags() & FLAG_BROADCAST != 0;
        repr.hops = packet.hops();
        repr.ciaddr = packet.ciaddr();
        repr.yiaddr = packet.yiaddr();
        repr.siaddr = packet.siaddr();
        repr.giaddr = packet.giaddr();
        let mut seen = [0u64; 4];
        let mut overload = 0u8;
        repr.read_area(&buf[HEADER_LEN..], &mut seen, &mut overload)?;
        // RFC 2131 §4.1: the options field, then `file`, then `sname` when overloaded.
        if overload & 1 != 0 {
            repr.read_area(&buf[field::FILE], &mut seen, &mut 0)?;
        }
        if overload & 2 != 0 {
            repr.read_area(&buf[field::SNAME], &mut seen, &mut 0)?;
        }
        if repr.message_type == MessageType::Unknown(0) {
            return Err(Error::invalid(
                Proto::Dhcp,
                "message type",
                0,
                "an option 53 from 1 to 8",
            ));
        }
        Ok(repr)
    }

    /// Checks and parses `bytes` (a UDP payload).
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Self> {
        Self::parse(&DhcpPacket::new_checked(bytes)?)
    }

    fn read_area(&mut self, area: &'a [u8], seen: &mut [u64; 4], overload: &mut u8) -> Result<()> {
        for option in DhcpOptions::new(area) {
            let DhcpOption { code, data } = option?;
            let (word, bit) = (usize::from(code / 64), 1u64 << (code % 64));
            if seen[word] & bit != 0 {
                continue;
            }
            seen[word] |= bit;
            self.read_option(code, data, overload)?;
        }
        Ok(())
    }

    /// Reads one option into its field; unknown options are ignored.
    fn read_option(&mut self, code: u8, data: &'a [u8], overload: &mut u8) -> Result<()> {
        match code {
            opt::SUBNET_MASK => self.subnet_mask = Some(addr(code, data)?),
            opt::ROUTER => {
                self.router = Some(addrs(code, data)?.first().unwrap_or(Ipv4Addr::UNSPECIFIED))
            }
            opt::DNS_SERVERS => self.dns_servers = addrs(code, data)?,
            opt::NTP_SERVERS => self.ntp_servers = addrs(code, data)?,
            opt::HOSTNAME => self.hostname = Some(non_empty(code, data)?),
            opt::DOMAIN_NAME => self.domain_name = Some(non_empty(code, data)?),
            opt::REQUESTED_IP => self.requested_ip = Some(addr(code, data)?),
            opt::SERVER_ID => self.server_id = Some(addr(code, data)?),
            opt::LEASE_TIME => self.lease_time = Some(u32_opt(code, data)?),
            opt::RENEWAL_TIME => self.renewal_time = Some(u32_opt(code, data)?),
            opt::REBINDING_TIME => self.rebinding_time = Some(u32_opt(code, data)?),
            opt::PARAMETER_REQUEST_LIST => {
                self.parameter_request_list = Some(non_empty(code, data)?)
            }
            opt::MESSAGE => self.message = Some(non_empty(code, data)?),
            opt::CLIENT_ID => {
                if data.len() < 2 {
                    return Err(bad_len(code, data.len(), "at least 2"));
                }
                self.client_id = Some(data);
            }
            opt::MAX_MESSAGE_SIZE => {
                let [hi, lo] = data else {
                    return Err(bad_len(code, data.len(), "2"));
                };
                let size = u16::from_be_bytes([*hi, *lo]);
                if size < 576 {
                    return Err(Error::below(
                        Proto::Dhcp,
                        "maximum message size",
                        size.into(),
                        "minimum",
                        576,
                    ));
                }
                self.max_message_size = Some(size);
            }
            opt::MESSAGE_TYPE => {
                let [t] = data else {
                    return Err(bad_len(code, data.len(), "1"));
                };
                self.message_type = MessageType::from(*t);
                if matches!(self.message_type, MessageType::Unknown(_)) {
                    return Err(Error::invalid(
                        Proto::Dhcp,
                        "message type",
                        (*t).into(),
                        "1 to 8",
                    ));
                }
            }
            opt::OVERLOAD => {
                let [v] = data else {
                    return Err(bad_len(code, data.len(), "1"));
                };
                if !(1..=3).contains(v) {
                    return Err(Error::invalid(
                        Proto::Dhcp,
                        "option overload",
                        (*v).into(),
                        "1, 2 or 3",
                    ));
                }
                *overload = *v;
            }
            _ => {}
        }
        Ok(())
    }

    /// The length [`emit`](Self::emit) writes: the fixed part, the options, the end option,
    /// padded to [`MIN_MESSAGE_LEN`].
    pub fn buffer_len(&self) -> usize {
        let mut len = HEADER_LEN + 3 + 1; // message type, end
        self.for_each_option(&mut |_, data| len += 2 + data.len());
        len.max(MIN_MESSAGE_LEN)
    }

    /// Calls `f` with each option to emit, in order. Byte strings longer than 255 bytes are
    /// cut to 255.
    fn for_each_option(&self, f: &mut dyn FnMut(u8, &[u8])) {
        let v4 = |code: u8, a: Option<Ipv4Addr>, f: &mut dyn FnMut(u8, &[u8])| {
            if let Some(a) = a {
                f(code, &a.octets());
            }
        };
        v4(opt::SERVER_ID, self.server_id, f);
        v4(opt::REQUESTED_IP, self.requested_ip, f);
        for (code, v) in [
            (opt::LEASE_TIME, self.lease_time),
            (opt::RENEWAL_TIME, self.renewal_time),
            (opt::REBINDING_TIME, self.rebinding_time),
        ] {
            if let Some(v) = v {
                f(code, &v.to_be_bytes());
            }
        }
        v4(opt::SUBNET_MASK, self.subnet_mask, f);
        v4(opt::ROUTER, self.router, f);
        for (code, list) in [
            (opt::DNS_SERVERS, &self.dns_servers),
            (opt::NTP_SERVERS, &self.ntp_servers),
        ] {
            if !list.is_empty() {
                let mut bytes = [0u8; 4 * MAX_ADDRS];
                for (i, a) in list.iter().enumerate() {
                    bytes[4 * i..4 * i + 4].copy_from_slice(&a.octets());
                }
                f(code, &bytes[..4 * list.len()]);
            }
        }
        for (code, s) in [
            (opt::DOMAIN_NAME, self.domain_name),
            (opt::HOSTNAME, self.hostname),
            (opt::CLIENT_ID, self.client_id),
            (opt::PARAMETER_REQUEST_LIST, self.parameter_request_list),
            (opt::MESSAGE, self.message),
        ] {
            if let Some(s) = s {
                f(code, &s[..s.len().min(255)]);
            }
        }
        if let Some(size) = self.max_message_size {
            f(opt::MAX_MESSAGE_SIZE, &size.to_be_bytes());
        }
    }

    /// Writes the message into `buf`, which must hold [`buffer_len`](Self::buffer_len) bytes;
    /// returns that length. `op` follows from the message type.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        buf.fill(0);
        buf[field::OP] = if self.message_type.is_reply() {
            OP_REPLY
        } else {
            OP_REQUEST
        };
        buf[field::HTYPE] = 1;
        buf[field::HLEN] = 6;
        buf[field::HOPS] = self.hops;
        put_be32(buf, field::XID.start, self.xid);
        put_be16(buf, field::SECS.start, self.secs);
        put_be16(
            buf,
            field::FLAGS.start,
            if self.broadcast { FLAG_BROADCAST } else { 0 },
        );
        for (r, a) in [
            (field::CIADDR, self.ciaddr),
            (field::YIADDR, self.yiaddr),
            (field::SIADDR, self.siaddr),
            (field::GIADDR, self.giaddr),
        ] {
            buf[r].copy_from_slice(&a.octets());
        }
        buf[field::CHADDR.start..field::CHADDR.start + 6].copy_from_slice(&self.client_hw_addr.0);
        put_be32(buf, field::MAGIC.start, MAGIC_COOKIE);
        buf[HEADER_LEN..HEADER_LEN + 3].copy_from_slice(&[
            opt::MESSAGE_TYPE,
            1,
            self.message_type.into(),
        ]);
        let mut at = HEADER_LEN + 3;
        self.for_each_option(&mut |code, data| {
            buf[at] = code;
            buf[at + 1] = data.len() as u8;
            buf[at + 2..at + 2 + data.len()].copy_from_slice(data);
            at += 2 + data.len();
        });
        buf[at] = opt::END;
        len
    }
}

impl fmt::Display for DhcpRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} xid {:#010x} chaddr {}",
            self.message_type, self.xid, self.client_hw_addr
        )?;
        if !self.yiaddr.is_unspecified() {
            write!(f, " yiaddr {}", self.yiaddr)?;
        }
        if !self.ciaddr.is_unspecified() {
            write!(f, " ciaddr {}", self.ciaddr)?;
        }
        if let Some(s) = self.server_id {
            write!(f, " server {s}")?;
        }
        if let Some(r) = self.requested_ip {
            write!(f, " requested {r}")?;
        }
        if let Some(l) = self.lease_time {
            write!(f, " lease {l}s")?;
        }
        Ok(())
    }
}

fn bad_len(code: u8, len: usize, expected: &'static str) -> Error {
    Error::invalid(Proto::Dhcp, option_name(code), len as u32, expected)
}

/// The field name of an option's length in errors.
fn option_name(code: u8) -> &'static str {
    match code {
        opt::SUBNET_MASK => "subnet mask length",
        opt::ROUTER => "router option length",
        opt::DNS_SERVERS => "DNS servers option length",
        opt::NTP_SERVERS => "NTP servers option length",
        opt::HOSTNAME => "host name length",
        opt::DOMAIN_NAME => "domain name length",
        opt::REQUESTED_IP => "requested address length",
        opt::SERVER_ID => "server identifier length",
        opt::LEASE_TIME => "lease time length",
        opt::RENEWAL_TIME => "renewal time length",
        opt::REBINDING_TIME => "rebinding time length",
        opt::PARAMETER_REQUEST_LIST => "parameter request list length",
        opt::MESSAGE => "message length",
        opt::CLIENT_ID => "client identifier length",
        opt::MAX_MESSAGE_SIZE => "maximum message size length",
        opt::MESSAGE_TYPE => "message type length",
        opt::OVERLOAD => "option overload length",
        _ => "option length",
    }
}

fn addr(code: u8, data: &[u8]) -> Result<Ipv4Addr> {
    match data {
        [a, b, c, d] => Ok(Ipv4Addr::new(*a, *b, *c, *d)),
        _ => Err(bad_len(code, data.len(), "4")),
    }
}

fn addrs(code: u8, data: &[u8]) -> Result<AddrList> {
    if data.is_empty() || !data.len().is_multiple_of(4) {
        return Err(bad_len(code, data.len(), "a multiple of 4"));
    }
    let mut l = AddrList::new();
    for c in data.chunks_exact(4) {
        l.push(Ipv4Addr::new(c[0], c[1], c[2], c[3]));
    }
    Ok(l)
}

fn u32_opt(code: u8, data: &[u8]) -> Result<u32> {
    match data {
        [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(bad_len(code, data.len(), "4")),
    }
}

fn non_empty(code: u8, data: &[u8]) -> Result<&[u8]> {
    if data.is_empty() {
        return Err(bad_len(code, 0, "at least 1"));
    }
    Ok(data)
}

#[cfg(test)]
mod tests;
