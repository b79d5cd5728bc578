//! `dinit`: the service manager daemon (dinit(8)). The logic is in `dinit_hosted::daemon`.

use dinit_core::profile::ConfiguredSet;
use dinit_hosted::daemon::{options, Daemon};
use std::sync::Mutex;

/// The engine's tables: large, so in a static (`.bss`), not on the stack.
static SET: Mutex<ConfiguredSet> = Mutex::new(ConfiguredSet::new());

pub(crate) fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let is_pid1 = std::process::id() == 1;
    let opts = match options::parse(&args, is_pid1) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("dinit: {e}");
            eprintln!("Try 'dinit --help' for more information.");
            std::process::exit(1);
        }
    };
    if opts.help {
        print!("{}", options::USAGE);
        return;
    }
    if opts.version {
        let (services, edges) = dinit_hosted::capacities();
        println!(
            "dinit-rs version {} (a Dinit-compatible service manager; up to {services} services, {edges} dependencies)",
            dinit_hosted::VERSION
        );
        return;
    }
    if is_pid1 {
        dinit_hosted::daemon::system::pid1_setup();
    }
    let mut set = SET.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut daemon = match Daemon::new(&mut set, opts, is_pid1) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("dinit: {e}");
            if is_pid1 {
                // PID 1 must not exit (the kernel would panic): halt, leaving the message on
                // the console.
                eprintln!("dinit: cannot run as init; halting the system");
                dinit_hosted::daemon::system::emergency_halt();
            }
            std::process::exit(1);
        }
    };
    daemon.start_initial();
    let status = daemon.run();
    std::process::exit(status);
}
