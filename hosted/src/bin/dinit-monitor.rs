//! `dinit-monitor`: run a command when services or the activation environment change
//! (dinit-monitor(8)). The logic is in `dinit_hosted::ctl::monitor`.

#![deny(unsafe_code)]

pub(crate) fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let status = dinit_hosted::ctl::monitor::run(&args, &mut stdout.lock(), &mut stderr.lock());
    std::process::exit(status);
}
