//! Engine-only microbenchmark: the cost of the service engine itself, without processes,
//! files or sockets. A fake host answers `spawn` with made-up pids; for `process` services the
//! benchmark then reports each exec as successful (and, after a stop, each process as exited),
//! as the daemon would.
//!
//! Scenarios, on the default capacity profile (the set the `dinit` binary uses):
//! - load (insert, add dependencies, commit) of `boot` depending on N services, N = 10, 100,
//!   1000, 5000 and 10 000 (the curve: time per service should not grow with N);
//! - start and stop of `boot` with N internal / N process dependencies, on the loaded set;
//! - a dependency chain 1000 and 10 000 deep (each service depends on the next), internal
//!   and process, started from the top.
//!
//! Load times are medians over fresh loads; start and stop medians over repeated start/stop of
//! one loaded set (15 repetitions, 3 in quick mode).
//!
//! Ours only: Dinit's service engine cannot be run apart from its daemon; the daemon benchmark
//! (hosted/benches/daemon.rs) compares the two whole daemons.
//!
//! Run with `just bench` (or `cargo bench -p dinit-core --bench engine [-- quick]`). Prints a
//! table and `metric=value` lines; asserts nothing about time.

// Benchmark code: a failed step should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::engine::{CommandKind, Host, Notice, PidFileResult, ServiceId};
use dinit_core::profile::DefaultSet;
use dinit_core::{
    DepKind, ExitStatus, Gentle, Instant, Pid, Pin, ServiceConfig, ServiceEvent, ServiceKind,
    ServiceState, ServiceStatus,
};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant as Clock;

/// The engine's tables (6.4 MB): in `.bss`, as in the daemon.
static SET: Mutex<DefaultSet> = Mutex::new(DefaultSet::new());

/// Records the processes the engine launches and signals, so that the benchmark can feed back
/// exec successes and exits. Buffers are reserved up front; nothing allocates while timed.
struct FakeHost {
    next_pid: Pid,
    spawned: Vec<(ServiceId, Pid)>,
    signalled: Vec<(ServiceId, Pid)>,
    events: u64,
}

impl Host for FakeHost {
    fn spawn(
        &mut self,
        service: ServiceId,
        _: CommandKind,
        _: bool,
    ) -> Result<Pid, dinit_core::engine::LaunchFailed> {
        self.next_pid = self.next_pid.wrapping_add(1).max(2);
        self.spawned.push((service, self.next_pid));
        Ok(self.next_pid)
    }
    fn signal(&mut self, service: ServiceId, pid: Pid, _: i32, _: bool) {
        self.signalled.push((service, pid));
    }
    fn read_pid_file(&mut self, _: ServiceId) -> PidFileResult {
        PidFileResult::Invalid
    }
    fn event(&mut self, _: ServiceId, _: ServiceEvent, status: &ServiceStatus) {
        black_box(status);
        self.events += 1;
    }
    fn notice(&mut self, notice: Notice) {
        black_box(notice);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `boot` depends on every one of N services.
    Flat,
    /// `boot` depends on c0, c0 on c1, ..., N deep.
    Chain,
}

struct Clockwork {
    nanos: u64,
}

impl Clockwork {
    /// A strictly increasing fake time, 1 µs per input.
    fn now(&mut self) -> Instant {
        self.nanos += 1_000;
        Instant::from_nanos(self.nanos)
    }
}

/// One measured scenario: nanoseconds of each phase, per repetition.
struct Sample {
    load: u64,
    start: u64,
    stop: u64,
}

fn load(set: &mut DefaultSet, shape: Shape, kind: ServiceKind, n: usize) -> ServiceId {
    let mut name = String::with_capacity(16);
    set.begin_load().unwrap();
    let boot = set
        .insert_service(b"boot", ServiceConfig::new(ServiceKind::Internal), b"")
        .unwrap();
    let mut prev = boot;
    for i in 0..n {
        name.clear();
        write!(name, "s{i}").unwrap();
        let id = set
            .insert_service(name.as_bytes(), ServiceConfig::new(kind), b"")
            .unwrap();
        let from = if shape == Shape::Flat { boot } else { prev };
        set.add_dependency(from, id, DepKind::Regular).unwrap();
        prev = id;
    }
    set.commit_load().unwrap();
    boot
}

/// Loads, starts and stops once; returns the phase times. For process services the fake
/// processes "exec" and "exit" as the engine asks, inside the timed phase.
fn run_once(
    set: &mut DefaultSet,
    host: &mut FakeHost,
    clock: &mut Clockwork,
    shape: Shape,
    kind: ServiceKind,
    n: usize,
    loaded: Option<ServiceId>,
) -> (Sample, ServiceId) {
    let t0 = Clock::now();
    let boot = match loaded {
        Some(b) => b,
        None => load(set, shape, kind, n),
    };
    let load_ns = t0.elapsed().as_nanos() as u64;

    host.spawned.clear();
    host.signalled.clear();
    let t1 = Clock::now();
    set.start(boot, Pin::NoPin, clock.now(), host).unwrap();
    // Processes report exec success one by one, as the daemon's status pipes would. In a
    // chain, each success lets the next service up the chain launch.
    let mut done = 0;
    while done < host.spawned.len() {
        let (id, pid) = host.spawned[done];
        done += 1;
        set.exec_succeeded(id, pid, clock.now(), host);
    }
    let start_ns = t1.elapsed().as_nanos() as u64;
    assert_eq!(set.state(boot), Some(ServiceState::Started));

    let t2 = Clock::now();
    set.stop(boot, Pin::NoPin, Gentle::Force, clock.now(), host)
        .unwrap();
    let mut done = 0;
    while done < host.signalled.len() {
        let (id, pid) = host.signalled[done];
        done += 1;
        set.process_exited(id, pid, ExitStatus::Signaled(15), clock.now(), host);
    }
    let stop_ns = t2.elapsed().as_nanos() as u64;
    assert_eq!(set.state(boot), Some(ServiceState::Stopped));
    assert_eq!(set.active_count(), 0);
    (
        Sample {
            load: load_ns,
            start: start_ns,
            stop: stop_ns,
        },
        boot,
    )
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick")
        || std::env::var("DINIT_BENCH_MODE").is_ok_and(|m| m == "quick");
    let reps = if quick { 3 } else { 15 };
    // The curve N = 10..10 000 for each shape: the cost per service should stay flat.
    let sizes: &[usize] = &[10, 100, 1000, 5000, 10000];
    let mut scenarios: Vec<(&str, Shape, ServiceKind, usize)> = Vec::new();
    for &n in sizes {
        scenarios.push(("internal", Shape::Flat, ServiceKind::Internal, n));
    }
    for &n in sizes {
        scenarios.push(("process", Shape::Flat, ServiceKind::Process, n));
    }
    for n in [1000, 10000] {
        scenarios.push(("chain", Shape::Chain, ServiceKind::Internal, n));
    }
    for n in [1000, 10000] {
        scenarios.push(("chain_process", Shape::Chain, ServiceKind::Process, n));
    }
    let mut set = SET.lock().unwrap_or_else(|p| p.into_inner());
    let mut host = FakeHost {
        next_pid: 100,
        spawned: Vec::with_capacity(20_000),
        signalled: Vec::with_capacity(20_000),
        events: 0,
    };
    let mut clock = Clockwork { nanos: 1 };
    let mut metrics = String::new();

    println!(
        "engine microbenchmark (dinit-core, default profile, no processes); median of {reps} runs"
    );
    println!("(ours only: Dinit's service engine cannot be run apart from its daemon)");
    println!(
        "{:<14} {:>6} | {:>10} {:>10} {:>10} | {:>9} {:>9} {:>9}",
        "scenario", "N", "load µs", "start µs", "stop µs", "load ns/s", "start ns/s", "stop ns/s"
    );
    for &(label, shape, kind, n) in &scenarios {
        // Cold: a fresh load every repetition (the set is reset outside the timed part).
        let mut loads = Vec::new();
        for _ in 0..reps {
            set.reset();
            let (s, _) = run_once(&mut set, &mut host, &mut clock, shape, kind, n, None);
            loads.push(s.load);
        }
        // Warm: start/stop again on the loaded set.
        let mut starts = Vec::new();
        let mut stops = Vec::new();
        set.reset();
        let boot = load(&mut set, shape, kind, n);
        for _ in 0..reps {
            let (s, _) = run_once(&mut set, &mut host, &mut clock, shape, kind, n, Some(boot));
            starts.push(s.start);
            stops.push(s.stop);
        }
        let (l, s, p) = (median(loads), median(starts), median(stops));
        let per = |ns: u64| ns as f64 / (n + 1) as f64;
        println!(
            "{:<14} {:>6} | {:>10.1} {:>10.1} {:>10.1} | {:>9.0} {:>9.0} {:>9.0}",
            label,
            n,
            l as f64 / 1e3,
            s as f64 / 1e3,
            p as f64 / 1e3,
            per(l),
            per(s),
            per(p)
        );
        for (phase, ns) in [("load", l), ("start", s), ("stop", p)] {
            writeln!(
                metrics,
                "engine_{phase}_{label}_{n}_us={:.1}",
                ns as f64 / 1e3
            )
            .unwrap();
            writeln!(
                metrics,
                "engine_{phase}_{label}_{n}_ns_per_service={:.0}",
                per(ns)
            )
            .unwrap();
        }
    }
    println!("(ns/s: nanoseconds per service, N + 1 services including boot)");
    println!();
    print!("{metrics}");
    black_box(host.events);
}
