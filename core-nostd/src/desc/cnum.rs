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

#[cfg(test)]
mod tests {
    use super::*;

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
