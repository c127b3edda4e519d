//! The sparc64 side: the boot sequence (MD → device tree, boot image → kernel and
//! initramfs in memory, kernel mapped through a TSB, jump to the kernel), the
//! client-interface entry, and [`cif::Platform`] on top of the hypervisor. All `unsafe`
//! and assembly of the firmware is here and in `entry.s`.

use core::cell::UnsafeCell;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};

use guest_firmware::boot::{self, BootError, BootParams, Kernel};
use guest_firmware::cif::{self, Client, Instances, Platform, IHANDLES};
use guest_firmware::tree::{self, BuildParams, Tree};
use hv_api::error::HvError;
use hv_api::guest as hv;
use hv_api::hcall;
use hv_api::md::MachineDescription;

/// Virtual address the firmware runs at (link.ld's FW_VA): inside Linux's OBP window.
pub const FW_VA: u64 = 0xf000_0000;
/// The firmware keeps the first 4 MB of the domain (one locked 4 MB page).
pub const FW_SIZE: u64 = 4 << 20;
/// Strands with a CIF stack and a start record of their own.
pub const MAX_STRANDS: usize = 32;
/// Linux's KERNBASE: the kernel's `HdrS` ramdisk address is relative to it.
const KERNBASE: u64 = 0x40_0000;
/// TTE bits of the firmware's and the kernel's mappings: valid, CP, CV, P, X, W.
const TTE_BITS: u64 = (1 << 63) | 0x7c0;
/// TTE size codes.
const SZ_8K: u64 = 0;
const SZ_4M: u64 = 3;
const TSB_ENTRIES: usize = 512;

/// Bytes of the boot strand's stack.
const BOOT_STACK: usize = 32 * 1024;
/// log2 of the bytes of each strand's CIF and start stacks.
const STACK_SHIFT: usize = 14;
const STACK: usize = 1 << STACK_SHIFT;

/// SPARC V9 ABI: the 64-bit stack bias and the smallest frame (register save area and
/// argument slots).
const STACK_BIAS: u64 = 2047;
const FRAME: u64 = 192;
/// Exit code of a domain whose firmware cannot map itself.
const EXIT_NO_MMU: u64 = 0x7f;
/// STICK_CMPR's interrupt-disable bit.
const STICK_CMPR_INT_DIS_SHIFT: u64 = 63;
/// Every SOFTINT bit (tick, STICK and the 15 levels), for CLEAR_SOFTINT.
const SOFTINT_ALL: u64 = 0x1_ffff;
/// The highest PIL: no interrupt below level 15 while the firmware runs.
const PIL_MAX: u64 = 15;
/// Trap-table entries of one window spill or fill vector (SPARC V9: 4).
const WINDOW_TRAP_ENTRIES: u64 = 4;
/// Flags of a mapping in both TLBs (`MAP_ITLB | MAP_DTLB`).
const MAP_ID: u64 = 3;

core::arch::global_asm!(
    concat!(
        include_str!("../../platform/asm/macros.s"),
        include_str!("../../platform/asm/windows.s"),
        include_str!("entry.s")
    ),
    PSTATE_PRIV = const platform::registers::PSTATE_PRIV,
    PIL_MAX = const PIL_MAX,
    CLEANWIN = const platform::NWINDOWS - 1,
    CANSAVE = const platform::NWINDOWS - 2,
    TTE_V_SHIFT = const 63,
    FW_TTE_LOW = const (TTE_BITS | SZ_4M) & 0xfff,
    MAP_ID = const MAP_ID,
    MMU_MAP_PERM_ADDR = const hcall::MMU_MAP_PERM_ADDR,
    MMU_ENABLE = const hcall::MMU_ENABLE,
    MACH_EXIT = const hcall::MACH_EXIT,
    CPU_MYID = const hcall::CPU_MYID,
    FAST_TRAP = const hv_api::trap::FAST_TRAP,
    EXIT_NO_MMU = const EXIT_NO_MMU,
    BOOT_STACK = const BOOT_STACK,
    STACK_SHIFT = const STACK_SHIFT,
    MAX_STRANDS = const MAX_STRANDS,
    STACK_BIAS = const STACK_BIAS,
    FRAME = const FRAME,
    STICK_CMPR_INT_DIS_SHIFT = const STICK_CMPR_INT_DIS_SHIFT,
    SOFTINT_ALL = const SOFTINT_ALL,
    TRAP_ENTRY_SIZE = const platform::registers::TRAP_ENTRY_SIZE,
    TBA_ALIGN = const platform::registers::TBA_ALIGN,
    TBA_TL_GT_0 = const platform::registers::TBA_TL_GT_0,
    TT_POWER_ON_RESET = const hv_api::trap::tt::POWER_ON_RESET,
    TT_WATCHDOG_RESET = const hv_api::trap::tt::WATCHDOG_RESET,
    TT_XIR = const hv_api::trap::tt::XIR,
    TT_SIR = const hv_api::trap::tt::SIR,
    TT_SPILL_0_NORMAL = const hv_api::trap::tt::SPILL_0_NORMAL,
    TT_FILL_0_NORMAL = const hv_api::trap::tt::FILL_0_NORMAL,
    WINDOW_TRAP_ENTRIES = const WINDOW_TRAP_ENTRIES,
);

extern "C" {
    fn fw_cif_entry();
    fn fw_reset_entry();
    fn fw_trap_table();
    fn fw_enter_client(entry: u64, cif: u64, sp: u64, arg: u64) -> !;
    fn fw_set_tba(tba: u64);
    fn fw_stick() -> u64;
    fn fw_quiesce_timer();
}

/// A static the firmware fills once at boot and then reads; the client interface is
/// entered by one strand at a time (Linux holds `prom_entry_lock`).
#[repr(C, align(8192))]
struct Global<T>(UnsafeCell<T>);
// SAFETY: see the type's doc: boot is single-stranded, CIF calls are serialised by the client.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    const fn new(v: T) -> Self {
        Global(UnsafeCell::new(v))
    }
    #[allow(clippy::mut_from_ref)]
    fn get(&self) -> &mut T {
        // SAFETY: see the type's doc.
        unsafe { &mut *self.0.get() }
    }
    fn va(&self) -> u64 {
        self.0.get() as u64
    }
}

#[no_mangle]
static fw_boot_stack: Global<[u8; BOOT_STACK]> = Global::new([0; BOOT_STACK]);
#[no_mangle]
static fw_cif_stacks: Global<[u8; STACK * MAX_STRANDS]> = Global::new([0; STACK * MAX_STRANDS]);
#[no_mangle]
static fw_secondary_stacks: Global<[u8; STACK * MAX_STRANDS]> = Global::new([0; STACK * MAX_STRANDS]);

static MD_BUF: Global<[u8; 64 * 1024]> = Global::new([0; 64 * 1024]);
static FDT_BUF: Global<[u8; boot::MAX_FDT as usize]> = Global::new([0; boot::MAX_FDT as usize]);
static SCRATCH: Global<[u8; 8192]> = Global::new([0; 8192]);
static TSB_4M: Global<[u64; 2 * TSB_ENTRIES]> = Global::new([0; 2 * TSB_ENTRIES]);
static TSB_8K: Global<[u64; 2 * TSB_ENTRIES]> = Global::new([0; 2 * TSB_ENTRIES]);
static TSB_DESC: Global<[u64; 8]> = Global::new([0; 8]);
static MMFSA: Global<[u64; 16]> = Global::new([0; 16]);
static TREE: Global<Tree> = Global::new(Tree::new());
static STATE: Global<State> =
    Global::new(State { image_ra: 0, stick_hz: 100_000_000, inst: None, translations: [(0, 0, 0); 1] });

struct State {
    image_ra: u64,
    stick_hz: u64,
    inst: Option<Instances>,
    translations: [(u64, u64, u64); 1],
}

/// Start records of strands started by `SUNW,start-cpu-by-cpuid`: client PC and argument.
static START_PC: [AtomicU64; MAX_STRANDS] = [const { AtomicU64::new(0) }; MAX_STRANDS];
static START_ARG: [AtomicU64; MAX_STRANDS] = [const { AtomicU64::new(0) }; MAX_STRANDS];

/// Real address of a firmware virtual address (the firmware is one 4 MB page).
fn ra_of(va: u64) -> u64 {
    va - FW_VA + STATE.get().image_ra
}

// ---------------------------------------------------------------------------------------
// Console

use hv_api::guest::{cons_put_blocking as put, Console};

macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = write!(Console, "gfw: ");
        let _ = writeln!(Console, $($arg)*);
    }};
}

/// Prints why the domain cannot boot and stops it (`mach_exit(1)`).
fn fail(what: fmt::Arguments<'_>) -> ! {
    say!("cannot boot: {what}");
    say!("stopping this domain");
    hv::mach_exit(1)
}

#[no_mangle]
extern "C" fn fw_unexpected_trap(tt: u64, tpc: u64, tl: u64) -> ! {
    let fsa = MMFSA.get();
    say!("unexpected trap {tt:#x} at pc {tpc:#x}, tl {tl} (fault address d {:#x} i {:#x})", fsa[9], fsa[1]);
    hv::mach_exit(2)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("panic: {}", info.message());
    hv::mach_exit(3)
}

// ---------------------------------------------------------------------------------------
// Boot

fn disk_read(offset: u64, ra: u64, len: u64) -> Result<(), HvError> {
    // disk_read copies in one call; keep calls to 1 MB so a long copy is not one
    // uninterruptible hypercall.
    let mut done = 0;
    while done < len {
        let n = (len - done).min(1 << 20);
        // SAFETY: the callers pass real addresses of memory the firmware owns or is
        // filling for the client (checked against the domain's memory before).
        let (s, _) = unsafe { hv::call(hcall::DISK_READ, &[offset + done, ra + done, n]) };
        if s != 0 {
            return Err(HvError::from_code(s).unwrap_or(HvError::Inval));
        }
        done += n;
    }
    Ok(())
}

fn read_md() -> MachineDescription<'static> {
    let buf = MD_BUF.get();
    let size = match hv::mach_desc_size() {
        Ok(s) if s as usize <= buf.len() => s,
        Ok(s) => fail(format_args!("the machine description is {s} bytes, more than {}", buf.len())),
        Err(e) => fail(format_args!("mach_desc: {e:?}")),
    };
    // SAFETY: the buffer is the firmware's, `size` fits it.
    if let Err((e, _)) = unsafe { hv::mach_desc(ra_of(MD_BUF.va()), size) } {
        fail(format_args!("mach_desc: {e:?}"));
    }
    match MachineDescription::new(&buf[..size as usize]) {
        Ok(md) => md,
        Err(e) => fail(format_args!("the machine description does not parse: {e}")),
    }
}

fn read_boot_params() -> (BootParams<'static>, u64) {
    let label = &mut SCRATCH.get()[..boot::LABEL_SIZE];
    if let Err(e) = disk_read(0, ra_of(SCRATCH.va()), boot::LABEL_SIZE as u64) {
        fail(format_args!(
            "no virtual disk to boot from (disk_read: {e:?}); attach a boot image with -drive if=pflash"
        ));
    }
    let blocks = u32::from_be_bytes(label[boot::BLOCKS_OFFSET..boot::BLOCKS_OFFSET + 4].try_into().unwrap_or([0; 4]));
    let image_size = blocks as u64 * boot::BLOCK;
    let (fdt_off, fdt_size) = boot::parse_label(label).unwrap_or_else(|e| fail(format_args!("{}", e.message())));
    let fdt = FDT_BUF.get();
    if disk_read(fdt_off, ra_of(FDT_BUF.va()), fdt_size).is_err() {
        fail(format_args!("{}", BootError::BadHeader.message()));
    }
    let p = boot::parse_params(&fdt[..fdt_size as usize], image_size)
        .unwrap_or_else(|e| fail(format_args!("{}", e.message())));
    (p, image_size)
}

fn read_kernel(p: &BootParams<'_>) -> Kernel {
    let head = SCRATCH.get();
    let n = p.kernel.1.min(head.len() as u64);
    if disk_read(p.kernel.0, ra_of(SCRATCH.va()), n).is_err() {
        fail(format_args!("{}", BootError::OutOfImage.message()));
    }
    boot::parse_kernel(&head[..n as usize], p.kernel.1).unwrap_or_else(|e| fail(format_args!("{}", e.message())))
}

/// Puts a translation into the firmware's TSBs (4 MB or 8 KB pages, direct-mapped);
/// `false` if the slot holds another translation.
fn tsb_insert(va: u64, ra: u64, size_code: u64) -> bool {
    let (tsb, shift) = match size_code {
        SZ_4M => (TSB_4M.get(), 22),
        _ => (TSB_8K.get(), 13),
    };
    let i = ((va >> shift) as usize) & (TSB_ENTRIES - 1);
    let tag = va >> 22;
    let data = TTE_BITS | ra | size_code;
    if tsb[2 * i + 1] & (1 << 63) != 0 && tsb[2 * i] != tag {
        return false;
    }
    // SAFETY: plain stores to the firmware's TSB (the hypervisor reads it on a miss):
    // invalidate, then write the tag, then the data.
    unsafe {
        core::ptr::write_volatile(&mut tsb[2 * i + 1], 0);
        core::ptr::write_volatile(&mut tsb[2 * i], tag);
        core::ptr::write_volatile(&mut tsb[2 * i + 1], data);
    }
    true
}

fn tsb_lookup(va: u64) -> Option<(u64, u64)> {
    for (tsb, shift) in [(TSB_4M.get(), 22u32), (TSB_8K.get(), 13u32)] {
        let i = ((va >> shift) as usize) & (TSB_ENTRIES - 1);
        let (tag, data) = (tsb[2 * i], tsb[2 * i + 1]);
        if data & (1 << 63) != 0 && tag == va >> 22 {
            let page = 1u64 << shift;
            let ra_page = data & hv_api::mmu::Tte::RA_MASK & !(page - 1);
            return Some((ra_page + (va & (page - 1)), data & 0x7f0));
        }
    }
    None
}

fn register_tsbs() {
    let d = TSB_DESC.get();
    let base4m = ra_of(TSB_4M.va());
    let base8k = ra_of(TSB_8K.va());
    // (pgsz_idx << 48 | assoc << 32 | entries), (ctx_idx << 32 | pgsz_mask), base, 0.
    d[0] = (SZ_8K << 48) | (1 << 32) | TSB_ENTRIES as u64;
    d[1] = 1 << SZ_8K;
    d[2] = base8k;
    d[3] = 0;
    d[4] = (SZ_4M << 48) | (1 << 32) | TSB_ENTRIES as u64;
    d[5] = 1 << SZ_4M;
    d[6] = base4m;
    d[7] = 0;
    // SAFETY: the descriptors and TSBs are firmware memory that stays reserved.
    if let Err(e) = unsafe { hv::mmu_tsb_ctx0(2, ra_of(TSB_DESC.va())) } {
        fail(format_args!("mmu_tsb_ctx0: {e:?}"));
    }
}

#[no_mangle]
extern "C" fn fw_main(membase: u64, memsize: u64, image_ra: u64) -> ! {
    let st = STATE.get();
    st.image_ra = image_ra;
    say!("sun4v-hv guest firmware, {} MiB at {membase:#x}", memsize >> 20);
    // SAFETY: the fault status area is firmware memory, 64-byte aligned.
    if let Err(e) = unsafe { hv::mmu_fault_area_conf(ra_of(MMFSA.va())) } {
        fail(format_args!("mmu_fault_area_conf: {e:?}"));
    }
    let md = read_md();
    let (params, _) = read_boot_params();
    let kernel = read_kernel(&params);
    let (lo, span) = kernel.span();
    let kspan = span.div_ceil(boot::KERNEL_ALIGN) * boot::KERNEL_ALIGN;
    let mem_end = membase + memsize;
    if image_ra < membase || image_ra + FW_SIZE > mem_end {
        fail(format_args!("the firmware is not inside the domain's memory"));
    }
    // The kernel goes to the first 4 MB boundary after the firmware, the initramfs
    // right after the kernel's 4 MB pages.
    let kern_ra = (image_ra + FW_SIZE).div_ceil(boot::KERNEL_ALIGN) * boot::KERNEL_ALIGN;
    let initrd_ra = kern_ra + kspan;
    let initrd_len = params.initrd.map(|r| r.1).unwrap_or(0);
    if kern_ra + kspan > mem_end {
        fail(format_args!("the kernel ({span:#x} bytes) does not fit the domain's memory"));
    }
    if initrd_ra.checked_add(initrd_len.div_ceil(8192) * 8192).is_none_or(|e| e > mem_end) {
        fail(format_args!(
            "the initramfs ({initrd_len} bytes) does not fit the domain's memory after the kernel (free: {} bytes)",
            mem_end - initrd_ra
        ));
    }
    say!(
        "kernel: entry {:#x}, {} segment(s), {span:#x} bytes at {lo:#x} -> real {kern_ra:#x}; initramfs {initrd_len} bytes",
        kernel.entry, kernel.count
    );
    for s in &kernel.segments[..kernel.count] {
        if disk_read(params.kernel.0 + s.offset, kern_ra + (s.vaddr - lo), s.filesz).is_err() {
            fail(format_args!("{}", BootError::OutOfImage.message()));
        }
    }
    if let Some((off, len)) = params.initrd {
        if disk_read(off, initrd_ra, len).is_err() {
            fail(format_args!("{}", BootError::OutOfImage.message()));
        }
    }
    // Map the kernel (4 MB pages) through the firmware's TSB until Linux locks it itself.
    let mut va = lo;
    while va < lo + kspan {
        tsb_insert(va, kern_ra + (va - lo), SZ_4M);
        va += boot::KERNEL_ALIGN;
    }
    register_tsbs();
    // Zero what the file does not hold (.bss).
    for s in &kernel.segments[..kernel.count] {
        let start = s.vaddr + s.filesz;
        let end = s.vaddr + s.memsz;
        let mut a = start;
        while a % 8 != 0 && a < end {
            // SAFETY: mapped just above, inside the kernel's span.
            unsafe { core::ptr::write_volatile(a as *mut u8, 0) };
            a += 1;
        }
        while a + 8 <= end {
            // SAFETY: as above.
            unsafe { core::ptr::write_volatile(a as *mut u64, 0) };
            a += 8;
        }
        while a < end {
            // SAFETY: as above.
            unsafe { core::ptr::write_volatile(a as *mut u8, 0) };
            a += 1;
        }
    }
    // Device tree.
    let reserved = [(image_ra, FW_SIZE)];
    st.translations = [(FW_VA, FW_SIZE, TTE_BITS | image_ra | SZ_4M)];
    st.stick_hz = md
        .nodes_named("platform")
        .next()
        .and_then(|p| p.val("stick-frequency"))
        .filter(|&f| f >= 1000)
        .unwrap_or(100_000_000);
    let bp = BuildParams {
        bootargs: params.bootargs,
        reserved: &reserved,
        translations: &st.translations,
        ihandles: IHANDLES,
    };
    let packages = match tree::build(TREE.get(), &md, &bp) {
        Ok(p) => p,
        Err(e) => fail(format_args!("cannot build the device tree from the machine description: {e:?}")),
    };
    st.inst = Some(Instances { ihandles: IHANDLES, packages });
    // The initramfs for Linux: HdrS fields (what SILO fills in). The address is given
    // relative to KERNBASE and the lowest available memory (find_ramdisk()).
    if initrd_len != 0 {
        // The header follows the first instructions at the entry point (head_64.S).
        let text = kernel.entry as *mut u8;
        // SAFETY: the first KB after the entry is mapped and loaded (it is inside the
        // kernel's span: parse_kernel checked the entry).
        let head = unsafe { core::slice::from_raw_parts(text, (lo + span - kernel.entry).min(1024) as usize) };
        match boot::find_hdrs(head) {
            Some(h) => {
                let phys_base = kern_ra.min(membase.max(image_ra + FW_SIZE));
                let image64 = initrd_ra - phys_base + KERNBASE;
                // SAFETY: inside the mapped kernel text, at the fields of its HdrS header.
                unsafe {
                    core::ptr::write_volatile(text.add(h + boot::HDRS_RAMDISK_IMAGE) as *mut u32, 0);
                    core::ptr::write_volatile(text.add(h + boot::HDRS_RAMDISK_SIZE) as *mut u32, initrd_len as u32);
                    core::ptr::write_volatile(text.add(h + boot::HDRS_RAMDISK_IMAGE64) as *mut u64, image64);
                }
            }
            None => say!("the kernel has no HdrS header: the initramfs is not passed"),
        }
    }
    say!("entering the kernel at {:#x}", kernel.entry);
    let sp = fw_boot_stack.va() + BOOT_STACK as u64 - STACK_BIAS - FRAME;
    // SAFETY: the kernel is loaded and mapped; the CIF handler and the stack are in the
    // firmware's locked page.
    unsafe { fw_enter_client(kernel.entry, fw_cif_entry as *const () as u64, sp, 0) }
}

/// A strand started by `SUNW,start-cpu-by-cpuid` (record `index`): the firmware's TSBs
/// (so the kernel is mapped), then the client's PC with its argument.
#[no_mangle]
extern "C" fn fw_secondary_main(index: u64) -> ! {
    let i = index as usize % MAX_STRANDS;
    // SAFETY: the descriptors and TSBs are firmware memory that stays reserved.
    let _ = unsafe { hv::mmu_tsb_ctx0(2, ra_of(TSB_DESC.va())) };
    let pc = START_PC[i].load(Ordering::Acquire);
    let arg = START_ARG[i].load(Ordering::Acquire);
    let sp = fw_secondary_stacks.va() + (i as u64 + 1) * STACK as u64 - STACK_BIAS - FRAME;
    // SAFETY: the client asked for this PC on this strand.
    unsafe { fw_enter_client(pc, fw_cif_entry as *const () as u64, sp, arg) }
}

// ---------------------------------------------------------------------------------------
// The client interface

/// Client memory: the client's virtual addresses, through the MMU.
struct ClientMem;

/// Whether the client's trap table is in charge (`SUNW,set-trap-table` was called): then
/// the client's own TLB-miss handler serves its addresses.
static CLIENT_TRAPS: AtomicU64 = AtomicU64::new(0);

/// Whether the firmware may touch `len` bytes at client address `va`: never page 0 or a
/// wrapping range; while the firmware's trap table is in charge, only pages its own
/// translations map (anything else would be a miss the firmware cannot serve).
fn accessible(va: u64, len: usize) -> bool {
    let Some(end) = va.checked_add(len as u64) else { return false };
    if va < 0x2000 {
        return false;
    }
    if CLIENT_TRAPS.load(Ordering::Relaxed) != 0 || len == 0 {
        return true;
    }
    let mut page = va & !0x1fff;
    while page < end {
        if Hv.translate(page).is_none() {
            return false;
        }
        page += 0x2000;
    }
    true
}

impl Client for ClientMem {
    fn read(&mut self, va: u64, buf: &mut [u8]) -> bool {
        if !accessible(va, buf.len()) {
            return false;
        }
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: the client passed this address for us to read; it is its memory.
            *b = unsafe { core::ptr::read_volatile((va + i as u64) as *const u8) };
        }
        true
    }
    fn write(&mut self, va: u64, data: &[u8]) -> bool {
        if !accessible(va, data.len()) {
            return false;
        }
        for (i, b) in data.iter().enumerate() {
            // SAFETY: the client passed this buffer for us to fill.
            unsafe { core::ptr::write_volatile((va + i as u64) as *mut u8, *b) };
        }
        true
    }
}

struct Hv;

impl Platform for Hv {
    fn console_write(&mut self, bytes: &[u8]) -> usize {
        for &b in bytes {
            put(b);
        }
        bytes.len()
    }
    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() {
            match hv::cons_getchar() {
                Ok(c) if c < 256 => {
                    buf[n] = c as u8;
                    n += 1;
                }
                _ => break,
            }
        }
        n
    }
    fn milliseconds(&mut self) -> u64 {
        // SAFETY: reads %stick.
        let t = unsafe { fw_stick() } & !(1 << 63);
        t / (STATE.get().stick_hz / 1000)
    }
    fn translate(&mut self, va: u64) -> Option<(u64, u64)> {
        if (FW_VA..FW_VA + FW_SIZE).contains(&va) {
            return Some((ra_of(va), 0x7c0));
        }
        tsb_lookup(va)
    }
    fn map(&mut self, va: u64, ra: u64, size: u64, _mode: u64) -> bool {
        if size == 0 || va.checked_add(size).is_none() || ra.checked_add(size).is_none() {
            return false;
        }
        let four_m = boot::KERNEL_ALIGN;
        let (page, code) = if va.is_multiple_of(four_m) && ra.is_multiple_of(four_m) && size.is_multiple_of(four_m) {
            (four_m, SZ_4M)
        } else {
            (8192, SZ_8K)
        };
        if !va.is_multiple_of(page) || !ra.is_multiple_of(page) {
            return false;
        }
        let mut off = 0;
        while off < size {
            if !tsb_insert(va + off, ra + off, code) {
                return false;
            }
            off += page;
        }
        true
    }
    fn unmap(&mut self, va: u64, size: u64) -> bool {
        let mut off = 0;
        while off < size {
            for (tsb, shift) in [(TSB_4M.get(), 22u32), (TSB_8K.get(), 13u32)] {
                let a = va + off;
                let i = ((a >> shift) as usize) & (TSB_ENTRIES - 1);
                if tsb[2 * i] == a >> 22 {
                    tsb[2 * i + 1] = 0;
                }
            }
            let _ = hv::mmu_demap_page(va + off, 0, 3);
            off += 8192;
        }
        true
    }
    fn set_trap_table(&mut self, tba: u64, mmfsa: u64) -> bool {
        if tba == 0 || !tba.is_multiple_of(0x8000) {
            return false;
        }
        if mmfsa != 0 {
            // SAFETY: the client gives its own fault status area (a real address the
            // hypervisor checks).
            if unsafe { hv::mmu_fault_area_conf(mmfsa) }.is_err() {
                return false;
            }
        }
        // SAFETY: the client's trap table takes over, as it asked.
        unsafe {
            fw_quiesce_timer();
            fw_set_tba(tba);
        }
        CLIENT_TRAPS.store(1, Ordering::Relaxed);
        true
    }
    fn start_cpu(&mut self, cpuid: u64, pc: u64, arg: u64) -> u64 {
        let i = cpuid as usize;
        if i >= MAX_STRANDS {
            return HvError::NoCpu as u64;
        }
        START_PC[i].store(pc, Ordering::Release);
        START_ARG[i].store(arg, Ordering::Release);
        let por = ra_of(fw_reset_entry as *const () as u64);
        let rtba = ra_of(fw_trap_table as *const () as u64);
        // SAFETY: starts the strand in the firmware's reset code (real addresses).
        match unsafe { hv::cpu_start(cpuid, por, rtba, i as u64 + 1) } {
            Ok(()) => 0,
            Err(e) => e as u64,
        }
    }
    fn stop_cpu(&mut self, cpuid: u64) -> u64 {
        match hv::cpu_stop(cpuid) {
            Ok(()) => 0,
            Err(e) => e as u64,
        }
    }
    fn stop_self(&mut self) {
        if let Ok(me) = hv::cpu_myid() {
            let _ = hv::cpu_stop(me);
        }
        loop {
            let _ = hv::cpu_yield();
        }
    }
    fn power_off(&mut self) {
        hv::mach_exit(0)
    }
    fn exit(&mut self) {
        say!("the client program called `exit` (Linux: prom_halt); stopping this domain");
        hv::mach_exit(1)
    }
    fn reboot(&mut self, _args: &[u8]) {
        hv::mach_sir()
    }
    fn soft_state(&mut self, _state: u64, _desc: &[u8]) -> bool {
        true
    }
}

/// The Rust side of the client-interface entry: returns 0 or -1.
#[no_mangle]
extern "C" fn fw_cif_rust(args: u64) -> u64 {
    let Some(inst) = STATE.get().inst else { return cif::FAIL };
    cif::handle(args, TREE.get(), &inst, &mut ClientMem, &mut Hv)
}
