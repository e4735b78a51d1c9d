//! The console: the back office's web pages for operators, served by
//! `stca2-probe serve` next to the JSON API.
//!
//! Pages are rendered on the server with askama templates
//! (`crates/backoffice/templates/`, HTML-escaped by default) and one
//! stylesheet; no page needs JavaScript. Every word comes from the
//! `console.ftl` catalogue of `stca2-words` (French by default, English
//! through Accept-Language, `?lang=en` or the cookie that link sets).
//! Everything a report carries (certificate subjects, ids, error details)
//! goes through [`shown`] before a template sees it: control and direction
//! characters become visible escapes, and askama escapes the markup.
//!
//! Operators sign in with an admin token ([`session`]): the token is
//! exchanged for a session kept in the database, so every replica on it
//! knows it; every state-changing form carries a token bound to the session
//! ([`csrf`]). Every answer carries a Content-Security-Policy without
//! scripts, `frame-ancestors 'none'` and `nosniff` ([`security_headers`]).
//!
//! One file per page: [`dashboard`] (`/`), [`signin`] (`/connexion`),
//! [`lists`] (`/filtres/port-stca2-non-ouvert`, `/connectivite-secondaire`,
//! `/sondes`), [`probe`] (`/sondes/{id}`), [`exports`] (`/exports`) and
//! [`tokens`] (`/jetons`).

use std::net::SocketAddr;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use stca2_report::Report;
use stca2_words::Lang;

use crate::api::{AppState, forwarded_https};
use crate::store::StoreError;

pub mod csrf;
pub mod dashboard;
pub mod exports;
pub mod lists;
pub mod probe;
pub mod session;
pub mod signin;
pub mod tokens;

/// How often a probe reports unless configured otherwise (the daemon's
/// default interval); a probe is silent after [`SILENT_INTERVALS`] of them.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Intervals without a report after which a probe counts as silent.
pub const SILENT_INTERVALS: u32 = 3;
/// Rows per list page.
pub const PAGE_SIZE: u32 = 50;
/// Largest form body the console reads.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// The language cookie set by the `?lang=` switch.
pub const LANG_COOKIE: &str = "stca2_lang";

/// The Content-Security-Policy of every console answer: no script at all,
/// styles from the stylesheet only, never framed. `connect-src 'self'`
/// lets a tool that drives the browser (WebDriver, an extension) download
/// the CSV exports with the operator's session; with no script allowed, no
/// page can use it, and it reaches nothing but the console.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

/// How the console is served: over TLS or not (the session cookie is
/// `Secure` under TLS, whether `serve` speaks it or a trusted proxy in
/// front of it says so with `X-Forwarded-Proto: https`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// True when the listener speaks HTTPS.
    pub tls: bool,
}

/// The console's routes over `state`, to merge with the API's router.
pub fn router(state: AppState, transport: Transport) -> Router {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/connexion", get(signin::form).post(signin::submit))
        .route("/deconnexion", post(signin::sign_out))
        .route("/filtres/port-stca2-non-ouvert", get(lists::blocked))
        .route("/connectivite-secondaire", get(lists::secondary))
        .route("/sondes", get(lists::probes))
        .route("/sondes/{id}", get(probe::page))
        .route("/exports", get(exports::page))
        .route("/exports/isp.csv", get(exports::isp_csv))
        .route("/exports/campagne.csv", get(exports::campaign))
        .route("/jetons", get(tokens::page).post(tokens::issue))
        .route("/jetons/revoquer", post(tokens::revoke))
        .route("/console.css", get(stylesheet))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            move |State(st): State<AppState>, req: Request, next: Next| {
                security_headers(st, req, next, transport)
            },
        ))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(state)
}

/// The stylesheet.
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../static/console.css"),
    )
        .into_response()
}

/// Adds the security headers to every answer, the transport to every
/// request, the language cookie when `?lang=` chose one, and a deadline.
async fn security_headers(
    st: AppState,
    mut req: Request,
    next: Next,
    transport: Transport,
) -> Response {
    // Behind a trusted proxy that terminates TLS, the browser speaks
    // HTTPS: the cookies are `Secure` all the same.
    let proxied_tls = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| forwarded_https(c.0.ip(), req.headers(), st.trusted_proxies()));
    req.extensions_mut().insert(Transport {
        tls: transport.tls || proxied_tls,
    });
    let chosen = query_param(req.uri(), "lang").and_then(|l| Lang::parse(&l));
    let mut resp = match tokio::time::timeout(crate::api::REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout").into_response(),
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser
    // sends `Origin: null` with every form POST, which [`csrf::same_origin`]
    // must refuse; `same-origin` still tells other sites nothing.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(lang) = chosen
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        ))
    {
        h.append(header::SET_COOKIE, v);
    }
    resp
}

/// The page's language: `?lang=`, else the language cookie, else the
/// browser's Accept-Language, else French.
pub fn language(headers: &HeaderMap, uri: &Uri) -> Lang {
    query_param(uri, "lang")
        .and_then(|l| Lang::parse(&l))
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(|l| Lang::parse(&l)))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::Fr)
}

/// The value of query parameter `name`, decoded.
fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let q = uri.query()?;
    form_urlencoded_pairs(q)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `a=b&c=d` decoded (`+` is a space).
fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    b.get(i + 1).and_then(|c| hex(*c)),
                    b.get(i + 2).and_then(|c| hex(*c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `s` percent-encoded for a path segment or a query value (everything
/// but RFC 3986's unreserved characters).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query string from the pairs whose value is set: `?a=1&b=2`, or "".
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", enc(v)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Text from the network, made safe to show: control and direction
/// characters as visible escapes (`stca2_report::text::escape`); the
/// template escapes the markup.
pub fn shown(s: &str) -> String {
    stca2_report::text::escape(s).into_owned()
}

/// A Unix-ms time for people: `2026-03-02 09:30 UTC`.
pub fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// The words of a page: `console.ftl` in the page's language.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    /// Message `id`.
    pub fn s(&self, id: &str) -> String {
        stca2_words::catalogue(self.0).text(id, None)
    }
    /// Message `id` with the number `n`.
    /// (`n` by value or, as templates pass it, by reference.)
    pub fn n(&self, id: &str, n: impl std::borrow::Borrow<i64>) -> String {
        let n = *n.borrow();
        stca2_words::catalogue(self.0).text(id, Some(&stca2_words::args!("n" => n)))
    }
    /// Message `id` with the text `value` as `$value`.
    pub fn v(&self, id: &str, value: &str) -> String {
        stca2_words::catalogue(self.0).text(id, Some(&stca2_words::args!("value" => value)))
    }
    /// "Part k of n" of a campaign.
    pub fn part(&self, k: i64, of: i64) -> String {
        stca2_words::catalogue(self.0).text(
            "exports-part",
            Some(&stca2_words::args!("k" => k, "of" => of)),
        )
    }
    /// The label of a failover recommendation (contract spelling).
    pub fn recommendation(&self, r: &str) -> String {
        match r {
            "configure_secondary" | "open_secondary" | "open_primary" | "open_both" | "none" => {
                self.s(&format!("recommendation-{}", r.replace('_', "-")))
            }
            other => shown(other),
        }
    }
}

/// The verdict's sentences of a stored report in the page's language.
///
/// The one place the console turns a report's facts into words, with the
/// installer's catalogue (`stca2_words::Words`), so an operator reads the
/// same sentence the installer read, in the page's language. A fact this
/// version cannot render falls back to the sentence stored in the report.
pub struct Sentences {
    /// The headline.
    pub headline: String,
    /// The failover advice.
    pub failover: String,
    /// Each finding: its severity (`error`, `warning`, `info`) and sentence.
    pub findings: Vec<(String, String)>,
}

/// The [`Sentences`] of `report` in `lang` (see there).
pub fn sentences(lang: Lang, report: &Report) -> Sentences {
    let words = stca2_words::Words::new(lang);
    let s = &report.summary;
    Sentences {
        headline: s
            .headline_params
            .as_ref()
            .and_then(|h| words.headline(h))
            .unwrap_or_else(|| s.headline.clone()),
        failover: s
            .failover
            .params
            .as_ref()
            .and_then(|f| words.failover(f))
            .unwrap_or_else(|| s.failover.message.clone()),
        findings: s
            .findings
            .iter()
            .map(|f| {
                let severity = serde_json::to_value(f.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let text = f
                    .params
                    .as_ref()
                    .and_then(|facts| words.finding(facts))
                    .unwrap_or_else(|| f.message.clone());
                (severity, shown(&text))
            })
            .collect(),
    }
}

/// What every page shows around its content.
pub struct Chrome {
    /// The words.
    pub tr: Tr,
    /// The page's title (already in the page's language).
    pub title: String,
    /// The form token of the session ("" when signed out).
    pub csrf: String,
    /// Whether an operator is signed in (the navigation and sign-out show).
    pub signed_in: bool,
    /// The current address with `lang=` set to the other language.
    pub switch_href: String,
    /// The other language's name.
    pub switch_name: String,
    /// The navigation entry of this page.
    pub nav: &'static str,
    /// The page's language code (`fr`, `en`).
    pub lang: &'static str,
    /// The other language's code.
    pub other: &'static str,
}

impl Chrome {
    /// The chrome of a page at `uri` titled by message `title_id`.
    pub fn new(
        lang: Lang,
        uri: &Uri,
        title_id: &str,
        nav: &'static str,
        csrf: Option<&str>,
    ) -> Chrome {
        let tr = Tr(lang);
        let other = match lang {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        };
        let mut pairs: Vec<(String, String)> = uri
            .query()
            .map(form_urlencoded_pairs)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "lang")
            .collect();
        pairs.push(("lang".into(), other.code().into()));
        let q: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        Chrome {
            tr,
            title: tr.s(title_id),
            csrf: csrf.unwrap_or_default().to_string(),
            signed_in: csrf.is_some(),
            switch_href: format!("{}?{}", uri.path(), q.join("&")),
            switch_name: stca2_words::catalogue(other).text("lang-name", None),
            nav,
            lang: lang.code(),
            other: other.code(),
        }
    }
}

/// A page, rendered, as an HTML answer with `status`.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render; see the server's log",
            )
                .into_response()
        }
    }
}

/// An error page: what went wrong, in the page's language.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Around the content.
    pub c: Chrome,
    /// The message (already in the page's language, escaped by the template).
    pub message: String,
}

/// An error page answer.
pub fn error_page(lang: Lang, uri: &Uri, status: StatusCode, message: String) -> Response {
    let c = Chrome::new(lang, uri, "error-title", "", None);
    html(status, &ErrorPage { c, message })
}

/// The answer to a database error on a page.
pub fn store_error(lang: Lang, uri: &Uri, e: StoreError) -> Response {
    tracing::error!(error = %e, path = uri.path(), "a console page failed");
    let tr = Tr(lang);
    error_page(
        lang,
        uri,
        StatusCode::SERVICE_UNAVAILABLE,
        tr.v("error-database", &e.to_string()),
    )
}

/// A `303 See Other` to `to` (after a form, or to the sign-in page).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_round_trip_through_encoding() {
        let hostile = "a b&c=d/é?\u{202e}";
        let q = query(&[("merchant", Some(hostile)), ("since", None)]);
        let uri: Uri = format!("/x{q}").parse().unwrap();
        assert_eq!(query_param(&uri, "merchant").as_deref(), Some(hostile));
        assert_eq!(query_param(&uri, "since"), None);
    }

    #[test]
    fn language_from_query_then_cookie_then_browser_then_french() {
        let uri: Uri = "/".parse().unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(language(&h, &uri), Lang::Fr);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.8"),
        );
        assert_eq!(language(&h, &uri), Lang::En);
        h.insert(header::COOKIE, HeaderValue::from_static("stca2_lang=fr"));
        assert_eq!(language(&h, &uri), Lang::Fr);
        let en: Uri = "/?lang=en".parse().unwrap();
        assert_eq!(language(&h, &en), Lang::En);
    }
}
