//! The process side of process, bgprocess and scripted services: launching, readiness, exits,
//! stop signals and commands, timeouts, automatic restart with its delay and limit, and smooth
//! recovery (dinit-service(5): `restart`, `smooth-recovery`, `restart-delay`,
//! `restart-limit-interval`, `restart-limit-count`, `start-timeout`, `stop-timeout`,
//! `term-signal`, `stop-command`, `ready-notification`, `pid-file`, `skippable`,
//! `start-interruptible`, `signal-process-only`, `kill-all-on-stop`).

use super::record::{flag, TimerKind};
use super::{CommandKind, Host, LaunchFailed, Notice, PidFileResult, ServiceId, ServiceSet};
use crate::config::Options;
use crate::signal;
use crate::time::Instant;
use crate::types::{
    AutoRestart, ExecStage, ExitStatus, Pid, ServiceKind, ServiceState, StopReason,
};

impl<const S: usize, const E: usize, const N: usize> ServiceSet<S, E, N> {
    /// Dependencies are up (and the console held if needed): launch the start command, after
    /// the restart delay if this is an automatic restart.
    pub(super) fn launch<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if r.has(flag::AUTO_RESTART) && r.time_since_start(self.now) < r.cfg.restart_delay {
            // "the minimum time (in seconds) between automatic restarts".
            let at = r.last_start.saturating_add(r.cfg.restart_delay);
            self.arm_timer(i, TimerKind::RestartDelay, at);
            return;
        }
        self.spawn_start(i, host);
    }

    fn spawn_start<H: Host>(&mut self, i: usize, host: &mut H) {
        let now = self.now;
        let r = self.rec_mut(i);
        if !r.has(flag::AUTO_RESTART) {
            // A start by request opens a new restart-limit interval.
            r.restart_window_start = now;
            r.restarts_in_window = 0;
        }
        r.clear(flag::AUTO_RESTART);
        r.last_start = now;
        let on_console =
            r.has(flag::HAS_CONSOLE) || r.cfg.options.contains(Options::SHARES_CONSOLE);
        let timeout = r.cfg.start_timeout;
        let id = self.id_of(i);
        match host.spawn(id, CommandKind::Start, on_console) {
            Ok(pid) => {
                let r = self.rec_mut(i);
                r.pid = pid;
                r.set(flag::LAUNCHED | flag::EXEC_PENDING);
                if !timeout.is_zero() {
                    self.arm_timer(i, TimerKind::StartTimeout, now.saturating_add(timeout));
                }
            }
            Err(LaunchFailed) => {
                // Nothing was launched (what the command needs could not be prepared, or the
                // child not created; the host has logged why): the start fails, from
                // STOPPING, with no exec details and its stop reason as it was (as in Dinit).
                let r = self.rec_mut(i);
                if r.state == ServiceState::Started {
                    r.clear(flag::SMOOTH_RECOVERY);
                    self.terminate_without_restart(i, host);
                } else {
                    r.state = ServiceState::Stopping;
                    self.failed_to_start(i, false, true, host);
                }
            }
        }
    }

    /// The process `pid` of `id` has executed its command (its status pipe closed without a
    /// report). A process service without readiness notification is now STARTED.
    pub fn exec_succeeded<H: Host>(&mut self, id: ServiceId, pid: Pid, now: Instant, host: &mut H) {
        let Some(i) = self.slot(id) else { return };
        self.begin_input(now);
        let r = self.rec(i);
        if pid == 0 || pid != r.pid || !r.has(flag::EXEC_PENDING) {
            return;
        }
        self.rec_mut(i).clear(flag::EXEC_PENDING);
        let r = self.rec(i);
        if r.cfg.kind == ServiceKind::Process && !r.cfg.ready_notification && r.has(flag::LAUNCHED)
        {
            if r.state == ServiceState::Starting {
                self.started(i, host);
            } else if r.state == ServiceState::Started && r.has(flag::SMOOTH_RECOVERY) {
                self.recovered(i);
            }
        }
        self.process_queues(host);
    }

    /// The process `pid` of `id` failed during setup at `stage` with `errno` (reported over its
    /// status pipe); it will exit without running the command.
    pub fn exec_failed<H: Host>(
        &mut self,
        id: ServiceId,
        pid: Pid,
        stage: ExecStage,
        errno: i32,
        now: Instant,
        host: &mut H,
    ) {
        let Some(i) = self.slot(id) else { return };
        self.begin_input(now);
        let r = self.rec(i);
        if pid == 0 {
            return;
        }
        if pid == r.stop_pid {
            // The stop command of a process/bgprocess service could not run: signal instead.
            self.rec_mut(i).stop_pid = 0;
            host.notice(Notice::ExecFailed {
                service: id,
                stage,
                errno,
            });
            self.send_term_signal(i, host);
            self.stop_command_done(i, host);
            self.process_queues(host);
            return;
        }
        if pid != r.pid {
            return;
        }
        host.notice(Notice::ExecFailed {
            service: id,
            stage,
            errno,
        });
        let stopping_command = r.state == ServiceState::Stopping
            && r.has(flag::STOP_ISSUED)
            && !r.has(flag::INTERRUPTING);
        let r = self.rec_mut(i);
        r.pid = 0;
        r.clear(flag::EXEC_PENDING | flag::LAUNCHED);
        if stopping_command {
            // A scripted service's stop command could not run; it counts as stopped.
            self.stopped(i, host);
            self.process_queues(host);
            return;
        }
        match r.state {
            ServiceState::Starting => {
                r.exec_stage = stage as u16;
                r.exec_errno = errno;
                r.stop_reason = StopReason::ExecFailed;
                if r.cfg.kind != ServiceKind::Scripted {
                    // Nothing runs any more: a process service reports its failed start from
                    // STOPPING (as Dinit does; listeners see that state in the event).
                    r.state = ServiceState::Stopping;
                }
                self.cancel_timer(i);
                self.failed_to_start(i, false, true, host);
            }
            ServiceState::Started => {
                // A smooth-recovery relaunch (or one adopted when a stop was abandoned)
                // could not run: the service cannot recover.
                r.exec_stage = stage as u16;
                r.exec_errno = errno;
                r.stop_reason = StopReason::ExecFailed;
                r.clear(flag::SMOOTH_RECOVERY);
                self.cancel_timer(i);
                self.terminate_without_restart(i, host);
            }
            ServiceState::Stopping => self.main_process_gone_while_stopping(i, host),
            _ => {}
        }
        self.process_queues(host);
    }

    /// A process service with `ready-notification` wrote to its readiness pipe.
    pub fn ready<H: Host>(&mut self, id: ServiceId, now: Instant, host: &mut H) {
        let Some(i) = self.slot(id) else { return };
        self.begin_input(now);
        let r = self.rec(i);
        if r.cfg.kind != ServiceKind::Process
            || !r.cfg.ready_notification
            || r.pid == 0
            || !r.has(flag::LAUNCHED)
        {
            return;
        }
        if r.state == ServiceState::Starting {
            self.started(i, host);
        } else if r.state == ServiceState::Started && r.has(flag::SMOOTH_RECOVERY) {
            self.recovered(i);
        }
        self.process_queues(host);
    }

    /// The readiness pipe of a process service was closed (or failed) without a notification.
    /// While it starts, the start fails (from STOPPING) and the process is stopped, as Dinit
    /// does; its stop reason stays as it was ("reason unknown").
    pub fn readiness_lost<H: Host>(&mut self, id: ServiceId, now: Instant, host: &mut H) {
        let Some(i) = self.slot(id) else { return };
        self.begin_input(now);
        let r = self.rec(i);
        if r.cfg.kind != ServiceKind::Process
            || !r.cfg.ready_notification
            || r.state != ServiceState::Starting
            || !r.has(flag::LAUNCHED)
            || r.pid == 0
        {
            return;
        }
        self.cancel_timer(i);
        self.begin_stopping(i, false, host);
        self.failed_to_start(i, false, false, host);
        self.process_queues(host);
    }

    fn recovered(&mut self, i: usize) {
        self.cancel_timer(i);
        self.rec_mut(i)
            .clear(flag::SMOOTH_RECOVERY | flag::LAUNCHED | flag::EXEC_PENDING);
    }

    /// The process `pid` of `id` ended with `status` (the runtime reaped it). Exits of pids the
    /// service does not own are ignored.
    pub fn process_exited<H: Host>(
        &mut self,
        id: ServiceId,
        pid: Pid,
        status: ExitStatus,
        now: Instant,
        host: &mut H,
    ) {
        let Some(i) = self.slot(id) else { return };
        self.begin_input(now);
        if pid == 0 {
            return;
        }
        let r = self.rec_mut(i);
        if pid == r.stop_pid {
            r.stop_pid = 0;
            if !status.is_clean() {
                host.notice(Notice::StopCommandFailed(id, status));
            }
            self.stop_command_done(i, host);
            self.process_queues(host);
            return;
        }
        if pid != r.pid {
            return;
        }
        r.pid = 0;
        r.clear(flag::EXEC_PENDING);
        if matches!(r.cfg.kind, ServiceKind::Process | ServiceKind::Bgprocess)
            && r.state != ServiceState::Stopping
        {
            // Ended by itself (a process being stopped was expected to end).
            host.notice(Notice::Terminated(id, status));
        }
        match r.cfg.kind {
            ServiceKind::Scripted => self.scripted_exited(i, status, host),
            ServiceKind::Bgprocess => self.bgprocess_exited(i, status, host),
            ServiceKind::Process => self.process_service_exited(i, status, host),
            ServiceKind::Internal | ServiceKind::Triggered | ServiceKind::Placeholder => {}
        }
        self.process_queues(host);
    }

    fn scripted_exited<H: Host>(&mut self, i: usize, status: ExitStatus, host: &mut H) {
        let r = self.rec_mut(i);
        match r.state {
            ServiceState::Starting if r.has(flag::LAUNCHED) => {
                r.set_exit(status);
                r.clear(flag::LAUNCHED);
                self.cancel_timer(i);
                if status.is_clean() {
                    self.started(i, host);
                } else if self.rec(i).cfg.options.contains(Options::SKIPPABLE)
                    && status == ExitStatus::Signaled(signal::INT)
                {
                    // "if the service startup process terminates via an interrupt signal
                    // (SIGINT), then the service should be considered started".
                    self.rec_mut(i).set(flag::START_SKIPPED);
                    self.started(i, host);
                } else {
                    host.notice(Notice::StartCommandFailed(self.id_of(i), status));
                    self.rec_mut(i).stop_reason = StopReason::Failed;
                    self.failed_to_start(i, false, true, host);
                }
            }
            ServiceState::Stopping => {
                let stop_command = r.has(flag::STOP_ISSUED) && !r.has(flag::INTERRUPTING);
                if stop_command && !status.is_clean() {
                    host.notice(Notice::StopCommandFailed(self.id_of(i), status));
                }
                if !stop_command {
                    // An interrupted (or timed-out) start command ended. Only a start that a
                    // stop interrupted is reported as cancelled (a timeout was reported as
                    // such already), as by Dinit.
                    if self.rec(i).stop_reason != StopReason::TimedOut {
                        host.notice(Notice::StartCancelled(self.id_of(i), status));
                    }
                    self.rec_mut(i).set_exit(status);
                }
                self.main_process_gone_while_stopping(i, host);
            }
            _ => {}
        }
    }

    fn bgprocess_exited<H: Host>(&mut self, i: usize, status: ExitStatus, host: &mut H) {
        let r = self.rec_mut(i);
        r.set_exit(status);
        let launching = r.has(flag::LAUNCHED);
        match r.state {
            ServiceState::Starting if launching => {
                r.clear(flag::LAUNCHED);
                self.cancel_timer(i);
                match self.read_daemon_pid(i, status, host) {
                    Some(pid) => {
                        self.rec_mut(i).pid = pid;
                        self.started(i, host);
                    }
                    None => {
                        self.rec_mut(i).stop_reason = StopReason::Failed;
                        self.failed_to_start(i, false, true, host);
                    }
                }
            }
            ServiceState::Started if launching && r.has(flag::SMOOTH_RECOVERY) => {
                // The relaunched launcher of a smooth recovery ended.
                match self.read_daemon_pid(i, status, host) {
                    Some(pid) => {
                        self.rec_mut(i).pid = pid;
                        self.recovered(i);
                    }
                    None => self.process_terminated(i, status, host),
                }
            }
            ServiceState::Started => self.process_terminated(i, status, host),
            ServiceState::Stopping => self.main_process_gone_while_stopping(i, host),
            _ => {}
        }
    }

    /// After a bgprocess launcher exits: its exit must be clean and the pid file must name a
    /// live process.
    fn read_daemon_pid<H: Host>(
        &mut self,
        i: usize,
        launcher: ExitStatus,
        host: &mut H,
    ) -> Option<Pid> {
        if !launcher.is_clean() {
            return None;
        }
        match host.read_pid_file(self.id_of(i)) {
            PidFileResult::Running(pid) if pid > 0 => Some(pid),
            _ => None,
        }
    }

    fn process_service_exited<H: Host>(&mut self, i: usize, status: ExitStatus, host: &mut H) {
        let r = self.rec_mut(i);
        r.set_exit(status);
        match r.state {
            ServiceState::Starting if r.has(flag::LAUNCHED) => {
                // Ended before it was ready (or before exec was confirmed).
                r.clear(flag::LAUNCHED);
                r.stop_reason = StopReason::Failed;
                self.cancel_timer(i);
                self.failed_to_start(i, false, true, host);
            }
            ServiceState::Started => self.process_terminated(i, status, host),
            ServiceState::Stopping => self.main_process_gone_while_stopping(i, host),
            _ => {}
        }
    }

    /// The stop command of a process/bgprocess service has ended (or could not run): if the
    /// main process is gone too, the service is stopped.
    fn stop_command_done<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if r.pid == 0 && r.state == ServiceState::Stopping && r.has(flag::STOP_ISSUED) {
            self.main_process_gone_while_stopping(i, host);
        }
    }

    /// The main process is gone while the service is stopping: it is stopped once its
    /// dependents are and any stop command has finished.
    fn main_process_gone_while_stopping<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if r.has(flag::WAITING_FOR_DEPS) || r.stop_pid != 0 || r.has(flag::KILLING_ALL) {
            // (Still waiting for dependents, the stop command, or the end of a kill-all sweep,
            // which brings the service down.)
            return;
        }
        self.stopped(i, host);
    }

    /// The process of a STARTED service ended by itself.
    fn process_terminated<H: Host>(&mut self, i: usize, status: ExitStatus, host: &mut H) {
        let id = self.id_of(i);
        self.cancel_timer(i);
        let shutting_down = self.shutdown != 0;
        let r = self.rec_mut(i);
        r.clear(flag::SMOOTH_RECOVERY | flag::LAUNCHED | flag::EXEC_PENDING);
        let restart_possible =
            !shutting_down && r.target == ServiceState::Started && !r.has(flag::NO_AUTO_RESTART);
        if r.cfg.smooth_recovery && restart_possible {
            // "an automatic process restart is performed, without first stopping any dependent
            // services and without the service changing state".
            if self.restart_limit_ok(i) {
                self.rec_mut(i)
                    .set(flag::SMOOTH_RECOVERY | flag::AUTO_RESTART);
                self.launch(i, host);
                return;
            }
            host.notice(Notice::RestartLimitReached(id));
            let r = self.rec_mut(i);
            r.stop_reason = StopReason::Terminated;
            // Given up for good (as in Dinit: its target becomes STOPPED), so hard dependents
            // go down for good too instead of bringing it straight back.
            r.target = ServiceState::Stopped;
            self.terminate_without_restart(i, host);
            return;
        }
        let r = self.rec_mut(i);
        r.stop_reason = StopReason::Terminated;
        let policy = match r.cfg.restart {
            AutoRestart::Yes => true,
            AutoRestart::OnFailure => status.is_failure(),
            AutoRestart::No => false,
        };
        if restart_possible && policy {
            if self.restart_limit_ok(i) {
                self.rec_mut(i).set(flag::RESTARTING | flag::AUTO_RESTART);
                self.begin_stopping(i, false, host);
                return;
            }
            host.notice(Notice::RestartLimitReached(id));
            self.rec_mut(i).target = ServiceState::Stopped;
        }
        self.terminate_without_restart(i, host);
    }

    /// The process is gone for good: explicit activation is removed and the service goes down
    /// (after its dependents).
    fn terminate_without_restart<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec_mut(i);
        r.clear(flag::RESTARTING | flag::AUTO_RESTART | flag::SMOOTH_RECOVERY);
        if r.has(flag::EXPLICIT) {
            r.clear(flag::EXPLICIT);
            self.release_acquisition(i, false, host);
        }
        if self.rec(i).state == ServiceState::Stopping {
            self.main_process_gone_while_stopping(i, host);
        } else {
            self.begin_stopping(i, false, host);
        }
    }

    /// The restart limit of dinit-service(5): with `restart-limit-count` N, a service may be
    /// restarted automatically N times within `restart-limit-interval` of its start on request
    /// (as Dinit counts); the restart after those is refused. A restart once the interval has
    /// passed opens a new interval, in which it counts as the first. Counts the restart when it
    /// is allowed.
    pub(super) fn restart_limit_ok(&mut self, i: usize) -> bool {
        let now = self.now;
        let r = self.rec_mut(i);
        if !r.cfg.kind.runs_process() || r.cfg.restart_limit_count == 0 {
            return true;
        }
        if now.saturating_since(r.restart_window_start) < r.cfg.restart_limit_interval {
            if r.restarts_in_window >= r.cfg.restart_limit_count {
                return false;
            }
            r.restarts_in_window = r.restarts_in_window.saturating_add(1);
        } else {
            r.restart_window_start = now;
            r.restarts_in_window = 1;
        }
        true
    }

    /// The host has ended every other process it could (TERM, a pause, KILL) for
    /// `kill-all-on-stop` of `id`, as asked by [`Notice::KillAll`]: the stop proceeds. Ignored
    /// unless such a sweep is outstanding for `id`. (A stop under way cannot be abandoned, so
    /// the service is still stopping; a start asked for meanwhile follows the stop.)
    ///
    /// dinit-service(5), `kill-all-on-stop`: "Before stopping this service, send a TERM signal
    /// and then (after a short pause) a KILL signal to all other processes in the system".
    pub fn kill_all_done<H: Host>(&mut self, id: ServiceId, now: Instant, host: &mut H) {
        let Some(i) = self.slot(id) else { return };
        self.begin_input(now);
        let r = self.rec_mut(i);
        if !r.has(flag::KILLING_ALL) {
            return;
        }
        r.clear(flag::KILLING_ALL);
        if r.state == ServiceState::Stopping && !r.has(flag::WAITING_FOR_DEPS) {
            self.bring_down_now(i, host);
        }
        self.process_queues(host);
    }

    /// Dependents are down: stop the process (or run the stop command), after ending every
    /// other process first for `kill-all-on-stop` (the host does that without blocking and
    /// reports back through [`kill_all_done`](Self::kill_all_done)).
    pub(super) fn bring_down<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if r.has(flag::KILLING_ALL) {
            // Only a guard: a stop brings the service down once (WAITING_FOR_DEPS is cleared
            // first and a stop under way is not abandoned), and the sweep's end does the rest.
            return;
        }
        if r.cfg.options.contains(Options::KILL_ALL_ON_STOP)
            && matches!(r.cfg.kind, ServiceKind::Scripted | ServiceKind::Internal)
            && !r.has(flag::INTERRUPTING)
        {
            self.rec_mut(i).set(flag::KILLING_ALL);
            host.notice(Notice::KillAll(self.id_of(i)));
            return;
        }
        self.bring_down_now(i, host);
    }

    /// [`bring_down`](Self::bring_down) once nothing else has to end first.
    fn bring_down_now<H: Host>(&mut self, i: usize, host: &mut H) {
        let kind = self.rec(i).cfg.kind;
        match kind {
            ServiceKind::Internal | ServiceKind::Triggered | ServiceKind::Placeholder => {
                self.stopped(i, host)
            }
            ServiceKind::Scripted => {
                let r = self.rec(i);
                if r.pid != 0 {
                    // The start command is still running: interrupt it (unless a start timeout
                    // already has).
                    if !r.has(flag::STOP_ISSUED) {
                        self.interrupt(i, host);
                    }
                } else if r.has(flag::UP) && r.cfg.has_stop_command {
                    let id = self.id_of(i);
                    let on_console = r.cfg.options.contains(Options::SHARES_CONSOLE);
                    match host.spawn(id, CommandKind::Stop, on_console) {
                        Ok(pid) => {
                            let r = self.rec_mut(i);
                            r.pid = pid;
                            r.set(flag::STOP_ISSUED | flag::EXEC_PENDING);
                            self.arm_stop_timer(i);
                        }
                        // (The host has logged why.)
                        Err(LaunchFailed) => self.stopped(i, host),
                    }
                } else {
                    self.stopped(i, host);
                }
            }
            ServiceKind::Process | ServiceKind::Bgprocess => {
                let r = self.rec(i);
                if r.pid == 0 {
                    self.stopped(i, host);
                } else if r.has(flag::INTERRUPTING) {
                    if !r.has(flag::STOP_ISSUED) {
                        self.interrupt(i, host);
                    }
                } else if r.cfg.has_stop_command && r.has(flag::UP) {
                    let id = self.id_of(i);
                    let on_console = r.cfg.options.contains(Options::SHARES_CONSOLE);
                    self.rec_mut(i).set(flag::STOP_ISSUED);
                    match host.spawn(id, CommandKind::Stop, on_console) {
                        Ok(pid) => self.rec_mut(i).stop_pid = pid,
                        // (The host has logged why.) The term signal instead.
                        Err(LaunchFailed) => self.send_term_signal(i, host),
                    }
                    self.arm_stop_timer(i);
                } else {
                    self.rec_mut(i).set(flag::STOP_ISSUED);
                    self.send_term_signal(i, host);
                    self.arm_stop_timer(i);
                }
            }
        }
    }

    /// Interrupts a start command still running: SIGINT, then SIGKILL after the stop timeout.
    fn interrupt<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec_mut(i);
        r.set(flag::INTERRUPTING | flag::STOP_ISSUED);
        let (pid, group) = (r.pid, !r.cfg.options.contains(Options::SIGNAL_PROCESS_ONLY));
        let id = self.id_of(i);
        host.notice(Notice::Interrupting(id, pid));
        host.signal(id, pid, signal::INT, group);
        self.arm_stop_timer(i);
    }

    /// Sends the configured term signal, and nothing else (as Dinit: no SIGCONT after it; a
    /// stopped process with no handler for the signal is ended by the kernel all the same, one
    /// with a handler acts on it when continued or is killed at the stop timeout).
    /// `term-signal = none` sends nothing: the process is waited for (and killed at the stop
    /// timeout).
    fn send_term_signal<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if r.pid == 0 || r.cfg.term_signal == 0 {
            return;
        }
        let (pid, sig) = (r.pid, r.cfg.term_signal);
        let group = !r.cfg.options.contains(Options::SIGNAL_PROCESS_ONLY);
        let id = self.id_of(i);
        host.signal(id, pid, sig, group);
    }

    fn arm_stop_timer(&mut self, i: usize) {
        let timeout = self.rec(i).cfg.stop_timeout;
        if !timeout.is_zero() {
            let at = self.now.saturating_add(timeout);
            self.arm_timer(i, TimerKind::StopTimeout, at);
        }
    }

    /// Fires every timer whose deadline is at or before `now`.
    pub fn handle_timers<H: Host>(&mut self, now: Instant, host: &mut H) {
        self.begin_input(now);
        let mut guard = S.saturating_mul(4).saturating_add(4);
        while let Some(i) = self.pop_expired_timer(now) {
            guard = guard.saturating_sub(1);
            if guard == 0 {
                break;
            }
            let kind = self.rec(i).timer;
            self.rec_mut(i).timer = TimerKind::None;
            match kind {
                TimerKind::StartTimeout => self.start_timed_out(i, host),
                TimerKind::StopTimeout => self.stop_timed_out(i, host),
                TimerKind::RestartDelay => {
                    let r = self.rec(i);
                    let waiting_restart = (r.state == ServiceState::Starting
                        && !r.has(flag::LAUNCHED)
                        && !r.has(flag::WAITING_FOR_DEPS))
                        || (r.state == ServiceState::Started
                            && r.has(flag::SMOOTH_RECOVERY)
                            && r.pid == 0);
                    if waiting_restart {
                        self.spawn_start(i, host);
                    }
                }
                TimerKind::None => {}
            }
            self.process_queues(host);
        }
        self.process_queues(host);
    }

    /// "If the service takes longer than this, its process group is sent a SIGINT signal and
    /// enters the stopping state".
    fn start_timed_out<H: Host>(&mut self, i: usize, host: &mut H) {
        let id = self.id_of(i);
        let r = self.rec(i);
        if r.state == ServiceState::Started && r.has(flag::SMOOTH_RECOVERY) && r.pid != 0 {
            // A smooth-recovery relaunch that does not come up: kill it; its exit is handled
            // as another termination.
            host.notice(Notice::StartTimedOut(id, r.pid));
            let group = !r.cfg.options.contains(Options::SIGNAL_PROCESS_ONLY);
            host.signal(id, r.pid, signal::KILL, group);
            return;
        }
        if r.state != ServiceState::Starting || !r.has(flag::LAUNCHED) || r.pid == 0 {
            return;
        }
        host.notice(Notice::StartTimedOut(id, r.pid));
        // Interrupted at once, and STOPPING by the time the failure is reported (as in Dinit:
        // listeners see the failed start from STOPPING). Nothing depending on it has started,
        // so bringing it down needs no wait.
        self.interrupt(i, host);
        self.rec_mut(i).stop_reason = StopReason::TimedOut;
        self.begin_stopping(i, false, host);
        self.failed_to_start(i, false, false, host);
    }

    /// "If the service takes longer than this, its process group is sent a SIGKILL signal".
    fn stop_timed_out<H: Host>(&mut self, i: usize, host: &mut H) {
        let r = self.rec(i);
        if r.state != ServiceState::Stopping || (r.pid == 0 && r.stop_pid == 0) {
            return;
        }
        let id = self.id_of(i);
        host.notice(Notice::StopTimedOut(id, r.pid, r.stop_pid));
        let group = !r.cfg.options.contains(Options::SIGNAL_PROCESS_ONLY);
        let (pid, stop_pid) = (r.pid, r.stop_pid);
        if pid != 0 {
            host.signal(id, pid, signal::KILL, group);
        }
        if stop_pid != 0 {
            host.signal(id, stop_pid, signal::KILL, true);
        }
    }
}
