//! What the report says about certificates: the CA family of a chain, whether
//! its signatures verified, and one entry per presented certificate.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The certificate authority family a chain belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaFamily {
    /// PayCert's new STCA2 authority: the migration's goal.
    #[serde(rename = "STCA2")]
    Stca2,
    /// The old STCA authority: the gateway (or the path to it) is not migrated.
    #[serde(rename = "STCA")]
    Stca,
    /// Matches no anchor: on a gateway address, a suspected interception.
    #[serde(rename = "unknown")]
    Unknown,
}

impl fmt::Display for CaFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CaFamily::Stca2 => "STCA2",
            CaFamily::Stca => "STCA",
            CaFamily::Unknown => "unknown",
        })
    }
}

/// Whether the chain's signatures verified, as a fact separate from its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureVerified {
    /// Every link verified up to a family anchor.
    True,
    /// A link failed to verify, or the chain does not reach an anchor.
    False,
    /// A signature uses an algorithm this probe does not verify.
    UnsupportedAlgorithm,
}

/// What the report says about one certificate of a presented chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertInfo {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo, lowercase hex.
    pub spki_sha256: String,
    /// Start of validity, RFC 3339 UTC.
    #[serde(with = "::time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity, RFC 3339 UTC.
    #[serde(with = "::time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days from the check to `not_after`; negative once expired.
    pub days_to_expiry: i64,
    /// Subject alternative names (DNS names and IP addresses).
    pub san: Vec<String>,
    /// Signature algorithm, by name when known (e.g. `sha256WithRSAEncryption`), else its OID.
    pub signature_algorithm: String,
    /// Subject key identifier, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ski: Option<String>,
    /// Authority key identifier, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aki: Option<String>,
    /// Public key type: `RSA`, `EC`, `Ed25519`, or the OID.
    pub key_type: String,
    /// Public key size in bits, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
    /// Basic constraints: is this a CA certificate.
    pub is_ca: bool,
    /// Basic constraints: path length limit, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_len: Option<u32>,
    /// Key usage bits by name (`digitalSignature`, `keyCertSign`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_usage: Vec<String>,
    /// Extended key usages by name (`serverAuth`, `clientAuth`…) or OID.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ext_key_usage: Vec<String>,
    /// The certificate as PEM, only with `--with-pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
}
