#!/usr/bin/env bash
# `just mcu`: dinit-core on two microcontroller boards under QEMU (docs/MCU.md).
#
#   qemu-images/mcu/run.sh          build the firmware for both boards, run each under QEMU,
#                                   decode its defmt log and compare it with expected.log;
#                                   print the flash and RAM each firmware takes
#   qemu-images/mcu/run.sh sizes    also build each firmware without the engine (feature
#                                   no-engine) and sum the engine's symbols: what the engine
#                                   alone costs
#
# The boards: a Cortex-M4F (qemu-system-arm -M mps2-an386, thumbv7em-none-eabihf) and a RISC-V
# rv32imac (qemu-system-riscv32 -M virt -bios none, riscv32imac-unknown-none-elf). No rustup
# target can be downloaded here, so the firmware is built with Debian's rustc-web and the
# sources of its core library (-Zbuild-std=core, RUSTC_BOOTSTRAP=1; ../shared/CROSS-NOTES.md),
# linked with LLVM's lld. Debian's cargo gets a CARGO_HOME of its own (in target/mcu) so that it
# never shares a cache with rustup's, and is called by its full path so that rustup's proxies
# in ~/.cargo/bin do not win. The log is decoded by defmt-print (a cargo tool, scripts/setup.sh).
#
# Exits non-zero if a build fails, a firmware does not end within a minute, ends with a status
# other than 0 (it checks its own expectations too) or logs anything else than expected.log.
set -euo pipefail
# A failed build inside $(...) must stop the script too.
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:-run}
[[ $mode == run || $mode == sizes ]] || {
    echo "usage: qemu-images/mcu/run.sh [sizes]" >&2
    exit 2
}

out=${CARGO_TARGET_DIR:-$root/target}/mcu
export CARGO_TARGET_DIR=$out
export CARGO_HOME=$out/cargo-home
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
cargo=/usr/bin/cargo
lld=/usr/bin/ld.lld-22
export CARGO_TARGET_THUMBV7EM_NONE_EABIHF_LINKER=$lld
export CARGO_TARGET_RISCV32IMAC_UNKNOWN_NONE_ELF_LINKER=$lld
for tool in "$cargo" "$RUSTC" "$lld" qemu-system-arm qemu-system-riscv32 defmt-print size nm; do
    command -v "$tool" >/dev/null || {
        echo "mcu: $tool is missing: run scripts/setup.sh mcu" >&2
        exit 1
    }
done

boards=(cortex-m4 riscv32)
declare -A triple=(
    [cortex-m4]=thumbv7em-none-eabihf
    [riscv32]=riscv32imac-unknown-none-elf
)
declare -A qemu=(
    [cortex-m4]="qemu-system-arm -M mps2-an386"
    [riscv32]="qemu-system-riscv32 -M virt -bios none"
)

# build BOARD [FEATURES]: builds the firmware and copies it to target/mcu/BOARD[-FEATURES].elf
# (one cargo target folder for both variants, so that the core library is built once); prints
# that path.
build() {
    local board=$1 features=${2:-}
    local t=${triple[$board]}
    (cd "$here" && "$cargo" build --quiet --locked --release -j2 \
        --target "$t" ${features:+--features "$features"}) >&2
    local elf=$out/$board${features:+-$features}.elf
    cp "$out/$t/release/dinit-mcu" "$elf"
    echo "$elf"
}

# sizes ELF: "flash ram" in bytes. Flash: what is loaded from it (the vector table, code,
# read-only data and the initial values of .data); RAM: .data and .bss (the stack comes on top).
sizes() {
    size -A "$1" | awk '
        $1 ~ /^\.(vector_table|text|init|init\.rust|rodata)$/ { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 ~ /^\.(bss|uninit)$/ { ram += $2 }
        END { print flash + 0, ram + 0 }'
}

failed=0
declare -A flash ram
for board in "${boards[@]}"; do
    echo "mcu: $board: building for ${triple[$board]}" >&2
    elf=$(build "$board")
    read -r flash[$board] ram[$board] < <(sizes "$elf")
    frames=$out/$board.frames
    log=$out/$board.log
    echo "mcu: $board: running under ${qemu[$board]%% *}" >&2
    status=0
    # Semihosting carries the defmt frames to QEMU's standard output and the firmware's exit
    # status to QEMU's; nothing else writes there (no display, monitor or serial port).
    timeout 60 ${qemu[$board]} -display none -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" >"$frames" || status=$?
    defmt-print --log-format '{t} {L} {s}' -e "$elf" <"$frames" >"$log" 2>&1 || true
    # The one line that names the board differs between the two; the rest must not.
    if ! diff -u --label expected.log --label "$board" "$here/expected.log" <(grep -v '^[0-9]* INFO  board: ' "$log"); then
        echo "mcu: $board: the log differs from expected.log (above; whole log in $log)" >&2
        failed=1
    fi
    case $status in
        0) ;;
        124) echo "mcu: $board: the firmware did not end within 60 s" >&2; failed=1 ;;
        *) echo "mcu: $board: the firmware ended with status $status" >&2; failed=1 ;;
    esac
    echo "mcu: $board: $(grep -c . "$log") log lines, status $status" >&2
done

echo "board       flash (B)  RAM (B)"
for board in "${boards[@]}"; do
    printf '%-10s %10s %8s\n' "$board" "${flash[$board]}" "${ram[$board]}"
done
for board in "${boards[@]}"; do
    echo "mcu_${board/-/_}_flash_bytes=${flash[$board]}"
    echo "mcu_${board/-/_}_ram_bytes=${ram[$board]}"
done

if [[ $mode == sizes ]]; then
    echo
    echo "board       without engine: flash  RAM   engine symbols (B)"
    for board in "${boards[@]}"; do
        bare=$(build "$board" no-engine)
        read -r bare_flash bare_ram < <(sizes "$bare")
        # Code and read-only data of functions and constants of dinit_core that survived
        # inlining (what LTO inlined into the firmware's own functions counts there).
        engine_syms=$(nm -S -t d --size-sort -C "$out/$board.elf" |
            awk '$3 ~ /^[tTrR]$/ && $0 ~ /dinit_core::/ { s += $2 } END { print s + 0 }')
        printf '%-10s %21s %6s %16s\n' "$board" "$bare_flash" "$bare_ram" "$engine_syms"
        echo "mcu_${board/-/_}_no_engine_flash_bytes=$bare_flash"
        echo "mcu_${board/-/_}_no_engine_ram_bytes=$bare_ram"
        echo "mcu_${board/-/_}_engine_symbols_bytes=$engine_syms"
    done
fi

if ((failed)); then
    echo "mcu: FAILED" >&2
    exit 1
fi
echo "mcu: both boards ran the scenario as expected" >&2
