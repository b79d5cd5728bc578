//! Whole-daemon benchmark: our release `dinit` and `dinitctl` on generated service
//! directories, measured from outside as a user would see them (issue 9), side by side with
//! the reference Dinit built from ../shared/peers (issue 16).
//!
//! Both implementations are measured in one run, on the same generated service sets,
//! interleaved: for each scenario and size, ours, then Dinit, then ours again, ..., each on a
//! fresh daemon, and the median of each figure is reported for both with the ratio ours /
//! Dinit (< 1 means we are faster or smaller). Each daemon is `dinit -u -q -d DIR -p SOCK
//! --ready-fd FD idle` (`idle` is an internal service that keeps the user instance up; Dinit
//! takes the same options) with the same fixed environment, driven by its own `dinitctl` for
//! whole-client timings; raw protocol round trips use our client library
//! (`dinit_hosted::ctl::Connection`) against both, with requests Dinit answers too
//! (`QUERYVERSION`, `FINDSERVICE`, `LOADSERVICE`, `SERVICESTATUS6`, `LISTSERVICES5`).
//!
//! Scenarios (N `process` services running `/bin/sleep 1000`, N `internal` services, and
//! dependency chains), each measured for:
//!
//! - ready time: spawn to the socket path arriving on the ready descriptor;
//! - cold start: wall time of `dinitctl start boot` (the daemon loads N+1 files), and until
//!   every process runs (children of the daemon, from /proc); the daemon's CPU time;
//! - stop: `dinitctl stop boot`, and until every child has been reaped (polling /proc);
//! - warm start and stop (descriptions already loaded);
//! - memory: VmRSS and RssAnon (/proc/PID/status) idle, running and loaded-but-stopped;
//!
//! Control round trips (module `roundtrip`): p50/p99 with N process services running, both
//! daemons side by side, samples taken in rounds alternating between them.
//!
//! Then, for both implementations (module `contention`): start and stop of 1000 `process`
//! services with 0, 1 and 2 busy loops beside the daemon, and with services that burn CPU for
//! their first 100 ms; and (module `footprint`) the private memory of the build the packages
//! ship against Dinit's with 1, 100 and 1000 `process` services. For ours alone, or the
//! machine (module `cycles`): start/stop cycles of one service with RssAnon along the way
//! (flat memory), and the floor of starting and stopping processes with no service manager.
//!
//! Dinit refuses dependency chains deeper than it supports (the chain scenarios); the report
//! says so and shows ours alone there. Should our loader refuse a flat `boot` (builds before
//! 2fb164e held at most 256 dependencies per description), the benchmark falls back to a
//! two-level tree (`boot` -> groups of 200 -> services) for both and says so in the `layout`
//! column.
//!
//! Sizes: N = 1, 10, 100, 1000, 2000, 5000 and 10 000 `process` and `internal` services,
//! chains 1000 and 10 000 deep, and a chain of 1000 processes; three fresh daemons per size
//! and implementation. Round trips with 10 and 5000 running
//! services. Contention: five runs per level and implementation; footprint: three per size and
//! implementation. Quick mode: one daemon per size and implementation, up to 1000 processes and
//! 5000 internal services, round trips with 10 and 1000, three runs per contention level and
//! per footprint size, a few seconds of cycles.
//!
//! Usage: `just bench` / `just bench quick` (they build the reference and the packages'
//! binaries first), or `cargo bench -p dinit-hosted --bench daemon [-- quick]`. Environment:
//! - `DINIT_BENCH_REF_DIR=DIR`: the reference Dinit's `dinit` and `dinitctl` (the folder
//!   `../shared/peers/build-dinit.sh target/peers` prints); without it ours alone is measured,
//!   as the report says;
//! - `DINIT_BENCH_PACKAGED_DIR=DIR`: the `dinit` and `dinitctl` the packages ship, for the
//!   footprint (default: ours);
//! - `DINIT_BENCH_BIN_DIR=DIR`: measure the `dinit` and `dinitctl` in DIR as ours (default: the
//!   ones cargo built for this benchmark, i.e. `target/release`), e.g. to compare two builds;
//! - `DINIT_BENCH_ONLY=process:1000,internal,roundtrip,contention,footprint,cycles,floor`:
//!   run only those parts.
//!
//! Prints tables and `metric=value` lines (`NAME` ours, `dinit_NAME`, `ratio_NAME`); asserts
//! nothing about time. The method, for readers of the figures: docs/BENCH-METHOD.md.

// Benchmark code: a failed step should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The parts, in hosted/benches/daemon/ (this file is the crate root).
#[path = "daemon/contention.rs"]
mod contention;
#[path = "daemon/cycles.rs"]
mod cycles;
#[path = "daemon/footprint.rs"]
mod footprint;
#[path = "daemon/instance.rs"]
mod instance;
#[path = "daemon/roundtrip.rs"]
mod roundtrip;
#[path = "daemon/scenario.rs"]
mod scenario;
#[path = "daemon/stats.rs"]
mod stats;

use instance::{write_services, Impl, Kind, Layout, GROUP};
use scenario::{median_run, Row, Run, Scenario};
use stats::{median_of, Metrics};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Scenario sizes per kind.
type Plan = [(Kind, &'static [usize])];

const QUICK: &Plan = &[
    (Kind::Process, &[1, 10, 100, 1000]),
    (Kind::Internal, &[1, 10, 100, 1000, 5000]),
    (Kind::Chain, &[1000, 10000]),
];
const FULL: &Plan = &[
    (Kind::Process, &[1, 10, 100, 1000, 2000, 5000, 10000]),
    (Kind::Internal, &[1, 10, 100, 1000, 2000, 5000, 10000]),
    (Kind::Chain, &[1000, 10000]),
    (Kind::ChainProcess, &[1000]),
];

struct Config {
    quick: bool,
    ours: Impl,
    reference: Option<Impl>,
    tmp: PathBuf,
    /// DINIT_BENCH_ONLY: (part, size) pairs; empty runs everything.
    only: Vec<(String, Option<usize>)>,
}

impl Config {
    fn from_env() -> Config {
        let quick = std::env::args().any(|a| a == "quick")
            || std::env::var("DINIT_BENCH_MODE").is_ok_and(|m| m == "quick");
        let bin = std::env::var_os("DINIT_BENCH_BIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_BIN_EXE_dinit"))
                    .parent()
                    .unwrap()
                    .to_path_buf()
            });
        let reference = std::env::var_os("DINIT_BENCH_REF_DIR").map(|d| Impl {
            label: "Dinit",
            bin: PathBuf::from(d),
        });
        let tmp = std::env::temp_dir().join(format!("dinit-bench-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        // DINIT_BENCH_ONLY=process:1000,internal,cycles runs only those parts (a kind alone:
        // all its sizes).
        let only = std::env::var("DINIT_BENCH_ONLY")
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| match s.split_once(':') {
                Some((k, n)) => (k.to_string(), n.parse().ok()),
                None => (s.to_string(), None),
            })
            .collect();
        Config {
            quick,
            ours: Impl { label: "ours", bin },
            reference,
            tmp,
            only,
        }
    }

    /// Ours, then the reference if there is one: the order of every interleaved round.
    fn impls(&self) -> Vec<&Impl> {
        std::iter::once(&self.ours)
            .chain(self.reference.as_ref())
            .collect()
    }

    fn runs(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|(k, _)| k == part)
    }

    fn plan(&self) -> Vec<(Kind, usize)> {
        let sizes = if self.quick { QUICK } else { FULL };
        let mut plan: Vec<(Kind, usize)> = sizes
            .iter()
            .flat_map(|&(k, ns)| ns.iter().map(move |&n| (k, n)))
            .collect();
        if !self.only.is_empty() {
            plan.retain(|(k, n)| {
                self.only
                    .iter()
                    .any(|(ok, on)| ok == k.label() && on.is_none_or(|on| on == *n))
            });
        }
        plan
    }
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews wall times.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| {
            s.split_ascii_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn print_header(cfg: &Config) {
    println!(
        "daemon benchmark ({} mode)",
        if cfg.quick { "quick" } else { "full" }
    );
    println!("  load average at start: {}", load_average());
    for imp in cfg.impls() {
        println!(
            "  {}: {} ({})",
            imp.label,
            imp.dinit().display(),
            imp.version()
        );
        for b in [imp.dinit(), imp.dinitctl()] {
            let len = std::fs::metadata(&b).map(|m| m.len()).unwrap_or(0);
            println!("    {}: {len} bytes", b.display());
        }
    }
    if cfg.reference.is_none() {
        println!(
            "  no reference: DINIT_BENCH_REF_DIR is not set, so ours is measured alone \
             (`just bench` builds Dinit and sets it)"
        );
    }
}

/// Repetitions of a scenario for each implementation: three fresh daemons in full mode (the
/// median is reported), one in quick mode.
fn reps_for(cfg: &Config) -> usize {
    if cfg.quick {
        1
    } else {
        3
    }
}

/// The last lines of a daemon's log, for a note.
fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(3).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
}

/// Every run of one scenario, both implementations interleaved. `None` if ours failed.
fn scenario_rows(cfg: &Config, kind: Kind, n: usize, layout: &mut Layout) -> Option<Row> {
    let dir = cfg.tmp.join(format!("{}-{n}", kind.label()));
    let reps = reps_for(cfg);
    let mut ours: Vec<Run> = Vec::new();
    let mut theirs: Result<Vec<Run>, String> = match &cfg.reference {
        Some(_) => Ok(Vec::new()),
        None => Err(String::new()),
    };
    write_services(&dir.join("sd"), kind, n, *layout);
    while ours.len() < reps {
        let sc = |imp| Scenario {
            kind,
            n,
            dir: dir.clone(),
            imp,
        };
        match sc(&cfg.ours).run() {
            Ok(r) => ours.push(r),
            Err(_) if *layout == Layout::Flat => {
                println!(
                    "  note: `dinitctl start boot` refused a flat boot with {n} dependencies; \
                     using groups of {GROUP} (for both)"
                );
                *layout = Layout::Grouped;
                write_services(&dir.join("sd"), kind, n, *layout);
                continue;
            }
            Err(said) => {
                // Report and go on: a benchmark shows what fails, it does not stop there.
                println!(
                    "  note: `dinitctl start boot` failed for {} {n} ({}): {said}; daemon log: {}",
                    kind.label(),
                    layout.label(),
                    log_tail(&dir)
                );
                let _ = std::fs::remove_dir_all(&dir);
                return None;
            }
        }
        if let (Ok(runs), Some(reference)) = (&mut theirs, &cfg.reference) {
            match sc(reference).run() {
                Ok(r) => runs.push(r),
                Err(said) => {
                    let why = format!("refused: {said}");
                    println!(
                        "  note: Dinit's `dinitctl start boot` failed for {} {n}: {why}",
                        kind.label()
                    );
                    theirs = Err(why);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some(Row {
        kind,
        n,
        layout: layout.label(),
        ours: median_run(&ours),
        dinit: theirs.map(|runs| median_run(&runs)),
    })
}

fn main() {
    // Re-executed as a busy loop or a burning service by the contention scenarios.
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(contention::SPIN_ARG) => contention::spin(),
        Some(contention::BURN_ARG) => contention::burn(&args[2..]),
        _ => {}
    }
    let cfg = Config::from_env();
    let started = Instant::now();
    print_header(&cfg);

    let rt_sizes: &[usize] = if cfg.quick { &[10, 1000] } else { &[10, 5000] };
    let mut m = Metrics::default();
    let mut rows = Vec::new();
    let mut ready_all = Vec::new();
    // Once ours refused a flat `boot` of some size, larger ones start grouped.
    let mut flat_refused_at: Option<usize> = None;
    for (kind, n) in cfg.plan() {
        let mut layout = match kind {
            Kind::Chain | Kind::ChainProcess => Layout::Chain,
            _ if flat_refused_at.is_some_and(|r| n >= r) => Layout::Grouped,
            _ => Layout::Flat,
        };
        let row = scenario_rows(&cfg, kind, n, &mut layout);
        if layout == Layout::Grouped {
            flat_refused_at = Some(flat_refused_at.map_or(n, |r| r.min(n)));
        }
        match row {
            Some(row) => {
                ready_all.push(row.ours.ready);
                row.put_metrics(&mut m);
                rows.push(row);
            }
            None => m.put(format!("start_{}_{n}_failed", kind.label()), 1.0),
        }
        eprintln!(
            "  done: {} {n} ({:.0} s so far)",
            kind.label(),
            started.elapsed().as_secs_f64()
        );
    }
    m.put("ready_ms", median_of(&mut ready_all));
    let reps = if cfg.quick {
        "1 fresh daemon each"
    } else {
        "3 fresh daemons each"
    };
    if !rows.is_empty() {
        scenario::report(&rows, reps, cfg.reference.is_some());
    }
    if cfg.runs("roundtrip") {
        let round_trip_rows: Vec<_> = rt_sizes
            .iter()
            .map(|&n| roundtrip::round_trips(&cfg.impls(), &cfg.tmp, cfg.quick, n))
            .collect();
        eprintln!("  done: round trips");
        roundtrip::report_round_trips(&round_trip_rows, &mut m);
    }
    run_other_parts(&cfg, &mut m);

    let _ = std::fs::remove_dir_all(&cfg.tmp);
    println!("load average at the end: {}", load_average());
    m.put("bench_daemon_total_s", started.elapsed().as_secs_f64());
    println!();
    m.print();
}

/// Contention and footprint (both implementations), cycles (ours) and the floor (the machine).
fn run_other_parts(cfg: &Config, m: &mut Metrics) {
    if cfg.runs("contention") {
        contention::contention(&cfg.impls(), &cfg.tmp, if cfg.quick { 3 } else { 5 }, m);
    }
    if cfg.runs("footprint") {
        let (packaged, what) = match std::env::var_os("DINIT_BENCH_PACKAGED_DIR") {
            Some(dir) => {
                let packaged = Impl {
                    label: "packaged",
                    bin: PathBuf::from(dir),
                };
                let same = std::fs::read(packaged.dinit()).ok() == std::fs::read(cfg.ours.dinit()).ok();
                let what = if same {
                    "the packages' build, `packaging/build.sh bin`; the same file as ours above"
                } else {
                    "the packages' build, static, `packaging/build.sh bin`; not the same file as \
                     ours above, which cargo bench builds (dynamic, with the dev-dependencies' \
                     features unified in)"
                };
                (packaged, what)
            }
            None => (
                Impl {
                    label: "ours",
                    bin: cfg.ours.bin.clone(),
                },
                "ours as above: DINIT_BENCH_PACKAGED_DIR is not set, so not checked to be the packages' build",
            ),
        };
        footprint::footprint(&packaged, what, cfg.reference.as_ref(), &cfg.tmp, 3, m);
    }
    println!();
    // Full mode: about two minutes of cycles in all (the issue asks for flat memory over
    // 100 000 cycles; internal services get there in seconds, process services as far as 90 s
    // of fork, exec and kill allow).
    let (int_budget, int_max, proc_budget, proc_max) = if cfg.quick {
        (
            Duration::from_secs(2),
            20_000,
            Duration::from_secs(3),
            1_000,
        )
    } else {
        (
            Duration::from_secs(30),
            2_000_000,
            Duration::from_secs(90),
            100_000,
        )
    };
    if cfg.runs("cycles") {
        cycles::cycles(&cfg.ours, &cfg.tmp, Kind::Internal, int_budget, int_max, m);
        cycles::cycles(&cfg.ours, &cfg.tmp, Kind::Process, proc_budget, proc_max, m);
    }
    if cfg.runs("floor") {
        cycles::floor(&[100, 1000], m);
    }
}
