//! Hypercall handlers: the CORE_TRAP calls (`ta 0xff`) and the fast traps (`ta 0x80`).
//!
//! Every handler validates every argument and answers with the spec's status code in
//! `%o0` (hv-api.md §1.2, §2, §3). Registers that are not results of the call are left as
//! the guest passed them. A bad argument is the guest's own business: nothing is logged.

use crate::addr::Ra;
use crate::config::{DomainConfig, VcpuConfig};
use crate::cpu::{self, CpuState};
use crate::domain::{Domain, SOFT_STATE_TEXT_LEN};
use crate::hardware::{Hardware, UartInput};
use crate::mmu::{self, MmuState};
use crate::trap::TrapFrame;
use crate::{intr, ttrace, vdisk};
use hv_api::error::{HvError, EOK};
use hv_api::{cons, core_fn, hcall, soft_state};

/// The answer of a hypercall: status and the return registers it sets (`None` leaves the
/// register untouched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// `%o0`.
    pub status: u32,
    /// How many of `rets` the call returns.
    pub count: u32,
    /// `%o1`–`%o2`; only the first `count` are written back. (No call of the offered groups
    /// returns more than two values.) Three words in all, which the compiler builds and
    /// copies inline instead of calling `memset`/`memcpy` on the hypercall path.
    pub rets: [u64; 2],
}

impl Reply {
    /// `EOK`, no return values.
    pub const fn ok() -> Self {
        Reply { status: EOK as u32, count: 0, rets: [0; 2] }
    }
    /// `EOK` with `%o1`.
    pub const fn ok1(a: u64) -> Self {
        Reply { status: EOK as u32, count: 1, rets: [a, 0] }
    }
    /// `EOK` with `%o1`, `%o2`.
    pub const fn ok2(a: u64, b: u64) -> Self {
        Reply { status: EOK as u32, count: 2, rets: [a, b] }
    }
    /// An error, no return values.
    pub const fn err(e: HvError) -> Self {
        Reply { status: e.code() as u32, count: 0, rets: [0; 2] }
    }
    /// An error with `%o1`.
    pub const fn err1(e: HvError, a: u64) -> Self {
        Reply { status: e.code() as u32, count: 1, rets: [a, 0] }
    }
    /// An error with `%o1`, `%o2`.
    pub const fn err2(e: HvError, a: u64, b: u64) -> Self {
        Reply { status: e.code() as u32, count: 2, rets: [a, b] }
    }

    /// Writes the reply into the guest's `%o` registers.
    #[inline]
    pub fn apply(&self, frame: &mut TrapFrame) {
        frame.o[0] = self.status as u64;
        // Register by register: a slice copy would become a call to memcpy.
        if self.count > 0 {
            frame.o[1] = self.rets[0];
        }
        if self.count > 1 {
            frame.o[2] = self.rets[1];
        }
    }
}

impl From<HvError> for Reply {
    fn from(e: HvError) -> Self {
        Reply::err(e)
    }
}

/// What a hypercall asks of the hypervisor besides its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Return to the guest with this reply.
    Reply(Reply),
    /// `mach_exit` / `api_exit`: stop the domain with this exit code.
    Exit(u64),
    /// `mach_sir`: restart the domain (software-initiated reset).
    Sir,
    /// `mmu_enable`: apply the reply, then continue at `pc` instead of after the trap
    /// (`RESUME_DONE_AT`).
    ReplyAt {
        /// The reply.
        reply: Reply,
        /// Where the guest continues.
        pc: u64,
    },
    /// The handler already set up the trap frame (a handled TLB miss or a revectored trap).
    Resume,
    /// The guest cannot continue (e.g. an MMU fault it has no fault area for): apply the
    /// domain's failure policy.
    GuestFailure(&'static str),
}

impl From<Reply> for Outcome {
    fn from(r: Reply) -> Self {
        Outcome::Reply(r)
    }
}

/// What a hypercall sees of the machine: the calling domain and vCPU.
pub struct Context<'a> {
    /// The calling domain's run-time state.
    pub domain: &'a mut Domain,
    /// The calling domain's configuration.
    pub config: &'a DomainConfig,
    /// The calling vCPU's id.
    pub vid: u64,
    /// The calling vCPU's MMU state.
    pub mmu: &'a mut MmuState,
    /// The calling vCPU's other state (queues, RTBA, trace buffer).
    pub cpu: &'a mut CpuState,
    /// Every vCPU of the configuration (the domain's are those with `domain` =
    /// `domain_index`).
    pub vcpus: &'a [VcpuConfig],
    /// Index of the calling domain in the configuration.
    pub domain_index: usize,
    /// Prefix console lines with the domain name (more than one domain).
    pub tag_console: bool,
    /// The machine.
    pub hw: &'a mut dyn Hardware,
}

impl Context<'_> {
    /// Whether `vid` is one of the calling domain's vCPU ids.
    pub fn has_vcpu(&self, vid: u64) -> bool {
        self.vcpus.iter().any(|v| v.domain == self.domain_index && v.vid == vid)
    }
}

/// Most bytes `cons_write` sends per call (it may return fewer than asked).
pub const CONS_WRITE_MAX: u64 = 4096;
/// Most bytes `cons_read` returns per call.
pub const CONS_READ_MAX: u64 = 4096;
/// Times `cons_putchar` polls a busy transmitter before answering `EWOULDBLOCK`.
const UART_POLLS: usize = 10_000;

/// CORE_TRAP (`ta 0xff`): function in `%o5` (hv-api.md §2.1). Unversioned: always available.
pub fn core_trap(cx: &mut Context<'_>, frame: &TrapFrame) -> Outcome {
    let o = &frame.o;
    match o[5] {
        // api_set_version(group, major, minor) -> actual minor. Errors: EINVAL (unknown
        // group), ENOTSUPPORTED (with the closest version in %o1/%o2).
        core_fn::API_SET_VERSION => match cx.domain.versions.set(o[0], o[1], o[2]) {
            Ok(minor) => Reply::ok1(minor).into(),
            Err(r) => Reply::err2(r.error, r.major, r.minor).into(),
        },
        // api_putchar(c): cons_putchar through the core trap.
        core_fn::API_PUTCHAR => cons_putchar(cx, o[0]).into(),
        // api_exit(code): mach_exit through the core trap.
        core_fn::API_EXIT => Outcome::Exit(o[0]),
        // api_get_version(group) -> major, minor. Errors: EINVAL.
        core_fn::API_GET_VERSION => match cx.domain.versions.get(o[0]) {
            Ok((major, minor)) => Reply::ok2(major, minor).into(),
            Err(e) => Reply::err(e).into(),
        },
        _ => Reply::err(HvError::BadTrap).into(),
    }
}

/// FAST_TRAP (`ta 0x80`): function in `%o5`. Unknown functions and functions outside the
/// negotiated API versions answer `EBADTRAP`; known functions without a handler answer
/// `ENOTSUPPORTED` — none of the offered group versions has such a function (the host test
/// `every_offered_function_has_a_handler` calls each one).
#[inline(always)] // one hypervisor window per hypercall (Hypervisor::handle_trap)
pub fn fast_trap(cx: &mut Context<'_>, frame: &TrapFrame) -> Outcome {
    let function = frame.o[5];
    let o = &frame.o;
    // Before the soft-state group is negotiated, 0x70/0x71 are the NVRAM calls of the
    // Legion/T1 hypervisor that OpenBoot 4.20's `legion-nvram` driver uses (its
    // `nvram-read-fun`/`nvram-write-fun`); the numbers were later given to soft state.
    if (function == LEGACY_NVRAM_READ || function == LEGACY_NVRAM_WRITE) && !cx.domain.versions.soft_state_enabled() {
        return legacy_nvram(cx, function == LEGACY_NVRAM_WRITE, o[0], o[1], o[2]).into();
    }
    if !cx.domain.versions.callable(function) {
        return Reply::err(HvError::BadTrap).into();
    }
    dispatch(cx, function, &frame.o).unwrap_or_else(|| Reply::err(HvError::NotSupported).into())
}

/// Runs the handler of fast-trap `function` with the guest's `%o` registers; `None` when
/// the function has none (cpu_poke, which is Core 1.6, and the groups not offered: INTR 2.0,
/// PCI, LDC, SVC, NCS, the performance groups, DIAG).
#[inline(always)]
fn dispatch(cx: &mut Context<'_>, function: u64, o: &[u64; 8]) -> Option<Outcome> {
    Some(match function {
        hcall::MACH_EXIT => Outcome::Exit(o[0]),
        hcall::MACH_DESC => mach_desc(cx, o[0], o[1]).into(),
        hcall::MACH_SIR => Outcome::Sir,
        hcall::MACH_SET_WATCHDOG => cpu::mach_set_watchdog(cx, o[0]).into(),
        hcall::CPU_START => cpu::cpu_start(cx, o[0], o[1], o[2], o[3]).into(),
        hcall::CPU_STOP => cpu::cpu_stop(cx, o[0]).into(),
        hcall::CPU_YIELD => Reply::ok().into(),
        hcall::CPU_QCONF => cpu::cpu_qconf(cx, o[0], o[1], o[2]).into(),
        hcall::CPU_QINFO => cpu::cpu_qinfo(cx, o[0]).into(),
        hcall::CPU_MYID => Reply::ok1(cx.vid).into(),
        hcall::CPU_STATE => cpu::cpu_state(cx, o[0]).into(),
        hcall::CPU_SET_RTBA => cpu::cpu_set_rtba(cx, o[0]).into(),
        hcall::CPU_GET_RTBA => cpu::cpu_get_rtba(cx).into(),
        hcall::CPU_MONDO_SEND => cpu::cpu_mondo_send(cx, o[0], o[1], o[2]).into(),
        hcall::TOD_GET => tod_get(cx).into(),
        hcall::TOD_SET => tod_set(cx, o[0]).into(),
        hcall::CONS_GETCHAR => cons_getchar(cx).into(),
        hcall::CONS_PUTCHAR => cons_putchar(cx, o[0]).into(),
        hcall::CONS_READ => cons_read(cx, o[0], o[1]).into(),
        hcall::CONS_WRITE => cons_write(cx, o[0], o[1]).into(),
        hcall::SOFT_STATE_SET => soft_state_set(cx, o[0], o[1]).into(),
        hcall::SOFT_STATE_GET => soft_state_get(cx, o[0]).into(),
        hcall::MMU_TSB_CTX0 => mmu::mmu_tsb(cx, false, o[0], o[1]).into(),
        hcall::MMU_TSB_CTXNON0 => mmu::mmu_tsb(cx, true, o[0], o[1]).into(),
        hcall::MMU_TSB_CTX0_INFO => mmu::mmu_tsb_info(cx, false, o[0], o[1]).into(),
        hcall::MMU_TSB_CTXNON0_INFO => mmu::mmu_tsb_info(cx, true, o[0], o[1]).into(),
        hcall::MMU_DEMAP_PAGE => mmu::mmu_demap_page(cx, (o[0], o[1]), o[2], o[3], o[4]).into(),
        hcall::MMU_DEMAP_CTX => mmu::mmu_demap_ctx(cx, (o[0], o[1]), o[2], o[3]).into(),
        hcall::MMU_DEMAP_ALL => mmu::mmu_demap_all(cx, (o[0], o[1]), o[2]).into(),
        hcall::MMU_MAP_PERM_ADDR => mmu::mmu_map_perm_addr(cx, o[0], o[1], o[2], o[3]).into(),
        hcall::MMU_UNMAP_PERM_ADDR => mmu::mmu_unmap_perm_addr(cx, o[0], o[1], o[2]).into(),
        hcall::MMU_FAULT_AREA_CONF => mmu::mmu_fault_area_conf(cx, o[0]).into(),
        hcall::MMU_FAULT_AREA_INFO => mmu::mmu_fault_area_info(cx).into(),
        hcall::MMU_ENABLE => mmu::mmu_enable(cx, o[0], o[1]),
        hcall::MEM_SCRUB => mmu::mem_scrub(cx, o[0], o[1]).into(),
        hcall::MEM_SYNC => mmu::mem_sync(cx, o[0], o[1]).into(),
        hcall::TTRACE_BUF_CONF => ttrace::ttrace_buf_conf(cx, o[0], o[1]).into(),
        hcall::TTRACE_BUF_INFO => ttrace::ttrace_buf_info(cx).into(),
        hcall::TTRACE_ENABLE => ttrace::ttrace_enable(cx, o[0]).into(),
        hcall::TTRACE_FREEZE => ttrace::ttrace_freeze(cx, o[0]).into(),
        hcall::DUMP_BUF_UPDATE => ttrace::dump_buf_update(cx, o[0], o[1]).into(),
        hcall::DUMP_BUF_INFO => ttrace::dump_buf_info(cx).into(),
        hcall::INTR_DEVINO2SYSINO => intr::intr_devino2sysino(cx, o[0], o[1]).into(),
        hcall::INTR_GETENABLED => intr::intr_getenabled(cx, o[0]).into(),
        hcall::INTR_SETENABLED => intr::intr_setenabled(cx, o[0], o[1]).into(),
        hcall::INTR_GETSTATE => intr::intr_getstate(cx, o[0]).into(),
        hcall::INTR_SETSTATE => intr::intr_setstate(cx, o[0], o[1]).into(),
        hcall::INTR_GETTARGET => intr::intr_gettarget(cx, o[0]).into(),
        hcall::INTR_SETTARGET => intr::intr_settarget(cx, o[0], o[1]).into(),
        hcall::DISK_READ => vdisk::disk_read(cx, o[0], o[1], o[2]).into(),
        hcall::DISK_WRITE => vdisk::disk_write(cx, o[0], o[1], o[2]).into(),
        _ => return None,
    })
}

/// Legacy NVRAM read: function 0x70 while the soft-state group is not negotiated.
pub const LEGACY_NVRAM_READ: u64 = 0x70;
/// Legacy NVRAM write: function 0x71 while the soft-state group is not negotiated.
pub const LEGACY_NVRAM_WRITE: u64 = 0x71;

/// The Legion/T1 NVRAM calls (functions 0x70 read / 0x71 write before soft state is
/// negotiated; OpenBoot 4.20 `legion-nvram`): `(offset, buffer RA, length) -> length`
/// between the domain's NVRAM (`nvbase`/`nvsize` of the HV MD) and its memory.
/// Errors: `EINVAL` (no NVRAM, or offset/length past its end), `ENORADDR` (buffer not
/// the guest's memory).
pub fn legacy_nvram(cx: &mut Context<'_>, write: bool, offset: u64, ra: u64, len: u64) -> Reply {
    let Some((base, size)) = cx.config.nvram else {
        return Reply::err(HvError::Inval);
    };
    match offset.checked_add(len) {
        Some(end) if end <= size => {}
        _ => return Reply::err(HvError::Inval),
    }
    let range = match cx.config.memory.range(Ra::new(ra), len) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    if write {
        cx.hw.copy_phys(base.add(offset), range.pa(), len);
    } else {
        cx.hw.copy_phys(range.pa(), base.add(offset), len);
    }
    Reply::ok1(len)
}

/// `mach_desc` (0x01): copies the guest MD to `[buf_ra, buf_ra + len)` and returns its size.
/// Checks in the reference order: size (rounded up to 16) above `len` → `EINVAL` with the
/// size in `%o1`; `buf_ra` not 16-byte aligned → `EBADALIGN`; buffer not the guest's memory
/// → `ENORADDR`.
pub fn mach_desc(cx: &mut Context<'_>, buf_ra: u64, len: u64) -> Reply {
    let size = (cx.domain.md.size + 15) & !15;
    if size > len {
        return Reply::err1(HvError::Inval, size);
    }
    let ra = Ra::new(buf_ra);
    if !ra.is_aligned(16) {
        return Reply::err(HvError::BadAlign);
    }
    let dest = match cx.config.memory.range(ra, cx.domain.md.size) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    cx.hw.copy_phys(dest.pa(), cx.domain.md.pa, cx.domain.md.size);
    Reply::ok1(size)
}

/// `tod_get` (0x50): seconds since 1970-01-01 UTC, with the domain's `tod_set` offset.
pub fn tod_get(cx: &mut Context<'_>) -> Reply {
    let now = cx.hw.rtc_seconds();
    Reply::ok1(now.wrapping_add(cx.domain.tod_offset as u64))
}

/// `tod_set` (0x51): sets the domain's time of day (an offset from the platform clock, which
/// the hypervisor never changes; other domains are not affected).
pub fn tod_set(cx: &mut Context<'_>, seconds: u64) -> Reply {
    let now = cx.hw.rtc_seconds();
    cx.domain.tod_offset = seconds.wrapping_sub(now) as i64;
    Reply::ok()
}

fn put_byte(cx: &mut Context<'_>, byte: u8) -> bool {
    if cx.tag_console && cx.domain.console_at_line_start {
        for &b in cx.config.name.as_bytes().iter().chain(b": ") {
            cx.hw.uart_put(b);
        }
    }
    cx.domain.console_at_line_start = byte == b'\n';
    cx.hw.uart_put(byte)
}

fn uart_put_polled(cx: &mut Context<'_>, byte: u8) -> bool {
    for _ in 0..UART_POLLS {
        if put_byte(cx, byte) {
            return true;
        }
    }
    false
}

/// `cons_putchar` (0x61) and `api_putchar`: one character, 0–255, or `CONS_BREAK`
/// (accepted; the UART sends nothing for it). Errors: `EINVAL` (other values),
/// `EWOULDBLOCK` (transmitter busy).
pub fn cons_putchar(cx: &mut Context<'_>, c: u64) -> Reply {
    if c == cons::CONS_BREAK {
        return Reply::ok();
    }
    if c > 0xff {
        return Reply::err(HvError::Inval);
    }
    if uart_put_polled(cx, c as u8) {
        Reply::ok()
    } else {
        Reply::err(HvError::WouldBlock)
    }
}

/// `cons_getchar` (0x60): a character, or `CONS_BREAK`. Errors: `EWOULDBLOCK` (nothing
/// received).
pub fn cons_getchar(cx: &mut Context<'_>) -> Reply {
    match cx.hw.uart_get() {
        UartInput::Byte(b) => Reply::ok1(b as u64),
        UartInput::Break => Reply::ok1(cons::CONS_BREAK),
        UartInput::Empty => Reply::err(HvError::WouldBlock),
    }
}

/// `cons_write` (0x63, Core 1.1): sends up to `len` bytes from guest memory at `ra` and
/// returns how many were sent (at most [`CONS_WRITE_MAX`]). Errors: `ENORADDR` (buffer
/// outside the guest's memory), `EWOULDBLOCK` (nothing could be sent).
pub fn cons_write(cx: &mut Context<'_>, ra: u64, len: u64) -> Reply {
    let len = core::cmp::min(len, CONS_WRITE_MAX);
    let range = match cx.config.memory.range(Ra::new(ra), len) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    let mut sent = 0;
    let mut chunk = [0u8; 64];
    while sent < len {
        let n = core::cmp::min(64, len - sent) as usize;
        range.read_at(cx.hw, sent, &mut chunk[..n]);
        for &b in &chunk[..n] {
            if !uart_put_polled(cx, b) {
                return if sent == 0 { Reply::err(HvError::WouldBlock) } else { Reply::ok1(sent) };
            }
            sent += 1;
        }
    }
    Reply::ok1(sent)
}

/// `cons_read` (0x62, Core 1.1): reads up to `len` received bytes into guest memory at `ra`
/// and returns how many; returns `CONS_BREAK` (storing nothing) when a BREAK comes first.
/// Errors: `ENORADDR`, `EWOULDBLOCK` (nothing received).
pub fn cons_read(cx: &mut Context<'_>, ra: u64, len: u64) -> Reply {
    let len = core::cmp::min(len, CONS_READ_MAX);
    let range = match cx.config.memory.range(Ra::new(ra), len) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    let mut got = 0u64;
    while got < len {
        match cx.hw.uart_get() {
            UartInput::Byte(b) => {
                range.write_at(cx.hw, got, &[b]);
                got += 1;
            }
            UartInput::Break if got == 0 => return Reply::ok1(cons::CONS_BREAK),
            UartInput::Break | UartInput::Empty => break,
        }
    }
    if got == 0 {
        Reply::err(HvError::WouldBlock)
    } else {
        Reply::ok1(got)
    }
}

/// `soft_state_set` (0x70): state NORMAL or TRANSITION and the RA of a 32-byte aligned,
/// NUL-terminated 7-bit ASCII description (at most 31 characters). Errors: `EINVAL` (bad
/// state or description), `EBADALIGN`, `ENORADDR`.
pub fn soft_state_set(cx: &mut Context<'_>, state: u64, ra: u64) -> Reply {
    if state != soft_state::NORMAL && state != soft_state::TRANSITION {
        return Reply::err(HvError::Inval);
    }
    if !Ra::new(ra).is_aligned(SOFT_STATE_TEXT_LEN as u64) {
        return Reply::err(HvError::BadAlign);
    }
    let range = match cx.config.memory.range(Ra::new(ra), SOFT_STATE_TEXT_LEN as u64) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    let mut text = [0u8; SOFT_STATE_TEXT_LEN];
    range.read(cx.hw, &mut text);
    let Some(nul) = text.iter().position(|&b| b == 0) else {
        return Reply::err(HvError::Inval);
    };
    if text[..nul].iter().any(|&b| b >= 0x80) {
        return Reply::err(HvError::Inval);
    }
    text[nul..].fill(0);
    cx.domain.soft_state = state;
    cx.domain.soft_state_text = text;
    Reply::ok()
}

/// `soft_state_get` (0x71): writes the 32-byte description to the 32-byte aligned buffer at
/// `ra` and returns the state. Errors: `EBADALIGN`, `ENORADDR`.
pub fn soft_state_get(cx: &mut Context<'_>, ra: u64) -> Reply {
    if !Ra::new(ra).is_aligned(SOFT_STATE_TEXT_LEN as u64) {
        return Reply::err(HvError::BadAlign);
    }
    let range = match cx.config.memory.range(Ra::new(ra), SOFT_STATE_TEXT_LEN as u64) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    range.write(cx.hw, &cx.domain.soft_state_text);
    Reply::ok1(cx.domain.soft_state)
}
