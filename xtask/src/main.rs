//! Build, run and test tasks: `cargo xtask <command>`.
//!
//! Commands:
//! * `run [--config FILE] [--memory SIZE] [--timeout SECS]` — build everything, write the
//!   firmware set to `target/fw/<config-stem>/`, boot it with the console on the terminal,
//!   stop after `hv: all domains stopped`.
//! * `firmware --out DIR [--config FILE]` — write the complete `-L` folder.
//! * `test [--sun-firmware DIR] [--silo DIR] [--case NAME] [--qemu-only]` — host unit
//!   tests, then every QEMU case of `tests/cases/`.
//! * `bench`, `linux`, `silo-iso` — not implemented yet.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use qemu_sun4v::{elf_to_raw, FirmwareSet, Qemu, END_MARKER, PROM_BASE};
use tests::{Env, FirmwareSource};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  run [--config FILE] [--memory SIZE] [--timeout SECS]
        build the hypervisor, guests and config, write target/fw/<config-stem>/,
        boot it in QEMU with the console on this terminal; stops after
        `hv: all domains stopped` (or Ctrl-C)
  firmware --out DIR [--config FILE]
        write the complete -L folder (reset.bin, q.bin, openboot.bin, 1up-hv.bin,
        1up-md.bin, nvram1) for FILE
  test [--sun-firmware DIR] [--silo DIR] [--case NAME] [--qemu-only]
        host unit tests (cargo test --workspace), then every QEMU case in tests/cases
        (--case: only the cases whose name contains NAME; --qemu-only: skip unit tests)
  bench | linux | silo-iso
        not implemented yet

FILE defaults to configs/one-domain.toml; SIZE is like 256M, 1G (bare number = MiB).";

/// Name of the custom target (the json file stem) and its spec file in the workspace.
const TARGET_NAME: &str = "sparc64-sun4v-none";
const TARGET_SPEC: &str = "platform/sparc64-sun4v-none.json";
const DEFAULT_CONFIG: &str = "configs/one-domain.toml";
/// Bare image names a configuration may use: name -> (package, bin).
const GUEST_IMAGES: &[(&str, &str, &str)] = &[("test-guest", "test-guest", "test-guest")];

fn workspace() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR at run time too; the compile-time value is the
    // fallback when the binary is started directly.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|d| d.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
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
        "bench" | "linux" | "silo-iso" => {
            eprintln!("cargo xtask {cmd}: not implemented yet");
            return ExitCode::from(2);
        }
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

/// Minimal option parser: `--name value` pairs and `--flag`s.
struct Opts {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], with_value: &[&str], flags: &[&str]) -> Result<Opts, String> {
        let mut o = Opts {
            values: HashMap::new(),
            flags: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            if with_value.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("{name} needs a value"))?,
                };
                o.values.insert(name.to_string(), v);
            } else if flags.contains(&name) && inline.is_none() {
                o.flags.push(name.to_string());
            } else {
                return Err(format!("unexpected argument `{a}`\n\n{USAGE}"));
            }
        }
        Ok(o)
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}

/// A user-given path: relative to the current directory, or else to the workspace.
fn user_path(ws: &Path, p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() || p.exists() {
        return p;
    }
    let in_ws = ws.join(&p);
    if in_ws.exists() {
        in_ws
    } else {
        p
    }
}

fn config_path(ws: &Path, opts: &Opts) -> Result<PathBuf, String> {
    let p = match opts.get("--config") {
        Some(c) => user_path(ws, c),
        None => ws.join(DEFAULT_CONFIG),
    };
    if !p.is_file() {
        return Err(format!("configuration file {} not found", p.display()));
    }
    Ok(p.canonicalize().unwrap_or(p))
}

// ---------------------------------------------------------------------------------------
// Prerequisites

fn run_status(cmd: &mut Command) -> Result<(), String> {
    let desc = format!("{cmd:?}");
    let st = cmd
        .status()
        .map_err(|e| format!("cannot run {desc}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{desc} failed ({st})"))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|s| s.trim() == "0")
}

fn ensure_qemu() -> Result<(), String> {
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
    run_status(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "qemu-system-sparc",
            ]),
    )?;
    if qemu_sun4v::find_in_path("qemu-system-sparc64").is_none() {
        return Err(
            "qemu-system-sparc was installed but qemu-system-sparc64 is still not on PATH".into(),
        );
    }
    Ok(())
}

fn ensure_rust_src() -> Result<(), String> {
    let out = match Command::new("rustup")
        .args(["component", "list", "--installed"])
        .stderr(Stdio::inherit())
        .output()
    {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!("xtask: warning: cannot ask rustup for its components; assuming rust-src is installed");
            return Ok(());
        }
    };
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        l.trim() == "rust-src"
            || l.trim().starts_with("rust-src-")
            || l.trim().starts_with("rust-src ")
    }) {
        return Ok(());
    }
    eprintln!("xtask: installing the rust-src component (needed by -Zbuild-std)");
    run_status(Command::new("rustup").args(["component", "add", "rust-src"]))
}

fn ensure_prerequisites(qemu: bool) -> Result<(), String> {
    if qemu {
        ensure_qemu()?;
    }
    ensure_rust_src()
}

// ---------------------------------------------------------------------------------------
// Building

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds the hypervisor, the guests and the configurations; caches everything.
struct Builder {
    ws: PathBuf,
    firmware: Option<Result<Vec<u8>, String>>,
    guests: HashMap<(String, u64), Vec<u8>>,
    sets: HashMap<PathBuf, Result<(FirmwareSet, u64), String>>,
}

impl Builder {
    fn new(ws: PathBuf) -> Self {
        Builder {
            ws,
            firmware: None,
            guests: HashMap::new(),
            sets: HashMap::new(),
        }
    }

    fn target_dir(&self) -> PathBuf {
        self.ws.join("target").join("sparc64")
    }

    /// `cargo build --release -p PACKAGE` for the sparc64 target; returns the ELF of `bin`.
    fn build_sparc64(
        &self,
        package: &str,
        bin: &str,
        guest_base: Option<u64>,
    ) -> Result<Vec<u8>, String> {
        let mut c = Command::new(cargo());
        c.current_dir(&self.ws)
            .args([
                "build",
                "--release",
                "-p",
                package,
                "--bin",
                bin,
                "--target",
            ])
            .arg(self.ws.join(TARGET_SPEC))
            .args([
                "-Zbuild-std=core",
                "-Zbuild-std-features=compiler-builtins-mem",
                "-Zjson-target-spec",
            ])
            .env("CARGO_TARGET_DIR", self.target_dir())
            .env("RUSTC_BOOTSTRAP", "1")
            .stdin(Stdio::null());
        match guest_base {
            Some(b) => {
                c.env("GUEST_BASE", format!("{b:#x}"));
            }
            None => {
                c.env_remove("GUEST_BASE");
            }
        }
        let what = match guest_base {
            Some(b) => format!("{package} (GUEST_BASE={b:#x})"),
            None => package.to_string(),
        };
        eprintln!("xtask: building {what} for {TARGET_NAME}");
        let st = c.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !st.success() {
            return Err(format!("building {what} for {TARGET_NAME} failed ({st})"));
        }
        let elf = self
            .target_dir()
            .join(TARGET_NAME)
            .join("release")
            .join(bin);
        std::fs::read(&elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))
    }

    /// The raw hypervisor image (linked at the PROM base).
    fn firmware_raw(&mut self) -> Result<Vec<u8>, String> {
        if self.firmware.is_none() {
            let r = self
                .build_sparc64("firmware", "firmware", None)
                .and_then(|elf| {
                    elf_to_raw(&elf, PROM_BASE).map_err(|e| format!("firmware ELF: {e}"))
                });
            self.firmware = Some(r);
        }
        self.firmware.clone().expect("set above")
    }

    fn guest_raw(&mut self, name: &str, realbase: u64) -> Result<Vec<u8>, String> {
        let key = (name.to_string(), realbase);
        if let Some(g) = self.guests.get(&key) {
            return Ok(g.clone());
        }
        let &(_, package, bin) = GUEST_IMAGES
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| {
                format!(
                    "unknown image name `{name}` (known: {}; a path needs a `/` or a `.`)",
                    GUEST_IMAGES
                        .iter()
                        .map(|g| g.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        let elf = self.build_sparc64(package, bin, Some(realbase))?;
        let raw = elf_to_raw(&elf, realbase).map_err(|e| format!("{name} ELF: {e}"))?;
        self.guests.insert(key, raw.clone());
        Ok(raw)
    }

    fn build_set(&mut self, config: &Path) -> Result<(FirmwareSet, u64), String> {
        let raw = self.firmware_raw()?;
        let config_dir = config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut resolver = Resolver {
            builder: self,
            config_dir,
        };
        // ldom-config's errors name the file and line themselves.
        let build = ldom_config::build(config, &mut resolver).map_err(|e| e.to_string())?;
        let set = FirmwareSet::from_build(&raw, &build)?;
        Ok((set, build.ram_size))
    }
}

impl FirmwareSource for Builder {
    fn firmware_set(&mut self, config: &Path) -> Result<(FirmwareSet, u64), String> {
        let key = config
            .canonicalize()
            .unwrap_or_else(|_| config.to_path_buf());
        if let Some(r) = self.sets.get(&key) {
            return r.clone();
        }
        let r = self.build_set(&key);
        self.sets.insert(key, r.clone());
        r
    }
}

/// Resolves the images of a configuration: paths (with `/` or `.`) relative to the config
/// file's folder; bare names are workspace guests built for the domain's realbase.
struct Resolver<'a> {
    builder: &'a mut Builder,
    config_dir: PathBuf,
}

impl ldom_config::ImageResolver for Resolver<'_> {
    fn resolve(&mut self, name: &str, realbase: u64) -> Result<Vec<u8>, String> {
        if name.contains('/') || name.contains('.') {
            let p = self.config_dir.join(name);
            std::fs::read(&p).map_err(|e| format!("cannot read image {}: {e}", p.display()))
        } else {
            self.builder.guest_raw(name, realbase)
        }
    }
}

fn print_written(dir: &Path, written: &[qemu_sun4v::WrittenFile]) {
    println!("wrote {}:", dir.display());
    for w in written {
        println!("  {:<13} {:>8} bytes ({:#x})", w.name, w.size, w.size);
    }
}

// ---------------------------------------------------------------------------------------
// Commands

fn cmd_run(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--config", "--memory", "--timeout"], &[])?;
    let ws = workspace();
    ensure_prerequisites(true)?;
    let config = config_path(&ws, &opts)?;
    let mut b = Builder::new(ws.clone());
    let (set, ram) = b.firmware_set(&config)?;
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let dir = ws.join("target").join("fw").join(stem);
    let written = set.write_to(&dir)?;
    print_written(&dir, &written);
    let memory = match opts.get("--memory") {
        Some(m) => qemu_sun4v::parse_size(m)?,
        None => ram,
    };
    let timeout = opts
        .get("--timeout")
        .map(|t| {
            t.parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| format!("bad --timeout `{t}`"))
        })
        .transpose()?;
    let q = Qemu::new(&dir).memory(memory);
    eprintln!("xtask: {}", q.command_line());
    eprintln!("xtask: the run stops after `{END_MARKER}`; Ctrl-C stops QEMU earlier");
    let o = q
        .run_interactive(&[END_MARKER], timeout)
        .map_err(|e| e.to_string())?;
    eprintln!(
        "\nxtask: {} after {:.1} s",
        o.ended_by,
        o.elapsed.as_secs_f64()
    );
    Ok(match o.ended_by {
        qemu_sun4v::EndedBy::EndMarker(_) => ExitCode::SUCCESS,
        qemu_sun4v::EndedBy::Exited(Some(0)) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

fn cmd_firmware(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--out", "--config"], &[])?;
    let out = opts
        .get("--out")
        .ok_or_else(|| format!("firmware needs --out DIR\n\n{USAGE}"))?;
    let ws = workspace();
    ensure_prerequisites(false)?;
    let config = config_path(&ws, &opts)?;
    let mut b = Builder::new(ws);
    let (set, ram) = b.firmware_set(&config)?;
    let dir = PathBuf::from(out);
    let written = set.write_to(&dir)?;
    print_written(&dir, &written);
    println!(
        "run it with:\n  {}",
        Qemu::new(&dir).memory(ram).command_line()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_test(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(
        args,
        &["--sun-firmware", "--silo", "--case"],
        &["--qemu-only"],
    )?;
    let ws = workspace();
    ensure_prerequisites(true)?;
    let dir_opt = |name: &str| -> Result<Option<PathBuf>, String> {
        opts.get(name)
            .map(|d| {
                let p = user_path(&ws, d);
                if p.is_dir() {
                    Ok(p.canonicalize().unwrap_or(p))
                } else {
                    Err(format!("{name}: {} is not a directory", p.display()))
                }
            })
            .transpose()
    };
    let env = Env {
        workspace: ws.clone(),
        out_dir: ws.join("target").join("fw").join("cases"),
        sun_firmware: dir_opt("--sun-firmware")?,
        silo: dir_opt("--silo")?,
        qemu: None,
    };

    // 1. Host unit tests.
    let mut ok = true;
    if !opts.flag("--qemu-only") {
        eprintln!("xtask: running host unit tests: cargo test --workspace");
        let st = Command::new(cargo())
            .current_dir(&ws)
            .args(["test", "--workspace"])
            .env_remove("RUSTC_BOOTSTRAP")
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run cargo test: {e}"))?;
        if !st.success() {
            ok = false;
            eprintln!("xtask: host unit tests FAILED ({st})");
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
    // Build every needed firmware set first, so build output does not interleave with
    // the test lines; errors are reported by the cases that need the set.
    let mut builder = Builder::new(ws.clone());
    let mut configs: Vec<PathBuf> = cases
        .iter()
        .filter(|c| {
            c.firmware_dir.is_none()
                && c.requires.iter().all(|r| match r {
                    tests::Requirement::SunFirmware => env.sun_firmware.is_some(),
                    tests::Requirement::Silo => env.silo.is_some(),
                })
        })
        .map(|c| ws.join(&c.config))
        .collect();
    configs.sort();
    configs.dedup();
    for c in &configs {
        if let Err(e) = builder.firmware_set(c) {
            eprintln!("xtask: {e}");
        }
    }
    let summary = tests::run_all(&cases, &env, &mut builder, &mut std::io::stdout());
    if summary.failed > 0 {
        ok = false;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
