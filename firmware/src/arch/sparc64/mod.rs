//! The UltraSPARC T1 arch layer on QEMU niagara: everything that needs assembly or
//! `unsafe`. The assembly (`entry.s`) holds the reset entry, the hyperprivileged trap
//! table, trap entry/exit and guest entry; this module holds the per-strand state it uses,
//! the Rust entry points it calls, and the [`Hardware`] implementation.
#![allow(unsafe_code)]

use crate::addr::Pa;
use crate::concentrator::Concentrator;
use crate::console::Logger;
use crate::hardware::{Hardware, TlbSet, UartInput};
use crate::hypervisor::Hypervisor;
use crate::hypervisor::{Next, CROSS_STRAND_WAIT_TICKS};
use crate::mmu::{FastMmu, FastPerm, FastTsb};
use crate::trap::{Action, LaunchState, TrapFrame};
use core::mem::offset_of;
use core::sync::atomic::{AtomicU64, Ordering};
use platform::memory_map::{int_vec_dis, HV_MD_ROM, IOB_INT_VEC_DIS, PARTITION_RAM_BASE, RTC_ADDR, UART_BASE};
use platform::{asi, registers, uart};

/// Strands the tables are sized for (a full T1).
pub const MAX_STRANDS: usize = platform::T1_STRANDS as usize;
/// log2 of the hypervisor stack size per strand (512 KiB: booting moves the ~70 KiB
/// `Hypervisor` tables by value a few times; 16 MiB of HV RAM for 32 strands).
pub const STACK_SHIFT: u32 = 19;
const STACK_SIZE: usize = 1 << STACK_SHIFT;
/// Windows the trap path marks OTHER, which spill_1_other may stash: all but the trapping
/// window and the two after it, which the entry path stashes itself (`entry_windows`).
const STASH_WINDOWS: usize = platform::NWINDOWS as usize - 3;
/// One window stashed by spill_1_other.
#[repr(C)]
struct StashedWindow {
    /// The window's number.
    cwp: u64,
    /// `%l0`–`%l7`.
    locals: [u64; 8],
    /// `%i0`–`%i7`.
    ins: [u64; 8],
}

/// The guest registers of the two windows after the trapping one `c`, which the
/// hypervisor's first windows use (docs/architecture.md, "Register windows").
#[repr(C)]
struct EntryWindows {
    /// Window c+1's `%l0`–`%l7`, stashed by the entry path.
    c1_locals: [u64; 8],
    /// Window c+1's `%o0`–`%o7` (= c+2's `%i`), stashed by the entry path.
    c1_outs: [u64; 8],
    /// Window c+2's `%l0`–`%l7`, stashed by the first spill of the trap.
    c2_locals: [u64; 8],
}

/// Everything the trap path keeps per strand. The assembly reaches it through HSCRATCH
/// 0x20 and uses the offsets pinned below.
#[repr(C)]
pub struct StrandState {
    /// The guest state of the current trap.
    pub frame: TrapFrame,
    /// Guest window registers at trap entry.
    saved_cwp: u64,
    saved_cansave: u64,
    saved_canrestore: u64,
    saved_otherwin: u64,
    saved_cleanwin: u64,
    saved_wstate: u64,
    /// Guest windows stashed by spill_1_other during this trap.
    stash_count: u64,
    /// The guest registers of the two windows after the trapping one.
    entry_windows: EntryWindows,
    /// Non-zero while the hypervisor runs (a trap then is the hypervisor's own fault).
    in_hv: u64,
    /// Biased %sp at the top of this strand's stack.
    stack_top: u64,
    /// This strand's id.
    strand_id: u64,
    /// Index of the vCPU running here.
    vcpu: u64,
    /// What the assembly fast paths need of the vCPU running here, set when it starts.
    facts: VcpuFacts,
    /// What the TLB fast paths need of each TTE size code, set when a vCPU starts.
    page_sizes: [FastPageSize; PAGE_SIZE_CODES],
    stash: [StashedWindow; STASH_WINDOWS],
}

/// What the fast paths need of the vCPU running on a strand: its own facts, which do not
/// change while it runs (its id, its domain's memory bounds, the console), and where the
/// state they read in place lives: the vCPU's [`FastMmu`] and its domain's `core_1` word.
/// Set by [`strand_loop`] when the vCPU starts; nothing is copied later.
#[repr(C)]
struct VcpuFacts {
    /// The vCPU's id (`cpu_myid`).
    vid: u64,
    /// First physical address of the domain's memory.
    mem_base: u64,
    /// Size of the domain's memory; 0 disables the TLB fast path.
    mem_size: u64,
    /// TTE bits kept when the RA field is replaced by the PA: all but bits 55:13 and the
    /// lock bit 61.
    tte_keep: u64,
    /// UART base for the console fast path; 0 sends console calls to Rust (several domains
    /// share the UART through the concentrator).
    console_uart: u64,
    /// The vCPU's MMU state as the fast paths read it (inside the shared `Hypervisor`,
    /// which never moves; only this strand writes it, from Rust, never while the assembly
    /// runs).
    mmu: *const FastMmu,
    /// The domain's `DomainCell::core_1`.
    core_1: *const AtomicU64,
}

/// TTE size codes: the values of the TTE's size field (hv-api.md §4.1).
const PAGE_SIZE_CODES: usize = hv_api::mmu::Tte::SZ_MASK as usize + 1;

/// What the TLB fast paths need of one TTE size code (`StrandState::page_sizes`, indexed by
/// the TTE's size field; 32 bytes, so that the index shifted by 5 is the offset). Only the
/// codes of 8K, 64K and 4M pages have a non-zero `ra_mask`; every other code goes to the
/// Rust path (256M pages are demoted there; 512K and 32M are no T1 sizes).
#[repr(C)]
#[derive(Clone, Copy)]
struct FastPageSize {
    /// The TTE bits of the page's real address (the RA field, bits 55:13, above the page
    /// offset); 0: not for the fast paths.
    ra_mask: u64,
    /// `!(page size - 1)`: a VA's page.
    page_mask: u64,
    /// The page mask and the context field: a tag access aligned to the page.
    tag_mask: u64,
    /// Pads the entry to 32 bytes.
    _pad: u64,
}

/// log2 of `size_of::<FastPageSize>()`.
const PAGE_SIZE_SHIFT: u32 = 5;
static_assertions::const_assert_eq!(core::mem::size_of::<FastPageSize>(), 1 << PAGE_SIZE_SHIFT);

/// The fast paths' table of TTE size codes (see [`FastPageSize`]).
const fn fast_page_sizes() -> [FastPageSize; PAGE_SIZE_CODES] {
    use hv_api::mmu::PageSize;
    let mut table = [FastPageSize { ra_mask: 0, page_mask: 0, tag_mask: 0, _pad: 0 }; PAGE_SIZE_CODES];
    let fast = [PageSize::Size8K, PageSize::Size64K, PageSize::Size4M];
    let mut i = 0;
    while i < fast.len() {
        let page_mask = !(fast[i].bytes() - 1);
        table[fast[i].code() as usize] = FastPageSize {
            ra_mask: hv_api::mmu::Tte::RA_MASK & page_mask,
            page_mask,
            tag_mask: page_mask | ((1 << hv_api::mmu::CONTEXT_BITS) - 1),
            _pad: 0,
        };
        i += 1;
    }
    table
}

/// The SPARC V9 64-bit stack bias: `%sp + STACK_BIAS` is the frame.
const STACK_BIAS: u64 = 2047;
/// The smallest 64-bit frame: the 16-register save area and the argument slots.
const MIN_FRAME: u64 = 192;
/// Trap-table entries of each spill and fill vector (spill_n_normal = 0x80 + 4n, …).
const WINDOW_TRAP_ENTRIES: u64 = 4;
/// PIL at guest entry: every interrupt level masked (hv-api.md §4.7).
const PIL_MAX: u64 = 15;
/// WSTATE in the hypervisor: OTHER = 1 (spill_1_other stashes guest windows), NORMAL = 0
/// (its own windows spill to its stack).
const WSTATE_HV: u64 = 1 << 3;

/// 1: the trap table enters the assembly fast paths; 0 (`HV_NO_FAST=1` builds): every trap
/// takes the common path to the Rust handlers, the reference the fast paths are tested
/// against.
const FAST_PATHS: u64 = if cfg!(hv_no_fast) { 0 } else { 1 };

const STRAND_SIZE: usize = core::mem::size_of::<StrandState>();
static_assertions::const_assert!(STRAND_SIZE < 4096);
static_assertions::const_assert_eq!(offset_of!(StrandState, frame), 0);

#[repr(C, align(64))]
struct Strands([StrandState; MAX_STRANDS]);

#[repr(C, align(16))]
struct Stacks([[u8; STACK_SIZE]; MAX_STRANDS]);

// hv_strands is in .bss, cleared by the reset code before any Rust runs; the stacks are
// in .stacks, never cleared. Each strand uses its own entries only.
#[no_mangle]
static mut hv_strands: core::mem::MaybeUninit<Strands> = core::mem::MaybeUninit::uninit();
#[no_mangle]
#[link_section = ".stacks"]
static mut hv_stacks: core::mem::MaybeUninit<Stacks> = core::mem::MaybeUninit::uninit();

core::arch::global_asm!(
    concat!(
        include_str!("../../../../platform/asm/macros.s"),
        include_str!("../../../../platform/asm/windows.s"),
        include_str!("entry.s")
    ),
    STRAND_SIZE = const STRAND_SIZE,
    STACK_SHIFT = const STACK_SHIFT,
    STASH_ENTRY = const core::mem::size_of::<StashedWindow>(),
    S_CWP = const offset_of!(StrandState, saved_cwp),
    S_CANSAVE = const offset_of!(StrandState, saved_cansave),
    S_CANRESTORE = const offset_of!(StrandState, saved_canrestore),
    S_OTHERWIN = const offset_of!(StrandState, saved_otherwin),
    S_CLEANWIN = const offset_of!(StrandState, saved_cleanwin),
    S_WSTATE = const offset_of!(StrandState, saved_wstate),
    S_STASH_COUNT = const offset_of!(StrandState, stash_count),
    S_IN_HV = const offset_of!(StrandState, in_hv),
    S_STACK_TOP = const offset_of!(StrandState, stack_top),
    S_STRAND_ID = const offset_of!(StrandState, strand_id),
    S_STASH = const offset_of!(StrandState, stash),
    S_ENTRY_WINDOWS = const offset_of!(StrandState, entry_windows),
    E_C1_LOCALS = const offset_of!(EntryWindows, c1_locals),
    E_C1_OUTS = const offset_of!(EntryWindows, c1_outs),
    E_C2_LOCALS = const offset_of!(EntryWindows, c2_locals),
    W_CWP = const offset_of!(StashedWindow, cwp),
    W_LOCALS = const offset_of!(StashedWindow, locals),
    W_INS = const offset_of!(StashedWindow, ins),
    NWINDOWS = const platform::NWINDOWS,
    FAST_PATHS = const FAST_PATHS,
    MAXPTL = const platform::MAXPTL,
    MAXPGL = const platform::MAXPGL,
    // Layouts.
    TSB_BASE_PA = const offset_of!(FastTsb, base_pa),
    TSB_OFFSET_MASK = const offset_of!(FastTsb, offset_mask),
    TSB_OFFSET_SHIFT = const offset_of!(FastTsb, offset_shift),
    TSB_TAG_MASK = const offset_of!(FastTsb, tag_mask),
    TSB_SIZE = const core::mem::size_of::<FastTsb>(),
    S_PAGE_SIZES = const offset_of!(StrandState, page_sizes),
    PS_SHIFT = const PAGE_SIZE_SHIFT,
    PS_RA_MASK = const offset_of!(FastPageSize, ra_mask),
    PS_PAGE_MASK = const offset_of!(FastPageSize, page_mask),
    PS_TAG_MASK = const offset_of!(FastPageSize, tag_mask),
    PERM_VA = const offset_of!(FastPerm, va),
    PERM_MASK = const offset_of!(FastPerm, mask),
    PERM_SIZE = const core::mem::size_of::<FastPerm>(),
    FA_IFT = const hv_api::mmu::fault_area::IFT,
    FA_IFA = const hv_api::mmu::fault_area::IFA,
    FA_IFC = const hv_api::mmu::fault_area::IFC,
    FA_DFT = const hv_api::mmu::fault_area::DFT,
    FA_DFA = const hv_api::mmu::fault_area::DFA,
    FA_DFC = const hv_api::mmu::fault_area::DFC,
    FT_MMU_MISS = const hv_api::mmu::fault_type::MMU_MISS,
    STACK_BIAS = const STACK_BIAS,
    MIN_FRAME = const MIN_FRAME,
    // ASIs and the registers behind them.
    ASI_HSCRATCHPAD = const asi::HSCRATCHPAD,
    HSCRATCH_STRAND = const asi::HSCRATCH_STRAND,
    ASI_LSU_CONTROL = const asi::LSU_CONTROL,
    ASI_MMU_CONTEXT = const asi::MMU_CONTEXT,
    PRIMARY_CONTEXT = const asi::PRIMARY_CONTEXT,
    SECONDARY_CONTEXT = const asi::SECONDARY_CONTEXT,
    ASI_IMMU = const asi::IMMU,
    ASI_DMMU = const asi::DMMU,
    MMU_TAG_TARGET = const asi::MMU_TAG_TARGET,
    MMU_TAG_ACCESS = const asi::MMU_TAG_ACCESS,
    MMU_SFSR = const asi::MMU_SFSR,
    MMU_SFAR = const asi::MMU_SFAR,
    ASI_ITLB_DATA_IN = const asi::ITLB_DATA_IN,
    ASI_DTLB_DATA_IN = const asi::DTLB_DATA_IN,
    TLB_DATA_IN_SUN4V = const asi::TLB_DATA_IN_SUN4V,
    ASI_IMMU_DEMAP = const asi::IMMU_DEMAP,
    ASI_DMMU_DEMAP = const asi::DMMU_DEMAP,
    ASI_QUAD_LDD_REAL = const asi::QUAD_LDD_REAL,
    // Registers.
    HPR_HPSTATE = const registers::HPR_HPSTATE,
    HPR_HVER = const registers::HPR_HVER,
    HPR_HINTP = const registers::HPR_HINTP,
    HPR_HSTICK_CMPR = const registers::HPR_HSTICK_CMPR,
    HPR_HTBA = const registers::HPR_HTBA,
    PSTATE_PRIV = const registers::PSTATE_PRIV,
    PSTATE_PRIV_PEF = const registers::PSTATE_PRIV | registers::PSTATE_PEF,
    PIL_MAX = const PIL_MAX,
    WSTATE_HV = const WSTATE_HV,
    STRAND_STS_ID_SHIFT = const registers::STRAND_STS_ID_SHIFT,
    STRAND_STS_ID_MASK = const registers::STRAND_STS_ID_MASK,
    TBA_SHIFT = const registers::TBA_ALIGN.trailing_zeros(),
    TBA_TL_GT_0 = const registers::TBA_TL_GT_0,
    TRAP_ENTRY_SHIFT = const registers::TRAP_ENTRY_SIZE.trailing_zeros(),
    UART_THR = const uart::RBR_THR,
    UART_LSR = const uart::LSR,
    LSR_THR_EMPTY = const uart::LSR_THR_EMPTY,
    // The sun4v ABI.
    TT_FIRST_HCALL = const hv_api::trap::hv_tt(hv_api::trap::HV_TRAP_FIRST),
    TT_FAST_TRAP = const hv_api::trap::hv_tt(hv_api::trap::FAST_TRAP),
    TT_MMU_MAP_ADDR = const hv_api::trap::hv_tt(hv_api::trap::MMU_MAP_ADDR),
    TT_MMU_UNMAP_ADDR = const hv_api::trap::hv_tt(hv_api::trap::MMU_UNMAP_ADDR),
    TT_FAST_PROT = const hv_api::trap::tt::FAST_DATA_ACCESS_PROTECTION,
    TT_SPILL_0_NORMAL = const hv_api::trap::tt::SPILL_0_NORMAL,
    TT_SPILL_1_OTHER = const hv_api::trap::tt::SPILL_0_OTHER + WINDOW_TRAP_ENTRIES,
    TT_FILL_0_NORMAL = const hv_api::trap::tt::FILL_0_NORMAL,
    TT_ENTRIES = const hv_api::trap::tt::MAX_TT + 1,
    WINDOW_TRAP_ENTRIES = const WINDOW_TRAP_ENTRIES,
    TRAP_ENTRY_SIZE = const registers::TRAP_ENTRY_SIZE,
    HTBA_ALIGN = const registers::HTBA_ALIGN,
    POR_ENTRY_OFFSET = const platform::memory_map::POR_ENTRY - platform::memory_map::PROM.base,
    RESET_ENTRY_OFFSET = const platform::memory_map::RESET_ENTRY - platform::memory_map::PROM.base,
    TT_FAST_IMISS = const hv_api::trap::tt::FAST_INSTRUCTION_ACCESS_MMU_MISS,
    TT_FAST_DMISS = const hv_api::trap::tt::FAST_DATA_ACCESS_MMU_MISS,
    TT_IMISS = const hv_api::trap::tt::INSTRUCTION_ACCESS_MMU_MISS,
    TT_DMISS = const hv_api::trap::tt::DATA_ACCESS_MMU_MISS,
    FN_CPU_MYID = const hv_api::hcall::CPU_MYID,
    FN_CONS_PUTCHAR = const hv_api::hcall::CONS_PUTCHAR,
    EOK = const hv_api::error::EOK,
    MAP_DTLB = const hv_api::mmu::MAP_DTLB,
    MAP_ITLB = const hv_api::mmu::MAP_ITLB,
    MAP_BOTH = const hv_api::mmu::MAP_BOTH,
    CONTEXT_BITS = const hv_api::mmu::CONTEXT_BITS,
    VA_BITS = const hv_api::mmu::VA_BITS,
    PAGE_SHIFT_8K = const hv_api::mmu::PageSize::Size8K.shift(),
    TTE_SZ_MASK = const hv_api::mmu::Tte::SZ_MASK,
    TTE_X = const hv_api::mmu::Tte::X,
    RESUME_DONE = const crate::trap::RESUME_DONE,
    RESUME_RETRY = const crate::trap::RESUME_RETRY,
    RESUME_DONE_AT = const crate::trap::RESUME_DONE_AT,
    S_VID = const offset_of!(StrandState, facts) + offset_of!(VcpuFacts, vid),
    S_MEM_BASE = const offset_of!(StrandState, facts) + offset_of!(VcpuFacts, mem_base),
    S_MEM_SIZE = const offset_of!(StrandState, facts) + offset_of!(VcpuFacts, mem_size),
    S_TTE_KEEP = const offset_of!(StrandState, facts) + offset_of!(VcpuFacts, tte_keep),
    S_CONSOLE = const offset_of!(StrandState, facts) + offset_of!(VcpuFacts, console_uart),
    S_MMU = const offset_of!(StrandState, facts) + offset_of!(VcpuFacts, mmu),
    S_CORE_1 = const offset_of!(StrandState, facts) + offset_of!(VcpuFacts, core_1),
    FM_FAULT_AREA = const offset_of!(FastMmu, fault_area),
    FM_TSBS = const offset_of!(FastMmu, tsbs),
    FM_PERM_COUNT = const offset_of!(FastMmu, perm_count),
    FM_PERMS = const offset_of!(FastMmu, perms),
    F_O = const offset_of!(TrapFrame, o),
    F_TT = const offset_of!(TrapFrame, tt),
    F_TL = const offset_of!(TrapFrame, tl),
    F_TPC = const offset_of!(TrapFrame, tpc),
    F_TNPC = const offset_of!(TrapFrame, tnpc),
    F_TSTATE = const offset_of!(TrapFrame, tstate),
    F_TBA = const offset_of!(TrapFrame, tba),
    F_RESUME = const offset_of!(TrapFrame, resume),
    F_TARGET_PC = const offset_of!(TrapFrame, target_pc),
    F_TARGET_TT = const offset_of!(TrapFrame, target_tt),
    F_I_TAG_ACCESS = const offset_of!(TrapFrame, i_tag_access),
    F_D_TAG_ACCESS = const offset_of!(TrapFrame, d_tag_access),
    F_BAD_WINDOWS = const offset_of!(TrapFrame, bad_windows),
    F_D_SFSR = const offset_of!(TrapFrame, d_sfsr),
    F_D_SFAR = const offset_of!(TrapFrame, d_sfar),
    F_I_SFSR = const offset_of!(TrapFrame, i_sfsr),
    L_PC = const offset_of!(LaunchState, pc),
    L_RTBA = const offset_of!(LaunchState, rtba),
    L_O0 = const offset_of!(LaunchState, o0),
    L_I0 = const offset_of!(LaunchState, i0),
    L_I1 = const offset_of!(LaunchState, i1),
    L_CPUID = const offset_of!(LaunchState, cpuid),
    ASI_SCRATCHPAD = const asi::SCRATCHPAD,
    SCRATCHPAD_CPUID = const asi::SCRATCHPAD_CPUID,
);

extern "C" {
    fn hv_launch_guest(state: &LaunchState, strand: *mut StrandState) -> !;
    fn hv_read_hver() -> u64;
    fn hv_write_hstick_cmpr(value: u64);
    fn hv_clear_hintp();
}

/// HSTICK_CMPR bit 63: the match raises no interrupt.
const HSTICK_INT_DIS: u64 = 1 << 63;

fn uart_try_put(byte: u8) -> bool {
    // SAFETY: hyperprivileged loads and stores are physical; these are the UART's
    // byte registers (platform::memory_map::UART_BASE).
    unsafe {
        let lsr = core::ptr::read_volatile((UART_BASE + uart::LSR) as *const u8);
        if lsr & uart::LSR_THR_EMPTY == 0 {
            return false;
        }
        core::ptr::write_volatile((UART_BASE + uart::RBR_THR) as *mut u8, byte);
    }
    true
}

/// The console concentrator: the UART shared by every domain and the hypervisor's log.
static CONSOLE: Concentrator = Concentrator::new();
static LOGGER: Logger<Machine> = Logger::new(|| Machine);
/// The hypervisor, set up once by the boot strand; every strand shares it (its locks are
/// inside, see [`Hypervisor`]).
static HYPERVISOR: spin::Once<Hypervisor> = spin::Once::new();
/// Boot rendezvous: the strands that came up (bit per strand id).
static STRANDS_PRESENT: AtomicU64 = AtomicU64::new(1);
/// Boot rendezvous: [`GO_WAIT`] until the boot strand says [`GO_RUN`] or [`GO_STOP`].
static GO: AtomicU64 = AtomicU64::new(GO_WAIT);
const GO_WAIT: u64 = 0;
const GO_RUN: u64 = 1;
const GO_STOP: u64 = 2;

/// The machine itself.
pub struct Machine;

impl Hardware for Machine {
    fn read_phys(&mut self, pa: Pa, buf: &mut [u8]) {
        // SAFETY: callers pass ranges checked against a domain's memory or a ROM slot of
        // the configuration; hyperprivileged accesses are physical.
        unsafe { core::ptr::copy_nonoverlapping(pa.raw() as *const u8, buf.as_mut_ptr(), buf.len()) }
    }

    fn write_phys(&mut self, pa: Pa, data: &[u8]) {
        // SAFETY: as read_phys; the range is guest memory, never the hypervisor's.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), pa.raw() as *mut u8, data.len()) }
    }

    fn read_phys_words(&mut self, pa: Pa, words: &mut [u64]) {
        for (i, w) in words.iter_mut().enumerate() {
            // SAFETY: as read_phys; callers check the range and its 8-byte alignment.
            *w = unsafe { core::ptr::read_volatile((pa.raw() as *const u64).add(i)) };
        }
    }

    fn write_phys_words(&mut self, pa: Pa, words: &[u64]) {
        for (i, w) in words.iter().enumerate() {
            // SAFETY: as write_phys; callers check the range and its 8-byte alignment.
            unsafe { core::ptr::write_volatile((pa.raw() as *mut u64).add(i), *w) };
        }
    }

    /// Copies with `memmove`'s semantics (the ranges may overlap). When both addresses
    /// and the length are 8-byte aligned — queues, packets, `ldc_copy`, disk blocks — it
    /// copies 8-byte words in a loop of four instructions a word (`ldx`, `stx`, the count
    /// and the branch, the store in its delay slot): forwards, or backwards when the
    /// destination starts inside the source, so that no word is overwritten before it is
    /// read. `core::ptr::copy` (compiler_builtins' `memmove`) takes six instructions a word
    /// there, and a Rust loop of volatile accesses (which keep LLVM from calling `memmove`
    /// again) six or seven (docs/performance.md, "LDC figures").
    fn copy_phys(&mut self, to: Pa, from: Pa, len: u64) {
        let (to, from) = (to.raw(), from.raw());
        if !(to | from | len).is_multiple_of(8) {
            // SAFETY: as read_phys and write_phys.
            unsafe { core::ptr::copy(from as *const u8, to as *mut u8, len as usize) };
            return;
        }
        if len == 0 {
            return;
        }
        if to > from && to < from + len {
            // Backwards: i = len - 8, ..., 0; the store of word i in the delay slot, after
            // i moved down by 8 (hence dst + 8).
            // SAFETY: as read_phys and write_phys; both ranges are 8-byte aligned and len > 0.
            unsafe {
                core::arch::asm!(
                    "2: ldx [{src} + {i}], {w}",
                    "subcc {i}, 8, {i}",
                    "bge,pt %xcc, 2b",
                    "stx {w}, [{dst8} + {i}]",
                    src = in(reg) from, dst8 = in(reg) to + 8, i = inout(reg) len - 8 => _,
                    w = out(reg) _, options(nostack)
                )
            };
        } else {
            // Forwards: i = -len, ..., -8 from the ends; the store of word i in the delay
            // slot, after i moved up by 8 (hence end - 8).
            // SAFETY: as above.
            unsafe {
                core::arch::asm!(
                    "2: ldx [{src_end} + {i}], {w}",
                    "addcc {i}, 8, {i}",
                    "bne,pt %xcc, 2b",
                    "stx {w}, [{dst_end8} + {i}]",
                    src_end = in(reg) from + len, dst_end8 = in(reg) to + len - 8,
                    i = inout(reg) len.wrapping_neg() => _, w = out(reg) _, options(nostack)
                )
            };
        }
    }

    fn uart_put(&mut self, byte: u8) -> bool {
        uart_try_put(byte)
    }

    fn console(&self) -> &'static Concentrator {
        &CONSOLE
    }

    fn uart_get(&mut self) -> UartInput {
        // SAFETY: the UART's line status and receive registers.
        unsafe {
            let lsr = core::ptr::read_volatile((UART_BASE + uart::LSR) as *const u8);
            if lsr & uart::LSR_BREAK != 0 {
                let _ = core::ptr::read_volatile((UART_BASE + uart::RBR_THR) as *const u8);
                return UartInput::Break;
            }
            if lsr & uart::LSR_DATA_READY == 0 {
                return UartInput::Empty;
            }
            UartInput::Byte(core::ptr::read_volatile((UART_BASE + uart::RBR_THR) as *const u8))
        }
    }

    fn rtc_seconds(&mut self) -> u64 {
        // SAFETY: the sun4v RTC register (8 bytes, read only).
        unsafe { core::ptr::read_volatile(RTC_ADDR as *const u64) }
    }

    fn stick(&mut self) -> u64 {
        let v: u64;
        // SAFETY: reads the system tick register; no side effects.
        unsafe { core::arch::asm!("rd %stick, {v}", v = out(reg) v, options(nomem, nostack)) };
        v & !(1 << 63)
    }

    fn tlb_load(&mut self, tlbs: TlbSet, va: u64, ctx: u64, tte: u64) {
        let page = hv_api::mmu::page_bytes(tte & 7);
        let tag = (va & !(page - 1)) | (ctx & CONTEXT_MASK);
        // SAFETY: tag access then data-in (VA 0x400: sun4v TTE format) of the D/I MMU.
        unsafe {
            if tlbs.data {
                core::arch::asm!("stxa {t}, [{a}] {mmu}", "stxa {d}, [{i}] {data_in}", "membar #Sync",
                    t = in(reg) tag, a = in(reg) asi::MMU_TAG_ACCESS, d = in(reg) tte, i = in(reg) asi::TLB_DATA_IN_SUN4V,
                    mmu = const asi::DMMU, data_in = const asi::DTLB_DATA_IN, options(nostack));
            }
            if tlbs.instruction {
                core::arch::asm!("stxa {t}, [{a}] {mmu}", "stxa {d}, [{i}] {data_in}", "membar #Sync",
                    t = in(reg) tag, a = in(reg) asi::MMU_TAG_ACCESS, d = in(reg) tte, i = in(reg) asi::TLB_DATA_IN_SUN4V,
                    mmu = const asi::IMMU, data_in = const asi::ITLB_DATA_IN, options(nostack));
            }
        }
    }

    fn tlb_load_real(&mut self, tlbs: TlbSet, ra: u64, tte: u64) {
        // SAFETY: tag access (the real address) then data-in with VA 0x600 (sun4v TTE
        // format, bit 9: a real translation) of the D/I MMU (qemu-sun4v patch 0007).
        unsafe {
            if tlbs.data {
                core::arch::asm!("stxa {t}, [{a}] {mmu}", "stxa {d}, [{i}] {data_in}", "membar #Sync",
                    t = in(reg) ra, a = in(reg) asi::MMU_TAG_ACCESS, d = in(reg) tte, i = in(reg) asi::TLB_DATA_IN_SUN4V_REAL,
                    mmu = const asi::DMMU, data_in = const asi::DTLB_DATA_IN, options(nostack));
            }
            if tlbs.instruction {
                core::arch::asm!("stxa {t}, [{a}] {mmu}", "stxa {d}, [{i}] {data_in}", "membar #Sync",
                    t = in(reg) ra, a = in(reg) asi::MMU_TAG_ACCESS, d = in(reg) tte, i = in(reg) asi::TLB_DATA_IN_SUN4V_REAL,
                    mmu = const asi::IMMU, data_in = const asi::ITLB_DATA_IN, options(nostack));
            }
        }
    }

    fn set_partition(&mut self, id: u64) {
        // SAFETY: the partition ID register (ASI_DMMU VA 0x80); QEMU flushes its TLB.
        unsafe {
            core::arch::asm!("stxa {v}, [{a}] {asi}", "membar #Sync", v = in(reg) id, a = in(reg) asi::PARTITION_ID,
                asi = const asi::DMMU, options(nostack))
        }
    }

    fn tlb_demap_page(&mut self, tlbs: TlbSet, va: u64, ctx: u64) {
        demap(tlbs, va & !0x1fff, ctx);
    }

    fn tlb_demap_context(&mut self, tlbs: TlbSet, ctx: u64) {
        demap(tlbs, DEMAP_CONTEXT, ctx);
    }

    fn tlb_demap_all(&mut self, tlbs: TlbSet) {
        // QEMU treats the architected demap-all as a page demap (qemu-niagara.md §9a.6):
        // invalidate every unlocked entry through the data-access registers instead.
        for index in 0..TLB_ENTRIES {
            let va = index << 3;
            // SAFETY: data-access reads and writes of TLB entry `index`.
            unsafe {
                if tlbs.data {
                    let data: u64;
                    core::arch::asm!("ldxa [{a}] {asi}, {d}", a = in(reg) va, d = out(reg) data, asi = const asi::DTLB_DATA_ACCESS, options(nostack));
                    if data & SUN4U_LOCKED == 0 {
                        core::arch::asm!("stxa %g0, [{a}] {asi}", "membar #Sync", a = in(reg) va, asi = const asi::DTLB_DATA_ACCESS, options(nostack));
                    }
                }
                if tlbs.instruction {
                    let data: u64;
                    core::arch::asm!("ldxa [{a}] {asi}, {d}", a = in(reg) va, d = out(reg) data, asi = const asi::ITLB_DATA_ACCESS, options(nostack));
                    if data & SUN4U_LOCKED == 0 {
                        core::arch::asm!("stxa %g0, [{a}] {asi}", "membar #Sync", a = in(reg) va, asi = const asi::ITLB_DATA_ACCESS, options(nostack));
                    }
                }
            }
        }
    }

    fn mmu_set_enabled(&mut self, enabled: bool) {
        let lsu = if enabled { platform::asi::LSU_IM | platform::asi::LSU_DM } else { 0 };
        // SAFETY: the LSU control register; only IM and DM are written.
        unsafe {
            core::arch::asm!("stxa {v}, [%g0] {asi}", "membar #Sync", v = in(reg) lsu, asi = const asi::LSU_CONTROL, options(nostack))
        }
    }

    fn has_strands(&mut self) -> bool {
        // SAFETY: reads the hypervisor version register (stock QEMU: 0); no side effects.
        unsafe { hv_read_hver() != 0 }
    }

    fn has_real_translation(&mut self) -> bool {
        if !self.has_strands() {
            return false;
        }
        // A real translation of an RA no guest uses (the top 8 KiB below 1 TiB) to the
        // first page of hypervisor RAM, loaded and looked for in the data TLB.
        const PROBE_RA: u64 = (1 << 40) - 0x2000;
        let tte = hv_api::mmu::Tte::V | platform::memory_map::HV_RAM.base | hv_api::mmu::Tte::P;
        self.tlb_load_real(TlbSet::DATA, PROBE_RA, tte);
        let mut found = false;
        for index in 0..TLB_ENTRIES {
            let va = index << 3;
            let tag: u64;
            // SAFETY: data-TLB tag read of entry `index`; then, for the probe's entry, a
            // data-access write of 0, which removes it.
            unsafe {
                core::arch::asm!("ldxa [{a}] {asi}, {t}", a = in(reg) va, t = out(reg) tag, asi = const asi::DTLB_TAG_READ, options(nostack));
                if tag & !CONTEXT_MASK == PROBE_RA {
                    core::arch::asm!("stxa %g0, [{a}] {asi}", "membar #Sync", a = in(reg) va, asi = const asi::DTLB_DATA_ACCESS, options(nostack));
                    found = true;
                }
            }
        }
        found
    }

    fn strand_resume(&mut self, strand: u64) {
        iob_dispatch(int_vec_dis::TYPE_RESUME | strand << int_vec_dis::STRAND_SHIFT);
    }

    fn strand_idle(&mut self, strand: u64) {
        iob_dispatch(int_vec_dis::TYPE_IDLE | strand << int_vec_dis::STRAND_SHIFT);
    }

    fn send_interrupt(&mut self, strand: u64, vector: u64) {
        iob_dispatch(
            int_vec_dis::TYPE_INTERRUPT | strand << int_vec_dis::STRAND_SHIFT | (vector & int_vec_dis::VECTOR_MASK),
        );
    }

    fn take_interrupt(&mut self) -> Option<u64> {
        let (pending, vector): (u64, u64);
        // SAFETY: the interrupt receive register, then the incoming vector register, whose
        // load clears the vector it returns (qemu-sun4v patch 0003; T1 Supplement).
        unsafe {
            core::arch::asm!("ldxa [%g0] {asi}, {v}", v = out(reg) pending, asi = const asi::INTR_RCV, options(nostack));
            if pending == 0 {
                return None;
            }
            core::arch::asm!("ldxa [%g0] {asi}, {v}", v = out(reg) vector, asi = const asi::INTR_UDB_R, options(nostack));
        }
        Some(vector)
    }

    fn queue_registers(&mut self, id: u64) -> (u64, u64) {
        let (head, tail): (u64, u64);
        // SAFETY: the strand's queue HEAD and TAIL registers (`ASI_QUEUE`); callers check
        // `has_strands` first (stock QEMU faults on these loads).
        unsafe {
            core::arch::asm!("ldxa [{a}] {asi}, {v}", a = in(reg) hv_api::queue::head_reg(id), v = out(reg) head, asi = const asi::QUEUE, options(nostack));
            core::arch::asm!("ldxa [{a}] {asi}, {v}", a = in(reg) hv_api::queue::tail_reg(id), v = out(reg) tail, asi = const asi::QUEUE, options(nostack));
        }
        (head, tail)
    }

    fn set_queue_registers(&mut self, id: u64, head: u64, tail: u64) {
        // SAFETY: the strand's queue HEAD and TAIL registers (stock QEMU drops the stores).
        unsafe {
            core::arch::asm!("stxa {v}, [{a}] {asi}", a = in(reg) hv_api::queue::head_reg(id), v = in(reg) head, asi = const asi::QUEUE, options(nostack));
            core::arch::asm!("stxa {v}, [{a}] {asi}", a = in(reg) hv_api::queue::tail_reg(id), v = in(reg) tail, asi = const asi::QUEUE, options(nostack));
        }
    }

    fn set_hstick_match(&mut self, at: u64) {
        // SAFETY: writes this strand's HSTICK_CMPR (INT_DIS, bit 63, clear: armed).
        unsafe { hv_write_hstick_cmpr(at & !HSTICK_INT_DIS) }
    }

    fn clear_hstick_match(&mut self) {
        // SAFETY: disarms HSTICK_CMPR, then clears HINTP (the match's pending interrupt).
        unsafe {
            hv_write_hstick_cmpr(HSTICK_INT_DIS);
            hv_clear_hintp();
        }
    }

    fn set_queue_tail(&mut self, id: u64, tail: u64) {
        // SAFETY: the strand's queue TAIL register, writable in hyperprivileged mode only.
        unsafe {
            core::arch::asm!("stxa {v}, [{a}] {asi}", a = in(reg) hv_api::queue::tail_reg(id), v = in(reg) tail, asi = const asi::QUEUE, options(nostack));
        }
    }
}

/// One store to the IOB's `INT_VEC_DIS`, ordered before every later load (a strand that
/// idles itself then checks its mailbox: `Hypervisor::wait_on_strand`).
fn iob_dispatch(word: u64) {
    // SAFETY: the IOB interrupt vector dispatch register (stock QEMU ignores the store).
    unsafe {
        core::arch::asm!("stx {w}, [{a}]", "membar #StoreLoad | #Sync", w = in(reg) word, a = in(reg) IOB_INT_VEC_DIS, options(nostack))
    }
}

/// Context numbers are 13 bits.
const CONTEXT_MASK: u64 = (1 << hv_api::mmu::CONTEXT_BITS) - 1;
/// TLB entries per TLB on T1 (and QEMU).
const TLB_ENTRIES: u64 = hv_api::mmu::T1_TLB_ENTRIES as u64;
/// The lock bit of a TTE as QEMU stores it (sun4u format, bit 6).
const SUN4U_LOCKED: u64 = 1 << 6;
/// Demap-address bit 6: demap a whole context.
const DEMAP_CONTEXT: u64 = 1 << 6;

/// Demaps through the primary context register, which is set to `ctx` for the operation
/// (the demap address names a context register, not a context number).
fn demap(tlbs: TlbSet, address: u64, ctx: u64) {
    // SAFETY: primary context read/write (ASI 0x21 VA 8) and the demap ASIs.
    unsafe {
        let saved: u64;
        core::arch::asm!("ldxa [{a}] {asi}, {v}", a = in(reg) asi::PRIMARY_CONTEXT, v = out(reg) saved, asi = const asi::MMU_CONTEXT, options(nostack));
        core::arch::asm!("stxa {v}, [{a}] {asi}", v = in(reg) ctx & CONTEXT_MASK, a = in(reg) asi::PRIMARY_CONTEXT, asi = const asi::MMU_CONTEXT, options(nostack));
        if tlbs.data {
            core::arch::asm!("stxa %g0, [{a}] {asi}", "membar #Sync", a = in(reg) address, asi = const asi::DMMU_DEMAP, options(nostack));
        }
        if tlbs.instruction {
            core::arch::asm!("stxa %g0, [{a}] {asi}", "membar #Sync", a = in(reg) address, asi = const asi::IMMU_DEMAP, options(nostack));
        }
        core::arch::asm!("stxa {v}, [{a}] {asi}", v = in(reg) saved, a = in(reg) asi::PRIMARY_CONTEXT, asi = const asi::MMU_CONTEXT, options(nostack));
    }
}

/// The fast paths' facts about vCPU `vcpu`, which starts on this strand.
fn vcpu_facts(hv: &'static Hypervisor, vcpu: usize) -> VcpuFacts {
    let domain = hv.config.vcpus[vcpu].domain;
    let d = &hv.config.domains[domain];
    let base = d.memory.membase.raw();
    let end = base + d.memory.size;
    // The fast path checks only that a page of at most 4 MiB starts inside the domain,
    // which proves it ends inside when the domain's bounds are 4 MiB aligned; RA == PA.
    let aligned = (base | end) & (FAST_PATH_ALIGN - 1) == 0 && d.memory.realbase.raw() == base;
    // The vCPU's state never moves (it is inside the static `Hypervisor`); only this strand
    // changes it, from Rust, never while the assembly runs.
    let mmu = hv.vcpus[vcpu].lock().mmu.fast() as *const FastMmu;
    VcpuFacts {
        vid: hv.config.vcpus[vcpu].vid,
        mem_base: base,
        mem_size: if aligned { end - base } else { 0 },
        tte_keep: !(hv_api::mmu::Tte::RA_MASK | 1 << hv_api::mmu::Tte::LOCK_SHIFT),
        console_uart: if hv.config.domains.len() == 1 { UART_BASE } else { 0 },
        mmu,
        core_1: &hv.domains[domain].core_1,
    }
}

/// Domain memory alignment the TLB fast path needs (see `vcpu_facts`).
const FAST_PATH_ALIGN: u64 = 0x40_0000;

fn strand_state(strand: u64) -> *mut StrandState {
    // SAFETY: only the address is taken; the strand index is below MAX_STRANDS (5 bits).
    unsafe { (core::ptr::addr_of_mut!(hv_strands) as *mut StrandState).add(strand as usize) }
}

/// Nothing (more) to run on this strand: idle it for good (stock QEMU ignores the idle,
/// so the loop spins there).
fn park() -> ! {
    let strand = this_strand();
    let mut hw = Machine;
    loop {
        hw.strand_idle(strand);
    }
}

/// This strand's id (`%asr26`, the strand status register; 0 on stock QEMU).
fn this_strand() -> u64 {
    let status: u64;
    // SAFETY: reads the strand status register; no side effects.
    unsafe { core::arch::asm!("rd %asr26, {v}", v = out(reg) status, options(nomem, nostack)) };
    (status >> registers::STRAND_STS_ID_SHIFT) & registers::STRAND_STS_ID_MASK
}

fn launch(state: &LaunchState, strand: *mut StrandState) -> ! {
    // SAFETY: the state describes a guest the hypervisor configured; the strand state
    // is this strand's.
    unsafe { hv_launch_guest(state, strand) }
}

/// First Rust code on each strand, called by the reset path with a stack and the strand
/// state in place. The boot strand (0) sets the hypervisor up and resumes every strand that
/// holds a vCPU; they meet at a rendezvous; then every domain starts at once.
#[no_mangle]
extern "C" fn hv_start(strand: u64, ram_size: u64) -> ! {
    let mut hw = Machine;
    if strand != 0 {
        STRANDS_PRESENT.fetch_or(1 << strand, Ordering::AcqRel);
        loop {
            match GO.load(Ordering::Acquire) {
                GO_WAIT => core::hint::spin_loop(),
                GO_RUN => strand_loop(strand),
                _ => park(),
            }
        }
    }
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
    log::info!("{}", crate::BANNER);
    log::info!("strand {strand}, partition RAM {} MiB at {:#x}", ram_size >> 20, PARTITION_RAM_BASE);
    // SAFETY: the HV MD ROM slot is 8 KiB of RAM that QEMU filled from 1up-hv.bin.
    let hv_md = unsafe { core::slice::from_raw_parts(HV_MD_ROM.base as *const u8, HV_MD_ROM.size as usize) };
    let hv = match Hypervisor::boot(&mut hw, hv_md, (PARTITION_RAM_BASE, ram_size)) {
        Ok(hv) => HYPERVISOR.call_once(|| hv),
        Err(e) => boot_stopped(&e),
    };
    for d in &hv.config.domains {
        log::info!(
            "domain {}: {} MiB at {:#x}, image {:#x} bytes",
            d.name,
            d.memory.size >> 20,
            d.memory.realbase.raw(),
            d.romsize
        );
    }
    // Rendezvous: resume every other strand that holds a vCPU and wait until each is up
    // (a strand QEMU does not have never answers; stock QEMU has strand 0 only).
    let others = hv.strands_used() & !1;
    if others != 0 && hw.has_strands() {
        for s in (1..64).filter(|s| others & 1 << s != 0) {
            hw.strand_resume(s);
        }
        let deadline = hw.stick().saturating_add(CROSS_STRAND_WAIT_TICKS);
        while STRANDS_PRESENT.load(Ordering::Acquire) & others != others && hw.stick() < deadline {
            core::hint::spin_loop();
        }
    }
    if let Some(e) = hv.missing_strand(STRANDS_PRESENT.load(Ordering::Acquire)) {
        GO.store(GO_STOP, Ordering::Release);
        boot_stopped(&e);
    }
    hv.start_domains(&mut hw);
    GO.store(GO_RUN, Ordering::Release);
    strand_loop(strand)
}

fn boot_stopped(e: &crate::hypervisor::BootError) -> ! {
    log::info!("{e}");
    log::info!("boot stopped");
    park()
}

/// What a strand does whenever its vCPU is not running: enter the vCPU's posted start, or
/// idle until another strand posts one.
fn strand_loop(strand: u64) -> ! {
    let hv = HYPERVISOR.get().expect("set up before any strand runs");
    let mut hw = Machine;
    loop {
        match hv.next_on_strand(&mut hw, strand) {
            Next::Launch(vcpu, state) => {
                let s = strand_state(strand);
                let facts = vcpu_facts(hv, vcpu);
                // SAFETY: this strand's own state; no trap is in progress.
                unsafe {
                    (*s).vcpu = vcpu as u64;
                    (*s).facts = facts;
                    (*s).page_sizes = fast_page_sizes();
                }
                launch(&state, s)
            }
            Next::Wait => hv.wait_on_strand(&mut hw, strand),
            Next::Park => park(),
        }
    }
}

/// Every trap from a guest, after the assembly saved its state.
///
/// `strand` is this strand's own [`StrandState`], which `hv_trap_common` took from
/// HSCRATCH (set once by the reset path to its entry of `hv_strands`). Nothing else holds a
/// reference to it while the trap runs: the assembly touches it again only after this
/// returns, and other strands never touch it.
#[no_mangle]
extern "C" fn hv_trap(strand: *mut StrandState) {
    // SAFETY: as the doc says: a valid, exclusive pointer for the duration of the trap.
    let strand = unsafe { &mut *strand };
    let mut hw = Machine;
    let hv = HYPERVISOR.get().expect("traps come only from started guests");
    let vcpu = strand.vcpu as usize;
    match hv.handle_trap(&mut hw, vcpu, &mut strand.frame) {
        Action::Resume => {}
        Action::Idle => strand_loop(strand.strand_id),
    }
}

/// A trap taken while the hypervisor itself ran: a hypervisor bug.
#[no_mangle]
extern "C" fn hv_fatal_trap(tt: u64, tpc: u64, tl: u64, tstate: u64) -> ! {
    LOGGER.write_line_unlocked(format_args!(
        "PANIC: trap {tt:#x} in the hypervisor at pc {tpc:#x}, tl {tl}, tstate {tstate:#x}"
    ));
    park()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(l) => LOGGER.write_line_unlocked(format_args!("PANIC at {}:{}: {}", l.file(), l.line(), info.message())),
        None => LOGGER.write_line_unlocked(format_args!("PANIC: {}", info.message())),
    }
    park()
}
