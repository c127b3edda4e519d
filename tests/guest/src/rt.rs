//! The guest's runtime: entry code and trap table, console output, check reporting, and the
//! Rust side of the trap handlers.

use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use hv_api::guest as hv;

// One assembly unit: the trap table branches to the window tests' handlers (windows.s),
// and the linker has no cross-unit form of those branches. The constants after the
// sources are the SMP and console interrupt tests' (entry.s).
crate::window_asm_operands!(concat!(
    include_str!("../../../platform/asm/macros.s"),
    include_str!("../../../platform/asm/windows.s"),
    include_str!("entry.s"),
    include_str!("windows.s")
), START_STACK_TOP = const crate::smp::START_STACK_TOP,
    PSTATE_IE = const platform::registers::PSTATE_IE,
    ASI_QUEUE = const hv_api::queue::ASI_QUEUE,
    CPU_MONDO_HEAD = const hv_api::queue::CPU_MONDO_HEAD,
    CPU_MONDO_TAIL = const hv_api::queue::CPU_MONDO_TAIL,
    DEV_MONDO_HEAD = const hv_api::queue::DEV_MONDO_HEAD,
    DEV_MONDO_TAIL = const hv_api::queue::DEV_MONDO_TAIL,
    MMU_ENABLE = const hv_api::hcall::MMU_ENABLE,
    GUEST_BENCH = const cfg!(guest_bench) as u64,
    ASI_SCRATCHPAD = const platform::asi::SCRATCHPAD,
    SCRATCHPAD_CPUID = const platform::asi::SCRATCHPAD_CPUID);

static FAILURES: AtomicU64 = AtomicU64::new(0);

/// Non-zero: the data_access_MMU_miss vector skips the access without calling Rust (used
/// by the benchmark; read by the assembly).
#[no_mangle]
pub static BENCH_SKIP_DMISS: AtomicU64 = AtomicU64::new(0);

/// Traps taken through `guest_trap`.
pub static TRAP_COUNT: AtomicU64 = AtomicU64::new(0);
/// Type of the last such trap.
pub static LAST_TT: AtomicU64 = AtomicU64::new(0);
/// PC of the last such trap.
pub static LAST_TPC: AtomicU64 = AtomicU64::new(0);

/// Number of failed checks so far.
pub fn failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// A buffer in guest memory; with the MMU off (or identity mapped) its address is its real
/// address.
#[repr(C, align(64))]
pub struct Buffer<const N: usize>(UnsafeCell<[u8; N]>);

// SAFETY: the guest runs on one vCPU; buffers are touched from one place at a time.
unsafe impl<const N: usize> Sync for Buffer<N> {}

impl<const N: usize> Buffer<N> {
    /// A zeroed buffer.
    pub const fn new() -> Self {
        Buffer(UnsafeCell::new([0; N]))
    }
    /// Its real address.
    pub fn ra(&self) -> u64 {
        self.0.get() as u64
    }
    /// Its bytes.
    pub fn bytes(&self) -> &[u8; N] {
        // SAFETY: single-threaded; the hypervisor wrote it before we read it.
        unsafe { &*self.0.get() }
    }
    /// Its bytes, mutably.
    #[allow(clippy::mut_from_ref)]
    pub fn bytes_mut(&self) -> &mut [u8; N] {
        // SAFETY: single-threaded.
        unsafe { &mut *self.0.get() }
    }
}

/// `%stick` ticks per second: the guest MD's `stick-frequency` once [`read_guest_md`] has
/// read it, else niagara's 100 MHz.
pub static STICK_HZ: AtomicU64 = AtomicU64::new(100_000_000);

/// Copies the guest MD into `buf` (`mach_desc`) and parses it; records its
/// `stick-frequency` in [`STICK_HZ`]. `what` names the caller in the error.
pub fn read_guest_md<const N: usize>(
    buf: &'static Buffer<N>,
) -> Result<hv_api::md::MachineDescription<'static>, &'static str> {
    let size = hv::mach_desc_size().map_err(|_| "mach_desc size query failed")?;
    if size > N as u64 {
        return Err("the guest MD is larger than the test's buffer");
    }
    // SAFETY: `buf` is ours and large enough.
    unsafe { hv::mach_desc(buf.ra(), size) }.map_err(|_| "mach_desc failed")?;
    let md = hv_api::md::MachineDescription::new(&buf.bytes()[..size as usize])
        .map_err(|_| "the guest MD does not parse")?;
    if let Some(hz) = md.nodes_named("platform").next().and_then(|p| p.val("stick-frequency")) {
        STICK_HZ.store(hz, Ordering::SeqCst);
    }
    Ok(md)
}

/// Console output through `cons_putchar`.
pub use hv_api::guest::Console;

/// Prints `test-guest: ` and a formatted line.
macro_rules! say {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::rt::Console, "test-guest: ");
        let _ = writeln!($crate::rt::Console, $($arg)*);
    }};
}

/// Reports one check.
pub fn check(name: &str, ok: bool, detail: fmt::Arguments<'_>) {
    if ok {
        say!("ok {name}");
    } else {
        FAILURES.fetch_add(1, Ordering::Relaxed);
        say!("FAIL {name}: {detail}");
    }
}

/// Reports one equality check.
macro_rules! check_eq {
    ($name:expr, $left:expr, $right:expr) => {{
        let l = $left;
        let r = $right;
        $crate::rt::check($name, l == r, format_args!("got {:?}, expected {:?}", l, r));
    }};
}

/// Where the trap handler goes on when `guest_trap` returns 2 (read by the assembly).
#[no_mangle]
pub static GUEST_RESUME_PC: AtomicU64 = AtomicU64::new(0);

/// Rust side of the expected traps: returns 0 to skip the trapping instruction, 1 to retry,
/// 2 to go on at [`GUEST_RESUME_PC`].
#[no_mangle]
extern "C" fn guest_trap(tt: u64, tpc: u64, tl: u64) -> u64 {
    TRAP_COUNT.fetch_add(1, Ordering::SeqCst);
    LAST_TT.store(tt, Ordering::SeqCst);
    LAST_TPC.store(tpc, Ordering::SeqCst);
    #[cfg(guest_hostile)]
    return crate::hostile::on_trap(tt, tpc, tl);
    #[cfg(not(guest_hostile))]
    {
        if tt == hv_api::trap::tt::INSTRUCTION_ACCESS_ERROR {
            guest_unexpected_trap(tt, tpc, tl);
        }
        if crate::ldc::expects_faults() {
            return crate::ldc::on_trap(tt, tpc, tl);
        }
        crate::mmu_tests::on_trap(tt, tpc, tl)
    }
}

/// Reports a trap nobody expects and ends the domain (also from the SMP tests' handler).
#[no_mangle]
pub(crate) extern "C" fn guest_unexpected_trap(tt: u64, tpc: u64, tl: u64) -> ! {
    say!("FAIL unexpected trap {tt:#x} at pc {tpc:#x}, tl {tl}");
    // `GUEST_MODE=fault-windows-tlb` goes on with its next failure from a fresh start.
    #[cfg(guest_fault_windows_tlb)]
    hv::mach_sir();
    #[cfg(not(guest_fault_windows_tlb))]
    hv::mach_exit(2)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("FAIL panic: {}", info.message());
    hv::mach_exit(3)
}

/// The canary word at real address `a` (the hostile guest's canaries and the test guest's;
/// the harness computes the same words, `pattern = "canary"` in a case's `memory_check`):
/// `(a ^ 0xc0ffee00deadbeef) * 0x9e3779b97f4a7c15` (wrapping), stored big-endian.
pub fn canary_word(a: u64) -> u64 {
    (a ^ 0xc0ff_ee00_dead_beef).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Fills `len` bytes at real address `ra` (8-byte aligned; MMU off or identity mapped) with
/// canary words.
pub fn fill_canary(ra: u64, len: u64) {
    let mut a = ra;
    while a < ra + len {
        // SAFETY: the callers pass a region of the guest's own memory that nothing else of
        // the guest uses (outside its image, stack and buffers).
        unsafe { core::ptr::write_volatile(a as *mut u64, canary_word(a)) };
        a += 8;
    }
}

/// The first address in `len` bytes at `ra` whose word is not its canary word, if any.
pub fn canary_changed(ra: u64, len: u64) -> Option<u64> {
    let mut a = ra;
    while a < ra + len {
        // SAFETY: as `fill_canary`.
        if unsafe { core::ptr::read_volatile(a as *const u64) } != canary_word(a) {
            return Some(a);
        }
        a += 8;
    }
    None
}
