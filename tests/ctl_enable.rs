#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dinitctl enable`/`disable`, online (against a fake daemon, CONTROL.md §3.12, §6.6 and the
//! wire transcripts of PROTOCOL.md §11) and `--offline`, checking the links on disk.

mod harness;

use harness::fake_daemon::*;
use std::path::{Path, PathBuf};

/// A service directory like the one of CONTROL.md §6: `boot` (internal, waits-for.d = boot.d),
/// `enableme`, `efail2`, `waiter` (no waits-for.d), `fromstopped` (its own waits-for.d).
fn service_dir(t: &TestDir) -> PathBuf {
    t.write("sd/boot", "type = internal\nwaits-for.d = boot.d\n");
    std::fs::create_dir_all(t.path.join("sd/boot.d")).unwrap();
    t.write("sd/enableme", "type = process\ncommand = /bin/sleep 1000\n");
    t.write(
        "sd/efail2",
        "type = process\ncommand = /nonexistent/binary\n",
    );
    t.write("sd/waiter", "type = internal\nwaits-for = sleeper\n");
    t.write("sd/sleeper", "type = process\ncommand = /bin/sleep 1000\n");
    t.write("sd/fromstopped", "type = internal\nwaits-for.d = fs.d\n");
    std::fs::create_dir_all(t.path.join("sd/fs.d")).unwrap();
    t.path.join("sd")
}

fn link_of(p: &Path) -> Option<PathBuf> {
    std::fs::read_link(p).ok()
}

/// GETALLENV, LOAD to (h0, `to_state`), DSCDIR h0, LOAD from (h1, `from_state`), DSCDIR h1.
fn prelude(sd: &Path, to: &str, to_state: u8, from: &str, from_state: u8) -> Vec<Step> {
    with_handshake(vec![
        Recv(hex("18 00")),
        Send(allenv(&["PATH=/usr/bin:/bin"])),
        Recv(load(to)),
        Send(record(to_state, 0, to_state)),
        Recv(dscdir_req(0)),
        Send(dscdir(sd)),
        Recv(load(from)),
        Send(record(from_state, 1, from_state)),
        Recv(dscdir_req(1)),
        Send(dscdir(sd)),
    ])
}

#[test]
fn enable_wire_transcript_and_link() {
    // PROTOCOL.md §11.6 "dinitctl enable enableme" (v7 daemon), output of CONTROL.md §6.6.
    let t = TestDir::new("enable");
    let sd = service_dir(&t);
    let mut s = with_handshake(vec![
        Recv(hex("18 00")),
        Send(allenv(&["PATH=/usr/bin:/bin", "FOO=bar"])),
        Recv(hex("02 08 00 'enableme'")),
        Send(hex("3b 00 00 00 00 00 00")),
        Recv(hex("16 00 00 00 00 00")),
        Send(dscdir(&sd)),
        Recv(hex("02 04 00 'boot'")),
        Send(hex("3b 02 01 00 00 00 02")),
        Recv(hex("16 00 01 00 00 00")),
        Send(dscdir(&sd)),
        Recv(hex("1d 02 01 00 00 00 00 00 00 00")),
        Send(hex("46 00 01 02 10 00 00 00 d8 7e 00 00 00 00 00 00 15 17 09 6b 00 00 00 00 14 82 d8 2c 00 00 00 00")),
    ]);
    s.push(Send(hex(
        "65 15 00 00 00 00 00 02 02 10 00 00 00 d8 7e 00 00 00 00 00 00",
    )));
    s.push(Send(hex(
        "64 11 00 00 00 00 00 02 02 10 00 00 00 d8 7e 00 00",
    )));
    let out = session(&t, s, &["enable", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'enableme' has been enabled.\nService 'enableme' started.\n",
            "",
            0
        )
    );
    // "The symlink created was <tmpdir>/sd/boot.d/enableme -> ../enableme."
    assert_eq!(
        link_of(&sd.join("boot.d/enableme")),
        Some(PathBuf::from("../enableme"))
    );

    // Enabling again: refused before any request changes anything.
    let s = prelude(&sd, "enableme", 2, "boot", 2);
    let out = session(&t, s, &["enable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: service already enabled.\n", 1)
    );

    // PROTOCOL.md §11.7 "dinitctl disable enableme".
    let mut s = prelude(&sd, "enableme", 2, "boot", 2);
    s.extend([
        Recv(hex("0c 02 01 00 00 00 00 00 00 00")),
        Send(hex("32")),
        Send(hex("65 15 00 00 00 00 01 00 00 00 00 00 00 02 00 00 00 0f 00 00 00 64 11 00 00 00 00 01 00 00 00 00 00 00 ff ff ff ff")),
        Recv(hex("1a 00 00 00 00")),
        Send(hex("46 00 00 00 00 00 00 00 02 00 00 00 0f 00 00 00")),
    ]);
    let out = session(&t, s, &["disable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("Service 'enableme' has been disabled.\n", "", 0)
    );
    assert_eq!(link_of(&sd.join("boot.d/enableme")), None);

    // Disabling again: the daemon has no such dependency.
    let mut s = prelude(&sd, "enableme", 0, "boot", 2);
    s.extend([Recv(hex("0c 02 01 00 00 00 00 00 00 00")), Send(hex("33"))]);
    let out = session(&t, s, &["disable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: service not currently enabled\n", 1)
    );
}

#[test]
fn enable_variants_of_the_observed_session() {
    let t = TestDir::new("enable2");
    let sd = service_dir(&t);
    // "enable enableme (enableme already explicitly started)": status STARTED, nothing to wait.
    let mut s = prelude(&sd, "enableme", 2, "boot", 2);
    s.extend([
        Recv(hex("1d 02 01 00 00 00 00 00 00 00")),
        Send(status30(St::new(2, 2, 0x18, 0).detail(5, 0))),
    ]);
    let out = session(&t, s, &["enable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("Service 'enableme' has been enabled.\n", "", 0)
    );
    // "disable enableme (still explicitly started)": the note.
    let mut s = prelude(&sd, "enableme", 2, "boot", 2);
    s.extend([
        Recv(hex("0c 02 01 00 00 00 00 00 00 00")),
        Send(hex("32")),
        Recv(hex("1a 00 00 00 00")),
        Send(status14(St::new(2, 2, 0x18, 0).detail(5, 0))),
    ]);
    let out = session(&t, s, &["disable", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'enableme' has been disabled.\n",
            "dinitctl: note: disabled service may have other dependents\n",
            0
        )
    );
    // "enable efail2": the start fails with an exec failure.
    let mut s = prelude(&sd, "efail2", 0, "boot", 2);
    s.extend([
        Recv(hex("1d 02 01 00 00 00 00 00 00 00")),
        Send(status30(St::new(1, 2, 0x10, 0).detail(77, 0))),
        Send(event_pair(0, 2, St::new(3, 0, 0, 4).stage(18).detail(2, 0))),
    ]);
    let out = session(&t, s, &["enable", "efail2"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'efail2' has been enabled.\nService 'efail2' failed to start.\nReason: execution of service process failed:\n        Stage: executing command\n        Error: No such file or directory\n",
            "",
            1
        )
    );
    assert!(link_of(&sd.join("boot.d/efail2")).is_some());
    // "enable --from fromstopped enableme": the warning comes first.
    let mut s = prelude(&sd, "enableme", 0, "fromstopped", 0);
    s.extend([
        Recv(hex("1d 02 01 00 00 00 00 00 00 00")),
        Send(status30(St::new(0, 0, 0, 0))),
    ]);
    let out = session(&t, s, &["enable", "--from", "fromstopped", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'enableme' has been enabled.\n",
            "dinitctl: warning: enabling dependency for non-started service\n",
            0
        )
    );
    assert_eq!(
        link_of(&sd.join("fs.d/enableme")),
        Some(PathBuf::from("../enableme"))
    );
    // "enable --from waiter enableme": no waits-for.d.
    let s = prelude(&sd, "enableme", 0, "waiter", 2);
    let out = session(&t, s, &["enable", "--from", "waiter", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: service 'waiter' has no waits-for.d directory specified\n",
            1
        )
    );
    // A NAK (cycle).
    let mut s = prelude(&sd, "sleeper", 2, "boot", 2);
    s.extend([Recv(hex("1d 02 01 00 00 00 00 00 00 00")), Send(hex("33"))]);
    let out = session(&t, s, &["enable", "sleeper"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: could not enable service: possible circular dependency\n",
            1
        )
    );
    assert!(link_of(&sd.join("boot.d/sleeper")).is_none());
}

#[test]
fn from_description_checks() {
    let t = TestDir::new("fixed");
    let sd = service_dir(&t);
    t.write(
        "sd/fixed",
        "type = internal\nwaits-for = enableme\nwaits-for.d = f.d\n",
    );
    t.write(
        "sd/multi",
        "type = internal\nwaits-for.d = a.d\nwaits-for.d = b.d\n",
    );
    let s = prelude(&sd, "enableme", 0, "fixed", 2);
    let out = session(&t, s, &["enable", "--from", "fixed", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: there is a fixed dependency to service 'enableme' in the service description of 'fixed'.\n",
            1
        )
    );
    let s = prelude(&sd, "enableme", 0, "multi", 2);
    let out = session(&t, s, &["disable", "--from", "multi", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: service 'multi' has multiple waits-for.d directories specified in service description\n",
            1
        )
    );
}

#[test]
fn enable_via_and_daemon_environment() {
    // `@meta enable-via` names "from"; the waits-for.d of "from" uses a variable that only
    // the daemon's environment (GETALLENV) defines.
    let t = TestDir::new("via");
    let sd = service_dir(&t);
    t.write("sd/viame", "type = internal\n@meta enable-via target\n");
    t.write("sd/target", "type = internal\nwaits-for.d = $WDIR\n");
    std::fs::create_dir_all(sd.join("t.d")).unwrap();
    let s = with_handshake(vec![
        Recv(hex("18 00")),
        Send(allenv(&["PATH=/bin", "WDIR=t.d"])),
        Recv(load("viame")),
        Send(record(0, 0, 0)),
        Recv(dscdir_req(0)),
        Send(dscdir(&sd)),
        Recv(load("target")),
        Send(record(2, 1, 2)),
        Recv(dscdir_req(1)),
        Send(dscdir(&sd)),
        Recv(hex("1d 02 01 00 00 00 00 00 00 00")),
        Send(status30(St::new(2, 2, 0, 0))),
    ]);
    let out = session(&t, s, &["enable", "viame"]);
    assert_eq!(out.triple(), ("Service 'viame' has been enabled.\n", "", 0));
    assert_eq!(
        link_of(&sd.join("t.d/viame")),
        Some(PathBuf::from("../viame"))
    );
}

#[test]
fn link_failures() {
    let t = TestDir::new("linkfail");
    let sd = service_dir(&t);
    t.write("sd/nodir", "type = internal\nwaits-for.d = missing.d\n");
    let mut s = prelude(&sd, "enableme", 0, "nodir", 2);
    s.extend([
        Recv(hex("1d 02 01 00 00 00 00 00 00 00")),
        Send(status30(St::new(2, 2, 0, 0))),
    ]);
    let out = session(&t, s, &["enable", "--from", "nodir", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "",
            format!(
                "dinitctl: could not create symlink at {}/missing.d/enableme: No such file or directory\n\
                 dinitctl: note: service was enabled for now; persistent enable failed.\n",
                sd.display()
            )
            .as_str(),
            1
        )
    );
    // The daemon had the dependency, the link was gone.
    let mut s = prelude(&sd, "enableme", 2, "boot", 2);
    s.extend([Recv(hex("0c 02 01 00 00 00 00 00 00 00")), Send(hex("32"))]);
    let out = session(&t, s, &["disable", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "",
            format!(
                "dinitctl: could not unlink dependency entry {}/boot.d/enableme: No such file or directory\n\
                 dinitctl: note: service was disabled for now; persistent disable failed.\n",
                sd.display()
            )
            .as_str(),
            1
        )
    );
}

#[test]
fn older_protocols() {
    let t = TestDir::new("enable6");
    let sd = service_dir(&t);
    // Protocol 6: ENABLESERVICE (ACK), then SERVICESTATUS5; the start completes later.
    let mut s = handshake_v(6);
    s.extend([
        Recv(hex("18 00")),
        Send(allenv(&[])),
        Recv(load("enableme")),
        Send(record(0, 0, 0)),
        Recv(dscdir_req(0)),
        Send(dscdir(&sd)),
        Recv(load("boot")),
        Send(record(2, 1, 2)),
        Recv(dscdir_req(1)),
        Send(dscdir(&sd)),
        Recv(hex("0e 02 01 00 00 00 00 00 00 00")),
        Send(hex("32")),
        Recv(hex("1a 00 00 00 00")),
        Send(status14(St::new(1, 2, 0x10, 0).detail(8, 0))),
        Send(event_pair(0, 0, St::new(2, 2, 0x10, 0).detail(8, 0))),
    ]);
    let out = session(&t, s, &["enable", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "Service 'enableme' has been enabled.\nService 'enableme' started.\n",
            "",
            0
        )
    );
    std::fs::remove_file(sd.join("boot.d/enableme")).unwrap();
    // The start completes while the status is requested: the event decides.
    let mut s = handshake_v(6);
    s.extend([
        Recv(hex("18 00")),
        Send(allenv(&[])),
        Recv(load("enableme")),
        Send(record(0, 0, 0)),
        Recv(dscdir_req(0)),
        Send(dscdir(&sd)),
        Recv(load("boot")),
        Send(record(2, 1, 2)),
        Recv(dscdir_req(1)),
        Send(dscdir(&sd)),
        Recv(hex("0e 02 01 00 00 00 00 00 00 00")),
        Send(hex("32")),
        Recv(hex("1a 00 00 00 00")),
        Send(event_pair(0, 0, St::new(2, 2, 0x10, 0).detail(8, 0))),
        Send(status14(St::new(2, 2, 0x10, 0).detail(8, 0))),
    ]);
    let out = session(&t, s, &["enable", "enableme"]);
    assert_eq!(
        out.stdout,
        "Service 'enableme' has been enabled.\nService 'enableme' started.\n"
    );
    std::fs::remove_file(sd.join("boot.d/enableme")).unwrap();
    // Protocol 3: no GETALLENV, legacy status.
    let mut s = handshake_v(3);
    s.extend([
        Recv(load("enableme")),
        Send(record(0, 0, 0)),
        Recv(dscdir_req(0)),
        Send(dscdir(&sd)),
        Recv(load("boot")),
        Send(record(2, 1, 2)),
        Recv(dscdir_req(1)),
        Send(dscdir(&sd)),
        Recv(hex("0e 02 01 00 00 00 00 00 00 00")),
        Send(hex("32")),
        Recv(hex("12 00 00 00 00")),
        Send(status10(St::new(2, 2, 0x10, 0).detail(8, 0))),
    ]);
    let out = session(&t, s, &["enable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("Service 'enableme' has been enabled.\n", "", 0)
    );
    // Protocol 2: too old.
    let s = handshake_v(2);
    let out = session(&t, s, &["enable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: daemon too old or protocol error\n", 1)
    );
}

fn offline(t: &TestDir, args: &[&str]) -> Out {
    let mut all = vec!["-p", "/nonexistent-socket"];
    all.extend_from_slice(args);
    run_program_in(Some(&t.path), env!("CARGO_BIN_EXE_dinitctl"), &all, &[])
}

#[test]
fn offline_enable_disable() {
    let t = TestDir::new("offline");
    let sd = service_dir(&t);
    let d = sd.to_str().unwrap();
    let out = offline(&t, &["--offline", "-d", d, "enable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("Service 'enableme' has been enabled.\n", "", 0)
    );
    assert_eq!(
        link_of(&sd.join("boot.d/enableme")),
        Some(PathBuf::from("../enableme"))
    );
    let out = offline(&t, &["-o", "-d", d, "enable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("", "dinitctl: service already enabled.\n", 1)
    );
    let out = offline(&t, &["-o", "--services-dir", d, "disable", "enableme"]);
    assert_eq!(
        out.triple(),
        ("Service 'enableme' has been disabled.\n", "", 0)
    );
    assert!(link_of(&sd.join("boot.d/enableme")).is_none());
    // Not enabled: the link to remove is not there (Dinit's words).
    let out = offline(&t, &["-o", "-d", d, "disable", "enableme"]);
    assert_eq!(
        out.triple(),
        (
            "",
            format!(
                "dinitctl: could not unlink dependency entry {d}/boot.d/enableme: No such file or \
                 directory\n"
            )
            .as_str(),
            1
        )
    );
    // A relative directory, resolved against the working directory.
    let out = offline(
        &t,
        &[
            "-o",
            "-d",
            "sd",
            "enable",
            "--from",
            "fromstopped",
            "enableme",
        ],
    );
    assert_eq!(
        out.triple(),
        ("Service 'enableme' has been enabled.\n", "", 0)
    );
    assert_eq!(
        link_of(&sd.join("fs.d/enableme")),
        Some(PathBuf::from("../enableme"))
    );
    // Errors: no description, no waits-for.d, a fixed dependency.
    let out = offline(&t, &["-o", "-d", d, "enable", "nosuch"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: could not locate service file for target service 'nosuch'\n",
            1
        )
    );
    let out = offline(
        &t,
        &["-o", "-d", d, "enable", "--from", "waiter", "enableme"],
    );
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: service 'waiter' has no waits-for.d directory specified\n",
            1
        )
    );
    let out = offline(
        &t,
        &["-o", "-d", d, "enable", "--from", "waiter", "sleeper"],
    );
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: there is a fixed dependency to service 'sleeper' in the service description of 'waiter'.\n",
            1
        )
    );
}

#[test]
fn offline_across_directories() {
    // The first directory holding a description wins, as for the daemon; a service in
    // another directory than its "from" is linked by absolute path.
    let t = TestDir::new("offline2");
    t.write("d1/boot", "type = internal\nwaits-for.d = boot.d\n");
    std::fs::create_dir_all(t.path.join("d1/boot.d")).unwrap();
    t.write("d2/svc", "type = internal\n@meta enable-via boot\n");
    t.write("d2/boot", "type = internal\n");
    let d1 = t.path.join("d1");
    let d2 = t.path.join("d2");
    let out = offline(
        &t,
        &[
            "-o",
            "-d",
            d1.to_str().unwrap(),
            "-d",
            d2.to_str().unwrap(),
            "enable",
            "svc",
        ],
    );
    assert_eq!(out.triple(), ("Service 'svc' has been enabled.\n", "", 0));
    assert_eq!(link_of(&d1.join("boot.d/svc")), Some(d2.join("svc")));
    // Without -d, -d is required for the test's services: the defaults do not have them.
    let out = offline(&t, &["-o", "-u", "enable", "no-such-service-xyzzy"]);
    assert_eq!(out.code, 1);
    // --offline with other commands is refused, in Dinit's words.
    let out = offline(&t, &["-o", "start", "svc"]);
    assert_eq!(
        out.triple(),
        (
            "",
            "dinitctl: offline mode (--offline/-o) not supported for this command\n",
            1
        )
    );
}
