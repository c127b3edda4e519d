//! The boot image and the kernel ELF.
//!
//! A *boot image* is what the build writes for a domain to boot Linux from (the niagara
//! virtual disk, `-drive if=pflash`):
//!
//! ```text
//! 0x000  "SUN4V-HV BOOTIMG" (16 bytes), FDT offset (u64), FDT size (u64), big-endian
//! 0x1d0  image size in 512-byte blocks (u32): the field of a Sun VTOC label that the
//!        hypervisor's disk_read reads the disk size from
//! 0x200  the boot parameters: a flattened device tree (FDT) whose /chosen has
//!        bootargs, linux,initrd-start, linux,initrd-end, sun4v-hv,kernel-start,
//!        sun4v-hv,kernel-end (offsets of the parts inside this image)
//! ...    the kernel (an ELF vmlinux) and the initramfs, 8 KiB aligned
//! ```

use fdt::Fdt;

/// First bytes of a boot image.
pub const MAGIC: &[u8; 16] = b"SUN4V-HV BOOTIMG";
/// Offset of the block count a Sun VTOC label keeps (the hypervisor's disk size).
pub const BLOCKS_OFFSET: usize = 0x1d0;
/// Block size of the virtual disk.
pub const BLOCK: u64 = 512;
/// Size of the label block (the header) read first.
pub const LABEL_SIZE: usize = 512;
/// Largest boot-parameter FDT the firmware reads.
pub const MAX_FDT: u64 = 16 * 1024;

/// Where the parts of a boot image are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootParams<'a> {
    /// The kernel command line (`/chosen bootargs`).
    pub bootargs: &'a str,
    /// Offset and size of the kernel in the image.
    pub kernel: (u64, u64),
    /// Offset and size of the initramfs, if there is one.
    pub initrd: Option<(u64, u64)>,
}

/// Why a boot image or kernel cannot be used; the text is printed on the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootError {
    /// No boot image on the disk (no magic).
    NoImage,
    /// The header's FDT location is out of range.
    BadHeader,
    /// The FDT does not parse.
    BadFdt,
    /// The FDT has no kernel location.
    NoKernel,
    /// A part lies outside the image.
    OutOfImage,
    /// The kernel is not an ELF file.
    NotElf,
    /// The kernel is an ELF file, but not a 64-bit big-endian SPARC V9 executable.
    NotSparc64,
    /// The kernel has no loadable segment, or one the firmware cannot place.
    BadSegments,
    /// The kernel and initramfs do not fit the domain's memory.
    TooBig,
}

impl BootError {
    /// A one-line explanation.
    pub fn message(self) -> &'static str {
        match self {
            BootError::NoImage => "no boot image on the virtual disk (expected the SUN4V-HV BOOTIMG header)",
            BootError::BadHeader => "the boot image header is damaged",
            BootError::BadFdt => "the boot parameters (FDT) of the boot image do not parse",
            BootError::NoKernel => "the boot parameters name no kernel (/chosen sun4v-hv,kernel-start/-end)",
            BootError::OutOfImage => "a part named by the boot parameters lies outside the boot image",
            BootError::NotElf => "the kernel is not an ELF file",
            BootError::NotSparc64 => "the kernel is not a 64-bit big-endian SPARC V9 (sparc64) ELF executable",
            BootError::BadSegments => "the kernel has no loadable segment the firmware can place",
            BootError::TooBig => "the kernel and initramfs do not fit the domain's memory",
        }
    }
}

/// Reads the FDT location from the label block.
pub fn parse_label(label: &[u8]) -> Result<(u64, u64), BootError> {
    if label.len() < 32 || &label[..16] != MAGIC {
        return Err(BootError::NoImage);
    }
    let off = u64::from_be_bytes(label[16..24].try_into().unwrap_or([0; 8]));
    let size = u64::from_be_bytes(label[24..32].try_into().unwrap_or([0; 8]));
    if !(40..=MAX_FDT).contains(&size) || off < LABEL_SIZE as u64 {
        return Err(BootError::BadHeader);
    }
    Ok((off, size))
}

fn cell64(v: &[u8]) -> Option<u64> {
    match v.len() {
        4 => Some(u32::from_be_bytes(v.try_into().ok()?) as u64),
        8 => Some(u64::from_be_bytes(v.try_into().ok()?)),
        _ => None,
    }
}

/// Parses the boot parameters FDT; `image_size` bounds the parts.
pub fn parse_params(fdt: &[u8], image_size: u64) -> Result<BootParams<'_>, BootError> {
    let fdt = Fdt::new(fdt).map_err(|_| BootError::BadFdt)?;
    let chosen = fdt.find_node("/chosen").ok_or(BootError::BadFdt)?;
    let get = |name: &str| chosen.property(name).and_then(|p| cell64(p.value));
    let bootargs = chosen
        .property("bootargs")
        .and_then(|p| core::str::from_utf8(p.value).ok())
        .map(|s| s.trim_end_matches('\0'))
        .unwrap_or("");
    let range = |start: Option<u64>, end: Option<u64>| -> Result<Option<(u64, u64)>, BootError> {
        match (start, end) {
            (None, None) => Ok(None),
            (Some(s), Some(e)) if s <= e && e <= image_size => Ok(Some((s, e - s))),
            _ => Err(BootError::OutOfImage),
        }
    };
    let kernel = range(get("sun4v-hv,kernel-start"), get("sun4v-hv,kernel-end"))?.ok_or(BootError::NoKernel)?;
    let initrd = range(get("linux,initrd-start"), get("linux,initrd-end"))?.filter(|r| r.1 != 0);
    Ok(BootParams { bootargs, kernel, initrd })
}

/// A loadable segment of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Offset of its bytes in the ELF file.
    pub offset: u64,
    /// Virtual address.
    pub vaddr: u64,
    /// Bytes in the file.
    pub filesz: u64,
    /// Bytes in memory (the rest is zeroed).
    pub memsz: u64,
}

/// The kernel's entry point and loadable segments.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    /// Entry point (virtual).
    pub entry: u64,
    /// Segments (`count` of them are used).
    pub segments: [Segment; 8],
    /// Number of segments.
    pub count: usize,
}

impl Kernel {
    /// Lowest virtual address and the span up to the end of the highest segment.
    pub fn span(&self) -> (u64, u64) {
        let lo = self.segments[..self.count].iter().map(|s| s.vaddr).min().unwrap_or(0);
        let hi = self.segments[..self.count].iter().map(|s| s.vaddr + s.memsz).max().unwrap_or(0);
        (lo, hi - lo)
    }
}

/// ELF machine number of SPARC V9.
pub const EM_SPARCV9: u16 = 43;
/// Lowest virtual address a kernel may be linked at, and the alignment of its base (the
/// firmware maps it with 4 MB pages).
pub const KERNEL_ALIGN: u64 = 4 << 20;

/// Parses a kernel ELF from its first bytes (`head` holds the ELF header and program
/// headers; 4 KiB is plenty for vmlinux); `file_size` bounds the segments.
pub fn parse_kernel(head: &[u8], file_size: u64) -> Result<Kernel, BootError> {
    if head.len() < 64 || head[..4] != [0x7f, b'E', b'L', b'F'] {
        return Err(BootError::NotElf);
    }
    let be16 = |o: usize| u16::from_be_bytes([head[o], head[o + 1]]);
    let be32 = |o: usize| -> Option<u32> { Some(u32::from_be_bytes(head.get(o..o + 4)?.try_into().ok()?)) };
    let be64 = |o: usize| -> Option<u64> { Some(u64::from_be_bytes(head.get(o..o + 8)?.try_into().ok()?)) };
    // ELFCLASS64, ELFDATA2MSB, ET_EXEC, EM_SPARCV9.
    if head[4] != 2 || head[5] != 2 || be16(16) != 2 || be16(18) != EM_SPARCV9 {
        return Err(BootError::NotSparc64);
    }
    let entry = be64(24).ok_or(BootError::NotElf)?;
    let phoff = be64(32).ok_or(BootError::NotElf)? as usize;
    let phentsize = be16(54) as usize;
    let phnum = be16(56) as usize;
    if phentsize < 56 {
        return Err(BootError::BadSegments);
    }
    let mut k = Kernel { entry, segments: [Segment { offset: 0, vaddr: 0, filesz: 0, memsz: 0 }; 8], count: 0 };
    for i in 0..phnum {
        let p = phoff.checked_add(i * phentsize).ok_or(BootError::BadSegments)?;
        let ty = be32(p).ok_or(BootError::BadSegments)?;
        if ty != 1 {
            continue;
        }
        let s = Segment {
            offset: be64(p + 8).ok_or(BootError::BadSegments)?,
            vaddr: be64(p + 16).ok_or(BootError::BadSegments)?,
            filesz: be64(p + 32).ok_or(BootError::BadSegments)?,
            memsz: be64(p + 40).ok_or(BootError::BadSegments)?,
        };
        let file_end = s.offset.checked_add(s.filesz);
        if s.memsz == 0 {
            continue;
        }
        if s.filesz > s.memsz || file_end.is_none_or(|e| e > file_size) || s.vaddr.checked_add(s.memsz).is_none() {
            return Err(BootError::BadSegments);
        }
        if k.count == k.segments.len() {
            return Err(BootError::BadSegments);
        }
        k.segments[k.count] = s;
        k.count += 1;
    }
    if k.count == 0 {
        return Err(BootError::BadSegments);
    }
    let (lo, span) = k.span();
    if lo % KERNEL_ALIGN != 0 || span > (1 << 30) || entry < lo || entry >= lo + span {
        return Err(BootError::BadSegments);
    }
    Ok(k)
}

/// Where the kernel's `HdrS` header (its boot-loader fields) is: the offset of the
/// magic in `text` (the bytes at the kernel's entry point).
pub fn find_hdrs(text: &[u8]) -> Option<usize> {
    text.windows(4).take(1024).position(|w| w == b"HdrS")
}

/// Offset of `sparc_ramdisk_image` from `HdrS` (after the magic, the version word,
/// the HdrS version and root_flags, root_dev, ram_flags halves).
pub const HDRS_RAMDISK_IMAGE: usize = 4 + 4 + 2 + 2 + 2 + 2;
/// Offset of `sparc_ramdisk_size` from `HdrS`.
pub const HDRS_RAMDISK_SIZE: usize = HDRS_RAMDISK_IMAGE + 4;
/// Offset of `sparc_ramdisk_image64` from `HdrS` (after two pointers).
pub const HDRS_RAMDISK_IMAGE64: usize = HDRS_RAMDISK_SIZE + 4 + 8 + 8;
