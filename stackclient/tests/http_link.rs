//! The HTTP link against a tiny fake daemon (axum, in process, on 127.0.0.1:0) that has only
//! the three basic endpoints of the original HTTP tap daemon: `POST /send` of one JSON string,
//! `GET /recv` answering one string or `""` (any query ignored), `GET /info`. No root.
//!
//! Then two userspace stacks talk to each other through it: the fake daemon's two queues
//! cross over, so what one stack sends the other receives, all in basic (polling) mode.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proto_core::stack::Config;
use proto_core::wire::EthernetAddress;
use stackclient::link::http::{HttpLink, Mode};
use stackclient::link::{FrameBatch, Link};
use stackclient::runtime::{Stack, StackConfig, TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One "device": frames toward the client, frames the client sent, and how many posts.
#[derive(Default)]
struct Fake {
    to_client: Mutex<VecDeque<Vec<u8>>>,
    from_client: Mutex<Vec<Vec<u8>>>,
    posts: Mutex<usize>,
}

/// Frames posted to `send` are queued on `deliver` (another fake, or the same one's log).
struct Ends {
    me: Arc<Fake>,
    peer: Option<Arc<Fake>>,
}

async fn send(State(e): State<Arc<Ends>>, body: String) -> Result<(), (StatusCode, String)> {
    // The basic API: exactly one JSON string per request.
    let s: String = serde_json::from_str(&body)
        .map_err(|err| (StatusCode::BAD_REQUEST, format!("not a JSON string: {err}")))?;
    let frame = STANDARD
        .decode(s)
        .map_err(|err| (StatusCode::BAD_REQUEST, format!("base64: {err}")))?;
    *e.me.posts.lock().unwrap() += 1;
    match &e.peer {
        Some(p) => p.to_client.lock().unwrap().push_back(frame),
        None => e.me.from_client.lock().unwrap().push(frame),
    }
    Ok(())
}

async fn recv(State(e): State<Arc<Ends>>) -> String {
    let f = e.me.to_client.lock().unwrap().pop_front();
    serde_json::to_string(&f.map(|f| STANDARD.encode(f)).unwrap_or_default()).unwrap()
}

async fn info() -> &'static str {
    r#"{"MTU":1500,"IPPrefix":"10.9.0.1/24","HardwareAddr":"aa:bb:cc:dd:ee:ff","DataReady":false}"#
}

/// Serves a fake daemon; returns its URL.
async fn serve(ends: Ends) -> String {
    let app = Router::new()
        .route("/send", post(send))
        .route("/recv", get(recv))
        .route("/info", get(info))
        .with_state(Arc::new(ends));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_mode_sends_one_frame_per_post_and_polls() {
    let fake = Arc::new(Fake::default());
    // A frame queued before we connect: the probe takes it and must deliver it.
    fake.to_client.lock().unwrap().push_back(vec![1; 60]);
    let url = serve(Ends {
        me: fake.clone(),
        peer: None,
    })
    .await;
    let mut link = HttpLink::connect(&url, None).await.unwrap();
    assert_eq!(link.mode(), Mode::Basic);
    assert_eq!(link.mtu(), 1500);
    assert_eq!(link.info().hardware_addr, "aa:bb:cc:dd:ee:ff");

    let mut got = FrameBatch::new();
    tokio::time::timeout(Duration::from_secs(5), link.recv_batch(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.iter().collect::<Vec<_>>(), vec![&[1u8; 60][..]]);

    // Later frames arrive by polling.
    for i in 2..5u8 {
        fake.to_client.lock().unwrap().push_back(vec![i; 64]);
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        tokio::time::timeout(Duration::from_secs(5), link.recv_batch(&mut got))
            .await
            .unwrap()
            .unwrap();
        seen.extend(got.iter().map(<[u8]>::to_vec));
    }
    assert_eq!(seen, vec![vec![2; 64], vec![3; 64], vec![4; 64]]);

    // A batch of three goes out as three posts, in order.
    let mut out = FrameBatch::new();
    for i in 0..3u8 {
        out.push(&[i; 100]);
    }
    link.send_batch(&out).await.unwrap();
    for _ in 0..100 {
        if fake.from_client.lock().unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        *fake.from_client.lock().unwrap(),
        vec![vec![0; 100], vec![1; 100], vec![2; 100]]
    );
    assert_eq!(*fake.posts.lock().unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stacks_talk_tcp_through_basic_daemons() {
    let a = Arc::new(Fake::default());
    let b = Arc::new(Fake::default());
    let url_a = serve(Ends {
        me: a.clone(),
        peer: Some(b.clone()),
    })
    .await;
    let url_b = serve(Ends {
        me: b.clone(),
        peer: Some(a.clone()),
    })
    .await;
    let link_a = HttpLink::connect(&url_a, None).await.unwrap();
    let link_b = HttpLink::connect(&url_b, None).await.unwrap();
    let cfg = |mac: u8, ip: &str| {
        StackConfig::new(
            Config::new(EthernetAddress([2, 0, 0, 0, 0, mac])).with_ipv4(ip.parse().unwrap(), None),
        )
    };
    let (sa, _) = Stack::new(cfg(1, "10.9.0.2/24"), link_a);
    let (sb, _) = Stack::new(cfg(2, "10.9.0.3/24"), link_b);
    let listener = TcpListener::bind(&sb, "10.9.0.3:7".parse().unwrap(), 4).unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
        s.shutdown().await.unwrap();
    });
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    tokio::time::timeout(Duration::from_secs(60), async {
        let mut s = TcpStream::connect(&sa, "10.9.0.3:7".parse().unwrap())
            .await
            .unwrap();
        s.write_all(&data).await.unwrap();
        s.shutdown().await.unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).await.unwrap();
        assert!(back == data, "echo differs: {} bytes", back.len());
    })
    .await
    .expect("TCP through the basic daemons took too long");
    server.await.unwrap();
}
