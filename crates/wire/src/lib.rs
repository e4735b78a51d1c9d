//! Just enough of the TLS 1.2 wire format to read a server's certificate
//! chain without completing a handshake.
//!
//! Old STCA gateway stacks may speak only TLS 1.2 (or older) with RSA key
//! exchange, CBC suites and SHA-1 signatures. rustls rightly refuses all of
//! that, so it never gets to see the certificate. But before TLS 1.3 the
//! server's first flight is plaintext: ServerHello, Certificate, an optional
//! CertificateRequest and ServerHelloDone are readable by anyone who sends a
//! ClientHello the server likes. This module builds such a ClientHello
//! ([`build_client_hello`]) and parses what comes back ([`ServerFlight`]).
//!
//! The parser is written for hostile input: it is pure (bytes in, events
//! out), every length is checked before anything is allocated for it
//! ([`MAX_RECORD_LEN`], [`MAX_HANDSHAKE_LEN`], [`MAX_CERTIFICATE_MSG_LEN`],
//! [`MAX_TOTAL_BYTES`], [`MAX_CERTIFICATES`]), and it never panics: every
//! failure is a [`WireError`]. It is fuzzed (`fuzz/`, target `tlswire`) and
//! property-tested below.
//!
//! Layering:
//! - [`HandshakeReader`] turns a byte stream into records and records into
//!   whole handshake messages (reassembling messages split across records
//!   and splitting records carrying several messages), plus alerts.
//! - [`ServerFlight`] interprets a server's messages until ServerHelloDone.
//! - [`parse_client_hello`] and the `server_*` builders serve the lab's
//!   legacy responder, which plays the old gateway.
#![warn(missing_docs)]

use std::fmt;

/// Largest record body accepted: 2^14 plus the 2048 bytes TLS allows for
/// compression and encryption expansion.
pub const MAX_RECORD_LEN: usize = 16384 + 2048;
/// Largest handshake message accepted, except Certificate.
pub const MAX_HANDSHAKE_LEN: usize = 64 * 1024;
/// Largest Certificate message accepted.
pub const MAX_CERTIFICATE_MSG_LEN: usize = 256 * 1024;
/// Most bytes read from one peer before giving up.
pub const MAX_TOTAL_BYTES: usize = 512 * 1024;
/// Most certificates accepted in one Certificate message.
pub const MAX_CERTIFICATES: usize = 16;

/// Record content types.
const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
const CT_HEARTBEAT: u8 = 24;

/// Handshake message types.
const HS_HELLO_REQUEST: u8 = 0;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
const HS_CERTIFICATE_REQUEST: u8 = 13;
const HS_SERVER_HELLO_DONE: u8 = 14;

/// Protocol version numbers on the wire.
pub const TLS1_0: u16 = 0x0301;
/// TLS 1.2.
pub const TLS1_2: u16 = 0x0303;
/// TLS 1.3 (only ever seen in a supported_versions extension).
pub const TLS1_3: u16 = 0x0304;

/// The cipher suites the legacy ClientHello offers, in preference order,
/// with their IANA names. ECDHE first (what a healthy TLS 1.2 server picks),
/// then RSA key exchange (what old gateway stacks may insist on).
pub const LEGACY_SUITES: &[(u16, &str)] = &[
    (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
];

/// Suites using plain RSA key exchange: what the lab's legacy responder
/// accepts, in its (server) preference order.
pub const RSA_KX_SUITES: &[u16] = &[0x002F, 0x0035, 0x000A, 0x003C, 0x003D, 0x009C, 0x009D];

/// TLS 1.3 suite names, for reporting what a TLS 1.3 server chose.
const TLS13_SUITES: &[(u16, &str)] = &[
    (0x1301, "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
];

/// Other suites rustls may negotiate, not offered by the legacy ClientHello,
/// so that both stacks name every suite from this one table.
const OTHER_SUITES: &[(u16, &str)] = &[
    (0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
];

/// Named groups offered: x25519, secp256r1, secp384r1.
const GROUPS: &[u16] = &[0x001D, 0x0017, 0x0018];

/// Signature algorithms offered, SHA-1 ones included on purpose.
const SIG_ALGS: &[u16] = &[
    0x0401, // rsa_pkcs1_sha256
    0x0501, // rsa_pkcs1_sha384
    0x0601, // rsa_pkcs1_sha512
    0x0403, // ecdsa_secp256r1_sha256
    0x0503, // ecdsa_secp384r1_sha384
    0x0603, // ecdsa_secp521r1_sha512
    0x0804, // rsa_pss_rsae_sha256
    0x0805, // rsa_pss_rsae_sha384
    0x0806, // rsa_pss_rsae_sha512
    0x0201, // rsa_pkcs1_sha1
    0x0203, // ecdsa_sha1
];

/// The IANA name of a cipher suite, or `0xXXXX` for one not in the table.
/// Both the rustls path and the legacy capture name suites with it.
pub fn cipher_suite_name(suite: u16) -> String {
    LEGACY_SUITES
        .iter()
        .chain(TLS13_SUITES)
        .chain(OTHER_SUITES)
        .find(|(id, _)| *id == suite)
        .map(|(_, n)| (*n).to_string())
        .unwrap_or_else(|| format!("0x{suite:04X}"))
}

/// The name of a protocol version (`TLSv1.2`…), or `0xXXXX`.
pub fn version_name(version: u16) -> String {
    match version {
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1.0".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        v => format!("0x{v:04X}"),
    }
}

/// The IANA name of an alert description (`handshake_failure`…), or
/// `alert_<n>` for one not in the registry. The one alert spelling of the
/// crate: the rustls path and the legacy capture both use it.
pub fn alert_name(description: u8) -> String {
    let name = match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "encrypted_client_hello_required",
        d => return format!("alert_{d}"),
    };
    name.to_string()
}

/// Why some bytes are not a usable TLS server flight. Each variant is a
/// class a report can show as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A record header announced more than [`MAX_RECORD_LEN`] bytes.
    #[error(
        "record length {0} exceeds the TLS limit of {MAX_RECORD_LEN} bytes: the peer is not speaking TLS, or the stream is corrupted"
    )]
    RecordTooLong(usize),
    /// A handshake message announced more than its limit.
    #[error(
        "{kind} message length {len} exceeds the limit of {limit} bytes: refusing to buffer it"
    )]
    MessageTooLong {
        /// The message type, by name.
        kind: &'static str,
        /// The announced length.
        len: usize,
        /// The limit for that type.
        limit: usize,
    },
    /// More than [`MAX_TOTAL_BYTES`] bytes without reaching the end of the flight.
    #[error(
        "the peer sent more than {MAX_TOTAL_BYTES} bytes without finishing its first flight: giving up"
    )]
    TooMuchData,
    /// More than [`MAX_CERTIFICATES`] certificates in one message: how many it carries.
    #[error(
        "the Certificate message carries {0} certificates, more than the {MAX_CERTIFICATES} accepted"
    )]
    TooManyCertificates(usize),
    /// The bytes are not TLS records at all.
    #[error("not TLS: {0}")]
    NotTls(String),
    /// TLS framing, but a message does not decode.
    #[error("malformed TLS: {0}")]
    Malformed(String),
}

/// A TLS alert as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// 1 = warning, 2 = fatal.
    pub level: u8,
    /// The description code.
    pub description: u8,
}

impl Alert {
    /// The alert's IANA name.
    pub fn name(&self) -> String {
        alert_name(self.description)
    }
}

/// One unit read off the wire: a whole handshake message or an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A handshake message: its type and body (without the 4-byte header).
    Handshake {
        /// Handshake message type.
        typ: u8,
        /// The message body.
        body: Vec<u8>,
    },
    /// An alert record.
    Alert(Alert),
    /// A ChangeCipherSpec record (only meaningful as a protocol error here).
    ChangeCipherSpec,
    /// An application-data record (encrypted: never expected before the end of the flight).
    ApplicationData,
}

/// Turns a byte stream into [`Message`]s, within the module's limits.
///
/// Feed it whatever the socket returned; it keeps at most one record and one
/// handshake message buffered. Errors are sticky: once `feed` fails, every
/// later call returns the same error and buffers nothing.
#[derive(Debug, Default)]
pub struct HandshakeReader {
    /// Bytes of an incomplete record (header included).
    pending: Vec<u8>,
    /// Handshake bytes not yet forming a whole message.
    hs: Vec<u8>,
    /// Bytes fed so far.
    total: usize,
    /// Whether a record has been seen (for error wording).
    seen_record: bool,
    /// The error that ended the stream, returned again by every later call.
    failed: Option<WireError>,
}

impl HandshakeReader {
    /// A reader with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes `bytes`, returning every message they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Message>, WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.feed_inner(bytes);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
            // Nothing more is buffered after a failure.
            self.pending = Vec::new();
            self.hs = Vec::new();
        }
        result
    }

    fn feed_inner(&mut self, bytes: &[u8]) -> Result<Vec<Message>, WireError> {
        self.total = self.total.saturating_add(bytes.len());
        if self.total > MAX_TOTAL_BYTES {
            return Err(WireError::TooMuchData);
        }
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            // Complete the 5-byte header first, then the body: never buffer
            // more than one record's worth.
            let want = if self.pending.len() < 5 {
                5 - self.pending.len()
            } else {
                5 + usize::from(u16::from_be_bytes([self.pending[3], self.pending[4]]))
                    - self.pending.len()
            };
            let take = want.min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == 5 {
                self.check_header()?;
            }
            let complete = self.pending.len() >= 5
                && self.pending.len()
                    == 5 + usize::from(u16::from_be_bytes([self.pending[3], self.pending[4]]));
            if complete {
                let record = std::mem::take(&mut self.pending);
                self.seen_record = true;
                self.on_record(record[0], &record[5..], &mut out)?;
            }
        }
        Ok(out)
    }

    fn check_header(&self) -> Result<(), WireError> {
        let h = &self.pending;
        let known = matches!(
            h[0],
            CT_CHANGE_CIPHER_SPEC | CT_ALERT | CT_HANDSHAKE | CT_APPLICATION_DATA | CT_HEARTBEAT
        );
        if !known || h[1] != 3 {
            return Err(WireError::NotTls(describe_garbage(h, self.seen_record)));
        }
        let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
        if len > MAX_RECORD_LEN {
            return Err(WireError::RecordTooLong(len));
        }
        Ok(())
    }

    fn on_record(
        &mut self,
        content_type: u8,
        body: &[u8],
        out: &mut Vec<Message>,
    ) -> Result<(), WireError> {
        if content_type != CT_HANDSHAKE && !self.hs.is_empty() {
            return Err(WireError::Malformed(
                "a record of another type interrupted a fragmented handshake message".into(),
            ));
        }
        match content_type {
            CT_HANDSHAKE => {
                if body.is_empty() {
                    return Err(WireError::Malformed("empty handshake record".into()));
                }
                self.hs.extend_from_slice(body);
                self.drain_handshake(out)
            }
            CT_ALERT => {
                if body.len() < 2 {
                    return Err(WireError::Malformed(format!(
                        "alert record of {} bytes (expected 2)",
                        body.len()
                    )));
                }
                out.push(Message::Alert(Alert {
                    level: body[0],
                    description: body[1],
                }));
                Ok(())
            }
            CT_CHANGE_CIPHER_SPEC => {
                out.push(Message::ChangeCipherSpec);
                Ok(())
            }
            CT_APPLICATION_DATA => {
                out.push(Message::ApplicationData);
                Ok(())
            }
            // Heartbeat: ignored.
            _ => Ok(()),
        }
    }

    fn drain_handshake(&mut self, out: &mut Vec<Message>) -> Result<(), WireError> {
        loop {
            if self.hs.len() < 4 {
                return Ok(());
            }
            let typ = self.hs[0];
            let len = usize::from(self.hs[1]) << 16
                | usize::from(self.hs[2]) << 8
                | usize::from(self.hs[3]);
            let limit = if typ == HS_CERTIFICATE {
                MAX_CERTIFICATE_MSG_LEN
            } else {
                MAX_HANDSHAKE_LEN
            };
            if len > limit {
                return Err(WireError::MessageTooLong {
                    kind: handshake_name(typ),
                    len,
                    limit,
                });
            }
            if self.hs.len() < 4 + len {
                return Ok(());
            }
            let body = self.hs[4..4 + len].to_vec();
            self.hs.drain(..4 + len);
            out.push(Message::Handshake { typ, body });
        }
    }
}

fn handshake_name(typ: u8) -> &'static str {
    match typ {
        HS_HELLO_REQUEST => "HelloRequest",
        HS_CLIENT_HELLO => "ClientHello",
        HS_SERVER_HELLO => "ServerHello",
        4 => "NewSessionTicket",
        8 => "EncryptedExtensions",
        HS_CERTIFICATE => "Certificate",
        12 => "ServerKeyExchange",
        HS_CERTIFICATE_REQUEST => "CertificateRequest",
        HS_SERVER_HELLO_DONE => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        22 => "CertificateStatus",
        _ => "handshake",
    }
}

/// Words for bytes that are not a TLS record header, guessing what answered.
fn describe_garbage(header: &[u8], after_records: bool) -> String {
    let shown: Vec<String> = header.iter().map(|b| format!("{b:02x}")).collect();
    let guess = if header.starts_with(b"HTTP/") || header.starts_with(b"<") {
        " (looks like an HTTP server, not a TLS gateway)"
    } else if header.starts_with(b"SSH-") {
        " (looks like an SSH server)"
    } else if header.first() == Some(&0x80) || header.first() == Some(&0x00) {
        " (binary data, perhaps SSLv2 or a proprietary protocol)"
    } else {
        ""
    };
    let when = if after_records {
        "after valid records"
    } else {
        "as its first bytes"
    };
    format!(
        "the server sent {} {when} instead of a TLS record header{guess}",
        shown.join(" ")
    )
}

/// A bounds-checked cursor over a message body.
struct Cursor<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Cursor { data, what }
    }

    fn short(&self) -> WireError {
        WireError::Malformed(format!("{} is truncated", self.what))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.data.len() < n {
            return Err(self.short());
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Result<usize, WireError> {
        let b = self.take(3)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    fn vec8(&mut self) -> Result<&'a [u8], WireError> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    fn vec16(&mut self) -> Result<&'a [u8], WireError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    fn vec24(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.u24()?;
        self.take(n)
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// What a ServerHello says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version: the supported_versions extension's when
    /// present (TLS 1.3), else the legacy version field.
    pub version: u16,
    /// The chosen cipher suite.
    pub cipher_suite: u16,
}

impl ServerHello {
    /// Parses a ServerHello body.
    pub fn parse(body: &[u8]) -> Result<ServerHello, WireError> {
        let mut c = Cursor::new(body, "ServerHello");
        let legacy_version = c.u16()?;
        c.take(32)?;
        let session_id = c.vec8()?;
        if session_id.len() > 32 {
            return Err(WireError::Malformed(
                "ServerHello session id longer than 32 bytes".into(),
            ));
        }
        let cipher_suite = c.u16()?;
        let _compression = c.u8()?;
        let mut version = legacy_version;
        if !c.is_empty() {
            let mut exts = Cursor::new(c.vec16()?, "ServerHello extensions");
            while !exts.is_empty() {
                let typ = exts.u16()?;
                let data = exts.vec16()?;
                if typ == 43 {
                    let mut v = Cursor::new(data, "supported_versions extension");
                    version = v.u16()?;
                }
            }
        }
        Ok(ServerHello {
            version,
            cipher_suite,
        })
    }
}

/// Parses a Certificate body (TLS 1.2 form) into DER certificates, leaf first.
pub fn parse_certificate(body: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    let mut outer = Cursor::new(body, "Certificate message");
    let mut list = Cursor::new(outer.vec24()?, "certificate list");
    if !outer.is_empty() {
        return Err(WireError::Malformed(
            "Certificate message has bytes after its list".into(),
        ));
    }
    let mut certs = Vec::new();
    let mut count = 0usize;
    while !list.is_empty() {
        let der = list.vec24()?;
        count += 1;
        // Past the limit, only count (the message is already bounded in size).
        if certs.len() < MAX_CERTIFICATES {
            certs.push(der.to_vec());
        }
    }
    if count > MAX_CERTIFICATES {
        return Err(WireError::TooManyCertificates(count));
    }
    Ok(certs)
}

/// What a CertificateRequest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// Accepted client certificate types (1 = rsa_sign, 64 = ecdsa_sign…).
    pub certificate_types: Vec<u8>,
    /// Accepted signature algorithms (TLS 1.2 only; empty before).
    pub signature_algorithms: Vec<u16>,
    /// Accepted CA names, as the DER distinguished names the server sent
    /// (the engine prints them as RFC 4514 text).
    pub ca_names: Vec<Vec<u8>>,
}

impl CertificateRequest {
    /// Parses a CertificateRequest body; `version` decides whether the
    /// signature-algorithms field is present (TLS 1.2 and later).
    pub fn parse(body: &[u8], version: u16) -> Result<CertificateRequest, WireError> {
        let mut c = Cursor::new(body, "CertificateRequest");
        let certificate_types = c.vec8()?.to_vec();
        let mut signature_algorithms = Vec::new();
        if version >= TLS1_2 {
            let mut algs = Cursor::new(c.vec16()?, "CertificateRequest signature algorithms");
            while !algs.is_empty() {
                signature_algorithms.push(algs.u16()?);
            }
        }
        let mut names = Cursor::new(c.vec16()?, "CertificateRequest CA names");
        let mut ca_names = Vec::new();
        while !names.is_empty() {
            let dn = names.vec16()?;
            ca_names.push(dn.to_vec());
        }
        Ok(CertificateRequest {
            certificate_types,
            signature_algorithms,
            ca_names,
        })
    }
}

/// Where a server flight stands after some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Need more bytes.
    NeedMore,
    /// ServerHelloDone arrived: the flight is complete.
    Done,
    /// The server picked TLS 1.3: its Certificate will be encrypted, stop here.
    Tls13,
    /// The server sent an alert (fatal, or a warning other than a benign one).
    Alert(Alert),
}

/// A server's first flight, accumulated until ServerHelloDone.
#[derive(Debug, Default)]
pub struct ServerFlight {
    reader: HandshakeReader,
    /// The ServerHello, once seen.
    pub hello: Option<ServerHello>,
    /// The certificate chain (DER, leaf first), once seen.
    pub certificates: Option<Vec<Vec<u8>>>,
    /// The client-certificate request, when the server sent one.
    pub certificate_request: Option<CertificateRequest>,
    /// How the flight ended: a final progress or a (sticky) error.
    finished: Option<Result<Progress, WireError>>,
}

impl ServerFlight {
    /// An empty flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes bytes from the server. Once the result is anything but
    /// [`Progress::NeedMore`] — a final progress or an error — later calls
    /// return it again, ignore their input and buffer nothing.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Progress, WireError> {
        if let Some(end) = &self.finished {
            return end.clone();
        }
        let result = self.feed_inner(bytes);
        if !matches!(result, Ok(Progress::NeedMore)) {
            self.finished = Some(result.clone());
            // Drop whatever is buffered: nothing more will be read.
            self.reader = HandshakeReader::new();
        }
        result
    }

    fn feed_inner(&mut self, bytes: &[u8]) -> Result<Progress, WireError> {
        for msg in self.reader.feed(bytes)? {
            if let Some(p) = self.on_message(msg)? {
                return Ok(p);
            }
        }
        Ok(Progress::NeedMore)
    }

    fn on_message(&mut self, msg: Message) -> Result<Option<Progress>, WireError> {
        match msg {
            Message::Alert(alert) => {
                // A warning-level no_renegotiation or unrecognized_name is
                // not fatal; anything else ends the flight.
                if alert.level == 1 && matches!(alert.description, 100 | 112) {
                    Ok(None)
                } else {
                    Ok(Some(Progress::Alert(alert)))
                }
            }
            Message::ChangeCipherSpec => Err(WireError::Malformed(
                "ChangeCipherSpec before ServerHelloDone (the server tried to resume a session we never offered)".into(),
            )),
            Message::ApplicationData => Err(WireError::Malformed(
                "encrypted application data before ServerHelloDone".into(),
            )),
            Message::Handshake { typ, body } => self.on_handshake(typ, &body),
        }
    }

    fn on_handshake(&mut self, typ: u8, body: &[u8]) -> Result<Option<Progress>, WireError> {
        if typ == HS_HELLO_REQUEST {
            return Ok(None);
        }
        let Some(hello) = &self.hello else {
            if typ != HS_SERVER_HELLO {
                return Err(WireError::Malformed(format!(
                    "expected ServerHello, got {} (type {typ})",
                    handshake_name(typ)
                )));
            }
            let hello = ServerHello::parse(body)?;
            let tls13 = hello.version >= TLS1_3;
            self.hello = Some(hello);
            return Ok(tls13.then_some(Progress::Tls13));
        };
        match typ {
            HS_SERVER_HELLO => Err(WireError::Malformed("a second ServerHello".into())),
            HS_CERTIFICATE => {
                if self.certificates.is_some() {
                    return Err(WireError::Malformed("a second Certificate message".into()));
                }
                self.certificates = Some(parse_certificate(body)?);
                Ok(None)
            }
            HS_CERTIFICATE_REQUEST => {
                self.certificate_request = Some(CertificateRequest::parse(body, hello.version)?);
                Ok(None)
            }
            HS_SERVER_HELLO_DONE => Ok(Some(Progress::Done)),
            // ServerKeyExchange, CertificateStatus and anything else: not needed.
            _ => Ok(None),
        }
    }
}

/// Fills a fresh 32-byte client random from the system's CSPRNG.
pub fn client_random() -> Result<[u8; 32], WireError> {
    use ring::rand::SecureRandom;
    let mut random = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut random)
        .map_err(|_| WireError::Malformed("the system random generator failed".into()))?;
    Ok(random)
}

/// Builds the legacy ClientHello as one handshake record: TLS 1.0 to 1.2
/// (record version 1.0, client_version 1.2), the [`LEGACY_SUITES`], SHA-1
/// signature algorithms, and SNI when `server_name` is a DNS name (IP
/// literals and invalid names are not sent as SNI, as the RFC requires).
pub fn build_client_hello(server_name: Option<&str>, random: &[u8; 32]) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(&TLS1_2.to_be_bytes());
    body.extend_from_slice(random);
    body.push(0); // empty session id: no resumption
    let suites: Vec<u8> = LEGACY_SUITES
        .iter()
        .flat_map(|(id, _)| id.to_be_bytes())
        .collect();
    put_vec16(&mut body, &suites);
    body.extend_from_slice(&[1, 0]); // compression: null only

    let mut exts = Vec::new();
    if let Some(name) = server_name.filter(|n| is_sni_name(n)) {
        let mut entry = vec![0u8]; // host_name
        put_vec16(&mut entry, name.as_bytes());
        let mut list = Vec::new();
        put_vec16(&mut list, &entry);
        put_ext(&mut exts, 0x0000, &list);
    }
    let groups: Vec<u8> = GROUPS.iter().flat_map(|g| g.to_be_bytes()).collect();
    let mut data = Vec::new();
    put_vec16(&mut data, &groups);
    put_ext(&mut exts, 0x000A, &data);
    put_ext(&mut exts, 0x000B, &[1, 0]); // ec_point_formats: uncompressed
    let algs: Vec<u8> = SIG_ALGS.iter().flat_map(|a| a.to_be_bytes()).collect();
    let mut data = Vec::new();
    put_vec16(&mut data, &algs);
    put_ext(&mut exts, 0x000D, &data);
    put_ext(&mut exts, 0xFF01, &[0]); // renegotiation_info: initial handshake
    put_vec16(&mut body, &exts);

    records(CT_HANDSHAKE, TLS1_0, &handshake(HS_CLIENT_HELLO, &body))
}

fn is_sni_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.parse::<std::net::IpAddr>().is_err()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// What a ClientHello offers, as far as the lab's responder cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The client_version field.
    pub version: u16,
    /// Offered cipher suites, in the client's order.
    pub cipher_suites: Vec<u16>,
    /// The SNI host name, when sent.
    pub server_name: Option<String>,
    /// Versions from a supported_versions extension (TLS 1.3 clients).
    pub supported_versions: Vec<u16>,
}

/// Parses a ClientHello body.
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello, WireError> {
    let mut c = Cursor::new(body, "ClientHello");
    let version = c.u16()?;
    c.take(32)?;
    c.vec8()?; // session id
    let mut suites = Cursor::new(c.vec16()?, "ClientHello cipher suites");
    let mut cipher_suites = Vec::new();
    while !suites.is_empty() {
        cipher_suites.push(suites.u16()?);
    }
    c.vec8()?; // compression methods
    let mut server_name = None;
    let mut supported_versions = Vec::new();
    if !c.is_empty() {
        let mut exts = Cursor::new(c.vec16()?, "ClientHello extensions");
        while !exts.is_empty() {
            let typ = exts.u16()?;
            let data = exts.vec16()?;
            match typ {
                0x0000 => {
                    let mut list = Cursor::new(data, "server_name extension");
                    let mut entries = Cursor::new(list.vec16()?, "server_name list");
                    while !entries.is_empty() {
                        let kind = entries.u8()?;
                        let name = entries.vec16()?;
                        if kind == 0 {
                            server_name = Some(String::from_utf8_lossy(name).into_owned());
                        }
                    }
                }
                0x002B => {
                    let mut list = Cursor::new(data, "supported_versions extension");
                    let mut versions = Cursor::new(list.vec8()?, "supported_versions list");
                    while !versions.is_empty() {
                        supported_versions.push(versions.u16()?);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(ClientHello {
        version,
        cipher_suites,
        server_name,
        supported_versions,
    })
}

/// Reads handshake messages until a whole ClientHello arrived.
#[derive(Debug, Default)]
pub struct ClientHelloReader {
    reader: HandshakeReader,
    /// A sticky error: returned again by every later call.
    failed: Option<WireError>,
}

impl ClientHelloReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes bytes from the client; `Some` once the ClientHello is
    /// complete. After an error, every later call returns it again.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<ClientHello>, WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.feed_inner(bytes);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
            self.reader = HandshakeReader::new();
        }
        result
    }

    fn feed_inner(&mut self, bytes: &[u8]) -> Result<Option<ClientHello>, WireError> {
        // Only the first message matters: a client sends nothing else
        // before the server answers.
        match self.reader.feed(bytes)?.into_iter().next() {
            None => Ok(None),
            Some(Message::Handshake {
                typ: HS_CLIENT_HELLO,
                body,
            }) => parse_client_hello(&body).map(Some),
            Some(other) => Err(WireError::Malformed(format!(
                "expected a ClientHello, got {}",
                describe_message(&other)
            ))),
        }
    }
}

fn describe_message(m: &Message) -> String {
    match m {
        Message::Handshake { typ, .. } => handshake_name(*typ).to_string(),
        Message::Alert(a) => format!("alert {}", a.name()),
        Message::ChangeCipherSpec => "ChangeCipherSpec".into(),
        Message::ApplicationData => "application data".into(),
    }
}

/// A handshake message: type, 24-bit length, body. Bodies over 2^24 - 1
/// bytes are truncated in the length field (never produced by this crate).
pub fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.push(typ);
    put_u24(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// Wraps a payload in records of `content_type`, at most 2^14 bytes each.
pub fn records(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5 * (payload.len() / 16384 + 1));
    for chunk in payload.chunks(16384) {
        out.push(content_type);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// A ServerHello handshake message (with an empty renegotiation_info).
pub fn server_hello(version: u16, random: &[u8; 32], cipher_suite: u16) -> Vec<u8> {
    let mut body = Vec::with_capacity(80);
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(random);
    body.push(0);
    body.extend_from_slice(&cipher_suite.to_be_bytes());
    body.push(0);
    let mut exts = Vec::new();
    put_ext(&mut exts, 0xFF01, &[0]);
    put_vec16(&mut body, &exts);
    handshake(HS_SERVER_HELLO, &body)
}

/// A Certificate handshake message carrying `chain` (DER, leaf first).
pub fn server_certificate(chain: &[Vec<u8>]) -> Vec<u8> {
    let mut list = Vec::new();
    for der in chain {
        put_u24(&mut list, der.len());
        list.extend_from_slice(der);
    }
    let mut body = Vec::with_capacity(3 + list.len());
    put_u24(&mut body, list.len());
    body.extend_from_slice(&list);
    handshake(HS_CERTIFICATE, &body)
}

/// A TLS 1.2 CertificateRequest asking for RSA or ECDSA certificates issued
/// by one of `ca_names` (DER distinguished names).
pub fn server_certificate_request(ca_names: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&[2, 1, 64]); // rsa_sign, ecdsa_sign
    let algs: Vec<u8> = SIG_ALGS.iter().flat_map(|a| a.to_be_bytes()).collect();
    put_vec16(&mut body, &algs);
    let mut names = Vec::new();
    for dn in ca_names {
        put_vec16(&mut names, dn);
    }
    put_vec16(&mut body, &names);
    handshake(HS_CERTIFICATE_REQUEST, &body)
}

/// A ServerHelloDone handshake message.
pub fn server_hello_done() -> Vec<u8> {
    handshake(HS_SERVER_HELLO_DONE, &[])
}

/// A fatal alert record.
pub fn fatal_alert(version: u16, description: u8) -> Vec<u8> {
    records(CT_ALERT, version, &[2, description])
}

/// The record type carrying handshake messages, for [`records`].
pub const CONTENT_HANDSHAKE: u8 = CT_HANDSHAKE;

fn put_u24(out: &mut Vec<u8>, n: usize) {
    let n = n.min(0xFF_FFFF);
    out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
}

fn put_vec16(out: &mut Vec<u8>, data: &[u8]) {
    let n = data.len().min(0xFFFF);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&data[..n]);
}

fn put_ext(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend_from_slice(&typ.to_be_bytes());
    put_vec16(out, data);
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.level == 1 { "warning" } else { "fatal" };
        write!(f, "{level} alert {}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_flight(with_request: bool) -> (Vec<u8>, Vec<Vec<u8>>) {
        let chain = vec![vec![0x30, 0x03, 1, 2, 3], vec![0xAA; 3000]];
        let mut hs = server_hello(TLS1_2, &[7; 32], 0x002F);
        hs.extend(server_certificate(&chain));
        if with_request {
            hs.extend(server_certificate_request(&[]));
        }
        hs.extend(server_hello_done());
        (records(CT_HANDSHAKE, TLS1_2, &hs), chain)
    }

    #[test]
    fn client_hello_parses_back() {
        let bytes = build_client_hello(Some("gw.example"), &[9; 32]);
        assert_eq!(&bytes[..3], &[22, 3, 1]);
        let mut r = ClientHelloReader::new();
        let hello = r.feed(&bytes).unwrap().unwrap();
        assert_eq!(hello.version, TLS1_2);
        assert_eq!(hello.server_name.as_deref(), Some("gw.example"));
        assert_eq!(hello.cipher_suites.len(), LEGACY_SUITES.len());
        assert!(hello.cipher_suites.contains(&0x002F));
        assert!(hello.supported_versions.is_empty());
        // The SHA-1 signature algorithms are offered.
        let sig = [0x00, 0x0D];
        let pos = bytes.windows(2).rposition(|w| w == sig).unwrap();
        let ext = &bytes[pos..];
        assert!(ext.windows(2).any(|w| w == [0x02, 0x01]));
        assert!(ext.windows(2).any(|w| w == [0x02, 0x03]));
    }

    #[test]
    fn no_sni_for_ip_literals() {
        let bytes = build_client_hello(Some("127.0.0.1"), &[9; 32]);
        let hello = ClientHelloReader::new().feed(&bytes).unwrap().unwrap();
        assert_eq!(hello.server_name, None);
    }

    #[test]
    fn whole_flight_in_one_go() {
        let (bytes, chain) = sample_flight(true);
        let mut f = ServerFlight::new();
        assert_eq!(f.feed(&bytes).unwrap(), Progress::Done);
        assert_eq!(f.certificates.as_ref().unwrap(), &chain);
        let hello = f.hello.as_ref().unwrap();
        assert_eq!(version_name(hello.version), "TLSv1.2");
        assert_eq!(
            cipher_suite_name(hello.cipher_suite),
            "TLS_RSA_WITH_AES_128_CBC_SHA"
        );
        assert!(f.certificate_request.is_some());
        // Bytes after the end are ignored.
        assert_eq!(f.feed(b"garbage").unwrap(), Progress::Done);
    }

    #[test]
    fn message_split_over_records_and_several_per_record() {
        let chain = vec![vec![0x55; 40_000]];
        let mut hs = server_hello(TLS1_2, &[7; 32], 0x0035);
        hs.extend(server_certificate(&chain));
        hs.extend(server_hello_done());
        // records() splits the 40 kB Certificate over three records, and the
        // first record carries ServerHello plus the start of Certificate.
        let bytes = records(CT_HANDSHAKE, TLS1_2, &hs);
        let mut f = ServerFlight::new();
        assert_eq!(f.feed(&bytes).unwrap(), Progress::Done);
        assert_eq!(f.certificates.unwrap(), chain);
    }

    #[test]
    fn certificate_request_names_come_back_as_sent() {
        let dn = {
            let der = include_bytes!("../../../tests/fixtures/sha1/root.der");
            let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
            cert.subject().as_raw().to_vec()
        };
        let msg = server_certificate_request(std::slice::from_ref(&dn));
        let req = CertificateRequest::parse(&msg[4..], TLS1_2).unwrap();
        assert_eq!(req.ca_names, vec![dn]);
        assert_eq!(req.certificate_types, vec![1, 64]);
        assert!(req.signature_algorithms.contains(&0x0201));
    }

    #[test]
    fn tls13_is_reported() {
        let mut body = Vec::new();
        body.extend_from_slice(&TLS1_2.to_be_bytes());
        body.extend_from_slice(&[1; 32]);
        body.push(0);
        body.extend_from_slice(&0x1301u16.to_be_bytes());
        body.push(0);
        let mut exts = Vec::new();
        put_ext(&mut exts, 43, &TLS1_3.to_be_bytes());
        put_vec16(&mut body, &exts);
        let bytes = records(CT_HANDSHAKE, TLS1_2, &handshake(HS_SERVER_HELLO, &body));
        let mut f = ServerFlight::new();
        assert_eq!(f.feed(&bytes).unwrap(), Progress::Tls13);
        assert_eq!(version_name(f.hello.unwrap().version), "TLSv1.3");
    }

    #[test]
    fn alerts_and_limits_are_classified() {
        let mut f = ServerFlight::new();
        match f.feed(&fatal_alert(TLS1_2, 40)).unwrap() {
            Progress::Alert(a) => assert_eq!(a.name(), "handshake_failure"),
            p => panic!("{p:?}"),
        }
        let err = ServerFlight::new()
            .feed(&[22, 3, 3, 0xFF, 0xFF])
            .unwrap_err();
        assert_eq!(err, WireError::RecordTooLong(65535));
        assert!(
            err.to_string()
                .contains("record length 65535 exceeds the TLS limit")
        );
        let err = ServerFlight::new().feed(b"HTTP/1.1 400 Bad").unwrap_err();
        assert!(
            matches!(&err, WireError::NotTls(s) if s.contains("HTTP")),
            "{err}"
        );
        // A Certificate message announcing 200 KiB: buffered (within the
        // 256 KiB limit) until the total cap.
        let mut hs = server_hello(TLS1_2, &[7; 32], 0x002F);
        hs.extend_from_slice(&[HS_CERTIFICATE, 0x03, 0x20, 0x00]);
        let mut f = ServerFlight::new();
        assert_eq!(
            f.feed(&records(CT_HANDSHAKE, TLS1_2, &hs)).unwrap(),
            Progress::NeedMore
        );
        // A 1 MiB handshake message is refused from its header alone.
        let bytes = records(CT_HANDSHAKE, TLS1_2, &[HS_SERVER_HELLO, 0x10, 0, 0]);
        assert!(matches!(
            ServerFlight::new().feed(&bytes),
            Err(WireError::MessageTooLong { .. })
        ));
    }

    #[test]
    fn too_many_certificates_reports_the_real_count() {
        for n in [MAX_CERTIFICATES + 1, 40] {
            let chain = vec![vec![1u8; 10]; n];
            let mut hs = server_hello(TLS1_2, &[7; 32], 0x002F);
            hs.extend(server_certificate(&chain));
            let err = ServerFlight::new()
                .feed(&records(CT_HANDSHAKE, TLS1_2, &hs))
                .unwrap_err();
            assert_eq!(err, WireError::TooManyCertificates(n));
            assert!(
                err.to_string().contains(&format!(
                    "carries {n} certificates, more than the {MAX_CERTIFICATES} accepted"
                )),
                "{err}"
            );
        }
        let exactly = vec![vec![1u8; 10]; MAX_CERTIFICATES];
        let msg = server_certificate(&exactly);
        assert_eq!(
            parse_certificate(&msg[4..]).unwrap().len(),
            MAX_CERTIFICATES
        );
    }

    #[test]
    fn errors_are_sticky_and_nothing_more_is_buffered() {
        let (good, _) = sample_flight(false);
        // ServerFlight: an error (not TLS), then a valid flight: the same error.
        let mut f = ServerFlight::new();
        let err = f.feed(b"HTTP/1.1 400 Bad").unwrap_err();
        assert_eq!(f.feed(&good), Err(err.clone()));
        assert_eq!(f.reader.pending.len() + f.reader.hs.len(), 0);
        assert!(f.hello.is_none());
        // HandshakeReader: a record too long, then more bytes.
        let mut r = HandshakeReader::new();
        let err = r.feed(&[22, 3, 3, 0xFF, 0xFF]).unwrap_err();
        assert_eq!(r.feed(&good), Err(err));
        assert!(r.pending.is_empty() && r.hs.is_empty());
        // An error in the middle of a feed drops what was buffered before it.
        let mut r = HandshakeReader::new();
        let mut bytes = records(CT_HANDSHAKE, TLS1_2, &[HS_SERVER_HELLO, 0, 0, 10, 1, 2]);
        assert!(r.feed(&bytes).unwrap().is_empty());
        assert!(!r.hs.is_empty());
        bytes = vec![0x80, 3, 3, 0, 1];
        let err = r.feed(&bytes).unwrap_err();
        assert!(r.hs.is_empty() && r.pending.is_empty());
        assert_eq!(r.feed(&[]), Err(err));
        // ClientHelloReader: the same.
        let mut c = ClientHelloReader::new();
        let err = c.feed(&fatal_alert(TLS1_2, 40)).unwrap_err();
        let hello = build_client_hello(Some("gw.example"), &[9; 32]);
        assert_eq!(c.feed(&hello), Err(err));
    }

    #[test]
    fn total_cap() {
        let mut r = HandshakeReader::new();
        // Many valid tiny records never finish a message… until the cap.
        let rec = records(CT_HANDSHAKE, TLS1_2, &[HS_CERTIFICATE]);
        let mut err = None;
        for _ in 0..(MAX_TOTAL_BYTES / rec.len() + 2) {
            if let Err(e) = r.feed(&rec) {
                err = Some(e);
                break;
            }
        }
        // The 1-byte fragments form a Certificate header (0x0b0b0b = 723 KiB)
        // which is refused first, or the total cap hits: either is classified.
        assert!(err.is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let mut f = ServerFlight::new();
            let _ = f.feed(&data);
            let mut c = ClientHelloReader::new();
            let _ = c.feed(&data);
            let _ = ServerHello::parse(&data);
            let _ = parse_certificate(&data);
            let _ = CertificateRequest::parse(&data, TLS1_2);
            let _ = CertificateRequest::parse(&data, TLS1_0);
            let _ = parse_client_hello(&data);
        }

        #[test]
        fn arbitrary_bytes_after_valid_header(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let mut bytes = vec![22, 3, 3];
            bytes.extend_from_slice(&data);
            let mut f = ServerFlight::new();
            match f.feed(&bytes) {
                Ok(_) | Err(WireError::RecordTooLong(_)) | Err(WireError::Malformed(_))
                | Err(WireError::MessageTooLong { .. }) | Err(WireError::NotTls(_))
                | Err(WireError::TooManyCertificates(_)) => {}
                Err(WireError::TooMuchData) => prop_assert!(false, "4 KiB cannot exceed the cap"),
            }
        }

        #[test]
        fn any_split_of_a_valid_flight_parses(
            cuts in proptest::collection::vec(0usize..10_000, 0..20),
            with_request in any::<bool>(),
        ) {
            let (bytes, chain) = sample_flight(with_request);
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut f = ServerFlight::new();
            let mut last = 0;
            let mut progress = Progress::NeedMore;
            for p in points.into_iter().chain([bytes.len()]) {
                progress = f.feed(&bytes[last..p]).unwrap();
                last = p;
            }
            prop_assert_eq!(progress, Progress::Done);
            prop_assert_eq!(f.certificates.unwrap(), chain);
            prop_assert_eq!(f.certificate_request.is_some(), with_request);
        }

        #[test]
        fn mutated_flight_never_panics(
            flips in proptest::collection::vec((0usize..10_000, any::<u8>()), 1..8),
        ) {
            let (mut bytes, _) = sample_flight(true);
            let n = bytes.len();
            for (i, b) in flips {
                bytes[i % n] = b;
            }
            let mut f = ServerFlight::new();
            let _ = f.feed(&bytes);
        }
    }
}
