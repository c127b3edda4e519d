//! The project's own guest firmware for sun4v domains: what Sun's OpenBoot does for Linux,
//! without Forth. It is the domain's image (privileged mode, a client of the hypervisor
//! through `hv-api`), builds an IEEE 1275 device tree from the domain's guest MD
//! ([`tree`]), loads an ELF kernel and initramfs from a boot image ([`boot`]) and serves
//! the client interface Linux 6.1 calls ([`cif`]).
//!
//! This library is the portable part, tested on the host; the sparc64 binary
//! (`src/main.rs`, `src/arch.rs`, `src/entry.s`) adds the start code, the trap table and
//! the hypervisor-backed [`cif::Platform`]. See docs/guest-firmware.md.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]

pub mod boot;
pub mod cif;
#[cfg(any(test, feature = "std"))]
pub mod image;
pub mod tree;

#[cfg(test)]
mod tests;
