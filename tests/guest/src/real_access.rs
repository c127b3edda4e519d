//! Real accesses outside the domain (`ra2pa-guest` only, `GUEST_MODE=ra2pa`): with the MMU
//! off, and through `ASI_REAL`, a store to and a load from a real address just past the end
//! of our memory and one in the hypervisor's RAM must each take the guest's own
//! data_access_error (tt 0x32), and the store must not land.
//!
//! Only where the hypervisor translates real addresses (the patched QEMU with
//! `-machine ra2pa=on`): on the stock QEMU real = physical, and these stores would really
//! write another domain's memory or the hypervisor's. The guest cannot tell which machine it
//! runs on, so the gate is the image: the configurations that name `ra2pa-guest` run only on
//! the patched QEMU (tests/configs/two-domains-same-ra.toml has a domain whose realbase
//! differs from its base, which the hypervisor refuses at boot on the stock QEMU, before any
//! guest runs).
//!
//! "Did not land": the address past our end is chosen so that, were real = physical, it
//! would hit [`CANARY`] of the domain that lives right after ours, or our own [`CANARY`] when
//! our memory lives at its realbase + size (domain 1 of two-domains-same-ra: realbase
//! 0x80000000, base 0x90000000). Every such domain runs this same image, so [`CANARY`] is at
//! the same offset in each; each checks its own right after its stores and again at the end
//! of its run ([`canary_at_end`]).

use crate::rt::{check, LAST_TT, TRAP_COUNT};
use core::sync::atomic::{AtomicU64, Ordering};
use hv_api::trap::tt::DATA_ACCESS_ERROR;

/// The hypervisor's RAM on QEMU niagara starts here (qemu-niagara.md: "sun4v-hv.ram" at
/// PA 0x100000): never part of a domain.
const HV_RAM: u64 = 0x10_0000;
/// What [`CANARY`] holds; nobody writes it.
const CANARY_VALUE: u64 = 0x5a5a_c0de_5a5a_c0de;
/// What the stores outside the domain try to write.
const INTRUDER: u64 = 0xbad0_bad0_bad0_bad0;

/// A word the stores past our memory aim at through the real = physical alias.
static CANARY: AtomicU64 = AtomicU64::new(CANARY_VALUE);

/// `ASI_REAL` (0x14): a real address whatever the MMU does.
fn store_real(ra: u64, v: u64) {
    // SAFETY: an ASI_REAL store outside our memory: it traps (data_access_error) and the
    // handler skips it.
    unsafe { core::arch::asm!("stxa {v}, [{a}] 0x14", a = in(reg) ra, v = in(reg) v, options(nostack)) };
}

fn load_real(ra: u64) -> u64 {
    let v: u64;
    // SAFETY: as store_real; the skipped load leaves the register as it was (0).
    unsafe { core::arch::asm!("mov 0, {v}", "ldxa [{a}] 0x14, {v}", a = in(reg) ra, v = out(reg) v, options(nostack)) };
    v
}

/// Runs `access` and checks it took exactly one trap, a data_access_error.
fn expect_access_error(name: &str, access: impl FnOnce()) {
    let before = TRAP_COUNT.load(Ordering::SeqCst);
    LAST_TT.store(0, Ordering::SeqCst);
    access();
    let traps = TRAP_COUNT.load(Ordering::SeqCst) - before;
    let tt = LAST_TT.load(Ordering::SeqCst);
    check(
        name,
        traps == 1 && tt == DATA_ACCESS_ERROR,
        format_args!("{traps} traps, last tt {tt:#x}; expected one data_access_error (0x32)"),
    );
}

/// The tests, with the MMU off (memory `base`..`base + size` is ours).
pub fn run(base: u64, size: u64) {
    let canary = core::ptr::addr_of!(CANARY) as u64;
    let past_end = base + size + (canary - base);
    for (what, ra) in [("past our memory", past_end), ("in the hypervisor's RAM", HV_RAM)] {
        let names = match what {
            "past our memory" => [
                "real store past our memory: data access error",
                "real load past our memory: data access error",
                "ASI_REAL store past our memory: data access error",
                "ASI_REAL load past our memory: data access error",
            ],
            _ => [
                "real store to the hypervisor's RAM: data access error",
                "real load from the hypervisor's RAM: data access error",
                "ASI_REAL store to the hypervisor's RAM: data access error",
                "ASI_REAL load from the hypervisor's RAM: data access error",
            ],
        };
        // SAFETY: the store traps and the handler skips it.
        expect_access_error(names[0], || unsafe { core::ptr::write_volatile(ra as *mut u64, INTRUDER) });
        // SAFETY: as above.
        expect_access_error(names[1], || {
            let _ = unsafe { core::ptr::read_volatile(ra as *const u64) };
        });
        expect_access_error(names[2], || store_real(ra, INTRUDER));
        let mut got = u64::MAX;
        expect_access_error(names[3], || got = load_real(ra));
        check_eq!("a real load outside our memory reads nothing", got, 0);
    }
    check_eq!("real stores past our memory did not land", CANARY.load(Ordering::SeqCst), CANARY_VALUE);
}

/// At the end of the run: no other domain's store past its memory landed in ours.
pub fn canary_at_end() {
    check_eq!("no real store of another domain landed in our memory", CANARY.load(Ordering::SeqCst), CANARY_VALUE);
}
