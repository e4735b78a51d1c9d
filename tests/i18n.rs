//! The installer's experience in both languages, end to end: every lab
//! scenario's whole report reads in English and in French with no message
//! missing and no variable left unfilled; the locale picks the language and
//! `--lang` wins over it; `check --csv --lang fr` explains in French under
//! the contract's column names; and `check --watch` follows the lab while
//! one of its endpoints changes behaviour under it.
//!
//! Every lab runs in a loopback /24 of its own ([`net::network`]).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::future::join_all;
use stca2_engine::allow::{AllowList, parse_cidr};
use stca2_engine::check;
use stca2_engine::probe::ProbeConfig;
use stca2_engine::targets::TargetSet;
use stca2_lab::{Lab, LabConfig, Scenario};
use stca2_report::{ProbeIdentity, Report, Role};
use stca2_words::{Lang, Words};

use crate::util::cli::bin;
use crate::util::net;

async fn start_lab(scenario: Scenario, dir: &Path) -> (Lab, PathBuf) {
    let net = net::network();
    let (primary, secondary) = net.sites();
    let mut config = LabConfig::new(scenario);
    config.primary = primary;
    config.secondary = secondary;
    config.ca_dir = dir.join("lab-ca");
    config.slow_delay = Duration::from_millis(300);
    let lab = Lab::start(config)
        .await
        .unwrap_or_else(|e| panic!("lab on {net}: {e}"));
    let target_file = dir.join("lab.toml");
    lab.write_target_file(&target_file).unwrap();
    (lab, target_file)
}

async fn check_lab(target_file: &Path) -> Report {
    let mut config = ProbeConfig::new(AllowList::new(
        vec![parse_cidr("127.0.0.0/8").unwrap()],
        AllowList::ceiling_from_env().unwrap(),
    ));
    config.timeout = Duration::from_secs(1);
    config.attempts = 1;
    let targets = TargetSet::load(target_file).unwrap();
    check::run(&targets, &config, ProbeIdentity::new("i18n-test")).await
}

/// What a rendered text must never show: a message id in brackets (a
/// message missing everywhere), a Fluent placeable left as written.
fn assert_whole(text: &str, what: &str) {
    assert!(
        !text.contains("{ $") && !text.contains("{$"),
        "{what}: a variable left in:\n{text}"
    );
    let bracketed_id = text.match_indices('[').any(|(i, _)| {
        let rest = &text[i + 1..];
        let id: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        id.len() > 1 && rest[id.len()..].starts_with(']') && id.contains('-')
    });
    assert!(!bracketed_id, "{what}: a missing message in:\n{text}");
}

fn human(report: &Report, lang: Lang) -> String {
    let mut out = Vec::new();
    stca2_engine::human::render(report, &[], Words::new(lang), &mut out, false).unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_reads_whole_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let runs = Scenario::names().iter().map(|name| {
        let dir = dir.path().join(name);
        async move {
            std::fs::create_dir_all(&dir).unwrap();
            let (lab, file) = start_lab(Scenario::named(name).unwrap(), &dir).await;
            let report = check_lab(&file).await;
            lab.shutdown().await;
            (*name, report)
        }
    });
    for (name, report) in join_all(runs).await {
        let s = &report.summary;
        for lang in Lang::ALL {
            let words = Words::new(lang);
            let what = format!("scenario {name}, {lang}");
            let facts = s.headline_params.as_ref().expect("the headline's facts");
            let headline = words
                .headline(facts)
                .unwrap_or_else(|| panic!("{what}: headline"));
            let failover = s.failover.params.as_ref().expect("the failover's facts");
            let failover = words
                .failover(failover)
                .unwrap_or_else(|| panic!("{what}: failover"));
            for f in &s.findings {
                let facts = f.params.as_ref().expect("every finding has facts");
                let m = words
                    .finding(facts)
                    .unwrap_or_else(|| panic!("{what}: {}", f.code));
                assert_whole(&m, &what);
            }
            let text = human(&report, lang);
            assert_whole(&text, &what);
            assert!(text.starts_with(&headline), "{what}:\n{text}");
            assert!(text.contains(&failover), "{what}:\n{text}");
            match lang {
                // English is the report's own words, byte for byte.
                Lang::En => {
                    assert_eq!(headline, s.headline, "{what}");
                    assert_eq!(failover, s.failover.message, "{what}");
                    assert!(text.contains("\nFailover: "), "{what}");
                }
                Lang::Fr => {
                    assert_ne!(headline, s.headline, "{what}: not translated");
                    assert!(
                        text.contains("\nConnectivité secondaire\u{a0}:\n"),
                        "{what}:\n{text}"
                    );
                    assert!(
                        text.contains("RÔLE") && !text.contains("ROLE"),
                        "{what}:\n{text}"
                    );
                    // French typography: no ordinary space before a colon.
                    assert!(
                        !headline.contains(" :") && !failover.contains(" ;"),
                        "{what}: {headline} / {failover}"
                    );
                }
            }
        }
    }
}

/// `cmd` with the locale variables cleared, then `vars` set.
fn with_locale(mut cmd: Command, vars: &[(&str, &str)]) -> Command {
    for v in ["LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"] {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn help_follows_the_locale_and_lang() {
    let help = |vars: &[(&str, &str)], args: &[&str]| {
        let out = with_locale(bin(), vars).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let fr = help(&[("LANG", "fr_FR.UTF-8")], &["check", "--help"]);
    for says in [
        "Utilisation\u{a0}:",
        "Tester chaque site × port",
        "--watch-timeout <DURATION>",
        "par défaut\u{a0}: 10m",
        "Exemples\u{a0}:",
        "Codes de sortie\u{a0}:",
    ] {
        assert!(fr.contains(says), "{says}:\n{fr}");
    }
    assert!(!fr.contains("Usage:") && !fr.contains("[default:"), "{fr}");
    // --lang wins over the locale, either way, wherever it is written.
    let en = help(
        &[("LANG", "fr_FR.UTF-8")],
        &["check", "--help", "--lang", "en"],
    );
    assert!(
        en.contains("Usage:") && en.contains("[default: 10m]"),
        "{en}"
    );
    let fr2 = help(&[("LANG", "C.UTF-8")], &["--lang=fr", "trace", "--help"]);
    assert!(fr2.contains("Où s'arrête le chemin"), "{fr2}");
    // A value error is said in the language asked for, too.
    let out = with_locale(bin(), &[])
        .args(["--lang", "fr", "check", "--timeout", "0", "--allow", "x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("hors limites"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_locale_picks_french_and_lang_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (lab, file) = start_lab(Scenario::named("primary-blocked").unwrap(), dir.path()).await;
    let file = file.to_string_lossy().into_owned();
    let check: Vec<String> = [
        "check",
        "--targets",
        &file,
        "--timeout",
        "1",
        "--attempts",
        "1",
    ]
    .map(String::from)
    .to_vec();
    let run = move |vars: &[(&str, &str)], extra: &[&str]| {
        let mut cmd = with_locale(bin(), vars);
        let out = cmd.args(&check).args(extra).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (fr, en, lang_en, lc_all, csv) = tokio::task::spawn_blocking(move || {
        (
            run(&[("LANG", "fr_FR.UTF-8")], &[]),
            run(&[("LANG", "C.UTF-8")], &[]),
            run(&[("LANG", "fr_FR.UTF-8")], &["--lang", "en"]),
            run(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "fr_FR.UTF-8")], &[]),
            run(&[], &["--csv", "--lang", "fr"]),
        )
    })
    .await
    .unwrap();
    lab.shutdown().await;
    assert!(
        fr.starts_with("Port STCA2 non ouvert\u{a0}: la box bloque le port TCP 1146 vers "),
        "{fr}"
    );
    assert!(
        fr.contains("Ouvrez en sortie le port TCP 1146 vers "),
        "{fr}"
    );
    assert!(fr.contains(" sur la box du commerçant."), "{fr}");
    assert!(fr.contains("Constats\u{a0}:"), "{fr}");
    assert_whole(&fr, "LANG=fr_FR.UTF-8");
    for en in [&en, &lang_en, &lc_all] {
        assert!(
            en.starts_with("Port STCA2 non ouvert: the router blocks "),
            "{en}"
        );
        assert!(en.contains("\nFailover: "), "{en}");
    }
    // The CSV: the contract's columns, the explanation in French.
    let header = csv.lines().next().unwrap();
    assert_eq!(header, stca2_report::csv::COLUMNS.join(","));
    assert!(
        csv.contains("La box du commerçant bloque le site 1"),
        "{csv}"
    );
}

/// Lines of a child's stdout, as they come.
fn lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded) for a line with `needle`; returns every line read.
fn until(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no line with {needle:?} in:\n{}", seen.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_the_router_being_opened() {
    let dir = tempfile::tempdir().unwrap();
    let (mut lab, file) = start_lab(Scenario::named("primary-blocked").unwrap(), dir.path()).await;
    let primary = lab
        .endpoints()
        .iter()
        .find(|e| e.role == Role::Primary)
        .unwrap()
        .addr
        .ip();
    let mut child = with_locale(bin(), &[])
        .args(["check", "--targets"])
        .arg(&file)
        .args([
            "--timeout",
            "1",
            "--attempts",
            "1",
            "--watch",
            "--watch-every",
            "200ms",
        ])
        .args(["--watch-timeout", "60s", "--lang", "fr"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let mut seen = Vec::new();
    let rx = tokio::task::spawn_blocking(move || {
        until(
            &rx,
            "Surveillance\u{a0}: un nouveau test toutes les",
            &mut seen,
        );
        (rx, seen)
    })
    .await
    .unwrap();
    let (rx, mut seen) = rx;
    // The installer opens the router: the primary answers as a healthy gateway.
    let healthy = Scenario::named("healthy").unwrap();
    for port in [1146, 7212] {
        lab.switch(Role::Primary, port, healthy.behaviour(Role::Primary, port))
            .await
            .unwrap();
    }
    let (status, seen) = tokio::task::spawn_blocking(move || {
        until(&rx, "Tout est prêt", &mut seen);
        let status = child.wait().unwrap();
        (status, seen)
    })
    .await
    .unwrap();
    lab.shutdown().await;
    let text = seen.join("\n");
    assert_eq!(status.code(), Some(0), "{text}");
    let changed = format!("1146 vers {primary}\u{a0}: désormais ouvert");
    assert!(text.contains(&changed), "{changed:?} missing:\n{text}");
    // Through a pipe: plain lines, no escape codes, no bell.
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    // The verdict is printed again after what changed: the line before the
    // last is the new verdict.
    let before_last = &seen[seen.len() - 2];
    assert!(before_last.contains("Prêt pour STCA2"), "{text}");
    // Only what changed: the secondary (unchanged) is never named in a change.
    assert_eq!(
        seen.iter().filter(|l| l.contains("désormais")).count(),
        2,
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_gives_up_after_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (lab, file) = start_lab(Scenario::named("primary-blocked").unwrap(), dir.path()).await;
    let file = file.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || {
        with_locale(bin(), &[])
            .args([
                "check",
                "--targets",
                &file,
                "--timeout",
                "1",
                "--attempts",
                "1",
            ])
            .args(["--watch", "--watch-every", "200ms", "--watch-timeout", "2s"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    lab.shutdown().await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.trim_end().ends_with(
            "Still not ready after 2 s: stopping (exit code 1). The last verdict is above."
        ),
        "{text}"
    );
    assert!(!text.contains("now open"), "nothing changed:\n{text}");
}

/// `check --upload` against a real back office (`serve`, in process, on
/// loopback): the report arrives, the id printed to quote on the phone is
/// the stored one, and a token the back office refuses says what to do
/// while the report is still printed and kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_sends_the_report_and_says_its_id() {
    use crate::util::backoffice;
    let dir = tempfile::tempdir().unwrap();
    let (lab, file) = start_lab(Scenario::named("primary-blocked").unwrap(), dir.path()).await;
    let db = backoffice::sqlite().await;
    let server = backoffice::start(&db.store, "127.0.0.1:0", &[]).await;
    let token = backoffice::token(&db.store, Some("shop-upload"), None).await;
    let good = dir.path().join("token");
    std::fs::write(&good, format!("{token}\n")).unwrap();
    let bad = dir.path().join("revoked-token");
    std::fs::write(&bad, "stca2_not_a_token_the_back_office_knows\n").unwrap();
    let base = server.base.clone();
    let run = move |token: &Path| {
        with_locale(bin(), &[])
            .args(["check", "--targets"])
            .arg(&file)
            .args(["--timeout", "1", "--attempts", "1"])
            .args(["--probe-id", "shop-upload", "--lang", "fr"])
            .args(["--upload", &base, "--upload-token"])
            .arg(token)
            .output()
            .unwrap()
    };
    let (sent, refused) = tokio::task::spawn_blocking(move || (run(&good), run(&bad)))
        .await
        .unwrap();
    lab.shutdown().await;
    let text = |o: &std::process::Output| {
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (out, err) = text(&sent);
    // The report is printed as without --upload (primary blocked: exit 1).
    assert_eq!(sent.status.code(), Some(1), "{out}\n{err}");
    assert!(out.starts_with("Port STCA2 non ouvert\u{a0}: "), "{out}");
    let said = "Numéro de rapport à donner par téléphone\u{a0}: ";
    let printed = err
        .lines()
        .find_map(|l| l.split_once(said).map(|(_, id)| id.trim().to_string()))
        .unwrap_or_else(|| panic!("no report id in:\n{err}"));
    let d = db.store.probe("shop-upload").await.unwrap().unwrap();
    let (latest, body) = (d.latest, d.body);
    assert_eq!(printed, latest.report_id);
    let stored = Report::from_json(&body.unwrap()).unwrap();
    assert_eq!(stored.report_id, printed);
    assert!(
        out.contains(&printed),
        "the footer names the same id:\n{out}"
    );
    // The token is never printed.
    assert!(!out.contains(&token) && !err.contains(&token));

    let (out, err) = text(&refused);
    assert_eq!(refused.status.code(), Some(3), "{out}\n{err}");
    assert!(out.starts_with("Port STCA2 non ouvert\u{a0}: "), "{out}");
    assert!(
        err.contains("Le back-office a refusé le jeton de la sonde")
            && err.contains("Demandez au support un jeton pour la sonde shop-upload"),
        "{err}"
    );
    // Nothing lost: the report's JSON is kept where the message says.
    let kept = err
        .split("conservé dans ")
        .nth(1)
        .and_then(|rest| rest.split(".json").next())
        .map(|p| PathBuf::from(format!("{p}.json")))
        .unwrap_or_else(|| panic!("no kept file in:\n{err}"));
    let kept_report = Report::from_json(&std::fs::read_to_string(&kept).unwrap()).unwrap();
    assert!(err.contains(&kept_report.report_id), "{err}");
    let _ = std::fs::remove_dir_all(kept.parent().unwrap());
    server.stop().await;
    db.cleanup().await;
}
