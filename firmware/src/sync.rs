//! The hypervisor's lock: a test-and-set spin lock (`spin::Mutex`).
//!
//! A ticket lock (fair, and two 64-bit atomic adds per use where this one needs a masked
//! byte `cas`) was tried and measured 9 instructions cheaper per Rust-path hypercall, but
//! under an emulator that runs more strands than the host has cores, each hand-off waits
//! until the thread holding the next ticket is scheduled again: a host test with four
//! strands on two cores stalled for whole time slices. This lock lets whichever strand runs
//! take it.

/// A spin lock; see the module doc. Lock order: `crate::hypervisor::Hypervisor`'s doc.
pub type Mutex<T> = spin::Mutex<T>;
