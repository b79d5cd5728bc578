//! Property tests of the description format: arbitrary input never panics (parser, assembled
//! description, substitution, environment file, names), and a generated description emitted
//! as text parses back to the same settings.

// Test code: the panicking shortcuts are what a failing test should do.
#![allow(clippy::unwrap_used, clippy::panic)]

use dinit_core::desc::{
    expand_command, expand_value, parse, parse_env_file, parse_service_name, CommandSetting,
    DescError, Description, DescriptionSink, EnvFileParser, IdSpec, Ioprio, Item, Limit,
    LoadOptions, LogType, Op, Parser, PathSetting, ReadyNotification, Resource, Rlimit, Securebits,
    Setting, SubstEnv, Tokens,
};
use dinit_core::time::Duration;
use dinit_core::{AutoRestart, DepKind, ServiceKind};
use proptest::prelude::*;

const VARS: [(&[u8], &[u8]); 3] = [(b"A", b"x y"), (b"E", b""), (b"LONG", b"0123456789abcdef")];

fn env(arg: Option<&[u8]>) -> SubstEnv<'_> {
    SubstEnv::new(&VARS, arg)
}

/// Bytes weighted towards the characters the lexer and substitution care about.
fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\\\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"#".to_vec()),
        Just(b"=".to_vec()),
        Just(b":".to_vec()),
        Just(b"+=".to_vec()),
        Just(b"@include ".to_vec()),
        Just(b"@meta ".to_vec()),
        Just(b"$".to_vec()),
        Just(b"${".to_vec()),
        Just(b"}".to_vec()),
        Just(b":-".to_vec()),
        Just(b"$/".to_vec()),
        Just(b"$1".to_vec()),
        Just(b"A".to_vec()),
        Just(b"!unset ".to_vec()),
        Just(b"!clear".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"command".to_vec()),
        Just(b"depends-on".to_vec()),
        Just(b"options".to_vec()),
        Just(b"rlimit-core".to_vec()),
        Just(b"capabilities".to_vec()),
        Just(b"runs-on-console".to_vec()),
    ];
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..300), tricky_bytes()]
}

/// A sink that accepts includes (to exercise that path) and counts items.
struct Counting(usize);

impl DescriptionSink for Counting {
    fn setting(&mut self, _: u32, _: Setting<'_>) -> Result<(), DescError> {
        self.0 += 1;
        Ok(())
    }
    fn include(&mut self, _: u32, _: &[u8], _: bool) -> Result<(), DescError> {
        self.0 += 1;
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn desc_parser_never_panics_and_always_progresses(input in any_input(), cap in 0usize..96) {
        let mut scratch = vec![0u8; cap];
        let e = env(Some(b"arg"));
        let mut p = Parser::new(&input);
        let mut calls = 0usize;
        loop {
            calls += 1;
            prop_assert!(calls <= input.len() + 2, "no progress");
            if let Ok(None) = p.next_item(&e, &mut scratch) {
                break;
            }
        }
        let _ = parse(&input, &e, &mut scratch, &mut Counting(0));
    }

    #[test]
    fn desc_never_panics(input in any_input(), cap in 0usize..128) {
        let mut d: Box<Description<64, 4>> = Box::default();
        let mut scratch = vec![0u8; cap];
        let e = env(None);
        let _ = d.load(&input, &e, &mut scratch);
        let mut out = [0u8; 48];
        let _ = d.expand_command(CommandSetting::Start, &e, &mut out);
        let _ = d.expand_command(CommandSetting::Stop, &e, &mut out);
        for w in [PathSetting::WorkingDir, PathSetting::PidFile, PathSetting::SocketListen, PathSetting::Logfile] {
            let _ = d.expand_path(w, &e, &mut out);
        }
        let _ = d.dependencies().count() + d.dependency_dirs().count();
    }

    #[test]
    fn desc_substitution_never_panics(input in any_input(), cap in 0usize..64, arg in prop::option::of(any_input())) {
        let e = env(arg.as_deref());
        let mut out = vec![0u8; cap];
        let _ = expand_value(&input, &e, &mut out);
        // As tokens: split at NUL and terminate.
        let mut toks = input.clone();
        if toks.last().is_some_and(|&b| b != 0) {
            toks.push(0);
        }
        let toks = Tokens::from_nul_terminated(&toks).unwrap();
        if let Ok(t) = expand_command(toks, &e, &mut out) {
            // Every output token is NUL-free, and the encoding is well formed.
            prop_assert!(Tokens::from_nul_terminated(t.as_bytes()).is_some());
        }
    }

    #[test]
    fn desc_substitution_without_dollar_is_identity(
        tokens in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no NUL or $", |&b| b != 0 && b != b'$'), 0..8), 0..6)
    ) {
        let e = env(Some(b"arg"));
        let mut buf = Vec::new();
        for t in &tokens {
            buf.extend_from_slice(t);
            buf.push(0);
        }
        let mut out = vec![0u8; buf.len()];
        let t = expand_command(Tokens::from_nul_terminated(&buf).unwrap(), &e, &mut out).unwrap();
        prop_assert_eq!(t.as_bytes(), &buf[..]);
        let joined = tokens.concat();
        let mut out = vec![0u8; joined.len()];
        prop_assert_eq!(expand_value(&joined, &e, &mut out).unwrap(), &joined[..]);
    }

    #[test]
    fn desc_env_file_never_panics(input in any_input()) {
        let n = EnvFileParser::new(&input).take(input.len() + 2).count();
        prop_assert!(n <= input.len() + 1);
        parse_env_file(&input, &mut |_: u32, _: dinit_core::desc::EnvLine<'_>| {});
    }

    #[test]
    fn desc_names_never_panic(input in any_input()) {
        if let Ok(n) = parse_service_name(&input) {
            prop_assert!(!n.base.is_empty());
        }
    }
}

// ----- round trip -----

/// A setting with owned values, generated, emitted as text, and compared with what the parser
/// reads back.
#[derive(Clone, Debug)]
enum Gen {
    Type(ServiceKind),
    Command(Op, Vec<Vec<u8>>),
    StopCommand(Op, Vec<Vec<u8>>),
    /// A string setting by name, with its value.
    Text(&'static str, Vec<u8>),
    RunAs(GenId),
    SocketUid(GenId),
    LogfileGid(GenId),
    Restart(AutoRestart),
    Smooth(bool),
    Duration(&'static str, Duration),
    Count(u16),
    Dep(DepKind, Vec<u8>),
    DepDir(DepKind, Vec<u8>),
    Perms(&'static str, u32),
    Signal(i32),
    Ready(GenReady),
    LogType(LogType),
    BufferSize(u32),
    Options(Vec<&'static str>),
    LoadOptions(LoadOptions),
    Rlimit(Resource, Rlimit),
    Nice(i32),
    Caps(Op, Vec<u8>),
    Securebits(Op, Vec<(&'static str, Securebits)>),
    Ioprio(Ioprio),
    Oom(i16),
    EnableVia(Vec<u8>),
}

#[derive(Clone, Debug)]
enum GenId {
    Num(u32),
    Name(Vec<u8>),
}

#[derive(Clone, Debug)]
enum GenReady {
    Fd(i32),
    Var(Vec<u8>),
}

fn id_of(g: &GenId) -> IdSpec<'_> {
    match g {
        GenId::Num(n) => IdSpec::Numeric(*n),
        GenId::Name(n) => IdSpec::Name(n),
    }
}

/// Free text: no NUL or newline (newlines cannot be part of a value), and every `$` doubled so
/// that post-load values have valid substitution syntax.
fn free_text() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            8 => 0x20u8..0x7f,
            1 => Just(b'\t'),
            1 => Just(b'\r'),
            1 => Just(b'\\'),
            1 => Just(b'"'),
            1 => Just(b'#'),
            1 => 0x80u8..=0xff,
        ],
        0..12,
    )
    .prop_map(|v| {
        v.into_iter()
            .flat_map(|b| if b == b'$' { vec![b'$', b'$'] } else { vec![b] })
            .collect()
    })
}

/// A string value as the parser returns it: non-empty and, since unquoted white space
/// collapses, emitted quoted.
fn text_value() -> impl Strategy<Value = Vec<u8>> {
    free_text().prop_filter("non-empty", |v| !v.is_empty())
}

fn service_name() -> impl Strategy<Value = Vec<u8>> {
    "[a-z0-9][a-z0-9._-]{0,8}(@[a-z0-9.]{0,4})?".prop_map(String::into_bytes)
}

fn user_name() -> impl Strategy<Value = Vec<u8>> {
    "[a-z_][a-z0-9_-]{0,8}".prop_map(String::into_bytes)
}

fn gen_id() -> impl Strategy<Value = GenId> {
    prop_oneof![
        (0u32..u32::MAX).prop_map(GenId::Num),
        user_name().prop_map(GenId::Name)
    ]
}

fn gen_limit() -> impl Strategy<Value = Limit> {
    prop_oneof![
        Just(Limit::Unchanged),
        Just(Limit::Unlimited),
        any::<u64>().prop_map(Limit::Value)
    ]
}

fn gen_op() -> impl Strategy<Value = Op> {
    prop_oneof![Just(Op::Set), Just(Op::Append)]
}

const OPTIONS: [&str; 13] = [
    "runs-on-console",
    "starts-on-console",
    "shares-console",
    "unmask-intr",
    "starts-rwfs",
    "starts-log",
    "pass-cs-fd",
    "start-interruptible",
    "skippable",
    "signal-process-only",
    "always-chain",
    "kill-all-on-stop",
    "no-new-privs",
];

fn gen_setting() -> impl Strategy<Value = Gen> {
    let kinds = prop_oneof![
        Just(ServiceKind::Process),
        Just(ServiceKind::Bgprocess),
        Just(ServiceKind::Scripted),
        Just(ServiceKind::Internal),
        Just(ServiceKind::Triggered)
    ];
    let deps = prop_oneof![
        Just(DepKind::Regular),
        Just(DepKind::PreparedBy),
        Just(DepKind::Milestone),
        Just(DepKind::WaitsFor),
        Just(DepKind::After),
        Just(DepKind::Before)
    ];
    let dirs = prop_oneof![
        Just(DepKind::Regular),
        Just(DepKind::Milestone),
        Just(DepKind::WaitsFor)
    ];
    let durations = prop_oneof![
        Just("restart-delay"),
        Just("restart-limit-interval"),
        Just("start-timeout"),
        Just("stop-timeout")
    ];
    let texts = prop_oneof![
        Just("working-dir"),
        Just("pid-file"),
        Just("socket-listen"),
        Just("logfile"),
        Just("run-in-cgroup"),
    ];
    let resources = prop_oneof![
        Just(Resource::Nofile),
        Just(Resource::Core),
        Just(Resource::Data),
        Just(Resource::Addrspace)
    ];
    let caps = prop::collection::vec("[!^%]{0,2}[a-zA-Z0-9_]{1,10}", 1..4)
        .prop_map(|v| v.join(",").into_bytes());
    let bits = prop::sample::subsequence(
        vec![
            ("keep-caps", Securebits::KEEP_CAPS),
            ("keep-caps-locked", Securebits::KEEP_CAPS_LOCKED),
            ("no-setuid-fixup", Securebits::NO_SETUID_FIXUP),
            ("no-setuid-fixup-locked", Securebits::NO_SETUID_FIXUP_LOCKED),
            ("noroot", Securebits::NOROOT),
            ("noroot-locked", Securebits::NOROOT_LOCKED),
        ],
        0..4,
    );
    let signals = prop::sample::select(vec![
        0,
        1,
        2,
        3,
        9,
        dinit_core::signal::TERM,
        dinit_core::signal::USR1,
    ]);
    prop_oneof![
        kinds.prop_map(Gen::Type),
        (gen_op(), prop::collection::vec(free_text(), 1..5)).prop_map(|(o, t)| Gen::Command(o, t)),
        (gen_op(), prop::collection::vec(free_text(), 1..5))
            .prop_map(|(o, t)| Gen::StopCommand(o, t)),
        (texts, text_value()).prop_map(|(k, v)| Gen::Text(k, v)),
        "[a-zA-Z0-9/._ -]{1,12}".prop_map(|v| Gen::Text("env-file", v.into_bytes())),
        service_name().prop_map(|v| Gen::Text("chain-to", v)),
        service_name().prop_map(|v| Gen::Text("consumer-of", v)),
        "[a-z0-9]{1,4}".prop_map(|v| Gen::Text("inittab-id", v.into_bytes())),
        "[a-z0-9/]{1,32}".prop_map(|v| Gen::Text("inittab-line", v.into_bytes())),
        gen_id().prop_map(Gen::RunAs),
        gen_id().prop_map(Gen::SocketUid),
        gen_id().prop_map(Gen::LogfileGid),
        prop_oneof![
            Just(AutoRestart::Yes),
            Just(AutoRestart::OnFailure),
            Just(AutoRestart::No)
        ]
        .prop_map(Gen::Restart),
        any::<bool>().prop_map(Gen::Smooth),
        (durations, 0u64..1_000_000, 0u64..1_000_000_000)
            .prop_map(|(k, s, n)| Gen::Duration(k, Duration::from_nanos(s * 1_000_000_000 + n))),
        any::<u16>().prop_map(Gen::Count),
        (deps, service_name()).prop_map(|(k, n)| Gen::Dep(k, n)),
        (dirs, "[a-zA-Z0-9/._-]{1,12}").prop_map(|(k, p)| Gen::DepDir(k, p.into_bytes())),
        (
            prop_oneof![Just("socket-permissions"), Just("logfile-permissions")],
            0u32..=0o7777
        )
            .prop_map(|(k, p)| Gen::Perms(k, p)),
        signals.prop_map(Gen::Signal),
        prop_oneof![
            (0i32..=i32::MAX).prop_map(GenReady::Fd),
            "[A-Z_][A-Z0-9_]{0,8}".prop_map(|v| GenReady::Var(v.into_bytes()))
        ]
        .prop_map(Gen::Ready),
        prop_oneof![
            Just(LogType::None),
            Just(LogType::File),
            Just(LogType::Buffer),
            Just(LogType::Pipe)
        ]
        .prop_map(Gen::LogType),
        (0u32..=i32::MAX.unsigned_abs()).prop_map(Gen::BufferSize),
        prop::sample::subsequence(OPTIONS.to_vec(), 0..5).prop_map(Gen::Options),
        (0u8..4).prop_map(|b| Gen::LoadOptions(
            [
                LoadOptions::empty(),
                LoadOptions::EXPORT_PASSWD_VARS,
                LoadOptions::EXPORT_SERVICE_NAME,
                LoadOptions::EXPORT_PASSWD_VARS.with(LoadOptions::EXPORT_SERVICE_NAME)
            ][usize::from(b)]
        )),
        (resources, gen_limit(), gen_limit(), any::<bool>()).prop_map(|(r, soft, hard, same)| {
            Gen::Rlimit(
                r,
                Rlimit {
                    soft,
                    hard: if same && soft != Limit::Unchanged {
                        soft
                    } else {
                        hard
                    },
                },
            )
        }),
        (i32::MIN / 2..=i32::MAX / 2).prop_map(Gen::Nice),
        (gen_op(), caps).prop_map(|(o, c)| Gen::Caps(o, c)),
        (gen_op(), bits).prop_map(|(o, b)| Gen::Securebits(o, b)),
        prop_oneof![
            Just(Ioprio::None),
            Just(Ioprio::Idle),
            (0u8..8).prop_map(Ioprio::Realtime),
            (0u8..8).prop_map(Ioprio::BestEffort)
        ]
        .prop_map(Gen::Ioprio),
        (-1000i16..=1000).prop_map(Gen::Oom),
        service_name().prop_map(Gen::EnableVia),
    ]
}

/// Quotes a value, escaping `"` and `\`.
fn quoted(v: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in v {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

fn limit_text(l: Limit) -> String {
    match l {
        Limit::Unchanged => String::new(),
        Limit::Unlimited => "-".into(),
        Limit::Value(v) => v.to_string(),
    }
}

fn dep_name(k: DepKind) -> &'static str {
    k.setting_name()
}

/// Emits `g` as one line, with some variation in operator, spacing and comments.
fn emit(g: &Gen, style: u8) -> Vec<u8> {
    let op_text = |op: Op| {
        if op == Op::Append {
            "+="
        } else if style & 1 == 0 {
            "="
        } else {
            ":"
        }
    };
    let set = op_text(Op::Set);
    let id = |i: &GenId| match i {
        GenId::Num(n) => n.to_string().into_bytes(),
        GenId::Name(n) => n.clone(),
    };
    let (name, op, value): (String, &str, Vec<u8>) = match g {
        Gen::Type(k) => ("type".into(), set, k.name().into()),
        Gen::Command(o, t) | Gen::StopCommand(o, t) => {
            let name = if matches!(g, Gen::Command(..)) {
                "command"
            } else {
                "stop-command"
            };
            // Tokens separated by a space or, sometimes, an escaped newline.
            let sep: &[u8] = if style & 2 == 0 { b" " } else { b" \\\n\t " };
            let v = t
                .iter()
                .map(|tok| quoted(tok))
                .collect::<Vec<_>>()
                .join(sep);
            (name.into(), op_text(*o), v)
        }
        Gen::Text(k, v) => (k.to_string(), set, quoted(v)),
        Gen::RunAs(i) => ("run-as".into(), set, id(i)),
        Gen::SocketUid(i) => ("socket-uid".into(), set, id(i)),
        Gen::LogfileGid(i) => ("logfile-gid".into(), set, id(i)),
        Gen::Restart(r) => (
            "restart".into(),
            set,
            match r {
                AutoRestart::Yes => {
                    if style & 4 == 0 {
                        "yes"
                    } else {
                        "true"
                    }
                }
                AutoRestart::OnFailure => "on-failure",
                AutoRestart::No => {
                    if style & 4 == 0 {
                        "no"
                    } else {
                        "false"
                    }
                }
            }
            .into(),
        ),
        Gen::Smooth(b) => (
            "smooth-recovery".into(),
            set,
            if *b { "yes" } else { "false" }.into(),
        ),
        Gen::Duration(k, d) => (
            k.to_string(),
            set,
            format!("{}.{:09}", d.as_secs(), d.subsec_nanos()).into_bytes(),
        ),
        Gen::Count(n) => (
            "restart-limit-count".into(),
            set,
            n.to_string().into_bytes(),
        ),
        Gen::Dep(k, n) => (dep_name(*k).into(), set, n.clone()),
        Gen::DepDir(k, p) => (format!("{}.d", dep_name(*k)), set, quoted(p)),
        Gen::Perms(k, p) => (k.to_string(), set, format!("{p:o}").into_bytes()),
        Gen::Signal(s) => (
            "term-signal".into(),
            set,
            match *s {
                0 => "none".to_string(),
                s => dinit_core::signal::name_of(s).unwrap().to_string(),
            }
            .into_bytes(),
        ),
        Gen::Ready(GenReady::Fd(fd)) => (
            "ready-notification".into(),
            set,
            format!("pipefd:{fd}").into_bytes(),
        ),
        Gen::Ready(GenReady::Var(v)) => (
            "ready-notification".into(),
            set,
            [b"pipevar:".as_slice(), v].concat(),
        ),
        Gen::LogType(t) => ("log-type".into(), set, t.name().into()),
        Gen::BufferSize(n) => ("log-buffer-size".into(), set, n.to_string().into_bytes()),
        Gen::Options(words) => ("options".into(), set, words.join("  ").into_bytes()),
        Gen::LoadOptions(o) => {
            let mut w = vec![];
            if o.contains(LoadOptions::EXPORT_PASSWD_VARS) {
                w.push("export-passwd-vars");
            }
            if o.contains(LoadOptions::EXPORT_SERVICE_NAME) {
                w.push("export-service-name");
            }
            ("load-options".into(), set, w.join(" ").into_bytes())
        }
        Gen::Rlimit(r, l) => {
            let v = if l.soft == l.hard && l.soft != Limit::Unchanged {
                limit_text(l.soft)
            } else {
                format!("{}:{}", limit_text(l.soft), limit_text(l.hard))
            };
            (r.key().name().into(), set, v.into_bytes())
        }
        Gen::Nice(n) => ("nice".into(), set, n.to_string().into_bytes()),
        Gen::Caps(o, c) => ("capabilities".into(), op_text(*o), c.clone()),
        Gen::Securebits(o, b) => (
            "securebits".into(),
            op_text(*o),
            b.iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(" ")
                .into_bytes(),
        ),
        Gen::Ioprio(p) => (
            "ioprio".into(),
            set,
            match p {
                Ioprio::None => "none".into(),
                Ioprio::Idle => "idle".into(),
                Ioprio::Realtime(n) => format!("realtime:{n}"),
                Ioprio::BestEffort(n) => format!("best-effort:{n}"),
            }
            .into_bytes(),
        ),
        Gen::Oom(n) => ("oom-score-adj".into(), set, n.to_string().into_bytes()),
        Gen::EnableVia(n) => return [b"@meta enable-via ".as_slice(), n, b"\n"].concat(),
    };
    let mut line = Vec::new();
    if style & 16 != 0 {
        line.extend_from_slice(b"  ");
    }
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(if style & 32 != 0 { b"\t" } else { b" " });
    line.extend_from_slice(op.as_bytes());
    line.extend_from_slice(b" ");
    line.extend_from_slice(&value);
    // (A comment needs white space before it: not after an empty value.)
    if style & 64 != 0 && !value.is_empty() {
        line.extend_from_slice(b"   # a comment \"with\" \\ odd characters");
    }
    line.extend_from_slice(if style & 128 != 0 { b"\r\n" } else { b"\n" });
    line
}

/// What a setting is, for comparison: its Debug form, with option lists spelled out (their
/// type cannot be built outside the crate).
fn norm(s: &Setting<'_>) -> String {
    match s {
        Setting::Options(list) => format!("Options{:?}", list.words()),
        other => format!("{other:?}"),
    }
}

fn tokens_of(t: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for tok in t {
        v.extend_from_slice(tok);
        v.push(0);
    }
    v
}

/// The setting `g` should parse to.
fn expected(g: &Gen) -> String {
    let buf;
    let s = match g {
        Gen::Type(k) => Setting::Type(*k),
        Gen::Command(op, t) => {
            buf = tokens_of(t);
            Setting::Command {
                op: *op,
                tokens: Tokens::from_nul_terminated(&buf).unwrap(),
            }
        }
        Gen::StopCommand(op, t) => {
            buf = tokens_of(t);
            Setting::StopCommand {
                op: *op,
                tokens: Tokens::from_nul_terminated(&buf).unwrap(),
            }
        }
        Gen::Text(k, v) => match *k {
            "working-dir" => Setting::WorkingDir(v),
            "pid-file" => Setting::PidFile(v),
            "socket-listen" => Setting::SocketListen(v),
            "logfile" => Setting::Logfile(v),
            "run-in-cgroup" => Setting::RunInCgroup(v),
            "env-file" => Setting::EnvFile(v),
            "chain-to" => Setting::ChainTo(v),
            "consumer-of" => Setting::ConsumerOf(v),
            "inittab-id" => Setting::InittabId(v),
            "inittab-line" => Setting::InittabLine(v),
            other => panic!("{other}"),
        },
        Gen::RunAs(i) => Setting::RunAs(id_of(i)),
        Gen::SocketUid(i) => Setting::SocketUid(id_of(i)),
        Gen::LogfileGid(i) => Setting::LogfileGid(id_of(i)),
        Gen::Restart(r) => Setting::Restart(*r),
        Gen::Smooth(b) => Setting::SmoothRecovery(*b),
        Gen::Duration(k, d) => match *k {
            "restart-delay" => Setting::RestartDelay(*d),
            "restart-limit-interval" => Setting::RestartLimitInterval(*d),
            "start-timeout" => Setting::StartTimeout(*d),
            _ => Setting::StopTimeout(*d),
        },
        Gen::Count(n) => Setting::RestartLimitCount(*n),
        Gen::Dep(kind, name) => Setting::Dependency { kind: *kind, name },
        Gen::DepDir(kind, path) => Setting::DependencyDir { kind: *kind, path },
        Gen::Perms(k, p) => {
            if *k == "socket-permissions" {
                Setting::SocketPermissions(*p)
            } else {
                Setting::LogfilePermissions(*p)
            }
        }
        Gen::Signal(s) => Setting::TermSignal(*s),
        Gen::Ready(GenReady::Fd(fd)) => Setting::ReadyNotification(ReadyNotification::PipeFd(*fd)),
        Gen::Ready(GenReady::Var(v)) => Setting::ReadyNotification(ReadyNotification::PipeVar(v)),
        Gen::LogType(t) => Setting::LogType(*t),
        Gen::BufferSize(n) => Setting::LogBufferSize(*n),
        Gen::Options(words) => {
            let t: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
            buf = tokens_of(&t);
            return format!("Options{:?}", Tokens::from_nul_terminated(&buf).unwrap());
        }
        Gen::LoadOptions(o) => Setting::LoadOptions(*o),
        Gen::Rlimit(resource, limit) => Setting::Rlimit {
            resource: *resource,
            limit: *limit,
        },
        Gen::Nice(n) => Setting::Nice(*n),
        Gen::Caps(op, iab) => Setting::Capabilities { op: *op, iab },
        Gen::Securebits(op, b) => Setting::Securebits {
            op: *op,
            bits: b
                .iter()
                .fold(Securebits::empty(), |acc, (_, f)| acc.with(*f)),
        },
        Gen::Ioprio(p) => Setting::Ioprio(*p),
        Gen::Oom(n) => Setting::OomScoreAdj(*n),
        Gen::EnableVia(n) => Setting::EnableVia(n),
    };
    norm(&s)
}

struct Collect(Vec<String>);

impl DescriptionSink for Collect {
    fn setting(&mut self, _: u32, s: Setting<'_>) -> Result<(), DescError> {
        self.0.push(norm(&s));
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn desc_emitted_settings_parse_back(settings in prop::collection::vec((gen_setting(), any::<u8>()), 0..40)) {
        let mut text = b"# generated\n\n".to_vec();
        for (g, style) in &settings {
            text.extend(emit(g, *style));
        }
        let mut sink = Collect(Vec::new());
        let mut scratch = [0u8; 512];
        let e = env(Some(b"arg"));
        if let Err(err) = parse(&text, &e, &mut scratch, &mut sink) {
            return Err(TestCaseError::fail(format!("{err} in {:?}", String::from_utf8_lossy(&text))));
        }
        let want: Vec<String> = settings.iter().map(|(g, _)| expected(g)).collect();
        prop_assert_eq!(sink.0, want, "{}", String::from_utf8_lossy(&text));
    }
}

#[test]
fn desc_items_of_include_lines() {
    let mut p = Parser::new(b"@include-opt $A\n");
    let mut s = [0u8; 64];
    let e = env(None);
    let item = p.next_item(&e, &mut s).unwrap().unwrap();
    assert_eq!(
        item.item,
        Item::Include {
            path: b"x y",
            optional: true
        }
    );
}
