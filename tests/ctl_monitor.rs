#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dinit-monitor` against a scripted fake daemon (dinit-monitor(8), CONTROL.md §5.1): it acts on
//! the legacy SERVICEEVENT only, substitutes %n/%v/%s/%%, and watches the environment with
//! -E.

mod harness;

use harness::fake_daemon::*;

fn monitor(t: &TestDir, script: Vec<Step>, args: &[&str]) -> Out {
    session_of(t, script, |sock| dinit_monitor(sock, args))
}

#[test]
fn service_events_run_the_command() {
    let t = TestDir::new("mon");
    // A SERVICEEVENT5 alone is not acted upon; the legacy packet is.
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(0, 0, 0)),
        Send(event5(0, 1, St::new(0, 0, 0, 0))),
        Send(event_pair(0, 0, St::new(2, 2, 0x18, 0).detail(5, 0))),
    ]);
    let out = monitor(&t, s, &["-e", "-c", "echo %n is %s 100%%", "sleeper"]);
    assert_eq!(out.triple(), ("sleeper is started 100%\n", "", 0));
    // Several services and events until the daemon goes away; custom texts; cancellations
    // and events of unknown handles are ignored.
    let s = with_handshake(vec![
        Recv(load("a")),
        Send(record(0, 0, 0)),
        Recv(load("b")),
        Send(record(2, 1, 2)),
        Send(event_pair(0, 3, St::new(0, 0, 0, 0))),
        Send(event_pair(9, 0, St::new(2, 2, 0, 0))),
        Send(event_pair(0, 2, St::new(0, 0, 0, 3).detail(1, 1))),
        Send(event_pair(1, 1, St::new(0, 0, 0, 0))),
        Close,
    ]);
    let out = monitor(
        &t,
        s,
        &[
            "--str-failed",
            "FAIL",
            "--str-stopped",
            "down",
            "-c",
            "echo %n %s",
            "a",
            "b",
        ],
    );
    assert_eq!(
        out.triple(),
        (
            "a FAIL\nb down\n",
            "dinit-monitor: connection closed by server\n",
            1
        )
    );
    // --initial reports the states at start-up.
    let s = with_handshake(vec![
        Recv(load("a")),
        Send(record(2, 0, 2)),
        Recv(load("b")),
        Send(record(0, 1, 0)),
        Close,
    ]);
    let out = monitor(&t, s, &["-i", "-c", "echo %n %s", "a", "b"]);
    assert_eq!(out.stdout, "a started\nb stopped\n");
    let s = with_handshake(vec![Recv(load("a")), Send(record(2, 0, 2))]);
    let out = monitor(
        &t,
        s,
        &["-i", "-e", "--str-started", "up", "-c", "echo %n %s", "a"],
    );
    assert_eq!(out.triple(), ("a up\n", "", 0));
}

#[test]
fn service_mode_errors() {
    let t = TestDir::new("monerr");
    let s = with_handshake(vec![Recv(load("nosuch")), Send(hex("3c"))]);
    let out = monitor(&t, s, &["-c", "echo", "nosuch"]);
    assert_eq!(
        out.triple(),
        ("", "dinit-monitor: cannot load service: nosuch\n", 1)
    );
    let s = with_handshake(vec![Recv(load("bad")), Send(hex("47"))]);
    let out = monitor(&t, s, &["-c", "echo", "bad"]);
    assert_eq!(out.triple(), ("", "dinit-monitor: protocol error\n", 1));
    // A reply while monitoring.
    let s = with_handshake(vec![
        Recv(load("a")),
        Send(record(0, 0, 0)),
        Send(hex("32")),
    ]);
    let out = monitor(&t, s, &["-c", "echo", "a"]);
    assert_eq!(out.triple(), ("", "dinit-monitor: protocol error\n", 1));
    // Command-line errors need no daemon.
    let nosock = t.path.join("nosock");
    let out = dinit_monitor(&nosock, &["a"]);
    assert_eq!(
        out.triple(),
        ("", "dinit-monitor: command must specified\n", 1)
    );
    let out = dinit_monitor(&nosock, &["-c", "echo"]);
    assert_eq!(out.code, 1);
    // Status 1, as from Dinit's dinit-monitor.
    let out = dinit_monitor(&nosock, &["--help"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("--command"));
    let out = dinit_monitor(&nosock, &["-c", "echo", "a"]);
    assert_eq!(
        out.stderr,
        format!(
            "dinit-monitor: connecting to socket {}: No such file or directory\n",
            nosock.display()
        )
    );
}

#[test]
fn environment_mode() {
    let t = TestDir::new("monenv");
    // V41-V45: LISTENENV, then ENVEVENTs.
    let s = with_handshake(vec![
        Recv(hex("1b")),
        Send(hex("32")),
        Send(hex("66 05 01 08 00 46 4f 4f 3d 62 61 7a 00")),
    ]);
    let out = monitor(&t, s, &["-E", "-e", "-c", "echo %n=%v %s"]);
    assert_eq!(out.triple(), ("FOO=baz set\n", "", 0));
    // Only the named variables; an unset has an empty value.
    let s = with_handshake(vec![
        Recv(hex("1b")),
        Send(hex("32")),
        Send(hex("66 05 00 04 00 'A=1' 00")),
        Send(hex("66 05 01 04 00 46 4f 4f 00")),
    ]);
    let out = monitor(
        &t,
        s,
        &["--env", "--exit", "-c", "echo [%n] [%v] %s", "FOO"],
    );
    assert_eq!(out.triple(), ("[FOO] [] unset\n", "", 0));
    // --initial: GETALLENV after LISTENENV; only the named variables that are set are
    // reported (as by Dinit's monitor).
    let s = with_handshake(vec![
        Recv(hex("1b")),
        Send(hex("32")),
        Recv(hex("18 00")),
        Send(allenv(&["A=1", "B=two words", "C=3"])),
        Send(hex("66 05 01 04 00 'B=3' 00")),
        Close,
    ]);
    let out = monitor(
        &t,
        s,
        &[
            "-E",
            "-i",
            "--str-set",
            "+",
            "--str-unset",
            "-",
            "-c",
            "echo %n %v %s",
            "B",
            "D",
        ],
    );
    assert_eq!(
        out.triple(),
        (
            "B two words +\nB 3 +\n",
            "dinit-monitor: connection closed by server\n",
            1
        )
    );
    // Protocol 4 has no LISTENENV.
    let s = handshake_v(4);
    let out = monitor(&t, s, &["-E", "-c", "echo"]);
    assert_eq!(
        out.triple(),
        ("", "dinit-monitor: daemon too old or protocol error\n", 1)
    );
}
