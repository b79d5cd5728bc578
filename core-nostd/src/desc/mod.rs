//! The service-description format of dinit-service(5): lexing, typed settings, the assembled
//! description, variable substitution, the environment-file format of dinit(8) and service
//! names. Pure logic over `&[u8]`, without allocation: the runtime reads the files.
//!
//! # Where each rule of the manual pages lives
//!
//! | Rule (manual page section)                                   | Module              |
//! |--------------------------------------------------------------|---------------------|
//! | `=`, `:`, `+=`; comments; white space; quotes; backslashes; continuation lines; META-COMMANDS (`@include`, `@include-opt`, `@meta`) | [`parser`] |
//! | Every setting of SERVICE PROPERTIES and OPTIONS, which take `+=`, which get substitution, value validation, RESOURCE LIMITS | [`setting`] |
//! | Override versus additive settings, `+=` semantics, `logfile` implying `log-type = file`, console-option exclusivity, defaults | [`description`] |
//! | VARIABLE SUBSTITUTION (`$NAME`, `${...}` forms, `$$`, `$/`, `$1`, name rules, priority of environments) | [`subst`] |
//! | dinit(8) FILES: the environment file (`NAME=VALUE`, `#`, `!clear`, `!unset`, `!import`) | [`envfile`] |
//! | SERVICE NAMES and SERVICE ARGUMENTS                          | [`name`]            |
//! | Error messages                                               | [`error`]           |
//!
//! # Loading a description
//!
//! ```
//! use dinit_core::desc::{
//!     CommandSetting, DefaultDescription, SubstEnv, Vars, parse_service_name,
//! };
//! use dinit_core::{DepKind, ServiceKind};
//!
//! let text = b"\
//! type = process
//! command = /usr/sbin/agetty --noclear $1 38400 # the tty is the argument
//! depends-on: early-$1
//! options: runs-on-console
//! ";
//! // dinit's environment (lowest priority; service env-file and load-options vars come first).
//! let global: [(&[u8], &[u8]); 1] = [(b"TERM", b"linux")];
//! let name = parse_service_name(b"getty@tty1").unwrap();
//! let env = SubstEnv::new(&global, name.argument);
//!
//! let mut desc = DefaultDescription::new();
//! let mut scratch = [0u8; 1024];
//! desc.load(text, &env, &mut scratch).unwrap();
//!
//! assert_eq!(desc.kind(), ServiceKind::Process);
//! let dep = desc.dependencies().next().unwrap();
//! assert_eq!((dep.kind, dep.name), (DepKind::Regular, &b"early-tty1"[..])); // pre-load
//!
//! // Post-load substitution, once the service's env-file has been read:
//! let mut argv = [0u8; 256];
//! let cmd = desc.expand_command(CommandSetting::Start, &env, &mut argv).unwrap().unwrap();
//! assert_eq!(cmd.iter().nth(2), Some(&b"tty1"[..]));
//! ```
//!
//! A loader that supports `@include` implements [`DescriptionSink`] itself (forwarding
//! settings to [`Description::apply`]) or drives a [`Parser`] per file with a stack of its
//! own; see [`parser`].
//!
//! # Dinit's behaviour, and our choices
//!
//! Where the manual pages are silent, Dinit's behaviour is the rule: the lexical rules, the
//! validation of each value and the error messages are Dinit's (the corpus of
//! `tests/compat/check/` compares `dinit-check` with Dinit's). In particular:
//!
//! * `type` defaults to `internal` ([`description::DEFAULT_KIND`]); an empty file is a valid
//!   internal service.
//! * `command +=` / `stop-command +=` / `capabilities +=` / `securebits +=` without an
//!   earlier value simply set it. An empty value leaves a string setting unset.
//! * Numbers are read as the C library reads them (`0x` hexadecimal, a leading `0` octal,
//!   white space and a sign before them) with Dinit's bounds: `nice` within ±2^30,
//!   `restart-limit-count` and `log-buffer-size` up to 2^31-1, permissions an octal `int`,
//!   numeric ids up to 2^32-1 (see `cnum.rs`).
//! * A service name is refused only if empty or beginning with `.` or `@` ([`name`]).
//! * `@meta` lines are not interpreted, except a well-formed `@meta enable-via NAME`
//!   ([`Item::UnknownMeta`]); unknown `@` commands are (fatal) errors.
//! * Quoting and escaping do not prevent variable substitution (it runs on the lexed value);
//!   `$$` is the escape. The syntax of post-load values is checked when they are expanded,
//!   once the description has been read, as Dinit does.
//! * Environment files: invalid lines and unknown commands are skipped and reported
//!   ([`EnvLine`]); values are verbatim, a CR included.
//!
//! Our own limits: error messages quote at most [`error::SNIPPET_BYTES`] bytes of a value;
//! a NUL byte in a value is an error; a description's storage and dependencies are bounded
//! ([`Description`]); `restart-limit-count` is kept as a `u16` (saturating).

pub mod cnum;
pub mod description;
pub mod envfile;
pub mod error;
pub mod name;
pub mod parser;
pub mod setting;
pub mod subst;
pub mod tokens;

#[cfg(test)]
mod tests;

pub use description::{
    CommandSetting, DefaultDescription, Dependency, DependencyDir, Description, Origin, PathSetting,
};
pub use envfile::{parse_env_file, EnvFileParser, EnvLine, EnvOp, EnvSink};
pub use error::{DescError, DescErrorKind, Snippet};
pub use name::{
    is_valid_service_name, parse_service_name, split_service_name, NameError, ServiceName,
};
pub use parser::{parse, DescriptionSink, Entry, Item, Parser};
pub use setting::{
    is_valid_env_name, IdSpec, Ioprio, Limit, LoadOptions, LogBufferKeep, LogType, Op, OptionList,
    ReadyNotification, Resource, Rlimit, Securebits, Setting, SettingKey, Substitution,
};
pub use subst::{
    check_syntax, expand_command, expand_value, uses_substitution, Chain, NoVars, SubstEnv,
    SubstError, Vars,
};
pub use tokens::{TokenIter, Tokens};
