//! One timer per service (start timeout, stop timeout or restart delay), kept in a binary
//! min-heap of record indices that lives in a fixed array. Each record remembers its heap
//! position, so re-arming and cancelling are O(log n) and the runtime needs only one OS timer
//! for the earliest deadline.

use super::record::{Link, TimerKind};
use super::ServiceSet;
use crate::time::Instant;

impl<const S: usize, const E: usize, const N: usize> ServiceSet<S, E, N> {
    fn heap_at(&self, pos: usize) -> Option<usize> {
        if pos >= self.heap_len as usize {
            return None;
        }
        self.index.get(pos).and_then(|s| s.heap.get())
    }

    fn heap_key(&self, pos: usize) -> Instant {
        match self.heap_at(pos) {
            Some(i) => self.rec(i).deadline,
            None => Instant::from_nanos(u64::MAX),
        }
    }

    fn heap_put(&mut self, pos: usize, i: usize) {
        debug_assert!(pos < S, "timer heap position {pos} beyond its {S} entries");
        if let Some(slot) = self.index.get_mut(pos) {
            slot.heap = Link::to(i);
            self.rec_mut(i).heap_pos = Link::to(pos);
        }
    }

    fn heap_swap(&mut self, a: usize, b: usize) {
        let (x, y) = (self.heap_at(a), self.heap_at(b));
        debug_assert!(
            x.is_some() && y.is_some(),
            "timer heap swap of {a} and {b}: a hole or a position past the end"
        );
        if let (Some(x), Some(y)) = (x, y) {
            self.heap_put(a, y);
            self.heap_put(b, x);
        }
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = pos.saturating_sub(1) / 2;
            if self.heap_key(pos) < self.heap_key(parent) {
                self.heap_swap(pos, parent);
                pos = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut pos: usize) {
        let len = self.heap_len as usize;
        loop {
            let left = pos.saturating_mul(2).saturating_add(1);
            if left >= len {
                break;
            }
            let right = left.saturating_add(1);
            let child = if right < len && self.heap_key(right) < self.heap_key(left) {
                right
            } else {
                left
            };
            if self.heap_key(child) < self.heap_key(pos) {
                self.heap_swap(pos, child);
                pos = child;
            } else {
                break;
            }
        }
    }

    /// Arms (or re-arms) the service's timer.
    pub(super) fn arm_timer(&mut self, i: usize, kind: TimerKind, at: Instant) {
        let r = self.rec_mut(i);
        r.timer = kind;
        r.deadline = at;
        match r.heap_pos.get() {
            Some(pos) => {
                self.sift_up(pos);
                if let Some(pos) = self.rec(i).heap_pos.get() {
                    self.sift_down(pos);
                }
            }
            None => {
                let pos = self.heap_len as usize;
                debug_assert!(
                    pos < S,
                    "timer heap full, yet each service has one entry at most"
                );
                if pos >= S {
                    return;
                }
                self.heap_len = self.heap_len.saturating_add(1);
                self.heap_put(pos, i);
                self.sift_up(pos);
            }
        }
    }

    /// Disarms the service's timer, if armed.
    pub(super) fn cancel_timer(&mut self, i: usize) {
        let r = self.rec_mut(i);
        r.timer = TimerKind::None;
        let Some(pos) = r.heap_pos.get() else { return };
        r.heap_pos = Link::NONE;
        debug_assert!(
            pos < self.heap_len as usize,
            "service {i} has timer heap position {pos}, past the heap's end"
        );
        let last = (self.heap_len as usize).saturating_sub(1);
        if pos != last {
            let moved = self.heap_at(last);
            debug_assert!(moved.is_some(), "the timer heap has a hole at its end");
            if let Some(moved) = moved {
                self.heap_put(pos, moved);
            }
        }
        if let Some(slot) = self.index.get_mut(last) {
            slot.heap = Link::NONE;
        }
        self.heap_len = self.heap_len.saturating_sub(1);
        if pos < self.heap_len as usize {
            self.sift_up(pos);
            if let Some(i2) = self.heap_at(pos) {
                if let Some(p) = self.rec(i2).heap_pos.get() {
                    self.sift_down(p);
                }
            }
        }
    }

    /// Removes and returns the service whose timer expires first, if it has expired by `now`.
    pub(super) fn pop_expired_timer(&mut self, now: Instant) -> Option<usize> {
        let top = self.heap_at(0)?;
        if self.rec(top).deadline > now {
            return None;
        }
        let kind = self.rec(top).timer;
        self.cancel_timer(top);
        self.rec_mut(top).timer = kind;
        Some(top)
    }
}
