//! Guest-side hypervisor calls (sparc64 only).
//!
//! Raw trap issuers ([`fast_trap`], [`core_trap`], [`call`]) and typed
//! wrappers returning [`HvResult`]. Calling convention (hv-api.md §1.2): the
//! function number goes in `%o5`, arguments in `%o0`–`%o4`; the status comes
//! back in `%o0` and results in `%o1`–`%o4`; `%o5` may be clobbered by fast
//! traps; every other register is preserved. Every `asm!` here omits
//! `nomem`, so the compiler assumes the hypervisor may read or write memory.
//!
//! # Why many wrappers are `unsafe`
//!
//! Calls that take a *real address* (RA) the hypervisor writes to
//! (`mach_desc`, `cons_read`, `soft_state_get`, `cpu_qconf`,
//! `mmu_fault_area_conf`, `mem_scrub`, `cpu_mondo_send`, …) can overwrite
//! any guest memory behind the compiler's back, and calls that change
//! translations, trap bases or start code (`mmu_*` map/TSB/enable,
//! `cpu_set_rtba`, `cpu_start`) can break every memory-safety assumption, so
//! they are `unsafe fn` with a `# Safety` section. Calls that take no
//! addresses, or only addresses the hypervisor merely reads
//! (`cons_write`, `soft_state_set`, `mem_sync`), are safe.

#![allow(unsafe_code)]

use core::arch::asm;

use crate::error::{HvError, HvResult};
use crate::{core_fn, hcall};

/// Issues `ta 0x80` (fast trap) with `%o5 = function` and `%o0`–`%o4 = args`;
/// returns (`%o0` status, `%o1`–`%o4`) (hv-api.md §1.1, §1.2).
///
/// # Safety
///
/// The call may make the hypervisor write to any real address passed in
/// `args`, change translations, or transfer control; the caller must ensure
/// the call's documented effects (hv-api.md §2) do not violate memory safety.
#[inline(always)]
pub unsafe fn fast_trap(function: u64, args: [u64; 5]) -> (u64, [u64; 4]) {
    let (status, r1, r2, r3, r4);
    // SAFETY: the caller upholds the call's contract; the asm follows the
    // sun4v calling convention (hv-api.md §1.2), %o5 declared clobbered.
    unsafe {
        asm!(
            "ta 0x80",
            inout("o0") args[0] => status,
            inout("o1") args[1] => r1,
            inout("o2") args[2] => r2,
            inout("o3") args[3] => r3,
            inout("o4") args[4] => r4,
            inout("o5") function => _,
            options(nostack)
        );
    }
    (status, [r1, r2, r3, r4])
}

/// Issues `ta 0xff` (core trap) with `%o5 = function` and `%o0`–`%o4 = args`;
/// returns (`%o0` status, `%o1`–`%o4`) (hv-api.md §1.1, §2.1).
///
/// # Safety
///
/// As for [`fast_trap`]; `api_exit` does not return.
#[inline(always)]
pub unsafe fn core_trap(function: u64, args: [u64; 5]) -> (u64, [u64; 4]) {
    let (status, r1, r2, r3, r4);
    // SAFETY: see fast_trap.
    unsafe {
        asm!(
            "ta 0xff",
            inout("o0") args[0] => status,
            inout("o1") args[1] => r1,
            inout("o2") args[2] => r2,
            inout("o3") args[3] => r3,
            inout("o4") args[4] => r4,
            inout("o5") function => _,
            options(nostack)
        );
    }
    (status, [r1, r2, r3, r4])
}

/// Fast trap with up to five arguments from a slice (missing ones are 0,
/// extra ones ignored) (hv-api.md §1.2).
///
/// # Safety
///
/// As for [`fast_trap`]: a guest can pass real addresses the hypervisor
/// writes to, so no generic call can be safe.
#[inline(always)]
pub unsafe fn call(function: u64, args: &[u64]) -> (u64, [u64; 4]) {
    let mut a = [0u64; 5];
    for (dst, src) in a.iter_mut().zip(args) {
        *dst = *src;
    }
    // SAFETY: forwarded to the caller.
    unsafe { fast_trap(function, a) }
}

#[inline(always)]
fn check(status: u64) -> HvResult<()> {
    HvError::check(status)
}

/// Safe fast trap for calls without memory effects (internal).
#[inline(always)]
fn pure(function: u64, args: [u64; 5]) -> (u64, [u64; 4]) {
    // SAFETY: only used for calls that take no addresses and have no effect
    // on guest memory or translations (hv-api.md §2.3).
    unsafe { fast_trap(function, args) }
}

// ----- core trap (hv-api.md §2.1) -----

/// `api_set_version(group, major, minor)` → granted minor (hv-api.md §1.3, §2.1).
pub fn api_set_version(group: u64, major: u64, minor: u64) -> HvResult<u64> {
    // SAFETY: no addresses, no memory effects.
    let (s, r) = unsafe { core_trap(core_fn::API_SET_VERSION, [group, major, minor, 0, 0]) };
    check(s).map(|()| r[0])
}

/// `api_get_version(group)` → (major, minor) (hv-api.md §1.3, §2.1).
pub fn api_get_version(group: u64) -> HvResult<(u64, u64)> {
    // SAFETY: no addresses, no memory effects.
    let (s, r) = unsafe { core_trap(core_fn::API_GET_VERSION, [group, 0, 0, 0, 0]) };
    check(s).map(|()| (r[0], r[1]))
}

/// `api_putchar(c)` (hv-api.md §2.1).
pub fn api_putchar(c: u64) -> HvResult<()> {
    // SAFETY: no addresses, no memory effects.
    let (s, _) = unsafe { core_trap(core_fn::API_PUTCHAR, [c, 0, 0, 0, 0]) };
    check(s)
}

/// `api_exit(code)`; does not return (hv-api.md §2.1).
pub fn api_exit(code: u64) -> ! {
    loop {
        // SAFETY: terminates the guest.
        let _ = unsafe { core_trap(core_fn::API_EXIT, [code, 0, 0, 0, 0]) };
    }
}

// ----- machine (hv-api.md §2.3) -----

/// `mach_exit(code)`; does not return (hv-api.md §2.3).
pub fn mach_exit(code: u64) -> ! {
    loop {
        let _ = pure(hcall::MACH_EXIT, [code, 0, 0, 0, 0]);
    }
}

/// `mach_sir()`: software-initiated reset of the domain; does not return
/// (hv-api.md §2.3, §4.7).
pub fn mach_sir() -> ! {
    loop {
        let _ = pure(hcall::MACH_SIR, [0; 5]);
    }
}

/// `mach_desc(buf_ra, len)` → MD size. On error the size the hypervisor
/// reported in `%o1` is returned too (meaningful with `EINVAL`: buffer too
/// small) (hv-api.md §2.3, §5.3).
///
/// # Safety
///
/// The hypervisor writes up to `len` bytes at real address `buf_ra`; that
/// memory must be owned by the caller and not otherwise in use.
/// `mach_desc(0, 0)` (size query) is always sound.
pub unsafe fn mach_desc(buf_ra: u64, len: u64) -> Result<u64, (HvError, u64)> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::MACH_DESC, [buf_ra, len, 0, 0, 0]) };
    match check(s) {
        Ok(()) => Ok(r[0]),
        Err(e) => Err((e, r[0])),
    }
}

/// Size of the guest MD, via the `mach_desc(0, 0)` idiom (hv-api.md §5.3).
pub fn mach_desc_size() -> HvResult<u64> {
    // SAFETY: a zero-length buffer is never written.
    match unsafe { mach_desc(0, 0) } {
        Ok(n) | Err((HvError::Inval, n)) => Ok(n),
        Err((e, _)) => Err(e),
    }
}

/// `mach_set_watchdog(timeout_ms)` → milliseconds remaining (Core 1.1) (hv-api.md §2.3).
pub fn mach_set_watchdog(timeout_ms: u64) -> HvResult<u64> {
    let (s, r) = pure(hcall::MACH_SET_WATCHDOG, [timeout_ms, 0, 0, 0, 0]);
    check(s).map(|()| r[0])
}

// ----- CPU (hv-api.md §2.3) -----

/// `cpu_start(cpuid, pc, rtba, arg0)` (hv-api.md §2.3, §4.7).
///
/// # Safety
///
/// Starts executing guest code at real address `pc` with trap base `rtba`
/// on another vCPU; that code must be valid and must not race with the caller.
pub unsafe fn cpu_start(cpuid: u64, pc: u64, rtba: u64, arg0: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    let (s, _) = unsafe { fast_trap(hcall::CPU_START, [cpuid, pc, rtba, arg0, 0]) };
    check(s)
}

/// `cpu_stop(cpuid)` (Core 1.1) (hv-api.md §2.3).
pub fn cpu_stop(cpuid: u64) -> HvResult<()> {
    check(pure(hcall::CPU_STOP, [cpuid, 0, 0, 0, 0]).0)
}

/// `cpu_yield()` (hv-api.md §2.3).
pub fn cpu_yield() -> HvResult<()> {
    check(pure(hcall::CPU_YIELD, [0; 5]).0)
}

/// `cpu_poke(cpuid)` (hv-api.md §2.3; later Core minor).
pub fn cpu_poke(cpuid: u64) -> HvResult<()> {
    check(pure(hcall::CPU_POKE, [cpuid, 0, 0, 0, 0]).0)
}

/// `cpu_qconf(queue, base_ra, nentries)`; `nentries = 0` unconfigures
/// (hv-api.md §2.3, §4.4).
///
/// # Safety
///
/// The hypervisor will write queue entries into `nentries × 64` bytes at
/// `base_ra` until the queue is unconfigured.
pub unsafe fn cpu_qconf(queue: u64, base_ra: u64, nentries: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    let (s, _) = unsafe { fast_trap(hcall::CPU_QCONF, [queue, base_ra, nentries, 0, 0]) };
    check(s)
}

/// `cpu_qinfo(queue)` → (base RA, #entries) (hv-api.md §2.3).
pub fn cpu_qinfo(queue: u64) -> HvResult<(u64, u64)> {
    let (s, r) = pure(hcall::CPU_QINFO, [queue, 0, 0, 0, 0]);
    check(s).map(|()| (r[0], r[1]))
}

/// `cpu_myid()` → this vCPU's id (hv-api.md §2.3).
pub fn cpu_myid() -> HvResult<u64> {
    let (s, r) = pure(hcall::CPU_MYID, [0; 5]);
    check(s).map(|()| r[0])
}

/// `cpu_state(cpuid)` → [`crate::cpu_state`] value (hv-api.md §2.3).
pub fn cpu_state(cpuid: u64) -> HvResult<u64> {
    let (s, r) = pure(hcall::CPU_STATE, [cpuid, 0, 0, 0, 0]);
    check(s).map(|()| r[0])
}

/// `cpu_set_rtba(rtba)` → previous RTBA (hv-api.md §2.3).
///
/// # Safety
///
/// `rtba` becomes the reset trap base: it must hold a valid trap table.
pub unsafe fn cpu_set_rtba(rtba: u64) -> HvResult<u64> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::CPU_SET_RTBA, [rtba, 0, 0, 0, 0]) };
    check(s).map(|()| r[0])
}

/// `cpu_get_rtba()` → RTBA (hv-api.md §2.3).
pub fn cpu_get_rtba() -> HvResult<u64> {
    let (s, r) = pure(hcall::CPU_GET_RTBA, [0; 5]);
    check(s).map(|()| r[0])
}

/// `cpu_mondo_send(ncpus, cpulist_ra, data_ra)` (hv-api.md §2.3, §2.9).
///
/// # Safety
///
/// The hypervisor overwrites delivered entries of the CPU list at
/// `cpulist_ra` with 0xffff.
pub unsafe fn cpu_mondo_send(ncpus: u64, cpulist_ra: u64, data_ra: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    let (s, _) = unsafe { fast_trap(hcall::CPU_MONDO_SEND, [ncpus, cpulist_ra, data_ra, 0, 0]) };
    check(s)
}

// ----- MMU (hv-api.md §2.2, §2.3) -----

/// `mmu_tsb_ctx0(ntsb, tsbd_ra)` (hv-api.md §2.3, §4.2).
///
/// # Safety
///
/// Installs TSBs the hypervisor will translate from.
pub unsafe fn mmu_tsb_ctx0(ntsb: u64, tsbd_ra: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    check(unsafe { fast_trap(hcall::MMU_TSB_CTX0, [ntsb, tsbd_ra, 0, 0, 0]) }.0)
}

/// `mmu_tsb_ctxnon0(ntsb, tsbd_ra)` (hv-api.md §2.3, §4.2).
///
/// # Safety
///
/// Installs TSBs the hypervisor will translate from.
pub unsafe fn mmu_tsb_ctxnon0(ntsb: u64, tsbd_ra: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    check(unsafe { fast_trap(hcall::MMU_TSB_CTXNON0, [ntsb, tsbd_ra, 0, 0, 0]) }.0)
}

/// `mmu_tsb_ctx0_info(max, buf_ra)` → #configured (hv-api.md §2.3).
///
/// # Safety
///
/// The hypervisor writes up to `max` 32-byte descriptors at `buf_ra`.
pub unsafe fn mmu_tsb_ctx0_info(max: u64, buf_ra: u64) -> HvResult<u64> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::MMU_TSB_CTX0_INFO, [max, buf_ra, 0, 0, 0]) };
    check(s).map(|()| r[0])
}

/// `mmu_tsb_ctxnon0_info(max, buf_ra)` → #configured (hv-api.md §2.3).
///
/// # Safety
///
/// The hypervisor writes up to `max` 32-byte descriptors at `buf_ra`.
pub unsafe fn mmu_tsb_ctxnon0_info(max: u64, buf_ra: u64) -> HvResult<u64> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::MMU_TSB_CTXNON0_INFO, [max, buf_ra, 0, 0, 0]) };
    check(s).map(|()| r[0])
}

/// `mmu_demap_page(0, 0, va, ctx, flags)` (hv-api.md §2.3).
pub fn mmu_demap_page(va: u64, ctx: u64, flags: u64) -> HvResult<()> {
    check(pure(hcall::MMU_DEMAP_PAGE, [0, 0, va, ctx, flags]).0)
}

/// `mmu_demap_ctx(0, 0, ctx, flags)` (hv-api.md §2.3).
pub fn mmu_demap_ctx(ctx: u64, flags: u64) -> HvResult<()> {
    check(pure(hcall::MMU_DEMAP_CTX, [0, 0, ctx, flags, 0]).0)
}

/// `mmu_demap_all(0, 0, flags)` (hv-api.md §2.3).
pub fn mmu_demap_all(flags: u64) -> HvResult<()> {
    check(pure(hcall::MMU_DEMAP_ALL, [0, 0, flags, 0, 0]).0)
}

/// `mmu_map_perm_addr(va, 0, tte, flags)` (hv-api.md §2.3).
///
/// # Safety
///
/// Creates a translation; it must not alias memory in a way that breaks
/// Rust's aliasing rules.
pub unsafe fn mmu_map_perm_addr(va: u64, tte: u64, flags: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    check(unsafe { fast_trap(hcall::MMU_MAP_PERM_ADDR, [va, 0, tte, flags, 0]) }.0)
}

/// `mmu_unmap_perm_addr(va, 0, flags)` (hv-api.md §2.3).
///
/// # Safety
///
/// Removes a permanent translation that code may rely on (e.g. its own text).
pub unsafe fn mmu_unmap_perm_addr(va: u64, flags: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    check(unsafe { fast_trap(hcall::MMU_UNMAP_PERM_ADDR, [va, 0, flags, 0, 0]) }.0)
}

/// `mmu_fault_area_conf(ra)` → previous RA (hv-api.md §2.3, §4.3).
///
/// # Safety
///
/// The hypervisor writes fault information into 0x80 bytes at `ra`.
pub unsafe fn mmu_fault_area_conf(ra: u64) -> HvResult<u64> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::MMU_FAULT_AREA_CONF, [ra, 0, 0, 0, 0]) };
    check(s).map(|()| r[0])
}

/// `mmu_fault_area_info()` → fault area RA (0 = none) (hv-api.md §2.3).
pub fn mmu_fault_area_info() -> HvResult<u64> {
    let (s, r) = pure(hcall::MMU_FAULT_AREA_INFO, [0; 5]);
    check(s).map(|()| r[0])
}

/// `mmu_enable(enable, return_addr)`; on success execution continues at
/// `return_addr`, so this returns only on failure (hv-api.md §2.3).
///
/// # Safety
///
/// Switches address translation on or off and jumps to `return_addr`.
pub unsafe fn mmu_enable(enable: bool, return_addr: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    check(unsafe { fast_trap(hcall::MMU_ENABLE, [enable as u64, return_addr, 0, 0, 0]) }.0)
}

/// `mmu_map_addr(va, ctx, tte, flags)` via `ta 0x83` (hv-api.md §2.2).
///
/// # Safety
///
/// Loads a translation into the TLB; see [`mmu_map_perm_addr`].
pub unsafe fn mmu_map_addr(va: u64, ctx: u64, tte: u64, flags: u64) -> HvResult<()> {
    let status;
    // SAFETY: forwarded to the caller; hyper-fast convention (hv-api.md §1.2).
    unsafe {
        asm!(
            "ta 0x83",
            inout("o0") va => status,
            inout("o1") ctx => _,
            inout("o2") tte => _,
            inout("o3") flags => _,
            options(nostack)
        );
    }
    check(status)
}

/// `mmu_unmap_addr(va, ctx, flags)` via `ta 0x84` (hv-api.md §2.2).
///
/// # Safety
///
/// Removes a TLB translation code may rely on.
pub unsafe fn mmu_unmap_addr(va: u64, ctx: u64, flags: u64) -> HvResult<()> {
    let status;
    // SAFETY: forwarded to the caller; hyper-fast convention (hv-api.md §1.2).
    unsafe {
        asm!(
            "ta 0x84",
            inout("o0") va => status,
            inout("o1") ctx => _,
            inout("o2") flags => _,
            options(nostack)
        );
    }
    check(status)
}

/// `ttrace_addentry(tag, d0, d1, d2, d3)` via `ta 0x85`; only `%o0`
/// changes (hv-api.md §1.2, §2.2).
pub fn ttrace_addentry(tag: u64, data: [u64; 4]) -> HvResult<()> {
    let status;
    // SAFETY: the hypervisor writes only its own trace buffer.
    unsafe {
        asm!(
            "ta 0x85",
            inout("o0") tag => status,
            in("o1") data[0],
            in("o2") data[1],
            in("o3") data[2],
            in("o4") data[3],
            options(nostack)
        );
    }
    check(status)
}

// ----- memory (hv-api.md §2.3) -----

/// `mem_scrub(ra, len)` → bytes scrubbed (may be less than `len`) (hv-api.md §2.3).
///
/// # Safety
///
/// Zeroes memory at `ra`.
pub unsafe fn mem_scrub(ra: u64, len: u64) -> HvResult<u64> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::MEM_SCRUB, [ra, len, 0, 0, 0]) };
    check(s).map(|()| r[0])
}

/// `mem_sync(ra, len)` → bytes synced (hv-api.md §2.3).
pub fn mem_sync(ra: u64, len: u64) -> HvResult<u64> {
    let (s, r) = pure(hcall::MEM_SYNC, [ra, len, 0, 0, 0]);
    check(s).map(|()| r[0])
}

// ----- time of day (hv-api.md §2.3) -----

/// `tod_get()` → seconds since 1970-01-01 UTC (hv-api.md §2.3).
pub fn tod_get() -> HvResult<u64> {
    let (s, r) = pure(hcall::TOD_GET, [0; 5]);
    check(s).map(|()| r[0])
}

/// `tod_set(seconds)` (hv-api.md §2.3).
pub fn tod_set(seconds: u64) -> HvResult<()> {
    check(pure(hcall::TOD_SET, [seconds, 0, 0, 0, 0]).0)
}

// ----- console (hv-api.md §2.3) -----

/// `cons_getchar()` → character, or [`crate::cons::CONS_BREAK`] /
/// [`crate::cons::CONS_HUP`]; `EWOULDBLOCK` when nothing is available (hv-api.md §2.3).
pub fn cons_getchar() -> HvResult<u64> {
    let (s, r) = pure(hcall::CONS_GETCHAR, [0; 5]);
    check(s).map(|()| r[0])
}

/// `cons_putchar(c)`; `c` 0–255 or [`crate::cons::CONS_BREAK`] (hv-api.md §2.3).
pub fn cons_putchar(c: u64) -> HvResult<()> {
    check(pure(hcall::CONS_PUTCHAR, [c, 0, 0, 0, 0]).0)
}

/// Puts one byte on the console, retrying while the transmitter is busy (`cons_putchar`
/// answering `EWOULDBLOCK`); other errors drop the byte.
pub fn cons_put_blocking(byte: u8) {
    while cons_putchar(byte as u64) == Err(HvError::WouldBlock) {}
}

/// The console as a [`core::fmt::Write`]: bytes through [`cons_put_blocking`], `\n` sent
/// as `\r\n`.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                cons_put_blocking(b'\r');
            }
            cons_put_blocking(b);
        }
        Ok(())
    }
}

/// `cons_write(ra, len)` → bytes written (Core 1.1); the hypervisor only
/// reads the buffer (hv-api.md §2.3).
pub fn cons_write(ra: u64, len: u64) -> HvResult<u64> {
    let (s, r) = pure(hcall::CONS_WRITE, [ra, len, 0, 0, 0]);
    check(s).map(|()| r[0])
}

/// `cons_read(ra, len)` → bytes read, or BREAK/HUP (Core 1.1) (hv-api.md §2.3).
///
/// # Safety
///
/// The hypervisor writes up to `len` bytes at `ra`.
pub unsafe fn cons_read(ra: u64, len: u64) -> HvResult<u64> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::CONS_READ, [ra, len, 0, 0, 0]) };
    check(s).map(|()| r[0])
}

// ----- soft state (hv-api.md §2.4) -----

/// `soft_state_set(state, desc_ra)`; the hypervisor only reads the 32-byte
/// description (hv-api.md §2.4).
pub fn soft_state_set(state: u64, desc_ra: u64) -> HvResult<()> {
    check(pure(hcall::SOFT_STATE_SET, [state, desc_ra, 0, 0, 0]).0)
}

/// `soft_state_get(buf_ra)` → state; the description string is written to
/// the 32-byte buffer (hv-api.md §2.4).
///
/// # Safety
///
/// The hypervisor writes 32 bytes at `buf_ra`.
pub unsafe fn soft_state_get(buf_ra: u64) -> HvResult<u64> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::SOFT_STATE_GET, [buf_ra, 0, 0, 0, 0]) };
    check(s).map(|()| r[0])
}

// ----- virtual interrupts (INTR group, hv-api.md §2.5; docs/ldc.md "Interrupts") -----
//
// A virtual interrupt is addressed by (devhandle, devino): for a channel endpoint the
// `cfg-handle` of the guest MD's `channel-devices` node and the endpoint's `tx-ino` or
// `rx-ino`. Every call answers `EINVAL` for an unknown devhandle or devino. Callable under
// INTR 1.0 and 2.0.

/// `vintr_getcookie(devhandle, devino)` → cookie (function 0xa7; `EINVAL` unknown
/// devhandle or devino) (hv-api.md §2.5).
pub fn vintr_getcookie(devhandle: u64, devino: u64) -> HvResult<u64> {
    let (s, r) = pure(hcall::VINTR_GETCOOKIE, [devhandle, devino, 0, 0, 0]);
    check(s).map(|()| r[0])
}

/// `vintr_setcookie(devhandle, devino, cookie)`: the word 0 of the device mondos the
/// interrupt delivers (function 0xa8; `EINVAL`) (hv-api.md §2.5).
pub fn vintr_setcookie(devhandle: u64, devino: u64, cookie: u64) -> HvResult<()> {
    check(pure(hcall::VINTR_SETCOOKIE, [devhandle, devino, cookie, 0, 0]).0)
}

/// `vintr_getvalid(devhandle, devino)` → 0 invalid / 1 valid (function 0xa9; `EINVAL`)
/// (hv-api.md §2.5).
pub fn vintr_getvalid(devhandle: u64, devino: u64) -> HvResult<u64> {
    let (s, r) = pure(hcall::VINTR_GETVALID, [devhandle, devino, 0, 0, 0]);
    check(s).map(|()| r[0])
}

/// `vintr_setvalid(devhandle, devino, valid)` (function 0xaa; `EINVAL`, also for
/// `valid` > 1) (hv-api.md §2.5).
pub fn vintr_setvalid(devhandle: u64, devino: u64, valid: u64) -> HvResult<()> {
    check(pure(hcall::VINTR_SETVALID, [devhandle, devino, valid, 0, 0]).0)
}

/// `vintr_getstate(devhandle, devino)` → 0 IDLE, 1 RECEIVED, 2 DELIVERED (function 0xab;
/// `EINVAL`) (hv-api.md §2.5).
pub fn vintr_getstate(devhandle: u64, devino: u64) -> HvResult<u64> {
    let (s, r) = pure(hcall::VINTR_GETSTATE, [devhandle, devino, 0, 0, 0]);
    check(s).map(|()| r[0])
}

/// `vintr_setstate(devhandle, devino, state)`; IDLE re-arms the interrupt (function 0xac;
/// `EINVAL`, also for `state` > 2) (hv-api.md §2.5).
pub fn vintr_setstate(devhandle: u64, devino: u64, state: u64) -> HvResult<()> {
    check(pure(hcall::VINTR_SETSTATE, [devhandle, devino, state, 0, 0]).0)
}

/// `vintr_gettarget(devhandle, devino)` → target vCPU id (function 0xad; `EINVAL`)
/// (hv-api.md §2.5).
pub fn vintr_gettarget(devhandle: u64, devino: u64) -> HvResult<u64> {
    let (s, r) = pure(hcall::VINTR_GETTARGET, [devhandle, devino, 0, 0, 0]);
    check(s).map(|()| r[0])
}

/// `vintr_settarget(devhandle, devino, cpuid)` (function 0xae; `EINVAL`; `ENOCPU` when
/// `cpuid` is not a vCPU of the domain) (hv-api.md §2.5).
pub fn vintr_settarget(devhandle: u64, devino: u64, cpuid: u64) -> HvResult<()> {
    check(pure(hcall::VINTR_SETTARGET, [devhandle, devino, cpuid, 0, 0]).0)
}

// ----- logical domain channels (LDOM group 0x101, hv-api.md §2.6, §6; docs/ldc.md) -----
//
// Every call taking a channel answers `ECHANNEL` for a channel id the domain has no
// endpoint for. Queue offsets (head, tail) are byte offsets, multiples of 64.

/// `ldc_tx_qconf(channel, ra, entries)`: the transmit queue, `entries` 64-byte packets at
/// `ra` (aligned to its size); `entries = 0` unconfigures (function 0xe0; `ECHANNEL`,
/// `EINVAL` entries not a power of two, `EBADALIGN`, `ENORADDR`). The hypervisor only
/// reads the queue (hv-api.md §2.6).
pub fn ldc_tx_qconf(channel: u64, ra: u64, entries: u64) -> HvResult<()> {
    check(pure(hcall::LDC_TX_QCONF, [channel, ra, entries, 0, 0]).0)
}

/// `ldc_tx_qinfo(channel)` → (RA, entries), (0, 0) when unconfigured (function 0xe1;
/// `ECHANNEL`) (hv-api.md §2.6).
pub fn ldc_tx_qinfo(channel: u64) -> HvResult<(u64, u64)> {
    let (s, r) = pure(hcall::LDC_TX_QINFO, [channel, 0, 0, 0, 0]);
    check(s).map(|()| (r[0], r[1]))
}

/// `ldc_tx_get_state(channel)` → (head, tail, channel state) (function 0xe2; `ECHANNEL`,
/// `EINVAL` no transmit queue). States: [`crate::ldc::state`] (hv-api.md §2.6).
pub fn ldc_tx_get_state(channel: u64) -> HvResult<(u64, u64, u64)> {
    let (s, r) = pure(hcall::LDC_TX_GET_STATE, [channel, 0, 0, 0, 0]);
    check(s).map(|()| (r[0], r[1], r[2]))
}

/// `ldc_tx_set_qtail(channel, tail)`: sends the packets between the current tail and
/// `tail` (function 0xe3; `ECHANNEL`, `EBADALIGN`, `EINVAL` no transmit queue or tail past
/// the queue, `EWOULDBLOCK` the peer has no receive queue or no room for all of them:
/// nothing sent, tail unchanged) (hv-api.md §2.6).
pub fn ldc_tx_set_qtail(channel: u64, tail: u64) -> HvResult<()> {
    check(pure(hcall::LDC_TX_SET_QTAIL, [channel, tail, 0, 0, 0]).0)
}

/// `ldc_rx_qconf(channel, ra, entries)`: the receive queue; `entries = 0` unconfigures
/// (function 0xe4; errors as [`ldc_tx_qconf`]) (hv-api.md §2.6).
///
/// # Safety
///
/// The hypervisor writes the peer's packets into `entries × 64` bytes at `ra` until the
/// queue is unconfigured.
pub unsafe fn ldc_rx_qconf(channel: u64, ra: u64, entries: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    check(unsafe { fast_trap(hcall::LDC_RX_QCONF, [channel, ra, entries, 0, 0]) }.0)
}

/// `ldc_rx_qinfo(channel)` → (RA, entries) (function 0xe5; `ECHANNEL`) (hv-api.md §2.6).
pub fn ldc_rx_qinfo(channel: u64) -> HvResult<(u64, u64)> {
    let (s, r) = pure(hcall::LDC_RX_QINFO, [channel, 0, 0, 0, 0]);
    check(s).map(|()| (r[0], r[1]))
}

/// `ldc_rx_get_state(channel)` → (head, tail, channel state) (function 0xe6; `ECHANNEL`,
/// `EINVAL` no receive queue) (hv-api.md §2.6).
pub fn ldc_rx_get_state(channel: u64) -> HvResult<(u64, u64, u64)> {
    let (s, r) = pure(hcall::LDC_RX_GET_STATE, [channel, 0, 0, 0, 0]);
    check(s).map(|()| (r[0], r[1], r[2]))
}

/// `ldc_rx_set_qhead(channel, head)`: frees the packets before `head` (function 0xe7;
/// `ECHANNEL`, `EBADALIGN`, `EINVAL` no receive queue or head not between the current head
/// and tail) (hv-api.md §2.6).
pub fn ldc_rx_set_qhead(channel: u64, head: u64) -> HvResult<()> {
    check(pure(hcall::LDC_RX_SET_QHEAD, [channel, head, 0, 0, 0]).0)
}

/// `ldc_set_map_table(channel, ra, entries)`: the table of pages exported to the peer;
/// `entries = 0` removes it (function 0xea; `ECHANNEL`, `EINVAL` entries < 2, ≥ 2^30 or
/// not a power of two, `EBADALIGN` RA not 64-byte aligned, `ENORADDR`) (hv-api.md §2.6,
/// §6.4).
///
/// # Safety
///
/// The hypervisor writes revoke cookies into the table's entries (word 1) and gives the
/// peer access to the pages the entries name until the table is removed.
pub unsafe fn ldc_set_map_table(channel: u64, ra: u64, entries: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    check(unsafe { fast_trap(hcall::LDC_SET_MAP_TABLE, [channel, ra, entries, 0, 0]) }.0)
}

/// `ldc_get_map_table(channel)` → (RA, entries), (0, 0) when none (function 0xeb;
/// `ECHANNEL`) (hv-api.md §2.6).
pub fn ldc_get_map_table(channel: u64) -> HvResult<(u64, u64)> {
    let (s, r) = pure(hcall::LDC_GET_MAP_TABLE, [channel, 0, 0, 0, 0]);
    check(s).map(|()| (r[0], r[1]))
}

/// `ldc_copy(channel, direction, cookie, ra, length)` → bytes copied, between `length`
/// bytes at the caller's `ra` and the peer's exported pages from `cookie` on;
/// direction [`crate::ldc::COPY_IN`] (peer → own) or [`crate::ldc::COPY_OUT`]
/// (function 0xec; `ECHANNEL`, `EINVAL`, `EBADALIGN`, `ENORADDR`, `ENOMAP`, `EBADPGSZ`,
/// `ENOACCESS`: docs/ldc.md) (hv-api.md §2.6, §6.4).
///
/// # Safety
///
/// With `COPY_IN` the hypervisor writes up to `length` bytes at `ra`.
pub unsafe fn ldc_copy(channel: u64, direction: u64, cookie: u64, ra: u64, length: u64) -> HvResult<u64> {
    // SAFETY: forwarded to the caller.
    let (s, r) = unsafe { fast_trap(hcall::LDC_COPY, [channel, direction, cookie, ra, length]) };
    check(s).map(|()| r[0])
}

/// `ldc_mapin(channel, cookie)` → (RA, permissions: [`crate::ldc::MAPIN_R`], `_W`, `_X`):
/// where the peer's page appears for the caller (function 0xed; `ECHANNEL`, `ENOMAP`,
/// `EBADPGSZ`, `ENORADDR`, `ENOACCESS`, `ETOOMANY`) (hv-api.md §2.6, §6.4).
pub fn ldc_mapin(channel: u64, cookie: u64) -> HvResult<(u64, u64)> {
    let (s, r) = pure(hcall::LDC_MAPIN, [channel, cookie, 0, 0, 0]);
    check(s).map(|()| (r[0], r[1]))
}

/// `ldc_unmap(ra)`: ends a map-in of the caller (function 0xee; `EINVAL` not a live
/// map-in) (hv-api.md §2.6).
///
/// # Safety
///
/// The page disappears from the caller at once: translations to it fault afterwards.
pub unsafe fn ldc_unmap(ra: u64) -> HvResult<()> {
    // SAFETY: forwarded to the caller.
    check(unsafe { fast_trap(hcall::LDC_UNMAP, [ra, 0, 0, 0, 0]) }.0)
}

/// `ldc_revoke(channel, cookie, revoke_cookie)`: the exporter ends the peer's map-in of
/// the page `cookie` names; `revoke_cookie` is word 1 of its map-table entry (function
/// 0xef; `ECHANNEL`, `EINVAL` no such live map-in) (hv-api.md §2.6).
pub fn ldc_revoke(channel: u64, cookie: u64, revoke_cookie: u64) -> HvResult<()> {
    check(pure(hcall::LDC_REVOKE, [channel, cookie, revoke_cookie, 0, 0]).0)
}
