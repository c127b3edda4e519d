//! Interrupt and error queues: queue ids, ASI_QUEUE registers, entry size,
//! limits, and the sun4v error report.
//!
//! Source: hv-api.md §2.3, §2.9, §4.4; OSH `src/include/sun4v/queue.h`,
//! `src/include/hypervisor.h`; LNX-TRAPS `struct sun4v_error_entry`.

/// CPU mondo queue id (`cpu_qconf` argument) (hv-api.md §4.4).
pub const CPU_MONDO: u64 = 0x3c;
/// Device mondo queue id (hv-api.md §4.4).
pub const DEV_MONDO: u64 = 0x3d;
/// Resumable error queue id (hv-api.md §4.4).
pub const RESUMABLE_ERROR: u64 = 0x3e;
/// Non-resumable error queue id (hv-api.md §4.4).
pub const NONRESUMABLE_ERROR: u64 = 0x3f;
/// All queue ids in order (hv-api.md §4.4).
pub const ALL: [u64; 4] = [CPU_MONDO, DEV_MONDO, RESUMABLE_ERROR, NONRESUMABLE_ERROR];

/// ASI of the queue HEAD/TAIL registers (hv-api.md §4.4, §7.3; OSH `ASI_QUEUE`).
pub const ASI_QUEUE: u8 = 0x25;
/// CPU mondo HEAD register VA in [`ASI_QUEUE`] (hv-api.md §4.4).
pub const CPU_MONDO_HEAD: u64 = 0x3c0;
/// CPU mondo TAIL register VA (hv-api.md §4.4).
pub const CPU_MONDO_TAIL: u64 = 0x3c8;
/// Device mondo HEAD register VA (hv-api.md §4.4).
pub const DEV_MONDO_HEAD: u64 = 0x3d0;
/// Device mondo TAIL register VA (hv-api.md §4.4).
pub const DEV_MONDO_TAIL: u64 = 0x3d8;
/// Resumable error HEAD register VA (hv-api.md §4.4).
pub const RESUMABLE_ERROR_HEAD: u64 = 0x3e0;
/// Resumable error TAIL register VA (hv-api.md §4.4).
pub const RESUMABLE_ERROR_TAIL: u64 = 0x3e8;
/// Non-resumable error HEAD register VA (hv-api.md §4.4).
pub const NONRESUMABLE_ERROR_HEAD: u64 = 0x3f0;
/// Non-resumable error TAIL register VA (hv-api.md §4.4).
pub const NONRESUMABLE_ERROR_TAIL: u64 = 0x3f8;

/// Queue entry size in bytes (hv-api.md §4.4; OSH `Q_EL_SIZE`).
pub const ENTRY_SIZE: u64 = 64;
/// Minimum entries of a configured queue (hv-api.md §2.9; OSH `MIN_QUEUE_ENTRIES`).
pub const MIN_ENTRIES: u64 = 2;
/// Maximum entries per queue on T1 (hv-api.md §2.9; OSH `MAX_QUEUE_ENTRIES`).
pub const T1_MAX_ENTRIES: u64 = 256;
/// Size (and alignment) of `cpu_mondo_send` data (hv-api.md §2.3; OSH `MONDO_DATA_SIZE`).
pub const MONDO_DATA_SIZE: u64 = 64;
/// Size of one `cpu_mondo_send` CPU-list entry (u16) (hv-api.md §2.9; OSH `CPULIST_ENTRYSIZE`).
pub const CPULIST_ENTRY_SIZE: u64 = 2;
/// CPU-list entry value meaning "already delivered" (hv-api.md §2.9; OSH `CPULIST_ENTRYDONE`).
pub const CPULIST_ENTRY_DONE: u16 = 0xffff;

/// Whether `id` is one of the four queue ids (hv-api.md §2.9).
pub const fn is_valid_queue(id: u64) -> bool {
    id >= CPU_MONDO && id <= NONRESUMABLE_ERROR
}

/// HEAD register VA of queue `id`: `id << 4` (hv-api.md §4.4).
pub const fn head_reg(id: u64) -> u64 {
    id << 4
}

/// TAIL register VA of queue `id`: `(id << 4) + 8` (hv-api.md §4.4).
pub const fn tail_reg(id: u64) -> u64 {
    (id << 4) + 8
}

/// Trap type raised for a non-empty queue `id`: `id + 0x40`
/// (0x3c→0x7c … 0x3f→0x7f) (hv-api.md §4.4, §4.6).
pub const fn trap_type(id: u64) -> u64 {
    id + 0x40
}

/// Whether `nentries` is acceptable to `cpu_qconf` on T1: 0 (unconfigure),
/// or a power of two in 2..=256 (hv-api.md §2.9).
pub const fn is_valid_t1_entries(nentries: u64) -> bool {
    nentries == 0 || (nentries.is_power_of_two() && nentries >= MIN_ENTRIES && nentries <= T1_MAX_ENTRIES)
}

/// Offset following `offset` in a queue of `nentries` entries (wraps)
/// (hv-api.md §4.4).
pub const fn next_offset(offset: u64, nentries: u64) -> u64 {
    (offset + ENTRY_SIZE) & (nentries.wrapping_mul(ENTRY_SIZE).wrapping_sub(1))
}

/// Queue empty: HEAD == TAIL (hv-api.md §4.4).
pub const fn is_empty(head: u64, tail: u64) -> bool {
    head == tail
}

/// Queue full: (TAIL + 64) & mask == HEAD (hv-api.md §4.4).
pub const fn is_full(head: u64, tail: u64, nentries: u64) -> bool {
    next_offset(tail, nentries) == head
}

/// Error report `err_type` values (hv-api.md §4.4).
pub mod err_type {
    /// Undefined.
    pub const UNDEFINED: u8 = 0;
    /// Uncorrected resumable.
    pub const UNCORRECTED_RESUMABLE: u8 = 1;
    /// Precise non-resumable.
    pub const PRECISE_NONRESUMABLE: u8 = 2;
    /// Deferred non-resumable.
    pub const DEFERRED_NONRESUMABLE: u8 = 3;
    /// Shutdown request.
    pub const SHUTDOWN_REQUEST: u8 = 4;
    /// Dump core.
    pub const DUMP_CORE: u8 = 5;
    /// Service-processor state change.
    pub const SP_STATE_CHANGE: u8 = 6;
}

/// Error report `err_attrs` bits and fields (hv-api.md §4.4).
pub mod err_attr {
    /// Bit 0: processor.
    pub const PROCESSOR: u32 = 1 << 0;
    /// Bit 1: memory.
    pub const MEMORY: u32 = 1 << 1;
    /// Bit 2: PIO.
    pub const PIO: u32 = 1 << 2;
    /// Bit 3: integer registers.
    pub const INT_REGS: u32 = 1 << 3;
    /// Bit 4: FP registers.
    pub const FP_REGS: u32 = 1 << 4;
    /// Bit 5: shutdown request.
    pub const SHUTDOWN_REQ: u32 = 1 << 5;
    /// Bit 6: ASR.
    pub const ASR: u32 = 1 << 6;
    /// Bit 7: ASI.
    pub const ASI: u32 = 1 << 7;
    /// Bit 8: privileged register.
    pub const PRIV_REG: u32 = 1 << 8;
    /// Shift of the SP state field, bits 10:9.
    pub const SP_STATE_SHIFT: u32 = 9;
    /// Mask of the SP state field in place.
    pub const SP_STATE_MASK: u32 = 0x3 << 9;
    /// SP state: faulted.
    pub const SP_FAULTED: u32 = 0;
    /// SP state: available.
    pub const SP_AVAILABLE: u32 = 1;
    /// SP state: not present.
    pub const SP_NOT_PRESENT: u32 = 2;
    /// Shift of the mode field, bits 25:24.
    pub const MODE_SHIFT: u32 = 24;
    /// Mask of the mode field in place.
    pub const MODE_MASK: u32 = 0x3 << 24;
    /// Mode: user.
    pub const MODE_USER: u32 = 1;
    /// Mode: privileged.
    pub const MODE_PRIV: u32 = 2;
    /// Bit 31: resumable queue full.
    pub const RQ_FULL: u32 = 1 << 31;
}

/// Size of an error report (one queue entry) (hv-api.md §4.4).
pub const ERROR_REPORT_SIZE: usize = 64;
/// `err_raddr` value meaning "unknown" (-1) (hv-api.md §4.4).
pub const ERR_RADDR_UNKNOWN: u64 = u64::MAX;
/// `err_asr` bit 15: the ASR number is valid (hv-api.md §4.4).
pub const ERR_ASR_VALID: u16 = 1 << 15;

/// A sun4v error report as placed in the resumable / non-resumable error
/// queues (64 bytes, big-endian; reserved bytes encode as 0) (hv-api.md §4.4;
/// LNX-TRAPS `struct sun4v_error_entry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ErrorReport {
    /// 0x00: unique non-zero handle (guest clears it to 0 to free its copy).
    pub err_handle: u64,
    /// 0x08: %stick at detection.
    pub err_stick: u64,
    /// 0x13: [`err_type`] value.
    pub err_type: u8,
    /// 0x14: [`err_attr`] bits.
    pub err_attrs: u32,
    /// 0x18: real address, or [`ERR_RADDR_UNKNOWN`].
    pub err_raddr: u64,
    /// 0x20: size in bytes.
    pub err_size: u32,
    /// 0x24: cpuid.
    pub err_cpu: u16,
    /// 0x26: shutdown grace period in seconds.
    pub err_secs: u16,
    /// 0x28: ASI.
    pub err_asi: u8,
    /// 0x2a: ASR (bit 15 = valid).
    pub err_asr: u16,
}

impl ErrorReport {
    /// Encodes the report big-endian (hv-api.md §4.4).
    pub fn to_be_bytes(&self) -> [u8; ERROR_REPORT_SIZE] {
        let mut b = [0u8; ERROR_REPORT_SIZE];
        b[0x00..0x08].copy_from_slice(&self.err_handle.to_be_bytes());
        b[0x08..0x10].copy_from_slice(&self.err_stick.to_be_bytes());
        b[0x13] = self.err_type;
        b[0x14..0x18].copy_from_slice(&self.err_attrs.to_be_bytes());
        b[0x18..0x20].copy_from_slice(&self.err_raddr.to_be_bytes());
        b[0x20..0x24].copy_from_slice(&self.err_size.to_be_bytes());
        b[0x24..0x26].copy_from_slice(&self.err_cpu.to_be_bytes());
        b[0x26..0x28].copy_from_slice(&self.err_secs.to_be_bytes());
        b[0x28] = self.err_asi;
        b[0x2a..0x2c].copy_from_slice(&self.err_asr.to_be_bytes());
        b
    }

    /// Decodes a big-endian report, ignoring reserved bytes (hv-api.md §4.4).
    pub fn from_be_bytes(b: &[u8; ERROR_REPORT_SIZE]) -> ErrorReport {
        let u16_at = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            u64::from_be_bytes(a)
        };
        ErrorReport {
            err_handle: u64_at(0x00),
            err_stick: u64_at(0x08),
            err_type: b[0x13],
            err_attrs: u32_at(0x14),
            err_raddr: u64_at(0x18),
            err_size: u32_at(0x20),
            err_cpu: u16_at(0x24),
            err_secs: u16_at(0x26),
            err_asi: b[0x28],
            err_asr: u16_at(0x2a),
        }
    }
}

static_assertions::const_assert_eq!(CPU_MONDO, 0x3c);
static_assertions::const_assert_eq!(DEV_MONDO, 0x3d);
static_assertions::const_assert_eq!(RESUMABLE_ERROR, 0x3e);
static_assertions::const_assert_eq!(NONRESUMABLE_ERROR, 0x3f);
static_assertions::const_assert_eq!(ASI_QUEUE, 0x25);
static_assertions::const_assert_eq!(head_reg(CPU_MONDO), CPU_MONDO_HEAD);
static_assertions::const_assert_eq!(tail_reg(CPU_MONDO), CPU_MONDO_TAIL);
static_assertions::const_assert_eq!(head_reg(DEV_MONDO), DEV_MONDO_HEAD);
static_assertions::const_assert_eq!(tail_reg(DEV_MONDO), DEV_MONDO_TAIL);
static_assertions::const_assert_eq!(head_reg(RESUMABLE_ERROR), RESUMABLE_ERROR_HEAD);
static_assertions::const_assert_eq!(tail_reg(RESUMABLE_ERROR), RESUMABLE_ERROR_TAIL);
static_assertions::const_assert_eq!(head_reg(NONRESUMABLE_ERROR), NONRESUMABLE_ERROR_HEAD);
static_assertions::const_assert_eq!(tail_reg(NONRESUMABLE_ERROR), NONRESUMABLE_ERROR_TAIL);
static_assertions::const_assert_eq!(CPU_MONDO_HEAD, 0x3c0);
static_assertions::const_assert_eq!(NONRESUMABLE_ERROR_TAIL, 0x3f8);
static_assertions::const_assert_eq!(trap_type(CPU_MONDO), crate::trap::tt::CPU_MONDO);
static_assertions::const_assert_eq!(trap_type(DEV_MONDO), crate::trap::tt::DEV_MONDO);
static_assertions::const_assert_eq!(trap_type(RESUMABLE_ERROR), crate::trap::tt::RESUMABLE_ERROR);
static_assertions::const_assert_eq!(trap_type(NONRESUMABLE_ERROR), crate::trap::tt::NONRESUMABLE_ERROR);
static_assertions::const_assert_eq!(ENTRY_SIZE, 64);
static_assertions::const_assert_eq!(T1_MAX_ENTRIES, 256);
static_assertions::const_assert_eq!(ERROR_REPORT_SIZE as u64, ENTRY_SIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_arithmetic() {
        assert!(is_valid_queue(0x3c) && is_valid_queue(0x3f));
        assert!(!is_valid_queue(0x3b) && !is_valid_queue(0x40));
        assert_eq!(next_offset(0, 4), 64);
        assert_eq!(next_offset(192, 4), 0);
        assert!(is_empty(128, 128));
        assert!(is_full(0, 192, 4));
        assert!(!is_full(64, 192, 4 * 2));
        for n in [0, 2, 4, 128, 256] {
            assert!(is_valid_t1_entries(n), "{n}");
        }
        for n in [1, 3, 6, 512] {
            assert!(!is_valid_t1_entries(n), "{n}");
        }
    }

    #[test]
    fn error_report_layout() {
        let r = ErrorReport {
            err_handle: 0x0102_0304_0506_0708,
            err_stick: 0x1112_1314_1516_1718,
            err_type: err_type::PRECISE_NONRESUMABLE,
            err_attrs: err_attr::MEMORY | (err_attr::MODE_PRIV << err_attr::MODE_SHIFT),
            err_raddr: ERR_RADDR_UNKNOWN,
            err_size: 0x40,
            err_cpu: 3,
            err_secs: 0x2122,
            err_asi: 0x25,
            err_asr: ERR_ASR_VALID | 0x17,
        };
        let b = r.to_be_bytes();
        assert_eq!(&b[0..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[0x10..0x13], &[0, 0, 0]);
        assert_eq!(b[0x13], 2);
        assert_eq!(&b[0x14..0x18], &[0x02, 0, 0, 0x02]);
        assert_eq!(&b[0x18..0x20], &[0xff; 8]);
        assert_eq!(&b[0x20..0x24], &[0, 0, 0, 0x40]);
        assert_eq!(&b[0x24..0x28], &[0, 3, 0x21, 0x22]);
        assert_eq!(b[0x28], 0x25);
        assert_eq!(b[0x29], 0);
        assert_eq!(&b[0x2a..0x2c], &[0x80, 0x17]);
        assert!(b[0x2c..].iter().all(|&x| x == 0));
        assert_eq!(ErrorReport::from_be_bytes(&b), r);
    }
}
