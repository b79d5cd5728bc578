#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dinitctl start/stop/restart/wake/release/unpin` against a scripted fake daemon: the observed
//! sessions of CONTROL.md §6.1-6.4, the wire transcripts of PROTOCOL.md §11, and the cases where
//! events arrive before the reply (PROTOCOL.md §10 item 4).

mod harness;

use harness::fake_daemon::*;
use std::path::{Path, PathBuf};

const STOPPED: u8 = 0;
const STARTING: u8 = 1;
const STARTED: u8 = 2;
const STOPPING: u8 = 3;

const EV_STARTED: u8 = 0;
const EV_STOPPED: u8 = 1;
const EV_FAILED: u8 = 2;
const EV_START_CANCELLED: u8 = 3;
const EV_STOP_CANCELLED: u8 = 4;

/// A directory the client cannot stat: the pre-start check then sends no status request.
fn nodir() -> PathBuf {
    PathBuf::from("/nonexistent-dinit-test-dir")
}

/// The pre-start check of a v6+ daemon whose service directory does not exist.
fn dscdir_only(h: u32) -> Vec<Step> {
    vec![Recv(dscdir_req(h)), Send(dscdir(&nodir()))]
}

/// The pre-start check with a real file: DSCDIR, then SERVICESTATUS6 reporting `mtime`.
fn mtime_check(h: u32, dir: &Path, st: St) -> Vec<Step> {
    vec![
        Recv(dscdir_req(h)),
        Send(dscdir(dir)),
        Recv(req_h(&[0x1c], h)),
        Send(status30(st)),
    ]
}

fn steps(parts: Vec<Vec<Step>>) -> Vec<Step> {
    let mut s = handshake();
    for p in parts {
        s.extend(p);
    }
    s
}

fn start_flags(cmd: u8, flags: u8, h: u32) -> Vec<u8> {
    req_h(&[cmd, flags], h)
}

#[test]
fn start_sleeper_wire_transcript() {
    // PROTOCOL.md §11.1 "dinitctl start sleeper": the client checks the description's mtime first.
    let t = TestDir::new("start");
    let f = t.write("sd/sleeper", "type = process\ncommand = /bin/sleep 1000\n");
    let sd = t.path.join("sd");
    let script = with_handshake(vec![
        Recv(hex("02 07 00 73 6c 65 65 70 65 72")),
        Send(hex("3b 00 00 00 00 00 00")),
        Recv(hex("16 00 00 00 00 00")),
        Send(dscdir(&sd)),
        Recv(hex("1c 00 00 00 00")),
        Send(status30(
            St::new(0, 0, 0, 0).detail(2, 15).mtime(mtime_of(&f)),
        )),
        Recv(hex("03 00 00 00 00 00")),
        Send(hex("32")),
        Send(hex(
            "65 15 00 00 00 00 00 02 02 18 00 00 00 e0 79 00 00 00 00 00 00",
        )),
        Send(hex("64 11 00 00 00 00 00 02 02 18 00 00 00 e0 79 00 00")),
    ]);
    let out = session(&t, script, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' started.\n", "", 0));
}

#[test]
fn start_modified_description_warns() {
    // CONTROL.md §6.1: "start scripted" after the file was touched.
    let t = TestDir::new("modified");
    let f = t.write("sd/scripted", "type = scripted\ncommand = /bin/true\n");
    let (sec, nsec) = mtime_of(&f);
    let script = steps(vec![
        vec![Recv(load("scripted")), Send(record(STOPPED, 0, STOPPED))],
        mtime_check(0, &t.path.join("sd"), St::default().mtime((sec - 5, nsec))),
        vec![
            Recv(start_flags(3, 0, 0)),
            Send(hex("32")),
            Send(event_pair(
                0,
                EV_STARTED,
                St::new(STARTED, STARTED, 0x08, 0).detail(1, 0),
            )),
        ],
    ]);
    let out = session(&t, script, &["start", "scripted"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'scripted' started.\n",
            "dinitctl: warning: service description may have changed; use 'dinitctl reload scripted' to apply changes.\n",
            0
        )
    );
}

#[test]
fn start_already_started_and_synchronous_start() {
    let t = TestDir::new("already");
    // Already started when loaded: "(already)".
    let script = steps(vec![
        vec![Recv(load("sleeper")), Send(record(STARTED, 0, STARTED))],
        dscdir_only(0),
        vec![Recv(start_flags(3, 0, 0)), Send(hex("3d"))],
    ]);
    let out = session(&t, script, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("Service (already) started.\n", "", 0));
    // An internal service starts while the request is processed: STARTED events come before
    // ALREADYSS (PROTOCOL.md §4.4), and the message has no name (PROTOCOL.md §10 item 5).
    let script = steps(vec![
        vec![Recv(load("internal")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![
            Recv(start_flags(3, 0, 0)),
            Send(event_pair(
                0,
                EV_STARTED,
                St::new(STARTED, STARTED, 0x08, 0),
            )),
            Send(hex("3d")),
        ],
    ]);
    let out = session(&t, script, &["start", "internal"]);
    assert_eq!(out.triple(), ("Service started.\n", "", 0));
    // stop of the same: "Service stopped."
    let script = steps(vec![vec![
        Recv(load("internal")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(4, 0x02, 0)),
        Send(event_pair(0, EV_STOPPED, St::new(STOPPED, STOPPED, 0, 0))),
        Send(hex("3d")),
    ]]);
    let out = session(&t, script, &["stop", "internal"]);
    assert_eq!(out.triple(), ("Service stopped.\n", "", 0));
}

#[test]
fn stop_with_dependents_wire_transcript() {
    // PROTOCOL.md §11.2 "dinitctl stop sleeper" (dependent running), output of CONTROL.md §6.1.
    let t = TestDir::new("deps");
    let script = with_handshake(vec![
        Recv(hex("02 07 00 73 6c 65 65 70 65 72")),
        Send(hex("3b 02 00 00 00 00 02")),
        Recv(hex("04 02 00 00 00 00")),
        Send(hex("41 01 00 00 00 00 00 00 00 01 00 00 00")),
        Recv(hex("0f 00 01 00 00 00")),
        Send(hex("42 00 09 00 64 65 70 65 6e 64 65 6e 74")),
    ]);
    let out = session(&t, script, &["stop", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: cannot stop service 'sleeper' due to the following dependents:\n\
             (only direct dependents are listed. Exercise caution before using '--force' !!)\n  dependent\n",
            1
        )
    );
    // Two dependents are listed on one line.
    let script = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(4, 0x02, 0)),
        Send(hex("41 02 00 00 00 00 00 00 00 01 00 00 00 02 00 00 00")),
        Recv(hex("0f 00 01 00 00 00")),
        Send(hex("42 00 01 00 'a'")),
        Recv(hex("0f 00 02 00 00 00")),
        Send(hex("42 00 01 00 'b'")),
    ]);
    let out = session(&t, script, &["stop", "sleeper"]);
    assert!(out.stderr.ends_with("!!)\n  a b\n"), "{out:?}");
}

#[test]
fn stop_force_and_restart() {
    let t = TestDir::new("force");
    // --force: no gentle flag.
    let script = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(4, 0x00, 0)),
        Send(hex("32")),
        Send(event_pair(
            0,
            EV_STOPPED,
            St::new(STOPPED, STOPPED, 0, 0).detail(2, 15),
        )),
    ]);
    let out = session(&t, script, &["stop", "--force", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' stopped.\n", "", 0));

    // PROTOCOL.md §11.3 "dinitctl restart dependent": PREACK, ACK, then STOPPED and STARTED.
    let t2 = TestDir::new("restart");
    let f = t2.write(
        "sd/dependent",
        "command = /bin/sleep 1000\ndepends-on: sleeper\n",
    );
    let (sec, nsec) = mtime_of(&f);
    let mut st = hex("46 00 02 02 18 02 00 00 e7 79 00 00 00 00 00 00");
    st.extend_from_slice(&sec.to_le_bytes());
    st.extend_from_slice(&nsec.to_le_bytes());
    let script = with_handshake(vec![
        Recv(hex("02 09 00 64 65 70 65 6e 64 65 6e 74")),
        Send(hex("3b 02 00 00 00 00 02")),
        Recv(hex("16 00 00 00 00 00")),
        Send(dscdir(&t2.path.join("sd"))),
        Recv(hex("1c 00 00 00 00")),
        Send(st),
        Recv(hex("04 86 00 00 00 00")),
        Send(hex("4f 32")),
        Send(hex("65 15 00 00 00 00 01 01 02 08 00 00 00 02 00 00 00 0f 00 00 00 64 11 00 00 00 00 01 01 02 08 00 00 00 ff ff ff ff")),
        Send(hex("65 15 00 00 00 00 00 02 02 18 00 00 00 f4 79 00 00 00 00 00 00 64 11 00 00 00 00 00 02 02 18 00 00 00 f4 79 00 00")),
    ]);
    let out = session(&t2, script, &["restart", "dependent"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'dependent' stopped.\nService 'dependent' started.\n",
            "",
            0
        )
    );
}

#[test]
fn restart_refusals_and_variants() {
    let t = TestDir::new("restart2");
    let pre = |name: &str, state: u8| {
        steps(vec![
            vec![Recv(load(name)), Send(record(state, 0, state))],
            dscdir_only(0),
        ])
    };
    // Not started: NAK.
    let mut s = pre("dependent", STOPPED);
    s.extend([Recv(start_flags(4, 0x86, 0)), Send(hex("4f 33"))]);
    let out = session(&t, s, &["restart", "dependent"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: cannot restart service; service not started.\n",
            1
        )
    );
    // --ignore-unstarted turns the NAK into success.
    let mut s = pre("sleeper", STOPPED);
    s.extend([Recv(start_flags(4, 0x86, 0)), Send(hex("4f 33"))]);
    let out = session(&t, s, &["restart", "--ignore-unstarted", "sleeper"]);
    assert_eq!(
        out.triple(),
        ("Service 'sleeper' is not currently started.\n", "", 0)
    );
    // Dependents: no "(only direct dependents...)" line for restart.
    let mut s = pre("sleeper", STARTED);
    s.extend([
        Recv(start_flags(4, 0x86, 0)),
        Send(hex("4f 41 01 00 00 00 00 00 00 00 01 00 00 00")),
        Recv(hex("0f 00 01 00 00 00")),
        Send(hex("42 00 09 00 'dependent'")),
    ]);
    let out = session(&t, s, &["restart", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: cannot stop service 'sleeper' due to the following dependents:\n  dependent\n",
            1
        )
    );
    // --force: flags 0x84; --pin is passed on (the daemon ignores it for restart).
    let mut s = pre("sleeper", STARTED);
    s.extend([
        Recv(start_flags(4, 0x85, 0)),
        Send(hex("4f 32")),
        Send(event_pair(
            0,
            EV_STOPPED,
            St::new(STARTING, STARTED, 0x08, 0).detail(2, 15),
        )),
        Send(event_pair(
            0,
            EV_STARTED,
            St::new(STARTED, STARTED, 0x18, 0).detail(77, 0),
        )),
    ]);
    let out = session(&t, s, &["restart", "--force", "--pin", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'sleeper' stopped.\nService 'sleeper' started.\n",
            "",
            0
        )
    );
    // An internal service restarts synchronously: "Service restarted."
    let mut s = pre("boot", STARTED);
    s.extend([
        Recv(start_flags(4, 0x86, 0)),
        Send(hex("4f")),
        Send(event_pair(
            0,
            EV_STOPPED,
            St::new(STARTING, STARTED, 0x08, 0),
        )),
        Send(event_pair(
            0,
            EV_STARTED,
            St::new(STARTED, STARTED, 0x08, 0),
        )),
        Send(hex("3d")),
    ]);
    let out = session(&t, s, &["restart", "boot"]);
    assert_eq!(out.triple(), ("Service restarted.\n", "", 0));
    // Restart whose stop is cancelled.
    let mut s = pre("sleeper", STARTED);
    s.extend([
        Recv(start_flags(4, 0x86, 0)),
        Send(hex("4f 32")),
        Send(event_pair(
            0,
            EV_STOP_CANCELLED,
            St::new(STARTED, STARTED, 0x18, 0),
        )),
    ]);
    let out = session(&t, s, &["restart", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' stop cancelled.\n", "", 1));
}

#[test]
fn ignore_unstarted_and_load_errors() {
    let t = TestDir::new("ignore");
    // CONTROL.md §6.1: stop --ignore-unstarted of a missing service: silent success.
    let s = with_handshake(vec![Recv(load("nosuch")), Send(hex("3c"))]);
    let out = session(&t, s, &["stop", "--ignore-unstarted", "nosuch"]);
    assert_eq!(out.triple(), ("", "", 0));
    let s = with_handshake(vec![Recv(load("bad")), Send(hex("47"))]);
    let out = session(&t, s, &["release", "--ignore-unstarted", "bad"]);
    assert_eq!(out.triple(), ("", "", 0));
    // ... but start ignores the option.
    let s = with_handshake(vec![Recv(load("nosuch")), Send(hex("3c"))]);
    let out = session(&t, s, &["start", "--ignore-unstarted", "nosuch"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: failed to find service description.\ndinitctl: check service description file exists / service name spelling.\n",
            1
        )
    );
    // CONTROL.md §6.3: description and load errors, and a name the daemon rejects.
    let s = with_handshake(vec![Recv(load("bad")), Send(hex("47"))]);
    let out = session(&t, s, &["start", "bad"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: error in service description.\ndinitctl: try 'dinit-check <service-name>' or check log for more information.\n",
            1
        )
    );
    let s = with_handshake(vec![Recv(load("depmissing")), Send(hex("48"))]);
    let out = session(&t, s, &["start", "depmissing"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: error loading service (or dependency of service).\ndinitctl: try 'dinit-check <service-name>' or check log for more information.\n",
            1
        )
    );
    let s = with_handshake(vec![Recv(load("@bad")), Send(hex("34")), Close]);
    let out = session(&t, s, &["start", "@bad"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error\n", 1));
}

#[test]
fn no_wait() {
    let t = TestDir::new("nowait");
    let s = steps(vec![
        vec![Recv(load("trig")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![Recv(start_flags(3, 0, 0)), Send(hex("32"))],
    ]);
    let out = session(&t, s, &["start", "--no-wait", "trig"]);
    assert_eq!(
        out.triple(),
        (
            "Issued start command successfully for service 'trig'.\n",
            "",
            0
        )
    );
    let s = with_handshake(vec![
        Recv(load("slowstop")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(4, 0x02, 0)),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["stop", "--no-wait", "slowstop"]);
    assert_eq!(
        out.triple(),
        (
            "Issued stop command successfully for service 'slowstop'.\n",
            "",
            0
        )
    );
    // --quiet silences it.
    let s = with_handshake(vec![
        Recv(load("slowstop")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(6, 0x00, 0)),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["--quiet", "release", "--no-wait", "slowstop"]);
    assert_eq!(out.triple(), ("", "", 0));
}

#[test]
fn wake_and_release() {
    let t = TestDir::new("wake");
    // CONTROL.md §6.2.
    let s = steps(vec![
        vec![Recv(load("sleeper")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![
            Recv(start_flags(5, 0, 0)),
            Send(hex("32")),
            Send(event_pair(
                0,
                EV_STARTED,
                St::new(STARTED, STARTED, 0x10, 0).detail(50, 0),
            )),
        ],
    ]);
    let out = session(&t, s, &["wake", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' started.\n", "", 0));
    let s = steps(vec![
        vec![Recv(load("sleeper")), Send(record(STARTED, 0, STARTED))],
        dscdir_only(0),
        vec![Recv(start_flags(5, 0, 0)), Send(hex("3d"))],
    ]);
    let out = session(&t, s, &["wake", "--no-wait", "sleeper"]);
    assert_eq!(out.triple(), ("Service (already) started.\n", "", 0));
    let s = steps(vec![
        vec![Recv(load("sleeper")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![Recv(start_flags(5, 0, 0)), Send(hex("33"))],
    ]);
    let out = session(&t, s, &["wake", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: service has no active dependents, cannot wake.\n",
            1
        )
    );
    // release of an internal service: "Service stopped."; of a stopped one: "(already)".
    let s = with_handshake(vec![
        Recv(load("waiter")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(6, 0, 0)),
        Send(event_pair(0, EV_STOPPED, St::new(STOPPED, STOPPED, 0, 0))),
        Send(hex("3d")),
    ]);
    let out = session(&t, s, &["release", "waiter"]);
    assert_eq!(out.triple(), ("Service stopped.\n", "", 0));
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STOPPED, 0, STOPPED)),
        Recv(start_flags(6, 0, 0)),
        Send(hex("3d")),
    ]);
    let out = session(&t, s, &["release", "sleeper"]);
    assert_eq!(out.triple(), ("Service (already) stopped.\n", "", 0));
    // release that makes the service stop: the status shows target STOPPED, then STOPPED.
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(6, 0, 0)),
        Send(hex("32")),
        Recv(req_h(&[0x1c], 0)),
        Send(status30(St::new(STOPPING, STOPPED, 0x10, 0).detail(9, 0))),
        Send(event_pair(
            0,
            EV_STOPPED,
            St::new(STOPPED, STOPPED, 0, 0).detail(2, 15),
        )),
    ]);
    let out = session(&t, s, &["release", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' stopped.\n", "", 0));
}

#[test]
fn release_of_a_still_required_service_does_not_hang() {
    // The stock client waits forever here (CONTROL.md §6.2 note); we ask for the status and report.
    let t = TestDir::new("release");
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(6, 0, 0)),
        Send(hex("32")),
        Recv(req_h(&[0x1c], 0)),
        Send(status30(St::new(STARTED, STARTED, 0x10, 0).detail(9, 0))),
    ]);
    let out = session(&t, s, &["release", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'sleeper' released; it remains active as other services require it.\n",
            "",
            0
        )
    );
}

#[test]
fn start_failures() {
    let t = TestDir::new("fail");
    let run = |name: &str, events: Vec<u8>| {
        let s = steps(vec![
            vec![Recv(load(name)), Send(record(STOPPED, 0, STOPPED))],
            dscdir_only(0),
            vec![Recv(start_flags(3, 0, 0)), Send(hex("32")), Send(events)],
        ]);
        session(&t, s, &["start", name])
    };
    // PROTOCOL.md §11.4 "dinitctl start failing": FAILEDSTART with CLD_EXITED 3, then STOPPED.
    let out = run(
        "failing",
        hex("65 15 00 00 00 00 02 01 00 00 03 00 00 01 00 00 00 03 00 00 00 64 11 00 00 00 00 02 01 00 00 03 00 00 ff ff ff ff \
             65 15 00 00 00 00 01 00 00 00 03 00 00 01 00 00 00 03 00 00 00 64 11 00 00 00 00 01 00 00 00 03 00 00 ff ff ff ff"),
    );
    assert_eq!(
        out.triple(),
        (
            "Service 'failing' failed to start.\nReason: service process terminated before ready: exited - status 3\n",
            "",
            1
        )
    );
    let out = run(
        "execfail",
        event_pair(
            0,
            EV_FAILED,
            St::new(STOPPING, STOPPED, 0, 4).stage(18).detail(2, 0),
        ),
    );
    assert_eq!(
        out.triple(),
        (
            "Service 'execfail' failed to start.\nReason: execution of service process failed:\n        Stage: executing command\n        Error: No such file or directory\n",
            "",
            1
        )
    );
    let out = run(
        "depfail",
        event_pair(0, EV_FAILED, St::new(STOPPED, STOPPED, 0, 2)),
    );
    assert_eq!(
        out.triple(),
        (
            "Service 'depfail' failed to start.\nReason: a dependency of the service failed to start. Check dinit log.\n",
            "",
            1
        )
    );
    let out = run(
        "timeout",
        event_pair(
            0,
            EV_FAILED,
            St::new(STOPPING, STOPPED, 0x10, 5).detail(31, 0),
        ),
    );
    assert_eq!(
        out.triple(),
        (
            "Service 'timeout' failed to start.\nReason: start timed out.\n",
            "",
            1
        )
    );
    let out = run(
        "killed",
        event_pair(0, EV_FAILED, St::new(STOPPED, STOPPED, 0, 3).detail(2, 9)),
    );
    assert_eq!(
        out.stdout,
        "Service 'killed' failed to start.\nReason: service process terminated before ready: signalled - signal 9\n"
    );
    let out = run(
        "odd",
        event_pair(0, EV_FAILED, St::new(STOPPED, STOPPED, 0, 6)),
    );
    assert_eq!(
        out.stdout,
        "Service 'odd' failed to start.\nReason unknown/unrecognised. Check dinit log.\n"
    );
    // CONTROL.md §6.3 console2: the start is cancelled by a stop elsewhere.
    let out = run(
        "console2",
        event_pair(0, EV_START_CANCELLED, St::new(STOPPED, STOPPED, 0, 0)),
    );
    assert_eq!(
        out.triple(),
        ("Service 'console2' start cancelled.\n", "", 1)
    );
    // Events for other handles are ignored while waiting.
    let out = run(
        "sleeper",
        join(&[
            &event_pair(7, EV_FAILED, St::new(STOPPED, STOPPED, 0, 2)),
            &event_pair(
                0,
                EV_STARTED,
                St::new(STARTED, STARTED, 0x18, 0).detail(5, 0),
            ),
        ]),
    );
    assert_eq!(out.triple(), ("Service 'sleeper' started.\n", "", 0));
    // --quiet silences the messages, not the exit status.
    let s = steps(vec![
        vec![Recv(load("failing")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![
            Recv(start_flags(3, 0, 0)),
            Send(hex("32")),
            Send(event_pair(
                0,
                EV_FAILED,
                St::new(STOPPED, STOPPED, 0, 3).detail(1, 3),
            )),
        ],
    ]);
    let out = session(&t, s, &["--quiet", "start", "failing"]);
    assert_eq!(out.triple(), ("", "", 1));
}

#[test]
fn outcome_before_the_ack_ends_the_command() {
    // PROTOCOL.md §10 item 4: a dependency pinned stopped makes the start fail while it is
    // processed; the FAILEDSTART and STOPPED events precede the ACK. The stock client prints the
    // failure and then waits forever; we finish.
    let t = TestDir::new("early");
    let s = steps(vec![
        vec![Recv(load("dependent")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![
            Recv(start_flags(3, 0, 0)),
            Send(event_pair(0, EV_FAILED, St::new(STOPPED, STOPPED, 0, 2))),
            Send(event_pair(0, EV_STOPPED, St::new(STOPPED, STOPPED, 0, 2))),
            Send(hex("32")),
        ],
    ]);
    let out = session(&t, s, &["start", "dependent"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'dependent' failed to start.\nReason: a dependency of the service failed to start. Check dinit log.\n",
            "",
            1
        )
    );
    // An early exec failure is reported with stage 0, as the stock client does (CONTROL.md §3.4
    // step 8).
    let s = steps(vec![
        vec![Recv(load("x")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![
            Recv(start_flags(3, 0, 0)),
            Send(event_pair(
                0,
                EV_FAILED,
                St::new(STOPPED, STOPPED, 0, 4).stage(18).detail(13, 0),
            )),
            Send(hex("32")),
        ],
    ]);
    let out = session(&t, s, &["start", "x"]);
    assert_eq!(
        out.stdout,
        "Service 'x' failed to start.\nReason: execution of service process failed:\n        Stage: arranging file descriptors\n        Error: Permission denied\n"
    );
    // Started before the ACK.
    let s = steps(vec![
        vec![Recv(load("x")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![
            Recv(start_flags(3, 0, 0)),
            Send(event_pair(
                0,
                EV_STARTED,
                St::new(STARTED, STARTED, 0x18, 0).detail(3, 0),
            )),
            Send(hex("32")),
        ],
    ]);
    let out = session(&t, s, &["start", "x"]);
    assert_eq!(out.triple(), ("Service 'x' started.\n", "", 0));
    // Stopped before the ACK.
    let s = with_handshake(vec![
        Recv(load("x")),
        Send(record(STARTED, 0, STARTED)),
        Recv(start_flags(4, 2, 0)),
        Send(event_pair(0, EV_STOPPED, St::new(STOPPED, STOPPED, 0, 0))),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["stop", "x"]);
    assert_eq!(out.triple(), ("Service 'x' stopped.\n", "", 0));
    // Events before a PREACK are forgotten: only those after it count.
    let s = steps(vec![
        vec![Recv(load("x")), Send(record(STARTED, 0, STARTED))],
        dscdir_only(0),
        vec![
            Recv(start_flags(4, 0x86, 0)),
            Send(event_pair(0, EV_STOPPED, St::new(STOPPED, STOPPED, 0, 0))),
            Send(event_pair(0, EV_STARTED, St::new(STARTED, STARTED, 0, 0))),
            Send(hex("4f 32")),
            Send(event_pair(0, EV_STOPPED, St::new(STARTING, STARTED, 0, 0))),
            Send(event_pair(
                0,
                EV_STARTED,
                St::new(STARTED, STARTED, 0x18, 0).detail(4, 0),
            )),
        ],
    ]);
    let out = session(&t, s, &["restart", "x"]);
    assert_eq!(
        out.triple(),
        ("Service 'x' stopped.\nService 'x' started.\n", "", 0)
    );
}

#[test]
fn pins() {
    let t = TestDir::new("pins");
    // CONTROL.md §6.4 and PROTOCOL.md §11.5: start --pin of a started service.
    let s = steps(vec![
        vec![
            Recv(hex("02 07 00 'sleeper'")),
            Send(record(STARTED, 0, STARTED)),
        ],
        dscdir_only(0),
        vec![Recv(hex("03 01 00 00 00 00")), Send(hex("3d"))],
    ]);
    let out = session(&t, s, &["start", "--pin", "sleeper"]);
    assert_eq!(out.triple(), ("Service (already) started.\n", "", 0));
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STARTED, 0, STARTED)),
        Recv(hex("04 02 00 00 00 00")),
        Send(hex("44")),
    ]);
    let out = session(&t, s, &["stop", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: cannot stop service 'sleeper' as it is pinned started\n",
            1
        )
    );
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STARTED, 0, STARTED)),
        Recv(hex("07 00 00 00 00")),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["unpin", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' unpinned.\n", "", 0));
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STARTED, 0, STARTED)),
        Recv(hex("04 03 00 00 00 00")),
        Send(hex("32")),
        Send(event_pair(
            0,
            EV_STOPPED,
            St::new(STOPPED, STOPPED, 0, 0).detail(2, 15),
        )),
    ]);
    let out = session(&t, s, &["stop", "--pin", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' stopped.\n", "", 0));
    for cmd in ["start", "wake"] {
        let code = if cmd == "start" { 3 } else { 5 };
        let s = steps(vec![
            vec![Recv(load("sleeper")), Send(record(STOPPED, 0, STOPPED))],
            dscdir_only(0),
            vec![Recv(start_flags(code, 0, 0)), Send(hex("43"))],
        ]);
        let out = session(&t, s, &[cmd, "sleeper"]);
        assert_eq!(
            out.triple(),
            (
                "",
                "dinitctl: cannot start service 'sleeper' as it is pinned stopped\n",
                1
            )
        );
    }
    // unpin with an unexpected reply.
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STARTED, 0, STARTED)),
        Recv(hex("07 00 00 00 00")),
        Send(hex("33")),
    ]);
    let out = session(&t, s, &["unpin", "sleeper"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error.\n", 1));
}

#[test]
fn shutting_down_and_protocol_errors() {
    let t = TestDir::new("shutting");
    let s = steps(vec![
        vec![Recv(load("sleeper")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![Recv(start_flags(3, 0, 0)), Send(hex("45"))],
    ]);
    let out = session(&t, s, &["start", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: cannot start/restart/wake service, shutdown is in progress.\n",
            1
        )
    );
    // An unexpected reply to START.
    let s = steps(vec![
        vec![Recv(load("sleeper")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![Recv(start_flags(3, 0, 0)), Send(hex("33"))],
    ]);
    let out = session(&t, s, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error.\n", 1));
    // The connection closes while waiting for the start event.
    let s = steps(vec![
        vec![Recv(load("sleeper")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![Recv(start_flags(3, 0, 0)), Send(hex("32")), Close],
    ]);
    let out = session(&t, s, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error\n", 1));
    // A reply where only events may come.
    let s = steps(vec![
        vec![Recv(load("sleeper")), Send(record(STOPPED, 0, STOPPED))],
        dscdir_only(0),
        vec![Recv(start_flags(3, 0, 0)), Send(hex("32 32"))],
    ]);
    let out = session(&t, s, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error\n", 1));
    // The pre-start check: an empty directory is a protocol error; a status reply that is
    // not SERVICESTATUS too.
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STOPPED, 0, STOPPED)),
        Recv(dscdir_req(0)),
        Send(hex("4d 00 00 00 00")),
    ]);
    let out = session(&t, s, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error\n", 1));
    let f = t.write("sd/sleeper", "command = /bin/true\n");
    let s = with_handshake(vec![
        Recv(load("sleeper")),
        Send(record(STOPPED, 0, STOPPED)),
        Recv(dscdir_req(0)),
        Send(dscdir(f.parent().unwrap())),
        Recv(req_h(&[0x1c], 0)),
        Send(hex("33")),
    ]);
    let out = session(&t, s, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error.\n", 1));
}

#[test]
fn older_daemons_skip_the_mtime_check() {
    // Protocol 5: no QUERYSERVICEDSCDIR/SERVICESTATUS6 before START.
    let t = TestDir::new("v5start");
    let mut s = handshake_v(5);
    s.extend([
        Recv(load("sleeper")),
        Send(record(STOPPED, 0, STOPPED)),
        Recv(start_flags(3, 0, 0)),
        Send(hex("32")),
        Send(event_pair(
            0,
            EV_STARTED,
            St::new(STARTED, STARTED, 0x18, 0).detail(5, 0),
        )),
    ]);
    let out = session(&t, s, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' started.\n", "", 0));
    // A 7-byte legacy event (very old daemons) is understood too.
    let mut s = handshake_v(1);
    s.extend([
        Recv(load("sleeper")),
        Send(record(STOPPED, 0, STOPPED)),
        Recv(start_flags(3, 0, 0)),
        Send(hex("32 64 07 00 00 00 00 00")),
    ]);
    let out = session(&t, s, &["start", "sleeper"]);
    assert_eq!(out.triple(), ("Service 'sleeper' started.\n", "", 0));
}
