//! Private memory (RssAnon) of the build the packages ship against Dinit's, with 1, 100 and
//! 1000 `process` services: the daemon alone (only `idle` loaded), idle after loading them
//! (`LOADSERVICE boot` on a raw connection, closed again: everything loaded, nothing started)
//! and with them all running (`dinitctl start boot`, until N children).
//!
//! The .deb and .rpm carry the binaries of `packaging/build.sh bin`: the release profile,
//! statically linked and not position-independent (packaging/README.md, "Static binaries").
//! `cargo bench` builds its own copy (dynamic, with the dev-dependencies' features unified in),
//! a different binary, so `just bench` passes the packages' folder
//! (`DINIT_BENCH_PACKAGED_DIR`); without that the benchmark's own binaries are measured and
//! the report says so.

use crate::instance::{write_services, Daemon, Impl, Kind, Layout};
use crate::stats::{cell, median_by, ratio, Metrics};
use dinit_hosted::ctl::LoadReply;
use std::path::Path;
use std::time::{Duration, Instant};

const SIZES: [usize; 3] = [1, 100, 1000];

/// RssAnon in kB: daemon alone, all loaded and idle, all running.
#[derive(Clone, Copy)]
struct Sample([f64; 3]);

const STATES: [&str; 3] = ["idle", "loaded", "running"];

fn sample(imp: &Impl, dir: &Path, n: usize) -> Sample {
    let d = Daemon::start(imp, &dir.join("sd"), &dir.join("sock"), &dir.join("log"));
    std::thread::sleep(Duration::from_millis(30));
    let idle = d.status_field("RssAnon");
    let mut conn = d.connect();
    match conn.load_service(b"boot", false).unwrap() {
        LoadReply::Record { .. } => {}
        other => panic!("{}: load boot: {other:?}", imp.label),
    }
    drop(conn);
    let loaded = d.status_field("RssAnon");
    let t = Instant::now();
    let (_, ok) = d.ctl(&["start", "boot"]);
    assert!(ok, "{}: start boot failed", imp.label);
    d.wait_children(n, t);
    let running = d.status_field("RssAnon");
    Sample([idle as f64, loaded as f64, running as f64])
}

/// Measures `packaged` (described by `what`) and the reference, interleaved, `reps` times per
/// size, and reports the medians.
pub fn footprint(
    packaged: &Impl,
    what: &str,
    dinit: Option<&Impl>,
    tmp: &Path,
    reps: usize,
    m: &mut Metrics,
) {
    let impls: Vec<&Impl> = std::iter::once(packaged).chain(dinit).collect();
    println!();
    println!("private memory (RssAnon, kB; median of {reps}; ratio = ours / Dinit, < 1 means we are smaller)");
    println!("  ours: {} ({what})", packaged.dinit().display());
    if let Some(d) = dinit {
        println!("  Dinit: {}", d.dinit().display());
    }
    println!(
        "{:>5} | {:>6} {:>6} {:>5} | {:>6} {:>6} {:>5} | {:>6} {:>6} {:>5}",
        "N", "idle", "Dinit", "ratio", "loaded", "Dinit", "ratio", "run", "Dinit", "ratio"
    );
    for n in SIZES {
        let dir = tmp.join(format!("footprint-{n}"));
        write_services(&dir.join("sd"), Kind::Process, n, Layout::Flat);
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); impls.len()];
        for _ in 0..reps {
            for (i, imp) in impls.iter().enumerate() {
                samples[i].push(sample(imp, &dir, n));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        print!("{n:>5}");
        for (s, state) in STATES.iter().enumerate() {
            let ours = median_by(&samples[0], |x| x.0[s]);
            let theirs = samples.get(1).map(|d| median_by(d, |x| x.0[s]));
            print!(
                " | {ours:>6.0} {} {}",
                cell(theirs, 6, 0),
                cell(ratio(ours, theirs), 5, 2)
            );
            m.pair(&format!("packaged_rssanon_{n}_{state}_kb"), ours, theirs);
        }
        println!();
    }
    println!("(idle: the daemon with only `idle` loaded; loaded: after `LOADSERVICE boot`, the N");
    println!(" services loaded, none started; run: all N running)");
}
