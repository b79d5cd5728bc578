//! Steady state allocates nothing (ARCHITECTURE.md 3): after start-up, thousands of service
//! starts, stops, restarts, process exits and automatic restarts, and a real client on the
//! control socket sending every request kind that does not change what is loaded or the
//! environment (see `client_requests`), run through the real daemon loop with a counting
//! global allocator, which must count zero.
//!
//! Runs without the libtest harness (harness = false): one thread, so the counter sees only
//! the daemon.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dinit_core::profile::ConfiguredSet;
use dinit_core::proto::{DaemonPacket, Reply, Request, StartFlags, StatusFormat};
use dinit_core::{DepKind, ServiceState};
use dinit_hosted::daemon::options::DaemonOptions;
use dinit_hosted::daemon::Daemon;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
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
        // SAFETY: forwarded: the caller's layout, as GlobalAlloc::alloc requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded: `ptr` came from this allocator (so from System) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded, as for dealloc, with the caller's new size.
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
    // For the client: a triggered service, and one whose output is buffered.
    std::fs::write(sd.join("trig"), "type = triggered\n").unwrap();
    std::fs::write(
        sd.join("logged"),
        "type = process\ncommand = /bin/sh -c \"echo hello; exec /bin/sleep 1000\"\nlog-type = buffer\n",
    )
    .unwrap();
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

    // The client: its handles (boot 0, sleeper0 1, trig 2, logged 3), one round of every
    // request before counting (the connection's buffers reach their size).
    let mut client = UnixStream::connect(dir.join("sock")).unwrap();
    client.set_nonblocking(true).unwrap();
    let mut buf = Received {
        buf: vec![0u8; 256 * 1024],
        have: 0,
    };
    for name in [&b"boot"[..], b"sleeper0", b"trig", b"logged"] {
        let mut req = [0u8; 64];
        let n = Request::LoadService { name }.emit(&mut req).unwrap();
        exchange(
            &mut d,
            &mut client,
            &req[..n],
            StatusFormat::Status14,
            &mut buf,
        );
    }
    let requests = client_requests();
    for (req, format) in &requests {
        exchange(&mut d, &mut client, req, *format, &mut buf);
    }

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
        for (req, format) in &requests {
            exchange(&mut d, &mut client, req, *format, &mut buf);
        }
        d.stop_service(boot).unwrap();
        settle(&mut d, ServiceState::Stopped);
    }
    COUNTING.store(false, Ordering::SeqCst);
    let n = ALLOCATIONS.load(Ordering::SeqCst);
    drop(client);
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(n, 0, "{n} heap allocations in the steady state");
    println!(
        "daemon_noalloc: {cycles} start/restart/stop cycles of 25 services (~{} process launches) \
         and {} control requests: 0 allocations",
        cycles * 45,
        cycles * requests.len()
    );
}

/// Every request kind a client sends in the steady state, encoded (before counting), with the
/// status format of its reply. Left out, as they change what is loaded or the environment
/// (and so allocate by nature): LOADSERVICE of a service not loaded yet, UNLOADSERVICE,
/// RELOADSERVICE, SETENV, QUERY_LOAD_MECH (copies the service directories' paths), and
/// SHUTDOWN (ends the daemon). A refused gentle stop (`DEPENDENTS`, a list of new handles)
/// is left out too.
fn client_requests() -> Vec<(Vec<u8>, StatusFormat)> {
    let (boot, sleeper0, trig, logged) = (0, 1, 2, 3);
    let flags = StartFlags::default();
    let list = [
        Request::QueryVersion,
        // Loaded already: a handle (4), closed again.
        Request::FindService { name: b"boot" },
        Request::CloseHandle { handle: 4 },
        Request::LoadService { name: b"sleeper0" },
        Request::CloseHandle { handle: 4 },
        Request::ServiceStatus { handle: boot },
        Request::ServiceStatus5 { handle: boot },
        Request::ServiceStatus6 { handle: sleeper0 },
        Request::QueryServiceName { handle: sleeper0 },
        Request::QueryServiceDscDir {
            reserved: 0,
            handle: sleeper0,
        },
        Request::ListServices,
        Request::ListServices5,
        Request::StartService {
            flags,
            handle: logged,
        },
        Request::CatLog {
            clear: false,
            handle: logged,
        },
        Request::Signal {
            signal: libc::SIGCONT,
            handle: logged,
        },
        Request::ReleaseService {
            flags,
            handle: logged,
        },
        Request::WakeService {
            flags,
            handle: logged,
        },
        Request::SetTrigger {
            handle: trig,
            value: true,
        },
        Request::SetTrigger {
            handle: trig,
            value: false,
        },
        Request::UnpinService { handle: sleeper0 },
        Request::StopService {
            flags: StartFlags::default().with(StartFlags::RESTART),
            handle: sleeper0,
        },
        Request::AddDep {
            kind: DepKind::WaitsFor,
            from: boot,
            to: trig,
        },
        Request::RemDep {
            kind: DepKind::WaitsFor,
            from: boot,
            to: trig,
        },
        Request::EnableServiceV7 {
            kind: DepKind::WaitsFor,
            from: boot,
            to: trig,
        },
        Request::RemDep {
            kind: DepKind::WaitsFor,
            from: boot,
            to: trig,
        },
        Request::GetAllEnv,
        Request::ListenEnv,
    ];
    list.iter()
        .map(|r| {
            let mut b = vec![0u8; r.buffer_len()];
            let n = r.emit(&mut b).unwrap();
            b.truncate(n);
            let format = r
                .command()
                .reply_status_format()
                .unwrap_or(StatusFormat::Status14);
            (b, format)
        })
        .collect()
}

/// The client's receive buffer: what it has read and not yet consumed.
struct Received {
    buf: Vec<u8>,
    have: usize,
}

/// Sends one request and turns the daemon until its final reply has arrived (information
/// packets, `SVCINFO`s and `PREACK` may come first; events may follow, and stay for the next
/// call). Allocates nothing.
fn exchange(
    d: &mut Daemon<'_>,
    client: &mut UnixStream,
    req: &[u8],
    format: StatusFormat,
    rx: &mut Received,
) {
    client.write_all(req).unwrap();
    let Received { buf, have } = rx;
    let start = std::time::Instant::now();
    loop {
        d.turn();
        match client.read(&mut buf[*have..]) {
            Ok(0) => panic!("the daemon closed the connection"),
            Ok(n) => *have += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("reading a reply: {e}"),
        }
        // Walk the packets: done at the first reply that ends the answer.
        let mut pos = 0;
        while pos < *have {
            let rest = &buf[pos..*have];
            let Ok((packet, n)) = DaemonPacket::parse_prefix(rest, format) else {
                break;
            };
            pos += n;
            let last = match packet {
                DaemonPacket::Info(_) => false,
                DaemonPacket::Reply(Reply::SvcInfo { .. } | Reply::PreAck) => false,
                DaemonPacket::Reply(_) => true,
            };
            if last {
                buf.copy_within(pos..*have, 0);
                *have -= pos;
                return;
            }
        }
        assert!(
            start.elapsed().as_secs() < 30,
            "no complete reply to {req:02x?}"
        );
    }
}
