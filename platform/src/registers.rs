//! Register numbers and bit fields of the hyperprivileged state (hv-api.md §7.1;
//! qemu-niagara.md §3).

/// `rdhpr`/`wrhpr` register number of HPSTATE.
pub const HPR_HPSTATE: u32 = 0;
/// `rdhpr`/`wrhpr` register number of HTSTATE (broken on QEMU 7.2: never use it).
pub const HPR_HTSTATE: u32 = 1;
/// `rdhpr`/`wrhpr` register number of HINTP.
pub const HPR_HINTP: u32 = 3;
/// `rdhpr`/`wrhpr` register number of HTBA.
pub const HPR_HTBA: u32 = 5;
/// `rdhpr` register number of HVER.
pub const HPR_HVER: u32 = 6;
/// `rdhpr`/`wrhpr` register number of HSTICK_CMPR.
pub const HPR_HSTICK_CMPR: u32 = 31;

/// HPSTATE.HPRIV (bit 2).
pub const HPSTATE_HPRIV: u64 = 1 << 2;
/// HPSTATE.ENB (bit 11), hypervisor enable.
pub const HPSTATE_ENB: u64 = 1 << 11;

/// PSTATE.PRIV (bit 2).
pub const PSTATE_PRIV: u64 = 1 << 2;
/// PSTATE.IE (bit 1).
pub const PSTATE_IE: u64 = 1 << 1;
/// PSTATE.PEF (bit 4).
pub const PSTATE_PEF: u64 = 1 << 4;
/// PSTATE.AM (bit 3).
pub const PSTATE_AM: u64 = 1 << 3;

/// `%asr26` (strand status): the strand id is in bits 12:8.
pub const STRAND_STS_ID_SHIFT: u32 = 8;
/// `%asr26`: mask of the strand id once shifted down.
pub const STRAND_STS_ID_MASK: u64 = 0x1f;

/// HTBA alignment: the hypervisor trap table is 16 KiB (512 entries of 32 bytes).
pub const HTBA_ALIGN: u64 = 0x4000;
/// TBA alignment of a guest trap table (two halves of 16 KiB).
pub const TBA_ALIGN: u64 = 0x8000;
/// Offset of the TL>0 half of a guest trap table.
pub const TBA_TL_GT_0: u64 = 0x4000;
/// Bytes per trap table entry.
pub const TRAP_ENTRY_SIZE: u64 = 32;

/// Field positions of TSTATE.
pub mod tstate {
    /// CWP, bits 4:0.
    pub const CWP_MASK: u64 = 0x1f;
    /// PSTATE, bits 19:8.
    pub const PSTATE_SHIFT: u32 = 8;
    /// ASI, bits 31:24.
    pub const ASI_SHIFT: u32 = 24;
    /// CCR, bits 39:32.
    pub const CCR_SHIFT: u32 = 32;
    /// GL, bits 42:40.
    pub const GL_SHIFT: u32 = 40;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        assert_eq!(HPSTATE_HPRIV, 0x4);
        assert_eq!(HPSTATE_ENB | HPSTATE_HPRIV, 0x804);
        assert_eq!(PSTATE_PRIV | PSTATE_PEF, 0x14);
    }
}
