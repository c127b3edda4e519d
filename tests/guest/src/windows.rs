//! Register windows across traps into the hypervisor: every guest window must come back bit
//! for bit, whatever the window registers say and wherever the trap is taken (normal code,
//! the guest's own spill and fill handlers, trap levels 0 to 2), on the assembly fast paths
//! and on the Rust path alike. The assembly that sets the windows up is in `windows.s`.

use crate::rt::check;
use core::sync::atomic::{AtomicU64, Ordering};
use hv_api::guest as hv;
use hv_api::hcall;

/// What `window_case` does once the windows are set.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Action {
    /// Nothing (the control run of a hypercall case).
    None = 0,
    /// `ta 0x80` with the function in the current window's `%o5`.
    Hcall = 1,
    /// `flushw`: spill traps into the guest's spill handlers.
    Flushw = 2,
    /// `restore` with CANRESTORE 0: a fill trap into the guest's fill handler.
    Restore = 3,
    /// A load from `WindowCase::addr` (a data TLB miss when the TLB does not hold it).
    Load = 4,
}

/// Every window's `%l0`–`%l7`, `%i0`–`%i7` (16 registers per window cover the whole
/// register file, since a window's `%o` are the next one's `%i`) and the window registers.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowState {
    pub(crate) windows: [[u64; 16]; 8],
    pub(crate) cwp: u64,
    pub(crate) cansave: u64,
    pub(crate) canrestore: u64,
    pub(crate) otherwin: u64,
    pub(crate) cleanwin: u64,
    pub(crate) wstate: u64,
}

/// One case: the window state to set up, the trap level and the action.
#[repr(C)]
pub(crate) struct WindowCase {
    pub(crate) state: WindowState,
    pub(crate) tl: u64,
    pub(crate) action: u64,
    /// The address of [`Action::Load`].
    pub(crate) addr: u64,
}

// windows.s indexes the windows from the start of a case or a state.
const _: () =
    assert!(core::mem::offset_of!(WindowCase, state) == 0 && core::mem::offset_of!(WindowState, windows) == 0);

/// The offsets and numbers `windows.s` uses, as `global_asm!` operands (the runtime's
/// `global_asm!` includes windows.s beside the trap table that branches to it).
#[macro_export]
macro_rules! window_asm_operands {
    ($($asm:tt)*) => {
        core::arch::global_asm!(
            $($asm)*,
            S_CWP = const core::mem::offset_of!($crate::windows::WindowState, cwp),
            S_CANSAVE = const core::mem::offset_of!($crate::windows::WindowState, cansave),
            S_CANRESTORE = const core::mem::offset_of!($crate::windows::WindowState, canrestore),
            S_OTHERWIN = const core::mem::offset_of!($crate::windows::WindowState, otherwin),
            S_CLEANWIN = const core::mem::offset_of!($crate::windows::WindowState, cleanwin),
            S_WSTATE = const core::mem::offset_of!($crate::windows::WindowState, wstate),
            C_STATE = const core::mem::offset_of!($crate::windows::WindowCase, state),
            C_TL = const core::mem::offset_of!($crate::windows::WindowCase, tl),
            C_ACTION = const core::mem::offset_of!($crate::windows::WindowCase, action),
            C_ADDR = const core::mem::offset_of!($crate::windows::WindowCase, addr),
            ACTION_HCALL = const $crate::windows::Action::Hcall as u64,
            ACTION_FLUSHW = const $crate::windows::Action::Flushw as u64,
            ACTION_RESTORE = const $crate::windows::Action::Restore as u64,
            ACTION_LOAD = const $crate::windows::Action::Load as u64,
            CPU_YIELD = const hv_api::hcall::CPU_YIELD,
        );
    };
}

extern "C" {
    fn window_case(case: *const WindowCase, out: *mut WindowState);
    fn window_repro(out: *mut [u64; 50]);
}

/// The hypercall the window-test spill and fill handlers make (0: none). Read by the
/// assembly.
#[no_mangle]
static WINDOW_HANDLER_FN: AtomicU64 = AtomicU64::new(0);

/// Spill and fill handlers 2 (normal and other) are the window tests' (entry.s).
const WSTATE_TEST: u64 = 2 << 3 | 2;

/// Register index in a window's 16: `%i0` is 8.
const I0: usize = 8;

/// Runs the window tests.
pub fn run() {
    trap_inside_spill_handler();
    every_window_state();
}

/// The reproduction: a Rust-path hypercall inside the guest's spill handler during a
/// `flushw` three frames deep must leave all 24 registers of the current window, and the
/// locals of every spilled frame, as they were.
fn trap_inside_spill_handler() {
    let mut out = [0u64; 50];
    // SAFETY: window_repro writes the 50 words of `out` and returns with the windows as
    // the calling convention expects.
    unsafe { window_repro(&mut out) };
    let (fp, ret) = (out[48], out[49]);
    let mut expected = [0u64; 48];
    let current = 0x2222_0000_0000_0000u64;
    for r in 0..8 {
        expected[r] = current | (r as u64 + 1);
        expected[16 + r] = current | (0x21 + r as u64);
    }
    for r in 0..6 {
        expected[8 + r] = current | (0x11 + r as u64);
    }
    expected[14] = fp;
    expected[15] = ret;
    let frames = 0x1111_0000_0000_0000u64;
    for (i, frame) in [3u64, 2, 1].iter().enumerate() {
        for r in 0..8 {
            expected[24 + 8 * i + r] = frames | (frame << 8) | (r as u64 + 1);
        }
    }
    let bad = (0..48).find(|&i| out[i] != expected[i]);
    check(
        "windows: a Rust-path trap inside the guest's spill handler keeps every register",
        bad.is_none(),
        format_args!(
            "register {} (0-23: current window's l, i, o; then frames 3, 2, 1): got {:#x}, expected {:#x}",
            bad.unwrap_or(0),
            bad.map_or(0, |i| out[i]),
            bad.map_or(0, |i| expected[i])
        ),
    );
}

/// Where the trap into the hypervisor is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// From the code that runs with the window state (`ta 0x80`).
    Normal,
    /// From the guest's spill handler, during a `flushw`.
    Spill,
    /// From the guest's fill handler, during a `restore`.
    Fill,
    /// A data TLB miss that hits the guest's TSB (a load, `WindowCase::addr`).
    TlbMiss,
}

/// Every legal (CANSAVE, CANRESTORE, OTHERWIN) split × CLEANWIN 0–7 × CWP 0–7, for a
/// trap from normal code (TL 0–2) and from inside a spill and a fill handler (the code at
/// TL 0–1, the handler one above), on the fast path (`cpu_myid`) and the Rust path
/// (`cpu_yield`). Each state runs twice: once without the hypercall (the control, which
/// shows what the hardware itself does) and once with it; every register of every window
/// and the window registers must match, apart from the hypercall's own results in the
/// trapping window's `%o0`/`%o1`.
fn every_window_state() {
    let myid = hv::cpu_myid().unwrap_or(u64::MAX);
    let paths = [("fast path", hcall::CPU_MYID), ("Rust path", hcall::CPU_YIELD)];
    for (place, name, levels) in [
        (Place::Normal, "normal code", 0..=2u64),
        (Place::Spill, "spill handler", 0..=1),
        (Place::Fill, "fill handler", 0..=1),
    ] {
        for (path, function) in paths {
            for tl in levels.clone() {
                let (count, failure) = sweep(place, function, tl, myid, 0);
                match failure {
                    None => {
                        say!("ok windows: every window survives a trap from {name} at TL {tl}, {path} ({count} states)")
                    }
                    Some(f) => check(
                        "windows: every window survives",
                        false,
                        format_args!(
                            "{name} at TL {tl}, {path}: cwp {} cansave {} canrestore {} otherwin {} cleanwin {}: {}",
                            f.cwp, f.cansave, f.canrestore, f.otherwin, f.cleanwin, f.what
                        ),
                    ),
                }
            }
        }
    }
}

/// The first state that did not come back, and how.
struct Failure {
    cwp: u64,
    cansave: u64,
    canrestore: u64,
    otherwin: u64,
    cleanwin: u64,
    what: Mismatch,
}

/// A difference between the control run and the run with the hypercall.
enum Mismatch {
    /// Window `w`, register `r` (0–7 `%l`, 8–15 `%i`).
    Register { w: usize, r: usize, got: u64, expected: u64 },
    /// The window registers (CWP, CANSAVE, CANRESTORE, OTHERWIN, CLEANWIN, WSTATE).
    WindowRegisters { got: [u64; 6], expected: [u64; 6] },
}

impl core::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Mismatch::Register { w, r, got, expected } => {
                let (kind, n) = if *r < I0 { ("l", *r) } else { ("i", *r - I0) };
                write!(f, "window {w} %{kind}{n}: got {got:#x}, expected {expected:#x}")
            }
            Mismatch::WindowRegisters { got, expected } => {
                write!(
                    f,
                    "window registers (cwp cansave canrestore otherwin cleanwin wstate) {got:?}, expected {expected:?}"
                )
            }
        }
    }
}

static CASE: crate::rt::Buffer<{ core::mem::size_of::<WindowCase>() }> = crate::rt::Buffer::new();
static CONTROL: crate::rt::Buffer<{ core::mem::size_of::<WindowState>() }> = crate::rt::Buffer::new();
static TRAPPED: crate::rt::Buffer<{ core::mem::size_of::<WindowState>() }> = crate::rt::Buffer::new();

fn case_mut() -> &'static mut WindowCase {
    // SAFETY: the buffer is as large as a WindowCase, 64-byte aligned, only used here
    // (one vCPU), and every bit pattern is a valid WindowCase.
    unsafe { &mut *(CASE.bytes_mut().as_mut_ptr() as *mut WindowCase) }
}

fn run_case(case: &WindowCase, out: &crate::rt::Buffer<{ core::mem::size_of::<WindowState>() }>) -> WindowState {
    let dump = out.bytes_mut().as_mut_ptr() as *mut WindowState;
    // SAFETY: window_case reads the case and writes one WindowState into `out`, which is
    // large enough and aligned; it returns with the caller's windows intact.
    unsafe {
        window_case(case, dump);
        *dump
    }
}

/// Every legal window state (as `every_window_state`) at TL 0–2 with a data TLB miss that
/// hits the guest's TSB: `va` must be mapped through the TSB only (the MMU on). The miss is
/// served by the assembly fast path (or, on the `HV_NO_FAST=1` hypervisor, by Rust), which
/// must refuse none of these states and leave every register of every window as it was.
pub fn tlb_miss_sweep(va: u64) {
    for tl in 0..=2u64 {
        let (count, failure) = sweep(Place::TlbMiss, 0, tl, 0, va);
        match failure {
            None => say!(
                "ok windows: every window survives a data TLB miss served from the TSB at TL {tl} ({count} states)"
            ),
            Some(f) => check(
                "windows: every window survives a data TLB miss",
                false,
                format_args!(
                    "TL {tl}: cwp {} cansave {} canrestore {} otherwin {} cleanwin {}: {}",
                    f.cwp, f.cansave, f.canrestore, f.otherwin, f.cleanwin, f.what
                ),
            ),
        }
    }
}

/// All states of one place, path and trap level: how many ran, and the first failure
/// (`va`: the address of [`Place::TlbMiss`]'s load).
fn sweep(place: Place, function: u64, tl: u64, myid: u64, va: u64) -> (u64, Option<Failure>) {
    let mut count = 0;
    let mut serial = 0u64;
    for cansave in 0..=6u64 {
        for canrestore in 0..=6 - cansave {
            let otherwin = 6 - cansave - canrestore;
            let applies = match place {
                Place::Normal | Place::TlbMiss => true,
                Place::Spill => canrestore + otherwin > 0,
                Place::Fill => canrestore == 0,
            };
            if !applies {
                continue;
            }
            for cleanwin in 0..8u64 {
                for cwp in 0..8u64 {
                    serial += 1;
                    let case = case_mut();
                    for (w, window) in case.state.windows.iter_mut().enumerate() {
                        for (r, reg) in window.iter_mut().enumerate() {
                            *reg = 0x5700_0000_0000_0000 | serial << 16 | (w as u64) << 8 | r as u64;
                        }
                    }
                    // The trapping window's %o5 (the next window's %i5) names the call.
                    let next = ((cwp + 1) % 8) as usize;
                    case.state.windows[next][I0 + 5] = function;
                    case.state.cwp = cwp;
                    case.state.cansave = cansave;
                    case.state.canrestore = canrestore;
                    case.state.otherwin = otherwin;
                    case.state.cleanwin = cleanwin;
                    case.state.wstate = WSTATE_TEST;
                    case.tl = tl;
                    case.addr = va;
                    let (control_action, action) = match place {
                        Place::Normal => (Action::None, Action::Hcall),
                        Place::Spill => (Action::Flushw, Action::Flushw),
                        Place::Fill => (Action::Restore, Action::Restore),
                        Place::TlbMiss => (Action::None, Action::Load),
                    };
                    case.action = control_action as u64;
                    WINDOW_HANDLER_FN.store(0, Ordering::SeqCst);
                    let mut expected = run_case(case, &CONTROL);
                    case.action = action as u64;
                    if place == Place::Spill || place == Place::Fill {
                        WINDOW_HANDLER_FN.store(function, Ordering::SeqCst);
                    }
                    if place == Place::TlbMiss {
                        // Out of the TLB: the load misses.
                        let _ = hv::mmu_demap_page(va, 0, hv_api::mmu::MAP_DTLB);
                    }
                    let got = run_case(case, &TRAPPED);
                    WINDOW_HANDLER_FN.store(0, Ordering::SeqCst);
                    if place == Place::Normal {
                        expected.windows[next][I0] = 0; // EOK in %o0
                        if function == hcall::CPU_MYID {
                            expected.windows[next][I0 + 1] = myid;
                        }
                    }
                    count += 1;
                    if let Some(what) = compare(&got, &expected) {
                        return (count, Some(Failure { cwp, cansave, canrestore, otherwin, cleanwin, what }));
                    }
                }
            }
        }
    }
    (count, None)
}

fn compare(got: &WindowState, expected: &WindowState) -> Option<Mismatch> {
    for w in 0..8 {
        for r in 0..16 {
            if got.windows[w][r] != expected.windows[w][r] {
                return Some(Mismatch::Register { w, r, got: got.windows[w][r], expected: expected.windows[w][r] });
            }
        }
    }
    let regs = |d: &WindowState| [d.cwp, d.cansave, d.canrestore, d.otherwin, d.cleanwin, d.wstate];
    if regs(got) != regs(expected) {
        return Some(Mismatch::WindowRegisters { got: regs(got), expected: regs(expected) });
    }
    None
}
