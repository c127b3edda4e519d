//! `cargo xtask test`: the host unit tests, the format and lint gates, then every QEMU case.

#[allow(unused_imports)]
use crate::*;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use tests::{Env, FirmwareSource, HypervisorBuild};

pub(crate) fn cmd_test(args: &[String]) -> Result<ExitCode, String> {
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
        c.current_dir(&ws).args(["test", "--workspace"]).env_remove("RUSTC_BOOTSTRAP").stdin(Stdio::null());
        match &sun_md {
            Some(d) => {
                eprintln!(
                    "xtask: running host unit tests: cargo test --workspace -- --include-ignored (SUN_MD_DIR={})",
                    d.display()
                );
                c.env("SUN_MD_DIR", d).args(["--", "--include-ignored"]);
            }
            None => {
                eprintln!("xtask: running host unit tests: cargo test --workspace");
                eprintln!("xtask: the tests that read Sun's sample MDs are ignored (give their folder with --sun-md DIR or $SUN_MD_DIR)");
                c.env_remove("SUN_MD_DIR");
            }
        }
        let st = c.status().map_err(|e| format!("cannot run cargo test: {e}"))?;
        if !st.success() {
            ok = false;
            eprintln!("xtask: host unit tests FAILED ({st})");
        }
        // The format check and clippy on the host and the sparc64 crates.
        if !crate::lint::check(&ws)? {
            ok = false;
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
        env.linux_iso = Some(if p.is_file() { Ok(p) } else { Err(format!("--linux-iso: {} not found", p.display())) });
    } else if cases.iter().any(|c| c.requires.contains(&tests::Requirement::Linux)) {
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
    if cases.iter().any(|c| c.requires.contains(&tests::Requirement::LinuxBoot)) {
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
        // A configuration with ${SUN_FIRMWARE} and the like is built once expanded, with
        // its case (tests::expanded_config).
        .filter(|(path, _)| !std::fs::read_to_string(path).is_ok_and(|t| t.contains("${")))
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
        qemu::patched_or_given(&ws, &opts).and_then(|bin| qemu::write_check_image(&builder, &ws).map(|_| bin))
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
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
