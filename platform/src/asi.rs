//! Address space identifiers the T1 hypervisor uses (hv-api.md §7.3; qemu-niagara.md §4.3,
//! §5).

/// Real (physical for the HV) cacheable access.
pub const REAL: u8 = 0x14;
/// Real (physical for the HV) I/O access, side effects, uncached.
pub const REAL_IO: u8 = 0x15;
/// Guest scratchpad registers.
pub const SCRATCHPAD: u8 = 0x20;
/// [`SCRATCHPAD`] VA where the hypervisor leaves the vCPU's id at its start (sun4v guests,
/// Linux's `SCRATCHPAD_CPUID`, read it there).
pub const SCRATCHPAD_CPUID: u64 = 0x08;
/// Primary (VA 0x8) and secondary (VA 0x10) context registers.
pub const MMU_CONTEXT: u8 = 0x21;
/// Mondo and error queue head/tail registers (stock QEMU: stores dropped, loads fault;
/// qemu-sun4v: the registers).
pub const QUEUE: u8 = 0x25;
/// Interrupt receive register: one bit per pending interrupt vector (qemu-sun4v, patch 0003).
pub const INTR_RCV: u8 = 0x72;
/// Incoming vector register: a load returns the highest pending vector and clears it.
pub const INTR_UDB_R: u8 = 0x74;
/// 128-bit atomic load from a real address (TSB entries).
pub const QUAD_LDD_REAL: u8 = 0x26;
/// Load/store unit control: bit 2 IM, bit 3 DM.
pub const LSU_CONTROL: u8 = 0x45;
/// Hyperprivileged scratchpad (aliases [`SCRATCHPAD`] on QEMU).
pub const HSCRATCHPAD: u8 = 0x4f;
/// IMMU registers (tag target 0x0, tag access 0x30).
pub const IMMU: u8 = 0x50;
/// DMMU registers (tag target 0x0, SFSR 0x18, SFAR 0x20, tag access 0x30).
pub const DMMU: u8 = 0x58;
/// ITLB data-in (VA 0x400: sun4v TTE format).
pub const ITLB_DATA_IN: u8 = 0x54;
/// ITLB data access.
pub const ITLB_DATA_ACCESS: u8 = 0x55;
/// ITLB tag read.
pub const ITLB_TAG_READ: u8 = 0x56;
/// IMMU demap.
pub const IMMU_DEMAP: u8 = 0x57;
/// DTLB data-in (VA 0x400: sun4v TTE format).
pub const DTLB_DATA_IN: u8 = 0x5c;
/// DTLB data access.
pub const DTLB_DATA_ACCESS: u8 = 0x5d;
/// DTLB tag read.
pub const DTLB_TAG_READ: u8 = 0x5e;
/// DMMU demap.
pub const DMMU_DEMAP: u8 = 0x5f;

/// HSCRATCHPAD VA of the per-strand pointer. The guest cannot read or write VA 0x20/0x28
/// (qemu-niagara.md §5), unlike 0x00–0x18 and 0x30–0x38 which Linux uses.
pub const HSCRATCH_STRAND: u64 = 0x20;
/// HSCRATCHPAD VA of the second hypervisor-only scratch register.
pub const HSCRATCH_SPARE: u64 = 0x28;

/// LSU control bit: instruction MMU enabled.
pub const LSU_IM: u64 = 1 << 2;
/// LSU control bit: data MMU enabled.
pub const LSU_DM: u64 = 1 << 3;

/// [`IMMU`]/[`DMMU`] register VA: tag target (`ctx << 48 | VA >> 22` of the last miss).
pub const MMU_TAG_TARGET: u64 = 0x00;
/// [`DMMU`]/[`IMMU`] register VA: synchronous fault status.
pub const MMU_SFSR: u64 = 0x18;
/// [`DMMU`] register VA: synchronous fault address.
pub const MMU_SFAR: u64 = 0x20;
/// [`IMMU`]/[`DMMU`] register VA: tag access (`VA | ctx` of the last miss; written before a
/// TLB load).
pub const MMU_TAG_ACCESS: u64 = 0x30;
/// [`ITLB_DATA_IN`]/[`DTLB_DATA_IN`] VA that takes a sun4v-format TTE.
pub const TLB_DATA_IN_SUN4V: u64 = 0x400;
/// Data-in VA bit 9 with [`TLB_DATA_IN_SUN4V`]: the entry is a real translation (RA→PA,
/// qemu-sun4v `ra2pa`; stock QEMU and `ra2pa=off` drop it).
pub const TLB_DATA_IN_SUN4V_REAL: u64 = TLB_DATA_IN_SUN4V | 0x200;
/// [`DMMU`] register VA: the partition ID (T1; qemu-sun4v patch 0007), 3 bits.
pub const PARTITION_ID: u64 = 0x80;
/// [`MMU_CONTEXT`] VA of the primary context register.
pub const PRIMARY_CONTEXT: u64 = 0x08;
/// [`MMU_CONTEXT`] VA of the secondary context register.
pub const SECONDARY_CONTEXT: u64 = 0x10;
