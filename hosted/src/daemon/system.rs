//! System-manager duties (dinit(8) RUNNING AS SYSTEM MANAGER / PRIMARY INIT): set-up as PID 1,
//! handing over to `dinit-shutdown --system` once services have rolled back, soft reboot by
//! re-executing the daemon, and recovery when the boot fails.
//!
//! Everything an exec needs (paths, argument and environment vectors) is prepared at start-up,
//! so that shutting down allocates nothing and does not depend on `/proc`.

use super::Daemon;
use crate::log::Level;
use crate::shutdown::{self, Action};
use crate::sys::{self, CStringArray};
use dinit_core::ShutdownKind;
use rustix::io::Errno;
use rustix::process::WaitOptions;
use rustix::termios::QueueSelector;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The name of the shutdown program.
pub const SHUTDOWN_PROGRAM: &str = "dinit-shutdown";

/// Where the daemon looks for `dinit-shutdown`, in order: the path fixed at build time with the
/// `DINIT_SHUTDOWN_PATH` environment variable (if set), the directory of the daemon's own
/// executable, then `/usr/sbin` and `/sbin` (a merged-/usr system and a minimal initramfs).
pub fn shutdown_candidates(own_exe: Option<&Path>) -> Vec<PathBuf> {
    let mut list = Vec::new();
    if let Some(p) = option_env!("DINIT_SHUTDOWN_PATH") {
        list.push(PathBuf::from(p));
    }
    if let Some(dir) = own_exe.and_then(Path::parent) {
        list.push(dir.join(SHUTDOWN_PROGRAM));
    }
    for dir in ["/usr/sbin", "/sbin"] {
        let p = Path::new(dir).join(SHUTDOWN_PROGRAM);
        if !list.contains(&p) {
            list.push(p);
        }
    }
    list
}

/// A prepared execve(2): candidate paths, and the arguments and environment with their
/// pointer vectors.
#[derive(Debug, Default)]
pub(crate) struct ExecPlan {
    paths: Vec<CString>,
    argv: CStringArray,
    envp: CStringArray,
}

impl ExecPlan {
    fn new(paths: Vec<CString>, args: Vec<CString>, env: Vec<CString>) -> Self {
        ExecPlan {
            paths,
            argv: CStringArray::new(args),
            envp: CStringArray::new(env),
        }
    }

    /// Tries each path; returns the last error if none could be executed.
    fn exec(&self) -> std::io::Error {
        let mut last = std::io::Error::from_raw_os_error(libc::ENOENT);
        for p in &self.paths {
            last = sys::execve(p, &self.argv, &self.envp);
        }
        last
    }

    fn describe(&self) -> String {
        self.paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn c(bytes: &[u8]) -> Option<CString> {
    CString::new(bytes).ok()
}

/// Everything prepared at start-up for leaving the daemon.
#[derive(Debug, Default)]
pub(crate) struct Exits {
    /// `dinit-shutdown --system <option>` for each action (indexed by [`action_index`]).
    shutdown: Vec<ExecPlan>,
    /// The daemon itself with its original arguments (soft reboot).
    restart: ExecPlan,
}

fn action_index(a: Action) -> usize {
    match a {
        Action::Poweroff => 0,
        Action::Halt => 1,
        Action::Reboot => 2,
        Action::Soft => 3,
        Action::Kexec => 4,
    }
}

const ACTIONS: [Action; 5] = [
    Action::Poweroff,
    Action::Halt,
    Action::Reboot,
    Action::Soft,
    Action::Kexec,
];

impl Exits {
    /// Prepares the execs: `argv0` and `args` are the daemon's own command line, `env` the
    /// environment it started with.
    pub(crate) fn prepare(argv0: &OsString, args: &[OsString], env: &[(Vec<u8>, Vec<u8>)]) -> Self {
        let own_exe = std::env::current_exe().ok().or_else(|| {
            let p = PathBuf::from(argv0);
            p.is_absolute().then_some(p)
        });
        let env: Vec<CString> = env
            .iter()
            .filter_map(|(k, v)| c(&[k.as_slice(), b"=", v.as_slice()].concat()))
            .collect();
        let paths: Vec<CString> = shutdown_candidates(own_exe.as_deref())
            .iter()
            .filter_map(|p| c(p.as_os_str().as_bytes()))
            .collect();
        let shutdown = ACTIONS
            .iter()
            .map(|a| {
                let args = [SHUTDOWN_PROGRAM, "--system", a.option()]
                    .iter()
                    .filter_map(|s| c(s.as_bytes()))
                    .collect();
                ExecPlan::new(paths.clone(), args, env.clone())
            })
            .collect();
        // The daemon's own program: the path it was started as (a replaced binary is picked
        // up), else the running image.
        let mut own_paths = Vec::new();
        if argv0.as_bytes().contains(&b'/') {
            own_paths.extend(c(argv0.as_bytes()));
        }
        own_paths.extend(own_exe.as_ref().and_then(|p| c(p.as_os_str().as_bytes())));
        own_paths.extend(c(b"/proc/self/exe"));
        let own_args = std::iter::once(argv0)
            .chain(args)
            .filter_map(|a| c(a.as_bytes()))
            .collect();
        Exits {
            shutdown,
            restart: ExecPlan::new(own_paths, own_args, env),
        }
    }
}

/// Set-up done once when running as PID 1: a session of our own, `/` as working directory,
/// and a default `PATH` if the kernel gave none.
pub fn pid1_setup() {
    let _ = rustix::process::setsid();
    let _ = rustix::process::chdir(c"/");
    if std::env::var_os("PATH").is_none() {
        std::env::set_var("PATH", DEFAULT_PATH);
    }
}

/// Set-up done once by a system manager (process 1, or `-m`; not `-o`), after its control
/// socket, as Dinit does it: the kernel's non-critical console output off (services' and the
/// daemon's lines are what the console is for; the kernel's log keeps the rest), and
/// Ctrl-Alt-Del delivered as SIGINT rather than an immediate reboot.
pub(crate) fn system_manager_setup() {
    #[cfg(target_os = "linux")]
    crate::sys::kernel_console_off();
    let _ = rustix::system::reboot(rustix::system::RebootCommand::CadOff);
}

/// PID 1 could not set itself up: the system is halted directly (the shutdown program, else
/// the same sequence in this process). Does not return while the process is PID 1.
pub fn emergency_halt() {
    let exits = Exits::prepare(&std::env::args_os().next().unwrap_or_default(), &[], &[]);
    if let Some(plan) = exits.shutdown.get(action_index(Action::Halt)) {
        plan.exec();
    }
    let mut console = std::io::stdout();
    shutdown::system_shutdown(Action::Halt, &shutdown::Config::default(), &mut console);
    while std::process::id() == 1 {
        shutdown::sleep_a_minute();
    }
}

/// The `PATH` given to services when PID 1 starts without one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The shortest interval between two starts of the recovery service.
pub const RECOVERY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// A choice at the boot-failure prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootFailureChoice {
    /// Start the `recovery` service.
    Recovery,
    /// Start the boot services again.
    RestartBoot,
    /// Reboot.
    Reboot,
    /// Power off.
    Poweroff,
    /// Halt.
    Halt,
}

/// The prompt shown on the console when the boot fails.
pub const BOOT_FAILURE_PROMPT: &str =
    "Choose: (r)ecovery service, re(s)tart boot, re(b)oot, (p)ower off, (h)alt: ";

/// Reads a choice from an answer line; `None` if the answer is not one of them.
pub fn parse_choice(line: &[u8]) -> Option<BootFailureChoice> {
    let word: Vec<u8> = line
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| b.to_ascii_lowercase())
        .collect();
    match word.as_slice() {
        b"r" | b"recovery" => Some(BootFailureChoice::Recovery),
        b"s" | b"restart" => Some(BootFailureChoice::RestartBoot),
        b"b" | b"reboot" => Some(BootFailureChoice::Reboot),
        b"p" | b"poweroff" => Some(BootFailureChoice::Poweroff),
        b"h" | b"halt" => Some(BootFailureChoice::Halt),
        _ => None,
    }
}

/// Asks on the console (standard input and output) until a valid answer arrives. At end of
/// input (no console to answer on) the recovery service is chosen.
fn ask_on_console() -> BootFailureChoice {
    // Discards typed-ahead input; harmless if not a terminal.
    let _ = rustix::termios::tcflush(rustix::stdio::stdin(), QueueSelector::IFlush);
    loop {
        console_write(BOOT_FAILURE_PROMPT.as_bytes());
        let mut line = [0u8; 64];
        let mut len = 0;
        let mut eof = false;
        loop {
            let mut buf = [0u8];
            let n = match rustix::io::read(rustix::stdio::stdin(), &mut buf) {
                Err(Errno::INTR) => continue,
                Ok(n) => n,
                Err(_) => 0,
            };
            let [byte] = buf;
            if n == 0 {
                eof = true;
                break;
            }
            if byte == b'\n' {
                break;
            }
            if let Some(slot) = line.get_mut(len) {
                *slot = byte;
                len += 1;
            }
        }
        if eof && len == 0 {
            console_write(b"\n(no answer possible on the console: starting recovery)\n");
            return BootFailureChoice::Recovery;
        }
        if let Some(choice) = parse_choice(line.get(..len).unwrap_or(&[])) {
            return choice;
        }
    }
}

fn console_write(bytes: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

impl Daemon<'_> {
    /// All services have stopped because of a shutdown request of `kind` (not `Remain`):
    /// hand over to the system shutdown. Returns only for a soft reboot that could not
    /// re-execute the daemon, which then carries on as if freshly booted.
    pub(super) fn system_shutdown(&mut self, kind: ShutdownKind) {
        let Some(action) = Action::from_kind(kind) else {
            return;
        };
        let will = match action {
            Action::Reboot => "reboot",
            Action::Soft => "soft-reboot",
            Action::Halt => "halt",
            Action::Poweroff => "power down",
            Action::Kexec => "kexec",
        };
        self.rt.log.logf(
            Level::Notice,
            format_args!("No more active services. Will {will}."),
        );
        self.finish();
        let mut console = std::io::stdout();
        if action == Action::Soft {
            shutdown::terminate_all(&shutdown::Config::default(), &mut console);
            shutdown::run_hook(&shutdown::Config::default().hooks, action, &mut console);
            self.reap_children();
            let e = self.rt.exits.restart.exec();
            self.rt.log.logf(
                Level::Error,
                format_args!(
                    "soft reboot: cannot execute the daemon ({}): {e}; starting the boot services again",
                    self.rt.exits.restart.describe()
                ),
            );
            self.set.clear_shutdown();
            let _ = self.open_control_socket(false);
            self.start_initial();
            return;
        }
        if let Some(plan) = self.rt.exits.shutdown.get(action_index(action)) {
            let e = plan.exec();
            self.rt.log.logf(
                Level::Error,
                format_args!(
                    "cannot execute {SHUTDOWN_PROGRAM} (tried {}): {e}; shutting down directly",
                    plan.describe()
                ),
            );
            self.rt.log.flush();
        }
        shutdown::system_shutdown(action, &shutdown::Config::default(), &mut console);
        self.never_return();
    }

    /// SIGQUIT to the system manager: immediate shutdown, no service roll-back.
    pub(super) fn immediate_shutdown(&mut self) {
        self.rt.log.log(
            Level::Notice,
            b"SIGQUIT: immediate shutdown without stopping services",
        );
        self.finish();
        if let Some(plan) = self.rt.exits.shutdown.get(action_index(Action::Poweroff)) {
            let e = plan.exec();
            self.rt.log.logf(
                Level::Error,
                format_args!("cannot execute {SHUTDOWN_PROGRAM}: {e}; shutting down directly"),
            );
            self.rt.log.flush();
        }
        let mut console = std::io::stdout();
        shutdown::system_shutdown(Action::Poweroff, &shutdown::Config::default(), &mut console);
        self.never_return();
    }

    /// After a failed reboot(2): PID 1 must not exit (the kernel would panic), so it waits,
    /// reaping, forever; any other system manager exits with status 1.
    fn never_return(&mut self) {
        if std::process::id() != 1 {
            self.rt.exit = Some(1);
            return;
        }
        loop {
            while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {}
            shutdown::sleep_a_minute();
        }
    }

    /// Every service stopped without a shutdown request: the boot failed. With `-r` the
    /// `recovery` service starts at once; otherwise the console offers a choice.
    pub(super) fn boot_failure(&mut self) {
        self.rt.log.log(
            Level::Notice,
            b"No more active services. Will handle boot failure.",
        );
        self.rt.log.flush();
        let mut auto = self.rt.opts.auto_recovery;
        loop {
            let choice = if auto {
                auto = false;
                BootFailureChoice::Recovery
            } else {
                console_write(
                    b"\nAll services have stopped and no shutdown was requested: the boot has failed.\n",
                );
                ask_on_console()
            };
            match choice {
                BootFailureChoice::Recovery => {
                    // A recovery service that ends at once must not make this a busy loop.
                    if let Some(last) = self.rt.recovery_started {
                        let since = last.elapsed();
                        if since < RECOVERY_INTERVAL {
                            std::thread::sleep(RECOVERY_INTERVAL - since);
                        }
                    }
                    self.rt.recovery_started = Some(std::time::Instant::now());
                    if self.start_named(b"recovery") {
                        return;
                    }
                    console_write(b"The recovery service could not be started.\n");
                }
                BootFailureChoice::RestartBoot => {
                    if self.start_initial() > 0 && self.set.active_count() > 0 {
                        return;
                    }
                }
                BootFailureChoice::Reboot => return self.system_shutdown(ShutdownKind::Reboot),
                BootFailureChoice::Poweroff => return self.system_shutdown(ShutdownKind::Poweroff),
                BootFailureChoice::Halt => return self.system_shutdown(ShutdownKind::Halt),
            }
        }
    }

    /// Loads and starts one service; true if it is then active.
    fn start_named(&mut self, name: &[u8]) -> bool {
        match self.load_service(name) {
            Ok(id) => self.start_service(id).is_ok() && self.set.active_count() > 0,
            Err(e) => {
                self.log_load_failure(name, &e, true);
                self.rt.log.flush();
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_is_looked_for_beside_the_daemon_then_in_sbin() {
        let list = shutdown_candidates(Some(Path::new("/opt/dinit/bin/dinit")));
        let tail: Vec<&Path> = list
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(PathBuf::as_path)
            .collect();
        assert_eq!(
            tail,
            [
                Path::new("/opt/dinit/bin/dinit-shutdown"),
                Path::new("/usr/sbin/dinit-shutdown"),
                Path::new("/sbin/dinit-shutdown")
            ]
        );
        let list = shutdown_candidates(Some(Path::new("/sbin/dinit")));
        assert_eq!(
            list.iter()
                .filter(|p| p.as_path() == Path::new("/sbin/dinit-shutdown"))
                .count(),
            1
        );
    }

    #[test]
    fn boot_failure_answers() {
        assert_eq!(parse_choice(b"r"), Some(BootFailureChoice::Recovery));
        assert_eq!(parse_choice(b" S \r"), Some(BootFailureChoice::RestartBoot));
        assert_eq!(parse_choice(b"b"), Some(BootFailureChoice::Reboot));
        assert_eq!(parse_choice(b"poweroff"), Some(BootFailureChoice::Poweroff));
        assert_eq!(parse_choice(b"h"), Some(BootFailureChoice::Halt));
        assert_eq!(parse_choice(b""), None);
        assert_eq!(parse_choice(b"x"), None);
    }

    #[test]
    fn exec_plans_are_null_terminated() {
        let env = vec![(b"A".to_vec(), b"1".to_vec())];
        let e = Exits::prepare(&OsString::from("/sbin/init"), &[OsString::from("-r")], &env);
        assert_eq!(e.shutdown.len(), ACTIONS.len());
        for (a, plan) in ACTIONS.iter().zip(&e.shutdown) {
            assert_eq!(plan.argv.len(), 3);
            let opt = plan.argv.get(2).unwrap();
            assert_eq!(opt.to_str().unwrap(), a.option());
            assert_eq!(plan.envp.len(), 1);
        }
        assert_eq!(e.restart.argv.len(), 2);
        assert_eq!(
            e.restart.paths.first().unwrap().to_str().unwrap(),
            "/sbin/init"
        );
    }
}
