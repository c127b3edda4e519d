//! API version negotiation: `api_set_version` / `api_get_version` (CORE_TRAP functions 0x00
//! and 0x03; hv-api.md §1.3).
//!
//! Each domain holds the (major, minor) it negotiated per API group. A fast-trap function is
//! callable only when its group is negotiated at the major that defines it and at a minor
//! at least the one that introduced it ([`ApiVersions::permits`]).

use crate::hcall::Offer;
use hv_api::error::HvError;
use hv_api::group;
use hv_api::hcall::FunctionInfo;

/// The versions the hypervisor offers for `group` (each API group's module says which,
/// [`crate::hcall::GROUPS`]); empty for a group it does not offer.
fn offers(group: u64) -> &'static [Offer] {
    crate::hcall::GROUPS.iter().find(|g| g.number == group).map_or(&[], |g| g.offers)
}

/// Groups a domain can hold at once.
const SLOTS: usize = 8;

/// The versions one domain has negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersions {
    negotiated: [(u64, u64, u64); SLOTS],
    count: usize,
    /// Entry n: the API group of fast-trap function n when it is callable, else
    /// [`NOT_CALLABLE`]. Rebuilt whenever a version changes, so the hypercall path answers
    /// "callable, and in which group" with one load (Sun's hypervisor rewrites a per-guest
    /// dispatch table for the same reason).
    callable: [u16; CALLABLE_FUNCTIONS],
}

/// Fast-trap function numbers below this are tracked in the callable table; every function
/// of the offered groups is (the highest, 0xf1, is below 0x200).
const CALLABLE_FUNCTIONS: usize = 0x200;
/// A [`ApiVersions::callable`] entry: not callable.
const NOT_CALLABLE: u16 = u16::MAX;

/// A refused `api_set_version`: the status, and the closest version offered for that group
/// (returned in %o1/%o2 so that the guest can retry with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// `EINVAL` (unknown group) or `ENOTSUPPORTED` (major not offered).
    pub error: HvError,
    /// Closest offered major (0 when the group is unknown).
    pub major: u64,
    /// Highest minor of that major.
    pub minor: u64,
}

impl Default for ApiVersions {
    fn default() -> Self {
        Self::at_reset()
    }
}

impl ApiVersions {
    /// The state at guest start. Guests written before API versioning use the 1.0 calls of
    /// some groups without negotiating them, and the hypervisor they were written for
    /// answered them: OpenBoot 4.20 calls Core services (MMU) before it negotiates
    /// anything, and Linux, refused INTR 3.0, uses the INTR 1.0 calls without negotiating
    /// them (hv-api.md §1.3, §2.5; real-guests.md §2.6). So CORE 1.0 and INTR 1.0 start
    /// enabled; a guest can still disable a group (major 0) or move it to another version.
    /// SOFT_STATE starts at 0.0: until it is negotiated, functions 0x70/0x71 are the
    /// legacy NVRAM calls those guests use (see `hcall::fast_trap`).
    pub fn at_reset() -> Self {
        let mut v =
            ApiVersions { negotiated: [(0, 0, 0); SLOTS], count: 0, callable: [NOT_CALLABLE; CALLABLE_FUNCTIONS] };
        v.store(group::CORE, 1, 0);
        v.store(group::INTR, 1, 0);
        v
    }

    /// Whether the soft-state group is negotiated (functions 0x70/0x71 are soft state).
    pub fn soft_state_enabled(&self) -> bool {
        matches!(self.get(group::SOFT_STATE), Ok((1, _)))
    }

    fn store(&mut self, group: u64, major: u64, minor: u64) {
        if let Some(slot) = self.negotiated[..self.count].iter_mut().find(|s| s.0 == group) {
            *slot = (group, major, minor);
        } else if self.count < SLOTS {
            self.negotiated[self.count] = (group, major, minor);
            self.count += 1;
        }
        self.callable = [NOT_CALLABLE; CALLABLE_FUNCTIONS];
        for info in hv_api::hcall::FUNCTIONS {
            let n = info.number as usize;
            if n < CALLABLE_FUNCTIONS && self.permits(info) {
                self.callable[n] = info.group as u16;
            }
        }
    }

    /// The API group of fast-trap function `number` if it is callable under the negotiated
    /// versions (the same answer as [`ApiVersions::permits`] on its [`FunctionInfo`], in one
    /// load), else `None`.
    #[inline]
    pub fn callable_group(&self, number: u64) -> Option<u64> {
        match self.callable.get(number as usize) {
            Some(&g) if g != NOT_CALLABLE => Some(g as u64),
            _ => None,
        }
    }

    /// Whether fast-trap function `number` is callable under the negotiated versions.
    pub fn callable(&self, number: u64) -> bool {
        self.callable_group(number).is_some()
    }

    /// `api_set_version(group, major, minor)`: returns the minor granted.
    ///
    /// * group not offered → `EINVAL`;
    /// * major 0 → the group is disabled (EOK, minor 0);
    /// * SUN4V with major ≠ 1, or a major not offered → `ENOTSUPPORTED`, with the closest
    ///   offered version;
    /// * minor above the highest offered → reduced to it (EOK).
    pub fn set(&mut self, group: u64, major: u64, minor: u64) -> Result<u64, Refusal> {
        let offers = || offers(group).iter();
        if offers().next().is_none() {
            return Err(Refusal { error: HvError::Inval, major: 0, minor: 0 });
        }
        if major == 0 {
            self.store(group, 0, 0);
            return Ok(0);
        }
        match offers().find(|o| o.major == major) {
            Some(o) => {
                let granted = core::cmp::min(minor, o.max_minor);
                self.store(group, major, granted);
                Ok(granted)
            }
            None => {
                // Closest: the highest major below the request, else the lowest above it.
                let below = offers().filter(|o| o.major < major).max_by_key(|o| o.major);
                let above = offers().filter(|o| o.major > major).min_by_key(|o| o.major);
                let o = below.or(above).expect("group has an offer");
                Err(Refusal { error: HvError::NotSupported, major: o.major, minor: o.max_minor })
            }
        }
    }

    /// `api_get_version(group)`: the negotiated (major, minor), 0.0 if never set.
    /// `EINVAL` for a group this hypervisor does not offer.
    pub fn get(&self, group: u64) -> Result<(u64, u64), HvError> {
        if offers(group).is_empty() {
            return Err(HvError::Inval);
        }
        Ok(self.negotiated[..self.count].iter().find(|s| s.0 == group).map(|s| (s.1, s.2)).unwrap_or((0, 0)))
    }

    /// Whether a function is callable under the negotiated versions. The `vintr_*` calls
    /// of INTR 2.0 are also callable under INTR 1.0: Linux, refused 3.0, negotiates 1.0
    /// and calls them for channel interrupts, and Sun's hypervisor answers them there
    /// (`SOLARIS_ERRATUM_6496266`; hv-api.md §2.5).
    pub fn permits(&self, info: &FunctionInfo) -> bool {
        match self.negotiated[..self.count].iter().find(|s| s.0 == info.group) {
            Some(&(_, major, minor)) => {
                (major == info.major && minor >= info.minor)
                    || (info.group == group::INTR && major == 1 && info.major == 2)
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hv_api::hcall::{function_info, CONS_WRITE, MACH_DESC, SOFT_STATE_GET};

    #[test]
    fn the_callable_bitmap_agrees_with_permits() {
        let mut v = ApiVersions::at_reset();
        for (group, major, minor) in
            [(group::CORE, 1, 1), (group::SOFT_STATE, 1, 0), (group::CORE, 0, 0), (group::INTR, 0, 0)]
        {
            let _ = v.set(group, major, minor);
            for info in hv_api::hcall::FUNCTIONS {
                assert_eq!(v.callable(info.number), v.permits(info), "function {:#x}", info.number);
            }
            assert!(!v.callable(0x1ff) && !v.callable(u64::MAX), "unknown numbers");
        }
    }

    #[test]
    fn core_1_0_is_enabled_at_reset() {
        let v = ApiVersions::at_reset();
        assert_eq!(v.get(group::CORE), Ok((1, 0)));
        assert_eq!(v.get(group::SUN4V), Ok((0, 0)));
        assert_eq!(v.get(group::INTR), Ok((1, 0)));
        assert!(v.permits(function_info(MACH_DESC).unwrap()));
        assert!(v.permits(function_info(hv_api::hcall::INTR_SETTARGET).unwrap()));
        assert!(v.permits(function_info(hv_api::hcall::VINTR_SETTARGET).unwrap()), "vintr calls under INTR 1.0");
        assert!(!v.permits(function_info(CONS_WRITE).unwrap()), "cons_write needs core 1.1");
        assert!(!v.permits(function_info(SOFT_STATE_GET).unwrap()), "soft state not negotiated");
        assert!(!v.permits(function_info(hv_api::hcall::LDC_TX_QCONF).unwrap()), "LDC not offered");
    }

    #[test]
    fn minor_is_reduced_to_the_highest_offered() {
        let mut v = ApiVersions::at_reset();
        assert_eq!(v.set(group::CORE, 1, 6), Ok(1));
        assert_eq!(v.get(group::CORE), Ok((1, 1)));
        assert!(v.permits(function_info(CONS_WRITE).unwrap()));
    }

    #[test]
    fn unknown_group_is_einval() {
        let mut v = ApiVersions::at_reset();
        assert_eq!(v.set(0x7777, 1, 0).unwrap_err().error, HvError::Inval);
        assert_eq!(v.get(0x7777), Err(HvError::Inval));
    }

    #[test]
    fn unsupported_major_gives_the_closest_offer() {
        let mut v = ApiVersions::at_reset();
        let r = v.set(group::CORE, 2, 0).unwrap_err();
        assert_eq!(r, Refusal { error: HvError::NotSupported, major: 1, minor: 1 });
        let r = v.set(group::SUN4V, 3, 0).unwrap_err();
        assert_eq!(r, Refusal { error: HvError::NotSupported, major: 1, minor: 0 });
        // The refusal leaves the old version in place.
        assert_eq!(v.get(group::CORE), Ok((1, 0)));
    }

    #[test]
    fn major_zero_disables_the_group() {
        let mut v = ApiVersions::at_reset();
        assert_eq!(v.set(group::CORE, 0, 5), Ok(0));
        assert_eq!(v.get(group::CORE), Ok((0, 0)));
        assert!(!v.permits(function_info(MACH_DESC).unwrap()));
    }

    #[test]
    fn intr_3_is_refused_with_1_0_and_1_0_stays() {
        let mut v = ApiVersions::at_reset();
        let r = v.set(group::INTR, 3, 0).unwrap_err();
        assert_eq!(r, Refusal { error: HvError::NotSupported, major: 1, minor: 0 });
        assert_eq!(v.set(group::INTR, 2, 0).unwrap_err().error, HvError::NotSupported);
        assert_eq!(v.get(group::INTR), Ok((1, 0)));
        assert_eq!(v.set(group::INTR, 1, 3), Ok(0));
    }

    #[test]
    fn soft_state_after_negotiation() {
        let mut v = ApiVersions::at_reset();
        assert_eq!(v.set(group::SOFT_STATE, 1, 0), Ok(0));
        assert!(v.permits(function_info(SOFT_STATE_GET).unwrap()));
    }
}
