//! Launching real children with `dinit_hosted::spawn` and checking, through `/proc` and their
//! output, that every setting took effect (or failed at the right stage).
//!
//! Run as root (as CI does): several settings need privileges. Tests that the machine truly
//! cannot support print why and return.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::is_root;
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use dinit_core::ExecStage;
use dinit_hosted::spawn::{
    child_pipe, consumer_pipe, resolve_user, spawn, Child, Console, ExecFailure, ExecOutcome, Iab,
    Input, Ioprio, LaunchFds, Limit, Logfile, Output, ReadyNotification, Resource, Rlimit,
    Securebits, SpawnConfig, SpawnError, SpawnSpec, Stdio,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The test process's environment as `NAME=value` C strings (the "global environment").
fn base_env() -> Vec<CString> {
    std::env::vars_os()
        .map(|(k, v)| {
            let mut entry = k.into_encoded_bytes();
            entry.push(b'=');
            entry.extend_from_slice(&v.into_encoded_bytes());
            CString::new(entry).unwrap()
        })
        .collect()
}

/// Launches `config` with `fds` and the test's environment, and waits for the outcome.
fn launch_with(config: &SpawnConfig, fds: LaunchFds<'_>) -> (Child, ExecOutcome) {
    let spec = Rc::new(SpawnSpec::new(config).expect("valid spec"));
    let env = base_env();
    let mut child = spawn(&spec, &fds, &env).expect("spawn");
    let outcome = child.status.wait().expect("status pipe");
    (child, outcome)
}

fn launch(config: &SpawnConfig) -> (Child, ExecOutcome) {
    launch_with(config, LaunchFds::default())
}

/// Launches a command that must start, returning its pid.
fn start(config: &SpawnConfig) -> i32 {
    let (child, outcome) = launch(config);
    assert_eq!(outcome, ExecOutcome::Started);
    child.pid
}

/// Waits for `pid` and returns its exit code (panics if it was killed by a signal).
fn wait_exit(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: plain waitpid on our own child.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid");
    assert!(
        libc::WIFEXITED(status),
        "child {pid} did not exit: {status:#x}"
    );
    libc::WEXITSTATUS(status)
}

fn kill_and_reap(pid: i32) {
    // SAFETY: kill takes integers: our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // SAFETY: reaps it; no status is asked for.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
}

/// Expects the launch to fail at `stage` with `errno`, and the child to exit with 127.
fn expect_failure(config: &SpawnConfig, stage: ExecStage, errno: i32) {
    let (child, outcome) = launch(config);
    assert_eq!(
        outcome,
        ExecOutcome::Failed(ExecFailure { stage, errno }),
        "expected {stage:?} with errno {errno}"
    );
    assert_eq!(wait_exit(child.pid), 127);
}

/// A long-running child to inspect through /proc.
fn sleeper() -> SpawnConfig {
    SpawnConfig::new(["/bin/sleep", "60"])
}

fn proc_file(pid: i32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{name}")).unwrap()
}

/// The value of a `Name:` line of /proc/<pid>/status.
fn status_line(pid: i32, key: &str) -> String {
    proc_file(pid, "status")
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key} in status"))
        .trim()
        .to_owned()
}

fn status_hex(pid: i32, key: &str) -> u64 {
    u64::from_str_radix(&status_line(pid, key), 16).unwrap()
}

/// Fields of /proc/<pid>/stat after the command name: index 0 is field 3 (state).
fn stat_fields(pid: i32) -> Vec<String> {
    let stat = proc_file(pid, "stat");
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split_whitespace().map(str::to_owned).collect()
}

const STAT_PGRP: usize = 2;
const STAT_SESSION: usize = 3;
const STAT_TPGID: usize = 5;
const STAT_NICE: usize = 16;

/// A shell command whose output goes to a pipe; returns (config, read end, write end).
fn shell_to_pipe(script: &str) -> (SpawnConfig, OwnedFd, OwnedFd) {
    let mut config = SpawnConfig::new(["/bin/sh", "-c", script]);
    config.stdio = Stdio::Detached {
        input: Input::Null,
        output: Output::Pipe,
    };
    let (read, write) = child_pipe().unwrap();
    (config, read, write)
}

/// Reads a pipe (whose read end is non-blocking) to end-of-file.
fn read_all(read: OwnedFd) -> String {
    rustix::io::ioctl_fionbio(&read, false).unwrap();
    let mut text = String::new();
    std::fs::File::from(read).read_to_string(&mut text).unwrap();
    text
}

/// Runs a shell script with output to a pipe and extra launch descriptors; returns its output
/// and exit code.
fn run_shell(config: &SpawnConfig, read: OwnedFd, write: OwnedFd, fds: LaunchFds<'_>) -> String {
    let fds = LaunchFds {
        output: Some(write.as_fd()),
        ..fds
    };
    let (child, outcome) = launch_with(config, fds);
    drop(write);
    assert_eq!(outcome, ExecOutcome::Started);
    let out = read_all(read);
    assert_eq!(wait_exit(child.pid), 0, "output: {out}");
    out
}

fn temp_dir(tag: &str) -> PathBuf {
    harness::fresh_dir(&format!("spawn-{tag}"))
}

fn path_bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().as_encoded_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// Exec success and failure stages

#[test]
fn true_starts_and_exits_zero() {
    let (child, outcome) = launch(&SpawnConfig::new(["/bin/true"]));
    assert_eq!(outcome, ExecOutcome::Started);
    assert_eq!(wait_exit(child.pid), 0);
}

#[test]
fn exit_code_passes_through() {
    let pid = start(&SpawnConfig::new(["/bin/sh", "-c", "exit 7"]));
    assert_eq!(wait_exit(pid), 7);
}

#[test]
fn missing_program_fails_at_do_exec_with_enoent() {
    expect_failure(
        &SpawnConfig::new(["/nonexistent/dinit-spawn-test"]),
        ExecStage::DoExec,
        libc::ENOENT,
    );
}

#[test]
fn non_executable_file_fails_with_eacces() {
    let dir = temp_dir("noexec");
    let file = dir.join("script");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    expect_failure(
        &SpawnConfig::new([path_bytes(&file)]),
        ExecStage::DoExec,
        libc::EACCES,
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn program_without_slash_is_searched_in_path() {
    let mut config = SpawnConfig::new(["true"]);
    config
        .env
        .push((b"PATH".to_vec(), b"/nonexistent:/usr/bin:/bin".to_vec()));
    let pid = start(&config);
    assert_eq!(wait_exit(pid), 0);

    let config = SpawnConfig::new(["dinit-spawn-no-such-program"]);
    expect_failure(&config, ExecStage::DoExec, libc::ENOENT);
}

#[test]
fn bad_working_dir_fails_at_chdir() {
    let mut config = SpawnConfig::new(["/bin/true"]);
    config.working_dir = Some(b"/nonexistent/dinit-spawn-test".to_vec());
    expect_failure(&config, ExecStage::Chdir, libc::ENOENT);
}

#[test]
fn working_dir_is_applied() {
    let (mut config, read, write) = shell_to_pipe("pwd");
    config.working_dir = Some(b"/tmp".to_vec());
    assert_eq!(
        run_shell(&config, read, write, LaunchFds::default()),
        "/tmp\n"
    );
}

#[test]
fn unwritable_logfile_fails_at_open_logfile() {
    let mut config = SpawnConfig::new(["/bin/true"]);
    config.stdio = Stdio::Detached {
        input: Input::Null,
        output: Output::Logfile(Logfile::new("/nonexistent/dinit-spawn/log")),
    };
    expect_failure(&config, ExecStage::OpenLogfile, libc::ENOENT);

    config.stdio = Stdio::Detached {
        input: Input::Null,
        output: Output::Logfile(Logfile::new("/")),
    };
    expect_failure(&config, ExecStage::OpenLogfile, libc::EISDIR);
}

#[test]
fn bad_rlimit_fails_at_set_rlimits() {
    let mut config = SpawnConfig::new(["/bin/true"]);
    // A soft limit above the hard one is invalid for anyone.
    config.rlimits.push((
        Resource::Nofile,
        Rlimit {
            soft: Limit::Value(100),
            hard: Limit::Value(50),
        },
    ));
    expect_failure(&config, ExecStage::SetRlimits, libc::EINVAL);
}

#[test]
fn unknown_capability_fails_at_set_caps() {
    if !is_root() {
        println!("skipped: needs root");
        return;
    }
    let mut config = SpawnConfig::new(["/bin/true"]);
    // Capability 63 is unknown to every kernel; the kernel would silently drop it from the
    // inheritable set, so the launcher checks it first.
    config.capabilities = Some(Iab::parse("63").unwrap());
    expect_failure(&config, ExecStage::SetCaps, libc::EINVAL);
}

#[test]
fn missing_cgroup_fails_at_enter_cgroup() {
    let mut config = SpawnConfig::new(["/bin/true"]);
    config.cgroup = Some(b"/nonexistent/dinit-spawn-cgroup".to_vec());
    expect_failure(&config, ExecStage::EnterCgroup, libc::ENOENT);
}

#[test]
fn errors_before_fork() {
    let mut config = SpawnConfig::new(["/bin/true"]);
    config.socket_activation = true;
    let spec = Rc::new(SpawnSpec::new(&config).unwrap());
    let none: [CString; 0] = [];
    let err = spawn(&spec, &LaunchFds::default(), &none).unwrap_err();
    assert_eq!(
        err,
        SpawnError::MissingFd(dinit_hosted::spawn::FdRole::Activation)
    );
}

// ---------------------------------------------------------------------------------------------
// Environment, stdio, logging

#[test]
fn environment_reaches_the_child_with_service_variables_first() {
    let (mut config, read, write) = shell_to_pipe(r#"echo "$FOO|$BAR|$DINIT_SPAWN_BASE_ONLY""#);
    config.env.push((b"FOO".to_vec(), b"service".to_vec()));
    config.env.push((b"BAR".to_vec(), b"two words".to_vec()));
    let spec = Rc::new(SpawnSpec::new(&config).unwrap());
    let env = [
        c"FOO=global".to_owned(),
        c"DINIT_SPAWN_BASE_ONLY=b".to_owned(),
        c"malformed".to_owned(),
    ];
    let fds = LaunchFds {
        output: Some(write.as_fd()),
        ..LaunchFds::default()
    };
    let mut child = spawn(&spec, &fds, &env).unwrap();
    drop(write);
    assert_eq!(child.status.wait().unwrap(), ExecOutcome::Started);
    assert_eq!(read_all(read), "service|two words|b\n");
    assert_eq!(wait_exit(child.pid), 0);
}

/// What the child reads stays valid however soon the caller lets go of it: the child may
/// still be setting up (in the caller's memory) when `spawn` returns, while the caller drops
/// the spec (a reload) and replaces its environment (a `setenv`), and the freed memory is
/// reused at once.
#[test]
fn the_launch_keeps_what_the_child_reads_after_the_caller_lets_go() {
    let mut children = Vec::new();
    for i in 0..40 {
        let arg = format!("arg-{i}");
        let (config, read, write) = shell_to_pipe(r#"echo "$DINIT_SPAWN_VALUE $0""#);
        let mut config = config;
        config.command.push(arg.clone().into_bytes());
        let spec = Rc::new(SpawnSpec::new(&config).unwrap());
        let env = vec![CString::new(format!("DINIT_SPAWN_VALUE=value-{i}")).unwrap()];
        let fds = LaunchFds {
            output: Some(write.as_fd()),
            ..LaunchFds::default()
        };
        let child = spawn(&spec, &fds, &env).unwrap();
        drop((spec, env, config, write));
        // Reuse what was freed, with bytes that are no C string.
        let churn: Vec<Vec<u8>> = (0..64).map(|n| vec![0xAA; 16 + n * 8]).collect();
        std::hint::black_box(&churn);
        children.push((child, read, format!("value-{i} arg-{i}\n")));
    }
    for (mut child, read, expected) in children {
        assert_eq!(child.status.wait().unwrap(), ExecOutcome::Started);
        assert_eq!(read_all(read), expected);
        assert_eq!(wait_exit(child.pid), 0);
    }
}

#[test]
fn stdin_pipe_and_output_pipe() {
    let (in_read, in_write) = consumer_pipe().unwrap();
    let (out_read, out_write) = child_pipe().unwrap();
    let mut config = SpawnConfig::new(["/bin/cat"]);
    config.stdio = Stdio::Detached {
        input: Input::Pipe,
        output: Output::Pipe,
    };
    let fds = LaunchFds {
        input: Some(in_read.as_fd()),
        output: Some(out_write.as_fd()),
        ..LaunchFds::default()
    };
    let (child, outcome) = launch_with(&config, fds);
    assert_eq!(outcome, ExecOutcome::Started);
    drop(in_read);
    drop(out_write);
    rustix::io::write(&in_write, b"through cat\n").unwrap();
    drop(in_write);
    assert_eq!(read_all(out_read), "through cat\n");
    assert_eq!(wait_exit(child.pid), 0);
}

#[test]
fn null_stdio_by_default() {
    let pid = start(&sleeper());
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert_eq!(target, Path::new("/dev/null"), "fd {fd}");
    }
    kill_and_reap(pid);
}

#[test]
fn logfile_is_created_with_mode_and_owner_and_appended() {
    let dir = temp_dir("log");
    let path = dir.join("service.log");
    let mut log = Logfile::new(path_bytes(&path));
    log.mode = 0o640;
    if is_root() {
        log.uid = Some(65534);
        log.gid = Some(65534);
    }
    let mut config = SpawnConfig::new(["/bin/sh", "-c", "echo out; echo err >&2"]);
    config.stdio = Stdio::Detached {
        input: Input::Null,
        output: Output::Logfile(log),
    };
    for _ in 0..2 {
        let pid = start(&config);
        assert_eq!(wait_exit(pid), 0);
    }
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if is_root() {
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "out\nerr\nout\nerr\n"
    );

    // An existing file gets the configured permissions.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(wait_exit(start(&config)), 0);
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Readiness, activation, control socket

#[test]
fn readiness_pipefd() {
    let (ready_read, ready_write) = child_pipe().unwrap();
    let mut config = SpawnConfig::new(["/bin/sh", "-c", "echo ready >&7"]);
    config.ready_notification = Some(ReadyNotification::PipeFd(7));
    let fds = LaunchFds {
        notify: Some(ready_write.as_fd()),
        ..LaunchFds::default()
    };
    let (child, outcome) = launch_with(&config, fds);
    drop(ready_write);
    assert_eq!(outcome, ExecOutcome::Started);
    assert_eq!(read_all(ready_read), "ready\n");
    assert_eq!(wait_exit(child.pid), 0);
}

#[test]
fn readiness_pipevar() {
    let (ready_read, ready_write) = child_pipe().unwrap();
    let mut config = SpawnConfig::new(["/bin/sh", "-c", r#"echo "fd $READY_FD" >&"$READY_FD""#]);
    config.ready_notification = Some(ReadyNotification::PipeVar(b"READY_FD".to_vec()));
    let spec = Rc::new(SpawnSpec::new(&config).unwrap());
    assert_eq!(spec.notify_fd(), Some(3));
    let fds = LaunchFds {
        notify: Some(ready_write.as_fd()),
        ..LaunchFds::default()
    };
    let (child, outcome) = launch_with(&config, fds);
    drop(ready_write);
    assert_eq!(outcome, ExecOutcome::Started);
    assert_eq!(read_all(ready_read), "fd 3\n");
    assert_eq!(wait_exit(child.pid), 0);
}

fn socket_inode(fd: impl AsFd) -> u64 {
    rustix::fs::fstat(fd).unwrap().st_ino
}

#[test]
fn activation_socket_control_socket_and_pipevar_together() {
    let dir = temp_dir("activation");
    let listener = std::os::unix::net::UnixListener::bind(dir.join("sock")).unwrap();
    let (control, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let (ready_read, ready_write) = child_pipe().unwrap();

    let script = r#"echo "$LISTEN_FDS $LISTEN_PID $$ $DINIT_CS_FD $READY" \
        "$(readlink /proc/$$/fd/3)" "$(readlink /proc/$$/fd/$DINIT_CS_FD)"; echo ok >&"$READY""#;
    let (mut config, read, write) = shell_to_pipe(script);
    config.socket_activation = true;
    config.pass_control_socket = true;
    config.ready_notification = Some(ReadyNotification::PipeVar(b"READY".to_vec()));
    // The service's own LISTEN_PID must not win over the real one.
    config.env.push((b"LISTEN_PID".to_vec(), b"1".to_vec()));
    let fds = LaunchFds {
        activation: Some(listener.as_fd()),
        control: Some(control.as_fd()),
        notify: Some(ready_write.as_fd()),
        output: Some(write.as_fd()),
        ..LaunchFds::default()
    };
    let (child, outcome) = launch_with(&config, fds);
    drop(write);
    drop(ready_write);
    assert_eq!(outcome, ExecOutcome::Started);
    let out = read_all(read);
    let pid = child.pid;
    let expected = format!(
        "1 {pid} {pid} 5 4 socket:[{}] socket:[{}]\n",
        socket_inode(&listener),
        socket_inode(&control)
    );
    assert_eq!(out, expected);
    assert_eq!(read_all(ready_read), "ok\n");
    assert_eq!(wait_exit(pid), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn only_the_arranged_descriptors_are_inherited() {
    let (ready_read, ready_write) = child_pipe().unwrap();
    // A descriptor the daemon forgot to make close-on-exec must not leak to the child.
    let leaky = rustix::io::dup(&ready_read).unwrap();
    assert!(rustix::io::fcntl_getfd(&leaky).unwrap().is_empty());
    let mut config = sleeper();
    config.ready_notification = Some(ReadyNotification::PipeFd(9));
    let fds = LaunchFds {
        notify: Some(ready_write.as_fd()),
        ..LaunchFds::default()
    };
    let (child, outcome) = launch_with(&config, fds);
    assert_eq!(outcome, ExecOutcome::Started);
    // Just after exec, the program's dynamic loader has files of its own open for a moment
    // (the library cache, libc): look again until it has settled, for up to 30 s (a hang
    // detector); an inherited descriptor would still be there.
    let open_fds = || {
        let mut open: Vec<i32> = std::fs::read_dir(format!("/proc/{}/fd", child.pid))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
            .collect();
        open.sort_unstable();
        open
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut open = open_fds();
    while open != [0, 1, 2, 9] && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        open = open_fds();
    }
    assert_eq!(open, [0, 1, 2, 9]);
    kill_and_reap(child.pid);
    drop(leaky);
}

// ---------------------------------------------------------------------------------------------
// Limits and priorities

fn limits_line(pid: i32, label: &str) -> (String, String) {
    let limits = proc_file(pid, "limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in limits"));
    let mut words = line[label.len()..].split_whitespace();
    (
        words.next().unwrap().to_owned(),
        words.next().unwrap().to_owned(),
    )
}

fn limit_text(value: Option<u64>) -> String {
    value.map_or_else(|| "unlimited".to_owned(), |v| v.to_string())
}

#[test]
fn rlimits_are_applied() {
    use rustix::process::{getrlimit, Resource as R};
    let own_core = getrlimit(R::Core);
    let own_data = getrlimit(R::Data);
    let mut config = sleeper();
    config.rlimits = vec![
        (
            Resource::Nofile,
            Rlimit {
                soft: Limit::Value(1000),
                hard: Limit::Value(2000),
            },
        ),
        (
            Resource::Core,
            Rlimit {
                soft: Limit::Value(0),
                hard: Limit::Unchanged,
            },
        ),
        (
            Resource::Data,
            Rlimit {
                soft: Limit::Unchanged,
                hard: Limit::Unchanged,
            },
        ),
        (
            Resource::Addrspace,
            Rlimit {
                soft: Limit::Value(1 << 40),
                hard: Limit::Unlimited,
            },
        ),
    ];
    if own_core.maximum.is_some() || getrlimit(R::As).maximum.is_some() {
        // Raising a finite hard limit to unlimited needs CAP_SYS_RESOURCE.
        config.rlimits[3].1.hard = Limit::Unchanged;
    }
    let pid = start(&config);
    assert_eq!(
        limits_line(pid, "Max open files"),
        ("1000".into(), "2000".into())
    );
    assert_eq!(
        limits_line(pid, "Max core file size"),
        ("0".into(), limit_text(own_core.maximum))
    );
    assert_eq!(
        limits_line(pid, "Max data size"),
        (limit_text(own_data.current), limit_text(own_data.maximum))
    );
    assert_eq!(
        limits_line(pid, "Max address space").0,
        (1u64 << 40).to_string()
    );
    kill_and_reap(pid);
}

#[test]
fn nice_is_applied_and_clamped() {
    let mut config = sleeper();
    config.nice = Some(5);
    let pid = start(&config);
    assert_eq!(stat_fields(pid)[STAT_NICE], "5");
    kill_and_reap(pid);

    config.nice = Some(100);
    let pid = start(&config);
    assert_eq!(stat_fields(pid)[STAT_NICE], "19");
    kill_and_reap(pid);
}

#[test]
fn oom_score_adj_is_applied() {
    let mut config = sleeper();
    config.oom_score_adj = Some(500);
    let pid = start(&config);
    assert_eq!(proc_file(pid, "oom_score_adj").trim(), "500");
    kill_and_reap(pid);
}

/// Runs this test binary as the child, to report what only the process itself can query.
fn probe(config_for: impl FnOnce(&mut SpawnConfig)) -> String {
    let exe = std::env::current_exe().unwrap();
    let (read, write) = child_pipe().unwrap();
    let mut config = SpawnConfig::new([
        path_bytes(&exe),
        b"--exact".to_vec(),
        b"probe_helper".to_vec(),
        b"--ignored".to_vec(),
        b"--nocapture".to_vec(),
        b"--test-threads=1".to_vec(),
    ]);
    config.stdio = Stdio::Detached {
        input: Input::Null,
        output: Output::Pipe,
    };
    config
        .env
        .push((b"DINIT_SPAWN_PROBE".to_vec(), b"1".to_vec()));
    config_for(&mut config);
    let out = run_shell(&config, read, write, LaunchFds::default());
    // libtest prints the test name on the same line.
    out.lines()
        .find_map(|l| Some(&l[l.find("PROBE ")? + 6..]))
        .unwrap_or_else(|| panic!("no probe output in {out}"))
        .to_owned()
}

/// Not a test: the probe child of [`probe`].
#[test]
#[ignore = "helper run by other tests"]
fn probe_helper() {
    if std::env::var_os("DINIT_SPAWN_PROBE").is_none() {
        return;
    }
    const PR_GET_SECUREBITS: libc::c_int = 27;
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: a query of the calling process, with integer arguments.
    let securebits = unsafe { libc::prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) };
    // SAFETY: as above.
    let ioprio = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) };
    println!("PROBE securebits={securebits} ioprio={ioprio}");
}

/// One `name=value` item of a probe report.
fn probe_value(report: &str, name: &str) -> i64 {
    report
        .split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
        .parse()
        .unwrap()
}

#[test]
fn ioprio_is_applied() {
    let report = probe(|c| c.ioprio = Some(Ioprio::BestEffort(5)));
    assert_eq!(probe_value(&report, "ioprio"), (2 << 13) | 5);
    let report = probe(|c| c.ioprio = Some(Ioprio::Idle));
    assert_eq!(probe_value(&report, "ioprio"), 3 << 13);
    if is_root() {
        let report = probe(|c| c.ioprio = Some(Ioprio::Realtime(2)));
        assert_eq!(probe_value(&report, "ioprio"), (1 << 13) | 2);
    }
}

#[test]
fn securebits_are_applied() {
    if !is_root() {
        println!("skipped: setting securebits needs CAP_SETPCAP");
        return;
    }
    // keep-caps itself is cleared by execve; its lock is not.
    let bits = Securebits::NOROOT
        .with(Securebits::NO_SETUID_FIXUP)
        .with(Securebits::KEEP_CAPS)
        .with(Securebits::KEEP_CAPS_LOCKED);
    let expected = bits.bits() & !Securebits::KEEP_CAPS.bits();
    let report = probe(|c| c.securebits = Some(bits));
    assert_eq!(probe_value(&report, "securebits"), i64::from(expected));
    // Without the setting, they are left alone (none in this test process).
    assert_eq!(probe_value(&probe(|_| ()), "securebits"), 0);
}

// ---------------------------------------------------------------------------------------------
// Identity and capabilities

fn id_list(text: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = text
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A user with supplementary groups, created once for these tests.
const TEST_USER: &str = "dinit-spawn-t";

fn ensure_test_user() -> bool {
    if resolve_user(TEST_USER).is_ok() {
        return true;
    }
    let status = std::process::Command::new("useradd")
        .args([
            "--no-create-home",
            "--no-user-group",
            "--gid",
            "65534",
            "--groups",
            "daemon,users",
            "--shell",
            "/bin/false",
            TEST_USER,
        ])
        .status();
    // Another test binary may have created it meanwhile.
    matches!(status, Ok(s) if s.success()) || resolve_user(TEST_USER).is_ok()
}

#[test]
fn run_as_name_sets_groups_gid_and_uid() {
    if !is_root() {
        println!("skipped: changing identity needs root");
        return;
    }
    let (creds, check_groups) = if ensure_test_user() {
        (resolve_user(TEST_USER).unwrap(), true)
    } else {
        println!("useradd failed: checking with nobody, whose group list may be trivial");
        (resolve_user("nobody").unwrap(), false)
    };
    let gid = creds.gid.unwrap();
    let mut expected_groups = creds.groups.clone();
    expected_groups.sort_unstable();
    if check_groups {
        assert!(expected_groups.len() >= 3, "{expected_groups:?}");
    }
    let mut config = sleeper();
    config.run_as = Some(creds.clone());
    let pid = start(&config);
    let uid = creds.uid;
    assert_eq!(id_list(&status_line(pid, "Uid")), [uid]);
    assert_eq!(id_list(&status_line(pid, "Gid")), [gid]);
    assert_eq!(id_list(&status_line(pid, "Groups")), expected_groups);
    kill_and_reap(pid);
}

#[test]
fn run_as_number_keeps_gid_and_drops_groups() {
    if !is_root() {
        println!("skipped: changing identity needs root");
        return;
    }
    let mut config = sleeper();
    config.run_as = Some(resolve_user("65534").unwrap());
    let pid = start(&config);
    assert_eq!(id_list(&status_line(pid, "Uid")), [65534]);
    let own_gid = rustix::process::getegid().as_raw();
    assert_eq!(id_list(&status_line(pid, "Gid")), [own_gid]);
    assert_eq!(status_line(pid, "Groups"), "");
    kill_and_reap(pid);
}

#[test]
fn capabilities_and_no_new_privs_for_an_unprivileged_user() {
    if !is_root() {
        println!("skipped: raising capabilities needs root");
        return;
    }
    let own_bounding = rustix::thread::capabilities(None).unwrap().permitted.bits();
    const NET_BIND_SERVICE: u64 = 1 << 10;
    const CHOWN: u64 = 1;
    const SYS_ADMIN: u64 = 1 << 21;
    if own_bounding & (NET_BIND_SERVICE | CHOWN | SYS_ADMIN)
        != (NET_BIND_SERVICE | CHOWN | SYS_ADMIN)
    {
        println!("skipped: the test process lacks the capabilities it would pass on");
        return;
    }
    let mut config = sleeper();
    config.run_as = Some(resolve_user("nobody").unwrap());
    config.capabilities =
        Some(Iab::parse("^CAP_NET_BIND_SERVICE,!cap_sys_admin,%cap_chown").unwrap());
    config.no_new_privs = true;
    let pid = start(&config);
    assert_eq!(status_line(pid, "NoNewPrivs"), "1");
    assert_eq!(status_hex(pid, "CapAmb"), NET_BIND_SERVICE);
    assert_eq!(status_hex(pid, "CapInh"), NET_BIND_SERVICE | CHOWN);
    assert_eq!(status_hex(pid, "CapPrm"), NET_BIND_SERVICE);
    assert_eq!(status_hex(pid, "CapEff"), NET_BIND_SERVICE);
    let bounding = status_hex(pid, "CapBnd");
    assert_eq!(bounding & SYS_ADMIN, 0);
    assert_ne!(bounding & NET_BIND_SERVICE, 0);
    assert_eq!(id_list(&status_line(pid, "Uid")), [65534]);
    kill_and_reap(pid);
}

#[test]
fn capabilities_untouched_without_the_setting() {
    let pid = start(&sleeper());
    assert_eq!(status_line(pid, "NoNewPrivs"), "0");
    assert_eq!(status_hex(pid, "CapAmb"), 0);
    let own = rustix::thread::capabilities(None).unwrap();
    assert_eq!(status_hex(pid, "CapInh"), own.inheritable.bits());
    kill_and_reap(pid);
}

// ---------------------------------------------------------------------------------------------
// Process groups, sessions, signals

#[test]
fn child_leads_its_own_session_and_process_group() {
    // A getty or login started as a service finds itself a session leader, which they accept
    // (a process-group leader outside its own session could not call setsid()).
    let pid = start(&sleeper());
    let fields = stat_fields(pid);
    assert_eq!(fields[STAT_PGRP], pid.to_string());
    assert_eq!(fields[STAT_SESSION], pid.to_string());
    kill_and_reap(pid);

    let mut config = sleeper();
    config.new_process_group = false;
    let pid = start(&config);
    // SAFETY: getpgrp has no arguments. (libc's, not rustix's: the id is 0 when the group's
    // leader is outside this PID namespace.)
    let own_group = unsafe { libc::getpgrp() };
    assert_eq!(stat_fields(pid)[STAT_PGRP], own_group.to_string());
    kill_and_reap(pid);
}

#[test]
fn signal_mask_and_dispositions_are_reset() {
    // What a daemon does: block signals for a signalfd (here in this thread) and ignore
    // SIGPIPE (the Rust runtime already does).
    // (Every call changes or reads this thread's mask, restored below, or a local set; an
    // all-zero sigset_t is a valid, empty set.)
    // SAFETY: see above.
    let mut blocked: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    let mut saved: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    unsafe { libc::sigemptyset(&mut blocked) };
    for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGCHLD] {
        // SAFETY: see above.
        unsafe { libc::sigaddset(&mut blocked, sig) };
    }
    // SAFETY: see above.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &blocked, &mut saved) };
    let pid = start(&sleeper());
    // The launch left our own mask as it found it.
    // SAFETY: see above.
    let mut now: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &saved, &mut now) };
    // SAFETY: see above.
    assert_eq!(unsafe { libc::sigismember(&now, libc::SIGTERM) }, 1);
    // SAFETY: see above.
    assert_eq!(unsafe { libc::sigismember(&now, libc::SIGINT) }, 0);

    assert_eq!(status_hex(pid, "SigBlk"), 0);
    assert_eq!(status_hex(pid, "SigIgn"), 0);
    kill_and_reap(pid);
}

#[test]
fn shared_console_keeps_the_daemons_descriptors() {
    // SAFETY: F_GETFD only reads a descriptor's flags (EBADF if it is not open).
    if (0..3).any(|fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0) {
        println!("skipped: this test process has no standard descriptors to share");
        return;
    }
    let mut config = sleeper();
    config.stdio = Stdio::Console(Console {
        exclusive: false,
        unmask_intr: false,
    });
    let pid = start(&config);
    for fd in 0..3 {
        let ours = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok();
        let theirs = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok();
        assert_eq!(theirs, ours, "fd {fd}");
    }
    assert_eq!(stat_fields(pid)[STAT_PGRP], pid.to_string());
    assert_eq!(status_hex(pid, "SigBlk"), 0);
    kill_and_reap(pid);
}

// ---------------------------------------------------------------------------------------------
// The console, through a pseudo-terminal: a helper process (this binary again) gets a pty as
// its standard input, as a daemon would have the console, and launches a console service.

fn open_pty() -> (OwnedFd, PathBuf) {
    use std::os::fd::FromRawFd;
    // SAFETY: posix_openpt takes flags only.
    let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    assert!(master >= 0, "posix_openpt");
    // SAFETY: the master is new, and owned from here on.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    // SAFETY: grantpt on the master just opened.
    assert_eq!(unsafe { libc::grantpt(master.as_raw_fd()) }, 0);
    // SAFETY: as grantpt.
    assert_eq!(unsafe { libc::unlockpt(master.as_raw_fd()) }, 0);
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: ptsname_r writes a C string of at most `name.len()` bytes into `name`.
    let rc = unsafe { libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) };
    assert_eq!(rc, 0);
    let path = std::ffi::CStr::from_bytes_until_nul(name.map(|c| c.to_ne_bytes()[0]).as_slice())
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    (master, PathBuf::from(path))
}

/// Runs `console_helper` with the pty slave as stdin; `owns_terminal` makes the pty the
/// helper's controlling terminal first (a daemon started from a shell) rather than a terminal
/// with no session (a daemon as PID 1 on /dev/console).
fn run_console_helper(owns_terminal: bool, unmask_intr: bool) -> String {
    run_console_helper_in(&[], owns_terminal, unmask_intr)
}

/// [`run_console_helper`] with the helper started through `prefix` (a command that runs the
/// rest of its arguments, as `unshare` does).
fn run_console_helper_in(prefix: &[&str], owns_terminal: bool, unmask_intr: bool) -> String {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::process::CommandExt;
    let (_master, slave_path) = open_pty();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&slave_path)
        .unwrap();
    let dir = temp_dir(&format!(
        "console-{owns_terminal}-{unmask_intr}-{}",
        prefix.len()
    ));
    let report = dir.join("report");
    let helper = std::env::current_exe().unwrap();
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut command = std::process::Command::new(program);
            command.args(args).arg(helper);
            command
        }
        None => std::process::Command::new(helper),
    };
    command
        .args([
            "--exact",
            "console_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DINIT_SPAWN_CONSOLE_REPORT", &report)
        .env(
            "DINIT_SPAWN_UNMASK_INTR",
            if unmask_intr { "1" } else { "0" },
        )
        .stdin(slave)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap());
    if owns_terminal {
        let take_terminal = || {
            // SAFETY: setsid takes no arguments.
            if unsafe { libc::setsid() } < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: TIOCSCTTY takes an integer: standard input becomes the controlling
            // terminal.
            if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        };
        // SAFETY: the hook makes only async-signal-safe calls (setsid, ioctl) between fork and
        // exec.
        unsafe { command.pre_exec(take_terminal) };
    }
    let status = command.status().unwrap();
    assert!(
        status.success(),
        "helper failed: {status}; it printed:\n{}",
        std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
    );
    let text = std::fs::read_to_string(&report).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    text
}

/// Not a test: the helper of [`run_console_helper`]. Reports
/// `own-session tty pgrp session tpgid sigblk` about the console child, with the child's pid
/// written as `C`.
#[test]
#[ignore = "helper run by other tests"]
fn console_helper() {
    let Some(report) = std::env::var_os("DINIT_SPAWN_CONSOLE_REPORT") else {
        return;
    };
    let unmask_intr = std::env::var("DINIT_SPAWN_UNMASK_INTR").unwrap() == "1";
    let mut config = sleeper();
    config.stdio = Stdio::Console(Console {
        exclusive: true,
        unmask_intr,
    });
    let pid = start(&config);
    let fields = stat_fields(pid);
    // libc's getsid, not rustix's: in a PID namespace whose creator kept its session (as a CI
    // runner may), the session's leader is invisible and the id is 0.
    // SAFETY: getsid(0) asks about this process.
    let own_session = unsafe { libc::getsid(0) };
    assert!(own_session >= 0, "getsid");
    // The terminal as /proc/<pid>/stat encodes it (tty_nr).
    let rdev = rustix::fs::fstat(std::io::stdin()).unwrap().st_rdev;
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    let own_tty = ((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)).to_string();
    let show = |v: &str| {
        if v == pid.to_string() {
            "C".to_owned()
        } else if v == own_session.to_string() {
            "S".to_owned()
        } else {
            v.to_owned()
        }
    };
    let text = format!(
        "tty-same={} pgrp={} session={} tpgid={} sigblk={:x}\n",
        fields[4] == own_tty && own_tty != "0",
        show(&fields[STAT_PGRP]),
        show(&fields[STAT_SESSION]),
        show(&fields[STAT_TPGID]),
        status_hex(pid, "SigBlk"),
    );
    kill_and_reap(pid);
    std::fs::write(report, text).unwrap();
}

#[test]
fn console_service_takes_a_terminal_without_a_session() {
    assert_eq!(
        run_console_helper(false, false),
        "tty-same=true pgrp=C session=C tpgid=C sigblk=2\n"
    );
}

#[test]
fn console_service_in_a_namespace_that_cannot_see_its_session_leader() {
    // A daemon started by `unshare --pid --fork` (as in a container or a CI runner) keeps a
    // session whose leader is outside its PID namespace: getsid() answers 0 there.
    if !is_root() {
        eprintln!("skipped: creating a PID namespace needs root");
        return;
    }
    assert_eq!(
        run_console_helper_in(
            &["unshare", "--pid", "--fork", "--mount-proc"],
            false,
            false
        ),
        "tty-same=true pgrp=C session=C tpgid=C sigblk=2\n"
    );
}

#[test]
fn console_service_takes_the_daemons_controlling_terminal() {
    assert_eq!(
        run_console_helper(true, true),
        "tty-same=true pgrp=C session=S tpgid=C sigblk=0\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Cgroups

/// A writable cgroup v2 hierarchy's mount point, if there is one.
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let (_, mount, kind) = (words.next()?, words.next()?, words.next()?);
        (kind == "cgroup2").then(|| PathBuf::from(mount))
    })
}

#[test]
fn child_enters_its_cgroup() {
    let Some(mount) = cgroup2_mount() else {
        println!("skipped: no cgroup2 hierarchy mounted");
        return;
    };
    let name = format!("dinit-spawn-test-{}", std::process::id());
    let dir = mount.join(&name);
    if let Err(e) = std::fs::create_dir(&dir) {
        println!(
            "skipped: cannot create a cgroup under {}: {e}",
            mount.display()
        );
        return;
    }
    let mut config = sleeper();
    config.cgroup = Some(path_bytes(&dir));
    let (child, outcome) = launch(&config);
    if let ExecOutcome::Failed(failure) = outcome {
        wait_exit(child.pid);
        let _ = std::fs::remove_dir(&dir);
        // The kernel refuses moves into an inner cgroup with controllers enabled (EBUSY) or
        // across delegation boundaries; that is the machine, not the launcher.
        assert_eq!(failure.stage, ExecStage::EnterCgroup);
        println!("skipped: this machine refuses the cgroup move: {failure}");
        return;
    }
    let own = own_v2_path(&proc_file(child.pid, "cgroup"));
    // Our mount may be a sub-tree (a cgroup namespace); the path ends with our directory.
    assert!(own.ends_with(&format!("/{name}")), "{own}");
    kill_and_reap(child.pid);
    std::fs::remove_dir(&dir).unwrap();
}

fn own_v2_path(proc_cgroup: &str) -> String {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap()
        .to_owned()
}

#[test]
fn many_children_in_parallel_threads() {
    // Launches from several threads at once: each child must get only its own pipes.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..10 {
                    let (config, read, write) = shell_to_pipe(&format!("echo {t}-{i}"));
                    let out = run_shell(&config, read, write, LaunchFds::default());
                    assert_eq!(out, format!("{t}-{i}\n"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn status_pipe_is_non_blocking_and_close_on_exec() {
    // The status pipe read end is non-blocking and close-on-exec.
    let (mut child, _) = {
        let spec = Rc::new(SpawnSpec::new(&sleeper()).unwrap());
        let none: [CString; 0] = [];
        let child = spawn(&spec, &LaunchFds::default(), &none).unwrap();
        (child, ())
    };
    let flags = rustix::fs::fcntl_getfl(&child.status).unwrap();
    assert!(flags.contains(rustix::fs::OFlags::NONBLOCK));
    assert!(!rustix::io::fcntl_getfd(&child.status).unwrap().is_empty());
    assert!(child.status.as_fd().as_raw_fd() > 2);
    assert_eq!(child.status.wait().unwrap(), ExecOutcome::Started);
    kill_and_reap(child.pid);
}
