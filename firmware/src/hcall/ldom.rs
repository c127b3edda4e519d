//! The LDOM group (0x101; hv-api.md §2.6): logical domain channels, offered at 1.0. The
//! calls are in [`crate::ldc`] (docs/ldc.md).

use super::call::{ApiGroup, Context, Offer, Outcome, Reply};
use crate::ldc;
use hv_api::error::HvError;
use hv_api::{group, hcall};

/// LDOM 1.0.
pub const GROUP: ApiGroup = ApiGroup { number: group::LDOM, offers: &[Offer { major: 1, max_minor: 0 }] };

/// Runs the handler of LDOM function `function` (not inlined: the other groups' calls keep
/// one hypervisor window, hcall::fast_trap).
#[inline(never)]
pub fn dispatch(cx: &mut Context<'_>, function: u64, o: &[u64; 8]) -> Outcome {
    match function {
        hcall::LDC_TX_QCONF => ldc::ldc_tx_qconf(cx, o[0], o[1], o[2]),
        hcall::LDC_TX_QINFO => ldc::ldc_tx_qinfo(cx, o[0]),
        hcall::LDC_TX_GET_STATE => ldc::ldc_tx_get_state(cx, o[0]),
        hcall::LDC_TX_SET_QTAIL => ldc::ldc_tx_set_qtail(cx, o[0], o[1]),
        hcall::LDC_RX_QCONF => ldc::ldc_rx_qconf(cx, o[0], o[1], o[2]),
        hcall::LDC_RX_QINFO => ldc::ldc_rx_qinfo(cx, o[0]),
        hcall::LDC_RX_GET_STATE => ldc::ldc_rx_get_state(cx, o[0]),
        hcall::LDC_RX_SET_QHEAD => ldc::ldc_rx_set_qhead(cx, o[0], o[1]),
        hcall::LDC_SET_MAP_TABLE => ldc::ldc_set_map_table(cx, o[0], o[1], o[2]),
        hcall::LDC_GET_MAP_TABLE => ldc::ldc_get_map_table(cx, o[0]),
        hcall::LDC_COPY => ldc::ldc_copy(cx, o[0], o[1], o[2], o[3], o[4]),
        hcall::LDC_MAPIN => ldc::ldc_mapin(cx, o[0], o[1]),
        hcall::LDC_UNMAP => ldc::ldc_unmap(cx, o[0]),
        hcall::LDC_REVOKE => ldc::ldc_revoke(cx, o[0], o[1], o[2]),
        _ => Reply::err(HvError::NotSupported),
    }
    .into()
}
