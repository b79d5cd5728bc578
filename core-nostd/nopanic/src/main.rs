//! Link-time proof that dinit-core's public entry points cannot panic (see Cargo.toml).

#![no_std]
#![no_main]

use core::hint::black_box;
use dinit_core::engine::{CommandKind, Host, LaunchFailed, Notice, PidFileResult, ServiceId};
use dinit_core::{
    Gentle, Pin,
    DepKind, Duration, ExecStage, ExitStatus, Instant, ServiceConfig, ServiceEvent, ServiceKind,
    ServiceSet, ServiceStatus, ShutdownKind,
};

extern "C" {
    /// Deliberately undefined: referenced only if a panic path remains.
    fn dinit_core_has_a_panic_path() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: never called in a successful build; the link fails first.
    unsafe { dinit_core_has_a_panic_path() }
}

#[link(name = "c")]
extern "C" {}

/// A host whose answers the optimiser cannot predict.
struct Opaque(u32);

impl Host for Opaque {
    fn spawn(&mut self, _: ServiceId, _: CommandKind, _: bool) -> Result<i32, LaunchFailed> {
        self.0 = black_box(self.0.wrapping_add(1));
        if black_box(self.0 % 7 == 0) {
            Err(black_box(LaunchFailed))
        } else {
            Ok(black_box(self.0 as i32))
        }
    }
    fn signal(&mut self, s: ServiceId, pid: i32, sig: i32, group: bool) {
        black_box((s, pid, sig, group));
    }
    fn read_pid_file(&mut self, _: ServiceId) -> PidFileResult {
        match black_box(self.0 % 3) {
            0 => PidFileResult::Invalid,
            1 => PidFileResult::NotRunning,
            _ => PidFileResult::Running(black_box(42)),
        }
    }
    fn event(&mut self, s: ServiceId, e: ServiceEvent, st: &ServiceStatus) {
        black_box((s, e, *st));
    }
    fn notice(&mut self, n: Notice) {
        black_box(n);
    }
}

type Set = ServiceSet<64, 256, 4096>;

fn kind_of(v: u8) -> ServiceKind {
    match v % 5 {
        0 => ServiceKind::Internal,
        1 => ServiceKind::Process,
        2 => ServiceKind::Bgprocess,
        3 => ServiceKind::Scripted,
        _ => ServiceKind::Triggered,
    }
}

fn dep_of(v: u8) -> DepKind {
    DepKind::from_u8(v % 7).unwrap_or(DepKind::Regular)
}

/// The control-protocol codec: parse anything, emit what parsed, into buffers of opaque size.
fn protocol(input: &[u8], seed: u32) {
    use dinit_core::proto::{
        DaemonPacket, Info, InfoPacket, Reply, ReplyPacket, Request, RequestPacket, StatusBlock,
        StatusFormat, StatusView,
    };
    let mut out = [0u8; 1100];
    let len = black_box(seed as usize % out.len());
    let out = out.get_mut(..len).unwrap_or(&mut []);
    let format = match black_box(seed % 3) {
        0 => StatusFormat::Status10,
        1 => StatusFormat::Status14,
        _ => StatusFormat::Status30,
    };
    if let Ok((r, n)) = Request::parse_prefix(input) {
        let _ = black_box((r.emit(out), n, r.buffer_len()));
        let _ = black_box(r.emit_as_given(out));
    }
    if let Ok((r, n)) = Reply::parse_prefix(input, format) {
        let _ = black_box((r.emit(out), n, r.buffer_len()));
    }
    if let Ok((r, n)) = Info::parse_prefix(input) {
        let _ = black_box((r.emit(out), n, r.buffer_len()));
    }
    if let Ok((r, n)) = DaemonPacket::parse_prefix(input, format) {
        let _ = black_box((r.emit(out), n));
    }
    let _ = black_box(DaemonPacket::frame(input, format));
    if let Ok(b) = StatusBlock::parse(input, format) {
        let _ = black_box(b.emit(out));
    }
    // The views' getters, even on buffers nobody checked (release builds read zeros there).
    let rv = RequestPacket::new_unchecked(input);
    let _ = black_box((rv.code(), rv.flags(), rv.handle(), rv.dep_to(), rv.signal()));
    let _ = black_box((rv.string(), rv.packet(), rv.trigger_value(), rv.reserved()));
    let pv = ReplyPacket::new_unchecked(input, format);
    let _ = black_box((
        pv.versions(),
        pv.record(),
        pv.status_detail(),
        pv.loader_kind(),
    ));
    let _ = black_box(pv.status().map(|s| (s.detail(), s.si_status(), s.mtime())));
    let _ = black_box((pv.name(), pv.body(), pv.dependents().map(|h| h.len())));
    let iv = InfoPacket::new_unchecked(input);
    let _ = black_box((iv.handle(), iv.event(), iv.env_flags(), iv.env_data()));
    let _ = black_box(iv.status().map(|s| (s.state(), s.flags().bits())));
    let sv = StatusView::new_unchecked(input, format);
    let _ = black_box((
        sv.state(),
        sv.exec_stage(),
        sv.detail(),
        sv.si_status(),
        sv.mtime(),
    ));
}

/// The description parser, substitution and environment files, on opaque input.
fn description(input: &[u8]) {
    use dinit_core::desc::{
        expand_value, parse_env_file, parse_service_name, CommandSetting, Description, EnvLine,
        EnvOp, Parser, PathSetting, SubstEnv,
    };
    let vars: [(&[u8], &[u8]); 1] = [(b"HOME", black_box(b"/root"))];
    let arg = parse_service_name(input).ok().and_then(|n| n.argument);
    let env = SubstEnv::new(&vars, arg);
    let mut scratch = [0u8; 512];
    let mut desc: Description<2048, 16> = Description::new();
    let _ = black_box(desc.load(input, &env, &mut scratch));
    let mut out = [0u8; 256];
    let _ = black_box(
        desc.expand_command(CommandSetting::Start, &env, &mut out)
            .map(|t| t.map(|t| t.len())),
    );
    let _ = black_box(
        desc.expand_path(PathSetting::Logfile, &env, &mut out)
            .map(|p| p.map(|p| p.len())),
    );
    black_box(desc.dependencies().count());
    let mut parser = Parser::new(input);
    let mut guard = 0;
    while guard < 64 {
        guard += 1;
        match parser.next_item(&env, &mut scratch) {
            Ok(Some(entry)) => {
                black_box(entry.line);
            }
            Ok(None) => break,
            Err(e) => {
                black_box(e.line);
            }
        }
    }
    let _ = black_box(expand_value(input, &env, &mut out).map(|v| v.len()));
    parse_env_file(input, &mut |line: u32, item: EnvLine<'_>| {
        black_box((line, matches!(item, EnvLine::Op(EnvOp::Clear))));
    });
}

#[no_mangle]
pub extern "C" fn main(argc: i32, argv: *const *const u8) -> i32 {
    let seed = black_box(argc as u32) ^ black_box(argv as usize as u32);
    let bytes: &[u8] = black_box(b"boot@x\0db 1.25 TERM");
    let mut set: Set = ServiceSet::new();
    let mut host = Opaque(seed);
    let now = Instant::from_nanos(black_box(u64::from(seed)));

    black_box(Duration::parse_decimal_secs(bytes));
    black_box(dinit_core::signal::by_name(bytes));

    let _ = set.begin_load();
    let mut cfg = ServiceConfig::new(kind_of(seed as u8));
    cfg.restart_limit_count = black_box(3);
    let a = set.insert_service(bytes, cfg, bytes);
    let b = set.insert_service(
        black_box(b"other"),
        ServiceConfig::new(kind_of((seed >> 8) as u8)),
        b"",
    );
    let p = set.placeholder(black_box(b"ph"));
    if let (Ok(a), Ok(b), Ok(p)) = (a, b, p) {
        let _ = set.add_dependency(a, b, dep_of(seed as u8));
        let _ = set.add_dependency(a, p, DepKind::After);
        match set.commit_load() {
            Ok(()) => {}
            Err(dinit_core::engine::LoadError::Cycle(c)) => {
                let mut out = [a; 4];
                black_box(set.cycle_path(&c, &mut out));
                set.abort_load();
            }
            Err(_) => set.abort_load(),
        }
        let pin = black_box(seed & 1 == 0);
        let (pins, gentle) = (
            if pin { Pin::Pin } else { Pin::NoPin },
            if black_box(seed & 2 == 0) {
                Gentle::Gentle
            } else {
                Gentle::Force
            },
        );
        let _ = set.start(a, pins, now, &mut host);
        let _ = set.wake(b, pins, now, &mut host);
        let _ = set.restart(a, gentle, now, &mut host);
        let _ = set.set_trigger(b, pin, now, &mut host);
        if let Some(st) = set.status(a) {
            let pid = st.pid;
            set.exec_succeeded(a, pid, now, &mut host);
            set.exec_failed(a, pid, ExecStage::DoExec, black_box(2), now, &mut host);
            set.ready(a, now, &mut host);
            set.readiness_lost(a, now, &mut host);
            set.process_exited(
                a,
                pid,
                ExitStatus::from_si(black_box(1), black_box(0)),
                now,
                &mut host,
            );
        }
        if let Some(d) = set.next_deadline() {
            set.handle_timers(d, &mut host);
        }
        let _ = set.add_dep(b, a, dep_of((seed >> 3) as u8), pin, now, &mut host);
        let _ = set.rm_dep(b, a, dep_of((seed >> 5) as u8), now, &mut host);
        for id in set.iter() {
            black_box(set.name(id));
            black_box(set.dependencies(id).count());
            black_box(set.dependents(id).count());
            black_box(set.active_hard_dependents(id).count());
        }
        let _ = set.stop(a, pins, gentle, now, &mut host);
        set.kill_all_done(a, now, &mut host);
        let _ = set.release(b, pins, now, &mut host);
        let _ = set.unpin(a, now, &mut host);
        set.shutdown(
            ShutdownKind::from_u8(black_box(2)).unwrap_or(ShutdownKind::Halt),
            now,
            &mut host,
        );
        set.clear_shutdown();
        let _ = set.unload(b, now, &mut host);
        black_box(set.find(bytes));
    }
    black_box(set.verify_integrity().is_ok());
    protocol(black_box(bytes), seed);
    description(black_box(bytes));
    #[cfg(feature = "selftest")]
    {
        let table = black_box([1u8, 2, 3]);
        black_box(table[black_box(seed as usize)]);
    }
    0
}
