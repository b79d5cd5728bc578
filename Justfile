# dinit-rs tasks. `just test` is what CI runs (through .ci/run); `just --list` shows them all.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Everything CI checks: the set-up (scripts/setup.sh test), formatting and lints, all tests, the
# no-panic proof, the docs, compatibility with Dinit, the QEMU boot scenarios (x86-64, and three
# on aarch64), the package tests.
# Each stage is a recipe of its own; the time each took is printed at the end (and at a failure).
test:
    #!/usr/bin/env bash
    set -uo pipefail
    stages=(setup lint cross-lint unit nopanic doc compat e2e e2e-aarch64 e2e-debian packages-test)
    report=()
    total=$(date +%s)
    summary() {
        echo "test: stage times:"
        printf '  %s\n' "${report[@]}"
        echo "  total          $(( $(date +%s) - total )) s"
    }
    for stage in "${stages[@]}"; do
        echo "test: == $stage =="
        t=$(date +%s)
        if [[ $stage == setup ]]; then
            scripts/setup.sh test
        else
            "{{just_executable()}}" "$stage"
        fi
        rc=$?
        report+=("$(printf '%-14s %4d s' "$stage" $(( $(date +%s) - t )))")
        if (( rc != 0 )); then
            report[-1]+="  FAILED"
            summary
            echo "test: stage $stage failed (exit status $rc)" >&2
            exit 1
        fi
    done
    summary

# Installs what JOBS need and the machine lacks (Debian packages as root, cargo tools, rustup
# components): `just setup test`. The recipes below run it themselves; see scripts/setup.sh.
setup +jobs:
    scripts/setup.sh {{jobs}}

# Build the workspace (release profile: LTO, one codegen unit, size-optimised, abort on panic).
build:
    cargo build --workspace --release

# Unit, property and integration tests of every crate (and the poll(2) event loop's unit tests).
unit: (setup "unit")
    cargo test --workspace
    cargo test -p dinit-hosted --features poll-reactor --lib

# rustfmt check and clippy with warnings denied (also for the optional features of the core).
lint: (setup "lint")
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy -p dinit-core --features defmt,small -- -D warnings
    cargo clippy -p dinit-hosted --features poll-reactor --all-targets -- -D warnings

# Link-time proof that dinit-core's public entry points have no panicking path.
nopanic:
    core-nostd/nopanic/check.sh

# API documentation, warnings denied (output in target/doc).
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# Compatibility with Dinit, checked against Dinit itself (docs/COMPATIBILITY.md): builds the
# reference from ../shared/peers into target/peers (cached), then runs Dinit's own integration
# tests against our programs, the dinit-check corpus and the differential scenarios of
# tests/compat/ with both implementations. `just compat igr::` (a filter) runs a part.
compat *filter: (setup "compat")
    ../shared/peers/build-dinit.sh target/peers >/dev/null
    cargo build -p dinit-hosted --bins
    DINIT_REF_DIR="$PWD/target/peers/dinit/src" cargo test -p dinit-hosted --test compat -- --ignored {{filter}}

# The engine's deterministic simulator over many seeds: `just sim 20000 1000`.
sim seeds="2000" steps="800" first="0":
    SIM_FIRST_SEED={{first}} SIM_SEEDS={{seeds}} SIM_STEPS={{steps}} \
        cargo test --release -p dinit-core --lib sim_many -- --ignored --nocapture

# The .debs dinit-rs and dinit-rs-init in target/packages (cargo-deb; packaging/README.md).
# `just deb arm64` (or armhf, ...): for that architecture, from its cross build (`just cross`),
# in target/packages/ARCH.
[doc("The .debs in target/packages; `just deb arm64` (or armhf) from the cross build, in target/packages/ARCH")]
deb target="": (setup "deb")
    {{ if target != "" { "scripts/setup.sh cross" } else { "" } }}
    packaging/build.sh deb {{target}}

# The same two packages as .rpms in target/packages (rpmbuild, from the .debs' payload);
# `just rpm arm64` for another architecture, as `just deb`.
[doc("The .rpms in target/packages, from the .debs; `just rpm arm64` for another architecture")]
rpm target="": (setup "rpm") (deb target)
    packaging/build.sh rpm {{target}}

# Both package formats.
packages: rpm

# Package tests: build, lintian/rpmlint, install into a debootstrapped Debian 12 root (cached in
# target/pkgtest) and with `rpm --root`. Needs root and the tools of packaging/README.md.
packages-test: (setup "packages-test")
    cargo test -p dinit-hosted --test packages -- --ignored --nocapture --test-threads 2 --skip cross_packages

# `just image aarch64` (armv7, riscv64) builds the image of QEMU's `virt` machine of that
# architecture in target/qemu-ARCH, with the cross build of scripts/cross.sh (qemu-images/README.md).
# The QEMU boot image in target/qemu (kernel + initramfs); a no-op when no input changed.
image arch="x86_64": (setup if arch == "x86_64" { "image" } else { "e2e-arch" })
    DINIT_QEMU_ARCH={{arch}} qemu-images/build.sh

# `just boot aarch64` boots that machine's image.
# Boot the image under QEMU with a shell on the serial console. To quit QEMU: Ctrl-A, then X.
boot arch="x86_64": (image arch)
    DINIT_QEMU_ARCH={{arch}} qemu-images/run.sh

# Build everything, boot, watch the services start, list them with dinitctl, power off.
demo: image
    qemu-images/run.sh quiet dinit_e2e=demo -- -t boot -t e2e

# The QEMU boot scenarios of tests/qemu.rs, one machine at a time (about two minutes under TCG),
# among them the image with the reference Dinit as process 1 that `just bench-boot` boots
# (qemu-images/reference.sh: Dinit built once from ../shared/peers, as `just compat` does).
e2e: (setup "e2e") image
    cargo test -p dinit-hosted --test qemu -- --ignored --test-threads=1 --nocapture --skip debian_boots_to_a_login_prompt_and_powers_off --skip bench_boot_side_by_side

# The scenarios of `just e2e` that do not need a PC (all but Ctrl-Alt-Del and Dinit's images).
arch_scenarios := "boot_starts_every_service supervision_restarts_and_limits poweroff_stops_services_and_powers_down shutdown_p_powers_down reboot_restarts_the_machine shutdown_r_restarts_the_machine soft_reboot_then_halt boot_failure_starts_recovery"

# `just e2e-arch aarch64` (armv7, riscv64) builds the image for QEMU's `virt` machine of that
# architecture (Debian's kernel and busybox of it, our programs cross-built by scripts/cross.sh)
# and runs the scenarios of `just e2e` that need no PC on it, one machine at a time; names of
# tests after ARCH run only those (qemu-images/README.md, "Other architectures").
# The boot scenarios on QEMU's aarch64, armv7 or riscv64 `virt` machine.
e2e-arch arch *tests=(arch_scenarios): (image arch)
    DINIT_QEMU_ARCH={{arch}} cargo test -p dinit-hosted --test qemu -- --ignored --test-threads=1 --nocapture --exact {{tests}}

# Three boots under TCG: about a minute with the image up to date.
# What `just test` runs of `just e2e-arch aarch64`: boot, poweroff and reboot.
e2e-aarch64: (e2e-arch "aarch64" "boot_starts_every_service poweroff_stops_services_and_powers_down reboot_restarts_the_machine")

# A debootstrapped Debian 12 minbase root with our .debs installed (dinit-rs-init as its init),
# as an ext4 disk (qemu-images/debian.sh, cached in target/qemu-debian), boots to the serial
# console's login prompt; the test logs in as root, checks the system and types `poweroff`
# (about a minute when cached). Needs root, debootstrap, cargo-deb and e2fsprogs.
e2e-debian: (setup "e2e-debian")
    cargo test -p dinit-hosted --test qemu -- --ignored --nocapture --exact debian_boots_to_a_login_prompt_and_powers_off

# The engine alone under a fake host (ours only), then the whole daemon side by side with the
# reference Dinit, built from ../shared/peers into target/peers (cached, as `just compat` does):
# start/stop times, memory, control round trips and start/stop under CPU contention for both, on
# the same generated service sets, interleaved, with the ratio ours/Dinit (< 1: we are faster or
# smaller); the private memory of the packages' build (static: `packaging/build.sh bin`, in
# target/static) against Dinit's; start/stop cycles (ours)
# and the machine's floor. Tables and `metric=value` lines; the method is in
# docs/BENCH-METHOD.md. DINIT_BENCH_BIN_DIR=DIR measures the dinit and dinitctl in DIR as ours,
# DINIT_BENCH_ONLY=process:1000,contention,... runs some parts only.
# Booting under QEMU side by side with Dinit is `just bench-boot` (below).
# `just bench` (about 15 minutes), or `just bench quick` (smaller sets, about 2.5 minutes).
bench mode="full": (setup "bench")
    @[[ "{{mode}}" == full || "{{mode}}" == quick ]] || { echo "usage: just bench [full|quick]" >&2; exit 2; }
    ../shared/peers/build-dinit.sh target/peers >/dev/null
    packaging/build.sh bin >/dev/null
    cargo bench -p dinit-core --bench engine -- {{mode}}
    DINIT_BENCH_REF_DIR="$PWD/target/peers/dinit/src" DINIT_BENCH_PACKAGED_DIR="$(packaging/build.sh bin 2>/dev/null)" \
        cargo bench -p dinit-hosted --bench daemon -- {{mode}}

# Boot side by side with Dinit under QEMU: the image of `just image` and the same image with the
# reference Dinit as process 1 (dynamic as build-dinit.sh builds it, and linked statically;
# qemu-images/reference.sh), N boots of each (default 3), interleaved, in two modes (plain TCG,
# and -icount, whose guest clock does not depend on the host's load); kernel start to init,
# init to the boot set started, poweroff to power-down, from the kernel's timestamps. A table
# per mode with the ratio ours/Dinit, `metric=value` lines, and target/bench-boot.txt
# (docs/BENCH-METHOD.md, "Booting under QEMU"). DINIT_BENCH_BOOT_MODES=tcg (or icount) runs
# one mode only.
# `just bench-boot [N]`: boot and shutdown times beside Dinit's (about 25 s per round and mode).
bench-boot n="3": (setup "bench-boot") image
    qemu-images/reference.sh dynamic >/dev/null
    qemu-images/reference.sh static >/dev/null
    DINIT_BENCH_BOOT_N={{n}} cargo test -p dinit-hosted --test qemu -- --ignored --exact --nocapture bench_boot_side_by_side

# dinit-core on two microcontroller boards under QEMU (docs/MCU.md): a firmware embedding the
# engine (`small` profile) for a Cortex-M4F (mps2-an386) and a RISC-V rv32imac (virt), built with
# Debian's rustc-web and -Zbuild-std, supervises a few tasks as services; its defmt log is
# decoded and compared with qemu-images/mcu/expected.log. Prints flash and RAM of both;
# `just mcu sizes` also builds them without the engine to show what the engine costs.
mcu mode="run": (setup "mcu")
    qemu-images/mcu/run.sh {{mode}}

# Binary sizes (stripped) and idle memory of the static release build (as the QEMU image has
# it), the static `small` profile (64 services) and the dynamic build.
size:
    hosted/benches/size.sh

# Coverage-guided fuzzing with cargo-fuzz (libFuzzer; `cargo install cargo-fuzz --locked`).
# Runs every target of fuzz/ for SECONDS each (`just fuzz 10`); prints executions and crashes.
fuzz seconds="60":
    fuzz/run.sh {{seconds}}

# Soak: a mixed workload (start/stop/restart cycles, crashing services, control clients,
# reloads, misbehaving connections) against the release daemon for DURATION (90s, 30m, 2h);
# prints memory, descriptors and control latency every interval and fails unless they stay
# flat (tests/soak.rs).
soak duration="10m":
    SOAK_DURATION={{duration}} cargo test -p dinit-hosted --release --test faults -- --ignored --exact soak::soak --nocapture

# The README's quick start on a fresh Debian 12 machine that has only a Rust toolchain: a
# debootstrapped root (cached in target/fresh) gets this machine's rustup toolchain read-only and
# `git archive HEAD` of this tree, and runs the quick-start lines in a chroot; passes when the demo
# boots and powers off (scripts/fresh-check.sh; 4 to 8 minutes). `just fresh-check all` runs
# `just test` there too. Needs root.
[doc("The README's quick start on a fresh Debian 12 root (debootstrap, chroot); 4 to 8 minutes")]
fresh-check mode="demo": (setup "fresh-check")
    scripts/fresh-check.sh {{mode}}

# ---- Cross builds: routers and boards (scripts/cross.sh, docs/CROSS.md) ---------------------
# Debian's Rust toolchain with -Zbuild-std and the gcc cross linkers (scripts/setup.sh cross).
# TARGET: aarch64, armv7, riscv64, mipsel (with the `small` profile), mips, or a Rust triple.

# `just cross [TARGET...]`: the static programs and dinit-box (the packages' build: release
# profile, glibc linked in, fixed addresses), stripped, in target/cross/TARGET/, with a size
# table. No TARGET: aarch64, armv7, riscv64 and mipsel (about 2 minutes each, once).
[doc("Static programs and dinit-box for TARGET (aarch64 armv7 riscv64 mipsel; default all four) in target/cross/TARGET, with sizes")]
cross *targets: (setup "cross")
    scripts/cross.sh build {{targets}}

# The unit tests of dinit-core and dinit-hosted for TARGET under qemu-user: `just cross-test
# armv7` (32-bit little-endian), `just cross-test mips` (big-endian). What cannot run there:
# docs/CROSS.md.
[doc("Unit tests of both crates for TARGET (default armv7; mips: big-endian) under qemu-user")]
cross-test target="armv7": (setup "cross")
    scripts/cross.sh test {{target}}

# Clippy of both crates for a 32-bit target (armv7), warnings denied: the CI guard that keeps
# them compiling for 32-bit machines (`just test` runs it after `lint`). `just cross-lint all`
# also checks the tests and benchmarks.
[doc("Clippy of both crates for armv7 (32-bit), warnings denied: the CI guard; `all` adds tests and benches")]
cross-lint scope="": (setup "cross-lint")
    scripts/cross.sh lint armv7 {{scope}}

# The arm64 and armhf packages (`just deb arm64`, `just rpm armhf`) checked: architecture in
# their metadata, programs for that machine, lintian and rpmlint, `dinit --version` under
# qemu-user (tests/packages.rs, cross_packages_*).
[doc("The arm64 and armhf packages: architecture, programs (file), lintian, rpmlint, dinit --version under qemu-user")]
packages-cross-test: (setup "packages-test") (setup "cross")
    cargo test -p dinit-hosted --test packages -- --ignored --nocapture --test-threads 1 cross_packages
