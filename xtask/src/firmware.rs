//! `cargo xtask firmware`: write a complete `-L` folder.

#[allow(unused_imports)]
use crate::*;
use qemu_sun4v::Qemu;
use std::path::PathBuf;
use std::process::ExitCode;
use tests::{FirmwareSource, HypervisorBuild};

pub(crate) fn cmd_firmware(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--out", "--config", "--kernel", "--initrd", "--bootargs"], &["--linux"])?;
    let out = opts.get("--out").ok_or_else(|| format!("firmware needs --out DIR\n\n{USAGE}"))?;
    let ws = workspace();
    ensure_prerequisites(false)?;
    if opts.flag("--linux") {
        let dir = user_dir(out)?;
        let choice = BootChoice::from_opts(&ws, &opts);
        let (img, ram) = linux_set_with(&ws, &dir, &choice)?;
        let strands = ldom_config::load(&choice.config(&ws)).map_err(|e| e.to_string())?.qemu_strands();
        let mut q = Qemu::new(&dir).memory(ram).drive(&img);
        if strands > 1 {
            q = q.smp(strands); // the patched QEMU (`cargo xtask qemu`)
        }
        println!("run it with:\n  {}", q.command_line());
        return Ok(ExitCode::SUCCESS);
    }
    let config = config_path(&ws, &opts)?;
    let mut b = Builder::new(ws);
    let (set, ram) = b.firmware_set(&config, HypervisorBuild::Standard)?;
    let dir = PathBuf::from(out);
    let written = set.write_to(&dir)?;
    print_written(&dir, &written);
    println!("run it with:\n  {}", Qemu::new(&dir).memory(ram).command_line());
    Ok(ExitCode::SUCCESS)
}
