//! The sparc64 build: the hypervisor and the guest images, and the firmware sets of
//! configurations.

#[allow(unused_imports)]
use crate::*;
use qemu_sun4v::{elf_to_raw, FirmwareSet, PROM_BASE};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tests::{FirmwareSource, HypervisorBuild};

/// Name of the custom target (the json file stem) and its spec file in the workspace.
pub(crate) const TARGET_NAME: &str = "sparc64-sun4v-none";

pub(crate) const TARGET_SPEC: &str = "platform/sparc64-sun4v-none.json";

/// Bare image names a configuration may use: name -> (package, bin).
/// Named guest images: (name, package, binary, `GUEST_MODE` the guest is built with).
pub(crate) const GUEST_IMAGES: &[(&str, &str, &str, &str)] = &[
    ("test-guest", "test-guest", "test-guest", "test"),
    // The test guest in benchmark mode (`cargo xtask bench`).
    ("bench-guest", "test-guest", "test-guest", "bench"),
    // The test guest that fails on purpose, to check the failure policies.
    ("fault-guest", "test-guest", "test-guest", "fault"),
    ("window-fault-guest", "test-guest", "test-guest", "fault-windows"),
    ("window-fast-fault-guest", "test-guest", "test-guest", "fault-windows-fast"),
    ("window-tlb-fault-guest", "test-guest", "test-guest", "fault-windows-tlb"),
    ("tl2-miss-fault-guest", "test-guest", "test-guest", "fault-tl2-miss"),
    ("watchdog-fault-guest", "test-guest", "test-guest", "fault-watchdog"),
    // The test guest plus real accesses outside its domain (they must be access errors): only
    // for configurations that run on the patched QEMU with RA->PA (two-domains-same-ra).
    ("ra2pa-guest", "test-guest", "test-guest", "ra2pa"),
    // The hostile guest: 10^6 hostile calls through the machine path (case `hostile`).
    ("hostile-guest", "test-guest", "test-guest", "hostile"),
    // The console's device interrupt (case `console-interrupt`, patched QEMU).
    ("console-interrupt-guest", "test-guest", "test-guest", "console-interrupt"),
    // The project's guest firmware, which boots Linux from a boot image on the vdisk.
    ("guest-firmware", "guest-firmware", "guest-firmware", "firmware"),
];

/// Builds the hypervisor, the guests and the configurations; caches everything.
pub(crate) struct Builder {
    pub(crate) ws: PathBuf,
    pub(crate) firmware: HashMap<HypervisorBuild, Result<Vec<u8>, String>>,
    pub(crate) guests: HashMap<(String, u64), Vec<u8>>,
    pub(crate) sets: HashMap<(PathBuf, HypervisorBuild), Result<(FirmwareSet, u64), String>>,
}

impl Builder {
    pub(crate) fn new(ws: PathBuf) -> Self {
        Builder { ws, firmware: HashMap::new(), guests: HashMap::new(), sets: HashMap::new() }
    }

    /// The cargo target folder of a build (the `HV_NO_FAST` hypervisor has its own, so the
    /// two builds do not rebuild each other).
    pub(crate) fn target_dir(&self, hv: HypervisorBuild) -> PathBuf {
        self.ws.join("target").join(match hv {
            HypervisorBuild::Standard => "sparc64",
            HypervisorBuild::NoFast => "sparc64-no-fast",
        })
    }

    /// `cargo build --release -p PACKAGE` for the sparc64 target; returns the ELF of `bin`.
    /// `hv` selects the hypervisor build (`HV_NO_FAST`); guests use the standard one.
    pub(crate) fn build_sparc64(
        &self,
        package: &str,
        bin: &str,
        guest_base: Option<u64>,
        guest_mode: Option<&str>,
        hv: HypervisorBuild,
    ) -> Result<Vec<u8>, String> {
        let mut c = Command::new(cargo());
        c.current_dir(&self.ws)
            .args(["build", "--release", "-p", package, "--bin", bin, "--target"])
            .arg(self.ws.join(TARGET_SPEC))
            .args(["-Zbuild-std=core", "-Zbuild-std-features=compiler-builtins-mem", "-Zjson-target-spec"])
            .env("CARGO_TARGET_DIR", self.target_dir(hv))
            .env("RUSTC_BOOTSTRAP", "1")
            .stdin(Stdio::null());
        match hv {
            HypervisorBuild::Standard => c.env_remove("HV_NO_FAST"),
            HypervisorBuild::NoFast => c.env("HV_NO_FAST", "1"),
        };
        match guest_base {
            Some(b) => {
                c.env("GUEST_BASE", format!("{b:#x}"));
            }
            None => {
                c.env_remove("GUEST_BASE");
            }
        }
        match guest_mode {
            Some(m) => {
                c.env("GUEST_MODE", m);
            }
            None => {
                c.env_remove("GUEST_MODE");
            }
        }
        let what = match (guest_base, hv) {
            (Some(b), _) => format!("{package} (GUEST_BASE={b:#x})"),
            (None, HypervisorBuild::NoFast) => format!("{package} (HV_NO_FAST=1)"),
            (None, HypervisorBuild::Standard) => package.to_string(),
        };
        eprintln!("xtask: building {what} for {TARGET_NAME}");
        let st = c.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !st.success() {
            return Err(format!("building {what} for {TARGET_NAME} failed ({st})"));
        }
        let elf = self.target_dir(hv).join(TARGET_NAME).join("release").join(bin);
        std::fs::read(&elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))
    }

    /// The raw hypervisor image (linked at the PROM base).
    pub(crate) fn firmware_raw(&mut self, hv: HypervisorBuild) -> Result<Vec<u8>, String> {
        if !self.firmware.contains_key(&hv) {
            let r = self
                .build_sparc64("firmware", "firmware", None, None, hv)
                .and_then(|elf| elf_to_raw(&elf, PROM_BASE).map_err(|e| format!("firmware ELF: {e}")));
            self.firmware.insert(hv, r);
        }
        self.firmware[&hv].clone()
    }

    pub(crate) fn guest_raw(&mut self, name: &str, realbase: u64) -> Result<Vec<u8>, String> {
        let key = (name.to_string(), realbase);
        if let Some(g) = self.guests.get(&key) {
            return Ok(g.clone());
        }
        let &(_, package, bin, mode) = GUEST_IMAGES.iter().find(|(n, _, _, _)| *n == name).ok_or_else(|| {
            format!(
                "unknown image name `{name}` (known: {}; a path needs a `/` or a `.`)",
                GUEST_IMAGES.iter().map(|g| g.0).collect::<Vec<_>>().join(", ")
            )
        })?;
        let elf = self.build_sparc64(package, bin, Some(realbase), Some(mode), HypervisorBuild::Standard)?;
        let raw = elf_to_raw(&elf, realbase).map_err(|e| format!("{name} ELF: {e}"))?;
        self.guests.insert(key, raw.clone());
        Ok(raw)
    }

    pub(crate) fn build_set(&mut self, config: &Path, hv: HypervisorBuild) -> Result<(FirmwareSet, u64), String> {
        let raw = self.firmware_raw(hv)?;
        let config_dir = config.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let mut resolver = Resolver { builder: self, config_dir };
        // ldom-config's errors name the file and line themselves.
        let build = ldom_config::build(config, &mut resolver).map_err(|e| e.to_string())?;
        let set = FirmwareSet::from_build(&raw, &build)?;
        Ok((set, build.ram_size))
    }
}

impl FirmwareSource for Builder {
    fn firmware_set(&mut self, config: &Path, hv: HypervisorBuild) -> Result<(FirmwareSet, u64), String> {
        let path = config.canonicalize().unwrap_or_else(|_| config.to_path_buf());
        if let Some(r) = self.sets.get(&(path.clone(), hv)) {
            return r.clone();
        }
        let r = self.build_set(&path, hv);
        self.sets.insert((path, hv), r.clone());
        r
    }
}

/// Resolves the images of a configuration: paths (with `/` or `.`) relative to the config
/// file's folder; bare names are workspace guests built for the domain's realbase.
pub(crate) struct Resolver<'a> {
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

pub(crate) fn print_written(dir: &Path, written: &[qemu_sun4v::WrittenFile]) {
    println!("wrote {}:", dir.display());
    for w in written {
        println!("  {:<13} {:>8} bytes ({:#x})", w.name, w.size, w.size);
    }
}

// ---------------------------------------------------------------------------------------
// Commands
