//! The firmware set for `qemu-system-sparc64 -M niagara` and the QEMU runner.
//!
//! * [`elf_to_raw`] turns a linked sparc64 ELF into the raw bytes QEMU loads (PT_LOAD
//!   segments placed at their load address `p_paddr`, relative to a base).
//! * [`FirmwareSet`] holds the six files QEMU wants in its `-L` directory and checks the
//!   size limits of the niagara machine (qemu-niagara.md §2.2) before writing them.
//! * [`Qemu`] builds the command line and runs QEMU, either with the console on the terminal
//!   ([`Qemu::run_interactive`]) or captured with a timeout ([`Qemu::run_capture`]), optionally
//!   typing scripted console input ([`Qemu::run_scripted`], e.g. `banner` at OpenBoot's `ok`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// PA of the niagara PROM region; the hypervisor image is linked here.
pub const PROM_BASE: u64 = 0xff_f000_0000;
/// `reset.bin` is loaded at PROM + 0 and may not reach `q.bin` at +0x10000.
pub const RESET_BIN_MAX: usize = 0x1_0000;
/// `q.bin` is loaded at PROM + 0x10000 and may not reach `openboot.bin` at +0x80000.
pub const Q_BIN_MAX: usize = 0x7_0000;
/// `openboot.bin` is loaded at PROM + 0x80000, the PROM region is 4 MiB.
pub const OPENBOOT_BIN_MAX: usize = 0x38_0000;
/// `nvram1`, `1up-md.bin`, `1up-hv.bin` land in 8 KiB regions (QEMU drops the excess silently).
pub const SMALL_ROM_MAX: usize = 0x2000;
/// Offset of `openboot.bin` in the PROM (where ldom-config puts guest images).
pub const OPENBOOT_OFFSET: u64 = 0x8_0000;
/// Largest raw image [`elf_to_raw`] produces; protects against a wrong base or p_paddr.
pub const RAW_IMAGE_MAX: u64 = 256 << 20;

/// The end marker the hypervisor prints when every domain has stopped.
pub const END_MARKER: &str = "hv: all domains stopped";
/// The line prefix the hypervisor prints when it panics.
pub const PANIC_MARKER: &str = "hv: PANIC";

/// Converts an ELF file to a raw image: the file bytes of every `PT_LOAD` segment with
/// `p_filesz > 0` are placed at `p_paddr - base`; gaps are filled with zeros.
pub fn elf_to_raw(elf: &[u8], base: u64) -> Result<Vec<u8>, String> {
    use object::elf::{FileHeader64, PT_LOAD};
    use object::read::elf::{FileHeader, ProgramHeader};
    use object::Endianness;

    let header = FileHeader64::<Endianness>::parse(elf)
        .map_err(|e| format!("not a 64-bit ELF file: {e}"))?;
    let endian = header
        .endian()
        .map_err(|e| format!("bad ELF endianness: {e}"))?;
    let phdrs = header
        .program_headers(endian, elf)
        .map_err(|e| format!("bad ELF program headers: {e}"))?;

    let mut raw: Vec<u8> = Vec::new();
    let mut any = false;
    for (i, ph) in phdrs.iter().enumerate() {
        if ph.p_type(endian) != PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let paddr = ph.p_paddr(endian);
        let filesz = ph.p_filesz(endian);
        if paddr < base {
            return Err(format!(
                "PT_LOAD segment {i} has load address {paddr:#x} below the image base {base:#x}"
            ));
        }
        let start = paddr - base;
        let end = start
            .checked_add(filesz)
            .filter(|&e| e <= RAW_IMAGE_MAX)
            .ok_or_else(|| {
                format!(
                    "PT_LOAD segment {i} ({paddr:#x}, {filesz:#x} bytes) ends more than \
                     {RAW_IMAGE_MAX:#x} bytes after the image base {base:#x}"
                )
            })?;
        let data = ph
            .data(endian, elf)
            .map_err(|_| format!("PT_LOAD segment {i}: file bytes lie outside the ELF file"))?;
        let (start, end) = (start as usize, end as usize);
        if raw.len() < end {
            raw.resize(end, 0);
        }
        raw[start..end].copy_from_slice(data);
        any = true;
    }
    if !any {
        return Err("the ELF file has no PT_LOAD segment with file contents".into());
    }
    Ok(raw)
}

/// Splits a raw hypervisor image linked at [`PROM_BASE`] into `reset.bin` (first 64 KiB)
/// and `q.bin` (the rest, at most [`Q_BIN_MAX`] bytes).
pub fn split_firmware(raw: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    if raw.len() <= RESET_BIN_MAX {
        return Ok((raw.to_vec(), Vec::new()));
    }
    let q = &raw[RESET_BIN_MAX..];
    if q.len() > Q_BIN_MAX {
        return Err(format!(
            "the hypervisor image is {} bytes ({:#x}): at most {:#x} fit in reset.bin + q.bin \
             (PROM {:#x}..{:#x}); {} bytes too many",
            raw.len(),
            raw.len(),
            RESET_BIN_MAX + Q_BIN_MAX,
            PROM_BASE,
            PROM_BASE + OPENBOOT_OFFSET,
            raw.len() - RESET_BIN_MAX - Q_BIN_MAX
        ));
    }
    Ok((raw[..RESET_BIN_MAX].to_vec(), q.to_vec()))
}

/// The six files of a `-L` directory for `-M niagara`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirmwareSet {
    /// PROM + 0 (max 64 KiB).
    pub reset_bin: Vec<u8>,
    /// PROM + 0x10000 (max 0x70000 bytes).
    pub q_bin: Vec<u8>,
    /// PROM + 0x80000 (max 0x380000 bytes): guest images and MDs.
    pub openboot_bin: Vec<u8>,
    /// `1up-hv.bin`: the hypervisor MD (max 8 KiB).
    pub hv_md: Vec<u8>,
    /// `1up-md.bin`: the guest MD of domain 0 (max 8 KiB).
    pub md_rom: Vec<u8>,
    /// `nvram1` (max 8 KiB); `None` writes 8 KiB of zeros.
    pub nvram: Option<Vec<u8>>,
}

/// One file of a written firmware set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFile {
    /// The file name QEMU expects, e.g. `q.bin`.
    pub name: &'static str,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: usize,
}

impl FirmwareSet {
    /// Builds a set from a raw hypervisor image (linked at [`PROM_BASE`]) and the other files.
    pub fn from_hypervisor(
        raw: &[u8],
        openboot_bin: Vec<u8>,
        hv_md: Vec<u8>,
        md_rom: Vec<u8>,
    ) -> Result<Self, String> {
        let (reset_bin, q_bin) = split_firmware(raw)?;
        let set = FirmwareSet {
            reset_bin,
            q_bin,
            openboot_bin,
            hv_md,
            md_rom,
            nvram: None,
        };
        set.check()?;
        Ok(set)
    }

    /// Builds a set from a raw hypervisor image and the output of the config compiler.
    pub fn from_build(raw: &[u8], build: &ldom_config::Build) -> Result<Self, String> {
        Self::from_hypervisor(
            raw,
            build.prom_guest_area.clone(),
            build.hv_md.clone(),
            build.md_rom.clone(),
        )
    }

    /// The file names and contents, in the order they are written.
    pub fn files(&self) -> [(&'static str, &[u8], usize); 6] {
        const ZERO_NVRAM: [u8; SMALL_ROM_MAX] = [0; SMALL_ROM_MAX];
        [
            ("reset.bin", &self.reset_bin, RESET_BIN_MAX),
            ("q.bin", &self.q_bin, Q_BIN_MAX),
            ("openboot.bin", &self.openboot_bin, OPENBOOT_BIN_MAX),
            ("1up-hv.bin", &self.hv_md, SMALL_ROM_MAX),
            ("1up-md.bin", &self.md_rom, SMALL_ROM_MAX),
            (
                "nvram1",
                self.nvram.as_deref().unwrap_or(&ZERO_NVRAM),
                SMALL_ROM_MAX,
            ),
        ]
    }

    /// Checks every size limit of qemu-niagara.md §2.2.
    pub fn check(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        for (name, data, max) in self.files() {
            if data.len() > max {
                let why = match name {
                    "reset.bin" => "QEMU fails with \"Some ROM regions are overlapping\"",
                    "q.bin" => "it would overlap openboot.bin at PROM + 0x80000",
                    "openboot.bin" => "the PROM region is 4 MiB",
                    _ => "QEMU would silently drop the bytes past 8 KiB",
                };
                errors.push(format!(
                    "{name} is {} bytes ({:#x}), the limit is {max} ({max:#x}): {why}",
                    data.len(),
                    data.len()
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }

    /// Checks the limits, then writes the six files into `dir` (created if needed).
    pub fn write_to(&self, dir: &Path) -> Result<Vec<WrittenFile>, String> {
        self.check()?;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut written = Vec::new();
        for (name, data, _) in self.files() {
            let path = dir.join(name);
            std::fs::write(&path, data)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(WrittenFile {
                name,
                path,
                size: data.len(),
            });
        }
        Ok(written)
    }

    /// Reads a complete `-L` directory (for example Sun's firmware).
    pub fn read_from(dir: &Path) -> Result<Self, String> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        Ok(FirmwareSet {
            reset_bin: read("reset.bin")?,
            q_bin: read("q.bin")?,
            openboot_bin: read("openboot.bin")?,
            hv_md: read("1up-hv.bin")?,
            md_rom: read("1up-md.bin")?,
            nvram: Some(read("nvram1")?),
        })
    }
}

/// How a QEMU run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndedBy {
    /// The given end marker was seen; QEMU was killed.
    EndMarker(String),
    /// The timeout elapsed; QEMU was killed.
    Timeout,
    /// QEMU exited on its own with this status (`None`: killed by a signal).
    Exited(Option<i32>),
    /// The user asked to stop (Ctrl-] in [`Qemu::run_interactive`]); QEMU was killed.
    Quit,
}

impl fmt::Display for EndedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndedBy::EndMarker(m) => write!(f, "end marker `{m}` seen"),
            EndedBy::Timeout => write!(f, "timeout"),
            EndedBy::Exited(Some(c)) => write!(f, "QEMU exited with status {c}"),
            EndedBy::Exited(None) => write!(f, "QEMU was killed by a signal"),
            EndedBy::Quit => write!(f, "stopped by Ctrl-]"),
        }
    }
}

/// The result of a QEMU run: everything QEMU printed (stdout and stderr) and how it ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Standard output and standard error as they arrived, decoded lossily as UTF-8, with
    /// every `\r` removed.
    pub output: String,
    /// QEMU's standard output alone, as raw bytes (the console stream with `-nographic`).
    pub stdout: Vec<u8>,
    /// Why the run ended.
    pub ended_by: EndedBy,
    /// Wall-clock duration of the run.
    pub elapsed: Duration,
}

/// One step of scripted console input: as soon as `after` appears in the console output
/// (after the text that matched the previous step; `\r` is ignored when matching), `send` is
/// written to QEMU's standard input, i.e. typed on the console. An empty `after` sends at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputStep {
    /// The console text to wait for (empty: do not wait).
    pub after: String,
    /// The text to type once `after` has appeared.
    pub send: String,
}

impl InputStep {
    /// A step that types `send` once `after` appears.
    pub fn new(after: impl Into<String>, send: impl Into<String>) -> Self {
        InputStep {
            after: after.into(),
            send: send.into(),
        }
    }
}

/// The QEMU command line for `-M niagara`.
#[derive(Clone, Debug)]
pub struct Qemu {
    binary: OsString,
    fw_dir: PathBuf,
    memory: u64,
    drives: Vec<PathBuf>,
    icount: Option<u32>,
    extra: Vec<OsString>,
    no_core_dump: bool,
    /// Replaces the whole argument list (tests run a shell instead of QEMU).
    override_args: Option<Vec<OsString>>,
}

/// QEMU's default RAM size for niagara.
pub const DEFAULT_MEMORY: u64 = 128 << 20;

enum Event {
    Data(Vec<u8>),
    Eof,
}

impl Qemu {
    /// A runner for the firmware set in `fw_dir`, with 128 MiB of partition RAM.
    pub fn new(fw_dir: impl Into<PathBuf>) -> Self {
        Qemu {
            binary: "qemu-system-sparc64".into(),
            fw_dir: fw_dir.into(),
            memory: DEFAULT_MEMORY,
            drives: Vec::new(),
            icount: None,
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
        std::iter::once(self.binary.clone())
            .chain(self.args())
            .map(|a| shell_quote(&a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn spawn_command(&self) -> Command {
        if self.no_core_dump && Path::new("/bin/sh").exists() {
            let mut c = Command::new("/bin/sh");
            c.arg("-c")
                .arg("ulimit -c 0 2>/dev/null; exec \"$@\"")
                .arg("sh")
                .arg(&self.binary)
                .args(self.args());
            c
        } else {
            self.command()
        }
    }

    fn spawn(&self, stdin: Stdio) -> io::Result<Child> {
        self.spawn_command()
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot start {}: {e}", self.binary.to_string_lossy()),
                )
            })
    }

    /// Runs QEMU with the console on the terminal: QEMU's output is echoed to our stdout
    /// and stderr, our stdin is forwarded to QEMU. Stops QEMU as soon as one of
    /// `end_markers` appears (or after `timeout`, if given). The returned output is the
    /// whole text QEMU printed.
    pub fn run_interactive(
        &self,
        end_markers: &[&str],
        timeout: Option<Duration>,
    ) -> io::Result<Outcome> {
        let mut child = self.spawn(Stdio::piped())?;
        let mut qemu_in = child.stdin.take().expect("piped stdin");
        // On a terminal, keys go to the guest as they are typed (raw mode, no local echo:
        // the guest echoes), and Ctrl-] stops the run, as Ctrl-C would go to the guest.
        let raw = RawTerminal::enter();
        let quit = Arc::new(AtomicBool::new(false));
        let quit_flag = Arc::clone(&quit);
        let watch_quit = raw.is_some();
        // Detached: it blocks on our stdin and ends with the process.
        thread::spawn(move || {
            let mut buf = [0u8; 256];
            let mut stdin = io::stdin().lock();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let keys = &buf[..n];
                        let (keys, stop) = match keys.iter().position(|&b| b == QUIT_KEY && watch_quit) {
                            Some(i) => (&keys[..i], true),
                            None => (keys, false),
                        };
                        if qemu_in.write_all(keys).is_err() || qemu_in.flush().is_err() {
                            break;
                        }
                        if stop {
                            quit_flag.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                }
            }
        });
        let outcome = self.supervise(child, end_markers, timeout, true, None, Some(&quit));
        drop(raw);
        outcome
    }

    /// Runs QEMU with no input and captures its output (stdout and stderr) until one of
    /// `end_markers` appears, QEMU exits, or `timeout` elapses; then kills QEMU.
    pub fn run_capture(&self, timeout: Duration, end_markers: &[&str]) -> io::Result<Outcome> {
        self.run_scripted(timeout, end_markers, &[])
    }

    /// Like [`Qemu::run_capture`], but types the `script` steps on the console (QEMU's
    /// stdin) as their `after` text appears. With an empty script stdin is `/dev/null`.
    pub fn run_scripted(
        &self,
        timeout: Duration,
        end_markers: &[&str],
        script: &[InputStep],
    ) -> io::Result<Outcome> {
        if script.is_empty() {
            let child = self.spawn(Stdio::null())?;
            return self.supervise(child, end_markers, Some(timeout), false, None, None);
        }
        let mut child = self.spawn(Stdio::piped())?;
        let stdin = child.stdin.take().expect("piped stdin");
        self.supervise(
            child,
            end_markers,
            Some(timeout),
            false,
            Some((stdin, script)),
            None,
        )
    }

    fn supervise(
        &self,
        mut child: Child,
        end_markers: &[&str],
        timeout: Option<Duration>,
        echo: bool,
        mut script: Option<(ChildStdin, &[InputStep])>,
        quit: Option<&AtomicBool>,
    ) -> io::Result<Outcome> {
        let start = Instant::now();
        let (tx, rx) = mpsc::channel::<(bool, Event)>();
        let mut readers = Vec::new();
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("piped stdout"));
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("piped stderr"));
        for (is_err, mut r) in [(false, out), (true, err)] {
            let tx = tx.clone();
            readers.push(thread::spawn(move || {
                let mut buf = vec![0u8; 4096];
                loop {
                    match r.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let _ = tx.send((is_err, Event::Eof));
                            break;
                        }
                        Ok(n) => {
                            if tx.send((is_err, Event::Data(buf[..n].to_vec()))).is_err() {
                                break;
                            }
                        }
                    }
                }
            }));
        }
        drop(tx);

        let deadline = timeout.map(|t| start + t);
        let max_marker = end_markers.iter().map(|m| m.len()).max().unwrap_or(0);
        let mut text: Vec<u8> = Vec::new();
        let mut stdout_bytes: Vec<u8> = Vec::new();
        // The output without '\r', for the input script; where the next step looks.
        let mut clean: Vec<u8> = Vec::new();
        let (mut step, mut step_from) = (0usize, 0usize);
        if let Some((stdin, steps)) = script.as_mut() {
            feed_script(stdin, steps, &clean, &mut step, &mut step_from);
        }
        let mut scanned = 0usize;
        let mut open_streams = 2;
        // Once a marker is seen, keep reading until the end of its line (see below).
        let mut found: Option<(String, usize, Instant)> = None;
        let mut last_data = Instant::now();
        let ended_by = loop {
            if let Some((marker, pos, at)) = &found {
                // Stop once the marker's line is complete and QEMU has been quiet for a
                // moment (so that e.g. the lines after a panic message are kept), or 1 s
                // after the marker at the latest.
                let line_done = text[*pos..].contains(&b'\n');
                if (line_done && last_data.elapsed() >= Duration::from_millis(100))
                    || at.elapsed() >= Duration::from_secs(1)
                {
                    break EndedBy::EndMarker(marker.clone());
                }
            }
            if open_streams == 0 {
                let status = child.wait()?;
                break EndedBy::Exited(status.code());
            }
            if quit.is_some_and(|q| q.load(Ordering::SeqCst)) {
                break EndedBy::Quit;
            }
            let wait = match (&found, deadline) {
                (Some(_), _) => Duration::from_millis(20),
                (None, Some(d)) => {
                    let now = Instant::now();
                    if now >= d {
                        break EndedBy::Timeout;
                    }
                    d - now
                }
                (None, None) => Duration::from_secs(3600),
            };
            // A run the user can stop looks at the quit flag a few times a second.
            let wait = if quit.is_some() { wait.min(Duration::from_millis(100)) } else { wait };
            match rx.recv_timeout(wait) {
                Ok((is_err, Event::Data(d))) => {
                    last_data = Instant::now();
                    if echo {
                        let _ = if is_err {
                            io::stderr().write_all(&d)
                        } else {
                            let mut o = io::stdout().lock();
                            o.write_all(&d).and_then(|_| o.flush())
                        };
                    }
                    text.extend_from_slice(&d);
                    if !is_err {
                        stdout_bytes.extend_from_slice(&d);
                    }
                    if let Some((stdin, steps)) = script.as_mut() {
                        clean.extend(d.iter().copied().filter(|&b| b != b'\r'));
                        feed_script(stdin, steps, &clean, &mut step, &mut step_from);
                    }
                    if found.is_none() {
                        let from = scanned.saturating_sub(max_marker);
                        for m in end_markers {
                            if let Some(p) = find(&text[from..], m.as_bytes()) {
                                found = Some((m.to_string(), from + p, Instant::now()));
                                break;
                            }
                        }
                        scanned = text.len();
                    }
                }
                Ok((_, Event::Eof)) => open_streams -= 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => open_streams = 0,
            }
        };
        if !matches!(ended_by, EndedBy::Exited(_)) {
            let _ = child.kill();
            let _ = child.wait();
            // Keep what QEMU wrote before it died (up to EOF, at most 500 ms), so that the
            // output is complete up to the kill (measure-linux maps console bytes to counts).
            let until = Instant::now() + Duration::from_millis(500);
            while open_streams > 0 {
                let left = until.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok((is_err, Event::Data(d))) => {
                        if echo {
                            let _ = if is_err {
                                io::stderr().write_all(&d)
                            } else {
                                io::stdout().write_all(&d)
                            };
                        }
                        text.extend_from_slice(&d);
                        if !is_err {
                            stdout_bytes.extend_from_slice(&d);
                        }
                    }
                    Ok((_, Event::Eof)) => open_streams -= 1,
                    Err(_) => break,
                }
            }
        }
        // After a kill the reader threads end when the pipes close (they are not joined:
        // a grandchild could keep a pipe open). After an exit, both streams are at EOF.
        if matches!(ended_by, EndedBy::Exited(_)) {
            for r in readers {
                let _ = r.join();
            }
        }
        if echo {
            let _ = io::stdout().flush();
        }
        Ok(Outcome {
            output: String::from_utf8_lossy(&text).replace('\r', ""),
            stdout: stdout_bytes,
            ended_by,
            elapsed: start.elapsed(),
        })
    }
}

/// Sends every script step whose `after` text is now in `clean` (past `*from`).
fn feed_script(
    stdin: &mut ChildStdin,
    steps: &[InputStep],
    clean: &[u8],
    step: &mut usize,
    from: &mut usize,
) {
    while let Some(s) = steps.get(*step) {
        let Some(p) = find(&clean[*from..], s.after.as_bytes()) else {
            return;
        };
        *from += p + s.after.len();
        *step += 1;
        // Byte by byte, with a short pause: the console is a 16550 polled by the guest.
        for b in s.send.as_bytes() {
            if stdin.write_all(&[*b]).and_then(|_| stdin.flush()).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn shell_quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Looks for a program on `PATH`.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a big-endian ELF64 file with the given PT_LOAD segments
    /// `(p_type, p_paddr, file bytes, p_memsz)`.
    fn make_elf(segments: &[(u32, u64, &[u8], u64)]) -> Vec<u8> {
        const EHDR: usize = 64;
        const PHDR: usize = 56;
        let phoff = EHDR;
        let mut data_off = EHDR + PHDR * segments.len();
        let mut f = Vec::new();
        f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 2, 1, 0]);
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&2u16.to_be_bytes()); // ET_EXEC
        f.extend_from_slice(&43u16.to_be_bytes()); // EM_SPARCV9
        f.extend_from_slice(&1u32.to_be_bytes()); // EV_CURRENT
        f.extend_from_slice(&0xfff0000020u64.to_be_bytes()); // e_entry
        f.extend_from_slice(&(phoff as u64).to_be_bytes()); // e_phoff
        f.extend_from_slice(&0u64.to_be_bytes()); // e_shoff
        f.extend_from_slice(&0u32.to_be_bytes()); // e_flags
        f.extend_from_slice(&(EHDR as u16).to_be_bytes());
        f.extend_from_slice(&(PHDR as u16).to_be_bytes());
        f.extend_from_slice(&(segments.len() as u16).to_be_bytes());
        f.extend_from_slice(&64u16.to_be_bytes()); // e_shentsize
        f.extend_from_slice(&0u16.to_be_bytes()); // e_shnum
        f.extend_from_slice(&0u16.to_be_bytes()); // e_shstrndx
        assert_eq!(f.len(), EHDR);
        for (ty, paddr, bytes, memsz) in segments {
            f.extend_from_slice(&ty.to_be_bytes());
            f.extend_from_slice(&5u32.to_be_bytes()); // R+X
            f.extend_from_slice(&(data_off as u64).to_be_bytes());
            f.extend_from_slice(&(paddr + 0x1000_0000).to_be_bytes()); // vaddr differs
            f.extend_from_slice(&paddr.to_be_bytes());
            f.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            f.extend_from_slice(&memsz.to_be_bytes());
            f.extend_from_slice(&8u64.to_be_bytes());
            data_off += bytes.len();
        }
        for (_, _, bytes, _) in segments {
            f.extend_from_slice(bytes);
        }
        f
    }

    const LOAD: u32 = 1;

    impl Qemu {
        fn runner_with_args(mut self, args: &[&str]) -> Self {
            self.override_args = Some(args.iter().map(OsString::from).collect());
            self
        }
    }

    #[test]
    fn elf_to_raw_places_segments_at_paddr() {
        let elf = make_elf(&[
            (LOAD, PROM_BASE, &[1, 2, 3, 4], 4),
            (LOAD, PROM_BASE + 0x10, &[9, 9], 2),
            // .bss-like: nothing in the file, must not extend the image.
            (LOAD, PROM_BASE + 0x100, &[], 0x1000),
            // not PT_LOAD: ignored
            (4, PROM_BASE + 0x200, &[7; 4], 4),
        ]);
        let raw = elf_to_raw(&elf, PROM_BASE).unwrap();
        let mut want = vec![0u8; 0x12];
        want[..4].copy_from_slice(&[1, 2, 3, 4]);
        want[0x10..].copy_from_slice(&[9, 9]);
        assert_eq!(raw, want);
    }

    #[test]
    fn elf_to_raw_out_of_order_and_data_load_address() {
        // .data is loaded in the PROM (p_paddr) but runs in HV RAM (p_vaddr).
        let elf = make_elf(&[
            (LOAD, PROM_BASE + 0x20000, &[0xaa; 3], 0x100),
            (LOAD, PROM_BASE, &[0x55; 2], 2),
        ]);
        let raw = elf_to_raw(&elf, PROM_BASE).unwrap();
        assert_eq!(raw.len(), 0x20003);
        assert_eq!(&raw[..2], &[0x55, 0x55]);
        assert!(raw[2..0x20000].iter().all(|&b| b == 0));
        assert_eq!(&raw[0x20000..], &[0xaa; 3]);
    }

    #[test]
    fn elf_to_raw_errors() {
        let below = make_elf(&[(LOAD, PROM_BASE - 4, &[1], 1)]);
        assert!(elf_to_raw(&below, PROM_BASE)
            .unwrap_err()
            .contains("below the image base"));
        let far = make_elf(&[(LOAD, 0x8000_0000, &[1], 1)]);
        assert!(elf_to_raw(&far, 0).unwrap_err().contains("ends more than"));
        let empty = make_elf(&[(LOAD, PROM_BASE, &[], 8)]);
        assert!(elf_to_raw(&empty, PROM_BASE)
            .unwrap_err()
            .contains("no PT_LOAD"));
        assert!(elf_to_raw(b"not an elf at all, definitely not", PROM_BASE).is_err());
        let mut truncated = make_elf(&[(LOAD, PROM_BASE, &[1, 2, 3, 4], 4)]);
        truncated.truncate(truncated.len() - 2);
        assert!(elf_to_raw(&truncated, PROM_BASE).is_err());
    }

    #[test]
    fn split_limits() {
        let (r, q) = split_firmware(&[1; 100]).unwrap();
        assert_eq!((r.len(), q.len()), (100, 0));
        let (r, q) = split_firmware(&vec![2; RESET_BIN_MAX + 5]).unwrap();
        assert_eq!((r.len(), q.len()), (RESET_BIN_MAX, 5));
        assert!(split_firmware(&vec![0; RESET_BIN_MAX + Q_BIN_MAX]).is_ok());
        let e = split_firmware(&vec![0; RESET_BIN_MAX + Q_BIN_MAX + 1]).unwrap_err();
        assert!(e.contains("1 bytes too many"), "{e}");
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("qemu-sun4v-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn firmware_set_writes_six_files() {
        let set =
            FirmwareSet::from_hypervisor(&[3; 0x10010], vec![4; 10], vec![5; 20], vec![6; 30])
                .unwrap();
        let dir = tmpdir("six");
        let written = set.write_to(&dir).unwrap();
        let names: Vec<_> = written.iter().map(|w| (w.name, w.size)).collect();
        assert_eq!(
            names,
            [
                ("reset.bin", 0x10000),
                ("q.bin", 0x10),
                ("openboot.bin", 10),
                ("1up-hv.bin", 20),
                ("1up-md.bin", 30),
                ("nvram1", 0x2000)
            ]
        );
        assert_eq!(std::fs::read(dir.join("nvram1")).unwrap(), vec![0; 0x2000]);
        assert_eq!(FirmwareSet::read_from(&dir).unwrap().q_bin, vec![3; 0x10]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn firmware_set_limits() {
        let ok = FirmwareSet {
            reset_bin: vec![0; RESET_BIN_MAX],
            q_bin: vec![0; Q_BIN_MAX],
            openboot_bin: vec![0; OPENBOOT_BIN_MAX],
            hv_md: vec![0; SMALL_ROM_MAX],
            md_rom: vec![0; SMALL_ROM_MAX],
            nvram: Some(vec![0; SMALL_ROM_MAX]),
        };
        ok.check().unwrap();
        type Grow = fn(&mut FirmwareSet);
        let cases: [(&str, Grow); 6] = [
            ("reset.bin", |s| s.reset_bin.push(0)),
            ("q.bin", |s| s.q_bin.push(0)),
            ("openboot.bin", |s| s.openboot_bin.push(0)),
            ("1up-hv.bin", |s| s.hv_md.push(0)),
            ("1up-md.bin", |s| s.md_rom.push(0)),
            ("nvram1", |s| s.nvram.as_mut().unwrap().push(0)),
        ];
        for (name, grow) in cases {
            let mut s = ok.clone();
            grow(&mut s);
            let e = s.check().unwrap_err();
            assert!(e.starts_with(name), "{name}: {e}");
            let dir = tmpdir(name);
            assert!(s.write_to(&dir).is_err());
            assert!(!dir.exists(), "nothing is written when a limit is broken");
        }
    }

    #[test]
    fn command_line() {
        let q = Qemu::new("/tmp/fw dir")
            .memory(256 << 20)
            .drive("/x/disk,1.img")
            .icount(3)
            .extra_arg("-d")
            .extra_arg("int");
        let c = q.command();
        assert_eq!(c.get_program(), "qemu-system-sparc64");
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "-M",
                "niagara",
                "-L",
                "/tmp/fw dir",
                "-nographic",
                "-monitor",
                "none",
                "-m",
                "256M",
                "-drive",
                "if=pflash,format=raw,readonly=on,file=/x/disk,,1.img",
                "-icount",
                "shift=3",
                "-d",
                "int"
            ]
        );
        assert!(q.command_line().contains("-L '/tmp/fw dir' "));
        // Default memory and rounding up to whole MiB.
        let a = Qemu::new("fw").args();
        assert_eq!(a[8], "128M");
        let a = Qemu::new("fw").memory((1 << 20) + 1).args();
        assert_eq!(a[8], "2M");
    }


    #[test]
    fn capture_stops_at_marker_and_timeout() {
        // Uses /bin/sh as a stand-in for QEMU: the runner only needs a process.
        if !Path::new("/bin/sh").exists() {
            return;
        }
        let script = "echo banner; echo 'hv: all domains stopped'; sleep 30";
        let t = Instant::now();
        let o = Qemu::new("fw")
            .binary("/bin/sh")
            .no_core_dump(false)
            .runner_with_args(&["-c", script])
            .run_capture(Duration::from_secs(20), &[END_MARKER])
            .unwrap();
        assert_eq!(o.ended_by, EndedBy::EndMarker(END_MARKER.into()));
        assert!(
            o.output.contains("banner\nhv: all domains stopped\n"),
            "{}",
            o.output
        );
        assert!(t.elapsed() < Duration::from_secs(10));

        let o = Qemu::new("fw")
            .binary("/bin/sh")
            .runner_with_args(&["-c", "echo x; echo err >&2; sleep 30"])
            .run_capture(Duration::from_millis(500), &[END_MARKER])
            .unwrap();
        assert_eq!(o.ended_by, EndedBy::Timeout);
        assert!(o.output.contains("x\n") && o.output.contains("err\n"));

        let o = Qemu::new("fw")
            .binary("/bin/sh")
            .runner_with_args(&["-c", "echo bye; exit 3"])
            .run_capture(Duration::from_secs(20), &[END_MARKER])
            .unwrap();
        assert_eq!(o.ended_by, EndedBy::Exited(Some(3)));
        assert_eq!(o.output, "bye\n");
        assert_eq!(o.stdout, b"bye\n");
    }

    #[test]
    fn scripted_input_is_typed_after_prompts() {
        if !Path::new("/bin/sh").exists() {
            return;
        }
        // A tiny "monitor": prints a prompt, echoes each line read, twice.
        let script = "printf 'ok '; read a; echo \"got $a\"; printf 'ok '; read b; \
                      echo \"got $b\"; echo 'hv: all domains stopped'; sleep 30";
        let o = Qemu::new("fw")
            .binary("/bin/sh")
            .runner_with_args(&["-c", script])
            .run_scripted(
                Duration::from_secs(20),
                &[END_MARKER],
                &[
                    InputStep::new("ok", "banner\r\n"),
                    InputStep::new("ok", "words\n"),
                ],
            )
            .unwrap();
        assert_eq!(o.ended_by, EndedBy::EndMarker(END_MARKER.into()));
        assert!(o.output.contains("got banner\n"), "{}", o.output);
        assert!(o.output.contains("got words\n"), "{}", o.output);
    }
}

/// The key that stops [`Qemu::run_interactive`] on a terminal: Ctrl-] (0x1d), as in telnet.
pub const QUIT_KEY: u8 = 0x1d;

/// The terminal in raw mode for an interactive run (`stty raw -echo`), restored when
/// dropped. Only when standard input is a terminal and `stty` works.
struct RawTerminal {
    saved: String,
}

impl RawTerminal {
    fn enter() -> Option<RawTerminal> {
        if !io::stdin().is_terminal() {
            return None;
        }
        let saved = Command::new("stty").arg("-g").stdin(Stdio::inherit()).output().ok()?;
        if !saved.status.success() {
            return None;
        }
        let saved = String::from_utf8_lossy(&saved.stdout).trim().to_string();
        let ok = Command::new("stty").args(["raw", "-echo"]).stdin(Stdio::inherit()).status().ok()?;
        ok.success().then_some(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = Command::new("stty").arg(&self.saved).stdin(Stdio::inherit()).status();
    }
}
