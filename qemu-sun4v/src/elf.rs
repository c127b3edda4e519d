//! ELF to raw: the bytes QEMU loads from a linked sparc64 ELF.

/// Largest raw image [`elf_to_raw`] produces; protects against a wrong base or p_paddr.
pub const RAW_IMAGE_MAX: u64 = 256 << 20;

/// Converts an ELF file to a raw image: the file bytes of every `PT_LOAD` segment with
/// `p_filesz > 0` are placed at `p_paddr - base`; gaps are filled with zeros.
pub fn elf_to_raw(elf: &[u8], base: u64) -> Result<Vec<u8>, String> {
    use object::elf::{FileHeader64, PT_LOAD};
    use object::read::elf::{FileHeader, ProgramHeader};
    use object::Endianness;

    let header = FileHeader64::<Endianness>::parse(elf).map_err(|e| format!("not a 64-bit ELF file: {e}"))?;
    let endian = header.endian().map_err(|e| format!("bad ELF endianness: {e}"))?;
    let phdrs = header.program_headers(endian, elf).map_err(|e| format!("bad ELF program headers: {e}"))?;

    let mut raw: Vec<u8> = Vec::new();
    let mut any = false;
    for (i, ph) in phdrs.iter().enumerate() {
        if ph.p_type(endian) != PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let paddr = ph.p_paddr(endian);
        let filesz = ph.p_filesz(endian);
        if paddr < base {
            return Err(format!("PT_LOAD segment {i} has load address {paddr:#x} below the image base {base:#x}"));
        }
        let start = paddr - base;
        let end = start.checked_add(filesz).filter(|&e| e <= RAW_IMAGE_MAX).ok_or_else(|| {
            format!(
                "PT_LOAD segment {i} ({paddr:#x}, {filesz:#x} bytes) ends more than \
                     {RAW_IMAGE_MAX:#x} bytes after the image base {base:#x}"
            )
        })?;
        let data =
            ph.data(endian, elf).map_err(|_| format!("PT_LOAD segment {i}: file bytes lie outside the ELF file"))?;
        let (start, end) = (start as usize, end as usize);
        if raw.len() < end {
            raw.resize(end, 0);
        }
        raw[start..end].copy_from_slice(data);
        any = true;
    }
    if !any {
        return Err("the ELF file has no PT_LOAD segment with file contents".into());
    }
    Ok(raw)
}
