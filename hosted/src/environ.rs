//! The global environment of the service manager (dinit(8) `-e` and FILES): the environment
//! dinit started with (the "original environment"), amended by the environment file and later
//! by `dinitctl setenv`/`unsetenv`. Service processes get it, overridden by their own
//! `env-file`; variable substitution in service descriptions reads it.

use dinit_core::desc::{parse_env_file, EnvLine, EnvOp, Vars};
use std::os::unix::ffi::OsStrExt;

/// An ordered set of `NAME=VALUE` variables. Order is kept (new variables are appended, a
/// replaced one keeps its place) so that `GETALLENV` lists them as Dinit does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    vars: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Environment {
    /// An empty environment.
    pub fn new() -> Self {
        Environment { vars: Vec::new() }
    }

    /// The environment of the current process.
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        Environment { vars }
    }

    /// From `(name, value)` pairs, in order.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        let mut env = Environment::new();
        for (k, v) in pairs {
            env.set(k, v);
        }
        env
    }

    /// The value of `name`.
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Sets `name` to `value`; returns whether it was set before.
    pub fn set(&mut self, name: &[u8], value: &[u8]) -> bool {
        match self.vars.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => {
                v.clear();
                v.extend_from_slice(value);
                true
            }
            None => {
                self.vars.push((name.to_vec(), value.to_vec()));
                false
            }
        }
    }

    /// Removes `name`; returns whether it was set.
    pub fn unset(&mut self, name: &[u8]) -> bool {
        let before = self.vars.len();
        self.vars.retain(|(k, _)| k != name);
        self.vars.len() != before
    }

    /// Removes every variable.
    pub fn clear(&mut self) {
        self.vars.clear();
    }

    /// The variables in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.vars.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Applies one environment-file operation. `original` is the environment `!import` reads
    /// from (dinit's original environment).
    pub fn apply(&mut self, op: &EnvOp<'_>, original: &Environment) {
        match *op {
            EnvOp::Set { name, value } => {
                self.set(name, value);
            }
            EnvOp::Unset(name) => {
                self.unset(name);
            }
            EnvOp::Clear => self.clear(),
            EnvOp::Import(name) => match original.get(name) {
                Some(v) => {
                    let v = v.to_vec();
                    self.set(name, &v);
                }
                None => {
                    self.unset(name);
                }
            },
        }
    }

    /// Applies an environment file (`NAME=VALUE`, `#`, `!clear`, `!unset`, `!import`).
    /// Lines that are not valid are skipped and returned, for the caller to warn about.
    pub fn apply_env_file(&mut self, text: &[u8], original: &Environment) -> Vec<SkippedLine> {
        let mut skipped = Vec::new();
        parse_env_file(text, &mut |line: u32, item: EnvLine<'_>| match item {
            EnvLine::Op(op) => self.apply(&op, original),
            EnvLine::InvalidSetting => skipped.push(SkippedLine {
                line,
                bad_command: false,
            }),
            EnvLine::BadCommand => skipped.push(SkippedLine {
                line,
                bad_command: true,
            }),
        });
        skipped
    }
}

/// A line of an environment file that was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkippedLine {
    /// The line, counting from 1.
    pub line: u32,
    /// An unknown `!` command (else a line that is not `NAME=VALUE`).
    pub bad_command: bool,
}

impl Vars for Environment {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        Environment::get(self, name)
    }
}

/// An environment file's operations, kept for applying later (a service's `env-file` is read
/// at load time; its effect on the process environment is applied at each launch, over the
/// global environment of that moment).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvOps {
    ops: Vec<OwnedEnvOp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum OwnedEnvOp {
    Set(Vec<u8>, Vec<u8>),
    Unset(Vec<u8>),
    Clear,
    Import(Vec<u8>),
}

impl EnvOps {
    /// No operations.
    pub const NONE: EnvOps = EnvOps { ops: Vec::new() };

    /// Parses an environment file into operations (lines that are not valid are skipped, as
    /// a service's `env-file` is read without warnings).
    pub fn parse(text: &[u8]) -> EnvOps {
        let mut ops = Vec::new();
        parse_env_file(text, &mut |_line: u32, item: EnvLine<'_>| {
            if let EnvLine::Op(op) = item {
                ops.push(match op {
                    EnvOp::Set { name, value } => OwnedEnvOp::Set(name.to_vec(), value.to_vec()),
                    EnvOp::Unset(name) => OwnedEnvOp::Unset(name.to_vec()),
                    EnvOp::Clear => OwnedEnvOp::Clear,
                    EnvOp::Import(name) => OwnedEnvOp::Import(name.to_vec()),
                });
            }
        });
        EnvOps { ops }
    }

    /// Adds `NAME=VALUE` (used for the variables of `load-options`).
    pub fn push_set(&mut self, name: &[u8], value: &[u8]) {
        self.ops
            .push(OwnedEnvOp::Set(name.to_vec(), value.to_vec()));
    }

    /// True if there are no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Applies the operations to `env`; `original` is what `!import` reads.
    pub fn apply_to(&self, env: &mut Environment, original: &Environment) {
        for op in &self.ops {
            let op = match op {
                OwnedEnvOp::Set(n, v) => EnvOp::Set { name: n, value: v },
                OwnedEnvOp::Unset(n) => EnvOp::Unset(n),
                OwnedEnvOp::Clear => EnvOp::Clear,
                OwnedEnvOp::Import(n) => EnvOp::Import(n),
            };
            env.apply(&op, original);
        }
    }

    /// What the operations do to a process environment built at launch over the daemon's
    /// global environment (which may change after load): whether that base is dropped
    /// (`!clear`), the base variables hidden (`!unset`), and the variables set (`NAME=VALUE`,
    /// and `!import` from `original`, the environment dinit started with), in order.
    pub fn launch_view(&self, original: &Environment) -> LaunchEnv {
        let mut view = LaunchEnv::default();
        for op in &self.ops {
            match op {
                OwnedEnvOp::Set(n, v) => view.set(n, v),
                OwnedEnvOp::Unset(n) => {
                    view.sets.retain(|(k, _)| k != n);
                    if !view.clear_base && !view.hidden.contains(n) {
                        view.hidden.push(n.clone());
                    }
                }
                OwnedEnvOp::Clear => {
                    view.clear_base = true;
                    view.hidden.clear();
                    view.sets.clear();
                }
                OwnedEnvOp::Import(n) => match original.get(n) {
                    Some(v) => view.set(n, v),
                    None => {
                        view.sets.retain(|(k, _)| k != n);
                        if !view.clear_base && !view.hidden.contains(n) {
                            view.hidden.push(n.clone());
                        }
                    }
                },
            }
        }
        view
    }

    /// Chains `other` after `self`.
    pub fn extend(&mut self, other: &EnvOps) {
        self.ops.extend(other.ops.iter().cloned());
    }
}

/// A service's environment operations as seen at launch; see [`EnvOps::launch_view`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaunchEnv {
    /// `!clear`: the daemon's global environment is not passed at all.
    pub clear_base: bool,
    /// Variables of the global environment not passed (`!unset`).
    pub hidden: Vec<Vec<u8>>,
    /// Variables set for the service, each name once.
    pub sets: Vec<(Vec<u8>, Vec<u8>)>,
}

impl LaunchEnv {
    fn set(&mut self, name: &[u8], value: &[u8]) {
        match self.sets.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.to_vec(),
            None => self.sets.push((name.to_vec(), value.to_vec())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_commands_per_dinit_8() {
        // dinit(8) FILES: values "add to and replace variables present in the environment when
        // dinit started"; !clear, !unset, !import.
        let original = Environment::from_pairs([
            (&b"PATH"[..], &b"/bin"[..]),
            (b"HOME", b"/root"),
            (b"LANG", b"C"),
        ]);
        let mut env = original.clone();
        let skipped = env.apply_env_file(
            b"# comment\nFOO=bar\nPATH=/usr/bin\n!unset LANG\n",
            &original,
        );
        assert!(skipped.is_empty());
        assert_eq!(env.get(b"FOO"), Some(&b"bar"[..]));
        assert_eq!(env.get(b"PATH"), Some(&b"/usr/bin"[..]));
        assert_eq!(env.get(b"LANG"), None);
        let names: Vec<&[u8]> = env.iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [&b"PATH"[..], b"HOME", b"FOO"],
            "a replaced variable keeps its place"
        );

        let mut env = original.clone();
        env.apply_env_file(b"!clear\nA=1\n!import HOME LANG\n", &original);
        let all: Vec<(&[u8], &[u8])> = env.iter().collect();
        assert_eq!(
            all,
            [(&b"A"[..], &b"1"[..]), (b"HOME", b"/root"), (b"LANG", b"C")]
        );
    }

    #[test]
    fn invalid_lines_are_skipped_and_reported() {
        let original = Environment::from_pairs([(&b"A"[..], &b"1"[..])]);
        let mut env = original.clone();
        let skipped = env.apply_env_file(b"B=2\nthis line has no equals sign\n!oops\n", &original);
        assert_eq!(
            skipped,
            [
                SkippedLine {
                    line: 2,
                    bad_command: false
                },
                SkippedLine {
                    line: 3,
                    bad_command: true
                }
            ]
        );
        assert_eq!(env.get(b"B"), Some(&b"2"[..]));
    }

    #[test]
    fn launch_view_of_clear_unset_and_import() {
        let original = Environment::from_pairs([(&b"HOME"[..], &b"/root"[..])]);
        let v = EnvOps::parse(b"A=1\n!unset B\nB=2\n!unset A\n").launch_view(&original);
        assert!(!v.clear_base);
        assert_eq!(v.hidden, [b"B".to_vec(), b"A".to_vec()]);
        assert_eq!(v.sets, [(b"B".to_vec(), b"2".to_vec())]);
        let v = EnvOps::parse(b"A=1\n!clear\nC=3\n!import HOME NOPE\n").launch_view(&original);
        assert!(v.clear_base);
        assert!(v.hidden.is_empty());
        assert_eq!(
            v.sets,
            [
                (b"C".to_vec(), b"3".to_vec()),
                (b"HOME".to_vec(), b"/root".to_vec())
            ]
        );
    }

    #[test]
    fn ops_replay_over_a_later_environment() {
        let ops = EnvOps::parse(b"X=1\n!unset Y\n");
        let original = Environment::new();
        let mut env = Environment::from_pairs([(&b"Y"[..], &b"2"[..]), (b"Z", b"3")]);
        ops.apply_to(&mut env, &original);
        let all: Vec<(&[u8], &[u8])> = env.iter().collect();
        assert_eq!(all, [(&b"Z"[..], &b"3"[..]), (b"X", b"1")]);
    }
}
