//! `dinit-check` on fixture directories (tests/fixtures/check/): exact output and exit status.
//! Built as an integration test of dinit-hosted (see hosted/Cargo.toml) so that the binary is
//! at hand.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/check")
}

/// Runs dinit-check with `args`, returning (output with the fixture path replaced by `<dir>`,
/// exit status).
fn check(args: &[&str]) -> (String, i32) {
    let root = fixtures().canonicalize().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dinit-check"))
        .args(
            args.iter()
                .map(|a| a.replace("<dir>", root.to_str().unwrap())),
        )
        .env("HOME", "/home/tester")
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .replace(root.to_str().unwrap(), "<dir>");
    (text, out.status.code().unwrap())
}

#[test]
fn a_realistic_base_system_checks_clean() {
    let (out, status) = check(&["-d", "<dir>/base"]);
    assert_eq!(status, 0, "{out}");
    assert!(out.ends_with("No problems found.\n"), "{out}");
    for svc in [
        "boot",
        "system",
        "getty@tty1",
        "sshd",
        "logged",
        "root-rw",
        "rootfscheck",
        "udevd",
        "udev-trigger",
        "udev-settle",
        "early-filesystems",
        "hostname",
        "syslog",
        "network",
    ] {
        assert!(
            out.contains(&format!("Checking service: {svc}...\n")),
            "{svc} not checked:\n{out}"
        );
    }
    assert!(!out.contains("Error") && !out.contains("Warning"), "{out}");
}

#[test]
fn errors_name_the_service_file_and_line() {
    let (out, status) = check(&["-d", "<dir>/broken"]);
    assert_eq!(status, 1);
    assert_eq!(
        out,
        "\
Checking service: boot...
Checking service: bad-setting...
Error: service 'bad-setting': <dir>/broken/bad-setting, line 4: unknown setting 'comand'
Checking service: bad-value...
Error: service 'bad-value': <dir>/broken/bad-value, line 2: invalid value 'sometimes' for 'restart': expected yes, true, on-failure, no or false
Error: service 'bad-value': <dir>/broken/bad-value, line 3: invalid value 'soon' for 'stop-timeout': expected a number of seconds such as 10 or 0.25
Checking service: no-command...
Error: service 'no-command': <dir>/broken/no-command: a scripted service needs a 'command'
One or more errors found (4 errors, 0 warnings).
"
    );
}

#[test]
fn cycles_are_reported() {
    let (out, status) = check(&["-d", "<dir>/cyclic"]);
    assert_eq!(status, 1);
    assert_eq!(
        out,
        "\
Checking service: boot...
Checking service: a...
Checking service: b...
Checking service: c...
Error: dependency cycle: c -> a -> b -> c
One or more errors found (1 error, 0 warnings).
"
    );
}

#[test]
fn missing_dependencies_name_who_needs_them() {
    let (out, status) = check(&["-d", "<dir>/missing"]);
    assert_eq!(status, 1);
    assert!(
        out.contains(
            "Error: service 'absent': service description not found (needed by 'present')\n"
        ),
        "{out}"
    );
}

#[test]
fn includes_and_dependency_directories() {
    let (out, status) = check(&["-d", "<dir>/includes"]);
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "\
Checking service: boot...
Warning: service 'boot': no description for 'ghost' named in a dependency directory; ignored
Checking service: helper...
Checking service: one...
No errors found (1 warning).
"
    );
}

#[test]
fn service_arguments_and_substitution_warnings() {
    let (out, status) = check(&["-d", "<dir>/args"]);
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "\
Checking service: boot...
Checking service: worker@1...
Warning: service 'worker@1': 'command' depends on environment variables; dinit substitutes them from its own environment, which may differ
Checking service: worker@2...
Warning: service 'worker@2': 'command' depends on environment variables; dinit substitutes them from its own environment, which may differ
No errors found (2 warnings).
"
    );
}

#[test]
fn named_services_and_command_line_errors() {
    let (out, status) = check(&["-d", "<dir>/base", "hostname", "nonexistent"]);
    assert_eq!(status, 1);
    assert_eq!(
        out,
        "\
Checking service: hostname...
Checking service: nonexistent...
Error: service 'nonexistent': service description not found
Checking service: early-filesystems...
One or more errors found (1 error, 0 warnings).
"
    );
    let (out, status) = check(&["--bogus"]);
    assert_eq!(status, 1);
    assert_eq!(
        out,
        "dinit-check: unrecognized option: --bogus\nTry 'dinit-check --help' for more information.\n"
    );
    let (out, status) = check(&["--help"]);
    assert_eq!(status, 0);
    assert!(out.starts_with("dinit-check: check dinit service descriptions\n"));
}

#[test]
fn online_mode_asks_the_running_daemon() {
    // dinit-check(8) --online: the directories and environment come from the running dinit,
    // so substitutions need no warning; -d is ignored.
    let tmp = std::env::temp_dir().join(format!("dinit-rs-check-online-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("sd")).unwrap();
    std::fs::write(
        tmp.join("sd/keeper"),
        "type = process\ncommand = /bin/sleep 1000\n",
    )
    .unwrap();
    let sock = tmp.join("sock");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_dinit"))
        .args(["-u", "-q", "-d"])
        .arg(tmp.join("sd"))
        .arg("-d")
        .arg(fixtures().join("args"))
        .arg("-p")
        .arg(&sock)
        .arg("-l")
        .arg(tmp.join("log"))
        .arg("keeper")
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sock_arg = sock.to_str().unwrap();
    let (out, status) = check(&["-n", "-p", sock_arg, "-d", "/nonexistent"]);
    assert_eq!(
        (out.as_str(), status),
        (
            "Checking service: boot...\nChecking service: worker@1...\nChecking service: worker@2...\nNo problems found.\n",
            0
        )
    );
    let (out, status) = check(&["--online", "--socket-path", sock_arg, "keeper", "nope"]);
    assert_eq!(status, 1);
    assert!(
        out.contains("Error: service 'nope': service description not found"),
        "{out}"
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
    let (out, status) = check(&["-n", "-p", "/nonexistent/sock"]);
    assert_eq!(status, 1);
    assert_eq!(
        out,
        "dinit-check: connecting to socket: /nonexistent/sock: No such file or directory\n"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
