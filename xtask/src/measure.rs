//! `cargo xtask measure-linux`: how many guest instructions from reset to Linux's
//! `Run /init as init process` line, on Sun's reference chain or on our hypervisor.
//!
//! Method (details in docs/running-openboot-and-linux.md):
//! * QEMU runs with `-icount shift=0,sleep=off`: the virtual clock advances 1 ns per
//!   instruction, so the guest's timers (and with them the whole run) are deterministic
//!   given the same console input.
//! * A small TCG plugin of ours (`uart_icount.c`, built here with `cc`) counts executed
//!   instructions and logs the count at every store to the UART data register. The console
//!   byte at offset N of QEMU's stdout is the N-th such store, so the count at the end of the
//!   `Run /init` line is exact.
//! * Cross-check: Linux's printk timestamp of that line. sched_clock counts STICK ticks
//!   from the kernel's time_init_early and converts them with the MD's `stick-frequency`;
//!   with `-icount shift=0` QEMU's 100 MHz STICK ticks once every 10 instructions.
//! * `boot` is typed at `ok`; the instructions OBP spends polling the console before the
//!   keystrokes arrive depend on host timing, so the report also gives the count without
//!   the typing (reset → `ok` prompt, plus `Boot device` → `Run /init`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use qemu_sun4v::{InputStep, Qemu};

use crate::{check_sun_set, linux, openboot_on_ours, silo_dir, sun_firmware_dir, Builder, Opts, USAGE};

const RUN_INIT: &str = "Run /init as init process";
/// The MD's (and so OBP's and Linux's) `stick-frequency`: 5 MHz in Sun's 1up MD.
const MD_STICK_HZ: f64 = 5_000_000.0;
/// QEMU's STICK runs at 100 MHz: with `-icount shift=0`, 10 instructions per tick.
const INSNS_PER_STICK: f64 = 10.0;

/// Builds the plugin into `target/measure/`.
fn build_plugin(ws: &Path) -> Result<PathBuf, String> {
    let src = ws.join("xtask").join("src").join("uart_icount.c");
    let dir = ws.join("target").join("measure");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let so = dir.join("uart_icount.so");
    crate::run_status(Command::new("cc").args(["-shared", "-fPIC", "-O2", "-Wall", "-o"]).arg(&so).arg(&src))?;
    Ok(so)
}

/// The printk timestamp (seconds) of the first line containing `what`.
fn printk_time(output: &str, what: &str) -> Option<f64> {
    let line = output.lines().find(|l| l.contains(what))?;
    let open = line.find('[')?;
    let close = line[open..].find(']')? + open;
    line[open + 1..close].trim().parse().ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn cmd_measure_linux(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(
        args,
        &["--sun-firmware", "--silo", "--iso", "--timeout", "--bootargs"],
        &["--reference", "--timer-100mhz", "--guest-firmware"],
    )?;
    let ws = crate::workspace();
    crate::ensure_prerequisites(true)?;
    if opts.flag("--guest-firmware") {
        let timeout = match opts.get("--timeout") {
            Some(t) => t.parse().map_err(|_| format!("bad --timeout `{t}`"))?,
            None => 600,
        };
        return measure_guest_firmware(&ws, timeout, opts.get("--bootargs"));
    }
    let sun =
        sun_firmware_dir(&ws, &opts)?.ok_or_else(|| format!("measure-linux needs --sun-firmware DIR\n\n{USAGE}"))?;
    let iso = match opts.get("--iso") {
        Some(i) => crate::user_path(&ws, i),
        None => {
            let silo = silo_dir(&ws, &opts)?
                .ok_or_else(|| format!("measure-linux needs --silo DIR (or --iso FILE)\n\n{USAGE}"))?;
            linux::ensure_linux_iso(&linux::LinuxPaths::new(&ws), &silo, linux::default_jobs())?
        }
    };
    let timeout = match opts.get("--timeout") {
        Some(t) => t.parse().map_err(|_| format!("bad --timeout `{t}`"))?,
        None => 600,
    };
    let reference = opts.flag("--reference");
    let (dir, ram) = if reference {
        check_sun_set(&sun)?;
        if opts.flag("--timer-100mhz") {
            (sun_set_with_100mhz_md(&ws, &sun)?, 256 << 20)
        } else {
            (sun.clone(), 256 << 20)
        }
    } else {
        let mut b = Builder::new(ws.clone());
        let (dir, ram, _) = openboot_on_ours(&mut b, &sun, 1)?;
        (dir, ram)
    };
    let plugin = build_plugin(&ws)?;
    let counts_file = ws.join("target").join("measure").join(if reference {
        "uart-icount-reference.txt"
    } else {
        "uart-icount-ours.txt"
    });
    let _ = std::fs::remove_file(&counts_file);
    let q = Qemu::new(&dir)
        .memory(ram)
        .drive(&iso)
        .extra_arg("-icount")
        .extra_arg("shift=0,sleep=off")
        .extra_arg("-plugin")
        .extra_arg(format!("{},out={}", plugin.display(), counts_file.display()));
    eprintln!("xtask: {}", q.command_line());
    eprintln!("xtask: typing `boot` at `ok`, waiting for `{RUN_INIT}` (timeout {timeout} s)");
    let o = q
        .run_scripted(
            Duration::from_secs(timeout),
            &[
                RUN_INIT,
                qemu_sun4v::PANIC_MARKER,
                qemu_sun4v::END_MARKER,
                "hv: boot stopped",
                "boot command is disabled",
            ],
            &[InputStep::new("\nok ", "boot\r")],
        )
        .map_err(|e| e.to_string())?;
    let log = counts_file.with_extension("log");
    let _ = std::fs::write(&log, &o.output);
    println!(
        "{} run: {} after {:.1} s wall; console log {}",
        if reference { "reference (Sun q.bin)" } else { "our hypervisor" },
        o.ended_by,
        o.elapsed.as_secs_f64(),
        log.display()
    );
    let reached = matches!(&o.ended_by, qemu_sun4v::EndedBy::EndMarker(m) if m == RUN_INIT);
    // The counts file is complete up to the moment QEMU was killed.
    let counts: Vec<u64> = std::fs::read_to_string(&counts_file)
        .map_err(|e| format!("cannot read {}: {e}", counts_file.display()))?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let out = &o.stdout;
    // QEMU is killed after the marker line and a quiet moment, so both streams hold the same
    // bytes; any extra stores are the UART's divisor-latch writes at offset 0 during its
    // set-up, before the first character: skip them.
    let extra = counts.len().saturating_sub(out.len()).min(4);
    let count_at = |offset: usize| counts.get(offset + extra).copied();
    let run_init_end = find(out, RUN_INIT.as_bytes()).map(|p| p + RUN_INIT.len() - 1);
    // The `ok` prompt before `boot`, and OBP's first output line after the whole `boot` line
    // was read (`Boot device: ...`): the keystrokes arrive at host-timed moments, so the
    // instructions between these two points vary from run to run (by ~0.01 %). The part
    // before is exact; the part after can still differ by one timer interrupt (~10^3
    // instructions), as the timer phase moves with the typing.
    let prompt = find(out, b"\nok ").map(|p| p + 3);
    let boot_dev = find(out, b"Boot device");
    println!(
        "console bytes on stdout: {}, UART data-register stores counted: {} (the first {extra} \
         taken as set-up writes)",
        out.len(),
        counts.len()
    );
    let mut exact = None;
    if let Some(end) = run_init_end {
        if let Some(n) = count_at(end) {
            println!("instructions from reset to the end of `{RUN_INIT}`: {n}");
            exact = Some(n);
            if let (Some(p), Some(b)) = (prompt.and_then(count_at), boot_dev.and_then(count_at)) {
                println!("  A  reset -> `ok` prompt:                          {p}");
                println!("  -  `ok` prompt -> `Boot device` (typing `boot`):  {}", b - p);
                println!("  B  `Boot device` -> `{RUN_INIT}`: {}", n - b);
                println!("  A + B (without the typing; +-10^3):              {}", p + (n - b));
            }
        }
    }
    if !reached {
        if let Some(p) = prompt.and_then(count_at) {
            println!("instructions from reset to the first `ok` prompt: {p}");
        }
        println!("`{RUN_INIT}` did not appear; last lines:");
        println!("{}", tests::tail(&o.output, 20));
        return Ok(ExitCode::FAILURE);
    }
    if exact.is_none() {
        println!("(the plugin's counts do not cover the `{RUN_INIT}` line: no exact count)");
    }
    if let Some(t) = printk_time(&o.output, RUN_INIT) {
        let ticks = t * MD_STICK_HZ;
        println!(
            "printk time of `{RUN_INIT}`: {t:.6} s = {ticks:.0} STICK ticks (stick-frequency 5 MHz) \
             = about {:.0} instructions since Linux's time_init_early (10 per tick with -icount shift=0)",
            ticks * INSNS_PER_STICK
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A copy of Sun's firmware set (under `target/measure/`, never committed) whose guest MD
/// states the timer rate QEMU really has: Sun's `1up-md.bin` says 5 MHz for
/// `stick-frequency` and `clock-frequency`, QEMU's counters run at 100 MHz
/// (qemu-niagara.md §13). A guest told 5 MHz waits 20 times fewer instructions in every
/// timed loop, so only with the same rate in both MDs are the two chains comparable.
fn sun_set_with_100mhz_md(ws: &Path, sun: &Path) -> Result<PathBuf, String> {
    let dir = ws.join("target").join("measure").join("sun-100mhz");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for f in ["reset.bin", "q.bin", "openboot.bin", "nvram1", "1up-hv.bin", "1up-md.bin"] {
        std::fs::copy(sun.join(f), dir.join(f)).map_err(|e| format!("cannot copy {f}: {e}"))?;
    }
    let md_path = dir.join("1up-md.bin");
    let mut md = std::fs::read(&md_path).map_err(|e| e.to_string())?;
    let old = 5_000_000u64.to_be_bytes();
    let new = 100_000_000u64.to_be_bytes();
    let mut patched = 0;
    // Property values are 8-byte big-endian words at offset 8 of 16-byte elements.
    let mut i = 16;
    while i + 16 <= md.len() {
        if md[i] == b'v' && md[i + 8..i + 16] == old {
            md[i + 8..i + 16].copy_from_slice(&new);
            patched += 1;
        }
        i += 16;
    }
    if patched == 0 {
        return Err(format!("{}: no 5 MHz frequency property found", sun.join("1up-md.bin").display()));
    }
    std::fs::write(&md_path, md).map_err(|e| e.to_string())?;
    eprintln!("xtask: {} frequency properties of Sun's guest MD set to 100 MHz in {}", patched, dir.display());
    Ok(dir)
}

/// `measure-linux --guest-firmware`: our hypervisor and the project's guest firmware
/// booting the same kernel from its boot image (no typing: the count is exact).
fn measure_guest_firmware(ws: &Path, timeout: u64, bootargs: Option<&str>) -> Result<ExitCode, String> {
    let dir = ws.join("target").join("measure").join("guest-firmware");
    let (img, ram) = match bootargs {
        Some(b) => crate::linux_set_with(ws, &dir, &crate::BootChoice::with_bootargs(b))?,
        None => crate::linux_set(ws, &dir)?,
    };
    let plugin = build_plugin(ws)?;
    let counts_file = ws.join("target").join("measure").join("uart-icount-guest-firmware.txt");
    let _ = std::fs::remove_file(&counts_file);
    let q = Qemu::new(&dir)
        .memory(ram)
        .drive(&img)
        .extra_arg("-icount")
        .extra_arg("shift=0,sleep=off")
        .extra_arg("-plugin")
        .extra_arg(format!("{},out={}", plugin.display(), counts_file.display()));
    eprintln!("xtask: {}", q.command_line());
    let o = q
        .run_scripted(Duration::from_secs(timeout), &[RUN_INIT, qemu_sun4v::PANIC_MARKER, qemu_sun4v::END_MARKER], &[])
        .map_err(|e| e.to_string())?;
    let log = counts_file.with_extension("log");
    let _ = std::fs::write(&log, &o.output);
    println!(
        "our hypervisor + guest firmware: {} after {:.1} s wall; console log {}",
        o.ended_by,
        o.elapsed.as_secs_f64(),
        log.display()
    );
    let counts: Vec<u64> = std::fs::read_to_string(&counts_file)
        .map_err(|e| format!("cannot read {}: {e}", counts_file.display()))?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let out = &o.stdout;
    let extra = counts.len().saturating_sub(out.len()).min(4);
    let count_at = |offset: usize| counts.get(offset + extra).copied();
    match find(out, RUN_INIT.as_bytes()).and_then(|p| count_at(p + RUN_INIT.len() - 1)) {
        Some(n) => {
            println!("instructions from reset to the end of `{RUN_INIT}`: {n}");
            if let Some(k) = find(out, b"gfw: entering the kernel").and_then(count_at) {
                println!("  reset -> `gfw: entering the kernel` (hypervisor start, firmware, loading): {k}");
                println!("  kernel entry -> `{RUN_INIT}`:                                          {}", n - k);
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            println!("`{RUN_INIT}` did not appear; last lines:");
            println!("{}", tests::tail(&o.output, 20));
            Ok(ExitCode::FAILURE)
        }
    }
}
