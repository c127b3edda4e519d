//! Instruction-count benchmarks (built with `GUEST_MODE=bench`, run by `cargo xtask bench`
//! under QEMU `-icount shift=0,sleep=off`, where one instruction takes 1 ns of virtual
//! time and %tick counts at 100 MHz, i.e. one tick per 10 instructions).
//!
//! Each figure is `(ticks(loop with the operation) - ticks(same loop without it)) × 10 / N`:
//! the instructions one operation adds, guest trap instruction excluded, the hypervisor's
//! path and its `done`/`retry` included. Printed as `bench <name>: <instructions>`.
//! On a guest MD with more than one vCPU (tests/configs/bench-smp.toml) the hypercall
//! figures are followed by the SMP figures ([`crate::bench_smp`]) instead of the MMU ones;
//! on one with a channel endpoint (tests/configs/bench-ldc.toml) the guest measures the LDC
//! figures ([`crate::bench_ldc`]) only.

use crate::mmu_tests::{setup_bench_mmu, BenchPages};
use core::sync::atomic::Ordering;

const N: u64 = 20_000;

/// `%tick` (virtual time under -icount: 1 per 10 instructions of all strands).
pub(crate) fn tick() -> u64 {
    let t: u64;
    // SAFETY: reads %tick.
    unsafe { core::arch::asm!("rd %tick, {t}", t = out(reg) t, options(nostack, nomem)) };
    t & !(1 << 63)
}

fn report(name: &str, with: u64, without: u64, extra_guest: u64) {
    // Instructions × 100 per operation, to print two decimals without floating point.
    let centi = (with.saturating_sub(without)) * 10 * 100 / N;
    let centi = centi.saturating_sub(extra_guest * 100);
    say!("bench {name}: {}.{:02}", centi / 100, centi % 100);
}

#[inline(never)]
fn loop_hcall(n: u64) -> u64 {
    let t0 = tick();
    for _ in 0..n {
        // SAFETY: cpu_myid takes no arguments.
        unsafe {
            core::arch::asm!("mov 0x16, %o5", "ta 0x80", out("o0") _, out("o1") _, out("o5") _, options(nostack))
        };
    }
    tick() - t0
}

#[inline(never)]
fn loop_hcall_base(n: u64) -> u64 {
    let t0 = tick();
    for _ in 0..n {
        // SAFETY: the same instructions with the trap replaced by a nop.
        unsafe { core::arch::asm!("mov 0x16, %o5", "nop", out("o0") _, out("o1") _, out("o5") _, options(nostack)) };
    }
    tick() - t0
}

#[inline(never)]
fn loop_hcall_rust(n: u64) -> u64 {
    let t0 = tick();
    for _ in 0..n {
        // SAFETY: cpu_yield (no arguments), served by the Rust path.
        unsafe { core::arch::asm!("mov 0x12, %o5", "ta 0x80", out("o0") _, out("o5") _, options(nostack)) };
    }
    tick() - t0
}

#[inline(never)]
fn loop_hcall_rust_base(n: u64) -> u64 {
    let t0 = tick();
    for _ in 0..n {
        // SAFETY: as loop_hcall_rust without the trap.
        unsafe { core::arch::asm!("mov 0x12, %o5", "nop", out("o0") _, out("o5") _, options(nostack)) };
    }
    tick() - t0
}

/// Loads one word from each of `pages` 8K pages starting at `va`, `n` loads in all.
#[inline(never)]
fn loop_loads(va: u64, pages: u64, n: u64) -> u64 {
    let t0 = tick();
    let mut i = 0;
    while i < n {
        let p = va + ((i % pages) << 13);
        // SAFETY: the pages are mapped (or the miss is skipped by the trap handler).
        unsafe { core::ptr::read_volatile(p as *const u64) };
        i += 1;
    }
    tick() - t0
}

/// Calls a `retl; nop` stub at the start of each of `pages` 8K pages starting at `va`.
#[inline(never)]
fn loop_calls(va: u64, pages: u64, n: u64) -> u64 {
    let t0 = tick();
    let mut i = 0;
    while i < n {
        let p = va + ((i % pages) << 13);
        // SAFETY: every page maps the stub page.
        let f: extern "C" fn() -> u64 = unsafe { core::mem::transmute(p as usize) };
        core::hint::black_box(f());
        i += 1;
    }
    tick() - t0
}

pub fn run(base: u64, size: u64) -> ! {
    // Two domains joined by a channel (bench-ldc.toml, patched QEMU): the LDC figures only.
    if let Some(ep) = crate::bench_ldc::endpoint() {
        if crate::bench_ldc::run(ep).is_ok() {
            say!("bench done");
            hv_api::guest::mach_exit(0)
        }
    }
    let with = loop_hcall(N);
    let without = loop_hcall_base(N);
    report("hcall_null", with, without, 0);
    let with = loop_hcall_rust(N);
    let without = loop_hcall_rust_base(N);
    report("hcall_rust_path", with, without, 0);
    if crate::bench_smp::vcpus() > 1 {
        // The SMP configuration (bench-smp.toml, patched QEMU): the SMP figures only.
        crate::bench_smp::run();
        say!("bench done");
        hv_api::guest::mach_exit(0)
    }

    let pages: BenchPages = setup_bench_mmu(base, size);
    // 512 distinct pages in a row: each load misses the 64-entry TLB and hits the TSB.
    let with = loop_loads(pages.tsb_va, 512, N);
    let without = loop_loads(pages.tsb_va, 1, N);
    report("dtlb_miss_tsb_hit", with, without, 0);
    // Pages with no TSB entry: the hypervisor misses the TSB and revectors
    // data_access_MMU_miss; the guest's vector skips the load in 5 instructions.
    crate::rt::BENCH_SKIP_DMISS.store(1, Ordering::SeqCst);
    let with = loop_loads(pages.unmapped_va, 512, N);
    crate::rt::BENCH_SKIP_DMISS.store(0, Ordering::SeqCst);
    report("dtlb_miss_tsb_miss", with, without, 5);
    let with = loop_calls(pages.code_va, 512, N);
    let without = loop_calls(pages.code_va, 1, N);
    report("itlb_miss_tsb_hit", with, without, 0);
    say!("bench done");
    hv_api::guest::mach_exit(0)
}
