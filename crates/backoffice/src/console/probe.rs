//! `/sondes/{probe id}`: one probe as the installer saw it: the latest
//! verdict, each site x port, the certificate chains and their CA family,
//! the recent history as a timeline of the STCA2 port and an inline SVG
//! chart of connect and handshake latency, the public IP, the raw report.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use stca2_report::{CaFamily, Report, Role, Service, TargetResult};
use stca2_words::{Lang, Words};

use super::session;
use super::{
    Chrome, Sentences, Tr, error_page, html, language, sentences, shown, store_error, when,
};
use crate::api::AppState;

/// Reports shown in the history and the chart.
pub const HISTORY: u32 = 30;

/// One site x port as shown.
pub struct Target {
    /// Site name.
    pub site: String,
    /// `primary` / `secondary`, in words.
    pub role: String,
    /// `address:port`.
    pub endpoint: String,
    /// What the port is for.
    pub service: String,
    /// TCP status (and detail).
    pub tcp: String,
    /// TLS status (and detail).
    pub tls: String,
    /// The chain's CA family.
    pub family: String,
    /// Days to the leaf's expiry.
    pub expiry: String,
    /// Median connect and handshake times.
    pub latency: String,
    /// Whether the port answered.
    pub open: bool,
    /// The presented chain, leaf first: (subject, issuer, not after).
    pub chain: Vec<(String, String, String)>,
}

/// One report of the timeline.
pub struct Tick {
    /// When it started.
    pub when: String,
    /// Port STCA2 non ouvert.
    pub closed: bool,
}

/// The latency chart: SVG polylines, ready for the template.
pub struct Chart {
    /// Connect medians.
    pub connect: String,
    /// Handshake medians.
    pub handshake: String,
    /// The top of the scale, in ms.
    pub max: String,
    /// How many reports the chart covers.
    pub points: i64,
}

/// The probe page.
#[derive(Template)]
#[template(path = "probe.html")]
pub struct ProbePage {
    c: Chrome,
    probe: String,
    merchant: String,
    ip: String,
    last: String,
    /// When the current state began: the report shown below is that one.
    state_since: String,
    /// Reports that said the current state, the latest included.
    state_reports: i64,
    /// When the report shown was made, when it is not the latest one (the
    /// state's first report, whose body is the one kept).
    body_of: Option<String>,
    closed: bool,
    streak: i64,
    since: String,
    recommendation: String,
    words: Sentences,
    targets: Vec<Target>,
    timeline: Vec<Tick>,
    chart: Option<Chart>,
    raw: String,
}

/// Median of a latency summary, `-` when none; "1,5 ms" in French.
fn ms(words: Words, v: Option<f64>) -> String {
    v.map(|x| words.decimal(&format!("{x:.1} ms")))
        .unwrap_or_else(|| "-".into())
}

/// A status or code as the installer's report words it (`check.ftl`'s
/// `table-*` messages: "sans réponse", "secours"...).
fn word(tr: &Tr, id: &str, name: &'static str, value: &str) -> String {
    let mut a = stca2_words::FluentArgs::new();
    a.set(name, value.to_string());
    stca2_words::catalogue(tr.0).text(id, Some(&a))
}

fn target(tr: &Tr, t: &TargetResult, now: time::OffsetDateTime) -> Target {
    let words = Words::new(tr.0);
    let tls = t.tls.as_ref();
    let detail = |status: &str, d: Option<&String>| match d {
        Some(d) => shown(&format!("{status} ({d})")),
        None => status.to_string(),
    };
    Target {
        site: shown(&t.site),
        role: tr.s(match t.role {
            Role::Primary => "role-primary",
            Role::Secondary => "role-secondary",
        }),
        endpoint: shown(&stca2_report::endpoint(&t.address, t.port)),
        service: word(tr, "table-service-value", "service", t.service.as_str()),
        tcp: detail(
            &word(tr, "table-tcp-status", "status", t.tcp.status.as_str()),
            t.tcp.detail.as_ref(),
        ),
        tls: tls
            .map(|x| {
                detail(
                    &word(tr, "table-tls-status", "status", x.status.as_str()),
                    x.detail.as_ref(),
                )
            })
            .unwrap_or_else(|| "-".into()),
        family: tls
            .and_then(|x| x.ca_family)
            .map(|f| match f {
                CaFamily::Unknown => tr.s("table-ca-unknown"),
                f => f.to_string(),
            })
            .unwrap_or_else(|| "-".into()),
        // Counted from now, not from the report's day: the body is the
        // state's first report, which may be months old.
        expiry: tls
            .and_then(|x| {
                x.days_to_expiry.map(|d| match x.chain.first() {
                    Some(leaf) => (leaf.not_after - now).whole_seconds().div_euclid(86_400),
                    None => d,
                })
            })
            .map(|d| tr.n("probe-days", d))
            .unwrap_or_else(|| "-".into()),
        latency: format!(
            "{} / {}",
            ms(words, t.tcp.connect_ms.map(|s| s.p50)),
            ms(words, tls.and_then(|x| x.handshake_ms).map(|s| s.p50))
        ),
        open: t.tcp.status.as_str() == "open",
        chain: tls
            .map(|x| {
                x.chain
                    .iter()
                    .map(|c| {
                        (
                            shown(&c.subject),
                            shown(&c.issuer),
                            shown(&c.not_after.date().to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The site x port a chart follows: site 1's STCA2 port, else the first.
fn charted(r: &Report) -> Option<&TargetResult> {
    r.results
        .iter()
        .find(|t| t.role == Role::Primary && t.service == Service::Stca2)
        .or(r.results.first())
}

/// A report's median connect and handshake times, when measured.
type Medians = (Option<f64>, Option<f64>);

/// The chart of `reports` (oldest first): median connect and handshake
/// times; its scale's top written as `lang` writes numbers.
pub fn chart(reports: &[Report], lang: Lang) -> Option<Chart> {
    let points: Vec<Medians> = reports
        .iter()
        .map(|r| match charted(r) {
            Some(t) => (
                t.tcp.connect_ms.map(|s| s.p50),
                t.tls.as_ref().and_then(|x| x.handshake_ms).map(|s| s.p50),
            ),
            None => (None, None),
        })
        .collect();
    let max = points
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .flatten()
        .fold(0.0f64, f64::max);
    if max <= 0.0 {
        return None;
    }
    let (w, h, pad) = (600.0, 160.0, 20.0);
    let n = points.len();
    let x = |i: usize| {
        pad + if n > 1 {
            i as f64 * (w - 2.0 * pad) / (n - 1) as f64
        } else {
            (w - 2.0 * pad) / 2.0
        }
    };
    let y = |v: f64| h - pad - v / max * (h - 2.0 * pad);
    let line = |pick: fn(&Medians) -> Option<f64>| {
        points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| pick(p).map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Some(Chart {
        connect: line(|p| p.0),
        handshake: line(|p| p.1),
        max: Words::new(lang).decimal(&format!("{max:.1} ms")),
        points: i64::try_from(n).unwrap_or(i64::MAX),
    })
}

/// `GET /sondes/{id}`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let op = match session::require(&st, &headers, &uri).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let lang = language(&headers, &uri);
    let tr = Tr(lang);
    let detail = match st.store().probe(&id).await {
        Ok(Some(x)) => x,
        Ok(None) => {
            return error_page(
                lang,
                &uri,
                StatusCode::NOT_FOUND,
                tr.v("error-no-probe", &shown(&id)),
            );
        }
        Err(e) => return store_error(lang, &uri, e),
    };
    let history = match st.store().history_bodies(&id, HISTORY).await {
        Ok(h) => h,
        Err(e) => return store_error(lang, &uri, e),
    };
    let latest = &detail.latest;
    let report = detail
        .body
        .as_deref()
        .and_then(|b| Report::from_json(b).ok());
    let raw = detail
        .body
        .as_deref()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| b.to_string())
        })
        .map(|b| shown(&b))
        .unwrap_or_default();
    let words = match &report {
        Some(r) => sentences(lang, r),
        None => Sentences {
            headline: String::new(),
            failover: shown(&latest.message),
            findings: vec![],
        },
    };
    let targets = report
        .iter()
        .flat_map(|r| r.results.iter())
        .map(|t| target(&tr, t, time::OffsetDateTime::now_utc()))
        .collect();
    let mut reports: Vec<Report> = history
        .iter()
        .filter_map(|(_, _, b)| b.as_deref().and_then(|b| Report::from_json(b).ok()))
        .collect();
    reports.reverse();
    let timeline = history
        .iter()
        .rev()
        .map(|(at, closed, _)| Tick {
            when: when(*at),
            closed: *closed,
        })
        .collect();
    let c = Chrome::new(lang, &uri, "probe-title", "", Some(&op.csrf));
    let page = ProbePage {
        probe: shown(&latest.probe_id),
        merchant: shown(latest.merchant_id.as_deref().unwrap_or("")),
        ip: shown(latest.public_ip.as_deref().unwrap_or("")),
        last: when(latest.started_at),
        state_since: detail.state_since.map(when).unwrap_or_default(),
        body_of: report
            .as_ref()
            .filter(|r| r.report_id != latest.report_id)
            .map(|r| when(crate::store::unix_ms(r.started_at))),
        state_reports: detail.state_reports,
        closed: latest.stca2_port_closed,
        streak: latest.closed_streak,
        since: latest.closed_since.map(when).unwrap_or_default(),
        recommendation: c.tr.recommendation(&latest.recommendation),
        words: Sentences {
            headline: shown(&words.headline),
            failover: shown(&words.failover),
            findings: words.findings,
        },
        targets,
        timeline,
        chart: chart(&reports, lang),
        raw,
        c,
    };
    html(StatusCode::OK, &page)
}
