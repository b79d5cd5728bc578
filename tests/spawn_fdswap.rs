//! The descriptors passed to a launch may sit on each other's target numbers (the control
//! connection on 3, where the activation socket must go, and so on); the child must still end
//! up with each one in its place. A test binary of its own with one test, so that it can put
//! descriptors on fixed low numbers without disturbing other tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use dinit_hosted::spawn::{
    child_pipe, spawn, ExecOutcome, Input, LaunchFds, Output, ReadyNotification, SpawnConfig,
    SpawnSpec, Stdio,
};

/// Moves `fd` out of the low numbers (closing the original).
fn lift(fd: impl Into<OwnedFd>) -> OwnedFd {
    rustix::io::fcntl_dupfd_cloexec(fd.into(), 100).unwrap()
}

/// Moves `fd` onto exactly `target` (which must be free), close-on-exec.
fn pin(fd: OwnedFd, target: RawFd) -> OwnedFd {
    // SAFETY: F_GETFD only probes whether `target` is free.
    let in_use = unsafe { libc::fcntl(target, libc::F_GETFD) } >= 0;
    assert!(!in_use, "fd {target} is in use in this test process");
    // SAFETY: dup3 onto a free number takes nothing from anyone.
    let moved = unsafe { libc::dup3(fd.as_raw_fd(), target, libc::O_CLOEXEC) };
    assert_eq!(moved, target);
    // SAFETY: the new descriptor is owned here.
    unsafe { OwnedFd::from_raw_fd(target) }
}

fn inode(fd: impl AsFd) -> u64 {
    rustix::fs::fstat(fd).unwrap().st_ino
}

#[test]
fn passed_descriptors_on_each_others_targets() {
    // SAFETY: F_GETFD only reads a descriptor's flags (EBADF if it is not open).
    if (3..=6).any(|fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0) {
        println!("skipped: descriptors 3-6 are already in use in this test process");
        return;
    }
    let (control_a, control_b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (socket_a, socket_b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (ready_read, ready_write) = child_pipe().unwrap();
    let (out_read, out_write) = child_pipe().unwrap();
    let (control_a, _control_b) = (lift(control_a), lift(control_b));
    let (socket_a, _socket_b) = (lift(socket_a), lift(socket_b));
    let (ready_read, ready_write) = (lift(ready_read), lift(ready_write));
    let (out_read, out_write) = (lift(out_read), lift(out_write));

    // Targets: activation 3, pipevar 4, control 5; stdout/stderr 1-2.
    // Sources: control on 3, activation on 4, readiness on 5, output on 6.
    let control = pin(control_a, 3);
    let activation = pin(socket_a, 4);
    let ready_write = pin(ready_write, 5);
    let out_write = pin(out_write, 6);

    let mut config = SpawnConfig::new([
        "/bin/sh",
        "-c",
        r#"echo "$DINIT_CS_FD $READY $(readlink /proc/$$/fd/3) $(readlink /proc/$$/fd/5)"; echo r >&4"#,
    ]);
    config.socket_activation = true;
    config.pass_control_socket = true;
    config.ready_notification = Some(ReadyNotification::PipeVar(b"READY".to_vec()));
    config.stdio = Stdio::Detached {
        input: Input::Null,
        output: Output::Pipe,
    };
    let spec = Rc::new(SpawnSpec::new(&config).unwrap());
    let fds = LaunchFds {
        activation: Some(activation.as_fd()),
        control: Some(control.as_fd()),
        notify: Some(ready_write.as_fd()),
        output: Some(out_write.as_fd()),
        ..LaunchFds::default()
    };
    let none: [std::ffi::CString; 0] = [];
    let mut child = spawn(&spec, &fds, &none).unwrap();
    let expected = format!(
        "5 4 socket:[{}] socket:[{}]\n",
        inode(&activation),
        inode(&control)
    );
    drop((ready_write, out_write));
    assert_eq!(child.status.wait().unwrap(), ExecOutcome::Started);

    let mut text = String::new();
    rustix::io::ioctl_fionbio(&out_read, false).unwrap();
    std::fs::File::from(out_read)
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, expected);
    let mut ready = String::new();
    rustix::io::ioctl_fionbio(&ready_read, false).unwrap();
    std::fs::File::from(ready_read)
        .read_to_string(&mut ready)
        .unwrap();
    assert_eq!(ready, "r\n");
    let mut status = 0;
    // SAFETY: reaping our own child, its status written to a local.
    let reaped = unsafe { libc::waitpid(child.pid, &mut status, 0) };
    assert_eq!(reaped, child.pid);
    assert_eq!(libc::WEXITSTATUS(status), 0);
}
