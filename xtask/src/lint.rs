//! The format and lint gates of `cargo xtask test`: `cargo fmt --check` on the workspace and
//! `cargo clippy -D warnings` on the host crates and on each sparc64 crate (built as the
//! firmware set builds it; the test guest once per `GUEST_MODE` of its images).

use crate::{cargo, run_status, GUEST_IMAGES, TARGET_NAME, TARGET_SPEC};
use std::path::Path;
use std::process::{Command, Stdio};

/// The sparc64 crates and their binaries, linted for the target they run on.
const SPARC64_CRATES: &[&str] = &["firmware", "test-guest", "guest-firmware", "sun4v-checks"];

/// Installs the rustup components the gates need (rustfmt, clippy) when they are missing.
fn ensure_components() -> Result<(), String> {
    let out = match Command::new("rustup").args(["component", "list", "--installed"]).stderr(Stdio::inherit()).output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => return Ok(()), // no rustup: cargo says what is missing
    };
    for component in ["rustfmt", "clippy"] {
        if !out.lines().any(|l| l.trim().starts_with(component)) {
            eprintln!("xtask: installing the {component} component");
            run_status(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

/// Runs one gate; `Ok(false)` when it found something.
fn gate(what: &str, cmd: &mut Command) -> Result<bool, String> {
    eprintln!("xtask: {what}");
    let st = cmd.stdin(Stdio::null()).status().map_err(|e| format!("cannot run {what}: {e}"))?;
    if !st.success() {
        eprintln!("xtask: {what} FAILED ({st})");
    }
    Ok(st.success())
}

/// Runs every gate; `Ok(true)` when all pass.
pub fn check(ws: &Path) -> Result<bool, String> {
    ensure_components()?;
    let mut ok = gate(
        "format check: cargo fmt --all --check",
        Command::new(cargo()).current_dir(ws).args(["fmt", "--all", "--check"]),
    )?;
    ok &= gate(
        "lint: cargo clippy --workspace --all-targets -- -D warnings",
        Command::new(cargo())
            .current_dir(ws)
            .args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])
            .env_remove("RUSTC_BOOTSTRAP"),
    )?;
    for (package, mode) in sparc64_lint_builds() {
        let with_mode = mode.map(|m| format!(" (GUEST_MODE={m})")).unwrap_or_default();
        let mut clippy = Command::new(cargo());
        match mode {
            Some(m) => clippy.env("GUEST_MODE", m),
            None => clippy.env_remove("GUEST_MODE"),
        };
        ok &= gate(
            &format!("lint: cargo clippy -p {package}{with_mode} for {TARGET_NAME} -- -D warnings"),
            clippy
                .current_dir(ws)
                .args(["clippy", "--release", "-p", package, "--target"])
                .arg(ws.join(TARGET_SPEC))
                .args([
                    "-Zbuild-std=core",
                    "-Zbuild-std-features=compiler-builtins-mem",
                    "-Zjson-target-spec",
                    "--",
                    "-D",
                    "warnings",
                ])
                .env("CARGO_TARGET_DIR", ws.join("target").join("sparc64"))
                .env("RUSTC_BOOTSTRAP", "1"),
        )?;
    }
    Ok(ok)
}

/// The sparc64 clippy runs: each of [`SPARC64_CRATES`], once per distinct `GUEST_MODE` its
/// images in [`GUEST_IMAGES`] are built with (modes select code by `cfg`), or once without
/// one.
fn sparc64_lint_builds() -> Vec<(&'static str, Option<&'static str>)> {
    let mut builds = Vec::new();
    for &package in SPARC64_CRATES {
        let mut modes: Vec<&str> = Vec::new();
        for image in GUEST_IMAGES.iter().filter(|g| g.1 == package) {
            if !modes.contains(&image.3) {
                modes.push(image.3);
            }
        }
        if modes.is_empty() {
            builds.push((package, None));
        } else {
            builds.extend(modes.into_iter().map(|m| (package, Some(m))));
        }
    }
    builds
}
