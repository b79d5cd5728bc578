//! A deterministic simulator: a fake operating system and a fake clock drive the engine
//! through random schedules of commands, process events and time, checking invariants after
//! every step and liveness at the end. Runs are reproducible from a seed.
//!
//! `cargo test -p dinit-core sim` runs a few hundred seeds (proptest picks them); `just sim`
//! runs many more through [`run_seeds`] (set `SIM_SEEDS` and `SIM_STEPS`).

use super::tests::{bgprocess, internal, process, scripted, triggered};
use super::*;
use crate::config::{Options, ServiceConfig};
use crate::signal;
use crate::time::{Duration, Instant};
use crate::types::{AutoRestart, DepKind, ExecStage, ExitStatus, Pid, ServiceEvent, ServiceState};
use std::collections::BTreeMap;
use std::format;
use std::string::String;
use std::vec::Vec;

type SimSet = ServiceSet<24, 96, 2048>;

/// xorshift64*: small, fast and good enough to drive schedules.
pub(super) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    /// Exec fails at this stage.
    ExecFails,
    /// Exits on its own with this status once exec is confirmed.
    Exits(ExitStatus),
    /// Runs until signalled; `stubborn` ones ignore everything but SIGKILL.
    Runs { stubborn: bool },
}

#[derive(Clone, Debug)]
struct Proc {
    service: ServiceId,
    exec_pending: bool,
    fate: Fate,
    /// Needs to report readiness (process services with ready-notification).
    ready_pending: bool,
    /// Killed: will exit with this status.
    dying: Option<ExitStatus>,
}

struct FakeOs {
    rng: Rng,
    procs: BTreeMap<Pid, Proc>,
    next_pid: Pid,
    ready_services: Vec<ServiceId>,
    events: Vec<(ServiceId, ServiceEvent, ServiceStatus)>,
    notices: Vec<Notice>,
    errors: Vec<String>,
    /// `kill-all-on-stop` sweeps asked for (`Notice::KillAll`) and not yet reported done.
    sweeps: Vec<ServiceId>,
}

impl FakeOs {
    fn new_proc(&mut self, service: ServiceId, fate: Fate, ready: bool) -> Pid {
        self.next_pid += 1;
        self.procs.insert(
            self.next_pid,
            Proc {
                service,
                exec_pending: true,
                fate,
                ready_pending: ready,
                dying: None,
            },
        );
        self.next_pid
    }
}

impl Host for FakeOs {
    fn spawn(
        &mut self,
        service: ServiceId,
        command: CommandKind,
        _on_console: bool,
    ) -> Result<Pid, LaunchFailed> {
        if self.rng.chance(2) {
            return Err(LaunchFailed);
        }
        // The fate depends on the kind, which the fake OS learns from the service id's config
        // through the ready list; keep it generic: any process may fail, exit or run.
        let fate = match (command, self.rng.below(100)) {
            (_, 0..=5) => Fate::ExecFails,
            (CommandKind::Stop, _) => Fate::Exits(if self.rng.chance(80) {
                ExitStatus::Exited(0)
            } else {
                ExitStatus::Exited(1)
            }),
            (CommandKind::Start, 6..=40) => Fate::Exits(match self.rng.below(6) {
                0 => ExitStatus::Exited(1),
                1 => ExitStatus::Signaled(signal::INT),
                2 => ExitStatus::Signaled(11),
                _ => ExitStatus::Exited(0),
            }),
            (CommandKind::Start, _) => Fate::Runs {
                stubborn: self.rng.chance(15),
            },
        };
        let ready = self.ready_services.contains(&service) && command == CommandKind::Start;
        Ok(self.new_proc(service, fate, ready))
    }

    fn signal(&mut self, _service: ServiceId, pid: Pid, sig: i32, _group: bool) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if p.dying.is_some() {
            return;
        }
        let dies = match sig {
            s if s == signal::KILL => true,
            _ => !matches!(p.fate, Fate::Runs { stubborn: true }),
        };
        if dies {
            p.dying = Some(ExitStatus::Signaled(sig));
        }
    }

    fn read_pid_file(&mut self, service: ServiceId) -> PidFileResult {
        match self.rng.below(10) {
            0 => PidFileResult::Invalid,
            1 => PidFileResult::NotRunning,
            _ => {
                let pid = self.new_proc(service, Fate::Runs { stubborn: false }, false);
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.exec_pending = false;
                }
                PidFileResult::Running(pid)
            }
        }
    }

    fn event(&mut self, service: ServiceId, event: ServiceEvent, status: &ServiceStatus) {
        let ok = match event {
            ServiceEvent::Started => status.state == ServiceState::Started,
            ServiceEvent::Stopped => {
                matches!(status.state, ServiceState::Stopped | ServiceState::Starting)
            }
            ServiceEvent::FailedStart => status.target == ServiceState::Stopped,
            ServiceEvent::StartCancelled | ServiceEvent::StopCancelled => true,
        };
        if !ok {
            self.errors.push(format!(
                "{service:?}: {event:?} event with status {status:?}"
            ));
        }
        self.events.push((service, event, *status));
    }

    fn notice(&mut self, notice: Notice) {
        if let Notice::KillAll(id) = notice {
            // TERM to every process: all but the stubborn ones end (the KILL at the end of the
            // sweep is modelled by `kill_all_done`).
            for p in self.procs.values_mut() {
                if p.dying.is_none() && !matches!(p.fate, Fate::Runs { stubborn: true }) {
                    p.dying = Some(ExitStatus::Signaled(signal::TERM));
                }
            }
            self.sweeps.push(id);
        }
        self.notices.push(notice);
    }
}

struct Sim {
    set: std::boxed::Box<SimSet>,
    os: FakeOs,
    now: Instant,
    names: Vec<String>,
    steps: usize,
    last_dump: String,
}

fn random_config(rng: &mut Rng) -> ServiceConfig {
    let mut cfg = match rng.below(6) {
        0 | 1 => process(),
        2 => scripted(),
        3 => bgprocess(),
        4 => triggered(),
        _ => internal(),
    };
    let opts = [
        Options::START_INTERRUPTIBLE,
        Options::SKIPPABLE,
        Options::RUNS_ON_CONSOLE,
        Options::STARTS_ON_CONSOLE,
        Options::SHARES_CONSOLE,
        Options::ALWAYS_CHAIN,
        Options::SIGNAL_PROCESS_ONLY,
        Options::KILL_ALL_ON_STOP,
    ];
    for o in opts {
        if rng.chance(12) {
            cfg.options = cfg.options.with_console_option(o);
        }
    }
    cfg.restart = match rng.below(3) {
        0 => AutoRestart::Yes,
        1 => AutoRestart::OnFailure,
        _ => AutoRestart::No,
    };
    cfg.smooth_recovery = rng.chance(20);
    cfg.restart_delay = Duration::from_millis(rng.below(300) as u64);
    cfg.restart_limit_interval = Duration::from_millis(rng.below(5000) as u64);
    cfg.restart_limit_count = rng.below(5) as u16;
    cfg.start_timeout = if rng.chance(30) {
        Duration::ZERO
    } else {
        Duration::from_millis(100 + rng.below(5000) as u64)
    };
    cfg.stop_timeout = Duration::from_millis(100 + rng.below(5000) as u64);
    cfg.term_signal = match rng.below(4) {
        0 => signal::HUP,
        1 => 0,
        _ => signal::TERM,
    };
    cfg.has_stop_command = rng.chance(30);
    cfg.ready_notification = cfg.kind == ServiceKind::Process && rng.chance(30);
    cfg
}

const KINDS: [DepKind; 6] = [
    DepKind::Regular,
    DepKind::WaitsFor,
    DepKind::Milestone,
    DepKind::Before,
    DepKind::After,
    DepKind::PreparedBy,
];

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut rng = Rng::new(seed);
        let n = 2 + rng.below(10);
        let mut set = std::boxed::Box::new(SimSet::new());
        let mut os = FakeOs {
            rng: Rng::new(seed ^ 0xdead_beef),
            procs: BTreeMap::new(),
            next_pid: 1000,
            ready_services: Vec::new(),
            events: Vec::new(),
            notices: Vec::new(),
            errors: Vec::new(),
            sweeps: Vec::new(),
        };
        let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        set.begin_load().unwrap();
        let mut ids = Vec::new();
        for name in &names {
            let cfg = random_config(&mut rng);
            let chain = if rng.chance(15) {
                names[rng.below(n)].clone()
            } else {
                String::new()
            };
            let id = set
                .insert_service(name.as_bytes(), cfg, chain.as_bytes())
                .unwrap();
            if cfg.ready_notification {
                os.ready_services.push(id);
            }
            ids.push(id);
        }
        // A DAG: edges only from higher to lower index, ordering edges anywhere acyclic too.
        for i in 1..n {
            for _ in 0..rng.below(3) {
                let j = rng.below(i);
                let kind = KINDS[rng.below(KINDS.len())];
                let (from, to) = if kind == DepKind::Before {
                    (ids[j], ids[i])
                } else {
                    (ids[i], ids[j])
                };
                set.add_dependency(from, to, kind).unwrap();
            }
        }
        set.commit_load().unwrap();
        Sim {
            set,
            os,
            now: Instant::from_nanos(1_000_000_000),
            names,
            steps: 0,
            last_dump: String::new(),
        }
    }

    fn ids(&self) -> Vec<ServiceId> {
        self.set.iter().collect()
    }

    fn digest(&self) -> String {
        let mut s = String::new();
        for id in self.set.iter() {
            let st = self.set.status(id).unwrap();
            s.push_str(&format!(
                "{:?}:{:?}/{:?}/{}/{:?};",
                self.set.name(id),
                st.state,
                st.target,
                self.set.required_by(id).unwrap(),
                self.set.dependencies(id).collect::<Vec<_>>()
            ));
        }
        s.push_str(&format!("edges={}", self.set.edges_in_use()));
        s
    }

    fn dump(&self) -> String {
        let mut s = String::new();
        for (i, r) in self.set.records.iter().enumerate() {
            if !r.in_use {
                continue;
            }
            s.push_str(&format!(
                "[{i}] {} {:?} {:?}->{:?} req={} flags={:#010x} pid={} stop_pid={} reason={:?} timer={:?}\n",
                String::from_utf8_lossy(self.set.names.get(r.name)),
                r.cfg.kind,
                r.state,
                r.target,
                r.required_by,
                r.flags,
                r.pid,
                r.stop_pid,
                r.stop_reason,
                r.timer
            ));
            let mut link = r.deps_head;
            while let Some(e) = link.get() {
                let edge = self.set.edge(e);
                s.push_str(&format!(
                    "      -> [{}] {:?} holding={} waiting={}\n",
                    edge.to, edge.kind, edge.holding, edge.waiting
                ));
                link = edge.next_dep;
            }
        }
        s
    }

    fn pick(&mut self) -> Option<ServiceId> {
        let ids = self.ids();
        if ids.is_empty() {
            None
        } else {
            Some(ids[self.os.rng.below(ids.len())])
        }
    }

    /// One random step. Returns a description for failure reports.
    fn step(&mut self, allow_commands: bool) -> String {
        self.steps += 1;
        if std::env::var("SIM_VERBOSE").is_ok() {
            self.last_dump = self.dump();
        }
        let before: BTreeMap<ServiceId, ServiceState> = self
            .ids()
            .into_iter()
            .map(|id| (id, self.set.state(id).unwrap()))
            .collect();
        self.os.events.clear();
        let roll = self.os.rng.below(100);
        let what = if allow_commands && roll < 30 {
            self.command()
        } else if roll < 85 || self.set.next_deadline().is_none() {
            self.os_event()
        } else {
            self.advance()
        };
        self.handle_chains();
        let mut what = what;
        if std::env::var("SIM_VERBOSE").is_ok() {
            for (id, e, st) in &self.os.events {
                what.push_str(&format!(
                    " | {}:{:?}({:?}/{:?})",
                    id.index(),
                    e,
                    st.state,
                    st.target
                ));
            }
        }
        if std::env::var("SIM_VERBOSE").as_deref() == Ok("2") {
            std::eprintln!("step {}: {what}", self.steps);
        }
        self.check(&before, &what);
        what
    }

    fn command(&mut self) -> String {
        let Some(id) = self.pick() else {
            return "nothing".into();
        };
        let now = self.now;
        let rng = &mut self.os.rng;
        let c = rng.below(14);
        let pin = if rng.chance(10) { Pin::Pin } else { Pin::NoPin };
        let gentle = if rng.chance(50) {
            Gentle::Gentle
        } else {
            Gentle::Force
        };
        if c >= 13 {
            return self.load_more();
        }
        match c {
            0..=2 => {
                let r = self.set.start(id, pin, now, &mut self.os);
                format!("start {id:?} {pin:?} -> {r:?}")
            }
            3 | 4 => {
                let r = self.set.stop(id, pin, gentle, now, &mut self.os);
                format!("stop {id:?} {pin:?} {gentle:?} -> {r:?}")
            }
            5 => {
                let r = self.set.release(id, pin, now, &mut self.os);
                format!("release {id:?} -> {r:?}")
            }
            6 => {
                let r = self.set.wake(id, pin, now, &mut self.os);
                format!("wake {id:?} -> {r:?}")
            }
            7 => {
                let r = self.set.restart(id, gentle, now, &mut self.os);
                format!("restart {id:?} {gentle:?} -> {r:?}")
            }
            8 => {
                let r = self.set.unpin(id, now, &mut self.os);
                format!("unpin {id:?} -> {r:?}")
            }
            9 => {
                let on = self.os.rng.chance(70);
                let r = self.set.set_trigger(id, on, now, &mut self.os);
                format!("trigger {id:?} {on} -> {r:?}")
            }
            10 | 11 => {
                let Some(other) = self.pick() else {
                    return "nothing".into();
                };
                let kind =
                    [DepKind::Regular, DepKind::WaitsFor, DepKind::Milestone][self.os.rng.below(3)];
                let enable = self.os.rng.chance(50);
                if c == 10 {
                    let before = self.digest();
                    let r = self.set.add_dep(id, other, kind, enable, now, &mut self.os);
                    if r.is_err() {
                        assert_eq!(before, self.digest(), "a refused add_dep changed the set");
                    }
                    format!("add_dep {id:?} {other:?} {kind:?} enable={enable} -> {r:?}")
                } else {
                    let r = self.set.rm_dep(id, other, kind, now, &mut self.os);
                    format!("rm_dep {id:?} {other:?} {kind:?} -> {r:?}")
                }
            }
            12 => {
                let before = self.digest();
                let r = self.set.unload(id, now, &mut self.os);
                if r.is_err() {
                    assert_eq!(before, self.digest(), "a refused unload changed the set");
                }
                format!("unload {id:?} -> {r:?}")
            }
            _ => "nothing".into(),
        }
    }

    /// Loads one more service with dependencies on existing ones; may hit capacity limits,
    /// which must change nothing.
    fn load_more(&mut self) -> String {
        let before = self.digest();
        let name = format!("n{}", self.steps);
        let cfg = random_config(&mut self.os.rng);
        let targets = self.ids();
        self.set.begin_load().unwrap();
        let r = (|| {
            let id = self.set.insert_service(name.as_bytes(), cfg, b"")?;
            for _ in 0..self.os.rng.below(4) {
                if targets.is_empty() {
                    break;
                }
                let t = targets[self.os.rng.below(targets.len())];
                let kind = KINDS[self.os.rng.below(KINDS.len())];
                self.set.add_dependency(id, t, kind)?;
            }
            self.set.commit_load()
        })();
        if r.is_err() {
            self.set.abort_load();
            assert_eq!(before, self.digest(), "a failed load changed the set");
        } else {
            if cfg.ready_notification {
                if let Some(id) = self.set.find(name.as_bytes()) {
                    self.os.ready_services.push(id);
                }
            }
            self.names.push(name.clone());
        }
        format!("load {name} -> {r:?}")
    }

    /// Delivers one pending process event, if any.
    /// Ends the oldest outstanding kill-all sweep: KILL to whatever is left (their exits are
    /// reported later, as a sweep that timed out leaves them), then the engine is told.
    fn finish_sweep(&mut self) -> Option<String> {
        if self.os.sweeps.is_empty() {
            return None;
        }
        let id = self.os.sweeps.remove(0);
        for p in self.os.procs.values_mut() {
            if p.dying.is_none() {
                p.dying = Some(ExitStatus::Signaled(signal::KILL));
            }
        }
        let now = self.now;
        self.set.kill_all_done(id, now, &mut self.os);
        Some(format!("kill-all done {id:?}"))
    }

    fn os_event(&mut self) -> String {
        if !self.os.sweeps.is_empty() && self.os.rng.chance(20) {
            if let Some(what) = self.finish_sweep() {
                return what;
            }
        }
        let pids: Vec<Pid> = self.os.procs.keys().copied().collect();
        if pids.is_empty() {
            return self.advance();
        }
        let pid = pids[self.os.rng.below(pids.len())];
        let p = self.os.procs[&pid].clone();
        let now = self.now;
        if let Some(status) = p.dying {
            self.os.procs.remove(&pid);
            self.set
                .process_exited(p.service, pid, status, now, &mut self.os);
            return format!("exit {pid} {status:?} (killed)");
        }
        if p.exec_pending {
            if p.fate == Fate::ExecFails {
                self.os.procs.remove(&pid);
                self.set
                    .exec_failed(p.service, pid, ExecStage::DoExec, 2, now, &mut self.os);
                self.set
                    .process_exited(p.service, pid, ExitStatus::Exited(127), now, &mut self.os);
                return format!("exec failed {pid}");
            }
            if let Some(q) = self.os.procs.get_mut(&pid) {
                q.exec_pending = false;
            }
            self.set.exec_succeeded(p.service, pid, now, &mut self.os);
            return format!("exec ok {pid}");
        }
        if p.ready_pending && self.os.rng.chance(80) {
            if let Some(q) = self.os.procs.get_mut(&pid) {
                q.ready_pending = false;
            }
            // Mostly a notification; sometimes the pipe is closed without one.
            if self.os.rng.chance(10) {
                self.set.readiness_lost(p.service, now, &mut self.os);
                return format!("readiness lost {pid}");
            }
            self.set.ready(p.service, now, &mut self.os);
            return format!("ready {pid}");
        }
        match p.fate {
            Fate::Exits(status) => {
                self.os.procs.remove(&pid);
                self.set
                    .process_exited(p.service, pid, status, now, &mut self.os);
                format!("exit {pid} {status:?}")
            }
            _ => {
                if self.os.rng.chance(5) {
                    // A crash.
                    self.os.procs.remove(&pid);
                    self.set.process_exited(
                        p.service,
                        pid,
                        ExitStatus::Signaled(11),
                        now,
                        &mut self.os,
                    );
                    format!("crash {pid}")
                } else {
                    "idle".into()
                }
            }
        }
    }

    fn advance(&mut self) -> String {
        let to = match self.set.next_deadline() {
            Some(d) if self.os.rng.chance(70) => d,
            _ => self
                .now
                .saturating_add(Duration::from_millis(self.os.rng.below(500) as u64)),
        };
        if to > self.now {
            self.now = to;
        }
        self.set.handle_timers(self.now, &mut self.os);
        format!("time {}", self.now.as_nanos())
    }

    /// What the runtime does with `Notice::ChainTo`: start the target once the input returns.
    fn handle_chains(&mut self) {
        let chains: Vec<ServiceId> = self
            .os
            .notices
            .iter()
            .filter_map(|n| match n {
                Notice::ChainTo(id) => Some(*id),
                _ => None,
            })
            .collect();
        self.os.notices.retain(|n| !matches!(n, Notice::ChainTo(_)));
        for id in chains {
            let Some(target) = self.set.chain_to(id).and_then(|n| self.set.find(n)) else {
                continue;
            };
            let now = self.now;
            let _ = self.set.start(target, Pin::NoPin, now, &mut self.os);
        }
    }

    fn check(&mut self, before: &BTreeMap<ServiceId, ServiceState>, what: &str) {
        if let Err(e) = self.set.verify_integrity() {
            panic!(
                "after step {} ({what}): integrity: {} at {}",
                self.steps, e.what, e.index
            );
        }
        if let Some(e) = self.os.errors.first() {
            panic!("after step {} ({what}): {e}", self.steps);
        }
        assert!(
            !self.os.notices.contains(&Notice::PropagationLimit),
            "propagation limit hit at step {}",
            self.steps
        );
        for (id, _, _) in &self.os.events {
            assert!(
                self.set.contains(*id),
                "event for an unknown service after {what}"
            );
        }
        // No event is lost: entering STARTED or STOPPED is always reported.
        for (&id, &old) in before {
            let Some(new) = self.set.state(id) else {
                continue;
            };
            if new == old {
                continue;
            }
            let saw =
                |e: ServiceEvent| self.os.events.iter().any(|(i, ev, _)| *i == id && *ev == e);
            if new == ServiceState::Started {
                assert!(
                    saw(ServiceEvent::Started),
                    "{id:?} became STARTED silently after {what}"
                );
            }
            if new == ServiceState::Stopped {
                assert!(
                    saw(ServiceEvent::Stopped),
                    "{id:?} became STOPPED silently after {what}"
                );
            }
        }
    }

    /// Shuts down and runs the world until it settles: everything must stop.
    fn finish(&mut self) {
        self.os.notices.clear();
        let now = self.now;
        self.set.shutdown(ShutdownKind::Halt, now, &mut self.os);
        if let Err(e) = self.set.verify_integrity() {
            panic!(
                "after the shutdown request: integrity: {} at {}",
                e.what, e.index
            );
        }
        let mut rounds = 0;
        while self.set.active_count() > 0 {
            rounds += 1;
            assert!(
                rounds < 100_000,
                "did not settle after shutdown: {}",
                self.digest()
            );
            let before: BTreeMap<ServiceId, ServiceState> = self
                .ids()
                .into_iter()
                .map(|id| (id, self.set.state(id).unwrap()))
                .collect();
            self.os.events.clear();
            let what = if let Some((&pid, p)) = self
                .os
                .procs
                .iter()
                .find(|(_, p)| p.dying.is_some() || p.exec_pending)
            {
                let p = p.clone();
                if p.exec_pending && p.fate != Fate::ExecFails {
                    self.os.procs.get_mut(&pid).unwrap().exec_pending = false;
                    self.set
                        .exec_succeeded(p.service, pid, self.now, &mut self.os);
                } else {
                    self.os.procs.remove(&pid);
                    let status = p.dying.unwrap_or(ExitStatus::Exited(127));
                    self.set
                        .process_exited(p.service, pid, status, self.now, &mut self.os);
                }
                format!("settle {pid}")
            } else if let Some(what) = self.finish_sweep() {
                what
            } else if let Some(d) = self.set.next_deadline() {
                self.now = self.now.max(d);
                self.set.handle_timers(self.now, &mut self.os);
                "settle time".into()
            } else if let Some((&pid, p)) = self.os.procs.iter().next() {
                // Everything left finishes on its own eventually.
                let service = p.service;
                self.os.procs.remove(&pid);
                self.set.process_exited(
                    service,
                    pid,
                    ExitStatus::Exited(0),
                    self.now,
                    &mut self.os,
                );
                format!("settle exit {pid}")
            } else {
                panic!("stuck with nothing to do: {}", self.digest());
            };
            self.check(&before, &what);
        }
        for id in self.ids() {
            assert_eq!(self.set.state(id), Some(ServiceState::Stopped));
        }
        assert!(self.os.notices.contains(&Notice::Idle {
            shutdown: Some(ShutdownKind::Halt)
        }));
    }
}

/// Runs one seed for `steps` random steps, then shuts down and checks that it settles.
pub(super) fn run_seed(seed: u64, steps: usize) {
    let mut sim = Sim::new(seed);
    let mut log: Vec<String> = Vec::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for _ in 0..steps {
            let what = sim.step(true);
            log.push(what);
        }
        sim.finish();
    }));
    if let Err(e) = result {
        let n = if std::env::var("SIM_VERBOSE").is_ok() {
            log.len()
        } else {
            15
        };
        let tail: Vec<&String> = log.iter().rev().take(n).collect();
        std::eprintln!("seed {seed} failed; last steps (newest first): {tail:#?}");
        std::eprintln!(
            "before the last step:\n{}\nafter:\n{}",
            sim.last_dump,
            sim.dump()
        );
        std::panic::resume_unwind(e);
    }
}

/// Many seeds, from the environment: `SIM_SEEDS` (default 200) and `SIM_STEPS` (default 400),
/// starting at `SIM_FIRST_SEED` (default 0).
pub(super) fn run_seeds() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let first = env("SIM_FIRST_SEED", 0);
    let seeds = env("SIM_SEEDS", 200);
    let steps = env("SIM_STEPS", 400) as usize;
    for seed in first..first + seeds {
        run_seed(seed, steps);
    }
    std::println!("simulated {seeds} seeds x {steps} steps: all invariants held");
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn random_schedules_keep_every_invariant(seed in any::<u64>()) {
            super::run_seed(seed, 300);
        }
    }

    /// `just sim`: many seeds, long schedules (ignored in the normal test run).
    #[test]
    #[ignore]
    fn sim_many_seeds() {
        super::run_seeds();
    }
}
