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
//!
//! The SMP figures (`mondo_send`, `mondo_receive`, `hcall_null_smp`) come from a second
//! boot: the same guest on `tests/configs/bench-smp.toml` (four vCPUs) on the patched QEMU
//! (`cargo xtask qemu`, or `--qemu PATH`) with `-smp 4` and `-machine ra2pa=on` (as
//! `cargo xtask run` runs our hypervisor there), where `-icount` implies
//! round-robin TCG (`-accel tcg,thread=single`; QEMU refuses `-icount` with MTTCG). Sun's
//! q.bin runs one strand here: the SMP figures are ours only.
//!
//! The LDC figures (`ldc_send`, `ldc_copy_per_kib`, the guest's own copy `guest_copy_1kib`)
//! come from a third boot: two domains of one vCPU each joined by a channel,
//! `tests/configs/bench-ldc.toml`, on the patched QEMU with `-smp 2` (the same way).
//! `--no-smp` skips both multi-strand boots.

use crate::{check_sun_set, config_path, ensure_prerequisites, sun_firmware_dir, workspace, Builder, Opts};
use qemu_sun4v::{FirmwareSet, Qemu};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// A figure: name, target (hypervisor instructions), what it measures.
type Figure = (&'static str, Option<f64>, &'static str);

/// The one-strand figures (stock QEMU, `bench.toml`), their targets and what they measure.
const FIGURES: &[Figure] = &[
    ("hcall_null", Some(30.0), "null hypercall round trip (cpu_myid, assembly fast path)"),
    ("hcall_rust_path", Some(150.0), "hypercall through the Rust path (cpu_yield)"),
    ("dtlb_miss_tsb_hit", Some(60.0), "data TLB miss that hits the guest's TSB"),
    ("dtlb_miss_tsb_miss", None, "data TLB miss that misses the TSB (revectored to the guest)"),
    ("itlb_miss_tsb_hit", None, "instruction TLB miss that hits the guest's TSB"),
];

/// The SMP figures (patched QEMU, `-smp 4`, `bench-smp.toml`; docs/performance.md).
const SMP_FIGURES: &[Figure] = &[
    ("mondo_send", Some(100.0), "cpu_mondo_send, sender, per target: (send to 3 − send to 1) / 2"),
    ("mondo_send_1", None, "cpu_mondo_send to 1 target, sender, per call"),
    ("mondo_send_3", None, "cpu_mondo_send to 3 targets, sender, per call"),
    ("mondo_receive", Some(80.0), "target strand: interrupt vector trap 0x60 to the guest's cpu_mondo (0x7c)"),
    ("hcall_null_smp", Some(30.0), "hcall_null on strand 0 while strands 1-3 run cpu_myid + cpu_yield"),
    ("hcall_null_1", Some(30.0), "hcall_null in the same boot (patched QEMU) before the other strands start"),
];

/// The LDC figures (patched QEMU, `-smp 2`, `bench-ldc.toml`: two domains joined by a
/// channel; docs/performance.md). The copy figures' target is relative: at most
/// [`COPY_TARGET_RATIO`] × the guest's own copy (`guest_copy_1kib`), measured in the same boot.
const LDC_FIGURES: &[Figure] = &[
    ("ldc_send", None, "one 64-byte packet, tail update to the peer's queue and dev_mondo: tx + rx"),
    ("ldc_send_tx", None, "sender strand: ldc_tx_set_qtail of one packet, rx interrupt raised"),
    ("ldc_send_rx", None, "receiver strand: interrupt vector trap 0x60 to the guest's dev_mondo (0x7d)"),
    ("ldc_copy_per_kib", None, "ldc_copy COPY_IN per KiB: (8 KiB - 1 KiB) / 7"),
    ("ldc_copy_out_per_kib", None, "ldc_copy COPY_OUT per KiB: (8 KiB - 1 KiB) / 7"),
    ("guest_copy_1kib", None, "the guest's own copy of 1 KiB (8-byte ldx/stx loop): (8 KiB - 1 KiB) / 7"),
];

/// `ldc_copy_per_kib` (and `_out_`) target: at most this × `guest_copy_1kib` (issue 13).
const COPY_TARGET_RATIO: f64 = 1.5;

/// The target of a figure: its own, or for the copy figures [`COPY_TARGET_RATIO`] × the
/// guest's copy measured in the same boot.
fn target_of(name: &str, target: Option<f64>, ldc: Option<&[(String, f64)]>) -> Option<f64> {
    match (name, ldc) {
        ("ldc_copy_per_kib" | "ldc_copy_out_per_kib", Some(found)) => {
            let g = figure(found, "guest_copy_1kib");
            g.is_finite().then(|| (COPY_TARGET_RATIO * g * 100.0).round() / 100.0)
        }
        _ => target,
    }
}

/// Where each figure of the SMP boot comes from: the guest prints `hcall_null` there too,
/// which the table shows as `hcall_null_1`.
fn smp_name(name: &str) -> &str {
    if name == "hcall_null_1" {
        "hcall_null"
    } else {
        name
    }
}

/// Boots the firmware set in `dir` with `qemu` (which has `-icount`) and returns the
/// figures the guest printed; every one of `expected` must be there.
fn measure(qemu: Qemu, expected: &[&str]) -> Result<Vec<(String, f64)>, String> {
    eprintln!("xtask: {}", qemu.command_line());
    let out = qemu
        .run_capture(Duration::from_secs(600), &["test-guest: bench done", "hv: PANIC"])
        .map_err(|e| format!("cannot run QEMU: {e}"))?;
    let mut found = Vec::new();
    for line in out.output.lines() {
        // With several domains a line starts with its domain's name (docs/consoles.md).
        let line = line.trim();
        let line = line.find("test-guest: ").map_or(line, |i| &line[i..]);
        if line.starts_with("test-guest: bench-info") {
            eprintln!("xtask: {line}");
        }
        if let Some(rest) = line.strip_prefix("test-guest: bench ") {
            if let Some((name, value)) = rest.split_once(": ") {
                if let Ok(v) = value.trim().parse::<f64>() {
                    found.push((name.to_string(), v));
                }
            }
        }
    }
    let missing: Vec<&str> = expected.iter().copied().filter(|e| !found.iter().any(|f| f.0 == *e)).collect();
    if !missing.is_empty() {
        return Err(format!("the benchmark guest did not report {}; console:\n{}", missing.join(", "), out.output));
    }
    Ok(found)
}

/// The `-icount` arguments of every benchmark boot.
fn icount(q: Qemu) -> Qemu {
    q.extra_arg("-icount").extra_arg("shift=0,sleep=off")
}

fn figure(found: &[(String, f64)], name: &str) -> f64 {
    found.iter().find(|f| f.0 == name).map(|f| f.1).unwrap_or(f64::NAN)
}

pub fn cmd_bench(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--config", "--sun-firmware", "--qemu"], &["--no-smp"])?;
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
    let names: Vec<&str> = FIGURES.iter().map(|f| f.0).collect();
    let ours = measure(icount(Qemu::new(&dir).memory(ram)), &names)?;
    // The SMP figures: four strands on the patched QEMU.
    let smp = if opts.flag("--no-smp") {
        None
    } else {
        let qemu_bin = crate::qemu::patched_or_given(&ws, &opts)?;
        let smp_config = ws.join("tests").join("configs").join("bench-smp.toml");
        let (set, ram) = tests::FirmwareSource::firmware_set(&mut b, &smp_config, tests::HypervisorBuild::Standard)?;
        let dir = ws.join("target").join("fw").join("bench-smp");
        set.write_to(&dir)?;
        let mut q =
            Qemu::new(&dir).binary(&qemu_bin).memory(ram).smp(4).extra_arg("-accel").extra_arg("tcg,thread=single");
        // As `cargo xtask run` and the tests run our hypervisor on the patched QEMU.
        if !crate::run::is_stock_qemu(&qemu_bin) {
            q = q.extra_arg("-machine").extra_arg("ra2pa=on");
        }
        let names: Vec<&str> = SMP_FIGURES.iter().map(|f| smp_name(f.0)).collect();
        Some(measure(icount(q), &names)?)
    };
    // The LDC figures: two domains of one strand each, joined by a channel, on the patched
    // QEMU (channels need two strands and the device mondo queue).
    let ldc = if opts.flag("--no-smp") {
        None
    } else {
        let qemu_bin = crate::qemu::patched_or_given(&ws, &opts)?;
        let ldc_config = ws.join("tests").join("configs").join("bench-ldc.toml");
        let (set, ram) = tests::FirmwareSource::firmware_set(&mut b, &ldc_config, tests::HypervisorBuild::Standard)?;
        let dir = ws.join("target").join("fw").join("bench-ldc");
        set.write_to(&dir)?;
        let mut q =
            Qemu::new(&dir).binary(&qemu_bin).memory(ram).smp(2).extra_arg("-accel").extra_arg("tcg,thread=single");
        if !crate::run::is_stock_qemu(&qemu_bin) {
            q = q.extra_arg("-machine").extra_arg("ra2pa=on");
        }
        let names: Vec<&str> = LDC_FIGURES.iter().map(|f| f.0).collect();
        Some(measure(icount(q), &names)?)
    };
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
            Some(measure(icount(Qemu::new(&dir).memory(ram)), &names)?)
        }
    };
    // (figure with its target, our value, Sun's value) in table order.
    let mut rows: Vec<(Figure, f64, Option<f64>)> =
        FIGURES.iter().map(|f| (*f, figure(&ours, f.0), sun.as_ref().map(|s| figure(s, f.0)))).collect();
    if let Some(smp) = &smp {
        rows.extend(SMP_FIGURES.iter().map(|f| (*f, figure(smp, smp_name(f.0)), None)));
    }
    if let Some(ldc) = &ldc {
        rows.extend(
            LDC_FIGURES.iter().map(|&(n, t, w)| ((n, target_of(n, t, Some(ldc.as_slice())), w), figure(ldc, n), None)),
        );
    }
    match &sun {
        None => println!("{:<20} {:>12} {:>8}  what", "figure", "instructions", "target"),
        Some(_) => println!("{:<20} {:>12} {:>8} {:>8}  what", "figure", "instructions", "Sun's", "target"),
    }
    for ((name, target, what), v, sun_v) in &rows {
        let t = target.map(|t| format!("≤ {t}")).unwrap_or_else(|| "-".into());
        match &sun {
            None => println!("{name:<20} {v:>12.2} {t:>8}  {what}"),
            // Sun's q.bin runs one strand: no SMP figures of its own.
            Some(_) => {
                let s = sun_v.map(|s| format!("{s:.2}")).unwrap_or_else(|| "-".into());
                println!("{name:<20} {v:>12.2} {s:>8} {t:>8}  {what}")
            }
        }
    }
    let mut json = String::from("{\n");
    for ((name, _, _), v, _) in &rows {
        let _ = writeln!(json, "  \"{name}\": {v:.2},");
    }
    json.push_str("  \"targets\": {\n");
    let targets: Vec<String> =
        rows.iter().filter_map(|((name, t, _), _, _)| t.map(|t| format!("    \"{name}\": {t}"))).collect();
    json.push_str(&targets.join(",\n"));
    json.push_str(if sun.is_some() { "\n  },\n" } else { "\n  }\n" });
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
