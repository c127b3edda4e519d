//! `cargo xtask linux` and `cargo xtask silo-iso`: the real Linux guest.
//!
//! * [`build_linux`] builds Linux 6.1 for sparc64 from Debian's `linux-source-6.1` with the
//!   cross compiler `gcc-sparc64-linux-gnu`: `make tinyconfig`, the fragment
//!   `guests/linux/config-fragment` merged in. The result is `arch/sparc/boot/image` (a
//!   stripped ELF), copied to `<out>/image`, beside `<out>/initramfs.cpio` (a `newc`
//!   archive of `guests/linux/initramfs.list` holding our own `/init`,
//!   `guests/linux/init.c`, linked static).
//! * [`ensure_boot_image`] packs both with a command line into `<out>/boot.img`, the boot
//!   image the project's guest firmware boots from the niagara vdisk (`-drive if=pflash`).
//! * [`make_silo_iso`] packs a kernel and initramfs with SILO's boot blocks (`isofs.b`,
//!   `second.b`) into an ISO that Sun's OpenBoot boots from the vdisk: `ok boot`.
//!
//! Nothing here goes into the repository tree: the source, the objects and the outputs live
//! in the cache folder outside the checkout ([`cache_dir`]: `$SUN4V_HV_CACHE`, else
//! `$XDG_CACHE_HOME/sun4v-hv`, else `~/.cache/sun4v-hv`), under `linux/`; the outputs of
//! one configuration in `linux/<source version>-<hash of guests/linux/*>/`.

use crate::{user_dir, user_path, workspace, Opts, USAGE};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::process::ExitCode;
use std::time::Instant;

use crate::{is_root, run_status};

/// Debian packages the Linux build and the ISO need.
pub const PACKAGES: &[&str] = &[
    "gcc-sparc64-linux-gnu",
    "libc6-dev-sparc64-cross",
    "bc",
    "flex",
    "bison",
    "libssl-dev",
    "libelf-dev",
    "genisoimage",
    "cpio",
    "xz-utils",
];
/// The Debian source package of the kernel.
pub const SOURCE_PACKAGE: &str = "linux-source-6.1";
/// SILO 1.4.13 allocates 8 MB for the kernel ("Image too large to fit in destination").
pub const SILO_KERNEL_MAX: u64 = 8 << 20;
const CROSS: &str = "sparc64-linux-gnu-";

/// What each package provides, to find out whether it is installed.
fn package_probe(pkg: &str) -> bool {
    let has_file = |p: &str| Path::new(p).exists();
    let has_prog = |p: &str| qemu_sun4v::find_in_path(p).is_some();
    match pkg {
        "gcc-sparc64-linux-gnu" => has_prog("sparc64-linux-gnu-gcc"),
        "libc6-dev-sparc64-cross" => has_file("/usr/sparc64-linux-gnu/lib/libc.a"),
        "bc" => has_prog("bc"),
        "flex" => has_prog("flex"),
        "bison" => has_prog("bison"),
        "libssl-dev" => has_file("/usr/include/openssl/opensslv.h"),
        "libelf-dev" => has_file("/usr/include/libelf.h") || has_file("/usr/include/gelf.h"),
        "genisoimage" => has_prog("genisoimage"),
        "cpio" => has_prog("cpio"),
        "xz-utils" => has_prog("xz"),
        _ => false,
    }
}

/// Installs the missing packages of `wanted` (when root; otherwise says how).
pub fn ensure_packages(wanted: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = wanted.iter().copied().filter(|p| !package_probe(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!("apt-get install -y --no-install-recommends {}", PACKAGES.join(" "));
    if !is_root() {
        return Err(format!(
            "missing Debian packages: {}; install them with:\n  sudo apt-get update && \
             sudo DEBIAN_FRONTEND=noninteractive {install}",
            missing.join(" ")
        ));
    }
    eprintln!("xtask: installing missing packages: {}", missing.join(" "));
    run_status(Command::new("apt-get").arg("update"))?;
    run_status(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(PACKAGES),
    )?;
    let still: Vec<&str> = wanted.iter().copied().filter(|p| !package_probe(p)).collect();
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!("still missing after apt-get install: {}", still.join(" ")))
    }
}

/// The project's cache folder outside the checkout: `$SUN4V_HV_CACHE`, else
/// `$XDG_CACHE_HOME/sun4v-hv`, else `$HOME/.cache/sun4v-hv` (else the temporary folder's
/// `sun4v-hv-cache`).
pub fn cache_dir() -> PathBuf {
    let var = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty()).map(PathBuf::from);
    if let Some(d) = var("SUN4V_HV_CACHE") {
        return d;
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return d.join("sun4v-hv");
    }
    match var("HOME") {
        Some(h) => h.join(".cache").join("sun4v-hv"),
        None => std::env::temp_dir().join("sun4v-hv-cache"),
    }
}

/// Where `cargo xtask linux` works and what it produces.
#[derive(Clone, Debug)]
pub struct LinuxPaths {
    /// The repository's `guests/linux/`.
    pub guest_dir: PathBuf,
    /// Source (`src/`), objects (`obj/`), init and the outputs: `<cache>/linux/`.
    pub build_dir: PathBuf,
    /// Outputs (`image`, `initramfs.cpio`, `boot.img`, `config`): by default
    /// `<build_dir>/<source version>-<hash of the inputs>/`.
    pub out_override: Option<PathBuf>,
}

/// 64-bit FNV-1a (the cache key of the kernel's inputs).
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

impl LinuxPaths {
    pub fn new(_ws: &Path) -> Self {
        LinuxPaths {
            guest_dir: _ws.join("guests").join("linux"),
            build_dir: cache_dir().join("linux"),
            out_override: None,
        }
    }
    /// The outputs' folder: keyed by the source version and a hash of the inputs.
    pub fn out_dir(&self) -> PathBuf {
        if let Some(o) = &self.out_override {
            return o.clone();
        }
        let key = inputs_fingerprint(self).map(|f| fnv1a(f.as_bytes())).unwrap_or(0);
        self.build_dir.join(format!("{}-{key:016x}", self.source_version()))
    }
    /// The Debian version of the unpacked source (`linux-source-6.1` before it is there).
    fn source_version(&self) -> String {
        std::fs::read_to_string(self.build_dir.join("src").join("VERSION"))
            .map(|v| format!("{SOURCE_PACKAGE}_{}", v.trim()))
            .unwrap_or_else(|_| SOURCE_PACKAGE.to_string())
    }
    /// The kernel image `cargo xtask linux` writes.
    pub fn image(&self) -> PathBuf {
        self.out_dir().join("image")
    }
    /// The initramfs `cargo xtask linux` writes.
    pub fn initramfs(&self) -> PathBuf {
        self.out_dir().join("initramfs.cpio")
    }
    /// The guest firmware's boot image (kernel, initramfs, command line).
    pub fn boot_image(&self) -> PathBuf {
        self.out_dir().join("boot.img")
    }
    /// The default ISO of `cargo xtask silo-iso`.
    pub fn iso(&self) -> PathBuf {
        self.out_dir().join("linux-silo.iso")
    }
    fn source_dir(&self) -> PathBuf {
        self.build_dir.join("src").join("linux-source-6.1")
    }
    fn obj_dir(&self) -> PathBuf {
        self.build_dir.join("obj")
    }
    fn stamp(&self) -> PathBuf {
        self.out_dir().join("image.inputs")
    }
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

fn write(p: &Path, data: impl AsRef<[u8]>) -> Result<(), String> {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    std::fs::write(p, data).map_err(|e| format!("cannot write {}: {e}", p.display()))
}

/// Downloads and unpacks Debian's kernel source into the build folder (once).
fn ensure_source(paths: &LinuxPaths) -> Result<PathBuf, String> {
    let src = paths.source_dir();
    if src.join("Makefile").is_file() && src.join("arch/sparc").is_dir() {
        return Ok(src);
    }
    let b = &paths.build_dir.join("src");
    std::fs::create_dir_all(b).map_err(|e| format!("cannot create {}: {e}", b.display()))?;
    eprintln!("xtask: apt-get download {SOURCE_PACKAGE} (139 MB) into {}", b.display());
    run_status(Command::new("apt-get").current_dir(b).args(["download", SOURCE_PACKAGE]))?;
    let deb = std::fs::read_dir(b)
        .map_err(|e| format!("cannot read {}: {e}", b.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{SOURCE_PACKAGE}_")) && n.ends_with(".deb"))
        })
        .ok_or_else(|| format!("apt-get download left no {SOURCE_PACKAGE}_*.deb in {}", b.display()))?;
    // linux-source-6.1_6.1.192-3_all.deb: the Debian version is the cache key's first part.
    if let Some(v) = deb.file_name().and_then(|n| n.to_str()).and_then(|n| n.split('_').nth(1)) {
        write(&b.join("VERSION"), v)?;
    }
    let deb_dir = b.join("deb");
    run_status(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&deb_dir))?;
    let tarball = deb_dir.join("usr/src/linux-source-6.1.tar.xz");
    eprintln!("xtask: unpacking {}", tarball.display());
    run_status(Command::new("tar").current_dir(b).arg("-xaf").arg(&tarball))?;
    let _ = std::fs::remove_dir_all(&deb_dir);
    let _ = std::fs::remove_file(&deb);
    if !src.join("Makefile").is_file() {
        return Err(format!("{} has no Makefile after unpacking", src.display()));
    }
    Ok(src)
}

/// Returns `(highest p_vaddr + p_memsz - lowest p_vaddr, entry)` of the PT_LOAD segments of a
/// big-endian ELF64 file.
pub fn elf_load_span(elf: &[u8]) -> Result<(u64, u64), String> {
    let be64 = |o: usize| -> Option<u64> { Some(u64::from_be_bytes(elf.get(o..o + 8)?.try_into().ok()?)) };
    let be32 = |o: usize| -> Option<u32> { Some(u32::from_be_bytes(elf.get(o..o + 4)?.try_into().ok()?)) };
    let be16 = |o: usize| -> Option<u16> { Some(u16::from_be_bytes(elf.get(o..o + 2)?.try_into().ok()?)) };
    if elf.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 2]) {
        return Err("not a big-endian ELF64 file".into());
    }
    let bad = || "truncated ELF header".to_string();
    let entry = be64(24).ok_or_else(bad)?;
    let phoff = be64(32).ok_or_else(bad)? as usize;
    let phentsize = be16(54).ok_or_else(bad)? as usize;
    let phnum = be16(56).ok_or_else(bad)? as usize;
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for i in 0..phnum {
        let p = phoff + i * phentsize;
        if be32(p).ok_or_else(bad)? != 1 {
            continue;
        }
        let vaddr = be64(p + 16).ok_or_else(bad)?;
        let memsz = be64(p + 40).ok_or_else(bad)?;
        lo = lo.min(vaddr);
        hi = hi.max(vaddr + memsz);
    }
    if hi == 0 {
        return Err("no PT_LOAD segment".into());
    }
    Ok((hi - lo, entry))
}

/// The inputs that decide the kernel (for the "up to date" check).
fn inputs_fingerprint(paths: &LinuxPaths) -> Result<String, String> {
    let mut s = String::new();
    for f in ["config-fragment", "initramfs.list", "init.c"] {
        s.push_str(&format!("==== {f}\n{}", read(&paths.guest_dir.join(f))?));
    }
    let version = std::fs::read_to_string(paths.build_dir.join("src").join("VERSION")).unwrap_or_default();
    s.push_str(&format!("==== source\n{SOURCE_PACKAGE} {}\n", version.trim()));
    Ok(s)
}

/// Result of a Linux build.
pub struct Built {
    pub image: PathBuf,
    /// `None` when the cached image was still up to date.
    pub seconds: Option<f64>,
}

/// Builds the kernel (or reuses an up-to-date `<out>/image`).
pub fn build_linux(paths: &LinuxPaths, jobs: usize, force: bool) -> Result<Built, String> {
    let fingerprint = inputs_fingerprint(paths)?;
    let image_out = paths.image();
    if !force
        && image_out.is_file()
        && std::fs::read_to_string(paths.stamp()).ok().as_deref() == Some(fingerprint.as_str())
    {
        eprintln!("xtask: {} is up to date (inputs unchanged; --force rebuilds)", image_out.display());
        return Ok(Built { image: image_out, seconds: None });
    }
    ensure_packages(PACKAGES)?;
    let start = Instant::now();
    let src = ensure_source(paths)?;
    // The source's Debian version is part of the key: known now if it was just unpacked.
    let fingerprint = inputs_fingerprint(paths)?;
    let image_out = paths.image();
    let obj = paths.obj_dir();
    std::fs::create_dir_all(&obj).map_err(|e| format!("cannot create {}: {e}", obj.display()))?;

    // 1. Our /init, static.
    let init = paths.build_dir.join("init");
    eprintln!("xtask: building /init from guests/linux/init.c");
    run_status(
        Command::new(format!("{CROSS}gcc"))
            .args(["-static", "-O2", "-s", "-Wall", "-o"])
            .arg(&init)
            .arg(paths.guest_dir.join("init.c")),
    )?;
    // 2. The initramfs: a newc archive of the list, the init's path filled in.
    let list = read(&paths.guest_dir.join("initramfs.list"))?;
    let cpio = initramfs_from_list(&list, &init)?;
    // 3. The configuration: tinyconfig + fragment.
    let fragment = read(&paths.guest_dir.join("config-fragment"))?;
    let frag_path = paths.build_dir.join("config-fragment.full");
    write(&frag_path, &fragment)?;
    let make = |args: &[&str]| -> Result<(), String> {
        let mut c = Command::new("make");
        c.current_dir(&src)
            .arg(format!("O={}", obj.display()))
            .arg("ARCH=sparc64")
            .arg(format!("CROSS_COMPILE={CROSS}"))
            .args(args);
        run_status(&mut c)
    };
    eprintln!("xtask: configuring (tinyconfig + guests/linux/config-fragment)");
    make(&["-s", "tinyconfig"])?;
    run_status(
        Command::new(src.join("scripts/kconfig/merge_config.sh"))
            .current_dir(&src)
            .env("ARCH", "sparc64")
            .env("CROSS_COMPILE", CROSS)
            .args(["-m", "-O"])
            .arg(&obj)
            .arg(obj.join(".config"))
            .arg(&frag_path)
            .stdout(std::process::Stdio::null()),
    )?;
    make(&["-s", "olddefconfig"])?;
    // Every option of the fragment must have survived olddefconfig.
    let config = read(&obj.join(".config"))?;
    let lost: Vec<&str> =
        fragment.lines().filter(|l| l.starts_with("CONFIG_")).filter(|l| !config.lines().any(|c| c == *l)).collect();
    if !lost.is_empty() {
        return Err(format!("the kernel configuration lost these fragment options: {}", lost.join(", ")));
    }
    // 4. The kernel.
    eprintln!("xtask: make -j{jobs} in {} (about 3 minutes on 2 cores the first time)", obj.display());
    make_with_progress(&src, &obj, jobs)?;
    let image = obj.join("arch/sparc/boot/image");
    let data = std::fs::read(&image).map_err(|e| format!("cannot read {}: {e}", image.display()))?;
    let (span, entry) = elf_load_span(&data).map_err(|e| format!("{}: {e}", image.display()))?;
    if span >= SILO_KERNEL_MAX {
        return Err(format!("the kernel spans {span:#x} bytes: SILO only loads kernels below {SILO_KERNEL_MAX:#x}"));
    }
    write(&image_out, &data)?;
    write(&paths.initramfs(), &cpio)?;
    write(&paths.out_dir().join("config"), &config)?;
    write(&paths.stamp(), &fingerprint)?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "xtask: kernel {} ({} bytes, load span {span:#x}, entry {entry:#x}) built in {:.0} s",
        image_out.display(),
        data.len(),
        seconds
    );
    Ok(Built { image: image_out, seconds: Some(seconds) })
}

/// `make -jN` with a progress line every 100 compiled files (the kernel's own output is
/// one line per file).
fn make_with_progress(src: &Path, obj: &Path, jobs: usize) -> Result<(), String> {
    use std::io::BufRead;
    let mut c = Command::new("make");
    c.current_dir(src)
        .arg(format!("O={}", obj.display()))
        .arg("ARCH=sparc64")
        .arg(format!("CROSS_COMPILE={CROSS}"))
        .arg(format!("-j{jobs}"))
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("cannot run make: {e}"))?;
    let out = child.stdout.take().expect("piped");
    let mut n = 0;
    for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
        if line.trim_start().starts_with("CC") {
            n += 1;
            if n % 100 == 0 {
                eprintln!("xtask: kernel build: {n} files compiled");
            }
        }
    }
    let st = child.wait().map_err(|e| format!("make: {e}"))?;
    if !st.success() {
        return Err(format!("make -j{jobs} in {} failed ({st})", obj.display()));
    }
    eprintln!("xtask: kernel build: {n} files compiled, linked");
    Ok(())
}

/// Builds the initramfs (`newc` cpio) from a `gen_init_cpio`-style list: `dir PATH MODE
/// UID GID`, `nod PATH MODE UID GID c MAJOR MINOR`, `file PATH SOURCE MODE UID GID`
/// (`@INIT@` stands for `init`, the path of our init binary).
pub fn initramfs_from_list(list: &str, init: &Path) -> Result<Vec<u8>, String> {
    use guest_firmware::image::{cpio, CpioEntry};
    let mut files: Vec<(String, u32, Vec<u8>)> = Vec::new();
    let mut dirs: Vec<(String, u32)> = Vec::new();
    let mut nodes: Vec<(String, u32, u32, u32)> = Vec::new();
    let mut order: Vec<(char, usize)> = Vec::new();
    let mode = |m: &str| u32::from_str_radix(m, 8).map_err(|_| format!("initramfs.list: bad mode `{m}`"));
    for line in list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let path = |p: &str| p.trim_start_matches('/').to_string();
        match w.as_slice() {
            ["dir", p, m, ..] => {
                dirs.push((path(p), mode(m)?));
                order.push(('d', dirs.len() - 1));
            }
            ["nod", p, m, _, _, "c", maj, min] => {
                let num = |v: &str| v.parse::<u32>().map_err(|_| format!("initramfs.list: bad number `{v}`"));
                nodes.push((path(p), mode(m)?, num(maj)?, num(min)?));
                order.push(('n', nodes.len() - 1));
            }
            ["file", p, src, m, ..] => {
                let src = if *src == "@INIT@" { init.to_path_buf() } else { PathBuf::from(src) };
                let data = std::fs::read(&src).map_err(|e| format!("initramfs.list: {}: {e}", src.display()))?;
                files.push((path(p), mode(m)?, data));
                order.push(('f', files.len() - 1));
            }
            _ => return Err(format!("initramfs.list: cannot read the line `{line}`")),
        }
    }
    let entries: Vec<CpioEntry<'_>> = order
        .iter()
        .map(|&(k, i)| match k {
            'd' => CpioEntry::Dir(&dirs[i].0, dirs[i].1),
            'n' => CpioEntry::CharDev(&nodes[i].0, nodes[i].1, nodes[i].2, nodes[i].3),
            _ => CpioEntry::File(&files[i].0, files[i].1, &files[i].2),
        })
        .collect();
    Ok(cpio(&entries))
}

/// The kernel command line of the boot image (`/chosen bootargs`).
pub const DEFAULT_BOOTARGS: &str = "";

/// Builds the kernel and initramfs (cached) and packs them into `<out>/boot.img` for the
/// guest firmware, if it is missing or older than the kernel.
pub fn ensure_boot_image(paths: &LinuxPaths, jobs: usize) -> Result<PathBuf, String> {
    let built = build_linux(paths, jobs, false)?;
    let img = paths.boot_image();
    if built.seconds.is_none() && img.is_file() {
        return Ok(img);
    }
    let kernel = std::fs::read(&built.image).map_err(|e| format!("cannot read {}: {e}", built.image.display()))?;
    let initrd =
        std::fs::read(paths.initramfs()).map_err(|e| format!("cannot read {}: {e}", paths.initramfs().display()))?;
    write(&img, guest_firmware::image::boot_image(&kernel, Some(&initrd), DEFAULT_BOOTARGS))?;
    eprintln!("xtask: wrote the boot image {}", img.display());
    Ok(img)
}

/// The silo.conf of the ISO: boot `/boot/vmlinux` with `/boot/initrd.img` at once.
pub const SILO_CONF: &str =
    "timeout = 0\ndefault = linux\nimage = /boot/vmlinux\n\tlabel = linux\n\tinitrd = /boot/initrd.img\n";

/// Makes the SILO ISO: `/boot/{isofs.b,second.b,silo.conf,vmlinux}`, with `isofs.b` as the
/// Sun-label boot block (`genisoimage -G isofs.b -B ...`, as HelenOS builds its ISO).
pub fn make_silo_iso(silo: &Path, kernel: &Path, out: &Path) -> Result<(), String> {
    ensure_packages(&["genisoimage"])?;
    for f in ["isofs.b", "second.b"] {
        if !silo.join(f).is_file() {
            return Err(format!("{} has no {f} (SILO's boot blocks)", silo.display()));
        }
    }
    if !kernel.is_file() {
        return Err(format!("kernel {} not found (build it with `cargo xtask linux`)", kernel.display()));
    }
    let parent =
        out.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let root =
        parent.join(format!("{}.root", out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()));
    let _ = std::fs::remove_dir_all(&root);
    let boot = root.join("boot");
    std::fs::create_dir_all(&boot).map_err(|e| format!("cannot create {}: {e}", boot.display()))?;
    for f in ["isofs.b", "second.b"] {
        std::fs::copy(silo.join(f), boot.join(f)).map_err(|e| format!("cannot copy {f}: {e}"))?;
    }
    std::fs::copy(kernel, boot.join("vmlinux")).map_err(|e| format!("cannot copy {}: {e}", kernel.display()))?;
    // The initramfs `cargo xtask linux` writes beside the kernel.
    let initrd = kernel.with_file_name("initramfs.cpio");
    std::fs::copy(&initrd, boot.join("initrd.img")).map_err(|e| format!("cannot copy {}: {e}", initrd.display()))?;
    write(&boot.join("silo.conf"), SILO_CONF)?;
    let _ = std::fs::remove_file(out);
    // genisoimage prints "Total extents including sparc boot = N" even with -quiet: keep
    // its output for the error message only.
    let mut c = Command::new("genisoimage");
    c.args(["-quiet", "-f", "-G"]).arg(boot.join("isofs.b")).args(["-B", "...", "-r", "-o"]).arg(out).arg(&root);
    let o = c.output().map_err(|e| format!("cannot run genisoimage: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{c:?} failed ({}):\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

/// Builds the kernel (cached) and the ISO if it is older than the kernel or missing.
pub fn ensure_linux_iso(paths: &LinuxPaths, silo: &Path, jobs: usize) -> Result<PathBuf, String> {
    let built = build_linux(paths, jobs, false)?;
    let iso = paths.iso();
    let newer = |a: &Path, b: &Path| -> bool {
        match (std::fs::metadata(a).and_then(|m| m.modified()), std::fs::metadata(b).and_then(|m| m.modified())) {
            (Ok(x), Ok(y)) => x >= y,
            _ => false,
        }
    };
    if built.seconds.is_some() || !newer(&iso, &built.image) {
        make_silo_iso(silo, &built.image, &iso)?;
        eprintln!("xtask: wrote {}", iso.display());
    }
    Ok(iso)
}

/// Number of parallel jobs: the number of CPUs.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

pub(crate) fn cmd_linux(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--out", "--build-dir", "--jobs"], &["--force"])?;
    let ws = workspace();
    let mut paths = LinuxPaths::new(&ws);
    if let Some(o) = opts.get("--out") {
        paths.out_override = Some(user_dir(o)?);
    }
    if let Some(b) = opts.get("--build-dir") {
        paths.build_dir = user_dir(b)?;
    }
    let jobs = match opts.get("--jobs") {
        Some(j) => j.parse().map_err(|_| format!("bad --jobs `{j}`"))?,
        None => default_jobs(),
    };
    let built = build_linux(&paths, jobs, opts.flag("--force"))?;
    println!("kernel: {}", built.image.display());
    if let Some(s) = built.seconds {
        println!("build time: {s:.0} s ({jobs} jobs)");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn cmd_silo_iso(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--silo", "--kernel", "--out"], &[])?;
    let ws = workspace();
    let paths = LinuxPaths::new(&ws);
    let silo = opts
        .get("--silo")
        .map(str::to_string)
        .or_else(|| std::env::var("SILO_DIR").ok())
        .ok_or_else(|| format!("silo-iso needs --silo DIR (or SILO_DIR)\n\n{USAGE}"))?;
    let silo = user_path(&ws, &silo);
    let kernel = opts.get("--kernel").map(|k| user_path(&ws, k)).unwrap_or_else(|| paths.image());
    let out = match opts.get("--out") {
        Some(o) => user_dir(o)?,
        None => paths.iso(),
    };
    make_silo_iso(&silo, &kernel, &out)?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
