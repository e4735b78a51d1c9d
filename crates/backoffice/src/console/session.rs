//! Signing in: an admin token is exchanged for a session cookie.
//!
//! The session id is 32 random bytes (ring's system RNG) in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` when served over TLS) that expires
//! with the session ([`SESSION_TTL`]). The database keeps only the SHA-256
//! of the id, with the token it was opened with and its expiry, so a
//! request may land on any replica of the back office, and revoking the
//! admin token ends its sessions at once. Tokens never travel in a URL:
//! the sign-in form POSTs them.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use super::{Transport, cookie, csrf, language, see_other, store_error};
use crate::api::AppState;
use crate::auth::hash_token;
use crate::store::{StoreError, unix_ms};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "stca2_session";
/// How long a session lasts (a working day).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The hash of the session id (to close it).
    pub id_hash: String,
    /// The session's form token.
    pub csrf: String,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    unix_ms(time::OffsetDateTime::now_utc())
}

/// 32 random bytes, base64url.
pub fn random_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError::Refused("the system random number generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// [`require`] for a state-changing form: the session, and the form's
/// anti-forgery token (with its Origin) checked against it; a forged post
/// is answered 403 and changes nothing.
pub async fn require_form(
    st: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    form_csrf: &str,
) -> Result<Operator, Response> {
    let op = require(st, headers, uri).await?;
    if !csrf::check(headers, &op.csrf, form_csrf) {
        let lang = language(headers, uri);
        return Err(super::error_page(
            lang,
            uri,
            StatusCode::FORBIDDEN,
            super::Tr(lang).s("error-csrf"),
        ));
    }
    Ok(op)
}

/// The operator of this request, or the answer that sends the browser to
/// the sign-in page (or says the database failed).
pub async fn require(st: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Operator, Response> {
    let Some(id) = cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty() && v.len() <= 64)
    else {
        return Err(see_other("/connexion"));
    };
    let id_hash = hash_token(&id);
    match st.store().session_open(&id_hash, now_ms()).await {
        Ok(true) => Ok(Operator {
            id_hash,
            csrf: csrf::for_session(&id),
        }),
        Ok(false) => Err(see_other("/connexion")),
        Err(e) => Err(store_error(language(headers, uri), uri, e)),
    }
}

/// Opens a session for the admin token whose hash is `token_hash`: the
/// `Set-Cookie` value that hands it to the browser.
pub async fn open(
    st: &AppState,
    token_hash: &str,
    transport: Transport,
) -> Result<HeaderValue, StoreError> {
    let id = random_id()?;
    let now = now_ms();
    let ttl = i64::try_from(SESSION_TTL.as_millis()).unwrap_or(i64::MAX);
    st.store()
        .insert_session(&hash_token(&id), token_hash, now, now + ttl)
        .await?;
    Ok(set_cookie(
        SESSION_COOKIE,
        &id,
        SESSION_TTL.as_secs(),
        transport,
    ))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, whole site, `Secure`
/// under TLS; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: u64, transport: Transport) -> HeaderValue {
    let secure = if transport.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("stca2_invalid=; Max-Age=0"))
}

/// Appends `value` as a `Set-Cookie` of `resp`.
pub fn with_cookie(mut resp: Response, value: HeaderValue) -> Response {
    resp.headers_mut().append(header::SET_COOKIE, value);
    resp
}
