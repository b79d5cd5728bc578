//! What a launch needs, in two forms:
//!
//! * [`SpawnConfig`]: plain owned data, filled in from a service description at load time
//!   (names already resolved to ids, the IAB text already parsed).
//! * [`SpawnSpec`]: the same, validated and turned into what the child uses directly — C
//!   strings, the `VAR=value` environment entries, the file-descriptor plan, preformatted
//!   numbers — so that the child does nothing but system calls.
//!
//! A launch lays out the `argv`/`envp` vectors (and the `LISTEN_PID=` text the child
//! completes) in a memory region of its own (`child::memory`), so that it never allocates.

use core::fmt;
use std::ffi::{CStr, CString};

use super::caps::{Iab, Securebits};
use super::ids::Credentials;

/// `log-type = file`: where output goes and how the file is created.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct Logfile {
    /// The file (`logfile`); opened with `O_WRONLY|O_APPEND|O_CREAT`, never through a
    /// symbolic link (`O_NOFOLLOW`) and never waiting (a FIFO without a reader fails).
    pub path: Vec<u8>,
    /// `logfile-permissions`; applied with `fchmod` whether or not the file existed.
    pub mode: u32,
    /// `logfile-uid`, resolved; `None` leaves the owner as created.
    pub uid: Option<u32>,
    /// `logfile-gid` (or the primary group of a `logfile-uid` given by name).
    pub gid: Option<u32>,
}

impl Logfile {
    /// A log file at `path` with the default permissions (`0600`) and owner.
    pub fn new(path: impl Into<Vec<u8>>) -> Self {
        Logfile {
            path: path.into(),
            mode: 0o600,
            uid: None,
            gid: None,
        }
    }
}

/// Standard input of a service not on the console.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub enum Input {
    /// `/dev/null`.
    #[default]
    Null,
    /// The read end of the pipe given as [`LaunchFds::input`](super::LaunchFds::input)
    /// (`consumer-of`: the output pipe of another service, made with
    /// [`consumer_pipe`](super::consumer_pipe) so that it is blocking).
    Pipe,
}

/// Standard output and error of a service not on the console.
#[derive(Clone, PartialEq, Eq, Debug, Default, Hash)]
pub enum Output {
    /// `/dev/null` (`log-type = none`).
    #[default]
    Null,
    /// A file opened in the child (`log-type = file`).
    Logfile(Logfile),
    /// The write end of the pipe given as [`LaunchFds::output`](super::LaunchFds::output)
    /// (`log-type = buffer` or `pipe`).
    Pipe,
}

/// A service on the console: its standard input, output and error are the daemon's own.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct Console {
    /// `runs-on-console`/`starts-on-console`: the child gets the terminal's foreground (it
    /// starts a new session and takes the terminal as its controlling terminal, or, when the
    /// terminal already is the daemon's controlling terminal, starts a new process group in
    /// the daemon's session), and SIGINT stays blocked unless `unmask_intr`. `false` is
    /// `shares-console`: just the daemon's descriptors, in a new process group.
    pub exclusive: bool,
    /// `unmask-intr`: let the terminal's interrupt signal through.
    pub unmask_intr: bool,
}

/// Where the child's standard input, output and error come from.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub enum Stdio {
    /// `runs-on-console`, `starts-on-console` or `shares-console`.
    Console(Console),
    /// Not on the console (a log file setting has no effect on the console).
    Detached {
        /// Standard input.
        input: Input,
        /// Standard output and error.
        output: Output,
    },
}

impl Default for Stdio {
    fn default() -> Self {
        Stdio::Detached {
            input: Input::Null,
            output: Output::Null,
        }
    }
}

/// `ready-notification`.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub enum ReadyNotification {
    /// `pipefd:N`: the write end of the readiness pipe is put on descriptor N (3 or more, and
    /// not 3 when the service also has an activation socket).
    PipeFd(i32),
    /// `pipevar:VAR`: the write end goes on a descriptor chosen by the spawner, whose number
    /// is put in environment variable VAR.
    PipeVar(Vec<u8>),
}

/// The resource limits and I/O priority of a service: the description parser's types.
pub use dinit_core::desc::{Ioprio, Limit, Resource, Rlimit};

/// The `rustix` resource of an `rlimit-*` setting.
pub(super) fn rustix_resource(r: Resource) -> rustix::process::Resource {
    use rustix::process::Resource as R;
    match r {
        Resource::Nofile => R::Nofile,
        Resource::Core => R::Core,
        Resource::Data => R::Data,
        Resource::Addrspace => R::As,
    }
}

/// The value `ioprio_set(2)` takes for `p` (class in bits 13-15, level below), or `None` if
/// the level is out of range.
pub fn ioprio_value(p: Ioprio) -> Option<i32> {
    const CLASS_SHIFT: i32 = 13;
    let (class, level) = match p {
        Ioprio::None => (0, 0),
        Ioprio::Realtime(n) => (1, n),
        Ioprio::BestEffort(n) => (2, n),
        Ioprio::Idle => (3, 0),
    };
    (level <= 7).then_some((class << CLASS_SHIFT) | i32::from(level))
}

/// Everything that determines how one command of a service is launched. Build it at load time
/// with [`SpawnConfig::new`] and the public fields, then turn it into a [`SpawnSpec`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SpawnConfig {
    /// The command and its arguments; the first word is the program (searched for in the
    /// child's `PATH` if it has no `/`).
    pub command: Vec<Vec<u8>>,
    /// Service-specific environment (`env-file`, exported passwd variables, ...), as
    /// `(name, value)`. These take precedence over the base environment passed at launch;
    /// a later entry of the same name replaces an earlier one.
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// Pass none of the base environment (a service `env-file` with `!clear`).
    pub clear_base_env: bool,
    /// Base environment variables not to pass (`!unset` in a service `env-file`).
    pub hidden_base_env: Vec<Vec<u8>>,
    /// `working-dir`; `None` keeps the daemon's.
    pub working_dir: Option<Vec<u8>>,
    /// Standard input, output and error.
    pub stdio: Stdio,
    /// `ready-notification`; the pipe's write end is passed at launch.
    pub ready_notification: Option<ReadyNotification>,
    /// `socket-listen`: the socket passed at launch goes on fd 3, with `LISTEN_FDS=1` and
    /// `LISTEN_PID=<pid>`.
    pub socket_activation: bool,
    /// `pass-cs-fd`: the control connection passed at launch goes to the child, with
    /// `DINIT_CS_FD=<fd>`.
    pub pass_control_socket: bool,
    /// `run-in-cgroup`, as a directory path already resolved (see
    /// [`resolve_cgroup_path`](super::resolve_cgroup_path)); the child writes its pid to
    /// `cgroup.procs` in it.
    pub cgroup: Option<Vec<u8>>,
    /// `rlimit-*` settings.
    pub rlimits: Vec<(Resource, Rlimit)>,
    /// `nice`; clamped to -20..=19, and failures are ignored, as the manual says. The
    /// session's autogroup nice (`/proc/self/autogroup`) is set too, but only for a child that
    /// leads its own session (a console service): for the others the session is the daemon's.
    pub nice: Option<i32>,
    /// `oom-score-adj` (-1000..=1000); failure to apply it fails the start.
    pub oom_score_adj: Option<i16>,
    /// `ioprio`.
    pub ioprio: Option<Ioprio>,
    /// `run-as`, resolved with [`resolve_user`](super::resolve_user).
    pub run_as: Option<Credentials>,
    /// `capabilities`, parsed with [`Iab::parse`]. `None` leaves the IAB vectors alone.
    pub capabilities: Option<Iab>,
    /// `securebits`. `None` leaves them alone.
    pub securebits: Option<Securebits>,
    /// `options: no-new-privs`.
    pub no_new_privs: bool,
    /// Make the child the leader of a new session, and so of a new process group (the
    /// default: a `getty` or `login` finds itself the session leader it wants to be, and the
    /// daemon can signal the whole group). A service sharing the console gets
    /// a new process group in the daemon's session instead; one that takes the terminal
    /// always gets its own session, whatever this says.
    pub new_process_group: bool,
}

impl SpawnConfig {
    /// A launch of `command` with every other setting at its default.
    pub fn new<I, W>(command: I) -> Self
    where
        I: IntoIterator<Item = W>,
        W: Into<Vec<u8>>,
    {
        SpawnConfig {
            command: command.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            clear_base_env: false,
            hidden_base_env: Vec::new(),
            working_dir: None,
            stdio: Stdio::default(),
            ready_notification: None,
            socket_activation: false,
            pass_control_socket: false,
            cgroup: None,
            rlimits: Vec::new(),
            nice: None,
            oom_score_adj: None,
            ioprio: None,
            run_as: None,
            capabilities: None,
            securebits: None,
            no_new_privs: false,
            new_process_group: true,
        }
    }

    /// Adds (or replaces) an environment variable; for building configurations fluently.
    #[must_use]
    pub fn with_env(mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }
}

/// Why a [`SpawnConfig`] cannot be launched. Found at load time, so that a launch never fails
/// for a reason that was visible earlier.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SpecError {
    /// The command has no words, or its program is empty.
    EmptyCommand,
    /// A string contains a NUL byte, which cannot be passed to the kernel.
    NulByte(&'static str),
    /// An environment variable name is empty or contains `=`.
    BadVariableName(String),
    /// `pipefd:N` names a descriptor the child needs for something else (0-2, or 3 with an
    /// activation socket) or a negative one.
    NotifyFdReserved(i32),
    /// A path setting is empty.
    EmptyPath(&'static str),
    /// `logfile-permissions` has bits beyond `07777`.
    BadMode(u32),
    /// An `ioprio` level above 7.
    BadIoprio,
    /// `oom-score-adj` outside -1000..=1000.
    BadOomScoreAdj(i16),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::EmptyCommand => write!(f, "no command to run"),
            SpecError::NulByte(what) => write!(f, "{what} contains a NUL byte"),
            SpecError::BadVariableName(name) => {
                write!(f, "invalid environment variable name \"{name}\"")
            }
            SpecError::NotifyFdReserved(fd) => write!(
                f,
                "ready-notification pipefd:{fd} is not usable (0-2 are standard input/output, \
                 3 is the activation socket)"
            ),
            SpecError::EmptyPath(what) => write!(f, "{what} is empty"),
            SpecError::BadMode(mode) => write!(f, "invalid permissions {mode:o}"),
            SpecError::BadIoprio => write!(f, "ioprio level must be 0 to 7"),
            SpecError::BadOomScoreAdj(v) => {
                write!(f, "oom-score-adj {v} is outside -1000 to 1000")
            }
        }
    }
}

impl std::error::Error for SpecError {}

/// The first descriptor number above the standard ones.
pub(super) const FIRST_FREE_FD: i32 = 3;
/// Where systemd's activation protocol puts the first passed socket.
pub(super) const ACTIVATION_FD: i32 = 3;

/// Which descriptor numbers the child ends up with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct FdPlan {
    /// The readiness pipe's number in the child, and whether it came from `pipevar`.
    pub notify: Option<(i32, bool)>,
    /// Whether fd 3 is the activation socket.
    pub activation: bool,
    /// The control connection's number in the child.
    pub control: Option<i32>,
    /// One more than the highest target number: the child first moves every descriptor it
    /// must keep to this number or above, so that putting one on its target can never close
    /// another.
    pub high: i32,
}

/// The child's standard descriptors, prepared.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum PreparedStdio {
    Console(Console),
    Detached {
        input: Input,
        output: PreparedOutput,
    },
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum PreparedOutput {
    Null,
    Logfile {
        path: CString,
        mode: u32,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    Pipe,
}

/// `run-as`, in the types the system calls take.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct PreparedCreds {
    pub uid: rustix::process::Uid,
    pub gid: Option<rustix::process::Gid>,
    pub groups: Vec<rustix::process::Gid>,
}

/// The prefix of the activation variable the child completes with its own pid.
pub(super) const LISTEN_PID_PREFIX: &[u8] = b"LISTEN_PID=";
/// Room for the prefix, the digits of any pid, and the NUL.
pub(super) const LISTEN_PID_LEN: usize = LISTEN_PID_PREFIX.len() + 21;

/// A validated, prepared [`SpawnConfig`]: everything the child needs, in the form it needs it.
/// Build it once at load time; launch it any number of times with [`spawn`](super::spawn).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SpawnSpec {
    /// The command's words, then the working directory if there is one, each followed by a
    /// NUL, in one block (one allocation where a vector of C strings takes one per word and
    /// one more): read through [`SpawnSpec::args`] and [`SpawnSpec::working_dir`].
    strings: Box<[u8]>,
    /// How many words of `strings` are the command's.
    argc: usize,
    /// `NAME=value` entries, service environment first, then the spawner's own variables
    /// (except `LISTEN_PID`, which only the child knows).
    pub(super) env: Vec<CString>,
    /// Pass none of the base environment.
    pub(super) clear_base_env: bool,
    has_working_dir: bool,
    pub(super) stdio: PreparedStdio,
    pub(super) fds: FdPlan,
    /// The settings most services leave unset, out of line (`None` when all are unset); read
    /// through [`SpawnSpec::extra`].
    extra: Option<Box<SpecExtra>>,
    pub(super) no_new_privs: bool,
    pub(super) new_process_group: bool,
}

/// The parts of a [`SpawnSpec`] most services leave unset, kept out of line so that the spec
/// every process service carries stays small.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct SpecExtra {
    /// Base variables not passed.
    pub(super) hidden_base_env: Vec<Vec<u8>>,
    pub(super) cgroup_procs: Option<CString>,
    pub(super) rlimits: Vec<(Resource, Rlimit)>,
    /// The nice value, clamped, and its text for `/proc/self/autogroup`.
    pub(super) nice: Option<(i32, Vec<u8>)>,
    /// The `oom-score-adj` text for `/proc/self/oom_score_adj`.
    pub(super) oom_score_adj: Option<Vec<u8>>,
    pub(super) ioprio: Option<i32>,
    pub(super) run_as: Option<PreparedCreds>,
    pub(super) capabilities: Option<Iab>,
    pub(super) securebits: Option<Securebits>,
}

/// What a spec without any of the [`SpecExtra`] settings reads.
static NO_SPEC_EXTRA: SpecExtra = SpecExtra::NONE;

impl SpecExtra {
    const NONE: SpecExtra = SpecExtra {
        hidden_base_env: Vec::new(),
        cgroup_procs: None,
        rlimits: Vec::new(),
        nice: None,
        oom_score_adj: None,
        ioprio: None,
        run_as: None,
        capabilities: None,
        securebits: None,
    };
}

fn c_string(bytes: &[u8], what: &'static str) -> Result<CString, SpecError> {
    CString::new(bytes).map_err(|_| SpecError::NulByte(what))
}

fn variable(name: &[u8], value: &[u8]) -> Result<CString, SpecError> {
    if name.is_empty() || name.contains(&b'=') {
        return Err(SpecError::BadVariableName(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    let mut entry = Vec::with_capacity(name.len().saturating_add(value.len()).saturating_add(1));
    entry.extend_from_slice(name);
    entry.push(b'=');
    entry.extend_from_slice(value);
    c_string(&entry, "an environment variable")
}

/// The name part of a `NAME=value` entry (all of it if there is no `=`).
pub(super) fn variable_name(entry: &[u8]) -> &[u8] {
    let end = entry.iter().position(|&b| b == b'=').unwrap_or(entry.len());
    entry.get(..end).unwrap_or(entry)
}

/// The command's words, each followed by a NUL, in a buffer with room for the working
/// directory after them.
fn command_strings(config: &SpawnConfig) -> Result<Vec<u8>, SpecError> {
    let program = config.command.first().ok_or(SpecError::EmptyCommand)?;
    if program.is_empty() {
        return Err(SpecError::EmptyCommand);
    }
    let mut strings = Vec::with_capacity(
        config
            .command
            .iter()
            .chain(config.working_dir.as_ref())
            .map(|w| w.len().saturating_add(1))
            .sum(),
    );
    for word in &config.command {
        if word.contains(&0) {
            return Err(SpecError::NulByte("the command"));
        }
        strings.extend_from_slice(word);
        strings.push(0);
    }
    Ok(strings)
}

/// The service's own environment entries: its variables (the last of a name wins), then the
/// spawner's own (`pipevar`, `LISTEN_FDS`, `DINIT_CS_FD`), which take precedence.
fn prepare_env(config: &SpawnConfig, fds: &FdPlan) -> Result<Vec<CString>, SpecError> {
    let mut own: Vec<CString> = Vec::new();
    let mut own_names: Vec<&[u8]> = Vec::new();
    if let Some((fd, true)) = fds.notify {
        if let Some(ReadyNotification::PipeVar(name)) = &config.ready_notification {
            own.push(variable(name, fd.to_string().as_bytes())?);
            own_names.push(name);
        }
    }
    if fds.activation {
        own.push(variable(b"LISTEN_FDS", b"1")?);
        own_names.push(b"LISTEN_FDS");
        own_names.push(variable_name(LISTEN_PID_PREFIX));
    }
    if let Some(fd) = fds.control {
        own.push(variable(b"DINIT_CS_FD", fd.to_string().as_bytes())?);
        own_names.push(b"DINIT_CS_FD");
    }
    let mut env: Vec<CString> = Vec::with_capacity(config.env.len().saturating_add(own.len()));
    for (i, (name, value)) in config.env.iter().enumerate() {
        let entry = variable(name, value)?;
        let later = config.env.get(i.saturating_add(1)..).unwrap_or(&[]);
        let overridden =
            later.iter().any(|(n, _)| n == name) || own_names.contains(&name.as_slice());
        if !overridden {
            env.push(entry);
        }
    }
    env.extend(own);
    Ok(env)
}

/// The standard descriptors as the child sets them up: a log file checked and in C form.
fn prepare_stdio(stdio: &Stdio) -> Result<PreparedStdio, SpecError> {
    Ok(match stdio {
        Stdio::Console(console) => PreparedStdio::Console(*console),
        Stdio::Detached { input, output } => PreparedStdio::Detached {
            input: *input,
            output: match output {
                Output::Null => PreparedOutput::Null,
                Output::Pipe => PreparedOutput::Pipe,
                Output::Logfile(log) => {
                    if log.path.is_empty() {
                        return Err(SpecError::EmptyPath("logfile"));
                    }
                    if log.mode & !0o7777 != 0 {
                        return Err(SpecError::BadMode(log.mode));
                    }
                    PreparedOutput::Logfile {
                        path: c_string(&log.path, "logfile")?,
                        mode: log.mode,
                        uid: log.uid,
                        gid: log.gid,
                    }
                }
            },
        },
    })
}

impl SpecExtra {
    /// The settings most services leave unset, checked and in the form the child uses: the
    /// cgroup's `cgroup.procs`, priorities as text, credentials in rustix's types.
    fn prepare(config: &SpawnConfig) -> Result<SpecExtra, SpecError> {
        let cgroup_procs = match &config.cgroup {
            Some(dir) if dir.is_empty() => return Err(SpecError::EmptyPath("run-in-cgroup")),
            Some(dir) => {
                let mut path = dir.clone();
                if path.last() != Some(&b'/') {
                    path.push(b'/');
                }
                path.extend_from_slice(b"cgroup.procs");
                Some(c_string(&path, "run-in-cgroup")?)
            }
            None => None,
        };
        let nice = config.nice.map(|n| {
            let clamped = n.clamp(-20, 19);
            (clamped, clamped.to_string().into_bytes())
        });
        let oom_score_adj = match config.oom_score_adj {
            Some(v) if !(-1000..=1000).contains(&v) => {
                return Err(SpecError::BadOomScoreAdj(v));
            }
            Some(v) => Some(v.to_string().into_bytes()),
            None => None,
        };
        let ioprio = match config.ioprio {
            Some(p) => Some(ioprio_value(p).ok_or(SpecError::BadIoprio)?),
            None => None,
        };
        let run_as = config.run_as.as_ref().map(|c| PreparedCreds {
            uid: rustix::process::Uid::from_raw_unchecked(c.uid),
            gid: c.gid.map(rustix::process::Gid::from_raw_unchecked),
            groups: c
                .groups
                .iter()
                .map(|&g| rustix::process::Gid::from_raw_unchecked(g))
                .collect(),
        });
        Ok(SpecExtra {
            hidden_base_env: config.hidden_base_env.clone(),
            cgroup_procs,
            rlimits: config.rlimits.clone(),
            nice,
            oom_score_adj,
            ioprio,
            run_as,
            capabilities: config.capabilities,
            securebits: config.securebits,
        })
    }
}

impl SpawnSpec {
    /// Validates `config` and prepares it for launching.
    pub fn new(config: &SpawnConfig) -> Result<SpawnSpec, SpecError> {
        let mut strings = command_strings(config)?;
        let argc = config.command.len();
        let fds = plan_fds(config)?;
        let env = prepare_env(config, &fds)?;
        let has_working_dir = match &config.working_dir {
            Some(dir) if dir.is_empty() => return Err(SpecError::EmptyPath("working-dir")),
            Some(dir) if dir.contains(&0) => return Err(SpecError::NulByte("working-dir")),
            Some(dir) => {
                strings.extend_from_slice(dir);
                strings.push(0);
                true
            }
            None => false,
        };
        let stdio = prepare_stdio(&config.stdio)?;
        let extra = SpecExtra::prepare(config)?;
        Ok(SpawnSpec {
            strings: strings.into_boxed_slice(),
            argc,
            env,
            clear_base_env: config.clear_base_env,
            has_working_dir,
            stdio,
            fds,
            extra: (extra != SpecExtra::NONE).then(|| Box::new(extra)),
            no_new_privs: config.no_new_privs,
            new_process_group: config.new_process_group,
        })
    }

    /// The settings most services leave unset (all unset when there are none).
    pub(super) fn extra(&self) -> &SpecExtra {
        self.extra.as_deref().unwrap_or(&NO_SPEC_EXTRA)
    }

    /// The descriptor number the readiness pipe has in the child (`pipefd:N`, or the one
    /// chosen for `pipevar`).
    pub fn notify_fd(&self) -> Option<i32> {
        self.fds.notify.map(|(fd, _)| fd)
    }

    /// The descriptor number the control connection has in the child (`DINIT_CS_FD`).
    pub fn control_fd(&self) -> Option<i32> {
        self.fds.control
    }

    /// The command words.
    pub fn command(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.args().map(CStr::to_bytes)
    }

    /// The NUL-terminated strings of the block, in order (no allocation: the child uses it).
    fn strings(&self) -> impl Iterator<Item = &CStr> + '_ {
        let mut rest: &[u8] = &self.strings;
        core::iter::from_fn(move || {
            let s = CStr::from_bytes_until_nul(rest).ok()?;
            rest = rest
                .get(s.to_bytes().len().saturating_add(1)..)
                .unwrap_or(&[]);
            Some(s)
        })
    }

    /// The command's words, as C strings.
    pub(super) fn args(&self) -> impl Iterator<Item = &CStr> + '_ {
        self.strings().take(self.argc)
    }

    /// How many words the command has.
    pub(super) fn argc(&self) -> usize {
        self.argc
    }

    /// The program: the command's first word.
    pub(super) fn program(&self) -> Option<&CStr> {
        self.args().next()
    }

    /// `working-dir`, if the command runs in a directory of its own.
    pub(super) fn working_dir(&self) -> Option<&CStr> {
        if self.has_working_dir {
            self.strings().nth(self.argc)
        } else {
            None
        }
    }

    /// Whether the child will need `LaunchFds::notify`.
    pub fn needs_notify_pipe(&self) -> bool {
        self.fds.notify.is_some()
    }

    /// Whether SIGINT stays blocked in the child.
    pub(super) fn masks_sigint(&self) -> bool {
        matches!(
            self.stdio,
            PreparedStdio::Console(Console {
                exclusive: true,
                unmask_intr: false
            })
        )
    }

    /// Whether the capability state is changed at all (which needs the capabilities kept
    /// across the uid change).
    pub(super) fn changes_capabilities(&self) -> bool {
        self.extra().capabilities.is_some() || self.extra().securebits.is_some()
    }

    /// Whether the child may start in the daemon's memory (`clone(CLONE_VM)`, see
    /// `child::start`): not when a setup step changes something the kernel keeps per memory
    /// rather than per process, which would change it for the daemon too. Writing
    /// `oom_score_adj` sets it for every process sharing the memory (proc(5): "all processes
    /// sharing the same memory"); changing identity or gaining capabilities clears the
    /// memory's "dumpable" flag (prctl(2), `PR_SET_DUMPABLE`). Those launches fork.
    pub(super) fn may_share_memory(&self) -> bool {
        let extra = self.extra();
        extra.oom_score_adj.is_none() && extra.run_as.is_none() && !self.changes_capabilities()
    }
}

/// Chooses the child's descriptor numbers: fd 3 for the activation socket, N for `pipefd:N`,
/// and the lowest free numbers from 3 up for the `pipevar` pipe and then the control
/// connection.
fn plan_fds(config: &SpawnConfig) -> Result<FdPlan, SpecError> {
    let activation = config.socket_activation;
    let fixed_notify = match &config.ready_notification {
        Some(ReadyNotification::PipeFd(n)) => {
            if *n < FIRST_FREE_FD || (activation && *n == ACTIVATION_FD) || *n == i32::MAX {
                return Err(SpecError::NotifyFdReserved(*n));
            }
            Some(*n)
        }
        Some(ReadyNotification::PipeVar(name)) => {
            if name.is_empty() || name.contains(&b'=') {
                return Err(SpecError::BadVariableName(
                    String::from_utf8_lossy(name).into_owned(),
                ));
            }
            if name.contains(&0) {
                return Err(SpecError::NulByte("the pipevar name"));
            }
            None
        }
        None => None,
    };
    let lowest_free = |taken: &[Option<i32>]| {
        let mut fd = FIRST_FREE_FD;
        while taken.contains(&Some(fd)) {
            fd = fd.saturating_add(1);
        }
        fd
    };
    let mut taken = [activation.then_some(ACTIVATION_FD), fixed_notify];
    let notify = match &config.ready_notification {
        Some(ReadyNotification::PipeFd(n)) => Some((*n, false)),
        Some(ReadyNotification::PipeVar(_)) => {
            let fd = lowest_free(&taken);
            taken[1] = Some(fd);
            Some((fd, true))
        }
        None => None,
    };
    let control = config.pass_control_socket.then(|| lowest_free(&taken));
    let highest = [
        activation.then_some(ACTIVATION_FD),
        notify.map(|(fd, _)| fd),
        control,
    ]
    .into_iter()
    .flatten()
    .fold(FIRST_FREE_FD.saturating_sub(1), i32::max);
    Ok(FdPlan {
        notify,
        activation,
        control,
        high: highest.saturating_add(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_plan_avoids_fixed_numbers() {
        let mut c = SpawnConfig::new(["/bin/true"]);
        assert_eq!(SpawnSpec::new(&c).unwrap().fds.high, 3);

        c.socket_activation = true;
        c.ready_notification = Some(ReadyNotification::PipeVar(b"READY".to_vec()));
        c.pass_control_socket = true;
        let s = SpawnSpec::new(&c).unwrap();
        assert_eq!(s.notify_fd(), Some(4));
        assert_eq!(s.control_fd(), Some(5));
        assert_eq!(s.fds.high, 6);

        c.ready_notification = Some(ReadyNotification::PipeFd(4));
        let s = SpawnSpec::new(&c).unwrap();
        assert_eq!(s.notify_fd(), Some(4));
        assert_eq!(s.control_fd(), Some(5));

        c.ready_notification = Some(ReadyNotification::PipeFd(10));
        c.socket_activation = false;
        let s = SpawnSpec::new(&c).unwrap();
        assert_eq!(s.control_fd(), Some(3));
        assert_eq!(s.fds.high, 11);
    }

    #[test]
    fn fd_plan_targets_are_distinct_for_every_combination() {
        let notifications = [None, Some(ReadyNotification::PipeVar(b"V".to_vec()))]
            .into_iter()
            .chain((3..=12).map(|n| Some(ReadyNotification::PipeFd(n))));
        for notify in notifications {
            for activation in [false, true] {
                for control in [false, true] {
                    let mut c = SpawnConfig::new(["/bin/true"]);
                    c.ready_notification = notify.clone();
                    c.socket_activation = activation;
                    c.pass_control_socket = control;
                    let Ok(s) = SpawnSpec::new(&c) else {
                        assert!(activation && notify == Some(ReadyNotification::PipeFd(3)));
                        continue;
                    };
                    let targets: Vec<i32> = [
                        activation.then_some(ACTIVATION_FD),
                        s.notify_fd(),
                        s.control_fd(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    assert_eq!(
                        targets.len(),
                        [activation, notify.is_some(), control]
                            .iter()
                            .filter(|b| **b)
                            .count()
                    );
                    for (i, t) in targets.iter().enumerate() {
                        assert!(*t >= 3 && *t < s.fds.high, "{c:?}");
                        assert!(!targets[i + 1..].contains(t), "{c:?}");
                    }
                    if let Some(ReadyNotification::PipeFd(n)) = &notify {
                        assert_eq!(s.notify_fd(), Some(*n));
                    }
                }
            }
        }
    }

    #[test]
    fn reserved_notify_fds_are_refused() {
        let mut c = SpawnConfig::new(["/bin/true"]);
        for fd in [-1, 0, 1, 2] {
            c.ready_notification = Some(ReadyNotification::PipeFd(fd));
            assert_eq!(SpawnSpec::new(&c), Err(SpecError::NotifyFdReserved(fd)));
        }
        c.ready_notification = Some(ReadyNotification::PipeFd(3));
        assert!(SpawnSpec::new(&c).is_ok());
        c.socket_activation = true;
        assert_eq!(SpawnSpec::new(&c), Err(SpecError::NotifyFdReserved(3)));
        c.ready_notification = Some(ReadyNotification::PipeVar(b"A=B".to_vec()));
        assert!(matches!(
            SpawnSpec::new(&c),
            Err(SpecError::BadVariableName(_))
        ));
    }

    #[test]
    fn environment_precedence() {
        let mut c = SpawnConfig::new(["/bin/true"])
            .with_env("A", "1")
            .with_env("B", "2")
            .with_env("A", "3")
            .with_env("LISTEN_FDS", "9")
            .with_env("READY", "x");
        c.socket_activation = true;
        c.ready_notification = Some(ReadyNotification::PipeVar(b"READY".to_vec()));
        let s = SpawnSpec::new(&c).unwrap();
        let env: Vec<&[u8]> = s.env.iter().map(|e| e.as_bytes()).collect();
        assert_eq!(
            env,
            [&b"B=2"[..], b"A=3", b"READY=4", b"LISTEN_FDS=1"].to_vec()
        );
    }

    #[test]
    fn validation() {
        assert_eq!(
            SpawnSpec::new(&SpawnConfig::new(Vec::<Vec<u8>>::new())),
            Err(SpecError::EmptyCommand)
        );
        assert_eq!(
            SpawnSpec::new(&SpawnConfig::new(["/bin/a\0b"])),
            Err(SpecError::NulByte("the command"))
        );
        let mut c = SpawnConfig::new(["/bin/true"]).with_env("", "x");
        assert!(matches!(
            SpawnSpec::new(&c),
            Err(SpecError::BadVariableName(_))
        ));
        c.env.clear();
        c.oom_score_adj = Some(1001);
        assert_eq!(SpawnSpec::new(&c), Err(SpecError::BadOomScoreAdj(1001)));
        c.oom_score_adj = None;
        c.ioprio = Some(Ioprio::BestEffort(8));
        assert_eq!(SpawnSpec::new(&c), Err(SpecError::BadIoprio));
        c.ioprio = None;
        let mut log = Logfile::new("/tmp/x");
        log.mode = 0o17777;
        c.stdio = Stdio::Detached {
            input: Input::Null,
            output: Output::Logfile(log),
        };
        assert_eq!(SpawnSpec::new(&c), Err(SpecError::BadMode(0o17777)));
        c.stdio = Stdio::default();
        c.cgroup = Some(b"/sys/fs/cgroup/x".to_vec());
        let s = SpawnSpec::new(&c).unwrap();
        assert_eq!(
            s.extra().cgroup_procs.as_ref().unwrap().as_bytes(),
            b"/sys/fs/cgroup/x/cgroup.procs"
        );
        c.nice = Some(-100);
        assert_eq!(
            SpawnSpec::new(&c).unwrap().extra().nice.as_ref().unwrap().0,
            -20
        );
    }

    #[test]
    fn rarely_used_settings_are_out_of_line() {
        let plain = SpawnSpec::new(&SpawnConfig::new(["/bin/true"])).unwrap();
        assert!(plain.extra.is_none());
        assert_eq!(plain.extra(), &SpecExtra::NONE);
        let mut c = SpawnConfig::new(["/bin/true"]);
        c.oom_score_adj = Some(500);
        let tuned = SpawnSpec::new(&c).unwrap();
        assert_eq!(tuned.extra().oom_score_adj.as_deref(), Some(&b"500"[..]));
        assert!(core::mem::size_of::<SpawnSpec>() <= 192);
    }

    #[test]
    fn ioprio_values() {
        assert_eq!(ioprio_value(Ioprio::None), Some(0));
        assert_eq!(ioprio_value(Ioprio::Idle), Some(3 << 13));
        assert_eq!(ioprio_value(Ioprio::Realtime(4)), Some((1 << 13) | 4));
        assert_eq!(ioprio_value(Ioprio::BestEffort(7)), Some((2 << 13) | 7));
        assert_eq!(ioprio_value(Ioprio::BestEffort(8)), None);
    }
}
