//! Tests of the vCPU, watchdog, interrupt, simulated-disk and trap-trace calls on the fake
//! machine, through `Hypervisor::handle_trap`, plus the check that every function of every
//! offered group version has a handler.
//!
//! The domain has two vCPUs (vid 0 on strand 0, the caller; vid 1 on strand 1, stopped),
//! a guest MD with a virtual-devices node like ldom-config's (console `intr` 1) and a
//! `watchdog-max-timeout`, and a disk at `DISK`.

use crate::hypervisor::Next;
use crate::test_bench::{Bench, GuestMd, HvMd, BASE, EBADALIGN, EBADTRAP, EINVAL, ENORADDR, ENOTSUPPORTED, SIZE};
use crate::trap::Action;
use hv_api::error::HvError;
use hv_api::{cpu_state, group, hcall};

const DISK: u64 = 0x1f_4000_0000;
const BUF: u64 = BASE + 0x10_0000;
const WATCHDOG_MAX: u64 = 100_000;
/// The stick ticks per ms (100 MHz).
const MS: u64 = 100_000;

const ENOCPU: u64 = HvError::NoCpu.code();
const ENOINTR: u64 = HvError::NoIntr.code();

/// The two-vCPU bench.
fn bench_with(diskpa: Option<u64>, watchdog_max: Option<u64>, policy: &'static str) -> Bench {
    let hv_md = HvMd { vcpus: 2, diskpa, nvram: None, failure_policy: Some(policy), ..HvMd::default() };
    Bench::with(&hv_md, &GuestMd { watchdog_max, virtual_devices: true })
}

fn bench() -> Bench {
    bench_with(Some(DISK), Some(WATCHDOG_MAX), "stop")
}

#[test]
fn cpu_qconf_checks_every_argument() {
    let mut b = bench();
    // cpu mondo: Linux's 8192 bytes = 128 entries; non-resumable: 256 bytes = 4 entries.
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3c, BUF, 128]).0, 0);
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3f, BUF + 0x2000, 4]).0, 0);
    assert_eq!(b.fast(hcall::CPU_QINFO, &[0x3c]), (0, BUF, 128));
    assert_eq!(b.fast(hcall::CPU_QINFO, &[0x3f]), (0, BUF + 0x2000, 4));
    assert_eq!(b.fast(hcall::CPU_QINFO, &[0x3d]), (0, 0, 0));
    for n in [1, 3, 6, 512] {
        assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3d, BUF, n]).0, EINVAL, "{n} entries");
    }
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3d, BUF + 0x40, 2]).0, EBADALIGN, "128-byte queue");
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3d, BUF + 0x1000, 256]).0, EBADALIGN, "16 KiB queue");
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3d, 0x4000, 2]).0, ENORADDR);
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3d, BASE + SIZE, 2]).0, ENORADDR);
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3d, BASE - 0x80, 2]).0, ENORADDR);
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3b, BUF, 2]).0, EINVAL);
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x40, BUF, 0]).0, EINVAL);
    assert_eq!(b.fast(hcall::CPU_QINFO, &[0x40]).0, EINVAL);
    assert_eq!(b.fast(hcall::CPU_QINFO, &[0x3b]).0, EINVAL);
    // A failed call leaves the queue as it was; 0 entries unconfigures it.
    assert_eq!(b.fast(hcall::CPU_QINFO, &[0x3c]), (0, BUF, 128));
    assert_eq!(b.fast(hcall::CPU_QCONF, &[0x3c, 0, 0]).0, 0);
    assert_eq!(b.fast(hcall::CPU_QINFO, &[0x3c]), (0, 0, 0));
    // A restart unconfigures every queue.
    b.trap(0x180, [0, 0, 0, 0, 0, hcall::MACH_SIR]);
    assert!(b.launched().is_some());
    assert_eq!(b.fast(hcall::CPU_QINFO, &[0x3f]), (0, 0, 0));
}

#[test]
fn cpu_start_stop_and_state() {
    let mut b = bench();
    let pc = BASE + 0x4000;
    let rtba = BASE + 0x8000;
    // OpenBoot probes ids 1…31: only ids of the domain exist.
    for id in 2..32 {
        assert_eq!(b.fast(hcall::CPU_START, &[id, pc, rtba, 0]).0, ENOCPU, "id {id}");
    }
    assert_eq!(b.fast(hcall::CPU_START, &[u64::MAX, pc, rtba, 0]).0, ENOCPU);
    assert_eq!(b.fast(hcall::CPU_START, &[1, 0x1000, rtba, 0]).0, ENORADDR, "pc");
    assert_eq!(b.fast(hcall::CPU_START, &[1, BASE + SIZE - 2, rtba, 0]).0, ENORADDR, "pc at the end");
    assert_eq!(b.fast(hcall::CPU_START, &[1, pc, BASE + SIZE - 0x80, 0]).0, ENORADDR, "rtba at the end");
    assert_eq!(b.fast(hcall::CPU_START, &[1, pc + 2, rtba, 0]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::CPU_START, &[1, pc, rtba + 0x80, 0]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::CPU_START, &[0, pc, rtba, 0]).0, EINVAL, "the caller is running");
    assert_eq!(b.fast(hcall::CPU_STATE, &[0]), (0, cpu_state::RUNNING, 0));
    assert_eq!(b.fast(hcall::CPU_STATE, &[1]), (0, cpu_state::STOPPED, 0));
    assert_eq!(b.fast(hcall::CPU_STATE, &[2]).0, ENOCPU);

    // cpu_stop is Core 1.1.
    assert_eq!(b.fast(hcall::CPU_STOP, &[1]).0, EBADTRAP);
    assert_eq!(b.set_version(group::CORE, 1, 1), 0);
    assert_eq!(b.fast(hcall::CPU_STOP, &[0]).0, EINVAL, "self");
    assert_eq!(b.fast(hcall::CPU_STOP, &[1]).0, EINVAL, "not running");
    assert_eq!(b.fast(hcall::CPU_STOP, &[7]).0, ENOCPU);

    // vid 1 is stopped: the start is posted to its strand (1), which is resumed.
    assert_eq!(b.fast(hcall::CPU_START, &[1, pc, rtba, 0x1234]).0, 0);
    assert_eq!(b.hw.resumed, vec![1]);
    assert_eq!(b.fast(hcall::CPU_STATE, &[1]), (0, cpu_state::RUNNING, 0), "running from the start");
    assert_eq!(b.fast(hcall::CPU_START, &[1, pc, rtba, 0]).0, EINVAL, "not stopped");
    match b.hv.next_on_strand(&mut b.hw, 1) {
        Next::Launch(1, l) => assert_eq!((l.pc, l.rtba, l.o0, l.i0, l.i1), (pc, rtba, 0x1234, BASE, SIZE)),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.hv.next_on_strand(&mut b.hw, 1), Next::Wait, "taken once");
}

#[test]
fn rtba_is_per_vcpu_and_used_by_sir() {
    let mut b = bench();
    assert_eq!(b.fast(hcall::CPU_GET_RTBA, &[]), (0, BASE, 0), "starts at the real base");
    assert_eq!(b.fast(hcall::CPU_SET_RTBA, &[BASE + 0x8000]), (0, BASE, 0));
    assert_eq!(b.fast(hcall::CPU_SET_RTBA, &[BASE + 0x8080]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::CPU_SET_RTBA, &[0x8000]).0, ENORADDR);
    assert_eq!(b.fast(hcall::CPU_SET_RTBA, &[BASE + SIZE - 0x80]).0, ENORADDR, "256 bytes must fit");
    assert_eq!(b.fast(hcall::CPU_GET_RTBA, &[]), (0, BASE + 0x8000, 0));
    let (action, _) = b.trap(0x180, [0, 0, 0, 0, 0, hcall::MACH_SIR]);
    assert_eq!(action, Action::Idle);
    let l = b.launched().expect("restarted");
    assert_eq!((l.pc, l.rtba, l.i0), (BASE + 0x8000 + 0x80, BASE + 0x8000, BASE));
    assert_eq!(b.fast(hcall::CPU_GET_RTBA, &[]), (0, BASE + 0x8000, 0), "kept across the SIR");
}

#[test]
fn cpu_mondo_send_checks() {
    let mut b = bench();
    let list = BUF;
    let data = BUF + 0x40;
    b.hw.load(list, &[0, 1, 0xff, 0xff, 0, 0, 0, 9]);
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[1, list + 1, data]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[1, list, data + 8]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[1, 0x1000, data]).0, ENORADDR);
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[1, list, BASE + SIZE - 0x40 + 0x40]).0, ENORADDR);
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[u64::MAX, list, data]).0, ENORADDR);
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[0, list, data]).0, 0);
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[1, list + 2, data]).0, 0, "0xffff entries are skipped");
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[1, list + 4, data]).0, EINVAL, "self");
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[1, list + 6, data]).0, ENOCPU, "unknown id");
    assert_eq!(b.fast(hcall::CPU_MONDO_SEND, &[1, list, data]).0, ENOCPU, "stopped vCPU");
    assert!(b.hw.interrupts_sent.is_empty());
}

#[test]
fn watchdog_set_disable_limit_and_expiry() {
    let mut b = bench();
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[1000]).0, EBADTRAP, "Core 1.1");
    assert_eq!(b.set_version(group::CORE, 1, 1), 0);
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[1000]), (0, 0, 0), "was off");
    b.hw.stick += 250 * MS + 1;
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[2000]), (0, 750, 0), "750 ms left (rounded up)");
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[WATCHDOG_MAX + 1]), (EINVAL, 2000, 0), "state kept");
    b.hw.stick += 500 * MS;
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[0]), (0, 1500, 0), "disabled");
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[WATCHDOG_MAX]), (0, 0, 0));
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[10]), (0, WATCHDOG_MAX, 0));
    b.hw.stick += 9 * MS;
    assert_eq!(b.fast(hcall::CPU_MYID, &[]).0, 0, "not expired yet");
    b.hw.stick += MS;
    // Expired: the next trap applies the failure policy (stop).
    let (action, _) = b.trap(0x180, [0, 0, 0, 0, 0, hcall::CPU_MYID]);
    assert_eq!(action, Action::Idle);
    assert_eq!(b.hv.domains[0].state.lock().status, crate::domain::DomainStatus::Stopped);
    assert_eq!(b.launched(), None, "nothing restarts");
}

#[test]
fn watchdog_reset_policy_restarts_and_disarms() {
    let mut b = bench_with(Some(DISK), None, "reset");
    assert_eq!(b.set_version(group::CORE, 1, 1), 0);
    let default_max = crate::cpu::WATCHDOG_DEFAULT_MAX_MS;
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[default_max + 1]).0, EINVAL, "default maximum");
    assert_eq!(b.fast(hcall::MACH_SET_WATCHDOG, &[5]).0, 0);
    b.hw.stick += 5 * MS;
    let (action, _) = b.trap(0x180, [0, 0, 0, 0, 0, hcall::CPU_MYID]);
    assert_eq!(action, Action::Idle);
    assert_eq!(b.launched().expect("restarted").pc, BASE + 0x20, "power-on restart");
    assert_eq!(b.hv.domains[0].state.lock().watchdog_deadline, None);
    b.hw.stick += 1000 * MS;
    assert_eq!(b.fast(hcall::CPU_MYID, &[]).0, 0);
}

#[test]
fn ignore_policy_gives_the_guest_its_watchdog_reset() {
    let mut b = bench_with(Some(DISK), None, "ignore");
    // A trap above MAXPTL: the guest's own watchdog-reset vector, memory and domain kept.
    let mut frame = b.frame(0x10, 3);
    assert_eq!(b.handle(&mut frame), Action::Idle);
    let l = b.launched().expect("restarted");
    assert_eq!((l.pc, l.rtba), (BASE + 0x40, BASE), "RTBA + 0x40");
    assert_eq!(b.hv.domains[0].state.lock().status, crate::domain::DomainStatus::Running);
}

#[test]
fn intr_1_0_calls() {
    let mut b = bench();
    // Enabled at reset (Linux uses 1.0 without negotiating it); negotiating it works too.
    assert_eq!(b.set_version(group::INTR, 3, 0), ENOTSUPPORTED);
    assert_eq!(b.set_version(group::INTR, 1, 0), 0);
    assert_eq!(b.fast(hcall::VINTR_GETCOOKIE, &[0x100, 1]).0, EINVAL, "vintr under 1.0; no channel devhandle");
    let (s, sysino, _) = b.fast(hcall::INTR_DEVINO2SYSINO, &[0x100, 1]);
    assert_eq!((s, sysino), (0, 0x101));
    assert_eq!(b.fast(hcall::INTR_DEVINO2SYSINO, &[0x200, 1]).0, EINVAL, "unknown devhandle");
    assert_eq!(b.fast(hcall::INTR_DEVINO2SYSINO, &[0x100, 0]).0, EINVAL, "the disk has no interrupt");
    assert_eq!(b.fast(hcall::INTR_DEVINO2SYSINO, &[0x100, 0x11]).0, EINVAL);
    assert_eq!(b.fast(hcall::INTR_DEVINO2SYSINO, &[0x100, 0x41]).0, EINVAL);

    assert_eq!(b.fast(hcall::INTR_GETENABLED, &[sysino]), (0, 0, 0));
    assert_eq!(b.fast(hcall::INTR_SETENABLED, &[sysino, 1]).0, 0);
    assert_eq!(b.fast(hcall::INTR_GETENABLED, &[sysino]), (0, 1, 0));
    assert_eq!(b.fast(hcall::INTR_SETENABLED, &[sysino, 2]).0, EINVAL);
    assert_eq!(b.fast(hcall::INTR_GETSTATE, &[sysino]), (0, 0, 0));
    assert_eq!(b.fast(hcall::INTR_SETSTATE, &[sysino, 1]).0, 0);
    assert_eq!(b.fast(hcall::INTR_GETSTATE, &[sysino]), (0, 1, 0));
    assert_eq!(b.fast(hcall::INTR_SETSTATE, &[sysino, 3]).0, EINVAL);
    assert_eq!(b.fast(hcall::INTR_GETTARGET, &[sysino]), (0, 0, 0));
    assert_eq!(b.fast(hcall::INTR_SETTARGET, &[sysino, 1]).0, 0);
    assert_eq!(b.fast(hcall::INTR_GETTARGET, &[sysino]), (0, 1, 0));
    assert_eq!(b.fast(hcall::INTR_SETTARGET, &[sysino, 2]).0, ENOCPU);
    for bad in [0, 1, 0x100, 0x111, 0x201] {
        assert_eq!(b.fast(hcall::INTR_GETENABLED, &[bad]).0, ENOINTR, "{bad:#x}");
        assert_eq!(b.fast(hcall::INTR_SETENABLED, &[bad, 1]).0, ENOINTR);
        assert_eq!(b.fast(hcall::INTR_GETSTATE, &[bad]).0, ENOINTR);
        assert_eq!(b.fast(hcall::INTR_SETSTATE, &[bad, 0]).0, ENOINTR);
        assert_eq!(b.fast(hcall::INTR_GETTARGET, &[bad]).0, ENOINTR);
        assert_eq!(b.fast(hcall::INTR_SETTARGET, &[bad, 0]).0, ENOINTR);
    }
    // A restart puts every interrupt back: disabled, idle, aimed at the boot vCPU.
    b.trap(0x180, [0, 0, 0, 0, 0, hcall::MACH_SIR]);
    assert_eq!(b.fast(hcall::INTR_GETENABLED, &[sysino]), (0, 0, 0));
    assert_eq!(b.fast(hcall::INTR_GETSTATE, &[sysino]), (0, 0, 0));
    assert_eq!(b.fast(hcall::INTR_GETTARGET, &[sysino]), (0, 0, 0));
}

fn vtoc(blocks: u32) -> Vec<u8> {
    let mut label = vec![0u8; 512];
    label[0x1d0..0x1d4].copy_from_slice(&blocks.to_be_bytes());
    label
}

#[test]
fn disk_read_and_write() {
    let mut b = bench();
    b.hw.load(DISK, &vtoc(8));
    b.hw.load(DISK + 0x800, b"block four");
    assert_eq!(b.fast(hcall::DISK_READ, &[0x800, BUF, 10]).0, 0);
    assert_eq!(b.fast(hcall::DISK_READ, &[0x800, BUF, 10]).1, 10);
    assert_eq!(b.hw.peek(BUF, 10), b"block four");
    assert_eq!(b.fast(hcall::DISK_READ, &[0xffc, BUF, 4]).1, 4, "last bytes");
    assert_eq!(b.fast(hcall::DISK_READ, &[0xffc, BUF, 5]).0, EINVAL, "past the end");
    assert_eq!(b.fast(hcall::DISK_READ, &[0x1000, BUF, 0]).0, EINVAL, "offset at the end");
    assert_eq!(b.fast(hcall::DISK_READ, &[u64::MAX, BUF, 2]).0, EINVAL, "wraps");
    assert_eq!(b.fast(hcall::DISK_READ, &[0, 0x1000, 4]).0, ENORADDR);
    assert_eq!(b.fast(hcall::DISK_READ, &[0, BASE + SIZE - 2, 4]).0, ENORADDR);
    b.hw.load(BUF + 0x100, b"written");
    assert_eq!(b.fast(hcall::DISK_WRITE, &[0x900, BUF + 0x100, 7]).0, 0);
    assert_eq!(b.fast(hcall::DISK_WRITE, &[0x900, BUF + 0x100, 7]).1, 7);
    assert_eq!(b.hw.peek(DISK + 0x900, 7), b"written");
    assert_eq!(b.fast(hcall::DISK_WRITE, &[0xfff, BUF, 2]).0, EINVAL);
    assert_eq!(b.fast(hcall::DISK_WRITE, &[0, 0x10, 2]).0, ENORADDR);
    // The size is read once: a changed label does not change it.
    b.hw.load(DISK, &vtoc(1));
    assert_eq!(b.fast(hcall::DISK_READ, &[0x800, BUF, 10]).0, 0);
}

#[test]
fn no_disk_is_einval() {
    // diskpa given, nothing there (reads as 0): size 0.
    let mut b = bench();
    assert_eq!(b.fast(hcall::DISK_READ, &[0, BUF, 512]).0, EINVAL);
    assert_eq!(b.fast(hcall::DISK_WRITE, &[0, BUF, 512]).0, EINVAL);
    assert_eq!(b.fast(hcall::DISK_READ, &[0, 0x10, 512]).0, ENORADDR, "RA checked first");
    // No diskpa at all.
    let mut b = bench_with(None, None, "stop");
    assert_eq!(b.fast(hcall::DISK_READ, &[0, BUF, 512]).0, EINVAL);
}

#[test]
fn ttrace_buffer_calls_and_addentry() {
    let mut b = bench();
    let tbuf = BUF + 0x1000;
    assert_eq!(b.fast(hcall::TTRACE_BUF_INFO, &[]), (0, 0, 0));
    assert_eq!(b.fast(hcall::TTRACE_ENABLE, &[1]).0, EINVAL, "no buffer");
    assert_eq!(b.fast(hcall::TTRACE_FREEZE, &[1]).0, EINVAL, "no buffer");
    let (_, f) = b.trap(0x185, [0x1234, 1, 2, 3, 4, 0x55]);
    assert_eq!(f.o[0], EINVAL, "addentry without a buffer");

    assert_eq!(b.fast(hcall::TTRACE_BUF_CONF, &[tbuf + 8, 4]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::TTRACE_BUF_CONF, &[tbuf, 1]), (EINVAL, 2, 0), "minimum in %o1");
    assert_eq!(b.fast(hcall::TTRACE_BUF_CONF, &[tbuf, 3]), (EINVAL, 2, 0), "power of two");
    assert_eq!(b.fast(hcall::TTRACE_BUF_CONF, &[0x40, 4]).0, ENORADDR);
    assert_eq!(b.fast(hcall::TTRACE_BUF_CONF, &[BASE + SIZE - 0x80, 4]).0, ENORADDR);
    assert_eq!(b.fast(hcall::TTRACE_BUF_CONF, &[tbuf, u64::MAX / 2 + 1]).0, ENORADDR);
    assert_eq!(b.fast(hcall::TTRACE_BUF_CONF, &[tbuf, 4]), (0, 4, 0));
    assert_eq!(b.fast(hcall::TTRACE_BUF_INFO, &[]), (0, tbuf, 4));
    assert_eq!(b.fast(hcall::TTRACE_ENABLE, &[1]), (0, 0, 0));
    assert_eq!(b.fast(hcall::TTRACE_ENABLE, &[0]), (0, 1, 0));

    // Three records fill the buffer; the fourth wraps to the first record.
    b.hw.stick = 0xabcdef;
    for i in 0..4u64 {
        let (action, f) = b.trap(0x185, [0x1_0000 + i, 10 + i, 20, 30, 40, 0x55]);
        assert_eq!(action, Action::Resume);
        assert_eq!(f.o[..6], [0, 10 + i, 20, 30, 40, 0x55], "only %o0 changes");
    }
    let rec = b.hw.peek(tbuf + 0x40, 64);
    assert_eq!(rec[0], 0xff, "guest record");
    assert_eq!(rec[2], 0, "caller's TL");
    assert_eq!(&rec[4..8], &[0x01, 0x85, 0x00, 0x03], "tt 0x185, tag = low 16 bits");
    assert_eq!(&rec[0x10..0x18], &0xabcdefu64.to_be_bytes());
    assert_eq!(&rec[0x18..0x20], &0x8000_4000u64.to_be_bytes());
    assert_eq!(&rec[0x20..0x28], &13u64.to_be_bytes());
    assert_eq!(&rec[0x38..0x40], &40u64.to_be_bytes());
    assert_eq!(b.hw.peek(tbuf + 0x87, 1), [1], "second record: tag 1");
    assert_eq!(b.hw.peek(tbuf, 16), [0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x80]);

    // Frozen: addentry is ignored.
    assert_eq!(b.fast(hcall::TTRACE_FREEZE, &[5]), (0, 0, 0));
    let (_, f) = b.trap(0x185, [0x77, 0, 0, 0, 0, 0]);
    assert_eq!(f.o[0], 0);
    assert_eq!(b.hw.peek(tbuf + 0x87, 1), [1], "nothing written while frozen");
    assert_eq!(b.fast(hcall::TTRACE_FREEZE, &[0]), (0, 1, 0));

    // 0 entries removes the buffer.
    assert_eq!(b.fast(hcall::TTRACE_BUF_CONF, &[0, 0]), (0, 0, 0));
    assert_eq!(b.fast(hcall::TTRACE_BUF_INFO, &[]), (0, 0, 0));
    let (_, f) = b.trap(0x185, [0x77, 0, 0, 0, 0, 0]);
    assert_eq!(f.o[0], EINVAL);
}

#[test]
fn dump_buffer_calls() {
    let mut b = bench();
    assert_eq!(b.fast(hcall::DUMP_BUF_INFO, &[]), (0, 0, 0));
    assert_eq!(b.fast(hcall::DUMP_BUF_UPDATE, &[BUF, 0x2000]), (0, 0x2000, 0));
    assert_eq!(b.fast(hcall::DUMP_BUF_INFO, &[]), (0, BUF, 0x2000));
    assert_eq!(b.fast(hcall::DUMP_BUF_UPDATE, &[BUF, 0x1fff]), (EINVAL, 0x2000, 0));
    assert_eq!(b.fast(hcall::DUMP_BUF_INFO, &[]), (0, 0, 0), "a failed update removes the buffer");
    assert_eq!(b.fast(hcall::DUMP_BUF_UPDATE, &[BUF + 0x20, 0x2000]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::DUMP_BUF_UPDATE, &[0x40, 0x2000]).0, ENORADDR);
    assert_eq!(b.fast(hcall::DUMP_BUF_UPDATE, &[BASE + SIZE - 0x1000, 0x2000]).0, ENORADDR);
    assert_eq!(b.fast(hcall::DUMP_BUF_UPDATE, &[BUF, 0x4000]), (0, 0x2000, 0));
    assert_eq!(b.fast(hcall::DUMP_BUF_UPDATE, &[0, 0]), (0, 0x2000, 0));
    assert_eq!(b.fast(hcall::DUMP_BUF_INFO, &[]), (0, 0, 0));
}

#[test]
fn mmustat_stays_ebadtrap() {
    let mut b = bench();
    assert_eq!(b.fast(hcall::NIAGARA_MMUSTAT_CONF, &[BUF]).0, EBADTRAP);
    assert_eq!(b.fast(hcall::NIAGARA_MMUSTAT_INFO, &[]).0, EBADTRAP);
    assert_eq!(b.set_version(group::NIAG_PERF, 1, 0), EINVAL, "NIAG_PERF not offered");
}

/// Every function of the highest offered version of every offered group has a handler:
/// called with zero arguments (after negotiating everything), none answers ENOTSUPPORTED
/// or EBADTRAP. Every other function answers EBADTRAP.
#[test]
fn every_offered_function_has_a_handler() {
    let mut checked = 0;
    for f in hv_api::hcall::FUNCTIONS {
        let offers = || crate::hcall::GROUPS.iter().flat_map(|g| g.offers.iter().map(move |o| (g.number, o)));
        // The vintr_* calls (numbered INTR 2.0) come with INTR 1.0 (crate::version).
        let offered =
            offers().any(|(g, o)| f.enabled_by(g, o.major, o.max_minor)) || (f.group == group::INTR && f.major == 2);
        let mut b = bench();
        for (g, o) in offers() {
            assert_eq!(b.set_version(g, o.major, o.max_minor), 0);
        }
        let mut o = [0; 6];
        o[5] = f.number;
        let (action, frame) = b.trap(0x180, o);
        if offered {
            checked += 1;
            if action == Action::Resume {
                assert_ne!(frame.o[0], ENOTSUPPORTED, "{} has no handler", f.name);
                assert_ne!(frame.o[0], EBADTRAP, "{} is not callable", f.name);
            } else {
                // mach_exit and mach_sir do not return.
                assert!(matches!(f.number, hcall::MACH_EXIT | hcall::MACH_SIR), "{}: {action:?}", f.name);
            }
        } else {
            assert_eq!((action, frame.o[0]), (Action::Resume, EBADTRAP), "{} is not offered", f.name);
        }
    }
    // Core 1.0 and 1.1 (42, with disk_read / disk_write), INTR 1.0 (7 and the 8 vintr_*
    // calls), soft state (2), LDOM 1.0 (14).
    assert_eq!(checked, 42 + 7 + 8 + 2 + 14);
}

#[test]
fn disk_label_is_not_read_while_the_guest_mmu_is_on() {
    // QEMU raises data_access_error for an unassigned load while the guest's MMU is on, so
    // the hypervisor reads the label again only for a guest whose MMU is off.
    let mut b = bench();
    b.hv.vcpus[0].lock().mmu.enabled = true;
    b.hw.load(DISK, &vtoc(8));
    assert_eq!(b.fast(hcall::DISK_READ, &[0, BUF, 512]).0, EINVAL, "not read with the MMU on");
    b.hv.vcpus[0].lock().mmu.enabled = false;
    assert_eq!(b.fast(hcall::DISK_READ, &[0, BUF, 512]).0, 0, "read with the MMU off");
}
