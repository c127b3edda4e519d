//! The hypervisor image. Everything lives in the `firmware` library; on sparc64 its arch
//! layer provides the reset entry, so this binary only links it in.
#![cfg_attr(target_arch = "sparc64", no_std, no_main)]

#[cfg(target_arch = "sparc64")]
use firmware as _;

#[cfg(not(target_arch = "sparc64"))]
fn main() {
    eprintln!("the firmware is a sparc64 image: build it with `cargo xtask firmware`");
}
