//! Console special values (hv-api.md §2.3, §3; OSH `src/include/hypervisor.h`).

/// `cons_getchar`/`cons_read` BREAK indication, and the `cons_putchar`
/// argument that sends a BREAK: -1 (hv-api.md §2.3; OSH `CONS_BREAK`).
pub const CONS_BREAK: u64 = -1i64 as u64;
/// `cons_getchar`/`cons_read` hang-up indication: -2 (hv-api.md §2.3; OSH `CONS_HUP`).
pub const CONS_HUP: u64 = -2i64 as u64;
/// Highest ordinary character value for `cons_putchar` (OSH `MAX_CHAR`).
pub const MAX_CHAR: u64 = 255;

static_assertions::const_assert_eq!(CONS_BREAK, 0xffff_ffff_ffff_ffff);
static_assertions::const_assert_eq!(CONS_HUP, 0xffff_ffff_ffff_fffe);
static_assertions::const_assert_eq!(MAX_CHAR, 255);
