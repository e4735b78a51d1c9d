//! `/connexion`: the sign-in form (its token field is named `token`),
//! and `/deconnexion`.
//!
//! Only a live admin token opens a session: a probe token is refused with
//! its own message (it may only upload), an unknown or revoked one with
//! another. The form is protected like every other (see [`super::csrf`]).

use askama::Template;
use axum::Extension;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::session::{self, SESSION_COOKIE, set_cookie, with_cookie};
use super::{Chrome, Transport, cookie, csrf, html, language, see_other, store_error};
use crate::api::AppState;
use crate::auth::hash_token;

/// The sign-in page.
#[derive(Template)]
#[template(path = "connexion.html")]
pub struct SignIn {
    c: Chrome,
    /// The form's token (also in [`csrf::PRELOGIN_COOKIE`]).
    form_token: String,
    /// Why the last attempt failed.
    error: Option<String>,
}

/// What the sign-in form sends.
#[derive(Debug, serde::Deserialize)]
pub struct SignInForm {
    /// The admin token.
    #[serde(default)]
    token: String,
    /// The form's token.
    #[serde(default)]
    csrf: String,
}

/// What the sign-out form sends.
#[derive(Debug, serde::Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// Renders the form with a fresh form token (and its cookie).
fn render(
    headers: &HeaderMap,
    uri: &Uri,
    transport: Transport,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let lang = language(headers, uri);
    let form_token = match session::random_id() {
        Ok(t) => t,
        Err(e) => return store_error(lang, uri, e),
    };
    let c = Chrome::new(lang, uri, "signin-title", "signin", None);
    let error = error.map(|id| c.tr.s(id));
    let page = SignIn {
        c,
        form_token: form_token.clone(),
        error,
    };
    with_cookie(
        html(status, &page),
        set_cookie(csrf::PRELOGIN_COOKIE, &form_token, 3600, transport),
    )
}

/// `GET /connexion`.
pub async fn form(headers: HeaderMap, uri: Uri, Extension(t): Extension<Transport>) -> Response {
    render(&headers, &uri, t, StatusCode::OK, None)
}

/// `POST /connexion`: a session for an admin token, else the form again with why.
pub async fn submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Extension(t): Extension<Transport>,
    Form(f): Form<SignInForm>,
) -> Response {
    let expected = cookie(&headers, csrf::PRELOGIN_COOKIE).unwrap_or_default();
    if !csrf::check(&headers, &expected, &f.csrf) {
        return render(&headers, &uri, t, StatusCode::FORBIDDEN, Some("error-csrf"));
    }
    let token = f.token.trim();
    if token.is_empty() || token.len() > 256 {
        return render(
            &headers,
            &uri,
            t,
            StatusCode::UNAUTHORIZED,
            Some("signin-unknown"),
        );
    }
    let hash = hash_token(token);
    match st.store().find_token(&hash).await {
        Err(e) => store_error(language(&headers, &uri), &uri, e),
        Ok(None) => render(
            &headers,
            &uri,
            t,
            StatusCode::UNAUTHORIZED,
            Some("signin-unknown"),
        ),
        Ok(Some(row)) if row.kind != "admin" => render(
            &headers,
            &uri,
            t,
            StatusCode::FORBIDDEN,
            Some("signin-probe-token"),
        ),
        Ok(Some(_)) => match session::open(&st, &hash, t).await {
            Err(e) => store_error(language(&headers, &uri), &uri, e),
            Ok(cookie) => {
                let resp = with_cookie(see_other("/"), cookie);
                with_cookie(resp, set_cookie(csrf::PRELOGIN_COOKIE, "", 0, t))
            }
        },
    }
}

/// `POST /deconnexion`: closes the session.
pub async fn sign_out(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Extension(t): Extension<Transport>,
    Form(f): Form<SignOutForm>,
) -> Response {
    let op = match session::require_form(&st, &headers, &uri, &f.csrf).await {
        Ok(op) => op,
        Err(r) => return r,
    };
    if let Err(e) = st.store().delete_session(&op.id_hash).await {
        return store_error(language(&headers, &uri), &uri, e);
    }
    with_cookie(
        see_other("/connexion"),
        set_cookie(SESSION_COOKIE, "", 0, t),
    )
}
