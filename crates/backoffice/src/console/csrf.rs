//! Cross-site request forgery: every state-changing form carries a token
//! that a page of another site cannot know, and every POST must come from
//! this site.
//!
//! Signed in, the token is derived from the session id (SHA-256 of a fixed
//! label and the id): only a page that read the HttpOnly session cookie's
//! server-side twin can show it, and nothing needs storing. Before sign-in
//! (the sign-in form itself: a forged sign-in would put the victim in the
//! attacker's session) it is a random value in a cookie of its own, which
//! the form repeats (double submit). On top, a POST whose `Origin` names
//! another host or whose `Sec-Fetch-Site` says `cross-site` is refused
//! whatever it carries, and the session cookie is `SameSite=Strict`.

use axum::http::{HeaderMap, header};

/// The cookie that holds the sign-in form's token.
pub const PRELOGIN_COOKIE: &str = "stca2_csrf";

/// The form token of the session whose id is `session_id`.
pub fn for_session(session_id: &str) -> String {
    let mut input = b"stca2-console-csrf\0".to_vec();
    input.extend_from_slice(session_id.as_bytes());
    hex(ring::digest::digest(&ring::digest::SHA256, &input).as_ref())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` equals `expected`, in time that does not depend on
/// where they differ.
pub fn same(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request comes from a page of this site, as far as the
/// browser says: no `Sec-Fetch-Site: cross-site`/`same-site`, and an
/// `Origin`, when sent, whose host is the `Host` asked for.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let origin_host = origin.split_once("://").map(|(_, h)| h);
            origin != "null" && host.is_some() && origin_host == host
        }
    }
}

/// Whether a POST passes: from this site and carrying `expected`.
pub fn check(headers: &HeaderMap, expected: &str, given: &str) -> bool {
    same_origin(headers) && same(expected, given)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_differ_per_session_and_compare_exactly() {
        let a = for_session("one");
        assert_eq!(a.len(), 64);
        assert_ne!(a, for_session("two"));
        assert!(same(&a, &for_session("one")));
        assert!(!same(&a, &a[..63]));
        assert!(!same("", ""));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
    }
}
