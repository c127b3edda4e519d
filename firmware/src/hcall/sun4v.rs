//! The SUN4V group (0x000; hv-api.md §1.3): names the CPU errata level the guest expects.
//! Offered at 1.0; it has no calls.

use super::call::{ApiGroup, Offer};
use hv_api::group;

/// SUN4V 1.0.
pub const GROUP: ApiGroup = ApiGroup { number: group::SUN4V, offers: &[Offer { major: 1, max_minor: 0 }] };
