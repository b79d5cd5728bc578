//! `dinit-box`: every dinit-rs program in one executable, which runs the one it is called as
//! (the last component of `argv[0]`), as busybox does. For boards, routers and initramfs images,
//! where the programs' shared code (the C library when linked statically, Rust's standard
//! library, the protocol and description code) should be on the disk once: install
//! `dinit-box` and make `dinit`, `dinitctl`, `dinit-check`, `dinit-monitor`, `dinit-shutdown`
//! (and `init`, `shutdown`, `halt`, `poweroff`, `reboot`, `soft-reboot` if it is the system's
//! init) links to it. `dinit-box --list` prints those names.

#![deny(unsafe_code)]

#[path = "dinit.rs"]
mod dinit;
#[path = "dinit-check.rs"]
mod dinit_check;
#[path = "dinit-monitor.rs"]
mod dinit_monitor;
#[path = "dinit-shutdown.rs"]
mod dinit_shutdown;
#[path = "dinitctl.rs"]
mod dinitctl;

/// The names `dinit-box` answers to, and what each runs.
const PROGRAMS: &[(&str, fn())] = &[
    ("dinit", dinit::main),
    ("init", dinit::main),
    ("dinitctl", dinitctl::main),
    ("dinit-check", dinit_check::main),
    ("dinit-monitor", dinit_monitor::main),
    ("dinit-shutdown", dinit_shutdown::main),
    ("shutdown", dinit_shutdown::main),
    ("halt", dinit_shutdown::main),
    ("poweroff", dinit_shutdown::main),
    ("reboot", dinit_shutdown::main),
    ("soft-reboot", dinit_shutdown::main),
];

fn main() {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let called = std::path::Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some((_, run)) = PROGRAMS.iter().find(|(name, _)| *name == called) {
        run();
        return;
    }
    if std::env::args_os().nth(1).is_some_and(|a| a == "--list") {
        for (name, _) in PROGRAMS {
            println!("{name}");
        }
        return;
    }
    eprintln!(
        "dinit-box: run as one of the dinit-rs programs, through a link named after it \
         (dinit-box --list shows the names); called as '{called}'"
    );
    std::process::exit(1);
}
