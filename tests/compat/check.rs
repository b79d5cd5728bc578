//! `dinit-check` differential: every case of tests/compat/check/ (see its README.md) is run
//! with Dinit's `dinit-check` and with ours, in the same way, and the two must print the same
//! standard output and standard error, byte for byte, and exit with the same status.

use crate::common::{copy_tree, reference_dir, scratch, workspace, Impl};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The corpus folder.
fn corpus() -> PathBuf {
    workspace().join("tests/compat/check")
}

/// The files of a case folder that describe the run rather than the service directory.
const CONTROL_FILES: &[&str] = &["args", "env", "setup"];

/// What one run printed.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: String,
    stderr: String,
    status: Option<i32>,
}

/// Reads a control file as lines (without their newlines); `None` if the case has none.
fn lines(case: &Path, file: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(case.join(file)).ok()?;
    Some(text.lines().map(str::to_owned).collect())
}

/// Runs `program` on a fresh copy of the case folder.
fn run_one(case: &Path, name: &str, which: Impl) -> Outcome {
    let work = scratch(&format!("check-{}", which.label()));
    copy_tree(case, &work);
    for f in CONTROL_FILES {
        let _ = std::fs::remove_file(work.join(f));
    }
    // A fixed environment: nothing of the caller's leaks in (HOME names a folder that does not
    // exist, so that `-u` finds no user services unless the case sets XDG_CONFIG_HOME).
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        ("HOME".into(), "/dinit-check-home".into()),
    ];
    for line in lines(case, "env").unwrap_or_default() {
        if let Some((k, v)) = line.split_once('=') {
            env.push((k.into(), v.into()));
        }
    }
    if case.join("setup").is_file() {
        let status = Command::new("/bin/sh")
            .arg(case.join("setup"))
            .current_dir(&work)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .status()
            .unwrap();
        assert!(status.success(), "case {name}: its setup script failed");
    }
    let args = lines(case, "args").unwrap_or_else(|| vec!["-d".into(), "sd".into()]);
    let out = Command::new(which.program("dinit-check"))
        .args(&args)
        .current_dir(&work)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let scratch_path = work.to_string_lossy().into_owned();
    let normalise =
        |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(scratch_path.as_str(), "<scratch>");
    let outcome = Outcome {
        stdout: normalise(&out.stdout),
        stderr: normalise(&out.stderr),
        status: out.status.code(),
    };
    let _ = std::fs::remove_dir_all(&work);
    outcome
}

/// Runs a case with both programs and compares what they print.
fn run(name: &str) {
    let case = corpus().join(name);
    assert!(case.is_dir(), "no case folder {}", case.display());
    let theirs = run_one(&case, name, Impl::Dinit);
    let ours = run_one(&case, name, Impl::Ours);
    if theirs != ours {
        panic!(
            "case {name}: our dinit-check differs from Dinit's\n\
             --- Dinit's stdout\n{}--- our stdout\n{}\
             --- Dinit's stderr\n{}--- our stderr\n{}\
             --- exit status: Dinit {:?}, ours {:?}",
            theirs.stdout, ours.stdout, theirs.stderr, ours.stderr, theirs.status, ours.status
        );
    }
}

macro_rules! check_cases {
    ($($fn_name:ident => $case:literal,)*) => {
        $(
            #[test]
            #[ignore = "needs the reference Dinit: just compat"]
            fn $fn_name() {
                run($case);
            }
        )*

        /// The list above names every folder of the corpus, and only those.
        #[test]
        #[ignore = "needs the reference Dinit: just compat"]
        fn every_case_has_a_test() {
            // (reference_dir() is called for its check that the reference is built, so that
            // this test fails like the others when it is not.)
            let _ = reference_dir();
            let mut listed: Vec<&str> = vec![$($case),*];
            listed.sort_unstable();
            let mut found: Vec<String> = std::fs::read_dir(corpus())
                .unwrap()
                .map(|e| e.unwrap())
                .filter(|e| e.file_type().unwrap().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            found.sort_unstable();
            assert_eq!(listed, found, "tests/compat/check.rs must list every case folder");
        }
    };
}

check_cases! {
    bad_meta => "bad-meta",
    badly_formed_bare => "badly-formed-bare",
    badly_formed_digit => "badly-formed-digit",
    badly_formed_equals => "badly-formed-equals",
    badly_formed_later_errors => "badly-formed-later-errors",
    badly_formed_name => "badly-formed-name",
    badly_formed_plus => "badly-formed-plus",
    before_after_targets => "before-after-targets",
    before_consistent => "before-consistent",
    bfs_order => "bfs-order",
    bgprocess_checks => "bgprocess-checks",
    blank_and_whitespace_lines => "blank-and-whitespace-lines",
    chain_to => "chain-to",
    colon_and_equals => "colon-and-equals",
    command_not_executable => "command-not-executable",
    command_symlink => "command-symlink",
    command_word_splitting => "command-word-splitting",
    commands => "commands",
    comment_continuation => "comment-continuation",
    consumer_of => "consumer-of",
    consumer_of_args => "consumer-of-args",
    consumer_of_unloadable => "consumer-of-unloadable",
    continuation => "continuation",
    continuation_bad => "continuation-bad",
    continuation_empty_next => "continuation-empty-next",
    continuation_eof => "continuation-eof",
    continuation_eof_newline => "continuation-eof-newline",
    continuation_error_lines => "continuation-error-lines",
    continuation_even_backslashes => "continuation-even-backslashes",
    continuation_in_quotes => "continuation-in-quotes",
    crlf_line_endings => "crlf-line-endings",
    cycle_after => "cycle-after",
    cycle_before => "cycle-before",
    cycle_before_after => "cycle-before-after",
    cycle_depends_on => "cycle-depends-on",
    cycle_milestone_prepared => "cycle-milestone-prepared",
    cycle_second_root => "cycle-second-root",
    cycle_self => "cycle-self",
    cycle_through_root => "cycle-through-root",
    cycle_unreachable_from_root => "cycle-unreachable-from-root",
    cycle_with_missing => "cycle-with-missing",
    dependency_kinds_order => "dependency-kinds-order",
    depends_on_d => "depends-on-d",
    depends_on_d_absolute => "depends-on-d-absolute",
    depends_on_d_missing_dir => "depends-on-d-missing-dir",
    depends_on_d_missing_entry => "depends-on-d-missing-entry",
    depends_on_d_not_a_dir => "depends-on-d-not-a-dir",
    depends_on_d_subst => "depends-on-d-subst",
    depth_limit => "depth-limit",
    description_is_directory => "description-is-directory",
    dir_named_twice => "dir-named-twice",
    dollar_slash_in_values => "dollar-slash-in-values",
    duplicate_dependencies => "duplicate-dependencies",
    empty_file => "empty-file",
    env_file => "env-file",
    env_file_missing => "env-file-missing",
    env_file_subst => "env-file-subst",
    hash_comments => "hash-comments",
    include => "include",
    include_args => "include-args",
    include_depends_on_d => "include-depends-on-d",
    include_directory => "include-directory",
    include_empty_path => "include-empty-path",
    include_env_file => "include-env-file",
    include_missing => "include-missing",
    include_opt => "include-opt",
    include_subst => "include-subst",
    include_subst_error => "include-subst-error",
    include_symlinked => "include-symlinked",
    inittab => "inittab",
    internal_default => "internal-default",
    internal_lint_all => "internal-lint-all",
    internal_lint_options => "internal-lint-options",
    kill_all_on_stop => "kill-all-on-stop",
    load_options => "load-options",
    log_type_values => "log-type-values",
    logfile => "logfile",
    logfile_relative_to_working_dir => "logfile-relative-to-working-dir",
    meta_ignored => "meta-ignored",
    missing_command_process => "missing-command-process",
    missing_dependency => "missing-dependency",
    missing_dir => "missing-dir",
    multiple_dirs => "multiple-dirs",
    named_missing => "named-missing",
    named_services => "named-services",
    named_twice => "named-twice",
    no_boot => "no-boot",
    no_trailing_newline => "no-trailing-newline",
    numbers => "numbers",
    option_after_names => "option-after-names",
    option_env_file => "option-env-file",
    option_env_file_directory => "option-env-file-directory",
    option_env_file_missing => "option-env-file-missing",
    option_errors_d => "option-errors-d",
    option_errors_d_empty => "option-errors-d-empty",
    option_errors_dash => "option-errors-dash",
    option_errors_e => "option-errors-e",
    option_errors_e_empty => "option-errors-e-empty",
    option_errors_p => "option-errors-p",
    option_errors_unknown => "option-errors-unknown",
    option_errors_unknown_short => "option-errors-unknown-short",
    option_long_forms => "option-long-forms",
    options => "options",
    plus_assign => "plus-assign",
    process_valid => "process-valid",
    quoting => "quoting",
    restart_values => "restart-values",
    rlimits => "rlimits",
    run_as => "run-as",
    scripted_no_command => "scripted-no-command",
    service_argument_forms => "service-argument-forms",
    service_name_odd_characters => "service-name-odd-characters",
    service_names => "service-names",
    socket_and_logfile_ids => "socket-and-logfile-ids",
    stop_command_only => "stop-command-only",
    subst_arg_missing => "subst-arg-missing",
    subst_arg_present => "subst-arg-present",
    subst_command_error => "subst-command-error",
    subst_dollar_escape => "subst-dollar-escape",
    subst_env_warning => "subst-env-warning",
    subst_errors => "subst-errors",
    subst_names => "subst-names",
    subst_path_errors => "subst-path-errors",
    subst_post_load => "subst-post-load",
    symlinked_description => "symlinked-description",
    template_services => "template-services",
    term_signal => "term-signal",
    timeouts => "timeouts",
    triggered_lint => "triggered-lint",
    two_cycles => "two-cycles",
    type_values => "type-values",
    unknown_setting => "unknown-setting",
    unterminated_quote => "unterminated-quote",
    user_mode_no_services => "user-mode-no-services",
    user_mode_xdg => "user-mode-xdg",
    working_dir => "working-dir",
}
