//! Scenarios: which behaviour every site x port of the lab has.
//!
//! A scenario is a default behaviour per port plus overrides per (role,
//! port). The named ones each tell one story an installer meets, and each
//! yields a different verdict from `stca2-probe check`.

use stca2_report::Role;
use stca2_words::{Words, args};

use super::{Behaviour, LabError};

/// The declaration port, where a real gateway asks for a client certificate.
const DECLARATION_PORT: u16 = 7212;
/// The STCA2 payment entrance.
const STCA2_PORT: u16 = 1146;

const NAMES: &[&str] = &[
    "healthy",
    "primary-blocked",
    "secondary-blocked",
    "both-blocked",
    "old-ca",
    "intercepted",
    "mixed",
    "slow",
    "expired",
];

/// The behaviour of every lab endpoint, by role and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The scenario's name (`healthy`, `mixed`, or a behaviour's name for uniform ones).
    pub name: String,
    /// `Some`: every endpoint behaves this way ([`Scenario::uniform`]).
    uniform: Option<Behaviour>,
    /// Behaviour of a port no override names, except the declaration port.
    default: Behaviour,
    /// Behaviour of the declaration port (7212) when no override names it.
    declaration: Behaviour,
    overrides: Vec<((Role, u16), Behaviour)>,
}

impl Scenario {
    /// The names [`Scenario::named`] accepts.
    pub fn names() -> &'static [&'static str] {
        NAMES
    }

    /// A named scenario, or an error listing the names there are.
    pub fn named(name: &str) -> Result<Scenario, LabError> {
        use Behaviour::*;
        use Role::*;
        let gateway = |name: &str, payment: Behaviour| Scenario {
            name: name.to_string(),
            uniform: None,
            default: payment,
            declaration: ClientAuth,
            overrides: Vec::new(),
        };
        let s = match name.trim() {
            "healthy" => gateway("healthy", Stca2),
            "primary-blocked" => gateway("primary-blocked", Stca2)
                .with(Primary, STCA2_PORT, Closed)
                .with(Primary, DECLARATION_PORT, Closed),
            "secondary-blocked" => gateway("secondary-blocked", Stca2)
                .with(Secondary, STCA2_PORT, Closed)
                .with(Secondary, DECLARATION_PORT, Closed),
            "both-blocked" => Scenario {
                name: "both-blocked".into(),
                uniform: None,
                default: Closed,
                declaration: Closed,
                overrides: Vec::new(),
            },
            "old-ca" => Scenario {
                name: "old-ca".into(),
                uniform: None,
                default: Stca,
                declaration: Stca,
                overrides: Vec::new(),
            },
            "intercepted" => Scenario {
                name: "intercepted".into(),
                uniform: None,
                default: Interceptor,
                declaration: Interceptor,
                overrides: Vec::new(),
            },
            "mixed" => gateway("mixed", Stca2)
                .with(Secondary, STCA2_PORT, Silent)
                .with(Secondary, DECLARATION_PORT, Closed),
            "slow" => gateway("slow", Slow),
            "expired" => gateway("expired", Expired),
            other => {
                return Err(LabError::UnknownScenario {
                    name: other.to_string(),
                });
            }
        };
        Ok(s)
    }

    /// Every endpoint behaves the same way; the scenario is named after the behaviour.
    pub fn uniform(b: Behaviour) -> Scenario {
        Scenario {
            name: b.to_string(),
            uniform: Some(b),
            default: b,
            declaration: b,
            overrides: Vec::new(),
        }
    }

    /// The same scenario with one endpoint changed.
    pub fn with(mut self, role: Role, port: u16, b: Behaviour) -> Self {
        self.overrides
            .retain(|((r, p), _)| !(*r == role && *p == port));
        self.overrides.push(((role, port), b));
        self
    }

    /// The behaviour of one endpoint.
    pub fn behaviour(&self, role: Role, port: u16) -> Behaviour {
        self.overrides
            .iter()
            .find(|((r, p), _)| *r == role && *p == port)
            .map(|(_, b)| *b)
            .unwrap_or(if port == DECLARATION_PORT {
                self.declaration
            } else {
                self.default
            })
    }

    /// What the scenario simulates, in one sentence (`lab-scenario-*`).
    pub fn description(&self, words: Words) -> String {
        match self.uniform {
            Some(b) => words.text(
                "lab-scenario-uniform",
                Some(&args!("behaviour" => b.description(words))),
            ),
            None => words.text(&format!("lab-scenario-{}", self.name), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use stca2_words::Lang;

    use super::*;

    #[test]
    fn every_name_builds_and_keeps_its_name() {
        for n in Scenario::names() {
            let s = Scenario::named(n).unwrap();
            assert_eq!(&s.name, n);
            for lang in Lang::ALL {
                let words = Words::new(lang);
                let d = s.description(words);
                assert!(!d.is_empty() && !d.starts_with('['), "{n} in {lang}: {d}");
            }
        }
    }

    #[test]
    fn a_uniform_scenario_says_so_even_under_a_scenario_name() {
        let en = Words::english();
        for b in Behaviour::ALL {
            let d = Scenario::uniform(b).description(en);
            assert!(d.starts_with("every site and port: "), "{b}: {d}");
        }
        assert!(
            !Scenario::named("slow")
                .unwrap()
                .description(en)
                .starts_with("every")
        );
    }

    #[test]
    fn healthy_and_mixed_tables() {
        let h = Scenario::named("healthy").unwrap();
        for role in [Role::Primary, Role::Secondary] {
            assert_eq!(h.behaviour(role, 1146), Behaviour::Stca2);
            assert_eq!(h.behaviour(role, 7212), Behaviour::ClientAuth);
            assert_eq!(h.behaviour(role, 443), Behaviour::Stca2);
        }
        let m = Scenario::named("mixed").unwrap();
        assert_eq!(m.behaviour(Role::Primary, 1146), Behaviour::Stca2);
        assert_eq!(m.behaviour(Role::Primary, 7212), Behaviour::ClientAuth);
        assert_eq!(m.behaviour(Role::Secondary, 1146), Behaviour::Silent);
        assert_eq!(m.behaviour(Role::Secondary, 7212), Behaviour::Closed);
        let p = Scenario::named("primary-blocked").unwrap();
        assert_eq!(p.behaviour(Role::Primary, 1146), Behaviour::Closed);
        assert_eq!(p.behaviour(Role::Primary, 7212), Behaviour::Closed);
        assert_eq!(p.behaviour(Role::Secondary, 1146), Behaviour::Stca2);
    }

    #[test]
    fn uniform_and_with() {
        let s =
            Scenario::uniform(Behaviour::Garbage).with(Role::Secondary, 7212, Behaviour::Silent);
        assert_eq!(s.name, "garbage");
        assert_eq!(s.behaviour(Role::Primary, 7212), Behaviour::Garbage);
        assert_eq!(s.behaviour(Role::Secondary, 7212), Behaviour::Silent);
        let s = s.with(Role::Secondary, 7212, Behaviour::Stca);
        assert_eq!(s.behaviour(Role::Secondary, 7212), Behaviour::Stca);
    }

    #[test]
    fn unknown_scenario_lists_the_names() {
        let e = Scenario::named("sunny").unwrap_err().to_string();
        assert!(e.contains("sunny") && e.contains("primary-blocked"), "{e}");
    }
}
