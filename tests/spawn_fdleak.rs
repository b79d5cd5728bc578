//! Many launches in a row leave the parent's descriptor table as it was. A test binary of its
//! own, with one test, so that no other test opens descriptors while this one counts them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::CString;
use std::os::fd::AsFd;
use std::rc::Rc;

use dinit_core::ExecStage;
use dinit_hosted::spawn::{
    child_pipe, spawn, ExecOutcome, Input, LaunchFds, Output, ReadyNotification, SpawnConfig,
    SpawnSpec, Stdio,
};

fn open_fds() -> usize {
    // The directory handle itself is counted both times, so it cancels out.
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn reap(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: reaping our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    libc::WEXITSTATUS(status)
}

#[test]
fn many_launches_leak_no_descriptors() {
    let env: Vec<CString> = vec![c"PATH=/usr/bin:/bin".to_owned()];

    let mut ok = SpawnConfig::new(["/bin/sh", "-c", "echo ready >&4; echo out"]);
    ok.ready_notification = Some(ReadyNotification::PipeFd(4));
    ok.stdio = Stdio::Detached {
        input: Input::Null,
        output: Output::Pipe,
    };
    let ok = Rc::new(SpawnSpec::new(&ok).unwrap());

    let mut bad = SpawnConfig::new(["/bin/true"]);
    bad.working_dir = Some(b"/nonexistent/dinit-spawn".to_vec());
    let bad = Rc::new(SpawnSpec::new(&bad).unwrap());

    // Warm up whatever the C library opens lazily, and the spawner's spare descriptors
    // (kept open between launches, for a full descriptor table).
    let (r, w) = child_pipe().unwrap();
    drop((r, w));
    let child = spawn(&bad, &LaunchFds::default(), &env).unwrap();
    drop(child.status);
    assert_eq!(reap(child.pid), 127);

    let before = open_fds();
    for round in 0..150 {
        let (ready_read, ready_write) = child_pipe().unwrap();
        let (out_read, out_write) = child_pipe().unwrap();
        let fds = LaunchFds {
            notify: Some(ready_write.as_fd()),
            output: Some(out_write.as_fd()),
            ..LaunchFds::default()
        };
        let mut child = spawn(&ok, &fds, &env).unwrap();
        drop(ready_write);
        drop(out_write);
        assert_eq!(child.status.wait().unwrap(), ExecOutcome::Started);
        drop(child.status);
        assert_eq!(reap(child.pid), 0, "round {round}");
        drop((ready_read, out_read));

        let mut child = spawn(&bad, &LaunchFds::default(), &env).unwrap();
        match child.status.wait().unwrap() {
            ExecOutcome::Failed(f) => assert_eq!(f.stage, ExecStage::Chdir),
            other => panic!("{other:?}"),
        }
        drop(child.status);
        assert_eq!(reap(child.pid), 127);
    }
    assert_eq!(open_fds(), before);
}
