//! API tokens: random, shown once, stored as a hash.
//!
//! A token is `stca2_` followed by 32 random bytes (ring's system RNG) in
//! base64url. The database keeps only its SHA-256 (hex), so a stolen
//! database cannot be replayed against the API. A *probe* token may submit
//! only its own probe's reports and read nothing; an *admin* token reads
//! everything (and may submit any report, e.g. for imports).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

/// The prefix of every token, so that a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "stca2_";

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed; check /dev/urandom and try again")]
pub struct RngError;

/// A fresh random token (shown once to the operator).
pub fn new_token() -> Result<String, RngError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| RngError)?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The SHA-256 of `token`, lower-case hex: what the database stores.
pub fn hash_token(token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Who is calling, once the bearer token checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An operator: reads everything.
    Admin,
    /// A probe: submits its own reports only.
    Probe {
        /// The probe's id.
        probe_id: String,
        /// Its merchant, when the token names one.
        merchant_id: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hash_to_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        let h = hash_token(&a);
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
