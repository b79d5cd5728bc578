//! What the runtime keeps for each loaded service beside the engine's record and its launch
//! specifications: the rest of its description (paths, credentials, environment, logging and
//! process settings), resolved at load time. The commands and declared dependencies are read
//! into [`crate::load::ReadService`] and consumed when the service is prepared.

use crate::environ::EnvOps;
use dinit_core::desc::{
    IdSpec, Ioprio, LoadOptions, LogBufferKeep, LogType, Resource, Rlimit, Securebits,
};
use dinit_core::DepKind;
use std::path::{Path, PathBuf};

/// A user or group given by name or number, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Id {
    /// A name, looked up in the user or group database.
    Name(Vec<u8>),
    /// A numeric id.
    Number(u32),
}

impl From<IdSpec<'_>> for Id {
    fn from(spec: IdSpec<'_>) -> Self {
        match spec {
            IdSpec::Name(n) => Id::Name(n.to_vec()),
            IdSpec::Numeric(n) => Id::Number(n),
        }
    }
}

/// `ready-notification`, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// `pipefd:N`.
    PipeFd(i32),
    /// `pipevar:NAME`.
    PipeVar(Vec<u8>),
}

/// `socket-listen` and its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivationSocket {
    /// The socket path (substituted, resolved against the service directory).
    pub path: PathBuf,
    /// `socket-permissions`.
    pub permissions: u32,
    /// `socket-uid`.
    pub uid: Option<Id>,
    /// `socket-gid`.
    pub gid: Option<Id>,
}

/// Logging settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// `log-type`.
    pub log_type: LogType,
    /// `logfile` (substituted, resolved against the service directory).
    pub file: Option<PathBuf>,
    /// `logfile-permissions`.
    pub permissions: u32,
    /// `logfile-uid`.
    pub uid: Option<Id>,
    /// `logfile-gid`.
    pub gid: Option<Id>,
    /// `log-buffer-size`.
    pub buffer_size: Option<u32>,
    /// `log-buffer-keep` (a dinit-rs extension).
    pub buffer_keep: LogBufferKeep,
    /// `logfile-max-size` (a dinit-rs extension): the daemon writes the file and rotates it.
    pub max_size: Option<u64>,
    /// `logfile-rotate` (a dinit-rs extension).
    pub rotate: Option<u8>,
}

impl LogSettings {
    /// No logging settings: what a description without any has.
    pub const NONE: LogSettings = LogSettings {
        log_type: LogType::None,
        file: None,
        permissions: dinit_core::desc::description::DEFAULT_LOGFILE_PERMISSIONS,
        uid: None,
        gid: None,
        buffer_size: None,
        buffer_keep: LogBufferKeep::Oldest,
        max_size: None,
        rotate: None,
    };
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings::NONE
    }
}

/// A dependency as the description declared it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredDependency {
    /// Its kind.
    pub kind: DepKind,
    /// The service named (after pre-load substitution).
    pub name: Vec<u8>,
    /// The `.d` directory it was found in (as the setting names it): a name there without a
    /// description is skipped, not an error.
    pub from_dir: Option<Vec<u8>>,
}

/// Everything the runtime keeps about one loaded service once it is loaded. What the engine
/// was given ([`ReadService::config`](crate::load::ReadService::config)) lives on in the
/// engine, and the description's path is needed only while loading: neither is kept here,
/// since every loaded service carries this record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceData {
    /// Full name (`base@argument`).
    pub name: Box<[u8]>,
    /// Which of the service directories it came from (an index into the loader's list;
    /// the directory as configured is the protocol's `SVCDSCDIR`).
    pub dir_index: u16,
    /// Modification time of the description file when loaded: (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// `working-dir`, if it is not the directory of the description file (see
    /// [`ServiceData::working_dir`]).
    pub working_dir: Option<Box<Path>>,
    /// The settings few services use, out of line (`None` when all are unset); read them
    /// through [`ServiceData::extra`].
    pub extra: Option<Box<Extra>>,
    /// `load-options`.
    pub load_options: LoadOptions,
}

/// The settings of a service that most services leave unset, kept out of line so that a
/// typical service record stays small (see [`ServiceData::extra`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Extra {
    /// The service's own environment: its `env-file` plus the `load-options` variables,
    /// applied over the global environment at each launch.
    pub env: EnvOps,
    /// Logging (`log-type` and the `logfile` settings; [`LogSettings::NONE`] when unset).
    pub log: LogSettings,
    /// `run-as`.
    pub run_as: Option<Id>,
    /// `pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `socket-listen` and friends.
    pub socket: Option<ActivationSocket>,
    /// `consumer-of`.
    pub consumer_of: Option<Vec<u8>>,
    /// `ready-notification`.
    pub readiness: Option<Readiness>,
    /// `rlimit-*`.
    pub rlimits: Vec<(Resource, Rlimit)>,
    /// `nice`.
    pub nice: Option<i32>,
    /// `ioprio`.
    pub ioprio: Option<Ioprio>,
    /// `oom-score-adj`.
    pub oom_score_adj: Option<i16>,
    /// `run-in-cgroup`.
    pub cgroup: Option<PathBuf>,
    /// `capabilities` (IAB text).
    pub capabilities: Option<Vec<u8>>,
    /// `securebits`.
    pub securebits: Option<Securebits>,
    /// `inittab-id`.
    pub inittab_id: Option<Vec<u8>>,
    /// `inittab-line`.
    pub inittab_line: Option<Vec<u8>>,
    /// `@meta enable-via`.
    pub enable_via: Option<Vec<u8>>,
    /// `waits-for.d` directories (resolved), used by `dinitctl enable`/`disable`.
    pub waits_for_dirs: Vec<PathBuf>,
}

/// What a service without any of the [`Extra`] settings reads.
static NO_EXTRA: Extra = Extra::NONE;

impl Extra {
    /// Every setting unset.
    pub const NONE: Extra = Extra {
        env: EnvOps::NONE,
        log: LogSettings::NONE,
        run_as: None,
        pid_file: None,
        socket: None,
        consumer_of: None,
        readiness: None,
        rlimits: Vec::new(),
        nice: None,
        ioprio: None,
        oom_score_adj: None,
        cgroup: None,
        capabilities: None,
        securebits: None,
        inittab_id: None,
        inittab_line: None,
        enable_via: None,
        waits_for_dirs: Vec::new(),
    };

    /// `None` when every setting is unset (nothing to keep), else the boxed settings.
    pub fn boxed(self) -> Option<Box<Extra>> {
        (self != Extra::NONE).then(|| Box::new(self))
    }
}

impl ServiceData {
    /// The settings most services leave unset (all unset when there are none).
    pub fn extra(&self) -> &Extra {
        self.extra.as_deref().unwrap_or(&NO_EXTRA)
    }

    /// Logging settings.
    pub fn log(&self) -> &LogSettings {
        &self.extra().log
    }

    /// The directory the service's commands run in: `working-dir`, or `description_dir`, the
    /// directory of the description file (which only the load needs, so is not kept).
    pub fn working_dir<'a>(&'a self, description_dir: &'a Path) -> &'a Path {
        match &self.working_dir {
            Some(dir) => dir,
            None => description_dir,
        }
    }
}
