//! Unit tests of the engine, one or more per rule of dinit(8) "SERVICE ACTIVATION MODEL",
//! dinit-service(5) "SERVICE DEPENDENCIES" and the settings that shape activation, restart and
//! stop, and dinitctl(8) command semantics. Each test names the rule it checks.

use super::*;
use crate::config::{Options, ServiceConfig};
use crate::signal;
use crate::time::{Duration, Instant};
use crate::types::{
    AutoRestart, DepKind, ExecStage, ExitStatus, Pid, ServiceEvent, ServiceKind, ServiceState,
    StopReason,
};
use std::boxed::Box;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

pub(super) type Set = ServiceSet<64, 256, 4096>;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Call {
    Spawn(ServiceId, CommandKind, Pid, bool),
    Signal(ServiceId, Pid, i32, bool),
    ReadPid(ServiceId),
    Event(ServiceId, ServiceEvent, ServiceStatus),
    Notice(Notice),
}

pub(super) struct Recorder {
    pub calls: Vec<Call>,
    pub next_pid: Pid,
    pub spawn_error: Option<i32>,
    pub pid_file: PidFileResult,
}

impl Host for Recorder {
    fn spawn(
        &mut self,
        service: ServiceId,
        command: CommandKind,
        on_console: bool,
    ) -> Result<Pid, LaunchFailed> {
        if self.spawn_error.is_some() {
            return Err(LaunchFailed);
        }
        self.next_pid += 1;
        self.calls
            .push(Call::Spawn(service, command, self.next_pid, on_console));
        Ok(self.next_pid)
    }
    fn signal(&mut self, service: ServiceId, pid: Pid, signal: i32, group: bool) {
        self.calls.push(Call::Signal(service, pid, signal, group));
    }
    fn read_pid_file(&mut self, service: ServiceId) -> PidFileResult {
        self.calls.push(Call::ReadPid(service));
        self.pid_file
    }
    fn event(&mut self, service: ServiceId, event: ServiceEvent, status: &ServiceStatus) {
        self.calls.push(Call::Event(service, event, *status));
    }
    fn notice(&mut self, notice: Notice) {
        self.calls.push(Call::Notice(notice));
    }
}

pub(super) struct World {
    pub set: Box<Set>,
    pub host: Recorder,
    pub now: Instant,
}

pub(super) fn internal() -> ServiceConfig {
    ServiceConfig::new(ServiceKind::Internal)
}
pub(super) fn process() -> ServiceConfig {
    ServiceConfig::new(ServiceKind::Process)
}
pub(super) fn scripted() -> ServiceConfig {
    ServiceConfig::new(ServiceKind::Scripted)
}
pub(super) fn bgprocess() -> ServiceConfig {
    ServiceConfig::new(ServiceKind::Bgprocess)
}
pub(super) fn triggered() -> ServiceConfig {
    ServiceConfig::new(ServiceKind::Triggered)
}

impl World {
    pub fn new() -> Self {
        World {
            set: Box::default(),
            host: Recorder {
                calls: Vec::new(),
                next_pid: 100,
                spawn_error: None,
                pid_file: PidFileResult::Invalid,
            },
            now: Instant::from_nanos(1_000_000_000),
        }
    }

    /// Loads services and dependencies `(from, to, kind)` in one transaction.
    pub fn with(services: &[(&str, ServiceConfig)], deps: &[(&str, &str, DepKind)]) -> Self {
        let mut w = World::new();
        w.load(services, deps).unwrap();
        w
    }

    pub fn load(
        &mut self,
        services: &[(&str, ServiceConfig)],
        deps: &[(&str, &str, DepKind)],
    ) -> Result<(), LoadError> {
        self.set.begin_load().unwrap();
        let r = (|| {
            for (name, cfg) in services {
                self.set.insert_service(name.as_bytes(), *cfg, b"")?;
            }
            for (from, to, kind) in deps {
                let f = self.set.placeholder(from.as_bytes())?;
                let t = self.set.placeholder(to.as_bytes())?;
                self.set.add_dependency(f, t, *kind)?;
            }
            self.set.commit_load()
        })();
        if r.is_err() {
            self.set.abort_load();
        }
        self.check();
        r
    }

    pub fn id(&self, name: &str) -> ServiceId {
        self.set
            .find(name.as_bytes())
            .unwrap_or_else(|| panic!("no service {name}"))
    }

    pub fn name(&self, id: ServiceId) -> String {
        String::from_utf8(self.set.name(id).unwrap_or(b"?").to_vec()).unwrap()
    }

    pub fn state(&self, name: &str) -> ServiceState {
        self.set.state(self.id(name)).unwrap()
    }

    pub fn status(&self, name: &str) -> ServiceStatus {
        self.set.status(self.id(name)).unwrap()
    }

    pub fn check(&self) {
        if let Err(e) = self.set.verify_integrity() {
            panic!(
                "integrity: {} at {} ({})",
                e.what,
                e.index,
                self.describe(e.index)
            );
        }
    }

    fn describe(&self, i: usize) -> String {
        let r = self.set.rec(i);
        std::format!(
            "{} state {:?} target {:?} req {} flags {:#x}",
            String::from_utf8_lossy(self.set.names.get(r.name)),
            r.state,
            r.target,
            r.required_by,
            r.flags
        )
    }

    pub fn start(&mut self, name: &str) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self.set.start(id, Pin::NoPin, self.now, &mut self.host);
        self.check();
        r
    }
    pub fn start_pinned(&mut self, name: &str) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self.set.start(id, Pin::Pin, self.now, &mut self.host);
        self.check();
        r
    }
    /// `dinitctl stop` (gentle).
    pub fn stop(&mut self, name: &str) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self
            .set
            .stop(id, Pin::NoPin, Gentle::Gentle, self.now, &mut self.host);
        self.check();
        r
    }
    /// `dinitctl stop --force`.
    pub fn stop_force(&mut self, name: &str) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self
            .set
            .stop(id, Pin::NoPin, Gentle::Force, self.now, &mut self.host);
        self.check();
        r
    }
    pub fn stop_pinned(&mut self, name: &str) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self
            .set
            .stop(id, Pin::Pin, Gentle::Force, self.now, &mut self.host);
        self.check();
        r
    }
    pub fn release(&mut self, name: &str) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self.set.release(id, Pin::NoPin, self.now, &mut self.host);
        self.check();
        r
    }
    pub fn wake(&mut self, name: &str) -> Result<WakeOutcome, Refusal> {
        let id = self.id(name);
        let r = self.set.wake(id, Pin::NoPin, self.now, &mut self.host);
        self.check();
        r
    }
    pub fn restart(&mut self, name: &str, gentle: Gentle) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self.set.restart(id, gentle, self.now, &mut self.host);
        self.check();
        r
    }
    pub fn unpin(&mut self, name: &str) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self.set.unpin(id, self.now, &mut self.host);
        self.check();
        r
    }
    pub fn trigger(&mut self, name: &str, on: bool) -> Result<(), Refusal> {
        let id = self.id(name);
        let r = self.set.set_trigger(id, on, self.now, &mut self.host);
        self.check();
        r
    }
    pub fn shutdown(&mut self, kind: ShutdownKind) {
        self.set.shutdown(kind, self.now, &mut self.host);
        self.check();
    }

    /// The pid the engine knows for the service.
    pub fn pid(&self, name: &str) -> Pid {
        self.status(name)
            .pid()
            .unwrap_or_else(|| panic!("{name} has no pid"))
    }
    pub fn exec_ok(&mut self, name: &str) {
        let (id, pid) = (self.id(name), self.pid(name));
        self.set.exec_succeeded(id, pid, self.now, &mut self.host);
        self.check();
    }
    pub fn exec_fail(&mut self, name: &str, stage: ExecStage, errno: i32) {
        let (id, pid) = (self.id(name), self.pid(name));
        self.set
            .exec_failed(id, pid, stage, errno, self.now, &mut self.host);
        self.check();
    }
    pub fn ready(&mut self, name: &str) {
        let id = self.id(name);
        self.set.ready(id, self.now, &mut self.host);
        self.check();
    }
    pub fn exit_pid(&mut self, name: &str, pid: Pid, status: ExitStatus) {
        let id = self.id(name);
        self.set
            .process_exited(id, pid, status, self.now, &mut self.host);
        self.check();
    }
    pub fn exit(&mut self, name: &str, status: ExitStatus) {
        let pid = self.pid(name);
        self.exit_pid(name, pid, status);
    }
    /// Starts a process service's process: exec succeeds.
    pub fn run(&mut self, name: &str) {
        self.exec_ok(name);
    }
    /// The host's kill-all sweep for `name` is over.
    pub fn kill_all_done(&mut self, name: &str) {
        let id = self.id(name);
        self.set.kill_all_done(id, self.now, &mut self.host);
        self.check();
    }
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.saturating_add(d);
        self.set.handle_timers(self.now, &mut self.host);
        self.check();
    }
    pub fn advance_ms(&mut self, ms: u64) {
        self.advance(Duration::from_millis(ms));
    }

    pub fn take(&mut self) -> Vec<Call> {
        core::mem::take(&mut self.host.calls)
    }

    /// Drains the recorded calls and returns the service events as `name event`.
    pub fn events(&mut self) -> Vec<String> {
        let calls = self.take();
        calls
            .into_iter()
            .filter_map(|c| match c {
                Call::Event(id, ev, _) => Some(std::format!("{} {:?}", self.name(id), ev)),
                _ => None,
            })
            .collect()
    }

    /// Drains the recorded calls and returns the spawns as `name Start|Stop`.
    pub fn spawns(&mut self) -> Vec<String> {
        let calls = self.take();
        calls
            .into_iter()
            .filter_map(|c| match c {
                Call::Spawn(id, k, _, _) => Some(std::format!("{} {:?}", self.name(id), k)),
                _ => None,
            })
            .collect()
    }

    /// Drains the recorded calls and returns the signals as `name SIG group`.
    pub fn signals(&mut self) -> Vec<(String, i32, bool)> {
        let calls = self.take();
        calls
            .into_iter()
            .filter_map(|c| match c {
                Call::Signal(id, _, sig, group) => Some((self.name(id), sig, group)),
                _ => None,
            })
            .collect()
    }

    pub fn notices(&mut self) -> Vec<Notice> {
        let calls = self.take();
        calls
            .into_iter()
            .filter_map(|c| match c {
                Call::Notice(n) => Some(n),
                _ => None,
            })
            .collect()
    }
}

fn ev(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ----- basic activation ---------------------------------------------------------------------

#[test]
fn start_starts_dependencies_before_the_dependent() {
    // dinit(8): "Starting a service also causes the dependencies of that service to start".
    let mut w = World::with(
        &[("boot", internal()), ("a", internal()), ("b", internal())],
        &[
            ("boot", "a", DepKind::Regular),
            ("a", "b", DepKind::Regular),
        ],
    );
    w.start("boot").unwrap();
    assert_eq!(w.events(), ev(&["b Started", "a Started", "boot Started"]));
    assert_eq!(w.state("a"), ServiceState::Started);
    let st = w.status("boot");
    assert!(st.flags.has(StatusFlags::MARKED_ACTIVE));
    assert!(!w.status("a").flags.has(StatusFlags::MARKED_ACTIVE));
    assert_eq!(w.status("a").target, ServiceState::Started);
}

#[test]
fn process_is_not_launched_until_hard_dependencies_have_started() {
    // dinit(8): "the process will not be started until all hard dependencies have already
    // started".
    let mut w = World::with(
        &[("app", process()), ("db", process())],
        &[("app", "db", DepKind::Regular)],
    );
    w.start("app").unwrap();
    assert_eq!(w.spawns(), ev(&["db Start"]));
    assert_eq!(w.state("app"), ServiceState::Starting);
    w.run("db");
    assert_eq!(w.spawns(), ev(&["app Start"]));
    w.run("app");
    assert_eq!(w.state("app"), ServiceState::Started);
}

#[test]
fn failed_dependency_means_the_dependent_command_never_runs() {
    // dinit(8): "in the case of a service which fails to start due to a dependency failing,
    // the service command will never be run".
    let mut w = World::with(
        &[("app", process()), ("db", process())],
        &[("app", "db", DepKind::Regular)],
    );
    w.start("app").unwrap();
    w.take();
    w.exec_fail("db", ExecStage::DoExec, 2);
    let calls = w.take();
    assert!(!calls.iter().any(|c| matches!(c, Call::Spawn(..))));
    assert_eq!(w.state("app"), ServiceState::Stopped);
    assert_eq!(w.status("app").stop_reason, StopReason::DepFailed);
    assert!(w.status("app").is_failed());
    let db = w.status("db");
    assert_eq!(db.stop_reason, StopReason::ExecFailed);
    assert_eq!(db.exec_failure, Some((ExecStage::DoExec, 2)));
    // Explicit activation was removed.
    assert!(!w.status("app").flags.has(StatusFlags::MARKED_ACTIVE));
    assert_eq!(w.set.active_count(), 0);
}

#[test]
fn failed_start_events_carry_the_starting_state_then_stopped() {
    // control-protocol 9.2: "failed start: FAILEDSTART (state usually STARTING ... target
    // STOPPED ...), then later STOPPED".
    let mut w = World::with(&[("failing", scripted())], &[]);
    w.start("failing").unwrap();
    w.take();
    w.exit("failing", ExitStatus::Exited(3));
    let calls = w.take();
    let evs: Vec<_> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Event(_, e, s) => Some((*e, *s)),
            _ => None,
        })
        .collect();
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].0, ServiceEvent::FailedStart);
    assert_eq!(evs[0].1.state, ServiceState::Starting);
    assert_eq!(evs[0].1.target, ServiceState::Stopped);
    assert_eq!(evs[0].1.stop_reason, StopReason::Failed);
    assert_eq!(evs[0].1.exit, ExitStatus::Exited(3));
    assert_eq!(evs[1].0, ServiceEvent::Stopped);
    assert_eq!(evs[1].1.state, ServiceState::Stopped);
}

#[test]
fn a_dependent_failed_by_its_dependency_reports_start_failed_as_stopped() {
    // As Dinit (seen through libdinitctl): a dependent that never ran is STOPPED by the time
    // its FAILEDSTART is sent, then reports STOPPED.
    let mut w = World::with(
        &[("failing", scripted()), ("dependent", internal())],
        &[("dependent", "failing", DepKind::Regular)],
    );
    w.start("dependent").unwrap();
    w.take();
    w.exit("failing", ExitStatus::Exited(1));
    let id = w.id("dependent");
    let evs: Vec<_> = w
        .take()
        .iter()
        .filter_map(|c| match c {
            Call::Event(s, e, st) if *s == id => Some((*e, st.state, st.target, st.stop_reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        evs,
        [
            (
                ServiceEvent::FailedStart,
                ServiceState::Stopped,
                ServiceState::Stopped,
                StopReason::DepFailed
            ),
            (
                ServiceEvent::Stopped,
                ServiceState::Stopped,
                ServiceState::Stopped,
                StopReason::DepFailed
            ),
        ]
    );
}

#[test]
fn a_start_does_not_cancel_a_stop_command_waiting_for_dependents() {
    // As Dinit (seen through libdinitctl): `y` is stopped by command while its dependent `x`
    // runs a stop command. `x` loses its explicit activation at once; a start of `y` before
    // `x` is down does not cancel `y`'s stop: `y` stops, then starts again.
    let mut x = scripted();
    x.has_stop_command = true;
    let mut w = World::with(
        &[("y", internal()), ("x", x)],
        &[("x", "y", DepKind::Regular)],
    );
    w.start("x").unwrap();
    w.exit("x", ExitStatus::Exited(0));
    assert_eq!(w.state("x"), ServiceState::Started);
    w.take();
    w.stop_force("y").unwrap();
    assert_eq!(w.state("x"), ServiceState::Stopping);
    assert!(
        !w.status("x").flags.has(StatusFlags::MARKED_ACTIVE),
        "no longer explicitly active while it stops"
    );
    assert_eq!(w.state("y"), ServiceState::Stopping);
    w.take();
    w.start("y").unwrap();
    assert_eq!(w.events(), Vec::<String>::new(), "no STOPCANCELLED");
    let st = w.status("y");
    assert_eq!(
        (st.state, st.target),
        (ServiceState::Stopping, ServiceState::Started)
    );
    w.exit("x", ExitStatus::Exited(0));
    assert_eq!(w.events(), ev(&["x Stopped", "y Stopped", "y Started"]));
    assert_eq!(w.state("y"), ServiceState::Started);
    assert_eq!(w.state("x"), ServiceState::Stopped);
}

#[test]
fn a_shutdown_stops_a_pinned_service_at_its_unpin() {
    // As Dinit (seen through libdinitctl: pin-start, boot, pin-stop): services stop in load
    // order, but one pinned started goes down when the shutdown unpins it, before those whose
    // stops are still queued.
    let mut w = World::with(
        &[("boot", internal()), ("p", internal()), ("q", internal())],
        &[],
    );
    w.start("boot").unwrap();
    w.start_pinned("p").unwrap();
    w.start("q").unwrap();
    w.take();
    w.shutdown(ShutdownKind::Halt);
    assert_eq!(w.events(), ev(&["p Stopped", "boot Stopped", "q Stopped"]));
}

#[test]
fn a_dependency_started_again_is_held_again_by_its_soft_dependents() {
    // As Dinit: `top` waits for `b`; `b` is stopped (the soft link is broken), then started
    // again: `top`, still started, holds it again, so releasing `b` leaves it running.
    let mut w = World::with(
        &[("top", internal()), ("b", internal())],
        &[("top", "b", DepKind::WaitsFor)],
    );
    w.start("top").unwrap();
    w.stop_force("b").unwrap();
    assert_eq!(w.state("b"), ServiceState::Stopped);
    assert_eq!(w.state("top"), ServiceState::Started);
    w.start("b").unwrap();
    w.release("b").unwrap();
    assert_eq!(w.state("b"), ServiceState::Started);
    assert!(!w.status("b").flags.has(StatusFlags::MARKED_ACTIVE));
    w.stop("top").unwrap();
    assert_eq!(
        w.state("b"),
        ServiceState::Stopped,
        "let go with its dependent"
    );
}

#[test]
fn stop_is_refused_gently_when_hard_dependents_would_stop() {
    // dinitctl(8) stop: "If the service has (non-soft) dependents, an error will be displayed
    // and no further action taken, unless the '--force' option is used."
    let mut w = World::with(
        &[("sleeper", process()), ("dependent", process())],
        &[("dependent", "sleeper", DepKind::Regular)],
    );
    w.start("sleeper").unwrap();
    w.run("sleeper");
    w.start("dependent").unwrap();
    w.run("dependent");
    assert_eq!(w.stop("sleeper"), Err(Refusal::HasDependents));
    let deps: Vec<_> = w.set.active_hard_dependents(w.id("sleeper")).collect();
    assert_eq!(deps, vec![w.id("dependent")]);
    assert_eq!(w.state("sleeper"), ServiceState::Started);
    assert!(
        w.status("sleeper").flags.has(StatusFlags::MARKED_ACTIVE),
        "nothing changed"
    );
}

#[test]
fn forced_stop_stops_dependents_first_and_removes_their_activation() {
    // dinit(8): "stopping a service first stops any dependent services"; dinitctl(8):
    // "this command inhibits automatic restart. This also applies to any dependents".
    let mut w = World::with(
        &[("sleeper", process()), ("dependent", process())],
        &[("dependent", "sleeper", DepKind::Regular)],
    );
    w.start("sleeper").unwrap();
    w.run("sleeper");
    w.start("dependent").unwrap();
    w.run("dependent");
    w.take();
    w.stop_force("sleeper").unwrap();
    // Only the dependent is signalled; the dependency waits for it.
    assert_eq!(
        w.signals(),
        vec![("dependent".to_string(), signal::TERM, true)]
    );
    assert_eq!(w.state("sleeper"), ServiceState::Stopping);
    w.exit("dependent", ExitStatus::Signaled(signal::TERM));
    assert_eq!(
        w.signals(),
        vec![("sleeper".to_string(), signal::TERM, true)]
    );
    w.exit("sleeper", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("sleeper"), ServiceState::Stopped);
    assert_eq!(w.state("dependent"), ServiceState::Stopped);
    let d = w.status("dependent");
    assert_eq!(d.stop_reason, StopReason::DepFailed);
    assert!(!d.flags.has(StatusFlags::MARKED_ACTIVE));
    assert_eq!(d.target, ServiceState::Stopped);
    assert_eq!(w.status("sleeper").stop_reason, StopReason::Normal);
    assert_eq!(w.set.active_count(), 0);
}

#[test]
fn release_stops_dependencies_no_longer_required() {
    // dinit(8): "starting a service by explicitly activating it will also start any of its
    // dependencies which are not currently started, and ... stopping the same service will
    // result in the same set of dependencies also stopping".
    let mut w = World::with(
        &[("boot", internal()), ("a", internal()), ("b", internal())],
        &[
            ("boot", "a", DepKind::Regular),
            ("boot", "b", DepKind::WaitsFor),
        ],
    );
    w.start("boot").unwrap();
    w.take();
    w.release("boot").unwrap();
    for s in ["boot", "a", "b"] {
        assert_eq!(w.state(s), ServiceState::Stopped, "{s}");
    }
    // As in Dinit, the dependencies are released at once: the soft one (b) stops at once, the
    // hard one (a) once its dependent has stopped.
    assert_eq!(
        w.events(),
        ["b Stopped", "boot Stopped", "a Stopped"],
        "the dependent stops before its hard dependencies"
    );
    assert_eq!(w.set.active_count(), 0);
}

#[test]
fn a_dependency_shared_with_another_active_service_stays_up() {
    // dinit(8): "unless they are also required by another explicitly activated service".
    let mut w = World::with(
        &[("a", internal()), ("b", internal()), ("shared", internal())],
        &[
            ("a", "shared", DepKind::Regular),
            ("b", "shared", DepKind::Regular),
        ],
    );
    w.start("a").unwrap();
    w.start("b").unwrap();
    w.release("a").unwrap();
    assert_eq!(w.state("shared"), ServiceState::Started);
    assert_eq!(w.set.required_by(w.id("shared")), Some(1));
    w.release("b").unwrap();
    assert_eq!(w.state("shared"), ServiceState::Stopped);
}

#[test]
fn an_explicitly_started_dependency_survives_its_dependent() {
    // dinitctl(8) start: "The service is marked as explicitly activated and will not be
    // stopped automatically if its dependents stop."
    let mut w = World::with(
        &[("a", internal()), ("dep", internal())],
        &[("a", "dep", DepKind::Regular)],
    );
    w.start("dep").unwrap();
    w.start("a").unwrap();
    w.release("a").unwrap();
    assert_eq!(w.state("dep"), ServiceState::Started);
}

#[test]
fn stop_of_a_service_required_by_others_is_refused_but_release_just_unmarks() {
    // dinitctl(8) release: "Clear the explicit activation mark from a service (the service
    // will then stop if it has no active dependents)."
    let mut w = World::with(
        &[("a", internal()), ("dep", internal())],
        &[("a", "dep", DepKind::Regular)],
    );
    w.start("dep").unwrap();
    w.start("a").unwrap();
    w.release("dep").unwrap();
    assert_eq!(w.state("dep"), ServiceState::Started);
    assert!(!w.status("dep").flags.has(StatusFlags::MARKED_ACTIVE));
    w.release("a").unwrap();
    assert_eq!(w.state("dep"), ServiceState::Stopped);
}

#[test]
fn starting_an_internal_service_completes_before_the_command_returns() {
    // control-protocol 4.4: "start internal -> events STARTED then reply ALREADYSS".
    let mut w = World::with(&[("internal", internal())], &[]);
    w.start("internal").unwrap();
    assert_eq!(w.events(), ev(&["internal Started"]));
    assert_eq!(w.state("internal"), ServiceState::Started);
}

// ----- soft dependencies --------------------------------------------------------------------

#[test]
fn waits_for_failure_does_not_prevent_the_dependent() {
    // dinit-service(5): "failure will not prevent the dependent from starting".
    let mut w = World::with(
        &[("waiter", internal()), ("svc", process())],
        &[("waiter", "svc", DepKind::WaitsFor)],
    );
    w.start("waiter").unwrap();
    assert_eq!(
        w.state("waiter"),
        ServiceState::Starting,
        "it waits for the dependency"
    );
    w.exit("svc", ExitStatus::Exited(1));
    assert_eq!(w.state("waiter"), ServiceState::Started);
    assert_eq!(w.state("svc"), ServiceState::Stopped);
    assert_eq!(w.status("svc").stop_reason, StopReason::Failed);
}

#[test]
fn stopping_a_waits_for_dependency_leaves_the_dependent_and_wake_reattaches() {
    // dinit-service(5): "If the dependency starts, stopping it will have no effect on the
    // dependent." control-protocol 12.2: stop sleeper, then wake sleeper starts it again.
    let mut w = World::with(
        &[("waiter", internal()), ("sleeper", process())],
        &[("waiter", "sleeper", DepKind::WaitsFor)],
    );
    w.start("waiter").unwrap();
    w.run("sleeper");
    assert_eq!(w.state("waiter"), ServiceState::Started);
    assert_eq!(
        w.stop("sleeper"),
        Ok(()),
        "waits-for dependents do not block a gentle stop"
    );
    w.exit("sleeper", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("sleeper"), ServiceState::Stopped);
    assert_eq!(w.state("waiter"), ServiceState::Started);
    assert_eq!(
        w.set.required_by(w.id("sleeper")),
        Some(0),
        "the link was broken"
    );

    let out = w.wake("sleeper").unwrap();
    assert!(out.found_active_dependent);
    w.run("sleeper");
    assert_eq!(w.state("sleeper"), ServiceState::Started);
    let st = w.status("sleeper");
    assert!(
        !st.flags.has(StatusFlags::MARKED_ACTIVE),
        "wake does not mark active"
    );

    // Releasing the dependent stops the woken dependency.
    w.release("waiter").unwrap();
    assert_eq!(w.state("waiter"), ServiceState::Stopped);
    assert_eq!(w.state("sleeper"), ServiceState::Stopping);
    w.exit("sleeper", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("sleeper"), ServiceState::Stopped);
    assert_eq!(w.set.active_count(), 0);
}

#[test]
fn wake_without_active_dependents_finds_none() {
    // control-protocol 12.2: "service has no active dependents, cannot wake".
    let mut w = World::with(
        &[("waiter", internal()), ("sleeper", internal())],
        &[("waiter", "sleeper", DepKind::WaitsFor)],
    );
    let out = w.wake("sleeper").unwrap();
    assert!(!out.found_active_dependent);
    assert_eq!(w.state("sleeper"), ServiceState::Stopped);
}

#[test]
fn milestone_must_start_but_may_stop_afterwards() {
    // dinit-service(5): "Once started, the relationship is satisfied; if the dependency then
    // stops, it has no effect on the dependent. However, if the dependency fails to start ...
    // the dependent will not start".
    let mut w = World::with(
        &[("app", internal()), ("ms", process())],
        &[("app", "ms", DepKind::Milestone)],
    );
    w.start("app").unwrap();
    assert_eq!(w.state("app"), ServiceState::Starting);
    w.run("ms");
    assert_eq!(w.state("app"), ServiceState::Started);
    w.stop("ms").unwrap();
    w.exit("ms", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("ms"), ServiceState::Stopped);
    assert_eq!(w.state("app"), ServiceState::Started);

    let mut w = World::with(
        &[("app", internal()), ("ms", process())],
        &[("app", "ms", DepKind::Milestone)],
    );
    w.start("app").unwrap();
    w.exit("ms", ExitStatus::Exited(1));
    assert_eq!(w.state("app"), ServiceState::Stopped);
    assert_eq!(w.status("app").stop_reason, StopReason::DepFailed);
}

#[test]
fn milestone_is_hard_while_the_dependent_waits() {
    // "if the dependency fails to start or has its startup cancelled, the dependent will not
    // start": stopping the milestone while the dependent waits cancels the dependent.
    let mut w = World::with(
        &[("app", internal()), ("ms", process())],
        &[("app", "ms", DepKind::Milestone)],
    );
    w.start("app").unwrap();
    // A waiting milestone dependent is not listed as blocking (only need / prepared-by are,
    // control-protocol 7.3), but it cannot start without the milestone, so it stops too
    // (once the milestone's own start, which cannot be interrupted, has completed).
    w.stop("ms").unwrap();
    assert_eq!(w.state("app"), ServiceState::Starting);
    w.run("ms");
    assert_eq!(w.state("app"), ServiceState::Stopped);
    assert_eq!(w.status("app").stop_reason, StopReason::DepFailed);
    assert_eq!(w.state("ms"), ServiceState::Stopping);
}

#[test]
fn after_orders_only_services_that_are_starting_anyway() {
    // dinit-service(5) after: "if the named service is also starting, wait for the named
    // service to finish starting ... if the named service is not starting, starting this
    // service will not cause it to start".
    let mut w = World::with(
        &[("late", internal()), ("early", process())],
        &[("late", "early", DepKind::After)],
    );
    w.start("late").unwrap();
    assert_eq!(w.state("late"), ServiceState::Started);
    assert_eq!(
        w.state("early"),
        ServiceState::Stopped,
        "after does not start the other"
    );
    w.stop("late").unwrap();

    w.start("early").unwrap();
    w.start("late").unwrap();
    assert_eq!(
        w.state("late"),
        ServiceState::Starting,
        "waits for early to finish starting"
    );
    w.run("early");
    assert_eq!(w.state("late"), ServiceState::Started);
}

#[test]
fn before_is_after_seen_from_the_other_side_and_applies_when_loaded_later() {
    // dinit-service(5) before: "largely equivalent to specifying an after relationship to
    // this service from the named service ... if loaded later, the 'before' relationship will
    // be enforced from that point".
    let mut w = World::with(
        &[("first", process())],
        &[("first", "second", DepKind::Before)],
    );
    assert!(
        w.set.find(b"second").is_none(),
        "placeholders are not found"
    );
    assert_eq!(w.set.iter().count(), 1, "placeholders are not listed");
    w.load(&[("second", internal())], &[]).unwrap();
    w.start("first").unwrap();
    w.start("second").unwrap();
    assert_eq!(w.state("second"), ServiceState::Starting);
    w.run("first");
    assert_eq!(w.state("second"), ServiceState::Started);
}

#[test]
fn ordering_holds_whichever_partner_a_common_dependent_reaches_first() {
    // dinit-service(5) after: "if the named service is also starting, wait for the named
    // service to finish starting". Both partners started by one dependent (the boot case):
    // the order must not depend on the order of the dependent's depends-on lines.
    for early_first in [true, false] {
        let deps: &[(&str, &str, DepKind)] = if early_first {
            &[
                ("parent", "early", DepKind::Regular),
                ("parent", "late", DepKind::Regular),
                ("late", "early", DepKind::After),
            ]
        } else {
            &[
                ("parent", "late", DepKind::Regular),
                ("parent", "early", DepKind::Regular),
                ("late", "early", DepKind::After),
            ]
        };
        let mut w = World::with(
            &[
                ("parent", internal()),
                ("early", process()),
                ("late", process()),
            ],
            deps,
        );
        w.start("parent").unwrap();
        assert_eq!(
            w.spawns(),
            ["early Start"],
            "late waits for early (early_first={early_first})"
        );
        w.run("early");
        assert_eq!(w.spawns(), ["late Start"], "early_first={early_first}");
        w.run("late");
        assert_eq!(w.state("parent"), ServiceState::Started);
    }
}

#[test]
fn ordering_wait_ends_when_the_other_fails() {
    let mut w = World::with(
        &[("late", internal()), ("early", process())],
        &[("late", "early", DepKind::After)],
    );
    w.start("early").unwrap();
    w.start("late").unwrap();
    w.exec_fail("early", ExecStage::DoExec, 2);
    assert_eq!(w.state("late"), ServiceState::Started);
}

// ----- pins ---------------------------------------------------------------------------------

#[test]
fn pinned_started_service_cannot_be_stopped_until_unpinned() {
    // dinitctl(8) --pin: "A service that is pinned started cannot be stopped, however its
    // explicit activation can be removed ... Once unpinned, a service which is not explicitly
    // activated, and which has no active dependents, will automatically stop."
    let mut w = World::with(&[("sleeper", process())], &[]);
    w.start_pinned("sleeper").unwrap();
    w.run("sleeper");
    assert_eq!(w.stop("sleeper"), Err(Refusal::PinnedStarted));
    w.release("sleeper").unwrap();
    assert_eq!(w.state("sleeper"), ServiceState::Started);
    assert!(!w.status("sleeper").flags.has(StatusFlags::MARKED_ACTIVE));
    w.unpin("sleeper").unwrap();
    assert_eq!(w.state("sleeper"), ServiceState::Stopping);
}

#[test]
fn pinned_stopped_service_refuses_start_and_fails_its_dependents() {
    // dinitctl(8) --pin: "A service that is pinned stopped cannot be marked active ...
    // Dependents (via hard dependency relationships) of the pinned service will be unable to
    // start."
    let mut w = World::with(
        &[("sleeper", internal()), ("app", internal())],
        &[("app", "sleeper", DepKind::Regular)],
    );
    w.start("sleeper").unwrap();
    w.stop_pinned("sleeper").unwrap();
    assert_eq!(w.state("sleeper"), ServiceState::Stopped);
    assert_eq!(w.start("sleeper"), Err(Refusal::PinnedStopped));
    assert_eq!(w.wake("sleeper"), Err(Refusal::PinnedStopped));
    w.take();
    w.start("app").unwrap();
    assert_eq!(w.state("app"), ServiceState::Stopped);
    assert_eq!(w.status("app").stop_reason, StopReason::DepFailed);
    // As with Dinit, the pinned service's start fails too (reported first).
    assert_eq!(
        w.events(),
        ev(&["sleeper FailedStart", "app FailedStart", "app Stopped"])
    );
    assert_eq!(w.state("sleeper"), ServiceState::Stopped);
    w.unpin("sleeper").unwrap();
    w.start("app").unwrap();
    assert_eq!(w.state("app"), ServiceState::Started);
}

#[test]
fn pinned_dependent_holds_its_dependency_in_stopping_until_unpinned() {
    // dinitctl(8) unpin: "An unpinned service that is started and that has a dependency
    // service which is stopping will itself stop". The dependency's process ends (it cannot be
    // kept from that); the pinned dependent stays up until it is unpinned.
    let mut dep = process();
    dep.restart = AutoRestart::No;
    let mut app = internal();
    app.restart = AutoRestart::No;
    let mut w = World::with(
        &[("dep", dep), ("app", app)],
        &[("app", "dep", DepKind::Regular)],
    );
    w.start_pinned("app").unwrap();
    w.run("dep");
    w.exit("dep", ExitStatus::Exited(1));
    assert_eq!(w.state("app"), ServiceState::Started);
    assert_eq!(w.state("dep"), ServiceState::Stopping);
    w.unpin("app").unwrap();
    assert_eq!(w.state("app"), ServiceState::Stopped);
    assert_eq!(w.state("dep"), ServiceState::Stopped);
}

#[test]
fn a_start_pin_passes_down_hard_dependencies() {
    // As in Dinit, a service that a pinned-started service needs is pinned started too: a
    // stop of it is refused (PINNEDSTARTED) until the dependent is unpinned.
    let mut w = World::with(
        &[("dep", process()), ("app", process()), ("soft", process())],
        &[
            ("app", "dep", DepKind::Regular),
            ("app", "soft", DepKind::WaitsFor),
        ],
    );
    w.start_pinned("app").unwrap();
    w.run("dep");
    w.run("soft");
    w.run("app");
    assert_eq!(w.stop_force("dep"), Err(Refusal::PinnedStarted));
    assert_eq!(
        w.set
            .restart(w.id("dep"), Gentle::Force, w.now, &mut w.host),
        Err(Refusal::PinnedStarted)
    );
    assert_eq!(w.state("dep"), ServiceState::Started);
    // A soft dependency is not pinned.
    w.stop_force("soft").unwrap();
    assert_eq!(w.state("soft"), ServiceState::Stopping);
    w.unpin("app").unwrap();
    w.stop_force("dep").unwrap();
    assert_eq!(w.state("dep"), ServiceState::Stopping);
    assert_eq!(w.state("app"), ServiceState::Stopping);
}

#[test]
fn a_stop_command_marks_every_hard_dependent_failed_even_stopped_ones() {
    // As Dinit reports it: after `dinitctl stop --force lib`, both a running and an already
    // stopped dependent show "dependency failed" (X in `list`).
    let mut w = World::with(
        &[
            ("lib", process()),
            ("app", internal()),
            ("other", internal()),
        ],
        &[
            ("app", "lib", DepKind::Regular),
            ("other", "lib", DepKind::Regular),
        ],
    );
    w.start("app").unwrap();
    w.start("other").unwrap();
    w.run("lib");
    w.stop("app").unwrap();
    assert_eq!(w.status("app").stop_reason, StopReason::Normal);
    w.stop_force("lib").unwrap();
    w.exit("lib", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("other"), ServiceState::Stopped);
    assert_eq!(w.status("other").stop_reason, StopReason::DepFailed);
    assert_eq!(w.status("app").stop_reason, StopReason::DepFailed);
}

#[test]
fn a_shutdown_stops_dependents_without_failing_them() {
    let mut w = World::with(
        &[("lib", process()), ("app", internal())],
        &[("app", "lib", DepKind::Regular)],
    );
    w.start("app").unwrap();
    w.run("lib");
    w.shutdown(ShutdownKind::Poweroff);
    w.exit("lib", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("app"), ServiceState::Stopped);
    assert_eq!(w.status("app").stop_reason, StopReason::Normal);
    assert_eq!(w.status("lib").stop_reason, StopReason::Normal);
}

#[test]
fn a_release_keeps_the_reason_of_a_service_already_stopping() {
    let mut w = World::with(
        &[("lib", process()), ("app", process())],
        &[("app", "lib", DepKind::Regular)],
    );
    w.start("app").unwrap();
    w.run("lib");
    w.run("app");
    w.stop_force("lib").unwrap();
    assert_eq!(w.state("app"), ServiceState::Stopping);
    w.release("app").unwrap();
    w.exit("app", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("app"), ServiceState::Stopped);
    assert_eq!(w.status("app").stop_reason, StopReason::DepFailed);
}

#[test]
fn failed_start_removes_the_start_pin() {
    // dinitctl(8): "If a pinned-started service fails to start, the pin is removed."
    let mut w = World::with(&[("s", scripted())], &[]);
    w.start_pinned("s").unwrap();
    w.exit("s", ExitStatus::Exited(1));
    assert_eq!(w.set.pins(w.id("s")), Some((false, false)));
}

// ----- restart ------------------------------------------------------------------------------

#[test]
fn restart_stops_then_starts_keeping_activation() {
    // dinitctl(8) restart: "The service will be stopped and then restarted, without affecting
    // explicit activation status." control-protocol 9.2: "restart: STOPPED (state already
    // STARTING, target STARTED) then STARTED".
    let mut w = World::with(&[("boot", internal())], &[]);
    w.start("boot").unwrap();
    w.take();
    w.restart("boot", Gentle::Gentle).unwrap();
    let calls = w.take();
    let evs: Vec<_> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Event(_, e, s) => Some((*e, s.state, s.target)),
            _ => None,
        })
        .collect();
    assert_eq!(
        evs,
        vec![
            (
                ServiceEvent::Stopped,
                ServiceState::Starting,
                ServiceState::Started
            ),
            (
                ServiceEvent::Started,
                ServiceState::Started,
                ServiceState::Started
            )
        ]
    );
    assert!(w.status("boot").flags.has(StatusFlags::MARKED_ACTIVE));
}

#[test]
fn restart_of_a_service_not_started_is_refused() {
    let mut w = World::with(&[("dependent", internal())], &[]);
    assert_eq!(
        w.restart("dependent", Gentle::Gentle),
        Err(Refusal::NotStarted)
    );
}

#[test]
fn restart_with_force_restarts_hard_dependents() {
    // dinitctl(8) --force: "When applied to the restart command, this will cause the dependent
    // services to also be restarted."
    let mut w = World::with(
        &[("sleeper", process()), ("dependent", process())],
        &[("dependent", "sleeper", DepKind::Regular)],
    );
    w.start("dependent").unwrap();
    w.run("sleeper");
    w.run("dependent");
    assert_eq!(
        w.restart("sleeper", Gentle::Gentle),
        Err(Refusal::HasDependents)
    );
    w.restart("sleeper", Gentle::Force).unwrap();
    w.exit("dependent", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.status("dependent").stop_reason, StopReason::DepRestart);
    w.exit("sleeper", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("sleeper"), ServiceState::Starting);
    assert_eq!(w.state("dependent"), ServiceState::Starting);
    w.run("sleeper");
    w.run("dependent");
    assert_eq!(w.state("dependent"), ServiceState::Started);
    assert!(w.status("dependent").flags.has(StatusFlags::MARKED_ACTIVE));
}

#[test]
fn prepared_by_restarts_the_preparer_with_the_dependent() {
    // dinit-service(5) prepared-by: "the named service will also be restarted if this service
    // is restarted".
    let mut w = World::with(
        &[("app", process()), ("prep", scripted())],
        &[("app", "prep", DepKind::PreparedBy)],
    );
    w.start("app").unwrap();
    w.exit("prep", ExitStatus::Exited(0));
    w.run("app");
    assert_eq!(w.state("app"), ServiceState::Started);
    w.take();
    w.restart("app", Gentle::Gentle).unwrap();
    w.exit("app", ExitStatus::Signaled(signal::TERM));
    assert_eq!(
        w.spawns(),
        ev(&["prep Start"]),
        "the preparer runs again before the service"
    );
    assert_eq!(w.state("app"), ServiceState::Starting);
    w.exit("prep", ExitStatus::Exited(0));
    assert_eq!(w.spawns(), ev(&["app Start"]));
}

#[test]
fn automatic_restart_after_a_crash_with_delay() {
    // dinit-service(5) restart: "The default is to automatically restart"; restart-delay:
    // "the minimum time (in seconds) between automatic restarts. The default is 0.2".
    let mut w = World::with(&[("sleeper", process())], &[]);
    w.start("sleeper").unwrap();
    w.run("sleeper");
    let first = w.pid("sleeper");
    w.take();
    w.exit("sleeper", ExitStatus::Signaled(signal::USR1));
    assert_eq!(w.state("sleeper"), ServiceState::Starting);
    assert_eq!(w.status("sleeper").stop_reason, StopReason::Terminated);
    assert_eq!(
        w.spawns(),
        Vec::<String>::new(),
        "not before the restart delay"
    );
    w.advance_ms(199);
    assert_eq!(w.state("sleeper"), ServiceState::Starting);
    w.advance_ms(1);
    w.run("sleeper");
    assert_eq!(w.state("sleeper"), ServiceState::Started);
    assert_ne!(w.pid("sleeper"), first);
    assert!(w.status("sleeper").flags.has(StatusFlags::MARKED_ACTIVE));
}

#[test]
fn crash_events_are_stopped_with_terminated_then_started() {
    // control-protocol 9.2: "auto-restart after a crash: STOPPED with reason TERMINATED and
    // state STARTING, then STARTED".
    let mut w = World::with(&[("s", process())], &[]);
    w.start("s").unwrap();
    w.run("s");
    w.advance_ms(500);
    w.take();
    w.exit("s", ExitStatus::Signaled(signal::USR1));
    let calls = w.take();
    let stopped = calls
        .iter()
        .find_map(|c| match c {
            Call::Event(_, ServiceEvent::Stopped, s) => Some(*s),
            _ => None,
        })
        .unwrap();
    assert_eq!(stopped.state, ServiceState::Starting);
    assert_eq!(stopped.stop_reason, StopReason::Terminated);
    assert_eq!(stopped.exit, ExitStatus::Signaled(signal::USR1));
}

#[test]
fn restart_limit_stops_a_service_restarting_too_quickly() {
    // dinit-service(5) restart-limit-count: "the maximum number of times that a service can
    // automatically restart over the interval ... The default value is 3": the start by request
    // opens the interval, then three automatic restarts are allowed (Dinit counts so).
    let mut w = World::with(&[("crash", process())], &[]);
    w.start("crash").unwrap();
    let mut starts = 1;
    for _ in 0..10 {
        w.run("crash");
        w.exit("crash", ExitStatus::Exited(1));
        w.advance_ms(200);
        if w.state("crash") != ServiceState::Starting {
            break;
        }
        starts += 1;
    }
    assert_eq!(starts, 4, "one start by request and three restarts");
    assert_eq!(w.state("crash"), ServiceState::Stopped);
    assert!(w
        .notices()
        .contains(&Notice::RestartLimitReached(w.id("crash"))));
    let st = w.status("crash");
    assert_eq!(st.stop_reason, StopReason::Terminated);
    assert!(st.shows_failed());
    assert!(!st.flags.has(StatusFlags::MARKED_ACTIVE));
}

#[test]
fn a_dependency_over_its_restart_limit_takes_its_dependents_down_for_good() {
    // As in Dinit: the dependency gives up (target STOPPED), so its dependents stop because a
    // dependency failed, and nothing brings it back.
    let mut w = World::with(
        &[("lib", process()), ("app", internal())],
        &[("app", "lib", DepKind::Regular)],
    );
    w.start("app").unwrap();
    for _ in 0..4 {
        w.run("lib");
        assert_eq!(w.state("app"), ServiceState::Started);
        w.exit("lib", ExitStatus::Exited(1));
        w.advance_ms(200);
    }
    assert_eq!(w.state("lib"), ServiceState::Stopped);
    assert_eq!(w.state("app"), ServiceState::Stopped);
    assert_eq!(w.status("app").stop_reason, StopReason::DepFailed);
    assert_eq!(w.set.active_count(), 0);
}

#[test]
fn restart_limit_interval_resets() {
    // "If a process automatically restarts more than a certain number of times ... in this
    // time interval, it will not be restarted again": crashes spread out restart forever.
    let mut w = World::with(&[("s", process())], &[]);
    w.start("s").unwrap();
    for _ in 0..6 {
        w.run("s");
        w.advance(Duration::from_secs(11));
        w.exit("s", ExitStatus::Exited(1));
        assert_eq!(w.state("s"), ServiceState::Starting);
        w.advance_ms(1);
    }
}

#[test]
fn restart_limit_zero_disables_the_limit() {
    let mut cfg = process();
    cfg.restart_limit_count = 0;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    for _ in 0..20 {
        w.run("s");
        w.exit("s", ExitStatus::Exited(1));
        w.advance_ms(200);
        assert_eq!(w.state("s"), ServiceState::Starting);
    }
}

#[test]
fn restart_on_failure_follows_the_exit_status() {
    // dinit-service(5): "restarted only when the exit status of the service process is
    // non-zero, or if the process was terminated via a signal (other than SIGHUP, SIGINT,
    // SIGUSR1, SIGUSR2 or SIGTERM ...)".
    let cases = [
        (ExitStatus::Exited(0), false),
        (ExitStatus::Exited(2), true),
        (ExitStatus::Signaled(signal::TERM), false),
        (ExitStatus::Signaled(signal::HUP), false),
        (ExitStatus::Signaled(11), true),
        (ExitStatus::Dumped(6), true),
    ];
    for (status, restarts) in cases {
        let mut cfg = process();
        cfg.restart = AutoRestart::OnFailure;
        let mut w = World::with(&[("s", cfg)], &[]);
        w.start("s").unwrap();
        w.run("s");
        w.advance_ms(300);
        w.exit("s", status);
        let expect = if restarts {
            ServiceState::Starting
        } else {
            ServiceState::Stopped
        };
        assert_eq!(w.state("s"), expect, "{status:?}");
    }
}

#[test]
fn restart_no_removes_activation_and_records_the_exit() {
    // dinit(8): "If the service will not be automatically restarted, any explicit activation
    // will be removed."
    let mut cfg = process();
    cfg.restart = AutoRestart::No;
    let mut w = World::with(&[("shortlived", cfg)], &[]);
    w.start("shortlived").unwrap();
    w.run("shortlived");
    w.exit("shortlived", ExitStatus::Exited(7));
    let st = w.status("shortlived");
    assert_eq!(st.state, ServiceState::Stopped);
    assert_eq!(st.stop_reason, StopReason::Terminated);
    assert_eq!(st.exit, ExitStatus::Exited(7));
    assert!(!st.is_failed(), "is-failed does not count TERMINATED");
    assert!(st.shows_failed(), "list shows X for an error exit");
    assert!(!st.flags.has(StatusFlags::MARKED_ACTIVE));
}

#[test]
fn stop_by_command_inhibits_automatic_restart() {
    // dinit-service(5): "Automatic restart is inhibited if a service stops due to user
    // command."
    let mut w = World::with(&[("s", process())], &[]);
    w.start("s").unwrap();
    w.run("s");
    w.stop("s").unwrap();
    w.exit("s", ExitStatus::Signaled(signal::TERM));
    w.advance_ms(1000);
    assert_eq!(w.state("s"), ServiceState::Stopped);
}

#[test]
fn a_dependent_restarts_after_its_dependency_crashes() {
    // dinit(8): "the other service must also stop (and will be stopped automatically, though
    // may restart automatically if configured to do so, which may in turn also cause the
    // dependency to restart)".
    let mut dep = process();
    dep.restart = AutoRestart::No;
    let mut w = World::with(
        &[("app", internal()), ("dep", dep)],
        &[("app", "dep", DepKind::Regular)],
    );
    w.start("app").unwrap();
    w.run("dep");
    assert_eq!(w.state("app"), ServiceState::Started);
    w.exit("dep", ExitStatus::Exited(1));
    // app (restart = yes, the default) comes back and needs dep again.
    assert_eq!(w.state("app"), ServiceState::Starting);
    assert_eq!(w.state("dep"), ServiceState::Starting);
    w.run("dep");
    assert_eq!(w.state("app"), ServiceState::Started);
}

#[test]
fn a_dependent_without_restart_stops_for_good_with_its_dependency() {
    let mut app = internal();
    app.restart = AutoRestart::No;
    let mut w = World::with(
        &[("app", app), ("dep", process())],
        &[("app", "dep", DepKind::Regular)],
    );
    w.start("app").unwrap();
    w.run("dep");
    w.exit("dep", ExitStatus::Exited(1));
    assert_eq!(w.state("app"), ServiceState::Stopped);
    // dep was still wanted (it would have restarted): app was brought down, not failed by
    // it; as in Dinit its stop reason is left as it was.
    assert_eq!(w.status("app").stop_reason, StopReason::Normal);
    assert!(!w.status("app").flags.has(StatusFlags::MARKED_ACTIVE));
    // Nothing wants dep any more: it does not restart although its own restart is "yes".
    assert_eq!(w.state("dep"), ServiceState::Stopped);
    assert_eq!(w.set.active_count(), 0);
}

#[test]
fn smooth_recovery_restarts_the_process_without_touching_dependents() {
    // dinit-service(5) smooth-recovery: "an automatic process restart is performed, without
    // first stopping any dependent services and without the service changing state".
    let mut cfg = process();
    cfg.smooth_recovery = true;
    let mut w = World::with(
        &[("daemon", cfg), ("app", process())],
        &[("app", "daemon", DepKind::Regular)],
    );
    w.start("app").unwrap();
    w.run("daemon");
    w.run("app");
    let old = w.pid("daemon");
    w.advance_ms(500);
    w.take();
    w.exit("daemon", ExitStatus::Signaled(9));
    assert_eq!(w.state("daemon"), ServiceState::Started);
    assert_eq!(w.state("app"), ServiceState::Started);
    assert_eq!(w.spawns(), ev(&["daemon Start"]));
    assert_ne!(w.pid("daemon"), old);
    w.run("daemon");
    assert_eq!(
        w.events(),
        Vec::<String>::new(),
        "no events: the service never changed state"
    );
}

#[test]
fn smooth_recovery_respects_the_restart_limit() {
    let mut cfg = process();
    cfg.smooth_recovery = true;
    let mut w = World::with(&[("daemon", cfg)], &[]);
    w.start("daemon").unwrap();
    for _ in 0..3 {
        w.run("daemon");
        w.exit("daemon", ExitStatus::Signaled(9));
        w.advance_ms(200);
        assert_eq!(w.state("daemon"), ServiceState::Started);
    }
    w.run("daemon");
    w.exit("daemon", ExitStatus::Signaled(9));
    assert_eq!(w.state("daemon"), ServiceState::Stopped);
    assert_eq!(w.status("daemon").stop_reason, StopReason::Terminated);
}

// ----- timeouts and signals -----------------------------------------------------------------

#[test]
fn start_timeout_interrupts_with_sigint_then_kills_after_the_stop_timeout() {
    // dinit-service(5) start-timeout: "its process group is sent a SIGINT signal and enters
    // the 'stopping' state (this may be subject to a stop timeout ... after which the process
    // group will be terminated via SIGKILL)".
    let mut cfg = scripted();
    cfg.start_timeout = Duration::from_secs(1);
    cfg.stop_timeout = Duration::from_secs(2);
    let mut w = World::with(&[("timeout", cfg)], &[]);
    w.start("timeout").unwrap();
    w.take();
    w.advance_ms(999);
    assert_eq!(w.state("timeout"), ServiceState::Starting);
    w.advance_ms(1);
    let calls = w.take();
    let failed = calls.iter().find_map(|c| match c {
        Call::Event(_, ServiceEvent::FailedStart, s) => Some(*s),
        _ => None,
    });
    assert_eq!(failed.map(|s| s.stop_reason), Some(StopReason::TimedOut));
    assert!(calls.contains(&Call::Signal(
        w.id("timeout"),
        w.pid("timeout"),
        signal::INT,
        true
    )));
    assert_eq!(w.state("timeout"), ServiceState::Stopping);
    assert_eq!(w.status("timeout").target, ServiceState::Stopped);
    w.advance_ms(2000);
    assert_eq!(
        w.signals(),
        vec![("timeout".to_string(), signal::KILL, true)]
    );
    w.exit("timeout", ExitStatus::Signaled(9));
    let st = w.status("timeout");
    assert_eq!(st.state, ServiceState::Stopped);
    assert_eq!(st.stop_reason, StopReason::TimedOut);
    assert!(st.is_failed());
}

#[test]
fn zero_start_timeout_is_unlimited() {
    let mut cfg = scripted();
    cfg.start_timeout = Duration::ZERO;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    w.advance(Duration::from_secs(100_000));
    assert_eq!(w.state("s"), ServiceState::Starting);
    assert_eq!(w.set.next_deadline(), None);
}

#[test]
fn stop_timeout_kills_the_process_group() {
    // dinit-service(5) stop-timeout: "its process group is sent a SIGKILL signal ... The
    // timeout period begins only when all dependent services have already stopped. The
    // default value is 10."
    let mut w = World::with(&[("s", process())], &[]);
    w.start("s").unwrap();
    w.run("s");
    w.stop("s").unwrap();
    w.take();
    w.advance(Duration::from_secs(9));
    assert_eq!(w.signals(), vec![]);
    w.advance(Duration::from_secs(1));
    assert_eq!(w.signals(), vec![("s".to_string(), signal::KILL, true)]);
    w.exit("s", ExitStatus::Signaled(9));
    assert_eq!(w.state("s"), ServiceState::Stopped);
}

#[test]
fn term_signal_and_signal_process_only() {
    // dinit-service(5) term-signal / signal-process-only.
    let mut cfg = process();
    cfg.term_signal = signal::HUP;
    cfg.options = Options::SIGNAL_PROCESS_ONLY;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    w.run("s");
    w.take();
    w.stop("s").unwrap();
    assert_eq!(w.signals(), vec![("s".to_string(), signal::HUP, false)]);
}

#[test]
fn term_signal_none_waits_for_the_process() {
    let mut cfg = process();
    cfg.term_signal = 0;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    w.run("s");
    w.take();
    w.stop("s").unwrap();
    assert_eq!(w.signals(), vec![]);
    w.advance(Duration::from_secs(10));
    assert_eq!(w.signals(), vec![("s".to_string(), signal::KILL, true)]);
}

#[test]
fn stop_command_replaces_the_term_signal() {
    // dinit-service(5) stop-command: "If specified for process or bgprocess services, the
    // 'stop command' will be executed in order to stop the service, instead of signalling".
    let mut cfg = process();
    cfg.has_stop_command = true;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    w.run("s");
    let main = w.pid("s");
    w.take();
    w.stop("s").unwrap();
    let calls = w.take();
    let stop_pid = calls
        .iter()
        .find_map(|c| match c {
            Call::Spawn(_, CommandKind::Stop, pid, _) => Some(*pid),
            _ => None,
        })
        .unwrap();
    assert!(!calls.iter().any(|c| matches!(c, Call::Signal(..))));
    w.exit_pid("s", stop_pid, ExitStatus::Exited(0));
    assert_eq!(
        w.state("s"),
        ServiceState::Stopping,
        "waits for the main process"
    );
    w.exit_pid("s", main, ExitStatus::Exited(0));
    assert_eq!(w.state("s"), ServiceState::Stopped);
}

// ----- service types ------------------------------------------------------------------------

#[test]
fn scripted_service_runs_start_and_stop_commands() {
    // dinit-service(5): "Once a command completes successfully the service is considered
    // started (or stopped, as appropriate)".
    let mut cfg = scripted();
    cfg.has_stop_command = true;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    assert_eq!(w.spawns(), ev(&["s Start"]));
    w.exit("s", ExitStatus::Exited(0));
    let st = w.status("s");
    assert_eq!(st.state, ServiceState::Started);
    assert_eq!(st.pid(), None, "a started scripted service has no process");
    assert_eq!(
        st.exit,
        ExitStatus::Exited(0),
        "it reports its start command's exit"
    );
    w.stop("s").unwrap();
    assert_eq!(w.spawns(), ev(&["s Stop"]));
    assert_eq!(w.state("s"), ServiceState::Stopping);
    w.exit("s", ExitStatus::Exited(0));
    assert_eq!(w.state("s"), ServiceState::Stopped);
}

#[test]
fn scripted_without_stop_command_stops_at_once() {
    let mut w = World::with(&[("s", scripted())], &[]);
    w.start("s").unwrap();
    w.exit("s", ExitStatus::Exited(0));
    w.stop("s").unwrap();
    assert_eq!(w.state("s"), ServiceState::Stopped);
}

#[test]
fn exec_failure_reports_stage_and_errno() {
    let mut w = World::with(&[("execfail", process())], &[]);
    w.start("execfail").unwrap();
    w.exec_fail("execfail", ExecStage::DoExec, 2);
    let st = w.status("execfail");
    assert_eq!(st.state, ServiceState::Stopped);
    assert_eq!(st.stop_reason, StopReason::ExecFailed);
    assert_eq!(st.exec_failure, Some((ExecStage::DoExec, 2)));
    assert!(st.is_failed());
}

#[test]
fn a_launch_that_cannot_happen_fails_the_start_without_exec_details() {
    // As in Dinit: nothing could be launched (the host logged why), so the start fails from
    // STOPPING, with no exec stage and the stop reason as it was.
    let mut w = World::with(&[("s", process())], &[]);
    w.host.spawn_error = Some(11);
    w.start("s").unwrap();
    let st = w.status("s");
    assert_eq!(st.state, ServiceState::Stopped);
    assert_eq!(st.exec_failure, None);
    assert_eq!(st.stop_reason, StopReason::Normal);
    let failed = w.take().into_iter().find_map(|c| match c {
        Call::Event(_, ServiceEvent::FailedStart, status) => Some(status.state),
        _ => None,
    });
    assert_eq!(failed, Some(ServiceState::Stopping));
}

#[test]
fn skippable_start_interrupted_by_the_user_counts_as_started() {
    // dinit-service(5) skippable: "if the service startup process terminates via an interrupt
    // signal (SIGINT), then the service should be considered started".
    let mut cfg = scripted();
    cfg.options = Options::SKIPPABLE;
    let mut w = World::with(&[("fsck", cfg)], &[]);
    w.start("fsck").unwrap();
    w.exit("fsck", ExitStatus::Signaled(signal::INT));
    let st = w.status("fsck");
    assert_eq!(st.state, ServiceState::Started);
    assert!(st.flags.has(StatusFlags::START_SKIPPED));
}

#[test]
fn interruptible_start_cancelled_by_stop_counts_as_stopped() {
    // dinit-service(5) start-interruptible: "Dinit will attempt to interrupt it rather than
    // waiting for its startup to complete"; skippable: "if the interrupt was issued by Dinit
    // to cancel startup, the service will instead be considered stopped".
    let mut cfg = scripted();
    cfg.options = Options::SKIPPABLE.with(Options::START_INTERRUPTIBLE);
    let mut w = World::with(&[("fsck", cfg)], &[]);
    w.start("fsck").unwrap();
    w.take();
    w.stop("fsck").unwrap();
    let calls = w.take();
    assert!(calls
        .iter()
        .any(|c| matches!(c, Call::Event(_, ServiceEvent::StartCancelled, _))));
    assert!(calls.contains(&Call::Signal(
        w.id("fsck"),
        w.pid("fsck"),
        signal::INT,
        true
    )));
    w.exit("fsck", ExitStatus::Signaled(signal::INT));
    assert_eq!(w.state("fsck"), ServiceState::Stopped);
    assert!(!w.status("fsck").flags.has(StatusFlags::START_SKIPPED));
}

#[test]
fn uninterruptible_start_completes_and_then_stops() {
    let mut cfg = scripted();
    cfg.has_stop_command = true;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    w.stop("s").unwrap();
    assert_eq!(w.state("s"), ServiceState::Starting);
    assert_eq!(w.status("s").target, ServiceState::Stopped);
    w.take();
    w.exit("s", ExitStatus::Exited(0));
    assert_eq!(
        w.spawns(),
        ev(&["s Stop"]),
        "it started, so its stop command runs"
    );
    w.exit("s", ExitStatus::Exited(0));
    assert_eq!(w.state("s"), ServiceState::Stopped);
}

#[test]
fn bgprocess_is_supervised_through_its_pid_file() {
    // dinit-service(5): "Dinit will read the contents of this file when starting the service,
    // once the initial process terminates ... and will supervise the child process".
    let mut w = World::with(&[("d", bgprocess())], &[]);
    w.start("d").unwrap();
    assert_eq!(w.state("d"), ServiceState::Starting);
    w.host.pid_file = PidFileResult::Running(4242);
    w.exit("d", ExitStatus::Exited(0));
    assert_eq!(w.state("d"), ServiceState::Started);
    assert_eq!(w.pid("d"), 4242);
    w.take();
    w.stop("d").unwrap();
    assert_eq!(w.signals()[0], ("d".to_string(), signal::TERM, true));
    w.exit_pid("d", 4242, ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("d"), ServiceState::Stopped);
}

#[test]
fn bgprocess_with_a_bad_pid_file_fails_to_start() {
    let mut w = World::with(&[("d", bgprocess())], &[]);
    w.start("d").unwrap();
    w.host.pid_file = PidFileResult::NotRunning;
    w.exit("d", ExitStatus::Exited(0));
    assert_eq!(w.state("d"), ServiceState::Stopped);
    assert_eq!(w.status("d").stop_reason, StopReason::Failed);
}

#[test]
fn readiness_notification_delays_started() {
    // dinit-service(5) ready-notification: "If not specified, a process service is considered
    // started as soon as it has begun execution."
    let mut cfg = process();
    cfg.ready_notification = true;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    w.exec_ok("s");
    assert_eq!(w.state("s"), ServiceState::Starting);
    w.ready("s");
    assert_eq!(w.state("s"), ServiceState::Started);
}

#[test]
fn readiness_pipe_closed_without_notification_fails_the_start() {
    // As with Dinit: the start fails (reported from STOPPING, reason left as it was) and the
    // process, still running, is stopped.
    let mut cfg = process();
    cfg.ready_notification = true;
    let mut w = World::with(&[("svc", cfg)], &[]);
    w.start("svc").unwrap();
    w.exec_ok("svc");
    assert_eq!(w.state("svc"), ServiceState::Starting);
    w.take();
    let id = w.id("svc");
    w.set.readiness_lost(id, w.now, &mut w.host);
    let calls = w.take();
    assert!(calls
        .iter()
        .any(|c| matches!(c, Call::Event(_, ServiceEvent::FailedStart, st) if st.state == ServiceState::Stopping)));
    assert!(calls
        .iter()
        .any(|c| matches!(c, Call::Signal(_, _, sig, _) if *sig == signal::TERM)));
    assert_eq!(w.state("svc"), ServiceState::Stopping);
    w.exit("svc", ExitStatus::Signaled(signal::TERM));
    assert_eq!(w.state("svc"), ServiceState::Stopped);
    assert_eq!(w.status("svc").stop_reason, StopReason::Normal);
}

#[test]
fn process_ending_before_ready_fails_to_start() {
    let mut cfg = process();
    cfg.ready_notification = true;
    let mut w = World::with(&[("s", cfg)], &[]);
    w.start("s").unwrap();
    w.exec_ok("s");
    w.exit("s", ExitStatus::Exited(0));
    assert_eq!(w.status("s").stop_reason, StopReason::Failed);
}

#[test]
fn triggered_service_waits_for_its_trigger() {
    // dinit-service(5): "an external trigger is required before they will reach 'started'
    // state"; dinitctl(8) untrigger: "If the service has already started, this will have no
    // immediate effect other than clearing the trigger".
    let mut w = World::with(&[("trig", triggered()), ("sleeper", process())], &[]);
    w.start("trig").unwrap();
    assert_eq!(w.state("trig"), ServiceState::Starting);
    w.trigger("trig", true).unwrap();
    assert_eq!(w.state("trig"), ServiceState::Started);
    w.trigger("trig", false).unwrap();
    assert_eq!(w.state("trig"), ServiceState::Started);
    assert_eq!(w.trigger("sleeper", true), Err(Refusal::NotTriggered));
    w.stop("trig").unwrap();
    w.start("trig").unwrap();
    assert_eq!(
        w.state("trig"),
        ServiceState::Starting,
        "the trigger was cleared"
    );
}

#[test]
fn trigger_set_before_start_lets_it_start_at_once() {
    let mut w = World::with(&[("trig", triggered())], &[]);
    w.trigger("trig", true).unwrap();
    w.start("trig").unwrap();
    assert_eq!(w.state("trig"), ServiceState::Started);
}

// ----- console ------------------------------------------------------------------------------

#[test]
fn console_services_queue_for_the_console() {
    // dinit-service(5) runs-on-console: "A service running on the console prevents other
    // services from running on the console (they will queue for access to the console)".
    let mut cfg = process();
    cfg.options = Options::RUNS_ON_CONSOLE;
    let mut w = World::with(&[("console", cfg), ("console2", cfg)], &[]);
    w.start("console").unwrap();
    w.run("console");
    w.start("console2").unwrap();
    let st = w.status("console2");
    assert_eq!(st.state, ServiceState::Starting);
    assert!(st.flags.has(StatusFlags::WAITING_FOR_CONSOLE));
    assert!(w.status("console").flags.has(StatusFlags::HAS_CONSOLE));
    w.take();
    w.stop("console").unwrap();
    w.exit("console", ExitStatus::Signaled(signal::TERM));
    let calls = w.take();
    assert!(calls.contains(&Call::Notice(Notice::ConsoleReleased(w.id("console")))));
    assert!(calls.contains(&Call::Notice(Notice::ConsoleAcquired(w.id("console2")))));
    assert!(calls.iter().any(
        |c| matches!(c, Call::Spawn(id, CommandKind::Start, _, true) if *id == w.id("console2"))
    ));
}

#[test]
fn start_cancelled_while_waiting_for_the_console() {
    // control-protocol 12.3: "start console2 (while 'console' holds the console; then 'stop
    // console2' elsewhere) -> start cancelled".
    let mut cfg = process();
    cfg.options = Options::RUNS_ON_CONSOLE;
    let mut w = World::with(&[("console", cfg), ("console2", cfg)], &[]);
    w.start("console").unwrap();
    w.run("console");
    w.start("console2").unwrap();
    w.take();
    w.stop("console2").unwrap();
    assert_eq!(
        w.events(),
        ev(&["console2 StartCancelled", "console2 Stopped"])
    );
    assert!(!w
        .status("console2")
        .flags
        .has(StatusFlags::WAITING_FOR_CONSOLE));
}

#[test]
fn starts_on_console_releases_the_console_once_started() {
    let mut cfg = scripted();
    cfg.options = Options::STARTS_ON_CONSOLE;
    let mut w = World::with(&[("a", cfg), ("b", cfg)], &[]);
    w.start("a").unwrap();
    w.start("b").unwrap();
    assert!(w.status("b").flags.has(StatusFlags::WAITING_FOR_CONSOLE));
    w.exit("a", ExitStatus::Exited(0));
    assert!(!w.status("a").flags.has(StatusFlags::HAS_CONSOLE));
    assert!(w.status("b").flags.has(StatusFlags::HAS_CONSOLE));
    assert_eq!(w.state("b"), ServiceState::Starting);
    w.exit("b", ExitStatus::Exited(0));
    assert_eq!(w.state("b"), ServiceState::Started);
}

// ----- chain-to -----------------------------------------------------------------------------

fn chain_world(options: Options) -> World {
    let mut w = World::new();
    let mut cfg = process();
    cfg.restart = AutoRestart::No;
    cfg.options = options;
    w.set.begin_load().unwrap();
    w.set.insert_service(b"first", cfg, b"second").unwrap();
    w.set.commit_load().unwrap();
    w
}

#[test]
fn chain_to_runs_after_a_clean_exit_only() {
    // dinit-service(5) chain-to: "the chain is not executed if the initial service was
    // explicitly stopped ... or if its process terminates abnormally or with an exit status
    // indicating an error".
    let id = |w: &World| w.id("first");
    let mut w = chain_world(Options::empty());
    assert_eq!(w.set.chain_to(id(&w)), Some(&b"second"[..]));
    w.start("first").unwrap();
    w.run("first");
    w.exit("first", ExitStatus::Exited(0));
    assert!(w.notices().contains(&Notice::ChainTo(id(&w))));

    let mut w = chain_world(Options::empty());
    w.start("first").unwrap();
    w.run("first");
    w.exit("first", ExitStatus::Exited(1));
    assert!(!w.notices().contains(&Notice::ChainTo(id(&w))));

    let mut w = chain_world(Options::empty());
    w.start("first").unwrap();
    w.run("first");
    w.stop("first").unwrap();
    w.exit("first", ExitStatus::Exited(0));
    assert!(!w.notices().contains(&Notice::ChainTo(id(&w))));

    // always-chain: "forcing the chained service to always start on termination".
    let mut w = chain_world(Options::ALWAYS_CHAIN);
    w.start("first").unwrap();
    w.run("first");
    w.exit("first", ExitStatus::Exited(1));
    assert!(w.notices().contains(&Notice::ChainTo(id(&w))));
}

// ----- shutdown and idleness ----------------------------------------------------------------

#[test]
fn shutdown_stops_everything_then_reports_idle() {
    // control-protocol 7.7: "The daemon marks shutdown in progress (no further starts,
    // restarts or wakes), releases and unpins every service so all stop".
    let mut w = World::with(
        &[
            ("boot", internal()),
            ("sleeper", process()),
            ("pinned", process()),
        ],
        &[("boot", "sleeper", DepKind::Regular)],
    );
    w.start("boot").unwrap();
    w.run("sleeper");
    w.start_pinned("pinned").unwrap();
    w.run("pinned");
    w.take();
    w.shutdown(ShutdownKind::Poweroff);
    assert_eq!(w.start("boot"), Err(Refusal::ShuttingDown));
    assert_eq!(w.state("boot"), ServiceState::Stopped);
    w.exit("sleeper", ExitStatus::Signaled(signal::TERM));
    assert!(!w.notices().contains(&Notice::Idle {
        shutdown: Some(ShutdownKind::Poweroff)
    }));
    w.exit("pinned", ExitStatus::Signaled(signal::TERM));
    assert!(w.notices().contains(&Notice::Idle {
        shutdown: Some(ShutdownKind::Poweroff)
    }));
    assert_eq!(w.set.active_count(), 0);
}

#[test]
fn no_restart_during_shutdown() {
    let mut w = World::with(&[("s", process())], &[]);
    w.start("s").unwrap();
    w.run("s");
    w.shutdown(ShutdownKind::Halt);
    w.exit("s", ExitStatus::Signaled(signal::KILL));
    w.advance_ms(1000);
    assert_eq!(w.state("s"), ServiceState::Stopped);
}

#[test]
fn boot_failure_makes_the_set_idle_without_a_shutdown() {
    // dinit(8): "if all services stop without a shutdown command having been issued".
    let mut w = World::with(&[("boot", scripted())], &[]);
    w.start("boot").unwrap();
    w.take();
    w.exit("boot", ExitStatus::Exited(1));
    assert!(w.notices().contains(&Notice::Idle { shutdown: None }));
}

// ----- run-time dependency changes, loading and unloading -------------------------------------

#[test]
fn add_dep_rules() {
    // dinitctl(8) add-dep: "adding a need dependency requires that the service states are
    // consistent with the dependency ... Circular dependency chains may not be created."
    let mut w = World::with(
        &[
            ("scripted", scripted()),
            ("trig", triggered()),
            ("a", internal()),
        ],
        &[],
    );
    let (s, t, a) = (w.id("scripted"), w.id("trig"), w.id("a"));
    let now = w.now;
    assert_eq!(
        w.set
            .add_dep(s, s, DepKind::Regular, false, now, &mut w.host),
        Err(Refusal::SameService)
    );
    assert_eq!(
        w.set
            .add_dep(s, t, DepKind::WaitsFor, false, now, &mut w.host),
        Ok(AddDepOutcome {
            already_existed: false
        })
    );
    assert_eq!(
        w.set
            .add_dep(s, t, DepKind::WaitsFor, false, now, &mut w.host),
        Ok(AddDepOutcome {
            already_existed: true
        })
    );
    assert_eq!(
        w.set
            .add_dep(t, s, DepKind::Regular, false, now, &mut w.host),
        Err(Refusal::CycleOrState),
        "circular"
    );
    w.start("a").unwrap();
    assert_eq!(
        w.set
            .add_dep(a, s, DepKind::Regular, false, now, &mut w.host),
        Err(Refusal::CycleOrState),
        "a running service cannot need a stopped one"
    );
    assert_eq!(
        w.set.rm_dep(s, t, DepKind::WaitsFor, now, &mut w.host),
        Ok(())
    );
    assert_eq!(
        w.set.rm_dep(s, t, DepKind::WaitsFor, now, &mut w.host),
        Err(Refusal::NoSuchDependency)
    );
    w.check();
}

#[test]
fn enable_starts_the_dependency_of_a_started_service_and_rm_dep_stops_it() {
    // dinitctl(8) enable: "it also starts the dependency if the dependent is started (without
    // explicit activation, so the dependency will stop if the dependent stops)".
    let mut w = World::with(&[("boot", internal()), ("extra", internal())], &[]);
    w.start("boot").unwrap();
    let (b, x) = (w.id("boot"), w.id("extra"));
    let now = w.now;
    w.set
        .add_dep(b, x, DepKind::WaitsFor, true, now, &mut w.host)
        .unwrap();
    w.check();
    assert_eq!(w.state("extra"), ServiceState::Started);
    assert!(!w.status("extra").flags.has(StatusFlags::MARKED_ACTIVE));
    w.set
        .rm_dep(b, x, DepKind::WaitsFor, now, &mut w.host)
        .unwrap();
    w.check();
    assert_eq!(w.state("extra"), ServiceState::Stopped);
}

#[test]
fn adding_a_need_to_a_running_service_holds_the_dependency() {
    let mut w = World::with(&[("a", internal()), ("b", internal())], &[]);
    w.start("a").unwrap();
    w.start("b").unwrap();
    let (a, b) = (w.id("a"), w.id("b"));
    let now = w.now;
    w.set
        .add_dep(a, b, DepKind::Regular, false, now, &mut w.host)
        .unwrap();
    w.check();
    w.release("b").unwrap();
    assert_eq!(w.state("b"), ServiceState::Started, "a still needs b");
    w.release("a").unwrap();
    assert_eq!(w.state("b"), ServiceState::Stopped);
}

#[test]
fn cycles_are_refused_at_load_naming_the_cycle_and_changing_nothing() {
    let mut w = World::with(&[("existing", internal())], &[]);
    w.set.begin_load().unwrap();
    let cfg = internal();
    let a = w.set.insert_service(b"a", cfg, b"").unwrap();
    let b = w.set.insert_service(b"b", cfg, b"").unwrap();
    let c = w.set.insert_service(b"c", cfg, b"").unwrap();
    let e = w.set.find(b"existing").unwrap();
    w.set.add_dependency(a, b, DepKind::Regular).unwrap();
    w.set.add_dependency(b, c, DepKind::WaitsFor).unwrap();
    w.set.add_dependency(c, a, DepKind::Milestone).unwrap();
    w.set.add_dependency(a, e, DepKind::Regular).unwrap();
    let Err(LoadError::Cycle(cycle)) = w.set.commit_load() else {
        panic!("cycle not found");
    };
    let mut path = [a; 8];
    let n = w.set.cycle_path(&cycle, &mut path);
    assert_eq!(n, 3);
    let mut names: Vec<String> = path[..n].iter().map(|&id| w.name(id)).collect();
    // The cycle may be reported from any of its members; rotate to start at "a".
    let pos = names.iter().position(|s| s == "a").unwrap();
    names.rotate_left(pos);
    assert_eq!(names, ["a", "b", "c"]);
    w.set.abort_load();
    w.check();
    assert_eq!(w.set.slots_in_use(), 1);
    assert_eq!(w.set.edges_in_use(), 0);
    assert!(w.set.find(b"a").is_none());
}

#[test]
fn capacity_errors_are_reported_and_change_nothing() {
    // ARCHITECTURE.md: "Hitting a bound is an ordinary error with a clear message".
    let mut set: Box<ServiceSet<4, 4, 64>> = Box::default();
    set.begin_load().unwrap();
    for n in [&b"a"[..], b"b", b"c", b"d"] {
        set.insert_service(n, internal(), b"").unwrap();
    }
    set.commit_load().unwrap();
    set.begin_load().unwrap();
    assert_eq!(
        set.insert_service(b"e", internal(), b""),
        Err(LoadError::Capacity(CapacityError::Services { capacity: 4 }))
    );
    set.abort_load();
    assert_eq!(set.slots_in_use(), 4);
    assert_eq!(
        std::format!("{}", CapacityError::Services { capacity: 64 }),
        "service table full: 64 services; build with a larger bound"
    );

    let mut set: Box<ServiceSet<8, 2, 4096>> = Box::default();
    set.begin_load().unwrap();
    let a = set.insert_service(b"a", internal(), b"").unwrap();
    let b = set.insert_service(b"b", internal(), b"").unwrap();
    let c = set.insert_service(b"c", internal(), b"").unwrap();
    set.add_dependency(a, b, DepKind::Regular).unwrap();
    set.add_dependency(a, c, DepKind::Regular).unwrap();
    assert_eq!(
        set.add_dependency(b, c, DepKind::Regular),
        Err(LoadError::Capacity(CapacityError::Edges { capacity: 2 }))
    );
    set.abort_load();
    assert_eq!((set.slots_in_use(), set.edges_in_use()), (0, 0));
    set.verify_integrity().unwrap();

    let mut set: Box<ServiceSet<8, 8, 32>> = Box::default();
    set.begin_load().unwrap();
    set.insert_service(b"short", internal(), b"").unwrap();
    assert_eq!(
        set.insert_service(b"a-name-far-too-long-for-this-arena", internal(), b""),
        Err(LoadError::Capacity(CapacityError::Names { capacity: 32 }))
    );
    set.commit_load().unwrap();
    assert_eq!(set.slots_in_use(), 1);
    set.verify_integrity().unwrap();
}

#[test]
fn unload_rules() {
    // dinit(8): "A service description can however be unloaded (if the service is stopped
    // and has no loaded dependents)".
    let mut w = World::with(
        &[
            ("internal", internal()),
            ("dep", internal()),
            ("user", internal()),
            ("ordered", internal()),
        ],
        &[
            ("user", "dep", DepKind::Regular),
            ("ordered", "internal", DepKind::After),
        ],
    );
    let now = w.now;
    w.start("internal").unwrap();
    let id = w.id("internal");
    assert_eq!(w.set.unload(id, now, &mut w.host), Err(Refusal::NotStopped));
    w.stop("internal").unwrap();
    let dep = w.id("dep");
    assert_eq!(
        w.set.unload(dep, now, &mut w.host),
        Err(Refusal::HasDependencies)
    );
    // An ordering dependent does not prevent unloading; the name stays as a placeholder.
    assert_eq!(w.set.unload(id, now, &mut w.host), Ok(()));
    w.check();
    assert!(w.set.find(b"internal").is_none());
    assert_eq!(w.set.state(id), None, "the old id is refused");
    w.load(&[("internal", internal())], &[]).unwrap();
    assert_ne!(w.id("internal"), id);
    // Unloading the dependent first, then the dependency, frees everything.
    let user = w.id("user");
    w.set.unload(user, now, &mut w.host).unwrap();
    w.set.unload(dep, now, &mut w.host).unwrap();
    w.check();
    assert_eq!(w.set.iter().count(), 2);
}

#[test]
fn names_survive_arena_compaction_under_churn() {
    let mut set: Box<ServiceSet<8, 8, 128>> = Box::default();
    let mut host = World::new().host;
    for round in 0..200u32 {
        set.begin_load().unwrap();
        let name = std::format!("service-{round}");
        let id = set
            .insert_service(name.as_bytes(), internal(), b"chained-target")
            .unwrap();
        set.commit_load().unwrap();
        set.verify_integrity().unwrap();
        assert_eq!(set.name(id), Some(name.as_bytes()));
        assert_eq!(set.chain_to(id), Some(&b"chained-target"[..]));
        if round % 2 == 0 {
            set.unload(id, Instant::ZERO, &mut host).unwrap();
        } else if round > 2 {
            let old = std::format!("service-{}", round - 2);
            let old = set.find(old.as_bytes()).unwrap();
            set.unload(old, Instant::ZERO, &mut host).unwrap();
        }
    }
    set.verify_integrity().unwrap();
}

#[test]
fn load_order_is_the_listing_order() {
    let w = World::with(
        &[
            ("boot", internal()),
            ("zeta", internal()),
            ("alpha", internal()),
        ],
        &[],
    );
    let names: Vec<String> = w.set.iter().map(|id| w.name(id)).collect();
    assert_eq!(names, ["boot", "zeta", "alpha"]);
}

#[test]
fn instance_names_are_distinct_services() {
    // dinit-service(5) SERVICE ARGUMENTS: "each instance is loaded separately".
    let w = World::with(&[("tmpl@foo", internal()), ("tmpl@bar", internal())], &[]);
    assert_ne!(w.id("tmpl@foo"), w.id("tmpl@bar"));
}

#[test]
fn an_empty_set_is_all_zero_and_constant() {
    // Lets the daemon keep its set in a `static` in .bss.
    static SET: std::sync::Mutex<ServiceSet<16, 16, 256>> =
        std::sync::Mutex::new(ServiceSet::new());
    let set = SET.lock().unwrap();
    assert_eq!(set.slots_in_use(), 0);
    set.verify_integrity().unwrap();
}

// ----- depth ----------------------------------------------------------------------------------

type Deep = ServiceSet<10_001, 10_001, 200_000>;
static DEEP: std::sync::Mutex<Deep> = std::sync::Mutex::new(ServiceSet::new());

#[test]
fn a_ten_thousand_deep_chain_starts_and_stops_on_a_64k_stack() {
    // Dinit refuses chains deeper than 31; ours has no depth limit but capacity.
    let handle = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            let mut set = DEEP.lock().unwrap();
            let mut host = Recorder {
                calls: Vec::new(),
                next_pid: 1,
                spawn_error: None,
                pid_file: PidFileResult::Invalid,
            };
            set.begin_load().unwrap();
            let mut prev: Option<ServiceId> = None;
            let mut name = heapless::String::<16>::new();
            let mut first = None;
            for i in 0..10_000u32 {
                name.clear();
                ufmt::uwrite!(name, "s{}", i).unwrap();
                let id = set
                    .insert_service(name.as_bytes(), internal(), b"")
                    .unwrap();
                if let Some(p) = prev {
                    set.add_dependency(p, id, DepKind::Regular).unwrap();
                } else {
                    first = Some(id);
                }
                prev = Some(id);
            }
            set.commit_load().unwrap();
            let top = first.unwrap();
            let bottom = prev.unwrap();
            set.start(top, Pin::NoPin, Instant::ZERO, &mut host)
                .unwrap();
            assert_eq!(set.state(bottom), Some(ServiceState::Started));
            assert_eq!(set.state(top), Some(ServiceState::Started));
            assert_eq!(set.active_count(), 10_000);
            host.calls.clear();
            set.stop(bottom, Pin::NoPin, Gentle::Force, Instant::ZERO, &mut host)
                .unwrap();
            assert_eq!(set.state(top), Some(ServiceState::Stopped));
            assert_eq!(set.active_count(), 0);
            set.verify_integrity().unwrap();
        })
        .unwrap();
    handle.join().unwrap();
}

// ----- notices and small rules -----------------------------------------------------------------

#[test]
fn starts_rwfs_and_starts_log_are_reported_when_started() {
    // dinit-service(5) starts-rwfs: "This prompts Dinit to attempt to create its control socket";
    // starts-log: "Dinit will begin logging via the /dev/log socket".
    let mut rw = internal();
    rw.options = Options::STARTS_RWFS;
    let mut log = internal();
    log.options = Options::STARTS_LOG;
    let mut w = World::with(&[("rootrw", rw), ("syslog", log)], &[]);
    w.start("rootrw").unwrap();
    w.start("syslog").unwrap();
    let notices = w.notices();
    assert!(notices.contains(&Notice::RootFsWritable(w.id("rootrw"))));
    assert!(notices.contains(&Notice::LogReady(w.id("syslog"))));
}

#[test]
fn kill_all_on_stop_runs_the_stop_command_only_after_the_sweep() {
    // dinit-service(5) kill-all-on-stop: "Before stopping this service, send a TERM signal and
    // then (after a short pause) a KILL signal to all other processes".
    let mut cfg = scripted();
    cfg.options = Options::KILL_ALL_ON_STOP;
    cfg.has_stop_command = true;
    let mut w = World::with(&[("final", cfg)], &[]);
    w.start("final").unwrap();
    w.exit("final", ExitStatus::Exited(0));
    w.take();
    w.stop("final").unwrap();
    let calls = w.take();
    assert!(
        calls.contains(&Call::Notice(Notice::KillAll(w.id("final")))),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| matches!(c, Call::Spawn(..))),
        "the stop command ran during the sweep: {calls:?}"
    );
    assert_eq!(w.state("final"), ServiceState::Stopping);
    // Time passing does not end the wait: the host does.
    w.advance_ms(60_000);
    assert_eq!(w.state("final"), ServiceState::Stopping);
    w.kill_all_done("final");
    let calls = w.take();
    assert!(
        matches!(calls.first(), Some(Call::Spawn(_, CommandKind::Stop, _, _))),
        "{calls:?}"
    );
    w.exit("final", ExitStatus::Exited(0));
    assert_eq!(w.state("final"), ServiceState::Stopped);
    // A late or repeated report changes nothing.
    w.kill_all_done("final");
    assert_eq!(w.state("final"), ServiceState::Stopped);
}

#[test]
fn kill_all_on_stop_of_an_internal_service_stops_it_after_the_sweep() {
    let mut cfg = internal();
    cfg.options = Options::KILL_ALL_ON_STOP;
    let mut w = World::with(&[("sweeper", cfg)], &[]);
    w.start("sweeper").unwrap();
    w.take();
    w.stop("sweeper").unwrap();
    assert_eq!(w.state("sweeper"), ServiceState::Stopping);
    let events = w.events();
    assert!(events.is_empty(), "{events:?}");
    w.kill_all_done("sweeper");
    assert_eq!(w.state("sweeper"), ServiceState::Stopped);
    assert_eq!(w.events(), ev(&["sweeper Stopped"]));
}

#[test]
fn a_start_during_the_kill_all_sweep_follows_the_stop() {
    // The sweep cannot be taken back: the service stops, then starts again.
    let mut cfg = internal();
    cfg.options = Options::KILL_ALL_ON_STOP;
    let mut w = World::with(&[("sweeper", cfg)], &[]);
    w.start("sweeper").unwrap();
    w.stop("sweeper").unwrap();
    w.take();
    w.start("sweeper").unwrap();
    assert_eq!(w.state("sweeper"), ServiceState::Stopping);
    w.kill_all_done("sweeper");
    assert_eq!(w.state("sweeper"), ServiceState::Started);
    assert_eq!(w.events(), ev(&["sweeper Stopped", "sweeper Started"]));
}

#[test]
fn shares_console_runs_on_the_console_without_holding_it() {
    // dinit-service(5) shares-console: "given access to the console ... but that it should not
    // exclusively hold the console".
    let mut shares = process();
    shares.options = Options::SHARES_CONSOLE;
    let mut holds = process();
    holds.options = Options::RUNS_ON_CONSOLE;
    let mut w = World::with(&[("holder", holds), ("sharer", shares)], &[]);
    w.start("holder").unwrap();
    w.run("holder");
    w.take();
    w.start("sharer").unwrap();
    let calls = w.take();
    assert!(calls
        .iter()
        .any(|c| matches!(c, Call::Spawn(_, CommandKind::Start, _, true))));
    assert!(!w
        .status("sharer")
        .flags
        .has(StatusFlags::WAITING_FOR_CONSOLE));
}

#[test]
fn records_stay_compact() {
    // Static tables cost address space, but every service touches its record: keep it small.
    assert!(
        core::mem::size_of::<super::record::Record>() <= 208,
        "{}",
        core::mem::size_of::<super::record::Record>()
    );
    assert!(
        core::mem::size_of::<super::record::Edge>() <= 48,
        "{}",
        core::mem::size_of::<super::record::Edge>()
    );
}

#[test]
fn stale_ids_and_placeholders_are_refused_by_commands() {
    let mut w = World::with(&[("a", internal())], &[("a", "ghost", DepKind::After)]);
    let a = w.id("a");
    let now = w.now;
    w.set.unload(a, now, &mut w.host).unwrap();
    assert_eq!(
        w.set.start(a, Pin::NoPin, now, &mut w.host),
        Err(Refusal::UnknownService)
    );
    assert_eq!(w.set.status(a), None);
    w.check();
}

#[test]
fn reset_empties_a_set_in_place() {
    let mut w = World::with(
        &[("a", process()), ("b", internal())],
        &[("a", "b", DepKind::Regular)],
    );
    w.start("a").unwrap();
    w.set.reset();
    w.check();
    assert_eq!(
        (
            w.set.slots_in_use(),
            w.set.edges_in_use(),
            w.set.active_count()
        ),
        (0, 0, 0)
    );
    assert!(w.set.find(b"a").is_none());
    w.load(&[("a", internal())], &[]).unwrap();
    w.start("a").unwrap();
    assert_eq!(w.state("a"), ServiceState::Started);
}

// ----- reload -------------------------------------------------------------------------------

#[test]
fn reload_of_a_stopped_service_replaces_its_dependencies() {
    // dinitctl(8) reload: "Attempt to reload a service description".
    let mut w = World::with(
        &[
            ("svc", internal()),
            ("old", internal()),
            ("new", internal()),
            ("user", internal()),
        ],
        &[
            ("svc", "old", DepKind::Regular),
            ("user", "svc", DepKind::Regular),
        ],
    );
    let (svc, new) = (w.id("svc"), w.id("new"));
    let now = w.now;
    let mut cfg = process();
    cfg.restart = AutoRestart::No;
    w.set
        .reload(svc, cfg, b"", &[(new, DepKind::WaitsFor)], now, &mut w.host)
        .unwrap();
    w.check();
    let deps: Vec<_> = w.set.dependencies(svc).collect();
    assert_eq!(deps, vec![(new, DepKind::WaitsFor)]);
    assert_eq!(w.set.config(svc).unwrap().kind, ServiceKind::Process);
    assert_eq!(w.set.dependents(svc).count(), 1, "dependents are kept");
}

#[test]
fn reload_of_a_running_service_keeps_what_cannot_change() {
    // "the type of a running service cannot be changed ... If any hard dependencies are added
    // to a running service, the dependencies must already be started."
    let mut w = World::with(
        &[
            ("svc", internal()),
            ("dep", internal()),
            ("other", internal()),
            ("started", internal()),
        ],
        &[("svc", "dep", DepKind::Regular)],
    );
    w.start("svc").unwrap();
    w.start("started").unwrap();
    let (svc, dep, other, started) = (w.id("svc"), w.id("dep"), w.id("other"), w.id("started"));
    let now = w.now;
    assert_eq!(
        w.set.reload(
            svc,
            process(),
            b"",
            &[(dep, DepKind::Regular)],
            now,
            &mut w.host
        ),
        Err(Refusal::Incompatible)
    );
    assert_eq!(
        w.set.reload(
            svc,
            internal(),
            b"",
            &[(dep, DepKind::Regular), (other, DepKind::Regular)],
            now,
            &mut w.host
        ),
        Err(Refusal::Incompatible),
        "a new need on a stopped service"
    );
    w.check();
    assert_eq!(w.set.dependencies(svc).count(), 1, "nothing changed");
    // Dropping dep and needing an already started service is fine: dep stops.
    w.set
        .reload(
            svc,
            internal(),
            b"",
            &[(started, DepKind::Regular)],
            now,
            &mut w.host,
        )
        .unwrap();
    w.check();
    assert_eq!(w.state("dep"), ServiceState::Stopped);
    w.release("started").unwrap();
    assert_eq!(
        w.state("started"),
        ServiceState::Started,
        "svc holds its new dependency"
    );
    assert_eq!(
        w.set.reload(
            svc,
            internal(),
            b"",
            &[(svc, DepKind::Regular)],
            now,
            &mut w.host
        ),
        Err(Refusal::SameService)
    );
}

#[test]
fn reload_refuses_cycles() {
    let mut w = World::with(
        &[("a", internal()), ("b", internal())],
        &[("b", "a", DepKind::Regular)],
    );
    let (a, b) = (w.id("a"), w.id("b"));
    let now = w.now;
    assert_eq!(
        w.set.reload(
            a,
            internal(),
            b"",
            &[(b, DepKind::WaitsFor)],
            now,
            &mut w.host
        ),
        Err(Refusal::CycleOrState)
    );
    w.check();
}

#[test]
fn name_table_grows_with_the_services_and_finds_every_one() {
    // The hash table starts empty and doubles as services are added (16, 32, 64): every name
    // stays findable across each re-linking, through unloads and reloads, up to a full set.
    let mut w = World::new();
    let names: Vec<String> = (0..64).map(|i| std::format!("svc-{i}")).collect();
    for (n, chunk) in names.chunks(7).enumerate() {
        let services: Vec<(&str, ServiceConfig)> =
            chunk.iter().map(|s| (s.as_str(), internal())).collect();
        assert_eq!(w.load(&services, &[]), Ok(()));
        for name in names.iter().take((n + 1) * 7) {
            assert!(w.set.find(name.as_bytes()).is_some(), "{name} lost");
        }
    }
    assert_eq!(w.set.iter().count(), 64);
    let now = w.now;
    for name in names.iter().step_by(3) {
        let id = w.id(name);
        assert_eq!(w.set.unload(id, now, &mut w.host), Ok(()));
    }
    w.check();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(w.set.find(name.as_bytes()).is_some(), i % 3 != 0, "{name}");
    }
    let again: Vec<(&str, ServiceConfig)> = names
        .iter()
        .step_by(3)
        .map(|s| (s.as_str(), internal()))
        .collect();
    assert_eq!(w.load(&again, &[]), Ok(()));
    assert!(names.iter().all(|n| w.set.find(n.as_bytes()).is_some()));
    assert!(w.set.find(b"svc-64").is_none());
}
