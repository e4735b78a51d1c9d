//! The lab's PKI, generated at every start with rcgen (ring, ECDSA P-256/P-384).
//!
//! Three unrelated server hierarchies stand in for the ones a probe meets:
//!
//! - **STCA2**: root -> intermediate -> leaf, the migration's goal. An expired
//!   leaf from the same intermediate serves the `expired` behaviour.
//! - **STCA**: root -> leaf, the old authority. Its root's subject differs from
//!   the STCA2 root's, so chains are told apart by name as well as by key.
//! - **Interceptor**: root -> leaf, a TLS-inspecting middlebox that forges the
//!   gateway's leaf (same subject and SAN) under its own root. A craftier
//!   forgery copies the STCA2 intermediate's name and key identifier into
//!   the leaf's issuer fields, signs it with the interceptor's key and
//!   presents it with the real STCA2 intermediate: it names STCA2 but does
//!   not verify.
//!
//! A fourth, the **client CA**, issues the terminal certificate that the
//! `client-auth` behaviour requires. CA certificates carry a subject key
//! identifier and every issued certificate an authority key identifier, as
//! real ones do, because the probe classifies chains by those identifiers.

use std::io;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SanType, SignatureAlgorithm,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use super::LabError;
use stca2_engine::cert::to_pem;

/// The DNS name in every lab server leaf, next to the two lab addresses.
pub const LAB_DNS_NAME: &str = "lab.stca2.invalid";

/// A certificate chain (leaf first) and the leaf's private key.
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    key_pem: String,
}

impl Identity {
    /// The chain a server (or client) presents, leaf first, root not included.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The leaf certificate.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The leaf's private key (PKCS#8), ready for a rustls config.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }

    /// The leaf's private key as a PKCS#8 PEM block.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }
}

/// Every certificate and key the lab serves or trusts.
#[derive(Debug)]
pub struct LabPki {
    stca2_root: CertificateDer<'static>,
    stca2_intermediate: CertificateDer<'static>,
    stca2_server: Identity,
    stca2_expired: Identity,
    stca_root: CertificateDer<'static>,
    stca_issuer: Issuer<'static, KeyPair>,
    stca_server: Identity,
    interceptor_root: CertificateDer<'static>,
    interceptor_server: Identity,
    forged_server: Identity,
    client_ca: CertificateDer<'static>,
    client: Identity,
    extra_stca_anchors: Vec<CertificateDer<'static>>,
}

/// A name with the lab's conventions: CN, O, C=FR.
fn dn(cn: &str, o: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CountryName, "FR");
    d.push(DnType::OrganizationName, o);
    d.push(DnType::CommonName, cn);
    d
}

fn key(alg: &'static SignatureAlgorithm) -> Result<KeyPair, LabError> {
    Ok(KeyPair::generate_for(alg)?)
}

fn ca_params(
    name: DistinguishedName,
    now: OffsetDateTime,
    path_len: Option<u8>,
) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name;
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(3650);
    p.is_ca = IsCa::Ca(match path_len {
        None => BasicConstraints::Unconstrained,
        Some(n) => BasicConstraints::Constrained(n),
    });
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.use_authority_key_identifier_extension = path_len.is_some();
    p
}

fn leaf_params(
    name: DistinguishedName,
    sans: Vec<SanType>,
    eku: ExtendedKeyUsagePurpose,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name;
    p.subject_alt_names = sans;
    p.not_before = not_before;
    p.not_after = not_after;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![eku];
    p.use_authority_key_identifier_extension = true;
    p
}

/// Signs a leaf under `issuer` and packages it with `rest` of the chain.
fn issue(
    params: &CertificateParams,
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
    rest: &[&CertificateDer<'static>],
) -> Result<Identity, LabError> {
    let k = key(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.signed_by(&k, issuer)?;
    let mut chain = vec![cert.der().clone()];
    chain.extend(rest.iter().map(|c| (*c).clone()));
    Ok(Identity {
        chain,
        key: PrivatePkcs8KeyDer::from(k.serialize_der()),
        key_pem: k.serialize_pem(),
    })
}

impl LabPki {
    /// Generates every hierarchy; the server leaves name both lab addresses and [`LAB_DNS_NAME`].
    pub fn generate(primary: IpAddr, secondary: IpAddr) -> Result<LabPki, LabError> {
        let now = OffsetDateTime::now_utc();
        let sans = vec![
            SanType::IpAddress(primary),
            SanType::IpAddress(secondary),
            SanType::DnsName(LAB_DNS_NAME.try_into()?),
        ];
        let gateway_dn = || dn(LAB_DNS_NAME, "Lab gateway (lab)");
        let server = |nb, na| {
            leaf_params(
                gateway_dn(),
                sans.clone(),
                ExtendedKeyUsagePurpose::ServerAuth,
                nb,
                na,
            )
        };
        let valid = server(now - Duration::days(1), now + Duration::days(365));

        // STCA2: root -> intermediate -> leaf (and an expired leaf).
        let root_key = key(&rcgen::PKCS_ECDSA_P384_SHA384)?;
        let root_params = ca_params(dn("STCA2 Root CA (lab)", "PayCert (lab)"), now, None);
        let stca2_root = root_params.self_signed(&root_key)?.der().clone();
        let root = Issuer::new(root_params, root_key);
        let int_key = key(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let int_params = ca_params(dn("STCA2 Server CA 1 (lab)", "PayCert (lab)"), now, Some(0));
        let stca2_intermediate = int_params.signed_by(&int_key, &root)?.der().clone();
        // What a forger copies from the real intermediate: its name and key identifier.
        let mut forged_issuer_params = int_params.clone();
        forged_issuer_params.key_identifier_method =
            KeyIdMethod::PreSpecified(int_params.key_identifier(&int_key));
        let intermediate = Issuer::new(int_params, int_key);
        let stca2_server = issue(&valid, &intermediate, &[&stca2_intermediate])?;
        let expired = server(now - Duration::days(730), now - Duration::days(30));
        let stca2_expired = issue(&expired, &intermediate, &[&stca2_intermediate])?;

        // STCA (old): root -> leaf.
        let stca_key = key(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut stca_name = dn("STCA Root CA (lab)", "PayCert (lab)");
        stca_name.push(DnType::OrganizationalUnitName, "Ancienne AC STCA");
        let stca_params = ca_params(stca_name, now, None);
        let stca_root = stca_params.self_signed(&stca_key)?.der().clone();
        let stca_issuer = Issuer::new(stca_params, stca_key);
        let stca_server = issue(&valid, &stca_issuer, &[])?;

        // Interceptor: its own root forging the gateway's leaf.
        let icpt_key = key(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let icpt_params = ca_params(
            dn("Interceptor Root CA (lab)", "Middlebox Inc. (lab)"),
            now,
            None,
        );
        let interceptor_root = icpt_params.self_signed(&icpt_key)?.der().clone();
        let icpt = Issuer::new(icpt_params, icpt_key);
        let interceptor_server = issue(&valid, &icpt, &[&interceptor_root])?;
        let forger = Issuer::from_params(&forged_issuer_params, icpt.key());
        let forged_server = issue(&valid, &forger, &[&stca2_intermediate])?;

        // Client CA and a terminal certificate.
        let cca_key = key(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let cca_params = ca_params(dn("Terminal Client CA (lab)", "PayCert (lab)"), now, None);
        let client_ca = cca_params.self_signed(&cca_key)?.der().clone();
        let cca = Issuer::new(cca_params, cca_key);
        let client_params = leaf_params(
            dn("TPE 00000001 (lab)", "Merchant (lab)"),
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
            now - Duration::days(1),
            now + Duration::days(365),
        );
        let client = issue(&client_params, &cca, &[])?;

        Ok(LabPki {
            stca2_root,
            stca2_intermediate,
            stca2_server,
            stca2_expired,
            stca_root,
            stca_issuer,
            stca_server,
            interceptor_root,
            interceptor_server,
            forged_server,
            client_ca,
            client,
            extra_stca_anchors: Vec::new(),
        })
    }

    /// Writes the anchors and the client identity as PEM files into `dir` (created if needed):
    /// `stca2-root.pem`, `stca2-intermediate.pem`, `stca-root.pem`, `interceptor-root.pem`,
    /// `client-ca.pem`, `client.pem`, `client-key.pem` (mode 0600 on Unix).
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut stca = to_pem(&self.stca_root);
        for extra in &self.extra_stca_anchors {
            stca.push_str(&to_pem(extra));
        }
        let files: [(&str, String); 7] = [
            ("stca2-root.pem", to_pem(&self.stca2_root)),
            ("stca2-intermediate.pem", to_pem(&self.stca2_intermediate)),
            ("stca-root.pem", stca),
            ("interceptor-root.pem", to_pem(&self.interceptor_root)),
            ("client-ca.pem", to_pem(&self.client_ca)),
            ("client.pem", to_pem(self.client.leaf())),
            ("client-key.pem", self.client.key_pem().to_string()),
        ];
        for (name, text) in files {
            write_atomic(&dir.join(name), text.as_bytes(), name.ends_with("-key.pem"))?;
        }
        Ok(())
    }

    /// The STCA2 root: the trust anchor of a migrated gateway.
    pub fn stca2_root(&self) -> &CertificateDer<'static> {
        &self.stca2_root
    }

    /// The STCA2 intermediate that issues the lab's STCA2 leaves.
    pub fn stca2_intermediate(&self) -> &CertificateDer<'static> {
        &self.stca2_intermediate
    }

    /// The STCA2 server identity: leaf + intermediate.
    pub fn stca2_server(&self) -> &Identity {
        &self.stca2_server
    }

    /// An STCA2 server identity whose leaf expired 30 days ago.
    pub fn stca2_expired(&self) -> &Identity {
        &self.stca2_expired
    }

    /// The old STCA root.
    pub fn stca_root(&self) -> &CertificateDer<'static> {
        &self.stca_root
    }

    /// The old STCA root as an rcgen issuer, to sign more STCA certificates
    /// (the legacy responder's, for instance).
    pub fn stca_issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.stca_issuer
    }

    /// The STCA server identity: a leaf signed directly by the STCA root.
    pub fn stca_server(&self) -> &Identity {
        &self.stca_server
    }

    /// The interceptor root, unrelated to every PayCert family.
    pub fn interceptor_root(&self) -> &CertificateDer<'static> {
        &self.interceptor_root
    }

    /// The interceptor's server identity: forged gateway leaf + interceptor root.
    pub fn interceptor_server(&self) -> &Identity {
        &self.interceptor_server
    }

    /// A forged identity: a leaf naming the STCA2 intermediate, signed by the
    /// interceptor's key, with the real STCA2 intermediate.
    pub fn forged_server(&self) -> &Identity {
        &self.forged_server
    }

    /// The CA whose certificates the `client-auth` behaviour accepts.
    pub fn client_ca(&self) -> &CertificateDer<'static> {
        &self.client_ca
    }

    /// A terminal identity signed by the client CA, for mutual-TLS checks.
    pub fn client(&self) -> &Identity {
        &self.client
    }

    /// Adds a certificate to `stca-root.pem` when written, e.g. the root of a
    /// committed SHA-1 STCA fixture chain that the legacy responder serves.
    pub fn add_stca_anchor(&mut self, der: CertificateDer<'static>) {
        self.extra_stca_anchors.push(der);
    }
}

/// Writes through a temporary file and a rename, so a reader never sees half a PEM.
fn write_atomic(path: &Path, data: &[u8], private: bool) -> io::Result<()> {
    let tmp = path.with_extension("pem.tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = opts.open(&tmp)?;
        io::Write::write_all(&mut f, data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stca2_engine::cert::{Anchor, classify};
    use stca2_report::{CaFamily, SignatureVerified};

    fn pki() -> LabPki {
        LabPki::generate(
            "127.0.38.45".parse().unwrap(),
            "127.0.38.173".parse().unwrap(),
        )
        .unwrap()
    }

    fn chain(id: &Identity) -> Vec<Vec<u8>> {
        id.chain().iter().map(|c| c.to_vec()).collect()
    }

    #[test]
    fn chains_classify_into_their_families() {
        let p = pki();
        let stca2 = vec![Anchor::from_der(p.stca2_root()).unwrap()];
        let stca = vec![Anchor::from_der(p.stca_root()).unwrap()];
        assert!(stca2[0].ski.is_some() && stca[0].ski.is_some());
        assert_ne!(stca2[0].subject_der, stca[0].subject_der);
        let fams = [
            (CaFamily::Stca2, stca2.as_slice()),
            (CaFamily::Stca, stca.as_slice()),
        ];
        let c = classify(&chain(p.stca2_server()), &fams);
        assert_eq!(c.family, CaFamily::Stca2);
        assert_eq!(c.signature_verified, SignatureVerified::True);
        assert_eq!(
            classify(&chain(p.stca2_expired()), &fams).family,
            CaFamily::Stca2
        );
        let c = classify(&chain(p.stca_server()), &fams);
        assert_eq!(c.family, CaFamily::Stca);
        assert_eq!(c.signature_verified, SignatureVerified::True);
        assert_eq!(
            classify(&chain(p.interceptor_server()), &fams).family,
            CaFamily::Unknown
        );
        // The forgery names STCA2 but its leaf does not verify under the real intermediate.
        let forged = chain(p.forged_server());
        assert_eq!(forged[1], p.stca2_intermediate().to_vec());
        let c = classify(&forged, &fams);
        assert_eq!(c.family, CaFamily::Stca2);
        assert_eq!(c.signature_verified, SignatureVerified::False);
    }

    #[test]
    fn leaves_name_the_lab_and_expired_is_expired() {
        let p = pki();
        let now = OffsetDateTime::now_utc();
        let info = stca2_engine::cert::describe(p.stca2_server().leaf(), now).unwrap();
        assert!(
            info.san.iter().any(|s| s.contains("127.0.38.45")),
            "{:?}",
            info.san
        );
        assert!(info.san.iter().any(|s| s.contains(LAB_DNS_NAME)));
        let exp = stca2_engine::cert::describe(p.stca2_expired().leaf(), now).unwrap();
        assert!(exp.not_after < now);
    }
}
