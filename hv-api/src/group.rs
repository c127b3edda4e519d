//! API group numbers for `api_set_version` / `api_get_version`.
//!
//! Source: hv-api.md §2.8; LNX-HV `HV_GRP_*`; OSH `src/include/hypervisor.h`
//! `API_GROUP_*`, `src/greatlakes/ontario/src/hcall_groups.s`.

macro_rules! groups {
    ($($(#[$m:meta])* $name:ident = $val:expr, $s:expr;)*) => {
        $( $(#[$m])* pub const $name: u64 = $val; )*
        /// Symbolic name of a group number (the constant's name), e.g.
        /// `name(0x101) == Some("LDOM")` (hv-api.md §2.8).
        pub const fn name(group: u64) -> Option<&'static str> {
            match group {
                $( $val => Some($s), )*
                _ => None,
            }
        }
        /// Every group number defined here, ascending (hv-api.md §2.8).
        pub const ALL: &[u64] = &[$($val),*];
    };
}

groups! {
    /// SUN4V (0x000): carries no calls; its major names a CPU-errata level
    /// (hv-api.md §1.3, §2.8).
    SUN4V = 0x000, "SUN4V";
    /// CORE (0x001): basic calls (hv-api.md §2.3, §2.8).
    CORE = 0x001, "CORE";
    /// INTR (0x002): interrupt calls, v1 sysino and v2 virtual (hv-api.md §2.5, §2.8).
    INTR = 0x002, "INTR";
    /// SOFT_STATE (0x003) (hv-api.md §2.4, §2.8; OSH `API_GROUP_SOFTSTATE`).
    SOFT_STATE = 0x003, "SOFT_STATE";
    /// TM (0x080) (hv-api.md §2.8; LNX-HV `HV_GRP_TM`).
    TM = 0x080, "TM";
    /// PCI (0x100) (hv-api.md §2.7, §2.8).
    PCI = 0x100, "PCI";
    /// LDOM (0x101): logical domain channels (hv-api.md §2.6, §2.8; OSH `API_GROUP_LDC`).
    LDOM = 0x101, "LDOM";
    /// SVC_CHAN (0x102): Great Lakes service channels (hv-api.md §2.7, §2.8).
    SVC_CHAN = 0x102, "SVC_CHAN";
    /// NCS (0x103): Niagara crypto service (hv-api.md §2.7, §2.8).
    NCS = 0x103, "NCS";
    /// RNG (0x104): random number generator, not on T1 (hv-api.md §2.8).
    RNG = 0x104, "RNG";
    /// PBOOT (0x105) (hv-api.md §2.8; LNX-HV).
    PBOOT = 0x105, "PBOOT";
    /// TPM (0x107) (hv-api.md §2.8; LNX-HV).
    TPM = 0x107, "TPM";
    /// SDIO (0x108) (hv-api.md §2.8; LNX-HV).
    SDIO = 0x108, "SDIO";
    /// SDIO_ERR (0x109) (hv-api.md §2.8; LNX-HV).
    SDIO_ERR = 0x109, "SDIO_ERR";
    /// REBOOT_DATA (0x110) (hv-api.md §2.8; LNX-HV).
    REBOOT_DATA = 0x110, "REBOOT_DATA";
    /// ATU (0x111) (hv-api.md §2.8; LNX-HV).
    ATU = 0x111, "ATU";
    /// DAX (0x113) (hv-api.md §2.8; LNX-HV).
    DAX = 0x113, "DAX";
    /// M7_PERF (0x114) (hv-api.md §2.8; LNX-HV).
    M7_PERF = 0x114, "M7_PERF";
    /// NIAG_PERF (0x200): Niagara (T1) performance registers (hv-api.md §2.7, §2.8;
    /// OSH `API_GROUP_NIAGARA`).
    NIAG_PERF = 0x200, "NIAG_PERF";
    /// FIRE_PERF (0x201) (hv-api.md §2.8; OSH `API_GROUP_FIRE`).
    FIRE_PERF = 0x201, "FIRE_PERF";
    /// N2_CPU (0x202): Niagara-2, not on T1 (hv-api.md §2.8).
    N2_CPU = 0x202, "N2_CPU";
    /// N2_PIU (0x203) (hv-api.md §2.8; OSH `API_GROUP_NIAGARA2PIU`).
    N2_PIU = 0x203, "N2_PIU";
    /// NIU (0x204) (hv-api.md §2.8; OSH `API_GROUP_NIAGARA2NIU`).
    NIU = 0x204, "NIU";
    /// VF_CPU (0x205) (hv-api.md §2.8; LNX-HV).
    VF_CPU = 0x205, "VF_CPU";
    /// KT_CPU (0x209) (hv-api.md §2.8; LNX-HV).
    KT_CPU = 0x209, "KT_CPU";
    /// VT_CPU (0x20c) (hv-api.md §2.8; LNX-HV).
    VT_CPU = 0x20c, "VT_CPU";
    /// T5_CPU (0x211) (hv-api.md §2.8; LNX-HV).
    T5_CPU = 0x211, "T5_CPU";
    /// DIAG (0x300): diagnostic partitions only (hv-api.md §2.7, §2.8).
    DIAG = 0x300, "DIAG";
}

/// OSH's name for [`LDOM`] (`API_GROUP_LDC`) (hv-api.md §2.8).
pub const LDC: u64 = LDOM;

/// One (group, major) a hypervisor offers, with its highest minor
/// (hv-api.md §1.3, §2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupVersion {
    /// API group number.
    pub group: u64,
    /// Major version.
    pub major: u64,
    /// Highest minor offered for that major.
    pub max_minor: u64,
}

/// What the reference OSH 1.5.6 hypervisor offers on T1, without optional
/// build features (`CONFIG_SVC`, `CONFIG_FIRE`) (hv-api.md §2.8; OSH
/// `src/greatlakes/ontario/src/hcall_groups.s`).
pub const OSH_VERSIONS: &[GroupVersion] = &[
    GroupVersion { group: SUN4V, major: 1, max_minor: 0 },
    GroupVersion { group: CORE, major: 1, max_minor: 1 },
    GroupVersion { group: INTR, major: 1, max_minor: 0 },
    GroupVersion { group: INTR, major: 2, max_minor: 0 },
    GroupVersion { group: SOFT_STATE, major: 1, max_minor: 0 },
    GroupVersion { group: PCI, major: 1, max_minor: 1 },
    GroupVersion { group: LDOM, major: 1, max_minor: 0 },
    GroupVersion { group: NCS, major: 1, max_minor: 0 },
    GroupVersion { group: NCS, major: 2, max_minor: 0 },
    GroupVersion { group: NIAG_PERF, major: 1, max_minor: 0 },
    GroupVersion { group: DIAG, major: 1, max_minor: 0 },
];

static_assertions::const_assert_eq!(SUN4V, 0x000);
static_assertions::const_assert_eq!(CORE, 0x001);
static_assertions::const_assert_eq!(INTR, 0x002);
static_assertions::const_assert_eq!(SOFT_STATE, 0x003);
static_assertions::const_assert_eq!(TM, 0x080);
static_assertions::const_assert_eq!(PCI, 0x100);
static_assertions::const_assert_eq!(LDOM, 0x101);
static_assertions::const_assert_eq!(SVC_CHAN, 0x102);
static_assertions::const_assert_eq!(NCS, 0x103);
static_assertions::const_assert_eq!(RNG, 0x104);
static_assertions::const_assert_eq!(NIAG_PERF, 0x200);
static_assertions::const_assert_eq!(FIRE_PERF, 0x201);
static_assertions::const_assert_eq!(N2_CPU, 0x202);
static_assertions::const_assert_eq!(NIU, 0x204);
static_assertions::const_assert_eq!(DIAG, 0x300);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_order() {
        assert_eq!(name(0x101), Some("LDOM"));
        assert_eq!(name(0x200), Some("NIAG_PERF"));
        assert_eq!(name(0x999), None);
        assert!(ALL.windows(2).all(|w| w[0] < w[1]));
        for g in ALL {
            assert!(name(*g).is_some());
        }
        for v in OSH_VERSIONS {
            assert!(name(v.group).is_some());
        }
    }
}
