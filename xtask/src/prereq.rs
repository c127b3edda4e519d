//! Prerequisites: the tools the commands need (QEMU, rust-src), installed or asked for.

#[allow(unused_imports)]
use crate::*;
use std::process::{Command, Stdio};

pub(crate) fn run_status(cmd: &mut Command) -> Result<(), String> {
    let desc = format!("{cmd:?}");
    let st = cmd.status().map_err(|e| format!("cannot run {desc}: {e}"))?;
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

pub(crate) fn ensure_qemu() -> Result<(), String> {
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
    run_status(Command::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive").args([
        "install",
        "-y",
        "--no-install-recommends",
        "qemu-system-sparc",
    ]))?;
    if qemu_sun4v::find_in_path("qemu-system-sparc64").is_none() {
        return Err("qemu-system-sparc was installed but qemu-system-sparc64 is still not on PATH".into());
    }
    Ok(())
}

pub(crate) fn ensure_rust_src() -> Result<(), String> {
    let out = match Command::new("rustup").args(["component", "list", "--installed"]).stderr(Stdio::inherit()).output()
    {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!("xtask: warning: cannot ask rustup for its components; assuming rust-src is installed");
            return Ok(());
        }
    };
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "rust-src" || l.trim().starts_with("rust-src-") || l.trim().starts_with("rust-src "))
    {
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

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
