//! Build, run and test tasks: `cargo xtask <command>`.
//!
//! Commands:
//! * `run [--config FILE] [--memory SIZE] [--timeout SECS]` — build everything, write the
//!   firmware set to `target/fw/<config-stem>/`, boot it with the console on the terminal,
//!   stop after `hv: all domains stopped`.
//! * `firmware --out DIR [--config FILE]` — write the complete `-L` folder.
//! * `test [--sun-firmware DIR] [--silo DIR] [--case NAME] [--qemu-only]` — host unit
//!   tests, then every QEMU case of `tests/cases/`.
//! * `run --guest openboot --sun-firmware DIR [--vcpus N] [--disk ISO] [--reference]` — Sun's OpenBoot as
//!   the guest of our hypervisor (or Sun's complete reference chain).
//! * `linux [--out DIR]` — build the Linux 6.1 test guest (see `linux.rs`).
//! * `silo-iso --silo DIR [--kernel FILE] [--out FILE]` — the bootable SILO ISO.
//! * `measure-linux --sun-firmware DIR --silo DIR [--reference]` — instructions from reset to
//!   Linux's `Run /init` (see `measure.rs`).
//! * `bench` — instruction counts of the hot paths (`target/bench.json`).
//! * `qemu [--jobs N]` — build the patched `qemu-system-sparc64` (see `qemu.rs`).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

// One module per command (bench, firmware, linux (also silo-iso), measure (measure-linux),
// qemu, run, test), and the shared parts: options, prerequisites, the sparc64 build, the
// format and lint gates.
mod bench;
mod firmware;
mod lint;
mod linux;
mod measure;
mod opts;
mod prereq;
mod qemu;
mod run;
mod sparc64;
mod test;

pub(crate) use firmware::*;
pub(crate) use linux::{cmd_linux, cmd_silo_iso};
pub(crate) use opts::*;
pub(crate) use prereq::*;
pub(crate) use run::*;
pub(crate) use sparc64::*;
pub(crate) use test::*;

pub(crate) const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  run [--config FILE] [--memory SIZE] [--timeout SECS] [--disk ISO] [--qemu PATH]
        build the hypervisor, guests and config, write target/fw/<config-stem>/,
        boot it in QEMU with the console on this terminal; stops after
        `hv: all domains stopped` (or Ctrl-] on a terminal)
  run --linux [--config FILE] [--kernel ELF] [--initrd CPIO] [--bootargs TEXT] [--timeout SECS]
        Linux 6.1 on our hypervisor through the project's guest firmware
        (configs/linux.toml, or FILE: e.g. configs/linux-smp.toml, four vCPUs,
        configs/linux-two-domains.toml, or configs/linux-vnet.toml, two domains exchanging
        UDP over a virtual network; the kernel is built on first use, cached outside the
        checkout); --kernel/--initrd/--bootargs boot your own instead
  run --guest openboot --sun-firmware DIR [--vcpus N] [--reference] [--disk ISO] [--timeout SECS]
        Sun's OpenBoot (DIR/openboot.bin, DIR/nvram1) as domain 0 of our hypervisor
        (--vcpus: N vCPUs on strands 0..N-1, QEMU started with -smp N; default 1);
        --reference: Sun's complete chain instead (DIR's reset.bin, q.bin, openboot.bin,
        nvram1, 1up-md.bin, 1up-hv.bin). --disk: the vdisk (-drive if=pflash), e.g. the
        SILO ISO; type `boot` at `ok`. Ctrl-] ends the run.
  firmware --out DIR [--config FILE] [--linux [--kernel ELF] [--initrd CPIO] [--bootargs TEXT]]
        write the complete -L folder (reset.bin, q.bin, openboot.bin, 1up-hv.bin,
        1up-md.bin, nvram1) for FILE; --linux: FILE (default configs/linux.toml) with the
        guest firmware and the Linux boot image DIR/linux-boot.img for -drive if=pflash
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
  bench [--sun-firmware DIR] [--qemu PATH] [--no-smp]
        instruction counts of the hot paths under -icount (table and target/bench.json):
        the one-strand figures on the stock QEMU, the SMP figures (mondo_send,
        mondo_receive, hcall_null_smp) on the patched QEMU with -smp 4 and the LDC
        figures (ldc_send, ldc_copy_per_kib, the guest's own copy) with two domains on
        -smp 2 (built when missing; --qemu PATH: another binary; --no-smp: skip both);
        with Sun's files, the same guest on Sun's q.bin in a second column (one strand:
        no SMP or LDC figures)
  qemu [--jobs N]
        fetch Debian trixie's QEMU source (private apt configuration), apply
        qemu-sun4v/patches, build qemu-system-sparc64 (cached outside the checkout);
        the last line printed is the binary's path. `run` and `test` build it when
        missing; `--qemu PATH` (run, test) picks another binary for that role, and
        `test --stock-only` skips it

FILE defaults to configs/one-domain.toml; SIZE is like 256M, 1G or 0x10000000 (a bare
number is refused: it would mean MiB to QEMU and bytes elsewhere).";

pub(crate) fn workspace() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR at run time too; the compile-time value is the
    // fallback when the binary is started directly.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|d| d.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir.parent().expect("xtask lives in the workspace").to_path_buf()
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
