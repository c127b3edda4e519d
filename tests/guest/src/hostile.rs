//! The hostile guest (`GUEST_MODE=hostile`, image `hostile-guest`, QEMU case `hostile`): more
//! than 10^6 hostile calls through the machine path — the real trap table, the assembly
//! fast paths and the Rust handlers — from a fixed seed printed first (`seed 0x…`;
//! `HOSTILE_SEED=0x…` in the environment of the build replaces it), in stages:
//!
//! 1. every `ta 0x80` function 0–0x1ff, MMU off, at TL 0–2 (a quarter of the calls with
//!    PSTATE's AM, TLE, CLE or PEF flipped), with arguments at and across
//!    every edge (the domain's memory, hypervisor RAM, the MD slots, the UART, NVRAM, the
//!    PROM, 0, `u64::MAX`, `1 << 63`, RA aliases above bit 40, misaligned values, huge
//!    lengths);
//! 2. every other hypervisor trap number, `ta 0x81`–`0xff` (`0xff`: the core functions);
//! 3. MMU on: hostile TSB entries of every page size aimed outside the domain, for data and
//!    instruction accesses, random TTEs, TSBs that cross the domain's end, and `ASI_REAL`
//!    accesses outside the domain;
//! 4. MMU off: real loads outside the domain, stores and instruction fetches where nothing
//!    answers;
//! 5. random legal register-window states at TL 0–2 with a hostile call from them: every
//!    register of every window must come back;
//! 6. foreign vCPUs and queues: vCPU ids are per domain, so every id not in the domain's own
//!    MD (the other domains' among them) must answer `ENOCPU` — `cpu_state` and
//!    `cpu_mondo_send` for every id 0–0xffff, `cpu_start`, `cpu_stop`, `intr_settarget` for
//!    edge ids; mondo lists and data, and every queue of `cpu_qconf`, at and across the
//!    domain's edges (below its base lies another domain when there is one);
//! 7. channels and map-in pages (docs/ldc.md): every LDC call on every channel id that is
//!    not the domain's own (`ECHANNEL`), the `vintr_*` calls with foreign devhandles,
//!    devinos and target vCPUs, `ldc_unmap` and TTEs of every map-in slot (the other
//!    domain's among them); on its own channels queues and map tables at and across the
//!    edges, a map table whose MTEs name pages anywhere, send floods to a peer that has no
//!    receive queue (case `two-domains-hostile`: the victim), heads the queue does not
//!    have, `ldc_copy` / `ldc_mapin` / `ldc_revoke` with cookies of every kind.
//!
//! Buffers inside the domain always point into the scratch region, the top MiB of the
//! domain, so that a pointer plus any length is either inside the scratch region or
//! crosses the domain's end (which the hypervisor must refuse). The guest's stack is moved
//! into its `.bss`. Not called, because they legitimately end, reset or move the guest:
//! `mach_exit`, `mach_sir`, `api_exit`, `mmu_enable` that would change the MMU's state
//! (it is called with the state it already has, so it must refuse), `mach_set_watchdog`
//! below one hour (replaced by 0), and console output is kept short (printable characters
//! become `.`; `cons_write` from inside the domain writes at most 4 `.`). After the calls
//! that change what the guest relies on, the guest puts it back: `cpu_set_rtba`, an armed
//! watchdog, a permanent mapping, the fault status area.
//!
//! After each stage (and every 8192 calls) it checks that its image and its canaries are
//! unchanged, and after each stage that the hypervisor still answers: `cpu_myid`, version
//! negotiation, `mach_desc` byte for byte against the copy read at the start, `tod_get`,
//! and, read with the MMU off (while the hypervisor uses no real translation, RA = PA), the
//! MD slots and the hypervisor's code in the PROM. Any finding prints `FAIL` with the seed, the stage and the
//! call; the summary gives the calls per stage and `0 findings`, then `mach_exit(0)`.

use crate::rt::{canary_changed, fill_canary, Buffer, GUEST_RESUME_PC, LAST_TT};
use crate::windows::{Action, WindowCase, WindowState};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};
use hv_api::error::HvError;
use hv_api::guest as hv;
use hv_api::{core_fn, group, hcall};

/// The run's seed; `HOSTILE_SEED` in the environment of the build replaces it.
const SEED: u64 = match option_env!("HOSTILE_SEED") {
    Some(s) => parse_hex(s),
    None => 0x5eed_0014_1e55_c0de,
};

const fn parse_hex(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut i = if b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') { 2 } else { 0 };
    let mut v = 0u64;
    while i < b.len() {
        let d = match b[i] {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        };
        if b[i] != b'_' {
            v = v << 4 | d as u64;
        }
        i += 1;
    }
    v
}

/// The top of the domain the hypervisor may write into: a MiB.
const SCRATCH_SIZE: u64 = 1 << 20;
/// Canary regions: just below the scratch region, after the image, in the middle.
const CANARY_SIZE: u64 = 64 << 10;
const STACK_SIZE: usize = 64 << 10;
/// Calls per fast-trap function (stage 1) and per other trap number (stage 2).
const CALLS_PER_FUNCTION: u64 = 1300;
const CALLS_PER_TRAP: u64 = 1800;
/// Random window states (stage 5).
const WINDOW_CASES: u64 = 20_000;
/// The memory check runs every this many calls.
const CHECK_EVERY: u64 = 8192;
/// `mach_set_watchdog` timeouts below this are not armed (the guest would be reset).
const WATCHDOG_SAFE_MS: u64 = 3_600_000;
/// Findings printed in full (all are counted).
const MAX_REPORTS: u64 = 20;

// Machine addresses (docs/architecture.md "Memory map").
const HV_RAM: u64 = 0x10_0000;
const HV_RAM_END: u64 = 0x400_0000;
const UART: u64 = 0x1f_1000_0000;
const NVRAM: u64 = 0x1f_1100_0000;
const GUEST_MD_SLOT: u64 = 0x1f_1200_0000;
const HV_MD_SLOT: u64 = 0x1f_1208_0000;
const NOTHING: u64 = 0x1f_3000_0000;
const DISK: u64 = 0x1f_4000_0000;
const PROM: u64 = 0xff_f000_0000;
const RTC: u64 = 0xff_f0c1_fff8;
/// Bytes of the PROM (the hypervisor's code) checked after each stage.
const PROM_CHECKED: u64 = 256 << 10;

// TTE bits and sizes (hv-api.md §4.1), fault status area (§4.3).
const TTE_V: u64 = hv_api::mmu::Tte::V;
const TTE_CP: u64 = hv_api::mmu::Tte::CP;
const TTE_CV: u64 = hv_api::mmu::Tte::CV;
const TTE_P: u64 = hv_api::mmu::Tte::P;
const TTE_X: u64 = hv_api::mmu::Tte::X;
const TTE_W: u64 = hv_api::mmu::Tte::W;
const PAGE_8K: u64 = hv_api::mmu::PageSize::Size8K.bytes();
const PAGE_4M: u64 = hv_api::mmu::PageSize::Size4M.bytes();
/// T1 page sizes: (TTE size code, shift).
const PAGE_SIZES: [(u64, u64); 4] = {
    use hv_api::mmu::PageSize::{Size256M, Size4M, Size64K, Size8K};
    let mut out = [(0, 0); 4];
    let sizes = [Size8K, Size64K, Size4M, Size256M];
    let mut i = 0;
    while i < 4 {
        out[i] = (sizes[i].code(), sizes[i].shift() as u64);
        i += 1;
    }
    out
};
const FA_IFT: usize = 0;
const FA_DFT: usize = 0x40 / 8;
const FT_INV_RA: u64 = 4;
const FT_INV_PGSZ: u64 = 15;
const MAP_ID: u64 = 3;
/// Addresses outside the domain that every stage aims at.
const OUTSIDE: usize = 44;
/// The map-in window (docs/ldc.md): slot `k` of endpoint `e` at `MAPIN_BASE_RA + (8e + k) × 2^28`.
const MAPIN_BASE_RA: u64 = hv_api::ldc::MAPIN_BASE_RA;
const MAPIN_SLOT_SIZE: u64 = hv_api::ldc::MAPIN_SLOT_SIZE;
/// The hostile virtual address (256 MiB aligned, far from the identity-mapped image).
const VA_H: u64 = 0x3_0000_0000;

const ASI_REAL: u64 = 0x14;

#[repr(C, align(8192))]
struct Page<const N: usize>(UnsafeCell<[u64; N]>);
// SAFETY: one vCPU; written by this module and by the hypervisor on its behalf.
unsafe impl<const N: usize> Sync for Page<N> {}
impl<const N: usize> Page<N> {
    const fn new() -> Self {
        Page(UnsafeCell::new([0; N]))
    }
    fn ra(&self) -> u64 {
        self.0.get() as u64
    }
    fn set(&self, i: usize, v: u64) {
        // SAFETY: an in-bounds word of this static (indexing panics otherwise).
        unsafe { core::ptr::write_volatile(&mut (*self.0.get())[i], v) }
    }
    fn get(&self, i: usize) -> u64 {
        // SAFETY: as `set`.
        unsafe { core::ptr::read_volatile(&(*self.0.get())[i]) }
    }
}

static STACK: Page<{ STACK_SIZE / 8 }> = Page::new();
static TSB: Page<1024> = Page::new();
static FAULT_AREA: Page<16> = Page::new();
static DESCRIPTORS: Page<8> = Page::new();
static MD_START: Buffer<8192> = Buffer::new();
static MD_NOW: Buffer<8192> = Buffer::new();

/// Traps the hostile stages expect (data and instruction faults), by the handler.
static EXPECTED_TRAPS: AtomicU64 = AtomicU64::new(0);

extern "C" {
    fn guest_switch_stack(top: u64, base: u64, size: u64, f: extern "C" fn(u64, u64) -> !) -> !;
    fn window_case(case: *const WindowCase, out: *mut WindowState);
    static guest_trap_table: u8;
    static __data_start: u8;
    static __bss_end: u8;
}

/// Entry from `guest_main`: moves the stack out of the scratch region and runs the stages.
pub fn start(base: u64, size: u64) -> ! {
    let top = STACK.ra() + STACK_SIZE as u64;
    // SAFETY: the stack is this module's own static; `run` never returns.
    unsafe { guest_switch_stack(top, base, size, run) }
}

/// Called by `rt::guest_trap` for every trap the trap table sends to Rust: data faults are
/// skipped, instruction faults go on at `GUEST_RESUME_PC`.
pub fn on_trap(tt: u64, _tpc: u64, _tl: u64) -> u64 {
    EXPECTED_TRAPS.fetch_add(1, Ordering::SeqCst);
    match tt {
        0x08 | 0x09 | 0x0a | 0x64 => 2,
        _ => 0,
    }
}

/// xorshift64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick(&mut self, list: &[u64]) -> u64 {
        list[self.below(list.len() as u64) as usize]
    }
}

struct Hostile {
    rng: Rng,
    base: u64,
    end: u64,
    scratch: u64,
    stage: &'static str,
    /// Calls of the current stage.
    calls: u64,
    findings: u64,
    /// A digest of every answer of the stage (statuses, results that do not depend on
    /// time, the traps of the accesses): the standard and the `HV_NO_FAST=1` hypervisor
    /// must print the same.
    digest: u64,
    mmu_on: bool,
    md_size: u64,
    image_sum: u64,
    hv_sums: [u64; 3],
    tod: u64,
    /// Edges: outside the domain, and inside the scratch region.
    outside: [u64; OUTSIDE],
    inside: [u64; 10],
}

extern "C" fn run(base: u64, size: u64) -> ! {
    say!("hostile: seed {SEED:#x}");
    let end = base + size;
    let scratch = end - SCRATCH_SIZE;
    let outside = [
        0,
        8,
        0x40,
        PAGE_8K,
        HV_RAM,
        HV_RAM + PAGE_8K,
        HV_RAM_END - 8,
        HV_RAM_END,
        base - 1,
        base - 8,
        base - 0x40,
        base - PAGE_8K,
        base - PAGE_4M,
        end,
        end + 8,
        end + PAGE_8K,
        end + PAGE_4M,
        UART,
        NVRAM,
        GUEST_MD_SLOT,
        GUEST_MD_SLOT + 0x1ff8,
        HV_MD_SLOT,
        NOTHING,
        DISK,
        PROM,
        PROM + 0x8_0000,
        RTC,
        u64::MAX,
        u64::MAX - 7,
        1 << 63,
        (1 << 63) | base,
        base | 1 << 40,
        scratch | 1 << 40,
        base | 1 << 39,
        1 << 40,
        base + (1 << 32),
        end.wrapping_neg(),
        (1 << 47) - PAGE_8K,
        0xffff_8000_0000_0000,
        base.wrapping_neg(),
        // The map-in window of channel pages (docs/ldc.md): the first slots of the first
        // endpoints (another domain's among them when there is a channel), a page's last
        // word, past a slot's page.
        MAPIN_BASE_RA,
        MAPIN_BASE_RA + PAGE_8K - 8,
        MAPIN_BASE_RA + 8 * MAPIN_SLOT_SIZE,
        MAPIN_BASE_RA + 8 * MAPIN_SLOT_SIZE + PAGE_8K,
    ];
    let inside = [
        scratch,
        scratch + 8,
        scratch + 0x40,
        scratch + PAGE_8K,
        end - 1,
        end - 8,
        end - 0x40,
        end - PAGE_8K,
        end - 0x10000,
        end - 0x40000,
    ];
    let mut h = Hostile {
        rng: Rng(SEED),
        base,
        end,
        scratch,
        stage: "start",
        calls: 0,
        findings: 0,
        digest: 0,
        mmu_on: false,
        md_size: 0,
        image_sum: 0,
        hv_sums: [0; 3],
        tod: 0,
        outside,
        inside,
    };
    h.prepare();
    let stages: [(&str, Stage); 7] = [
        ("fast-trap functions", Hostile::fast_trap_functions),
        ("hypervisor traps", Hostile::other_traps),
        ("hostile TSBs", Hostile::hostile_tsbs),
        ("real accesses", Hostile::real_accesses),
        ("window states", Hostile::window_states),
        ("foreign vCPUs and queues", Hostile::foreign_vcpus),
        ("channels and map-in pages", Hostile::channels),
    ];
    let mut counts = [0u64; 7];
    for (i, (name, stage)) in stages.iter().enumerate() {
        h.stage = name;
        h.calls = 0;
        h.digest = 0;
        stage(&mut h);
        // The calls may have negotiated other versions (even Core, which the console
        // needs); console output of the calls may have left a partial line.
        let versions = h.negotiate();
        say!("");
        h.verify(versions);
        counts[i] = h.calls;
        say!(
            "hostile: stage {} ({name}): {} calls, digest {:#018x}, {} findings so far",
            i + 1,
            h.calls,
            h.digest,
            h.findings
        );
    }
    let total: u64 = counts.iter().sum();
    if total < 1_000_000 {
        h.finding(format_args!("only {total} calls"));
    }
    say!(
        "hostile: summary: {total} calls (functions {}, traps {}, TSBs {}, real {}, windows {}, vCPUs {}, channels {}), seed {SEED:#x}, {} findings",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], h.findings
    );
    say!("hostile: {} findings", h.findings);
    hv::mach_exit(h.findings)
}

impl Hostile {
    fn finding(&mut self, what: core::fmt::Arguments<'_>) {
        self.findings += 1;
        if self.findings <= MAX_REPORTS {
            say!("FAIL hostile: seed {SEED:#x}, stage {}, call {}: {what}", self.stage, self.calls);
        }
    }

    /// Adds an answer to the stage's digest.
    fn note(&mut self, v: u64) {
        self.digest = (self.digest.rotate_left(7) ^ v).wrapping_mul(0x100_0000_01b3);
    }

    /// The start state: versions, the MD, checksums, canaries.
    fn prepare(&mut self) {
        let _ = hv::api_set_version(group::CORE, 1, 1);
        let _ = hv::api_set_version(group::SOFT_STATE, 1, 0);
        // SAFETY: MD_START is this module's buffer.
        self.md_size = match unsafe { hv::mach_desc(MD_START.ra(), 8192) } {
            Ok(n) => n,
            Err((e, n)) => {
                self.finding(format_args!("mach_desc at the start: {e:?} ({n})"));
                0
            }
        };
        self.image_sum = image_sum();
        self.hv_sums = hv_sums();
        self.tod = hv::tod_get().unwrap_or(0);
        let image_end = (core::ptr::addr_of!(__bss_end) as u64 + 0xffff) & !0xffff;
        if image_end - self.base > PAGE_4M - CANARY_SIZE {
            self.finding(format_args!("the image does not fit its 4 MiB page"));
        }
        for c in self.canaries() {
            fill_canary(c, CANARY_SIZE);
        }
    }

    fn canaries(&self) -> [u64; 3] {
        let image_end = (core::ptr::addr_of!(__bss_end) as u64 + 0xffff) & !0xffff;
        [self.scratch - CANARY_SIZE, image_end, self.base + (self.end - self.base) / 2]
    }

    /// The guest's own memory outside the scratch region is unchanged.
    fn check_memory(&mut self) {
        let sum = image_sum();
        if sum != self.image_sum {
            let was = self.image_sum;
            self.finding(format_args!("the guest's image changed (sum {sum:#x}, was {was:#x}); stopping"));
            // Its code can no longer be trusted.
            hv::mach_exit(self.findings);
        }
        for c in self.canaries() {
            if let Some(at) = canary_changed(c, CANARY_SIZE) {
                self.finding(format_args!("canary at {at:#x} changed"));
                fill_canary(c, CANARY_SIZE);
            }
        }
    }

    /// After a stage: the guest's memory, then the hypervisor still answers.
    fn negotiate(&mut self) -> Versions {
        (
            hv::api_set_version(group::CORE, 1, 1),
            hv::api_get_version(group::CORE),
            hv::api_set_version(group::SOFT_STATE, 1, 0),
            hv::api_get_version(group::SOFT_STATE),
        )
    }

    fn verify(&mut self, versions: Versions) {
        self.check_memory();
        match hv::cpu_myid() {
            Ok(0) => {}
            other => self.finding(format_args!("cpu_myid: {other:?}")),
        }
        if versions != (Ok(1), Ok((1, 1)), Ok(0), Ok((1, 0))) {
            self.finding(format_args!("version negotiation: {versions:?}"));
        }
        MD_NOW.bytes_mut().fill(0);
        // SAFETY: MD_NOW is this module's buffer.
        let md = unsafe { hv::mach_desc(MD_NOW.ra(), 8192) };
        let n = self.md_size as usize;
        if md != Ok(self.md_size) || MD_NOW.bytes()[..n] != MD_START.bytes()[..n] {
            self.finding(format_args!("mach_desc: {md:?}, or its bytes differ from the start"));
        }
        match hv::tod_get() {
            Ok(t) if t >= self.tod || self.tod_was_set() => self.tod = t,
            other => {
                let was = self.tod;
                self.finding(format_args!("tod_get: {other:?} (was {was})"))
            }
        }
        let sums = hv_sums();
        if sums != self.hv_sums {
            let was = self.hv_sums;
            self.finding(format_args!("hypervisor memory changed: {sums:x?}, was {was:x?}"));
            self.hv_sums = sums;
        }
    }

    /// The random calls may set the time of day (back).
    fn tod_was_set(&self) -> bool {
        self.stage == "fast-trap functions" || self.stage == "window states"
    }

    /// One argument: an edge outside the domain, one inside the scratch region, a small
    /// number, a length, a misaligned edge, or a random word.
    fn arg(&mut self) -> u64 {
        match self.rng.below(8) {
            0 | 1 => self.rng.pick(&self.outside),
            2 | 3 => self.rng.pick(&self.inside),
            4 => self.scratch + (self.rng.below(SCRATCH_SIZE) & !(0x3f * self.rng.below(2))),
            5 => [0, 1, 2, 3, 7, 8, 15, 16, 0x3f, 0x40, 0x100, 0x1ff][self.rng.below(12) as usize],
            6 => [
                PAGE_8K,
                0x10000,
                SCRATCH_SIZE,
                SCRATCH_SIZE + 8,
                self.end - self.base,
                u64::MAX,
                1 << 63,
                1 << 32,
                u64::MAX - SCRATCH_SIZE,
            ][self.rng.below(9) as usize],
            _ => {
                let v = self.rng.next();
                // A random word inside the domain but outside the scratch region would let
                // the hypervisor write the guest's own memory legitimately.
                if v >= self.base && v < self.scratch {
                    v | 1 << 40
                } else {
                    v
                }
            }
        }
    }

    /// Makes a call safe for the guest to make (module doc); false: not made.
    fn sanitize(&mut self, trap: u64, function: u64, a: &mut [u64; 5]) -> bool {
        match (trap, function) {
            (0x80, hcall::MACH_EXIT | hcall::MACH_SIR) | (0xff, core_fn::API_EXIT) => return false,
            (0x80, hcall::MACH_SET_WATCHDOG) if a[0] != 0 && a[0] < WATCHDOG_SAFE_MS => a[0] = 0,
            (0x80, hcall::MMU_ENABLE) => a[0] = self.mmu_on as u64,
            (0x80, hcall::CONS_PUTCHAR) | (0xff, core_fn::API_PUTCHAR) if a[0] < 0x100 => a[0] = b'.' as u64,
            (0x80, hcall::CONS_WRITE) => {
                let len = a[1].min(4096);
                if a[0] >= self.base
                    && a[0] < self.end
                    && len > 0
                    && a[0].checked_add(len).is_some_and(|e| e <= self.end)
                {
                    a[1] = len.min(4);
                    for i in 0..a[1] {
                        // SAFETY: inside the scratch region (arguments inside the domain
                        // always are).
                        unsafe { core::ptr::write_volatile((a[0] + i) as *mut u8, b'.') };
                    }
                }
            }
            (0xff, core_fn::API_SET_VERSION) if self.rng.below(2) == 0 => {
                a[0] = self.rng.pick(&[group::CORE, group::SOFT_STATE, group::INTR, group::SUN4V, group::LDOM, 0x7777]);
                a[1] = self.rng.below(4);
                a[2] = self.rng.below(8);
            }
            _ => {}
        }
        true
    }

    /// Puts back what a call changed that the guest relies on.
    fn cleanup(&mut self, trap: u64, function: u64, a: &[u64; 5], status: u64) {
        if trap != 0x80 || status != 0 {
            return;
        }
        match function {
            // SAFETY: the guest's own trap table.
            hcall::CPU_SET_RTBA => {
                let _ = unsafe { hv::cpu_set_rtba(self.base) };
            }
            hcall::MACH_SET_WATCHDOG => {
                let _ = hv::mach_set_watchdog(0);
            }
            // SAFETY: removes the mapping the call just made.
            hcall::MMU_MAP_PERM_ADDR => {
                let _ = unsafe { hv::mmu_unmap_perm_addr(a[0], a[3]) };
            }
            // SAFETY: this module's fault area.
            hcall::MMU_FAULT_AREA_CONF if self.mmu_on => {
                let _ = unsafe { hv::mmu_fault_area_conf(FAULT_AREA.ra()) };
            }
            _ => {}
        }
    }

    /// One hostile call: sanitized, made at a random TL 0–2 (a quarter of them with PSTATE's
    /// AM, CLE, TLE or PEF flipped), its status checked, cleaned up.
    fn call(&mut self, trap: u64, function: u64, mut a: [u64; 5]) {
        if !self.sanitize(trap, function, &mut a) {
            return;
        }
        let tl = self.rng.below(3);
        let pstate = if self.rng.below(4) == 0 { self.rng.pick(&PSTATE_FLIPS) } else { 0 };
        let (status, results) = raw_trap(trap, tl, pstate, function, a);
        self.calls += 1;
        self.note(status);
        if !(trap == 0x80 && timed(function)) {
            results.iter().for_each(|&r| self.note(r));
        }
        let must_be_badtrap = match trap {
            0x80 | 0x83 | 0x84 | 0x85 => false,
            0xff => function >= core_fn::COUNT,
            _ => true,
        };
        let known = status == 0 || HvError::from_code(status).is_some();
        if !known || (must_be_badtrap && status != HvError::BadTrap.code()) {
            self.finding(format_args!(
                "ta {trap:#x} fn {function:#x} at TL {tl} PSTATE ^ {pstate:#x} args {a:#x?}: status {status:#x}"
            ));
        }
        self.cleanup(trap, function, &a, status);
        if self.calls.is_multiple_of(CHECK_EVERY) {
            self.check_memory();
        }
    }

    /// Stage 1: every `ta 0x80` function, each edge in each argument, then random edges.
    fn fast_trap_functions(&mut self) {
        for function in 0..0x200u64 {
            let mut made = 0;
            for position in 0..5 {
                for i in 0..self.outside.len() + self.inside.len() {
                    let mut a = [0; 5];
                    for x in a.iter_mut() {
                        *x = self.arg();
                    }
                    a[position] =
                        if i < self.outside.len() { self.outside[i] } else { self.inside[i - self.outside.len()] };
                    self.call(0x80, function, a);
                    made += 1;
                }
            }
            while made < CALLS_PER_FUNCTION {
                let a = [self.arg(), self.arg(), self.arg(), self.arg(), self.arg()];
                self.call(0x80, function, a);
                made += 1;
            }
        }
        // Nothing the calls left in the TLB may outlive the MMU-off stage.
        let _ = hv::mmu_demap_all(MAP_ID);
    }

    /// Stage 2: `ta 0x81`–`0xff` with random function numbers (`0xff`: mostly the core
    /// functions and the first numbers past them).
    fn other_traps(&mut self) {
        for trap in 0x81..=0xffu64 {
            for _ in 0..CALLS_PER_TRAP {
                let function = if trap == 0xff && self.rng.below(4) != 0 { self.rng.below(8) } else { self.arg() };
                let a = [self.arg(), self.arg(), self.arg(), self.arg(), self.arg()];
                self.call(trap, function, a);
            }
        }
        let _ = hv::mmu_demap_all(MAP_ID);
    }

    /// Registers one context-0 TSB for page size `code` (index and mask), base `ra`.
    fn tsb(&mut self, code: u64, num_ttes: u64, ra: u64) -> HvResult<()> {
        DESCRIPTORS.set(0, code << 48 | 1 << 32 | num_ttes);
        DESCRIPTORS.set(1, 1 << code);
        DESCRIPTORS.set(2, ra);
        DESCRIPTORS.set(3, 0);
        self.calls += 1;
        // SAFETY: the descriptor and the TSB are this module's (or hostile, to be refused).
        unsafe { hv::mmu_tsb_ctx0(1, DESCRIPTORS.ra()) }
    }

    /// Stage 3: MMU on, hostile TSB entries of every page size, random TTEs, TSBs across
    /// the domain's end, `ASI_REAL` outside the domain.
    fn hostile_tsbs(&mut self) {
        let image_page = self.base & !(PAGE_4M - 1);
        // (8K: the domain's end need not be 4 MiB aligned for this guest.)
        let top_page = self.end - PAGE_8K;
        let kernel = TTE_V | TTE_CP | TTE_CV | TTE_P | TTE_X | TTE_W;
        // SAFETY: identity mappings of the guest's own image page and top page, its own
        // fault area; no TSB yet.
        let set_up = unsafe {
            let _ = hv::mmu_demap_all(MAP_ID);
            (
                hv::mmu_fault_area_conf(FAULT_AREA.ra()).map(drop),
                hv::mmu_map_perm_addr(image_page, image_page | kernel | 3, MAP_ID),
                hv::mmu_map_perm_addr(top_page, top_page | kernel, MAP_ID),
            )
        };
        if set_up != (Ok(()), Ok(()), Ok(())) {
            self.finding(format_args!("MMU set-up: {set_up:?}"));
            return;
        }
        // TSBs that cross the domain's end or start outside it: refused.
        for (code, n, ra, what) in [
            (0, 1024, self.end - PAGE_8K, "a TSB across the domain's end"),
            (0, 512, self.end, "a TSB at the domain's end"),
            (0, 512, HV_RAM, "a TSB in hypervisor RAM"),
            (0, 1 << 31, self.scratch, "a TSB of 2^31 entries"),
            (0, 512, self.base - PAGE_8K, "a TSB below the domain"),
        ] {
            if let Ok(()) = self.tsb(code, n, ra) {
                self.finding(format_args!("{what} accepted"));
            }
        }
        if self.tsb(0, 512, TSB.ra()).is_err() || mmu_enable(true) != 0 {
            self.finding(format_args!("mmu_enable"));
            return;
        }
        self.mmu_on = true;
        // A marker at the domain's last word: a large page at the end that is loaded must
        // show it.
        write_real(self.end - 8, 0x1a57_0fd0_0a1f);
        for (code, shift) in PAGE_SIZES {
            let size = 1u64 << shift;
            let accepted = self.tsb(code, 512, TSB.ra());
            if accepted.is_err() {
                self.finding(format_args!("TSB of page size {code}: {accepted:?}"));
                continue;
            }
            let mut ras = [0u64; OUTSIDE + 4];
            let n = {
                let mut n = 0;
                for &ra in self.outside.iter() {
                    ras[n] = ra & !(PAGE_8K - 1) & ((1 << 56) - 1);
                    n += 1;
                }
                ras[n] = self.base.wrapping_sub(size);
                ras[n + 1] = self.end;
                ras[n + 2] = self.end - size + PAGE_8K;
                // A page that starts inside the domain and ends past it (when the domain's
                // end is not aligned to the page size).
                ras[n + 3] = self.end - PAGE_8K;
                n + 4
            };
            for &ra in &ras[..n] {
                let page = ra & !(size - 1);
                let inside = page >= self.base && page.checked_add(size).is_some_and(|e| e <= self.end);
                for instruction in [false, true] {
                    if instruction && inside {
                        // It would run whatever is there.
                        continue;
                    }
                    for tl in 0..2 {
                        let offset = if ra == self.end - size + PAGE_8K { size - 8 } else { self.rng.below(size) & !7 };
                        let va = VA_H + offset;
                        let x = if instruction { TTE_X } else { 0 };
                        // The tag is the accessed VA's (bits 63:22), as the guest's own miss
                        // handler would write it.
                        set_tte(va, shift, TTE_V | TTE_CP | TTE_CV | TTE_P | TTE_W | x | ra | code);
                        let _ = hv::mmu_demap_ctx(0, MAP_ID);
                        let traps = EXPECTED_TRAPS.load(Ordering::SeqCst);
                        let got = if instruction { fetch_at(va, tl) } else { load_at(va, tl, false) };
                        self.calls += 1;
                        let trapped = EXPECTED_TRAPS.load(Ordering::SeqCst) - traps;
                        let ft = FAULT_AREA.get(if instruction { FA_IFT } else { FA_DFT });
                        let tt = LAST_TT.load(Ordering::SeqCst);
                        self.note(trapped << 32 | tt << 8 | ft);
                        if inside && trapped == 0 {
                            // A page wholly inside the domain: its last word.
                            if !instruction && offset == size - 8 && got != read_real(page + size - 8) {
                                self.finding(format_args!("page size {code} RA {ra:#x}: read {got:#x}"));
                            }
                        } else if trapped != 1
                            || tt != if instruction { 0x08 } else { 0x30 }
                            || (ft != FT_INV_RA && ft != FT_INV_PGSZ)
                        {
                            self.finding(format_args!(
                                "page size {code} RA {ra:#x} {} at TL {tl}: traps {trapped}, tt {tt:#x}, fault type {ft}",
                                if instruction { "fetch" } else { "load" }
                            ));
                        }
                    }
                }
                // A store through the same entry.
                let va = VA_H + (self.rng.below(size) & !7);
                set_tte(va, shift, TTE_V | TTE_CP | TTE_CV | TTE_P | TTE_W | ra | code);
                let _ = hv::mmu_demap_ctx(0, MAP_ID);
                if !inside {
                    let traps = EXPECTED_TRAPS.load(Ordering::SeqCst);
                    store_at(va, 0);
                    self.calls += 1;
                    self.note(EXPECTED_TRAPS.load(Ordering::SeqCst) - traps);
                    if EXPECTED_TRAPS.load(Ordering::SeqCst) - traps != 1 {
                        self.finding(format_args!(
                            "page size {code}: a store through a TTE to RA {ra:#x} did not trap"
                        ));
                    }
                }
            }
            // Random TTEs (any size code, random bits, any RA) and tags with context bits:
            // a load either traps or reads inside the domain.
            for _ in 0..2000 {
                let ra = self.arg() & ((1 << 40) - 1) & !(PAGE_8K - 1);
                let tte = TTE_V | (self.rng.next() & 0x7ff & !0xf) | ra | self.rng.below(8);
                let tag_ctx = self.rng.below(2) * self.rng.below(0x2000);
                let offset = self.rng.below(size) & !7;
                let i = ((VA_H >> shift) & 511) as usize;
                TSB.set(2 * i, tag_ctx << 48 | (VA_H + offset) >> 22);
                TSB.set(2 * i + 1, tte);
                let _ = hv::mmu_demap_ctx(0, MAP_ID);
                let traps = EXPECTED_TRAPS.load(Ordering::SeqCst);
                // (What a load inside the domain reads is not in the digest: the scratch
                // region may hold trap-trace entries with times in them.)
                let _ = load_at(VA_H + offset, self.rng.below(2), false);
                self.calls += 1;
                self.note(EXPECTED_TRAPS.load(Ordering::SeqCst) - traps);
                self.note(LAST_TT.load(Ordering::SeqCst));
                if EXPECTED_TRAPS.load(Ordering::SeqCst) == traps {
                    let page_size = match tte & 7 {
                        0 => PAGE_8K,
                        1 => 0x10000,
                        3 => PAGE_4M,
                        5 => PAGE_4M, // 256 MiB is loaded as the 4 MiB piece holding the VA
                        _ => 0,
                    };
                    let target = (ra & !(page_size.max(1) - 1)) + (offset & (page_size.max(1) - 1));
                    if page_size == 0 || target < self.base || target >= self.end {
                        self.finding(format_args!(
                            "random TTE {tte:#x} tag ctx {tag_ctx:#x}: loaded, offset {offset:#x}"
                        ));
                    }
                }
            }
            for i in 0..1024 {
                TSB.set(i, 0);
            }
        }
        // ASI_REAL outside the domain, MMU on.
        let _ = self.real_sweep(true);
        let _ = self.tsb(0, 512, TSB.ra());
        if mmu_enable(false) != 0 {
            self.finding(format_args!("mmu_enable off"));
        }
        self.mmu_on = false;
        // SAFETY: drops what this stage set up.
        unsafe {
            let _ = hv::mmu_unmap_perm_addr(image_page, MAP_ID);
            let _ = hv::mmu_unmap_perm_addr(top_page, MAP_ID);
            let _ = hv::mmu_tsb_ctx0(0, 0);
        }
        let _ = hv::mmu_demap_all(MAP_ID);
    }

    /// Real loads outside the domain (`ASI_REAL`, or plain with the MMU off) at TL 0 and 1:
    /// where nothing answers they must be access errors. Stores go only where nothing
    /// answers: a real store to hypervisor RAM would land (RA = PA: no real translation yet).
    /// Returns the addresses where nothing answered.
    fn real_sweep(&mut self, asi_real: bool) -> ([u64; OUTSIDE], usize) {
        let mut holes = [0u64; OUTSIDE];
        let mut n = 0;
        let mut errors = 0u64;
        let mut reached = 0u64;
        let addresses = self.outside;
        for &a in addresses.iter() {
            let a = a & !7;
            // The UART's registers have side effects; the PROM, RAM and MD slots are read.
            if (UART..UART + PAGE_8K).contains(&a) {
                continue;
            }
            for tl in 0..2 {
                let traps = EXPECTED_TRAPS.load(Ordering::SeqCst);
                let _ = load_at(a, tl, asi_real);
                self.calls += 1;
                let trapped = EXPECTED_TRAPS.load(Ordering::SeqCst) - traps;
                let tt = LAST_TT.load(Ordering::SeqCst);
                self.note(trapped << 32 | tt);
                if trapped == 0 {
                    reached += 1;
                    if tl == 0 && !asi_real {
                        say!("hostile: reached with the MMU off (RA = PA, no real translation): {a:#x}");
                    }
                    continue;
                }
                errors += 1;
                if tl == 0 {
                    holes[n] = a;
                    n += 1;
                }
                if trapped != 1 || tt != 0x32 {
                    self.finding(format_args!("real load {a:#x} at TL {tl}: traps {trapped}, tt {tt:#x}"));
                }
                let traps = EXPECTED_TRAPS.load(Ordering::SeqCst);
                store_real(a, tl, asi_real);
                self.calls += 1;
                if EXPECTED_TRAPS.load(Ordering::SeqCst) - traps != 1 || LAST_TT.load(Ordering::SeqCst) != 0x32 {
                    self.finding(format_args!("real store {a:#x} at TL {tl} did not give data_access_error"));
                }
            }
        }
        say!(
            "hostile: {} outside the domain: {errors} access errors, {reached} reached (RA = PA, no real translation)",
            if asi_real { "ASI_REAL accesses, MMU on," } else { "MMU-off accesses" }
        );
        (holes, n)
    }

    /// Stage 4: real accesses with the MMU off, then instruction fetches where nothing
    /// answers (instruction_access_error).
    fn real_accesses(&mut self) {
        let (holes, n) = self.real_sweep(false);
        // The same holes below 4 GiB loaded with PSTATE.AM set: the real-translation miss
        // reaches the hypervisor with the guest's PSTATE (QEMU), AM included.
        for &a in holes[..n].iter().filter(|&&a| a >> 32 == 0) {
            let traps = EXPECTED_TRAPS.load(Ordering::SeqCst);
            load_am(a);
            self.calls += 1;
            let trapped = EXPECTED_TRAPS.load(Ordering::SeqCst) - traps;
            let tt = LAST_TT.load(Ordering::SeqCst);
            self.note(trapped << 32 | tt);
            if trapped != 1 || tt != 0x32 {
                self.finding(format_args!("real load {a:#x} with PSTATE.AM: traps {trapped}, tt {tt:#x}"));
            }
        }
        for &a in &holes[..n] {
            for tl in 0..2 {
                let traps = EXPECTED_TRAPS.load(Ordering::SeqCst);
                fetch_at(a, tl);
                self.calls += 1;
                let trapped = EXPECTED_TRAPS.load(Ordering::SeqCst) - traps;
                let tt = LAST_TT.load(Ordering::SeqCst);
                self.note(trapped << 32 | tt);
                if trapped != 1 || tt != 0x0a {
                    self.finding(format_args!("real fetch {a:#x} at TL {tl}: traps {trapped}, tt {tt:#x}"));
                }
            }
        }
    }

    /// Stage 5: random legal window states (CANSAVE + CANRESTORE + OTHERWIN = 6, CLEANWIN
    /// and CWP 0–7) at TL 0–2, a hostile call from them; every register of every window
    /// except the call's `%o0`–`%o4` must be what the same state gives without the call.
    fn window_states(&mut self) {
        const I0: usize = 8;
        let mut case = WindowCase {
            state: WindowState {
                windows: [[0; 16]; 8],
                cwp: 0,
                cansave: 0,
                canrestore: 0,
                otherwin: 0,
                cleanwin: 0,
                wstate: 0,
            },
            tl: 0,
            action: 0,
            addr: 0,
        };
        let mut control = case.state;
        let mut trapped = case.state;
        for serial in 0..WINDOW_CASES {
            let cansave = self.rng.below(7);
            let canrestore = self.rng.below(7 - cansave);
            let cwp = self.rng.below(8);
            for (w, window) in case.state.windows.iter_mut().enumerate() {
                for (r, reg) in window.iter_mut().enumerate() {
                    *reg = 0x4057_0000_0000_0000 | serial << 16 | (w as u64) << 8 | r as u64;
                }
            }
            let next = ((cwp + 1) % 8) as usize;
            let function = match self.rng.below(4) {
                0 => hcall::CPU_MYID,
                1 => hcall::CPU_YIELD,
                _ => self.rng.below(0x200),
            };
            let mut a = [self.arg(), self.arg(), self.arg(), self.arg(), self.arg()];
            if !self.sanitize(0x80, function, &mut a) {
                continue;
            }
            case.state.windows[next][I0..I0 + 5].copy_from_slice(&a);
            case.state.windows[next][I0 + 5] = function;
            case.state.cwp = cwp;
            case.state.cansave = cansave;
            case.state.canrestore = canrestore;
            case.state.otherwin = 6 - cansave - canrestore;
            case.state.cleanwin = self.rng.below(8);
            case.state.wstate = 2 << 3 | 2;
            case.tl = self.rng.below(3);
            case.action = Action::None as u64;
            // SAFETY: window_case reads the case and writes one state; it returns with the
            // caller's windows intact.
            unsafe { window_case(&case, &mut control) };
            case.action = Action::Hcall as u64;
            // SAFETY: as above.
            unsafe { window_case(&case, &mut trapped) };
            self.calls += 1;
            let status = trapped.windows[next][I0];
            self.note(status);
            if !timed(function) {
                self.note(trapped.windows[next][I0 + 1]);
            }
            self.cleanup(0x80, function, &a, status);
            for r in I0..I0 + 5 {
                control.windows[next][r] = trapped.windows[next][r];
            }
            let regs = |d: &WindowState| [d.cwp, d.cansave, d.canrestore, d.otherwin, d.cleanwin, d.wstate];
            let differs = (0..8)
                .flat_map(|w| (0..16).map(move |r| (w, r)))
                .find(|&(w, r)| trapped.windows[w][r] != control.windows[w][r]);
            if differs.is_some() || regs(&trapped) != regs(&control) {
                let (w, r) = differs.unwrap_or((9, 0));
                self.finding(format_args!(
                    "fn {function:#x} args {a:#x?} at TL {} cwp {cwp} cansave {cansave} canrestore {canrestore} cleanwin {}: window {w} reg {r}, window registers {:?} vs {:?}",
                    case.tl, case.state.cleanwin, regs(&trapped), regs(&control)
                ));
            }
            if self.calls.is_multiple_of(CHECK_EVERY) {
                self.check_memory();
            }
        }
    }
}

impl Hostile {
    /// One `ta 0x80` call at a random TL whose status must be `want`; returns the results.
    fn expect(&mut self, function: u64, a: [u64; 5], want: u64, what: &str) -> [u64; 4] {
        let tl = self.rng.below(3);
        let (status, results) = raw_trap(0x80, tl, 0, function, a);
        self.calls += 1;
        self.note(status);
        if status != want {
            self.finding(format_args!(
                "{what}: fn {function:#x} at TL {tl} args {a:#x?}: status {status:#x}, expected {want:#x}"
            ));
        }
        if self.calls.is_multiple_of(CHECK_EVERY) {
            self.check_memory();
        }
        results
    }

    /// The domain's own vCPU ids (the guest MD's cpu nodes, at most 64).
    fn own_vcpus(&mut self) -> ([u64; 64], usize) {
        let mut ids = [0u64; 64];
        let mut n = 0;
        let md = &MD_START.bytes()[..self.md_size as usize];
        match hv_api::md::MachineDescription::new(md) {
            Ok(md) => {
                for id in md.nodes_named("cpu").filter_map(|c| c.val("id")) {
                    if n < ids.len() {
                        ids[n] = id;
                        n += 1;
                    }
                }
            }
            Err(_) => self.finding(format_args!("the guest MD does not parse")),
        }
        (ids, n)
    }

    /// Stage 6: vCPU ids are per domain, so every id that is not in the domain's own MD
    /// (those of the other domains among them) must answer `ENOCPU`: `cpu_state` and a
    /// one-entry `cpu_mondo_send` for every id 0–0xffff, `cpu_start`, `cpu_stop` and
    /// `intr_settarget` for edge ids (with the caller's id in the high bits, too);
    /// `cpu_mondo_send` lists and data at and across the domain's edges (the memory below
    /// its base is another domain's); `cpu_qconf` queues at and across the edges, for every
    /// queue and size.
    fn foreign_vcpus(&mut self) {
        let nocpu = HvError::NoCpu.code();
        let inval = HvError::Inval.code();
        let noraddr = HvError::NoRAddr.code();
        let badalign = HvError::BadAlign.code();
        let (own, n) = self.own_vcpus();
        let own = &own[..n];
        let me = hv::cpu_myid().unwrap_or(u64::MAX);
        if !own.contains(&me) {
            self.finding(format_args!("cpu_myid {me:#x} is not among the MD's vCPUs {own:x?}"));
        }
        // The mondo: its list (one u16 id) and its data, at the start of the scratch region.
        let list = self.scratch;
        let data = self.scratch + 0x40;
        let set_list = |ids: &[u16]| {
            for (i, &id) in ids.iter().enumerate() {
                // SAFETY: the scratch region, this stage's list.
                unsafe { core::ptr::write_volatile((list + 2 * i as u64) as *mut u16, id) };
            }
        };
        for id in 0..=0xffffu64 {
            let mine = own.contains(&id);
            let state = self.expect(hcall::CPU_STATE, [id, 0, 0, 0, 0], if mine { 0 } else { nocpu }, "cpu_state");
            if id == me && state[0] != hv_api::cpu_state::RUNNING {
                self.finding(format_args!("cpu_state of the caller: {:#x}", state[0]));
            }
            if mine && id != me {
                // Another vCPU of this domain: its state is the domain's own business.
                continue;
            }
            set_list(&[id as u16]);
            let want = match id {
                0xffff => 0, // an entry already done: skipped
                _ if id == me => inval,
                _ => nocpu,
            };
            self.expect(hcall::CPU_MONDO_SEND, [1, list, data, 0, 0], want, "cpu_mondo_send to one id");
        }
        // Edge ids: none of them is a vCPU of the domain unless listed in its MD (ids are
        // 64-bit arguments: the caller's id with high bits set is not the caller).
        let mut edges = [0u64; 24];
        for (i, e) in [
            1,
            2,
            3,
            4,
            7,
            8,
            31,
            32,
            63,
            64,
            0xff,
            0x100,
            0x7fff,
            0x8000,
            0xfffe,
            0xffff,
            0x1_0000,
            me | 1 << 16,
            me | 1 << 32,
            me | 1 << 63,
            u64::MAX,
            u64::MAX - 1,
            me.wrapping_add(1),
            me.wrapping_sub(1),
        ]
        .into_iter()
        .enumerate()
        {
            edges[i] = e;
        }
        let pc = self.base + 0x20;
        let rtba = self.base;
        // Negotiated here for intr_settarget (the hostile calls may have negotiated it or not).
        if hv::api_set_version(group::INTR, 1, 0).is_err() {
            self.finding(format_args!("INTR 1.0 not negotiated"));
        }
        for &id in edges.iter().filter(|id| !own.contains(id)) {
            for (p, r) in [(pc, rtba), (self.base - 0x100, self.base - 0x100), (HV_RAM, HV_RAM), (PROM, PROM)] {
                self.expect(hcall::CPU_START, [id, p, r, 0, 0], nocpu, "cpu_start of a foreign vCPU");
            }
            self.expect(hcall::CPU_STOP, [id, 0, 0, 0, 0], nocpu, "cpu_stop of a foreign vCPU");
            // The domain's virtual-device interrupts (sysinos 0x100–0x13f) and edges.
            for sysino in (0x100..0x140u64).chain([0, 0xff, 0x140, u64::MAX]) {
                let (status, target) = raw_trap(0x80, 0, 0, hcall::INTR_GETTARGET, [sysino, 0, 0, 0, 0]);
                self.calls += 1;
                let want = if status == 0 { nocpu } else { HvError::NoIntr.code() };
                self.expect(hcall::INTR_SETTARGET, [sysino, id, 0, 0, 0], want, "intr_settarget to a foreign vCPU");
                let (_, after) = raw_trap(0x80, 0, 0, hcall::INTR_GETTARGET, [sysino, 0, 0, 0, 0]);
                self.calls += 1;
                if status == 0 && after[0] != target[0] {
                    self.finding(format_args!(
                        "intr_settarget({sysino:#x}, {id:#x}) moved the interrupt to {:#x}",
                        after[0]
                    ));
                }
            }
        }
        if own.len() == 1 {
            self.expect(hcall::CPU_STOP, [me, 0, 0, 0, 0], inval, "cpu_stop of the caller");
            self.expect(hcall::CPU_START, [me, pc, rtba, 0, 0], inval, "cpu_start of the caller");
        }
        // Lists and data at and across the domain's edges; a list of foreign ids.
        let foreign = edges.iter().map(|&e| e as u16).find(|&e| e != 0xffff && !own.contains(&(e as u64))).unwrap_or(1);
        set_list(&[foreign, foreign]);
        let (b, e) = (self.base, self.end);
        for (ncpus, l, d, want) in [
            (1, b - 2, data, noraddr),
            (2, b - 2, data, noraddr),
            (1, b - 0x40, data, noraddr),
            (1, list, b - 0x40, noraddr),
            (1, list, b - PAGE_8K, noraddr),
            (1, e, data, noraddr),
            (2, e - 2, data, noraddr),
            (1, list, e, noraddr),
            (1, list, e - 0x20, badalign),
            (1, list + 1, data, badalign),
            (1, list, data + 8, badalign),
            (1 << 62, list, data, noraddr),
            (u64::MAX, list, data, noraddr),
            ((e - list) / 2 + 1, list, data, noraddr),
            (1, HV_RAM, data, noraddr),
            (1, list, HV_RAM, noraddr),
            (1, list | 1 << 40, data, noraddr),
            (1, list, data | 1 << 40, noraddr),
            (1, PROM, data, noraddr),
            (1, GUEST_MD_SLOT, data, noraddr),
            (2, list, data, nocpu),
        ] {
            self.expect(hcall::CPU_MONDO_SEND, [ncpus, l, d, 0, 0], want, "cpu_mondo_send list/data at an edge");
        }
        // The whole list inside, at the domain's last bytes: the first id is foreign.
        // SAFETY: the last 4 bytes of the domain, in the scratch region.
        unsafe { core::ptr::write_volatile((e - 4) as *mut u16, foreign) };
        self.expect(hcall::CPU_MONDO_SEND, [2, e - 4, data, 0, 0], nocpu, "cpu_mondo_send list at the domain's end");
        // Queues: each queue, each size, at and across the domain's edges; one that fits is
        // configured (in the scratch region) and unconfigured again. (The hostile calls
        // may have configured a queue: unconfigured first, so that a refused call must
        // leave none.)
        for q in hv_api::queue::ALL {
            self.expect(hcall::CPU_QCONF, [q, 0, 0, 0, 0], 0, "cpu_qconf off");
            let mut entries = 2;
            while entries <= 256 {
                let bytes = entries * 64;
                for (ra, want) in [
                    (b - bytes, noraddr),
                    (b - bytes / 2, badalign),
                    (e, noraddr),
                    (e - bytes, 0),
                    (e - bytes + 64, badalign),
                    (e - bytes / 2, badalign),
                    (HV_RAM, noraddr),
                    (PROM, noraddr),
                    ((e - bytes) | 1 << 40, noraddr),
                    (0, noraddr),
                ] {
                    self.expect(hcall::CPU_QCONF, [q, ra, entries, 0, 0], want, "cpu_qconf at an edge");
                    let info = self.expect(hcall::CPU_QINFO, [q, 0, 0, 0, 0], 0, "cpu_qinfo");
                    let configured = if want == 0 { (ra, entries) } else { (0, 0) };
                    if (info[0], info[1]) != configured {
                        self.finding(format_args!("cpu_qinfo({q:#x}) after cpu_qconf({ra:#x}, {entries}): {info:#x?}"));
                    }
                    if want == 0 {
                        self.expect(hcall::CPU_QCONF, [q, 0, 0, 0, 0], 0, "cpu_qconf off");
                    }
                }
                entries *= 2;
            }
        }
    }
}

/// A channel endpoint of the domain, as its guest MD lists it.
#[derive(Clone, Copy, Default)]
struct Endpoint {
    id: u64,
    tx_ino: u64,
    rx_ino: u64,
}

/// Most endpoints stage 7 looks at.
const MAX_ENDPOINTS: usize = 8;
/// Rounds of sends to every offset of the transmit queue (stage 7).
const FLOOD_ROUNDS: u64 = 200;
/// Channel ids every LDC call is made with when not the domain's own.
const CHANNEL_IDS: u64 = 0x400;

impl Hostile {
    /// The domain's channel endpoints and the devhandle of their interrupts (the guest MD's
    /// `channel-devices` node): none when it has no channel.
    fn endpoints(&mut self) -> ([Endpoint; MAX_ENDPOINTS], usize, Option<u64>) {
        let mut eps = [Endpoint::default(); MAX_ENDPOINTS];
        let mut n = 0;
        let md = &MD_START.bytes()[..self.md_size as usize];
        let Ok(md) = hv_api::md::MachineDescription::new(md) else {
            self.finding(format_args!("the guest MD does not parse"));
            return (eps, 0, None);
        };
        let Some(cdev) = md.nodes_named("channel-devices").next() else { return (eps, 0, None) };
        for e in cdev.arcs("fwd").filter(|e| e.name() == "channel-endpoint") {
            match (e.val("id"), e.val("tx-ino"), e.val("rx-ino")) {
                (Some(id), Some(tx_ino), Some(rx_ino)) if n < MAX_ENDPOINTS => {
                    eps[n] = Endpoint { id, tx_ino, rx_ino };
                    n += 1;
                }
                _ => self.finding(format_args!("a channel-endpoint without id, tx-ino or rx-ino, or too many")),
            }
        }
        (eps, n, cdev.val("cfg-handle"))
    }

    /// One call whose status must be one of `want`.
    fn expect_any(&mut self, function: u64, a: [u64; 5], want: &[u64], what: &str) -> (u64, [u64; 4]) {
        let tl = self.rng.below(3);
        let (status, results) = raw_trap(0x80, tl, 0, function, a);
        self.calls += 1;
        self.note(status);
        if !want.contains(&status) {
            self.finding(format_args!(
                "{what}: fn {function:#x} at TL {tl} args {a:#x?}: status {status:#x}, expected one of {want:#x?}"
            ));
        }
        if self.calls.is_multiple_of(CHECK_EVERY) {
            self.check_memory();
        }
        (status, results)
    }

    /// What `ldc_tx_qconf` / `ldc_rx_qconf` (`unit` 64) or `ldc_set_map_table` (`unit` 16)
    /// must answer for `entries` at `ra` (docs/ldc.md), and whether the region then lies in
    /// the scratch region (a region elsewhere inside the domain is not offered: the
    /// hypervisor could legitimately write the guest's own memory).
    fn region_status(&self, ra: u64, entries: u64, unit: u64) -> (u64, bool) {
        let (inval, badalign, noraddr) = (HvError::Inval.code(), HvError::BadAlign.code(), HvError::NoRAddr.code());
        if entries == 0 {
            return (0, true);
        }
        let bytes = if unit == 16 {
            if !(2..1 << 30).contains(&entries) || !entries.is_power_of_two() {
                return (inval, true);
            }
            if !ra.is_multiple_of(64) {
                return (badalign, true);
            }
            entries * 16
        } else {
            if !entries.is_power_of_two() {
                return (inval, true);
            }
            let Some(bytes) = entries.checked_mul(64) else { return (noraddr, true) };
            if ra & (bytes - 1) != 0 {
                return (badalign, true);
            }
            bytes
        };
        let end = ra.checked_add(bytes);
        if ra < self.base || end.is_none_or(|e| e > self.end) {
            return (noraddr, true);
        }
        (0, ra >= self.scratch)
    }

    /// Candidate places of a region of `bytes`: at and across the domain's edges (below its
    /// base lies the other domain when there is one), in hypervisor RAM, the PROM, an MD
    /// slot, the map-in window, RA aliases, wrapping ones.
    fn region_places(&self, bytes: u64) -> [u64; 16] {
        let (b, e) = (self.base, self.end);
        [
            b.wrapping_sub(bytes),
            b.wrapping_sub(bytes / 2),
            b,
            e,
            e.wrapping_sub(bytes),
            e.wrapping_sub(bytes).wrapping_add(64),
            e.wrapping_sub(bytes / 2),
            e.wrapping_sub(bytes) | 1 << 40,
            HV_RAM,
            PROM,
            GUEST_MD_SLOT,
            MAPIN_BASE_RA,
            0,
            bytes.wrapping_neg(),
            self.scratch + 0x40,
            self.scratch,
        ]
    }

    /// Stage 7: channels and map-in pages (docs/ldc.md). Every LDC call with every channel
    /// id 0–0x3ff and edge ids that is not the domain's own must answer `ECHANNEL`; the
    /// `vintr_*` calls with every devino 0–0x1ff under its own and foreign devhandles must
    /// answer `EINVAL` unless they name its own interrupt, and `vintr_settarget` `ENOCPU`
    /// for every foreign vCPU id; `ldc_unmap` of every map-in slot of every endpoint
    /// `EINVAL` (nothing is mapped in), and `mmu_map_addr` / `mmu_map_perm_addr` of map-in
    /// RAs `ENORADDR`. On each of its own channels: queues and map tables of every size at
    /// and across the domain's edges (`ldc_*_qinfo` and `ldc_get_map_table` must show
    /// exactly what was accepted), a map table whose MTEs name pages anywhere, floods of
    /// `ldc_tx_set_qtail` to every offset (the peer — the victim, which configures no
    /// receive queue — must never receive: `EWOULDBLOCK`, head and tail unchanged), heads
    /// the empty receive queue does not have, `ldc_copy` and `ldc_mapin` with cookies of
    /// every page size, index and offset (the peer exports nothing: `ENOMAP` once the
    /// arguments are right), `ldc_revoke` of pages nobody mapped. Nothing is left
    /// configured.
    fn channels(&mut self) {
        let (channel, inval, noraddr, nocpu) =
            (HvError::Channel.code(), HvError::Inval.code(), HvError::NoRAddr.code(), HvError::NoCpu.code());
        if hv::api_set_version(group::LDOM, 1, 0) != Ok(0) || hv::api_set_version(group::INTR, 1, 0).is_err() {
            self.finding(format_args!("LDOM 1.0 or INTR 1.0 not negotiated"));
            return;
        }
        let (eps, n, devhandle) = self.endpoints();
        let eps = &eps[..n];
        let own = |id: u64| eps.iter().any(|e| e.id == id);
        say!("hostile: {n} channel endpoints");
        // The calls that name a channel in %o0, with the arguments of a call that would
        // otherwise be accepted or refused for something else.
        let by_channel = [
            (hcall::LDC_TX_QCONF, [self.scratch, 8]),
            (hcall::LDC_TX_QINFO, [0, 0]),
            (hcall::LDC_TX_GET_STATE, [0, 0]),
            (hcall::LDC_TX_SET_QTAIL, [64, 0]),
            (hcall::LDC_RX_QCONF, [self.scratch, 8]),
            (hcall::LDC_RX_QINFO, [0, 0]),
            (hcall::LDC_RX_GET_STATE, [0, 0]),
            (hcall::LDC_RX_SET_QHEAD, [0, 0]),
            (hcall::LDC_SET_MAP_TABLE, [self.scratch, 4]),
            (hcall::LDC_GET_MAP_TABLE, [0, 0]),
            (hcall::LDC_COPY, [0, 0]),
            (hcall::LDC_MAPIN, [0, 0]),
            (hcall::LDC_REVOKE, [0, 0]),
        ];
        let mut ids = [0u64; CHANNEL_IDS as usize + 8];
        for (i, id) in ids.iter_mut().enumerate() {
            *id = match i as u64 {
                i if i < CHANNEL_IDS => i,
                i => [0xffff, 0x1_0000, 1 << 32, 1 << 63, u64::MAX, u64::MAX - 1, 0x7fff_ffff, 0x8000_0000]
                    [(i - CHANNEL_IDS) as usize],
            };
        }
        for &id in ids.iter().filter(|&&id| !own(id)) {
            for &(function, [x, y]) in &by_channel {
                let a = match function {
                    hcall::LDC_COPY => [id, self.rng.below(2), self.arg(), self.scratch, 64],
                    hcall::LDC_MAPIN | hcall::LDC_REVOKE => [id, self.arg(), self.arg(), 0, 0],
                    _ => [id, x, y, self.arg(), self.arg()],
                };
                self.expect(function, a, channel, "an LDC call on a channel of another domain or none");
            }
        }
        // Undefined LDOM function numbers.
        for function in [0xe8, 0xe9] {
            for _ in 0..64 {
                let a = [self.arg(), self.arg(), self.arg(), self.arg(), self.arg()];
                self.expect(function, a, HvError::BadTrap.code(), "an undefined LDOM function");
            }
        }
        // Virtual interrupts: own devhandle with every devino, foreign devhandles.
        let me = hv::cpu_myid().unwrap_or(0);
        let (vcpus, nv) = self.own_vcpus();
        // (The first is the domain's own when it has channels; 0x100 is the virtual devices'.)
        let handles = [devhandle.unwrap_or(0x200), 0, 0x100, 0x1ff, 0x201, 0x2000, 1 << 32, u64::MAX];
        for (hi, &h) in handles.iter().enumerate() {
            for ino in (0..0x200u64).chain([u64::MAX, 1 << 32, 0x10_0020]) {
                let mine = Some(h) == devhandle && eps.iter().any(|e| e.tx_ino == ino || e.rx_ino == ino);
                let want = if mine { 0 } else { inval };
                for function in
                    [hcall::VINTR_GETCOOKIE, hcall::VINTR_GETVALID, hcall::VINTR_GETSTATE, hcall::VINTR_GETTARGET]
                {
                    self.expect(function, [h, ino, 0, 0, 0], want, "vintr_get* of an interrupt");
                }
                if hi > 0 && ino % 8 != 0 {
                    continue;
                }
                self.expect(hcall::VINTR_SETVALID, [h, ino, 0, 0, 0], want, "vintr_setvalid(0)");
                self.expect(hcall::VINTR_SETVALID, [h, ino, 2, 0, 0], inval, "vintr_setvalid(2)");
                self.expect(hcall::VINTR_SETSTATE, [h, ino, 3, 0, 0], inval, "vintr_setstate(3)");
                self.expect(hcall::VINTR_SETSTATE, [h, ino, 0, 0, 0], want, "vintr_setstate(IDLE)");
                let cookie = self.arg();
                self.expect(hcall::VINTR_SETCOOKIE, [h, ino, cookie, 0, 0], want, "vintr_setcookie");
                self.expect(hcall::VINTR_SETTARGET, [h, ino, me, 0, 0], want, "vintr_settarget(own vCPU)");
                if mine {
                    // Every foreign vCPU id 0–0x3ff and edges: ENOCPU, the target unchanged.
                    for id in (0..0x400u64).chain([0xffff, 1 << 32, u64::MAX, me | 1 << 16]) {
                        if vcpus[..nv].contains(&id) {
                            continue;
                        }
                        self.expect(hcall::VINTR_SETTARGET, [h, ino, id, 0, 0], nocpu, "vintr_settarget(foreign vCPU)");
                    }
                    let (_, t) = self.expect_any(hcall::VINTR_GETTARGET, [h, ino, 0, 0, 0], &[0], "vintr_gettarget");
                    if t[0] != me {
                        self.finding(format_args!("a refused vintr_settarget moved interrupt {ino:#x} to {:#x}", t[0]));
                    }
                }
            }
        }
        // Map-in slots of every endpoint of the machine (the other domain's among them):
        // nothing is mapped in, so nothing can be unmapped; their RAs make no TTE.
        for slot in 0..64 * 8u64 {
            let ra = MAPIN_BASE_RA + slot * MAPIN_SLOT_SIZE;
            for off in [0, 8, PAGE_8K - 8, PAGE_8K] {
                self.expect(hcall::LDC_UNMAP, [ra + off, 0, 0, 0, 0], inval, "ldc_unmap of a slot not mapped in");
            }
            if slot % 8 == 0 {
                let tte = TTE_V | TTE_CP | ra | if slot % 16 == 0 { TTE_W } else { 0 };
                let (status, _) = raw_trap(0x83, 0, 0, 0, [VA_H, 0, tte, 3, 0]);
                self.calls += 1;
                self.note(status);
                if status != noraddr {
                    self.finding(format_args!("mmu_map_addr of map-in RA {ra:#x}: status {status:#x}"));
                    let _ = hv::mmu_demap_all(MAP_ID);
                }
                // SAFETY: refused, or removed again (a finding).
                let r = unsafe { hv::mmu_map_perm_addr(VA_H, tte, 3) };
                self.calls += 1;
                if r != Err(HvError::NoRAddr) {
                    self.finding(format_args!("mmu_map_perm_addr of map-in RA {ra:#x}: {r:?}"));
                    let _ = unsafe { hv::mmu_unmap_perm_addr(VA_H, 3) };
                }
            }
        }
        for &ra in &[0, MAPIN_BASE_RA - 8, !7, self.scratch, self.base - 8] {
            self.expect(hcall::LDC_UNMAP, [ra, 0, 0, 0, 0], inval, "ldc_unmap outside the map-in window");
        }
        for ep in eps {
            self.own_channel(ep.id);
        }
    }

    /// Stage 7 on one of the domain's own channels (see [`Hostile::channels`]).
    fn own_channel(&mut self, ch: u64) {
        let (inval, badalign, noraddr, nomap, wouldblock) = (
            HvError::Inval.code(),
            HvError::BadAlign.code(),
            HvError::NoRAddr.code(),
            HvError::NoMap.code(),
            HvError::WouldBlock.code(),
        );
        // Whatever the hostile calls of earlier stages configured goes.
        for f in [hcall::LDC_TX_QCONF, hcall::LDC_RX_QCONF, hcall::LDC_SET_MAP_TABLE] {
            self.expect(f, [ch, 0, 0, 0, 0], 0, "unconfigure");
        }
        // Queues and map tables of every size at and across the edges.
        for (conf, info, unit) in [
            (hcall::LDC_TX_QCONF, hcall::LDC_TX_QINFO, 64),
            (hcall::LDC_RX_QCONF, hcall::LDC_RX_QINFO, 64),
            (hcall::LDC_SET_MAP_TABLE, hcall::LDC_GET_MAP_TABLE, 16),
        ] {
            for shift in 0..64u64 {
                for entries in [1u64 << shift, (1u64 << shift) + 1, (1u64 << shift).wrapping_sub(1)] {
                    let bytes = entries.wrapping_mul(unit);
                    for ra in self.region_places(bytes) {
                        for ra in [ra, ra + 8, ra + 16] {
                            let (want, in_scratch) = self.region_status(ra, entries, unit);
                            if !in_scratch {
                                continue;
                            }
                            self.expect(conf, [ch, ra, entries, 0, 0], want, "a queue or map table at an edge");
                            let (_, r) = self.expect_any(info, [ch, 0, 0, 0, 0], &[0], "qinfo / get_map_table");
                            let shown = if want == 0 && entries != 0 { (ra, entries) } else { (0, 0) };
                            if (r[0], r[1]) != shown {
                                self.finding(format_args!(
                                    "after fn {conf:#x}({ch}, {ra:#x}, {entries:#x}) -> {want:#x}: fn {info:#x} shows {:#x}, {:#x}",
                                    r[0], r[1]
                                ));
                            }
                            if want == 0 {
                                self.expect(conf, [ch, 0, 0, 0, 0], 0, "unconfigure");
                            }
                        }
                    }
                }
            }
        }
        // A map table whose MTEs name pages anywhere, with every permission: the peer
        // (which imports nothing) could only reach the domain's own pages through it.
        let table = self.scratch + 0x8_0000;
        let entries = 64u64;
        for i in 0..entries {
            let page =
                if i < OUTSIDE as u64 { self.outside[i as usize] } else { self.arg() } & hv_api::ldc::Mte::RA_MASK;
            let mte = page | (self.rng.next() & hv_api::ldc::Mte::PERM_MASK) | if i % 5 == 0 { i % 16 } else { 0 };
            // SAFETY: the scratch region.
            unsafe {
                core::ptr::write_volatile((table + 16 * i) as *mut u64, mte);
                core::ptr::write_volatile((table + 16 * i + 8) as *mut u64, 0);
            }
        }
        self.expect(hcall::LDC_SET_MAP_TABLE, [ch, table, entries, 0, 0], 0, "a map table of hostile MTEs");
        // The transmit queue: 64 entries; floods to every offset.
        let (txq, rxq) = (self.scratch + 0x4_0000, self.scratch + 0x6_0000);
        let qbytes = 64 * 64;
        self.expect(hcall::LDC_TX_QCONF, [ch, txq, 64, 0, 0], 0, "ldc_tx_qconf");
        self.expect(hcall::LDC_RX_QCONF, [ch, rxq, 64, 0, 0], 0, "ldc_rx_qconf");
        let (_, st) = self.expect_any(hcall::LDC_TX_GET_STATE, [ch, 0, 0, 0, 0], &[0], "ldc_tx_get_state");
        let down = st[2] == hv_api::ldc::state::DOWN;
        for round in 0..FLOOD_ROUNDS {
            for tail in (0..qbytes + 0x100).step_by(64).chain([8, 63, qbytes - 8, 1 << 63, !63, round * 64 + 32]) {
                let want: &[u64] = if tail % 64 != 0 {
                    &[badalign]
                } else if tail >= qbytes {
                    &[inval]
                } else if tail == 0 {
                    &[0]
                } else if down {
                    &[wouldblock]
                } else {
                    &[wouldblock, 0]
                };
                let (status, _) = self.expect_any(hcall::LDC_TX_SET_QTAIL, [ch, tail, 0, 0, 0], want, "a send");
                if status == 0 && tail != 0 {
                    // The peer took it: back to an empty tail for the next.
                    let _ = self.expect_any(hcall::LDC_TX_SET_QTAIL, [ch, 0, 0, 0, 0], &[0, wouldblock], "a send");
                }
            }
        }
        let (_, st) = self.expect_any(hcall::LDC_TX_GET_STATE, [ch, 0, 0, 0, 0], &[0], "ldc_tx_get_state");
        if down && (st[0], st[1]) != (0, 0) {
            self.finding(format_args!("a refused send moved the transmit queue: head {:#x} tail {:#x}", st[0], st[1]));
        }
        // Heads of the empty receive queue.
        for head in (0..qbytes + 0x100).step_by(64).chain([8, !63, 1 << 63]) {
            let want = if head % 64 != 0 {
                badalign
            } else if head == 0 {
                0
            } else {
                inval
            };
            self.expect(hcall::LDC_RX_SET_QHEAD, [ch, head, 0, 0, 0], want, "ldc_rx_set_qhead of an empty queue");
        }
        let (_, st) = self.expect_any(hcall::LDC_RX_GET_STATE, [ch, 0, 0, 0, 0], &[0], "ldc_rx_get_state");
        if (st[0], st[1]) != (0, 0) {
            self.finding(format_args!("the empty receive queue shows head {:#x} tail {:#x}", st[0], st[1]));
        }
        // ldc_copy and ldc_mapin with cookies of every kind; the peer exports nothing.
        for _ in 0..20_000 {
            let any = self.rng.next();
            let index = self.rng.pick(&[0, 1, 2, 63, 64, 1 << 20, (1 << 47) - 1, any >> 17]);
            let code = if self.rng.below(4) == 0 { self.rng.below(16) } else { 0 };
            let offset = self.rng.pick(&[0, 8, 4, 0x40, PAGE_8K - 8, any & 0x1fff]);
            let cookie = code << 60 | index << 13 | offset;
            let dir = self.rng.pick(&[0, 1, 1, 2, u64::MAX]);
            let len = self.rng.pick(&[8, 64, PAGE_8K, 0x1_0000, 0x1_0008, 0, 4, SCRATCH_SIZE, !7, 1 << 40]);
            let ra = if self.rng.below(2) == 0 {
                self.scratch + (self.rng.below(SCRATCH_SIZE / 2) & !7)
            } else {
                self.arg()
            };
            let want = if dir > 1 || len == 0 {
                inval
            } else if (cookie | ra | len) & 7 != 0 {
                badalign
            } else if ra < self.base || ra.checked_add(len).is_none_or(|e| e > self.end) {
                noraddr
            } else if ra < self.scratch {
                continue;
            } else {
                nomap
            };
            self.expect(hcall::LDC_COPY, [ch, dir, cookie, ra, len], want, "ldc_copy from a peer that exports nothing");
            self.expect(hcall::LDC_MAPIN, [ch, cookie, 0, 0, 0], nomap, "ldc_mapin from a peer that exports nothing");
            let rc = self.arg();
            self.expect(hcall::LDC_REVOKE, [ch, cookie, rc, 0, 0], inval, "ldc_revoke of a page nobody mapped");
        }
        for f in [hcall::LDC_TX_QCONF, hcall::LDC_RX_QCONF, hcall::LDC_SET_MAP_TABLE] {
            self.expect(f, [ch, 0, 0, 0, 0], 0, "unconfigure");
        }
    }
}

type HvResult<T> = hv_api::error::HvResult<T>;
/// One stage of the run.
type Stage = fn(&mut Hostile);

/// Fast-trap functions whose results depend on time (left out of the digest).
fn timed(function: u64) -> bool {
    matches!(function, hcall::TOD_GET | hcall::MACH_SET_WATCHDOG)
}
/// What re-negotiating Core 1.1 and Soft state 1.0 answered.
type Versions = (HvResult<u64>, HvResult<(u64, u64)>, HvResult<u64>, HvResult<(u64, u64)>);

/// PSTATE bits a hostile call flips: AM (32-bit addresses), TLE and CLE (little-endian
/// traps and accesses), PEF (floating point), one or all.
const PSTATE_FLIPS: [u64; 5] = [0x8, 0x100, 0x200, 0x10, 0x8 | 0x100 | 0x200 | 0x10];

/// `ta trap` (0x80–0xff) at trap level `tl`, PSTATE xor `pstate`, with `%o5 = function`.
fn raw_trap(trap: u64, tl: u64, pstate: u64, function: u64, a: [u64; 5]) -> (u64, [u64; 4]) {
    let (status, r1, r2, r3, r4);
    // SAFETY: the hostile calls are sanitized (Hostile::sanitize): every buffer they name
    // inside the domain is in the scratch region, and none ends or moves the guest. The
    // trap level and PSTATE go back to what they were; nothing between touches memory.
    unsafe {
        core::arch::asm!(
            "rdpr %pstate, {saved}",
            "wrpr {saved}, {pstate}, %pstate",
            "wrpr {tl}, %tl",
            "ta %xcc, {trap} + %g0",
            "wrpr %g0, 0, %tl",
            "wrpr {saved}, 0, %pstate",
            saved = out(reg) _,
            pstate = in(reg) pstate,
            tl = in(reg) tl,
            trap = in(reg) trap,
            inout("o0") a[0] => status,
            inout("o1") a[1] => r1,
            inout("o2") a[2] => r2,
            inout("o3") a[3] => r3,
            inout("o4") a[4] => r4,
            inout("o5") function => _,
            options(nostack)
        );
    }
    (status, [r1, r2, r3, r4])
}

const MARK: u64 = 0x5a5a_5a5a_5a5a_5a5a;

/// A load at `va` at trap level `tl` (plain, or through `ASI_REAL`); a faulting load is
/// skipped by the trap handler (the result is then MARK). `flushw` first, so that the
/// handler, at TL `tl + 1`, takes no window trap.
fn load_at(va: u64, tl: u64, asi_real: bool) -> u64 {
    let mut v = MARK;
    // SAFETY: the tests expect the load to fault (the handler skips it) or to read the
    // guest's own memory.
    unsafe {
        if asi_real {
            core::arch::asm!("flushw", "wrpr {tl}, %tl", "ldxa [{a}] {asi}, {v}", "wrpr %g0, 0, %tl",
                tl = in(reg) tl, a = in(reg) va, v = inout(reg) v, asi = const ASI_REAL, options(nostack));
        } else {
            core::arch::asm!("flushw", "wrpr {tl}, %tl", "ldx [{a}], {v}", "wrpr %g0, 0, %tl",
                tl = in(reg) tl, a = in(reg) va, v = inout(reg) v, options(nostack));
        }
    }
    v
}

/// A load at a real address below 4 GiB where nothing answers, with PSTATE.AM set (MMU off).
fn load_am(ra: u64) {
    // SAFETY: the load faults (the handler skips it); PSTATE goes back to what it was.
    unsafe {
        core::arch::asm!("rdpr %pstate, {saved}", "wrpr {saved}, 0x8, %pstate", "ldx [{a}], {v}", "wrpr {saved}, 0, %pstate",
            saved = out(reg) _, a = in(reg) ra, v = out(reg) _, options(nostack));
    }
}

/// A store at a virtual address the tests expect to fault.
fn store_at(va: u64, v: u64) {
    // SAFETY: the store faults (the handler skips it) or is a finding.
    unsafe { core::arch::asm!("stx {v}, [{a}]", a = in(reg) va, v = in(reg) v, options(nostack)) };
}

/// A real store where nothing answers, at trap level `tl`.
fn store_real(ra: u64, tl: u64, asi_real: bool) {
    // SAFETY: only called for addresses where a load gave an access error.
    unsafe {
        if asi_real {
            core::arch::asm!("flushw", "wrpr {tl}, %tl", "stxa {v}, [{a}] {asi}", "wrpr %g0, 0, %tl",
                tl = in(reg) tl, a = in(reg) ra, v = in(reg) MARK, asi = const ASI_REAL, options(nostack));
        } else {
            core::arch::asm!("flushw", "wrpr {tl}, %tl", "stx {v}, [{a}]", "wrpr %g0, 0, %tl",
                tl = in(reg) tl, a = in(reg) ra, v = in(reg) MARK, options(nostack));
        }
    }
}

/// Jumps to `va` at trap level `tl`; the expected instruction fault goes on after the jump.
fn fetch_at(va: u64, tl: u64) -> u64 {
    // SAFETY: the tests expect the fetch to fault; the handler resumes at label 1 (through
    // GUEST_RESUME_PC), with the trap level restored below.
    unsafe {
        core::arch::asm!(
            "flushw",
            "setx 1f, {t}, {r}",
            "stx {r}, [{p}]",
            "wrpr {tl}, %tl",
            "jmpl {va}, %g0",
            "nop",
            "1:",
            "wrpr %g0, 0, %tl",
            t = out(reg) _,
            r = out(reg) _,
            p = in(reg) GUEST_RESUME_PC.as_ptr(),
            tl = in(reg) tl,
            va = in(reg) va,
            options(nostack)
        );
    }
    0
}

fn read_real(ra: u64) -> u64 {
    let v: u64;
    // SAFETY: ASI_REAL load of the guest's own memory.
    unsafe {
        core::arch::asm!("ldxa [{a}] {asi}, {v}", a = in(reg) ra, v = out(reg) v, asi = const ASI_REAL, options(nostack))
    };
    v
}

fn write_real(ra: u64, v: u64) {
    // SAFETY: ASI_REAL store to the guest's scratch region.
    unsafe {
        core::arch::asm!("stxa {v}, [{a}] {asi}", a = in(reg) ra, v = in(reg) v, asi = const ASI_REAL, options(nostack))
    };
}

/// Writes the context-0 entry of the hostile TSB for `va` (page size `1 << shift`).
fn set_tte(va: u64, shift: u64, tte: u64) {
    let i = ((va >> shift) & 511) as usize;
    TSB.set(2 * i + 1, 0);
    TSB.set(2 * i, va >> 22);
    TSB.set(2 * i + 1, tte);
}

/// Turns the MMU on or off; execution continues at the next instruction (identity mapped).
fn mmu_enable(on: bool) -> u64 {
    let status: u64;
    // SAFETY: the image and the top of memory are identity mapped, so the return address
    // is valid in both modes.
    unsafe {
        core::arch::asm!(
            "setx 1f, {t}, %o1",
            "mov {f}, %o5",
            "ta 0x80",
            "1:",
            f = const hcall::MMU_ENABLE,
            t = out(reg) _,
            inout("o0") on as u64 => status,
            out("o1") _, out("o5") _,
            options(nostack)
        );
    }
    status
}

/// A word sum of `len` bytes at `ra` (MMU off or identity mapped).
fn sum(ra: u64, len: u64) -> u64 {
    let mut s = 0u64;
    let mut a = ra;
    while a < ra + len {
        // SAFETY: the guest's own image, or (MMU off) an MD slot or the PROM, which a guest
        // can read while the hypervisor uses no real translation (RA = PA).
        let w = unsafe { core::ptr::read_volatile(a as *const u64) };
        s = s.rotate_left(5) ^ w;
        a += 8;
    }
    s
}

/// The guest's code and read-only data.
fn image_sum() -> u64 {
    let start = core::ptr::addr_of!(guest_trap_table) as u64;
    let end = core::ptr::addr_of!(__data_start) as u64 & !7;
    sum(start, end - start)
}

/// The MD slots and the start of the PROM.
fn hv_sums() -> [u64; 3] {
    [sum(GUEST_MD_SLOT, PAGE_8K), sum(HV_MD_SLOT, PAGE_8K), sum(PROM, PROM_CHECKED)]
}
