//! `dinit-check` on fixture directories (tests/fixtures/check/): exact standard output, standard
//! error and exit status (Dinit's, as the differential corpus of tests/compat/check/ shows).
//! Built as an integration test of dinit-hosted (see hosted/Cargo.toml) so that the binary is
//! at hand.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{run_program, Launch, Out, DINIT_CHECK};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/check")
}

/// Runs dinit-check with `args` in a fixed environment; what it printed has the fixture path
/// replaced by `<dir>`.
fn check(args: &[&str]) -> Out {
    let root = fixtures().canonicalize().unwrap();
    let root = root.to_str().unwrap();
    let args: Vec<String> = args.iter().map(|a| a.replace("<dir>", root)).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_program(DINIT_CHECK, &args, &[("HOME", "/home/tester")]);
    Out {
        stdout: out.stdout.replace(root, "<dir>"),
        stderr: out.stderr.replace(root, "<dir>"),
        code: out.code,
    }
}

fn run(stdout: &str, stderr: &str, code: i32) -> Out {
    Out {
        stdout: stdout.into(),
        stderr: stderr.into(),
        code,
    }
}

/// The verdict lines for a check that found nothing, and for one that found problems.
const CLEAN: &str = "Performing secondary checks...\nNo problems found.\n";
const PROBLEMS: &str = "Performing secondary checks...\nOne or more errors/warnings issued.\n";
const COMPLETE: &str = "Secondary checks complete.\n";

#[test]
fn a_realistic_base_system_checks_clean() {
    let checked = "\
Checking service: boot...
Checking service: system...
Checking service: getty@tty1...
Checking service: sshd...
Checking service: logged...
Checking service: root-rw...
Checking service: udev-settle...
Checking service: hostname...
Checking service: syslog...
Checking service: network...
Checking service: rootfscheck...
Checking service: udev-trigger...
Checking service: early-filesystems...
Checking service: udevd...
";
    assert_eq!(
        check(&["-d", "<dir>/base"]),
        run(&format!("{checked}{CLEAN}"), COMPLETE, 0)
    );
}

#[test]
fn errors_name_the_service_file_and_line() {
    assert_eq!(
        check(&["-d", "<dir>/broken"]),
        run(
            &format!(
                "\
Checking service: boot...
Checking service: bad-setting...
Checking service: bad-value...
Checking service: no-command...
{PROBLEMS}"
            ),
            &format!(
                "\
Service 'bad-setting' (<dir>/broken/bad-setting:4): unknown setting: 'comand'.
Service 'bad-value' (<dir>/broken/bad-value:2): restart must be one of: \"yes\", \"true\", \"no\", \"false\" or \"on-failure\"
Service 'bad-value' (<dir>/broken/bad-value:3): bad value for stop-timeout
Service 'no-command': 'command' setting not specified.
{COMPLETE}"
            ),
            1
        )
    );
}

#[test]
fn cycles_are_reported() {
    assert_eq!(
        check(&["-d", "<dir>/cyclic"]),
        run(
            &format!(
                "\
Checking service: boot...
Checking service: a...
Checking service: b...
Checking service: c...
{PROBLEMS}"
            ),
            &format!(
                "\
Found dependency cycle:
    a ->
    b ->
    c ->
    a.
{COMPLETE}"
            ),
            1
        )
    );
}

#[test]
fn missing_dependencies_are_checked_in_turn() {
    assert_eq!(
        check(&["-d", "<dir>/missing"]),
        run(
            &format!(
                "\
Checking service: boot...
Checking service: present...
Checking service: absent...
{PROBLEMS}"
            ),
            &format!("Unable to load service 'absent': service description not found.\n{COMPLETE}"),
            1
        )
    );
}

#[test]
fn includes_and_dependency_directories() {
    // A name in a .d directory is a dependency like any other (dinit ignores one without a
    // description; dinit-check reports it).
    assert_eq!(
        check(&["-d", "<dir>/includes"]),
        run(
            &format!(
                "\
Checking service: boot...
Checking service: helper...
Checking service: one...
Checking service: ghost...
{PROBLEMS}"
            ),
            &format!("Unable to load service 'ghost': service description not found.\n{COMPLETE}"),
            1
        )
    );
}

#[test]
fn service_arguments_and_substitution_warnings() {
    // One warning per service that substitutes an environment variable; it does not fail
    // the check.
    let warning = "dinit-check: warning: variable substitution performed by dinit-check for \
                   file paths may not match dinit daemon (environment may differ); use --online \
                   to avoid this warning\n";
    assert_eq!(
        check(&["-d", "<dir>/args"]),
        run(
            &format!(
                "\
Checking service: boot...
Checking service: worker@1...
Checking service: worker@2...
{CLEAN}"
            ),
            &format!("{warning}{warning}{COMPLETE}"),
            0
        )
    );
}

#[test]
fn named_services_and_command_line_errors() {
    assert_eq!(
        check(&["-d", "<dir>/base", "hostname", "nonexistent"]),
        run(
            &format!(
                "\
Checking service: hostname...
Checking service: nonexistent...
Checking service: early-filesystems...
{PROBLEMS}"
            ),
            &format!(
                "Unable to load service 'nonexistent': service description not found.\n{COMPLETE}"
            ),
            1
        )
    );
    assert_eq!(
        check(&["--bogus"]),
        run(
            "",
            "dinit-check: unrecognized option: '--bogus' (use '--help' for help)\n",
            1
        )
    );
    assert_eq!(
        check(&["-d"]),
        run(
            "",
            "dinit-check: '--services-dir' (-d) requires an argument\n",
            1
        )
    );
    let help = check(&["--help"]);
    assert_eq!((help.stderr.as_str(), help.code), ("", 0));
    assert!(help
        .stdout
        .starts_with("dinit-check: check dinit service descriptions\n"));
}

#[test]
fn online_mode_asks_the_running_daemon() {
    // dinit-check(8) --online: the directories and environment come from the running dinit,
    // so substitutions need no warning; -d is ignored.
    let tmp = harness::temp_dir("check-online");
    harness::write_services(
        &tmp,
        &[("keeper", "type = process\ncommand = /bin/sleep 1000\n")],
    );
    let fixture_args = fixtures().join("args");
    let mut daemon = Launch::in_dir(tmp)
        .args(&["-q", "-d", fixture_args.to_str().unwrap(), "keeper"])
        .start();
    let sock = daemon.sock.clone();
    let sock_arg = sock.to_str().unwrap();
    // No warning about substitution: the environment is the daemon's.
    assert_eq!(
        check(&["-n", "-p", sock_arg, "-d", "/nonexistent"]),
        run(
            &format!(
                "Checking service: boot...\nChecking service: worker@1...\n\
                 Checking service: worker@2...\n{CLEAN}"
            ),
            COMPLETE,
            0
        )
    );
    assert_eq!(
        check(&["--online", "--socket-path", sock_arg, "keeper", "nope"]),
        run(
            &format!("Checking service: keeper...\nChecking service: nope...\n{PROBLEMS}"),
            &format!("Unable to load service 'nope': service description not found.\n{COMPLETE}"),
            1
        )
    );
    daemon.stop();
    assert_eq!(
        check(&["-n", "-p", "/nonexistent/sock"]),
        run(
            "",
            "dinit-check: connecting to socket /nonexistent/sock: No such file or directory\n",
            1
        )
    );
}
