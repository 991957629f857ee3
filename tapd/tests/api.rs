//! The HTTP API over the library, with an in-memory link instead of a TAP device: no root
//! needed. Covers what is easier to make exact without a kernel: delivery exactly once under
//! concurrent readers, a link that fails, a `/pcap` viewer that stops reading.

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Http;
use proto_core::app::dhcp::{DhcpRepr, MessageType};
use proto_core::pcapng::Direction;
use proto_core::wire::{
    EtherType, EthernetAddress, EthernetRepr, Frame, IpAddrPair, IpProtocol, Ipv4Addr, Ipv4Repr,
    UdpRepr,
};
use tapd::dhcp::{DhcpOptions, DhcpResponder};
use tapd::{Hub, HubConfig, Link};

/// Records what is written; fails the write of any frame whose first byte is 0xee.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Vec<u8>>>>);

impl Link for Recorder {
    fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        if frame[0] == 0xee {
            return Err(std::io::Error::other("injected failure"));
        }
        self.0.lock().unwrap().push(frame.to_vec());
        Ok(())
    }
}

/// A daemon on 127.0.0.1:0 with an in-memory link, served on its own runtime thread.
struct Served {
    hub: Arc<Hub>,
    addr: SocketAddr,
    written: Recorder,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn new(queue_len: usize) -> Self {
        Self::with(queue_len, false)
    }

    /// With `dhcp`, the hub runs the `--dhcp` server.
    fn with(queue_len: usize, dhcp: bool) -> Self {
        let written = Recorder::default();
        let hub = Hub::new(
            HubConfig {
                mtu: 1500,
                prefix: "192.168.10.1/24".parse().unwrap(),
                hardware_addr: "02:00:00:00:00:01".parse().unwrap(),
                queue_len,
                token: None,
                if_name: "tap0".into(),
            },
            written.clone(),
        );
        let hub = Arc::new(if dhcp {
            let d = DhcpResponder::new(
                hub.config().prefix,
                hub.config().hardware_addr,
                &DhcpOptions::default(),
            )
            .unwrap();
            hub.with_dhcp(d)
        } else {
            hub
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = {
            let hub = hub.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    addr_tx.send(listener.local_addr().unwrap()).unwrap();
                    tapd::run(listener, hub, async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
                });
            })
        };
        Self {
            hub,
            addr: addr_rx.recv().unwrap(),
            written,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn frame(id: u32, len: usize) -> Bytes {
    let mut f = vec![0u8; len];
    f[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    f[14..18].copy_from_slice(&id.to_be_bytes());
    Bytes::from(f)
}

fn id(f: &[u8]) -> u32 {
    u32::from_be_bytes(f[14..18].try_into().unwrap())
}

#[test]
fn each_frame_goes_to_exactly_one_recv_under_concurrent_readers() {
    let served = Served::new(100_000);
    const N: u32 = 20_000;
    let frames: Vec<Bytes> = (0..N).map(|i| frame(i, 60)).collect();
    for chunk in frames.chunks(500) {
        served.hub.ingest(chunk);
    }
    let addr = served.addr;
    let readers: Vec<_> = (0..4)
        .map(|r| {
            std::thread::spawn(move || {
                let mut http = Http::new(addr);
                let mut got = Vec::new();
                loop {
                    // Mix the single-frame and batch forms.
                    let batch = if r % 2 == 0 {
                        http.recv_frames(7, 0)
                    } else {
                        http.recv_one(0).into_iter().collect()
                    };
                    if batch.is_empty() {
                        return got;
                    }
                    got.extend(batch.iter().map(|f| id(f)));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for r in readers {
        let got = r.join().unwrap();
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "each reader sees oldest first"
        );
        all.extend(got);
    }
    assert_eq!(all.len(), N as usize, "no frame lost, none twice");
    assert_eq!(
        all.iter().copied().collect::<HashSet<_>>().len(),
        N as usize
    );
    let s = served.hub.snapshot();
    assert_eq!((s.frames_delivered, s.queue_depth), (u64::from(N), 0));
}

#[test]
fn send_writes_in_order_and_reports_a_failing_link() {
    let served = Served::new(16);
    let mut http = Http::new(served.addr);
    let frames: Vec<Bytes> = (0..5).map(|i| frame(i, 64)).collect();
    http.send_frames(&frames);
    http.send_frame(&frame(5, 1518));
    let written = served.written.0.lock().unwrap().clone();
    assert_eq!(
        written.iter().map(|f| id(f)).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );

    let mut bad = frame(9, 60).to_vec();
    bad[0] = 0xee;
    let body = common::json_array(&[frame(7, 60).to_vec(), frame(8, 60).to_vec(), bad]);
    let r = http.request("POST", "/send", body.as_bytes()).unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(
        r.error(),
        "device write failed at frame 2 of 3 (the 2 before it were sent): injected failure"
    );
    let s = served.hub.snapshot();
    assert_eq!((s.frames_to_tap, s.tap_write_errors), (8, 1));
    assert_eq!(
        s.bad_requests, 0,
        "a device failure is not the client's fault"
    );
}

#[test]
fn info_stats_healthz_and_long_poll_shapes() {
    let served = Served::new(16);
    let mut http = Http::new(served.addr);
    assert_eq!(
        http.get("/info").text(),
        r#"{"MTU":1500,"IPPrefix":"192.168.10.1/24","HardwareAddr":"02:00:00:00:00:01","DataReady":false,"TSO":0}"#
    );
    assert_eq!(http.get("/healthz").text(), r#"{"status":"ok"}"#);
    let stats = http.stats();
    for key in [
        "frames_from_tap",
        "bytes_from_tap",
        "frames_to_tap",
        "bytes_to_tap",
        "frames_delivered",
        "queue_depth",
        "queue_capacity",
        "queue_dropped",
        "bad_requests",
        "tap_write_errors",
        "tap_read_errors",
        "pcap_viewers",
        "pcap_dropped",
    ] {
        assert!(stats[key].is_u64(), "{key} in {stats}");
    }
    served.hub.ingest(&[frame(1, 60)]);
    assert_eq!(http.get("/info").json()["DataReady"], true);
    // HEAD /recv would take a frame and drop it with the body: refused instead.
    let head = http.request("HEAD", "/recv", b"").unwrap();
    assert_eq!(head.status, 405);
    assert_eq!(head.header("allow"), Some("GET"));
    assert_eq!(
        http.get("/info").json()["DataReady"],
        true,
        "the frame is still there"
    );
    // A long poll with a frame already queued answers at once.
    let t0 = Instant::now();
    assert_eq!(http.recv_frames(4, 10_000).len(), 1);
    assert!(t0.elapsed() < Duration::from_secs(2));
    // wait_ms=0 is a plain poll.
    assert_eq!(http.recv_one(0), None);
    let r = http.get("/recv?wait_ms=0");
    assert_eq!(r.text(), "\"\"");
}

#[test]
fn a_pcap_viewer_that_stops_reading_loses_frames_and_slows_nothing() {
    let served = Served::new(1024);
    let mut slow = std::net::TcpStream::connect(served.addr).unwrap();
    std::io::Write::write_all(&mut slow, b"GET /pcap HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut head = [0u8; 512];
    let _ = slow.read(&mut head).unwrap();
    let mut http = Http::new(served.addr);
    let deadline = Instant::now() + Duration::from_secs(5);
    while http.stat("pcap_viewers") != 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    // 100,000 full-size frames (150 MB) while the viewer reads nothing: the producer never
    // waits for it.
    let frames: Vec<Bytes> = (0..64).map(|i| frame(i, 1514)).collect();
    let t0 = Instant::now();
    for _ in 0..(100_000 / 64) {
        served.hub.ingest(&frames);
    }
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(10), "ingest took {took:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = http.stats();
        if s["pcap_dropped"].as_u64().unwrap() > 50_000 {
            break;
        }
        assert!(Instant::now() < deadline, "drops not counted: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(5);
    while http.stat("pcap_viewers") != 0 {
        assert!(Instant::now() < deadline, "viewer gauge not released");
        served.hub.ingest(&frames[..1]);
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn pcap_stream_holds_both_directions_in_order_for_every_viewer() {
    pcap_stream("/pcap", "application/vnd.tcpdump.pcap");
}

#[test]
fn pcapng_stream_holds_both_directions_with_direction_flags() {
    pcap_stream("/pcap?format=pcapng", "application/x-pcapng");
}

#[test]
fn pcap_with_a_bad_format_is_refused() {
    let served = Served::new(4);
    let mut s = std::net::TcpStream::connect(served.addr).unwrap();
    std::io::Write::write_all(
        &mut s,
        b"GET /pcap?format=ng HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("format=ng: must be pcap or pcapng"), "{text}");
}

/// Two viewers of `path` each get every frame, both directions, in order.
fn pcap_stream(path: &'static str, content_type: &str) {
    let served = Served::new(1024);
    let addr = served.addr;
    let viewer = move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(
            &mut s,
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    };
    let viewers = [std::thread::spawn(viewer), std::thread::spawn(viewer)];
    let mut http = Http::new(served.addr);
    let deadline = Instant::now() + Duration::from_secs(5);
    while http.stat("pcap_viewers") != 2 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    http.send_frame(&frame(1, 60));
    served.hub.ingest(&[frame(2, 70)]);
    http.send_frames(&[frame(3, 80), frame(4, 90)]);
    served.hub.begin_shutdown();
    for viewer in viewers {
        let raw = viewer.join().unwrap();
        // Strip the HTTP head and the chunked framing.
        let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&raw[..at]).to_lowercase();
        assert!(
            head.contains(&format!("content-type: {content_type}")),
            "{head}"
        );
        let mut body = Vec::new();
        let mut rest = &raw[at..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap(), 16).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        let reader = proto_core::pcap::CaptureReader::new(&body).unwrap();
        assert_eq!(reader.is_pcapng(), path.contains("pcapng"));
        let ids: Vec<(u32, usize, Option<Direction>)> = reader
            .map(|r| {
                let r = r.unwrap();
                assert_eq!(r.origlen as usize, r.data.len());
                (id(r.data), r.data.len(), r.direction)
            })
            .collect();
        let (out, inb) = if reader_is_ng(path) {
            (Some(Direction::Outbound), Some(Direction::Inbound))
        } else {
            (None, None)
        };
        assert_eq!(
            ids,
            [(1, 60, out), (2, 70, inb), (3, 80, out), (4, 90, out)]
        );
    }
}

fn reader_is_ng(path: &str) -> bool {
    path.contains("pcapng")
}

#[test]
fn errors_made_outside_the_handlers_get_the_json_shape_too() {
    use axum::http::StatusCode;
    use tower::ServiceExt;
    let served = Served::new(4);
    // A route answering plain text, wrapped in the same guard as the real router.
    let app = axum::Router::new()
        .route(
            "/teapot",
            axum::routing::get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }),
        )
        .layer(axum::middleware::from_fn_with_state(
            served.hub.clone(),
            tapd::http::guard,
        ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let response = rt
        .block_on(
            app.oneshot(
                axum::http::Request::get("/teapot")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            ),
        )
        .unwrap();
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    let body = rt
        .block_on(axum::body::to_bytes(response.into_body(), 1024))
        .unwrap();
    assert_eq!(
        &body[..],
        br#"{"error":"GET /teapot: I'm a teapot: short and stout"}"#
    );
    assert_eq!(served.hub.snapshot().bad_requests, 1);
}

/// A DHCP message from a client (0.0.0.0:68 -> 255.255.255.255:67) in a whole frame.
fn dhcp_frame(msg: &DhcpRepr<'_>, mac: EthernetAddress) -> Bytes {
    let mut m = vec![0u8; msg.buffer_len()];
    msg.emit(&mut m);
    let (src, dst) = (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST);
    let mut out = vec![0u8; 42 + m.len()];
    EthernetRepr::new(mac, EthernetAddress::BROADCAST, EtherType::Ipv4).emit(&mut out);
    Ipv4Repr::new(src, dst, IpProtocol::Udp, 8 + m.len()).emit(&mut out[14..]);
    UdpRepr {
        src_port: 68,
        dst_port: 67,
    }
    .emit(&mut out[34..], &IpAddrPair::V4 { src, dst }, &m);
    Bytes::from(out)
}

#[test]
fn dhcp_is_answered_towards_the_clients_and_still_written_to_the_device() {
    let served = Served::with(64, true);
    let mut http = Http::new(served.addr);
    let mac = EthernetAddress([2, 0, 0, 0, 0, 0x42]);
    let tapd = Ipv4Addr::new(192, 168, 10, 1);

    let discover = dhcp_frame(&DhcpRepr::new(MessageType::Discover, 1, mac), mac);
    // In a batch with other frames: only the DHCP message is answered.
    http.send_frames(&[frame(1, 60), discover.clone(), frame(2, 60)]);
    let offer = http.recv_one(1000).expect("an OFFER in /recv");
    let f = Frame::parse(&offer).unwrap();
    f.verify_checksums().unwrap();
    let o = DhcpRepr::parse_bytes(f.payload).unwrap();
    assert_eq!(o.message_type, MessageType::Offer);
    assert_eq!(
        (o.yiaddr, o.router, o.server_id),
        (Ipv4Addr::new(192, 168, 10, 2), Some(tapd), Some(tapd))
    );
    assert_eq!(o.dns_servers.iter().collect::<Vec<_>>(), [tapd]);
    assert!(http.recv_one(0).is_none(), "one reply");

    let mut req = DhcpRepr::new(MessageType::Request, 2, mac);
    req.requested_ip = Some(o.yiaddr);
    req.server_id = Some(tapd);
    http.send_frame(&dhcp_frame(&req, mac));
    let ack = http.recv_one(1000).expect("an ACK in /recv");
    let f = Frame::parse(&ack).unwrap();
    let a = DhcpRepr::parse_bytes(f.payload).unwrap();
    assert_eq!((a.message_type, a.yiaddr), (MessageType::Ack, o.yiaddr));
    assert_eq!(a.lease_time, Some(3600));

    // The client's frames went to the device too (a capture on it shows them); the replies
    // did not, and are counted apart from frames read from the device.
    let written = served.written.0.lock().unwrap().clone();
    assert_eq!(written.len(), 4);
    assert_eq!(written[1], discover.to_vec());
    let s = served.hub.snapshot();
    assert_eq!(
        (s.dhcp_replies, s.frames_from_tap, s.frames_delivered),
        (2, 0, 2)
    );

    // Without --dhcp nothing answers.
    let plain = Served::new(64);
    let mut http = Http::new(plain.addr);
    http.send_frame(&discover);
    assert!(http.recv_one(200).is_none());
}
