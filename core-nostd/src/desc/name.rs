//! Service names (dinit-service(5) "SERVICE NAMES" and "SERVICE ARGUMENTS"), shared by the
//! description loader, the settings that name services and the control server.
//!
//! A name is `base` or `base@argument`. The base must be non-empty, must not begin with `.`,
//! and consists of ASCII letters and digits, `.`, `-`, `_` and any byte outside ASCII (so that
//! multibyte-encoded characters can be used). The argument follows the first `@`; it uses the
//! same characters (it may begin with `.` since it is never a file name) and may be empty, in
//! which case `$1` substitutes the empty string (a name without `@` leaves `$1` unset).

use core::fmt;

/// A valid service name split into its parts.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServiceName<'a> {
    /// The name of the description file: everything before the first `@`.
    pub base: &'a [u8],
    /// The service argument after `@`, if the name has one.
    pub argument: Option<&'a [u8]>,
}

/// Why a service name is invalid.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name begins with `.`.
    LeadingDot,
    /// The name begins with `@`: there is no base name.
    EmptyBase,
    /// A byte that is not allowed (white space, `/`, most ASCII punctuation, a second `@`).
    InvalidByte(u8),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NameError::Empty => f.write_str("a service name cannot be empty"),
            NameError::LeadingDot => f.write_str("a service name cannot begin with '.'"),
            NameError::EmptyBase => f.write_str("a service name needs a base name before '@'"),
            NameError::InvalidByte(b) => {
                if b.is_ascii_graphic() || b == b' ' {
                    write!(f, "'{}'", char::from(b))?;
                } else {
                    write!(f, "byte 0x{b:02x}")?;
                }
                f.write_str(
                    " is not allowed in a service name (use letters, digits, '.', '-', '_', \
                     and one '@' before an argument)",
                )
            }
        }
    }
}

/// True for the bytes a base name or argument may contain.
const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') || b >= 0x80
}

/// Checks `name` against the rules of SERVICE NAMES and splits off its argument.
pub fn parse_service_name(name: &[u8]) -> Result<ServiceName<'_>, NameError> {
    match name.first() {
        None => return Err(NameError::Empty),
        Some(b'.') => return Err(NameError::LeadingDot),
        Some(b'@') => return Err(NameError::EmptyBase),
        Some(_) => {}
    }
    let (base, argument) = match name.iter().position(|&b| b == b'@') {
        Some(at) => (
            name.get(..at).unwrap_or(&[]),
            Some(name.get(at.saturating_add(1)..).unwrap_or(&[])),
        ),
        None => (name, None),
    };
    for part in [Some(base), argument].into_iter().flatten() {
        if let Some(&bad) = part.iter().find(|&&b| !is_name_byte(b)) {
            return Err(NameError::InvalidByte(bad));
        }
    }
    Ok(ServiceName { base, argument })
}

/// True if `name` is a valid service name.
pub fn is_valid_service_name(name: &[u8]) -> bool {
    parse_service_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_documented_names() {
        for ok in [
            &b"boot"[..],
            b"mysql",
            b"a.b-c_d",
            b"net.eth0",
            b"X9",
            "caf\u{e9}".as_bytes(),
            b"getty@tty1",
            b"foo@",
            b"foo@.x",
        ] {
            assert!(is_valid_service_name(ok), "{ok:?}");
        }
    }

    #[test]
    fn splits_argument_at_first_at() {
        let n = parse_service_name(b"getty@tty1").unwrap();
        assert_eq!(n.base, b"getty");
        assert_eq!(n.argument, Some(&b"tty1"[..]));
        let n = parse_service_name(b"getty").unwrap();
        assert_eq!(n.argument, None);
        let n = parse_service_name(b"getty@").unwrap();
        assert_eq!(n.argument, Some(&b""[..]));
    }

    #[test]
    fn rejects_invalid_names() {
        assert_eq!(parse_service_name(b""), Err(NameError::Empty));
        assert_eq!(parse_service_name(b".hidden"), Err(NameError::LeadingDot));
        assert_eq!(parse_service_name(b"@arg"), Err(NameError::EmptyBase));
        assert_eq!(
            parse_service_name(b"a b"),
            Err(NameError::InvalidByte(b' '))
        );
        assert_eq!(
            parse_service_name(b"a/b"),
            Err(NameError::InvalidByte(b'/'))
        );
        assert_eq!(
            parse_service_name(b"a@b@c"),
            Err(NameError::InvalidByte(b'@'))
        );
        assert_eq!(
            parse_service_name(b"a@b c"),
            Err(NameError::InvalidByte(b' '))
        );
        assert_eq!(parse_service_name(b"a\x01"), Err(NameError::InvalidByte(1)));
        assert_eq!(parse_service_name(b"a$"), Err(NameError::InvalidByte(b'$')));
    }

    #[test]
    fn messages() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(
            NameError::LeadingDot.to_string(),
            "a service name cannot begin with '.'"
        );
        assert_eq!(
            NameError::InvalidByte(b'/').to_string(),
            "'/' is not allowed in a service name (use letters, digits, '.', '-', '_', and one \
             '@' before an argument)"
        );
        assert!(NameError::InvalidByte(0)
            .to_string()
            .starts_with("byte 0x00 is not"));
    }
}
