//! The daemon as a [`Server`]: what each control command does to the services. Every call
//! into the engine goes through [`Daemon::with_engine`], which finishes the turn.

use super::server::{Acted, Action, DepChange, LoadError, Server, SignalError};
use crate::daemon::Daemon;
use crate::load::LoadFailureKind;
use crate::log::Level;
use dinit_core::config::Options;
use dinit_core::proto::Malformed;
use dinit_core::ServiceKind;
use dinit_core::{
    DepKind, Refusal, ServiceEvent, ServiceId, ServiceState, ServiceStatus, ShutdownKind,
};

impl Server for Daemon<'_> {
    fn bad_request(&mut self, why: Malformed) {
        self.rt.log.logf(
            Level::Debug,
            format_args!("bad control request ({why:?}); closing connection"),
        );
    }

    fn too_large_request(&mut self) {
        self.rt.log.log(
            Level::Warn,
            b"received too-large control packet; closing connection",
        );
    }

    fn take_events(&mut self, f: &mut dyn FnMut(ServiceId, ServiceEvent, &ServiceStatus)) {
        for (id, event, status) in self.rt.control.parked.drain(..) {
            f(id, event, &status);
        }
    }

    fn find(&mut self, name: &[u8]) -> Option<ServiceId> {
        self.set.find(name)
    }

    fn load(&mut self, name: &[u8]) -> Result<ServiceId, LoadError> {
        self.load_service(name).map_err(|f| {
            self.log_load_failure(name, &f, false);
            // A failure in a dependency is a load error of this service.
            match f.reply_kind() {
                LoadFailureKind::NotFound => LoadError::NotFound,
                LoadFailureKind::Description => LoadError::Description,
                LoadFailureKind::Load => LoadError::Load,
            }
        })
    }

    fn is_loaded(&self, id: ServiceId) -> bool {
        self.set.contains(id)
    }

    fn name(&self, id: ServiceId) -> &[u8] {
        self.set.name(id).unwrap_or(&[])
    }

    fn status(&self, id: ServiceId) -> ServiceStatus {
        self.set.status(id).unwrap_or_default()
    }

    fn mtime(&self, id: ServiceId) -> (i64, i64) {
        self.rt.service(id).map(|s| s.data.mtime).unwrap_or((0, 0))
    }

    fn description_dir(&self, id: ServiceId) -> &[u8] {
        use std::os::unix::ffi::OsStrExt;
        self.rt
            .service(id)
            .and_then(|s| self.rt.dirs.get(usize::from(s.data.dir_index)))
            .map(|d| d.as_os_str().as_bytes())
            .unwrap_or(&[])
    }

    fn first(&self) -> Option<ServiceId> {
        self.set.first()
    }

    fn next_after(&self, id: ServiceId) -> Option<ServiceId> {
        self.set.next_after(id)
    }

    fn loader(&self) -> (Vec<u8>, Vec<Vec<u8>>) {
        use std::os::unix::ffi::OsStrExt;
        let cwd = std::env::current_dir()
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .unwrap_or_default();
        let dirs = self
            .rt
            .dirs
            .iter()
            .map(|d| d.as_os_str().as_bytes().to_vec())
            .collect();
        (cwd, dirs)
    }

    fn act(&mut self, action: Action, id: ServiceId) -> Result<Acted, Refusal> {
        self.with_engine(|set, now, host| {
            let mut acted = Acted::Done;
            match action {
                Action::Start { pin } => set.start(id, pin, now, host)?,
                Action::Stop { pin, gentle } => set.stop(id, pin, gentle, now, host)?,
                Action::Restart { gentle } => set.restart(id, gentle, now, host)?,
                Action::Wake { pin } => {
                    if !set.wake(id, pin, now, host)?.found_active_dependent {
                        acted = Acted::NoActiveDependent;
                    }
                }
                Action::Release { pin } => set.release(id, pin, now, host)?,
                Action::Unpin => set.unpin(id, now, host)?,
            }
            // Judged at once, before the turn is finished (a chain-to started then does not
            // change the answer).
            if set.state(id) == Some(action.wanted_state()) {
                acted = Acted::AlreadyThere;
            }
            Ok(acted)
        })
    }

    fn hard_dependents(&self, id: ServiceId, f: &mut dyn FnMut(ServiceId)) {
        self.set.active_hard_dependents(id).for_each(f);
    }

    fn set_trigger(&mut self, id: ServiceId, value: bool) -> Result<(), Refusal> {
        self.with_engine(|set, now, host| set.set_trigger(id, value, now, host))
    }

    fn held_elsewhere(&self, id: ServiceId) -> bool {
        // The connection being served is out of the table meanwhile: every one left is
        // another.
        self.rt
            .control
            .clients
            .iter()
            .flatten()
            .any(|c| c.conn.holds(id))
    }

    fn unload(&mut self, id: ServiceId) -> Result<(), Refusal> {
        let successor = self.set.next_after(id);
        self.with_engine(|set, now, host| set.unload(id, now, host))?;
        // Listings streaming to other clients resume after it.
        for c in self.rt.control.clients.iter_mut().flatten() {
            c.conn.skip_in_listing(id, successor);
        }
        self.rt.forget_service(id);
        Ok(())
    }

    fn reload(&mut self, id: ServiceId) -> bool {
        match self.reload_service(id) {
            Ok(()) => true,
            Err(e @ ReloadError::Refused { .. }) => {
                self.rt.log.logf(Level::Error, format_args!("{e}"));
                false
            }
            Err(ReloadError::DependencyFailed) => false,
        }
    }

    fn shutdown(&mut self, kind: ShutdownKind) {
        self.request_shutdown(kind);
    }

    fn change_dependency(
        &mut self,
        change: DepChange,
        kind: DepKind,
        from: ServiceId,
        to: ServiceId,
    ) -> Result<bool, Refusal> {
        self.with_engine(|set, now, host| match change {
            DepChange::Remove => set.rm_dep(from, to, kind, now, host).map(|()| false),
            DepChange::Add | DepChange::Enable => {
                let enable = change == DepChange::Enable;
                set.add_dep(from, to, kind, enable, now, host)
                    .map(|out| out.already_existed)
            }
        })
    }

    fn set_env(&mut self, var: &[u8]) -> bool {
        let (name, value) = match var.iter().position(|&b| b == b'=') {
            Some(i) => (
                var.get(..i).unwrap_or(&[]),
                Some(var.get(i + 1..).unwrap_or(&[])),
            ),
            None => (var, None),
        };
        let previously = self.rt.env.get(name).is_some();
        match value {
            Some(v) => self.rt.env.set(name, v),
            None => self.rt.env.unset(name),
        };
        self.rt.env_changed();
        previously
    }

    fn env_event(&mut self, packet: &[u8]) {
        for c in self.rt.control.clients.iter_mut().flatten() {
            c.conn.env_event(packet);
        }
    }

    fn env_len(&self) -> usize {
        self.rt.env.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
    }

    fn env_entry(&self, index: usize) -> Option<(&[u8], &[u8])> {
        self.rt.env.iter().nth(index)
    }

    fn signal(&mut self, id: ServiceId, signal: i32) -> Result<(), SignalError> {
        let Some(pid) = self.set.status(id).and_then(|s| s.pid()).filter(|&p| p > 0) else {
            return Err(SignalError::NoProcess);
        };
        let result = match rustix::process::Signal::from_named_raw(signal) {
            Some(sig) => rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).unwrap_or(rustix::process::Pid::INIT),
                sig,
            ),
            // Not a signal the platform knows: let the kernel decide (it answers EINVAL).
            None => crate::sys::kill_raw(pid, signal),
        };
        match result {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::INVAL) => Err(SignalError::BadSignal),
            Err(_) => Err(SignalError::Failed),
        }
    }

    fn log_extent(&self, id: ServiceId) -> Option<(usize, usize)> {
        self.rt
            .service(id)
            .and_then(|s| s.log_buffer().map(|b| (b.start(), b.len())))
    }

    fn log_bytes(&self, id: ServiceId, at: usize, n: usize) -> &[u8] {
        self.rt
            .service(id)
            .and_then(|s| s.log_buffer())
            .map(|buf| buf.bytes(at, n))
            .unwrap_or(&[])
    }

    fn log_discard(&mut self, id: ServiceId, at: usize) {
        if let Some(b) = self.rt.service_mut(id).and_then(|s| s.log_buffer_mut()) {
            b.discard_until(at);
        }
    }
}

impl Daemon<'_> {
    /// A SHUTDOWN request or signal.
    pub(in crate::daemon) fn request_shutdown(&mut self, kind: ShutdownKind) {
        self.rt.log.logf(
            Level::Debug,
            format_args!("shutdown requested: {}", kind_name(kind)),
        );
        self.with_engine(|set, now, host| set.shutdown(kind, now, host));
    }

    /// Re-reads the description of a loaded service and applies it (see
    /// [`dinit_core::ServiceSet::reload`] for what may change while it runs). A refusal is
    /// the line Dinit logs for it (`Could not reload service NAME: ...`); a failure to load a
    /// newly named dependency is logged as Dinit logs it first.
    pub fn reload_service(&mut self, id: ServiceId) -> Result<(), ReloadError> {
        let name = self.set.name(id).unwrap_or(&[]).to_vec();
        let shown = String::from_utf8_lossy(&name).into_owned();
        let refused = |why: &str| ReloadError::Refused {
            service: shown.clone(),
            why: why.to_string(),
        };
        let dirs = self.rt.dirs.clone();
        let env = self.rt.env.clone();
        let original = self.rt.original_env.clone();
        let mut loader = crate::load::Loader::new(&dirs, &env);
        loader.original_env = &original;
        let mut read = loader
            .read_service(&name)
            .map_err(|e| refused(&e.message()))?;
        // Load what it newly needs, then resolve every declared dependency.
        let mut deps = Vec::new();
        for dep in &read.dependencies {
            let target = if dep.kind.is_ordering() {
                match self.set.find(&dep.name) {
                    Some(t) => t,
                    None => {
                        self.set
                            .begin_load()
                            .map_err(|e| refused(&format!("{e:?}")))?;
                        let p = self
                            .set
                            .placeholder(&dep.name)
                            .map_err(|e| refused(&format!("{e:?}")));
                        let _ = self.set.commit_load();
                        p?
                    }
                }
            } else {
                match self.set.find(&dep.name) {
                    Some(t) => t,
                    None if dep.from_dir.is_some() && !loader.has_description(&dep.name) => {
                        continue
                    }
                    None => {
                        let mut store = crate::daemon::Store { rt: &mut self.rt };
                        match loader.load(self.set, &mut store, &dep.name) {
                            Ok(t) => t,
                            Err(error) => {
                                let mut within = std::mem::take(&mut loader.failed_within);
                                within.push(name.clone());
                                let f = crate::load::LoadFailure { error, within };
                                let last = refused("could not load dependency.").to_string();
                                self.log_load_failure_chain(&f, &last);
                                return Err(ReloadError::DependencyFailed);
                            }
                        }
                    }
                }
            };
            deps.push((target, dep.kind));
        }
        if let Some(why) = self.reload_refusal(id, &read, &deps) {
            return Err(refused(&why));
        }
        let chain_to = std::mem::take(&mut read.chain_to);
        let config = read.config;
        let svc = self
            .rt
            .prepare_service(read)
            .map_err(|e| refused(&e.to_string()))?;
        self.with_engine(|set, now, host| set.reload(id, config, &chain_to, &deps, now, host))
            .map_err(|e| refused(&format!("{e:?}")))?;
        if let Some(old) = self.rt.service_mut(id) {
            old.replace_description(svc);
        }
        Ok(())
    }

    /// What Dinit refuses to change in a service that is not stopped, in its words (`None`
    /// when the new description can be applied).
    fn reload_refusal(
        &self,
        id: ServiceId,
        read: &crate::load::ReadService,
        deps: &[(ServiceId, DepKind)],
    ) -> Option<String> {
        let state = self.set.state(id)?;
        if state == ServiceState::Stopped {
            return None;
        }
        let old = self.rt.service(id)?;
        let (o, d) = (&old.data, &read.data);
        // The configuration in force is the engine's.
        let old_config = self.set.config(id)?;
        if read.config.kind != old_config.kind {
            return Some("cannot change type of non-stopped service.".into());
        }
        if state != ServiceState::Started {
            return Some(
                "cannot alter settings for service which is currently starting/stopping.".into(),
            );
        }
        for &(to, kind) in deps {
            if matches!(kind, DepKind::Regular | DepKind::PreparedBy)
                && self.set.state(to) != Some(ServiceState::Started)
            {
                return Some(format!(
                    "cannot add non-started dependency '{}'.",
                    String::from_utf8_lossy(self.set.name(to).unwrap_or(&[]))
                ));
            }
        }
        let console = |opts: Options| {
            (
                opts.contains(Options::STARTS_ON_CONSOLE),
                opts.contains(Options::SHARES_CONSOLE),
            )
        };
        if console(read.config.options) != console(old_config.options) {
            return Some(
                "cannot change starts_on_console/shares_console flags for a running service."
                    .into(),
            );
        }
        let kind = old_config.kind;
        if kind == ServiceKind::Bgprocess && d.extra().pid_file != o.extra().pid_file {
            return Some("cannot change pid_file for running service.".into());
        }
        if kind == ServiceKind::Process
            && (d.extra().inittab_id != o.extra().inittab_id
                || d.extra().inittab_line != o.extra().inittab_line)
        {
            return Some(
                "cannot change inittab-id or inittab-line settings for running service.".into(),
            );
        }
        if matches!(
            kind,
            ServiceKind::Process | ServiceKind::Bgprocess | ServiceKind::Scripted
        ) && d.log().log_type != o.log().log_type
        {
            return Some("cannot change log-type for running service.".into());
        }
        None
    }
}

/// Why a service's description could not be read again and applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadError {
    /// Refused, for the reason Dinit gives in its words (displayed as Dinit logs it:
    /// `Could not reload service NAME: REASON`).
    Refused {
        /// The service.
        service: String,
        /// Why.
        why: String,
    },
    /// A dependency the new description names could not be loaded; that has been logged, as
    /// Dinit logs it.
    DependencyFailed,
}

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadError::Refused { service, why } => {
                write!(f, "Could not reload service {service}: {why}")
            }
            ReloadError::DependencyFailed => f.write_str("could not load dependency."),
        }
    }
}

impl std::error::Error for ReloadError {}

/// A shutdown kind as the log names it.
fn kind_name(kind: ShutdownKind) -> &'static str {
    match kind {
        ShutdownKind::Remain => "stop services and remain",
        ShutdownKind::Halt => "halt",
        ShutdownKind::Poweroff => "power off",
        ShutdownKind::Reboot => "reboot",
        ShutdownKind::SoftReboot => "soft reboot",
        ShutdownKind::Kexec => "kexec reboot",
    }
}
