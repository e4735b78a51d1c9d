//! Target sets: which gateway sites and ports to probe, and which CA families
//! a server chain may belong to.
//!
//! A target set is a small TOML file (docs/design.md §3). Every site is probed on
//! every port. Loading is strict — unknown keys, port 0, duplicate sites and
//! addresses that are neither an IP literal nor a hostname are errors — and
//! every error names the file, line and column, because the person reading it
//! is an installer with a laptop and no time.
//!
//! CA anchors are PEM files next to the target file. A `[[ca]]` entry marked
//! `optional = true` (the real gateway's, whose PEMs the operator drops into
//! `targets/ca/`) may be missing: the set loads with a warning and a
//! reachability check still runs.
//!
//! The real gateway's set, `targets/lyra.toml`, is also compiled into the
//! binary ([`TargetSet::builtin`]) so that an installed `stca2-probe check`
//! works from any folder. Its anchors are looked up, by file name, in the
//! first of: `$STCA2_PROBE_CA_DIR`, `/etc/stca2-probe/ca/`, and this
//! repository's `targets/ca/` (when the binary runs where it was built).

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use stca2_report::{CaFamily, Role, Service};
use stca2_words::Said;

use crate::cert::{Anchor, CertError};

/// Where a site lives: an IP literal, or a hostname resolved at probe time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IP literal: probed as is.
    Ip(IpAddr),
    /// A hostname: resolved through DNS on every check.
    Host(String),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(ip) => write!(f, "{ip}"),
            Address::Host(h) => f.write_str(h),
        }
    }
}

/// One gateway site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// A short name such as `toulouse`.
    pub name: String,
    /// Primary or secondary.
    pub role: Role,
    /// Where it lives.
    pub address: Address,
}

/// One port probed on every site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// The TCP port number, never 0.
    pub number: u16,
    /// What it is for.
    pub service: Service,
}

/// A CA family and the anchors that identify it.
#[derive(Debug, Clone)]
pub struct FamilyAnchors {
    /// STCA2 or STCA.
    pub family: CaFamily,
    /// The PEM file, resolved against the target file's folder.
    pub path: PathBuf,
    /// The certificates read from it; empty when an optional file is missing.
    pub anchors: Vec<Anchor>,
}

/// A loaded, validated target set.
#[derive(Debug, Clone)]
pub struct TargetSet {
    /// The set's name, copied into every report.
    pub name: String,
    /// The file it came from (`<built-in>` for sets made in code).
    pub path: PathBuf,
    /// The sites, in file order.
    pub sites: Vec<Site>,
    /// The ports, in file order.
    pub ports: Vec<Port>,
    /// The CA families with their anchors.
    pub families: Vec<FamilyAnchors>,
    /// The file's own allow-list, when it has an `allow` key.
    pub allow: Option<Vec<IpNet>>,
    /// Things worth telling the user that do not stop a check (a missing optional anchor file).
    pub warnings: Vec<TargetWarning>,
}

/// Something about the target set worth telling a person that does not stop
/// a check. `Display` is the English for logs; [`TargetWarning::said`] is
/// the reader's language (`target-warning-*` in `check.ftl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetWarning {
    /// An optional anchor file is missing: CA families cannot be told.
    AnchorsMissing {
        /// The family whose anchors are missing (`STCA2`, `STCA`).
        family: CaFamily,
        /// Where the file was looked for.
        path: PathBuf,
        /// The file was looked up by name in the CA folder, which
        /// `STCA2_PROBE_CA_DIR` can point elsewhere.
        by_name: bool,
    },
}

impl TargetWarning {
    /// The warning in `words`' language.
    pub fn said(&self, words: stca2_words::Words) -> String {
        match self {
            TargetWarning::AnchorsMissing {
                family,
                path,
                by_name,
            } => words.text(
                "target-warning-anchors-missing",
                Some(&stca2_words::args!(
                    "family" => family.to_string(),
                    "path" => path.display().to_string(),
                    "lookup" => if *by_name { "by-name" } else { "relative" },
                    "variable" => CA_DIR_ENV,
                )),
            ),
        }
    }
}

impl fmt::Display for TargetWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.said(stca2_words::Words::english()))
    }
}

/// The real gateway's target set, compiled in: the default of `check`.
pub const BUILTIN_LYRA: &str = include_str!("../../../targets/lyra.toml");

/// The path a built-in set reports (in messages and [`TargetSet::path`]).
pub const BUILTIN_LYRA_PATH: &str = "<built-in lyra>";

/// The environment variable naming the folder of the built-in set's anchors.
pub const CA_DIR_ENV: &str = "STCA2_PROBE_CA_DIR";

/// The system-wide folder of the built-in set's anchors.
pub const SYSTEM_CA_DIR: &str = "/etc/stca2-probe/ca";

/// Where a `[[ca]]` entry's `anchors` file is looked for.
#[derive(Clone, Copy)]
enum AnchorLookup<'a> {
    /// Relative to the target file's folder (a file on disk).
    RelativeTo(&'a Path),
    /// By file name in a CA folder (the built-in set).
    FileNameIn(&'a Path),
}

impl AnchorLookup<'_> {
    fn resolve(self, anchors: &str) -> PathBuf {
        match self {
            AnchorLookup::RelativeTo(dir) => dir.join(anchors),
            AnchorLookup::FileNameIn(dir) => {
                dir.join(Path::new(anchors).file_name().unwrap_or(anchors.as_ref()))
            }
        }
    }
}

impl TargetSet {
    /// The built-in Lyra set ([`BUILTIN_LYRA`]), its anchors looked up in
    /// [`TargetSet::builtin_ca_dir`]. Missing anchors are warnings: the set
    /// marks them optional.
    pub fn builtin() -> Result<TargetSet, TargetError> {
        Self::builtin_in(&Self::builtin_ca_dir())
    }

    /// The built-in Lyra set with its anchors looked up, by file name, in `ca_dir`.
    pub fn builtin_in(ca_dir: &Path) -> Result<TargetSet, TargetError> {
        Self::parse_with(
            BUILTIN_LYRA,
            Path::new(BUILTIN_LYRA_PATH),
            AnchorLookup::FileNameIn(ca_dir),
        )
    }

    /// The folder of the built-in set's anchors: `$STCA2_PROBE_CA_DIR` when
    /// set, else `/etc/stca2-probe/ca` when it exists, else this repository's
    /// `targets/ca` when it exists, else `/etc/stca2-probe/ca` (so that the
    /// warning names where to put them).
    pub fn builtin_ca_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os(CA_DIR_ENV).filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        let system = PathBuf::from(SYSTEM_CA_DIR);
        if system.is_dir() {
            return system;
        }
        // crates/engine -> the repository's root.
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .map(|root| root.join("targets/ca"));
        if let Some(repo) = repo.filter(|r| r.is_dir()) {
            return repo;
        }
        system
    }

    /// True for the compiled-in set.
    pub fn is_builtin(&self) -> bool {
        self.path == Path::new(BUILTIN_LYRA_PATH)
    }

    /// The IP literals among the sites: the default allow-list.
    pub fn literal_addresses(&self) -> Vec<IpAddr> {
        self.sites
            .iter()
            .filter_map(|s| match s.address {
                Address::Ip(ip) => Some(ip),
                Address::Host(_) => None,
            })
            .collect()
    }

    /// True when at least one family has anchors to classify chains with.
    pub fn has_anchors(&self) -> bool {
        self.families.iter().any(|f| !f.anchors.is_empty())
    }

    /// True when every family has its anchors: only then does a chain that
    /// matches none of them mean something (a suspected interception).
    pub fn all_anchors_loaded(&self) -> bool {
        !self.families.is_empty() && self.families.iter().all(|f| !f.anchors.is_empty())
    }

    /// Loads and validates a target file.
    pub fn load(path: &Path) -> Result<TargetSet, TargetError> {
        let text = TomlFile::read(path, "target-file")?;
        Self::parse(&text, path)
    }

    /// Parses and validates a target file's text; anchors are read relative to `path`'s folder.
    pub fn parse(text: &str, path: &Path) -> Result<TargetSet, TargetError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse_with(text, path, AnchorLookup::RelativeTo(dir))
    }

    fn parse_with(
        text: &str,
        path: &Path,
        lookup: AnchorLookup<'_>,
    ) -> Result<TargetSet, TargetError> {
        let file = TomlFile { path, text };
        let at = |span: Option<Range<usize>>,
                  id: &'static str,
                  args: Vec<(&'static str, String)>| { file.at(span, id, args) };
        let raw: RawSet = file.parse()?;

        if raw.site.is_empty() {
            return Err(at(Some(0..0), "target-no-site", vec![]));
        }
        if raw.port.is_empty() {
            return Err(at(Some(0..0), "target-no-port", vec![]));
        }
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(at(Some(raw.name.span()), "target-name-empty", vec![]));
        }

        let mut sites = Vec::new();
        let mut seen = HashSet::new();
        for s in raw.site {
            let site_name = s.name.get_ref().trim().to_string();
            if site_name.is_empty() {
                return Err(at(Some(s.name.span()), "target-site-name-empty", vec![]));
            }
            if !seen.insert(site_name.clone()) {
                return Err(at(
                    Some(s.name.span()),
                    "target-site-duplicate",
                    vec![("site", site_name)],
                ));
            }
            let address = parse_address(s.address.get_ref()).ok_or_else(|| {
                at(
                    Some(s.address.span()),
                    "target-address-invalid",
                    vec![("address", s.address.get_ref().clone())],
                )
            })?;
            if sites.iter().any(|x: &Site| x.address == address) {
                return Err(at(
                    Some(s.address.span()),
                    "target-address-duplicate",
                    vec![("address", address.to_string())],
                ));
            }
            sites.push(Site {
                name: site_name,
                role: s.role,
                address,
            });
        }

        let mut ports = Vec::new();
        for p in raw.port {
            let n = *p.number.get_ref();
            let number = u16::try_from(n).ok().filter(|&n| n != 0).ok_or_else(|| {
                at(
                    Some(p.number.span()),
                    "target-port-invalid",
                    vec![("port", n.to_string())],
                )
            })?;
            if ports.iter().any(|x: &Port| x.number == number) {
                return Err(at(
                    Some(p.number.span()),
                    "target-port-duplicate",
                    vec![("port", number.to_string())],
                ));
            }
            ports.push(Port {
                number,
                service: p.service,
            });
        }

        let mut families = Vec::new();
        let mut warnings = Vec::new();
        for c in raw.ca {
            let family = *c.family.get_ref();
            if family == CaFamily::Unknown {
                return Err(at(Some(c.family.span()), "target-ca-unknown", vec![]));
            }
            if families.iter().any(|f: &FamilyAnchors| f.family == family) {
                return Err(at(
                    Some(c.family.span()),
                    "target-ca-duplicate",
                    vec![("family", family.to_string())],
                ));
            }
            let anchor_path = lookup.resolve(c.anchors.get_ref());
            let anchors = match std::fs::read(&anchor_path) {
                Ok(pem) => Anchor::from_pem(&pem).map_err(|e| {
                    let (kind, error) = match e {
                        CertError::NoCertificate => ("none", String::new()),
                        CertError::Pem(e) => ("pem", e),
                        CertError::Der(e) => ("der", e),
                    };
                    at(
                        Some(c.anchors.span()),
                        "target-anchors-invalid",
                        vec![
                            ("path", anchor_path.display().to_string()),
                            ("kind", kind.to_string()),
                            ("error", error),
                        ],
                    )
                })?,
                Err(e) if c.optional && e.kind() == std::io::ErrorKind::NotFound => {
                    warnings.push(TargetWarning::AnchorsMissing {
                        family,
                        path: anchor_path.clone(),
                        by_name: matches!(lookup, AnchorLookup::FileNameIn(_)),
                    });
                    Vec::new()
                }
                Err(source) => {
                    let (line, column) = line_col(text, c.anchors.span().start);
                    return Err(TomlError::Anchors {
                        path: path.to_path_buf(),
                        line,
                        column,
                        anchors: anchor_path,
                        source,
                    });
                }
            };
            families.push(FamilyAnchors {
                family,
                path: anchor_path,
                anchors,
            });
        }

        let allow = match raw.allow {
            None => None,
            Some(list) => {
                let mut nets = Vec::new();
                for item in list {
                    let net = crate::allow::parse_cidr(item.get_ref()).map_err(|e| {
                        at(Some(item.span()), "cidr-invalid", vec![("text", e.text)])
                    })?;
                    nets.push(net);
                }
                Some(nets)
            }
        };

        Ok(TargetSet {
            name,
            path: path.to_path_buf(),
            sites,
            ports,
            families,
            allow,
            warnings,
        })
    }
}

/// A TOML file that cannot be used, as the person reading the message
/// sees it: `file:line:column: what is wrong`. The target set's loader and
/// the daemon's configuration (`stca2_daemon::config`) both report through
/// it, and both read their files through [`TomlFile`]. [`TomlError::said`]
/// words it in a language; `Display` is English.
#[derive(Debug)]
pub enum TomlError {
    /// The file could not be read.
    Read {
        /// What the file is: `target-file` or `daemon-config` (`toml-read`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (0: the file as a whole).
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong and what was expected: a message of the
        /// catalogue, said in the reader's language by [`TomlError::said`].
        message: Said,
    },
    /// A `[[ca]]` entry's anchors file could not be read.
    Anchors {
        /// The target file.
        path: PathBuf,
        /// 1-based line of the `anchors` key.
        line: usize,
        /// 1-based column of the `anchors` key.
        column: usize,
        /// The anchors file, resolved.
        anchors: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl TomlError {
    /// The error in `words`' language.
    pub fn said(&self, words: stca2_words::Words) -> String {
        use stca2_words::args;
        match self {
            TomlError::Read { what, path, source } => words.text(
                "toml-read",
                Some(&args!(
                    "what" => *what,
                    "path" => path.display().to_string(),
                    "error" => source.to_string(),
                )),
            ),
            TomlError::Invalid {
                path,
                line,
                column,
                message,
            } => format!(
                "{}:{line}:{column}: {}",
                path.display(),
                message.text(words)
            ),
            TomlError::Anchors {
                path,
                line,
                column,
                anchors,
                source,
            } => format!(
                "{}:{line}:{column}: {}",
                path.display(),
                words.text(
                    "toml-anchors-unreadable",
                    Some(&args!(
                        "anchors" => anchors.display().to_string(),
                        "error" => source.to_string(),
                    )),
                )
            ),
        }
    }
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.said(stca2_words::Words::english()))
    }
}

impl std::error::Error for TomlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TomlError::Read { source, .. } | TomlError::Anchors { source, .. } => Some(source),
            TomlError::Invalid { .. } => None,
        }
    }
}

/// A target file that cannot be used.
pub type TargetError = TomlError;

/// A TOML file's text and its path: parses it strictly, and turns a span
/// (a [`toml::Spanned`] value's, a parse error's) into a
/// [`TomlError::Invalid`] at that line and column.
#[derive(Debug, Clone, Copy)]
pub struct TomlFile<'a> {
    /// The file, as errors name it.
    pub path: &'a Path,
    /// Its content.
    pub text: &'a str,
}

impl<'a> TomlFile<'a> {
    /// Reads `path` (`what` names it in the error: `target-file` or
    /// `daemon-config`, the cases of `toml-read`).
    pub fn read(path: &Path, what: &'static str) -> Result<String, TomlError> {
        std::fs::read_to_string(path).map_err(|source| TomlError::Read {
            what,
            path: path.to_path_buf(),
            source,
        })
    }

    /// The error at `span` (None: the file as a whole, line 0): message
    /// `id` of the catalogue with its arguments `args` ([`Said`]).
    pub fn at(
        &self,
        span: Option<Range<usize>>,
        id: &'static str,
        args: impl IntoIterator<Item = (&'static str, String)>,
    ) -> TomlError {
        let (line, column) = span.map_or((0, 0), |s| line_col(self.text, s.start));
        TomlError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message: Said::new(id, args),
        }
    }

    /// Deserialises the text; a syntax error, an unknown key or a wrong
    /// type comes back at its line and column.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, TomlError> {
        toml::from_str(self.text).map_err(|e| {
            self.at(
                e.span(),
                "toml-syntax",
                [("error", clean_toml(e.message()))],
            )
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    name: Spanned<String>,
    #[serde(default)]
    allow: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    site: Vec<RawSite>,
    #[serde(default)]
    port: Vec<RawPort>,
    #[serde(default)]
    ca: Vec<RawCa>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: Spanned<String>,
    role: Role,
    address: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPort {
    number: Spanned<i64>,
    service: Service,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCa {
    family: Spanned<CaFamily>,
    anchors: Spanned<String>,
    #[serde(default)]
    optional: bool,
}

/// An IP literal, or a syntactically valid hostname (RFC 1123). An
/// IPv4-mapped IPv6 literal (`::ffff:194.50.38.45`) is the IPv4 address it
/// carries, as the allow-list sees it.
fn parse_address(text: &str) -> Option<Address> {
    let t = text.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(Address::Ip(crate::allow::AllowList::canonical(ip)));
    }
    let host = t.strip_suffix('.').unwrap_or(t);
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    // An all-numeric dotted name is a mistyped IP address, not a hostname.
    let numeric = host
        .split('.')
        .all(|l| l.bytes().all(|b| b.is_ascii_digit()));
    (labels_ok && !numeric).then(|| Address::Host(host.to_ascii_lowercase()))
}

/// 1-based line and column of a byte offset: how a TOML error (a
/// `toml::Spanned` or a parse error's span) is shown to a person as
/// `file:line:column`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

/// toml's messages are good; keep their first line only (the rest repeats the span).
fn clean_toml(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
[[site]]
name = "toulouse"
role = "primary"
address = "127.0.38.45"
[[site]]
name = "bordeaux"
role = "secondary"
address = "gw2.example.net"
[[port]]
number = 1146
service = "stca2"
"#;

    fn err(text: &str) -> (usize, usize, String) {
        match TargetSet::parse(text, Path::new("t.toml")).unwrap_err() {
            TargetError::Invalid {
                line,
                column,
                message,
                ..
            } => (line, column, message.to_string()),
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn good_file() {
        let t = TargetSet::parse(GOOD, Path::new("t.toml")).unwrap();
        assert_eq!(t.sites.len(), 2);
        assert_eq!(t.sites[1].address, Address::Host("gw2.example.net".into()));
        assert_eq!(
            t.literal_addresses(),
            vec!["127.0.38.45".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn bad_files_name_line_and_column() {
        let cases: &[(&str, &str, usize, &str)] = &[
            ("port 0", "number = 1146", 12, "not a TCP port"),
            ("unknown key", "service = \"stca2\"", 13, "unknown field"),
            ("bad address", "gw2.example.net", 10, "neither an IP"),
            ("duplicate", "\"bordeaux\"", 8, "duplicate site"),
            ("syntax", "role = \"primary\"", 5, ""),
        ];
        for (what, needle, line, msg) in cases {
            let replacement = match *what {
                "port 0" => "number = 0",
                "unknown key" => "service = \"stca2\"\ncolour = \"red\"",
                "bad address" => "not an address!",
                "duplicate" => "\"toulouse\"",
                _ => "role = primary",
            };
            let text = GOOD.replacen(needle, replacement, 1);
            let (l, c, m) = err(&text);
            assert_eq!(
                l,
                if *what == "unknown key" {
                    line + 1
                } else {
                    *line
                },
                "{what}: {m}"
            );
            assert!(c >= 1, "{what}");
            assert!(m.contains(msg), "{what}: {m}");
        }
    }

    #[test]
    fn ca_families_are_stca2_or_stca_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        let ca = |family: &str| {
            format!("[[ca]]\nfamily = \"{family}\"\nanchors = \"missing.pem\"\noptional = true\n")
        };
        let cases: &[(String, usize, usize, &str)] = &[
            (ca("unknown"), 15, 10, "not a CA family"),
            (
                format!("{}{}", ca("STCA"), ca("STCA")),
                19,
                10,
                "duplicate [[ca]] family STCA",
            ),
            (
                format!("{}{}", ca("STCA2"), ca("STCA2")),
                19,
                10,
                "duplicate [[ca]] family STCA2",
            ),
        ];
        for (extra, line, column, msg) in cases {
            let text = format!("{GOOD}{extra}");
            match TargetSet::parse(&text, &path).unwrap_err() {
                TargetError::Invalid {
                    line: l,
                    column: c,
                    message,
                    ..
                } => {
                    let message = message.to_string();
                    assert_eq!((l, c), (*line, *column), "{message}");
                    assert!(message.contains(msg), "{message}");
                }
                e => panic!("unexpected {e}"),
            }
        }
    }

    #[test]
    fn validation_messages_are_said_in_the_readers_language() {
        use stca2_words::{Lang, Words};
        let fr = Words::new(Lang::Fr);
        let said = |text: &str| TargetSet::parse(text, Path::new("t.toml")).unwrap_err();
        // A port out of range: the English is today's, the French French.
        let e = said(&GOOD.replacen("number = 1146", "number = 0", 1));
        assert_eq!(
            e.to_string(),
            "t.toml:12:10: port 0 is not a TCP port: use 1 to 65535"
        );
        let text = e.said(fr);
        assert_eq!(
            text,
            "t.toml:12:10: le port 0 n'est pas un port TCP\u{a0}: indiquez un numéro de 1 à 65535"
        );
        // Every message of the loader, in French: no id, no placeholder.
        let ca = |family: &str, anchors: &str| {
            format!("[[ca]]\nfamily = \"{family}\"\nanchors = \"{anchors}\"\noptional = true\n")
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "not a certificate").unwrap();
        for (text, english, french) in [
            (
                GOOD.replacen("gw2.example.net", "not an address!", 1),
                "is neither an IP address nor a hostname",
                "n'est ni une adresse IP ni un nom d'hôte",
            ),
            (
                GOOD.replacen("\"bordeaux\"", "\"toulouse\"", 1),
                "duplicate site `toulouse`: every site needs its own name",
                "site `toulouse` en double",
            ),
            (
                GOOD.replacen("gw2.example.net", "127.0.38.45", 1),
                "duplicate address `127.0.38.45`",
                "adresse `127.0.38.45` en double",
            ),
            (
                format!("{GOOD}[[port]]\nnumber = 1146\nservice = \"stca2\"\n"),
                "duplicate port 1146",
                "port 1146 en double",
            ),
            (
                GOOD.replacen("name = \"t\"", "name = \" \"", 1),
                "`name` is empty: give the target set a name",
                "donnez un nom au jeu de cibles",
            ),
            (
                "name = \"t\"\n".to_string(),
                "no [[site]]: a target set needs at least one site",
                "ajoutez au moins un site au fichier de cibles",
            ),
            (
                format!("{GOOD}{}", ca("unknown", "missing.pem")),
                "is not a CA family",
                "n'est pas une famille d'AC",
            ),
            (
                format!(
                    "{GOOD}{}{}",
                    ca("STCA", "missing.pem"),
                    ca("STCA", "missing.pem")
                ),
                "duplicate [[ca]] family STCA: put every STCA anchor in one PEM file",
                "famille [[ca]] STCA en double",
            ),
            (
                format!("{GOOD}{}", ca("STCA2", "t.toml")),
                "no certificate found: expected PEM blocks",
                "aucun certificat trouvé",
            ),
            (
                format!("allow = [\"10.0.0.0/33\"]\n{GOOD}"),
                "`10.0.0.0/33` is not a network",
                "n'est pas un réseau",
            ),
            (
                GOOD.replacen("role = \"primary\"", "role = primary", 1),
                "",
                "",
            ),
        ] {
            let e = TargetSet::parse(&text, &path).unwrap_err();
            let en = e.to_string();
            let fr_text = e.said(fr);
            assert!(en.contains(english), "{en}");
            assert!(fr_text.contains(french), "{fr_text}");
            assert!(
                !fr_text.contains('[') || fr_text.contains("[["),
                "{fr_text}"
            );
            assert!(!fr_text.contains("{ $"), "{fr_text}");
        }
        // The toml crate's own message is passed through, in both languages.
        let e = said(&GOOD.replacen("role = \"primary\"", "role = primary", 1));
        assert_eq!(e.said(fr), e.to_string());
    }

    #[test]
    fn mapped_literals_are_ipv4() {
        let text = GOOD.replace("127.0.38.45", "::ffff:127.0.38.45");
        let t = TargetSet::parse(&text, Path::new("t.toml")).unwrap();
        assert_eq!(
            t.sites[0].address,
            Address::Ip("127.0.38.45".parse().unwrap())
        );
    }

    /// The built-in set is parsed here, never probed.
    #[test]
    fn builtin_lyra_parses_with_anchors_by_file_name() {
        let empty = tempfile::tempdir().unwrap();
        let t = TargetSet::builtin_in(empty.path()).unwrap();
        assert!(t.is_builtin());
        assert_eq!(t.name, "lyra");
        assert_eq!(t.path, Path::new(BUILTIN_LYRA_PATH));
        assert_eq!(t.sites.len(), 2);
        assert_eq!(t.warnings.len(), 2);
        let said = t.warnings[0].to_string();
        assert!(said.contains(CA_DIR_ENV), "{said}");
        assert!(
            said.contains(&empty.path().join("stca2-root.pem").display().to_string()),
            "{said}"
        );
        let fr = t.warnings[0].said(stca2_words::Words::new(stca2_words::Lang::Fr));
        assert!(fr.contains("ancres") && fr.contains(CA_DIR_ENV), "{fr}");
        assert!(t.families.iter().all(|f| f.anchors.is_empty()));
        assert!(t.families.iter().all(|f| f.path.starts_with(empty.path())));

        // An anchor dropped into the CA folder is found by its file name.
        let key = rcgen::KeyPair::generate().unwrap();
        let root = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(empty.path().join("stca2-root.pem"), root.pem()).unwrap();
        let t = TargetSet::builtin_in(empty.path()).unwrap();
        assert_eq!(t.families[0].family, CaFamily::Stca2);
        assert_eq!(t.families[0].anchors.len(), 1);
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    }

    #[test]
    fn addresses() {
        for (text, ok) in [
            ("127.0.0.1", true),
            ("::1", true),
            ("gw.example.net", true),
            ("localhost", true),
            ("1.2.3", false),
            ("a..b", false),
            ("-a.b", false),
            ("a b", false),
            ("", false),
            ("300.1.1.1", false),
            ("::ffff:10.0.0.1", true),
        ] {
            assert_eq!(parse_address(text).is_some(), ok, "{text}");
        }
        assert_eq!(
            parse_address("::ffff:10.0.0.1"),
            Some(Address::Ip("10.0.0.1".parse().unwrap()))
        );
    }
}
