//! `dinit-box` runs the program it is called as: through a link of each name, it prints
//! exactly what the separate program prints, and exits with the same status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::TestDir;
use std::path::Path;
use std::process::{Command, Output};

const BOX: &str = env!("CARGO_BIN_EXE_dinit-box");

/// A directory with a link to dinit-box for each name it answers to.
fn links() -> TestDir {
    let links = TestDir::new("multicall");
    let dir = &links.path;
    let out = Command::new(BOX).arg("--list").output().unwrap();
    assert!(out.status.success());
    for name in String::from_utf8(out.stdout).unwrap().lines() {
        std::os::unix::fs::symlink(BOX, dir.join(name)).unwrap();
    }
    links
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap()
}

#[test]
fn each_name_runs_its_program() {
    let links = links();
    let dir = &links.path;
    let cases: &[(&str, &str, &[&str])] = &[
        ("dinit", env!("CARGO_BIN_EXE_dinit"), &["--version"]),
        ("dinit", env!("CARGO_BIN_EXE_dinit"), &["--no-such-option"]),
        ("dinitctl", env!("CARGO_BIN_EXE_dinitctl"), &["--version"]),
        ("dinitctl", env!("CARGO_BIN_EXE_dinitctl"), &["frobnicate"]),
        (
            "dinit-check",
            env!("CARGO_BIN_EXE_dinit-check"),
            &["--help"],
        ),
        (
            "dinit-monitor",
            env!("CARGO_BIN_EXE_dinit-monitor"),
            &["--help"],
        ),
        (
            "dinit-shutdown",
            env!("CARGO_BIN_EXE_dinit-shutdown"),
            &["--help"],
        ),
    ];
    for (name, separate, args) in cases {
        let via_box = run(&dir.join(name), args);
        let alone = run(Path::new(separate), args);
        assert_eq!(
            via_box.status.code(),
            alone.status.code(),
            "{name} {args:?}"
        );
        assert_eq!(via_box.stdout, alone.stdout, "{name} {args:?}");
        assert_eq!(via_box.stderr, alone.stderr, "{name} {args:?}");
        assert!(!via_box.stdout.is_empty() || !via_box.stderr.is_empty());
    }
    // The shutdown program takes its default action from the name it is called as.
    let halt = run(&dir.join("halt"), &["--help"]);
    let shutdown = run(&dir.join("shutdown"), &["--help"]);
    assert_eq!(halt.status.code(), shutdown.status.code());
}

#[test]
fn an_unknown_name_is_refused() {
    let out = run(Path::new(BOX), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("called as 'dinit-box'"), "{text}");
    assert!(out.stdout.is_empty());
}
