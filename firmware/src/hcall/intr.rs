//! The INTR group (0x002; hv-api.md §2.5): device interrupts by sysino. Offered at 1.0,
//! the version Linux uses (it is refused 3.0; 2.0's virtual-interrupt calls come with LDC).

use super::call::{ApiGroup, Context, Offer, Outcome, Reply};
use crate::intr;
use hv_api::error::HvError;
use hv_api::{group, hcall};

/// INTR 1.0.
pub const GROUP: ApiGroup = ApiGroup { number: group::INTR, offers: &[Offer { major: 1, max_minor: 0 }] };

/// Runs the handler of INTR function `function` (`ENOTSUPPORTED` for the 2.0 calls).
#[inline(always)]
pub fn dispatch(cx: &mut Context<'_>, function: u64, o: &[u64; 8]) -> Outcome {
    match function {
        hcall::INTR_DEVINO2SYSINO => intr::intr_devino2sysino(cx, o[0], o[1]).into(),
        hcall::INTR_GETENABLED => intr::intr_getenabled(cx, o[0]).into(),
        hcall::INTR_SETENABLED => intr::intr_setenabled(cx, o[0], o[1]).into(),
        hcall::INTR_GETSTATE => intr::intr_getstate(cx, o[0]).into(),
        hcall::INTR_SETSTATE => intr::intr_setstate(cx, o[0], o[1]).into(),
        hcall::INTR_GETTARGET => intr::intr_gettarget(cx, o[0]).into(),
        hcall::INTR_SETTARGET => intr::intr_settarget(cx, o[0], o[1]).into(),
        // A function of the group without a handler: none of the offered versions has one
        // (the host test `every_offered_function_has_a_handler`).
        _ => Reply::err(HvError::NotSupported).into(),
    }
}
