#!/usr/bin/env bash
# Prints the path of a Debian 12 (bookworm) minbase root for the package install tests, made
# with debootstrap on first use and kept in target/pkgtest/bookworm-minbase (about 210 MB; two
# minutes to make, then reused). Tests copy it and never change the cached root itself.
#   DEBIAN_MIRROR   the mirror to use (default http://deb.debian.org/debian)
#   DEBIAN_SUITE    the suite (default bookworm)
# Needs root and debootstrap (apt-get install debootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=$PWD/target/pkgtest/$suite-minbase

if [ ! -e "$cache/.complete" ]; then
    command -v debootstrap >/dev/null 2>&1 || {
        echo "debian-root.sh: debootstrap not found; apt-get install debootstrap" >&2
        exit 1
    }
    mkdir -p "$(dirname "$cache")"
    rm -rf "$cache" "$cache.tmp"
    start=$(date +%s)
    echo "debian-root.sh: debootstrap --variant=minbase $suite from $mirror" >&2
    debootstrap --variant=minbase "$suite" "$cache.tmp" "$mirror" >"$cache.log" 2>&1 || {
        tail -n 20 "$cache.log" >&2
        exit 1
    }
    # What debootstrap downloaded is not needed again.
    rm -rf "$cache.tmp"/var/cache/apt/archives/*.deb
    mv "$cache.tmp" "$cache"
    touch "$cache/.complete"
    echo "debian-root.sh: made in $(($(date +%s) - start)) s" >&2
fi
echo "$cache"
