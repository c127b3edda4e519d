//! The sun4v test guest: a bare-metal Rust guest, built on `hv_api::guest`, that calls every
//! hypercall of the core API with good and bad arguments and prints one line per check:
//! `test-guest: ok <name>` or `test-guest: FAIL <name>: <detail>`. It ends with
//! `test-guest: all tests passed` (or a failure count), then `mach_sir`; the restarted guest
//! checks the reset state and leaves with `mach_exit(0)`.
#![cfg_attr(target_arch = "sparc64", no_std, no_main)]
#![cfg_attr(target_arch = "sparc64", feature(asm_experimental_arch))]

#[cfg(not(target_arch = "sparc64"))]
fn main() {
    eprintln!("the test guest is a sparc64 image: build it with `cargo xtask firmware`");
}

#[cfg(target_arch = "sparc64")]
mod guest;
