//! The domains' consoles of an interactive run (docs/consoles.md): the hypervisor's console
//! concentrator labels every domain's output lines `NAME: ` and sends the input to one
//! domain at a time, switched by [`keys::ESCAPE`] and a key. Here:
//!
//! * [`Demux`] splits the labelled console output per domain (label stripped);
//! * [`Focus`] follows which domain gets the input, from the keys typed on the terminal, and
//!   makes the bytes that type a socket client's input to its domain;
//! * [`ConsoleSockets`] are the local Unix sockets, one per domain: a client reads its
//!   domain's output and types to it.

use hv_api::cons::keys;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

/// Where the demultiplexer is in the current console line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// At the start of a line: the label, if any, is being read.
    Start,
    /// In a line of this domain.
    Domain(usize),
    /// In a line of no domain (the hypervisor's, QEMU's).
    Other,
}

/// Splits the console output of several domains into each domain's own output.
///
/// A line that starts `NAME: ` (NAME a domain) is that domain's, up to and including its
/// `\n`: its bytes go out as they come (so a prompt shows before its line ends), the label
/// removed. Other lines (`hv: ...`) belong to no domain.
#[derive(Clone, Debug)]
pub struct Demux {
    labels: Vec<Vec<u8>>,
    pending: Vec<u8>,
    line: Line,
}

impl Demux {
    /// A demultiplexer for the domains `names`, in index order.
    pub fn new(names: &[String]) -> Self {
        Demux {
            labels: names.iter().map(|n| format!("{n}: ").into_bytes()).collect(),
            pending: Vec::new(),
            line: Line::Start,
        }
    }

    /// Takes console output; returns each domain's part of it, in order: (domain index,
    /// bytes), consecutive bytes of one domain together.
    pub fn feed(&mut self, data: &[u8]) -> Vec<(usize, Vec<u8>)> {
        let mut out: Vec<(usize, Vec<u8>)> = Vec::new();
        for &b in data {
            match self.line {
                Line::Start => {
                    self.pending.push(b);
                    if b == b'\n' {
                        self.pending.clear();
                    } else if let Some(d) = self.labels.iter().position(|l| *l == self.pending) {
                        self.line = Line::Domain(d);
                        self.pending.clear();
                    } else if !self.labels.iter().any(|l| l.starts_with(&self.pending)) {
                        self.line = Line::Other;
                        self.pending.clear();
                    }
                }
                Line::Domain(d) => {
                    match out.last_mut() {
                        Some((last, bytes)) if *last == d => bytes.push(b),
                        _ => out.push((d, vec![b])),
                    }
                    if b == b'\n' {
                        self.line = Line::Start;
                    }
                }
                Line::Other => {
                    if b == b'\n' {
                        self.line = Line::Start;
                    }
                }
            }
        }
        out
    }
}

/// Which domain gets the console input, as the hypervisor will see it once it has read
/// every byte sent so far (it handles the keys in the order they arrive on the UART).
#[derive(Clone, Debug)]
pub struct Focus {
    domains: usize,
    focus: usize,
    escape: bool,
}

impl Focus {
    /// Input to domain 0 of `domains`, as at boot.
    pub fn new(domains: usize) -> Self {
        Focus { domains, focus: 0, escape: false }
    }

    /// The domain that gets the input.
    pub fn focus(&self) -> usize {
        self.focus
    }

    /// Keys typed on the terminal (sent as they are): follows the switches among them.
    pub fn typed(&mut self, keys: &[u8]) {
        for &b in keys {
            self.key(b);
        }
    }

    fn key(&mut self, b: u8) {
        if !self.escape {
            self.escape = b == keys::ESCAPE && self.domains > 1;
            return;
        }
        self.escape = false;
        match b {
            keys::NEXT => self.focus = (self.focus + 1) % self.domains,
            b'0'..=b'9' if usize::from(b - keys::DOMAIN_0) < self.domains => {
                self.focus = usize::from(b - keys::DOMAIN_0)
            }
            _ => {}
        }
    }

    /// The bytes to send so that `data` reaches domain `d`: the switch to `d` first when
    /// the input goes elsewhere (completing a Ctrl-E typed on the terminal, if one is
    /// pending), and every Ctrl-E in `data` doubled (a literal Ctrl-E).
    pub fn to_domain(&mut self, d: usize, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 2);
        if self.domains > 1 {
            if self.focus != d || self.escape {
                if !self.escape {
                    out.push(keys::ESCAPE);
                }
                out.push(keys::DOMAIN_0 + d as u8);
                self.focus = d;
                self.escape = false;
            }
            for &b in data {
                out.push(b);
                if b == keys::ESCAPE {
                    out.push(keys::ESCAPE);
                }
            }
        } else {
            out.extend_from_slice(data);
        }
        out
    }
}

/// What goes to QEMU's console input.
pub(crate) enum Input {
    /// Keys typed on the terminal.
    Keys(Vec<u8>),
    /// Bytes a socket client of domain `.0` wrote.
    Domain(usize, Vec<u8>),
}

/// One local Unix socket per domain, `console-NAME.sock` in a folder; removed when dropped.
pub struct ConsoleSockets {
    names: Vec<String>,
    paths: Vec<PathBuf>,
    listeners: Vec<UnixListener>,
    clients: Arc<Mutex<Vec<Vec<UnixStream>>>>,
}

impl ConsoleSockets {
    /// Creates `dir` and listens on `dir/console-NAME.sock` for each domain (an old socket
    /// file there is replaced).
    pub fn bind(dir: &Path, names: &[String]) -> io::Result<ConsoleSockets> {
        std::fs::create_dir_all(dir)?;
        let mut paths = Vec::new();
        let mut listeners = Vec::new();
        for n in names {
            let p = dir.join(format!("console-{n}.sock"));
            let _ = std::fs::remove_file(&p);
            let l = UnixListener::bind(&p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
            paths.push(p);
            listeners.push(l);
        }
        let clients = Arc::new(Mutex::new(names.iter().map(|_| Vec::new()).collect()));
        Ok(ConsoleSockets { names: names.to_vec(), paths, listeners, clients })
    }

    /// The domains' names and their sockets.
    pub fn sockets(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.names.iter().map(String::as_str).zip(self.paths.iter().map(PathBuf::as_path))
    }

    /// The domains, in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Accepts clients from now on (detached threads): what a client writes is sent to
    /// `input` for its domain.
    pub(crate) fn serve(&self, input: mpsc::Sender<Input>) -> io::Result<()> {
        for (d, l) in self.listeners.iter().enumerate() {
            let l = l.try_clone()?;
            let clients = Arc::clone(&self.clients);
            let input = input.clone();
            thread::spawn(move || {
                for stream in l.incoming() {
                    let Ok(stream) = stream else { continue };
                    let Ok(reader) = stream.try_clone() else { continue };
                    if let Some(c) = clients.lock().expect("clients").get_mut(d) {
                        c.push(stream);
                    }
                    let input = input.clone();
                    thread::spawn(move || client_reader(reader, d, input));
                }
            });
        }
        Ok(())
    }

    /// Sends domain `d`'s output to its clients (a client that cannot take it is dropped).
    pub(crate) fn send(&self, d: usize, bytes: &[u8]) {
        let mut clients = self.clients.lock().expect("clients");
        if let Some(c) = clients.get_mut(d) {
            c.retain_mut(|s| s.write_all(bytes).is_ok());
        }
    }
}

fn client_reader(mut s: UnixStream, d: usize, input: mpsc::Sender<Input>) {
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if input.send(Input::Domain(d, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

impl Drop for ConsoleSockets {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["primary".into(), "guest1".into()]
    }

    /// Each domain's output, whole, after feeding `chunks`.
    fn demux(chunks: &[&str]) -> Vec<String> {
        let mut d = Demux::new(&names());
        let mut out = vec![String::new(); 2];
        for c in chunks {
            for (i, b) in d.feed(c.as_bytes()) {
                out[i].push_str(std::str::from_utf8(&b).unwrap());
            }
        }
        out
    }

    #[test]
    fn lines_go_to_their_domain_without_the_label() {
        let out = demux(&["hv: sun4v-hv\r\nprimary: a\r\nguest1: b\r\nprimary: c\r\nhv: all domains stopped\r\n"]);
        assert_eq!(out, ["a\r\nc\r\n", "b\r\n"]);
    }

    #[test]
    fn labels_split_over_reads_and_prompts() {
        // A label cut anywhere, and a prompt that continues in a later read.
        let out = demux(&["pri", "mary: ok ", "b\r\ngue", "st1", ": x\r\n"]);
        assert_eq!(out, ["ok b\r\n", "x\r\n"]);
        let mut d = Demux::new(&names());
        assert_eq!(d.feed(b"primary: ok "), [(0, b"ok ".to_vec())], "a prompt goes out at once");
    }

    #[test]
    fn lines_of_no_domain_are_dropped() {
        let out = demux(&[
            "prim\r\n",
            "primaryx: no\r\n",
            "guest: no\r\n",
            "hv: domain primary: 256 MiB\r\n",
            "\r\n",
            "primary:no\r\n",
            "primary: yes\r\n",
        ]);
        assert_eq!(out, ["yes\r\n", ""]);
    }

    #[test]
    fn focus_follows_the_typed_keys() {
        let mut f = Focus::new(3);
        f.typed(b"ab");
        assert_eq!(f.focus(), 0);
        f.typed(&[keys::ESCAPE, b'2']);
        assert_eq!(f.focus(), 2);
        f.typed(&[keys::ESCAPE, keys::NEXT]);
        assert_eq!(f.focus(), 0, "next wraps");
        f.typed(&[keys::ESCAPE, keys::ESCAPE, b'1']);
        assert_eq!(f.focus(), 0, "Ctrl-E Ctrl-E is a literal Ctrl-E; the 1 is input");
        f.typed(&[keys::ESCAPE, b'7', keys::ESCAPE]);
        assert_eq!(f.focus(), 0, "no domain 7");
        f.typed(b"1");
        assert_eq!(f.focus(), 1, "an escape split over two reads");
        let mut one = Focus::new(1);
        one.typed(&[keys::ESCAPE, keys::NEXT]);
        assert_eq!(one.focus(), 0);
    }

    #[test]
    fn socket_input_switches_first_and_escapes_ctrl_e() {
        let mut f = Focus::new(2);
        assert_eq!(f.to_domain(0, b"ab"), b"ab", "domain 0 has the input at boot");
        assert_eq!(f.to_domain(1, b"x"), [keys::ESCAPE, b'1', b'x']);
        assert_eq!(f.to_domain(1, &[b'y', keys::ESCAPE]), [b'y', keys::ESCAPE, keys::ESCAPE]);
        f.typed(&[keys::ESCAPE, b'0']);
        assert_eq!(f.to_domain(1, b"z"), [keys::ESCAPE, b'1', b'z'], "after a switch on the terminal");
        // A Ctrl-E typed on the terminal and not yet completed: the digit completes it.
        f.typed(&[keys::ESCAPE]);
        assert_eq!(f.to_domain(0, b"w"), [b'0', b'w']);
        assert_eq!(f.focus(), 0);
        // One domain: bytes as they are.
        assert_eq!(Focus::new(1).to_domain(0, &[keys::ESCAPE]), [keys::ESCAPE]);
    }

    #[test]
    fn sockets_carry_output_and_input() {
        let dir = std::env::temp_dir().join(format!("qemu-sun4v-consoles-{}", std::process::id()));
        let s = ConsoleSockets::bind(&dir, &names()).unwrap();
        let paths: Vec<PathBuf> = s.sockets().map(|(_, p)| p.to_path_buf()).collect();
        assert_eq!(paths[1], dir.join("console-guest1.sock"));
        let (tx, rx) = mpsc::channel();
        s.serve(tx).unwrap();
        let mut client = UnixStream::connect(&paths[1]).unwrap();
        client.write_all(b"hello").unwrap();
        match rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap() {
            Input::Domain(d, b) => assert_eq!((d, b.as_slice()), (1, &b"hello"[..])),
            Input::Keys(_) => panic!("keys"),
        }
        // The client is registered before its reader thread starts: it gets the output.
        s.send(0, b"not for guest1\r\n");
        s.send(1, b"line\r\n");
        let mut got = [0u8; 6];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"line\r\n");
        drop(s);
        assert!(!paths[0].exists() && !paths[1].exists(), "sockets removed");
        let _ = std::fs::remove_dir(&dir);
    }
}
