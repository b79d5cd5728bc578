//! The loader against real files: dinit(8) "SERVICE DESCRIPTION FILES" and dinit-service(5)
//! (dependencies loaded on demand, `@include`, `.d` directories, `env-file`, service arguments,
//! substitution, validation, cycles, and "a failed load leaves loaded services untouched").

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

use dinit_core::profile::SmallSet;
use dinit_core::{DepKind, ServiceKind};
use dinit_hosted::environ::Environment;
use dinit_hosted::load::{LoadError, Loader, VecStore};
use harness::TestDir;
use std::path::{Path, PathBuf};

struct Fixture {
    dir: TestDir,
    dirs: Vec<PathBuf>,
    env: Environment,
    set: Box<SmallSet>,
    store: VecStore,
    /// The loads the last failure interrupted ([`Loader::failed_within`]).
    failed_within: Vec<Vec<u8>>,
}

impl Fixture {
    fn new() -> Self {
        let dir = TestDir::new("load");
        let dirs = vec![dir.path.join("sd")];
        std::fs::create_dir_all(&dirs[0]).unwrap();
        Fixture {
            dir,
            dirs,
            env: Environment::from_pairs([
                (&b"GREETING"[..], &b"hello"[..]),
                (b"HOME", b"/home/test"),
            ]),
            set: Box::default(),
            store: VecStore::default(),
            failed_within: Vec::new(),
        }
    }
    fn service(&self, name: &str, text: &str) -> PathBuf {
        self.dir.write(&format!("sd/{name}"), text)
    }
    fn load(&mut self, name: &str) -> Result<dinit_core::ServiceId, LoadError> {
        let mut loader = Loader::new(&self.dirs, &self.env);
        let result = loader.load(&mut self.set, &mut self.store, name.as_bytes());
        self.failed_within = loader.failed_within;
        result
    }
    fn loader_failed_within(&self) -> &[Vec<u8>] {
        &self.failed_within
    }
    fn loaded(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .set
            .iter()
            .map(|id| String::from_utf8_lossy(self.set.name(id).unwrap()).into_owned())
            .collect();
        v.sort();
        v
    }
}

#[test]
fn dependencies_are_loaded_on_demand() {
    let mut f = Fixture::new();
    f.service(
        "boot",
        "type = internal\ndepends-on: net\nwaits-for = log\n",
    );
    f.service("net", "type = scripted\ncommand = /bin/true\n");
    f.service("log", "type = process\ncommand = /bin/sleep 1000\n");
    f.service("unrelated", "type = internal\n");
    let boot = f.load("boot").unwrap();
    assert_eq!(f.loaded(), ["boot", "log", "net"]);
    let mut deps: Vec<(String, DepKind)> = f
        .set
        .dependencies(boot)
        .map(|(id, k)| {
            (
                String::from_utf8_lossy(f.set.name(id).unwrap()).into_owned(),
                k,
            )
        })
        .collect();
    deps.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        deps,
        [
            ("log".into(), DepKind::WaitsFor),
            ("net".into(), DepKind::Regular)
        ]
    );
    let net = f.set.find(b"net").unwrap();
    let data = f.store.get(net).unwrap();
    assert_eq!(data.command, [c"/bin/true".to_owned()]);
    assert_eq!(
        data.working_dir(),
        f.dirs[0],
        "working-dir defaults to the description's directory"
    );
    assert_eq!(data.data.working_dir, None, "and is not stored twice");
    assert!(
        data.data.extra.is_none(),
        "no rare settings, no logging: nothing out of line"
    );
    assert_eq!(data.file, f.dirs[0].join("net"));
    // Loading again is a no-op.
    assert_eq!(f.load("boot").unwrap(), boot);
}

#[test]
fn missing_dependency_fails_the_whole_load_and_changes_nothing() {
    let mut f = Fixture::new();
    f.service("existing", "type = internal\n");
    f.load("existing").unwrap();
    f.service("app", "type = internal\ndepends-on: ok\n");
    f.service("ok", "type = internal\ndepends-on: missing\n");
    let err = f.load("app").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Could not load service missing: service description not found."
    );
    assert_eq!(err.service(), b"missing");
    assert!(!err.is_description_error() && !err.is_not_found());
    assert_eq!(f.loaded(), ["existing"]);
    assert_eq!(f.set.slots_in_use(), 1);
    assert!(f.store.get(f.set.find(b"existing").unwrap()).is_some());
    let err = f.load("nosuch").unwrap_err();
    assert!(err.is_not_found());
}

#[test]
fn cycles_are_reported_by_name() {
    let mut f = Fixture::new();
    f.service("a", "type = internal\ndepends-on: b\n");
    f.service("b", "type = internal\nwaits-for: c\n");
    f.service("c", "type = internal\ndepends-ms: a\n");
    let err = f.load("a").unwrap_err();
    // Found as Dinit finds it: `a` is needed while its own loading is under way; the loads it
    // interrupted are c's, b's and a's own (innermost first).
    let LoadError::Cycle { services, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(services, &[b"a".to_vec()]);
    assert_eq!(
        err.to_string(),
        "Could not load service a: has cyclic dependency."
    );
    assert_eq!(
        f.loader_failed_within(),
        [b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]
    );
    assert_eq!(f.set.slots_in_use(), 0);
}

#[test]
fn before_after_cycles_dinit_would_accept_are_refused_and_shown() {
    // docs/COMPATIBILITY.md D4: Dinit loads these and their starts wait for each other for
    // ever; we refuse the load that closes the cycle, naming the service asked for and showing
    // the cycle.
    let mut f = Fixture::new();
    f.service("a", "type = internal\nbefore = b\n");
    f.service("b", "type = internal\nbefore = a\n");
    f.service("boot", "type = internal\nwaits-for = a\nwaits-for = b\n");
    let err = f.load("boot").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Could not load service boot: has cyclic dependency: b -> a -> b."
    );
    assert_eq!(f.set.slots_in_use(), 0);
    // Loaded one after the other: the second load is refused, the first stays.
    f.load("a").unwrap();
    let err = f.load("b").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Could not load service b: has cyclic dependency: b -> a -> b."
    );
    assert!(f.set.find(b"a").is_some());
    assert!(f.set.find(b"b").is_none());
}

#[test]
fn description_errors_name_file_and_line() {
    let mut f = Fixture::new();
    let file = f.service("bad", "type = internal\n\nfrobnicate = yes\n");
    let err = f.load("bad").unwrap_err();
    assert!(err.is_description_error());
    // As dinit logs it, and as dinit-check prints it.
    assert_eq!(
        err.to_string(),
        format!(
            "Error in service description for 'bad' (file {}, line 3): unknown setting: \
             'frobnicate'.",
            file.display()
        )
    );
    assert_eq!(
        err.check_line(),
        format!(
            "Service 'bad' ({}:3): unknown setting: 'frobnicate'.",
            file.display()
        )
    );
}

#[test]
fn includes_resolve_against_the_including_fragment() {
    let mut f = Fixture::new();
    f.dir.write(
        "sd/common/base.conf",
        "restart = false\n@include more.conf\n",
    );
    f.dir.write("sd/common/more.conf", "depends-on: dep\n");
    f.service(
        "svc",
        "type = internal\n@include common/base.conf\n@include-opt absent.conf\n",
    );
    f.service("dep", "type = internal\n");
    let id = f.load("svc").unwrap();
    assert_eq!(f.set.dependencies(id).count(), 1);
    f.service("broken", "type = internal\n@include nowhere.conf\n");
    let err = f.load("broken").unwrap_err();
    assert!(err.to_string().contains("nowhere.conf"), "{err}");
}

#[test]
fn errors_in_included_files_name_that_file() {
    let mut f = Fixture::new();
    f.dir.write("sd/inc.conf", "\nbad-setting = 1\n");
    f.service("svc", "type = internal\n@include inc.conf\n");
    // (The included file is named as the @include line names it.)
    assert_eq!(
        f.load("svc").unwrap_err().to_string(),
        "Error in service description for 'svc' (file inc.conf, line 2): unknown setting: \
         'bad-setting'."
    );
}

#[test]
fn dependency_directories_skip_dot_files_and_unknown_names() {
    let mut f = Fixture::new();
    f.service("boot", "type = internal\nwaits-for.d = boot.d\n");
    f.dir.write("sd/boot.d/one", "");
    f.dir.write("sd/boot.d/.hidden", "");
    f.dir.write("sd/boot.d/ghost", "");
    f.service("one", "type = internal\n");
    f.service(".hidden", "type = internal\n");
    let mut loader = Loader::new(&f.dirs, &f.env);
    let boot = loader.load(&mut f.set, &mut f.store, b"boot").unwrap();
    assert_eq!(f.loaded(), ["boot", "one"]);
    assert_eq!(f.set.dependencies(boot).count(), 1);
    assert!(loader.warnings.iter().any(|w| w.message.contains("ghost")));
    assert_eq!(
        f.store.get(boot).unwrap().data.extra().waits_for_dirs,
        [f.dirs[0].join("boot.d")]
    );
    // A missing directory is not fatal either.
    f.service(
        "other",
        "type = internal\ndepends-on.d = /nonexistent/dir.d\n",
    );
    let mut loader = Loader::new(&f.dirs, &f.env);
    loader.load(&mut f.set, &mut f.store, b"other").unwrap();
    assert!(!loader.warnings.is_empty());
}

#[test]
fn service_arguments_and_substitution() {
    let mut f = Fixture::new();
    f.service(
        "getty",
        "type = process\ncommand = /sbin/agetty $1 ${GREETING} $/WORDS\ndepends-on: dev-$1\nenv-file = getty.env\n",
    );
    f.dir
        .write("sd/getty.env", "WORDS=a b  c\nGREETING=overridden\n");
    f.service("dev-tty1", "type = internal\n");
    let id = f.load("getty@tty1").unwrap();
    let data = f.store.get(id).unwrap();
    let argv: Vec<&str> = data.command.iter().map(|c| c.to_str().unwrap()).collect();
    assert_eq!(argv, ["/sbin/agetty", "tty1", "overridden", "a", "b", "c"]);
    assert!(f.set.find(b"dev-tty1").is_some());
    assert_eq!(f.set.name(id), Some(&b"getty@tty1"[..]));
}

#[test]
fn pre_load_substitution_does_not_see_the_env_file() {
    // dinit-service(5): pre-load substitution "is performed before any service-specific
    // environment is loaded".
    let mut f = Fixture::new();
    f.service(
        "svc",
        "type = internal\nenv-file = svc.env\ndepends-on: dep-${GREETING}\n",
    );
    f.dir.write("sd/svc.env", "GREETING=other\n");
    f.service("dep-hello", "type = internal\n");
    f.load("svc").unwrap();
    assert!(f.set.find(b"dep-hello").is_some());
}

#[test]
fn load_options_export_variables() {
    let mut f = Fixture::new();
    f.service(
        "svc",
        "type = process\nload-options = export-service-name export-passwd-vars\nrun-as = root\ncommand = /bin/echo $DINIT_SERVICE $USER $HOME\n",
    );
    let id = f.load("svc").unwrap();
    let argv: Vec<&str> = f
        .store
        .get(id)
        .unwrap()
        .command
        .iter()
        .map(|c| c.to_str().unwrap())
        .collect();
    assert_eq!(argv, ["/bin/echo", "svc", "root", "/root"]);
}

#[test]
fn inconsistent_settings_are_errors() {
    let mut f = Fixture::new();
    f.service("nocmd", "type = process\n");
    let err = f.load("nocmd").unwrap_err();
    // (Dinit makes these load errors, not description errors.)
    assert!(!err.is_description_error());
    assert_eq!(
        err.startup_message(),
        "nocmd: error loading: 'command' setting not specified."
    );
    f.service("nopid", "type = bgprocess\ncommand = /bin/true\n");
    assert_eq!(
        f.load("nopid").unwrap_err().to_string(),
        "Could not load service nopid: process ID file ('pid-file') not specified for \
         bgprocess service."
    );
}

#[test]
fn first_service_directory_wins() {
    let mut f = Fixture::new();
    let second = f.dir.path.join("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(second.join("svc"), "type = triggered\n").unwrap();
    std::fs::write(second.join("only2"), "type = internal\n").unwrap();
    f.service("svc", "type = internal\n");
    f.dirs.push(second.clone());
    let id = f.load("svc").unwrap();
    assert_eq!(f.set.config(id).unwrap().kind, ServiceKind::Internal);
    let id = f.load("only2").unwrap();
    assert_eq!(
        f.store.get(id).unwrap().data.dir_index,
        1,
        "found in the second directory"
    );
}

#[test]
fn before_and_after_do_not_load_the_other_service() {
    let mut f = Fixture::new();
    f.service("a", "type = internal\nafter: b\nbefore: c\n");
    f.service("b", "type = internal\n");
    f.load("a").unwrap();
    assert_eq!(f.loaded(), ["a"]);
    let b = f.load("b").unwrap();
    assert_eq!(
        f.set.dependents(b).count(),
        1,
        "the after relationship applies once b loads"
    );
}

#[test]
fn a_service_may_name_thousands_of_dependencies() {
    // Dinit puts no bound on the dependencies one description names; a `boot` of a large
    // system may list thousands, directly or in a waits-for.d directory.
    static SET: std::sync::Mutex<dinit_core::profile::DefaultSet> =
        std::sync::Mutex::new(dinit_core::profile::DefaultSet::new());
    let mut set = SET.lock().unwrap();
    set.reset();
    let dir = TestDir::new("load");
    let mut boot = String::from("type = internal\nwaits-for.d = boot.d\n");
    for i in 0..1000 {
        let name = format!("a-service-with-a-rather-long-name-{i:05}");
        boot.push_str(&format!("depends-on = {name}\ndepends-on = {name}\n"));
        dir.write(&format!("sd/{name}"), "type = internal\n");
    }
    for i in 0..100 {
        let name = format!("waited-{i:03}");
        dir.write(&format!("sd/{name}"), "type = internal\n");
        dir.write(&format!("sd/boot.d/{name}"), "");
    }
    // Named both ways: one dependency of each kind.
    dir.write("sd/boot.d/a-service-with-a-rather-long-name-00007", "");
    dir.write("sd/boot", &boot);
    let dirs = vec![dir.path.join("sd")];
    let env = Environment::new();
    let mut store = VecStore::default();
    let id = Loader::new(&dirs, &env)
        .load(&mut *set, &mut store, b"boot")
        .unwrap();
    let kinds: Vec<DepKind> = set.dependencies(id).map(|(_, k)| k).collect();
    assert_eq!(kinds.len(), 1101);
    assert_eq!(
        kinds.iter().filter(|k| **k == DepKind::Regular).count(),
        1000
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == DepKind::WaitsFor).count(),
        101
    );
}

#[test]
fn a_service_read_after_a_rich_one_starts_from_a_clean_description() {
    // The loader reuses its description and substitution buffers from one service to the
    // next: nothing of the first may show in the second.
    let mut f = Fixture::new();
    f.service(
        "rich",
        "type = process\ncommand = /bin/sleep 1000 $GREETING\nstop-command = /bin/true\n\
         working-dir = /tmp\nlogfile = /tmp/rich.log\nlogfile-permissions = 0640\n\
         term-signal = INT\nrestart = yes\noptions = runs-on-console\nnice = 5\n\
         socket-listen = /tmp/rich.sock\nrlimit-nofile = 100:200\nchain-to = other\n\
         depends-on = plain\n",
    );
    f.service("plain", "type = internal\n");
    let mut alone = Fixture::new();
    alone.service("plain", "type = internal\n");
    alone.dirs = f.dirs.clone();
    let id = alone.load("plain").unwrap();
    let fresh = alone.store.get(id).unwrap();

    f.load("rich").unwrap();
    let id = f.set.find(b"plain").unwrap();
    let after = f.store.get(id).unwrap();
    assert_eq!(after.data, fresh.data);
    assert!(after.command.is_empty() && after.stop_command.is_empty());
    assert!(after.dependencies.is_empty() && after.chain_to.is_empty());
    assert!(after.data.extra.is_none());
    let rich = f.store.get(f.set.find(b"rich").unwrap()).unwrap();
    let argv: Vec<&str> = rich.command.iter().map(|c| c.to_str().unwrap()).collect();
    assert_eq!(argv, ["/bin/sleep", "1000", "hello"]);
    assert_eq!(rich.working_dir(), Path::new("/tmp"));
    assert_eq!(rich.data.log().permissions, 0o640);
}
