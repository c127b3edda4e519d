//! MMU tests on the fake machine: every MMU hypercall with good arguments and each error,
//! TLB-miss handling (TSB hits, slow / fast misses, protection, bad TTEs, permanent
//! mappings), and hostile guests (random TSB contents and call arguments) that must never
//! get a translation outside their memory. The configuration requires real base = memory
//! base today (QEMU has no RA→PA stage); the bench moves the domain's physical base after
//! boot so that every RA→PA conversion of the MMU code is visible.

use crate::arch::fake::{page_size, FakeHardware, DTLB, ITLB};
use crate::hardware::TlbSet;
use crate::hypervisor::Hypervisor;
use crate::mmu::{FastTsb, MEM_SCRUB_MAX};
use crate::test_bench::{Bench, GuestMd, HvMd, XorShift, BASE, EBADALIGN, EINVAL, ENORADDR, ENOTSUPPORTED, SIZE};
use crate::trap::{Action, TrapFrame, RESUME_DONE, RESUME_DONE_AT, RESUME_RETRY, RESUME_REVECTOR};
use hv_api::error::HvError;
use hv_api::hcall;
use hv_api::mmu::{fault_area, fault_type, tsb_tag, PageSize, TsbDescriptor, Tte, TteFlags, TSBD_CTX_IDX_SHARED};

/// Guest real base.
const REAL: u64 = BASE;
/// Physical base of the guest's memory (set after boot).
const MEMBASE: u64 = 0x2_0000_0000;
const REAL_END: u64 = REAL + SIZE;
/// The guest's trap table (`%tba`).
const TBA: u64 = REAL + 0x8000;
/// Where tests put descriptor arrays, the fault area and TSBs (RAs).
const DESCS: u64 = REAL + 0x10_0000;
const FAULT: u64 = REAL + 0x10_1000;
const BUF: u64 = REAL + 0x10_2000;
const TSB0: u64 = REAL + 0x20_0000;
const TSB1: u64 = REAL + 0x30_0000;

const EBADPGSZ: u64 = HvError::BadPgSz.code();
const EBADTSB: u64 = HvError::BadTsb.code();
const ENOMAP: u64 = HvError::NoMap.code();
const ETOOMANY: u64 = HvError::TooMany.code();

const LOCK: u64 = 1 << 61;
const RWX: TteFlags = TteFlags::CP.union(TteFlags::CV).union(TteFlags::P).union(TteFlags::W).union(TteFlags::X);

fn pa(ra: u64) -> u64 {
    ra - REAL + MEMBASE
}

fn desc(pgsz_idx: u16, num_ttes: u32, ctx_idx: u32, base: u64) -> TsbDescriptor {
    TsbDescriptor {
        pgsz_idx,
        assoc: 1,
        num_ttes,
        ctx_idx,
        pgsz_mask: (0x2b >> pgsz_idx << pgsz_idx) as u32,
        tsb_base: base,
        reserved: 0,
    }
}

fn tte(ra: u64, size: PageSize) -> u64 {
    Tte::new(ra, size, RWX).0
}

/// The one-vCPU bench, its memory moved to `MEMBASE` after boot.
fn bench() -> Bench {
    let mut b = Bench::with(&HvMd { nvram: None, ..HvMd::default() }, &GuestMd::default());
    b.hv.config.domains[0].memory.membase = crate::addr::Pa::new(MEMBASE);
    b.template = TrapFrame { tba: TBA, tpc: 0x1234_5678, tnpc: 0x1234_567c, tstate: 0, ..b.template };
    b
}

/// A bench with a fault area configured.
fn bench_with_fault_area() -> Bench {
    let mut b = bench();
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[FAULT]), (0, 0, 0));
    b
}

impl Bench {
    /// A hyper-fast trap (TT 0x183 / 0x184): the status.
    fn hyper(&mut self, tt: u64, args: &[u64]) -> u64 {
        let mut f = self.frame(tt, 1);
        f.o[..args.len()].copy_from_slice(args);
        f.o[5] = 0x5555;
        assert_eq!(self.handle(&mut f), Action::Resume);
        assert_eq!(f.resume, RESUME_DONE);
        assert_eq!(f.o[5], 0x5555);
        f.o[0]
    }

    /// An MMU trap at guest trap level `guest_tl`.
    fn miss(&mut self, tt: u64, guest_tl: u64, tag_access: u64) -> (Action, TrapFrame) {
        let mut f = self.frame(tt, guest_tl + 1);
        if tt == 0x64 {
            f.i_tag_access = tag_access;
            f.d_tag_access = 0xdead_0000;
        } else {
            f.d_tag_access = tag_access;
            f.i_tag_access = 0xdead_0000;
        }
        let a = self.handle(&mut f);
        (a, f)
    }

    fn register(&mut self, function: u64, descs: &[TsbDescriptor]) -> u64 {
        let mut bytes = Vec::new();
        for d in descs {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        self.hw.load(pa(DESCS), &bytes);
        self.fast(function, &[descs.len() as u64, DESCS]).0
    }

    fn put_entry(&mut self, tsb_ra: u64, index: u64, tag: u64, data: u64) {
        let mut e = tag.to_be_bytes().to_vec();
        e.extend_from_slice(&data.to_be_bytes());
        self.hw.load(pa(tsb_ra + 16 * index), &e);
    }

    fn u64_at(&self, ra: u64) -> u64 {
        u64::from_be_bytes(self.hw.peek(pa(ra), 8).try_into().unwrap())
    }

    /// (type, address, context) of the I or D half of the fault area.
    fn fault(&self, instruction: bool) -> (u64, u64, u64) {
        let (t, a, c) = if instruction {
            (fault_area::IFT, fault_area::IFA, fault_area::IFC)
        } else {
            (fault_area::DFT, fault_area::DFA, fault_area::DFC)
        };
        (self.u64_at(FAULT + t as u64), self.u64_at(FAULT + a as u64), self.u64_at(FAULT + c as u64))
    }

    fn clear_fault(&mut self) {
        self.hw.load(pa(FAULT), &[0xee; 0x80]);
    }
}

fn vector(tt: u64, guest_tl: u64) -> u64 {
    TBA + if guest_tl > 0 { 0x4000 } else { 0 } + tt * 32
}

// ---------------------------------------------------------------- TSB registration

#[test]
fn tsb_registration_and_info_round_trip() {
    let mut b = bench();
    let d0 = desc(0, 512, 0, TSB0);
    let d1 = desc(3, 1024, TSBD_CTX_IDX_SHARED, TSB1);
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0_INFO, &[0, BUF]), (0, 0, 0), "none yet: nothing checked");
    assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[d0, d1]), 0);
    assert_eq!(b.register(hcall::MMU_TSB_CTXNON0, &[d1]), 0);
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0_INFO, &[2, BUF]), (0, 2, 0));
    let mut want = d0.to_be_bytes().to_vec();
    want.extend_from_slice(&d1.to_be_bytes());
    assert_eq!(b.hw.peek(pa(BUF), 64), want);
    assert_eq!(b.fast(hcall::MMU_TSB_CTXNON0_INFO, &[5, BUF + 0x100]), (0, 1, 0));
    assert_eq!(b.hw.peek(pa(BUF + 0x100), 32), d1.to_be_bytes());
    // Info errors still return the count.
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0_INFO, &[1, BUF]), (EINVAL, 2, 0));
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0_INFO, &[2, BUF + 4]), (EBADALIGN, 2, 0));
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0_INFO, &[2, REAL_END - 32]), (ENORADDR, 2, 0));
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0_INFO, &[2, 0x1000]), (ENORADDR, 2, 0));
    // The compact view for the fast path.
    assert_eq!(
        b.hv.vcpus[0].lock().mmu.fast_tsbs(false),
        [
            FastTsb { base_pa: pa(TSB0), offset_mask: 511 * 16, offset_shift: 9, tag_mask: u64::MAX },
            FastTsb { base_pa: pa(TSB1), offset_mask: 1023 * 16, offset_shift: 18, tag_mask: u64::MAX },
        ]
    );
    assert_eq!(
        b.hv.vcpus[0].lock().mmu.fast_tsbs(true),
        [
            FastTsb { base_pa: pa(TSB1), offset_mask: 1023 * 16, offset_shift: 18, tag_mask: u64::MAX },
            FastTsb::default()
        ]
    );
    assert_eq!(b.register(hcall::MMU_TSB_CTXNON0, &[d0]), 0);
    assert_eq!(
        b.hv.vcpus[0].lock().mmu.fast_tsbs(true)[0].tag_mask,
        !(0x1fff << 48),
        "unshared: context not in the tag"
    );
    // ntsb 0 unconfigures.
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0, &[0, 0x7]).0, 0);
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0_INFO, &[0, 0]), (0, 0, 0));
    assert_eq!(b.hv.vcpus[0].lock().mmu.fast_tsbs(false), [FastTsb::default(); 2]);
}

#[test]
fn tsb_registration_checks_every_field() {
    let mut b = bench();
    let good = desc(0, 512, 0, TSB0);
    // The array.
    b.hw.load(pa(DESCS), &good.to_be_bytes());
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0, &[3, DESCS]).0, EINVAL, "more than 2");
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0, &[1, DESCS + 4]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0, &[1, REAL_END - 16]).0, ENORADDR, "array overlaps the end");
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0, &[1, 0x2000]).0, ENORADDR);
    assert_eq!(b.fast(hcall::MMU_TSB_CTX0, &[1, u64::MAX - 7]).0, ENORADDR);
    // Each field.
    let cases: Vec<(TsbDescriptor, u64, &str)> = vec![
        (TsbDescriptor { pgsz_idx: 2, pgsz_mask: 0x04, ..good }, EBADPGSZ, "512K index"),
        (TsbDescriptor { pgsz_idx: 8, pgsz_mask: 0x100, ..good }, EBADPGSZ, "index 8"),
        (TsbDescriptor { pgsz_idx: 0xffff, ..good }, EBADPGSZ, "index 0xffff"),
        (TsbDescriptor { pgsz_mask: 0x2a, ..good }, EINVAL, "index bit not in mask"),
        (TsbDescriptor { pgsz_idx: 1, pgsz_mask: 0x2b, ..good }, EINVAL, "index not the lowest bit"),
        (TsbDescriptor { assoc: 0, ..good }, EBADTSB, "assoc 0"),
        (TsbDescriptor { assoc: 2, ..good }, EBADTSB, "assoc 2"),
        (TsbDescriptor { num_ttes: 0, ..good }, EBADTSB, "0 entries"),
        (TsbDescriptor { num_ttes: 256, ..good }, EBADTSB, "< 512"),
        (TsbDescriptor { num_ttes: 768, ..good }, EBADTSB, "not a power of two"),
        (TsbDescriptor { num_ttes: 512 << 16, ..good }, EBADTSB, "> 16M"),
        (TsbDescriptor { num_ttes: 0x8000_0000, ..good }, EBADTSB, "2^31"),
        (TsbDescriptor { ctx_idx: 1, ..good }, EINVAL, "ctx_idx 1"),
        (TsbDescriptor { ctx_idx: 0xffff_fffe, ..good }, EINVAL, "ctx_idx -2"),
        (TsbDescriptor { reserved: 1, ..good }, EINVAL, "reserved"),
        (TsbDescriptor { tsb_base: 0x10_0000, ..good }, ENORADDR, "below memory"),
        (TsbDescriptor { tsb_base: REAL_END, ..good }, ENORADDR, "at the end"),
        (TsbDescriptor { tsb_base: REAL_END - 0x1000, ..good }, ENORADDR, "overlaps the end"),
        (TsbDescriptor { tsb_base: !0x1fff, ..good }, ENORADDR, "wraps"),
        (TsbDescriptor { tsb_base: TSB0 + 0x1000, ..good }, EBADALIGN, "not size aligned"),
        (TsbDescriptor { tsb_base: TSB0 + 16, ..good }, EBADALIGN, "entry aligned only"),
        (TsbDescriptor { num_ttes: 512 << 15, tsb_base: REAL + SIZE / 2, ..good }, ENORADDR, "too big for memory"),
    ];
    for (d, want, what) in cases {
        for function in [hcall::MMU_TSB_CTX0, hcall::MMU_TSB_CTXNON0] {
            // A good registration first: a failed call leaves the class unconfigured.
            assert_eq!(b.register(function, &[good]), 0);
            assert_eq!(b.register(function, &[good, d]), want, "{what}");
            let info =
                if function == hcall::MMU_TSB_CTX0 { hcall::MMU_TSB_CTX0_INFO } else { hcall::MMU_TSB_CTXNON0_INFO };
            assert_eq!(b.fast(info, &[2, BUF]), (0, 0, 0), "{what}: class unconfigured");
        }
    }
    // Largest legal sizes: 256M-indexed TSB, and a TSB filling all of memory (16M entries × 16 B).
    assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[desc(5, 512, 0, TSB0)]), 0);
    assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[desc(0, 512 << 15, 0, REAL)]), 0);
}

// ---------------------------------------------------------------- TSB hits

#[test]
fn tsb_hits_load_the_physical_page_for_every_size() {
    let mut b = bench_with_fault_area();
    assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[desc(0, 512, 0, TSB0), desc(3, 512, 0, TSB1)]), 0);
    // 8K: index from VA bits 21:13.
    let va = 0xffff_f800_0012_4000u64;
    let idx = (va >> 13) & 511;
    b.put_entry(TSB0, idx, tsb_tag(0, va), tte(REAL + 0x50_2000, PageSize::Size8K) | LOCK);
    let (a, f) = b.miss(0x68, 0, va);
    assert_eq!((a, f.resume), (Action::Resume, RESUME_RETRY));
    let (set, lva, ctx, t) = *b.hw.tlb_loads.last().unwrap();
    assert_eq!((set, lva, ctx), (DTLB, va, 0));
    assert_eq!(t & LOCK, 0, "lock bit cleared");
    assert_eq!(t & Tte::RA_MASK, pa(REAL + 0x50_2000));
    assert_eq!(t & !Tte::RA_MASK, tte(0, PageSize::Size8K) & !Tte::RA_MASK);
    assert_eq!(b.hw.translate(DTLB, va + 0x123, 0), Some(pa(REAL + 0x50_2123)));
    // 64K in the 8K-indexed TSB: RA bits below 64K ignored.
    let va = 0x1_0003_0000u64;
    b.put_entry(TSB0, ((va + 0x2000) >> 13) & 511, tsb_tag(0, va), tte(REAL + 0x7_2000, PageSize::Size64K));
    let (_, f) = b.miss(0x68, 0, va + 0x2000);
    assert_eq!(f.resume, RESUME_RETRY);
    assert_eq!(b.hw.translate(DTLB, va + 0xfff8, 0), Some(pa(REAL + 0x7_fff8)));
    // 4M in the 4M-indexed TSB (index from VA bits 30:22), through the ITLB (X set).
    let va = 0x7fc0_0000u64;
    b.put_entry(TSB1, (va >> 22) & 511, tsb_tag(0, va), tte(REAL + 0x0c00_0000, PageSize::Size4M));
    let (_, f) = b.miss(0x64, 0, va + 0x3f_e000);
    assert_eq!(f.resume, RESUME_RETRY);
    assert_eq!(b.hw.tlb_loads.last().unwrap().0, ITLB);
    assert_eq!(b.hw.translate(ITLB, va + 0x12_3456, 0), Some(pa(REAL + 0x0c12_3456)));
    // 256M: demoted to the 4M piece holding the VA.
    let va = 0x1_2000_0000u64;
    let fault_va = va + 0x0ac0_0000 + 0x6000;
    b.put_entry(TSB1, (fault_va >> 22) & 511, tsb_tag(0, fault_va), tte(REAL, PageSize::Size256M));
    let (_, f) = b.miss(0x68, 1, fault_va);
    assert_eq!(f.resume, RESUME_RETRY);
    let t = b.hw.tlb_loads.last().unwrap().3;
    assert_eq!(t & Tte::SZ_MASK, 3, "loaded as 4M");
    assert_eq!(t & Tte::RA_MASK, pa(REAL + 0x0ac0_0000));
    assert_eq!(b.hw.translate(DTLB, fault_va + 8, 0), Some(pa(REAL + 0x0ac0_6008)));
    assert_eq!(b.hw.translate(DTLB, va, 0), None, "only one 4M piece");
}

#[test]
fn tsb_tags_contexts_and_the_x_bit() {
    let mut b = bench_with_fault_area();
    // Non-shared ctx≠0 TSB: the tag's context is ignored; shared: it must match.
    assert_eq!(
        b.register(hcall::MMU_TSB_CTXNON0, &[desc(0, 512, 0, TSB0), desc(0, 1024, TSBD_CTX_IDX_SHARED, TSB1)]),
        0
    );
    let va = 0x10_0000u64;
    b.put_entry(TSB0, (va >> 13) & 511, tsb_tag(0x99, va), tte(REAL + 0x2000, PageSize::Size8K));
    let (_, f) = b.miss(0x68, 0, va | 5);
    assert_eq!(f.resume, RESUME_RETRY);
    assert_eq!(b.hw.translate(DTLB, va, 5), Some(pa(REAL + 0x2000)));
    let va = 0x20_0000u64;
    b.put_entry(TSB1, (va >> 13) & 1023, tsb_tag(7, va), tte(REAL + 0x4000, PageSize::Size8K));
    let (_, f) = b.miss(0x68, 0, va | 6);
    assert_eq!((f.resume, f.target_tt), (RESUME_REVECTOR, 0x31), "shared TSB, other context: slow miss");
    assert_eq!(b.fault(false), (fault_type::MMU_MISS, va, 6));
    let (_, f) = b.miss(0x68, 0, va | 7);
    assert_eq!(f.resume, RESUME_RETRY);
    // VA bits above 22 must match.
    let (_, f) = b.miss(0x68, 0, (va + (1 << 32)) | 7);
    assert_eq!(f.target_tt, 0x31);
    // Invalid data word: a miss.
    b.put_entry(TSB1, (va >> 13) & 1023, tsb_tag(7, va), tte(REAL + 0x4000, PageSize::Size8K) & !Tte::V);
    assert_eq!(b.miss(0x68, 0, va | 7).1.target_tt, 0x31);
    // The ITLB needs X.
    b.put_entry(TSB1, (va >> 13) & 1023, tsb_tag(7, va), tte(REAL + 0x4000, PageSize::Size8K) & !Tte::X);
    let (_, f) = b.miss(0x64, 0, va | 7);
    assert_eq!((f.resume, f.target_tt), (RESUME_REVECTOR, 0x09));
    assert_eq!(b.fault(true), (fault_type::MMU_MISS, f.tpc, 7));
    assert_eq!(b.miss(0x68, 0, va | 7).1.resume, RESUME_RETRY, "the DTLB does not");
    // ctx 0 uses the ctx0 class, which has no TSBs: fast miss.
    assert_eq!(b.miss(0x68, 0, va).1.target_tt, 0x68);
}

#[test]
fn bad_ttes_are_never_loaded() {
    let mut b = bench_with_fault_area();
    // Memory ends 8 KiB short of a 256M boundary: big pages can reach past its end.
    b.hv.config.domains[0].memory.size = SIZE - 0x2000;
    assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[desc(0, 512, 0, TSB0)]), 0);
    let va = 0x4_0000_0000u64;
    let idx = (va >> 13) & 511;
    let loads = b.hw.tlb_loads.len();
    let cases = [
        (tte(REAL - 0x2000, PageSize::Size8K), fault_type::INV_RA),
        (tte(REAL_END - 0x2000, PageSize::Size8K), fault_type::INV_RA),
        (tte(REAL_END - 0x4000, PageSize::Size64K), fault_type::INV_RA),
        (tte(REAL_END - 0x20_0000, PageSize::Size4M), fault_type::INV_RA),
        (tte(REAL, PageSize::Size256M), fault_type::INV_RA),
        (tte(REAL + SIZE / 2, PageSize::Size256M) | (1 << 50), fault_type::INV_RA),
        (tte(REAL, PageSize::Size256M) | (1 << 45), fault_type::INV_RA),
        (tte(0, PageSize::Size8K), fault_type::INV_RA),
        (tte(REAL, PageSize::Size512K), fault_type::INV_PGSZ),
        (tte(REAL, PageSize::Size32M), fault_type::INV_PGSZ),
        (tte(REAL, PageSize::Size2G), fault_type::INV_PGSZ),
        (tte(REAL, PageSize::Size8K) | 0x8, fault_type::INV_PGSZ),
    ];
    for (data, ft) in cases {
        b.put_entry(TSB0, idx, tsb_tag(0, va), data);
        let (a, f) = b.miss(0x68, 0, va);
        assert_eq!((a, f.resume, f.target_tt, f.target_pc), (Action::Resume, RESUME_REVECTOR, 0x30, vector(0x30, 0)));
        assert_eq!(b.fault(false), (ft, va, 0));
        let (_, f) = b.miss(0x64, 1, va);
        assert_eq!((f.target_tt, f.target_pc), (0x08, vector(0x08, 1)));
        assert_eq!(b.fault(true), (ft, f.tpc, 0));
    }
    assert_eq!(b.hw.tlb_loads.len(), loads, "nothing loaded");
}

// ---------------------------------------------------------------- misses and faults

#[test]
fn slow_miss_fills_the_fault_area_and_revectors() {
    let mut b = bench_with_fault_area();
    assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[desc(0, 512, 0, TSB0)]), 0);
    assert_eq!(b.register(hcall::MMU_TSB_CTXNON0, &[desc(0, 512, 0, TSB1)]), 0);
    for tl in [0, 1] {
        b.clear_fault();
        let (a, f) = b.miss(0x68, tl, 0xabc_0000_2000 | 0x42);
        assert_eq!((a, f.resume, f.target_tt, f.target_pc), (Action::Resume, RESUME_REVECTOR, 0x31, vector(0x31, tl)));
        assert_eq!(b.fault(false), (fault_type::MMU_MISS, 0xabc_0000_2000, 0x42));
        assert_eq!(b.hw.peek(pa(FAULT), 0x18), vec![0xee; 0x18], "I half untouched");
        b.clear_fault();
        let (_, f) = b.miss(0x64, tl, 0x6000);
        assert_eq!((f.resume, f.target_tt, f.target_pc), (RESUME_REVECTOR, 0x09, vector(0x09, tl)));
        assert_eq!(b.fault(true), (fault_type::MMU_MISS, 0x1234_5678, 0));
        assert_eq!(b.hw.peek(pa(FAULT + 0x40), 0x18), vec![0xee; 0x18], "D half untouched");
    }
}

#[test]
fn fast_miss_and_protection_leave_the_type_word() {
    let mut b = bench_with_fault_area();
    for tl in [0, 1] {
        b.clear_fault();
        let (_, f) = b.miss(0x68, tl, 0x5_0000_4000 | 3);
        assert_eq!((f.resume, f.target_tt, f.target_pc), (RESUME_REVECTOR, 0x68, vector(0x68, tl)));
        assert_eq!(b.fault(false), (0xeeee_eeee_eeee_eeee, 0x5_0000_4000, 3));
        b.clear_fault();
        let (_, f) = b.miss(0x64, tl, 0x6000 | 9);
        assert_eq!((f.target_tt, f.target_pc), (0x64, vector(0x64, tl)));
        assert_eq!(b.fault(true), (0xeeee_eeee_eeee_eeee, 0x6000, 9));
        b.clear_fault();
        let (_, f) = b.miss(0x6c, tl, 0x8000 | 1);
        assert_eq!((f.target_tt, f.target_pc), (0x6c, vector(0x6c, tl)));
        assert_eq!(b.fault(false), (0xeeee_eeee_eeee_eeee, 0x8000, 1));
    }
    // ctx≠0 with only ctx0 TSBs: still a fast miss.
    assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[desc(0, 512, 0, TSB0)]), 0);
    assert_eq!(b.miss(0x68, 0, 0x8000 | 1).1.target_tt, 0x68);
    assert_eq!(b.miss(0x68, 0, 0x8000).1.target_tt, 0x31);
}

#[test]
fn mmu_faults_without_fault_area_or_above_maxptl_fail_the_guest() {
    for tt in [0x64, 0x68, 0x6c] {
        let mut b = bench();
        let (a, _) = b.miss(tt, 0, 0x2000);
        assert_eq!(a, Action::Idle, "no fault area: failure policy (stop)");
        let mut b = bench_with_fault_area();
        let (a, _) = b.miss(tt, 2, 0x2000);
        assert_eq!(a, Action::Idle, "would enter the guest above MAXPTL");
    }
}

// ---------------------------------------------------------------- permanent mappings

#[test]
fn permanent_mappings_survive_misses_and_demaps() {
    let mut b = bench_with_fault_area();
    let va = 0xffff_f800_0040_0000u64;
    let t = tte(REAL + 0x40_0000, PageSize::Size4M);
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[va, 0, t, 3]).0, 0);
    assert_eq!(b.hw.translate(DTLB, va + 0x10, 0), Some(pa(REAL + 0x40_0010)));
    assert_eq!(b.hw.translate(ITLB, va + 0x10, 0), Some(pa(REAL + 0x40_0010)));
    assert!(b.hw.tlb.iter().all(|e| e.3 & LOCK != 0), "loaded locked");
    let perm = b.hv.vcpus[0].lock().mmu.perm_mappings()[0];
    assert_eq!((perm.va, perm.tte, perm.flags), (va, t, 3));
    // Demaps keep it.
    assert_eq!(b.fast(hcall::MMU_DEMAP_PAGE, &[0, 0, va + 0x2000, 0, 3]).0, 0);
    assert_eq!(b.hw.translate(DTLB, va, 0), Some(pa(REAL + 0x40_0000)));
    assert_eq!(b.fast(hcall::MMU_DEMAP_CTX, &[0, 0, 0, 3]).0, 0);
    assert_eq!(b.hw.translate(ITLB, va, 0), Some(pa(REAL + 0x40_0000)));
    assert_eq!(b.fast(hcall::MMU_DEMAP_ALL, &[0, 0, 3]).0, 0);
    assert_eq!(b.hw.translate(DTLB, va, 0), Some(pa(REAL + 0x40_0000)));
    assert_eq!(b.hyper(0x184, &[va, 0, 1]), 0);
    assert_eq!(b.hw.translate(DTLB, va, 0), Some(pa(REAL + 0x40_0000)));
    // Lost from the TLB anyway (a demap of the hardware, a reset of a TLB): a miss reloads it.
    b.hw.tlb.clear();
    let (_, f) = b.miss(0x68, 0, va + 0x1f_e000);
    assert_eq!(f.resume, RESUME_RETRY);
    assert_eq!(b.hw.translate(DTLB, va + 0x1f_e008, 0), Some(pa(REAL + 0x5f_e008)));
    let (_, f) = b.miss(0x64, 1, va);
    assert_eq!(f.resume, RESUME_RETRY);
    assert_eq!(b.hw.translate(ITLB, va, 0), Some(pa(REAL + 0x40_0000)));
    // Only context 0.
    assert_eq!(b.miss(0x68, 0, va | 1).1.target_tt, 0x68);
    // A mapping in the DTLB only is not used for the ITLB.
    let va2 = 0x10_0000u64;
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[va2, 0, tte(REAL + 0x2000, PageSize::Size8K), 1]).0, 0);
    b.hw.tlb.clear();
    assert_eq!(b.miss(0x64, 0, va2).1.target_tt, 0x64);
    assert_eq!(b.miss(0x68, 0, va2).1.resume, RESUME_RETRY);
    // Add the ITLB to it; the same TLB again, or another TTE, is EINVAL.
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[va2, 0, tte(REAL + 0x2000, PageSize::Size8K), 2]).0, 0);
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[va2, 0, tte(REAL + 0x2000, PageSize::Size8K), 2]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[va2, 0, tte(REAL + 0x4000, PageSize::Size8K), 3]).0, EINVAL);
    assert_eq!(b.miss(0x64, 0, va2).1.resume, RESUME_RETRY);
    // Unmap from the ITLB, then the DTLB: gone.
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[va2, 0, 2]).0, 0);
    assert_eq!(b.hw.translate(ITLB, va2, 0), None);
    assert_eq!(b.hw.translate(DTLB, va2, 0), Some(pa(REAL + 0x2000)));
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[va2, 0, 1]).0, 0);
    assert_eq!(b.hw.translate(DTLB, va2, 0), None);
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[va2, 0, 1]).0, ENOMAP);
    assert_eq!(b.miss(0x68, 0, va2).1.target_tt, 0x68);
    assert_eq!(b.hv.vcpus[0].lock().mmu.perm_mappings().len(), 1);
}

#[test]
fn permanent_mapping_checks_and_limit() {
    let mut b = bench();
    b.hv.config.domains[0].memory.size = SIZE - 0x2000;
    let t = tte(REAL + 0x2000, PageSize::Size8K);
    let va = 0x4000u64;
    for (args, want, what) in [
        ([va, 1, t, 3], EINVAL, "context ≠ 0"),
        ([0x0001_0000_0000_0000, 0, t, 3], EINVAL, "VA outside 48 bits"),
        ([0x8000_0000_0000_0000, 0, t, 3], EINVAL, "VA in the hole"),
        ([va, 0, t, 0], EINVAL, "flags 0"),
        ([va, 0, t, 4], EINVAL, "flags 4"),
        ([va, 0, t, 7], EINVAL, "flags 7"),
        ([va, 0, t & !Tte::V, 3], EINVAL, "TTE not valid"),
        ([va, 0, tte(REAL, PageSize::Size512K), 3], EBADPGSZ, "512K"),
        ([0x1000_0000, 0, tte(REAL, PageSize::Size256M), 3], EBADPGSZ, "256M refused"),
        ([va, 0, t | 0xf, 3], EBADPGSZ, "size 15"),
        ([va + 0x1000, 0, t, 3], EINVAL, "VA not page aligned"),
        ([0x2_0000, 0, tte(REAL, PageSize::Size4M), 3], EINVAL, "VA not 4M aligned"),
        ([va, 0, tte(REAL_END, PageSize::Size8K), 3], ENORADDR, "RA past the end"),
        ([0x40_0000, 0, tte(REAL_END - 0x20_0000, PageSize::Size4M), 3], ENORADDR, "4M page past the end"),
        ([0x1_0000, 0, tte(REAL_END - 0x4000, PageSize::Size64K), 3], ENORADDR, "64K page past the end"),
        ([va, 0, tte(0x2000, PageSize::Size8K), 3], ENORADDR, "RA below memory"),
    ] {
        assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &args).0, want, "{what}");
    }
    assert!(b.hw.tlb_loads.is_empty());
    for i in 0..8u64 {
        assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[i << 13, 0, tte(REAL + (i << 13), PageSize::Size8K), 1]).0, 0);
    }
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[8 << 13, 0, t, 1]).0, ETOOMANY);
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[0, 0, tte(REAL, PageSize::Size8K), 2]).0, 0, "existing VA: ok");
    for i in 0..8u64 {
        assert_eq!(b.hw.translate(DTLB, (i << 13) + 4, 0), Some(pa(REAL + (i << 13) + 4)), "all 8 loaded");
    }
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[3 << 13, 0, 1]).0, 0);
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[8 << 13, 0, t, 1]).0, 0, "room again");
    // unmap checks
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[0, 1, 1]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[0x0001_0000_0000_0000, 0, 1]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[0, 0, 0]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[0, 0, 8]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[0x2_0000, 0, 1]).0, ENOMAP);
    assert_eq!(b.fast(hcall::MMU_UNMAP_PERM_ADDR, &[(1 << 13) + 0x1000, 0, 1]).0, ENOMAP, "exact VA only");
}

// ---------------------------------------------------------------- map_addr / demaps

#[test]
fn map_addr_and_unmap_addr() {
    let mut b = bench();
    let t = tte(REAL + 0x6000, PageSize::Size8K) | LOCK;
    assert_eq!(b.hyper(0x183, &[0x12_3456, 0x55, t, 3]), 0);
    assert_eq!(b.hw.tlb_loads.len(), 1);
    let (set, va, ctx, loaded) = b.hw.tlb_loads[0];
    assert_eq!((set, va, ctx), (crate::hardware::TlbSet::BOTH, 0x12_2000, 0x55), "VA masked to the page");
    assert_eq!(loaded & LOCK, 0, "lock bit cleared");
    assert_eq!(b.hw.translate(ITLB, 0x12_3456, 0x55), Some(pa(REAL + 0x7456)));
    // 256M: the 4M piece holding the VA.
    assert_eq!(b.hyper(0x183, &[0x3000_0000 + 0x0140_0010, 9, tte(REAL, PageSize::Size256M), 1]), 0);
    assert_eq!(b.hw.translate(DTLB, 0x3140_0010, 9), Some(pa(REAL + 0x0140_0010)));
    assert_eq!(b.hw.translate(DTLB, 0x3000_0000, 9), None);
    for (args, want) in [
        ([0x0000_8000_0000_0000, 0, t, 1], EINVAL),
        ([0x2000, 8192, t, 1], EINVAL),
        ([0x2000, 0, t, 0], EINVAL),
        ([0x2000, 0, t, 4], EINVAL),
        ([0x2000, 0, t & !Tte::V, 1], EINVAL),
        ([0x2000, 0, tte(REAL, PageSize::Size512K), 1], EBADPGSZ),
        ([0x2000, 0, tte(REAL, PageSize::Size16G), 1], EBADPGSZ),
        ([0x2000, 0, tte(REAL_END, PageSize::Size8K), 1], ENORADDR),
        ([0x2000, 0, tte(REAL - 0x1_0000, PageSize::Size64K), 1], ENORADDR),
        ([0x2000, 0, tte(REAL + SIZE, PageSize::Size256M), 1], ENORADDR),
    ] {
        assert_eq!(b.hyper(0x183, &args), want, "{args:x?}");
    }
    assert_eq!(b.hw.tlb_loads.len(), 2);
    // unmap_addr
    assert_eq!(b.hyper(0x184, &[0x12_2ff8, 0x55, 1]), 0);
    assert_eq!(b.hw.translate(DTLB, 0x12_3456, 0x55), None);
    assert_eq!(b.hw.translate(ITLB, 0x12_3456, 0x55), Some(pa(REAL + 0x7456)));
    assert_eq!(b.hyper(0x184, &[0x12_2000, 0x55, 2]), 0);
    assert_eq!(b.hw.translate(ITLB, 0x12_3456, 0x55), None);
    assert_eq!(b.hyper(0x184, &[0x12_2000, 0x2000, 2]), EINVAL);
    assert_eq!(b.hyper(0x184, &[0xffff_0000_0000_0000, 0, 2]), EINVAL);
    assert_eq!(b.hyper(0x184, &[0x12_2000, 0, 0]), EINVAL);
}

#[test]
fn demap_calls_check_their_arguments() {
    let mut b = bench();
    assert_eq!(b.hyper(0x183, &[0x2000, 3, tte(REAL, PageSize::Size8K), 3]), 0);
    assert_eq!(b.hyper(0x183, &[0x4000, 4, tte(REAL, PageSize::Size8K), 3]), 0);
    assert_eq!(b.hyper(0x183, &[0x6000, 4, tte(REAL, PageSize::Size8K), 3]), 0);
    // demap_page
    assert_eq!(b.fast(hcall::MMU_DEMAP_PAGE, &[1, 0, 0x2000, 3, 3]).0, ENOTSUPPORTED);
    assert_eq!(b.fast(hcall::MMU_DEMAP_PAGE, &[0, 1, 0x2000, 3, 3]).0, ENOTSUPPORTED);
    assert_eq!(b.fast(hcall::MMU_DEMAP_PAGE, &[0, 0, 0x2000, 8192, 3]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_DEMAP_PAGE, &[0, 0, 0x7fff_0000_0000_0000, 3, 3]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_DEMAP_PAGE, &[0, 0, 0x2000, 3, 0]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_DEMAP_PAGE, &[0, 0, 0x2000, 3, 5]).0, EINVAL);
    assert_eq!(b.hw.tlb.len(), 6, "nothing demapped by a failed call");
    assert_eq!(b.fast(hcall::MMU_DEMAP_PAGE, &[0, 0, 0x2abc, 3, 2]).0, 0);
    assert_eq!((b.hw.translate(ITLB, 0x2000, 3), b.hw.translate(DTLB, 0x2000, 3)), (None, Some(pa(REAL))));
    // demap_ctx
    assert_eq!(b.fast(hcall::MMU_DEMAP_CTX, &[0, 9, 4, 3]).0, ENOTSUPPORTED);
    assert_eq!(b.fast(hcall::MMU_DEMAP_CTX, &[0, 0, 8192, 3]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_DEMAP_CTX, &[0, 0, 4, 0]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_DEMAP_CTX, &[0, 0, 4, 1]).0, 0);
    assert_eq!(b.hw.translate(DTLB, 0x4000, 4), None);
    assert_eq!(b.hw.translate(ITLB, 0x6000, 4), Some(pa(REAL)));
    // demap_all
    assert_eq!(b.fast(hcall::MMU_DEMAP_ALL, &[1, 1, 3]).0, ENOTSUPPORTED);
    assert_eq!(b.fast(hcall::MMU_DEMAP_ALL, &[0, 0, 0]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_DEMAP_ALL, &[0, 0, 0x13]).0, EINVAL);
    assert_eq!(b.fast(hcall::MMU_DEMAP_ALL, &[0, 0, 3]).0, 0);
    assert!(b.hw.tlb.is_empty());
}

// ---------------------------------------------------------------- fault area, enable, memory

#[test]
fn fault_area_conf_and_info() {
    let mut b = bench();
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_INFO, &[]), (0, 0, 0));
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[FAULT + 32]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[REAL_END - 64]).0, ENORADDR);
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[REAL_END]).0, ENORADDR);
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[0x4000]).0, ENORADDR);
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[!63]).0, ENORADDR);
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[FAULT]), (0, 0, 0));
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[REAL_END - 128]), (0, FAULT, 0));
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_INFO, &[]), (0, REAL_END - 128, 0));
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_CONF, &[0]), (0, REAL_END - 128, 0), "0 removes it");
    assert_eq!(b.fast(hcall::MMU_FAULT_AREA_INFO, &[]), (0, 0, 0));
    assert_eq!(b.miss(0x68, 0, 0x2000).0, Action::Idle, "no fault area any more");
}

#[test]
fn mmu_enable_returns_to_the_given_address() {
    let mut b = bench();
    let mut f = b.frame(0x180, 1);
    f.o[..2].copy_from_slice(&[1, 0xffff_f800_0000_1000]);
    f.o[5] = hcall::MMU_ENABLE;
    assert_eq!(b.handle(&mut f), Action::Resume);
    assert_eq!((f.o[0], f.resume, f.target_pc), (0, RESUME_DONE_AT, 0xffff_f800_0000_1000));
    assert!(b.hw.mmu_enabled && b.hv.vcpus[0].lock().mmu.enabled);
    assert_eq!(b.fast(hcall::MMU_ENABLE, &[5, 0x1000]).0, EINVAL, "already on");
    assert_eq!(b.fast(hcall::MMU_ENABLE, &[0, REAL + 2]).0, EBADALIGN);
    assert_eq!(b.fast(hcall::MMU_ENABLE, &[0, 0x1000]).0, ENORADDR, "off: an RA");
    assert_eq!(b.fast(hcall::MMU_ENABLE, &[0, REAL_END]).0, ENORADDR);
    assert!(b.hw.mmu_enabled);
    let mut f = b.frame(0x180, 1);
    f.o[..2].copy_from_slice(&[0, REAL + 0x100]);
    f.o[5] = hcall::MMU_ENABLE;
    b.handle(&mut f);
    assert_eq!((f.o[0], f.resume, f.target_pc), (0, RESUME_DONE_AT, REAL + 0x100));
    assert!(!b.hw.mmu_enabled);
    assert_eq!(b.fast(hcall::MMU_ENABLE, &[0, REAL]).0, EINVAL, "already off");
    assert_eq!(b.fast(hcall::MMU_ENABLE, &[1, 0x1001]).0, EBADALIGN);
}

#[test]
fn mem_scrub_and_sync() {
    let mut b = bench();
    let ra = REAL + 0x40_0000;
    b.hw.load(pa(ra), &[0xaa; 0x4000]);
    b.hw.load(pa(ra + 0x4000), &[0xbb; 16]);
    assert_eq!(b.fast(hcall::MEM_SCRUB, &[ra, 0x4000]), (0, 0x4000, 0));
    assert_eq!(b.hw.peek(pa(ra), 0x4000), vec![0; 0x4000]);
    assert_eq!(b.hw.peek(pa(ra + 0x4000), 16), vec![0xbb; 16]);
    assert_eq!(b.fast(hcall::MEM_SCRUB, &[REAL, SIZE]), (0, MEM_SCRUB_MAX, 0), "partial");
    for f in [hcall::MEM_SCRUB, hcall::MEM_SYNC] {
        assert_eq!(b.fast(f, &[ra, 0]).0, EINVAL);
        assert_eq!(b.fast(f, &[ra + 0x1000, 0x2000]).0, EBADALIGN);
        assert_eq!(b.fast(f, &[ra, 0x2040]).0, EBADALIGN);
        assert_eq!(b.fast(f, &[REAL_END - 0x2000, 0x4000]).0, ENORADDR);
        assert_eq!(b.fast(f, &[REAL - 0x2000, 0x2000]).0, ENORADDR);
        assert_eq!(b.fast(f, &[ra, !0x1fff]).0, ENORADDR);
    }
    assert_eq!(b.fast(hcall::MEM_SYNC, &[REAL, SIZE]), (0, SIZE, 0));
}

#[test]
fn sir_resets_the_mmu_state() {
    let mut b = bench_with_fault_area();
    assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[desc(0, 512, 0, TSB0)]), 0);
    assert_eq!(b.fast(hcall::MMU_MAP_PERM_ADDR, &[0x2000, 0, tte(REAL, PageSize::Size8K), 3]).0, 0);
    assert_eq!(b.fast(hcall::MMU_ENABLE, &[1, 0x2000]).0, 0);
    let mut f = b.frame(0x180, 1);
    f.o[5] = hcall::MACH_SIR;
    assert_eq!(b.handle(&mut f), Action::Idle);
    assert!(b.launched().is_some());
    assert_eq!(b.hv.vcpus[0].lock().mmu, crate::mmu::MmuState::default());
    assert!(b.hw.tlb.is_empty(), "permanent mappings removed");
    assert!(!b.hw.mmu_enabled);
}

// ---------------------------------------------------------------- hostile guests

impl XorShift {
    /// An address-like value: often near the edges of the guest's memory.
    fn addr(&mut self) -> u64 {
        let edges = [0, REAL, REAL_END, REAL_END - 0x2000, REAL_END - 0x40_0000, REAL - 0x2000, MEMBASE, u64::MAX];
        match self.below(4) {
            0 => self.next(),
            1 => REAL + self.below(SIZE),
            2 => edges[self.below(edges.len() as u64) as usize].wrapping_add(self.below(0x8000)),
            _ => (REAL + (self.below(SIZE) & !0x1fff)) & !(self.below(2) * 0x3f_ffff),
        }
    }

    fn tte(&mut self) -> u64 {
        let ra = self.addr();
        let mut base = self.next() & !Tte::RA_MASK;
        if self.below(4) != 0 {
            base = (base & !Tte::SZ_MASK) | [0, 1, 3, 5][self.below(4) as usize];
        }
        match self.below(4) {
            0 => self.next(),
            _ => Tte::V | base | (ra & Tte::RA_MASK),
        }
    }

    fn flags(&mut self) -> u64 {
        if self.below(4) == 0 {
            self.next()
        } else {
            1 + self.below(3)
        }
    }

    fn small(&mut self) -> u64 {
        [0, 1, 2, 3, 8191, 8192, self.next()][self.below(7) as usize]
    }
}

/// Every translation the hypervisor ever loaded lies wholly inside the domain's memory.
fn assert_isolated(hw: &FakeHardware, mem_size: u64) {
    for &(_, va, ctx, t) in &hw.tlb_loads {
        let size = page_size(t);
        let code = t & Tte::SZ_MASK;
        assert!(code == 0 || code == 1 || code == 3, "only 8K/64K/4M reach the TLB: {t:#x}");
        let p = t & Tte::RA_MASK;
        assert_eq!(p & (size - 1), 0, "page aligned: {t:#x}");
        assert!(p >= MEMBASE && p + size <= MEMBASE + mem_size, "outside the domain: va {va:#x} ctx {ctx} tte {t:#x}");
        assert!(t & Tte::V != 0);
    }
}

#[test]
fn hostile_guest_never_escapes_its_memory() {
    // Memory ends 8 KiB short of a 256M boundary, so that large pages can straddle its end.
    const MEM_SIZE: u64 = SIZE - 0x2000;
    let mut b = bench_with_fault_area();
    b.hv.config.domains[0].memory.size = MEM_SIZE;
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let pages_before: Vec<u64> = b.hw.pages().collect();
    let mmu_calls = [
        hcall::MMU_TSB_CTX0,
        hcall::MMU_TSB_CTXNON0,
        hcall::MMU_DEMAP_PAGE,
        hcall::MMU_DEMAP_CTX,
        hcall::MMU_DEMAP_ALL,
        hcall::MMU_MAP_PERM_ADDR,
        hcall::MMU_FAULT_AREA_CONF,
        hcall::MMU_ENABLE,
        hcall::MMU_UNMAP_PERM_ADDR,
        hcall::MMU_TSB_CTX0_INFO,
        hcall::MMU_TSB_CTXNON0_INFO,
        hcall::MMU_FAULT_AREA_INFO,
        hcall::MEM_SCRUB,
        hcall::MEM_SYNC,
    ];
    let mut loaded = 0;
    for round in 0..100_000u64 {
        if rng.below(8) == 0 {
            // Keep good TSBs registered, and the fault area, so that misses hit.
            b.register(hcall::MMU_TSB_CTX0, &[desc(0, 512, 0, TSB0), desc(3, 512, TSBD_CTX_IDX_SHARED, TSB1)]);
            b.register(hcall::MMU_TSB_CTXNON0, &[desc(1, 512, 0, TSB1)]);
            b.fast(hcall::MMU_FAULT_AREA_CONF, &[FAULT]);
        }
        match rng.below(6) {
            0 | 1 => {
                // Scribble on a TSB: often a matching tag for a VA we then miss on.
                let va = rng.addr() & !0x1fff;
                let ctx = if rng.below(2) == 0 { 0 } else { rng.below(8192) };
                let (tsb, shift) = [(TSB0, 13), (TSB1, 22), (TSB1, 16)][rng.below(3) as usize];
                let index = (va >> shift) & 511;
                let tag = if rng.below(4) == 0 { rng.next() } else { tsb_tag(ctx, va) };
                let data = rng.tte();
                b.put_entry(tsb, index, tag, data);
                let tt = [0x64, 0x68, 0x6c][rng.below(3) as usize];
                let tag_access = if rng.below(8) == 0 { rng.next() } else { va | ctx };
                let mut f = b.frame(tt, 1 + rng.below(3));
                f.i_tag_access = tag_access;
                f.d_tag_access = tag_access;
                f.tba = rng.next();
                f.tpc = rng.next();
                let before = b.hw.tlb_loads.len();
                if b.handle(&mut f) == Action::Idle {
                    b.launched(); // the strand's loop: a restart runs, a stop waits
                }
                loaded += b.hw.tlb_loads.len() - before;
            }
            2 => {
                let tt = 0x183 + rng.below(2);
                let o = [rng.addr(), rng.small(), rng.tte(), rng.flags()];
                let o = if tt == 0x184 { [o[0], o[1], o[3], 0] } else { o };
                let mut f = b.frame(tt, 1);
                f.o[..4].copy_from_slice(&o);
                if b.handle(&mut f) == Action::Idle {
                    b.launched(); // the strand's loop: a restart runs, a stop waits
                }
            }
            _ => {
                let function = mmu_calls[rng.below(mmu_calls.len() as u64) as usize];
                let mut o = [rng.addr(), rng.small(), rng.tte(), rng.flags(), rng.flags()];
                match function {
                    hcall::MMU_TSB_CTX0 | hcall::MMU_TSB_CTXNON0 => {
                        // Random descriptors, some nearly valid.
                        let mut bytes = Vec::new();
                        for _ in 0..2 {
                            let mut d = desc([0, 1, 3, 5][rng.below(4) as usize], 512 << rng.below(4), 0, rng.addr());
                            match rng.below(4) {
                                0 => d = TsbDescriptor::from_be_bytes(&rng_bytes(&mut rng)),
                                1 => d.tsb_base &= !0xffff,
                                _ => {}
                            }
                            bytes.extend_from_slice(&d.to_be_bytes());
                        }
                        b.hw.load(pa(DESCS), &bytes);
                        o[0] = rng.below(4);
                        o[1] = if rng.below(2) == 0 { DESCS } else { rng.addr() };
                    }
                    hcall::MEM_SCRUB if rng.below(50) != 0 => o[1] = rng.next() | 1, // keep scrubs rare
                    hcall::MMU_MAP_PERM_ADDR => o[1] = rng.below(2),
                    _ => {}
                }
                let mut f = b.frame(0x180, 1);
                f.o[..5].copy_from_slice(&o);
                f.o[5] = function;
                if b.handle(&mut f) == Action::Idle {
                    b.launched(); // the strand's loop: a restart runs, a stop waits
                }
            }
        }
        if round % 5000 == 0 {
            assert_isolated(&b.hw, MEM_SIZE);
        }
    }
    assert_isolated(&b.hw, MEM_SIZE);
    eprintln!("fuzz: {loaded} TSB-hit loads, {} loads in all", b.hw.tlb_loads.len());
    // (A guest failure stops the vCPU and clears its MMU state until the loop registers
    // the TSBs again.)
    assert!(loaded > 500, "the fuzz loop must exercise TSB hits ({loaded})");
    // Nothing outside the domain's memory was written.
    for page in b.hw.pages() {
        assert!(
            (MEMBASE..MEMBASE + MEM_SIZE).contains(&page) || pages_before.contains(&page),
            "write outside the domain at {page:#x}"
        );
    }
}

fn rng_bytes(rng: &mut XorShift) -> [u8; 32] {
    let mut b = [0u8; 32];
    for c in b.chunks_mut(8) {
        c.copy_from_slice(&rng.next().to_be_bytes());
    }
    b
}

#[test]
fn hostile_tsb_descriptors_are_refused() {
    // Descriptors aimed at the hypervisor, other memory, or wrapping around.
    let mut b = bench();
    for base in [0, MEMBASE, pa(REAL_END), 0x1f_1200_0000, u64::MAX - 0x1fff, REAL_END - 0x1000, REAL - 0x2000] {
        assert_eq!(b.register(hcall::MMU_TSB_CTX0, &[desc(0, 512, 0, base)]), ENORADDR, "{base:#x}");
    }
    assert_eq!(b.register(hcall::MMU_TSB_CTXNON0, &[desc(0, 0x8000_0000, 0, REAL)]), EBADTSB);
    assert_eq!(b.hv.vcpus[0].lock().mmu.tsbs(false).len(), 0);
}

/// RA→PA (qemu-sun4v `ra2pa`): a real-translation miss inside the domain loads a real TTE
/// with the physical page (4 MiB where both addresses are aligned, else 8 KiB) and retries;
/// outside it is the guest's access error; the vCPU's strand serves its domain's partition.
#[test]
fn real_translation_misses_load_the_domains_pages_only() {
    const PA: u64 = 0xa000_0000;
    let hv_md = HvMd { membase: PA, memsize: SIZE / 2, realbase: BASE, strands: true, ..HvMd::default() };
    let mut b = Bench::with(&hv_md, &GuestMd::default());
    assert_eq!(b.hw.partition, 0, "domain 0's partition");
    for (tt, ra, tlbs) in [(0x3f, BASE + 0x12_3456, TlbSet::DATA), (0x3e, BASE + SIZE / 2 - 8, TlbSet::INSTRUCTION)] {
        let mut f = b.frame(tt, 1);
        f.d_tag_access = ra;
        f.tpc = ra;
        assert_eq!(b.handle(&mut f), Action::Resume);
        assert_eq!(f.resume, crate::trap::RESUME_RETRY);
        let (loaded, page, tte) = b.hw.real_loads.pop().expect("a real TTE");
        let page_4m = ra & !0x3f_ffff;
        assert_eq!((loaded, page), (tlbs, page_4m));
        assert_eq!(tte & Tte::RA_MASK & !0x3f_ffff, PA + (page_4m - BASE), "the physical page");
        assert_eq!(tte & 7, 3, "4 MiB");
        assert!(tte & Tte::V != 0 && tte & Tte::W != 0 && tte & Tte::P != 0);
    }
    // Outside the domain (past its end, the hypervisor, another domain's memory): an access
    // error in the guest's trap table, nothing loaded.
    for ra in [BASE + SIZE / 2, 0x10_0000, PA, 0] {
        let mut f = b.frame(0x3f, 1);
        f.d_tag_access = ra;
        assert_eq!(b.handle(&mut f), Action::Resume);
        assert_eq!((f.resume, f.target_tt), (crate::trap::RESUME_REVECTOR, 0x32), "ra {ra:#x}");
        assert!(b.hw.real_loads.is_empty());
    }
}

/// A domain whose real base differs from its physical one cannot boot where nothing
/// translates real addresses (stock QEMU).
#[test]
fn ra_not_pa_needs_real_translation() {
    let mut hw = FakeHardware::new();
    let hv_md = HvMd { membase: 0xa000_0000, memsize: SIZE / 2, ..HvMd::default() };
    hw.load(crate::test_bench::PDPA, &GuestMd::default().build());
    let e = Hypervisor::boot(&mut hw, &hv_md.build(), (BASE, SIZE * 2)).unwrap_err();
    assert!(e.to_string().contains("needs RA->PA translation"), "{e}");
}
