//! The verdict's sentences, in English, rendered from the report's facts.
//!
//! The engine decides; this crate only says. Every sentence an installer
//! reads about a check (the headline, the failover message, each finding)
//! is one function here that takes the typed facts the report carries
//! ([`Headline`], [`FailoverReason`], [`FindingFacts`]) and returns a
//! string. Nothing here looks at raw results, the clock or the network, so
//! a back office re-renders a stored report with exactly the words the
//! probe wrote, and a French twin (a Project Fluent catalogue) can be
//! written message by message against the same facts.
//!
//! What every message shares lives in one place: lists ("a, b and c",
//! [`list`]), plurals ([`plural`]), site labels and endpoints.
#![warn(missing_docs)]

use std::collections::HashSet;

use stca2_report::{FailoverReason, FindingFacts, Headline};

pub mod failover;
pub mod findings;
pub mod headline;
pub mod i18n;

pub use i18n::{Catalogue, Lang, catalogue};

/// The environment variable that caps the probe's allow-list (named in the
/// advice about a target the allow-list refused).
pub const CEILING_ENV: &str = "STCA2_PROBE_ALLOW";

/// The headline; `None` for a case this version does not know.
pub fn headline(h: &Headline) -> Option<String> {
    headline::render(h)
}

/// The failover message; `None` for a case this version does not know.
pub fn failover(f: &FailoverReason) -> Option<String> {
    failover::render(f)
}

/// A finding's message; `None` for a code this version does not know.
pub fn finding(f: &FindingFacts) -> Option<String> {
    findings::render(f)
}

/// "a", "a and b", "a, b and c".
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            let head: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", head.join(", "), last.as_ref())
        }
    }
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

/// `one` when `n` is 1, else `many`.
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
