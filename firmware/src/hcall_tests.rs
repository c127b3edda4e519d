//! Hypercall tests on the fake machine: every call with good and bad arguments, through
//! the same `Hypervisor::handle_trap` path the sparc64 trap handler uses.

use crate::arch::fake::FakeHardware;
use crate::hypervisor::{Hypervisor, Next};
use crate::test_bench::{Bench, GuestMd, HvMd, BASE, EBADALIGN, EBADTRAP, EINVAL, ENORADDR, NVBASE, PDPA, SIZE};
use crate::trap::{Action, TrapFrame, RESUME_REVECTOR};
use hv_api::error::HvError;
use hv_api::{core_fn, group, hcall, soft_state};

const BUF: u64 = BASE + 0x10_0000;

const EWOULDBLOCK: u64 = HvError::WouldBlock.code();

#[test]
fn mach_desc_checks_size_alignment_and_range() {
    let mut b = Bench::new();
    let size = GuestMd::default().build().len() as u64;
    let rounded = (size + 15) & !15;
    assert_eq!(b.fast(hcall::MACH_DESC, &[0, 0]), (EINVAL, rounded, 0));
    assert_eq!(b.fast(hcall::MACH_DESC, &[BUF, rounded - 1]).0, EINVAL);
    assert_eq!(b.fast(hcall::MACH_DESC, &[BUF + 8, rounded]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::MACH_DESC, &[0x1000, rounded]).0, ENORADDR);
    assert_eq!(b.fast(hcall::MACH_DESC, &[BASE + SIZE - 16, rounded]).0, ENORADDR);
    assert_eq!(b.fast(hcall::MACH_DESC, &[BUF, 8192]), (0, rounded, 0));
    assert_eq!(b.hw.peek(BUF, size as usize), GuestMd::default().build());
}

#[test]
fn unknown_and_unnegotiated_calls_are_ebadtrap() {
    let mut b = Bench::new();
    assert_eq!(b.fast(0xfe, &[]).0, EBADTRAP);
    assert_eq!(b.fast(hcall::CONS_WRITE, &[BUF, 1]).0, EBADTRAP, "core 1.1 not negotiated");
    assert_eq!(b.fast(hcall::LDC_TX_QCONF, &[0, BUF, 2]).0, EBADTRAP, "group not negotiated (not offered)");
    assert_eq!(b.core(core_fn::API_SET_VERSION, &[group::CORE, 0, 0]).0, 0);
    assert_eq!(b.fast(hcall::MACH_DESC, &[BUF, 8192]).0, EBADTRAP, "group disabled");
    assert_eq!(b.core(9, &[]).0, EBADTRAP);
    let (_, f) = b.trap(0x186, [0; 6]);
    assert_eq!(f.o[0], EBADTRAP);
    assert_eq!(b.fast(hcall::CPU_POKE, &[1]).0, EBADTRAP, "core 1.6 not offered");
}

#[test]
fn version_negotiation_through_the_core_trap() {
    let mut b = Bench::new();
    assert_eq!(b.core(core_fn::API_GET_VERSION, &[group::CORE]), (0, 1, 0));
    assert_eq!(b.core(core_fn::API_SET_VERSION, &[group::CORE, 1, 9]), (0, 1, 9), "%o2 is not a result");
    assert_eq!(b.core(core_fn::API_SET_VERSION, &[group::CORE, 3, 0]), (HvError::NotSupported.code(), 1, 1));
    assert_eq!(b.core(core_fn::API_SET_VERSION, &[0x555, 1, 0]).0, EINVAL);
    assert_eq!(b.fast(hcall::CONS_WRITE, &[BUF, 0]).0, 0, "core 1.1 callable now");
}

#[test]
fn console_calls() {
    let mut b = Bench::new();
    b.core(core_fn::API_SET_VERSION, &[group::CORE, 1, 1]);
    assert_eq!(b.fast(hcall::CONS_PUTCHAR, &[b'h' as u64]).0, 0);
    assert_eq!(b.core(core_fn::API_PUTCHAR, &[b'i' as u64]).0, 0);
    assert_eq!(b.fast(hcall::CONS_PUTCHAR, &[0x100]).0, EINVAL);
    b.hw.load(BUF, b"lo\n");
    assert_eq!(b.fast(hcall::CONS_WRITE, &[BUF, 3]), (0, 3, 0));
    assert_eq!(b.hw.console(), "hilo\n");
    assert_eq!(b.fast(hcall::CONS_WRITE, &[BASE + SIZE - 1, 2]).0, ENORADDR);
    assert_eq!(b.fast(hcall::CONS_GETCHAR, &[]).0, EWOULDBLOCK);
    b.hw.uart_in.extend([Some(b'a'), None, Some(b'b'), Some(b'c')]);
    assert_eq!(b.fast(hcall::CONS_GETCHAR, &[]), (0, b'a' as u64, 0));
    assert_eq!(b.fast(hcall::CONS_READ, &[BUF, 8]), (0, hv_api::cons::CONS_BREAK, 0));
    assert_eq!(b.fast(hcall::CONS_READ, &[BUF, 8]), (0, 2, 0));
    assert_eq!(b.hw.peek(BUF, 2), b"bc");
    assert_eq!(b.fast(hcall::CONS_READ, &[BUF, 8]).0, EWOULDBLOCK);
    // A BREAK after bytes ends the read and is the next read's answer (not lost).
    b.hw.uart_in.extend([Some(b'd'), None, Some(b'e')]);
    assert_eq!(b.fast(hcall::CONS_READ, &[BUF, 8]), (0, 1, 0));
    assert_eq!(b.fast(hcall::CONS_READ, &[BUF, 8]), (0, hv_api::cons::CONS_BREAK, 0));
    assert_eq!(b.fast(hcall::CONS_GETCHAR, &[]), (0, b'e' as u64, 0));
    assert_eq!(b.fast(hcall::CONS_READ, &[0, 8]).0, ENORADDR);
    b.hw.uart_busy = true;
    assert_eq!(b.fast(hcall::CONS_PUTCHAR, &[b'x' as u64]).0, EWOULDBLOCK);
    assert_eq!(b.fast(hcall::CONS_WRITE, &[BUF, 1]).0, EWOULDBLOCK);
}

#[test]
fn tod_is_per_domain_offset() {
    let mut b = Bench::new();
    assert_eq!(b.fast(hcall::TOD_GET, &[]), (0, 1_700_000_000, 0));
    assert_eq!(b.fast(hcall::TOD_SET, &[1000]).0, 0);
    b.hw.rtc += 5;
    assert_eq!(b.fast(hcall::TOD_GET, &[]), (0, 1005, 0));
}

#[test]
fn cpu_calls() {
    let mut b = Bench::new();
    assert_eq!(b.fast(hcall::CPU_MYID, &[]), (0, 0, 0));
    assert_eq!(b.fast(hcall::CPU_YIELD, &[]).0, 0);
}

#[test]
fn soft_state_checks_every_argument() {
    let mut b = Bench::new();
    assert_eq!(b.core(core_fn::API_SET_VERSION, &[group::SOFT_STATE, 1, 0]).0, 0);
    assert_eq!(b.fast(hcall::SOFT_STATE_GET, &[BUF]), (0, soft_state::TRANSITION, 0));
    b.hw.load(BUF, b"Solaris running\0");
    assert_eq!(b.fast(hcall::SOFT_STATE_SET, &[soft_state::NORMAL, BUF]).0, 0);
    assert_eq!(b.fast(hcall::SOFT_STATE_GET, &[BUF + 64]), (0, soft_state::NORMAL, 0));
    assert_eq!(&b.hw.peek(BUF + 64, 16), b"Solaris running\0");
    assert_eq!(b.fast(hcall::SOFT_STATE_SET, &[3, BUF]).0, EINVAL);
    assert_eq!(b.fast(hcall::SOFT_STATE_SET, &[soft_state::NORMAL, BUF + 16]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::SOFT_STATE_SET, &[soft_state::NORMAL, 0x40]).0, ENORADDR);
    b.hw.load(BUF, &[b'x'; 32]);
    assert_eq!(b.fast(hcall::SOFT_STATE_SET, &[soft_state::NORMAL, BUF]).0, EINVAL);
    b.hw.load(BUF, b"caf\xc3\xa9\0");
    assert_eq!(b.fast(hcall::SOFT_STATE_SET, &[soft_state::NORMAL, BUF]).0, EINVAL, "8-bit text");
    assert_eq!(b.fast(hcall::SOFT_STATE_GET, &[BUF + 1]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::SOFT_STATE_GET, &[BASE + SIZE]).0, ENORADDR);
}

#[test]
fn exit_stops_the_domain_and_sir_restarts_it() {
    let mut b = Bench::new();
    let (action, _) = b.trap(0x180, [0, 0, 0, 0, 0, hcall::MACH_SIR]);
    assert_eq!(action, Action::Idle);
    assert_eq!(b.launched().expect("restarted").pc, BASE + 0x80);
    let (action, _) = b.trap(0x1ff, [7, 0, 0, 0, 0, core_fn::API_EXIT]);
    assert_eq!(action, Action::Idle);
    assert_eq!(b.hv.domains[0].state.lock().status, crate::domain::DomainStatus::Stopped);
}

#[test]
fn guest_faults_are_revectored_or_stop_the_domain() {
    let mut b = Bench::new();
    let (action, f) = b.trap(0x3f, [0; 6]);
    assert_eq!(action, Action::Resume);
    assert_eq!(f.resume, RESUME_REVECTOR);
    assert_eq!((f.target_pc, f.target_tt), (BASE + 0x32 * 32, 0x32));
    // A data access exception from the hardware (a user access to a privileged page) with
    // a fault area: type, address and context reported, and at guest TL 1 the vector is in
    // the TL>0 half.
    let area = BASE + 0x2000;
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[area]).0, 0);
    let mut frame = b.frame(0x30, 2);
    frame.d_sfsr = (1 << 7) | 1; // FT privilege violation, valid
    frame.d_sfar = 0x1234_e000;
    frame.d_tag_access = 0x1234_e000 | 5;
    assert_eq!(b.handle(&mut frame), Action::Resume);
    assert_eq!(frame.target_pc, BASE + 0x4000 + 0x30 * 32);
    let word = |b: &Bench, o: u64| u64::from_be_bytes(b.hw.peek(area + o, 8).try_into().unwrap());
    assert_eq!((word(&b, 0x40), word(&b, 0x48), word(&b, 0x50)), (5, 0x1234_e000, 5), "DFT PRIV_VIOL, DFA, DFC");
    // An instruction access exception reports the PC.
    let mut frame = b.frame(0x08, 1);
    frame.tpc = 0x4000_2004;
    frame.i_sfsr = 1 << 7;
    assert_eq!(b.handle(&mut frame), Action::Resume);
    assert_eq!((word(&b, 0x00), word(&b, 0x08)), (5, 0x4000_2004), "IFT, IFA");
    // A real-translation miss at guest TL 2 cannot be delivered (the guest's handler would
    // run at TL 3): the guest's failure, policy stop.
    let mut frame = b.frame(0x3f, 3);
    assert_eq!(b.handle(&mut frame), Action::Idle);
    // A trap above MAXPTL is the guest's failure: policy stop.
    let mut frame = b.frame(0x10, 3);
    assert_eq!(b.handle(&mut frame), Action::Idle);
    // An access exception with no fault area too.
    let mut b = Bench::new();
    let mut frame = b.frame(0x30, 1);
    assert_eq!(b.handle(&mut frame), Action::Idle);
}

#[test]
fn boot_refuses_memory_beyond_ram() {
    let mut hw = FakeHardware::new();
    hw.load(PDPA, &GuestMd::default().build());
    let err = Hypervisor::boot(&mut hw, &HvMd::default().build(), (BASE, SIZE / 2)).unwrap_err();
    assert!(err.to_string().contains("give QEMU more memory"), "{err}");
}

#[test]
fn boot_refuses_a_bad_guest_md() {
    let mut hw = FakeHardware::new();
    hw.load(PDPA, &[0xff; 64]);
    let err = Hypervisor::boot(&mut hw, &HvMd::default().build(), (BASE, SIZE)).unwrap_err();
    assert!(err.to_string().ends_with("more than 8192"), "{err}");
    let mut md = GuestMd::default().build();
    md[3] = 7;
    hw.load(PDPA, &md);
    let err = Hypervisor::boot(&mut hw, &HvMd::default().build(), (BASE, SIZE)).unwrap_err();
    assert!(err.to_string().starts_with("invalid guest MD of domain primary"), "{err}");
}

#[test]
fn legacy_nvram_calls_until_soft_state_is_negotiated() {
    let mut b = Bench::new();
    let nvram = NVBASE;
    b.hw.load(nvram + 0x10, b"nvram-data");
    // 0x70: read (offset, RA, length) -> length.
    assert_eq!(b.fast(0x70, &[0x10, BUF, 10]), (0, 10, 10));
    assert_eq!(b.hw.peek(BUF, 10), b"nvram-data");
    // 0x71: write.
    b.hw.load(BUF, b"written");
    assert_eq!(b.fast(0x71, &[0x100, BUF, 7]), (0, 7, 7));
    assert_eq!(b.hw.peek(nvram + 0x100, 7), b"written");
    assert_eq!(b.fast(0x70, &[0x1ff8, BUF, 16]).0, EINVAL, "past the NVRAM");
    assert_eq!(b.fast(0x70, &[u64::MAX, BUF, 16]).0, EINVAL, "offset overflow");
    assert_eq!(b.fast(0x70, &[0, 0x1000, 16]).0, ENORADDR);
    // Once soft state is negotiated the numbers are soft_state_set/get.
    assert_eq!(b.core(core_fn::API_SET_VERSION, &[group::SOFT_STATE, 1, 0]).0, 0);
    assert_eq!(b.fast(0x71, &[BUF]), (0, soft_state::TRANSITION, 0));
}

#[test]
fn broken_window_registers_are_a_guest_failure() {
    let mut b = Bench::new();
    let mut frame = b.frame(0x180, 1);
    frame.o[5] = hcall::CPU_MYID;
    frame.bad_windows = 1;
    assert_eq!(b.handle(&mut frame), Action::Idle, "failure policy stop");
    assert_eq!(b.hv.domains[0].state.lock().status, crate::domain::DomainStatus::Stopped);
}

/// Two domains, `primary` (vCPU 0 on strand 0, the first half of the RAM) and `guest1`
/// (vCPU 1 on strand 1, the second half), both started.
fn two_domains() -> (Hypervisor, FakeHardware) {
    two_domains_with_disks([None, None], FakeHardware::new())
}

/// [`two_domains`] with each domain's `diskpa` (none: no disk), on `hw` (which may hold
/// the disks' contents: the labels are read at boot).
fn two_domains_with_disks(disks: [Option<u64>; 2], mut hw: FakeHardware) -> (Hypervisor, FakeHardware) {
    use crate::test_bench::{hv_md_skeleton, ROMBASE};
    use crate::test_md::Value;
    let (mut b, cpus, guest0) = hv_md_skeleton();
    let guests = 2; // root 0, cpus 1, guests 2, guest 3
    let guest1 = b.node("guest");
    b.prop(guests, "guest", Value::Arc(guest1));
    b.prop(0, "hvuart", Value::Val(0xfff0c2c000));
    let half = SIZE / 2;
    for (gid, guest, name) in [(0u64, guest0, "primary"), (1, guest1, "guest1")] {
        let cpu = b.node("cpu");
        b.prop(cpus, "cpu", Value::Arc(cpu));
        b.prop(cpu, "pid", Value::Val(gid));
        b.prop(cpu, "vid", Value::Val(0));
        b.prop(cpu, "guest", Value::Arc(guest));
        let base = BASE + gid * half;
        for (k, v) in [
            ("gid", gid),
            ("cpuset", 1),
            ("membase", base),
            ("memsize", half),
            ("realbase", base),
            ("rombase", ROMBASE),
            ("romsize", 0x1_0000),
            ("pdpa", PDPA),
            ("bootcpu", 0),
        ] {
            b.prop(guest, k, Value::Val(v));
        }
        b.prop(guest, "name", Value::Str(name.into()));
        if let Some(disk) = disks[gid as usize] {
            b.prop(guest, "diskpa", Value::Val(disk));
        }
    }
    hw.load(PDPA, &GuestMd::default().build());
    let hv = Hypervisor::boot(&mut hw, &b.build(), (BASE, SIZE)).unwrap();
    hv.start_domains(&mut hw);
    for strand in 0..2 {
        assert!(matches!(hv.next_on_strand(&mut hw, strand), Next::Launch(v, _) if v == strand as usize));
    }
    (hv, hw)
}

/// A fast trap `function` with `args` on vCPU `vcpu`: (status, %o1).
fn call_on(hv: &Hypervisor, hw: &mut FakeHardware, vcpu: usize, function: u64, args: &[u64]) -> (u64, u64) {
    let mut f = TrapFrame { tt: 0x180, tl: 1, ..Default::default() };
    f.o[..args.len()].copy_from_slice(args);
    f.o[5] = function;
    assert_eq!(hv.handle_trap(hw, vcpu, &mut f), Action::Resume);
    (f.o[0], f.o[1])
}

#[test]
fn two_domains_share_the_console_through_the_concentrator() {
    let (hv, mut hw) = two_domains();
    assert_eq!(hw.console(), "", "nothing printed at boot on the fake machine");
    // Interleaved putchars of the two domains: each domain's line comes out whole, labelled.
    for (a, b) in "hi there\n".bytes().zip("guest says\n".bytes()) {
        assert_eq!(call_on(&hv, &mut hw, 0, hcall::CONS_PUTCHAR, &[a as u64]).0, 0);
        assert_eq!(call_on(&hv, &mut hw, 1, hcall::CONS_PUTCHAR, &[b as u64]).0, 0);
    }
    for b in "s\n".bytes() {
        assert_eq!(call_on(&hv, &mut hw, 1, hcall::CONS_PUTCHAR, &[b as u64]).0, 0);
    }
    assert_eq!(hw.console(), "primary: hi there\nguest1: guest says\n");
    // Input goes to primary (the focus) until Ctrl-E 1, then to guest1; whoever reads the
    // UART, each domain gets its own bytes.
    hw.uart_in.extend([Some(b'a'), Some(0x05), Some(b'1'), Some(b'b')]);
    assert_eq!(call_on(&hv, &mut hw, 1, hcall::CONS_GETCHAR, &[]), (0, b'b' as u64));
    assert_eq!(call_on(&hv, &mut hw, 1, hcall::CONS_GETCHAR, &[]).0, EWOULDBLOCK);
    assert_eq!(call_on(&hv, &mut hw, 0, hcall::CONS_GETCHAR, &[]), (0, b'a' as u64));
    assert_eq!(call_on(&hv, &mut hw, 0, hcall::CONS_GETCHAR, &[]).0, EWOULDBLOCK);
    assert!(hw.console().ends_with("hv: console input to domain guest1\r\n"), "{}", hw.console());
    // A line without its newline is written out when the domain exits.
    for b in "bye".bytes() {
        assert_eq!(call_on(&hv, &mut hw, 1, hcall::CONS_PUTCHAR, &[b as u64]).0, 0);
    }
    assert!(!hw.console().ends_with("bye"));
    let mut f = TrapFrame { tt: 0x180, tl: 1, ..Default::default() };
    f.o[5] = hcall::MACH_EXIT;
    hv.handle_trap(&mut hw, 1, &mut f);
    assert!(hw.console().ends_with("\r\nguest1: bye"), "{}", hw.console());
}

/// The niagara vdisk.
const DISK: u64 = 0x1f_4000_0000;

/// A disk of `blocks` 512-byte blocks holding `text` at 0x800.
fn disk_with(hw: &mut FakeHardware, disk: u64, blocks: u32, text: &[u8]) {
    let mut label = vec![0u8; 512];
    label[0x1d0..0x1d4].copy_from_slice(&blocks.to_be_bytes());
    hw.load(disk, &label);
    hw.load(disk + 0x800, text);
}

#[test]
fn a_disk_two_domains_share_is_read_only() {
    let mut hw = FakeHardware::new();
    disk_with(&mut hw, DISK, 8, b"boot image");
    let (hv, mut hw) = two_domains_with_disks([Some(DISK), Some(DISK)], hw);
    let bufs = [BUF, BASE + SIZE / 2 + 0x10_0000]; // in primary's and guest1's memory
    for (vcpu, buf) in bufs.into_iter().enumerate() {
        assert_eq!(call_on(&hv, &mut hw, vcpu, hcall::DISK_READ, &[0x800, buf, 10]), (0, 10), "vCPU {vcpu}");
        assert_eq!(hw.peek(buf, 10), b"boot image");
    }
    // Neither domain may change what the other reads; the checks of a read come first.
    hw.load(bufs[1], b"tampered!!");
    let enoaccess = HvError::NoAccess.code();
    assert_eq!(call_on(&hv, &mut hw, 1, hcall::DISK_WRITE, &[0x800, bufs[1], 10]).0, enoaccess);
    assert_eq!(call_on(&hv, &mut hw, 0, hcall::DISK_WRITE, &[0, bufs[0], 512]).0, enoaccess);
    assert_eq!(call_on(&hv, &mut hw, 1, hcall::DISK_WRITE, &[0x800, bufs[0], 10]).0, ENORADDR, "primary's memory");
    assert_eq!(call_on(&hv, &mut hw, 1, hcall::DISK_WRITE, &[0xfff, bufs[1], 2]).0, EINVAL, "past the end");
    assert_eq!(hw.peek(DISK + 0x800, 10), b"boot image");
    assert_eq!(call_on(&hv, &mut hw, 0, hcall::DISK_READ, &[0x800, bufs[0], 10]), (0, 10));
    assert_eq!(hw.peek(bufs[0], 10), b"boot image");
}

#[test]
fn domains_write_disks_of_their_own() {
    let disks = [DISK, DISK + 0x10_0000];
    let mut hw = FakeHardware::new();
    disk_with(&mut hw, disks[0], 8, b"disk zero.");
    disk_with(&mut hw, disks[1], 8, b"disk one..");
    let (hv, mut hw) = two_domains_with_disks(disks.map(Some), hw);
    let bufs = [BUF, BASE + SIZE / 2 + 0x10_0000];
    for (vcpu, buf) in bufs.into_iter().enumerate() {
        hw.load(buf, b"written...");
        assert_eq!(call_on(&hv, &mut hw, vcpu, hcall::DISK_WRITE, &[0x800, buf, 10]), (0, 10), "vCPU {vcpu}");
        assert_eq!(hw.peek(disks[vcpu] + 0x800, 10), b"written...");
    }
}
