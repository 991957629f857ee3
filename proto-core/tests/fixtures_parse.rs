//! proto-core's wire layer over the real captured fixtures (`tests/fixtures/*.pcap`),
//! cross-checked with tshark's dissection of the same frames (`NAME.fields.tsv`):
//!
//! 1. every frame parses with `Frame::parse` and every checksum in it verifies (and a flipped
//!    bit is caught);
//! 2. every tshark column we expose agrees, frame by frame, outer and ICMP-quoted headers;
//! 3. per-layer `Repr` round trips: parse, emit into a fresh buffer, get the captured bytes;
//! 4. IPv4 and IPv6 fragments: their fields, no transport, and a mini-reassembly whose ICMP
//!    checksum verifies;
//! 5. IPv6 extension-header chains, against the fixtures README and tshark;
//! 6. 802.1Q / 802.1ad tags.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::pcap::{fixture, fixtures_dir};
use proto_core::checksum;
use proto_core::wire::icmpv4::QuotedIpv4;
use proto_core::wire::{
    ArpOperation, ArpRepr, EtherType, EthernetRepr, Frame, Icmpv4Message, Icmpv4Packet, Icmpv4Repr,
    Icmpv6Message, Icmpv6Packet, Icmpv6Repr, IpAddrPair, IpProtocol, Ipv4Addr, Ipv4Option,
    Ipv4Options, Ipv4Packet, Ipv4Repr, Ipv6ExtHeader, Ipv6Packet, Ipv6Repr, NdpOption, Network,
    Proto, TcpOption, TcpOptions, TcpPacket, TcpRepr, Transport, UdpRepr, VlanTag,
};
use proto_core::wire::{ipv6::Ipv6Option, tcp::TcpControl};

// ------------------------------------------------------------------------------------ helpers

/// The `.pcap` fixtures, in name order.
fn fixture_names() -> Vec<String> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("fixtures dir {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".pcap"))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "expected 15 fixtures, found {names:?}");
    names
}

/// `Frame::parse`, failing with the fixture and frame number (1-based, as tshark counts).
fn parse<'a>(name: &str, number: usize, bytes: &'a [u8]) -> Frame<'a> {
    Frame::parse(bytes).unwrap_or_else(|e| panic!("{name} frame {number}: Frame::parse: {e}"))
}

/// Calls `check(name, number, bytes, frame)` for every frame of every fixture.
fn each_frame(mut check: impl FnMut(&str, usize, &[u8], &Frame<'_>)) {
    for name in fixture_names() {
        for (i, bytes) in fixture(&name).iter().enumerate() {
            let frame = parse(&name, i + 1, bytes);
            check(&name, i + 1, bytes, &frame);
        }
    }
}

/// The IP addresses of a frame's network layer (for pseudo-headers).
fn addrs_of(frame: &Frame<'_>, ctx: &str) -> IpAddrPair {
    frame
        .network
        .as_ref()
        .and_then(Network::addrs)
        .unwrap_or_else(|| panic!("{ctx}: no IP layer"))
}

/// The bytes of a transport view (exactly the segment / datagram / message).
fn transport_bytes<'a>(transport: &Transport<'a>) -> &'a [u8] {
    match *transport {
        Transport::Tcp(p) => p.into_inner(),
        Transport::Udp(p) => p.into_inner(),
        Transport::Icmpv4(p) => p.into_inner(),
        Transport::Icmpv6(p) => p.into_inner(),
    }
}

/// Where `inner` (a sub-slice of `outer`) starts in `outer`.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    let at = inner.as_ptr() as usize - outer.as_ptr() as usize;
    assert!(at + inner.len() <= outer.len(), "not a sub-slice");
    at
}

fn hex4(value: u16) -> String {
    format!("{value:#06x}")
}

// -------------------------------------------------------------------------------- TSV reader

/// One `NAME.fields.tsv`: a header line of tshark field names, then one line per frame.
struct Tsv {
    name: String,
    header: Vec<String>,
    columns: HashMap<String, usize>,
    rows: Vec<Vec<String>>,
}

impl Tsv {
    fn load(pcap: &str) -> Self {
        let name = pcap.replace(".pcap", ".fields.tsv");
        let path = fixtures_dir().join(&name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap_or_else(|| panic!("{name}: empty"))
            .split('\t')
            .map(str::to_owned)
            .collect();
        let columns = header
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        let rows = lines
            .enumerate()
            .map(|(i, line)| {
                let row: Vec<String> = line.split('\t').map(str::to_owned).collect();
                assert_eq!(
                    row.len(),
                    header.len(),
                    "{name} line {}: field count vs header",
                    i + 2
                );
                row
            })
            .collect();
        Self {
            name,
            header,
            columns,
            rows,
        }
    }

    /// The field `column` of frame `number` (1-based), as tshark wrote it.
    fn get(&self, number: usize, column: &str) -> &str {
        let col = *self.columns.get(column).unwrap_or_else(|| {
            panic!(
                "{}: no column {column}: regenerate the tables with the command in \
                 tests/fixtures/README.md",
                self.name
            )
        });
        let row = self
            .rows
            .get(number - 1)
            .unwrap_or_else(|| panic!("{}: no line for frame {number}", self.name));
        &row[col]
    }

    /// The comma-separated occurrences of `column` in frame `number` (none when empty).
    fn values(&self, number: usize, column: &str) -> Vec<&str> {
        let field = self.get(number, column);
        if field.is_empty() {
            Vec::new()
        } else {
            field.split(',').collect()
        }
    }

    /// A single numeric occurrence (decimal or `0x` hex), failing with file, frame and column.
    fn num(&self, number: usize, column: &str) -> u64 {
        let field = self.get(number, column);
        let parsed = match field.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => field.parse(),
        };
        parsed.unwrap_or_else(|e| {
            panic!(
                "{} frame {number}: {column} {field:?} is not one number: {e}",
                self.name
            )
        })
    }
}

// ------------------------------------------------------------------ our view, as tshark fields

/// Our values of tshark fields for one frame: column name -> occurrences in dissection order.
#[derive(Default)]
struct Fields(BTreeMap<&'static str, Vec<String>>);

impl Fields {
    fn push(&mut self, column: &'static str, value: impl ToString) {
        self.0.entry(column).or_default().push(value.to_string());
    }

    /// tshark's `-T fields` rendering: occurrences joined with commas.
    fn joined(&self, column: &str) -> String {
        self.0.get(column).map(|v| v.join(",")).unwrap_or_default()
    }
}

/// The IPv4 header fields tshark shows, from a packet or from an ICMP-quoted header.
struct Ip4 {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    total_len: u16,
    more_frags: bool,
    frag_offset: u16,
    ident: u16,
}

impl Ip4 {
    fn of_packet(ip: &Ipv4Packet<&[u8]>) -> Self {
        Self {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            protocol: ip.protocol(),
            total_len: ip.total_len(),
            more_frags: ip.more_frags(),
            frag_offset: ip.frag_offset(),
            ident: ip.ident(),
        }
    }

    fn of_quote(q: &QuotedIpv4<'_>) -> Self {
        Self {
            src: q.src_addr,
            dst: q.dst_addr,
            protocol: q.protocol,
            total_len: q.total_len,
            more_frags: q.more_frags,
            frag_offset: q.frag_offset,
            ident: q.ident,
        }
    }

    fn push(&self, f: &mut Fields) {
        f.push("ip.src", self.src);
        f.push("ip.dst", self.dst);
        f.push("ip.proto", u8::from(self.protocol));
        f.push("ip.len", self.total_len);
        f.push("ip.flags.mf", u8::from(self.more_frags));
        // tshark counts the offset in 8-octet units; we expose bytes.
        f.push("ip.frag_offset", self.frag_offset / 8);
        f.push("ip.id", hex4(self.ident));
    }
}

/// The initial sequence number of each TCP direction, keyed by (addresses, source port,
/// destination port) of the SYN's sender: tshark shows SACK edges relative to it.
type Isns = HashMap<(IpAddrPair, u16, u16), u32>;

fn syn_sequence_numbers(frames: &[Frame<'_>]) -> Isns {
    let mut isns = Isns::new();
    for frame in frames {
        if let (Some(Transport::Tcp(tcp)), Some(addrs)) = (
            frame.transport,
            frame.network.as_ref().and_then(Network::addrs),
        ) && tcp.syn()
        {
            isns.insert((addrs, tcp.src_port(), tcp.dst_port()), tcp.seq_number().0);
        }
    }
    isns
}

fn reversed(addrs: IpAddrPair) -> IpAddrPair {
    match addrs {
        IpAddrPair::V4 { src, dst } => IpAddrPair::V4 { src: dst, dst: src },
        IpAddrPair::V6 { src, dst } => IpAddrPair::V6 { src: dst, dst: src },
    }
}

/// For the first fragment of a datagram, which `Frame` deliberately leaves without a transport
/// (its checksum covers the whole datagram): a view of the transport header at the start of
/// the fragment's data, as tshark (reassembly off) dissects it. ICMP only (all our fragments).
fn first_fragment_transport<'a>(frame: &Frame<'a>) -> Option<Transport<'a>> {
    let protocol = match frame.network? {
        Network::Ipv4(ip) if ip.is_fragment() && ip.frag_offset() == 0 => ip.protocol(),
        Network::Ipv6 { upper, .. } if upper.fragment.is_some_and(|f| f.offset == 0) => {
            upper.protocol
        }
        _ => return None,
    };
    match protocol {
        IpProtocol::Icmp => Icmpv4Packet::new_checked(frame.payload)
            .ok()
            .map(Transport::Icmpv4),
        IpProtocol::Icmpv6 => Icmpv6Packet::new_checked(frame.payload)
            .ok()
            .map(Transport::Icmpv6),
        _ => None,
    }
}

/// Everything we expose of `frame`, in tshark's field names and formats.
fn our_fields(frame: &Frame<'_>, isns: &Isns) -> Fields {
    let mut f = Fields::default();
    let eth = frame.ethernet;
    let type_after = |i: usize| eth.vlan_tag(i).map_or(eth.ethertype(), |t| t.tpid);
    // tshark's eth.type is the outermost type: the first TPID of a tagged frame.
    f.push("eth.type", hex4(type_after(0).into()));
    for i in 0..eth.vlan_count() {
        let tag = eth.vlan_tag(i).unwrap();
        match tag.tpid {
            EtherType::Vlan => {
                f.push("vlan.id", tag.vid);
                f.push("vlan.priority", tag.pcp);
                f.push("vlan.dei", u8::from(tag.dei));
                // The type after this tag: the next TPID, or the EtherType after all tags.
                f.push("vlan.etype", hex4(type_after(i + 1).into()));
            }
            EtherType::ServiceVlan => {
                f.push("ieee8021ad.id", tag.vid);
                f.push("ieee8021ad.priority", tag.pcp);
                f.push("ieee8021ad.dei", u8::from(tag.dei));
            }
            other => f.push("unexpected TPID", other),
        }
    }
    match frame.network {
        Some(Network::Arp(arp)) => f.push("arp.opcode", u16::from(arp.operation())),
        Some(Network::Ipv4(ip)) => Ip4::of_packet(&ip).push(&mut f),
        Some(Network::Ipv6 { packet, .. }) => push_ipv6(&mut f, &packet),
        None => {}
    }
    match frame.transport.or_else(|| first_fragment_transport(frame)) {
        Some(Transport::Tcp(tcp)) => {
            f.push("tcp.srcport", tcp.src_port());
            f.push("tcp.dstport", tcp.dst_port());
            f.push("tcp.seq_raw", tcp.seq_number().0);
            f.push("tcp.ack_raw", tcp.ack_number().0);
            f.push("tcp.flags", hex4(tcp.flags().bits()));
            // The data a SACK acknowledges was sent the other way: relative to that ISN.
            let addrs = frame.network.as_ref().and_then(Network::addrs).unwrap();
            let peer_isn = isns
                .get(&(reversed(addrs), tcp.dst_port(), tcp.src_port()))
                .copied()
                .unwrap_or(0);
            for option in tcp.options_iter() {
                match option {
                    Ok(TcpOption::MaxSegmentSize(mss)) => f.push("tcp.options.mss_val", mss),
                    Ok(TcpOption::WindowScale(shift)) => {
                        f.push("tcp.options.wscale.shift", shift);
                    }
                    Ok(TcpOption::SackRange(blocks)) => {
                        for (left, _) in blocks.iter() {
                            f.push("tcp.options.sack_le", left.wrapping_sub(peer_isn));
                        }
                    }
                    Ok(_) => {}
                    Err(e) => f.push("bad TCP option", e),
                }
            }
        }
        Some(Transport::Udp(udp)) => {
            f.push("udp.srcport", udp.src_port());
            f.push("udp.dstport", udp.dst_port());
            f.push("udp.length", udp.len());
        }
        Some(Transport::Icmpv4(icmp)) => {
            f.push("icmp.type", u8::from(icmp.msg_type()));
            f.push("icmp.code", icmp.msg_code());
            if icmp.msg_type().is_error()
                && let Ok(quoted) = icmp.quoted_header()
            {
                push_quoted(&mut f, &quoted);
            }
        }
        Some(Transport::Icmpv6(icmp)) => {
            f.push("icmpv6.type", u8::from(icmp.msg_type()));
            f.push("icmpv6.code", icmp.msg_code());
            for option in icmp.ndp_options() {
                match option {
                    Ok(option) => f.push("icmpv6.opt.type", option.kind()),
                    Err(e) => f.push("bad NDP option", e),
                }
            }
        }
        None => {}
    }
    f
}

/// The IPv6 fixed header and the extension-header chain.
fn push_ipv6(f: &mut Fields, ip: &Ipv6Packet<&[u8]>) {
    f.push("ipv6.src", ip.src_addr());
    f.push("ipv6.dst", ip.dst_addr());
    f.push("ipv6.nxt", u8::from(ip.next_header()));
    for header in ip.ext_headers() {
        let header = match header {
            Ok(header) => header,
            Err(e) => {
                f.push("bad extension header", e);
                break;
            }
        };
        let next = u8::from(header.next_header);
        match header.kind {
            IpProtocol::HopByHop => f.push("ipv6.hopopts.nxt", next),
            IpProtocol::Ipv6Opts => f.push("ipv6.dstopts.nxt", next),
            IpProtocol::Ipv6Route => {
                let routing = header.routing().unwrap();
                f.push("ipv6.routing.nxt", next);
                f.push("ipv6.routing.type", routing.routing_type);
                f.push("ipv6.routing.segleft", routing.segments_left);
            }
            IpProtocol::Ipv6Frag => {
                let frag = header.fragment().unwrap();
                f.push("ipv6.fraghdr.nxt", next);
                f.push("ipv6.fraghdr.offset", frag.frag_offset() / 8);
                f.push("ipv6.fraghdr.more", u8::from(frag.more_frags()));
                f.push("ipv6.fraghdr.ident", format!("{:#010x}", frag.ident()));
            }
            other => f.push("unexpected extension header", other),
        }
        for option in header.options() {
            match option {
                Ok(option) => f.push("ipv6.opt.type", format!("{:#04x}", option.kind())),
                Err(e) => f.push("bad IPv6 option", e),
            }
        }
    }
}

/// The datagram quoted by an ICMPv4 error: tshark dissects its IPv4 header and the start of
/// its transport header, after the outer ones.
fn push_quoted(f: &mut Fields, quoted: &QuotedIpv4<'_>) {
    Ip4::of_quote(quoted).push(f);
    match (quoted.protocol, quoted.payload) {
        (IpProtocol::Udp, [_, _, _, _, l0, l1, ..]) => {
            let (src, dst) = quoted.ports().unwrap();
            f.push("udp.srcport", src);
            f.push("udp.dstport", dst);
            f.push("udp.length", u16::from_be_bytes([*l0, *l1]));
        }
        (IpProtocol::Icmp, [msg_type, code, ..]) => {
            f.push("icmp.type", msg_type);
            f.push("icmp.code", code);
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------ 1. parse + checksums

/// Every frame parses and `verify_checksums` passes. Frames without a transport are exactly
/// the ARP frames (no checksum at all) and the IP fragments: for those only the IPv4 header
/// checksum is checkable per frame, since the ICMP checksum covers the whole datagram (checked
/// after reassembly in `ipv4_fragments_reassemble` / `ipv6_fragments_reassemble`). Then one
/// flipped bit in each frame's transport (or IPv4 header) must be caught.
#[test]
fn every_frame_parses_and_its_checksums_verify() {
    let (mut with_transport, mut arp, mut fragments, mut corrupted) = (0, 0, 0, 0);
    each_frame(|name, n, bytes, frame| {
        let ctx = format!("{name} frame {n}");
        frame
            .verify_checksums()
            .unwrap_or_else(|e| panic!("{ctx}: verify_checksums: {e}"));
        match (frame.network, frame.transport) {
            (_, Some(_)) => with_transport += 1,
            (Some(Network::Arp(_)), None) => arp += 1,
            (Some(Network::Ipv4(ip)), None) if ip.is_fragment() => fragments += 1,
            (Some(Network::Ipv6 { upper, .. }), None) if upper.fragment.is_some() => {
                fragments += 1;
            }
            _ => panic!("{ctx}: no transport, yet neither ARP nor a fragment"),
        }
        // A flipped bit in the last byte of the transport must fail its checksum.
        if let Some(transport) = frame.transport {
            let segment = transport_bytes(&transport);
            let proto = match transport {
                Transport::Tcp(_) => Proto::Tcp,
                Transport::Udp(udp) => {
                    // Over IPv4 a zero UDP checksum means "none": Linux always sends one.
                    assert_ne!(udp.checksum(), 0, "{ctx}: UDP without checksum");
                    Proto::Udp
                }
                Transport::Icmpv4(_) => Proto::Icmpv4,
                Transport::Icmpv6(_) => Proto::Icmpv6,
            };
            let mut bad = bytes.to_vec();
            bad[offset_in(bytes, segment) + segment.len() - 1] ^= 0x01;
            let err = parse(name, n, &bad).verify_checksums().unwrap_err();
            assert_eq!(err.proto, proto, "{ctx}: flipped bit: {err}");
            corrupted += 1;
        }
        // A flipped TTL bit must fail the IPv4 header checksum.
        if let Some(Network::Ipv4(ip)) = frame.network {
            let mut bad = bytes.to_vec();
            bad[offset_in(bytes, ip.into_inner()) + 8] ^= 0x01;
            let err = parse(name, n, &bad).verify_checksums().unwrap_err();
            assert_eq!(err.proto, Proto::Ipv4, "{ctx}: flipped TTL bit: {err}");
            corrupted += 1;
        }
    });
    // 110 frames: 8 ARP (arp, vlan, qinq), 12 fragments (ipv4_fragments, ipv6_ext), 90 more.
    assert_eq!(
        (with_transport, arp, fragments),
        (90, 8, 12),
        "frames with transport / ARP / fragments"
    );
    assert!(corrupted >= 90, "{corrupted} corruptions checked");
}

// ------------------------------------------------------------------------ 2. fields vs tshark

/// Every column of every `NAME.fields.tsv` equals what we expose, for every frame: the
/// comparison is of the whole field, so repeated fields (an ICMP error's outer and quoted IP
/// headers, several SACK edges, IPv6 option types) must agree in number and order too, and
/// a column tshark leaves empty must be empty for us.
#[test]
fn every_exposed_field_agrees_with_tshark() {
    let mut mismatches = Vec::new();
    let (mut frames_checked, mut values_checked) = (0, 0);
    for name in fixture_names() {
        let raw = fixture(&name);
        let tsv = Tsv::load(&name);
        assert_eq!(tsv.rows.len(), raw.len(), "{}: lines vs frames", tsv.name);
        let frames: Vec<Frame<'_>> = raw
            .iter()
            .enumerate()
            .map(|(i, bytes)| parse(&name, i + 1, bytes))
            .collect();
        let isns = syn_sequence_numbers(&frames);
        for (i, frame) in frames.iter().enumerate() {
            let n = i + 1;
            assert_eq!(tsv.get(n, "frame.number"), n.to_string(), "{name}: order");
            let ours = our_fields(frame, &isns);
            for column in tsv.header.iter().skip(1) {
                let (mine, theirs) = (ours.joined(column), tsv.get(n, column));
                if mine != theirs {
                    mismatches.push(format!(
                        "{name} frame {n}: {column}: ours {mine:?}, tshark {theirs:?}"
                    ));
                } else if !theirs.is_empty() {
                    values_checked += 1;
                }
            }
            for column in ours.0.keys() {
                if !tsv.columns.contains_key(*column) {
                    mismatches.push(format!(
                        "{name} frame {n}: {column}: ours {:?}, not a tshark column",
                        ours.joined(column)
                    ));
                }
            }
            frames_checked += 1;
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches with tshark:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(frames_checked, 110);
    assert!(
        values_checked > 1000,
        "only {values_checked} values compared"
    );
}

// ------------------------------------------------------------------------- 3. Repr round trips

/// A buffer that is not zero, so bytes an emitter forgets to write show up.
fn fresh(len: usize) -> Vec<u8> {
    vec![0xa5; len]
}

/// `EthernetRepr`, `ArpRepr`, `Ipv4Repr` (with options through `emit_with_options`, both the
/// raw option bytes and options re-emitted from `Ipv4Option`s) and `Ipv6Repr`: parse, emit,
/// get the captured header bytes back.
#[test]
fn link_and_network_reprs_round_trip() {
    let (mut eth, mut arp, mut v4, mut v4_options, mut v6) = (0, 0, 0, 0, 0);
    each_frame(|name, n, bytes, frame| {
        let ctx = format!("{name} frame {n}");
        let repr = EthernetRepr::parse(&frame.ethernet).unwrap();
        let mut buf = fresh(repr.buffer_len());
        let len = repr.emit(&mut buf);
        assert_eq!(
            len,
            frame.ethernet.header_len(),
            "{ctx}: Ethernet header length"
        );
        assert_eq!(buf, bytes[..len], "{ctx}: EthernetRepr {repr}");
        eth += 1;
        match frame.network {
            Some(Network::Arp(packet)) => {
                let repr = ArpRepr::parse(&packet).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let mut buf = fresh(repr.buffer_len());
                let len = repr.emit(&mut buf);
                assert_eq!(buf, packet.into_inner()[..len], "{ctx}: ArpRepr {repr}");
                arp += 1;
            }
            Some(Network::Ipv4(ip)) => {
                let repr = Ipv4Repr::parse(&ip).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let header = &ip.into_inner()[..ip.header_len()];
                let mut buf = fresh(header.len());
                let len = if ip.options_slice().is_empty() {
                    repr.emit(&mut buf)
                } else {
                    repr.emit_with_options(&mut buf, ip.options_slice())
                        .unwrap_or_else(|e| panic!("{ctx}: emit_with_options: {e}"))
                };
                assert_eq!(len, header.len(), "{ctx}: IPv4 header length");
                assert_eq!(buf, header, "{ctx}: Ipv4Repr {repr}");
                if !ip.options_slice().is_empty() {
                    let mut options = Vec::new();
                    for option in ip.options_iter() {
                        let option = option.unwrap_or_else(|e| panic!("{ctx}: {e}"));
                        let mut b = fresh(option.buffer_len());
                        option.emit(&mut b);
                        options.extend(b);
                    }
                    let mut buf = fresh(repr.buffer_len_with_options(options.len()));
                    repr.emit_with_options(&mut buf, &options).unwrap();
                    assert_eq!(buf, header, "{ctx}: Ipv4Repr with re-emitted options");
                    v4_options += 1;
                }
                v4 += 1;
            }
            Some(Network::Ipv6 { packet, .. }) => {
                let repr = Ipv6Repr::parse(&packet).unwrap();
                let mut buf = fresh(repr.buffer_len());
                let len = repr.emit(&mut buf);
                assert_eq!(buf, packet.into_inner()[..len], "{ctx}: Ipv6Repr {repr}");
                v6 += 1;
            }
            None => panic!("{ctx}: no network layer"),
        }
    });
    assert_eq!((eth, arp, v4, v4_options, v6), (110, 8, 65, 3, 37));
}

/// The options of `ipv4_options.pcap`: Record Route on the request with the sender's address
/// in it (Linux's `ping -R` layout: NOP, then the 39-byte option), the route through router
/// fx-b and back on the reply (then EOL); Router Alert 0; none on the last reply.
#[test]
fn ipv4_options_fixture_holds_its_options() {
    let name = "ipv4_options.pcap";
    let frames = fixture(name);
    let options = |n: usize| -> Vec<Ipv4Option<'_>> {
        let Some(Network::Ipv4(ip)) = parse(name, n, &frames[n - 1]).network else {
            panic!("{name} frame {n}: not IPv4");
        };
        Ipv4Options::new(ip.options_slice())
            .map(Result::unwrap)
            .collect()
    };
    let route = |n: usize| -> Vec<String> {
        let options = options(n);
        let rr: Vec<_> = options
            .iter()
            .filter(|o| !matches!(o, Ipv4Option::NoOperation | Ipv4Option::EndOfList))
            .collect();
        let [Ipv4Option::RecordRoute { pointer, route }] = rr[..] else {
            panic!("{name} frame {n}: expected only Record Route and padding, got {options:?}");
        };
        assert_eq!(route.len(), 36, "{name} frame {n}: 9 route slots");
        let filled = usize::from(*pointer - 4) / 4;
        assert!(
            route[filled * 4..].iter().all(|b| *b == 0),
            "{name} frame {n}: slots after the pointer are empty"
        );
        route[..filled * 4]
            .chunks(4)
            .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
            .collect()
    };
    assert_eq!(options(1)[0], Ipv4Option::NoOperation, "{name} frame 1");
    assert_eq!(route(1), ["192.168.77.1"], "{name} frame 1: request");
    assert_eq!(
        route(2),
        [
            "192.168.77.1",
            "192.168.77.65",
            "192.168.77.66",
            "192.168.77.66",
            "192.168.77.2"
        ],
        "{name} frame 2: reply"
    );
    assert_eq!(
        options(2).last(),
        Some(&Ipv4Option::EndOfList),
        "{name} frame 2"
    );
    assert_eq!(options(3), [Ipv4Option::RouterAlert(0)], "{name} frame 3");
    assert_eq!(options(4), [], "{name} frame 4");
}

/// The option kinds of a TCP options area, NOPs and EOL included (the layout).
fn option_kinds(options: &[u8]) -> Vec<u8> {
    TcpOptions::new(options)
        .map(|o| o.map_or(0xff, |o| o.kind()))
        .collect()
}

/// `TcpRepr`: parse, emit (header with options, payload, checksum) into a fresh buffer. When
/// the captured option layout is Linux's (the one `emit` writes: same kinds, NOPs included,
/// in the same order), the whole segment must come back byte for byte. Otherwise (only the
/// scapy-crafted SACK ACKs `capture.sh` falls back to without nftables could be laid out
/// differently) the Repr parsed from our bytes must equal the original one, and that frame is
/// reported on stderr. All the committed TCP frames are kernel-made and take the first path.
#[test]
fn tcp_repr_round_trips() {
    let (mut exact, mut by_repr, mut with_sack, mut syn) = (0, 0, 0, 0);
    each_frame(|name, n, _, frame| {
        let Some(Transport::Tcp(tcp)) = frame.transport else {
            return;
        };
        let ctx = format!("{name} frame {n}");
        let addrs = addrs_of(frame, &ctx);
        let repr = TcpRepr::parse(&tcp).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let segment = tcp.into_inner();
        let mut buf = fresh(repr.buffer_len());
        let len = repr.emit(&mut buf, &addrs);
        let ours = option_kinds(&buf[20..repr.header_len()]);
        let theirs = option_kinds(tcp.options());
        if repr.sack_ranges[0].is_some() {
            with_sack += 1;
        }
        if repr.control == TcpControl::Syn {
            syn += 1;
        }
        if ours == theirs {
            assert_eq!(len, segment.len(), "{ctx}: TcpRepr segment length");
            assert_eq!(buf, segment, "{ctx}: TcpRepr {repr}");
            exact += 1;
        } else {
            assert!(
                repr.sack_ranges[0].is_some(),
                "{ctx}: kernel-made segment with option layout {theirs:?}, ours {ours:?}"
            );
            let back = TcpPacket::new_checked(&buf[..len]).unwrap();
            back.check_checksum(&addrs).unwrap();
            assert_eq!(TcpRepr::parse(&back).unwrap(), repr, "{ctx}");
            eprintln!("{ctx}: option layout {theirs:?} is not ours ({ours:?}): Reprs compared");
            by_repr += 1;
        }
    });
    assert_eq!(exact + by_repr, 47, "TCP frames (tcp, tcp6, tcp_sack)");
    assert_eq!(by_repr, 0, "all committed TCP frames are kernel-made");
    assert_eq!((with_sack, syn), (7, 6), "SACK-carrying / SYN segments");
}

/// What `Icmpv6Repr` deliberately does not keep of this NDP message (documented on
/// `Icmpv6Repr`): options other than the first link-layer address of the right kind (and, for
/// an RA, the first MTU and Prefix Information), an order other than emit's, and the RA flag
/// bits other than M and O. Empty when the message should round-trip byte for byte.
fn dropped_by_icmpv6_repr(icmp: &Icmpv6Packet<&[u8]>) -> Vec<String> {
    let kept: &[u8] = match icmp.msg_type() {
        Icmpv6Message::RouterSolicit | Icmpv6Message::NeighborSolicit => &[1],
        Icmpv6Message::NeighborAdvert => &[2],
        Icmpv6Message::RouterAdvert => &[1, 5, 3],
        _ => &[],
    };
    let mut dropped = Vec::new();
    let mut seen = Vec::new();
    for option in icmp.ndp_options() {
        let kind = option.unwrap().kind();
        if !kept.contains(&kind) || seen.contains(&kind) {
            dropped.push(format!("NDP option type {kind}"));
        } else {
            seen.push(kind);
        }
    }
    let order: Vec<u8> = kept.iter().copied().filter(|k| seen.contains(k)).collect();
    if seen != order {
        dropped.push(format!("option order {seen:?}"));
    }
    let raw = icmp.into_inner();
    if icmp.msg_type() == Icmpv6Message::RouterAdvert && raw[5] & 0x3f != 0 {
        dropped.push(format!(
            "RA flag bits {:#04x} beyond M and O",
            raw[5] & 0x3f
        ));
    }
    dropped
}

/// `UdpRepr`, `Icmpv4Repr` (echo and errors with their quotes) and `Icmpv6Repr` (echo and NDP
/// with options): parse, emit with the checksum, get the captured bytes back. Where
/// `Icmpv6Repr` drops something (see `dropped_by_icmpv6_repr`), parse(emit) must equal
/// parse(original) instead. MLD reports have no `Icmpv6Repr` (its parse rejects them).
#[test]
fn transport_reprs_round_trip() {
    let (mut udp_n, mut icmp4, mut icmp6_exact, mut icmp6_repr, mut mld) = (0, 0, 0, 0, 0);
    each_frame(|name, n, _, frame| {
        let ctx = format!("{name} frame {n}");
        match frame.transport {
            Some(Transport::Udp(udp)) => {
                let addrs = addrs_of(frame, &ctx);
                let repr = UdpRepr::parse(&udp).unwrap();
                let datagram = &udp.into_inner()[..usize::from(udp.len())];
                let mut buf = fresh(repr.buffer_len() + udp.payload().len());
                let len = repr.emit(&mut buf, &addrs, udp.payload());
                assert_eq!(buf[..len], *datagram, "{ctx}: UdpRepr {repr}");
                udp_n += 1;
            }
            Some(Transport::Icmpv4(icmp)) => {
                let repr = Icmpv4Repr::parse(&icmp).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let mut buf = fresh(repr.buffer_len());
                let len = repr.emit(&mut buf);
                assert_eq!(buf[..len], *icmp.into_inner(), "{ctx}: Icmpv4Repr {repr}");
                icmp4 += 1;
            }
            Some(Transport::Icmpv6(icmp)) => {
                let addrs = addrs_of(frame, &ctx);
                let repr = match Icmpv6Repr::parse(&icmp, &addrs) {
                    Ok(repr) => repr,
                    Err(e) => {
                        assert_eq!(
                            icmp.msg_type(),
                            Icmpv6Message::MldV2Report,
                            "{ctx}: Icmpv6Repr::parse: {e}"
                        );
                        mld += 1;
                        return;
                    }
                };
                let mut buf = fresh(repr.buffer_len());
                let len = repr.emit(&addrs, &mut buf);
                let dropped = dropped_by_icmpv6_repr(&icmp);
                if dropped.is_empty() {
                    assert_eq!(buf[..len], *icmp.into_inner(), "{ctx}: Icmpv6Repr {repr}");
                    icmp6_exact += 1;
                } else {
                    let back = Icmpv6Packet::new_checked(&buf[..len]).unwrap();
                    back.check_checksum(&addrs).unwrap();
                    let reparsed = Icmpv6Repr::parse(&back, &addrs).unwrap();
                    assert_eq!(reparsed, repr, "{ctx}: Icmpv6Repr dropping {dropped:?}");
                    eprintln!("{ctx}: Icmpv6Repr drops {dropped:?}: Reprs compared");
                    icmp6_repr += 1;
                }
            }
            _ => {}
        }
    });
    // By Repr: the two DAD neighbour solicitations carry a nonce option (type 14), and
    // scapy's RA sets the Default Router Preference to high (flag bits 0x08).
    assert_eq!(
        (udp_n, icmp4, icmp6_exact, icmp6_repr, mld),
        (5, 19, 13, 3, 3),
        "UDP / ICMPv4 / ICMPv6 exact / ICMPv6 by Repr / MLD frames"
    );
}

/// NDP options, one by one: each option the messages carry re-emits to its own bytes.
#[test]
fn ndp_options_round_trip() {
    let mut count = 0;
    each_frame(|name, n, _, frame| {
        let Some(Transport::Icmpv6(icmp)) = frame.transport else {
            return;
        };
        if !icmp.msg_type().is_ndp() {
            return;
        }
        let mut at = icmp.header_len();
        let raw = icmp.into_inner();
        for option in icmp.ndp_options() {
            let option = option.unwrap_or_else(|e| panic!("{name} frame {n}: {e}"));
            let mut buf = fresh(option.buffer_len());
            let len = option.emit(&mut buf);
            assert_eq!(buf, raw[at..at + len], "{name} frame {n}: {option}");
            if let NdpOption::PrefixInformation(p) = option {
                assert_eq!(
                    (p.prefix.to_string(), p.prefix_len, p.on_link, p.autonomous),
                    ("fd77:0:0:1::".to_owned(), 64, true, true),
                    "{name} frame {n}: prefix information"
                );
            }
            at += len;
            count += 1;
        }
        assert_eq!(at, raw.len(), "{name} frame {n}: options end the message");
    });
    assert_eq!(count, 10, "NDP options in the fixtures");
}

// ----------------------------------------------------------------------------- 4. fragments

/// One fragment: its offset in bytes, More Fragments, and its data.
struct Piece {
    number: usize,
    offset: u16,
    more: bool,
    data: Vec<u8>,
}

/// Concatenates the pieces of one datagram in offset order, checking that they tile it
/// without gap or overlap and that only the last has More Fragments clear.
fn reassemble(ctx: &str, pieces: &mut [Piece]) -> Vec<u8> {
    pieces.sort_by_key(|p| p.offset);
    let mut whole = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        assert_eq!(
            usize::from(piece.offset),
            whole.len(),
            "{ctx}: frame {} offset vs data so far",
            piece.number
        );
        let last = i + 1 == pieces.len();
        assert_eq!(piece.more, !last, "{ctx}: frame {} MF", piece.number);
        if !last {
            assert!(
                piece.data.len().is_multiple_of(8),
                "{ctx}: frame {}",
                piece.number
            );
        }
        whole.extend_from_slice(&piece.data);
    }
    whole
}

/// An echo request or reply rebuilt from fragments: parse, check it is an echo with
/// `ping -s 3000`'s 3000 data bytes, and round-trip it through the Repr. Returns (type,
/// identifier, sequence number, data).
fn check_icmpv4_echo(ctx: &str, whole: &[u8]) -> (Icmpv4Message, u16, u16, Vec<u8>) {
    let packet = Icmpv4Packet::new_checked(whole).unwrap();
    packet.check_checksum().unwrap();
    let repr = Icmpv4Repr::parse(&packet).unwrap();
    let mut buf = fresh(repr.buffer_len());
    let len = repr.emit(&mut buf);
    assert_eq!(
        buf[..len],
        *whole,
        "{ctx}: Icmpv4Repr of the reassembled message"
    );
    match repr {
        Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        }
        | Icmpv4Repr::EchoReply {
            ident,
            seq_no,
            data,
        } => {
            assert_eq!(data.len(), 3000, "{ctx}: echo data length");
            (repr.msg_type(), ident, seq_no, data.to_vec())
        }
        other => panic!("{ctx}: not an echo: {other}"),
    }
}

/// `ipv4_fragments.pcap`: an echo request and its reply, 3 fragments each. Fields against
/// tshark (offset in bytes = tshark's 8-octet units * 8, MF, identification); no transport in
/// `Frame` for any fragment (non-first ones have no header; the first one's checksum covers
/// the whole datagram); the reassembled ICMP message sums to 0xffff.
#[test]
fn ipv4_fragments_reassemble() {
    let name = "ipv4_fragments.pcap";
    let tsv = Tsv::load(name);
    let frames = fixture(name);
    let mut datagrams: BTreeMap<(u16, Ipv4Addr), Vec<Piece>> = BTreeMap::new();
    for (i, bytes) in frames.iter().enumerate() {
        let n = i + 1;
        let frame = parse(name, n, bytes);
        let Some(Network::Ipv4(ip)) = frame.network else {
            panic!("{name} frame {n}: not IPv4");
        };
        let ctx = format!("{name} frame {n}");
        assert!(ip.is_fragment(), "{ctx}: not a fragment");
        assert_eq!(
            u64::from(ip.frag_offset()),
            tsv.num(n, "ip.frag_offset") * 8,
            "{ctx}: ip.frag_offset"
        );
        assert_eq!(
            u64::from(ip.more_frags()),
            tsv.num(n, "ip.flags.mf"),
            "{ctx}: ip.flags.mf"
        );
        assert_eq!(u64::from(ip.ident()), tsv.num(n, "ip.id"), "{ctx}: ip.id");
        assert_eq!(ip.frag_offset(), [0, 1480, 2960][i % 3], "{ctx}: offset");
        assert!(
            frame.transport.is_none(),
            "{ctx}: a fragment has no transport"
        );
        assert_eq!(frame.payload, ip.payload_slice(), "{ctx}: payload");
        datagrams
            .entry((ip.ident(), ip.src_addr()))
            .or_default()
            .push(Piece {
                number: n,
                offset: ip.frag_offset(),
                more: ip.more_frags(),
                data: frame.payload.to_vec(),
            });
    }
    assert_eq!(datagrams.len(), 2, "{name}: two datagrams");
    let mut echoes = Vec::new();
    for ((ident, src), pieces) in &mut datagrams {
        let ctx = format!("{name} datagram {ident:#06x} from {src}");
        assert_eq!(pieces.len(), 3, "{ctx}: fragments");
        let whole = reassemble(&ctx, pieces);
        assert_eq!(checksum::sum(&whole), 0xffff, "{ctx}: ICMP checksum");
        echoes.push(check_icmpv4_echo(&ctx, &whole));
    }
    echoes.sort_by_key(|e| u8::from(e.0));
    let [reply, request] = &echoes[..] else {
        unreachable!()
    };
    assert_eq!(
        (request.0, reply.0),
        (Icmpv4Message::EchoRequest, Icmpv4Message::EchoReply)
    );
    assert_eq!(
        request.1..=request.2,
        reply.1..=reply.2,
        "{name}: ident/seq"
    );
    assert_eq!(request.3, reply.3, "{name}: the reply echoes the data");
}

/// The IPv6 fragments of `ipv6_ext.pcap` (frames 3-8: an echo request and its reply, 3
/// fragments each): the Fragment header fields against tshark and against `UpperLayer`, no
/// transport in `Frame`, and the reassembled ICMPv6 message verifies (its sum with the
/// pseudo-header is 0xffff: ICMPv6's checksum covers one).
#[test]
fn ipv6_fragments_reassemble() {
    let name = "ipv6_ext.pcap";
    let tsv = Tsv::load(name);
    let frames = fixture(name);
    let mut datagrams: BTreeMap<u32, (IpAddrPair, Vec<Piece>)> = BTreeMap::new();
    for (i, bytes) in frames.iter().enumerate() {
        let n = i + 1;
        let frame = parse(name, n, bytes);
        let Some(Network::Ipv6 { packet, upper }) = frame.network else {
            panic!("{name} frame {n}: not IPv6");
        };
        let Some(info) = upper.fragment else {
            assert!(
                !(3..=8).contains(&n),
                "{name} frame {n}: expected a fragment"
            );
            continue;
        };
        let ctx = format!("{name} frame {n}");
        // The Fragment header itself, found by walking the chain.
        let mut end = 0;
        let mut header = None;
        for h in packet.ext_headers() {
            let h = h.unwrap();
            end += h.header_len();
            if let Some(f) = h.fragment() {
                header = Some((f.frag_offset(), f.more_frags(), f.ident()));
                break;
            }
        }
        let header = header.unwrap_or_else(|| panic!("{ctx}: no Fragment header"));
        assert_eq!(
            header,
            (info.offset, info.more, info.ident),
            "{ctx}: UpperLayer"
        );
        assert_eq!(
            u64::from(info.offset),
            tsv.num(n, "ipv6.fraghdr.offset") * 8,
            "{ctx}: ipv6.fraghdr.offset"
        );
        assert_eq!(
            u64::from(info.more),
            tsv.num(n, "ipv6.fraghdr.more"),
            "{ctx}: ipv6.fraghdr.more"
        );
        assert_eq!(
            u64::from(info.ident),
            tsv.num(n, "ipv6.fraghdr.ident"),
            "{ctx}: ipv6.fraghdr.ident"
        );
        assert_eq!(info.offset, [0, 1448, 2896][(n - 3) % 3], "{ctx}: offset");
        assert_eq!(upper.protocol, IpProtocol::Icmpv6, "{ctx}: next header");
        assert_eq!(upper.has_header(), info.offset == 0, "{ctx}: has_header");
        assert!(
            frame.transport.is_none(),
            "{ctx}: a fragment has no transport"
        );
        assert_eq!(
            upper.offset, end,
            "{ctx}: fragment data starts after its header"
        );
        datagrams
            .entry(info.ident)
            .or_insert_with(|| (packet.addr_pair(), Vec::new()))
            .1
            .push(Piece {
                number: n,
                offset: info.offset,
                more: info.more,
                data: packet.payload()[end..].to_vec(),
            });
    }
    assert_eq!(datagrams.len(), 2, "{name}: two fragmented datagrams");
    let mut types = Vec::new();
    for (ident, (addrs, pieces)) in &mut datagrams {
        let ctx = format!("{name} datagram {ident:#010x}");
        assert_eq!(pieces.len(), 3, "{ctx}: fragments");
        let whole = reassemble(&ctx, pieces);
        let total = checksum::combine(&[
            addrs.pseudo_header_sum(IpProtocol::Icmpv6, whole.len()),
            checksum::sum(&whole),
        ]);
        assert_eq!(total, 0xffff, "{ctx}: ICMPv6 checksum with pseudo-header");
        let packet = Icmpv6Packet::new_checked(&whole[..]).unwrap();
        let repr = Icmpv6Repr::parse(&packet, addrs).unwrap();
        let mut buf = fresh(repr.buffer_len());
        let len = repr.emit(addrs, &mut buf);
        assert_eq!(
            buf[..len],
            *whole,
            "{ctx}: Icmpv6Repr of the reassembled message"
        );
        match repr {
            Icmpv6Repr::EchoRequest { data, .. } | Icmpv6Repr::EchoReply { data, .. } => {
                assert_eq!(data.len(), 3000, "{ctx}: echo data length");
            }
            other => panic!("{ctx}: not an echo: {other}"),
        }
        types.push(repr.msg_type());
    }
    types.sort();
    assert_eq!(
        types,
        [Icmpv6Message::EchoRequest, Icmpv6Message::EchoReply],
        "{name}: the fragmented datagrams"
    );
}

// ------------------------------------------------------------------- 5. IPv6 extension headers

/// What the fixtures README says each `ipv6_ext.pcap` frame holds: the extension headers, in
/// order, and the ICMPv6 message type (of the first fragment, for fragments).
const IPV6_EXT_FRAMES: [(&str, &[IpProtocol], Option<Icmpv6Message>); 15] = {
    use Icmpv6Message::{EchoReply as Reply, EchoRequest as Request, MldV2Report as Mld};
    use IpProtocol::{HopByHop as Hbh, Ipv6Frag as Frag, Ipv6Opts as Dst, Ipv6Route as Rt};
    [
        ("MLDv2 report", &[Hbh], Some(Mld)),
        ("MLDv2 report", &[Hbh], Some(Mld)),
        ("echo request, fragment 1", &[Frag], Some(Request)),
        ("echo request, fragment 2", &[Frag], None),
        ("echo request, fragment 3", &[Frag], None),
        ("echo reply, fragment 1", &[Frag], Some(Reply)),
        ("echo reply, fragment 2", &[Frag], None),
        ("echo reply, fragment 3", &[Frag], None),
        (
            "echo request with Destination Options",
            &[Dst],
            Some(Request),
        ),
        ("echo reply", &[], Some(Reply)),
        (
            "echo request with Routing (type 0, segments left 0)",
            &[Rt],
            Some(Request),
        ),
        ("echo reply", &[], Some(Reply)),
        (
            "echo request with Hop-by-Hop + Destination Options",
            &[Hbh, Dst],
            Some(Request),
        ),
        ("echo reply", &[], Some(Reply)),
        ("MLDv2 report", &[Hbh], Some(Mld)),
    ]
};

/// tshark's Next Header chain: `ipv6.nxt`, then each extension header's own next header
/// (`ipv6.hopopts.nxt`, ...), followed in order. Its last item is the upper layer.
fn tshark_chain(tsv: &Tsv, n: usize) -> Vec<IpProtocol> {
    let mut next: HashMap<u8, std::vec::IntoIter<&str>> = [
        (0u8, "ipv6.hopopts.nxt"),
        (60, "ipv6.dstopts.nxt"),
        (43, "ipv6.routing.nxt"),
        (44, "ipv6.fraghdr.nxt"),
    ]
    .into_iter()
    .map(|(kind, column)| (kind, tsv.values(n, column).into_iter()))
    .collect();
    let mut chain = vec![tsv.num(n, "ipv6.nxt") as u8];
    while let Some(following) = next.get_mut(chain.last().unwrap()).and_then(Iterator::next) {
        chain.push(following.parse().unwrap());
    }
    for (kind, mut rest) in next {
        assert!(
            rest.next().is_none(),
            "{} frame {n}: header {kind} not in the chain",
            tsv.name
        );
    }
    chain.into_iter().map(IpProtocol::from).collect()
}

/// Every `ipv6_ext.pcap` frame: the chain walked with `ext_headers()` has the kinds the README
/// describes and the ones tshark dissects; `upper_layer()` lands on tshark's last chain item
/// at the end of the headers; the Hop-by-Hop headers carry a Router Alert (value 0: MLD) and
/// padding; the Routing header is type 0 with 0 segments left.
#[test]
fn ipv6_extension_header_chains() {
    let name = "ipv6_ext.pcap";
    let tsv = Tsv::load(name);
    let frames = fixture(name);
    assert_eq!(frames.len(), IPV6_EXT_FRAMES.len(), "{name}: frames");
    for (i, (bytes, (what, kinds, message))) in frames.iter().zip(IPV6_EXT_FRAMES).enumerate() {
        let n = i + 1;
        let ctx = format!("{name} frame {n} ({what})");
        let frame = parse(name, n, bytes);
        let Some(Network::Ipv6 { packet, upper }) = frame.network else {
            panic!("{ctx}: not IPv6");
        };
        let headers: Vec<Ipv6ExtHeader<'_>> = packet
            .ext_headers()
            .map(|h| h.unwrap_or_else(|e| panic!("{ctx}: {e}")))
            .collect();
        let ours: Vec<IpProtocol> = headers.iter().map(|h| h.kind).collect();
        assert_eq!(ours, kinds, "{ctx}: extension headers vs README");
        let chain = tshark_chain(&tsv, n);
        assert_eq!(
            ours,
            chain[..chain.len() - 1],
            "{ctx}: extension headers vs tshark"
        );
        assert_eq!(
            upper.protocol,
            *chain.last().unwrap(),
            "{ctx}: upper_layer() vs tshark's last ipv6.nxt-chain item"
        );
        assert_eq!(upper.protocol, IpProtocol::Icmpv6, "{ctx}: upper layer");
        assert_eq!(
            packet.upper_layer().unwrap(),
            upper,
            "{ctx}: Frame's UpperLayer"
        );
        let lengths: usize = headers.iter().map(Ipv6ExtHeader::header_len).sum();
        assert_eq!(upper.offset, lengths, "{ctx}: upper-layer offset");
        for header in &headers {
            let options: Vec<Ipv6Option<'_>> = header.options().map(Result::unwrap).collect();
            match header.kind {
                IpProtocol::HopByHop => assert!(
                    options.contains(&Ipv6Option::RouterAlert(0))
                        && options.iter().any(|o| matches!(o, Ipv6Option::PadN(_))),
                    "{ctx}: Hop-by-Hop options {options:?}"
                ),
                IpProtocol::Ipv6Opts => assert!(
                    !options.is_empty() && options.iter().all(|o| matches!(o, Ipv6Option::PadN(_))),
                    "{ctx}: Destination options {options:?}"
                ),
                IpProtocol::Ipv6Route => {
                    let routing = header.routing().unwrap();
                    assert_eq!(
                        (routing.routing_type, routing.segments_left),
                        (0, 0),
                        "{ctx}: routing header"
                    );
                }
                IpProtocol::Ipv6Frag => assert!(header.fragment().is_some(), "{ctx}"),
                other => panic!("{ctx}: unexpected {other}"),
            }
        }
        let ours_message = match frame.transport {
            Some(Transport::Icmpv6(icmp)) => Some(icmp.msg_type()),
            Some(_) => panic!("{ctx}: not ICMPv6"),
            None if upper.has_header() => {
                Some(Icmpv6Packet::new_checked(frame.payload).unwrap().msg_type())
            }
            None => None,
        };
        assert_eq!(ours_message, message, "{ctx}: ICMPv6 message");
        let tshark_type = tsv.values(n, "icmpv6.type").first().map(|t| t.to_string());
        assert_eq!(
            ours_message.map(|m| u8::from(m).to_string()),
            tshark_type,
            "{ctx}: icmpv6.type"
        );
    }
}

// --------------------------------------------------------------------------------- 6. VLANs

/// `vlan.pcap` (802.1Q, VID 10) and `qinq.pcap` (802.1ad S-tag VID 100 over an 802.1Q C-tag
/// VID 10): every frame's tags (TPID, VID, PCP, DEI) against the README and tshark, the
/// EtherType after the tags, and the layers inside (ARP, then ICMP echo over IPv4).
#[test]
fn vlan_and_qinq_tags() {
    let c_tag = VlanTag {
        tpid: EtherType::Vlan,
        pcp: 0,
        dei: false,
        vid: 10,
    };
    let s_tag = VlanTag {
        tpid: EtherType::ServiceVlan,
        vid: 100,
        ..c_tag
    };
    let mut count = 0;
    for (name, tags) in [
        ("vlan.pcap", &[c_tag][..]),
        ("qinq.pcap", &[s_tag, c_tag][..]),
    ] {
        let tsv = Tsv::load(name);
        let frames = fixture(name);
        assert_eq!(frames.len(), 6, "{name}: frames");
        for (i, bytes) in frames.iter().enumerate() {
            let n = i + 1;
            let ctx = format!("{name} frame {n}");
            let frame = parse(name, n, bytes);
            let eth = frame.ethernet;
            let ours: Vec<VlanTag> = (0..eth.vlan_count())
                .map(|t| eth.vlan_tag(t).unwrap())
                .collect();
            assert_eq!(ours, tags, "{ctx}: tags");
            assert_eq!(eth.vlan_tag(tags.len()), None, "{ctx}: no further tag");
            assert_eq!(
                eth.header_len(),
                14 + 4 * tags.len(),
                "{ctx}: header length"
            );
            // tshark: eth.type is the outer TPID; the 802.1Q tag is `vlan`, the 802.1ad one
            // `ieee8021ad` (dissected only for TPID 0x8100 / 0x88a8, so that checks them too).
            assert_eq!(
                tsv.num(n, "eth.type"),
                u64::from(u16::from(tags[0].tpid)),
                "{ctx}: eth.type"
            );
            let c = tags.last().unwrap();
            for (column, value) in [
                ("vlan.id", c.vid),
                ("vlan.priority", c.pcp.into()),
                ("vlan.dei", c.dei.into()),
            ] {
                assert_eq!(tsv.num(n, column), u64::from(value), "{ctx}: {column}");
            }
            if let [s, _] = tags {
                for (column, value) in [
                    ("ieee8021ad.id", s.vid),
                    ("ieee8021ad.priority", s.pcp.into()),
                    ("ieee8021ad.dei", s.dei.into()),
                ] {
                    assert_eq!(tsv.num(n, column), u64::from(value), "{ctx}: {column}");
                }
            } else {
                assert_eq!(tsv.get(n, "ieee8021ad.id"), "", "{ctx}: ieee8021ad.id");
            }
            assert_eq!(
                tsv.num(n, "vlan.etype"),
                u64::from(u16::from(eth.ethertype())),
                "{ctx}: EtherType after the tags (vlan.etype)"
            );
            // ARP request/reply, then ping request/reply twice.
            match (n, frame.network, frame.transport) {
                (1 | 2, Some(Network::Arp(arp)), None) => {
                    let op = [ArpOperation::Request, ArpOperation::Reply][n - 1];
                    assert_eq!(arp.operation(), op, "{ctx}: ARP operation");
                }
                (3..=6, Some(Network::Ipv4(_)), Some(Transport::Icmpv4(icmp))) => {
                    let echo = [Icmpv4Message::EchoRequest, Icmpv4Message::EchoReply][(n - 3) % 2];
                    assert_eq!(icmp.msg_type(), echo, "{ctx}: ICMP");
                }
                (_, network, transport) => {
                    panic!("{ctx}: unexpected layers {network:?} / {transport:?}")
                }
            }
            count += 1;
        }
    }
    assert_eq!(count, 12);
}
