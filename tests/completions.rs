//! The shell completions of `distro/completions`, run in the shells themselves: `dinitctl st`
//! completes to `start`, `status` and `stop`; every command of `dinitctl --help` is offered;
//! and where a service is expected, the names come from a running `dinit` (a user instance on
//! a temporary socket, found through the `-p` given on the command line).
//!
//! bash is required. zsh and fish are used when installed and skipped with a message
//! otherwise (Debian: `apt-get install zsh fish`). Built as an integration test of
//! dinit-hosted (see hosted/Cargo.toml) so that the binaries are at hand.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{Instance, Launch, TestDir, DINITCTL};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn completions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../distro/completions")
}

fn script(name: &str) -> PathBuf {
    let p = completions_dir().join(name);
    assert!(p.is_file(), "missing {}", p.display());
    p
}

/// `PATH` with the directory of our `dinitctl` first, so that the completions run it.
fn path_with_dinitctl() -> OsString {
    let bin = Path::new(DINITCTL).parent().unwrap();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

fn shell_available(shell: &str) -> bool {
    Command::new(shell)
        .args(["-c", "exit 0"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The commands listed by `dinitctl --help`.
fn dinitctl_commands() -> BTreeSet<String> {
    let out = Command::new(DINITCTL).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let commands: BTreeSet<String> = help
        .lines()
        .filter_map(|l| l.trim().strip_prefix("dinitctl [options] "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert!(commands.len() >= 20, "{commands:?}");
    commands
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// The services the daemon loads: `boot` needs the other two.
const SERVICES: &[&str] = &["alpha-svc", "beta-svc", "boot"];

/// A user instance of `dinit` with the [`SERVICES`] loaded.
fn daemon() -> Instance {
    Launch::new(
        "completion",
        &[
            (
                "boot",
                "type = internal\ndepends-on: alpha-svc\nwaits-for: beta-svc\n",
            ),
            ("alpha-svc", "type = internal\n"),
            ("beta-svc", "type = internal\n"),
        ],
    )
    .start()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

// ---------------------------------------------------------------------------------------------
// bash

/// What the bash completion offers for the words of a command line (the last one being
/// completed).
fn bash_complete(words: &[&str]) -> BTreeSet<String> {
    let program = format!(
        "source {}\nCOMP_WORDS=(\"$@\")\nCOMP_CWORD=$(($# - 1))\n_dinitctl\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script("dinitctl.bash").display()
    );
    let out = run(Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program, "bash"])
        .args(words)
        .env("PATH", path_with_dinitctl()));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completion() {
    assert!(
        shell_available("bash"),
        "bash is needed to test the bash completion"
    );
    run(Command::new("bash").arg("-n").arg(script("dinitctl.bash")));
    assert_eq!(
        bash_complete(&["dinitctl", "st"]),
        set(&["start", "status", "stop"])
    );
    assert_eq!(bash_complete(&["dinitctl", ""]), dinitctl_commands());
    assert_eq!(
        bash_complete(&["dinitctl", "--quiet", "add-dep", ""]),
        set(&["need", "milestone", "waits-for", "regular"])
    );
    assert!(bash_complete(&["dinitctl", "stop", "--f"]).contains("--force"));
    // No daemon behind the socket: no names, and no hang.
    let nowhere = TestDir::new("no-daemon");
    let sock = nowhere.path.join("sock");
    assert!(bash_complete(&["dinitctl", "-p", sock.to_str().unwrap(), "start", ""]).is_empty());

    let daemon = daemon();
    assert_eq!(
        bash_complete(&["dinitctl", "-p", daemon.sock_str(), "start", ""]),
        set(SERVICES)
    );
    assert_eq!(
        bash_complete(&["dinitctl", "stop", "-p", daemon.sock_str(), "al"]),
        set(&["alpha-svc"])
    );
    assert_eq!(
        bash_complete(&["dinitctl", "-p", daemon.sock_str(), "signal", "HUP", "b"]),
        set(&["beta-svc", "boot"])
    );
    assert!(bash_complete(&["dinitctl", "-p", daemon.sock_str(), "status", "boot", ""]).is_empty());
}

// ---------------------------------------------------------------------------------------------
// fish

/// What the fish completion offers for a command line: the first column of `complete -C`.
fn fish_complete(home: &Path, line: &str) -> BTreeSet<String> {
    let program = format!(
        "source {}; complete -C {}",
        script("dinitctl.fish").display(),
        fish_quote(line)
    );
    let out = run(Command::new("fish")
        .args(["--no-config", "-c", &program])
        .env("PATH", path_with_dinitctl())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data")));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[test]
fn fish_completion() {
    if !shell_available("fish") {
        println!("skipping the fish completion test: fish is not installed (apt-get install fish)");
        return;
    }
    run(Command::new("fish").arg("-n").arg(script("dinitctl.fish")));
    let home_dir = TestDir::new("fish-home");
    let home = home_dir.path.as_path();
    assert_eq!(
        fish_complete(home, "dinitctl st"),
        set(&["start", "status", "stop"])
    );
    assert_eq!(fish_complete(home, "dinitctl "), dinitctl_commands());
    assert!(fish_complete(home, "dinitctl stop --f").contains("--force"));
    let daemon = daemon();
    assert_eq!(
        fish_complete(home, &format!("dinitctl -p {} start ", daemon.sock_str())),
        set(SERVICES)
    );
    assert_eq!(
        fish_complete(
            home,
            &format!("dinitctl -p {} add-dep need boot al", daemon.sock_str())
        ),
        set(&["alpha-svc"])
    );
}

// ---------------------------------------------------------------------------------------------
// zsh

/// Types `line` followed by a Tab into an interactive zsh (through zpty) that has our
/// completion on its fpath, waits for the list headed `<heading>`, and returns what the
/// terminal showed. `None` if zpty is missing.
fn zsh_complete(home: &Path, line: &str, heading: &str) -> Option<String> {
    let driver = home.join("driver.zsh");
    std::fs::write(
        &driver,
        r#"zmodload zsh/zpty 2>/dev/null || { print -r -- NO-ZPTY; exit 0 }
zpty z zsh -f -i
zpty -w z "PS1='%% '; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D; zstyle ':completion:*' list-colors ''; zstyle ':completion:*:descriptions' format '<%d>'"
zpty -w -n z "$2"$'\t'
local out chunk
integer deadline=$(( SECONDS + 10 ))
while (( SECONDS < deadline )); do
  zpty -r -t z chunk && out+=$chunk || sleep 0.1
  [[ $out == *"$3"* ]] && break
done
sleep 0.3
while zpty -r -t z chunk; do out+=$chunk; done
zpty -d z
print -r -- $out
"#,
    )
    .unwrap();
    let out = run(Command::new("zsh")
        .arg("-f")
        .arg(&driver)
        .arg(completions_dir())
        .arg(line)
        .arg(format!("<{heading}>"))
        .env("PATH", path_with_dinitctl())
        .env("HOME", home));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.trim() == "NO-ZPTY" {
        return None;
    }
    Some(text)
}

#[test]
fn zsh_completion() {
    if !shell_available("zsh") {
        println!("skipping the zsh completion test: zsh is not installed (apt-get install zsh)");
        return;
    }
    run(Command::new("zsh").arg("-n").arg(script("_dinitctl")));
    let text = std::fs::read_to_string(script("_dinitctl")).unwrap();
    for command in dinitctl_commands() {
        assert!(
            text.contains(&format!("'{command}:")),
            "_dinitctl does not offer the command {command}"
        );
    }
    let home_dir = TestDir::new("zsh-home");
    let home = home_dir.path.as_path();
    let Some(shown) = zsh_complete(home, "dinitctl st", "dinitctl command") else {
        println!("skipping the interactive zsh checks: the zsh/zpty module is missing");
        return;
    };
    for description in [
        "start a service and activate it explicitly",
        "show the status of a service",
        "stop a service and remove its explicit activation",
    ] {
        assert!(shown.contains(description), "zsh offered:\n{shown}");
    }
    assert!(
        !shown.contains("stop a service and start it again"),
        "zsh offered restart for 'st':\n{shown}"
    );
    let daemon = daemon();
    let shown = zsh_complete(
        home,
        &format!("dinitctl -p {} start ", daemon.sock_str()),
        "service",
    )
    .unwrap();
    for service in SERVICES {
        assert!(
            shown.contains(service),
            "zsh did not offer {service}:\n{shown}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// All three

#[test]
fn every_script_knows_every_long_option_of_dinitctl() {
    let out = Command::new(DINITCTL).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    // Each `--name` that begins a word (or follows `[`).
    let options: BTreeSet<String> = help
        .split(|c: char| c.is_whitespace() || c == '[')
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| {
            let name: String = w
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            format!("--{name}")
        })
        .filter(|o| o.len() > 3)
        .collect();
    assert!(options.contains("--socket-path"), "{options:?}");
    for (name, spelling) in [
        ("dinitctl.bash", "--{}"),
        ("_dinitctl", "--{}"),
        ("dinitctl.fish", "-l {}"),
    ] {
        let text = std::fs::read_to_string(script(name)).unwrap();
        for option in &options {
            let written = spelling.replace("{}", &option[2..]);
            assert!(text.contains(&written), "{name} does not offer {option}");
        }
    }
}
