//! The physical memory map of QEMU `-M niagara` (qemu-niagara.md §2.1; identical in 7.2 and
//! 10.2).

/// A physical region: base address and size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First physical address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Region {
    /// One past the last address.
    pub const fn end(&self) -> u64 {
        self.base + self.size
    }

    /// Whether `[addr, addr + len)` lies inside the region (no overflow).
    pub const fn contains_range(&self, addr: u64, len: u64) -> bool {
        match addr.checked_add(len) {
            Some(end) => addr >= self.base && end <= self.end(),
            None => false,
        }
    }
}

/// Hypervisor RAM ("sun4v-hv.ram"): 63 MiB at 1 MiB.
pub const HV_RAM: Region = Region { base: 0x0010_0000, size: 0x03F0_0000 };

/// Base of the partition RAM ("sun4v-partition.ram"); its size is QEMU's `-m`.
pub const PARTITION_RAM_BASE: u64 = 0x8000_0000;

/// The 16550A UART (`serial_mm`, register shift 0, no interrupt line).
pub const UART_BASE: u64 = 0x1F_1000_0000;

/// Guest NVRAM, 8 KiB, loaded from `nvram1`.
pub const NVRAM: Region = Region { base: 0x1F_1100_0000, size: 0x2000 };

/// The guest MD ROM slot (`1up-md.bin`), 8 KiB.
pub const MD_ROM: Region = Region { base: 0x1F_1200_0000, size: 0x2000 };

/// The hypervisor MD ROM slot (`1up-hv.bin`), 8 KiB.
pub const HV_MD_ROM: Region = Region { base: 0x1F_1208_0000, size: 0x2000 };

/// The virtual disk (`-drive if=pflash`), mapped at this address with the file's size.
pub const VDISK_BASE: u64 = 0x1F_4000_0000;

/// The PROM: 4 MiB of RAM filled from `reset.bin`, `q.bin` and `openboot.bin`.
pub const PROM: Region = Region { base: 0xFF_F000_0000, size: 0x40_0000 };

/// Offset of `q.bin` in the PROM; `reset.bin` may use at most this many bytes.
pub const PROM_QBIN_OFFSET: u64 = 0x1_0000;

/// Offset of `openboot.bin` (the guest image slot) in the PROM.
pub const PROM_OPENBOOT_OFFSET: u64 = 0x8_0000;

/// The sun4v real-time clock: reads give host Unix time in seconds (qemu-niagara.md §2.4).
pub const RTC_ADDR: u64 = 0xFF_F0C1_FFF8;

/// Power-on reset entry (`PROM + 0x20`).
pub const POR_ENTRY: u64 = PROM.base + 0x20;

/// Entry after a later `system_reset` (`PROM + 0x40`).
pub const RESET_ENTRY: u64 = PROM.base + 0x40;

/// Physical address bits QEMU decodes (41).
pub const PA_BITS: u32 = 41;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_addresses() {
        assert_eq!(HV_RAM.end(), 0x0400_0000);
        assert_eq!(PROM.base + PROM_OPENBOOT_OFFSET, 0xFF_F008_0000);
        assert_eq!(POR_ENTRY, 0xFF_F000_0020);
        assert_eq!(RESET_ENTRY, 0xFF_F000_0040);
        assert_eq!(HV_MD_ROM.base - MD_ROM.base, 0x8_0000);
    }

    #[test]
    fn contains_range_checks_overflow() {
        assert!(HV_RAM.contains_range(0x10_0000, 0x10));
        assert!(!HV_RAM.contains_range(0x3FF_FFFF, 2));
        assert!(!HV_RAM.contains_range(u64::MAX, 2));
        assert!(HV_RAM.contains_range(HV_RAM.base, HV_RAM.size));
    }
}

/// The IOB's interrupt vector dispatch register `INT_VEC_DIS` (T1 IOB; docs/qemu-sun4v.md,
/// patch 0001): a store of `type | strand << 8 | vector` interrupts, resets, idles or
/// resumes a strand. Stock QEMU ignores it.
pub const IOB_INT_VEC_DIS: u64 = 0x98_0000_0800;

/// `INT_VEC_DIS` fields.
pub mod int_vec_dis {
    /// Type 0: interrupt vector `vector` to the strand (its `ASI_INTR_RCV` bit).
    pub const TYPE_INTERRUPT: u64 = 0 << 16;
    /// Type 1: reset the strand (it runs from the reset vector).
    pub const TYPE_RESET: u64 = 1 << 16;
    /// Type 2: idle the strand (halted, no host CPU) until it is resumed.
    pub const TYPE_IDLE: u64 = 2 << 16;
    /// Type 3: resume the strand (a parked strand starts at the reset vector).
    pub const TYPE_RESUME: u64 = 3 << 16;
    /// Shift of the target strand id.
    pub const STRAND_SHIFT: u64 = 8;
    /// Interrupt vector numbers are 6 bits.
    pub const VECTOR_MASK: u64 = 0x3f;
}
