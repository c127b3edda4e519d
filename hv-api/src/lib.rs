//! sun4v hypervisor API definitions for the UltraSPARC T1 hypervisor firmware.
//!
//! Everything here is plain data and pure functions usable from both the
//! hypervisor and guests: trap and function numbers, status codes, API
//! groups, MMU/TSB/queue/LDC formats and a zero-allocation reader for machine
//! descriptions. The `guest` module (sparc64 only) holds the guest-side
//! call wrappers.
//!
//! The numbers are taken from the project's API digest
//! (`shared/reference/hv-api.md`, cited as "hv-api.md §N") which restates the
//! sun4v hypervisor API from Sun's OpenSPARC hypervisor sources
//! (github `sun4v/hypervisor`, cited as "OSH") and other public sources.
//! Every number is pinned by a `const_assert_eq!` or a unit test.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(target_arch = "sparc64", feature(asm_experimental_arch))]

pub mod cons;
pub mod core_fn;
pub mod cpu_state;
pub mod error;
pub mod group;
#[cfg(target_arch = "sparc64")]
pub mod guest;
pub mod hcall;
pub mod hv_md;
pub mod ldc;
pub mod md;
pub mod mmu;
pub mod queue;
pub mod soft_state;
pub mod trap;

pub use error::{HvError, HvResult, EOK};
