//! `dinit-shutdown` (shutdown(8)): asks the daemon to roll services back and shut the system
//! down, or, with `--system`, shuts it down directly: every process is terminated, the shutdown
//! hook runs, swap is turned off, file systems are unmounted (or made read-only), and the kernel
//! is told to power off, halt, reboot or kexec.
//!
//! The daemon itself execs `dinit-shutdown --system` once services have stopped (see
//! [`crate::daemon`]), and calls [`terminate_all`] and [`run_hook`] directly for a soft reboot.

use crate::ctl::commands::connect_with;
use crate::ctl::socket::SocketOptions;
use crate::ctl::ui::Ui;
use crate::ctl::Reply;
use crate::paths::{InstanceKind, SYSTEM_SOCKET_PATH};
use crate::sweep::{self, Allowance, Step, Sweep};
use crate::sys;
use dinit_core::proto::Request;
use dinit_core::ShutdownKind;
use rustix::io::Errno;
use rustix::mount::UnmountFlags;
use rustix::process::WaitOptions;
use rustix::system::{reboot, RebootCommand};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What the system does at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `-p`: power off (the default, also as `shutdown`, `halt`, `poweroff`).
    Poweroff,
    /// `-h`: halt without powering off.
    Halt,
    /// `-r`: reboot (the default as `reboot`).
    Reboot,
    /// `-s`: restart the service manager and user space only (the default as `soft-reboot`).
    Soft,
    /// `-k`: reboot into a kernel loaded with kexec(8).
    Kexec,
}

impl Action {
    /// The argument given to the shutdown hook (shutdown(8) SHUTDOWN HOOKS).
    pub fn hook_argument(self) -> &'static str {
        match self {
            Action::Poweroff => "poweroff",
            Action::Halt => "halt",
            Action::Reboot | Action::Kexec => "reboot",
            Action::Soft => "soft",
        }
    }

    /// The option that selects this action on the command line.
    pub fn option(self) -> &'static str {
        match self {
            Action::Poweroff => "-p",
            Action::Halt => "-h",
            Action::Reboot => "-r",
            Action::Soft => "-s",
            Action::Kexec => "-k",
        }
    }

    /// The shutdown kind the daemon is asked for.
    pub fn kind(self) -> ShutdownKind {
        match self {
            Action::Poweroff => ShutdownKind::Poweroff,
            Action::Halt => ShutdownKind::Halt,
            Action::Reboot => ShutdownKind::Reboot,
            Action::Soft => ShutdownKind::SoftReboot,
            Action::Kexec => ShutdownKind::Kexec,
        }
    }

    /// The action for a shutdown kind the daemon has rolled back for (`None` for `Remain`).
    pub fn from_kind(kind: ShutdownKind) -> Option<Action> {
        match kind {
            ShutdownKind::Remain => None,
            ShutdownKind::Halt => Some(Action::Halt),
            ShutdownKind::Poweroff => Some(Action::Poweroff),
            ShutdownKind::Reboot => Some(Action::Reboot),
            ShutdownKind::SoftReboot => Some(Action::Soft),
            ShutdownKind::Kexec => Some(Action::Kexec),
        }
    }
}

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShutdownArgs {
    /// What to do.
    pub action: Action,
    /// `--system`: shut down directly rather than through the daemon.
    pub system: bool,
    /// `--use-passed-cfd`: the connection to the daemon is in `DINIT_CS_FD`.
    pub use_passed_cfd: bool,
    /// `--help`.
    pub help: bool,
}

/// The usage text of `--help`.
pub const USAGE: &str = "\
Usage: shutdown [options]

Options:
  -p             power off the system (the default, except as reboot or soft-reboot)
  -r             reboot the system (the default as reboot)
  -h             halt the system without powering it off
  -s             soft reboot: restart the service manager and all user-space services
                 without rebooting (the default as soft-reboot)
  -k             reboot into a kernel loaded with kexec(8)
  --use-passed-cfd
                 use the connection to the service manager passed in DINIT_CS_FD
  --system       shut down directly, without asking the service manager to stop services
  --help         show this help
";

/// Parses the arguments; `invoked_as` is the file name of `argv[0]`, which sets the default
/// action (`reboot` reboots, `soft-reboot` soft-reboots, anything else powers off).
pub fn parse_args(invoked_as: &str, args: &[OsString]) -> Result<ShutdownArgs, String> {
    let action = match invoked_as {
        "reboot" => Action::Reboot,
        "soft-reboot" => Action::Soft,
        _ => Action::Poweroff,
    };
    let mut parsed = ShutdownArgs {
        action,
        system: false,
        use_passed_cfd: false,
        help: false,
    };
    for arg in args {
        match arg.to_str() {
            Some("-r") => parsed.action = Action::Reboot,
            Some("-h") => parsed.action = Action::Halt,
            Some("-p") => parsed.action = Action::Poweroff,
            Some("-s") => parsed.action = Action::Soft,
            Some("-k") => parsed.action = Action::Kexec,
            Some("--system") => parsed.system = true,
            Some("--use-passed-cfd") => parsed.use_passed_cfd = true,
            Some("--help") => {
                parsed.help = true;
                break;
            }
            // An operand (a time, in other shutdown programs) is not understood: the help
            // is shown, as by Dinit's shutdown.
            Some(a) if !a.starts_with('-') => {
                parsed.help = true;
                break;
            }
            _ => {
                return Err(format!(
                    "Unrecognized command-line parameter: {}",
                    arg.to_string_lossy()
                ))
            }
        }
    }
    Ok(parsed)
}

/// Runs the program: returns the exit status (the `--system` path does not return when it
/// succeeds in rebooting the machine).
pub fn run(invoked_as: &str, args: &[OsString]) -> i32 {
    let parsed = match parse_args(invoked_as, args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if parsed.help {
        // Status 1, as Dinit's shutdown: no shutdown was asked for.
        print!("{USAGE}");
        return 1;
    }
    if parsed.system {
        let mut console = std::io::stdout();
        system_shutdown(parsed.action, &Config::default(), &mut console);
        if parsed.action == Action::Soft {
            // The processes are gone and the hook has run; the service manager restarts
            // itself (the daemon does this part).
            return 0;
        }
        // reboot(2) failed and has been reported. As process 1 (exec'd by the daemon) this
        // program must not exit, or the kernel panics.
        while std::process::id() == 1 {
            reap_all();
            sleep_a_minute();
        }
        return 1;
    }
    request_shutdown(parsed.action, parsed.use_passed_cfd)
}

/// Asks the daemon at `/run/dinitctl` (or the passed connection) to shut down. Once the
/// daemon has accepted, this never returns: it waits to be ended with the rest of the system
/// (as Dinit's shutdown does; scripts take a return for a failure).
fn request_shutdown(action: Action, use_passed_cfd: bool) -> i32 {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let mut ui = Ui::new("shutdown", &mut out, &mut err);
    let socket = SocketOptions {
        socket_path: Some(OsString::from(SYSTEM_SOCKET_PATH)),
        use_passed_cfd,
        instance: Some(InstanceKind::System),
    };
    let mut conn = match connect_with(
        &socket,
        &mut ui,
        crate::ctl::commands::ConnectMessages::Shutdown,
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    ui.info(b"Issuing shutdown command...");
    ui.flush();
    let reply = match conn.request(&Request::Shutdown {
        kind: action.kind(),
    }) {
        Ok(r) => r,
        Err(_) => {
            ui.error(b"control socket read failure or protocol error");
            return 1;
        }
    };
    if reply != Reply::Ack {
        ui.error(b"control socket protocol error");
        return 1;
    }
    // The daemon rolls services back, then the system shutdown ends every process, this one
    // included.
    loop {
        rustix::event::pause();
    }
}

/// Sleeps for a minute, or until a signal is caught (as sleep(3)).
pub(crate) fn sleep_a_minute() {
    let _ = rustix::thread::nanosleep(&rustix::thread::Timespec {
        tv_sec: 60,
        tv_nsec: 0,
    });
}

/// Where the system shutdown looks for things; [`Config::default`] is what the program uses.
#[derive(Clone, Debug)]
pub struct Config {
    /// The shutdown hooks, in order; the first executable one runs.
    pub hooks: Vec<PathBuf>,
    /// How long processes get between SIGTERM and SIGKILL at most, and how long they may
    /// take to disappear after SIGKILL.
    pub allowance: Allowance,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hooks: vec![
                PathBuf::from("/etc/dinit/shutdown-hook"),
                PathBuf::from("/lib/dinit/shutdown-hook"),
            ],
            allowance: Allowance {
                term: Duration::from_secs(5),
                kill: Duration::from_secs(2),
            },
        }
    }
}

fn say(console: &mut dyn Write, text: &str) {
    let _ = writeln!(console, "{text}");
    let _ = console.flush();
}

/// The whole `--system` sequence. Returns only if the final reboot(2) failed (or for a soft
/// reboot, which the caller completes by re-executing the service manager).
pub fn system_shutdown(action: Action, config: &Config, console: &mut dyn Write) {
    rustix::fs::sync();
    terminate_all(config, console);
    let hook_done = run_hook(&config.hooks, action, console);
    if action == Action::Soft {
        return;
    }
    if !hook_done {
        say(console, "Turning off swap...");
        swap_off_all(console);
        say(console, "Unmounting file systems...");
        unmount_all(console);
    }
    rustix::fs::sync();
    say(console, "Issuing shutdown via kernel...");
    kernel_shutdown(action, console);
}

/// Sends SIGTERM to every process (but init and us), waits until none is left or the TERM
/// allowance passes, then sends SIGKILL to what remains and waits again (a [`Sweep`], driven
/// by blocking: this program has nothing else to do).
pub fn terminate_all(config: &Config, console: &mut dyn Write) {
    say(console, "Sending TERM signal to all processes...");
    sweep::term_all();
    let mut sweep = Sweep::begin(Instant::now(), config.allowance);
    loop {
        reap_all();
        match sweep.poll(Instant::now(), sweep::none_left()) {
            Step::Wait { kill, until } => {
                if kill {
                    say(console, "Sending KILL signal to all processes...");
                    sweep::kill_all();
                }
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
            }
            Step::Done { none_left } => {
                if !none_left {
                    say(console, "Some processes did not end; continuing.");
                }
                return;
            }
        }
    }
}

/// Reaps every child that has ended.
fn reap_all() {
    while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {}
}

/// Runs the first executable hook with the action's argument and waits for it. True if it
/// exited with status 0, which means it has unmounted (or made read-only) every file system.
pub fn run_hook(hooks: &[PathBuf], action: Action, console: &mut dyn Write) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(hook) = hooks.iter().find(|p| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }) else {
        return false;
    };
    say(
        console,
        &format!("Running shutdown hook {}...", hook.display()),
    );
    let mut attempts = 0;
    loop {
        match std::process::Command::new(hook)
            .arg(action.hook_argument())
            .status()
        {
            Ok(status) => return status.success(),
            // A file just written may briefly be open for writing elsewhere.
            Err(e) if e.raw_os_error() == Some(Errno::TXTBSY.raw_os_error()) && attempts < 50 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                say(console, &format!("cannot run {}: {e}", hook.display()));
                return false;
            }
        }
    }
}

/// Turns off every swap area listed in `/proc/swaps`.
fn swap_off_all(console: &mut dyn Write) {
    let Ok(text) = std::fs::read_to_string("/proc/swaps") else {
        return;
    };
    for path in swap_areas(&text) {
        let Ok(c) = std::ffi::CString::new(path.as_bytes()) else {
            continue;
        };
        if let Err(e) = sys::swapoff(&c) {
            say(console, &format!("swapoff {path}: {e}"));
        }
    }
}

/// The swap areas of a `/proc/swaps` text (its first column, after the header).
pub fn swap_areas(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(unescape_octal)
        .collect()
}

/// A mount point from `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The mount point.
    pub point: String,
    /// The file system type.
    pub fstype: String,
}

/// The mounts of a `/proc/self/mountinfo` text, in the order they were mounted.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let point = fields.nth(4)?;
            // Optional fields end with a lone "-"; the file system type follows.
            let fstype = fields.skip_while(|f| *f != "-").nth(1)?;
            Some(Mount {
                point: unescape_octal(point),
                fstype: fstype.to_owned(),
            })
        })
        .collect()
}

/// The kernel writes spaces, tabs, newlines and backslashes in paths as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b.get(i), octal) {
            (Some(b'\\'), Some(d)) => {
                let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (Some(&c), _) => {
                out.push(c);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Unmounts every file system, most recent first, in up to three passes (a mount may be busy
/// until the ones above it are gone), then remounts read-only, most recent first, whatever is
/// still mounted (the root file system at least).
fn unmount_all(console: &mut dyn Write) {
    for _ in 0..3 {
        let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
            break;
        };
        let mounts = parse_mountinfo(&text);
        let mut unmounted = 0;
        for m in mounts.iter().rev().filter(|m| m.point != "/") {
            if rustix::mount::unmount(m.point.as_str(), UnmountFlags::empty()).is_ok() {
                unmounted += 1;
            }
        }
        if unmounted == 0 {
            break;
        }
    }
    let remaining = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_else(|_| {
            vec![Mount {
                point: "/".into(),
                fstype: String::new(),
            }]
        });
    for m in remaining.iter().rev() {
        let Ok(c) = std::ffi::CString::new(m.point.as_bytes()) else {
            continue;
        };
        let result = sys::remount_read_only(&c);
        if let (Err(e), true) = (result, m.point == "/") {
            say(console, &format!("cannot remount / read-only: {e}"));
        }
    }
}

/// reboot(2) with the action's command. Returns only on failure (after reporting it).
fn kernel_shutdown(action: Action, console: &mut dyn Write) {
    let cmd = match action {
        Action::Poweroff => RebootCommand::PowerOff,
        Action::Halt => RebootCommand::Halt,
        Action::Reboot => RebootCommand::Restart,
        Action::Kexec => RebootCommand::Kexec,
        Action::Soft => return,
    };
    let mut result = reboot(cmd);
    if result.is_err() && action == Action::Kexec {
        say(
            console,
            "kexec failed (no kernel loaded?); rebooting instead",
        );
        result = reboot(RebootCommand::Restart);
    }
    if let Err(e) = result {
        say(console, &format!("reboot(2) failed: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_program_name_sets_the_default() {
        for (name, action) in [
            ("shutdown", Action::Poweroff),
            ("dinit-shutdown", Action::Poweroff),
            ("halt", Action::Poweroff),
            ("poweroff", Action::Poweroff),
            ("reboot", Action::Reboot),
            ("soft-reboot", Action::Soft),
        ] {
            assert_eq!(parse_args(name, &[]).unwrap().action, action, "{name}");
        }
        let a = parse_args("reboot", &args(&["-h", "--system", "--use-passed-cfd"])).unwrap();
        assert_eq!(a.action, Action::Halt);
        assert!(a.system && a.use_passed_cfd);
        assert_eq!(
            parse_args("shutdown", &args(&["-k"])).unwrap().action,
            Action::Kexec
        );
        assert_eq!(
            parse_args("shutdown", &args(&["-x"])).unwrap_err(),
            "Unrecognized command-line parameter: -x"
        );
        // An operand shows the help (and the program exits with 1), as Dinit's shutdown.
        assert!(parse_args("shutdown", &args(&["now"])).unwrap().help);
    }

    #[test]
    fn hook_arguments_per_shutdown_8() {
        assert_eq!(Action::Poweroff.hook_argument(), "poweroff");
        assert_eq!(Action::Halt.hook_argument(), "halt");
        assert_eq!(Action::Reboot.hook_argument(), "reboot");
        assert_eq!(Action::Kexec.hook_argument(), "reboot");
        assert_eq!(Action::Soft.hook_argument(), "soft");
        for a in [
            Action::Poweroff,
            Action::Halt,
            Action::Reboot,
            Action::Soft,
            Action::Kexec,
        ] {
            assert_eq!(Action::from_kind(a.kind()), Some(a));
            assert_eq!(parse_args("x", &args(&[a.option()])).unwrap().action, a);
        }
        assert_eq!(Action::from_kind(ShutdownKind::Remain), None);
    }

    #[test]
    fn mountinfo_in_mount_order_with_escapes() {
        let text = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw
24 22 0:21 / /proc rw - proc proc rw
25 22 0:30 / /mnt/with\\040space rw master:3 - tmpfs tmpfs rw
";
        let m = parse_mountinfo(text);
        let points: Vec<&str> = m.iter().map(|m| m.point.as_str()).collect();
        assert_eq!(points, ["/", "/dev", "/proc", "/mnt/with space"]);
        assert_eq!(m[0].fstype, "ext4");
        assert_eq!(m[3].fstype, "tmpfs");
        assert_eq!(parse_mountinfo("garbage\n\n"), vec![]);
    }

    #[test]
    fn swaps_listed_after_the_header() {
        let text = "Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 1 0 -2\n/swap\\040file file 1 0 -3\n";
        assert_eq!(swap_areas(text), ["/dev/sda2", "/swap file"]);
        assert!(swap_areas("Filename Type\n").is_empty());
    }

    #[test]
    fn the_first_executable_hook_runs_and_its_status_counts() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("dinit-rs-hook-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let not_exec = dir.join("a");
        std::fs::write(&not_exec, "#!/bin/sh\nexit 0\n").unwrap();
        let hook = dir.join("b");
        let out = dir.join("out");
        std::fs::write(
            &hook,
            format!("#!/bin/sh\necho \"$1\" > {}\nexit 3\n", out.display()),
        )
        .unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut console = Vec::new();
        let hooks = [dir.join("missing"), not_exec, hook];
        assert!(!run_hook(&hooks, Action::Halt, &mut console));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "halt\n");
        std::fs::write(hooks.get(2).unwrap(), "#!/bin/sh\nexit 0\n").unwrap();
        assert!(run_hook(&hooks, Action::Soft, &mut console));
        assert!(!run_hook(&[], Action::Soft, &mut console));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
