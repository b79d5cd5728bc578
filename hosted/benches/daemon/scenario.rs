//! The start/stop scenarios: N services of a kind on a fresh daemon, cold and warm, with
//! memory, for each implementation in turn.

use crate::instance::{Daemon, Impl, Kind};
use crate::stats::{cell, median_by, ms, ratio, Metrics};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One cold/warm run on a fresh daemon. All times in ms, memory in kB.
#[derive(Default, Clone)]
pub struct Run {
    pub ready: f64,
    cold_start: f64,
    cold_running: f64,
    cold_cpu: f64,
    children_cpu: f64,
    stop: f64,
    reaped: f64,
    warm_start: f64,
    warm_cpu: f64,
    warm_stop: f64,
    warm_reaped: f64,
    idle_mem: (u64, u64),
    running_mem: (u64, u64),
    loaded_mem: (u64, u64),
    /// What each loaded service adds to the daemon's private memory, in bytes: RssAnon loaded
    /// and stopped minus RssAnon idle, per service.
    anon_per_service: f64,
}

/// A figure of a run: its metric name (`{k}` is `KIND_N`) or column header, and how to read
/// it.
type Figure = (&'static str, fn(&Run) -> f64);

/// Every figure of a run, as `metric=value` names.
const FIGURES: &[Figure] = &[
    ("ready_{k}_ms", |r| r.ready),
    ("start_{k}_ms", |r| r.cold_start),
    ("start_{k}_running_ms", |r| r.cold_running),
    ("start_{k}_daemon_cpu_ms", |r| r.cold_cpu),
    ("start_{k}_children_cpu_ms", |r| r.children_cpu),
    ("stop_{k}_ms", |r| r.stop),
    ("stop_{k}_reaped_ms", |r| r.reaped),
    ("warm_start_{k}_ms", |r| r.warm_start),
    ("warm_start_{k}_daemon_cpu_ms", |r| r.warm_cpu),
    ("warm_stop_{k}_ms", |r| r.warm_stop),
    ("warm_stop_{k}_reaped_ms", |r| r.warm_reaped),
    ("vmrss_kb_{k}_idle", |r| r.idle_mem.0 as f64),
    ("rssanon_kb_{k}_idle", |r| r.idle_mem.1 as f64),
    ("vmrss_kb_{k}_running", |r| r.running_mem.0 as f64),
    ("rssanon_kb_{k}_running", |r| r.running_mem.1 as f64),
    ("vmrss_kb_{k}_loaded", |r| r.loaded_mem.0 as f64),
    ("rssanon_kb_{k}_loaded", |r| r.loaded_mem.1 as f64),
    ("rssanon_bytes_per_service_{k}", |r| r.anon_per_service),
];

/// The columns of the ratio table: a header and a figure.
const RATIO_COLUMNS: &[Figure] = &[
    ("cold", |r| r.cold_start),
    ("running", |r| r.cold_running),
    ("cpu", |r| r.cold_cpu),
    ("stop", |r| r.stop),
    ("reaped", |r| r.reaped),
    ("warm", |r| r.warm_start),
    ("warm cpu", |r| r.warm_cpu),
    ("anon run", |r| r.running_mem.1 as f64),
    ("rss run", |r| r.running_mem.0 as f64),
];

pub struct Scenario<'a> {
    pub kind: Kind,
    pub n: usize,
    pub dir: PathBuf,
    pub imp: &'a Impl,
}

impl Scenario<'_> {
    /// Runs cold and warm start/stop once. `Err` with what `dinitctl start boot` said if it
    /// failed (a layout the loader refuses).
    pub fn run(&self) -> Result<Run, String> {
        let d = Daemon::start(
            self.imp,
            &self.dir.join("sd"),
            &self.dir.join("sock"),
            &self.dir.join("log"),
        );
        let procs = if self.kind.runs_processes() {
            self.n
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(30));
        let mut r = Run {
            ready: ms(d.ready),
            idle_mem: d.memory(),
            ..Run::default()
        };

        let cpu0 = d.cpu();
        let t = Instant::now();
        let (took, ok) = d.ctl(&["start", "boot"]);
        if !ok {
            return Err(d.ctl_output(&["start", "boot"]));
        }
        r.cold_start = ms(took);
        r.cold_running = ms(d.wait_children(procs, t));
        r.cold_cpu = ms(d.cpu().saturating_sub(cpu0));
        r.children_cpu = ms(d.children_cpu());
        r.running_mem = d.memory();

        let t = Instant::now();
        let (took, ok) = d.ctl(&["stop", "boot"]);
        assert!(ok, "stop boot failed");
        r.stop = ms(took);
        r.reaped = ms(d.wait_children(0, t));
        r.loaded_mem = d.memory();

        let cpu0 = d.cpu();
        let t = Instant::now();
        let (took, ok) = d.ctl(&["start", "boot"]);
        assert!(ok, "warm start boot failed");
        r.warm_start = ms(took);
        d.wait_children(procs, t);
        r.warm_cpu = ms(d.cpu().saturating_sub(cpu0));
        let t = Instant::now();
        let (took, ok) = d.ctl(&["stop", "boot"]);
        assert!(ok, "warm stop boot failed");
        r.warm_stop = ms(took);
        r.warm_reaped = ms(d.wait_children(0, t));
        r.anon_per_service = (r.loaded_mem.1 as f64 - r.idle_mem.1 as f64) * 1024.0 / self.n as f64;
        Ok(r)
    }
}

/// The median of each field over several runs.
pub fn median_run(runs: &[Run]) -> Run {
    let med = |f: &dyn Fn(&Run) -> f64| median_by(runs, f);
    let medm = |f: &dyn Fn(&Run) -> (u64, u64)| {
        (
            med(&|r| f(r).0 as f64) as u64,
            med(&|r| f(r).1 as f64) as u64,
        )
    };
    Run {
        ready: med(&|r| r.ready),
        cold_start: med(&|r| r.cold_start),
        cold_running: med(&|r| r.cold_running),
        cold_cpu: med(&|r| r.cold_cpu),
        children_cpu: med(&|r| r.children_cpu),
        stop: med(&|r| r.stop),
        reaped: med(&|r| r.reaped),
        warm_start: med(&|r| r.warm_start),
        warm_cpu: med(&|r| r.warm_cpu),
        warm_stop: med(&|r| r.warm_stop),
        warm_reaped: med(&|r| r.warm_reaped),
        idle_mem: medm(&|r| r.idle_mem),
        running_mem: medm(&|r| r.running_mem),
        loaded_mem: medm(&|r| r.loaded_mem),
        anon_per_service: med(&|r| r.anon_per_service),
    }
}

/// The outcome of one scenario: ours, and the reference's (or why there is none).
pub struct Row {
    pub kind: Kind,
    pub n: usize,
    pub layout: &'static str,
    pub ours: Run,
    pub dinit: Result<Run, String>,
}

impl Row {
    pub fn put_metrics(&self, m: &mut Metrics) {
        let k = format!("{}_{}", self.kind.label(), self.n);
        let dinit = self.dinit.as_ref().ok();
        for (name, f) in FIGURES {
            m.pair(&name.replace("{k}", &k), f(&self.ours), dinit.map(f));
        }
        if let Err(why) = &self.dinit {
            if !why.is_empty() {
                m.put(format!("dinit_start_{k}_failed"), 1.0);
            }
        }
    }
}

/// Prints the scenarios: the ratios first, then each implementation's figures.
pub fn report(rows: &[Row], reps: &str, with_ref: bool) {
    println!();
    if with_ref {
        println!(
            "side by side: ratio ours / Dinit of each median ({reps}; same service sets, \
             runs interleaved); < 1 means we are faster/smaller"
        );
        print!("{:<13} {:>5} |", "kind", "N");
        for (h, _) in RATIO_COLUMNS {
            print!(" {h:>8}");
        }
        println!();
        for row in rows {
            print!("{:<13} {:>5} |", row.kind.label(), row.n);
            match &row.dinit {
                Ok(d) => {
                    for (_, f) in RATIO_COLUMNS {
                        print!(" {}", cell(ratio(f(&row.ours), Some(f(d))), 8, 2));
                    }
                    println!();
                }
                Err(why) => println!(" Dinit: {why}"),
            }
        }
        println!("(cold: `dinitctl start boot` on a fresh daemon, each implementation's own");
        println!(" dinitctl; running: until N children; cpu: the daemon's CPU time; stop,");
        println!(" reaped: `dinitctl stop boot`, until no child is left; warm: started again;");
        println!(" anon run / rss run: RssAnon / VmRSS with everything started)");
        println!();
    }
    println!("start/stop (ms; median of {reps})");
    println!(
        "{:<13} {:>5} {:<6} {:<5} {:>6} | {:>9} {:>9} {:>7} {:>8} {:>7} {:>7} | {:>7} {:>7} | {:>9} {:>7} {:>7} {:>7}",
        "kind", "N", "layout", "impl", "ready", "cold", "running", "cpu", "children", "µs/svc",
        "cpu/svc", "stop", "reaped", "warm", "cpu", "stop", "reaped"
    );
    for row in rows {
        for (label, r) in implementations(row) {
            let per = |v: f64| v * 1e3 / row.n as f64;
            println!(
                "{:<13} {:>5} {:<6} {label:<5} {:>6.1} | {:>9.1} {:>9.1} {:>7.1} {:>8.1} {:>7.0} {:>7.1} | {:>7.1} {:>7.1} | {:>9.1} {:>7.1} {:>7.1} {:>7.1}",
                row.kind.label(), row.n, row.layout, r.ready, r.cold_start, r.cold_running,
                r.cold_cpu, r.children_cpu, per(r.cold_start), per(r.cold_cpu), r.stop,
                r.reaped, r.warm_start, r.warm_cpu, r.warm_stop, r.warm_reaped,
            );
        }
    }
    println!("(children: the CPU time of the daemon's children, fork to exec to sleeping;");
    println!(" µs/svc: cold / N; cpu/svc: the daemon's CPU time / N, in µs)");
    println!();
    println!("memory (kB; VmRSS / RssAnon)");
    println!(
        "{:<13} {:>5} {:<5} | {:>15} | {:>15} | {:>15} | {:>7}",
        "kind", "N", "impl", "idle", "running", "loaded, stopped", "B/svc"
    );
    for row in rows {
        for (label, r) in implementations(row) {
            println!(
                "{:<13} {:>5} {label:<5} | {:>7} {:>7} | {:>7} {:>7} | {:>7} {:>7} | {:>7.0}",
                row.kind.label(),
                row.n,
                r.idle_mem.0,
                r.idle_mem.1,
                r.running_mem.0,
                r.running_mem.1,
                r.loaded_mem.0,
                r.loaded_mem.1,
                r.anon_per_service,
            );
        }
    }
    println!("(B/svc: RssAnon loaded and stopped minus RssAnon idle, per service, in bytes)");
}

/// The runs of a row to print: ours, then Dinit's when there is one.
fn implementations(row: &Row) -> impl Iterator<Item = (&'static str, &Run)> {
    std::iter::once(("ours", &row.ours)).chain(row.dinit.as_ref().ok().map(|d| ("Dinit", d)))
}
