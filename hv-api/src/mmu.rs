//! MMU definitions: page sizes, the sun4v TTE, TSB descriptors and entries,
//! the MMU fault status area, and `mmu_*` call constants.
//!
//! Source: hv-api.md §2.2, §2.3, §2.9, §4.1–§4.3, §7.3; OSH
//! `src/include/sun4v/mmu.h`, `src/include/hypervisor.h`,
//! `src/greatlakes/ontario/include/mmu.h`.

use bitflags::bitflags;

/// log2 of the page size of a size code (TTE bits 3:0, a TSB's `pgsz_idx`, an LDC cookie's
/// bits 63:60): 13 + 3 × code (hv-api.md §4.1). The one decode of the project; callers
/// check or mask the code first.
pub const fn page_shift(code: u64) -> u32 {
    13 + 3 * code as u32
}

/// Bytes of a page of size code `code` ([`page_shift`]).
pub const fn page_bytes(code: u64) -> u64 {
    1 << page_shift(code)
}

/// sun4v page-size code: page = 8 KiB × 8^code (hv-api.md §4.1; OSH
/// `src/include/sun4v/mmu.h`). Used by TTE `SZ`, TSB `pgsz_idx`, LDC MTEs
/// and cookies.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PageSize {
    /// 8 KiB (code 0; T1 supports it).
    Size8K = 0,
    /// 64 KiB (code 1; T1 supports it).
    Size64K = 1,
    /// 512 KiB (code 2; not on T1).
    Size512K = 2,
    /// 4 MiB (code 3; T1 supports it).
    Size4M = 3,
    /// 32 MiB (code 4; not on T1).
    Size32M = 4,
    /// 256 MiB (code 5; T1 supports it).
    Size256M = 5,
    /// 2 GiB (code 6; not on T1).
    Size2G = 6,
    /// 16 GiB (code 7; not on T1).
    Size16G = 7,
}

/// Page sizes supported by UltraSPARC T1, as a `pgsz_mask` bitmask:
/// 8K | 64K | 4M | 256M (hv-api.md §4.1; OSH `TTE_VALIDSIZEARRAY`).
pub const T1_SUPPORTED_MASK: u64 = 0x2b;

impl PageSize {
    /// All page sizes by code (hv-api.md §4.1).
    pub const ALL: [PageSize; 8] = [
        PageSize::Size8K,
        PageSize::Size64K,
        PageSize::Size512K,
        PageSize::Size4M,
        PageSize::Size32M,
        PageSize::Size256M,
        PageSize::Size2G,
        PageSize::Size16G,
    ];

    /// The page size with this code (0–7) (hv-api.md §4.1).
    pub const fn from_code(code: u64) -> Option<PageSize> {
        if code < 8 {
            Some(PageSize::ALL[code as usize])
        } else {
            None
        }
    }

    /// The 3-bit code (hv-api.md §4.1).
    pub const fn code(self) -> u64 {
        self as u64
    }

    /// log2 of the page size: 13 + 3 × code (hv-api.md §4.1).
    pub const fn shift(self) -> u32 {
        page_shift(self as u64)
    }

    /// Page size in bytes (hv-api.md §4.1).
    pub const fn bytes(self) -> u64 {
        1u64 << self.shift()
    }

    /// The bit of this size in a `pgsz_mask` / `mmu-page-size-list` (hv-api.md §4.1).
    pub const fn mask_bit(self) -> u64 {
        1u64 << (self as u64)
    }

    /// Whether UltraSPARC T1 supports this size (hv-api.md §4.1).
    pub const fn is_t1_supported(self) -> bool {
        T1_SUPPORTED_MASK & self.mask_bit() != 0
    }
}

bitflags! {
    /// Single-bit fields of a sun4v TTE data word (hv-api.md §4.1; OSH
    /// `src/include/sun4v/mmu.h`, `ontario/include/mmu.h`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TteFlags: u64 {
        /// Bit 63 V: valid.
        const V = 1 << 63;
        /// Bit 62 NFO: no-fault-only.
        const NFO = 1 << 62;
        /// Bit 61: T1 hypervisor TLB lock bit (part of SW2; cleared in guest TTEs).
        const LOCK = 1 << 61;
        /// Bit 12 IE: invert endianness.
        const IE = 1 << 12;
        /// Bit 11 E: side effect (I/O).
        const E = 1 << 11;
        /// Bit 10 CP: cacheable physically.
        const CP = 1 << 10;
        /// Bit 9 CV: cacheable virtually.
        const CV = 1 << 9;
        /// Bit 8 P: privileged page.
        const P = 1 << 8;
        /// Bit 7 X (EP): executable.
        const X = 1 << 7;
        /// Bit 6 W: writable.
        const W = 1 << 6;
    }
}

/// A sun4v TTE data word (hv-api.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Tte(pub u64);

impl Tte {
    /// Bit 63 V (hv-api.md §4.1).
    pub const V: u64 = 1 << 63;
    /// Bit 62 NFO (hv-api.md §4.1).
    pub const NFO: u64 = 1 << 62;
    /// Bits 61:56 SW2, software field (hv-api.md §4.1).
    pub const SW2_MASK: u64 = 0x3f << 56;
    /// Bit 61: T1 HV lock bit (hv-api.md §4.1; OSH `NI_TTE4V_L_SHIFT 61`).
    pub const LOCK: u64 = 1 << 61;
    /// Shift of the T1 lock bit (OSH `NI_TTE4V_L_SHIFT`).
    pub const LOCK_SHIFT: u32 = 61;
    /// Bits 55:13: real address of the page (hv-api.md §4.1).
    pub const RA_MASK: u64 = 0x00ff_ffff_ffff_e000;
    /// Bits 39:13: the part of the RA the T1 HV uses (40-bit RA space) (hv-api.md §4.1).
    pub const T1_RA_MASK: u64 = 0x0000_00ff_ffff_e000;
    /// Bit 12 IE (hv-api.md §4.1).
    pub const IE: u64 = 1 << 12;
    /// Bit 11 E (hv-api.md §4.1).
    pub const E: u64 = 1 << 11;
    /// Bit 10 CP (hv-api.md §4.1).
    pub const CP: u64 = 1 << 10;
    /// Bit 9 CV (hv-api.md §4.1).
    pub const CV: u64 = 1 << 9;
    /// Bit 8 P (hv-api.md §4.1).
    pub const P: u64 = 1 << 8;
    /// Bit 7 X (hv-api.md §4.1).
    pub const X: u64 = 1 << 7;
    /// Bit 6 W (hv-api.md §4.1).
    pub const W: u64 = 1 << 6;
    /// Bits 5:4 SW, software field (hv-api.md §4.1).
    pub const SW_MASK: u64 = 0x30;
    /// Bits 3:0 SZ, page-size code (OSH masks 4 bits, `TTE_SZ_MASK`) (hv-api.md §4.1 ⚠).
    pub const SZ_MASK: u64 = 0xf;

    /// A valid TTE mapping the page at `ra` (low bits ignored) with `size` and
    /// `flags` ([`TteFlags::V`] is added) (hv-api.md §4.1).
    pub const fn new(ra: u64, size: PageSize, flags: TteFlags) -> Tte {
        Tte(Self::V | flags.bits() | (ra & Self::RA_MASK) | size.code())
    }

    /// The raw 64-bit word.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// V bit (hv-api.md §4.1).
    pub const fn is_valid(self) -> bool {
        self.0 & Self::V != 0
    }

    /// Real address field, bits 55:13 in place (hv-api.md §4.1).
    pub const fn ra(self) -> u64 {
        self.0 & Self::RA_MASK
    }

    /// The same TTE with the RA field replaced (e.g. RA→PA) (hv-api.md §2.2).
    pub const fn with_ra(self, ra: u64) -> Tte {
        Tte((self.0 & !Self::RA_MASK) | (ra & Self::RA_MASK))
    }

    /// Size code, bits 3:0 (hv-api.md §4.1).
    pub const fn size_code(self) -> u64 {
        self.0 & Self::SZ_MASK
    }

    /// Page size, if the code is 0–7 (hv-api.md §4.1).
    pub const fn page_size(self) -> Option<PageSize> {
        PageSize::from_code(self.size_code())
    }

    /// The single-bit fields (hv-api.md §4.1).
    pub const fn flags(self) -> TteFlags {
        TteFlags::from_bits_truncate(self.0)
    }

    /// Whether `flag` (a [`TteFlags`] value) is set.
    pub const fn has(self, flag: TteFlags) -> bool {
        self.0 & flag.bits() == flag.bits()
    }

    /// SW2 field, bits 61:56 shifted down (hv-api.md §4.1).
    pub const fn sw2(self) -> u64 {
        (self.0 & Self::SW2_MASK) >> 56
    }

    /// The same TTE with the T1 lock bit cleared, as the T1 HV does for
    /// guest TTEs (hv-api.md §2.2).
    pub const fn without_lock(self) -> Tte {
        Tte(self.0 & !Self::LOCK)
    }
}

/// Size of a TSB descriptor (hv-api.md §4.2; OSH `TSBD_BYTES`).
pub const TSBD_BYTES: usize = 32;
/// Alignment of a TSB descriptor array (hv-api.md §4.2; OSH `TSBD_ALIGNMENT`).
pub const TSBD_ALIGNMENT: u64 = 8;
/// `ctx_idx` value meaning "shared / any context" (-1 as u32) (hv-api.md §4.2;
/// OSH `TSBD_CTX_IDX_SHARE`).
pub const TSBD_CTX_IDX_SHARED: u32 = 0xffff_ffff;
/// Maximum TSBs per context class on T1 (OSH `MAX_NTSB`) (hv-api.md §2.9, §4.2).
pub const T1_MAX_TSBS: u64 = 2;
/// Maximum TSB descriptors for `mmu_tsb_ctxnon0` per the API text (hv-api.md §2.3, §4.2).
pub const MAX_TSBS_CTXNON0: u64 = 16;
/// Minimum TSB entries on T1 (hv-api.md §2.9).
pub const T1_TSB_MIN_ENTRIES: u64 = 512;
/// Maximum TSB entries on T1: 512 × 2^15 (hv-api.md §2.9).
pub const T1_TSB_MAX_ENTRIES: u64 = 512 << 15;

/// A TSB descriptor (`hv_tsb_descr`, 32 bytes, big-endian) (hv-api.md §4.2;
/// OSH `TSBD_*` offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TsbDescriptor {
    /// Offset 0x00: page-size code used to index the TSB.
    pub pgsz_idx: u16,
    /// Offset 0x02: associativity (T1: 1).
    pub assoc: u16,
    /// Offset 0x04: number of TTEs (power of two).
    pub num_ttes: u32,
    /// Offset 0x08: context index (0) or [`TSBD_CTX_IDX_SHARED`].
    pub ctx_idx: u32,
    /// Offset 0x0c: page sizes stored in this TSB.
    pub pgsz_mask: u32,
    /// Offset 0x10: real address of the TSB.
    pub tsb_base: u64,
    /// Offset 0x18: reserved, must be 0.
    pub reserved: u64,
}

impl TsbDescriptor {
    /// Offset of `pgsz_idx` (OSH `TSBD_IDXPGSZ_OFF`).
    pub const PGSZ_IDX_OFF: usize = 0;
    /// Offset of `assoc` (OSH `TSBD_ASSOC_OFF`).
    pub const ASSOC_OFF: usize = 2;
    /// Offset of `num_ttes` (OSH `TSBD_SIZE_OFF`).
    pub const NUM_TTES_OFF: usize = 4;
    /// Offset of `ctx_idx` (OSH `TSBD_CTX_INDEX`).
    pub const CTX_IDX_OFF: usize = 8;
    /// Offset of `pgsz_mask` (OSH `TSBD_PGSZS_OFF`).
    pub const PGSZ_MASK_OFF: usize = 12;
    /// Offset of `tsb_base` (OSH `TSBD_BASE_OFF`).
    pub const TSB_BASE_OFF: usize = 16;
    /// Offset of `reserved` (OSH `TSBD_RSVD_OFF`).
    pub const RESERVED_OFF: usize = 24;

    /// Decodes a big-endian descriptor (hv-api.md §4.2).
    pub fn from_be_bytes(b: &[u8; TSBD_BYTES]) -> TsbDescriptor {
        let u16_at = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            u64::from_be_bytes(a)
        };
        TsbDescriptor {
            pgsz_idx: u16_at(Self::PGSZ_IDX_OFF),
            assoc: u16_at(Self::ASSOC_OFF),
            num_ttes: u32_at(Self::NUM_TTES_OFF),
            ctx_idx: u32_at(Self::CTX_IDX_OFF),
            pgsz_mask: u32_at(Self::PGSZ_MASK_OFF),
            tsb_base: u64_at(Self::TSB_BASE_OFF),
            reserved: u64_at(Self::RESERVED_OFF),
        }
    }

    /// Encodes big-endian (hv-api.md §4.2).
    pub fn to_be_bytes(&self) -> [u8; TSBD_BYTES] {
        let mut b = [0u8; TSBD_BYTES];
        b[0..2].copy_from_slice(&self.pgsz_idx.to_be_bytes());
        b[2..4].copy_from_slice(&self.assoc.to_be_bytes());
        b[4..8].copy_from_slice(&self.num_ttes.to_be_bytes());
        b[8..12].copy_from_slice(&self.ctx_idx.to_be_bytes());
        b[12..16].copy_from_slice(&self.pgsz_mask.to_be_bytes());
        b[16..24].copy_from_slice(&self.tsb_base.to_be_bytes());
        b[24..32].copy_from_slice(&self.reserved.to_be_bytes());
        b
    }

    /// Size of the TSB in bytes: `num_ttes` × 16 (hv-api.md §4.2).
    pub const fn tsb_bytes(&self) -> u64 {
        self.num_ttes as u64 * TSB_ENTRY_SIZE as u64
    }
}

/// Size of a TSB entry: tag then TTE data (hv-api.md §4.2).
pub const TSB_ENTRY_SIZE: usize = 16;
/// Shift of the context field in a TSB tag (hv-api.md §4.2; OSH `TAG_CTX_SHIFT`).
pub const TAG_CTX_SHIFT: u32 = 48;
/// Mask of the context field after shifting (13 bits) (hv-api.md §4.2; OSH `TAG_CTX_MASK`).
pub const TAG_CTX_MASK: u64 = 0x1fff;
/// VA bits 63:22 are stored in tag bits 41:0 (hv-api.md §4.2).
pub const TAG_VA_SHIFT: u32 = 22;
/// Mask of the VA field of a tag, bits 41:0 (hv-api.md §4.2).
pub const TAG_VA_MASK: u64 = (1 << 42) - 1;

/// TSB tag for (`ctx`, `va`): ctx in bits 60:48, VA\[63:22\] in bits 41:0
/// (hv-api.md §4.2).
pub const fn tsb_tag(ctx: u64, va: u64) -> u64 {
    ((ctx & TAG_CTX_MASK) << TAG_CTX_SHIFT) | ((va >> TAG_VA_SHIFT) & TAG_VA_MASK)
}

/// Context of a TSB tag (hv-api.md §4.2).
pub const fn tag_context(tag: u64) -> u64 {
    (tag >> TAG_CTX_SHIFT) & TAG_CTX_MASK
}

/// VA bits 63:22 of a TSB tag, in place (hv-api.md §4.2).
pub const fn tag_va(tag: u64) -> u64 {
    (tag & TAG_VA_MASK) << TAG_VA_SHIFT
}

/// `mmu_map_addr`/`mmu_demap_*`/`mmu_*_perm_addr` flag: data TLB (hv-api.md §2.2; OSH `MAP_DTLB`).
pub const MAP_DTLB: u64 = 0x1;
/// Flag: instruction TLB (hv-api.md §2.2; OSH `MAP_ITLB`).
pub const MAP_ITLB: u64 = 0x2;
/// Both TLBs (hv-api.md §2.2).
pub const MAP_BOTH: u64 = MAP_DTLB | MAP_ITLB;
/// Maximum permanent mappings (`mmu_map_perm_addr`, else `ETOOMANY`)
/// (hv-api.md §2.3; OSH `NPERMMAPPINGS`).
pub const MAX_PERM_MAPPINGS: u64 = 8;
/// `mmu_enable` argument: disable translation (hv-api.md §2.3).
pub const MMU_DISABLE: u64 = 0;
/// `mmu_enable` argument: enable translation (any non-zero) (hv-api.md §2.3).
pub const MMU_ENABLE: u64 = 1;
/// Context bits on T1 (8192 contexts) (hv-api.md §5.4, §7.3).
pub const CONTEXT_BITS: u32 = 13;
/// Implemented VA bits on T1 (sign-extended) (hv-api.md §5.4, §7.3; OSH `NVABITS`).
pub const VA_BITS: u32 = 48;
/// PA/RA bit selecting I/O space on T1 (hv-api.md §7.3; OSH `PADDR_IO_BIT`).
pub const PADDR_IO_BIT: u32 = 39;
/// ITLB and DTLB entries on T1 (hv-api.md §7.3).
pub const T1_TLB_ENTRIES: usize = 64;

/// Size of the MMU fault status area (hv-api.md §4.3; OSH `MMU_FAULT_AREA_SIZE`).
pub const FAULT_AREA_SIZE: u64 = fault_area::SIZE;
/// Alignment of the MMU fault status area (hv-api.md §4.3; OSH `MMU_FAULT_AREA_ALIGNMENT`).
pub const FAULT_AREA_ALIGNMENT: u64 = fault_area::ALIGNMENT;

/// Offsets inside the MMU fault status area (hv-api.md §4.3).
pub mod fault_area {
    /// Instruction fault type (hv-api.md §4.3).
    pub const IFT: usize = 0x00;
    /// Instruction fault address (hv-api.md §4.3).
    pub const IFA: usize = 0x08;
    /// Instruction fault context (hv-api.md §4.3).
    pub const IFC: usize = 0x10;
    /// Data fault type (hv-api.md §4.3).
    pub const DFT: usize = 0x40;
    /// Data fault address (hv-api.md §4.3).
    pub const DFA: usize = 0x48;
    /// Data fault context (hv-api.md §4.3).
    pub const DFC: usize = 0x50;
    /// Size of the area in bytes (hv-api.md §4.3).
    pub const SIZE: u64 = 0x80;
    /// Required alignment in bytes (hv-api.md §4.3).
    pub const ALIGNMENT: u64 = 64;

    static_assertions::const_assert_eq!(IFT, 0x00);
    static_assertions::const_assert_eq!(IFA, 0x08);
    static_assertions::const_assert_eq!(IFC, 0x10);
    static_assertions::const_assert_eq!(DFT, 0x40);
    static_assertions::const_assert_eq!(DFA, 0x48);
    static_assertions::const_assert_eq!(DFC, 0x50);
    static_assertions::const_assert_eq!(SIZE, 0x80);
    static_assertions::const_assert_eq!(ALIGNMENT, 64);
}

/// MMU fault types stored in IFT/DFT (hv-api.md §4.3; LNX `HV_FAULT_TYPE_*`,
/// OSH `MMU_FT_*`).
pub mod fault_type {
    /// Fast MMU miss (OSH does not store it for fast misses).
    pub const FAST_MISS: u64 = 1;
    /// Fast protection.
    pub const FAST_PROT: u64 = 2;
    /// TSB search missed (slow miss 0x09/0x31).
    pub const MMU_MISS: u64 = 3;
    /// RA outside the guest.
    pub const INV_RA: u64 = 4;
    /// Privileged page accessed with PSTATE.PRIV = 0.
    pub const PRIV_VIOL: u64 = 5;
    /// Store to non-W page / fetch from non-X page.
    pub const PROT_VIOL: u64 = 6;
    /// Non-fault-only access to an NFO page.
    pub const NFO: u64 = 7;
    /// No-fault load to a side-effect page.
    pub const NFO_SEFF: u64 = 8;
    /// VA out of range.
    pub const INV_VA: u64 = 9;
    /// Illegal ASI.
    pub const INV_ASI: u64 = 10;
    /// Atomic to non-cacheable.
    pub const NC_ATOMIC: u64 = 11;
    /// Privileged ASI with PSTATE.PRIV = 0.
    pub const PRIV_ACT: u64 = 12;
    /// Watchpoint (OSH; LNX "reserved") (hv-api.md §4.3 ⚠).
    pub const WATCHPOINT: u64 = 13;
    /// Misaligned access.
    pub const UNALIGNED: u64 = 14;
    /// Bad page size in a TSB TTE.
    pub const INV_PGSZ: u64 = 15;
    /// TSB TTE's RA invalid (OSH; LNX reserved) (hv-api.md §4.3 ⚠).
    pub const INV_TSB_ENTRY: u64 = 16;
    /// Several / unknown causes: -1.
    pub const MULTIPLE: u64 = -1i64 as u64;

    static_assertions::const_assert_eq!(FAST_MISS, 1);
    static_assertions::const_assert_eq!(FAST_PROT, 2);
    static_assertions::const_assert_eq!(MMU_MISS, 3);
    static_assertions::const_assert_eq!(INV_RA, 4);
    static_assertions::const_assert_eq!(PRIV_VIOL, 5);
    static_assertions::const_assert_eq!(PROT_VIOL, 6);
    static_assertions::const_assert_eq!(NFO, 7);
    static_assertions::const_assert_eq!(NFO_SEFF, 8);
    static_assertions::const_assert_eq!(INV_VA, 9);
    static_assertions::const_assert_eq!(INV_ASI, 10);
    static_assertions::const_assert_eq!(NC_ATOMIC, 11);
    static_assertions::const_assert_eq!(PRIV_ACT, 12);
    static_assertions::const_assert_eq!(WATCHPOINT, 13);
    static_assertions::const_assert_eq!(UNALIGNED, 14);
    static_assertions::const_assert_eq!(INV_PGSZ, 15);
    static_assertions::const_assert_eq!(INV_TSB_ENTRY, 16);
    static_assertions::const_assert_eq!(MULTIPLE, 0xffff_ffff_ffff_ffff);
}

static_assertions::const_assert_eq!(T1_SUPPORTED_MASK, 0x2b);
static_assertions::const_assert_eq!(Tte::V, 0x8000_0000_0000_0000);
static_assertions::const_assert_eq!(Tte::NFO, 0x4000_0000_0000_0000);
static_assertions::const_assert_eq!(Tte::LOCK, 0x2000_0000_0000_0000);
static_assertions::const_assert_eq!(Tte::SW2_MASK, 0x3f00_0000_0000_0000);
static_assertions::const_assert_eq!(Tte::IE, 0x1000);
static_assertions::const_assert_eq!(Tte::E, 0x800);
static_assertions::const_assert_eq!(Tte::CP, 0x400);
static_assertions::const_assert_eq!(Tte::CV, 0x200);
static_assertions::const_assert_eq!(Tte::P, 0x100);
static_assertions::const_assert_eq!(Tte::X, 0x80);
static_assertions::const_assert_eq!(Tte::W, 0x40);
static_assertions::const_assert_eq!(Tte::SZ_MASK, 0xf);
static_assertions::const_assert_eq!(TSBD_BYTES, 32);
static_assertions::const_assert_eq!(TSBD_ALIGNMENT, 8);
static_assertions::const_assert_eq!(TSB_ENTRY_SIZE, 16);
static_assertions::const_assert_eq!(TAG_CTX_SHIFT, 48);
static_assertions::const_assert_eq!(TAG_CTX_MASK, 0x1fff);
static_assertions::const_assert_eq!(MAP_DTLB, 1);
static_assertions::const_assert_eq!(MAP_ITLB, 2);
static_assertions::const_assert_eq!(MAX_PERM_MAPPINGS, 8);
static_assertions::const_assert_eq!(T1_TSB_MAX_ENTRIES, 16 * 1024 * 1024);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes() {
        let bytes = [8u64 << 10, 64 << 10, 512 << 10, 4 << 20, 32 << 20, 256 << 20, 2 << 30, 16 << 30];
        for (code, b) in bytes.iter().enumerate() {
            let p = PageSize::from_code(code as u64).unwrap();
            assert_eq!(p.code(), code as u64);
            assert_eq!(p.bytes(), *b);
            assert_eq!(p.mask_bit(), 1 << code);
        }
        assert_eq!(PageSize::from_code(8), None);
        let t1: u64 = PageSize::ALL.iter().filter(|p| p.is_t1_supported()).map(|p| p.mask_bit()).sum();
        assert_eq!(t1, 0x2b);
        assert!(PageSize::Size4M.is_t1_supported() && !PageSize::Size512K.is_t1_supported());
    }

    #[test]
    fn tte_fields() {
        let t = Tte::new(
            0x8000_0000 | 0x1fff,
            PageSize::Size4M,
            TteFlags::CP | TteFlags::CV | TteFlags::P | TteFlags::X | TteFlags::W,
        );
        assert_eq!(t.0, 0x8000_0000_8000_07c3);
        assert!(t.is_valid());
        assert_eq!(t.ra(), 0x8000_0000);
        assert_eq!(t.page_size(), Some(PageSize::Size4M));
        assert!(t.has(TteFlags::W) && !t.has(TteFlags::E));
        assert_eq!(t.flags(), TteFlags::V | TteFlags::CP | TteFlags::CV | TteFlags::P | TteFlags::X | TteFlags::W);
        let t2 = t.with_ra(0x1f_1000_0000);
        assert_eq!(t2.ra(), 0x1f_1000_0000);
        assert_eq!(t2.size_code(), 3);
        let locked = Tte(t.0 | Tte::LOCK);
        assert_eq!(locked.sw2(), 0x20);
        assert_eq!(locked.without_lock(), t);
        assert_eq!(Tte(u64::MAX).ra(), 0x00ff_ffff_ffff_e000);
        assert_eq!(Tte(u64::MAX).ra() & Tte::T1_RA_MASK, 0xff_ffff_e000);
        assert_eq!(Tte(0xf).page_size(), None);
    }

    #[test]
    fn tsb_descriptor_round_trip() {
        let d = TsbDescriptor {
            pgsz_idx: 0,
            assoc: 1,
            num_ttes: 512,
            ctx_idx: TSBD_CTX_IDX_SHARED,
            pgsz_mask: 0x2b,
            tsb_base: 0x8010_0000,
            reserved: 0,
        };
        let b = d.to_be_bytes();
        assert_eq!(
            b,
            [
                0, 0, 0, 1, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x2b, 0, 0, 0, 0, 0x80, 0x10, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0
            ]
        );
        assert_eq!(TsbDescriptor::from_be_bytes(&b), d);
        assert_eq!(d.tsb_bytes(), 8192);
    }

    #[test]
    fn tsb_tags() {
        let va = 0xffff_f800_1234_5678u64;
        let tag = tsb_tag(0x1abc, va);
        assert_eq!(tag_context(tag), 0x1abc);
        assert_eq!(tag_va(tag), va & !((1 << 22) - 1));
        assert_eq!(tsb_tag(0, 0x40_0000), 1);
        assert_eq!(tsb_tag(0x2001, 0), 1 << 48, "context masked to 13 bits");
        assert_eq!(tag & (0x7 << 42), 0, "bits 47:42 clear");
    }
}
