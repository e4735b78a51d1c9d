//! Words for people in their own language: one Project Fluent catalogue.
//!
//! Every sentence an installer, an ISP or an operator reads is a message in
//! `crates/words/i18n/{lang}/*.ftl`, compiled into the binary. Code never
//! builds a sentence by concatenation: it names a message and passes the
//! facts as Fluent arguments, and the catalogue decides word order, plurals
//! (`{ $n -> [one] ... *[other] ... }`) and grammar. The JSON report keeps
//! its English codes and `message` fields (the machine contract); the
//! language only changes what people read.
//!
//! - [`Lang`] is the language: `--lang fr|en`, else the locale variables
//!   ([`Lang::from_env`]), else English; the console reads Accept-Language
//!   ([`Lang::from_accept_language`]).
//! - [`catalogue`] gives the language's catalogue, parsed once.
//! - [`Catalogue::text`] formats one message; [`args!`](crate::args) builds
//!   its arguments.
//!
//! Both languages hold the same message ids with the same variables: the
//! tests below parse every file and compare them, so a message added in one
//! language and forgotten in the other fails the build's tests, not a shop.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use fluent_bundle::FluentResource;
use fluent_bundle::concurrent::FluentBundle;
pub use fluent_bundle::{FluentArgs, FluentValue};

/// A language people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Lang {
    /// English (the default where the locale says nothing we know).
    #[default]
    En,
    /// French: the installers', the support desk's and the operators'.
    Fr,
}

impl Lang {
    /// Every language, in a fixed order.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// The code used on the command line and in file names: `en`, `fr`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// A language from `fr`, `FR`, `fr_FR.UTF-8`, `fr-CA`, `en_GB@euro`...;
    /// `None` for anything else (including `C` and `POSIX`).
    pub fn parse(s: &str) -> Option<Lang> {
        let primary = s
            .split(['_', '-', '.', '@'])
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language the locale asks for, as gettext reads it: the first of
    /// `LC_ALL`, `LC_MESSAGES`, `LANG` that is set and not empty decides
    /// (`fr_FR.UTF-8` is French); a locale we have no words for is English.
    pub fn from_env() -> Lang {
        Self::from_locale_vars(|name| std::env::var(name).ok())
    }

    /// [`Lang::from_env`] over any source of variables (for tests).
    pub fn from_locale_vars(var: impl Fn(&str) -> Option<String>) -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| var(name))
            .find(|value| !value.trim().is_empty())
            .and_then(|value| Lang::parse(&value))
            .unwrap_or_default()
    }

    /// The browser's preferred language among ours, from an
    /// `Accept-Language` header (`en-GB,en;q=0.9,fr;q=0.8`); `None` when it
    /// names none of ours (the caller picks its own default).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(u32, usize, Lang)> = None;
        for (position, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(|tag| Lang::parse(tag.trim())) else {
                continue;
            };
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            if quality.is_nan() || quality <= 0.0 {
                continue;
            }
            // Thousandths: ordering without float comparisons.
            let q = (quality.min(1.0) * 1000.0).round() as u32;
            let better = match best {
                None => true,
                Some((bq, bpos, _)) => q > bq || (q == bq && position < bpos),
            };
            if better {
                best = Some((q, position, lang));
            }
        }
        best.map(|(_, _, lang)| lang)
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Ok(Lang::Fr),
            "en" => Ok(Lang::En),
            other => Err(format!(
                "no words for language `{other}`: use `fr` (français) or `en` (English)"
            )),
        }
    }
}

/// The translation of `--help` (ids `help-*`): other languages only, since
/// English help is written beside the arguments it describes; the binary's
/// tests check it against the command tree (`src/help.rs`).
pub const HELP_FILE: &str = "help.ftl";

/// One catalogue file: its name (for errors) and its text.
struct Source {
    name: &'static str,
    text: &'static str,
}

/// The catalogue files of a language, compiled in. A new file is added to
/// both lists (the tests check that each language has the same files),
/// except [`HELP_FILE`].
fn sources(lang: Lang) -> &'static [Source] {
    macro_rules! ftl {
        ($lang:literal, $($file:literal),+ $(,)?) => {
            &[$(Source {
                name: concat!($lang, "/", $file),
                text: include_str!(concat!("../i18n/", $lang, "/", $file)),
            }),+]
        };
    }
    match lang {
        Lang::En => ftl!(
            "en",
            "common.ftl",
            "verdict.ftl",
            "check.ftl",
            "console.ftl"
        ),
        Lang::Fr => ftl!(
            "fr",
            "common.ftl",
            "verdict.ftl",
            "check.ftl",
            "console.ftl",
            "help.ftl"
        ),
    }
}

/// A language's messages, ready to format.
pub struct Catalogue {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
}

impl fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalogue")
            .field("lang", &self.lang)
            .finish()
    }
}

/// The catalogue of `lang`, parsed on first use.
///
/// # Panics
/// When a compiled-in file does not parse or repeats a message id: a
/// build defect that the tests below catch first.
pub fn catalogue(lang: Lang) -> &'static Catalogue {
    static EN: OnceLock<Catalogue> = OnceLock::new();
    static FR: OnceLock<Catalogue> = OnceLock::new();
    let cell = match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    };
    cell.get_or_init(|| Catalogue::load(lang).unwrap_or_else(|e| panic!("{e}")))
}

impl Catalogue {
    fn load(lang: Lang) -> Result<Catalogue, String> {
        let id: unic_langid::LanguageIdentifier = lang
            .code()
            .parse()
            .map_err(|e| format!("language {lang}: {e}"))?;
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // No Unicode isolation marks around arguments: they are invisible
        // characters that terminals, CSV cells and spreadsheets show as junk.
        // Arguments that come from the network are escaped before they get
        // here (`stca2_report::text::escape`).
        bundle.set_use_isolating(false);
        for source in sources(lang) {
            let resource = FluentResource::try_new(source.text.to_string())
                .map_err(|(_, errors)| format!("{}: {errors:?}", source.name))?;
            bundle
                .add_resource(resource)
                .map_err(|errors| format!("{}: {errors:?}", source.name))?;
        }
        Ok(Catalogue { lang, bundle })
    }

    /// This catalogue's language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Whether the catalogue holds message `id`.
    pub fn has(&self, id: &str) -> bool {
        self.bundle.has_message(id)
    }

    /// Message `id` formatted with `args`; `None` when the message (or the
    /// attribute, for `id.attr`) does not exist or an argument it needs is
    /// missing.
    pub fn try_text(&self, id: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let (message, attribute) = match id.split_once('.') {
            Some((m, a)) => (m, Some(a)),
            None => (id, None),
        };
        let message = self.bundle.get_message(message)?;
        let pattern = match attribute {
            Some(a) => message.get_attribute(a)?.value(),
            None => message.value()?,
        };
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        errors.is_empty().then(|| text.into_owned())
    }

    /// Message `id` formatted with `args`. A message missing here is taken
    /// from the English catalogue; one missing everywhere (a defect the
    /// catalogue tests exist to catch) shows its id, so a person still sees
    /// something to report rather than nothing.
    pub fn text(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        self.try_text(id, args)
            .or_else(|| {
                (self.lang != Lang::En)
                    .then(|| catalogue(Lang::En).try_text(id, args))
                    .flatten()
            })
            .unwrap_or_else(|| format!("[{id}]"))
    }
}

/// Fluent arguments from `name => value` pairs:
/// `args!("port" => 1146, "address" => addr)`.
#[macro_export]
macro_rules! args {
    ($($name:literal => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut args = $crate::i18n::FluentArgs::new();
        $(args.set($name, $value);)*
        args
    }};
}

/// Message ids of one language mapped to the variables each uses
/// (attributes as `id.attr`), from the compiled-in files.
pub fn message_variables(lang: Lang) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    use fluent_syntax::ast;

    fn pattern_vars(p: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
        for element in &p.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_vars(expression, out);
            }
        }
    }
    fn expression_vars(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        match e {
            ast::Expression::Inline(i) => inline_vars(i, out),
            ast::Expression::Select { selector, variants } => {
                inline_vars(selector, out);
                for v in variants {
                    pattern_vars(&v.value, out);
                }
            }
        }
    }
    fn inline_vars(i: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match i {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_string());
            }
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                for a in &arguments.positional {
                    inline_vars(a, out);
                }
                for a in &arguments.named {
                    inline_vars(&a.value, out);
                }
            }
            ast::InlineExpression::Placeable { expression } => expression_vars(expression, out),
            _ => {}
        }
    }

    let mut out = BTreeMap::new();
    for source in sources(lang) {
        let resource = fluent_syntax::parser::parse(source.text)
            .map_err(|(_, errors)| format!("{}: {errors:?}", source.name))?;
        for entry in &resource.body {
            let ast::Entry::Message(m) = entry else {
                continue;
            };
            let mut vars = BTreeSet::new();
            if let Some(v) = &m.value {
                pattern_vars(v, &mut vars);
            }
            if out.insert(m.id.name.to_string(), vars).is_some() {
                return Err(format!("{}: message `{}` twice", source.name, m.id.name));
            }
            for a in &m.attributes {
                let mut vars = BTreeSet::new();
                pattern_vars(&a.value, &mut vars);
                out.insert(format!("{}.{}", m.id.name, a.id.name), vars);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_hold_the_same_messages_with_the_same_variables() {
        let en = message_variables(Lang::En).unwrap();
        let mut fr = message_variables(Lang::Fr).unwrap();
        // --help is translated from the code's English (src/help.rs checks it).
        assert!(
            en.keys().all(|k| !k.starts_with("help-")),
            "help-* in English"
        );
        fr.retain(|k, _| !k.starts_with("help-"));
        let only_en: Vec<_> = en.keys().filter(|k| !fr.contains_key(*k)).collect();
        let only_fr: Vec<_> = fr.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(only_en.is_empty(), "missing in French: {only_en:?}");
        assert!(only_fr.is_empty(), "missing in English: {only_fr:?}");
        for (id, vars) in &en {
            assert_eq!(
                vars, &fr[id],
                "message `{id}` uses other variables in French"
            );
        }
        let en_files: Vec<_> = sources(Lang::En).iter().map(|s| &s.name[3..]).collect();
        let fr_files: Vec<_> = sources(Lang::Fr)
            .iter()
            .map(|s| &s.name[3..])
            .filter(|f| *f != HELP_FILE)
            .collect();
        assert_eq!(en_files, fr_files);
    }

    #[test]
    fn every_catalogue_loads_and_formats() {
        for lang in Lang::ALL {
            let c = catalogue(lang);
            assert_eq!(c.lang(), lang);
            for id in message_variables(lang).unwrap().keys() {
                assert!(c.has(id.split('.').next().unwrap()), "{lang}: {id}");
            }
        }
        let en = catalogue(Lang::En);
        let fr = catalogue(Lang::Fr);
        assert_eq!(en.text("lang-name", None), "English");
        assert_eq!(fr.text("lang-name", None), "Français");
        // Plurals follow each language's rules: French 0 and 1 are "one".
        let ports = |c: &Catalogue, n: u32| c.text("ports-count", Some(&args!("count" => n)));
        assert_eq!(ports(en, 1), "1 port");
        assert_eq!(ports(en, 0), "0 ports");
        assert_eq!(ports(fr, 0), "0 port");
        assert_eq!(ports(fr, 2), "2 ports");
        // A missing argument is not a silent success.
        assert_eq!(en.try_text("ports-count", None), None);
        // An unknown id shows itself.
        assert_eq!(fr.text("no-such-message", None), "[no-such-message]");
    }

    #[test]
    fn languages_from_flags_locales_and_browsers() {
        assert_eq!("fr".parse::<Lang>(), Ok(Lang::Fr));
        assert_eq!(" EN ".parse::<Lang>(), Ok(Lang::En));
        assert!("de".parse::<Lang>().unwrap_err().contains("`fr`"));
        assert_eq!(Lang::parse("fr_FR.UTF-8"), Some(Lang::Fr));
        assert_eq!(Lang::parse("en_GB@euro"), Some(Lang::En));
        assert_eq!(Lang::parse("C"), None);
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            Lang::from_locale_vars(move |name| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert_eq!(env(&[("LANG", "fr_FR.UTF-8")]), Lang::Fr);
        assert_eq!(
            env(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "fr_FR.UTF-8")]),
            Lang::En
        );
        assert_eq!(
            env(&[("LC_ALL", ""), ("LC_MESSAGES", "fr_CA"), ("LANG", "en_US")]),
            Lang::Fr
        );
        assert_eq!(env(&[("LANG", "C.UTF-8")]), Lang::En);
        assert_eq!(env(&[]), Lang::En);
        assert_eq!(
            Lang::from_accept_language("en-GB,en;q=0.9,fr;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("de-DE, fr;q=0.5, en;q=0.4"),
            Some(Lang::Fr)
        );
        assert_eq!(
            Lang::from_accept_language("fr;q=0, en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("de, *;q=0.5"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }
}
