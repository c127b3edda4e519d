//! Every LDC call (LDOM functions 0xe0–0xef) and every `vintr_*` call (0xa7–0xae) with
//! hostile arguments from both ends of two channels (configs/two-domains-ldc.toml, and the
//! same domains both seeing their memory at one real address): channel ids, queue and
//! map-table RAs at and across the edges of the caller's memory, in the peer's, in the
//! hypervisor's and in the map-in window, huge entry counts, tails and heads, cookies of
//! foreign, out-of-table, revoked and unmapped pages, MTEs naming pages outside the
//! exporter, map-in RAs in TTEs, devhandles and devinos. A deterministic xorshift walk.
//!
//! Each domain's vCPU runs on its own fake strand (its own TLBs and queue registers) over
//! one physical memory; a thread per strand answers the cross-strand TLB flushes that
//! `ldc_unmap` / `ldc_revoke` wait for. After every call the test compares every page
//! written (the fake memory records them) against its own copy of the memory: a byte may
//! change only where docs/ldc.md lets the call write —
//! - the peer's receive queue, on a send (`ldc_tx_set_qtail`);
//! - the caller's own buffer, on `ldc_copy` in;
//! - the exporter's pages whose MTE allows copy-out, on `ldc_copy` out;
//! - the revoke-cookie word of the exporter's map-table entry, on `ldc_mapin`;
//! - a device mondo queue (a channel interrupt delivered).
//!
//! Now and then a domain resets itself (`mach_sir`): its channels start again, and the
//! other domain's map-ins of its pages must be gone from that strand's TLBs at once.
//!
//! The test keeps its own model of the channels (queues, map tables, live map-ins) from the
//! calls' answers, checks every answer against it (an accepted queue or table lies inside
//! the caller's memory, an unknown channel is `ECHANNEL`, a map-in names an exported page
//! inside the exporter, a status is one the call may answer) and, after every call, that
//! no TLB entry of either strand maps a physical address outside that strand's domain but
//! for a page the model has live as mapped in by it.

use crate::arch::fake::FakeHardware;
use crate::hypervisor::{Hypervisor, Next};
use crate::test_bench::XorShift;
use crate::trap::{Action, TrapFrame};
use hv_api::error::HvError;
use hv_api::ldc::{make_cookie, Cookie, Mte, MAPIN_BASE_RA, MAPIN_SLOT_SIZE};
use hv_api::mmu::{PageSize, Tte};
use hv_api::{group, hcall, queue};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const PAGE4K: u64 = 4096;
const PAGE: u64 = 8192;
const PKT: u64 = 64;
const MAX_COPY: u64 = crate::ldc::MAX_COPY;
/// The `cfg-handle` of `channel-devices`.
const CDEV: u64 = ldom_config::build::CDEV_CFG_HANDLE;
/// Where each domain's device mondo queue is (RA offset from its base), 16 entries.
const DEV_MONDO_OFFSET: u64 = 0x10_0000;
const DEV_MONDO_BYTES: u64 = 16 * 64;
/// Calls per configuration.
const CALLS: u64 = 50_000;

const EOK: u64 = 0;
fn e(err: HvError) -> u64 {
    err.code()
}

/// The domains of configs/two-domains-ldc.toml seeing their memory at the same RA.
const SAME_RA: &str = r#"
[platform]
ram-size = "512M"
strands = 32

[[domain]]
name = "primary"
vcpus = [0]
memory = { base = 0x80000000, size = "256M", realbase = 0x80000000 }
image = "test-guest"

[[domain]]
name = "guest1"
vcpus = [4]
memory = { base = 0x90000000, size = "256M", realbase = 0x80000000 }
image = "test-guest"

[[channel]]
endpoints = ["primary", "guest1"]

[[channel]]
endpoints = ["primary", "guest1"]
ids = [5, 1]
"#;

/// A domain's memory: RA and PA of its start, size.
#[derive(Clone, Copy, Debug)]
struct Mem {
    ra: u64,
    pa: u64,
    size: u64,
}

impl Mem {
    /// The PA of `[ra, ra + len)` when it lies inside.
    fn pa_of(&self, ra: u64, len: u64) -> Option<u64> {
        let end = ra.checked_add(len)?;
        (ra >= self.ra && ra < self.ra + self.size && end <= self.ra + self.size).then(|| ra - self.ra + self.pa)
    }
    fn holds_pa(&self, pa: u64, len: u64) -> bool {
        pa >= self.pa && pa.checked_add(len).is_some_and(|e| e <= self.pa + self.size)
    }
}

/// The test's model of one endpoint.
#[derive(Clone, Copy, Debug, Default)]
struct Ep {
    domain: usize,
    id: u64,
    peer: usize,
    /// (RA, entries) of the receive queue and map table.
    rx: Option<(u64, u64)>,
    table: Option<(u64, u64)>,
    tx: Option<(u64, u64)>,
}

/// A live map-in as the model has it.
#[derive(Clone, Copy, Debug)]
struct Live {
    importer: usize,
    /// The RA of the slot's page.
    slot_ra: u64,
    pa: u64,
    perms: u64,
    /// The exporter's endpoint and entry, and the revoke cookie written there.
    exporter_ep: usize,
    index: u64,
    revoke: u64,
}

struct Bench {
    hv: Arc<Hypervisor>,
    /// Each domain's strand.
    strands: [u64; 2],
    /// Each domain's strand (vCPU index = domain index).
    hws: Arc<[Mutex<FakeHardware>; 2]>,
    mem: [Mem; 2],
    eps: Vec<Ep>,
    live: Vec<Live>,
    /// The test's copy of every 4 KiB page of physical memory that was ever written.
    shadow: BTreeMap<u64, Box<[u8]>>,
    rng: XorShift,
    stop: Arc<AtomicBool>,
    answerers: Vec<std::thread::JoinHandle<()>>,
    calls: u64,
    /// Resets (`mach_sir`) made, and the map-ins of the other domain they ended.
    sirs: (u64, u64),
    /// Calls that answered EOK, by function.
    succeeded: BTreeMap<u64, u64>,
    what: String,
    /// The length (`%o4`) of the `ldc_copy` being made.
    copy_len: u64,
    /// For the `vintr_*` call being made: whether its devhandle and devino are the caller's.
    vintr_valid: Option<bool>,
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.answerers.drain(..) {
            let _ = t.join();
        }
    }
}

impl Bench {
    fn new(cfg: &ldom_config::Config, seed: u64) -> Bench {
        let pdpa = |i: u64| 0x1f_1200_0000 + i * 0x2000;
        let placed: Vec<(u64, u64, u64)> =
            (0..cfg.domains.len() as u64).map(|i| (0xff_f008_0000 + i * 0x10_0000, 0x100, pdpa(i))).collect();
        let mut hw0 = FakeHardware::new();
        for gi in 0..cfg.domains.len() {
            hw0.load(pdpa(gi as u64), &ldom_config::build::guest_md(cfg, gi).to_bytes());
        }
        let mut hw1 = hw0.sharing_memory();
        for hw in [&mut hw0, &mut hw1] {
            hw.strands = true;
            hw.stick = 1_000_000;
            hw.clock = Some(std::time::Instant::now());
        }
        let bytes = ldom_config::build::hv_md(cfg, &placed).to_bytes();
        let hv = Hypervisor::boot(&mut hw0, &bytes, (0x8000_0000, 0x2000_0000)).unwrap();
        hv.start_domains(&mut hw0);
        let strand = |d: usize| cfg.domains[d].vcpus[0];
        assert!(matches!(hv.next_on_strand(&mut hw0, strand(0)), Next::Launch(0, _)));
        assert!(matches!(hv.next_on_strand(&mut hw1, strand(1)), Next::Launch(1, _)));
        let mem = [0, 1].map(|d| {
            let dom = &cfg.domains[d];
            Mem { ra: dom.realbase, pa: dom.membase, size: dom.memsize }
        });
        let mut eps = Vec::new();
        for c in &cfg.channels {
            let n = eps.len();
            for (i, end) in c.ends.iter().enumerate() {
                eps.push(Ep { domain: end.domain, id: end.id, peer: n + 1 - i, ..Ep::default() });
            }
        }
        let shadow = {
            let m = hw0.memory();
            m.bases().into_iter().map(|b| (b, m.page(b).unwrap().to_vec().into_boxed_slice())).collect()
        };
        hw0.memory().written = Some(Default::default());
        let hv = Arc::new(hv);
        let hws = Arc::new([Mutex::new(hw0), Mutex::new(hw1)]);
        let stop = Arc::new(AtomicBool::new(false));
        // Each strand answers the flush requests of the other's unmap / revoke.
        let answerers = (0..2)
            .map(|v| {
                let (hv, hws, stop) = (Arc::clone(&hv), Arc::clone(&hws), Arc::clone(&stop));
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        if hv.mailboxes[v].flush_pending() {
                            let mut hw = hws[v].lock().unwrap_or_else(|e| e.into_inner());
                            let mut f =
                                TrapFrame { tt: hv_api::trap::tt::INTERRUPT_VECTOR, tl: 1, ..Default::default() };
                            hv.handle_trap(&mut *hw, v, &mut f);
                        } else {
                            std::thread::sleep(std::time::Duration::from_micros(20));
                        }
                    }
                })
            })
            .collect();
        let mut b = Bench {
            hv,
            strands: [strand(0), strand(1)],
            hws,
            mem,
            eps,
            live: Vec::new(),
            shadow,
            rng: XorShift(seed),
            stop,
            answerers,
            calls: 0,
            sirs: (0, 0),
            succeeded: BTreeMap::new(),
            what: String::new(),
            copy_len: 0,
            vintr_valid: None,
        };
        for d in 0..2 {
            b.set_up(d);
        }
        b.check_writes(&[]);
        b
    }

    /// LDOM 1.0 negotiated and a device mondo queue for domain `d`'s vCPU.
    fn set_up(&mut self, d: usize) {
        let mut f = TrapFrame { tt: 0x1ff, tl: 1, ..Default::default() };
        f.o[..3].copy_from_slice(&[group::LDOM, 1, 0]);
        f.o[5] = hv_api::core_fn::API_SET_VERSION;
        self.trap(d, &mut f);
        assert_eq!(f.o[0], EOK);
        let q = self.mem[d].ra + DEV_MONDO_OFFSET;
        assert_eq!(self.raw(d, 0x180, hcall::CPU_QCONF, [queue::DEV_MONDO, q, 16, 0])[0], EOK);
    }

    /// Domain `d` resets itself (`mach_sir`): its channels go back to their start state,
    /// the other domain's map-ins of its pages end (that strand's TLBs flushed before the
    /// restart), its own map-ins are freed. Only its own memory may change.
    fn sir(&mut self, d: usize) {
        self.what = format!("call {} of domain {d}: mach_sir", self.calls);
        {
            let hws = Arc::clone(&self.hws);
            let mut hw = hws[d].lock().unwrap();
            let mut f = TrapFrame { tt: 0x180, tl: 1, ..Default::default() };
            f.o[5] = hcall::MACH_SIR;
            assert_eq!(self.hv.handle_trap(&mut *hw, d, &mut f), Action::Idle, "{}", self.what);
            assert!(matches!(self.hv.next_on_strand(&mut *hw, self.strands[d]), Next::Launch(v, _) if v == d));
        }
        self.calls += 1;
        let own = (self.mem[d].pa, self.mem[d].size);
        self.check_writes(&[own]);
        for e in self.eps.iter_mut().filter(|e| e.domain == d) {
            (e.tx, e.rx, e.table) = (None, None, None);
        }
        let eps = self.eps.clone();
        self.sirs.0 += 1;
        self.sirs.1 += self.live.iter().filter(|l| l.importer != d && eps[l.exporter_ep].domain == d).count() as u64;
        self.live.retain(|l| l.importer != d && eps[l.exporter_ep].domain != d);
        self.check_tlbs();
        self.set_up(d);
        self.check_writes(&[]);
    }

    /// A trap of domain `d`'s vCPU on its strand.
    fn trap(&mut self, d: usize, f: &mut TrapFrame) {
        let hws = Arc::clone(&self.hws);
        let mut hw = hws[d].lock().unwrap();
        assert_eq!(self.hv.handle_trap(&mut *hw, d, f), Action::Resume, "{}", self.what);
    }

    fn raw(&mut self, d: usize, tt: u64, function: u64, a: [u64; 4]) -> [u64; 4] {
        let mut f = TrapFrame { tt, tl: 1, ..Default::default() };
        f.o[..4].copy_from_slice(&a);
        f.o[5] = function;
        self.trap(d, &mut f);
        [f.o[0], f.o[1], f.o[2], f.o[3]]
    }

    fn peek_word(&self, pa: u64) -> u64 {
        let b = self.hws[0].lock().unwrap().peek(pa, 8);
        u64::from_be_bytes(b.try_into().unwrap())
    }

    /// The test writes memory (outside any call): its copy follows.
    fn poke(&mut self, pa: u64, data: &[u8]) {
        let mut hw = self.hws[0].lock().unwrap();
        hw.load(pa, data);
        let mut m = hw.memory();
        let mut base = pa & !(PAGE4K - 1);
        while base < pa + data.len() as u64 {
            self.shadow.insert(base, m.page(base).unwrap().to_vec().into_boxed_slice());
            if let Some(w) = &mut m.written {
                w.remove(&base);
            }
            base += PAGE4K;
        }
    }

    /// Every byte written since the last check lies in `allowed` (PA ranges) or a device
    /// mondo queue; the copy then follows.
    fn check_writes(&mut self, allowed: &[(u64, u64)]) {
        let mondo = [0, 1].map(|d| (self.mem[d].pa + DEV_MONDO_OFFSET, DEV_MONDO_BYTES));
        let hw = self.hws[0].lock().unwrap();
        let mut m = hw.memory();
        let written = m.written.replace(Default::default()).unwrap_or_default();
        for base in written {
            let now = m.page(base).expect("a written page");
            let before = self.shadow.entry(base).or_insert_with(|| vec![0; PAGE4K as usize].into_boxed_slice());
            for i in 0..PAGE4K as usize {
                if now[i] != before[i] {
                    let pa = base + i as u64;
                    let ok = allowed.iter().chain(mondo.iter()).any(|&(a, n)| pa >= a && pa - a < n);
                    assert!(
                        ok,
                        "{}: wrote {pa:#x} ({:#04x} -> {:#04x}); allowed {allowed:#x?}",
                        self.what, before[i], now[i]
                    );
                }
            }
            before.copy_from_slice(now);
        }
    }

    /// Every page of memory equals the test's copy (the record of written pages missed
    /// nothing).
    fn check_all_pages(&mut self) {
        let hw = self.hws[0].lock().unwrap();
        let m = hw.memory();
        for base in m.bases() {
            let copy = self.shadow.get(&base).map(|p| &p[..]);
            assert_eq!(copy, Some(&m.page(base).unwrap()[..]), "{}: page {base:#x} changed unseen", self.what);
        }
    }

    /// No TLB entry of a strand maps outside its domain's memory but for a live map-in of
    /// its domain (writable only if the map-in is).
    fn check_tlbs(&self) {
        for d in 0..2 {
            let hw = self.hws[d].lock().unwrap();
            for &(_, va, ctx, tte) in &hw.tlb {
                let size = crate::arch::fake::page_size(tte);
                let pa = tte & 0x00ff_ffff_ffff_e000 & !(size - 1);
                if self.mem[d].holds_pa(pa, size) {
                    continue;
                }
                let mapped_in = size == PAGE
                    && self.live.iter().any(|l| {
                        l.importer == d && l.pa == pa && (tte & Tte::W == 0 || l.perms & crate::ldc::perm::W != 0)
                    });
                assert!(
                    mapped_in,
                    "{}: domain {d}'s TLB maps va {va:#x} ctx {ctx} to pa {pa:#x} (tte {tte:#x}); live {:#x?}",
                    self.what, self.live
                );
            }
        }
    }

    /// The caller's endpoint with channel id `ch`.
    fn ep_of(&self, d: usize, ch: u64) -> Option<usize> {
        self.eps.iter().position(|e| e.domain == d && e.id == ch)
    }

    /// The PA of `[ra, ra + len)` of domain `d`.
    fn pa(&self, d: usize, ra: u64, len: u64) -> Option<u64> {
        self.mem[d].pa_of(ra, len)
    }

    /// The exported page that entry `index` of endpoint `ep`'s table names, if the MTE is
    /// of an 8 KiB page inside the exporter: (PA, MTE).
    fn exported(&self, ep: usize, index: u64) -> Option<(u64, Mte)> {
        let (ra, entries) = self.eps[ep].table?;
        if index >= entries {
            return None;
        }
        let table = self.pa(self.eps[ep].domain, ra, entries * 16).expect("an accepted table is inside");
        let mte = Mte(self.peek_word(table + index * 16));
        if mte.size_code() != 0 {
            return None;
        }
        Some((self.pa(self.eps[ep].domain, mte.ra(), PAGE)?, mte))
    }
}

/// Hostile arguments.
impl Bench {
    fn pick(&mut self, list: &[u64]) -> u64 {
        list[self.rng.below(list.len() as u64) as usize]
    }

    /// An address: at or across an edge of the caller's memory, in the peer's (as the
    /// caller's RA and as the peer's own), in the hypervisor's, the MD slots, the PROM,
    /// the map-in window, or random; `align` bytes aligned when nonzero.
    fn addr(&mut self, d: usize, align: u64) -> u64 {
        let (me, peer) = (self.mem[d], self.mem[1 - d]);
        let (base, end) = (me.ra, me.ra + me.size);
        let a = match self.rng.below(12) {
            0 => base,
            1 => end - self.pick(&[8, 64, PAGE, 0x1_0000, 0x10_0000]),
            2 => end,
            3 => base.wrapping_sub(self.pick(&[8, 64, PAGE, 0x1_0000])),
            4 => peer.ra + self.rng.below(peer.size),
            5 => peer.pa + self.pick(&[0, 64, PAGE, peer.size - PAGE, peer.size, peer.size - 64]),
            6 => self.pick(&[
                0,
                0x10_0000,
                0x400_0000 - 64,
                0x1f_1200_0000,
                0x1f_1208_0000,
                0xff_f000_0000,
                0x1f_1000_0000,
            ]),
            7 => MAPIN_BASE_RA + self.rng.below(64) * MAPIN_SLOT_SIZE + self.pick(&[0, 8, PAGE - 8, PAGE]),
            8 => self.pick(&[u64::MAX - 63, 1 << 63, base | 1 << 40, base.wrapping_neg(), 1 << 62]),
            9 => self.rng.next(),
            _ => base + self.rng.below(me.size),
        };
        if align > 1 && self.rng.below(8) != 0 {
            a & !(align - 1)
        } else {
            a
        }
    }

    /// A channel id: one of the caller's (mostly), the peer's, unknown ones, huge ones.
    fn channel(&mut self, d: usize) -> u64 {
        let own: Vec<u64> = self.eps.iter().filter(|e| e.domain == d).map(|e| e.id).collect();
        let others: Vec<u64> = self.eps.iter().filter(|e| e.domain != d).map(|e| e.id).collect();
        match self.rng.below(10) {
            0 => self.pick(&others),
            1 => self.pick(&[2, 3, 4, 6, 63, 64, 0xffff, 1 << 32, u64::MAX]),
            _ => self.pick(&own),
        }
    }

    fn entries(&mut self) -> u64 {
        match self.rng.below(4) {
            0 => {
                self.pick(&[0, 1, 3, 6, 1 << 26, 1 << 29, 1 << 30, 1 << 57, 1 << 58, 1 << 63, u64::MAX, u64::MAX >> 6])
            }
            1 => self.rng.next(),
            _ => 1 << (1 + self.rng.below(8)),
        }
    }

    /// A queue or table of `entries` × `unit` bytes: usually a valid place in the caller's
    /// memory, else at / across an edge or elsewhere.
    fn region(&mut self, d: usize, entries: u64, unit: u64, align: u64) -> u64 {
        let me = self.mem[d];
        let bytes = entries.wrapping_mul(unit);
        match self.rng.below(4) {
            0 if bytes.is_power_of_two() && bytes < me.size / 4 => {
                // Inside, aligned, away from the device mondo queue.
                let slots = (me.size / 2) / bytes.max(align);
                me.ra + me.size / 2 + self.rng.below(slots.max(1)) * bytes.max(align)
            }
            1 => {
                let edge =
                    self.pick(&[me.ra, me.ra + me.size, self.mem[1 - d].ra, self.mem[1 - d].pa + self.mem[1 - d].size]);
                edge.wrapping_sub(bytes.wrapping_mul(self.rng.below(3)))
            }
            _ => self.addr(d, align),
        }
    }

    /// A cookie: an index of the peer's table (in and beyond it), offsets at page edges,
    /// other size codes, the index of a live or revoked map-in.
    fn cookie(&mut self, ep: Option<usize>) -> u64 {
        let entries = ep.and_then(|e| self.eps[self.eps[e].peer].table).map_or(4, |t| t.1);
        let index = match self.rng.below(6) {
            0 => entries + self.rng.below(3),
            1 => self.pick(&[1 << 30, (1 << 47) - 1, 1 << 46]),
            2 if !self.live.is_empty() => {
                let i = self.rng.below(self.live.len() as u64) as usize;
                self.live[i].index
            }
            3 => self.rng.below(entries.min(1 << 20)),
            _ => self.rng.below(entries.min(8)),
        };
        let any = self.rng.below(PAGE);
        let offset = self.pick(&[0, 8, 64, PAGE - 64, PAGE - 8, 0x1000, any]);
        match self.rng.below(12) {
            0 => (self.rng.below(16) << 60) | (index << 13) | offset,
            1 => self.rng.next(),
            _ => make_cookie(PageSize::Size8K, index, offset),
        }
    }

    /// An MTE written into the caller's map table: a page of its own (inside, at its
    /// edges), of the peer's, of the hypervisor's, of the map-in window, with random
    /// permissions and sometimes another page size.
    fn write_mte(&mut self, d: usize) {
        let tables: Vec<usize> =
            self.eps.iter().enumerate().filter(|(_, e)| e.domain == d && e.table.is_some()).map(|(i, _)| i).collect();
        if tables.is_empty() {
            return;
        }
        let ep = tables[self.rng.below(tables.len() as u64) as usize];
        let (ra, entries) = self.eps[ep].table.unwrap();
        let index = self.rng.below(entries.min(8));
        let me = self.mem[d];
        let page = match self.rng.below(3) {
            0 => me.ra + self.rng.below(me.size / PAGE) * PAGE,
            1 => self.pick(&[me.ra, me.ra + me.size - PAGE, me.ra + me.size, me.ra.wrapping_sub(PAGE)]),
            _ => self.addr(d, PAGE),
        };
        let perms = self.rng.next() & Mte::PERM_MASK | if self.rng.below(2) == 0 { Mte::CPR | Mte::CPW } else { 0 };
        let code = if self.rng.below(8) == 0 { self.rng.below(16) } else { 0 };
        let mte = (page & Mte::RA_MASK) | perms | code;
        let at = self.pa(d, ra, entries * 16).unwrap() + index * 16;
        self.poke(at, &mte.to_be_bytes());
    }
}

/// The statuses each call may answer (docs/ldc.md).
fn may_answer(function: u64, status: u64) -> bool {
    use HvError::*;
    let ok: &[HvError] = match function {
        hcall::LDC_TX_QCONF | hcall::LDC_RX_QCONF | hcall::LDC_SET_MAP_TABLE => &[Channel, Inval, BadAlign, NoRAddr],
        hcall::LDC_TX_QINFO | hcall::LDC_RX_QINFO | hcall::LDC_GET_MAP_TABLE => &[Channel],
        hcall::LDC_TX_GET_STATE | hcall::LDC_RX_GET_STATE | hcall::LDC_REVOKE => &[Channel, Inval],
        hcall::LDC_TX_SET_QTAIL => &[Channel, BadAlign, Inval, WouldBlock],
        hcall::LDC_RX_SET_QHEAD => &[Channel, BadAlign, Inval],
        hcall::LDC_COPY => &[Channel, Inval, BadAlign, NoRAddr, NoMap, BadPgSz, NoAccess],
        hcall::LDC_MAPIN => &[Channel, NoMap, BadPgSz, NoRAddr, NoAccess, TooMany],
        hcall::LDC_UNMAP => &[Inval],
        hcall::VINTR_SETTARGET => &[Inval, NoCpu],
        0xa7..=0xae => &[Inval],
        hcall::MMU_MAP_PERM_ADDR | 0x183 => &[Inval, NoRAddr, BadPgSz],
        _ => return status == e(BadTrap),
    };
    status == EOK || ok.iter().any(|&x| e(x) == status)
}

/// Functions that name a channel in `%o0`.
fn takes_channel(function: u64) -> bool {
    (hcall::LDC_TX_QCONF..=hcall::LDC_RX_SET_QHEAD).contains(&function)
        || (hcall::LDC_SET_MAP_TABLE..=hcall::LDC_MAPIN).contains(&function)
        || function == hcall::LDC_REVOKE
}

impl Bench {
    /// One hostile call of domain `d`, checked.
    fn step(&mut self, d: usize) {
        let function = match self.rng.below(24) {
            n @ 0..=15 => 0xe0 + n,
            n @ 16..=19 => 0xa7 + 2 * (n - 16) + self.rng.below(2),
            20 => hcall::MMU_MAP_PERM_ADDR,
            21 | 22 => 0x183, // mmu_map_addr (ta 0x83)
            _ => hcall::LDC_TX_SET_QTAIL,
        };
        let ch = self.channel(d);
        let ep = self.ep_of(d, ch);
        let mut a = [ch, 0, 0, 0];
        let mut allowed = Vec::new();
        match function {
            hcall::LDC_TX_QCONF | hcall::LDC_RX_QCONF => {
                let n = self.entries();
                a[2] = n;
                a[1] = self.region(d, n, PKT, n.wrapping_mul(PKT));
            }
            hcall::LDC_SET_MAP_TABLE => {
                let n = self.entries();
                a[2] = n;
                a[1] = self.region(d, n, 16, 64);
                if self.rng.below(4) == 0 {
                    a[1] |= self.pick(&[8, 16, 32]);
                }
            }
            hcall::LDC_TX_SET_QTAIL | hcall::LDC_RX_SET_QHEAD => {
                let q =
                    ep.and_then(|e| if function == hcall::LDC_TX_SET_QTAIL { self.eps[e].tx } else { self.eps[e].rx });
                let bytes = q.map_or(256, |q| q.1 * PKT);
                a[1] = match self.rng.below(8) {
                    0 => self.pick(&[bytes, bytes + 64, u64::MAX - 63, 1 << 63, 32, bytes - 8]),
                    1 if function == hcall::LDC_RX_SET_QHEAD => {
                        // The current tail: a valid drain.
                        let s = self.raw(d, 0x180, hcall::LDC_RX_GET_STATE, [ch, 0, 0, 0]);
                        self.calls += 1;
                        s[2]
                    }
                    _ => self.rng.below(bytes / PKT) * PKT,
                };
                if function == hcall::LDC_TX_SET_QTAIL {
                    if let Some(rx) = ep.and_then(|e| self.eps[self.eps[e].peer].rx) {
                        let peer = self.eps[ep.unwrap()].peer;
                        allowed.push((self.pa(self.eps[peer].domain, rx.0, rx.1 * PKT).unwrap(), rx.1 * PKT));
                    }
                }
            }
            hcall::LDC_COPY => {
                let dir = self.pick(&[0, 0, 1, 1, 1, 2, u64::MAX]);
                let len = match self.rng.below(4) {
                    0 => self.pick(&[0, 4, 12, MAX_COPY + 8, 1 << 40, u64::MAX - 7, 2 * MAX_COPY]),
                    _ => self.pick(&[8, 64, PAGE - 8, PAGE, PAGE + 8, 3 * PAGE, MAX_COPY]),
                };
                let ra = if self.rng.below(2) == 0 {
                    self.mem[d].ra + self.mem[d].size / 2 + (self.rng.below(self.mem[d].size / 4) & !7)
                } else {
                    self.region(d, 1, len, 8)
                };
                let cookie = self.cookie(ep);
                a = [ch, dir, cookie, ra]; // %o4: the length (copy_len)
                if dir == 0 {
                    if let Some(pa) = self.pa(d, ra, len) {
                        allowed.push((pa, len.min(MAX_COPY)));
                    }
                }
                if dir == 1 {
                    if let Some(e) = ep {
                        let peer = self.eps[e].peer;
                        let first = Cookie::decode(cookie).map_or(0, |c| c.index);
                        for index in first..first.saturating_add(MAX_COPY / PAGE + 2) {
                            if let Some((pa, mte)) = self.exported(peer, index) {
                                if mte.allows(Mte::CPW) {
                                    allowed.push((pa, PAGE));
                                }
                            }
                        }
                    }
                }
                self.copy_len = len;
            }
            hcall::LDC_MAPIN => {
                a[1] = self.cookie(ep);
                if let (Some(e), Some(c)) = (ep, Cookie::decode(a[1])) {
                    let peer = self.eps[e].peer;
                    if let Some((ra, entries)) = self.eps[peer].table {
                        if c.index < entries {
                            let table = self.pa(self.eps[peer].domain, ra, entries * 16).unwrap();
                            allowed.push((table + c.index * 16 + 8, 8));
                        }
                    }
                }
            }
            hcall::LDC_UNMAP => {
                a[0] = match self.rng.below(3) {
                    0 if !self.live.is_empty() => {
                        let i = self.rng.below(self.live.len() as u64) as usize;
                        self.live[i].slot_ra + self.pick(&[0, 8, PAGE - 8, PAGE, PAGE4K])
                    }
                    _ => self.addr(d, 1),
                };
            }
            hcall::LDC_REVOKE => {
                a[1] = self.cookie(ep);
                // Often the page of a live map-in of the caller's pages.
                let mine: Vec<Live> = self.live.iter().filter(|l| Some(l.exporter_ep) == ep).copied().collect();
                if !mine.is_empty() && self.rng.below(2) == 0 {
                    let l = mine[self.rng.below(mine.len() as u64) as usize];
                    a[1] = make_cookie(PageSize::Size8K, l.index, self.rng.below(PAGE));
                }
                // The revoke cookie in the caller's own table entry, or near it, or random.
                let word = ep
                    .and_then(|e| self.eps[e].table.map(|t| (e, t)))
                    .and_then(|(e, (ra, n))| {
                        let c = Cookie::decode(a[1])?;
                        (c.index < n).then(|| self.pa(self.eps[e].domain, ra, n * 16).unwrap() + c.index * 16 + 8)
                    })
                    .map_or(0, |pa| self.peek_word(pa));
                a[2] = match self.rng.below(4) {
                    0 => word ^ 1,
                    1 => self.rng.next(),
                    _ => word,
                };
            }
            0xa7..=0xae => {
                let own_inos: Vec<u64> = self
                    .eps
                    .iter()
                    .filter(|e| e.domain == d)
                    .flat_map(|e| {
                        let (tx, rx) = ldom_config::Config::inos(e.id);
                        [tx, rx]
                    })
                    .collect();
                a[0] = self.pick(&[CDEV, CDEV, CDEV, 0x100, 0, CDEV + 1, u64::MAX]);
                a[1] = match self.rng.below(4) {
                    0 => self.pick(&[0, 0x1f, 0x11, 0x40, 0x3f, 63, 64, u64::MAX, 0x20 + 2 * 64]),
                    1 => {
                        let others: Vec<u64> = self
                            .eps
                            .iter()
                            .filter(|e| e.domain != d)
                            .flat_map(|e| {
                                let (tx, rx) = ldom_config::Config::inos(e.id);
                                [tx, rx]
                            })
                            .collect();
                        self.pick(&others)
                    }
                    _ => self.pick(&own_inos),
                };
                a[2] = match function {
                    hcall::VINTR_SETVALID => self.pick(&[0, 1, 1, 2, u64::MAX]),
                    hcall::VINTR_SETSTATE => self.pick(&[0, 0, 1, 2, 3, u64::MAX]),
                    hcall::VINTR_SETTARGET => self.pick(&[0, 0, 1, 4, 0xffff, u64::MAX]),
                    _ => self.rng.next(),
                };
                // A valid handle and ino must be accepted, anything else refused.
                let valid = a[0] == CDEV && own_inos.contains(&a[1]);
                self.vintr_valid = Some(valid);
            }
            hcall::MMU_MAP_PERM_ADDR | 0x183 => {
                // A TTE naming a live map-in slot (the caller's or the other domain's),
                // another slot, the caller's memory or anything else.
                let ra = match self.rng.below(4) {
                    0 | 1 if !self.live.is_empty() => {
                        let i = self.rng.below(self.live.len() as u64) as usize;
                        self.live[i].slot_ra
                    }
                    2 => MAPIN_BASE_RA + self.rng.below(64) * MAPIN_SLOT_SIZE,
                    _ => self.addr(d, PAGE),
                };
                let size = if self.rng.below(6) == 0 { self.rng.below(4) } else { 0 };
                let mut tte = Tte::V | Tte::CP | (ra & Tte::RA_MASK) | size;
                if self.rng.below(2) == 0 {
                    tte |= Tte::W;
                }
                if self.rng.below(4) == 0 {
                    tte |= Tte::X;
                }
                let va = 0x1000_0000 + self.rng.below(8) * (1 << 22);
                a = [va, 0, tte, self.pick(&[1, 2, 3])];
            }
            _ => a = [self.rng.next(), self.rng.next(), self.rng.next(), self.rng.next()],
        }
        self.what = format!("call {} of domain {d}: fn {function:#x} args {a:#x?}", self.calls);
        let r = if function == 0x183 {
            self.raw(d, 0x183, 0, a)
        } else if function == hcall::LDC_COPY {
            let mut f = TrapFrame { tt: 0x180, tl: 1, ..Default::default() };
            f.o[..4].copy_from_slice(&a);
            f.o[4] = self.copy_len;
            f.o[5] = function;
            self.what = format!("{} len {:#x}", self.what, self.copy_len);
            self.trap(d, &mut f);
            [f.o[0], f.o[1], f.o[2], f.o[3]]
        } else {
            self.raw(d, 0x180, function, a)
        };
        self.calls += 1;
        let status = r[0];
        assert!(may_answer(function, status), "{}: status {status:#x}", self.what);
        if takes_channel(function) && ep.is_none() {
            assert_eq!(status, e(HvError::Channel), "{}: not the caller's channel", self.what);
        }
        if let Some(valid) = self.vintr_valid.take() {
            if !valid {
                assert_eq!(status, e(HvError::Inval), "{}: not the caller's interrupt", self.what);
            }
        }
        self.check_writes(&allowed);
        if status == EOK {
            *self.succeeded.entry(function).or_default() += 1;
            self.follow(d, function, a, r, ep);
        } else if function == hcall::LDC_UNMAP {
            let live = self.live.iter().any(|l| l.importer == d && a[0] >= l.slot_ra && a[0] - l.slot_ra < PAGE);
            assert!(!live, "{}: a live map-in refused", self.what);
        }
        self.check_tlbs();
    }

    /// The model follows a call that succeeded, checking what it accepted.
    fn follow(&mut self, d: usize, function: u64, a: [u64; 4], r: [u64; 4], ep: Option<usize>) {
        let what = self.what.clone();
        match function {
            hcall::LDC_TX_QCONF | hcall::LDC_RX_QCONF | hcall::LDC_SET_MAP_TABLE => {
                let e = ep.unwrap();
                let (ra, n) = (a[1], a[2]);
                let unit = if function == hcall::LDC_SET_MAP_TABLE { 16 } else { PKT };
                let q = if n == 0 {
                    None
                } else {
                    assert!(n.is_power_of_two(), "{what}: accepted {n} entries");
                    assert!(self.pa(d, ra, n * unit).is_some(), "{what}: accepted a region outside the caller");
                    Some((ra, n))
                };
                match function {
                    hcall::LDC_TX_QCONF => self.eps[e].tx = q,
                    hcall::LDC_RX_QCONF => self.eps[e].rx = q,
                    _ => self.eps[e].table = q,
                }
            }
            hcall::LDC_COPY => {
                assert!(r[1] > 0 && r[1] <= self.copy_len.min(MAX_COPY), "{what}: copied {:#x}", r[1]);
            }
            hcall::LDC_MAPIN => {
                let e = ep.unwrap();
                let peer = self.eps[e].peer;
                let c = Cookie::decode(a[1]).unwrap();
                let (pa, mte) =
                    self.exported(peer, c.index).unwrap_or_else(|| panic!("{what}: mapped in no exported page"));
                let perms = (mte.perms() >> 4) & 7;
                assert!(r[2] != 0 && r[2] & !perms == 0, "{what}: permissions {:#x} of MTE {mte:#x?}", r[2]);
                let (ra, offset) = (r[1] & !(PAGE - 1), r[1] & (PAGE - 1));
                assert_eq!(offset, c.offset, "{what}: offset");
                let slot = ra.checked_sub(MAPIN_BASE_RA).map(|o| o / MAPIN_SLOT_SIZE);
                assert!(
                    ra >= MAPIN_BASE_RA
                        && (ra - MAPIN_BASE_RA).is_multiple_of(MAPIN_SLOT_SIZE)
                        && slot
                            .and_then(|s| self.hv.config.endpoints.get(s as usize / crate::ldc::MAPIN_SLOTS))
                            .is_some_and(|ep| ep.domain == d),
                    "{what}: map-in RA {ra:#x}"
                );
                assert!(!self.live.iter().any(|l| l.slot_ra == ra), "{what}: slot {ra:#x} given twice");
                let table = self.eps[peer].table.unwrap();
                let word = self.pa(self.eps[peer].domain, table.0, table.1 * 16).unwrap() + c.index * 16 + 8;
                let revoke = self.peek_word(word);
                self.live.push(Live {
                    importer: d,
                    slot_ra: ra,
                    pa,
                    perms: r[2],
                    exporter_ep: peer,
                    index: c.index,
                    revoke,
                });
            }
            hcall::LDC_UNMAP => {
                let i = self
                    .live
                    .iter()
                    .position(|l| l.importer == d && a[0] >= l.slot_ra && a[0] - l.slot_ra < PAGE)
                    .unwrap_or_else(|| panic!("{what}: unmapped no live map-in"));
                self.live.remove(i);
            }
            hcall::LDC_REVOKE => {
                let e = ep.unwrap();
                let c = Cookie::decode(a[1]).unwrap();
                let i = self
                    .live
                    .iter()
                    .position(|l| l.exporter_ep == e && l.index == c.index && l.revoke == a[2])
                    .unwrap_or_else(|| panic!("{what}: revoked no live map-in of the caller's pages"));
                self.live.remove(i);
            }
            hcall::MMU_MAP_PERM_ADDR => {
                let tte = a[2];
                let ra = tte & Tte::RA_MASK;
                assert!(self.pa(d, ra & !(PAGE - 1), PAGE).is_some(), "{what}: a permanent mapping outside the caller");
            }
            0x183 => {
                let ra = a[2] & Tte::RA_MASK & !(PAGE - 1);
                let mine =
                    self.pa(d, ra, PAGE).is_some() || self.live.iter().any(|l| l.importer == d && l.slot_ra == ra);
                assert!(mine, "{what}: mapped an RA that is neither the caller's nor its live map-in");
            }
            _ => {}
        }
    }
}

fn fuzz(cfg: &ldom_config::Config, seed: u64) -> Bench {
    let mut b = Bench::new(cfg, seed);
    for i in 0..CALLS {
        let d = b.rng.below(2) as usize;
        if b.rng.below(6) == 0 {
            b.write_mte(d);
        }
        if b.rng.below(2000) == 0 {
            b.sir(d);
        }
        b.step(d);
        if i % 512 == 0 {
            b.check_all_pages();
            // Each strand takes its interrupts and its device mondo queue is drained.
            for v in 0..2 {
                let hws = Arc::clone(&b.hws);
                let mut hw = hws[v].lock().unwrap();
                let mut f = TrapFrame { tt: hv_api::trap::tt::INTERRUPT_VECTOR, tl: 1, ..Default::default() };
                b.hv.handle_trap(&mut *hw, v, &mut f);
                hw.queues[1].0 = hw.queues[1].1;
            }
            b.check_writes(&[]);
            b.check_tlbs();
        }
    }
    b.check_all_pages();
    b
}

#[test]
fn hostile_ldc_calls_touch_nothing_outside_what_the_spec_allows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("configs/two-domains-ldc.toml");
    let same_ra = ldom_config::config::parse_str(&path, SAME_RA.to_string()).unwrap();
    for (cfg, seed) in [(ldom_config::load(&path).unwrap(), 0x1dc0_f022_5eed_0001), (same_ra, 0x1dc0_f022_5eed_0002)] {
        let b = fuzz(&cfg, seed);
        // The walk reached every kind of success (or the invariants were never tested).
        for f in [
            hcall::LDC_TX_QCONF,
            hcall::LDC_RX_QCONF,
            hcall::LDC_SET_MAP_TABLE,
            hcall::LDC_TX_SET_QTAIL,
            hcall::LDC_RX_SET_QHEAD,
            hcall::LDC_COPY,
            hcall::LDC_MAPIN,
            hcall::LDC_UNMAP,
            hcall::LDC_REVOKE,
            hcall::VINTR_SETTARGET,
            0x183,
        ] {
            assert!(
                b.succeeded.get(&f).copied().unwrap_or(0) >= 20,
                "seed {seed:#x}: fn {f:#x} never succeeded: {:x?}",
                b.succeeded
            );
        }
        assert!(b.sirs.1 > 0, "seed {seed:#x}: no reset ended a map-in: {:?}", b.sirs);
        eprintln!(
            "seed {seed:#x}: {} calls, {} resets ending {} map-ins, succeeded {:x?}",
            b.calls, b.sirs.0, b.sirs.1, b.succeeded
        );
    }
}
