//! Opaque address types: a guest real address ([`Ra`]) is never used as a physical address
//! ([`Pa`]) without going through a domain's memory map (`GuestMemory::translate`).

use core::fmt;

/// A guest real address: what a guest passes to hypercalls and uses with its MMU off.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Ra(u64);

/// A physical address: what the hypervisor dereferences.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pa(u64);

impl Ra {
    /// Wraps a raw real address.
    pub const fn new(raw: u64) -> Self {
        Ra(raw)
    }
    /// The raw value.
    pub const fn raw(self) -> u64 {
        self.0
    }
    /// Whether the address is a multiple of `align` (a power of two).
    pub const fn is_aligned(self, align: u64) -> bool {
        self.0 & (align - 1) == 0
    }
}

impl Pa {
    /// Wraps a raw physical address.
    pub const fn new(raw: u64) -> Self {
        Pa(raw)
    }
    /// The raw value.
    pub const fn raw(self) -> u64 {
        self.0
    }
    /// The address `offset` bytes further on.
    pub const fn add(self, offset: u64) -> Self {
        Pa(self.0 + offset)
    }
}

impl fmt::Debug for Ra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RA {:#x}", self.0)
    }
}

impl fmt::Debug for Pa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PA {:#x}", self.0)
    }
}
