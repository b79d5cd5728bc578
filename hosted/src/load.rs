//! The loader: finds service description files, reads them (with `@include`s, `.d`
//! directories and `env-file`s), substitutes variables, validates, and loads the service and
//! the dependencies it pulls in into the engine as one transaction.
//!
//! Rules, from dinit(8) and dinit-service(5), and Dinit's behaviour where they are silent:
//!
//! * A service `base@arg` is described by the file `base` in the first service directory that
//!   has an entry of that name (a directory there is an error, not skipped); its argument is
//!   `$1` in substitutions. The file's name is the directory as configured, `/`, and `base`.
//! * Dependencies are loaded on demand (`depends-on`, `depends-ms`, `waits-for`, `prepared-by`,
//!   the `.d` directories, and `consumer-of`); `before`/`after` never load the other service
//!   (a placeholder keeps the relationship until it is loaded); `chain-to` is loaded only when
//!   it is started.
//! * `@include` and `env-file` resolve relative paths against the real directory of the file
//!   that names them (symbolic links followed); a `.d` directory resolves against the
//!   directory part of that file's *name* (the service directory, or the `@include` path as
//!   written), as Dinit does. `working-dir` defaults to the directory of the description file.
//! * In a `.d` directory, names that begin with a dot are skipped; names are read in directory
//!   order. For dinit, a directory that cannot be read or a name with no description is only a
//!   warning; dinit-check reports the first as an error and checks the names like any other.
//! * Problems are collected in the order found ([`Diagnostic`]): a bad setting keeps its
//!   earlier value and reading goes on, so that dinit-check reports them all; dinit fails the
//!   load at the first. Some problems make the rest of the file unreadable (a line that is not
//!   a setting, a missing `@include`, a substitution error in a command): reading stops there.
//! * A missing dependency, a dependency cycle, or any error in any description makes the whole
//!   load fail, and leaves the services already loaded untouched.

use crate::environ::{EnvOps, Environment};
use crate::service::{
    ActivationSocket, DeclaredDependency, Extra, Id, LogSettings, Readiness, ServiceData,
};
use dinit_core::desc::{
    split_service_name, CommandSetting, DescError, DescErrorKind, IdSpec, Item, LoadOptions,
    LogType, Parser, PathSetting, ReadyNotification, Setting, SettingKey, Snippet, SubstEnv, Vars,
};
use dinit_core::engine::LoadError as EngineLoadError;
use dinit_core::{
    CapacityError, DepKind, Options, ServiceConfig, ServiceId, ServiceKind, ServiceSet,
};
use std::cell::Cell;
use std::ffi::{CString, OsStr};
use std::fmt;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The description type the loader fills (16 KiB of strings, 256 dependencies per service).
pub type Desc = dinit_core::desc::DefaultDescription;

/// How deep `@include`s may nest.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// Bytes of scratch space for one setting value (lexed tokens and substitution output).
const SCRATCH_BYTES: usize = 64 * 1024;

/// Where in a description an error is, in the forms Dinit reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A line of a file (the file as Dinit names it: `DIR/NAME`, or an `@include` path as
    /// written).
    Line {
        /// The file.
        file: PathBuf,
        /// The line.
        line: u32,
        /// The setting, for the errors dinit's log names it in.
        setting: Option<&'static str>,
    },
    /// A setting, while it was read (a substitution error).
    Setting(&'static str),
    /// A setting, once the description was read (a substitution error in a path setting).
    Resolving(&'static str),
}

/// Why a load failed. The messages are Dinit's.
#[derive(Debug)]
pub enum LoadError {
    /// No description file for the service in any service directory.
    NotFound {
        /// The service looked for.
        name: Vec<u8>,
        /// The service whose dependency it is, if any.
        needed_by: Option<Vec<u8>>,
    },
    /// An error in a description (a syntax error or bad setting value).
    Description {
        /// The service.
        service: Vec<u8>,
        /// The name the message gives for the service: for an invalid dependency name, Dinit
        /// names the dependency (unless it is empty).
        shown: Option<Vec<u8>>,
        /// Where.
        place: Place,
        /// What is wrong.
        message: String,
    },
    /// A service cannot be loaded for another reason (an inconsistent description, a file
    /// that cannot be read, ...).
    Load {
        /// The service.
        service: Vec<u8>,
        /// What is wrong.
        message: String,
    },
    /// A `.d` dependency directory cannot be read (an error for dinit-check only).
    DependencyDir {
        /// The service.
        service: Vec<u8>,
        /// The directory as written.
        dir: Vec<u8>,
        /// The error.
        error: std::io::Error,
    },
    /// A description file (or included file) cannot be read once open.
    Read {
        /// The service.
        service: Vec<u8>,
        /// The error.
        error: std::io::Error,
    },
    /// A dependency cycle ("has cyclic dependency"), found where Dinit finds it: loading a
    /// service needed (through a dependency) while its own loading is under way, or a
    /// `before`/`after` naming such a service, or (only once everything is loaded) a cycle of
    /// any other shape.
    Cycle {
        /// The service the error names (as Dinit names it).
        services: Vec<Vec<u8>>,
        /// For a cycle found only once everything was loaded (one Dinit does not detect: its
        /// services would wait for each other for ever), its members in order, so that the
        /// message can show it; empty otherwise.
        through: Vec<Vec<u8>>,
    },
    /// A table of the engine is full.
    Capacity(CapacityError),
}

/// A failed load: the error, and the services whose loading it interrupted (see
/// [`Loader::failed_within`]).
#[derive(Debug)]
pub struct LoadFailure {
    /// What went wrong, and with which service.
    pub error: LoadError,
    /// The services whose loading the failure interrupted, innermost first; empty when the
    /// service asked for is the one that failed.
    pub within: Vec<Vec<u8>>,
}

impl LoadFailure {
    /// The protocol's reply to a LOADSERVICE that failed so: no description, an error in the
    /// description, or any other failure to load (a failure in a dependency included).
    pub fn reply_kind(&self) -> LoadFailureKind {
        if !self.within.is_empty() {
            LoadFailureKind::Load
        } else if self.error.is_not_found() {
            LoadFailureKind::NotFound
        } else if self.error.is_description_error() {
            LoadFailureKind::Description
        } else {
            LoadFailureKind::Load
        }
    }
}

/// How a failed load is answered over the control protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadFailureKind {
    /// `NOSERVICE`.
    NotFound,
    /// `SERVICE_DESC_ERR`.
    Description,
    /// `SERVICE_LOAD_ERR`.
    Load,
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A service name without its argument (`base` of `base@argument`): the daemon's messages
/// about loading name the description, as Dinit's do (dinit-check names the service).
pub fn base_name(name: &[u8]) -> &[u8] {
    name.split(|&b| b == b'@').next().unwrap_or(name)
}

/// The text of an I/O error as the C library's `strerror` gives it (without Rust's
/// " (os error N)").
pub fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => {
            let text = e.to_string();
            match text.rfind(" (os error ") {
                Some(cut) if text.ends_with(&format!(" (os error {errno})")) => {
                    text[..cut].to_string()
                }
                _ => text,
            }
        }
        None => e.to_string(),
    }
}

impl LoadError {
    /// True for errors in a description itself (the protocol's `SERVICE_DESC_ERR`), as opposed
    /// to failures to load it or its dependencies (`SERVICE_LOAD_ERR`) or a missing
    /// description (`NOSERVICE`).
    pub fn is_description_error(&self) -> bool {
        matches!(self, LoadError::Description { .. })
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

    /// The service the error concerns.
    pub fn service(&self) -> &[u8] {
        match self {
            LoadError::NotFound { name, .. } => name,
            LoadError::Description { service, .. }
            | LoadError::Load { service, .. }
            | LoadError::DependencyDir { service, .. }
            | LoadError::Read { service, .. } => service,
            LoadError::Cycle { services, .. } => services.first().map_or(&[], Vec::as_slice),
            LoadError::Capacity(_) => &[],
        }
    }

    /// The service as the message names it (see [`LoadError::Description`]'s `shown`).
    fn shown(&self) -> &[u8] {
        match self {
            LoadError::Description {
                shown: Some(shown), ..
            } => shown,
            _ => self.service(),
        }
    }

    /// What is wrong, without the service's name or the place (Dinit's description of the
    /// exception).
    pub fn message(&self) -> String {
        match self {
            LoadError::NotFound { .. } => "service description not found.".into(),
            LoadError::Description { message, .. } | LoadError::Load { message, .. } => {
                message.clone()
            }
            LoadError::DependencyDir { dir, error, .. } => format!(
                "error reading dependencies from directory {}: {}",
                show(dir),
                strerror(error)
            ),
            LoadError::Read { error, .. } => {
                format!("error reading service description: {}", strerror(error))
            }
            LoadError::Cycle { through, .. } if !through.is_empty() => {
                let mut path: Vec<String> = through.iter().map(|n| show(n)).collect();
                path.push(show(&through[0]));
                format!("has cyclic dependency: {}.", path.join(" -> "))
            }
            LoadError::Cycle { .. } => "has cyclic dependency.".into(),
            LoadError::Capacity(e) => e.to_string(),
        }
    }

    /// The line dinit-check prints for this error (fatal errors are printed as "Unable to
    /// load service" instead, by the checker).
    pub fn check_line(&self) -> String {
        let service = show(self.shown());
        match self {
            LoadError::Description { place, message, .. } => match place {
                Place::Line { file, line, .. } => {
                    format!("Service '{service}' ({}:{line}): {message}", file.display())
                }
                Place::Setting(setting) => {
                    format!("Service '{service}' setting '{setting}': {message}")
                }
                Place::Resolving(setting) => format!("Service '{service}': {setting}: {message}"),
            },
            LoadError::DependencyDir { .. } | LoadError::Read { .. } => {
                format!("Service '{service}', {}", self.message())
            }
            _ => format!("Service '{service}': {}", self.message()),
        }
    }

    /// How dinit logs the failure to load a service it was asked for at start-up.
    pub fn startup_message(&self) -> String {
        match self {
            LoadError::NotFound { name, .. } => {
                format!(
                    "{}: could not find service description.",
                    show(base_name(name))
                )
            }
            LoadError::Description { .. } => self.to_string(),
            _ => format!(
                "{}: error loading: {}",
                show(base_name(self.service())),
                self.message()
            ),
        }
    }
}

/// How dinit logs the failure to load a service a client asked for.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Description { place, message, .. } => match place {
                Place::Line {
                    file,
                    line,
                    setting: None,
                } => write!(
                    f,
                    "Error in service description for '{}' (file {}, line {line}): {message}",
                    show(base_name(self.shown())),
                    file.display()
                ),
                Place::Line {
                    file,
                    line,
                    setting: Some(setting),
                } => write!(
                    f,
                    "Error in service description for '{}': setting '{setting}' (file {}, line \
                     {line}): {message}",
                    show(base_name(self.shown())),
                    file.display()
                ),
                Place::Setting(setting) | Place::Resolving(setting) => write!(
                    f,
                    "Error in service description for '{}' setting '{setting}': {message}",
                    show(base_name(self.shown()))
                ),
            },
            LoadError::Capacity(e) => write!(f, "{e}"),
            _ => write!(
                f,
                "Could not load service {}: {}",
                show(base_name(self.service())),
                self.message()
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// A problem found while reading a description, in the order found.
#[derive(Debug)]
pub enum Diagnostic {
    /// An error: dinit fails the load with the first; dinit-check reports each.
    Error(LoadError),
    /// A setting that does not fit the rest of the description (only with [`Loader::lint`]).
    Lint {
        /// The service.
        service: Vec<u8>,
        /// Dinit's text, without its "warning: " prefix.
        message: String,
    },
    /// A substitution read one of dinit's environment variables, whose values may differ in the
    /// running dinit (once per service; only with [`Loader::lint`] and not
    /// [`Loader::online`]).
    EnvironmentUsed,
}

/// A problem found while loading that does not stop it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The service.
    pub service: Vec<u8>,
    /// Dinit's message.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where the runtime keeps what is read of each loaded service ([`ReadService`]), indexed by
/// service.
pub trait ServiceStore {
    /// Records a newly loaded service. An error (a user that does not exist, capabilities
    /// that cannot be parsed, ...) fails the load.
    fn insert(
        &mut self,
        id: ServiceId,
        read: ReadService,
    ) -> Result<(), crate::spawn::PrepareError>;
    /// Forgets a service (its load was undone, or it was unloaded).
    fn remove(&mut self, id: ServiceId);
    /// The load is over (committed, or undone and its services removed). A store that keeps
    /// room in proportion to the services (so that launching them never allocates) sizes it
    /// here, once per load, rather than growing it by doubling with each service inserted,
    /// which would copy and free a buffer at every step.
    fn loaded(&mut self) {}
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
    fn insert(
        &mut self,
        id: ServiceId,
        read: ReadService,
    ) -> Result<(), crate::spawn::PrepareError> {
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
    /// What the engine is given.
    pub config: ServiceConfig,
    /// The description file that was loaded (the top-level one).
    pub file: PathBuf,
    /// `command`, substituted and split into arguments.
    pub command: Vec<CString>,
    /// `stop-command`, likewise.
    pub stop_command: Vec<CString>,
    /// Dependencies as declared (including those found in `.d` directories), in order.
    pub dependencies: Vec<DeclaredDependency>,
    /// `chain-to`, if any.
    pub chain_to: Vec<u8>,
    /// What dinit-check needs beyond the runtime data.
    pub check: CheckData,
}

impl ReadService {
    /// The directory the service's commands run in: `working-dir`, or the directory of the
    /// description file.
    pub fn working_dir(&self) -> &Path {
        self.data
            .working_dir(self.file.parent().unwrap_or(Path::new("/")))
    }
}

/// What dinit-check examines after reading a description: the values as written (after
/// substitution), before the loader resolves them.
#[derive(Clone, Debug, Default)]
pub struct CheckData {
    /// The service directory the description came from, as configured.
    pub service_dir: PathBuf,
    /// `working-dir`, substituted, not resolved.
    pub working_dir: Option<Vec<u8>>,
    /// `logfile`, substituted, not resolved; only with `log-type = file`.
    pub logfile: Option<Vec<u8>>,
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
    /// Warnings collected while loading (dinit logs them).
    pub warnings: Vec<Warning>,
    /// After a failed [`Loader::load`]: the services whose loading the failure interrupted,
    /// innermost first (the one that needed the failing service, then the one that needed
    /// that, up to the service asked for). Dinit logs each as "could not load dependency".
    pub failed_within: Vec<Vec<u8>>,
    /// dinit-check's checking: lint warnings, and `.d` directories that cannot be read are
    /// errors (for dinit they are warnings).
    pub lint: bool,
    /// The environment is the running daemon's (dinit-check `--online`): substitutions need
    /// no warning.
    pub online: bool,
    /// Substitution buffers and a description, kept from one service to the next: a
    /// transaction of thousands of services neither allocates nor clears them each time.
    spare_buffers: Vec<Vec<u8>>,
    spare_desc: Option<Box<Desc>>,
}

/// Dependencies named by `depends-on` and the like, in order, each (kind, name) once.
#[derive(Default)]
struct DepList {
    list: Vec<DeclaredDependency>,
    seen: std::collections::HashSet<(DepKind, Vec<u8>)>,
}

impl DepList {
    fn push(&mut self, kind: DepKind, name: &[u8], from_dir: Option<&[u8]>) {
        if self.seen.insert((kind, name.to_vec())) {
            self.list.push(DeclaredDependency {
                kind,
                name: name.to_vec(),
                from_dir: from_dir.map(<[u8]>::to_vec),
            });
        }
    }
}

/// A description file or an included file.
struct Fragment {
    /// Its name as Dinit prints it (and as `.d` directories are resolved against).
    name: PathBuf,
    /// The real directory it is in, against which its `@include`s and `env-file` resolve.
    real_dir: PathBuf,
}

/// An open file read whole.
struct Found {
    file: PathBuf,
    dir_index: u16,
    text: Vec<u8>,
    mtime: (i64, i64),
    real_dir: PathBuf,
}

/// The paths of a description after post-load substitution (as written where that failed),
/// not resolved yet.
struct SubstitutedPaths {
    socket: Option<Vec<u8>>,
    logfile: Option<Vec<u8>>,
    working_dir: Option<Vec<u8>>,
    pid_file: Option<Vec<u8>>,
}

/// `command` and `stop-command`, substituted and split into arguments.
type Commands = (Vec<CString>, Vec<CString>);

/// The runtime data of a service read from `desc` (found as `found`), with its environment
/// and its substituted paths, resolved against the description's directory.
fn service_data(
    r: &mut Reading<'_>,
    desc: &Desc,
    found: &Found,
    service_env: EnvOps,
    paths: &SubstitutedPaths,
) -> ServiceData {
    let file_dir = found
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let resolved = |p: &Option<Vec<u8>>| p.as_deref().map(|p| resolve(&file_dir, p));
    ServiceData {
        name: r.name.clone().into(),
        dir_index: found.dir_index,
        mtime: found.mtime,
        working_dir: resolved(&paths.working_dir)
            .filter(|d| *d != file_dir)
            .map(PathBuf::into_boxed_path),
        load_options: desc.load_options(),
        extra: Extra {
            env: service_env,
            log: LogSettings {
                log_type: desc.log_type(),
                file: resolved(&paths.logfile),
                permissions: desc.logfile_permissions(),
                uid: desc.logfile_uid().map(Id::from),
                gid: desc.logfile_gid().map(Id::from),
                buffer_size: desc.log_buffer_size(),
                buffer_keep: desc.log_buffer_keep(),
                max_size: desc.logfile_max_size(),
                rotate: desc.logfile_rotate(),
            },
            run_as: desc.run_as().map(Id::from),
            pid_file: resolved(&paths.pid_file),
            socket: resolved(&paths.socket).map(|path| ActivationSocket {
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
            waits_for_dirs: std::mem::take(&mut r.waits_for_dirs),
        }
        .boxed(),
    }
}

/// Dinit's way of naming a file in a directory: `dir/name` (one slash), even if `name` is
/// absolute.
fn dir_file(dir: &Path, name: &[u8]) -> PathBuf {
    let mut bytes = dir.as_os_str().as_bytes().to_vec();
    if bytes.last() != Some(&b'/') {
        bytes.push(b'/');
    }
    bytes.extend_from_slice(name);
    PathBuf::from(OsStr::from_bytes(&bytes))
}

/// `path` resolved against `dir` unless it is absolute (or `dir` is empty).
fn resolve(dir: &Path, path: &[u8]) -> PathBuf {
    let p = Path::new(OsStr::from_bytes(path));
    if p.is_absolute() || dir.as_os_str().is_empty() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// The directory part of a file name, as Dinit's `parent_path` gives it ("" for a bare name).
fn parent_of_name(name: &Path) -> PathBuf {
    let bytes = name.as_os_str().as_bytes();
    match bytes.iter().rposition(|&b| b == b'/') {
        None => PathBuf::new(),
        Some(mut cut) => {
            while cut > 0 && bytes.get(cut - 1) == Some(&b'/') {
                cut -= 1;
            }
            let dir = if cut == 0 { &b"/"[..] } else { &bytes[..cut] };
            PathBuf::from(OsStr::from_bytes(dir))
        }
    }
}

/// The real directory of an open file: the directory of its canonical path (symbolic links
/// followed), or of its name if that cannot be found.
fn real_dir_of(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| path.parent().map(Path::to_path_buf).unwrap_or_default())
}

/// Environment variables that note when one is looked up (dinit-check warns once per
/// service that such substitutions may differ in the running daemon).
struct Watched<'a> {
    vars: &'a dyn Vars,
    used: Cell<bool>,
}

impl Vars for Watched<'_> {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.used.set(true);
        self.vars.get(name)
    }
}

/// What is being read: the service, its file, and where diagnostics go.
struct Reading<'d> {
    name: Vec<u8>,
    diags: &'d mut Vec<Diagnostic>,
    fragments: Vec<Fragment>,
    deps: DepList,
    waits_for_dirs: Vec<PathBuf>,
    env_file_dir: PathBuf,
    /// The environment warning was given.
    env_warned: bool,
    /// Give the environment warning.
    env_warning: bool,
    /// `nice` and `oom-score-adj` were given, even if with a value that is not valid (Dinit
    /// then still warns that the type ignores them).
    nice_given: bool,
    oom_given: bool,
}

impl Reading<'_> {
    fn error(&mut self, e: LoadError) {
        self.diags.push(Diagnostic::Error(e));
    }

    fn load_error(&mut self, message: impl Into<String>) {
        let service = self.name.clone();
        self.error(LoadError::Load {
            service,
            message: message.into(),
        });
    }

    fn lint(&mut self, message: &str) {
        self.diags.push(Diagnostic::Lint {
            service: self.name.clone(),
            message: message.to_owned(),
        });
    }

    /// Gives the environment warning if a substitution has just read a variable.
    fn note_env(&mut self, watched: &Watched<'_>) {
        if watched.used.replace(false) && self.env_warning && !self.env_warned {
            self.env_warned = true;
            self.diags.push(Diagnostic::EnvironmentUsed);
        }
    }

    /// A description error found while reading fragment `fragment`.
    fn desc_error(&self, fragment: usize, e: &DescError) -> LoadError {
        let place = match e.kind.setting() {
            Some(setting) if !e.kind.has_position() => Place::Setting(setting),
            _ => Place::Line {
                file: self
                    .fragments
                    .get(fragment)
                    .map(|f| f.name.clone())
                    .unwrap_or_default(),
                line: e.line,
                setting: logged_setting(e),
            },
        };
        // Dinit names the dependency, not the service, when a dependency name is invalid
        // (unless it is empty).
        let shown = match e.kind {
            DescErrorKind::InvalidDependencyName { name } if !name.as_bytes().is_empty() => {
                Some(name.as_bytes().to_vec())
            }
            _ => None,
        };
        LoadError::Description {
            service: self.name.clone(),
            shown,
            place,
            message: e.kind.to_string(),
        }
    }
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
            failed_within: Vec::new(),
            lint: false,
            online: false,
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

    /// Finds and reads the description file of the service with base name `base`: the first
    /// service directory with an entry of that name.
    fn find_file(
        &self,
        service: &[u8],
        base: &[u8],
        diags: &mut Vec<Diagnostic>,
    ) -> Result<Found, LoadError> {
        let mut first_error: Option<LoadError> = None;
        for (dir_index, dir) in self.dirs.iter().enumerate() {
            let Ok(dir_index) = u16::try_from(dir_index) else {
                break;
            };
            let file = dir_file(dir, base);
            let mut opened = match std::fs::File::open(&file) {
                Ok(f) => f,
                Err(e) => {
                    if e.kind() != std::io::ErrorKind::NotFound && first_error.is_none() {
                        first_error = Some(LoadError::Load {
                            service: service.to_vec(),
                            message: format!("{}: {}", file.display(), strerror(&e)),
                        });
                    }
                    continue;
                }
            };
            let text = read_all(&mut opened, service, &file, diags)?;
            let meta = opened.metadata().ok();
            return Ok(Found {
                real_dir: real_dir_of(&file),
                file,
                dir_index,
                text,
                mtime: meta.map_or((0, 0), |m| (m.mtime(), m.mtime_nsec())),
            });
        }
        Err(first_error.unwrap_or_else(|| LoadError::NotFound {
            name: service.to_vec(),
            needed_by: None,
        }))
    }

    /// True if some service directory has a description for `name`.
    pub fn has_description(&self, name: &[u8]) -> bool {
        let base = split_service_name(name).base;
        self.dirs
            .iter()
            .any(|d| dir_file(d, base).symlink_metadata().is_ok())
    }

    /// Reads, parses, substitutes and validates the description of `name`, without touching
    /// the engine, as dinit does: the first error fails it.
    pub fn read_service(&mut self, name: &[u8]) -> Result<ReadService, LoadError> {
        let mut diags = Vec::new();
        let read = self.read_service_diagnosed(name, &mut diags);
        for d in diags {
            if let Diagnostic::Error(e) = d {
                return Err(e);
            }
        }
        read
    }

    /// Reads, parses, substitutes and validates the description of `name`, as dinit-check
    /// does: every problem goes to `diags`, in the order found, and only a problem that stops
    /// the reading (a fatal one) is returned as an error.
    pub fn read_service_diagnosed(
        &mut self,
        name: &[u8],
        diags: &mut Vec<Diagnostic>,
    ) -> Result<ReadService, LoadError> {
        if name.len() > usize::from(u16::MAX) {
            return Err(LoadError::Load {
                service: name.to_vec(),
                message: "service name is too long".into(),
            });
        }
        let sn = split_service_name(name);
        let found = self.find_file(name, sn.base, diags)?;
        let watched = Watched {
            vars: self.env,
            used: Cell::new(false),
        };
        let pre_env = SubstEnv::new(&watched, sn.argument);
        let mut desc: Box<Desc> = match self.spare_desc.take() {
            Some(mut desc) => {
                desc.reset();
                desc
            }
            None => Box::default(),
        };
        let mut reading = Reading {
            name: name.to_vec(),
            diags,
            fragments: vec![Fragment {
                name: found.file.clone(),
                real_dir: found.real_dir.clone(),
            }],
            deps: DepList::default(),
            waits_for_dirs: Vec::new(),
            env_file_dir: found.real_dir.clone(),
            env_warned: false,
            env_warning: self.lint && !self.online,
            nice_given: false,
            oom_given: false,
        };
        let parsed = self.parse_fragment(
            &mut reading,
            &mut desc,
            &found.text,
            0,
            0,
            &pre_env,
            &watched,
        );
        let result = parsed.and_then(|()| self.finish(&mut reading, &desc, &found, sn.argument));
        self.spare_desc = Some(desc);
        result
    }

    /// Parses one fragment (the description file or an included file), applying settings to
    /// `desc` and following `@include`s. An error returned is fatal.
    #[allow(clippy::too_many_arguments)]
    fn parse_fragment(
        &mut self,
        r: &mut Reading<'_>,
        desc: &mut Desc,
        text: &[u8],
        fragment: usize,
        depth: usize,
        env: &SubstEnv<'_>,
        watched: &Watched<'_>,
    ) -> Result<(), LoadError> {
        let mut scratch = self.buffer();
        let mut parser = Parser::new(text);
        let fragment_no = u16::try_from(fragment).unwrap_or(u16::MAX);
        let result = loop {
            desc.set_fragment(fragment_no);
            let entry = parser.next_item(env, &mut scratch);
            r.note_env(watched);
            let entry = match entry {
                Ok(Some(entry)) => entry,
                Ok(None) => break Ok(()),
                Err(e) if e.fatal => break Err(r.desc_error(fragment, &e)),
                Err(e) => {
                    match e.setting {
                        Some(SettingKey::Nice) => r.nice_given = true,
                        Some(SettingKey::OomScoreAdj) => r.oom_given = true,
                        _ => {}
                    }
                    let e = r.desc_error(fragment, &e);
                    r.error(e);
                    continue;
                }
            };
            let line = entry.line;
            let setting = match entry.item {
                Item::Setting(setting) => setting,
                Item::UnknownMeta(_) => continue,
                Item::Include { path, optional } => {
                    let path = path.to_vec();
                    if let Err(e) =
                        self.include(r, desc, &path, optional, fragment, depth, env, watched)
                    {
                        break Err(e);
                    }
                    continue;
                }
            };
            if let Err(e) = self.apply(r, desc, setting, line, fragment) {
                let e = r.desc_error(fragment, &e.in_fragment(fragment_no));
                r.error(e);
            }
        };
        self.recycle(scratch);
        result
    }

    /// Applies a setting read at `line` of `fragment`: dependencies go to the list, names of
    /// users and groups are looked up, `.d` directories are read.
    fn apply(
        &mut self,
        r: &mut Reading<'_>,
        desc: &mut Desc,
        setting: Setting<'_>,
        line: u32,
        fragment: usize,
    ) -> Result<(), DescError> {
        let fail = |kind| Err(DescError::new(line, kind));
        match setting {
            Setting::Dependency { kind, name } => {
                r.deps.push(kind, name, None);
                return Ok(());
            }
            Setting::DependencyDir { kind, path } => {
                self.dependency_dir(r, kind, path, fragment);
                return Ok(());
            }
            Setting::ConsumerOf(target) if target == r.name.as_slice() => {
                return fail(DescErrorKind::OwnConsumer);
            }
            Setting::EnvFile(_) => {
                if let Some(f) = r.fragments.get(fragment) {
                    r.env_file_dir = f.real_dir.clone();
                }
            }
            Setting::RunAs(IdSpec::Name(n))
            | Setting::SocketUid(IdSpec::Name(n))
            | Setting::LogfileUid(IdSpec::Name(n)) => {
                if let Err(kind) = lookup_user(setting_name(&setting), n) {
                    return fail(kind);
                }
            }
            Setting::SocketGid(IdSpec::Name(n)) | Setting::LogfileGid(IdSpec::Name(n)) => {
                if let Err(kind) = lookup_group(setting_name(&setting), n) {
                    return fail(kind);
                }
            }
            _ => {}
        }
        desc.apply(line, setting)
    }

    /// `@include` / `@include-opt` of `path` from fragment `from`.
    #[allow(clippy::too_many_arguments)]
    fn include(
        &mut self,
        r: &mut Reading<'_>,
        desc: &mut Desc,
        path: &[u8],
        optional: bool,
        from: usize,
        depth: usize,
        env: &SubstEnv<'_>,
        watched: &Watched<'_>,
    ) -> Result<(), LoadError> {
        let base = r
            .fragments
            .get(from)
            .map(|f| f.real_dir.clone())
            .unwrap_or_default();
        let target = resolve(&base, path);
        let shown = PathBuf::from(OsStr::from_bytes(path));
        let cannot_open = |e: &std::io::Error| LoadError::Load {
            service: r.name.clone(),
            message: format!("{}: cannot open: {}", shown.display(), strerror(e)),
        };
        // A path that substitutes to nothing names no file (as with Dinit: not the folder it
        // would resolve against).
        let opened = if path.is_empty() {
            Err(std::io::Error::from_raw_os_error(
                rustix::io::Errno::NOENT.raw_os_error(),
            ))
        } else {
            std::fs::File::open(&target)
        };
        let mut file = match opened {
            Ok(f) => f,
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(cannot_open(&e)),
        };
        if depth + 1 >= MAX_INCLUDE_DEPTH {
            return Err(LoadError::Load {
                service: r.name.clone(),
                message: format!(
                    "{}: @include nested more than {MAX_INCLUDE_DEPTH} deep",
                    shown.display()
                ),
            });
        }
        let text = read_all(&mut file, &r.name, &shown, r.diags)?;
        let index = r.fragments.len();
        if index > usize::from(u16::MAX) {
            return Err(LoadError::Load {
                service: r.name.clone(),
                message: "too many included files".into(),
            });
        }
        r.fragments.push(Fragment {
            name: shown,
            real_dir: real_dir_of(&target),
        });
        self.parse_fragment(r, desc, &text, index, depth + 1, env, watched)
    }

    /// Reads a `.d` directory named in `fragment`: each entry not beginning with a dot is a
    /// dependency of `kind`.
    fn dependency_dir(&mut self, r: &mut Reading<'_>, kind: DepKind, path: &[u8], fragment: usize) {
        let parent = r
            .fragments
            .get(fragment)
            .map(|f| parent_of_name(&f.name))
            .unwrap_or_default();
        let dir = if path.is_empty() {
            parent
        } else {
            resolve(&parent, path)
        };
        if kind == DepKind::WaitsFor {
            r.waits_for_dirs.push(dir.clone());
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) => {
                if self.lint {
                    let service = r.name.clone();
                    r.error(LoadError::DependencyDir {
                        service,
                        dir: path.to_vec(),
                        error,
                    });
                } else {
                    self.warnings.push(Warning {
                        service: r.name.clone(),
                        message: format!(
                            "Could not open dependency directory '{}' for {} service.",
                            dir.display(),
                            show(&r.name)
                        ),
                    });
                }
                return;
            }
        };
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let name = entry.file_name();
                    let name = name.as_bytes();
                    if dinit_core::desc::is_valid_service_name(name) {
                        r.deps.push(kind, name, Some(path));
                    }
                }
                Err(error) => {
                    if self.lint {
                        let service = r.name.clone();
                        r.error(LoadError::DependencyDir {
                            service,
                            dir: path.to_vec(),
                            error,
                        });
                    }
                    break;
                }
            }
        }
    }

    /// What follows the reading of the description: the service's environment, the checks
    /// of the settings together, post-load substitution, and the runtime data.
    fn finish(
        &mut self,
        r: &mut Reading<'_>,
        desc: &Desc,
        found: &Found,
        argument: Option<&[u8]>,
    ) -> Result<ReadService, LoadError> {
        let name = r.name.clone();
        let service_env = self.service_env(r, desc, &name);
        let mut subst_vars = self.env.clone();
        service_env.apply_to(&mut subst_vars, self.original_env);
        let watched = Watched {
            vars: &subst_vars,
            used: Cell::new(false),
        };
        let post_env = SubstEnv::new(&watched, argument);
        self.check_settings(r, desc);
        let (paths, commands) = self.substitute(r, desc, &post_env, &watched);
        let (argv, stop_argv) = commands?;
        let kind = desc.kind();
        let log_type = desc.log_type();
        let logfile = paths.logfile.filter(|_| log_type == LogType::File);
        if desc.consumer_of().is_some()
            && !matches!(kind, ServiceKind::Process | ServiceKind::Bgprocess)
        {
            r.load_error(
                "only a process or bgprocess service can be a log consumer ('consumer-of') \
                 another service.",
            );
        }
        let paths = SubstitutedPaths { logfile, ..paths };
        let data = service_data(r, desc, found, service_env, &paths);
        let service_dir = self
            .dirs
            .get(usize::from(found.dir_index))
            .cloned()
            .unwrap_or_default();
        Ok(ReadService {
            chain_to: desc.chain_to().map(<[u8]>::to_vec).unwrap_or_default(),
            data,
            config: *desc.config(),
            file: found.file.clone(),
            command: argv,
            stop_command: stop_argv,
            dependencies: std::mem::take(&mut r.deps.list),
            check: CheckData {
                service_dir,
                working_dir: paths.working_dir,
                logfile: paths.logfile,
            },
        })
    }

    /// The service's own environment: load-options variables, then its env-file, which
    /// takes precedence (dinit-service(5) VARIABLE SUBSTITUTION).
    fn service_env(&self, r: &mut Reading<'_>, desc: &Desc, name: &[u8]) -> EnvOps {
        let mut service_env = EnvOps::default();
        let opts = desc.load_options();
        if opts.contains(LoadOptions::EXPORT_PASSWD_VARS) {
            if let Err(e) = export_passwd_vars(desc, &mut service_env) {
                r.load_error(e.to_string());
            }
        }
        if opts.contains(LoadOptions::EXPORT_SERVICE_NAME) {
            service_env.push_set(b"DINIT_SERVICE", name);
        }
        if let Some(env_file) = desc.env_file() {
            let path = resolve(&r.env_file_dir, env_file);
            match std::fs::read(&path) {
                Ok(text) => service_env.extend(&EnvOps::parse(&text)),
                // (dinit names the file; dinit-check does not.)
                Err(e) if self.lint => {
                    r.load_error(format!("could not load environment file: {}", strerror(&e)));
                }
                Err(e) => r.load_error(format!(
                    "could not load environment file: {}: {}",
                    show(env_file),
                    strerror(&e)
                )),
            }
        }
        service_env
    }

    /// The checks of the settings together (a command for a service that runs one, what a
    /// bgprocess service needs and cannot have, where kill-all-on-stop may be), and
    /// dinit-check's own warnings.
    fn check_settings(&self, r: &mut Reading<'_>, desc: &Desc) {
        let kind = desc.kind();
        let runs_process = matches!(
            kind,
            ServiceKind::Process | ServiceKind::Bgprocess | ServiceKind::Scripted
        );
        if runs_process && desc.command().is_none() {
            r.load_error("'command' setting not specified.");
        }
        if self.lint {
            lint(r, desc);
        }
        if kind == ServiceKind::Bgprocess {
            if desc.pid_file().is_none() {
                r.load_error("process ID file ('pid-file') not specified for bgprocess service.");
            }
            if desc.ready_notification().is_some() {
                r.load_error(
                    "readiness notification ('ready-notification') is not supported for \
                     bgprocess services.",
                );
            }
        }
        let options = desc.config().options;
        if options.contains(Options::KILL_ALL_ON_STOP)
            && !matches!(kind, ServiceKind::Internal | ServiceKind::Scripted)
        {
            r.load_error("kill-all-on-stop can only be set on scripted or internal services.");
        }
    }

    /// Post-load substitution, in Dinit's order: the paths, then `command` and (if that
    /// worked) `stop-command`. A path that cannot be substituted is reported and kept as
    /// written; a command that cannot be is fatal.
    fn substitute(
        &mut self,
        r: &mut Reading<'_>,
        desc: &Desc,
        post_env: &SubstEnv<'_>,
        watched: &Watched<'_>,
    ) -> (SubstitutedPaths, Result<Commands, LoadError>) {
        let mut out = self.buffer();
        let mut path = |r: &mut Reading<'_>, which: PathSetting, setting: &'static str| {
            let expanded = desc.expand_path(which, post_env, &mut out);
            r.note_env(watched);
            match expanded {
                Ok(v) => v.filter(|v| !v.is_empty()).map(<[u8]>::to_vec),
                Err(e) => {
                    let service = r.name.clone();
                    r.error(LoadError::Description {
                        service,
                        shown: None,
                        place: Place::Resolving(setting),
                        message: e.kind.to_string(),
                    });
                    raw_path(desc, which).map(<[u8]>::to_vec)
                }
            }
        };
        let paths = SubstitutedPaths {
            socket: path(r, PathSetting::SocketListen, "socket-listen"),
            logfile: path(r, PathSetting::Logfile, "logfile"),
            working_dir: path(r, PathSetting::WorkingDir, "working-dir"),
            pid_file: path(r, PathSetting::PidFile, "pid-file"),
        };
        let mut command = |r: &mut Reading<'_>, which: CommandSetting, setting: &'static str| {
            let expanded = desc.expand_command(which, post_env, &mut out);
            r.note_env(watched);
            match expanded {
                Ok(Some(tokens)) => {
                    Ok(tokens.iter().filter_map(|t| CString::new(t).ok()).collect())
                }
                Ok(None) => Ok(Vec::new()),
                Err(e) => Err(LoadError::Description {
                    service: r.name.clone(),
                    shown: None,
                    place: Place::Setting(setting),
                    message: e.kind.to_string(),
                }),
            }
        };
        let argv = command(r, CommandSetting::Start, "command");
        let stop_argv = argv
            .as_ref()
            .ok()
            .map(|_| command(r, CommandSetting::Stop, "stop-command"));
        self.recycle(out);
        let commands = match argv {
            Ok(argv) => stop_argv
                .unwrap_or_else(|| Ok(Vec::new()))
                .map(|stop_argv| (argv, stop_argv)),
            Err(e) => Err(e),
        };
        (paths, commands)
    }

    /// Loads `name` and everything it needs into `set` (a no-op returning the existing id if
    /// it is loaded), recording runtime data in `store`. On failure nothing changes.
    pub fn load<const S: usize, const E: usize, const N: usize>(
        &mut self,
        set: &mut ServiceSet<S, E, N>,
        store: &mut impl ServiceStore,
        name: &[u8],
    ) -> Result<ServiceId, LoadError> {
        self.failed_within.clear();
        if let Some(id) = set.find(name) {
            return Ok(id);
        }
        set.begin_load().map_err(engine_error)?;
        let mut added = Vec::new();
        let result = self.load_transaction(set, store, name, &mut added);
        if result.is_err() {
            set.abort_load();
            for id in added {
                store.remove(id);
            }
        }
        store.loaded();
        result
    }

    /// Loads `name` and everything it needs, in one engine transaction, the way Dinit's
    /// recursive loading goes: a service is added when its loading begins (so the set lists
    /// services depth-first, each before its dependencies), and its dependencies are linked
    /// once they have all been loaded (so a dependency's dependents are in the order they
    /// finished loading). The engine walks these lists in that order, which is what makes
    /// services start and stop in Dinit's order.
    fn load_transaction<const S: usize, const E: usize, const N: usize>(
        &mut self,
        set: &mut ServiceSet<S, E, N>,
        store: &mut impl ServiceStore,
        name: &[u8],
        added: &mut Vec<ServiceId>,
    ) -> Result<ServiceId, LoadError> {
        let mut tx = Transaction {
            set,
            store,
            added,
            stack: Vec::new(),
        };
        let root = match self.begin_loading(&mut tx, name, None)? {
            Some(frame) => {
                let id = frame.id;
                tx.stack.push(frame);
                id
            }
            None => {
                return tx.set.find(name).ok_or_else(|| LoadError::NotFound {
                    name: name.to_vec(),
                    needed_by: None,
                })
            }
        };
        while let Some(top) = tx.stack.last_mut() {
            if top.next < top.deps.len() {
                self.visit_dependency(&mut tx)?;
                continue;
            }
            if let Some(target) = top.consumer_of.take() {
                let needed_by = top.name.clone();
                self.load_needed(&mut tx, &target, &needed_by)?;
                continue;
            }
            // Everything it needs is loaded: link it to its dependencies.
            let Some(done) = tx.stack.pop() else { break };
            link_dependencies(tx.set, done)?;
        }
        commit_load(tx.set, name)?;
        Ok(root)
    }

    /// Begins loading `n` (needed by `needed_by`): reads it, adds it to the set and the
    /// store. None if it is loaded (or its loading has begun) already.
    fn begin_loading<const S: usize, const E: usize, const N: usize>(
        &mut self,
        tx: &mut Transaction<'_, S, E, N, impl ServiceStore>,
        n: &[u8],
        needed_by: Option<&[u8]>,
    ) -> Result<Option<Frame>, LoadError> {
        if tx.set.find(n).is_some() {
            return Ok(None);
        }
        let read = match self.read_service(n) {
            Ok(r) => r,
            Err(LoadError::NotFound { name, .. }) => {
                return Err(LoadError::NotFound {
                    name,
                    needed_by: needed_by.map(<[u8]>::to_vec),
                })
            }
            Err(e) => return Err(e),
        };
        let id = tx
            .set
            .insert_service(n, read.config, &read.chain_to)
            .map_err(engine_error)?;
        tx.added.push(id);
        let frame = Frame {
            id,
            name: n.to_vec(),
            deps: read.dependencies.clone(),
            next: 0,
            consumer_of: read.data.extra().consumer_of.clone(),
            edges: Vec::new(),
        };
        tx.store.insert(id, read).map_err(|e| LoadError::Load {
            service: n.to_vec(),
            message: e.to_string(),
        })?;
        Ok(Some(frame))
    }

    /// Begins loading `n`, needed by `needed_by`, on top of the stack; on failure, records
    /// the services whose loading was under way.
    fn load_needed<const S: usize, const E: usize, const N: usize>(
        &mut self,
        tx: &mut Transaction<'_, S, E, N, impl ServiceStore>,
        n: &[u8],
        needed_by: &[u8],
    ) -> Result<(), LoadError> {
        match self.begin_loading(tx, n, Some(needed_by)) {
            Ok(Some(frame)) => tx.stack.push(frame),
            Ok(None) => {}
            Err(e) => {
                self.failed_within = tx.stack.iter().rev().map(|f| f.name.clone()).collect();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Visits the next declared dependency of the service on top of the stack: records the
    /// edge, and begins loading the dependency if it is not loaded. Fails on a cycle.
    fn visit_dependency<const S: usize, const E: usize, const N: usize>(
        &mut self,
        tx: &mut Transaction<'_, S, E, N, impl ServiceStore>,
    ) -> Result<(), LoadError> {
        let Some(top) = tx.stack.last_mut() else {
            return Ok(());
        };
        let Some(dep) = top.deps.get(top.next).cloned() else {
            return Ok(());
        };
        top.next += 1;
        let loaded = tx.set.find(&dep.name).is_some();
        if let Some(dir) = dep.from_dir.as_ref().filter(|_| !loaded) {
            if !self.has_description(&dep.name) {
                // "Failure ... to find any of the services named within, is not considered
                // fatal" (dinit-service(5), depends-on.d).
                self.warnings.push(Warning {
                    service: top.name.clone(),
                    message: format!(
                        "Ignoring unresolved dependency '{}' in dependency directory '{}' for \
                         {} service.",
                        show(&dep.name),
                        show(dir),
                        show(&top.name)
                    ),
                });
                return Ok(());
            }
        }
        top.edges.push((dep.name.clone(), dep.kind));
        let needed_by = top.name.clone();
        if dep.kind.is_ordering() {
            if dep.kind == DepKind::After
                && dep.name != needed_by
                && tx.stack.iter().rev().skip(1).any(|f| f.name == dep.name)
            {
                // To start after a service whose loading is under way, which needs this one:
                // a cycle, and Dinit names this service. (`before` such a service only
                // repeats what the dependency says.)
                self.failed_within = tx
                    .stack
                    .iter()
                    .rev()
                    .skip(1)
                    .map(|f| f.name.clone())
                    .collect();
                return Err(LoadError::Cycle {
                    services: vec![needed_by],
                    through: Vec::new(),
                });
            }
            return Ok(());
        }
        if tx.stack.iter().any(|f| f.name == dep.name) {
            // Needed while its own loading is under way: a cycle, found where Dinit finds it
            // (its cycles through before/after are found when committing).
            self.failed_within = tx.stack.iter().rev().map(|f| f.name.clone()).collect();
            return Err(LoadError::Cycle {
                services: vec![dep.name],
                through: Vec::new(),
            });
        }
        if !loaded {
            self.load_needed(tx, &dep.name, &needed_by)?;
        }
        Ok(())
    }
}

/// A load under way (see [`Loader::load_transaction`]): the engine's set, the runtime data,
/// the services added so far (removed again if it fails), and the services whose loading has
/// begun and not finished, innermost last.
struct Transaction<'t, const S: usize, const E: usize, const N: usize, St> {
    set: &'t mut ServiceSet<S, E, N>,
    store: &'t mut St,
    added: &'t mut Vec<ServiceId>,
    stack: Vec<Frame>,
}

/// A service whose loading has begun: its declared dependencies (and consumer-of target) are
/// visited one by one; then its edges are added.
struct Frame {
    id: ServiceId,
    name: Vec<u8>,
    deps: Vec<DeclaredDependency>,
    /// The next dependency to visit; `deps.len()` is the consumer-of target.
    next: usize,
    consumer_of: Option<Vec<u8>>,
    /// The dependencies to link (unresolved ones from a `.d` folder are left out).
    edges: Vec<(Vec<u8>, DepKind)>,
}

/// Links a service whose dependencies are all loaded to them (an ordering to a placeholder if
/// the service it names is not loaded).
fn link_dependencies<const S: usize, const E: usize, const N: usize>(
    set: &mut ServiceSet<S, E, N>,
    done: Frame,
) -> Result<(), LoadError> {
    for (to_name, kind) in done.edges {
        let to = if kind.is_ordering() {
            set.placeholder(&to_name).map_err(engine_error)?
        } else {
            set.find(&to_name).ok_or_else(|| LoadError::NotFound {
                name: to_name.clone(),
                needed_by: Some(done.name.clone()),
            })?
        };
        set.add_dependency(done.id, to, kind).map_err(|e| match e {
            EngineLoadError::SelfDependency(_) => LoadError::Cycle {
                services: vec![to_name.clone()],
                through: Vec::new(),
            },
            other => engine_error(other),
        })?;
    }
    Ok(())
}

/// Commits the load of `name`: a cycle found only now (through before/after) is named by the
/// service asked for, as Dinit names the service whose loading found it, and shown whole.
fn commit_load<const S: usize, const E: usize, const N: usize>(
    set: &mut ServiceSet<S, E, N>,
    name: &[u8],
) -> Result<(), LoadError> {
    match set.commit_load() {
        Ok(()) => Ok(()),
        Err(EngineLoadError::Cycle(cycle)) => {
            let mut through: Vec<Vec<u8>> = set
                .cycle_members(&cycle)
                .map(|id| set.name(id).map(<[u8]>::to_vec).unwrap_or_default())
                .collect();
            through.reverse();
            Err(LoadError::Cycle {
                services: vec![name.to_vec()],
                through,
            })
        }
        Err(e) => Err(engine_error(e)),
    }
}

fn engine_error(e: EngineLoadError) -> LoadError {
    match e {
        EngineLoadError::Capacity(c) => LoadError::Capacity(c),
        other => LoadError::Load {
            service: Vec::new(),
            message: format!("internal load error: {other:?}"),
        },
    }
}

/// Reads an open description file (or included file) whole. On failure, the error goes to
/// `diags` and the load fails, as in Dinit.
fn read_all(
    file: &mut std::fs::File,
    service: &[u8],
    shown: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<u8>, LoadError> {
    let mut text = Vec::new();
    match file.read_to_end(&mut text) {
        Ok(_) => Ok(text),
        Err(error) => {
            diags.push(Diagnostic::Error(LoadError::Read {
                service: service.to_vec(),
                error,
            }));
            Err(LoadError::Load {
                service: service.to_vec(),
                message: format!(
                    "{}: error while reading service description",
                    shown.display()
                ),
            })
        }
    }
}

/// The name of a setting, as written in descriptions.
fn setting_name(setting: &Setting<'_>) -> &'static str {
    setting.key().map_or("", SettingKey::name)
}

/// A user named by `run-as`, `socket-uid` or `logfile-uid` must exist when the description
/// is read.
fn lookup_user(setting: &'static str, name: &[u8]) -> Result<(), DescErrorKind> {
    crate::users::user_by_name(name)
        .map(|_| ())
        .map_err(|_| DescErrorKind::UnknownUser {
            setting,
            name: Snippet::new(name),
        })
}

/// A group named by `socket-gid` or `logfile-gid` must exist when the description is read.
fn lookup_group(setting: &'static str, name: &[u8]) -> Result<(), DescErrorKind> {
    let unknown = DescErrorKind::UnknownGroup {
        setting,
        name: Snippet::new(name),
    };
    let text = std::str::from_utf8(name).map_err(|_| unknown)?;
    crate::spawn::resolve_group(text)
        .map(|_| ())
        .map_err(|_| unknown)
}

/// The user whose variables `export-passwd-vars` exports could not be looked up.
#[derive(Debug)]
struct PasswdVarsError {
    uid: u32,
    cause: crate::users::LookupError,
}

impl std::fmt::Display for PasswdVarsError {
    /// Dinit's words.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            crate::users::LookupError::NotFound => write!(
                f,
                "user id '{}' does not exist in system database",
                self.uid
            ),
            crate::users::LookupError::Io(e) => {
                write!(f, "error accessing user database: {}", strerror(e))
            }
        }
    }
}

/// `load-options = export-passwd-vars`: USER, LOGNAME, HOME, SHELL, UID and GID of the
/// `run-as` user, or of the user dinit runs as.
fn export_passwd_vars(desc: &Desc, env: &mut EnvOps) -> Result<(), PasswdVarsError> {
    let uid = match desc.run_as() {
        Some(IdSpec::Numeric(uid)) => uid,
        Some(IdSpec::Name(user)) => crate::users::user_by_name(user)
            .map(|u| u.uid)
            .unwrap_or_else(|_| rustix::process::geteuid().as_raw()),
        None => rustix::process::geteuid().as_raw(),
    };
    let entry = crate::users::user_by_uid(uid).map_err(|cause| PasswdVarsError { uid, cause })?;
    env.push_set(b"USER", &entry.name);
    env.push_set(b"LOGNAME", &entry.name);
    env.push_set(b"HOME", &entry.home);
    env.push_set(b"SHELL", &entry.shell);
    env.push_set(b"UID", entry.uid.to_string().as_bytes());
    env.push_set(b"GID", entry.gid.to_string().as_bytes());
    Ok(())
}

/// dinit-check's lint: settings that the service's type ignores, and `logfile` against
/// `log-type` (Dinit's checks and words, in its order).
fn lint(r: &mut Reading<'_>, desc: &Desc) {
    const IGNORED: &str = "specified, but ignored for the specified (or default) service type.";
    if matches!(desc.kind(), ServiceKind::Internal | ServiceKind::Triggered) {
        let options = desc.config().options;
        let checks: [(bool, &str); 10] = [
            (desc.command().is_some(), "'command'"),
            (desc.stop_command().is_some(), "'stop-command'"),
            (desc.working_dir().is_some(), "'working-dir'"),
            (desc.run_in_cgroup().is_some(), "'run-in-cgroup'"),
            (desc.capabilities().is_some(), "'capabilities'"),
            (
                desc.securebits().is_some_and(|b| b.bits() != 0),
                "'securebits'",
            ),
            (desc.run_as().is_some(), "'run-as'"),
            (desc.socket_listen().is_some(), "'socket-listen'"),
            (
                desc.inittab_id().is_some() || desc.inittab_line().is_some(),
                "'inittab_line' or 'inittab_id'",
            ),
            (
                options.contains(Options::SIGNAL_PROCESS_ONLY)
                    || options.contains(Options::START_INTERRUPTIBLE),
                "signal options were",
            ),
        ];
        for (present, what) in checks {
            if present {
                r.lint(&format!("{what} {IGNORED}"));
            }
        }
        let checks: [(bool, &str); 7] = [
            (options.contains(Options::PASS_CS_FD), "pass_cs_fd"),
            (options.contains(Options::SKIPPABLE), "skippable"),
            (options.contains(Options::NO_NEW_PRIVS), "no_new_privs"),
            (desc.log_type() != LogType::None, "log_type"),
            (desc.nice().is_some() || r.nice_given, "nice"),
            (desc.ioprio().is_some(), "ioprio"),
            (
                desc.oom_score_adj().is_some() || r.oom_given,
                "oom-score-adj",
            ),
        ];
        for (present, option) in checks {
            if present {
                r.lint(&format!(
                    "option '{option}' was specified, but ignored for the specified (or default) \
                     service type."
                ));
            }
        }
    }
    let log_type = desc.log_type();
    if log_type != LogType::File && desc.logfile().is_some() {
        r.lint("option 'logfile' was specified, but selected log type is not 'file'");
    }
    if log_type == LogType::File && desc.logfile().is_none() {
        r.lint("option 'logfile' not set, but selected log type is 'file'");
    }
}

/// The setting dinit's log names with an error at a line: Dinit names it for the errors about
/// a setting's value as a whole, not for the errors of its syntax or numbers. (For the
/// permission settings, Dinit's two texts are swapped: the setting is the message.)
fn logged_setting(e: &DescError) -> Option<&'static str> {
    use DescErrorKind as K;
    match e.kind {
        K::OwnConsumer => Some("consumer-of"),
        K::InvalidPermissions { .. } => Some("badly-formed or out-of-range numeric value"),
        K::InvalidDependencyName { .. }
        | K::InvalidServiceName { .. }
        | K::InvalidChainTo { .. }
        | K::InvalidIoprio { .. }
        | K::InvalidLogType
        | K::InvalidLogBufferKeep
        | K::InvalidSize
        | K::InvalidRestart
        | K::InvalidSmoothRecovery
        | K::InvalidType
        | K::UnknownOption { .. }
        | K::UnknownLoadOption { .. }
        | K::UnknownSignal { .. }
        | K::InvalidPipevar
        | K::InvalidReadyNotification { .. }
        | K::InvalidCapabilities { .. }
        | K::UnknownSecurebit { .. } => e.setting.map(SettingKey::name),
        _ => None,
    }
}

/// A post-load path setting as written (kept when it cannot be substituted).
fn raw_path(desc: &Desc, which: PathSetting) -> Option<&[u8]> {
    match which {
        PathSetting::WorkingDir => desc.working_dir(),
        PathSetting::PidFile => desc.pid_file(),
        PathSetting::SocketListen => desc.socket_listen(),
        PathSetting::Logfile => desc.logfile(),
    }
}
