//! dinit-core on a microcontroller (docs/MCU.md).
//!
//! A bare-metal firmware for a Cortex-M4F (QEMU `mps2-an386`) and a RISC-V rv32imac board (QEMU
//! `virt`) that embeds the service engine of `dinit-core` with the `small` capacity profile and
//! supervises a few tasks as services: dependencies, a task that crashes and is restarted by its
//! restart policy after its restart delay, a stop of the whole set and a shutdown. It logs with
//! `defmt` over semihosting and ends QEMU with its exit status (0: the scenario ran as the
//! firmware expected). `run.sh` (`just mcu`) decodes the log on the host and compares it with
//! `expected.txt`.
//!
//! With the feature `no-engine` it is the same firmware without the engine and its tasks (the
//! board start-up, the logger, one message): the difference in size is what the engine costs.

#![no_std]
#![no_main]

mod logger;
#[cfg(not(feature = "no-engine"))]
mod services;

/// Runs the scenario; the exit status for QEMU.
#[cfg(not(feature = "no-engine"))]
fn run() -> i32 {
    services::run()
}

#[cfg(feature = "no-engine")]
fn run() -> i32 {
    logger::set_time_ms(0);
    defmt::info!("firmware without the engine");
    0
}

#[cfg_attr(target_arch = "arm", cortex_m_rt::entry)]
#[cfg_attr(target_arch = "riscv32", riscv_rt::entry)]
fn main() -> ! {
    let status = run();
    semihosting::process::exit(status)
}

/// No code path of the firmware is expected to panic; if one did, the run fails loudly.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    defmt::error!("panic");
    semihosting::process::exit(101)
}
