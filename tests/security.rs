//! Security: the real `dinit`, checked from outside the way an attacker or an auditor would —
//! through the file system, another user's credentials and /proc. The control socket (owner
//! only, never followed through a symbolic link, stale and live sockets), the inherited
//! control connection (`--use-passed-cfd`), privilege dropping (`run-as`: supplementary
//! groups, gid, uid), no-new-privs and capabilities, the files the daemon creates for services
//! (log files, activation sockets), and the isolation of one service's environment and
//! arguments from another's. docs/SECURITY.md gives the trust model these tests defend.
//!
//! Most tests need root (another user, a mount namespace); they are skipped with a message
//! otherwise. CI runs as root. The harness is tests/harness/.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{capture, environ, output_of, require_root, status_field, Instance, Launch};
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;

/// Runs `f` in a forked child with the credentials of `uid`/`gid` (no supplementary groups);
/// returns its exit code. `f` may only make system calls (the test is multi-threaded).
fn as_user(uid: u32, gid: u32, f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child makes only async-signal-safe system calls (setgroups, setgid, setuid,
    // whatever `f` does, _exit) and never returns; the parent waits for it.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: an empty group list: no memory is read.
        let mut ok = unsafe { libc::setgroups(0, std::ptr::null()) } == 0;
        // SAFETY: setgid takes an integer and changes only this (child) process.
        ok = ok && unsafe { libc::setgid(gid) } == 0;
        // SAFETY: as setgid.
        ok = ok && unsafe { libc::setuid(uid) } == 0;
        let code = if ok { f() } else { 100 };
        // SAFETY: _exit ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child, writing its status to a local.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    libc::WEXITSTATUS(status)
}

/// `connect(2)` to `path` as the calling process; 0 or the errno.
fn raw_connect(addr: &libc::sockaddr_un) -> i32 {
    // SAFETY: socket takes integers only.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return 99;
    }
    // SAFETY: connect reads a valid, fully initialised address of the size given.
    let rc = unsafe {
        libc::connect(
            fd,
            (addr as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    let errno = if rc == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    };
    // SAFETY: closes the socket opened above, which nothing else owns.
    unsafe { libc::close(fd) };
    errno
}

fn sockaddr(path: &Path) -> libc::sockaddr_un {
    // SAFETY: an all-zero sockaddr_un is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_encoded_bytes();
    assert!(bytes.len() < addr.sun_path.len(), "{path:?} too long");
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    addr
}

/// `open(2)` of `path` read-only as the calling process; 0 or the errno.
fn raw_open(path: &CString) -> i32 {
    // SAFETY: open reads a valid C string.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    }
    // SAFETY: closes the file opened above, which nothing else owns.
    unsafe { libc::close(fd) };
    0
}

/// A file of root's, mode 0600, that no test may change: its content, owner and mode.
struct Victim {
    path: PathBuf,
}

impl Victim {
    fn plant(dir: &Path) -> Victim {
        let path = dir.join("victim");
        std::fs::write(&path, "precious\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        Victim { path }
    }

    fn assert_untouched(&self) {
        let meta = std::fs::symlink_metadata(&self.path).unwrap();
        assert!(meta.file_type().is_file(), "{:?}", meta.file_type());
        assert_eq!(std::fs::read_to_string(&self.path).unwrap(), "precious\n");
        assert_eq!(meta.mode() & 0o7777, 0o600, "mode of the victim");
        assert_eq!(
            (meta.uid(), meta.gid()),
            (0, 0),
            "owner of the victim (when run as root)"
        );
    }
}

/// A copy of dinitctl that other users can run, in `dir` (made 0755).
fn public_dinitctl(dir: &Path) -> PathBuf {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ctl = dir.join("dinitctl");
    std::fs::copy(harness::DINITCTL, &ctl).unwrap();
    std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    ctl
}

/// Starts a daemon on socket `sock` of `dir` that must refuse to start; returns its exit code
/// and what it printed.
fn refused_daemon(dir: &Path, sock: &Path) -> (Option<i32>, String) {
    Launch::in_dir(dir.to_owned())
        .socket(sock)
        .no_log_file()
        .start_refused()
}

// ---------------------------------------------------------------------------------------------
// The control socket

#[test]
fn the_control_socket_is_owner_only_and_other_users_cannot_connect() {
    require_root!("another user's credentials");
    let i = Instance::start("sec-sock", &[("svc", "type = internal\n")]);
    let meta = std::fs::symlink_metadata(&i.sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o7777, 0o600, "owner-only");
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    // The directory is open to all: only the socket's mode keeps others out.
    std::fs::set_permissions(&i.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let addr = sockaddr(&i.sock);
    assert_eq!(raw_connect(&addr), 0, "root connects");
    assert_eq!(
        as_user(NOBODY, NOBODY, || raw_connect(&addr)),
        libc::EACCES,
        "nobody must not connect"
    );
    // Nor through the daemon's own descriptors or root directory in /proc (ptrace rules).
    let via_fd = CString::new(format!("/proc/{}/fd/0", i.pid)).unwrap();
    assert_eq!(as_user(NOBODY, NOBODY, || raw_open(&via_fd)), libc::EACCES);
    let via_root = sockaddr(Path::new(&format!(
        "/proc/{}/root{}",
        i.pid,
        i.sock.display()
    )));
    assert_eq!(
        as_user(NOBODY, NOBODY, || raw_connect(&via_root)),
        libc::EACCES
    );
    // Our dinitctl, run as nobody, says so.
    let ctl = public_dinitctl(&i.dir);
    let (out, code) = output_of(
        Command::new(&ctl)
            .arg("-p")
            .arg(&i.sock)
            .args(["stop", "svc"])
            .uid(NOBODY)
            .gid(NOBODY)
            .stdin(Stdio::null()),
    )
    .merged();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Permission denied"), "{out}");
    assert_eq!(i.state("boot"), "STARTED");
}

#[test]
fn the_system_instance_socket_is_owner_only() {
    require_root!("a mount namespace with a /run of its own");
    // `dinit -s` without -p: the default socket /run/dinitctl, in a /run private to the
    // daemon (a tmpfs in a mount namespace of its own); -e: not the host's environment file.
    let l = Launch::new("sec-system", &[]);
    std::fs::write(l.dir().join("env"), "").unwrap();
    let i = l
        .wrap(&[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            "mount -t tmpfs -o mode=0755 tmpfs /run && exec \"$@\"",
            "sh",
        ])
        .system()
        .args(&["-e", "{dir}/env"])
        .start();
    let meta = std::fs::symlink_metadata(&i.sock).unwrap();
    assert!(meta.file_type().is_socket(), "{:?}", i.sock);
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    assert_eq!(i.state("boot"), "STARTED");
    // The host's /run is not touched.
    let host = std::fs::symlink_metadata("/run/dinitctl");
    assert!(
        host.is_err() || host.unwrap().ino() != meta.ino(),
        "the host's /run/dinitctl"
    );
}

#[test]
fn a_symlink_at_the_socket_path_is_never_followed() {
    let l = Launch::new("sec-link", &[]);
    let dir = l.dir().to_owned();
    let victim = Victim::plant(&dir);
    // Planted before the daemon starts: it refuses, and neither the link nor its target
    // changes.
    let link = dir.join("sock");
    std::os::unix::fs::symlink(&victim.path, &link).unwrap();
    let (code, out) = refused_daemon(&dir, &link);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not a socket"), "{out}");
    assert_eq!(std::fs::read_link(&link).unwrap(), victim.path);
    victim.assert_untouched();
    // A link to nowhere: not followed to create the socket at its target.
    std::fs::remove_file(&link).unwrap();
    let nowhere = dir.join("nowhere");
    std::os::unix::fs::symlink(&nowhere, &link).unwrap();
    let (code, out) = refused_daemon(&dir, &link);
    assert_eq!(code, Some(1), "{out}");
    assert!(std::fs::symlink_metadata(&nowhere).is_err());
    std::fs::remove_file(&link).unwrap();

    // Planted while it runs, then SIGUSR1 (re-create the socket if its file has gone): the
    // path is taken, so nothing is done; neither the link nor its target changes.
    let i = l.start();
    // A client connected before: the reply to a request written after a signal comes once
    // the daemon has handled that signal (pending before the request, it is taken first).
    let mut client = std::os::unix::net::UnixStream::connect(&i.sock).unwrap();
    client.set_read_timeout(Some(harness::HANG)).unwrap();
    std::fs::remove_file(&i.sock).unwrap();
    std::os::unix::fs::symlink(&victim.path, &i.sock).unwrap();
    for _ in 0..3 {
        i.signal(libc::SIGUSR1);
        // QUERYVERSION, answered with CPVERSION (5 bytes).
        let mut reply = [0u8; 5];
        client.write_all(&[0]).unwrap();
        client.read_exact(&mut reply).unwrap();
        assert_eq!(reply[0], 0x3a, "{reply:?}");
    }
    assert_ne!(i.ctl(&["list"]).code, 0, "no socket behind the link");
    assert_eq!(std::fs::read_link(&i.sock).unwrap(), victim.path);
    victim.assert_untouched();
    // The link gone, the next SIGUSR1 brings the socket back, owner-only.
    std::fs::remove_file(&i.sock).unwrap();
    i.signal(libc::SIGUSR1);
    i.wait_for("the socket to be back", || i.ctl(&["list"]).code == 0);
    let meta = std::fs::symlink_metadata(&i.sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o7777, 0o600);
}

#[test]
fn stale_sockets_are_replaced_and_live_ones_refused() {
    let l = Launch::new("sec-stale", &[("svc", "type = internal\n")]);
    let dir = l.dir().to_owned();
    // A stale socket (its listener gone), open to all: replaced by an owner-only one.
    let sock = dir.join("sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).unwrap();
    let i = l.start();
    let meta = std::fs::symlink_metadata(&i.sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o7777, 0o600, "a new socket, owner-only");
    // A live socket: a second daemon refuses to start and leaves the first one alone.
    let (code, out) = refused_daemon(&dir, &i.sock);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("already active"), "{out}");
    assert_eq!(
        std::fs::symlink_metadata(&i.sock).unwrap().ino(),
        meta.ino(),
        "the live socket is not replaced"
    );
    i.ok(&["start", "svc"]);
    assert_eq!(i.state("svc"), "STARTED");
}

#[test]
fn the_passed_control_connection_gives_an_unprivileged_user_nothing() {
    require_root!("another user's credentials");
    let i = Instance::start(
        "sec-cfd",
        &[
            // Its own connection, as the service file grants it; run as nobody.
            (
                "passcs",
                "type = process\noptions = pass-cs-fd\nrun-as = nobody\ncommand = /bin/sleep 1020\n",
            ),
            // No connection: nothing of the daemon's is inherited.
            (
                "plain",
                "type = process\nrun-as = nobody\ncommand = /bin/sleep 1021\n",
            ),
        ],
    );
    let ctl = public_dinitctl(&i.dir);
    let nobody = |env: &[(&str, &str)], stdin: Stdio| {
        let mut cmd = Command::new(&ctl);
        cmd.args(["--use-passed-cfd", "-p"])
            .arg(&i.sock)
            .args(["stop", "boot"])
            .uid(NOBODY)
            .gid(NOBODY)
            .env_remove("DINIT_CS_FD")
            .stdin(stdin);
        for (k, v) in env {
            cmd.env(k, v);
        }
        capture(&mut cmd).merged()
    };
    // No DINIT_CS_FD: the socket path, which nobody may not use.
    let (out, code) = nobody(&[], Stdio::null());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Permission denied"), "{out}");
    // Descriptors that are not a connection to the daemon: an error, never a request that
    // reaches it.
    for fd in ["0", "1", "7", "-1", "99999999999", "junk"] {
        let (out, code) = nobody(&[("DINIT_CS_FD", fd)], Stdio::null());
        assert_ne!(code, 0, "DINIT_CS_FD={fd}: {out}");
    }
    assert_eq!(i.state("boot"), "STARTED");

    i.ok(&["start", "passcs"]);
    i.ok(&["start", "plain"]);
    let fds_of = |pid: i32| -> Vec<(String, String)> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_link(e.path())
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect()
    };
    // The plain service has its three standard descriptors and nothing else. (Just after
    // exec, the program's dynamic loader holds files of its own for a moment: look again
    // until it has settled, for up to 30 s; an inherited descriptor would stay.)
    let plain_pid = i.pid_of("plain").unwrap();
    let numbers_of = |fds: &[(String, String)]| -> Vec<String> {
        let mut n: Vec<String> = fds.iter().map(|(n, _)| n.clone()).collect();
        n.sort();
        n
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut plain = fds_of(plain_pid);
    while numbers_of(&plain) != ["0", "1", "2"] && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        plain = fds_of(plain_pid);
    }
    assert_eq!(numbers_of(&plain), ["0", "1", "2"], "{plain:?}");
    assert!(
        plain.iter().all(|(_, t)| !t.starts_with("socket:")),
        "{plain:?}"
    );
    // The pass-cs-fd service has its connection in DINIT_CS_FD, and only that one socket.
    let pid = i.pid_of("passcs").unwrap();
    let env = environ(pid);
    let cs = env
        .iter()
        .find_map(|v| v.strip_prefix("DINIT_CS_FD="))
        .expect("DINIT_CS_FD")
        .to_owned();
    let passcs = fds_of(pid);
    let sockets: Vec<&(String, String)> = passcs
        .iter()
        .filter(|(_, t)| t.starts_with("socket:"))
        .collect();
    assert_eq!(sockets.len(), 1, "{passcs:?}");
    assert_eq!(sockets[0].0, cs);
    assert!(!environ(i.pid_of("plain").unwrap())
        .iter()
        .any(|v| v.starts_with("DINIT_CS_FD=")));
    // Its end of the connection goes with it: the daemon holds one descriptor fewer after.
    let before = i.fd_count();
    i.ok(&["stop", "passcs"]);
    i.wait_for("the passed connection to be closed", || {
        i.fd_count() < before
    });
}

// ---------------------------------------------------------------------------------------------
// Privileges of service processes

/// A user with supplementary groups in the group database, else `nobody`: its name, uid,
/// gid and every group getgrouplist(3) gives.
fn user_with_groups() -> (String, u32, u32, Vec<u32>) {
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let member = group
        .lines()
        .filter_map(|l| l.split(':').nth(3))
        .flat_map(|m| m.split(','))
        .find(|m| !m.is_empty() && passwd.lines().any(|p| p.split(':').next() == Some(m)))
        .unwrap_or("nobody")
        .to_owned();
    let cname = CString::new(member.clone()).unwrap();
    // SAFETY: getpwnam reads a valid C string; it returns NULL or a pointer to the C
    // library's static entry.
    let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
    // SAFETY: NULL or the static entry, whose fields are copied out at once (no other lookup
    // runs meanwhile in this thread).
    let pw = unsafe { pw.as_ref() };
    let pw = pw.unwrap_or_else(|| panic!("{member} in the password database"));
    let (uid, gid) = (pw.pw_uid, pw.pw_gid);
    let mut groups = vec![0 as libc::gid_t; 256];
    let mut n = groups.len() as libc::c_int;
    // SAFETY: the buffer holds `n` groups.
    let rc = unsafe { libc::getgrouplist(cname.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
    assert!(rc >= 0, "getgrouplist");
    groups.truncate(n as usize);
    groups.sort();
    groups.dedup();
    (member, uid, gid, groups)
}

fn id_line(id: u32) -> String {
    format!("{id}\t{id}\t{id}\t{id}")
}

fn groups_of(pid: i32) -> Vec<u32> {
    let mut g: Vec<u32> = status_field(pid, "Groups")
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    g.sort();
    g
}

#[test]
fn run_as_drops_groups_gid_and_uid_for_good() {
    require_root!("run-as");
    let (user, uid, gid, groups) = user_with_groups();
    eprintln!("run-as {user}: uid {uid}, gid {gid}, groups {groups:?}");
    // The daemon has supplementary groups of its own, which must not reach the services.
    let i = Launch::new(
        "sec-runas",
        &[
            (
                "named",
                &format!("type = process\nrun-as = {user}\ncommand = /bin/sleep 1022\n"),
            ),
            (
                "nobody",
                "type = process\nrun-as = nobody\ncommand = /bin/sleep 1023\n",
            ),
            ("root", "type = process\ncommand = /bin/sleep 1024\n"),
        ],
    )
    .groups(&[4242, 4343])
    .start();
    assert_eq!(groups_of(i.pid), [4242, 4343]);
    for svc in ["named", "nobody", "root"] {
        i.ok(&["start", svc]);
    }
    let named = i.pid_of("named").unwrap();
    // Real, effective, saved and file-system ids all changed: nothing to regain root with.
    assert_eq!(status_field(named, "Uid"), id_line(uid));
    assert_eq!(status_field(named, "Gid"), id_line(gid));
    assert_eq!(groups_of(named), groups, "the user's groups, only those");
    let nobody = i.pid_of("nobody").unwrap();
    assert_eq!(status_field(nobody, "Uid"), id_line(NOBODY));
    assert_eq!(status_field(nobody, "Gid"), id_line(NOBODY));
    assert!(
        !groups_of(nobody).contains(&4242),
        "{:?}",
        groups_of(nobody)
    );
    assert!(groups_of(nobody).iter().all(|&g| g != 0));
    // Without run-as, the daemon's credentials.
    let root = i.pid_of("root").unwrap();
    assert_eq!(status_field(root, "Uid"), id_line(0));
    assert_eq!(groups_of(root), [4242, 4343]);
}

/// A capability set of /proc/PID/status as a number.
fn caps(pid: i32, set: &str) -> u64 {
    u64::from_str_radix(&status_field(pid, set), 16).unwrap()
}

#[test]
fn no_new_privs_and_capabilities_are_as_configured() {
    require_root!("run-as and capabilities");
    const NET_BIND_SERVICE: u64 = 1 << 10;
    const SYS_MODULE: u64 = 1 << 16;
    let i = Instance::start(
        "sec-caps",
        &[
            (
                "plain",
                "type = process\nrun-as = nobody\ncommand = /bin/sleep 1025\n",
            ),
            (
                "nnp",
                "type = process\nrun-as = nobody\noptions = no-new-privs\ncommand = /bin/sleep 1026\n",
            ),
            (
                "ambient",
                "type = process\nrun-as = nobody\ncapabilities = ^cap_net_bind_service\ncommand = /bin/sleep 1027\n",
            ),
            (
                "blocked",
                "type = process\ncapabilities = !cap_sys_module\ncommand = /bin/sleep 1028\n",
            ),
            ("root", "type = process\ncommand = /bin/sleep 1029\n"),
        ],
    );
    for svc in ["plain", "nnp", "ambient", "blocked", "root"] {
        i.ok(&["start", svc]);
    }
    let daemon_bnd = caps(i.pid, "CapBnd");
    let plain = i.pid_of("plain").unwrap();
    assert_eq!(status_field(plain, "NoNewPrivs"), "0");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(caps(plain, set), 0, "plain {set}");
    }
    let nnp = i.pid_of("nnp").unwrap();
    assert_eq!(status_field(nnp, "NoNewPrivs"), "1");
    assert_eq!(caps(nnp, "CapEff"), 0);
    // Ambient: kept across the uid change and the exec, and nothing more.
    let amb = i.pid_of("ambient").unwrap();
    assert_eq!(status_field(amb, "Uid"), id_line(NOBODY));
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(caps(amb, set), NET_BIND_SERVICE, "ambient {set}");
    }
    assert_eq!(status_field(amb, "NoNewPrivs"), "0");
    // Blocked: dropped from the bounding set, and from the effective set after exec.
    let blocked = i.pid_of("blocked").unwrap();
    assert_eq!(
        caps(blocked, "CapBnd"),
        daemon_bnd & !SYS_MODULE,
        "bounding set"
    );
    assert_eq!(caps(blocked, "CapEff") & SYS_MODULE, 0);
    assert_eq!(caps(blocked, "CapInh"), 0);
    // Nothing configured: root keeps root's sets, and the bounding set is the daemon's.
    let root = i.pid_of("root").unwrap();
    assert_eq!(caps(root, "CapBnd"), daemon_bnd);
    assert_eq!(caps(root, "CapEff"), caps(i.pid, "CapEff"));
    assert_eq!(caps(root, "CapAmb"), 0);
}

// ---------------------------------------------------------------------------------------------
// Files created for services

#[test]
fn log_files_get_their_owner_and_mode_and_never_follow_a_symlink() {
    require_root!("log file owners");
    let l = Launch::new(
        "sec-logfile",
        &[
            (
                "logged",
                "type = process\ncommand = /bin/sh -c \"echo hello; exec sleep 1030\"\nlog-type = file\nlogfile = {dir}/logs/logged.log\nlogfile-permissions = 0660\nlogfile-uid = 65534\nlogfile-gid = 65534\n",
            ),
            (
                "planted",
                "type = process\ncommand = /bin/sh -c \"echo overwritten; exec sleep 1031\"\nlog-type = file\nlogfile = {dir}/logs/planted.log\n",
            ),
            (
                "dangling",
                "type = process\ncommand = /bin/sleep 1032\nlog-type = file\nlogfile = {dir}/logs/dangling.log\n",
            ),
        ],
    );
    let dir = l.dir().to_owned();
    let victim = Victim::plant(&dir);
    std::fs::create_dir(dir.join("logs")).unwrap();
    std::os::unix::fs::symlink(&victim.path, dir.join("logs/planted.log")).unwrap();
    std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("logs/dangling.log")).unwrap();
    let i = l.start();
    i.ok(&["start", "logged"]);
    let log = i.path("logs/logged.log");
    i.wait_for("the output", || i.read("logs/logged.log") == "hello\n");
    let meta = std::fs::symlink_metadata(&log).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.mode() & 0o7777, 0o660, "exactly, whatever the umask");
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY));
    // Planted links: the start fails with ELOOP at the log file step; nothing written
    // through them, nothing created at their targets.
    for svc in ["planted", "dangling"] {
        let (out, code) = i.ctl(&["start", svc]).merged();
        assert_eq!(code, 1, "{svc}: {out}");
        let status = i.status(svc);
        assert!(status.contains("could not be launched"), "{status}");
        assert!(
            status.contains("Too many levels of symbolic links"),
            "{status}"
        );
    }
    victim.assert_untouched();
    assert!(std::fs::symlink_metadata(dir.join("elsewhere")).is_err());
}

#[test]
fn activation_sockets_get_their_owner_and_mode_and_never_follow_a_symlink() {
    require_root!("socket owners");
    let l = Launch::new(
        "sec-activation",
        &[
            (
                "act",
                "type = process\ncommand = /bin/sleep 1033\nsocket-listen = {dir}/act.sock\nsocket-permissions = 0604\nsocket-uid = 65534\nsocket-gid = 65534\n",
            ),
            (
                "planted",
                "type = process\ncommand = /bin/sleep 1034\nsocket-listen = {dir}/planted.sock\nsocket-permissions = 0666\nsocket-uid = 65534\n",
            ),
            (
                "raced",
                "type = process\ncommand = /bin/true\nsocket-listen = {dir}/raced/s.sock\nsocket-permissions = 0666\nsocket-uid = 65534\nsocket-gid = 65534\n",
            ),
        ],
    );
    let dir = l.dir().to_owned();
    let victim = Victim::plant(&dir);
    std::os::unix::fs::symlink(&victim.path, dir.join("planted.sock")).unwrap();
    let i = l.start();
    i.ok(&["start", "act"]);
    let meta = std::fs::symlink_metadata(i.path("act.sock")).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o7777, 0o604);
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY));
    // The service has it as descriptor 3.
    let pid = i.pid_of("act").unwrap();
    assert!(std::fs::read_link(format!("/proc/{pid}/fd/3"))
        .unwrap()
        .display()
        .to_string()
        .starts_with("socket:"));
    assert!(environ(pid).contains(&"LISTEN_FDS=1".to_owned()));
    // A link at the path: refused, neither removed nor followed.
    let (out, code) = i.ctl(&["start", "planted"]).merged();
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        std::fs::read_link(i.path("planted.sock")).unwrap(),
        victim.path
    );
    victim.assert_untouched();

    // The socket replaced by a link to the victim the moment after it is bound, over and over
    // (someone who may write to the directory): the owner and mode are set without going
    // through the path again, so the victim is never changed.
    std::fs::create_dir(i.path("raced")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let (dir, target, stop) = (i.path("raced"), victim.path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tmp = dir.join("tmp");
                let _ = std::fs::remove_file(&tmp);
                if std::os::unix::fs::symlink(&target, &tmp).is_ok()
                    && std::fs::rename(&tmp, dir.join("s.sock")).is_ok()
                {
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let t = Instant::now();
    let mut starts = 0;
    while t.elapsed() < Duration::from_millis(1500) {
        // A link at the path refuses the start; a socket (put back below) is replaced.
        let _ = i.ctl(&["start", "raced"]);
        let _ = i.ctl(&["stop", "raced"]);
        let _ = std::fs::remove_file(i.path("raced/s.sock"));
        starts += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = racer.join().unwrap();
    eprintln!("{starts} starts against {swaps} swaps of the socket path");
    victim.assert_untouched();
    assert_eq!(i.ctl(&["list"]).code, 0);
}

// ---------------------------------------------------------------------------------------------
// Environment and arguments

fn has_var(env: &[String], name: &str) -> bool {
    env.iter()
        .any(|v| v.split_once('=').is_some_and(|(k, _)| k == name))
}

#[test]
fn values_of_one_service_never_reach_another() {
    let i = Instance::start(
        "sec-env",
        &[
            (
                "a",
                "type = process\nenv-file = a.env\ncommand = /bin/sh -c \"echo >&$$A_READY; exec sleep 1040\"\nready-notification = pipevar:A_READY\nsocket-listen = {dir}/a.sock\noptions = pass-cs-fd\n",
            ),
            ("a.env", "SECRET_A=alpha\nSHARED=from-a\n"),
            (
                "c",
                "type = process\nenv-file = c.env\ncommand = /bin/sleep 1041\n",
            ),
            ("c.env", "!clear\nONLY_C=gamma\nSHARED=from-c\n"),
            ("b", "type = process\ncommand = /bin/sleep 1042\n"),
            (
                "t",
                "type = process\ncommand = /bin/sh -c \"echo $1 $$0 $$T_ARG > {dir}/t-$1; exec sleep 1043\" t-$1\nenv-file = t-$1.env\n",
            ),
            // Per-instance environment files (the file name is substituted; the contents of
            // an environment file are not).
            ("t-one.env", "T_ARG=arg-one\n"),
            ("t-two.env", "T_ARG=arg-two\n"),
        ],
    );
    // `a` is started, then `c` (which clears the daemon's environment for itself), then `b`:
    // whatever the launch buffers kept from one would show in the next.
    i.ok(&["start", "a"]);
    i.ok(&["setenv", "GLOBAL_X=global"]);
    i.ok(&["start", "c"]);
    i.ok(&["start", "t@one"]);
    i.ok(&["start", "t@two"]);
    i.ok(&["unsetenv", "GLOBAL_X"]);
    i.ok(&["start", "b"]);
    // The environment as the program has it (`sh` drops variables whose names it cannot
    // handle when it execs `sleep`).
    let env_of = |svc: &str| {
        let mut pid = 0;
        i.wait_for("the shell to exec", || {
            pid = i.pid_of(svc).unwrap_or(0);
            harness::cmdline(pid).first().is_some_and(|c| c == "sleep")
        });
        environ(pid)
    };
    let a = env_of("a");
    let b = environ(i.pid_of("b").unwrap());
    let c = environ(i.pid_of("c").unwrap());
    assert!(a.contains(&"SECRET_A=alpha".to_owned()), "{a:?}");
    assert!(has_var(&a, "A_READY") && has_var(&a, "LISTEN_FDS") && has_var(&a, "DINIT_CS_FD"));
    // `c`: its own variables and nothing of the daemon's (cleared) nor of `a`'s.
    assert!(c.contains(&"ONLY_C=gamma".to_owned()), "{c:?}");
    assert!(c.contains(&"SHARED=from-c".to_owned()), "{c:?}");
    assert!(!has_var(&c, "LC_ALL"), "cleared: {c:?}");
    // `b`: the daemon's environment only, as it is now (GLOBAL_X unset again).
    assert!(b.contains(&"LC_ALL=C".to_owned()), "{b:?}");
    for name in [
        "SECRET_A",
        "SHARED",
        "ONLY_C",
        "A_READY",
        "LISTEN_FDS",
        "LISTEN_PID",
        "DINIT_CS_FD",
        "T_ARG",
        "GLOBAL_X",
    ] {
        assert!(!has_var(&b, name), "{name} leaked into b: {b:?}");
        if name != "SHARED" && name != "ONLY_C" {
            // (Cleared, GLOBAL_X too: it was set when c started, but c starts from nothing.)
            assert!(!has_var(&c, name), "{name} in c: {c:?}");
        }
    }
    // Each instance of a template has its own argument, in its command and its environment.
    i.wait_for("both to write", || {
        i.read("t-one").ends_with('\n') && i.read("t-two").ends_with('\n')
    });
    assert_eq!(i.read("t-one"), "one t-one arg-one\n");
    assert_eq!(i.read("t-two"), "two t-two arg-two\n");
    let one = environ(i.pid_of("t@one").unwrap());
    let two = environ(i.pid_of("t@two").unwrap());
    assert!(one.contains(&"T_ARG=arg-one".to_owned()), "{one:?}");
    assert!(two.contains(&"T_ARG=arg-two".to_owned()), "{two:?}");
    // Restarted after all that, `a` has exactly what it had.
    i.ok(&["restart", "a"]);
    i.wait_for("a to run again", || i.state("a") == "STARTED");
    let mut again = env_of("a");
    let mut before = a.clone();
    let volatile = |v: &String| {
        v.starts_with("LISTEN_PID=") || v.starts_with("A_READY=") || v.starts_with("DINIT_CS_FD=")
    };
    again.retain(|v| !volatile(v));
    before.retain(|v| !volatile(v));
    again.sort();
    before.sort();
    assert_eq!(again, before, "a, restarted");
}
