//! `dinit`: the service manager daemon (dinit(8)). The logic is in `dinit_hosted::daemon`.

#![deny(unsafe_code)]

use dinit_core::profile::ConfiguredSet;
use dinit_hosted::daemon::{options, Daemon};
use std::io::Write;
use std::sync::Mutex;

/// The engine's tables: large, so in a static (`.bss`), not on the stack.
static SET: Mutex<ConfiguredSet> = Mutex::new(ConfiguredSet::new());

pub(crate) fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let is_pid1 = std::process::id() == 1;
    // Process 1 run by root takes its arguments from the kernel (dinit(8) COMMAND LINE FROM
    // KERNEL).
    let from_kernel = is_pid1 && rustix::process::getuid().is_root();
    let opts = match options::parse(&args, from_kernel) {
        Ok(options::Command::Run(o)) => o,
        Ok(options::Command::Help) => {
            print!("{}", options::USAGE);
            return;
        }
        Ok(options::Command::Version) => {
            let (services, edges) = dinit_hosted::capacities();
            println!(
                "dinit-rs version {} (a Dinit-compatible service manager; up to {services} services, {edges} dependencies)",
                dinit_hosted::VERSION
            );
            return;
        }
        Err(message) => {
            let mut line = b"dinit: ".to_vec();
            line.extend_from_slice(&message);
            line.push(b'\n');
            let _ = std::io::stderr().write_all(&line);
            std::process::exit(1);
        }
    };
    if is_pid1 {
        dinit_hosted::daemon::system::pid1_setup();
    }
    let mut set = SET.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut daemon = match Daemon::new(&mut set, opts, is_pid1) {
        Ok(d) => d,
        Err(_) => {
            // The reason is in the log (on the console) already.
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
