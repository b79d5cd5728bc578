//! A real `dinit` on a temporary service directory, started the way the test needs ([`Launch`]):
//! in user mode (the default), as a system instance, or as PID 1 of a new PID namespace; with
//! a descriptor limit, supplementary groups, another standard output, a wrapper such as
//! `unshare`; driven by our `dinitctl` and observed through its files and /proc
//! ([`Instance`]).

use super::{
    descendants, exe_of, output_of, refused, run_ctl, tail, wait_exit, wait_until, Out, DINIT,
    DINITCTL, HANG, WAIT,
};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The kernel's console log level as this test process found it. A system manager (a
/// [`Launch::pid1`] instance) turns the kernel's console output off, as Dinit does, and that
/// level belongs to the host, not to the namespace: every PID 1 run puts it back when it ends.
static CONSOLE_LEVEL: OnceLock<Option<String>> = OnceLock::new();

const PRINTK: &str = "/proc/sys/kernel/printk";

fn save_console_level() {
    CONSOLE_LEVEL.get_or_init(|| {
        let levels = std::fs::read_to_string(PRINTK).ok()?;
        levels.split_whitespace().next().map(str::to_owned)
    });
}

fn restore_console_level() {
    if let Some(Some(level)) = CONSOLE_LEVEL.get() {
        // Writing one number sets the first field (the console level) only.
        let _ = std::fs::write(PRINTK, level);
    }
}

/// Where the daemon runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `dinit -u -p DIR/sock`.
    User,
    /// `dinit -s`, socket `/run/dinitctl` (inside a wrapper's mount namespace).
    System,
    /// `dinit` as PID 1 of `unshare --pid --fork --mount-proc --mount`, its socket the system
    /// one, `/etc/dinit/shutdown-hook` a script that records its argument.
    Pid1,
}

/// How to start the daemon.
pub struct Launch {
    dir: PathBuf,
    sock: Option<PathBuf>,
    extra: Vec<String>,
    nofile: Option<libc::rlim_t>,
    groups: Option<Vec<u32>>,
    stdout: Option<Stdio>,
    log_file: bool,
    wrapper: Vec<String>,
    env: Vec<(String, String)>,
    mode: Mode,
    console_input: Option<String>,
    /// Standard output and error to pipes ([`Launch::start_refused`]).
    capture: bool,
}

impl Launch {
    /// Writes the services into a new temporary directory (see [`write_service`]); a `boot`
    /// service is added unless given: internal, with `waits-for.d = boot.d`, as in Dinit's own
    /// test setups, it keeps a user instance running (one exits once no service is active).
    pub fn new(tag: &str, services: &[(&str, &str)]) -> Launch {
        let dir = super::temp_dir(tag);
        if !services.iter().any(|(n, _)| *n == "boot") {
            write_services(
                &dir,
                &[
                    ("boot", "type = internal\nwaits-for.d = boot.d\n"),
                    ("boot.d/", ""),
                ],
            );
        }
        write_services(&dir, services);
        Launch::in_dir(dir)
    }

    /// A daemon on a directory the test has prepared (services in `dir/sd`); the instance
    /// removes the directory when dropped.
    pub fn in_dir(dir: PathBuf) -> Launch {
        Launch {
            dir,
            sock: None,
            extra: Vec::new(),
            nofile: None,
            groups: None,
            stdout: None,
            log_file: true,
            wrapper: Vec::new(),
            env: Vec::new(),
            mode: Mode::User,
            console_input: None,
            capture: false,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The control socket (default: `sock` in the directory).
    pub fn socket(mut self, path: &Path) -> Launch {
        self.sock = Some(path.to_owned());
        self
    }

    /// More daemon arguments (`{dir}` is replaced).
    pub fn args(mut self, args: &[&str]) -> Launch {
        let d = self.dir.to_str().unwrap().to_owned();
        self.extra
            .extend(args.iter().map(|a| a.replace("{dir}", &d)));
        self
    }

    /// RLIMIT_NOFILE (soft and hard) of the daemon.
    pub fn nofile(mut self, n: libc::rlim_t) -> Launch {
        self.nofile = Some(n);
        self
    }

    /// Supplementary groups of the daemon (root only).
    pub fn groups(mut self, groups: &[u32]) -> Launch {
        self.groups = Some(groups.to_vec());
        self
    }

    /// The daemon's standard output and error (default: the file `console`).
    pub fn stdout(mut self, out: Stdio) -> Launch {
        self.stdout = Some(out);
        self
    }

    /// No `-l`: the main log is syslog (`/dev/log`) if there is one.
    pub fn no_log_file(mut self) -> Launch {
        self.log_file = false;
        self
    }

    /// Runs the daemon through `program args...` (for instance `unshare --time ...`).
    pub fn wrap(mut self, words: &[&str]) -> Launch {
        let d = self.dir.to_str().unwrap().to_owned();
        self.wrapper = words.iter().map(|w| w.replace("{dir}", &d)).collect();
        self
    }

    /// `-s` instead of `-u`, and no `-p`: the system instance's default socket, `/run/dinitctl`.
    /// Only inside a wrapper that gives the daemon a `/run` of its own (a mount namespace);
    /// the instance's `sock` is then that socket seen through `/proc/PID/root`.
    pub fn system(mut self) -> Launch {
        self.mode = Mode::System;
        self
    }

    /// `dinit -d DIR/sd ARGS` as PID 1 of a new PID and mount namespace (needs root): inside,
    /// a tmpfs on `/run` keeps the control socket private, and an overlay on `/etc` holds
    /// `/etc/dinit/shutdown-hook`, which appends its argument to `hook.out` and exits 0 (so
    /// the host's file systems are never touched). No `-u`, `-p` or `-l`. The instance's `pid`
    /// is the host pid of the namespace's init (0 if the run was already over when looked
    /// for: a boot that fails and is answered at once), `sock` its socket; [`Instance::end`]
    /// waits for the run to end.
    pub fn pid1(mut self) -> Launch {
        self.mode = Mode::Pid1;
        self.log_file = false;
        self
    }

    /// What the daemon reads on its standard input (its console; default: nothing).
    pub fn console_input(mut self, text: &str) -> Launch {
        self.console_input = Some(text.to_owned());
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Launch {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The command that starts the daemon (or its wrapper).
    fn command(&self) -> Command {
        let d = self.dir.to_str().unwrap();
        let mut cmd = match self.mode {
            Mode::Pid1 => {
                save_console_level();
                std::fs::create_dir_all(self.dir.join("ovl")).unwrap();
                std::fs::write(
                    self.dir.join("hook"),
                    format!("#!/bin/sh\necho \"$1\" >> {d}/hook.out\nexit 0\n"),
                )
                .unwrap();
                let script = format!(
                    "set -e\n\
                     mount -t tmpfs tmpfs {d}/ovl\n\
                     mkdir {d}/ovl/u {d}/ovl/w\n\
                     mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/ovl/u,workdir={d}/ovl/w /etc\n\
                     mkdir -p /etc/dinit\n\
                     cp {d}/hook /etc/dinit/shutdown-hook\n\
                     chmod 755 /etc/dinit/shutdown-hook\n\
                     mount -t tmpfs tmpfs /run\n\
                     exec {DINIT} -d {d}/sd {args}\n",
                    args = self.extra.join(" "),
                );
                std::fs::write(self.dir.join("init.sh"), script).unwrap();
                let mut c = Command::new("unshare");
                c.args([
                    "--pid",
                    "--fork",
                    "--mount-proc",
                    "--mount",
                    "--propagation",
                    "private",
                ])
                .arg("/bin/sh")
                .arg(self.dir.join("init.sh"));
                return c;
            }
            Mode::User | Mode::System => match self.wrapper.split_first() {
                Some((program, args)) => {
                    let mut c = Command::new(program);
                    c.args(args).arg(DINIT);
                    c
                }
                None => Command::new(DINIT),
            },
        };
        if self.mode == Mode::System {
            cmd.args(["-s", "-d"]).arg(self.dir.join("sd"));
        } else {
            cmd.args(["-u", "-d"])
                .arg(self.dir.join("sd"))
                .arg("-p")
                .arg(self.sock_path());
        }
        if self.log_file {
            cmd.arg("-l").arg(self.dir.join("log"));
        }
        cmd.args(&self.extra);
        cmd
    }

    fn sock_path(&self) -> PathBuf {
        self.sock.clone().unwrap_or_else(|| self.dir.join("sock"))
    }

    /// Starts the daemon and returns at once: its socket may not answer yet.
    pub fn launch(self) -> Instance {
        assert!(
            self.mode != Mode::System || !self.wrapper.is_empty(),
            "a system instance needs a /run of its own"
        );
        let mut cmd = self.command();
        // Services whose programs read the locale (sleep, sh) must not map a large locale
        // archive: some tests limit the address space.
        cmd.env("LC_ALL", "C").env_remove("LANG");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(if self.console_input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let Launch {
            dir,
            nofile,
            groups,
            stdout,
            wrapper,
            mode,
            console_input,
            capture,
            ..
        } = self;
        let sock = match mode {
            Mode::User => self.sock.unwrap_or_else(|| dir.join("sock")),
            // Known once the daemon is found.
            Mode::System | Mode::Pid1 => PathBuf::new(),
        };
        match stdout {
            _ if capture => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            Some(out) => {
                cmd.stdout(out);
            }
            None => {
                let out = std::fs::File::create(dir.join("console")).unwrap();
                cmd.stdout(out.try_clone().unwrap()).stderr(out);
            }
        }
        if nofile.is_some() || groups.is_some() {
            let limit_and_groups = move || {
                if let Some(n) = nofile {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    // SAFETY: setrlimit reads a complete rlimit from a local.
                    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if let Some(g) = &groups {
                    // SAFETY: setgroups reads `g.len()` group ids from the vector.
                    if unsafe { libc::setgroups(g.len(), g.as_ptr()) } != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            };
            // SAFETY: the hook makes only async-signal-safe calls (setrlimit, setgroups)
            // between fork and exec, and allocates nothing (the group list is made here).
            unsafe { cmd.pre_exec(limit_and_groups) };
        }
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = console_input {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let top = child.id() as i32;
        let is_daemon = |p: i32| exe_of(p).as_deref() == Some(Path::new(DINIT));
        let context = || String::new();
        let (pid, sock) = match mode {
            Mode::User if !wrapper.is_empty() => (0, sock),
            Mode::User => (top, sock),
            Mode::System => {
                let mut found = None;
                wait_until(
                    "the daemon",
                    WAIT,
                    || {
                        found = std::iter::once(top)
                            .chain(descendants(top))
                            .find(|&p| is_daemon(p));
                        found.is_some()
                    },
                    context,
                );
                let pid = found.unwrap_or(0);
                (pid, PathBuf::from(format!("/proc/{pid}/root/run/dinitctl")))
            }
            Mode::Pid1 => {
                // A boot that fails and is answered at once may have ended before it is seen.
                let mut init = 0;
                wait_until(
                    "the namespace's init",
                    WAIT,
                    || {
                        init = super::children_of(top).first().map_or(0, |c| c.0);
                        init != 0 || matches!(child.try_wait(), Ok(Some(_)))
                    },
                    context,
                );
                (
                    init,
                    PathBuf::from(format!("/proc/{init}/root/run/dinitctl")),
                )
            }
        };
        Instance {
            dir,
            sock,
            child: Some(child),
            pid,
            mode,
        }
    }

    /// Starts the daemon and waits until its socket answers (in PID 1 mode, until the
    /// namespace's init is there: its socket comes with its boot, see
    /// [`Instance::wait_socket`]).
    pub fn start(self) -> Instance {
        let wrapped = !self.wrapper.is_empty();
        let mut inst = self.launch();
        if inst.mode == Mode::Pid1 {
            return inst;
        }
        inst.wait_socket();
        if inst.mode == Mode::User && wrapped {
            let top = inst.child.as_ref().unwrap().id() as i32;
            inst.pid = std::iter::once(top)
                .chain(descendants(top))
                .find(|&p| exe_of(p).as_deref() == Some(Path::new(DINIT)))
                .expect("the daemon among the wrapper's descendants");
        }
        inst
    }

    /// Starts a daemon that must refuse to run (beside another one, perhaps, in the same
    /// directory): returns its exit code (None: still running after [`HANG`], then killed)
    /// and what it printed. The directory is left to the test.
    pub fn start_refused(mut self) -> (Option<i32>, String) {
        self.capture = true;
        let mut inst = self.launch();
        inst.dir = PathBuf::new();
        let mut child = inst.child.take().unwrap();
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let printed = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            let _ = err.read_to_string(&mut text);
            text
        });
        match wait_exit(&mut child, HANG) {
            Some(status) => (status.code(), printed.join().unwrap()),
            None => (None, "did not exit".into()),
        }
    }
}

/// Writes a service file into `dir/sd` (directories made as needed); `{dir}` in its text
/// becomes the directory and `{ctl}` our dinitctl. A name ending in `/` makes a directory.
pub fn write_service(dir: &Path, name: &str, text: &str) {
    let path = dir.join("sd").join(name);
    if name.ends_with('/') {
        std::fs::create_dir_all(&path).unwrap();
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = text
        .replace("{dir}", dir.to_str().unwrap())
        .replace("{ctl}", DINITCTL);
    std::fs::write(path, text).unwrap();
}

/// [`write_service`] for each of `services`.
pub fn write_services(dir: &Path, services: &[(&str, &str)]) {
    for (name, text) in services {
        write_service(dir, name, text);
    }
}

pub struct Instance {
    pub dir: PathBuf,
    /// The control socket.
    pub sock: PathBuf,
    child: Option<Child>,
    /// The daemon's pid (not its wrapper's; in PID 1 mode, the host pid of the namespace's
    /// init).
    pub pid: i32,
    mode: Mode,
}

/// How a run in PID 1 mode ended: the signal that ended the namespace's init (as unshare
/// reports it: killed by it, or exit status 128 + it), or the exit status.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Signal(i32),
    Exit(i32),
}

/// What a finished run left behind: its console and what the shutdown hook recorded; the
/// directory is removed when this is dropped.
pub struct Finished {
    pub console: String,
    pub hook: String,
    pub dir: PathBuf,
}

impl Finished {
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_default()
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Instance {
    /// The usual instance: `dinit -u` with `-l log`, console to a file.
    pub fn start(tag: &str, services: &[(&str, &str)]) -> Instance {
        Launch::new(tag, services).start()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        self.read("log")
    }

    pub fn console(&self) -> String {
        self.read("console")
    }

    /// The description file of `name` as `status` shows it.
    pub fn file(&self, name: &str) -> String {
        format!("{}/sd/{name}", self.dir.display())
    }

    /// The socket path, as an argument.
    pub fn sock_str(&self) -> &str {
        self.sock.to_str().unwrap()
    }

    pub fn write_service(&self, name: &str, text: &str) {
        write_service(&self.dir, name, text);
    }

    /// What a failure message shows of the daemon: the end of its log, or of its console
    /// when it has no log file (PID 1 mode).
    fn context(&self) -> String {
        let log = self.log();
        let (what, text) = if log.is_empty() {
            ("console", self.console())
        } else {
            ("log", log)
        };
        format!("{what}:\n{}", tail(&text, 4000))
    }

    /// Runs `dinitctl -p SOCK args...` (a hang detector of 30 s).
    pub fn ctl(&self, args: &[&str]) -> Out {
        let mut all = vec!["-p", self.sock_str()];
        all.extend_from_slice(args);
        run_ctl(&all, &[], |_| {})
    }

    /// Runs dinitctl and asserts its exact output and status.
    #[track_caller]
    pub fn expect(&self, args: &[&str], stdout: &str, stderr: &str, code: i32) {
        let out = self.ctl(args);
        assert_eq!(
            out,
            Out {
                stdout: stdout.to_owned(),
                stderr: stderr.to_owned(),
                code
            },
            "dinitctl {args:?}\n{}",
            self.context()
        );
    }

    /// Runs dinitctl, asserts success, returns what it printed (standard output, then
    /// standard error).
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert_eq!(
            out.code,
            0,
            "dinitctl {args:?} failed: {out:?}\n{}",
            self.context()
        );
        out.text()
    }

    /// Runs dinitctl and measures how long it took (to print; never asserted). A command that
    /// has not answered after [`HANG`] is a hang (the daemon is blocked): it is killed and the
    /// test fails.
    pub fn timed_ctl(&self, args: &[&str]) -> (String, i32, Duration) {
        let t = std::time::Instant::now();
        let mut child = Command::new(DINITCTL)
            .arg("-p")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > HANG {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "dinitctl {args:?} got no answer in {HANG:?}: the daemon is blocked; {}",
                    self.context()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let took = t.elapsed();
        let out = child.wait_with_output().unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (text, out.status.code().unwrap_or(-1), took)
    }

    /// [`Instance::ok`] for a daemon whose descriptor table is full or has only just been
    /// freed: a connection it refuses (accepted and closed at once, before any request is
    /// read, as it must while it has no descriptor for it) is tried again; any other failure
    /// fails the test, and so does a refusal still there after 30 s.
    pub fn ok_when_served(&self, args: &[&str]) -> String {
        let mut out = String::new();
        self.wait_for(&format!("dinitctl {args:?} to be served"), || {
            let (text, status) = self.ctl(args).merged();
            if status == 0 {
                out = text;
                return true;
            }
            assert!(
                refused(&text),
                "dinitctl {args:?} failed:\n{text}\n{}",
                self.context()
            );
            false
        });
        out
    }

    /// Polls `cond` until it holds; 30 s without it is a hang (a deadline, never a measure).
    #[track_caller]
    pub fn wait_for(&self, what: &str, cond: impl FnMut() -> bool) {
        self.wait_for_within(what, WAIT, cond);
    }

    #[track_caller]
    pub fn wait_for_within(&self, what: &str, limit: Duration, cond: impl FnMut() -> bool) {
        wait_until(what, limit, cond, || self.context());
    }

    /// Waits until the file `rel` of the directory contains `content`.
    #[track_caller]
    pub fn wait_file(&self, rel: &str, content: &str) {
        self.wait_for(&format!("{rel} to contain {content:?}"), || {
            self.read(rel).contains(content)
        });
    }

    /// Waits until the control socket accepts a connection.
    #[track_caller]
    pub fn wait_socket(&self) {
        self.wait_for("the control socket", || {
            std::os::unix::net::UnixStream::connect(&self.sock).is_ok()
        });
    }

    /// `dinitctl status SVC` (standard output, then standard error); a connection the
    /// daemon refuses (its descriptor table full) is tried again (for up to 30 s), since it
    /// tells nothing of the service.
    pub fn status(&self, svc: &str) -> String {
        let mut out = String::new();
        self.wait_for(&format!("the daemon to answer `status {svc}`"), || {
            out = self.ctl(&["status", svc]).text();
            !refused(&out)
        });
        out
    }

    /// The process id `status` shows for `svc`.
    pub fn pid_of(&self, svc: &str) -> Option<i32> {
        self.status(svc).lines().find_map(|l| {
            l.trim()
                .strip_prefix("Process ID: ")
                .map(|p| p.parse().unwrap())
        })
    }

    /// The state `status` shows for `svc` ("" if none).
    pub fn state(&self, svc: &str) -> String {
        self.status(svc)
            .lines()
            .find_map(|l| l.trim().strip_prefix("State: ").map(str::to_owned))
            .unwrap_or_default()
    }

    /// The `list` line of `svc` (without its newline), or "" if it is not listed.
    pub fn list_line(&self, svc: &str) -> String {
        let list = self.ok(&["list"]);
        list.lines()
            .find(|l| {
                l.get(11..)
                    .is_some_and(|rest| rest == svc || rest.starts_with(&format!("{svc} (")))
            })
            .unwrap_or_default()
            .to_owned()
    }

    /// Is the daemon (or its wrapper) still running?
    pub fn daemon_alive(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The daemon's CPU time so far (to print; never asserted: see [`super::wait_idle`]).
    pub fn cpu_time(&self) -> Duration {
        super::cpu_time(self.pid)
    }

    /// Waits until the daemon is idle: it neither spins nor keeps waking up
    /// ([`super::wait_idle`]).
    pub fn wait_idle(&self, what: &str) {
        super::wait_idle(self.pid, what);
    }

    pub fn fd_count(&self) -> usize {
        super::fd_count(self.pid)
    }

    /// Sends `sig` to the daemon.
    pub fn signal(&self, sig: i32) {
        // (Never pid 0, unknown or gone: kill(2) would signal the test's own process group.)
        if self.pid > 0 {
            // SAFETY: kill(2) on the daemon this test started.
            unsafe { libc::kill(self.pid, sig) };
        }
    }

    /// Runs a program inside the namespaces of the daemon (PID 1 mode: as a process of the
    /// booted system would).
    pub fn run_inside(&self, program: &str, args: &[&str]) -> Out {
        output_of(
            Command::new("nsenter")
                .arg("-t")
                .arg(self.pid.to_string())
                .args(["-m", "-p", "--"])
                .arg(program)
                .args(args),
        )
    }

    /// Waits for the daemon (or its wrapper) to exit and returns its status; 30 s is a hang.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        match wait_exit(&mut child, WAIT) {
            Some(st) => {
                // Gone: its pid is no longer ours to signal.
                self.pid = 0;
                st
            }
            None => panic!("the daemon did not exit; {}", self.context()),
        }
    }

    /// Waits for the run to end (the daemon, or in PID 1 mode its namespace, gone) and
    /// returns how it ended and what it left behind; 30 s is a hang.
    pub fn end(mut self) -> (Ended, Finished) {
        let status = self.wait_exit();
        if self.mode == Mode::Pid1 {
            restore_console_level();
        }
        let ended = match (status.signal(), status.code()) {
            (Some(s), _) => Ended::Signal(s),
            (None, Some(c)) if c > 128 => Ended::Signal(c - 128),
            (None, Some(c)) => Ended::Exit(c),
            _ => Ended::Exit(-1),
        };
        let finished = Finished {
            console: self.console(),
            hook: self.read("hook.out"),
            dir: std::mem::take(&mut self.dir),
        };
        (ended, finished)
    }

    /// Stops the daemon (SIGTERM: services are stopped first), waits for it. In PID 1 mode,
    /// kills the namespace's init, which ends the whole namespace.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if self.mode == Mode::Pid1 && self.pid != 0 {
            self.signal(libc::SIGKILL);
            self.pid = 0;
        }
        let mut child = self.child.take()?;
        if self.mode == Mode::Pid1 {
            return child.wait().ok();
        }
        self.signal(libc::SIGTERM);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.signal(libc::SIGKILL);
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.dir.as_os_str().is_empty() {
            // Ended: the directory belongs to its `Finished`.
            return;
        }
        // Lets the services with a gated stop (a stop that waits for the file `go`) go.
        let _ = std::fs::write(self.dir.join("go"), "");
        self.stop();
        if self.mode == Mode::Pid1 {
            restore_console_level();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
