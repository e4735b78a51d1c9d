//! The HTTP API: routes, authentication, validation, JSON errors.
//!
//! Every route is listed once in [`ROUTES`]; the router is built from that
//! list and a test compares it with `reports/openapi.yaml`, so the published
//! description cannot drift from the code. Every error is JSON,
//! `{"error": {"code", "message", "field"}}`, with a message that says what
//! to do next; nothing is stored unless the whole upload is valid.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{StreamExt as _, TryStreamExt as _};
use ipnet::IpNet;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::auth::{Principal, hash_token};
use super::contract;
use super::isp_csv;
use super::store::{
    ExportFilter, LatestFilter, LatestRow, NewReport, Store, StoreError, parse_rfc3339_ms,
    rfc3339_ms, unix_ms,
};
use stca2_report::Recommendation;
use stca2_report::limits::{MAX_BATCH, MAX_BODY_BYTES};
use stca2_report::{Report, SCHEMA};

/// Every route, as (method, path): the router is built from it and the
/// OpenAPI test checks it against `reports/openapi.yaml`.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/filters/stca2-port-closed"),
    ("GET", "/api/v1/recommendations/failover"),
    ("GET", "/api/v1/probes/{id}"),
    ("GET", "/api/v1/exports/isp.csv"),
];

/// How far in the future a timestamp may be (clock skew allowance).
pub const MAX_FUTURE: Duration = Duration::from_secs(10 * 60);
/// Longest report or probe id.
pub const MAX_ID_LEN: usize = 128;
/// Default page size.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page.
pub const MAX_LIMIT: u32 = 1000;
/// History entries in a probe's detail unless `history` says otherwise.
pub const DEFAULT_HISTORY: u32 = 20;
/// Upload bytes the server holds at once (bodies being read, parsed,
/// validated and stored): memory under ingest stays bounded whatever the
/// number of uploaders. Each upload takes its `Content-Length` (the
/// [`MAX_BODY_BYTES`] maximum when it announces none) from this budget
/// before its body is read, and gives it back when answered; the others
/// wait their turn. Peak RSS under 64 uploaders: BENCHMARKS.md.
pub const INGEST_BUDGET: usize = 8 * 1024 * 1024;
/// The most of [`INGEST_BUDGET`] one client holds at once (one probe, by
/// its token's probe id; the admin tokens together): whatever one client
/// does, the other half stays for the others, and a body of the largest
/// size ([`MAX_BODY_BYTES`]) fits in either half.
pub const CLIENT_INGEST_SHARE: usize = INGEST_BUDGET / 2;
/// Longest an upload waits for room in [`INGEST_BUDGET`] (and its client's
/// [`CLIENT_INGEST_SHARE`]) before a 503.
pub const INGEST_WAIT: Duration = Duration::from_secs(30);
/// The slowest an upload body may arrive, in bytes per second (1 Mbit/s):
/// the whole body must be read within [`BODY_GRACE`] plus its size at this
/// rate (37 s for the largest), or the upload is answered 408
/// `body_too_slow` and its room in the budget given back. So a client that
/// announces a large body and sends it slowly holds its room a bounded time.
pub const MIN_BODY_RATE: u64 = 128 * 1024;
/// See [`MIN_BODY_RATE`].
pub const BODY_GRACE: Duration = Duration::from_secs(5);

/// How long the body of an upload announcing `bytes` may take to arrive.
pub fn body_deadline(bytes: u64) -> Duration {
    BODY_GRACE + Duration::from_millis(bytes.saturating_mul(1000) / MIN_BODY_RATE)
}

/// Longest a request may take to produce its response head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    /// Uploads on their way into the store, merged when they arrive together.
    ingest_queue: crate::ingest::IngestQueue,
    trusted_proxies: Vec<IpNet>,
    /// Upload bytes in flight, in KiB permits of [`INGEST_BUDGET`].
    ingest: tokio::sync::Semaphore,
    /// Each client's [`CLIENT_INGEST_SHARE`], in KiB permits, while it holds some.
    shares: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

/// Room for one upload body: its KiB in its client's share and in the
/// whole budget, given back when dropped (the answer went out).
struct Room<'a> {
    shares: &'a Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    client: String,
    share: Option<(
        Arc<tokio::sync::Semaphore>,
        tokio::sync::OwnedSemaphorePermit,
    )>,
    _all: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        let Some((sem, permit)) = self.share.take() else {
            return;
        };
        drop(permit);
        let mut m = self.shares.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map and this room hold it (clones are taken under the
        // lock): the client has nothing in flight, forget it.
        if Arc::strong_count(&sem) == 2 {
            m.remove(&self.client);
        }
    }
}

impl AppState {
    /// Room for `kib` KiB of upload from `client`: its share first, then the
    /// whole budget, within [`INGEST_WAIT`]; None when it did not come.
    async fn ingest_room(&self, client: String, kib: u32) -> Option<Room<'_>> {
        let sem = {
            let mut m = self.inner.shares.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(client.clone())
                .or_insert_with(|| {
                    Arc::new(tokio::sync::Semaphore::new(CLIENT_INGEST_SHARE / 1024))
                })
                .clone()
        };
        let mut room = Room {
            shares: &self.inner.shares,
            client,
            share: None,
            _all: None,
        };
        let take = async {
            let share = sem.clone().acquire_many_owned(kib).await.ok()?;
            room.share = Some((sem, share));
            room._all = Some(self.inner.ingest.acquire_many(kib).await.ok()?);
            Some(())
        };
        match tokio::time::timeout(INGEST_WAIT, take).await {
            Ok(Some(())) => Some(room),
            _ => None,
        }
    }
}

impl AppState {
    /// State over `store`; X-Forwarded-For is honoured only from
    /// `trusted_proxies`. Starts the ingest writers on the current runtime.
    pub fn new(store: Store, trusted_proxies: Vec<IpNet>) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                ingest_queue: crate::ingest::IngestQueue::start(store.clone()),
                store,
                trusted_proxies,
                ingest: tokio::sync::Semaphore::new(INGEST_BUDGET / 1024),
                shares: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The proxies whose forwarding headers are believed.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.inner.trusted_proxies
    }
}

/// A JSON error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What is wrong and what to do.
    pub message: String,
    /// The offending field, when one is.
    pub field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }
    fn field(mut self, f: impl Into<String>) -> ApiError {
        self.field = Some(f.into());
        self
    }
    fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    fn bad_query(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message).field(field)
    }
    fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    fn invalid(field: String, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_report", message).field(field)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Refused(m) => ApiError::new(StatusCode::BAD_REQUEST, "refused", m),
            e @ StoreError::ReportIdTaken { .. } => {
                ApiError::new(StatusCode::CONFLICT, "report_id_taken", e.to_string())
            }
            e @ StoreError::Corrupt(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "corrupt_data",
                format!(
                    "{e}; retrying will not help: the operator must look at the server's log and the database"
                ),
            ),
            other => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_error",
                format!("{other}; nothing was changed, retry later"),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            // The operator's side of a 5xx: the client got the same words.
            tracing::error!(
                status = self.status.as_u16(),
                code = self.code,
                "{}",
                self.message
            );
        }
        let body =
            json!({"error": {"code": self.code, "message": self.message, "field": self.field}});
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// The router over `state`, built from [`ROUTES`].
pub fn router(state: AppState) -> Router {
    let mut r = Router::new();
    for (method, path) in ROUTES {
        if let Some(mr) = method_router(method, path) {
            r = r.route(path, mr);
        }
    }
    r.fallback(|| async {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint; see reports/openapi.yaml",
        )
    })
    .method_not_allowed_fallback(|| async {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not take that method; see reports/openapi.yaml",
        )
    })
    .layer(axum::middleware::from_fn(timeout_layer))
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    .with_state(state)
}

/// The handler of one (method, path) of [`ROUTES`].
fn method_router(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    Some(match (method, path) {
        ("GET", "/healthz") => get(healthz),
        ("POST", "/api/v1/reports") => post(post_reports),
        ("GET", "/api/v1/filters/stca2-port-closed") => {
            get(|State(st), h, q| list_latest(st, h, q, true))
        }
        ("GET", "/api/v1/recommendations/failover") => {
            get(|State(st), h, q| list_latest(st, h, q, false))
        }
        ("GET", "/api/v1/probes/{id}") => get(probe_detail),
        ("GET", "/api/v1/exports/isp.csv") => get(export_csv),
        _ => return None,
    })
}

async fn timeout_layer(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long; retry later (an upload may have been stored meanwhile: its retry is then a duplicate)",
        )
        .into_response(),
    }
}

async fn healthz(State(st): State<AppState>) -> Response {
    let backend = st.store().backend().as_str();
    match tokio::time::timeout(Duration::from_secs(2), st.store().ping()).await {
        Ok(Ok(())) => Json(json!({"status": "ok", "database": backend})).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "degraded", "database": backend})),
        )
            .into_response(),
    }
}

/// Checks the bearer token, and tells the connection whether it checked
/// out ([`super::server::PER_CLIENT_UNPROVEN`]: a connection without a
/// valid token gives way to new ones when the server is full).
async fn authenticate(st: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let who = check_token(st, headers).await;
    match &who {
        Ok(_) => super::server::vouch(true),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => super::server::vouch(false),
        Err(_) => {}
    }
    who
}

/// The principal of the bearer token in `headers`.
async fn check_token(st: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "missing `Authorization: Bearer <token>`; issue a token with `stca2-probe token issue`",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    match st.store().find_token(&hash_token(token)).await? {
        None => Err(ApiError::unauthorized(
            "unknown or revoked token; issue a new one with `stca2-probe token issue`",
        )),
        Some(t) if t.kind == "admin" => Ok(Principal::Admin),
        Some(t) => match t.probe_id {
            Some(probe_id) if !probe_id.is_empty() => Ok(Principal::Probe {
                probe_id,
                merchant_id: t.merchant_id,
            }),
            _ => Err(ApiError::unauthorized(
                "this probe token names no probe; issue a new one with `stca2-probe token issue --probe ID`",
            )),
        },
    }
}

async fn require_admin(st: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match authenticate(st, headers).await? {
        Principal::Admin => Ok(()),
        Principal::Probe { .. } => Err(ApiError::forbidden(
            "probe tokens can only submit reports; reading needs an admin token (`stca2-probe token issue --admin`)",
        )),
    }
}

/// The client's address: the peer, or — only when the peer is a trusted
/// proxy — the nearest untrusted hop of X-Forwarded-For.
///
/// Each proxy appends the address it was connected from, so the header is
/// read from the right: the rightmost hop that is not a trusted proxy is the
/// client as far as anyone we trust can tell. Anything to its left was sent
/// by the client itself and could be forged. An unreadable hop ends the walk
/// (the last good hop is kept), so junk a client puts in the header cannot
/// hide its address. Hops may carry a port (`203.0.113.9:4711`,
/// `[2001:db8::1]:443`).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let values: Vec<&HeaderValue> = headers.get_all("x-forwarded-for").iter().collect();
    let hops = values
        .iter()
        .rev()
        .flat_map(|v| v.as_bytes().rsplit(|b| *b == b','));
    let mut best = peer;
    for hop in hops {
        let Some(ip) = parse_hop(hop) else { break };
        best = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    best
}

/// Whether a trusted proxy says the client spoke HTTPS to it: the peer is
/// one of `trusted` and the last `X-Forwarded-Proto` value (the one the
/// nearest proxy set) is `https`. From anyone else the header is ignored.
pub fn forwarded_https(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> bool {
    let peer = peer.to_canonical();
    trusted.iter().any(|n| n.contains(&peer))
        && headers
            .get_all("x-forwarded-proto")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// One X-Forwarded-For entry: an address, optionally with a port.
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(hop).ok()?.trim();
    s.parse::<IpAddr>()
        .or_else(|_| s.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The reports of an upload, as JSON values with the prefix that names them in errors.
fn split_upload(v: Value) -> Result<Vec<(String, Value)>, ApiError> {
    match v {
        Value::Object(mut m) if m.contains_key("reports") && !m.contains_key("schema") => {
            let Some(Value::Array(items)) = m.remove("reports") else {
                return Err(ApiError::invalid(
                    "reports".into(),
                    "`reports` must be an array of reports",
                ));
            };
            if items.is_empty() {
                return Err(ApiError::invalid(
                    "reports".into(),
                    "the batch is empty; send at least one report",
                ));
            }
            if items.len() > MAX_BATCH {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "batch_too_large",
                    format!(
                        "{} reports in one batch; the maximum is {MAX_BATCH}: split the upload",
                        items.len()
                    ),
                )
                .field("reports"));
            }
            Ok(items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("reports[{i}]."), v))
                .collect())
        }
        v @ Value::Object(_) => Ok(vec![(String::new(), v)]),
        _ => Err(ApiError::invalid(
            String::new(),
            "expected a report object or {\"reports\": [...]}",
        )),
    }
}

/// Checks one report against the v1 contract and the caller's rights.
fn validate(
    prefix: &str,
    v: &Value,
    text: &str,
    who: &Principal,
    now: OffsetDateTime,
) -> Result<Report, ApiError> {
    match v.get("schema") {
        Some(Value::String(s)) if s == SCHEMA => {}
        Some(Value::String(s)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported_schema",
                format!("schema {s:?} is not supported; this back office takes {SCHEMA:?}"),
            )
            .field(format!("{prefix}schema")));
        }
        _ => {
            return Err(ApiError::invalid(
                format!("{prefix}schema"),
                format!("missing or non-string `schema`; expected {SCHEMA:?}"),
            ));
        }
    }
    match contract::check(prefix, v) {
        Ok(None) => {}
        Ok(Some(bad)) => return Err(ApiError::invalid(bad.field, bad.message)),
        Err(broken) => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                broken,
            ));
        }
    }
    if let Some(field) = contract::find_nul(text, v, prefix) {
        return Err(ApiError::invalid(
            field.clone(),
            format!(
                "{field} contains a NUL character (U+0000): no text of a report may hold one, \
                 whatever the database; fix the probe's configuration or the value it reports"
            ),
        ));
    }
    let report: Report = serde_path_to_error::deserialize(v).map_err(|e| {
        let mut path = e.path().to_string();
        let msg = e.inner().to_string();
        if let Some(name) = msg
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            path = if path == "." {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
        }
        let path = if path == "." { String::new() } else { path };
        ApiError::invalid(
            format!("{prefix}{path}"),
            format!("{msg} (at {prefix}{path}); the report must follow {SCHEMA}"),
        )
    })?;
    let id_ok =
        |s: &str| !s.is_empty() && s.len() <= MAX_ID_LEN && !s.chars().any(char::is_control);
    if !id_ok(&report.report_id) {
        return Err(ApiError::invalid(
            format!("{prefix}report_id"),
            format!("report_id must be 1 to {MAX_ID_LEN} printable characters"),
        ));
    }
    if !id_ok(&report.probe.id) || report.probe.id.chars().any(stca2_report::text::is_hidden) {
        return Err(ApiError::invalid(
            format!("{prefix}probe.id"),
            format!(
                "probe.id must be 1 to {MAX_ID_LEN} printable characters, without direction \
                 overrides or zero-width characters (they make two ids look alike)"
            ),
        ));
    }
    let limit = now + MAX_FUTURE;
    for (name, t) in [
        ("started_at", report.started_at),
        ("finished_at", report.finished_at),
    ] {
        if t > limit {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "future_timestamp",
                format!(
                    "{name} is more than 10 minutes in the future; check the probe's clock (NTP)"
                ),
            )
            .field(format!("{prefix}{name}")));
        }
    }
    if report.finished_at < report.started_at {
        return Err(ApiError::invalid(
            format!("{prefix}finished_at"),
            "finished_at is before started_at",
        ));
    }
    if let Principal::Probe {
        probe_id,
        merchant_id,
    } = who
    {
        if &report.probe.id != probe_id {
            return Err(ApiError::forbidden(format!(
                "this token belongs to probe {probe_id:?} and cannot submit reports of probe {:?}",
                report.probe.id
            ))
            .field(format!("{prefix}probe.id")));
        }
        if let (Some(tm), Some(rm)) = (merchant_id, &report.probe.merchant)
            && tm != rm
        {
            return Err(ApiError::forbidden(format!(
                    "this token belongs to merchant {tm:?}; the report says {rm:?}: fix the probe's configuration"
                ))
            .field(format!("{prefix}probe.merchant")));
        }
    }
    Ok(report)
}

/// Longest a refused body is read and thrown away after the 413 (lingering
/// close), and longest the client may pause while sending it.
pub const LINGER_TIME: Duration = Duration::from_secs(30);
/// See [`LINGER_TIME`].
pub const LINGER_IDLE: Duration = Duration::from_secs(5);

fn body_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "the body is over {MAX_BODY_BYTES} bytes; send smaller batches (at most {MAX_BATCH} reports)"
        ),
    )
}

/// Whether the head announces a body over the limit: such an upload is
/// answered 413 from its head, before any of the body is read, so a client
/// that sent `Expect: 100-continue` is never told to continue.
fn announced_over_limit(headers: &HeaderMap) -> bool {
    content_length(headers).is_some_and(|n| n > MAX_BODY_BYTES as u64)
}

/// The body size the head announces, if it does.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// A lingering close, as nginx does, for a client that sends a refused body
/// anyway: the body is read and thrown away (for at most [`LINGER_TIME`],
/// [`LINGER_IDLE`] between reads) while the 413 goes out, then the
/// connection closes, so the client is not reset before it reads the answer.
/// The task ends with the body or its time, whichever comes first.
fn linger(body: Body) {
    let mut body = body.into_data_stream();
    tokio::spawn(async move {
        let drain = async {
            while let Ok(Some(Ok(_))) = tokio::time::timeout(LINGER_IDLE, body.next()).await {}
        };
        let _ = tokio::time::timeout(LINGER_TIME, drain).await;
    });
}

/// An upload is uncompressed JSON: a `Content-Type` other than JSON, or
/// any `Content-Encoding` but `identity`, is a 415 before the body is read.
/// No `Content-Type` at all is taken as JSON (older probes send none).
fn check_media(headers: &HeaderMap) -> Result<(), ApiError> {
    let unsupported = |m: String| {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            m,
        ))
    };
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let essence = ct
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return unsupported(format!(
                "Content-Type {essence:?} is not JSON; send the report with `Content-Type: application/json`"
            ));
        }
    }
    for ce in headers.get_all(header::CONTENT_ENCODING) {
        let text = ce.to_str().unwrap_or("?");
        if text
            .split(',')
            .any(|e| !e.trim().eq_ignore_ascii_case("identity"))
        {
            return unsupported(format!(
                "Content-Encoding {text:?} is not supported; send the JSON uncompressed (at most {MAX_BODY_BYTES} bytes)"
            ));
        }
    }
    Ok(())
}

async fn post_reports(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Result<Response, ApiError> {
    // The token is checked before the body is read: an unauthenticated
    // client cannot make the server buffer 8 MiB.
    let who = authenticate(&st, req.headers()).await?;
    check_media(req.headers())?;
    let ip = client_ip(peer.ip(), req.headers(), &st.inner.trusted_proxies).to_string();
    if announced_over_limit(req.headers()) {
        if !req.headers().contains_key(header::EXPECT) {
            linger(req.into_body());
        }
        let mut resp = body_too_large().into_response();
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Ok(resp);
    }
    // Room for this body in the client's share and the ingest budget,
    // held until the answer.
    let announced = content_length(req.headers()).unwrap_or(MAX_BODY_BYTES as u64);
    let kib = u32::try_from(announced.div_ceil(1024)).unwrap_or(u32::MAX);
    let client = match &who {
        Principal::Probe { probe_id, .. } => format!("probe {probe_id}"),
        Principal::Admin => "admin".to_string(),
    };
    let Some(_room) = st.ingest_room(client, kib).await else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "the back office is busy with other uploads (waited {} s); nothing was stored, retry later",
                INGEST_WAIT.as_secs()
            ),
        ));
    };
    let deadline = body_deadline(announced);
    let body = match tokio::time::timeout(deadline, Bytes::from_request(req, &st)).await {
        Ok(read) => read.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                body_too_large()
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_body", r.body_text())
            }
        })?,
        Err(_) => {
            let mut resp = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_too_slow",
                format!(
                    "the body of {announced} bytes did not arrive within {} s (at least {} KiB/s); \
                     nothing was stored: send smaller batches or retry on a better link",
                    deadline.as_secs(),
                    MIN_BODY_RATE / 1024
                ),
            )
            .into_response();
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(resp);
        }
    };
    // UTF-8 is checked once, for the whole body: the parser then takes it
    // as text and does not check each string again.
    let upload = std::str::from_utf8(&body).map_err(|e| {
        let good = &body[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let column = good.len() - good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!(
                "malformed JSON at line {line} column {column}: a byte that is not UTF-8; \
                 send the report as UTF-8"
            ),
        )
    })?;
    let value: Value = serde_json::from_str(upload).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!(
                "malformed JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    // Memory: the text goes as soon as it is parsed, each report's parsed
    // value as soon as it is validated and written back as text (the text
    // stored is the value's: what was checked is what is stored, whatever
    // the upload's spelling, repeated keys or white space).
    drop(body);
    let now = OffsetDateTime::now_utc();
    let received_at = unix_ms(now);
    let merchant = match &who {
        Principal::Probe { merchant_id, .. } => merchant_id.clone(),
        Principal::Admin => None,
    };
    let items = split_upload(value)?;
    let received = items.len();
    let mut batch = Vec::with_capacity(items.len());
    let mut probe_of: HashMap<String, String> = HashMap::with_capacity(items.len());
    for (prefix, v) in items {
        let text = v.to_string();
        let report = validate(&prefix, &v, &text, &who, now)?;
        // The same report twice in a batch is a retry; the same id for two
        // probes is a conflict, refused like one already stored.
        match probe_of.entry(report.report_id.clone()) {
            Entry::Occupied(e) if *e.get() != report.probe.id => {
                return Err(ApiError::from(StoreError::ReportIdTaken {
                    report_id: report.report_id,
                })
                .field(format!("{prefix}report_id")));
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(e) => {
                e.insert(report.probe.id.clone());
            }
        }
        batch.push(NewReport::from_report(
            &report,
            text,
            merchant.clone(),
            Some(ip.clone()),
            received_at,
        ));
    }
    let outcome = st.inner.ingest_queue.submit(batch).await?;
    Ok(Json(json!({
        "received": received,
        "stored": outcome.stored,
        "duplicates": outcome.duplicates,
        "public_ip": ip,
    }))
    .into_response())
}

/// Query parameters of the read endpoints, as text: each is parsed by the
/// code that knows it, so that a bad value is named in `field`.
#[derive(Debug, Default, serde::Deserialize)]
struct ListParams {
    merchant: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    recommendation: Option<String>,
    filter: Option<String>,
    history: Option<String>,
}

fn parse_time(field: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    v.as_deref()
        .map(|s| {
            parse_rfc3339_ms(s).map_err(|e| {
                ApiError::bad_query(
                    field,
                    format!(
                        "{field}={s:?} is not an RFC 3339 time ({e}); e.g. 2025-01-31T12:00:00Z"
                    ),
                )
            })
        })
        .transpose()
}

/// A whole number from `min` to `max`, `default` when absent.
fn parse_count(
    field: &str,
    v: &Option<String>,
    default: u32,
    (min, max): (u32, u32),
) -> Result<u32, ApiError> {
    match v.as_deref() {
        None => Ok(default),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_query(
                field,
                format!("{field}={s:?}: give a whole number from {min} to {max}"),
            )),
        },
    }
}

/// The recommendations of the contract, for the `recommendation` filter.
const RECOMMENDATIONS: [Recommendation; 5] = [
    Recommendation::ConfigureSecondary,
    Recommendation::OpenSecondary,
    Recommendation::OpenPrimary,
    Recommendation::OpenBoth,
    Recommendation::None,
];

fn parse_recommendation(v: &Option<String>) -> Result<Option<String>, ApiError> {
    match v.as_deref() {
        None => Ok(None),
        Some(s) if RECOMMENDATIONS.iter().any(|r| r.as_str() == s) => Ok(Some(s.to_string())),
        Some(s) => {
            let names: Vec<&str> = RECOMMENDATIONS.iter().map(|r| r.as_str()).collect();
            Err(ApiError::bad_query(
                "recommendation",
                format!("recommendation={s:?}: use one of {}", names.join(", ")),
            ))
        }
    }
}

fn params(q: Result<Query<ListParams>, QueryRejection>) -> Result<ListParams, ApiError> {
    q.map(|Query(p)| p)
        .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", r.body_text()))
}

/// A text parameter (or path segment), refused when it holds a NUL
/// character: no stored text can contain one, on either database.
fn text_param(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.contains('\0') => Err(ApiError::bad_query(
            field,
            format!(
                "{field} contains a NUL character (%00), which no stored value can hold; remove it"
            ),
        )),
        v => Ok(v),
    }
}

fn latest_filter(p: &ListParams, closed_only: bool) -> Result<LatestFilter, ApiError> {
    let after = p
        .cursor
        .as_deref()
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|s| !s.contains('\0'))
                .ok_or_else(|| {
                    ApiError::bad_query(
                        "cursor",
                        "invalid cursor; pass back next_cursor exactly as received",
                    )
                })
        })
        .transpose()?;
    Ok(LatestFilter {
        closed_only,
        merchant: text_param("merchant", p.merchant.clone())?,
        recommendation: parse_recommendation(&p.recommendation)?,
        since: parse_time("since", &p.since)?,
        until: parse_time("until", &p.until)?,
        after,
        limit: parse_count("limit", &p.limit, DEFAULT_LIMIT, (1, MAX_LIMIT))?,
    })
}

fn latest_json(r: &LatestRow) -> Value {
    json!({
        "probe_id": r.probe_id,
        "merchant_id": r.merchant_id,
        "public_ip": r.public_ip,
        "report_id": r.report_id,
        "last_report_at": rfc3339_ms(r.started_at),
        "stca2_port_closed": r.stca2_port_closed,
        "closed_since": r.closed_since.map(rfc3339_ms),
        "closed_streak": r.closed_streak,
        "recommendation": r.recommendation,
        "message": r.message,
    })
}

async fn list(st: &AppState, filter: LatestFilter) -> Result<Response, ApiError> {
    let limit = filter.limit as usize;
    let mut f = filter;
    f.limit += 1;
    let mut rows = st.store().latest(&f).await?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last()
            .map(|r| URL_SAFE_NO_PAD.encode(r.probe_id.as_bytes()))
    } else {
        None
    };
    let items: Vec<Value> = rows.iter().map(latest_json).collect();
    Ok(Json(json!({"items": items, "next_cursor": next})).into_response())
}

/// `GET /api/v1/filters/stca2-port-closed` (`closed_only`) and
/// `GET /api/v1/recommendations/failover`: one page of latest states.
async fn list_latest(
    st: AppState,
    headers: HeaderMap,
    q: Result<Query<ListParams>, QueryRejection>,
    closed_only: bool,
) -> Result<Response, ApiError> {
    require_admin(&st, &headers).await?;
    let p = params(q)?;
    list(&st, latest_filter(&p, closed_only)?).await
}

async fn probe_detail(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    require_admin(&st, &headers).await?;
    let p = params(q)?;
    let n = parse_count("history", &p.history, DEFAULT_HISTORY, (0, MAX_LIMIT))?;
    let id = text_param("id", Some(id))?.unwrap_or_default();
    let Some(detail) = st.store().probe(&id).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no report from probe {id:?} has been received"),
        ));
    };
    let mut probe = latest_json(&detail.latest);
    probe["spool_dropped"] = json!(detail.spool_dropped);
    let report: Value = detail
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let history: Vec<Value> = st
        .store()
        .history(&id, n)
        .await?
        .iter()
        .map(|h| {
            json!({
                "report_id": h.report_id,
                "started_at": rfc3339_ms(h.started_at),
                "finished_at": rfc3339_ms(h.finished_at),
                "received_at": rfc3339_ms(h.received_at),
                "public_ip": h.public_ip,
                "stca2_port_closed": h.stca2_port_closed,
                "recommendation": h.recommendation,
            })
        })
        .collect();
    Ok(Json(json!({
        "probe": probe,
        "state": {
            "since": detail.state_since.map(rfc3339_ms),
            "reports": detail.state_reports,
            "report_id": detail.state_report_id,
        },
        "report": report,
        "history": history,
    }))
    .into_response())
}

/// Parses the `filter` parameter of exports: `stca2-port-closed` or `all`.
pub fn parse_export_filter(f: Option<&str>) -> Result<bool, String> {
    match f {
        None | Some("all") => Ok(false),
        Some("stca2-port-closed") => Ok(true),
        Some(other) => Err(format!(
            "unknown filter {other:?}; use stca2-port-closed or all"
        )),
    }
}

async fn export_csv(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    require_admin(&st, &headers).await?;
    let p = params(q)?;
    let closed_only =
        parse_export_filter(p.filter.as_deref()).map_err(|m| ApiError::bad_query("filter", m))?;
    let filter = ExportFilter {
        closed_only,
        merchant: text_param("merchant", p.merchant.clone())?,
        since: parse_time("since", &p.since)?,
        until: parse_time("until", &p.until)?,
    };
    // The status goes out with the first chunk (the header and up to
    // CSV_CHUNK bytes of rows): an export that fails before it is an error
    // answer. After it, a failure aborts the body (see README: what a
    // client checks), which no client can take for a complete file.
    let mut chunks = Box::pin(isp_csv::chunks(st.store().clone(), filter));
    let first = match chunks.next().await {
        Some(Ok(c)) => Some(Ok(c)),
        Some(Err(e)) => return Err(e.into()),
        None => None,
    };
    let stream = futures_util::stream::iter(first)
        .chain(chunks)
        .map_ok(|c| c.bytes)
        .inspect_err(|e| {
            tracing::error!("the ISP CSV export stopped midway, the download was cut: {e}")
        });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"isp.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Route table check used by tests: every (method, path) in [`ROUTES`] has a handler.
pub fn routes_have_handlers() -> bool {
    ROUTES.iter().all(|(m, p)| method_router(m, p).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_handler() {
        assert!(routes_have_handlers());
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        let peer = ip("127.0.0.1");
        let h = xff(&["203.0.113.9, 127.0.0.2"]);
        assert_eq!(client_ip(peer, &h, &trusted), ip("203.0.113.9"));
        // Untrusted peer: header ignored.
        assert_eq!(
            client_ip(ip("198.51.100.7"), &h, &trusted),
            ip("198.51.100.7")
        );
        // No trusted proxies configured: header ignored.
        assert_eq!(client_ip(peer, &h, &[]), peer);
        // X-Forwarded-Proto: believed from a trusted proxy only, the
        // nearest proxy's (last) value.
        let mut h = HeaderMap::new();
        h.append("x-forwarded-proto", HeaderValue::from_static("http, https"));
        assert!(forwarded_https(peer, &h, &trusted));
        assert!(!forwarded_https(ip("198.51.100.7"), &h, &trusted));
        assert!(!forwarded_https(peer, &h, &[]));
        h.append("x-forwarded-proto", HeaderValue::from_static("http"));
        assert!(!forwarded_https(peer, &h, &trusted));
        assert!(!forwarded_https(peer, &HeaderMap::new(), &trusted));
        // Nothing usable in the header: the peer.
        assert_eq!(client_ip(peer, &xff(&["nonsense"]), &trusted), peer);
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
    }

    #[test]
    fn forwarded_for_takes_the_rightmost_untrusted_hop() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let peer = ip("127.0.0.1");
        let cases: &[(&[&str], &str)] = &[
            // A spoofed leftmost entry does not win over the nearest untrusted hop.
            (&["1.2.3.4, 203.0.113.9, 127.0.0.3"], "203.0.113.9"),
            // Junk the client sent, left of what the proxy appended.
            (&["garbage, 203.0.113.9"], "203.0.113.9"),
            (&["unknown, 203.0.113.9"], "203.0.113.9"),
            // Chains of trusted proxies, over several header lines.
            (
                &["1.2.3.4", "203.0.113.9, 10.1.2.3", "127.0.0.5"],
                "203.0.113.9",
            ),
            // Ports, IPv6, IPv4-mapped IPv6.
            (&["203.0.113.9:4711"], "203.0.113.9"),
            (&["[2001:db8::1]:443, 10.0.0.1"], "2001:db8::1"),
            (&["::ffff:203.0.113.9"], "203.0.113.9"),
            // Only trusted hops: the farthest of them.
            (&["10.0.0.7, 10.0.0.8"], "10.0.0.7"),
            // Junk between trusted hops: the last good (trusted) hop, never a forged one.
            (&["1.2.3.4, junk, 10.0.0.8"], "10.0.0.8"),
        ];
        for (values, want) in cases {
            assert_eq!(
                client_ip(peer, &xff(values), &trusted),
                ip(want),
                "{values:?}"
            );
        }
    }

    #[test]
    fn counts_and_recommendations_name_the_field() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(parse_count("limit", &None, 100, (1, 1000)), Ok(100));
        assert_eq!(
            parse_count("limit", &some("1000"), 100, (1, 1000)),
            Ok(1000)
        );
        for bad in ["0", "1001", "-1", "abc", "", "99999999999"] {
            let e = parse_count("limit", &some(bad), 100, (1, 1000)).unwrap_err();
            assert_eq!(
                (e.status, e.field.as_deref()),
                (StatusCode::BAD_REQUEST, Some("limit")),
                "{bad}"
            );
        }
        assert_eq!(
            parse_recommendation(&some("open_both")),
            Ok(Some("open_both".into()))
        );
        let e = parse_recommendation(&some("reboot")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("recommendation"));
        assert!(e.message.contains("configure_secondary"), "{}", e.message);
    }
}
