//! `/jetons`: the API tokens (by their id, the hash's first 12 digits),
//! issuing one (shown once, in the answer to the form, never in a URL)
//! and revoking one. Both forms carry the session's form token.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::session::{self, Operator, now_ms};
use super::{Chrome, Tr, html, language, query, see_other, shown, store_error, when};
use crate::api::AppState;
use crate::auth::{hash_token, new_token};
use crate::store::TokenRow;

/// Tokens per page.
pub const TOKENS_PAGE: u32 = 100;

/// One token as shown.
pub struct TokenView {
    /// The full hash (the revoke form's value).
    pub hash: String,
    /// Its id: the hash's first 12 digits, as `stca2-probe token list` shows.
    pub id: String,
    /// `admin` or `probe`, in words.
    pub kind: String,
    /// Its probe.
    pub probe: String,
    /// Its merchant.
    pub merchant: String,
    /// When issued.
    pub created: String,
    /// When revoked, "" while live.
    pub revoked: String,
}

/// The tokens page.
#[derive(Template)]
#[template(path = "jetons.html")]
pub struct TokensPage {
    c: Chrome,
    tokens: Vec<TokenView>,
    next: Option<String>,
    /// A token just issued, shown once.
    issued: Option<String>,
    error: Option<String>,
}

/// The page's query.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokensQuery {
    apres: Option<String>,
}

/// The issue form.
#[derive(Debug, serde::Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    /// `admin` or `probe`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    probe: String,
    #[serde(default)]
    merchant: String,
}

/// The revoke form.
#[derive(Debug, serde::Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    hash: String,
}

#[allow(clippy::too_many_arguments)] // the page, and what the form just did
async fn render(
    st: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    op: &Operator,
    after: Option<&str>,
    issued: Option<String>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = language(headers, uri);
    let mut rows = match st.store().tokens_page(after, TOKENS_PAGE + 1).await {
        Ok(r) => r,
        Err(e) => return store_error(lang, uri, e),
    };
    let next = (rows.len() > TOKENS_PAGE as usize).then(|| {
        rows.truncate(TOKENS_PAGE as usize);
        format!(
            "/jetons{}",
            query(&[("apres", rows.last().map(|r| r.hash.as_str()))])
        )
    });
    let c = Chrome::new(lang, uri, "tokens-title", "tokens", Some(&op.csrf));
    let tokens = rows.iter().map(|t| view(&c.tr, t)).collect();
    let error = error.map(|id| c.tr.s(id));
    html(
        status,
        &TokensPage {
            c,
            tokens,
            next,
            issued,
            error,
        },
    )
}

fn view(tr: &Tr, t: &TokenRow) -> TokenView {
    TokenView {
        hash: t.hash.clone(),
        id: t.hash.chars().take(12).collect(),
        kind: tr.s(if t.kind == "admin" {
            "tokens-kind-admin"
        } else {
            "tokens-kind-probe"
        }),
        probe: shown(t.probe_id.as_deref().unwrap_or("")),
        merchant: shown(t.merchant_id.as_deref().unwrap_or("")),
        created: when(t.created_at),
        revoked: t.revoked_at.map(when).unwrap_or_default(),
    }
}

/// `GET /jetons`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<TokensQuery>,
) -> Response {
    let op = match session::require(&st, &headers, &uri).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    render(
        &st,
        &headers,
        &uri,
        &op,
        q.apres.as_deref(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /jetons`: issues a token and shows it once.
pub async fn issue(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<IssueForm>,
) -> Response {
    let op = match session::require_form(&st, &headers, &uri, &f.csrf).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    let probe = f.probe.trim();
    let merchant = f.merchant.trim();
    let admin = f.kind == "admin";
    if (!admin && (probe.is_empty() || f.kind != "probe"))
        || probe.len() > 128
        || merchant.len() > 128
    {
        return render(
            &st,
            &headers,
            &uri,
            &op,
            None,
            None,
            Some("tokens-error-probe"),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let token = match new_token() {
        Ok(t) => t,
        Err(e) => {
            return store_error(
                language(&headers, &uri),
                &uri,
                crate::store::StoreError::Refused(e.to_string()),
            );
        }
    };
    let row = TokenRow {
        hash: hash_token(&token),
        kind: if admin { "admin" } else { "probe" }.into(),
        probe_id: (!admin).then(|| probe.to_string()),
        merchant_id: (!merchant.is_empty()).then(|| merchant.to_string()),
        created_at: now_ms(),
        revoked_at: None,
    };
    if let Err(e) = st.store().insert_token(&row).await {
        return store_error(language(&headers, &uri), &uri, e);
    }
    render(
        &st,
        &headers,
        &uri,
        &op,
        None,
        Some(token),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /jetons/revoquer`: revokes one token (by its full hash).
pub async fn revoke(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<RevokeForm>,
) -> Response {
    let op = match session::require_form(&st, &headers, &uri, &f.csrf).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    if f.hash.len() != 64 {
        return render(
            &st,
            &headers,
            &uri,
            &op,
            None,
            None,
            Some("tokens-error-hash"),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    match st
        .store()
        .revoke_tokens(Some(&f.hash), None, now_ms())
        .await
    {
        Ok(_) => see_other("/jetons"),
        Err(crate::store::StoreError::Refused(_)) => {
            render(
                &st,
                &headers,
                &uri,
                &op,
                None,
                None,
                Some("tokens-error-hash"),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => store_error(language(&headers, &uri), &uri, e),
    }
}
