//! The CORE group (0x001; hv-api.md §2.3): machine, CPU, MMU, memory, time of day,
//! console, trap trace, dump buffer and the simulated disk. Offered at 1.0 and 1.1.

use super::call::{ApiGroup, Context, Offer, Outcome, Reply};
use crate::addr::Ra;
use crate::hardware::UartInput;
use crate::{cpu, mmu, ttrace, vdisk};
use hv_api::error::HvError;
use hv_api::{cons, group, hcall};

/// CORE 1.0–1.1 (1.1 adds mach_set_watchdog, cpu_stop, cons_read and cons_write).
pub const GROUP: ApiGroup = ApiGroup { number: group::CORE, offers: &[Offer { major: 1, max_minor: 1 }] };

/// Most bytes `cons_write` sends per call (it may return fewer than asked).
pub const CONS_WRITE_MAX: u64 = 4096;
/// Most bytes `cons_read` returns per call.
pub const CONS_READ_MAX: u64 = 4096;

/// Runs the handler of CORE function `function` with the guest's `%o` registers
/// (`ENOTSUPPORTED` for cpu_poke, which is Core 1.6, not offered).
#[inline(always)] // one hypervisor window per hypercall (Hypervisor::handle_trap)
pub fn dispatch(cx: &mut Context<'_>, function: u64, o: &[u64; 8]) -> Outcome {
    match function {
        hcall::MACH_EXIT => Outcome::Exit(o[0]),
        hcall::MACH_DESC => mach_desc(cx, o[0], o[1]).into(),
        hcall::MACH_SIR => Outcome::Sir,
        hcall::MACH_SET_WATCHDOG => cpu::mach_set_watchdog(cx, o[0]).into(),
        hcall::CPU_START => cpu::cpu_start(cx, o[0], o[1], o[2], o[3]).into(),
        hcall::CPU_STOP => cpu::cpu_stop(cx, o[0]),
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
        hcall::DISK_READ => vdisk::disk_read(cx, o[0], o[1], o[2]).into(),
        hcall::DISK_WRITE => vdisk::disk_write(cx, o[0], o[1], o[2]).into(),
        // A function of the group without a handler: none of the offered versions has one
        // (the host test `every_offered_function_has_a_handler`).
        _ => Reply::err(HvError::NotSupported).into(),
    }
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

/// One byte of the calling domain's console output, through the console concentrator
/// (which labels and buffers the lines of several domains; it polls a busy transmitter
/// `concentrator::UART_POLLS` times before answering `false`).
fn put_byte(cx: &mut Context<'_>, byte: u8) -> bool {
    cx.hw.console().put(cx.hw, cx.domain_index, byte)
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
    if put_byte(cx, c as u8) {
        Reply::ok()
    } else {
        Reply::err(HvError::WouldBlock)
    }
}

/// `cons_getchar` (0x60): a character, or `CONS_BREAK`, of the calling domain's console
/// input (the concentrator's: the UART's when the domain has the console focus). Errors:
/// `EWOULDBLOCK` (nothing received).
pub fn cons_getchar(cx: &mut Context<'_>) -> Reply {
    match cx.hw.console().get(cx.hw, cx.domain_index) {
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
            if !put_byte(cx, b) {
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
    if len == 0 {
        return Reply::err(HvError::WouldBlock);
    }
    let console = cx.hw.console();
    match console.get(cx.hw, cx.domain_index) {
        UartInput::Byte(b) => {
            range.write_at(cx.hw, 0, &[b]);
        }
        UartInput::Break => return Reply::ok1(cons::CONS_BREAK),
        UartInput::Empty => return Reply::err(HvError::WouldBlock),
    }
    // Then bytes up to the next BREAK, which stays for the next call.
    let mut got = 1u64;
    while got < len {
        let Some(b) = console.get_byte(cx.hw, cx.domain_index) else { break };
        range.write_at(cx.hw, got, &[b]);
        got += 1;
    }
    Reply::ok1(got)
}
