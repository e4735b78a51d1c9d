//! `--help` in the reader's language.
//!
//! English help is written where the arguments are (clap's doc comments
//! and `about`/`after_help` attributes: the code is its own English
//! reference). Every other language's help is a message of the words
//! catalogue (`crates/words/i18n/fr/help.ftl`), named after the place it
//! describes:
//!
//! - `help-cmd-<path>`: a command's `about`, with `.long` (its long about)
//!   and `.after` (its examples and exit codes) when the English has them;
//!   `<path>` is `root` or the subcommand names joined by `-`
//!   (`token-issue`);
//! - `help-arg-<path>-<id>`: an argument's help (`.long`: the whole text
//!   under `--help` when the English has more than one paragraph); `<id>`
//!   is the argument's id with `_` as `-`; global arguments belong to
//!   `root`;
//! - `help-usage`, `help-commands`, `help-flag-help`, `help-flag-help-long`,
//!   `help-flag-version`, `help-subcommand-help`; `help-default`,
//!   `help-possible`, `help-env` for what clap would print in English in
//!   square brackets.
//!
//! [`localise`] rewrites a built command tree with those messages; the
//! tests below walk the same tree and fail on any command or argument
//! without its French help, and on any French help that describes nothing.
//! clap's own parse errors ("unexpected argument") stay English: clap has
//! no catalogue for them.

use clap::{Arg, Command};
use stca2_words::{Catalogue, Lang, args, catalogue};

/// `cmd` (a whole command tree) with its help in `lang`. English is the
/// tree as written; a message missing in `lang` keeps the English text.
pub fn localise(mut cmd: Command, lang: Lang) -> Command {
    if lang == Lang::En {
        return cmd;
    }
    cmd.build();
    let words = catalogue(lang);
    let page = Page {
        words,
        template: format!(
            "{{before-help}}{{about-with-newline}}\n{} {{usage}}\n\n{{all-args}}{{after-help}}",
            words.text("help-usage", None)
        ),
        commands: heading(words, "help-commands"),
        options: heading(words, "help-options"),
    };
    localise_command(cmd, "root", &page)
}

/// What every command's help shares: the catalogue, the template, the
/// section headings.
struct Page {
    words: &'static Catalogue,
    template: String,
    commands: &'static str,
    options: &'static str,
}

/// A section heading: clap writes a colon after it, which French
/// typography precedes with a no-break space. clap keeps headings as
/// `&'static str`: two per process, made once in [`localise`].
fn heading(words: &Catalogue, id: &str) -> &'static str {
    Box::leak(format!("{}\u{a0}", words.text(id, None)).into_boxed_str())
}

fn localise_command(mut cmd: Command, path: &str, page: &Page) -> Command {
    let (words, template) = (page.words, page.template.as_str());
    let id = format!("help-cmd-{path}");
    if let Some(about) = words.try_text(&id, None) {
        cmd = cmd.about(about);
    }
    if cmd.get_long_about().is_some()
        && let Some(mut long) = words.try_text(&format!("{id}.long"), None)
    {
        if path == "root" && cfg!(feature = "lab") {
            long = format!("{long}\n\n{}", words.text("help-root-demo", None));
        }
        cmd = cmd.long_about(long);
    }
    if cmd.get_after_help().is_some()
        && let Some(after) = words.try_text(&format!("{id}.after"), None)
    {
        cmd = cmd.after_help(after);
    }
    cmd = cmd
        .help_template(template.to_string())
        .subcommand_help_heading(page.commands)
        .mut_args(|a| localise_arg(a, path, page));
    // Hidden commands (those a shop build leaves out) keep their words:
    // French help for a command this build lacks would mislead.
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = if name == "help" {
            cmd.mut_subcommand(&name, |s| localise_help_tree(s, path, page))
        } else {
            let sub = sub_path(path, &name);
            cmd.mut_subcommand(&name, |s| localise_command(s, &sub, page))
        };
    }
    cmd
}

/// The `help` subcommand clap adds under `path`: its children are copies
/// of the real commands (`help check`, `help token issue`), named as they
/// are.
fn localise_help_tree(help: Command, path: &str, page: &Page) -> Command {
    let help = help
        .about(page.words.text("help-subcommand-help", None))
        .help_template(page.template.clone());
    localise_copies(help, path, page)
}

fn localise_copies(mut cmd: Command, path: &str, page: &Page) -> Command {
    cmd = cmd.subcommand_help_heading(page.commands);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub = sub_path(path, &name);
        let id = if name == "help" {
            "help-subcommand-help".to_string()
        } else {
            format!("help-cmd-{sub}")
        };
        cmd = cmd.mut_subcommand(&name, |s| {
            let s = match page.words.try_text(&id, None) {
                Some(about) => s.about(about),
                None => s,
            };
            localise_copies(s, &sub, page)
        });
    }
    cmd
}

/// The path of subcommand `name` under `path`.
fn sub_path(path: &str, name: &str) -> String {
    if path == "root" {
        name.to_string()
    } else {
        format!("{path}-{name}")
    }
}

/// The message id of argument `a` of the command at `path`.
fn arg_id(a: &Arg, path: &str) -> String {
    match a.get_id().as_str() {
        "help" => "help-flag-help".into(),
        "version" => "help-flag-version".into(),
        id => {
            let owner = if a.is_global_set() { "root" } else { path };
            format!("help-arg-{owner}-{}", id.replace('_', "-"))
        }
    }
}

fn localise_arg(mut a: Arg, path: &str, page: &Page) -> Arg {
    let words = page.words;
    if a.is_hide_set() {
        return a;
    }
    // clap writes its own sections (commands, arguments, options) before
    // the headed ones: only options get a heading of ours, so that the
    // order stays clap's (positionals keep clap's "Arguments", the same
    // word in French, without the no-break space).
    if a.get_help_heading().is_none() && !a.is_positional() {
        a = a.help_heading(page.options);
    }
    let id = arg_id(&a, path);
    let Some(mut help) = words.try_text(&id, None) else {
        return a;
    };
    let mut long = if id == "help-flag-help" {
        // As clap's: "more with --help" only where there is more.
        a.get_long_help().map(|_| {
            help = words.text("help-flag-help-more", None);
            words.text("help-flag-help-long", None)
        })
    } else {
        a.get_long_help().map(|_| {
            words
                .try_text(&format!("{id}.long"), None)
                .unwrap_or(help.clone())
        })
    };
    // What clap would add in English, in square brackets.
    let mut notes = Vec::new();
    let takes_values = a.get_action().takes_values();
    if takes_values && !a.is_hide_default_value_set() && !a.get_default_values().is_empty() {
        let value = a
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        notes.push(words.text("help-default", Some(&args!("value" => value))));
        a = a.hide_default_value(true);
    }
    let possible = a.get_possible_values();
    if takes_values && !a.is_hide_possible_values_set() && !possible.is_empty() {
        let values = possible
            .iter()
            .filter(|p| !p.is_hide_set())
            .map(|p| p.get_name().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        notes.push(words.text("help-possible", Some(&args!("values" => values))));
        a = a.hide_possible_values(true);
    }
    if let Some(env) = a.get_env().filter(|_| !a.is_hide_env_set()) {
        let name = env.to_string_lossy().into_owned();
        notes.push(words.text("help-env", Some(&args!("name" => name))));
        a = a.hide_env(true);
    }
    for note in notes {
        help = format!("{help} [{note}]");
        if let Some(l) = long.as_mut() {
            *l = format!("{l}\n\n[{note}]");
        }
    }
    a = a.help(help);
    if let Some(l) = long {
        a = a.long_help(l);
    }
    a
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::CommandFactory;

    use super::*;

    /// The French help ids the command tree needs (`.long`/`.after` when
    /// the English has a long text or examples).
    fn needed(cmd: &Command, path: &str, out: &mut BTreeSet<String>) {
        let id = format!("help-cmd-{path}");
        if cmd.get_long_about().is_some() {
            out.insert(format!("{id}.long"));
        }
        if cmd.get_after_help().is_some() {
            out.insert(format!("{id}.after"));
        }
        out.insert(id);
        for a in cmd.get_arguments() {
            if a.is_hide_set() || (a.is_global_set() && path != "root") {
                continue;
            }
            let id = arg_id(a, path);
            if !id.starts_with("help-arg-") {
                continue; // --help, --version: fixed words
            }
            if a.get_long_help().is_some() {
                out.insert(format!("{id}.long"));
            }
            out.insert(id);
        }
        for s in cmd.get_subcommands() {
            if s.get_name() != "help" && !s.is_hide_set() {
                needed(s, &sub_path(path, s.get_name()), out);
            }
        }
    }

    fn tree() -> Command {
        let mut cmd = crate::Cli::command();
        cmd.build();
        cmd
    }

    #[test]
    fn every_command_and_argument_has_its_french_help() {
        let mut need = BTreeSet::new();
        needed(&tree(), "root", &mut need);
        let french = stca2_words::i18n::message_variables(Lang::Fr).unwrap();
        let have: BTreeSet<String> = french
            .keys()
            .filter(|k| k.starts_with("help-cmd-") || k.starts_with("help-arg-"))
            .cloned()
            .collect();
        let missing: Vec<_> = need.difference(&have).collect();
        assert!(missing.is_empty(), "no French help for: {missing:?}");
        // Only the full build has every command: the shop build's tree
        // is smaller, and French help for its absent commands is not stale.
        if cfg!(all(feature = "backoffice", feature = "lab")) {
            let stale: Vec<_> = have.difference(&need).collect();
            assert!(stale.is_empty(), "French help for nothing: {stale:?}");
        }
        let fr = catalogue(Lang::Fr);
        for id in [
            "help-usage",
            "help-commands",
            "help-options",
            "help-flag-help",
            "help-flag-help-more",
            "help-flag-help-long",
            "help-root-demo",
            "help-flag-version",
            "help-subcommand-help",
        ] {
            assert!(fr.has(id), "{id}");
        }
        for (id, var) in [
            ("help-default", "value"),
            ("help-possible", "values"),
            ("help-env", "name"),
        ] {
            assert!(french[id].contains(var), "{id} without ${var}");
        }
        // `.long` is the whole text: it starts with the short one.
        for id in need
            .iter()
            .filter(|i| i.starts_with("help-arg-") && i.ends_with(".long"))
        {
            let short = fr.text(id.trim_end_matches(".long"), None);
            let long = fr.text(id, None);
            assert!(
                long.starts_with(&short),
                "{id}: {long:?} does not begin with {short:?}"
            );
        }
    }

    /// The help of `args` (e.g. `["check", "--help"]`) in `lang`.
    fn help(lang: Lang, args: &[&str]) -> String {
        let err = localise(crate::Cli::command(), lang)
            .try_get_matches_from(std::iter::once("stca2-probe").chain(args.iter().copied()))
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{args:?}");
        err.render().to_string()
    }

    #[test]
    fn french_help_has_no_english_left() {
        for args in [
            &["--help"][..],
            &["-h"],
            &["check", "--help"],
            &["check", "-h"],
            &["trace", "--help"],
            &["daemon", "--help"],
            &["help", "check"],
        ]
        .into_iter()
        .chain(cfg!(feature = "lab").then_some(&["demo", "--help"][..]))
        .chain(cfg!(feature = "backoffice").then_some(&["help", "token"][..]))
        {
            let text = help(Lang::Fr, args);
            for english in [
                "Usage:",
                "Commands:",
                "Print help",
                "Print version",
                "[default:",
                "[possible values:",
                "[env:",
                "Possible values:",
                "Examples:",
                "Exit codes",
            ] {
                assert!(!text.contains(english), "{args:?}: {english:?} in\n{text}");
            }
            assert!(text.contains("Utilisation\u{a0}:"), "{args:?}:\n{text}");
        }
        let check = help(Lang::Fr, &["check", "--help"]);
        assert!(check.contains("--watch-timeout <DURATION>"), "{check}");
        assert!(check.contains("par défaut\u{a0}: 10m"), "{check}");
        assert!(
            check.contains("valeurs possibles\u{a0}: auto, always, never"),
            "{check}"
        );
        let copies = help(Lang::Fr, &["help", "help"]);
        assert!(copies.contains("Tester chaque site"), "{copies}");
        let root = help(Lang::Fr, &["--help"]);
        assert!(root.contains("Commandes\u{a0}:"), "{root}");
        assert!(check.contains("Options\u{a0}:"), "{check}");
        let trace = help(Lang::Fr, &["trace", "--help"]);
        // Arguments before options, as in English.
        let (args_at, options_at) = (trace.find("Arguments:"), trace.find("Options\u{a0}:"));
        assert!(args_at.is_some() && args_at < options_at, "{trace}");
        assert!(
            root.contains("stca2-probe demo") == cfg!(feature = "lab"),
            "{root}"
        );
        let english = help(Lang::En, &["check", "--help"]);
        assert!(english.contains("[default: 10m]") && english.contains("Usage:"));
    }
}
