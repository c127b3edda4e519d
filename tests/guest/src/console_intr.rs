//! The console interrupt test (`GUEST_MODE=console-interrupt`, image
//! `console-interrupt-guest`, case `console-interrupt`, patched QEMU only): the console's
//! device interrupt under INTR 1.0's state machine (hv-api.md §2.5, §4.4).
//!
//! The guest finds the console's devino (the `intr` of the console `virtual-device` node)
//! and the devhandle (the `cfg-handle` of `virtual-devices`) in its MD, gets the sysino
//! (`intr_devino2sysino`), configures its device mondo queue (`cpu_qconf(0x3d, …)`),
//! targets the interrupt at itself, enables it and waits with PSTATE.IE = 1 and PIL 0 for
//! dev_mondo (trap 0x7d) while the case types a key after the prompt. Then, with that key
//! still unread:
//! - nothing more arrives while the interrupt is DELIVERED;
//! - set back to IDLE while disabled, it stays IDLE and nothing arrives;
//! - enabled again, the pending input delivers it again;
//! - set IDLE with the device mondo queue unconfigured, it goes RECEIVED (and no entry is
//!   written); once the queue is configured again it is delivered;
//! - `cons_getchar` returns the key; set IDLE with no input left, nothing arrives;
//! - a second key (second prompt) delivers it once more.
//!
//! Every wait for something to happen is bounded by a `%stick` deadline; the checks that
//! nothing happens wait [`QUIET_MS`] (the hypervisor polls about every millisecond). The
//! guest prints one `test-guest: ok console interrupt …` line per step and
//! `test-guest: FAIL …` lines for the checks that failed, then `mach_exit(failures)`.

use crate::rt::{check, failures, STICK_HZ};
use crate::smp::MAX_VCPUS;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use hv_api::error::{HvError, EOK};
use hv_api::guest as hv;
use hv_api::{group, hcall, queue};

/// Entries of the device mondo queue.
const QUEUE_ENTRIES: u64 = 8;
/// Received mondos the test remembers (a ring).
const RECORDS: usize = 8;
/// INTR 1.0 interrupt states (hv-api.md §2.5).
const IDLE: u64 = 0;
const RECEIVED: u64 = 1;
const DELIVERED: u64 = 2;
/// Seconds the test waits for a typed key.
const KEY_WAIT_SECS: u64 = 20;
/// Seconds it waits for anything else that must happen.
const WAIT_SECS: u64 = 5;
/// Milliseconds it watches for something that must not happen.
const QUIET_MS: u64 = 50;
/// The keys the case types, in order.
const KEYS: [u8; 3] = [b'a', b'b', b'c'];

/// A device mondo queue: [`QUEUE_ENTRIES`] entries, aligned to its size.
#[repr(C, align(512))]
struct QueueMem(UnsafeCell<[u8; (QUEUE_ENTRIES * queue::ENTRY_SIZE) as usize]>);

// SAFETY: written by the hypervisor, read by the one vCPU whose queue it is.
unsafe impl Sync for QueueMem {}

/// One vCPU's device mondo queue and what its dev_mondo handler received.
struct DevQueue {
    mem: QueueMem,
    /// Entries of the configured queue (0: none; the dev_mondo handler then reports the trap
    /// as unexpected).
    configured: AtomicU64,
    /// dev_mondo traps taken.
    traps: AtomicU64,
    /// Mondos received (index of the next record, modulo [`RECORDS`]).
    received: AtomicU64,
    /// HEAD or TAIL seen outside the queue: count.
    bad_offsets: AtomicU64,
    /// The received mondos' 8 words.
    records: [[AtomicU64; 8]; RECORDS],
}

impl DevQueue {
    const fn new() -> Self {
        DevQueue {
            mem: QueueMem(UnsafeCell::new([0; (QUEUE_ENTRIES * queue::ENTRY_SIZE) as usize])),
            configured: AtomicU64::new(0),
            traps: AtomicU64::new(0),
            received: AtomicU64::new(0),
            bad_offsets: AtomicU64::new(0),
            records: [const { [const { AtomicU64::new(0) }; 8] }; RECORDS],
        }
    }
    fn ra(&self) -> u64 {
        self.mem.0.get() as u64
    }
    /// Mondos received so far.
    fn count(&self) -> u64 {
        self.received.load(SeqCst)
    }
}

/// The device mondo queues, by vCPU id.
static QUEUES: [DevQueue; MAX_VCPUS] = [const { DevQueue::new() }; MAX_VCPUS];
static MD: crate::rt::Buffer<8192> = crate::rt::Buffer::new();
extern "C" {
    fn guest_queue_read(reg: u64) -> u64;
    fn guest_queue_write(reg: u64, value: u64);
}

/// Device mondos vCPU `id` has received so far (0 for an id beyond [`MAX_VCPUS`]).
pub(crate) fn dev_mondos(id: u64) -> u64 {
    QUEUES.get(id as usize).map_or(0, DevQueue::count)
}

/// The 8 words of device mondo number `k` (counting from 0) that vCPU `id` received, if it
/// is still among the last [`RECORDS`].
pub(crate) fn dev_mondo(id: u64, k: u64) -> Option<[u64; 8]> {
    let q = QUEUES.get(id as usize)?;
    if k >= q.count() || q.count() - k > RECORDS as u64 {
        return None;
    }
    let r = &q.records[(k % RECORDS as u64) as usize];
    Some(core::array::from_fn(|i| r[i].load(SeqCst)))
}

/// Moves the entries of this vCPU's device mondo queue `q` (`n` entries) into its records
/// and advances HEAD (hv-api.md §4.4). Runs with PSTATE.IE = 0 (in the trap handler).
fn drain(q: &DevQueue, n: u64) {
    let size = n * queue::ENTRY_SIZE;
    loop {
        // SAFETY: reads the ASI_QUEUE registers.
        let (head, tail) =
            unsafe { (guest_queue_read(queue::DEV_MONDO_HEAD), guest_queue_read(queue::DEV_MONDO_TAIL)) };
        if queue::is_empty(head, tail) {
            return;
        }
        let inside = |off: u64| off < size && off.is_multiple_of(queue::ENTRY_SIZE);
        if !inside(head) || !inside(tail) {
            q.bad_offsets.fetch_add(1, SeqCst);
            // SAFETY: writes HEAD; the queue is empty afterwards.
            unsafe { guest_queue_write(queue::DEV_MONDO_HEAD, tail) };
            return;
        }
        let entry = (q.ra() + head) as *const u64;
        let k = q.count();
        for (i, word) in q.records[(k % RECORDS as u64) as usize].iter().enumerate() {
            // SAFETY: inside the queue, which the hypervisor wrote before TAIL.
            word.store(unsafe { core::ptr::read_volatile(entry.add(i)) }, SeqCst);
        }
        q.received.store(k + 1, SeqCst);
        // SAFETY: writes HEAD past the entry just consumed.
        unsafe { guest_queue_write(queue::DEV_MONDO_HEAD, queue::next_offset(head, n)) };
    }
}

/// The dev_mondo trap (0x7d, TL 0 half of the trap table): drains this vCPU's device mondo
/// queue.
#[no_mangle]
extern "C" fn guest_dev_mondo(tpc: u64, tl: u64) {
    let q = hv::cpu_myid().ok().and_then(|id| QUEUES.get(id as usize));
    match q.map(|q| (q, q.configured.load(SeqCst))) {
        Some((q, n)) if n != 0 => {
            q.traps.fetch_add(1, SeqCst);
            drain(q, n);
        }
        _ => crate::rt::guest_unexpected_trap(hv_api::trap::tt::DEV_MONDO, tpc, tl),
    }
}

/// `cpu_qconf` of vCPU `id`'s device mondo queue with `n` entries (0: unconfigure), run by
/// that vCPU, which sets PSTATE.IE = 0 first; returns the status.
pub(crate) fn configure_queue(id: u64, n: u64) -> u64 {
    crate::smp::interrupts(false);
    let q = &QUEUES[id as usize];
    q.configured.store(0, SeqCst);
    let ra = if n == 0 { 0 } else { q.ra() };
    // SAFETY: the queue memory is this vCPU's and only its drain reads it.
    let s = match unsafe { hv::cpu_qconf(queue::DEV_MONDO, ra, n) } {
        Ok(()) => EOK,
        Err(e) => e.code(),
    };
    if s == EOK {
        q.configured.store(n, SeqCst);
    }
    s
}

fn stick() -> u64 {
    crate::smp::stick()
}

/// Waits until `done()` or `ticks` of `%stick` have passed; true if `done()`.
fn wait_ticks(ticks: u64, done: impl FnMut() -> bool) -> bool {
    crate::smp::wait_until(stick() + ticks, done)
}

/// Waits up to `secs` seconds for `done()`.
fn wait_secs(secs: u64, done: impl FnMut() -> bool) -> bool {
    wait_ticks(secs * STICK_HZ.load(SeqCst), done)
}

/// Mondos received by all vCPUs so far.
fn total() -> u64 {
    QUEUES.iter().map(DevQueue::count).sum()
}

/// Watches for [`QUIET_MS`]; true if no vCPU received a mondo (the total stayed at `count`).
fn quiet(count: u64) -> bool {
    !wait_ticks(QUIET_MS * STICK_HZ.load(SeqCst) / 1000, || total() != count)
}

/// An INTR 1.0 call with two arguments: (status, first return value).
fn intr(function: u64, a: u64, b: u64) -> (u64, u64) {
    // SAFETY: the INTR calls take no addresses.
    let (s, r) = unsafe { hv::fast_trap(function, [a, b, 0, 0, 0]) };
    (s, r[0])
}

/// `intr_getstate(sysino)` as (status, state).
fn state(sysino: u64) -> (u64, u64) {
    intr(hcall::INTR_GETSTATE, sysino, 0)
}

/// One step: a FAIL line per failed check, one `ok` line at the end if none failed.
struct Step {
    name: &'static str,
    failed: bool,
}

impl Step {
    fn new(name: &'static str) -> Self {
        Step { name, failed: false }
    }
    fn expect(&mut self, ok: bool, detail: core::fmt::Arguments<'_>) -> bool {
        if !ok {
            self.failed = true;
            check(self.name, false, detail);
        }
        ok
    }
    /// Expects `(status, value)` to be `(EOK, want)`.
    fn expect_ok(&mut self, what: &str, got: (u64, u64), want: u64) -> bool {
        self.expect(got == (EOK, want), format_args!("{what}: got (status {}, {}), expected (0, {want})", got.0, got.1))
    }
    /// Expects status EOK of a call that returns nothing else.
    fn expect_eok(&mut self, what: &str, got: (u64, u64)) -> bool {
        self.expect(got.0 == EOK, format_args!("{what}: status {}, expected 0", got.0))
    }
    fn finish(self) -> bool {
        if !self.failed {
            check(self.name, true, format_args!(""));
        }
        !self.failed
    }
}

/// Expects exactly `count` mondos in queue `q` so far, the last one `[sysino, 0, …]`.
fn expect_mondo(t: &mut Step, what: &str, q: &DevQueue, count: u64, sysino: u64) {
    let got = q.count();
    if !t.expect(got == count, format_args!("{what}: {got} dev mondos received, expected {count}")) || got == 0 {
        return;
    }
    let r = &q.records[((got - 1) % RECORDS as u64) as usize];
    let words: [u64; 8] = core::array::from_fn(|i| r[i].load(SeqCst));
    let mut want = [0u64; 8];
    want[0] = sysino;
    t.expect(
        words == want,
        format_args!("{what}: dev mondo {words:#x?}, expected word 0 = sysino {sysino:#x}, the others 0"),
    );
}

/// What the test takes from the guest MD.
struct MdInfo {
    /// `cfg-handle` of the virtual-devices node.
    devhandle: u64,
    /// `intr` of the console virtual-device node.
    devino: u64,
    /// The first vCPU of the MD other than `me`.
    other: Option<u64>,
}

/// Reads the guest MD.
fn md_info(me: u64) -> Result<MdInfo, &'static str> {
    let md = crate::rt::read_guest_md(&MD)?;
    let vdev = md.nodes_named("virtual-devices").next().ok_or("no virtual-devices node")?;
    let devhandle = vdev.val("cfg-handle").ok_or("virtual-devices has no cfg-handle")?;
    let console = md
        .nodes_named("virtual-device")
        .find(|n| n.str("name") == Some("console"))
        .ok_or("no console virtual-device node")?;
    let devino = console.val("intr").ok_or("the console node has no intr")?;
    let other = md.nodes_named("cpu").filter_map(|c| c.val("id")).find(|&id| id != me && id < MAX_VCPUS as u64);
    Ok(MdInfo { devhandle, devino, other })
}

/// Runs the test and exits with the number of failed checks.
#[cfg_attr(not(guest_console_intr), allow(dead_code))]
pub fn run() -> ! {
    let mut t = Step::new("console interrupt setup");
    t.expect(hv::api_set_version(group::INTR, 1, 0) == Ok(0), format_args!("api_set_version(INTR, 1, 0) refused"));
    // cpu_stop (the test of another target) is Core 1.1.
    t.expect(hv::api_set_version(group::CORE, 1, 1) == Ok(1), format_args!("api_set_version(CORE, 1, 1) refused"));
    let me = hv::cpu_myid().unwrap_or(0);
    let MdInfo { devhandle, devino, other } = match md_info(me) {
        Ok(d) => d,
        Err(e) => {
            t.expect(false, format_args!("{e}"));
            hv::mach_exit(1)
        }
    };
    let mine = &QUEUES[me as usize];
    let (s, sysino) = intr(hcall::INTR_DEVINO2SYSINO, devhandle, devino);
    if !t.expect(s == EOK, format_args!("intr_devino2sysino({devhandle:#x}, {devino:#x}): status {s}")) {
        hv::mach_exit(1)
    }
    say!("console interrupt: devhandle {devhandle:#x}, devino {devino:#x}, sysino {sysino:#x}");
    t.expect_ok("intr_gettarget at start (the boot vCPU)", intr(hcall::INTR_GETTARGET, sysino, 0), me);
    t.expect_ok("intr_getenabled at start", intr(hcall::INTR_GETENABLED, sysino, 0), 0);
    t.expect_ok("intr_getstate at start", state(sysino), IDLE);
    t.expect_eok("intr_settarget(self)", intr(hcall::INTR_SETTARGET, sysino, me));
    let s = configure_queue(me, QUEUE_ENTRIES);
    t.expect(s == EOK, format_args!("cpu_qconf(dev mondo, {QUEUE_ENTRIES} entries): status {s}"));
    t.expect_eok("intr_setenabled(1)", intr(hcall::INTR_SETENABLED, sysino, 1));
    crate::smp::interrupts(true);
    t.expect(quiet(0), format_args!("a dev mondo arrived before any input"));
    t.finish();

    // 1. The first key delivers the interrupt.
    let mut t = Step::new("console interrupt delivered");
    say!("console interrupt: type a key");
    let arrived = wait_secs(KEY_WAIT_SECS, || mine.count() >= 1);
    t.expect(arrived, format_args!("no dev mondo within {KEY_WAIT_SECS} s of the prompt"));
    if arrived {
        expect_mondo(&mut t, "first key", mine, 1, sysino);
        t.expect_ok("intr_getstate after the mondo", state(sysino), DELIVERED);
    }
    t.finish();
    if !arrived {
        hv::mach_exit(failures())
    }

    // 2. Nothing more while DELIVERED, nor while disabled (input still pending).
    let mut t = Step::new("console interrupt held while delivered or disabled");
    t.expect(quiet(1), format_args!("a second dev mondo arrived while the state was DELIVERED"));
    t.expect_eok("intr_setenabled(0)", intr(hcall::INTR_SETENABLED, sysino, 0));
    t.expect_eok("intr_setstate(IDLE) while disabled", intr(hcall::INTR_SETSTATE, sysino, IDLE));
    t.expect(quiet(1), format_args!("a dev mondo arrived while the interrupt was disabled"));
    t.expect_ok("intr_getstate while disabled", state(sysino), IDLE);
    t.finish();

    // 3. Enabled again with the key still unread: delivered again.
    let mut t = Step::new("console interrupt redelivered while input is pending");
    t.expect_eok("intr_setenabled(1)", intr(hcall::INTR_SETENABLED, sysino, 1));
    let arrived = wait_secs(WAIT_SECS, || mine.count() >= 2);
    t.expect(arrived, format_args!("no dev mondo within {WAIT_SECS} s of enabling with input pending"));
    expect_mondo(&mut t, "redelivery", mine, 2, sysino);
    t.expect_ok("intr_getstate", state(sysino), DELIVERED);
    t.finish();

    // 4. No queue: RECEIVED, delivered once the queue is back.
    let mut t = Step::new("console interrupt waits for the dev mondo queue");
    let s = configure_queue(me, 0);
    t.expect(s == EOK, format_args!("cpu_qconf(dev mondo, 0 entries): status {s}"));
    t.expect_eok("intr_setstate(IDLE) with no queue", intr(hcall::INTR_SETSTATE, sysino, IDLE));
    let received = wait_secs(WAIT_SECS, || state(sysino) == (EOK, RECEIVED));
    t.expect(
        received,
        format_args!("state {:?} {WAIT_SECS} s after IDLE with no queue, expected RECEIVED", state(sysino)),
    );
    let s = configure_queue(me, QUEUE_ENTRIES);
    t.expect(s == EOK, format_args!("cpu_qconf(dev mondo) again: status {s}"));
    crate::smp::interrupts(true);
    let arrived = wait_secs(WAIT_SECS, || mine.count() >= 3);
    t.expect(arrived, format_args!("no dev mondo within {WAIT_SECS} s of configuring the queue again"));
    expect_mondo(&mut t, "delivery to the new queue", mine, 3, sysino);
    t.expect_ok("intr_getstate", state(sysino), DELIVERED);
    t.finish();

    // 5. Reading the key ends the input: IDLE stays IDLE.
    let mut t = Step::new("console interrupt quiet once the input is read");
    let c = hv::cons_getchar();
    t.expect(c == Ok(KEYS[0] as u64), format_args!("cons_getchar: {c:?}, expected Ok({})", KEYS[0]));
    let c = hv::cons_getchar();
    t.expect(c == Err(HvError::WouldBlock), format_args!("cons_getchar again: {c:?}, expected EWOULDBLOCK"));
    t.expect_eok("intr_setstate(IDLE)", intr(hcall::INTR_SETSTATE, sysino, IDLE));
    t.expect(quiet(3), format_args!("a dev mondo arrived with no input pending"));
    t.expect_ok("intr_getstate", state(sysino), IDLE);
    t.finish();

    // 6. A second key: a new interrupt.
    let mut t = Step::new("console interrupt second key");
    say!("console interrupt: type another key");
    let arrived = wait_secs(KEY_WAIT_SECS, || mine.count() >= 4);
    t.expect(arrived, format_args!("no dev mondo within {KEY_WAIT_SECS} s of the second prompt"));
    expect_mondo(&mut t, "second key", mine, 4, sysino);
    t.expect_ok("intr_getstate", state(sysino), DELIVERED);
    let c = hv::cons_getchar();
    t.expect(c == Ok(KEYS[1] as u64), format_args!("cons_getchar: {c:?}, expected Ok({})", KEYS[1]));
    t.expect_eok("intr_setstate(IDLE)", intr(hcall::INTR_SETSTATE, sysino, IDLE));
    t.expect(quiet(4), format_args!("a dev mondo arrived with no input pending"));
    t.finish();

    // 7. Another vCPU as the target: its strand's timer delivers into its queue.
    match other {
        Some(other) => another_target(sysino, me, other),
        None => say!("console interrupt: one vCPU in the MD, no other target to test"),
    }

    crate::smp::interrupts(false);
    let mut t = Step::new("console interrupt cleanup");
    t.expect_eok("intr_setenabled(0)", intr(hcall::INTR_SETENABLED, sysino, 0));
    let s = configure_queue(me, 0);
    t.expect(s == EOK, format_args!("cpu_qconf(dev mondo, 0 entries): status {s}"));
    for (id, q) in QUEUES.iter().enumerate() {
        let bad = q.bad_offsets.load(SeqCst);
        t.expect(bad == 0, format_args!("vCPU {id}: HEAD or TAIL outside the queue {bad} times"));
        let (traps, count) = (q.traps.load(SeqCst), q.count());
        t.expect(
            (traps == 0) == (count == 0) && traps <= count,
            format_args!("vCPU {id}: {traps} dev_mondo traps for {count} mondos"),
        );
    }
    t.finish();
    let failed = failures();
    check("console interrupt", failed == 0, format_args!("{failed} checks failed"));
    hv::mach_exit(failures())
}

/// Step 7: `intr_settarget` to vCPU `other` (started for it, with a device mondo queue of
/// its own and PSTATE.IE = 1): a third key is delivered into `other`'s queue, not `me`'s.
fn another_target(sysino: u64, me: u64, other: u64) {
    let mut t = Step::new("console interrupt on another vCPU");
    let before = QUEUES[me as usize].count();
    if let Err(e) = crate::smp::start_helper(other) {
        t.expect(false, format_args!("vCPU {other}: {e}"));
        t.finish();
        return;
    }
    let s = crate::smp::helper_dev_queue(other, QUEUE_ENTRIES, true);
    t.expect(s == Some(EOK), format_args!("vCPU {other}: cpu_qconf(dev mondo): {s:?}"));
    t.expect_eok("intr_settarget(other vCPU)", intr(hcall::INTR_SETTARGET, sysino, other));
    t.expect_ok("intr_gettarget", intr(hcall::INTR_GETTARGET, sysino, 0), other);
    let theirs = &QUEUES[other as usize];
    say!("console interrupt: type a key for vCPU {other}");
    let arrived = wait_secs(KEY_WAIT_SECS, || theirs.count() >= 1);
    t.expect(arrived, format_args!("no dev mondo on vCPU {other} within {KEY_WAIT_SECS} s of the prompt"));
    expect_mondo(&mut t, "key for the other vCPU", theirs, 1, sysino);
    let mine = QUEUES[me as usize].count();
    t.expect(mine == before, format_args!("the boot vCPU received {} dev mondos meanwhile", mine - before));
    t.expect_ok("intr_getstate", state(sysino), DELIVERED);
    let c = hv::cons_getchar();
    t.expect(c == Ok(KEYS[2] as u64), format_args!("cons_getchar: {c:?}, expected Ok({})", KEYS[2]));
    t.expect_eok("intr_setstate(IDLE)", intr(hcall::INTR_SETSTATE, sysino, IDLE));
    t.expect(quiet(total()), format_args!("a dev mondo arrived with no input pending"));
    t.expect_eok("intr_settarget(self) again", intr(hcall::INTR_SETTARGET, sysino, me));
    let s = crate::smp::helper_dev_queue(other, 0, false);
    t.expect(s == Some(EOK), format_args!("vCPU {other}: cpu_qconf(dev mondo, 0 entries): {s:?}"));
    let stopped = hv::cpu_stop(other);
    t.expect(stopped == Ok(()), format_args!("cpu_stop({other}): {stopped:?}"));
    t.finish();
}
