//! The service engine: a sans-I/O state machine implementing Dinit's service activation model.
//!
//! # Model
//!
//! Each service has a *state* (STOPPED, STARTING, STARTED, STOPPING) and a *target* (STOPPED or
//! STARTED). A service is wanted, and its target is STARTED, while its `required_by` count is
//! non-zero: one for an *explicit activation* (`start`), plus one for every dependent that
//! holds an *acquisition* on it. Starting a service acquires its dependencies, which start in
//! turn; a service's process is launched only once its dependencies have started. When nothing
//! requires a service any more it stops, and once it has stopped it releases its own
//! dependencies, which stop in turn if nothing else wants them (dinit(8), "SERVICE ACTIVATION
//! MODEL").
//!
//! Dependencies are edges from the dependent (`from`) to the dependency (`to`), of the kinds of
//! [`DepKind`]: `depends-on` and `prepared-by` are *hard* (the dependent stops when the
//! dependency stops), `depends-ms` is hard only until the dependency has started, `waits-for`
//! is soft, and `before`/`after` only order starts (dinit-service(5), "SERVICE DEPENDENCIES").
//!
//! # Propagation without recursion
//!
//! A change to one service affects others. Instead of calling into them (recursion whose depth
//! is the depth of the graph), the engine marks what must happen to a service in flags inside
//! its record (`require` its dependencies, `release` them, `start`, `stop`, `fail`) and puts the
//! record on an intrusive queue whose links also live in the records. [`ServiceSet`] drains the
//! queues in one loop before each input returns. Starting or stopping a chain of any depth
//! therefore uses a fixed amount of stack and no memory beyond the tables fixed at build time.
//!
//! # Inputs and outputs
//!
//! Inputs are the public methods: commands (`start`, `stop`, `wake`, `release`, `restart`,
//! `unpin`, `set_trigger`, `shutdown`, dependency changes, loading and unloading), process
//! events (`exec_succeeded`, `exec_failed`, `ready`, `process_exited`) and time
//! (`handle_timers`). Each takes the current monotonic time and a [`Host`] through which the
//! engine launches commands, sends signals and reports events as they happen.

mod activation;
mod graph;
mod host;
mod integrity;
mod names;
mod process;
mod record;
mod timers;

pub use graph::{CycleError, LoadError};
pub use host::{CommandKind, Host, LaunchFailed, Notice, PidFileResult};
pub use integrity::IntegrityError;

// Tests and the simulator read as scenarios, whatever their length.
#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod sim;
#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests;

use crate::config::ServiceConfig;
use crate::status::{ServiceStatus, StatusFlags};
use crate::time::Instant;
use crate::types::{DepKind, ServiceEvent, ServiceKind, ServiceState, ShutdownKind};
use names::Arena;
use record::{flag, Edge, IndexSlot, Link, Record};

/// Identifies a loaded service. It stays valid until the service is unloaded; after that the
/// engine refuses it (the slot's generation has moved on).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServiceId {
    index: u32,
    generation: u32,
}

impl ServiceId {
    /// The slot index (dense, below the set's capacity): handy for runtime tables kept beside
    /// the engine.
    pub const fn index(self) -> usize {
        self.index as usize
    }
}

/// A full table. Hitting a bound is an ordinary error that changes nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CapacityError {
    /// The service table is full.
    Services {
        /// Its capacity.
        capacity: usize,
    },
    /// The dependency table is full.
    Edges {
        /// Its capacity.
        capacity: usize,
    },
    /// The name arena is full.
    Names {
        /// Its capacity in bytes.
        capacity: usize,
    },
}

impl core::fmt::Display for CapacityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            CapacityError::Services { capacity } => {
                write!(
                    f,
                    "service table full: {capacity} services; build with a larger bound"
                )
            }
            CapacityError::Edges { capacity } => write!(
                f,
                "dependency table full: {capacity} dependencies; build with a larger bound"
            ),
            CapacityError::Names { capacity } => write!(
                f,
                "service name storage full: {capacity} bytes; build with a larger bound"
            ),
        }
    }
}

/// Why a command was refused. Refusals change nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Refusal {
    /// The id does not name a loaded service.
    UnknownService,
    /// A shutdown is in progress: nothing may start.
    ShuttingDown,
    /// The service is pinned stopped (and stopped or stopping).
    PinnedStopped,
    /// The service is pinned started (and starting or started).
    PinnedStarted,
    /// A gentle stop or restart would stop dependents; see
    /// [`ServiceSet::active_hard_dependents`].
    HasDependents,
    /// `restart` of a service that is not started.
    NotStarted,
    /// `set_trigger` on a service that is not of type triggered.
    NotTriggered,
    /// `unload` of a service that is not stopped.
    NotStopped,
    /// `unload` of a service that other loaded services depend on.
    HasDependencies,
    /// A dependency from a service to itself.
    SameService,
    /// The dependency would be violated at once (a `need` from a running service to one that
    /// is not started), or would create a cycle.
    CycleOrState,
    /// `rm_dep` of a dependency that does not exist.
    NoSuchDependency,
    /// `reload` of a service that is not stopped would change what cannot change while it
    /// runs (its type, its console options), or add a hard dependency that is not started.
    Incompatible,
    /// A table is full.
    Capacity(CapacityError),
}

/// Whether a command also pins the service in the state it brings it to: `start` and `wake`
/// pin it started, `stop` and `release` pin it stopped (dinitctl's `--pin`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Pin {
    /// Pin it.
    Pin,
    /// Leave its pins as they are.
    NoPin,
}

/// Whether `stop` or `restart` refuses when active hard dependents would have to stop with
/// the service (dinitctl without `--force`) or takes them down too.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Gentle {
    /// Refuse ([`Refusal::HasDependents`]).
    Gentle,
    /// Stop (or restart) them too.
    Force,
}

/// The outcome of a successful [`ServiceSet::wake`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WakeOutcome {
    /// Some started or starting dependent now holds the service (the protocol answers NAK
    /// when there was none and the service is not started).
    pub found_active_dependent: bool,
}

/// The outcome of a successful [`ServiceSet::add_dep`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AddDepOutcome {
    /// An identical dependency already existed; nothing was added.
    pub already_existed: bool,
}

/// The set of services and their dependency graph, with fixed capacities: `S` services,
/// `E` dependency edges and `N` bytes of names.
///
/// An empty set is all-zero bits (but for the unused bytes of the name arena, which are not
/// initialised at all), so `static SET: Mutex<ServiceSet<..>> = Mutex::new(ServiceSet::new())`
/// costs no file size and only the memory of the pages it touches.
// `repr(C)`, in this order: the small fields first, so that they share their page with the
// first records (a set with a few services touches as few pages as possible), then the tables.
#[repr(C)]
pub struct ServiceSet<const S: usize, const E: usize, const N: usize> {
    /// Stands in for an out-of-range index (never expected): accesses then go nowhere instead
    /// of panicking. Debug builds assert.
    spare_record: Record,
    spare_edge: Edge,
    bucket_count: u32,
    heap_len: u32,

    svc_high: u32,
    svc_free: Link,
    svc_count: u32,
    edge_high: u32,
    edge_free: Link,
    edge_count: u32,
    /// Load order (the order `list` shows), through `Record::order_next`/`order_prev`.
    order_head: Link,
    order_tail: Link,

    prop_head: Link,
    transition_head: Link,
    console_head: Link,
    console_tail: Link,
    console_holder: Link,

    /// Services added or upgraded by the load transaction under way.
    load_head: Link,
    loading: bool,
    dfs_epoch: u32,
    /// Debug builds: inputs since the tables were last checked (see `assert_integrity`).
    #[cfg(debug_assertions)]
    unchecked_inputs: u32,

    /// Number of services that are wanted or not stopped.
    active: u32,
    idle_pending: bool,
    /// 0: no shutdown; otherwise the `ShutdownKind` byte.
    shutdown: u8,
    now: Instant,

    records: [Record; S],
    edges: [Edge; E],
    /// Hash buckets of service names (chained through `Record::hash_next`) and the min-heap of
    /// records by timer deadline, entry by entry side by side (see [`IndexSlot`]). Only the
    /// first `bucket_count` buckets are in use: the table grows with the services (see
    /// `hash_insert`), so that a daemon with a few services touches a few cache lines and
    /// pages of it, not all; the heap holds `heap_len` records.
    index: [IndexSlot; S],
    names: Arena<N>,
}

impl<const S: usize, const E: usize, const N: usize> core::fmt::Debug for ServiceSet<S, E, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServiceSet")
            .field("services", &self.svc_count)
            .field("edges", &self.edge_count)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl<const S: usize, const E: usize, const N: usize> Default for ServiceSet<S, E, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const S: usize, const E: usize, const N: usize> ServiceSet<S, E, N> {
    /// An empty set. `const`, so that it can initialise a `static`.
    pub const fn new() -> Self {
        ServiceSet {
            records: [Record::EMPTY; S],
            spare_record: Record::EMPTY,
            edges: [Edge::EMPTY; E],
            spare_edge: Edge::EMPTY,
            index: [IndexSlot::EMPTY; S],
            bucket_count: 0,
            heap_len: 0,
            names: Arena::new(),
            svc_high: 0,
            svc_free: Link::NONE,
            svc_count: 0,
            edge_high: 0,
            edge_free: Link::NONE,
            edge_count: 0,
            order_head: Link::NONE,
            order_tail: Link::NONE,
            prop_head: Link::NONE,
            transition_head: Link::NONE,
            console_head: Link::NONE,
            console_tail: Link::NONE,
            console_holder: Link::NONE,
            load_head: Link::NONE,
            loading: false,
            dfs_epoch: 0,
            #[cfg(debug_assertions)]
            unchecked_inputs: 0,
            active: 0,
            idle_pending: false,
            shutdown: 0,
            now: Instant::ZERO,
        }
    }

    /// Empties the set in place, as if it had just been created (without building a second
    /// set on the stack, which for large capacities would not fit).
    pub fn reset(&mut self) {
        for r in self.records.iter_mut() {
            *r = Record::EMPTY;
        }
        for e in self.edges.iter_mut() {
            *e = Edge::EMPTY;
        }
        for slot in self.index.iter_mut() {
            *slot = IndexSlot::EMPTY;
        }
        self.bucket_count = 0;
        self.spare_record = Record::EMPTY;
        self.spare_edge = Edge::EMPTY;
        self.heap_len = 0;
        self.names.clear();
        self.svc_high = 0;
        self.svc_free = Link::NONE;
        self.svc_count = 0;
        self.edge_high = 0;
        self.edge_free = Link::NONE;
        self.edge_count = 0;
        self.order_head = Link::NONE;
        self.order_tail = Link::NONE;
        self.prop_head = Link::NONE;
        self.transition_head = Link::NONE;
        self.console_head = Link::NONE;
        self.console_tail = Link::NONE;
        self.console_holder = Link::NONE;
        self.load_head = Link::NONE;
        self.loading = false;
        self.dfs_epoch = 0;
        #[cfg(debug_assertions)]
        {
            self.unchecked_inputs = 0;
        }
        self.active = 0;
        self.idle_pending = false;
        self.shutdown = 0;
        self.now = Instant::ZERO;
    }

    /// Capacity in services.
    pub const fn service_capacity(&self) -> usize {
        S
    }

    /// Capacity in dependency edges.
    pub const fn edge_capacity(&self) -> usize {
        E
    }

    /// Capacity of the name arena in bytes.
    pub const fn name_capacity(&self) -> usize {
        N
    }

    /// Number of slots in use (services and placeholders).
    pub fn slots_in_use(&self) -> usize {
        self.svc_count as usize
    }

    /// Number of dependency edges.
    pub fn edges_in_use(&self) -> usize {
        self.edge_count as usize
    }

    /// Bytes of the name arena in use.
    pub fn name_bytes_in_use(&self) -> usize {
        self.names.used()
    }

    /// Number of active services (wanted, or not yet stopped).
    pub fn active_count(&self) -> usize {
        self.active as usize
    }

    /// The shutdown under way, if any.
    pub fn shutdown_kind(&self) -> Option<ShutdownKind> {
        ShutdownKind::from_u8(self.shutdown)
    }

    // ----- record access ------------------------------------------------------------------

    fn rec(&self, i: usize) -> &Record {
        match self.records.get(i) {
            Some(r) => r,
            None => {
                debug_assert!(false, "record index {i} out of range");
                &self.spare_record
            }
        }
    }

    fn rec_mut(&mut self, i: usize) -> &mut Record {
        match self.records.get_mut(i) {
            Some(r) => r,
            None => {
                debug_assert!(false, "record index {i} out of range");
                &mut self.spare_record
            }
        }
    }

    fn edge(&self, i: usize) -> &Edge {
        match self.edges.get(i) {
            Some(e) => e,
            None => {
                debug_assert!(false, "edge index {i} out of range");
                &self.spare_edge
            }
        }
    }

    fn edge_mut(&mut self, i: usize) -> &mut Edge {
        match self.edges.get_mut(i) {
            Some(e) => e,
            None => {
                debug_assert!(false, "edge index {i} out of range");
                &mut self.spare_edge
            }
        }
    }

    /// The record index of `id` if it names a loaded service or placeholder.
    fn slot(&self, id: ServiceId) -> Option<usize> {
        let i = id.index();
        let r = self.records.get(i)?;
        (r.in_use && r.generation == id.generation).then_some(i)
    }

    /// The record index of `id` if it names a loaded (non-placeholder) service.
    fn service(&self, id: ServiceId) -> Result<usize, Refusal> {
        match self.slot(id) {
            Some(i) if self.rec(i).cfg.kind != ServiceKind::Placeholder => Ok(i),
            _ => Err(Refusal::UnknownService),
        }
    }

    fn id_of(&self, i: usize) -> ServiceId {
        ServiceId {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            generation: self.rec(i).generation,
        }
    }

    // ----- queries ------------------------------------------------------------------------

    /// Looks up a loaded service by its full name (`base@argument` included). Placeholders are
    /// not found.
    pub fn find(&self, name: &[u8]) -> Option<ServiceId> {
        let i = self.find_slot(name)?;
        (self.rec(i).cfg.kind != ServiceKind::Placeholder).then(|| self.id_of(i))
    }

    fn bucket_of(&self, hash: u32) -> usize {
        (hash as usize)
            .checked_rem(self.bucket_count as usize)
            .unwrap_or(0)
    }

    fn find_slot(&self, name: &[u8]) -> Option<usize> {
        if S == 0 {
            return None;
        }
        let h = names::hash(name);
        let bucket = self.bucket_of(h);
        let mut link = self.index.get(bucket).map_or(Link::NONE, |s| s.bucket);
        let mut guard = S;
        while let Some(i) = link.get() {
            let r = self.rec(i);
            if r.name_hash == h && self.names.get(r.name) == name {
                return Some(i);
            }
            link = r.hash_next;
            guard = guard.saturating_sub(1);
            if guard == 0 {
                break;
            }
        }
        None
    }

    /// True if `id` names a loaded service.
    pub fn contains(&self, id: ServiceId) -> bool {
        self.service(id).is_ok()
    }

    /// The service's name.
    pub fn name(&self, id: ServiceId) -> Option<&[u8]> {
        self.slot(id).map(|i| self.names.get(self.rec(i).name))
    }

    /// The service's `chain-to` target, if it has one.
    pub fn chain_to(&self, id: ServiceId) -> Option<&[u8]> {
        let i = self.slot(id)?;
        let s = self.rec(i).chain_to;
        (!s.is_empty()).then(|| self.names.get(s))
    }

    /// The configuration the service was loaded with.
    pub fn config(&self, id: ServiceId) -> Option<&ServiceConfig> {
        self.service(id).ok().map(|i| &self.rec(i).cfg)
    }

    /// The service's current state.
    pub fn state(&self, id: ServiceId) -> Option<ServiceState> {
        self.service(id).ok().map(|i| self.rec(i).state)
    }

    /// A snapshot of the service's status.
    pub fn status(&self, id: ServiceId) -> Option<ServiceStatus> {
        self.service(id).ok().map(|i| self.snapshot(i))
    }

    /// Is the service pinned started / pinned stopped?
    pub fn pins(&self, id: ServiceId) -> Option<(bool, bool)> {
        self.service(id).ok().map(|i| {
            (
                self.rec(i).has(flag::PIN_STARTED),
                self.rec(i).has(flag::PIN_STOPPED),
            )
        })
    }

    /// The number of acquisitions on the service (explicit activation included).
    pub fn required_by(&self, id: ServiceId) -> Option<u32> {
        self.service(id).ok().map(|i| self.rec(i).required_by)
    }

    /// Is the service's trigger set (triggered services)?
    pub fn is_triggered(&self, id: ServiceId) -> Option<bool> {
        self.service(id)
            .ok()
            .map(|i| self.rec(i).has(flag::TRIGGERED))
    }

    fn snapshot(&self, i: usize) -> ServiceStatus {
        let r = self.rec(i);
        let mut flags = StatusFlags::default();
        if r.has(flag::WAITING_FOR_CONSOLE) {
            flags = flags.with(StatusFlags::WAITING_FOR_CONSOLE);
        }
        if r.has(flag::HAS_CONSOLE) {
            flags = flags.with(StatusFlags::HAS_CONSOLE);
        }
        if r.has(flag::START_SKIPPED) {
            flags = flags.with(StatusFlags::START_SKIPPED);
        }
        if r.has(flag::EXPLICIT) {
            flags = flags.with(StatusFlags::MARKED_ACTIVE);
        }
        let pid = if r.pid != 0 { r.pid } else { r.stop_pid };
        if pid != 0 {
            flags = flags.with(StatusFlags::HAS_PID);
        }
        ServiceStatus {
            state: r.state,
            target: r.target,
            flags,
            stop_reason: r.stop_reason,
            exec_failure: r.exec_failure(),
            pid,
            exit: r.exit(),
        }
    }

    /// Loaded services (placeholders excluded) in load order.
    pub fn iter(&self) -> impl Iterator<Item = ServiceId> + '_ {
        let mut link = self.order_head;
        core::iter::from_fn(move || loop {
            let i = link.get()?;
            link = self.rec(i).order_next;
            if self.rec(i).cfg.kind != ServiceKind::Placeholder {
                return Some(self.id_of(i));
            }
        })
    }

    /// The loaded service in slot `index` (see [`ServiceId::index`]), if any.
    pub fn id_at(&self, index: usize) -> Option<ServiceId> {
        let r = self.records.get(index)?;
        (r.in_use && r.cfg.kind != ServiceKind::Placeholder).then(|| self.id_of(index))
    }

    /// The first loaded service in load order.
    pub fn first(&self) -> Option<ServiceId> {
        self.after_slot(self.order_head)
    }

    /// The loaded service after `id` in load order (`None` at the end, or if `id` is not
    /// loaded). Lets a listing resume where it stopped.
    pub fn next_after(&self, id: ServiceId) -> Option<ServiceId> {
        let i = self.slot(id)?;
        self.after_slot(self.rec(i).order_next)
    }

    fn after_slot(&self, mut link: Link) -> Option<ServiceId> {
        while let Some(i) = link.get() {
            if self.rec(i).cfg.kind != ServiceKind::Placeholder {
                return Some(self.id_of(i));
            }
            link = self.rec(i).order_next;
        }
        None
    }

    /// Dependencies of `id`: `(dependency, kind)` for each edge it declared or that points from
    /// it (including `before` edges declared by the other service).
    pub fn dependencies(&self, id: ServiceId) -> impl Iterator<Item = (ServiceId, DepKind)> + '_ {
        let mut link = self.slot(id).map_or(Link::NONE, |i| self.rec(i).deps_head);
        core::iter::from_fn(move || {
            let e = link.get()?;
            let edge = self.edge(e);
            link = edge.next_dep;
            Some((self.id_of(edge.to as usize), edge.kind))
        })
    }

    /// Dependents of `id`: `(dependent, kind)` for each edge pointing to it.
    pub fn dependents(&self, id: ServiceId) -> impl Iterator<Item = (ServiceId, DepKind)> + '_ {
        let mut link = self
            .slot(id)
            .map_or(Link::NONE, |i| self.rec(i).dependents_head);
        core::iter::from_fn(move || {
            let e = link.get()?;
            let edge = self.edge(e);
            link = edge.next_dependent;
            Some((self.id_of(edge.from as usize), edge.kind))
        })
    }

    /// The dependents that a gentle stop or restart of `id` would have to stop: those holding
    /// it through a hard dependency and not themselves stopped. The protocol's DEPENDENTS reply
    /// lists these.
    pub fn active_hard_dependents(&self, id: ServiceId) -> impl Iterator<Item = ServiceId> + '_ {
        let mut link = self
            .slot(id)
            .map_or(Link::NONE, |i| self.rec(i).dependents_head);
        core::iter::from_fn(move || loop {
            let e = link.get()?;
            let edge = self.edge(e);
            link = edge.next_dependent;
            if edge.holding && matches!(edge.kind, DepKind::Regular | DepKind::PreparedBy) {
                let from = edge.from as usize;
                if self.rec(from).state != ServiceState::Stopped {
                    return Some(self.id_of(from));
                }
            }
        })
    }

    /// The earliest timer deadline, if any: the runtime arms its timer for this instant and
    /// calls [`handle_timers`](Self::handle_timers) when it passes.
    pub fn next_deadline(&self) -> Option<Instant> {
        let top = self.index.first()?.heap.get()?;
        Some(self.rec(top).deadline)
    }

    // ----- queues ---------------------------------------------------------------------------

    /// The head and the membership flag of a record queue.
    fn queue_parts(&mut self, q: Queue) -> (&mut Link, u64) {
        match q {
            Queue::Prop => (&mut self.prop_head, flag::IN_PROP_QUEUE),
            Queue::Transition => (&mut self.transition_head, flag::IN_TRANSITION_QUEUE),
        }
    }

    /// Pushes record `i` on queue `q`, unless it is already queued there. Both queues are
    /// stacks (the last record pushed is taken first), as Dinit's are: with dependencies and
    /// dependents walked in the same order as Dinit walks them, services start and stop in the
    /// same order as under Dinit.
    fn enqueue(&mut self, q: Queue, i: usize) {
        let (&mut head, member) = self.queue_parts(q);
        if self.rec(i).has(member) {
            return;
        }
        let r = self.rec_mut(i);
        r.set(member);
        *q.next(r) = head;
        *self.queue_parts(q).0 = Link::to(i);
    }

    /// Takes the top record off queue `q`.
    fn pop(&mut self, q: Queue) -> Option<usize> {
        let (head, member) = self.queue_parts(q);
        let i = head.get()?;
        let r = self.rec_mut(i);
        let next = core::mem::replace(q.next(r), Link::NONE);
        r.clear(member);
        *self.queue_parts(q).0 = next;
        Some(i)
    }

    fn enqueue_prop(&mut self, i: usize) {
        self.enqueue(Queue::Prop, i);
    }

    fn pop_prop(&mut self) -> Option<usize> {
        self.pop(Queue::Prop)
    }

    fn enqueue_transition(&mut self, i: usize) {
        self.enqueue(Queue::Transition, i);
    }

    fn pop_transition(&mut self) -> Option<usize> {
        self.pop(Queue::Transition)
    }

    /// Drains the propagation and transition queues (propagation first: a transition must see
    /// every acquisition and release that was decided before it), then reports idleness.
    fn process_queues<H: Host>(&mut self, host: &mut H) {
        // Each step either clears a flag or moves a service along its state cycle, so real
        // work is bounded by a small multiple of services + edges; the bound only guards
        // against a defect turning into a hung init.
        let bound = S.saturating_add(E).saturating_mul(64).saturating_add(1024);
        let mut steps = 0usize;
        loop {
            if steps >= bound {
                while self.pop_prop().is_some() {}
                while self.pop_transition().is_some() {}
                host.notice(Notice::PropagationLimit);
                break;
            }
            steps = steps.saturating_add(1);
            if let Some(i) = self.pop_prop() {
                self.do_propagation(i, host);
            } else if let Some(i) = self.pop_transition() {
                self.execute_transition(i, host);
            } else {
                break;
            }
        }
        if self.idle_pending && self.active == 0 {
            self.idle_pending = false;
            host.notice(Notice::Idle {
                shutdown: self.shutdown_kind(),
            });
        }
        #[cfg(debug_assertions)]
        self.assert_integrity();
    }

    /// Debug builds check every invariant of [`Self::verify_integrity`] once an input has been
    /// carried out (every input ends here), so that every test that drives the engine, the
    /// daemon's included, checks them; a broken one is a bug of the engine and stops the
    /// program. Release builds never run it.
    ///
    /// The check is linear in the services and edges ever used, so checking after every input
    /// would make a test of thousands of services quadratic. It runs after every input while
    /// they number at most [`Self::DEBUG_CHECK_BUDGET`] (every unit test, the simulator, most
    /// daemon tests), and after every k-th input beyond, k growing with them, so that it costs
    /// about that many records and edges per input. A state broken by one input is then
    /// reported a few inputs later, unless a later input repairs it first.
    #[cfg(debug_assertions)]
    fn assert_integrity(&mut self) {
        let size = (self.svc_high as usize).saturating_add(self.edge_high as usize);
        let every = size.div_ceil(Self::DEBUG_CHECK_BUDGET).max(1);
        self.unchecked_inputs = self.unchecked_inputs.saturating_add(1);
        if (self.unchecked_inputs as usize) < every {
            return;
        }
        self.unchecked_inputs = 0;
        let integrity = self.verify_integrity();
        assert!(
            integrity.is_ok(),
            "engine invariant broken after an input: {integrity:?}"
        );
    }

    /// Debug builds: services and edges that the integrity check covers after every input;
    /// above this, it runs less often (see `assert_integrity`).
    #[cfg(debug_assertions)]
    const DEBUG_CHECK_BUDGET: usize = 256;

    fn emit<H: Host>(&mut self, i: usize, event: ServiceEvent, host: &mut H) {
        let status = self.snapshot(i);
        host.event(self.id_of(i), event, &status);
    }

    fn begin_input(&mut self, now: Instant) {
        // The clock is monotonic; never let a late caller move it backwards.
        if now > self.now {
            self.now = now;
        }
    }

    // ----- commands ---------------------------------------------------------------------------

    /// `start`: marks the service explicitly active and starts it with its dependencies.
    /// With `pin`, it is also pinned started.
    pub fn start<H: Host>(
        &mut self,
        id: ServiceId,
        pin: Pin,
        now: Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let i = self.service(id)?;
        if self.shutdown != 0 {
            return Err(Refusal::ShuttingDown);
        }
        let r = self.rec(i);
        if r.has(flag::PIN_STOPPED)
            && matches!(r.state, ServiceState::Stopped | ServiceState::Stopping)
        {
            return Err(Refusal::PinnedStopped);
        }
        self.begin_input(now);
        let r = self.rec_mut(i);
        if pin == Pin::Pin && !r.has(flag::PIN_STARTED) {
            r.set(flag::PIN_STARTED);
            self.start_pin_changed(i);
        }
        let r = self.rec_mut(i);
        r.clear(flag::NO_AUTO_RESTART);
        if !r.has(flag::EXPLICIT) {
            r.set(flag::EXPLICIT);
            self.require(i, host);
        }
        self.set_target_started(i, host);
        self.rec_mut(i).set(flag::PROP_START);
        self.enqueue_prop(i);
        self.process_queues(host);
        Ok(())
    }

    /// `stop`: removes explicit activation and brings the service down, with its hard
    /// dependents. With `gentle`, refuses instead if hard dependents would have to stop. With
    /// `pin`, also pins it stopped. Automatic restart is inhibited for the service and for the
    /// dependents stopped with it.
    pub fn stop<H: Host>(
        &mut self,
        id: ServiceId,
        pin: Pin,
        gentle: Gentle,
        now: Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let i = self.service(id)?;
        let r = self.rec(i);
        if self.is_start_pinned(i)
            && matches!(r.state, ServiceState::Starting | ServiceState::Started)
        {
            return Err(Refusal::PinnedStarted);
        }
        if gentle == Gentle::Gentle && self.active_hard_dependents(id).next().is_some() {
            return Err(Refusal::HasDependents);
        }
        self.begin_input(now);
        if pin == Pin::Pin {
            self.rec_mut(i).set(flag::PIN_STOPPED);
        }
        if self.rec(i).state != ServiceState::Stopped {
            // A forced stop, as Dinit's stop command: a start that comes while the service is
            // still waiting for its dependents to stop does not cancel the stop (no
            // STOPCANCELLED); the service stops, then starts again.
            self.rec_mut(i).set(flag::FORCE_STOP);
            // As in Dinit, every hard dependent, even one already stopped, now counts as
            // stopped because a dependency failed (`list` shows it with X). Those still
            // running are brought down for good by the stop itself.
            let mut link = self.rec(i).dependents_head;
            while let Some(e) = link.get() {
                let edge = *self.edge(e);
                link = edge.next_dependent;
                if edge.is_hard() {
                    self.rec_mut(edge.from as usize).stop_reason =
                        crate::types::StopReason::DepFailed;
                }
            }
        }
        self.stop_by_command(i, host);
        self.process_queues(host);
        Ok(())
    }

    /// `release`: removes explicit activation; the service stops only if nothing else requires
    /// it. With `pin`, also pins it stopped.
    pub fn release<H: Host>(
        &mut self,
        id: ServiceId,
        pin: Pin,
        now: Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let i = self.service(id)?;
        self.begin_input(now);
        if pin == Pin::Pin {
            self.rec_mut(i).set(flag::PIN_STOPPED);
        }
        if self.rec(i).has(flag::EXPLICIT) {
            self.rec_mut(i).clear(flag::EXPLICIT);
            self.release_acquisition(i, true, host);
        }
        self.process_queues(host);
        Ok(())
    }

    /// `wake`: starts the service on behalf of its started or starting dependents (without
    /// marking it explicitly active): every such dependent acquires it again.
    pub fn wake<H: Host>(
        &mut self,
        id: ServiceId,
        pin: Pin,
        now: Instant,
        host: &mut H,
    ) -> Result<WakeOutcome, Refusal> {
        let i = self.service(id)?;
        if self.shutdown != 0 {
            return Err(Refusal::ShuttingDown);
        }
        let r = self.rec(i);
        if r.has(flag::PIN_STOPPED)
            && matches!(r.state, ServiceState::Stopped | ServiceState::Stopping)
        {
            return Err(Refusal::PinnedStopped);
        }
        self.begin_input(now);
        let mut found = false;
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if edge.kind.is_ordering() {
                continue;
            }
            let from_state = self.rec(edge.from as usize).state;
            if matches!(from_state, ServiceState::Started | ServiceState::Starting) {
                found = true;
                if !edge.holding {
                    self.edge_mut(e).holding = true;
                    self.require(i, host);
                }
            }
        }
        if pin == Pin::Pin && !self.rec(i).has(flag::PIN_STARTED) {
            self.rec_mut(i).set(flag::PIN_STARTED);
            self.start_pin_changed(i);
        }
        if found {
            self.rec_mut(i).clear(flag::NO_AUTO_RESTART);
            self.set_target_started(i, host);
            self.rec_mut(i).set(flag::PROP_START);
            self.enqueue_prop(i);
        }
        self.process_queues(host);
        Ok(WakeOutcome {
            found_active_dependent: found,
        })
    }

    /// `restart`: stops the service and starts it again without changing its activation. Hard
    /// dependents are restarted with it; with `gentle`, the restart is refused instead if there
    /// are any.
    pub fn restart<H: Host>(
        &mut self,
        id: ServiceId,
        gentle: Gentle,
        now: Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let i = self.service(id)?;
        if self.shutdown != 0 {
            return Err(Refusal::ShuttingDown);
        }
        let r = self.rec(i);
        if self.is_start_pinned(i)
            && matches!(r.state, ServiceState::Starting | ServiceState::Started)
        {
            return Err(Refusal::PinnedStarted);
        }
        if gentle == Gentle::Gentle && self.active_hard_dependents(id).next().is_some() {
            return Err(Refusal::HasDependents);
        }
        if self.rec(i).state != ServiceState::Started {
            return Err(Refusal::NotStarted);
        }
        self.begin_input(now);
        self.rec_mut(i).stop_reason = crate::types::StopReason::Normal;
        self.do_stop(i, true, host);
        self.process_queues(host);
        Ok(())
    }

    /// `unpin`: removes both pins and lets the service move towards its target: a service that
    /// is no longer wanted, or whose hard dependency is going down, stops; a wanted service
    /// that was pinned stopped starts.
    pub fn unpin<H: Host>(
        &mut self,
        id: ServiceId,
        now: Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let i = self.service(id)?;
        self.begin_input(now);
        self.unpin_slot(i, host);
        self.process_queues(host);
        Ok(())
    }

    /// Sets or clears a triggered service's trigger. Setting it lets a starting service whose
    /// dependencies are satisfied finish starting; clearing it does not stop a started one.
    pub fn set_trigger<H: Host>(
        &mut self,
        id: ServiceId,
        set: bool,
        now: Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let i = self.service(id)?;
        if self.rec(i).cfg.kind != ServiceKind::Triggered {
            return Err(Refusal::NotTriggered);
        }
        self.begin_input(now);
        self.rec_mut(i).set_to(flag::TRIGGERED, set);
        let r = self.rec(i);
        if set
            && r.state == ServiceState::Starting
            && !r.has(flag::WAITING_FOR_DEPS)
            && !r.has(flag::WAITING_FOR_CONSOLE)
        {
            self.started(i, host);
        }
        self.process_queues(host);
        Ok(())
    }

    /// Begins a shutdown of `kind`: from now on nothing starts or restarts, and every service
    /// is released, unpinned and stopped. When no service is active any more the host gets
    /// [`Notice::Idle`] with the kind. A later shutdown request replaces the kind.
    pub fn shutdown<H: Host>(&mut self, kind: ShutdownKind, now: Instant, host: &mut H) {
        self.begin_input(now);
        self.shutdown = kind as u8;
        self.idle_pending = true;
        let mut link = self.order_head;
        while let Some(i) = link.get() {
            link = self.rec(i).order_next;
            if self.rec(i).cfg.kind == ServiceKind::Placeholder {
                continue;
            }
            self.stop_for_shutdown(i, host);
            // As Dinit: a service pinned started is stopped by its unpin at once, before the
            // services whose stops are still queued (so its events come first).
            let r = self.rec(i);
            let stops_now = r.has(flag::PIN_STARTED)
                && !r.has(flag::DEPT_PINNED)
                && r.state == ServiceState::Started
                && (r.target == ServiceState::Stopped || r.has(flag::FORCE_STOP));
            self.unpin_slot(i, host);
            if stops_now {
                self.process_queues(host);
            }
        }
        self.process_queues(host);
    }

    /// Lifts a completed shutdown of kind `Remain`, so that services may be started again.
    pub fn clear_shutdown(&mut self) {
        self.shutdown = 0;
    }
}

/// The engine's two record queues: propagation and transition.
#[derive(Clone, Copy)]
enum Queue {
    Prop,
    Transition,
}

impl Queue {
    /// The queue's link in a record.
    fn next(self, r: &mut Record) -> &mut Link {
        match self {
            Queue::Prop => &mut r.prop_next,
            Queue::Transition => &mut r.transition_next,
        }
    }
}
