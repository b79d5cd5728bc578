#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dinitctl status`, `is-started`, `is-failed` and `list` against a fake daemon: every state and
//! stop-reason variant of CONTROL.md §4.2, every indicator of CONTROL.md §4.1, the protocol
//! versions (status30/14/10), the relative service directory of PROTOCOL.md §11.8 and the
//! fake-daemon cross-check of CONTROL.md §6.9.

mod harness;

use harness::fake_daemon::*;
use std::sync::{Arc, Mutex};

/// Runs `dinitctl <cmd> <name>` against a daemon reporting `st` for the service; the
/// description file exists under `<tmpdir>/sd` with the reported mtime (or an older one if
/// `modified`). Returns the output with the temporary directory replaced by `<tmpdir>`.
fn status_run(cmd: &[&str], name: &str, st: St, modified: bool) -> Out {
    let t = TestDir::new("status");
    let base = name.split('@').next().unwrap();
    let f = t.write(&format!("sd/{base}"), "type = internal\n");
    let (sec, nsec) = mtime_of(&f);
    let mtime = if modified {
        (sec - 10, nsec)
    } else {
        (sec, nsec)
    };
    let script = with_handshake(vec![
        Recv(find(name)),
        Send(record(st.state, 0, st.target)),
        Recv(dscdir_req(0)),
        Send(dscdir(&t.path.join("sd"))),
        Recv(req_h(&[0x1c], 0)),
        Send(status30(st.mtime(mtime))),
    ]);
    let mut args: Vec<&str> = cmd.to_vec();
    args.push(name);
    let mut out = session(&t, script, &args);
    let tmp = t.path.to_str().unwrap();
    out.stdout = out.stdout.replace(tmp, "<tmpdir>");
    out
}

fn report(name: &str, st: St, modified: bool) -> String {
    let out = status_run(&["status"], name, st, modified);
    assert_eq!((out.stderr.as_str(), out.code), ("", 0), "{name}: {out:?}");
    out.stdout
}

#[test]
fn status_reports_as_documented() {
    // CONTROL.md §4.2 observed examples.
    let cases: Vec<(&str, St, bool, &str)> = vec![
        ("sleeper", St::new(2, 2, 0x18, 0).detail(7175, 0), false,
         "Service: sleeper\n    File: <tmpdir>/sd/sleeper\n    State: STARTED\n    Activation: explicitly started\n    Process ID: 7175\n"),
        ("sleeper", St::new(2, 2, 0x10, 0).detail(6327, 0), false,
         "Service: sleeper\n    File: <tmpdir>/sd/sleeper\n    State: STARTED\n    Activation: start due to dependent(s)\n    Process ID: 6327\n"),
        ("sleeper", St::new(0, 0, 0, 0), false,
         "Service: sleeper\n    File: <tmpdir>/sd/sleeper\n    State: STOPPED\n"),
        ("dependent", St::new(0, 0, 0, 2), false,
         "Service: dependent\n    File: <tmpdir>/sd/dependent\n    State: STOPPED (dependency failed/terminated)\n"),
        ("failing", St::new(0, 0, 0, 3).detail(1, 3), false,
         "Service: failing\n    File: <tmpdir>/sd/failing\n    State: STOPPED (failed to start; exited - status 3)\n"),
        ("execfail", St::new(0, 0, 0, 4).stage(18).detail(2, 0), false,
         "Service: execfail\n    File: <tmpdir>/sd/execfail\n    State: STOPPED (could not be launched)\n        Stage: executing command\n        Error: No such file or directory\n"),
        ("timeout", St::new(0, 0, 0, 5), false,
         "Service: timeout\n    File: <tmpdir>/sd/timeout\n    State: STOPPED (start timed out)\n"),
        ("shortlived", St::new(0, 0, 0, 6).detail(1, 7), false,
         "Service: shortlived\n    File: <tmpdir>/sd/shortlived\n    State: STOPPED (terminated; exited - status 7)\n"),
        ("killed", St::new(0, 0, 0, 6).detail(2, 9), false,
         "Service: killed\n    File: <tmpdir>/sd/killed\n    State: STOPPED (terminated; signalled - signal 9)\n"),
        ("timeout", St::new(1, 0, 0x10, 0).detail(6299, 0), false,
         "Service: timeout\n    File: <tmpdir>/sd/timeout\n    State: STARTING (target state: STOPPED)\n    Process ID: 6299\n"),
        ("timeout", St::new(3, 0, 0x10, 0).detail(30369, 0), false,
         "Service: timeout\n    File: <tmpdir>/sd/timeout\n    State: STOPPING\n    Process ID: 30369\n"),
        ("slowstop", St::new(3, 2, 0x18, 0).detail(6273, 0), false,
         "Service: slowstop\n    File: <tmpdir>/sd/slowstop\n    State: STOPPING (target state: STARTED)\n    Activation: explicitly started\n    Process ID: 6273\n"),
        ("trig", St::new(1, 2, 0x08, 0), false,
         "Service: trig\n    File: <tmpdir>/sd/trig\n    State: STARTING\n    Activation: explicitly started\n"),
        ("console", St::new(2, 2, 0x1a, 0).detail(2383, 0), false,
         "Service: console\n    File: <tmpdir>/sd/console\n    State: STARTED (holding console)\n    Activation: explicitly started\n    Process ID: 2383\n"),
        ("console2", St::new(1, 2, 0x09, 0), false,
         "Service: console2\n    File: <tmpdir>/sd/console2\n    State: STARTING (waiting for console)\n    Activation: explicitly started\n"),
        ("scripted", St::new(0, 0, 0, 0), true,
         "Service: scripted\n    File: <tmpdir>/sd/scripted (modified since loaded)\n    State: STOPPED\n"),
        ("tmpl@foo", St::new(2, 2, 0x08, 0), false,
         "Service: tmpl@foo\n    File: <tmpdir>/sd/tmpl\n    State: STARTED\n    Activation: explicitly started\n"),
    ];
    for (name, st, modified, expected) in cases {
        assert_eq!(report(name, st, modified), expected, "{name} {st:?}");
    }
}

#[test]
fn status_variants_not_observed_live() {
    // CONTROL.md §4.2 rows taken from the client's code paths (PROTOCOL.md §13).
    let state_line = |st: St| {
        let r = report("svc", st, false);
        r.lines().nth(2).unwrap().to_owned()
    };
    assert_eq!(
        state_line(St::new(0, 0, 0, 1)),
        "    State: STOPPED (dependency restarted)"
    );
    assert_eq!(
        state_line(St::new(0, 0, 0, 3).detail(1, 0)),
        "    State: STOPPED (failed to start)"
    );
    assert_eq!(
        state_line(St::new(0, 0, 0, 3).detail(2, 6)),
        "    State: STOPPED (failed to start; signalled - signal 6)"
    );
    assert_eq!(
        state_line(St::new(0, 0, 0, 3).detail(3, 11)),
        "    State: STOPPED (failed to start; unknown reason)"
    );
    assert_eq!(
        state_line(St::new(0, 0, 0, 6).detail(1, 0)),
        "    State: STOPPED (terminated)"
    );
    assert_eq!(
        state_line(St::new(2, 2, 0x0c, 0)),
        "    State: STARTED (startup skipped)"
    );
    assert_eq!(
        state_line(St::new(3, 2, 0x08, 6).detail(1, 4)),
        "    State: STOPPING (target state: STARTED)(terminated ;exited - status 4)"
    );
    assert_eq!(
        state_line(St::new(3, 0, 0x00, 6).detail(2, 15)),
        "    State: STOPPING(terminated ;signalled - signal 15)"
    );
    // Other exec failure stages.
    for (stage, text) in [
        (0, "arranging file descriptors"),
        (1, "reading environment file"),
        (2, "setting environment variable"),
        (3, "setting up activation socket"),
        (4, "setting up control socket"),
        (5, "changing directory"),
        (6, "setting up standard input/output descriptors"),
        (7, "entering cgroup"),
        (8, "setting resource limits"),
        (9, "setting user/group ID"),
        (10, "opening log file"),
        (11, "setting capabilities"),
        (12, "setting I/O priority"),
    ] {
        let r = report("svc", St::new(0, 0, 0, 4).stage(stage).detail(13, 0), false);
        assert!(
            r.ends_with(&format!(
                "    State: STOPPED (could not be launched)\n        Stage: {text}\n        Error: Permission denied\n"
            )),
            "{r}"
        );
    }
}

#[test]
fn is_started_and_is_failed() {
    // CONTROL.md §6.3 and §4.3.
    let failing = St::new(0, 0, 0, 3).detail(1, 3);
    let out = status_run(&["is-failed"], "failing", failing, false);
    assert_eq!(out.triple(), ("STOPPED\n", "", 0));
    let out = status_run(&["is-started"], "failing", failing, false);
    assert_eq!(out.triple(), ("STOPPED\n", "", 1));
    let shortlived = St::new(0, 0, 0, 6).detail(1, 7);
    let out = status_run(&["is-failed"], "shortlived", shortlived, false);
    assert_eq!(out.triple(), ("STOPPED\n", "", 1));
    let started = St::new(2, 2, 0x18, 0).detail(1, 0);
    let out = status_run(&["is-started"], "sleeper", started, false);
    assert_eq!(out.triple(), ("STARTED\n", "", 0));
    let out = status_run(&["--quiet", "is-started"], "sleeper", started, false);
    assert_eq!(out.triple(), ("", "", 0));
    let starting = St::new(1, 2, 0x08, 0);
    let out = status_run(&["is-started"], "trig", starting, false);
    assert_eq!(out.triple(), ("STARTING\n", "", 1));
    let stopping = St::new(3, 0, 0x10, 0).detail(4, 0);
    let out = status_run(&["is-failed"], "x", stopping, false);
    assert_eq!(out.triple(), ("STOPPING\n", "", 1));
    for reason in [2, 4, 5] {
        let out = status_run(&["is-failed"], "x", St::new(0, 0, 0, reason), false);
        assert_eq!(out.code, 0, "reason {reason}");
    }
    for reason in [0, 1, 6] {
        let out = status_run(&["is-failed"], "x", St::new(0, 0, 0, reason), false);
        assert_eq!(out.code, 1, "reason {reason}");
    }
}

#[test]
fn not_loaded() {
    let t = TestDir::new("nosuch");
    let s = with_handshake(vec![Recv(hex("01 06 00 'nosuch'")), Send(hex("3c"))]);
    let out = session(&t, s, &["status", "nosuch"]);
    assert_eq!(out.triple(), ("", "dinitctl: service not loaded.\n", 1));
    for cmd in ["is-started", "is-failed"] {
        let s = with_handshake(vec![Recv(find("nosuch")), Send(hex("3c"))]);
        let out = session(&t, s, &[cmd, "nosuch"]);
        assert_eq!(out.triple(), ("", "", 1));
    }
    // A bad name: only status says so.
    let s = with_handshake(vec![Recv(find("@x")), Send(hex("34")), Close]);
    let out = session(&t, s, &["status", "@x"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error\n", 1));
    let s = with_handshake(vec![Recv(find("@x")), Send(hex("34")), Close]);
    let out = session(&t, s, &["is-started", "@x"]);
    assert_eq!(out.triple(), ("", "", 1));
    // A status request answered with NAK.
    let s = with_handshake(vec![
        Recv(find("x")),
        Send(record(0, 0, 0)),
        Recv(dscdir_req(0)),
        Send(dscdir(std::path::Path::new("/fake/dir"))),
        Recv(req_h(&[0x1c], 0)),
        Send(hex("33")),
    ]);
    let out = session(&t, s, &["status", "x"]);
    assert_eq!(out.triple(), ("", "dinitctl: protocol error.\n", 1));
}

#[test]
fn status_with_relative_service_directory() {
    // PROTOCOL.md §11.8 "dinitctl status boot" against a daemon started with `-d sd`: the directory
    // is relative, so the client asks for the daemon's working directory.
    let t = TestDir::new("relative");
    let f = t.write("sd/boot", "type = internal\n");
    let cwd = t.path.to_str().unwrap().as_bytes().to_vec();
    let mut mech = vec![0x40, 0x01];
    let total = 14 + cwd.len() + 4 + 2;
    mech.extend_from_slice(&(total as u32).to_le_bytes());
    mech.extend_from_slice(&1u32.to_le_bytes());
    mech.extend_from_slice(&(cwd.len() as u32).to_le_bytes());
    mech.extend_from_slice(&cwd);
    mech.extend_from_slice(&hex("02 00 00 00 73 64"));
    let script = with_handshake(vec![
        Recv(hex("01 04 00 62 6f 6f 74")),
        Send(hex("3b 02 00 00 00 00 02")),
        Recv(hex("16 00 00 00 00 00")),
        Send(hex("4d 02 00 00 00 73 64")),
        Recv(hex("0d")),
        Send(mech),
        Recv(hex("1c 00 00 00 00")),
        Send(status30(St::new(2, 2, 0x08, 0).mtime(mtime_of(&f)))),
    ]);
    let out = session(&t, script, &["status", "boot"]);
    assert_eq!(
        out.triple(),
        (
            format!(
                "Service: boot\n    File: {}/sd/boot\n    State: STARTED\n    Activation: explicitly started\n",
                t.path.display()
            )
            .as_str(),
            "",
            0
        )
    );
}

#[test]
fn status_by_protocol_version() {
    let t = TestDir::new("versions");
    // v5: SERVICESTATUS5 (status14), no modification check.
    let mut s = handshake_v(5);
    s.extend([
        Recv(find("failing")),
        Send(record(0, 0, 0)),
        Recv(dscdir_req(0)),
        Send(dscdir(std::path::Path::new("/fake/dir"))),
        Recv(hex("1a 00 00 00 00")),
        Send(status14(St::new(0, 0, 0, 3).detail(1, 3))),
    ]);
    let out = session(&t, s, &["status", "failing"]);
    assert_eq!(
        out.triple(),
        (
            "Service: failing\n    File: /fake/dir/failing\n    State: STOPPED (failed to start; exited - status 3)\n",
            "",
            0
        )
    );
    // v4: legacy SERVICESTATUS (status10); the exit field -1 is "unknown reason".
    let mut s = handshake_v(4);
    s.extend([
        Recv(find("logged")),
        Send(record(0, 0, 0)),
        Recv(dscdir_req(0)),
        Send(dscdir(std::path::Path::new("/fake/dir"))),
        Recv(hex("12 00 00 00 00")),
        Send(hex("46 00 00 00 00 06 00 00 ff ff ff ff")),
    ]);
    let out = session(&t, s, &["status", "logged"]);
    assert_eq!(
        out.stdout,
        "Service: logged\n    File: /fake/dir/logged\n    State: STOPPED (terminated; unknown reason)\n"
    );
    // v2: no QUERYSERVICEDSCDIR; the report has no File line.
    let mut s = handshake_v(2);
    s.extend([
        Recv(find("x")),
        Send(record(2, 0, 2)),
        Recv(hex("12 00 00 00 00")),
        Send(status10(St::new(2, 2, 0x18, 0).detail(42, 0))),
    ]);
    let out = session(&t, s, &["status", "x"]);
    assert_eq!(
        out.stdout,
        "Service: x\n    State: STARTED\n    Activation: explicitly started\n    Process ID: 42\n"
    );
}

#[test]
fn list_as_documented() {
    // V13: LISTSERVICES5 of boot, sleeper and dependent.
    let t = TestDir::new("list");
    let s = with_handshake(vec![
        Recv(hex("19")),
        Send(hex(
            "3e 04 02 02 08 00 00 00 00 00 00 00 00 00 00 00 62 6f 6f 74",
        )),
        Send(hex(
            "3e 07 02 02 18 00 00 00 e9 2c 00 00 00 00 00 00 73 6c 65 65 70 65 72",
        )),
        Send(hex(
            "3e 09 02 02 18 00 00 00 eb 2c 00 00 00 00 00 00 64 65 70 65 6e 64 65 6e 74",
        )),
        Send(hex("3f")),
    ]);
    let out = session(&t, s, &["list"]);
    assert_eq!(
        out.triple(),
        (
            "[[+]     ] boot\n[[+]     ] sleeper (pid: 11497)\n[[+]     ] dependent (pid: 11499)\n",
            "",
            0
        )
    );
}

#[test]
fn list_indicators() {
    // Every example of CONTROL.md §4.1 and of dinitctl(8), and the remaining combinations.
    let entries: Vec<(&str, St, &str)> = vec![
        ("boot", St::new(2, 2, 0x08, 0), "[[+]     ] boot"),
        (
            "sleeper",
            St::new(2, 2, 0x18, 0).detail(30783, 0),
            "[[+]     ] sleeper (pid: 30783)",
        ),
        (
            "sleeper",
            St::new(2, 2, 0x10, 0).detail(6327, 0),
            "[{+}     ] sleeper (pid: 6327)",
        ),
        ("waiter", St::new(0, 0, 0, 0), "[     {-}] waiter"),
        ("dependent", St::new(0, 0, 0, 2), "[     {X}] dependent"),
        (
            "shortlived",
            St::new(0, 0, 0, 6).detail(1, 7),
            "[     {X}] shortlived (exit status: 7)",
        ),
        (
            "killed",
            St::new(0, 0, 0, 6).detail(2, 9),
            "[     {X}] killed (signal: 9)",
        ),
        (
            "timeout",
            St::new(3, 0, 0x10, 0).detail(30369, 0),
            "[   >>{ }] timeout (pid: 30369)",
        ),
        (
            "timeout",
            St::new(1, 0, 0x10, 0).detail(6299, 0),
            "[   <<{ }] timeout (pid: 6299)",
        ),
        ("trig", St::new(1, 2, 0x08, 0), "[[ ]<<   ] trig"),
        (
            "slowstop",
            St::new(3, 2, 0x18, 0).detail(6273, 0),
            "[[ ]>>   ] slowstop (pid: 6273)",
        ),
        (
            "console",
            St::new(2, 2, 0x1a, 0).detail(2383, 0),
            "[[+]     ] console (pid: 2383) (has console)",
        ),
        (
            "console2",
            St::new(1, 2, 0x09, 0),
            "[[ ]<<   ] console2 (waiting for console)",
        ),
        ("tmpl@foo", St::new(2, 2, 0x08, 0), "[[+]     ] tmpl@foo"),
        // dinitctl(8): starting / stopping towards started, without activation.
        ("a", St::new(1, 2, 0, 0), "[{ }<<   ] a"),
        ("b", St::new(3, 2, 0, 0), "[{ }>>   ] b"),
        ("c", St::new(2, 2, 0, 0), "[{+}     ] c"),
        // Start skipped; failures of every kind; a clean termination is not a failure.
        ("skip", St::new(2, 2, 0x0c, 0), "[[s]     ] skip"),
        ("skip2", St::new(2, 2, 0x04, 0), "[{s}     ] skip2"),
        ("f1", St::new(0, 0, 0, 1), "[     {X}] f1"),
        ("f3", St::new(0, 0, 0, 3).detail(1, 3), "[     {X}] f3"),
        (
            "f4",
            St::new(0, 0, 0, 4).stage(18).detail(2, 0),
            "[     {X}] f4",
        ),
        ("f5", St::new(0, 0, 0, 5), "[     {X}] f5"),
        (
            "clean",
            St::new(0, 0, 0, 6).detail(1, 0),
            "[     {-}] clean (exit status: 0)",
        ),
        (
            "dumped",
            St::new(0, 0, 0, 6).detail(3, 11),
            "[     {X}] dumped",
        ),
        // The reason persists while running: it is ignored then.
        (
            "again",
            St::new(2, 2, 0x18, 6).detail(12, 0),
            "[[+]     ] again (pid: 12)",
        ),
    ];
    let t = TestDir::new("indicators");
    let mut steps = vec![Recv(hex("19"))];
    let mut expected = String::new();
    for (i, (name, st, line)) in entries.iter().enumerate() {
        steps.push(Send(svcinfo5(name, *st)));
        if i == 3 {
            // Information packets between entries are skipped.
            steps.push(Send(event_pair(0, 0, St::new(2, 2, 0, 0))));
            steps.push(Send(hex("66 05 00 04 00 'A=1' 00")));
        }
        expected.push_str(line);
        expected.push('\n');
    }
    steps.push(Send(hex("3f")));
    let out = session(&t, with_handshake(steps), &["list"]);
    assert_eq!(out.triple(), (expected.as_str(), "", 0));
}

#[test]
fn legacy_list() {
    // V40: LISTSERVICES with status10 entries, for a daemon of protocol 4.
    let t = TestDir::new("legacylist");
    let mut s = handshake_v(4);
    s.extend([
        Recv(hex("08")),
        Send(hex("3e 04 02 02 08 00 00 00 00 00 00 00 62 6f 6f 74 3e 07 02 02 18 00 00 00 e9 2c 00 00 73 6c 65 65 70 65 72 3e 09 02 02 18 06 00 00 ee 2c 00 00 64 65 70 65 6e 64 65 6e 74 3e 06 00 00 00 00 00 00 ff ff ff ff 6c 6f 67 67 65 64 3e 04 00 00 00 00 00 00 00 00 00 00 74 72 69 67 3e 05 02 02 00 00 00 00 00 00 00 00 65 78 74 72 61 3f")),
    ]);
    let out = session(&t, s, &["list"]);
    assert_eq!(
        out.triple(),
        (
            "[[+]     ] boot\n[[+]     ] sleeper (pid: 11497)\n[[+]     ] dependent (pid: 11502)\n[     {-}] logged\n[     {-}] trig\n[{+}     ] extra\n",
            "",
            0
        )
    );
    // A legacy entry stopped by termination with wait status 0 / -1.
    let mut s = handshake_v(3);
    s.extend([
        Recv(hex("08")),
        Send(hex(
            "3e 01 00 00 00 06 00 00 00 00 00 00 'a' 3e 01 00 00 00 06 00 00 ff ff ff ff 'b' 3f",
        )),
    ]);
    let out = session(&t, s, &["list"]);
    assert_eq!(out.stdout, "[     {-}] a (exit status: 0)\n[     {X}] b\n");
}

#[test]
fn list_protocol_error() {
    let t = TestDir::new("listerr");
    let s = with_handshake(vec![
        Recv(hex("19")),
        Send(svcinfo5("a", St::new(0, 0, 0, 0))),
        Send(hex("32")),
    ]);
    let out = session(&t, s, &["list"]);
    assert_eq!(
        out.triple(),
        (
            "[     {-}] a\n",
            "dinitctl: control socket protocol error\n",
            1
        )
    );
}

#[test]
fn fake_daemon_cross_check() {
    // CONTROL.md §6.9: a small stateful fake daemon that answers QUERYVERSION, FIND/LOAD,
    // QUERYSERVICEDSCDIR (absolute), SERVICESTATUS6, STARTSERVICE (ACK and a lone
    // SERVICEEVENT5) and LISTSERVICES5.
    #[derive(Clone, Copy)]
    struct Svc {
        name: &'static str,
        st: St,
    }
    let services = Arc::new(Mutex::new(vec![
        Svc {
            name: "alpha",
            st: St::new(0, 0, 0, 0),
        },
        Svc {
            name: "beta",
            st: St::new(2, 2, 0x18, 0).detail(4242, 0),
        },
    ]));
    let t = TestDir::new("fake");
    let sock = t.sock();
    let svcs = services.clone();
    let server = Server::handler(&sock, 5, move |req| {
        let mut s = svcs.lock().unwrap();
        let handle =
            |off: usize| u32::from_le_bytes(req[off..off + 4].try_into().unwrap()) as usize;
        match req[0] {
            0x00 => hex("3a 01 00 07 00"),
            0x01 | 0x02 => {
                let name = std::str::from_utf8(&req[3..]).unwrap();
                match s.iter().position(|v| v.name == name) {
                    Some(i) => record(s[i].st.state, i as u32, s[i].st.target),
                    None => hex("3c"),
                }
            }
            0x16 => dscdir(std::path::Path::new("/fake/dir")),
            0x1c => status30(s[handle(1)].st),
            0x03 => {
                let h = handle(2);
                if s[h].st.state == 2 {
                    hex("3d")
                } else {
                    s[h].st = St::new(2, 2, 0x18, 0).detail(999, 0);
                    join(&[&hex("32"), &event5(h as u32, 0, s[h].st)])
                }
            }
            0x19 => {
                let mut v = Vec::new();
                for svc in s.iter() {
                    v.extend(svcinfo5(svc.name, svc.st));
                }
                v.push(0x3f);
                v
            }
            _ => hex("34"),
        }
    });
    let out = dinitctl(&sock, &["list"]);
    assert_eq!(
        out.triple(),
        ("[     {-}] alpha\n[[+]     ] beta (pid: 4242)\n", "", 0)
    );
    let out = dinitctl(&sock, &["start", "alpha"]);
    assert_eq!(out.triple(), ("Service 'alpha' started.\n", "", 0));
    let out = dinitctl(&sock, &["list"]);
    assert_eq!(
        out.triple(),
        (
            "[[+]     ] alpha (pid: 999)\n[[+]     ] beta (pid: 4242)\n",
            "",
            0
        )
    );
    let out = dinitctl(&sock, &["status", "beta"]);
    assert_eq!(
        out.triple(),
        (
            "Service: beta\n    File: /fake/dir/beta\n    State: STARTED\n    Activation: explicitly started\n    Process ID: 4242\n",
            "",
            0
        )
    );
    let out = dinitctl(&sock, &["start", "beta"]);
    assert_eq!(out.triple(), ("Service (already) started.\n", "", 0));
    server.finish();
}
