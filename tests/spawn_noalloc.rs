//! The launch path allocates nothing: with the spec and buffers built, `spawn`, everything the
//! child does up to `execve` (or its failure report), reading the status pipe and reaping
//! perform zero heap allocations.
//!
//! A counting global allocator whose counter lives in a shared memory mapping, so that an
//! allocation in the forked child (before exec replaces this program) is counted too. Runs
//! without the libtest harness (`harness = false`), single-threaded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::os::fd::AsFd;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use dinit_core::ExecStage;
use dinit_hosted::spawn::{
    child_pipe, resolve_user, spawn, ExecOutcome, Iab, Input, Ioprio, LaunchFds, Limit, Logfile,
    Output, ReadyNotification, Resource, Rlimit, SpawnConfig, SpawnSpec, Stdio,
};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static COUNTER: AtomicPtr<AtomicUsize> = AtomicPtr::new(ptr::null_mut());

fn note_allocation() {
    if COUNTING.load(Ordering::SeqCst) {
        let counter = COUNTER.load(Ordering::SeqCst);
        if !counter.is_null() {
            // SAFETY: points into the shared mapping made in `main`, never unmapped.
            unsafe { (*counter).fetch_add(1, Ordering::SeqCst) };
        }
    }
}

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded.
        unsafe { System.realloc(p, layout, new_size) }
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(p, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> usize {
    // SAFETY: set up in `main` before any call.
    unsafe { (*COUNTER.load(Ordering::SeqCst)).load(Ordering::SeqCst) }
}

fn reap(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: reaping our own child.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return -1;
    }
    libc::WEXITSTATUS(status)
}

fn main() {
    // SAFETY: an anonymous shared mapping of one page, kept for the life of the process.
    let page = unsafe {
        libc::mmap(
            ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(page, libc::MAP_FAILED);
    COUNTER.store(page.cast(), Ordering::SeqCst);

    // The counter works, in this process and in a forked child.
    COUNTING.store(true, Ordering::SeqCst);
    drop(std::hint::black_box(Box::new(1u64)));
    // SAFETY: the child allocates once and exits at once.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        drop(std::hint::black_box(Box::new(2u64)));
        // SAFETY: leave the child without running anything of the parent's.
        unsafe { libc::_exit(0) };
    }
    reap(pid);
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(allocations(), 2, "the counting allocator does not count");
    // SAFETY: as in `allocations`.
    unsafe { (*COUNTER.load(Ordering::SeqCst)).store(0, Ordering::SeqCst) };

    // Load time: specs, buffers, descriptors; anything goes.
    let root = rustix::process::geteuid().is_root();
    let dir = std::env::temp_dir().join(format!("dinit-spawn-noalloc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("log");

    let mut rich = SpawnConfig::new([
        "/bin/sh",
        "-c",
        r#"echo "$LISTEN_PID $DINIT_CS_FD" >&"$READY"; echo logged"#,
    ])
    .with_env("SERVICE_VAR", "1")
    .with_env("PATH", "/usr/bin:/bin");
    rich.working_dir = Some(b"/tmp".to_vec());
    rich.socket_activation = true;
    rich.pass_control_socket = true;
    rich.ready_notification = Some(ReadyNotification::PipeVar(b"READY".to_vec()));
    let mut log = Logfile::new(log_path.as_os_str().as_encoded_bytes());
    log.mode = 0o644;
    rich.stdio = Stdio::Detached {
        input: Input::Null,
        output: Output::Logfile(log),
    };
    rich.rlimits = vec![(
        Resource::Nofile,
        Rlimit {
            soft: Limit::Value(512),
            hard: Limit::Unchanged,
        },
    )];
    rich.nice = Some(3);
    rich.oom_score_adj = Some(100);
    rich.ioprio = Some(Ioprio::BestEffort(4));
    if root {
        rich.run_as = Some(resolve_user("nobody").unwrap());
        rich.capabilities = Some(Iab::parse("^cap_net_bind_service").unwrap());
        rich.no_new_privs = true;
    }
    let rich = Rc::new(SpawnSpec::new(&rich).unwrap());

    let searched = Rc::new(SpawnSpec::new(&SpawnConfig::new(["true"])).unwrap());
    let missing = Rc::new(SpawnSpec::new(&SpawnConfig::new(["/nonexistent/dinit-spawn"])).unwrap());

    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.into_encoded_bytes();
            e.push(b'=');
            e.extend_from_slice(&v.into_encoded_bytes());
            CString::new(e).unwrap()
        })
        .collect();

    let listener = std::os::unix::net::UnixListener::bind(dir.join("sock")).unwrap();
    let (control, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let (ready_read, ready_write) = child_pipe().unwrap();
    let fds = LaunchFds {
        activation: Some(listener.as_fd()),
        control: Some(control.as_fd()),
        notify: Some(ready_write.as_fd()),
        ..LaunchFds::default()
    };
    let no_fds = LaunchFds::default();

    // Launch time: count.
    const ROUNDS: usize = 20;
    let mut started = 0usize;
    let mut failed_right = 0usize;
    let mut exits_ok = 0usize;
    let mut ready_bytes = 0usize;
    let mut buffer = [0u8; 256];
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..ROUNDS {
        if let Ok(mut child) = spawn(&rich, &fds, &env) {
            if child.status.wait() == Ok(ExecOutcome::Started) {
                started += 1;
            }
            if reap(child.pid) == 0 {
                exits_ok += 1;
            }
            if let Ok(n) = rustix::io::read(&ready_read, &mut buffer) {
                ready_bytes += n;
            }
        }
        if let Ok(mut child) = spawn(&searched, &no_fds, &env) {
            if child.status.wait() == Ok(ExecOutcome::Started) {
                started += 1;
            }
            if reap(child.pid) == 0 {
                exits_ok += 1;
            }
        }
        if let Ok(mut child) = spawn(&missing, &no_fds, &env) {
            if let Ok(ExecOutcome::Failed(f)) = child.status.wait() {
                if f.stage == ExecStage::DoExec && f.errno == libc::ENOENT {
                    failed_right += 1;
                }
            }
            if reap(child.pid) == 127 {
                exits_ok += 1;
            }
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    let counted = allocations();

    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(started, 2 * ROUNDS, "launches that started");
    assert_eq!(failed_right, ROUNDS, "launches that failed as expected");
    assert_eq!(exits_ok, 3 * ROUNDS, "children that exited as expected");
    assert!(ready_bytes > 0, "no readiness notification arrived");
    assert_eq!(log.lines().filter(|l| *l == "logged").count(), ROUNDS);
    assert_eq!(
        counted,
        0,
        "the launch path allocated {counted} times over {} launches",
        3 * ROUNDS
    );
    println!(
        "spawn_noalloc: {} launches (run-as and capabilities: {root}), 0 allocations",
        3 * ROUNDS
    );
    println!("1 passed, 0 failed");
}
