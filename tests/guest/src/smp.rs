//! SMP tests: the boot vCPU starts every other vCPU its guest MD lists (`cpu_start`), sends
//! cpu mondos to them and receives theirs (`cpu_mondo_send`, the cpu mondo queue and its
//! trap 0x7c), fills a target's queue to check that nothing is dropped, and stops and
//! restarts them (`cpu_stop`, `cpu_state`) (hv-api.md §2.3, §2.9, §4.4, §4.7).
//!
//! Only the boot vCPU prints. A secondary vCPU enters at `guest_secondary_start` (entry.s)
//! with `%o0` = the real address of its [`StartBlock`] (its stack and its id), records its
//! entry state in its [`Slot`], checks in, and then runs the commands the boot vCPU writes
//! into its slot. Every wait, on either side, is a handshake on a slot word bounded by a
//! `%stick` deadline of [`WAIT_SECS`] seconds; nothing depends on timing to pass.
//!
//! Each test prints `test-guest: ok smp …` when all of its checks passed, and one
//! `test-guest: FAIL smp …: detail` line (with the status codes) for every check that did
//! not. With one vCPU in the MD the tests print `test-guest: skip smp (one vCPU)`.

use crate::rt::{check, Buffer, STICK_HZ};
use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use hv_api::error::{HvError, EOK};
use hv_api::guest as hv;
use hv_api::{cpu_state, hcall, queue};

/// vCPU ids the tests can drive: 0 to `MAX_VCPUS - 1` (a T1 has 32 strands).
pub const MAX_VCPUS: usize = 32;
/// Bytes of a secondary vCPU's stack.
const STACK_SIZE: usize = 16 * 1024;
/// Entries of the cpu mondo queues in the mondo tests.
const QUEUE_ENTRIES: u64 = 8;
/// Entries of the target's cpu mondo queue in the overflow test: it holds one mondo.
const SMALL_QUEUE_ENTRIES: u64 = 2;
/// Received mondos a slot remembers (a ring).
const RECORDS: usize = 16;
/// Bound of every wait, in seconds of `%stick`.
pub const WAIT_SECS: u64 = 5;
/// First word of every mondo the tests send.
const MONDO_MAGIC: u64 = 0x534d_5030_4d4f_4e44; // "SMP0MOND"
/// Failed sends of the third mondo the overflow test requires while the target's queue is
/// full, and the `%stick` ticks it waits between them (200 × 250 µs = 50 ms).
const STUCK_TRIES: u64 = 200;
const STUCK_GAP_TICKS: u64 = 25_000;

/// [`Command::Drain`] flag: a hypercall after each look at the queue.
const DRAIN_HYPERCALLS: u64 = 1 << 32;

/// Where a started vCPU finds its stack and its id: `cpu_start`'s argument is the real
/// address of one of these. `stack_top` must stay the first field (entry.s loads it).
#[repr(C, align(64))]
pub struct StartBlock {
    /// Real address just past the vCPU's stack.
    pub stack_top: AtomicU64,
    /// The vCPU id the block is for.
    pub id: AtomicU64,
}

impl StartBlock {
    const fn new() -> Self {
        StartBlock { stack_top: AtomicU64::new(0), id: AtomicU64::new(0) }
    }
    fn ra(&self) -> u64 {
        self as *const StartBlock as u64
    }
}

/// Offset of [`StartBlock::stack_top`], for entry.s.
pub const START_STACK_TOP: usize = core::mem::offset_of!(StartBlock, stack_top);

/// What the boot vCPU asks a secondary to do ([`Slot::cmd`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u64)]
enum Command {
    /// Nothing; answers 0.
    Nop = 0,
    /// PSTATE.IE = 0, then `cpu_qconf(0x3c, its queue, arg entries)`; answers the status.
    QueueConf = 1,
    /// PIL = 0 and PSTATE.IE = 1 (arg 1), or PSTATE.IE = 0 (arg 0); answers 0.
    Interrupts = 2,
    /// Sends mondo `arg >> 16` (sequence number) to vCPU `arg & 0xffff`, retrying while the
    /// answer is EWOULDBLOCK (bounded); answers the status, the tries in `result2`.
    SendMondo = 3,
    /// With PSTATE.IE = 0: drains the cpu mondo queue by polling HEAD/TAIL until
    /// `arg & 0xffff` more mondos arrived (bounded), making a hypercall (cpu_myid) after each
    /// look when `arg` has [`DRAIN_HYPERCALLS`]; answers the mondos received.
    Drain = 4,
    /// PSTATE.IE = 0, then `cpu_qconf(0x3d, its device mondo queue, arg entries)` (the
    /// console interrupt test, `console_intr.rs`); answers the status.
    DevQueueConf = 5,
}

impl Command {
    fn from_u64(v: u64) -> Option<Command> {
        [
            Command::Nop,
            Command::QueueConf,
            Command::Interrupts,
            Command::SendMondo,
            Command::Drain,
            Command::DevQueueConf,
        ]
        .into_iter()
        .find(|c| *c as u64 == v)
    }
}

/// One vCPU's shared words: its entry record, its command mailbox and the mondos it
/// received. The vCPU writes all but `cmd`, `cmd_arg` and `cmd_seq`, which the boot vCPU
/// writes.
#[repr(C, align(64))]
pub struct Slot {
    /// `cpu_start` argument of its last entry (0: none yet); written last at check-in.
    pub checkin: AtomicU64,
    /// Entries so far.
    pub entries: AtomicU64,
    /// `cpu_myid` at entry: status and id.
    pub entry_myid: [AtomicU64; 2],
    /// `mmu_enable(0, …)` status at entry (EINVAL: the MMU was already off).
    pub entry_mmu_status: AtomicU64,
    /// `cpu_qinfo(0x3c)` at entry: status, base, entries.
    pub entry_qinfo: [AtomicU64; 3],
    /// `cpu_get_rtba` at entry: status and RTBA.
    pub entry_rtba: [AtomicU64; 2],
    /// `%tl`, `%pil` and `%pstate` at entry.
    pub entry_regs: [AtomicU64; 3],
    /// Incremented by the command loop: it runs.
    pub heartbeat: AtomicU64,
    /// Command ([`Command`]) and its argument, valid once `cmd_seq` changes.
    pub cmd: AtomicU64,
    /// The command's argument.
    pub cmd_arg: AtomicU64,
    /// Incremented by the boot vCPU for each command.
    pub cmd_seq: AtomicU64,
    /// `cmd_seq` of the last command done.
    pub done_seq: AtomicU64,
    /// The command's answer.
    pub result: AtomicU64,
    /// A second answer (tries of a send).
    pub result2: AtomicU64,
    /// Entries of the cpu mondo queue this vCPU configured (0: none).
    pub queue_entries: AtomicU64,
    /// cpu_mondo traps taken.
    pub mondo_traps: AtomicU64,
    /// Mondos received (index of the next record, modulo [`RECORDS`]).
    pub received: AtomicU64,
    /// HEAD or TAIL outside the queue seen (last HEAD, TAIL; count).
    pub bad_offsets: [AtomicU64; 3],
    /// The received mondos' 8 words.
    pub records: [[AtomicU64; 8]; RECORDS],
}

impl Slot {
    const fn new() -> Self {
        Slot {
            checkin: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            entry_myid: [const { AtomicU64::new(0) }; 2],
            entry_mmu_status: AtomicU64::new(0),
            entry_qinfo: [const { AtomicU64::new(0) }; 3],
            entry_rtba: [const { AtomicU64::new(0) }; 2],
            entry_regs: [const { AtomicU64::new(0) }; 3],
            heartbeat: AtomicU64::new(0),
            cmd: AtomicU64::new(0),
            cmd_arg: AtomicU64::new(0),
            cmd_seq: AtomicU64::new(0),
            done_seq: AtomicU64::new(0),
            result: AtomicU64::new(0),
            result2: AtomicU64::new(0),
            queue_entries: AtomicU64::new(0),
            mondo_traps: AtomicU64::new(0),
            received: AtomicU64::new(0),
            bad_offsets: [const { AtomicU64::new(0) }; 3],
            records: [const { [const { AtomicU64::new(0) }; 8] }; RECORDS],
        }
    }

    /// The 8 words of received mondo number `n` (counting from 0).
    fn record(&self, n: u64) -> [u64; 8] {
        let r = &self.records[(n % RECORDS as u64) as usize];
        core::array::from_fn(|i| r[i].load(SeqCst))
    }
}

/// A cpu mondo queue: up to [`QUEUE_ENTRIES`] entries, aligned to its size.
#[repr(C, align(512))]
struct QueueMem(UnsafeCell<[u8; (QUEUE_ENTRIES * queue::ENTRY_SIZE) as usize]>);

// SAFETY: a vCPU's queue is written by the hypervisor and read by that vCPU only.
unsafe impl Sync for QueueMem {}

impl QueueMem {
    const fn new() -> Self {
        QueueMem(UnsafeCell::new([0; (QUEUE_ENTRIES * queue::ENTRY_SIZE) as usize]))
    }
    fn ra(&self) -> u64 {
        self.0.get() as u64
    }
}

static SLOTS: [Slot; MAX_VCPUS] = [const { Slot::new() }; MAX_VCPUS];
/// Two start blocks per vCPU: the first start, and the restart with a new argument.
static START_BLOCKS: [[StartBlock; 2]; MAX_VCPUS] = [const { [const { StartBlock::new() }; 2] }; MAX_VCPUS];
static STACKS: [Buffer<STACK_SIZE>; MAX_VCPUS] = [const { Buffer::new() }; MAX_VCPUS];
static QUEUES: [QueueMem; MAX_VCPUS] = [const { QueueMem::new() }; MAX_VCPUS];
/// Each sender's 64 bytes of mondo data.
static MONDO_DATA: [Buffer<64>; MAX_VCPUS] = [const { Buffer::new() }; MAX_VCPUS];
/// Each sender's cpu list (u16 ids).
static CPU_LISTS: [Buffer<64>; MAX_VCPUS] = [const { Buffer::new() }; MAX_VCPUS];
static MD: Buffer<32768> = Buffer::new();
extern "C" {
    static guest_trap_table: u8;
    fn guest_secondary_start();
    fn guest_stick() -> u64;
    fn guest_pil() -> u64;
    fn guest_set_pil(pil: u64);
    fn guest_set_interrupts(on: u64);
    fn guest_queue_read(reg: u64) -> u64;
    fn guest_queue_write(reg: u64, value: u64);
    fn guest_mmu_disable_status() -> u64;
}

/// `%stick`.
pub(crate) fn stick() -> u64 {
    // SAFETY: reads %stick.
    unsafe { guest_stick() }
}

/// PIL 0 and PSTATE.IE = 1 (`on`), or PSTATE.IE = 0.
pub(crate) fn interrupts(on: bool) {
    // SAFETY: the cpu_mondo and dev_mondo trap handlers are in the trap table; nothing else
    // is enabled.
    unsafe {
        if on {
            guest_set_pil(0);
        }
        guest_set_interrupts(on as u64);
    }
}

/// `%stick` deadline [`WAIT_SECS`] from now.
fn deadline() -> u64 {
    stick() + WAIT_SECS * STICK_HZ.load(SeqCst)
}

/// Waits until `done()` or the deadline; true if `done()`.
fn wait_for(done: impl FnMut() -> bool) -> bool {
    wait_until(deadline(), done)
}

/// Waits until `done()` or `%stick` passes `end`; true if `done()`. (The one bounded wait
/// of the SMP and console-interrupt tests.)
pub(crate) fn wait_until(end: u64, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if stick() > end {
            return done();
        }
        core::hint::spin_loop();
    }
}

/// A raw fast trap: status and return values (the typed wrappers turn unknown status codes
/// into EINVAL).
fn call(function: u64, args: [u64; 5]) -> (u64, [u64; 4]) {
    // SAFETY: the tests pass only addresses of their own buffers, addresses the hypervisor
    // must refuse, or cpu_start arguments that start guest_secondary_start.
    unsafe { hv::fast_trap(function, args) }
}

/// A raw fast trap's status.
fn status(function: u64, args: [u64; 5]) -> u64 {
    call(function, args).0
}

/// A status as `NAME (code)`.
struct St(u64);

impl fmt::Display for St {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, HvError::from_code(self.0)) {
            (EOK, _) => write!(f, "EOK (0)"),
            (c, Some(e)) => write!(f, "{} ({c})", e.name()),
            (c, None) => write!(f, "unknown status {c}"),
        }
    }
}

/// A list of vCPU ids, printed `1, 2, 3`.
struct Ids<'a>(&'a [u64]);

impl fmt::Display for Ids<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

/// One test: a FAIL line per failed check, one ok line at the end if none failed.
struct Test {
    name: &'static str,
    failed: bool,
}

impl Test {
    fn new(name: &'static str) -> Self {
        Test { name, failed: false }
    }
    /// Records one check; prints `FAIL name: detail` if `ok` is false.
    fn expect(&mut self, ok: bool, detail: fmt::Arguments<'_>) -> bool {
        if !ok {
            self.failed = true;
            check(self.name, false, detail);
        }
        ok
    }
    /// Expects a status.
    fn expect_status(&mut self, what: fmt::Arguments<'_>, got: u64, want: u64) -> bool {
        self.expect(got == want, format_args!("{what}: got {}, expected {}", St(got), St(want)))
    }
    /// Prints `ok name` if every check passed; returns that.
    fn finish(self) -> bool {
        if !self.failed {
            check(self.name, true, format_args!(""));
        }
        !self.failed
    }
}

// ----- the mondo data -----

/// The 8 words of mondo `seq` from `sender`: magic, sender, sequence, and a pattern of both.
fn mondo_words(sender: u64, seq: u64) -> [u64; 8] {
    let mut w = [0u64; 8];
    w[0] = MONDO_MAGIC;
    w[1] = sender;
    w[2] = seq;
    for (k, word) in w.iter_mut().enumerate().skip(3) {
        *word = ((seq << 32) | sender) ^ (0x0101_0101_0101_0101u64.wrapping_mul(k as u64 + 0x10));
    }
    w
}

/// Writes mondo `seq` of `sender` into the sender's data buffer; returns its real address.
fn fill_mondo_data(sender: u64, seq: u64) -> u64 {
    let buf = &MONDO_DATA[sender as usize];
    for (i, w) in mondo_words(sender, seq).iter().enumerate() {
        buf.bytes_mut()[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
    }
    buf.ra()
}

/// Writes `targets` into the sender's cpu list; returns its real address.
fn fill_cpu_list(sender: u64, targets: &[u64]) -> u64 {
    let buf = &CPU_LISTS[sender as usize];
    for (i, t) in targets.iter().enumerate() {
        buf.bytes_mut()[i * 2..i * 2 + 2].copy_from_slice(&(*t as u16).to_be_bytes());
    }
    buf.ra()
}

/// Entry `i` of the sender's cpu list.
fn cpu_list_entry(sender: u64, i: usize) -> u16 {
    let b = CPU_LISTS[sender as usize].bytes();
    u16::from_be_bytes([b[i * 2], b[i * 2 + 1]])
}

/// `cpu_mondo_send` of mondo `seq` from `sender` to `targets`, retried with the same list
/// while it answers EWOULDBLOCK (until the deadline); returns (status, calls made).
fn send_mondo(sender: u64, targets: &[u64], seq: u64) -> (u64, u64) {
    let list = fill_cpu_list(sender, targets);
    let data = fill_mondo_data(sender, seq);
    let end = deadline();
    let mut tries = 0;
    loop {
        tries += 1;
        let s = status(hcall::CPU_MONDO_SEND, [targets.len() as u64, list, data, 0, 0]);
        if s != HvError::WouldBlock.code() || stick() > end {
            return (s, tries);
        }
    }
}

// ----- the receiving side (any vCPU) -----

/// Moves the entries of this vCPU's cpu mondo queue into its slot's records and advances
/// HEAD (hv-api.md §4.4), until the queue is empty or `limit` mondos were received in all.
/// Runs with PSTATE.IE = 0 (in the trap handler, or polling).
fn drain_cpu_mondo_queue(slot: &Slot, id: usize, limit: u64) {
    let n = slot.queue_entries.load(SeqCst);
    let size = n * queue::ENTRY_SIZE;
    while slot.received.load(SeqCst) < limit {
        // SAFETY: reads the ASI_QUEUE registers.
        let (head, tail) =
            unsafe { (guest_queue_read(queue::CPU_MONDO_HEAD), guest_queue_read(queue::CPU_MONDO_TAIL)) };
        if queue::is_empty(head, tail) {
            return;
        }
        let inside = |off: u64| off < size && off.is_multiple_of(queue::ENTRY_SIZE);
        if !inside(head) || !inside(tail) {
            slot.bad_offsets[0].store(head, SeqCst);
            slot.bad_offsets[1].store(tail, SeqCst);
            slot.bad_offsets[2].fetch_add(1, SeqCst);
            // SAFETY: writes HEAD; the queue is empty afterwards.
            unsafe { guest_queue_write(queue::CPU_MONDO_HEAD, tail) };
            return;
        }
        let entry = (QUEUES[id].ra() + head) as *const u64;
        let k = slot.received.load(SeqCst);
        let record = &slot.records[(k % RECORDS as u64) as usize];
        for (i, word) in record.iter().enumerate() {
            // SAFETY: inside this vCPU's queue, which the hypervisor wrote before TAIL.
            word.store(unsafe { core::ptr::read_volatile(entry.add(i)) }, SeqCst);
        }
        slot.received.store(k + 1, SeqCst);
        // SAFETY: writes HEAD past the entry just consumed.
        unsafe { guest_queue_write(queue::CPU_MONDO_HEAD, queue::next_offset(head, n)) };
    }
}

/// The cpu_mondo trap (0x7c, TL 0 half of the trap table): drains this vCPU's queue.
#[no_mangle]
extern "C" fn guest_cpu_mondo(tpc: u64, tl: u64) {
    let id = hv::cpu_myid().unwrap_or(u64::MAX) as usize;
    match SLOTS.get(id) {
        Some(slot) if slot.queue_entries.load(SeqCst) != 0 => {
            slot.mondo_traps.fetch_add(1, SeqCst);
            drain_cpu_mondo_queue(slot, id, u64::MAX);
        }
        _ => crate::rt::guest_unexpected_trap(hv_api::trap::tt::CPU_MONDO, tpc, tl),
    }
}

// ----- the secondary vCPUs -----

/// A started vCPU's Rust entry (from `guest_secondary_start`): `arg` is the real address of
/// its [`StartBlock`], `tl`, `pil` and `pstate` its entry values. (The benchmark guest has
/// its own, in bench_smp.rs.)
#[cfg(not(guest_bench))]
#[no_mangle]
extern "C" fn smp_secondary_entry(arg: u64, tl: u64, pil: u64, pstate: u64) -> ! {
    // SAFETY: cpu_start's argument is the real address of a StartBlock (MMU off).
    let block = unsafe { &*(arg as *const StartBlock) };
    let id = block.id.load(SeqCst) as usize;
    let slot = &SLOTS[id];
    slot.queue_entries.store(0, SeqCst);
    slot.entry_regs[0].store(tl, SeqCst);
    slot.entry_regs[1].store(pil, SeqCst);
    slot.entry_regs[2].store(pstate, SeqCst);
    let (s, rets) = call(hcall::CPU_MYID, [0; 5]);
    slot.entry_myid[0].store(s, SeqCst);
    slot.entry_myid[1].store(rets[0], SeqCst);
    // SAFETY: mmu_enable(0, …) with the MMU off only answers EINVAL; were it on, it would
    // go on at the next instruction with the MMU off, where this code runs all the same.
    slot.entry_mmu_status.store(unsafe { guest_mmu_disable_status() }, SeqCst);
    let (s, rets) = call(hcall::CPU_QINFO, [queue::CPU_MONDO, 0, 0, 0, 0]);
    slot.entry_qinfo[0].store(s, SeqCst);
    slot.entry_qinfo[1].store(rets[0], SeqCst);
    slot.entry_qinfo[2].store(rets[1], SeqCst);
    let (s, rets) = call(hcall::CPU_GET_RTBA, [0; 5]);
    slot.entry_rtba[0].store(s, SeqCst);
    slot.entry_rtba[1].store(rets[0], SeqCst);
    slot.entries.fetch_add(1, SeqCst);
    // A command left from before a stop is not run again.
    slot.done_seq.store(slot.cmd_seq.load(SeqCst), SeqCst);
    slot.checkin.store(arg, SeqCst);
    loop {
        slot.heartbeat.fetch_add(1, SeqCst);
        let seq = slot.cmd_seq.load(SeqCst);
        if seq == slot.done_seq.load(SeqCst) {
            core::hint::spin_loop();
            continue;
        }
        let arg = slot.cmd_arg.load(SeqCst);
        let (r, r2) = match Command::from_u64(slot.cmd.load(SeqCst)) {
            Some(cmd) => run_command(slot, id, cmd, arg),
            None => (u64::MAX, 0),
        };
        slot.result.store(r, SeqCst);
        slot.result2.store(r2, SeqCst);
        slot.done_seq.store(seq, SeqCst);
    }
}

/// Runs one command on secondary vCPU `id`; returns (result, result2).
fn run_command(slot: &Slot, id: usize, cmd: Command, arg: u64) -> (u64, u64) {
    match cmd {
        Command::Nop => (0, 0),
        Command::QueueConf => {
            interrupts(false);
            slot.queue_entries.store(0, SeqCst);
            let s = status(hcall::CPU_QCONF, [queue::CPU_MONDO, QUEUES[id].ra(), arg, 0, 0]);
            if s == EOK {
                slot.queue_entries.store(arg, SeqCst);
            }
            (s, 0)
        }
        Command::Interrupts => {
            interrupts(arg != 0);
            (0, 0)
        }
        Command::SendMondo => send_mondo(id as u64, &[arg & 0xffff], arg >> 16),
        Command::Drain => {
            interrupts(false);
            let before = slot.received.load(SeqCst);
            let want = before + (arg & 0xffff);
            wait_for(|| {
                drain_cpu_mondo_queue(slot, id, want);
                if arg & DRAIN_HYPERCALLS != 0 {
                    // Any hypercall: the hypervisor moves a waiting mondo into the queue.
                    let _ = hv::cpu_myid();
                }
                slot.received.load(SeqCst) >= want
            });
            (slot.received.load(SeqCst) - before, 0)
        }
        Command::DevQueueConf => (crate::console_intr::configure_queue(id as u64, arg), 0),
    }
}

// ----- the boot vCPU's side -----

/// For the console interrupt test: starts vCPU `id` (first start block) and waits for its
/// check-in; returns a failure description.
pub(crate) fn start_helper(id: u64) -> Result<(), &'static str> {
    let slot = &SLOTS[id as usize];
    let entries = slot.entries.load(SeqCst);
    if start(id, 0) != EOK {
        return Err("cpu_start failed");
    }
    let block = &START_BLOCKS[id as usize][0];
    if wait_for(|| slot.checkin.load(SeqCst) == block.ra() && slot.entries.load(SeqCst) == entries + 1) {
        Ok(())
    } else {
        Err("the started vCPU did not check in")
    }
}

/// For the console interrupt test: has running vCPU `id` configure its device mondo queue
/// with `entries` entries (0: unconfigure) and then set PSTATE.IE (PIL 0) to `interrupts`;
/// returns the cpu_qconf status, or `None` when the vCPU did not answer.
pub(crate) fn helper_dev_queue(id: u64, entries: u64, interrupts: bool) -> Option<u64> {
    let s = wait_done(id, post(id, Command::DevQueueConf, entries))?.0;
    wait_done(id, post(id, Command::Interrupts, interrupts as u64))?;
    Some(s)
}

/// Posts a command to vCPU `id` without waiting; returns its sequence number.
fn post(id: u64, cmd: Command, arg: u64) -> u64 {
    let slot = &SLOTS[id as usize];
    slot.cmd.store(cmd as u64, SeqCst);
    slot.cmd_arg.store(arg, SeqCst);
    slot.cmd_seq.fetch_add(1, SeqCst) + 1
}

/// Waits for command `seq` of vCPU `id`; its (result, result2), or None at the deadline.
/// Commands wait for [`WAIT_SECS`] at most themselves; this waits twice as long, so that a
/// command's own answer (say, how many mondos it got) is what gets reported.
fn wait_done(id: u64, seq: u64) -> Option<(u64, u64)> {
    let slot = &SLOTS[id as usize];
    let done = || slot.done_seq.load(SeqCst) == seq;
    (wait_for(done) || wait_for(done)).then(|| (slot.result.load(SeqCst), slot.result2.load(SeqCst)))
}

/// Runs a command on vCPU `id` and waits for it; reports a timeout in `t`.
fn command(t: &mut Test, id: u64, cmd: Command, arg: u64) -> Option<(u64, u64)> {
    let seq = post(id, cmd, arg);
    let r = wait_done(id, seq);
    t.expect(r.is_some(), format_args!("vCPU {id} did not finish command {cmd:?} ({arg:#x}) in {} s", 2 * WAIT_SECS));
    r
}

/// The vCPU ids of the guest MD's cpu nodes (at most [`MAX_VCPUS`]), and the MD's
/// stick-frequency.
pub(crate) fn md_vcpus(ids: &mut [u64; MAX_VCPUS]) -> Result<usize, &'static str> {
    let md = crate::rt::read_guest_md(&MD)?;
    let mut n = 0;
    for cpu in md.nodes_named("cpu") {
        let id = cpu.val("id").ok_or("a cpu node without an id")?;
        if id >= MAX_VCPUS as u64 || n == MAX_VCPUS {
            return Err("a cpu id beyond the SMP tests' 32");
        }
        ids[n] = id;
        n += 1;
    }
    Ok(n)
}

/// What the boot vCPU knows while the tests run.
struct Run {
    base: u64,
    size: u64,
    me: u64,
    /// The other vCPUs of the MD.
    others: [u64; MAX_VCPUS],
    nothers: usize,
    /// The others that are running and answer commands.
    running: [bool; MAX_VCPUS],
    /// An id that no cpu node has.
    unknown: u64,
}

impl Run {
    fn others(&self) -> &[u64] {
        &self.others[..self.nothers]
    }
    /// The running others, in a buffer; returns the count.
    fn running(&self, out: &mut [u64; MAX_VCPUS]) -> usize {
        let mut n = 0;
        for &id in self.others() {
            if self.running[id as usize] {
                out[n] = id;
                n += 1;
            }
        }
        n
    }

    /// The first other vCPU that runs, the target of a test; `None` (checked in `t` as not
    /// run) when none does.
    fn first_running(&self, t: &mut Test) -> Option<u64> {
        let mut running = [0; MAX_VCPUS];
        let n = self.running(&mut running);
        t.expect(n > 0, format_args!("not run: no other vCPU is running")).then_some(running[0])
    }
}

fn entry_pc() -> u64 {
    guest_secondary_start as *const () as u64
}

fn rtba() -> u64 {
    core::ptr::addr_of!(guest_trap_table) as u64
}

/// Sets up start block `generation` (0: the first start, 1: the restart) of vCPU `id` and
/// calls cpu_start with it; returns the status.
pub(crate) fn start(id: u64, generation: usize) -> u64 {
    let block = &START_BLOCKS[id as usize][generation];
    block.stack_top.store(STACKS[id as usize].ra() + STACK_SIZE as u64, SeqCst);
    block.id.store(id, SeqCst);
    status(hcall::CPU_START, [id, entry_pc(), rtba(), block.ra(), 0])
}

/// After cpu_start of vCPU `id` with start block `generation` answered `s`: checks the
/// status and cpu_state, waits for the vCPU's check-in and checks its entry state. True
/// when it runs.
fn check_in(t: &mut Test, id: u64, generation: usize, s: u64, entries_before: u64) -> bool {
    let block = &START_BLOCKS[id as usize][generation];
    let slot = &SLOTS[id as usize];
    if !t.expect_status(format_args!("cpu_start({id}, {:#x}, {:#x}, {:#x})", entry_pc(), rtba(), block.ra()), s, EOK) {
        return false;
    }
    let state = hv::cpu_state(id);
    t.expect(
        state == Ok(cpu_state::RUNNING),
        format_args!("cpu_state({id}) after cpu_start: {state:?}, expected Ok(2)"),
    );
    let arrived =
        wait_for(|| slot.checkin.load(SeqCst) == block.ra() && slot.entries.load(SeqCst) == entries_before + 1);
    if !t.expect(
        arrived,
        format_args!(
            "vCPU {id} did not check in within {WAIT_SECS} s (check-in word {:#x}, entries {}, expected arg {:#x})",
            slot.checkin.load(SeqCst),
            slot.entries.load(SeqCst),
            block.ra()
        ),
    ) {
        return false;
    }
    let myid = (slot.entry_myid[0].load(SeqCst), slot.entry_myid[1].load(SeqCst));
    t.expect(myid == (EOK, id), format_args!("vCPU {id}: cpu_myid at entry answered {} / {}", St(myid.0), myid.1));
    let mmu = slot.entry_mmu_status.load(SeqCst);
    t.expect(
        mmu == HvError::Inval.code(),
        format_args!("vCPU {id}: mmu_enable(0) at entry answered {} (EINVAL = MMU already off)", St(mmu)),
    );
    let q: [u64; 3] = core::array::from_fn(|i| slot.entry_qinfo[i].load(SeqCst));
    t.expect(
        q == [EOK, 0, 0],
        format_args!(
            "vCPU {id}: cpu_qinfo(0x3c) at entry: {}, base {:#x}, {} entries (expected unconfigured)",
            St(q[0]),
            q[1],
            q[2]
        ),
    );
    let rtba_got = (slot.entry_rtba[0].load(SeqCst), slot.entry_rtba[1].load(SeqCst));
    t.expect(
        rtba_got == (EOK, rtba()),
        format_args!(
            "vCPU {id}: cpu_get_rtba at entry answered {}, {:#x} (expected {:#x})",
            St(rtba_got.0),
            rtba_got.1,
            rtba()
        ),
    );
    let regs: [u64; 3] = core::array::from_fn(|i| slot.entry_regs[i].load(SeqCst));
    say!(
        "smp: vCPU {id} checked in (arg {:#x}; entry tl {}, pil {}, pstate {:#x})",
        block.ra(),
        regs[0],
        regs[1],
        regs[2]
    );
    true
}

/// Test 1: every other vCPU starts and checks in; cpu_start's errors. Returns false (and
/// prints a skip line) when every cpu_start answers ENOCPU: the hypervisor has no strands to
/// run the other vCPUs on (one-strand QEMU).
fn start_test(run: &mut Run) -> bool {
    let mut statuses = [0; MAX_VCPUS];
    let mut entries = [0; MAX_VCPUS];
    for &id in run.others() {
        entries[id as usize] = SLOTS[id as usize].entries.load(SeqCst);
        statuses[id as usize] = start(id, 0);
    }
    if run.others().iter().all(|&id| statuses[id as usize] == HvError::NoCpu.code()) {
        say!("skip smp (cpu_start answers ENOCPU for vCPUs {}: no strands to run them)", Ids(run.others()));
        return false;
    }
    let mut t = Test::new("smp start");
    for i in 0..run.nothers {
        let id = run.others[i];
        run.running[id as usize] = check_in(&mut t, id, 0, statuses[id as usize], entries[id as usize]);
    }
    let mut running = [0; MAX_VCPUS];
    let n = run.running(&mut running);
    if let Some(&id) = running[..n].first() {
        // With a valid start block: were the call accepted, the vCPU would still run.
        let s = start(id, 1);
        t.expect_status(format_args!("cpu_start of running vCPU {id}"), s, HvError::Inval.code());
        let s = status(hcall::CPU_START, [id, entry_pc() + 2, rtba(), 0, 0]);
        t.expect_status(format_args!("cpu_start({id}) with a misaligned pc"), s, HvError::BadAlign.code());
        let s = status(hcall::CPU_START, [id, run.base + run.size, rtba(), 0, 0]);
        t.expect_status(format_args!("cpu_start({id}) with pc past the memory"), s, HvError::NoRAddr.code());
    }
    let s = status(hcall::CPU_START, [run.unknown, entry_pc(), rtba(), 0, 0]);
    t.expect_status(format_args!("cpu_start of vCPU {} (not in the domain)", run.unknown), s, HvError::NoCpu.code());
    t.finish();
    true
}

/// Test 2: mondos from the boot vCPU to every other one (one call, a list of all of them)
/// and from each of them to the boot vCPU; cpu_mondo_send's errors.
fn mondo_test(run: &mut Run) -> bool {
    let mut t = Test::new("smp mondo");
    let me = run.me;
    let mut targets = [0; MAX_VCPUS];
    let n = run.running(&mut targets);
    let targets = &targets[..n];
    if !t.expect(n > 0, format_args!("not run: no other vCPU is running")) {
        return t.finish();
    }
    // Every vCPU: an 8-entry cpu mondo queue, interrupts on.
    let own = &SLOTS[me as usize];
    own.queue_entries.store(0, SeqCst);
    let s = status(hcall::CPU_QCONF, [queue::CPU_MONDO, QUEUES[me as usize].ra(), QUEUE_ENTRIES, 0, 0]);
    t.expect_status(format_args!("boot vCPU {me}: cpu_qconf(0x3c, {:#x}, 8)", QUEUES[me as usize].ra()), s, EOK);
    own.queue_entries.store(QUEUE_ENTRIES, SeqCst);
    interrupts(true);
    for &id in targets {
        if let Some((s, _)) = command(&mut t, id, Command::QueueConf, QUEUE_ENTRIES) {
            t.expect_status(format_args!("vCPU {id}: cpu_qconf(0x3c, {:#x}, 8)", QUEUES[id as usize].ra()), s, EOK);
        }
        command(&mut t, id, Command::Interrupts, 1);
    }

    // Boot -> every other vCPU in one call.
    let before: [u64; MAX_VCPUS] = core::array::from_fn(|i| SLOTS[i].received.load(SeqCst));
    let (s, tries) = send_mondo(me, targets, 1);
    t.expect_status(
        format_args!("cpu_mondo_send({n}, [{}]) from {me} after {tries} calls (EWOULDBLOCK retried)", Ids(targets)),
        s,
        EOK,
    );
    if s == EOK {
        let done = (0..n).all(|i| cpu_list_entry(me, i) == queue::CPULIST_ENTRY_DONE);
        t.expect(done, format_args!("cpu list after EOK: every entry should be 0xffff (delivered)"));
    }
    for &id in targets {
        let slot = &SLOTS[id as usize];
        let got = wait_for(|| slot.received.load(SeqCst) > before[id as usize]);
        if t.expect(
            got,
            format_args!(
                "vCPU {id} received no mondo in {WAIT_SECS} s (cpu_mondo traps {}, bad queue offsets {})",
                slot.mondo_traps.load(SeqCst),
                slot.bad_offsets[2].load(SeqCst)
            ),
        ) {
            let r = slot.record(before[id as usize]);
            t.expect(
                r == mondo_words(me, 1),
                format_args!("vCPU {id} received {r:x?}, expected {:x?}", mondo_words(me, 1)),
            );
            let extra = slot.received.load(SeqCst) - before[id as usize];
            t.expect(extra == 1, format_args!("vCPU {id} received {extra} mondos, expected 1"));
        }
    }

    // Every other vCPU -> boot, all at once.
    let before_me = own.received.load(SeqCst);
    let mut seqs = [0; MAX_VCPUS];
    for &id in targets {
        seqs[id as usize] = post(id, Command::SendMondo, ((100 + id) << 16) | me);
    }
    for &id in targets {
        match wait_done(id, seqs[id as usize]) {
            Some((s, tries)) => {
                t.expect_status(format_args!("vCPU {id}: cpu_mondo_send(1, [{me}]) after {tries} calls"), s, EOK);
            }
            None => {
                t.expect(false, format_args!("vCPU {id} did not finish sending its mondo in {} s", 2 * WAIT_SECS));
            }
        }
    }
    let got = wait_for(|| own.received.load(SeqCst) >= before_me + n as u64);
    let received = own.received.load(SeqCst) - before_me;
    t.expect(
        got && received == n as u64,
        format_args!(
            "boot vCPU received {received} mondos, expected {n} (cpu_mondo traps {}, bad queue offsets {})",
            own.mondo_traps.load(SeqCst),
            own.bad_offsets[2].load(SeqCst)
        ),
    );
    let mut seen = [false; MAX_VCPUS];
    for k in 0..received.min(RECORDS as u64) {
        let r = own.record(before_me + k);
        let sender = r[1];
        let ok = (sender as usize) < MAX_VCPUS
            && targets.contains(&sender)
            && !seen[sender as usize]
            && r == mondo_words(sender, 100 + sender);
        if t.expect(ok, format_args!("boot vCPU received {r:x?} (unexpected sender, sequence or data, or a duplicate)"))
        {
            seen[sender as usize] = true;
        }
    }

    // Errors.
    let list = CPU_LISTS[me as usize].ra();
    let data = fill_mondo_data(me, 2);
    let mut err = |what: &str, ids: &[u64], list_ra: u64, data_ra: u64, want: HvError| {
        fill_cpu_list(me, ids);
        let s = status(hcall::CPU_MONDO_SEND, [ids.len() as u64, list_ra, data_ra, 0, 0]);
        t.expect_status(
            format_args!("cpu_mondo_send({}, [{}] at {list_ra:#x}, data {data_ra:#x}) {what}", ids.len(), Ids(ids)),
            s,
            want.code(),
        );
    };
    let other = targets[0];
    err("with its own id", &[me], list, data, HvError::Inval);
    err("with an id not in the domain", &[run.unknown], list, data, HvError::NoCpu);
    err("with an odd list address", &[other], list + 1, data, HvError::BadAlign);
    err("with data not 64-byte aligned", &[other], list, data + 8, HvError::BadAlign);
    err("with the list outside memory", &[other], run.base + run.size, data, HvError::NoRAddr);
    err("with the data outside memory", &[other], list, run.base + run.size, HvError::NoRAddr);
    // None of the refused calls may have delivered anything.
    let quiet = targets.iter().all(|&id| SLOTS[id as usize].received.load(SeqCst) == before[id as usize] + 1);
    t.expect(quiet, format_args!("a refused cpu_mondo_send delivered a mondo"));
    t.finish()
}

/// Test 3: a target whose 2-entry queue is full and not drained: the first two mondos are
/// accepted (one in the queue, one in its mailbox), the third answers EWOULDBLOCK as long
/// as the target does not drain. Once it drains mondo 1 (polling HEAD/TAIL, no trap), the
/// sender's retries of mondo 3 succeed; the target then drains mondo 2 and makes
/// hypercalls, on which the hypervisor moves mondo 3 in: all three arrive in order, intact.
fn overflow_test(run: &mut Run) -> bool {
    let mut t = Test::new("smp queue overflow");
    let me = run.me;
    let Some(target) = run.first_running(&mut t) else {
        return t.finish();
    };
    let slot = &SLOTS[target as usize];
    if let Some((s, _)) = command(&mut t, target, Command::QueueConf, SMALL_QUEUE_ENTRIES) {
        t.expect_status(format_args!("vCPU {target}: cpu_qconf(0x3c, …, 2) (PSTATE.IE = 0)"), s, EOK);
    }
    let before = slot.received.load(SeqCst);
    for seq in [1, 2] {
        let (s, tries) = send_mondo(me, &[target], seq);
        t.expect_status(format_args!("mondo {seq} to vCPU {target} after {tries} calls"), s, EOK);
    }
    // The queue holds mondo 1, the mailbox mondo 2: mondo 3 must wait.
    let list = fill_cpu_list(me, &[target]);
    let data = fill_mondo_data(me, 3);
    let start = stick();
    let mut refused = 0;
    for i in 0..STUCK_TRIES {
        let s = status(hcall::CPU_MONDO_SEND, [1, list, data, 0, 0]);
        if !t.expect_status(
            format_args!("mondo 3 to vCPU {target} with its queue full, try {i}"),
            s,
            HvError::WouldBlock.code(),
        ) {
            break;
        }
        refused += 1;
        let entry = cpu_list_entry(me, 0);
        if !t.expect(
            entry == target as u16,
            format_args!("cpu list entry after EWOULDBLOCK: {entry:#x}, expected {target}"),
        ) {
            break;
        }
        let next = stick() + STUCK_GAP_TICKS;
        while stick() < next {
            core::hint::spin_loop();
        }
    }
    let waited = stick() - start;
    let nothing = slot.received.load(SeqCst) == before;
    t.expect(nothing, format_args!("vCPU {target} received mondos while not draining"));
    // The target takes mondo 1 out of its queue, without trapping into the hypervisor.
    if let Some((got, _)) = command(&mut t, target, Command::Drain, 1) {
        t.expect(got == 1, format_args!("vCPU {target} drained {got} mondos, expected mondo 1"));
    }
    // The sender's retries of mondo 3 poke the target: the hypervisor moves mondo 2 into
    // the queue, which frees the mailbox for mondo 3 (the queue is full again).
    let (s, tries) = send_mondo(me, &[target], 3);
    t.expect_status(format_args!("mondo 3 to vCPU {target} once mondo 1 is drained, after {tries} calls"), s, EOK);
    // The target drains mondo 2 and makes hypercalls (cpu_myid): on one of those traps the
    // hypervisor must move mondo 3 from the mailbox into the queue (nobody pokes it now).
    if let Some((got, _)) = command(&mut t, target, Command::Drain, 2 | DRAIN_HYPERCALLS) {
        t.expect(
            got == 2,
            format_args!(
                "vCPU {target} drained {got} of mondos 2 and 3 in {WAIT_SECS} s while polling its queue and making \
                 hypercalls (cpu_myid): a mondo left in the hypervisor's mailbox is not moved into the queue on the \
                 target's hypercalls (bad queue offsets {})",
                slot.bad_offsets[2].load(SeqCst)
            ),
        );
    }
    let got = slot.received.load(SeqCst) - before;
    for k in 0..got.min(3) {
        let r = slot.record(before + k);
        t.expect(
            r == mondo_words(me, k + 1),
            format_args!("vCPU {target}: mondo {} received as {r:x?}, expected {:x?}", k + 1, mondo_words(me, k + 1)),
        );
    }
    // Back to an 8-entry queue with interrupts on.
    if let Some((s, _)) = command(&mut t, target, Command::QueueConf, QUEUE_ENTRIES) {
        t.expect_status(format_args!("vCPU {target}: cpu_qconf(0x3c, …, 8) again"), s, EOK);
    }
    command(&mut t, target, Command::Interrupts, 1);
    let ok = t.finish();
    say!("smp: mondo 3 answered EWOULDBLOCK {refused} times over {} us", waited * 1_000_000 / STICK_HZ.load(SeqCst));
    ok
}

/// Test 4: cpu_stop of a running vCPU, its errors, and a restart with a new argument.
fn stop_restart_test(run: &mut Run) -> bool {
    let mut t = Test::new("smp stop/restart");
    let me = run.me;
    let Some(target) = run.first_running(&mut t) else {
        return t.finish();
    };
    let slot = &SLOTS[target as usize];
    let s = status(hcall::CPU_STOP, [target, 0, 0, 0, 0]);
    if t.expect_status(format_args!("cpu_stop({target})"), s, EOK) {
        run.running[target as usize] = false;
        let state = hv::cpu_state(target);
        t.expect(
            state == Ok(cpu_state::STOPPED),
            format_args!("cpu_state({target}) after cpu_stop: {state:?}, expected Ok(1)"),
        );
        // Stopped: its command loop no longer runs (an absence, looked at for 20 ms).
        let beat = slot.heartbeat.load(SeqCst);
        let until = stick() + STICK_HZ.load(SeqCst) / 50;
        while stick() < until {
            core::hint::spin_loop();
        }
        let later = slot.heartbeat.load(SeqCst);
        t.expect(beat == later, format_args!("vCPU {target} still runs after cpu_stop (heartbeat {beat} -> {later})"));
        let s = status(hcall::CPU_STOP, [target, 0, 0, 0, 0]);
        t.expect_status(format_args!("cpu_stop({target}) when stopped"), s, HvError::Inval.code());
        // The spec does not say what a mondo to a stopped vCPU answers: anything but EOK.
        fill_cpu_list(me, &[target]);
        let s = status(hcall::CPU_MONDO_SEND, [1, CPU_LISTS[me as usize].ra(), fill_mondo_data(me, 9), 0, 0]);
        t.expect(s != EOK, format_args!("cpu_mondo_send to stopped vCPU {target} answered EOK"));
        say!("smp: cpu_mondo_send to stopped vCPU {target} answers {}", St(s));
        let entries = slot.entries.load(SeqCst);
        let s = start(target, 1);
        if check_in(&mut t, target, 1, s, entries) {
            run.running[target as usize] = true;
            t.expect(
                slot.entries.load(SeqCst) == 2,
                format_args!("vCPU {target} entered {} times, expected 2", slot.entries.load(SeqCst)),
            );
            if let Some((r, _)) = command(&mut t, target, Command::Nop, 0) {
                t.expect(r == 0, format_args!("vCPU {target} answered {r} to a no-op after its restart"));
            }
        }
    }
    let s = status(hcall::CPU_STOP, [me, 0, 0, 0, 0]);
    t.expect_status(format_args!("cpu_stop({me}) of the caller itself"), s, HvError::Inval.code());
    t.finish()
}

/// Test 5: every other vCPU stopped, so that the domain ends (mach_sir, mach_exit) as
/// with one vCPU.
fn stop_all(run: &mut Run) -> bool {
    let mut t = Test::new("smp stop all");
    for i in 0..run.nothers {
        let id = run.others[i];
        if run.running[id as usize] {
            let s = status(hcall::CPU_STOP, [id, 0, 0, 0, 0]);
            t.expect_status(format_args!("cpu_stop({id})"), s, EOK);
            run.running[id as usize] = false;
        }
        let state = hv::cpu_state(id);
        t.expect(
            state == Ok(cpu_state::STOPPED),
            format_args!("cpu_state({id}) at the end: {state:?}, expected Ok(1)"),
        );
    }
    t.finish()
}

/// Runs the SMP tests when the guest MD lists more than one vCPU.
pub fn run(base: u64, size: u64) {
    let mut ids = [0; MAX_VCPUS];
    let n = match md_vcpus(&mut ids) {
        Ok(n) => n,
        Err(e) => {
            check("smp", false, format_args!("{e}"));
            return;
        }
    };
    let me = match hv::cpu_myid() {
        Ok(id) => id,
        Err(e) => {
            check("smp", false, format_args!("cpu_myid: {e}"));
            return;
        }
    };
    let mut run = Run {
        base,
        size,
        me,
        others: [0; MAX_VCPUS],
        nothers: 0,
        running: [false; MAX_VCPUS],
        unknown: (0..).find(|id| !ids[..n].contains(id)).unwrap_or(MAX_VCPUS as u64),
    };
    for &id in ids[..n].iter().filter(|&&id| id != me) {
        run.others[run.nothers] = id;
        run.nothers += 1;
    }
    if run.nothers == 0 {
        say!("skip smp (one vCPU)");
        return;
    }
    say!("smp: vCPUs {} in the MD, boot vCPU {me}", Ids(&ids[..n]));
    // SAFETY: reads PIL.
    let pil = unsafe { guest_pil() };
    if start_test(&mut run) {
        mondo_test(&mut run);
        overflow_test(&mut run);
        stop_restart_test(&mut run);
        stop_all(&mut run);
    }
    // The boot vCPU as before: interrupts off, PIL back, no cpu mondo queue.
    interrupts(false);
    // SAFETY: restores the PIL the tests started with.
    unsafe { guest_set_pil(pil) };
    SLOTS[me as usize].queue_entries.store(0, SeqCst);
    let s = status(hcall::CPU_QCONF, [queue::CPU_MONDO, 0, 0, 0, 0]);
    if s != EOK {
        check("smp", false, format_args!("boot vCPU: cpu_qconf(0x3c, 0, 0): {}", St(s)));
    }
}
