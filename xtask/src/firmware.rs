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
        if opts.get("--config").is_some() {
            return Err("--linux uses configs/linux.toml: drop --config".into());
        }
        let dir = user_dir(out)?;
        let (img, ram) = linux_set_with(&ws, &dir, &BootChoice::from_opts(&ws, &opts))?;
        println!("run it with:\n  {}", Qemu::new(&dir).memory(ram).drive(&img).command_line());
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
