//! The firmware set for `qemu-system-sparc64 -M niagara` and the QEMU runner.
//!
//! * [`elf_to_raw`] turns a linked sparc64 ELF into the raw bytes QEMU loads (PT_LOAD
//!   segments placed at their load address `p_paddr`, relative to a base).
//! * [`FirmwareSet`] holds the six files QEMU wants in its `-L` directory and checks the
//!   size limits of the niagara machine (qemu-niagara.md §2.2) before writing them.
//! * [`Qemu`] builds the command line and runs QEMU, either with the console on the terminal
//!   ([`Qemu::run_interactive`]) or captured with a timeout ([`Qemu::run_capture`]), optionally
//!   typing scripted console input ([`Qemu::run_scripted`], e.g. `banner` at OpenBoot's `ok`).
//! * [`Qmp`], [`Snapshot`]: guest-physical memory saved from outside the guests through
//!   QEMU's machine protocol while a captured run goes on ([`Qemu::run_with_snapshots`]).
//! * [`ConsoleSockets`], [`Demux`], [`Focus`]: each domain's console on its own local socket
//!   in an interactive run of several domains ([`Qemu::run_interactive_with`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// One job per file: ELF to raw, the firmware set, the QEMU command line, running it under
// supervision, the terminal.
mod consoles;
mod elf;
mod firmware_set;
mod monitor;
mod qemu;
mod run;
mod terminal;
#[cfg(test)]
mod tests;

pub use consoles::{ConsoleSockets, Demux, Focus};
pub use elf::{elf_to_raw, RAW_IMAGE_MAX};
pub use firmware_set::*;
pub use monitor::{Qmp, Snapshot};
pub use qemu::{find_in_path, Qemu, DEFAULT_MEMORY};
pub use run::{EndedBy, InputStep, Outcome, SnapshotTaken, END_MARKER, PANIC_MARKER};
pub use terminal::QUIT_KEY;
