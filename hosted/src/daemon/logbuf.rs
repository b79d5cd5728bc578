//! A service's output buffer (`log-type = buffer`), read by `dinitctl catlog`.
//!
//! Its capacity is fixed when the service is loaded (`log-buffer-size`, default 4096 bytes)
//! and it never grows. What happens once it is full is `log-buffer-keep`:
//!
//! - `oldest` (the default, and Dinit's only behaviour): "If the buffer becomes full, further
//!   output from the service process will be discarded" (dinit-service(5));
//! - `newest` (a dinit-rs extension): the oldest output is dropped to make room, whole lines
//!   where the buffer holds line ends, so the buffer keeps what the service wrote last. At
//!   least a quarter of the buffer is dropped at a time, so that the bytes moved to the front
//!   stay proportional to the output (a service writing a line at a time into a full buffer
//!   does not move the whole buffer for each line).
//!
//! Positions are absolute: the buffer counts what has left its front (sent with
//! `catlog --clear`, or dropped to make room), so a `catlog` reply streamed over several
//! turns of the loop reads the bytes it announced, and learns it if they went meanwhile (the
//! reply cannot be completed then; the connection is ended rather than the framing broken).

use dinit_core::desc::LogBufferKeep;

/// A service's output buffer.
#[derive(Debug)]
pub struct LogBuffer {
    data: Vec<u8>,
    /// The capacity given at creation (`Vec::with_capacity` may round up).
    limit: usize,
    keep: LogBufferKeep,
    /// The absolute position of `data[0]`: the bytes that have left the front so far
    /// (wrapping; compared only by difference).
    front: usize,
}

impl LogBuffer {
    /// An empty buffer of `limit` bytes.
    pub fn new(limit: usize, keep: LogBufferKeep) -> Self {
        LogBuffer {
            data: Vec::with_capacity(limit),
            limit,
            keep,
            front: 0,
        }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// The absolute position of the first byte held.
    pub fn start(&self) -> usize {
        self.front
    }

    /// What the buffer keeps once full (a reload may change it).
    pub fn set_keep(&mut self, keep: LogBufferKeep) {
        self.keep = keep;
    }

    /// Up to `n` bytes from absolute position `at`; empty if those bytes have left the buffer.
    pub fn bytes(&self, at: usize, n: usize) -> &[u8] {
        let offset = at.wrapping_sub(self.front);
        if offset > self.data.len() {
            return &[];
        }
        let end = offset.saturating_add(n).min(self.data.len());
        self.data.get(offset..end).unwrap_or(&[])
    }

    /// Removes what comes before absolute position `at` (what a `catlog --clear` reply has
    /// sent), keeping what came after; no allocation.
    pub fn discard_until(&mut self, at: usize) {
        let n = at.wrapping_sub(self.front);
        if n <= self.data.len() {
            self.drop_front(n);
        }
    }

    /// Adds output, as far as the buffer keeps it.
    pub fn append(&mut self, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.data.len());
        if bytes.len() > room && self.keep == LogBufferKeep::Newest {
            self.make_room(bytes);
            return;
        }
        let n = bytes.len().min(room);
        self.data.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
    }

    /// `newest`: drops old output so that `bytes` fits, then adds it.
    fn make_room(&mut self, bytes: &[u8]) {
        if bytes.len() >= self.limit {
            // Only the end of `bytes` stays: from a line start within it where there is one.
            self.drop_front(self.data.len());
            let tail_at = bytes.len() - self.limit;
            let tail = bytes.get(tail_at..).unwrap_or(&[]);
            let line_start = match tail_at {
                0 => 0,
                _ if bytes.get(tail_at - 1) == Some(&b'\n') => 0,
                _ => tail.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1),
            };
            self.front = self.front.wrapping_add(tail_at + line_start);
            self.data
                .extend_from_slice(tail.get(line_start..).unwrap_or(&[]));
            return;
        }
        let room = self.limit - self.data.len();
        let need = bytes.len() - room;
        let mut n = need.max(self.limit / 4).min(self.data.len());
        // To the end of the line the cut falls in, unless it falls on a line start or the
        // rest holds no line end.
        if n > 0 && self.data.get(n - 1) != Some(&b'\n') {
            if let Some(i) = self
                .data
                .get(n..)
                .and_then(|r| r.iter().position(|&b| b == b'\n'))
            {
                n += i + 1;
            }
        }
        self.drop_front(n);
        self.data.extend_from_slice(bytes);
    }

    fn drop_front(&mut self, n: usize) {
        let n = n.min(self.data.len());
        self.data.drain(..n);
        self.front = self.front.wrapping_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &LogBuffer) -> &str {
        std::str::from_utf8(b.bytes(b.start(), usize::MAX)).unwrap()
    }

    #[test]
    fn oldest_keeps_the_first_output_and_discards_the_rest() {
        let mut b = LogBuffer::new(16, LogBufferKeep::Oldest);
        b.append(b"0123456789");
        b.append(b"abcdefghij");
        assert_eq!(text(&b), "0123456789abcdef");
        b.append(b"more");
        assert_eq!(text(&b), "0123456789abcdef");
        assert_eq!(b.start(), 0);
    }

    #[test]
    fn catlog_clear_discards_only_what_was_sent() {
        let mut b = LogBuffer::new(16, LogBufferKeep::Oldest);
        b.append(b"sent part");
        let sent = b.start() + b.len();
        b.append(b"+new");
        b.discard_until(sent);
        assert_eq!(text(&b), "+new");
        assert_eq!(b.start(), 9);
        b.append(b"0123456789abcdef");
        assert_eq!(b.len(), 16, "full, the rest discarded");
        b.discard_until(b.start() + 1000);
        assert_eq!(
            b.len(),
            16,
            "a position beyond the end is not this buffer's"
        );
        b.discard_until(b.start() + b.len());
        assert_eq!(b.len(), 0);
    }

    #[test]
    fn newest_drops_whole_old_lines_to_make_room() {
        let mut b = LogBuffer::new(32, LogBufferKeep::Newest);
        for line in ["one\n", "two\n", "three\n", "four\n", "five\n", "six\n"] {
            b.append(line.as_bytes());
        }
        assert_eq!(text(&b), "one\ntwo\nthree\nfour\nfive\nsix\n");
        b.append(b"seven\n");
        // A quarter (8 bytes) at least, to the end of a line: "one\ntwo\n".
        assert_eq!(text(&b), "three\nfour\nfive\nsix\nseven\n");
        assert_eq!(b.start(), 8);
        b.append(b"eight\nnine\n");
        assert!(text(&b).ends_with("seven\neight\nnine\n"), "{}", text(&b));
        assert!(text(&b).starts_with("four\n") || text(&b).starts_with("five\n"));
        assert!(b.len() <= 32);
    }

    #[test]
    fn newest_with_output_larger_than_the_buffer_keeps_its_last_lines() {
        let mut b = LogBuffer::new(16, LogBufferKeep::Newest);
        b.append(b"old\n");
        b.append(b"aaaa\nbbbb\ncccc\ndddd\n");
        // The last 16 bytes are "\nbbbb\ncccc\ndddd\n", which starts inside a line: from the
        // next line start.
        assert_eq!(text(&b), "bbbb\ncccc\ndddd\n");
        assert_eq!(b.start(), 4 + 5);
        // Without line ends the last 16 bytes stay.
        let mut b = LogBuffer::new(16, LogBufferKeep::Newest);
        b.append(&[b'x'; 40]);
        assert_eq!(b.len(), 16);
        assert_eq!(b.start(), 24);
    }

    #[test]
    fn positions_that_left_the_buffer_read_nothing() {
        let mut b = LogBuffer::new(8, LogBufferKeep::Newest);
        b.append(b"abcdefgh");
        let at = b.start();
        assert_eq!(b.bytes(at + 2, 3), b"cde");
        b.append(b"XY");
        assert!(b.bytes(at, 4).is_empty(), "dropped meanwhile");
        assert_eq!(b.bytes(b.start(), 2), &b.bytes(b.start(), 8)[..2]);
    }

    #[test]
    fn positions_wrap_around() {
        let mut b = LogBuffer::new(8, LogBufferKeep::Newest);
        b.front = usize::MAX - 1;
        b.append(b"abcdefgh");
        let at = b.start();
        b.append(b"ij");
        assert_eq!(b.start(), 0, "wrapped");
        assert_eq!(b.bytes(b.start(), 8), b"cdefghij");
        assert!(b.bytes(at, 2).is_empty());
        assert_eq!(b.bytes(at.wrapping_add(4), 2), b"ef");
    }
}
