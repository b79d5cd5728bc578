//! The crate's two declarative macros, for the codec's repeated shapes:
//!
//! * `wire_enum!` defines an enum whose discriminants are numbers on the wire (or in a table),
//!   together with its conversion from that number, in one place;
//! * `packet_view!` defines a zero-copy view over a packet buffer in the manner of smoltcp's
//!   `wire` module: `new_checked` validates the length once, after which the field getters
//!   cannot fail. Its field lines declare getters by offset.

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

/// Defines a zero-copy view over the packet at the start of a byte buffer, in the manner of
/// smoltcp's `wire` views, and declares its field getters.
///
/// The view is `Name<T: AsRef<[u8]>>` holding the buffer and the context fields listed after
/// it (values the bytes alone do not give, such as the status block size of a reply). The
/// macro generates `new_unchecked`, `new_checked` (which runs `check_len` once), `into_inner`,
/// `packet` and the crate-internal `get`, an infallible little-endian read at an offset; the
/// caller writes `check_len`, the framing rule.
///
/// Field lines, in a `fields { ... }` block, declare getters:
///
/// * `name: Ty = OFFSET;` is a field every packet of the view has: `fn name(&self) -> Ty`;
/// * `name: Ty = OFFSET, when kind() is (Pattern);` is a field only some packets have:
///   `fn name(&self) -> Option<Ty>`, `None` when `self.kind()` does not match `Some(Pattern)`.
///
/// After `new_checked` every field a packet has lies inside it, so a getter never fails. On an
/// unchecked view of a buffer that is too short, reads past its end give zero in release builds
/// and fail a debug assertion in debug builds: that is the caller's bug, not the input's.
macro_rules! packet_view {
    (
        $(#[$attr:meta])*
        pub struct $name:ident { $( $(#[$fattr:meta])* $field:ident: $fty:ty ),* $(,)? }
        fields {
            $(
                $(#[$gattr:meta])*
                $getter:ident: $gty:ty = $off:expr $(, when $kind:ident() is ($pat:pat))?;
            )*
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
            $( $(#[$fattr])* $field: $fty, )*
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps `buffer` without checking it. Use [`Self::new_checked`] unless the buffer
            /// is known to hold a whole packet: the getters read past the end of a short
            /// buffer as zeros (a debug assertion fails in debug builds).
            pub const fn new_unchecked(buffer: T $(, $field: $fty)*) -> Self {
                $name { buffer $(, $field)* }
            }

            /// Wraps `buffer` if [`Self::check_len`] accepts it; the getters then cannot fail.
            pub fn new_checked(buffer: T $(, $field: $fty)*) -> Result<Self, $crate::proto::ParseError> {
                let view = Self::new_unchecked(buffer $(, $field)*);
                view.check_len()?;
                Ok(view)
            }

            /// The wrapped buffer.
            pub fn into_inner(self) -> T {
                self.buffer
            }

            /// The packet's bytes (the buffer up to the length [`Self::check_len`] gives), if
            /// the packet is complete.
            pub fn packet(&self) -> Option<&[u8]> {
                let len = self.check_len().ok()?;
                self.buffer.as_ref().get(..len)
            }

            /// The field of type `F` at `off`. Infallible: outside the buffer it is zero, and
            /// debug builds assert that it is inside.
            pub(crate) fn get<F: $crate::proto::field::WireField>(&self, off: usize) -> F {
                $crate::proto::field::read(self.buffer.as_ref(), off)
            }

            $( packet_view!(@getter $(#[$gattr])* $getter: $gty = $off $(, when $kind() is ($pat))?); )*
        }
    };
    (@getter $(#[$gattr:meta])* $getter:ident: $gty:ty = $off:expr) => {
        $(#[$gattr])*
        pub fn $getter(&self) -> $gty {
            self.get($off)
        }
    };
    (@getter $(#[$gattr:meta])* $getter:ident: $gty:ty = $off:expr, when $kind:ident() is ($pat:pat)) => {
        $(#[$gattr])*
        pub fn $getter(&self) -> Option<$gty> {
            matches!(self.$kind(), Some($pat)).then(|| self.get($off))
        }
    };
}
