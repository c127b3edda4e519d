//! vCPU states returned by `cpu_state` (hv-api.md §2.3; OSH
//! `src/include/hypervisor.h` `CPU_STATE_*`).

/// Not a valid public state (OSH `CPU_STATE_INVALID`).
pub const INVALID: u64 = 0;
/// CPU not started (hv-api.md §2.3; OSH `CPU_STATE_STOPPED`).
pub const STOPPED: u64 = 1;
/// CPU running guest code (hv-api.md §2.3; OSH `CPU_STATE_RUNNING`).
pub const RUNNING: u64 = 2;
/// CPU in the error state (hv-api.md §2.3; OSH `CPU_STATE_ERROR`).
pub const ERROR: u64 = 3;

static_assertions::const_assert_eq!(INVALID, 0);
static_assertions::const_assert_eq!(STOPPED, 1);
static_assertions::const_assert_eq!(RUNNING, 2);
static_assertions::const_assert_eq!(ERROR, 3);
