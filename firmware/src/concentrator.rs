//! The console concentrator: every domain and the hypervisor share the one UART, as LDoms'
//! console concentrator shares the system console (docs/consoles.md).
//!
//! The concentrator owns the UART behind one spin lock, which the hypervisor's own log
//! lines ([`Concentrator::log_line`], through [`crate::console::Logger`]) and every domain's
//! console calls take, so that lines never interleave mid-line whatever the strands do. It
//! is a leaf lock: nothing else is locked while it is held (its own `hv:` lines, e.g. a
//! focus switch, are written directly, not through `log`), so a caller may hold any other
//! lock when it calls in.
//!
//! * **One domain**: no label, no buffering: a byte a guest writes goes to the UART at once,
//!   a byte it reads comes from the UART (today's behaviour; the assembly fast path of
//!   `cons_putchar`/`cons_getchar` writes and reads the UART directly only in that case).
//! * **Several domains**: each domain's output is kept in a line buffer of [`LINE_BYTES`]
//!   bytes and written as one `NAME: ` labelled line under the lock when a `\n` arrives, when
//!   the buffer is full, or when that domain asks for input (so that a prompt without a
//!   newline shows). A partial line that is still open continues without a second label;
//!   when another domain's line or a hypervisor line comes first, the open line is ended
//!   with `\r\n`. Input goes to the domain that has the *focus* (initially domain 0): bytes
//!   read from the UART, by whichever strand, go into the focused domain's input ring of
//!   [`INPUT_BYTES`] entries, and a domain's `cons_getchar`/`cons_read` take from its own
//!   ring. When the focused domain's ring is full the bytes stay in the UART.
//!
//! The keys (several domains only): [`ESCAPE`] (Ctrl-E) then
//! * a digit `0`–`7`: input to the domain with that index;
//! * [`NEXT_KEY`] (`n`): input to the next domain;
//! * [`HELP_KEY`] (`?`): a line listing the keys and the domains;
//! * Ctrl-E again: one Ctrl-E to the focused domain;
//! * anything else: Ctrl-E and that byte to the focused domain.
//!
//! A switch prints `hv: console input to domain NAME`. A BREAK goes to the focused domain.
//! Ctrl-E collides neither with QEMU's `-nographic` mux escape (Ctrl-A) nor with
//! `cargo xtask run`'s quit key (Ctrl-]).

use crate::hardware::{Hardware, UartInput};
use crate::hv_config::{MAX_DOMAINS, MAX_NAME};
use core::fmt::{self, Write};
use hv_api::cons::keys;

/// The key that starts a console command: Ctrl-E (0x05).
pub const ESCAPE: u8 = keys::ESCAPE;
/// After [`ESCAPE`]: input to the next domain (in configuration order, wrapping).
pub const NEXT_KEY: u8 = keys::NEXT;
/// After [`ESCAPE`]: print the keys and the domains.
pub const HELP_KEY: u8 = keys::HELP;
/// Bytes of each domain's output line buffer.
pub const LINE_BYTES: usize = 256;
/// Entries (bytes or BREAKs) of each domain's input ring.
pub const INPUT_BYTES: usize = 64;
/// Times a busy transmitter is polled for one byte before giving up (a guest's byte is then
/// refused with `EWOULDBLOCK`; a hypervisor byte is dropped).
pub const UART_POLLS: usize = 10_000;
/// Most bytes one call reads from the UART into the input rings.
const DRAIN_MAX: usize = 2 * INPUT_BYTES;

/// A ring of received input (bytes and BREAKs).
struct InputRing {
    buf: [UartInput; INPUT_BYTES],
    head: usize,
    len: usize,
}

impl InputRing {
    const fn new() -> Self {
        InputRing { buf: [UartInput::Empty; INPUT_BYTES], head: 0, len: 0 }
    }

    fn free(&self) -> usize {
        INPUT_BYTES - self.len
    }

    fn push(&mut self, input: UartInput) {
        if self.len < INPUT_BYTES {
            self.buf[(self.head + self.len) % INPUT_BYTES] = input;
            self.len += 1;
        }
    }

    fn peek(&self) -> UartInput {
        if self.len == 0 {
            UartInput::Empty
        } else {
            self.buf[self.head]
        }
    }

    fn pop(&mut self) -> UartInput {
        let v = self.peek();
        if self.len > 0 {
            self.head = (self.head + 1) % INPUT_BYTES;
            self.len -= 1;
        }
        v
    }
}

/// One domain's console: its name, its output line buffer and its input ring.
struct Port {
    name: heapless::String<MAX_NAME>,
    line: [u8; LINE_BYTES],
    len: usize,
    input: InputRing,
}

impl Port {
    const fn new() -> Self {
        Port { name: heapless::String::new(), line: [0; LINE_BYTES], len: 0, input: InputRing::new() }
    }
}

/// Everything behind the lock.
struct State {
    ports: [Port; MAX_DOMAINS],
    /// Domains configured (0 or 1: pass-through).
    count: usize,
    /// The domain that gets the input.
    focus: usize,
    /// [`ESCAPE`] was the last input byte.
    escape: bool,
    /// The domain whose line is open on the UART: its label and part of its line were
    /// written, its `\n` not yet.
    open_line: Option<usize>,
}

/// The UART, polled.
struct Uart<'a> {
    hw: &'a mut dyn Hardware,
}

impl Uart<'_> {
    fn put(&mut self, byte: u8) -> bool {
        (0..UART_POLLS).any(|_| self.hw.uart_put(byte))
    }
}

impl Write for Uart<'_> {
    /// Writes text with `\n` as `\r\n`; a byte the UART never takes is dropped.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
        Ok(())
    }
}

/// The console concentrator (module documentation). One instance for the machine, in a
/// `static`; every method takes its lock.
pub struct Concentrator {
    state: spin::Mutex<State>,
}

impl Default for Concentrator {
    fn default() -> Self {
        Concentrator::new()
    }
}

impl Concentrator {
    /// A concentrator with no domain (pass-through until [`Concentrator::configure`]).
    pub const fn new() -> Self {
        Concentrator {
            state: spin::Mutex::new(State {
                ports: [const { Port::new() }; MAX_DOMAINS],
                count: 0,
                focus: 0,
                escape: false,
                open_line: None,
            }),
        }
    }

    /// Sets the domains, in index order (at most [`MAX_DOMAINS`]; longer names are cut to
    /// [`MAX_NAME`] bytes). Buffers and rings start empty, the focus on domain 0.
    pub fn configure<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut st = self.state.lock();
        let mut count = 0;
        for (port, name) in st.ports.iter_mut().zip(names) {
            *port = Port::new();
            for c in name.chars() {
                if port.name.push(c).is_err() {
                    break;
                }
            }
            count += 1;
        }
        st.count = count;
        st.focus = 0;
        st.escape = false;
        st.open_line = None;
    }

    /// How many domains are configured.
    pub fn domains(&self) -> usize {
        self.state.lock().count
    }

    /// The index of the domain that gets the input.
    pub fn focus(&self) -> usize {
        self.state.lock().focus
    }

    /// Domain `domain` writes `byte`. With one domain it goes to the UART at once; with
    /// several into the domain's line buffer (written out at `\n` or when full). `false`:
    /// not taken (the UART stayed busy; `EWOULDBLOCK` for the guest).
    pub fn put(&self, hw: &mut dyn Hardware, domain: usize, byte: u8) -> bool {
        let mut st = self.state.lock();
        if st.count <= 1 {
            return Uart { hw }.put(byte);
        }
        if domain >= st.count {
            return false;
        }
        let mut uart = Uart { hw };
        if st.ports[domain].len == LINE_BYTES {
            st.flush(&mut uart, domain);
            if st.ports[domain].len == LINE_BYTES {
                return false;
            }
        }
        let port = &mut st.ports[domain];
        port.line[port.len] = byte;
        port.len += 1;
        if byte == b'\n' || port.len == LINE_BYTES {
            st.flush(&mut uart, domain);
        }
        true
    }

    /// Writes out what domain `domain` has buffered (e.g. before it stops).
    pub fn flush(&self, hw: &mut dyn Hardware, domain: usize) {
        let mut st = self.state.lock();
        if domain < st.count && st.count > 1 {
            st.flush(&mut Uart { hw }, domain);
        }
    }

    /// Domain `domain` reads one input: a byte, a BREAK, or [`UartInput::Empty`]. With
    /// several domains its buffered output is written out first (a prompt shows), the
    /// UART is read into the focused domain's ring, and the input comes from its own ring.
    pub fn get(&self, hw: &mut dyn Hardware, domain: usize) -> UartInput {
        self.take(hw, domain, true)
    }

    /// Like [`Concentrator::get`], but a BREAK is left in place (for the next `get`):
    /// `Some(byte)`, or `None` when there is no byte before the next BREAK or at all.
    pub fn get_byte(&self, hw: &mut dyn Hardware, domain: usize) -> Option<u8> {
        match self.take(hw, domain, false) {
            UartInput::Byte(b) => Some(b),
            _ => None,
        }
    }

    fn take(&self, hw: &mut dyn Hardware, domain: usize, take_break: bool) -> UartInput {
        self.with_input(hw, domain, true, |ring| ring.take(take_break)).unwrap_or(UartInput::Empty)
    }

    /// Whether domain `domain` has input waiting (the UART is read into the rings first);
    /// for the device-interrupt poll.
    pub fn pending_input(&self, hw: &mut dyn Hardware, domain: usize) -> bool {
        self.with_input(hw, domain, false, |ring| ring.len > 0).unwrap_or(false)
    }

    /// Reads the UART into the input rings, then runs `f` on `domain`'s ring (`None` for a
    /// domain there is not). With one domain, its ring holds only what was read and not yet
    /// taken (`pending_input`, a BREAK after bytes). `flush`: print the domain's unfinished
    /// output line first (it is about to read: a prompt).
    fn with_input<R>(
        &self,
        hw: &mut dyn Hardware,
        domain: usize,
        flush: bool,
        f: impl FnOnce(&mut InputRing) -> R,
    ) -> Option<R> {
        let mut st = self.state.lock();
        let mut uart = Uart { hw };
        if st.count <= 1 {
            if st.ports[0].input.len == 0 {
                let input = uart.hw.uart_get();
                if input != UartInput::Empty {
                    st.ports[0].input.push(input);
                }
            }
            return Some(f(&mut st.ports[0].input));
        }
        if domain >= st.count {
            return None;
        }
        if flush {
            st.flush(&mut uart, domain);
        }
        st.drain(&mut uart);
        Some(f(&mut st.ports[domain].input))
    }

    /// Writes one hypervisor line, `hv: <args>\r\n`, under the lock (an open domain line is
    /// ended first).
    pub fn log_line(&self, hw: &mut dyn Hardware, args: fmt::Arguments<'_>) {
        let mut st = self.state.lock();
        st.hv_line(&mut Uart { hw }, args);
    }

    /// [`Concentrator::log_line`] for the panic handler: when the lock is held (by the
    /// panicking strand itself, perhaps) the line is written without it.
    pub fn log_line_unlocked(&self, hw: &mut dyn Hardware, args: fmt::Arguments<'_>) {
        match self.state.try_lock() {
            Some(mut st) => st.hv_line(&mut Uart { hw }, args),
            None => {
                let mut uart = Uart { hw };
                let _ = uart.write_str("\nhv: ");
                let _ = uart.write_fmt(args);
                let _ = uart.write_str("\n");
            }
        }
    }
}

impl InputRing {
    /// The next input; a BREAK only when `take_break`.
    fn take(&mut self, take_break: bool) -> UartInput {
        match self.peek() {
            UartInput::Break if !take_break => UartInput::Empty,
            _ => self.pop(),
        }
    }
}

impl State {
    /// Writes `hv: <args>\r\n`, ending an open line first.
    fn hv_line(&mut self, uart: &mut Uart<'_>, args: fmt::Arguments<'_>) {
        if self.count > 1 && self.open_line.take().is_some() {
            let _ = uart.write_str("\n");
        }
        let _ = uart.write_str("hv: ");
        let _ = uart.write_fmt(args);
        let _ = uart.write_str("\n");
    }

    /// Writes out domain `d`'s line buffer, labelled unless its line is the open one. What
    /// the UART does not take stays buffered.
    fn flush(&mut self, uart: &mut Uart<'_>, d: usize) {
        if self.ports[d].len == 0 {
            return;
        }
        if self.open_line != Some(d) {
            if self.open_line.is_some() {
                let _ = uart.write_str("\n");
            }
            // Nothing is written (nor the line opened) while the transmitter stays busy.
            let mut label = self.ports[d].name.bytes().chain(*b": ");
            if !label.next().is_some_and(|b| uart.put(b)) {
                return;
            }
            label.for_each(|b| {
                uart.put(b);
            });
            self.open_line = Some(d);
        }
        let port = &mut self.ports[d];
        let sent = port.line[..port.len].iter().take_while(|&&b| uart.put(b)).count();
        if sent == port.len {
            if port.line[sent - 1] == b'\n' {
                self.open_line = None;
            }
            port.len = 0;
        } else {
            port.line.copy_within(sent..port.len, 0);
            port.len -= sent;
        }
    }

    /// Reads the UART into the focused domain's ring, handling the keys; stops when the
    /// UART is empty or that ring might not take what the next byte brings (two entries).
    fn drain(&mut self, uart: &mut Uart<'_>) {
        for _ in 0..DRAIN_MAX {
            if self.ports[self.focus].input.free() < 2 {
                return;
            }
            match uart.hw.uart_get() {
                UartInput::Empty => return,
                UartInput::Break => {
                    self.escape = false;
                    self.ports[self.focus].input.push(UartInput::Break);
                }
                UartInput::Byte(b) => self.key(uart, b),
            }
        }
    }

    /// One input byte: a key after [`ESCAPE`], or input for the focused domain.
    fn key(&mut self, uart: &mut Uart<'_>, b: u8) {
        let focus = self.focus;
        if !self.escape {
            if b == ESCAPE {
                self.escape = true;
            } else {
                self.ports[focus].input.push(UartInput::Byte(b));
            }
            return;
        }
        self.escape = false;
        match b {
            ESCAPE => self.ports[focus].input.push(UartInput::Byte(ESCAPE)),
            b'0'..=b'9' if usize::from(b - keys::DOMAIN_0) < self.count => {
                self.set_focus(uart, usize::from(b - keys::DOMAIN_0))
            }
            b'0'..=b'9' => {
                let last = self.count - 1;
                self.hv_line(uart, format_args!("console: no domain {} (Ctrl-E 0-{last})", b - keys::DOMAIN_0));
            }
            NEXT_KEY => self.set_focus(uart, (focus + 1) % self.count),
            HELP_KEY => {
                let name = self.ports[focus].name.clone();
                self.hv_line(
                    uart,
                    format_args!(
                        "console keys: Ctrl-E 0-{}: input to that domain, Ctrl-E n: the next one, \
                         Ctrl-E Ctrl-E: a Ctrl-E; input goes to domain {} ({focus})",
                        self.count - 1,
                        name
                    ),
                );
                for (i, p) in self.ports[..self.count].iter().enumerate() {
                    let _ = uart.write_fmt(format_args!("hv: console {i}: {}\n", p.name));
                }
            }
            _ => {
                self.ports[focus].input.push(UartInput::Byte(ESCAPE));
                self.ports[focus].input.push(UartInput::Byte(b));
            }
        }
    }

    fn set_focus(&mut self, uart: &mut Uart<'_>, d: usize) {
        self.focus = d;
        let name = self.ports[d].name.clone();
        self.hv_line(uart, format_args!("console input to domain {name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::fake::FakeHardware;

    fn two() -> (Concentrator, FakeHardware) {
        let c = Concentrator::new();
        c.configure(["primary", "guest1"]);
        (c, FakeHardware::new())
    }

    fn put_str(c: &Concentrator, hw: &mut FakeHardware, d: usize, s: &str) {
        for b in s.bytes() {
            assert!(c.put(hw, d, b));
        }
    }

    fn typed(hw: &mut FakeHardware, s: &[u8]) {
        hw.uart_in.extend(s.iter().map(|&b| Some(b)));
    }

    /// Everything domain `d` can read now.
    fn read_all(c: &Concentrator, hw: &mut FakeHardware, d: usize) -> Vec<u8> {
        core::iter::from_fn(|| c.get_byte(hw, d)).collect()
    }

    #[test]
    fn one_domain_passes_through() {
        let c = Concentrator::new();
        c.configure(["primary"]);
        let mut hw = FakeHardware::new();
        put_str(&c, &mut hw, 0, "ok ");
        assert_eq!(hw.console(), "ok ", "no label, no buffering");
        c.log_line(&mut hw, format_args!("x {}", 1));
        assert_eq!(hw.console(), "ok hv: x 1\r\n", "as before: no line ending inserted");
        typed(&mut hw, &[ESCAPE, b'1']);
        assert_eq!(c.get(&mut hw, 0), UartInput::Byte(ESCAPE), "no keys with one domain");
        assert!(c.pending_input(&mut hw, 0));
        assert_eq!(c.get(&mut hw, 0), UartInput::Byte(b'1'));
        assert_eq!(c.get(&mut hw, 0), UartInput::Empty);
        hw.uart_busy = true;
        assert!(!c.put(&mut hw, 0, b'x'), "a busy transmitter: EWOULDBLOCK");
        // Unconfigured: the same.
        let c = Concentrator::new();
        let mut hw = FakeHardware::new();
        put_str(&c, &mut hw, 0, "hi");
        assert_eq!(hw.console(), "hi");
    }

    #[test]
    fn interleaved_output_stays_line_atomic_and_labelled() {
        let (c, mut hw) = two();
        // Byte by byte, alternating between the domains, as two strands would.
        let (a, b) = ("first line of primary\r\n", "guest1 says hello\r\n");
        for i in 0..a.len().max(b.len()) {
            if let Some(x) = a.as_bytes().get(i) {
                assert!(c.put(&mut hw, 0, *x));
            }
            if let Some(x) = b.as_bytes().get(i) {
                assert!(c.put(&mut hw, 1, *x));
            }
        }
        c.log_line(&mut hw, format_args!("domain {} exited", "guest1"));
        assert_eq!(
            hw.console(),
            "guest1: guest1 says hello\r\nprimary: first line of primary\r\nhv: domain guest1 exited\r\n"
        );
    }

    #[test]
    fn a_prompt_shows_when_the_domain_reads_and_its_line_continues() {
        let (c, mut hw) = two();
        put_str(&c, &mut hw, 0, "ok ");
        assert_eq!(hw.console(), "", "buffered");
        assert_eq!(c.get(&mut hw, 0), UartInput::Empty);
        assert_eq!(hw.console(), "primary: ok ", "the prompt shows when primary reads");
        put_str(&c, &mut hw, 0, "b\r\n");
        assert_eq!(hw.console(), "primary: ok b\r\n", "the open line continues, no second label");
        // Another domain's line first ends the open line; then primary's gets a new label.
        put_str(&c, &mut hw, 0, "ok ");
        c.flush(&mut hw, 0);
        put_str(&c, &mut hw, 1, "hi\n");
        put_str(&c, &mut hw, 0, "x\n");
        assert_eq!(hw.console(), "primary: ok b\r\nprimary: ok \r\nguest1: hi\nprimary: x\n");
        // A hypervisor line too.
        put_str(&c, &mut hw, 1, "> ");
        c.flush(&mut hw, 1);
        c.log_line(&mut hw, format_args!("note"));
        assert!(hw.console().ends_with("guest1: > \r\nhv: note\r\n"), "{}", hw.console());
    }

    #[test]
    fn a_full_buffer_is_written_out() {
        let (c, mut hw) = two();
        let long = "a".repeat(LINE_BYTES + 10);
        put_str(&c, &mut hw, 1, &long);
        assert_eq!(hw.console(), format!("guest1: {}", "a".repeat(LINE_BYTES)));
        put_str(&c, &mut hw, 1, "\n");
        assert_eq!(hw.console(), format!("guest1: {}\n", long), "one label for the whole line");
        // A busy UART: the buffer fills, then the guest gets EWOULDBLOCK; nothing is lost.
        hw.uart_out.clear();
        hw.uart_busy = true;
        put_str(&c, &mut hw, 0, &"b".repeat(LINE_BYTES));
        assert!(!c.put(&mut hw, 0, b'c'));
        hw.uart_busy = false;
        assert!(c.put(&mut hw, 0, b'c'));
        assert!(c.put(&mut hw, 0, b'\n'));
        assert_eq!(hw.console(), format!("primary: {}c\n", "b".repeat(LINE_BYTES)));
        assert!(!c.put(&mut hw, 2, b'x'), "no such domain");
    }

    #[test]
    fn input_goes_to_the_focus_and_the_keys_switch_it() {
        let (c, mut hw) = two();
        assert_eq!(c.focus(), 0);
        typed(&mut hw, b"ab");
        // guest1 reads first: the bytes are primary's and wait in its ring.
        assert_eq!(c.get(&mut hw, 1), UartInput::Empty);
        assert!(c.pending_input(&mut hw, 0) && !c.pending_input(&mut hw, 1));
        assert_eq!(read_all(&c, &mut hw, 0), b"ab");
        typed(&mut hw, &[ESCAPE, b'1', b'x', ESCAPE, ESCAPE, ESCAPE, b'z']);
        assert_eq!(c.get(&mut hw, 0), UartInput::Empty);
        assert_eq!(c.focus(), 1);
        assert_eq!(hw.console(), "hv: console input to domain guest1\r\n");
        assert_eq!(read_all(&c, &mut hw, 1), [b'x', ESCAPE, ESCAPE, b'z'], "Ctrl-E Ctrl-E is one Ctrl-E");
        typed(&mut hw, &[ESCAPE, NEXT_KEY, b'y', ESCAPE, NEXT_KEY, ESCAPE, b'0', b'w']);
        assert!(c.pending_input(&mut hw, 0));
        assert_eq!(read_all(&c, &mut hw, 1), b"");
        assert_eq!(read_all(&c, &mut hw, 0), b"yw");
        assert_eq!(c.focus(), 0);
        typed(&mut hw, &[ESCAPE, b'7', b'v']);
        assert_eq!(read_all(&c, &mut hw, 0), b"v");
        assert!(hw.console().ends_with("hv: console: no domain 7 (Ctrl-E 0-1)\r\n"), "{}", hw.console());
        assert_eq!(c.focus(), 0);
        typed(&mut hw, &[ESCAPE, HELP_KEY]);
        c.pending_input(&mut hw, 0);
        assert!(hw.console().ends_with("hv: console 0: primary\r\nhv: console 1: guest1\r\n"), "{}", hw.console());
    }

    #[test]
    fn break_goes_to_the_focus() {
        let (c, mut hw) = two();
        hw.uart_in.extend([Some(ESCAPE), Some(b'1'), Some(b'a'), None, Some(b'b')]);
        assert_eq!(c.get_byte(&mut hw, 1), Some(b'a'));
        assert_eq!(c.get_byte(&mut hw, 1), None, "a BREAK is not a byte");
        assert_eq!(c.get(&mut hw, 1), UartInput::Break, "and stays for the next get");
        assert_eq!(c.get(&mut hw, 1), UartInput::Byte(b'b'));
        assert_eq!(c.get(&mut hw, 0), UartInput::Empty);
    }

    #[test]
    fn the_input_ring_loses_nothing() {
        let (c, mut hw) = two();
        let text: Vec<u8> = (0..3 * INPUT_BYTES).map(|i| b'a' + (i % 26) as u8).collect();
        typed(&mut hw, &text);
        // guest1 polls while primary has the focus: primary's ring fills, the rest waits in
        // the UART.
        for _ in 0..4 {
            assert!(!c.pending_input(&mut hw, 1));
        }
        assert!(!hw.uart_in.is_empty(), "what the ring cannot hold stays in the UART");
        assert_eq!(read_all(&c, &mut hw, 0), text, "every byte, in order");
        // An escape split over two reads still works.
        typed(&mut hw, &[ESCAPE]);
        assert!(!c.pending_input(&mut hw, 0));
        typed(&mut hw, b"1q");
        assert_eq!(read_all(&c, &mut hw, 1), b"q");
    }

    #[test]
    fn configure_resets_and_cuts_names() {
        let c = Concentrator::new();
        let long = "n".repeat(MAX_NAME + 5);
        c.configure(["a", long.as_str(), "c", "d", "e", "f", "g", "h", "i"]);
        assert_eq!(c.domains(), MAX_DOMAINS);
        let mut hw = FakeHardware::new();
        put_str(&c, &mut hw, 1, "x\n");
        assert_eq!(hw.console(), format!("{}: x\n", "n".repeat(MAX_NAME)));
        c.configure(["p"]);
        assert_eq!((c.domains(), c.focus()), (1, 0));
    }

    #[test]
    fn the_panic_line_does_not_wait_for_the_lock() {
        let (c, mut hw) = two();
        let held = c.state.lock();
        c.log_line_unlocked(&mut hw, format_args!("PANIC: x"));
        drop(held);
        assert_eq!(hw.console(), "\r\nhv: PANIC: x\r\n");
        c.log_line_unlocked(&mut hw, format_args!("PANIC: y"));
        assert!(hw.console().ends_with("\r\nhv: PANIC: y\r\n"));
    }
}
