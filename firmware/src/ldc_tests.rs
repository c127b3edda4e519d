//! Channel tests (docs/ldc.md) on configs/two-domains-ldc.toml: two domains, `primary`
//! (vCPU index 0, strand 0) and `guest1` (vCPU index 1, strand 4), joined by channel 0 ↔ 0
//! and channel 5 ↔ 1. Both domains' traps are made on one fake machine (one memory); a
//! trap of the interrupt vector stands for the target strand answering its mailbox.

use crate::arch::fake::FakeHardware;
use crate::hardware::TlbSet;
use crate::hypervisor::{Hypervisor, Next};
use crate::trap::{Action, TrapFrame};
use hv_api::error::HvError;
use hv_api::ldc::{make_cookie, state, Mte, COPY_IN, COPY_OUT, MAPIN_BASE_RA};
use hv_api::mmu::{PageSize, Tte};
use hv_api::{group, hcall, queue};
use std::sync::Arc;

const P: usize = 0;
const G: usize = 1;
const PBASE: u64 = 0x8000_0000;
const GBASE: u64 = 0x9000_0000;
const SIZE: u64 = 0x1000_0000;
const CDEV: u64 = 0x200;

const EOK: u64 = 0;
fn e(err: HvError) -> u64 {
    err.code()
}

struct Two {
    hv: Arc<Hypervisor>,
    hw: FakeHardware,
}

impl Two {
    fn new() -> Two {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let cfg = ldom_config::load(&root.join("configs/two-domains-ldc.toml")).unwrap();
        let pdpa = |i: u64| 0x1f_1200_0000 + i * 0x2000;
        let placed: Vec<(u64, u64, u64)> =
            (0..cfg.domains.len() as u64).map(|i| (0xff_f008_0000 + i * 0x10_0000, 0x100, pdpa(i))).collect();
        let mut hw = FakeHardware::new();
        for gi in 0..cfg.domains.len() {
            hw.load(pdpa(gi as u64), &ldom_config::build::guest_md(&cfg, gi).to_bytes());
        }
        hw.strands = true;
        hw.stick = 1_000_000;
        hw.clock = Some(std::time::Instant::now());
        let bytes = ldom_config::build::hv_md(&cfg, &placed).to_bytes();
        let hv = Hypervisor::boot(&mut hw, &bytes, (PBASE, 2 * SIZE)).unwrap();
        hv.start_domains(&mut hw);
        assert!(matches!(hv.next_on_strand(&mut hw, 0), Next::Launch(0, _)));
        assert!(matches!(hv.next_on_strand(&mut hw, 4), Next::Launch(1, _)));
        let mut two = Two { hv: Arc::new(hv), hw };
        for v in [P, G] {
            let mut f = TrapFrame { tt: 0x1ff, tl: 1, ..Default::default() };
            f.o[..3].copy_from_slice(&[group::LDOM, 1, 0]);
            f.o[5] = hv_api::core_fn::API_SET_VERSION;
            two.hv.handle_trap(&mut two.hw, v, &mut f);
            assert_eq!(f.o[0], EOK);
            // A device mondo queue of 16 entries at base + 0x100000.
            let q = base(v) + 0x10_0000;
            assert_eq!(two.call(v, hcall::CPU_QCONF, &[queue::DEV_MONDO, q, 16])[0], EOK);
        }
        two
    }

    /// A fast trap of vCPU `v`: `%o0`–`%o3`.
    fn call(&mut self, v: usize, function: u64, args: &[u64]) -> [u64; 4] {
        let mut f = TrapFrame { tt: 0x180, tl: 1, ..Default::default() };
        f.o[..args.len()].copy_from_slice(args);
        f.o[5] = function;
        assert_eq!(self.hv.handle_trap(&mut self.hw, v, &mut f), Action::Resume);
        [f.o[0], f.o[1], f.o[2], f.o[3]]
    }

    /// vCPU `v`'s strand takes its interrupt vector (its mailbox).
    fn interrupt(&mut self, v: usize) {
        let mut f = TrapFrame { tt: hv_api::trap::tt::INTERRUPT_VECTOR, tl: 1, ..Default::default() };
        self.hv.handle_trap(&mut self.hw, v, &mut f);
    }

    /// The cookies in the device mondo queue (one machine: one set of queue registers).
    fn drain_dev_mondos(&mut self, v: usize) -> Vec<u64> {
        let q = base(v) + 0x10_0000;
        let (mut head, tail) = self.hw.queues[1];
        let mut out = Vec::new();
        while head != tail {
            out.push(u64::from_be_bytes(self.hw.peek(q + head, 8).try_into().unwrap()));
            head = (head + 64) % (16 * 64);
        }
        self.hw.queues[1].0 = tail;
        out
    }

    fn configure(&mut self, v: usize, channel: u64, entries: u64) {
        let (tx, rx) = queues(v, channel);
        assert_eq!(self.call(v, hcall::LDC_TX_QCONF, &[channel, tx, entries])[0], EOK);
        assert_eq!(self.call(v, hcall::LDC_RX_QCONF, &[channel, rx, entries])[0], EOK);
    }

    fn write_packet(&mut self, v: usize, channel: u64, offset: u64, byte: u8) {
        self.hw.load(queues(v, channel).0 + offset, &[byte; 64]);
    }
}

fn base(v: usize) -> u64 {
    if v == P {
        PBASE
    } else {
        GBASE
    }
}

/// (transmit queue, receive queue) of vCPU `v`'s domain's channel.
fn queues(v: usize, channel: u64) -> (u64, u64) {
    let b = base(v) + 0x20_0000 + channel * 0x2_0000;
    (b, b + 0x1_0000)
}

#[test]
fn queue_configuration_checks_and_link_state() {
    let mut t = Two::new();
    assert_eq!(t.call(P, hcall::LDC_TX_QCONF, &[7, PBASE, 4])[0], e(HvError::Channel), "no channel 7");
    assert_eq!(t.call(P, hcall::LDC_TX_QCONF, &[1, PBASE, 4])[0], e(HvError::Channel), "guest1's id, not ours");
    assert_eq!(t.call(P, hcall::LDC_TX_QCONF, &[0, PBASE, 3])[0], e(HvError::Inval));
    assert_eq!(t.call(P, hcall::LDC_TX_QCONF, &[0, PBASE + 64, 4])[0], e(HvError::BadAlign));
    assert_eq!(t.call(P, hcall::LDC_TX_QCONF, &[0, PBASE - 256, 4])[0], e(HvError::NoRAddr), "below the memory");
    assert_eq!(t.call(P, hcall::LDC_TX_QCONF, &[0, PBASE + SIZE, 4])[0], e(HvError::NoRAddr), "past its end");
    assert_eq!(t.call(P, hcall::LDC_TX_QCONF, &[0, GBASE, 4])[0], e(HvError::NoRAddr), "guest1's memory");
    assert_eq!(t.call(P, hcall::LDC_TX_QCONF, &[0, 0, 1 << 62])[0], e(HvError::NoRAddr), "overflows");
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0])[0], e(HvError::Inval), "no transmit queue");
    assert_eq!(t.call(P, hcall::LDC_RX_GET_STATE, &[0])[0], e(HvError::Inval), "no receive queue");
    t.configure(P, 0, 8);
    assert_eq!(t.call(P, hcall::LDC_TX_QINFO, &[0])[..3], [EOK, queues(P, 0).0, 8]);
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0]), [EOK, 0, 0, state::DOWN], "guest1 has no rx queue");
    t.configure(G, 0, 8);
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0])[3], state::UP);
    assert_eq!(t.call(G, hcall::LDC_RX_GET_STATE, &[0])[3], state::UP);
    // guest1 reconfigures its receive queue: primary sees RESET once.
    let rx = queues(G, 0).1;
    assert_eq!(t.call(G, hcall::LDC_RX_QCONF, &[0, rx, 8])[0], EOK);
    assert_eq!(t.call(P, hcall::LDC_RX_GET_STATE, &[0])[3], state::RESET);
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0])[3], state::UP);
    assert_eq!(t.call(G, hcall::LDC_RX_QCONF, &[0, 0, 0])[0], EOK, "unconfigure");
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0])[3], state::RESET, "once");
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0])[3], state::DOWN);
    assert_eq!(t.call(G, hcall::LDC_RX_QINFO, &[0])[..3], [EOK, 0, 0]);
}

#[test]
fn packets_move_at_once_and_a_full_queue_blocks_the_sender() {
    let mut t = Two::new();
    t.configure(P, 0, 4);
    t.configure(G, 0, 4);
    // guest1's rx interrupt: cookie, valid, aimed at its vCPU 0.
    let (_, rx_ino) = (0x20, 0x21);
    assert_eq!(t.call(G, hcall::VINTR_SETCOOKIE, &[CDEV, rx_ino, 0xc00c1e])[0], EOK);
    assert_eq!(t.call(G, hcall::VINTR_SETVALID, &[CDEV, rx_ino, 1])[0], EOK);
    assert_eq!(t.call(P, hcall::LDC_TX_SET_QTAIL, &[0, 32])[0], e(HvError::BadAlign));
    assert_eq!(t.call(P, hcall::LDC_TX_SET_QTAIL, &[0, 256])[0], e(HvError::Inval), "beyond the queue");
    t.write_packet(P, 0, 0, 0x11);
    t.write_packet(P, 0, 64, 0x22);
    assert_eq!(t.call(P, hcall::LDC_TX_SET_QTAIL, &[0, 128])[0], EOK);
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0])[..3], [EOK, 128, 128], "sent at once");
    assert_eq!(t.call(G, hcall::LDC_RX_GET_STATE, &[0])[..3], [EOK, 0, 128]);
    let rx = queues(G, 0).1;
    assert_eq!(t.hw.peek(rx, 64), vec![0x11; 64]);
    assert_eq!(t.hw.peek(rx + 64, 64), vec![0x22; 64]);
    // The rx interrupt: RECEIVED, then guest1's strand delivers it.
    assert_eq!(t.call(G, hcall::VINTR_GETSTATE, &[CDEV, rx_ino])[1], 1);
    t.interrupt(G);
    assert_eq!(t.drain_dev_mondos(G), vec![0xc00c1e]);
    assert_eq!(t.call(G, hcall::VINTR_GETSTATE, &[CDEV, rx_ino])[1], 2, "DELIVERED");
    // Room for one more packet only (4 entries, one always free): two are refused whole.
    t.write_packet(P, 0, 128, 0x33);
    t.write_packet(P, 0, 192, 0x44);
    assert_eq!(t.call(P, hcall::LDC_TX_SET_QTAIL, &[0, 0])[0], e(HvError::WouldBlock));
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0])[..3], [EOK, 128, 128], "tail unchanged");
    assert_eq!(t.call(G, hcall::LDC_RX_GET_STATE, &[0])[..3], [EOK, 0, 128], "nothing moved");
    // primary's tx interrupt comes when guest1 frees room.
    let tx_ino = 0x20;
    assert_eq!(t.call(P, hcall::VINTR_SETCOOKIE, &[CDEV, tx_ino, 0x7a])[0], EOK);
    assert_eq!(t.call(P, hcall::VINTR_SETVALID, &[CDEV, tx_ino, 1])[0], EOK);
    assert_eq!(t.call(G, hcall::LDC_RX_SET_QHEAD, &[0, 192])[0], e(HvError::Inval), "past the tail");
    assert_eq!(t.call(G, hcall::LDC_RX_SET_QHEAD, &[0, 64])[0], EOK);
    assert_eq!(t.call(G, hcall::LDC_RX_SET_QHEAD, &[0, 64])[0], EOK, "the same head");
    assert_eq!(t.call(G, hcall::LDC_RX_SET_QHEAD, &[0, 0])[0], e(HvError::Inval), "backwards");
    t.interrupt(P);
    assert_eq!(t.drain_dev_mondos(P), vec![0x7a]);
    assert_eq!(t.call(P, hcall::LDC_TX_SET_QTAIL, &[0, 0])[0], EOK);
    assert_eq!(t.call(G, hcall::LDC_RX_GET_STATE, &[0])[..3], [EOK, 64, 0], "wrapped");
    assert_eq!(t.hw.peek(rx + 192, 64), vec![0x44; 64]);
    // guest1's rx interrupt is DELIVERED: no new one until it is IDLE; then, with packets
    // waiting, it comes again at once.
    assert_eq!(t.call(G, hcall::VINTR_SETSTATE, &[CDEV, rx_ino, 0])[0], EOK);
    assert_eq!(t.drain_dev_mondos(G), vec![0xc00c1e], "re-armed with packets waiting");
    assert_eq!(t.call(G, hcall::LDC_RX_SET_QHEAD, &[0, 0])[0], EOK, "drained");
    assert_eq!(t.call(G, hcall::VINTR_SETSTATE, &[CDEV, rx_ino, 0])[0], EOK);
    assert!(t.drain_dev_mondos(G).is_empty(), "nothing waits");
}

#[test]
fn the_peer_without_a_receive_queue_blocks_the_sender() {
    let mut t = Two::new();
    t.configure(P, 0, 4);
    assert_eq!(t.call(P, hcall::LDC_TX_SET_QTAIL, &[0, 64])[0], e(HvError::WouldBlock));
    assert_eq!(t.call(P, hcall::LDC_TX_SET_QTAIL, &[0, 0])[0], EOK, "nothing to send");
}

#[test]
fn vintr_checks() {
    let mut t = Two::new();
    assert_eq!(t.call(P, hcall::VINTR_GETCOOKIE, &[0x100, 0x20])[0], e(HvError::Inval), "the vdev handle");
    assert_eq!(t.call(P, hcall::VINTR_GETCOOKIE, &[CDEV, 0x30])[0], e(HvError::Inval), "no such ino");
    assert_eq!(t.call(P, hcall::VINTR_SETVALID, &[CDEV, 0x20, 2])[0], e(HvError::Inval));
    assert_eq!(t.call(P, hcall::VINTR_SETSTATE, &[CDEV, 0x20, 3])[0], e(HvError::Inval));
    assert_eq!(t.call(P, hcall::VINTR_SETTARGET, &[CDEV, 0x20, 1])[0], e(HvError::NoCpu));
    assert_eq!(t.call(P, hcall::VINTR_GETTARGET, &[CDEV, 0x2b])[..2], [EOK, 0], "channel 5's rx-ino");
    assert_eq!(t.call(P, hcall::VINTR_GETVALID, &[CDEV, 0x21])[..2], [EOK, 0]);
    assert_eq!(t.call(P, hcall::VINTR_GETSTATE, &[CDEV, 0x21])[..2], [EOK, 0]);
    assert_eq!(t.call(G, hcall::VINTR_GETCOOKIE, &[CDEV, 0x22])[..2], [EOK, 0], "guest1's channel 1 tx-ino");
}

/// primary exports two pages through channel 0's map table; guest1 copies and maps.
fn export(t: &mut Two) -> (u64, u64) {
    let table = PBASE + 0x40_0000;
    let (page0, page1) = (PBASE + 0x50_0000, PBASE + 0x50_2000);
    let mte = |ra, perms| Mte::new(ra, PageSize::Size8K, perms).0.to_be_bytes();
    t.hw.load(table, &mte(page0, Mte::R | Mte::W | Mte::CPR | Mte::CPW));
    t.hw.load(table + 16, &mte(page1, Mte::R | Mte::CPR));
    t.hw.load(table + 32, &mte(GBASE, Mte::R | Mte::CPR | Mte::CPW));
    t.hw.load(page0, &[0x5a; 8192]);
    t.hw.load(page1, &[0xa5; 8192]);
    assert_eq!(t.call(P, hcall::LDC_SET_MAP_TABLE, &[0, table + 8, 4])[0], e(HvError::BadAlign));
    assert_eq!(t.call(P, hcall::LDC_SET_MAP_TABLE, &[0, table, 1])[0], e(HvError::Inval));
    assert_eq!(t.call(P, hcall::LDC_SET_MAP_TABLE, &[0, table, 6])[0], e(HvError::Inval));
    assert_eq!(
        t.call(P, hcall::LDC_SET_MAP_TABLE, &[0, PBASE + SIZE - 64, 8])[0],
        e(HvError::NoRAddr),
        "crosses the end"
    );
    assert_eq!(t.call(P, hcall::LDC_SET_MAP_TABLE, &[0, table, 4])[0], EOK);
    assert_eq!(t.call(P, hcall::LDC_GET_MAP_TABLE, &[0])[..3], [EOK, table, 4]);
    (page0, page1)
}

#[test]
fn ldc_copy_follows_the_peers_map_table() {
    let mut t = Two::new();
    let buf = GBASE + 0x30_0000;
    assert_eq!(t.call(G, hcall::LDC_COPY, &[0, COPY_IN, 0, buf, 64])[0], e(HvError::NoMap), "no table yet");
    let (page0, _) = export(&mut t);
    assert_eq!(t.call(G, hcall::LDC_COPY, &[9, COPY_IN, 0, buf, 64])[0], e(HvError::Channel));
    assert_eq!(t.call(G, hcall::LDC_COPY, &[0, 2, 0, buf, 64])[0], e(HvError::Inval));
    assert_eq!(t.call(G, hcall::LDC_COPY, &[0, COPY_IN, 0, buf, 0])[0], e(HvError::Inval));
    assert_eq!(t.call(G, hcall::LDC_COPY, &[0, COPY_IN, 4, buf, 64])[0], e(HvError::BadAlign));
    assert_eq!(t.call(G, hcall::LDC_COPY, &[0, COPY_IN, 0, PBASE, 64])[0], e(HvError::NoRAddr), "not its memory");
    assert_eq!(t.call(G, hcall::LDC_COPY, &[0, COPY_IN, 1 << 60, buf, 64])[0], e(HvError::BadPgSz));
    assert_eq!(
        t.call(G, hcall::LDC_COPY, &[0, COPY_IN, make_cookie(PageSize::Size8K, 4, 0), buf, 64])[0],
        e(HvError::NoMap)
    );
    assert_eq!(
        t.call(G, hcall::LDC_COPY, &[0, COPY_IN, make_cookie(PageSize::Size8K, 3, 0), buf, 64])[0],
        e(HvError::NoAccess),
        "a zero MTE: no permission, checked before its RA"
    );
    assert_eq!(
        t.call(G, hcall::LDC_COPY, &[0, COPY_OUT, make_cookie(PageSize::Size8K, 1, 0), buf, 64])[0],
        e(HvError::NoAccess)
    );
    assert_eq!(
        t.call(G, hcall::LDC_COPY, &[0, COPY_IN, make_cookie(PageSize::Size8K, 2, 0), buf, 64])[0],
        e(HvError::NoRAddr),
        "MTE names guest1's own memory"
    );
    // Page-crossing copy in: the end of page 0 and the start of page 1.
    assert_eq!(t.call(G, hcall::LDC_COPY, &[0, COPY_IN, 8192 - 64, buf, 128])[..2], [EOK, 128]);
    assert_eq!(t.hw.peek(buf, 64), vec![0x5a; 64]);
    assert_eq!(t.hw.peek(buf + 64, 64), vec![0xa5; 64]);
    // Copy out across the same edge: page 1 forbids it, so only page 0's part is copied.
    t.hw.load(buf, &[0x77; 128]);
    assert_eq!(t.call(G, hcall::LDC_COPY, &[0, COPY_OUT, 8192 - 64, buf, 128])[..2], [EOK, 64], "partial");
    assert_eq!(t.hw.peek(page0 + 8192 - 64, 64), vec![0x77; 64]);
    assert_eq!(t.hw.peek(page0 + 8192, 8), vec![0xa5; 8], "page 1 untouched");
}

/// guest1's channel 0 is endpoint 1 of the configuration (primary:0, guest1:0, primary:5,
/// guest1:1): its map-in slots are 8–15 of the window.
fn mapin_ra(slot: u64) -> u64 {
    MAPIN_BASE_RA + (8 + slot) * hv_api::ldc::MAPIN_SLOT_SIZE
}

/// vCPU `v`'s strand, played by a thread: answers one flush request (its own machine:
/// only its TLBs matter).
fn answer_flush(hv: &Arc<Hypervisor>, v: usize) -> std::thread::JoinHandle<()> {
    let hv = Arc::clone(hv);
    std::thread::spawn(move || {
        let mut hw = FakeHardware::new();
        hw.strands = true;
        hw.clock = Some(std::time::Instant::now());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !hv.mailboxes[v].flush_pending() {
            assert!(std::time::Instant::now() < deadline, "no flush request");
            std::thread::yield_now();
        }
        let mut f = TrapFrame { tt: hv_api::trap::tt::INTERRUPT_VECTOR, tl: 1, ..Default::default() };
        hv.handle_trap(&mut hw, v, &mut f);
    })
}

/// `mmu_map_addr` flags (hv-api.md §2.3).
const DTLB: u64 = 1;
const ITLB: u64 = 2;

/// `mmu_map_addr` (ta 0x83) of vCPU `v`: the status.
fn map_addr(t: &mut Two, v: usize, va: u64, tte: u64, flags: u64) -> u64 {
    let mut f = TrapFrame { tt: 0x183, tl: 1, ..Default::default() };
    f.o[..4].copy_from_slice(&[va, 0, tte, flags]);
    t.hv.handle_trap(&mut t.hw, v, &mut f);
    f.o[0]
}

#[test]
fn mapin_unmap_and_revoke() {
    let mut t = Two::new();
    let (page0, page1) = export(&mut t);
    let c0 = make_cookie(PageSize::Size8K, 0, 0x10);
    assert_eq!(t.call(G, hcall::LDC_MAPIN, &[0, make_cookie(PageSize::Size8K, 4, 0)])[0], e(HvError::NoMap));
    assert_eq!(t.call(G, hcall::LDC_MAPIN, &[0, c0])[..3], [EOK, mapin_ra(0) + 0x10, 3], "R and W");
    let tte = |ra: u64, w: bool| Tte::V | ra | Tte::CP | if w { Tte::W } else { 0 };
    let va = 0x1000_0000;
    assert_eq!(map_addr(&mut t, G, va, tte(mapin_ra(0), true), DTLB), EOK);
    assert_eq!(t.hw.translate(TlbSet::DATA, va + 8, 0), Some(page0 + 8), "the exporter's page");
    assert_eq!(map_addr(&mut t, G, va, tte(mapin_ra(0), false), ITLB), e(HvError::NoRAddr), "no X");
    assert_eq!(map_addr(&mut t, P, va, tte(mapin_ra(0), false), DTLB), e(HvError::NoRAddr), "not primary's map-in");
    assert_eq!(t.call(G, hcall::LDC_MAPIN, &[0, make_cookie(PageSize::Size8K, 1, 0)])[..3], [EOK, mapin_ra(1), 1]);
    assert_eq!(map_addr(&mut t, G, va, tte(mapin_ra(1), true), DTLB), e(HvError::NoRAddr), "read-only map-in");
    assert_eq!(map_addr(&mut t, G, va, tte(mapin_ra(1), false), DTLB), EOK);
    assert_eq!(t.hw.translate(TlbSet::DATA, va, 0), Some(page1));
    // Unmap: the TLBs of guest1's vCPU are flushed, the RA is no longer usable.
    assert_eq!(t.call(G, hcall::LDC_UNMAP, &[mapin_ra(1) + 0x2000])[0], e(HvError::Inval), "past the page");
    assert_eq!(t.call(G, hcall::LDC_UNMAP, &[mapin_ra(1) + 8])[0], EOK);
    assert_eq!(t.hw.translate(TlbSet::DATA, va, 0), None, "flushed");
    assert_eq!(t.call(G, hcall::LDC_UNMAP, &[mapin_ra(1)])[0], e(HvError::Inval), "already unmapped");
    assert_eq!(map_addr(&mut t, G, va, tte(mapin_ra(1), false), DTLB), e(HvError::NoRAddr));
    // Slots run out.
    for slot in 1..crate::ldc::MAPIN_SLOTS as u64 {
        assert_eq!(t.call(G, hcall::LDC_MAPIN, &[0, c0])[..2], [EOK, mapin_ra(slot) + 0x10]);
    }
    assert_eq!(t.call(G, hcall::LDC_MAPIN, &[0, c0])[0], e(HvError::TooMany));
    // Revoke by primary with the cookie the last map-in wrote into the entry: guest1's
    // strand (another thread) flushes before the call returns.
    let revoke_cookie = u64::from_be_bytes(t.hw.peek(PBASE + 0x40_0000 + 8, 8).try_into().unwrap());
    assert_eq!(t.call(P, hcall::LDC_REVOKE, &[0, c0, revoke_cookie ^ 1])[0], e(HvError::Inval));
    assert_eq!(map_addr(&mut t, G, va, tte(mapin_ra(7), true), DTLB), EOK);
    let guest1 = answer_flush(&t.hv, G);
    assert_eq!(t.call(P, hcall::LDC_REVOKE, &[0, c0, revoke_cookie])[0], EOK);
    guest1.join().unwrap();
    assert!(!t.hv.mailboxes[G].flush_pending());
    assert_eq!(map_addr(&mut t, G, va, tte(mapin_ra(7), true), DTLB), e(HvError::NoRAddr), "revoked");
    assert_eq!(t.call(P, hcall::LDC_REVOKE, &[0, c0, revoke_cookie])[0], e(HvError::Inval), "already revoked");
}

#[test]
fn a_domain_that_stops_takes_its_links_down() {
    let mut t = Two::new();
    t.configure(P, 0, 4);
    t.configure(G, 0, 4);
    export(&mut t);
    assert_eq!(t.call(G, hcall::LDC_MAPIN, &[0, 0])[0], EOK);
    assert_eq!(t.call(P, hcall::VINTR_SETCOOKIE, &[CDEV, 0x21, 0x99])[0], EOK);
    assert_eq!(t.call(P, hcall::VINTR_SETVALID, &[CDEV, 0x21, 1])[0], EOK);
    assert_eq!(t.call(P, hcall::LDC_TX_GET_STATE, &[0])[3], state::UP);
    // primary exits: guest1 sees DOWN, its map-in of primary's page is gone.
    let mut f = TrapFrame { tt: 0x180, tl: 1, ..Default::default() };
    f.o[5] = hcall::MACH_EXIT;
    let guest1 = answer_flush(&t.hv, G);
    assert_eq!(t.hv.handle_trap(&mut t.hw, P, &mut f), Action::Idle);
    guest1.join().unwrap();
    assert_eq!(t.call(G, hcall::LDC_TX_GET_STATE, &[0])[3], state::DOWN);
    assert_eq!(t.call(G, hcall::LDC_UNMAP, &[mapin_ra(0)])[0], e(HvError::Inval), "map-in ended");
    assert_eq!(t.call(G, hcall::LDC_TX_SET_QTAIL, &[0, 64])[0], e(HvError::WouldBlock));
}
