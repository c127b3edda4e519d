//! The INTR group (0x002; hv-api.md §2.5): device interrupts by sysino (1.0) and the
//! virtual interrupts of channels by (devhandle, devino) (`vintr_*`, numbered 2.0).
//! Offered at 1.0, with the `vintr_*` calls: Linux is refused 3.0 and uses 1.0, where it
//! calls `vintr_*` for channel interrupts, and Sun's hypervisor answers them there
//! ([`crate::version`]).

use super::call::{ApiGroup, Context, Offer, Outcome, Reply};
use crate::{intr, ldc};
use hv_api::error::HvError;
use hv_api::{group, hcall};

/// INTR 1.0 (with the `vintr_*` calls).
pub const GROUP: ApiGroup = ApiGroup { number: group::INTR, offers: &[Offer { major: 1, max_minor: 0 }] };

/// Runs the handler of INTR function `function`.
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
        hcall::VINTR_GETCOOKIE => ldc::vintr_getcookie(cx, o[0], o[1]).into(),
        hcall::VINTR_SETCOOKIE => ldc::vintr_setcookie(cx, o[0], o[1], o[2]).into(),
        hcall::VINTR_GETVALID => ldc::vintr_getvalid(cx, o[0], o[1]).into(),
        hcall::VINTR_SETVALID => ldc::vintr_setvalid(cx, o[0], o[1], o[2]).into(),
        hcall::VINTR_GETSTATE => ldc::vintr_getstate(cx, o[0], o[1]).into(),
        hcall::VINTR_SETSTATE => ldc::vintr_setstate(cx, o[0], o[1], o[2]).into(),
        hcall::VINTR_GETTARGET => ldc::vintr_gettarget(cx, o[0], o[1]).into(),
        hcall::VINTR_SETTARGET => ldc::vintr_settarget(cx, o[0], o[1], o[2]).into(),
        // A function of the group without a handler: none of the offered versions has one
        // (the host test `every_offered_function_has_a_handler`).
        _ => Reply::err(HvError::NotSupported).into(),
    }
}
