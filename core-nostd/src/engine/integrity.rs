//! A full consistency check of the engine's tables, for tests, the simulator and debug
//! self-checks. It walks every record and edge ever used once (O(services + edges), not the
//! capacities: slots above the high-water marks have never been touched) and reports the first
//! broken invariant. Debug builds run it after every input (`ServiceSet::process_queues`).

use super::record::{flag, Link, Record, TimerKind};
use super::ServiceSet;
use crate::types::{ServiceKind, ServiceState};

/// The first inconsistency [`ServiceSet::verify_integrity`] found.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IntegrityError {
    /// What is wrong.
    pub what: &'static str,
    /// The record (or edge) index concerned.
    pub index: usize,
}

type Checked<T = ()> = Result<T, IntegrityError>;

fn fail<T>(what: &'static str, index: usize) -> Checked<T> {
    Err(IntegrityError { what, index })
}

/// "Up": reached STARTED and not yet brought down (a stop may be pending, or have been
/// abandoned).
fn not_brought_down(s: &Record) -> bool {
    s.state != ServiceState::Stopping || s.has(flag::WAITING_FOR_DEPS)
}

impl<const S: usize, const E: usize, const N: usize> ServiceSet<S, E, N> {
    /// Checks the structural invariants between inputs: counts match the tables, every edge
    /// is linked into both of its services' lists, `required_by` equals explicit activation
    /// plus holding edges, the timer heap is a heap whose positions agree with the records,
    /// the queues are empty, placeholders are inert, STARTED services have their hard
    /// dependencies up (STARTED, or STOPPING but still waiting for their dependents), and the
    /// console is held by the one service flagged as holding it, with exactly the services
    /// flagged as waiting for it in its queue.
    pub fn verify_integrity(&self) -> Result<(), IntegrityError> {
        if !self.prop_head.is_none() || !self.transition_head.is_none() {
            return fail("propagation queues not drained", 0);
        }
        let console_waiters = self.check_records()?;
        self.check_console_queue(console_waiters)?;
        self.check_edges()?;
        self.check_timer_heap()
    }

    /// Every record in use, then the counts kept of them. Returns how many services wait for
    /// the console.
    fn check_records(&self) -> Checked<u32> {
        let (mut in_use, mut active, mut console_waiters) = (0u32, 0u32, 0u32);
        let Some(used_records) = self.records.get(..self.svc_high as usize) else {
            return fail(
                "service high-water mark above the capacity",
                self.svc_high as usize,
            );
        };
        for (i, r) in used_records.iter().enumerate() {
            if !r.in_use {
                if !r.deps_head.is_none() || !r.dependents_head.is_none() {
                    return fail("free slot has edges", i);
                }
                continue;
            }
            in_use = in_use.saturating_add(1);
            active = active.saturating_add(u32::from(r.has(flag::ACTIVE)));
            console_waiters =
                console_waiters.saturating_add(u32::from(r.has(flag::WAITING_FOR_CONSOLE)));
            self.check_record(i, r)?;
        }
        if in_use != self.svc_count {
            return fail("service count is wrong", 0);
        }
        if self.bucket_count as usize > S
            || (self.svc_count > self.bucket_count && (self.bucket_count as usize) < S)
        {
            return fail("hash table has fewer buckets than services", 0);
        }
        if active != self.active {
            return fail("active count is wrong", 0);
        }
        if let Some(h) = self.console_holder.get() {
            if !self.rec(h).in_use || !self.rec(h).has(flag::HAS_CONSOLE) {
                return fail("console holder lacks the console flag", h);
            }
        }
        Ok(console_waiters)
    }

    /// One record in use: its flags against its state, its name, its dependents, its
    /// dependencies and its timer.
    fn check_record(&self, i: usize, r: &Record) -> Checked {
        if r.has(flag::HAS_CONSOLE) && self.console_holder != Link::to(i) {
            return fail(
                "service has the console flag but does not hold the console",
                i,
            );
        }
        if r.has(flag::ACTIVE) != (r.is_active() && r.cfg.kind != ServiceKind::Placeholder) {
            return fail("active flag disagrees with state", i);
        }
        if self.find_slot(self.names.get(r.name)) != Some(i) {
            return fail("name not found in hash table", i);
        }
        self.check_dependents(i, r)?;
        if r.required_by == 0
            && r.target == ServiceState::Started
            && r.state == ServiceState::Stopped
        {
            return fail("stopped service with target STARTED but not required", i);
        }
        if r.state == ServiceState::Started
            && r.target == ServiceState::Stopped
            && !r.has(flag::PIN_STARTED | flag::DEPT_PINNED)
        {
            return fail("started service is not wanted, yet not stopping", i);
        }
        if r.has(flag::KILLING_ALL)
            && (r.state != ServiceState::Stopping || r.has(flag::WAITING_FOR_DEPS))
        {
            return fail(
                "kill-all sweep outstanding for a service not being brought down",
                i,
            );
        }
        if r.cfg.kind == ServiceKind::Placeholder {
            if r.state != ServiceState::Stopped || r.required_by != 0 {
                return fail("placeholder is active", i);
            }
            return Ok(());
        }
        self.check_dependencies(i, r)?;
        match r.heap_pos.get() {
            Some(pos) if self.index.get(pos).map(|s| s.heap) != Some(Link::to(i)) => {
                fail("timer heap position is stale", i)
            }
            None if r.timer != TimerKind::None => fail("timer kind set without a heap entry", i),
            _ => Ok(()),
        }
    }

    /// The dependents list of `i`: its own edges only, no loop, and `required_by` = explicit
    /// activation plus holding edges.
    fn check_dependents(&self, i: usize, r: &Record) -> Checked {
        let mut holders = u32::from(r.has(flag::EXPLICIT));
        let mut link = r.dependents_head;
        let mut guard = E.saturating_add(1);
        while let Some(e) = link.get() {
            let edge = self.edge(e);
            if !edge.in_use || edge.to as usize != i {
                return fail("dependent list holds a foreign edge", e);
            }
            if edge.holding {
                holders = holders.saturating_add(1);
            }
            link = edge.next_dependent;
            guard = guard.saturating_sub(1);
            if guard == 0 {
                return fail("dependent list loops", i);
            }
        }
        if holders != r.required_by {
            return fail(
                "required_by differs from explicit activation plus holding edges",
                i,
            );
        }
        Ok(())
    }

    /// The dependencies list of `i`: its own edges only, no loop, holds as its state allows,
    /// hard dependencies up while it is up, and `waiting_on` = the edges waited for.
    fn check_dependencies(&self, i: usize, r: &Record) -> Checked {
        let mut link = r.deps_head;
        let mut guard = E.saturating_add(1);
        let mut waiting = 0u32;
        // Up: reached STARTED and not brought down yet, or launched and starting.
        let is_up = (r.has(flag::UP) && not_brought_down(r))
            || (r.state == ServiceState::Starting && r.has(flag::LAUNCHED));
        while let Some(e) = link.get() {
            let edge = self.edge(e);
            if !edge.in_use || edge.from as usize != i {
                return fail("dependency list holds a foreign edge", e);
            }
            waiting = waiting.saturating_add(u32::from(edge.waiting));
            if edge.holding && edge.kind.is_ordering() {
                return fail("ordering edge holds its target", e);
            }
            // Dependencies are released once nothing wants the service any more (at the
            // latest once it has stopped).
            if edge.holding
                && r.required_by == 0
                && r.state == ServiceState::Stopped
                && !r.has(flag::PIN_STARTED | flag::DEPT_PINNED)
            {
                return fail("a stopped service nothing wants holds a dependency", i);
            }
            if is_up && edge.holding && edge.is_hard() {
                let to = self.rec(edge.to as usize);
                if !(to.has(flag::UP) && not_brought_down(to)) {
                    return fail("running service has a hard dependency that is down", i);
                }
            }
            link = edge.next_dep;
            guard = guard.saturating_sub(1);
            if guard == 0 {
                return fail("dependency list loops", i);
            }
        }
        if waiting != r.waiting_on {
            return fail("waiting_on differs from the dependencies waited for", i);
        }
        Ok(())
    }

    /// The console queue holds exactly the services waiting for the console, in order.
    fn check_console_queue(&self, console_waiters: u32) -> Checked {
        let mut queued = 0u32;
        let mut last = Link::NONE;
        let mut link = self.console_head;
        while let Some(n) = link.get() {
            let r = self.rec(n);
            if !r.in_use || !r.has(flag::WAITING_FOR_CONSOLE) {
                return fail("console queue holds a service not waiting for it", n);
            }
            queued = queued.saturating_add(1);
            if queued > console_waiters {
                return fail("console queue loops or holds more than the waiters", n);
            }
            last = link;
            link = r.console_next;
        }
        if queued != console_waiters {
            return fail("a service waiting for the console is not in its queue", 0);
        }
        if self.console_tail != last {
            return fail("console queue tail is not its last service", 0);
        }
        Ok(())
    }

    /// Every edge in use joins two services in use, and the count agrees.
    fn check_edges(&self) -> Checked {
        let mut edges = 0u32;
        let Some(used_edges) = self.edges.get(..self.edge_high as usize) else {
            return fail(
                "edge high-water mark above the capacity",
                self.edge_high as usize,
            );
        };
        for (e, edge) in used_edges.iter().enumerate() {
            if !edge.in_use {
                continue;
            }
            edges = edges.saturating_add(1);
            if !self.rec(edge.from as usize).in_use || !self.rec(edge.to as usize).in_use {
                return fail("edge points at a free slot", e);
            }
        }
        if edges != self.edge_count {
            return fail("edge count is wrong", 0);
        }
        Ok(())
    }

    /// The timer heap has no hole and keeps its order.
    fn check_timer_heap(&self) -> Checked {
        let len = self.heap_len as usize;
        for pos in 1..len {
            let parent = pos.saturating_sub(1) / 2;
            let (Some(a), Some(b)) = (
                self.index.get(parent).and_then(|s| s.heap.get()),
                self.index.get(pos).and_then(|s| s.heap.get()),
            ) else {
                return fail("timer heap has a hole", pos);
            };
            if self.rec(a).deadline > self.rec(b).deadline {
                return fail("timer heap order broken", pos);
            }
        }
        Ok(())
    }
}
