//! The guest firmware image (sparc64): start code and trap table (`entry.s`), the boot
//! sequence ([`arch`]) and the hypervisor-backed client-interface services. The portable
//! part is the `guest_firmware` library.
#![cfg_attr(target_arch = "sparc64", no_std, no_main)]
#![cfg_attr(target_arch = "sparc64", feature(asm_experimental_arch))]

#[cfg(not(target_arch = "sparc64"))]
fn main() {
    eprintln!("the guest firmware is a sparc64 image: build it with `cargo xtask firmware --linux`");
}

#[cfg(target_arch = "sparc64")]
mod arch;
