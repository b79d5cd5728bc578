//! `dinit-shutdown`, also installed as `shutdown`, `halt`, `poweroff`, `reboot` and
//! `soft-reboot` (shutdown(8)). The logic is in `dinit_hosted::shutdown`.

#![deny(unsafe_code)]

pub(crate) fn main() {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let name = std::path::Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("shutdown")
        .to_owned();
    let rest: Vec<std::ffi::OsString> = args.collect();
    std::process::exit(dinit_hosted::shutdown::run(&name, &rest));
}
