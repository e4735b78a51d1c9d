//! The words people read, in their language, rendered from facts.
//!
//! The engine decides; this crate only says. Every sentence an installer
//! reads about a check (the headline, the failover message, each finding)
//! and every other sentence the probe prints for a person is a message of
//! one Project Fluent catalogue (`i18n/{en,fr}/*.ftl`, see [`i18n`]).
//! [`Words`] renders the typed facts the report carries ([`Headline`],
//! [`FailoverReason`], [`FindingFacts`]) in one language; nothing here
//! looks at raw results, the clock or the network, so a back office
//! re-renders a stored report with exactly the words the probe wrote.
//!
//! The free functions [`headline`], [`failover`] and [`finding`] are the
//! English ones: the JSON report's `message` fields (the machine contract).
//!
//! A new sentence is a message in both languages' files (the tests check
//! that they hold the same ids with the same variables) and a call to
//! [`Words::text`] with its arguments ([`args!`]); a new finding code is one
//! arm in `findings.rs` naming its message.
#![warn(missing_docs)]

use std::collections::HashSet;

use stca2_report::{FailoverReason, FindingFacts, Headline, SiteRef, TargetRef};

pub mod failover;
pub mod findings;
pub mod headline;
pub mod i18n;

pub use i18n::{Catalogue, FluentArgs, FluentValue, Lang, catalogue};

/// The environment variable that caps the probe's allow-list (named in the
/// advice about a target the allow-list refused).
pub const CEILING_ENV: &str = "STCA2_PROBE_ALLOW";

/// The words of one language.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    catalogue: &'static Catalogue,
}

impl Words {
    /// The words of `lang`.
    pub fn new(lang: Lang) -> Words {
        Words {
            catalogue: catalogue(lang),
        }
    }

    /// English: the language of the report's `message` fields.
    pub fn english() -> Words {
        Words::new(Lang::En)
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.catalogue.lang()
    }

    /// Message `id` formatted with `args` ([`Catalogue::text`]).
    pub fn text(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        self.catalogue.text(id, args)
    }

    /// The headline; `None` for a case this version does not know.
    pub fn headline(&self, h: &Headline) -> Option<String> {
        headline::render(self, h)
    }

    /// The failover message; `None` for a case this version does not know.
    pub fn failover(&self, f: &FailoverReason) -> Option<String> {
        failover::render(self, f)
    }

    /// A finding's message; `None` for a code this version does not know.
    pub fn finding(&self, f: &FindingFacts) -> Option<String> {
        findings::render(self, f)
    }

    /// "a", "a and b", "a, b and c" (`list-comma`, `list-and`).
    pub fn list<S: AsRef<str>>(&self, items: &[S]) -> String {
        match items {
            [] => String::new(),
            [first, rest @ ..] => {
                let mut head = first.as_ref().to_string();
                for (i, item) in rest.iter().enumerate() {
                    let id = if i + 1 == rest.len() {
                        "list-and"
                    } else {
                        "list-comma"
                    };
                    head = self.text(id, Some(&args!("head" => head, "item" => item.as_ref())));
                }
                head
            }
        }
    }

    /// [`Words::list`] of the items once each, in order of first appearance.
    pub fn list_once(&self, items: impl IntoIterator<Item = String>) -> String {
        self.list(&once(items))
    }

    /// An endpoint in a sentence (`endpoint`): "127.0.38.45:1146" in
    /// English, "le port TCP 1146 vers 127.0.38.45" in French.
    pub fn endpoint(&self, t: &TargetRef) -> String {
        self.endpoint_of(&t.address, t.port)
    }

    /// [`Words::endpoint`] of an address and a port.
    pub fn endpoint_of(&self, address: &str, port: u16) -> String {
        self.text(
            "endpoint",
            Some(&args!("host" => host(address), "port" => port.to_string())),
        )
    }

    /// The endpoints of `targets`, once each.
    pub fn endpoints(&self, targets: &[TargetRef]) -> Vec<String> {
        once(targets.iter().map(|t| self.endpoint(t)))
    }

    /// A target as a finding names it (`target-at`):
    /// "127.0.38.45:1146 (site 1, toulouse, stca2 port)".
    pub fn at(&self, t: &TargetRef) -> String {
        self.text(
            "target-at",
            Some(&args!(
                "host" => host(&t.address),
                "port" => t.port.to_string(),
                "number" => t.site_number,
                "site" => t.site.as_str(),
                "service" => t.service.as_str(),
            )),
        )
    }

    /// "site 2 (bordeaux)" (`site-label`).
    pub fn site_label(&self, s: &SiteRef) -> String {
        self.text(
            "site-label",
            Some(&args!("number" => s.number, "name" => s.name.as_str())),
        )
    }

    /// "both sites", "all 3 sites" (`every-site`).
    pub fn every_site(&self, n: usize) -> String {
        self.text("every-site", Some(&args!("count" => n)))
    }

    /// A number Rust formatted (`format!("{:.1}", x)`, "1.5 s") written as
    /// this language writes numbers: French takes a decimal comma ("1,5 s").
    /// Only the decimal point changes; digits and units stay.
    pub fn decimal(&self, formatted: &str) -> String {
        match self.lang() {
            Lang::En => formatted.to_string(),
            Lang::Fr => formatted.replace('.', ","),
        }
    }
}

/// An address as it is written before `:port`: bracketed when IPv6.
fn host(address: &str) -> String {
    if address.contains(':') {
        format!("[{address}]")
    } else {
        address.to_string()
    }
}

/// A message for a person, typed: the id of a catalogue message
/// (`i18n/*/*.ftl`) and its Fluent arguments, said in a
/// language by [`Said::text`]; `Display` is the English. An argument that
/// comes from a library (the `toml` crate's parse error, an io error)
/// stays as the library wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// The message id.
    pub id: &'static str,
    /// Its arguments, by name.
    pub args: Vec<(&'static str, String)>,
}

impl Said {
    /// Message `id` with `args`.
    pub fn new(id: &'static str, args: impl IntoIterator<Item = (&'static str, String)>) -> Said {
        Said {
            id,
            args: args.into_iter().collect(),
        }
    }

    /// The message in `words`' language.
    pub fn text(&self, words: Words) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in &self.args {
            args.set(*name, value.as_str());
        }
        words.text(self.id, Some(&args))
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Words::english()))
    }
}

/// The headline in English; `None` for a case this version does not know.
pub fn headline(h: &Headline) -> Option<String> {
    Words::english().headline(h)
}

/// The failover message in English; `None` for a case this version does not know.
pub fn failover(f: &FailoverReason) -> Option<String> {
    Words::english().failover(f)
}

/// A finding's message in English; `None` for a code this version does not know.
pub fn finding(f: &FindingFacts) -> Option<String> {
    Words::english().finding(f)
}

/// "a", "a and b", "a, b and c" in English ([`Words::list`]).
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    Words::english().list(items)
}

/// [`list`] of the items once each, in order of first appearance.
pub fn list_once(items: impl IntoIterator<Item = String>) -> String {
    list(&once(items))
}

/// The items once each, in order of first appearance.
fn once(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// `one` when `n` is 1, else `many`: English only; a sentence in the
/// catalogue selects on a `$count` argument instead.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The first letter in upper case.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_plurals() {
        assert_eq!(list::<&str>(&[]), "");
        assert_eq!(list(&["a"]), "a");
        assert_eq!(list(&["a", "b"]), "a and b");
        assert_eq!(list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(list_once(["a", "b", "a"].map(String::from)), "a and b");
        assert_eq!(plural(1, "port", "ports"), "port");
        assert_eq!(plural(2, "port", "ports"), "ports");
        assert_eq!(capitalise("site 2"), "Site 2");
        assert_eq!(capitalise(""), "");
    }
}

/// Every case of the verdict (each headline, failover reason and finding,
/// with each of their inner variants) renders in every language with no
/// message missing and no variable left unfilled.
#[cfg(test)]
mod every_case {
    use super::*;
    use stca2_report::{
        Broken, CaFamily, DnsStatus, Expiry, FailoverTarget, Intercepted, NotMeasuredReason,
        Service, TcpStatus, TlsFailing, TlsStatus,
    };

    fn t(n: usize, port: u16) -> TargetRef {
        TargetRef {
            site: ["toulouse", "bordeaux", "lyon"][n - 1].into(),
            site_number: n,
            address: ["194.50.38.45", "194.50.38.173", "::1"][n - 1].into(),
            port,
            service: match port {
                1146 => Service::Stca2,
                7212 => Service::Declaration,
                _ => Service::Other,
            },
        }
    }
    fn s(n: usize) -> SiteRef {
        let t = t(n, 1146);
        SiteRef {
            number: n,
            name: t.site,
            address: t.address,
        }
    }
    fn intercepted(forged: Option<CaFamily>, issuer: Option<&str>) -> Intercepted {
        Intercepted {
            target: t(1, 1146),
            issuer: issuer.map(String::from),
            forged,
        }
    }
    fn broken() -> Vec<Broken> {
        vec![
            Broken {
                intercepted: vec![intercepted(None, Some("CN=Proxy"))],
                failing: vec![],
            },
            Broken {
                intercepted: vec![],
                failing: vec![
                    TlsFailing {
                        target: t(1, 1146),
                        tls: Some(TlsStatus::Reset),
                    },
                    TlsFailing {
                        target: t(1, 7212),
                        tls: None,
                    },
                ],
            },
            Broken {
                intercepted: vec![intercepted(Some(CaFamily::Stca2), None)],
                failing: vec![TlsFailing {
                    target: t(2, 1146),
                    tls: Some(TlsStatus::Timeout),
                }],
            },
        ]
    }

    fn headlines() -> Vec<Headline> {
        let one = vec![t(1, 1146)];
        let two = vec![t(1, 1146), t(1, 7212)];
        let mut h = vec![
            Headline::NothingChecked,
            Headline::AnchorsMissing,
            Headline::PrimaryUnresolved { target: t(1, 1146) },
            Headline::Unresolved {
                addresses: vec!["gw.example".into(), "gw2.example".into()],
            },
            Headline::Interception {
                intercepted: vec![
                    intercepted(None, None),
                    intercepted(Some(CaFamily::Stca), Some("CN=X")),
                ],
            },
        ];
        for targets in [one.clone(), two.clone()] {
            for router in [true, false] {
                h.push(Headline::PrimaryClosed {
                    closed: targets.clone(),
                    router,
                    to_open: two.clone(),
                });
            }
            for tls_failing in [vec![], vec![t(2, 1146)]] {
                h.push(Headline::Blocked {
                    blocked: targets.clone(),
                    tls_failing,
                });
            }
            h.push(Headline::NotMeasured {
                targets: targets.clone(),
            });
            h.push(Headline::OldCa {
                targets: targets.clone(),
            });
            h.push(Headline::TlsFailing {
                targets: targets.clone(),
            });
            h.push(Headline::Expired {
                targets: targets.clone(),
            });
            h.push(Headline::NotStca2 {
                targets: targets.clone(),
            });
            h.push(Headline::TlsNotChecked {
                targets: targets.clone(),
            });
        }
        for sites in [vec![s(1)], vec![s(1), s(2)], vec![s(1), s(2), s(3)]] {
            for expiring in [None, Some(1), Some(12)] {
                h.push(Headline::Ready {
                    sites: sites.clone(),
                    ports: vec![1146, 7212],
                    expiring: expiring.map(|days_to_expiry| Expiry {
                        target: t(1, 1146),
                        days_to_expiry,
                    }),
                });
            }
        }
        h
    }

    fn failovers() -> Vec<FailoverReason> {
        use FailoverReason as F;
        let configure = vec![FailoverTarget {
            site: s(2),
            ports: vec![1146],
        }];
        let closed = vec![t(1, 1146), t(1, 7212)];
        let (p, sec) = (vec![s(1)], vec![s(2)]);
        let mut f = vec![
            F::NoSecondary,
            F::NoPrimary,
            F::Unmeasured { sites: p.clone() },
            F::Unmeasured {
                sites: vec![s(1), s(2)],
            },
            F::TlsNotChecked { sites: p.clone() },
            F::TlsNotChecked {
                sites: vec![s(1), s(2)],
            },
        ];
        for sites in [vec![s(1), s(2)], vec![s(1), s(2), s(3)]] {
            f.push(F::AllAnswer {
                sites: sites.clone(),
                configure: configure.clone(),
            });
            f.push(F::AllBlocked {
                sites,
                closed: closed.clone(),
                configure: configure.clone(),
            });
        }
        f.push(F::SecondaryBlocked {
            primaries: p.clone(),
            secondaries: sec.clone(),
            closed: closed.clone(),
            configure: configure.clone(),
        });
        f.push(F::PrimaryBlocked {
            primaries: p.clone(),
            secondaries: sec.clone(),
            closed: closed.clone(),
            configure: configure.clone(),
        });
        for broken in broken() {
            f.push(F::PrimaryBroken {
                primaries: p.clone(),
                secondaries: sec.clone(),
                broken: broken.clone(),
                configure: configure.clone(),
            });
            f.push(F::PrimaryBlockedSecondaryBroken {
                primaries: p.clone(),
                secondaries: sec.clone(),
                closed: closed.clone(),
                broken: broken.clone(),
            });
            f.push(F::SecondaryBroken {
                primaries: p.clone(),
                secondaries: sec.clone(),
                broken: broken.clone(),
            });
            f.push(F::PrimaryBrokenSecondaryBlocked {
                primaries: p.clone(),
                secondaries: sec.clone(),
                broken: broken.clone(),
                closed: closed.clone(),
            });
            for interception in [true, false] {
                f.push(F::AllBroken {
                    sites: vec![s(1), s(2)],
                    broken: broken.clone(),
                    interception,
                });
            }
        }
        f
    }

    fn findings() -> Vec<FindingFacts> {
        use FindingFacts as F;
        let detail = |d: bool| d.then(|| "detail".to_string());
        let mut f = vec![
            F::AnchorsMissing,
            F::Interception(intercepted(None, Some("CN=Proxy"))),
            F::Interception(intercepted(None, None)),
            F::Interception(intercepted(Some(CaFamily::Stca2), Some("CN=Fake"))),
        ];
        for reason in [
            NotMeasuredReason::DnsRefused {
                addresses: vec![],
                detail: "d".into(),
            },
            NotMeasuredReason::DnsRefused {
                addresses: vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
                detail: "d".into(),
            },
            NotMeasuredReason::AllowList { detail: "d".into() },
            NotMeasuredReason::Local { detail: "d".into() },
        ] {
            f.push(F::NotMeasured {
                target: t(3, 1146),
                reason,
            });
        }
        for d in [true, false] {
            for status in [
                DnsStatus::Ok,
                DnsStatus::Nxdomain,
                DnsStatus::Timeout,
                DnsStatus::Error,
                DnsStatus::Refused,
            ] {
                f.push(F::DnsFailed {
                    target: t(1, 1146),
                    status,
                    detail: detail(d),
                });
            }
            for tcp in [
                TcpStatus::Open,
                TcpStatus::Timeout,
                TcpStatus::Refused,
                TcpStatus::Unreachable,
                TcpStatus::Error,
            ] {
                f.push(F::PortClosed {
                    target: t(1, 7212),
                    tcp,
                    detail: detail(d),
                });
            }
            for tls in [
                None,
                Some(TlsStatus::Ok),
                Some(TlsStatus::Alert),
                Some(TlsStatus::Reset),
                Some(TlsStatus::Eof),
                Some(TlsStatus::Timeout),
                Some(TlsStatus::ClientAuthRequired),
                Some(TlsStatus::Error),
                Some(TlsStatus::NotAttempted),
            ] {
                f.push(F::TlsFailed {
                    target: t(2, 1146),
                    tls,
                    alert: d.then(|| "handshake_failure".into()),
                    detail: detail(d),
                });
            }
            f.push(F::ClientAuth {
                target: t(2, 7212),
                ca_names: if d {
                    vec!["CN=A".into(), "CN=B".into()]
                } else {
                    vec![]
                },
            });
            f.push(F::OldCa {
                target: t(1, 1146),
                issuer: detail(d),
            });
            for days in [1, 30] {
                f.push(F::Expired {
                    target: t(1, 1146),
                    subject: detail(d),
                    days_to_expiry: -days,
                });
                f.push(F::Expiring {
                    target: t(1, 1146),
                    subject: detail(d),
                    days_to_expiry: days,
                });
            }
        }
        f
    }

    fn assert_whole(text: Option<String>, what: &dyn std::fmt::Debug) -> String {
        let text = text.unwrap_or_else(|| panic!("nothing for {what:?}"));
        assert!(!text.is_empty(), "{what:?}");
        assert!(
            !text.contains("{ $")
                && !text.contains("[headline-")
                && !text.contains("[failover-")
                && !text.contains("[finding-")
                && !text.contains("[list-"),
            "{what:?}: {text}"
        );
        assert!(!text.contains("  "), "{what:?}: a double space in {text:?}");
        text
    }

    #[test]
    fn every_case_renders_in_every_language() {
        for lang in Lang::ALL {
            let w = Words::new(lang);
            for h in headlines() {
                let text = assert_whole(w.headline(&h), &(lang, &h));
                if lang == Lang::Fr {
                    // French typography: a no-break space before : and ;.
                    assert!(!text.contains(" :") && !text.contains(" ;"), "{text}");
                    assert!(
                        !text.contains("blocks") && !text.contains("Open outbound"),
                        "{text}"
                    );
                }
            }
            for f in failovers() {
                assert_whole(w.failover(&f), &(lang, &f));
            }
            for f in findings() {
                assert_whole(w.finding(&f), &(lang, &f));
            }
        }
        assert_eq!(Words::new(Lang::Fr).headline(&Headline::Unknown), None);
    }

    #[test]
    fn french_says_it_as_the_procedure_does() {
        let fr = Words::new(Lang::Fr);
        let h = fr
            .headline(&Headline::PrimaryClosed {
                closed: vec![t(1, 1146)],
                router: true,
                to_open: vec![t(1, 1146)],
            })
            .unwrap();
        assert_eq!(
            h,
            "Port STCA2 non ouvert\u{a0}: la box bloque le port TCP 1146 vers 194.50.38.45 (site 1, toulouse). \
             Ouvrez en sortie le port TCP 1146 vers 194.50.38.45 sur la box du commerçant."
        );
        assert_eq!(fr.list(&["a", "b", "c"]), "a, b et c");
        assert_eq!(fr.decimal("0.3/1.5 ms"), "0,3/1,5 ms");
        assert_eq!(Words::english().decimal("0.3/1.5 ms"), "0.3/1.5 ms");
        let f = fr
            .failover(&FailoverReason::AllAnswer {
                sites: vec![s(1), s(2)],
                configure: vec![FailoverTarget {
                    site: s(2),
                    ports: vec![1146],
                }],
            })
            .unwrap();
        assert_eq!(
            f,
            "Les deux sites répondent\u{a0}: configurez le site 2 (bordeaux, 194.50.38.173, port 1146) comme passerelle de secours du terminal."
        );
    }
}
