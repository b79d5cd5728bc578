//! Integer time: an instant on the monotonic clock and a duration, both in nanoseconds.
//!
//! The engine never reads a clock. The runtime passes the current monotonic time into every
//! input; the simulator passes a fake one. No floating point anywhere: durations in service
//! descriptions ("1.5") are parsed as decimal fixed point by [`Duration::parse_decimal_secs`].

/// A point on the monotonic clock, in nanoseconds since an arbitrary origin (boot, for
/// `CLOCK_MONOTONIC`). Arithmetic saturates: a u64 of nanoseconds lasts 584 years.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u64);

/// A span of time in nanoseconds. Zero means "no limit" for the timeouts that document it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Duration(u64);

const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MILLI: u64 = 1_000_000;

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of time.
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is later (the clock is
    /// monotonic, but callers may hand us instants taken in a different order).
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        Duration(nanos)
    }

    /// A duration of `ms` milliseconds (saturating).
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms.saturating_mul(NANOS_PER_MILLI))
    }

    /// A duration of `secs` seconds (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// Length in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whole seconds.
    pub const fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }

    /// The nanoseconds past the whole seconds.
    pub const fn subsec_nanos(self) -> u32 {
        // The remainder is below 10^9 and so fits in u32.
        (self.0 % NANOS_PER_SEC) as u32
    }

    /// True for the zero duration.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self - other`, or zero.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }

    /// Parses a non-negative decimal number of seconds such as `10`, `0.2` or `1.500000001`,
    /// the form dinit-service(5) uses for timeouts and delays. Digits past nanosecond precision
    /// are ignored (truncated); a value too large for the type, an empty string, a sign, an
    /// exponent or any other character yields `None`.
    pub fn parse_decimal_secs(text: &[u8]) -> Option<Duration> {
        let mut secs: u64 = 0;
        let mut frac: u64 = 0;
        let mut frac_digits: u32 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        for &b in text {
            match b {
                b'0'..=b'9' => {
                    seen_digit = true;
                    let digit = u64::from(b.wrapping_sub(b'0'));
                    if seen_point {
                        if frac_digits < 9 {
                            frac = frac.checked_mul(10)?.checked_add(digit)?;
                            frac_digits = frac_digits.checked_add(1)?;
                        }
                    } else {
                        secs = secs.checked_mul(10)?.checked_add(digit)?;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => return None,
            }
        }
        if !seen_digit {
            return None;
        }
        while frac_digits < 9 {
            frac = frac.checked_mul(10)?;
            frac_digits = frac_digits.checked_add(1)?;
        }
        let nanos = secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)?;
        Some(Duration(nanos))
    }
}

impl ufmt::uDisplay for Duration {
    /// Formats as decimal seconds, e.g. `0.2` or `10`, the form the parser accepts.
    fn fmt<W: ufmt::uWrite + ?Sized>(
        &self,
        f: &mut ufmt::Formatter<'_, W>,
    ) -> Result<(), W::Error> {
        ufmt::uwrite!(f, "{}", self.as_secs())?;
        let mut frac = self.subsec_nanos();
        if frac == 0 {
            return Ok(());
        }
        let mut digits = [b'0'; 9];
        for d in digits.iter_mut().rev() {
            // frac % 10 < 10, so the digit fits and the addition cannot overflow.
            *d = b'0'.wrapping_add((frac % 10) as u8);
            frac /= 10;
        }
        let end = digits
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(1, |p| p.saturating_add(1));
        f.write_str(".")?;
        for &d in digits.get(..end).unwrap_or(&[]) {
            f.write_char(char::from(d))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_seconds_without_floats() {
        assert_eq!(
            Duration::parse_decimal_secs(b"10"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            Duration::parse_decimal_secs(b"0.2"),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            Duration::parse_decimal_secs(b".5"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            Duration::parse_decimal_secs(b"3."),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            Duration::parse_decimal_secs(b"1.0000000019"),
            Some(Duration::from_nanos(1_000_000_001))
        );
        for bad in [
            &b""[..],
            b".",
            b"-1",
            b"1e3",
            b"1.2.3",
            b" 1",
            b"99999999999999999999",
        ] {
            assert_eq!(Duration::parse_decimal_secs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn instants_saturate() {
        let t = Instant::from_nanos(u64::MAX - 1);
        assert_eq!(
            t.saturating_add(Duration::from_secs(1)).as_nanos(),
            u64::MAX
        );
        assert_eq!(Instant::ZERO.saturating_since(t), Duration::ZERO);
    }

    #[test]
    fn displays_as_decimal_seconds() {
        let mut s = heapless::String::<32>::new();
        ufmt::uwrite!(s, "{}", Duration::from_millis(200)).unwrap();
        assert_eq!(s.as_str(), "0.2");
        s.clear();
        ufmt::uwrite!(s, "{}", Duration::from_secs(60)).unwrap();
        assert_eq!(s.as_str(), "60");
    }
}
