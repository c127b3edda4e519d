//! Trap tracing and the dump buffer (hv-api.md §2.2, §2.3, §4.5): `ttrace_buf_conf`,
//! `ttrace_buf_info`, `ttrace_enable`, `ttrace_freeze`, the hyper-fast `ttrace_addentry`
//! (`ta 0x85`), `dump_buf_update`, `dump_buf_info`.
//!
//! Decisions:
//! * The hypervisor itself records nothing in the trace buffer (Sun's hypervisor switches
//!   to a tracing trap table; this one has a single trap table): "enabled" is kept and
//!   reported, and only the guest's own `ttrace_addentry` records (type 0xff) are written.
//!   `ttrace_addentry` writes whether or not tracing is enabled (as Sun's), and is ignored
//!   (`EOK`) while the domain's tracing is frozen.
//! * The buffer is 64-byte records, record 0 being the control block: head offset @0x00
//!   (the most recent record), tail offset @0x08 (the next to write). Both start at 0x40;
//!   the tail wraps back to 0x40. The hypervisor keeps its own copy of the tail and only
//!   writes the control block, never trusts it.
//! * The dump buffer is only remembered: the hypervisor never writes it.

use crate::addr::Ra;
use crate::guest_memory::GuestRange;
use crate::hcall::{Context, Reply};
use crate::trap::TrapFrame;
use hv_api::error::HvError;

/// Size of a trace record and of the control block (`TTRACE_RECORD_SIZE`).
pub const RECORD_SIZE: u64 = 64;
/// Alignment of the trace buffer (`TTRACE_ALIGNMENT`).
pub const TTRACE_ALIGNMENT: u64 = 64;
/// Smallest trace buffer in entries: control block + one record (`TTRACE_MINIMUM_ENTRIES`).
pub const TTRACE_MIN_ENTRIES: u64 = 2;
/// Record type written by `ttrace_addentry` (guest record).
pub const TYPE_GUEST: u8 = 0xff;
/// Smallest dump buffer (Sun's `DUMPBUF_MINSIZE`); also the size `dump_buf_update` says
/// it requires.
pub const DUMP_BUF_MIN_SIZE: u64 = 0x2000;
/// Alignment of the dump buffer (`DUMPBUF_ALIGNMENT`).
pub const DUMP_BUF_ALIGNMENT: u64 = 64;

/// A vCPU's trap-trace buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceBuffer {
    /// Real address, entries and checked memory; `None` when not configured.
    buf: Option<(u64, u64, GuestRange)>,
    /// Offset of the next record to write.
    tail: u64,
    /// `ttrace_enable` state.
    pub enabled: bool,
}

impl TraceBuffer {
    /// Real address and entries (0, 0 when not configured).
    pub fn info(&self) -> (u64, u64) {
        self.buf.map(|(ra, n, _)| (ra, n)).unwrap_or((0, 0))
    }
}

/// `ttrace_buf_conf` (0x90, Core 1.0): sets this vCPU's trace buffer to `nentries` 64-byte
/// entries at `ra` (the first is the control block) and returns `nentries`; 0 removes it.
/// Any call first removes the old buffer and disables tracing (as Sun's). Checks in Sun's
/// order: `ra` not 64-byte aligned → `EBADALIGN`; fewer than 2 entries or not a power of two
/// → `EINVAL` with the minimum (2) in `%o1`; buffer outside the domain's memory →
/// `ENORADDR` (hv-api.md §2.3, §4.5).
pub fn ttrace_buf_conf(cx: &mut Context<'_>, ra: u64, nentries: u64) -> Reply {
    cx.cpu.ttrace = TraceBuffer::default();
    if nentries == 0 {
        return Reply::ok1(0);
    }
    if !Ra::new(ra).is_aligned(TTRACE_ALIGNMENT) {
        return Reply::err(HvError::BadAlign);
    }
    if nentries < TTRACE_MIN_ENTRIES || !nentries.is_power_of_two() {
        return Reply::err1(HvError::Inval, TTRACE_MIN_ENTRIES);
    }
    let Some(bytes) = nentries.checked_mul(RECORD_SIZE) else {
        return Reply::err(HvError::NoRAddr);
    };
    let range = match cx.config.memory.range(Ra::new(ra), bytes) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    let mut control = [0u8; 16];
    control[..8].copy_from_slice(&RECORD_SIZE.to_be_bytes());
    control[8..].copy_from_slice(&RECORD_SIZE.to_be_bytes());
    range.write(cx.hw, &control);
    cx.cpu.ttrace = TraceBuffer { buf: Some((ra, nentries, range)), tail: RECORD_SIZE, enabled: false };
    Reply::ok1(nentries)
}

/// `ttrace_buf_info` (0x91, Core 1.0): RA and entries of this vCPU's trace buffer (0, 0
/// when none). No errors (hv-api.md §2.3).
pub fn ttrace_buf_info(cx: &mut Context<'_>) -> Reply {
    let (ra, n) = cx.cpu.ttrace.info();
    Reply::ok2(ra, n)
}

/// `ttrace_enable` (0x92, Core 1.0): enables (non-zero) or disables (0) tracing and returns
/// the previous state (1 / 0). Errors: `EINVAL` when no buffer is configured (`%o1` still
/// holds the previous state) (hv-api.md §2.3).
pub fn ttrace_enable(cx: &mut Context<'_>, enable: u64) -> Reply {
    let previous = cx.cpu.ttrace.enabled as u64;
    if cx.cpu.ttrace.buf.is_none() {
        return Reply::err1(HvError::Inval, previous);
    }
    cx.cpu.ttrace.enabled = enable != 0;
    Reply::ok1(previous)
}

/// `ttrace_freeze` (0x93, Core 1.0): freezes (non-zero) or unfreezes (0) the domain's
/// tracing and returns the previous state (1 / 0). Errors: `EINVAL` when this vCPU has no
/// buffer (hv-api.md §2.3).
pub fn ttrace_freeze(cx: &mut Context<'_>, freeze: u64) -> Reply {
    if cx.cpu.ttrace.buf.is_none() {
        return Reply::err(HvError::Inval);
    }
    let previous = core::mem::replace(&mut cx.domain.ttrace_frozen, freeze != 0);
    Reply::ok1(previous as u64)
}

/// `ttrace_addentry` (`ta 0x85`, hyper-fast, Core 1.0): writes a guest record (type 0xff,
/// tag = low 16 bits of `%o0`, data `%o1`–`%o4`, with the trap state, `%stick` and the
/// caller's TL / GL / TPC) at the tail of the buffer and advances it, wrapping past the
/// control block. Only `%o0` changes. Errors: `EINVAL` (no buffer); ignored while frozen
/// (hv-api.md §1.2, §2.2, §4.5).
pub fn ttrace_addentry(cx: &mut Context<'_>, frame: &TrapFrame) -> Reply {
    let Some((_, nentries, range)) = cx.cpu.ttrace.buf else {
        return Reply::err(HvError::Inval);
    };
    if cx.domain.ttrace_frozen {
        return Reply::ok();
    }
    let at = cx.cpu.ttrace.tail;
    let mut r = [0u8; RECORD_SIZE as usize];
    r[0] = TYPE_GUEST;
    r[1] = 0; // hpstate: the guest is not hyperprivileged
    r[2] = frame.tl.saturating_sub(1) as u8;
    r[3] = ((frame.tstate >> 40) & 7) as u8;
    r[4..6].copy_from_slice(&(frame.tt as u16).to_be_bytes());
    r[6..8].copy_from_slice(&(frame.o[0] as u16).to_be_bytes());
    r[8..16].copy_from_slice(&frame.tstate.to_be_bytes());
    r[16..24].copy_from_slice(&cx.hw.stick().to_be_bytes());
    r[24..32].copy_from_slice(&frame.tpc.to_be_bytes());
    for (i, v) in frame.o[1..5].iter().enumerate() {
        r[32 + 8 * i..40 + 8 * i].copy_from_slice(&v.to_be_bytes());
    }
    range.write_at(cx.hw, at, &r);
    let next = if at + RECORD_SIZE >= nentries * RECORD_SIZE { RECORD_SIZE } else { at + RECORD_SIZE };
    cx.cpu.ttrace.tail = next;
    let mut control = [0u8; 16];
    control[..8].copy_from_slice(&at.to_be_bytes());
    control[8..].copy_from_slice(&next.to_be_bytes());
    range.write(cx.hw, &control);
    Reply::ok()
}

/// `dump_buf_update` (0x94, Core 1.0): declares the domain's dump buffer (`size` bytes at
/// `ra`; size 0 removes it) and returns the size the hypervisor requires
/// ([`DUMP_BUF_MIN_SIZE`]). Any call first removes the old buffer (as Sun's). Checks in
/// Sun's order: `size` below the minimum → `EINVAL` with the minimum in `%o1`; `ra` not
/// 64-byte aligned → `EBADALIGN`; buffer outside the domain's memory → `ENORADDR`
/// (hv-api.md §2.3).
pub fn dump_buf_update(cx: &mut Context<'_>, ra: u64, size: u64) -> Reply {
    cx.domain.dump_buf = (0, 0);
    if size == 0 {
        return Reply::ok1(DUMP_BUF_MIN_SIZE);
    }
    if size < DUMP_BUF_MIN_SIZE {
        return Reply::err1(HvError::Inval, DUMP_BUF_MIN_SIZE);
    }
    if !Ra::new(ra).is_aligned(DUMP_BUF_ALIGNMENT) {
        return Reply::err(HvError::BadAlign);
    }
    if let Err(e) = cx.config.memory.range(Ra::new(ra), size) {
        return Reply::err(e);
    }
    cx.domain.dump_buf = (ra, size);
    Reply::ok1(DUMP_BUF_MIN_SIZE)
}

/// `dump_buf_info` (0x95, Core 1.0): RA and size of the dump buffer (0, 0 when none). No
/// errors (hv-api.md §2.3).
pub fn dump_buf_info(cx: &mut Context<'_>) -> Reply {
    Reply::ok2(cx.domain.dump_buf.0, cx.domain.dump_buf.1)
}
