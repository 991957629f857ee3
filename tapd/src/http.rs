//! The HTTP API: the router, its handlers, and the one JSON error shape every 4xx has.
//!
//! | method, path | answer |
//! |---|---|
//! | `POST /send` | body: a JSON string of base64 (one frame) or an array of them (an element may be `{"frame": b64, "mss": N}`: a TCP frame up to `TSO` bytes for the kernel to segment); 200, empty |
//! | `GET /recv` | a JSON string of base64, `""` when none; `?max=N` an array; `?wait_ms=T` long-poll |
//! | `GET /info` | `{"MTU":..,"IPPrefix":..,"HardwareAddr":..,"DataReady":..,"TSO":..}` |
//! | `GET /pcap` | a live pcap stream of both directions (`?format=pcapng`: pcapng with direction flags) |
//! | `GET /stats` | counters, see [`StatsSnapshot`](crate::hub::StatsSnapshot) |
//! | `GET /healthz` | `{"status":"ok"}` |
//!
//! Every client error is a 4xx with `{"error": "..."}` saying what is wrong, including axum's
//! own rejections (unknown path, wrong method, body over the bound): the [`guard`] middleware
//! rewrites any error response that is not already in that shape.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{DefaultBodyLimit, FromRequest, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::body::{self, FrameBatch, MAX_BATCH};
use crate::capture;
use crate::hub::{Hub, bump};

/// The longest a `GET /recv?wait_ms=T` may wait.
pub const MAX_WAIT_MS: u64 = 60_000;

/// How many `POST /send` bodies are buffered and decoded at once; more wait their turn. With
/// [`body_limit`] this bounds the memory bodies can take, whatever clients do.
pub const SEND_CONCURRENCY: usize = 16;

/// The largest `POST /send` body for an MTU: a full batch of the largest frames, between
/// 8 MiB (room for a client's 4 MiB of segmented frames whatever the MTU) and 16 MiB
/// (so 8 MiB for MTU 1500).
pub fn body_limit(mtu: u16) -> usize {
    let frame = body::max_frame_len_any(mtu).div_ceil(3) * 4 + 3;
    (MAX_BATCH * frame + 16).clamp(8 << 20, 16 << 20)
}

/// A 4xx (or 5xx) answer with a JSON body `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// What is wrong, for a person.
    pub message: String,
}

/// Marks a response whose body already is `{"error": ...}`, so [`guard`] leaves it alone.
#[derive(Debug, Clone, Copy)]
struct JsonErrorBody;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&ErrorBody {
            error: &self.message,
        })
        .unwrap_or_else(|_| r#"{"error":"unprintable error"}"#.to_string());
        let mut response = (self.status, json_headers(), body).into_response();
        response.extensions_mut().insert(JsonErrorBody);
        response
    }
}

fn json_headers() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )]
}

fn json(body: String) -> Response {
    (json_headers(), body).into_response()
}

/// Shortens what a client sent before quoting it back.
fn quote(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// The methods a path takes, for 405 answers; `None` for an unknown path.
fn allowed_methods(path: &str) -> Option<&'static str> {
    match path {
        "/send" => Some("POST"),
        "/recv" | "/info" | "/pcap" | "/stats" | "/healthz" => Some("GET"),
        _ => None,
    }
}

/// The router, with its state. Serve it with [`crate::run`], or drive it in tests with
/// `tower::ServiceExt::oneshot`.
pub fn router(hub: Arc<Hub>) -> Router {
    let sends = Arc::new(Semaphore::new(SEND_CONCURRENCY));
    let limit = body_limit(hub.config().mtu);
    Router::new()
        .route(
            "/send",
            post(move |state, req| send(state, sends.clone(), req)),
        )
        // Not HEAD: axum would run the GET handler and drop the body, losing a frame.
        .route("/recv", get(recv).head(method_not_allowed))
        .route("/info", get(info))
        .route("/pcap", get(pcap))
        .route("/stats", get(stats))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(hub.clone(), guard))
        .with_state(hub)
}

/// Runs around every request: checks the bearer token when one is configured, counts 4xx
/// answers, and gives any error answer without a JSON body one that says what went wrong.
pub async fn guard(State(hub): State<Arc<Hub>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let response = match check_token(&hub, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            let mut r = e.into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
    };
    let status = response.status();
    if status.is_client_error() {
        bump(&hub.stats().bad_requests, 1);
        tracing::debug!(%method, path = quote(uri.path()), status = status.as_u16(), "client error");
    }
    if (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<JsonErrorBody>().is_none()
    {
        return to_json_error(&method, &uri, response, hub.config().mtu).await;
    }
    response
}

/// Rewrites an error answer made outside our handlers (axum's rejections) as `{"error": ..}`.
async fn to_json_error(method: &Method, uri: &Uri, response: Response, mtu: u16) -> Response {
    let status = response.status();
    let path = quote(uri.path());
    let message = match status {
        StatusCode::NOT_FOUND => format!("unknown path {path}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("method {method} not allowed on {path}"),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("body over the {}-byte bound", body_limit(mtu))
        }
        _ => {
            let (_, body) = response.into_parts();
            let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            let reason = status.canonical_reason().unwrap_or("error");
            match text.trim() {
                "" => format!("{method} {path}: {reason}"),
                t => format!("{method} {path}: {reason}: {}", quote(t)),
            }
        }
    };
    ApiError::new(status, message).into_response()
}

/// Compares the bearer token in constant time (only its length can show through timing).
fn check_token(hub: &Hub, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = hub.config().token.as_deref() else {
        return Ok(());
    };
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m);
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing Authorization: Bearer <token> header"))?;
    let given = value
        .as_bytes()
        .strip_prefix(b"Bearer ")
        .ok_or_else(|| unauthorized("Authorization header is not 'Bearer <token>'"))?;
    if bool::from(given.ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        Err(unauthorized("wrong bearer token"))
    }
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "unknown path {}; try /send, /recv, /info, /pcap, /stats or /healthz",
            quote(uri.path())
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let path = quote(uri.path());
    let allow = allowed_methods(uri.path()).unwrap_or("GET");
    let mut r = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} not allowed on {path}; use {allow}"),
    )
    .into_response();
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// `POST /send`.
async fn send(State(hub): State<Arc<Hub>>, sends: Arc<Semaphore>, req: Request) -> Response {
    // The semaphore is never closed, so acquiring only waits.
    let Ok(_permit) = sends.acquire().await else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    };
    let mtu = hub.config().mtu;
    let body = match Bytes::from_request(req, &()).await {
        Ok(b) => b,
        Err(e) => return body_rejection(e, mtu).into_response(),
    };
    let limits = body::Limits {
        mtu,
        tso: hub.tso(),
    };
    let batch = match FrameBatch::parse_with(&body, limits) {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
    };
    drop(body);
    let count = batch.len();
    match hub.send_batch(batch) {
        Ok(()) => StatusCode::OK.into_response(),
        Err((i, e)) => {
            let status = if e.kind() == std::io::ErrorKind::WouldBlock {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            tracing::warn!(frame = i, error = %e, "writing to the device failed");
            ApiError::new(
                status,
                format!(
                    "device write failed at frame {i} of {count} (the {i} before it were sent): {e}"
                ),
            )
            .into_response()
        }
    }
}

fn body_rejection(e: BytesRejection, mtu: u16) -> ApiError {
    match e {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body over the {}-byte bound", body_limit(mtu)),
            )
        }
        other => ApiError::new(
            other.status(),
            format!("could not read the body: {}", other.body_text()),
        ),
    }
}

/// The query of `GET /recv`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvQuery {
    /// `max=N`: answer with an array of up to N frames.
    pub max: Option<usize>,
    /// `wait_ms=T`: wait up to T ms for the first frame.
    pub wait_ms: Option<u64>,
}

impl RecvQuery {
    /// Parses `max=N&wait_ms=T` (either, both or none); anything else is an error that says why.
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut q = RecvQuery::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "max" => {
                    let n = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_BATCH).contains(n));
                    q.max = Some(n.ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "max={}: must be a whole number from 1 to {MAX_BATCH}",
                            quote(value)
                        ))
                    })?);
                }
                "wait_ms" => {
                    let t = value.parse::<u64>().ok().filter(|t| *t <= MAX_WAIT_MS);
                    q.wait_ms = Some(t.ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "wait_ms={}: must be a whole number of milliseconds from 0 to {MAX_WAIT_MS}",
                            quote(value)
                        ))
                    })?);
                }
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown query parameter {:?} on /recv; use max and wait_ms",
                        quote(other)
                    )));
                }
            }
        }
        Ok(q)
    }
}

/// `GET /recv`.
async fn recv(
    State(hub): State<Arc<Hub>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let q = RecvQuery::parse(query.as_deref())?;
    let max = q.max.unwrap_or(1);
    let frames = match q.wait_ms {
        Some(ms) => hub.take_wait(max, Duration::from_millis(ms)).await,
        None => hub.take(max),
    };
    let body = match q.max {
        Some(_) => body::encode_many(frames.iter().map(|f| &f[..])),
        None => body::encode_one(frames.first().map(|f| &f[..])),
    };
    Ok(json(body))
}

/// The body of `GET /info`, with the original daemon's key names.
#[derive(Debug, Serialize)]
struct Info {
    #[serde(rename = "MTU")]
    mtu: u16,
    #[serde(rename = "IPPrefix")]
    ip_prefix: String,
    #[serde(rename = "HardwareAddr")]
    hardware_addr: String,
    #[serde(rename = "DataReady")]
    data_ready: bool,
    /// Our extension: the largest IP packet of a `{"frame", "mss"}` element of `POST /send`
    /// that the device segments (0: none).
    #[serde(rename = "TSO")]
    tso: usize,
}

/// `GET /info`.
async fn info(State(hub): State<Arc<Hub>>) -> Response {
    let c = hub.config();
    let info = Info {
        mtu: c.mtu,
        ip_prefix: c.prefix.to_string(),
        hardware_addr: c.hardware_addr.to_string(),
        data_ready: hub.data_ready(),
        tso: hub.tso(),
    };
    json(serde_json::to_string(&info).unwrap_or_default())
}

/// `GET /stats`.
async fn stats(State(hub): State<Arc<Hub>>) -> Response {
    json(serde_json::to_string(&hub.snapshot()).unwrap_or_default())
}

/// `GET /healthz`.
async fn healthz() -> Response {
    json(r#"{"status":"ok"}"#.to_string())
}

/// Parses the query of `GET /pcap`: `format=pcap` (the default) or `format=pcapng`.
pub fn parse_pcap_query(query: Option<&str>) -> Result<capture::Format, ApiError> {
    let mut format = capture::Format::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "format" => {
                format = capture::Format::parse(value).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "format={}: must be pcap or pcapng",
                        quote(value)
                    ))
                })?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {:?} on /pcap; use format",
                    quote(other)
                )));
            }
        }
    }
    Ok(format)
}

/// `GET /pcap`.
async fn pcap(
    State(hub): State<Arc<Hub>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let format = parse_pcap_query(query.as_deref())?;
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((headers, capture::stream(hub, format)).into_response())
}
