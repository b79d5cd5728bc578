# dinit-rs tasks. `just test` is what CI runs (through .ci/run); `just --list` shows them all.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Everything CI checks: formatting and lints, all tests, the no-panic proof, the docs.
test: lint unit nopanic doc

# Build the workspace (release profile: LTO, one codegen unit, size-optimised, abort on panic).
build:
    cargo build --workspace --release

# Unit, property and integration tests of every crate.
unit:
    cargo test --workspace

# rustfmt check and clippy with warnings denied (also for the optional features of the core).
lint:
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

# The engine's deterministic simulator over many seeds: `just sim 20000 1000`.
sim seeds="2000" steps="800" first="0":
    SIM_FIRST_SEED={{first}} SIM_SEEDS={{seeds}} SIM_STEPS={{steps}} \
        cargo test --release -p dinit-core --lib sim_many -- --ignored --nocapture
