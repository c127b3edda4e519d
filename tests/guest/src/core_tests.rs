//! The guest proper (sparc64 only).

//! Core API tests, with the MMU off.

use crate::rt::{check, failures, Buffer, LAST_TT};
use core::sync::atomic::Ordering;
use hv_api::error::HvError;
use hv_api::guest as hv;
use hv_api::md::MachineDescription;
use hv_api::{core_fn, group, hcall, soft_state};

static MD_BUF: Buffer<8192> = Buffer::new();
static TEXT: Buffer<64> = Buffer::new();
/// Room for a 256-byte aligned 256-byte block (a 4-entry queue, a real trap table).
static ALIGNED: Buffer<512> = Buffer::new();
/// A 4-entry trap-trace buffer.
static TRACE: Buffer<256> = Buffer::new();

fn raw_fast(function: u64, args: [u64; 5]) -> (u64, [u64; 4]) {
    // SAFETY: used only with functions whose arguments point nowhere or at our buffers.
    unsafe { hv::fast_trap(function, args) }
}

#[no_mangle]
extern "C" fn guest_main(base: u64, size: u64) -> ! {
    say!("start (memory {:#x} bytes at {:#x})", size, base);
    #[cfg(guest_bench)]
    {
        crate::bench::run(base, size)
    }
    #[cfg(guest_fault)]
    {
        crate::fault::run(base, size)
    }
    #[cfg(guest_hostile)]
    {
        crate::hostile::start(base, size)
    }
    #[cfg(guest_console_intr)]
    {
        crate::console_intr::run()
    }
    #[cfg(not(any(guest_bench, guest_fault, guest_hostile, guest_console_intr)))]
    run_tests(base, size)
}

#[cfg_attr(any(guest_bench, guest_fault, guest_hostile, guest_console_intr), allow(dead_code))]
fn run_tests(base: u64, size: u64) -> ! {
    let canaries = canaries(base, size);
    for (ra, len) in canaries {
        crate::rt::fill_canary(ra, len);
    }
    let [(a, a_len), (b, b_len)] = canaries;
    say!("canaries filled ({a_len:#x} bytes at {a:#x}, {b_len:#x} bytes at {b:#x})");
    versions();
    errors_for_unknown_calls();
    machine_description(base);
    console(base, size);
    time_of_day();
    cpu();
    queues(base, size);
    vcpus(base, size);
    watchdog();
    interrupts();
    simulated_disk();
    trap_trace(base);
    soft_state_calls(base, size);
    registers_survive_hypercalls();
    windows_survive_hypercalls();
    crate::windows::run();
    revectored_trap();
    #[cfg(guest_ra2pa)]
    crate::real_access::run(base, size);
    crate::mmu_tests::run(base, size);
    crate::smp::run(base, size);
    crate::ldc::run(base, size);
    #[cfg(guest_ra2pa)]
    crate::real_access::canary_at_end();
    let changed = canaries.iter().find_map(|&(ra, len)| crate::rt::canary_changed(ra, len));
    check("canary intact", changed.is_none(), format_args!("the word at {changed:#x?} changed"));
    let failed = failures();
    if failed == 0 {
        say!("all tests passed");
    } else {
        say!("{failed} tests FAILED");
        // The other domain of the LDC tests waits to see this one reset: it still does
        // (and exits with the failure count after the restart).
        if !crate::ldc::reset_awaited() {
            hv::mach_exit(1);
        }
    }
    say!("calling mach_sir");
    hv::mach_sir()
}

/// Two regions of the guest's own memory that none of its tests uses, filled with canary
/// words at the start and checked at the end (`ok canary intact`): 8 MiB in the middle of
/// the domain and the 4 MiB below its top 4 MiB page (the stack's). Another domain, or the
/// hypervisor on its behalf, must never change them; the harness also reads them from
/// outside (case `two-domains-hostile`). Empty for a domain below 64 MiB.
fn canaries(base: u64, size: u64) -> [(u64, u64); 2] {
    const MIB: u64 = 1 << 20;
    if size < 64 * MIB {
        return [(base, 0), (base, 0)];
    }
    let middle = (base + size / 2) & !(4 * MIB - 1);
    let below_stack = ((base + size - 1) & !(4 * MIB - 1)) - 4 * MIB;
    [(middle, 8 * MIB), (below_stack, 4 * MIB)]
}

#[no_mangle]
extern "C" fn guest_after_sir(base: u64, size: u64) -> ! {
    // `GUEST_MODE=fault-windows-tlb` restarts itself this way after a failure the
    // hypervisor missed, and goes on with the next one.
    #[cfg(guest_fault_windows_tlb)]
    {
        crate::fault::run(base, size)
    }
    #[cfg(not(guest_fault_windows_tlb))]
    after_sir(base, size)
}

#[cfg_attr(guest_fault_windows_tlb, allow(dead_code))]
fn after_sir(base: u64, size: u64) -> ! {
    say!("restarted by mach_sir");
    check_eq!("sir resets core version to 1.0", hv::api_get_version(group::CORE), Ok((1, 0)));
    check_eq!("sir resets negotiated groups", hv::api_get_version(group::SOFT_STATE), Ok((0, 0)));
    check_eq!("set soft state 1.0 again", hv::api_set_version(group::SOFT_STATE, 1, 0), Ok(0));
    check_eq!("sir resets soft state", unsafe { hv::soft_state_get(TEXT.ra()) }, Ok(soft_state::TRANSITION));
    crate::ldc::after_sir(base, size);
    let failed = failures();
    say!("exiting with code {failed}");
    hv::mach_exit(failed)
}

fn versions() {
    check_eq!("core 1.0 at start", hv::api_get_version(group::CORE), Ok((1, 0)));
    // cons_write is Core 1.1: not callable before 1.1 is negotiated.
    check_eq!("core 1.1 call before negotiation", hv::cons_write(TEXT.ra(), 1), Err(HvError::BadTrap));
    // Until soft state is negotiated, 0x70 is the legacy NVRAM read (offset, RA, length):
    // the configuration's NVRAM is 8 KiB.
    let (status, rets) = raw_fast(0x70, [0, TEXT.ra(), 16, 0, 0]);
    check_eq!("legacy NVRAM read before soft state", (status, rets[0]), (0, 16));
    let (status, _) = raw_fast(0x70, [0x2000, TEXT.ra(), 16, 0, 0]);
    check_eq!("legacy NVRAM read past the end", status, HvError::Inval.code());
    check_eq!("soft state at start", hv::api_get_version(group::SOFT_STATE), Ok((0, 0)));
    // A call of a group not negotiated (LDOM: the LDC tests negotiate it at the end).
    let (status, _) = raw_fast(hcall::LDC_TX_QCONF, [0, TEXT.ra(), 2, 0, 0]);
    check_eq!("call in an unnegotiated group (LDC)", status, HvError::BadTrap.code());
    check_eq!("set sun4v 1.0", hv::api_set_version(group::SUN4V, 1, 0), Ok(0));
    check_eq!("set core 1.6 grants 1.1", hv::api_set_version(group::CORE, 1, 6), Ok(1));
    check_eq!("get core", hv::api_get_version(group::CORE), Ok((1, 1)));
    // SAFETY: no pointers.
    let (status, rets) = unsafe { hv::core_trap(core_fn::API_SET_VERSION, [group::CORE, 2, 0, 0, 0]) };
    check(
        "bad major refused with the closest version",
        status == HvError::NotSupported.code() && rets[0] == 1 && rets[1] == 1,
        format_args!("status {status}, closest {}.{}", rets[0], rets[1]),
    );
    check_eq!("unknown group", hv::api_set_version(0x7777, 1, 0), Err(HvError::Inval));
    check_eq!("get unknown group", hv::api_get_version(0x7777), Err(HvError::Inval));
    check_eq!("set soft state 1.0", hv::api_set_version(group::SOFT_STATE, 1, 0), Ok(0));
}

fn errors_for_unknown_calls() {
    let (status, _) = raw_fast(0xfe, [0; 5]);
    check_eq!("unknown fast-trap function", status, HvError::BadTrap.code());
    // SAFETY: no pointers.
    let (status, _) = unsafe { hv::core_trap(9, [0; 5]) };
    check_eq!("unknown core function", status, HvError::BadTrap.code());
    let status: u64;
    // SAFETY: ta 0x86 is an unassigned hypervisor trap; it only sets %o0.
    unsafe { core::arch::asm!("ta 0x86", inout("o0") 0u64 => status, options(nostack)) };
    check_eq!("unassigned hypervisor trap 0x86", status, HvError::BadTrap.code());
    // A known function of a version that is not offered (cpu_poke is Core 1.6).
    let (status, _) = raw_fast(hcall::CPU_POKE, [1, 0, 0, 0, 0]);
    check_eq!("function of a version not offered", status, HvError::BadTrap.code());
    let (status, _) = raw_fast(hcall::NIAGARA_MMUSTAT_INFO, [0; 5]);
    check_eq!("mmustat_info (NIAG_PERF not offered)", status, HvError::BadTrap.code());
}

fn machine_description(base: u64) {
    let size = match hv::mach_desc_size() {
        Ok(s) => s,
        Err(e) => {
            check("mach_desc size query", false, format_args!("{e:?}"));
            return;
        }
    };
    check("mach_desc size query", size > 16 && size <= 8192 && size % 16 == 0, format_args!("size {size}"));
    // SAFETY: MD_BUF is ours and 8192 bytes long.
    let r = unsafe { hv::mach_desc(MD_BUF.ra(), size - 16) };
    check_eq!("mach_desc short buffer", r, Err((HvError::Inval, size)));
    // SAFETY: as above (unaligned by 8, still inside the buffer).
    let r = unsafe { hv::mach_desc(MD_BUF.ra() + 8, size) };
    check("mach_desc unaligned buffer", matches!(r, Err((HvError::BadAlign, _))), format_args!("{r:?}"));
    // SAFETY: the address is outside our memory: the hypervisor must refuse it.
    let r = unsafe { hv::mach_desc(0x10, size) };
    check("mach_desc bad RA", matches!(r, Err((HvError::NoRAddr, _))), format_args!("{r:?}"));
    // SAFETY: the end of our memory: the buffer would run past it.
    let r = unsafe { hv::mach_desc(base + 0x1000_0000 - 16, size) };
    check("mach_desc buffer past the end", matches!(r, Err((HvError::NoRAddr, _))), format_args!("{r:?}"));
    // SAFETY: MD_BUF is ours.
    let r = unsafe { hv::mach_desc(MD_BUF.ra(), 8192) };
    check_eq!("mach_desc copy", r, Ok(size));
    let md = match MachineDescription::new(&MD_BUF.bytes()[..size as usize]) {
        Ok(md) => md,
        Err(e) => {
            check("guest MD parses", false, format_args!("{e}"));
            return;
        }
    };
    check("guest MD parses", true, format_args!(""));
    let platform = md.nodes_named("platform").next();
    check_eq!(
        "platform stick-frequency is 100 MHz",
        platform.and_then(|p| p.val("stick-frequency")),
        Some(100_000_000)
    );
    let mblock = md.nodes_named("mblock").next();
    check_eq!("mblock base is our base", mblock.and_then(|m| m.val("base")), Some(base));
    let cpu = md.nodes_named("cpu").next();
    check_eq!("cpu 0 in the MD", cpu.and_then(|c| c.val("id")), Some(0));
}

fn console(base: u64, size: u64) {
    check_eq!("cons_putchar 0x100", hv::cons_putchar(0x100), Err(HvError::Inval));
    check_eq!("cons_putchar BREAK", hv::cons_putchar(hv_api::cons::CONS_BREAK), Ok(()));
    let msg = b"test-guest: cons_write says hello\r\n";
    TEXT.bytes_mut()[..msg.len()].copy_from_slice(msg);
    check_eq!("cons_write", hv::cons_write(TEXT.ra(), msg.len() as u64), Ok(msg.len() as u64));
    check_eq!("cons_write bad RA", hv::cons_write(0x10, 4), Err(HvError::NoRAddr));
    check_eq!("cons_write past the end", hv::cons_write(base + size - 2, 4), Err(HvError::NoRAddr));
    check_eq!("cons_getchar with no input", hv::cons_getchar(), Err(HvError::WouldBlock));
    // SAFETY: TEXT is ours.
    check_eq!("cons_read with no input", unsafe { hv::cons_read(TEXT.ra(), 8) }, Err(HvError::WouldBlock));
    // SAFETY: the hypervisor must refuse the address before writing anything.
    check_eq!("cons_read bad RA", unsafe { hv::cons_read(0x10, 8) }, Err(HvError::NoRAddr));
}

fn time_of_day() {
    let now = hv::tod_get();
    check("tod_get", matches!(now, Ok(t) if t > 1_600_000_000), format_args!("{now:?}"));
    check_eq!("tod_set", hv::tod_set(1000), Ok(()));
    let t = hv::tod_get().unwrap_or(0);
    check("tod_get after tod_set", (1000..1010).contains(&t), format_args!("{t}"));
    if let Ok(n) = now {
        let _ = hv::tod_set(n);
    }
}

fn cpu() {
    check_eq!("cpu_myid", hv::cpu_myid(), Ok(0));
    check_eq!("cpu_yield", hv::cpu_yield(), Ok(()));
}

fn aligned_256() -> u64 {
    (ALIGNED.ra() + 255) & !255
}

fn queues(base: u64, size: u64) {
    let q = aligned_256();
    // SAFETY: nothing is ever delivered into the queue (no mondos on QEMU); it is ours.
    check_eq!("cpu_qconf nonresumable 4 entries", unsafe { hv::cpu_qconf(0x3f, q, 4) }, Ok(()));
    check_eq!("cpu_qinfo", hv::cpu_qinfo(0x3f), Ok((q, 4)));
    check_eq!("cpu_qinfo unconfigured", hv::cpu_qinfo(0x3c), Ok((0, 0)));
    check_eq!("cpu_qinfo bad queue", hv::cpu_qinfo(0x40), Err(HvError::Inval));
    // SAFETY: each of these is refused before anything is configured.
    unsafe {
        check_eq!("cpu_qconf bad queue", hv::cpu_qconf(0x3b, q, 4), Err(HvError::Inval));
        check_eq!("cpu_qconf 3 entries", hv::cpu_qconf(0x3c, q, 3), Err(HvError::Inval));
        check_eq!("cpu_qconf 512 entries", hv::cpu_qconf(0x3c, q, 512), Err(HvError::Inval));
        check_eq!("cpu_qconf unaligned", hv::cpu_qconf(0x3c, q + 64, 4), Err(HvError::BadAlign));
        check_eq!("cpu_qconf bad RA", hv::cpu_qconf(0x3c, 0x1000, 4), Err(HvError::NoRAddr));
        check_eq!("cpu_qconf past the end", hv::cpu_qconf(0x3c, base + size, 2), Err(HvError::NoRAddr));
        check_eq!("cpu_qconf unconfigure", hv::cpu_qconf(0x3f, 0, 0), Ok(()));
    }
    check_eq!("cpu_qinfo after unconfigure", hv::cpu_qinfo(0x3f), Ok((0, 0)));
}

fn vcpus(base: u64, size: u64) {
    let pc = base + 0x20;
    // SAFETY: every call is refused (no other vCPU exists or can run).
    unsafe {
        check_eq!("cpu_start unknown cpu 5", hv::cpu_start(5, pc, base, 0), Err(HvError::NoCpu));
        check_eq!("cpu_start self", hv::cpu_start(0, pc, base, 0), Err(HvError::Inval));
        check_eq!("cpu_start bad pc", hv::cpu_start(0, 0x1000, base, 0), Err(HvError::NoRAddr));
        check_eq!("cpu_start unaligned rtba", hv::cpu_start(0, pc, base + 0x80, 0), Err(HvError::BadAlign));
    }
    check_eq!("cpu_state self", hv::cpu_state(0), Ok(hv_api::cpu_state::RUNNING));
    check_eq!("cpu_state unknown cpu", hv::cpu_state(5), Err(HvError::NoCpu));
    check_eq!("cpu_stop self", hv::cpu_stop(0), Err(HvError::Inval));
    check_eq!("cpu_stop unknown cpu", hv::cpu_stop(5), Err(HvError::NoCpu));
    check_eq!("cpu_get_rtba is the real base", hv::cpu_get_rtba(), Ok(base));
    let rtba = aligned_256();
    // SAFETY: the RTBA is only used by mach_sir, and it is put back below.
    unsafe {
        check_eq!("cpu_set_rtba", hv::cpu_set_rtba(rtba), Ok(base));
        check_eq!("cpu_set_rtba unaligned", hv::cpu_set_rtba(rtba + 0x40), Err(HvError::BadAlign));
        check_eq!("cpu_set_rtba bad RA", hv::cpu_set_rtba(0x100), Err(HvError::NoRAddr));
        check_eq!("cpu_set_rtba past the end", hv::cpu_set_rtba(base + size - 0x80), Err(HvError::NoRAddr));
        check_eq!("cpu_get_rtba", hv::cpu_get_rtba(), Ok(rtba));
        check_eq!("cpu_set_rtba back to the real base", hv::cpu_set_rtba(base), Ok(rtba));
    }
}

fn watchdog() {
    // Core 1.1 was negotiated by versions().
    check_eq!("mach_set_watchdog was off", hv::mach_set_watchdog(60_000), Ok(0));
    let left = hv::mach_set_watchdog(0);
    check("mach_set_watchdog disable", matches!(left, Ok(1..=60_000)), format_args!("{left:?}"));
    check_eq!("mach_set_watchdog now off", hv::mach_set_watchdog(0), Ok(0));
    let (status, rets) = raw_fast(hcall::MACH_SET_WATCHDOG, [u64::MAX, 0, 0, 0, 0]);
    check_eq!("mach_set_watchdog above the maximum", (status, rets[0]), (HvError::Inval.code(), 0));
}

fn interrupts() {
    check_eq!("intr 1.0 negotiation", hv::api_set_version(group::INTR, 1, 0), Ok(0));
    check_eq!("intr 3.0 refused", hv::api_set_version(group::INTR, 3, 0), Err(HvError::NotSupported));
    check_eq!("intr still 1.0", hv::api_get_version(group::INTR), Ok((1, 0)));
    let (status, rets) = raw_fast(hcall::INTR_DEVINO2SYSINO, [0x100, 1, 0, 0, 0]);
    check_eq!("intr_devino2sysino console", (status, rets[0]), (0, 0x101));
    let sysino = rets[0];
    let (status, _) = raw_fast(hcall::INTR_DEVINO2SYSINO, [0x200, 1, 0, 0, 0]);
    check_eq!("intr_devino2sysino bad devhandle", status, HvError::Inval.code());
    let (status, _) = raw_fast(hcall::INTR_DEVINO2SYSINO, [0x100, 0x3f, 0, 0, 0]);
    check_eq!("intr_devino2sysino bad devino", status, HvError::Inval.code());
    let call = |f, a: u64, b: u64| {
        let (s, r) = raw_fast(f, [a, b, 0, 0, 0]);
        (s, r[0])
    };
    check_eq!("intr_getenabled", call(hcall::INTR_GETENABLED, sysino, 0), (0, 0));
    check_eq!("intr_setenabled", call(hcall::INTR_SETENABLED, sysino, 1).0, 0);
    check_eq!("intr_getenabled after set", call(hcall::INTR_GETENABLED, sysino, 0), (0, 1));
    check_eq!("intr_setenabled bad value", call(hcall::INTR_SETENABLED, sysino, 2).0, HvError::Inval.code());
    check_eq!("intr_setstate", call(hcall::INTR_SETSTATE, sysino, 1).0, 0);
    check_eq!("intr_getstate", call(hcall::INTR_GETSTATE, sysino, 0), (0, 1));
    check_eq!("intr_setstate bad value", call(hcall::INTR_SETSTATE, sysino, 3).0, HvError::Inval.code());
    check_eq!("intr_setstate idle", call(hcall::INTR_SETSTATE, sysino, 0).0, 0);
    check_eq!("intr_settarget", call(hcall::INTR_SETTARGET, sysino, 0).0, 0);
    check_eq!("intr_gettarget", call(hcall::INTR_GETTARGET, sysino, 0), (0, 0));
    check_eq!("intr_settarget bad cpu", call(hcall::INTR_SETTARGET, sysino, 5).0, HvError::NoCpu.code());
    check_eq!("intr_getenabled bad sysino", call(hcall::INTR_GETENABLED, 0x1ff, 0).0, HvError::NoIntr.code());
    check_eq!("intr_setstate bad sysino", call(hcall::INTR_SETSTATE, 7, 0).0, HvError::NoIntr.code());
    check_eq!("intr_gettarget bad sysino", call(hcall::INTR_GETTARGET, 0, 0).0, HvError::NoIntr.code());
    check_eq!("intr_setenabled off", call(hcall::INTR_SETENABLED, sysino, 0).0, 0);
}

fn simulated_disk() {
    // This configuration has no disk (nothing at diskpa): EINVAL; a bad RA is ENORADDR first.
    let (status, _) = raw_fast(hcall::DISK_READ, [0, TEXT.ra(), 64, 0, 0]);
    check_eq!("disk_read without a disk", status, HvError::Inval.code());
    let (status, _) = raw_fast(hcall::DISK_READ, [0, 0x10, 64, 0, 0]);
    check_eq!("disk_read bad RA", status, HvError::NoRAddr.code());
}

fn trap_trace(base: u64) {
    let t = TRACE.ra();
    let (status, rets) = raw_fast(hcall::TTRACE_BUF_INFO, [0; 5]);
    check_eq!("ttrace_buf_info none", (status, rets[0], rets[1]), (0, 0, 0));
    check_eq!("ttrace_addentry without a buffer", hv::ttrace_addentry(1, [0; 4]), Err(HvError::Inval));
    let (status, rets) = raw_fast(hcall::TTRACE_BUF_CONF, [t, 1, 0, 0, 0]);
    check_eq!("ttrace_buf_conf 1 entry", (status, rets[0]), (HvError::Inval.code(), 2));
    let (status, _) = raw_fast(hcall::TTRACE_BUF_CONF, [t + 8, 4, 0, 0, 0]);
    check_eq!("ttrace_buf_conf unaligned", status, HvError::BadAlign.code());
    let (status, _) = raw_fast(hcall::TTRACE_BUF_CONF, [0x40, 4, 0, 0, 0]);
    check_eq!("ttrace_buf_conf bad RA", status, HvError::NoRAddr.code());
    let (status, rets) = raw_fast(hcall::TTRACE_BUF_CONF, [t, 4, 0, 0, 0]);
    check_eq!("ttrace_buf_conf", (status, rets[0]), (0, 4));
    let (status, rets) = raw_fast(hcall::TTRACE_BUF_INFO, [0; 5]);
    check_eq!("ttrace_buf_info", (status, rets[0], rets[1]), (0, t, 4));
    let (status, rets) = raw_fast(hcall::TTRACE_ENABLE, [1, 0, 0, 0, 0]);
    check_eq!("ttrace_enable", (status, rets[0]), (0, 0));
    check_eq!("ttrace_addentry", hv::ttrace_addentry(0xbeef, [1, 2, 3, 0x1234]), Ok(()));
    let rec = &TRACE.bytes()[64..128];
    check(
        "ttrace_addentry record",
        rec[0] == 0xff && rec[6..8] == [0xbe, 0xef] && rec[56..64] == 0x1234u64.to_be_bytes(),
        format_args!("{:?}", &rec[..8]),
    );
    let (status, rets) = raw_fast(hcall::TTRACE_FREEZE, [1, 0, 0, 0, 0]);
    check_eq!("ttrace_freeze", (status, rets[0]), (0, 0));
    let (status, rets) = raw_fast(hcall::TTRACE_FREEZE, [0, 0, 0, 0, 0]);
    check_eq!("ttrace_unfreeze", (status, rets[0]), (0, 1));
    let (status, _) = raw_fast(hcall::TTRACE_BUF_CONF, [0, 0, 0, 0, 0]);
    check_eq!("ttrace_buf_conf off", status, 0);

    // The dump buffer is only remembered; MD_BUF (8 KiB) is free after the MD tests.
    let d = MD_BUF.ra();
    let (status, rets) = raw_fast(hcall::DUMP_BUF_UPDATE, [d, 0x1000, 0, 0, 0]);
    check_eq!("dump_buf_update too small", (status, rets[0]), (HvError::Inval.code(), 0x2000));
    let (status, _) = raw_fast(hcall::DUMP_BUF_UPDATE, [d + 8, 0x2000, 0, 0, 0]);
    check_eq!("dump_buf_update unaligned", status, HvError::BadAlign.code());
    let (status, _) = raw_fast(hcall::DUMP_BUF_UPDATE, [base - 0x2000, 0x2000, 0, 0, 0]);
    check_eq!("dump_buf_update bad RA", status, HvError::NoRAddr.code());
    let (status, rets) = raw_fast(hcall::DUMP_BUF_UPDATE, [d, 0x2000, 0, 0, 0]);
    check_eq!("dump_buf_update", (status, rets[0]), (0, 0x2000));
    let (status, rets) = raw_fast(hcall::DUMP_BUF_INFO, [0; 5]);
    check_eq!("dump_buf_info", (status, rets[0], rets[1]), (0, d, 0x2000));
    let (status, _) = raw_fast(hcall::DUMP_BUF_UPDATE, [0, 0, 0, 0, 0]);
    check_eq!("dump_buf_update remove", status, 0);
}

fn soft_state_calls(base: u64, size: u64) {
    let text = b"test-guest running\0";
    TEXT.bytes_mut()[..32].fill(0);
    TEXT.bytes_mut()[..text.len()].copy_from_slice(text);
    check_eq!("soft_state_set", hv::soft_state_set(soft_state::NORMAL, TEXT.ra()), Ok(()));
    TEXT.bytes_mut()[..32].fill(0xff);
    // SAFETY: TEXT is ours.
    check_eq!("soft_state_get", unsafe { hv::soft_state_get(TEXT.ra()) }, Ok(soft_state::NORMAL));
    check("soft_state_get text", &TEXT.bytes()[..text.len()] == text, format_args!("{:?}", &TEXT.bytes()[..20]));
    check_eq!("soft_state_set bad state", hv::soft_state_set(5, TEXT.ra()), Err(HvError::Inval));
    check_eq!(
        "soft_state_set unaligned",
        hv::soft_state_set(soft_state::NORMAL, TEXT.ra() + 8),
        Err(HvError::BadAlign)
    );
    check_eq!("soft_state_set bad RA", hv::soft_state_set(soft_state::NORMAL, 0x20), Err(HvError::NoRAddr));
    check_eq!(
        "soft_state_set past the end",
        hv::soft_state_set(soft_state::NORMAL, base + size - 32 + 32),
        Err(HvError::NoRAddr)
    );
    TEXT.bytes_mut()[..32].fill(b'x');
    check_eq!("soft_state_set unterminated", hv::soft_state_set(soft_state::NORMAL, TEXT.ra()), Err(HvError::Inval));
    // SAFETY: a misaligned address must be refused before anything is written.
    check_eq!("soft_state_get unaligned", unsafe { hv::soft_state_get(TEXT.ra() + 4) }, Err(HvError::BadAlign));
}

/// A hypercall changes only %o0 and its return registers: globals, locals, ins and the
/// other outs keep their values.
fn registers_survive_hypercalls() {
    let (g1, g2, g3, g4, l0, l3, o2, o3, o4, status, id): (u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64);
    // SAFETY: cpu_myid takes no arguments; every register used is declared.
    unsafe {
        core::arch::asm!(
            "set 0x1111, %g2",
            "set 0x2222, %g3",
            "set 0x3333, %g4",
            "set 0x4444, %g5",
            "set 0x5555, %l0",
            "set 0x6666, %l3",
            "set 0x7777, %o2",
            "set 0x8888, %o3",
            "set 0x9999, %o4",
            "mov 0x16, %o5",
            "ta 0x80",
            out("g2") g1, out("g3") g2, out("g4") g3, out("g5") g4,
            out("l0") l0, out("l3") l3,
            out("o0") status, out("o1") id, out("o2") o2, out("o3") o3, out("o4") o4, out("o5") _,
            options(nostack)
        );
    }
    check_eq!("cpu_myid status in raw call", (status, id), (0, 0));
    check_eq!(
        "registers survive a hypercall",
        (g1, g2, g3, g4, l0, l3, o2, o3, o4),
        (0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888, 0x9999)
    );
}

#[inline(never)]
fn deep(n: u64, acc: u64, call: bool) -> u64 {
    let local = core::hint::black_box(acc.wrapping_mul(31).wrapping_add(n));
    let r = if n == 0 {
        if call {
            hv::cpu_myid().unwrap_or(99) + 0x100
        } else {
            0x100
        }
    } else {
        deep(n - 1, local, call)
    };
    core::hint::black_box(r.wrapping_add(local ^ n))
}

/// A hypercall made with every register window in use: the hypervisor must stash the
/// guest's windows and give them back intact.
fn windows_survive_hypercalls() {
    for depth in [1, 5, 6, 7, 12] {
        let expected = deep(depth, 7, false);
        let got = deep(depth, 7, true);
        check(
            "register windows survive a deep hypercall",
            got == expected,
            format_args!("depth {depth}: got {got:#x}, expected {expected:#x}"),
        );
    }
}

/// A load from an address nothing answers at, with the MMU off: the hypervisor turns the
/// real-translation miss into the guest's data_access_error trap.
fn revectored_trap() {
    LAST_TT.store(0, Ordering::SeqCst);
    // SAFETY: the load traps; the guest's handler skips it.
    let _v: u64 = unsafe { core::ptr::read_volatile(0x1f_3000_0000 as *const u64) };
    check_eq!(
        "access to nothing is revectored as data_access_error",
        LAST_TT.load(Ordering::SeqCst),
        hv_api::trap::tt::DATA_ACCESS_ERROR
    );
}
