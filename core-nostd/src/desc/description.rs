//! The assembled description: the final state of every setting once a description file and
//! its fragments have been parsed, in bounded storage.
//!
//! Semantics (dinit-service(5) "SERVICE PROPERTIES"):
//!
//! * Most settings override earlier ones.
//! * Dependencies (`depends-on`, `prepared-by`, `depends-ms`, `waits-for`, `before`, `after`
//!   and the `.d` directories), `options` and `load-options` are additive. A dependency listed
//!   twice with the same kind is kept once.
//! * `command +=` and `stop-command +=` append arguments; without an earlier value they simply
//!   set it (as in Dinit). `capabilities +=` joins with a comma and `securebits +=` adds flags;
//!   without an earlier `=` they simply set the value.
//! * An empty value of a string setting (`command`, `working-dir`, `logfile`, `env-file`, ...)
//!   leaves it unset, as if it were not given.
//! * The type defaults to `internal`.
//! * A non-empty `logfile` switches `log-type` from `none` (the default) to `file`; a later
//!   `log-type` overrides that.
//! * The console options exclude each other in the order given.
//! * An `rlimit-*` setting replaces the whole earlier `soft:hard` pair of its resource.
//!
//! The engine's part is kept in a [`ServiceConfig`]; everything else is exposed through
//! accessors. Strings live in a `BYTES`-byte arena: overridden values become garbage that is
//! compacted away when space runs out, so the bound is on the live data. At most `DEPS`
//! dependencies and dependency directories are kept. Exceeding either bound is an error.
//!
//! Post-load substitution cannot happen while parsing (the service's env-file has not been
//! read yet), so `command`, `stop-command`, `working-dir`, `pid-file`, `socket-listen` and
//! `logfile` are stored as written; [`Description::expand_command`] and
//! [`Description::expand_path`] expand them into caller buffers once the environment is known.
//!
//! A loader that resolves `@include` numbers its fragments and calls
//! [`Description::set_fragment`] before parsing each one; every dependency, dependency
//! directory and post-load value remembers its [`Origin`], so that relative `.d` paths can be
//! resolved against the right directory and errors can name the right file.

use core::fmt;

use super::error::{DescError, DescErrorKind};
use super::parser::{parse, DescriptionSink};
use super::setting::{
    IdSpec, Ioprio, LoadOptions, LogBufferKeep, LogType, Op, ReadyNotification, Resource, Rlimit,
    Securebits, Setting,
};
use super::subst::{expand_command, expand_value, SubstEnv};
use super::tokens::Tokens;
use crate::config::ServiceConfig;
use crate::types::{DepKind, ServiceKind};

/// Default string storage of [`DefaultDescription`], in bytes.
pub const DEFAULT_DESC_BYTES: usize = 16 * 1024;
/// Default dependency capacity of [`DefaultDescription`].
pub const DEFAULT_DESC_DEPS: usize = 256;

/// A description with the default bounds (16 KiB of strings, 256 dependencies).
pub type DefaultDescription = Description<DEFAULT_DESC_BYTES, DEFAULT_DESC_DEPS>;

/// Where a value was set.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Origin {
    /// The fragment, as numbered by the caller (0 for the top-level file by convention).
    pub fragment: u16,
    /// The line, counting from 1.
    pub line: u32,
}

/// A dependency on a named service.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Dependency<'a> {
    /// The relationship: `depends-on` is [`DepKind::Regular`], `before` is [`DepKind::Before`]
    /// (an ordering this service imposes on the named one), and so on.
    pub kind: DepKind,
    /// The service named.
    pub name: &'a [u8],
    /// Where it was set.
    pub origin: Origin,
}

/// A `depends-on.d`, `depends-ms.d` or `waits-for.d` directory.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DependencyDir<'a> {
    /// The relationship for each service named in it.
    pub kind: DepKind,
    /// The path as written (after pre-load substitution); relative to the directory of the
    /// fragment `origin.fragment` unless absolute.
    pub path: &'a [u8],
    /// Where it was set.
    pub origin: Origin,
}

/// Which command to expand.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CommandSetting {
    /// `command`.
    Start,
    /// `stop-command`.
    Stop,
}

/// Which post-load path to expand.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PathSetting {
    /// `working-dir`.
    WorkingDir,
    /// `pid-file`.
    PidFile,
    /// `socket-listen`.
    SocketListen,
    /// `logfile`.
    Logfile,
}

/// A string in the arena.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
struct Span {
    off: usize,
    len: usize,
}

/// The string fields, as indices into `strs`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Command,
    StopCommand,
    WorkingDir,
    RunAsName,
    EnvFile,
    PidFile,
    ChainTo,
    SocketListen,
    SocketUidName,
    SocketGidName,
    ReadyVar,
    Logfile,
    LogfileUidName,
    LogfileGidName,
    ConsumerOf,
    InittabId,
    InittabLine,
    RunInCgroup,
    Capabilities,
    EnableVia,
}

const FIELDS: usize = 20;

/// An id as stored: a number, or a name in a string field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum StoredId {
    Numeric(u32),
    Name,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum StoredReady {
    PipeFd(i32),
    PipeVar,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct DepSlot {
    kind: DepKind,
    dir: bool,
    span: Span,
    origin: Origin,
}

/// A service description assembled from its settings, with `BYTES` bytes of string storage
/// and room for `DEPS` dependencies (dependency directories included).
///
/// Build it with [`Description::load`] (a file without `@include`) or by passing it as the
/// sink to [`parse`] (a loader's own sink can forward settings to [`Description::apply`]).
pub struct Description<const BYTES: usize, const DEPS: usize> {
    config: ServiceConfig,
    type_specified: bool,
    fragment: u16,
    /// String storage: the strings of `strs` and `deps`, and garbage from overridden values
    /// until `compact` reclaims it.
    bytes: heapless::Vec<u8, BYTES>,
    strs: [Option<Span>; FIELDS],
    origins: [Origin; FIELDS],
    deps: heapless::Vec<DepSlot, DEPS>,
    run_as: Option<StoredId>,
    socket_uid: Option<StoredId>,
    socket_gid: Option<StoredId>,
    logfile_uid: Option<StoredId>,
    logfile_gid: Option<StoredId>,
    ready: Option<StoredReady>,
    socket_permissions: u32,
    logfile_permissions: u32,
    log_type: LogType,
    log_buffer_size: Option<u32>,
    log_buffer_keep: LogBufferKeep,
    logfile_max_size: Option<u64>,
    logfile_rotate: Option<u8>,
    load_options: LoadOptions,
    rlimits: [Option<Rlimit>; 4],
    nice: Option<i32>,
    securebits: Option<Securebits>,
    ioprio: Option<Ioprio>,
    oom_score_adj: Option<i16>,
}

impl<const BYTES: usize, const DEPS: usize> fmt::Debug for Description<BYTES, DEPS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Description")
            .field("config", &self.config)
            .field("command", &self.command())
            .field("stop_command", &self.stop_command())
            .field("dependencies", &self.deps.len())
            .field("bytes_used", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl<const BYTES: usize, const DEPS: usize> Default for Description<BYTES, DEPS> {
    fn default() -> Self {
        Self::new()
    }
}

/// The default `type` when a description does not set one.
pub const DEFAULT_KIND: ServiceKind = ServiceKind::Internal;
/// The default `socket-permissions`.
pub const DEFAULT_SOCKET_PERMISSIONS: u32 = 0o666;
/// The default `logfile-permissions`.
pub const DEFAULT_LOGFILE_PERMISSIONS: u32 = 0o600;

impl<const BYTES: usize, const DEPS: usize> Description<BYTES, DEPS> {
    /// An empty description: every setting at its documented default.
    pub const fn new() -> Self {
        Description {
            config: ServiceConfig::new(DEFAULT_KIND),
            type_specified: false,
            fragment: 0,
            bytes: heapless::Vec::new(),
            strs: [None; FIELDS],
            origins: [Origin {
                fragment: 0,
                line: 0,
            }; FIELDS],
            deps: heapless::Vec::new(),
            run_as: None,
            socket_uid: None,
            socket_gid: None,
            logfile_uid: None,
            logfile_gid: None,
            ready: None,
            socket_permissions: DEFAULT_SOCKET_PERMISSIONS,
            logfile_permissions: DEFAULT_LOGFILE_PERMISSIONS,
            log_type: LogType::None,
            log_buffer_size: None,
            log_buffer_keep: LogBufferKeep::Oldest,
            logfile_max_size: None,
            logfile_rotate: None,
            load_options: LoadOptions::empty(),
            rlimits: [None; 4],
            nice: None,
            securebits: None,
            ioprio: None,
            oom_score_adj: None,
        }
    }

    /// Back to the state of [`Description::new`], reusing the storage (without building a
    /// second copy of it on the stack).
    pub fn reset(&mut self) {
        self.config = ServiceConfig::new(DEFAULT_KIND);
        self.type_specified = false;
        self.fragment = 0;
        self.bytes.clear();
        self.strs = [None; FIELDS];
        self.origins = [Origin::default(); FIELDS];
        self.deps.clear();
        self.run_as = None;
        self.socket_uid = None;
        self.socket_gid = None;
        self.logfile_uid = None;
        self.logfile_gid = None;
        self.ready = None;
        self.socket_permissions = DEFAULT_SOCKET_PERMISSIONS;
        self.logfile_permissions = DEFAULT_LOGFILE_PERMISSIONS;
        self.log_type = LogType::None;
        self.log_buffer_size = None;
        self.log_buffer_keep = LogBufferKeep::Oldest;
        self.logfile_max_size = None;
        self.logfile_rotate = None;
        self.load_options = LoadOptions::empty();
        self.rlimits = [None; 4];
        self.nice = None;
        self.securebits = None;
        self.ioprio = None;
        self.oom_score_adj = None;
    }

    /// Parses `input`, a whole description without `@include` (which is refused), into this
    /// description. `env` and `scratch` are as for [`parse`].
    pub fn load(
        &mut self,
        input: &[u8],
        env: &SubstEnv<'_>,
        scratch: &mut [u8],
    ) -> Result<(), DescError> {
        parse(input, env, scratch, self)
    }

    /// Sets the fragment number recorded with the values of following settings.
    pub fn set_fragment(&mut self, fragment: u16) {
        self.fragment = fragment;
    }

    /// The fragment number set by [`Description::set_fragment`].
    pub fn fragment(&self) -> u16 {
        self.fragment
    }

    // ----- accessors -----

    /// The engine's view: type, options, restart behaviour, timeouts, term signal, whether a
    /// stop command and ready notification are set.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The service type.
    pub fn kind(&self) -> ServiceKind {
        self.config.kind
    }

    /// True if a `type` setting was given (else the type is [`DEFAULT_KIND`]).
    pub fn type_specified(&self) -> bool {
        self.type_specified
    }

    fn span_bytes(&self, span: Span) -> &[u8] {
        match span.off.checked_add(span.len) {
            Some(end) => self.bytes.get(span.off..end).unwrap_or(&[]),
            None => &[],
        }
    }

    fn field(&self, f: Field) -> Option<&[u8]> {
        self.strs
            .get(f as usize)
            .copied()
            .flatten()
            .map(|s| self.span_bytes(s))
    }

    fn field_origin(&self, f: Field) -> Origin {
        self.origins.get(f as usize).copied().unwrap_or_default()
    }

    fn id(&self, stored: Option<StoredId>, name: Field) -> Option<IdSpec<'_>> {
        match stored? {
            StoredId::Numeric(n) => Some(IdSpec::Numeric(n)),
            StoredId::Name => self.field(name).map(IdSpec::Name),
        }
    }

    /// `command` as written (before post-load substitution).
    pub fn command(&self) -> Option<Tokens<'_>> {
        self.field(Field::Command).map(Tokens::from_writer)
    }

    /// `stop-command` as written (before post-load substitution).
    pub fn stop_command(&self) -> Option<Tokens<'_>> {
        self.field(Field::StopCommand).map(Tokens::from_writer)
    }

    /// `working-dir` as written (before post-load substitution).
    pub fn working_dir(&self) -> Option<&[u8]> {
        self.field(Field::WorkingDir)
    }

    /// `run-as`.
    pub fn run_as(&self) -> Option<IdSpec<'_>> {
        self.id(self.run_as, Field::RunAsName)
    }

    /// `env-file` (pre-load substituted).
    pub fn env_file(&self) -> Option<&[u8]> {
        self.field(Field::EnvFile)
    }

    /// `pid-file` as written (before post-load substitution).
    pub fn pid_file(&self) -> Option<&[u8]> {
        self.field(Field::PidFile)
    }

    /// `chain-to` (pre-load substituted).
    pub fn chain_to(&self) -> Option<&[u8]> {
        self.field(Field::ChainTo)
    }

    /// `socket-listen` as written (before post-load substitution).
    pub fn socket_listen(&self) -> Option<&[u8]> {
        self.field(Field::SocketListen)
    }

    /// `socket-permissions` (default 666 octal).
    pub fn socket_permissions(&self) -> u32 {
        self.socket_permissions
    }

    /// `socket-uid`.
    pub fn socket_uid(&self) -> Option<IdSpec<'_>> {
        self.id(self.socket_uid, Field::SocketUidName)
    }

    /// `socket-gid`.
    pub fn socket_gid(&self) -> Option<IdSpec<'_>> {
        self.id(self.socket_gid, Field::SocketGidName)
    }

    /// `ready-notification`.
    pub fn ready_notification(&self) -> Option<ReadyNotification<'_>> {
        match self.ready? {
            StoredReady::PipeFd(fd) => Some(ReadyNotification::PipeFd(fd)),
            StoredReady::PipeVar => self.field(Field::ReadyVar).map(ReadyNotification::PipeVar),
        }
    }

    /// `log-type`, after the `logfile` rule.
    pub fn log_type(&self) -> LogType {
        self.log_type
    }

    /// `logfile` as written (before post-load substitution).
    pub fn logfile(&self) -> Option<&[u8]> {
        self.field(Field::Logfile)
    }

    /// `logfile-permissions` (default 600 octal).
    pub fn logfile_permissions(&self) -> u32 {
        self.logfile_permissions
    }

    /// `logfile-uid`.
    pub fn logfile_uid(&self) -> Option<IdSpec<'_>> {
        self.id(self.logfile_uid, Field::LogfileUidName)
    }

    /// `logfile-gid`.
    pub fn logfile_gid(&self) -> Option<IdSpec<'_>> {
        self.id(self.logfile_gid, Field::LogfileGidName)
    }

    /// `log-buffer-size`, if set (the runtime picks the default).
    pub fn log_buffer_size(&self) -> Option<u32> {
        self.log_buffer_size
    }

    /// `logfile-max-size` in bytes, if set (a dinit-rs extension).
    pub fn logfile_max_size(&self) -> Option<u64> {
        self.logfile_max_size
    }

    /// `logfile-rotate`, if set (a dinit-rs extension; the runtime keeps one file unless set).
    pub fn logfile_rotate(&self) -> Option<u8> {
        self.logfile_rotate
    }

    /// `log-buffer-keep` (a dinit-rs extension; `oldest` unless set).
    pub fn log_buffer_keep(&self) -> LogBufferKeep {
        self.log_buffer_keep
    }

    /// `consumer-of` (pre-load substituted).
    pub fn consumer_of(&self) -> Option<&[u8]> {
        self.field(Field::ConsumerOf)
    }

    /// `load-options`.
    pub fn load_options(&self) -> LoadOptions {
        self.load_options
    }

    /// `inittab-id`.
    pub fn inittab_id(&self) -> Option<&[u8]> {
        self.field(Field::InittabId)
    }

    /// `inittab-line`.
    pub fn inittab_line(&self) -> Option<&[u8]> {
        self.field(Field::InittabLine)
    }

    /// The `rlimit-*` setting of `resource`.
    pub fn rlimit(&self, resource: Resource) -> Option<Rlimit> {
        self.rlimits.get(resource as usize).copied().flatten()
    }

    /// Every `rlimit-*` setting given.
    pub fn rlimits(&self) -> impl Iterator<Item = (Resource, Rlimit)> + '_ {
        Resource::ALL
            .into_iter()
            .filter_map(|r| self.rlimit(r).map(|l| (r, l)))
    }

    /// `nice`.
    pub fn nice(&self) -> Option<i32> {
        self.nice
    }

    /// `run-in-cgroup`.
    pub fn run_in_cgroup(&self) -> Option<&[u8]> {
        self.field(Field::RunInCgroup)
    }

    /// `capabilities` (with `+=` addenda joined by commas).
    pub fn capabilities(&self) -> Option<&[u8]> {
        self.field(Field::Capabilities)
    }

    /// `securebits`.
    pub fn securebits(&self) -> Option<Securebits> {
        self.securebits
    }

    /// `ioprio`.
    pub fn ioprio(&self) -> Option<Ioprio> {
        self.ioprio
    }

    /// `oom-score-adj`.
    pub fn oom_score_adj(&self) -> Option<i16> {
        self.oom_score_adj
    }

    /// `@meta enable-via`.
    pub fn enable_via(&self) -> Option<&[u8]> {
        self.field(Field::EnableVia)
    }

    fn dep_slots(&self) -> impl Iterator<Item = &DepSlot> + '_ {
        self.deps.iter()
    }

    /// The named dependencies (`depends-on`, `prepared-by`, `depends-ms`, `waits-for`,
    /// `before`, `after`), in the order given.
    pub fn dependencies(&self) -> impl Iterator<Item = Dependency<'_>> + '_ {
        self.dep_slots().filter(|d| !d.dir).map(|d| Dependency {
            kind: d.kind,
            name: self.span_bytes(d.span),
            origin: d.origin,
        })
    }

    /// The dependency directories (`depends-on.d`, `depends-ms.d`, `waits-for.d`), in the
    /// order given.
    pub fn dependency_dirs(&self) -> impl Iterator<Item = DependencyDir<'_>> + '_ {
        self.dep_slots().filter(|d| d.dir).map(|d| DependencyDir {
            kind: d.kind,
            path: self.span_bytes(d.span),
            origin: d.origin,
        })
    }

    /// Where the command or stop command was (last) set.
    pub fn command_origin(&self, which: CommandSetting) -> Option<Origin> {
        let f = command_field(which);
        self.field(f).map(|_| self.field_origin(f))
    }

    /// Where a post-load path was set.
    pub fn path_origin(&self, which: PathSetting) -> Option<Origin> {
        let f = path_field(which);
        self.field(f).map(|_| self.field_origin(f))
    }

    /// Bytes of string storage in use (garbage from overridden values included).
    pub fn bytes_used(&self) -> usize {
        self.bytes.len()
    }

    // ----- post-load substitution -----

    /// Expands `command` or `stop-command` into `out` (see [`expand_command`]); `Ok(None)` if
    /// it is not set. Errors carry the line and fragment of the setting.
    pub fn expand_command<'o>(
        &self,
        which: CommandSetting,
        env: &SubstEnv<'_>,
        out: &'o mut [u8],
    ) -> Result<Option<Tokens<'o>>, DescError> {
        let f = command_field(which);
        let Some(raw) = self.field(f) else {
            return Ok(None);
        };
        let origin = self.field_origin(f);
        let setting = match which {
            CommandSetting::Start => "command",
            CommandSetting::Stop => "stop-command",
        };
        expand_command(Tokens::from_writer(raw), env, out)
            .map(Some)
            .map_err(|error| {
                DescError::new(origin.line, DescErrorKind::Subst { setting, error })
                    .in_fragment(origin.fragment)
            })
    }

    /// Expands a post-load path into `out` (see [`expand_value`]); `Ok(None)` if it is not
    /// set. The result may be empty (a value that substitutes to nothing): the caller decides
    /// what that means (the daemon, as Dinit, treats it as not set). Errors carry the line and
    /// fragment of the setting.
    pub fn expand_path<'o>(
        &self,
        which: PathSetting,
        env: &SubstEnv<'_>,
        out: &'o mut [u8],
    ) -> Result<Option<&'o [u8]>, DescError> {
        let f = path_field(which);
        let Some(raw) = self.field(f) else {
            return Ok(None);
        };
        let origin = self.field_origin(f);
        let setting = match which {
            PathSetting::WorkingDir => "working-dir",
            PathSetting::PidFile => "pid-file",
            PathSetting::SocketListen => "socket-listen",
            PathSetting::Logfile => "logfile",
        };
        let fail = |kind| DescError::new(origin.line, kind).in_fragment(origin.fragment);
        match expand_value(raw, env, out) {
            Ok(v) => Ok(Some(v)),
            Err(error) => Err(fail(DescErrorKind::Subst { setting, error })),
        }
    }

    // ----- storage -----

    fn origin_here(&self, line: u32) -> Origin {
        Origin {
            fragment: self.fragment,
            line,
        }
    }

    /// Slides every live string down over the garbage, keeping their order.
    fn compact(&mut self) {
        let mut cursor = 0usize;
        let mut scan = 0usize;
        loop {
            // The live string with the smallest offset not yet moved (moved strings now lie
            // below `cursor`, which never passes `scan`).
            let mut best: Option<(bool, usize, Span)> = None;
            let strs = self
                .strs
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.map(|s| (false, i, s)));
            let deps = self.deps.iter().enumerate().map(|(i, d)| (true, i, d.span));
            for (is_dep, i, s) in strs.chain(deps) {
                if s.len > 0 && s.off >= scan && best.is_none_or(|(_, _, b)| s.off < b.off) {
                    best = Some((is_dep, i, s));
                }
            }
            let Some((is_dep, i, s)) = best else {
                break;
            };
            for k in 0..s.len {
                let from = self.bytes.get(s.off.saturating_add(k)).copied();
                if let (Some(b), Some(dst)) = (from, self.bytes.get_mut(cursor.saturating_add(k))) {
                    *dst = b;
                }
            }
            let moved = Span {
                off: cursor,
                len: s.len,
            };
            if is_dep {
                if let Some(d) = self.deps.get_mut(i) {
                    d.span = moved;
                }
            } else if let Some(slot) = self.strs.get_mut(i) {
                *slot = Some(moved);
            }
            cursor = cursor.saturating_add(s.len);
            scan = s.off.saturating_add(s.len);
        }
        self.bytes.truncate(cursor);
    }

    /// Makes room for `need` more bytes at the end of the arena.
    fn reserve(&mut self, need: usize) -> Result<(), DescErrorKind> {
        let full = DescErrorKind::StorageFull { capacity: BYTES };
        if BYTES.saturating_sub(self.bytes.len()) >= need {
            return Ok(());
        }
        self.compact();
        if BYTES.saturating_sub(self.bytes.len()) >= need {
            Ok(())
        } else {
            Err(full)
        }
    }

    /// Appends `bytes` to the arena (room must have been reserved).
    fn push_bytes(&mut self, bytes: &[u8]) -> Result<Span, DescErrorKind> {
        let full = DescErrorKind::StorageFull { capacity: BYTES };
        let off = self.bytes.len();
        self.bytes.extend_from_slice(bytes).map_err(|_| full)?;
        Ok(Span {
            off,
            len: bytes.len(),
        })
    }

    /// Allocates a copy of `bytes`.
    fn store(&mut self, bytes: &[u8]) -> Result<Span, DescErrorKind> {
        self.reserve(bytes.len())?;
        self.push_bytes(bytes)
    }

    /// Sets a string field (the old value becomes garbage first, so it can be reclaimed).
    fn set_field(&mut self, f: Field, value: &[u8], line: u32) -> Result<(), DescErrorKind> {
        if let Some(slot) = self.strs.get_mut(f as usize) {
            *slot = None;
        }
        let span = self.store(value)?;
        let origin = self.origin_here(line);
        if let Some(slot) = self.strs.get_mut(f as usize) {
            *slot = Some(span);
        }
        if let Some(o) = self.origins.get_mut(f as usize) {
            *o = origin;
        }
        Ok(())
    }

    fn clear_field(&mut self, f: Field) {
        if let Some(slot) = self.strs.get_mut(f as usize) {
            *slot = None;
        }
    }

    /// Appends `sep` (if any) and `value` to a string field, which must be set.
    fn append_field(
        &mut self,
        f: Field,
        sep: Option<u8>,
        value: &[u8],
        line: u32,
    ) -> Result<(), DescErrorKind> {
        let full = DescErrorKind::StorageFull { capacity: BYTES };
        let sep_len = usize::from(sep.is_some());
        let extra = value.len().checked_add(sep_len).ok_or(full)?;
        let is_last = |d: &Self| {
            d.strs
                .get(f as usize)
                .copied()
                .flatten()
                .is_some_and(|s| s.off.saturating_add(s.len) == d.bytes.len())
        };
        // The last string can grow in place; any other is copied to the end first.
        let old_len = self
            .strs
            .get(f as usize)
            .copied()
            .flatten()
            .map_or(0, |s| s.len);
        let need = if is_last(self) {
            extra
        } else {
            extra.checked_add(old_len).ok_or(full)?
        };
        // Compaction keeps the order of strings, so the last string stays last.
        self.reserve(need)?;
        let Some(old) = self.strs.get(f as usize).copied().flatten() else {
            return Err(full);
        };
        let start = if is_last(self) {
            old.off
        } else {
            let start = self.bytes.len();
            for k in 0..old.len {
                let from = self.bytes.get(old.off.saturating_add(k)).copied();
                if let Some(b) = from {
                    self.bytes.push(b).map_err(|_| full)?;
                }
            }
            start
        };
        if let Some(s) = sep {
            self.push_bytes(&[s])?;
        }
        self.push_bytes(value)?;
        if let Some(slot) = self.strs.get_mut(f as usize) {
            *slot = Some(Span {
                off: start,
                len: self.bytes.len().saturating_sub(start),
            });
        }
        let origin = self.origin_here(line);
        if let Some(o) = self.origins.get_mut(f as usize) {
            *o = origin;
        }
        Ok(())
    }

    fn field_is_set(&self, f: Field) -> bool {
        self.strs.get(f as usize).copied().flatten().is_some()
    }

    fn add_dep(
        &mut self,
        kind: DepKind,
        dir: bool,
        name: &[u8],
        line: u32,
    ) -> Result<(), DescErrorKind> {
        let duplicate = self
            .dep_slots()
            .any(|d| d.kind == kind && d.dir == dir && self.span_bytes(d.span) == name);
        if duplicate {
            return Ok(());
        }
        let too_many = DescErrorKind::TooManyDependencies { capacity: DEPS };
        if self.deps.is_full() {
            return Err(too_many);
        }
        let span = self.store(name)?;
        let origin = self.origin_here(line);
        self.deps
            .push(DepSlot {
                kind,
                dir,
                span,
                origin,
            })
            .map_err(|_| too_many)
    }

    fn set_id(
        &mut self,
        id: IdSpec<'_>,
        name_field: Field,
        line: u32,
    ) -> Result<StoredId, DescErrorKind> {
        match id {
            IdSpec::Numeric(n) => {
                self.clear_field(name_field);
                Ok(StoredId::Numeric(n))
            }
            IdSpec::Name(name) => {
                self.set_field(name_field, name, line)?;
                Ok(StoredId::Name)
            }
        }
    }

    /// Applies one setting read at `line`, with the override/additive rules of the module
    /// documentation. Errors carry `line` and the current fragment.
    pub fn apply(&mut self, line: u32, setting: Setting<'_>) -> Result<(), DescError> {
        let fragment = self.fragment;
        self.apply_inner(line, setting)
            .map_err(|kind| DescError::new(line, kind).in_fragment(fragment))
    }

    // A dispatch table: one arm per setting, each a line or two.
    #[allow(clippy::too_many_lines)]
    fn apply_inner(&mut self, line: u32, setting: Setting<'_>) -> Result<(), DescErrorKind> {
        let c = &mut self.config;
        match setting {
            Setting::Type(kind) => {
                c.kind = kind;
                self.type_specified = true;
            }
            Setting::Command { op, tokens } => {
                self.command_setting(Field::Command, op, tokens, line)?;
            }
            Setting::StopCommand { op, tokens } => {
                self.command_setting(Field::StopCommand, op, tokens, line)?;
                self.config.has_stop_command = self.field_is_set(Field::StopCommand);
            }
            Setting::WorkingDir(v) => self.set_text(Field::WorkingDir, v, line)?,
            Setting::RunAs(id) => self.run_as = Some(self.set_id(id, Field::RunAsName, line)?),
            Setting::EnvFile(v) => self.set_text(Field::EnvFile, v, line)?,
            Setting::Restart(r) => c.restart = r,
            Setting::SmoothRecovery(b) => c.smooth_recovery = b,
            Setting::RestartDelay(d) => c.restart_delay = d,
            Setting::RestartLimitInterval(d) => c.restart_limit_interval = d,
            Setting::RestartLimitCount(n) => c.restart_limit_count = n,
            Setting::StartTimeout(d) => c.start_timeout = d,
            Setting::StopTimeout(d) => c.stop_timeout = d,
            Setting::PidFile(v) => self.set_text(Field::PidFile, v, line)?,
            Setting::Dependency { kind, name } => self.add_dep(kind, false, name, line)?,
            Setting::DependencyDir { kind, path } => self.add_dep(kind, true, path, line)?,
            Setting::ChainTo(v) => self.set_field(Field::ChainTo, v, line)?,
            Setting::SocketListen(v) => self.set_text(Field::SocketListen, v, line)?,
            Setting::SocketPermissions(p) => self.socket_permissions = p,
            Setting::SocketUid(id) => {
                self.socket_uid = Some(self.set_id(id, Field::SocketUidName, line)?);
            }
            Setting::SocketGid(id) => {
                self.socket_gid = Some(self.set_id(id, Field::SocketGidName, line)?);
            }
            Setting::TermSignal(s) => c.term_signal = s,
            Setting::ReadyNotification(r) => {
                self.ready = Some(match r {
                    ReadyNotification::PipeFd(fd) => {
                        self.clear_field(Field::ReadyVar);
                        StoredReady::PipeFd(fd)
                    }
                    ReadyNotification::PipeVar(var) => {
                        self.set_field(Field::ReadyVar, var, line)?;
                        StoredReady::PipeVar
                    }
                });
                self.config.ready_notification = true;
            }
            Setting::LogType(t) => self.log_type = t,
            Setting::Logfile(v) => {
                self.set_text(Field::Logfile, v, line)?;
                if !v.is_empty() && self.log_type == LogType::None {
                    self.log_type = LogType::File;
                }
            }
            Setting::LogfilePermissions(p) => self.logfile_permissions = p,
            Setting::LogfileUid(id) => {
                self.logfile_uid = Some(self.set_id(id, Field::LogfileUidName, line)?);
            }
            Setting::LogfileGid(id) => {
                self.logfile_gid = Some(self.set_id(id, Field::LogfileGidName, line)?);
            }
            Setting::LogBufferSize(n) => self.log_buffer_size = Some(n),
            Setting::LogBufferKeep(k) => self.log_buffer_keep = k,
            Setting::LogfileMaxSize(n) => self.logfile_max_size = Some(n),
            Setting::LogfileRotate(n) => self.logfile_rotate = Some(n),
            Setting::ConsumerOf(v) => self.set_field(Field::ConsumerOf, v, line)?,
            Setting::Options(list) => c.options = list.apply_to(c.options),
            Setting::LoadOptions(o) => self.load_options = self.load_options.with(o),
            Setting::InittabId(v) => self.set_text(Field::InittabId, v, line)?,
            Setting::InittabLine(v) => self.set_text(Field::InittabLine, v, line)?,
            Setting::Rlimit { resource, limit } => {
                if let Some(slot) = self.rlimits.get_mut(resource as usize) {
                    *slot = Some(limit);
                }
            }
            Setting::Nice(n) => self.nice = Some(n),
            Setting::RunInCgroup(v) => self.set_text(Field::RunInCgroup, v, line)?,
            Setting::Capabilities { op, iab } => {
                if op == Op::Append && self.field_is_set(Field::Capabilities) {
                    self.append_field(Field::Capabilities, Some(b','), iab, line)?;
                } else {
                    self.set_field(Field::Capabilities, iab, line)?;
                }
            }
            Setting::Securebits { op, bits } => {
                self.securebits = Some(match (op, self.securebits) {
                    (Op::Append, Some(old)) => old.with(bits),
                    _ => bits,
                });
            }
            Setting::Ioprio(p) => self.ioprio = Some(p),
            Setting::OomScoreAdj(n) => self.oom_score_adj = Some(n),
            Setting::EnableVia(v) => self.set_field(Field::EnableVia, v, line)?,
        }
        Ok(())
    }

    fn command_setting(
        &mut self,
        f: Field,
        op: Op,
        tokens: Tokens<'_>,
        line: u32,
    ) -> Result<(), DescErrorKind> {
        // A command that is a single empty word is empty (Dinit keeps the words joined by
        // spaces: that one joins to nothing).
        let bytes = match tokens.as_bytes() {
            [0] => &[][..],
            b => b,
        };
        match op {
            Op::Append if self.field_is_set(f) => {
                if tokens.is_empty() {
                    return Ok(());
                }
                self.append_field(f, None, tokens.as_bytes(), line)
            }
            _ => self.set_text(f, bytes, line),
        }
    }

    /// Sets a string field; an empty value unsets it (as if the setting were not given).
    fn set_text(&mut self, f: Field, value: &[u8], line: u32) -> Result<(), DescErrorKind> {
        if value.is_empty() {
            self.clear_field(f);
            Ok(())
        } else {
            self.set_field(f, value, line)
        }
    }
}

fn command_field(which: CommandSetting) -> Field {
    match which {
        CommandSetting::Start => Field::Command,
        CommandSetting::Stop => Field::StopCommand,
    }
}

fn path_field(which: PathSetting) -> Field {
    match which {
        PathSetting::WorkingDir => Field::WorkingDir,
        PathSetting::PidFile => Field::PidFile,
        PathSetting::SocketListen => Field::SocketListen,
        PathSetting::Logfile => Field::Logfile,
    }
}

impl<const BYTES: usize, const DEPS: usize> DescriptionSink for Description<BYTES, DEPS> {
    fn setting(&mut self, line: u32, setting: Setting<'_>) -> Result<(), DescError> {
        self.apply(line, setting)
    }
}
