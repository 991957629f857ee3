//! `stackclient serve-http` (or `--serve-http`): an HTTP server on the userspace stack, with
//! axum over our `TcpListener`.
//!
//! | path | answer |
//! |---|---|
//! | `GET /` | an HTML page: address, uptime, the stack's counters, the last 20 connections |
//! | `GET /bytes/{n}` | `n` bytes streamed (byte `i` is `i % 256`), never held in memory |
//! | `POST /echo` | the request body back, streamed |
//! | `GET /stats` | the same facts as JSON |

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use clap::Args;
use stackclient::runtime::{Stack, TcpListener, TcpStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Global, Up, bring_up, run_until};

/// Connections listed on the index page.
const RECENT: usize = 20;
/// The chunk `/bytes/{n}` sends (a multiple of 256, so every chunk is the same bytes).
const CHUNK: usize = 64 * 1024;

/// `serve-http`'s options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The TCP port to serve on.
    #[arg(long, default_value_t = 80)]
    pub port: u16,
}

/// One connection's record: updated by its stream as bytes move.
#[derive(Debug)]
struct Conn {
    peer: SocketAddr,
    opened: SystemTime,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    open: AtomicBool,
}

/// What the handlers share.
struct App {
    stack: Stack,
    started: Instant,
    address: String,
    mac: String,
    link: String,
    up: &'static str,
    http_stats: Option<stackclient::link::http::HttpStatsHandle>,
    connections: AtomicU64,
    recent: Mutex<VecDeque<Arc<Conn>>>,
}

impl App {
    fn recent(&self) -> Vec<Arc<Conn>> {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .rev()
            .cloned()
            .collect()
    }
}

/// Our listener, recording each accepted connection.
struct Listener {
    inner: TcpListener,
    app: Arc<App>,
}

/// A stream that counts its bytes into its [`Conn`].
struct Counted {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl axum::serve::Listener for Listener {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        let (stream, peer) = axum::serve::Listener::accept(&mut self.inner).await;
        let conn = Arc::new(Conn {
            peer,
            opened: SystemTime::now(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            open: AtomicBool::new(true),
        });
        self.app.connections.fetch_add(1, Ordering::Relaxed);
        let mut recent = self.app.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(conn.clone());
        drop(recent);
        (
            Counted {
                inner: stream,
                conn,
            },
            peer,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local_addr())
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.conn.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = r {
            self.conn.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            self.conn.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.conn.open.store(false, Ordering::Relaxed);
    }
}

/// Runs the server until Ctrl-C or the link fails.
pub async fn run(g: &Global, a: &ServeArgs) -> anyhow::Result<()> {
    let mut up = bring_up(g).await?;
    // With DHCP the address may change at a renewal: listen on any.
    let bind_ip = match up.lease {
        Some(_) => std::net::Ipv4Addr::UNSPECIFIED,
        None => up.cidr.address(),
    };
    let local = SocketAddr::new(bind_ip.into(), a.port);
    let listener = TcpListener::bind(&up.stack, local, 128)
        .with_context(|| format!("listening on {local}"))?;
    let app = Arc::new(app_state(&up));
    let router = router(app.clone());
    if let Some(l) = &up.lease {
        out!("{}", super::up::describe_lease(l));
    }
    let shown = SocketAddr::new(up.cidr.address().into(), a.port);
    out!(
        "serving http://{shown}/ on the userspace stack (MAC {}, over {}); Ctrl-C to stop",
        up.mac,
        up.link
    );
    let server = axum::serve(
        Listener {
            inner: listener,
            app,
        },
        router,
    );
    let result = run_until(&mut up, async move {
        server.await.context("serving HTTP")?;
        Ok(())
    })
    .await;
    up.finish().await;
    result.map(drop)
}

fn app_state(up: &Up) -> App {
    let gw = up
        .gateway
        .map(|g| format!(", gateway {g}"))
        .unwrap_or_default();
    App {
        stack: up.stack.clone(),
        started: Instant::now(),
        address: format!("{}{gw}", up.cidr),
        mac: up.mac.to_string(),
        link: up.link.clone(),
        up: if up.lease.is_some() { "DHCP" } else { "static" },
        http_stats: up.http_stats.clone(),
        connections: AtomicU64::new(0),
        recent: Mutex::new(VecDeque::with_capacity(RECENT)),
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/bytes/{n}", get(bytes))
        .route("/echo", post(echo))
        .route("/stats", get(stats))
        .with_state(app)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn index(State(app): State<Arc<App>>) -> Html<String> {
    let mut h = String::new();
    let uptime = app.started.elapsed().as_secs();
    let _ = write!(
        h,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>stackclient</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:0 1em 0 0;text-align:left}}\
         td.n{{text-align:right}}</style></head><body>\n\
         <h1>stackclient: a userspace network stack</h1>\n\
         <p>Address <b>{}</b> ({}), MAC {}, over {}. Up {}h {:02}m {:02}s. {} connections so far.</p>\n\
         <p><a href=\"/stats\">/stats</a> (JSON), <a href=\"/bytes/1048576\">/bytes/N</a> \
         (N bytes, for throughput tests), POST /echo (the body back).</p>\n",
        escape(&app.address),
        app.up,
        app.mac,
        escape(&app.link),
        uptime / 3600,
        uptime / 60 % 60,
        uptime % 60,
        app.connections.load(Ordering::Relaxed),
    );
    h.push_str("<h2>Recent connections</h2>\n<table><tr><th>peer</th><th>opened</th><th>bytes in</th><th>bytes out</th><th>state</th></tr>\n");
    for c in app.recent() {
        let ago = c.opened.elapsed().map(|d| d.as_secs()).unwrap_or(0);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{ago} s ago</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>",
            c.peer,
            c.bytes_in.load(Ordering::Relaxed),
            c.bytes_out.load(Ordering::Relaxed),
            if c.open.load(Ordering::Relaxed) {
                "open"
            } else {
                "closed"
            }
        );
    }
    h.push_str("</table>\n<h2>Stack counters</h2>\n<table>\n");
    for (name, v) in app.stack.stats().fields() {
        let _ = writeln!(h, "<tr><td>{name}</td><td class=n>{v}</td></tr>");
    }
    h.push_str("</table>\n</body></html>\n");
    Html(h)
}

/// `n` bytes, byte `i` being `i % 256`, in shared 64 KiB chunks.
async fn bytes(Path(n): Path<u64>) -> Response {
    static PATTERN: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    let chunk = PATTERN
        .get_or_init(|| Bytes::from((0..CHUNK).map(|i| i as u8).collect::<Vec<u8>>()))
        .clone();
    let mut left = n;
    let stream = futures_util::stream::poll_fn(move |_| {
        if left == 0 {
            return Poll::Ready(None);
        }
        let take = left.min(CHUNK as u64) as usize;
        left -= take as u64;
        Poll::Ready(Some(Ok::<_, io::Error>(chunk.slice(..take))))
    });
    let mut r = Body::from_stream(stream).into_response();
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

/// The request body back, streamed (with its length when the request had one).
async fn echo(req: Request) -> Response {
    let length = req.headers().get(header::CONTENT_LENGTH).cloned();
    let mut r = Response::new(req.into_body());
    if let Some(l) = length {
        r.headers_mut().insert(header::CONTENT_LENGTH, l);
    }
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

async fn stats(State(app): State<Arc<App>>) -> Response {
    let counters: serde_json::Map<String, serde_json::Value> = app
        .stack
        .stats()
        .fields()
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).into()))
        .collect();
    let recent: Vec<serde_json::Value> = app
        .recent()
        .iter()
        .map(|c| {
            serde_json::json!({
                "peer": c.peer.to_string(),
                "bytes_in": c.bytes_in.load(Ordering::Relaxed),
                "bytes_out": c.bytes_out.load(Ordering::Relaxed),
                "open": c.open.load(Ordering::Relaxed),
            })
        })
        .collect();
    let link_stats = app.http_stats.as_ref().map(|h| {
        let s = h.stats();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "frames_sent": get(&s.frames_sent),
            "frames_received": get(&s.frames_received),
            "frames_dropped": get(&s.frames_dropped),
            "retries": get(&s.retries),
            "reconnects": get(&s.reconnects),
        })
    });
    let body = serde_json::json!({
        "link_stats": link_stats,
        "address": app.address,
        "mac": app.mac,
        "link": app.link,
        "uptime_secs": app.started.elapsed().as_secs_f64(),
        "connections": app.connections.load(Ordering::Relaxed),
        "recent_connections": recent,
        "stack": counters,
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
