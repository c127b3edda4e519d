//! QEMU test harness: boots firmware sets on `qemu-system-sparc64 -M niagara` and checks
//! the console output.
//!
//! A test case is a folder `tests/cases/<name>/` with:
//!
//! * `case.toml` (every field optional):
//!   - `config` — ldom-config file, relative to the workspace (default `configs/one-domain.toml`)
//!   - `timeout_secs` — default 60
//!   - `memory` — partition RAM (`"256M"`, `"1G"`, bare number = MiB); default: the config's
//!   - `stop_on` — a line (string) or lines (array) that end the run as soon as one appears
//!     (default `"hv: all domains stopped"`); the run also stops at `hv: PANIC`
//!   - `timeout_ok` — `true`: reaching the timeout is not a failure (default `false`)
//!   - `corrupt_hv_md` — `"truncate:N"` (keep the first N bytes) or `"byte:OFFSET:VALUE"`
//!   - `requires` — `"sun-firmware"`, `"silo"` and/or `"linux"` (string or array): the case is
//!     skipped unless `--sun-firmware DIR` / `--silo DIR` was given / the Linux SILO ISO exists
//!   - `firmware_dir` — take all six files from this directory instead of building them
//!     (`"${SUN_FIRMWARE}"`: Sun's complete reference chain)
//!   - `guest_image` — our hypervisor with this image as domain 0 (a generated one-domain
//!     configuration, 256 MiB at 0x80000000; e.g. `"${SUN_FIRMWARE}/openboot.bin"`)
//!   - `guest_vcpus` — with `guest_image`: the generated domain's vCPUs, on strands
//!     0..N-1 (1 to 32; default 1)
//!   - `[[input]]` — `after = "ok"`, `send = "banner\r"`: typed on the console once `after`
//!     appears (after the previous step's match)
//!   - `[files]` — replace single files of the set, e.g. `"1up-hv.bin" = "${SUN_FIRMWARE}/1up-hv.bin"`
//!   - `drive` — a pflash disk image; `icount` — `-icount shift=N`; `qemu_args` — extra args
//!   - `allow` — entries of `forbidden-always.txt` that do not apply to this case
//!   - `description` — free text
//!
//!   Paths may use `${WORKSPACE}`, `${CASE_DIR}`, `${SUN_FIRMWARE}`, `${SILO}`, `${LINUX_ISO}`; relative
//!   paths (other than `config`) are relative to the case folder.
//!   - `stop_on_stock` — `stop_on` for the pass on the stock QEMU (default: `stop_on`)
//!   - `order` — `"global"` (default) or `"per-domain"`: expected lines in order within
//!     their console stream only (see [`Stream`])
//!   - `[[memory_check]]` — `what`, `base`, `size`, `from`, optional `pattern = "canary"`:
//!     guest-physical memory read from outside (QMP `pmemsave`) at the line `from` and at
//!     the end, which must not differ (see [`MemoryCheck`])
//! * `expected.txt` — lines that must each appear in the console output, in this order
//!   (each is a substring of a console line that comes after the previous match).
//! * `expected-stock.txt` (optional) — used instead of `expected.txt` on the stock QEMU.
//! * `forbidden.txt` (optional) — text that must not appear anywhere in the output.
//!   `tests/cases/forbidden-always.txt` applies to every case. `forbidden-stock.txt`
//!   (optional) replaces `forbidden.txt` on the stock QEMU.
//!
//! On the patched QEMU the harness starts QEMU with `-smp N`, N = the configuration's
//! [`ldom_config::Config::qemu_strands`] (when above 1 and `qemu_args` has no `-smp`); never
//! on the stock QEMU, which has one strand.
//!
//! In both files blank lines and lines starting with `#` are ignored.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use qemu_sun4v::{EndedBy, FirmwareSet, InputStep, Outcome, Qemu, Snapshot, SnapshotTaken, END_MARKER, PANIC_MARKER};

/// Default configuration of a case, relative to the workspace.
pub const DEFAULT_CONFIG: &str = "configs/one-domain.toml";
/// Default timeout of a case.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// The shared forbidden list in the cases folder.
pub const FORBIDDEN_ALWAYS: &str = "forbidden-always.txt";
/// How many console lines a failure report shows.
pub const TAIL_LINES: usize = 40;

/// A named corruption of the HV MD, to test boot-time validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// Keep the first N bytes.
    Truncate(usize),
    /// Set the byte at OFFSET to VALUE.
    Byte {
        /// Byte offset in the HV MD.
        offset: usize,
        /// The new byte value.
        value: u8,
    },
}

fn parse_num(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        s.parse()
    }
    .map_err(|_| format!("bad number `{s}`"))
}

impl std::str::FromStr for Corruption {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["truncate", n] => Ok(Corruption::Truncate(parse_num(n)? as usize)),
            ["byte", off, val] => {
                let value = parse_num(val)?;
                let value = u8::try_from(value).map_err(|_| format!("byte value {value} > 255"))?;
                Ok(Corruption::Byte { offset: parse_num(off)? as usize, value })
            }
            _ => Err(format!("unknown corruption `{s}` (use \"truncate:N\" or \"byte:OFFSET:VALUE\")")),
        }
    }
}

impl Corruption {
    /// Applies the corruption to `data`.
    pub fn apply(&self, data: &mut Vec<u8>) -> Result<(), String> {
        match *self {
            Corruption::Truncate(n) => {
                if n > data.len() {
                    return Err(format!("truncate:{n}: the HV MD is only {} bytes", data.len()));
                }
                data.truncate(n);
            }
            Corruption::Byte { offset, value } => {
                let len = data.len();
                let b = data
                    .get_mut(offset)
                    .ok_or_else(|| format!("byte:{offset}: offset past the end of the {len}-byte HV MD"))?;
                *b = value;
            }
        }
        Ok(())
    }
}

/// Something a case needs that is given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// Sun's firmware directory (`--sun-firmware DIR`, `${SUN_FIRMWARE}`).
    SunFirmware,
    /// The SILO directory (`--silo DIR`, `${SILO}`).
    Silo,
    /// The Linux SILO ISO (`${LINUX_ISO}`), built by the xtask from Debian's kernel source.
    Linux,
    /// The Linux boot image for the project's guest firmware (`${LINUX_BOOT}`), built by
    /// the xtask from Debian's kernel source (no Sun file needed).
    LinuxBoot,
    /// The patched QEMU of `qemu-sun4v/patches` (`requires = "qemu-sun4v"`): the case runs
    /// only when the harness is given a QEMU binary ([`Env::qemu`]), which the xtask does
    /// for its pass on the patched build.
    QemuSun4v,
}

impl Requirement {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "sun-firmware" => Ok(Requirement::SunFirmware),
            "silo" => Ok(Requirement::Silo),
            "linux" => Ok(Requirement::Linux),
            "linux-boot" => Ok(Requirement::LinuxBoot),
            "qemu-sun4v" => Ok(Requirement::QemuSun4v),
            _ => Err(format!(
                "unknown requirement `{s}` (known: \"sun-firmware\", \"silo\", \"linux\", \
                 \"linux-boot\", \"qemu-sun4v\")"
            )),
        }
    }
    fn option(self) -> &'static str {
        match self {
            Requirement::SunFirmware => "--sun-firmware DIR",
            Requirement::Silo => "--silo DIR",
            Requirement::Linux => {
                "the Linux SILO ISO (built when --sun-firmware DIR and --silo DIR are given, \
                 or --linux-iso FILE)"
            }
            Requirement::LinuxBoot => "the Linux boot image (built by `cargo xtask test`)",
            Requirement::QemuSun4v => "the patched QEMU (qemu-sun4v/patches)",
        }
    }
}

/// One test case, read from its folder.
#[derive(Clone, Debug)]
pub struct Case {
    /// The case's name: its folder name.
    pub name: String,
    /// The case folder.
    pub dir: PathBuf,
    /// `description`.
    pub description: Option<String>,
    /// ldom-config file, relative to the workspace.
    pub config: PathBuf,
    /// `timeout_secs`.
    pub timeout: Duration,
    /// Partition RAM in bytes (`memory`); `None`: the configuration's (QEMU's default with
    /// `firmware_dir`).
    pub memory: Option<u64>,
    /// Lines that end the run as soon as one appears (`stop_on`).
    pub stop_on: Vec<String>,
    /// `stop_on` for the pass on the stock QEMU (`stop_on_stock`; `None`: `stop_on`).
    pub stop_on_stock: Option<Vec<String>>,
    /// How expected lines are ordered (`order`).
    pub order: Order,
    /// Whether reaching the timeout is not a failure.
    pub timeout_ok: bool,
    /// Corruption applied to the HV MD before the run.
    pub corrupt_hv_md: Option<Corruption>,
    /// What the case needs (sorted, no duplicates); it is skipped without it.
    pub requires: Vec<Requirement>,
    /// Directory to take all six firmware files from (unexpanded).
    pub firmware_dir: Option<String>,
    /// Our hypervisor with this image as domain 0 (a generated configuration).
    pub guest_image: Option<String>,
    /// The vCPUs of the generated domain of `guest_image` (`guest_vcpus`, default 1).
    pub guest_vcpus: u32,
    /// Console input typed as the output appears.
    pub input: Vec<InputStep>,
    /// Firmware file name → path of its replacement (unexpanded).
    pub files: BTreeMap<String, String>,
    /// pflash disk image (unexpanded).
    pub drive: Option<String>,
    /// `-icount shift=N`.
    pub icount: Option<u32>,
    /// Extra QEMU arguments.
    pub qemu_args: Vec<String>,
    /// Which build of the hypervisor runs the case (`hypervisor`).
    pub hypervisor: HypervisorBuild,
    /// A case of the same run whose console output this one must repeat line for line
    /// (`same_output_as`).
    pub same_output_as: Option<String>,
    /// Regions of memory compared from outside the guests (`[[memory_check]]`).
    pub memory_checks: Vec<MemoryCheck>,
    /// Lines of `expected.txt`, which must appear in this order.
    pub expected: Vec<String>,
    /// Case-specific and shared forbidden text (minus `allow`).
    pub forbidden: Vec<String>,
    /// Lines of `expected-stock.txt`, used instead of [`Case::expected`] on the stock QEMU.
    pub expected_stock: Option<Vec<String>>,
    /// `forbidden-stock.txt` and the shared forbidden text (minus `allow`), used instead of
    /// [`Case::forbidden`] on the stock QEMU.
    pub forbidden_stock: Option<Vec<String>>,
}

/// How the expected lines of a case are ordered (`order` in case.toml).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// `"global"`: every expected line comes after the console line that matched the
    /// previous one.
    #[default]
    Global,
    /// `"per-domain"`: each expected line comes after the previous expected line *of its
    /// own stream* ([`Stream`]), for domains running side by side.
    PerDomain,
}

/// The console stream a line belongs to, for `order = "per-domain"`. Expected lines are
/// assigned to a stream the same way as console lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream<'a> {
    /// `NAME: ...` where NAME is a domain of the case's configuration, and the
    /// hypervisor's lines about that domain, `hv: domain NAME: ...` / `hv: domain NAME ...`
    /// (so that two domains' exit lines need no order between them).
    Domain(&'a str),
    /// Other lines starting `hv:`.
    Hv,
    /// Everything else.
    Other,
}

impl fmt::Display for Stream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stream::Domain(d) => write!(f, "domain {d}"),
            Stream::Hv => write!(f, "hv"),
            Stream::Other => write!(f, "other"),
        }
    }
}

/// The stream of `line` among the domains `domains` (see [`Stream`]).
pub fn stream_of<'a>(line: &str, domains: &'a [String]) -> Stream<'a> {
    for d in domains {
        if line.strip_prefix(d.as_str()).is_some_and(|r| r.starts_with(": ")) {
            return Stream::Domain(d);
        }
        let about = line.strip_prefix("hv: domain ").and_then(|r| r.strip_prefix(d.as_str()));
        if about.is_some_and(|r| r.starts_with(' ') || r.starts_with(':')) {
            return Stream::Domain(d);
        }
    }
    if line.starts_with("hv:") {
        Stream::Hv
    } else {
        Stream::Other
    }
}

const KNOWN_KEYS: &[&str] = &[
    "description",
    "config",
    "timeout_secs",
    "memory",
    "stop_on",
    "timeout_ok",
    "corrupt_hv_md",
    "requires",
    "firmware_dir",
    "guest_image",
    "guest_vcpus",
    "input",
    "files",
    "drive",
    "icount",
    "qemu_args",
    "allow",
    "hypervisor",
    "same_output_as",
    "stop_on_stock",
    "order",
    "memory_check",
];

/// A region of guest-physical memory the harness reads from outside the guests
/// (`[[memory_check]]` in case.toml) through QEMU's machine protocol: once when the console
/// line `from` appears and once when the run ends at a stop line (the machine stopped both
/// times). Both snapshots must be equal, and with `pattern = "canary"` every 64-bit word of
/// both must be its canary word ([`canary_word`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryCheck {
    /// What the region is (`what`), for the report.
    pub what: String,
    /// First physical address (`base`).
    pub base: u64,
    /// Bytes (`size`: a size like `"8M"` or a number), a multiple of 8.
    pub size: u64,
    /// The console text at which the first snapshot is taken (`from`).
    pub from: String,
    /// Whether the region must hold canary words (`pattern = "canary"`).
    pub canary: bool,
}

/// The canary word at physical address `a` (`pattern = "canary"`; the test guest fills its
/// canary regions with these, big-endian): `(a ^ 0xc0ffee00deadbeef) * 0x9e3779b97f4a7c15`,
/// wrapping.
pub fn canary_word(a: u64) -> u64 {
    (a ^ 0xc0ff_ee00_dead_beef).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl MemoryCheck {
    fn parse(i: usize, v: &toml::Value) -> Result<MemoryCheck, String> {
        let at = format!("case.toml: memory_check[{i}]");
        let tab = v.as_table().ok_or_else(|| format!("{at}: must be a table ([[memory_check]])"))?;
        for k in tab.keys() {
            if !["what", "base", "size", "from", "pattern"].contains(&k.as_str()) {
                return Err(format!("{at}: unknown field `{k}` (known: what, base, size, from, pattern)"));
            }
        }
        let string = |k: &str| -> Result<String, String> {
            tab.get(k).and_then(|x| x.as_str()).map(str::to_string).ok_or_else(|| format!("{at}.{k} must be a string"))
        };
        let base = tab
            .get("base")
            .and_then(|x| x.as_integer())
            .and_then(|b| u64::try_from(b).ok())
            .ok_or_else(|| format!("{at}.base must be a non-negative integer"))?;
        let size = match tab.get("size") {
            Some(toml::Value::String(s)) => ldom_config::parse_size(s).map_err(|e| format!("{at}.size: {e}"))?,
            Some(toml::Value::Integer(n)) if *n > 0 => *n as u64,
            _ => return Err(format!("{at}.size must be a size like \"8M\"")),
        };
        if size == 0 || size % 8 != 0 || base % 8 != 0 || base.checked_add(size).is_none() {
            return Err(format!("{at}: base and size must be multiples of 8, size not 0"));
        }
        let canary = match tab.get("pattern") {
            None => false,
            Some(p) if p.as_str() == Some("canary") => true,
            Some(_) => return Err(format!("{at}.pattern must be \"canary\"")),
        };
        let from = string("from")?;
        if from.is_empty() {
            return Err(format!("{at}.from must not be empty"));
        }
        Ok(MemoryCheck { what: string("what")?, base, size, from, canary })
    }

    /// The problems of the two snapshots `first` (at `from`) and `last` (at the end): a
    /// difference (the first differing word and how many differ) or, with the canary
    /// pattern, a word that is not its canary word.
    pub fn compare(&self, first: &[u8], last: &[u8]) -> Vec<String> {
        let mut problems = Vec::new();
        let size = self.size as usize;
        if first.len() != size || last.len() != size {
            problems.push(format!(
                "memory check `{}`: snapshots of {} and {} bytes, expected {size}",
                self.what,
                first.len(),
                last.len()
            ));
            return problems;
        }
        let word = |b: &[u8], i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let addr = |i: usize| self.base + i as u64;
        let differing: Vec<usize> = (0..size).step_by(8).filter(|&i| word(first, i) != word(last, i)).collect();
        if let Some(&i) = differing.first() {
            problems.push(format!(
                "memory check `{}`: {} words changed between `{}` and the end, the first at {:#x}: {:#018x} -> {:#018x}",
                self.what,
                differing.len(),
                self.from,
                addr(i),
                word(first, i),
                word(last, i)
            ));
        }
        if self.canary {
            for (when, snap) in [("at `from`", first), ("at the end", last)] {
                let wrong: Vec<usize> =
                    (0..size).step_by(8).filter(|&i| word(snap, i) != canary_word(addr(i))).collect();
                if let Some(&i) = wrong.first() {
                    problems.push(format!(
                        "memory check `{}`: {} words {when} are not the canary, the first at {:#x}: {:#018x}, expected {:#018x}",
                        self.what,
                        wrong.len(),
                        addr(i),
                        word(snap, i),
                        canary_word(addr(i))
                    ));
                }
            }
        }
        problems
    }
}

/// A build of our hypervisor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HypervisorBuild {
    /// The normal build, with the assembly fast paths.
    #[default]
    Standard,
    /// `HV_NO_FAST=1`: every trap takes the common path to the Rust handlers.
    NoFast,
}

impl HypervisorBuild {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "standard" => Ok(HypervisorBuild::Standard),
            "no-fast" => Ok(HypervisorBuild::NoFast),
            _ => Err(format!("`hypervisor` must be \"standard\" or \"no-fast\", not `{s}`")),
        }
    }
}

const FILE_NAMES: &[&str] = &["reset.bin", "q.bin", "openboot.bin", "1up-hv.bin", "1up-md.bin", "nvram1"];

/// Reads a list file: one entry a line; blank lines and `#` comments are ignored.
pub fn read_lines_file(path: &Path) -> Result<Vec<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(parse_lines(&s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn parse_lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim_end_matches(['\r', ' ', '\t']))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn str_or_list(v: &toml::Value, key: &str) -> Result<Vec<String>, String> {
    match v {
        toml::Value::String(s) => Ok(vec![s.clone()]),
        toml::Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` must be a string or an array of strings"))
            })
            .collect(),
        _ => Err(format!("`{key}` must be a string or an array of strings")),
    }
}

impl Case {
    /// Parses a case from the text of its files (`shared_forbidden` = forbidden-always.txt).
    pub fn parse(
        name: &str,
        dir: &Path,
        case_toml: &str,
        expected: &str,
        forbidden: &str,
        shared_forbidden: &[String],
    ) -> Result<Case, String> {
        Case::parse_with_stock(name, dir, case_toml, (expected, None), (forbidden, None), shared_forbidden)
    }

    /// [`Case::parse`] with the stock-QEMU files: `expected` and `forbidden` are the texts of
    /// `expected.txt` and `expected-stock.txt`, `forbidden.txt` and `forbidden-stock.txt`
    /// (`None`: no such file).
    pub fn parse_with_stock(
        name: &str,
        dir: &Path,
        case_toml: &str,
        expected: (&str, Option<&str>),
        forbidden: (&str, Option<&str>),
        shared_forbidden: &[String],
    ) -> Result<Case, String> {
        let t: toml::Table = case_toml.parse().map_err(|e| format!("case.toml: {e}"))?;
        for k in t.keys() {
            if !KNOWN_KEYS.contains(&k.as_str()) {
                return Err(format!("case.toml: unknown field `{k}` (known: {})", KNOWN_KEYS.join(", ")));
            }
        }
        let get_str = |k: &str| -> Result<Option<String>, String> {
            t.get(k)
                .map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("case.toml: `{k}` must be a string")))
                .transpose()
        };
        let get_int = |k: &str| -> Result<Option<u64>, String> {
            t.get(k)
                .map(|v| {
                    v.as_integer()
                        .and_then(|i| u64::try_from(i).ok())
                        .ok_or_else(|| format!("case.toml: `{k}` must be a non-negative integer"))
                })
                .transpose()
        };
        // Sizes as in configurations: a string in ldom-config's size syntax, or an
        // integer number of bytes.
        let memory = match t.get("memory") {
            None => None,
            Some(toml::Value::String(s)) => {
                Some(ldom_config::parse_size(s).map_err(|e| format!("case.toml: memory: {e}"))?)
            }
            Some(toml::Value::Integer(i)) if *i > 0 => Some(*i as u64),
            Some(_) => return Err("case.toml: `memory` must be a size like \"256M\"".into()),
        };
        let stop_on = match t.get("stop_on") {
            Some(v) => str_or_list(v, "stop_on").map_err(|e| format!("case.toml: {e}"))?,
            None => vec![END_MARKER.to_string()],
        };
        if stop_on.iter().any(|s| s.is_empty()) {
            return Err("case.toml: `stop_on` entries must not be empty".into());
        }
        let stop_on_stock = t
            .get("stop_on_stock")
            .map(|v| str_or_list(v, "stop_on_stock").map_err(|e| format!("case.toml: {e}")))
            .transpose()?;
        if stop_on_stock.as_ref().is_some_and(|s| s.is_empty() || s.iter().any(|s| s.is_empty())) {
            return Err("case.toml: `stop_on_stock` entries must not be empty".into());
        }
        let order = match get_str("order")?.as_deref() {
            None | Some("global") => Order::Global,
            Some("per-domain") => Order::PerDomain,
            Some(o) => return Err(format!("case.toml: `order` must be \"global\" or \"per-domain\", not `{o}`")),
        };
        let timeout_ok = match t.get("timeout_ok") {
            None => false,
            Some(v) => v.as_bool().ok_or("case.toml: `timeout_ok` must be true or false")?,
        };
        let corrupt_hv_md = get_str("corrupt_hv_md")?
            .map(|s| s.parse::<Corruption>())
            .transpose()
            .map_err(|e| format!("case.toml: corrupt_hv_md: {e}"))?;
        let mut requires = match t.get("requires") {
            Some(v) => str_or_list(v, "requires")
                .and_then(|l| l.iter().map(|s| Requirement::parse(s)).collect())
                .map_err(|e| format!("case.toml: {e}"))?,
            None => Vec::new(),
        };
        requires.sort();
        requires.dedup();
        let mut files = BTreeMap::new();
        if let Some(v) = t.get("files") {
            let tab = v.as_table().ok_or("case.toml: `files` must be a table of file name = path")?;
            for (k, v) in tab {
                if !FILE_NAMES.contains(&k.as_str()) {
                    return Err(format!(
                        "case.toml: files: `{k}` is not a firmware file (known: {})",
                        FILE_NAMES.join(", ")
                    ));
                }
                let p = v.as_str().ok_or_else(|| format!("case.toml: files.{k} must be a path string"))?;
                files.insert(k.clone(), p.to_string());
            }
        }
        let icount = get_int("icount")?
            .map(|i| u32::try_from(i).map_err(|_| "case.toml: icount too large".to_string()))
            .transpose()?;
        let qemu_args = match t.get("qemu_args") {
            Some(v) => str_or_list(v, "qemu_args").map_err(|e| format!("case.toml: {e}"))?,
            None => Vec::new(),
        };
        let allow = match t.get("allow") {
            Some(v) => str_or_list(v, "allow").map_err(|e| format!("case.toml: {e}"))?,
            None => Vec::new(),
        };
        let mut input = Vec::new();
        if let Some(v) = t.get("input") {
            let arr = v.as_array().ok_or("case.toml: `input` must be an array of tables ([[input]])")?;
            for (i, step) in arr.iter().enumerate() {
                let tab = step.as_table().ok_or("case.toml: `input` must be an array of tables ([[input]])")?;
                let field = |k: &str| -> Result<String, String> {
                    tab.get(k)
                        .and_then(|x| x.as_str())
                        .map(str::to_string)
                        .ok_or_else(|| format!("case.toml: input[{i}].{k} must be a string"))
                };
                for k in tab.keys() {
                    if k != "after" && k != "send" {
                        return Err(format!("case.toml: input[{i}]: unknown field `{k}` (known: after, send)"));
                    }
                }
                input.push(InputStep::new(field("after")?, field("send")?));
            }
        }
        let memory_checks = match t.get("memory_check") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .ok_or("case.toml: `memory_check` must be an array of tables ([[memory_check]])")?
                .iter()
                .enumerate()
                .map(|(i, c)| MemoryCheck::parse(i, c))
                .collect::<Result<_, _>>()?,
        };
        let hypervisor = get_str("hypervisor")?
            .map(|h| HypervisorBuild::parse(&h))
            .transpose()
            .map_err(|e| format!("case.toml: {e}"))?
            .unwrap_or_default();
        let guest_image = get_str("guest_image")?;
        if guest_image.is_some() && (t.contains_key("firmware_dir") || t.contains_key("config")) {
            return Err("case.toml: `guest_image` generates the configuration: it cannot be combined \
                 with `config` or `firmware_dir`"
                .into());
        }
        let guest_vcpus = match get_int("guest_vcpus")? {
            None => 1,
            Some(_) if guest_image.is_none() => {
                return Err("case.toml: `guest_vcpus` is for the generated configuration of `guest_image`".into())
            }
            Some(n @ 1..=MAX_GUEST_VCPUS) => n as u32,
            Some(n) => return Err(format!("case.toml: `guest_vcpus` must be 1 to {MAX_GUEST_VCPUS}, not {n}")),
        };
        let (expected, expected_stock) = (parse_lines(expected.0), expected.1.map(parse_lines));
        let shared: Vec<String> = shared_forbidden.iter().filter(|f| !allow.contains(f)).cloned().collect();
        let all_forbidden: Vec<String> = shared.iter().cloned().chain(parse_lines(forbidden.0)).collect();
        let forbidden_stock = forbidden.1.map(|f| shared.iter().cloned().chain(parse_lines(f)).collect());
        Ok(Case {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            description: get_str("description")?,
            config: PathBuf::from(get_str("config")?.unwrap_or_else(|| DEFAULT_CONFIG.into())),
            timeout: Duration::from_secs(get_int("timeout_secs")?.unwrap_or(DEFAULT_TIMEOUT_SECS)),
            memory,
            stop_on,
            stop_on_stock,
            order,
            timeout_ok,
            corrupt_hv_md,
            requires,
            firmware_dir: get_str("firmware_dir")?,
            guest_image,
            guest_vcpus,
            input,
            files,
            drive: get_str("drive")?,
            icount,
            qemu_args,
            hypervisor,
            same_output_as: get_str("same_output_as")?,
            memory_checks,
            expected,
            forbidden: all_forbidden,
            expected_stock,
            forbidden_stock,
        })
    }

    /// Reads the case in `dir` (its name is the folder name).
    pub fn load(dir: &Path, shared_forbidden: &[String]) -> Result<Case, String> {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let read = |f: &str, required: bool| -> Result<String, String> {
            let p = dir.join(f);
            match std::fs::read_to_string(&p) {
                Ok(s) => Ok(s),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(String::new()),
                Err(e) => Err(format!("cannot read {}: {e}", p.display())),
            }
        };
        let optional = |f: &str| -> Result<Option<String>, String> {
            if dir.join(f).exists() {
                read(f, true).map(Some)
            } else {
                Ok(None)
            }
        };
        let (expected_stock, forbidden_stock) = (optional("expected-stock.txt")?, optional("forbidden-stock.txt")?);
        let case = Case::parse_with_stock(
            &name,
            dir,
            &read("case.toml", false)?,
            (&read("expected.txt", true)?, expected_stock.as_deref()),
            (&read("forbidden.txt", false)?, forbidden_stock.as_deref()),
            shared_forbidden,
        )
        .map_err(|e| format!("case {name}: {e}"))?;
        if case.expected.is_empty() {
            return Err(format!("case {name}: expected.txt lists no line"));
        }
        if case.expected_stock.as_ref().is_some_and(|e| e.is_empty()) {
            return Err(format!("case {name}: expected-stock.txt lists no line"));
        }
        Ok(case)
    }

    /// The expected lines of the pass on the stock QEMU (`stock`) or the patched one.
    pub fn expected_lines(&self, stock: bool) -> &[String] {
        match &self.expected_stock {
            Some(e) if stock => e,
            _ => &self.expected,
        }
    }

    /// The forbidden text of the pass on the stock QEMU (`stock`) or the patched one.
    pub fn forbidden_text(&self, stock: bool) -> &[String] {
        match &self.forbidden_stock {
            Some(f) if stock => f,
            _ => &self.forbidden,
        }
    }

    /// The `stop_on` lines of the pass on the stock QEMU (`stock`) or the patched one.
    pub fn stop_lines(&self, stock: bool) -> &[String] {
        match &self.stop_on_stock {
            Some(s) if stock => s,
            _ => &self.stop_on,
        }
    }

    /// The markers that end the run on the stock QEMU (`stock`) or the patched one: the
    /// stop lines plus `hv: PANIC` (unless expected).
    pub fn end_markers(&self, stock: bool) -> Vec<String> {
        let mut m = self.stop_lines(stock).to_vec();
        if !self.expected_lines(stock).iter().any(|e| e.contains(PANIC_MARKER)) && !m.iter().any(|s| s == PANIC_MARKER)
        {
            m.push(PANIC_MARKER.to_string());
        }
        m
    }
}

/// Reads every case folder (a subfolder with `case.toml` or `expected.txt`) of `cases_dir`,
/// sorted by name.
pub fn load_cases(cases_dir: &Path) -> Result<Vec<Case>, String> {
    let shared = read_lines_file(&cases_dir.join(FORBIDDEN_ALWAYS))?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir)
        .map_err(|e| format!("cannot read {}: {e}", cases_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && (p.join("case.toml").exists() || p.join("expected.txt").exists()))
        .collect();
    dirs.sort();
    dirs.iter().map(|d| Case::load(d, &shared)).collect()
}

/// Checks console output of the patched-QEMU pass of a one-domain case: every expected
/// line in order, no forbidden text. Returns the list of problems (empty = pass).
pub fn check_output(case: &Case, output: &str) -> Vec<String> {
    check_run(case, output, false, &[])
}

/// Checks the console output of the pass on the stock QEMU (`stock`) or the patched one,
/// for a case whose configuration has the domains `domains`: every expected line in order
/// (globally, or within its stream with `order = "per-domain"`), no forbidden text.
/// Returns the list of problems (empty = pass).
pub fn check_run(case: &Case, output: &str, stock: bool, domains: &[String]) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    let expected = case.expected_lines(stock);
    let mut problems = match case.order {
        Order::Global => match_in_order(expected, &lines).into_iter().collect::<Vec<_>>(),
        Order::PerDomain => match_per_stream(expected, &lines, domains),
    };
    for f in case.forbidden_text(stock) {
        if let Some(l) = lines.iter().find(|l| l.contains(f.as_str())) {
            problems.push(format!("forbidden `{f}` found in line: {l}"));
        }
    }
    problems
}

/// Matches `expected` in order against `lines`: the first missing line, if any.
fn match_in_order(expected: &[String], lines: &[&str]) -> Option<String> {
    let mut next = 0usize;
    for (i, exp) in expected.iter().enumerate() {
        match lines[next..].iter().position(|l| l.contains(exp.as_str())) {
            Some(p) => next += p + 1,
            None => {
                let where_ = if i == 0 { String::new() } else { format!(" after `{}`", expected[i - 1]) };
                let anywhere = if next > 0 && lines[..next].iter().any(|l| l.contains(exp.as_str())) {
                    " (it appears, but too early)"
                } else {
                    ""
                };
                return Some(format!(
                    "missing expected line {} of {}{where_}: `{exp}`{anywhere}",
                    i + 1,
                    expected.len()
                ));
            }
        }
    }
    None
}

/// Matches `expected` in order within each stream ([`stream_of`]): every stream's expected
/// lines against that stream's console lines. One problem per stream with a missing line.
fn match_per_stream(expected: &[String], lines: &[&str], domains: &[String]) -> Vec<String> {
    let mut streams: Vec<Stream<'_>> = Vec::new();
    for e in expected {
        let s = stream_of(e, domains);
        if !streams.contains(&s) {
            streams.push(s);
        }
    }
    let mut problems = Vec::new();
    for s in streams {
        let exp: Vec<String> = expected.iter().filter(|e| stream_of(e, domains) == s).cloned().collect();
        let own: Vec<&str> = lines.iter().copied().filter(|l| stream_of(l, domains) == s).collect();
        if let Some(p) = match_in_order(&exp, &own) {
            problems.push(format!("stream {s}: {p}"));
        }
    }
    problems
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// What the harness gets from the command line.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// The workspace root (`${WORKSPACE}`; case `config` paths are relative to it).
    pub workspace: PathBuf,
    /// Where each case's firmware set and console log are written (`<dir>/<case>/`).
    pub out_dir: PathBuf,
    /// Sun's firmware directory (`--sun-firmware DIR`).
    pub sun_firmware: Option<PathBuf>,
    /// The SILO directory (`--silo DIR`).
    pub silo: Option<PathBuf>,
    /// The Linux SILO ISO for `${LINUX_ISO}` / `requires = "linux"`: `None` = not available
    /// (the cases are skipped), `Some(Err)` = building it failed (the cases fail).
    pub linux_iso: Option<Result<PathBuf, String>>,
    /// The Linux boot image for `${LINUX_BOOT}` / `requires = "linux-boot"`, as `linux_iso`.
    pub linux_boot: Option<Result<PathBuf, String>>,
    /// QEMU binary (default `qemu-system-sparc64` on PATH, the stock one). A binary given
    /// here is the patched QEMU: cases with `requires = "qemu-sun4v"` run only then.
    pub qemu: Option<PathBuf>,
}

impl Env {
    /// Expands `${WORKSPACE}`, `${CASE_DIR}`, `${SUN_FIRMWARE}`, `${SILO}`, `${LINUX_ISO}`;
    /// a relative result is taken relative to the case folder. Fails when a variable used in
    /// `s` is not available.
    pub fn expand(&self, case: &Case, s: &str) -> Result<PathBuf, String> {
        let p = PathBuf::from(self.expand_text(case, s)?);
        Ok(if p.is_absolute() { p } else { case.dir.join(p) })
    }

    /// The variables of [`Env::expand`] replaced in `s`, which stays text (a configuration
    /// file's). Fails when a variable used in `s` is not available.
    pub fn expand_text(&self, case: &Case, s: &str) -> Result<String, String> {
        let mut out = s.to_string();
        if out.contains("${LINUX_BOOT}") {
            match &self.linux_boot {
                Some(Ok(p)) => out = out.replace("${LINUX_BOOT}", &p.to_string_lossy()),
                Some(Err(e)) => return Err(format!("`{s}`: the Linux boot image: {e}")),
                None => return Err(format!("`{s}` needs {}", Requirement::LinuxBoot.option())),
            }
        }
        if out.contains("${LINUX_ISO}") {
            match &self.linux_iso {
                Some(Ok(p)) => out = out.replace("${LINUX_ISO}", &p.to_string_lossy()),
                Some(Err(e)) => return Err(format!("`{s}`: the Linux ISO: {e}")),
                None => return Err(format!("`{s}` needs {}", Requirement::Linux.option())),
            }
        }
        let vars: [(&str, Option<&Path>, &str); 4] = [
            ("${WORKSPACE}", Some(&self.workspace), ""),
            ("${CASE_DIR}", Some(&case.dir), ""),
            ("${SUN_FIRMWARE}", self.sun_firmware.as_deref(), "--sun-firmware DIR"),
            ("${SILO}", self.silo.as_deref(), "--silo DIR"),
        ];
        for (var, val, opt) in vars {
            if out.contains(var) {
                let v = val.ok_or_else(|| format!("`{s}` needs {opt}"))?;
                out = out.replace(var, &v.to_string_lossy());
            }
        }
        Ok(out)
    }

    fn missing(&self, r: Requirement) -> bool {
        match r {
            Requirement::SunFirmware => self.sun_firmware.is_none(),
            Requirement::Silo => self.silo.is_none(),
            Requirement::Linux => self.linux_iso.is_none(),
            Requirement::LinuxBoot => self.linux_boot.is_none(),
            Requirement::QemuSun4v => self.qemu.is_none(),
        }
    }
}

/// Produces the firmware set for an ldom-config file (the xtask builds the hypervisor and
/// guests and runs the config compiler).
pub trait FirmwareSource {
    /// The firmware set and the partition RAM size for `config` (an absolute path), with
    /// the hypervisor `build`.
    fn firmware_set(&mut self, config: &Path, build: HypervisorBuild) -> Result<(FirmwareSet, u64), String>;
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Pass,
    /// The case failed; the details.
    Fail(String),
    /// The case was not run; the reason.
    Skip(String),
}

/// The most vCPUs `guest_vcpus` may ask for: the strands of a T1.
pub const MAX_GUEST_VCPUS: u64 = 32;

/// The one-domain configuration for running `image` as domain 0 on our hypervisor: the shape
/// of Sun's 1up (256 MiB at 0x80000000, entry at the power-on-reset vector realbase + 0x20),
/// with `vcpus` vCPUs on strands 0..`vcpus`-1 (1 for Sun's 1up).
pub fn single_guest_config(image: &Path, vcpus: u32) -> String {
    let image = toml::Value::String(image.to_string_lossy().into_owned());
    let vcpus = vcpus.max(1);
    let ids: Vec<String> = (0..vcpus).map(|i| i.to_string()).collect();
    let ids = ids.join(", ");
    format!(
        "# Generated: {image} as domain 0 of our hypervisor (Sun's 1up shape, {vcpus} vCPU(s)).\n\
         [platform]\nram-size = \"256M\"\nstrands = {vcpus}\n\n\
         [[domain]]\nname = \"primary\"\nvcpus = [{ids}]\n\
         memory = {{ base = 0x80000000, size = \"256M\" }}\n\
         image = {image}\nentry-offset = 0x20\nconsole = \"uart\"\nfailure-policy = \"stop\"\n"
    )
}

/// Where the generated configuration of a `guest_image` case is written.
fn generated_config(case: &Case, env: &Env) -> PathBuf {
    env.out_dir.join(format!("{}.ldom.toml", case.name))
}

/// The configuration a case runs, once its firmware set is prepared: `config`, or the
/// generated one of `guest_image`; `None` with `firmware_dir` (Sun's files).
pub fn case_config(case: &Case, env: &Env) -> Result<Option<ldom_config::Config>, String> {
    let path = match (&case.firmware_dir, &case.guest_image) {
        (Some(_), _) => return Ok(None),
        (None, Some(_)) => generated_config(case, env),
        (None, None) => expanded_config(case, env)?,
    };
    ldom_config::load(&path).map(Some).map_err(|e| e.to_string())
}

/// The `config` of a case: the file itself, or, when its text uses `${SUN_FIRMWARE}` or
/// another variable of [`Env::expand`] (e.g. Sun's OpenBoot as the image of several
/// domains), a copy with them replaced, written where a generated configuration goes.
fn expanded_config(case: &Case, env: &Env) -> Result<PathBuf, String> {
    let path = env.workspace.join(&case.config);
    // A file that cannot be read is the firmware builder's to report.
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(path) };
    if !text.contains("${") {
        return Ok(path);
    }
    let text = env.expand_text(case, &text)?;
    let out = generated_config(case, env);
    std::fs::create_dir_all(&env.out_dir)
        .and_then(|_| std::fs::write(&out, text))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

/// Prepares the firmware set of a case and writes it to `dir`; returns the RAM size.
fn prepare(case: &Case, env: &Env, src: &mut dyn FirmwareSource, dir: &Path) -> Result<Option<u64>, String> {
    let (mut set, ram) = match (&case.firmware_dir, &case.guest_image) {
        (Some(d), _) => (FirmwareSet::read_from(&env.expand(case, d)?)?, None),
        (None, Some(img)) => {
            let img = env.expand(case, img)?;
            if !img.is_file() {
                return Err(format!("guest_image {} not found", img.display()));
            }
            let config = generated_config(case, env);
            std::fs::create_dir_all(&env.out_dir)
                .and_then(|_| std::fs::write(&config, single_guest_config(&img, case.guest_vcpus)))
                .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
            let (set, ram) = src
                .firmware_set(&config, case.hypervisor)
                .map_err(|e| format!("building the firmware set for {img:?}: {e}"))?;
            (set, Some(ram))
        }
        (None, None) => {
            let config = expanded_config(case, env)?;
            let (set, ram) = src
                .firmware_set(&config, case.hypervisor)
                .map_err(|e| format!("building the firmware set for {}: {e}", case.config.display()))?;
            (set, Some(ram))
        }
    };
    for (name, path) in &case.files {
        let p = env.expand(case, path)?;
        let data = std::fs::read(&p).map_err(|e| format!("files.{name}: cannot read {}: {e}", p.display()))?;
        match name.as_str() {
            "reset.bin" => set.reset_bin = data,
            "q.bin" => set.q_bin = data,
            "openboot.bin" => set.openboot_bin = data,
            "1up-hv.bin" => set.hv_md = data,
            "1up-md.bin" => set.md_rom = data,
            "nvram1" => set.nvram = Some(data),
            _ => unreachable!("checked when parsing"),
        }
    }
    if let Some(c) = &case.corrupt_hv_md {
        c.apply(&mut set.hv_md)?;
    }
    let _ = std::fs::remove_dir_all(dir);
    set.write_to(dir)?;
    Ok(ram)
}

/// Whether the case's firmware set has our hypervisor (`q.bin`, reached from our
/// `reset.bin`): not Sun's set, not a case that replaces either file.
pub fn runs_our_hypervisor(case: &Case) -> bool {
    case.firmware_dir.is_none() && !case.files.keys().any(|f| f == "reset.bin" || f == "q.bin")
}

/// Runs one case: builds its firmware set, boots it, checks the output.
/// Returns the verdict and the console output (if QEMU ran).
pub fn run_case(case: &Case, env: &Env, src: &mut dyn FirmwareSource) -> (Verdict, Option<Outcome>) {
    if let Some(r) = case.requires.iter().find(|r| env.missing(**r)) {
        return (Verdict::Skip(format!("needs {}", r.option())), None);
    }
    let dir = env.out_dir.join(&case.name);
    let ram = match prepare(case, env, src, &dir) {
        Ok(r) => r,
        Err(e) => return (Verdict::Fail(e), None),
    };
    // The domains (for `order = "per-domain"`) and the strands (`-smp`) of the configuration.
    let config = match case_config(case, env) {
        Ok(c) => c,
        Err(e) => return (Verdict::Fail(e), None),
    };
    let domains: Vec<String> = config.iter().flat_map(|c| c.domains.iter().map(|d| d.name.clone())).collect();
    let stock = env.qemu.is_none();
    let mut q = Qemu::new(&dir);
    if let Some(b) = &env.qemu {
        q = q.binary(b);
    }
    // Never on the stock QEMU (one strand); not when the case sets -smp itself.
    let strands = config.as_ref().map_or(1, ldom_config::Config::qemu_strands);
    if !stock && strands > 1 && !case.qemu_args.iter().any(|a| a == "-smp") {
        q = q.smp(strands);
    }
    // Our hypervisor on the patched QEMU: guest real addresses go through real TLB entries
    // and partition IDs (RA→PA, docs/security.md). Not for Sun's hypervisor or the check
    // image, which rely on RA = PA, nor when the case sets the option itself.
    if !stock && runs_our_hypervisor(case) && !case.qemu_args.iter().any(|a| a.contains("ra2pa")) {
        q = q.extra_arg("-machine").extra_arg("ra2pa=on");
    }
    if let Some(m) = case.memory.or(ram) {
        q = q.memory(m);
    }
    if let Some(d) = &case.drive {
        match env.expand(case, d) {
            Ok(p) => q = q.drive(p),
            Err(e) => return (Verdict::Fail(e), None),
        }
    }
    if let Some(s) = case.icount {
        q = q.icount(s);
    }
    for a in &case.qemu_args {
        q = q.extra_arg(a);
    }
    let markers = case.end_markers(stock);
    let markers: Vec<&str> = markers.iter().map(String::as_str).collect();
    // Memory checks: a snapshot at `from` and one at the end, through a QMP socket (in the
    // temporary folder: a Unix socket's path is short).
    let snapshots: Vec<Snapshot> = case
        .memory_checks
        .iter()
        .enumerate()
        .flat_map(|(i, m)| {
            [(Some(m.from.clone()), "from"), (None, "end")].map(|(at, when)| Snapshot {
                at,
                base: m.base,
                size: m.size,
                file: dir.join(format!("memory-{i}-{when}.bin")),
            })
        })
        .collect();
    let socket = std::env::temp_dir().join(format!("sun4v-qmp-{}-{}.sock", std::process::id(), case.name));
    if !snapshots.is_empty() {
        let _ = std::fs::remove_file(&socket);
        q = q.qmp_socket(&socket);
    }
    let run = q.run_with_snapshots(case.timeout, &markers, &case.input, &snapshots);
    if !snapshots.is_empty() {
        let _ = std::fs::remove_file(&socket);
    }
    let (outcome, taken) = match run {
        Ok(o) => o,
        Err(e) => return (Verdict::Fail(format!("{e}\ncommand: {}", q.command_line())), None),
    };
    let _ = std::fs::write(dir.join("console.log"), &outcome.output);
    let mut problems = Vec::new();
    if matches!(outcome.ended_by, EndedBy::EndMarker(_)) {
        problems.extend(check_memory(&case.memory_checks, &snapshots, &taken));
    }
    match &outcome.ended_by {
        EndedBy::EndMarker(_) => {}
        EndedBy::Timeout if case.timeout_ok => {}
        EndedBy::Timeout => problems.push(format!(
            "timed out after {} s without seeing {}",
            case.timeout.as_secs(),
            case.stop_lines(stock).iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" or ")
        )),
        e @ (EndedBy::Exited(_) | EndedBy::Quit) => problems.push(format!("{e} before a stop line")),
    }
    problems.extend(check_run(case, &outcome.output, stock, &domains));
    let verdict = if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "{}\ncommand: {}\nconsole log: {}",
            problems.join("\n"),
            q.command_line(),
            dir.join("console.log").display()
        ))
    };
    (verdict, Some(outcome))
}

/// The problems of the memory checks of a run that ended at a stop line: a snapshot not
/// taken, or the two snapshots of a check differing ([`MemoryCheck::compare`]). The snapshot
/// files of a check without problems are removed (the others are left for a look).
fn check_memory(checks: &[MemoryCheck], snapshots: &[Snapshot], taken: &[SnapshotTaken]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, m) in checks.iter().enumerate() {
        let (first, last) = (&snapshots[2 * i], &snapshots[2 * i + 1]);
        let mut own = Vec::new();
        for (t, when) in [(&taken[2 * i], format!("at `{}`", m.from)), (&taken[2 * i + 1], "at the end".into())] {
            match t {
                None => own.push(format!("memory check `{}`: no snapshot {when} (the text did not appear)", m.what)),
                Some(Err(e)) => own.push(format!("memory check `{}`: the snapshot {when} failed: {e}", m.what)),
                Some(Ok(())) => {}
            }
        }
        if own.is_empty() {
            match (std::fs::read(&first.file), std::fs::read(&last.file)) {
                (Ok(a), Ok(b)) => own.extend(m.compare(&a, &b)),
                (Err(e), _) | (_, Err(e)) => {
                    own.push(format!("memory check `{}`: cannot read a snapshot: {e}", m.what))
                }
            }
        }
        if own.is_empty() {
            let _ = std::fs::remove_file(&first.file);
            let _ = std::fs::remove_file(&last.file);
        }
        problems.extend(own);
    }
    problems
}

/// The first line where two console outputs differ (carriage returns ignored), or `None`.
pub fn first_difference(reference: &str, output: &str) -> Option<String> {
    let lines = |s: &str| -> Vec<String> { s.lines().map(|l| l.replace('\r', "")).collect() };
    let (a, b) = (lines(reference), lines(output));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            return Some(format!("line {}: `{y}`, expected `{x}`", i + 1));
        }
    }
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Less => Some(format!("extra line {}: `{}`", a.len() + 1, b[a.len()])),
        std::cmp::Ordering::Greater => Some(format!("line {} missing: `{}`", b.len() + 1, a[b.len()])),
    }
}

/// Counts of a harness run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases that were skipped.
    pub skipped: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        Ok(())
    }
}

/// Runs the cases in order, printing cargo-test-style lines to `out`:
/// `test qemu::<name> ... ok|FAILED|SKIPPED (reason)`, failure details, and as the very
/// last line the summary `N passed, N failed[, N skipped]`.
pub fn run_all(cases: &[Case], env: &Env, src: &mut dyn FirmwareSource, out: &mut dyn Write) -> Summary {
    let mut s = Summary::default();
    let mut failed_names = Vec::new();
    let _ = writeln!(out, "\nrunning {} QEMU test case{}", cases.len(), if cases.len() == 1 { "" } else { "s" });
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();
    for case in cases {
        let _ = write!(out, "test qemu::{} ... ", case.name);
        let _ = out.flush();
        let t = Instant::now();
        let (mut verdict, outcome) = run_case(case, env, src);
        if let (Verdict::Pass, Some(other), Some(o)) = (&verdict, &case.same_output_as, &outcome) {
            verdict = match outputs.get(other) {
                None => Verdict::Fail(format!("same_output_as: case `{other}` did not run in this run")),
                Some(reference) => match first_difference(reference, &o.output) {
                    None => Verdict::Pass,
                    Some(d) => Verdict::Fail(format!("output differs from case `{other}`: {d}")),
                },
            };
        }
        if let Some(o) = &outcome {
            outputs.insert(case.name.clone(), o.output.clone());
        }
        match verdict {
            Verdict::Pass => {
                s.passed += 1;
                let _ = writeln!(out, "ok");
            }
            Verdict::Skip(why) => {
                s.skipped += 1;
                let _ = writeln!(out, "SKIPPED ({why})");
            }
            Verdict::Fail(why) => {
                s.failed += 1;
                failed_names.push(case.name.clone());
                let _ = writeln!(out, "FAILED");
                let _ = writeln!(out, "  (after {:.1} s)", t.elapsed().as_secs_f64());
                for l in why.lines() {
                    let _ = writeln!(out, "  {l}");
                }
                if let Some(o) = outcome {
                    let _ = writeln!(out, "  ---- last {TAIL_LINES} lines of console ({}) ----", o.ended_by);
                    for l in tail(&o.output, TAIL_LINES).lines() {
                        let _ = writeln!(out, "  | {l}");
                    }
                    let _ = writeln!(out, "  ----");
                }
            }
        }
        let _ = out.flush();
    }
    if !failed_names.is_empty() {
        let _ = writeln!(out, "\nfailures:");
        for n in &failed_names {
            let _ = writeln!(out, "    qemu::{n}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(toml: &str, expected: &str, forbidden: &str) -> Result<Case, String> {
        Case::parse("t", Path::new("/cases/t"), toml, expected, forbidden, &["hv: PANIC".into(), "FAIL".into()])
    }

    #[test]
    fn defaults() {
        let c = case("", "a\n", "").unwrap();
        assert_eq!(c.config, PathBuf::from(DEFAULT_CONFIG));
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert_eq!(c.stop_on, [END_MARKER]);
        assert_eq!(c.end_markers(false), [END_MARKER, PANIC_MARKER]);
        assert_eq!(c.order, Order::Global);
        assert!(c.expected_stock.is_none() && c.forbidden_stock.is_none() && c.stop_on_stock.is_none());
        assert!(!c.timeout_ok && c.memory.is_none() && c.corrupt_hv_md.is_none());
        assert_eq!(c.forbidden, ["hv: PANIC", "FAIL"]);
    }

    #[test]
    fn fields() {
        let c = case(
            r#"
            config = "configs/two.toml"
            timeout_secs = 5
            memory = "256M"
            stop_on = ["x", "y"]
            timeout_ok = true
            corrupt_hv_md = "byte:0x10:255"
            requires = "sun-firmware"
            allow = ["FAIL"]
            qemu_args = ["-d", "int"]
            icount = 2
            [files]
            "1up-hv.bin" = "${SUN_FIRMWARE}/1up-hv.bin"
            [[input]]
            after = "ok"
            send = "banner\r"
            [[input]]
            after = ""
            send = "x"
            "#,
            "# comment\n\nfirst\nsecond  \r\n",
            "nope\n",
        )
        .unwrap();
        assert_eq!(c.config, PathBuf::from("configs/two.toml"));
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.memory, Some(256 << 20));
        assert_eq!(c.stop_on, ["x", "y"]);
        assert!(c.timeout_ok);
        assert_eq!(c.corrupt_hv_md, Some(Corruption::Byte { offset: 16, value: 255 }));
        assert_eq!(c.requires, [Requirement::SunFirmware]);
        assert_eq!(c.expected, ["first", "second"]);
        assert_eq!(c.forbidden, ["hv: PANIC", "nope"]);
        assert_eq!(c.qemu_args, ["-d", "int"]);
        assert_eq!(c.icount, Some(2));
        assert_eq!(c.input, [InputStep::new("ok", "banner\r"), InputStep::new("", "x")]);
        let env = Env { sun_firmware: Some("/sun".into()), ..Env::default() };
        assert_eq!(env.expand(&c, &c.files["1up-hv.bin"]).unwrap(), PathBuf::from("/sun/1up-hv.bin"));
        assert_eq!(env.expand(&c, "disk.img").unwrap(), PathBuf::from("/cases/t/disk.img"));
        assert!(Env::default().expand(&c, "${SILO}/x").unwrap_err().contains("--silo"));
    }

    #[test]
    fn parse_errors() {
        assert!(case("bogus = 1", "a", "").unwrap_err().contains("unknown field `bogus`"));
        assert!(case("corrupt_hv_md = \"zap:1\"", "a", "").is_err());
        assert!(case("corrupt_hv_md = \"byte:1:256\"", "a", "").is_err());
        assert!(case("requires = \"gpu\"", "a", "").is_err());
        assert!(case("timeout_secs = -1", "a", "").is_err());
        assert!(case("[files]\n\"x.bin\" = \"y\"", "a", "").is_err());
        assert!(case("memory = \"lots\"", "a", "").is_err());
        assert!(case("input = \"banner\"", "a", "").is_err());
        assert!(case("[[input]]\nafter = \"ok\"", "a", "").is_err());
        assert!(case("[[input]]\nafter = \"ok\"\nsend = \"x\"\nwait = 1", "a", "").is_err());
        assert!(case("guest_image = \"x.bin\"\nconfig = \"c.toml\"", "a", "").is_err());
    }

    #[test]
    fn linux_boot_image() {
        let c =
            case("config = \"configs/linux.toml\"\nrequires = [\"linux-boot\"]\ndrive = \"${LINUX_BOOT}\"", "a", "")
                .unwrap();
        assert_eq!(c.requires, [Requirement::LinuxBoot]);
        let env = Env::default();
        assert!(env.missing(Requirement::LinuxBoot));
        assert!(env.expand(&c, "${LINUX_BOOT}").is_err());
        let env = Env { linux_boot: Some(Ok("/c/boot.img".into())), ..Env::default() };
        assert_eq!(env.expand(&c, "${LINUX_BOOT}").unwrap(), PathBuf::from("/c/boot.img"));
        let env = Env { linux_boot: Some(Err("no compiler".into())), ..Env::default() };
        assert!(!env.missing(Requirement::LinuxBoot));
        assert!(env.expand(&c, "${LINUX_BOOT}").unwrap_err().contains("no compiler"));
    }

    #[test]
    fn guest_image_and_linux_iso() {
        let c = case("guest_image = \"${SUN_FIRMWARE}/openboot.bin\"\nrequires = [\"linux\", \"sun-firmware\"]\ndrive = \"${LINUX_ISO}\"", "a", "").unwrap();
        assert_eq!(c.requires, [Requirement::SunFirmware, Requirement::Linux]);
        let env = Env::default();
        assert!(env.missing(Requirement::Linux));
        assert!(env.expand(&c, "${LINUX_ISO}").is_err());
        let env = Env { linux_iso: Some(Ok("/t/linux.iso".into())), ..Env::default() };
        assert_eq!(env.expand(&c, "${LINUX_ISO}").unwrap(), PathBuf::from("/t/linux.iso"));
        let env = Env { linux_iso: Some(Err("no compiler".into())), ..Env::default() };
        assert!(!env.missing(Requirement::Linux));
        assert!(env.expand(&c, "${LINUX_ISO}").unwrap_err().contains("no compiler"));
        let cfg = single_guest_config(Path::new("/sun \"fw\"/openboot.bin"), 1);
        let t: toml::Table = cfg.parse().unwrap();
        assert_eq!(t["domain"][0]["image"].as_str(), Some("/sun \"fw\"/openboot.bin"));
        assert_eq!(t["platform"]["ram-size"].as_str(), Some("256M"));
        assert_eq!(t["domain"][0]["vcpus"].as_array().map(Vec::len), Some(1));
        assert_eq!(c.guest_vcpus, 1);
    }

    #[test]
    fn guest_vcpus() {
        let c = case("guest_image = \"${SUN_FIRMWARE}/openboot.bin\"\nguest_vcpus = 4", "a", "").unwrap();
        assert_eq!(c.guest_vcpus, 4);
        let cfg = single_guest_config(Path::new("/sun/openboot.bin"), c.guest_vcpus);
        let config = ldom_config::config::parse_str(Path::new("g.toml"), cfg.clone()).unwrap();
        assert_eq!(config.qemu_strands(), 4);
        let t: toml::Table = cfg.parse().unwrap();
        let ids: Vec<i64> =
            t["domain"][0]["vcpus"].as_array().unwrap().iter().map(|v| v.as_integer().unwrap()).collect();
        assert_eq!(ids, [0, 1, 2, 3]);
        assert_eq!(t["platform"]["strands"].as_integer(), Some(4));
        assert!(case("guest_vcpus = 2", "a", "").unwrap_err().contains("guest_image"));
        assert!(case("guest_image = \"x.bin\"\nguest_vcpus = 0", "a", "").is_err());
        assert!(case("guest_image = \"x.bin\"\nguest_vcpus = 33", "a", "").is_err());
    }

    #[test]
    fn corruptions() {
        let mut d = vec![1, 2, 3, 4];
        "truncate:2".parse::<Corruption>().unwrap().apply(&mut d).unwrap();
        assert_eq!(d, [1, 2]);
        "byte:1:0x7f".parse::<Corruption>().unwrap().apply(&mut d).unwrap();
        assert_eq!(d, [1, 0x7f]);
        assert!("byte:2:0".parse::<Corruption>().unwrap().apply(&mut d).is_err());
        assert!("truncate:3".parse::<Corruption>().unwrap().apply(&mut d).is_err());
    }

    #[test]
    fn checking() {
        let c = case("", "sun4v-hv\nstart\nall tests passed\n", "oops\n").unwrap();
        let good = "xx sun4v-hv v0.1\nguest: start\nguest: all tests passed\n";
        assert!(check_output(&c, good).is_empty());
        let p = check_output(&c, "guest: start\nsun4v-hv\nall tests passed\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("line 2 of 3") && p[0].contains("too early"), "{p:?}");
        let p = check_output(&c, &format!("{good}hv: PANIC at x\noops\n"));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("`hv: PANIC` found in line: hv: PANIC at x"));
        // Two expected lines cannot be satisfied by one console line.
        let c = case("", "a\na\n", "").unwrap();
        assert_eq!(check_output(&c, "a a\n").len(), 1);
        assert!(check_output(&c, "a\na\n").is_empty());
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn streams() {
        let d = names(&["primary", "guest1"]);
        assert_eq!(stream_of("primary: test-guest: start", &d), Stream::Domain("primary"));
        assert_eq!(stream_of("guest1: x", &d), Stream::Domain("guest1"));
        assert_eq!(stream_of("hv: domain guest1 exited with code 0", &d), Stream::Domain("guest1"));
        assert_eq!(stream_of("hv: domain primary: 256 MiB at 0x80000000", &d), Stream::Domain("primary"));
        assert_eq!(stream_of("hv: all domains stopped", &d), Stream::Hv);
        assert_eq!(stream_of("hv: domain primaryx exited", &d), Stream::Hv, "a name is matched whole");
        assert_eq!(stream_of("primaryx: a", &d), Stream::Other);
        assert_eq!(stream_of("guest2: a", &d), Stream::Other, "not a domain of the configuration");
        assert_eq!(stream_of("primary:no space", &d), Stream::Other);
        assert_eq!(stream_of("sun4v-hv", &d), Stream::Other);
        assert_eq!(stream_of("primary: a", &[]), Stream::Other);
    }

    #[test]
    fn per_domain_order() {
        let expected = "hv: domain primary: 256 MiB\nhv: domain guest1: 256 MiB\n\
                        primary: a\nprimary: b\nguest1: a\nguest1: b\n\
                        hv: domain primary exited\nhv: domain guest1 exited\nhv: all domains stopped\n";
        let c = case("order = \"per-domain\"", expected, "").unwrap();
        assert_eq!(c.order, Order::PerDomain);
        let d = names(&["primary", "guest1"]);
        // The two domains' lines interleaved any way, guest1 finishing first.
        let good = "hv: domain primary: 256 MiB\nhv: domain guest1: 256 MiB\nguest1: a\nprimary: a\n\
                    guest1: b\nhv: domain guest1 exited\nprimary: b\nhv: domain primary exited\n\
                    hv: all domains stopped\n";
        assert_eq!(check_run(&c, good, false, &d), Vec::<String>::new());
        // The same output fails the global order.
        let global = case("", expected, "").unwrap();
        assert_eq!(check_run(&global, good, false, &d).len(), 1);
        // Within a domain the order still counts.
        let bad = good.replace("primary: a\n", "primary: TMP\n").replace("primary: b\n", "primary: a\n");
        let bad = bad.replace("primary: TMP\n", "primary: b\n");
        let p = check_run(&c, &bad, false, &d);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("stream domain primary: missing expected line 3 of 4 after `primary: a`"), "{p:?}");
        assert!(p[0].contains("too early"), "{p:?}");
        // A domain's exit before its own output is out of order; a missing domain fails too.
        let bad = good.replace("guest1: b\nhv: domain guest1 exited\n", "hv: domain guest1 exited\nguest1: b\n");
        let p = check_run(&c, &bad, false, &d);
        assert!(p.len() == 1 && p[0].contains("stream domain guest1"), "{p:?}");
        let p = check_run(&c, &good.replace("guest1: a\n", ""), false, &d);
        assert!(p.len() == 1 && p[0].contains("`guest1: a`"), "{p:?}");
        // A line of another domain's stream does not satisfy an expected line.
        let c = case("order = \"per-domain\"", "primary: x\n", "").unwrap();
        assert_eq!(check_run(&c, "guest1: primary: x\n", false, &d).len(), 1);
        assert!(case("order = \"random\"", "a", "").unwrap_err().contains("per-domain"));
    }

    #[test]
    fn stock_files_replace_the_others_on_the_stock_qemu() {
        let c = Case::parse_with_stock(
            "t",
            Path::new("/cases/t"),
            "stop_on = \"hv: all domains stopped\"\nstop_on_stock = \"hv: boot stopped\"",
            ("both ran\n", Some("refused\n")),
            ("refused\n", Some("both ran\n")),
            &["hv: PANIC".into()],
        )
        .unwrap();
        assert_eq!(c.expected_lines(false), ["both ran"]);
        assert_eq!(c.expected_lines(true), ["refused"]);
        assert_eq!(c.forbidden_text(false), ["hv: PANIC", "refused"]);
        assert_eq!(c.forbidden_text(true), ["hv: PANIC", "both ran"]);
        assert_eq!(c.end_markers(false), [END_MARKER, PANIC_MARKER]);
        assert_eq!(c.end_markers(true), ["hv: boot stopped", PANIC_MARKER]);
        assert!(check_run(&c, "refused\n", true, &[]).is_empty());
        assert_eq!(check_run(&c, "refused\n", false, &[]).len(), 2);
        assert_eq!(check_run(&c, "both ran\n", true, &[]).len(), 2);
        assert!(check_run(&c, "both ran\n", false, &[]).is_empty());
        // Without stock files both passes use the same ones.
        let c = case("", "a\n", "b\n").unwrap();
        assert_eq!(c.expected_lines(true), c.expected_lines(false));
        assert_eq!(c.forbidden_text(true), c.forbidden_text(false));
        assert!(case("stop_on_stock = []", "a", "").is_err());
    }

    #[test]
    fn summary_line() {
        let s = Summary { passed: 2, failed: 1, skipped: 0 };
        assert_eq!(s.to_string(), "2 passed, 1 failed");
        let s = Summary { skipped: 3, ..s };
        assert_eq!(s.to_string(), "2 passed, 1 failed, 3 skipped");
        assert_eq!(tail("1\n2\n3\n", 2), "2\n3");
    }

    /// The cases checked in under tests/cases all parse.
    #[test]
    fn checked_in_cases_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
        let cases = load_cases(&dir).unwrap();
        assert!(cases.iter().any(|c| c.name == "boot-basic"));
        let two = cases.iter().find(|c| c.name == "two-domains").unwrap();
        assert_eq!(two.order, Order::PerDomain);
        assert!(two.expected_stock.as_ref().unwrap().iter().any(|l| l.contains("-smp 6")));
        // Every expected line names its stream as the console line it stands for will: none
        // is left to "other".
        let names: Vec<String> = ["primary", "guest1"].map(String::from).to_vec();
        for l in two.expected.iter().chain(two.expected_stock.iter().flatten()) {
            assert_ne!(stream_of(l, &names), Stream::Other, "two-domains: `{l}`");
        }
        for c in &cases {
            assert!(c.forbidden.iter().any(|f| f == "hv: PANIC") || c.expected.iter().any(|e| e.contains("PANIC")));
        }
        // The hostile two-domain case compares the victim's canaries from outside, at the
        // addresses the test guest prints.
        let hostile = cases.iter().find(|c| c.name == "two-domains-hostile").unwrap();
        let canaries: Vec<_> = hostile.memory_checks.iter().filter(|m| m.canary).collect();
        assert_eq!(canaries.len(), 2);
        let filled = hostile.expected.iter().find(|l| l.contains("canaries filled")).unwrap();
        for m in canaries {
            assert!(filled.contains(&format!("{:#x} bytes at {:#x}", m.size, m.base)), "{filled}");
            assert!(filled.starts_with(&m.from));
        }
    }

    #[test]
    fn memory_checks_parse_and_compare() {
        let toml = "[[memory_check]]\nwhat = \"c\"\nbase = 0x1000\nsize = \"8K\"\nfrom = \"x: filled\"\npattern = \"canary\"\n\
                    [[memory_check]]\nwhat = \"rom\"\nbase = 0x2000\nsize = 16\nfrom = \"y\"\n";
        let c = case(toml, "a\n", "").unwrap();
        assert_eq!(
            c.memory_checks,
            [
                MemoryCheck { what: "c".into(), base: 0x1000, size: 0x2000, from: "x: filled".into(), canary: true },
                MemoryCheck { what: "rom".into(), base: 0x2000, size: 16, from: "y".into(), canary: false },
            ]
        );
        for bad in [
            "memory_check = 1",
            "[[memory_check]]\nwhat = \"a\"\nbase = 8\nsize = 12\nfrom = \"x\"",
            "[[memory_check]]\nwhat = \"a\"\nbase = 8\nsize = 16\nfrom = \"\"",
            "[[memory_check]]\nwhat = \"a\"\nbase = 8\nsize = 16\nfrom = \"x\"\npattern = \"zero\"",
            "[[memory_check]]\nwhat = \"a\"\nbase = 8\nsize = 16\nfrom = \"x\"\nwhen = \"x\"",
            "[[memory_check]]\nbase = 8\nsize = 16\nfrom = \"x\"",
        ] {
            assert!(case(bad, "a\n", "").is_err(), "{bad}");
        }
        // Equal snapshots of canary words pass; a changed word is reported with its address,
        // in the difference and in the pattern check of the last snapshot.
        let m = &c.memory_checks[0];
        let canary: Vec<u8> = (0..0x2000u64).step_by(8).flat_map(|i| canary_word(0x1000 + i).to_be_bytes()).collect();
        assert!(m.compare(&canary, &canary).is_empty());
        let mut changed = canary.clone();
        changed[0x18] ^= 1;
        let p = m.compare(&canary, &changed);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("1 words changed") && p[0].contains("at 0x1018"), "{p:?}");
        assert!(p[1].contains("at the end are not the canary, the first at 0x1018"), "{p:?}");
        // Without the pattern only the difference counts; wrong sizes are reported.
        let rom = &c.memory_checks[1];
        assert!(rom.compare(&[7; 16], &[7; 16]).is_empty());
        assert!(rom.compare(&[7; 16], &[7; 8])[0].contains("expected 16"));
        // The canary word is the guest's (tests/guest/src/rt.rs).
        assert_eq!(canary_word(0), 0xc0ff_ee00_dead_beefu64.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }

    struct Fake(Result<(FirmwareSet, u64), String>);
    impl FirmwareSource for Fake {
        fn firmware_set(&mut self, _: &Path, _: HypervisorBuild) -> Result<(FirmwareSet, u64), String> {
            self.0.clone()
        }
    }

    #[test]
    fn memory_sizes_read_as_in_configurations() {
        let m = |v: &str| case(&format!("memory = {v}"), "a", "").map(|c| c.memory);
        assert_eq!(m("\"256M\""), Ok(Some(256 << 20)));
        assert_eq!(m("\"0x1000\""), Ok(Some(0x1000)));
        assert_eq!(m("4096"), Ok(Some(4096)));
        assert!(m("\"256\"").unwrap_err().contains("needs a unit"));
        assert!(m("\"4096\"").unwrap_err().contains("needs a unit"));
    }

    #[test]
    fn outputs_compared_line_by_line() {
        assert_eq!(first_difference("a\r\nb\n", "a\nb\n"), None);
        assert_eq!(first_difference("a\nb\n", "a\nc\n").as_deref(), Some("line 2: `c`, expected `b`"));
        assert_eq!(first_difference("a\n", "a\nb\n").as_deref(), Some("extra line 2: `b`"));
        assert_eq!(first_difference("a\nb\n", "a\n").as_deref(), Some("line 2 missing: `b`"));
        let c = case("hypervisor = \"no-fast\"\nsame_output_as = \"boot-basic\"", "a", "").unwrap();
        assert_eq!(c.hypervisor, HypervisorBuild::NoFast);
        assert_eq!(c.same_output_as.as_deref(), Some("boot-basic"));
        assert!(case("hypervisor = \"fast\"", "a", "").is_err());
    }

    #[test]
    fn run_all_reports_build_errors_and_skips() {
        let cases = vec![
            case("", "a", "").unwrap(),
            Case { name: "s".into(), ..case("requires = \"silo\"", "a", "").unwrap() },
        ];
        let env = Env {
            out_dir: std::env::temp_dir().join(format!("tests-harness-{}", std::process::id())),
            ..Env::default()
        };
        let mut out = Vec::new();
        let s = run_all(&cases, &env, &mut Fake(Err("no compiler".into())), &mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(s, Summary { passed: 0, failed: 1, skipped: 1 });
        assert!(out.contains("test qemu::t ... FAILED"), "{out}");
        assert!(out.contains("no compiler"), "{out}");
        assert!(out.contains("test qemu::s ... SKIPPED (needs --silo DIR)"), "{out}");
        assert_eq!(out.lines().last().unwrap(), "0 passed, 1 failed, 1 skipped");
    }
}
