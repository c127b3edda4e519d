//! LDC tests (docs/ldc.md; hv-api.md §2.5, §2.6, §6): run when the guest MD lists
//! `channel-endpoint` nodes (case `two-domains-ldc`: two domains running this same image
//! side by side, joined by two channels).
//!
//! The endpoints are taken in the order the `channel-devices` node lists them, which is the
//! order of the configuration's `[[channel]]` tables in both domains, so endpoint *k* of one
//! domain is joined to endpoint *k* of the other. The devhandle of their interrupts is the
//! `cfg-handle` of `channel-devices`.
//!
//! Every step that involves the other domain is a handshake: a packet, or a channel state
//! the other side changes only after it has seen the step before. Every wait is a poll loop
//! with a bound on the number of polls (each poll makes a hypercall), never a time.
//!
//! 0. **Arguments**, alone: every LDC call with an unknown channel (`ECHANNEL`), queue and
//!    map-table configuration at and across the edges of the domain's memory, tail rules,
//!    `ldc_copy` argument errors, `ldc_unmap`/`ldc_revoke` of nothing, the `vintr_*` calls
//!    (start state, unknown devhandle or devino, `ENOCPU`). Nothing here configures a receive
//!    queue, so the peer's view of the channels does not change.
//! 1. **Hello** on endpoint 0: both configure their queues and exchange a raw packet with
//!    their memory base; the domain with the lower base is *A*, the other *B*.
//! 2. **Link state** on endpoint 1, twice (A configures first, then B): DOWN until
//!    the peer configures its receive queue (`EWOULDBLOCK` meanwhile, tail unchanged), then UP;
//!    head rules; RESET once after the peer reconfigures its receive queue, then UP; RESET
//!    once after it unconfigures it, then DOWN; pending packets dropped by a reconfiguration.
//! 3. **Interrupts** on endpoint 0: each domain's rx interrupt (its cookie, aimed at itself,
//!    valid) delivered through its device mondo queue for a packet, held while DELIVERED,
//!    raised again at once by `vintr_setstate(IDLE)` and by `vintr_setvalid(1)` with packets
//!    pending, not raised while invalid; aimed at the domain's second vCPU (when the MD has
//!    one), into that vCPU's device mondo queue.
//! 4. **Modes**: N packets each way in RAW mode, then in unreliable and in reliable (STREAM,
//!    mode 3) mode after the VERS (a NACK first) / RTS / RTR / RDX handshake (hv-api.md
//!    §6.3), sequence numbers, acks and payloads checked.
//! 5. **Full queue**: each domain fills the other's receive queue: `EWOULDBLOCK` with the
//!    tail unchanged (also for several packets that do not all fit), nothing dropped; the tx
//!    interrupt once the peer drains, then the rest.
//! 6. **Shared memory**: each domain exports pages through its map table; the other copies
//!    (`ldc_copy`, across two entries, partial copies, the 64 KiB limit, every error), maps
//!    them (`ldc_mapin`: a TSB entry and `mmu_map_addr` with the MMU on, a writable TTE to a
//!    read-only page that must not write; neither real accesses with the MMU off nor
//!    `mmu_map_perm_addr` reach the page), unmaps them (the page is gone), uses up the
//!    endpoint's 8 map-in slots (`ETOOMANY`), and the exporter revokes a page the importer
//!    mapped (its next access is a data access exception).
//! 7. **Reset**: B ends its tests with `mach_sir` (as the guest always does; even after a
//!    failure, since A waits for it); A sees the link DOWN with an rx interrupt, removes its
//!    receive queue, sees UP again when B's restarted guest configures its queues
//!    ([`after_sir`]) and configures its own again; a packet each way. Then the roles turn:
//!    A ends with `mach_sir` and B sees the same. Both leave with `mach_exit`.
//!
//! Until the hypervisor offers the LDOM group the module prints `LDC: group not offered`
//! and returns.

use crate::mmu_tests as mmu;
use crate::rt::check;
use core::cell::UnsafeCell;
use core::fmt::Debug;
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use hv_api::error::{HvError, HvResult, EOK};
use hv_api::group;
use hv_api::guest as hv;
use hv_api::ldc::{self as l, make_cookie, pkt_type, state, stype, Handshake, Mte, Packet};
use hv_api::mmu::PageSize;

/// Entries of every queue the tests configure.
const ENTRIES: u64 = 16;
/// Bytes of a queue.
const QSIZE: u64 = ENTRIES * l::PACKET_SIZE as u64;
/// Packets a queue holds (head = tail means empty).
const CAPACITY: u64 = ENTRIES - 1;
/// Endpoints the tests use.
const MAX_EPS: usize = 2;
/// Bound of every wait, in polls (each with a hypercall).
const POLLS: u64 = 1 << 23;
/// Bound of the first wait for the other domain, which may still be running its other tests.
const FIRST_POLLS: u64 = 1 << 27;
/// Packets each way in each mode.
const N: u64 = 40;
/// Entries of the map table.
const TABLE_ENTRIES: u64 = 32;
/// Map-in slots of an endpoint (docs/ldc.md).
const MAPIN_SLOTS: u64 = 8;
/// 8 KiB.
const PAGE: u64 = mmu::PAGE_8K;
/// Entries of the device mondo queue.
const DEV_QUEUE_ENTRIES: u64 = 8;
/// Virtual addresses of the importer's TTEs.
const VA_MAP: u64 = 0x5_0000_0000;

/// First word of the tests' own raw packets ("LDCTEST" and a version).
const MAGIC: u64 = 0x4c44_4354_4553_5401;

/// Tags of the tests' own packets.
mod tag {
    pub const HELLO: u64 = 1;
    pub const SYNC: u64 = 2;
    pub const GO: u64 = 4;
    pub const DATA: u64 = 5;
    pub const FILL: u64 = 6;
    pub const EXPORTED: u64 = 7;
    pub const WROTE: u64 = 8;
    pub const MAP_AGAIN: u64 = 9;
    pub const MAPPED: u64 = 10;
    pub const REVOKED: u64 = 11;
    pub const TABLE_GONE: u64 = 12;
    pub const REJOIN: u64 = 13;
}

/// A queue: [`ENTRIES`] packets, aligned to its size.
#[repr(C, align(1024))]
struct Ring(UnsafeCell<[u8; QSIZE as usize]>);
// SAFETY: written by one side (the guest for a transmit queue, the hypervisor for a receive
// queue) and read by the other, with volatile accesses only.
unsafe impl Sync for Ring {}

impl Ring {
    const fn new() -> Self {
        Ring(UnsafeCell::new([0; QSIZE as usize]))
    }
    fn ra(&self) -> u64 {
        self.0.get() as u64
    }
}

static TXQ: [Ring; MAX_EPS] = [const { Ring::new() }; MAX_EPS];
static RXQ: [Ring; MAX_EPS] = [const { Ring::new() }; MAX_EPS];

/// Page-aligned memory.
#[repr(C, align(8192))]
struct Pages<const B: usize>(UnsafeCell<[u8; B]>);
// SAFETY: touched by one vCPU with volatile accesses, and by the hypervisor on its behalf.
unsafe impl<const B: usize> Sync for Pages<B> {}

impl<const B: usize> Pages<B> {
    const fn new() -> Self {
        Pages(UnsafeCell::new([0; B]))
    }
    fn ra(&self) -> u64 {
        self.0.get() as u64
    }
}

/// The four pages a domain exports.
static EXPORT: Pages<{ 4 * PAGE as usize }> = Pages::new();
/// Where the importer copies to and from.
static LOCAL: Pages<0x14000> = Pages::new();
/// The map table ([`TABLE_ENTRIES`] entries of two words).
static TABLE: Pages<{ TABLE_ENTRIES as usize * 16 }> = Pages::new();
/// The importer's 8K TSB (512 entries).
static TSB: Pages<8192> = Pages::new();
static MD: crate::rt::Buffer<8192> = crate::rt::Buffer::new();

fn rd(ra: u64) -> u64 {
    // SAFETY: an aligned word of the guest's own memory (or a map-in, where a fault is
    // expected and handled).
    unsafe { core::ptr::read_volatile(ra as *const u64) }
}

fn wr(ra: u64, v: u64) {
    // SAFETY: as `rd`; the tests write only their own buffers and the peer's pages they map.
    unsafe { core::ptr::write_volatile(ra as *mut u64, v) }
}

/// Non-zero once this domain (B) has told the other one that it resets next: it must end with
/// `mach_sir` even when tests failed, or the other domain waits for it in vain.
static RESET_AWAITED: AtomicU64 = AtomicU64::new(0);

/// Whether the other domain waits for this one to reset (core_tests.rs asks).
pub fn reset_awaited() -> bool {
    RESET_AWAITED.load(SeqCst) != 0
}

/// Non-zero while the tests expect faults: [`on_trap`] records them.
static FAULTS: AtomicU64 = AtomicU64::new(0);
static FAULT_COUNT: AtomicU64 = AtomicU64::new(0);
static FAULT_TT: AtomicU64 = AtomicU64::new(0);
static FAULT_DFA: AtomicU64 = AtomicU64::new(0);

/// Whether the LDC tests expect the traps that come now (rt.rs asks).
pub fn expects_faults() -> bool {
    FAULTS.load(SeqCst) != 0
}

/// Records an expected trap and skips the faulting instruction.
pub fn on_trap(tt: u64, _tpc: u64, _tl: u64) -> u64 {
    FAULT_COUNT.fetch_add(1, SeqCst);
    FAULT_TT.store(tt, SeqCst);
    FAULT_DFA.store(mmu::fault_word(mmu::DFA), SeqCst);
    0
}

/// Runs `f` with faults expected: (faults taken, last trap type, last fault address).
fn faulting(f: impl FnOnce()) -> (u64, u64, u64) {
    let before = FAULT_COUNT.load(SeqCst);
    FAULTS.store(1, SeqCst);
    f();
    FAULTS.store(0, SeqCst);
    (FAULT_COUNT.load(SeqCst) - before, FAULT_TT.load(SeqCst), FAULT_DFA.load(SeqCst))
}

/// One test: a FAIL line per failed check, one `ok` line at the end if none failed.
struct T {
    name: &'static str,
    failed: bool,
}

impl T {
    fn new(name: &'static str) -> Self {
        T { name, failed: false }
    }
    fn ok(&mut self, ok: bool, detail: core::fmt::Arguments<'_>) -> bool {
        if !ok {
            self.failed = true;
            check(self.name, false, detail);
        }
        ok
    }
    fn eq<V: PartialEq + Debug>(&mut self, what: &str, got: V, want: V) -> bool {
        let ok = got == want;
        self.ok(ok, format_args!("{what}: got {got:x?}, expected {want:x?}"))
    }
    fn finish(self) -> bool {
        if !self.failed {
            check(self.name, true, format_args!(""));
        }
        !self.failed
    }
}

/// One channel endpoint of the guest MD.
#[derive(Clone, Copy, Default, Debug)]
struct Ep {
    id: u64,
    tx_ino: u64,
    rx_ino: u64,
}

/// The next offset in a queue.
fn next(off: u64) -> u64 {
    (off + l::PACKET_SIZE as u64) % QSIZE
}

/// Packets between `head` and `tail`.
fn queued(head: u64, tail: u64) -> u64 {
    ((tail + QSIZE - head) % QSIZE) / l::PACKET_SIZE as u64
}

/// The eight big-endian words of a packet.
fn words(p: &Packet) -> [u64; 8] {
    core::array::from_fn(|i| u64::from_be_bytes(p.0[8 * i..8 * i + 8].try_into().unwrap_or([0; 8])))
}

fn from_words(w: [u64; 8]) -> Packet {
    let mut p = Packet::default();
    for (i, x) in w.iter().enumerate() {
        p.0[8 * i..8 * i + 8].copy_from_slice(&x.to_be_bytes());
    }
    p
}

/// One of the tests' own raw packets.
fn msg(tag: u64, args: [u64; 6]) -> Packet {
    from_words([MAGIC, tag, args[0], args[1], args[2], args[3], args[4], args[5]])
}

/// The payload word `i` of packet `seq` that domain `from` (its base) sends in mode `mode`.
fn pattern(from: u64, mode: u64, seq: u64, i: u64) -> u64 {
    (from ^ (mode << 56) ^ (seq << 16) ^ i).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The word at byte `off` of exported page `page` of the domain at `base`.
fn page_word(base: u64, page: u64, off: u64) -> u64 {
    (base ^ 0x5a5a_0000_0000_0000 ^ (page << 40) ^ off).wrapping_mul(0xff51_afd7_ed55_8ccd)
}

/// A map-table cookie for 8 KiB pages.
fn cookie(index: u64, offset: u64) -> u64 {
    make_cookie(PageSize::Size8K, index, offset)
}

/// Polls `done` (a hypercall after each poll) at most `polls` times; true once it is true.
fn wait(polls: u64, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..polls {
        if done() {
            return true;
        }
        let _ = hv::cpu_myid();
    }
    done()
}

/// What the tests know and keep.
struct Ldc {
    base: u64,
    size: u64,
    me: u64,
    devhandle: u64,
    eps: [Ep; MAX_EPS],
    /// A channel id the domain has no endpoint for.
    unknown_ch: u64,
    /// A vCPU id the domain does not have.
    unknown_cpu: u64,
    /// Another vCPU of the domain, if it has one.
    other_vcpu: Option<u64>,
    /// The tail of each transmit queue as the guest keeps it.
    tx_tail: [u64; MAX_EPS],
    /// The other domain's memory base (from its hello).
    peer_base: u64,
    /// This domain is A (the lower base).
    low: bool,
}

/// A step failed in a way the other domain cannot follow: the tests stop.
struct Abort;

type Step = Result<(), Abort>;

impl Ldc {
    /// Reads the guest MD: `None` when it lists no channel endpoint, or fewer than the tests
    /// need (then it says so).
    fn new(base: u64, size: u64) -> Option<Result<Ldc, &'static str>> {
        let md = match crate::rt::read_guest_md(&MD) {
            Ok(md) => md,
            Err(e) => return Some(Err(e)),
        };
        let cdev = md.nodes_named("channel-devices").next()?;
        let mut eps = [Ep::default(); MAX_EPS];
        let mut n = 0;
        for e in cdev.arcs("fwd").filter(|e| e.name() == "channel-endpoint") {
            let (Some(id), Some(tx_ino), Some(rx_ino)) = (e.val("id"), e.val("tx-ino"), e.val("rx-ino")) else {
                return Some(Err("a channel-endpoint lacks id, tx-ino or rx-ino"));
            };
            if n < MAX_EPS {
                eps[n] = Ep { id, tx_ino, rx_ino };
            }
            n += 1;
        }
        if n == 0 {
            return None;
        }
        if n < MAX_EPS {
            // Not a pair of test guests (e.g. the victim of two-domains-hostile, whose one
            // channel leads to the hostile guest): nothing to test against.
            say!("skip ldc ({n} channel endpoint: the tests need {MAX_EPS}, to another test guest)");
            return None;
        }
        let Some(devhandle) = cdev.val("cfg-handle") else {
            return Some(Err("channel-devices has no cfg-handle"));
        };
        let mut ids = [0; crate::smp::MAX_VCPUS];
        let nv = crate::smp::md_vcpus(&mut ids).unwrap_or(1);
        let me = hv::cpu_myid().unwrap_or(0);
        let unknown_cpu = (0..).find(|id| !ids[..nv].contains(id)).unwrap_or(0xffff);
        let unknown_ch = (0..).find(|id| !eps.iter().any(|e| e.id == *id)).unwrap_or(0xffff);
        Some(Ok(Ldc {
            base,
            size,
            me,
            devhandle,
            eps,
            unknown_ch,
            unknown_cpu,
            other_vcpu: ids[..nv].iter().copied().find(|&id| id != me && id < crate::smp::MAX_VCPUS as u64),
            tx_tail: [0; MAX_EPS],
            peer_base: 0,
            low: false,
        }))
    }

    fn id(&self, c: usize) -> u64 {
        self.eps[c].id
    }

    fn rx_cookie(&self, c: usize) -> u64 {
        0x1dc0_0000_0000_0000 | (self.base >> 20) << 16 | self.eps[c].id << 4 | 1
    }

    fn tx_cookie(&self, c: usize) -> u64 {
        0x1dc0_0000_0000_0000 | (self.base >> 20) << 16 | self.eps[c].id << 4 | 2
    }

    // ----- queues -----

    /// Writes packet `p` at offset `off` of transmit queue `c`.
    fn put(&self, c: usize, off: u64, p: &Packet) {
        for (i, w) in words(p).iter().enumerate() {
            wr(TXQ[c].ra() + off + 8 * i as u64, *w);
        }
    }

    /// Reads the packet at offset `off` of receive queue `c`.
    fn get(&self, c: usize, off: u64) -> Packet {
        from_words(core::array::from_fn(|i| rd(RXQ[c].ra() + off + 8 * i as u64)))
    }

    /// Configures transmit queue `c` (head = tail = 0).
    fn tx_conf(&mut self, c: usize) -> HvResult<()> {
        self.tx_tail[c] = 0;
        hv::ldc_tx_qconf(self.id(c), TXQ[c].ra(), ENTRIES)
    }

    /// Configures receive queue `c`.
    fn rx_conf(&mut self, c: usize) -> HvResult<()> {
        // SAFETY: RXQ[c] is this endpoint's and only read with volatile loads.
        unsafe { hv::ldc_rx_qconf(self.id(c), RXQ[c].ra(), ENTRIES) }
    }

    /// Unconfigures receive queue `c`.
    fn rx_unconf(&mut self, c: usize) -> HvResult<()> {
        // SAFETY: unconfigures; nothing is written.
        unsafe { hv::ldc_rx_qconf(self.id(c), 0, 0) }
    }

    /// Sends one packet on `c`; on an error (`EWOULDBLOCK`) the tail stays.
    fn try_send(&mut self, c: usize, p: &Packet) -> HvResult<()> {
        let t = self.tx_tail[c];
        self.put(c, t, p);
        hv::ldc_tx_set_qtail(self.id(c), next(t))?;
        self.tx_tail[c] = next(t);
        Ok(())
    }

    /// Sends one packet, retrying while `EWOULDBLOCK` (bounded).
    fn send(&mut self, c: usize, p: &Packet, what: &str) -> Step {
        let mut last = Ok(());
        if wait(POLLS, || {
            last = self.try_send(c, p);
            last != Err(HvError::WouldBlock)
        }) && last.is_ok()
        {
            return Ok(());
        }
        check("ldc send", false, format_args!("{what}: ldc_tx_set_qtail on endpoint {c}: {last:?}"));
        Err(Abort)
    }

    /// The next packet of receive queue `c`, if one is there (consumed).
    fn try_recv(&mut self, c: usize) -> Option<Packet> {
        let (head, tail, _) = hv::ldc_rx_get_state(self.id(c)).ok()?;
        if head == tail {
            return None;
        }
        let p = self.get(c, head);
        let r = hv::ldc_rx_set_qhead(self.id(c), next(head));
        if r.is_err() {
            check("ldc receive", false, format_args!("ldc_rx_set_qhead({:#x}): {r:?}", next(head)));
        }
        Some(p)
    }

    /// The next packet of receive queue `c`, waiting for it (bounded).
    fn recv(&mut self, c: usize, polls: u64, what: &str) -> Result<Packet, Abort> {
        let mut got = None;
        if wait(polls, || {
            got = self.try_recv(c);
            got.is_some()
        }) {
            if let Some(p) = got {
                return Ok(p);
            }
        }
        check("ldc receive", false, format_args!("{what}: nothing arrived on endpoint {c}"));
        Err(Abort)
    }

    /// Sends one of the tests' own packets on endpoint 0.
    fn tell(&mut self, tag: u64, args: [u64; 6]) -> Step {
        self.send(0, &msg(tag, args), "a test packet")
    }

    /// Receives one of the tests' own packets on endpoint 0, which must have tag `tag`.
    fn expect(&mut self, tag: u64, what: &str) -> Result<[u64; 6], Abort> {
        let p = self.recv(0, POLLS, what)?;
        let w = words(&p);
        if w[0] != MAGIC || w[1] != tag {
            check("ldc protocol", false, format_args!("{what}: expected packet tag {tag}, got {w:#x?}"));
            return Err(Abort);
        }
        Ok([w[2], w[3], w[4], w[5], w[6], w[7]])
    }

    /// Both domains at the same step `n`.
    fn sync(&mut self, n: u64) -> Step {
        self.tell(tag::SYNC, [n, 0, 0, 0, 0, 0])?;
        let a = self.expect(tag::SYNC, "sync")?;
        if a[0] != n {
            check("ldc protocol", false, format_args!("sync {n}: the other domain is at step {}", a[0]));
            return Err(Abort);
        }
        Ok(())
    }

    /// The channel state as `ldc_tx_get_state` reports it on `c`.
    fn tx_state(&self, c: usize) -> u64 {
        hv::ldc_tx_get_state(self.id(c)).map_or(u64::MAX, |s| s.2)
    }

    /// Polls the state of `c` until it is not `from`; returns the state then and whether
    /// it came within the bound.
    fn wait_state_change(&self, c: usize, from: u64) -> (bool, u64) {
        let mut s = from;
        let ok = wait(POLLS, || {
            s = self.tx_state(c);
            s != from
        });
        (ok, s)
    }

    // ----- 0. arguments -----

    fn arguments(&mut self) {
        let (u, c0, c1) = (self.unknown_ch, self.id(0), self.id(1));
        let c2 = c1;
        let (base, size) = (self.base, self.size);
        let e = HvError::Channel;
        let mut t = T::new("ldc unknown channel is ECHANNEL for every call");
        for ch in [u, 0xffff_ffff, u64::MAX] {
            t.eq("ldc_tx_qconf", hv::ldc_tx_qconf(ch, TXQ[1].ra(), ENTRIES), Err(e));
            t.eq("ldc_tx_qinfo", hv::ldc_tx_qinfo(ch), Err(e));
            t.eq("ldc_tx_get_state", hv::ldc_tx_get_state(ch), Err(e));
            t.eq("ldc_tx_set_qtail", hv::ldc_tx_set_qtail(ch, 0), Err(e));
            // SAFETY: refused.
            t.eq("ldc_rx_qconf", unsafe { hv::ldc_rx_qconf(ch, RXQ[1].ra(), ENTRIES) }, Err(e));
            t.eq("ldc_rx_qinfo", hv::ldc_rx_qinfo(ch), Err(e));
            t.eq("ldc_rx_get_state", hv::ldc_rx_get_state(ch), Err(e));
            t.eq("ldc_rx_set_qhead", hv::ldc_rx_set_qhead(ch, 0), Err(e));
            // SAFETY: refused.
            t.eq("ldc_set_map_table", unsafe { hv::ldc_set_map_table(ch, TABLE.ra(), 4) }, Err(e));
            t.eq("ldc_get_map_table", hv::ldc_get_map_table(ch), Err(e));
            // SAFETY: refused.
            t.eq("ldc_copy", unsafe { hv::ldc_copy(ch, l::COPY_IN, 0, LOCAL.ra(), 8) }, Err(e));
            t.eq("ldc_mapin", hv::ldc_mapin(ch, 0), Err(e));
            t.eq("ldc_revoke", hv::ldc_revoke(ch, 0, 0), Err(e));
        }
        t.finish();

        let mut t = T::new("ldc transmit queue configuration");
        let q = TXQ[1].ra();
        t.eq("tx_qinfo at start", hv::ldc_tx_qinfo(c1), Ok((0, 0)));
        t.eq("tx_get_state without a queue", hv::ldc_tx_get_state(c1), Err(HvError::Inval));
        t.eq("tx_set_qtail without a queue", hv::ldc_tx_set_qtail(c1, 0), Err(HvError::Inval));
        t.eq("tx_qconf 0 entries without a queue", hv::ldc_tx_qconf(c1, 0, 0), Ok(()));
        t.eq("tx_qconf 3 entries", hv::ldc_tx_qconf(c1, q, 3), Err(HvError::Inval));
        t.eq("tx_qconf 24 entries", hv::ldc_tx_qconf(c1, q, 24), Err(HvError::Inval));
        t.eq("tx_qconf 3 entries, unaligned", hv::ldc_tx_qconf(c1, q + 8, 3), Err(HvError::Inval));
        t.eq("tx_qconf unaligned", hv::ldc_tx_qconf(c1, q + 64, ENTRIES), Err(HvError::BadAlign));
        t.eq("tx_qconf hypervisor RA", hv::ldc_tx_qconf(c1, 0x10_0000, ENTRIES), Err(HvError::NoRAddr));
        t.eq("tx_qconf just below the domain", hv::ldc_tx_qconf(c1, base - QSIZE, ENTRIES), Err(HvError::NoRAddr));
        t.eq("tx_qconf just past the domain", hv::ldc_tx_qconf(c1, base + size, ENTRIES), Err(HvError::NoRAddr));
        let big = 1 << 16; // 4 MiB: the last 4 MiB page of the domain, then across its end
        t.eq("tx_qconf across the end", hv::ldc_tx_qconf(c1, base + size - big * 64 / 2, big), Err(HvError::BadAlign));
        t.eq("tx_qconf entries overflowing", hv::ldc_tx_qconf(c1, base, 1 << 58).is_err(), true);
        t.eq("tx_qconf at the domain's start", hv::ldc_tx_qconf(c1, base, ENTRIES), Ok(()));
        t.eq("tx_qinfo", hv::ldc_tx_qinfo(c1), Ok((base, ENTRIES)));
        t.eq("tx_qconf at the domain's end", hv::ldc_tx_qconf(c1, base + size - QSIZE, ENTRIES), Ok(()));
        t.eq("tx_qinfo", hv::ldc_tx_qinfo(c1), Ok((base + size - QSIZE, ENTRIES)));
        t.eq("tx_qconf the last 4 MiB", hv::ldc_tx_qconf(c1, base + size - big * 64, big), Ok(()));
        t.eq("tx_qconf", self.tx_conf(1), Ok(()));
        t.eq("tx_qinfo", hv::ldc_tx_qinfo(c1), Ok((q, ENTRIES)));
        // The peer configures no receive queue on this endpoint before the hello.
        t.eq("tx_get_state: head = tail = 0, DOWN", hv::ldc_tx_get_state(c1), Ok((0, 0, state::DOWN)));
        t.eq("tx_set_qtail to the current tail sends nothing", hv::ldc_tx_set_qtail(c1, 0), Ok(()));
        t.eq("tx_set_qtail unaligned", hv::ldc_tx_set_qtail(c1, 32), Err(HvError::BadAlign));
        t.eq("tx_set_qtail at the queue size", hv::ldc_tx_set_qtail(c1, QSIZE), Err(HvError::Inval));
        t.eq("tx_set_qtail past the queue", hv::ldc_tx_set_qtail(c1, QSIZE + 64), Err(HvError::Inval));
        t.eq("tx_set_qtail unaligned and past", hv::ldc_tx_set_qtail(c1, QSIZE + 8), Err(HvError::BadAlign));
        self.put(1, 0, &msg(tag::DATA, [0; 6]));
        t.eq("tx_set_qtail with no peer receive queue", hv::ldc_tx_set_qtail(c1, 64), Err(HvError::WouldBlock));
        t.eq("tail unchanged after EWOULDBLOCK", hv::ldc_tx_get_state(c1), Ok((0, 0, state::DOWN)));
        t.eq("tx_qconf 0 entries", hv::ldc_tx_qconf(c1, 0, 0), Ok(()));
        t.eq("tx_qinfo unconfigured", hv::ldc_tx_qinfo(c1), Ok((0, 0)));
        t.eq("tx_get_state unconfigured", hv::ldc_tx_get_state(c1), Err(HvError::Inval));
        t.finish();

        let mut t = T::new("ldc receive queue configuration errors");
        let q = RXQ[1].ra();
        let rxc = |ch, ra, n| {
            // SAFETY: every call here is refused or unconfigures.
            unsafe { hv::ldc_rx_qconf(ch, ra, n) }
        };
        t.eq("rx_qinfo at start", hv::ldc_rx_qinfo(c1), Ok((0, 0)));
        t.eq("rx_get_state without a queue", hv::ldc_rx_get_state(c1), Err(HvError::Inval));
        t.eq("rx_set_qhead without a queue", hv::ldc_rx_set_qhead(c1, 0), Err(HvError::Inval));
        t.eq("rx_set_qhead unaligned without a queue", hv::ldc_rx_set_qhead(c1, 32), Err(HvError::BadAlign));
        t.eq("rx_qconf 0 entries without a queue", rxc(c1, 0, 0), Ok(()));
        t.eq("rx_qconf 3 entries", rxc(c1, q, 3), Err(HvError::Inval));
        t.eq("rx_qconf 48 entries", rxc(c1, q, 48), Err(HvError::Inval));
        t.eq("rx_qconf unaligned", rxc(c1, q + 64, ENTRIES), Err(HvError::BadAlign));
        t.eq("rx_qconf hypervisor RA", rxc(c1, 0x10_0000, ENTRIES), Err(HvError::NoRAddr));
        t.eq("rx_qconf just below the domain", rxc(c1, base - QSIZE, ENTRIES), Err(HvError::NoRAddr));
        t.eq("rx_qconf just past the domain", rxc(c1, base + size, ENTRIES), Err(HvError::NoRAddr));
        t.eq("rx_qconf across the end", rxc(c1, base + size - (1 << 21), 1 << 16), Err(HvError::BadAlign));
        t.eq("rx_qconf 4 MiB past the end", rxc(c1, base + size, 1 << 16), Err(HvError::NoRAddr));
        t.eq("rx_qinfo still unconfigured", hv::ldc_rx_qinfo(c1), Ok((0, 0)));
        t.finish();

        let mut t = T::new("ldc map table configuration");
        let m = TABLE.ra();
        let smt = |ch, ra, n| {
            // SAFETY: the table is ours; the peer maps nothing before the shared-memory test.
            unsafe { hv::ldc_set_map_table(ch, ra, n) }
        };
        t.eq("get_map_table at start", hv::ldc_get_map_table(c2), Ok((0, 0)));
        t.eq("set_map_table 0 entries without a table", smt(c2, 0, 0), Ok(()));
        t.eq("set_map_table 1 entry", smt(c2, m, 1), Err(HvError::Inval));
        t.eq("set_map_table 3 entries", smt(c2, m, 3), Err(HvError::Inval));
        t.eq("set_map_table 2^30 entries", smt(c2, m, 1 << 30), Err(HvError::Inval));
        t.eq("set_map_table 2^31 entries", smt(c2, m, 1 << 31), Err(HvError::Inval));
        t.eq("set_map_table unaligned", smt(c2, m + 16, 4), Err(HvError::BadAlign));
        t.eq("set_map_table 1 entry, unaligned", smt(c2, m + 16, 1), Err(HvError::Inval));
        t.eq("set_map_table hypervisor RA", smt(c2, 0x10_0000, 4), Err(HvError::NoRAddr));
        t.eq("set_map_table just below the domain", smt(c2, base - 64, 4), Err(HvError::NoRAddr));
        t.eq("set_map_table across the end", smt(c2, base + size - 64, 8), Err(HvError::NoRAddr));
        t.eq("set_map_table across the start", smt(c2, base - 64, 8), Err(HvError::NoRAddr));
        t.eq("set_map_table at the end", smt(c2, base + size - 64, 4), Ok(()));
        t.eq("get_map_table", hv::ldc_get_map_table(c2), Ok((base + size - 64, 4)));
        t.eq("set_map_table", smt(c2, m, TABLE_ENTRIES), Ok(()));
        t.eq("get_map_table", hv::ldc_get_map_table(c2), Ok((m, TABLE_ENTRIES)));
        t.eq("set_map_table 0 entries", smt(c2, 0, 0), Ok(()));
        t.eq("get_map_table removed", hv::ldc_get_map_table(c2), Ok((0, 0)));
        t.finish();

        // ldc_copy: errors found before the peer's map table is looked at (the peer may be
        // testing its own map table meanwhile).
        let mut t = T::new("ldc_copy argument errors");
        let b = LOCAL.ra();
        let cp = |dir, ck, ra, len| {
            // SAFETY: every call here is refused before anything is copied.
            unsafe { hv::ldc_copy(c0, dir, ck, ra, len) }
        };
        t.eq("direction 2", cp(2, 0, b, 8), Err(HvError::Inval));
        t.eq("direction 2, unaligned", cp(2, 4, b, 8), Err(HvError::Inval));
        t.eq("length 0", cp(l::COPY_IN, 0, b, 0), Err(HvError::Inval));
        t.eq("length 0, unaligned", cp(l::COPY_IN, 0, b + 4, 0), Err(HvError::Inval));
        t.eq("cookie unaligned", cp(l::COPY_IN, 4, b, 8), Err(HvError::BadAlign));
        t.eq("RA unaligned", cp(l::COPY_OUT, 0, b + 4, 8), Err(HvError::BadAlign));
        t.eq("length unaligned", cp(l::COPY_IN, 0, b, 12), Err(HvError::BadAlign));
        t.eq("RA unaligned, outside", cp(l::COPY_IN, 0, 0x10_0004, 8), Err(HvError::BadAlign));
        t.eq("hypervisor RA", cp(l::COPY_IN, 0, 0x10_0000, 8), Err(HvError::NoRAddr));
        t.eq("hypervisor RA, copy out", cp(l::COPY_OUT, 0, 0x10_0000, 8), Err(HvError::NoRAddr));
        t.eq("across the domain's end", cp(l::COPY_IN, 0, base + size - 8, 16), Err(HvError::NoRAddr));
        t.eq("across the domain's start", cp(l::COPY_OUT, 0, base - 8, 16), Err(HvError::NoRAddr));
        t.eq("just past the domain", cp(l::COPY_IN, 0, base + size, 8), Err(HvError::NoRAddr));
        t.eq("length wrapping", cp(l::COPY_IN, 0, b, 0u64.wrapping_sub(b)), Err(HvError::NoRAddr));
        t.finish();

        let mut t = T::new("ldc_unmap and ldc_revoke of nothing");
        // SAFETY: refused: nothing is mapped in.
        unsafe {
            t.eq("unmap RA 0", hv::ldc_unmap(0), Err(HvError::Inval));
            t.eq("unmap the map-in window", hv::ldc_unmap(l::MAPIN_BASE_RA), Err(HvError::Inval));
            t.eq("unmap slot 1", hv::ldc_unmap(l::MAPIN_BASE_RA + l::MAPIN_SLOT_SIZE + 8), Err(HvError::Inval));
            t.eq("unmap own memory", hv::ldc_unmap(base), Err(HvError::Inval));
        }
        t.eq("revoke with no map-in", hv::ldc_revoke(c0, cookie(0, 0), 0), Err(HvError::Inval));
        t.eq("revoke with no map-in, index 5", hv::ldc_revoke(c0, cookie(5, 0), 1), Err(HvError::Inval));
        t.finish();

        self.vintr_arguments();
    }

    fn vintr_arguments(&mut self) {
        let dh = self.devhandle;
        let mut t = T::new("ldc vintr start state and argument errors");
        let mine: [u64; 2 * MAX_EPS] = core::array::from_fn(|i| {
            let e = self.eps[i / 2];
            if i % 2 == 0 {
                e.tx_ino
            } else {
                e.rx_ino
            }
        });
        for &ino in &mine {
            t.eq("vintr_getcookie at start", hv::vintr_getcookie(dh, ino), Ok(0));
            t.eq("vintr_getvalid at start", hv::vintr_getvalid(dh, ino), Ok(0));
            t.eq("vintr_getstate at start", hv::vintr_getstate(dh, ino), Ok(0));
            t.eq("vintr_gettarget at start", hv::vintr_gettarget(dh, ino), Ok(self.me));
        }
        let mut bad_inos = [0u64, 1, 0x1f, 0x1_0000, u64::MAX, 0, 0];
        let mut k = 5;
        for ino in 0x20..0x40 {
            if k < bad_inos.len() && !mine.contains(&ino) {
                bad_inos[k] = ino;
                k += 1;
            }
        }
        let ino = self.eps[0].rx_ino;
        let inval = Err::<(), _>(HvError::Inval);
        for (dh, ino) in bad_inos.iter().map(|&i| (dh, i)).chain([0x100, dh + 1, 0, u64::MAX].iter().map(|&d| (d, ino)))
        {
            t.eq("vintr_getcookie", hv::vintr_getcookie(dh, ino), Err(HvError::Inval));
            t.eq("vintr_setcookie", hv::vintr_setcookie(dh, ino, 5), inval);
            t.eq("vintr_getvalid", hv::vintr_getvalid(dh, ino), Err(HvError::Inval));
            t.eq("vintr_setvalid", hv::vintr_setvalid(dh, ino, 0), inval);
            t.eq("vintr_getstate", hv::vintr_getstate(dh, ino), Err(HvError::Inval));
            t.eq("vintr_setstate", hv::vintr_setstate(dh, ino, 0), inval);
            t.eq("vintr_gettarget", hv::vintr_gettarget(dh, ino), Err(HvError::Inval));
            t.eq("vintr_settarget", hv::vintr_settarget(dh, ino, self.me), inval);
        }
        let ino = self.eps[1].rx_ino;
        t.eq("vintr_setvalid 2", hv::vintr_setvalid(dh, ino, 2), inval);
        t.eq("vintr_setstate 3", hv::vintr_setstate(dh, ino, 3), inval);
        t.eq("vintr_settarget unknown vCPU", hv::vintr_settarget(dh, ino, self.unknown_cpu), Err(HvError::NoCpu));
        t.eq("vintr_settarget vCPU 0xffff", hv::vintr_settarget(dh, ino, 0xffff), Err(HvError::NoCpu));
        t.eq("vintr_settarget vCPU 2^32", hv::vintr_settarget(dh, ino, 1 << 32), Err(HvError::NoCpu));
        t.eq("vintr_settarget bad devino first", hv::vintr_settarget(dh, 1, self.unknown_cpu), inval);
        t.eq("vintr_setcookie", hv::vintr_setcookie(dh, ino, 0xfeed_f00d_0000_0001), Ok(()));
        t.eq("vintr_getcookie", hv::vintr_getcookie(dh, ino), Ok(0xfeed_f00d_0000_0001));
        t.eq("the tx interrupt keeps its cookie", hv::vintr_getcookie(dh, self.eps[1].tx_ino), Ok(0));
        t.eq("vintr_setcookie back", hv::vintr_setcookie(dh, ino, 0), Ok(()));
        t.eq("vintr_settarget self", hv::vintr_settarget(dh, ino, self.me), Ok(()));
        t.eq("vintr_gettarget", hv::vintr_gettarget(dh, ino), Ok(self.me));
        t.eq("vintr_setstate RECEIVED", hv::vintr_setstate(dh, ino, 1), Ok(()));
        t.eq("vintr_getstate", hv::vintr_getstate(dh, ino), Ok(1));
        t.eq("vintr_setstate IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        t.eq("vintr_setvalid 1 (no receive queue)", hv::vintr_setvalid(dh, ino, 1), Ok(()));
        t.eq("vintr_getvalid", hv::vintr_getvalid(dh, ino), Ok(1));
        t.eq("vintr_getstate stays IDLE", hv::vintr_getstate(dh, ino), Ok(0));
        t.eq("vintr_setvalid 0", hv::vintr_setvalid(dh, ino, 0), Ok(()));
        t.eq("vintr_getvalid", hv::vintr_getvalid(dh, ino), Ok(0));
        t.finish();
    }

    // ----- 1. hello -----

    fn hello(&mut self) -> Step {
        let mut t = T::new("ldc hello on endpoint 0");
        t.eq("tx_qconf", self.tx_conf(0), Ok(()));
        t.eq("rx_qconf", self.rx_conf(0), Ok(()));
        t.eq("rx_qinfo", hv::ldc_rx_qinfo(self.id(0)), Ok((RXQ[0].ra(), ENTRIES)));
        let hello = msg(tag::HELLO, [self.base, self.size, self.id(0), self.id(1), 0, 0]);
        let (mut sent, mut got, mut err) = (false, None, None);
        wait(FIRST_POLLS, || {
            if !sent {
                match self.try_send(0, &hello) {
                    Ok(()) => sent = true,
                    Err(HvError::WouldBlock) => {}
                    Err(e) => err = Some(e),
                }
            }
            if got.is_none() {
                got = self.try_recv(0);
            }
            (sent && got.is_some()) || err.is_some()
        });
        t.ok(sent, format_args!("the hello was never taken: {err:?}"));
        let Some(p) = got else {
            t.ok(false, format_args!("no hello from the other domain"));
            t.finish();
            return Err(Abort);
        };
        let w = words(&p);
        if !t.ok(w[0] == MAGIC && w[1] == tag::HELLO, format_args!("hello: {w:#x?}")) || !sent {
            t.finish();
            return Err(Abort);
        }
        self.peer_base = w[2];
        self.low = self.base < self.peer_base;
        t.ok(self.base != self.peer_base, format_args!("both domains at {:#x}: no way to choose roles", self.base));
        t.eq("state UP", hv::ldc_tx_get_state(self.id(0)).map(|s| s.2), Ok(state::UP));
        say!(
            "ldc: endpoints {} and {}, the other domain at {:#x}, this one is {}",
            self.id(0),
            self.id(1),
            self.peer_base,
            if self.low { "A" } else { "B" }
        );
        if t.finish() && self.base != self.peer_base {
            Ok(())
        } else {
            Err(Abort)
        }
    }

    /// The other domain's memory is not this domain's: queues, map tables and copies there
    /// are refused.
    fn foreign_memory(&mut self) {
        let (c0, c1, p) = (self.id(0), self.id(1), self.peer_base);
        let mut t = T::new("ldc queues, map tables and copies in the other domain's memory refused");
        t.eq("tx_qconf", hv::ldc_tx_qconf(c1, p, ENTRIES), Err(HvError::NoRAddr));
        // SAFETY: refused.
        unsafe {
            t.eq("rx_qconf", hv::ldc_rx_qconf(c1, p + 0x10_0000, ENTRIES), Err(HvError::NoRAddr));
            t.eq("set_map_table", hv::ldc_set_map_table(c1, p + 0x2000, 4), Err(HvError::NoRAddr));
            t.eq("copy in", hv::ldc_copy(c0, l::COPY_IN, 0, p + 0x4000, 8), Err(HvError::NoRAddr));
            t.eq("copy out", hv::ldc_copy(c0, l::COPY_OUT, 0, p + 0x4000, 8), Err(HvError::NoRAddr));
        }
        t.eq("rx_qinfo", hv::ldc_rx_qinfo(c1), Ok((0, 0)));
        t.eq("get_map_table", hv::ldc_get_map_table(c1), Ok((0, 0)));
        t.finish();
    }

    // ----- 2. link state -----

    /// The link-state handshake on endpoint `c`; `first`: this domain configures its
    /// receive queue first.
    fn link_state(&mut self, c: usize, first: bool) -> Step {
        let id = self.id(c);
        let mut t =
            T::new(if first { "ldc link state, configuring first" } else { "ldc link state, configuring second" });
        t.eq("tx_qconf", self.tx_conf(c), Ok(()));
        // Packets carry their sender's base.
        let (p1, p2) = (msg(tag::DATA, [1, self.base, 0, 0, 0, 0]), msg(tag::DATA, [2, self.base, 0, 0, 0, 0]));
        let (peer_p1, peer_p2) =
            (msg(tag::DATA, [1, self.peer_base, 0, 0, 0, 0]), msg(tag::DATA, [2, self.peer_base, 0, 0, 0, 0]));
        // A wait that never ends leaves the two domains out of step: the tests stop.
        let mut stuck = false;
        if first {
            // The other domain configures its receive queue only once it sees ours.
            t.eq("tx_get_state before the peer's receive queue", hv::ldc_tx_get_state(id), Ok((0, 0, state::DOWN)));
            t.eq("rx_get_state without a receive queue", hv::ldc_rx_get_state(id), Err(HvError::Inval));
            self.put(c, 0, &p1);
            t.eq("tx_set_qtail with no peer receive queue", hv::ldc_tx_set_qtail(id, 64), Err(HvError::WouldBlock));
            t.eq("tail unchanged", hv::ldc_tx_get_state(id), Ok((0, 0, state::DOWN)));
            t.eq("rx_qconf", self.rx_conf(c), Ok(()));
            let (came, s) = self.wait_state_change(c, state::DOWN);
            stuck |= !came;
            t.ok(came && s == state::UP, format_args!("waiting for UP: state {s:#x} (came {came})"));
            t.eq("tx_set_qtail once the peer is UP", hv::ldc_tx_set_qtail(id, 64), Ok(()));
            self.tx_tail[c] = 64;
            t.eq("tx_get_state: sent, head = tail", hv::ldc_tx_get_state(id), Ok((64, 64, state::UP)));
            // The other domain answers once it has checked our packet.
            let got = wait(POLLS, || hv::ldc_rx_get_state(id).is_ok_and(|s| s.1 == 64));
            t.ok(got, format_args!("no answer: rx_get_state {:?}", hv::ldc_rx_get_state(id)));
            stuck |= !got;
            t.eq("the answer", words(&self.get(c, 0)), words(&peer_p2));
            // Reconfigured with the answer unread: it is dropped; the peer sees RESET once.
            t.eq("rx_qconf again", self.rx_conf(c), Ok(()));
            t.eq("rx_get_state: pending packet dropped", hv::ldc_rx_get_state(id), Ok((0, 0, state::UP)));
            // The other domain reconfigures its queue once it has seen RESET.
            let (came, s) = self.wait_state_change(c, state::UP);
            stuck |= !came;
            t.ok(came && s == state::RESET, format_args!("after the peer's reconfiguration: {s:#x}, expected RESET"));
            t.eq("RESET reported once, then UP", self.tx_state(c), state::UP);
            t.eq("rx_qconf 0 entries", self.rx_unconf(c), Ok(()));
            t.eq("rx_qinfo", hv::ldc_rx_qinfo(id), Ok((0, 0)));
            let (came, s) = self.wait_state_change(c, state::UP);
            stuck |= !came;
            t.ok(came && s == state::RESET, format_args!("after the peer's unconfiguration: {s:#x}, expected RESET"));
            t.eq("RESET reported once, then DOWN", self.tx_state(c), state::DOWN);
        } else {
            let (came, s) = self.wait_state_change(c, state::DOWN);
            stuck |= !came;
            t.ok(came && s == state::UP, format_args!("waiting for UP: state {s:#x} (came {came})"));
            t.eq("rx_get_state without a receive queue", hv::ldc_rx_get_state(id), Err(HvError::Inval));
            t.eq("rx_qconf", self.rx_conf(c), Ok(()));
            let got = wait(POLLS, || hv::ldc_rx_get_state(id).is_ok_and(|s| s.1 == 64));
            t.ok(got, format_args!("the first packet never came: {:?}", hv::ldc_rx_get_state(id)));
            t.eq("rx_get_state", hv::ldc_rx_get_state(id), Ok((0, 64, state::UP)));
            stuck |= !got;
            t.eq("the packet sent after EWOULDBLOCK", words(&self.get(c, 0)), words(&peer_p1));
            t.eq("rx_set_qhead unaligned", hv::ldc_rx_set_qhead(id, 32), Err(HvError::BadAlign));
            t.eq("rx_set_qhead at the queue size", hv::ldc_rx_set_qhead(id, QSIZE), Err(HvError::Inval));
            t.eq("rx_set_qhead past the tail", hv::ldc_rx_set_qhead(id, 128), Err(HvError::Inval));
            t.eq("rx_set_qhead at the current head", hv::ldc_rx_set_qhead(id, 0), Ok(()));
            t.eq("rx_set_qhead to the tail", hv::ldc_rx_set_qhead(id, 64), Ok(()));
            t.eq("rx_set_qhead backwards", hv::ldc_rx_set_qhead(id, 0), Err(HvError::Inval));
            t.eq("rx_get_state", hv::ldc_rx_get_state(id), Ok((64, 64, state::UP)));
            self.put(c, 0, &p2);
            t.eq("tx_set_qtail: the answer", hv::ldc_tx_set_qtail(id, 64), Ok(()));
            self.tx_tail[c] = 64;
            let (came, s) = self.wait_state_change(c, state::UP);
            stuck |= !came;
            t.ok(came && s == state::RESET, format_args!("after the peer's reconfiguration: {s:#x}, expected RESET"));
            t.eq("RESET reported once, then UP", self.tx_state(c), state::UP);
            t.eq("rx_qconf again", self.rx_conf(c), Ok(()));
            let (came, s) = self.wait_state_change(c, state::UP);
            stuck |= !came;
            t.ok(came && s == state::RESET, format_args!("after the peer's unconfiguration: {s:#x}, expected RESET"));
            t.eq("RESET reported once, then DOWN", self.tx_state(c), state::DOWN);
            self.put(c, 64, &p1);
            t.eq("tx_set_qtail with the peer DOWN", hv::ldc_tx_set_qtail(id, 128), Err(HvError::WouldBlock));
            t.eq("rx_qconf 0 entries", self.rx_unconf(c), Ok(()));
        }
        t.eq("tx_qconf 0 entries", hv::ldc_tx_qconf(id, 0, 0), Ok(()));
        t.finish();
        if stuck {
            Err(Abort)
        } else {
            Ok(())
        }
    }

    // ----- 3. interrupts -----

    /// Configures the device mondo queue and endpoint 0's interrupts (cookies, this vCPU,
    /// IDLE, valid); PSTATE.IE = 1.
    fn interrupts_on(&mut self, t: &mut T) {
        let dh = self.devhandle;
        let s = crate::console_intr::configure_queue(self.me, DEV_QUEUE_ENTRIES);
        t.eq("cpu_qconf(dev mondo)", s, EOK);
        for (ino, ck) in [(self.eps[0].rx_ino, self.rx_cookie(0)), (self.eps[0].tx_ino, self.tx_cookie(0))] {
            t.eq("vintr_setcookie", hv::vintr_setcookie(dh, ino, ck), Ok(()));
            t.eq("vintr_getcookie", hv::vintr_getcookie(dh, ino), Ok(ck));
            t.eq("vintr_settarget", hv::vintr_settarget(dh, ino, self.me), Ok(()));
            t.eq("vintr_setstate IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
            t.eq("vintr_setvalid 1", hv::vintr_setvalid(dh, ino, 1), Ok(()));
            t.eq("vintr_getvalid", hv::vintr_getvalid(dh, ino), Ok(1));
        }
        crate::smp::interrupts(true);
    }

    fn mondos(&self) -> u64 {
        crate::console_intr::dev_mondos(self.me)
    }

    /// Waits for a device mondo with `cookie` among those from number `k` (counting from
    /// 0) on, and checks that every one of them carries one of endpoint 0's cookies and
    /// zeros.
    fn expect_mondo(&self, t: &mut T, what: &str, k: u64, cookie: u64) -> bool {
        let mine = [self.rx_cookie(0), self.tx_cookie(0)];
        let mut seen = k;
        let mut found = false;
        let mut stray = None;
        wait(POLLS, || {
            while seen < self.mondos() {
                match crate::console_intr::dev_mondo(self.me, seen) {
                    Some(w) if w[1..] == [0; 7] && w[0] == cookie => found = true,
                    Some(w) if w[1..] == [0; 7] && mine.contains(&w[0]) => {}
                    w => stray = Some(w),
                }
                seen += 1;
            }
            found
        });
        t.ok(stray.is_none(), format_args!("{what}: a device mondo {stray:x?}"));
        t.ok(found, format_args!("{what}: no device mondo with cookie {cookie:#x} ({} since)", self.mondos() - k))
    }

    /// Waits until endpoint 0's rx interrupt is not RECEIVED (no delivery under way).
    fn settle(&self, t: &mut T) {
        let (dh, ino) = (self.devhandle, self.eps[0].rx_ino);
        let ok = wait(POLLS, || hv::vintr_getstate(dh, ino) != Ok(1));
        t.ok(ok, format_args!("the rx interrupt stays RECEIVED"));
    }

    fn rx_queued(&self, c: usize) -> u64 {
        hv::ldc_rx_get_state(self.id(c)).map_or(u64::MAX, |s| queued(s.0, s.1))
    }

    /// The interrupt test with this domain receiving.
    fn interrupt_receiver(&mut self) -> Step {
        let (dh, ino, ck) = (self.devhandle, self.eps[0].rx_ino, self.rx_cookie(0));
        let mut t = T::new("ldc rx interrupt through the device mondo queue");
        t.eq("queue empty", self.rx_queued(0), 0);
        self.settle(&mut t);
        t.eq("vintr_setstate IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        let k = self.mondos();
        self.tell(tag::GO, [1, 0, 0, 0, 0, 0])?;
        self.expect_mondo(&mut t, "a packet arrives", k, ck);
        t.eq("vintr_getstate DELIVERED", hv::vintr_getstate(dh, ino), Ok(2));
        t.eq("one packet queued", self.rx_queued(0), 1);
        // Held while DELIVERED: two more packets, no mondo.
        self.tell(tag::GO, [2, 0, 0, 0, 0, 0])?;
        t.ok(wait(POLLS, || self.rx_queued(0) == 3), format_args!("3 packets never queued: {}", self.rx_queued(0)));
        t.eq("no mondo while DELIVERED", self.mondos(), k + 1);
        // IDLE with packets pending: raised again at once.
        t.eq("vintr_setstate IDLE with packets pending", hv::vintr_setstate(dh, ino, 0), Ok(()));
        self.expect_mondo(&mut t, "raised again by IDLE", k + 1, ck);
        for i in 1..=3 {
            let p = self.recv(0, POLLS, "interrupt test packet")?;
            t.eq("packet", words(&p)[2], i);
        }
        // Invalid: not raised; valid again with a packet pending: raised at once.
        t.eq("vintr_setvalid 0", hv::vintr_setvalid(dh, ino, 0), Ok(()));
        t.eq("vintr_setstate IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        let k = self.mondos();
        self.tell(tag::GO, [3, 0, 0, 0, 0, 0])?;
        t.ok(wait(POLLS, || self.rx_queued(0) == 1), format_args!("the packet never queued: {}", self.rx_queued(0)));
        t.eq("no mondo while invalid", self.mondos(), k);
        t.eq("vintr_getstate IDLE while invalid", hv::vintr_getstate(dh, ino), Ok(0));
        t.eq("vintr_setvalid 1 with a packet pending", hv::vintr_setvalid(dh, ino, 1), Ok(()));
        self.expect_mondo(&mut t, "raised by setvalid", k, ck);
        let p = self.recv(0, POLLS, "interrupt test packet")?;
        t.eq("packet", words(&p)[2], 4);
        t.eq("vintr_setstate IDLE, queue empty", hv::vintr_setstate(dh, ino, 0), Ok(()));
        t.eq("vintr_getstate IDLE", hv::vintr_getstate(dh, ino), Ok(0));
        t.finish();
        if let Some(other) = self.other_vcpu {
            self.interrupt_on_other_vcpu(other)?;
        }
        self.tell(tag::GO, [0; 6])?;
        Ok(())
    }

    /// `vintr_settarget` to another vCPU of the domain, started for it with a device mondo
    /// queue of its own: a packet's rx interrupt goes into that vCPU's queue, not this one's.
    fn interrupt_on_other_vcpu(&mut self, other: u64) -> Step {
        let (dh, ino, ck) = (self.devhandle, self.eps[0].rx_ino, self.rx_cookie(0));
        let mut t = T::new("ldc rx interrupt on another vCPU");
        if let Err(e) = crate::smp::start_helper(other) {
            t.ok(false, format_args!("vCPU {other}: {e}"));
            t.finish();
            return Ok(());
        }
        let s = crate::smp::helper_dev_queue(other, DEV_QUEUE_ENTRIES, true);
        t.eq("the other vCPU's cpu_qconf(dev mondo)", s, Some(EOK));
        t.eq("vintr_settarget(other vCPU)", hv::vintr_settarget(dh, ino, other), Ok(()));
        t.eq("vintr_gettarget", hv::vintr_gettarget(dh, ino), Ok(other));
        t.eq("vintr_setstate IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        let (mine, theirs) = (self.mondos(), crate::console_intr::dev_mondos(other));
        self.tell(tag::GO, [5, 0, 0, 0, 0, 0])?;
        let came = wait(POLLS, || crate::console_intr::dev_mondos(other) > theirs);
        t.ok(came, format_args!("no device mondo on vCPU {other}"));
        let mut want = [0u64; 8];
        want[0] = ck;
        t.eq("its device mondo", crate::console_intr::dev_mondo(other, theirs), Some(want));
        t.eq("none on this vCPU", self.mondos(), mine);
        t.eq("vintr_getstate DELIVERED", hv::vintr_getstate(dh, ino), Ok(2));
        let p = self.recv(0, POLLS, "interrupt test packet")?;
        t.eq("packet", words(&p)[2], 5);
        t.eq("vintr_settarget(self) again", hv::vintr_settarget(dh, ino, self.me), Ok(()));
        t.eq("vintr_setstate IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        let s = crate::smp::helper_dev_queue(other, 0, false);
        t.eq("the other vCPU's cpu_qconf(dev mondo, 0)", s, Some(EOK));
        t.eq("cpu_stop(other vCPU)", hv::cpu_stop(other), Ok(()));
        t.finish();
        Ok(())
    }

    /// The interrupt test with this domain sending.
    /// Each GO names the packets to send (0: the test is over).
    fn interrupt_sender(&mut self) -> Step {
        let data = |i| msg(tag::DATA, [i, 0, 0, 0, 0, 0]);
        loop {
            let packets: &[u64] = match self.expect(tag::GO, "interrupt test")?[0] {
                0 => return Ok(()),
                1 => &[1],
                2 => &[2, 3],
                3 => &[4],
                5 => &[5],
                n => {
                    check("ldc protocol", false, format_args!("interrupt test step {n}"));
                    return Err(Abort);
                }
            };
            for &i in packets {
                self.send(0, &data(i), "interrupt test")?;
            }
        }
    }

    // ----- 4. modes -----

    /// N raw packets each way, sending and receiving at once.
    fn raw_mode(&mut self) -> Step {
        let mut t = T::new("ldc RAW mode: 40 packets each way");
        let (mut sent, mut rcvd) = (0u64, 0u64);
        let (me, peer) = (self.base, self.peer_base);
        let mut bad = 0;
        let done = wait(POLLS, || {
            if sent < N {
                let p =
                    from_words(core::array::from_fn(|i| if i == 0 { sent } else { pattern(me, 0, sent, i as u64) }));
                match self.try_send(0, &p) {
                    Ok(()) => sent += 1,
                    Err(HvError::WouldBlock) => {}
                    Err(_) => bad += 1,
                }
            }
            if rcvd < N {
                if let Some(p) = self.try_recv(0) {
                    let w = words(&p);
                    let want: [u64; 8] =
                        core::array::from_fn(|i| if i == 0 { rcvd } else { pattern(peer, 0, rcvd, i as u64) });
                    if w != want {
                        bad += 1;
                        check("ldc RAW mode packet", false, format_args!("packet {rcvd}: {w:#x?}"));
                    }
                    rcvd += 1;
                }
            }
            (sent == N && rcvd == N) || bad > 3
        });
        t.ok(done && bad == 0, format_args!("sent {sent}, received {rcvd}, {bad} errors"));
        if t.finish() {
            Ok(())
        } else {
            Err(Abort)
        }
    }

    /// Receives one non-raw packet and checks its sequence number (`last` + 1).
    fn recv_seq(&mut self, t: &mut T, last: &mut u32, what: &str) -> Result<Packet, Abort> {
        let p = self.recv(0, POLLS, what)?;
        t.eq(what, p.seqid(), last.wrapping_add(1));
        *last = p.seqid();
        Ok(p)
    }

    /// The handshake and N packets each way in `mode` (UNRELIABLE or STREAM).
    fn mode(&mut self, mode: u8, name: &'static str) -> Step {
        let mut t = T::new(name);
        let stream = mode == l::mode::STREAM;
        // Initial sequence numbers: distinct per domain and mode.
        let my_start: u32 = if self.low { 0x1000 } else { 0x8000 } + 0x100 * mode as u32;
        let mut snd = my_start; // the last seqid sent
        let mut last: u32; // the last seqid received
        if self.low {
            // Initiator: VERS 2.0 (NACKed with 1.0), VERS 1.0, RTS; RTR; RDX.
            self.send(0, &Packet::vers(stype::INFO, 2, 0), "VERS")?;
            let p = self.recv(0, POLLS, "VERS NACK")?;
            t.eq("VERS 2.0 answered", p.handshake(), Some(Handshake::Vers { stype: stype::NACK, major: 1, minor: 0 }));
            self.send(0, &Packet::vers(stype::INFO, 1, 0), "VERS")?;
            let p = self.recv(0, POLLS, "VERS ACK")?;
            t.eq("VERS 1.0 answered", p.handshake(), Some(Handshake::Vers { stype: stype::ACK, major: 1, minor: 0 }));
            self.send(0, &Packet::rts(mode, snd), "RTS")?;
            let p = self.recv(0, POLLS, "RTR")?;
            let peer_start = p.seqid();
            t.eq("RTR", p.handshake(), Some(Handshake::Rtr { stype: stype::INFO, mode, seqid: peer_start }));
            last = peer_start;
            snd += 1;
            self.send(0, &Packet::rdx(snd, last), "RDX")?;
        } else {
            let p = self.recv(0, POLLS, "VERS")?;
            t.eq("VERS 2.0 offered", p.handshake(), Some(Handshake::Vers { stype: stype::INFO, major: 2, minor: 0 }));
            self.send(0, &Packet::vers(stype::NACK, 1, 0), "VERS NACK")?;
            let p = self.recv(0, POLLS, "VERS")?;
            t.eq("VERS 1.0 offered", p.handshake(), Some(Handshake::Vers { stype: stype::INFO, major: 1, minor: 0 }));
            self.send(0, &Packet::vers(stype::ACK, 1, 0), "VERS ACK")?;
            let p = self.recv(0, POLLS, "RTS")?;
            let peer_start = p.seqid();
            t.eq("RTS", p.handshake(), Some(Handshake::Rts { stype: stype::INFO, mode, seqid: peer_start }));
            last = peer_start;
            self.send(0, &Packet::rtr(mode, snd), "RTR")?;
            let p = self.recv_seq(&mut t, &mut last, "RDX")?;
            t.eq("RDX", p.handshake(), Some(Handshake::Rdx { stype: stype::INFO, seqid: last, ackid: snd }));
        }
        // Data: N packets each way, interleaved; payload pattern by (domain, mode, index).
        let len = if stream { 48 } else { 56 };
        let off = if stream { Packet::RELIABLE_PAYLOAD_OFF } else { Packet::UNRELIABLE_PAYLOAD_OFF };
        let (me, peer) = (self.base, self.peer_base);
        let first_data = snd + 1;
        let (mut sent, mut rcvd, mut bad, mut acked) = (0u64, 0u64, 0u64, 0u32);
        let done = wait(POLLS, || {
            if sent < N {
                let mut p = Packet::new(
                    pkt_type::DATA,
                    stype::INFO,
                    0,
                    l::env::START | l::env::STOP | len as u8,
                    snd.wrapping_add(1),
                );
                if stream {
                    p.set_ackid(last);
                }
                for i in 0..len / 8 {
                    let w = pattern(me, mode as u64, sent, i as u64).to_be_bytes();
                    p.0[off + 8 * i..off + 8 * i + 8].copy_from_slice(&w);
                }
                match self.try_send(0, &p) {
                    Ok(()) => {
                        sent += 1;
                        snd = snd.wrapping_add(1);
                    }
                    Err(HvError::WouldBlock) => {}
                    Err(_) => bad += 1,
                }
            }
            if rcvd < N {
                if let Some(p) = self.try_recv(0) {
                    let mut ok = p.pkt_type() == pkt_type::DATA
                        && p.stype() == stype::INFO
                        && p.env() == l::env::START | l::env::STOP | len as u8
                        && p.seqid() == last.wrapping_add(1);
                    for i in 0..len / 8 {
                        let w = pattern(peer, mode as u64, rcvd, i as u64).to_be_bytes();
                        ok &= p.0[off + 8 * i..off + 8 * i + 8] == w;
                    }
                    if stream {
                        // The peer acknowledges what it has received of ours, never more.
                        ok &= p.ackid() >= acked && p.ackid() <= snd;
                        acked = p.ackid();
                    }
                    if !ok {
                        bad += 1;
                        check(name, false, format_args!("packet {rcvd} (last seqid {last:#x}): {:#x?}", words(&p)));
                    }
                    last = p.seqid();
                    rcvd += 1;
                }
            }
            (sent == N && rcvd == N) || bad > 3
        });
        t.ok(done && bad == 0, format_args!("sent {sent}, received {rcvd}, {bad} errors"));
        if stream && done {
            // Each side acknowledges the peer's last packet.
            let mut ack = Packet::new(pkt_type::DATA, stype::ACK, 0, 0, snd.wrapping_add(1));
            ack.set_ackid(last);
            self.send(0, &ack, "ACK")?;
            snd = snd.wrapping_add(1);
            let p = self.recv_seq(&mut t, &mut last, "ACK")?;
            t.eq("ACK", (p.pkt_type(), p.stype(), p.ackid()), (pkt_type::DATA, stype::ACK, snd - 1));
        }
        t.eq("data seqids", snd.wrapping_sub(first_data), N as u32 - 1 + stream as u32);
        if t.finish() {
            Ok(())
        } else {
            Err(Abort)
        }
    }

    // ----- 5. full queue -----

    /// Fills the other domain's receive queue.
    fn fill_sender(&mut self) -> Step {
        let (id, dh, ino, ck) = (self.id(0), self.devhandle, self.eps[0].tx_ino, self.tx_cookie(0));
        let mut t = T::new("ldc full queue: EWOULDBLOCK, nothing dropped, tx interrupt");
        self.expect(tag::FILL, "full-queue test")?;
        t.eq("vintr_setstate(tx) IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        let k = self.mondos();
        let data = |i: u64| msg(tag::DATA, [i, !i, 0, 0, 0, 0]);
        let mut seq = 0;
        // Singly until two entries are left.
        while seq < CAPACITY - 2 {
            if !t.eq("send", self.try_send(0, &data(seq)), Ok(())) {
                return Err(Abort);
            }
            seq += 1;
        }
        // Three at once do not fit: nothing moves.
        let t0 = self.tx_tail[0];
        let mut o = t0;
        for i in 0..3 {
            self.put(0, o, &data(seq + i));
            o = next(o);
        }
        t.eq("three packets for two free entries", hv::ldc_tx_set_qtail(id, o), Err(HvError::WouldBlock));
        t.eq("tail unchanged", hv::ldc_tx_get_state(id), Ok((t0, t0, state::UP)));
        // Two fit.
        let two = next(next(t0));
        t.eq("two packets for two free entries", hv::ldc_tx_set_qtail(id, two), Ok(()));
        t.eq("sent: head = tail", hv::ldc_tx_get_state(id), Ok((two, two, state::UP)));
        self.tx_tail[0] = two;
        seq += 2;
        // Full: one more is refused, and again.
        t.eq("one packet for a full queue", self.try_send(0, &data(seq)), Err(HvError::WouldBlock));
        t.eq("again", self.try_send(0, &data(seq)), Err(HvError::WouldBlock));
        t.eq("tail unchanged", hv::ldc_tx_get_state(id), Ok((two, two, state::UP)));
        let tx_yet = (k..self.mondos()).any(|j| crate::console_intr::dev_mondo(self.me, j).is_some_and(|w| w[0] == ck));
        t.ok(!tx_yet, format_args!("a tx interrupt before the peer drained"));
        // The peer drains its queue once it is full: the tx interrupt.
        self.expect_mondo(&mut t, "tx interrupt once the peer drained", k, ck);
        t.eq("vintr_getstate(tx) DELIVERED", hv::vintr_getstate(dh, ino), Ok(2));
        t.eq("the refused packet goes now", self.try_send(0, &data(seq)), Ok(()));
        seq += 1;
        while seq < CAPACITY + 5 {
            self.send(0, &data(seq), "full-queue test")?;
            seq += 1;
        }
        t.eq("vintr_setstate(tx) IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        self.expect(tag::FILL, "full-queue test end")?;
        t.finish();
        Ok(())
    }

    /// Lets the other domain fill this one's receive queue, then drains it.
    fn fill_receiver(&mut self) -> Step {
        let mut t = T::new("ldc full queue: the receiver gets every packet once");
        let id = self.id(0);
        t.eq("queue empty", self.rx_queued(0), 0);
        self.tell(tag::FILL, [0; 6])?;
        let full = wait(POLLS, || self.rx_queued(0) == CAPACITY);
        t.ok(full, format_args!("the queue never filled: {} packets", self.rx_queued(0)));
        if !full {
            return Err(Abort);
        }
        let (head, tail, _) = hv::ldc_rx_get_state(id).unwrap_or((0, 0, 0));
        t.eq("full: tail one entry behind head", next(tail), head);
        let mut o = head;
        for i in 0..CAPACITY {
            let w = words(&self.get(0, o));
            t.eq("queued packet", (w[0], w[1], w[2], w[3]), (MAGIC, tag::DATA, i, !i));
            o = next(o);
        }
        t.eq("rx_set_qhead: all read", hv::ldc_rx_set_qhead(id, tail), Ok(()));
        for i in CAPACITY..CAPACITY + 5 {
            let w = words(&self.recv(0, POLLS, "the rest after the full queue")?);
            t.eq("packet after the drain", (w[0], w[1], w[2], w[3]), (MAGIC, tag::DATA, i, !i));
        }
        self.tell(tag::FILL, [1, 0, 0, 0, 0, 0])?;
        t.finish();
        Ok(())
    }

    // ----- 6. shared memory -----

    /// Exports pages and checks what the other domain did to them.
    fn exporter(&mut self) -> Step {
        let c0 = self.id(0);
        let e = EXPORT.ra();
        let mut t = T::new("ldc export: map table, revoke");
        for page in 0..4 {
            for off in (0..PAGE).step_by(8) {
                wr(e + page * PAGE + off, page_word(self.base, page, off));
            }
        }
        let rw = Mte::R | Mte::W | Mte::CPR | Mte::CPW;
        // 0, 1: read/write pages; 2: read and copy-in only; 3: no permissions; 4: a 64 KiB
        // page; 5: a page of the hypervisor; 6: read/execute; 7: zero; 8: a page of the
        // importer; 9-15: zero; 16-31: page 0, copy-in only (the 64 KiB copy).
        let entries: [u64; 8] = [
            Mte::new(e, PageSize::Size8K, rw).0,
            Mte::new(e + PAGE, PageSize::Size8K, rw).0,
            Mte::new(e + 2 * PAGE, PageSize::Size8K, Mte::R | Mte::CPR).0,
            Mte::new(e + 3 * PAGE, PageSize::Size8K, 0).0,
            Mte::new(e + 3 * PAGE, PageSize::Size64K, Mte::R | Mte::CPR).0,
            Mte::new(0x10_0000, PageSize::Size8K, rw).0,
            Mte::new(e + 3 * PAGE, PageSize::Size8K, Mte::R | Mte::X).0,
            0,
        ];
        let m = TABLE.ra();
        for i in 0..TABLE_ENTRIES {
            let mte = if i < 8 {
                entries[i as usize]
            } else if i == 8 {
                // A page of the importer's own memory: not the exporter's to give.
                Mte::new(self.peer_base + 0x2000, PageSize::Size8K, rw).0
            } else if i >= 16 {
                Mte::new(e, PageSize::Size8K, Mte::CPR).0
            } else {
                0
            };
            wr(m + 16 * i, mte);
            wr(m + 16 * i + 8, 0);
        }
        // SAFETY: the table and pages are ours and stay exported until removed below.
        t.eq("set_map_table", unsafe { hv::ldc_set_map_table(c0, m, TABLE_ENTRIES) }, Ok(()));
        t.eq("get_map_table", hv::ldc_get_map_table(c0), Ok((m, TABLE_ENTRIES)));
        self.tell(tag::EXPORTED, [0; 6])?;
        let w = self.expect(tag::WROTE, "the importer's writes")?;
        // Copy out: 64 bytes at 0x100 of page 0, 0x100 bytes at the end of page 1.
        for i in 0..8 {
            t.eq("copied out to page 0", rd(e + 0x100 + 8 * i), pattern(self.peer_base, 9, 0, i));
        }
        for i in 0..0x20 {
            t.eq("copied out to page 1", rd(e + PAGE + 0x1f00 + 8 * i), pattern(self.peer_base, 9, 1, i));
        }
        t.eq("page 2 (copy-in only) unchanged", rd(e + 2 * PAGE), page_word(self.base, 2, 0));
        t.eq("no real store landed (MMU off)", rd(e + 0x200), page_word(self.base, 0, 0x200));
        t.eq("stored through the importer's TTE", rd(e + 0x300), w[1]);
        let unchanged = (0..PAGE).step_by(8).all(|off| rd(e + 2 * PAGE + off) == page_word(self.base, 2, off));
        t.ok(unchanged, format_args!("the read-only page changed"));
        t.eq("revoke with nothing mapped", hv::ldc_revoke(c0, cookie(1, 0), rd(m + 16 + 8)), Err(HvError::Inval));
        self.tell(tag::MAP_AGAIN, [0; 6])?;
        self.expect(tag::MAPPED, "the importer's map-in")?;
        let rc = rd(m + 16 + 8);
        t.eq("revoke unknown channel", hv::ldc_revoke(self.unknown_ch, cookie(1, 0), rc), Err(HvError::Channel));
        t.eq("revoke, wrong revoke cookie", hv::ldc_revoke(c0, cookie(1, 0), rc ^ 1), Err(HvError::Inval));
        t.eq("revoke, another page", hv::ldc_revoke(c0, cookie(0, 0), rc), Err(HvError::Inval));
        t.eq("revoke", hv::ldc_revoke(c0, cookie(1, 0x40), rc), Ok(()));
        t.eq("revoke twice", hv::ldc_revoke(c0, cookie(1, 0), rc), Err(HvError::Inval));
        self.tell(tag::REVOKED, [0; 6])?;
        self.expect(tag::REVOKED, "the importer's checks")?;
        // SAFETY: removes the table.
        t.eq("set_map_table 0 entries", unsafe { hv::ldc_set_map_table(c0, 0, 0) }, Ok(()));
        t.eq("get_map_table", hv::ldc_get_map_table(c0), Ok((0, 0)));
        self.tell(tag::TABLE_GONE, [0; 6])?;
        self.expect(tag::TABLE_GONE, "the importer's last checks")?;
        t.finish();
        Ok(())
    }

    /// Copies, maps and unmaps the other domain's exported pages.
    fn importer(&mut self) -> Step {
        let c0 = self.id(0);
        let b = LOCAL.ra();
        let pb = self.peer_base;
        self.expect(tag::EXPORTED, "the exporter's map table")?;
        let cp = |dir, ck, ra, len| {
            // SAFETY: LOCAL is ours; copies out only read it.
            unsafe { hv::ldc_copy(c0, dir, ck, ra, len) }
        };
        let same = |ra: u64, page: u64, from: u64, len: u64| {
            (0..len).step_by(8).all(|o| rd(ra + o) == page_word(pb, page, from + o))
        };

        let mut t = T::new("ldc_copy in and out, across entries, partial copies");
        t.eq("copy in page 0", cp(l::COPY_IN, cookie(0, 0), b, PAGE), Ok(PAGE));
        t.ok(same(b, 0, 0, PAGE), format_args!("page 0 copied wrong"));
        t.eq("copy in across entries 0 and 1", cp(l::COPY_IN, cookie(0, 0x1000), b, PAGE), Ok(PAGE));
        t.ok(same(b, 0, 0x1000, 0x1000) && same(b + 0x1000, 1, 0, 0x1000), format_args!("copied wrong"));
        t.eq("copy in from entry 2 into entry 3 (no copy)", cp(l::COPY_IN, cookie(2, 0x1800), b, 0x1000), Ok(0x800));
        t.ok(same(b, 2, 0x1800, 0x800), format_args!("page 2 copied wrong"));
        t.eq(
            "copy in across the end of the table",
            cp(l::COPY_IN, cookie(TABLE_ENTRIES - 1, 0x1000), b, 0x2000),
            Ok(0x1000),
        );
        t.eq("copy in of 72 KiB stops at 64 KiB", cp(l::COPY_IN, cookie(16, 0), b, 0x12000), Ok(0x10000));
        t.ok((0..8).all(|k| same(b + k * PAGE, 0, 0, PAGE)), format_args!("64 KiB copied wrong"));
        for i in 0..8 {
            wr(b + 8 * i, pattern(self.base, 9, 0, i));
        }
        t.eq("copy out 64 bytes", cp(l::COPY_OUT, cookie(0, 0x100), b, 64), Ok(64));
        for i in 0..0x40 {
            wr(b + 8 * i, pattern(self.base, 9, 1, i));
        }
        t.eq(
            "copy out from entry 1 into entry 2 (copy-in only)",
            cp(l::COPY_OUT, cookie(1, 0x1f00), b, 0x200),
            Ok(0x100),
        );
        t.finish();

        let mut t = T::new("ldc_copy errors from the exporter's map table");
        t.eq("copy out to copy-in-only entry", cp(l::COPY_OUT, cookie(2, 0), b, 8), Err(HvError::NoAccess));
        t.eq("copy in from an entry without permissions", cp(l::COPY_IN, cookie(3, 0), b, 8), Err(HvError::NoAccess));
        t.eq("64 KiB MTE", cp(l::COPY_IN, cookie(4, 0), b, 8), Err(HvError::BadPgSz));
        t.eq("MTE RA outside the exporter", cp(l::COPY_IN, cookie(5, 0), b, 8), Err(HvError::NoRAddr));
        t.eq("MTE RA outside the exporter, out", cp(l::COPY_OUT, cookie(5, 0), b, 8), Err(HvError::NoRAddr));
        t.eq("MTE RA in the importer's memory", cp(l::COPY_IN, cookie(8, 0), b, 8), Err(HvError::NoRAddr));
        t.eq("MTE RA in the importer's memory, out", cp(l::COPY_OUT, cookie(8, 0), b, 8), Err(HvError::NoRAddr));
        t.eq("zero MTE", cp(l::COPY_IN, cookie(7, 0), b, 8), Err(HvError::NoAccess));
        t.eq("index past the table", cp(l::COPY_IN, cookie(TABLE_ENTRIES, 0), b, 8), Err(HvError::NoMap));
        t.eq("index 2^40", cp(l::COPY_IN, cookie(1 << 40, 0), b, 8), Err(HvError::NoMap));
        t.eq("64 KiB cookie", cp(l::COPY_IN, make_cookie(PageSize::Size64K, 0, 0), b, 8), Err(HvError::BadPgSz));
        t.eq("cookie size code 15", cp(l::COPY_IN, 0xf << 60, b, 8), Err(HvError::BadPgSz));
        t.eq("copy in to a hostile RA", cp(l::COPY_IN, cookie(0, 0), 0x10_0000, 8), Err(HvError::NoRAddr));
        t.finish();

        let mut t = T::new("ldc_mapin: through TTEs, not real or permanent; unmap");
        self.mapins(&mut t)?;
        t.finish();

        let mut t = T::new("ldc_mapin: 8 slots per endpoint, then ETOOMANY");
        let mut ras = [0u64; MAPIN_SLOTS as usize];
        let mut n = 0;
        let last = loop {
            match hv::ldc_mapin(c0, cookie(0, 0)) {
                Ok((ra, _)) if n < MAPIN_SLOTS as usize => {
                    ras[n] = ra;
                    n += 1;
                }
                Ok((ra, _)) => {
                    // SAFETY: the mapping just made; nothing uses it.
                    let _ = unsafe { hv::ldc_unmap(ra) };
                    break Ok(ra);
                }
                Err(e) => break Err(e),
            }
        };
        t.eq("map-ins before ETOOMANY", n as u64, MAPIN_SLOTS);
        t.eq("the next", last, Err(HvError::TooMany));
        let distinct = (1..n).all(|i| !ras[..i].contains(&ras[i]));
        t.ok(distinct, format_args!("two map-ins got the same RA"));
        for &ra in &ras[..n] {
            // SAFETY: nothing uses these mappings.
            t.eq("unmap", unsafe { hv::ldc_unmap(ra) }, Ok(()));
        }
        t.finish();

        // Revoke: map page 1 in again, the exporter revokes it.
        let mut t = T::new("ldc_revoke: the importer's access faults");
        self.expect(tag::MAP_AGAIN, "map again")?;
        let m = hv::ldc_mapin(c0, cookie(1, 0));
        t.ok(m.is_ok_and(|m| m.1 == 3), format_args!("mapin page 1: {m:?}"));
        let ra = m.map_or(0, |m| m.0);
        let va = VA_MAP + 4 * PAGE;
        self.tsb_set(va, mmu::tte(ra, mmu::SZ_8K, mmu::TTE_P | mmu::TTE_W));
        let (r, f) = self.with_mmu(|| {
            let mut v = 0;
            let f = faulting(|| v = rd(va + 8));
            (v, f.0)
        });
        t.eq("read through the TTE", (r, f), (page_word(pb, 1, 8), 0));
        self.tell(tag::MAPPED, [ra, 0, 0, 0, 0, 0])?;
        self.expect(tag::REVOKED, "the exporter's revoke")?;
        let (n, tt, dfa) = self.with_mmu(|| {
            faulting(|| {
                let _ = rd(va + 8);
            })
        });
        t.eq("access through the TTE after revoke", (n, tt, dfa & !(PAGE - 1)), (1, 0x30, va));
        let (n, tt, _) = faulting(|| {
            let _ = rd(ra + 8);
        });
        t.ok(n == 1 && (tt == 0x30 || tt == 0x32), format_args!("real access after revoke: {n} traps, tt {tt:#x}"));
        // SAFETY: refused: the map-in is gone.
        t.eq("unmap after revoke", unsafe { hv::ldc_unmap(ra) }, Err(HvError::Inval));
        self.tsb_set(va, 0);
        self.tell(tag::REVOKED, [0; 6])?;
        self.expect(tag::TABLE_GONE, "the exporter removes its table")?;
        t.eq("copy with the table removed", cp(l::COPY_IN, cookie(0, 0), b, 8), Err(HvError::NoMap));
        t.eq("mapin with the table removed", hv::ldc_mapin(c0, cookie(0, 0)), Err(HvError::NoMap));
        self.tell(tag::TABLE_GONE, [0; 6])?;
        t.finish();
        Ok(())
    }

    /// `ldc_mapin` of the exporter's pages and what the importer can do with them.
    fn mapins(&mut self, t: &mut T) -> Step {
        let c0 = self.id(0);
        let pb = self.peer_base;
        let window = |ra: u64| {
            (l::MAPIN_BASE_RA..l::MAPIN_BASE_RA + l::MAPIN_SLOTS * l::MAPIN_SLOT_SIZE).contains(&ra)
                && (ra - l::MAPIN_BASE_RA) % l::MAPIN_SLOT_SIZE < PAGE
        };
        t.eq("mapin no permissions", hv::ldc_mapin(c0, cookie(3, 0)), Err(HvError::NoAccess));
        t.eq("mapin 64 KiB MTE", hv::ldc_mapin(c0, cookie(4, 0)), Err(HvError::BadPgSz));
        t.eq("mapin MTE RA outside the exporter", hv::ldc_mapin(c0, cookie(5, 0)), Err(HvError::NoRAddr));
        t.eq("mapin MTE RA in the importer's memory", hv::ldc_mapin(c0, cookie(8, 0)), Err(HvError::NoRAddr));
        t.eq("mapin zero MTE (RA 0 before permissions)", hv::ldc_mapin(c0, cookie(7, 0)), Err(HvError::NoRAddr));
        t.eq("mapin index past the table", hv::ldc_mapin(c0, cookie(TABLE_ENTRIES, 0)), Err(HvError::NoMap));
        t.eq("mapin 64 KiB cookie", hv::ldc_mapin(c0, make_cookie(PageSize::Size64K, 0, 0)), Err(HvError::BadPgSz));
        let m0 = hv::ldc_mapin(c0, cookie(0, 0));
        let m1 = hv::ldc_mapin(c0, cookie(1, 0x100));
        let m2 = hv::ldc_mapin(c0, cookie(2, 0));
        let m6 = hv::ldc_mapin(c0, cookie(6, 0));
        t.ok(m0.is_ok_and(|m| m.1 == 3 && window(m.0) && m.0 % PAGE == 0), format_args!("mapin page 0: {m0:x?}"));
        t.ok(
            m1.is_ok_and(|m| m.1 == 3 && window(m.0) && m.0 % PAGE == 0x100),
            format_args!("mapin page 1 + 0x100: {m1:x?}"),
        );
        t.ok(m2.is_ok_and(|m| m.1 == 1 && window(m.0)), format_args!("mapin read-only page 2: {m2:x?}"));
        t.ok(m6.is_ok_and(|m| m.1 == 5 && window(m.0)), format_args!("mapin R|X page 3: {m6:x?}"));
        let (Ok((r0, _)), Ok((r1, _)), Ok((r2, _)), Ok((r6, _))) = (m0, m1, m2, m6) else {
            return Err(Abort);
        };
        t.ok(r0 != r1 - 0x100 && r0 != r2 && r2 != r6, format_args!("map-ins share a slot"));
        // Not with the MMU off: every real access is a data access error, and no store lands
        // (the exporter checks its pages).
        let dae = hv_api::trap::tt::DATA_ACCESS_ERROR;
        for (what, ra, store) in [
            ("real load from page 0", r0 + 0x1ff8, false),
            ("real load from page 1", r1, false),
            ("real load from page 2", r2 + 0x40, false),
            ("real store to page 0", r0 + 0x200, true),
            ("real store to read-only page 2", r2 + 0x48, true),
        ] {
            let (n, tt, _) = faulting(|| {
                if store {
                    wr(ra, 0xbad0_0000_0000_0000 ^ self.base);
                } else {
                    let _ = rd(ra);
                }
            });
            t.eq(what, (n, tt), (1, dae));
        }
        // Not through a permanent mapping either.
        let perm = mmu::tte(r0, mmu::SZ_8K, mmu::TTE_P);
        // SAFETY: refused; if it were not, it is removed before the MMU is ever on.
        let r = unsafe { hv::mmu_map_perm_addr(VA_MAP + 3 * PAGE, perm, mmu::MAP_D) };
        t.eq("mmu_map_perm_addr of a map-in", r, Err(HvError::NoRAddr));
        if r.is_ok() {
            // SAFETY: the mapping just made.
            let _ = unsafe { hv::mmu_unmap_perm_addr(VA_MAP + 3 * PAGE, mmu::MAP_D) };
        }
        // Through TTEs, MMU on: a TSB entry for page 0, mmu_map_addr for page 3 (R|X), and
        // a writable TSB entry for the read-only page 2, whose store must not land.
        let (va0, va2, va6) = (VA_MAP, VA_MAP + PAGE, VA_MAP + 2 * PAGE);
        self.tsb_set(va0, mmu::tte(r0, mmu::SZ_8K, mmu::TTE_P | mmu::TTE_W));
        self.tsb_set(va2, mmu::tte(r2, mmu::SZ_8K, mmu::TTE_P | mmu::TTE_W));
        let tte6 = mmu::tte(r6, mmu::SZ_8K, mmu::TTE_P | mmu::TTE_X);
        let base = self.base;
        let (read0, faults0, read6, map6, store2) = self.with_mmu(|| {
            let mut read0 = 0;
            let (f, _, _) = faulting(|| {
                read0 = rd(va0 + 0x10);
                wr(va0 + 0x300, 0x7e57_0000_0000_0000 ^ base);
            });
            // SAFETY: a translation to the peer's page, used for one load here.
            let map6 = unsafe { hv::mmu_map_addr(va6, 0, tte6, mmu::MAP_D) };
            let read6 = if map6.is_ok() { rd(va6 + 0x18) } else { 0 };
            let store2 = faulting(|| wr(va2 + 0x40, 0xbad));
            (read0, f, read6, map6, store2)
        });
        t.eq("read through a TSB entry", (read0, faults0), (page_word(pb, 0, 0x10), 0));
        t.eq("mmu_map_addr of an R|X map-in", map6, Ok(()));
        t.eq("read through it", read6, page_word(pb, 3, 0x18));
        t.ok(
            store2.0 == 1 && (store2.1 == 0x30 || store2.1 == 0x6c),
            format_args!("store through a writable TTE to a read-only map-in: {} traps, tt {:#x}", store2.0, store2.1),
        );
        // Unmap: any byte of the page; twice is EINVAL.
        // SAFETY: nothing uses these mappings any more (the TTEs fault from now on).
        unsafe {
            t.eq("unmap page 0", hv::ldc_unmap(r0), Ok(()));
            t.eq("unmap page 0 twice", hv::ldc_unmap(r0), Err(HvError::Inval));
            t.eq("unmap page 1 by a byte inside", hv::ldc_unmap(r1 + 0x18), Ok(()));
            t.eq("unmap page 2", hv::ldc_unmap(r2), Ok(()));
            t.eq("unmap page 3", hv::ldc_unmap(r6 + PAGE - 8), Ok(()));
        }
        let (n, tt, dfa) = self.with_mmu(|| {
            faulting(|| {
                let _ = rd(va0 + 0x10);
            })
        });
        t.eq("access through the TSB entry after unmap", (n, tt, dfa & !(PAGE - 1)), (1, 0x30, va0));
        let (n, tt, _) = faulting(|| {
            let _ = rd(r0 + 0x10);
        });
        t.ok(n == 1 && (tt == 0x30 || tt == 0x32), format_args!("real access after unmap: {n} traps, tt {tt:#x}"));
        self.tsb_set(va0, 0);
        self.tsb_set(va2, 0);
        let w = [0, 0x7e57_0000_0000_0000 ^ self.base, 0, 0, 0, 0];
        self.tell(tag::WROTE, w)?;
        Ok(())
    }

    /// Writes the TSB entry of `va` (context 0, 8K).
    fn tsb_set(&self, va: u64, tte: u64) {
        let e = TSB.ra() + 16 * ((va >> 13) & 511);
        wr(e + 8, 0);
        wr(e, va >> 22);
        wr(e + 8, tte);
    }

    /// Runs `f` with the MMU on: the fault area, the image and stack pages mapped to
    /// themselves permanently, [`TSB`] as the context-0 TSB; then turns it off.
    fn with_mmu<R>(&self, f: impl FnOnce() -> R) -> R {
        let image = self.base & !(mmu::PAGE_4M - 1);
        let stack = (self.base + self.size - 1) & !(mmu::PAGE_4M - 1);
        let kernel = mmu::TTE_P | mmu::TTE_X | mmu::TTE_W;
        // SAFETY: identity mappings of the guest's own image and stack; the TSB and fault
        // area are its own buffers.
        let ok = unsafe {
            hv::mmu_fault_area_conf(mmu::fault_area_ra()).is_ok()
                && hv::mmu_map_perm_addr(image, mmu::tte(image, mmu::SZ_4M, kernel), mmu::MAP_ID).is_ok()
                && hv::mmu_map_perm_addr(stack, mmu::tte(stack, mmu::SZ_4M, kernel), mmu::MAP_ID).is_ok()
                && hv::mmu_tsb_ctx0(1, mmu::descriptors(&[(0, 512, 0, 0x1, TSB.ra())])).is_ok()
        };
        let on = ok && mmu::mmu_enable(true) == EOK;
        if !on {
            check("ldc MMU on", false, format_args!("set-up ok {ok}"));
        }
        let r = f();
        let off = mmu::mmu_enable(false);
        // SAFETY: the MMU is off: the mappings are not in use.
        unsafe {
            let _ = hv::mmu_unmap_perm_addr(image, mmu::MAP_ID);
            let _ = hv::mmu_unmap_perm_addr(stack, mmu::MAP_ID);
            let _ = hv::mmu_tsb_ctx0(0, 0);
        }
        let _ = hv::mmu_demap_all(mmu::MAP_ID);
        if on && off != EOK {
            check("ldc MMU off", false, format_args!("mmu_enable(0): {off}"));
        }
        r
    }

    // ----- 7. reset -----

    /// This domain watches the other one reset and come back (endpoint 0; interrupts on).
    /// It tells the other domain when it is ready (the other resets only then);
    /// `then_reset`: this domain resets next, once the other is ready to watch it.
    fn watch_reset(&mut self, then_reset: bool) -> Step {
        let (dh, ino, ck) = (self.devhandle, self.eps[0].rx_ino, self.rx_cookie(0));
        let mut t = T::new("ldc link DOWN when the other domain resets, UP when it is back");
        t.eq("queue empty", self.rx_queued(0), 0);
        self.settle(&mut t);
        t.eq("vintr_setstate IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        let k = self.mondos();
        self.tell(tag::SYNC, [99, 0, 0, 0, 0, 0])?;
        let (came, s) = self.wait_state_change(0, state::UP);
        t.ok(came && s == state::DOWN, format_args!("waiting for the reset: state {s:#x} (came {came})"));
        self.expect_mondo(&mut t, "rx interrupt for the reset", k, ck);
        t.eq("send to the reset domain", self.try_send(0, &msg(tag::DATA, [0; 6])), Err(HvError::WouldBlock));
        // The restarted domain configures its receive queue once ours is gone.
        t.eq("rx_qconf 0 entries", self.rx_unconf(0), Ok(()));
        let (came, s) = self.wait_state_change(0, state::DOWN);
        t.ok(came && s == state::UP, format_args!("waiting for the restarted domain: state {s:#x} (came {came})"));
        if !came {
            t.finish();
            return Err(Abort);
        }
        t.eq("rx_qconf", self.rx_conf(0), Ok(()));
        t.eq("vintr_setstate IDLE", hv::vintr_setstate(dh, ino, 0), Ok(()));
        let a = self.expect(tag::REJOIN, "the restarted domain's hello")?;
        t.eq("the restarted domain", a[0], self.peer_base);
        self.tell(tag::REJOIN, [self.base, 0, 0, 0, 0, 0])?;
        t.finish();
        if then_reset {
            let a = self.expect(tag::SYNC, "the other domain ready to watch")?;
            if a[0] != 99 {
                check("ldc protocol", false, format_args!("ready to watch: step {}", a[0]));
            }
            RESET_AWAITED.store(1, SeqCst);
        }
        Ok(())
    }

    /// The restarted domain joins endpoint 0 again: transmit queue; wait until the
    /// watcher has removed its receive queue; receive queue; wait until the watcher's is
    /// back; hello.
    fn rejoin(&mut self) -> Step {
        let mut t = T::new("ldc channel back after mach_sir");
        t.eq("tx_qinfo after mach_sir", hv::ldc_tx_qinfo(self.id(0)), Ok((0, 0)));
        t.eq("rx_qinfo after mach_sir", hv::ldc_rx_qinfo(self.id(0)), Ok((0, 0)));
        t.eq("get_map_table after mach_sir", hv::ldc_get_map_table(self.id(0)), Ok((0, 0)));
        let dh = self.devhandle;
        t.eq("vintr_getvalid after mach_sir", hv::vintr_getvalid(dh, self.eps[0].rx_ino), Ok(0));
        t.eq("vintr_getcookie after mach_sir", hv::vintr_getcookie(dh, self.eps[0].rx_ino), Ok(0));
        t.eq("tx_qconf", self.tx_conf(0), Ok(()));
        let mut s = state::UP;
        let gone = wait(FIRST_POLLS, || {
            s = self.tx_state(0);
            s != state::UP
        });
        t.ok(gone, format_args!("the other domain kept its receive queue: state {s:#x}"));
        t.eq("rx_qconf", self.rx_conf(0), Ok(()));
        let back = wait(POLLS, || {
            s = self.tx_state(0);
            s == state::UP
        });
        t.ok(back, format_args!("the other domain's receive queue never came back: state {s:#x}"));
        self.tell(tag::REJOIN, [self.base, 0, 0, 0, 0, 0])?;
        let a = self.expect(tag::REJOIN, "the other domain's answer")?;
        self.peer_base = a[0];
        self.low = self.base < self.peer_base;
        t.finish();
        Ok(())
    }
}

/// Negotiates LDOM 1.0; false (and a line saying so) when the hypervisor does not offer it.
fn negotiate() -> bool {
    match hv::api_set_version(group::LDOM, 1, 0) {
        Ok(0) => true,
        _ => {
            say!("LDC: group not offered");
            false
        }
    }
}

/// Runs the LDC tests when the guest MD lists channel endpoints (after the other tests).
pub fn run(base: u64, size: u64) {
    let mut ldc = match Ldc::new(base, size) {
        None => return,
        Some(Err(e)) => {
            check("ldc", false, format_args!("{e}"));
            return;
        }
        Some(Ok(l)) => l,
    };
    if !negotiate() {
        return;
    }
    say!("LDC tests");
    if ldc.all().is_err() {
        check("ldc", false, format_args!("the LDC tests stopped early"));
    }
    crate::smp::interrupts(false);
}

impl Ldc {
    fn all(&mut self) -> Step {
        self.arguments();
        self.hello()?;
        self.foreign_memory();
        let low = self.low;
        self.link_state(1, low)?;
        self.sync(0)?;
        self.link_state(1, !low)?;
        let mut t = T::new("ldc interrupts on endpoint 0 configured");
        self.interrupts_on(&mut t);
        t.finish();
        self.sync(1)?;
        for receiving in [!low, low] {
            if receiving {
                self.interrupt_receiver()?;
            } else {
                self.interrupt_sender()?;
            }
        }
        self.sync(2)?;
        self.raw_mode()?;
        self.sync(3)?;
        self.mode(l::mode::UNRELIABLE, "ldc unreliable mode: handshake, 40 packets each way")?;
        self.sync(4)?;
        self.mode(l::mode::STREAM, "ldc reliable (stream) mode: handshake, 40 packets each way, acks")?;
        self.sync(5)?;
        for sending in [low, !low] {
            if sending {
                self.fill_sender()?;
            } else {
                self.fill_receiver()?;
            }
        }
        self.sync(6)?;
        for exporting in [low, !low] {
            if exporting {
                self.exporter()?;
            } else {
                self.importer()?;
            }
        }
        self.sync(7)?;
        if low {
            // B resets now (mach_sir at the end of its tests); A watches it come back.
            self.watch_reset(true)?;
        } else {
            // A is ready to watch this domain reset.
            self.expect(tag::SYNC, "the watcher ready")?;
            RESET_AWAITED.store(1, SeqCst);
        }
        Ok(())
    }
}

/// After `mach_sir`: a domain with channel endpoints joins endpoint 0 again while the other
/// domain watches; B then watches A reset in turn.
pub fn after_sir(base: u64, size: u64) {
    let mut ldc = match Ldc::new(base, size) {
        None => return,
        Some(Err(e)) => {
            check("ldc after mach_sir", false, format_args!("{e}"));
            return;
        }
        Some(Ok(l)) => l,
    };
    RESET_AWAITED.store(0, SeqCst);
    let before = hv::api_get_version(group::LDOM);
    if hv::api_set_version(group::LDOM, 1, 0) != Ok(0) {
        return;
    }
    check_eq!("ldc: mach_sir resets the LDOM group", before, Ok((0, 0)));
    let _ = hv::api_set_version(group::INTR, 1, 0);
    let r = ldc.rejoin().and_then(|()| {
        if ldc.low {
            return Ok(());
        }
        let mut t = T::new("ldc interrupts on endpoint 0 configured after mach_sir");
        ldc.interrupts_on(&mut t);
        t.finish();
        ldc.watch_reset(false)
    });
    if r.is_err() {
        check("ldc after mach_sir", false, format_args!("stopped early"));
    }
    crate::smp::interrupts(false);
}
