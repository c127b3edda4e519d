//! Per-domain run-time state.

use crate::addr::Pa;
use crate::version::ApiVersions;
use hv_api::soft_state;

/// Whether a domain runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainStatus {
    /// Its vCPUs run.
    Running,
    /// Stopped by `mach_exit` (with the exit code) or by its failure policy.
    Stopped,
}

/// Where the guest MD of a domain is, and its size (checked at boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestMd {
    /// Physical address.
    pub pa: Pa,
    /// Size in bytes (the MD header's total).
    pub size: u64,
}

/// Length of the soft-state description (hv-api.md §2.4).
pub const SOFT_STATE_TEXT_LEN: usize = 32;

/// The run-time state of a domain; its fixed configuration is in `config::DomainConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Negotiated API versions.
    pub versions: ApiVersions,
    /// Soft state (`soft_state_set`): NORMAL or TRANSITION.
    pub soft_state: u64,
    /// Soft-state description, NUL padded.
    pub soft_state_text: [u8; SOFT_STATE_TEXT_LEN],
    /// Seconds added to the platform clock by `tod_set`.
    pub tod_offset: i64,
    /// The guest MD.
    pub md: GuestMd,
    /// Running or stopped.
    pub status: DomainStatus,
    /// Console: whether the next byte starts a line (for the domain-name prefix).
    pub console_at_line_start: bool,
}

impl Domain {
    /// A domain as it is before its first start.
    pub fn new(md: GuestMd) -> Self {
        Domain {
            versions: ApiVersions::at_reset(),
            soft_state: soft_state::TRANSITION,
            soft_state_text: [0; SOFT_STATE_TEXT_LEN],
            tod_offset: 0,
            md,
            status: DomainStatus::Running,
            console_at_line_start: true,
        }
    }

    /// Resets what a guest (re)start resets: API versions and soft state
    /// (hv-api.md §2.4: TRANSITION with an empty description).
    pub fn reset_for_start(&mut self) {
        self.versions = ApiVersions::at_reset();
        self.soft_state = soft_state::TRANSITION;
        self.soft_state_text = [0; SOFT_STATE_TEXT_LEN];
        self.status = DomainStatus::Running;
    }
}
