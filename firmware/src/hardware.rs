//! What the portable core needs from the machine. The sparc64 arch layer implements it on
//! the real (QEMU) hardware; `arch::fake` implements it in memory for host tests.

use crate::addr::Pa;

/// Machine services used by hypercall handlers. Every address handed to these methods has
/// already been checked against a domain's memory map.
pub trait Hardware {
    /// Copies `buf.len()` bytes of physical memory at `pa` into `buf`.
    fn read_phys(&mut self, pa: Pa, buf: &mut [u8]);
    /// Copies `data` to physical memory at `pa`.
    fn write_phys(&mut self, pa: Pa, data: &[u8]);
    /// Copies `len` bytes of physical memory from `from` to `to` (regions may not overlap).
    fn copy_phys(&mut self, to: Pa, from: Pa, len: u64);
    /// Sends one byte on the console UART; `false` when the transmitter stays busy.
    fn uart_put(&mut self, byte: u8) -> bool;
    /// Reads the console UART.
    fn uart_get(&mut self) -> UartInput;
    /// Seconds since 1970-01-01 UTC from the platform clock.
    fn rtc_seconds(&mut self) -> u64;
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
