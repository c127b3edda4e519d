//! The QEMU command line: which binary, the firmware folder, memory, drives, `-icount` and
//! extra arguments.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The QEMU command line for `-M niagara`.
#[derive(Clone, Debug)]
pub struct Qemu {
    binary: OsString,
    fw_dir: PathBuf,
    memory: u64,
    drives: Vec<PathBuf>,
    icount: Option<u32>,
    smp: Option<u64>,
    qmp: Option<PathBuf>,
    extra: Vec<OsString>,
    no_core_dump: bool,
    /// Replaces the whole argument list (tests run a shell instead of QEMU).
    pub(crate) override_args: Option<Vec<OsString>>,
}

/// QEMU's default RAM size for niagara.
pub const DEFAULT_MEMORY: u64 = 128 << 20;

impl Qemu {
    /// A runner for the firmware set in `fw_dir`, with 128 MiB of partition RAM.
    pub fn new(fw_dir: impl Into<PathBuf>) -> Self {
        Qemu {
            binary: "qemu-system-sparc64".into(),
            fw_dir: fw_dir.into(),
            memory: DEFAULT_MEMORY,
            drives: Vec::new(),
            icount: None,
            smp: None,
            qmp: None,
            extra: Vec::new(),
            no_core_dump: true,
            override_args: None,
        }
    }

    /// Uses another QEMU binary.
    pub fn binary(mut self, binary: impl Into<OsString>) -> Self {
        self.binary = binary.into();
        self
    }

    /// Partition RAM in bytes (rounded up to whole MiB).
    pub fn memory(mut self, bytes: u64) -> Self {
        self.memory = bytes;
        self
    }

    /// Adds a read-only pflash drive (the vdisk at `0x1f40000000`).
    pub fn drive(mut self, path: impl Into<PathBuf>) -> Self {
        self.drives.push(path.into());
        self
    }

    /// Runs with `-icount shift=N` (deterministic instruction counting).
    pub fn icount(mut self, shift: u32) -> Self {
        self.icount = Some(shift);
        self
    }

    /// Runs with `-smp N` (N strands; only the patched QEMU has more than one).
    pub fn smp(mut self, strands: u64) -> Self {
        self.smp = Some(strands);
        self
    }

    /// Opens QEMU's machine protocol on a Unix socket at `path` (`-qmp
    /// unix:PATH,server=on,wait=off`), for [`Qemu::run_with_snapshots`].
    pub fn qmp_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.qmp = Some(path.into());
        self
    }

    /// The QMP socket, if one was asked for.
    pub fn qmp_path(&self) -> Option<&Path> {
        self.qmp.as_deref()
    }

    /// Appends one more argument to the command line.
    pub fn extra_arg(mut self, arg: impl Into<OsString>) -> Self {
        self.extra.push(arg.into());
        self
    }

    /// Whether to start QEMU through `sh -c 'ulimit -c 0; exec …'` so that an abort
    /// ("Error state") leaves no core file (default: yes, when `/bin/sh` exists).
    pub fn no_core_dump(mut self, on: bool) -> Self {
        self.no_core_dump = on;
        self
    }

    /// The arguments after the program name.
    pub fn args(&self) -> Vec<OsString> {
        if let Some(a) = &self.override_args {
            return a.clone();
        }
        let mib = self.memory.div_ceil(1 << 20).max(1);
        let mut a: Vec<OsString> = vec![
            "-M".into(),
            "niagara".into(),
            "-L".into(),
            self.fw_dir.clone().into_os_string(),
            "-nographic".into(),
            "-monitor".into(),
            "none".into(),
            "-m".into(),
            format!("{mib}M").into(),
        ];
        if let Some(n) = self.smp {
            a.push("-smp".into());
            a.push(n.to_string().into());
        }
        if let Some(p) = &self.qmp {
            let p = p.to_string_lossy().replace(',', ",,");
            a.push("-qmp".into());
            a.push(format!("unix:{p},server=on,wait=off").into());
        }
        for d in &self.drives {
            // Commas in a -drive option value are escaped by doubling them.
            let file = d.to_string_lossy().replace(',', ",,");
            a.push("-drive".into());
            a.push(format!("if=pflash,format=raw,readonly=on,file={file}").into());
        }
        if let Some(shift) = self.icount {
            a.push("-icount".into());
            a.push(format!("shift={shift}").into());
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// The QEMU command (program and arguments; stdio not configured).
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.binary);
        c.args(self.args());
        c
    }

    /// The command line as one shell-like string, for logs.
    pub fn command_line(&self) -> String {
        std::iter::once(self.binary.clone()).chain(self.args()).map(|a| shell_quote(&a)).collect::<Vec<_>>().join(" ")
    }

    pub(crate) fn spawn_command(&self) -> Command {
        if self.no_core_dump && Path::new("/bin/sh").exists() {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg("ulimit -c 0 2>/dev/null; exec \"$@\"").arg("sh").arg(&self.binary).args(self.args());
            c
        } else {
            self.command()
        }
    }

    pub(crate) fn spawn(&self, stdin: Stdio) -> io::Result<Child> {
        self.spawn_command()
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {}: {e}", self.binary.to_string_lossy())))
    }
}

fn shell_quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c)) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Looks for a program on `PATH`.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}
