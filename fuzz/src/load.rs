//! Harness for the real loader (`dinit_hosted::load::Loader`): description files with
//! `@include`, `env-file`, `.d` directories, substitution from the global environment and
//! dependencies, read from a scratch directory and loaded as one transaction into a small
//! engine.
//!
//! Input: sections separated by a `%%` line ([`crate::util::sections`]):
//!
//! 0. the service argument on the first line (service `svc@ARG`, or `svc` if the line is
//!    empty), then the global environment as `NAME=VALUE` lines;
//! 1. the file `svc`;
//! 2. and later: the files `f0`, `f1`, ... (for `@include f0`, `env-file = f1`,
//!    `depends-on: f2`...). The directory `d` names `f0`, `f1` and `nosuch`.
//!
//! Inputs containing `/` are skipped: every path then stays inside the scratch directory (an
//! `@include /dev/zero` would only test the machine).
//!
//! Checks: nothing panics; a failed load leaves the engine and the store as they were; a
//! successful one has loaded every hard dependency of every service it loaded, and loading
//! the same name again gives the same service; errors and warnings display.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::util::{env_pairs, sections};
use dinit_core::ServiceSet;
use dinit_hosted::environ::Environment;
use dinit_hosted::load::{Diagnostic, LoadError, Loader, VecStore};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Files `f0`... beyond this are ignored.
const MAX_FILES: usize = 10;

/// The scratch service directory, made once per process.
static SCRATCH: OnceLock<PathBuf> = OnceLock::new();

fn scratch_dir() -> &'static Path {
    SCRATCH.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("dinit-fuzz-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("d")).unwrap();
        for name in ["f0", "f1", "nosuch"] {
            std::fs::write(dir.join("d").join(name), b"").unwrap();
        }
        // libFuzzer ends the process with exit(): remove the directory then.
        // SAFETY: registers a plain function without arguments.
        unsafe {
            libc::atexit(remove_scratch_dir);
        }
        dir
    })
}

extern "C" fn remove_scratch_dir() {
    cleanup();
}

/// Removes the scratch directory (also done at exit).
pub fn cleanup() {
    if let Some(dir) = scratch_dir_if_made() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn scratch_dir_if_made() -> Option<&'static Path> {
    SCRATCH.get().map(PathBuf::as_path)
}

/// Runs every check on `data`.
pub fn run(data: &[u8]) {
    if data.contains(&b'/') {
        return;
    }
    let parts = sections(data);
    let head = parts[0];
    let (arg, env_text) = match head.iter().position(|&b| b == b'\n') {
        Some(i) => (&head[..i], &head[i + 1..]),
        None => (head, &[][..]),
    };
    let mut name = b"svc".to_vec();
    if !arg.is_empty() {
        name.push(b'@');
        name.extend_from_slice(arg);
    }
    let env = Environment::from_pairs(env_pairs(env_text));

    let dir = scratch_dir();
    std::fs::write(dir.join("svc"), parts.get(1).copied().unwrap_or(&[])).unwrap();
    for i in 0..MAX_FILES {
        let path = dir.join(format!("f{i}"));
        match parts.get(2 + i) {
            Some(text) => std::fs::write(&path, text).unwrap(),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    let dirs = [dir.to_path_buf()];
    let mut loader = Loader::new(&dirs, &env);

    // What dinit-check does: read one service, reporting every problem.
    loader.lint = true;
    let mut diags = Vec::new();
    let checked = loader.read_service_diagnosed(&name, &mut diags);
    match &checked {
        Ok(read) => {
            let _ = format!("{read:?}");
        }
        Err(e) => {
            let _ = (
                e.to_string(),
                e.check_line(),
                e.message(),
                e.startup_message(),
            );
            let _ = (e.is_description_error(), e.is_not_found());
        }
    }
    // dinit-check's errors, but for the .d directories that cannot be read (only warnings for
    // dinit).
    let errors = diags
        .iter()
        .filter(
            |d| matches!(d, Diagnostic::Error(e) if !matches!(e, LoadError::DependencyDir { .. })),
        )
        .count();
    for d in &diags {
        if let Diagnostic::Error(e) = d {
            let _ = e.check_line();
        }
    }
    loader.lint = false;
    // What dinit does: the first error (or the one that stopped the reading) fails it.
    match loader.read_service(&name) {
        Ok(_) => assert!(errors == 0 && checked.is_ok(), "{diags:?}"),
        Err(e) => {
            let _ = e.to_string();
            assert!(errors > 0 || checked.is_err(), "{e}");
        }
    }

    // What the daemon does: load it and everything it needs, as one transaction.
    let mut set: Box<ServiceSet<64, 256, 4096>> = Box::new(ServiceSet::new());
    let mut store = VecStore::default();
    match loader.load(&mut *set, &mut store, &name) {
        Ok(id) => {
            assert_eq!(set.name(id), Some(&name[..]));
            let ids: Vec<_> = set.iter().collect();
            for id in ids {
                let Some(data) = store.get(id) else { continue };
                for dep in &data.dependencies {
                    if !dep.kind.is_ordering() && dep.from_dir.is_none() {
                        assert!(
                            set.find(&dep.name).is_some(),
                            "{:?} needs {:?}, not loaded",
                            String::from_utf8_lossy(&data.data.name),
                            String::from_utf8_lossy(&dep.name)
                        );
                    }
                }
            }
            let again = loader.load(&mut *set, &mut store, &name);
            assert_eq!(again.ok(), Some(id));
        }
        Err(e) => {
            let _ = e.to_string();
            assert_eq!(set.slots_in_use(), 0, "a failed load left services: {e}");
        }
    }
    for w in &loader.warnings {
        let _ = w.to_string();
    }
}
