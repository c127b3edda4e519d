//! `cargo xtask qemu`: the project's own `qemu-system-sparc64`, Debian's QEMU source with the
//! patch series in `qemu-sun4v/patches/` (multi-strand niagara, hyperprivileged interrupts,
//! mondo queues; see docs/qemu-sun4v.md).
//!
//! Steps, all in a cache outside the checkout (`$XDG_CACHE_HOME/sun4v-hv/qemu`, else
//! `~/.cache/sun4v-hv/qemu`):
//! 1. a private apt configuration (`apt/`: deb-src lines for Debian `trixie`; the system's apt
//!    sources are never touched) finds the suite's current QEMU source version;
//! 2. `apt-get source --download-only` and `dpkg-source -x` unpack it (Debian's own patches
//!    applied) into `<version>-<series hash>/src`;
//! 3. every patch of the series is applied with `patch --fuzz=0`; one that does not apply
//!    stops the build with the QEMU version and the rejected hunks (never a silent fallback
//!    to stock QEMU);
//! 4. `configure` for `sparc64-softmmu` only (meson >= 1.5 from PyPI in a venv, `venv/`);
//! 5. `ninja -j2 qemu-system-sparc64`, with ninja's progress on stderr;
//! 6. the binary is copied to `<version>-<series hash>/bin/qemu-system-sparc64`.
//!
//! A second run finds that binary and costs nothing. The last line printed on stdout is the
//! binary's path.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crate::{is_root, run_status, workspace, Opts};

/// The Debian suite whose QEMU source the series applies to (QEMU 10.0.x: decodetree
/// translator with a working HTSTATE, sparc64 declared MTTCG-safe).
pub const SUITE: &str = "trixie";
/// meson from PyPI (trixie's QEMU needs meson >= 1.5; bookworm has 1.0.1).
const MESON: &str = "meson==1.9.0";
/// Debian packages the build needs (`apt-get install` when run as root).
const BUILD_DEPS: &[&str] = &[
    "dpkg-dev",
    "patch",
    "xz-utils",
    "gcc",
    "make",
    "pkg-config",
    "python3-venv",
    "ninja-build",
    "flex",
    "bison",
    "libglib2.0-dev",
    "libpixman-1-dev",
    "libfdt-dev",
    "zlib1g-dev",
];
const CONFIGURE_FLAGS: &[&str] = &[
    "--target-list=sparc64-softmmu",
    "--without-default-features",
    "--disable-docs",
    "--disable-tools",
    "--disable-user",
    "--disable-werror",
    "--disable-install-blobs",
];
/// The binary's name.
pub const BINARY: &str = "qemu-system-sparc64";

/// The patch series: `qemu-sun4v/patches/*.patch`, in name order.
pub fn series(ws: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = ws.join("qemu-sun4v").join("patches");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(format!("no *.patch in {}", dir.display()));
    }
    Ok(v)
}

/// FNV-1a (64 bit) over the series' file names and contents: the cache key of a build.
pub fn series_hash(patches: &[PathBuf]) -> Result<String, String> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for p in patches {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        feed(name.unwrap_or_default().as_bytes());
        feed(&[0]);
        feed(&std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?);
        feed(&[0]);
    }
    Ok(format!("{h:016x}"))
}

/// The cache folder for QEMU builds.
pub fn cache_dir() -> Result<PathBuf, String> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").ok_or("neither XDG_CACHE_HOME nor HOME is set")?).join(".cache"),
    };
    Ok(base.join("sun4v-hv").join("qemu"))
}

/// A finished build of this series, if the cache has one (any source version).
fn cached_binary(cache: &Path, hash: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|d| d.file_name().is_some_and(|n| n.to_string_lossy().ends_with(&format!("-{hash}"))))
        .map(|d| d.join("bin").join(BINARY))
        .filter(|b| b.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// The patched binary: from the cache, or built now (`jobs` parallel compile jobs).
pub fn ensure_patched_qemu(jobs: usize) -> Result<PathBuf, String> {
    let ws = workspace();
    let patches = series(&ws)?;
    let hash = series_hash(&patches)?;
    let cache = cache_dir()?;
    if let Some(b) = cached_binary(&cache, &hash) {
        return Ok(b);
    }
    build(&cache, &patches, &hash, jobs)
}

fn missing_packages() -> Vec<&'static str> {
    BUILD_DEPS
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .stderr(Stdio::null())
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect()
}

fn ensure_build_deps() -> Result<(), String> {
    let missing = missing_packages();
    if missing.is_empty() {
        return Ok(());
    }
    let cmd = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    if !is_root() {
        return Err(format!(
            "building QEMU needs these Debian packages: {}\ninstall them with:\n  \
             sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive {cmd}",
            missing.join(" ")
        ));
    }
    eprintln!("xtask: installing QEMU build dependencies: {}", missing.join(" "));
    run_status(Command::new("apt-get").arg("update"))?;
    run_status(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )
}

/// The Debian mirror: `$DEBIAN_MIRROR`, else the first Debian archive URI of the system's
/// apt sources (the machine's own apt configuration is only read, never changed).
fn mirror() -> Result<String, String> {
    if let Ok(m) = std::env::var("DEBIAN_MIRROR") {
        if !m.is_empty() {
            return Ok(m);
        }
    }
    let mut text = String::new();
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for e in rd.flatten() {
            text += &std::fs::read_to_string(e.path()).unwrap_or_default();
        }
    }
    text += &std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    debian_mirror_in(&text).ok_or_else(|| {
        "no Debian archive (a URI ending in /debian) in the apt sources; set DEBIAN_MIRROR to \
         the Debian mirror to fetch QEMU's source from"
            .to_string()
    })
}

/// The first Debian archive URI (ending in `/debian`) of apt sources text, in the deb822
/// (`URIs:`) or the one-line (`deb URI suite ...`) format.
fn debian_mirror_in(text: &str) -> Option<String> {
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let uri = match words.as_slice() {
            ["URIs:", uri, ..] => *uri,
            ["deb" | "deb-src", rest @ ..] => match rest.iter().find(|w| w.contains("://")) {
                Some(u) => u,
                None => continue,
            },
            _ => continue,
        };
        if uri.ends_with("/debian") || uri.ends_with("/debian/") {
            return Some(uri.trim_end_matches('/').to_string());
        }
    }
    None
}

/// `apt-get`/`apt-cache` options that use only the private configuration in `dir`.
fn apt_options(dir: &Path) -> Vec<String> {
    let d = |p: &str| dir.join(p).to_string_lossy().into_owned();
    vec![
        format!("-o=Dir::Etc::sourcelist={}", d("etc/sources.list")),
        format!("-o=Dir::Etc::sourceparts={}", d("etc/sources.list.d")),
        format!("-o=Dir::Etc::preferencesparts={}", d("etc/preferences.d")),
        format!("-o=Dir::State::Lists={}", d("lists")),
        format!("-o=Dir::Cache={}", d("cache")),
        "-o=APT::Sandbox::User=root".into(),
    ]
}

/// Sets up the private apt configuration and returns the suite's QEMU source version.
fn source_version(apt: &Path) -> Result<String, String> {
    for sub in ["lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/preferences.d"] {
        std::fs::create_dir_all(apt.join(sub))
            .map_err(|e| format!("cannot create {}: {e}", apt.join(sub).display()))?;
    }
    let mirror = mirror()?;
    let list = format!("deb-src {mirror} {SUITE} main\n");
    std::fs::write(apt.join("etc/sources.list"), &list)
        .map_err(|e| format!("cannot write the private apt sources: {e}"))?;
    eprintln!("xtask: apt-get update (private configuration: {})", list.trim());
    let mut c = Command::new("apt-get");
    c.args(apt_options(apt)).arg("update");
    if !is_root() {
        c.arg("-o=Debug::NoLocking=1");
    }
    run_status(c.stdout(Stdio::null()))?;
    let out = Command::new("apt-cache")
        .args(apt_options(apt))
        .args(["showsrc", "qemu"])
        .output()
        .map_err(|e| format!("cannot run apt-cache: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Version: ").map(str::trim).map(String::from))
        .ok_or_else(|| format!("no QEMU source package in Debian {SUITE} ({mirror})"))
}

fn run_logged(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: {what}");
    run_status(cmd)
}

/// Applies the series to `src`; the first patch that does not apply stops the build.
fn apply_series(src: &Path, patches: &[PathBuf], version: &str) -> Result<(), String> {
    for p in patches {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        eprintln!("xtask: applying {name}");
        let out = Command::new("patch")
            .current_dir(src)
            .args(["-p1", "--forward", "--batch", "--fuzz=0", "--no-backup-if-mismatch", "-i"])
            .arg(p)
            .output()
            .map_err(|e| format!("cannot run patch: {e}"))?;
        if !out.status.success() {
            let mut msg = format!(
                "patch {name} does not apply to Debian's QEMU {version} (suite {SUITE}):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                // "... -- saving rejects to file target/sparc/cpu.c.rej"
                if let Some(rej) = line.split("saving rejects to file ").nth(1) {
                    let rej = src.join(rej.trim());
                    if let Ok(t) = std::fs::read_to_string(&rej) {
                        msg += &format!("\nfailing hunks ({}):\n{t}", rej.display());
                    }
                }
            }
            msg += "\nthe build stops here: update the series for this QEMU version";
            return Err(msg);
        }
    }
    Ok(())
}

fn build(cache: &Path, patches: &[PathBuf], hash: &str, jobs: usize) -> Result<PathBuf, String> {
    let t0 = Instant::now();
    ensure_build_deps()?;
    let version = source_version(&cache.join("apt"))?;
    // "1:10.0.13+ds-0+deb13u1" -> "10.0.13+ds-0+deb13u1" (no ':' in folder names).
    let plain = version.split_once(':').map_or(version.as_str(), |v| v.1);
    let dir = cache.join(format!("{plain}-{hash}"));
    eprintln!("xtask: building QEMU {version} (Debian {SUITE}) with {} patches into {}", patches.len(), dir.display());
    let dl = dir.join("dl");
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&dl).map_err(|e| format!("cannot create {}: {e}", dl.display()))?;
    let apt = cache.join("apt");
    run_logged(
        "apt-get source --download-only qemu",
        Command::new("apt-get")
            .current_dir(&dl)
            .args(apt_options(&apt))
            .args(["source", "--download-only"])
            .arg(format!("qemu={version}"))
            .stdout(Stdio::null()),
    )?;
    let dsc = std::fs::read_dir(&dl)
        .map_err(|e| format!("cannot read {}: {e}", dl.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.extension().is_some_and(|x| x == "dsc")
                && p.file_name().is_some_and(|n| n.to_string_lossy().contains(plain))
        })
        .ok_or_else(|| format!("no .dsc for qemu {version} in {}", dl.display()))?;
    run_logged(
        "dpkg-source -x (Debian's patches applied)",
        Command::new("dpkg-source").arg("-x").arg(&dsc).arg(&src).stdout(Stdio::null()),
    )?;
    apply_series(&src, patches, &version)?;

    let venv = cache.join("venv");
    let python = venv.join("bin").join("python3");
    let has_meson = Command::new(&python)
        .args(["-c", "import mesonbuild"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_meson {
        run_logged(
            &format!("python3 -m venv {}", venv.display()),
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        )?;
        run_logged(
            &format!("pip install {MESON} (PyPI)"),
            Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", MESON]),
        )?;
    }
    let build = src.join("build");
    std::fs::create_dir_all(&build).map_err(|e| format!("cannot create {}: {e}", build.display()))?;
    run_logged(
        "configure (sparc64-softmmu only)",
        Command::new(src.join("configure"))
            .current_dir(&build)
            .arg(format!("--python={}", python.display()))
            .args(CONFIGURE_FLAGS)
            .stdout(Stdio::null()),
    )?;
    run_logged(
        &format!("ninja -j{jobs} {BINARY} (about 7-15 minutes on 2 cores)"),
        Command::new("ninja")
            .current_dir(&build)
            .arg(format!("-j{jobs}"))
            .arg(BINARY)
            // ninja's progress lines go to the terminal, the path alone to stdout.
            .stdout(Stdio::from(std::io::stderr())),
    )?;
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&bin_dir).map_err(|e| format!("cannot create {}: {e}", bin_dir.display()))?;
    let bin = bin_dir.join(BINARY);
    std::fs::copy(build.join(BINARY), &bin).map_err(|e| format!("cannot copy {BINARY} to {}: {e}", bin.display()))?;
    eprintln!("xtask: built QEMU {version} + {} patches in {:.0} s", patches.len(), t0.elapsed().as_secs_f64());
    Ok(bin)
}

/// `cargo xtask qemu [--jobs N]`.
pub fn cmd_qemu(args: &[String]) -> Result<ExitCode, String> {
    let opts = Opts::parse(args, &["--jobs"], &[])?;
    let jobs = match opts.get("--jobs") {
        Some(j) => j.parse().map_err(|_| format!("bad --jobs `{j}`"))?,
        None => 2,
    };
    let bin = ensure_patched_qemu(jobs)?;
    println!("{}", bin.display());
    Ok(ExitCode::SUCCESS)
}

/// The QEMU binary for `run` and the patched pass of `test`: `--qemu PATH` if given, else
/// the patched build (built now when missing).
pub fn patched_or_given(ws: &Path, opts: &Opts) -> Result<PathBuf, String> {
    match opts.get("--qemu") {
        Some(q) => {
            let p = crate::user_path(ws, q);
            if p.is_file() {
                Ok(p)
            } else {
                qemu_sun4v::find_in_path(q).ok_or_else(|| format!("--qemu: {q} not found"))
            }
        }
        None => ensure_patched_qemu(2),
    }
}

/// Builds the check image (`qemu-sun4v/checks`, a hyperprivileged reset.bin) and writes it
/// to `target/fw/sun4v-checks/reset.bin`, where the `qemu-sun4v-*` cases take it from.
pub fn write_check_image(b: &crate::Builder, ws: &Path) -> Result<PathBuf, String> {
    let elf = b.build_sparc64("sun4v-checks", "sun4v-checks", None, None, ::tests::HypervisorBuild::Standard)?;
    let raw = qemu_sun4v::elf_to_raw(&elf, qemu_sun4v::PROM_BASE).map_err(|e| format!("sun4v-checks ELF: {e}"))?;
    let dir = ws.join("target").join("fw").join("sun4v-checks");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let out = dir.join("reset.bin");
    std::fs::write(&out, raw).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_apt_sources() {
        let deb822 = "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n\n\
                      Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n";
        assert_eq!(debian_mirror_in(deb822).as_deref(), Some("http://mirror.example/debian"));
        let one_line = "# comment\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main\n";
        assert_eq!(debian_mirror_in(one_line).as_deref(), Some("http://mirror.example/debian"));
        assert_eq!(debian_mirror_in("URIs: http://mirror.example/debian-security\n"), None);
    }

    #[test]
    fn series_hash_follows_names_and_contents() {
        let dir = std::env::temp_dir().join(format!("xtask-series-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("0001-a.patch");
        std::fs::write(&a, "one").unwrap();
        let h1 = series_hash(std::slice::from_ref(&a)).unwrap();
        assert_eq!(h1, series_hash(std::slice::from_ref(&a)).unwrap());
        std::fs::write(&a, "two").unwrap();
        let h2 = series_hash(std::slice::from_ref(&a)).unwrap();
        assert_ne!(h1, h2);
        let b = dir.join("0001-b.patch");
        std::fs::write(&b, "two").unwrap();
        assert_ne!(h2, series_hash(&[b]).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_checked_in_series_is_found() {
        let patches = series(&workspace()).unwrap();
        assert!(patches.len() >= 7, "{patches:?}");
        assert!(patches.windows(2).all(|w| w[0] < w[1]));
    }
}
