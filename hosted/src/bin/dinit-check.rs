//! `dinit-check`: check service descriptions (dinit-check(8)). The logic is in
//! `dinit_hosted::check`.

#![deny(unsafe_code)]

pub(crate) fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let status = dinit_hosted::check::run(&args, &mut out, &mut err);
    std::process::exit(status);
}
