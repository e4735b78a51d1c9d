//! `/exports`: the ISP-ticket CSV of the "Port STCA2 non ouvert" list as
//! filtered (`merchant`, `since`), and "campagne" exports: the same list
//! split into files of at most [`CAMPAIGN_SIZE`] terminals (LUMA's limit
//! per campaign), one link per part (`?part=1`...), each file named after
//! the filter and the date.

use askama::Template;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt as _, TryStreamExt as _};

use super::lists::{ListQuery, list_of};
use super::session::{self, now_ms};
use super::{Chrome, Tr, error_page, html, language, query, shown, store_error, when};
use crate::api::AppState;
use crate::isp_csv;
use crate::store::{ConsoleList, ExportFilter, ListKind, Sort};

/// Most terminals in one campaign file (LUMA's limit per campaign).
pub const CAMPAIGN_SIZE: u32 = 2000;

/// The exports page.
#[derive(Template)]
#[template(path = "exports.html")]
pub struct ExportsPage {
    c: Chrome,
    merchant: String,
    since: String,
    count: i64,
    csv_href: String,
    parts: Vec<(String, String)>,
}

/// What the exports read: `merchant`, `since`, and for a campaign `part`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportQuery {
    merchant: Option<String>,
    since: Option<String>,
    part: Option<String>,
}

impl ExportQuery {
    fn list(&self) -> Result<ConsoleList, &'static str> {
        let q = ListQuery {
            merchant: self.merchant.clone(),
            since: self.since.clone(),
            ..ListQuery::default()
        };
        list_of(ListKind::Closed, &q, Sort::Probe)
    }
    fn href(&self, path: &str, part: Option<&str>) -> String {
        format!(
            "{path}{}",
            query(&[
                ("merchant", self.merchant.as_deref()),
                ("since", self.since.as_deref()),
                ("part", part),
            ])
        )
    }
}

/// How many campaign files `count` terminals make.
pub fn parts(count: i64) -> i64 {
    (count + i64::from(CAMPAIGN_SIZE) - 1) / i64::from(CAMPAIGN_SIZE)
}

/// The campaign file name: the filter, the date, the part.
pub fn campaign_name(list: &ConsoleList, date: &str, part: i64, of: i64) -> String {
    let merchant = list
        .merchant
        .as_deref()
        .map(|m| {
            let safe: String = m
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .take(40)
                .collect();
            format!("-{safe}")
        })
        .unwrap_or_default();
    format!("campagne-port-stca2-non-ouvert{merchant}-{date}-{part}-sur-{of}.csv")
}

/// `GET /exports`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<ExportQuery>,
) -> Response {
    let op = match session::require(&st, &headers, &uri).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let lang = language(&headers, &uri);
    let list = match q.list() {
        Ok(l) => l,
        Err(id) => return error_page(lang, &uri, StatusCode::BAD_REQUEST, Tr(lang).s(id)),
    };
    let count = match st.store().console_count(&list).await {
        Ok(n) => n,
        Err(e) => return store_error(lang, &uri, e),
    };
    let c = Chrome::new(lang, &uri, "exports-title", "exports", Some(&op.csrf));
    let n = parts(count);
    let parts = (1..=n)
        .map(|k| {
            let label = c.tr.part(k, n);
            (q.href("/exports/campagne.csv", Some(&k.to_string())), label)
        })
        .collect();
    let page = ExportsPage {
        merchant: q.merchant.clone().unwrap_or_default(),
        since: q.since.clone().unwrap_or_default(),
        count,
        csv_href: q.href("/exports/isp.csv", None),
        parts,
        c,
    };
    html(StatusCode::OK, &page)
}

/// `GET /exports/isp.csv`: the ISP-ticket CSV (as the API's export with
/// `filter=stca2-port-closed`), streamed.
pub async fn isp_csv(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<ExportQuery>,
) -> Response {
    if let Err(r) = session::require(&st, &headers, &uri).await {
        return r;
    }
    let lang = language(&headers, &uri);
    let list = match q.list() {
        Ok(l) => l,
        Err(id) => return error_page(lang, &uri, StatusCode::BAD_REQUEST, Tr(lang).s(id)),
    };
    let filter = ExportFilter {
        closed_only: true,
        merchant: list.merchant,
        since: list.since,
        until: None,
    };
    let mut chunks = Box::pin(isp_csv::chunks(st.store().clone(), filter));
    let first = match chunks.next().await {
        Some(Ok(c)) => Some(Ok(c)),
        Some(Err(e)) => return store_error(lang, &uri, e),
        None => None,
    };
    let stream = futures_util::stream::iter(first)
        .chain(chunks)
        .map_ok(|c| c.bytes)
        .inspect_err(|e| {
            tracing::error!("the console's ISP CSV stopped midway, the download was cut: {e}")
        });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"isp.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `GET /exports/campagne.csv?part=K`: part K of the campaign, at most
/// [`CAMPAIGN_SIZE`] terminals, one per line.
pub async fn campaign(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<ExportQuery>,
) -> Response {
    if let Err(r) = session::require(&st, &headers, &uri).await {
        return r;
    }
    let lang = language(&headers, &uri);
    let tr = Tr(lang);
    let list = match q.list() {
        Ok(l) => l,
        Err(id) => return error_page(lang, &uri, StatusCode::BAD_REQUEST, tr.s(id)),
    };
    let count = match st.store().console_count(&list).await {
        Ok(n) => n,
        Err(e) => return store_error(lang, &uri, e),
    };
    let of = parts(count);
    let part = match q.part.as_deref().unwrap_or("1").parse::<i64>() {
        Ok(k) if k >= 1 && k <= of.max(1) => k,
        _ => return error_page(lang, &uri, StatusCode::NOT_FOUND, tr.s("error-part")),
    };
    let offset = u64::try_from(part - 1).unwrap_or(0) * u64::from(CAMPAIGN_SIZE);
    let rows = match st
        .store()
        .console_list_part(&list, offset, CAMPAIGN_SIZE)
        .await
    {
        Ok(r) => r,
        Err(e) => return store_error(lang, &uri, e),
    };
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let header = [
        "merchant_id",
        "probe_id",
        "public_ip",
        "closed_since",
        "closed_streak",
        "recommendation",
        "message",
    ];
    let mut ok = csv.write_record(header).is_ok();
    for r in &rows {
        let cells = [
            r.merchant_id.clone().unwrap_or_default(),
            r.probe_id.clone(),
            r.public_ip.clone().unwrap_or_default(),
            r.closed_since
                .map(crate::store::rfc3339_ms)
                .unwrap_or_default(),
            r.closed_streak.to_string(),
            r.recommendation.clone(),
            r.message.clone(),
        ];
        let cells: Vec<String> = cells
            .iter()
            .map(|c| stca2_report::csv::neutralise(&shown(c)).into_owned())
            .collect();
        ok &= csv.write_record(&cells).is_ok();
    }
    let bytes = match (ok, csv.into_inner()) {
        (true, Ok(b)) => b,
        _ => {
            return error_page(
                lang,
                &uri,
                StatusCode::INTERNAL_SERVER_ERROR,
                tr.s("error-csv"),
            );
        }
    };
    let date = when(now_ms()).get(..10).unwrap_or("").to_string();
    let name = campaign_name(&list, &date, part, of);
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaigns_hold_at_most_two_thousand_terminals() {
        assert_eq!(parts(0), 0);
        assert_eq!(parts(1), 1);
        assert_eq!(parts(2000), 1);
        assert_eq!(parts(2001), 2);
        let list = ExportQuery {
            merchant: Some("m/1 \"x\"".into()),
            ..Default::default()
        }
        .list()
        .unwrap();
        assert_eq!(
            campaign_name(&list, "2026-03-02", 1, 2),
            "campagne-port-stca2-non-ouvert-m_1__x_-2026-03-02-1-sur-2.csv"
        );
    }
}
