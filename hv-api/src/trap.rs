//! Trap numbers: the hypervisor software traps a guest issues with `ta`, and
//! the guest-visible trap types (TT).
//!
//! Source: hv-api.md §1.1 and §4.6; OSH `src/include/hypervisor.h`,
//! `src/include/sun4v/traps.h`, `src/greatlakes/ontario/src/traptable.s`.

/// `ta 0x80`: fast trap, function number in `%o5` (hv-api.md §1.1; OSH
/// `src/include/hypervisor.h` `FAST_TRAP`).
pub const FAST_TRAP: u64 = 0x80;
/// `ta 0x83`: hyper-fast `mmu_map_addr` (hv-api.md §1.1, §2.2; OSH `MMU_MAP_ADDR`).
pub const MMU_MAP_ADDR: u64 = 0x83;
/// `ta 0x84`: hyper-fast `mmu_unmap_addr` (hv-api.md §1.1, §2.2; OSH `MMU_UNMAP_ADDR`).
pub const MMU_UNMAP_ADDR: u64 = 0x84;
/// `ta 0x85`: hyper-fast `ttrace_addentry` (hv-api.md §1.1, §2.2; OSH `TTRACE_ADDENTRY`).
pub const TTRACE_ADDENTRY: u64 = 0x85;
/// `ta 0xff`: unversioned core trap, function number in `%o5`
/// (hv-api.md §1.1, §2.1; OSH `CORE_TRAP`).
pub const CORE_TRAP: u64 = 0xff;

/// First software-trap number handled by the hypervisor: `ta 0x80`–`ta 0xff`
/// reach the HV, `ta 0x00`–`0x7f` go to the guest's own trap table (hv-api.md §1.1).
pub const HV_TRAP_FIRST: u64 = 0x80;
/// Last software-trap number handled by the hypervisor (hv-api.md §1.1).
pub const HV_TRAP_LAST: u64 = 0xff;

/// The TT the hypervisor sees for `ta n`: `0x100 + n` (hv-api.md §1.1).
pub const fn hv_tt(ta: u64) -> u64 {
    tt::TRAP_INSTRUCTION_BASE + ta
}

static_assertions::const_assert_eq!(FAST_TRAP, 0x80);
static_assertions::const_assert_eq!(MMU_MAP_ADDR, 0x83);
static_assertions::const_assert_eq!(MMU_UNMAP_ADDR, 0x84);
static_assertions::const_assert_eq!(TTRACE_ADDENTRY, 0x85);
static_assertions::const_assert_eq!(CORE_TRAP, 0xff);
static_assertions::const_assert_eq!(hv_tt(FAST_TRAP), 0x180);
static_assertions::const_assert_eq!(hv_tt(MMU_MAP_ADDR), 0x183);
static_assertions::const_assert_eq!(hv_tt(CORE_TRAP), 0x1ff);

/// Trap types (TT values) and trap-table geometry (hv-api.md §4.6, §7.2;
/// OSH `src/include/sun4v/traps.h`; UltraSPARC Architecture 2005 names).
pub mod tt {
    /// power_on_reset; the boot vCPU starts at RTBA + 0x20 (hv-api.md §4.6, §4.7).
    pub const POWER_ON_RESET: u64 = 0x001;
    /// watchdog_reset (guest watchdog), RTBA + 0x40 (hv-api.md §4.6).
    pub const WATCHDOG_RESET: u64 = 0x002;
    /// externally_initiated_reset, RTBA + 0x60 (hv-api.md §4.6).
    pub const XIR: u64 = 0x003;
    /// software_initiated_reset (after `mach_sir`), RTBA + 0x80 (hv-api.md §4.6).
    pub const SIR: u64 = 0x004;
    /// RED_state_exception, RTBA + 0xa0 (hv-api.md §4.6).
    pub const RED_STATE_EXCEPTION: u64 = 0x005;
    /// instruction_access_exception (hv-api.md §4.6).
    pub const INSTRUCTION_ACCESS_EXCEPTION: u64 = 0x008;
    /// instruction_access_MMU_miss ("slow" miss after a TSB search) (hv-api.md §4.6).
    pub const INSTRUCTION_ACCESS_MMU_MISS: u64 = 0x009;
    /// instruction_access_error (hv-api.md §4.6).
    pub const INSTRUCTION_ACCESS_ERROR: u64 = 0x00a;
    /// illegal_instruction (hv-api.md §4.6).
    pub const ILLEGAL_INSTRUCTION: u64 = 0x010;
    /// privileged_opcode (hv-api.md §4.6).
    pub const PRIVILEGED_OPCODE: u64 = 0x011;
    /// unimplemented_LDD (hv-api.md §4.6).
    pub const UNIMPLEMENTED_LDD: u64 = 0x012;
    /// unimplemented_STD (hv-api.md §4.6).
    pub const UNIMPLEMENTED_STD: u64 = 0x013;
    /// fp_disabled (hv-api.md §4.6).
    pub const FP_DISABLED: u64 = 0x020;
    /// fp_exception_ieee_754 (hv-api.md §4.6).
    pub const FP_EXCEPTION_IEEE_754: u64 = 0x021;
    /// fp_exception_other (hv-api.md §4.6).
    pub const FP_EXCEPTION_OTHER: u64 = 0x022;
    /// tag_overflow (hv-api.md §4.6).
    pub const TAG_OVERFLOW: u64 = 0x023;
    /// clean_window (BIG entry, 0x24–0x27) (hv-api.md §4.6).
    pub const CLEAN_WINDOW: u64 = 0x024;
    /// division_by_zero (hv-api.md §4.6).
    pub const DIVISION_BY_ZERO: u64 = 0x028;
    /// data_access_exception (hv-api.md §4.6).
    pub const DATA_ACCESS_EXCEPTION: u64 = 0x030;
    /// data_access_MMU_miss ("slow" data miss) (hv-api.md §4.6).
    pub const DATA_ACCESS_MMU_MISS: u64 = 0x031;
    /// data_access_error (hv-api.md §4.6).
    pub const DATA_ACCESS_ERROR: u64 = 0x032;
    /// mem_address_not_aligned (hv-api.md §4.6).
    pub const MEM_ADDRESS_NOT_ALIGNED: u64 = 0x034;
    /// LDDF_mem_address_not_aligned (hv-api.md §4.6).
    pub const LDDF_MEM_ADDRESS_NOT_ALIGNED: u64 = 0x035;
    /// STDF_mem_address_not_aligned (hv-api.md §4.6).
    pub const STDF_MEM_ADDRESS_NOT_ALIGNED: u64 = 0x036;
    /// privileged_action (hv-api.md §4.6).
    pub const PRIVILEGED_ACTION: u64 = 0x037;
    /// LDQF_mem_address_not_aligned (hv-api.md §4.6).
    pub const LDQF_MEM_ADDRESS_NOT_ALIGNED: u64 = 0x038;
    /// STQF_mem_address_not_aligned (hv-api.md §4.6).
    pub const STQF_MEM_ADDRESS_NOT_ALIGNED: u64 = 0x039;
    /// instruction_real_translation_miss (HV only, MMU off) (hv-api.md §4.6).
    pub const INSTRUCTION_REAL_TRANSLATION_MISS: u64 = 0x03e;
    /// data_real_translation_miss (HV only, MMU off) (hv-api.md §4.6).
    pub const DATA_REAL_TRANSLATION_MISS: u64 = 0x03f;
    /// interrupt_level_1; levels 1–15 are 0x41–0x4f, see [`interrupt_level`] (hv-api.md §4.6).
    pub const INTERRUPT_LEVEL_1: u64 = 0x041;
    /// interrupt_level_14 (%tick/%stick compare) (hv-api.md §4.6).
    pub const INTERRUPT_LEVEL_14: u64 = 0x04e;
    /// interrupt_level_15 (hv-api.md §4.6).
    pub const INTERRUPT_LEVEL_15: u64 = 0x04f;
    /// hstick_match (HV only) (hv-api.md §4.6, §7.1).
    pub const HSTICK_MATCH: u64 = 0x05e;
    /// trap_level_zero (HV only, HPSTATE.TLZ) (hv-api.md §4.6, §7.1).
    pub const TRAP_LEVEL_ZERO: u64 = 0x05f;
    /// interrupt_vector (HV only on T1) (hv-api.md §4.6, §7.4).
    pub const INTERRUPT_VECTOR: u64 = 0x060;
    /// RA_watchpoint (hv-api.md §4.6).
    pub const RA_WATCHPOINT: u64 = 0x061;
    /// VA_watchpoint (hv-api.md §4.6).
    pub const VA_WATCHPOINT: u64 = 0x062;
    /// corrected ECC error (HV only) (hv-api.md §4.6).
    pub const CORRECTED_ECC_ERROR: u64 = 0x063;
    /// fast_instruction_access_MMU_miss (BIG, 0x64–0x67) (hv-api.md §4.6).
    pub const FAST_INSTRUCTION_ACCESS_MMU_MISS: u64 = 0x064;
    /// fast_data_access_MMU_miss (BIG, 0x68–0x6b) (hv-api.md §4.6).
    pub const FAST_DATA_ACCESS_MMU_MISS: u64 = 0x068;
    /// fast_data_access_protection (BIG, 0x6c–0x6f) (hv-api.md §4.6).
    pub const FAST_DATA_ACCESS_PROTECTION: u64 = 0x06c;
    /// control_transfer_instruction; on T1 the HV uses TT 0x74 for the MAU
    /// completion interrupt (hv-api.md §4.6 ⚠).
    pub const CONTROL_TRANSFER_INSTRUCTION: u64 = 0x074;
    /// MAU (crypto unit) completion, T1 hyperprivileged use of 0x74 (hv-api.md §4.6).
    pub const MAU: u64 = 0x074;
    /// disrupting data error (HV only) (hv-api.md §4.6).
    pub const DISRUPTING_DATA_ERROR: u64 = 0x078;
    /// cpu_mondo: CPU mondo queue non-empty (hv-api.md §4.4, §4.6).
    pub const CPU_MONDO: u64 = 0x07c;
    /// dev_mondo: device mondo queue non-empty (hv-api.md §4.4, §4.6).
    pub const DEV_MONDO: u64 = 0x07d;
    /// resumable_error: resumable error queue non-empty (hv-api.md §4.4, §4.6).
    pub const RESUMABLE_ERROR: u64 = 0x07e;
    /// nonresumable_error, delivered by the HV (hv-api.md §4.4, §4.6).
    pub const NONRESUMABLE_ERROR: u64 = 0x07f;
    /// spill_0_normal; spill_n_normal = 0x80 + 4n, see [`spill_normal`] (hv-api.md §4.6).
    pub const SPILL_0_NORMAL: u64 = 0x080;
    /// spill_0_other; spill_n_other = 0xa0 + 4n (hv-api.md §4.6).
    pub const SPILL_0_OTHER: u64 = 0x0a0;
    /// fill_0_normal; fill_n_normal = 0xc0 + 4n, see [`fill_normal`] (hv-api.md §4.6).
    pub const FILL_0_NORMAL: u64 = 0x0c0;
    /// fill_0_other; fill_n_other = 0xe0 + 4n (hv-api.md §4.6).
    pub const FILL_0_OTHER: u64 = 0x0e0;
    /// trap_instruction base: `ta n` has TT 0x100 + n (hv-api.md §1.1, §4.6).
    pub const TRAP_INSTRUCTION_BASE: u64 = 0x100;
    /// Highest TT value (hv-api.md §7.2: 512 entries).
    pub const MAX_TT: u64 = 0x1ff;

    /// Size of one trap-table entry in bytes (hv-api.md §4.6).
    pub const ENTRY_SIZE: u64 = 32;
    /// Offset of the TL>0 half of a guest trap table (hv-api.md §4.6).
    pub const TL_GT_0_OFFSET: u64 = 0x4000;
    /// Highest trap level a guest may use, MAXPTL (hv-api.md §4.6, §7.1).
    pub const MAXPTL: u64 = 2;
    /// Highest global level a guest may use, MAXPGL (hv-api.md §4.7, §7.1).
    pub const MAXPGL: u64 = 2;

    /// TT of interrupt_level_`level` (1–15): 0x40 + level; `None` outside 1–15
    /// (hv-api.md §4.6).
    pub const fn interrupt_level(level: u64) -> Option<u64> {
        if level >= 1 && level <= 15 {
            Some(0x040 + level)
        } else {
            None
        }
    }

    /// TT of spill_`n`_normal (n = 0–7) (hv-api.md §4.6).
    pub const fn spill_normal(n: u64) -> u64 {
        SPILL_0_NORMAL + 4 * (n & 7)
    }

    /// TT of fill_`n`_normal (n = 0–7) (hv-api.md §4.6).
    pub const fn fill_normal(n: u64) -> u64 {
        FILL_0_NORMAL + 4 * (n & 7)
    }

    /// TT of `ta n` for n = 0–0x7f guest software traps and 0x80–0xff HV traps
    /// (hv-api.md §1.1).
    pub const fn trap_instruction(n: u64) -> u64 {
        TRAP_INSTRUCTION_BASE + (n & 0xff)
    }

    /// Byte offset of TT's entry in a guest trap table:
    /// `(TL_before_trap > 0 ? 0x4000 : 0) | TT << 5` (hv-api.md §4.6).
    pub const fn vector_offset(tt: u64, tl_before_trap: u64) -> u64 {
        let base = if tl_before_trap > 0 { TL_GT_0_OFFSET } else { 0 };
        base | ((tt & MAX_TT) << 5)
    }

    static_assertions::const_assert_eq!(POWER_ON_RESET, 0x1);
    static_assertions::const_assert_eq!(WATCHDOG_RESET, 0x2);
    static_assertions::const_assert_eq!(XIR, 0x3);
    static_assertions::const_assert_eq!(SIR, 0x4);
    static_assertions::const_assert_eq!(INSTRUCTION_ACCESS_EXCEPTION, 0x8);
    static_assertions::const_assert_eq!(INSTRUCTION_ACCESS_MMU_MISS, 0x9);
    static_assertions::const_assert_eq!(ILLEGAL_INSTRUCTION, 0x10);
    static_assertions::const_assert_eq!(PRIVILEGED_OPCODE, 0x11);
    static_assertions::const_assert_eq!(FP_DISABLED, 0x20);
    static_assertions::const_assert_eq!(DATA_ACCESS_EXCEPTION, 0x30);
    static_assertions::const_assert_eq!(DATA_ACCESS_MMU_MISS, 0x31);
    static_assertions::const_assert_eq!(DATA_ACCESS_ERROR, 0x32);
    static_assertions::const_assert_eq!(MEM_ADDRESS_NOT_ALIGNED, 0x34);
    static_assertions::const_assert_eq!(PRIVILEGED_ACTION, 0x37);
    static_assertions::const_assert_eq!(INSTRUCTION_REAL_TRANSLATION_MISS, 0x3e);
    static_assertions::const_assert_eq!(DATA_REAL_TRANSLATION_MISS, 0x3f);
    static_assertions::const_assert_eq!(INTERRUPT_LEVEL_1, 0x41);
    static_assertions::const_assert_eq!(INTERRUPT_LEVEL_15, 0x4f);
    static_assertions::const_assert_eq!(FAST_INSTRUCTION_ACCESS_MMU_MISS, 0x64);
    static_assertions::const_assert_eq!(FAST_DATA_ACCESS_MMU_MISS, 0x68);
    static_assertions::const_assert_eq!(FAST_DATA_ACCESS_PROTECTION, 0x6c);
    static_assertions::const_assert_eq!(CPU_MONDO, 0x7c);
    static_assertions::const_assert_eq!(DEV_MONDO, 0x7d);
    static_assertions::const_assert_eq!(RESUMABLE_ERROR, 0x7e);
    static_assertions::const_assert_eq!(NONRESUMABLE_ERROR, 0x7f);
    static_assertions::const_assert_eq!(SPILL_0_NORMAL, 0x80);
    static_assertions::const_assert_eq!(FILL_0_NORMAL, 0xc0);
    static_assertions::const_assert_eq!(TRAP_INSTRUCTION_BASE, 0x100);
    static_assertions::const_assert_eq!(vector_offset(POWER_ON_RESET, 0), 0x20);
    static_assertions::const_assert_eq!(vector_offset(WATCHDOG_RESET, 0), 0x40);
    static_assertions::const_assert_eq!(vector_offset(XIR, 0), 0x60);
    static_assertions::const_assert_eq!(vector_offset(SIR, 0), 0x80);
    static_assertions::const_assert_eq!(vector_offset(RED_STATE_EXCEPTION, 0), 0xa0);
    static_assertions::const_assert_eq!(vector_offset(CPU_MONDO, 1), 0x4f80);
}

#[cfg(test)]
mod tests {
    use super::tt::*;

    #[test]
    fn interrupt_levels() {
        assert_eq!(interrupt_level(0), None);
        assert_eq!(interrupt_level(1), Some(0x41));
        assert_eq!(interrupt_level(14), Some(INTERRUPT_LEVEL_14));
        assert_eq!(interrupt_level(15), Some(0x4f));
        assert_eq!(interrupt_level(16), None);
    }

    #[test]
    fn spill_fill_and_ta() {
        assert_eq!(spill_normal(0), 0x80);
        assert_eq!(spill_normal(7), 0x9c);
        assert_eq!(fill_normal(0), 0xc0);
        assert_eq!(fill_normal(7), 0xdc);
        assert_eq!(trap_instruction(0x80), 0x180);
        assert_eq!(trap_instruction(0xff), 0x1ff);
        assert_eq!(super::hv_tt(0x85), 0x185);
    }
}
