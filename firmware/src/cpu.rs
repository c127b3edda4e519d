//! vCPU calls (hv-api.md §2.3, §2.9, §4.4, §4.7): the interrupt / error queue registry
//! (`cpu_qconf`, `cpu_qinfo`), vCPU start / stop / state, the reset trap base address
//! (`cpu_set_rtba`, `cpu_get_rtba`), `cpu_mondo_send`, and the guest watchdog
//! (`mach_set_watchdog`).
//!
//! vCPU ids are the domain's own (`vid` of the hypervisor MD's `cpu` nodes of that domain).
//!
//! Decisions:
//! * **Strands.** Each vCPU runs on its own strand. `cpu_start` posts the start in the
//!   target's mailbox and resumes its strand; `cpu_stop` asks the target's strand to stop
//!   it and waits; `cpu_state` reads the target's mailbox; `cpu_mondo_send` puts the data
//!   in each target's one-entry mondo slot and interrupts its strand, which moves it into
//!   the guest's queue ([`crate::vcpu`]).
//! * **Queues**: base RA and entries are kept here; HEAD and TAIL are the strand's
//!   `ASI_QUEUE` registers, which the guest reads (and moves HEAD in) directly. On stock
//!   QEMU (one strand, no such registers) nothing is ever delivered: a domain there has
//!   one running vCPU.
//! * **Watchdog.** Expiry is checked against `%stick` on every trap that reaches the Rust
//!   handler ([`watchdog_expired`]) and, where the machine has a hyperprivileged timer
//!   (qemu-sun4v), by the timer of the strand that armed it, so a guest that never traps is
//!   caught too; an expired watchdog applies the domain's failure policy ("watchdog
//!   reset"). On stock QEMU expiry is noticed only at the next trap.

use crate::addr::Ra;
use crate::hcall::{Context, Outcome, Reply};
use crate::trap::LaunchState;
use crate::ttrace::TraceBuffer;
use crate::vcpu::MONDO_WORDS;
use hv_api::cpu_state;
use hv_api::error::HvError;
use hv_api::queue;

/// Largest watchdog timeout in ms when the guest MD's platform node has no
/// `watchdog-max-timeout`: about a year, Sun's hypervisor's limit (`WATCHDOG_MAX_TIMEOUT`).
pub const WATCHDOG_DEFAULT_MAX_MS: u64 = 365 * 24 * 60 * 60 * 1000;
/// `%stick` ticks per millisecond.
pub const STICK_PER_MS: u64 = platform::TIMER_FREQUENCY_HZ / 1000;
/// Bytes of a real trap table that must lie in the guest's memory (`REAL_TRAPTABLE_SIZE`,
/// also its alignment).
pub const RTBA_SIZE: u64 = 256;
/// Size and alignment of an instruction (cpu_start's PC).
pub const INSTRUCTION_SIZE: u64 = 4;

/// One interrupt / error queue of a vCPU (hv-api.md §4.4); HEAD and TAIL are the
/// strand's registers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queue {
    /// Base real address (0 when unconfigured).
    pub base_ra: u64,
    /// Entries (0 when unconfigured).
    pub nentries: u64,
}

/// A vCPU's state besides its MMU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuState {
    /// Reset trap base address: where mach_sir and resets enter (`cpu_set_rtba`).
    pub rtba: u64,
    /// Queues 0x3c–0x3f, in that order.
    pub queues: [Queue; 4],
    /// Trap-trace buffer.
    pub ttrace: TraceBuffer,
}

impl CpuState {
    /// The state of a vCPU at its (re)start: queues unconfigured, no trace buffer, RTBA
    /// `rtba`.
    pub fn reset(&mut self, rtba: u64) {
        *self = CpuState { rtba, ..CpuState::default() };
    }
}

fn queue_index(id: u64) -> Option<usize> {
    queue::is_valid_queue(id).then(|| (id - queue::CPU_MONDO) as usize)
}

/// `cpu_qconf` (0x14, Core 1.0): configures queue `id` (0x3c cpu mondo, 0x3d device mondo,
/// 0x3e resumable error, 0x3f non-resumable error) at `base_ra` with `nentries` 64-byte
/// entries; 0 entries unconfigures it. HEAD and TAIL become 0. Checks in Sun's order:
/// `nentries` not 0 and not a power of two in 2…256 → `EINVAL`; `base_ra` not aligned to
/// the queue size → `EBADALIGN`; queue outside the domain's memory → `ENORADDR`; `id` not
/// 0x3c–0x3f → `EINVAL` (hv-api.md §2.3, §2.9, §4.4).
pub fn cpu_qconf(cx: &mut Context<'_>, id: u64, base_ra: u64, nentries: u64) -> Reply {
    let mut q = Queue::default();
    if nentries != 0 {
        if !queue::is_valid_t1_entries(nentries) {
            return Reply::err(HvError::Inval);
        }
        let bytes = nentries * queue::ENTRY_SIZE;
        if !Ra::new(base_ra).is_aligned(bytes) {
            return Reply::err(HvError::BadAlign);
        }
        if let Err(e) = cx.config.memory.range(Ra::new(base_ra), bytes) {
            return Reply::err(e);
        }
        q = Queue { base_ra, nentries };
    }
    let Some(i) = queue_index(id) else {
        return Reply::err(HvError::Inval);
    };
    cx.cpu.queues[i] = q;
    cx.hw.set_queue_registers(id, 0, 0);
    Reply::ok()
}

/// `cpu_qinfo` (0x15, Core 1.0): base RA and entries of queue `id` (0, 0 when
/// unconfigured). Errors: `EINVAL` (`id` not 0x3c–0x3f) (hv-api.md §2.3).
pub fn cpu_qinfo(cx: &mut Context<'_>, id: u64) -> Reply {
    match queue_index(id) {
        Some(i) => Reply::ok2(cx.cpu.queues[i].base_ra, cx.cpu.queues[i].nentries),
        None => Reply::err(HvError::Inval),
    }
}

/// `cpu_start` (0x10, Core 1.0): starts stopped vCPU `cpuid` at real address `pc` with
/// RTBA `rtba` and `%o0` = `arg` (the other registers as a domain start sets them,
/// hv-api.md §4.7). Checks: `cpuid` not a vCPU of the domain → `ENOCPU`; `pc` (4 bytes) or
/// `rtba` (256 bytes) outside the domain's memory → `ENORADDR`; `pc` not 4-aligned or
/// `rtba` not 256-aligned → `EBADALIGN`; target not stopped (the caller, or running) →
/// `EINVAL`; a stop or restart of the domain in progress → `EWOULDBLOCK` (hv-api.md §2.3,
/// §2.9, §4.7). The target's strand takes the start from its mailbox; the call does not
/// wait for it.
pub fn cpu_start(cx: &mut Context<'_>, cpuid: u64, pc: u64, rtba: u64, arg: u64) -> Reply {
    let Some(target) = cx.vcpu_index(cpuid) else {
        return Reply::err(HvError::NoCpu);
    };
    for (ra, len) in [(pc, INSTRUCTION_SIZE), (rtba, RTBA_SIZE)] {
        if let Err(e) = cx.config.memory.range(Ra::new(ra), len) {
            return Reply::err(e);
        }
    }
    if !Ra::new(pc).is_aligned(INSTRUCTION_SIZE) || !Ra::new(rtba).is_aligned(RTBA_SIZE) {
        return Reply::err(HvError::BadAlign);
    }
    let memory = &cx.config.memory;
    let state = LaunchState { pc, rtba, o0: arg, i0: memory.realbase.raw(), i1: memory.size, cpuid };
    // A domain stop or restart in progress stops every vCPU it finds running, under the
    // domain's lock: a start posted meanwhile would escape it.
    if cx.domain.in_transition {
        return Reply::err(HvError::WouldBlock);
    }
    if cpuid == cx.vid || !cx.mailboxes[target].post_start(state) {
        return Reply::err(HvError::Inval);
    }
    cx.hw.strand_resume(cx.hv_config.vcpus[target].strand);
    Reply::ok()
}

/// `cpu_stop` (0x11, Core 1.1): stops running vCPU `cpuid` and returns once it has
/// stopped. Errors: `ENOCPU` (not a vCPU of the domain), `EINVAL` (the caller itself, or a
/// vCPU that is not running), `EWOULDBLOCK` (its strand did not answer in time; it stops
/// at its next trap) (hv-api.md §2.3).
pub fn cpu_stop(cx: &mut Context<'_>, cpuid: u64) -> Outcome {
    let Some(target) = cx.vcpu_index(cpuid) else {
        return Reply::err(HvError::NoCpu).into();
    };
    if cpuid == cx.vid || !cx.mailboxes[target].request_stop() {
        return Reply::err(HvError::Inval).into();
    }
    Outcome::StopVcpu(target)
}

/// `cpu_state` (0x17, Core 1.0): the state of vCPU `cpuid` of the domain: STOPPED (1),
/// RUNNING (2) or ERROR (3). Errors: `ENOCPU` (not a vCPU of the domain) (hv-api.md §2.3).
pub fn cpu_state(cx: &mut Context<'_>, cpuid: u64) -> Reply {
    match cx.vcpu_index(cpuid) {
        Some(target) => Reply::ok1(cx.mailboxes[target].run_state()),
        None => Reply::err(HvError::NoCpu),
    }
}

/// `cpu_set_rtba` (0x18, Core 1.0): sets this vCPU's reset trap base address and returns
/// the previous one; `%tba` is not touched. Checks in Sun's order: 256 bytes at `rtba`
/// outside the domain's memory → `ENORADDR`; not 256-byte aligned → `EBADALIGN`
/// (hv-api.md §2.3, §2.9).
pub fn cpu_set_rtba(cx: &mut Context<'_>, rtba: u64) -> Reply {
    if let Err(e) = cx.config.memory.range(Ra::new(rtba), RTBA_SIZE) {
        return Reply::err(e);
    }
    if !Ra::new(rtba).is_aligned(RTBA_SIZE) {
        return Reply::err(HvError::BadAlign);
    }
    let previous = core::mem::replace(&mut cx.cpu.rtba, rtba);
    Reply::ok1(previous)
}

/// `cpu_get_rtba` (0x19, Core 1.0): this vCPU's reset trap base address (the guest's real
/// base until set). No errors (hv-api.md §2.3).
pub fn cpu_get_rtba(cx: &mut Context<'_>) -> Reply {
    Reply::ok1(cx.cpu.rtba)
}

/// `cpu_mondo_send` (0x42, Core 1.0): sends the 64 bytes at `data_ra` to the `ncpus` vCPUs
/// listed (u16 ids) at `list_ra`. Checks in Sun's order: list not 2-byte aligned or data
/// not 64-byte aligned → `EBADALIGN`; list or data outside the domain's memory →
/// `ENORADDR`; then per entry, in list order (0xffff = already done, skipped): not a vCPU
/// of the domain, or a stopped one → `ENOCPU` (what Linux expects of a CPU that is not
/// there); the caller itself → `EINVAL`; in error → `ECPUERROR`. Each entry whose target
/// took the mondo into its mailbox is overwritten with 0xffff; a target whose mailbox is
/// still full is poked again (its strand retries its queue) and the call answers
/// `EWOULDBLOCK` after going through the whole list (hv-api.md §2.3, §2.9, §4.4).
pub fn cpu_mondo_send(cx: &mut Context<'_>, ncpus: u64, list_ra: u64, data_ra: u64) -> Reply {
    if !Ra::new(list_ra).is_aligned(queue::CPULIST_ENTRY_SIZE) || !Ra::new(data_ra).is_aligned(queue::MONDO_DATA_SIZE) {
        return Reply::err(HvError::BadAlign);
    }
    let Some(list_len) = ncpus.checked_mul(queue::CPULIST_ENTRY_SIZE) else {
        return Reply::err(HvError::NoRAddr);
    };
    let list = match cx.config.memory.range(Ra::new(list_ra), list_len) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    let data = match cx.config.memory.range(Ra::new(data_ra), queue::MONDO_DATA_SIZE) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    // 64-byte aligned (checked above; the domain's memory is 8 KiB aligned in RA and PA).
    let mut mondo = [0u64; MONDO_WORDS];
    data.read_words(cx.hw, &mut mondo);
    let mut busy = false;
    for i in 0..ncpus {
        let mut id = [0u8; 2];
        list.read_at(cx.hw, i * queue::CPULIST_ENTRY_SIZE, &mut id);
        let id = u16::from_be_bytes(id);
        if id == queue::CPULIST_ENTRY_DONE {
            continue;
        }
        let Some(target) = cx.vcpu_index(id as u64) else {
            return Reply::err(HvError::NoCpu);
        };
        if id as u64 == cx.vid {
            return Reply::err(HvError::Inval);
        }
        let mailbox = &cx.mailboxes[target];
        match mailbox.run_state() {
            cpu_state::ERROR => return Reply::err(HvError::CpuError),
            cpu_state::RUNNING => {}
            _ => return Reply::err(HvError::NoCpu),
        }
        let delivered = mailbox.post_mondo(mondo);
        cx.hw.send_interrupt(cx.hv_config.vcpus[target].strand, crate::hypervisor::VECTOR_MAILBOX);
        if delivered {
            list.write_at(cx.hw, i * queue::CPULIST_ENTRY_SIZE, &queue::CPULIST_ENTRY_DONE.to_be_bytes());
        } else {
            busy = true;
        }
    }
    if busy {
        Reply::err(HvError::WouldBlock)
    } else {
        Reply::ok()
    }
}

/// Milliseconds left on the domain's watchdog at `%stick` = `now` (rounded up, at least 1
/// while armed); 0 when it is off.
fn watchdog_left_ms(deadline: Option<u64>, now: u64) -> u64 {
    match deadline {
        Some(d) => d.saturating_sub(now).div_ceil(STICK_PER_MS).max(1),
        None => 0,
    }
}

/// `mach_set_watchdog` (0x05, Core 1.1): arms the domain's watchdog to expire in
/// `timeout_ms` ms (0 disables it) and returns the ms that were left on the previous one
/// (0 if it was off). Errors: `EINVAL` when `timeout_ms` is above the maximum (the guest
/// MD's `watchdog-max-timeout`); the watchdog is then unchanged and `%o1` still holds the
/// time left (hv-api.md §2.3). Expiry applies the failure policy (module doc).
pub fn mach_set_watchdog(cx: &mut Context<'_>, timeout_ms: u64) -> Reply {
    let now = cx.hw.stick();
    let left = watchdog_left_ms(cx.domain.watchdog_deadline, now);
    if timeout_ms > cx.domain.watchdog_max_ms {
        return Reply::err1(HvError::Inval, left);
    }
    cx.domain.watchdog_deadline =
        (timeout_ms != 0).then(|| now.saturating_add(timeout_ms.saturating_mul(STICK_PER_MS)));
    // The strand's timer enforces it, also for a guest that never traps again.
    cx.poll = Some(cx.vid);
    Reply::ok1(left)
}

/// Whether a watchdog armed to expire at `deadline` has expired at `%stick` = `now`.
pub fn watchdog_expired(deadline: Option<u64>, now: u64) -> bool {
    deadline.is_some_and(|d| now >= d)
}
