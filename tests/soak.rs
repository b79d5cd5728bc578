//! Soak: the real daemon under a mixed workload for a given time (`just soak DURATION`), its
//! memory, descriptors and control latency printed every interval; memory and descriptors are
//! checked to stay flat at the end (the last quarter of the run against the first, after a
//! warm-up of a tenth of the duration, between 30 s and 2 min). The latency trend is printed
//! with the verdict, never asserted: a time figure depends on the machine's load.
//!
//! The workload, all at once:
//! - a driver that starts, stops and restarts services (singly and through a dependency
//!   group), reloads and unloads a service whose description changes, sets and unsets daemon
//!   environment variables, reads and clears a log buffer, restarts a service that crashes at
//!   once until it hits its restart limit, and lists and queries;
//! - services that crash in a loop for ever (restarted without limit) and ones that write to a
//!   log buffer and a log file all the time;
//! - raw control clients that connect and go away, send garbage or truncated packets, or ask
//!   for long replies they never read;
//! - a prober on one persistent connection timing `QUERYVERSION` round trips (the control
//!   latency figure), next to the time `dinitctl list` takes (a whole client process).
//!
//! Ignored by default; part of the `faults` test binary (it shares the harness). Run with
//! `SOAK_DURATION=30m cargo test -p dinit-hosted --release --test faults -- --ignored \
//! --exact soak::soak --nocapture` (what `just soak 30m` does). `SOAK_INTERVAL` sets the
//! reporting interval (default: a twentieth of the duration, between 5 s and 60 s).

use crate::harness::{self, status_kb, Instance, Latencies, Rng};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `90`, `90s`, `15m`, `2h`.
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => s.split_at(at),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

fn env_duration(name: &str) -> Option<Duration> {
    std::env::var(name).ok().map(|v| {
        parse_duration(&v).unwrap_or_else(|| panic!("{name}={v:?}: expected e.g. 90s, 30m, 1h"))
    })
}

const SERVICES: &[(&str, &str)] = &[
    ("boot", "type = internal\nwaits-for = keep\nwaits-for = loop0\nwaits-for = loop1\nwaits-for = chatty\n"),
    ("keep", "type = process\ncommand = /bin/sleep 3000\nrestart = yes\n"),
    // Crash every 0.4 s, restarted without limit, for the whole run.
    ("loop0", "type = process\ncommand = /bin/sh -c \"sleep 0.4; exit 1\"\nrestart = yes\nrestart-delay = 0.05\nrestart-limit-count = 0\n"),
    ("loop1", "type = process\ncommand = /bin/sh -c \"sleep 0.7; kill -SEGV $$$$\"\nrestart = yes\nrestart-delay = 0.05\nrestart-limit-count = 0\n"),
    // Output all the time, to a log file (truncated by the driver now and then).
    ("chatty", "type = process\ncommand = /bin/sh -c \"while :; do echo chatty line; sleep 0.05; done\"\nlog-type = file\nlogfile = {dir}/chatty.out\nrestart = yes\n"),
    // The driver's services.
    ("cyc0", "type = process\ncommand = /bin/sleep 3001\n"),
    ("cyc1", "type = process\ncommand = /bin/sleep 3001\nstop-timeout = 1\n"),
    ("cyc2", "type = process\nready-notification = pipevar:READY_FD\ncommand = /bin/sh -c \"echo >&$$READY_FD; exec sleep 3001\"\n"),
    ("dep0", "type = process\ncommand = /bin/sleep 3002\n"),
    ("dep1", "type = scripted\ncommand = /bin/true\nstop-command = /bin/true\n"),
    ("group", "type = internal\ndepends-on = dep0\ndepends-on = dep1\nwaits-for = cyc0\n"),
    ("buf", "type = process\ncommand = /bin/sh -c \"while :; do echo buffered output; sleep 0.02; done\"\nlog-type = buffer\nlog-buffer-size = 4096\n"),
    ("fast", "type = process\ncommand = /bin/sh -c \"exit 2\"\nrestart = yes\nrestart-delay = 0.01\n"),
    ("bad", "type = process\ncommand = /nonexistent/program\n"),
    ("rl", "type = process\ncommand = /bin/sleep 3003\n"),
];

/// What the prober and the driver measured in one interval.
#[derive(Default)]
struct Window {
    raw: Latencies,
    list: Latencies,
    ops: u64,
    failures: Vec<String>,
}

/// One sample printed per interval.
struct Sample {
    at: Duration,
    rss: u64,
    anon: u64,
    fds: usize,
    raw_p50: Duration,
    raw_p99: Duration,
    list_p50: Duration,
}

/// One connection timing `QUERYVERSION` round trips.
fn prober(sock: std::path::PathBuf, stop: Arc<AtomicBool>, window: Arc<Mutex<Window>>) {
    let connect = || {
        let s = UnixStream::connect(&sock).ok()?;
        // A hang detector: an answer slower than this is a failure.
        s.set_read_timeout(Some(harness::HANG)).ok()?;
        Some(s)
    };
    let mut conn = connect();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        let Some(s) = conn.as_mut() else {
            conn = connect();
            continue;
        };
        let t = Instant::now();
        let mut reply = [0u8; 5];
        let ok = s.write_all(&[0]).is_ok() && s.read_exact(&mut reply).is_ok();
        let took = t.elapsed();
        let mut w = window.lock().unwrap();
        if ok && reply[0] == 58 {
            w.raw.add(took);
        } else {
            w.failures
                .push(format!("QUERYVERSION round trip failed: {reply:?}"));
            conn = None;
        }
    }
}

/// Misbehaving clients, a few each second.
fn abuser(sock: std::path::PathBuf, stop: Arc<AtomicBool>, count: Arc<AtomicU64>) {
    let mut rng = Rng(0x50a_c0ff_ee15_600d);
    let mut deaf: Vec<UnixStream> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100 + rng.below(100)));
        let Ok(mut s) = UnixStream::connect(&sock) else {
            continue;
        };
        let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        match rng.below(5) {
            0 => {
                let bytes: Vec<u8> = (0..1 + rng.below(2000)).map(|_| rng.next() as u8).collect();
                let _ = s.write_all(&bytes);
            }
            // LOADSERVICE cut short.
            1 => {
                let _ = s.write_all(b"\x02\x04\x00ke");
            }
            // A length past the receive buffer.
            2 => {
                let _ = s.write_all(b"\x02\xff\xff");
                let _ = s.write_all(&[b'x'; 1500]);
            }
            // Long replies (LISTSERVICES5) never read, kept a while.
            3 => {
                let _ = s.write_all(&[25; 16]);
                deaf.push(s);
                if deaf.len() > 8 {
                    deaf.remove(0);
                }
                count.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            // Connect, ask the version, go.
            _ => {
                let mut r = [0u8; 5];
                let _ = s.write_all(&[0]);
                let _ = s.read_exact(&mut r);
            }
        }
        let mut sink = [0u8; 512];
        let _ = s.read(&mut sink);
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// One round of the driver's operations.
fn drive(i: &Instance, round: u64, rng: &mut Rng, window: &Mutex<Window>) {
    let run = |args: &[&str], must: bool| {
        let (out, code, took) = i.timed_ctl(args);
        let mut w = window.lock().unwrap();
        w.ops += 1;
        if args == ["list"] {
            w.list.add(took);
        }
        if must && code != 0 {
            w.failures.push(format!("dinitctl {args:?}: {out}"));
        }
    };
    let cyc = format!("cyc{}", rng.below(3));
    run(&["start", &cyc], true);
    run(&["restart", &cyc], true);
    run(&["list"], true);
    run(&["stop", &cyc], true);
    run(&["start", "group"], true);
    run(&["status", "dep0"], true);
    run(&["stop", "group"], true);
    run(
        &["setenv", &format!("SOAK_VAR{}=value-{round}", round % 4)],
        true,
    );
    run(&["unsetenv", &format!("SOAK_VAR{}", (round + 2) % 4)], true);
    run(&["list"], true);
    match round % 6 {
        0 => {
            run(&["start", "buf"], true);
            run(&["catlog", "buf"], true);
            run(&["catlog", "--clear", "buf"], true);
            run(&["stop", "buf"], true);
        }
        1 => {
            // Crashes at once until its restart limit: the start fails.
            run(&["start", "fast"], false);
            run(&["start", "bad"], false);
        }
        2 => {
            // A changed description, reloaded while stopped, then run.
            run(&["start", "rl"], true);
            run(&["stop", "rl"], true);
            let secs = 3003 + round % 2;
            i.write_service(
                "rl",
                &format!("type = process\ncommand = /bin/sleep {secs}\n"),
            );
            run(&["reload", "rl"], true);
            run(&["start", "rl"], true);
            run(&["stop", "rl"], true);
        }
        3 => {
            run(&["start", "rl"], true);
            run(&["stop", "rl"], true);
            run(&["unload", "rl"], true);
        }
        4 => {
            run(&["signal", "HUP", "keep"], false);
            run(&["is-started", "keep"], false);
            let _ = std::fs::write(i.path("chatty.out"), "");
        }
        _ => {
            run(&["restart", "keep"], true);
            run(&["status", "loop0"], true);
        }
    }
}

fn fmt_kib(b: u64) -> String {
    format!("{} KiB", b / 1024)
}

fn mean(v: &[u64]) -> u64 {
    v.iter().sum::<u64>() / (v.len().max(1) as u64)
}

#[test]
#[ignore = "long: `just soak DURATION`"]
fn soak() {
    let duration = env_duration("SOAK_DURATION").unwrap_or(Duration::from_secs(60));
    let interval = env_duration("SOAK_INTERVAL")
        .unwrap_or((duration / 20).clamp(Duration::from_secs(5), Duration::from_secs(60)));
    let i = Instance::start("soak", SERVICES);
    eprintln!(
        "soak: {duration:?}, a sample every {interval:?}; daemon pid {}, build {}",
        i.pid,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let stop = Arc::new(AtomicBool::new(false));
    let window = Arc::new(Mutex::new(Window::default()));
    let abuses = Arc::new(AtomicU64::new(0));
    let probe = {
        let (sock, stop, window) = (i.sock.clone(), stop.clone(), window.clone());
        std::thread::spawn(move || prober(sock, stop, window))
    };
    let abuse = {
        let (sock, stop, count) = (i.sock.clone(), stop.clone(), abuses.clone());
        std::thread::spawn(move || abuser(sock, stop, count))
    };

    // Warm-up, not measured: every service loaded and launched, the misbehaving clients at
    // their usual number, the allocator's heap at the size the connections' buffers need
    // (freed buffers stay resident, up to what the most simultaneous connections took).
    let warm_up = (duration / 10).clamp(Duration::from_secs(30), Duration::from_secs(120));
    eprintln!("warming up for {warm_up:?}");
    let mut rng = Rng(0x0dd_ba11_5eed);
    let mut round = 0u64;
    let t = Instant::now();
    while round < 12 || t.elapsed() < warm_up {
        drive(&i, round, &mut rng, &window);
        round += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    *window.lock().unwrap() = Window::default();
    eprintln!(
        "{:>8} {:>10} {:>10} {:>4} {:>10} {:>10} {:>10} {:>10} {:>7} {:>6} {:>6}",
        "time",
        "VmRSS",
        "RssAnon",
        "fds",
        "ctl p50",
        "ctl p99",
        "ctl max",
        "list p50",
        "ops",
        "abuse",
        "cpu%"
    );
    let start = Instant::now();
    let mut next = interval;
    let mut samples: Vec<Sample> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut cpu = i.cpu_time();
    let mut total_ops = 0u64;
    while start.elapsed() < duration {
        drive(&i, round, &mut rng, &window);
        round += 1;
        std::thread::sleep(Duration::from_millis(20));
        if start.elapsed() < next {
            continue;
        }
        let w = std::mem::take(&mut *window.lock().unwrap());
        let now_cpu = i.cpu_time();
        let s = Sample {
            at: start.elapsed(),
            rss: status_kb(i.pid, "VmRSS"),
            anon: status_kb(i.pid, "RssAnon"),
            fds: i.fd_count(),
            raw_p50: w.raw.percentile(0.5),
            raw_p99: w.raw.percentile(0.99),
            list_p50: w.list.percentile(0.5),
        };
        let cpu_pct = (now_cpu - cpu).as_secs_f64() * 100.0 / interval.as_secs_f64();
        cpu = now_cpu;
        total_ops += w.ops;
        eprintln!(
            "{:>7}s {:>10} {:>10} {:>4} {:>10.2?} {:>10.2?} {:>10.2?} {:>10.2?} {:>7} {:>6} {:>5.1}",
            s.at.as_secs(),
            fmt_kib(s.rss),
            fmt_kib(s.anon),
            s.fds,
            s.raw_p50,
            s.raw_p99,
            w.raw.max(),
            s.list_p50,
            w.ops,
            abuses.swap(0, Ordering::Relaxed),
            cpu_pct
        );
        failures.extend(w.failures);
        samples.push(s);
        next += interval;
    }
    stop.store(true, Ordering::Relaxed);
    probe.join().unwrap();
    abuse.join().unwrap();

    let mut i = i;
    assert!(
        i.daemon_alive(),
        "the daemon died; log:\n{}",
        harness::tail(&i.log(), 4000)
    );
    assert!(
        failures.is_empty(),
        "{} failed operations, the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        samples.len() >= 4,
        "too short a run for a comparison: {}",
        samples.len()
    );
    let q = samples.len() / 4;
    let (first, last) = (&samples[..q], &samples[samples.len() - q..]);
    let stat = |part: &[Sample], f: fn(&Sample) -> u64| {
        let v: Vec<u64> = part.iter().map(f).collect();
        (mean(&v), v.iter().copied().max().unwrap_or(0))
    };
    let (rss0, rss0max) = stat(first, |s| s.rss);
    let (rss1, rss1max) = stat(last, |s| s.rss);
    let (anon0, anon0max) = stat(first, |s| s.anon);
    let (anon1, anon1max) = stat(last, |s| s.anon);
    let (fd0, fd0max) = stat(first, |s| s.fds as u64);
    let (fd1, fd1max) = stat(last, |s| s.fds as u64);
    let (lat0, _) = stat(first, |s| s.raw_p50.as_micros() as u64);
    let (lat1, _) = stat(last, |s| s.raw_p50.as_micros() as u64);
    let (p99_0, _) = stat(first, |s| s.raw_p99.as_micros() as u64);
    let (p99_1, _) = stat(last, |s| s.raw_p99.as_micros() as u64);
    let (list0, _) = stat(first, |s| s.list_p50.as_micros() as u64);
    let (list1, _) = stat(last, |s| s.list_p50.as_micros() as u64);
    eprintln!(
        "first quarter vs last quarter ({q} samples each; {round} driver rounds, {total_ops} dinitctl calls):\n\
         \x20 VmRSS     mean {} -> {}, max {} -> {}\n\
         \x20 RssAnon   mean {} -> {}, max {} -> {}\n\
         \x20 fds       mean {fd0} -> {fd1}, max {fd0max} -> {fd1max}\n\
         \x20 ctl p50   mean {lat0} us -> {lat1} us; p99 mean {p99_0} us -> {p99_1} us\n\
         \x20 list p50  mean {list0} us -> {list1} us",
        fmt_kib(rss0),
        fmt_kib(rss1),
        fmt_kib(rss0max),
        fmt_kib(rss1max),
        fmt_kib(anon0),
        fmt_kib(anon1),
        fmt_kib(anon0max),
        fmt_kib(anon1max),
    );
    // Flat: no growth of anonymous memory beyond page-granular noise, no descriptor growth.
    // (The latency trend is for reading: a shared machine's load changes it.)
    let anon_flat = anon1max <= anon0max + (128 << 10);
    let rss_flat = rss1max <= rss0max + (512 << 10);
    // (Descriptors include the connections of the misbehaving clients, up to nine at a time.)
    let fds_flat = fd1 <= fd0 + 1 && fd1max <= fd0max + 3;
    let lat_flat = lat1 <= 2 * lat0 + 1000;
    eprintln!(
        "verdict: RssAnon {}, VmRSS {}, fds {}, control latency {}",
        if anon_flat { "flat" } else { "GREW" },
        if rss_flat { "flat" } else { "GREW" },
        if fds_flat { "flat" } else { "GREW" },
        if lat_flat { "flat" } else { "GREW" },
    );
    assert!(anon_flat && rss_flat && fds_flat, "not flat");
}
