#!/usr/bin/env bash
# Builds the packages into target/packages/ (see packaging/README.md):
#   packaging/build.sh deb    dinit-rs and dinit-rs-init .debs (cargo-deb)
#   packaging/build.sh rpm    the same two as .rpms (rpmbuild, from the .debs' payload)
#   packaging/build.sh all    both
#   packaging/build.sh bin    only the programs they carry; prints the folder that holds them
#   packaging/build.sh deb|rpm|all|bin TARGET
#                             the same for another architecture (aarch64 or arm64, armv7 or
#                             armhf, ...; scripts/cross.sh, docs/CROSS.md): the programs from its
#                             cross build, the packages in target/packages/ARCH/
# Needs: cargo-deb (`cargo install cargo-deb --locked`) and dpkg-deb; for rpm, rpmbuild (the
# Debian package `rpm`). Run as any user: file owners in the packages are root either way.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/target/packages
# A cross target (second argument): its Rust triple, and its name in Debian and RPM.
cross=
if [ -n "${2:-}" ]; then
    cross=$(scripts/cross.sh triple "$2")
    case $cross in
        aarch64-*) debarch=arm64 rpmarch=aarch64 ;;
        armv7-*) debarch=armhf rpmarch=armv7hl ;;
        riscv64*) debarch=riscv64 rpmarch=riscv64 ;;
        mipsel-*) debarch=mipsel rpmarch=mipsel ;;
        mips-*) debarch=mips rpmarch=mips ;;
    esac
    out=$root/target/packages/$debarch
else
    debarch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
    rpmarch=
fi
mkdir -p "$out"

# The workspace version, and the Debian revision cargo-deb gives (its default, "1").
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
revision=1
debver=$version-$revision
deb_main=dinit-rs_${debver}_$debarch.deb
deb_init=dinit-rs-init_${debver}_all.deb

# The one-line synopsis of each package; cargo-deb would use the crate's description for both.
synopsis_main="service manager and init system (Dinit reimplemented in Rust)"
synopsis_init="dinit-rs as the system init: /sbin/init and shutdown commands"

# The programs the packages carry: statically linked and not position-independent, the build
# the QEMU images boot and `just size` measures (same flags, same target folder, so the three
# share one build). Why static, and what it changes (user lookups in /etc/passwd and
# /etc/group only, no address randomisation of the programs' own code and data):
# packaging/README.md, "Static binaries".
target=$(rustc -vV | sed -n 's/^host: //p')
static_dir=$root/target/static
bindir=$static_dir/$target/release

build_bin() {
    RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
        cargo build --release --target "$target" -p dinit-hosted --target-dir "$static_dir"
}
# A cross build has the same flags and profile (scripts/cross.sh), in its own folder.
if [ -n "$cross" ]; then
    target=$cross
    static_dir=$root/target/cross/build
    bindir=$static_dir/$target/release
    build_bin() {
        scripts/cross.sh bin "$target" >/dev/null
    }
fi

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "packaging/build.sh: '$1' not found; $2" >&2
        exit 1
    }
}

# fix_control DEB OUT SYNOPSIS [DEPENDS]: rebuilds DEB as OUT with the package's own synopsis
# (and Depends), and the md5sums that dpkg --verify uses (cargo-deb writes none). A package
# without any architecture-dependent file (dinit-rs-init: only links) becomes Architecture: all.
fix_control() {
    local deb=$1 new=$2 synopsis=$3 depends=${4:-} tmp
    tmp=$(mktemp -d)
    dpkg-deb -R "$deb" "$tmp/pkg"
    sed -i "s|^Description: .*|Description: $synopsis|" "$tmp/pkg/DEBIAN/control"
    if [ -n "$depends" ]; then
        sed -i "s|^Depends: .*|Depends: $depends|" "$tmp/pkg/DEBIAN/control"
    fi
    # cargo-deb writes an empty field for an emptied list in a variant.
    sed -i '/^[A-Za-z-]*: *$/d' "$tmp/pkg/DEBIAN/control"
    if [ -z "$(find "$tmp/pkg" -path "$tmp/pkg/DEBIAN" -prune -o -type f -perm -u+x -print)" ]; then
        sed -i 's/^Architecture: .*/Architecture: all/' "$tmp/pkg/DEBIAN/control"
    fi
    (cd "$tmp/pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
        | xargs -0 -r md5sum) > "$tmp/md5sums"
    mv "$tmp/md5sums" "$tmp/pkg/DEBIAN/md5sums"
    chmod 644 "$tmp/pkg/DEBIAN/md5sums"
    rm "$deb"
    dpkg-deb --root-owner-group -Zxz -b "$tmp/pkg" "$new" >/dev/null
    rm -rf "$tmp"
}

build_deb() {
    need cargo-deb "install it with: cargo install cargo-deb --locked"
    need dpkg-deb "install it with: apt-get install dpkg"
    build_bin
    rm -f "$out"/dinit-rs*.deb
    # With --target, cargo-deb takes the assets' target/release/ from
    # $CARGO_TARGET_DIR/TARGET/release/.
    CARGO_TARGET_DIR=$static_dir cargo deb -p dinit-hosted --target "$target" --no-build \
        --no-strip -o "$out/cargo-deb-main.deb"
    CARGO_TARGET_DIR=$static_dir cargo deb -p dinit-hosted --target "$target" --no-build \
        --no-strip --variant init -o "$out/cargo-deb-init.deb"
    fix_control "$out/cargo-deb-main.deb" "$out/$deb_main" "$synopsis_main"
    fix_control "$out/cargo-deb-init.deb" "$out/$deb_init" "$synopsis_init" "dinit-rs (= $debver)"
    ls -l "$out"/*.deb
}

build_rpm() {
    need rpmbuild "install it with: apt-get install rpm"
    local main=$out/$deb_main init=$out/$deb_init
    if [ ! -f "$main" ] || [ ! -f "$init" ]; then
        echo "packaging/build.sh: build the .debs first (packaging/build.sh deb)" >&2
        exit 1
    fi
    local top=$root/target/rpmbuild${cross:+-$debarch}
    rm -rf "$top" && mkdir -p "$top"
    rm -f "$out"/dinit-rs*.rpm
    local arch=()
    [ -n "$rpmarch" ] && arch=(--target "$rpmarch-linux")
    rpmbuild -bb --quiet "${arch[@]}" \
        --define "_topdir $top" \
        --define "_rpmdir $out" \
        --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
        --define "pkg_version $version" \
        --define "pkg_release $revision" \
        --define "deb_main $main" \
        --define "deb_init $init" \
        packaging/rpm/dinit-rs.spec
    ls -l "$out"/*.rpm
}

case ${1:-all} in
    bin)
        build_bin >&2
        echo "$bindir"
        ;;
    deb) build_deb ;;
    rpm) build_rpm ;;
    all)
        build_deb
        build_rpm
        ;;
    *)
        echo "usage: packaging/build.sh deb|rpm|all|bin [TARGET]" >&2
        exit 2
        ;;
esac
