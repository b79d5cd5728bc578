//! Control round trips with N `process` services running, both implementations side by side:
//! the implementation's own `dinitctl status/list` as whole processes, and raw requests on an
//! open connection (our client library; `FINDSERVICE`, `SERVICESTATUS6` (or older, as
//! negotiated) and `LISTSERVICES5`, which Dinit answers too).
//!
//! Both daemons run at the same time, on the same service set, and the samples of each request
//! are taken in rounds that alternate between them (ours then Dinit, Dinit then ours, ...), a
//! slice of the samples each time: a burst of other work on the machine (the load on a shared
//! machine moves within seconds) then lands on both sides, not on one side's whole block.

use crate::instance::{write_services, Daemon, Impl, Kind, Layout};
use crate::stats::{cell, p50_p99, ratio, Metrics};
use dinit_core::proto::{Request, StatusFormat};
use dinit_hosted::ctl::{Connection, Incoming, LoadReply, Reply};
use std::path::Path;
use std::time::Instant;

/// The round trips at one size: ours, and Dinit's when there is a reference.
pub type RoundTrips = (usize, Vec<RoundTrip>, Option<Vec<RoundTrip>>);

/// p50 and p99 of one kind of request, in µs.
pub struct RoundTrip {
    name: &'static str,
    samples: usize,
    p50: f64,
    p99: f64,
}

/// Rounds per request: the samples of each implementation are taken in this many slices.
const ROUNDS: usize = 10;

/// One daemon with `n` services started, and an open connection with a handle on `s0`.
struct Side {
    daemon: Daemon,
    conn: Connection,
    status: Request<'static>,
}

impl Side {
    fn start(imp: &Impl, dir: &Path, n: usize) -> Side {
        let daemon = Daemon::start(
            imp,
            &dir.join("sd"),
            &dir.join(format!("sock-{}", imp.label)),
            &dir.join(format!("log-{}", imp.label)),
        );
        let t = Instant::now();
        let (_, ok) = daemon.ctl(&["start", "boot"]);
        assert!(ok, "{}: start boot failed", imp.label);
        daemon.wait_children(n, t);
        let mut conn = daemon.connect();
        let handle = match conn.load_service(b"s0", true).unwrap() {
            LoadReply::Record { handle, .. } => handle,
            other => panic!("find s0: {other:?}"),
        };
        let status = conn.status_request(handle);
        Side {
            daemon,
            conn,
            status,
        }
    }

    fn ctl(&self, args: &[&str]) -> f64 {
        let (t, ok) = self.daemon.ctl(args);
        assert!(ok, "dinitctl {args:?} failed");
        t.as_secs_f64() * 1e6
    }

    fn raw_status(&mut self) -> f64 {
        let t = Instant::now();
        let reply = self.conn.request(&self.status).unwrap();
        let us = t.elapsed().as_secs_f64() * 1e6;
        assert!(matches!(reply, Reply::ServiceStatus(_)), "{reply:?}");
        us
    }

    /// A fresh connection for each list, made before the timer starts: Dinit (0.23.0pre) stops
    /// reading a connection once a reply has filled the socket (in `queue_packet`, the size of
    /// a packet queued after a partial write is counted after the packet was moved away, so
    /// the output buffer's count underflows when it is sent and stays above its high-water
    /// mark), so a second long list on the same connection would never be answered.
    fn raw_list(&self, n: usize) -> f64 {
        let mut conn = self.daemon.connect();
        let t = Instant::now();
        conn.send(&Request::ListServices5).unwrap();
        let mut entries = 0usize;
        loop {
            match conn.recv(StatusFormat::Status14).unwrap() {
                Incoming::Reply(Reply::ListDone) => break,
                Incoming::Reply(Reply::SvcInfo { .. }) => entries += 1,
                other => panic!("unexpected during list: {other:?}"),
            }
        }
        let us = t.elapsed().as_secs_f64() * 1e6;
        assert!(entries > n, "list returned {entries} entries");
        us
    }
}

/// Measures every request at size `n` for each implementation of `impls` (ours first), in
/// alternating rounds. Times in µs.
pub fn round_trips(impls: &[&Impl], tmp: &Path, quick: bool, n: usize) -> RoundTrips {
    let (ctl_reps, raw_reps, list_reps) = match (quick, n > 1000) {
        (true, _) => (50, 2000, 20),
        (false, false) => (300, 20_000, 300),
        (false, true) => (300, 20_000, 50),
    };
    let list_raw_reps = if n > 1000 { list_reps } else { raw_reps / 10 };
    let dir = tmp.join(format!("roundtrip-{n}"));
    write_services(&dir.join("sd"), Kind::Process, n, Layout::Flat);
    let mut sides: Vec<Side> = impls.iter().map(|imp| Side::start(imp, &dir, n)).collect();

    type Sample<'a> = &'a dyn Fn(&mut Side) -> f64;
    let requests: [(&'static str, usize, Sample); 4] = [
        ("status_dinitctl", ctl_reps, &|s| s.ctl(&["status", "s0"])),
        ("list_dinitctl", list_reps.min(ctl_reps), &|s| {
            s.ctl(&["list"])
        }),
        ("status_raw", raw_reps, &|s| s.raw_status()),
        ("list_raw", list_raw_reps, &|s| s.raw_list(n)),
    ];
    let mut rows: Vec<Vec<RoundTrip>> = sides.iter().map(|_| Vec::new()).collect();
    for (name, reps, sample) in requests {
        let mut samples: Vec<Vec<f64>> = sides.iter().map(|_| Vec::new()).collect();
        for round in 0..ROUNDS {
            let slice = reps / ROUNDS + usize::from(round < reps % ROUNDS);
            let mut order: Vec<usize> = (0..sides.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                for _ in 0..slice {
                    let us = sample(&mut sides[i]);
                    samples[i].push(us);
                }
            }
        }
        for (row, samples) in rows.iter_mut().zip(samples) {
            let count = samples.len();
            let (p50, p99) = p50_p99(samples);
            row.push(RoundTrip {
                name,
                samples: count,
                p50,
                p99,
            });
        }
    }
    drop(sides);
    let _ = std::fs::remove_dir_all(&dir);
    let mut rows = rows.into_iter();
    let ours = rows.next().unwrap_or_default();
    (n, ours, rows.next())
}

/// Prints the round trips of both implementations at each size, and their metrics.
pub fn report_round_trips(all: &[RoundTrips], m: &mut Metrics) {
    println!();
    println!("control round trips (µs; ratio = ours / Dinit, < 1 means we are faster)");
    println!(
        "{:<16} {:>6} {:>7} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6}",
        "request", "N", "samples", "p50 ours", "Dinit", "ratio", "p99 ours", "Dinit", "ratio"
    );
    for (n, ours, dinit) in all {
        for (i, o) in ours.iter().enumerate() {
            let d = dinit.as_ref().and_then(|d| d.get(i));
            let (d50, d99) = (d.map(|d| d.p50), d.map(|d| d.p99));
            println!(
                "{:<16} {n:>6} {:>7} | {:>9.1} {} {} | {:>9.1} {} {}",
                o.name,
                o.samples,
                o.p50,
                cell(d50, 9, 1),
                cell(ratio(o.p50, d50), 6, 2),
                o.p99,
                cell(d99, 9, 1),
                cell(ratio(o.p99, d99), 6, 2),
            );
            m.pair(&format!("{}_{n}_p50_us", o.name), o.p50, d50);
            m.pair(&format!("{}_{n}_p99_us", o.name), o.p99, d99);
        }
    }
    println!("(both daemons running side by side with N `process` services each, samples taken");
    println!(" in {ROUNDS} rounds alternating between them; dinitctl: each implementation's own");
    println!(" client, a whole process; raw: one request on an open connection, our client");
    println!(" library against both daemons; a fresh connection for each list, made before the");
    println!(" timer starts)");
}
