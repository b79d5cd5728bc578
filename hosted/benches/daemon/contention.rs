//! Contention: the cold start and the stop of 1000 `process` services while other work
//! competes for the CPU, the same for both implementations.
//!
//! Levels: 0, 1 and 2 busy loops (this benchmark re-executed as `__spin`: separate processes
//! that spin in user space, started before the daemon and killed after it has ended), and one
//! level without busy loops where the services themselves burn CPU: each runs this benchmark as
//! `__burn /bin/sleep 1000`, which spins for its first 100 ms (wall time) and then executes
//! `/bin/sleep 1000`. All started means the daemon has 1000 children whose name (/proc/PID/comm,
//! which `execve` sets) is `sleep`: running the final program, not the daemon's child before
//! its exec nor the burn phase.
//!
//! Per run: the wall time of `dinitctl start boot` until all started, the daemon's CPU time
//! over it (/proc/PID/schedstat) and its voluntary and nonvoluntary context switches
//! (/proc/PID/status: the first count is the daemon blocking, the second being preempted);
//! then `dinitctl stop boot` until every child is reaped, and the daemon's CPU over that.

use crate::instance::{write_services_with, Daemon, Impl, Layout};
use crate::stats::{cell, median_by, ms, ratio, Metrics};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Services started at each level.
const N: usize = 1000;

/// How long a burning service spins before it executes its real program.
const BURN: Duration = Duration::from_millis(100);

/// The argument that makes this benchmark spin forever (a busy loop).
pub const SPIN_ARG: &str = "__spin";
/// The argument that makes this benchmark spin for [`BURN`], then execute the rest of its
/// arguments.
pub const BURN_ARG: &str = "__burn";

/// A busy loop: spins in user space until killed.
pub fn spin() -> ! {
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// A burning service: spins for [`BURN`], then becomes `args` (program and arguments).
pub fn burn(args: &[String]) -> ! {
    use std::os::unix::process::CommandExt;
    let until = Instant::now() + BURN;
    let mut x = 0u64;
    while Instant::now() < until {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    let err = Command::new(&args[0]).args(&args[1..]).exec();
    panic!("exec {args:?}: {err}");
}

#[derive(Clone, Copy)]
enum Level {
    Busy(usize),
    Burn,
}

impl Level {
    fn label(self) -> String {
        match self {
            Level::Busy(k) => format!("busy{k}"),
            Level::Burn => format!("burn{}ms", BURN.as_millis()),
        }
    }
    fn describe(self) -> String {
        match self {
            Level::Busy(1) => "1 busy loop".into(),
            Level::Busy(k) => format!("{k} busy loops"),
            Level::Burn => format!("services burn {} ms", BURN.as_millis()),
        }
    }
}

const LEVELS: [Level; 4] = [Level::Busy(0), Level::Busy(1), Level::Busy(2), Level::Burn];

/// One run's figures: times in ms.
#[derive(Clone, Copy)]
struct Sample {
    start: f64,
    cpu: f64,
    voluntary: f64,
    nonvoluntary: f64,
    stop: f64,
    stop_cpu: f64,
}

/// A figure of a run: its metric name and how to read it.
type Figure = (&'static str, fn(&Sample) -> f64);

/// `k` busy loops: this benchmark, re-executed to spin.
fn busy_loops(k: usize, exe: &Path) -> Vec<Child> {
    (0..k)
        .map(|_| {
            Command::new(exe)
                .arg(SPIN_ARG)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect()
}

fn one(imp: &Impl, dir: &Path, busy: usize, exe: &Path) -> Sample {
    let mut loops = busy_loops(busy, exe);
    let d = Daemon::start(imp, &dir.join("sd"), &dir.join("sock"), &dir.join("log"));
    let (cpu0, (vol0, invol0)) = (d.cpu(), d.context_switches());
    let t = Instant::now();
    let (_, ok) = d.ctl(&["start", "boot"]);
    assert!(
        ok,
        "{}: start boot failed (see {})",
        imp.label,
        dir.display()
    );
    let start = ms(d.wait_children_running(N, "sleep", t));
    let (cpu1, (vol1, invol1)) = (d.cpu(), d.context_switches());
    let t = Instant::now();
    let (_, ok) = d.ctl(&["stop", "boot"]);
    assert!(ok, "{}: stop boot failed", imp.label);
    let stop = ms(d.wait_children(0, t));
    let stop_cpu = ms(d.cpu().saturating_sub(cpu1));
    drop(d);
    for l in &mut loops {
        let _ = l.kill();
        let _ = l.wait();
    }
    Sample {
        start,
        cpu: ms(cpu1.saturating_sub(cpu0)),
        voluntary: vol1.saturating_sub(vol0) as f64,
        nonvoluntary: invol1.saturating_sub(invol0) as f64,
        stop,
        stop_cpu,
    }
}

/// Runs every level `reps` times for each implementation, interleaved, and reports.
pub fn contention(impls: &[&Impl], tmp: &Path, reps: usize, m: &mut Metrics) {
    let exe = std::env::current_exe().unwrap();
    let exe_text = exe.to_str().unwrap();
    assert!(
        !exe_text.contains(char::is_whitespace),
        "the benchmark's path must have no blank: it is a service command"
    );
    let mut rows = Vec::new();
    for level in LEVELS {
        let dir = tmp.join(format!("contention-{}", level.label()));
        let text = match level {
            Level::Busy(_) => "type = process\ncommand = /bin/sleep 1000\n".to_string(),
            Level::Burn => {
                format!("type = process\ncommand = {exe_text} {BURN_ARG} /bin/sleep 1000\n")
            }
        };
        write_services_with(&dir.join("sd"), &text, N, Layout::Flat);
        let busy = match level {
            Level::Busy(k) => k,
            Level::Burn => 0,
        };
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); impls.len()];
        for _ in 0..reps {
            for (i, imp) in impls.iter().enumerate() {
                samples[i].push(one(imp, &dir, busy, &exe));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!("  done: contention, {}", level.describe());
        rows.push((level, samples));
    }
    report(&rows, reps, m);
}

fn report(rows: &[(Level, Vec<Vec<Sample>>)], reps: usize, m: &mut Metrics) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!();
    println!(
        "contention: cold start of {N} `process` services (`dinitctl start boot` until {N} \
         children run /bin/sleep), then stop (until all reaped); median of {reps} runs each, \
         a fresh daemon per run, ours and Dinit interleaved; ratio = ours / Dinit, < 1 means \
         we are faster"
    );
    println!(
        "{:<22} | {:>8} {:>8} {:>6} | {:>8} {:>8} | {:>11} {:>11} | {:>7} {:>7} {:>6} | {:>7} {:>7}",
        "level", "start ms", "Dinit", "ratio", "cpu ms", "Dinit", "ctx sw v/nv", "Dinit",
        "stop ms", "Dinit", "ratio", "stp cpu", "Dinit"
    );
    for (level, samples) in rows {
        let med = |i: usize, f: fn(&Sample) -> f64| samples.get(i).map(|s| median_by(s, f));
        let figures: [Figure; 6] = [
            ("start_ms", |s| s.start),
            ("start_daemon_cpu_ms", |s| s.cpu),
            ("start_voluntary_switches", |s| s.voluntary),
            ("start_nonvoluntary_switches", |s| s.nonvoluntary),
            ("stop_reaped_ms", |s| s.stop),
            ("stop_daemon_cpu_ms", |s| s.stop_cpu),
        ];
        let ours: Vec<f64> = figures.iter().map(|(_, f)| med(0, *f).unwrap()).collect();
        let dinit: Vec<Option<f64>> = figures.iter().map(|(_, f)| med(1, *f)).collect();
        let switches = |o: f64, i: f64| format!("{o:.0}/{i:.0}");
        let dinit_switches = match (dinit[2], dinit[3]) {
            (Some(v), Some(nv)) => switches(v, nv),
            _ => "-".into(),
        };
        println!(
            "{:<22} | {:>8.1} {} {} | {:>8.1} {} | {:>11} {:>11} | {:>7.1} {} {} | {:>7.1} {}",
            level.describe(),
            ours[0],
            cell(dinit[0], 8, 1),
            cell(ratio(ours[0], dinit[0]), 6, 2),
            ours[1],
            cell(dinit[1], 8, 1),
            switches(ours[2], ours[3]),
            dinit_switches,
            ours[4],
            cell(dinit[4], 7, 1),
            cell(ratio(ours[4], dinit[4]), 6, 2),
            ours[5],
            cell(dinit[5], 7, 1),
        );
        for (((name, _), o), d) in figures.iter().zip(&ours).zip(&dinit) {
            m.pair(&format!("contention_{}_{name}", level.label()), *o, *d);
        }
    }
    println!("(cpu: the daemon's CPU time over the start; ctx sw: its voluntary / nonvoluntary");
    println!(" context switches over the start (blocking / preempted); stp cpu: its CPU time");
    println!(
        " over the stop; busy loops: processes spinning beside the daemon, with {cores} cores)"
    );
}
