//! The six files of a `-L` folder for `-M niagara`, and the niagara PROM's size limits
//! (qemu-niagara.md §2.2).

use std::path::{Path, PathBuf};

/// PA of the niagara PROM region; the hypervisor image is linked here.
pub const PROM_BASE: u64 = 0xff_f000_0000;
/// `reset.bin` is loaded at PROM + 0 and may not reach `q.bin` at +0x10000.
pub const RESET_BIN_MAX: usize = 0x1_0000;
/// `q.bin` is loaded at PROM + 0x10000 and may not reach `openboot.bin` at +0x80000.
pub const Q_BIN_MAX: usize = 0x7_0000;
/// `openboot.bin` is loaded at PROM + 0x80000, the PROM region is 4 MiB.
pub const OPENBOOT_BIN_MAX: usize = 0x38_0000;
/// `nvram1`, `1up-md.bin`, `1up-hv.bin` land in 8 KiB regions (QEMU drops the excess silently).
pub const SMALL_ROM_MAX: usize = 0x2000;
/// Offset of `openboot.bin` in the PROM (where ldom-config puts guest images).
pub const OPENBOOT_OFFSET: u64 = 0x8_0000;
/// Splits a raw hypervisor image linked at [`PROM_BASE`] into `reset.bin` (first 64 KiB)
/// and `q.bin` (the rest, at most [`Q_BIN_MAX`] bytes).
pub fn split_firmware(raw: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    if raw.len() <= RESET_BIN_MAX {
        return Ok((raw.to_vec(), Vec::new()));
    }
    let q = &raw[RESET_BIN_MAX..];
    if q.len() > Q_BIN_MAX {
        return Err(format!(
            "the hypervisor image is {} bytes ({:#x}): at most {:#x} fit in reset.bin + q.bin \
             (PROM {:#x}..{:#x}); {} bytes too many",
            raw.len(),
            raw.len(),
            RESET_BIN_MAX + Q_BIN_MAX,
            PROM_BASE,
            PROM_BASE + OPENBOOT_OFFSET,
            raw.len() - RESET_BIN_MAX - Q_BIN_MAX
        ));
    }
    Ok((raw[..RESET_BIN_MAX].to_vec(), q.to_vec()))
}

/// The six files of a `-L` directory for `-M niagara`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirmwareSet {
    /// PROM + 0 (max 64 KiB).
    pub reset_bin: Vec<u8>,
    /// PROM + 0x10000 (max 0x70000 bytes).
    pub q_bin: Vec<u8>,
    /// PROM + 0x80000 (max 0x380000 bytes): guest images and MDs.
    pub openboot_bin: Vec<u8>,
    /// `1up-hv.bin`: the hypervisor MD (max 8 KiB).
    pub hv_md: Vec<u8>,
    /// `1up-md.bin`: the guest MD of domain 0 (max 8 KiB).
    pub md_rom: Vec<u8>,
    /// `nvram1` (max 8 KiB); `None` writes 8 KiB of zeros.
    pub nvram: Option<Vec<u8>>,
}

/// One file of a written firmware set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFile {
    /// The file name QEMU expects, e.g. `q.bin`.
    pub name: &'static str,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: usize,
}

impl FirmwareSet {
    /// Builds a set from a raw hypervisor image (linked at [`PROM_BASE`]) and the other files.
    pub fn from_hypervisor(raw: &[u8], openboot_bin: Vec<u8>, hv_md: Vec<u8>, md_rom: Vec<u8>) -> Result<Self, String> {
        let (reset_bin, q_bin) = split_firmware(raw)?;
        let set = FirmwareSet { reset_bin, q_bin, openboot_bin, hv_md, md_rom, nvram: None };
        set.check()?;
        Ok(set)
    }

    /// Builds a set from a raw hypervisor image and the output of the config compiler.
    pub fn from_build(raw: &[u8], build: &ldom_config::Build) -> Result<Self, String> {
        Self::from_hypervisor(raw, build.prom_guest_area.clone(), build.hv_md.clone(), build.md_rom.clone())
    }

    /// The file names and contents, in the order they are written.
    pub fn files(&self) -> [(&'static str, &[u8], usize); 6] {
        const ZERO_NVRAM: [u8; SMALL_ROM_MAX] = [0; SMALL_ROM_MAX];
        [
            ("reset.bin", &self.reset_bin, RESET_BIN_MAX),
            ("q.bin", &self.q_bin, Q_BIN_MAX),
            ("openboot.bin", &self.openboot_bin, OPENBOOT_BIN_MAX),
            ("1up-hv.bin", &self.hv_md, SMALL_ROM_MAX),
            ("1up-md.bin", &self.md_rom, SMALL_ROM_MAX),
            ("nvram1", self.nvram.as_deref().unwrap_or(&ZERO_NVRAM), SMALL_ROM_MAX),
        ]
    }

    /// Checks every size limit of qemu-niagara.md §2.2.
    pub fn check(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        for (name, data, max) in self.files() {
            if data.len() > max {
                let why = match name {
                    "reset.bin" => "QEMU fails with \"Some ROM regions are overlapping\"",
                    "q.bin" => "it would overlap openboot.bin at PROM + 0x80000",
                    "openboot.bin" => "the PROM region is 4 MiB",
                    _ => "QEMU would silently drop the bytes past 8 KiB",
                };
                errors.push(format!(
                    "{name} is {} bytes ({:#x}), the limit is {max} ({max:#x}): {why}",
                    data.len(),
                    data.len()
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }

    /// Checks the limits, then writes the six files into `dir` (created if needed).
    pub fn write_to(&self, dir: &Path) -> Result<Vec<WrittenFile>, String> {
        self.check()?;
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut written = Vec::new();
        for (name, data, _) in self.files() {
            let path = dir.join(name);
            std::fs::write(&path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(WrittenFile { name, path, size: data.len() });
        }
        Ok(written)
    }

    /// Reads a complete `-L` directory (for example Sun's firmware).
    pub fn read_from(dir: &Path) -> Result<Self, String> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        Ok(FirmwareSet {
            reset_bin: read("reset.bin")?,
            q_bin: read("q.bin")?,
            openboot_bin: read("openboot.bin")?,
            hv_md: read("1up-hv.bin")?,
            md_rom: read("1up-md.bin")?,
            nvram: Some(read("nvram1")?),
        })
    }
}
