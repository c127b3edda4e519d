//! `cargo xtask bench`: instruction counts of the hypervisor's hot paths, measured under
//! QEMU `-icount shift=0,sleep=off` (deterministic: one instruction = 1 ns of virtual
//! time; %tick runs at 100 MHz of that time, one tick per 10 instructions).
//!
//! The test guest built with `GUEST_MODE=bench` times each operation in a loop against the
//! same loop without it and prints `bench <name>: <instructions per operation>`; this
//! command boots it, collects the figures, prints a table and writes `target/bench.json`.

use crate::{config_path, ensure_prerequisites, workspace, Builder, Opts};
use qemu_sun4v::Qemu;
use std::fmt::Write as _;
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

pub fn cmd_bench(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--config"], &[])?;
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
    let qemu = Qemu::new(&dir).memory(ram).extra_arg("-icount").extra_arg("shift=0,sleep=off");
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
        return Err(format!("the benchmark guest reported {} of {} figures; console:\n{}", found.len(), FIGURES.len(), out.output));
    }
    println!("{:<20} {:>12} {:>8}  what", "figure", "instructions", "target");
    let mut json = String::from("{\n");
    for (i, (name, target, what)) in FIGURES.iter().enumerate() {
        let v = found.iter().find(|f| f.0 == *name).map(|f| f.1).unwrap_or(f64::NAN);
        let t = target.map(|t| format!("≤ {t}")).unwrap_or_else(|| "-".into());
        println!("{name:<20} {v:>12.2} {t:>8}  {what}");
        let _ = writeln!(json, "  \"{name}\": {v:.2}{}", if i + 1 < FIGURES.len() { "," } else { "" });
    }
    json.push_str("}\n");
    let path: PathBuf = workspace().join("target").join("bench.json");
    std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}
