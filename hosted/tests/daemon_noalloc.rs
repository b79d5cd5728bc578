//! Steady state allocates nothing (ARCHITECTURE.md 3): after start-up, thousands of service
//! starts, stops, restarts, process exits, automatic restarts and control requests run through
//! the real daemon loop with a counting global allocator, which must count zero.
//!
//! Runs without the libtest harness (harness = false): one thread, so the counter sees only
//! the daemon.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::profile::ConfiguredSet;
use dinit_core::ServiceState;
use dinit_hosted::daemon::options::DaemonOptions;
use dinit_hosted::daemon::Daemon;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static SET: Mutex<ConfiguredSet> = Mutex::new(ConfiguredSet::new());

fn main() {
    let dir = std::env::temp_dir().join(format!("dinit-rs-noalloc-{}", std::process::id()));
    let sd = dir.join("sd");
    std::fs::create_dir_all(&sd).unwrap();
    let mut boot = String::from("type = internal\n");
    for i in 0..20 {
        std::fs::write(
            sd.join(format!("sleeper{i}")),
            "type = process\ncommand = /bin/sleep 1000\nstop-timeout = 5\n",
        )
        .unwrap();
        boot.push_str(&format!("depends-on: sleeper{i}\n"));
    }
    std::fs::write(
        sd.join("script"),
        "type = scripted\ncommand = /bin/true\nstop-command = /bin/true\n",
    )
    .unwrap();
    boot.push_str("depends-on: script\nwaits-for: crasher\n");
    // Exits at once, forever restarted: process exits and automatic restarts in a loop.
    std::fs::write(
        sd.join("crasher"),
        "type = process\ncommand = /bin/sh -c \"exit 3\"\nrestart = yes\nrestart-delay = 0.01\nrestart-limit-count = 0\n",
    )
    .unwrap();
    std::fs::write(sd.join("boot"), boot).unwrap();

    let opts = DaemonOptions {
        service_dirs: vec![sd.clone()],
        socket_path: Some(dir.join("sock")),
        instance: Some(dinit_hosted::paths::InstanceKind::User),
        quiet: true,
        console_level: Some(dinit_hosted::log::Level::None),
        log_file: Some(dir.join("log")),
        ..DaemonOptions::default()
    };
    let mut set = SET.lock().unwrap();
    let mut d = Daemon::new(&mut set, opts, false).unwrap();
    let boot = d.load_service(b"boot").unwrap();
    let settle = |d: &mut Daemon<'_>, want: ServiceState| {
        let start = std::time::Instant::now();
        while d.set.state(boot) != Some(want) {
            d.turn();
            assert!(
                start.elapsed().as_secs() < 30,
                "boot did not reach {want:?}"
            );
        }
    };
    // Warm up: one full cycle before counting.
    d.start_service(boot).unwrap();
    settle(&mut d, ServiceState::Started);
    d.stop_service(boot).unwrap();
    settle(&mut d, ServiceState::Stopped);

    COUNTING.store(true, Ordering::SeqCst);
    let cycles = 25;
    for _ in 0..cycles {
        d.start_service(boot).unwrap();
        settle(&mut d, ServiceState::Started);
        let s0 = d.set.find(b"sleeper0").unwrap();
        d.restart_service(s0).unwrap();
        for _ in 0..20 {
            d.turn();
        }
        d.stop_service(boot).unwrap();
        settle(&mut d, ServiceState::Stopped);
    }
    COUNTING.store(false, Ordering::SeqCst);
    let n = ALLOCATIONS.load(Ordering::SeqCst);
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(n, 0, "{n} heap allocations in the steady state");
    println!("daemon_noalloc: {cycles} start/restart/stop cycles of 23 services (~{} process launches): 0 allocations", cycles * 45);
}
