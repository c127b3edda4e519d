//! What the portable core needs from the machine. The sparc64 arch layer implements it on
//! the real (QEMU) hardware; `arch::fake` implements it in memory for host tests.

use crate::addr::Pa;
use crate::concentrator::Concentrator;

/// Machine services used by hypercall handlers. Every address handed to these methods has
/// already been checked against a domain's memory map.
pub trait Hardware {
    /// Copies `buf.len()` bytes of physical memory at `pa` into `buf`.
    fn read_phys(&mut self, pa: Pa, buf: &mut [u8]);
    /// Copies `data` to physical memory at `pa`.
    fn write_phys(&mut self, pa: Pa, data: &[u8]);
    /// Reads `words.len()` 64-bit words at `pa` (8-byte aligned), one load each.
    fn read_phys_words(&mut self, pa: Pa, words: &mut [u64]);
    /// Writes `words` at `pa` (8-byte aligned), one store each.
    fn write_phys_words(&mut self, pa: Pa, words: &[u64]);
    /// Copies `len` bytes of physical memory from `from` to `to` (regions may not overlap).
    fn copy_phys(&mut self, to: Pa, from: Pa, len: u64);
    /// Sends one byte on the console UART; `false` when the transmitter stays busy.
    fn uart_put(&mut self, byte: u8) -> bool;
    /// Reads the console UART.
    fn uart_get(&mut self) -> UartInput;
    /// The console concentrator that shares the UART among the domains and the
    /// hypervisor's log (one for the machine); console calls go through it, never to
    /// [`Hardware::uart_put`] / [`Hardware::uart_get`] directly.
    fn console(&self) -> &'static Concentrator;
    /// Seconds since 1970-01-01 UTC from the platform clock.
    fn rtc_seconds(&mut self) -> u64;
    /// The system tick counter `%stick` (bit 63, NPT, masked off), counting at
    /// `platform::TIMER_FREQUENCY_HZ` (100 MHz on niagara).
    fn stick(&mut self) -> u64;

    /// Loads a translation into this strand's TLB(s): `tte` is a sun4v-format TTE whose
    /// address field already holds the *physical* page address, for virtual address `va`
    /// in context `ctx`. The arch layer aligns the tag to the page size (QEMU 7.2 needs it
    /// for pages above 8 KiB, qemu-niagara.md §13) and splits nothing: callers pass only
    /// page sizes the TLB handles correctly (8K, 64K, 4M).
    fn tlb_load(&mut self, tlbs: TlbSet, va: u64, ctx: u64, tte: u64);
    /// Loads a real translation (qemu-sun4v `ra2pa`, a T1 real TTE): real page `ra` maps to
    /// the physical page in `tte` (sun4v format, physical address) for the current
    /// partition. Without `ra2pa` the emulator drops it (RA = PA).
    fn tlb_load_real(&mut self, tlbs: TlbSet, ra: u64, tte: u64);
    /// Sets this strand's partition ID (0–7): TLB entries belong to the partition that
    /// loaded them and serve only it.
    fn set_partition(&mut self, id: u64);
    /// Removes the translation of the page holding `va` in context `ctx`.
    fn tlb_demap_page(&mut self, tlbs: TlbSet, va: u64, ctx: u64);
    /// Removes every translation of context `ctx`.
    fn tlb_demap_context(&mut self, tlbs: TlbSet, ctx: u64);
    /// Removes every translation that is not locked (locked = loaded with the TTE lock
    /// bit 61 set, which the hypervisor uses for permanent mappings only).
    fn tlb_demap_all(&mut self, tlbs: TlbSet);
    /// Turns the guest's instruction and data MMUs on or off (LSU control IM/DM).
    fn mmu_set_enabled(&mut self, enabled: bool);

    /// Whether the machine has the T1 strand machinery: IOB interrupt vectors and strand
    /// control, the `ASI_QUEUE` registers (a real T1 or qemu-sun4v; `%hver` is not 0).
    /// Stock QEMU has one strand and none of it.
    fn has_strands(&mut self) -> bool;
    /// Whether guest real addresses go through real TLB entries (a real T1; qemu-sun4v with
    /// `-machine ra2pa=on`): probed once at boot by loading a real translation and looking
    /// for it in this strand's data TLB, then removing it. Stock QEMU and qemu-sun4v
    /// without the option drop real translations.
    fn has_real_translation(&mut self) -> bool;
    /// Resumes strand `strand` (IOB `INT_VEC_DIS` type 3): a parked strand starts at the
    /// reset vector, an idle one continues; a running one is not affected.
    fn strand_resume(&mut self, strand: u64);
    /// Idles this strand (`strand`, IOB type 2) until another strand resumes it. The idle
    /// takes effect after the call returns, at the latest at the next instruction boundary
    /// the emulator checks: callers store, check for work, and resume themselves when
    /// there is some (`Hypervisor::wait_on_strand`).
    fn strand_idle(&mut self, strand: u64);
    /// Sends interrupt vector `vector` to strand `strand` (IOB type 0); it takes trap 0x60
    /// (`interrupt_vector_trap`) as soon as it runs its guest.
    fn send_interrupt(&mut self, strand: u64, vector: u64);
    /// Reads and clears this strand's highest pending interrupt vector (`ASI_INTR_UDB_R`);
    /// `None` when none is pending.
    fn take_interrupt(&mut self) -> Option<u64>;
    /// This strand's HEAD and TAIL registers of queue `id` (0x3c–0x3f; `ASI_QUEUE`). Only
    /// when [`Hardware::has_strands`] (stock QEMU faults).
    fn queue_registers(&mut self, id: u64) -> (u64, u64);
    /// Writes this strand's HEAD and TAIL registers of queue `id` (stock QEMU drops it).
    fn set_queue_registers(&mut self, id: u64, head: u64, tail: u64);
    /// Writes this strand's TAIL register of queue `id`.
    fn set_queue_tail(&mut self, id: u64, tail: u64);
    /// Arms this strand's hyperprivileged timer: trap 0x5e (`hstick_match`) once `%stick`
    /// reaches `at`. Only when [`Hardware::has_strands`] (stock QEMU turns the match into a
    /// guest interrupt).
    fn set_hstick_match(&mut self, at: u64);
    /// Disarms the timer and clears its pending interrupt (`HINTP`).
    fn clear_hstick_match(&mut self);
}

/// Which TLBs an operation touches (the `flags` of the MMU hypercalls: 1 = data,
/// 2 = instruction, 3 = both; hv-api.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlbSet {
    /// The data TLB.
    pub data: bool,
    /// The instruction TLB.
    pub instruction: bool,
}

impl TlbSet {
    /// Both TLBs.
    pub const BOTH: TlbSet = TlbSet { data: true, instruction: true };
    /// The data TLB.
    pub const DATA: TlbSet = TlbSet { data: true, instruction: false };
    /// The instruction TLB.
    pub const INSTRUCTION: TlbSet = TlbSet { data: false, instruction: true };

    /// From hypercall flags: `None` unless exactly bits 0 and/or 1 are set.
    pub fn from_flags(flags: u64) -> Option<TlbSet> {
        match flags {
            1 => Some(TlbSet { data: true, instruction: false }),
            2 => Some(TlbSet { data: false, instruction: true }),
            3 => Some(TlbSet::BOTH),
            _ => None,
        }
    }
}

/// One read of the console UART.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UartInput {
    /// Nothing received.
    Empty,
    /// A character.
    Byte(u8),
    /// A BREAK condition.
    Break,
}
