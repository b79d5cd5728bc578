//! What stays measured for ours alone, or for the machine: start/stop cycles of one service
//! with RssAnon along the way (flat memory: our daemon's steady state allocates nothing; the
//! reference is not measured here), and the floor of starting and stopping N processes with no
//! service manager at all.

use crate::instance::{write_services, Daemon, Impl, Kind, Layout};
use crate::stats::{median_of, Metrics};
use dinit_core::proto::{Request, StartFlags, StatusFormat};
use dinit_core::ServiceEvent;
use dinit_hosted::ctl::{Connection, Incoming, LoadReply, Reply};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The machine's floor for what `start` and `stop` of N `process` services must do, without
/// any service manager: this process starts N `/bin/sleep 1000` itself (each in a session of
/// its own, as the daemon does), then sends each SIGTERM and reaps them all. Times in ms, the
/// median of three rounds; printed beside the daemon's figures so that they can be read
/// against what the kernel itself takes on this machine.
pub fn floor(sizes: &[usize], m: &mut Metrics) {
    use std::os::unix::process::CommandExt;
    println!();
    println!(
        "floor (the machine, no service manager): N /bin/sleep started, then terminated and \
         reaped, by this process alone"
    );
    println!("{:>6} {:>10} {:>10}", "N", "start ms", "stop ms");
    for &n in sizes {
        let mut starts = Vec::new();
        let mut stops = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let mut children: Vec<Child> = (0..n)
                .map(|_| {
                    Command::new("/bin/sleep")
                        .arg("1000")
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .process_group(0)
                        .spawn()
                        .expect("spawn /bin/sleep")
                })
                .collect();
            starts.push(t.elapsed().as_secs_f64() * 1e3);
            std::thread::sleep(Duration::from_millis(300));
            let t = Instant::now();
            for c in &children {
                // SAFETY: kill(2) on our own child.
                unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            }
            for c in &mut children {
                let _ = c.wait();
            }
            stops.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (start, stop) = (median_of(&mut starts), median_of(&mut stops));
        println!("{n:>6} {start:>10.1} {stop:>10.1}");
        m.put(format!("floor_start_process_{n}_ms"), start);
        m.put(format!("floor_stop_process_{n}_reaped_ms"), stop);
    }
}

/// Start/stop cycles of one service through the raw protocol, for `budget` or `max` cycles,
/// whichever ends first; RssAnon at ten evenly spaced moments. Growth is reported from the
/// start and from the first of those moments (after the first launch has touched the pages it
/// needs once).
pub fn cycles(ours: &Impl, tmp: &Path, kind: Kind, budget: Duration, max: usize, m: &mut Metrics) {
    let dir = tmp.join(format!("cycles-{}", kind.label()));
    let sd = dir.join("sd");
    write_services(&sd, kind, 1, Layout::Flat);
    let d = Daemon::start(ours, &sd, &dir.join("sock"), &dir.join("log"));
    let mut conn = d.connect();
    let handle = match conn.load_service(b"s0", false).unwrap() {
        LoadReply::Record { handle, .. } => handle,
        other => panic!("load s0: {other:?}"),
    };
    let label = kind.label();
    println!(
        "start/stop cycles of one {label} service, ours only (raw protocol, up to {} s or {max} cycles): \
         RssAnon / VmRSS in kB",
        budget.as_secs()
    );
    let (rss0, anon0) = d.memory();
    println!("  {:>8} cycles: {anon0:>6} {rss0:>6}", 0);
    m.put(format!("cycles_{label}_rssanon_kb_0"), anon0 as f64);
    let t0 = Instant::now();
    let step = budget / 10;
    let mut next_sample = step;
    let mut first_anon: Option<u64> = None;
    let mut last_anon = anon0;
    let mut max_anon = anon0;
    let mut done = 0;
    while done < max {
        for (req, want) in [
            (
                Request::StartService {
                    flags: StartFlags::NONE,
                    handle,
                },
                ServiceEvent::Started,
            ),
            (
                Request::StopService {
                    flags: StartFlags::NONE,
                    handle,
                },
                ServiceEvent::Stopped,
            ),
        ] {
            let reply = conn.request(&req).unwrap();
            // ACK, or ALREADYSS when the service reached the state before the reply (an
            // internal service starts and stops at once).
            assert!(
                matches!(reply, Reply::Ack | Reply::AlreadySs),
                "cycle {done}: {req:?}: reply {reply:?}"
            );
            let already = reply == Reply::AlreadySs;
            let seen = |conn: &Connection| {
                already
                    || conn
                        .events()
                        .iter()
                        .any(|e| e.handle == handle && e.kind() == Some(want))
            };
            while !seen(&conn) {
                if let Incoming::Event(e) = conn.recv(StatusFormat::Status14).unwrap() {
                    if e.handle == handle && e.kind() == Some(want) {
                        break;
                    }
                }
            }
            conn.clear_events();
        }
        done += 1;
        let elapsed = t0.elapsed();
        if elapsed >= next_sample || done == max {
            next_sample += step;
            let (rss, anon) = d.memory();
            first_anon.get_or_insert(anon);
            max_anon = max_anon.max(anon);
            last_anon = anon;
            println!(
                "  {done:>8} cycles: {anon:>6} {rss:>6}  ({:.0} s)",
                elapsed.as_secs_f64()
            );
            if elapsed >= budget {
                break;
            }
        }
    }
    let per = t0.elapsed().as_secs_f64() * 1e6 / done as f64;
    let growth = last_anon as i64 - anon0 as i64;
    let growth_warm = last_anon as i64 - first_anon.unwrap_or(anon0) as i64;
    println!(
        "  {per:.1} µs per start+stop cycle; RssAnon growth over {done} cycles: {growth} kB \
         ({growth_warm} kB after the first sample)"
    );
    m.put(format!("cycles_{label}_count"), done as f64);
    m.put(format!("cycles_{label}_us_per_cycle"), per);
    m.put(
        format!("cycles_{label}_rssanon_kb_first"),
        first_anon.unwrap_or(anon0) as f64,
    );
    m.put(format!("cycles_{label}_rssanon_kb_last"), last_anon as f64);
    m.put(format!("cycles_{label}_rssanon_max_kb"), max_anon as f64);
    m.put(format!("cycles_{label}_rssanon_growth_kb"), growth as f64);
    m.put(
        format!("cycles_{label}_rssanon_growth_after_first_kb"),
        growth_warm as f64,
    );
}
