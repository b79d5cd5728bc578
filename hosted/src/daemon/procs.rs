//! Processes: the per-service runtime record, launching (through [`crate::spawn`]), signals,
//! pid files, reaping, exec-status and readiness pipes, and buffered service output.

use super::logbuf::LogBuffer;
use super::logfile::{FileSpec, RotatingLog, READ_PER_TURN};
use super::{token, Daemon, Runtime, TokenKind};
use crate::environ::Environment;
use crate::load::ReadService;
use crate::log::Level;
use crate::reactor::{Interest, Reactor};
use crate::service::{Id, LogSettings, Readiness, ServiceData};
use crate::spawn::{
    self, Console, Credentials, ExecOutcome, ExecStatus, Input, LaunchFds, Logfile, Output,
    PrepareError, SpawnConfig, SpawnSpec, Stdio,
};
use crate::sweep::{self, Allowance, Step, Sweep};
use crate::sys;
use dinit_core::desc::{cnum, LogType};
use dinit_core::engine::{CommandKind, PidFileResult};
use dinit_core::{ExitStatus, Options, Pid, ServiceId, ServiceKind};
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::process::{waitid, Signal, WaitId, WaitIdOptions, WaitOptions, WaitStatus};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::rc::Rc;

/// Default `log-buffer-size`.
pub const DEFAULT_LOG_BUFFER: usize = 4096;

/// Where the daemon puts a service's output.
#[derive(Debug)]
enum OutputSink {
    /// `log-type = buffer`.
    Buffer(LogBuffer),
    /// `log-type = file` with `logfile-max-size`.
    File(RotatingLog),
}

/// A launched process being watched.
#[derive(Debug)]
pub(crate) struct Watched {
    pid: Pid,
    /// Until its exec outcome is known.
    status: Option<ExecStatus>,
    /// The exec outcome, known as the launch returned but not yet reported to the engine
    /// (which is reporting the launch itself): see `watch_exec_status`.
    known: Option<ExecOutcome>,
    /// The outcome has reached the engine. After a failure report, `status` is kept,
    /// unwatched, until the process is reaped: the child, about to exit, may still be using
    /// the launch's memory, which the pipe holds until its end-of-file (there once the
    /// process has ended), so that dropping it never waits.
    reported: bool,
}

/// Keeps `status` with the process until it is reaped if it still holds the launch's memory
/// (a failure was reported; the child has not exited yet), so that dropping it never waits.
fn linger(status: ExecStatus) -> Option<ExecStatus> {
    status.holds_memory().then_some(status)
}

/// Everything the runtime keeps for one loaded service.
#[derive(Debug)]
pub struct ServiceRt {
    /// The loaded description.
    pub data: ServiceData,
    start: Option<Rc<Launch>>,
    stop: Option<Rc<Launch>>,
    /// The start (0) and stop (1) processes launched and not yet reaped.
    procs: [Option<Watched>; 2],
    /// Read end of the readiness pipe of the running process.
    ready: Option<OwnedFd>,
    /// The output pipe (`log-type = buffer` or `pipe`): kept across restarts so that no output
    /// is lost.
    output: Option<(OwnedFd, OwnedFd)>,
    /// Where the daemon puts the output it reads from `output`: a buffer (`log-type =
    /// buffer`) or a file it rotates (`log-type = file` with `logfile-max-size`).
    sink: Option<Box<OutputSink>>,
    /// The listening socket of `socket-listen`, opened at the first start and kept.
    activation: Option<OwnedFd>,
    /// The daemon's end of the last `pass-cs-fd` connection handed out is a normal control
    /// connection; the child's end is closed after the launch.
    pass_cs_fd: bool,
    /// `type = scripted` (how a failed stop command is logged).
    pub(crate) scripted: bool,
    /// The pid recorded in utmp (`inittab-id`/`inittab-line`) while the process runs.
    pub(crate) utmp_pid: Option<Pid>,
}

fn resolve(id: &Id) -> Result<Credentials, PrepareError> {
    let what = id_text(id);
    spawn::resolve_user(&what).map_err(|error| PrepareError::User { what, error })
}

/// A user or group as the description names it.
fn id_text(id: &Id) -> String {
    match id {
        Id::Name(n) => String::from_utf8_lossy(n).into_owned(),
        Id::Number(n) => n.to_string(),
    }
}

fn resolve_uid_gid(
    uid: &Option<Id>,
    gid: &Option<Id>,
) -> Result<(Option<u32>, Option<u32>), PrepareError> {
    let mut out_uid = None;
    let mut out_gid = None;
    if let Some(u) = uid {
        let c = resolve(u)?;
        out_uid = Some(c.uid);
        out_gid = c.gid;
    }
    if let Some(g) = gid {
        let what = id_text(g);
        let gid =
            spawn::resolve_group(&what).map_err(|error| PrepareError::Group { what, error })?;
        out_gid = Some(gid);
    }
    Ok((out_uid, out_gid))
}

/// The log file of `log-type = file` as the settings describe it (owner resolved), if any.
fn logfile_of(log: &LogSettings) -> Result<Option<Logfile>, PrepareError> {
    let Some(path) = &log.file else {
        return Ok(None);
    };
    let (uid, gid) = resolve_uid_gid(&log.uid, &log.gid)?;
    Ok(Some(Logfile {
        path: path.as_os_str().as_bytes().to_vec(),
        mode: log.permissions,
        uid,
        gid,
    }))
}

/// Where a service's standard input and output go: the console, or a log file, a pipe or
/// nowhere.
fn stdio(data: &ServiceData, opts: Options) -> Result<Stdio, PrepareError> {
    let console =
        opts.contains(Options::RUNS_ON_CONSOLE) || opts.contains(Options::STARTS_ON_CONSOLE);
    Ok(if console || opts.contains(Options::SHARES_CONSOLE) {
        Stdio::Console(Console {
            exclusive: console,
            unmask_intr: opts.contains(Options::UNMASK_INTR),
        })
    } else {
        let log = data.log();
        let output = match log.log_type {
            LogType::None => Output::Null,
            // With a size limit the daemon writes the file (and rotates it).
            // With a size limit the daemon writes the file (its owner is still checked here).
            LogType::File => match (logfile_of(log)?, log.max_size) {
                (Some(_), Some(_)) => Output::Pipe,
                (Some(file), None) => Output::Logfile(file),
                (None, _) => Output::Null,
            },
            LogType::Buffer | LogType::Pipe => Output::Pipe,
        };
        let input = if data.extra().consumer_of.is_some() {
            Input::Pipe
        } else {
            Input::Null
        };
        Stdio::Detached { input, output }
    })
}

/// The launch configuration of one of a service's commands.
fn spawn_config(
    read: &ReadService,
    command: &[CString],
    cgroup_base: Option<&[u8]>,
    original_env: &Environment,
) -> Result<SpawnConfig, PrepareError> {
    let data = &read.data;
    let opts = read.config.options;
    let mut cfg = SpawnConfig::new(command.iter().map(|c| c.as_bytes().to_vec()));
    // The service's own variables (env-file, load-options), applied at launch over the
    // daemon's global environment as it is then: `!clear` drops all of it, `!unset` hides a
    // variable, `!import` takes the value dinit started with.
    let view = data.extra().env.launch_view(original_env);
    cfg.env = view.sets;
    cfg.clear_base_env = view.clear_base;
    cfg.hidden_base_env = view.hidden;
    cfg.working_dir = Some(read.working_dir().as_os_str().as_bytes().to_vec());
    cfg.stdio = stdio(data, opts)?;
    cfg.ready_notification = data.extra().readiness.as_ref().map(|r| match r {
        Readiness::PipeFd(fd) => spawn::ReadyNotification::PipeFd(*fd),
        Readiness::PipeVar(v) => spawn::ReadyNotification::PipeVar(v.clone()),
    });
    cfg.socket_activation = data.extra().socket.is_some();
    cfg.pass_control_socket = opts.contains(Options::PASS_CS_FD);
    if let Some(cg) = &data.extra().cgroup {
        // Relative paths resolve against `-b`, or the cgroup dinit runs in.
        let own = match cgroup_base {
            Some(b) => Some(b.to_vec()),
            None => spawn::own_cgroup().ok().flatten(),
        };
        let path = spawn::resolve_cgroup_path(cg.as_os_str().as_bytes(), own.as_deref())
            .ok_or_else(|| PrepareError::Cgroup(cg.clone()))?;
        cfg.cgroup = Some(path);
    }
    cfg.rlimits = data.extra().rlimits.clone();
    cfg.nice = data.extra().nice;
    cfg.oom_score_adj = data.extra().oom_score_adj;
    cfg.ioprio = data.extra().ioprio;
    if let Some(r) = &data.extra().run_as {
        cfg.run_as = Some(resolve(r)?);
    }
    if let Some(caps) = &data.extra().capabilities {
        let text = String::from_utf8_lossy(caps);
        cfg.capabilities = Some(spawn::Iab::parse(&text).map_err(PrepareError::Capabilities)?);
    }
    cfg.securebits = data.extra().securebits;
    cfg.no_new_privs = opts.contains(Options::NO_NEW_PRIVS);
    cfg.new_process_group = true;
    Ok(cfg)
}

fn prepare(
    read: &ReadService,
    command: &[CString],
    cgroup_base: Option<&[u8]>,
    original_env: &Environment,
) -> Result<Option<Rc<Launch>>, PrepareError> {
    if command.is_empty() {
        return Ok(None);
    }
    let cfg = spawn_config(read, command, cgroup_base, original_env)?;
    let spec = SpawnSpec::new(&cfg).map_err(PrepareError::Spec)?;
    Ok(Some(Rc::new(spec)))
}

/// A command's prepared launch; shared (`Rc`), since a child still setting up holds it
/// while a reload may replace the service's description, and absent for most stop commands.
type Launch = SpawnSpec;

impl ServiceRt {
    /// The pid of the running start process (the service process), if any.
    pub(crate) fn main_pid(&self) -> Option<Pid> {
        self.procs.first().and_then(Option::as_ref).map(|w| w.pid)
    }

    /// Records the service process in utmp if the service has `inittab-id`/`inittab-line`.
    pub(crate) fn utmp_started(&mut self, pid: Option<Pid>) {
        let (Some(pid), true) = (
            pid,
            self.data.extra().inittab_id.is_some() || self.data.extra().inittab_line.is_some(),
        ) else {
            return;
        };
        let id = self.data.extra().inittab_id.as_deref().unwrap_or(&[]);
        let line = self.data.extra().inittab_line.as_deref().unwrap_or(&[]);
        crate::utmp::process_started(id, line, pid);
        self.utmp_pid = Some(pid);
    }

    /// Clears the utmp entry of a process that ended.
    pub(crate) fn utmp_ended(&mut self) {
        if let Some(pid) = self.utmp_pid.take() {
            let id = self.data.extra().inittab_id.as_deref().unwrap_or(&[]);
            let line = self.data.extra().inittab_line.as_deref().unwrap_or(&[]);
            crate::utmp::process_ended(id, line, pid);
        }
    }

    /// Prepares a loaded service: resolves users, groups and capabilities, and builds its
    /// launch specifications and buffers. Errors are load errors.
    pub fn new(
        read: ReadService,
        cgroup_base: Option<&[u8]>,
        original_env: &Environment,
    ) -> Result<ServiceRt, PrepareError> {
        // The commands live on in the launch specifications, the dependencies and the
        // configuration in the engine: only `data` is kept.
        let start = prepare(&read, &read.command, cgroup_base, original_env)?;
        let stop = prepare(&read, &read.stop_command, cgroup_base, original_env)?;
        let pass_cs_fd = read.config.options.contains(Options::PASS_CS_FD);
        let scripted = read.config.kind == ServiceKind::Scripted;
        let data = read.data;
        let sink = (data.log().log_type == LogType::Buffer).then(|| {
            Box::new(OutputSink::Buffer(LogBuffer::new(
                data.log()
                    .buffer_size
                    .map_or(DEFAULT_LOG_BUFFER, |n| n as usize),
                data.log().buffer_keep,
            )))
        });
        Ok(ServiceRt {
            data,
            start,
            stop,
            procs: [None, None],
            ready: None,
            output: None,
            sink,
            activation: None,
            pass_cs_fd,
            scripted,
            utmp_pid: None,
        })
    }

    /// Takes the description (settings, launch specifications) of a reloaded service, keeping
    /// its running processes, pipes, socket and buffered output.
    pub(crate) fn replace_description(&mut self, new: ServiceRt) {
        self.data = new.data;
        self.start = new.start;
        self.stop = new.stop;
        self.pass_cs_fd = new.pass_cs_fd;
        self.scripted = new.scripted;
        // A buffer keeps its contents; a log file is opened again with the new settings at
        // the next output.
        match (self.sink.as_deref_mut(), new.sink) {
            (_, None) => self.sink = None,
            (Some(OutputSink::Buffer(old)), Some(_)) => old.set_keep(self.data.log().buffer_keep),
            (_, Some(b)) => self.sink = Some(b),
        }
    }

    /// The output buffer (`log-type = buffer`).
    pub fn log_buffer(&self) -> Option<&LogBuffer> {
        match self.sink.as_deref() {
            Some(OutputSink::Buffer(b)) => Some(b),
            _ => None,
        }
    }

    /// The output buffer, to change.
    pub fn log_buffer_mut(&mut self) -> Option<&mut LogBuffer> {
        match self.sink.as_deref_mut() {
            Some(OutputSink::Buffer(b)) => Some(b),
            _ => None,
        }
    }

    /// The file the daemon writes the output to (`logfile-max-size`), as the settings say
    /// now: opened again if they changed (a reload).
    fn rotating_log(&mut self) -> Option<&mut RotatingLog> {
        let log = self.data.log();
        let (LogType::File, Some(path), Some(max_size)) = (log.log_type, &log.file, log.max_size)
        else {
            return None;
        };
        let keep = log.rotate.unwrap_or(1);
        // Compared in place: this runs for every chunk of output, and allocates nothing
        // unless the file is to be opened anew.
        let current = match self.sink.as_deref() {
            Some(OutputSink::File(f)) => {
                let s = f.spec();
                s.file.path == path.as_os_str().as_bytes()
                    && s.file.mode == log.permissions
                    && s.max_size == max_size
                    && s.keep == keep
            }
            _ => false,
        };
        if !current {
            // (An owner that cannot be resolved failed the launch already.)
            let file = logfile_of(log).ok().flatten()?;
            let spec = FileSpec {
                file,
                max_size,
                keep,
            };
            self.sink = Some(Box::new(OutputSink::File(RotatingLog::new(spec))));
        }
        match self.sink.as_deref_mut() {
            Some(OutputSink::File(f)) => Some(f),
            _ => None,
        }
    }

    /// Unregisters and closes everything the service holds (it is being unloaded).
    pub(crate) fn release(&mut self, reactor: &mut Reactor) {
        for w in self.procs.iter_mut() {
            if let Some(s) = w.take().and_then(|w| w.status) {
                let _ = reactor.remove(&s);
            }
        }
        if let Some(r) = self.ready.take() {
            let _ = reactor.remove(&r);
        }
        if let Some((r, _)) = &self.output {
            let _ = reactor.remove(r);
        }
        self.output = None;
        self.activation = None;
    }
}

/// Why a command could not be launched; the daemon logs it in Dinit's words (`NAME: WHAT:
/// ERROR`), and the start fails.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LaunchError {
    /// A step that failed with an error number: what Dinit calls it, and the error.
    Step(&'static str, rustix::io::Errno),
    /// A step that failed without an error number (the whole message).
    Plain(&'static str),
    /// The spawner could not start the child for want of something other than a process or
    /// a pipe (buffers, descriptors the spec needs): logged in Dinit's words for it, the cause
    /// at debug level.
    Spawn(spawn::SpawnError),
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::Step(what, e) => {
                write!(f, "{what}: {}", crate::log::Errno(e.raw_os_error()))
            }
            LaunchError::Plain(what) => f.write_str(what),
            LaunchError::Spawn(_) => f.write_str("can't launch process; out of memory"),
        }
    }
}

/// Opens the activation socket of `socket-listen`.
fn open_activation_socket(data: &ServiceData) -> Result<OwnedFd, LaunchError> {
    use rustix::net::{
        bind, listen, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType,
    };
    let Some(sock) = &data.extra().socket else {
        return Err(LaunchError::Plain("no activation socket"));
    };
    let err = |what: &'static str| move |e: rustix::io::Errno| LaunchError::Step(what, e);
    let addr = SocketAddrUnix::new(&sock.path).map_err(err("error creating activation socket"))?;
    // A stale socket file is replaced; anything else at the path is an error (never follow or
    // delete other files).
    match std::fs::symlink_metadata(&sock.path) {
        Ok(meta) => {
            use std::os::unix::fs::FileTypeExt;
            if meta.file_type().is_socket() {
                let _ = std::fs::remove_file(&sock.path);
            } else {
                return Err(LaunchError::Plain(
                    "activation socket file exists (and is not a socket)",
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(LaunchError::Step(
                "error checking activation socket",
                rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO),
            ))
        }
    }
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(err("error creating activation socket"))?;
    let (uid, gid) = resolve_uid_gid(&sock.uid, &sock.gid).map_err(|_| {
        LaunchError::Step(
            "error setting activation socket owner/group",
            rustix::io::Errno::INVAL,
        )
    })?;
    // The file gets its mode from the umask as it is created, and its owner through a call
    // that does not follow a symbolic link: nothing is done through the path afterwards that
    // could be redirected (the directory may be writable by others, who could replace the
    // socket with a link to another file between the bind and a chmod or chown).
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(!sock.permissions & 0o777));
    let bound = bind(&fd, &addr);
    rustix::process::umask(old);
    bound.map_err(err("error binding activation socket"))?;
    if uid.is_some() || gid.is_some() {
        let u = uid.map(rustix::fs::Uid::from_raw);
        let g = gid.map(rustix::fs::Gid::from_raw);
        rustix::fs::chownat(
            rustix::fs::CWD,
            &sock.path,
            u,
            g,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(err("error setting activation socket owner/group"))?;
    }
    listen(&fd, 128).map_err(err("error listening on activation socket"))?;
    Ok(fd)
}

/// A started child and the descriptors of its launch that outlive it on our side.
struct Started {
    child: spawn::Child,
    /// The readiness pipe (read end, write end).
    notify: Option<(OwnedFd, OwnedFd)>,
    /// The `pass-cs-fd` connection (ours, the child's).
    control: Option<(OwnedFd, OwnedFd)>,
}

/// The engine asks for a command of `id` to be launched.
pub(crate) fn launch(
    rt: &mut Runtime,
    id: ServiceId,
    command: CommandKind,
) -> Result<Pid, LaunchError> {
    let slot = id.index();
    let role: usize = match command {
        CommandKind::Start => 0,
        CommandKind::Stop => 1,
    };
    let producer = producer_with_pipe(rt, id);
    let Runtime {
        services,
        reactor,
        pids,
        env_strings,
        deferred,
        ..
    } = rt;
    let Some(svc) = services.get_mut(slot).and_then(Option::as_deref_mut) else {
        return Err(LaunchError::Plain("no such service"));
    };
    open_output_and_socket(svc, reactor, slot)?;
    let started = spawn_command(services, slot, producer, role, env_strings)?;
    let pid = started.child.pid;
    let watched = watch_exec_status(pid, started.child.status, reactor, deferred, id, role);
    if let Some(svc) = services.get_mut(slot).and_then(Option::as_deref_mut) {
        if let Some(slot_proc) = svc.procs.get_mut(role) {
            *slot_proc = Some(watched);
        }
        if let Some((read, _write)) = started.notify {
            if let Some(old) = svc.ready.take() {
                let _ = reactor.remove(&old);
            }
            if reactor
                .add(&read, token(TokenKind::Ready, slot), Interest::READ)
                .is_ok()
            {
                svc.ready = Some(read);
            }
        }
    }
    pids.insert(pid, id, u8::try_from(role).unwrap_or(0));
    if let Some((ours, _theirs)) = started.control {
        // Our end becomes an ordinary control connection (added once the engine returns);
        // the child's end is closed here, the child has its copy.
        deferred.new_conns.push(ours);
    }
    Ok(pid)
}

/// The slot of the service whose output `id` consumes (`consumer-of`), with its output pipe
/// created if the producer has not run yet: the consumer's input is that pipe.
fn producer_with_pipe(rt: &mut Runtime, id: ServiceId) -> Option<usize> {
    let producer = rt
        .service(id)
        .and_then(|s| s.data.extra().consumer_of.as_deref())
        .and_then(|n| {
            rt.services
                .iter()
                .position(|s| s.as_ref().is_some_and(|s| *s.data.name == *n))
        })?;
    let p = rt
        .services
        .get_mut(producer)
        .and_then(Option::as_deref_mut)?;
    if p.output.is_none() {
        p.output = spawn::consumer_pipe().ok();
    }
    Some(producer)
}

/// Opens what a service keeps across its launches, if it is not open yet: the output pipe
/// (`log-type = buffer` or `pipe`) and the activation socket (`socket-listen`).
fn open_output_and_socket(
    svc: &mut ServiceRt,
    reactor: &mut Reactor,
    slot: usize,
) -> Result<(), LaunchError> {
    let log = svc.data.log();
    let log_type = log.log_type;
    // The daemon reads a buffered service's output, or that of a log file it rotates.
    let daemon_reads = log_type == LogType::Buffer
        || (log_type == LogType::File && log.file.is_some() && log.max_size.is_some());
    if (daemon_reads || log_type == LogType::Pipe) && svc.output.is_none() {
        // The daemon reads without blocking; a `pipe` is read by its consumer, which expects
        // an ordinary blocking pipe.
        let pipe = if daemon_reads {
            spawn::child_pipe()
        } else {
            spawn::consumer_pipe()
        }
        .map_err(|e| LaunchError::Step("can't create output pipe", e))?;
        if daemon_reads {
            reactor
                .add(&pipe.0, token(TokenKind::Output, slot), Interest::READ)
                .map_err(|_| {
                    LaunchError::Plain("can't add output watch (insufficient resources)")
                })?;
        }
        svc.output = Some(pipe);
    }
    if svc.data.extra().socket.is_some() && svc.activation.is_none() {
        svc.activation = Some(open_activation_socket(&svc.data)?);
    }
    Ok(())
}

/// Creates the per-launch descriptors (readiness pipe, `pass-cs-fd` connection) and starts
/// the command of `role` (0 start, 1 stop) of the service in `slot`; its input is the output
/// pipe of `producer`, if it has one.
fn spawn_command(
    services: &[Option<Box<ServiceRt>>],
    slot: usize,
    producer: Option<usize>,
    role: usize,
    env_strings: &[CString],
) -> Result<Started, LaunchError> {
    let Some(svc) = services.get(slot).and_then(Option::as_deref) else {
        return Err(LaunchError::Plain("no such service"));
    };
    let spec: &Rc<SpawnSpec> = match role {
        0 => svc.start.as_ref(),
        _ => svc.stop.as_ref(),
    }
    .ok_or(LaunchError::Plain("no command to run"))?;
    let notify = if spec.needs_notify_pipe() {
        Some(
            spawn::child_pipe()
                .map_err(|e| LaunchError::Step("can't create notification pipe", e))?,
        )
    } else {
        None
    };
    let control = if svc.pass_cs_fd {
        Some(
            rustix::net::socketpair(
                rustix::net::AddressFamily::UNIX,
                rustix::net::SocketType::STREAM,
                rustix::net::SocketFlags::CLOEXEC | rustix::net::SocketFlags::NONBLOCK,
                None,
            )
            .map_err(|e| LaunchError::Step("can't create control socket", e))?,
        )
    } else {
        None
    };
    let input = producer
        .and_then(|p| services.get(p))
        .and_then(Option::as_deref)
        .and_then(|p| p.output.as_ref())
        .map(|(read, _)| read.as_fd());
    let fds = LaunchFds {
        notify: notify.as_ref().map(|(_, w)| w.as_fd()),
        activation: svc.activation.as_ref().map(|s| s.as_fd()),
        control: control.as_ref().map(|(_, theirs)| theirs.as_fd()),
        input,
        output: svc.output.as_ref().map(|(_, w)| w.as_fd()),
    };
    match spawn::spawn(spec, &fds, env_strings) {
        Ok(child) => Ok(Started {
            child,
            notify,
            control,
        }),
        Err(spawn::SpawnError::Fork(e)) => {
            let what = match role {
                0 => "could not fork",
                _ => "could not fork (for stop command)",
            };
            Err(LaunchError::Step(what, e))
        }
        Err(spawn::SpawnError::StatusPipe(e)) => {
            Err(LaunchError::Step("can't create status check pipe", e))
        }
        Err(e) => Err(LaunchError::Spawn(e)),
    }
}

/// Learns a launched child's exec outcome, or arranges to. The child usually has not exec'd
/// yet (it runs beside the daemon): its status pipe is watched by the event loop. When the
/// outcome is already in the pipe, it is taken now and the pipe closed. Either way the engine
/// hears of it at the end of the loop's turn (`Daemon::turn`) or later: after the reply to the
/// command that caused the launch, never inside that command.
fn watch_exec_status(
    pid: Pid,
    mut status: ExecStatus,
    reactor: &mut Reactor,
    deferred: &mut super::Deferred,
    id: ServiceId,
    role: usize,
) -> Watched {
    let known = match status.poll() {
        Ok(Some(outcome)) => Some(outcome),
        Ok(None) => None,
        Err(_) => Some(ExecOutcome::Started),
    };
    if known.is_some() {
        deferred
            .exec_known
            .push((id, u8::try_from(role).unwrap_or(0)));
        return Watched {
            pid,
            status: linger(status),
            known,
            reported: false,
        };
    }
    if reactor
        .add(
            &status,
            token(TokenKind::Status, id.index() * 2 + role),
            Interest::READ,
        )
        .is_err()
    {
        // Without a watch the outcome is learnt when the process is reaped.
    }
    Watched {
        pid,
        status: Some(status),
        known: None,
        reported: false,
    }
}

/// Sends `signal` to `pid`, or to the process group it is in (as Dinit: the group is looked up,
/// so a bgprocess daemon that is no group leader takes the rest of its group with it). The
/// group is never the daemon's own (a pid file naming a process of our group signals that
/// process only); a group that cannot be signalled falls back to the process.
pub(crate) fn send_signal(pid: Pid, signal: i32, group: bool) {
    if pid <= 0 {
        return;
    }
    if group {
        let pgid = sys::process_group_of(pid).unwrap_or(pid);
        let ours = pgid != pid && pgid == sys::own_process_group();
        if pgid > 1 && !ours && sys::kill_raw(-pgid, signal).is_ok() {
            return;
        }
    }
    let _ = sys::kill_raw(pid, signal);
}

/// Reads the pid file of a bgprocess service.
pub(crate) fn read_pid_file(rt: &mut Runtime, id: ServiceId) -> PidFileResult {
    let Some((path, name)) = rt
        .service(id)
        .and_then(|s| Some((s.data.extra().pid_file.clone()?, s.data.name.clone())))
    else {
        return PidFileResult::Invalid;
    };
    let name = super::Name(&name);
    let Some(pid) = pid_from_file(rt, &path, &name) else {
        return PidFileResult::Invalid;
    };
    // Our child (a daemon re-parented to us, the daemon being a subreaper)? Peek without
    // reaping: the normal reaping reports its end.
    let peeked = match rustix::process::Pid::from_raw(pid) {
        Some(target) => waitid(
            WaitId::Pid(target),
            WaitIdOptions::NOHANG | WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ),
        // What the kernel answers for pid 0.
        None => Err(Errno::INVAL),
    };
    match peeked {
        Ok(None) => {
            rt.pids.insert(pid, id, 0);
            return PidFileResult::Running(pid);
        }
        // It has already ended.
        Ok(Some(_)) => return PidFileResult::NotRunning,
        Err(_) => {}
    }
    if matches!(peeked, Err(Errno::CHILD)) {
        // Not our child: supervised only as far as its existence can be seen.
        let exists = match rustix::process::Pid::from_raw(pid) {
            Some(target) => rustix::process::test_kill_process(target) != Err(Errno::SRCH),
            None => false,
        };
        if exists {
            rt.log.logf(
                Level::Warn,
                format_args!("{name}: unable to supervise process with pid {pid}"),
            );
            rt.pids.insert(pid, id, 0);
            return PidFileResult::Running(pid);
        }
    }
    rt.log.logf(
        Level::Error,
        format_args!("{name}: pid read from pidfile ({pid}) is not valid"),
    );
    PidFileResult::NotRunning
}

/// The pid in the pid file at `path`, as Dinit reads it: at most 20 bytes, a number as
/// strtoull reads it (base 0: decimal, 0x hexadecimal or 0 octal; leading blanks and a sign
/// allowed). Each failure is logged in Dinit's words.
fn pid_from_file(rt: &mut Runtime, path: &std::path::Path, name: &super::Name<'_>) -> Option<Pid> {
    let mut buf = [0u8; 20];
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let errno = crate::log::Errno(e.raw_os_error().unwrap_or(0));
            rt.log
                .logf(Level::Error, format_args!("{name}: read pid file: {errno}"));
            return None;
        }
    };
    let mut n = 0;
    while n < buf.len() {
        match std::io::Read::read(&mut file, buf.get_mut(n..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let errno = crate::log::Errno(e.raw_os_error().unwrap_or(0));
                rt.log.logf(
                    Level::Error,
                    format_args!("{name}: could not read from pidfile; {errno}"),
                );
                return None;
            }
        }
    }
    let pid = parse_c_unsigned(buf.get(..n).unwrap_or(&[])).and_then(|v| Pid::try_from(v).ok());
    if pid.is_none() {
        rt.log.logf(
            Level::Error,
            format_args!("{name}: pid read from pidfile (-1) is not valid"),
        );
    }
    pid
}

/// A number as C's `strtoull(text, &end, 0)` reads it, if it read anything and did not
/// overflow; whatever follows is ignored.
fn parse_c_unsigned(text: &[u8]) -> Option<u64> {
    cnum::scan(text, cnum::Radix::Auto)
        .filter(|n| n.magnitude.is_some())
        .map(|n| n.unsigned())
}

/// Takes the terminal back after a console service released it.
pub(crate) fn reclaim_terminal() {
    // SIGTTOU is ignored for the call so that a background daemon is not stopped by it.
    sys::signal::with_ignored(Signal::TTOU, sys::foreground_own_group);
}

/// A `kill-all-on-stop` sweep under way (see [`crate::sweep`]), and the services whose stop
/// waits for its end.
#[derive(Debug)]
pub(crate) struct KillAll {
    sweep: Sweep,
    waiting: Vec<ServiceId>,
    /// When the loop must poll the sweep again at the latest.
    pub(crate) next_poll: std::time::Instant,
}

impl Runtime {
    /// `kill-all-on-stop` of `id` (the engine waits to bring it down): TERM to every other
    /// process now; the loop polls the sweep ([`Daemon::advance_kill_all`]) and never blocks.
    /// A second service asking while a sweep is under way joins it, and the sweep begins again
    /// (TERM now, full allowances), so that what started since the first TERM is ended too
    /// before either stop goes on.
    pub(crate) fn begin_kill_all(&mut self, id: ServiceId) {
        // As Dinit logs it.
        self.log
            .log(Level::Notice, b"Sending TERM/KILL to all processes...");
        sweep::term_all();
        let now = std::time::Instant::now();
        let sweep = Sweep::begin(now, Allowance::KILL_ALL_ON_STOP);
        match self.kill_all.as_mut() {
            Some(k) => {
                k.sweep = sweep;
                k.waiting.push(id);
                k.next_poll = now;
            }
            None => {
                self.kill_all = Some(KillAll {
                    sweep,
                    waiting: vec![id],
                    next_poll: now,
                });
            }
        }
    }
}

/// How a reaped child ended.
fn exit_status(status: WaitStatus) -> ExitStatus {
    if let Some(code) = status.exit_status() {
        ExitStatus::Exited(code)
    } else if let Some(signal) = status.terminating_signal() {
        if libc::WCOREDUMP(status.as_raw()) {
            ExitStatus::Dumped(signal)
        } else {
            ExitStatus::Signaled(signal)
        }
    } else {
        ExitStatus::None
    }
}

impl Daemon<'_> {
    /// Moves the `kill-all-on-stop` sweep on, if one is under way (once per turn of the loop,
    /// after the children that ended were reaped): KILL when the TERM allowance has run out,
    /// and once no process is left (or the KILL allowance has run out) the stops that waited
    /// for it proceed.
    pub(crate) fn advance_kill_all(&mut self) {
        let Some(k) = self.rt.kill_all.as_mut() else {
            return;
        };
        match k.sweep.poll(std::time::Instant::now(), sweep::none_left()) {
            Step::Wait { kill, until } => {
                if kill {
                    sweep::kill_all();
                }
                k.next_poll = until;
            }
            Step::Done { .. } => {
                let waiting = std::mem::take(&mut k.waiting);
                self.rt.kill_all = None;
                for id in waiting {
                    self.with_engine(|set, now, host| set.kill_all_done(id, now, host));
                }
            }
        }
    }

    /// Reaps every child that has ended and tells the engine about those it owns (others,
    /// reparented orphans, are just reaped).
    pub(crate) fn reap_children(&mut self) {
        // Without WUNTRACED or WCONTINUED, only children that have ended are reported.
        while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
            self.process_ended(pid.as_raw_nonzero().get(), exit_status(status));
        }
        self.rt.log.flush();
    }

    fn process_ended(&mut self, pid: Pid, status: ExitStatus) {
        let Some((id, role)) = self.rt.pids.remove(pid) else {
            return;
        };
        // The exec outcome must reach the engine before the exit.
        self.finish_exec_status(id, role, true);
        if let Some(svc) = self.rt.service_mut(id) {
            if let Some(w) = svc.procs.get_mut(usize::from(role)) {
                if w.as_ref().is_some_and(|w| w.pid == pid) {
                    *w = None;
                }
            }
        }
        self.with_engine(|set, now, host| set.process_exited(id, pid, status, now, host));
    }

    /// Reports the exec outcomes learnt during launches (see `launch`).
    /// A report may launch more (a dependent starts), whose outcomes are queued in turn and
    /// taken by the same loop: the nested call returns at once, so the depth stays bounded
    /// however long the chain of launches.
    pub(crate) fn report_known_exec_outcomes(&mut self) {
        if self.rt.deferred.reporting_exec {
            return;
        }
        self.rt.deferred.reporting_exec = true;
        while let Some((id, role)) = self.rt.deferred.exec_known.pop() {
            self.finish_exec_status(id, role, false);
        }
        self.rt.deferred.reporting_exec = false;
    }

    /// The exec status pipe of `slot`/`role` is readable.
    pub(crate) fn exec_status_ready(&mut self, slot: usize, role: u8) {
        let Some(id) = self.set.id_at(slot) else {
            return;
        };
        self.finish_exec_status(id, role, false);
    }

    /// Reads the exec outcome if it is known (`force`: the process has exited, so it is) and
    /// reports it to the engine.
    fn finish_exec_status(&mut self, id: ServiceId, role: u8, force: bool) {
        let Some(svc) = self.rt.service_mut(id) else {
            return;
        };
        let Some(w) = svc
            .procs
            .get_mut(usize::from(role))
            .and_then(Option::as_mut)
        else {
            return;
        };
        if w.reported {
            return;
        }
        let pid = w.pid;
        let outcome = if let Some(known) = w.known.take() {
            Some(known)
        } else {
            let Some(status) = w.status.as_mut() else {
                return;
            };
            if force {
                status.wait().ok()
            } else {
                match status.poll() {
                    Ok(Some(o)) => Some(o),
                    Ok(None) => return,
                    Err(_) => Some(ExecOutcome::Started),
                }
            }
        };
        w.reported = true;
        if let Some(s) = w.status.take() {
            let _ = self.rt.reactor.remove(&s);
            if let Some(w) = self
                .rt
                .service_mut(id)
                .and_then(|svc| svc.procs.get_mut(usize::from(role)))
                .and_then(Option::as_mut)
            {
                w.status = linger(s);
            }
        }
        self.with_engine(|set, now, host| match outcome {
            Some(ExecOutcome::Started) | None => set.exec_succeeded(id, pid, now, host),
            Some(ExecOutcome::Failed(f)) => set.exec_failed(id, pid, f.stage, f.errno, now, host),
        });
    }

    /// The readiness pipe of `slot` is readable: any data means ready; end of file closes it.
    pub(crate) fn readiness_ready(&mut self, slot: usize) {
        let Some(id) = self.set.id_at(slot) else {
            return;
        };
        let mut buf = [0u8; 128];
        let mut got = false;
        let mut closed = false;
        if let Some(svc) = self.rt.service_mut(id) {
            if let Some(fd) = &svc.ready {
                loop {
                    match rustix::io::read(fd, &mut buf) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(_) => got = true,
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(rustix::io::Errno::AGAIN) => break,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
            }
        }
        if got || closed {
            if let Some(fd) = self.rt.service_mut(id).and_then(|s| s.ready.take()) {
                let _ = self.rt.reactor.remove(&fd);
            }
        }
        if got {
            self.with_engine(|set, now, host| set.ready(id, now, host));
        } else if closed {
            // Closed (or failed) without a word: the start has failed (as with Dinit).
            self.with_engine(|set, now, host| set.readiness_lost(id, now, host));
        }
    }

    /// Output the daemon reads (`log-type = buffer`, or a log file it rotates) is readable:
    /// takes up to [`READ_PER_TURN`] bytes (the loop comes back for the rest).
    pub(crate) fn output_ready(&mut self, slot: usize) {
        let Some(id) = self.set.id_at(slot) else {
            return;
        };
        let Some(svc) = self.rt.service_mut(id) else {
            return;
        };
        let mut buf = [0u8; 4096];
        let mut taken = 0;
        let mut failure = None;
        while taken < READ_PER_TURN {
            let Some((read, _)) = &svc.output else { return };
            match rustix::io::read(read, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    taken += n;
                    let bytes = buf.get(..n).unwrap_or(&[]);
                    if let Some(b) = svc.log_buffer_mut() {
                        b.append(bytes);
                    } else if let Some(f) = svc.rotating_log() {
                        if let Some(e) = f.write_reporting(bytes) {
                            failure.get_or_insert(e);
                        }
                    }
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => break,
            }
        }
        if let Some(e) = failure {
            let name = svc.data.name.clone();
            self.rt.log.logf(
                Level::Error,
                format_args!(
                    "{}: {e}; its output is dropped until it can be written",
                    super::Name(&name)
                ),
            );
        }
    }
}

#[cfg(test)]
mod size_guard {
    /// Every loaded service carries one of these: keep it small (the launch specifications
    /// are boxed, most services have no stop command; rarely used settings are in
    /// `ServiceData::extra`; the configuration is the engine's and the description's path is
    /// not kept). A regression guard, not a target.
    #[test]
    fn runtime_record_stays_small() {
        // 232 bytes until issue 16; each process slot now holds the handle on its launch's
        // memory (one pointer, the rest is in the region's header): 264; without the copy of
        // the engine's configuration and the description's path: 200.
        let size = core::mem::size_of::<super::ServiceRt>();
        assert!(size <= 200, "ServiceRt grew to {size} bytes");
    }

    #[test]
    fn pid_files_are_read_as_strtoull_reads_them() {
        for (text, want) in [
            (&b"1234\n"[..], Some(1234)),
            (b"  42 trailing", Some(42)),
            (b"+7", Some(7)),
            (b"0x1f", Some(31)),
            (b"010", Some(8)),
            (b"0", Some(0)),
            (b"garbage", None),
            (b"", None),
            (b"-1", Some(u64::MAX)),
            (b"99999999999999999999999", None),
        ] {
            assert_eq!(super::parse_c_unsigned(text), want, "{text:?}");
        }
    }
}
