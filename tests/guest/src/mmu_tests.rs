//! MMU tests: the guest turns its MMU on and runs as a kernel in context 0 on two permanent
//! 4 MiB identity mappings (its image and its stack), then checks TSB walks (context 0 with
//! 8K and 4M TSBs, a user context with its own TSB, instruction misses), faults it handles
//! through the fault status area (slow misses, protection), demaps by page, context and all,
//! `mmu_map_addr`/`mmu_unmap_addr`, and that hostile TSB entries never give it a
//! translation outside its memory.

use crate::rt::{check, TRAP_COUNT};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};
use hv_api::error::HvError;
use hv_api::guest as hv;

pub(crate) const PAGE_8K: u64 = hv_api::mmu::page_bytes(SZ_8K);
pub(crate) const PAGE_4M: u64 = hv_api::mmu::page_bytes(SZ_4M);

// TTE bits (hv-api.md §4.1).
pub(crate) const TTE_V: u64 = hv_api::mmu::Tte::V;
pub(crate) const TTE_CP: u64 = hv_api::mmu::Tte::CP;
pub(crate) const TTE_CV: u64 = hv_api::mmu::Tte::CV;
pub(crate) const TTE_P: u64 = hv_api::mmu::Tte::P;
pub(crate) const TTE_X: u64 = hv_api::mmu::Tte::X;
pub(crate) const TTE_W: u64 = hv_api::mmu::Tte::W;
pub(crate) const SZ_8K: u64 = 0;
pub(crate) const SZ_4M: u64 = 3;

pub(crate) const MAP_D: u64 = 1;
const MAP_I: u64 = 2;
pub(crate) const MAP_ID: u64 = 3;

// Fault status area offsets and fault types (hv-api.md §4.3).
pub(crate) const DFT: usize = 0x40 / 8;
pub(crate) const DFA: usize = 0x48 / 8;
const DFC: usize = 0x50 / 8;
const FT_MISS: u64 = 3;
const FT_INV_RA: u64 = 4;
const FT_PRIV_VIOL: u64 = 5;

/// Test virtual addresses, far from the identity-mapped image.
const VA_T: u64 = 0x2_0000_0000;
const VA_U: u64 = 0x2_0010_0000;
const VA_P: u64 = 0x2_0020_0000;
const VA_X: u64 = 0x2_0030_0000;
const VA_C: u64 = 0x2_0040_0000;
const VA_M: u64 = 0x2_0050_0000;
const VA_H: u64 = 0x2_0060_0000;
const VA_L: u64 = 0x3_0000_0000;
const VA_UC: u64 = 0x2_0070_0000;
const VA_UD: u64 = 0x2_0080_0000;
const VA_UP: u64 = 0x2_0090_0000;
const VA_CT: u64 = 0x2_00a0_0000;

/// User context used with its own TSB.
const USER_CTX: u64 = 5;

#[repr(C, align(8192))]
struct Tsb(UnsafeCell<[u64; 1024]>);
// SAFETY: one vCPU; written by the tests and by the trap handler they provoke.
unsafe impl Sync for Tsb {}

impl Tsb {
    const fn new() -> Self {
        Tsb(UnsafeCell::new([0; 1024]))
    }
    fn ra(&self) -> u64 {
        self.0.get() as u64
    }
    /// Writes the entry for `va` (page size of the TSB given by `shift`).
    fn set(&self, va: u64, shift: u64, ctx_tag: u64, tte: u64) {
        let i = ((va >> shift) & 511) as usize;
        // SAFETY: single vCPU; the index is below 512.
        unsafe {
            let t = &mut *self.0.get();
            core::ptr::write_volatile(&mut t[2 * i + 1], 0);
            core::ptr::write_volatile(&mut t[2 * i], (ctx_tag << 48) | (va >> 22));
            core::ptr::write_volatile(&mut t[2 * i + 1], tte);
        }
    }
    fn clear(&self, va: u64, shift: u64) {
        self.set(va, shift, 0, 0);
    }
}

static TSB_8K: Tsb = Tsb::new();
static TSB_4M: Tsb = Tsb::new();
static TSB_USER: Tsb = Tsb::new();

#[repr(C, align(64))]
struct FaultArea(UnsafeCell<[u64; 16]>);
// SAFETY: written by the hypervisor, read by the trap handler.
unsafe impl Sync for FaultArea {}
static FAULT_AREA: FaultArea = FaultArea(UnsafeCell::new([0; 16]));

/// The real address of the fault status area the MMU tests configure.
pub(crate) fn fault_area_ra() -> u64 {
    FAULT_AREA.0.get() as u64
}

/// Word `i` of the fault status area.
pub(crate) fn fault_word(i: usize) -> u64 {
    // SAFETY: an aligned u64 of the fault area.
    unsafe { core::ptr::read_volatile((FAULT_AREA.0.get() as *const u64).add(i)) }
}

#[repr(C, align(64))]
struct Descriptors(UnsafeCell<[u64; 8]>);
// SAFETY: one vCPU.
unsafe impl Sync for Descriptors {}
static DESCRIPTORS: Descriptors = Descriptors(UnsafeCell::new([0; 8]));
static INFO: Descriptors = Descriptors(UnsafeCell::new([0; 8]));

/// Builds `hv_tsb_descr` entries (hv-api.md §4.2) in DESCRIPTORS and returns its RA.
pub(crate) fn descriptors(list: &[(u16, u32, u32, u32, u64)]) -> u64 {
    // SAFETY: one vCPU; at most two descriptors of four words.
    unsafe {
        let d = &mut *DESCRIPTORS.0.get();
        *d = [0; 8];
        for (n, &(pgsz_idx, num_ttes, ctx_idx, pgsz_mask, base)) in list.iter().enumerate() {
            d[4 * n] = ((pgsz_idx as u64) << 48) | (1 << 32) | num_ttes as u64;
            d[4 * n + 1] = ((ctx_idx as u64) << 32) | pgsz_mask as u64;
            d[4 * n + 2] = base;
            d[4 * n + 3] = 0;
        }
        DESCRIPTORS.0.get() as u64
    }
}

/// What the trap handler does with a data MMU miss.
static ON_MISS: AtomicU64 = AtomicU64::new(MISS_SKIP);
const MISS_SKIP: u64 = 0;
const MISS_FIX: u64 = 1;
/// The TSB entry the handler writes for MISS_FIX: VA (ctx 0, 8K TSB) and TTE.
static FIX_TTE: AtomicU64 = AtomicU64::new(0);
static FIX_USER: AtomicU64 = AtomicU64::new(0);
static LAST_DFA: AtomicU64 = AtomicU64::new(0);
static LAST_DFT: AtomicU64 = AtomicU64::new(0);
static LAST_DFC: AtomicU64 = AtomicU64::new(0);

/// Called by `rt::guest_trap` for every expected trap.
pub fn on_trap(tt: u64, _tpc: u64, _tl: u64) -> u64 {
    match tt {
        0x31 | 0x68 | 0x30 | 0x6c => {
            let dfa = fault_word(DFA);
            LAST_DFA.store(dfa, Ordering::SeqCst);
            LAST_DFT.store(fault_word(DFT), Ordering::SeqCst);
            LAST_DFC.store(fault_word(DFC), Ordering::SeqCst);
            if tt == 0x6c {
                // Protection: make the page writable in the TSB, drop the stale TLB entry,
                // and try again (a hypercall from TL 1).
                let tte = FIX_TTE.load(Ordering::SeqCst) | TTE_W;
                TSB_8K.set(dfa, 13, 0, tte);
                let _ = hv::mmu_demap_page(dfa, 0, MAP_D);
                return 1;
            }
            if ON_MISS.load(Ordering::SeqCst) == MISS_FIX && (tt == 0x31 || tt == 0x68) {
                if FIX_USER.load(Ordering::SeqCst) != 0 {
                    TSB_USER.set(dfa, 13, 0, FIX_TTE.load(Ordering::SeqCst));
                } else {
                    TSB_8K.set(dfa, 13, 0, FIX_TTE.load(Ordering::SeqCst));
                }
                return 1;
            }
            0
        }
        _ => 0,
    }
}

/// A valid, cacheable TTE for `ra` with page size `size` and the bits `bits`.
pub(crate) fn tte(ra: u64, size: u64, bits: u64) -> u64 {
    TTE_V | ra | TTE_CP | TTE_CV | bits | size
}

fn read_va(va: u64) -> u64 {
    // SAFETY: the tests map `va` (or expect a trap the handler skips).
    unsafe { core::ptr::read_volatile(va as *const u64) }
}

fn write_va(va: u64, v: u64) {
    // SAFETY: as read_va.
    unsafe { core::ptr::write_volatile(va as *mut u64, v) }
}

fn read_real(ra: u64) -> u64 {
    let v: u64;
    // SAFETY: ASI_REAL load of guest memory.
    unsafe { core::arch::asm!("ldxa [{a}] 0x14, {v}", a = in(reg) ra, v = out(reg) v, options(nostack)) };
    v
}

fn write_real(ra: u64, v: u64) {
    // SAFETY: ASI_REAL store to guest memory.
    unsafe { core::arch::asm!("stxa {v}, [{a}] 0x14", a = in(reg) ra, v = in(reg) v, options(nostack)) };
}

/// Loads through the secondary context as a user access (ASI_AIUS).
fn read_user_secondary(va: u64) -> u64 {
    let v: u64;
    // SAFETY: the tests map `va` in the user context.
    unsafe { core::arch::asm!("ldxa [{a}] 0x11, {v}", a = in(reg) va, v = out(reg) v, options(nostack)) };
    v
}

fn set_secondary_context(ctx: u64) {
    // SAFETY: the secondary context register.
    unsafe {
        core::arch::asm!("stxa {v}, [{a}] 0x21", "membar #Sync", v = in(reg) ctx, a = in(reg) 0x10u64, options(nostack))
    };
}

/// A function alone on its own 8K page, called through another virtual address.
#[link_section = ".text.itlb_probe"]
#[inline(never)]
extern "C" fn itlb_probe() -> u64 {
    0x1234_5678
}

fn traps() -> u64 {
    TRAP_COUNT.load(Ordering::SeqCst)
}

/// Turns the MMU on or off; execution continues at the next instruction (identity mapped).
pub(crate) fn mmu_enable(on: bool) -> u64 {
    let status: u64;
    // SAFETY: the code and stack are mapped identically, so the return address is valid
    // in both modes.
    unsafe {
        core::arch::asm!(
            "setx 1f, {t}, %o1",
            "mov 0x27, %o5",
            "ta 0x80",
            "1:",
            t = out(reg) _,
            inout("o0") on as u64 => status,
            out("o1") _, out("o5") _,
            options(nostack)
        );
    }
    status
}

/// The MMU on (fault area, the image and the stack permanently mapped, an empty context-0
/// TSB), then a load at TL 2 from a page with no TSB entry: the miss cannot be delivered
/// to the guest (its handler would run at TL 3, above MAXPTL), so the domain has failed.
#[cfg_attr(not(guest_fault_tl2_miss), allow(dead_code))]
pub fn miss_at_tl2(base: u64, size: u64) {
    let image_page = base & !(PAGE_4M - 1);
    let stack_page = (base + size - 1) & !(PAGE_4M - 1);
    let kernel = TTE_P | TTE_X | TTE_W;
    // SAFETY: the fault area and TSB are this guest's buffers; the mappings are identity
    // mappings of its own image and stack.
    let ok = unsafe {
        hv::mmu_fault_area_conf(FAULT_AREA.0.get() as u64).is_ok()
            && hv::mmu_map_perm_addr(image_page, tte(image_page, SZ_4M, kernel), MAP_ID).is_ok()
            && hv::mmu_map_perm_addr(stack_page, tte(stack_page, SZ_4M, kernel), MAP_ID).is_ok()
            && hv::mmu_tsb_ctx0(1, descriptors(&[(0, 512, 0, 0x1, TSB_8K.ra())])).is_ok()
    };
    check("MMU set up for the TL 2 miss", ok && mmu_enable(true) == 0, format_args!(""));
    TSB_8K.clear(VA_T, 13);
    // SAFETY: the load misses; the hypervisor stops the domain (policy stop).
    unsafe {
        core::arch::asm!("wrpr %g0, 2, %tl", "ldx [{a}], {v}", a = in(reg) VA_T, v = out(reg) _, options(nostack))
    };
}

/// How one failure of `GUEST_MODE=fault-windows-tlb` reaches the hypervisor.
#[cfg_attr(not(guest_fault_windows_tlb), allow(dead_code))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A load from a page the data TLB does not hold.
    Data,
    /// A call into a page the instruction TLB does not hold.
    Instruction,
    /// `cpu_myid` (`ta 0x80`, an assembly fast path).
    CpuMyid,
}

/// One failure of `GUEST_MODE=fault-windows-tlb` (case `fault-windows-tlb`): an access the
/// assembly fast paths serve (a TLB miss that hits the TSB is loaded, one that misses it is
/// revectored; `cpu_myid` is answered), taken in a state the common path refuses: window
/// registers that break V9's CANSAVE + CANRESTORE + OTHERWIN = NWINDOWS - 2, or a trap
/// level above MAXPTL.
#[cfg_attr(not(guest_fault_windows_tlb), allow(dead_code))]
pub struct WindowTlbFault {
    /// What the guest says before it fails.
    pub what: &'static str,
    /// The access.
    pub access: Access,
    /// Whether the guest's TSB holds the page (a TSB hit).
    pub tsb_hit: bool,
    /// CANSAVE, CANRESTORE and OTHERWIN during the access; `None`: left as they are.
    pub windows: Option<[u64; 3]>,
    /// The trap level of the access.
    pub tl: u64,
}

/// The failures of `GUEST_MODE=fault-windows-tlb`, one per run of the guest (failure
/// policy reset). CANSAVE 0xffffffff with CANRESTORE 7: QEMU keeps these registers in 32
/// bits and `rdpr` sign-extends them, so the three read back as -1, 7 and 0, whose sum is
/// NWINDOWS - 2; the common path still refuses the state (a register outside 0..NWINDOWS).
#[cfg_attr(not(guest_fault_windows_tlb), allow(dead_code))]
pub const WINDOW_TLB_FAULTS: [WindowTlbFault; 7] = [
    WindowTlbFault {
        what: "a data TLB miss that hits the TSB, with CANSAVE + CANRESTORE = 12",
        access: Access::Data,
        tsb_hit: true,
        windows: Some([6, 6, 0]),
        tl: 0,
    },
    WindowTlbFault {
        what: "a data TLB miss that misses the TSB, with CANSAVE + CANRESTORE = 12",
        access: Access::Data,
        tsb_hit: false,
        windows: Some([6, 6, 0]),
        tl: 0,
    },
    WindowTlbFault {
        what: "an instruction TLB miss that hits the TSB, with CANSAVE + CANRESTORE = 12",
        access: Access::Instruction,
        tsb_hit: true,
        windows: Some([6, 6, 0]),
        tl: 0,
    },
    WindowTlbFault {
        what: "an instruction TLB miss that misses the TSB, with CANSAVE + CANRESTORE = 12",
        access: Access::Instruction,
        tsb_hit: false,
        windows: Some([6, 6, 0]),
        tl: 0,
    },
    WindowTlbFault {
        what: "a data TLB miss that hits the TSB, with CANSAVE 0xffffffff and CANRESTORE 7",
        access: Access::Data,
        tsb_hit: true,
        windows: Some([0xffff_ffff, 7, 0]),
        tl: 0,
    },
    WindowTlbFault {
        what: "cpu_myid with CANSAVE 0xffffffff and CANRESTORE 7",
        access: Access::CpuMyid,
        tsb_hit: false,
        windows: Some([0xffff_ffff, 7, 0]),
        tl: 0,
    },
    WindowTlbFault {
        what: "a data TLB miss that hits the TSB at TL 3, above MAXPTL",
        access: Access::Data,
        tsb_hit: true,
        windows: None,
        tl: 3,
    },
];

/// Turns the MMU on (fault area, the image and the stack permanently mapped, a context-0
/// 8K TSB) and takes the failure `f` (see [`WINDOW_TLB_FAULTS`]). Returns only if the
/// hypervisor served the access, which it must not.
#[cfg_attr(not(guest_fault_windows_tlb), allow(dead_code))]
pub fn window_tlb_fault(base: u64, size: u64, f: &WindowTlbFault) {
    let image_page = base & !(PAGE_4M - 1);
    let stack_page = (base + size - 1) & !(PAGE_4M - 1);
    let kernel = TTE_P | TTE_X | TTE_W;
    let data = base + 0x80_0000;
    let probe = itlb_probe as *const () as usize as u64;
    let probe_page = probe & !(PAGE_8K - 1);
    // SAFETY: the fault area and TSB are this guest's buffers; the mappings are identity
    // mappings of its own image and stack.
    let ok = unsafe {
        hv::mmu_fault_area_conf(FAULT_AREA.0.get() as u64).is_ok()
            && hv::mmu_map_perm_addr(image_page, tte(image_page, SZ_4M, kernel), MAP_ID).is_ok()
            && hv::mmu_map_perm_addr(stack_page, tte(stack_page, SZ_4M, kernel), MAP_ID).is_ok()
            && hv::mmu_tsb_ctx0(1, descriptors(&[(0, 512, 0, 0x1, TSB_8K.ra())])).is_ok()
    };
    check("MMU set up", ok && mmu_enable(true) == 0, format_args!(""));
    TSB_8K.clear(VA_T, 13);
    TSB_8K.clear(VA_X, 13);
    if f.tsb_hit {
        TSB_8K.set(VA_T, 13, 0, tte(data, SZ_8K, TTE_P | TTE_W));
        TSB_8K.set(VA_X, 13, 0, tte(probe_page, SZ_8K, TTE_P | TTE_X));
    }
    let target = match f.access {
        Access::Data => VA_T,
        Access::Instruction => VA_X + (probe - probe_page),
        Access::CpuMyid => 0,
    };
    let [cansave, canrestore, otherwin] = f.windows.unwrap_or([u64::MAX; 3]);
    let keep = f.windows.is_none() as u64;
    // SAFETY: the access is to this guest's own pages (or the hypercall); the window
    // registers and the trap level are put back before any other code runs, and no code
    // between uses a window (the probe is a leaf function).
    unsafe {
        core::arch::asm!(
            "rdpr %cansave, {s}",
            "rdpr %canrestore, {r}",
            "rdpr %otherwin, {o}",
            "brnz {keep}, 1f",
            "nop",
            "wrpr {cs}, %cansave",
            "wrpr {cr}, %canrestore",
            "wrpr {ow}, %otherwin",
            "1: wrpr {tl}, %tl",
            "cmp {kind}, 1",
            "be 2f",
            "cmp {kind}, 2",
            "be 3f",
            "nop",
            "ldx [{t}], %g0",
            "ba,a 4f",
            "2: jmpl {t}, %o7",
            "nop",
            "ba,a 4f",
            "3: mov {myid}, %o5",
            "ta 0x80",
            "4: wrpr %g0, 0, %tl",
            "wrpr {s}, %cansave",
            "wrpr {r}, %canrestore",
            "wrpr {o}, %otherwin",
            s = out(reg) _, r = out(reg) _, o = out(reg) _,
            keep = in(reg) keep,
            cs = in(reg) cansave, cr = in(reg) canrestore, ow = in(reg) otherwin,
            tl = in(reg) f.tl,
            kind = in(reg) match f.access { Access::Data => 0u64, Access::Instruction => 1, Access::CpuMyid => 2 },
            t = in(reg) target,
            myid = const hv_api::hcall::CPU_MYID,
            out("o0") _, out("o1") _, out("o5") _, out("o7") _,
            options(nostack)
        )
    };
}

pub fn run(base: u64, size: u64) {
    say!("MMU tests");
    let data = base + 0x80_0000; // 8 MiB in: data pages for the test mappings
    let image_page = base & !(PAGE_4M - 1);
    let stack_page = (base + size - 1) & !(PAGE_4M - 1);

    // Fault status area.
    let area = FAULT_AREA.0.get() as u64;
    check_eq!("fault_area_conf unaligned", unsafe { hv::mmu_fault_area_conf(area + 8) }, Err(HvError::BadAlign));
    check_eq!("fault_area_conf bad RA", unsafe { hv::mmu_fault_area_conf(0x40) }, Err(HvError::NoRAddr));
    check_eq!("fault_area_conf", unsafe { hv::mmu_fault_area_conf(area) }, Ok(0));
    check_eq!("fault_area_info", hv::mmu_fault_area_info(), Ok(area));

    // Permanent mappings: image and stack, identity.
    let kernel = TTE_P | TTE_X | TTE_W;
    check_eq!(
        "map_perm_addr hostile RA",
        unsafe { hv::mmu_map_perm_addr(0x4000_0000, tte(0x10_0000 & !(PAGE_4M - 1), SZ_4M, kernel), MAP_ID) },
        Err(HvError::NoRAddr)
    );
    check_eq!(
        "map_perm_addr unsupported page size",
        unsafe { hv::mmu_map_perm_addr(0x4000_0000, tte(image_page, 2, kernel), MAP_ID) },
        Err(HvError::BadPgSz)
    );
    check_eq!(
        "map_perm_addr image",
        unsafe { hv::mmu_map_perm_addr(image_page, tte(image_page, SZ_4M, kernel), MAP_ID) },
        Ok(())
    );
    check_eq!(
        "map_perm_addr stack",
        unsafe { hv::mmu_map_perm_addr(stack_page, tte(stack_page, SZ_4M, kernel), MAP_ID) },
        Ok(())
    );

    // TSB descriptors: errors first, then two context-0 TSBs (8K and 4M).
    let bad = [
        ("tsb bad assoc", [(0u16, 512u32, 0u32, 1u32, TSB_8K.ra())], 2u16, HvError::BadTsb),
        ("tsb too few entries", [(0, 256, 0, 1, TSB_8K.ra())], 1, HvError::BadTsb),
        ("tsb unaligned base", [(0, 512, 0, 1, TSB_8K.ra() + 16)], 1, HvError::BadAlign),
        ("tsb outside memory", [(0, 512, 0, 1, 0x20_0000)], 1, HvError::NoRAddr),
        ("tsb page size 512K", [(2, 512, 0, 4, TSB_8K.ra())], 1, HvError::BadPgSz),
    ];
    for (name, list, assoc, err) in bad {
        let ra = descriptors(&list);
        if assoc != 1 {
            // SAFETY: patch the associativity field of descriptor 0 (page-size index 0).
            unsafe { (*DESCRIPTORS.0.get())[0] = ((assoc as u64) << 32) | 512 };
        }
        check_eq!(name, unsafe { hv::mmu_tsb_ctx0(1, ra) }, Err(err));
    }
    check_eq!("tsb more than two", unsafe { hv::mmu_tsb_ctx0(3, descriptors(&[])) }, Err(HvError::Inval));
    let ra = descriptors(&[(0, 512, 0, 0x1, TSB_8K.ra()), (3, 512, 0, 0x8, TSB_4M.ra())]);
    check_eq!("tsb_ctx0 two TSBs", unsafe { hv::mmu_tsb_ctx0(2, ra) }, Ok(()));
    check_eq!("tsb_ctx0_info", unsafe { hv::mmu_tsb_ctx0_info(2, INFO.0.get() as u64) }, Ok(2));
    // SAFETY: INFO was just written by the hypervisor.
    let info = unsafe { *INFO.0.get() };
    check("tsb_ctx0_info contents", info[2] == TSB_8K.ra() && info[6] == TSB_4M.ra(), format_args!("{info:x?}"));
    let ra = descriptors(&[(0, 512, 0, 0x1, TSB_USER.ra())]);
    check_eq!("tsb_ctxnon0", unsafe { hv::mmu_tsb_ctxnon0(1, ra) }, Ok(()));

    // Turn the MMU on: everything from here runs translated.
    check_eq!("mmu_enable", mmu_enable(true), 0);
    check_eq!("mmu_enable again", mmu_enable(true), HvError::Inval.code());

    // A TSB hit is handled by the hypervisor alone.
    write_real(data, 0xdead_beef);
    TSB_8K.set(VA_T, 13, 0, tte(data, SZ_8K, TTE_P | TTE_W));
    let before = traps();
    check_eq!("tsb hit reads the mapped page", read_va(VA_T + 0x10 - 0x10), 0xdead_beef);
    check_eq!("tsb hit takes no guest trap", traps() - before, 0);
    // From every legal window state at TL 0-2, the miss is served and every window kept.
    crate::windows::tlb_miss_sweep(VA_T);

    // A 4M TSB hit (second TSB), at an address inside the page.
    let big = base + 0x100_0000; // 16 MiB in, 4M aligned
    write_real(big + 0x12_3450, 0x4444_0000);
    TSB_4M.set(VA_L, 22, 0, tte(big, SZ_4M, TTE_P | TTE_W));
    check_eq!("4M tsb hit", read_va(VA_L + 0x12_3450), 0x4444_0000);

    // A TSB miss: the guest gets data_access_MMU_miss with the fault area filled, fixes
    // its TSB and retries.
    write_real(data + PAGE_8K, 0x5555);
    FIX_TTE.store(tte(data + PAGE_8K, SZ_8K, TTE_P | TTE_W), Ordering::SeqCst);
    ON_MISS.store(MISS_FIX, Ordering::SeqCst);
    let before = traps();
    check_eq!("tsb miss then fixed", read_va(VA_U + 8 - 8), 0x5555);
    check_eq!("tsb miss took one guest trap", traps() - before, 1);
    check_eq!(
        "slow miss fault area",
        (
            crate::rt::LAST_TT.load(Ordering::SeqCst),
            LAST_DFT.load(Ordering::SeqCst),
            LAST_DFA.load(Ordering::SeqCst),
            LAST_DFC.load(Ordering::SeqCst)
        ),
        (0x31, FT_MISS, VA_U, 0)
    );

    // Protection: a read-only page, then a store.
    write_real(data + 2 * PAGE_8K, 1);
    let ro = tte(data + 2 * PAGE_8K, SZ_8K, TTE_P);
    FIX_TTE.store(ro, Ordering::SeqCst);
    TSB_8K.set(VA_P, 13, 0, ro);
    check_eq!("read-only page reads", read_va(VA_P), 1);
    let before = traps();
    write_va(VA_P, 2);
    check_eq!("store to read-only page faults once", traps() - before, 1);
    check_eq!(
        "protection fault",
        (crate::rt::LAST_TT.load(Ordering::SeqCst), LAST_DFA.load(Ordering::SeqCst)),
        (0x6c, VA_P)
    );
    check_eq!("store landed after the fix", read_real(data + 2 * PAGE_8K), 2);

    // An instruction miss: call a function through another virtual address.
    let probe = itlb_probe as *const () as usize as u64;
    let probe_page = probe & !(PAGE_8K - 1);
    TSB_8K.set(VA_X, 13, 0, tte(probe_page, SZ_8K, TTE_P | TTE_X));
    // SAFETY: VA_X maps the probe's page, which holds only itlb_probe.
    let f: extern "C" fn() -> u64 = unsafe { core::mem::transmute((VA_X + (probe - probe_page)) as usize) };
    check_eq!("itlb miss served from the TSB", f(), 0x1234_5678);

    // A user context with its own TSB (tags compared without the context: ctx_idx 0).
    write_real(data + 3 * PAGE_8K, 0xc0de);
    TSB_USER.set(VA_C, 13, 0, tte(data + 3 * PAGE_8K, SZ_8K, TTE_W));
    set_secondary_context(USER_CTX);
    check_eq!("user context tsb hit", read_user_secondary(VA_C), 0xc0de);
    // The same TSB, an entry whose tag carries the context: an unshared TSB's tags are
    // compared with the context bits cleared on both sides, so it hits too (the Rust walk
    // and the assembly fast path must agree).
    TSB_USER.set(VA_CT, 13, USER_CTX, tte(data + 3 * PAGE_8K, SZ_8K, TTE_W));
    let before = traps();
    check_eq!("user context tsb hit, context in the tag", (read_user_secondary(VA_CT), traps() - before), (0xc0de, 0));

    // Code in user mode, in context 5: its instruction and data misses are served from the
    // context's own TSB (user pages: P clear), and `ta 0x10` brings it back.
    extern "C" {
        fn guest_enter_user(pc: u64, data_va: u64) -> u64;
        static guest_user_probe: u8;
    }
    let user_page = core::ptr::addr_of!(guest_user_probe) as u64 & !(PAGE_8K - 1);
    write_real(data + 5 * PAGE_8K, 0x05e7_c0de);
    TSB_USER.set(VA_UC, 13, 0, tte(user_page, SZ_8K, TTE_X));
    TSB_USER.set(VA_UD, 13, 0, tte(data + 5 * PAGE_8K, SZ_8K, 0));
    let before = traps();
    // SAFETY: VA_UC maps the user probe, which loads from its argument and traps back.
    let got = unsafe { guest_enter_user(VA_UC + (core::ptr::addr_of!(guest_user_probe) as u64 - user_page), VA_UD) };
    check_eq!("user-mode code in context 5, served from its TSB", (got, traps() - before), (0x05e7_c0de, 0));
    // The same code loading from a privileged page (a context-5 TSB entry with P set): the
    // hardware raises data_access_exception, which the guest gets with fault type
    // PRIV_VIOL (5), the address and the context in its fault area.
    TSB_USER.set(VA_UP, 13, 0, tte(data + 5 * PAGE_8K, SZ_8K, TTE_P));
    ON_MISS.store(MISS_SKIP, Ordering::SeqCst);
    let before = traps();
    // SAFETY: as above; the faulting load is skipped by the guest's trap handler.
    let _ = unsafe { guest_enter_user(VA_UC + (core::ptr::addr_of!(guest_user_probe) as u64 - user_page), VA_UP) };
    check_eq!(
        "user access to a privileged page: data_access_exception, PRIV_VIOL",
        (
            traps() - before,
            crate::rt::LAST_TT.load(Ordering::SeqCst),
            LAST_DFT.load(Ordering::SeqCst),
            LAST_DFA.load(Ordering::SeqCst) & !(PAGE_8K - 1),
            LAST_DFC.load(Ordering::SeqCst)
        ),
        (1, 0x30, FT_PRIV_VIOL, VA_UP, USER_CTX)
    );

    // Demap page: with the TSB entry gone, the next access misses to the guest.
    ON_MISS.store(MISS_FIX, Ordering::SeqCst);
    FIX_TTE.store(tte(data, SZ_8K, TTE_P | TTE_W), Ordering::SeqCst);
    TSB_8K.clear(VA_T, 13);
    check_eq!("demap_page", hv::mmu_demap_page(VA_T, 0, MAP_ID), Ok(()));
    let before = traps();
    check_eq!("access after demap_page", read_va(VA_T), 0xdead_beef);
    check_eq!("demap_page forced a miss", traps() - before, 1);

    // Demap context.
    TSB_USER.clear(VA_C, 13);
    FIX_USER.store(1, Ordering::SeqCst);
    FIX_TTE.store(tte(data + 3 * PAGE_8K, SZ_8K, TTE_W), Ordering::SeqCst);
    check_eq!("demap_ctx", hv::mmu_demap_ctx(USER_CTX, MAP_ID), Ok(()));
    let before = traps();
    check_eq!("access after demap_ctx", read_user_secondary(VA_C), 0xc0de);
    check_eq!(
        "demap_ctx forced a miss in the user context",
        (traps() - before, LAST_DFC.load(Ordering::SeqCst)),
        (1, USER_CTX)
    );
    FIX_USER.store(0, Ordering::SeqCst);

    // Demap all: every non-permanent translation goes; the permanent ones (this code, this
    // stack) stay.
    TSB_8K.clear(VA_T, 13);
    FIX_TTE.store(tte(data, SZ_8K, TTE_P | TTE_W), Ordering::SeqCst);
    check_eq!("demap_all", hv::mmu_demap_all(MAP_ID), Ok(()));
    let before = traps();
    check_eq!("access after demap_all", read_va(VA_T), 0xdead_beef);
    check_eq!("demap_all forced a miss, permanent mappings survived", traps() - before, 1);

    // mmu_map_addr / mmu_unmap_addr.
    write_real(data + 4 * PAGE_8K, 0x4d4d);
    check_eq!(
        "map_addr hostile RA",
        unsafe { hv::mmu_map_addr(VA_M, 0, tte(0x10_0000, SZ_8K, TTE_P), MAP_D) },
        Err(HvError::NoRAddr)
    );
    check_eq!(
        "map_addr bad flags",
        unsafe { hv::mmu_map_addr(VA_M, 0, tte(data, SZ_8K, TTE_P), 0) },
        Err(HvError::Inval)
    );
    check_eq!("map_addr", unsafe { hv::mmu_map_addr(VA_M, 0, tte(data + 4 * PAGE_8K, SZ_8K, TTE_P), MAP_D) }, Ok(()));
    let before = traps();
    check_eq!("map_addr translation used", (read_va(VA_M), traps() - before), (0x4d4d, 0));
    check_eq!("unmap_addr", unsafe { hv::mmu_unmap_addr(VA_M, 0, MAP_D) }, Ok(()));
    ON_MISS.store(MISS_SKIP, Ordering::SeqCst);
    let before = traps();
    let _ = read_va(VA_M);
    check_eq!("unmap_addr removed it", traps() - before, 1);

    // Hostile TSB entries: RAs outside the domain (hypervisor RAM, its MD, just past the
    // end) must never be loaded. Each access traps to the guest and is skipped.
    ON_MISS.store(MISS_SKIP, Ordering::SeqCst);
    for (name, ra) in [
        ("hostile TTE to hypervisor RAM", 0x10_0000u64),
        ("hostile TTE to the hypervisor MD", 0x1f_1208_0000),
        ("hostile TTE past the domain's end", base + size),
        ("hostile TTE below the domain", base - PAGE_8K),
    ] {
        TSB_8K.set(VA_H, 13, 0, tte(ra, SZ_8K, TTE_P | TTE_W));
        let before = traps();
        let _ = read_va(VA_H);
        let (n, tt, dft, dfa) = (
            traps() - before,
            crate::rt::LAST_TT.load(Ordering::SeqCst),
            LAST_DFT.load(Ordering::SeqCst),
            LAST_DFA.load(Ordering::SeqCst),
        );
        // Never loaded: data_access_exception with fault type INV_RA (4) at the VA.
        check(
            name,
            (n, tt, dft, dfa) == (1, 0x30, FT_INV_RA, VA_H),
            format_args!("traps {n}, tt {tt:#x}, dft {dft}, dfa {dfa:#x}"),
        );
    }
    TSB_8K.clear(VA_H, 13);

    // mem_scrub / mem_sync.
    write_real(data + 6 * PAGE_8K, 0x77);
    check_eq!("mem_scrub", unsafe { hv::mem_scrub(data + 6 * PAGE_8K, PAGE_8K) }, Ok(PAGE_8K));
    check_eq!("mem_scrub zeroed", read_real(data + 6 * PAGE_8K), 0);
    check_eq!("mem_scrub unaligned", unsafe { hv::mem_scrub(data + 8, PAGE_8K) }, Err(HvError::BadAlign));
    check_eq!("mem_scrub bad RA", unsafe { hv::mem_scrub(0x10_0000, PAGE_8K) }, Err(HvError::NoRAddr));
    check_eq!("mem_sync", hv::mem_sync(data, PAGE_8K), Ok(PAGE_8K));
    check_eq!("mem_sync length 0", hv::mem_sync(data, 0), Err(HvError::Inval));

    // Back to real addressing; drop the permanent mappings.
    check_eq!("mmu_enable off", mmu_enable(false), 0);
    check_eq!("unmap_perm_addr", unsafe { hv::mmu_unmap_perm_addr(stack_page, MAP_ID) }, Ok(()));
    check_eq!("unmap_perm_addr twice", unsafe { hv::mmu_unmap_perm_addr(stack_page, MAP_ID) }, Err(HvError::NoMap));
    let _ = unsafe { hv::mmu_unmap_perm_addr(image_page, MAP_ID) };
    let _ = unsafe { hv::mmu_tsb_ctx0(0, 0) };
    let _ = unsafe { hv::mmu_tsb_ctxnon0(0, 0) };
    let _ = MAP_I;
}

/// The virtual ranges the benchmark uses (512 pages each).
#[cfg(guest_bench)]
pub struct BenchPages {
    /// Every page maps one data page through the TSB.
    pub tsb_va: u64,
    /// No TSB entries.
    pub unmapped_va: u64,
    /// Every page maps the page holding `itlb_probe`, executable.
    pub code_va: u64,
}

#[cfg(guest_bench)]
#[repr(C, align(65536))]
struct BigTsb(UnsafeCell<[u64; 8192]>);
#[cfg(guest_bench)]
// SAFETY: one vCPU.
unsafe impl Sync for BigTsb {}
#[cfg(guest_bench)]
static BENCH_TSB: BigTsb = BigTsb(UnsafeCell::new([0; 8192]));

/// Maps the image and stack permanently, registers a 4096-entry 8K TSB holding the
/// benchmark's pages, and turns the MMU on.
#[cfg(guest_bench)]
pub fn setup_bench_mmu(base: u64, size: u64) -> BenchPages {
    let image_page = base & !(PAGE_4M - 1);
    let stack_page = (base + size - 1) & !(PAGE_4M - 1);
    let kernel = TTE_P | TTE_X | TTE_W;
    // SAFETY: identity mappings of our own image and stack; the fault area is ours.
    unsafe {
        let _ = hv::mmu_fault_area_conf(FAULT_AREA.0.get() as u64);
        let _ = hv::mmu_map_perm_addr(image_page, tte(image_page, SZ_4M, kernel), MAP_ID);
        let _ = hv::mmu_map_perm_addr(stack_page, tte(stack_page, SZ_4M, kernel), MAP_ID);
    }
    let pages = BenchPages {
        tsb_va: 0x4_0000_0000,
        unmapped_va: 0x4_0000_0000 + (2048 << 13),
        code_va: 0x4_0000_0000 + (1024 << 13),
    };
    let data = base + 0x80_0000;
    let probe_page = (itlb_probe as *const () as usize as u64) & !(PAGE_8K - 1);
    // SAFETY: one vCPU; indexes below 4096.
    unsafe {
        let t = &mut *BENCH_TSB.0.get();
        for i in 0..512u64 {
            for (va, tte_data) in [
                (pages.tsb_va + (i << 13), tte(data, SZ_8K, TTE_P | TTE_W)),
                (pages.code_va + (i << 13), tte(probe_page, SZ_8K, TTE_P | TTE_X)),
            ] {
                let index = ((va >> 13) & 4095) as usize;
                t[2 * index] = va >> 22;
                t[2 * index + 1] = tte_data;
            }
        }
    }
    let ra = descriptors(&[(0, 4096, 0, 0x1, BENCH_TSB.0.get() as u64)]);
    // SAFETY: the TSB and its descriptor are ours.
    let r = unsafe { hv::mmu_tsb_ctx0(1, ra) };
    check_eq!("bench tsb", r, Ok(()));
    check_eq!("bench mmu_enable", mmu_enable(true), 0);
    pages
}
