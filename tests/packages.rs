//! The .deb and .rpm packages (packaging/): built with `packaging/build.sh all`, their contents
//! and metadata checked, linted (lintian, rpmlint), and installed: the .debs into a Debian 12
//! minbase root made with debootstrap (cached in target/pkgtest), the .rpms with `rpm --root`
//! into a copy of the same root. Every test is ignored by default: they need root, cargo-deb,
//! dpkg-deb, lintian, rpmbuild, rpmlint and debootstrap (packaging/README.md). Run them with
//! `just packages-test`, which prints the time each step takes.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// lintian warnings we accept, with the reason (also in packaging/README.md). Errors: none.
const LINTIAN_ACCEPTED: &[(&str, &str)] = &[(
    "initial-upload-closes-no-bugs",
    "not uploaded to Debian, so there is no ITP bug to close",
)];

/// rpmlint errors and warnings we accept, with the reason (also in packaging/README.md).
const RPMLINT_ACCEPTED: &[(&str, &str)] = &[
    ("no-signature", "the packages are not signed here"),
    (
        "requires-on-release",
        "dinit-rs-init requires the exact dinit-rs build, as the .deb does",
    ),
    (
        "dangling-relative-symlink",
        "dinit-rs-init's links point into dinit-rs, which it requires",
    ),
    (
        "dangerous-command-in-%post",
        "%post makes the boot.d links of the default login prompts with ln",
    ),
    (
        "no-manual-page-for-binary",
        "rpmlint 2.4 compares program names with man page sections, never names",
    ),
    (
        "statically-linked-binary",
        "the programs are static on purpose (packaging/README.md, \"Static binaries\")",
    ),
    (
        "position-independent-executable-suggested",
        "fixed-address on purpose: a static PIE relocates its data at start, 16-28 kB of \
         private memory more (packaging/README.md)",
    ),
];

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// Runs `f`, printing how long it took (see with --nocapture).
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    eprintln!("[time] {what}: {:.1} s", start.elapsed().as_secs_f64());
    value
}

/// Runs a command that must succeed; returns its standard output.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a program inside the root `root` (chroot, clean environment); returns its output.
fn chroot(root: &Path, args: &[&str]) -> String {
    run(Command::new("chroot")
        .arg(root)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C"))
}

fn set(items: impl IntoIterator<Item = impl Into<String>>) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

struct Packages {
    deb_main: PathBuf,
    deb_init: PathBuf,
    rpm_main: PathBuf,
    rpm_init: PathBuf,
}

/// Builds the four packages once per test run.
fn packages() -> &'static Packages {
    static BUILT: OnceLock<Packages> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = workspace();
        timed("build .deb and .rpm (packaging/build.sh all)", || {
            run(Command::new(root.join("packaging/build.sh")).arg("all"))
        });
        let arch = run(Command::new("dpkg").arg("--print-architecture"));
        let out = root.join("target/packages");
        let p = Packages {
            deb_main: out.join(format!("dinit-rs_{VERSION}-1_{}.deb", arch.trim())),
            deb_init: out.join(format!("dinit-rs-init_{VERSION}-1_all.deb")),
            rpm_main: out.join(format!(
                "dinit-rs-{VERSION}-1.{}.rpm",
                std::env::consts::ARCH
            )),
            rpm_init: out.join(format!("dinit-rs-init-{VERSION}-1.noarch.rpm")),
        };
        for path in [&p.deb_main, &p.deb_init, &p.rpm_main, &p.rpm_init] {
            assert!(path.is_file(), "{} was not built", path.display());
        }
        p
    })
}

/// The cached Debian 12 minbase root (made by packaging/debian-root.sh on first use).
fn debian_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let path = timed("Debian 12 minbase root (debootstrap, cached)", || {
            run(&mut Command::new(
                workspace().join("packaging/debian-root.sh"),
            ))
        });
        PathBuf::from(path.trim())
    })
}

/// A fresh copy of the Debian root at target/pkgtest/NAME.
fn scratch_root(name: &str) -> PathBuf {
    let base = debian_root();
    let root = workspace().join("target/pkgtest").join(name);
    timed(&format!("copy the Debian root to {name}"), || {
        if root.exists() {
            run(Command::new("rm").arg("-rf").arg(&root));
        }
        run(Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(base)
            .arg(&root));
    });
    root
}

fn names_in(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(workspace().join(dir))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

const BINARIES: &[&str] = &[
    "/usr/sbin/dinit",
    "/usr/sbin/dinit-shutdown",
    "/usr/bin/dinitctl",
    "/usr/bin/dinit-check",
    "/usr/bin/dinit-monitor",
];

const MAN_PAGES: &[&str] = &[
    "/usr/share/man/man8/dinit.8.gz",
    "/usr/share/man/man8/dinitctl.8.gz",
    "/usr/share/man/man8/dinit-check.8.gz",
    "/usr/share/man/man8/dinit-monitor.8.gz",
    "/usr/share/man/man8/dinit-shutdown.8.gz",
    "/usr/share/man/man5/dinit-service.5.gz",
];

const COMPLETIONS: &[&str] = &[
    "/usr/share/bash-completion/completions/dinitctl",
    "/usr/share/zsh/vendor-completions/_dinitctl",
    "/usr/share/fish/vendor_completions.d/dinitctl.fish",
];

/// The links of dinit-rs-init (path, target) in the .deb.
const INIT_LINKS: &[(&str, &str)] = &[
    ("/sbin/init", "/usr/sbin/dinit"),
    ("/sbin/shutdown", "/usr/sbin/dinit-shutdown"),
    ("/sbin/halt", "/usr/sbin/dinit-shutdown"),
    ("/sbin/poweroff", "/usr/sbin/dinit-shutdown"),
    ("/sbin/reboot", "/usr/sbin/dinit-shutdown"),
    ("/sbin/soft-reboot", "/usr/sbin/dinit-shutdown"),
    ("/usr/share/man/man8/init.8.gz", "dinit.8.gz"),
    ("/usr/share/man/man8/shutdown.8.gz", "dinit-shutdown.8.gz"),
    ("/usr/share/man/man8/halt.8.gz", "dinit-shutdown.8.gz"),
    ("/usr/share/man/man8/poweroff.8.gz", "dinit-shutdown.8.gz"),
    ("/usr/share/man/man8/reboot.8.gz", "dinit-shutdown.8.gz"),
    (
        "/usr/share/man/man8/soft-reboot.8.gz",
        "dinit-shutdown.8.gz",
    ),
];

/// The conffiles of dinit-rs: the service set and the environment file.
fn conffiles() -> BTreeSet<String> {
    let mut files = set(names_in("distro/dinit.d")
        .into_iter()
        .map(|n| format!("/etc/dinit.d/{n}")));
    files.insert("/etc/dinit/environment".into());
    files
}

/// Every file and link dinit-rs ships, with its mode (as `ls -l` shows it, links as "l").
fn main_files() -> Vec<(String, &'static str)> {
    let mut files = Vec::new();
    for b in BINARIES {
        files.push(((*b).to_owned(), "-rwxr-xr-x"));
    }
    for f in MAN_PAGES.iter().chain(COMPLETIONS) {
        files.push(((*f).to_owned(), "-rw-r--r--"));
    }
    for f in conffiles() {
        files.push((f, "-rw-r--r--"));
    }
    for s in names_in("distro/scripts") {
        files.push((format!("/usr/libexec/dinit-rs/{s}"), "-rwxr-xr-x"));
    }
    for d in ["copyright", "changelog.Debian.gz"] {
        files.push((format!("/usr/share/doc/dinit-rs/{d}"), "-rw-r--r--"));
    }
    // The programs are static on purpose: lintian's statically-linked-binary, overridden.
    files.push((
        "/usr/share/lintian/overrides/dinit-rs".to_owned(),
        "-rw-r--r--",
    ));
    files.sort();
    files
}

fn init_files() -> Vec<(String, &'static str)> {
    let mut files: Vec<(String, &'static str)> = INIT_LINKS
        .iter()
        .map(|(path, _)| ((*path).to_owned(), "l"))
        .collect();
    for d in ["copyright", "changelog.Debian.gz"] {
        files.push((format!("/usr/share/doc/dinit-rs-init/{d}"), "-rw-r--r--"));
    }
    files.sort();
    files
}

/// `dpkg-deb -c`: (path, mode, owner, link target) of every non-directory entry.
fn deb_entries(deb: &Path) -> Vec<(String, String, String, Option<String>)> {
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(deb));
    let mut entries = Vec::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields[0].starts_with('d') {
            continue;
        }
        let path = fields[5].trim_start_matches('.').to_owned();
        let target = (fields.get(6) == Some(&"->")).then(|| fields[7].to_owned());
        entries.push((path, fields[0].to_owned(), fields[1].to_owned(), target));
    }
    entries.sort();
    entries
}

fn field(deb: &Path, name: &str) -> String {
    run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
        .trim()
        .to_owned()
}

#[test]
#[ignore = "builds the packages; needs cargo-deb and dpkg-deb (just packages-test)"]
fn deb_contents_and_control_fields() {
    let p = packages();
    let main = deb_entries(&p.deb_main);
    let got: Vec<(String, String)> = main
        .iter()
        .map(|(path, mode, _, _)| (path.clone(), mode.clone()))
        .collect();
    let want: Vec<(String, String)> = main_files()
        .into_iter()
        .map(|(path, mode)| (path, mode.to_owned()))
        .collect();
    assert_eq!(got, want, "files and modes of dinit-rs");
    for (path, _, owner, _) in &main {
        assert_eq!(owner, "root/root", "{path}");
    }
    let init = deb_entries(&p.deb_init);
    let got: Vec<(String, String)> = init
        .iter()
        .map(|(path, mode, _, _)| (path.clone(), mode.chars().take(1).collect()))
        .collect();
    let want: Vec<(String, String)> = init_files()
        .into_iter()
        .map(|(path, mode)| (path, mode.chars().take(1).collect()))
        .collect();
    assert_eq!(got, want, "files of dinit-rs-init");
    for (path, target) in INIT_LINKS {
        let entry = init.iter().find(|e| e.0 == *path).unwrap();
        assert_eq!(entry.3.as_deref(), Some(*target), "{path}");
    }

    assert_eq!(field(&p.deb_main, "Package"), "dinit-rs");
    assert_eq!(field(&p.deb_main, "Version"), format!("{VERSION}-1"));
    // Statically linked programs need no library (packaging/README.md, "Static binaries").
    assert_eq!(field(&p.deb_main, "Depends"), "");
    assert_eq!(field(&p.deb_init, "Package"), "dinit-rs-init");
    assert_eq!(field(&p.deb_init, "Architecture"), "all");
    assert_eq!(
        field(&p.deb_init, "Depends"),
        format!("dinit-rs (= {VERSION}-1)")
    );
    for other in ["systemd-sysv", "sysvinit-core", "runit-init"] {
        assert!(field(&p.deb_init, "Conflicts").contains(other));
        assert!(field(&p.deb_init, "Replaces").contains(other));
    }
    assert_ne!(
        field(&p.deb_main, "Description").lines().next(),
        field(&p.deb_init, "Description").lines().next(),
        "each package has its own synopsis"
    );

    let conf = run(Command::new("dpkg-deb")
        .arg("-I")
        .arg(&p.deb_main)
        .arg("conffiles"));
    assert_eq!(set(conf.lines()), conffiles(), "conffiles");
}

#[test]
#[ignore = "builds the packages; needs lintian (just packages-test)"]
fn lintian_reports_no_errors_and_only_accepted_warnings() {
    let p = packages();
    lintian_check(&p.deb_main, &p.deb_init);
}

/// lintian on the two .debs: no error, only the accepted warnings.
fn lintian_check(deb_main: &Path, deb_init: &Path) {
    let out = timed("lintian on both .debs", || {
        Command::new("lintian")
            .args(["--no-cfg", "--fail-on", "none"])
            .arg(deb_main)
            .arg(deb_init)
            .output()
            .expect("lintian not found: apt-get install lintian")
    });
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("lintian:\n{text}");
    assert!(out.status.success(), "{text}");
    for line in text.lines() {
        assert!(!line.starts_with("E:"), "lintian error: {line}");
        if line.starts_with("W:") {
            let tag = line.split_whitespace().nth(2).unwrap();
            assert!(
                LINTIAN_ACCEPTED.iter().any(|(t, _)| *t == tag),
                "lintian warning not accepted: {line}"
            );
        }
    }
}

/// What an RPM-based system calls the path the .deb calls `path` (packaging/rpm/dinit-rs.spec).
fn rpm_path(path: &str) -> Option<String> {
    if path.ends_with("/changelog.Debian.gz") || path.starts_with("/usr/share/lintian/") {
        return None;
    }
    if let Some(rest) = path.strip_prefix("/sbin/") {
        return Some(format!("/usr/sbin/{rest}"));
    }
    if let Some(rest) = path.strip_prefix("/usr/share/zsh/vendor-completions/") {
        return Some(format!("/usr/share/zsh/site-functions/{rest}"));
    }
    if let Some(rest) = path.strip_prefix("/usr/share/doc/") {
        return Some(format!("/usr/share/licenses/{rest}"));
    }
    Some(path.to_owned())
}

fn rpm_query(rpm: &Path, args: &[&str]) -> String {
    run(Command::new("rpm").arg("-qp").args(args).arg(rpm))
}

#[test]
#[ignore = "builds the packages; needs rpmbuild (just packages-test)"]
fn rpm_contents_match_the_debs() {
    let p = packages();
    for (rpm, files, dirs) in [
        (
            &p.rpm_main,
            main_files(),
            &[
                "/etc/dinit",
                "/etc/dinit.d",
                "/usr/libexec/dinit-rs",
                "/usr/share/licenses/dinit-rs",
            ][..],
        ),
        (
            &p.rpm_init,
            init_files(),
            &["/usr/share/licenses/dinit-rs-init"][..],
        ),
    ] {
        let listed = rpm_query(rpm, &["-l"]);
        eprintln!("rpm -qlp {}:\n{listed}", rpm.display());
        let mut want: BTreeSet<String> = files
            .iter()
            .filter_map(|(path, _)| rpm_path(path))
            .collect();
        want.extend(dirs.iter().map(|d| (*d).to_owned()));
        assert_eq!(set(listed.lines()), want, "{}", rpm.display());
    }
    let config = rpm_query(&p.rpm_main, &["--configfiles"]);
    assert_eq!(set(config.lines()), conffiles());
    let requires = rpm_query(&p.rpm_init, &["--requires"]);
    assert!(
        requires.contains(&format!("dinit-rs = {VERSION}-1")),
        "{requires}"
    );
    let conflicts = rpm_query(&p.rpm_init, &["--conflicts"]);
    assert!(conflicts.contains("systemd-sysvinit"), "{conflicts}");
    let dump = rpm_query(&p.rpm_init, &["--qf", "[%{FILENAMES} %{FILELINKTOS}\n]"]);
    assert!(dump.lines().any(|l| l == "/usr/sbin/init dinit"), "{dump}");
}

#[test]
#[ignore = "builds the packages; needs rpmlint (just packages-test)"]
fn rpmlint_reports_only_accepted_problems() {
    let p = packages();
    rpmlint_check(&p.rpm_main, &p.rpm_init);
}

/// rpmlint on the two .rpms: only the accepted problems.
fn rpmlint_check(rpm_main: &Path, rpm_init: &Path) {
    let config = workspace().join("packaging/rpm/rpmlint.toml");
    let out = timed("rpmlint on both .rpms", || {
        Command::new("rpmlint")
            .arg("-c")
            .arg(&config)
            .arg(rpm_main)
            .arg(rpm_init)
            .output()
    });
    let Ok(out) = out else {
        eprintln!("rpmlint is not installed (apt-get install rpmlint): not checked");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("rpmlint:\n{text}");
    let mut problems = 0;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(_pkg), Some(level), Some(tag)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if level == "E:" || level == "W:" {
            problems += 1;
            assert!(
                RPMLINT_ACCEPTED.iter().any(|(t, _)| *t == tag),
                "rpmlint problem not accepted: {line}"
            );
        }
    }
    assert!(
        text.contains("2 packages and 0 specfiles checked"),
        "{text}"
    );
    eprintln!("rpmlint: {problems} accepted problems");
}

/// The packages of a cross build (`packaging/build.sh all TARGET`, in target/packages/ARCH):
/// their architecture in the metadata, programs for that machine (file(1) says `machine`),
/// lintian and rpmlint as clean as the host's, and `dinit --version` under qemu-user.
fn check_cross_packages(target: &str, debarch: &str, rpmarch: &str, machine: &str, qemu: &str) {
    let root = workspace();
    timed(
        &format!("cross packages for {target} (packaging/build.sh all {target})"),
        || run(Command::new(root.join("packaging/build.sh")).args(["all", target])),
    );
    let out = root.join("target/packages").join(debarch);
    let deb_main = out.join(format!("dinit-rs_{VERSION}-1_{debarch}.deb"));
    let deb_init = out.join(format!("dinit-rs-init_{VERSION}-1_all.deb"));
    let rpm_main = out.join(format!("dinit-rs-{VERSION}-1.{rpmarch}.rpm"));
    let rpm_init = out.join(format!("dinit-rs-init-{VERSION}-1.noarch.rpm"));
    assert_eq!(field(&deb_main, "Architecture"), debarch);
    assert_eq!(field(&deb_init, "Architecture"), "all");
    assert_eq!(rpm_query(&rpm_main, &["--qf", "%{ARCH}"]), rpmarch);
    assert_eq!(rpm_query(&rpm_init, &["--qf", "%{ARCH}"]), "noarch");
    // The programs inside are static executables for the package's machine.
    let tree = out.join("payload");
    let _ = fs::remove_dir_all(&tree);
    run(Command::new("dpkg-deb").arg("-x").arg(&deb_main).arg(&tree));
    for program in [
        "usr/sbin/dinit",
        "usr/sbin/dinit-shutdown",
        "usr/bin/dinitctl",
        "usr/bin/dinit-check",
        "usr/bin/dinit-monitor",
    ] {
        let what = run(Command::new("file").arg("-b").arg(tree.join(program)));
        assert!(
            what.contains(machine) && what.contains("statically linked"),
            "{program}: {what}"
        );
    }
    let version = run(Command::new(qemu)
        .arg(tree.join("usr/sbin/dinit"))
        .arg("--version"));
    assert!(version.starts_with("dinit-rs version"), "{version}");
    lintian_check(&deb_main, &deb_init);
    rpmlint_check(&rpm_main, &rpm_init);
}

#[test]
#[ignore = "cross-builds for aarch64 (just packages-cross-test)"]
fn cross_packages_arm64() {
    check_cross_packages(
        "aarch64",
        "arm64",
        "aarch64",
        "ARM aarch64",
        "qemu-aarch64-static",
    );
}

#[test]
#[ignore = "cross-builds for armv7 (just packages-cross-test)"]
fn cross_packages_armhf() {
    check_cross_packages("armv7", "armhf", "armv7hl", "ARM, EABI5", "qemu-arm-static");
}

/// Checks a file's mode and owner in an installed root.
fn assert_mode(root: &Path, path: &str, mode: u32) {
    let meta = fs::symlink_metadata(root.join(path.trim_start_matches('/')))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(meta.is_file(), "{path} is not a file");
    assert_eq!(meta.permissions().mode() & 0o7777, mode, "{path}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid()), (0, 0), "{path}");
}

fn exists(root: &Path, path: &str) -> bool {
    fs::symlink_metadata(root.join(path.trim_start_matches('/'))).is_ok()
}

/// Whether the ELF file at `path` names a program interpreter (is dynamically linked): a
/// `PT_INTERP` entry among its program headers (64-bit, little-endian).
fn has_interpreter(path: &Path) -> bool {
    let elf = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        elf.get(..5),
        Some(&b"\x7fELF\x02"[..]),
        "{}",
        path.display()
    );
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([elf[at], elf[at + 1]]));
    let phoff = usize::try_from(u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap())).unwrap();
    let (entry_size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| {
        let at = phoff + i * entry_size;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

/// `run-as` by name in the installed daemon: a local user with a supplementary group gets its
/// uid, primary group and groups, as `id` reports them for that user. The static daemon reads
/// /etc/passwd and /etc/group itself (no NSS module is loaded; packaging/README.md).
fn run_as_probe(root: &Path) {
    chroot(
        root,
        &[
            "useradd",
            "--system",
            "--no-create-home",
            "--user-group",
            "--groups",
            "adm",
            "dinitrs-probe",
        ],
    );
    let dir = root.join("tmp/run-as");
    fs::create_dir_all(dir.join("sd")).unwrap();
    // The user writes its `id` there.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(
        dir.join("sd/probe"),
        "type = process\ncommand = /bin/sh -c \"id > /tmp/run-as/id\"\n\
         run-as = dinitrs-probe\nrestart = false\n",
    )
    .unwrap();
    // A user instance started with `probe` alone exits once it has stopped.
    timed("run-as by name in the installed dinit", || {
        chroot(
            root,
            &[
                "timeout",
                "30",
                "dinit",
                "-u",
                "-q",
                "-d",
                "/tmp/run-as/sd",
                "-p",
                "/tmp/run-as/sock",
                "probe",
            ],
        )
    });
    let got = fs::read_to_string(dir.join("id")).unwrap();
    let want = chroot(root, &["id", "dinitrs-probe"]);
    assert_eq!(got, want, "run-as = dinitrs-probe");
    assert!(want.contains(",4(adm)"), "{want}");
    chroot(root, &["userdel", "dinitrs-probe"]);
    fs::remove_dir_all(&dir).unwrap();
}

/// The installed system as both package formats leave it: programs, links, service set, the
/// boot.d links of the maintainer scripts, and the programs run.
fn check_installed(root: &Path, init_links: &[(&str, &str)]) {
    for b in BINARIES {
        assert_mode(root, b, 0o755);
        assert!(
            !has_interpreter(&root.join(b.trim_start_matches('/'))),
            "{b} is dynamically linked; the packages carry the static build"
        );
    }
    for f in conffiles() {
        assert_mode(root, &f, 0o644);
    }
    for s in names_in("distro/scripts") {
        assert_mode(root, &format!("/usr/libexec/dinit-rs/{s}"), 0o755);
    }
    for (link, target) in init_links {
        // A relative target is relative to the link's directory.
        let target = Path::new(link).parent().unwrap().join(target);
        let resolved = chroot(root, &["readlink", "-f", link]);
        assert_eq!(Path::new(resolved.trim()), target, "{link}");
    }
    // The login prompts are enabled (made by the postinst / %post).
    let mut enabled = BTreeSet::new();
    for entry in fs::read_dir(root.join("etc/dinit.d/boot.d")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let link = fs::read_link(entry.path()).unwrap();
        assert_eq!(
            link,
            Path::new("..").join(name.split('@').next().unwrap()),
            "{name}"
        );
        enabled.insert(name);
    }
    let shipped: BTreeSet<String> = fs::read_dir(workspace().join("distro/dinit.d/boot.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(enabled, shipped, "boot.d after installation");

    let version = timed("dinit --version in the root", || {
        chroot(root, &["/usr/sbin/dinit", "--version"])
    });
    assert!(
        version.starts_with(&format!("dinit-rs version {VERSION}")),
        "{version}"
    );
    let via_init = chroot(root, &["/sbin/init", "--version"]);
    assert_eq!(via_init, version);
    // The installed set, read as the system instance does (/etc/dinit.d, /etc/dinit/environment).
    // A minbase root has no udev and no rsyslog: dinit-check warns (as Dinit's does) that
    // their programs are missing, and that must be all it says.
    let out = Command::new("chroot")
        .arg(root)
        .arg("dinit-check")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!("{}\n{stdout}{stderr}", out.status);
    assert!(
        stdout.starts_with("Checking service: boot...\n"),
        "{report}"
    );
    assert!(
        stdout.ends_with("Performing secondary checks...\nOne or more errors/warnings issued.\n"),
        "{report}"
    );
    assert_eq!(out.status.code(), Some(1), "{report}");
    let mut warned: Vec<&str> = stderr
        .lines()
        .filter(|l| *l != "Secondary checks complete.")
        .collect();
    warned.sort_unstable();
    let missing = |service: &str, program: &str| {
        format!(
            "Service '{service}': warning: could not stat command executable '{program}': No such \
             file or directory"
        )
    };
    let expected = [
        missing("syslog", "/usr/sbin/rsyslogd"),
        missing("udev-settle", "/bin/udevadm"),
        missing("udev-trigger", "/bin/udevadm"),
        missing("udevd", "/lib/systemd/systemd-udevd"),
    ];
    assert_eq!(warned, expected, "{report}");
    let help = chroot(root, &["dinitctl", "--help"]);
    assert!(!help.is_empty());
    run_as_probe(root);
}

/// The script run as the container's first process: dinit in container mode on the installed
/// set, until `boot` has started (or 30 s), then the services' states, then everything stopped.
const CONTAINER_BOOT: &str = r#"#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
/usr/sbin/dinit -o > /tmp/dinit.out 2>&1 &
i=0
until dinitctl --quiet is-started boot 2>/dev/null || [ $i -ge 150 ]; do
    sleep 0.2
    i=$((i + 1))
done
dinitctl list
dinitctl stop boot > /dev/null
wait
echo "--- dinit:"
cat /tmp/dinit.out
"#;

/// The installed service set brings `boot` up in a container: dinit -o in new PID, mount and UTS
/// namespaces, chrooted into the root. The login prompts are disabled first (they would take the
/// host's terminals); udev, rsyslog and ifupdown are not in minbase, so their services fail,
/// and `boot` only waits for them.
fn container_boot(root: &Path) {
    for name in fs::read_dir(root.join("etc/dinit.d/boot.d")).unwrap() {
        let name = name.unwrap().file_name().into_string().unwrap();
        if name.contains("getty@") {
            chroot(root, &["dinitctl", "--offline", "disable", &name]);
        }
    }
    let script = root.join("tmp/container-boot");
    fs::write(&script, CONTAINER_BOOT).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let out = timed("boot the installed set in a container (dinit -o)", || {
        run(Command::new("timeout")
            .args([
                "60", "unshare", "--pid", "--fork", "--mount", "--uts", "chroot",
            ])
            .arg(root)
            .arg("/tmp/container-boot")
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
    });
    eprintln!("container boot:\n{out}");
    for up in [
        "boot",
        "system",
        "early-filesystems",
        "rootfscheck",
        "root-rw",
        "filesystems",
        "hostname",
        "swap",
        "modules",
    ] {
        assert!(
            out.contains(&format!("[  OK  ] {up}\n")),
            "{up} not started:\n{out}"
        );
    }
    // Not installed in minbase: failed, and waited for only.
    for absent in ["udevd", "syslog", "network"] {
        assert!(
            out.contains(&format!("[FAILED] {absent}\n")),
            "{absent}:\n{out}"
        );
    }
    assert!(out.contains("[STOPPD] early-filesystems\n"), "{out}");
}

#[test]
#[ignore = "needs root, debootstrap and the packages (just packages-test)"]
fn debs_install_into_a_debian_12_root() {
    let p = packages();
    let root = scratch_root("deb-root");
    for deb in [&p.deb_main, &p.deb_init] {
        fs::copy(deb, root.join("tmp").join(deb.file_name().unwrap())).unwrap();
    }
    let main = format!("/tmp/{}", p.deb_main.file_name().unwrap().to_str().unwrap());
    let init = format!("/tmp/{}", p.deb_init.file_name().unwrap().to_str().unwrap());
    timed("dpkg -i both .debs in the root", || {
        chroot(&root, &["dpkg", "-i", &main, &init])
    });
    let status = chroot(
        &root,
        &[
            "dpkg-query",
            "-W",
            "-f",
            "${Package} ${Status}\n",
            "dinit-rs",
            "dinit-rs-init",
        ],
    );
    assert_eq!(
        status,
        "dinit-rs install ok installed\ndinit-rs-init install ok installed\n"
    );
    // The md5sums match what is on disk.
    assert_eq!(
        chroot(&root, &["dpkg", "--verify", "dinit-rs", "dinit-rs-init"]),
        ""
    );
    check_installed(&root, INIT_LINKS);
    // Manual pages: gzip-compressed roff, and the links of dinit-rs-init resolve.
    for page in MAN_PAGES.iter().chain(INIT_LINKS.iter().map(|(p, _)| p)) {
        if !page.starts_with("/usr/share/man/") {
            continue;
        }
        let text = chroot(&root, &["zcat", page]);
        assert!(
            text.lines()
                .any(|l| l.starts_with(".TH") || l.starts_with(".Dt")),
            "{page} is not a manual page"
        );
    }
    for c in COMPLETIONS {
        assert_mode(&root, c, 0o644);
    }

    // `dinitctl enable`/`disable` on the installed set, and the disabling survives a reinstall
    // (the postinst makes the links on first installation only).
    let out = chroot(&root, &["dinitctl", "--offline", "enable", "sshd"]);
    assert_eq!(out, "Service 'sshd' has been enabled.\n");
    assert_eq!(
        fs::read_link(root.join("etc/dinit.d/boot.d/sshd")).unwrap(),
        Path::new("../sshd")
    );
    chroot(&root, &["dinitctl", "--offline", "disable", "getty@tty6"]);
    timed("dpkg -i dinit-rs again", || {
        chroot(&root, &["dpkg", "-i", &main])
    });
    assert!(!exists(&root, "/etc/dinit.d/boot.d/getty@tty6"));
    assert!(exists(&root, "/etc/dinit.d/boot.d/sshd"));

    container_boot(&root);

    // Purging removes everything, the links dinitctl made included.
    timed("dpkg --purge both", || {
        chroot(&root, &["dpkg", "--purge", "dinit-rs-init", "dinit-rs"])
    });
    for gone in [
        "/sbin/init",
        "/usr/sbin/dinit",
        "/etc/dinit.d",
        "/etc/dinit",
        "/usr/libexec/dinit-rs",
    ] {
        assert!(!exists(&root, gone), "{gone} left after purge");
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
#[ignore = "needs root, debootstrap, rpm and the packages (just packages-test)"]
fn rpms_install_with_rpm_root() {
    let p = packages();
    // A copy of the Debian root: it has the /bin/sh that %post needs and the libraries that
    // `dinit --version` needs; rpm's own database starts empty, hence --nodeps.
    let root = scratch_root("rpm-root");
    timed("rpm --root -i both .rpms", || {
        run(Command::new("rpm")
            .arg("--root")
            .arg(&root)
            .args(["--nodeps", "-i"])
            .arg(&p.rpm_main)
            .arg(&p.rpm_init))
    });
    let installed = run(Command::new("rpm").arg("--root").arg(&root).arg("-qa"));
    assert_eq!(
        set(installed.lines()),
        set([
            format!("dinit-rs-{VERSION}-1.{}", std::env::consts::ARCH),
            format!("dinit-rs-init-{VERSION}-1.noarch"),
        ])
    );
    let verify = run(Command::new("rpm").arg("--root").arg(&root).args([
        "-V",
        "--nodeps",
        "dinit-rs",
        "dinit-rs-init",
    ]));
    assert_eq!(verify, "");
    let links: Vec<(&str, &str)> = INIT_LINKS
        .iter()
        .filter(|(path, _)| path.starts_with("/sbin/"))
        .copied()
        .collect();
    check_installed(&root, &links);
    for (path, target) in &links {
        let usr = format!("/usr{path}");
        let link = fs::read_link(root.join(usr.trim_start_matches('/'))).unwrap();
        assert_eq!(
            link,
            Path::new(Path::new(target).file_name().unwrap()),
            "{usr}"
        );
    }
    assert_mode(&root, "/usr/share/zsh/site-functions/_dinitctl", 0o644);
    assert_mode(&root, "/usr/share/licenses/dinit-rs/copyright", 0o644);

    timed("rpm --root -e both", || {
        run(Command::new("rpm")
            .arg("--root")
            .arg(&root)
            .args(["-e", "dinit-rs-init", "dinit-rs"]))
    });
    for gone in ["/usr/sbin/dinit", "/usr/sbin/init", "/etc/dinit.d"] {
        assert!(!exists(&root, gone), "{gone} left after rpm -e");
    }
    fs::remove_dir_all(&root).unwrap();
}
