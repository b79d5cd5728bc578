//! A third-party client: Chimera Linux's libdinitctl, a C library of Dinit's control protocol.
//!
//! `compat/libdinitctl/probe.c` is a program of ours written against the library's public API
//! (`include/libdinitctl.h`): it connects to a daemon, makes nearly every call the library
//! offers, the error paths included, and prints a transcript of what it saw: every return code,
//! every service and environment event with every field of the status it carries, in the order
//! the library delivered them. It waits for the events it expects, never for time.
//!
//! The library is built here from `../shared/peers/libdinitctl-a3111b9.tar.gz` with meson and
//! ninja (into `target/peers/libdinitctl`, once), the probe compiled against it, and run once
//! against Dinit's daemon and once against ours, each started as `dinit -u -d sd -d SHM -p SOCK`
//! in a fresh folder holding the service set of `compat/libdinitctl/sd`. Dinit's transcript is
//! the expectation; ours must equal it line for line. Nothing of the library is kept in the
//! project: only the probe and the services are ours.
//!
//! The library's own bugs, and how the probe steps around them, are in
//! docs/COMPATIBILITY.md.

use crate::common::{scratch, workspace, Impl};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The library's source, as the peers folder holds it.
const TARBALL: &str = "libdinitctl-a3111b9.tar.gz";
/// How long the daemon may take to accept a connection, and to exit after the probe's
/// shutdown request.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long the whole probe may run (its own waits give up after 20 s each, three at most).
const PROBE_DEADLINE: Duration = Duration::from_secs(240);

/// The peers folder: `$DCOMPAT_PEERS`, or `../shared/peers` beside the workspace.
fn peers_dir() -> PathBuf {
    match std::env::var_os("DCOMPAT_PEERS") {
        Some(d) => PathBuf::from(d),
        None => workspace().join("../shared/peers"),
    }
}

/// This test's sources: the probe, the services and their scripts.
fn source_dir() -> PathBuf {
    workspace().join("tests/compat/libdinitctl")
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a build command, panicking with its output when it fails.
fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({cmd:?}):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// meson and ninja: installed with apt when missing and root, else the command to run.
fn ensure_meson() {
    if have("meson") && have("ninja") {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root && have("apt-get"),
        "building libdinitctl needs meson and ninja: run `apt-get install -y meson ninja-build` \
         (as root)"
    );
    let install = || {
        let mut cmd = Command::new("apt-get");
        cmd.args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(["meson", "ninja-build"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    if !install().output().is_ok_and(|o| o.status.success()) {
        // Perhaps no package lists yet (a fresh machine).
        let _ = Command::new("apt-get").args(["update", "-qq"]).output();
        run(&mut install(), "apt-get install meson ninja-build");
    }
}

/// Builds libdinitctl (static) into `target/peers/libdinitctl` unless it is there already, then
/// compiles the probe against it; returns the probe's path. Once per test process.
fn probe() -> PathBuf {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let base = workspace().join("target/peers/libdinitctl");
            let src = base.join("libdinitctl");
            let build = base.join("build");
            let lib = build.join("libdinitctl.a");
            // Built from this tarball (a new one in the peers folder is built afresh).
            let stamp = base.join("built-from");
            let built = std::fs::read_to_string(&stamp).is_ok_and(|s| s == TARBALL);
            if !lib.is_file() || !built {
                let tarball = peers_dir().join(TARBALL);
                assert!(
                    tarball.is_file(),
                    "{} is missing (set DCOMPAT_PEERS to the folder holding {TARBALL})",
                    tarball.display()
                );
                ensure_meson();
                let _ = std::fs::remove_dir_all(&base);
                std::fs::create_dir_all(&base).unwrap();
                run(
                    Command::new("tar")
                        .arg("-xzf")
                        .arg(&tarball)
                        .arg("-C")
                        .arg(&base),
                    "unpacking libdinitctl",
                );
                run(
                    Command::new("meson")
                        .arg("setup")
                        .arg("-Ddefault_library=static")
                        .arg(&build)
                        .arg(&src),
                    "meson setup",
                );
                run(Command::new("ninja").arg("-C").arg(&build), "ninja");
                std::fs::write(&stamp, TARBALL).unwrap();
            }
            assert!(
                have("cc"),
                "compiling the libdinitctl probe needs a C compiler: run `apt-get install -y gcc`"
            );
            // Compiled into a name of this process's own, then renamed: test processes running
            // side by side never see a half-written program.
            let out = base.join("probe");
            let tmp = base.join(format!("probe.{}", std::process::id()));
            run(
                Command::new("cc")
                    .args(["-std=c99", "-O1", "-g", "-Wall", "-Wextra"])
                    .arg("-I")
                    .arg(src.join("include"))
                    .arg(source_dir().join("probe.c"))
                    .arg(&lib)
                    .arg("-o")
                    .arg(&tmp),
                "compiling probe.c",
            );
            std::fs::rename(&tmp, &out).unwrap();
            out
        })
        .clone()
}

/// Copies `from` (a folder of this test's sources) to `to`, `@DIR@` replaced by `dir`.
fn install(from: &Path, to: &Path, dir: &Path, mode: u32) {
    std::fs::create_dir_all(to).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(from.join(&name)).unwrap();
        let dst = to.join(&name);
        std::fs::write(&dst, text.replace("@DIR@", &dir.display().to_string())).unwrap();
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn status_text(st: ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "exit ?".into(),
    }
}

fn read_lossy(path: &Path) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One run: the daemon of `daemon` on a fresh copy of the services, the probe against it.
/// Returns the transcript (the probe's output, then how the probe and the daemon ended) and
/// the daemon's own output, for a failure message.
fn run_probe(daemon: Impl) -> (Vec<String>, String) {
    let probe = probe();
    let dir = scratch(&format!("ldc-{}", daemon.label()));
    // The ephemeral-service calls want a service directory on tmpfs.
    let shm = match Path::new("/dev/shm").is_dir() {
        true => {
            let d = PathBuf::from(format!(
                "/dev/shm/{}",
                dir.file_name().unwrap().to_string_lossy()
            ));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            d
        }
        false => {
            let d = dir.join("shm");
            std::fs::create_dir_all(&d).unwrap();
            d
        }
    };
    install(&source_dir().join("sd"), &dir.join("sd"), &dir, 0o644);
    install(&source_dir().join("bin"), &dir.join("bin"), &dir, 0o755);
    let sock = dir.join("sock");
    let marker = dir.display().to_string();
    let env = [
        ("PATH", "/usr/bin:/bin:/usr/sbin:/sbin".to_string()),
        ("HOME", dir.display().to_string()),
        ("LANG", "C".to_string()),
        ("DCOMPAT_RUN", marker.clone()),
    ];

    let mut cmd = Command::new(daemon.program("dinit"));
    cmd.current_dir(&dir).env_clear();
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let mut d = cmd
        .args(["-u", "-d", "sd", "-d"])
        .arg(&shm)
        .arg("-p")
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("daemon.out")).unwrap())
        .stderr(std::fs::File::create(dir.join("daemon.err")).unwrap())
        .spawn()
        .unwrap();
    let mut transcript = Vec::new();
    let start = Instant::now();
    let mut ready = false;
    while start.elapsed() < DEADLINE {
        if UnixStream::connect(&sock).is_ok() {
            ready = true;
            break;
        }
        if let Ok(Some(st)) = d.try_wait() {
            transcript.push(format!(
                "[daemon ended before accepting connections: {}]",
                status_text(st)
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if ready {
        let mut p = Command::new(&probe)
            .arg(&sock)
            .arg(&dir)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("SHMDIR", &shm)
            .env("DCOMPAT_RUN", &marker)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("probe.out")).unwrap())
            .stderr(std::fs::File::create(dir.join("probe.err")).unwrap())
            .spawn()
            .unwrap();
        let st = crate::harness::wait_exit(&mut p, PROBE_DEADLINE);
        if st.is_none() {
            let _ = p.kill();
            let _ = p.wait();
        }
        transcript.extend(
            read_lossy(&dir.join("probe.out"))
                .lines()
                .map(str::to_string),
        );
        transcript.extend(
            read_lossy(&dir.join("probe.err"))
                .lines()
                .map(|l| format!("[probe stderr] {l}")),
        );
        transcript.push(match st {
            Some(st) => format!("[probe: {}]", status_text(st)),
            None => "[probe did not finish; killed]".into(),
        });
        // The probe's last request halts the daemon.
        transcript.push(match crate::harness::wait_exit(&mut d, DEADLINE) {
            Some(st) => format!("[daemon: {}]", status_text(st)),
            None => "[daemon still running after the probe]".into(),
        });
    }
    if let Ok(None) = d.try_wait() {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
        if crate::harness::wait_exit(&mut d, DEADLINE).is_none() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
    crate::scenarios::kill_leftovers(&dir);
    let log = format!(
        "--- daemon stdout\n{}--- daemon stderr\n{}",
        read_lossy(&dir.join("daemon.out")),
        read_lossy(&dir.join("daemon.err"))
    );
    let (dir_s, shm_s) = (dir.display().to_string(), shm.display().to_string());
    let transcript = transcript
        .iter()
        .map(|l| l.replace(&dir_s, "@DIR@").replace(&shm_s, "@SHM@"))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&shm);
    (transcript, log)
}

/// The changed lines of a full diff with four lines of context around each, `...` between.
fn hunks(diff: &str) -> String {
    let lines: Vec<&str> = diff.lines().collect();
    let changed: Vec<bool> = lines.iter().map(|l| !l.starts_with("   ")).collect();
    let near = |i: usize| {
        let lo = i.saturating_sub(4);
        let hi = (i + 4).min(lines.len() - 1);
        (lo..=hi).any(|j| changed[j])
    };
    let mut out = String::new();
    let mut skipped = false;
    for (i, l) in lines.iter().enumerate() {
        if near(i) {
            if skipped {
                out.push_str("...\n");
                skipped = false;
            }
            out.push_str(l);
            out.push('\n');
        } else {
            skipped = true;
        }
    }
    out
}

/// The probe against Dinit's daemon (the expectation) and ours; the transcripts must be equal.
/// `DCOMPAT_SHOW=1` prints Dinit's transcript; `DCOMPAT_SELFCHECK=1` runs Dinit's twice more
/// to show the probe is deterministic.
#[test]
#[ignore = "needs the reference Dinit: just compat"]
fn probe_transcripts_match() {
    let (expected, dinit_log) = run_probe(Impl::Dinit);
    let clean = |t: &[String]| {
        !t.iter()
            .any(|l| l.starts_with("!!") || l.starts_with("[probe") && l != "[probe: exit 0]")
    };
    assert!(
        clean(&expected),
        "the probe does not run cleanly against Dinit itself; its transcript:\n{}\n{dinit_log}",
        expected.join("\n")
    );
    if std::env::var_os("DCOMPAT_SHOW").is_some() {
        eprintln!("Dinit's transcript:\n{}", expected.join("\n"));
    }
    let mut failures = String::new();
    if std::env::var_os("DCOMPAT_SELFCHECK").is_some() {
        for _ in 0..2 {
            let (again, _) = run_probe(Impl::Dinit);
            if again != expected {
                failures.push_str(&format!(
                    "\n=== Dinit's own runs differ: the probe is not deterministic:\n{}",
                    hunks(&crate::scenarios::diff(&expected, &again))
                ));
                break;
            }
        }
    }
    let (actual, our_log) = run_probe(Impl::Ours);
    if actual != expected {
        failures.push_str(&format!(
            "\n=== our daemon differs from Dinit's (- Dinit, + ours):\n{}\n{our_log}",
            hunks(&crate::scenarios::diff(&expected, &actual))
        ));
    }
    assert!(failures.is_empty(), "libdinitctl probe:{failures}");
}
