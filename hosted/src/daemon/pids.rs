//! Which service each process the daemon watches belongs to: the table the reaper looks an
//! ended child up in.
//!
//! A vector sorted by pid rather than a hash map. Room for two processes per loaded service
//! (start and stop) is reserved at load, so that a launch never allocates; a hash table keeps
//! that room at a load factor of at most 7/8, rounded up to a power of two, and its entries
//! land on random pages: with 1000 services running it touched all of its 64 KiB, where the
//! vector touches the 16 bytes of each entry in use (16 kB), and the part of its room never
//! used stays untouched. Pids mostly grow, so an insertion is mostly at the end; a removal
//! moves the entries above it down (stopping 10 000 services moves about 10 ms of memory in
//! all, against the 600 ms the kernel takes to end those processes).

use dinit_core::{Pid, ServiceId};

/// The processes being watched: (pid, service, role: 0 start, 1 stop), sorted by pid.
#[derive(Debug, Default)]
pub(crate) struct PidTable {
    entries: Vec<(Pid, ServiceId, u8)>,
}

impl PidTable {
    /// Records `pid` as `service`'s process of `role` (replacing what was recorded for that
    /// pid). Allocates only when the table is fuller than the room reserved.
    pub(crate) fn insert(&mut self, pid: Pid, service: ServiceId, role: u8) {
        match self.entries.binary_search_by_key(&pid, |e| e.0) {
            Ok(at) => {
                if let Some(e) = self.entries.get_mut(at) {
                    *e = (pid, service, role);
                }
            }
            Err(at) => self.entries.insert(at, (pid, service, role)),
        }
    }

    /// Forgets `pid`, returning the service and role it was recorded with.
    pub(crate) fn remove(&mut self, pid: Pid) -> Option<(ServiceId, u8)> {
        let at = self.entries.binary_search_by_key(&pid, |e| e.0).ok()?;
        let (_, service, role) = self.entries.remove(at);
        Some((service, role))
    }

    /// Room for `total` processes in all. The first time exactly that much; later at least
    /// twice what there was (services loaded one at a time then reallocate rarely). The
    /// entries move to a new buffer of that size rather than being `realloc`ed, which would
    /// copy (and so touch) the whole old buffer, unused room included.
    pub(crate) fn reserve_total(&mut self, total: usize) {
        super::reserve_room(&mut self.entries, total);
    }

    /// How many processes the table can hold without allocating.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dinit_core::ServiceSet;

    fn ids(n: usize) -> Vec<ServiceId> {
        // Real ids from an engine: ServiceId has no public constructor.
        let mut set = ServiceSet::<8, 8, 256>::new();
        set.begin_load().unwrap();
        let ids = (0..n)
            .map(|i| {
                set.insert_service(
                    format!("s{i}").as_bytes(),
                    dinit_core::ServiceConfig::new(dinit_core::ServiceKind::Process),
                    &[],
                )
                .unwrap()
            })
            .collect();
        set.commit_load().unwrap();
        ids
    }

    #[test]
    fn finds_what_was_recorded_in_any_order() {
        let ids = ids(3);
        let mut t = PidTable::default();
        t.reserve_total(8);
        for (pid, id, role) in [(300, ids[0], 0), (100, ids[1], 1), (200, ids[2], 0)] {
            t.insert(pid, id, role);
        }
        assert_eq!(t.remove(100), Some((ids[1], 1)));
        assert_eq!(t.remove(100), None, "removed once");
        assert_eq!(t.remove(250), None, "never recorded");
        assert_eq!(t.remove(300), Some((ids[0], 0)));
        assert_eq!(t.remove(200), Some((ids[2], 0)));
        assert_eq!(t.entries.len(), 0);
    }

    #[test]
    fn a_pid_recorded_again_replaces_the_entry() {
        let ids = ids(2);
        let mut t = PidTable::default();
        t.insert(42, ids[0], 0);
        t.insert(42, ids[1], 1);
        assert_eq!(t.entries.len(), 1);
        assert_eq!(t.remove(42), Some((ids[1], 1)));
    }

    #[test]
    fn stays_sorted_and_within_the_room_reserved() {
        let ids = ids(1);
        let mut t = PidTable::default();
        t.reserve_total(64);
        let cap = t.capacity();
        assert_eq!(cap, 64, "exactly what was asked the first time");
        // Pids that grow, then wrap around.
        for pid in (1000..1040).chain(300..324) {
            t.insert(pid, ids[0], 0);
        }
        assert_eq!(t.capacity(), cap, "no reallocation within the room");
        assert!(t.entries.windows(2).all(|w| w[0].0 < w[1].0));
        t.reserve_total(65);
        assert!(t.capacity() >= 128, "at least doubled later");
        assert_eq!(t.entries.len(), 64, "entries kept");
        assert!(t.entries.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
