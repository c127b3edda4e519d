//! MMU virtualization: per-vCPU MMU state, the MMU hypercalls, and TLB-miss handling.
//! (Being written.)

/// A vCPU's MMU state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MmuState {
    /// Whether the guest turned its MMU on (`mmu_enable`).
    pub enabled: bool,
}
