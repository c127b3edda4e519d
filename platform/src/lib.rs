//! UltraSPARC T1 and QEMU `-M niagara` platform facts: the physical memory map, the UART
//! registers, the address space identifiers (ASIs) and the register numbers the hypervisor
//! uses.
//!
//! Everything here is plain data, checked on the host. Sources: `qemu-niagara.md` (the study
//! of what QEMU 7.2 really emulates) and `hv-api.md` §7 (UltraSPARC T1 hyperprivileged
//! state), both in `shared/reference`.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod asi;
pub mod memory_map;
pub mod registers;
pub mod uart;

/// Frequency of %tick, %stick and the hypervisor's hstick counter on QEMU niagara: 100 MHz.
///
/// Every frequency a machine description or device tree states must say this
/// (qemu-niagara.md §7.2 and §13).
pub const TIMER_FREQUENCY_HZ: u64 = 100_000_000;

/// Number of register windows on UltraSPARC T1 (`VER.MAXWIN + 1`).
pub const NWINDOWS: u64 = 8;

/// Highest trap level (`MAXTL`). A trap taken at this level stops QEMU (qemu-niagara.md §9b).
pub const MAXTL: u64 = 6;

/// Highest trap level a privileged guest may reach (`MAXPTL`); a trap above it goes to the
/// hypervisor.
pub const MAXPTL: u64 = 2;

/// Highest global level a privileged guest may use (`MAXPGL`).
pub const MAXPGL: u64 = 2;

/// Highest global level of the T1 (`MAXGL`).
pub const MAXGL: u64 = 3;

/// Strands on QEMU's niagara board (`max_cpus = 1`).
pub const QEMU_STRANDS: u64 = 1;

/// Strands on a real UltraSPARC T1 (8 cores × 4 strands).
pub const T1_STRANDS: u64 = 32;

static_assertions::const_assert_eq!(NWINDOWS - 2, 6);
static_assertions::const_assert!(MAXPTL < MAXTL);
