//! Per-domain run-time state.

use crate::addr::Pa;
use crate::intr::Interrupts;
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

/// The run-time state of a domain; its fixed configuration is in `hv_config::DomainConfig`.
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
    /// Guest watchdog (`mach_set_watchdog`): `%stick` value at which it expires, if armed.
    pub watchdog_deadline: Option<u64>,
    /// Largest `mach_set_watchdog` timeout in ms (guest MD `watchdog-max-timeout`, else
    /// [`crate::cpu::WATCHDOG_DEFAULT_MAX_MS`]).
    pub watchdog_max_ms: u64,
    /// The domain's virtual interrupts (INTR 1.0).
    pub interrupts: Interrupts,
    /// Size of the simulated disk in bytes once read from its label (0 = not read yet).
    pub disk_size: u64,
    /// Trap tracing frozen (`ttrace_freeze`; per domain as in Sun's hypervisor).
    pub ttrace_frozen: bool,
    /// Dump buffer (`dump_buf_update`): real address and size, size 0 = none.
    pub dump_buf: (u64, u64),
    /// vCPU id of the boot vCPU.
    pub boot_vid: u64,
    /// A vCPU of the domain is stopping or restarting it (its other vCPUs are being
    /// stopped): `cpu_start` answers `EWOULDBLOCK` meanwhile.
    pub in_transition: bool,
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
            watchdog_deadline: None,
            watchdog_max_ms: crate::cpu::WATCHDOG_DEFAULT_MAX_MS,
            interrupts: Interrupts::default(),
            disk_size: 0,
            ttrace_frozen: false,
            dump_buf: (0, 0),
            boot_vid: 0,
            in_transition: false,
        }
    }

    /// Resets what a guest (re)start resets: API versions and soft state
    /// (hv-api.md §2.4: TRANSITION with an empty description), the watchdog (off), the
    /// virtual interrupts (disabled, idle, aimed at the boot vCPU), trap-trace freeze and
    /// the dump buffer. The disk size stays cached (the disk does not change).
    pub fn reset_for_start(&mut self) {
        self.versions = ApiVersions::at_reset();
        self.soft_state = soft_state::TRANSITION;
        self.soft_state_text = [0; SOFT_STATE_TEXT_LEN];
        self.status = DomainStatus::Running;
        self.watchdog_deadline = None;
        self.interrupts.reset(self.boot_vid);
        self.ttrace_frozen = false;
        self.dump_buf = (0, 0);
    }
}
