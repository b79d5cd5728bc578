//! The differential scenarios of `tests/compat/scenarios/` (format: tests/compat/README.md).
//!
//! Each scenario is a set of files (a service directory, scripts) and a list of steps: start the
//! daemon, run `dinitctl` commands, wait for states, files or log lines, signal services, look at
//! files. It runs four times, in a fresh folder each time: Dinit's daemon with Dinit's `dinitctl`
//! (the expectation), ours with ours, Dinit's `dinitctl` against our daemon and ours against
//! Dinit's. Every run records a transcript: each command line with what it printed on standard
//! output and standard error and its exit status, the files looked at, and the daemon's own
//! output and exit status. After normalisation (the run's folder, process ids) the three other
//! transcripts must equal Dinit's, line for line.
//!
//! Synchronisation is on events (a service state as `dinitctl status` reports it, a file, a line
//! in the daemon's log, the daemon's exit), never on time; every wait has a generous deadline
//! that only a hang reaches.

use crate::common::{scratch, Impl};
use std::collections::HashMap;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long any wait may take before the run is declared hung.
const DEADLINE: Duration = Duration::from_secs(30);
/// The line Dinit logs on machines with cgroup v1 controllers: environment-dependent, not
/// behaviour; dropped from the daemon's output (also from `dinit-run`) and from files looked
/// at.
const CGROUP_WARNING: &str = "dinit: In multiple cgroups, cannot determine cgroup root path";
/// How often a wait polls.
const POLL: Duration = Duration::from_millis(5);

/// The scenario folder.
fn scenario_dir() -> PathBuf {
    crate::common::workspace().join("tests/compat/scenarios")
}

/// One scenario, parsed.
struct Scenario {
    name: String,
    /// `@log-differs ID`: a deliberate difference of docs/COMPATIBILITY.md (its row `ID`)
    /// shows in the daemon's log, which is then left out of the comparison.
    log_differs: Option<String>,
    /// (relative path, mode, contents with `@DIR@` still in it).
    files: Vec<(String, u32, String)>,
    /// (line number, words).
    steps: Vec<(usize, Vec<String>)>,
}

/// Splits a step line into words: blanks separate, single or double quotes group (no escapes
/// inside single quotes; `\` escapes the next character elsewhere).
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => cur.push('\n'),
                            Some(c) => cur.push(c),
                            None => return Err("trailing backslash".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("trailing backslash".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn parse(name: &str, text: &str) -> Scenario {
    let mut sc = Scenario {
        name: name.to_string(),
        log_differs: None,
        files: Vec::new(),
        steps: Vec::new(),
    };
    enum Section {
        Head,
        File,
        Steps,
    }
    let mut section = Section::Head;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if let Some(rest) = line.strip_prefix("@file ") {
            let mut words = rest.split_whitespace();
            let path = words
                .next()
                .unwrap_or_else(|| panic!("{name}:{lineno}: @file needs a path"));
            let mode = match words.next() {
                Some(m) => u32::from_str_radix(m, 8)
                    .unwrap_or_else(|_| panic!("{name}:{lineno}: bad mode {m}")),
                None => 0o644,
            };
            sc.files.push((path.to_string(), mode, String::new()));
            section = Section::File;
            continue;
        }
        if line == "@steps" {
            section = Section::Steps;
            continue;
        }
        match section {
            Section::Head => {
                if let Some(id) = line.strip_prefix("@log-differs ") {
                    sc.log_differs = Some(id.trim().to_string());
                    continue;
                }
                assert!(
                    line.is_empty() || line.starts_with('#'),
                    "{name}:{lineno}: only comments and @log-differs before the first @file or \
                     @steps"
                );
            }
            Section::File => {
                let file = sc.files.last_mut().unwrap();
                file.2.push_str(line);
                file.2.push('\n');
            }
            Section::Steps => {
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                let words = split_words(trimmed).unwrap_or_else(|e| panic!("{name}:{lineno}: {e}"));
                sc.steps.push((lineno, words));
            }
        }
    }
    sc
}

/// A program started in the background by a step (`ctl-bg`, `monitor-bg`).
struct Background {
    label: String,
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

/// One run of a scenario with one pairing of daemon and client.
struct Run<'a> {
    sc: &'a Scenario,
    daemon_impl: Impl,
    ctl_impl: Impl,
    dir: PathBuf,
    sock: PathBuf,
    env: Vec<(String, String)>,
    daemon: Option<Child>,
    daemon_status: Option<ExitStatus>,
    /// Background programs by name.
    bg: HashMap<String, Background>,
    transcript: Vec<String>,
}

fn read_lossy(path: &Path) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn status_text(st: ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "exit ?".into(),
    }
}

fn signal_number(name: &str) -> i32 {
    match name.trim_start_matches("SIG") {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "TERM" => libc::SIGTERM,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        other => other
            .parse()
            .unwrap_or_else(|_| panic!("unknown signal {name}")),
    }
}

/// Why a run stopped early.
struct Abort(String);

impl<'a> Run<'a> {
    fn new(sc: &'a Scenario, daemon_impl: Impl, ctl_impl: Impl) -> Self {
        let dir = scratch(&format!(
            "{}-{}{}",
            sc.name.chars().take(24).collect::<String>(),
            &daemon_impl.label()[..1],
            &ctl_impl.label()[..1]
        ));
        let sock = dir.join("sock");
        let env = vec![
            (
                "PATH".to_string(),
                "/usr/bin:/bin:/usr/sbin:/sbin".to_string(),
            ),
            ("HOME".to_string(), dir.display().to_string()),
            ("LANG".to_string(), "C".to_string()),
            ("DCOMPAT_RUN".to_string(), dir.display().to_string()),
            // For services that run the pairing's client (pass-cs-fd).
            (
                "DCOMPAT_DINITCTL".to_string(),
                ctl_impl.program("dinitctl").display().to_string(),
            ),
        ];
        Run {
            sc,
            daemon_impl,
            ctl_impl,
            dir,
            sock,
            env,
            daemon: None,
            daemon_status: None,
            bg: HashMap::new(),
            transcript: Vec::new(),
        }
    }

    /// `@DIR@` and `@SOCK@` replaced by this run's folder and socket.
    fn expand(&self, s: &str) -> String {
        s.replace("@SOCK@", &self.sock.display().to_string())
            .replace("@DIR@", &self.dir.display().to_string())
    }

    fn write_files(&self) {
        for (path, mode, contents) in &self.sc.files {
            let p = self.dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, self.expand(contents)).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        std::fs::create_dir_all(self.dir.join("sd")).unwrap();
        std::fs::create_dir_all(self.dir.join("out")).unwrap();
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.dir).env_clear();
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a client program to completion, recording it under `label`.
    fn record_program(&mut self, label: String, mut cmd: Command) -> Result<(), Abort> {
        let out = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Abort(format!("cannot run {label}: {e}")))?;
        let output = wait_output(out, &label)?;
        self.transcript.push(format!("$ {label}"));
        self.record_output(&label, &output.0, &output.1, output.2);
        Ok(())
    }

    fn record_output(&mut self, label: &str, stdout: &str, stderr: &str, st: ExitStatus) {
        // Help texts are prose, in each implementation's own words: for a program asked for
        // its help (`--help`, or no arguments at all), only that something was printed on
        // standard output is compared (with the stream, standard error, and exit status).
        let mut words = label.split_whitespace();
        let program = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        let wants_help = rest.contains(&"--help") || (rest.is_empty() && program != "dinit");
        // Version texts too (docs/COMPATIBILITY.md, D1): which comes first decides.
        let first = rest
            .iter()
            .find(|w| **w == "--help" || **w == "--version")
            .copied();
        let stdout = if stdout.is_empty() {
            stdout
        } else if first == Some("--version") {
            "(version text)\n"
        } else if wants_help {
            "(help text)\n"
        } else {
            stdout
        };
        for l in stdout.lines() {
            // (The daemon run as a command logs the cgroup warning too.)
            if program == "dinit" && l == CGROUP_WARNING {
                continue;
            }
            self.transcript.push(format!("  {l}"));
        }
        if !stdout.is_empty() && !stdout.ends_with('\n') {
            self.transcript
                .push("  (no newline at end of output)".into());
        }
        for l in stderr.lines() {
            self.transcript.push(format!("! {l}"));
        }
        if !stderr.is_empty() && !stderr.ends_with('\n') {
            self.transcript
                .push("! (no newline at end of output)".into());
        }
        self.transcript.push(format!("[{}]", status_text(st)));
    }

    /// Starts the daemon; `standard` adds `-u -d sd -p SOCK`. With `to_exit` the daemon is
    /// expected to end by itself (a boot failure, a bad option): the step waits for that and
    /// records how it ended, without looking for a connection (which a daemon that exits at once
    /// may or may not have offered for a moment).
    fn start_daemon(
        &mut self,
        args: &[String],
        standard: bool,
        to_exit: bool,
    ) -> Result<(), Abort> {
        // (One that is to exit may run beside the daemon: a second daemon on the same socket.)
        if self.daemon.is_some() && !to_exit {
            return Err(Abort("the daemon is already running".into()));
        }
        let mut cmd = self.command(&self.daemon_impl.program("dinit"));
        if standard {
            cmd.arg("-u").arg("-d").arg("sd").arg("-p").arg(&self.sock);
        }
        cmd.args(args.iter().map(|a| self.expand(a)));
        // Appended to: a scenario that starts the daemon twice keeps both logs.
        let append = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(name))
                .unwrap()
        };
        let (stdout, stderr) = (append("daemon.out"), append("daemon.err"));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| Abort(format!("cannot start the daemon: {e}")))?;
        self.transcript.push(format!("$ dinit {}", args.join(" ")));
        if to_exit {
            let st = wait_child(child, "the daemon")?;
            self.transcript
                .push(format!("[daemon {}]", status_text(st)));
            return Ok(());
        }
        // Ready when a connection succeeds (both create the socket before listening), or when
        // the daemon has exited already.
        let start = Instant::now();
        loop {
            if UnixStream::connect(&self.sock).is_ok() {
                break;
            }
            if let Ok(Some(st)) = child.try_wait() {
                self.daemon_status = Some(st);
                self.transcript.push(format!(
                    "[daemon ended before accepting connections: {}]",
                    status_text(st)
                ));
                return Ok(());
            }
            if start.elapsed() > DEADLINE {
                let _ = child.kill();
                return Err(Abort("the daemon never accepted a connection".into()));
            }
            std::thread::sleep(POLL);
        }
        self.daemon = Some(child);
        Ok(())
    }

    fn ctl_command(&self, args: &[String], with_socket: bool) -> Command {
        let mut cmd = self.command(&self.ctl_impl.program("dinitctl"));
        if with_socket {
            cmd.arg("-p").arg(&self.sock);
        }
        cmd.args(args.iter().map(|a| self.expand(a)));
        cmd
    }

    /// What the reference `dinitctl status NAME` says of the state, or None when it fails.
    fn probe_state(&self, service: &str) -> Option<(String, Option<i32>)> {
        let out = self
            .command(&Impl::Dinit.program("dinitctl"))
            .arg("-p")
            .arg(&self.sock)
            .arg("status")
            .arg(service)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut state = None;
        let mut pid = None;
        for line in text.lines() {
            let line = line.trim();
            if let Some(s) = line.strip_prefix("State: ") {
                state = Some(s.split_whitespace().next().unwrap_or("").to_string());
            } else if let Some(p) = line.strip_prefix("Process ID: ") {
                pid = p.trim().parse().ok();
            }
        }
        state.map(|s| (s, pid))
    }

    fn wait_for<F: FnMut(&mut Self) -> bool>(&mut self, what: &str, mut f: F) -> Result<(), Abort> {
        let start = Instant::now();
        loop {
            if f(self) {
                return Ok(());
            }
            if start.elapsed() > DEADLINE {
                return Err(Abort(format!("timed out waiting for {what}")));
            }
            std::thread::sleep(POLL);
        }
    }

    fn daemon_log(&self) -> String {
        read_lossy(&self.dir.join("daemon.out")) + &read_lossy(&self.dir.join("daemon.err"))
    }

    fn step(&mut self, words: &[String]) -> Result<(), Abort> {
        let (cmd, args) = words.split_first().unwrap();
        let need = |n: usize| -> Result<(), Abort> {
            if args.len() < n {
                Err(Abort(format!("'{cmd}' needs {n} arguments")))
            } else {
                Ok(())
            }
        };
        match cmd.as_str() {
            // Starts the daemon: dinit -u -d sd -p SOCK ARGS...
            "dinit" => self.start_daemon(args, true, false)?,
            // Starts the daemon with exactly ARGS (@SOCK@, @DIR@ expanded).
            "dinit-raw" => self.start_daemon(args, false, false)?,
            // As `dinit` and `dinit-raw`, for a daemon that ends by itself: waits for it to
            // end and records its status.
            "dinit-exits" => self.start_daemon(args, true, true)?,
            "dinit-raw-exits" => self.start_daemon(args, false, true)?,
            // The pairing's dinit with exactly ARGS, for a command line it refuses or answers
            // at once (an error, --help, --version): run to completion and recorded as a
            // client is, its output at this step.
            "dinit-run" => {
                let label = format!("dinit {}", args.join(" "));
                let mut c = self.command(&self.daemon_impl.program("dinit"));
                c.args(args.iter().map(|a| self.expand(a)));
                self.record_program(label, c)?;
            }
            // Sets a variable of the environment of programs started after it.
            "env" => {
                need(1)?;
                let (k, v) = args[0]
                    .split_once('=')
                    .ok_or_else(|| Abort("env NAME=VALUE".into()))?;
                self.env.retain(|(name, _)| name != k);
                self.env.push((k.to_string(), self.expand(v)));
            }
            // dinitctl -p SOCK ARGS...
            "ctl" => {
                let label = format!("dinitctl {}", args.join(" "));
                let c = self.ctl_command(args, true);
                self.record_program(label, c)?;
            }
            // dinitctl ARGS... (no socket option added)
            "ctl-raw" => {
                let label = format!("dinitctl-raw {}", args.join(" "));
                let c = self.ctl_command(args, false);
                self.record_program(label, c)?;
            }
            // dinitctl -p SOCK ARGS... in the background, as NAME; `join NAME` records it.
            "ctl-bg" => {
                need(2)?;
                let label = format!("dinitctl {}", args[1..].join(" "));
                let c = self.ctl_command(&args[1..], true);
                self.spawn_bg(&args[0], label, c)?;
            }
            // dinit-monitor ARGS... (the socket option added) in the background, as NAME.
            "monitor-bg" => {
                need(2)?;
                let label = format!("dinit-monitor {}", args[1..].join(" "));
                let mut c = self.command(&self.ctl_impl.program("dinit-monitor"));
                c.arg("-p").arg(&self.sock);
                c.args(args[1..].iter().map(|a| self.expand(a)));
                self.spawn_bg(&args[0], label, c)?;
            }
            // The pairing's dinit-monitor ARGS..., run to completion (socket option added).
            "monitor" => {
                let label = format!("dinit-monitor {}", args.join(" "));
                let mut c = self.command(&self.ctl_impl.program("dinit-monitor"));
                c.arg("-p").arg(&self.sock);
                c.args(args.iter().map(|a| self.expand(a)));
                self.record_program(label, c)?;
            }
            // The pairing's shutdown client (Dinit's `shutdown`, our `dinit-shutdown`) in the
            // background as NAME, with ARGS as written. Both speak only to the system socket
            // unless given a connection: a connected socket is passed as descriptor 3, with
            // DINIT_CS_FD=3, for `--use-passed-cfd`.
            "shutdown-bg" => {
                need(1)?;
                let label = format!("shutdown {}", args[1..].join(" "));
                let mut c = self.command(&self.ctl_impl.program("shutdown"));
                c.args(args[1..].iter().map(|a| self.expand(a)));
                let conn = UnixStream::connect(&self.sock)
                    .map_err(|e| Abort(format!("connecting for shutdown: {e}")))?;
                let fd = conn.as_raw_fd();
                c.env("DINIT_CS_FD", "3");
                let pass_connection = move || {
                    // SAFETY: dup2 on numbers: the connection, open until the command exits,
                    // onto 3 in the child.
                    if unsafe { libc::dup2(fd, 3) } < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // SAFETY: clears close-on-exec of the child's descriptor 3.
                    unsafe { libc::fcntl(3, libc::F_SETFD, 0) };
                    Ok(())
                };
                // SAFETY: the hook makes only async-signal-safe calls (dup2, fcntl) between
                // fork and exec.
                unsafe { c.pre_exec(pass_connection) };
                self.spawn_bg(&args[0], label, c)?;
                drop(conn);
            }
            // Waits for a background program to end and records what it printed.
            "join" => {
                need(1)?;
                let bg = self
                    .bg
                    .remove(&args[0])
                    .ok_or_else(|| Abort(format!("no background program {}", args[0])))?;
                let Background {
                    label,
                    child,
                    out,
                    err,
                } = bg;
                let st = wait_child(child, &label)?;
                self.transcript.push(format!("$ {label} (background)"));
                let (o, e) = (read_lossy(&out), read_lossy(&err));
                self.record_output(&label, &o, &e, st);
            }
            // Sends SIG to a background program, then joins it.
            "stop-bg" => {
                need(2)?;
                let sig = signal_number(&args[1]);
                if let Some(bg) = self.bg.get(&args[0]) {
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(bg.child.id() as i32, sig) };
                }
                self.step(&["join".to_string(), args[0].clone()])?;
            }
            // Waits until `dinitctl status SVC` says State: STATE.
            "wait-state" => {
                need(2)?;
                let (svc, want) = (args[0].clone(), args[1].clone());
                self.wait_for(&format!("{svc} to be {want}"), |r| {
                    r.probe_state(&svc).is_some_and(|(s, _)| s == want)
                })?;
            }
            // Waits until Dinit's `dinitctl ARGS...` (a neutral observer, like wait-state)
            // prints TEXT on its standard output: wait-ctl TEXT ARGS...
            "wait-ctl" => {
                need(2)?;
                let text = self.expand(&args[0]);
                let ctl_args: Vec<String> = args[1..].iter().map(|a| self.expand(a)).collect();
                self.wait_for(
                    &format!("'{text}' from dinitctl {}", args[1..].join(" ")),
                    |r| {
                        r.command(&Impl::Dinit.program("dinitctl"))
                            .arg("-p")
                            .arg(&r.sock)
                            .args(&ctl_args)
                            .stdin(Stdio::null())
                            .stderr(Stdio::null())
                            .output()
                            .is_ok_and(|o| {
                                String::from_utf8_lossy(&o.stdout).contains(text.as_str())
                            })
                    },
                )?;
            }
            // Waits until the file exists (and, with TEXT, contains it).
            "wait-file" => {
                need(1)?;
                let p = self.dir.join(self.expand(&args[0]));
                let text = args.get(1).map(|t| self.expand(t));
                self.wait_for(&format!("file {}", args[0]), |_| match &text {
                    None => p.exists(),
                    Some(t) => read_lossy(&p).contains(t.as_str()),
                })?;
            }
            // Waits until the daemon's output holds TEXT at least N times: wait-log [N] TEXT.
            "wait-log" => {
                need(1)?;
                let (n, text) = match (args.len(), args[0].parse::<usize>()) {
                    (2, Ok(n)) => (n, args[1].clone()),
                    _ => (1, args.join(" ")),
                };
                self.wait_for(&format!("{n} x '{text}' in the daemon's log"), |r| {
                    r.daemon_log().matches(text.as_str()).count() >= n
                })?;
            }
            // Sends SIG to the process of service SVC (its pid from dinitctl status).
            "signal" => {
                need(2)?;
                let pid = self
                    .probe_state(&args[0])
                    .and_then(|(_, p)| p)
                    .ok_or_else(|| Abort(format!("no process id for {}", args[0])))?;
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid, signal_number(&args[1])) };
            }
            // Sends SIG to the daemon.
            "kill-daemon" => {
                need(1)?;
                if let Some(d) = &self.daemon {
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(d.id() as i32, signal_number(&args[0])) };
                }
            }
            // Waits for the daemon to exit and records its status.
            "wait-daemon" => {
                let child = self
                    .daemon
                    .take()
                    .ok_or_else(|| Abort("no daemon running".into()))?;
                let st = wait_child(child, "the daemon")?;
                self.daemon_status = Some(st);
                self.transcript
                    .push(format!("[daemon {}]", status_text(st)));
            }
            // Records the names in a folder, sorted, with each symbolic link's target (or that
            // the folder is missing).
            "ls" => {
                need(1)?;
                let p = self.dir.join(self.expand(&args[0]));
                self.transcript.push(format!("= ls {}", args[0]));
                match std::fs::read_dir(&p) {
                    Ok(entries) => {
                        let mut names: Vec<String> = entries
                            .flatten()
                            .map(|e| {
                                let name = e.file_name().to_string_lossy().into_owned();
                                match std::fs::read_link(e.path()) {
                                    Ok(t) => format!("{name} -> {}", t.display()),
                                    Err(_) => name,
                                }
                            })
                            .collect();
                        names.sort();
                        for n in names {
                            self.transcript.push(format!("  {n}"));
                        }
                    }
                    Err(_) => self.transcript.push("  (missing)".into()),
                }
            }
            // Records the contents of a file (or that it is missing).
            "cat" => {
                need(1)?;
                let p = self.dir.join(self.expand(&args[0]));
                self.transcript.push(format!("= {}", args[0]));
                match std::fs::read(&p) {
                    Ok(bytes) => {
                        // (A daemon's log file may hold the cgroup warning too.)
                        for l in String::from_utf8_lossy(&bytes).lines() {
                            if l != CGROUP_WARNING {
                                self.transcript.push(format!("  {l}"));
                            }
                        }
                    }
                    Err(_) => self.transcript.push("  (missing)".into()),
                }
            }
            // Writes TEXT (with \n escapes) to a file, e.g. to change a description.
            "write" => {
                need(2)?;
                let p = self.dir.join(self.expand(&args[0]));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, self.expand(&args[1])).unwrap();
            }
            // Runs a shell command in the run's folder; only its failure is recorded.
            "sh" => {
                need(1)?;
                let st = self
                    .command(Path::new("/bin/sh"))
                    .arg("-c")
                    .arg(self.expand(&args.join(" ")))
                    .status()
                    .map_err(|e| Abort(format!("sh: {e}")))?;
                if !st.success() {
                    self.transcript
                        .push(format!("[sh failed: {}]", status_text(st)));
                }
            }
            other => return Err(Abort(format!("unknown step '{other}'"))),
        }
        Ok(())
    }

    fn spawn_bg(&mut self, name: &str, label: String, mut c: Command) -> Result<(), Abort> {
        let out = self.dir.join(format!("bg-{name}.out"));
        let err = self.dir.join(format!("bg-{name}.err"));
        let child = c
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .map_err(|e| Abort(format!("cannot run {label}: {e}")))?;
        self.bg.insert(
            name.to_string(),
            Background {
                label,
                child,
                out,
                err,
            },
        );
        Ok(())
    }

    /// Runs every step, then stops what is left and adds the daemon's output.
    fn execute(mut self) -> Vec<String> {
        self.write_files();
        let steps = self.sc.steps.clone();
        for (lineno, words) in &steps {
            if let Err(Abort(why)) = self.step(words) {
                self.transcript
                    .push(format!("[aborted at step line {lineno}: {why}]"));
                break;
            }
        }
        // Whatever is still running: the daemon gets SIGTERM (a user instance stops its
        // services and exits), background programs are killed.
        if let Some(mut d) = self.daemon.take() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
            match wait_child_deadline(&mut d) {
                Some(st) => self.transcript.push(format!(
                    "[daemon still running at the end; after SIGTERM: {}]",
                    status_text(st)
                )),
                None => {
                    let _ = d.kill();
                    let _ = d.wait();
                    self.transcript
                        .push("[daemon still running at the end; SIGTERM did not end it]".into());
                }
            }
        }
        for (name, mut bg) in std::mem::take(&mut self.bg) {
            let _ = bg.child.kill();
            let _ = bg.child.wait();
            self.transcript
                .push(format!("[background {name} still running at the end]"));
        }
        kill_leftovers(&self.dir);
        let mut log = Vec::new();
        for (what, file) in [("stdout", "daemon.out"), ("stderr", "daemon.err")] {
            log.push(format!("--- daemon {what}"));
            for l in read_lossy(&self.dir.join(file)).lines() {
                // Environment-dependent warning of Dinit's (a cgroup v1 machine); not behaviour.
                if l == CGROUP_WARNING {
                    continue;
                }
                log.push(format!("  {l}"));
            }
        }
        self.transcript.extend(log);
        let dir = self.dir.display().to_string();
        let out = self
            .transcript
            .iter()
            .map(|l| normalise(&l.replace(&dir, "@DIR@")))
            .collect();
        let _ = std::fs::remove_dir_all(&self.dir);
        out
    }
}

/// Waits for a program, with the deadline; returns (stdout, stderr, status).
fn wait_output(child: Child, label: &str) -> Result<(String, String, ExitStatus), Abort> {
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(Ok(o)) => Ok((
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            o.status,
        )),
        Ok(Err(e)) => Err(Abort(format!("{label}: {e}"))),
        Err(_) => {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            Err(Abort(format!("{label} did not finish")))
        }
    }
}

/// Waits for `child` to end, for up to [`DEADLINE`] (then it is killed: None).
fn wait_child_deadline(child: &mut Child) -> Option<ExitStatus> {
    crate::harness::wait_exit(child, DEADLINE)
}

fn wait_child(mut child: Child, label: &str) -> Result<ExitStatus, Abort> {
    match wait_child_deadline(&mut child) {
        Some(st) => Ok(st),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(Abort(format!("{label} did not end")))
        }
    }
}

/// Kills every process whose environment carries this run's marker (services the daemon left
/// behind, as a crashed or non-compliant daemon might).
pub fn kill_leftovers(dir: &Path) {
    let marker = format!("DCOMPAT_RUN={}", dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(env) = std::fs::read(e.path().join("environ")) {
            if env.split(|b| *b == 0).any(|v| v == marker.as_bytes()) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// Replaces the number after each marker by `N` (process ids).
fn normalise(line: &str) -> String {
    let mut s = line.to_string();
    for marker in ["pid: ", "Process ID: ", "process id ", "pid "] {
        let mut out = String::new();
        let mut rest = s.as_str();
        while let Some(i) = rest.find(marker) {
            let (head, tail) = rest.split_at(i + marker.len());
            out.push_str(head);
            let digits = tail.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 {
                out.push('N');
            }
            rest = &tail[digits..];
        }
        out.push_str(rest);
        s = out;
    }
    s
}

/// A line diff (longest common subsequence) for the failure message.
pub fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            out.push_str(&format!("   {}\n", expected[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+  {}\n", actual[j]));
            j += 1;
        } else {
            out.push_str(&format!("-  {}\n", expected[i]));
            i += 1;
        }
    }
    out
}

/// Runs scenario `name` in the four pairings and compares them with Dinit's run.
pub fn run_scenario(name: &str) {
    let path = scenario_dir().join(format!("{name}.scn"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sc = parse(name, &text);
    // A deliberate difference in the daemon's log: documented, or the scenario is wrong.
    let compared = |t: Vec<String>| -> Vec<String> {
        match &sc.log_differs {
            None => t,
            Some(_) => t
                .into_iter()
                .take_while(|l| !l.starts_with("--- daemon "))
                .collect(),
        }
    };
    if let Some(id) = &sc.log_differs {
        let doc = std::fs::read_to_string(crate::common::workspace().join("docs/COMPATIBILITY.md"))
            .unwrap_or_default();
        assert!(
            doc.contains(&format!("| {id} |")),
            "scenario {name}: @log-differs {id} names no row of docs/COMPATIBILITY.md"
        );
    }
    let expected = compared(Run::new(&sc, Impl::Dinit, Impl::Dinit).execute());
    if let Some(l) = expected.iter().find(|l| l.starts_with("[aborted")) {
        panic!(
            "scenario {name} does not run with Dinit itself ({l}); its transcript:\n{}",
            expected.join("\n")
        );
    }
    if std::env::var_os("DCOMPAT_SHOW").is_some() {
        eprintln!(
            "scenario {name}, Dinit's transcript:\n{}",
            expected.join("\n")
        );
    }
    let mut failures = String::new();
    // DCOMPAT_SELFCHECK=1: Dinit's run is repeated, to show that the scenario is deterministic.
    if std::env::var_os("DCOMPAT_SELFCHECK").is_some() {
        for _ in 0..2 {
            let again = compared(Run::new(&sc, Impl::Dinit, Impl::Dinit).execute());
            if again != expected {
                failures.push_str(&format!(
                    "\n=== Dinit's own runs differ: the scenario is not deterministic:\n{}",
                    diff(&expected, &again)
                ));
                break;
            }
        }
    }
    // DCOMPAT_PAIRS=oo,od,do (daemon, client: o ours, d Dinit) runs only those pairings.
    let pairs = std::env::var("DCOMPAT_PAIRS").unwrap_or_else(|_| "oo,od,do".into());
    for (d, c) in [
        (Impl::Ours, Impl::Ours),
        (Impl::Ours, Impl::Dinit),
        (Impl::Dinit, Impl::Ours),
    ] {
        let code = format!("{}{}", &d.label()[..1], &c.label()[..1]);
        if !pairs.split(',').any(|p| p == code) {
            continue;
        }
        let actual = compared(Run::new(&sc, d, c).execute());
        if actual != expected {
            failures.push_str(&format!(
                "\n=== daemon {} + dinitctl {} differs from Dinit's (- Dinit, + this pairing):\n{}",
                d.label(),
                c.label(),
                diff(&expected, &actual)
            ));
        }
    }
    assert!(failures.is_empty(), "scenario {name}:{failures}");
}

/// The scenario names in the folder.
fn scenario_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scenario_dir())
        .unwrap()
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            n.strip_suffix(".scn").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

macro_rules! scenarios {
    ($($fn_name:ident => $name:literal,)*) => {
        $(
            #[test]
            #[ignore = "needs the reference Dinit: just compat"]
            fn $fn_name() {
                run_scenario($name);
            }
        )*

        #[test]
        #[ignore = "needs the reference Dinit: just compat"]
        fn every_scenario_file_has_a_test() {
            let mut ours: Vec<String> = [$($name),*].iter().map(|s| s.to_string()).collect();
            ours.sort();
            assert_eq!(ours, scenario_names(), "tests/compat/scenarios and the list of tests differ");
        }
    };
}

scenarios! {
    add_rm_dep => "add-rm-dep",
    basic_start_stop => "basic-start-stop",
    bgprocess_group => "bgprocess-group",
    bgprocess_pidfile_errors => "bgprocess-pidfile-errors",
    boot_load_fail => "boot-load-fail",
    boot_missing => "boot-missing",
    boot_services_cmdline => "boot-services-cmdline",
    boot_start_fail => "boot-start-fail",
    chain_to => "chain-to",
    chain_to_always => "chain-to-always",
    ctl_cmdline_errors => "ctl-cmdline-errors",
    ctl_help => "ctl-help",
    ctl_no_daemon => "ctl-no-daemon",
    ctl_shutdown => "ctl-shutdown",
    ctl_socket_defaults => "ctl-socket-defaults",
    daemon_log_options => "daemon-log-options",
    daemon_nothing_active => "daemon-nothing-active",
    daemon_sighup => "daemon-sighup",
    daemon_sigint => "daemon-sigint",
    daemon_sigquit => "daemon-sigquit",
    daemon_sigterm => "daemon-sigterm",
    daemon_sigusr1 => "daemon-sigusr1",
    dep_after => "dep-after",
    dep_before => "dep-before",
    dep_before_after_boot => "dep-before-after-boot",
    dep_crash_norestart => "dep-crash-norestart",
    dep_cycle => "dep-cycle",
    dep_depends_ms => "dep-depends-ms",
    dep_depends_on => "dep-depends-on",
    dep_dirs => "dep-dirs",
    dep_failure_propagation => "dep-failure-propagation",
    dep_missing => "dep-missing",
    dep_restart_dependent_norestart => "dep-restart-dependent-norestart",
    dep_waits_for => "dep-waits-for",
    dependency_restart_reasons => "dependency-restart-reasons",
    desc_format => "desc-format",
    dinit_cmdline => "dinit-cmdline",
    dinit_env_file => "dinit-env-file",
    dinit_options => "dinit-options",
    dinit_startup_errors => "dinit-startup-errors",
    enable_disable => "enable-disable",
    enable_errors => "enable-errors",
    enable_offline => "enable-offline",
    enable_offline_errors => "enable-offline-errors",
    env_file => "env-file",
    exec_fail_command => "exec-fail-command",
    exec_fail_load => "exec-fail-load",
    exec_fail_setup => "exec-fail-setup",
    ignore_unstarted => "ignore-unstarted",
    is_started_failed => "is-started-failed",
    list_transitions => "list-transitions",
    load_errors => "load-errors",
    log_buffer => "log-buffer",
    log_pipe => "log-pipe",
    logfile => "logfile",
    monitor_env => "monitor-env",
    monitor_errors => "monitor-errors",
    monitor_initial => "monitor-initial",
    monitor_services => "monitor-services",
    pass_cs_fd => "pass-cs-fd",
    pin_started => "pin-started",
    pin_stopped => "pin-stopped",
    pinned_dependent_forced_stop_cancelled => "pinned-dependent-forced-stop-cancelled",
    quiet_option => "quiet-option",
    ready_notification => "ready-notification",
    reload_bgprocess => "reload-bgprocess",
    reload_running => "reload-running",
    reload_stopped => "reload-stopped",
    restart_cmd => "restart-cmd",
    restart_limit => "restart-limit",
    restart_limit_dependent => "restart-limit-dependent",
    restart_limit_interval => "restart-limit-interval",
    restart_limit_zero => "restart-limit-zero",
    restart_no => "restart-no",
    restart_on_failure => "restart-on-failure",
    restart_yes => "restart-yes",
    setenv_unsetenv => "setenv-unsetenv",
    shutdown_client => "shutdown-client",
    signal_cmd => "signal-cmd",
    skippable => "skippable",
    smooth_recovery => "smooth-recovery",
    socket_activation => "socket-activation",
    socket_path_env => "socket-path-env",
    start_no_wait => "start-no-wait",
    start_timeout => "start-timeout",
    status_output => "status-output",
    stop_dependents => "stop-dependents",
    stop_marks_dependents => "stop-marks-dependents",
    stop_timeout => "stop-timeout",
    template_services => "template-services",
    term_signal => "term-signal",
    type_bgprocess => "type-bgprocess",
    type_scripted => "type-scripted",
    type_triggered => "type-triggered",
    unknown_service => "unknown-service",
    unload => "unload",
    var_subst => "var-subst",
    wake_release => "wake-release",
}
