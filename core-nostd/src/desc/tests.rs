//! Unit tests of the description format: lexing, every setting, the assembled description,
//! meta-commands, pre- and post-load substitution and the environment file.

extern crate std;

use std::string::{String, ToString};
use std::vec::Vec;

use super::*;
use crate::config::Options;
use crate::signal;
use crate::time::Duration;
use crate::types::{AutoRestart, DepKind, ServiceKind};

const VARS: [(&[u8], &[u8]); 3] = [(b"DIR", b"/srv"), (b"EMPTY", b""), (b"WORDS", b"x  y")];

fn env() -> SubstEnv<'static> {
    SubstEnv::new(&VARS, Some(b"arg"))
}

/// Parses `text`, which must hold exactly one item, into `scratch`.
fn item<'s>(text: &str, scratch: &'s mut [u8]) -> Result<Entry<'s>, DescError> {
    let mut p = Parser::new(text.as_bytes());
    let e = env();
    let entry = p.next_item(&e, scratch)?.expect("an item");
    Ok(entry)
}

/// The single setting of `text`.
fn one<'s>(text: &str, scratch: &'s mut [u8]) -> Result<Setting<'s>, DescError> {
    match item(text, scratch)?.item {
        Item::Setting(s) => Ok(s),
        other => panic!("not a setting: {other:?}"),
    }
}

/// The error message (with its line) of loading `text`.
fn err(text: &str) -> String {
    let mut d = Box::new(DefaultDescription::new());
    let mut scratch = [0u8; 512];
    let e = d
        .load(text.as_bytes(), &env(), &mut scratch)
        .expect_err("an error");
    std::format!("line {}: {e}", e.line)
}

fn load(text: &str) -> Box<DefaultDescription> {
    let mut d = Box::new(DefaultDescription::new());
    let mut scratch = [0u8; 512];
    if let Err(e) = d.load(text.as_bytes(), &env(), &mut scratch) {
        panic!("{text:?}: {e}");
    }
    d
}

fn strings(t: Tokens<'_>) -> Vec<String> {
    t.iter()
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
        .collect()
}

fn text(s: &[u8]) -> &str {
    core::str::from_utf8(s).unwrap()
}

use std::boxed::Box;

// ----- lexical rules -----

#[test]
fn assignment_forms() {
    let mut s = [0u8; 256];
    for t in [
        "type = internal",
        "type: internal",
        "type=internal",
        "type:internal",
        "  type   =   internal   ",
        "\ttype\t=\tinternal\r",
    ] {
        assert_eq!(
            one(t, &mut s),
            Ok(Setting::Type(ServiceKind::Internal)),
            "{t:?}"
        );
    }
}

#[test]
fn blank_and_comment_lines_are_skipped_and_lines_counted() {
    let mut s = [0u8; 256];
    let e = item(
        "\n# comment\n   # indented comment\n\n  \ntype = triggered\n",
        &mut s,
    )
    .unwrap();
    assert_eq!(e.line, 6);
    assert_eq!(e.item, Item::Setting(Setting::Type(ServiceKind::Triggered)));
}

#[test]
fn comments_after_values_need_white_space() {
    let mut s = [0u8; 256];
    assert_eq!(
        one("working-dir = /a # c", &mut s),
        Ok(Setting::WorkingDir(b"/a"))
    );
    assert_eq!(
        one("working-dir = /a\t# c", &mut s),
        Ok(Setting::WorkingDir(b"/a"))
    );
    assert_eq!(
        one("working-dir = \"/a #b\"", &mut s),
        Ok(Setting::WorkingDir(b"/a #b"))
    );
    assert_eq!(
        one("working-dir = /a \\#b", &mut s),
        Ok(Setting::WorkingDir(b"/a #b"))
    );
    // A '#' that does not follow white space is an error (it is probably a mistake), even at
    // the start of the value.
    for text in [
        "working-dir = /a#b",
        "working-dir =#b",
        "working-dir = # only a comment",
    ] {
        assert_eq!(
            err(text),
            "line 1: hashmark (`#') comment must be separated from setting value by whitespace",
            "{text:?}"
        );
    }
}

#[test]
fn white_space_collapses_in_strings() {
    let mut s = [0u8; 256];
    assert_eq!(
        one("working-dir =   a  \t  b    c   ", &mut s),
        Ok(Setting::WorkingDir(b"a b c"))
    );
}

#[test]
fn quotes_keep_white_space_and_special_characters() {
    let mut s = [0u8; 256];
    assert_eq!(
        one("working-dir = \"a   b\"", &mut s),
        Ok(Setting::WorkingDir(b"a   b"))
    );
    assert_eq!(
        one("working-dir = x\"a  b\"y z", &mut s),
        Ok(Setting::WorkingDir(b"xa  by z"))
    );
    assert_eq!(
        one("working-dir = \"\\\"q\\\\\"", &mut s),
        Ok(Setting::WorkingDir(b"\"q\\"))
    );
}

#[test]
fn command_tokens() {
    let mut s = [0u8; 256];
    let Setting::Command { op, tokens } = one(
        r#"command = /bin/echo "a  b" c\ d "" e"f"g \\x \"y"#,
        &mut s,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(op, Op::Set);
    assert_eq!(
        strings(tokens),
        ["/bin/echo", "a  b", "c d", "", "efg", "\\x", "\"y"]
    );
}

#[test]
fn escaped_newline_continues_the_value() {
    let mut s = [0u8; 256];
    let e = item(
        "command = /bin/a \\\n   -b\\\n\t-c\ntype = internal",
        &mut s,
    )
    .unwrap();
    assert_eq!(e.line, 1);
    let Item::Setting(Setting::Command { tokens, .. }) = e.item else {
        panic!()
    };
    assert_eq!(strings(tokens), ["/bin/a", "-b", "-c"]);
    // As a string: white space.
    assert_eq!(
        one("working-dir = a\\\n  b", &mut s),
        Ok(Setting::WorkingDir(b"a b"))
    );
    // Inside quotes: a newline, and the next line's white space, inside the quotes.
    assert_eq!(
        one("working-dir = \"a\\\n  b\"", &mut s),
        Ok(Setting::WorkingDir(b"a\n  b"))
    );
    // A backslash before a CR escapes the CR: no continuation with CRLF line ends.
    assert_eq!(
        one("working-dir = a\\\r\n", &mut s),
        Ok(Setting::WorkingDir(b"a\r"))
    );
    // An even number of backslashes escapes a backslash: no continuation.
    assert_eq!(
        one("working-dir = a\\\\\n", &mut s),
        Ok(Setting::WorkingDir(b"a\\"))
    );
    // The line of a setting is where it starts, plus the continued lines before its value.
    let e = item("restart = \\\n  \\\n  no", &mut s).unwrap();
    assert_eq!(e.line, 3);
}

#[test]
fn continuation_errors_are_fatal() {
    let fatal = |text: &str| {
        let mut d = Box::new(DefaultDescription::new());
        let mut scratch = [0u8; 512];
        let e = d
            .load(text.as_bytes(), &env(), &mut scratch)
            .expect_err("an error");
        assert!(e.fatal, "{text:?}");
        std::format!("line {}: {e}", e.line)
    };
    assert_eq!(
        fatal("type = internal\ncommand = a \\\nb"),
        "line 3: line following line-continuation backslash (`\\') does not begin with \
         whitespace character"
    );
    assert_eq!(
        fatal("command = a \\\n\nb = c"),
        "line 2: line following line-continuation backslash (`\\') does not begin with \
         whitespace character"
    );
    // A final newline is followed by an empty line, as Dinit reads the file.
    assert_eq!(
        fatal("working-dir = a\\\n"),
        "line 2: line following line-continuation backslash (`\\') does not begin with \
         whitespace character"
    );
    assert_eq!(
        fatal("working-dir = abc\\"),
        "line 1: end-of-file follows backslash escape character (`\\')"
    );
}

#[test]
fn escaped_newline_ends_a_comment_and_continues_the_value() {
    let mut s = [0u8; 256];
    let Setting::Command { tokens, .. } = one(
        "command = /bin/a # first \\\n  -b # second \\\n  -c\n",
        &mut s,
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(strings(tokens), ["/bin/a", "-b", "-c"]);
    // A whole-line comment is continued too.
    let d = load("type = process\n# note \\\n  type = internal\n");
    assert_eq!(d.kind(), ServiceKind::Process);
}

#[test]
fn lexical_errors() {
    assert_eq!(
        err("working-dir = \"abc\ntype = internal"),
        "line 1: unterminated quoted string"
    );
    assert_eq!(
        err("type = internal\nworking-dir = \"abc"),
        "line 2: unterminated quoted string"
    );
    assert_eq!(err("working-dir = a\0b"), "line 1: unexpected NUL byte");
    assert_eq!(err("working-dir = a\\\0"), "line 1: unexpected NUL byte");
    assert_eq!(err("type\0 = x"), "line 1: badly formed line.");
}

#[test]
fn name_and_operator_errors() {
    for text in [
        "\n= value",
        "command /bin/true",
        "command",
        "type + = internal",
        "1type = internal",
        "-type = internal",
    ] {
        let line = if text.starts_with('\n') { 2 } else { 1 };
        assert_eq!(
            err(text),
            std::format!("line {line}: badly formed line."),
            "{text:?}"
        );
    }
    assert_eq!(err("tipe = process"), "line 1: unknown setting: 'tipe'.");
    assert_eq!(
        err("a-very-long-setting-name-that-goes-on-and-on-forever = 1"),
        "line 1: unknown setting: 'a-very-long-setting-name-that-goes-on-and-on-forever'."
    );
    assert_eq!(
        err("type += process"),
        "line 1: cannot use '+=' with setting 'type'"
    );
    assert_eq!(
        err("type ="),
        "line 1: service type must be one of: \"scripted\", \"process\", \"bgprocess\", \
         \"internal\" or \"triggered\""
    );
    // An empty value of a string setting is no error: the setting is unset.
    let d = load("command = a\ncommand = \nworking-dir = /w\nworking-dir = \"\"\n");
    assert!(d.command().is_none());
    assert!(d.working_dir().is_none());
}

#[test]
fn value_too_long_for_scratch() {
    let mut s = [0u8; 40];
    let mut p = Parser::new(
        b"working-dir = abcdefghijklmnopqrstuvwxyz0123456789 \\\n  k\ntype = internal\n",
    );
    let e = p.next_item(&env(), &mut s).unwrap_err();
    assert_eq!(
        e.to_string(),
        "value too long: more than the parser's buffer of 40 bytes"
    );
    assert!(!e.fatal);
    // The whole logical line was consumed: parsing resumes at line 3.
    let next = p.next_item(&env(), &mut s).unwrap().unwrap();
    assert_eq!(next.line, 3);
}

#[test]
fn parser_resumes_after_errors_that_are_not_fatal() {
    let input = b"tipe = x\nworking-dir = a\0b\ntype = internal\nrestart = maybe\n\
                  restart = no\nbad line\ntype = process\n";
    let mut p = Parser::new(input);
    let mut s = [0u8; 256];
    let mut lines = Vec::new();
    loop {
        match p.next_item(&env(), &mut s) {
            Ok(None) => break,
            Ok(Some(e)) => lines.push((e.line, "ok")),
            Err(e) if e.fatal => {
                lines.push((e.line, "fatal"));
                break;
            }
            Err(e) => lines.push((e.line, "error")),
        }
    }
    assert_eq!(
        lines,
        [
            (1, "error"), // unknown setting
            (2, "error"), // NUL byte
            (3, "ok"),
            (4, "error"),
            (5, "ok"),
            (6, "fatal"), // badly formed line
        ]
    );
}

// ----- settings -----

#[test]
fn type_setting() {
    let mut s = [0u8; 256];
    for (v, k) in [
        ("process", ServiceKind::Process),
        ("bgprocess", ServiceKind::Bgprocess),
        ("scripted", ServiceKind::Scripted),
        ("internal", ServiceKind::Internal),
        ("triggered", ServiceKind::Triggered),
    ] {
        assert_eq!(
            one(&std::format!("type = {v}"), &mut s),
            Ok(Setting::Type(k))
        );
    }
    for v in ["daemon", "Process"] {
        assert_eq!(
            err(&std::format!("type = {v}")),
            "line 1: service type must be one of: \"scripted\", \"process\", \"bgprocess\", \
             \"internal\" or \"triggered\""
        );
    }
}

#[test]
fn command_and_stop_command_append() {
    let d = load(
        "command = /bin/sh -c\ncommand += \"echo hi\"\nstop-command = /bin/kill\n\
         stop-command += -TERM 1\n",
    );
    assert_eq!(strings(d.command().unwrap()), ["/bin/sh", "-c", "echo hi"]);
    assert_eq!(
        strings(d.stop_command().unwrap()),
        ["/bin/kill", "-TERM", "1"]
    );
    assert!(d.config().has_stop_command);
    // `=` replaces.
    let d = load("command = a b\ncommand = c\n");
    assert_eq!(strings(d.command().unwrap()), ["c"]);
    // `+=` without an earlier value sets it.
    let d = load("command += -v\nstop-command += x\n");
    assert_eq!(strings(d.command().unwrap()), ["-v"]);
    assert_eq!(strings(d.stop_command().unwrap()), ["x"]);
    // An empty command (one empty word included) is no command.
    let d = load("command = \"\"\nstop-command = a\nstop-command =\n");
    assert!(d.command().is_none() && d.stop_command().is_none());
    assert!(!d.config().has_stop_command);
}

#[test]
fn append_copies_a_command_that_is_not_last_in_storage() {
    let d = load("command = a\nworking-dir = /w\ncommand += b\nlogfile = /l\ncommand += c\n");
    assert_eq!(strings(d.command().unwrap()), ["a", "b", "c"]);
    assert_eq!(d.working_dir(), Some(&b"/w"[..]));
    assert_eq!(d.logfile(), Some(&b"/l"[..]));
}

#[test]
fn string_settings() {
    let d = load(
        "working-dir = /var/lib/x\nenv-file = /etc/x.env\npid-file = /run/x.pid\n\
         socket-listen = /run/x.sock\nlogfile = /var/log/x\nrun-in-cgroup = /system/x\n\
         chain-to = next\nconsumer-of = producer\ninittab-id = x1\ninittab-line = tty1\n",
    );
    assert_eq!(d.working_dir(), Some(&b"/var/lib/x"[..]));
    assert_eq!(d.env_file(), Some(&b"/etc/x.env"[..]));
    assert_eq!(d.pid_file(), Some(&b"/run/x.pid"[..]));
    assert_eq!(d.socket_listen(), Some(&b"/run/x.sock"[..]));
    assert_eq!(d.logfile(), Some(&b"/var/log/x"[..]));
    assert_eq!(d.run_in_cgroup(), Some(&b"/system/x"[..]));
    assert_eq!(d.chain_to(), Some(&b"next"[..]));
    assert_eq!(d.consumer_of(), Some(&b"producer"[..]));
    assert_eq!(d.inittab_id(), Some(&b"x1"[..]));
    assert_eq!(d.inittab_line(), Some(&b"tty1"[..]));
}

#[test]
fn inittab_limits() {
    assert_eq!(
        err("inittab-id = abcde"),
        "line 1: inittab-id setting is too long"
    );
    let long = "x".repeat(33);
    assert_eq!(
        err(&std::format!("inittab-line = {long}")),
        "line 1: inittab-line setting is too long"
    );
    let d = load("inittab-id = \"a\\\tb\"\ninittab-line = 12345678901234567890123456789012\n");
    assert_eq!(d.inittab_id(), Some(&b"a\tb"[..]));
}

#[test]
fn ids() {
    let mut s = [0u8; 256];
    assert_eq!(
        one("run-as = 1000", &mut s),
        Ok(Setting::RunAs(IdSpec::Numeric(1000)))
    );
    assert_eq!(
        one("run-as = daemon", &mut s),
        Ok(Setting::RunAs(IdSpec::Name(b"daemon")))
    );
    assert_eq!(
        one("socket-uid = 0", &mut s),
        Ok(Setting::SocketUid(IdSpec::Numeric(0)))
    );
    assert_eq!(
        one("socket-gid = www", &mut s),
        Ok(Setting::SocketGid(IdSpec::Name(b"www")))
    );
    assert_eq!(
        one("logfile-uid = 7", &mut s),
        Ok(Setting::LogfileUid(IdSpec::Numeric(7)))
    );
    assert_eq!(
        one("logfile-gid = adm", &mut s),
        Ok(Setting::LogfileGid(IdSpec::Name(b"adm")))
    );
    assert_eq!(
        err("run-as = 4294967296"),
        "line 1: run-as: specified user id contains invalid numeric characters or is outside \
         allowed range."
    );
    assert_eq!(
        err("run-as = 5x"),
        "line 1: run-as: specified user id contains invalid numeric characters or is outside \
         allowed range."
    );
    assert_eq!(
        err("run-as = 99999999999999999999999"),
        "line 1: specified user id contains invalid numeric characters or is outside allowed \
         range."
    );
    assert_eq!(
        err("socket-gid = 99999999999999999999999"),
        "line 1: socket-gid: specified group id contains invalid numeric characters or is \
         outside allowed range."
    );
    // Anything that does not start like a number is a name, for the runtime to look up.
    assert_eq!(
        one("run-as = a b", &mut s),
        Ok(Setting::RunAs(IdSpec::Name(b"a b")))
    );
    assert_eq!(
        one("socket-gid = 0x10", &mut s),
        Ok(Setting::SocketGid(IdSpec::Numeric(16)))
    );
    let d = load("run-as = root\nrun-as = 5\nlogfile-uid = 3\nlogfile-uid = log\n");
    assert_eq!(d.run_as(), Some(IdSpec::Numeric(5)));
    assert_eq!(d.logfile_uid(), Some(IdSpec::Name(b"log")));
    assert_eq!(d.socket_uid(), None);
    let d = load("socket-uid = u\nsocket-gid = 9\nlogfile-gid = g\n");
    assert_eq!(d.socket_uid(), Some(IdSpec::Name(b"u")));
    assert_eq!(d.socket_gid(), Some(IdSpec::Numeric(9)));
    assert_eq!(d.logfile_gid(), Some(IdSpec::Name(b"g")));
}

#[test]
fn restart_and_smooth_recovery() {
    let mut s = [0u8; 256];
    for (v, r) in [
        ("yes", AutoRestart::Yes),
        ("true", AutoRestart::Yes),
        ("on-failure", AutoRestart::OnFailure),
        ("no", AutoRestart::No),
        ("false", AutoRestart::No),
    ] {
        assert_eq!(
            one(&std::format!("restart = {v}"), &mut s),
            Ok(Setting::Restart(r))
        );
    }
    assert_eq!(
        err("restart = always"),
        "line 1: restart must be one of: \"yes\", \"true\", \"no\", \"false\" or \
         \"on-failure\""
    );
    for (v, b) in [
        ("yes", true),
        ("true", true),
        ("no", false),
        ("false", false),
    ] {
        assert_eq!(
            one(&std::format!("smooth-recovery = {v}"), &mut s),
            Ok(Setting::SmoothRecovery(b))
        );
    }
    assert_eq!(
        err("smooth-recovery = on-failure"),
        "line 1: smooth-recovery must be one of: \"yes\", \"true\", \"no\" or \"false\""
    );
    let d = load("restart = on-failure\nsmooth-recovery = yes\n");
    assert_eq!(d.config().restart, AutoRestart::OnFailure);
    assert!(d.config().smooth_recovery);
}

#[test]
fn durations_and_counts() {
    let d = load(
        "restart-delay = 0.5\nrestart-limit-interval = 30\nrestart-limit-count = 0\n\
         start-timeout = 0\nstop-timeout = 2.25\n",
    );
    let c = d.config();
    assert_eq!(c.restart_delay, Duration::from_millis(500));
    assert_eq!(c.restart_limit_interval, Duration::from_secs(30));
    assert_eq!(c.restart_limit_count, 0);
    assert_eq!(c.start_timeout, Duration::ZERO);
    assert_eq!(c.stop_timeout, Duration::from_millis(2250));
    for key in [
        "restart-delay",
        "restart-limit-interval",
        "start-timeout",
        "stop-timeout",
    ] {
        for v in ["1s", "-1", "1.2.3"] {
            assert_eq!(
                err(&std::format!("{key} = {v}")),
                std::format!("line 1: bad value for {key}")
            );
        }
        assert_eq!(
            err(&std::format!("{key} = 99999999999999999999")),
            std::format!("line 1: too-large value for {key}")
        );
    }
    let d = load("restart-delay = 0,25\nstart-timeout =\n");
    assert_eq!(d.config().restart_delay, Duration::from_millis(250));
    assert_eq!(d.config().start_timeout, Duration::ZERO);
    // Up to 2^31-1 restarts, kept as a u16 (saturating).
    let d = load("restart-limit-count = 65536\n");
    assert_eq!(d.config().restart_limit_count, u16::MAX);
    for v in ["three", "-1", "2147483648"] {
        assert_eq!(
            err(&std::format!("restart-limit-count = {v}")),
            "line 1: specified value contains invalid numeric characters or is outside allowed \
             range."
        );
    }
}

#[test]
fn defaults() {
    let d = load("");
    let c = d.config();
    assert_eq!(d.kind(), ServiceKind::Internal);
    assert!(!d.type_specified());
    assert_eq!(c.restart, AutoRestart::Yes);
    assert_eq!(c.restart_delay, Duration::from_millis(200));
    assert_eq!(c.restart_limit_interval, Duration::from_secs(10));
    assert_eq!(c.restart_limit_count, 3);
    assert_eq!(c.start_timeout, Duration::from_secs(60));
    assert_eq!(c.stop_timeout, Duration::from_secs(10));
    assert_eq!(c.term_signal, signal::TERM);
    assert!(!c.has_stop_command && !c.ready_notification && !c.smooth_recovery);
    assert_eq!(c.options, Options::empty());
    assert_eq!(d.socket_permissions(), 0o666);
    assert_eq!(d.logfile_permissions(), 0o600);
    assert_eq!(d.log_type(), LogType::None);
    assert_eq!(d.command(), None);
    assert_eq!(d.dependencies().count(), 0);
    assert_eq!(d.rlimits().count(), 0);
    assert_eq!(d.log_buffer_size(), None);
    assert_eq!(d.load_options(), LoadOptions::empty());
    assert!(d.nice().is_none() && d.ioprio().is_none() && d.oom_score_adj().is_none());
    assert!(d.securebits().is_none() && d.capabilities().is_none());
}

#[test]
fn dependencies_in_order_deduplicated() {
    let d = load(
        "depends-on = a\nprepared-by: b\ndepends-ms: c\nwaits-for: d\nafter: e\nbefore: f\n\
         depends-on: a\nwaits-for: a\ndepends-on.d = deps.d\ndepends-ms.d = /ms.d\n\
         waits-for.d: w.d\n",
    );
    let deps: Vec<_> = d.dependencies().map(|x| (x.kind, text(x.name))).collect();
    assert_eq!(
        deps,
        [
            (DepKind::Regular, "a"),
            (DepKind::PreparedBy, "b"),
            (DepKind::Milestone, "c"),
            (DepKind::WaitsFor, "d"),
            (DepKind::After, "e"),
            (DepKind::Before, "f"),
            (DepKind::WaitsFor, "a"),
        ]
    );
    let dirs: Vec<_> = d
        .dependency_dirs()
        .map(|x| (x.kind, text(x.path)))
        .collect();
    assert_eq!(
        dirs,
        [
            (DepKind::Regular, "deps.d"),
            (DepKind::Milestone, "/ms.d"),
            (DepKind::WaitsFor, "w.d"),
        ]
    );
    assert_eq!(d.dependencies().next().unwrap().origin.line, 1);
}

#[test]
fn settings_naming_services_are_checked() {
    // Only an empty name and one beginning with '.' or '@' are refused, with a message that
    // depends on the setting.
    assert_eq!(
        err("depends-on = .hidden"),
        "line 1: invalid dependency name '.hidden'"
    );
    assert_eq!(
        err("prepared-by = @x"),
        "line 1: invalid dependency name '@x'"
    );
    assert_eq!(
        err("waits-for = \"\""),
        "line 1: invalid dependency name ''"
    );
    assert_eq!(err("before = .x"), "line 1: invalid service name '.x'");
    assert_eq!(err("after = @x"), "line 1: invalid service name '@x'");
    assert_eq!(err("consumer-of = .p"), "line 1: invalid service name '.p'");
    assert_eq!(
        err("chain-to = @x"),
        "line 1: invalid chain-to service name '@x'"
    );
    let d = load("waits-for = a b\ndepends-ms = a:b\nbefore = x/y\nchain-to = not/a/service\n");
    let deps: Vec<_> = d.dependencies().map(|x| text(x.name).to_string()).collect();
    assert_eq!(deps, ["a b", "a:b", "x/y"]);
    assert_eq!(d.chain_to(), Some(&b"not/a/service"[..]));
}

#[test]
fn pre_load_substitution() {
    let d = load(
        "depends-on = svc@$1\nwaits-for = ${DIR:+dir}-x\nafter = a${UNSET:-b}\n\
         before = b$1\nchain-to = $1-next\nconsumer-of = p-$1\nenv-file = $DIR/env\n\
         depends-on.d = $DIR/d\nwaits-for = w-$/WORDS\n",
    );
    let deps: Vec<_> = d.dependencies().map(|x| text(x.name).to_string()).collect();
    assert_eq!(deps, ["svc@arg", "dir-x", "ab", "barg", "w-x y"]);
    assert_eq!(d.chain_to(), Some(&b"arg-next"[..]));
    assert_eq!(d.consumer_of(), Some(&b"p-arg"[..]));
    assert_eq!(d.env_file(), Some(&b"/srv/env"[..]));
    assert_eq!(d.dependency_dirs().next().unwrap().path, b"/srv/d");
    // Substitution errors name the setting (Dinit reports them without a line).
    let mut s = [0u8; 256];
    let e = one("depends-on = a$", &mut s).unwrap_err();
    assert!(!e.kind.has_position());
    assert_eq!(e.kind.setting(), Some("depends-on"));
    assert_eq!(e.to_string(), "invalid/missing variable name after '$'");
    // An empty result is no error of substitution: it is then as the setting takes it.
    assert!(load("env-file = $EMPTY\n").env_file().is_none());
    assert_eq!(
        err("depends-on = $UNSET"),
        "line 1: invalid dependency name ''"
    );
}

#[test]
fn post_load_settings_are_kept_as_written() {
    let d = load("command = /bin/$1 $/WORDS\nworking-dir = $DIR\nlogfile = $$x\n");
    assert_eq!(strings(d.command().unwrap()), ["/bin/$1", "$/WORDS"]);
    assert_eq!(d.working_dir(), Some(&b"$DIR"[..]));
    assert_eq!(d.logfile(), Some(&b"$$x"[..]));
}

#[test]
fn post_load_expansion() {
    let mut d = Box::new(DefaultDescription::new());
    let mut scratch = [0u8; 256];
    d.set_fragment(3);
    d.load(
        b"command = /bin/$1 $/WORDS \"${UNSET}\" $/EMPTY\nstop-command = /bin/stop ${1:+-a}\n\
          working-dir = $DIR/w\npid-file = /run/$1.pid\nsocket-listen = $DIR/s\n\
          logfile = /log/$$\n",
        &env(),
        &mut scratch,
    )
    .unwrap();
    let mut out = [0u8; 256];
    let cmd = d
        .expand_command(CommandSetting::Start, &env(), &mut out)
        .unwrap()
        .unwrap();
    assert_eq!(strings(cmd), ["/bin/arg", "x", "y", ""]);
    let stop = d
        .expand_command(CommandSetting::Stop, &env(), &mut out)
        .unwrap()
        .unwrap();
    assert_eq!(strings(stop), ["/bin/stop", "-a"]);
    for (which, want) in [
        (PathSetting::WorkingDir, "/srv/w"),
        (PathSetting::PidFile, "/run/arg.pid"),
        (PathSetting::SocketListen, "/srv/s"),
        (PathSetting::Logfile, "/log/$"),
    ] {
        let got = d.expand_path(which, &env(), &mut out).unwrap().unwrap();
        assert_eq!(text(got), want);
    }
    assert_eq!(
        d.command_origin(CommandSetting::Start),
        Some(Origin {
            fragment: 3,
            line: 1
        })
    );
    assert_eq!(d.path_origin(PathSetting::Logfile).unwrap().line, 6);
    // Nothing set: Ok(None).
    let empty = Box::new(DefaultDescription::new());
    assert_eq!(
        empty.expand_path(PathSetting::PidFile, &env(), &mut out),
        Ok(None)
    );
    assert_eq!(
        empty.expand_command(CommandSetting::Stop, &env(), &mut out),
        Ok(None)
    );
}

#[test]
fn post_load_expansion_errors_carry_origin() {
    // The syntax of post-load values is not checked while parsing (as in Dinit, where these
    // errors come when the description has been read).
    let d = load("\ncommand = /bin/x $\nlogfile = /log/$2\n");
    let mut out = [0u8; 256];
    let e = d
        .expand_command(CommandSetting::Start, &env(), &mut out)
        .unwrap_err();
    assert_eq!(e.line, 2);
    assert_eq!(e.kind.setting(), Some("command"));
    assert_eq!(e.to_string(), "invalid/missing variable name after '$'");
    let e = d
        .expand_path(PathSetting::Logfile, &env(), &mut out)
        .unwrap_err();
    assert_eq!(e.to_string(), "only one service argument may be present");
    // Expansion errors carry the setting's line and fragment.
    let mut d = Box::new(DefaultDescription::new());
    let mut scratch = [0u8; 256];
    d.set_fragment(2);
    d.load(
        b"\ncommand = /bin/x $/EMPTY\nworking-dir = $EMPTY\n",
        &env(),
        &mut scratch,
    )
    .unwrap();
    let mut tiny = [0u8; 4];
    let e = d
        .expand_command(CommandSetting::Start, &env(), &mut tiny)
        .unwrap_err();
    assert_eq!((e.line, e.fragment), (2, 2));
    assert_eq!(
        e.to_string(),
        "value too long (after substitution): more than 4 bytes"
    );
    // An empty result is returned as such.
    assert_eq!(
        d.expand_path(PathSetting::WorkingDir, &env(), &mut out),
        Ok(Some(&b""[..]))
    );
    let cmd = d
        .expand_command(CommandSetting::Start, &env(), &mut out)
        .unwrap()
        .unwrap();
    assert_eq!(strings(cmd), ["/bin/x"]);
}

#[test]
fn socket_and_log_permissions() {
    let mut s = [0u8; 256];
    for (v, mode) in [
        ("600", 0o600),
        ("0660", 0o660),
        ("7777", 0o7777),
        ("0", 0),
        (" 644", 0o644),
        // Negative values are accepted (the permission bits are kept).
        ("-1", 0o7777),
    ] {
        assert_eq!(
            one(&std::format!("socket-permissions = \"{v}\""), &mut s),
            Ok(Setting::SocketPermissions(mode)),
            "{v}"
        );
    }
    assert_eq!(
        one("logfile-permissions = 0", &mut s),
        Ok(Setting::LogfilePermissions(0))
    );
    // (Dinit's message is the setting's name.)
    for bad in ["8", "0o600", "79", "rw", "99999999999999", "\"\""] {
        assert_eq!(
            err(&std::format!("socket-permissions = {bad}")),
            "line 1: socket-permissions",
            "{bad}"
        );
    }
    assert_eq!(
        err("logfile-permissions = x"),
        "line 1: logfile-permissions"
    );
    let d = load("socket-permissions = 600\nlogfile-permissions = 640\n");
    assert_eq!(
        (d.socket_permissions(), d.logfile_permissions()),
        (0o600, 0o640)
    );
}

#[test]
fn term_signal() {
    let mut s = [0u8; 256];
    for none in ["none", "NONE"] {
        assert_eq!(
            one(&std::format!("term-signal = {none}"), &mut s),
            Ok(Setting::TermSignal(0))
        );
    }
    for (name, num) in signal::NAMES {
        assert_eq!(
            one(&std::format!("term-signal = {name}"), &mut s),
            Ok(Setting::TermSignal(num))
        );
    }
    assert_eq!(
        one("termsignal = INT", &mut s),
        Ok(Setting::TermSignal(signal::INT))
    );
    for bad in ["SIGTERM", "15", "term", "ALRM"] {
        assert_eq!(
            err(&std::format!("term-signal = {bad}")),
            std::format!("line 1: unknown/unsupported termination signal: {bad}")
        );
    }
    assert_eq!(load("term-signal = none").config().term_signal, 0);
    assert_eq!(load("term-signal = HUP").config().term_signal, signal::HUP);
}

#[test]
fn ready_notification() {
    let mut s = [0u8; 256];
    assert_eq!(
        one("ready-notification = pipefd:3", &mut s),
        Ok(Setting::ReadyNotification(ReadyNotification::PipeFd(3)))
    );
    assert_eq!(
        one("ready-notification = pipefd:0x3", &mut s),
        Ok(Setting::ReadyNotification(ReadyNotification::PipeFd(3)))
    );
    assert_eq!(
        one("ready-notification = pipevar:READY_FD", &mut s),
        Ok(Setting::ReadyNotification(ReadyNotification::PipeVar(
            b"READY_FD"
        )))
    );
    for bad in ["pipefd:", "pipefd:-1", "pipefd:x", "pipefd:2147483648"] {
        assert_eq!(
            err(&std::format!("ready-notification = {bad}")),
            "line 1: specified value contains invalid numeric characters or is outside allowed \
             range.",
            "{bad}"
        );
    }
    assert_eq!(
        err("ready-notification = pipevar:"),
        "line 1: invalid pipevar variable name"
    );
    for bad in ["fd:3", "pipefd"] {
        assert_eq!(
            err(&std::format!("ready-notification = {bad}")),
            std::format!("line 1: unrecognised setting: {bad}")
        );
    }
    let d = load("ready-notification = pipevar:X\n");
    assert!(d.config().ready_notification);
    assert_eq!(
        d.ready_notification(),
        Some(ReadyNotification::PipeVar(b"X"))
    );
    let d = load("ready-notification = pipevar:X\nready-notification = pipefd:4\n");
    assert_eq!(d.ready_notification(), Some(ReadyNotification::PipeFd(4)));
}

#[test]
fn log_type_and_logfile() {
    let mut s = [0u8; 256];
    for (v, t) in [
        ("file", LogType::File),
        ("buffer", LogType::Buffer),
        ("pipe", LogType::Pipe),
        ("none", LogType::None),
    ] {
        assert_eq!(
            one(&std::format!("log-type = {v}"), &mut s),
            Ok(Setting::LogType(t))
        );
        assert_eq!(t.name(), v);
    }
    assert_eq!(
        err("log-type = syslog"),
        "line 1: log type must be one of: \"file\", \"buffer\", \"pipe\", or \"none\""
    );
    // logfile switches none to file...
    assert_eq!(load("logfile = /l").log_type(), LogType::File);
    assert_eq!(
        load("log-type = none\nlogfile = /l").log_type(),
        LogType::File
    );
    // ...but not another type, and a later log-type wins.
    assert_eq!(
        load("log-type = buffer\nlogfile = /l").log_type(),
        LogType::Buffer
    );
    assert_eq!(
        load("logfile = /l\nlog-type = none").log_type(),
        LogType::None
    );
}

#[test]
fn logfile_max_size_and_rotate() {
    // dinit-rs extensions: a size in bytes with an optional K/M/G, and 0 to 99 files.
    let mut s = [0u8; 256];
    for (v, n) in [
        ("4096", 4096),
        ("1024", 1024),
        ("64k", 65_536),
        ("10M", 10 << 20),
        ("2G", 2 << 30),
    ] {
        assert_eq!(
            one(&std::format!("logfile-max-size = {v}"), &mut s),
            Ok(Setting::LogfileMaxSize(n)),
            "{v}"
        );
    }
    for bad in [
        "",
        "1023",
        "0",
        "K",
        "-5",
        "1.5M",
        "10T",
        "0x400",
        "99999999999G",
    ] {
        assert_eq!(
            err(&std::format!("logfile-max-size = {bad}\n")),
            "line 1: logfile-max-size must be a number of bytes, with an optional K, M or G, \
             of at least 1024",
            "{bad:?}"
        );
    }
    assert_eq!(
        one("logfile-rotate = 0", &mut s),
        Ok(Setting::LogfileRotate(0))
    );
    assert_eq!(
        one("logfile-rotate = 99", &mut s),
        Ok(Setting::LogfileRotate(99))
    );
    assert!(one("logfile-rotate = 100", &mut s).is_err());
    let d = load("type = process\ncommand = /bin/true\nlogfile = /tmp/x\n");
    assert_eq!((d.logfile_max_size(), d.logfile_rotate()), (None, None));
}

#[test]
fn log_buffer_keep() {
    // A dinit-rs extension: `oldest` (Dinit's behaviour, the default) or `newest`.
    let mut s = [0u8; 256];
    assert_eq!(
        one("log-buffer-keep = newest", &mut s),
        Ok(Setting::LogBufferKeep(LogBufferKeep::Newest))
    );
    assert_eq!(
        one("log-buffer-keep = oldest", &mut s),
        Ok(Setting::LogBufferKeep(LogBufferKeep::Oldest))
    );
    assert_eq!(
        load("type = internal\n").log_buffer_keep(),
        LogBufferKeep::Oldest
    );
    assert_eq!(
        err("type = internal\nlog-buffer-keep = last\n"),
        "line 2: log-buffer-keep must be one of: \"oldest\" or \"newest\""
    );
}

#[test]
fn log_buffer_size() {
    let mut s = [0u8; 256];
    for (v, n) in [
        ("4096", 4096),
        ("0", 0),
        ("0x10", 16),
        ("2147483647", 2_147_483_647),
    ] {
        assert_eq!(
            one(&std::format!("log-buffer-size = {v}"), &mut s),
            Ok(Setting::LogBufferSize(n))
        );
    }
    for bad in ["4k", "-5", "2147483648"] {
        assert_eq!(
            err(&std::format!("log-buffer-size = {bad}")),
            "line 1: specified value contains invalid numeric characters or is outside allowed \
             range."
        );
    }
    assert_eq!(load("log-buffer-size = 10").log_buffer_size(), Some(10));
}

#[test]
fn options_are_additive_and_console_options_exclusive() {
    let d = load(
        "options: runs-on-console pass-cs-fd\noptions: start-interruptible skippable \
         unmask-intr starts-rwfs starts-log signal-process-only always-chain kill-all-on-stop \
         no-new-privs\n",
    );
    let o = d.config().options;
    for (_, flag) in setting::OPTION_NAMES {
        if flag != Options::SHARES_CONSOLE && flag != Options::STARTS_ON_CONSOLE {
            assert!(o.contains(flag), "{flag:?}");
        }
    }
    let o = load("options = runs-on-console starts-on-console\noptions = shares-console")
        .config()
        .options;
    assert!(o.contains(Options::SHARES_CONSOLE));
    assert!(!o.contains(Options::RUNS_ON_CONSOLE) && !o.contains(Options::STARTS_ON_CONSOLE));
    let o = load("options = shares-console starts-on-console")
        .config()
        .options;
    assert!(o.contains(Options::STARTS_ON_CONSOLE) && !o.contains(Options::SHARES_CONSOLE));
    assert_eq!(load("options =").config().options, Options::empty());
    assert_eq!(
        err("options: runs-on-console bogus"),
        "line 1: unknown option: bogus"
    );
}

#[test]
fn load_options() {
    let mut s = [0u8; 256];
    assert_eq!(
        one(
            "load-options = export-passwd-vars export-service-name",
            &mut s
        ),
        Ok(Setting::LoadOptions(
            LoadOptions::EXPORT_PASSWD_VARS.with(LoadOptions::EXPORT_SERVICE_NAME)
        ))
    );
    let d = load("load-options = export-passwd-vars\nload-options = export-service-name\n");
    assert!(d.load_options().contains(LoadOptions::EXPORT_PASSWD_VARS));
    assert!(d.load_options().contains(LoadOptions::EXPORT_SERVICE_NAME));
    // sub-vars is accepted (and means nothing: substitution is always on).
    assert_eq!(
        load("load-options = sub-vars").load_options(),
        LoadOptions::empty()
    );
    assert_eq!(
        err("load-options = no-sub-vars"),
        "line 1: unknown load option: no-sub-vars"
    );
}

#[test]
fn rlimits() {
    let mut s = [0u8; 256];
    let lim = |soft, hard| Rlimit { soft, hard };
    for (v, want) in [
        ("1024", lim(Limit::Value(1024), Limit::Value(1024))),
        ("-", lim(Limit::Unlimited, Limit::Unlimited)),
        ("10:20", lim(Limit::Value(10), Limit::Value(20))),
        ("10:", lim(Limit::Value(10), Limit::Unchanged)),
        (":20", lim(Limit::Unchanged, Limit::Value(20))),
        ("-:-", lim(Limit::Unlimited, Limit::Unlimited)),
        (":-", lim(Limit::Unchanged, Limit::Unlimited)),
        (":", lim(Limit::Unchanged, Limit::Unchanged)),
        ("0x10:020", lim(Limit::Value(16), Limit::Value(16))),
        // (Dinit ignores what follows the hard limit.)
        ("1:2:3", lim(Limit::Value(1), Limit::Value(2))),
    ] {
        assert_eq!(
            one(&std::format!("rlimit-nofile = {v}"), &mut s),
            Ok(Setting::Rlimit {
                resource: Resource::Nofile,
                limit: want
            }),
            "{v}"
        );
    }
    for bad in ["x", "--", "1k", "-1", "1:-x", "\"\""] {
        assert_eq!(
            err(&std::format!("rlimit-core = {bad}")),
            "line 1: rlimit-core: bad value.",
            "{bad}"
        );
    }
    assert_eq!(
        err("rlimit-core = 18446744073709551616"),
        "line 1: rlimit-core: too-large value."
    );
    let d = load("rlimit-nofile = 10:20\nrlimit-core = 0\nrlimit-data = -\nrlimit-addrspace = :5\nrlimit-nofile = 30\n");
    assert_eq!(
        d.rlimit(Resource::Nofile),
        Some(lim(Limit::Value(30), Limit::Value(30)))
    );
    assert_eq!(
        d.rlimit(Resource::Core),
        Some(lim(Limit::Value(0), Limit::Value(0)))
    );
    assert_eq!(
        d.rlimit(Resource::Data),
        Some(lim(Limit::Unlimited, Limit::Unlimited))
    );
    assert_eq!(
        d.rlimit(Resource::Addrspace),
        Some(lim(Limit::Unchanged, Limit::Value(5)))
    );
    assert_eq!(d.rlimits().count(), 4);
}

#[test]
fn nice() {
    let mut s = [0u8; 256];
    assert_eq!(one("nice = -5", &mut s), Ok(Setting::Nice(-5)));
    assert_eq!(one("nice = 19", &mut s), Ok(Setting::Nice(19)));
    assert_eq!(one("nice = +3", &mut s), Ok(Setting::Nice(3)));
    assert_eq!(one("nice = 0x10", &mut s), Ok(Setting::Nice(16)));
    // Dinit's range: a quarter of int's.
    assert_eq!(
        one("nice = 1073741823", &mut s),
        Ok(Setting::Nice(1_073_741_823))
    );
    assert_eq!(
        one("nice = -1073741824", &mut s),
        Ok(Setting::Nice(-1_073_741_824))
    );
    for bad in [
        "1073741824",
        "-1073741825",
        "99999999999999999999",
        "high",
        "5x",
        "\"\"",
    ] {
        let e = {
            let mut p = Parser::new(std::format!("nice = {bad}").into_bytes().leak());
            p.next_item(&env(), &mut s).unwrap_err()
        };
        assert_eq!(e.setting, Some(SettingKey::Nice), "{bad}");
        assert_eq!(
            err(&std::format!("nice = {bad}")),
            "line 1: specified value contains invalid numeric characters or is outside allowed \
             range."
        );
    }
    assert_eq!(load("nice = 4").nice(), Some(4));
}

#[test]
fn capabilities() {
    let mut s = [0u8; 256];
    assert_eq!(
        one(
            "capabilities = ^cap_net_bind_service,!cap_sys_admin,%CAP_CHOWN",
            &mut s
        ),
        Ok(Setting::Capabilities {
            op: Op::Set,
            iab: b"^cap_net_bind_service,!cap_sys_admin,%CAP_CHOWN"
        })
    );
    let d = load("capabilities = ^cap_a\ncapabilities += !cap_b\ncapabilities += cap_c\n");
    assert_eq!(d.capabilities(), Some(&b"^cap_a,!cap_b,cap_c"[..]));
    // `+=` without an earlier value just sets it.
    assert_eq!(
        load("capabilities += ^cap_a").capabilities(),
        Some(&b"^cap_a"[..])
    );
    assert_eq!(
        load("capabilities = a\ncapabilities = b").capabilities(),
        Some(&b"b"[..])
    );
    for bad in ["^cap_a, cap_b", "cap_a,,cap_b", "^", "cap-a", ","] {
        let joined = bad.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            err(&std::format!("capabilities = {bad}")),
            std::format!("line 1: invalid capabilities: {joined}"),
            "{bad}"
        );
    }
}

#[test]
fn securebits() {
    let mut s = [0u8; 256];
    assert_eq!(
        one("securebits = keep-caps noroot-locked", &mut s),
        Ok(Setting::Securebits {
            op: Op::Set,
            bits: Securebits::KEEP_CAPS.with(Securebits::NOROOT_LOCKED)
        })
    );
    let d = load("securebits = keep-caps\nsecurebits += no-setuid-fixup\nsecurebits += noroot\n");
    assert_eq!(
        d.securebits(),
        Some(
            Securebits::KEEP_CAPS
                .with(Securebits::NO_SETUID_FIXUP)
                .with(Securebits::NOROOT)
        )
    );
    assert_eq!(
        load("securebits = keep-caps\nsecurebits = noroot").securebits(),
        Some(Securebits::NOROOT)
    );
    assert_eq!(
        load("securebits += keep-caps-locked").securebits(),
        Some(Securebits::KEEP_CAPS_LOCKED)
    );
    assert_eq!(load("securebits =").securebits(), Some(Securebits::empty()));
    for (name, flag) in Securebits::NAMES {
        assert_eq!(
            load(&std::format!("securebits = {name}")).securebits(),
            Some(flag)
        );
    }
    assert_eq!(Securebits::NOROOT.bits(), 1);
    assert_eq!(Securebits::KEEP_CAPS_LOCKED.bits(), 0x20);
    assert_eq!(
        err("securebits = keep-caps no-root"),
        "line 1: unknown securebits flag: no-root"
    );
}

#[test]
fn ioprio() {
    let mut s = [0u8; 256];
    for (v, want) in [
        ("none", Ioprio::None),
        ("idle", Ioprio::Idle),
        ("realtime:0", Ioprio::Realtime(0)),
        ("best-effort:7", Ioprio::BestEffort(7)),
        ("best-effort:0x7", Ioprio::BestEffort(7)),
    ] {
        assert_eq!(
            one(&std::format!("ioprio = {v}"), &mut s),
            Ok(Setting::Ioprio(want))
        );
    }
    for bad in ["realtime:8", "realtime:", "best-effort:x", "best-effort:-1"] {
        assert_eq!(
            err(&std::format!("ioprio = {bad}")),
            "line 1: specified value contains invalid numeric characters or is outside allowed \
             range.",
            "{bad}"
        );
    }
    for bad in ["realtime", "rt:1", "idle:1", "Idle"] {
        assert_eq!(
            err(&std::format!("ioprio = {bad}")),
            std::format!("line 1: invalid value for ioprio: {bad}")
        );
    }
    assert_eq!(load("ioprio = idle").ioprio(), Some(Ioprio::Idle));
}

#[test]
fn oom_score_adj() {
    let mut s = [0u8; 256];
    assert_eq!(
        one("oom-score-adj = -1000", &mut s),
        Ok(Setting::OomScoreAdj(-1000))
    );
    assert_eq!(
        one("oom-score-adj = 1000", &mut s),
        Ok(Setting::OomScoreAdj(1000))
    );
    assert_eq!(
        one("oom-score-adj = 0", &mut s),
        Ok(Setting::OomScoreAdj(0))
    );
    for bad in ["1001", "-1001", "99999999999999999999999", "low"] {
        assert_eq!(
            err(&std::format!("oom-score-adj = {bad}")),
            "line 1: specified value contains invalid numeric characters or is outside allowed \
             range."
        );
    }
    assert_eq!(load("oom-score-adj = 5").oom_score_adj(), Some(5));
}

#[test]
fn every_setting_has_a_test_value() {
    // One valid line per setting; all of them load together.
    let mut text = String::new();
    for &k in SettingKey::ALL {
        let v = match k {
            SettingKey::Type => "scripted",
            SettingKey::Command | SettingKey::StopCommand => "/bin/true",
            SettingKey::Restart | SettingKey::SmoothRecovery => "no",
            SettingKey::RestartDelay
            | SettingKey::RestartLimitInterval
            | SettingKey::StartTimeout
            | SettingKey::StopTimeout
            | SettingKey::RestartLimitCount => "1",
            SettingKey::SocketPermissions | SettingKey::LogfilePermissions => "600",
            SettingKey::TermSignal => "KILL",
            SettingKey::ReadyNotification => "pipefd:3",
            SettingKey::LogType => "buffer",
            SettingKey::LogBufferSize => "100",
            SettingKey::LogBufferKeep => "newest",
            SettingKey::LogfileMaxSize => "1M",
            SettingKey::LogfileRotate => "3",
            SettingKey::Options => "skippable",
            SettingKey::LoadOptions => "export-service-name",
            SettingKey::RlimitNofile
            | SettingKey::RlimitCore
            | SettingKey::RlimitData
            | SettingKey::RlimitAddrspace => "1:2",
            SettingKey::Nice | SettingKey::OomScoreAdj => "-1",
            SettingKey::Capabilities => "cap_chown",
            SettingKey::Securebits => "noroot",
            SettingKey::Ioprio => "idle",
            _ => "nm1",
        };
        text.push_str(&std::format!("{} = {}\n", k.name(), v));
    }
    let d = load(&text);
    assert_eq!(d.kind(), ServiceKind::Scripted);
    assert_eq!(d.dependencies().count(), 6);
    assert_eq!(d.dependency_dirs().count(), 3);
    assert_eq!(d.log_type(), LogType::Buffer);
    assert_eq!(d.log_buffer_keep(), LogBufferKeep::Newest);
    assert_eq!(d.logfile_max_size(), Some(1 << 20));
    assert_eq!(d.logfile_rotate(), Some(3));
    assert_eq!(d.inittab_id(), Some(&b"nm1"[..]));
    assert_eq!(d.config().term_signal, signal::KILL);
}

// ----- meta-commands -----

#[test]
fn include_meta_commands() {
    let mut s = [0u8; 256];
    let e = item("  @include /etc/dinit.d/$1.conf", &mut s).unwrap();
    assert_eq!(
        e.item,
        Item::Include {
            path: b"/etc/dinit.d/arg.conf",
            optional: false
        }
    );
    let e = item("@include-opt \"a b\"  # c", &mut s).unwrap();
    assert_eq!(
        e.item,
        Item::Include {
            path: b"a b",
            optional: true
        }
    );
    // Errors in an @include line are fatal: the file cannot be read further.
    let fatal = |text: &str| {
        let mut s = [0u8; 256];
        let e = item(text, &mut s).unwrap_err();
        assert!(e.fatal, "{text}");
        e.to_string()
    };
    assert_eq!(fatal("@include"), "'@include' requires a single argument");
    assert_eq!(
        fatal("@include a b"),
        "'@include' requires a single argument"
    );
    assert_eq!(
        fatal("@include-opt # x"),
        "hashmark (`#') comment must be separated from setting value by whitespace"
    );
    assert_eq!(fatal("@include \"abc"), "unterminated quoted string");
    assert_eq!(
        fatal("@include-opt ${X"),
        "unmatched '{' in variable substitution"
    );
    let e = item("@include $2", &mut s).unwrap_err();
    assert_eq!(e.kind.setting(), Some("include"));
    // The default sink refuses includes.
    assert_eq!(err("@include x"), "line 1: @include is not supported here");
}

#[test]
fn meta_meta_commands() {
    let mut s = [0u8; 256];
    let e = item("@meta enable-via boot", &mut s).unwrap();
    assert_eq!(e.item, Item::Setting(Setting::EnableVia(b"boot")));
    assert_eq!(
        load("@meta enable-via boot\n").enable_via(),
        Some(&b"boot"[..])
    );
    let e = item("@meta other-tool some data", &mut s).unwrap();
    let Item::UnknownMeta(words) = e.item else {
        panic!()
    };
    assert_eq!(strings(words), ["other-tool", "some", "data"]);
    // Ignored by the description, malformed ones included (dinit does not read @meta).
    assert_eq!(
        load(
            "@meta x y\n@meta\n@meta enable-via\n@meta enable-via a b\n@meta enable-via .a\n\
              @meta \"unterminated\ntype = process\n"
        )
        .kind(),
        ServiceKind::Process
    );
    let e = Box::new(DefaultDescription::new());
    assert!(e.enable_via().is_none());
    assert_eq!(
        err("type = internal\n@inclde x"),
        "line 2: bad meta command"
    );
}

/// A sink that resolves includes from a table, as a hosted loader would from files.
struct Including<'a> {
    desc: Box<DefaultDescription>,
    files: &'a [(&'a str, &'a str)],
    depth: u32,
}

impl DescriptionSink for Including<'_> {
    fn setting(&mut self, line: u32, setting: Setting<'_>) -> Result<(), DescError> {
        self.desc.apply(line, setting)
    }
    fn include(&mut self, line: u32, path: &[u8], optional: bool) -> Result<(), DescError> {
        let Some(&(_, body)) = self.files.iter().find(|(p, _)| p.as_bytes() == path) else {
            return if optional {
                Ok(())
            } else {
                Err(DescError::new(line, DescErrorKind::Custom("no such file")))
            };
        };
        if self.depth > 4 {
            return Err(DescError::new(
                line,
                DescErrorKind::Custom("includes nested too deeply"),
            ));
        }
        self.depth += 1;
        let outer = self.desc.fragment();
        self.desc.set_fragment(outer + 1);
        let mut scratch = [0u8; 256];
        let r = parse(body.as_bytes(), &env(), &mut scratch, self);
        self.desc.set_fragment(outer);
        self.depth -= 1;
        r
    }
}

#[test]
fn includes_are_resolved_by_the_sink_in_order() {
    let files = [
        (
            "base",
            "type = process\ncommand = /bin/base\ndepends-on.d = base.d\n",
        ),
        ("extra", "command += --extra\n"),
    ];
    let mut sink = Including {
        desc: Box::new(DefaultDescription::new()),
        files: &files,
        depth: 0,
    };
    let mut scratch = [0u8; 256];
    parse(
        b"@include base\n@include-opt missing\n@include extra\nrestart = no\n",
        &env(),
        &mut scratch,
        &mut sink,
    )
    .unwrap();
    let d = &sink.desc;
    assert_eq!(strings(d.command().unwrap()), ["/bin/base", "--extra"]);
    assert_eq!(d.config().restart, AutoRestart::No);
    let dir = d.dependency_dirs().next().unwrap();
    assert_eq!((dir.origin.fragment, dir.origin.line), (1, 3));
    let e = parse(b"\n@include nothing", &env(), &mut scratch, &mut sink).unwrap_err();
    assert_eq!((e.line, e.to_string().as_str()), (2, "no such file"));
}

// ----- bounds -----

#[test]
fn dependency_bound_is_an_error() {
    let mut d: Box<Description<256, 2>> = Box::default();
    let mut s = [0u8; 256];
    let e = d
        .load(
            b"depends-on = a\nwaits-for = b\nafter = c\n",
            &env(),
            &mut s,
        )
        .unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(
        e.to_string(),
        "too many dependencies: a description holds at most 2; build with a larger bound"
    );
    // Duplicates take no room.
    let mut d: Box<Description<256, 2>> = Box::default();
    d.load(
        b"depends-on = a\ndepends-on = a\nafter = c\n",
        &env(),
        &mut s,
    )
    .unwrap();
}

#[test]
fn storage_bound_is_an_error_and_garbage_is_reclaimed() {
    let mut s = [0u8; 256];
    let mut d: Box<Description<16, 4>> = Box::default();
    // Overriding many times fits: old values are compacted away.
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&std::format!(
            "working-dir = /dir{i:02}\nlogfile = /l{i:02}\n"
        ));
    }
    d.load(text.as_bytes(), &env(), &mut s).unwrap();
    assert_eq!(d.working_dir(), Some(&b"/dir49"[..]));
    assert_eq!(d.logfile(), Some(&b"/l49"[..]));
    assert!(d.bytes_used() <= 16);
    // Live data beyond the bound does not.
    let e = d
        .load(b"pid-file = /0123456789\n", &env(), &mut s)
        .unwrap_err();
    assert_eq!(e.line, 1);
    assert_eq!(
        e.to_string(),
        "description too large: its values exceed the 16 bytes of storage; build with a larger \
         bound"
    );
}

#[test]
fn append_after_compaction() {
    let mut s = [0u8; 256];
    let mut d: Box<Description<20, 4>> = Box::default();
    d.load(
        b"command = a\nworking-dir = /0123456\nworking-dir = /6543210\ncommand += b c\n\
          capabilities = x\ncapabilities += y\n",
        &env(),
        &mut s,
    )
    .unwrap();
    assert_eq!(strings(d.command().unwrap()), ["a", "b", "c"]);
    assert_eq!(d.working_dir(), Some(&b"/6543210"[..]));
    assert_eq!(d.capabilities(), Some(&b"x,y"[..]));
}

#[test]
fn reset_restores_defaults() {
    let mut d = load("type = process\ncommand = x\ndepends-on = a\nnice = 3\n");
    d.reset();
    assert_eq!(d.kind(), ServiceKind::Internal);
    assert!(d.command().is_none());
    assert_eq!(d.dependencies().count(), 0);
    assert_eq!(d.nice(), None);
    assert_eq!(d.bytes_used(), 0);
}

// ----- the environment file -----

fn env_ops(input: &str) -> Vec<String> {
    let mut ops = Vec::new();
    parse_env_file(input.as_bytes(), &mut |line: u32, item: EnvLine<'_>| {
        ops.push(match item {
            EnvLine::Op(EnvOp::Set { name, value }) => {
                std::format!("{line}:set {}={}", text(name), text(value))
            }
            EnvLine::Op(EnvOp::Unset(n)) => std::format!("{line}:unset {}", text(n)),
            EnvLine::Op(EnvOp::Clear) => std::format!("{line}:clear"),
            EnvLine::Op(EnvOp::Import(n)) => std::format!("{line}:import {}", text(n)),
            EnvLine::InvalidSetting => std::format!("{line}:invalid"),
            EnvLine::BadCommand => std::format!("{line}:bad command"),
        });
    });
    ops
}

#[test]
fn env_file_operations() {
    assert_eq!(
        env_ops(
            "# comment\nA=1\n\n  B = x y \r\n!clear now\n!unset  A B\n !import PATH\nC=\nD==\n  # x\n"
        ),
        [
            "2:set A=1",
            "4:set B= x y \r",
            "5:clear",
            "6:unset A",
            "6:unset B",
            "7:import PATH",
            "8:set C=",
            "9:set D==",
        ]
    );
}

#[test]
fn env_file_lines_that_are_not_valid_are_reported_and_skipped() {
    assert_eq!(
        env_ops("A=1\nJUSTTEXT\n=x\n!reset\n!unset\n!import   \nA B=1\nZ=\0\n"),
        [
            "1:set A=1",
            "2:invalid",
            "3:invalid",
            "4:bad command",
            "7:invalid",
            "8:set Z=\0",
        ]
    );
}
