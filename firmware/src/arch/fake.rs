//! A fake machine for host unit tests: physical memory is a sparse map of pages, the UART
//! a pair of byte queues, the clock a number.
#![allow(missing_docs)]

use crate::addr::Pa;
use crate::concentrator::Concentrator;
use crate::hardware::{Hardware, TlbSet, UartInput};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

const PAGE: u64 = 0x1000;
const TLB_ENTRIES: usize = 64;
const LOCK: u64 = 1 << 61;
/// The data TLB alone.
pub const DTLB: TlbSet = TlbSet { data: true, instruction: false };
/// The instruction TLB alone.
pub const ITLB: TlbSet = TlbSet { data: false, instruction: true };

/// Page size of a TTE as the TLB takes it (size code bits 2:0, as the sparc64 layer).
pub fn page_size(tte: u64) -> u64 {
    hv_api::mmu::page_bytes(tte & 7)
}

fn in_set(tlbs: TlbSet, one: TlbSet) -> bool {
    (tlbs.data && one.data) || (tlbs.instruction && one.instruction)
}

/// Physical memory: 4 KiB pages, each made (zero) when first written.
#[derive(Default)]
pub struct FakeMemory {
    pages: BTreeMap<u64, Box<[u8; PAGE as usize]>>,
    /// When `Some`, the base of every page written is added to it (a test that checks what
    /// a call wrote looks only at these pages: every write goes through here).
    pub written: Option<BTreeSet<u64>>,
}

impl FakeMemory {
    /// The 4 KiB page at `base`, if it was ever written.
    pub fn page(&self, base: u64) -> Option<&[u8; PAGE as usize]> {
        self.pages.get(&base).map(|p| &**p)
    }

    /// Base addresses of the 4 KiB pages ever written.
    pub fn bases(&self) -> Vec<u64> {
        self.pages.keys().copied().collect()
    }

    fn write(&mut self, pa: u64, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let at = pa.wrapping_add(done as u64);
            let (base, off) = (at & !(PAGE - 1), (at & (PAGE - 1)) as usize);
            let n = (PAGE as usize - off).min(data.len() - done);
            let page = self.pages.entry(base).or_insert_with(|| Box::new([0; PAGE as usize]));
            page[off..off + n].copy_from_slice(&data[done..done + n]);
            if let Some(w) = &mut self.written {
                w.insert(base);
            }
            done += n;
        }
    }

    fn read(&self, pa: u64, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            let at = pa.wrapping_add(done as u64);
            let (base, off) = (at & !(PAGE - 1), (at & (PAGE - 1)) as usize);
            let n = (PAGE as usize - off).min(buf.len() - done);
            match self.pages.get(&base) {
                Some(page) => buf[done..done + n].copy_from_slice(&page[off..off + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
        }
    }
}

/// The fake machine.
#[derive(Default)]
pub struct FakeHardware {
    /// Physical memory, which strands made by [`FakeHardware::sharing_memory`] share.
    memory: Arc<Mutex<FakeMemory>>,
    /// Bytes the guest sent to the console.
    pub uart_out: Vec<u8>,
    /// Bytes waiting to be received (`None` = a BREAK).
    pub uart_in: VecDeque<Option<u8>>,
    /// When true the transmitter never empties.
    pub uart_busy: bool,
    /// Seconds since 1970.
    pub rtc: u64,
    /// `%stick`.
    pub stick: u64,
    /// The TLBs: (which TLB — exactly one of data / instruction, page-aligned va, ctx, tte)
    /// in load order. Like T1 (qemu-niagara.md §4.2): 64 entries per TLB, a load first
    /// replaces an entry of the same context it overlaps, and a full TLB evicts its oldest
    /// unlocked entry.
    pub tlb: Vec<(TlbSet, u64, u64, u64)>,
    /// Every TLB load ever made: (tlbs, va, ctx, tte) as passed to `tlb_load`.
    pub tlb_loads: Vec<(TlbSet, u64, u64, u64)>,
    /// Whether the guest MMU is on.
    pub mmu_enabled: bool,
    /// Whether it has the T1 strand machinery ([`Hardware::has_strands`]).
    pub strands: bool,
    /// Strands resumed, in order.
    pub resumed: Vec<u64>,
    /// Strands idled, in order.
    pub idled: Vec<u64>,
    /// Interrupt vectors sent: (strand, vector).
    pub interrupts_sent: Vec<(u64, u64)>,
    /// Interrupt vectors pending on "this" strand.
    pub interrupts_pending: VecDeque<u64>,
    /// Queue registers (HEAD, TAIL) of queues 0x3c–0x3f.
    pub queues: [(u64, u64); 4],
    /// The armed `hstick_match`, if any.
    pub hstick_match: Option<u64>,
    /// Real translations loaded: (tlbs, real page, TTE).
    pub real_loads: Vec<(TlbSet, u64, u64)>,
    /// The partition ID.
    pub partition: u64,
    /// This machine's console concentrator.
    pub concentrator: FakeConsole,
    /// When set, this is strand `.0` of a machine whose strands host threads play (SMP
    /// tests): vectors sent go to the target strand's queue in `.1` (as well as to
    /// `interrupts_sent`), and `take_interrupt` takes this strand's after
    /// `interrupts_pending`.
    pub machine: Option<(u64, Arc<FakeStrands>)>,
    /// When set, `%stick` advances with the host's clock from `stick` at that instant
    /// (100 MHz), so that the hypervisor's bounded cross-strand waits end.
    pub clock: Option<Instant>,
}

/// The interrupt vectors sent to each strand of a machine whose strands host threads play,
/// not yet taken.
pub struct FakeStrands {
    pending: Vec<Mutex<VecDeque<u64>>>,
}

impl FakeStrands {
    /// A machine of `strands` strands.
    pub fn new(strands: usize) -> Arc<Self> {
        Arc::new(FakeStrands { pending: (0..strands).map(|_| Mutex::default()).collect() })
    }
}

/// The console concentrator of one fake machine: each has its own, leaked, since the trait
/// hands out a `'static` one as the sparc64 layer's `static`.
pub struct FakeConsole(pub &'static Concentrator);

impl Default for FakeConsole {
    fn default() -> Self {
        FakeConsole(Box::leak(Box::new(Concentrator::new())))
    }
}

impl FakeHardware {
    pub fn new() -> Self {
        Self::default()
    }

    /// Another strand of this machine: its own TLBs, registers and clock (as
    /// [`FakeHardware::new`]), this machine's physical memory.
    pub fn sharing_memory(&self) -> Self {
        FakeHardware { memory: Arc::clone(&self.memory), ..Self::default() }
    }

    /// The physical memory, locked.
    pub fn memory(&self) -> MutexGuard<'_, FakeMemory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn load(&mut self, pa: u64, data: &[u8]) {
        self.memory().write(pa, data);
    }

    pub fn peek(&self, pa: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.memory().read(pa, &mut out);
        out
    }

    /// Strand `strand` of `machine`, with the strand machinery, its clock running.
    pub fn strand_of(strand: u64, machine: &Arc<FakeStrands>) -> Self {
        FakeHardware {
            strands: true,
            machine: Some((strand, Arc::clone(machine))),
            clock: Some(Instant::now()),
            ..Self::default()
        }
    }

    /// Whether an interrupt vector waits for this strand.
    pub fn interrupt_pending(&self) -> bool {
        !self.interrupts_pending.is_empty()
            || self.machine.as_ref().is_some_and(|(s, m)| !m.pending[*s as usize].lock().unwrap().is_empty())
    }

    pub fn console(&self) -> String {
        String::from_utf8_lossy(&self.uart_out).into_owned()
    }

    /// Base addresses of the 4 KiB pages ever written.
    pub fn pages(&self) -> impl Iterator<Item = u64> {
        self.memory().bases().into_iter()
    }

    /// The entry of TLB `one` that translates `va` in `ctx`: the physical address.
    pub fn translate(&self, one: TlbSet, va: u64, ctx: u64) -> Option<u64> {
        self.tlb.iter().find(|e| e.0 == one && e.2 == ctx && va.wrapping_sub(e.1) < page_size(e.3)).map(|e| {
            let size = page_size(e.3);
            (e.3 & 0x00ff_ffff_ffff_e000 & !(size - 1)) | (va & (size - 1))
        })
    }
}

impl Hardware for FakeHardware {
    fn read_phys(&mut self, pa: Pa, buf: &mut [u8]) {
        self.memory().read(pa.raw(), buf);
    }

    fn write_phys(&mut self, pa: Pa, data: &[u8]) {
        self.load(pa.raw(), data);
    }

    fn read_phys_words(&mut self, pa: Pa, words: &mut [u64]) {
        for (i, w) in words.iter_mut().enumerate() {
            let b = self.peek(pa.raw() + 8 * i as u64, 8);
            *w = u64::from_be_bytes(b.try_into().expect("8 bytes"));
        }
    }

    fn write_phys_words(&mut self, pa: Pa, words: &[u64]) {
        for (i, w) in words.iter().enumerate() {
            self.load(pa.raw() + 8 * i as u64, &w.to_be_bytes());
        }
    }

    fn copy_phys(&mut self, to: Pa, from: Pa, len: u64) {
        let data = self.peek(from.raw(), len as usize);
        self.load(to.raw(), &data);
    }

    fn uart_put(&mut self, byte: u8) -> bool {
        if self.uart_busy {
            return false;
        }
        self.uart_out.push(byte);
        true
    }

    fn console(&self) -> &'static Concentrator {
        self.concentrator.0
    }

    fn uart_get(&mut self) -> UartInput {
        match self.uart_in.pop_front() {
            None => UartInput::Empty,
            Some(None) => UartInput::Break,
            Some(Some(b)) => UartInput::Byte(b),
        }
    }

    fn rtc_seconds(&mut self) -> u64 {
        self.rtc
    }

    fn stick(&mut self) -> u64 {
        self.stick + self.clock.map_or(0, |t| (t.elapsed().as_nanos() / 10) as u64)
    }

    fn tlb_load(&mut self, tlbs: TlbSet, va: u64, ctx: u64, tte: u64) {
        self.tlb_loads.push((tlbs, va, ctx, tte));
        for (on, one) in [(tlbs.data, DTLB), (tlbs.instruction, ITLB)] {
            if !on {
                continue;
            }
            let size = page_size(tte);
            let va = va & !(size - 1);
            self.tlb.retain(|e| !(e.0 == one && e.2 == ctx && e.1 < va + size && va < e.1 + page_size(e.3)));
            if self.tlb.iter().filter(|e| e.0 == one).count() >= TLB_ENTRIES {
                if let Some(i) = self.tlb.iter().position(|e| e.0 == one && e.3 & LOCK == 0) {
                    self.tlb.remove(i);
                } else {
                    continue;
                }
            }
            self.tlb.push((one, va, ctx, tte));
        }
    }

    fn tlb_load_real(&mut self, tlbs: TlbSet, ra: u64, tte: u64) {
        self.real_loads.push((tlbs, ra, tte));
    }

    fn set_partition(&mut self, id: u64) {
        self.partition = id;
    }

    fn tlb_demap_page(&mut self, tlbs: TlbSet, va: u64, ctx: u64) {
        self.tlb.retain(|e| !(in_set(tlbs, e.0) && e.2 == ctx && va.wrapping_sub(e.1) < page_size(e.3)));
    }

    fn tlb_demap_context(&mut self, tlbs: TlbSet, ctx: u64) {
        self.tlb.retain(|e| !(in_set(tlbs, e.0) && e.2 == ctx));
    }

    fn tlb_demap_all(&mut self, tlbs: TlbSet) {
        self.tlb.retain(|e| !in_set(tlbs, e.0) || e.3 & LOCK != 0);
    }

    fn mmu_set_enabled(&mut self, enabled: bool) {
        self.mmu_enabled = enabled;
    }

    fn has_strands(&mut self) -> bool {
        self.strands
    }

    fn has_real_translation(&mut self) -> bool {
        self.strands
    }

    fn strand_resume(&mut self, strand: u64) {
        self.resumed.push(strand);
    }

    fn strand_idle(&mut self, strand: u64) {
        self.idled.push(strand);
    }

    fn send_interrupt(&mut self, strand: u64, vector: u64) {
        self.interrupts_sent.push((strand, vector));
        if let Some((_, m)) = &self.machine {
            m.pending[strand as usize].lock().unwrap().push_back(vector);
        }
    }

    fn take_interrupt(&mut self) -> Option<u64> {
        self.interrupts_pending
            .pop_front()
            .or_else(|| self.machine.as_ref().and_then(|(s, m)| m.pending[*s as usize].lock().unwrap().pop_front()))
    }

    fn queue_registers(&mut self, id: u64) -> (u64, u64) {
        assert!(self.strands, "stock QEMU faults on ASI_QUEUE loads");
        self.queues[(id - 0x3c) as usize]
    }

    fn set_queue_registers(&mut self, id: u64, head: u64, tail: u64) {
        self.queues[(id - 0x3c) as usize] = (head, tail);
    }

    fn set_queue_tail(&mut self, id: u64, tail: u64) {
        self.queues[(id - 0x3c) as usize].1 = tail;
    }

    fn set_hstick_match(&mut self, at: u64) {
        assert!(self.strands, "stock QEMU has no hyperprivileged timer interrupt");
        self.hstick_match = Some(at);
    }

    fn clear_hstick_match(&mut self) {
        self.hstick_match = None;
    }
}
