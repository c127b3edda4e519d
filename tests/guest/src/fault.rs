//! The failing guest (`GUEST_MODE=fault`, image `fault-guest`): it takes a trap above
//! MAXPTL on purpose (with `GUEST_MODE=fault-windows`, image `window-fault-guest`, it breaks
//! its register-window registers and makes a hypercall instead; with
//! `GUEST_MODE=fault-tl2-miss`, image `tl2-miss-fault-guest`, it takes a data TLB miss at
//! TL 2 that the guest could only take at TL 3; with `GUEST_MODE=fault-watchdog`, image
//! `watchdog-fault-guest`, it arms a 100 ms watchdog and spins without ever trapping; with
//! `GUEST_MODE=fault-windows-tlb`, image `window-tlb-fault-guest`, it takes one failure of
//! `mmu_tests::WINDOW_TLB_FAULTS` per run: TLB misses and `cpu_myid` that the assembly fast
//! paths serve, from window or trap-level states the common path refuses), so
//! that the QEMU cases `fault-stop`, `fault-reset`, `fault-ignore`, `fault-watchdog` and
//! `fault-windows-tlb` can check what each failure policy does. A word in guest memory outside the image survives
//! the restart and tells the second run apart.

use hv_api::guest as hv;

/// Marks "the failure already happened" in the word at `base + size - 16 MiB`.
const MAGIC: u64 = 0xfa11_fa11_fa11_fa11;

fn mark(base: u64, size: u64) -> *mut u64 {
    (base + size - 0x100_0000) as *mut u64
}

/// Watchdog timeout of `GUEST_MODE=fault-watchdog`, in milliseconds.
#[cfg(guest_fault_watchdog)]
const WATCHDOG_MS: u64 = 100;

/// Marks the runs of `GUEST_MODE=fault-windows-tlb` in the word after the mark: this
/// value plus the number of failures taken so far.
#[cfg(guest_fault_windows_tlb)]
const RUNS_MAGIC: u64 = 0xfa11_0000_0000_0000;

/// `GUEST_MODE=fault-windows-tlb`: one failure of [`crate::mmu_tests::WINDOW_TLB_FAULTS`]
/// per run (failure policy reset restarts the guest after each; `mach_sir` after one the
/// hypervisor wrongly served), then exit.
#[cfg(guest_fault_windows_tlb)]
fn window_tlb_faults(base: u64, size: u64) -> ! {
    use crate::mmu_tests::WINDOW_TLB_FAULTS;
    let runs = mark(base, size).wrapping_add(1);
    // SAFETY: a word of our own memory that neither the image nor the stack uses.
    let done = match unsafe { core::ptr::read_volatile(runs) } {
        v if v & !0xff == RUNS_MAGIC => v & 0xff,
        _ => 0,
    };
    let total = WINDOW_TLB_FAULTS.len();
    let Some(f) = WINDOW_TLB_FAULTS.get(done as usize) else {
        // SAFETY: as above.
        unsafe { core::ptr::write_volatile(runs, 0) };
        say!("restarted after {total} failures (failure policy reset)");
        hv::mach_exit(0)
    };
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(runs, RUNS_MAGIC | (done + 1)) };
    say!("failing on purpose ({} of {total}): {}", done + 1, f.what);
    crate::mmu_tests::window_tlb_fault(base, size, f);
    // The hypervisor served what it must refuse: say so, and go on with the next failure
    // from a fresh start, so that one run shows every failure the hypervisor misses.
    say!("FAIL still running after failure {}", done + 1);
    hv::mach_sir()
}

/// Fails on purpose (see the module doc).
#[cfg_attr(not(guest_fault), allow(dead_code))]
pub fn run(base: u64, size: u64) -> ! {
    #[cfg(guest_fault_windows_tlb)]
    {
        window_tlb_faults(base, size)
    }
    #[cfg(not(guest_fault_windows_tlb))]
    one_failure(base, size)
}

/// The first run fails on purpose; a run after `reset` reports and exits.
#[cfg_attr(any(not(guest_fault), guest_fault_windows_tlb), allow(dead_code))]
fn one_failure(base: u64, size: u64) -> ! {
    let mark = mark(base, size);
    // SAFETY: a word of our own memory that neither the image nor the stack uses.
    unsafe {
        if core::ptr::read_volatile(mark) == MAGIC {
            core::ptr::write_volatile(mark, 0);
            #[cfg(guest_fault_watchdog)]
            say!("restarted after the watchdog reset (failure policy reset)");
            #[cfg(not(guest_fault_watchdog))]
            say!("restarted after the failure (failure policy reset)");
            hv::mach_exit(0);
        }
        core::ptr::write_volatile(mark, MAGIC);
    }
    #[cfg(guest_fault_tl2_miss)]
    {
        say!("failing on purpose: a data TLB miss at TL 2 with no TSB entry");
        crate::mmu_tests::miss_at_tl2(base, size);
    }
    #[cfg(guest_fault_watchdog)]
    {
        // mach_set_watchdog is Core 1.1.
        let granted = hv::api_set_version(hv_api::group::CORE, 1, 1);
        let armed = hv::mach_set_watchdog(WATCHDOG_MS);
        if granted != Ok(1) || armed != Ok(0) {
            say!("FAIL arming the watchdog: api_set_version(CORE, 1, 1) {granted:?}, mach_set_watchdog({WATCHDOG_MS}) {armed:?}");
            hv::mach_exit(1);
        }
        say!("failing on purpose: watchdog of {WATCHDOG_MS} ms armed, spinning without trapping");
        // SAFETY: a branch to itself: no trap, no hypercall, no memory access. Only the
        // watchdog gets the domain out of here.
        unsafe { core::arch::asm!("1: ba 1b", "nop", options(nostack)) };
    }
    #[cfg(not(any(guest_fault_windows, guest_fault_tl2_miss, guest_fault_watchdog, guest_fault_windows_tlb)))]
    {
        say!("failing on purpose: a trap at TL 2, which goes above MAXPTL");
        // SAFETY: the trap never returns here under any failure policy.
        unsafe { core::arch::asm!("wrpr %g0, 2, %tl", "ta 0x10", options(nostack)) };
    }
    #[cfg(guest_fault_windows)]
    {
        // cpu_yield goes to the Rust path; cpu_myid (`window-fast-fault-guest`) has an
        // assembly fast path, which must apply the same rule.
        #[cfg(not(guest_fault_windows_fast))]
        const FUNCTION: u64 = hv_api::hcall::CPU_YIELD;
        #[cfg(guest_fault_windows_fast)]
        const FUNCTION: u64 = hv_api::hcall::CPU_MYID;
        say!("failing on purpose: inconsistent register-window registers, then hypercall {FUNCTION:#x}");
        // SAFETY: as above; CANSAVE + CANRESTORE becomes 12, which V9 forbids.
        unsafe {
            core::arch::asm!("wrpr %g0, 6, %cansave", "wrpr %g0, 6, %canrestore", "mov {f}, %o5", "ta 0x80",
                f = const FUNCTION, out("o0") _, out("o1") _, out("o5") _, options(nostack))
        };
    }
    say!("FAIL still running after the failure");
    hv::mach_exit(1)
}

/// The watchdog-reset entry (RTBA + 0x40): failure policy `ignore`.
#[no_mangle]
extern "C" fn guest_after_watchdog(base: u64, size: u64) -> ! {
    // SAFETY: as in `run`.
    unsafe { core::ptr::write_volatile(mark(base, size), 0) };
    say!("watchdog reset received (failure policy ignore)");
    hv::mach_exit(0)
}
