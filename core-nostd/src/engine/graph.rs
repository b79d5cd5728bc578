//! The shape of the set: loading services (as a transaction), placeholders for names that
//! ordering settings mention, dependency edges (also changed at run time by `add-dep`,
//! `rm-dep` and `enable`), cycle detection, and unloading.
//!
//! Loading is transactional: the loader opens a load, inserts the service it was asked for and
//! every service it pulls in, adds their dependencies, and commits. Commit checks the new part
//! of the graph for cycles. On any error the loader aborts, and every service, placeholder and
//! edge the load added disappears: "a failed load leaves already-loaded services untouched".
//!
//! An edge belongs to the service whose description declared it: its `from` side, except for
//! `before`, which the `to` side declares. Unloading a service removes the edges it owns; if
//! other services still order themselves against it, it stays behind as a placeholder.

use super::names::{self, Field, Str};
use super::record::{flag, Edge, Link, Record};
use super::{AddDepOutcome, CapacityError, Host, Refusal, ServiceId, ServiceSet};
use crate::config::ServiceConfig;
use crate::types::{DepKind, ServiceKind, ServiceState};

/// A dependency cycle found when committing a load. The services on it can be listed with
/// [`ServiceSet::cycle_path`] until the load is aborted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CycleError {
    /// The service where the cycle closes (first and last on the path).
    start: u32,
    /// The last service before it closes.
    last: u32,
}

/// Why a load failed. After any of these the loader calls [`ServiceSet::abort_load`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LoadError {
    /// A table is full.
    Capacity(CapacityError),
    /// A service of that name is already loaded.
    AlreadyLoaded(ServiceId),
    /// Names must be non-empty.
    InvalidName,
    /// No load is open, or one is already open.
    NotLoading,
    /// A dependency's target must be a loaded service (only ordering edges may point at a
    /// placeholder).
    NotLoaded(ServiceId),
    /// A service cannot depend on itself.
    SelfDependency(ServiceId),
    /// The graph would have a cycle.
    Cycle(CycleError),
}

impl From<CapacityError> for LoadError {
    fn from(e: CapacityError) -> Self {
        LoadError::Capacity(e)
    }
}

impl<const S: usize, const E: usize, const N: usize> ServiceSet<S, E, N> {
    // ----- slots and names --------------------------------------------------------------

    fn alloc_slot(&mut self) -> Result<usize, CapacityError> {
        let full = CapacityError::Services { capacity: S };
        let i = if let Some(i) = self.svc_free.get() {
            self.svc_free = self.rec(i).free_next;
            i
        } else if (self.svc_high as usize) < S && self.svc_high < u32::MAX - 1 {
            let i = self.svc_high as usize;
            self.svc_high = self.svc_high.saturating_add(1);
            i
        } else {
            return Err(full);
        };
        let generation = self.rec(i).generation;
        *self.rec_mut(i) = Record::EMPTY;
        let r = self.rec_mut(i);
        r.generation = generation;
        r.in_use = true;
        self.svc_count = self.svc_count.saturating_add(1);
        Ok(i)
    }

    fn free_slot(&mut self, i: usize) {
        let r = *self.rec(i);
        self.names.free(r.name);
        self.names.free(r.chain_to);
        self.hash_remove(i);
        self.order_remove(i);
        let generation = r.generation.wrapping_add(1);
        *self.rec_mut(i) = Record::EMPTY;
        let free = self.svc_free;
        let r = self.rec_mut(i);
        r.generation = generation;
        r.free_next = free;
        self.svc_free = Link::to(i);
        self.svc_count = self.svc_count.saturating_sub(1);
    }

    /// Stores a string for record `owner`, compacting the arena if that makes room.
    fn store_str(&mut self, owner: usize, field: Field, data: &[u8]) -> Result<Str, CapacityError> {
        let full = CapacityError::Names { capacity: N };
        let owner32 = u32::try_from(owner).map_err(|_| full)?;
        if !self.names.fits(data.len()) {
            if !self.names.fits_after_compaction(data.len()) {
                return Err(full);
            }
            self.compact_names();
        }
        self.names.alloc(owner32, field, data).ok_or(full)
    }

    fn compact_names(&mut self) {
        let records = &mut self.records;
        self.names.compact(|owner, field, old, new| {
            let Some(r) = records.get_mut(owner as usize) else {
                debug_assert!(false, "a live name's owner {owner} is not a record");
                return false;
            };
            if !r.in_use {
                return false;
            }
            let slot = match field {
                Field::Name => &mut r.name,
                Field::ChainTo => &mut r.chain_to,
            };
            if *slot != old {
                return false;
            }
            if let Some(n) = new {
                *slot = n;
            }
            true
        });
    }

    /// The fewest buckets the table starts with.
    const MIN_BUCKETS: usize = 16;

    fn hash_insert(&mut self, i: usize) {
        if S == 0 {
            return;
        }
        if self.svc_count > self.bucket_count && (self.bucket_count as usize) < S {
            self.grow_buckets(i);
        }
        self.link_into_bucket(i);
    }

    /// Doubles the buckets in use (up to `S`) and re-links every named record but `new`,
    /// which is not linked yet. Linear in the records, once per doubling: O(1) amortised per
    /// insertion, with a load factor of at most one.
    fn grow_buckets(&mut self, new: usize) {
        let count = (self.bucket_count as usize)
            .saturating_mul(2)
            .max(Self::MIN_BUCKETS)
            .min(S);
        for slot in self.index.iter_mut().take(count) {
            slot.bucket = Link::NONE;
        }
        self.bucket_count = u32::try_from(count).unwrap_or(u32::MAX);
        for j in 0..(self.svc_high as usize).min(S) {
            if j != new && self.rec(j).in_use {
                self.link_into_bucket(j);
            }
        }
    }

    fn link_into_bucket(&mut self, i: usize) {
        let bucket = self.bucket_of(self.rec(i).name_hash);
        let head = self.index.get(bucket).map_or(Link::NONE, |s| s.bucket);
        self.rec_mut(i).hash_next = head;
        if let Some(slot) = self.index.get_mut(bucket) {
            slot.bucket = Link::to(i);
        }
    }

    fn hash_remove(&mut self, i: usize) {
        if S == 0 {
            return;
        }
        let bucket = self.bucket_of(self.rec(i).name_hash);
        let mut prev: Option<usize> = None;
        let mut link = self.index.get(bucket).map_or(Link::NONE, |s| s.bucket);
        while let Some(n) = link.get() {
            let next = self.rec(n).hash_next;
            if n == i {
                match prev {
                    Some(p) => self.rec_mut(p).hash_next = next,
                    None => {
                        if let Some(slot) = self.index.get_mut(bucket) {
                            slot.bucket = next;
                        }
                    }
                }
                self.rec_mut(i).hash_next = Link::NONE;
                return;
            }
            prev = Some(n);
            link = next;
        }
    }

    fn order_append(&mut self, i: usize) {
        let tail = self.order_tail;
        let r = self.rec_mut(i);
        r.order_prev = tail;
        r.order_next = Link::NONE;
        match tail.get() {
            Some(t) => self.rec_mut(t).order_next = Link::to(i),
            None => self.order_head = Link::to(i),
        }
        self.order_tail = Link::to(i);
    }

    fn order_remove(&mut self, i: usize) {
        let r = self.rec(i);
        let (prev, next) = (r.order_prev, r.order_next);
        if prev.is_none() && next.is_none() && self.order_head != Link::to(i) {
            return;
        }
        match prev.get() {
            Some(p) => self.rec_mut(p).order_next = next,
            None => self.order_head = next,
        }
        match next.get() {
            Some(n) => self.rec_mut(n).order_prev = prev,
            None => self.order_tail = prev,
        }
        let r = self.rec_mut(i);
        r.order_prev = Link::NONE;
        r.order_next = Link::NONE;
    }

    /// A new slot named `name`, as a placeholder, in the load list.
    fn new_named_slot(&mut self, name: &[u8]) -> Result<usize, LoadError> {
        let i = self.alloc_slot()?;
        match self.store_str(i, Field::Name, name) {
            Ok(s) => {
                let r = self.rec_mut(i);
                r.name = s;
                r.name_hash = names::hash(name);
                r.cfg = ServiceConfig::placeholder();
            }
            Err(e) => {
                self.free_slot(i);
                return Err(e.into());
            }
        }
        self.hash_insert(i);
        self.order_append(i);
        self.load_list_push(i);
        Ok(i)
    }

    fn load_list_push(&mut self, i: usize) {
        let head = self.load_head;
        let r = self.rec_mut(i);
        r.set(flag::IN_LOAD);
        r.load_next = head;
        self.load_head = Link::to(i);
    }

    // ----- edges ------------------------------------------------------------------------

    fn alloc_edge(&mut self) -> Result<usize, CapacityError> {
        let full = CapacityError::Edges { capacity: E };
        let e = if let Some(e) = self.edge_free.get() {
            self.edge_free = self.edge(e).free_next;
            e
        } else if (self.edge_high as usize) < E && self.edge_high < u32::MAX - 1 {
            let e = self.edge_high as usize;
            self.edge_high = self.edge_high.saturating_add(1);
            e
        } else {
            return Err(full);
        };
        *self.edge_mut(e) = Edge::EMPTY;
        self.edge_mut(e).in_use = true;
        self.edge_count = self.edge_count.saturating_add(1);
        Ok(e)
    }

    /// Links a new edge `from -> to` of `kind` into both services' lists.
    fn link_edge(&mut self, from: usize, to: usize, kind: DepKind) -> Result<usize, CapacityError> {
        let e = self.alloc_edge()?;
        let (Ok(from32), Ok(to32)) = (u32::try_from(from), u32::try_from(to)) else {
            debug_assert!(
                false,
                "record index {from} or {to} does not fit an edge's u32"
            );
            self.free_edge(e);
            return Err(CapacityError::Edges { capacity: E });
        };
        // Appended to both lists: dependencies are walked in the order they were declared, and
        // dependents in the order they were linked, as Dinit walks them (which decides, among
        // other things, the order in which services start and stop).
        let dep_tail = self.rec(from).deps_tail;
        let dependent_tail = self.rec(to).dependents_tail;
        let edge = self.edge_mut(e);
        edge.kind = kind;
        edge.from = from32;
        edge.to = to32;
        edge.prev_dep = dep_tail;
        edge.prev_dependent = dependent_tail;
        match dep_tail.get() {
            Some(t) => self.edge_mut(t).next_dep = Link::to(e),
            None => self.rec_mut(from).deps_head = Link::to(e),
        }
        match dependent_tail.get() {
            Some(t) => self.edge_mut(t).next_dependent = Link::to(e),
            None => self.rec_mut(to).dependents_head = Link::to(e),
        }
        self.rec_mut(from).deps_tail = Link::to(e);
        self.rec_mut(to).dependents_tail = Link::to(e);
        Ok(e)
    }

    fn free_edge(&mut self, e: usize) {
        let free = self.edge_free;
        *self.edge_mut(e) = Edge::EMPTY;
        self.edge_mut(e).free_next = free;
        self.edge_free = Link::to(e);
        self.edge_count = self.edge_count.saturating_sub(1);
    }

    /// Sets whether `from` of edge `e` waits for its `to`, keeping `from`'s count of such
    /// edges (`waiting_on`) in step. Every change of `Edge::waiting` goes through here.
    pub(super) fn set_waiting(&mut self, e: usize, wait: bool) {
        let edge = self.edge_mut(e);
        if edge.waiting == wait {
            return;
        }
        edge.waiting = wait;
        let from = edge.from as usize;
        let r = self.rec_mut(from);
        r.waiting_on = if wait {
            r.waiting_on.saturating_add(1)
        } else {
            r.waiting_on.saturating_sub(1)
        };
    }

    /// Unlinks and frees an edge (its hold and wait must already be dropped).
    fn unlink_edge(&mut self, e: usize) {
        self.set_waiting(e, false);
        let edge = *self.edge(e);
        match edge.prev_dep.get() {
            Some(p) => self.edge_mut(p).next_dep = edge.next_dep,
            None => self.rec_mut(edge.from as usize).deps_head = edge.next_dep,
        }
        match edge.next_dep.get() {
            Some(n) => self.edge_mut(n).prev_dep = edge.prev_dep,
            None => self.rec_mut(edge.from as usize).deps_tail = edge.prev_dep,
        }
        match edge.prev_dependent.get() {
            Some(p) => self.edge_mut(p).next_dependent = edge.next_dependent,
            None => self.rec_mut(edge.to as usize).dependents_head = edge.next_dependent,
        }
        match edge.next_dependent.get() {
            Some(n) => self.edge_mut(n).prev_dependent = edge.prev_dependent,
            None => self.rec_mut(edge.to as usize).dependents_tail = edge.prev_dependent,
        }
        self.free_edge(e);
    }

    /// The edge from `from` to `to` of `kind`, if there is one.
    ///
    /// The edge is in both `from`'s dependency list and `to`'s dependent list, so the two are
    /// walked in step and the search ends with the shorter: a service with thousands of
    /// dependencies (or dependents) costs nothing extra to link to one with few.
    fn find_edge(&self, from: usize, to: usize, kind: DepKind) -> Option<usize> {
        let mut deps = self.rec(from).deps_head;
        let mut dependents = self.rec(to).dependents_head;
        loop {
            let (Some(d), Some(t)) = (deps.get(), dependents.get()) else {
                return None;
            };
            let edge = self.edge(d);
            if edge.to as usize == to && edge.kind == kind {
                return Some(d);
            }
            deps = edge.next_dep;
            let edge = self.edge(t);
            if edge.from as usize == from && edge.kind == kind {
                return Some(t);
            }
            dependents = edge.next_dependent;
        }
    }

    /// Drops an edge's hold and wait, then removes it.
    fn remove_edge<H: Host>(&mut self, e: usize, host: &mut H) {
        let edge = *self.edge(e);
        if edge.holding {
            self.edge_mut(e).holding = false;
            self.release_acquisition(edge.to as usize, true, host);
        }
        if edge.waiting {
            self.set_waiting(e, false);
            let from = edge.from as usize;
            let r = self.rec(from);
            if r.state == ServiceState::Starting && r.has(flag::WAITING_FOR_DEPS) {
                self.enqueue_transition(from);
            }
        }
        self.unlink_edge(e);
        // A dependency waiting for its dependents to stop may have been waiting for this one.
        let to = edge.to as usize;
        let r = self.rec(to);
        if edge.is_hard()
            && r.state == ServiceState::Stopping
            && r.has(flag::WAITING_FOR_DEPS)
            && !self.fundamentally_stopped(edge.from as usize)
        {
            self.enqueue_transition(to);
        }
        // A start pin it passed on no longer holds. (Only a pinned service passes pins, so an
        // edge of a service still being loaded never gets here.)
        if self.rec(to).has(flag::DEPT_PINNED)
            && matches!(
                edge.kind,
                DepKind::Regular | DepKind::PreparedBy | DepKind::Milestone
            )
            && self.is_start_pinned(edge.from as usize)
        {
            self.rec_mut(to).set(flag::PROP_PIN);
            self.enqueue_prop(to);
        }
    }

    fn has_edges(&self, i: usize) -> bool {
        let r = self.rec(i);
        !r.deps_head.is_none() || !r.dependents_head.is_none()
    }

    /// Removes the edges service `i` owns (its own dependencies, and the `before` edges it
    /// declared). Placeholders left without edges are freed.
    fn remove_owned_edges<H: Host>(&mut self, i: usize, host: &mut H) {
        let mut link = self.rec(i).deps_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dep;
            if edge.kind != DepKind::Before {
                self.remove_edge(e, host);
                self.free_if_orphan_placeholder(edge.to as usize, i);
            }
        }
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if edge.kind == DepKind::Before {
                self.remove_edge(e, host);
                self.free_if_orphan_placeholder(edge.from as usize, i);
            }
        }
    }

    fn free_if_orphan_placeholder(&mut self, i: usize, except: usize) {
        if i != except
            && self.rec(i).in_use
            && self.rec(i).cfg.kind == ServiceKind::Placeholder
            && !self.rec(i).has(flag::IN_LOAD)
            && !self.has_edges(i)
        {
            self.free_slot(i);
        }
    }

    // ----- loading ----------------------------------------------------------------------

    /// Opens a load transaction.
    pub fn begin_load(&mut self) -> Result<(), LoadError> {
        if self.loading {
            return Err(LoadError::NotLoading);
        }
        self.loading = true;
        self.load_head = Link::NONE;
        Ok(())
    }

    /// Is a load transaction open?
    pub fn is_loading(&self) -> bool {
        self.loading
    }

    /// Adds a service to the open load: a new slot, or the placeholder of that name given its
    /// description. `chain_to` may be empty.
    pub fn insert_service(
        &mut self,
        name: &[u8],
        cfg: ServiceConfig,
        chain_to: &[u8],
    ) -> Result<ServiceId, LoadError> {
        if !self.loading {
            return Err(LoadError::NotLoading);
        }
        if name.is_empty() || cfg.kind == ServiceKind::Placeholder {
            return Err(LoadError::InvalidName);
        }
        let i = match self.find_slot(name) {
            Some(i) if self.rec(i).cfg.kind != ServiceKind::Placeholder => {
                return Err(LoadError::AlreadyLoaded(self.id_of(i)));
            }
            Some(i) => {
                if !self.rec(i).has(flag::IN_LOAD) {
                    self.load_list_push(i);
                    self.rec_mut(i).set(flag::LOAD_UPGRADED);
                }
                i
            }
            None => self.new_named_slot(name)?,
        };
        if !chain_to.is_empty() {
            let old = self.rec(i).chain_to;
            let s = self.store_str(i, Field::ChainTo, chain_to)?;
            self.names.free(old);
            self.rec_mut(i).chain_to = s;
        }
        let r = self.rec_mut(i);
        r.cfg = cfg;
        r.state = ServiceState::Stopped;
        r.target = ServiceState::Stopped;
        Ok(self.id_of(i))
    }

    /// The slot for `name` (loaded or placeholder), creating a placeholder in the open load if
    /// there is none: the target of a `before`/`after` that is not loaded.
    pub fn placeholder(&mut self, name: &[u8]) -> Result<ServiceId, LoadError> {
        if !self.loading {
            return Err(LoadError::NotLoading);
        }
        if name.is_empty() {
            return Err(LoadError::InvalidName);
        }
        match self.find_slot(name) {
            Some(i) => Ok(self.id_of(i)),
            None => self.new_named_slot(name).map(|i| self.id_of(i)),
        }
    }

    /// Adds a dependency declared by `declarer` on `other`, in the open load: for `before` the
    /// edge runs from `other` to `declarer`, otherwise from `declarer` to `other`. A duplicate
    /// of an existing edge is ignored.
    pub fn add_dependency(
        &mut self,
        declarer: ServiceId,
        other: ServiceId,
        kind: DepKind,
    ) -> Result<(), LoadError> {
        if !self.loading {
            return Err(LoadError::NotLoading);
        }
        let d = self.slot(declarer).ok_or(LoadError::NotLoaded(declarer))?;
        let o = self.slot(other).ok_or(LoadError::NotLoaded(other))?;
        if d == o {
            return Err(LoadError::SelfDependency(declarer));
        }
        if !kind.is_ordering() && self.rec(o).cfg.kind == ServiceKind::Placeholder {
            return Err(LoadError::NotLoaded(other));
        }
        let (from, to) = if kind == DepKind::Before {
            (o, d)
        } else {
            (d, o)
        };
        if self.find_edge(from, to, kind).is_none() {
            self.link_edge(from, to, kind)?;
        }
        Ok(())
    }

    /// Closes the open load after checking the graph for cycles. On a cycle the load stays
    /// open (so that [`cycle_path`](Self::cycle_path) can name the services on it) and the
    /// caller must [`abort_load`](Self::abort_load).
    pub fn commit_load(&mut self) -> Result<(), LoadError> {
        if !self.loading {
            return Err(LoadError::NotLoading);
        }
        self.next_dfs_epoch();
        let mut link = self.load_head;
        while let Some(i) = link.get() {
            link = self.rec(i).load_next;
            if let Some((start, last)) = self.dfs(i, None) {
                return Err(LoadError::Cycle(CycleError {
                    start: u32::try_from(start).unwrap_or(u32::MAX),
                    last: u32::try_from(last).unwrap_or(u32::MAX),
                }));
            }
        }
        let mut link = self.load_head;
        while let Some(i) = link.get() {
            let r = self.rec_mut(i);
            link = r.load_next;
            r.load_next = Link::NONE;
            r.clear(flag::IN_LOAD | flag::LOAD_UPGRADED);
        }
        self.load_head = Link::NONE;
        self.loading = false;
        Ok(())
    }

    /// Undoes the open load: every service, placeholder and edge it added is removed, and
    /// placeholders it described become placeholders again.
    pub fn abort_load(&mut self) {
        if !self.loading {
            return;
        }
        let mut host = super::host::Silent;
        let mut link = self.load_head;
        while let Some(i) = link.get() {
            link = self.rec(i).load_next;
            self.remove_owned_edges(i, &mut host);
        }
        let mut link = self.load_head;
        while let Some(i) = link.get() {
            let r = *self.rec(i);
            link = r.load_next;
            if r.has(flag::LOAD_UPGRADED) || self.has_edges(i) {
                self.names.free(r.chain_to);
                let m = self.rec_mut(i);
                m.chain_to = Str::EMPTY;
                m.cfg = ServiceConfig::placeholder();
                m.load_next = Link::NONE;
                m.clear(flag::IN_LOAD | flag::LOAD_UPGRADED);
            } else {
                self.free_slot(i);
            }
        }
        self.load_head = Link::NONE;
        self.loading = false;
    }

    /// Fills `out` with the services on a cycle, in dependency order starting where it
    /// closes, and returns how many there are (which may exceed `out.len()`; only the first
    /// `out.len()` are written). Valid until the load is aborted.
    pub fn cycle_path(&self, cycle: &CycleError, out: &mut [ServiceId]) -> usize {
        // Walk back from the last service to the start through the search's `dfs_via` edges,
        // which gives the path in reverse; count first, then fill from the end.
        let start = cycle.start as usize;
        let mut count = 1usize;
        let mut cur = cycle.last as usize;
        let mut guard = S;
        while cur != start && guard > 0 {
            count = count.saturating_add(1);
            match self.rec(cur).dfs_via.get() {
                Some(e) => cur = self.edge(e).from as usize,
                None => break,
            }
            guard = guard.saturating_sub(1);
        }
        let mut pos = count;
        let mut cur = cycle.last as usize;
        let mut guard = S;
        while guard > 0 {
            pos = pos.saturating_sub(1);
            if let Some(slot) = out.get_mut(pos) {
                *slot = self.id_of(cur);
            }
            if cur == start || pos == 0 {
                break;
            }
            match self.rec(cur).dfs_via.get() {
                Some(e) => cur = self.edge(e).from as usize,
                None => break,
            }
            guard = guard.saturating_sub(1);
        }
        count
    }

    /// The services on a cycle in *reverse* dependency order: the last service before the
    /// cycle closes first, the service where it closes last (each depends on the one yielded
    /// before it). Valid until the load is aborted.
    pub fn cycle_members(&self, cycle: &CycleError) -> impl Iterator<Item = ServiceId> + '_ {
        let start = cycle.start as usize;
        let mut cur = Some(cycle.last as usize);
        let mut guard = S;
        core::iter::from_fn(move || {
            let c = cur?;
            guard = guard.checked_sub(1)?;
            cur = if c == start {
                None
            } else {
                self.rec(c)
                    .dfs_via
                    .get()
                    .map(|e| self.edge(e).from as usize)
            };
            Some(self.id_of(c))
        })
    }

    // ----- cycle search -------------------------------------------------------------------

    fn next_dfs_epoch(&mut self) {
        self.dfs_epoch = self.dfs_epoch.wrapping_add(1);
        if self.dfs_epoch == 0 {
            for r in self.records.iter_mut() {
                r.dfs_epoch = 0;
            }
            self.dfs_epoch = 1;
        }
    }

    fn dfs_visit(&mut self, i: usize, via: Link) {
        let epoch = self.dfs_epoch;
        let r = self.rec_mut(i);
        r.dfs_epoch = epoch;
        r.dfs_via = via;
        r.dfs_cursor = r.deps_head;
        r.set(flag::DFS_ON_STACK);
    }

    /// Iterative depth-first search along dependency edges from `root`, skipping services
    /// already visited in this epoch. With `target`, returns `(target, service)` as soon as an
    /// edge reaches `target`; without, returns `(start, last)` of the first cycle found. The
    /// path back from `last` is recorded in `dfs_via`.
    fn dfs(&mut self, root: usize, target: Option<usize>) -> Option<(usize, usize)> {
        if self.rec(root).dfs_epoch == self.dfs_epoch {
            return None;
        }
        self.dfs_visit(root, Link::NONE);
        let mut cur = root;
        let mut found = None;
        let bound = S.saturating_add(E).saturating_mul(2).saturating_add(2);
        let mut steps = 0usize;
        while steps < bound {
            steps = steps.saturating_add(1);
            match self.rec(cur).dfs_cursor.get() {
                Some(e) => {
                    let to = self.edge(e).to as usize;
                    self.rec_mut(cur).dfs_cursor = self.edge(e).next_dep;
                    if Some(to) == target {
                        found = Some((to, cur));
                        break;
                    }
                    let t = self.rec(to);
                    if t.dfs_epoch == self.dfs_epoch {
                        if target.is_none() && t.has(flag::DFS_ON_STACK) {
                            found = Some((to, cur));
                            break;
                        }
                        continue;
                    }
                    self.dfs_visit(to, Link::to(e));
                    cur = to;
                }
                None => {
                    self.rec_mut(cur).clear(flag::DFS_ON_STACK);
                    match self.rec(cur).dfs_via.get() {
                        Some(e) => cur = self.edge(e).from as usize,
                        None => return None,
                    }
                }
            }
        }
        // Leave no stale stack marks behind.
        let mut c = cur;
        let mut guard = S;
        loop {
            self.rec_mut(c).clear(flag::DFS_ON_STACK);
            match self.rec(c).dfs_via.get() {
                Some(e) if guard > 0 => c = self.edge(e).from as usize,
                _ => break,
            }
            guard = guard.saturating_sub(1);
        }
        found
    }

    /// Is `target` reachable from `from` along dependency edges?
    fn reachable(&mut self, from: usize, target: usize) -> bool {
        if from == target {
            return true;
        }
        self.next_dfs_epoch();
        self.dfs(from, Some(target)).is_some()
    }

    // ----- run-time dependency changes ------------------------------------------------------

    /// `add-dep`: adds a run-time dependency of `kind` (need, milestone or waits-for) from
    /// `from` to `to`. Refused if it would be violated at once (a need from a service that is
    /// not stopped to one that is not started) or would create a cycle. With `enable`
    /// (`dinitctl enable`), a started or starting `from` also starts `to` as its dependency.
    pub fn add_dep<H: Host>(
        &mut self,
        from: ServiceId,
        to: ServiceId,
        kind: DepKind,
        enable: bool,
        now: crate::time::Instant,
        host: &mut H,
    ) -> Result<AddDepOutcome, Refusal> {
        let f = self.service(from)?;
        let t = self.service(to)?;
        if f == t {
            return Err(Refusal::SameService);
        }
        if !matches!(
            kind,
            DepKind::Regular | DepKind::WaitsFor | DepKind::Milestone
        ) {
            return Err(Refusal::CycleOrState);
        }
        if kind == DepKind::Regular
            && self.rec(f).state != ServiceState::Stopped
            && self.rec(t).state != ServiceState::Started
        {
            return Err(Refusal::CycleOrState);
        }
        if self.reachable(t, f) {
            return Err(Refusal::CycleOrState);
        }
        self.begin_input(now);
        let (e, existed) = match self.find_edge(f, t, kind) {
            Some(e) => (e, true),
            None => {
                let e = self.link_edge(f, t, kind).map_err(Refusal::Capacity)?;
                if kind == DepKind::Regular && self.rec(f).is_active() {
                    // A hard dependency of a running service must be held at once.
                    self.edge_mut(e).holding = true;
                    self.require(t, host);
                }
                (e, false)
            }
        };
        if enable
            && self.shutdown == 0
            && matches!(
                self.rec(f).state,
                ServiceState::Started | ServiceState::Starting
            )
            && !self.edge(e).holding
        {
            self.edge_mut(e).holding = true;
            self.require(t, host);
            self.rec_mut(t).clear(flag::NO_AUTO_RESTART);
            self.rec_mut(t).set(flag::PROP_START);
            self.enqueue_prop(t);
        }
        self.process_queues(host);
        Ok(AddDepOutcome {
            already_existed: existed,
        })
    }

    /// `rm-dep`: removes the dependency of `kind` from `from` to `to`. The former dependency
    /// stops if nothing else requires it.
    pub fn rm_dep<H: Host>(
        &mut self,
        from: ServiceId,
        to: ServiceId,
        kind: DepKind,
        now: crate::time::Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let f = self.service(from)?;
        let t = self.service(to)?;
        if f == t {
            return Err(Refusal::SameService);
        }
        let e = self
            .find_edge(f, t, kind)
            .ok_or(Refusal::NoSuchDependency)?;
        self.begin_input(now);
        self.remove_edge(e, host);
        self.process_queues(host);
        Ok(())
    }

    /// `reload`: gives a loaded service a new configuration, `chain-to` and set of declared
    /// dependencies (`(other, kind)` as its description declares them: for `before`, `other`
    /// is the service ordered after this one). Ordering targets may be placeholders; the others
    /// must be loaded.
    ///
    /// A stopped service may change anything. One that is not stopped keeps its type and its
    /// console options (`runs-on-console`, `shares-console`), and may only gain hard
    /// dependencies that are started; otherwise the reload is refused
    /// ([`Refusal::Incompatible`]) and nothing changes. Dependencies it no longer declares are
    /// released (and stop if nothing else needs them); new hard dependencies of an active
    /// service are held at once. Other changed settings take effect at its next start.
    pub fn reload<H: Host>(
        &mut self,
        id: ServiceId,
        cfg: ServiceConfig,
        chain_to: &[u8],
        deps: &[(ServiceId, DepKind)],
        now: crate::time::Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let i = self.service(id)?;
        self.check_reload(i, &cfg, deps)?;
        let new_chain = self
            .store_str(i, Field::ChainTo, chain_to)
            .map_err(Refusal::Capacity)?;
        self.begin_input(now);
        self.drop_undeclared_edges(i, deps, host);
        self.add_declared_edges(i, deps, host);
        let old_chain = self.rec(i).chain_to;
        self.names.free(old_chain);
        let rm = self.rec_mut(i);
        rm.chain_to = new_chain;
        rm.cfg = cfg;
        self.process_queues(host);
        Ok(())
    }

    /// The edge a declared dependency of `i` on `o` is: `(from, to)`, reversed for `before`.
    fn oriented(i: usize, o: usize, kind: DepKind) -> (usize, usize) {
        if kind == DepKind::Before {
            (o, i)
        } else {
            (i, o)
        }
    }

    /// Whether a declared dependency of this kind holds its target up while the dependent is
    /// active (`depends-on`, `depends-ms`, `prepared-by`).
    fn holds(kind: DepKind) -> bool {
        matches!(
            kind,
            DepKind::Regular | DepKind::PreparedBy | DepKind::Milestone
        )
    }

    /// Whether [`reload`](Self::reload) may give `i` the configuration `cfg` and the declared
    /// dependencies `deps` (resolved and checked before anything changes).
    fn check_reload(
        &mut self,
        i: usize,
        cfg: &ServiceConfig,
        deps: &[(ServiceId, DepKind)],
    ) -> Result<(), Refusal> {
        if self.loading || cfg.kind == ServiceKind::Placeholder {
            return Err(Refusal::Incompatible);
        }
        let r = self.rec(i);
        let running = r.state != ServiceState::Stopped;
        if running {
            let console = crate::config::Options::RUNS_ON_CONSOLE
                .with(crate::config::Options::SHARES_CONSOLE);
            let console_bits = |o: crate::config::Options| o.bits() & console.bits();
            if cfg.kind != r.cfg.kind || console_bits(cfg.options) != console_bits(r.cfg.options) {
                return Err(Refusal::Incompatible);
            }
        }
        let mut new_edges = 0usize;
        for &(other, kind) in deps {
            let o = self.slot(other).ok_or(Refusal::UnknownService)?;
            if o == i {
                return Err(Refusal::SameService);
            }
            if !kind.is_ordering() && self.rec(o).cfg.kind == ServiceKind::Placeholder {
                return Err(Refusal::UnknownService);
            }
            let (from, to) = Self::oriented(i, o, kind);
            if self.find_edge(from, to, kind).is_some() {
                continue;
            }
            new_edges = new_edges.saturating_add(1);
            if running && Self::holds(kind) && self.rec(to).state != ServiceState::Started {
                return Err(Refusal::Incompatible);
            }
            if self.reachable(to, from) {
                return Err(Refusal::CycleOrState);
            }
        }
        if new_edges > E.saturating_sub(self.edge_count as usize) {
            return Err(Refusal::Capacity(CapacityError::Edges { capacity: E }));
        }
        Ok(())
    }

    /// Reload: removes the edges of `i` its description no longer declares (releasing what
    /// they held), and the placeholders left without a user.
    fn drop_undeclared_edges<H: Host>(
        &mut self,
        i: usize,
        deps: &[(ServiceId, DepKind)],
        host: &mut H,
    ) {
        let declared = |set: &Self, e: &Edge| {
            deps.iter().any(|&(other, kind)| {
                set.slot(other).is_some_and(|o| {
                    let (from, to) = Self::oriented(i, o, kind);
                    e.kind == kind && e.from as usize == from && e.to as usize == to
                })
            })
        };
        let mut link = self.rec(i).deps_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dep;
            if edge.kind != DepKind::Before && !declared(self, &edge) {
                self.remove_edge(e, host);
                self.free_if_orphan_placeholder(edge.to as usize, i);
            }
        }
        let mut link = self.rec(i).dependents_head;
        while let Some(e) = link.get() {
            let edge = *self.edge(e);
            link = edge.next_dependent;
            if edge.kind == DepKind::Before && !declared(self, &edge) {
                self.remove_edge(e, host);
                self.free_if_orphan_placeholder(edge.from as usize, i);
            }
        }
    }

    /// Reload: links the newly declared edges of `i` (capacity was checked); new hard
    /// dependencies of an active service are held at once.
    fn add_declared_edges<H: Host>(
        &mut self,
        i: usize,
        deps: &[(ServiceId, DepKind)],
        host: &mut H,
    ) {
        for &(other, kind) in deps {
            let Some(o) = self.slot(other) else { continue };
            let (from, to) = Self::oriented(i, o, kind);
            if self.find_edge(from, to, kind).is_some() {
                continue;
            }
            let Ok(e) = self.link_edge(from, to, kind) else {
                continue;
            };
            if Self::holds(kind) && from == i && self.rec(i).is_active() {
                self.edge_mut(e).holding = true;
                self.require(to, host);
            }
        }
    }

    /// `unload`: removes a stopped service that no loaded service depends on. If services
    /// still order themselves before or after it, its name stays as a placeholder.
    pub fn unload<H: Host>(
        &mut self,
        id: ServiceId,
        now: crate::time::Instant,
        host: &mut H,
    ) -> Result<(), Refusal> {
        let i = self.service(id)?;
        let r = self.rec(i);
        if r.state != ServiceState::Stopped || r.required_by > 0 || self.loading {
            return Err(Refusal::NotStopped);
        }
        let mut link = r.dependents_head;
        while let Some(e) = link.get() {
            let edge = self.edge(e);
            if !edge.kind.is_ordering() {
                return Err(Refusal::HasDependencies);
            }
            link = edge.next_dependent;
        }
        self.begin_input(now);
        self.remove_owned_edges(i, host);
        if self.has_edges(i) {
            let r = *self.rec(i);
            self.names.free(r.chain_to);
            let m = self.rec_mut(i);
            // The old id must not name whatever is loaded under this name later.
            m.generation = m.generation.wrapping_add(1);
            m.chain_to = Str::EMPTY;
            m.cfg = ServiceConfig::placeholder();
            m.flags = 0;
            m.stop_reason = crate::types::StopReason::Normal;
            m.set_exit(crate::types::ExitStatus::None);
        } else {
            self.free_slot(i);
        }
        self.process_queues(host);
        Ok(())
    }
}
