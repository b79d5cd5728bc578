//! The bounded string arena that holds service names and `chain-to` targets.
//!
//! Strings are appended at the end of a fixed byte array, each after a small header naming its
//! owner (a record index and a field number). Freeing a string only counts its bytes as dead;
//! when an allocation does not fit, the owner compacts the arena: live strings slide down over
//! dead ones in one linear pass and their owners' offsets are updated. Nothing allocates, and a
//! full arena is an ordinary error.

/// A string in the arena: offset of its first byte and its length. `len == 0` is "no string".
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub(crate) struct Str {
    pub off: u32,
    pub len: u32,
}

impl Str {
    pub const EMPTY: Str = Str { off: 0, len: 0 };

    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

wire_enum! {
    /// Which of a record's strings a block belongs to: the byte in its header.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(crate) enum Field: u8 {
        /// The service's name.
        Name = 1,
        /// Its `chain-to` target.
        ChainTo = 2,
    }
}

/// Block header: owner record index (u32 LE), field (u8), length (u32 LE).
const HEADER: usize = 9;

/// A fixed-size byte arena of `N` bytes.
#[derive(Debug)]
pub(crate) struct Arena<const N: usize> {
    /// The blocks, one after the other; its length is the end of the last block.
    bytes: heapless::Vec<u8, N>,
    /// Bytes (headers included) of freed blocks not yet reclaimed.
    dead: usize,
}

impl<const N: usize> Arena<N> {
    pub const fn new() -> Self {
        Arena {
            bytes: heapless::Vec::new(),
            dead: 0,
        }
    }

    /// Forgets every string.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.dead = 0;
    }

    /// Bytes in use, headers and dead blocks included.
    pub fn used(&self) -> usize {
        self.bytes.len()
    }

    /// The bytes of `s` (empty if `s` is out of range, which cannot happen for strings this
    /// arena handed out).
    pub fn get(&self, s: Str) -> &[u8] {
        let bytes = usize::try_from(s.off)
            .ok()
            .zip(usize::try_from(s.len).ok())
            .and_then(|(off, len)| self.bytes.get(off..off.checked_add(len)?));
        debug_assert!(
            bytes.is_some(),
            "string {s:?} lies outside the name arena's {N} bytes"
        );
        bytes.unwrap_or(&[])
    }

    /// Space a string of `len` bytes takes, or `None` if it could never fit.
    fn block_size(len: usize) -> Option<usize> {
        let size = HEADER.checked_add(len)?;
        if size > N || u32::try_from(len).is_err() {
            None
        } else {
            Some(size)
        }
    }

    /// True if `len` bytes fit at the end without compaction.
    pub fn fits(&self, len: usize) -> bool {
        match Self::block_size(len) {
            Some(size) => N.saturating_sub(self.bytes.len()) >= size,
            None => false,
        }
    }

    /// True if `len` bytes would fit once dead blocks are reclaimed.
    pub fn fits_after_compaction(&self, len: usize) -> bool {
        match Self::block_size(len) {
            Some(size) => N.saturating_sub(self.bytes.len()).saturating_add(self.dead) >= size,
            None => false,
        }
    }

    /// Appends `data` for `owner`'s `field`. Fails (changing nothing) if it does not fit at the
    /// end; the caller compacts first when `fits_after_compaction` says that helps.
    pub fn alloc(&mut self, owner: u32, field: Field, data: &[u8]) -> Option<Str> {
        if data.is_empty() {
            return Some(Str::EMPTY);
        }
        if !self.fits(data.len()) {
            return None;
        }
        let len = u32::try_from(data.len()).ok()?;
        let start = self.bytes.len();
        let data_off = u32::try_from(start.checked_add(HEADER)?).ok()?;
        let [o0, o1, o2, o3] = owner.to_le_bytes();
        let [l0, l1, l2, l3] = len.to_le_bytes();
        let header: [u8; HEADER] = [o0, o1, o2, o3, field as u8, l0, l1, l2, l3];
        // `fits` has made sure that the header and the data fit: neither can fail.
        let pushed = self.bytes.extend_from_slice(&header).is_ok()
            && self.bytes.extend_from_slice(data).is_ok();
        debug_assert!(pushed, "a block that fits did not fit");
        if !pushed {
            self.bytes.truncate(start);
            return None;
        }
        Some(Str { off: data_off, len })
    }

    /// Marks `s` dead. Its bytes are reclaimed by the next compaction.
    pub fn free(&mut self, s: Str) {
        if s.is_empty() {
            return;
        }
        if let Ok(len) = usize::try_from(s.len) {
            self.dead = self.dead.saturating_add(len).saturating_add(HEADER);
        }
        // Forget the owner so that compaction does not mistake the block for a live one
        // whose owner happens to sit at the same offset.
        if let Some(start) = usize::try_from(s.off)
            .ok()
            .and_then(|o| o.checked_sub(HEADER))
        {
            if let Some(owner) = self.bytes.get_mut(start..start.saturating_add(4)) {
                owner.copy_from_slice(&u32::MAX.to_le_bytes());
            }
        }
        if self.dead >= self.bytes.len() {
            // Everything is dead: start again from the beginning.
            self.clear();
        }
    }

    fn read_u32(&self, at: usize) -> Option<u32> {
        let b = self.bytes.get(at..at.checked_add(4)?)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Some(u32::from_le_bytes(a))
    }

    /// Slides live blocks down over dead ones, in one linear pass with no allocation.
    /// `owner(owner, field, old, new)` is asked about every block: it answers whether the
    /// block at `old` is still that owner's string, and when a live block has moved it is
    /// called again with `Some(new)` so that the owner can update its offset.
    pub fn compact(&mut self, mut owner_of: impl FnMut(u32, Field, Str, Option<Str>) -> bool) {
        let used = self.bytes.len();
        let mut read = 0usize;
        let mut write = 0usize;
        while read < used {
            let (Some(owner), Some(len)) = (
                self.read_u32(read),
                read.checked_add(5).and_then(|a| self.read_u32(a)),
            ) else {
                break;
            };
            let field = self
                .bytes
                .get(read.saturating_add(4))
                .copied()
                .and_then(Field::from_u8);
            let Some(size) = usize::try_from(len)
                .ok()
                .and_then(|l| l.checked_add(HEADER))
            else {
                break;
            };
            let Some(next) = read.checked_add(size) else {
                break;
            };
            if next > used {
                break;
            }
            let old = Str {
                off: u32::try_from(read.saturating_add(HEADER)).unwrap_or(u32::MAX),
                len,
            };
            debug_assert!(
                field.is_some(),
                "name arena block at {read} has no field byte a string can have"
            );
            let live = match field {
                Some(f) if owner != u32::MAX => owner_of(owner, f, old, None),
                _ => false,
            };
            if live {
                if write != read {
                    for i in 0..size {
                        let (Some(src), Some(dst)) = (read.checked_add(i), write.checked_add(i))
                        else {
                            break;
                        };
                        let b = self.bytes.get(src).copied().unwrap_or(0);
                        if let Some(d) = self.bytes.get_mut(dst) {
                            *d = b;
                        }
                    }
                    if let Some(f) = field {
                        let new = Str {
                            off: u32::try_from(write.saturating_add(HEADER)).unwrap_or(u32::MAX),
                            len,
                        };
                        owner_of(owner, f, old, Some(new));
                    }
                }
                write = write.saturating_add(size);
            }
            read = next;
        }
        debug_assert!(
            read >= used,
            "name arena block headers are broken at {read} (of {used} bytes in use)"
        );
        self.bytes.truncate(write);
        self.dead = 0;
    }
}

/// FNV-1a, 32 bits: cheap, and good enough to spread service names over the buckets.
pub(crate) fn hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_compact_keeps_live_strings() {
        let mut a = Arena::<64>::new();
        let mut owners = [Str::EMPTY; 4];
        owners[0] = a.alloc(0, Field::Name, b"alpha").unwrap();
        owners[1] = a.alloc(1, Field::Name, b"beta").unwrap();
        owners[2] = a.alloc(2, Field::Name, b"gamma").unwrap();
        assert!(a
            .alloc(3, Field::Name, b"this does not fit at all....")
            .is_none());
        a.free(owners[1]);
        owners[1] = Str::EMPTY;
        assert!(a.fits_after_compaction(9));
        a.compact(|o, _, old, new| {
            let live = owners[o as usize] == old;
            if let (true, Some(n)) = (live, new) {
                owners[o as usize] = n;
            }
            live
        });
        assert_eq!(a.get(owners[0]), b"alpha");
        assert_eq!(a.get(owners[2]), b"gamma");
        owners[3] = a.alloc(3, Field::Name, b"delta-xy").unwrap();
        assert_eq!(a.get(owners[3]), b"delta-xy");
        assert_eq!(a.get(owners[2]), b"gamma");
    }

    #[test]
    fn too_long_strings_never_fit() {
        let a = Arena::<16>::new();
        assert!(!a.fits(8));
        assert!(!a.fits_after_compaction(100));
    }
}
