//! The hypervisor's own console output: a `log` backend that writes every message as one
//! `hv: ` line through the machine's console concentrator ([`crate::concentrator`]), under
//! the same lock as the domains' console output, so that lines never interleave mid-line.

use crate::hardware::Hardware;
use core::fmt;
use core::marker::PhantomData;

/// A `log::Log` that writes `hv: <message>\r\n` lines through the console concentrator of
/// the machine `H` (made by the function given to [`Logger::new`]).
pub struct Logger<H: Hardware + 'static> {
    machine: fn() -> H,
    _machine: PhantomData<fn() -> H>,
}

impl<H: Hardware + 'static> Logger<H> {
    /// A logger writing through `machine()`'s console concentrator.
    pub const fn new(machine: fn() -> H) -> Self {
        Logger { machine, _machine: PhantomData }
    }

    /// Writes one line (with the `hv: ` prefix) outside the `log` machinery; used by the
    /// panic handler, which must not wait for the lock.
    pub fn write_line_unlocked(&self, args: fmt::Arguments<'_>) {
        let mut hw = (self.machine)();
        hw.console().log_line_unlocked(&mut hw, args);
    }
}

impl<H: Hardware + 'static> log::Log for Logger<H> {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let mut hw = (self.machine)();
        let console = hw.console();
        match record.level() {
            log::Level::Info => console.log_line(&mut hw, *record.args()),
            level => console.log_line(&mut hw, format_args!("{level}: {}", record.args())),
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::fake::{FakeConsole, FakeHardware};
    use crate::concentrator::Concentrator;
    use log::Log;

    static CONSOLE: Concentrator = Concentrator::new();

    /// A fake machine on a shared concentrator whose UART output is lost (a new machine
    /// each time): enough to see that the logger takes the concentrator's lock.
    fn machine() -> FakeHardware {
        let mut hw = FakeHardware::new();
        hw.concentrator = FakeConsole(&CONSOLE);
        hw
    }

    #[test]
    fn log_lines_go_through_the_concentrator_lock() {
        let logger = Logger::new(machine);
        let record = log::Record::builder().args(format_args!("x")).level(log::Level::Info).build();
        let held = CONSOLE.domains(); // the lock is free
        assert_eq!(held, 0);
        logger.log(&record);
        // With the lock held, the unlocked line still gets out (it would hang otherwise).
        logger.write_line_unlocked(format_args!("PANIC"));
    }
}
