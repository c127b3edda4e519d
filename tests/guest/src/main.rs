//! The sun4v test guest: a bare-metal Rust guest, built on `hv_api::guest`, that calls every
//! hypercall it tests with good and bad arguments and prints one line per check:
//! `test-guest: ok <name>` or `test-guest: FAIL <name>: <detail>`. Core API tests run with
//! the MMU off; the MMU tests then turn it on (kernel in context 0, a user context with its
//! own TSB, faults handled through the fault status area, permanent mappings, demaps,
//! hostile TSB contents). When the guest MD lists more than one vCPU, the SMP tests
//! (`smp.rs`) then start the others and exchange cpu mondos with them (case `smp`). When it
//! lists channel endpoints, the LDC tests (`ldc.rs`) run against the guest in the other
//! domain, which runs the same image (case `two-domains-ldc`). It ends
//! with `test-guest: all tests passed` (or a failure count),
//! then `mach_sir`; the restarted guest checks the reset state and leaves with
//! `mach_exit(0)`.
#![cfg_attr(target_arch = "sparc64", no_std, no_main)]
#![cfg_attr(target_arch = "sparc64", feature(asm_experimental_arch))]

#[cfg(not(target_arch = "sparc64"))]
fn main() {
    eprintln!("the test guest is a sparc64 image: build it with `cargo xtask firmware`");
}

#[cfg(target_arch = "sparc64")]
#[macro_use]
mod rt;
#[cfg(all(target_arch = "sparc64", guest_bench))]
mod bench;
#[cfg(all(target_arch = "sparc64", guest_bench))]
mod bench_ldc;
#[cfg(all(target_arch = "sparc64", guest_bench))]
mod bench_smp;
#[cfg(target_arch = "sparc64")]
mod console_intr;
#[cfg(target_arch = "sparc64")]
mod core_tests;
#[cfg(target_arch = "sparc64")]
mod fault;
#[cfg(all(target_arch = "sparc64", guest_hostile))]
mod hostile;
#[cfg(target_arch = "sparc64")]
#[cfg_attr(any(guest_bench, guest_fault, guest_hostile, guest_console_intr), allow(dead_code))]
mod ldc;
#[cfg(target_arch = "sparc64")]
#[cfg_attr(guest_hostile, allow(dead_code))]
mod mmu_tests;
#[cfg(all(target_arch = "sparc64", guest_ra2pa))]
mod real_access;
#[cfg(target_arch = "sparc64")]
#[cfg_attr(any(guest_bench, guest_fault, guest_hostile, guest_console_intr), allow(dead_code))]
mod smp;
#[cfg(target_arch = "sparc64")]
mod windows;
