//! The SOFT_STATE group (0x003; hv-api.md §2.4): the guest's soft state and its
//! description. Offered at 1.0. Until a guest negotiates it, functions 0x70/0x71 are the
//! legacy NVRAM calls of the Legion/T1 hypervisor that OpenBoot 4.20 uses.

use super::call::{ApiGroup, Context, Offer, Outcome, Reply};
use crate::addr::Ra;
use crate::domain::SOFT_STATE_TEXT_LEN;
use hv_api::error::HvError;
use hv_api::{group, hcall, soft_state};

/// SOFT_STATE 1.0.
pub const GROUP: ApiGroup = ApiGroup { number: group::SOFT_STATE, offers: &[Offer { major: 1, max_minor: 0 }] };

/// Runs the handler of SOFT_STATE function `function`.
#[inline(always)]
pub fn dispatch(cx: &mut Context<'_>, function: u64, o: &[u64; 8]) -> Outcome {
    match function {
        hcall::SOFT_STATE_SET => soft_state_set(cx, o[0], o[1]).into(),
        hcall::SOFT_STATE_GET => soft_state_get(cx, o[0]).into(),
        // A function of the group without a handler: none of the offered versions has one
        // (the host test `every_offered_function_has_a_handler`).
        _ => Reply::err(HvError::NotSupported).into(),
    }
}

/// Legacy NVRAM read: function 0x70 while the soft-state group is not negotiated.
pub const LEGACY_NVRAM_READ: u64 = 0x70;
/// Legacy NVRAM write: function 0x71 while the soft-state group is not negotiated.
pub const LEGACY_NVRAM_WRITE: u64 = 0x71;

/// The Legion/T1 NVRAM calls (functions 0x70 read / 0x71 write before soft state is
/// negotiated; OpenBoot 4.20 `legion-nvram`): `(offset, buffer RA, length) -> length`
/// between the domain's NVRAM (`nvbase`/`nvsize` of the HV MD) and its memory.
/// Errors: `EINVAL` (no NVRAM, or offset/length past its end), `ENORADDR` (buffer not
/// the guest's memory).
pub fn legacy_nvram(cx: &mut Context<'_>, write: bool, offset: u64, ra: u64, len: u64) -> Reply {
    let Some((base, size)) = cx.config.nvram else {
        return Reply::err(HvError::Inval);
    };
    match offset.checked_add(len) {
        Some(end) if end <= size => {}
        _ => return Reply::err(HvError::Inval),
    }
    let range = match cx.config.memory.range(Ra::new(ra), len) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    if write {
        cx.hw.copy_phys(base.add(offset), range.pa(), len);
    } else {
        cx.hw.copy_phys(range.pa(), base.add(offset), len);
    }
    Reply::ok1(len)
}

/// `soft_state_set` (0x70): state NORMAL or TRANSITION and the RA of a 32-byte aligned,
/// NUL-terminated 7-bit ASCII description (at most 31 characters). Errors: `EINVAL` (bad
/// state or description), `EBADALIGN`, `ENORADDR`.
pub fn soft_state_set(cx: &mut Context<'_>, state: u64, ra: u64) -> Reply {
    if state != soft_state::NORMAL && state != soft_state::TRANSITION {
        return Reply::err(HvError::Inval);
    }
    if !Ra::new(ra).is_aligned(SOFT_STATE_TEXT_LEN as u64) {
        return Reply::err(HvError::BadAlign);
    }
    let range = match cx.config.memory.range(Ra::new(ra), SOFT_STATE_TEXT_LEN as u64) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    let mut text = [0u8; SOFT_STATE_TEXT_LEN];
    range.read(cx.hw, &mut text);
    let Some(nul) = text.iter().position(|&b| b == 0) else {
        return Reply::err(HvError::Inval);
    };
    if text[..nul].iter().any(|&b| b >= 0x80) {
        return Reply::err(HvError::Inval);
    }
    text[nul..].fill(0);
    cx.domain.soft_state = state;
    cx.domain.soft_state_text = text;
    Reply::ok()
}

/// `soft_state_get` (0x71): writes the 32-byte description to the 32-byte aligned buffer at
/// `ra` and returns the state. Errors: `EBADALIGN`, `ENORADDR`.
pub fn soft_state_get(cx: &mut Context<'_>, ra: u64) -> Reply {
    if !Ra::new(ra).is_aligned(SOFT_STATE_TEXT_LEN as u64) {
        return Reply::err(HvError::BadAlign);
    }
    let range = match cx.config.memory.range(Ra::new(ra), SOFT_STATE_TEXT_LEN as u64) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    range.write(cx.hw, &cx.domain.soft_state_text);
    Reply::ok1(cx.domain.soft_state)
}
