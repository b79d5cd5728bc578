#!/usr/bin/env bash
# `just fresh-check`: the README's quick start, tried the way a newcomer would, on a fresh Debian 12
# machine that has nothing but a Rust toolchain. It passes when the demo boots and powers off.
#
#   1. A clean Debian 12 minbase root (packaging/debian-root.sh, debootstrap, cached) with what
#      a Rust toolchain needs to link (gcc, libc6-dev) and HTTPS certificates, its package lists
#      emptied as on a freshly installed machine (cached in target/fresh/machine).
#   2. A copy of it (target/fresh/run) gets this machine's rustup toolchain read-only
#      (RUSTUP_HOME bind-mounted read-only, the rustup proxies on PATH; no cargo tools, no just),
#      this machine's resolver and trusted certificate authorities, and `git archive HEAD` of this repository in /root/dinit-rs: committed work only.
#   3. The lines of the README's first "Quick start" block (`just fresh-check all`: of every sh
#      block of that section, so `just test` too) run there, in a chroot as root with /proc,
#      /sys and /dev mounted (in a mount namespace of their own), with network access for
#      crates.io and Debian's archive. Their output goes to target/fresh/quick-start.log.
#
# Needs root and debootstrap. Takes 4 to 8 minutes on 2 cores (docs/DEVELOPING.md).
set -euo pipefail
mode=${1:-demo}
[[ $mode == demo || $mode == all ]] || { echo "usage: scripts/fresh-check.sh [demo|all]" >&2; exit 2; }
ws=$(cd "$(dirname "$0")/.." && pwd)
cd "$ws"
out=$ws/target/fresh
machine=$out/machine
run=$out/run
log=$out/quick-start.log
start=$(date +%s)
say() { echo "fresh-check: [$(($(date +%s) - start)) s] $*" >&2; }
die() {
    echo "fresh-check: error: $*" >&2
    exit 1
}
((EUID == 0)) || die "must run as root (debootstrap, chroot, mounts)"
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
rustup_bin=$(command -v rustup) || die "rustup not found: the fresh machine gets this machine's rustup toolchain"
[[ -d $rustup_home/toolchains ]] || die "no rustup toolchains in $rustup_home"

# unmounted_or_die DIR: nothing is mounted at or under DIR (so removing it cannot reach the host).
unmounted_or_die() {
    if findmnt -rn -o TARGET | grep -q "^$1\(/\|$\)"; then
        die "something is still mounted under $1; unmount it first (findmnt | grep $1)"
    fi
}

# --- 1. the fresh machine ------------------------------------------------------------------------
if [[ ! -e $machine/.complete ]]; then
    base=$(packaging/debian-root.sh)
    say "making the fresh machine from $base"
    unmounted_or_die "$machine"
    rm -rf --one-file-system "$machine" "$machine.tmp"
    mkdir -p "$out"
    cp -a "$base" "$machine.tmp"
    cp -L /etc/resolv.conf "$machine.tmp/etc/resolv.conf"
    unshare --mount --propagation private bash -euc '
        root=$1
        mount -t proc proc "$root/proc"
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            DEBIAN_FRONTEND=noninteractive sh -ec "
            apt-get update -qq
            apt-get install -y -qq --no-install-recommends ca-certificates gcc libc6-dev >/dev/null
            apt-get clean
            rm -rf /var/lib/apt/lists/*"
    ' - "$machine.tmp" || die "installing the toolchain's prerequisites into the fresh machine failed"
    rm -f "$machine.tmp/.complete"
    mv "$machine.tmp" "$machine"
    touch "$machine/.complete"
fi

# --- 2. this run's copy, the toolchain, the tree ---------------------------------------------------
unmounted_or_die "$run"
rm -rf --one-file-system "$run"
say "copying the fresh machine"
cp -a "$machine" "$run"
rm -f "$run/.complete"
# The network as this machine sees it: its resolver and the certificate authorities it trusts
# (a network may intercept HTTPS with its own authority, which every machine on it then trusts).
cp -L /etc/resolv.conf "$run/etc/resolv.conf"
cp -L /etc/ssl/certs/ca-certificates.crt "$run/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$run/opt/rustup" "$run/usr/local/rust/bin" "$run/root/dinit-rs"
cp "$rustup_bin" "$run/usr/local/rust/bin/rustup"
for proxy in cargo rustc rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver; do
    ln -s rustup "$run/usr/local/rust/bin/$proxy"
done
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
    say "the work tree has uncommitted changes; they are not part of the check (git archive HEAD)"
fi
git archive --format=tar HEAD | tar -x -C "$run/root/dinit-rs"
say "tree: $(git rev-parse --short HEAD) $(git log -1 --format=%s | cut -c1-60)"

# The quick start: the first ```sh block after the README's "## Quick start" heading, or (all)
# every such block up to the next heading.
awk -v all="$([[ $mode == all ]] && echo 1 || echo 0)" '
     /^## / {if (q) exit; q = ($0 ~ /^## Quick start/); next}
     q && /^```sh/ {b = 1; next}
     b && /^```/ {b = 0; if (!all) exit; next}
     b {print}' README.md >"$run/root/quick-start.sh"
[[ -s $run/root/quick-start.sh ]] || die "README.md has no \`\`\`sh block under '## Quick start'"
say "the README's quick start:"
sed 's/^/    /' "$run/root/quick-start.sh" >&2

# --- 3. run it ---------------------------------------------------------------------------------------
say "running it in a chroot (output in $log)"
set +e
unshare --mount --propagation private bash -euc '
    root=$1 rustup_home=$2
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --rbind /dev "$root/dev"
    mount --bind "$rustup_home" "$root/opt/rustup"
    mount -o remount,bind,ro "$root/opt/rustup"
    exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        RUSTUP_HOME=/opt/rustup \
        PATH=/root/.cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        bash -c "cd /root/dinit-rs && bash -ex /root/quick-start.sh" </dev/null
' - "$run" "$rustup_home" >"$log" 2>&1
status=$?
set -e

took=$(($(date +%s) - start))
if ((status == 0)) && grep -q "E2E: list end" "$log" && grep -q "reboot: Power down" "$log"; then
    say "passed: the demo booted, listed its services and powered off (total $took s)"
    exit 0
fi
tail -n 40 "$log" >&2
die "the quick start failed (exit status $status, $took s); whole output in $log"
