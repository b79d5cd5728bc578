//! Capability settings: the `capabilities` IAB text and the `securebits` flags of
//! dinit-service(5), parsed at load time into plain bit sets that the child applies with
//! `capset`, `prctl(PR_CAPBSET_DROP)`, `prctl(PR_CAP_AMBIENT)` and `prctl(PR_SET_SECUREBITS)`.
//!
//! The IAB syntax follows capabilities(7) and cap_iab(3): a comma-separated list of
//! capabilities, each preceded by optional markers:
//!
//! | marker | meaning |
//! |---|---|
//! | none or `%` | inheritable only |
//! | `^` | ambient, and therefore also inheritable |
//! | `!` | blocked: dropped from the bounding set (may be combined with `%` or `^`) |
//!
//! A capability is named `cap_xxx` in any letter case, or given by its number. Setting an IAB
//! replaces the inheritable and ambient sets entirely (capabilities not listed are removed
//! from them) and removes the blocked capabilities from the bounding set.

use core::fmt;

/// The capability names of `<linux/capability.h>`, indexed by capability number, without the
/// `CAP_` prefix and in lower case.
const CAP_NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// The highest capability number a numeric IAB entry may name (the capability sets are 64
/// bits wide). Whether the running kernel knows it is found out when the child applies it.
pub const MAX_CAPABILITY: u32 = 63;

/// Looks a capability up by name (`CAP_NET_ADMIN`, `cap_net_admin`, ...) or by number.
pub fn capability_from_name(name: &str) -> Option<u32> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        return name.parse::<u32>().ok().filter(|&n| n <= MAX_CAPABILITY);
    }
    let prefix = name.get(..4)?;
    if !prefix.eq_ignore_ascii_case("cap_") {
        return None;
    }
    let rest = name.get(4..)?;
    CAP_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(rest))
        .and_then(|i| u32::try_from(i).ok())
}

/// The name of capability `cap` as capabilities(7) spells it (`CAP_NET_ADMIN`), without the
/// prefix and in lower case; `None` for numbers this build has no name for.
pub fn capability_name(cap: u32) -> Option<&'static str> {
    CAP_NAMES.get(usize::try_from(cap).ok()?).copied()
}

/// The three capability vectors of a `capabilities` setting, as bit sets (bit N is
/// capability N).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct Iab {
    /// Capabilities put in the inheritable set (every `%`, `^` or unmarked entry).
    pub inheritable: u64,
    /// Capabilities raised in the ambient set (`^` entries).
    pub ambient: u64,
    /// Capabilities dropped from the bounding set (`!` entries).
    pub blocked: u64,
}

/// Why an IAB text was rejected.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IabError {
    /// The offending comma-separated entry.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for IabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid capabilities entry \"{}\": {}",
            self.entry, self.reason
        )
    }
}

impl std::error::Error for IabError {}

impl Iab {
    /// Parses the IAB text of a `capabilities` setting (after `+=` joining). Blank text is the
    /// empty IAB: no inheritable or ambient capabilities, nothing blocked.
    pub fn parse(text: &str) -> Result<Iab, IabError> {
        let mut iab = Iab::default();
        if text.trim().is_empty() {
            return Ok(iab);
        }
        for raw in text.split(',') {
            let entry = raw.trim();
            let error = |reason| IabError {
                entry: entry.to_owned(),
                reason,
            };
            let name = entry.trim_start_matches(['!', '^', '%']);
            let markers = entry
                .get(..entry.len().saturating_sub(name.len()))
                .unwrap_or("");
            if name.is_empty() {
                return Err(error("no capability named"));
            }
            let cap = capability_from_name(name).ok_or_else(|| error("unknown capability"))?;
            let bit = 1u64 << cap;
            if markers.contains('!') {
                iab.blocked |= bit;
            }
            if markers.contains('^') {
                iab.ambient |= bit;
                iab.inheritable |= bit;
            } else if markers.contains('%') || !markers.contains('!') {
                // Unmarked and `%` entries are inheritable; a bare `!` only blocks.
                iab.inheritable |= bit;
            }
        }
        Ok(iab)
    }
}

/// `securebits` flags: the description parser's type, with the kernel's `SECBIT_*` values.
pub use dinit_core::desc::Securebits;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_any_case_and_by_number() {
        assert_eq!(capability_from_name("CAP_CHOWN"), Some(0));
        assert_eq!(capability_from_name("cap_net_bind_service"), Some(10));
        assert_eq!(capability_from_name("Cap_Sys_Admin"), Some(21));
        assert_eq!(capability_from_name("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(capability_from_name("12"), Some(12));
        assert_eq!(capability_from_name("64"), None);
        assert_eq!(capability_from_name("net_admin"), None);
        assert_eq!(capability_from_name("cap_"), None);
        assert_eq!(capability_from_name("cap_bogus"), None);
        assert_eq!(capability_name(10), Some("net_bind_service"));
        assert_eq!(capability_name(63), None);
    }

    #[test]
    fn iab_markers() {
        let iab = Iab::parse("^CAP_NET_BIND_SERVICE, !cap_sys_admin,%cap_chown,cap_kill").unwrap();
        assert_eq!(iab.ambient, 1 << 10);
        assert_eq!(iab.inheritable, (1 << 10) | 1 | (1 << 5));
        assert_eq!(iab.blocked, 1 << 21);

        let iab = Iab::parse("!%cap_chown,!^cap_kill").unwrap();
        assert_eq!(iab.blocked, 1 | (1 << 5));
        assert_eq!(iab.inheritable, 1 | (1 << 5));
        assert_eq!(iab.ambient, 1 << 5);

        assert_eq!(Iab::parse("").unwrap(), Iab::default());
        assert_eq!(Iab::parse("  ").unwrap(), Iab::default());
    }

    #[test]
    fn iab_errors_name_the_entry() {
        let e = Iab::parse("cap_chown,^cap_nope").unwrap_err();
        assert_eq!(e.entry, "^cap_nope");
        assert_eq!(
            e.to_string(),
            "invalid capabilities entry \"^cap_nope\": unknown capability"
        );
        assert_eq!(Iab::parse("cap_chown,,cap_kill").unwrap_err().entry, "");
        assert_eq!(Iab::parse("^").unwrap_err().reason, "no capability named");
    }

    #[test]
    fn arbitrary_text_never_panics() {
        // A small deterministic generator over an alphabet of the syntax's pieces.
        const PIECES: [&str; 12] = [
            "!",
            "^",
            "%",
            ",",
            " ",
            "cap_",
            "CAP_CHOWN",
            "sys_admin",
            "63",
            "64",
            "\u{e9}",
            "keep-caps",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            let mut text = String::new();
            for _ in 0..(state % 7) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
            }
            if let Ok(iab) = Iab::parse(&text) {
                assert_eq!(iab.ambient & !iab.inheritable, 0, "{text}");
            }
            state = state.wrapping_add(1);
        }
    }
}
