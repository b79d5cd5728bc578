//! The base service set of `distro/dinit.d` and its helper scripts in `distro/scripts`: it checks
//! clean with our `dinit-check` (but for the programs the build machine lacks), every service the set should have is there, the scripts it names
//! exist and parse, `dinitctl enable sshd` works on it, and the packages' maintainer scripts
//! enable the same login prompts as the set's `boot.d`.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{output_of, Out, DINITCTL, DINIT_CHECK};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every service description of the set (boot.d holds links, not descriptions).
const SERVICES: &[&str] = &[
    "boot",
    "system",
    "early-filesystems",
    "udevd",
    "udev-trigger",
    "udev-settle",
    "modules",
    "rootfscheck",
    "root-rw",
    "filesystems",
    "swap",
    "hostname",
    "syslog",
    "network",
    "getty",
    "serial-getty",
    "recovery",
    "sshd",
];

/// What `boot` brings up, directly or not (the gettys through boot.d).
const BOOT_CLOSURE: &[&str] = &[
    "boot",
    "system",
    "network",
    "getty@tty1",
    "getty@tty2",
    "getty@tty3",
    "getty@tty4",
    "getty@tty5",
    "getty@tty6",
    "serial-getty@ttyS0",
    "early-filesystems",
    "root-rw",
    "filesystems",
    "udev-settle",
    "modules",
    "hostname",
    "swap",
    "syslog",
    "rootfscheck",
    "udev-trigger",
    "udevd",
];

/// The services enabled in boot.d as shipped.
const ENABLED: &[&str] = &[
    "getty@tty1",
    "getty@tty2",
    "getty@tty3",
    "getty@tty4",
    "getty@tty5",
    "getty@tty6",
    "serial-getty@ttyS0",
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn services_dir() -> PathBuf {
    workspace().join("distro/dinit.d")
}

/// Runs dinit-check with `args` and no environment file.
fn check(args: &[&str]) -> Out {
    output_of(Command::new(DINIT_CHECK).args(args))
}

fn checked(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("Checking service: "))
        .map(|l| l.trim_end_matches("...").to_owned())
        .collect()
}

/// The programs the set runs that other packages install (the helper scripts of
/// `/usr/libexec/dinit-rs` are ours: they are checked against `distro/scripts`).
const OTHER_PACKAGES: &[&str] = &[
    "/bin/hostname",
    "/bin/mount",
    "/bin/sh",
    "/bin/udevadm",
    "/lib/systemd/systemd-udevd",
    "/sbin/agetty",
    "/sbin/sulogin",
    "/sbin/swapon",
    "/usr/sbin/rsyslogd",
];

/// Clean, but for the programs this machine does not have: dinit-check warns about every
/// command it cannot find (as Dinit's does), and a build machine has not installed the set's
/// scripts nor, perhaps, every program it runs. Any other line fails the test.
fn assert_clean(c: &Out) {
    let mut absent = 0;
    for line in c.stderr.lines() {
        if line == "Secondary checks complete." {
            continue;
        }
        let program = line
            .split_once(" command executable '")
            .filter(|(head, _)| head.contains(": warning: could not stat"))
            .and_then(|(_, rest)| rest.strip_suffix("': No such file or directory"));
        let Some(program) = program else {
            panic!("dinit-check reported: {line}\n{}", c.stderr);
        };
        assert!(!Path::new(program).exists(), "{line}");
        match program.strip_prefix("/usr/libexec/dinit-rs/") {
            Some(script) => assert!(
                workspace().join("distro/scripts").join(script).is_file(),
                "{line}: no such script in distro/scripts"
            ),
            None => assert!(OTHER_PACKAGES.contains(&program), "{line}"),
        }
        absent += 1;
    }
    assert!(
        c.stderr.ends_with("Secondary checks complete.\n"),
        "{}",
        c.stderr
    );
    let verdict = if absent == 0 {
        (0, "Performing secondary checks...\nNo problems found.\n")
    } else {
        (
            1,
            "Performing secondary checks...\nOne or more errors/warnings issued.\n",
        )
    };
    assert_eq!(c.code, verdict.0, "{}", c.stderr);
    assert!(c.stdout.ends_with(verdict.1), "{}", c.stdout);
}

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    harness::fresh_dir(&format!("distro-{name}"))
}

/// Copies a directory tree, keeping symbolic links as links.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path()).unwrap(), target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_boot_service_and_all_it_starts_check_clean() {
    let dir = services_dir();
    let c = check(&["-d", dir.to_str().unwrap()]);
    assert_clean(&c);
    let want: BTreeSet<String> = BOOT_CLOSURE.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(checked(&c.stdout), want, "{}", c.stdout);
}

#[test]
fn the_services_outside_boot_check_clean() {
    let dir = services_dir();
    let c = check(&["-d", dir.to_str().unwrap(), "recovery", "sshd"]);
    assert_clean(&c);
    let names = checked(&c.stdout);
    assert!(
        names.contains("recovery") && names.contains("sshd"),
        "{}",
        c.stdout
    );
}

#[test]
fn the_default_environment_file_is_accepted() {
    let dir = services_dir();
    let env = workspace().join("distro/environment");
    assert_clean(&check(&[
        "-d",
        dir.to_str().unwrap(),
        "-e",
        env.to_str().unwrap(),
    ]));
}

#[test]
fn every_service_of_the_set_is_present_and_nothing_else() {
    let dir = services_dir();
    let mut found = BTreeSet::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            found.insert(entry.file_name().into_string().unwrap());
        }
    }
    let want: BTreeSet<String> = SERVICES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        found, want,
        "distro/dinit.d differs from the list in tests/distro.rs"
    );
    for name in SERVICES {
        let text = fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            text.starts_with('#'),
            "{name}: each service starts with a comment saying what it is"
        );
    }
}

#[test]
fn boot_d_enables_the_login_prompts() {
    let dir = services_dir().join("boot.d");
    let mut found = BTreeSet::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let link = fs::read_link(entry.path()).unwrap();
        let base = name.split('@').next().unwrap();
        assert_eq!(link, Path::new("..").join(base), "boot.d/{name}");
        found.insert(name);
    }
    let want: BTreeSet<String> = ENABLED.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(found, want);
}

/// The maintainer scripts make the links of boot.d on first installation (the packages do not
/// ship them, so that `dinitctl disable` lasts); their lists must match boot.d.
#[test]
fn the_packages_enable_what_boot_d_enables() {
    let root = workspace();
    for script in [
        "packaging/debian/dinit-rs/postinst",
        "packaging/rpm/dinit-rs.spec",
    ] {
        let text = fs::read_to_string(root.join(script)).unwrap();
        let start = text
            .find("for name in ")
            .unwrap_or_else(|| panic!("{script}: no 'for name in' list"));
        let list = &text[start + "for name in ".len()..];
        let list = &list[..list.find("; do").unwrap()];
        let names: BTreeSet<String> = list
            .split_whitespace()
            .filter(|w| *w != "\\")
            .map(str::to_owned)
            .collect();
        let want: BTreeSet<String> = ENABLED.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(names, want, "{script}");
    }
}

#[test]
fn the_options_that_matter_at_boot_are_where_they_belong() {
    let dir = services_dir();
    let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap();
    assert!(read("root-rw").contains("options: starts-rwfs"));
    assert!(read("syslog").contains("options: starts-log"));
    assert!(read("recovery").contains("options: runs-on-console"));
    assert!(read("rootfscheck").contains("options: starts-on-console"));
    assert!(read("sshd").contains("@meta enable-via boot"));
    assert!(read("boot").contains("waits-for.d: boot.d"));
    assert!(read("getty").contains("$1"));
    assert!(read("serial-getty").contains("$1"));
}

/// Every helper a service names is in distro/scripts (installed as /usr/libexec/dinit-rs), is
/// executable, and parses as a POSIX shell script; no script is unused.
#[test]
fn helper_scripts_exist_parse_and_are_used() {
    const PREFIX: &str = "/usr/libexec/dinit-rs/";
    let dir = services_dir();
    let scripts = workspace().join("distro/scripts");
    let mut named = BTreeSet::new();
    for name in SERVICES {
        for line in fs::read_to_string(dir.join(name)).unwrap().lines() {
            if let Some(pos) = line.find(PREFIX) {
                let rest = &line[pos + PREFIX.len()..];
                let script = rest.split_whitespace().next().unwrap();
                named.insert(script.to_owned());
            }
        }
    }
    let mut present = BTreeSet::new();
    for entry in fs::read_dir(&scripts).unwrap() {
        present.insert(entry.unwrap().file_name().into_string().unwrap());
    }
    assert_eq!(
        named, present,
        "scripts named by services vs distro/scripts"
    );
    for script in &present {
        let path = scripts.join(script);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{script} is not executable");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"), "{script}: not a sh script");
        let out = Command::new("sh").arg("-n").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `dinitctl enable sshd` (offline, on a copy of the set) links it into boot.d, as its
/// `@meta enable-via boot` says, and the set still checks clean; `disable` undoes it.
#[test]
fn dinitctl_enable_and_disable_sshd() {
    let tmp = scratch("enable");
    let dir = tmp.join("dinit.d");
    copy_tree(&services_dir(), &dir);
    let ctl = |args: &[&str]| {
        let out = output_of(
            Command::new(DINITCTL)
                .args(["--offline", "-d", dir.to_str().unwrap()])
                .args(args),
        );
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout
    };
    assert_eq!(
        ctl(&["enable", "sshd"]),
        "Service 'sshd' has been enabled.\n"
    );
    assert_eq!(
        fs::read_link(dir.join("boot.d/sshd")).unwrap(),
        Path::new("../sshd")
    );
    let c = check(&["-d", dir.to_str().unwrap()]);
    assert_clean(&c);
    assert!(checked(&c.stdout).contains("sshd"), "{}", c.stdout);
    assert_eq!(
        ctl(&["disable", "getty@tty6"]),
        "Service 'getty@tty6' has been disabled.\n"
    );
    assert!(!dir.join("boot.d/getty@tty6").exists());
    fs::remove_dir_all(&tmp).unwrap();
}
