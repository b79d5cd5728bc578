//! Puts the board's memory layout (memory.x) where the linker scripts of cortex-m-rt and
//! riscv-rt look for it.

use std::{env, fs, path::PathBuf};

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let layout: &[u8] = match arch.as_str() {
        "arm" => include_bytes!("memory-cortex-m4.x"),
        "riscv32" => include_bytes!("memory-riscv32.x"),
        // Host builds (cargo check on the host) link nothing.
        _ => b"",
    };
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    if let Err(e) = fs::write(out.join("memory.x"), layout) {
        println!("cargo:warning=cannot write memory.x: {e}");
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory-cortex-m4.x");
    println!("cargo:rerun-if-changed=memory-riscv32.x");
    println!("cargo:rerun-if-changed=build.rs");
}
