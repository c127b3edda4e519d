//! The simulated disk: `disk_read` (0xf0) and `disk_write` (0xf1), the Legion / T1
//! simulator calls of Sun's hypervisor (`CONFIG_DISK`, in its Core 1.0 table;
//! hv-api.md §2.3, §2.7). SILO and OpenBoot use them to read the boot disk.
//!
//! The disk is the memory at the domain's `diskpa` (hypervisor MD, optional; the pflash
//! vdisk at 0x1f40000000 on niagara). Its size is read once from its Sun VTOC label, as
//! Sun's hypervisor does: the 32-bit big-endian block count of slice 2 at disk offset 0x1d0,
//! times 512; it is cached per domain once non-zero. No `diskpa`, or nothing there (an
//! unassigned physical address reads as 0 on QEMU, giving size 0), means there is no disk:
//! every call answers `EINVAL`.
//!
//! QEMU reads an unassigned address as 0 only while the strand's data MMU is off: with the
//! calling guest's MMU on, the same hyperprivileged load raises data_access_error in the
//! hypervisor. So the label is read once at hypervisor start ([`probe`], before any guest
//! runs) and again later only for a guest whose MMU is off. Writes change the vdisk memory only (QEMU does not write
//! pflash contents back to the image file).
//!
//! A disk that several domains share (the same `diskpa`: on niagara every domain's disk is
//! the one vdisk) is read-only: `disk_write` answers `ENOACCESS` after the checks of a read,
//! so that no domain changes what another domain reads (two Linux domains boot from the one
//! boot image, docs/guest-firmware.md). Sun's simulator hypervisor had one domain per disk.

use crate::addr::{Pa, Ra};
use crate::guest_memory::GuestRange;
use crate::hcall::{Context, Reply};
use hv_api::error::HvError;

/// Disk offset of slice 2's block count in a Sun VTOC label (`DISK_S2NBLK_OFFSET`).
pub const S2_NBLOCKS_OFFSET: u64 = 0x1d0;
/// Disk block size.
pub const BLOCK_SIZE: u64 = 512;

/// Checks a transfer of `size` bytes between disk offset `offset` and guest memory at `ra`,
/// in Sun's order: buffer outside the domain's memory → `ENORADDR`; no disk → `EINVAL`;
/// `offset` at or past the end of the disk, or the transfer passing it → `EINVAL`.
fn check(cx: &mut Context<'_>, offset: u64, ra: u64, size: u64) -> Result<(GuestRange, Pa), HvError> {
    let range = cx.config.memory.range(Ra::new(ra), size)?;
    let disk = cx.config.diskpa.ok_or(HvError::Inval)?;
    if cx.domain.disk_size == 0 && !cx.mmu.enabled {
        let mut n = [0u8; 4];
        cx.hw.read_phys(disk.add(S2_NBLOCKS_OFFSET), &mut n);
        cx.domain.disk_size = u32::from_be_bytes(n) as u64 * BLOCK_SIZE;
    }
    let disk_size = cx.domain.disk_size;
    match offset.checked_add(size) {
        Some(end) if offset < disk_size && end <= disk_size => Ok((range, disk.add(offset))),
        _ => Err(HvError::Inval),
    }
}

/// The disk size from the label at `diskpa` (0: no disk), read at hypervisor start.
pub fn probe(hw: &mut dyn crate::hardware::Hardware, diskpa: Option<Pa>) -> u64 {
    let Some(disk) = diskpa else { return 0 };
    let mut n = [0u8; 4];
    hw.read_phys(disk.add(S2_NBLOCKS_OFFSET), &mut n);
    u32::from_be_bytes(n) as u64 * BLOCK_SIZE
}

/// `disk_read` (0xf0): copies `size` bytes from disk offset `offset` to guest memory at
/// `ra` and returns `size`. Errors: `ENORADDR` (buffer outside the domain's memory),
/// `EINVAL` (no disk; `offset` / `offset + size` past the end of the disk) (module doc).
pub fn disk_read(cx: &mut Context<'_>, offset: u64, ra: u64, size: u64) -> Reply {
    match check(cx, offset, ra, size) {
        Ok((range, disk)) => {
            cx.hw.copy_phys(range.pa(), disk, size);
            Reply::ok1(size)
        }
        Err(e) => Reply::err(e),
    }
}

/// `disk_write` (0xf1): copies `size` bytes from guest memory at `ra` to disk offset
/// `offset` and returns `size`. Errors: as [`disk_read`], then `ENOACCESS` when another
/// domain shares the disk (module doc).
pub fn disk_write(cx: &mut Context<'_>, offset: u64, ra: u64, size: u64) -> Reply {
    match check(cx, offset, ra, size) {
        Ok(_) if cx.config.disk_shared => Reply::err(HvError::NoAccess),
        Ok((range, disk)) => {
            cx.hw.copy_phys(disk, range.pa(), size);
            Reply::ok1(size)
        }
        Err(e) => Reply::err(e),
    }
}
