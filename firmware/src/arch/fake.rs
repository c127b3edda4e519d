//! A fake machine for host unit tests: physical memory is a sparse map of pages, the UART
//! a pair of byte queues, the clock a number.
#![allow(missing_docs)]

use crate::addr::Pa;
use crate::hardware::{Hardware, TlbSet, UartInput};
use std::collections::{BTreeMap, VecDeque};

const PAGE: u64 = 0x1000;

/// The fake machine.
#[derive(Default)]
pub struct FakeHardware {
    pages: BTreeMap<u64, Box<[u8; PAGE as usize]>>,
    /// Bytes the guest sent to the console.
    pub uart_out: Vec<u8>,
    /// Bytes waiting to be received (`None` = a BREAK).
    pub uart_in: VecDeque<Option<u8>>,
    /// When true the transmitter never empties.
    pub uart_busy: bool,
    /// Seconds since 1970.
    pub rtc: u64,
    /// The TLB: (tlbs, va, ctx, tte) in load order.
    pub tlb: Vec<(TlbSet, u64, u64, u64)>,
    /// Whether the guest MMU is on.
    pub mmu_enabled: bool,
}

impl FakeHardware {
    pub fn new() -> Self {
        Self::default()
    }

    fn byte_mut(&mut self, pa: u64) -> &mut u8 {
        let page = self.pages.entry(pa & !(PAGE - 1)).or_insert_with(|| Box::new([0; PAGE as usize]));
        &mut page[(pa & (PAGE - 1)) as usize]
    }

    fn byte(&self, pa: u64) -> u8 {
        self.pages.get(&(pa & !(PAGE - 1))).map(|p| p[(pa & (PAGE - 1)) as usize]).unwrap_or(0)
    }

    pub fn load(&mut self, pa: u64, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            *self.byte_mut(pa + i as u64) = *b;
        }
    }

    pub fn peek(&self, pa: u64, len: usize) -> Vec<u8> {
        (0..len as u64).map(|i| self.byte(pa + i)).collect()
    }

    pub fn console(&self) -> String {
        String::from_utf8_lossy(&self.uart_out).into_owned()
    }
}

impl Hardware for FakeHardware {
    fn read_phys(&mut self, pa: Pa, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.byte(pa.raw() + i as u64);
        }
    }

    fn write_phys(&mut self, pa: Pa, data: &[u8]) {
        self.load(pa.raw(), data);
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

    fn tlb_load(&mut self, tlbs: TlbSet, va: u64, ctx: u64, tte: u64) {
        self.tlb.push((tlbs, va, ctx, tte));
    }

    fn tlb_demap_page(&mut self, _tlbs: TlbSet, va: u64, ctx: u64) {
        self.tlb.retain(|e| !(e.1 >> 13 == va >> 13 && e.2 == ctx));
    }

    fn tlb_demap_context(&mut self, _tlbs: TlbSet, ctx: u64) {
        self.tlb.retain(|e| e.2 != ctx);
    }

    fn tlb_demap_all(&mut self, _tlbs: TlbSet) {
        self.tlb.retain(|e| e.3 & (1 << 61) != 0);
    }

    fn mmu_set_enabled(&mut self, enabled: bool) {
        self.mmu_enabled = enabled;
    }
}
