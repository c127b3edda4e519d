//! The benchmark's LDC figures (`GUEST_MODE=bench` on a guest MD with a channel endpoint:
//! tests/configs/bench-ldc.toml, two domains of one vCPU each joined by one channel, run by
//! `cargo xtask bench` on the patched QEMU with `-smp 2 -icount shift=0,sleep=off`):
//! `ldc_send`, `ldc_copy_per_kib` and the guest's own copy, `guest_copy_1kib`
//! (docs/performance.md, "LDC figures").
//!
//! The end with channel id 0 is the **sender** (it measures and prints), the end with id 1
//! the **receiver**. They share no memory: each exports one status page through its map
//! table (entry 0, copy-in and copy-out allowed) and reads the other's with `ldc_copy`,
//! always outside the measured stretches or inside one whose length is measured and
//! subtracted. The receiver also exports an 8 KiB data page (entry 1), which the sender
//! copies from and into.
//!
//! The strands take turns as in [`crate::bench_smp`] (module doc there): the sender yields
//! with [`yield_far`] (the boot vCPU's yield there), the receiver with [`yield_slice`], so
//! they alternate, and a stretch without a yield runs alone unless its slice ran out;
//! the other strand's progress counter tells, and such windows are dropped.
//!
//! * `ldc_copy_per_kib`: on the sender, `ldc_copy` (COPY_IN) of 8 KiB and of 1 KiB from the
//!   receiver's data page, each between two `%tick` reads: (8 KiB − 1 KiB) / 7, so that the
//!   call's fixed costs cancel; `ldc_copy_out_per_kib` the same COPY_OUT.
//!   `guest_copy_1kib`: the guest's own copy, an 8-byte `ldx`/`stx` loop of four
//!   instructions a word, the same (8 KiB − 1 KiB) / 7.
//! * `ldc_send` = `ldc_send_tx` + `ldc_send_rx`: the hypervisor instructions on both strands
//!   to move one 64-byte packet. `ldc_send_tx`: on the sender, `ldc_tx_set_qtail` of one
//!   packet between two `%tick` reads against the same instructions with a `nop` in place
//!   of `ta 0x80`, sent only when the receiver has taken the previous packet and set its rx
//!   interrupt IDLE again (so every send raises it and asks the receiver's strand to deliver
//!   it). `ldc_send_rx`: on the receiver, the vector trap (0x60) that the sender's send asks
//!   for, the hypervisor writing the interrupt's cookie into the device mondo queue, and the
//!   guest's dev_mondo trap (0x7d) it raises; measured as `mondo_receive` is: the receiver
//!   takes the interrupt at the start of its next turn, right after the sender's; it
//!   measures the gap from the end of its turn to the start of the next and subtracts the
//!   sender's turn, which the sender measured and left on its status page. Mean gap with a
//!   packet − mean gap without − the handler's own instructions (entry.s) is the figure.
//!   Everything the two guests do outside their measured stretches is the same with and
//!   without a packet (stores of values computed before the `%tick` read, no branches).

use crate::bench_smp::{report, Sum};
use crate::rt::Buffer;
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use hv_api::error::EOK;
use hv_api::guest as hv;
use hv_api::ldc::{Mte, COPY_IN, COPY_OUT, PACKET_SIZE};
use hv_api::mmu::PageSize;
use hv_api::{group, hcall, queue};

/// Windows of each kind in `ldc_send` (with a packet, without).
const SAMPLES: u64 = 2000;
/// Rounds of the copy windows (each: the six windows).
const COPY_SAMPLES: u64 = 300;
/// Entries of each LDC queue and of the device mondo queue.
const QUEUE_ENTRIES: u64 = 8;
/// Bytes of an LDC queue.
const QUEUE_BYTES: u64 = QUEUE_ENTRIES * PACKET_SIZE as u64;
/// A span of a turn that did not run alone.
const INVALID: u64 = u64::MAX;
/// Word 0 of a status page once its guest is set up.
const MAGIC: u64 = 0x6c64_6362_656e_6368;
/// The rx interrupt's cookie (word 0 of the device mondo).
const COOKIE: u64 = 0x1dc0_0c1e;
/// Virtual time the guests wait for each other at the start (ticks: 20 s).
const START_WAIT: u64 = 20 * 100_000_000;
/// Channel ids: the sender's end and the receiver's.
const SENDER_ID: u64 = 0;
const RECEIVER_ID: u64 = 1;

/// Words of the sender's status page.
mod s {
    /// (Word 0 is [`super::MAGIC`], as on the receiver's.)
    /// What the receiver is to do ([`super::cmd`]).
    pub const CMD: usize = 1;
    /// The sender's turns in `ldc_send`.
    pub const TURNS: usize = 2;
    /// The ticks of the last one, or INVALID.
    pub const SPAN: usize = 3;
    /// 1 when it sent a packet.
    pub const SENT: usize = 4;
    /// Words the receiver reads.
    pub const WORDS: usize = 8;
}

/// Words of the receiver's status page.
mod r {
    pub const MAGIC: usize = 0;
    /// The command it runs.
    pub const RUNNING: usize = 1;
    /// Its turns.
    pub const PROGRESS: usize = 2;
    /// Packets it took (its rx interrupt IDLE again after each).
    pub const HANDLED: usize = 3;
    /// Gaps with a packet: sum of ticks, count; without: sum, count.
    pub const WITH_SUM: usize = 4;
    pub const WITH_N: usize = 5;
    pub const WITHOUT_SUM: usize = 6;
    pub const WITHOUT_N: usize = 7;
    /// Gaps dropped (not exactly one whole sender turn in them).
    pub const DROPPED: usize = 8;
    /// Gaps with a packet when none was sent, or none when one was.
    pub const UNEXPECTED: usize = 9;
    /// Packets out of sequence, failed calls.
    pub const BAD: usize = 10;
    /// Its dev_mondo handler's instructions.
    pub const HANDLER: usize = 11;
    /// The sender's turns (in the gaps kept) with a packet, sum of ticks; without.
    pub const SPAN_WITH: usize = 12;
    pub const SPAN_WITHOUT: usize = 13;
    /// Words the sender reads.
    pub const WORDS: usize = 16;
}

/// Commands of the sender to the receiver.
mod cmd {
    /// Take turns.
    pub const TURNS: u64 = 1;
    /// `ldc_send`'s receiver.
    pub const RECEIVE: u64 = 2;
    /// Leave.
    pub const EXIT: u64 = 3;
}

/// An 8 KiB page of words, aligned to its size (exported through the map table).
#[repr(C, align(8192))]
struct Page([AtomicU64; 1024]);

impl Page {
    const fn new() -> Self {
        Page([const { AtomicU64::new(0) }; 1024])
    }
    fn ra(&self) -> u64 {
        self.0.as_ptr() as u64
    }
    fn get(&self, i: usize) -> u64 {
        self.0[i].load(SeqCst)
    }
    fn set(&self, i: usize, v: u64) {
        self.0[i].store(v, SeqCst)
    }
    fn add(&self, i: usize, v: u64) {
        self.0[i].fetch_add(v, SeqCst);
    }
}

/// An LDC queue or the device mondo queue: [`QUEUE_ENTRIES`] entries, aligned to its size.
#[repr(C, align(512))]
struct QueueMem([AtomicU64; (QUEUE_BYTES / 8) as usize]);

impl QueueMem {
    const fn new() -> Self {
        QueueMem([const { AtomicU64::new(0) }; (QUEUE_BYTES / 8) as usize])
    }
    fn ra(&self) -> u64 {
        self.0.as_ptr() as u64
    }
}

/// The map table: two entries (MTE, revoke cookie), 64-byte aligned.
#[repr(C, align(64))]
struct MapTable([AtomicU64; 4]);

static STATUS: Page = Page::new();
static DATA: Page = Page::new();
/// The sender's side of the copies, and the guest copy's source and destination.
static LOCAL: Page = Page::new();
static COPY_SRC: Page = Page::new();
static COPY_DST: Page = Page::new();
/// The peer's status words, as `ldc_copy` brought them.
static PEER: Page = Page::new();
static TXQ: QueueMem = QueueMem::new();
static RXQ: QueueMem = QueueMem::new();
static DEVQ: QueueMem = QueueMem::new();
static MAP_TABLE: MapTable = MapTable([const { AtomicU64::new(0) }; 4]);
static MD: Buffer<32768> = Buffer::new();

extern "C" {
    fn guest_bench_yield();
    fn guest_bench_yield_far();
    fn guest_set_pil(pil: u64);
    fn guest_set_interrupts(on: u64);
    static guest_bench_dev_mondo_start: u8;
    static guest_bench_dev_mondo_end: u8;
    static bench_dev_mondo_count: u64;
}

/// This guest's channel endpoint, from its MD.
#[derive(Clone, Copy)]
pub struct Endpoint {
    /// Channel id.
    id: u64,
    /// `cfg-handle` of `channel-devices`.
    devhandle: u64,
    /// `rx-ino`.
    rx_ino: u64,
}

/// The guest MD's first channel endpoint, if it has one with the id of the sender or the
/// receiver (bench-ldc.toml).
pub fn endpoint() -> Option<Endpoint> {
    let md = crate::rt::read_guest_md(&MD).ok()?;
    let devhandle = md.nodes_named("channel-devices").next()?.val("cfg-handle")?;
    let ep = md.nodes_named("channel-endpoint").next()?;
    let e = Endpoint { id: ep.val("id")?, devhandle, rx_ino: ep.val("rx-ino")? };
    (e.id == SENDER_ID || e.id == RECEIVER_ID).then_some(e)
}

/// `%tick` (virtual time: 1 per 10 instructions of both strands); a compiler barrier.
fn tick() -> u64 {
    let t: u64;
    // SAFETY: reads %tick.
    unsafe { core::arch::asm!("rd %tick, {t}", t = out(reg) t, options(nostack)) };
    t & !(1 << 63)
}

/// Ends the receiver's time slice (bench_smp.rs, "Turns").
fn yield_slice() {
    // SAFETY: writes TICK_CMPR; the interrupt it raises is masked by PIL 15.
    unsafe { guest_bench_yield() }
}

/// Ends the sender's time slice so that the receiver gets a whole one.
fn yield_far() {
    // SAFETY: as yield_slice.
    unsafe { guest_bench_yield_far() }
}

/// dev_mondo traps the benchmark's handler took.
fn dev_mondos() -> u64 {
    // SAFETY: a word the dev_mondo handler increments.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bench_dev_mondo_count)) }
}

/// Guest instructions of the benchmark's dev_mondo handler: the trap table's branch and the
/// straight-line handler.
fn handler_instructions() -> u64 {
    let (start, end) = (
        core::ptr::addr_of!(guest_bench_dev_mondo_start) as u64,
        core::ptr::addr_of!(guest_bench_dev_mondo_end) as u64,
    );
    1 + (end - start) / 4
}

/// A pseudo-random number of 3-instruction steps (1 to 32) before a window
/// (bench_smp.rs).
fn pad(state: &mut u64) {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let n = (*state >> 59) as i64;
    // SAFETY: a counting loop on one register.
    unsafe {
        core::arch::asm!("2: subcc {n}, 1, {n}", "bge,pt %xcc, 2b", "nop", n = inout(reg) n => _, options(nostack, nomem))
    };
}

/// A hypercall with five arguments; (status, results).
fn call(function: u64, args: [u64; 5]) -> (u64, [u64; 4]) {
    // SAFETY: used with LDC and vintr calls whose addresses are this guest's statics.
    unsafe { hv::fast_trap(function, args) }
}

/// The cookie of byte 0 of map-table entry `index` (8 KiB pages).
fn cookie(index: u64) -> u64 {
    index << 13
}

/// The peer's first `n` status words (its entry 0 through `ldc_copy`), or `None`.
fn peer(channel: u64, n: usize) -> Option<[u64; r::WORDS]> {
    let bytes = (n * 8) as u64;
    let (s, ret) = call(hcall::LDC_COPY, [channel, COPY_IN, cookie(0), PEER.ra(), bytes]);
    if s != EOK || ret[0] != bytes {
        return None;
    }
    let mut w = [0; r::WORDS];
    for (i, v) in w.iter_mut().enumerate().take(n) {
        *v = PEER.get(i);
    }
    (w[0] == MAGIC).then_some(w)
}

/// Sets up this guest's end: LDOM 1.0 and INTR 1.0, both queues, the map table
/// exporting the status page (entry 0) and the data page (entry 1); on the receiver the
/// device mondo queue and the rx interrupt (valid, IDLE, at vCPU 0). Err: what failed.
fn set_up(ep: Endpoint) -> Result<(), &'static str> {
    let ch = ep.id;
    hv::api_set_version(group::LDOM, 1, 0).map_err(|_| "api_set_version(LDOM, 1, 0) refused")?;
    hv::api_set_version(group::INTR, 1, 0).map_err(|_| "api_set_version(INTR, 1, 0) refused")?;
    let perms = Mte::CPR | Mte::CPW;
    MAP_TABLE.0[0].store(Mte::new(STATUS.ra(), PageSize::Size8K, perms).0, SeqCst);
    MAP_TABLE.0[2].store(Mte::new(DATA.ra(), PageSize::Size8K, perms).0, SeqCst);
    let ok = |(s, _): (u64, [u64; 4]), what| if s == EOK { Ok(()) } else { Err(what) };
    ok(call(hcall::LDC_TX_QCONF, [ch, TXQ.ra(), QUEUE_ENTRIES, 0, 0]), "ldc_tx_qconf")?;
    ok(call(hcall::LDC_SET_MAP_TABLE, [ch, MAP_TABLE.0.as_ptr() as u64, 2, 0, 0]), "ldc_set_map_table")?;
    if ch == RECEIVER_ID {
        ok(call(hcall::CPU_QCONF, [queue::DEV_MONDO, DEVQ.ra(), QUEUE_ENTRIES, 0, 0]), "cpu_qconf")?;
        let (h, i) = (ep.devhandle, ep.rx_ino);
        ok(call(hcall::VINTR_SETCOOKIE, [h, i, COOKIE, 0, 0]), "vintr_setcookie")?;
        ok(call(hcall::VINTR_SETTARGET, [h, i, 0, 0, 0]), "vintr_settarget")?;
        ok(call(hcall::VINTR_SETSTATE, [h, i, 0, 0, 0]), "vintr_setstate")?;
        ok(call(hcall::VINTR_SETVALID, [h, i, 1, 0, 0]), "vintr_setvalid")?;
    }
    ok(call(hcall::LDC_RX_QCONF, [ch, RXQ.ra(), QUEUE_ENTRIES, 0, 0]), "ldc_rx_qconf")?;
    // SAFETY: PIL 15 keeps the yields' timer interrupt pending; the dev_mondo handler is in
    // the trap table.
    unsafe {
        guest_set_pil(15);
        guest_set_interrupts(1);
    }
    STATUS.set(r::MAGIC, MAGIC);
    Ok(())
}

/// Runs this guest's part of the LDC figures (it has endpoint `ep`); returns (with a
/// `bench-info` line) only when the two guests did not find each other, and the caller
/// then runs the other figures.
pub fn run(ep: Endpoint) -> Result<(), ()> {
    if let Err(e) = set_up(ep) {
        say!("bench-info ldc: {e}; no LDC figures");
        return Err(());
    }
    if ep.id == RECEIVER_ID {
        receiver(ep)
    } else {
        sender(ep)
    }
}

// ----- the receiver -----

/// The receiver: reads the sender's command each turn and runs it; leaves when told, or
/// when the sender's page stays unreadable for [`START_WAIT`].
fn receiver(ep: Endpoint) -> Result<(), ()> {
    STATUS.set(r::HANDLER, handler_instructions());
    let mut last_seen = tick();
    let mut found = false;
    loop {
        STATUS.add(r::PROGRESS, 1);
        match peer(ep.id, s::WORDS) {
            Some(w) => {
                found = true;
                last_seen = tick();
                STATUS.set(r::RUNNING, w[s::CMD]);
                match w[s::CMD] {
                    cmd::RECEIVE => receive(ep),
                    cmd::EXIT => hv::mach_exit(0),
                    _ => {}
                }
            }
            None if tick().wrapping_sub(last_seen) > START_WAIT => {
                if found {
                    hv::mach_exit(1)
                }
                say!("bench-info ldc: the sender did not show up; no LDC figures");
                return Err(());
            }
            None => {}
        }
        yield_slice();
    }
}

/// Takes the packets in the receive queue (checking their sequence numbers), frees them and
/// sets the rx interrupt IDLE again (after a dev_mondo, with or without packets: the rx
/// interrupt also comes for a change of the channel state); the packets taken.
fn take_packets(ep: Endpoint, next_seq: &mut u64) -> u64 {
    let (s, st) = call(hcall::LDC_RX_GET_STATE, [ep.id, 0, 0, 0, 0]);
    if s != EOK {
        STATUS.add(r::BAD, 1);
        return 0;
    }
    let (mut head, tail) = (st[0], st[1]);
    let mut n = 0;
    while head != tail {
        let seq = RXQ.0[(head / 8) as usize].load(SeqCst);
        if seq != *next_seq {
            STATUS.add(r::BAD, 1);
        }
        *next_seq = seq + 1;
        head = (head + PACKET_SIZE as u64) % QUEUE_BYTES;
        n += 1;
    }
    if n > 0 && call(hcall::LDC_RX_SET_QHEAD, [ep.id, tail, 0, 0, 0]).0 != EOK {
        STATUS.add(r::BAD, 1);
    }
    if call(hcall::VINTR_SETSTATE, [ep.devhandle, ep.rx_ino, 0, 0, 0]).0 != EOK {
        STATUS.add(r::BAD, 1);
    }
    n
}

/// `ldc_send`'s receiver: one turn per yield (module doc). At the start of each turn it
/// takes the gap since the end of its last turn minus the sender's turn in between — kept
/// when exactly one whole sender turn ran in it: the sender's turn count moved by one now
/// and at the start of the last turn, and the sender's span is valid — and adds it to the
/// sums with a packet (its dev_mondo handler ran once since, and the sender sent) or
/// without (neither).
fn receive(ep: Endpoint) {
    let mut b_end = 0u64;
    let mut last_a = u64::MAX;
    let mut clean = false;
    let mut next_seq = 0;
    // The interrupt IDLE again (the sender's ldc_rx_qconf raised it), no packet waiting.
    take_packets(ep, &mut next_seq);
    next_seq = 0;
    let mut last_count = dev_mondos();
    loop {
        let b_start = tick();
        let w = peer(ep.id, s::WORDS);
        let count = dev_mondos();
        let Some(w) = w else {
            STATUS.add(r::BAD, 1);
            clean = false;
            b_end = tick();
            yield_slice();
            continue;
        };
        let a = w[s::TURNS];
        let span = w[s::SPAN];
        let fresh = a == last_a.wrapping_add(1);
        if fresh && clean && span != INVALID {
            let gap = b_start.wrapping_sub(b_end).wrapping_sub(span);
            match (count - last_count, w[s::SENT]) {
                (1, 1) => {
                    STATUS.add(r::WITH_SUM, gap);
                    STATUS.add(r::WITH_N, 1);
                    STATUS.add(r::SPAN_WITH, span);
                }
                (0, 0) => {
                    STATUS.add(r::WITHOUT_SUM, gap);
                    STATUS.add(r::WITHOUT_N, 1);
                    STATUS.add(r::SPAN_WITHOUT, span);
                }
                _ => STATUS.add(r::UNEXPECTED, 1),
            }
        } else {
            STATUS.add(r::DROPPED, 1);
        }
        clean = fresh;
        last_a = a;
        if count != last_count {
            let n = take_packets(ep, &mut next_seq);
            STATUS.add(r::HANDLED, n);
        }
        last_count = count;
        STATUS.add(r::PROGRESS, 1);
        if w[s::CMD] != cmd::RECEIVE {
            return;
        }
        b_end = tick();
        yield_slice();
    }
}

// ----- the sender -----

/// The receiver's status words, waiting (in turns, bounded by [`START_WAIT`]) until `ok`
/// accepts them.
fn wait_receiver(ch: u64, ok: impl Fn(&[u64; r::WORDS]) -> bool) -> Option<[u64; r::WORDS]> {
    let end = tick() + START_WAIT;
    loop {
        if let Some(w) = peer(ch, r::WORDS).filter(&ok) {
            return Some(w);
        }
        if tick() > end {
            return None;
        }
        yield_far();
    }
}

/// The receiver's progress counter (`u64::MAX` when its page cannot be read).
fn receiver_progress(ch: u64) -> u64 {
    peer(ch, r::WORDS).map_or(u64::MAX, |w| w[r::PROGRESS])
}

/// `ldc_copy(channel, direction, cookie, ra, length)` between two `%tick` reads: (status,
/// bytes copied, ticks).
#[inline(always)]
fn copy_window(ch: u64, direction: u64, cookie: u64, ra: u64, len: u64) -> (u64, u64, u64) {
    let (t0, t1, status, copied): (u64, u64, u64, u64);
    // SAFETY: ra is this guest's page; the call writes at most len bytes there.
    unsafe {
        core::arch::asm!("rd %tick, {t0}", "mov {f}, %o5", "ta 0x80", "rd %tick, {t1}",
            t0 = out(reg) t0, t1 = out(reg) t1, f = const hcall::LDC_COPY,
            inout("o0") ch => status, inout("o1") direction => copied, inout("o2") cookie => _,
            inout("o3") ra => _, inout("o4") len => _, out("o5") _, options(nostack))
    }
    (status, copied, (t1 & !(1 << 63)).wrapping_sub(t0 & !(1 << 63)))
}

/// The guest's own copy of `len` bytes (a multiple of 8) from `src` to `dst`: an 8-byte
/// `ldx`/`stx` loop of four instructions a word, between two `%tick` reads; the ticks.
#[inline(always)]
fn guest_copy_window(dst: u64, src: u64, len: u64) -> u64 {
    let (t0, t1): (u64, u64);
    // SAFETY: src and dst are this guest's pages of at least len bytes.
    unsafe {
        core::arch::asm!("rd %tick, {t0}",
            "2: ldx [{src} + {i}], {w}", "subcc {i}, 8, {i}", "bge,pt %xcc, 2b", "stx {w}, [{dst8} + {i}]",
            "rd %tick, {t1}",
            t0 = out(reg) t0, t1 = out(reg) t1, src = in(reg) src, dst8 = in(reg) dst + 8,
            i = inout(reg) len - 8 => _, w = out(reg) _, options(nostack))
    }
    (t1 & !(1 << 63)).wrapping_sub(t0 & !(1 << 63))
}

/// `ldc_tx_set_qtail(channel, tail)` (`real`) or the same instructions with a `nop` in place
/// of the trap, between two `%tick` reads: (status, ticks).
#[inline(always)]
fn send_window(ch: u64, tail: u64, real: bool) -> (u64, u64) {
    let (t0, t1, status): (u64, u64, u64);
    // SAFETY: the call reads this guest's transmit queue.
    unsafe {
        if real {
            core::arch::asm!("rd %tick, {t0}", "mov {f}, %o5", "ta 0x80", "rd %tick, {t1}",
                t0 = out(reg) t0, t1 = out(reg) t1, f = const hcall::LDC_TX_SET_QTAIL,
                inout("o0") ch => status, inout("o1") tail => _, out("o2") _, out("o3") _, out("o4") _,
                out("o5") _, options(nostack))
        } else {
            core::arch::asm!("rd %tick, {t0}", "mov {f}, %o5", "nop", "rd %tick, {t1}",
                t0 = out(reg) t0, t1 = out(reg) t1, f = const hcall::LDC_TX_SET_QTAIL,
                inout("o0") ch => status, inout("o1") tail => _, out("o2") _, out("o3") _, out("o4") _,
                out("o5") _, options(nostack))
        }
    }
    (status, (t1 & !(1 << 63)).wrapping_sub(t0 & !(1 << 63)))
}

/// Tells the receiver to run `c` and waits (in turns) until it does.
fn command(ch: u64, c: u64) -> bool {
    STATUS.set(s::CMD, c);
    wait_receiver(ch, |w| w[r::RUNNING] == c).is_some()
}

/// The copy figures (the receiver takes turns).
fn copies(ch: u64, rng: &mut u64) {
    const KIB: u64 = 1024;
    // ldc_copy in 1 KiB, in 8 KiB, out 1 KiB, out 8 KiB; guest copy 1 KiB, 8 KiB.
    let mut sums = [Sum::default(); 6];
    let (mut dropped, mut failed) = (0, 0);
    for (i, w) in COPY_SRC.0.iter().enumerate() {
        w.store(0x0123_4567_89ab_cdef ^ i as u64, SeqCst);
    }
    for _ in 0..COPY_SAMPLES {
        let p0 = receiver_progress(ch);
        let mut t = [0u64; 6];
        let mut ok = true;
        for (k, (dir, len)) in
            [(COPY_IN, KIB), (COPY_IN, 8 * KIB), (COPY_OUT, KIB), (COPY_OUT, 8 * KIB)].iter().enumerate()
        {
            pad(rng);
            let (s, n, ticks) = copy_window(ch, *dir, cookie(1), LOCAL.ra(), *len);
            ok &= s == EOK && n == *len;
            t[k] = ticks;
        }
        pad(rng);
        t[4] = guest_copy_window(COPY_DST.ra(), COPY_SRC.ra(), KIB);
        pad(rng);
        t[5] = guest_copy_window(COPY_DST.ra(), COPY_SRC.ra(), 8 * KIB);
        let p1 = receiver_progress(ch);
        if !ok {
            failed += 1;
        } else if p0 != p1 || p0 == u64::MAX {
            dropped += 1;
        } else {
            for (s, t) in sums.iter_mut().zip(t) {
                s.add(t);
            }
        }
        yield_far();
    }
    let same = COPY_SRC.0.iter().zip(COPY_DST.0.iter()).all(|(a, b)| a.load(SeqCst) == b.load(SeqCst));
    // Both directions move the right bytes: a pattern out to the receiver's page and back in.
    let pattern = |i: usize| 0x6c64_635f_0000_0000 | (i as u64).wrapping_mul(0x9e37_79b9);
    for (i, w) in LOCAL.0.iter().enumerate() {
        w.store(pattern(i), SeqCst);
    }
    let out = call(hcall::LDC_COPY, [ch, COPY_OUT, cookie(1), LOCAL.ra(), 8 * KIB]);
    for w in &LOCAL.0 {
        w.store(0, SeqCst);
    }
    let back = call(hcall::LDC_COPY, [ch, COPY_IN, cookie(1), LOCAL.ra(), 8 * KIB]);
    let round_trip = (out.0, out.1[0], back.0, back.1[0]) == (EOK, 8 * KIB, EOK, 8 * KIB)
        && LOCAL.0.iter().enumerate().all(|(i, w)| w.load(SeqCst) == pattern(i));
    let per_kib = |one: Sum, eight: Sum| (eight.centi() - one.centi()) / 7;
    // A copy that moved the wrong bytes gets no figure (the xtask then says which are missing).
    if same && round_trip {
        report("ldc_copy_per_kib", per_kib(sums[0], sums[1]));
        report("ldc_copy_out_per_kib", per_kib(sums[2], sums[3]));
        report("guest_copy_1kib", per_kib(sums[4], sums[5]));
    }
    say!(
        "bench-info ldc_copy: 1 KiB in {}, 8 KiB in {}, 1 KiB out {}, 8 KiB out {}, guest 1 KiB {}, guest 8 KiB {} (centi-instructions, each call or loop whole)",
        sums[0].centi(),
        sums[1].centi(),
        sums[2].centi(),
        sums[3].centi(),
        sums[4].centi(),
        sums[5].centi()
    );
    say!(
        "bench-info ldc_copy: {} rounds kept, {dropped} dropped, {failed} with a failed copy; guest copy {}, 8 KiB out and back in {}",
        sums[0].1,
        if same { "checked" } else { "WRONG" },
        if round_trip { "checked" } else { "WRONG" }
    );
}

/// `ldc_send` (module doc): the sender's turns.
fn send(ch: u64, rng: &mut u64) {
    STATUS.set(s::TURNS, 0);
    STATUS.set(s::SPAN, INVALID);
    STATUS.set(s::SENT, 0);
    if !command(ch, cmd::RECEIVE) {
        say!("bench-info ldc_send: the receiver did not start receiving; no ldc_send figures");
        return;
    }
    let (mut with, mut without) = (Sum::default(), Sum::default());
    let (mut dropped, mut failed) = (0u64, 0u64);
    let mut sent = 0u64;
    let mut tail = 0u64;
    let mut seq = 0u64;
    let mut j = 0u64;
    // The last turn's window: (sent, status, ticks, valid); accounted in the next turn.
    let mut last: Option<(bool, u64, u64, bool)> = None;
    let mut done = false;
    let mut rx = [0u64; r::WORDS];
    while !done {
        let a_start = tick();
        if let Some((real, st, ticks, valid)) = last.take() {
            match (real, st == EOK, valid) {
                (true, true, true) => with.add(ticks),
                (false, _, true) => without.add(ticks),
                (true, false, _) => failed += 1,
                _ => dropped += 1,
            }
            if real && st == EOK {
                sent += 1;
                tail = (tail + PACKET_SIZE as u64) % QUEUE_BYTES;
                seq += 1;
            }
        }
        pad(rng);
        let w0 = peer(ch, r::WORDS);
        if let Some(w) = w0 {
            rx = w;
        }
        let real = j.is_multiple_of(2) && w0.is_some_and(|w| w[r::HANDLED] == sent);
        // The packet at the tail: its sequence number in word 0 (both variants).
        TXQ.0[(tail / 8) as usize].store(seq, SeqCst);
        let next = (tail + PACKET_SIZE as u64) % QUEUE_BYTES;
        let (st, ticks) = send_window(ch, next, real);
        let w1 = peer(ch, r::WORDS);
        let valid = w0.is_some() && w1.is_some() && w0.map(|w| w[r::PROGRESS]) == w1.map(|w| w[r::PROGRESS]);
        let ok = valid && (!real || st == EOK);
        // Computed before the %tick read (black_box), stored after it.
        let mask = core::hint::black_box(if ok { 0 } else { INVALID });
        let sent_now = core::hint::black_box((real && st == EOK) as u64);
        last = Some((real, st, ticks, valid));
        j += 1;
        done = (rx[r::WITH_N] >= SAMPLES && rx[r::WITHOUT_N] >= SAMPLES) || j >= 8 * SAMPLES;
        let turns = j;
        let a_end = tick();
        // The same instructions in every turn (module doc).
        STATUS.set(s::SPAN, a_end.wrapping_sub(a_start) | mask);
        STATUS.set(s::SENT, sent_now);
        STATUS.set(s::TURNS, turns);
        yield_far();
    }
    // The receiver's last sums.
    let rx = wait_receiver(ch, |_| true).unwrap_or(rx);
    let tx = with.centi() - without.centi();
    let g_with = Sum(rx[r::WITH_SUM], rx[r::WITH_N]);
    let g_without = Sum(rx[r::WITHOUT_SUM], rx[r::WITHOUT_N]);
    let h = rx[r::HANDLER] as i64;
    let rx_figure = g_with.centi() - g_without.centi() - 100 * h;
    report("ldc_send", tx + rx_figure);
    report("ldc_send_tx", tx);
    report("ldc_send_rx", rx_figure);
    say!(
        "bench-info ldc_send: sender {} windows with a packet, {} without, {dropped} dropped, {failed} failed sends, {sent} packets sent in {j} turns",
        with.1,
        without.1
    );
    say!(
        "bench-info ldc_send: receiver {} gaps with a packet, {} without, {} dropped, {} unexpected, {} packets taken, {} bad, handler {h} instructions; sender's turn {} with a packet, {} without (centi-instructions)",
        g_with.1,
        g_without.1,
        rx[r::DROPPED],
        rx[r::UNEXPECTED],
        rx[r::HANDLED],
        rx[r::BAD],
        Sum(rx[r::SPAN_WITH], rx[r::WITH_N]).centi(),
        Sum(rx[r::SPAN_WITHOUT], rx[r::WITHOUT_N]).centi()
    );
}

/// The sender: waits for the receiver, measures, prints the figures.
fn sender(ep: Endpoint) -> Result<(), ()> {
    let ch = ep.id;
    STATUS.set(s::CMD, cmd::TURNS);
    if wait_receiver(ch, |w| w[r::RUNNING] == cmd::TURNS).is_none() {
        say!("bench-info ldc: the receiver did not show up; no LDC figures");
        return Err(());
    }
    let mut rng = 0x5eed_0000_1dc0u64;
    copies(ch, &mut rng);
    send(ch, &mut rng);
    STATUS.set(s::CMD, cmd::EXIT);
    Ok(())
}
