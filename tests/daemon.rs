//! The real `dinit` in user mode on temporary service directories and sockets, driven by our
//! `dinitctl`, checked through observable effects: files services write, pids, signals, timing
//! bounds, and `dinitctl`'s exact output (dinit(8), dinit-service(5)).
//!
//! Built as an integration test of dinit-hosted (see hosted/Cargo.toml), so that both binaries
//! are at hand.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use harness::{alive, start_time, status_field, Instance, Launch};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn dependencies_start_in_order_and_stop_in_reverse() {
    // dinit(8): "any service processes will not be launched until the dependencies are
    // satisfied ... stopping a service first stops any dependent services".
    let step = |name: &str| {
        format!(
            "type = scripted\ncommand = /bin/sh -c \"echo start-{name} >> {{dir}}/order\"\nstop-command = /bin/sh -c \"echo stop-{name} >> {{dir}}/order\"\n"
        )
    };
    let a = step("a") + "depends-on: b\n";
    let b = step("b") + "depends-on: c\n";
    let c = step("c");
    let i = Instance::start("daemon", &[("a", &a), ("b", &b), ("c", &c)]);
    assert_eq!(i.ok(&["start", "a"]), "Service 'a' started.\n");
    assert_eq!(i.read("order"), "start-c\nstart-b\nstart-a\n");
    assert_eq!(i.ok(&["stop", "a"]), "Service 'a' stopped.\n");
    // dinitctl returns once 'a' has stopped; its dependencies stop after it.
    i.wait_for("c to stop", || i.state("c") == "STOPPED");
    assert_eq!(
        i.read("order"),
        "start-c\nstart-b\nstart-a\nstop-a\nstop-b\nstop-c\n"
    );
}

#[test]
fn restart_on_crash_and_the_restart_limit() {
    // dinit-service(5) restart, restart-limit-count (default 3), restart-delay.
    let i = Instance::start("daemon", &[(
        "crash",
        "type = process\ncommand = /bin/sh -c \"echo run >> {dir}/runs; sleep 0.3; exit 1\"\nrestart-delay = 0.1\n",
    )]);
    let (out, status) = i.ctl(&["start", "crash"]).merged();
    assert_eq!((out.as_str(), status), ("Service 'crash' started.\n", 0));
    i.wait_for("the service to give up", || {
        i.state("crash").starts_with("STOPPED")
    });
    assert_eq!(
        i.read("runs").lines().count(),
        4,
        "started once and restarted 3 times within the limit interval"
    );
    assert_eq!(i.state("crash"), "STOPPED (terminated; exited - status 1)");
    assert!(
        i.read("log").contains("restarting too quickly"),
        "{}",
        i.read("log")
    );
    let (list, _) = i.ctl(&["list"]).merged();
    assert!(list.contains("[     {X}] crash (exit status: 1)"), "{list}");
}

#[test]
fn a_killed_process_is_restarted_with_a_new_pid() {
    let i = Instance::start(
        "daemon",
        &[("svc", "type = process\ncommand = /bin/sleep 1000\n")],
    );
    i.ok(&["start", "svc"]);
    let first = i.pid_of("svc").unwrap();
    let born = start_time(first);
    assert!(
        born.is_some(),
        "no /proc entry for the service's process {first}"
    );
    // SAFETY: killing the service's process.
    unsafe {
        libc::kill(first, libc::SIGKILL);
    }
    i.wait_for("a new process", || {
        i.pid_of("svc").is_some_and(|p| p != first)
    });
    assert_eq!(i.state("svc"), "STARTED");
    // The killed process is gone (its pid may already name another process: compare births).
    assert!(
        !alive(first) || start_time(first) != born,
        "the killed process {first} is still there"
    );
}

#[test]
fn smooth_recovery_keeps_dependents_running() {
    // dinit-service(5) smooth-recovery: "without first stopping any dependent services".
    let i = Instance::start(
        "daemon",
        &[
            (
                "daemon",
                "type = process\ncommand = /bin/sleep 1000\nsmooth-recovery = true\n",
            ),
            (
                "app",
                "type = process\ncommand = /bin/sleep 1000\ndepends-on: daemon\n",
            ),
        ],
    );
    i.ok(&["start", "app"]);
    let (d, a) = (i.pid_of("daemon").unwrap(), i.pid_of("app").unwrap());
    // SAFETY: killing the service's process.
    unsafe {
        libc::kill(d, libc::SIGKILL);
    }
    i.wait_for("the daemon to be relaunched", || {
        i.pid_of("daemon").is_some_and(|p| p != d)
    });
    assert_eq!(i.pid_of("app"), Some(a), "the dependent was not restarted");
    assert_eq!(i.state("app"), "STARTED");
}

#[test]
fn start_timeout_interrupts_and_stop_timeout_kills() {
    // start-timeout: "its process group is sent a SIGINT signal"; stop-timeout: SIGKILL.
    let i = Instance::start("daemon", &[
        (
            "slow",
            "type = scripted\ncommand = /bin/sh -c \"trap 'echo INT >> {dir}/signals; exit 1' INT; echo set > {dir}/trapped; while :; do sleep 0.05; done\"\nstart-timeout = 0.5\n",
        ),
        (
            "stubborn",
            "type = process\ncommand = /bin/sh -c \"trap '' TERM; echo up > {dir}/stubborn-up; while :; do sleep 0.05; done\"\nstop-timeout = 0.5\n",
        ),
    ]);
    let start = Instant::now();
    let (out, status) = i.ctl(&["start", "slow"]).merged();
    assert_eq!(status, 1);
    assert_eq!(
        out,
        "Service 'slow' failed to start.\nReason: start timed out.\n"
    );
    assert!(start.elapsed() >= Duration::from_millis(450));
    // The failure is reported at the timeout; the interrupted process ends just after.
    i.wait_for("the start command to be interrupted", || {
        i.state("slow") == "STOPPED (start timed out)"
    });
    // Its process group got SIGINT, as the shell's trap says. (On a machine so loaded that the
    // shell had not even set its trap when the timeout came, the signal ended it without a
    // word: then only the daemon's own account is left, and the shell must not have got that
    // far.)
    let log = i.read("log");
    if i.read("signals").is_empty() && i.read("trapped").is_empty() {
        eprintln!("the shell had not set its trap at the timeout");
        assert!(
            log.contains("Interrupting start of service slow with pid"),
            "{log}"
        );
    } else {
        assert_eq!(i.read("signals"), "INT\n", "log:\n{log}");
    }
    let (_, st) = i.ctl(&["is-failed", "slow"]).merged();
    assert_eq!(st, 0);

    i.ok(&["start", "stubborn"]);
    // Started means exec'd: wait until the shell has set its trap, or a TERM sent before
    // that would end it at once.
    i.wait_for("the shell to ignore TERM", || {
        i.read("stubborn-up") == "up\n"
    });
    let pid = i.pid_of("stubborn").unwrap();
    let start = Instant::now();
    assert_eq!(i.ok(&["stop", "stubborn"]), "Service 'stubborn' stopped.\n");
    assert!(
        start.elapsed() >= Duration::from_millis(450),
        "it ignored TERM until the stop timeout"
    );
    assert!(!alive(pid));
    assert!(
        i.read("log").contains(&format!(
            "dinit: Service stubborn with pid {pid} exceeded allowed stop time; killing.\n"
        )),
        "{}",
        i.read("log")
    );
}

#[test]
fn exec_failure_is_reported_with_its_stage() {
    let i = Instance::start(
        "daemon",
        &[
            (
                "execfail",
                "type = process\ncommand = /nonexistent/binary\n",
            ),
            (
                "baddir",
                "type = process\ncommand = /bin/true\nworking-dir = /nonexistent/dir\n",
            ),
        ],
    );
    let (out, status) = i.ctl(&["start", "execfail"]).merged();
    assert_eq!(status, 1);
    assert_eq!(
        out,
        "Service 'execfail' failed to start.\nReason: execution of service process failed:\n        Stage: executing command\n        Error: No such file or directory\n"
    );
    let status = i.status("execfail");
    assert!(
        status.contains("State: STOPPED (could not be launched)\n        Stage: executing command\n        Error: No such file or directory"),
        "{status}"
    );
    let (out, _) = i.ctl(&["start", "baddir"]).merged();
    assert!(out.contains("Stage: changing directory"), "{out}");
}

#[test]
fn bgprocess_is_supervised_through_its_pid_file() {
    let i = Instance::start("daemon", &[(
        "bg",
        "type = bgprocess\ncommand = /bin/sh -c \"sleep 1000 & echo $$! > {dir}/bg.pid\"\npid-file = {dir}/bg.pid\nrestart = false\n",
    )]);
    i.ok(&["start", "bg"]);
    let pid: i32 = i.read("bg.pid").trim().parse().unwrap();
    assert_eq!(i.pid_of("bg"), Some(pid));
    // SAFETY: killing the daemon of the service.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    i.wait_for("the service to stop", || {
        i.state("bg").starts_with("STOPPED")
    });
    assert_eq!(i.state("bg"), "STOPPED (terminated; signalled - signal 15)");
}

#[test]
fn a_pid_file_naming_a_process_of_the_daemons_group_signals_that_process_only() {
    // Stopping signals the group the service's process is in (as Dinit), but never the
    // daemon's own: here the daemon leads a session whose group also holds a `sleep` started
    // before it, and a bgprocess service's pid file names that `sleep`. Signalling the group
    // would end the daemon itself.
    let l = Launch::new("daemon", &[(
        "bg",
        "type = bgprocess\ncommand = /bin/cp {dir}/grouped.pid {dir}/bg.pid\npid-file = {dir}/bg.pid\nrestart = false\nstop-timeout = 0\n",
    )])
    .wrap(&[
        "setsid",
        "/bin/sh",
        "-c",
        "/bin/sleep 1001 & echo $! > {dir}/grouped.pid; exec \"$0\" \"$@\"",
    ]);
    let i = l.start();
    i.ok(&["start", "bg"]);
    let sleeper: i32 = i.read("grouped.pid").trim().parse().unwrap();
    assert_eq!(i.pid_of("bg"), Some(sleeper));
    assert_eq!(i.ok(&["stop", "bg"]), "Service 'bg' stopped.\n");
    assert_eq!(i.state("bg"), "STOPPED");
    assert!(!alive(sleeper), "the service's process still runs");
    // The daemon was not signalled: it still answers, and has not begun to shut down.
    assert_eq!(i.list_line("bg"), "[     {-}] bg");
    assert!(!i.log().contains("shutting down"), "{}", i.log());
}

#[test]
fn readiness_notification_delays_started() {
    // ready-notification = pipefd:N: "the service will write a message to the specified file
    // descriptor".
    let i = Instance::start("daemon", &[
        (
            "ready",
            "type = process\ncommand = /bin/sh -c \"sleep 0.5; echo ready >&3; exec sleep 1000\"\nready-notification = pipefd:3\n",
        ),
        (
            "readyvar",
            "type = process\ncommand = /bin/sh -c \"echo $$NOTIFY > {dir}/fd; echo ready >&$$NOTIFY; exec sleep 1000\"\nready-notification = pipevar:NOTIFY\n",
        ),
    ]);
    let start = Instant::now();
    assert_eq!(i.ok(&["start", "ready"]), "Service 'ready' started.\n");
    assert!(start.elapsed() >= Duration::from_millis(450));
    i.ok(&["start", "readyvar"]);
    assert!(i.read("fd").trim().parse::<i32>().unwrap() >= 3);
}

#[test]
fn a_log_file_with_a_size_limit_is_rotated_between_lines() {
    // logfile-max-size / logfile-rotate (dinit-rs extensions): 400 lines of 16 bytes into
    // files of at most 1024 bytes, two rotated files kept. The three files together hold the
    // last lines, whole, each once, in order; the oldest went; permissions as set. Each run
    // of the service numbers its lines with the run.
    let script = "n=$$(cat {dir}/runs 2>/dev/null || echo 0); n=$$((n+1)); echo $$n > {dir}/runs; i=1; while [ $$i -le 400 ]; do printf 'run %d line %04d\\\\n' $$n $$i; i=$$((i+1)); done; exec sleep 1000";
    let i = Instance::start("daemon", &[(
        "rotated",
        &format!("type = process\ncommand = /bin/sh -c \"{script}\"\nlogfile = {{dir}}/r.log\nlogfile-permissions = 640\nlogfile-max-size = 1K\nlogfile-rotate = 2\n"),
    )]);
    let files = ["r.log.2", "r.log.1", "r.log"];
    let check = |run: u32| {
        let mut all = String::new();
        for f in files {
            let text = i.read(f);
            assert!(text.len() <= 1024, "{f}: {} bytes", text.len());
            assert!(
                text.len() > 1024 - 16 || f == "r.log",
                "{f} rotated early: {} bytes",
                text.len()
            );
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(i.path(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640, "{f}");
            all.push_str(&text);
        }
        assert!(!i.path("r.log.3").exists());
        let prefix = format!("run {run} line ");
        let numbers: Vec<u32> = all
            .lines()
            .map(|l| {
                l.strip_prefix(&prefix)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            })
            .collect();
        let first = numbers[0];
        assert!(first > 1, "the oldest lines were dropped");
        assert_eq!(numbers, (first..=400).collect::<Vec<_>>(), "{all}");
    };
    i.ok(&["start", "rotated"]);
    i.wait_for("the last line", || {
        i.read("r.log").ends_with("run 1 line 0400\n")
    });
    check(1);
    // After a restart the output still goes to the file, rotated the same way.
    i.ok(&["restart", "rotated"]);
    i.wait_for("the second run's last line", || {
        i.read("r.log").ends_with("run 2 line 0400\n")
    });
    check(2);
}

#[test]
fn log_types_file_buffer_and_none() {
    let i = Instance::start("daemon", &[
        (
            "tofile",
            "type = process\ncommand = /bin/sh -c \"echo to-file; echo err >&2; exec sleep 1000\"\nlogfile = {dir}/svc.log\nlogfile-permissions = 640\n",
        ),
        (
            "buffered",
            "type = scripted\ncommand = /bin/sh -c \"echo hello from buffered; printf partial\"\nlog-type = buffer\n",
        ),
        ("quiet", "type = scripted\ncommand = /bin/echo nothing\nlog-type = none\n"),
    ]);
    i.ok(&["start", "tofile"]);
    i.wait_for("the log file", || i.read("svc.log") == "to-file\nerr\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(i.path("svc.log"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    i.ok(&["start", "buffered"]);
    i.wait_for("buffered output", || {
        i.ctl(&["catlog", "buffered"]).text().contains("partial")
    });
    assert_eq!(
        i.ok(&["catlog", "--clear", "buffered"]),
        "hello from buffered\npartial\n(last line is truncated or incomplete)\n"
    );
    assert_eq!(i.ok(&["catlog", "buffered"]), "");
    i.ok(&["start", "quiet"]);
    let (out, status) = i.ctl(&["catlog", "quiet"]).merged();
    assert_eq!(status, 1);
    assert!(out.contains("not configured to buffer output"), "{out}");
}

#[test]
fn consumer_of_loses_no_output_across_restarts() {
    // consumer-of: "this service consumes (as its standard input) the output of another
    // service"; log-type: "the pipe created may outlive the service process and be re-used".
    let i = Instance::start("daemon", &[
        (
            "producer",
            "type = process\ncommand = /bin/sh -c \"i=0; while [ $$i -lt 5 ]; do echo line-$$$$-$$i; i=$$((i+1)); done; exec sleep 1000\"\nlog-type = pipe\n",
        ),
        ("consumer", "type = process\ncommand = /bin/sh -c \"cat >> {dir}/consumed\"\nconsumer-of = producer\n"),
    ]);
    i.ok(&["start", "consumer"]);
    i.ok(&["start", "producer"]);
    i.wait_for("5 lines", || i.read("consumed").lines().count() == 5);
    i.ok(&["restart", "producer"]);
    i.wait_for("10 lines", || i.read("consumed").lines().count() == 10);
    i.ok(&["restart", "consumer"]);
    i.ok(&["restart", "producer"]);
    i.wait_for("15 lines", || i.read("consumed").lines().count() == 15);
    let text = i.read("consumed");
    for l in text.lines() {
        assert!(l.starts_with("line-"), "{text}");
    }
}

#[test]
fn socket_activation_passes_the_listening_socket() {
    let i = Instance::start("daemon", &[(
        "sock",
        "type = process\ncommand = /bin/sh -c \"echo $$LISTEN_FDS $$LISTEN_PID $$$$ > {dir}/listen; [ -S /proc/self/fd/3 ] && echo socket >> {dir}/listen; exec sleep 1000\"\nsocket-listen = {dir}/svc.sock\nsocket-permissions = 660\n",
    )]);
    i.ok(&["start", "sock"]);
    i.wait_for("the service's report", || {
        i.read("listen").lines().count() == 2
    });
    let text = i.read("listen");
    let mut words = text.split_whitespace();
    assert_eq!(words.next(), Some("1"));
    let (lp, me) = (words.next().unwrap(), words.next().unwrap());
    assert_eq!(lp, me, "LISTEN_PID is the service process");
    assert!(text.ends_with("socket\n"));
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::metadata(i.path("svc.sock")).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    std::os::unix::net::UnixStream::connect(i.path("svc.sock")).unwrap();
}

#[test]
fn environment_files_and_substitution() {
    // dinit-service(5) VARIABLE SUBSTITUTION: the service's env-file takes priority over the
    // global environment (here from `-e`); `$$` is a literal dollar, left for the shell, which
    // then reads the process environment; `$1` is the service argument.
    let i = Launch::new(
        "daemon",
        &[
            ("global.env", "GLOBAL=from-global\nSHARED=global\n"),
            (
                "envsvc",
                "type = scripted\nenv-file = envsvc.env\ncommand = /bin/sh -c \"echo $GLOBAL/$SHARED/$OWN/$1/$$OWN/$$SHARED > {dir}/env-$1\"\n",
            ),
            ("envsvc.env", "OWN=own\nSHARED=service\n"),
            ("late", "type = scripted\ncommand = /bin/sh -c \"echo $$LATER > {dir}/late\"\n"),
        ],
    )
    .args(&["-e", "{dir}/sd/global.env"])
    .start();
    i.ok(&["start", "envsvc@arg"]);
    assert_eq!(
        i.read("env-arg"),
        "from-global/service/own/arg/own/service\n"
    );
    // dinitctl setenv: "Any subsequently started or restarted service will have these
    // environment variables available."
    assert_eq!(i.ok(&["setenv", "LATER=set-later"]), "");
    i.ok(&["start", "late"]);
    assert_eq!(i.read("late"), "set-later\n");
}

#[test]
fn many_variables_set_later_all_reach_the_service() {
    // The launch buffers are sized at load time; setenv beyond their headroom must grow them
    // rather than fail the launch.
    let i = Instance::start(
        "daemon",
        &[(
            "printenv",
            "type = scripted\ncommand = /usr/bin/env\nlogfile = {dir}/env.out\n",
        )],
    );
    i.ok(&["start", "printenv"]);
    i.ok(&["stop", "printenv"]);
    for n in 0..40 {
        i.ok(&["setenv", &format!("LATER_{n}=v{n}")]);
    }
    std::fs::remove_file(i.path("env.out")).unwrap();
    i.ok(&["start", "printenv"]);
    let out = i.read("env.out");
    for n in 0..40 {
        assert!(out.contains(&format!("LATER_{n}=v{n}\n")), "{out}");
    }
}

#[test]
fn service_env_file_unset_and_clear_shape_the_process_environment() {
    // dinit(8) FILES: `!unset` removes variables, `!clear` removes all of them, `!import`
    // brings one back from the environment dinit started with. In a service's env-file they
    // act on what the process receives, on top of the global environment of the moment.
    let i = Launch::new(
        "daemon",
        &[
            ("global.env", "KEEP=k\nDROP=d\n"),
            (
                "unsetsvc",
                "type = scripted\nenv-file = unset.env\ncommand = /usr/bin/env\nlogfile = {dir}/unset.out\n",
            ),
            ("unset.env", "!unset DROP LATE\nMINE=m\n"),
            (
                "clearsvc",
                "type = scripted\nenv-file = clear.env\ncommand = /usr/bin/env\nlogfile = {dir}/clear.out\n",
            ),
            ("clear.env", "!clear\nONLY=o\n!import HOME\n"),
        ],
    )
    .args(&["-e", "{dir}/sd/global.env"])
    .start();
    i.ok(&["setenv", "LATE=l"]);
    i.ok(&["start", "unsetsvc"]);
    let out = i.read("unset.out");
    let mut vars: Vec<&str> = out.lines().collect();
    vars.sort();
    assert!(
        vars.contains(&"KEEP=k") && vars.contains(&"MINE=m"),
        "{out}"
    );
    assert!(!out.contains("DROP=") && !out.contains("LATE="), "{out}");
    i.ok(&["start", "clearsvc"]);
    let out = i.read("clear.out");
    let mut vars: Vec<String> = out.lines().map(str::to_owned).collect();
    vars.sort();
    let home = format!("HOME={}", std::env::var("HOME").unwrap());
    assert_eq!(vars, [home, "ONLY=o".to_owned()], "{out}");
}

#[test]
fn run_as_rlimits_and_nice_are_applied() {
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: needs root (CI runs as root)");
        return;
    }
    let i = Instance::start("daemon", &[(
        "limited",
        "type = process\ncommand = /bin/sleep 1000\nrun-as = nobody\nrlimit-nofile = 123:456\nnice = 7\n",
    )]);
    i.ok(&["start", "limited"]);
    let pid = i.pid_of("limited").unwrap();
    let uid = status_field(pid, "Uid");
    let nobody = dinit_hosted::users::user_by_name(b"nobody").unwrap().uid;
    assert!(uid.starts_with(&format!("{nobody}\t{nobody}")), "{uid}");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert!(line.contains(" 123 ") && line.contains(" 456 "), "{line}");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit(')').next().unwrap();
    let nice: i32 = after.split_whitespace().nth(16).unwrap().parse().unwrap();
    assert_eq!(nice, 7);
}

#[test]
fn chain_to_starts_the_next_service() {
    let i = Instance::start(
        "daemon",
        &[
            (
                "first",
                "type = process\ncommand = /bin/true\nrestart = false\nchain-to = second\n",
            ),
            (
                "second",
                "type = scripted\ncommand = /bin/sh -c \"echo chained > {dir}/chained\"\n",
            ),
        ],
    );
    i.ok(&["start", "first"]);
    i.wait_for("the chained service", || i.read("chained") == "chained\n");
}

#[test]
fn a_chain_started_by_the_last_active_service_keeps_the_daemon_running() {
    // dinit(8): a user instance ends once no service is active. A chain-to started as the
    // last active service stops is active again: the daemon must run it, not exit.
    let dir = harness::temp_dir("chain-last");
    let sd = dir.join("sd");
    std::fs::write(
        sd.join("first"),
        "type = process\ncommand = /bin/true\nrestart = false\nchain-to = second\n",
    )
    .unwrap();
    std::fs::write(
        sd.join("second"),
        format!(
            "type = process\ncommand = /bin/sh -c \"echo chained > {}/chained\"\nrestart = false\n",
            dir.display()
        ),
    )
    .unwrap();
    // (The daemon must exit by itself: `wait_exit` is its hang detector.)
    let mut i = Launch::in_dir(dir)
        .no_log_file()
        .args(&["-q", "first"])
        .launch();
    let status = i.wait_exit();
    assert_eq!(status.code(), Some(0), "{status:?}: {}", i.console());
    assert_eq!(
        i.read("chained"),
        "chained\n",
        "the chained service ran before the daemon exited"
    );
}

#[test]
fn shutdown_stops_everything_and_the_daemon_exits() {
    let mut i = Instance::start(
        "daemon",
        &[
            ("boot", "type = internal\ndepends-on: svc\n"),
            ("svc", "type = process\ncommand = /bin/sleep 1000\n"),
        ],
    );
    i.ok(&["start", "boot"]);
    let pid = i.pid_of("svc").unwrap();
    let (out, status) = i.ctl(&["shutdown"]).merged();
    assert_eq!(
        (out.as_str(), status),
        ("Shutting down dinit...\nConnection closed.\n", 0)
    );
    let code = i.wait_exit();
    assert!(code.success());
    assert!(!alive(pid));
    assert!(!i.sock.exists(), "the socket file is removed");
    let console = i.read("console");
    assert!(console.contains("[STOPPD] svc"), "{console}");
}

#[test]
fn a_second_daemon_refuses_a_live_socket() {
    let i = Instance::start("daemon", &[("boot", "type = internal\n")]);
    let out = Command::new(harness::DINIT)
        .args(["-u", "-d"])
        .arg(i.dir.join("sd"))
        .arg("-p")
        .arg(&i.sock)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Logged on the console (standard output), in Dinit's words.
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("dinit: Control socket is already active (another instance already running?)"));
    assert!(
        Path::new(&i.sock).exists(),
        "the live socket was left alone"
    );
}

#[test]
fn inittab_settings_record_the_process_in_utmp() {
    // dinit-service(5) inittab-id/inittab-line: "an entry will be created in the system 'utmp'
    // database ... The entry will be cleared when the service terminates."
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: needs root to write utmp (CI runs as root)");
        return;
    }
    // The utmp file is created at boot by the system's init (ours: at `starts-rwfs`); a bare
    // container may lack it, and pututxline does not create it.
    let utmp = std::path::Path::new("/var/run/utmp");
    let created = !utmp.exists() && std::fs::File::create(utmp).is_ok();
    let id = format!("{}", std::process::id() % 10_000);
    let svc = format!(
        "type = process\ncommand = /bin/sleep 1000\ninittab-id = {id}\ninittab-line = ttyT9\n"
    );
    let i = Instance::start("daemon", &[("getty", &svc)]);
    i.ok(&["start", "getty"]);
    let pid = i.pid_of("getty").unwrap();
    assert_eq!(
        dinit_hosted::utmp::find(id.as_bytes()),
        Some((libc::INIT_PROCESS, pid))
    );
    i.ok(&["stop", "getty"]);
    assert_eq!(
        dinit_hosted::utmp::find(id.as_bytes()),
        Some((libc::DEAD_PROCESS, pid))
    );
    if created {
        let _ = std::fs::remove_file(utmp);
    }
}

#[test]
fn relative_cgroup_paths_resolve_against_dash_b() {
    // dinit(8) -b: "the path to resolve relative cgroup paths against".
    let root = std::path::Path::new("/sys/fs/cgroup");
    let base = root.join(format!("dinit-rs-test-{}", std::process::id()));
    if std::fs::create_dir(&base).is_err() || std::fs::create_dir(base.join("child")).is_err() {
        eprintln!("skipped: cannot create a cgroup here");
        let _ = std::fs::remove_dir(&base);
        return;
    }
    let i = Launch::new(
        "daemon",
        &[(
            "cg",
            "type = process\ncommand = /bin/sleep 1000\nrun-in-cgroup = child\n",
        )],
    )
    .args(&["-b", base.to_str().unwrap()])
    .start();
    let (out, status) = i.ctl(&["start", "cg"]).merged();
    if status == 0 {
        let pid = i.pid_of("cg").unwrap();
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let name = base.file_name().unwrap().to_str().unwrap();
        assert!(cgroup.contains(&format!("{name}/child")), "{cgroup}");
        i.ok(&["stop", "cg"]);
    } else {
        // Some hosts refuse to move processes between these cgroups (delegation): the failure
        // must then be reported at its stage, not ignored.
        assert!(out.contains("Stage: entering cgroup"), "{out}");
    }
    drop(i);
    let _ = std::fs::remove_dir(base.join("child"));
    let _ = std::fs::remove_dir(&base);
}
