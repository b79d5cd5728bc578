//! Activation and propagation: how acquisitions, starts and stops travel through the graph.
//!
//! Every function here works on one record and *queues* work for its neighbours (by setting a
//! `PROP_*` flag and enqueueing them, or by putting them on the transition queue); nothing here
//! calls itself for a neighbour. `ServiceSet::process_queues` drains the queues.
//!
//! The rules, with the man-page wording they implement:
//!
//! * "For a service to start, all its hard dependencies must first start successfully; if any
//!   of them fail, the dependent will not be started" (dinit(8)): `start_check_dependencies`
//!   makes a starting service wait on each dependency that is not started, and
//!   `failed_to_start` fails the hard dependents that were waiting.
//! * "the process will not be started until all hard dependencies have already started":
//!   `execute_transition` brings a service up only once no edge is waiting.
//! * "If a service stops, and is a hard dependency of another service, the other service must
//!   also stop ... A service will not be stopped by dinit until its dependents have completely
//!   stopped": `stop_dependents` and `stop_check_dependents`.
//! * "If a running service is not explicitly activated and has no running dependents, it will
//!   be stopped": `release_acquisition`; once stopped, a service releases its own dependencies
//!   (`stopped` → `PROP_RELEASE`).
//! * waits-for: "failure will not prevent the dependent from starting. If the dependency
//!   starts, stopping it will have no effect on the dependent": soft edges stop waiting on
//!   failure, and are broken (not followed) when the dependency stops.
//! * milestone: hard while the dependent waits for it, soft afterwards (`Edge::is_hard`).
//! * before/after: "if the named service is also starting, wait for [it] to finish starting";
//!   ordering edges never acquire their target.

use super::record::{flag, Link};
use super::{Host, Notice, ServiceSet};
use crate::config::Options;
use crate::types::{AutoRestart, DepKind, ServiceEvent, ServiceKind, ServiceState, StopReason};

impl<const S: usize, const E: usize, const N: usize> ServiceSet<S, E, N> {
    /// Keeps `active` (services wanted or not stopped) up to date; reaching zero makes the
    /// set idle, reported once the current input has been processed.
    pub(super) fn update_active(&mut self, i: usize) {
        let r = self.rec(i);
        let should = r.is_active() && r.cfg.kind != ServiceKind::Placeholder && r.in_use;
        let is = r.has(flag::ACTIVE);
        if should && !is {
            self.rec_mut(i).set(flag::ACTIVE);
            self.active = self.active.saturating_add(1);
        } else if !should && is {
            debug_assert!(
                self.active > 0,
                "service {i} is flagged active, yet the active count is already zero"
            );
            self.rec_mut(i).clear(flag::ACTIVE);
            self.active = self.active.saturating_sub(1);
            if self.active == 0 {
                self.idle_pending = true;
            }
        }
    }

    /// Sets the target to STARTED. A service that was starting or started with target STOPPED
    /// was going to stop once it could: that stop is now cancelled.
    pub(super) fn set_target_started<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if r.target == ServiceState::Stopped {
            let running = matches!(r.state, ServiceState::Starting | ServiceState::Started);
            self.rec_mut(i).target = ServiceState::Started;
            if running {
                self.emit(i, ServiceEvent::StopCancelled, host);
            }
        }
    }

    /// A new acquisition: explicit activation, or a dependent holding this service.
    pub(super) fn require<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec_mut(i);
        r.required_by = r.required_by.saturating_add(1);
        if r.required_by == 1 {
            // Acquire our own dependencies; if a release of them is still pending, cancelling
            // it is enough (they are still held).
            if r.has(flag::PROP_RELEASE) {
                r.clear(flag::PROP_RELEASE);
            } else {
                r.set(flag::PROP_REQUIRE);
                self.enqueue_prop(i);
            }
            self.set_target_started(i, host);
            self.update_active(i);
        }
    }

    /// Drops an acquisition. When none is left the target becomes STOPPED: a stopped service
    /// releases its dependencies now, a running one stops first (if `issue_stop`; otherwise
    /// the caller is already bringing it down).
    pub(super) fn release_acquisition<H: Host>(
        &mut self,
        i: usize,
        issue_stop: bool,
        host: &mut H,
    ) {
        let r = self.rec_mut(i);
        debug_assert!(
            r.required_by > 0,
            "service {i} loses an acquisition it never had (required_by is zero)"
        );
        r.required_by = r.required_by.saturating_sub(1);
        if r.required_by != 0 {
            return;
        }
        r.target = ServiceState::Stopped;
        r.clear(flag::PROP_START);
        if self.is_start_pinned(i) {
            // Pinned started: it keeps running, and keeps what it needs, until unpinned.
            if self.rec(i).state == ServiceState::Stopped {
                self.update_active(i);
            }
            return;
        }
        self.let_go_of_dependencies(i);
        let r = self.rec(i);
        if r.state == ServiceState::Stopped {
            self.update_active(i);
        } else if issue_stop && r.state != ServiceState::Stopping {
            // A service already stopping keeps the reason it is stopping for.
            self.rec_mut(i).stop_reason = StopReason::Normal;
            self.do_stop(i, false, host);
        }
    }

    /// Nothing wants `i` any more: its dependencies are released now, not once it has stopped
    /// (as Dinit does: a soft dependency may then stop before its dependent; a hard one still
    /// waits for its hard dependents to stop). A require still pending is superseded.
    fn let_go_of_dependencies(&mut self, i: usize) {
        let r = self.rec_mut(i);
        r.clear(flag::PROP_REQUIRE);
        r.set(flag::PROP_RELEASE);
        self.enqueue_prop(i);
    }

    /// Carries out the propagation steps flagged on a record taken off the queue.
    pub(super) fn do_propagation<H: Host>(&mut self, i: usize, host: &mut H) {
        let f = self.rec(i).flags;
        self.rec_mut(i).clear(
            flag::PROP_REQUIRE
                | flag::PROP_RELEASE
                | flag::PROP_FAILURE
                | flag::PROP_START
                | flag::PROP_STOP
                | flag::PROP_PIN,
        );
        if f & flag::PROP_REQUIRE != 0 {
            self.acquire_dependencies(i, host);
        }
        if f & flag::PROP_RELEASE != 0 {
            self.release_dependencies(i, host);
        }
        if f & flag::PROP_FAILURE != 0 {
            let r = self.rec(i);
            // Only a service still waiting to start can fail because of a dependency.
            if r.state == ServiceState::Starting && !r.has(flag::LAUNCHED) {
                let resuming = r.has(flag::UP);
                self.rec_mut(i).stop_reason = StopReason::DepFailed;
                if resuming {
                    // Back from an abandoned stop: what it runs must now be brought down.
                    self.failed_to_start(i, true, false, host);
                    self.begin_stopping(i, false, host);
                } else {
                    // Nothing ran: it is STOPPED already when its failure is reported (as in
                    // Dinit, whose START_FAILED event then carries state STOPPED).
                    self.rec_mut(i).state = ServiceState::Stopped;
                    self.failed_to_start(i, true, true, host);
                }
            }
        }
        if f & flag::PROP_START != 0 {
            self.do_start(i, host);
        }
        if f & flag::PROP_STOP != 0 {
            let restart = self.rec(i).has(flag::USER_RESTART);
            self.do_stop(i, restart, host);
        }
        if f & flag::PROP_PIN != 0 {
            self.recompute_dependent_pin(i, host);
        }
    }

    /// Pinned started, by its own pin or through a hard dependent's: it cannot be stopped.
    pub(super) fn is_start_pinned(&self, i: usize) -> bool {
        self.rec(i).has(flag::PIN_STARTED | flag::DEPT_PINNED)
    }

    /// The start pin of `i` changed: its hard dependencies recompute theirs (start pins pass
    /// down hard dependencies: a service that a pinned service needs cannot stop either).
    pub(super) fn start_pin_changed(&mut self, i: usize) {
        let mut link = self.rec(i).deps_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dep;
            // Milestones too, even once no longer hard: the pin they passed on when they were
            // must be taken back.
            if matches!(
                edge.kind,
                DepKind::Regular | DepKind::PreparedBy | DepKind::Milestone
            ) {
                let to = edge.to as usize;
                self.rec_mut(to).set(flag::PROP_PIN);
                self.enqueue_prop(to);
            }
        }
    }

    fn recompute_dependent_pin<H: Host>(&mut self, i: usize, host: &mut H) {
        let mut pinned = false;
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if edge.is_hard() && self.is_start_pinned(edge.from as usize) {
                pinned = true;
                break;
            }
        }
        if pinned == self.rec(i).has(flag::DEPT_PINNED) {
            return;
        }
        self.rec_mut(i).set_to(flag::DEPT_PINNED, pinned);
        self.start_pin_changed(i);
        if !self.is_start_pinned(i) {
            self.resume_after_unpin(i, host);
        }
    }

    /// No start pin holds the service any more: if nothing wants it, it lets go of its
    /// dependencies (which the pin kept), and a stop it was kept from goes ahead.
    pub(super) fn resume_after_unpin<H: Host>(&mut self, i: usize, host: &mut H) {
        if self.rec(i).required_by == 0 {
            self.let_go_of_dependencies(i);
        }
        let r = self.rec(i);
        if matches!(r.state, ServiceState::Starting | ServiceState::Started)
            && (r.has(flag::FORCE_STOP) || r.target == ServiceState::Stopped)
        {
            let restart = r.has(flag::USER_RESTART);
            self.do_stop(i, restart, host);
        }
    }

    fn acquire_dependencies<H: Host>(&mut self, i: usize, host: &mut H) {
        let mut link = self.rec(i).deps_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dep;
            if !edge.kind.is_ordering() && !edge.holding {
                self.edge_mut(e).holding = true;
                self.require(edge.to as usize, host);
            }
        }
    }

    fn release_dependencies<H: Host>(&mut self, i: usize, host: &mut H) {
        let mut link = self.rec(i).deps_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dep;
            if edge.holding {
                self.edge_mut(e).holding = false;
                self.set_waiting(e, false);
                self.release_acquisition(edge.to as usize, true, host);
            }
        }
    }

    /// Moves a service towards STARTED.
    pub(super) fn do_start<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if r.cfg.kind == ServiceKind::Placeholder || self.shutdown != 0 || r.required_by == 0 {
            // Nothing wants it (a start request superseded by a release).
            return;
        }
        if r.has(flag::PIN_STOPPED) {
            // "Dependents (via hard dependency relationships) of the pinned service will be
            // unable to start" (dinitctl(8), --pin). Its start fails (reported and logged, as
            // Dinit does), and with it theirs.
            match r.state {
                ServiceState::Stopped => self.failed_to_start(i, false, false, host),
                ServiceState::Stopping => self.fail_dependents(i, host),
                _ => {}
            }
            return;
        }
        match r.state {
            ServiceState::Started | ServiceState::Starting => return,
            ServiceState::Stopping => {
                if r.has(flag::RESTARTING) {
                    // Already coming back once stopped.
                    return;
                }
                if self.can_cancel_stop(i) {
                    // Not brought down yet: the stop can simply be abandoned, and with it the
                    // stop asked of dependents that have not begun stopping (pinned ones).
                    self.withdraw_dependent_stops(i);
                    self.emit(i, ServiceEvent::StopCancelled, host);
                } else {
                    self.rec_mut(i).set(flag::RESTARTING);
                    return;
                }
            }
            ServiceState::Stopped => self.reattach_soft_dependents(i),
        }
        // Wanted again, even if a stop command had set the target to STOPPED while dependents
        // still held it.
        self.set_target_started(i, host);
        let r = self.rec_mut(i);
        r.state = ServiceState::Starting;
        r.set(flag::WAITING_FOR_DEPS);
        r.clear(
            flag::START_FAILED
                | flag::START_SKIPPED
                | flag::FORCE_STOP
                | flag::INTERRUPTING
                | flag::STOP_ISSUED
                | flag::NO_AUTO_RESTART,
        );
        self.update_active(i);
        if self.start_check_dependencies(i, host) {
            self.enqueue_transition(i);
        }
    }

    /// A stopped service starting again: as in Dinit, its soft dependents (waits-for, a
    /// milestone once satisfied) that are started or starting hold it again, as they did
    /// before it stopped or failed (so it then stays up as long as they do).
    fn reattach_soft_dependents(&mut self, i: usize) {
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if edge.is_hard() || edge.kind.is_ordering() || edge.holding {
                continue;
            }
            let from_state = self.rec(edge.from as usize).state;
            if matches!(from_state, ServiceState::Started | ServiceState::Starting) {
                self.edge_mut(e).holding = true;
                let r = self.rec_mut(i);
                r.required_by = r.required_by.saturating_add(1);
            }
        }
    }

    /// Marks each dependency edge the starting service must wait on, asking dependencies that
    /// are neither started nor starting to start. True if nothing needs waiting for.
    fn start_check_dependencies<H: Host>(&mut self, i: usize, host: &mut H) -> bool {
        let mut all_started = true;
        // A service whose stop was abandoned is still up (or its start is still under way):
        // only its hard dependencies matter (milestones, waits-for and ordering were satisfied
        // when it was launched).
        let resuming = self.rec(i).has(flag::UP) || self.rec(i).has(flag::LAUNCHED);
        let mut link = self.rec(i).deps_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dep;
            let to = edge.to as usize;
            let to_state = self.rec(to).state;
            let wait = if resuming && !matches!(edge.kind, DepKind::Regular | DepKind::PreparedBy) {
                false
            } else if edge.kind.is_ordering() {
                // Only a start already under way is waited for.
                to_state == ServiceState::Starting
            } else if !edge.holding && edge.kind == DepKind::WaitsFor {
                // A soft link broken when the dependency stopped: not followed until the
                // dependent is activated afresh (or the dependency is woken).
                false
            } else {
                if !edge.holding {
                    // Needs and milestones are acquired again for every start.
                    self.edge_mut(e).holding = true;
                    self.require(to, host);
                }
                if to_state == ServiceState::Started {
                    false
                } else {
                    if to_state != ServiceState::Starting {
                        self.rec_mut(to).set(flag::PROP_START);
                        self.enqueue_prop(to);
                    }
                    true
                }
            };
            self.set_waiting(e, wait);
            if wait {
                all_started = false;
            }
        }
        // The other half of before/after: a partner ordered after this service that began its
        // start earlier (the propagation reached it first, e.g. both started by a common
        // dependent) and has not launched yet now waits for this service too. Without this,
        // the order would depend on which partner the propagation happened to reach first.
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if !edge.kind.is_ordering() || edge.waiting {
                continue;
            }
            let f = self.rec(edge.from as usize);
            if f.state == ServiceState::Starting
                && f.has(flag::WAITING_FOR_DEPS)
                && !f.has(flag::LAUNCHED)
            {
                self.set_waiting(e, true);
            }
        }
        all_started
    }

    fn dependencies_satisfied(&self, i: usize) -> bool {
        self.rec(i).waiting_on == 0
    }

    /// A dependency of `i` finished starting (or failed, for soft edges): re-check `i`.
    fn dependency_started(&mut self, i: usize) {
        let r = self.rec(i);
        if r.state == ServiceState::Starting && r.has(flag::WAITING_FOR_DEPS) {
            self.enqueue_transition(i);
        }
    }

    /// A dependent of `i` stopped: if `i` is waiting to stop, re-check it.
    fn dependent_stopped(&mut self, i: usize) {
        let r = self.rec(i);
        if r.state == ServiceState::Stopping && r.has(flag::WAITING_FOR_DEPS) {
            self.enqueue_transition(i);
        }
    }

    /// Takes a service off the transition queue and moves it on if it can.
    pub(super) fn execute_transition<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if !r.has(flag::WAITING_FOR_DEPS) {
            return;
        }
        match r.state {
            ServiceState::Starting if self.dependencies_satisfied(i) => {
                self.all_deps_started(i, host)
            }
            ServiceState::Stopping if self.stop_check_dependents(i) => {
                self.rec_mut(i).clear(flag::WAITING_FOR_DEPS);
                self.bring_down(i, host);
            }
            _ => {}
        }
    }

    fn all_deps_started<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        let kind = r.cfg.kind;
        if r.has(flag::UP)
            && (r.pid != 0 || !matches!(kind, ServiceKind::Process | ServiceKind::Bgprocess))
        {
            // A stop abandoned before anything was signalled or run: what the service runs
            // (or what its start script set up) is still there, console included.
            self.rec_mut(i).clear(flag::WAITING_FOR_DEPS);
            self.started(i, host);
            return;
        }
        if r.cfg.needs_console_to_start() && !r.has(flag::HAS_CONSOLE) {
            if !r.has(flag::WAITING_FOR_CONSOLE) {
                self.queue_for_console(i, host);
            }
            if !self.rec(i).has(flag::HAS_CONSOLE) {
                return;
            }
        }
        self.rec_mut(i).clear(flag::WAITING_FOR_DEPS);
        match kind {
            ServiceKind::Internal => self.started(i, host),
            ServiceKind::Triggered => {
                if self.rec(i).has(flag::TRIGGERED) {
                    self.started(i, host);
                }
                // Otherwise it stays STARTING until `set_trigger`.
            }
            ServiceKind::Placeholder => {}
            ServiceKind::Process | ServiceKind::Bgprocess | ServiceKind::Scripted => {
                let r = self.rec(i);
                if r.has(flag::LAUNCHED) && r.pid != 0 {
                    // A start interrupted before SIGINT was sent: its outcome is still
                    // awaited.
                } else {
                    self.launch(i, host);
                }
            }
        }
    }

    /// The service reached STARTED.
    pub(super) fn started<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        debug_assert!(
            r.state == ServiceState::Starting,
            "service {i} reached STARTED from {:?}: only a starting service starts",
            r.state
        );
        if r.has(flag::HAS_CONSOLE) && !r.cfg.options.contains(Options::RUNS_ON_CONSOLE) {
            self.release_console(i, host);
        }
        self.cancel_timer(i);
        let r = self.rec_mut(i);
        let restart_after = r.has(flag::USER_RESTART);
        r.state = ServiceState::Started;
        r.set(flag::UP);
        r.clear(
            flag::LAUNCHED
                | flag::EXEC_PENDING
                | flag::WAITING_FOR_DEPS
                | flag::RESTARTING
                | flag::USER_RESTART
                | flag::AUTO_RESTART
                | flag::SMOOTH_RECOVERY
                | flag::INTERRUPTING,
        );
        let opts = r.cfg.options;
        let id = self.id_of(i);
        host.notice(Notice::Started(id));
        if opts.contains(Options::STARTS_RWFS) {
            host.notice(Notice::RootFsWritable(id));
        }
        if opts.contains(Options::STARTS_LOG) {
            host.notice(Notice::LogReady(id));
        }
        self.emit(i, ServiceEvent::Started, host);

        let r = self.rec(i);
        if r.has(flag::FORCE_STOP) || r.target == ServiceState::Stopped {
            // It was asked to stop while its start could not be interrupted.
            self.do_stop(i, restart_after && r.has(flag::FORCE_STOP), host);
            return;
        }
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if edge.waiting {
                self.set_waiting(e, false);
                self.dependency_started(edge.from as usize);
            }
        }
    }

    /// Tells the dependents of a service that will not start: hard dependents that are
    /// starting fail (`PROP_FAILURE`), soft and ordering dependents stop waiting, and every
    /// dependent's hold is dropped.
    fn fail_dependents<H: Host>(&mut self, i: usize, host: &mut H) {
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            let from = edge.from as usize;
            let f = self.rec(from);
            let (f_state, f_launched, f_up) = (f.state, f.has(flag::LAUNCHED), f.has(flag::UP));
            let release = if edge.kind.is_ordering() {
                false
            } else if edge.is_hard() {
                // A dependent still waiting to launch cannot start without this service. One
                // that is already running (pinned started, or launched) keeps its hold: this
                // service cannot go down under it.
                let fails = f_state == ServiceState::Starting && !f_launched;
                if fails {
                    self.rec_mut(from).set(flag::PROP_FAILURE);
                    self.enqueue_prop(from);
                    self.set_waiting(e, false);
                }
                // A dependent that is not running (stopped, or stopping without having come up)
                // is about to let go anyway.
                fails || !(f_up || f_launched)
            } else {
                true
            };
            if !edge.is_hard() && edge.waiting {
                self.set_waiting(e, false);
                self.dependency_started(from);
            }
            if release && edge.holding {
                self.edge_mut(e).holding = false;
                self.release_acquisition(i, false, host);
            }
        }
    }

    /// The service failed to start (its stop reason is already set). Dependents learn of it,
    /// explicit activation is dropped ("If a pinned-started service fails to start, the pin is
    /// removed"), and with `immediate_stop` the service is STOPPED at once (nothing is running).
    pub(super) fn failed_to_start<H: Host>(
        &mut self,
        i: usize,
        dependency: bool,
        immediate_stop: bool,
        host: &mut H,
    ) {
        if self.rec(i).has(flag::WAITING_FOR_CONSOLE) {
            self.unqueue_console(i);
        }
        // A failed start is a stop for good, whatever still holds the service (as in Dinit).
        self.rec_mut(i).target = ServiceState::Stopped;
        // The start pin goes first, so that the release below lets go of the dependencies.
        let was_pinned = self.rec(i).has(flag::PIN_STARTED);
        self.rec_mut(i).clear(flag::PIN_STARTED);
        if self.rec(i).has(flag::EXPLICIT) {
            self.rec_mut(i).clear(flag::EXPLICIT);
            self.release_acquisition(i, false, host);
        }
        self.fail_dependents(i, host);
        let r = self.rec_mut(i);
        r.set(flag::START_FAILED);
        r.clear(flag::RESTARTING | flag::USER_RESTART | flag::AUTO_RESTART);
        if was_pinned && !self.rec(i).has(flag::DEPT_PINNED) {
            self.start_pin_changed(i);
        }
        let id = self.id_of(i);
        host.notice(Notice::FailedToStart {
            service: id,
            dependency,
        });
        self.emit(i, ServiceEvent::FailedStart, host);
        if immediate_stop {
            self.stopped(i, host);
        }
    }

    /// Moves a service towards STOPPED. `with_restart`: it (and its hard dependents) will start
    /// again once stopped.
    pub(super) fn do_stop<H: Host>(&mut self, i: usize, with_restart: bool, host: &mut H) {
        let r = self.rec(i);
        if r.cfg.kind == ServiceKind::Placeholder {
            return;
        }
        if self.is_start_pinned(i)
            && matches!(r.state, ServiceState::Starting | ServiceState::Started)
        {
            // "A service that is pinned started cannot be stopped"; `unpin` resumes the stop.
            return;
        }
        if with_restart {
            self.rec_mut(i).set(flag::RESTARTING | flag::USER_RESTART);
        }
        let r = self.rec(i);
        if r.has(flag::EXPLICIT) && r.target == ServiceState::Stopped && !r.has(flag::RESTARTING) {
            // Going down for good (a hard dependency stopped for good took it down): as in
            // Dinit, its explicit activation goes now, not once it has stopped, so that it is
            // no longer shown marked active while it stops.
            self.rec_mut(i).clear(flag::EXPLICIT);
            self.release_acquisition(i, false, host);
        }
        match self.rec(i).state {
            ServiceState::Stopped | ServiceState::Stopping => return,
            ServiceState::Starting => {
                let r = self.rec(i);
                if !r.has(flag::LAUNCHED) {
                    // Waiting for dependencies, the console, a trigger or a restart delay:
                    // nothing has run, so the start is simply abandoned.
                    if r.has(flag::WAITING_FOR_CONSOLE) {
                        self.unqueue_console(i);
                    }
                    self.cancel_timer(i);
                    self.emit(i, ServiceEvent::StartCancelled, host);
                } else if self.can_interrupt_start(i) {
                    self.rec_mut(i).set(flag::INTERRUPTING);
                    self.emit(i, ServiceEvent::StartCancelled, host);
                } else {
                    // Let the start finish; `started` then stops it.
                    return;
                }
            }
            ServiceState::Started => {}
        }
        self.begin_stopping(i, with_restart, host);
    }

    /// Enters STOPPING (waiting for dependents) and tells the dependents.
    pub(super) fn begin_stopping<H: Host>(&mut self, i: usize, with_restart: bool, host: &mut H) {
        let r = self.rec_mut(i);
        debug_assert!(
            matches!(r.state, ServiceState::Starting | ServiceState::Started),
            "service {i} begins to stop from {:?}: only a starting or started one can",
            r.state
        );
        r.state = ServiceState::Stopping;
        r.set(flag::WAITING_FOR_DEPS);
        self.update_active(i);
        if self.stop_dependents(i, with_restart, host) {
            self.enqueue_transition(i);
        }
    }

    /// A stopping service can go back up without stopping first if nothing has been signalled
    /// or run to stop it yet and what it runs is still there (a service whose process died
    /// must finish stopping, so that its dependents are down before it is relaunched).
    fn can_cancel_stop(&self, i: usize) -> bool {
        let r = self.rec(i);
        if !r.has(flag::WAITING_FOR_DEPS) || r.has(flag::STOP_ISSUED) || r.has(flag::FORCE_STOP) {
            // FORCE_STOP: a hard dependency is going down, so this service must go down too.
            return false;
        }
        match r.cfg.kind {
            ServiceKind::Process | ServiceKind::Bgprocess => r.pid != 0,
            ServiceKind::Scripted => r.has(flag::UP) || (r.has(flag::LAUNCHED) && r.pid != 0),
            ServiceKind::Internal | ServiceKind::Triggered | ServiceKind::Placeholder => true,
        }
    }

    /// The stop of `i` was abandoned: hard dependents it had asked to stop that are still
    /// starting or started (held up by a pin) no longer have to.
    fn withdraw_dependent_stops(&mut self, i: usize) {
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if !edge.is_hard() {
                continue;
            }
            let f = self.rec_mut(edge.from as usize);
            if matches!(f.state, ServiceState::Starting | ServiceState::Started)
                && f.has(flag::FORCE_STOP)
            {
                f.clear(flag::FORCE_STOP | flag::PROP_STOP | flag::RESTARTING | flag::USER_RESTART);
            }
        }
    }

    fn can_interrupt_start(&self, i: usize) -> bool {
        let r = self.rec(i);
        !r.has(flag::LAUNCHED)
            || (r.cfg.options.contains(Options::START_INTERRUPTIBLE) && r.pid != 0)
    }

    /// Asks hard dependents to stop (restart, with `with_restart`); breaks soft links unless
    /// this service is coming back. True if no dependent needs waiting for.
    ///
    /// What the hard dependents are told follows Dinit: if this service is going down for good
    /// (its target is STOPPED: a stop command, a restart limit, a cascade of those), they stop
    /// for good too, "because a dependency failed" (DEPFAILED); if it is still wanted (it is
    /// restarting, or its process ended while they held it), they are brought down with their
    /// stop reason unchanged and restart by their own `restart` setting; during a system
    /// shutdown they are simply stopped.
    fn stop_dependents<H: Host>(&mut self, i: usize, with_restart: bool, host: &mut H) -> bool {
        let me = self.rec(i);
        let shutting_down = self.shutdown != 0;
        let for_good = me.target == ServiceState::Stopped && !shutting_down;
        let coming_back = with_restart || me.has(flag::RESTARTING);
        let mut all_stopped = true;
        let mut link = me.dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            let from = edge.from as usize;
            if edge.kind.is_ordering() {
                if edge.waiting {
                    self.set_waiting(e, false);
                    self.dependency_started(from);
                }
                continue;
            }
            if edge.is_hard() {
                let f = self.rec(from);
                // A hard dependent that is running (or launched) must stop first, whether or
                // not it still holds this service (one that is stopping has let go already).
                let fundamentally_stopped = self.fundamentally_stopped(from);
                if !fundamentally_stopped {
                    all_stopped = false;
                } else if f.state == ServiceState::Starting && !edge.waiting {
                    // Still waiting to start (for something else): it must now wait for this
                    // service too, or it could launch while this one is down (if it cannot be
                    // stopped, being pinned).
                    self.set_waiting(e, true);
                }
                let f = self.rec(from);
                if !edge.holding || f.state == ServiceState::Stopped {
                    continue;
                }
                if coming_back
                    && f.state == ServiceState::Starting
                    && f.has(flag::WAITING_FOR_DEPS)
                    && edge.waiting
                {
                    // It is waiting for us and will go on waiting while we restart.
                    continue;
                }
                let f = self.rec_mut(from);
                f.set(flag::FORCE_STOP | flag::PROP_STOP);
                if with_restart {
                    f.stop_reason = StopReason::DepRestart;
                    f.set(flag::RESTARTING | flag::USER_RESTART);
                } else if for_good {
                    f.stop_reason = StopReason::DepFailed;
                    f.target = ServiceState::Stopped;
                    f.set(flag::NO_AUTO_RESTART);
                    f.clear(flag::RESTARTING | flag::USER_RESTART | flag::DEP_WENT_DOWN);
                } else if !shutting_down {
                    f.set(flag::DEP_WENT_DOWN);
                }
                self.enqueue_prop(from);
            } else if !coming_back {
                if edge.waiting {
                    self.set_waiting(e, false);
                    self.dependency_started(from);
                }
                if edge.holding {
                    self.edge_mut(e).holding = false;
                    self.release_acquisition(i, false, host);
                }
            }
        }
        all_stopped
    }

    /// Stopped, or only waiting to start (nothing of it runs: not launched, and not a service
    /// resuming after an abandoned stop).
    pub(super) fn fundamentally_stopped(&self, i: usize) -> bool {
        let r = self.rec(i);
        r.state == ServiceState::Stopped
            || (r.state == ServiceState::Starting
                && r.has(flag::WAITING_FOR_DEPS)
                && !r.has(flag::UP | flag::LAUNCHED))
    }

    /// True when every hard dependent is stopped (or is only waiting to start), whether or
    /// not it still holds this service.
    fn stop_check_dependents(&self, i: usize) -> bool {
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = self.edge(e);
            link = edge.next_dependent;
            if edge.is_hard() && !self.fundamentally_stopped(edge.from as usize) {
                return false;
            }
        }
        true
    }

    fn hard_holders(&self, i: usize) -> bool {
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = self.edge(e);
            if edge.holding && edge.is_hard() {
                return true;
            }
            link = edge.next_dependent;
        }
        false
    }

    /// The service reached STOPPED: decide whether it comes back, let go of what it held, log,
    /// chain, and report.
    pub(super) fn stopped<H: Host>(&mut self, i: usize, host: &mut H) {
        if self.rec(i).has(flag::HAS_CONSOLE) {
            self.release_console(i, host);
        }
        if self.rec(i).has(flag::WAITING_FOR_CONSOLE) {
            self.unqueue_console(i);
        }
        self.cancel_timer(i);
        let r = self.rec_mut(i);
        let was_up = r.has(flag::UP);
        let start_failed = r.has(flag::START_FAILED);
        let dep_went_down = r.has(flag::DEP_WENT_DOWN);
        r.clear(
            flag::DEP_WENT_DOWN
                | flag::FORCE_STOP
                | flag::WAITING_FOR_DEPS
                | flag::LAUNCHED
                | flag::EXEC_PENDING
                | flag::INTERRUPTING
                | flag::STOP_ISSUED
                | flag::SMOOTH_RECOVERY
                | flag::UP
                | flag::USER_RESTART,
        );
        r.pid = 0;
        r.stop_pid = 0;

        let will_restart = self.restarts_after_stop(i, start_failed, dep_went_down, host);
        let mut link = self.rec(i).deps_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dep;
            self.dependent_stopped(edge.to as usize);
        }
        self.rec_mut(i).state = ServiceState::Stopped;
        if will_restart {
            self.restart_preparers(i, host);
            self.rec_mut(i).set(flag::RESTARTING);
            self.do_start(i, host);
        } else {
            self.let_go_after_stop(i, host);
        }

        let id = self.id_of(i);
        if !start_failed {
            host.notice(Notice::Stopped(id));
        }
        let r = self.rec(i);
        if !will_restart && was_up && !r.chain_to.is_empty() && self.shutdown == 0 {
            let chain = r.cfg.options.contains(Options::ALWAYS_CHAIN)
                || (r.stop_reason == StopReason::Terminated && r.exit().is_clean());
            if chain {
                host.notice(Notice::ChainTo(id));
            }
        }
        self.emit(i, ServiceEvent::Stopped, host);
    }

    /// Whether a service that has just stopped starts again (a restart asked for, an automatic
    /// restart after a dependency went down, or dependents coming back that need it). If not,
    /// its pending restart is cancelled and its soft dependents are let go.
    fn restarts_after_stop<H: Host>(
        &mut self,
        i: usize,
        start_failed: bool,
        dep_went_down: bool,
        host: &mut H,
    ) -> bool {
        let shutting_down = self.shutdown != 0;
        let r = self.rec(i);
        let wanted = !shutting_down && r.required_by > 0 && r.target == ServiceState::Started;
        let mut will_restart = wanted && r.has(flag::RESTARTING);
        if !will_restart && wanted && !start_failed && !r.has(flag::NO_AUTO_RESTART) {
            if dep_went_down && r.cfg.restart == AutoRestart::Yes {
                // "restart ... including due to ... a dependency stopping" (dinit-service(5)).
                if self.restart_limit_ok(i) {
                    will_restart = true;
                    self.rec_mut(i).set(flag::AUTO_RESTART);
                } else {
                    host.notice(Notice::RestartLimitReached(self.id_of(i)));
                }
            } else if self.hard_holders(i) {
                // Dependents that are coming back need it again.
                will_restart = true;
            }
        }
        if !will_restart {
            if self.rec(i).has(flag::RESTARTING) && !wanted {
                self.emit(i, ServiceEvent::StartCancelled, host);
            }
            self.rec_mut(i).clear(flag::RESTARTING | flag::AUTO_RESTART);
            self.break_soft_dependents(i, host);
        }
        will_restart
    }

    /// A service stopped for good: its explicit activation goes, or, if nothing requires it
    /// any more, it releases its dependencies.
    fn let_go_after_stop<H: Host>(&mut self, i: usize, host: &mut H) {
        if self.rec(i).has(flag::EXPLICIT) {
            // "If the service will not be automatically restarted, any explicit activation
            // will be removed" (dinit(8)).
            self.rec_mut(i).clear(flag::EXPLICIT);
            self.release_acquisition(i, false, host);
        } else if self.rec(i).required_by == 0 {
            let r = self.rec_mut(i);
            r.clear(flag::PROP_REQUIRE);
            r.set(flag::PROP_RELEASE);
            self.enqueue_prop(i);
        }
        self.update_active(i);
    }

    /// A service that stopped for good no longer holds soft dependents' waits or holds.
    fn break_soft_dependents<H: Host>(&mut self, i: usize, host: &mut H) {
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if edge.is_hard() {
                continue;
            }
            if edge.waiting {
                self.set_waiting(e, false);
                self.dependency_started(edge.from as usize);
            }
            if edge.holding && !edge.kind.is_ordering() {
                self.edge_mut(e).holding = false;
                self.release_acquisition(i, false, host);
            }
        }
    }

    /// `prepared-by`: "the named service will also be restarted if this service is restarted".
    fn restart_preparers<H: Host>(&mut self, i: usize, host: &mut H) {
        let mut link = self.rec(i).deps_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dep;
            let to = edge.to as usize;
            if edge.kind == DepKind::PreparedBy
                && edge.holding
                && self.rec(to).state == ServiceState::Started
            {
                self.rec_mut(to).stop_reason = StopReason::Normal;
                self.do_stop(to, true, host);
            }
        }
    }

    /// `stop` and `shutdown`: drop explicit activation, set the target to STOPPED, cancel any
    /// pending restart, and bring the service down with its hard dependents, none of which
    /// will restart automatically.
    pub(super) fn stop_by_command<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec_mut(i);
        if r.has(flag::EXPLICIT) {
            debug_assert!(
                r.required_by > 0,
                "service {i} is explicitly active, yet nothing requires it"
            );
            r.clear(flag::EXPLICIT);
            r.required_by = r.required_by.saturating_sub(1);
        }
        r.target = ServiceState::Stopped;
        r.set(flag::NO_AUTO_RESTART);
        r.clear(flag::RESTARTING | flag::USER_RESTART | flag::AUTO_RESTART | flag::PROP_START);
        if r.required_by == 0 && !self.is_start_pinned(i) {
            self.let_go_of_dependencies(i);
        }
        self.stop_normally(i, host);
    }

    /// Brings a service that is to stop down for a normal reason (a stop it did not fail
    /// into): one starting or started stops, one stopped is re-examined, one stopping goes on.
    fn stop_normally<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec_mut(i);
        match r.state {
            ServiceState::Starting | ServiceState::Started => {
                r.stop_reason = StopReason::Normal;
                self.do_stop(i, false, host);
            }
            ServiceState::Stopped => self.update_active(i),
            ServiceState::Stopping => {}
        }
    }

    /// A system shutdown's stop of one service (Dinit's "stop without bringing down"): its
    /// explicit activation is dropped; if nothing else wants it, it lets go of its
    /// dependencies and stops. A service still needed stops once what needs it lets go of it,
    /// so that everything stops in dependency order.
    pub(super) fn stop_for_shutdown<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec_mut(i);
        if r.has(flag::EXPLICIT) {
            debug_assert!(
                r.required_by > 0,
                "service {i} is explicitly active, yet nothing requires it"
            );
            r.clear(flag::EXPLICIT);
            r.required_by = r.required_by.saturating_sub(1);
        }
        if r.required_by != 0 {
            return;
        }
        r.target = ServiceState::Stopped;
        r.clear(flag::RESTARTING | flag::USER_RESTART | flag::AUTO_RESTART | flag::PROP_START);
        if self.is_start_pinned(i) {
            // Unpinned right after (every pin is lifted by a shutdown).
            self.update_active(i);
            return;
        }
        self.let_go_of_dependencies(i);
        self.stop_normally(i, host);
    }

    pub(super) fn unpin_slot<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec_mut(i);
        let pinned_started = r.has(flag::PIN_STARTED);
        let pinned_stopped = r.has(flag::PIN_STOPPED);
        r.clear(flag::PIN_STARTED | flag::PIN_STOPPED);
        if pinned_started && !self.rec(i).has(flag::DEPT_PINNED) {
            // Its hard dependencies may be free to stop now, and so may it.
            self.start_pin_changed(i);
            self.resume_after_unpin(i, host);
        }
        let r = self.rec(i);
        if pinned_stopped
            && r.target == ServiceState::Started
            && matches!(r.state, ServiceState::Stopped | ServiceState::Stopping)
        {
            self.rec_mut(i).set(flag::PROP_START);
            self.enqueue_prop(i);
        }
    }

    // ----- the console ----------------------------------------------------------------------

    fn queue_for_console<H: Host>(&mut self, i: usize, host: &mut H) {
        if self.console_holder.is_none() && self.console_head.is_none() {
            self.acquire_console(i, host);
            return;
        }
        let r = self.rec_mut(i);
        r.set(flag::WAITING_FOR_CONSOLE);
        r.console_next = Link::NONE;
        match self.console_tail.get() {
            Some(t) => self.rec_mut(t).console_next = Link::to(i),
            None => {
                debug_assert!(
                    self.console_head.is_none(),
                    "the console queue has a head but no tail"
                );
                self.console_head = Link::to(i);
            }
        }
        self.console_tail = Link::to(i);
    }

    fn acquire_console<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec_mut(i);
        r.clear(flag::WAITING_FOR_CONSOLE);
        r.set(flag::HAS_CONSOLE);
        self.console_holder = Link::to(i);
        host.notice(Notice::ConsoleAcquired(self.id_of(i)));
    }

    /// Gives up the console and hands it to the next waiter that still wants it.
    fn release_console<H: Host>(&mut self, i: usize, host: &mut H) {
        let holds = self.console_holder == Link::to(i);
        debug_assert!(
            holds,
            "service {i} has the console flag, but the console holder is {:?}",
            self.console_holder.get()
        );
        if !holds {
            self.rec_mut(i).clear(flag::HAS_CONSOLE);
            return;
        }
        self.rec_mut(i).clear(flag::HAS_CONSOLE);
        self.console_holder = Link::NONE;
        host.notice(Notice::ConsoleReleased(self.id_of(i)));
        while let Some(n) = self.console_head.get() {
            let next = self.rec(n).console_next;
            self.console_head = next;
            if next.is_none() {
                self.console_tail = Link::NONE;
            }
            let r = self.rec_mut(n);
            r.console_next = Link::NONE;
            r.clear(flag::WAITING_FOR_CONSOLE);
            if r.state == ServiceState::Starting && r.has(flag::WAITING_FOR_DEPS) {
                self.acquire_console(n, host);
                // Carry on with its start from the transition queue (not from here, so that a
                // long queue of console services does not nest).
                self.enqueue_transition(n);
                break;
            }
        }
    }

    pub(super) fn unqueue_console(&mut self, i: usize) {
        let waiting = self.rec(i).has(flag::WAITING_FOR_CONSOLE);
        let mut found = false;
        let mut prev: Option<usize> = None;
        let mut link = self.console_head;
        while let Some(n) = link.get() {
            let next = self.rec(n).console_next;
            if n == i {
                found = true;
                match prev {
                    Some(p) => self.rec_mut(p).console_next = next,
                    None => self.console_head = next,
                }
                if self.console_tail == Link::to(i) {
                    self.console_tail = prev.map_or(Link::NONE, Link::to);
                }
                break;
            }
            prev = Some(n);
            link = next;
        }
        debug_assert!(
            found || !waiting,
            "service {i} waits for the console but is not in the console queue"
        );
        let r = self.rec_mut(i);
        r.console_next = Link::NONE;
        r.clear(flag::WAITING_FOR_CONSOLE);
    }
}
