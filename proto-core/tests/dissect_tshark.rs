//! The dissector against tshark: for every frame of every capture under `tests/fixtures/`,
//! `tshark -T json` and our JSON (`dissect::format::json`, parsed back with serde_json) must
//! agree on every compared field (the list in [`COMPARED`]), and on the protocol layers.
//! A disagreement fails the test naming the file, the frame and the field.
//!
//! tshark runs once per file with reassembly off and raw sequence numbers, so each frame is
//! described on its own. Values are compared as text after normalising numbers (tshark
//! writes some in hex, `0x0800`) and flags (`1`/`0`). A field that occurs several times in
//! a frame (TCP option kinds, DHCP options, DNS records) is compared as a sorted list, since
//! tshark's `--no-duplicate-keys` groups repeated keys.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use proto_core::dissect::{OwnedDissection, format};
use proto_core::pcap::CaptureReader;
use serde_json::Value as J;

/// The fields compared, by tshark name.
const COMPARED: &[&str] = &[
    // Ethernet, VLAN, ARP
    "eth.src",
    "eth.dst",
    "eth.type",
    "vlan.id",
    "vlan.priority",
    "vlan.dei",
    "vlan.etype",
    "ieee8021ad.id",
    "ieee8021ad.priority",
    "ieee8021ad.dei",
    "arp.hw.type",
    "arp.proto.type",
    "arp.hw.size",
    "arp.proto.size",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
    // IPv4
    "ip.version",
    "ip.hdr_len",
    "ip.dsfield.dscp",
    "ip.dsfield.ecn",
    "ip.len",
    "ip.id",
    "ip.flags",
    "ip.flags.rb",
    "ip.flags.df",
    "ip.flags.mf",
    "ip.frag_offset",
    "ip.ttl",
    "ip.proto",
    "ip.checksum",
    "ip.src",
    "ip.dst",
    // IPv6 and extension headers
    "ipv6.version",
    "ipv6.tclass",
    "ipv6.flow",
    "ipv6.plen",
    "ipv6.nxt",
    "ipv6.hlim",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hopopts.nxt",
    "ipv6.dstopts.nxt",
    "ipv6.routing.nxt",
    "ipv6.routing.type",
    "ipv6.routing.segleft",
    "ipv6.fraghdr.nxt",
    "ipv6.fraghdr.offset",
    "ipv6.fraghdr.more",
    "ipv6.fraghdr.ident",
    "ipv6.opt.type",
    // ICMPv4, ICMPv6, NDP
    "icmp.type",
    "icmp.code",
    "icmp.checksum",
    "icmp.ident",
    "icmp.seq",
    "icmpv6.type",
    "icmpv6.code",
    "icmpv6.checksum",
    "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number",
    "icmpv6.nd.ns.target_address",
    "icmpv6.nd.na.target_address",
    "icmpv6.nd.ra.cur_hop_limit",
    "icmpv6.nd.ra.router_lifetime",
    "icmpv6.opt.type",
    "icmpv6.opt.length",
    "icmpv6.opt.linkaddr",
    "icmpv6.opt.mtu",
    "icmpv6.opt.prefix",
    "icmpv6.opt.prefix.length",
    // UDP
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "udp.checksum",
    // TCP
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.hdr_len",
    "tcp.len",
    "tcp.flags",
    "tcp.flags.cwr",
    "tcp.flags.ece",
    "tcp.flags.urg",
    "tcp.flags.ack",
    "tcp.flags.push",
    "tcp.flags.reset",
    "tcp.flags.syn",
    "tcp.flags.fin",
    "tcp.window_size_value",
    "tcp.checksum",
    "tcp.urgent_pointer",
    "tcp.option_kind",
    "tcp.option_len",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_le",
    "tcp.options.sack_re",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    // DHCP
    "dhcp.type",
    "dhcp.hw.type",
    "dhcp.hw.len",
    "dhcp.hops",
    "dhcp.id",
    "dhcp.secs",
    "dhcp.flags",
    "dhcp.ip.client",
    "dhcp.ip.your",
    "dhcp.ip.server",
    "dhcp.ip.relay",
    "dhcp.hw.mac_addr",
    "dhcp.option.type",
    "dhcp.option.length",
    "dhcp.option.dhcp",
    "dhcp.option.subnet_mask",
    "dhcp.option.router",
    "dhcp.option.domain_name_server",
    "dhcp.option.broadcast_address",
    "dhcp.option.requested_ip_address",
    "dhcp.option.dhcp_server_id",
    "dhcp.option.ip_address_lease_time",
    "dhcp.option.renewal_time_value",
    "dhcp.option.rebinding_time_value",
    "dhcp.option.request_list_item",
    "dhcp.option.dhcp_max_message_size",
    "dhcp.option.hostname",
    "dhcp.option.domain_name",
    // DNS
    "dns.id",
    "dns.flags.response",
    "dns.flags.opcode",
    "dns.flags.authoritative",
    "dns.flags.truncated",
    "dns.flags.recdesired",
    "dns.flags.recavail",
    "dns.flags.rcode",
    "dns.count.queries",
    "dns.count.answers",
    "dns.count.auth_rr",
    "dns.count.add_rr",
    "dns.qry.name",
    "dns.qry.type",
    "dns.qry.class",
    "dns.resp.name",
    "dns.resp.type",
    "dns.resp.ttl",
    "dns.resp.len",
    "dns.a",
    "dns.aaaa",
    "dns.cname",
    "dns.ptr.domain_name",
    // NTP
    "ntp.flags.li",
    "ntp.flags.vn",
    "ntp.flags.mode",
    "ntp.stratum",
    "ntp.ppoll",
    "ntp.reftime",
    "ntp.org",
    "ntp.rec",
    "ntp.xmt",
    // HTTP
    "http.request.method",
    "http.request.uri",
    "http.request.version",
    "http.response.version",
    "http.response.code",
    "http.response.phrase",
    "http.host",
    "http.user_agent",
    "http.server",
    "http.content_length_header",
];

/// Keys of nested protocols inside a layer (a header quoted by an ICMP error, echo data):
/// compared as their own layer, not as fields of the enclosing one.
const PROTOCOLS: &[&str] = &[
    "eth",
    "vlan",
    "ieee8021ad",
    "arp",
    "ip",
    "ipv6",
    "icmp",
    "icmpv6",
    "udp",
    "tcp",
    "dhcp",
    "dns",
    "ntp",
    "http",
    "data",
];

type Fields = BTreeMap<String, Vec<String>>;

/// tshark's text for a number is decimal or `0x` hex; flags are `1`/`0`.
fn normalize(s: &str) -> String {
    if let Some(hex) = s.strip_prefix("0x")
        && let Ok(v) = u64::from_str_radix(hex, 16)
    {
        return v.to_string();
    }
    s.to_string()
}

fn flatten_tshark(obj: &serde_json::Map<String, J>, out: &mut Fields) {
    for (key, value) in obj {
        if PROTOCOLS.contains(&key.as_str()) {
            continue;
        }
        let items: Vec<&J> = match value {
            J::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            match item {
                J::String(s) => out.entry(key.clone()).or_default().push(normalize(s)),
                J::Object(o) => flatten_tshark(o, out),
                _ => {}
            }
        }
    }
}

fn flatten_ours(nodes: &[J], out: &mut Fields) {
    for node in nodes {
        if node["class"] == "protocol" {
            continue;
        }
        let name = node["name"].as_str().unwrap().to_string();
        let text = match (&node["value"], &node["show"], node["class"].as_str()) {
            (_, J::String(show), Some("timestamp")) => Some(show.clone()),
            (J::String(s), _, _) => Some(s.clone()),
            (J::Number(n), _, _) => Some(n.to_string()),
            (J::Bool(b), _, _) => Some(if *b { "1" } else { "0" }.to_string()),
            _ => None,
        };
        if let Some(text) = text {
            out.entry(name).or_default().push(text);
        }
        if let Some(J::Array(children)) = node.get("fields") {
            flatten_ours(children, out);
        }
    }
}

/// tshark 4.0 lists the DHCP End option's type as 0 (its tree holds `dhcp.option.end` =
/// 255); we say 255.
fn tshark_quirks(t: &mut Fields) {
    if t.contains_key("dhcp.option.end")
        && let Some(types) = t.get_mut("dhcp.option.type")
        && let Some(i) = types.iter().rposition(|v| v == "0")
    {
        types[i] = "255".into();
    }
}

/// Runs tshark over `path`: one JSON object per frame (its `layers`).
fn tshark_layers(path: &Path) -> Option<Vec<serde_json::Map<String, J>>> {
    let output = Command::new("tshark")
        .args(["-r"])
        .arg(path)
        .args([
            "-T",
            "json",
            "--no-duplicate-keys",
            "-o",
            "ip.defragment:FALSE",
            "-o",
            "ipv6.defragment:FALSE",
            "-o",
            "tcp.relative_sequence_numbers:FALSE",
            "-o",
            "tcp.desegment_tcp_streams:FALSE",
            "-o",
            "http.desegment_headers:FALSE",
            "-o",
            "http.desegment_body:FALSE",
        ])
        .output()
        .ok()?;
    assert!(
        output.status.success(),
        "tshark -r {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let frames: Vec<J> = serde_json::from_slice(&output.stdout).expect("tshark JSON");
    Some(
        frames
            .into_iter()
            .map(|f| f["_source"]["layers"].as_object().unwrap().clone())
            .collect(),
    )
}

/// Every capture under `tests/fixtures/` and `tests/fixtures/apps/` (pcap and pcapng).
fn captures() -> Vec<std::path::PathBuf> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/"));
    let mut files: Vec<_> = [root.to_path_buf(), root.join("apps")]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    files
}

/// Our dissection of one frame, through the JSON text (so the JSON itself is checked).
fn ours(frame: &[u8], number: u64) -> (J, usize) {
    let owned = OwnedDissection::new(frame);
    let d = owned.view(frame);
    let mut text = String::new();
    format::json(&d, number, &mut text).unwrap();
    let json: J = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("frame {number}: our JSON does not parse ({e}): {text}"));
    (json, d.problems.len())
}

fn tshark_installed() -> bool {
    let ok = Command::new("tshark").arg("--version").output().is_ok();
    if !ok {
        eprintln!("WARNING: tshark is not installed; the tshark comparison is skipped");
    }
    ok
}

#[test]
fn dissector_agrees_with_tshark_on_every_fixture() {
    assert!(
        tshark_installed(),
        "tshark is needed (scripts/test.sh installs it)"
    );
    let mut failures = Vec::new();
    let (mut frames_total, mut values_total) = (0, 0);
    for path in captures() {
        compare_file(&path, &mut failures, &mut frames_total, &mut values_total);
    }
    println!("compared {values_total} tshark values over {frames_total} frames");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Compares every frame of the capture at `path` with tshark's dissection.
fn compare_file(
    path: &Path,
    failures: &mut Vec<String>,
    frames_total: &mut usize,
    values_total: &mut usize,
) {
    {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let theirs = tshark_layers(path).expect("tshark runs");
        let bytes = std::fs::read(path).unwrap();
        let reader = CaptureReader::new(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let frames: Vec<_> = reader.map(|r| r.unwrap().data).collect();
        assert_eq!(frames.len(), theirs.len(), "{name}: frame count");
        for (i, (frame, layers)) in frames.iter().zip(&theirs).enumerate() {
            let number = i as u64 + 1;
            *frames_total += 1;
            let (json, problems) = ours(frame, number);
            let our_layers = json["layers"].as_array().unwrap();
            // Layers, in order ("data" is where each stops knowing, so it is left out).
            let their_names: Vec<&str> = layers
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "frame" && *k != "data")
                .collect();
            let our_names: Vec<&str> = our_layers
                .iter()
                .map(|l| l["name"].as_str().unwrap())
                .filter(|k| *k != "data")
                .collect();
            if their_names != our_names {
                failures.push(format!(
                    "{name} frame {number}: layers: tshark {their_names:?}, ours {our_names:?}"
                ));
            }
            // Fields, layer by layer.
            for layer in our_layers {
                let lname = layer["name"].as_str().unwrap();
                let Some(J::Object(theirs)) = layers.get(lname) else {
                    continue;
                };
                let mut t = Fields::new();
                flatten_tshark(theirs, &mut t);
                tshark_quirks(&mut t);
                let mut o = Fields::new();
                flatten_ours(layer["fields"].as_array().unwrap_or(&Vec::new()), &mut o);
                let prefix = format!("{lname}.");
                for field in COMPARED.iter().filter(|f| f.starts_with(&prefix)) {
                    let (mut a, mut b) = (
                        t.get(*field).cloned().unwrap_or_default(),
                        o.get(*field).cloned().unwrap_or_default(),
                    );
                    a.sort();
                    b.sort();
                    *values_total += a.len();
                    if a != b {
                        failures.push(format!(
                            "{name} frame {number}: {field}: tshark {a:?}, ours {b:?}"
                        ));
                    }
                }
            }
            // The fixtures were checked by tshark when captured: no problems expected.
            if problems != 0 {
                failures.push(format!(
                    "{name} frame {number}: we report problems: {}",
                    json["problems"]
                ));
            }
        }
    }
}

#[path = "common/ours.rs"]
#[allow(dead_code)]
mod ours;
#[path = "common/pair.rs"]
#[allow(dead_code)]
mod pair;
#[path = "common/smol.rs"]
#[allow(dead_code)]
mod smol;

/// Frames with their simulated time in µs, shared by both recording endpoints.
type Shared = std::rc::Rc<std::cell::RefCell<Vec<(u64, Vec<u8>)>>>;

/// Records every frame an endpoint sends.
struct Recording<E> {
    inner: E,
    frames: Shared,
}

impl<E: proto_core::sim::Endpoint> proto_core::sim::Endpoint for Recording<E> {
    fn ingress(&mut self, now: proto_core::time::Instant, frame: &[u8]) {
        self.inner.ingress(now, frame);
    }
    fn egress(&mut self, now: proto_core::time::Instant, buf: &mut [u8]) -> usize {
        let n = self.inner.egress(now, buf);
        if n > 0 {
            let micros = now.micros();
            self.frames.borrow_mut().push((micros, buf[..n].to_vec()));
        }
        n
    }
    fn poll_at(&self) -> Option<proto_core::time::Instant> {
        self.inner.poll_at()
    }
}

/// A short transfer by our TCP engine (20 kB each way over the simulated link): every frame
/// either end sent, with its simulated time in µs.
fn engine_frames() -> Vec<(u64, Vec<u8>)> {
    use ours::{OurEndpoint, config};
    use proto_core::sim::{LinkConfig, Sim};
    let frames = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let cfg = config(7);
    let client = Recording {
        inner: OurEndpoint::client(&cfg, 33333),
        frames: frames.clone(),
    };
    let server = Recording {
        inner: OurEndpoint::server(&cfg, 33333),
        frames: frames.clone(),
    };
    // Port 33333: no tshark dissector claims it (7000 would be dissected as Gryphon).
    let mut sim = Sim::new(client, server, LinkConfig::default(), 7);
    let total = 20_000;
    sim.run_until(proto_core::time::Instant::from_secs(30), |c, s, _| {
        for ep in [&mut c.inner, &mut s.inner] {
            if ep.state().is_synchronized() || ep.state() == proto_core::tcp::State::SynReceived {
                ep.write_then_close(total);
            }
            ep.read_verify().unwrap();
        }
        c.inner.eof() && s.inner.eof() && c.inner.is_closed() && s.inner.is_closed()
    })
    .unwrap();
    drop(sim);
    std::rc::Rc::try_unwrap(frames).unwrap().into_inner()
}

/// A classic pcap file of `frames` (µs timestamps from an arbitrary epoch).
fn write_pcap(frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    use proto_core::pcap::{GlobalHeader, LINKTYPE_ETHERNET, RecordHeader};
    let mut file = vec![0u8; 24];
    GlobalHeader {
        snaplen: 65535,
        linktype: LINKTYPE_ETHERNET,
        nanos: false,
    }
    .emit(&mut file);
    for (micros, frame) in frames {
        let t = 1_700_000_000_000_000 + micros;
        let mut header = [0u8; 16];
        RecordHeader {
            ts_sec: (t / 1_000_000) as u32,
            ts_frac: (t % 1_000_000) as u32,
            caplen: frame.len() as u32,
            origlen: frame.len() as u32,
        }
        .emit(&mut header);
        file.extend_from_slice(&header);
        file.extend_from_slice(frame);
    }
    file
}

/// A pcapng file of `frames`, odd ones outbound and even ones inbound.
fn write_pcapng(frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    use proto_core::pcapng::{self, Direction, EnhancedPacket, InterfaceDescription};
    let mut file = vec![0u8; 256];
    let mut n = pcapng::emit_section_header(&mut file);
    let idb = InterfaceDescription {
        linktype: 1,
        snaplen: 65535,
        name: "sim0",
        tsresol: 6,
    };
    n += idb.emit(&mut file[n..]);
    file.truncate(n);
    for (i, (micros, frame)) in frames.iter().enumerate() {
        let epb = EnhancedPacket {
            interface: 0,
            timestamp: 1_700_000_000_000_000 + micros,
            origlen: frame.len() as u32,
            direction: Some(if i % 2 == 0 {
                Direction::Outbound
            } else {
                Direction::Inbound
            }),
        };
        let start = file.len();
        file.resize(start + epb.buffer_len(frame.len()), 0);
        epb.emit(&mut file[start..], frame);
    }
    file
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("dissect-{}-{name}", std::process::id()))
}

/// tshark, with every checksum check on, reports no malformed packet, no expert error and no
/// bad checksum on any frame our TCP engine emits; and the dissectors agree on them.
#[test]
fn tshark_finds_no_error_in_frames_our_engine_emits() {
    assert!(
        tshark_installed(),
        "tshark is needed (scripts/test.sh installs it)"
    );
    let frames = engine_frames();
    assert!(frames.len() > 20, "{} frames", frames.len());
    // Every frame is TCP/IPv4: each checksum must have been checked and found good.
    let (n, v) = tshark_clean_and_agreeing(
        &frames,
        "engine.pcap",
        "_ws.malformed || _ws.expert.severity >= error || ip.checksum.status != 1 \
         || tcp.checksum.status != 1",
    );
    println!("{n} engine frames, {v} values compared, no tshark errors");
}

/// Writes `frames` to a pcap, has tshark (every checksum check on) list the frames matching
/// `bad` (a display filter for malformed frames, expert errors and bad checksums), asserts
/// there are none, and compares tshark's fields with ours; returns frames and values compared.
fn tshark_clean_and_agreeing(frames: &[(u64, Vec<u8>)], name: &str, bad: &str) -> (usize, usize) {
    let path = tmp(name);
    std::fs::write(&path, write_pcap(frames)).unwrap();
    let output = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-Y",
            bad,
        ])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(listed.trim().is_empty(), "tshark finds errors:\n{listed}");
    let (mut failures, mut n, mut v) = (Vec::new(), 0, 0);
    compare_file(&path, &mut failures, &mut n, &mut v);
    std::fs::remove_file(&path).unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    (n, v)
}

/// Frames our stack (`stack::Interface`) emits in a short session between two interfaces:
/// ARP, NDP, UDP over IPv4 and IPv6 (one datagram of 4,000 bytes, fragmented), and a TCP
/// exchange over IPv4 and IPv6 with close.
fn stack_frames() -> Vec<(u64, Vec<u8>)> {
    use pair::{A_IP, A_IP6, B_IP, B_IP6, Pair};
    use proto_core::stack::Capacities;
    use std::net::{IpAddr, SocketAddr};
    let mut p = Pair::new(&Capacities::default());
    p.record = Some(Vec::new());
    for (a_ip, b_ip) in [
        (IpAddr::from(A_IP), IpAddr::from(B_IP)),
        (A_IP6.into(), B_IP6.into()),
    ] {
        // UDP both ways (port 33333: no tshark dissector claims it).
        let ua = p.a.udp_bind(SocketAddr::new(a_ip, 33333)).unwrap();
        let ub = p.b.udp_bind(SocketAddr::new(b_ip, 33333)).unwrap();
        let big = vec![0x5a; if a_ip.is_ipv4() { 4000 } else { 1000 }];
        p.a.udp_send_to(ua, ub_addr(b_ip), b"hello").unwrap();
        p.pump();
        p.a.udp_send_to(ua, ub_addr(b_ip), &big).unwrap();
        p.pump();
        let mut buf = vec![0u8; 8192];
        while let Some((n, from)) = p.b.udp_recv_from(ub, &mut buf).unwrap() {
            p.b.udp_send_to(ub, from, &buf[..n.min(100)]).unwrap();
        }
        p.pump();
        // TCP: connect, a few hundred bytes each way, close.
        let l =
            p.b.tcp_listen(SocketAddr::new(b_ip, 33334), vec![None; 8])
                .unwrap();
        let c =
            p.a.tcp_connect(
                SocketAddr::new(b_ip, 33334),
                None,
                p.now,
                vec![0; 8192],
                vec![0; 8192],
            )
            .unwrap();
        p.pump();
        let s = p.b.tcp_accept(l).unwrap().expect("accepted");
        p.a.tcp(c).unwrap().send(&[1; 700]).unwrap();
        p.pump();
        let n = p.b.tcp(s).unwrap().recv(&mut buf).unwrap();
        p.b.tcp(s).unwrap().send(&buf[..n]).unwrap();
        p.b.tcp(s).unwrap().close();
        p.pump();
        p.a.tcp(c).unwrap().close();
        for _ in 0..20 {
            p.pump();
            if !p.advance() {
                break;
            }
        }
    }
    fn ub_addr(ip: std::net::IpAddr) -> std::net::SocketAddr {
        std::net::SocketAddr::new(ip, 33333)
    }
    p.record.take().unwrap()
}

/// tshark, with every checksum check on, reports no malformed packet, no expert error and no
/// bad checksum on any frame our stack emits (ARP, NDP, IPv4 fragments, UDP, TCP over both
/// IP versions); and the dissectors agree on every compared field.
#[test]
fn tshark_finds_no_error_in_frames_our_stack_emits() {
    assert!(
        tshark_installed(),
        "tshark is needed (scripts/test.sh installs it)"
    );
    use proto_core::wire::{Frame, Network, Transport};
    let frames = stack_frames();
    let parsed: Vec<_> = frames
        .iter()
        .map(|(_, f)| Frame::parse(f).unwrap())
        .collect();
    let count = |pred: &dyn Fn(&Frame<'_>) -> bool| parsed.iter().filter(|f| pred(f)).count();
    let arp = count(&|f| matches!(f.network, Some(Network::Arp(_))));
    let frags = count(&|f| matches!(&f.network, Some(Network::Ipv4(ip)) if ip.more_frags()));
    let tcp6 = count(&|f| {
        matches!(f.network, Some(Network::Ipv6 { .. }))
            && matches!(f.transport, Some(Transport::Tcp(_)))
    });
    let ndp = count(&|f| matches!(f.transport, Some(Transport::Icmpv6(_))));
    assert!(
        arp >= 2 && frags >= 2 && tcp6 >= 6 && ndp >= 2,
        "{} frames: {arp} ARP, {frags} IPv4 fragments, {tcp6} TCP/IPv6, {ndp} ICMPv6",
        frames.len()
    );
    // ARP frames carry no IP checksum: no checksum may be found bad.
    let (n, v) = tshark_clean_and_agreeing(
        &frames,
        "stack.pcap",
        "_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0 \
         || tcp.checksum.status == 0 || udp.checksum.status == 0 \
         || icmpv6.checksum.status == 0",
    );
    println!("{n} stack frames, {v} values compared, no tshark errors");
}

/// Files we write (pcap and pcapng) open in capinfos without warnings and read back in
/// tshark frame for frame; files editcap and tshark write (pcapng from pcap and back) read
/// back in ours with the same frames.
#[test]
fn capture_files_round_trip_through_wireshark_tools() {
    assert!(
        tshark_installed(),
        "tshark is needed (scripts/test.sh installs it)"
    );
    let frames = engine_frames();
    let expect: Vec<&[u8]> = frames.iter().map(|(_, f)| &f[..]).collect();
    for (ext, bytes) in [
        ("pcap", write_pcap(&frames)),
        ("pcapng", write_pcapng(&frames)),
    ] {
        let ours_path = tmp(&format!("ours.{ext}"));
        std::fs::write(&ours_path, &bytes).unwrap();
        let info = Command::new("capinfos").arg(&ours_path).output().unwrap();
        let text = String::from_utf8_lossy(&info.stdout);
        assert!(
            info.status.success(),
            "capinfos {ext}: {}",
            String::from_utf8_lossy(&info.stderr)
        );
        assert!(
            info.stderr.is_empty(),
            "capinfos {ext} warns: {}",
            String::from_utf8_lossy(&info.stderr)
        );
        assert!(
            text.contains(&format!("Number of packets:   {}", frames.len())),
            "capinfos {ext}: {text}"
        );
        let expected_type = if ext == "pcap" {
            "Wireshark/tcpdump/... - pcap"
        } else {
            "Wireshark/... - pcapng"
        };
        assert!(text.contains(expected_type), "capinfos {ext}: {text}");
        // Converted by editcap to the other format, then read back by ours.
        let other = if ext == "pcap" { "pcapng" } else { "pcap" };
        let theirs_path = tmp(&format!("editcap-from-{ext}.{other}"));
        let status = Command::new("editcap")
            .args(["-F", other])
            .arg(&ours_path)
            .arg(&theirs_path)
            .status()
            .unwrap();
        assert!(status.success(), "editcap -F {other}");
        let back = std::fs::read(&theirs_path).unwrap();
        let reader = CaptureReader::new(&back).unwrap();
        assert_eq!(reader.is_pcapng(), other == "pcapng");
        let got: Vec<proto_core::pcap::CapturedFrame<'_>> =
            reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(got.len(), expect.len(), "editcap {other}");
        for (i, (g, (micros, e))) in got.iter().zip(&frames).enumerate() {
            assert_eq!(g.data, &e[..], "editcap {other}: frame {}", i + 1);
            let t = 1_700_000_000_000_000 + micros;
            assert_eq!(
                (g.ts_sec, g.ts_nanos),
                (t / 1_000_000, (t % 1_000_000 * 1000) as u32),
                "editcap {other}: frame {} time",
                i + 1
            );
            if other == "pcapng" && ext == "pcapng" {
                assert!(g.direction.is_some());
            }
        }
        // tshark itself reads ours and writes pcapng with the directions kept.
        let tshark_path = tmp(&format!("tshark-from-{ext}.pcapng"));
        let status = Command::new("tshark")
            .arg("-r")
            .arg(&ours_path)
            .args(["-F", "pcapng", "-w"])
            .arg(&tshark_path)
            .status()
            .unwrap();
        assert!(status.success());
        let back = std::fs::read(&tshark_path).unwrap();
        let got: Vec<_> = CaptureReader::new(&back)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(got.iter().map(|g| g.data).collect::<Vec<_>>(), expect);
        if ext == "pcapng" {
            for (i, g) in got.iter().enumerate() {
                let want = if i % 2 == 0 {
                    proto_core::pcapng::Direction::Outbound
                } else {
                    proto_core::pcapng::Direction::Inbound
                };
                assert_eq!(g.direction, Some(want), "tshark-written frame {}", i + 1);
            }
        }
        for p in [&ours_path, &theirs_path, &tshark_path] {
            std::fs::remove_file(p).unwrap();
        }
    }
}
