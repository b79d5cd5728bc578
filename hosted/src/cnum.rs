//! Numbers read as C's `strtol` family reads them.
//!
//! Dinit reads a few numbers given by users with the C library (the `-F` descriptor of `dinit`,
//! `DINIT_CS_FD` of the clients, a bgprocess's pid file), and what it accepts is interface:
//! leading white space, an optional sign, then digits up to the first that is not one. This is
//! the one place that scans such a number; each caller applies its function's rules (what may
//! follow, what an overflow gives).

/// The base of the digits: decimal, or C's base 0 (`0x` hexadecimal, a leading `0` octal,
/// otherwise decimal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Radix {
    /// Base 10.
    Decimal,
    /// Base 0: chosen by the prefix.
    Auto,
}

/// What a scan read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanned<'a> {
    /// A `-` sign came before the digits.
    pub negative: bool,
    /// The digits' value, or `u64::MAX` when it does not fit.
    pub magnitude: u64,
    /// The value did not fit in 64 bits (C sets `ERANGE`).
    pub overflow: bool,
    /// What follows the digits (C's `*endptr`).
    pub rest: &'a [u8],
}

impl Scanned<'_> {
    /// The value `strtoul`/`strtoull` return: an overflow gives the largest value, a minus
    /// sign negates modulo 2^64.
    pub fn unsigned(&self) -> u64 {
        if self.overflow {
            u64::MAX
        } else if self.negative {
            self.magnitude.wrapping_neg()
        } else {
            self.magnitude
        }
    }

    /// The value `strtol`/`strtoll` return: out of range, the nearest end of `i64`.
    pub fn signed(&self) -> i64 {
        match (self.negative, i64::try_from(self.magnitude)) {
            (false, Ok(v)) if !self.overflow => v,
            (false, _) => i64::MAX,
            (true, Ok(v)) if !self.overflow => -v,
            (true, _) => i64::MIN,
        }
    }
}

/// Scans a number at the start of `text` as C's `strto*` functions do; `None` when there are
/// no digits (C then reads nothing and sets `*endptr` to `text`).
pub fn scan(text: &[u8], radix: Radix) -> Option<Scanned<'_>> {
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .unwrap_or(text.len());
    let mut rest = text.get(start..).unwrap_or(&[]);
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = rest.get(1..).unwrap_or(&[]);
    }
    let (base, digits, mut any) = match (radix, rest) {
        (Radix::Auto, [b'0', b'x' | b'X', tail @ ..])
            if tail.first().is_some_and(u8::is_ascii_hexdigit) =>
        {
            (16, tail, false)
        }
        // The leading 0 is a digit itself.
        (Radix::Auto, [b'0', tail @ ..]) => (8, tail, true),
        _ => (10, rest, false),
    };
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    let mut used = 0;
    for &b in digits {
        let Some(d) = char::from(b).to_digit(base) else {
            break;
        };
        used += 1;
        any = true;
        match magnitude
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => magnitude = v,
            None => overflow = true,
        }
    }
    if !any {
        return None;
    }
    Some(Scanned {
        negative,
        magnitude: if overflow { u64::MAX } else { magnitude },
        overflow,
        rest: digits.get(used..).unwrap_or(&[]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Option<(i64, u64, bool, &str)> {
        scan(s.as_bytes(), Radix::Decimal).map(|n| {
            (
                n.signed(),
                n.unsigned(),
                n.overflow,
                std::str::from_utf8(n.rest).unwrap_or("?"),
            )
        })
    }

    #[test]
    fn decimal_as_strtol_and_strtoul() {
        assert_eq!(dec("14"), Some((14, 14, false, "")));
        assert_eq!(dec("  7x"), Some((7, 7, false, "x")));
        assert_eq!(dec("\t+5"), Some((5, 5, false, "")));
        assert_eq!(dec("-3"), Some((-3, 3u64.wrapping_neg(), false, "")));
        assert_eq!(dec("0x10"), Some((0, 0, false, "x10")));
        assert_eq!(dec(""), None);
        assert_eq!(dec("abc"), None);
        assert_eq!(dec("-"), None);
        assert_eq!(dec(" + 1"), None);
        assert_eq!(
            dec("99999999999999999999999"),
            Some((i64::MAX, u64::MAX, true, ""))
        );
        assert_eq!(
            dec("-99999999999999999999999"),
            Some((i64::MIN, u64::MAX, true, ""))
        );
        assert_eq!(
            dec("9223372036854775808"),
            Some((i64::MAX, 1 << 63, false, ""))
        );
    }

    #[test]
    fn base_zero_as_strtoull() {
        let auto = |s: &str| scan(s.as_bytes(), Radix::Auto).map(|n| (n.unsigned(), n.overflow));
        assert_eq!(auto("0x1f"), Some((31, false)));
        assert_eq!(auto("0X1F"), Some((31, false)));
        assert_eq!(auto("010"), Some((8, false)));
        assert_eq!(auto("0"), Some((0, false)));
        assert_eq!(auto("09"), Some((0, false)), "0, then 9 is not octal");
        assert_eq!(auto("0x"), Some((0, false)), "the 0 alone, as C reads it");
        assert_eq!(auto("-1"), Some((u64::MAX, false)));
        assert_eq!(auto("0x1ffffffffffffffff"), Some((u64::MAX, true)));
    }
}
