//! Function numbers of the unversioned core trap (`ta 0xff`, function in `%o5`).
//!
//! Source: hv-api.md §2.1; OSH `src/include/hypervisor.h` (`API_VER`,
//! `API_PUTCHAR`, `API_EXIT`), `src/common/src/hcall.s` `.core_table`;
//! LNX-HV `HV_CORE_SET_VER` … `HV_CORE_GET_VER`.

/// `api_set_version(group, major, minor)` → status, actual minor (hv-api.md §2.1, §1.3).
pub const API_SET_VERSION: u64 = 0x00;
/// `api_putchar(c)` → status (hv-api.md §2.1).
pub const API_PUTCHAR: u64 = 0x01;
/// `api_exit(code)`, does not return (hv-api.md §2.1).
pub const API_EXIT: u64 = 0x02;
/// `api_get_version(group)` → status, major, minor (hv-api.md §2.1, §1.3).
pub const API_GET_VERSION: u64 = 0x03;
/// Number of core-trap functions; `%o5` ≥ this returns `EBADTRAP` (hv-api.md §2.1).
pub const COUNT: u64 = 4;

static_assertions::const_assert_eq!(API_SET_VERSION, 0x00);
static_assertions::const_assert_eq!(API_PUTCHAR, 0x01);
static_assertions::const_assert_eq!(API_EXIT, 0x02);
static_assertions::const_assert_eq!(API_GET_VERSION, 0x03);
static_assertions::const_assert_eq!(COUNT, 4);
