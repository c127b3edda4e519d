//! Reading guest-physical memory from outside the guests: a minimal client of QEMU's
//! machine protocol (QMP, `-qmp unix:PATH,server=on,wait=off`) that stops the machine, saves
//! physical memory to a file (`pmemsave`) and lets it go on (`cont`).
//!
//! QMP speaks one JSON object per line: a greeting, then for each command either
//! `{"return": ...}` or `{"error": ...}`, with asynchronous `{"event": ...}` lines in
//! between (skipped here). The commands this client sends are fixed texts with numbers and
//! a file name, so it needs no JSON library.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// A snapshot of guest-physical memory the runner takes during a run
/// ([`crate::Qemu::run_with_snapshots`]): `size` bytes at physical address `base`, saved
/// to `file`, when the console text `at` has appeared (`None`: when the run ends at one of
/// its end markers, before QEMU is killed). The machine is stopped while it is saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The console text to wait for (`None`: the end of the run).
    pub at: Option<String>,
    /// First physical address.
    pub base: u64,
    /// Bytes.
    pub size: u64,
    /// Where the bytes are written.
    pub file: PathBuf,
}

/// A connected QMP session.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

/// How long a command may take (a `pmemsave` of a few MiB takes milliseconds).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

impl Qmp {
    /// Connects to the QMP socket at `path` (retrying until `wait` has passed: QEMU creates
    /// it while starting) and leaves the capabilities negotiation mode.
    pub fn connect(path: &Path, wait: Duration) -> io::Result<Qmp> {
        let until = Instant::now() + wait;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= until => {
                    return Err(io::Error::new(e.kind(), format!("QMP socket {}: {e}", path.display())))
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        };
        stream.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        let mut q = Qmp { reader: BufReader::new(stream.try_clone()?), writer: stream };
        let greeting = q.line()?;
        if !greeting.contains("\"QMP\"") {
            return Err(io::Error::other(format!("not a QMP greeting: {greeting}")));
        }
        q.execute("qmp_capabilities", "")?;
        Ok(q)
    }

    fn line(&mut self) -> io::Result<String> {
        let mut l = String::new();
        if self.reader.read_line(&mut l)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "QMP: the connection closed"));
        }
        Ok(l)
    }

    /// Runs command `name` with `arguments` (a JSON object's members, or empty) and waits
    /// for its answer; an `error` answer is an error.
    pub fn execute(&mut self, name: &str, arguments: &str) -> io::Result<()> {
        let cmd = if arguments.is_empty() {
            format!("{{\"execute\": \"{name}\"}}\n")
        } else {
            format!("{{\"execute\": \"{name}\", \"arguments\": {{{arguments}}}}}\n")
        };
        self.writer.write_all(cmd.as_bytes())?;
        self.writer.flush()?;
        loop {
            let l = self.line()?;
            if l.contains("\"return\"") {
                return Ok(());
            }
            if l.contains("\"error\"") {
                return Err(io::Error::other(format!("QMP {name}: {}", l.trim())));
            }
            // An event: not the answer.
        }
    }

    /// Stops the machine (every strand).
    pub fn stop(&mut self) -> io::Result<()> {
        self.execute("stop", "")
    }

    /// Lets a stopped machine go on.
    pub fn cont(&mut self) -> io::Result<()> {
        self.execute("cont", "")
    }

    /// Saves `size` bytes of physical memory at `base` to `file` (written by QEMU; an
    /// absolute path, since QEMU's working directory is not ours to know).
    pub fn pmemsave(&mut self, base: u64, size: u64, file: &Path) -> io::Result<()> {
        let file = json_string(&file.to_string_lossy());
        self.execute("pmemsave", &format!("\"val\": {base}, \"size\": {size}, \"filename\": {file}"))
    }

    /// Takes `snapshots` with the machine stopped; with `go_on`, lets it go on afterwards.
    pub fn take(&mut self, snapshots: &[&Snapshot], go_on: bool) -> io::Result<()> {
        self.stop()?;
        let saved = snapshots.iter().try_for_each(|s| self.pmemsave(s.base, s.size, &s.file));
        if go_on {
            self.cont()?;
        }
        saved
    }
}

/// `s` as a JSON string.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
