//! `/`: the Tableau de bord. Each number links to its list.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::session::{self, now_ms};
use super::{Chrome, PROBE_INTERVAL, SILENT_INTERVALS, html, language, store_error};
use crate::api::AppState;

/// One number of the dashboard.
pub struct Tile {
    /// Its label (message id).
    pub label: String,
    /// The number.
    pub count: i64,
    /// The list it stands for.
    pub href: &'static str,
    /// A stable name for tests and styles.
    pub key: &'static str,
}

/// The dashboard page.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    c: Chrome,
    tiles: Vec<Tile>,
    silent_note: String,
}

/// When a probe whose latest report started before is silent (Unix ms).
pub fn silent_before(now: i64) -> i64 {
    let interval = i64::try_from(PROBE_INTERVAL.as_millis()).unwrap_or(i64::MAX);
    now - i64::from(SILENT_INTERVALS) * interval
}

/// `GET /`.
pub async fn page(State(st): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let op = match session::require(&st, &headers, &uri).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let lang = language(&headers, &uri);
    let counts = match st.store().console_counts(silent_before(now_ms())).await {
        Ok(c) => c,
        Err(e) => return store_error(lang, &uri, e),
    };
    let c = Chrome::new(lang, &uri, "dashboard-title", "dashboard", Some(&op.csrf));
    let tile = |label: &str, count, href, key| Tile {
        label: c.tr.s(label),
        count,
        href,
        key,
    };
    let tiles = vec![
        tile(
            "dashboard-reporting",
            counts.reporting,
            "/sondes",
            "reporting",
        ),
        tile(
            "dashboard-closed",
            counts.closed,
            "/filtres/port-stca2-non-ouvert",
            "closed",
        ),
        tile(
            "dashboard-secondary",
            counts.secondary_ready,
            "/connectivite-secondaire",
            "secondary",
        ),
        tile(
            "dashboard-interception",
            counts.interception,
            "/sondes?liste=interception",
            "interception",
        ),
        tile(
            "dashboard-old-ca",
            counts.old_ca,
            "/sondes?liste=ancienne-chaine",
            "old-ca",
        ),
        tile(
            "dashboard-expiring",
            counts.expiring,
            "/sondes?liste=expiration",
            "expiring",
        ),
        tile(
            "dashboard-silent",
            counts.silent,
            "/sondes?liste=silencieuses",
            "silent",
        ),
    ];
    let minutes =
        i64::from(SILENT_INTERVALS) * i64::try_from(PROBE_INTERVAL.as_secs() / 60).unwrap_or(0);
    let silent_note = c.tr.n("dashboard-silent-note", minutes);
    html(
        StatusCode::OK,
        &Dashboard {
            c,
            tiles,
            silent_note,
        },
    )
}
