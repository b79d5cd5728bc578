//! Harness for the service-description parser (`dinit_core::desc`) with `@include` and
//! substitution, driven the way `hosted/src/load.rs` drives it but with an in-memory include
//! resolver.
//!
//! Input: sections separated by a `%%` line ([`crate::util::sections`]):
//!
//! 0. the service name on the first line (its `@argument` is `$1`), then the environment as
//!    `NAME=VALUE` lines (see [`crate::subst::environment`]);
//! 1. the description file;
//! 2. and later: files for `@include` / `@include-opt`. A path whose last byte is the digit
//!    `d` names section `2 + d`; any other path is a missing file.
//!
//! Checks:
//!
//! * nothing panics, however many errors (the parser resumes after each, as the loader does);
//! * the parser always makes progress, and line numbers stay within the file and never go
//!   back;
//! * a tiny scratch buffer changes nothing but `ValueTooLong` errors: both parsers stay on the
//!   same line, and what fits parses to the same item;
//! * for a file without `@include` that loads without error, `Description::load` gives the
//!   same result as the item-by-item loader;
//! * every accessor of the resulting description works, its commands and paths expand (the
//!   substitution checks of [`crate::subst`] hold on them), and every error displays.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::util::sections;
use dinit_core::desc::{
    parse_service_name, Chain, CommandSetting, DefaultDescription, DescError, DescErrorKind, Entry,
    Item, Parser, PathSetting, Resource, Setting, SubstEnv,
};
use dinit_core::DepKind;

/// As in the loader.
const MAX_INCLUDE_DEPTH: usize = 8;
/// Scratch space per value (the loader uses 64 KiB; smaller reaches the overflow paths).
const SCRATCH: usize = 4096;
/// A scratch buffer so small that most values overflow it.
const TINY: usize = 24;

struct Loader<'a> {
    files: &'a [&'a [u8]],
    errors: Vec<DescError>,
    deps: Vec<(DepKind, Vec<u8>)>,
    fragments: usize,
    includes: usize,
}

/// Runs every check on `data`.
pub fn run(data: &[u8]) {
    let parts = sections(data);
    let head = parts[0];
    let (name, env_text) = match head.iter().position(|&b| b == b'\n') {
        Some(i) => (&head[..i], &head[i + 1..]),
        None => (head, &[][..]),
    };
    let arg = parse_service_name(name).ok().and_then(|n| n.argument);
    let (_, first, second) = crate::subst::environment(env_text);
    let chain = Chain(first.as_slice(), second.as_slice());
    let env = SubstEnv::new(&chain, arg);
    let main = parts.get(1).copied().unwrap_or(&[]);
    let files = parts.get(2..).unwrap_or(&[]);

    lockstep(main, &env);

    let mut desc = Box::new(DefaultDescription::new());
    let mut loader = Loader {
        files,
        errors: Vec::new(),
        deps: Vec::new(),
        fragments: 1,
        includes: 0,
    };
    loader.fragment(&mut desc, main, 0, 0, &env);
    for e in &loader.errors {
        let _ = e.to_string();
        assert!(usize::from(e.fragment) < loader.fragments);
    }

    if loader.includes == 0 && loader.errors.is_empty() {
        let mut other = Box::new(DefaultDescription::new());
        let mut scratch = vec![0u8; SCRATCH];
        match other.load(main, &env, &mut scratch) {
            Ok(()) => {
                assert_eq!(other.config(), desc.config());
                assert_eq!(other.command(), desc.command());
                assert_eq!(other.stop_command(), desc.stop_command());
                assert_eq!(other.working_dir(), desc.working_dir());
                assert_eq!(other.env_file(), desc.env_file());
                assert_eq!(other.logfile(), desc.logfile());
            }
            // The loader keeps dependencies itself; the description holds a bounded number.
            Err(e) => assert!(
                matches!(
                    e.kind,
                    DescErrorKind::TooManyDependencies { .. } | DescErrorKind::StorageFull { .. }
                ),
                "load: {e}, none item by item"
            ),
        }
    }

    inspect(&desc, &env);
}

impl Loader<'_> {
    fn fragment(
        &mut self,
        desc: &mut DefaultDescription,
        text: &[u8],
        fragment: u16,
        depth: usize,
        env: &SubstEnv<'_>,
    ) {
        let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;
        let mut scratch = vec![0u8; SCRATCH];
        let mut parser = Parser::new(text);
        let mut last_line = 1;
        // Every call consumes at least one byte (an item or an error needs one).
        for _ in 0..=text.len() + 1 {
            desc.set_fragment(fragment);
            let entry = match parser.next_item(env, &mut scratch) {
                Ok(Some(entry)) => entry,
                Ok(None) => return,
                Err(e) => {
                    assert!(
                        e.line >= 1 && e.line as usize <= lines,
                        "{e} of {lines} lines"
                    );
                    assert!(
                        e.line >= last_line,
                        "error line {} after {last_line}",
                        e.line
                    );
                    last_line = e.line;
                    self.errors.push(e.in_fragment(fragment));
                    continue;
                }
            };
            assert!(entry.line >= 1 && entry.line as usize <= lines);
            assert!(
                entry.line >= last_line,
                "line {} after {last_line}",
                entry.line
            );
            last_line = entry.line;
            match entry.item {
                Item::Setting(Setting::Dependency { kind, name }) => {
                    assert!(!name.is_empty());
                    if !self.deps.iter().any(|(k, n)| *k == kind && n == name) {
                        self.deps.push((kind, name.to_vec()));
                    }
                }
                Item::Setting(setting) => {
                    if let Err(e) = desc.apply(entry.line, setting) {
                        assert_eq!(e.fragment, fragment);
                        self.errors.push(e);
                    }
                }
                Item::Include { path, optional } => {
                    // A path may substitute to nothing: it names no file (a missing one).
                    self.includes += 1;
                    if depth + 1 >= MAX_INCLUDE_DEPTH || self.includes > 64 {
                        continue;
                    }
                    let index = match path.last() {
                        Some(d @ b'0'..=b'9') => usize::from(d - b'0'),
                        _ => usize::MAX,
                    };
                    let Some(&included) = self.files.get(index) else {
                        if !optional {
                            self.errors.push(DescError::new(
                                entry.line,
                                DescErrorKind::Custom("no such file"),
                            ));
                        }
                        continue;
                    };
                    let Ok(number) = u16::try_from(self.fragments) else {
                        continue;
                    };
                    self.fragments += 1;
                    self.fragment(desc, included, number, depth + 1, env);
                }
                Item::UnknownMeta(words) => {
                    let _ = words.iter().count();
                }
            }
        }
        panic!("the parser made no progress on {text:?}");
    }
}

/// Parses `text` with a normal and a tiny scratch buffer side by side.
fn lockstep(text: &[u8], env: &SubstEnv<'_>) {
    let mut big = vec![0u8; SCRATCH];
    let mut tiny = [0u8; TINY];
    let mut a = Parser::new(text);
    let mut b = Parser::new(text);
    for _ in 0..=text.len() + 1 {
        let x: Result<Option<Entry<'_>>, DescError> = a.next_item(env, &mut big);
        let y = b.next_item(env, &mut tiny);
        match (&x, &y) {
            (_, Ok(Some(_))) => assert_eq!(x, y),
            (Ok(None), Ok(None)) => return,
            (_, Err(e)) if matches!(e.kind, DescErrorKind::ValueTooLong { .. }) => {}
            (_, Err(e)) if matches!(e.kind, DescErrorKind::Subst { .. }) => {
                // Substitution output overflowed the tiny buffer, or a genuine error.
            }
            _ => assert_eq!(x, y),
        }
        assert_eq!(a.line(), b.line(), "the parsers went apart: {x:?} / {y:?}");
    }
    panic!("the parser made no progress on {text:?}");
}

/// Calls every accessor and expands every command and path.
fn inspect(desc: &DefaultDescription, env: &SubstEnv<'_>) {
    let _ = format!("{desc:?}");
    let _ = (
        desc.kind(),
        desc.type_specified(),
        desc.working_dir(),
        desc.run_as(),
        desc.env_file(),
        desc.pid_file(),
        desc.chain_to(),
        desc.socket_listen(),
        desc.socket_permissions(),
        desc.socket_uid(),
        desc.socket_gid(),
        desc.ready_notification(),
        desc.log_type(),
        desc.logfile(),
        desc.logfile_permissions(),
        desc.logfile_uid(),
        desc.logfile_gid(),
        desc.log_buffer_size(),
    );
    let _ = (
        desc.consumer_of(),
        desc.load_options(),
        desc.inittab_id(),
        desc.inittab_line(),
        desc.rlimits().count(),
        desc.rlimit(Resource::Nofile),
        desc.nice(),
        desc.run_in_cgroup(),
        desc.capabilities(),
        desc.securebits(),
        desc.ioprio(),
        desc.oom_score_adj(),
        desc.enable_via(),
        desc.bytes_used(),
    );
    assert!(desc.bytes_used() <= dinit_core::desc::description::DEFAULT_DESC_BYTES);
    for d in desc.dependencies() {
        assert!(!d.name.is_empty());
    }
    // (A dependency directory may be empty: it is then the description's own directory.)
    let _ = desc.dependency_dirs().count();
    for which in [CommandSetting::Start, CommandSetting::Stop] {
        let raw = match which {
            CommandSetting::Start => desc.command(),
            CommandSetting::Stop => desc.stop_command(),
        };
        assert_eq!(raw.is_some(), desc.command_origin(which).is_some());
        let mut out = vec![0u8; 1 << 16];
        match desc.expand_command(which, env, &mut out) {
            Ok(Some(_)) | Ok(None) => {}
            Err(e) => {
                let _ = e.to_string();
            }
        }
        if let Some(tokens) = raw {
            crate::subst::check_command(tokens, env);
        }
    }
    for which in [
        PathSetting::WorkingDir,
        PathSetting::PidFile,
        PathSetting::SocketListen,
        PathSetting::Logfile,
    ] {
        let mut out = vec![0u8; 1 << 16];
        match desc.expand_path(which, env, &mut out) {
            // May be empty (`working-dir = $UNSET`): the loader treats that as not set.
            Ok(Some(_)) => {}
            Ok(None) => assert!(desc.path_origin(which).is_none()),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    for value in [
        desc.working_dir(),
        desc.pid_file(),
        desc.socket_listen(),
        desc.logfile(),
    ]
    .into_iter()
    .flatten()
    {
        crate::subst::check_value(value, env);
    }
}
