//! The benchmark's SMP figures (`GUEST_MODE=bench` on a guest MD with four vCPUs, run by
//! `cargo xtask bench` on the patched QEMU with `-smp 4 -icount shift=0,sleep=off`):
//! `mondo_send`, `mondo_receive` and `hcall_null_smp` (docs/performance.md, "SMP figures").
//!
//! Under `-icount` QEMU runs the strands one after the other on one host thread
//! (round-robin TCG), and `%tick` (virtual time) advances with the instructions of every
//! strand. Two things make it count one strand's instructions:
//! * **Turns.** Every strand gives up its time slice when it is done with a step, by
//!   writing `TICK_CMPR`: a timer that becomes QEMU's next deadline makes it leave the
//!   running vCPU. QEMU then gives the next strands a slice no longer than the time to that
//!   deadline, so vCPUs 1–3 arm it for the next nanosecond ([`yield_slice`]) and the boot
//!   vCPU 1.3 M instructions ahead ([`yield_far`]): after its yield the others get whole
//!   slices, after theirs the round starts again at the boot vCPU (after a slice of one
//!   instruction for the next one in line). A stretch of code between two `%tick` reads
//!   with no yield in it then runs alone, unless its slice ran out (or a timer run by
//!   QEMU's main loop kicked it): the other strands' progress counters tell, and such
//!   windows are dropped.
//! * **Subtraction.** The interrupt vector (0x60) of a mondo is taken by the target at the
//!   start of its turn, right after the sender's turn; the target measures the time from
//!   the end of its previous turn to the start of this one, and subtracts the sender's turn,
//!   which the sender measured itself. What is left is fixed code, plus, when a mondo came,
//!   the hypervisor's receive path and the guest's cpu_mondo handler (whose instructions
//!   are counted: it is straight-line code, entry.s).
//!
//! `%tick` counts 1 per 10 instructions; every window is preceded by a pseudo-random number
//! of 3-instruction steps, so that windows start at every phase of the tick and the means
//! of many windows count single instructions.

use crate::rt::Buffer;
use crate::smp::{StartBlock, MAX_VCPUS};
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use hv_api::error::EOK;
use hv_api::guest as hv;
use hv_api::{hcall, queue};

/// vCPUs the figures use: 0 (the boot vCPU: the sender, the measured strand) and 1–3.
const VCPUS: usize = 4;
/// Windows per figure (each with its baseline).
const SAMPLES: u64 = 2000;
/// Hypercalls per window in `hcall_null_smp`.
const CHUNK: u64 = 100;
/// Entries of each target's cpu mondo queue.
const QUEUE_ENTRIES: u64 = 8;
/// [`SPAN_A`] of a turn that did not run alone.
const INVALID: u64 = u64::MAX;

/// What the boot vCPU asks the others to do ([`CMD`]).
const CMD_TURNS: u64 = 0;
const CMD_RECEIVE: u64 = 1;
const CMD_HAMMER: u64 = 2;

/// One word on a 64-byte line of its own.
#[repr(C, align(64))]
struct Line(AtomicU64);

impl Line {
    const fn new() -> Self {
        Line(AtomicU64::new(0))
    }
    fn get(&self) -> u64 {
        self.0.load(SeqCst)
    }
    fn set(&self, v: u64) {
        self.0.store(v, SeqCst)
    }
    fn inc(&self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Command of each vCPU.
static CMD: [Line; VCPUS] = [const { Line::new() }; VCPUS];
/// Loop iterations of each vCPU (any command): it ran.
static PROGRESS: [Line; VCPUS] = [const { Line::new() }; VCPUS];
/// `cpu_qconf` status + 1 of each vCPU once it runs (0: not yet).
static READY: [Line; VCPUS] = [const { Line::new() }; VCPUS];
/// The command each vCPU runs now (so the boot vCPU knows it switched).
static RUNNING: [Line; VCPUS] = [const { Line::new() }; VCPUS];
/// The sender's turns in `mondo_receive`, and the ticks of the last one.
static A_TURNS: Line = Line::new();
static SPAN_A: Line = Line::new();
/// The target's `mondo_receive` sums: gaps with a mondo (sum, count), gaps without
/// (sum, count), gaps dropped, mondos that came at the wrong turn.
static RX: [Line; 8] = [const { Line::new() }; 8];

/// One cpu mondo queue, aligned to its size.
#[repr(C, align(512))]
struct QueueMem([AtomicU64; (QUEUE_ENTRIES * queue::ENTRY_SIZE / 8) as usize]);

static QUEUES: [QueueMem; VCPUS] = [const { QueueMem([const { AtomicU64::new(0) }; 64]) }; VCPUS];
static MONDO_DATA: Buffer<64> = Buffer::new();
static CPU_LIST: Buffer<64> = Buffer::new();

extern "C" {
    fn guest_bench_yield();
    fn guest_bench_yield_far();
    fn guest_set_pil(pil: u64);
    fn guest_set_interrupts(on: u64);
    static guest_bench_mondo_start: u8;
    static guest_bench_mondo_end: u8;
    static bench_mondo_count: [u64; 8 * MAX_VCPUS];
}

/// Ends this strand's time slice (module doc): vCPUs 1–3.
fn yield_slice() {
    // SAFETY: writes TICK_CMPR; the interrupt it raises is masked by PIL 15.
    unsafe { guest_bench_yield() }
}

/// Ends the boot vCPU's time slice so that the next strand gets a whole one (module doc).
fn yield_far() {
    // SAFETY: as yield_slice.
    unsafe { guest_bench_yield_far() }
}

/// cpu mondos vCPU `id`'s handler has taken.
fn mondos(id: usize) -> u64 {
    // SAFETY: the counters are words the cpu_mondo handler increments.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bench_mondo_count[8 * id])) }
}

/// Guest instructions of the benchmark's cpu_mondo handler: the trap table's branch and
/// the straight-line handler.
fn handler_instructions() -> u64 {
    // Addresses of two labels in entry.s.
    let (start, end) =
        (core::ptr::addr_of!(guest_bench_mondo_start) as u64, core::ptr::addr_of!(guest_bench_mondo_end) as u64);
    1 + (end - start) / 4
}

/// A pseudo-random number of 3-instruction steps (1 to 32) before a window.
fn pad(state: &mut u64) {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let n = (*state >> 59) as i64;
    // SAFETY: a counting loop on one register.
    unsafe {
        core::arch::asm!("2: subcc {n}, 1, {n}", "bge,pt %xcc, 2b", "nop", n = inout(reg) n => _, options(nostack, nomem))
    };
}

/// Sum of the other vCPUs' progress counters.
fn others_progress() -> u64 {
    PROGRESS[1..].iter().map(Line::get).sum()
}

/// `cpu_mondo_send(k, list, data)` (`real`) or the same instructions with a `nop` in place
/// of the trap, between two `%tick` reads; (status, ticks).
#[inline(always)]
fn send_window(k: u64, list: u64, data: u64, real: bool) -> (u64, u64) {
    let (t0, t1, status): (u64, u64, u64);
    // SAFETY: list and data are this guest's buffers; the call only writes the list.
    unsafe {
        if real {
            core::arch::asm!("rd %tick, {t0}", "mov {f}, %o5", "ta 0x80", "rd %tick, {t1}",
                t0 = out(reg) t0, t1 = out(reg) t1, f = const hcall::CPU_MONDO_SEND,
                inout("o0") k => status, inout("o1") list => _, inout("o2") data => _,
                out("o3") _, out("o4") _, out("o5") _, options(nostack))
        } else {
            core::arch::asm!("rd %tick, {t0}", "mov {f}, %o5", "nop", "rd %tick, {t1}",
                t0 = out(reg) t0, t1 = out(reg) t1, f = const hcall::CPU_MONDO_SEND,
                inout("o0") k => status, inout("o1") list => _, inout("o2") data => _,
                out("o3") _, out("o4") _, out("o5") _, options(nostack))
        }
    }
    (status, (t1 & !(1 << 63)).wrapping_sub(t0 & !(1 << 63)))
}

/// [`CHUNK`] `cpu_myid` calls (`real`) or the same loop with a `nop` in place of the trap,
/// between two `%tick` reads; the ticks.
#[inline(always)]
fn hcall_window(real: bool) -> u64 {
    let (t0, t1): (u64, u64);
    // SAFETY: cpu_myid takes no arguments.
    unsafe {
        if real {
            core::arch::asm!("rd %tick, {t0}", "2: mov {f}, %o5", "ta 0x80", "subcc {n}, 1, {n}", "bne,pt %xcc, 2b",
                "nop", "rd %tick, {t1}", t0 = out(reg) t0, t1 = out(reg) t1, n = inout(reg) CHUNK => _,
                f = const hcall::CPU_MYID, out("o0") _, out("o1") _, out("o5") _, options(nostack))
        } else {
            core::arch::asm!("rd %tick, {t0}", "2: mov {f}, %o5", "nop", "subcc {n}, 1, {n}", "bne,pt %xcc, 2b",
                "nop", "rd %tick, {t1}", t0 = out(reg) t0, t1 = out(reg) t1, n = inout(reg) CHUNK => _,
                f = const hcall::CPU_MYID, out("o0") _, out("o1") _, out("o5") _, options(nostack))
        }
    }
    (t1 & !(1 << 63)).wrapping_sub(t0 & !(1 << 63))
}

/// Sums of windows: (sum of ticks, windows). Also the LDC figures' (bench_ldc.rs).
#[derive(Default, Clone, Copy)]
pub(crate) struct Sum(pub(crate) u64, pub(crate) u64);

impl Sum {
    pub(crate) fn add(&mut self, ticks: u64) {
        self.0 += ticks;
        self.1 += 1;
    }
    /// Mean in hundredths of an instruction (10 instructions per tick).
    pub(crate) fn centi(self) -> i64 {
        (self.0 * 1000).checked_div(self.1).unwrap_or(0) as i64
    }
}

/// Prints `bench <name>: <centi / 100>` with two decimals (signed).
pub(crate) fn report(name: &str, centi: i64) {
    let sign = if centi < 0 { "-" } else { "" };
    let c = centi.unsigned_abs();
    say!("bench {name}: {sign}{}.{:02}", c / 100, c % 100);
}

// ----- the other vCPUs -----

/// A started vCPU's Rust entry (from `guest_secondary_start`, entry.s): PIL 15 (the yields'
/// timer interrupt stays pending), its cpu mondo queue, PSTATE.IE = 1, then the commands.
#[no_mangle]
extern "C" fn smp_secondary_entry(arg: u64, _tl: u64, _pil: u64, _pstate: u64) -> ! {
    // SAFETY: cpu_start's argument is the real address of a StartBlock (MMU off).
    let block = unsafe { &*(arg as *const StartBlock) };
    let id = block.id.load(SeqCst) as usize;
    // SAFETY: the cpu_mondo handler is in the trap table; interrupts stay masked by PIL.
    unsafe { guest_set_pil(15) };
    let q = QUEUES[id].0.as_ptr() as u64;
    // SAFETY: cpu_qconf of this vCPU's own queue memory.
    let (s, _) = unsafe { hv::fast_trap(hcall::CPU_QCONF, [queue::CPU_MONDO, q, QUEUE_ENTRIES, 0, 0]) };
    // SAFETY: as above.
    unsafe { guest_set_interrupts(1) };
    READY[id].set(s + 1);
    loop {
        let cmd = CMD[id].get();
        RUNNING[id].set(cmd);
        match cmd {
            CMD_RECEIVE => receive(id),
            CMD_HAMMER => hammer(id),
            _ => {
                PROGRESS[id].inc();
                yield_slice();
            }
        }
    }
}

/// `mondo_receive`'s target: one turn per yield. At the start of each turn it takes the gap
/// since the end of its last turn minus the sender's turn in between (the sender ran
/// exactly one whole turn: [`A_TURNS`] moved by one and [`SPAN_A`] is valid), and adds it
/// to the sums with a mondo (its handler ran once since) or without.
fn receive(id: usize) {
    let mut b_end = 0u64;
    let mut last_a = u64::MAX;
    let mut last_count = mondos(id);
    loop {
        let b_start = crate::bench::tick();
        let a = A_TURNS.get();
        let span = SPAN_A.get();
        let count = mondos(id);
        if a == last_a.wrapping_add(1) && span != INVALID {
            let gap = b_start.wrapping_sub(b_end).wrapping_sub(span);
            // The sender sends in its even turns (a - 1 even).
            let sent = a.wrapping_sub(1).is_multiple_of(2);
            match (count - last_count, sent) {
                (1, true) => {
                    RX[0].0.fetch_add(gap, SeqCst);
                    RX[1].inc();
                    RX[6].0.fetch_add(span, SeqCst);
                }
                (0, false) => {
                    RX[2].0.fetch_add(gap, SeqCst);
                    RX[3].inc();
                    RX[7].0.fetch_add(span, SeqCst);
                }
                _ => RX[5].inc(),
            }
        } else {
            RX[4].inc();
        }
        last_a = a;
        last_count = count;
        PROGRESS[id].inc();
        if CMD[id].get() != CMD_RECEIVE {
            return;
        }
        b_end = crate::bench::tick();
        yield_slice();
    }
}

/// `hcall_null_smp`'s other strands: cpu_myid (assembly fast path) and cpu_yield (Rust
/// path) in a loop, a yield every 8 pairs.
fn hammer(id: usize) {
    loop {
        for _ in 0..8 {
            let _ = hv::cpu_myid();
            let _ = hv::cpu_yield();
            PROGRESS[id].inc();
        }
        if CMD[id].get() != CMD_HAMMER {
            return;
        }
        yield_slice();
    }
}

// ----- the boot vCPU -----

/// Sets every other vCPU's command and waits (in turns) until each runs it.
fn command(cmd: u64) {
    for c in &CMD[1..] {
        c.set(cmd);
    }
    while RUNNING[1..].iter().any(|r| r.get() != cmd) {
        yield_far();
    }
}

/// Starts vCPUs 2 and 3 (1 runs already) and waits for them; false (with a line saying
/// why) if they do not run.
fn start_others() -> bool {
    for id in 2..VCPUS as u64 {
        let s = crate::smp::start(id, 0);
        if s != EOK {
            say!("bench-info smp: cpu_start({id}) answered {s}; no SMP figures");
            return false;
        }
    }
    let end = crate::bench::tick() + 20 * 100_000_000;
    while READY[1..].iter().any(|r| r.get() == 0) {
        if crate::bench::tick() > end {
            say!("bench-info smp: vCPUs 1-3 did not check in; no SMP figures");
            return false;
        }
        yield_far();
    }
    if let Some(r) = READY[1..].iter().find(|r| r.get() != EOK + 1) {
        say!("bench-info smp: cpu_qconf answered {}; no SMP figures", r.get() - 1);
        return false;
    }
    true
}

/// Writes the cpu list (the targets' ids, as u16) for a send to `targets`; its RA.
fn fill_list(targets: &[u64]) -> u64 {
    for (i, t) in targets.iter().enumerate() {
        CPU_LIST.bytes_mut()[i * 2..i * 2 + 2].copy_from_slice(&(*t as u16).to_be_bytes());
    }
    CPU_LIST.ra()
}

/// `mondo_send` to `targets`: (mean of the send windows − mean of the baseline windows) in
/// hundredths of an instruction, windows kept, windows dropped.
fn mondo_send(targets: &[u64], rng: &mut u64) -> (i64, u64, u64) {
    let (mut with, mut without, mut dropped) = (Sum::default(), Sum::default(), 0);
    let mut expected: [u64; VCPUS] = core::array::from_fn(mondos);
    let data = MONDO_DATA.ra();
    let k = targets.len() as u64;
    let mut turns = 0;
    while with.1 < SAMPLES && turns < 4 * SAMPLES {
        turns += 1;
        if targets.iter().all(|&t| mondos(t as usize) == expected[t as usize]) {
            let list = fill_list(targets);
            pad(rng);
            let p0 = others_progress();
            let (s, ticks) = send_window(k, list, data, true);
            let p1 = others_progress();
            if s == EOK {
                for &t in targets {
                    expected[t as usize] += 1;
                }
            }
            if s == EOK && p0 == p1 {
                with.add(ticks);
            } else {
                dropped += 1;
            }
        }
        let list = fill_list(targets);
        pad(rng);
        let p0 = others_progress();
        let (_, ticks) = send_window(k, list, data, false);
        if p0 == others_progress() {
            without.add(ticks);
        } else {
            dropped += 1;
        }
        yield_far();
    }
    (with.centi() - without.centi(), with.1, dropped)
}

/// `mondo_receive` with vCPU 1 as the target: the sender's turns (module doc).
fn mondo_receive(rng: &mut u64) {
    for r in &RX {
        r.set(0);
    }
    A_TURNS.set(0);
    SPAN_A.set(INVALID);
    // Only vCPUs 0 and 1 take turns: 2 and 3 are not started yet.
    CMD[1].set(CMD_RECEIVE);
    while RUNNING[1].get() != CMD_RECEIVE {
        yield_far();
    }
    let list = fill_list(&[1]);
    let data = MONDO_DATA.ra();
    let mut j = 0u64;
    let mut failed_sends = 0;
    while (RX[1].get() < SAMPLES || RX[3].get() < SAMPLES) && j < 6 * SAMPLES {
        let b0 = PROGRESS[1].get();
        let a_start = crate::bench::tick();
        pad(rng);
        let s = if j.is_multiple_of(2) {
            CPU_LIST.bytes_mut()[..2].copy_from_slice(&1u16.to_be_bytes());
            // SAFETY: our buffers.
            unsafe { hv::fast_trap(hcall::CPU_MONDO_SEND, [1, list, data, 0, 0]).0 }
        } else {
            EOK
        };
        let b1 = PROGRESS[1].get();
        let a_end = crate::bench::tick();
        if s != EOK {
            failed_sends += 1;
        }
        SPAN_A.set(if b0 == b1 && s == EOK { a_end - a_start } else { INVALID });
        A_TURNS.inc();
        j += 1;
        yield_far();
    }
    CMD[1].set(CMD_TURNS);
    while RUNNING[1].get() != CMD_TURNS {
        yield_far();
    }
    let with = Sum(RX[0].get(), RX[1].get());
    let without = Sum(RX[2].get(), RX[3].get());
    let h = handler_instructions() as i64;
    say!(
        "bench-info mondo_receive: vCPU 0's turn {} with a mondo sent, {} without (centi-instructions)",
        Sum(RX[6].get(), RX[1].get()).centi(),
        Sum(RX[7].get(), RX[3].get()).centi()
    );
    report("mondo_receive", with.centi() - without.centi() - 100 * h);
    say!(
        "bench-info mondo_receive: {} gaps with a mondo, {} without, {} dropped, {} mondos at an unexpected turn, {} failed sends, handler {} instructions",
        with.1,
        without.1,
        RX[4].get(),
        RX[5].get(),
        failed_sends,
        h
    );
}

/// `hcall_null_smp`: windows of [`CHUNK`] cpu_myid calls on this strand while vCPUs 1–3
/// hammer hypercalls, against the same windows with `nop`s.
fn hcall_null_smp(rng: &mut u64) {
    command(CMD_HAMMER);
    let (mut with, mut without) = (Sum::default(), Sum::default());
    let (mut dropped_with, mut dropped_without) = (0, 0);
    let mut turns = 0;
    while (with.1 < SAMPLES || without.1 < SAMPLES) && turns < 4 * SAMPLES {
        turns += 1;
        pad(rng);
        let p0 = others_progress();
        let t = hcall_window(true);
        if p0 == others_progress() {
            with.add(t);
        } else {
            dropped_with += 1;
        }
        pad(rng);
        let p0 = others_progress();
        let t = hcall_window(false);
        if p0 == others_progress() {
            without.add(t);
        } else {
            dropped_without += 1;
        }
        yield_far();
    }
    command(CMD_TURNS);
    report("hcall_null_smp", (with.centi() - without.centi()) / CHUNK as i64);
    say!(
        "bench-info hcall_null_smp: {} windows of {CHUNK} calls ({dropped_with} dropped), {} baseline ({dropped_without} dropped)",
        with.1,
        without.1
    );
}

/// The number of vCPUs in the guest MD (1 when it cannot be read).
pub fn vcpus() -> usize {
    let mut ids = [0; MAX_VCPUS];
    crate::smp::md_vcpus(&mut ids).unwrap_or(1)
}

/// Runs the SMP figures (vCPU 0 is the caller; the MD lists vCPUs 0–3).
pub fn run() {
    // SAFETY: PIL 15: the yields' timer interrupt stays pending (this vCPU keeps
    // PSTATE.IE as it is).
    unsafe { guest_set_pil(15) };
    let mut rng = 0x5eed_0000_0001u64;
    let words: [u64; 8] = core::array::from_fn(|i| 0x6d6f_6e64_6f00_0000 | i as u64);
    for (i, w) in words.iter().enumerate() {
        MONDO_DATA.bytes_mut()[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
    }
    // vCPU 1 alone first (2 and 3 must not take turns during mondo_receive).
    let s = crate::smp::start(1, 0);
    if s != EOK {
        say!("bench-info smp: cpu_start(1) answered {s}; no SMP figures");
        return;
    }
    while READY[1].get() == 0 {
        yield_far();
    }
    mondo_receive(&mut rng);
    if !start_others() {
        return;
    }
    command(CMD_TURNS);
    let (one, n1, d1) = mondo_send(&[1], &mut rng);
    let (three, n3, d3) = mondo_send(&[1, 2, 3], &mut rng);
    report("mondo_send", (three - one) / 2);
    report("mondo_send_1", one);
    report("mondo_send_3", three);
    say!("bench-info mondo_send: {n1} sends to 1 target ({d1} windows dropped), {n3} to 3 ({d3} dropped)");
    hcall_null_smp(&mut rng);
}
