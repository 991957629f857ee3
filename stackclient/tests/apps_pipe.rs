//! The application glue between two userspace stacks over an in-memory pipe (no root): our
//! DHCP client against our DHCP server, NTP query against our server, and our HTTP client
//! against axum served on the userspace listener (keep-alive, chunked bodies, redirects).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Redirect;
use axum::routing::get;
use proto_core::app::dhcp::{AddrList, DhcpServer, ServerConfig};
use proto_core::stack::Config;
use proto_core::wire::EthernetAddress;
use stackclient::apps::dhcp::{DhcpClientConfig, DhcpServerTask};
use stackclient::apps::http::{self, Client};
use stackclient::apps::ntp;
use stackclient::link::pipe;
use stackclient::runtime::{Stack, StackConfig, TcpListener};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

fn stacks(a: Config, b: Config) -> (Stack, Stack) {
    let (la, lb) = pipe::pair(4096);
    let (a, _) = Stack::new(StackConfig::new(a), la);
    let (b, _) = Stack::new(StackConfig::new(b), lb);
    (a, b)
}

fn server_config() -> Config {
    Config::new(EthernetAddress([2, 0, 0, 0, 0, 0xa]))
        .with_ipv4("10.0.0.1/24".parse().unwrap(), None)
}

#[tokio::test]
async fn our_dhcp_client_gets_a_lease_from_our_server_and_releases_it() {
    timeout(LIMIT, async {
        let client_mac = EthernetAddress([2, 0, 0, 0, 0, 0xb]);
        let (srv, cli) = stacks(server_config(), Config::new(client_mac));
        let us = Ipv4Addr::new(10, 0, 0, 1);
        let mut cfg = ServerConfig::new(
            us,
            Ipv4Addr::new(10, 0, 0, 100),
            Ipv4Addr::new(10, 0, 0, 109),
            Ipv4Addr::new(255, 255, 255, 0),
        );
        cfg.router = Some(us);
        cfg.dns_servers = AddrList::from_slice(&[us]);
        let server = DhcpServerTask::spawn(&srv, DhcpServer::<8, 1>::new(cfg)).unwrap();
        // No ARP probe: the pipe's far side has the server only; keeps the test short.
        let mut dhcp = cli
            .dhcp(DhcpClientConfig::new("pipe").with_arp_probe(false))
            .unwrap();
        let lease = dhcp.bound(Duration::from_secs(10)).await.unwrap();
        assert_eq!(lease.addr, Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!((lease.prefix_len, lease.router), (24, Some(us)));
        assert_eq!(cli.config().ipv4.map(|c| c.address()), Some(lease.addr));
        assert_eq!(server.bindings().len(), 1);
        // The server reaches the client at its new address.
        let ntp_srv = cli.clone();
        tokio::spawn(async move { ntp::serve(&ntp_srv, "0.0.0.0:123".parse().unwrap()).await });
        let s = ntp::query(&srv, SocketAddr::from((lease.addr, 123)), 1)
            .await
            .unwrap();
        assert!(s.offset_ns.abs() < 10_000_000, "{s:?}");
        dhcp.release().await.unwrap();
        assert_eq!(cli.config().ipv4, None);
        // The RELEASE freed the binding.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !server.bindings().is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{:?}",
                server.bindings()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_dhcp_client_without_server_says_what_it_tried() {
    let (_a, cli) = stacks(
        server_config(),
        Config::new(EthernetAddress([2, 0, 0, 0, 0, 0xb])),
    );
    let mut dhcp = cli.dhcp(DhcpClientConfig::new("pipe0")).unwrap();
    let e = dhcp.bound(Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    assert!(
        e.to_string()
            .starts_with("no DHCP offer after 1 DISCOVER(s) over 0 s on pipe0"),
        "{e}"
    );
}

fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route(
            "/chunked",
            get(|| async {
                // No length known up front: hyper sends it chunked.
                let parts = (0..50).map(|i| Ok::<_, std::io::Error>(format!("part {i}\n")));
                Body::from_stream(futures_util::stream::iter(parts))
            }),
        )
        .route(
            "/r/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    if n == 0 {
                        Redirect::to("/")
                    } else {
                        Redirect::temporary(&format!("{}", n - 1))
                    }
                },
            ),
        )
}

#[tokio::test]
async fn our_http_client_fetches_from_axum_with_keep_alive_chunks_and_redirects() {
    timeout(LIMIT, async {
        let (srv, cli) = stacks(
            server_config(),
            Config::new(EthernetAddress([2, 0, 0, 0, 0, 0xb]))
                .with_ipv4("10.0.0.2/24".parse().unwrap(), None),
        );
        let listener = TcpListener::bind(&srv, "0.0.0.0:80".parse().unwrap(), 64).unwrap();
        tokio::spawn(http::serve(listener, router()));
        let client = Client::new(&cli);
        let page = client.get("http://10.0.0.1/").await.unwrap();
        assert_eq!((page.status.as_u16(), &page.body[..]), (200, &b"hello"[..]));
        let chunked = client.get("http://10.0.0.1/chunked").await.unwrap();
        assert_eq!(
            chunked.headers.get("transfer-encoding").unwrap(),
            "chunked",
            "{:?}",
            chunked.headers
        );
        let want: String = (0..50).map(|i| format!("part {i}\n")).collect();
        assert_eq!(chunked.body, want.as_bytes());
        // 3 redirects: /r/3 -> /r/2 -> /r/1 -> /r/0 -> / ... that is 4, within 5.
        let r = client.get("http://10.0.0.1/r/3").await.unwrap();
        assert_eq!((r.status.as_u16(), r.redirects), (200, 4));
        assert_eq!(r.url.to_string(), "http://10.0.0.1/");
        // 6 redirects: too many.
        let e = client.get("http://10.0.0.1/r/5").await.unwrap_err();
        assert!(e.to_string().contains("more than 5 redirects"), "{e}");
        // Keep-alive: every request above went over one connection.
        assert_eq!(client.connections_opened(), 1);
        // The one-off form.
        let page = http::get(&cli, "http://10.0.0.1:80/").await.unwrap();
        assert_eq!(&page.body[..], b"hello");
    })
    .await
    .unwrap();
}
