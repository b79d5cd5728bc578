//! The crate's declarative macros, for the codec's repeated shapes:
//!
//! * `wire_enum!` defines an enum whose discriminants are numbers on the wire (or in a table),
//!   together with its conversion from that number, in one place.

/// Defines a field-less enum with explicit discriminants that are wire numbers, and its
/// conversions in one place:
///
/// * `#[repr(u8)]` (or `u16`), so `value as u8` is the wire number;
/// * `from_u8(n)` (or `from_u16`): the value numbered `n`, `None` for a number that names
///   none. A `const fn`, generated from the same list as the discriminants, so the two
///   cannot disagree;
/// * `ALL`: every value in declaration order;
/// * `From<Enum> for u8` (or `u16`).
///
/// ```text
/// wire_enum! {
///     /// A service state.
///     #[derive(Clone, Copy, PartialEq, Eq, Debug)]
///     pub enum ServiceState: u8 {
///         /// Not running.
///         Stopped = 0,
///         /// Up.
///         Started = 2,
///     }
/// }
/// assert_eq!(ServiceState::from_u8(2), Some(ServiceState::Started));
/// assert_eq!(ServiceState::from_u8(1), None);
/// ```
macro_rules! wire_enum {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident: u8 {
            $( $(#[$vattr:meta])* $variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        wire_enum! {
            @define [$(#[$attr])*] $vis $name, u8, from_u8,
            $( [$(#[$vattr])*] $variant = $value ),+
        }
    };
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident: u16 {
            $( $(#[$vattr:meta])* $variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        wire_enum! {
            @define [$(#[$attr])*] $vis $name, u16, from_u16,
            $( [$(#[$vattr])*] $variant = $value ),+
        }
    };
    (
        @define [$(#[$attr:meta])*] $vis:vis $name:ident, $repr:ident, $from:ident,
        $( [$(#[$vattr:meta])*] $variant:ident = $value:literal ),+
    ) => {
        $(#[$attr])*
        #[repr($repr)]
        $vis enum $name {
            $( $(#[$vattr])* $variant = $value, )+
        }

        impl $name {
            /// Every value, in declaration order.
            // Not every enum lists its values outside tests.
            #[allow(dead_code)]
            $vis const ALL: [Self; [$($value),+].len()] = [$(Self::$variant),+];

            /// The value with wire number `v`, or `None` if no value has that number.
            $vis const fn $from(v: $repr) -> Option<Self> {
                match v {
                    $( $value => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                v as $repr
            }
        }
    };
}
