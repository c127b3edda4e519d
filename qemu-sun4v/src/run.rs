//! Running QEMU under supervision: output captured (and echoed on a terminal), scripted
//! console input, end markers and timeouts, and how a run ended.

use crate::consoles::{ConsoleSockets, Demux, Focus, Input};
use crate::monitor::{Qmp, Snapshot};
use crate::terminal::{RawTerminal, QUIT_KEY};
use crate::Qemu;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// The end marker the hypervisor prints when every domain has stopped.
pub const END_MARKER: &str = "hv: all domains stopped";
/// The line prefix the hypervisor prints when it panics.
pub const PANIC_MARKER: &str = "hv: PANIC";

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
        InputStep { after: after.into(), send: send.into() }
    }
}

/// What the reader threads send: output bytes, or the end of a stream.
enum Event {
    Data(Vec<u8>),
    Eof,
}

impl Qemu {
    /// Runs QEMU with the console on the terminal: QEMU's output is echoed to our stdout
    /// and stderr, our stdin is forwarded to QEMU. Stops QEMU as soon as one of
    /// `end_markers` appears (or after `timeout`, if given). The returned output is the
    /// whole text QEMU printed.
    pub fn run_interactive(&self, end_markers: &[&str], timeout: Option<Duration>) -> io::Result<Outcome> {
        self.run_interactive_with(end_markers, timeout, None)
    }

    /// [`Qemu::run_interactive`] with a console socket per domain (several domains): each
    /// domain's output lines (label stripped) also go to the clients of its socket, and
    /// what a client writes is typed to that domain (with the switch keys first when the
    /// input goes to another domain). The terminal keeps everything, as without sockets.
    pub fn run_interactive_with(
        &self,
        end_markers: &[&str],
        timeout: Option<Duration>,
        sockets: Option<&ConsoleSockets>,
    ) -> io::Result<Outcome> {
        // One writer for QEMU's input: the keyboard and the socket clients, in the order
        // they come, following the console focus.
        let (input_tx, input_rx) = mpsc::channel::<Input>();
        if let Some(s) = sockets {
            s.serve(input_tx.clone())?;
        }
        let mut child = self.spawn(Stdio::piped())?;
        let mut qemu_in = child.stdin.take().expect("piped stdin");
        let mut focus = Focus::new(sockets.map_or(1, |s| s.names().len()));
        thread::spawn(move || {
            for input in input_rx {
                let bytes = match input {
                    Input::Keys(k) => {
                        focus.typed(&k);
                        k
                    }
                    Input::Domain(d, data) => focus.to_domain(d, &data),
                };
                if qemu_in.write_all(&bytes).and_then(|_| qemu_in.flush()).is_err() {
                    break;
                }
            }
        });
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
                        if !keys.is_empty() && input_tx.send(Input::Keys(keys.to_vec())).is_err() {
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
        let mut demux = sockets.map(|s| (Demux::new(s.names()), s));
        let mut tap = |d: &[u8]| {
            if let Some((demux, s)) = demux.as_mut() {
                for (domain, bytes) in demux.feed(d) {
                    s.send(domain, &bytes);
                }
            }
        };
        let outcome = self.supervise(child, end_markers, timeout, true, None, Some(&quit), &mut tap, None);
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
    pub fn run_scripted(&self, timeout: Duration, end_markers: &[&str], script: &[InputStep]) -> io::Result<Outcome> {
        self.run_with_snapshots(timeout, end_markers, script, &[]).map(|(o, _)| o)
    }

    /// [`Qemu::run_scripted`] that also takes `snapshots` of guest-physical memory through
    /// the QMP socket ([`Qemu::qmp_socket`]; needed when `snapshots` is not empty): each when
    /// its console text appears (all those of one text at once, with the machine stopped,
    /// which then goes on), or, for `at: None`, when the run has ended at an end marker
    /// (before QEMU is killed). For each snapshot: `None` if it was not taken (its text
    /// never appeared; the run did not end at an end marker), else whether QEMU saved it.
    pub fn run_with_snapshots(
        &self,
        timeout: Duration,
        end_markers: &[&str],
        script: &[InputStep],
        snapshots: &[Snapshot],
    ) -> io::Result<(Outcome, Vec<SnapshotTaken>)> {
        let mut taker = match (snapshots.is_empty(), &self.qmp_path()) {
            (true, _) => None,
            (false, Some(p)) => Some(SnapshotTaker::new(p, snapshots)),
            (false, None) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "memory snapshots need a QMP socket"))
            }
        };
        let outcome = if script.is_empty() {
            let child = self.spawn(Stdio::null())?;
            self.supervise(child, end_markers, Some(timeout), false, None, None, &mut |_| {}, taker.as_mut())?
        } else {
            let mut child = self.spawn(Stdio::piped())?;
            let stdin = child.stdin.take().expect("piped stdin");
            self.supervise(
                child,
                end_markers,
                Some(timeout),
                false,
                Some((stdin, script)),
                None,
                &mut |_| {},
                taker.as_mut(),
            )?
        };
        let taken = taker.map_or_else(Vec::new, |t| t.taken);
        Ok((outcome, taken))
    }

    /// Supervises a started QEMU; `stdout_tap` sees QEMU's standard output as it arrives.
    #[allow(clippy::too_many_arguments)]
    fn supervise(
        &self,
        mut child: Child,
        end_markers: &[&str],
        timeout: Option<Duration>,
        echo: bool,
        mut script: Option<(ChildStdin, &[InputStep])>,
        quit: Option<&AtomicBool>,
        stdout_tap: &mut dyn FnMut(&[u8]),
        mut snapshots: Option<&mut SnapshotTaker<'_>>,
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
                        stdout_tap(&d);
                    }
                    if let Some((stdin, steps)) = script.as_mut() {
                        clean.extend(d.iter().copied().filter(|&b| b != b'\r'));
                        feed_script(stdin, steps, &clean, &mut step, &mut step_from);
                    }
                    if let Some(t) = snapshots.as_deref_mut() {
                        t.on_output(&text);
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
        if let (EndedBy::EndMarker(_), Some(t)) = (&ended_by, snapshots) {
            t.at_end();
        }
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
                            let _ = if is_err { io::stderr().write_all(&d) } else { io::stdout().write_all(&d) };
                        }
                        text.extend_from_slice(&d);
                        if !is_err {
                            stdout_bytes.extend_from_slice(&d);
                            stdout_tap(&d);
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

/// Whether a snapshot was taken ([`Qemu::run_with_snapshots`]): `None` = not taken, else
/// whether QEMU saved it.
pub type SnapshotTaken = Option<Result<(), String>>;

/// Takes the snapshots of a run as their console text appears (one QMP session, opened at
/// the first one).
struct SnapshotTaker<'a> {
    socket: PathBuf,
    list: &'a [Snapshot],
    qmp: Option<Qmp>,
    taken: Vec<SnapshotTaken>,
    /// Per snapshot: where to look for its text next (the text can span two reads).
    scanned: Vec<usize>,
}

impl<'a> SnapshotTaker<'a> {
    fn new(socket: &Path, list: &'a [Snapshot]) -> Self {
        SnapshotTaker {
            socket: socket.to_path_buf(),
            list,
            qmp: None,
            taken: vec![None; list.len()],
            scanned: vec![0; list.len()],
        }
    }

    /// Takes the snapshots whose text is now in the output `text`.
    fn on_output(&mut self, text: &[u8]) {
        let mut due = Vec::new();
        for (i, s) in self.list.iter().enumerate() {
            let Some(at) = &s.at else { continue };
            if self.taken[i].is_some() {
                continue;
            }
            let from = self.scanned[i].saturating_sub(at.len());
            if find(&text[from..], at.as_bytes()).is_some() {
                due.push(i);
            }
            self.scanned[i] = text.len();
        }
        if !due.is_empty() {
            self.take(&due, true);
        }
    }

    /// Takes the snapshots of the end of the run.
    fn at_end(&mut self) {
        let due: Vec<usize> = (0..self.list.len()).filter(|&i| self.list[i].at.is_none()).collect();
        if !due.is_empty() {
            self.take(&due, false);
        }
    }

    fn take(&mut self, due: &[usize], go_on: bool) {
        let snapshots: Vec<&Snapshot> = due.iter().map(|&i| &self.list[i]).collect();
        let r = match self.qmp.as_mut() {
            Some(q) => q.take(&snapshots, go_on),
            None => Qmp::connect(&self.socket, Duration::from_secs(5)).and_then(|mut q| {
                let r = q.take(&snapshots, go_on);
                self.qmp = Some(q);
                r
            }),
        };
        let r = r.map_err(|e| e.to_string());
        for &i in due {
            self.taken[i] = Some(r.clone());
        }
    }
}

/// Sends every script step whose `after` text is now in `clean` (past `*from`).
fn feed_script(stdin: &mut ChildStdin, steps: &[InputStep], clean: &[u8], step: &mut usize, from: &mut usize) {
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
