//! Hyperprivileged check image for the patched QEMU (`qemu-sun4v/patches/`): a `reset.bin`
//! that runs on `-M niagara -smp 4` and checks, one line each, the UltraSPARC T1 features
//! the series emulates: strand IDs (`%asr26`) and `%hver`, strand resume and idle through
//! the IOB, an interrupt vector sent to another strand, `hstick_match` in hyperprivileged
//! mode, `wrhpr %hpstate` delivering a pending interrupt, a cpu mondo queued by the
//! hypervisor reaching the privileged trap table at 0x7c, and the tail registers being
//! read-only to privileged code. It prints `sun4v-checks: ok <name>` or
//! `sun4v-checks: FAIL <name>`, the cross-strand interrupt round trip, and ends with
//! `sun4v-checks: done`. All cross-strand waits are handshakes bounded by a STICK deadline.
//! The code is all assembly (`checks.s`).
#![cfg_attr(target_arch = "sparc64", no_std, no_main)]
#![cfg_attr(target_arch = "sparc64", feature(asm_experimental_arch))]

#[cfg(not(target_arch = "sparc64"))]
fn main() {
    eprintln!("sun4v-checks is a sparc64 reset.bin: `cargo xtask test` builds and runs it");
}

#[cfg(target_arch = "sparc64")]
core::arch::global_asm!(concat!(include_str!("../../../platform/asm/macros.s"), include_str!("checks.s")));

#[cfg(target_arch = "sparc64")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
