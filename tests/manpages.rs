//! The man pages in `distro/man`: each renders without a single groff warning (in the layout
//! they are installed in, so that the `.so` pages resolve), carries the workspace version,
//! documents every option its program's `--help` lists and lists no option `--help` does not
//! know, and `dinit-service(5)` names every setting and option the description parser accepts.
//! The bounds of both build profiles appear in `dinit(8)`.
//!
//! Needs `groff` (Debian: `apt-get install groff-base`); without it the test fails and says so.
//! Built as an integration test of dinit-hosted (see hosted/Cargo.toml) so that the binaries
//! are at hand.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::TestDir;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Each program and the page that documents it.
const PROGRAMS: &[(&str, &str)] = &[
    (env!("CARGO_BIN_EXE_dinit"), "dinit.8"),
    (env!("CARGO_BIN_EXE_dinitctl"), "dinitctl.8"),
    (env!("CARGO_BIN_EXE_dinit-check"), "dinit-check.8"),
    (env!("CARGO_BIN_EXE_dinit-monitor"), "dinit-monitor.8"),
    (env!("CARGO_BIN_EXE_dinit-shutdown"), "dinit-shutdown.8"),
];

/// Options a page documents that `--help` leaves out on purpose (page, option, why).
const NOT_IN_HELP: &[(&str, &str, &str)] = &[(
    "dinitctl.8",
    "-l",
    "dinitctl --help shows only the long form, `signal --list`",
)];

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../distro/man")
}

/// Every page: `(file name, text)`, sorted by name.
fn pages() -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = std::fs::read_dir(man_dir())
        .expect("distro/man")
        .map(|e| e.unwrap().path())
        .filter(|p| section(p).is_some())
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    pages.sort();
    assert!(
        pages.len() >= 6,
        "expected the man pages in {:?}",
        man_dir()
    );
    pages
}

fn page(name: &str) -> String {
    std::fs::read_to_string(man_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The section of a man page file (`5` or `8`), if it is one.
fn section(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "5" => Some("5"),
        "8" => Some("8"),
        _ => None,
    }
}

/// The target of a page that only says `.so man8/other.8`.
fn so_target(text: &str) -> Option<&str> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(".\\\"") && !l.trim().is_empty())
        .collect();
    match lines.as_slice() {
        [only] => only.strip_prefix(".so "),
        _ => None,
    }
}

fn require_groff() {
    let found = Command::new("groff")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "groff is not installed, and the man page tests need it: install it \
         (Debian/Ubuntu: `apt-get install groff-base`; Fedora: `dnf install groff-base`)"
    );
}

/// A fresh directory laid out as the pages are installed: `man5/` and `man8/`.
fn installed_layout() -> TestDir {
    let root = TestDir::new("man");
    for (name, text) in pages() {
        let dir = root
            .path
            .join(format!("man{}", section(Path::new(&name)).unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&name), text).unwrap();
    }
    root
}

/// The text of a roff source with the escapes that matter here resolved: font changes
/// removed, `\-` as `-`, `\e` as `\`, `\&` and `\%` dropped, the few named characters we use
/// replaced.
fn plain(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    let mut chars = roff.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => match chars.next() {
                Some('(') => {
                    chars.next();
                    chars.next();
                }
                Some('[') => for _ in chars.by_ref().take_while(|&c| c != ']') {},
                _ => {}
            },
            Some('-') => out.push('-'),
            Some('e') => out.push('\\'),
            Some('&' | '%' | ':') => {}
            Some('(') => {
                let name: String = chars.by_ref().take(2).collect();
                out.push_str(match name.as_str() {
                    "aq" => "'",
                    "dq" => "\"",
                    "bu" => "*",
                    "em" => "--",
                    _ => "?",
                });
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The options written in `text`: `--long-name` and `-x` where an option can begin (at the
/// start, or after white space or one of `[(,|"`).
fn options_in(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let mut found = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        let begins = b[i] == b'-'
            && (i == 0
                || matches!(
                    b[i - 1],
                    b' ' | b'\t' | b'\n' | b'[' | b'(' | b',' | b'|' | b'"'
                ));
        if !begins {
            i += 1;
            continue;
        }
        let long = b.get(i + 1) == Some(&b'-');
        let name_start = if long { i + 2 } else { i + 1 };
        let mut j = name_start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || (long && b[j] == b'-')) {
            j += 1;
        }
        let name = &b[name_start..j];
        let ok = if long {
            name.len() >= 2 && name[0].is_ascii_alphabetic()
        } else {
            name.len() == 1 && name[0].is_ascii_alphabetic()
        };
        if ok {
            found.insert(text[i..j].to_owned());
        }
        i = j.max(i + 1);
    }
    found
}

/// True if `word` occurs in `text` as a word of its own (not inside a longer name).
fn has_word(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// The options a page documents: those in the tags of `.TP`/`.TQ` paragraphs that begin with
/// an option.
fn documented_options(roff: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = roff.lines().collect();
    let mut found = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        if *line != ".TP" && *line != ".TQ" {
            continue;
        }
        let Some(tag) = lines.get(i + 1) else {
            continue;
        };
        if !tag.starts_with(".B") {
            continue;
        }
        let tag = plain(tag);
        let first = tag.split_whitespace().nth(1).unwrap_or("");
        if first.trim_matches('"').starts_with('-') {
            found.extend(options_in(&tag));
        }
    }
    found
}

fn help_of(program: &str) -> String {
    let out = Command::new(program).arg("--help").output().unwrap();
    // dinit-shutdown and dinit-monitor --help exit with 1, as Dinit's shutdown and
    // dinit-monitor do (nothing was done).
    let expected = if program.ends_with("dinit-shutdown") || program.ends_with("dinit-monitor") {
        1
    } else {
        0
    };
    assert_eq!(out.status.code(), Some(expected), "{program} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_page_renders_without_warnings() {
    require_groff();
    let root = installed_layout();
    for (name, _) in pages() {
        let rel = format!("man{}/{name}", section(Path::new(&name)).unwrap());
        // The default line length, and a narrow one, so that the pages read well in a small
        // terminal too.
        for line_length in [None, Some("-rLL=64n")] {
            let out = Command::new("groff")
                .current_dir(&root.path)
                .args(["-man", "-ww", "-z", "-Tutf8"])
                .args(line_length)
                .arg(&rel)
                .env("LC_ALL", "C.UTF-8")
                .output()
                .unwrap();
            let diagnostics = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && diagnostics.trim().is_empty(),
                "groff reports problems in {name} ({line_length:?}):\n{diagnostics}"
            );
        }
    }
}

#[test]
fn pages_carry_the_workspace_version() {
    let version = format!("\"dinit-rs {}\"", env!("CARGO_PKG_VERSION"));
    for (name, text) in pages() {
        if so_target(&text).is_some() {
            continue;
        }
        let th = text
            .lines()
            .find(|l| l.starts_with(".TH "))
            .unwrap_or_else(|| panic!("{name} has no .TH line"));
        assert!(th.contains(&version), "{name}: {th} lacks {version}");
        let stem = name.rsplit_once('.').unwrap().0.to_uppercase();
        assert!(
            th.starts_with(&format!(".TH {stem} ")),
            "{name}: the title of {th} is not {stem}"
        );
    }
}

#[test]
fn shutdown_page_names_the_commands_installed_as_links_to_it() {
    // The dinit-rs-init package installs dinit-shutdown under these names and links their
    // man pages to dinit-shutdown(8) (see hosted/Cargo.toml).
    let text = plain(&page("dinit-shutdown.8"));
    let name_section = text
        .split(".SH NAME")
        .nth(1)
        .and_then(|s| s.split(".SH").next())
        .unwrap();
    for alias in ["shutdown", "halt", "poweroff", "reboot", "soft-reboot"] {
        assert!(
            has_word(name_section, alias),
            "the NAME section of dinit-shutdown.8 does not name {alias}"
        );
    }
}

#[test]
fn pages_document_every_option_of_help_and_no_other() {
    for (program, page_name) in PROGRAMS {
        let help = help_of(program);
        let in_help = options_in(&help);
        assert!(
            in_help.iter().any(|o| o.starts_with("--")),
            "{program} --help lists no long option"
        );
        let roff = page(page_name);
        let text = plain(&roff);
        for option in &in_help {
            assert!(
                has_word(&text, option),
                "{page_name} does not document {option}, which `{program} --help` lists"
            );
        }
        for option in documented_options(&roff) {
            let excused = NOT_IN_HELP
                .iter()
                .any(|(p, o, _)| p == page_name && *o == option);
            assert!(
                in_help.contains(&option) || excused,
                "{page_name} documents {option}, which `{program} --help` does not know"
            );
        }
    }
}

#[test]
fn dinitctl_page_documents_every_command() {
    let help = help_of(env!("CARGO_BIN_EXE_dinitctl"));
    let text = plain(&page("dinitctl.8"));
    let commands: BTreeSet<&str> = help
        .lines()
        .filter_map(|l| l.trim().strip_prefix("dinitctl [options] "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert!(
        commands.len() >= 20,
        "commands in dinitctl --help: {commands:?}"
    );
    for command in commands {
        assert!(
            text.lines()
                .any(|l| l.starts_with(".B") && l.split_whitespace().nth(1) == Some(command)),
            "dinitctl.8 does not describe the command {command}"
        );
    }
}

#[test]
fn service_page_names_every_setting_and_option() {
    use dinit_core::desc::{Securebits, SettingKey};
    let text = plain(&page("dinit-service.5"));
    for key in SettingKey::ALL {
        assert!(
            text.lines()
                .any(|l| l.starts_with(".B") && has_word(l, key.name())),
            "dinit-service.5 does not describe the setting {}",
            key.name()
        );
    }
    assert!(has_word(&text, "termsignal"), "the old spelling termsignal");
    for (option, _) in dinit_core::desc::setting::OPTION_NAMES {
        assert!(
            text.lines()
                .any(|l| l.starts_with(".B ") && l[3..].trim() == option),
            "dinit-service.5 does not describe the option {option}"
        );
    }
    for (flag, _) in Securebits::NAMES {
        assert!(has_word(&text, flag), "securebits flag {flag}");
    }
    for load_option in ["export-passwd-vars", "export-service-name"] {
        assert!(has_word(&text, load_option), "load option {load_option}");
    }
    for (signal, _) in dinit_core::signal::NAMES {
        assert!(has_word(&text, signal), "term-signal {signal}");
        assert!(
            has_word(&plain(&page("dinitctl.8")), signal),
            "dinitctl.8: signal {signal}"
        );
    }
    for kind in ["process", "bgprocess", "scripted", "internal", "triggered"] {
        assert!(has_word(&text, kind), "service type {kind}");
    }
}

#[test]
fn dinit_page_states_the_bounds_of_both_profiles() {
    use dinit_core::profile::{DEFAULT_EDGES, DEFAULT_SERVICES, SMALL_EDGES, SMALL_SERVICES};
    let text = plain(&page("dinit.8"));
    for (what, n) in [
        ("default services", DEFAULT_SERVICES),
        ("default edges", DEFAULT_EDGES),
        ("small services", SMALL_SERVICES),
        ("small edges", SMALL_EDGES),
    ] {
        assert!(
            has_word(&text, &n.to_string()),
            "dinit.8 does not give the bound of {what} ({n})"
        );
    }
}

#[test]
fn references_to_our_pages_resolve() {
    let ours: BTreeSet<String> = pages().into_iter().map(|(n, _)| n).collect();
    for (name, text) in pages() {
        let text = plain(&text);
        for line in text.lines().filter(|l| l.starts_with(".BR ")) {
            let mut words = line.split_whitespace().skip(1);
            while let (Some(page_name), Some(sect)) = (words.next(), words.next()) {
                let Some(n) = sect.strip_prefix('(').and_then(|s| s.split(')').next()) else {
                    break;
                };
                if page_name.starts_with("dinit") {
                    let file = format!("{page_name}.{n}");
                    assert!(
                        ours.contains(&file),
                        "{name} refers to {file}, which is missing"
                    );
                }
            }
        }
    }
}

#[test]
fn option_scanner_finds_what_help_texts_write() {
    let found = options_in("  -d dir, --services-dir dir   x\n  [--clear] (-p) re-enable a--b");
    let want: BTreeSet<String> = ["-d", "--services-dir", "--clear", "-p"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
    assert_eq!(
        plain(r#".BI \-d " dir" "\fR, \fP\-\-services\-dir " dir"#),
        r#".BI -d " dir" ", --services-dir " dir"#
    );
    assert!(has_word("see --pin.", "--pin") && !has_word("--pinned", "--pin"));
}
