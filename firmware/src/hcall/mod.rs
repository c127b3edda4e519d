//! Hypercalls: the CORE_TRAP calls (`ta 0xff`, API versioning) and the fast traps (`ta 0x80`),
//! one module per API group (its number, the versions it offers, its dispatch) on the
//! shared call types of [`call`]. Adding a group is one module and one entry in [`GROUPS`]
//! and in [`fast_trap`]'s dispatch.
//!
//! Every handler validates every argument and answers with the spec's status code in
//! `%o0` (hv-api.md §1.2, §2, §3). Registers that are not results of the call are left as
//! the guest passed them. A bad argument is the guest's own business: nothing is logged.

pub mod call;
pub mod core;
pub mod intr;
pub mod ldom;
pub mod soft_state;
pub mod sun4v;

pub use self::core::{cons_putchar, CONS_READ_MAX, CONS_WRITE_MAX};
pub use call::{ApiGroup, Context, Offer, Outcome, Reply};
pub use soft_state::{LEGACY_NVRAM_READ, LEGACY_NVRAM_WRITE};

use crate::trap::TrapFrame;
use hv_api::core_fn;
use hv_api::error::HvError;

/// Every API group the hypervisor offers.
pub const GROUPS: &[ApiGroup] = &[sun4v::GROUP, self::core::GROUP, intr::GROUP, soft_state::GROUP, ldom::GROUP];

/// CORE_TRAP (`ta 0xff`): function in `%o5` (hv-api.md §2.1). Unversioned: always available.
pub fn core_trap(cx: &mut Context<'_>, frame: &TrapFrame) -> Outcome {
    let o = &frame.o;
    match o[5] {
        // api_set_version(group, major, minor) -> actual minor. Errors: EINVAL (unknown
        // group), ENOTSUPPORTED (with the closest version in %o1/%o2).
        core_fn::API_SET_VERSION => match cx.domain.versions.set(o[0], o[1], o[2]) {
            Ok(minor) => Reply::ok1(minor).into(),
            Err(r) => Reply::err2(r.error, r.major, r.minor).into(),
        },
        // api_putchar(c): cons_putchar through the core trap.
        core_fn::API_PUTCHAR => cons_putchar(cx, o[0]).into(),
        // api_exit(code): mach_exit through the core trap.
        core_fn::API_EXIT => Outcome::Exit(o[0]),
        // api_get_version(group) -> major, minor. Errors: EINVAL.
        core_fn::API_GET_VERSION => match cx.domain.versions.get(o[0]) {
            Ok((major, minor)) => Reply::ok2(major, minor).into(),
            Err(e) => Reply::err(e).into(),
        },
        _ => Reply::err(HvError::BadTrap).into(),
    }
}

/// FAST_TRAP (`ta 0x80`): function in `%o5`. Unknown functions and functions outside the
/// negotiated API versions answer `EBADTRAP`; known functions without a handler answer
/// `ENOTSUPPORTED` — none of the offered group versions has such a function (the host test
/// `every_offered_function_has_a_handler` calls each one).
#[inline(always)] // one hypervisor window per hypercall (Hypervisor::handle_trap)
pub fn fast_trap(cx: &mut Context<'_>, frame: &TrapFrame) -> Outcome {
    let function = frame.o[5];
    let o = &frame.o;
    // Before the soft-state group is negotiated, 0x70/0x71 are the NVRAM calls of the
    // Legion/T1 hypervisor that OpenBoot 4.20's `legion-nvram` driver uses (its
    // `nvram-read-fun`/`nvram-write-fun`); the numbers were later given to soft state.
    if (function == LEGACY_NVRAM_READ || function == LEGACY_NVRAM_WRITE) && !cx.domain.versions.soft_state_enabled() {
        return soft_state::legacy_nvram(cx, function == LEGACY_NVRAM_WRITE, o[0], o[1], o[2]).into();
    }
    // Callable under the negotiated versions, and in which group: one load.
    match cx.domain.versions.callable_group(function) {
        None => Reply::err(HvError::BadTrap).into(),
        Some(hv_api::group::CORE) => self::core::dispatch(cx, function, o),
        Some(hv_api::group::INTR) => intr::dispatch(cx, function, o),
        Some(hv_api::group::SOFT_STATE) => soft_state::dispatch(cx, function, o),
        Some(hv_api::group::LDOM) => ldom::dispatch(cx, function, o),
        _ => Reply::err(HvError::NotSupported).into(),
    }
}
