//! tapd's HTTP interface as a [`Link`]: frames travel as base64 in JSON bodies over plain
//! HTTP/1.1 (`POST /send`, `GET /recv`), so the stack needs no privilege at all.
//!
//! ```text
//!   driver --send_batch--> [bounded queue] --> sender task --POST /send ["..",..]--> tapd
//!   driver <-recv_batch--  [bounded queue] <-- receiver task <--GET /recv?max&wait_ms-- tapd
//! ```
//!
//! Two tasks, each with its own kept-alive connection (a `reqwest::Client` of its own), talk
//! to tapd; the [`Link`] methods only touch the queues between them and the driver, so
//! [`recv_batch`](Link::recv_batch) is cancel-safe (a frame is taken from the queue only in
//! the poll that returns it) and [`send_batch`](Link::send_batch) never waits on the network:
//! when the send queue is full (tapd slower than the stack, or down), the batch is dropped and
//! counted, as a wire drops frames, and TCP recovers.
//!
//! # Modes
//!
//! [`HttpLink::connect`] reads `GET /info` (MTU, the TAP's address and MAC) and probes
//! `GET /recv?max=64&wait_ms=0`:
//!
//! - **batched** (tapd): the answer is a JSON array. Sends are `POST /send` of an array (the
//!   batches queued meanwhile are merged, up to [`SEND_BATCH`] frames a request); receives
//!   are long polls `GET /recv?max=1024&wait_ms=1000` that answer as soon as a frame is
//!   queued.
//! - **basic** (a daemon with only `POST /send`, `GET /recv` and `GET /info`, such as the
//!   original HTTP tap daemon): the answer is a JSON string, or a 4xx. Sends are one
//!   `POST /send` per frame; receives **poll** `GET /recv` (one frame or `""`), because the
//!   basic API cannot wait: again at once after a frame, after 1 ms after an empty answer,
//!   doubling to 50 ms while idle. Expect more latency and some CPU use while idle.
//!
//! Whatever the probe returned is delivered: it loses no frame.
//!
//! # Failures
//!
//! An unreachable tapd at start is an error that says how to start it. Once running, a
//! failed request (tapd restarted, connection reset) is logged and retried with exponential
//! backoff from 100 ms to 5 s; frames sent meanwhile are dropped. After a reconnection the
//! TAP device may be a new one with a new MAC: [`Link::reconnected`] tells the driver to
//! forget its neighbours. A rejected token (401) ends the link with an error.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Client, StatusCode, Url};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use proto_core::stack::Segmentation;

use super::{FrameBatch, Link};

/// Frames per `POST /send` at most (tapd takes up to 4096).
pub const SEND_BATCH: usize = 1024;
/// Frame bytes per `POST /send` at most (about 5.6 MB of JSON; tapd takes at least 8 MiB).
pub const SEND_BYTES: usize = 4 << 20;
/// Frames asked for per `GET /recv?max=` (tapd gives up to 4096).
pub const RECV_BATCH: usize = 1024;
/// How long a long poll waits on tapd's side.
pub const LONG_POLL_MS: u64 = 1000;
/// Batches queued toward the sender task; more are dropped.
const SEND_QUEUE: usize = 256;
/// Received batches queued toward the driver.
const RECV_QUEUE: usize = 64;
/// Reconnection backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Basic mode's polling interval bounds while idle.
const POLL_MIN: Duration = Duration::from_millis(1);
const POLL_MAX: Duration = Duration::from_millis(50);
/// Room for an Ethernet header and two VLAN tags in front of an MTU-sized packet.
const FRAME_OVERHEAD: usize = 14 + 8;

/// How the link talks to the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Arrays of frames per request, long-poll receives (tapd).
    Batched,
    /// One frame per request, polled receives (a daemon with only the basic endpoints).
    Basic,
}

/// What `GET /info` said about the TAP device (the original daemon's key names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TapInfo {
    /// The device's MTU.
    #[serde(rename = "MTU")]
    pub mtu: usize,
    /// The kernel side's address and prefix, e.g. `192.168.10.1/24`.
    #[serde(rename = "IPPrefix", default)]
    pub ip_prefix: String,
    /// The device's MAC (the kernel's side: not ours).
    #[serde(rename = "HardwareAddr", default)]
    pub hardware_addr: String,
    /// tapd's TCP segmentation offload: the largest IP packet of a `{"frame", "mss"}`
    /// element it takes (0, or absent in other daemons: none).
    #[serde(rename = "TSO", default)]
    pub tso: usize,
}

/// Counters of an [`HttpLink`], shared with its tasks.
#[derive(Debug, Default)]
pub struct HttpLinkStats {
    /// Frames posted to tapd.
    pub frames_sent: AtomicU64,
    /// Frames received from tapd.
    pub frames_received: AtomicU64,
    /// Frames dropped because the send queue was full or tapd unreachable.
    pub frames_dropped: AtomicU64,
    /// Requests that failed and were retried after a backoff.
    pub retries: AtomicU64,
    /// Times the link came back after failing.
    pub reconnects: AtomicU64,
}

/// What the tasks and the link share.
#[derive(Debug, Default)]
struct Shared {
    stats: HttpLinkStats,
    /// Set by a task when tapd answers again after a failure.
    reconnected: AtomicBool,
}

/// tapd's HTTP interface as a [`Link`]. See the [module docs](self).
#[derive(Debug)]
pub struct HttpLink {
    url: Url,
    mode: Mode,
    info: TapInfo,
    mtu: usize,
    to_sender: mpsc::Sender<FrameBatch>,
    from_receiver: mpsc::Receiver<io::Result<FrameBatch>>,
    /// An error taken from the queue while draining it, returned on the next call.
    pending_error: Option<io::Error>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// A request's context: base URL, token, client.
#[derive(Debug, Clone)]
struct Endpoint {
    base: Url,
    token: Option<String>,
    client: Client,
}

impl Endpoint {
    fn new(base: &Url, token: Option<&str>, timeout: Duration) -> io::Result<Self> {
        let client = Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .build()
            .map_err(|e| io::Error::other(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            base: base.clone(),
            token: token.map(str::to_string),
            client,
        })
    }

    fn url(&self, path_and_query: &str) -> Url {
        // `base` is an http URL with a host (checked by `parse_url`), so joining an absolute
        // path cannot fail; fall back to the base itself rather than panic.
        self.base
            .join(path_and_query)
            .unwrap_or_else(|_| self.base.clone())
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    async fn get(&self, path: &str) -> Result<(StatusCode, bytes::Bytes), RequestError> {
        let r = self.auth(self.client.get(self.url(path))).send().await?;
        let status = r.status();
        let body = r.bytes().await?;
        Ok((status, body))
    }

    async fn post(&self, body: Vec<u8>) -> Result<(StatusCode, bytes::Bytes), RequestError> {
        let r = self
            .auth(self.client.post(self.url("/send")))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = r.status();
        let body = r.bytes().await?;
        Ok((status, body))
    }
}

/// A failed request, in words for a person.
#[derive(Debug)]
struct RequestError(reqwest::Error);

impl From<reqwest::Error> for RequestError {
    fn from(e: reqwest::Error) -> Self {
        Self(e)
    }
}

impl RequestError {
    /// The io error kind underneath (connection refused, reset, ...), if any.
    fn io_kind(&self) -> Option<io::ErrorKind> {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&self.0);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                return Some(io.kind());
            }
            source = e.source();
        }
        None
    }

    fn describe(&self) -> String {
        if self.0.is_timeout() {
            return "timed out".to_string();
        }
        match self.io_kind() {
            Some(io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
            Some(io::ErrorKind::ConnectionReset) => "connection reset".to_string(),
            Some(kind) => format!("{kind}"),
            None => {
                // reqwest's Display is terse ("error sending request"); add the causes.
                let mut msg = self.0.to_string();
                let mut source = std::error::Error::source(&self.0);
                while let Some(e) = source {
                    msg.push_str(": ");
                    msg.push_str(&e.to_string());
                    source = e.source();
                }
                msg
            }
        }
    }

    fn kind(&self) -> io::ErrorKind {
        if self.0.is_timeout() {
            io::ErrorKind::TimedOut
        } else {
            self.io_kind().unwrap_or(io::ErrorKind::Other)
        }
    }
}

/// Checks a tapd URL: `http://host[:port][/]` (plain HTTP: tapd has no TLS).
pub fn parse_url(url: &str) -> io::Result<Url> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let parsed = Url::parse(url).map_err(|e| bad(format!("bad tapd URL {url:?}: {e}")))?;
    match parsed.scheme() {
        "http" => {}
        "https" => {
            return Err(bad(format!(
                "bad tapd URL {url:?}: tapd speaks plain HTTP (on loopback); use http://"
            )));
        }
        other => {
            return Err(bad(format!(
                "bad tapd URL {url:?}: scheme {other:?}; expected http://HOST:PORT"
            )));
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad(format!("bad tapd URL {url:?}: no host")));
    }
    Ok(parsed)
}

/// The message for a tapd that cannot be reached at start.
fn unreachable(url: &Url, e: &RequestError) -> io::Error {
    let hint = match e.io_kind() {
        Some(io::ErrorKind::ConnectionRefused) => " — start it with `sudo tapd --dhcp`",
        _ => " — is tapd running there? (start it with `sudo tapd --dhcp`)",
    };
    io::Error::new(
        e.kind(),
        format!(
            "cannot reach tapd at {}: {}{hint}",
            url.as_str().trim_end_matches('/'),
            e.describe()
        ),
    )
}

/// An answer that is not 200, as an error naming the request.
fn status_error(url: &Url, what: &str, status: StatusCode, body: &[u8]) -> io::Error {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let base = url.as_str().trim_end_matches('/');
    if status == StatusCode::UNAUTHORIZED {
        return io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "tapd at {base} refused {what}: {status}: {} (give its token with --token or TAPD_TOKEN)",
                text.trim()
            ),
        );
    }
    io::Error::other(format!("tapd at {base}: {what}: {status}: {}", text.trim()))
}

/// Appends base64 `frames` to `out`; an invalid one is an error naming it.
fn decode_into<'a>(
    frames: impl IntoIterator<Item = &'a str>,
    out: &mut FrameBatch,
) -> io::Result<()> {
    for (i, s) in frames.into_iter().enumerate() {
        if s.is_empty() {
            continue;
        }
        let mut result = Ok(());
        out.push_with(s.len() / 4 * 3 + 3, |buf| {
            match STANDARD.decode_slice(s, buf) {
                Ok(n) => n,
                Err(e) => {
                    result = Err(e);
                    0
                }
            }
        });
        result.map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("tapd sent frame {i} that is not base64: {e}"),
            )
        })?;
    }
    Ok(())
}

/// A `/recv` answer: an array (batched) or a string (basic).
fn parse_recv(body: &[u8], out: &mut FrameBatch) -> io::Result<Mode> {
    let bad = |e: serde_json::Error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("tapd's /recv answer is not a JSON string or array of base64: {e}"),
        )
    };
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => {
            let frames: Vec<&str> = serde_json::from_slice(body).map_err(bad)?;
            decode_into(frames, out)?;
            Ok(Mode::Batched)
        }
        _ => {
            let frame: &str = serde_json::from_slice(body).map_err(bad)?;
            decode_into([frame], out)?;
            Ok(Mode::Basic)
        }
    }
}

/// Splits frames into requests: one frame each in basic mode; else up to [`SEND_BATCH`]
/// frames and [`SEND_BYTES`] bytes each (tapd bounds its bodies; 64 KiB segmented frames
/// would otherwise overrun that).
fn requests<'a, T>(
    frames: &'a [(&'a [u8], T)],
    mode: Mode,
) -> impl Iterator<Item = &'a [(&'a [u8], T)]> {
    let mut rest = frames;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut n = 0;
        let mut bytes = 0;
        while n < rest.len() {
            let full = match mode {
                Mode::Basic => n == 1,
                Mode::Batched => n == SEND_BATCH || (n > 0 && bytes + rest[n].0.len() > SEND_BYTES),
            };
            if full {
                break;
            }
            bytes += rest[n].0.len();
            n += 1;
        }
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// `["b64", {"frame": "b64", "mss": N}, ...]` (an object for a frame tapd must segment) or,
/// for one frame, `"b64"`.
fn encode<'a>(
    frames: impl Iterator<Item = (&'a [u8], Option<Segmentation>)>,
    array: bool,
    out: &mut Vec<u8>,
) {
    out.clear();
    if array {
        out.push(b'[');
    }
    for (i, (f, seg)) in frames.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if seg.is_some() {
            out.extend_from_slice(b"{\"frame\":");
        }
        out.push(b'"');
        let start = out.len();
        out.resize(start + f.len().div_ceil(3) * 4, 0);
        // The room is exactly the encoded length, so this cannot fail.
        let n = STANDARD.encode_slice(f, &mut out[start..]).unwrap_or(0);
        out.truncate(start + n);
        out.push(b'"');
        if let Some(seg) = seg {
            out.extend_from_slice(format!(",\"mss\":{}}}", seg.mss).as_bytes());
        }
    }
    if array {
        out.push(b']');
    }
}

/// Exponential backoff with logging of the transitions (down, back up).
struct Backoff {
    what: &'static str,
    url: String,
    delay: Duration,
    failing: bool,
}

impl Backoff {
    fn new(what: &'static str, url: &Url) -> Self {
        Self {
            what,
            url: url.as_str().trim_end_matches('/').to_string(),
            delay: BACKOFF_MIN,
            failing: false,
        }
    }

    /// A request failed: log, then sleep the current delay and double it.
    async fn failed(&mut self, shared: &Shared, why: &str) {
        shared.stats.retries.fetch_add(1, Ordering::Relaxed);
        if !self.failing {
            tracing::warn!(
                "tapd at {} unreachable ({}: {why}); retrying with backoff up to {:?}",
                self.url,
                self.what,
                BACKOFF_MAX
            );
        } else {
            tracing::debug!(
                "tapd at {}: {} failed again ({why}); next try in {:?}",
                self.url,
                self.what,
                self.delay
            );
        }
        self.failing = true;
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
    }

    /// A request succeeded.
    fn ok(&mut self, shared: &Shared) {
        if self.failing {
            // A warning too: it closes the one that said the link was down.
            tracing::warn!("tapd at {} answers again ({})", self.url, self.what);
            shared.stats.reconnects.fetch_add(1, Ordering::Relaxed);
            shared.reconnected.store(true, Ordering::Release);
        }
        self.failing = false;
        self.delay = BACKOFF_MIN;
    }
}

impl HttpLink {
    /// Connects to tapd at `url` (e.g. `http://127.0.0.1:7070`), with a bearer `token` if
    /// it wants one: reads `/info`, probes the batch endpoints, and starts the two tasks (on
    /// the current tokio runtime). Fails with a message that says what to do when tapd is
    /// not there, refuses the token, or answers nonsense.
    pub async fn connect(url: &str, token: Option<&str>) -> io::Result<Self> {
        let url = parse_url(url)?;
        let probe = Endpoint::new(&url, token, Duration::from_secs(10))?;
        let (status, body) = probe
            .get("/info")
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let info = match status {
            StatusCode::OK => serde_json::from_slice::<TapInfo>(&body).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} answered /info with something that is not tapd's: {e}",
                        url.as_str().trim_end_matches('/')
                    ),
                )
            })?,
            StatusCode::UNAUTHORIZED => return Err(status_error(&url, "/info", status, &body)),
            // A daemon without /info: assume Ethernet's MTU.
            _ => TapInfo {
                mtu: 1500,
                ..TapInfo::default()
            },
        };
        let mut first = FrameBatch::new();
        let (status, body) = probe
            .get("/recv?max=64&wait_ms=0")
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let mode = match status {
            StatusCode::OK => parse_recv(&body, &mut first)?,
            StatusCode::UNAUTHORIZED => return Err(status_error(&url, "/recv", status, &body)),
            s if s.is_client_error() => Mode::Basic,
            s => return Err(status_error(&url, "/recv", s, &body)),
        };
        let mtu = if info.mtu >= 68 { info.mtu } else { 1500 };
        tracing::info!(
            "tapd at {}: {} mode, MTU {mtu}, TAP {} {}",
            url.as_str().trim_end_matches('/'),
            match mode {
                Mode::Batched => "batched/long-poll",
                Mode::Basic => "basic (polling)",
            },
            info.ip_prefix,
            info.hardware_addr
        );
        let shared = Arc::new(Shared::default());
        let (to_sender, sender_rx) = mpsc::channel(SEND_QUEUE);
        let (receiver_tx, from_receiver) = mpsc::channel(RECV_QUEUE);
        if !first.is_empty() {
            shared
                .stats
                .frames_received
                .fetch_add(first.len() as u64, Ordering::Relaxed);
            // The queue is new and empty: this cannot fail.
            let _ = receiver_tx.try_send(Ok(first));
        }
        let long = Duration::from_millis(LONG_POLL_MS) + Duration::from_secs(10);
        let send_ep = Endpoint::new(&url, token, Duration::from_secs(10))?;
        let recv_ep = Endpoint::new(&url, token, long)?;
        let tasks = vec![
            tokio::spawn(sender(send_ep, mode, sender_rx, shared.clone())),
            tokio::spawn(receiver(recv_ep, mode, mtu, receiver_tx, shared.clone())),
        ];
        Ok(Self {
            url,
            mode,
            info,
            mtu,
            to_sender,
            from_receiver,
            pending_error: None,
            shared,
            tasks,
        })
    }

    /// The mode chosen at connection.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What tapd said about its device.
    pub fn info(&self) -> &TapInfo {
        &self.info
    }

    /// The daemon's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The link's counters.
    pub fn stats(&self) -> &HttpLinkStats {
        &self.shared.stats
    }

    /// A handle on the counters that outlives the link (it moves into the driver).
    pub fn stats_handle(&self) -> HttpStatsHandle {
        HttpStatsHandle(self.shared.clone())
    }
}

/// Shared access to an [`HttpLink`]'s counters.
#[derive(Debug, Clone)]
pub struct HttpStatsHandle(Arc<Shared>);

impl HttpStatsHandle {
    /// The counters.
    pub fn stats(&self) -> &HttpLinkStats {
        &self.0.stats
    }
}

impl Drop for HttpLink {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Link for HttpLink {
    async fn recv_batch(&mut self, out: &mut FrameBatch) -> io::Result<()> {
        out.clear();
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        // `recv` is cancel-safe: a batch leaves the queue only when it is returned here.
        let first = match self.from_receiver.recv().await {
            Some(Ok(b)) => b,
            Some(Err(e)) => return Err(e),
            None => return Err(io::Error::other("the HTTP link's receiver task ended")),
        };
        for f in first.iter() {
            out.push(f);
        }
        while let Ok(more) = self.from_receiver.try_recv() {
            match more {
                Ok(b) => b.iter().for_each(|f| out.push(f)),
                Err(e) => {
                    self.pending_error = Some(e);
                    break;
                }
            }
        }
        Ok(())
    }

    async fn send_batch(&mut self, frames: &FrameBatch) -> io::Result<()> {
        match self.to_sender.try_send(frames.clone()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(b)) => {
                // tapd is slower than we are, or down: drop, as a wire does.
                self.shared
                    .stats
                    .frames_dropped
                    .fetch_add(b.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // The sender ended on a fatal error; the receiver reports it too.
                Err(io::Error::other(format!(
                    "the HTTP link to {} stopped",
                    self.url.as_str().trim_end_matches('/')
                )))
            }
        }
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn tso(&self) -> usize {
        match self.mode {
            Mode::Batched => self.info.tso.min(proto_core::stack::MAX_SEGMENTED_PACKET),
            Mode::Basic => 0,
        }
    }

    fn reconnected(&mut self) -> bool {
        self.shared.reconnected.swap(false, Ordering::AcqRel)
    }
}

/// Posts queued batches, merged up to [`SEND_BATCH`] frames (basic mode: one per request).
async fn sender(
    ep: Endpoint,
    mode: Mode,
    mut queue: mpsc::Receiver<FrameBatch>,
    shared: Arc<Shared>,
) {
    let mut backoff = Backoff::new("POST /send", &ep.base);
    let mut body = Vec::new();
    let mut batches: Vec<FrameBatch> = Vec::new();
    while let Some(batch) = queue.recv().await {
        batches.clear();
        let mut count = batch.len();
        batches.push(batch);
        while count < SEND_BATCH {
            match queue.try_recv() {
                Ok(b) => {
                    count += b.len();
                    batches.push(b);
                }
                Err(_) => break,
            }
        }
        let frames: Vec<_> = batches
            .iter()
            .flat_map(FrameBatch::iter_segmented)
            .collect();
        for chunk in requests(&frames, mode) {
            encode(chunk.iter().copied(), mode == Mode::Batched, &mut body);
            let n = chunk.len() as u64;
            match ep.post(std::mem::take(&mut body)).await {
                Ok((StatusCode::OK, _)) => {
                    backoff.ok(&shared);
                    shared.stats.frames_sent.fetch_add(n, Ordering::Relaxed);
                }
                Ok((StatusCode::UNAUTHORIZED, text)) => {
                    tracing::error!(
                        "{}",
                        status_error(&ep.base, "POST /send", StatusCode::UNAUTHORIZED, &text)
                    );
                    return;
                }
                Ok((status, text)) => {
                    // tapd refused these frames (too long for its MTU, ...): drop them.
                    backoff.ok(&shared);
                    shared.stats.frames_dropped.fetch_add(n, Ordering::Relaxed);
                    tracing::warn!("{}", status_error(&ep.base, "POST /send", status, &text));
                }
                Err(e) => {
                    shared.stats.frames_dropped.fetch_add(n, Ordering::Relaxed);
                    backoff.failed(&shared, &e.describe()).await;
                    // What queued up while tapd was away is stale: the link was down.
                    while let Ok(b) = queue.try_recv() {
                        shared
                            .stats
                            .frames_dropped
                            .fetch_add(b.len() as u64, Ordering::Relaxed);
                    }
                    break;
                }
            }
        }
    }
}

/// Long-polls (batched) or polls (basic) `/recv` and queues what arrives for the driver.
async fn receiver(
    ep: Endpoint,
    mode: Mode,
    mtu: usize,
    queue: mpsc::Sender<io::Result<FrameBatch>>,
    shared: Arc<Shared>,
) {
    let path = match mode {
        Mode::Batched => format!("/recv?max={RECV_BATCH}&wait_ms={LONG_POLL_MS}"),
        Mode::Basic => "/recv".to_string(),
    };
    let mut backoff = Backoff::new("GET /recv", &ep.base);
    let mut idle = POLL_MIN;
    loop {
        let (status, body) = match ep.get(&path).await {
            Ok(r) => r,
            Err(e) => {
                backoff.failed(&shared, &e.describe()).await;
                continue;
            }
        };
        if status == StatusCode::UNAUTHORIZED {
            let _ = queue
                .send(Err(status_error(&ep.base, "GET /recv", status, &body)))
                .await;
            return;
        }
        if status != StatusCode::OK {
            tracing::warn!("{}", status_error(&ep.base, "GET /recv", status, &body));
            backoff.failed(&shared, &format!("status {status}")).await;
            continue;
        }
        backoff.ok(&shared);
        let mut batch = FrameBatch::with_capacity(0, mtu + FRAME_OVERHEAD);
        if let Err(e) = parse_recv(&body, &mut batch) {
            // One bad answer is tapd's bug, not a reason to stop the stack.
            tracing::warn!("{e}");
            continue;
        }
        if batch.is_empty() {
            if mode == Mode::Basic {
                tokio::time::sleep(idle).await;
                idle = (idle * 2).min(POLL_MAX);
            }
            continue;
        }
        idle = POLL_MIN;
        shared
            .stats
            .frames_received
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        if queue.send(Ok(batch)).await.is_err() {
            return; // the link was dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_arrays_and_single_frames() {
        let mut out = Vec::new();
        encode(
            [(&b"\x01\x02\x03"[..], None), (b"ab", None)].into_iter(),
            true,
            &mut out,
        );
        assert_eq!(out, br#"["AQID","YWI="]"#);
        encode(std::iter::once((&b"ab"[..], None)), false, &mut out);
        assert_eq!(out, br#""YWI=""#);
        encode(std::iter::empty(), true, &mut out);
        assert_eq!(out, b"[]");
        let seg = Segmentation {
            mss: 1448,
            header_len: 66,
            ipv6: false,
        };
        encode(
            [(&b"ab"[..], Some(seg)), (b"ab", None)].into_iter(),
            true,
            &mut out,
        );
        assert_eq!(out, br#"[{"frame":"YWI=","mss":1448},"YWI="]"#);
    }

    #[test]
    fn requests_are_bounded_in_frames_and_bytes() {
        let big = vec![0u8; SEND_BYTES / 2 + 1];
        let frames: Vec<(&[u8], ())> = vec![(&big[..], ()); 3];
        let sizes: Vec<usize> = requests(&frames, Mode::Batched).map(<[_]>::len).collect();
        assert_eq!(sizes, [1, 1, 1]);
        let small: Vec<(&[u8], ())> = vec![(&b"x"[..], ()); SEND_BATCH + 5];
        let sizes: Vec<usize> = requests(&small, Mode::Batched).map(<[_]>::len).collect();
        assert_eq!(sizes, [SEND_BATCH, 5]);
        let sizes: Vec<usize> = requests(&small[..3], Mode::Basic).map(<[_]>::len).collect();
        assert_eq!(sizes, [1, 1, 1]);
        assert_eq!(requests(&small[..0], Mode::Batched).count(), 0);
    }

    #[test]
    fn parses_both_recv_shapes() {
        let mut b = FrameBatch::new();
        assert_eq!(
            parse_recv(br#"["AQID","YWI="]"#, &mut b).unwrap(),
            Mode::Batched
        );
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![&[1u8, 2, 3][..], b"ab"]);
        let mut b = FrameBatch::new();
        assert_eq!(parse_recv(br#""YWI=""#, &mut b).unwrap(), Mode::Basic);
        assert_eq!(b.len(), 1);
        let mut b = FrameBatch::new();
        assert_eq!(parse_recv(br#""""#, &mut b).unwrap(), Mode::Basic);
        assert!(b.is_empty());
        assert_eq!(parse_recv(b" []", &mut b).unwrap(), Mode::Batched);
        let e = parse_recv(br#"["!!"]"#, &mut b).unwrap_err();
        assert!(e.to_string().contains("not base64"), "{e}");
        let e = parse_recv(b"{}", &mut b).unwrap_err();
        assert!(e.to_string().contains("not a JSON string or array"), "{e}");
    }

    #[test]
    fn urls_are_checked() {
        assert!(parse_url("http://127.0.0.1:7070").is_ok());
        for (bad, why) in [
            ("https://127.0.0.1", "plain HTTP"),
            ("ftp://x", "scheme"),
            ("127.0.0.1:7070", "bad tapd URL"),
            ("not a url", "bad tapd URL"),
        ] {
            let e = parse_url(bad).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn a_missing_tapd_is_a_clear_error() {
        // A port nobody listens on: bind one, learn it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = HttpLink::connect(&format!("http://127.0.0.1:{port}"), None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(
            e.to_string(),
            format!(
                "cannot reach tapd at http://127.0.0.1:{port}: connection refused — start it with `sudo tapd --dhcp`"
            )
        );
    }
}
