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
//! # Choices where the manual pages are silent
//!
//! * `type` defaults to `process` ([`description::DEFAULT_KIND`];
//!   [`Description::type_specified`] tells whether it was given).
//! * `command +=` / `stop-command +=` without an earlier value are errors; `capabilities +=`
//!   and `securebits +=` then simply set the value.
//! * Unknown `@meta` sub-commands are ignored ([`Item::UnknownMeta`]); unknown `@` commands
//!   are errors.
//! * Quoting and escaping do not prevent variable substitution (it runs on the lexed value);
//!   `$$` is the escape. A `$` that starts no substitution form is an error, as are `$0` and
//!   `$2`...`$9`. `$/{NAME...}` is accepted like `$/NAME`; outside commands `$/` acts as `$`.
//!   The syntax of post-load values is checked while parsing, so such mistakes are reported
//!   with their line even before the environment is known.
//! * `chain-to` is not checked as a service name ("naming an invalid service will not cause
//!   this service to fail to load"); every other setting naming a service is.
//! * Numbers: `socket-permissions`/`logfile-permissions` are octal up to 7777;
//!   `restart-limit-count` fits u16; `log-buffer-size` is 1 to 2^32-1; numeric ids are below
//!   2^32-1; `nice` saturates to i32 (the runtime clamps to the system's range);
//!   `inittab-id`/`inittab-line` are limited to 4/32 bytes (Linux utmp).
//! * Environment files: leading white space is skipped, values are verbatim, a CR before the
//!   newline is dropped, and `!unset`/`!import` need at least one name.
//! * A service argument may be empty (`name@`): `$1` is then set but empty.
//! * A NUL byte in a setting or environment file is an error.

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
pub use envfile::{parse_env_file, EnvFileParser, EnvOp, EnvSink};
pub use error::{DescError, DescErrorKind, Snippet};
pub use name::{is_valid_service_name, parse_service_name, NameError, ServiceName};
pub use parser::{parse, DescriptionSink, Entry, Item, Parser};
pub use setting::{
    is_valid_env_name, IdSpec, Ioprio, Limit, LoadOptions, LogType, Op, OptionList,
    ReadyNotification, Resource, Rlimit, Securebits, Setting, SettingKey, Substitution,
};
pub use subst::{
    check_syntax, expand_command, expand_value, uses_substitution, Chain, NoVars, SubstEnv,
    SubstError, Vars,
};
pub use tokens::{TokenIter, Tokens};
