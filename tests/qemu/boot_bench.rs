//! The boot benchmark side by side with Dinit (`just bench-boot`; docs/BENCH-METHOD.md,
//! "Booting under QEMU"): the same kernel, busybox, service set (distro/image) and guest script
//! booted with dinit-rs as process 1 (`just image`) and with the reference Dinit
//! (qemu-images/reference.sh: as `build-dinit.sh` builds it, linked dynamically, and the same
//! source linked statically as ours is). Each boot runs the `bench` scenario of
//! qemu-images/guest/e2e.sh: a mark in the kernel's log when the boot set has started, a second
//! of quiet, a mark and `/sbin/poweroff`. The figures are read from the console; most are
//! differences of the kernel's timestamps (the guest's clock), the rest of the host's times of
//! arrival, and each says which.
//!
//! Nothing here asserts a time: the checks are that each image boots, starts its services and
//! powers off, and that every figure can be read from its console.

use super::{require_qemu, workspace, Line, Machine, BOOT_SET, WITH_DRIVER};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// An image, by the init it boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// dinit-rs: the image of `just image` (static multi-call binary).
    Ours,
    /// The reference Dinit as `build-dinit.sh` builds it: dynamically linked, with libstdc++,
    /// libgcc_s, libm, libc and the loader in the image.
    Dinit,
    /// The same Dinit source linked statically (`-static`), as our binaries are.
    DinitStatic,
}

impl Init {
    pub const ALL: [Init; 3] = [Init::Ours, Init::Dinit, Init::DinitStatic];

    pub fn name(self) -> &'static str {
        match self {
            Init::Ours => "dinit-rs",
            Init::Dinit => "Dinit",
            Init::DinitStatic => "Dinit static",
        }
    }

    /// A short name for log files.
    fn tag(self) -> &'static str {
        match self {
            Init::Ours => "ours",
            Init::Dinit => "dinit",
            Init::DinitStatic => "dinit-static",
        }
    }

    /// The prefix of this init's `metric=value` lines (as `just bench` names them: ours bare,
    /// Dinit's with `dinit_`).
    fn metric_prefix(self) -> &'static str {
        match self {
            Init::Ours => "",
            Init::Dinit => "dinit_",
            Init::DinitStatic => "dinit_static_",
        }
    }

    /// The image's folder, built once per test binary (the builders skip an up-to-date image;
    /// with `DINIT_QEMU_NO_BUILD` the image is used as it is).
    pub fn image(self) -> PathBuf {
        static DYNAMIC: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        static STATIC: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let (kind, folder, built) = match self {
            Init::Ours => {
                super::ensure_image();
                return super::image_dir();
            }
            Init::Dinit => ("dynamic", "target/qemu-dinit", &DYNAMIC),
            Init::DinitStatic => ("static", "target/qemu-dinit-static", &STATIC),
        };
        let result = built.get_or_init(|| {
            require_qemu();
            if std::env::var_os("DINIT_QEMU_NO_BUILD").is_some() {
                return Ok(workspace().join(folder));
            }
            let out = Command::new("bash")
                .arg(workspace().join("qemu-images/reference.sh"))
                .arg(kind)
                .output()
                .map_err(|e| format!("running qemu-images/reference.sh: {e}"))?;
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            let stdout = String::from_utf8_lossy(&out.stdout);
            match stdout.lines().last() {
                Some(dir) if out.status.success() => Ok(PathBuf::from(dir)),
                _ => Err(format!(
                    "qemu-images/reference.sh {kind} failed ({})",
                    out.status
                )),
            }
        });
        match result {
            Ok(dir) => dir.clone(),
            Err(e) => panic!("{e}"),
        }
    }
}

/// How the guest's clock runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain TCG: the guest's clock is the host's, so a loaded host slows the guest down.
    Tcg,
    /// `-icount shift=ICOUNT_SHIFT,sleep=off`: the guest's clock counts emulated instructions
    /// and skips the time the guest idles. The figures do not depend on the host's load (two
    /// boots agree to a millisecond); they measure the work done, as on a CPU of 125 million
    /// instructions a second with free I/O.
    Icount,
}

/// 2^3 ns = 8 ns per emulated instruction under `Mode::Icount`.
const ICOUNT_SHIFT: u32 = 3;

impl Mode {
    pub fn parse(name: &str) -> Option<Mode> {
        match name {
            "tcg" => Some(Mode::Tcg),
            "icount" => Some(Mode::Icount),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Tcg => "tcg",
            Mode::Icount => "icount",
        }
    }

    fn about(self) -> String {
        match self {
            Mode::Tcg => "plain TCG: the guest's clock is the host's time, so the host's load \
                          slows the guest"
                .into(),
            Mode::Icount => format!(
                "-icount shift={ICOUNT_SHIFT},sleep=off: the guest's clock counts emulated \
                 instructions ({} ns each) and skips idle time, independent of the host's load",
                1u32 << ICOUNT_SHIFT
            ),
        }
    }

    /// Whether figures on the host's clock mean anything in this mode: under `-icount` the
    /// host's time is how long the emulation took (the guest's idle time skipped, the host's
    /// load added), so only the guest's figures are reported.
    fn shows(self, clock: Clock) -> bool {
        self == Mode::Tcg || clock == Clock::Guest
    }

    fn icount(self) -> Option<u32> {
        match self {
            Mode::Tcg => None,
            Mode::Icount => Some(ICOUNT_SHIFT),
        }
    }
}

/// Whose clock a figure is read on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    /// The kernel's timestamps (printk time: zero when the kernel's clock starts, early in
    /// the kernel's start).
    Guest,
    /// When the host read the lines from the serial console.
    Host,
}

struct Figure {
    metric: &'static str,
    what: &'static str,
    clock: Clock,
}

/// What is read from each boot, in the order of [`Figures`].
const FIGURES: [Figure; 7] = [
    Figure {
        metric: "kernel_to_init",
        what: "kernel start -> init started",
        clock: Clock::Guest,
    },
    Figure {
        metric: "init_to_first_line",
        what: "init started -> its first line",
        clock: Clock::Host,
    },
    Figure {
        metric: "init_to_all_started",
        what: "init started -> boot set started",
        clock: Clock::Guest,
    },
    Figure {
        metric: "kernel_to_all_started",
        what: "kernel start -> boot set started",
        clock: Clock::Guest,
    },
    Figure {
        metric: "request_to_shutdown_program",
        what: "poweroff -> shutdown program",
        clock: Clock::Host,
    },
    Figure {
        metric: "request_to_power_down",
        what: "poweroff -> kernel powers down",
        clock: Clock::Guest,
    },
    Figure {
        metric: "request_to_qemu_exit",
        what: "poweroff -> QEMU exits",
        clock: Clock::Host,
    },
];

/// One boot's figures in seconds, in the order of [`FIGURES`].
pub type Figures = [f64; 7];

/// The kernel's timestamp of the console line `text` whose message contains `needle`:
/// "[    4.249149] Run /sbin/init ..." gives 4.249149. The line may carry other output before
/// the stamp (a shell prompt).
fn printk_time(text: &str, needle: &str) -> Option<f64> {
    let before = text.get(..text.find(needle)?)?.trim_end();
    let inner = before.strip_suffix(']')?;
    let open = inner.rfind('[')?;
    inner.get(open + 1..)?.trim().parse().ok()
}

/// Whether a console line is one of the kernel's ("[    4.249149] ...").
fn is_kernel_line(text: &str) -> bool {
    text.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .is_some_and(|(stamp, _)| stamp.trim().parse::<f64>().is_ok())
}

/// Reads one boot's figures from its console (`exit`: when QEMU's output closed):
///
/// - init started: the kernel's "Run /sbin/init as init process", printed as it executes init;
/// - init's first line: the first line after it that is not the kernel's (each init's status
///   line for the first service started: "[  OK  ] hostname");
/// - boot set started: the guest's mark "E2E: all started", written by the scenario's first
///   command (the `e2e` service depends on `boot`), read back from the kernel's log;
/// - poweroff: the guest's mark "E2E: shutdown requested", written just before it runs
///   `/sbin/poweroff` (each init's own);
/// - shutdown program: its first line, "Sending TERM..." (ours: dinit-shutdown; Dinit's:
///   `shutdown --system`), once every service has stopped;
/// - power-down: the kernel's "reboot: Power down".
pub fn figures(lines: &[Line], exit: Instant) -> Result<Figures, String> {
    let find = |from: usize, needle: &str| {
        lines
            .iter()
            .skip(from)
            .position(|l| l.text.contains(needle))
            .map(|i| from + i)
            .ok_or_else(|| format!("no console line with {needle:?}"))
    };
    let stamp = |index: usize, needle: &str| {
        printk_time(&lines[index].text, needle)
            .ok_or_else(|| format!("no kernel timestamp on {:?}", lines[index].text))
    };
    let host = |from: usize, to: usize| lines[to].at.duration_since(lines[from].at).as_secs_f64();

    let init = find(0, "Run /sbin/init as init process")?;
    let init_at = stamp(init, "Run /sbin/init")?;
    let first = (init + 1..lines.len())
        .find(|&i| {
            let text = lines[i].text.trim();
            !text.is_empty() && !is_kernel_line(text)
        })
        .ok_or("no console line from the init")?;
    let all = find(init, "E2E: all started")?;
    let all_at = stamp(all, "E2E: all started")?;
    let request = find(all, "E2E: shutdown requested")?;
    let request_at = stamp(request, "E2E: shutdown requested")?;
    let program = find(request, "Sending TERM")?;
    let down = find(request, "reboot: Power down")?;
    let down_at = stamp(down, "reboot: Power down")?;
    Ok([
        init_at,
        host(init, first),
        all_at - init_at,
        all_at,
        host(request, program),
        down_at - request_at,
        exit.duration_since(lines[request].at).as_secs_f64(),
    ])
}

/// Milliseconds, for tables.
fn ms(seconds: f64) -> String {
    format!("{:.1}", seconds * 1000.0)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Boots `image` (whose init is `init`) once with the bench scenario; returns its figures.
fn boot_once(init: Init, image: &std::path::Path, mode: Mode, label: &str) -> Figures {
    let mut m = Machine::boot_image(image, label, "bench", WITH_DRIVER, mode.icount());
    m.wait_for("reboot: Power down");
    let (status, closed) = m.wait_exit();
    if !status.success() {
        m.fail(&format!("QEMU exited with {status} ({})", init.name()));
    }
    figures(&m.lines(), closed).unwrap_or_else(|e| m.fail(&e))
}

/// One line of the figures `mode` shows, for a boot's progress report.
fn figures_line(f: &Figures, mode: Mode) -> String {
    FIGURES
        .iter()
        .zip(f)
        .filter(|(fig, _)| mode.shows(fig.clock))
        .map(|(fig, v)| format!("{} {} ms", fig.metric, ms(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the bench scenario under `init`: the boot set and the scenario driver all started,
/// no service failed, every service of the boot set stopped, the image's own shutdown program
/// ran, the kernel powered down, QEMU exited cleanly, and every figure can be read. (For
/// ours, also the stop order; Dinit may stop a dependency before a dependent that is still
/// stopping, difference D6 of docs/COMPATIBILITY.md, so its order is not checked.)
pub fn check(init: Init) {
    let label = format!("bench-check-{}", init.tag());
    let mut m = Machine::boot_image(&init.image(), &label, "bench", WITH_DRIVER, None);
    let all = m.wait_for("E2E: all started");
    let mut expected = BOOT_SET.to_vec();
    expected.push("e2e");
    m.assert_all_started(all, &expected);
    if let Some(i) = m.find_from(0, "[FAILED]") {
        m.fail(&format!("a service failed: {}", m.line(i).text));
    }
    let request = m.wait_for_from(all, "E2E: shutdown requested");
    let end = m.wait_for_from(request, "reboot: Power down");
    if init == Init::Ours {
        m.assert_stop_order(request, end);
    } else {
        let stops = m.stops(request, end);
        if let Some(name) = BOOT_SET.iter().find(|n| !stops.iter().any(|s| s == *n)) {
            m.fail(&format!(
                "{name} was not reported stopped; stops seen: {stops:?}"
            ));
        }
    }
    // Each shutdown program's first words: the image's own ran, not the other's.
    let shutdown_program = match init {
        Init::Ours => "Sending TERM signal to all processes",
        Init::Dinit | Init::DinitStatic => "Sending TERM/KILL to all processes",
    };
    if m.find_from(request, shutdown_program).is_none() {
        m.fail(&format!(
            "no {shutdown_program:?} from the shutdown program"
        ));
    }
    let (status, closed) = m.wait_exit();
    if !status.success() {
        m.fail(&format!("QEMU exited with {status}"));
    }
    let f = figures(&m.lines(), closed).unwrap_or_else(|e| m.fail(&e));
    eprintln!("qemu[{label}]: {}", figures_line(&f, Mode::Tcg));
}

/// The benchmark: for each mode, `n` rounds, each booting every image once (ours, Dinit,
/// Dinit static; the order reversed every other round); then a table per mode and
/// `metric=value` lines. The report is also written to `target/bench-boot.txt`.
pub fn run(n: usize, modes: &[Mode]) {
    let images: Vec<(Init, PathBuf)> = Init::ALL.iter().map(|&i| (i, i.image())).collect();
    let mut report = Vec::new();
    for &mode in modes {
        let load_before = loadavg();
        let mut results: Vec<Vec<Figures>> = vec![Vec::new(); images.len()];
        for round in 0..n {
            let mut order: Vec<usize> = (0..images.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for k in order {
                let (init, image) = &images[k];
                let label = format!("bench-{}-{}", mode.name(), round + 1);
                let f = boot_once(*init, image, mode, &label);
                eprintln!(
                    "bench-boot[{} {} {}]: {}",
                    mode.name(),
                    round + 1,
                    init.name(),
                    figures_line(&f, mode)
                );
                results[k].push(f);
            }
        }
        report.extend(table(mode, n, &images, &results, &load_before));
    }
    let text = report.join("\n") + "\n";
    println!("{text}");
    let path = workspace().join("target/bench-boot.txt");
    if std::fs::write(&path, &text).is_ok() {
        eprintln!("bench-boot: report written to {}", path.display());
    }
}

/// The table and `metric=value` lines of one mode.
fn table(
    mode: Mode,
    n: usize,
    images: &[(Init, PathBuf)],
    results: &[Vec<Figures>],
    load_before: &str,
) -> Vec<String> {
    let shown: Vec<usize> = (0..FIGURES.len())
        .filter(|&i| mode.shows(FIGURES[i].clock))
        .collect();
    let sizes: Vec<String> = images
        .iter()
        .map(|(init, dir)| {
            let size = std::fs::metadata(dir.join("initramfs.cpio.gz")).map_or(0, |m| m.len());
            format!("{} {size}", init.name())
        })
        .collect();
    let mut out =
        vec![
        String::new(),
        format!("== boot side by side under QEMU, {}: {}", mode.name(), mode.about()),
        format!(
            "{n} boots of each image, interleaved; load average before {load_before}, after {}",
            loadavg()
        ),
        format!("initramfs.cpio.gz bytes: {}", sizes.join(", ")),
        "median [min-max] in ms; ratio = dinit-rs / that init's median (< 1: dinit-rs is faster)"
            .into(),
        String::new(),
    ];
    let mut header = format!("{:<34} {:<6}", "figure", "clock");
    for (init, _) in images {
        header += &format!(" {:>26}", init.name());
        if *init != Init::Ours {
            header += &format!(" {:>6}", "ratio");
        }
    }
    out.push(header);
    let mut metrics = Vec::new();
    for &i in &shown {
        let fig = &FIGURES[i];
        let clock = match fig.clock {
            Clock::Guest => "guest",
            Clock::Host => "host",
        };
        let mut row = format!("{:<34} {:<6}", fig.what, clock);
        let ours = median(&results[0].iter().map(|f| f[i]).collect::<Vec<_>>());
        for (k, (init, _)) in images.iter().enumerate() {
            let values: Vec<f64> = results[k].iter().map(|f| f[i]).collect();
            let med = median(&values);
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            row += &format!(" {:>26}", format!("{} [{}-{}]", ms(med), ms(lo), ms(hi)));
            let name = format!("boot_{}_{}", mode.name(), fig.metric);
            metrics.push(format!("{}{name}_ms={}", init.metric_prefix(), ms(med)));
            if *init != Init::Ours {
                let ratio = ours / med;
                row += &format!(" {:>6.2}", ratio);
                let which = match init {
                    Init::DinitStatic => "static_",
                    _ => "",
                };
                metrics.push(format!("ratio_{which}{name}={ratio:.3}"));
            }
        }
        out.push(row);
    }
    out.push(String::new());
    out.push(format!(
        "each boot ({}), in ms:",
        shown
            .iter()
            .map(|&i| FIGURES[i].metric)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for (k, (init, _)) in images.iter().enumerate() {
        for (round, f) in results[k].iter().enumerate() {
            let values: Vec<String> = shown.iter().map(|&i| ms(f[i])).collect();
            out.push(format!(
                "  {:<12} {}: {}",
                init.name(),
                round + 1,
                values.join(" ")
            ));
        }
    }
    out.push(String::new());
    out.extend(metrics);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn printk_times_parse() {
        assert_eq!(
            printk_time("[    4.249149] Run /sbin/init as init process", "Run /sbin"),
            Some(4.249149)
        );
        assert_eq!(
            printk_time(
                "dinit-rs:/root# [    5.279489] E2E: all started",
                "E2E: all"
            ),
            Some(5.279489)
        );
        assert_eq!(printk_time("E2E: all started", "E2E: all"), None);
        assert!(is_kernel_line("[   12.282148] reboot: Power down"));
        assert!(!is_kernel_line("[  OK  ] hostname"));
        assert!(!is_kernel_line("[STOPPD] boot"));
    }

    /// The figures of a console as the two inits print it (timestamps made up).
    #[test]
    fn figures_are_read_from_a_console() {
        let t0 = Instant::now();
        let console = [
            (0.0, "[    0.000000] Linux version 6.1.0"),
            (4.0, "[    4.000000] Run /sbin/init as init process"),
            (
                4.0,
                "[    4.001000] Not activating Mandatory Access Control",
            ),
            (4.1, "[  OK  ] hostname"),
            (4.3, "[  OK  ] boot"),
            (4.5, "dinit-rs:/root# [    4.400000] E2E: all started"),
            (
                5.6,
                "[    5.500000] E2E: shutdown requested: /sbin/poweroff",
            ),
            (5.7, "[STOPPD] boot"),
            (5.8, "Sending TERM signal to all processes..."),
            (5.9, "[    5.750000] reboot: Power down"),
        ];
        let lines: Vec<Line> = console
            .iter()
            .map(|&(at, text)| Line {
                at: t0 + Duration::from_secs_f64(at),
                text: text.into(),
            })
            .collect();
        let f = figures(&lines, t0 + Duration::from_secs_f64(6.0)).unwrap();
        let want = [4.0, 0.1, 0.4, 4.4, 0.2, 0.25, 0.4];
        for (got, want) in f.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{f:?}");
        }
        assert!(figures(&lines[..6], t0).is_err());
    }
}
