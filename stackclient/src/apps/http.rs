//! HTTP/1.1 over the runtime: [`serve`] runs an axum 0.8 `Router` on a userspace
//! [`TcpListener`] (which is an `axum::serve::Listener`), and [`Client`] (or
//! [`get`]) fetches with hyper 1 over userspace [`TcpStream`]s, keeping connections alive per
//! host and following up to 5 redirects. Chunked bodies are hyper's.
//!
//! ```no_run
//! # async fn example(stack: stackclient::runtime::Stack) -> std::io::Result<()> {
//! use stackclient::apps::http;
//! use stackclient::runtime::TcpListener;
//!
//! let router = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
//! let listener = TcpListener::bind(&stack, "0.0.0.0:80".parse().unwrap(), 64)?;
//! tokio::spawn(http::serve(listener, router));
//!
//! let page = http::get(&stack, "http://10.0.0.2/").await?;
//! assert_eq!(page.status, 200);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, Uri, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::dns::Resolver;
use crate::runtime::{Stack, TcpListener, TcpStream};

/// The client side under its own path (`apps::http::client::get`), for callers that name it so.
pub mod client {
    pub use super::{Client, MAX_REDIRECTS, Response, get};
}

/// The most redirects [`Client::get`] follows.
pub const MAX_REDIRECTS: usize = 5;
/// Idle connections kept per host.
const IDLE_PER_HOST: usize = 4;

/// Serves `router` on `listener` until the future is dropped (HTTP/1.1, keep-alive,
/// chunked responses: axum's and hyper's defaults).
pub async fn serve(listener: TcpListener, router: Router) -> io::Result<()> {
    axum::serve(listener, router).await
}

/// A fetched page: the final response of a redirect chain, its body read whole.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (de-chunked).
    pub body: Bytes,
    /// The URL that answered (after redirects).
    pub url: Uri,
    /// Redirects followed.
    pub redirects: usize,
}

type Sender = SendRequest<Empty<Bytes>>;

/// Where a connection goes: scheme-less authority.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    host: String,
    port: u16,
}

/// An HTTP/1.1 client over a [`Stack`]: cheap to clone (clones share the connection pool).
#[derive(Clone)]
pub struct Client {
    stack: Stack,
    resolver: Option<Resolver>,
    pool: Arc<Mutex<HashMap<Origin, Vec<Sender>>>>,
    opened: Arc<AtomicU64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// Fetches `url` with a one-off [`Client`] (no resolver: the host must be an IP address).
pub async fn get(stack: &Stack, url: &str) -> io::Result<Response> {
    Client::new(stack).get(url).await
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl Client {
    /// A client with an empty pool and no resolver.
    pub fn new(stack: &Stack) -> Self {
        Self {
            stack: stack.clone(),
            resolver: None,
            pool: Arc::default(),
            opened: Arc::default(),
        }
    }

    /// With a resolver for host names.
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// TCP connections opened so far (keep-alive reuses them).
    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// GETs `url` (`http://` only), following up to [`MAX_REDIRECTS`] redirects (301, 302,
    /// 303, 307, 308; relative `Location`s resolved against the current URL), and reads the
    /// body.
    pub async fn get(&self, url: &str) -> io::Result<Response> {
        let mut uri: Uri = url
            .parse()
            .map_err(|e| invalid(format!("bad URL {url:?}: {e}")))?;
        let mut redirects = 0;
        loop {
            let resp = self.get_once(&uri).await?;
            let status = resp.status();
            let location = resp.headers().get(header::LOCATION).cloned();
            let is_redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if let (true, Some(loc)) = (is_redirect, location) {
                if redirects == MAX_REDIRECTS {
                    return Err(io::Error::other(format!(
                        "HTTP: more than {MAX_REDIRECTS} redirects from {url} (the last to {uri})"
                    )));
                }
                redirects += 1;
                // The body of a redirect is read (and dropped) so the connection can be reused.
                let _ = resp.into_body().collect().await;
                uri = join(&uri, &loc)?;
                continue;
            }
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| io::Error::other(format!("HTTP: reading the body of {uri}: {e}")))?
                .to_bytes();
            return Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
                url: uri,
                redirects,
            });
        }
    }

    /// One request, on a pooled connection when one is alive (retried once on a fresh
    /// connection if the pooled one turns out closed: GET is idempotent).
    async fn get_once(&self, uri: &Uri) -> io::Result<hyper::Response<hyper::body::Incoming>> {
        let origin = origin_of(uri)?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let host = match origin.port {
            80 => origin.host.clone(),
            p => format!("{}:{p}", origin.host),
        };
        let request = || {
            Request::get(path)
                .header(header::HOST, &host)
                .header(
                    header::USER_AGENT,
                    HeaderValue::from_static("stackclient/0.1"),
                )
                .header(header::ACCEPT, HeaderValue::from_static("*/*"))
                .body(Empty::<Bytes>::new())
                .map_err(|e| invalid(format!("HTTP: bad request for {uri}: {e}")))
        };
        if let Some(mut sender) = self.pooled(&origin).await {
            match sender.send_request(request()?).await {
                Ok(resp) => {
                    self.give_back(origin, sender);
                    return Ok(resp);
                }
                Err(e) => tracing::debug!(error = %e, "HTTP: pooled connection failed, retrying"),
            }
        }
        let mut sender = self.connect(&origin).await?;
        let resp = sender
            .send_request(request()?)
            .await
            .map_err(|e| io::Error::other(format!("HTTP: GET {uri}: {e}")))?;
        self.give_back(origin, sender);
        Ok(resp)
    }

    /// An idle connection to `origin` that is still open.
    async fn pooled(&self, origin: &Origin) -> Option<Sender> {
        loop {
            let mut s = {
                let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
                pool.get_mut(origin)?.pop()?
            };
            if s.ready().await.is_ok() {
                return Some(s);
            }
        }
    }

    /// Puts a connection back in the pool; hyper hands it out again once the response in
    /// flight is read (`ready` waits for that), and closes it if either side said `close`.
    fn give_back(&self, origin: Origin, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        let idle = pool.entry(origin).or_default();
        idle.retain(|s| !s.is_closed());
        if idle.len() < IDLE_PER_HOST {
            idle.push(sender);
        }
    }

    async fn connect(&self, origin: &Origin) -> io::Result<Sender> {
        let ip = self.resolve(&origin.host).await?;
        let addr = SocketAddr::new(ip, origin.port);
        let stream = TcpStream::connect(&self.stack, addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("HTTP: connecting to {addr}: {e}")))?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| io::Error::other(format!("HTTP: handshake with {addr}: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %addr, "HTTP: connection ended");
            }
        });
        Ok(sender)
    }

    async fn resolve(&self, host: &str) -> io::Result<IpAddr> {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse() {
            return Ok(ip);
        }
        let r = self.resolver.as_ref().ok_or_else(|| {
            invalid(format!(
                "HTTP: {host} is a name and the client has no resolver (Client::with_resolver)"
            ))
        })?;
        r.lookup(host).await?.into_iter().next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
        })
    }
}

fn origin_of(uri: &Uri) -> io::Result<Origin> {
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            return Err(invalid(format!(
                "HTTP: scheme {other} of {uri} is not supported (http:// only)"
            )));
        }
        None => {
            return Err(invalid(format!(
                "HTTP: {uri} is not an absolute http:// URL"
            )));
        }
    }
    let host = uri
        .host()
        .ok_or_else(|| invalid(format!("HTTP: {uri} has no host")))?;
    Ok(Origin {
        host: host.to_owned(),
        port: uri.port_u16().unwrap_or(80),
    })
}

/// `location` resolved against `base` (RFC 3986 §5.2, the common cases: absolute URL,
/// absolute path, relative path; dot segments are left to the server).
fn join(base: &Uri, location: &HeaderValue) -> io::Result<Uri> {
    let loc = location.to_str().map_err(|_| {
        invalid(format!(
            "HTTP: redirect from {base} to a non-ASCII Location"
        ))
    })?;
    let bad = |e: axum::http::uri::InvalidUri| {
        invalid(format!(
            "HTTP: redirect from {base} to a bad Location {loc:?}: {e}"
        ))
    };
    if loc.contains("://") {
        return loc.parse().map_err(bad);
    }
    let authority = base.authority().map_or("", |a| a.as_str());
    let scheme = base.scheme_str().unwrap_or("http");
    if let Some(rest) = loc.strip_prefix("//") {
        return format!("{scheme}://{rest}").parse().map_err(bad);
    }
    let path = if loc.starts_with('/') {
        loc.to_owned()
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{loc}")
    };
    format!("{scheme}://{authority}{path}").parse().map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn redirect_locations_resolve_against_the_url() {
        let base: Uri = "http://10.0.0.1:8000/a/b?q=1".parse().unwrap();
        let cases = [
            ("http://x/y", "http://x/y"),
            ("/c", "http://10.0.0.1:8000/c"),
            ("c/d", "http://10.0.0.1:8000/a/c/d"),
            ("//h:1/p", "http://h:1/p"),
        ];
        for (loc, want) in cases {
            assert_eq!(join(&base, &hv(loc)).unwrap().to_string(), want, "{loc}");
        }
    }

    #[test]
    fn only_http_urls() {
        let e = origin_of(&"https://x/".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        let o = origin_of(&"http://[fd00::1]:81/".parse().unwrap()).unwrap();
        assert_eq!((o.host.as_str(), o.port), ("[fd00::1]", 81));
    }
}
