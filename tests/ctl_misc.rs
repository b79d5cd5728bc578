#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The other `dinitctl` commands against a fake daemon (CONTROL.md §6.5, §6.6, §6.7, §6.8 and the
//! transcripts of PROTOCOL.md §11), connection errors, socket selection (PROTOCOL.md §2.3, §2.5),
//! version negotiation (PROTOCOL.md §5) and the command line.

mod harness;

use harness::fake_daemon::*;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

#[test]
fn unload_and_reload() {
    let t = TestDir::new("unload");
    // PROTOCOL.md §11.5: "unload internal" (not loaded) and "unload sleeper" (running).
    let s = with_handshake(vec![Recv(hex("01 08 00 'internal'")), Send(hex("3c"))]);
    let out = session(&t, s, &["unload", "internal"]);
    assert_eq!(out.triple(), ("", "dinitctl: service not loaded.\n", 1));
    let s = with_handshake(vec![
        Recv(find("internal")),
        Send(record(0, 0, 0)),
        Recv(hex("09 00 00 00 00")),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["unload", "internal"]);
    assert_eq!(out.triple(), ("Service 'internal' unloaded.\n", "", 0));
    let s = with_handshake(vec![
        Recv(find("sleeper")),
        Send(record(2, 0, 2)),
        Recv(hex("09 00 00 00 00")),
        Send(hex("33")),
    ]);
    let out = session(&t, s, &["unload", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: could not unload service; service not stopped, or is a dependency of another service.\n",
            1
        )
    );
    // PROTOCOL.md §11.5 "reload scripted".
    let s = with_handshake(vec![
        Recv(hex("01 08 00 'scripted'")),
        Send(hex("3b 02 00 00 00 00 02")),
        Recv(hex("10 00 00 00 00")),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["reload", "scripted"]);
    assert_eq!(out.triple(), ("Service 'scripted' reloaded.\n", "", 0));
    let s = with_handshake(vec![
        Recv(find("sleeper")),
        Send(record(2, 0, 2)),
        Recv(hex("10 00 00 00 00")),
        Send(hex("33")),
    ]);
    let out = session(&t, s, &["reload", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: could not reload service; service in wrong state, incompatible change, or bad service description.\n",
            1
        )
    );
    // Not loaded: loaded instead.
    let s = with_handshake(vec![
        Recv(find("nosuch")),
        Send(hex("3c")),
        Recv(load("nosuch")),
        Send(hex("3c")),
    ]);
    let out = session(&t, s, &["reload", "nosuch"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: failed to find service description.\ndinitctl: check service description file exists / service name spelling.\n",
            1
        )
    );
    let s = with_handshake(vec![
        Recv(find("fresh")),
        Send(hex("3c")),
        Recv(load("fresh")),
        Send(record(0, 0, 0)),
    ]);
    let out = session(&t, s, &["reload", "fresh"]);
    assert_eq!(out.triple(), ("Service 'fresh' reloaded.\n", "", 0));
}

#[test]
fn dependencies() {
    // CONTROL.md §6.6 and PROTOCOL.md §11.5.
    let t = TestDir::new("deps");
    let two = |to: &str| {
        vec![
            Recv(load("scripted")),
            Send(record(0, 0, 0)),
            Recv(load(to)),
            Send(record(0, 1, 0)),
        ]
    };
    let mut s = with_handshake(two("trig"));
    s.extend([Recv(hex("0b 02 00 00 00 00 01 00 00 00")), Send(hex("32"))]);
    let out = session(&t, s, &["add-dep", "waits-for", "scripted", "trig"]);
    assert_eq!(
        out.triple(),
        ("Service 'scripted': dependency 'trig' added\n", "", 0)
    );
    let mut s = with_handshake(two("trig"));
    s.extend([Recv(hex("0c 02 00 00 00 00 01 00 00 00")), Send(hex("32"))]);
    let out = session(&t, s, &["rm-dep", "waits-for", "scripted", "trig"]);
    assert_eq!(
        out.triple(),
        ("Service 'scripted': dependency 'trig' removed\n", "", 0)
    );
    let mut s = with_handshake(two("trig"));
    s.extend([Recv(hex("0c 02 00 00 00 00 01 00 00 00")), Send(hex("33"))]);
    let out = session(&t, s, &["rm-dep", "waits-for", "scripted", "trig"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: no such dependency to remove\n", 1)
    );
    let mut s = with_handshake(two("trig"));
    s.extend([Recv(hex("0b 00 00 00 00 00 01 00 00 00")), Send(hex("33"))]);
    let out = session(&t, s, &["add-dep", "need", "scripted", "trig"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: could not add dependency: circular dependency or wrong state\n",
            1
        )
    );
    let mut s = with_handshake(two("x"));
    s.extend([Recv(hex("0b 03 00 00 00 00 01 00 00 00")), Send(hex("32"))]);
    let out = session(&t, s, &["add-dep", "milestone", "scripted", "x"]);
    assert_eq!(out.code, 0);
    let mut s = with_handshake(two("x"));
    s.extend([Recv(hex("0b 00 00 00 00 00 01 00 00 00")), Send(hex("32"))]);
    let out = session(&t, s, &["add-dep", "regular", "scripted", "x"]);
    assert_eq!(out.code, 0);
    // "add-dep need sleeper sleeper": the daemon answers BADREQ (PROTOCOL.md §10 item 7).
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(2, 0, 2)),
        Recv(load("sleeper")),
        Send(record(2, 1, 2)),
        Recv(hex("0b 00 00 00 00 00 01 00 00 00")),
        Send(hex("34")),
        Close,
    ]);
    let out = session(&t, s, &["add-dep", "need", "sleeper", "sleeper"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: control socket protocol error\n", 1)
    );
}

#[test]
fn environment() {
    let t = TestDir::new("env");
    // PROTOCOL.md §11.5 "setenv FOO=baz X" with X unset in dinitctl's environment.
    let s = with_handshake(vec![
        Recv(hex("11 07 00 46 4f 4f 3d 62 61 7a")),
        Send(hex("32")),
        Recv(hex("11 02 00 58 3d")),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["setenv", "FOO=baz", "X"]);
    assert_eq!(out.triple(), ("", "", 0));
    // A name alone takes its value from dinitctl's environment.
    let sock = t.sock();
    let _ = std::fs::remove_file(&sock);
    let server = Server::script(
        &sock,
        with_handshake(vec![Recv(setenv("MYVAR=my value")), Send(hex("32"))]),
    );
    let out = run_program(
        env!("CARGO_BIN_EXE_dinitctl"),
        &["-p", sock.to_str().unwrap(), "setenv", "MYVAR"],
        &[("MYVAR", "my value")],
    );
    server.finish();
    assert_eq!(out.triple(), ("", "", 0));
    // CONTROL.md §6.7.
    let s = with_handshake(vec![
        Recv(setenv("A=1")),
        Send(hex("32")),
        Recv(setenv("B=2")),
        Send(hex("32")),
        Recv(setenv("C=3")),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["setenv", "A=1", "B=2", "C=3"]);
    assert_eq!(out.triple(), ("", "", 0));
    let s = with_handshake(vec![Recv(hex("11 01 00 58")), Send(hex("32"))]);
    let out = session(&t, s, &["unsetenv", "X"]);
    assert_eq!(out.triple(), ("", "", 0));
    let s = with_handshake(vec![]);
    let out = session(&t, s, &["unsetenv", "FOO=1"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: environment variable 'FOO=1' must not contain the '=' sign.\n",
            1
        )
    );
    // The earlier arguments were already sent.
    let s = with_handshake(vec![Recv(setenv("A")), Send(hex("32"))]);
    let out = session(&t, s, &["unsetenv", "A", "B=1"]);
    assert_eq!(out.code, 1);
    let s = with_handshake(vec![Recv(setenv("=bad")), Send(hex("34")), Close]);
    let out = session(&t, s, &["setenv", "=bad"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: failed to export environment.\n", 1)
    );
    let s = with_handshake(vec![Recv(setenv("A=1")), Send(hex("33"))]);
    let out = session(&t, s, &["setenv", "A=1"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error\n", 1));
    // Longer than a request can be.
    let long = format!("LONG={}", "x".repeat(1017));
    let s = with_handshake(vec![]);
    let out = session(&t, s, &["setenv", &long]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: environment variable 'LONG' too long.\n", 1)
    );
    let longest = format!("LONG={}", "x".repeat(1016));
    let s = with_handshake(vec![Recv(setenv(&longest)), Send(hex("32"))]);
    let out = session(&t, s, &["setenv", &longest]);
    assert_eq!(out.code, 0);
}

#[test]
fn triggers() {
    let t = TestDir::new("trigger");
    // PROTOCOL.md §11.5: "trigger trig" and "untrigger".
    let s = with_handshake(vec![
        Recv(load("trig")),
        Send(record(1, 0, 2)),
        Recv(hex("13 00 00 00 00 01")),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["trigger", "trig"]);
    assert_eq!(out.triple(), ("", "", 0));
    let s = with_handshake(vec![
        Recv(load("trig")),
        Send(record(2, 0, 2)),
        Recv(hex("13 00 00 00 00 00")),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["untrigger", "trig"]);
    assert_eq!(out.triple(), ("", "", 0));
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(2, 0, 2)),
        Recv(hex("13 00 00 00 00 01")),
        Send(hex("33")),
    ]);
    let out = session(&t, s, &["trigger", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: cannot trigger a service that is not of 'triggered' type.\n",
            1
        )
    );
    // Protocol 1 has no SETTRIGGER.
    let s = handshake_v(1);
    let out = session(&t, s, &["trigger", "trig"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: daemon too old or protocol error\n", 1)
    );
}

fn service_log(text: &[u8]) -> Vec<u8> {
    let mut v = vec![0x49, 0];
    v.extend_from_slice(&(text.len() as u32).to_le_bytes());
    v.extend_from_slice(text);
    v
}

#[test]
fn catlog() {
    let t = TestDir::new("catlog");
    let log = |flags: &str, text: &[u8]| {
        with_handshake(vec![
            Recv(load("logged")),
            Send(record(2, 0, 2)),
            Recv(hex(&format!("14 {flags} 00 00 00 00"))),
            Send(service_log(text)),
        ])
    };
    // CONTROL.md §6.7.
    let out = session(
        &t,
        log("00", b"hello from logged\nsecond line\n"),
        &["catlog", "logged"],
    );
    assert_eq!(out.triple(), ("hello from logged\nsecond line\n", "", 0));
    let out = session(
        &t,
        log("01", b"hello from logged\nsecond line\n"),
        &["catlog", "--clear", "logged"],
    );
    assert_eq!(out.code, 0);
    let out = session(&t, log("00", b""), &["catlog", "logged"]);
    assert_eq!(out.triple(), ("", "", 0));
    // PROTOCOL.md §11.5 "catlog partial".
    let s = with_handshake(vec![
        Recv(load("partial")),
        Send(record(0, 0, 0)),
        Recv(hex("14 00 00 00 00 00")),
        Send(hex(
            "49 00 13 00 00 00 6c 69 6e 65 20 6f 6e 65 0a 6e 6f 20 6e 65 77 6c 69 6e 65",
        )),
    ]);
    let out = session(&t, s, &["catlog", "partial"]);
    assert_eq!(
        out.triple(),
        (
            "line one\nno newline\n(last line is truncated or incomplete)\n",
            "",
            0
        )
    );
    // A log far larger than one read.
    let big: Vec<u8> = (0..5005).map(|i| b"abcdefghij\n"[i % 11]).collect();
    let out = session(&t, log("00", &big), &["catlog", "logged"]);
    assert!(
        out.stdout.as_bytes() == big,
        "log of {} bytes",
        out.stdout.len()
    );
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(2, 0, 2)),
        Recv(hex("14 00 00 00 00 00")),
        Send(hex("33")),
    ]);
    let out = session(&t, s, &["catlog", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: cannot cat log for service not configured to buffer output.\n",
            1
        )
    );
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(2, 0, 2)),
        Recv(hex("14 00 00 00 00 00")),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["catlog", "sleeper"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error.\n", 1));
}

#[test]
fn signals() {
    let t = TestDir::new("signal");
    let sig = |name: &str, wire: &str, reply: &str| {
        with_handshake(vec![
            Recv(load(name)),
            Send(record(2, 0, 2)),
            Recv(hex(&format!("15 {wire} 00 00 00 00"))),
            Send(hex(reply)),
        ])
    };
    // CONTROL.md §6.7 and PROTOCOL.md §11.5.
    let out = session(
        &t,
        sig("killed", "09 00 00 00", "32"),
        &["signal", "KILL", "killed"],
    );
    assert_eq!(out.triple(), ("", "", 0));
    let out = session(
        &t,
        sig("sleeper", "0a 00 00 00", "32"),
        &["signal", "USR1", "sleeper"],
    );
    assert_eq!(out.triple(), ("", "", 0));
    let out = session(
        &t,
        sig("sleeper", "0f 00 00 00", "4a"),
        &["signal", "TERM", "sleeper"],
    );
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: could not get valid PID of service; service is not process-based or is in wrong state.\n",
            1
        )
    );
    let out = session(
        &t,
        sig("sleeper", "63 00 00 00", "4b"),
        &["signal", "99", "sleeper"],
    );
    assert_eq!(
        out.triple(),
        ("", "dinitctl: provided signal was invalid.\n", 1)
    );
    let out = session(
        &t,
        sig("sleeper", "01 00 00 00", "4c"),
        &["signal", "HUP", "sleeper"],
    );
    assert_eq!(
        out.triple(),
        ("", "dinitctl: failed sending signal to service.\n", 1)
    );
    let out = session(
        &t,
        sig("sleeper", "00 00 00 00", "33"),
        &["signal", "0", "sleeper"],
    );
    assert_eq!(out.triple(), ("", "dinitctl: protocol error.\n", 1));
    // Refused before connecting.
    for word in ["FOO", "none", "NONE", "kill"] {
        let out = dinitctl(&t.path.join("nosock"), &["signal", word, "sleeper"]);
        assert_eq!(
            out.triple(),
            (
                "",
                format!("dinitctl: '{word}' is not a valid signal name/number\n").as_str(),
                1
            )
        );
    }
    let expected = "dinitctl: The following signal names are supported:\n\
dinitctl: HUP  -> 1\ndinitctl: INT  -> 2\ndinitctl: QUIT -> 3\ndinitctl: KILL -> 9\n\
dinitctl: USR1 -> 10\ndinitctl: USR2 -> 12\ndinitctl: TERM -> 15\ndinitctl: CONT -> 18\n\
dinitctl: STOP -> 19\n";
    for flag in ["-l", "--list"] {
        let out = dinitctl(&t.path.join("nosock"), &["signal", flag]);
        assert_eq!(out.triple(), (expected, "", 0));
    }
}

#[test]
fn shutdown() {
    let t = TestDir::new("shutdown");
    // PROTOCOL.md §11.5: SHUTDOWN HALT, ACK, the events of the services stopping, then EOF.
    let s = with_handshake(vec![
        Recv(hex("0a 02")),
        Send(hex("32")),
        Send(event_pair(0, 1, St::new(0, 0, 0, 0))),
        Close,
    ]);
    let out = session(&t, s, &["shutdown"]);
    assert_eq!(
        out.triple(),
        ("Shutting down dinit...\nConnection closed.\n", "", 0)
    );
    let s = with_handshake(vec![Recv(hex("0a 02")), Send(hex("33"))]);
    let out = session(&t, s, &["shutdown"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: control socket protocol error\n", 1)
    );
}

#[test]
fn connection_errors() {
    // CONTROL.md §6.8.
    let t = TestDir::new("connect");
    let tmp = t.path.to_str().unwrap();
    let nosock = format!("{tmp}/nosock");
    let ctl = env!("CARGO_BIN_EXE_dinitctl");
    let out = run_program(ctl, &["-p", &nosock, "list"], &[]);
    assert_eq!(
        out.triple(),
        (
            "",
            format!("dinitctl: connecting to socket: {nosock}: No such file or directory\n")
                .as_str(),
            1
        )
    );
    // -p wins even in user mode: no hint.
    let out = run_program(ctl, &["-u", "-p", &nosock, "list"], &[]);
    assert!(!out.stderr.contains("perhaps"), "{out:?}");
    let hint = "dinitctl: perhaps no user instance is running?\n";
    let out = run_program(ctl, &["-u", "list"], &[("DINIT_SOCKET_PATH", &nosock)]);
    assert_eq!(
        out.triple(),
        (
            "",
            format!("dinitctl: connecting to socket: {nosock}: No such file or directory\n{hint}")
                .as_str(),
            1
        )
    );
    let out = run_program(ctl, &["-u", "list"], &[("HOME", tmp)]);
    assert_eq!(
        out.stderr,
        format!(
            "dinitctl: connecting to socket: {tmp}/.dinitctl: No such file or directory\n{hint}"
        )
    );
    let out = run_program(
        ctl,
        &["-u", "list"],
        &[("XDG_RUNTIME_DIR", &format!("{tmp}/xdg")), ("HOME", tmp)],
    );
    assert_eq!(
        out.stderr,
        format!(
            "dinitctl: connecting to socket: {tmp}/xdg/dinitctl: No such file or directory\n{hint}"
        )
    );
    // System mode uses /run/dinitctl and gives no hint.
    if !std::path::Path::new("/run/dinitctl").exists() {
        let out = run_program(ctl, &["-s", "list"], &[]);
        assert_eq!(
            out.triple(),
            (
                "",
                "dinitctl: connecting to socket: /run/dinitctl: No such file or directory\n",
                1
            )
        );
    }
    // A socket file nobody listens on.
    let dead = t.path.join("dead");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    let out = dinitctl(&dead, &["list"]);
    assert_eq!(
        out.stderr,
        format!(
            "dinitctl: connecting to socket: {}: Connection refused\n",
            dead.display()
        )
    );
}

#[test]
fn version_negotiation() {
    let t = TestDir::new("version");
    // Info packets before CPVERSION are skipped.
    let s = vec![
        Recv(hex("00")),
        Send(event_pair(3, 1, St::new(0, 0, 0, 0))),
        Send(hex("3a 01 00 07 00")),
        Recv(hex("19")),
        Send(hex("3f")),
    ];
    let out = session(&t, s, &["list"]);
    assert_eq!(out.triple(), ("", "", 0));
    let s = vec![Recv(hex("00")), Send(hex("3a 08 00 09 00"))];
    let out = session(&t, s, &["list"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: client too old or protocol error\n", 1)
    );
    let s = vec![Recv(hex("00")), Send(hex("3a 00 00 00 00"))];
    let out = session(&t, s, &["list"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: daemon too old or protocol error\n", 1)
    );
    let s = vec![Recv(hex("00")), Send(hex("33"))];
    let out = session(&t, s, &["list"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: control socket read failure or protocol error\n",
            1
        )
    );
    let s = vec![Recv(hex("00")), Close];
    let out = session(&t, s, &["list"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: control socket read failure or protocol error\n",
            1
        )
    );
    // A newer daemon (min 1, current 9) is used at our version 7.
    let s = vec![
        Recv(hex("00")),
        Send(hex("3a 01 00 09 00")),
        Recv(hex("19")),
        Send(hex("3f")),
    ];
    let out = session(&t, s, &["list"]);
    assert_eq!(out.code, 0);
    // Gating: catlog and signal need protocol 2.
    for args in [&["catlog", "x"][..], &["signal", "HUP", "x"]] {
        let out = session(&t, handshake_v(1), args);
        assert_eq!(
            out.triple(),
            ("", "dinitctl: daemon too old or protocol error\n", 1)
        );
    }
    // A load reply that is not valid (state 9).
    let s = with_handshake(vec![Recv(load("x")), Send(hex("3b 09 00 00 00 00 00"))]);
    let out = session(&t, s, &["unpin", "x"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error\n", 1));
    // Bytes that are no packet at all.
    let s = with_handshake(vec![Recv(load("x")), Send(hex("05"))]);
    let out = session(&t, s, &["unpin", "x"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: control socket read failure or protocol error\n",
            1
        )
    );
}

#[test]
fn command_line() {
    let t = TestDir::new("cmdline");
    let nosock = t.path.join("nosock");
    let invalid = "dinitctl: Invalid command line.\nTry 'dinitctl --help' for more information.\n";
    for args in [
        &["start"][..],
        &["start", "a", "b"],
        &["status", "--force", "a"],
        &["add-dep", "soft", "a", "b"],
    ] {
        let out = dinitctl(&nosock, args);
        assert_eq!(out.triple(), ("", invalid, 1), "{args:?}");
    }
    // Errors with a message of their own, as Dinit's dinitctl words them.
    for (args, message) in [
        (
            &["bogus"][..],
            "unrecognized command: bogus (use --help for help)",
        ),
        (
            &["--frobnicate", "list"],
            "unrecognized/invalid option: --frobnicate (use --help for help)",
        ),
        (
            &["-o", "enable", "--from", "x@y", "z"],
            "cannot enable/disable from a service with argument (service@arg).",
        ),
    ] {
        let out = dinitctl(&nosock, args);
        assert_eq!(
            out.triple(),
            ("", format!("dinitctl: {message}\n").as_str(), 1),
            "{args:?}"
        );
    }
    // No arguments: the help.
    let out = run_program(env!("CARGO_BIN_EXE_dinitctl"), &[], &[]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("dinitctl [options] start"));
    let out = dinitctl(&nosock, &["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("dinitctl [options] start"));
    let out = dinitctl(&nosock, &["--version"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("Dinit version "));
    assert!(out.stdout.ends_with(".\n"));
}

/// Spawns dinitctl with one end of a socket pair as an inherited descriptor.
fn with_passed_fd(script: Vec<Step>, args: &[&str], cs_fd: Option<&str>) -> Out {
    let (ours, theirs) = UnixStream::pair().unwrap();
    // As the daemon does (PROTOCOL.md §2.5): both ends non-blocking; the client must clear it.
    ours.set_nonblocking(false).unwrap();
    theirs.set_nonblocking(true).unwrap();
    let fd = theirs.as_raw_fd();
    // SAFETY: reads the flags of `theirs`, open until the end of this function.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    // SAFETY: clears close-on-exec on it, so that the client inherits it.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) };
    let server = std::thread::spawn(move || play(ours, &script));
    let fd_text = fd.to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dinitctl"));
    cmd.args(args)
        .env_clear()
        .env("DINIT_CS_FD", cs_fd.unwrap_or(&fd_text))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    drop(theirs);
    let out = wait_output(child);
    server.join().unwrap().unwrap();
    out
}

#[test]
fn use_passed_cfd() {
    // PROTOCOL.md §2.5: the observed pass-cs-fd session; the passed descriptor wins over -p.
    let s = with_handshake(vec![
        Recv(find("passcs")),
        Send(record(1, 0, 2)),
        Recv(dscdir_req(0)),
        Send(dscdir(std::path::Path::new("/fake/sd"))),
        Recv(req_h(&[0x1c], 0)),
        Send(status30(St::new(1, 2, 0x18, 0).detail(6451, 0))),
    ]);
    let out = with_passed_fd(
        s,
        &[
            "--use-passed-cfd",
            "-p",
            "/nonexistent/sock",
            "status",
            "passcs",
        ],
        None,
    );
    assert_eq!(
        out.triple(),
        (
            "Service: passcs\n    File: /fake/sd/passcs\n    State: STARTING\n    Activation: explicitly started\n    Process ID: 6451\n",
            "",
            0
        )
    );
}

#[test]
fn unusable_passed_fd_falls_back() {
    // An unparsable DINIT_CS_FD: the socket path is used.
    let t = TestDir::new("cfd");
    let sock = t.sock();
    let server = Server::script(
        &sock,
        with_handshake(vec![Recv(hex("19")), Send(hex("3f"))]),
    );
    let out = run_program(
        env!("CARGO_BIN_EXE_dinitctl"),
        &["--use-passed-cfd", "-p", sock.to_str().unwrap(), "list"],
        &[("DINIT_CS_FD", "not-a-number")],
    );
    server.finish();
    assert_eq!(out.triple(), ("", "", 0));
}
