//! The failing guest (`GUEST_MODE=fault`, image `fault-guest`): it takes a trap above
//! MAXPTL on purpose (with `GUEST_MODE=fault-windows`, image `window-fault-guest`, it breaks
//! its register-window registers and makes a hypercall instead; with
//! `GUEST_MODE=fault-tl2-miss`, image `tl2-miss-fault-guest`, it takes a data TLB miss at
//! TL 2 that the guest could only take at TL 3; with `GUEST_MODE=fault-watchdog`, image
//! `watchdog-fault-guest`, it arms a 100 ms watchdog and spins without ever trapping), so
//! that the QEMU cases `fault-stop`, `fault-reset`, `fault-ignore` and `fault-watchdog` can
//! check what each failure policy does. A word in guest memory outside the image survives
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

/// The first run fails on purpose; a run after `reset` reports and exits.
#[cfg_attr(not(guest_fault), allow(dead_code))]
pub fn run(base: u64, size: u64) -> ! {
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
    #[cfg(not(any(guest_fault_windows, guest_fault_tl2_miss, guest_fault_watchdog)))]
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
