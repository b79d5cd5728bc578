//! Signal numbers and names.
//!
//! The engine asks the runtime to send a handful of signals (the configured term signal,
//! `SIGINT` to interrupt a start, `SIGKILL` after a stop timeout), and the
//! `restart = on-failure` rule classifies the signal that killed a process. These are plain constants: the numbers are Linux's (which the
//! control protocol carries on the wire); other Unix systems, and Linux on MIPS (whose numbers
//! follow IRIX's), get their own numbers through `cfg`, so the core still needs no
//! operating-system crate. dinit-hosted's tests check them against the C library's.

/// True on the BSDs and Apple systems, whose numbers for a few signals differ from Linux's.
const BSD_NUMBERS: bool = cfg!(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
));

/// True on Linux for MIPS (routers), whose numbers for the user, stop and continue signals
/// differ from the other Linux architectures' (`USR1` is 16, not 10).
const MIPS_NUMBERS: bool = cfg!(any(target_arch = "mips", target_arch = "mips64")) && !BSD_NUMBERS;

/// Hangup.
pub const HUP: i32 = 1;
/// Interrupt: what the engine sends to interrupt a start.
pub const INT: i32 = 2;
/// Quit.
pub const QUIT: i32 = 3;
/// Kill: sent when a stop times out.
pub const KILL: i32 = 9;
/// User signal 1.
pub const USR1: i32 = if BSD_NUMBERS {
    30
} else if MIPS_NUMBERS {
    16
} else {
    10
};
/// User signal 2.
pub const USR2: i32 = if BSD_NUMBERS {
    31
} else if MIPS_NUMBERS {
    17
} else {
    12
};
/// Terminate: the default `term-signal`.
pub const TERM: i32 = 15;
/// Continue: sent after the term signal so that a stopped process can act on it.
pub const CONT: i32 = if BSD_NUMBERS {
    19
} else if MIPS_NUMBERS {
    25
} else {
    18
};
/// Stop.
pub const STOP: i32 = if BSD_NUMBERS {
    17
} else if MIPS_NUMBERS {
    23
} else {
    19
};

/// The signal names `term-signal` and `dinitctl signal` accept, with their numbers, in the
/// order `dinitctl signal --list` prints them.
pub const NAMES: [(&str, i32); 9] = [
    ("HUP", HUP),
    ("INT", INT),
    ("QUIT", QUIT),
    ("KILL", KILL),
    ("USR1", USR1),
    ("USR2", USR2),
    ("TERM", TERM),
    ("CONT", CONT),
    ("STOP", STOP),
];

/// Looks up a signal by its name without the `SIG` prefix (case-sensitive, as Dinit).
pub fn by_name(name: &[u8]) -> Option<i32> {
    NAMES
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|&(_, num)| num)
}

/// The name of a signal number, if it is one of [`NAMES`].
pub fn name_of(num: i32) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|&&(_, n)| n == num)
        .map(|&(name, _)| name)
}

/// Signals that indicate deliberate termination, which `restart = on-failure` does not treat
/// as a failure (dinit-service(5), `restart`).
pub fn is_deliberate_termination(sig: i32) -> bool {
    matches!(sig, HUP | INT | USR1 | USR2 | TERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (name, num) in NAMES {
            assert_eq!(by_name(name.as_bytes()), Some(num));
            assert_eq!(name_of(num), Some(name));
        }
        assert_eq!(by_name(b"term"), None, "names are case-sensitive");
        assert_eq!(by_name(b"SIGTERM"), None, "no SIG prefix");
    }

    #[test]
    fn deliberate_signals_per_man_page() {
        // dinit-service(5): "(other than SIGHUP, SIGINT, SIGUSR1, SIGUSR2 or SIGTERM ...)"
        for s in [HUP, INT, USR1, USR2, TERM] {
            assert!(is_deliberate_termination(s));
        }
        for s in [KILL, QUIT, 11, 6] {
            assert!(!is_deliberate_termination(s));
        }
    }
}
