//! The services of the board, the host side of the engine (tasks instead of processes) and the
//! event loop that feeds the engine.
//!
//! A "process" here is a task of the firmware: launching it puts it in the task table, where it
//! runs for the time its description says and then exits with a status, or runs until it is
//! signalled. The board's clock is virtual: instead of sleeping until the next thing is due (a
//! real board would wait in WFI for its timer interrupt), the loop jumps to it. The log and its
//! time stamps are therefore the same on every run and on both boards.

use dinit_core::engine::{CommandKind, Host, LaunchFailed, Notice, PidFileResult, ServiceId};
use dinit_core::profile::SmallSet;
use dinit_core::{
    AutoRestart, DepKind, Duration, ExitStatus, Gentle, Instant, Pid, Pin, ServiceConfig,
    ServiceEvent, ServiceKind, ServiceState, ServiceStatus, ShutdownKind,
};

use crate::logger;

/// What a launched task does once running.
#[derive(Clone, Copy)]
enum Run {
    /// Runs until it is signalled.
    UntilSignalled,
    /// Exits with `code` after `ms` milliseconds.
    Exit { ms: u64, code: i32 },
}

/// A service of the board.
struct Spec {
    name: &'static str,
    kind: ServiceKind,
    restart: AutoRestart,
    restart_delay_ms: u64,
    /// Dependencies, as a description's `depends-on`, `waits-for`, ... lines would give them.
    deps: &'static [(&'static str, DepKind)],
    /// What the start command (the process, for a process service) does at each launch; the
    /// last entry repeats.
    runs: &'static [Run],
    /// A scripted service's stop command, if it has one.
    stop: Option<Run>,
}

/// The board's services: `boot` needs `app`, which needs `net` and waits for `sensor`; both
/// need the `bus` set-up script. `sensor` crashes 300 ms after its first launch and is
/// restarted by its `restart = on-failure` once its restart delay (500 ms from its launch) has
/// passed; `app`, which only waits for it, stays up.
const SPECS: &[Spec] = &[
    Spec {
        name: "bus",
        kind: ServiceKind::Scripted,
        restart: AutoRestart::No,
        restart_delay_ms: 200,
        deps: &[],
        runs: &[Run::Exit { ms: 20, code: 0 }],
        stop: Some(Run::Exit { ms: 10, code: 0 }),
    },
    Spec {
        name: "net",
        kind: ServiceKind::Process,
        restart: AutoRestart::Yes,
        restart_delay_ms: 200,
        deps: &[("bus", DepKind::Regular)],
        runs: &[Run::UntilSignalled],
        stop: None,
    },
    Spec {
        name: "sensor",
        kind: ServiceKind::Process,
        restart: AutoRestart::OnFailure,
        restart_delay_ms: 500,
        deps: &[("bus", DepKind::Regular)],
        runs: &[Run::Exit { ms: 300, code: 3 }, Run::UntilSignalled],
        stop: None,
    },
    Spec {
        name: "app",
        kind: ServiceKind::Process,
        restart: AutoRestart::Yes,
        restart_delay_ms: 200,
        deps: &[("net", DepKind::Regular), ("sensor", DepKind::WaitsFor)],
        runs: &[Run::UntilSignalled],
        stop: None,
    },
    Spec {
        name: "boot",
        kind: ServiceKind::Internal,
        restart: AutoRestart::Yes,
        restart_delay_ms: 200,
        deps: &[("app", DepKind::Regular)],
        runs: &[],
        stop: None,
    },
];

const SERVICES: usize = SPECS.len();
/// Tasks that can run at once (every service's process plus a stop command).
const TASKS: usize = SERVICES + 1;
/// A task has executed its command this long after it was launched.
const EXEC_MS: u64 = 1;
/// A task that gets a signal ends this long after.
const SIGNAL_MS: u64 = 2;
/// The scenario must be over by then (virtual time), or the run fails.
const DEADLINE_MS: u64 = 10_000;

/// The commands of the scenario, at their times.
#[derive(Clone, Copy)]
enum Command {
    Start(&'static str),
    /// Stop, with the dependents (`dinitctl stop --force`).
    Stop(&'static str),
    Shutdown(ShutdownKind),
}

const SCRIPT: &[(u64, Command)] = &[
    (0, Command::Start("boot")),
    (1_500, Command::Stop("boot")),
    (2_000, Command::Shutdown(ShutdownKind::Poweroff)),
];

/// A running task.
#[derive(Clone, Copy)]
struct Task {
    service: ServiceId,
    pid: Pid,
    /// When it reports that it has executed its command (if it has yet to).
    exec_at: Option<u64>,
    /// When it ends, and how.
    exit_at: Option<u64>,
    status: ExitStatus,
}

/// The host side of the engine: the task table and the log.
struct Board {
    now_ms: u64,
    ids: heapless::Vec<ServiceId, SERVICES>,
    launches: [u8; SERVICES],
    tasks: heapless::Vec<Task, TASKS>,
    next_pid: Pid,
    /// Set by `Notice::Idle`: nothing is active, with the shutdown requested if any.
    idle: Option<Option<ShutdownKind>>,
    /// Something happened that the scenario does not expect.
    failed: bool,
}

impl Board {
    const fn new() -> Self {
        Board {
            now_ms: 0,
            ids: heapless::Vec::new(),
            launches: [0; SERVICES],
            tasks: heapless::Vec::new(),
            next_pid: 1,
            idle: None,
            failed: false,
        }
    }

    fn spec_index(&self, id: ServiceId) -> Option<usize> {
        self.ids.iter().position(|&i| i == id)
    }

    fn name(&self, id: ServiceId) -> &'static str {
        self.spec_index(id)
            .and_then(|k| SPECS.get(k))
            .map_or("?", |s| s.name)
    }

    fn fail(&mut self) {
        self.failed = true;
    }

    /// The earliest time a task does something.
    fn next_due(&self) -> Option<u64> {
        self.tasks
            .iter()
            .flat_map(|t| [t.exec_at, t.exit_at])
            .flatten()
            .min()
    }
}

impl Host for Board {
    fn spawn(
        &mut self,
        service: ServiceId,
        command: CommandKind,
        _on_console: bool,
    ) -> Result<Pid, LaunchFailed> {
        let Some(k) = self.spec_index(service) else {
            self.fail();
            return Err(LaunchFailed);
        };
        let Some(spec) = SPECS.get(k) else {
            return Err(LaunchFailed);
        };
        let run = match command {
            CommandKind::Start => {
                let n = self.launches.get(k).copied().unwrap_or(0);
                if let Some(l) = self.launches.get_mut(k) {
                    *l = l.saturating_add(1);
                }
                spec.runs.get(usize::from(n)).or(spec.runs.last()).copied()
            }
            CommandKind::Stop => spec.stop,
        };
        let Some(run) = run else {
            defmt::error!("{=str}: no {} command", spec.name, command);
            self.fail();
            return Err(LaunchFailed);
        };
        let pid = self.next_pid;
        self.next_pid = self.next_pid.saturating_add(1);
        let exec_at = self.now_ms.saturating_add(EXEC_MS);
        let (exit_at, status) = match run {
            Run::UntilSignalled => (None, ExitStatus::None),
            Run::Exit { ms, code } => (Some(exec_at.saturating_add(ms)), ExitStatus::Exited(code)),
        };
        let task = Task {
            service,
            pid,
            exec_at: Some(exec_at),
            exit_at,
            status,
        };
        if self.tasks.push(task).is_err() {
            defmt::error!("{=str}: task table full", spec.name);
            self.fail();
            return Err(LaunchFailed);
        }
        defmt::info!(
            "{=str}: launch {} command, task {=i32}",
            spec.name,
            command,
            pid
        );
        Ok(pid)
    }

    fn signal(&mut self, service: ServiceId, pid: Pid, signal: i32, _group: bool) {
        let name = self.name(service);
        defmt::info!("{=str}: signal {=i32} to task {=i32}", name, signal, pid);
        let end = self.now_ms.saturating_add(SIGNAL_MS);
        match self.tasks.iter_mut().find(|t| t.pid == pid) {
            Some(t) => {
                if t.exit_at.is_none_or(|at| at > end) {
                    t.exit_at = Some(end);
                    t.status = ExitStatus::Signaled(signal);
                }
            }
            None => {
                defmt::error!("{=str}: no task {=i32} to signal", name, pid);
                self.fail();
            }
        }
    }

    fn read_pid_file(&mut self, service: ServiceId) -> PidFileResult {
        // No bgprocess services here.
        defmt::error!("{=str}: no pid files on this board", self.name(service));
        self.fail();
        PidFileResult::Invalid
    }

    fn event(&mut self, service: ServiceId, event: ServiceEvent, status: &ServiceStatus) {
        defmt::info!(
            "{=str}: event {}, now {} (target {})",
            self.name(service),
            event,
            status.state,
            status.target
        );
    }

    fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Started(id) => defmt::info!("{=str}: started", self.name(id)),
            Notice::Stopped(id) => defmt::info!("{=str}: stopped", self.name(id)),
            Notice::Terminated(id, status) => {
                defmt::warn!("{=str}: terminated: {}", self.name(id), status);
            }
            Notice::FailedToStart {
                service,
                dependency,
            } => {
                defmt::warn!(
                    "{=str}: failed to start (dependency: {=bool})",
                    self.name(service),
                    dependency
                );
            }
            Notice::Idle { shutdown } => {
                defmt::info!("idle (shutdown: {})", shutdown);
                self.idle = Some(shutdown);
            }
            other => defmt::warn!("notice: {}", other),
        }
    }
}

/// The engine's tables (the `small` profile: 64 services, 256 dependencies, 4 KiB of names), in
/// `.bss`. Only `run` touches it, once.
fn engine() -> Option<&'static mut SmallSet> {
    static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    static mut SET: SmallSet = SmallSet::new();
    if TAKEN.swap(true, core::sync::atomic::Ordering::Acquire) {
        return None;
    }
    // SAFETY: TAKEN is set once and never cleared, so this reference is the only one ever
    // made to SET; there are no interrupts or other cores.
    Some(unsafe { &mut *core::ptr::addr_of_mut!(SET) })
}

fn instant(ms: u64) -> Instant {
    Instant::from_nanos(ms.saturating_mul(1_000_000))
}

fn config(spec: &Spec) -> ServiceConfig {
    let mut cfg = ServiceConfig::new(spec.kind);
    cfg.restart = spec.restart;
    cfg.restart_delay = Duration::from_millis(spec.restart_delay_ms);
    cfg.has_stop_command = spec.stop.is_some();
    cfg
}

/// Loads every service in one load transaction, as the daemon loads a description and its
/// dependencies.
fn load(set: &mut SmallSet, board: &mut Board) -> bool {
    if set.begin_load().is_err() {
        return false;
    }
    for spec in SPECS {
        match set.insert_service(spec.name.as_bytes(), config(spec), b"") {
            Ok(id) => {
                if board.ids.push(id).is_err() {
                    return false;
                }
            }
            Err(e) => {
                defmt::error!("{=str}: cannot load: {}", spec.name, e);
                return false;
            }
        }
    }
    for (spec, &from) in SPECS.iter().zip(board.ids.iter()) {
        for &(dep, kind) in spec.deps {
            let Some(to) = set.find(dep.as_bytes()) else {
                defmt::error!("{=str}: no service {=str}", spec.name, dep);
                return false;
            };
            if let Err(e) = set.add_dependency(from, to, kind) {
                defmt::error!("{=str}: cannot add {=str}: {}", spec.name, dep, e);
                return false;
            }
        }
    }
    if let Err(e) = set.commit_load() {
        defmt::error!("load failed: {}", e);
        return false;
    }
    defmt::info!(
        "loaded {=usize} services, {=usize} dependencies (capacity {=usize}/{=usize})",
        set.slots_in_use(),
        set.edges_in_use(),
        set.service_capacity(),
        set.edge_capacity()
    );
    true
}

/// Runs a command of the script.
fn command(set: &mut SmallSet, board: &mut Board, cmd: Command) {
    let now = instant(board.now_ms);
    let result = match cmd {
        Command::Start(name) => {
            defmt::info!("command: start {=str}", name);
            match set.find(name.as_bytes()) {
                Some(id) => set.start(id, Pin::NoPin, now, board),
                None => Err(dinit_core::Refusal::UnknownService),
            }
        }
        Command::Stop(name) => {
            defmt::info!("command: stop {=str}", name);
            match set.find(name.as_bytes()) {
                Some(id) => set.stop(id, Pin::NoPin, Gentle::Force, now, board),
                None => Err(dinit_core::Refusal::UnknownService),
            }
        }
        Command::Shutdown(kind) => {
            defmt::info!("command: shutdown {}", kind);
            set.shutdown(kind, now, board);
            Ok(())
        }
    };
    if let Err(refusal) = result {
        defmt::error!("refused: {}", refusal);
        board.fail();
    }
}

/// Delivers what the first due task does at `board.now_ms`: exec succeeded, or exit.
fn task_step(set: &mut SmallSet, board: &mut Board) -> bool {
    let now_ms = board.now_ms;
    let now = instant(now_ms);
    if let Some(t) = board.tasks.iter_mut().find(|t| t.exec_at == Some(now_ms)) {
        t.exec_at = None;
        let (service, pid) = (t.service, t.pid);
        set.exec_succeeded(service, pid, now, board);
        return true;
    }
    let Some(pos) = board.tasks.iter().position(|t| t.exit_at == Some(now_ms)) else {
        return false;
    };
    let t = board.tasks.remove(pos);
    defmt::info!(
        "{=str}: task {=i32} ended: {}",
        board.name(t.service),
        t.pid,
        t.status
    );
    set.process_exited(t.service, t.pid, t.status, now, board);
    true
}

/// What the firmware checks itself, besides the transcript the host compares: at a time of
/// the script, the state every service must be in.
fn expect_states(set: &SmallSet, board: &mut Board, at: &str, want: ServiceState) {
    for spec in SPECS {
        let state = set.find(spec.name.as_bytes()).and_then(|id| set.state(id));
        if state != Some(want) {
            defmt::error!(
                "{=str}: {=str}: {} instead of {}",
                spec.name,
                at,
                state,
                want
            );
            board.fail();
        }
    }
}

/// The scenario: load, then run the script and the tasks until the shutdown's idle notice.
pub fn run() -> i32 {
    let Some(set) = engine() else { return 1 };
    let mut board = Board::new();
    defmt::info!("board: {=str}", board_name());
    defmt::info!(
        "engine tables: {=usize} bytes",
        core::mem::size_of::<SmallSet>()
    );
    if !load(set, &mut board) {
        return 1;
    }
    let mut script = SCRIPT.iter().peekable();
    loop {
        let due = [
            board.next_due(),
            set.next_deadline()
                .map(|d| d.as_nanos().div_ceil(1_000_000)),
            script.peek().map(|&&(at, _)| at),
        ];
        let Some(next) = due.into_iter().flatten().min() else {
            defmt::error!("nothing left to do, and no shutdown");
            return 1;
        };
        if next > DEADLINE_MS {
            defmt::error!("still running at {=u64} ms", next);
            return 1;
        }
        board.now_ms = board.now_ms.max(next);
        logger::set_time_ms(u32::try_from(board.now_ms).unwrap_or(u32::MAX));
        // At one instant: tasks first (what they did happened before the clock was looked
        // at), then timers, then the script's command.
        if !task_step(set, &mut board) {
            if set
                .next_deadline()
                .is_some_and(|d| d <= instant(board.now_ms))
            {
                set.handle_timers(instant(board.now_ms), &mut board);
            } else if let Some(&(at, cmd)) = script.next() {
                if at == 1_500 {
                    expect_states(set, &mut board, "before the stop", ServiceState::Started);
                }
                command(set, &mut board, cmd);
            }
        }
        if let Err(e) = set.verify_integrity() {
            defmt::error!("engine integrity: {}", e);
            return 1;
        }
        if board.failed {
            return 1;
        }
        if let Some(kind) = board.idle.take() {
            if kind == Some(ShutdownKind::Poweroff) {
                break;
            }
            expect_states(set, &mut board, "idle", ServiceState::Stopped);
        }
    }
    expect_states(set, &mut board, "at power-off", ServiceState::Stopped);
    let sensor_launches = board.launches.get(2).copied().unwrap_or(0);
    if sensor_launches != 2 {
        defmt::error!("sensor launched {=u8} times, not 2", sensor_launches);
        board.fail();
    }
    if board.failed {
        return 1;
    }
    defmt::info!("power off");
    0
}

fn board_name() -> &'static str {
    if cfg!(target_arch = "arm") {
        "Cortex-M4 (mps2-an386)"
    } else {
        "RISC-V rv32imac (virt)"
    }
}
