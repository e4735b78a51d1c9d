//! The OpenAPI description in reports/openapi.yaml lists exactly the routes
//! the router serves (method and path), and nothing else; each with the
//! status codes the handlers answer; and it is well-formed YAML as far as a
//! line-based reader can tell (no plain scalar that a YAML parser would
//! split at `: `).

use std::collections::{BTreeMap, BTreeSet};

use stca2_backoffice::ROUTES;

/// (METHOD, path) pairs under `paths:`: a path is a 2-space-indented key
/// starting with `/`, an operation a 4-space-indented HTTP method key.
fn spec_routes(yaml: &str) -> BTreeSet<(String, String)> {
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let mut out = BTreeSet::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_paths = line.trim_end() == "paths:";
            path = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            path = Some(format!("/{}", p.trim_end().trim_end_matches(':')));
        } else if let (Some(p), Some(m)) = (&path, line.strip_prefix("    "))
            && let Some(m) = m.strip_suffix(':')
            && METHODS.contains(&m)
        {
            out.insert((m.to_uppercase(), p.clone()));
        }
    }
    out
}

/// The statuses each route answers: the handlers' error paths (see
/// crates/backoffice/src/api.rs and the API tests that exercise them).
const STATUSES: &[(&str, &str, &[u16])] = &[
    ("GET", "/healthz", &[200, 503]),
    (
        "POST",
        "/api/v1/reports",
        &[200, 400, 401, 403, 408, 409, 413, 415, 422, 503],
    ),
    (
        "GET",
        "/api/v1/filters/stca2-port-closed",
        &[200, 400, 401, 403, 503],
    ),
    (
        "GET",
        "/api/v1/recommendations/failover",
        &[200, 400, 401, 403, 503],
    ),
    (
        "GET",
        "/api/v1/probes/{id}",
        &[200, 400, 401, 403, 404, 503],
    ),
    (
        "GET",
        "/api/v1/exports/isp.csv",
        &[200, 400, 401, 403, 500, 503],
    ),
];

/// Status codes per (METHOD, path): 8-space-indented `"NNN":` keys.
fn spec_statuses(yaml: &str) -> BTreeMap<(String, String), BTreeSet<u16>> {
    let mut out: BTreeMap<(String, String), BTreeSet<u16>> = BTreeMap::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    let mut method: Option<String> = None;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_paths = line.trim_end() == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            path = Some(format!("/{}", p.trim_end().trim_end_matches(':')));
        } else if let Some(m) = line.strip_prefix("    ")
            && !m.starts_with(' ')
        {
            method = Some(m.trim_end_matches(':').to_uppercase());
        } else if let (Some(p), Some(m), Some(code)) =
            (&path, &method, line.strip_prefix("        \""))
            && let Some(code) = code.strip_suffix("\":")
            && let Ok(code) = code.parse::<u16>()
        {
            out.entry((m.clone(), p.clone())).or_default().insert(code);
        }
    }
    out
}

#[test]
fn openapi_lists_the_statuses_each_route_answers() {
    let yaml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/openapi.yaml"))
            .expect("reports/openapi.yaml");
    let spec = spec_statuses(&yaml);
    assert_eq!(STATUSES.len(), ROUTES.len());
    for (m, p, codes) in STATUSES {
        assert!(ROUTES.contains(&(*m, *p)), "{m} {p} is not a route");
        let want: BTreeSet<u16> = codes.iter().copied().collect();
        let got = spec
            .get(&(m.to_string(), p.to_string()))
            .cloned()
            .unwrap_or_default();
        assert_eq!(got, want, "statuses of {m} {p} in openapi.yaml");
    }
}

#[test]
fn openapi_has_no_plain_scalar_a_yaml_parser_would_split() {
    let yaml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/openapi.yaml"))
            .expect("reports/openapi.yaml");
    let mut block_indent: Option<usize> = None;
    for (n, line) in yaml.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if let Some(b) = block_indent {
            if line.trim().is_empty() || indent > b {
                continue; // inside a `|` block: free text
            }
            block_indent = None;
        }
        let body = line.trim_start().trim_start_matches("- ");
        let Some((_, value)) = body.split_once(": ") else {
            continue;
        };
        let value = value.trim();
        if value == "|" || value == ">" {
            block_indent = Some(indent);
            continue;
        }
        if value.starts_with(['"', '\'', '{', '[']) {
            continue;
        }
        assert!(
            !value.contains(": ") && !value.contains(" #"),
            "reports/openapi.yaml line {}: quote this value: {line}",
            n + 1
        );
    }
}

#[test]
fn openapi_matches_the_router() {
    let yaml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/openapi.yaml"))
            .expect("reports/openapi.yaml");
    let spec = spec_routes(&yaml);
    let code: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(code.len(), ROUTES.len(), "duplicate entries in ROUTES");
    assert!(!spec.is_empty(), "no paths found in openapi.yaml");
    let missing: Vec<_> = code.difference(&spec).collect();
    let extra: Vec<_> = spec.difference(&code).collect();
    assert!(
        missing.is_empty(),
        "routes served but not in openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "routes in openapi.yaml but not served: {extra:?}"
    );
    assert!(stca2_backoffice::api::routes_have_handlers());
}

#[tokio::test]
async fn every_route_answers_and_unknown_ones_are_404_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("o.db").display());
    let store = stca2_backoffice::Store::connect(&url).await.unwrap();
    let app = stca2_backoffice::api::router(stca2_backoffice::api::AppState::new(store, vec![]));
    use tower::ServiceExt as _;
    for (m, p) in ROUTES {
        let path = p.replace("{id}", "x");
        let mut req = axum::http::Request::builder()
            .method(*m)
            .uri(&path)
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                9,
            ))));
        let resp = app.clone().oneshot(req).await.unwrap();
        // Served by a handler: healthz answers, the rest ask for a token.
        let want = if *p == "/healthz" { 200 } else { 401 };
        assert_eq!(resp.status().as_u16(), want, "{m} {p}");
    }
    let req = axum::http::Request::builder()
        .uri("/api/v1/nope")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let b = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
}
