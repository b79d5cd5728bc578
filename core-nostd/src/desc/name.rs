//! Service names (dinit-service(5) "SERVICE NAMES" and "SERVICE ARGUMENTS"), shared by the
//! description loader, the settings that name services and the control server.
//!
//! A name is `base` or `base@argument`: the argument follows the first `@` and may itself
//! contain `@`. As Dinit does, only three names are refused: the empty name, and names that
//! begin with `.` (which would be hidden files, and excludes `.` and `..`) or with `@` (no
//! base name). Anything else is left to the file system: a name with no description is simply
//! not found. An empty argument (`name@`) is an argument: `$1` substitutes the empty string,
//! while a name without `@` leaves `$1` unset.

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
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NameError::Empty => f.write_str("a service name cannot be empty"),
            NameError::LeadingDot => f.write_str("a service name cannot begin with '.'"),
            NameError::EmptyBase => f.write_str("a service name needs a base name before '@'"),
        }
    }
}

/// Checks `name` against the rules of SERVICE NAMES and splits off its argument.
pub fn parse_service_name(name: &[u8]) -> Result<ServiceName<'_>, NameError> {
    match name.first() {
        None => return Err(NameError::Empty),
        Some(b'.') => return Err(NameError::LeadingDot),
        Some(b'@') => return Err(NameError::EmptyBase),
        Some(_) => {}
    }
    Ok(split_service_name(name))
}

/// Splits a name at its first `@` without checking it (the names given on dinit-check's
/// command line are used as they are).
pub fn split_service_name(name: &[u8]) -> ServiceName<'_> {
    match name.iter().position(|&b| b == b'@') {
        Some(at) => ServiceName {
            base: name.get(..at).unwrap_or(&[]),
            argument: Some(name.get(at.saturating_add(1)..).unwrap_or(&[])),
        },
        None => ServiceName {
            base: name,
            argument: None,
        },
    }
}

/// True if `name` is a valid service name.
pub fn is_valid_service_name(name: &[u8]) -> bool {
    parse_service_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_dinit_accepts() {
        for ok in [
            &b"boot"[..],
            b"mysql",
            b"a.b-c_d",
            "caf\u{e9}".as_bytes(),
            b"getty@tty1",
            b"foo@",
            b"foo@.x",
            b"name with spaces",
            b"odd$name",
            b"a/b",
            b"a@b@c",
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
        let n = parse_service_name(b"a@b@c").unwrap();
        assert_eq!((n.base, n.argument), (&b"a"[..], Some(&b"b@c"[..])));
        assert_eq!(split_service_name(b"@x").base, b"");
    }

    #[test]
    fn rejects_empty_hidden_and_baseless_names() {
        assert_eq!(parse_service_name(b""), Err(NameError::Empty));
        assert_eq!(parse_service_name(b".hidden"), Err(NameError::LeadingDot));
        assert_eq!(parse_service_name(b".."), Err(NameError::LeadingDot));
        assert_eq!(parse_service_name(b"@arg"), Err(NameError::EmptyBase));
    }

    #[test]
    fn messages() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(
            NameError::LeadingDot.to_string(),
            "a service name cannot begin with '.'"
        );
    }
}
