//! Build, run and test tasks: `cargo xtask <command>`.
//!
//! Commands:
//! * `run [--config FILE] [--memory SIZE] [--timeout SECS]` — build everything, write the
//!   firmware set to `target/fw/<config-stem>/`, boot it with the console on the terminal,
//!   stop after `hv: all domains stopped`.
//! * `firmware --out DIR [--config FILE]` — write the complete `-L` folder.
//! * `test [--sun-firmware DIR] [--silo DIR] [--case NAME] [--qemu-only]` — host unit
//!   tests, then every QEMU case of `tests/cases/`.
//! * `run --guest openboot --sun-firmware DIR [--disk ISO] [--reference]` — Sun's OpenBoot as
//!   the guest of our hypervisor (or Sun's complete reference chain).
//! * `linux [--out DIR]` — build the Linux 6.1 test guest (see `linux.rs`).
//! * `silo-iso --silo DIR [--kernel FILE] [--out FILE]` — the bootable SILO ISO.
//! * `measure-linux --sun-firmware DIR --silo DIR [--reference]` — instructions from reset to
//!   Linux's `Run /init` (see `measure.rs`).
//! * `bench` — instruction counts of the hot paths (`target/bench.json`).
//! * `qemu [--jobs N]` — build the patched `qemu-system-sparc64` (see `qemu.rs`).
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

mod bench;
mod linux;
mod measure;
mod qemu;

use qemu_sun4v::{elf_to_raw, FirmwareSet, Qemu, END_MARKER, PROM_BASE};
use tests::{Env, FirmwareSource, HypervisorBuild};

pub(crate) const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  run [--config FILE] [--memory SIZE] [--timeout SECS] [--disk ISO] [--qemu PATH]
        build the hypervisor, guests and config, write target/fw/<config-stem>/,
        boot it in QEMU with the console on this terminal; stops after
        `hv: all domains stopped` (or Ctrl-] on a terminal)
  run --linux [--kernel ELF] [--initrd CPIO] [--bootargs TEXT] [--timeout SECS]
        Linux 6.1 on our hypervisor through the project's guest firmware
        (configs/linux.toml; the kernel is built on first use, cached outside the checkout);
        --kernel/--initrd/--bootargs boot your own instead
  run --guest openboot --sun-firmware DIR [--reference] [--disk ISO] [--timeout SECS]
        Sun's OpenBoot (DIR/openboot.bin, DIR/nvram1) as domain 0 of our hypervisor;
        --reference: Sun's complete chain instead (DIR's reset.bin, q.bin, openboot.bin,
        nvram1, 1up-md.bin, 1up-hv.bin). --disk: the vdisk (-drive if=pflash), e.g. the
        SILO ISO; type `boot` at `ok`. Ctrl-] ends the run.
  firmware --out DIR [--config FILE] [--linux [--kernel ELF] [--initrd CPIO] [--bootargs TEXT]]
        write the complete -L folder (reset.bin, q.bin, openboot.bin, 1up-hv.bin,
        1up-md.bin, nvram1) for FILE; --linux: configs/linux.toml and the Linux boot
        image DIR/linux-boot.img for -drive if=pflash
  test [--sun-firmware DIR] [--silo DIR] [--linux-iso FILE] [--sun-md DIR] [--case NAME] [--qemu-only]
       [--qemu PATH | --stock-only]
        host unit tests (cargo test --workspace), then every QEMU case in tests/cases,
        on the stock qemu-system-sparc64 and on the patched one (`cargo xtask qemu`, built
        when missing; --qemu PATH: another binary; --stock-only: stock QEMU only)
        (--case: only the cases whose name contains NAME; --qemu-only: skip unit tests).
        The host tests that read Sun's sample MDs (1up/1g2p/1g32p *-hv.bin, *-md.bin)
        run with --sun-md DIR (or $SUN_MD_DIR) and are reported ignored without it.
        Cases with real guests need --sun-firmware (or $SUN_FIRMWARE) and --silo (or
        $SILO_DIR); with both, the Linux kernel and ISO are built (cached in ~/.cache/sun4v-hv/linux/)
        unless --linux-iso FILE (or $LINUX_ISO) is given. Linux through the project's guest
        firmware (linux-gfw) needs no Sun file: its kernel and boot image are built on
        first use (a few minutes) and cached.
  linux [--out DIR] [--build-dir DIR] [--jobs N] [--force]
        build the Linux 6.1 test guest from Debian's linux-source-6.1 with
        guests/linux/{config-fragment,init.c,initramfs.list}; writes DIR/image
        (default ~/.cache/sun4v-hv/linux/<version>-<hash>/image and initramfs.cpio;
        sources and objects in ~/.cache/sun4v-hv/linux/)
  silo-iso --silo DIR [--kernel FILE] [--out FILE]
        the bootable ISO: SILO's isofs.b/second.b from DIR, silo.conf, the kernel
        (default: the one `cargo xtask linux` wrote) as /boot/vmlinux, its initramfs.cpio
        as /boot/initrd.img; default linux-silo.iso beside the kernel
  measure-linux --sun-firmware DIR --silo DIR [--reference [--timer-100mhz]] [--iso FILE] [--timeout SECS]
        boot Linux with -icount shift=0,sleep=off, type `boot` at `ok`, and report the
        instruction count from reset to Linux's `Run /init` line
  measure-linux --guest-firmware [--bootargs TEXT] [--timeout SECS]
        the same count for Linux booted by the project's guest firmware (no Sun file)
  bench
        not implemented yet
  qemu [--jobs N]
        fetch Debian trixie's QEMU source (private apt configuration), apply
        qemu-sun4v/patches, build qemu-system-sparc64 (cached outside the checkout);
        the last line printed is the binary's path. `run` and `test` build it when
        missing; `--qemu PATH` (run, test) picks another binary for that role, and
        `test --stock-only` skips it

FILE defaults to configs/one-domain.toml; SIZE is like 256M, 1G or 0x10000000 (a bare
number is refused: it would mean MiB to QEMU and bytes elsewhere).";

/// Name of the custom target (the json file stem) and its spec file in the workspace.
const TARGET_NAME: &str = "sparc64-sun4v-none";
const TARGET_SPEC: &str = "platform/sparc64-sun4v-none.json";
const DEFAULT_CONFIG: &str = "configs/one-domain.toml";
/// Bare image names a configuration may use: name -> (package, bin).
/// Named guest images: (name, package, binary, `GUEST_MODE` the guest is built with).
const GUEST_IMAGES: &[(&str, &str, &str, &str)] = &[
    ("test-guest", "test-guest", "test-guest", "test"),
    // The test guest in benchmark mode (`cargo xtask bench`).
    ("bench-guest", "test-guest", "test-guest", "bench"),
    // The test guest that fails on purpose, to check the failure policies.
    ("fault-guest", "test-guest", "test-guest", "fault"),
    ("window-fault-guest", "test-guest", "test-guest", "fault-windows"),
    ("window-fast-fault-guest", "test-guest", "test-guest", "fault-windows-fast"),
    ("tl2-miss-fault-guest", "test-guest", "test-guest", "fault-tl2-miss"),
    // The project's guest firmware, which boots Linux from a boot image on the vdisk.
    ("guest-firmware", "guest-firmware", "guest-firmware", "firmware"),
];
/// The configuration of `run --linux` / `firmware --linux`.
const LINUX_CONFIG: &str = "configs/linux.toml";

pub(crate) fn workspace() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR at run time too; the compile-time value is the
    // fallback when the binary is started directly.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|d| d.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "run" => cmd_run(rest),
        "firmware" => cmd_firmware(rest),
        "test" => cmd_test(rest),
        "linux" => cmd_linux(rest),
        "silo-iso" => cmd_silo_iso(rest),
        "measure-linux" => measure::cmd_measure_linux(rest),
        "bench" => bench::cmd_bench(rest),
        "qemu" => qemu::cmd_qemu(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Minimal option parser: `--name value` pairs and `--flag`s.
pub(crate) struct Opts {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], with_value: &[&str], flags: &[&str]) -> Result<Opts, String> {
        let mut o = Opts {
            values: HashMap::new(),
            flags: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            if with_value.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("{name} needs a value"))?,
                };
                o.values.insert(name.to_string(), v);
            } else if flags.contains(&name) && inline.is_none() {
                o.flags.push(name.to_string());
            } else {
                return Err(format!("unexpected argument `{a}`\n\n{USAGE}"));
            }
        }
        Ok(o)
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}

/// A user-given path: relative to the current directory, or else to the workspace.
pub(crate) fn user_path(ws: &Path, p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() || p.exists() {
        return p;
    }
    let in_ws = ws.join(&p);
    if in_ws.exists() {
        in_ws
    } else {
        p
    }
}

fn config_path(ws: &Path, opts: &Opts) -> Result<PathBuf, String> {
    let p = match opts.get("--config") {
        Some(c) => user_path(ws, c),
        None => ws.join(DEFAULT_CONFIG),
    };
    if !p.is_file() {
        return Err(format!("configuration file {} not found", p.display()));
    }
    Ok(p.canonicalize().unwrap_or(p))
}

// ---------------------------------------------------------------------------------------
// Prerequisites

pub(crate) fn run_status(cmd: &mut Command) -> Result<(), String> {
    let desc = format!("{cmd:?}");
    let st = cmd
        .status()
        .map_err(|e| format!("cannot run {desc}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{desc} failed ({st})"))
    }
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|s| s.trim() == "0")
}

fn ensure_qemu() -> Result<(), String> {
    if qemu_sun4v::find_in_path("qemu-system-sparc64").is_some() {
        return Ok(());
    }
    let install = "apt-get install -y --no-install-recommends qemu-system-sparc";
    if !is_root() {
        return Err(format!(
            "qemu-system-sparc64 is not on PATH; install it with:\n  \
             sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive {install}"
        ));
    }
    eprintln!("xtask: qemu-system-sparc64 not found, installing qemu-system-sparc");
    run_status(Command::new("apt-get").arg("update"))?;
    run_status(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "qemu-system-sparc",
            ]),
    )?;
    if qemu_sun4v::find_in_path("qemu-system-sparc64").is_none() {
        return Err(
            "qemu-system-sparc was installed but qemu-system-sparc64 is still not on PATH".into(),
        );
    }
    Ok(())
}

fn ensure_rust_src() -> Result<(), String> {
    let out = match Command::new("rustup")
        .args(["component", "list", "--installed"])
        .stderr(Stdio::inherit())
        .output()
    {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!("xtask: warning: cannot ask rustup for its components; assuming rust-src is installed");
            return Ok(());
        }
    };
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        l.trim() == "rust-src"
            || l.trim().starts_with("rust-src-")
            || l.trim().starts_with("rust-src ")
    }) {
        return Ok(());
    }
    eprintln!("xtask: installing the rust-src component (needed by -Zbuild-std)");
    run_status(Command::new("rustup").args(["component", "add", "rust-src"]))
}

pub(crate) fn ensure_prerequisites(qemu: bool) -> Result<(), String> {
    if qemu {
        ensure_qemu()?;
    }
    ensure_rust_src()
}

// ---------------------------------------------------------------------------------------
// Building

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds the hypervisor, the guests and the configurations; caches everything.
pub(crate) struct Builder {
    ws: PathBuf,
    firmware: HashMap<HypervisorBuild, Result<Vec<u8>, String>>,
    guests: HashMap<(String, u64), Vec<u8>>,
    sets: HashMap<(PathBuf, HypervisorBuild), Result<(FirmwareSet, u64), String>>,
}

impl Builder {
    fn new(ws: PathBuf) -> Self {
        Builder {
            ws,
            firmware: HashMap::new(),
            guests: HashMap::new(),
            sets: HashMap::new(),
        }
    }

    /// The cargo target folder of a build (the `HV_NO_FAST` hypervisor has its own, so the
    /// two builds do not rebuild each other).
    fn target_dir(&self, hv: HypervisorBuild) -> PathBuf {
        self.ws.join("target").join(match hv {
            HypervisorBuild::Standard => "sparc64",
            HypervisorBuild::NoFast => "sparc64-no-fast",
        })
    }

    /// `cargo build --release -p PACKAGE` for the sparc64 target; returns the ELF of `bin`.
    /// `hv` selects the hypervisor build (`HV_NO_FAST`); guests use the standard one.
    pub(crate) fn build_sparc64(
        &self,
        package: &str,
        bin: &str,
        guest_base: Option<u64>,
        guest_mode: Option<&str>,
        hv: HypervisorBuild,
    ) -> Result<Vec<u8>, String> {
        let mut c = Command::new(cargo());
        c.current_dir(&self.ws)
            .args([
                "build",
                "--release",
                "-p",
                package,
                "--bin",
                bin,
                "--target",
            ])
            .arg(self.ws.join(TARGET_SPEC))
            .args([
                "-Zbuild-std=core",
                "-Zbuild-std-features=compiler-builtins-mem",
                "-Zjson-target-spec",
            ])
            .env("CARGO_TARGET_DIR", self.target_dir(hv))
            .env("RUSTC_BOOTSTRAP", "1")
            .stdin(Stdio::null());
        match hv {
            HypervisorBuild::Standard => c.env_remove("HV_NO_FAST"),
            HypervisorBuild::NoFast => c.env("HV_NO_FAST", "1"),
        };
        match guest_base {
            Some(b) => {
                c.env("GUEST_BASE", format!("{b:#x}"));
            }
            None => {
                c.env_remove("GUEST_BASE");
            }
        }
        match guest_mode {
            Some(m) => {
                c.env("GUEST_MODE", m);
            }
            None => {
                c.env_remove("GUEST_MODE");
            }
        }
        let what = match (guest_base, hv) {
            (Some(b), _) => format!("{package} (GUEST_BASE={b:#x})"),
            (None, HypervisorBuild::NoFast) => format!("{package} (HV_NO_FAST=1)"),
            (None, HypervisorBuild::Standard) => package.to_string(),
        };
        eprintln!("xtask: building {what} for {TARGET_NAME}");
        let st = c.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !st.success() {
            return Err(format!("building {what} for {TARGET_NAME} failed ({st})"));
        }
        let elf = self
            .target_dir(hv)
            .join(TARGET_NAME)
            .join("release")
            .join(bin);
        std::fs::read(&elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))
    }

    /// The raw hypervisor image (linked at the PROM base).
    fn firmware_raw(&mut self, hv: HypervisorBuild) -> Result<Vec<u8>, String> {
        if !self.firmware.contains_key(&hv) {
            let r = self
                .build_sparc64("firmware", "firmware", None, None, hv)
                .and_then(|elf| {
                    elf_to_raw(&elf, PROM_BASE).map_err(|e| format!("firmware ELF: {e}"))
                });
            self.firmware.insert(hv, r);
        }
        self.firmware[&hv].clone()
    }

    fn guest_raw(&mut self, name: &str, realbase: u64) -> Result<Vec<u8>, String> {
        let key = (name.to_string(), realbase);
        if let Some(g) = self.guests.get(&key) {
            return Ok(g.clone());
        }
        let &(_, package, bin, mode) = GUEST_IMAGES
            .iter()
            .find(|(n, _, _, _)| *n == name)
            .ok_or_else(|| {
                format!(
                    "unknown image name `{name}` (known: {}; a path needs a `/` or a `.`)",
                    GUEST_IMAGES
                        .iter()
                        .map(|g| g.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        let elf = self.build_sparc64(
            package,
            bin,
            Some(realbase),
            Some(mode),
            HypervisorBuild::Standard,
        )?;
        let raw = elf_to_raw(&elf, realbase).map_err(|e| format!("{name} ELF: {e}"))?;
        self.guests.insert(key, raw.clone());
        Ok(raw)
    }

    fn build_set(
        &mut self,
        config: &Path,
        hv: HypervisorBuild,
    ) -> Result<(FirmwareSet, u64), String> {
        let raw = self.firmware_raw(hv)?;
        let config_dir = config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut resolver = Resolver {
            builder: self,
            config_dir,
        };
        // ldom-config's errors name the file and line themselves.
        let build = ldom_config::build(config, &mut resolver).map_err(|e| e.to_string())?;
        let set = FirmwareSet::from_build(&raw, &build)?;
        Ok((set, build.ram_size))
    }
}

impl FirmwareSource for Builder {
    fn firmware_set(
        &mut self,
        config: &Path,
        hv: HypervisorBuild,
    ) -> Result<(FirmwareSet, u64), String> {
        let path = config
            .canonicalize()
            .unwrap_or_else(|_| config.to_path_buf());
        if let Some(r) = self.sets.get(&(path.clone(), hv)) {
            return r.clone();
        }
        let r = self.build_set(&path, hv);
        self.sets.insert((path, hv), r.clone());
        r
    }
}

/// Resolves the images of a configuration: paths (with `/` or `.`) relative to the config
/// file's folder; bare names are workspace guests built for the domain's realbase.
struct Resolver<'a> {
    builder: &'a mut Builder,
    config_dir: PathBuf,
}

impl ldom_config::ImageResolver for Resolver<'_> {
    fn resolve(&mut self, name: &str, realbase: u64) -> Result<Vec<u8>, String> {
        if name.contains('/') || name.contains('.') {
            let p = self.config_dir.join(name);
            std::fs::read(&p).map_err(|e| format!("cannot read image {}: {e}", p.display()))
        } else {
            self.builder.guest_raw(name, realbase)
        }
    }
}

fn print_written(dir: &Path, written: &[qemu_sun4v::WrittenFile]) {
    println!("wrote {}:", dir.display());
    for w in written {
        println!("  {:<13} {:>8} bytes ({:#x})", w.name, w.size, w.size);
    }
}

// ---------------------------------------------------------------------------------------
// Commands

/// `--sun-firmware DIR` or `$SUN_FIRMWARE`, checked.
fn sun_firmware_dir(ws: &Path, opts: &Opts) -> Result<Option<PathBuf>, String> {
    env_dir(ws, opts, "--sun-firmware", "SUN_FIRMWARE")
}

/// `--silo DIR` or `$SILO_DIR`, checked.
fn silo_dir(ws: &Path, opts: &Opts) -> Result<Option<PathBuf>, String> {
    env_dir(ws, opts, "--silo", "SILO_DIR")
}

fn env_dir(ws: &Path, opts: &Opts, name: &str, var: &str) -> Result<Option<PathBuf>, String> {
    let v = match opts.get(name) {
        Some(v) => v.to_string(),
        None => match std::env::var(var) {
            Ok(v) if !v.is_empty() => v,
            _ => return Ok(None),
        },
    };
    let p = user_path(ws, &v);
    if p.is_dir() {
        Ok(Some(p.canonicalize().unwrap_or(p)))
    } else {
        Err(format!(
            "{name} (or ${var}): {} is not a directory",
            p.display()
        ))
    }
}

/// Sun's complete reference set in `dir` (all six files must be there).
fn check_sun_set(dir: &Path) -> Result<(), String> {
    FirmwareSet::read_from(dir).map(|_| ())
}

/// Our hypervisor with Sun's `openboot.bin` as domain 0, and Sun's `nvram1`; written to
/// `target/fw/openboot/`. Returns the folder and the RAM size.
fn openboot_on_ours(b: &mut Builder, sun: &Path) -> Result<(PathBuf, u64), String> {
    let dir = b.ws.join("target").join("fw").join("openboot");
    let config = b.ws.join("target").join("fw").join("openboot.ldom.toml");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(
        &config,
        tests::single_guest_config(&sun.join("openboot.bin")),
    )
    .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let (mut set, ram) = b.firmware_set(&config, HypervisorBuild::Standard)?;
    let nvram = sun.join("nvram1");
    set.nvram =
        Some(std::fs::read(&nvram).map_err(|e| format!("cannot read {}: {e}", nvram.display()))?);
    let written = set.write_to(&dir)?;
    print_written(&dir, &written);
    Ok((dir, ram))
}

fn cmd_run(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(
        args,
        &[
            "--config",
            "--memory",
            "--timeout",
            "--guest",
            "--sun-firmware",
            "--disk",
            "--kernel",
            "--initrd",
            "--bootargs",
            "--qemu",
        ],
        &["--reference", "--linux"],
    )?;
    let ws = workspace();
    ensure_prerequisites(true)?;
    if opts.flag("--linux") {
        return run_linux(&ws, &opts);
    }
    let disk = opts
        .get("--disk")
        .map(|d| {
            let p = user_path(&ws, d);
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!("--disk: {} not found", p.display()))
            }
        })
        .transpose()?;
    if opts.get("--guest").is_some() || opts.flag("--reference") {
        return run_openboot(&ws, &opts, disk);
    }
    let config = config_path(&ws, &opts)?;
    let mut b = Builder::new(ws.clone());
    let (set, ram) = b.firmware_set(&config, HypervisorBuild::Standard)?;
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let dir = ws.join("target").join("fw").join(stem);
    let written = set.write_to(&dir)?;
    print_written(&dir, &written);
    let (q, timeout) = interactive_qemu(&dir, &opts, ram, disk.as_deref())?;
    eprintln!("xtask: {}", q.command_line());
    eprintln!("xtask: the run stops after `{END_MARKER}`; Ctrl-] stops QEMU earlier");
    run_interactive(&q, &[END_MARKER], timeout)
}

/// The firmware set of `configs/linux.toml` and the Linux boot image (built on first use).
pub(crate) fn linux_set(ws: &Path, dir: &Path) -> Result<(PathBuf, u64), String> {
    linux_set_with(ws, dir, &BootChoice::default())
}

/// A kernel, initramfs and command line of the user's (`--kernel`, `--initrd`,
/// `--bootargs`) instead of the project's Linux guest.
#[derive(Default)]
pub(crate) struct BootChoice {
    kernel: Option<PathBuf>,
    initrd: Option<PathBuf>,
    bootargs: Option<String>,
}

impl BootChoice {
    /// The project's kernel and initramfs with another command line.
    pub(crate) fn with_bootargs(bootargs: &str) -> BootChoice {
        BootChoice { bootargs: Some(bootargs.to_string()), ..BootChoice::default() }
    }
    fn from_opts(ws: &Path, opts: &Opts) -> BootChoice {
        BootChoice {
            kernel: opts.get("--kernel").map(|k| user_path(ws, k)),
            initrd: opts.get("--initrd").map(|k| user_path(ws, k)),
            bootargs: opts.get("--bootargs").map(str::to_string),
        }
    }
}

pub(crate) fn linux_set_with(ws: &Path, dir: &Path, choice: &BootChoice) -> Result<(PathBuf, u64), String> {
    let paths = linux::LinuxPaths::new(ws);
    let boot = if choice.kernel.is_none() && choice.initrd.is_none() && choice.bootargs.is_none() {
        eprintln!("xtask: the Linux guest (cached in {})", paths.build_dir.display());
        linux::ensure_boot_image(&paths, linux::default_jobs())?
    } else {
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let kernel = match &choice.kernel {
            Some(k) => read(k)?,
            None => read(&linux::build_linux(&paths, linux::default_jobs(), false)?.image)?,
        };
        let initrd = match &choice.initrd {
            Some(i) => Some(read(i)?),
            None if choice.kernel.is_some() => None,
            None => Some(read(&paths.initramfs())?),
        };
        let bootargs = choice.bootargs.as_deref().unwrap_or(linux::DEFAULT_BOOTARGS);
        let img = dir.join("custom-boot.img");
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        std::fs::write(&img, guest_firmware::image::boot_image(&kernel, initrd.as_deref(), bootargs))
            .map_err(|e| format!("cannot write {}: {e}", img.display()))?;
        img
    };
    let mut b = Builder::new(ws.to_path_buf());
    let (set, ram) = b.firmware_set(&ws.join(LINUX_CONFIG), HypervisorBuild::Standard)?;
    let written = set.write_to(dir)?;
    print_written(dir, &written);
    let img = dir.join("linux-boot.img");
    std::fs::copy(&boot, &img).map_err(|e| format!("cannot copy {}: {e}", boot.display()))?;
    if boot.starts_with(dir) && boot != img {
        let _ = std::fs::remove_file(&boot);
    }
    println!("  linux-boot.img (kernel, initramfs, command line; from {})", boot.display());
    Ok((img, ram))
}

/// `run --linux`: Linux through the guest firmware.
fn run_linux(ws: &Path, opts: &Opts) -> Result<ExitCode, String> {
    if opts.get("--config").is_some() || opts.get("--disk").is_some() || opts.get("--guest").is_some() {
        return Err("--linux uses configs/linux.toml and its own boot image: drop --config/--disk/--guest".into());
    }
    let dir = ws.join("target").join("fw").join("linux");
    let (img, ram) = linux_set_with(ws, &dir, &BootChoice::from_opts(ws, opts))?;
    let (q, timeout) = interactive_qemu(&dir, opts, ram, Some(&img))?;
    eprintln!("xtask: {}", q.command_line());
    eprintln!("xtask: the run stops after `{END_MARKER}`; Ctrl-] stops QEMU earlier");
    run_interactive(&q, &[END_MARKER], timeout)
}

/// `run --guest openboot`: Sun's OpenBoot on our hypervisor, or Sun's reference chain.
fn run_openboot(ws: &Path, opts: &Opts, disk: Option<PathBuf>) -> Result<ExitCode, String> {
    match opts.get("--guest") {
        Some("openboot") | None => {}
        Some(g) => return Err(format!("unknown --guest `{g}` (known: openboot)")),
    }
    if opts.get("--config").is_some() {
        return Err("--guest openboot generates its configuration: drop --config".into());
    }
    let sun = sun_firmware_dir(ws, opts)?
        .ok_or("--guest openboot needs --sun-firmware DIR (or $SUN_FIRMWARE)")?;
    let reference = opts.flag("--reference");
    let (dir, ram) = if reference {
        check_sun_set(&sun)?;
        (sun.clone(), 256 << 20)
    } else {
        let mut b = Builder::new(ws.to_path_buf());
        openboot_on_ours(&mut b, &sun)?
    };
    let (q, timeout) = interactive_qemu(&dir, opts, ram, disk.as_deref())?;
    eprintln!("xtask: {}", q.command_line());
    eprintln!(
        "xtask: {}; type at OpenBoot's `ok` (e.g. `banner`, `boot`); Ctrl-] stops QEMU",
        if reference {
            "Sun's reference chain (reset.bin, q.bin, openboot.bin)"
        } else {
            "our hypervisor with Sun's openboot.bin as domain 0"
        }
    );
    let markers: &[&str] = if reference { &[] } else { &[END_MARKER] };
    run_interactive(&q, markers, timeout)
}

/// Runs QEMU on the terminal until an end marker, Ctrl-], or the `--timeout` the user gave;
/// any of those is a success, QEMU dying is not.
fn run_interactive(q: &Qemu, markers: &[&str], timeout: Option<Duration>) -> Result<ExitCode, String> {
    let o = q.run_interactive(markers, timeout).map_err(|e| e.to_string())?;
    eprintln!("\nxtask: {} after {:.1} s", o.ended_by, o.elapsed.as_secs_f64());
    Ok(match o.ended_by {
        qemu_sun4v::EndedBy::EndMarker(_) | qemu_sun4v::EndedBy::Quit | qemu_sun4v::EndedBy::Exited(Some(0)) => {
            ExitCode::SUCCESS
        }
        qemu_sun4v::EndedBy::Timeout if timeout.is_some() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

/// The QEMU command of `cargo xtask run`: `--memory` (default: the configuration's RAM),
/// `--timeout`, and the disk, if any.
fn interactive_qemu(
    dir: &Path,
    opts: &Opts,
    ram: u64,
    disk: Option<&Path>,
) -> Result<(Qemu, Option<Duration>), String> {
    let memory = match opts.get("--memory") {
        Some(m) => ldom_config::parse_size(m).map_err(|e| format!("--memory: {e}"))?,
        None => ram,
    };
    let timeout = opts
        .get("--timeout")
        .map(|t| {
            t.parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| format!("bad --timeout `{t}`"))
        })
        .transpose()?;
    // The patched QEMU (built when missing), or `--qemu PATH`.
    let mut q = Qemu::new(dir)
        .memory(memory)
        .binary(qemu::patched_or_given(&workspace(), opts)?);
    if let Some(d) = disk {
        q = q.drive(d);
    }
    Ok((q, timeout))
}

fn cmd_firmware(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--out", "--config", "--kernel", "--initrd", "--bootargs"], &["--linux"])?;
    let out = opts
        .get("--out")
        .ok_or_else(|| format!("firmware needs --out DIR\n\n{USAGE}"))?;
    let ws = workspace();
    ensure_prerequisites(false)?;
    if opts.flag("--linux") {
        if opts.get("--config").is_some() {
            return Err("--linux uses configs/linux.toml: drop --config".into());
        }
        let dir = user_dir(out)?;
        let (img, ram) = linux_set_with(&ws, &dir, &BootChoice::from_opts(&ws, &opts))?;
        println!("run it with:\n  {}", Qemu::new(&dir).memory(ram).drive(&img).command_line());
        return Ok(ExitCode::SUCCESS);
    }
    let config = config_path(&ws, &opts)?;
    let mut b = Builder::new(ws);
    let (set, ram) = b.firmware_set(&config, HypervisorBuild::Standard)?;
    let dir = PathBuf::from(out);
    let written = set.write_to(&dir)?;
    print_written(&dir, &written);
    println!(
        "run it with:\n  {}",
        Qemu::new(&dir).memory(ram).command_line()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_test(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(
        args,
        &["--sun-firmware", "--silo", "--case", "--linux-iso", "--sun-md", "--qemu"],
        &["--qemu-only", "--stock-only"],
    )?;
    let ws = workspace();
    ensure_prerequisites(true)?;
    let mut env = Env {
        workspace: ws.clone(),
        out_dir: ws.join("target").join("fw").join("cases"),
        sun_firmware: sun_firmware_dir(&ws, &opts)?,
        silo: silo_dir(&ws, &opts)?,
        linux_iso: None,
        linux_boot: None,
        qemu: None,
    };
    let iso_given = opts
        .get("--linux-iso")
        .map(str::to_string)
        .or_else(|| std::env::var("LINUX_ISO").ok().filter(|v| !v.is_empty()));

    // 1. Host unit tests; the ones that read Sun's sample MDs (which the project may not
    // ship) are ignored unless their folder is given.
    let mut ok = true;
    if !opts.flag("--qemu-only") {
        let sun_md = env_dir(&ws, &opts, "--sun-md", "SUN_MD_DIR")?;
        let mut c = Command::new(cargo());
        c.current_dir(&ws)
            .args(["test", "--workspace"])
            .env_remove("RUSTC_BOOTSTRAP")
            .stdin(Stdio::null());
        match &sun_md {
            Some(d) => {
                eprintln!("xtask: running host unit tests: cargo test --workspace -- --include-ignored (SUN_MD_DIR={})", d.display());
                c.env("SUN_MD_DIR", d).args(["--", "--include-ignored"]);
            }
            None => {
                eprintln!("xtask: running host unit tests: cargo test --workspace");
                eprintln!("xtask: the tests that read Sun's sample MDs are ignored (give their folder with --sun-md DIR or $SUN_MD_DIR)");
                c.env_remove("SUN_MD_DIR");
            }
        }
        let st = c
            .status()
            .map_err(|e| format!("cannot run cargo test: {e}"))?;
        if !st.success() {
            ok = false;
            eprintln!("xtask: host unit tests FAILED ({st})");
        }
    }

    // 2. QEMU cases.
    let cases_dir = ws.join("tests").join("cases");
    let mut cases = match tests::load_cases(&cases_dir) {
        Ok(c) => c,
        Err(e) => {
            println!("error: {e}");
            println!("0 passed, 1 failed");
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(f) = opts.get("--case") {
        cases.retain(|c| c.name.contains(f));
        if cases.is_empty() {
            println!("error: no case name contains `{f}`");
            println!("0 passed, 1 failed");
            return Ok(ExitCode::FAILURE);
        }
    }
    // The Linux ISO: given, or built when a selected case needs it and the Sun files and
    // SILO are there (a failed build fails those cases).
    if let Some(iso) = iso_given {
        let p = user_path(&ws, &iso);
        env.linux_iso = Some(if p.is_file() {
            Ok(p)
        } else {
            Err(format!("--linux-iso: {} not found", p.display()))
        });
    } else if cases
        .iter()
        .any(|c| c.requires.contains(&tests::Requirement::Linux))
    {
        if let (Some(_), Some(silo)) = (&env.sun_firmware, &env.silo) {
            eprintln!("xtask: building the Linux guest and its SILO ISO (cached in ~/.cache/sun4v-hv/linux/)");
            let paths = linux::LinuxPaths::new(&ws);
            let r = linux::ensure_linux_iso(&paths, silo, linux::default_jobs());
            if let Err(e) = &r {
                eprintln!("xtask: the Linux ISO: {e}");
            }
            env.linux_iso = Some(r);
        }
    }
    // The Linux boot image of the guest-firmware cases (no Sun file needed): built (or
    // taken from the cache) when a selected case needs it; a failed build fails those cases.
    if cases
        .iter()
        .any(|c| c.requires.contains(&tests::Requirement::LinuxBoot))
    {
        eprintln!("xtask: building the Linux guest and its boot image (cached outside the checkout)");
        let r = linux::ensure_boot_image(&linux::LinuxPaths::new(&ws), linux::default_jobs());
        if let Err(e) = &r {
            eprintln!("xtask: the Linux boot image: {e}");
        }
        env.linux_boot = Some(r);
    }
    // Build every needed firmware set first, so build output does not interleave with
    // the test lines; errors are reported by the cases that need the set.
    let mut builder = Builder::new(ws.clone());
    let mut configs: Vec<(PathBuf, HypervisorBuild)> = cases
        .iter()
        .filter(|c| {
            c.firmware_dir.is_none()
                && c.guest_image.is_none()
                && c.requires.iter().all(|r| match r {
                    tests::Requirement::SunFirmware => env.sun_firmware.is_some(),
                    tests::Requirement::Silo => env.silo.is_some(),
                    tests::Requirement::Linux => env.linux_iso.is_some(),
                    tests::Requirement::LinuxBoot => env.linux_boot.is_some(),
                    tests::Requirement::QemuSun4v => true,
                })
        })
        .map(|c| (ws.join(&c.config), c.hypervisor))
        .collect();
    configs.sort_by(|a, b| a.0.cmp(&b.0));
    configs.dedup();
    for (c, hv) in &configs {
        if let Err(e) = builder.firmware_set(c, *hv) {
            eprintln!("xtask: {e}");
        }
    }
    // Cases with `guest_image` generate their configuration; build the hypervisor now.
    for c in &cases {
        if c.guest_image.is_some()
            && c.requires.iter().all(|r| match r {
                tests::Requirement::SunFirmware => env.sun_firmware.is_some(),
                tests::Requirement::Silo => env.silo.is_some(),
                tests::Requirement::Linux => env.linux_iso.is_some(),
                tests::Requirement::LinuxBoot => env.linux_boot.is_some(),
                tests::Requirement::QemuSun4v => true,
            })
        {
            if let Err(e) = builder.firmware_raw(c.hypervisor) {
                eprintln!("xtask: {e}");
            }
        }
    }
    // The patched QEMU (built when missing, or --qemu PATH) and the check image, before
    // the first case runs.
    let patched = (!opts.flag("--stock-only")).then(|| {
        qemu::patched_or_given(&ws, &opts)
            .and_then(|bin| qemu::write_check_image(&builder, &ws).map(|_| bin))
    });
    // Every case on the stock QEMU, then every case on the patched one.
    let mut summary = tests::run_all(&cases, &env, &mut builder, &mut std::io::stdout());
    match patched {
        None => {}
        Some(Ok(bin)) => {
            println!("\nthe same cases on the patched QEMU: {}", bin.display());
            env.qemu = Some(bin);
            let s = tests::run_all(&cases, &env, &mut builder, &mut std::io::stdout());
            summary.passed += s.passed;
            summary.failed += s.failed;
            summary.skipped += s.skipped;
            println!("\nboth QEMUs:\n{summary}");
        }
        Some(Err(e)) => {
            println!("\nthe patched QEMU: FAILED\n  {}", e.replace('\n', "\n  "));
            summary.failed += 1;
            println!("\nboth QEMUs:\n{summary}");
        }
    }
    if summary.failed > 0 {
        ok = false;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn cmd_linux(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--out", "--build-dir", "--jobs"], &["--force"])?;
    let ws = workspace();
    let mut paths = linux::LinuxPaths::new(&ws);
    if let Some(o) = opts.get("--out") {
        paths.out_override = Some(user_dir(o)?);
    }
    if let Some(b) = opts.get("--build-dir") {
        paths.build_dir = user_dir(b)?;
    }
    let jobs = match opts.get("--jobs") {
        Some(j) => j.parse().map_err(|_| format!("bad --jobs `{j}`"))?,
        None => linux::default_jobs(),
    };
    let built = linux::build_linux(&paths, jobs, opts.flag("--force"))?;
    println!("kernel: {}", built.image.display());
    if let Some(s) = built.seconds {
        println!("build time: {s:.0} s ({jobs} jobs)");
    }
    Ok(ExitCode::SUCCESS)
}

/// A folder given on the command line, made absolute (it need not exist yet).
fn user_dir(p: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(p);
    Ok(if p.is_absolute() {
        p
    } else {
        std::env::current_dir()
            .map_err(|e| format!("no current directory: {e}"))?
            .join(p)
    })
}

fn cmd_silo_iso(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--silo", "--kernel", "--out"], &[])?;
    let ws = workspace();
    let paths = linux::LinuxPaths::new(&ws);
    let silo = opts
        .get("--silo")
        .map(str::to_string)
        .or_else(|| std::env::var("SILO_DIR").ok())
        .ok_or_else(|| format!("silo-iso needs --silo DIR (or SILO_DIR)\n\n{USAGE}"))?;
    let silo = user_path(&ws, &silo);
    let kernel = opts
        .get("--kernel")
        .map(|k| user_path(&ws, k))
        .unwrap_or_else(|| paths.image());
    let out = match opts.get("--out") {
        Some(o) => user_dir(o)?,
        None => paths.iso(),
    };
    linux::make_silo_iso(&silo, &kernel, &out)?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
