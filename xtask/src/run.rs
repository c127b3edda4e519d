//! `cargo xtask run`: a configuration, Linux or Sun's OpenBoot, with the console on the
//! terminal.

#[allow(unused_imports)]
use crate::*;
use qemu_sun4v::{Qemu, END_MARKER};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tests::{FirmwareSource, HypervisorBuild};

/// Our hypervisor with Sun's `openboot.bin` as domain 0 (with `vcpus` vCPUs on strands
/// 0..`vcpus`-1), and Sun's `nvram1`; written to `target/fw/openboot/`, the generated
/// configuration to `target/fw/openboot.ldom.toml`. Returns the folder, the RAM size and
/// the configuration.
pub(crate) fn openboot_on_ours(b: &mut Builder, sun: &Path, vcpus: u32) -> Result<(PathBuf, u64, PathBuf), String> {
    let dir = b.ws.join("target").join("fw").join("openboot");
    let config = b.ws.join("target").join("fw").join("openboot.ldom.toml");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(&config, tests::single_guest_config(&sun.join("openboot.bin"), vcpus))
        .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let (mut set, ram) = b.firmware_set(&config, HypervisorBuild::Standard)?;
    let nvram = sun.join("nvram1");
    set.nvram = Some(std::fs::read(&nvram).map_err(|e| format!("cannot read {}: {e}", nvram.display()))?);
    let written = set.write_to(&dir)?;
    print_written(&dir, &written);
    Ok((dir, ram, config))
}

pub(crate) fn cmd_run(args: &[String]) -> Result<ExitCode, String> {
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
            "--vcpus",
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
    if opts.get("--vcpus").is_some() {
        return Err("--vcpus is for --guest openboot (a configuration names its own vCPUs)".into());
    }
    let config = config_path(&ws, &opts)?;
    let mut b = Builder::new(ws.clone());
    let (set, ram) = b.firmware_set(&config, HypervisorBuild::Standard)?;
    let stem = config.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "config".into());
    let dir = ws.join("target").join("fw").join(stem);
    let written = set.write_to(&dir)?;
    print_written(&dir, &written);
    let (q, timeout, domains) = interactive_qemu(&dir, &opts, ram, disk.as_deref(), Some(&config))?;
    let q = with_ra2pa(q, &opts)?;
    eprintln!("xtask: {}", q.command_line());
    eprintln!("xtask: the run stops after `{END_MARKER}`; Ctrl-] stops QEMU earlier");
    run_interactive(&q, &[END_MARKER, BOOT_STOPPED], timeout, &domains)
}

/// The line after which the hypervisor does nothing more: it refused the configuration
/// (e.g. too few strands: the line before says which `-smp`). The run ends there, failed.
const BOOT_STOPPED: &str = "hv: boot stopped";

/// The configuration of `run --linux` / `firmware --linux` (unless `--config`).
pub(crate) const LINUX_CONFIG: &str = "configs/linux.toml";

/// The firmware set of `configs/linux.toml` and the Linux boot image (built on first use).
pub(crate) fn linux_set(ws: &Path, dir: &Path) -> Result<(PathBuf, u64), String> {
    linux_set_with(ws, dir, &BootChoice::default())
}

/// A kernel, initramfs and command line of the user's (`--kernel`, `--initrd`,
/// `--bootargs`) instead of the project's Linux guest, and another configuration whose
/// domains run the guest firmware (`--config`, e.g. `configs/linux-smp.toml`).
#[derive(Default)]
pub(crate) struct BootChoice {
    config: Option<PathBuf>,
    kernel: Option<PathBuf>,
    initrd: Option<PathBuf>,
    bootargs: Option<String>,
}

impl BootChoice {
    /// The project's kernel and initramfs with another command line.
    pub(crate) fn with_bootargs(bootargs: &str) -> BootChoice {
        BootChoice { bootargs: Some(bootargs.to_string()), ..BootChoice::default() }
    }
    /// The configuration: `--config`, else `configs/linux.toml`.
    pub(crate) fn config(&self, ws: &Path) -> PathBuf {
        self.config.clone().unwrap_or_else(|| ws.join(LINUX_CONFIG))
    }
    pub(crate) fn from_opts(ws: &Path, opts: &Opts) -> BootChoice {
        BootChoice {
            config: opts.get("--config").map(|c| user_path(ws, c)),
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
    let (set, ram) = b.firmware_set(&choice.config(ws), HypervisorBuild::Standard)?;
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
pub(crate) fn run_linux(ws: &Path, opts: &Opts) -> Result<ExitCode, String> {
    if opts.get("--disk").is_some() || opts.get("--guest").is_some() || opts.get("--vcpus").is_some() {
        return Err("--linux attaches its own boot image: drop --disk/--guest/--vcpus".into());
    }
    let dir = ws.join("target").join("fw").join("linux");
    let choice = BootChoice::from_opts(ws, opts);
    let (img, ram) = linux_set_with(ws, &dir, &choice)?;
    let (q, timeout, domains) = interactive_qemu(&dir, opts, ram, Some(&img), Some(&choice.config(ws)))?;
    let q = with_ra2pa(q, opts)?;
    eprintln!("xtask: {}", q.command_line());
    eprintln!("xtask: the run stops after `{END_MARKER}`; Ctrl-] stops QEMU earlier");
    run_interactive(&q, &[END_MARKER, BOOT_STOPPED], timeout, &domains)
}

/// `run --guest openboot`: Sun's OpenBoot on our hypervisor, or Sun's reference chain.
pub(crate) fn run_openboot(ws: &Path, opts: &Opts, disk: Option<PathBuf>) -> Result<ExitCode, String> {
    match opts.get("--guest") {
        Some("openboot") | None => {}
        Some(g) => return Err(format!("unknown --guest `{g}` (known: openboot)")),
    }
    if opts.get("--config").is_some() {
        return Err("--guest openboot generates its configuration: drop --config".into());
    }
    let sun = sun_firmware_dir(ws, opts)?.ok_or("--guest openboot needs --sun-firmware DIR (or $SUN_FIRMWARE)")?;
    let reference = opts.flag("--reference");
    let vcpus = match opts.get("--vcpus") {
        None => 1,
        Some(_) if reference => return Err("--vcpus is for our hypervisor: drop --reference".into()),
        Some(v) => match v.parse::<u32>() {
            Ok(n @ 1..=32) => n,
            _ => return Err(format!("--vcpus: expected 1 to 32, not `{v}`")),
        },
    };
    let (dir, ram, config) = if reference {
        check_sun_set(&sun)?;
        (sun.clone(), 256 << 20, None)
    } else {
        let mut b = Builder::new(ws.to_path_buf());
        let (dir, ram, config) = openboot_on_ours(&mut b, &sun, vcpus)?;
        // The configuration gives QEMU its -smp; one vCPU runs as Sun's 1up (no -smp).
        (dir, ram, (vcpus > 1).then_some(config))
    };
    let (mut q, timeout, domains) = interactive_qemu(&dir, opts, ram, disk.as_deref(), config.as_deref())?;
    if !reference {
        q = with_ra2pa(q, opts)?;
    }
    eprintln!("xtask: {}", q.command_line());
    eprintln!(
        "xtask: {}; type at OpenBoot's `ok` (e.g. `banner`, `boot`); Ctrl-] stops QEMU",
        if reference {
            "Sun's reference chain (reset.bin, q.bin, openboot.bin)"
        } else {
            "our hypervisor with Sun's openboot.bin as domain 0"
        }
    );
    let markers: &[&str] = if reference { &[] } else { &[END_MARKER, BOOT_STOPPED] };
    run_interactive(&q, markers, timeout, &domains)
}

/// Runs QEMU on the terminal until an end marker, Ctrl-], or the `--timeout` the user gave;
/// any of those is a success, QEMU dying is not. With several `domains`, each domain's
/// console is also on its own socket in `target/run/` (docs/consoles.md).
pub(crate) fn run_interactive(
    q: &Qemu,
    markers: &[&str],
    timeout: Option<Duration>,
    domains: &[String],
) -> Result<ExitCode, String> {
    let sockets = if domains.len() > 1 {
        let dir = workspace().join("target").join("run");
        match qemu_sun4v::ConsoleSockets::bind(&dir, domains) {
            Ok(s) => {
                eprintln!("xtask: {} domains share the console; each line is labelled `NAME: `.", domains.len());
                eprintln!(
                    "xtask: input goes to {} first; Ctrl-E then 0-{} switches to that domain, \
                     Ctrl-E n to the next, Ctrl-E ? lists them, Ctrl-E Ctrl-E types a Ctrl-E",
                    domains[0],
                    domains.len() - 1
                );
                for (name, path) in s.sockets() {
                    eprintln!("xtask: console of {name}: {} (e.g. socat - UNIX-CONNECT:PATH)", path.display());
                }
                Some(s)
            }
            Err(e) => {
                eprintln!("xtask: no console sockets: {e}");
                None
            }
        }
    } else {
        None
    };
    let o = q.run_interactive_with(markers, timeout, sockets.as_ref()).map_err(|e| e.to_string())?;
    eprintln!("\nxtask: {} after {:.1} s", o.ended_by, o.elapsed.as_secs_f64());
    Ok(match o.ended_by {
        qemu_sun4v::EndedBy::EndMarker(m) if m == BOOT_STOPPED => ExitCode::FAILURE,
        qemu_sun4v::EndedBy::EndMarker(_) | qemu_sun4v::EndedBy::Quit | qemu_sun4v::EndedBy::Exited(Some(0)) => {
            ExitCode::SUCCESS
        }
        qemu_sun4v::EndedBy::Timeout if timeout.is_some() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

/// The QEMU command of `cargo xtask run`: `--memory` (default: the configuration's RAM),
/// `--timeout`, the disk, if any, and `-smp` with the strands `config` uses (not on the
/// stock QEMU). Also returns the configuration's domains (none without `config`).
pub(crate) fn interactive_qemu(
    dir: &Path,
    opts: &Opts,
    ram: u64,
    disk: Option<&Path>,
    config: Option<&Path>,
) -> Result<(Qemu, Option<Duration>, Vec<String>), String> {
    let memory = match opts.get("--memory") {
        Some(m) => ldom_config::parse_size(m).map_err(|e| format!("--memory: {e}"))?,
        None => ram,
    };
    let timeout = opts
        .get("--timeout")
        .map(|t| t.parse::<u64>().map(Duration::from_secs).map_err(|_| format!("bad --timeout `{t}`")))
        .transpose()?;
    // The patched QEMU (built when missing), or `--qemu PATH`.
    let binary = qemu::patched_or_given(&workspace(), opts)?;
    let config = config.map(|c| ldom_config::load(c).map_err(|e| e.to_string())).transpose()?;
    let strands = config.as_ref().map_or(1, ldom_config::Config::qemu_strands);
    let domains = config.iter().flat_map(|c| c.domains.iter().map(|d| d.name.clone())).collect();
    let stock = is_stock_qemu(&binary);
    if stock && strands > 1 {
        eprintln!("xtask: {} is the stock QEMU (one strand); the configuration uses {strands}", binary.display());
    }
    let mut q = Qemu::new(dir).memory(memory).binary(&binary);
    if strands > 1 && !stock {
        q = q.smp(strands);
    }
    if let Some(d) = disk {
        q = q.drive(d);
    }
    Ok((q, timeout, domains))
}

/// Our hypervisor on the patched QEMU translates guest real addresses (`-machine
/// ra2pa=on`: real TLB entries and partition IDs, docs/security.md); the stock QEMU has no
/// such option.
fn with_ra2pa(q: Qemu, opts: &Opts) -> Result<Qemu, String> {
    let binary = qemu::patched_or_given(&workspace(), opts)?;
    Ok(if is_stock_qemu(&binary) { q } else { q.extra_arg("-machine").extra_arg("ra2pa=on") })
}

/// Whether `binary` is the stock `qemu-system-sparc64` on `PATH` (one strand: never `-smp`).
pub(crate) fn is_stock_qemu(binary: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    qemu_sun4v::find_in_path("qemu-system-sparc64").is_some_and(|s| canonical(&s) == canonical(binary))
}
