//! The hypervisor's own console output: a `log` backend that prefixes every message with
//! `hv: ` and writes it to the UART through a byte sink the arch layer provides.

use core::fmt::{self, Write};

/// Where the hypervisor's console bytes go.
pub trait ByteSink: Sync {
    /// Sends one byte (waiting for the transmitter as needed).
    fn put(&self, byte: u8);
}

/// A `log::Log` that writes `hv: <message>\r\n` lines to a [`ByteSink`].
pub struct Logger<S: ByteSink + 'static> {
    sink: &'static S,
    lock: spin::Mutex<()>,
}

impl<S: ByteSink + 'static> Logger<S> {
    /// A logger writing to `sink`.
    pub const fn new(sink: &'static S) -> Self {
        Logger { sink, lock: spin::Mutex::new(()) }
    }

    /// Writes one line (with the `hv: ` prefix) outside the `log` machinery; used by the
    /// panic handler, which must not take the lock.
    pub fn write_line_unlocked(&self, args: fmt::Arguments<'_>) {
        let mut w = SinkWriter { sink: self.sink };
        let _ = w.write_str("hv: ");
        let _ = w.write_fmt(args);
        let _ = w.write_str("\r\n");
    }
}

struct SinkWriter<S: ByteSink + 'static> {
    sink: &'static S,
}

impl<S: ByteSink> Write for SinkWriter<S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.sink.put(b'\r');
            }
            self.sink.put(b);
        }
        Ok(())
    }
}

impl<S: ByteSink + 'static> log::Log for Logger<S> {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let _guard = self.lock.lock();
        match record.level() {
            log::Level::Info => self.write_line_unlocked(*record.args()),
            level => self.write_line_unlocked(format_args!("{level}: {}", record.args())),
        }
    }

    fn flush(&self) {}
}
