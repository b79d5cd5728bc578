//! The loader: finds service description files, reads them (with `@include`s, `.d`
//! directories and `env-file`s), substitutes variables, validates, and loads the service and
//! the dependencies it pulls in into the engine as one transaction.
//!
//! Rules, from dinit(8) and dinit-service(5):
//!
//! * A service `base@arg` is described by the file `base` in the first service directory that
//!   has it; its argument is `$1` in substitutions.
//! * Dependencies are loaded on demand (`depends-on`, `depends-ms`, `waits-for`, `prepared-by`,
//!   the `.d` directories, and `consumer-of`); `before`/`after` never load the other service
//!   (a placeholder keeps the relationship until it is loaded); `chain-to` is loaded only when
//!   it is started.
//! * `@include` and the `.d` directory settings resolve relative paths against the directory of
//!   the fragment that contains them; the other path settings (`env-file`, `working-dir`,
//!   `pid-file`, `logfile`, `socket-listen`, `run-in-cgroup` excepted) against the directory of
//!   the service description file. `working-dir` defaults to that directory.
//! * In a `.d` directory, file names that begin with a dot are skipped; a directory that cannot
//!   be read, or a name with no description, is not an error (a warning is recorded).
//! * A missing dependency, a dependency cycle, or any error in any description makes the whole
//!   load fail, and leaves the services already loaded untouched.

use crate::environ::{EnvOps, Environment};
use crate::service::{
    ActivationSocket, DeclaredDependency, Extra, Id, LogSettings, Readiness, ServiceData,
};
use dinit_core::desc::{
    parse_service_name, CommandSetting, DescError, Item, LoadOptions, LogType, NoVars, Parser,
    PathSetting, ReadyNotification, SubstEnv, Vars,
};
use dinit_core::engine::LoadError as EngineLoadError;
use dinit_core::{CapacityError, DepKind, ServiceId, ServiceKind, ServiceSet};
use std::ffi::{CString, OsStr};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The description type the loader fills (16 KiB of strings, 256 dependencies per service).
pub type Desc = dinit_core::desc::DefaultDescription;

/// How deep `@include`s may nest.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// Bytes of scratch space for one setting value (lexed tokens and substitution output).
const SCRATCH_BYTES: usize = 64 * 1024;

/// Why a load failed. Every variant names the service (and the file and line where it helps)
/// so that the message is one a user can act on.
#[derive(Debug)]
pub enum LoadError {
    /// No description file for the service in any service directory.
    NotFound {
        /// The service looked for.
        name: Vec<u8>,
        /// The service whose dependency it is, if any.
        needed_by: Option<Vec<u8>>,
    },
    /// The name is not a valid service name.
    BadName {
        /// The name.
        name: Vec<u8>,
    },
    /// A syntax error or bad setting value.
    Description {
        /// The service.
        service: Vec<u8>,
        /// The file (description, fragment or env-file) the error is in.
        file: PathBuf,
        /// What and where.
        error: Box<DescError>,
    },
    /// The settings are inconsistent (e.g. a process service without a command).
    Invalid {
        /// The service.
        service: Vec<u8>,
        /// Its description file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    Io {
        /// The service.
        service: Vec<u8>,
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A dependency cycle: the services on it, in dependency order.
    Cycle {
        /// The services, each depending on the next, the last on the first.
        services: Vec<Vec<u8>>,
    },
    /// A table of the engine is full.
    Capacity(CapacityError),
}

impl LoadError {
    /// True for errors in a description itself (the protocol's `SERVICE_DESC_ERR`), as opposed
    /// to failures to load it or its dependencies (`SERVICE_LOAD_ERR`) or a missing
    /// description (`NOSERVICE`).
    pub fn is_description_error(&self) -> bool {
        matches!(
            self,
            LoadError::Description { .. } | LoadError::Invalid { .. } | LoadError::BadName { .. }
        )
    }

    /// True if the service asked for itself has no description.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            LoadError::NotFound {
                needed_by: None,
                ..
            }
        )
    }
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound {
                name,
                needed_by: None,
            } => {
                write!(f, "service '{}': service description not found", show(name))
            }
            LoadError::NotFound {
                name,
                needed_by: Some(by),
            } => write!(
                f,
                "service '{}': service description not found (needed by '{}')",
                show(name),
                show(by)
            ),
            LoadError::BadName { name } => {
                write!(f, "'{}' is not a valid service name", show(name))
            }
            LoadError::Description {
                service,
                file,
                error,
            } => {
                write!(
                    f,
                    "service '{}': {}, {}",
                    show(service),
                    file.display(),
                    error
                )
            }
            LoadError::Invalid {
                service,
                file,
                message,
            } => {
                write!(
                    f,
                    "service '{}': {}: {}",
                    show(service),
                    file.display(),
                    message
                )
            }
            LoadError::Io {
                service,
                path,
                error,
            } => {
                write!(
                    f,
                    "service '{}': cannot read {}: {}",
                    show(service),
                    path.display(),
                    error
                )
            }
            LoadError::Cycle { services } => {
                f.write_str("dependency cycle: ")?;
                for s in services {
                    write!(f, "{} -> ", show(s))?;
                }
                match services.first() {
                    Some(s) => write!(f, "{}", show(s)),
                    None => Ok(()),
                }
            }
            LoadError::Capacity(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A problem found while reading a description that does not stop it from loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The service.
    pub service: Vec<u8>,
    /// What is worth knowing.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service '{}': {}", show(&self.service), self.message)
    }
}

/// Where the runtime keeps what is read of each loaded service ([`ReadService`]), indexed by
/// service.
pub trait ServiceStore {
    /// Records a newly loaded service. An error (a user that does not exist, capabilities
    /// that cannot be parsed, ...) fails the load.
    fn insert(&mut self, id: ServiceId, read: ReadService) -> Result<(), String>;
    /// Forgets a service (its load was undone, or it was unloaded).
    fn remove(&mut self, id: ServiceId);
}

/// A simple store: a vector indexed by slot.
#[derive(Debug, Default)]
pub struct VecStore {
    slots: Vec<Option<ReadService>>,
}

impl VecStore {
    /// What was read of a service.
    pub fn get(&self, id: ServiceId) -> Option<&ReadService> {
        self.slots.get(id.index()).and_then(|s| s.as_ref())
    }
}

impl ServiceStore for VecStore {
    fn insert(&mut self, id: ServiceId, read: ReadService) -> Result<(), String> {
        if self.slots.len() <= id.index() {
            self.slots.resize_with(id.index() + 1, || None);
        }
        if let Some(slot) = self.slots.get_mut(id.index()) {
            *slot = Some(read);
        }
        Ok(())
    }
    fn remove(&mut self, id: ServiceId) {
        if let Some(slot) = self.slots.get_mut(id.index()) {
            *slot = None;
        }
    }
}

/// A description read from disk, before it enters the engine.
#[derive(Debug)]
pub struct ReadService {
    /// The runtime data.
    pub data: ServiceData,
    /// `command`, substituted and split into arguments.
    pub command: Vec<CString>,
    /// `stop-command`, likewise.
    pub stop_command: Vec<CString>,
    /// Dependencies as declared (including those found in `.d` directories).
    pub dependencies: Vec<DeclaredDependency>,
    /// `chain-to`, if any.
    pub chain_to: Vec<u8>,
    /// Command and path settings whose value depends on environment variables (dinit-check
    /// warns about these: dinit's environment may differ from its own).
    pub substituted: Vec<&'static str>,
}

/// Reads and loads service descriptions.
#[derive(Debug)]
pub struct Loader<'a> {
    /// The service directories, in search order.
    pub dirs: &'a [PathBuf],
    /// The global environment (lowest priority in substitutions).
    pub env: &'a Environment,
    /// dinit's original environment, which `!import` in a service's env-file reads.
    pub original_env: &'a Environment,
    /// Warnings collected while reading.
    pub warnings: Vec<Warning>,
    /// Find out which settings depend on environment variables
    /// ([`ReadService::substituted`]); only `dinit-check` needs to know, and it costs two more
    /// expansions of every setting.
    pub detect_substitution: bool,
    /// Substitution buffers and a description, kept from one service to the next: a
    /// transaction of thousands of services neither allocates nor clears them each time.
    spare_buffers: Vec<Vec<u8>>,
    spare_desc: Option<Box<Desc>>,
}

/// Dependencies named by `depends-on` and the like, in order, each (kind, name) once.
#[derive(Default)]
struct DepList {
    list: Vec<(DepKind, Vec<u8>)>,
    seen: std::collections::HashSet<(DepKind, Vec<u8>)>,
}

struct Found {
    file: PathBuf,
    dir_index: u16,
    text: Vec<u8>,
    mtime: (i64, i64),
}

impl<'a> Loader<'a> {
    /// A loader over `dirs` with the global environment `env` (also used as the original
    /// environment).
    pub fn new(dirs: &'a [PathBuf], env: &'a Environment) -> Self {
        Loader {
            dirs,
            env,
            original_env: env,
            warnings: Vec::new(),
            detect_substitution: false,
            spare_buffers: Vec::new(),
            spare_desc: None,
        }
    }

    /// A substitution buffer of [`SCRATCH_BYTES`] (its contents are whatever the last user
    /// left: the parser and the expansions write before they read).
    fn buffer(&mut self) -> Vec<u8> {
        self.spare_buffers
            .pop()
            .unwrap_or_else(|| vec![0u8; SCRATCH_BYTES])
    }

    /// Returns a buffer of [`Loader::buffer`] for reuse (a handful are kept: one per nested
    /// `@include` level in use, and those of `read_service`).
    fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spare_buffers.len() < 4 && buffer.len() == SCRATCH_BYTES {
            self.spare_buffers.push(buffer);
        }
    }

    /// Finds the description file of the service with base name `base`.
    fn find_file(&self, service: &[u8], base: &[u8]) -> Result<Option<Found>, LoadError> {
        for (dir_index, dir) in self.dirs.iter().enumerate() {
            let Ok(dir_index) = u16::try_from(dir_index) else {
                break;
            };
            let file = dir.join(OsStr::from_bytes(base));
            match std::fs::read(&file) {
                Ok(text) => {
                    let meta = std::fs::metadata(&file).map_err(|error| LoadError::Io {
                        service: service.to_vec(),
                        path: file.clone(),
                        error,
                    })?;
                    if meta.is_dir() {
                        continue;
                    }
                    return Ok(Some(Found {
                        file,
                        dir_index,
                        text,
                        mtime: (meta.mtime(), meta.mtime_nsec()),
                    }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.raw_os_error() == Some(libc::EISDIR) => continue,
                Err(error) => {
                    return Err(LoadError::Io {
                        service: service.to_vec(),
                        path: file,
                        error,
                    })
                }
            }
        }
        Ok(None)
    }

    /// True if some service directory has a description for `name`.
    pub fn has_description(&self, name: &[u8]) -> bool {
        match parse_service_name(name) {
            Ok(sn) => self
                .dirs
                .iter()
                .any(|d| d.join(OsStr::from_bytes(sn.base)).is_file()),
            Err(_) => false,
        }
    }

    /// Reads, parses, substitutes and validates the description of `name`, without touching
    /// the engine. `errors` collects every description error (so that `dinit-check` can report
    /// them all); the first is also returned.
    pub fn read_service(
        &mut self,
        name: &[u8],
        errors: &mut Vec<LoadError>,
    ) -> Result<ReadService, LoadError> {
        let sn = parse_service_name(name).map_err(|_| LoadError::BadName {
            name: name.to_vec(),
        })?;
        let found = self
            .find_file(name, sn.base)?
            .ok_or_else(|| LoadError::NotFound {
                name: name.to_vec(),
                needed_by: None,
            })?;
        let file_dir = found
            .file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let pre_env = SubstEnv::new(self.env, sn.argument);

        let mut desc: Box<Desc> = match self.spare_desc.take() {
            Some(mut desc) => {
                desc.reset();
                desc
            }
            None => Box::default(),
        };
        let mut fragments: Vec<PathBuf> = vec![found.file.clone()];
        let first_error = errors.len();
        // Dependencies are collected here rather than in the description, whose storage is
        // bounded: a `boot` may name thousands of services.
        let mut deps = DepList::default();
        self.parse_fragment(
            name,
            (&mut desc, &mut deps),
            &found.text,
            0,
            0,
            &pre_env,
            &mut fragments,
            errors,
        );
        if let Some(e) = errors.get(first_error) {
            return Err(e.duplicate());
        }

        // The service's own environment: load-options variables, then its env-file, which
        // takes precedence (dinit-service(5) VARIABLE SUBSTITUTION).
        let mut service_env = EnvOps::default();
        let opts = desc.load_options();
        if opts.contains(LoadOptions::EXPORT_PASSWD_VARS) {
            self.export_passwd_vars(name, &found.file, &desc, &mut service_env)?;
        }
        if opts.contains(LoadOptions::EXPORT_SERVICE_NAME) {
            service_env.push_set(b"DINIT_SERVICE", name);
        }
        if let Some(env_file) = desc.env_file() {
            let path = resolve(&file_dir, env_file);
            let text = std::fs::read(&path).map_err(|error| LoadError::Io {
                service: name.to_vec(),
                path: path.clone(),
                error,
            })?;
            let ops = EnvOps::parse(&text).map_err(|error| LoadError::Description {
                service: name.to_vec(),
                file: path.clone(),
                error: Box::new(error),
            })?;
            service_env.extend(&ops);
        }
        let mut subst_vars = self.env.clone();
        service_env.apply_to(&mut subst_vars, self.original_env);
        let post_env = SubstEnv::new(&subst_vars, sn.argument);

        let mut substituted = Vec::new();
        let mut out = self.buffer();
        let desc_err = |error: DescError, fragments: &[PathBuf]| LoadError::Description {
            service: name.to_vec(),
            file: fragments
                .get(usize::from(error.fragment))
                .cloned()
                .unwrap_or_else(|| found.file.clone()),
            error: Box::new(error),
        };
        let command =
            |which: CommandSetting, out: &mut Vec<u8>| -> Result<Vec<CString>, LoadError> {
                match desc.expand_command(which, &post_env, out) {
                    Ok(Some(tokens)) => {
                        Ok(tokens.iter().filter_map(|t| CString::new(t).ok()).collect())
                    }
                    Ok(None) => Ok(Vec::new()),
                    Err(e) => Err(desc_err(e, &fragments)),
                }
            };
        let argv = command(CommandSetting::Start, &mut out)?;
        let stop_argv = command(CommandSetting::Stop, &mut out)?;
        // Does a setting depend on environment variables (not just the service argument)?
        // Expand it with every variable unset and with every variable set: if the results
        // differ, it does.
        let (unset, probe) = (
            SubstEnv::new(&NoVars, sn.argument),
            SubstEnv::new(&Probe, sn.argument),
        );
        if self.detect_substitution {
            let mut a = self.buffer();
            let mut b = self.buffer();
            for (which, key) in [
                (CommandSetting::Start, "command"),
                (CommandSetting::Stop, "stop-command"),
            ] {
                let x = desc
                    .expand_command(which, &unset, &mut a)
                    .ok()
                    .flatten()
                    .map(|t| t.as_bytes().to_vec());
                let y = desc
                    .expand_command(which, &probe, &mut b)
                    .ok()
                    .flatten()
                    .map(|t| t.as_bytes().to_vec());
                if x != y {
                    substituted.push(key);
                }
            }
            for (which, key) in [
                (PathSetting::WorkingDir, "working-dir"),
                (PathSetting::PidFile, "pid-file"),
                (PathSetting::SocketListen, "socket-listen"),
                (PathSetting::Logfile, "logfile"),
            ] {
                let x = desc
                    .expand_path(which, &unset, &mut a)
                    .ok()
                    .flatten()
                    .map(<[u8]>::to_vec);
                let y = desc
                    .expand_path(which, &probe, &mut b)
                    .ok()
                    .flatten()
                    .map(<[u8]>::to_vec);
                if x != y {
                    substituted.push(key);
                }
            }
            self.recycle(a);
            self.recycle(b);
        }
        let path = |which: PathSetting, out: &mut Vec<u8>| -> Result<Option<PathBuf>, LoadError> {
            match desc.expand_path(which, &post_env, out) {
                Ok(Some(p)) => Ok(Some(resolve(&file_dir, p))),
                Ok(None) => Ok(None),
                Err(e) => Err(desc_err(e, &fragments)),
            }
        };
        let working_dir = path(PathSetting::WorkingDir, &mut out)?.filter(|d| *d != file_dir);
        let pid_file = path(PathSetting::PidFile, &mut out)?;
        let socket_path = path(PathSetting::SocketListen, &mut out)?;
        let logfile = path(PathSetting::Logfile, &mut out)?;

        let mut dependencies: Vec<DeclaredDependency> = deps
            .list
            .into_iter()
            .map(|(kind, name)| DeclaredDependency {
                kind,
                name,
                from_dir: false,
            })
            .collect();
        let mut declared = deps.seen;
        let mut waits_for_dirs = Vec::new();
        for dd in desc.dependency_dirs() {
            let base = fragments
                .get(usize::from(dd.origin.fragment))
                .and_then(|f| f.parent())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| file_dir.clone());
            let dir = resolve(&base, dd.path);
            if dd.kind == DepKind::WaitsFor {
                waits_for_dirs.push(dir.clone());
            }
            match std::fs::read_dir(&dir) {
                Ok(entries) => {
                    let mut names: Vec<Vec<u8>> = entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().as_bytes().to_vec())
                        .filter(|n| !n.starts_with(b"."))
                        .collect();
                    names.sort();
                    for n in names {
                        if !declared.insert((dd.kind, n.clone())) {
                            continue;
                        }
                        dependencies.push(DeclaredDependency {
                            kind: dd.kind,
                            name: n,
                            from_dir: true,
                        });
                    }
                }
                Err(e) => self.warnings.push(Warning {
                    service: name.to_vec(),
                    message: format!("cannot read dependency directory {}: {e}", dir.display()),
                }),
            }
        }

        let config = *desc.config();
        let data = ServiceData {
            name: name.into(),
            file: found.file.clone().into_boxed_path(),
            dir_index: found.dir_index,
            mtime: found.mtime,
            config,
            working_dir: working_dir.map(PathBuf::into_boxed_path),
            load_options: opts,
            extra: Extra {
                env: service_env,
                log: LogSettings {
                    log_type: desc.log_type(),
                    file: logfile,
                    permissions: desc.logfile_permissions(),
                    uid: desc.logfile_uid().map(Id::from),
                    gid: desc.logfile_gid().map(Id::from),
                    buffer_size: desc.log_buffer_size(),
                },
                run_as: desc.run_as().map(Id::from),
                pid_file,
                socket: socket_path.map(|path| ActivationSocket {
                    path,
                    permissions: desc.socket_permissions(),
                    uid: desc.socket_uid().map(Id::from),
                    gid: desc.socket_gid().map(Id::from),
                }),
                consumer_of: desc.consumer_of().map(<[u8]>::to_vec),
                readiness: desc.ready_notification().map(|r| match r {
                    ReadyNotification::PipeFd(fd) => Readiness::PipeFd(fd),
                    ReadyNotification::PipeVar(v) => Readiness::PipeVar(v.to_vec()),
                }),
                rlimits: desc.rlimits().collect(),
                nice: desc.nice(),
                ioprio: desc.ioprio(),
                oom_score_adj: desc.oom_score_adj(),
                cgroup: desc
                    .run_in_cgroup()
                    .map(|p| PathBuf::from(OsStr::from_bytes(p))),
                capabilities: desc.capabilities().map(<[u8]>::to_vec),
                securebits: desc.securebits(),
                inittab_id: desc.inittab_id().map(<[u8]>::to_vec),
                inittab_line: desc.inittab_line().map(<[u8]>::to_vec),
                enable_via: desc.enable_via().map(<[u8]>::to_vec),
                waits_for_dirs,
            }
            .boxed(),
        };
        let read = ReadService {
            chain_to: desc.chain_to().map(<[u8]>::to_vec).unwrap_or_default(),
            data,
            command: argv,
            stop_command: stop_argv,
            dependencies,
            substituted,
        };
        self.validate(&read, &desc, errors);
        self.recycle(out);
        self.spare_desc = Some(desc);
        match errors.get(first_error) {
            Some(e) => Err(e.duplicate()),
            None => Ok(read),
        }
    }

    /// Parses one fragment (the description file or an included file), applying settings to
    /// `desc` and following `@include`s.
    #[allow(clippy::too_many_arguments)]
    fn parse_fragment(
        &mut self,
        service: &[u8],
        (desc, deps): (&mut Desc, &mut DepList),
        text: &[u8],
        fragment: u16,
        depth: usize,
        env: &SubstEnv<'_>,
        fragments: &mut Vec<PathBuf>,
        errors: &mut Vec<LoadError>,
    ) {
        let file = fragments
            .get(usize::from(fragment))
            .cloned()
            .unwrap_or_default();
        let fragment_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut scratch = self.buffer();
        let mut parser = Parser::new(text);
        let report = |errors: &mut Vec<LoadError>, error: DescError| {
            errors.push(LoadError::Description {
                service: service.to_vec(),
                file: file.clone(),
                error: Box::new(error.in_fragment(fragment)),
            });
        };
        loop {
            desc.set_fragment(fragment);
            let entry = match parser.next_item(env, &mut scratch) {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(e) => {
                    report(errors, e);
                    continue;
                }
            };
            match entry.item {
                Item::Setting(dinit_core::desc::Setting::Dependency { kind, name }) => {
                    if deps.seen.insert((kind, name.to_vec())) {
                        deps.list.push((kind, name.to_vec()));
                    }
                }
                Item::Setting(setting) => {
                    if let Err(e) = desc.apply(entry.line, setting) {
                        report(errors, e);
                    }
                }
                Item::Include { path, optional } => {
                    let target = resolve(&fragment_dir, path);
                    if depth + 1 >= MAX_INCLUDE_DEPTH {
                        errors.push(LoadError::Invalid {
                            service: service.to_vec(),
                            file: file.clone(),
                            message: format!(
                                "line {}: @include nested more than {MAX_INCLUDE_DEPTH} deep ({})",
                                entry.line,
                                target.display()
                            ),
                        });
                        continue;
                    }
                    let included = match std::fs::read(&target) {
                        Ok(t) => t,
                        Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(error) => {
                            errors.push(LoadError::Io {
                                service: service.to_vec(),
                                path: target,
                                error,
                            });
                            continue;
                        }
                    };
                    let Ok(index) = u16::try_from(fragments.len()) else {
                        errors.push(LoadError::Invalid {
                            service: service.to_vec(),
                            file: file.clone(),
                            message: "too many included files".into(),
                        });
                        continue;
                    };
                    fragments.push(target);
                    self.parse_fragment(
                        service,
                        (&mut *desc, &mut *deps),
                        &included,
                        index,
                        depth + 1,
                        env,
                        fragments,
                        errors,
                    );
                }
                Item::UnknownMeta(_) => {}
            }
        }
        self.recycle(scratch);
    }

    fn export_passwd_vars(
        &self,
        name: &[u8],
        file: &Path,
        desc: &Desc,
        env: &mut EnvOps,
    ) -> Result<(), LoadError> {
        let entry = match desc.run_as() {
            Some(dinit_core::desc::IdSpec::Name(user)) => crate::users::user_by_name(user),
            Some(dinit_core::desc::IdSpec::Numeric(uid)) => crate::users::user_by_uid(uid),
            None => crate::users::user_by_uid(rustix::process::getuid().as_raw()),
        };
        let entry = entry.map_err(|e| LoadError::Invalid {
            service: name.to_vec(),
            file: file.to_path_buf(),
            message: format!("load-options export-passwd-vars: cannot find the user: {e}"),
        })?;
        env.push_set(b"USER", &entry.name);
        env.push_set(b"LOGNAME", &entry.name);
        env.push_set(b"HOME", &entry.home);
        env.push_set(b"SHELL", &entry.shell);
        env.push_set(b"UID", entry.uid.to_string().as_bytes());
        env.push_set(b"GID", entry.gid.to_string().as_bytes());
        Ok(())
    }

    /// Checks that settings fit together; errors make the load fail, the rest are warnings.
    fn validate(&mut self, read: &ReadService, desc: &Desc, errors: &mut Vec<LoadError>) {
        let data = &read.data;
        let kind = data.config.kind;
        let mut error = |message: String| {
            errors.push(LoadError::Invalid {
                service: data.name.to_vec(),
                file: data.file.to_path_buf(),
                message,
            })
        };
        let runs_process = kind.runs_process();
        if runs_process && read.command.is_empty() {
            error(format!("a {} service needs a 'command'", kind.name()));
        }
        if kind == ServiceKind::Bgprocess && data.extra().pid_file.is_none() {
            error("a bgprocess service needs a 'pid-file'".into());
        }
        if data.log().log_type == LogType::File && data.log().file.is_none() {
            error("'log-type = file' needs a 'logfile'".into());
        }
        if data.extra().consumer_of.is_some()
            && !matches!(kind, ServiceKind::Process | ServiceKind::Bgprocess)
        {
            error("'consumer-of' is only valid for process and bgprocess services".into());
        }
        if data.extra().consumer_of.as_deref() == Some(&*data.name) {
            error("a service cannot consume its own output".into());
        }
        let mut warn = |message: String| {
            self.warnings.push(Warning {
                service: data.name.to_vec(),
                message,
            })
        };
        let not_for = |setting: &str| {
            format!(
                "'{setting}' does not apply to a {} service; it is ignored",
                kind.name()
            )
        };
        if !runs_process {
            for (present, setting) in [
                (!read.stop_command.is_empty(), "stop-command"),
                (data.log().log_type != LogType::None, "log-type"),
                (data.extra().run_as.is_some(), "run-as"),
                (data.extra().socket.is_some(), "socket-listen"),
                (!data.extra().rlimits.is_empty(), "rlimit-*"),
            ] {
                if present {
                    warn(not_for(setting));
                }
            }
        }
        if data.extra().pid_file.is_some() && kind != ServiceKind::Bgprocess {
            warn(not_for("pid-file"));
        }
        if data.extra().readiness.is_some() && kind != ServiceKind::Process {
            warn(not_for("ready-notification"));
        }
        if data.config.smooth_recovery
            && !matches!(kind, ServiceKind::Process | ServiceKind::Bgprocess)
        {
            warn(not_for("smooth-recovery"));
        }
        if (data.extra().inittab_id.is_some() || data.extra().inittab_line.is_some())
            && kind != ServiceKind::Process
        {
            warn(not_for("inittab-id/inittab-line"));
        }
        if !desc.type_specified() {
            warn("no 'type' given; it is a process service".into());
        }
    }

    /// Loads `name` and everything it needs into `set` (a no-op returning the existing id if
    /// it is loaded), recording runtime data in `store`. On failure nothing changes.
    pub fn load<const S: usize, const E: usize, const N: usize>(
        &mut self,
        set: &mut ServiceSet<S, E, N>,
        store: &mut impl ServiceStore,
        name: &[u8],
    ) -> Result<ServiceId, LoadError> {
        if let Some(id) = set.find(name) {
            return Ok(id);
        }
        set.begin_load().map_err(engine_error)?;
        let mut added = Vec::new();
        let result = self.load_transaction(set, store, name, &mut added);
        match result {
            Ok(id) => Ok(id),
            Err(e) => {
                set.abort_load();
                for id in added {
                    store.remove(id);
                }
                Err(e)
            }
        }
    }

    fn load_transaction<const S: usize, const E: usize, const N: usize>(
        &mut self,
        set: &mut ServiceSet<S, E, N>,
        store: &mut impl ServiceStore,
        name: &[u8],
        added: &mut Vec<ServiceId>,
    ) -> Result<ServiceId, LoadError> {
        let mut queue: std::collections::VecDeque<(Vec<u8>, Option<Vec<u8>>)> =
            std::collections::VecDeque::from([(name.to_vec(), None)]);
        let mut edges: Vec<(ServiceId, Vec<u8>, DepKind)> = Vec::new();
        let mut consumers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut root = None;
        while let Some((n, needed_by)) = queue.pop_front() {
            if let Some(id) = set.find(&n) {
                root.get_or_insert(id);
                continue;
            }
            let mut errors = Vec::new();
            let read = match self.read_service(&n, &mut errors) {
                Ok(r) => r,
                Err(LoadError::NotFound { name, .. }) => {
                    return Err(LoadError::NotFound { name, needed_by })
                }
                Err(e) => return Err(e),
            };
            let id = set
                .insert_service(&n, read.data.config, &read.chain_to)
                .map_err(engine_error)?;
            root.get_or_insert(id);
            for dep in &read.dependencies {
                let loaded = set.find(&dep.name).is_some();
                if dep.from_dir && !loaded && !self.has_description(&dep.name) {
                    // "Failure ... to find any of the services named within, is not
                    // considered fatal" (dinit-service(5), depends-on.d).
                    self.warnings.push(Warning {
                        service: n.clone(),
                        message: format!(
                            "no description for '{}' named in a dependency directory; ignored",
                            show(&dep.name)
                        ),
                    });
                    continue;
                }
                if !dep.kind.is_ordering() && !loaded {
                    queue.push_back((dep.name.clone(), Some(n.clone())));
                }
                edges.push((id, dep.name.clone(), dep.kind));
            }
            if let Some(target) = &read.data.extra().consumer_of {
                if set.find(target).is_none() {
                    queue.push_back((target.clone(), Some(n.clone())));
                }
                consumers.push((n.clone(), target.clone()));
            }
            added.push(id);
            let file = read.data.file.to_path_buf();
            store
                .insert(id, read)
                .map_err(|message| LoadError::Invalid {
                    service: n.clone(),
                    file,
                    message,
                })?;
        }
        for (from, to_name, kind) in edges {
            let to = if kind.is_ordering() {
                set.placeholder(&to_name).map_err(engine_error)?
            } else {
                set.find(&to_name).ok_or_else(|| LoadError::NotFound {
                    name: to_name.clone(),
                    needed_by: set.name(from).map(<[u8]>::to_vec),
                })?
            };
            set.add_dependency(from, to, kind).map_err(|e| match e {
                EngineLoadError::SelfDependency(_) => LoadError::Cycle {
                    services: vec![to_name.clone()],
                },
                other => engine_error(other),
            })?;
        }
        match set.commit_load() {
            Ok(()) => {}
            Err(EngineLoadError::Cycle(cycle)) => {
                let mut services: Vec<Vec<u8>> = set
                    .cycle_members(&cycle)
                    .map(|id| set.name(id).map(<[u8]>::to_vec).unwrap_or_default())
                    .collect();
                services.reverse();
                return Err(LoadError::Cycle { services });
            }
            Err(e) => return Err(engine_error(e)),
        }
        root.ok_or_else(|| LoadError::NotFound {
            name: name.to_vec(),
            needed_by: None,
        })
    }
}

fn engine_error(e: EngineLoadError) -> LoadError {
    match e {
        EngineLoadError::Capacity(c) => LoadError::Capacity(c),
        other => LoadError::Invalid {
            service: Vec::new(),
            file: PathBuf::new(),
            message: format!("internal load error: {other:?}"),
        },
    }
}

/// An environment in which every variable is set (to a value no real setting contains).
struct Probe;

impl Vars for Probe {
    fn get(&self, _name: &[u8]) -> Option<&[u8]> {
        Some(b"\x7f")
    }
}

/// Resolves `path` against `base` unless it is absolute.
fn resolve(base: &Path, path: &[u8]) -> PathBuf {
    let p = Path::new(OsStr::from_bytes(path));
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

impl LoadError {
    /// A copy (I/O errors are copied by kind and message).
    pub fn duplicate(&self) -> LoadError {
        match self {
            LoadError::NotFound { name, needed_by } => LoadError::NotFound {
                name: name.clone(),
                needed_by: needed_by.clone(),
            },
            LoadError::BadName { name } => LoadError::BadName { name: name.clone() },
            LoadError::Description {
                service,
                file,
                error,
            } => LoadError::Description {
                service: service.clone(),
                file: file.clone(),
                error: error.clone(),
            },
            LoadError::Invalid {
                service,
                file,
                message,
            } => LoadError::Invalid {
                service: service.clone(),
                file: file.clone(),
                message: message.clone(),
            },
            LoadError::Io {
                service,
                path,
                error,
            } => LoadError::Io {
                service: service.clone(),
                path: path.clone(),
                error: std::io::Error::new(error.kind(), error.to_string()),
            },
            LoadError::Cycle { services } => LoadError::Cycle {
                services: services.clone(),
            },
            LoadError::Capacity(c) => LoadError::Capacity(*c),
        }
    }
}
