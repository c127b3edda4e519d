//! The sun4v hypervisor for UltraSPARC T1 (QEMU `-M niagara`).
//!
//! Layers, bottom up:
//! * [`arch`]: the only place with assembly and `unsafe`: reset entry, the hyperprivileged
//!   trap table, register-window save/restore, guest entry, physical memory and device
//!   access. `arch::sparc64` runs on the machine; `arch::fake` stands in for it in host
//!   unit tests (as Hafnium's `src/arch/fake`).
//! * [`hv_config`]: the hypervisor MD read into fixed tables (parse, validate, then commit).
//! * [`hypervisor`], [`hcall`], [`version`], [`domain`], [`guest_memory`]: the portable core,
//!   safe Rust over typed addresses ([`addr::Ra`], [`addr::Pa`]) and checked guest memory.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(target_arch = "sparc64", feature(asm_experimental_arch))]
#![deny(missing_docs)]
// `unsafe` lives in the arch layer only (`arch::sparc64` allows it, with a SAFETY note on
// every block); everything else is safe Rust.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod addr;
pub mod arch;
pub mod concentrator;
pub mod console;
pub mod cpu;
pub mod domain;
pub mod guest_memory;
pub mod hardware;
pub mod hcall;
pub mod hv_config;
pub mod hypervisor;
pub mod intr;
pub mod ldc;
pub mod mmu;
pub mod sync;
pub mod trap;
pub mod ttrace;
pub mod vcpu;
pub mod vdisk;
pub mod version;

#[cfg(test)]
mod cpu_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod hcall_tests;
#[cfg(test)]
mod ldc_fuzz_tests;
#[cfg(test)]
mod ldc_tests;
#[cfg(test)]
mod mmu_tests;
#[cfg(test)]
mod smp_tests;
#[cfg(test)]
mod test_bench;
#[cfg(test)]
mod test_md;

/// The banner the hypervisor prints at boot.
pub const BANNER: &str =
    concat!("sun4v-hv ", env!("CARGO_PKG_VERSION"), ": Rust sun4v hypervisor for UltraSPARC T1 (QEMU niagara)");
