//! What the compatibility tests share: where the two implementations' programs are, and scratch
//! folders.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The folder holding the reference Dinit's programs (`dinit`, `dinitctl`, `dinit-check`,
/// `dinit-monitor`, `shutdown`) and `igr-tests/`: `$DINIT_REF_DIR`, or where `just compat`
/// builds it (`target/peers/dinit/src`).
pub fn reference_dir() -> PathBuf {
    let dir = match std::env::var_os("DINIT_REF_DIR") {
        Some(d) => PathBuf::from(d),
        None => workspace().join("target/peers/dinit/src"),
    };
    assert!(
        dir.join("dinit").is_file() && dir.join("igr-tests/igr-runner").is_file(),
        "the reference Dinit is not built in {}: run `just compat` (it builds it with \
         ../shared/peers/build-dinit.sh target/peers), or set DINIT_REF_DIR",
        dir.display()
    );
    dir
}

/// The folder holding our programs, as cargo built them for this test.
pub fn our_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_dinit"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Which implementation a program comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// The reference Dinit.
    Dinit,
    /// dinit-rs.
    Ours,
}

impl Impl {
    /// The path of program `name` (`dinit`, `dinitctl`, `dinit-check`, `dinit-monitor`, or
    /// `shutdown`, which is our `dinit-shutdown`).
    pub fn program(self, name: &str) -> PathBuf {
        match self {
            Impl::Dinit => reference_dir().join(name),
            Impl::Ours => {
                let ours = if name == "shutdown" {
                    "dinit-shutdown"
                } else {
                    name
                };
                our_dir().join(ours)
            }
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Impl::Dinit => "dinit",
            Impl::Ours => "ours",
        }
    }
}

/// A fresh, empty scratch folder for one test (under the system's temporary directory, short
/// enough for a socket path).
pub fn scratch(tag: &str) -> PathBuf {
    crate::harness::fresh_dir(&format!("c-{tag}"))
}

/// Copies the folder `from` into `to` (created), recursively, keeping symbolic links as links
/// and the permission bits of files.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ty = entry.file_type().unwrap();
        if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ty.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}
