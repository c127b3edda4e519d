//! Guest soft state (hv-api.md §2.4; OSH `src/include/hypervisor.h`,
//! `soft_state_set`/`soft_state_get`).

/// Soft state NORMAL (hv-api.md §2.4).
pub const NORMAL: u64 = 1;
/// Soft state TRANSITION (set by the HV whenever it (re)starts a guest) (hv-api.md §2.4).
pub const TRANSITION: u64 = 2;
/// Length of the description buffer in bytes (also its alignment) (hv-api.md §2.4).
pub const DESCRIPTION_LEN: usize = 32;
/// Maximum description characters, excluding the NUL (hv-api.md §2.4).
pub const DESCRIPTION_MAX_CHARS: usize = 31;

static_assertions::const_assert_eq!(NORMAL, 1);
static_assertions::const_assert_eq!(TRANSITION, 2);
static_assertions::const_assert_eq!(DESCRIPTION_LEN, 32);
static_assertions::const_assert_eq!(DESCRIPTION_MAX_CHARS + 1, DESCRIPTION_LEN);
