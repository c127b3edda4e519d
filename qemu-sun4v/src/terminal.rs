//! The terminal of an interactive run.

use std::io::{self, IsTerminal};
use std::process::{Command, Stdio};

/// The key that stops [`Qemu::run_interactive`](crate::Qemu::run_interactive) on a terminal: Ctrl-] (0x1d), as in telnet.
pub const QUIT_KEY: u8 = 0x1d;

/// The terminal in raw mode for an interactive run (`stty raw -echo`), restored when
/// dropped. Only when standard input is a terminal and `stty` works.
pub(crate) struct RawTerminal {
    saved: String,
}

impl RawTerminal {
    pub(crate) fn enter() -> Option<RawTerminal> {
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
