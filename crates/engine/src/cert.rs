//! Certificate facts: what a server presented, and which CA family it belongs to.
//!
//! The migration is about *who issued* the gateway's certificate: the new
//! STCA2 authority, the old STCA one, or somebody else (a TLS-intercepting
//! middlebox on the merchant's network). That is a question of identity, not
//! of signature validity: the old STCA hierarchy is signed with SHA-1, which
//! modern stacks rightly refuse to verify, and a refusal must not turn an STCA
//! chain into "unknown". So a chain's family is decided by building the
//! leaf's path through the presented certificates and matching the top of
//! that path — its issuer name and authority key identifier, or, for a root
//! presented in the chain, its SPKI — against each family's anchors.
//! Signature verification along the path is reported as a separate fact; a
//! chain that names a family but does not verify is a forgery.
//!
//! Names and SANs come from the server and end up on a terminal: control
//! characters in them are escaped, so a certificate cannot inject escape
//! sequences into the report.
//!
//! Everything here is pure: DER in, facts out.

use ::time::OffsetDateTime;
use stca2_report::{CaFamily, CertInfo, SignatureVerified};
use x509_parser::prelude::*;

/// A certificate that identifies a CA family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The subject, DER-encoded, for exact comparison with issuers.
    pub subject_der: Vec<u8>,
    /// The subject in RFC 4514 form, for messages.
    pub subject: String,
    /// The subject key identifier, when present.
    pub ski: Option<Vec<u8>>,
    /// SHA-256 of the SubjectPublicKeyInfo.
    pub spki_sha256: [u8; 32],
    /// The certificate itself, for signature checks.
    pub der: Vec<u8>,
}

/// A PEM or DER input that is not a usable certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// No `BEGIN CERTIFICATE` block in the PEM text.
    #[error("no certificate found: expected PEM blocks starting with -----BEGIN CERTIFICATE-----")]
    NoCertificate,
    /// The PEM framing is broken.
    #[error("bad PEM: {0}")]
    Pem(String),
    /// The DER inside is not an X.509 certificate.
    #[error("not an X.509 certificate: {0}")]
    Der(String),
}

impl Anchor {
    /// Reads every certificate of a PEM file as anchors.
    pub fn from_pem(pem: &[u8]) -> Result<Vec<Anchor>, CertError> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let mut out = Vec::new();
        for item in CertificateDer::pem_slice_iter(pem) {
            let der = item.map_err(|e| CertError::Pem(e.to_string()))?;
            out.push(Anchor::from_der(der.as_ref())?);
        }
        if out.is_empty() {
            return Err(CertError::NoCertificate);
        }
        Ok(out)
    }

    /// Reads one DER certificate as an anchor.
    pub fn from_der(der: &[u8]) -> Result<Anchor, CertError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| CertError::Der(e.to_string()))?;
        Ok(Anchor {
            subject_der: cert.subject().as_raw().to_vec(),
            subject: rfc4514(cert.subject()),
            ski: subject_key_id(&cert),
            spki_sha256: sha256(cert.public_key().raw),
            der: der.to_vec(),
        })
    }
}

/// Describes one DER certificate, with days to expiry counted from `now`.
pub fn describe(der: &[u8], now: OffsetDateTime) -> Result<CertInfo, CertError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertError::Der(e.to_string()))?;
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    let mut san = Vec::new();
    let mut key_usage = Vec::new();
    let mut ext_key_usage = Vec::new();
    let mut is_ca = false;
    let mut path_len = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(s) => {
                for name in &s.general_names {
                    match name {
                        GeneralName::DNSName(d) => san.push(escape_control(d)),
                        GeneralName::IPAddress(b) => san.push(ip_bytes(b)),
                        GeneralName::RFC822Name(m) => {
                            san.push(format!("email:{}", escape_control(m)))
                        }
                        GeneralName::URI(u) => san.push(format!("uri:{}", escape_control(u))),
                        _ => {}
                    }
                }
            }
            ParsedExtension::BasicConstraints(bc) => {
                is_ca = bc.ca;
                path_len = bc.path_len_constraint;
            }
            ParsedExtension::KeyUsage(ku) => {
                key_usage = key_usage_names(ku);
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                ext_key_usage = eku_names(eku);
            }
            _ => {}
        }
    }
    let (key_type, key_bits) = key_facts(&cert);
    Ok(CertInfo {
        subject: rfc4514(cert.subject()),
        issuer: rfc4514(cert.issuer()),
        serial: hex(cert.raw_serial()),
        sha256: hex(&sha256(der)),
        spki_sha256: hex(&sha256(cert.public_key().raw)),
        not_before,
        not_after,
        days_to_expiry: days_between(now, not_after),
        san,
        signature_algorithm: sig_alg_name(&cert),
        ski: subject_key_id(&cert).map(|k| hex(&k)),
        aki: authority_key_id(&cert).map(|k| hex(&k)),
        key_type,
        key_bits,
        is_ca,
        path_len,
        key_usage,
        ext_key_usage,
        pem: None,
    })
}

/// Describes each certificate of a chain, in order: a description, or why
/// it does not parse (the PEM is filled with `with_pem`).
pub fn describe_each(
    chain: &[Vec<u8>],
    now: OffsetDateTime,
    with_pem: bool,
) -> Vec<Result<CertInfo, CertError>> {
    chain
        .iter()
        .map(|der| {
            describe(der, now).map(|mut info| {
                if with_pem {
                    info.pem = Some(to_pem(der));
                }
                info
            })
        })
        .collect()
}

/// Describes a whole chain; certificates that do not parse are skipped and
/// counted in the returned error list, so one bad certificate hides nothing else.
pub fn describe_chain(
    chain: &[Vec<u8>],
    now: OffsetDateTime,
    with_pem: bool,
) -> (Vec<CertInfo>, Vec<String>) {
    let mut infos = Vec::new();
    let mut errors = Vec::new();
    for (i, d) in describe_each(chain, now, with_pem).into_iter().enumerate() {
        match d {
            Ok(info) => infos.push(info),
            Err(e) => errors.push(format!("certificate {i}: {e}")),
        }
    }
    (infos, errors)
}

/// A chain's family and whether its signatures verify, decided against the anchors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The family whose anchor the top of the leaf's path names (or is).
    pub family: CaFamily,
    /// The signature check along that path, separate from the family.
    pub signature_verified: SignatureVerified,
}

/// Decides the family of a presented chain (leaf first) by identity.
///
/// The leaf's path is built first: from the leaf, each step goes to a
/// presented certificate whose subject is the current certificate's issuer
/// (and whose SKI is its AKI, when both are present), until a self-signed
/// certificate or no issuer among the presented ones. Certificates off that
/// path are extras and ignored: a real root appended after a forged leaf
/// gives the forged leaf nothing. The top of the path belongs to a family
/// when it *is* one of the family's anchors (same SPKI), or when its issuer
/// name equals an anchor's subject and, if both carry key identifiers, its
/// AKI equals that anchor's SKI. The signatures are then checked along the
/// path and from the anchor: a chain that only *names* a family gets
/// [`SignatureVerified::False`], which the verdict treats as forged.
pub fn classify(chain: &[Vec<u8>], families: &[(CaFamily, &[Anchor])]) -> Classification {
    let unknown = Classification {
        family: CaFamily::Unknown,
        signature_verified: SignatureVerified::False,
    };
    let parsed: Vec<Option<X509Certificate<'_>>> = chain
        .iter()
        .map(|der| X509Certificate::from_der(der).ok().map(|(_, c)| c))
        .collect();
    // Without a readable leaf there is nothing to tie the chain to the server.
    let Some(Some(_)) = parsed.first() else {
        return unknown;
    };
    let path = leaf_path(&parsed);
    let Some(top) = path.last() else {
        return unknown;
    };
    let top_spki = sha256(top.public_key().raw);
    let top_aki = authority_key_id(top);
    let mut found: Option<(CaFamily, &Anchor)> = None;
    'families: for (family, anchors) in families {
        for anchor in anchors.iter() {
            let is_anchor = anchor.spki_sha256 == top_spki;
            let issued_by = top.issuer().as_raw() == anchor.subject_der.as_slice()
                && key_ids_agree(top_aki.as_deref(), anchor.ski.as_deref());
            if is_anchor || issued_by {
                found = Some((*family, anchor));
                break 'families;
            }
        }
    }
    match found {
        None => unknown,
        Some((family, anchor)) => Classification {
            family,
            signature_verified: verify_links(&path, anchor),
        },
    }
}

/// True unless both key identifiers are present and differ.
fn key_ids_agree(aki: Option<&[u8]>, ski: Option<&[u8]>) -> bool {
    match (aki, ski) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

/// True when `issuer` may have issued `cert` by name and key identifier.
fn names_issuer(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == issuer.subject().as_raw()
        && key_ids_agree(
            authority_key_id(cert).as_deref(),
            subject_key_id(issuer).as_deref(),
        )
}

/// The path from the leaf (`parsed[0]`) up through the presented
/// certificates, each used at most once. Among several candidates for an
/// issuer, one whose key verifies the current certificate wins.
fn leaf_path<'a, 'b>(parsed: &'b [Option<X509Certificate<'a>>]) -> Vec<&'b X509Certificate<'a>> {
    let mut used = vec![false; parsed.len()];
    let mut path = Vec::new();
    let Some(Some(leaf)) = parsed.first() else {
        return path;
    };
    used[0] = true;
    path.push(leaf);
    let mut current = leaf;
    loop {
        if current.subject().as_raw() == current.issuer().as_raw() {
            break; // self-signed: the path ends here
        }
        let candidates: Vec<usize> = parsed
            .iter()
            .enumerate()
            .filter(|(i, c)| !used[*i] && c.as_ref().is_some_and(|c| names_issuer(current, c)))
            .map(|(i, _)| i)
            .collect();
        let pick = candidates
            .iter()
            .copied()
            .find(|&i| {
                parsed[i]
                    .as_ref()
                    .is_some_and(|c| current.verify_signature(Some(c.public_key())).is_ok())
            })
            .or_else(|| candidates.first().copied());
        let Some(next) = pick.and_then(|i| {
            used[i] = true;
            parsed[i].as_ref()
        }) else {
            break;
        };
        path.push(next);
        current = next;
    }
    path
}

/// Verifies each link of the path, then its top against the anchor.
fn verify_links(path: &[&X509Certificate<'_>], anchor: &Anchor) -> SignatureVerified {
    let mut worst = SignatureVerified::True;
    let mut note = |r: Result<(), X509Error>| match r {
        Ok(()) => {}
        Err(X509Error::SignatureUnsupportedAlgorithm) => {
            if worst == SignatureVerified::True {
                worst = SignatureVerified::UnsupportedAlgorithm;
            }
        }
        Err(_) => worst = SignatureVerified::False,
    };
    for pair in path.windows(2) {
        note(pair[0].verify_signature(Some(pair[1].public_key())));
    }
    let Some(top) = path.last() else {
        return SignatureVerified::False;
    };
    match X509Certificate::from_der(&anchor.der) {
        Ok((_, a)) => {
            if a.public_key().raw == top.public_key().raw {
                // The chain presents the anchor itself: check its self-signature.
                note(top.verify_signature(None));
            } else {
                note(top.verify_signature(Some(a.public_key())));
            }
        }
        Err(_) => return SignatureVerified::False,
    }
    worst
}

/// SHA-256 of some bytes.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Lowercase hex of some bytes.
pub fn hex(data: &[u8]) -> String {
    use std::fmt::Write;
    data.iter()
        .fold(String::with_capacity(data.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Wraps DER in a PEM `CERTIFICATE` block.
pub fn to_pem(der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Whole days from `now` to `then`, rounded towards negative infinity.
pub fn days_between(now: OffsetDateTime, then: OffsetDateTime) -> i64 {
    let secs = (then - now).whole_seconds();
    secs.div_euclid(86_400)
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A distinguished name as RFC 4514 text: most specific RDN first
/// (`CN=…,O=…,C=FR`), the RFC's short attribute names, other attributes as
/// `OID=#hex`, and special characters escaped.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let oid = atv.attr_type().to_id_string();
                    let short = match oid.as_str() {
                        "2.5.4.3" => Some("CN"),
                        "2.5.4.7" => Some("L"),
                        "2.5.4.8" => Some("ST"),
                        "2.5.4.10" => Some("O"),
                        "2.5.4.11" => Some("OU"),
                        "2.5.4.6" => Some("C"),
                        "2.5.4.9" => Some("STREET"),
                        "0.9.2342.19200300.100.1.25" => Some("DC"),
                        "0.9.2342.19200300.100.1.1" => Some("UID"),
                        _ => None,
                    };
                    match (short, atv.as_str()) {
                        (Some(short), Ok(value)) => format!("{short}={}", escape_dn_value(value)),
                        _ => format!("{oid}=#{}", hex(atv.attr_value().data)),
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// Escapes an attribute value for RFC 4514 §2.4, and every control
/// character (C0, DEL, C1) as `\XX` hex of its UTF-8 bytes, which the RFC
/// allows for any character: a name can never carry a terminal escape sequence.
fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge_space = c == ' ' && (i == 0 || i == last);
        if c.is_control() {
            push_hex_escaped(&mut out, c);
        } else if matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || edge_space
            || (i == 0 && c == '#')
        {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `c` as `\XX` per UTF-8 byte (uppercase hex).
fn push_hex_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        let _ = write!(out, "\\{b:02X}");
    }
}

/// A string from a certificate (a SAN) with its control characters
/// (C0, DEL, C1) escaped as `\XX`, so it is safe to print on a terminal.
pub fn escape_control(value: &str) -> String {
    if !value.chars().any(char::is_control) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c.is_control() {
            push_hex_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes a DER distinguished name (as sent in a CertificateRequest) to
/// RFC 4514 text. Some stacks omit the outer SEQUENCE: it is retried with one
/// added, and a name that still does not parse comes back as `hex:…`, so
/// nothing is silently lost.
pub fn dn_der_to_string(der: &[u8]) -> String {
    let parse = |bytes: &[u8]| match X509Name::from_der(bytes) {
        Ok((rest, name)) if rest.is_empty() && name.iter().next().is_some() => Some(rfc4514(&name)),
        _ => None,
    };
    if let Some(name) = parse(der) {
        return name;
    }
    if der.len() < 0x1_0000 {
        let len = der.len();
        let mut wrapped = vec![0x30];
        if len < 0x80 {
            wrapped.push(len as u8);
        } else if len < 0x100 {
            wrapped.extend_from_slice(&[0x81, len as u8]);
        } else {
            wrapped.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
        }
        wrapped.extend_from_slice(der);
        if let Some(name) = parse(&wrapped) {
            return name;
        }
    }
    format!("hex:{}", hex(der))
}

fn subject_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
}

fn authority_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(k) => {
                k.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
}

fn ip_bytes(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => format!("ip:{}", hex(b)),
    }
}

fn sig_alg_name(cert: &X509Certificate<'_>) -> String {
    let oid = &cert.signature_algorithm.algorithm;
    oid_registry::OidRegistry::default()
        .with_crypto()
        .with_x509()
        .with_pkcs1()
        .get(oid)
        .map(|e| e.sn().to_string())
        .unwrap_or_else(|| oid.to_id_string())
}

fn key_facts(cert: &X509Certificate<'_>) -> (String, Option<u32>) {
    match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
            ("RSA".into(), Some(rsa.key_size() as u32))
        }
        Ok(x509_parser::public_key::PublicKey::EC(ec)) => ("EC".into(), Some(ec.key_size() as u32)),
        Ok(x509_parser::public_key::PublicKey::DSA(_)) => ("DSA".into(), None),
        _ => {
            let oid = cert.public_key().algorithm.algorithm.to_id_string();
            match oid.as_str() {
                "1.3.101.112" => ("Ed25519".into(), Some(256)),
                "1.3.101.113" => ("Ed448".into(), Some(456)),
                _ => (oid, None),
            }
        }
    }
}

fn key_usage_names(ku: &KeyUsage) -> Vec<String> {
    let names = [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
        (ku.encipher_only(), "encipherOnly"),
        (ku.decipher_only(), "decipherOnly"),
    ];
    names
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn eku_names(eku: &ExtendedKeyUsage<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let flags = [
        (eku.any, "anyExtendedKeyUsage"),
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ];
    out.extend(
        flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n.to_string()),
    );
    out.extend(eku.other.iter().map(|o| o.to_id_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(input.as_bytes()), want);
        }
    }

    #[test]
    fn distinguished_names_are_rfc4514() {
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "FR");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "PayCert, Lab");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "#Lab STCA2 Root ");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (_, x) = X509Certificate::from_der(cert.der()).unwrap();
        // rcgen encodes CN first, then C, then O: RFC 4514 writes the last RDN first.
        let want = "O=PayCert\\, Lab,C=FR,CN=\\#Lab STCA2 Root\\ ";
        assert_eq!(rfc4514(x.subject()), want);
        let raw = x.subject().as_raw();
        assert_eq!(dn_der_to_string(raw), want);
        // Without the outer SEQUENCE (tag + short length).
        assert_eq!(dn_der_to_string(&raw[2..]), want);
        let junk = dn_der_to_string(&[0xff, 0x01]);
        assert!(junk.starts_with("hex:"), "{junk}");
    }

    /// A CA for the classification tests: its params, key and certificate.
    struct TestCa {
        params: rcgen::CertificateParams,
        key: rcgen::KeyPair,
        der: Vec<u8>,
    }

    fn ca_params(cn: &str, aki: bool) -> rcgen::CertificateParams {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.use_authority_key_identifier_extension = aki;
        p
    }

    fn root(cn: &str) -> TestCa {
        let params = ca_params(cn, false);
        let key = rcgen::KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        TestCa { params, key, der }
    }

    fn intermediate(cn: &str, parent: &TestCa) -> TestCa {
        let params = ca_params(cn, true);
        let key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::from_params(&parent.params, &parent.key);
        let der = params.signed_by(&key, &issuer).unwrap().der().to_vec();
        TestCa { params, key, der }
    }

    /// A leaf naming `issuer_params` as its issuer (name, and AKI when
    /// `aki`), signed by `key` — the issuer's own key, or a forger's.
    fn leaf(issuer_params: &rcgen::CertificateParams, key: &rcgen::KeyPair, aki: bool) -> Vec<u8> {
        let mut p = rcgen::CertificateParams::new(vec!["gw.lab".to_string()]).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "gw.lab");
        p.use_authority_key_identifier_extension = aki;
        let issuer = rcgen::Issuer::from_params(issuer_params, key);
        let own = rcgen::KeyPair::generate().unwrap();
        p.signed_by(&own, &issuer).unwrap().der().to_vec()
    }

    #[test]
    fn the_family_comes_from_the_leaf_path_and_forgeries_do_not_verify() {
        let stca2_root = root("STCA2 Root");
        let stca2_int = intermediate("STCA2 Issuing", &stca2_root);
        let stca_root = root("STCA Root");
        let evil = root("Interceptor Root");
        let anchors2 = vec![Anchor::from_der(&stca2_root.der).unwrap()];
        let anchors1 = vec![Anchor::from_der(&stca_root.der).unwrap()];
        let fams = [
            (CaFamily::Stca2, anchors2.as_slice()),
            (CaFamily::Stca, anchors1.as_slice()),
        ];
        let real_leaf = leaf(&stca2_int.params, &stca2_int.key, true);
        // A forged leaf naming the STCA2 intermediate (name and its key
        // identifier: rcgen writes the AKI from the issuer's key id method,
        // which is the intermediate's own SHA-256 method over its key), but
        // signed by the interceptor's key.
        let ski_of_int = stca2_int.params.key_identifier(&stca2_int.key);
        let mut forged_issuer = stca2_int.params.clone();
        forged_issuer.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(ski_of_int);
        let forged_leaf = leaf(&forged_issuer, &evil.key, true);
        let evil_leaf = leaf(&evil.params, &evil.key, true);
        // A leaf copying the STCA2 root's name, without an AKI.
        let named_leaf = leaf(&stca2_root.params, &evil.key, false);
        let junk = vec![0x30, 0x03, 1, 2, 3];

        let c = |chain: &[&Vec<u8>]| {
            let chain: Vec<Vec<u8>> = chain.iter().map(|c| (*c).clone()).collect();
            let r = classify(&chain, &fams);
            (r.family, r.signature_verified)
        };
        use SignatureVerified as V;
        type Case<'a> = (&'a str, Vec<&'a Vec<u8>>, (CaFamily, SignatureVerified));
        let cases: Vec<Case<'_>> = vec![
            (
                "real chain",
                vec![&real_leaf, &stca2_int.der],
                (CaFamily::Stca2, V::True),
            ),
            (
                "real chain with its root",
                vec![&real_leaf, &stca2_int.der, &stca2_root.der],
                (CaFamily::Stca2, V::True),
            ),
            (
                "extras after the path are ignored",
                vec![&real_leaf, &stca2_int.der, &evil.der],
                (CaFamily::Stca2, V::True),
            ),
            (
                "extras before the issuer are skipped",
                vec![&real_leaf, &evil.der, &stca_root.der, &stca2_int.der],
                (CaFamily::Stca2, V::True),
            ),
            (
                "interceptor leaf followed by the real STCA2 root",
                vec![&evil_leaf, &stca2_root.der],
                (CaFamily::Unknown, V::False),
            ),
            (
                "interceptor leaf followed by the real STCA2 chain",
                vec![&evil_leaf, &stca2_int.der, &stca2_root.der],
                (CaFamily::Unknown, V::False),
            ),
            (
                "forged leaf with the real STCA2 intermediate",
                vec![&forged_leaf, &stca2_int.der],
                (CaFamily::Stca2, V::False),
            ),
            (
                "leaf copying the STCA2 root name without AKI",
                vec![&named_leaf],
                (CaFamily::Stca2, V::False),
            ),
            (
                "unreadable leaf",
                vec![&junk, &stca2_int.der],
                (CaFamily::Unknown, V::False),
            ),
        ];
        for (name, chain, want) in cases {
            assert_eq!(c(&chain), want, "{name}");
        }
    }

    #[test]
    fn control_characters_are_escaped_in_names_and_sans() {
        let mut params =
            rcgen::CertificateParams::new(vec!["evil\x1b[31m.lab".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "red\x1b[31malert\x7f\u{9b}");
        let key = rcgen::KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let info = describe(&der, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(info.subject, "CN=red\\1B[31malert\\7F\\C2\\9B");
        assert_eq!(info.issuer, info.subject);
        assert_eq!(info.san, ["evil\\1B[31m.lab"]);
        let json = serde_json::to_string(&info).unwrap();
        assert!(
            !json.contains('\u{1b}') && !json.contains("\\u001b"),
            "{json}"
        );
        assert_eq!(escape_control("plain.lab"), "plain.lab");
    }

    #[test]
    fn days_round_down() {
        let now = ::time::macros::datetime!(2026-01-01 12:00 UTC);
        assert_eq!(
            days_between(now, ::time::macros::datetime!(2026-01-03 11:00 UTC)),
            1
        );
        assert_eq!(
            days_between(now, ::time::macros::datetime!(2026-01-01 11:00 UTC)),
            -1
        );
    }
}
