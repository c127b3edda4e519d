//! The architecture layer, picked in this one place: `sparc64` on the machine, `fake` on
//! the host (unit tests).

#[cfg(all(test, not(target_arch = "sparc64")))]
pub mod fake;
#[cfg(target_arch = "sparc64")]
pub mod sparc64;
