//! Host side: writes boot images (see [`crate::boot`]) and the flattened device tree of
//! their boot parameters.

use crate::boot::{BLOCK, BLOCKS_OFFSET, LABEL_SIZE, MAGIC};

/// A minimal flattened-device-tree writer (devicetree specification v0.4 §5, version 17).
#[derive(Default)]
pub struct FdtWriter {
    structure: Vec<u8>,
    strings: Vec<u8>,
}

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_END: u32 = 9;

impl FdtWriter {
    fn token(&mut self, t: u32) {
        self.structure.extend_from_slice(&t.to_be_bytes());
    }
    fn pad(&mut self) {
        while !self.structure.len().is_multiple_of(4) {
            self.structure.push(0);
        }
    }
    /// Opens a node (`""` for the root).
    pub fn begin(&mut self, name: &str) {
        self.token(FDT_BEGIN_NODE);
        self.structure.extend_from_slice(name.as_bytes());
        self.structure.push(0);
        self.pad();
    }
    /// Closes the current node.
    pub fn end(&mut self) {
        self.token(FDT_END_NODE);
    }
    /// Adds a property with raw bytes.
    pub fn prop(&mut self, name: &str, value: &[u8]) {
        let off = match find(&self.strings, name) {
            Some(o) => o,
            None => {
                let o = self.strings.len();
                self.strings.extend_from_slice(name.as_bytes());
                self.strings.push(0);
                o
            }
        };
        self.token(FDT_PROP);
        self.structure.extend_from_slice(&(value.len() as u32).to_be_bytes());
        self.structure.extend_from_slice(&(off as u32).to_be_bytes());
        self.structure.extend_from_slice(value);
        self.pad();
    }
    /// Adds a string property.
    pub fn prop_str(&mut self, name: &str, value: &str) {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        self.prop(name, &v);
    }
    /// Adds a 64-bit property (two cells).
    pub fn prop_u64(&mut self, name: &str, value: u64) {
        self.prop(name, &value.to_be_bytes());
    }
    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.token(FDT_END);
        let header = 40usize;
        let rsv = header; // one empty reservation entry (16 bytes)
        let off_struct = rsv + 16;
        let off_strings = off_struct + self.structure.len();
        let total = off_strings + self.strings.len();
        let mut out = Vec::with_capacity(total);
        for v in [
            0xd00d_feedu32,
            total as u32,
            off_struct as u32,
            off_strings as u32,
            rsv as u32,
            17,
            16,
            0,
            self.strings.len() as u32,
            self.structure.len() as u32,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&self.structure);
        out.extend_from_slice(&self.strings);
        out
    }
}

fn find(strings: &[u8], name: &str) -> Option<usize> {
    let mut off = 0;
    for s in strings.split(|&b| b == 0) {
        if s == name.as_bytes() {
            return Some(off);
        }
        off += s.len() + 1;
    }
    None
}

fn align(v: usize, a: usize) -> usize {
    v.div_ceil(a) * a
}

/// The boot parameters FDT for a kernel at `kernel` and an initramfs at `initrd`
/// (offsets and sizes in the image).
pub fn params_fdt(bootargs: &str, kernel: (u64, u64), initrd: Option<(u64, u64)>) -> Vec<u8> {
    let mut w = FdtWriter::default();
    w.begin("");
    w.prop_str("compatible", "sun4v-hv,boot-image");
    w.prop("#address-cells", &2u32.to_be_bytes());
    w.prop("#size-cells", &2u32.to_be_bytes());
    w.begin("chosen");
    w.prop_str("bootargs", bootargs);
    w.prop_u64("sun4v-hv,kernel-start", kernel.0);
    w.prop_u64("sun4v-hv,kernel-end", kernel.0 + kernel.1);
    if let Some((s, n)) = initrd {
        w.prop_u64("linux,initrd-start", s);
        w.prop_u64("linux,initrd-end", s + n);
    }
    w.end();
    w.end();
    w.finish()
}

/// Builds a boot image from a kernel ELF, an optional initramfs and a command line.
pub fn boot_image(kernel: &[u8], initrd: Option<&[u8]>, bootargs: &str) -> Vec<u8> {
    const PAGE: usize = 8192;
    // The FDT's size does not depend on the offsets' values, so lay out with a draft.
    let draft = params_fdt(bootargs, (0, 0), initrd.map(|_| (0, 0)));
    let fdt_off = LABEL_SIZE;
    let kernel_off = align(fdt_off + draft.len(), PAGE);
    let initrd_off = align(kernel_off + kernel.len(), PAGE);
    let fdt = params_fdt(
        bootargs,
        (kernel_off as u64, kernel.len() as u64),
        initrd.map(|i| (initrd_off as u64, i.len() as u64)),
    );
    assert_eq!(fdt.len(), draft.len());
    let end = match initrd {
        Some(i) => initrd_off + i.len(),
        None => kernel_off + kernel.len(),
    };
    let total = align(end, BLOCK as usize);
    let mut img = vec![0u8; total];
    img[..16].copy_from_slice(MAGIC);
    img[16..24].copy_from_slice(&(fdt_off as u64).to_be_bytes());
    img[24..32].copy_from_slice(&(fdt.len() as u64).to_be_bytes());
    img[BLOCKS_OFFSET..BLOCKS_OFFSET + 4].copy_from_slice(&((total as u64 / BLOCK) as u32).to_be_bytes());
    img[fdt_off..fdt_off + fdt.len()].copy_from_slice(&fdt);
    img[kernel_off..kernel_off + kernel.len()].copy_from_slice(kernel);
    if let Some(i) = initrd {
        img[initrd_off..initrd_off + i.len()].copy_from_slice(i);
    }
    img
}

/// One entry of a `newc` cpio archive (the initramfs format).
pub enum CpioEntry<'a> {
    /// A directory.
    Dir(&'a str, u32),
    /// A character device node (path, mode, major, minor).
    CharDev(&'a str, u32, u32, u32),
    /// A regular file.
    File(&'a str, u32, &'a [u8]),
}

/// Writes a `newc` cpio archive (as Linux's initramfs unpacker reads it).
pub fn cpio(entries: &[CpioEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ino = 1u32;
    let mut put = |name: &str, mode: u32, data: &[u8], rdev: (u32, u32), out: &mut Vec<u8>| {
        let hdr = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            ino,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        ino += 1;
        out.extend_from_slice(hdr.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    };
    for e in entries {
        match *e {
            CpioEntry::Dir(p, m) => put(p, 0o040000 | m, &[], (0, 0), &mut out),
            CpioEntry::CharDev(p, m, maj, min) => put(p, 0o020000 | m, &[], (maj, min), &mut out),
            CpioEntry::File(p, m, d) => put(p, 0o100000 | m, d, (0, 0), &mut out),
        }
    }
    put("TRAILER!!!", 0, &[], (0, 0), &mut out);
    while out.len() % 512 != 0 {
        out.push(0);
    }
    out
}
