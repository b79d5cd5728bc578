//! Numbers as Dinit reads them: through the C library's `strtoull`, `strtoll` and `strtol`,
//! whose rules decide which values are accepted (leading white space, a sign, `0x` for
//! hexadecimal and a leading `0` for octal, wrap-around of negative unsigned values), and so
//! which values a description may hold. Each function returns the value and how many bytes it
//! read; the caller decides whether trailing bytes are an error.

/// Why a conversion failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CNumError {
    /// No digits (C++'s `std::invalid_argument`).
    Invalid,
    /// The number does not fit (C's `ERANGE`, C++'s `std::out_of_range`).
    Range,
}

/// White space as C's `isspace` in the "C" locale.
pub(crate) const fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The parts of a conversion: sign, magnitude (`None` on overflow) and the end position (0 if
/// nothing was converted).
struct Parsed {
    negative: bool,
    magnitude: Option<u64>,
    end: usize,
}

fn digit_value(b: u8) -> Option<u32> {
    char::from(b).to_digit(36)
}

/// The common part of `strtoull`/`strtoll`/`strtol` with `base` 0 (from the prefix), 8 or 10.
fn parse(s: &[u8], base: u32) -> Parsed {
    let at = |i: usize| s.get(i).copied();
    let mut i = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let negative = at(i) == Some(b'-');
    if matches!(at(i), Some(b'-' | b'+')) {
        i = i.saturating_add(1);
    }
    let mut radix = base;
    let hex_prefix = at(i) == Some(b'0')
        && matches!(at(i.saturating_add(1)), Some(b'x' | b'X'))
        && at(i.saturating_add(2)).is_some_and(|b| b.is_ascii_hexdigit());
    if base == 0 {
        radix = if hex_prefix {
            i = i.saturating_add(2);
            16
        } else if at(i) == Some(b'0') {
            8
        } else {
            10
        };
    }
    let start = i;
    let mut magnitude = Some(0u64);
    while let Some(d) = at(i).and_then(digit_value).filter(|&d| d < radix) {
        magnitude = magnitude
            .and_then(|m| m.checked_mul(u64::from(radix)))
            .and_then(|m| m.checked_add(u64::from(d)));
        i = i.saturating_add(1);
    }
    Parsed {
        negative,
        magnitude,
        end: if i == start { 0 } else { i },
    }
}

/// `std::stoull(s, &end, 0)`: the value (negative numbers wrap around) and the bytes read.
pub(crate) fn stoull(s: &[u8]) -> Result<(u64, usize), CNumError> {
    let p = parse(s, 0);
    if p.end == 0 {
        return Err(CNumError::Invalid);
    }
    let m = p.magnitude.ok_or(CNumError::Range)?;
    Ok((if p.negative { m.wrapping_neg() } else { m }, p.end))
}

/// `std::stoll(s, &end, 0)`.
pub(crate) fn stoll(s: &[u8]) -> Result<(i64, usize), CNumError> {
    let p = parse(s, 0);
    if p.end == 0 {
        return Err(CNumError::Invalid);
    }
    let m = p.magnitude.ok_or(CNumError::Range)?;
    let value = if p.negative {
        if m > i64::MIN.unsigned_abs() {
            return Err(CNumError::Range);
        }
        0i64.checked_sub_unsigned(m).ok_or(CNumError::Range)?
    } else {
        i64::try_from(m).map_err(|_| CNumError::Range)?
    };
    Ok((value, p.end))
}

/// `std::stoi(s, &end, 8)`: an octal `int`.
pub(crate) fn stoi_octal(s: &[u8]) -> Result<(i32, usize), CNumError> {
    let p = parse(s, 8);
    if p.end == 0 {
        return Err(CNumError::Invalid);
    }
    let m = p.magnitude.ok_or(CNumError::Range)?;
    let m = i64::try_from(m).map_err(|_| CNumError::Range)?;
    let value = if p.negative { m.saturating_neg() } else { m };
    let value = i32::try_from(value).map_err(|_| CNumError::Range)?;
    Ok((value, p.end))
}

/// `strtoull(s, &end, 0)` as the resource-limit parser uses it: the value (or `Range`) and
/// the bytes read (0 if nothing was converted).
pub(crate) fn strtoull(s: &[u8]) -> (Result<u64, CNumError>, usize) {
    let p = parse(s, 0);
    let value = match p.magnitude {
        Some(m) if p.negative => Ok(m.wrapping_neg()),
        Some(m) => Ok(m),
        None => Err(CNumError::Range),
    };
    (value, p.end)
}

/// The base of a [`scan`]: decimal, or C's base 0 (`0x` hexadecimal, a leading `0` octal,
/// otherwise decimal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Radix {
    /// Base 10.
    Decimal,
    /// Base 0: chosen by the prefix.
    Auto,
}

/// What a [`scan`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanned {
    /// A `-` sign came before the digits.
    pub negative: bool,
    /// The digits' value; `None` when it does not fit in 64 bits (C sets `ERANGE`).
    pub magnitude: Option<u64>,
    /// How many bytes were read (C's `*endptr - s`).
    pub end: usize,
}

impl Scanned {
    /// The value `strtoul`/`strtoull` return: an overflow gives the largest value, a minus
    /// sign negates modulo 2^64.
    pub fn unsigned(&self) -> u64 {
        match self.magnitude {
            None => u64::MAX,
            Some(m) if self.negative => m.wrapping_neg(),
            Some(m) => m,
        }
    }

    /// The value `strtol`/`strtoll` return: out of range, the nearest end of `i64`.
    pub fn signed(&self) -> i64 {
        let limit = if self.negative { i64::MIN } else { i64::MAX };
        let Some(m) = self.magnitude else {
            return limit;
        };
        let value = if self.negative {
            0i64.checked_sub_unsigned(m)
        } else {
            i64::try_from(m).ok()
        };
        value.unwrap_or(limit)
    }
}

/// Scans a number at the start of `s` as the C library's `strto*` functions do (leading white
/// space, a sign, digits up to the first that is not one); `None` when there are no digits.
/// The one reader of such numbers, for descriptions here and for the hosted programs (`-F`,
/// `DINIT_CS_FD`, pid files); each caller applies its function's rules.
pub fn scan(s: &[u8], radix: Radix) -> Option<Scanned> {
    let p = parse(
        s,
        match radix {
            Radix::Decimal => 10,
            Radix::Auto => 0,
        },
    );
    (p.end != 0).then_some(Scanned {
        negative: p.negative,
        magnitude: p.magnitude,
        end: p.end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Option<(i64, u64, bool, usize)> {
        scan(s.as_bytes(), Radix::Decimal)
            .map(|n| (n.signed(), n.unsigned(), n.magnitude.is_none(), n.end))
    }

    #[test]
    fn scans_as_strtol_and_strtoul() {
        assert_eq!(dec("14"), Some((14, 14, false, 2)));
        assert_eq!(dec("  7x"), Some((7, 7, false, 3)));
        assert_eq!(dec("\t+5"), Some((5, 5, false, 3)));
        assert_eq!(dec("-3"), Some((-3, 3u64.wrapping_neg(), false, 2)));
        assert_eq!(dec("0x10"), Some((0, 0, false, 1)));
        assert_eq!(dec(""), None);
        assert_eq!(dec("abc"), None);
        assert_eq!(dec("-"), None);
        assert_eq!(dec(" + 1"), None);
        assert_eq!(
            dec("99999999999999999999999"),
            Some((i64::MAX, u64::MAX, true, 23))
        );
        assert_eq!(
            dec("-99999999999999999999999"),
            Some((i64::MIN, u64::MAX, true, 24))
        );
        assert_eq!(
            dec("9223372036854775808"),
            Some((i64::MAX, 1 << 63, false, 19))
        );
        assert_eq!(
            dec("-9223372036854775808"),
            Some((i64::MIN, 1 << 63, false, 20))
        );
        let auto = |s: &str| scan(s.as_bytes(), Radix::Auto).map(|n| (n.unsigned(), n.end));
        assert_eq!(auto("0x1f"), Some((31, 4)));
        assert_eq!(auto("0X1F"), Some((31, 4)));
        assert_eq!(auto("010"), Some((8, 3)));
        assert_eq!(auto("09"), Some((0, 1)), "0, then 9 is not octal");
        assert_eq!(auto("0x"), Some((0, 1)), "the 0 alone, as C reads it");
        assert_eq!(auto("-1"), Some((u64::MAX, 2)));
        let over = scan(b"0x1ffffffffffffffff", Radix::Auto);
        assert_eq!(
            over.map(|n| (n.unsigned(), n.magnitude)),
            Some((u64::MAX, None))
        );
    }

    #[test]
    fn unsigned_like_the_c_library() {
        assert_eq!(stoull(b"42"), Ok((42, 2)));
        assert_eq!(stoull(b"0x1f"), Ok((31, 4)));
        assert_eq!(stoull(b"010"), Ok((8, 3)));
        assert_eq!(stoull(b"0xg"), Ok((0, 1)));
        assert_eq!(stoull(b" +7z"), Ok((7, 3)));
        assert_eq!(stoull(b"-1"), Ok((u64::MAX, 2)));
        assert_eq!(stoull(b"abc"), Err(CNumError::Invalid));
        assert_eq!(stoull(b""), Err(CNumError::Invalid));
        assert_eq!(stoull(b"-"), Err(CNumError::Invalid));
        assert_eq!(stoull(b"99999999999999999999"), Err(CNumError::Range));
        assert_eq!(stoull(b"09"), Ok((0, 1)));
    }

    #[test]
    fn signed_like_the_c_library() {
        assert_eq!(stoll(b"-5"), Ok((-5, 2)));
        assert_eq!(stoll(b"-9223372036854775808"), Ok((i64::MIN, 20)));
        assert_eq!(stoll(b"9223372036854775808"), Err(CNumError::Range));
        assert_eq!(stoll(b"-9223372036854775809"), Err(CNumError::Range));
        assert_eq!(stoll(b"x"), Err(CNumError::Invalid));
    }

    #[test]
    fn octal_int() {
        assert_eq!(stoi_octal(b"0777"), Ok((0o777, 4)));
        assert_eq!(stoi_octal(b"79"), Ok((7, 1)));
        assert_eq!(stoi_octal(b"-1"), Ok((-1, 2)));
        assert_eq!(stoi_octal(b"0x1"), Ok((0, 1)));
        assert_eq!(stoi_octal(b"9"), Err(CNumError::Invalid));
        assert_eq!(stoi_octal(b"7777777777777"), Err(CNumError::Range));
    }

    #[test]
    fn strtoull_reports_position_and_range() {
        assert_eq!(strtoull(b"2:3"), (Ok(2), 1));
        assert_eq!(strtoull(b"x"), (Ok(0), 0));
        assert_eq!(
            strtoull(b"99999999999999999999999").0,
            Err(CNumError::Range)
        );
    }
}
