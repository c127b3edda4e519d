//! Checked access to a domain's memory. A guest real address becomes a physical address
//! only here, and only for a range that lies wholly inside the domain's memory.

use crate::addr::{Pa, Ra};
use crate::hardware::Hardware;
use hv_api::error::HvError;

/// One contiguous block of a domain's memory: `size` bytes that the guest sees at real
/// address `realbase` and that live at physical address `membase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestMemory {
    /// First real address of the block.
    pub realbase: Ra,
    /// Physical address backing `realbase`.
    pub membase: Pa,
    /// Size in bytes.
    pub size: u64,
}

/// A range of guest memory that has been checked: it can only be made by
/// [`GuestMemory::range`], so holding one proves the range is the guest's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestRange {
    pa: Pa,
    len: u64,
}

impl GuestMemory {
    /// One past the last real address.
    pub fn real_end(&self) -> u64 {
        self.realbase.raw() + self.size
    }

    /// Checks that `[ra, ra + len)` lies inside this block and returns the physical range.
    /// An empty range must still start inside the block. Errors: `ENORADDR`.
    pub fn range(&self, ra: Ra, len: u64) -> Result<GuestRange, HvError> {
        let start = ra.raw();
        let end = start.checked_add(len).ok_or(HvError::NoRAddr)?;
        if start < self.realbase.raw() || start >= self.real_end() || end > self.real_end() {
            return Err(HvError::NoRAddr);
        }
        let offset = start - self.realbase.raw();
        Ok(GuestRange { pa: self.membase.add(offset), len })
    }

    /// Whether `ra` lies inside the block.
    pub fn contains(&self, ra: Ra) -> bool {
        self.range(ra, 1).is_ok()
    }
}

impl GuestRange {
    /// Physical address of the first byte.
    pub fn pa(&self) -> Pa {
        self.pa
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the first `buf.len()` bytes of the range (at most its length).
    pub fn read(&self, hw: &mut dyn Hardware, buf: &mut [u8]) {
        let n = core::cmp::min(buf.len() as u64, self.len) as usize;
        hw.read_phys(self.pa, &mut buf[..n]);
    }

    /// Writes `data` at the start of the range (at most its length).
    pub fn write(&self, hw: &mut dyn Hardware, data: &[u8]) {
        let n = core::cmp::min(data.len() as u64, self.len) as usize;
        hw.write_phys(self.pa, &data[..n]);
    }

    /// Reads `buf.len()` bytes starting `offset` bytes into the range; reads nothing and
    /// returns `false` if that would pass the end of the range.
    pub fn read_at(&self, hw: &mut dyn Hardware, offset: u64, buf: &mut [u8]) -> bool {
        match offset.checked_add(buf.len() as u64) {
            Some(end) if end <= self.len => {
                hw.read_phys(self.pa.add(offset), buf);
                true
            }
            _ => false,
        }
    }

    /// Writes `data` starting `offset` bytes into the range; writes nothing and returns
    /// `false` if that would pass the end of the range.
    pub fn write_at(&self, hw: &mut dyn Hardware, offset: u64, data: &[u8]) -> bool {
        match offset.checked_add(data.len() as u64) {
            Some(end) if end <= self.len => {
                hw.write_phys(self.pa.add(offset), data);
                true
            }
            _ => false,
        }
    }

    /// Reads the range's first `words.len()` big-endian 64-bit words, with word loads (a
    /// mondo, a queue entry); `false`, nothing read, if the range is shorter or its start
    /// not 8-byte aligned.
    pub fn read_words(&self, hw: &mut dyn Hardware, words: &mut [u64]) -> bool {
        if !self.pa.raw().is_multiple_of(8) || words.len() as u64 * 8 > self.len {
            return false;
        }
        hw.read_phys_words(self.pa, words);
        true
    }

    /// Writes `words` at the start of the range with word stores; `false`, nothing
    /// written, if the range is shorter or its start not 8-byte aligned.
    pub fn write_words(&self, hw: &mut dyn Hardware, words: &[u64]) -> bool {
        if !self.pa.raw().is_multiple_of(8) || words.len() as u64 * 8 > self.len {
            return false;
        }
        hw.write_phys_words(self.pa, words);
        true
    }
}

/// Largest real-translation page the hypervisor loads (4 MiB, a T1 TLB size).
pub const REAL_PAGE_4M: u64 = 0x40_0000;
/// Smallest real-translation page (8 KiB).
pub const REAL_PAGE_8K: u64 = 0x2000;

impl GuestMemory {
    /// The real translation for `ra` (RA→PA with a partition ID, qemu-sun4v's `ra2pa`): the
    /// largest page (4 MiB, else 8 KiB) around `ra` that lies wholly inside the block and
    /// whose real and physical addresses are both aligned to it, as (real page address,
    /// physical page address, page size). `None` when `ra` is not the domain's.
    pub fn real_page(&self, ra: Ra) -> Option<(u64, Pa, u64)> {
        for size in [REAL_PAGE_4M, REAL_PAGE_8K] {
            let page = ra.raw() & !(size - 1);
            if let Ok(r) = self.range(Ra::new(page), size) {
                if r.pa().raw() & (size - 1) == 0 {
                    return Some((page, r.pa(), size));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEM: GuestMemory =
        GuestMemory { realbase: Ra::new(0x8000_0000), membase: Pa::new(0x8000_0000), size: 0x1000 };

    #[test]
    fn inside_ranges_translate() {
        let r = MEM.range(Ra::new(0x8000_0010), 0x20).unwrap();
        assert_eq!(r.pa(), Pa::new(0x8000_0010));
        assert_eq!(r.len(), 0x20);
        assert!(MEM.range(Ra::new(0x8000_0000), 0x1000).is_ok());
        assert!(MEM.range(Ra::new(0x8000_0fff), 1).is_ok());
    }

    #[test]
    fn outside_ranges_are_enoraddr() {
        assert_eq!(MEM.range(Ra::new(0x7fff_ffff), 1), Err(HvError::NoRAddr));
        assert_eq!(MEM.range(Ra::new(0x8000_0fff), 2), Err(HvError::NoRAddr));
        assert_eq!(MEM.range(Ra::new(0x8000_1000), 0), Err(HvError::NoRAddr));
        assert_eq!(MEM.range(Ra::new(u64::MAX), 2), Err(HvError::NoRAddr));
        assert_eq!(MEM.range(Ra::new(0x8000_0000), u64::MAX), Err(HvError::NoRAddr));
        assert_eq!(MEM.range(Ra::new(0), 0x10), Err(HvError::NoRAddr));
    }

    #[test]
    fn real_base_differs_from_physical_base() {
        let m = GuestMemory { realbase: Ra::new(0x1000), membase: Pa::new(0x9000_0000), size: 0x2000 };
        assert_eq!(m.range(Ra::new(0x1800), 8).unwrap().pa(), Pa::new(0x9000_0800));
    }
}
