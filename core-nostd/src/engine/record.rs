//! The records the engine keeps: one per service slot and one per dependency edge.
//!
//! Every field's empty value is all-zero bits, so an empty `ServiceSet` can live in a `static`
//! that the linker puts in `.bss`: the tables cost address space, not file size, and only the
//! pages actually touched cost memory.
//!
//! Links between records are [`Link`]s, indices plus one (zero meaning "none"), never pointers:
//! the service graph, the propagation queues and the timer heap are all threaded through these
//! records, so that walking or changing a graph of any depth needs neither allocation nor
//! recursion.

use crate::config::ServiceConfig;
use crate::time::{Duration, Instant};
use crate::types::{DepKind, ExecStage, ExitStatus, Pid, ServiceState, StopReason};

/// Entry `i` of the two tables the engine indexes by a small position, side by side: hash
/// bucket `i` (the first record of its chain) and timer-heap position `i` (the record there).
/// With few services only their first entries are in use; kept as two arrays of `S` entries,
/// each started on a page of its own, so a daemon with a hundred services touched two pages of
/// them where side by side it touches one (and with a thousand, a page more: 2048 buckets).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub(crate) struct IndexSlot {
    /// Hash bucket: the first record of the chain (`Record::hash_next`).
    pub bucket: Link,
    /// Timer heap: the record at this position.
    pub heap: Link,
}

impl IndexSlot {
    pub(crate) const EMPTY: IndexSlot = IndexSlot {
        bucket: Link::NONE,
        heap: Link::NONE,
    };
}

/// An optional index into one of the engine's tables, stored as index + 1 so that zero means
/// "none" (and an all-zero record is an empty one).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Hash)]
pub(crate) struct Link(u32);

impl Link {
    pub(crate) const NONE: Link = Link(0);

    /// A link to `index`; indices are bounded by the table capacities, which are checked to
    /// be below `u32::MAX` when a set is created.
    pub(crate) fn to(index: usize) -> Link {
        match u32::try_from(index) {
            Ok(i) if i < u32::MAX => Link(i.wrapping_add(1)),
            _ => Link::NONE,
        }
    }

    pub(crate) fn get(self) -> Option<usize> {
        match self.0 {
            0 => None,
            n => usize::try_from(n.wrapping_sub(1)).ok(),
        }
    }

    pub(crate) fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// Per-service run-time flags (bit positions in `Record::flags`).
pub(crate) mod flag {
    /// Explicitly activated (counts as one in `required_by`).
    pub const EXPLICIT: u64 = 1 << 0;
    pub const PIN_STARTED: u64 = 1 << 1;
    pub const PIN_STOPPED: u64 = 1 << 2;
    /// Pending propagation steps, carried out when the service leaves the propagation queue.
    pub const PROP_REQUIRE: u64 = 1 << 3;
    pub const PROP_RELEASE: u64 = 1 << 4;
    pub const PROP_FAILURE: u64 = 1 << 5;
    pub const PROP_START: u64 = 1 << 6;
    pub const PROP_STOP: u64 = 1 << 7;
    pub const IN_PROP_QUEUE: u64 = 1 << 8;
    pub const IN_TRANSITION_QUEUE: u64 = 1 << 9;
    /// Will start again once stopped (a restart or an automatic restart is under way).
    pub const RESTARTING: u64 = 1 << 10;
    /// Must stop because a hard dependency is going down, whatever its own target.
    pub const FORCE_STOP: u64 = 1 << 11;
    /// STARTING and waiting for dependencies, or STOPPING and waiting for dependents.
    pub const WAITING_FOR_DEPS: u64 = 1 << 12;
    pub const WAITING_FOR_CONSOLE: u64 = 1 << 13;
    pub const HAS_CONSOLE: u64 = 1 << 14;
    /// The most recent start attempt failed (its stop is then not logged as a plain stop).
    pub const START_FAILED: u64 = 1 << 15;
    pub const START_SKIPPED: u64 = 1 << 16;
    /// Stopped by a command (or under a service stopped by one): no automatic restart, and
    /// explicit activation is dropped.
    pub const NO_AUTO_RESTART: u64 = 1 << 17;
    /// The restart is one asked for by a command or by a restarting dependency.
    pub const USER_RESTART: u64 = 1 << 18;
    /// A triggered service's trigger is set.
    pub const TRIGGERED: u64 = 1 << 19;
    /// Added by the load transaction under way.
    pub const IN_LOAD: u64 = 1 << 20;
    /// A placeholder given a description by the load transaction under way.
    pub const LOAD_UPGRADED: u64 = 1 << 21;
    /// A start or stop command (or the service process) has been launched and its outcome
    /// is awaited.
    pub const LAUNCHED: u64 = 1 << 22;
    /// Exec of the launched process has not been confirmed yet.
    pub const EXEC_PENDING: u64 = 1 << 23;
    /// SIGINT was sent to interrupt a start (so its end is a stop, not a failure or a skip).
    pub const INTERRUPTING: u64 = 1 << 24;
    /// STARTED, and the process is being relaunched by smooth recovery.
    pub const SMOOTH_RECOVERY: u64 = 1 << 25;
    /// Brought down because a hard dependency went down while still wanted (it is restarting,
    /// or its process ended while dependents held it): restarts by its own `restart` setting.
    pub const DEP_WENT_DOWN: u64 = 1 << 26;
    /// The stop signal or stop command has been issued.
    pub const STOP_ISSUED: u64 = 1 << 27;
    /// Counted in `ServiceSet::active`.
    pub const ACTIVE: u64 = 1 << 28;
    /// Counted as a restart for the restart limit: set when an automatic restart is decided.
    pub const AUTO_RESTART: u64 = 1 << 29;
    /// Reached STARTED in the current activation (so a stop command must run, and a stop
    /// may chain to another service).
    pub const UP: u64 = 1 << 30;
    /// On the stack of the cycle search under way (valid when `dfs_epoch` is current).
    pub const DFS_ON_STACK: u64 = 1 << 31;
    /// Pinned started because a hard dependent is pinned started (start pins pass down hard
    /// dependencies, as in Dinit): it cannot be stopped either while that lasts.
    pub const DEPT_PINNED: u64 = 1 << 32;
    /// Pending propagation step: recompute `DEPT_PINNED` (a hard dependent's start pin
    /// changed).
    pub const PROP_PIN: u64 = 1 << 33;
    /// `kill-all-on-stop`: every other process is being ended (the host was told with
    /// `Notice::KillAll`); the stop proceeds when the host reports the sweep done.
    pub const KILLING_ALL: u64 = 1 << 34;
}

/// What the service's single timer is currently measuring.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
#[repr(u8)]
pub(crate) enum TimerKind {
    #[default]
    None = 0,
    /// `start-timeout`: interrupt the start.
    StartTimeout = 1,
    /// `stop-timeout`: SIGKILL.
    StopTimeout = 2,
    /// `restart-delay`: relaunch.
    RestartDelay = 3,
}

/// A service slot. Zero bits: an empty slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record {
    /// Bumped each time the slot is freed, so stale `ServiceId`s are refused.
    pub generation: u32,
    /// Slot holds a service or placeholder.
    pub in_use: bool,
    pub cfg: ServiceConfig,
    pub name: super::names::Str,
    pub chain_to: super::names::Str,
    pub name_hash: u32,
    pub hash_next: Link,

    pub state: ServiceState,
    pub target: ServiceState,
    pub stop_reason: StopReason,
    pub flags: u64,
    /// Explicit activation (1) plus dependents holding an acquisition on this service.
    pub required_by: u32,
    /// Dependencies (edges from this service) with `waiting` set: the service can go on
    /// starting when this is 0, known without walking its dependencies.
    pub waiting_on: u32,

    /// Edges where this service is `from` (its dependencies), and where it is `to` (its
    /// dependents).
    pub deps_head: Link,
    pub dependents_head: Link,
    /// The last edge of each of those lists (edges are appended).
    pub deps_tail: Link,
    pub dependents_tail: Link,

    pub prop_next: Link,
    pub transition_next: Link,
    pub console_next: Link,
    pub load_next: Link,
    pub free_next: Link,
    pub order_next: Link,
    pub order_prev: Link,

    /// The main process (the service process, a bgprocess launcher or daemon, or the running
    /// start/stop command of a scripted service); 0 if none.
    pub pid: Pid,
    /// A `stop-command` running beside the main process of a process/bgprocess service.
    pub stop_pid: Pid,
    pub exit_code: i32,
    pub exit_status: i32,
    pub exec_stage: u16,
    pub exec_errno: i32,

    pub timer: TimerKind,
    pub deadline: Instant,
    /// Position in the timer heap (index + 1), or none.
    pub heap_pos: Link,

    pub last_start: Instant,
    pub restart_window_start: Instant,
    pub restarts_in_window: u16,

    /// Iterative depth-first search state (cycle detection): the edge through which the
    /// search reached this service, and the next edge to explore from it.
    pub dfs_via: Link,
    pub dfs_cursor: Link,
    /// The search that last visited this record.
    pub dfs_epoch: u32,
}

impl Record {
    /// An empty slot: all-zero bits.
    pub const EMPTY: Record = Record {
        generation: 0,
        in_use: false,
        cfg: ServiceConfig::ZERO,
        name: super::names::Str::EMPTY,
        chain_to: super::names::Str::EMPTY,
        name_hash: 0,
        hash_next: Link::NONE,
        state: ServiceState::Stopped,
        target: ServiceState::Stopped,
        stop_reason: StopReason::Normal,
        flags: 0,
        required_by: 0,
        waiting_on: 0,
        deps_head: Link::NONE,
        dependents_head: Link::NONE,
        deps_tail: Link::NONE,
        dependents_tail: Link::NONE,
        prop_next: Link::NONE,
        transition_next: Link::NONE,
        console_next: Link::NONE,
        load_next: Link::NONE,
        free_next: Link::NONE,
        order_next: Link::NONE,
        order_prev: Link::NONE,
        pid: 0,
        stop_pid: 0,
        exit_code: 0,
        exit_status: 0,
        exec_stage: 0,
        exec_errno: 0,
        timer: TimerKind::None,
        deadline: Instant::ZERO,
        heap_pos: Link::NONE,
        last_start: Instant::ZERO,
        restart_window_start: Instant::ZERO,
        restarts_in_window: 0,
        dfs_via: Link::NONE,
        dfs_cursor: Link::NONE,
        dfs_epoch: 0,
    };

    pub fn has(&self, f: u64) -> bool {
        self.flags & f != 0
    }

    pub fn set(&mut self, f: u64) {
        self.flags |= f;
    }

    pub fn clear(&mut self, f: u64) {
        self.flags &= !f;
    }

    pub fn set_to(&mut self, f: u64, on: bool) {
        if on {
            self.set(f)
        } else {
            self.clear(f)
        }
    }

    pub fn exit(&self) -> ExitStatus {
        ExitStatus::from_si(self.exit_code, self.exit_status)
    }

    pub fn set_exit(&mut self, e: ExitStatus) {
        self.exit_code = e.si_code();
        self.exit_status = e.si_status();
    }

    pub fn exec_failure(&self) -> Option<(ExecStage, i32)> {
        if self.stop_reason == StopReason::ExecFailed {
            ExecStage::from_u16(self.exec_stage).map(|s| (s, self.exec_errno))
        } else {
            None
        }
    }

    /// Not stopped, or still wanted: such a service holds its dependencies.
    pub fn is_active(&self) -> bool {
        self.required_by > 0 || self.state != ServiceState::Stopped
    }

    pub fn time_since_start(&self, now: Instant) -> Duration {
        now.saturating_since(self.last_start)
    }
}

/// A dependency edge: `from` depends on (or is ordered after) `to`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub in_use: bool,
    pub kind: DepKind,
    /// `from` is waiting for `to` to start (or fail).
    pub waiting: bool,
    /// `from` holds an acquisition on `to` (counted in `to.required_by`).
    pub holding: bool,
    pub from: u32,
    pub to: u32,
    /// Doubly-linked membership in `from`'s dependency list and `to`'s dependent list.
    pub next_dep: Link,
    pub prev_dep: Link,
    pub next_dependent: Link,
    pub prev_dependent: Link,
    pub free_next: Link,
}

impl Edge {
    /// An unused edge: all-zero bits.
    pub const EMPTY: Edge = Edge {
        in_use: false,
        kind: DepKind::Regular,
        waiting: false,
        holding: false,
        from: 0,
        to: 0,
        next_dep: Link::NONE,
        prev_dep: Link::NONE,
        next_dependent: Link::NONE,
        prev_dependent: Link::NONE,
        free_next: Link::NONE,
    };

    /// Hard edges make `from` stop when `to` stops: `depends-on`, `prepared-by`, and a
    /// milestone that `from` is still waiting for.
    pub fn is_hard(&self) -> bool {
        match self.kind {
            DepKind::Regular | DepKind::PreparedBy => true,
            DepKind::Milestone => self.waiting,
            DepKind::WaitsFor | DepKind::Before | DepKind::After => false,
        }
    }
}
