//! The lists: `/filtres/port-stca2-non-ouvert` (LUMA's "Vérification –
//! Port STCA2 non ouvert"), `/connectivite-secondaire` and `/sondes` (the
//! lists behind the dashboard's other numbers).
//!
//! Filters are query parameters, so a filtered list can be bookmarked:
//! `merchant`, `since` (latest report on or after: a date `2026-03-02` or
//! an RFC 3339 time), `recommendation` (contract spelling), `tri`
//! (`depuis`: since when the port is closed, oldest first; `sonde`: probe
//! id) and `apres`, the cursor of the next page. Pages hold
//! [`PAGE_SIZE`](super::PAGE_SIZE) rows, read by a keyset query.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::session::{self, now_ms};
use super::{
    Chrome, PAGE_SIZE, Tr, enc, error_page, html, language, query, shown, store_error, when,
};
use crate::api::AppState;
use crate::store::{ConsoleList, LatestRow, ListKind, Sort, parse_rfc3339_ms};
use stca2_report::FailoverReason;
use stca2_words::Words;

/// A list's query parameters.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ListQuery {
    /// Only this merchant.
    pub merchant: Option<String>,
    /// Latest report on or after.
    pub since: Option<String>,
    /// Only this recommendation.
    pub recommendation: Option<String>,
    /// `depuis` or `sonde`.
    pub tri: Option<String>,
    /// The next page's cursor.
    pub apres: Option<String>,
    /// `/sondes`: which list.
    pub liste: Option<String>,
    /// `/connectivite-secondaire`: `pret` (configure) or `a-ouvrir` (open site 2 first).
    pub etat: Option<String>,
}

/// One row as shown.
pub struct Row {
    /// The merchant.
    pub merchant: String,
    /// The probe.
    pub probe: String,
    /// Its page.
    pub href: String,
    /// The address its latest upload came from.
    pub ip: String,
    /// Since when the STCA2 port is closed.
    pub since: String,
    /// Consecutive closed reports.
    pub streak: i64,
    /// The recommendation, in words.
    pub recommendation: String,
    /// The failover sentence, in the page's language (from the report's
    /// facts; the stored English sentence for a report without them).
    pub message: String,
    /// When the latest report started.
    pub last: String,
}

/// A tab of a list page.
pub struct Tab {
    /// Its label.
    pub label: String,
    /// Its address.
    pub href: String,
    /// Whether it is the page shown.
    pub current: bool,
}

/// A list page.
#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    c: Chrome,
    /// The form's action (this page's path).
    action: String,
    /// Hidden fields that keep the list (`liste`, `etat`) when filtering.
    keep: Vec<(String, String)>,
    tabs: Vec<Tab>,
    q: ListQuery,
    rows: Vec<Row>,
    next: Option<String>,
    export: Option<String>,
    recommendations: Vec<(String, String)>,
}

/// A time filter: `2026-03-02` (midnight UTC) or RFC 3339.
pub fn parse_since(s: &str) -> Option<i64> {
    if let Ok(ms) = parse_rfc3339_ms(s) {
        return Some(ms);
    }
    let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(crate::store::unix_ms(d.midnight().assume_utc()))
}

/// The list `kind` narrowed by `q`, or the message id of the bad parameter.
pub fn list_of(
    kind: ListKind,
    q: &ListQuery,
    default_sort: Sort,
) -> Result<ConsoleList, &'static str> {
    let since = match q.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(parse_since(s).ok_or("error-since")?),
    };
    let recommendation = match q.recommendation.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(r) if RECOMMENDATIONS.contains(&r) => Some(r.to_string()),
        Some(_) => return Err("error-recommendation"),
    };
    let sort = match q.tri.as_deref() {
        Some("depuis") => Sort::Since,
        Some("sonde") => Sort::Probe,
        _ => default_sort,
    };
    let after = match q.apres.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => {
            let (s, p) = c.split_once('.').ok_or("error-cursor")?;
            let s = if s == "-" {
                None
            } else {
                Some(s.parse::<i64>().map_err(|_| "error-cursor")?)
            };
            Some((s, p.to_string()))
        }
    };
    Ok(ConsoleList {
        kind,
        merchant: q.merchant.clone().filter(|m| !m.is_empty()),
        recommendation,
        since,
        sort,
        after,
        limit: PAGE_SIZE,
    })
}

/// The contract's recommendations.
pub const RECOMMENDATIONS: &[&str] = &[
    "configure_secondary",
    "open_secondary",
    "open_primary",
    "open_both",
    "none",
];

/// A row as shown; `failover` is the latest report's failover facts (JSON).
pub fn row(tr: &Tr, r: &LatestRow, failover: Option<&str>) -> Row {
    let message = failover
        .and_then(|json| serde_json::from_str::<FailoverReason>(json).ok())
        .and_then(|f| Words::new(tr.0).failover(&f))
        .unwrap_or_else(|| r.message.clone());
    Row {
        merchant: shown(r.merchant_id.as_deref().unwrap_or("")),
        probe: shown(&r.probe_id),
        href: format!("/sondes/{}", enc(&r.probe_id)),
        ip: shown(r.public_ip.as_deref().unwrap_or("")),
        since: r.closed_since.map(when).unwrap_or_default(),
        streak: r.closed_streak,
        recommendation: tr.recommendation(&r.recommendation),
        message: shown(&message),
        last: when(r.started_at),
    }
}

/// What a list page is made of besides its rows.
struct Spec {
    kind: ListKind,
    title: &'static str,
    nav: &'static str,
    default_sort: Sort,
    keep: Vec<(String, String)>,
    tabs: Vec<(&'static str, String, bool)>,
    export: bool,
}

async fn render(st: AppState, headers: HeaderMap, uri: Uri, q: ListQuery, spec: Spec) -> Response {
    let op = match session::require(&st, &headers, &uri).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let lang = language(&headers, &uri);
    let tr = Tr(lang);
    let list = match list_of(spec.kind, &q, spec.default_sort) {
        Ok(l) => l,
        Err(id) => return error_page(lang, &uri, StatusCode::BAD_REQUEST, tr.s(id)),
    };
    let mut page = list.clone();
    page.limit += 1;
    let mut found = match st.store().console_list(&page).await {
        Ok(r) => r,
        Err(e) => return store_error(lang, &uri, e),
    };
    let next = if found.len() > list.limit as usize {
        found.truncate(list.limit as usize);
        found.last().map(|r| {
            let r = &r.latest;
            let cursor = match list.sort {
                Sort::Since => format!(
                    "{}.{}",
                    r.closed_since
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.probe_id
                ),
                Sort::Probe => format!("-.{}", r.probe_id),
            };
            let mut pairs: Vec<(&str, Option<&str>)> = spec
                .keep
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str())))
                .collect();
            pairs.extend([
                ("merchant", q.merchant.as_deref()),
                ("since", q.since.as_deref()),
                ("recommendation", q.recommendation.as_deref()),
                ("tri", q.tri.as_deref()),
                ("apres", Some(cursor.as_str())),
            ]);
            format!("{}{}", uri.path(), query(&pairs))
        })
    } else {
        None
    };
    let export = spec.export.then(|| {
        format!(
            "/exports{}",
            query(&[
                ("merchant", q.merchant.as_deref()),
                ("since", q.since.as_deref())
            ])
        )
    });
    let c = Chrome::new(lang, &uri, spec.title, spec.nav, Some(&op.csrf));
    let rows = found
        .iter()
        .map(|r| row(&c.tr, &r.latest, r.failover.as_deref()))
        .collect();
    let tabs = spec
        .tabs
        .into_iter()
        .map(|(label, href, current)| Tab {
            label: c.tr.s(label),
            href,
            current,
        })
        .collect();
    let recommendations = RECOMMENDATIONS
        .iter()
        .map(|r| (r.to_string(), c.tr.recommendation(r)))
        .collect();
    let action = uri.path().to_string();
    html(
        StatusCode::OK,
        &ListPage {
            c,
            action,
            keep: spec.keep,
            tabs,
            q,
            rows,
            next,
            export,
            recommendations,
        },
    )
}

/// `GET /filtres/port-stca2-non-ouvert`, sorted by since when by default.
pub async fn blocked(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Response {
    let spec = Spec {
        kind: ListKind::Closed,
        title: "blocked-title",
        nav: "blocked",
        default_sort: Sort::Since,
        keep: vec![],
        tabs: vec![],
        export: true,
    };
    render(st, headers, uri, q, spec).await
}

/// `GET /connectivite-secondaire`: probes ready to use site 2 as failover
/// (`?etat=pret`, the default) or that must open it first (`?etat=a-ouvrir`).
pub async fn secondary(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Response {
    let open_first = q.etat.as_deref() == Some("a-ouvrir");
    let (rec, etat) = if open_first {
        ("open_secondary", "a-ouvrir")
    } else {
        ("configure_secondary", "pret")
    };
    let spec = Spec {
        kind: ListKind::Recommendation(rec.into()),
        title: "secondary-title",
        nav: "secondary",
        default_sort: Sort::Probe,
        keep: vec![("etat".into(), etat.into())],
        tabs: vec![
            (
                "secondary-ready",
                "/connectivite-secondaire?etat=pret".into(),
                !open_first,
            ),
            (
                "secondary-open-first",
                "/connectivite-secondaire?etat=a-ouvrir".into(),
                open_first,
            ),
        ],
        export: false,
    };
    render(st, headers, uri, q, spec).await
}

/// `GET /sondes?liste=`: every probe (no `liste`), `interception`,
/// `ancienne-chaine`, `expiration` or `silencieuses`.
pub async fn probes(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Response {
    let which = q.liste.clone().unwrap_or_default();
    let (kind, title) = match which.as_str() {
        "interception" => (
            ListKind::Finding(stca2_report::codes::INTERCEPTION),
            "list-interception",
        ),
        "ancienne-chaine" => (
            ListKind::Finding(stca2_report::codes::OLD_CA),
            "list-old-ca",
        ),
        "expiration" => (
            ListKind::Finding(stca2_report::codes::EXPIRING),
            "list-expiring",
        ),
        "silencieuses" => (
            ListKind::SilentBefore(super::dashboard::silent_before(now_ms())),
            "list-silent",
        ),
        _ => (ListKind::All, "list-all"),
    };
    let keep = if which.is_empty() {
        vec![]
    } else {
        vec![("liste".to_string(), which)]
    };
    let spec = Spec {
        kind,
        title,
        nav: "dashboard",
        default_sort: Sort::Probe,
        keep,
        tabs: vec![],
        export: false,
    };
    render(st, headers, uri, q, spec).await
}
