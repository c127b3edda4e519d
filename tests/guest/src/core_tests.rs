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

fn raw_fast(function: u64, args: [u64; 5]) -> (u64, [u64; 4]) {
    // SAFETY: used only with functions whose arguments point nowhere or at our buffers.
    unsafe { hv::fast_trap(function, args) }
}

#[no_mangle]
extern "C" fn guest_main(base: u64, size: u64) -> ! {
    say!("start (memory {:#x} bytes at {:#x})", size, base);
    #[cfg(guest_bench)]
    crate::bench::run(base, size);
    versions();
    errors_for_unknown_calls();
    machine_description(base);
    console(base, size);
    time_of_day();
    cpu();
    soft_state_calls(base, size);
    registers_survive_hypercalls();
    windows_survive_hypercalls();
    revectored_trap();
    crate::mmu_tests::run(base, size);
    let failed = failures();
    if failed == 0 {
        say!("all tests passed");
    } else {
        say!("{failed} tests FAILED");
        hv::mach_exit(1);
    }
    say!("calling mach_sir");
    hv::mach_sir()
}

#[no_mangle]
extern "C" fn guest_after_sir(_base: u64, _size: u64) -> ! {
    say!("restarted by mach_sir");
    check_eq!("sir resets core version to 1.0", hv::api_get_version(group::CORE), Ok((1, 0)));
    check_eq!(
        "sir resets negotiated groups",
        unsafe { hv::soft_state_get(TEXT.ra()) },
        Err(HvError::BadTrap)
    );
    check_eq!("set soft state 1.0 again", hv::api_set_version(group::SOFT_STATE, 1, 0), Ok(0));
    check_eq!("sir resets soft state", unsafe { hv::soft_state_get(TEXT.ra()) }, Ok(soft_state::TRANSITION));
    let failed = failures();
    say!("exiting with code {failed}");
    hv::mach_exit(failed)
}

fn versions() {
    check_eq!("core 1.0 at start", hv::api_get_version(group::CORE), Ok((1, 0)));
    // cons_write is Core 1.1: not callable before 1.1 is negotiated.
    check_eq!("core 1.1 call before negotiation", hv::cons_write(TEXT.ra(), 1), Err(HvError::BadTrap));
    // Soft state is its own group: not callable before it is negotiated.
    check_eq!(
        "soft state before negotiation",
        unsafe { hv::soft_state_get(TEXT.ra()) },
        Err(HvError::BadTrap)
    );
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
    // A known function that is not implemented yet answers ENOTSUPPORTED.
    let (status, _) = raw_fast(hcall::CPU_QINFO, [0x3c, 0, 0, 0, 0]);
    check_eq!("known but unimplemented function", status, HvError::NotSupported.code());
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
    check_eq!("soft_state_set unaligned", hv::soft_state_set(soft_state::NORMAL, TEXT.ra() + 8), Err(HvError::BadAlign));
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
