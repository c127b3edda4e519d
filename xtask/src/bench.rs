//! `cargo xtask bench`: instruction counts of the hypervisor's hot paths, measured under
//! QEMU `-icount shift=0,sleep=off` (deterministic: one instruction = 1 ns of virtual
//! time; %tick runs at 100 MHz of that time, one tick per 10 instructions).
//!
//! The test guest built with `GUEST_MODE=bench` times each operation in a loop against the
//! same loop without it and prints `bench <name>: <instructions per operation>`; this
//! command boots it, collects the figures, prints a table and writes `target/bench.json`.
//! With `--sun-firmware DIR` it also boots the same guest binary on Sun's hypervisor (as the
//! `openboot.bin` of Sun's set, whose 1up MDs it runs with unchanged) and prints Sun's
//! figures beside ours.

use crate::{check_sun_set, config_path, ensure_prerequisites, sun_firmware_dir, workspace, Builder, Opts};
use qemu_sun4v::{FirmwareSet, Qemu};
use std::fmt::Write as _;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The figures, their targets (hypervisor instructions) and what they measure.
const FIGURES: &[(&str, Option<f64>, &str)] = &[
    ("hcall_null", Some(30.0), "null hypercall round trip (cpu_myid, assembly fast path)"),
    ("hcall_rust_path", None, "hypercall through the Rust path (cpu_yield)"),
    ("dtlb_miss_tsb_hit", Some(60.0), "data TLB miss that hits the guest's TSB"),
    ("dtlb_miss_tsb_miss", None, "data TLB miss that misses the TSB (revectored to the guest)"),
    ("itlb_miss_tsb_hit", None, "instruction TLB miss that hits the guest's TSB"),
];

/// Boots the firmware set in `dir` under `-icount` and returns the figures the guest printed.
fn measure(dir: &Path, ram: u64) -> Result<Vec<(String, f64)>, String> {
    let qemu = Qemu::new(dir).memory(ram).extra_arg("-icount").extra_arg("shift=0,sleep=off");
    eprintln!("xtask: {}", qemu.command_line());
    let out = qemu
        .run_capture(Duration::from_secs(300), &["test-guest: bench done", "hv: PANIC"])
        .map_err(|e| format!("cannot run QEMU: {e}"))?;
    let mut found = Vec::new();
    for line in out.output.lines() {
        if let Some(rest) = line.trim().strip_prefix("test-guest: bench ") {
            if let Some((name, value)) = rest.split_once(": ") {
                if let Ok(v) = value.trim().parse::<f64>() {
                    found.push((name.to_string(), v));
                }
            }
        }
    }
    if found.len() < FIGURES.len() {
        return Err(format!(
            "the benchmark guest reported {} of {} figures; console:\n{}",
            found.len(),
            FIGURES.len(),
            out.output
        ));
    }
    Ok(found)
}

fn figure(found: &[(String, f64)], name: &str) -> f64 {
    found.iter().find(|f| f.0 == name).map(|f| f.1).unwrap_or(f64::NAN)
}

pub fn cmd_bench(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--config", "--sun-firmware"], &[])?;
    let ws = workspace();
    ensure_prerequisites(true)?;
    // The configuration runs the `bench-guest` image: the test guest in benchmark mode.
    let config = match opts.get("--config") {
        Some(_) => config_path(&ws, &opts)?,
        None => ws.join("tests").join("configs").join("bench.toml"),
    };
    let mut b = Builder::new(ws.clone());
    let (set, ram) = tests::FirmwareSource::firmware_set(&mut b, &config, tests::HypervisorBuild::Standard)?;
    let dir = ws.join("target").join("fw").join("bench");
    set.write_to(&dir)?;
    let ours = measure(&dir, ram)?;
    // Sun's chain with the same guest binary as its openboot.bin (Sun's 1up MDs put the
    // guest at 0x80000000 with 256 MiB, the bench configuration's layout).
    let sun = match sun_firmware_dir(&ws, &opts)? {
        None => None,
        Some(sun_dir) => {
            check_sun_set(&sun_dir)?;
            let mut sun_set = FirmwareSet::read_from(&sun_dir)?;
            sun_set.openboot_bin = b.guest_raw("bench-guest", ldom_config::config::RAM_BASE)?;
            let dir = ws.join("target").join("fw").join("bench-sun");
            sun_set.write_to(&dir)?;
            Some(measure(&dir, ram)?)
        }
    };
    match &sun {
        None => println!("{:<20} {:>12} {:>8}  what", "figure", "instructions", "target"),
        Some(_) => println!("{:<20} {:>12} {:>8} {:>8}  what", "figure", "instructions", "Sun's", "target"),
    }
    let mut json = String::from("{\n");
    for (i, (name, target, what)) in FIGURES.iter().enumerate() {
        let v = figure(&ours, name);
        let t = target.map(|t| format!("≤ {t}")).unwrap_or_else(|| "-".into());
        match &sun {
            None => println!("{name:<20} {v:>12.2} {t:>8}  {what}"),
            Some(s) => println!("{name:<20} {v:>12.2} {:>8.2} {t:>8}  {what}", figure(s, name)),
        }
        let _ = writeln!(json, "  \"{name}\": {v:.2}{}", if i + 1 < FIGURES.len() || sun.is_some() { "," } else { "" });
    }
    if let Some(s) = &sun {
        json.push_str("  \"sun\": {\n");
        for (i, (name, _, _)) in FIGURES.iter().enumerate() {
            let _ = writeln!(
                json,
                "    \"{name}\": {:.2}{}",
                figure(s, name),
                if i + 1 < FIGURES.len() { "," } else { "" }
            );
        }
        json.push_str("  }\n");
    }
    json.push_str("}\n");
    let path: PathBuf = workspace().join("target").join("bench.json");
    std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}
