//! The 16550A UART registers at [`crate::memory_map::UART_BASE`] (byte registers,
//! big-endian, register shift 0; qemu-niagara.md §2.3).

/// Receive buffer (read) / transmit holding register (write), offset 0.
pub const RBR_THR: u64 = 0;
/// Line status register, offset 5.
pub const LSR: u64 = 5;
/// LSR bit 0: data ready.
pub const LSR_DATA_READY: u8 = 1 << 0;
/// LSR bit 4: break interrupt (a BREAK was received).
pub const LSR_BREAK: u8 = 1 << 4;
/// LSR bit 5: transmit holding register empty.
pub const LSR_THR_EMPTY: u8 = 1 << 5;
