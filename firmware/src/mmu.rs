//! MMU virtualization: per-vCPU MMU state, the MMU hypercalls, and TLB-miss handling
//! (hv-api.md §2.2, §2.3, §2.9, §4.1–§4.3, §4.6; qemu-niagara.md §4, §13).
//!
//! A guest never gets a translation outside its own memory: every TTE that reaches the TLB
//! (from `mmu_map_addr`, `mmu_map_perm_addr` or a TSB hit) has its real address checked
//! against the domain's memory — the whole page — and replaced by the physical address.
//! The TTE lock bit 61 is cleared in guest TTEs and set only in permanent mappings.
//!
//! Decisions (see also each function):
//! * **256 MB pages.** QEMU mistranslates sz = 5 (qemu-niagara.md §4.2), so a 256 MB TTE
//!   never reaches the TLB: a TSB hit or `mmu_map_addr` loads the 4 MB piece holding the
//!   faulting VA. `mmu_map_perm_addr` refuses 256 MB with `EBADPGSZ` (64 locked 4 MB
//!   entries would fill the 64-entry TLB; the guest MD's `mmu-page-size-list` is 0x0b).
//! * **Bad TTEs in a TSB** (page size not a T1 size, or a real address outside the
//!   domain's memory) are never loaded. The guest gets an instruction / data access
//!   exception (TT 0x08 / 0x30) with fault type `INV_PGSZ` (15) / `INV_RA` (4). Sun's
//!   hypervisor takes a slow miss here (marked "XXX fault not just a miss" in its source);
//!   the exception tells the guest what is wrong instead of looping on the miss.
//! * **Misaligned VA in `mmu_map_perm_addr`** is `EINVAL`, as Sun's hypervisor does it;
//!   `mmu_map_addr`, `mmu_unmap_addr` and the demaps mask the VA to its page instead.
//! * The `STRICT_API` checks of Sun's hypervisor (VA inside the 48-bit sign-extended range,
//!   context below 8192, flags 1–3) are always made.

use crate::addr::Ra;
use crate::guest_memory::{GuestMemory, GuestRange};
use crate::hardware::{Hardware, TlbSet};
use crate::hcall::{Context, Outcome, Reply};
use crate::trap::{TrapFrame, RESUME_RETRY};
use hv_api::error::HvError;
use hv_api::mmu::{
    fault_area, fault_type, tsb_tag, PageSize, TsbDescriptor, Tte, CONTEXT_BITS, FAULT_AREA_ALIGNMENT, FAULT_AREA_SIZE,
    MAP_DTLB, MAP_ITLB, T1_TSB_MAX_ENTRIES, T1_TSB_MIN_ENTRIES, TAG_CTX_MASK, TAG_CTX_SHIFT, TSBD_ALIGNMENT,
    TSBD_BYTES, TSBD_CTX_IDX_SHARED, TSB_ENTRY_SIZE, VA_BITS,
};
use hv_api::trap::tt;

/// TSBs per context class (T1: OSH `MAX_NTSB`; hv-api.md §2.9).
pub const MAX_TSBS: usize = hv_api::mmu::T1_MAX_TSBS as usize;
/// Permanent mappings per vCPU (OSH `NPERMMAPPINGS`; hv-api.md §2.3).
pub const MAX_PERM_MAPPINGS: usize = hv_api::mmu::MAX_PERM_MAPPINGS as usize;
/// Number of contexts (13 context bits).
pub const NCTXS: u64 = 1 << CONTEXT_BITS;
/// Most bytes `mem_scrub` clears per call (it returns how many it did).
pub const MEM_SCRUB_MAX: u64 = 1 << 20;
/// Alignment of `mem_scrub` / `mem_sync` addresses and lengths (hv-api.md §2.3).
pub const MEM_ALIGN: u64 = 8192;

/// The tag's context field, in place.
const TAG_CTX_FIELD: u64 = TAG_CTX_MASK << TAG_CTX_SHIFT;
/// Low VA bits the TLB tag-access register uses for the context.
const PAGE_OFFSET_8K: u64 = 0x1fff;

/// A registered TSB: the descriptor as the guest gave it, and its checked memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tsb {
    /// The descriptor, exactly as registered (returned by the `*_info` calls).
    pub desc: TsbDescriptor,
    /// The TSB's memory, checked against the domain's memory at registration.
    range: GuestRange,
}

impl Tsb {
    /// log2 of the page size that indexes this TSB.
    pub fn page_shift(&self) -> u32 {
        hv_api::mmu::page_shift(self.desc.pgsz_idx as u64)
    }

    /// Whether the tag keeps the context in context class `nonzero_ctx` (shared TSB, or
    /// the context-0 class).
    pub fn tag_has_context(&self, nonzero_ctx: bool) -> bool {
        !nonzero_ctx || self.desc.ctx_idx == TSBD_CTX_IDX_SHARED
    }
}

/// The compact view of a TSB the arch-layer fast path reads (`#[repr(C)]`, four u64; the
/// assembly takes its field offsets from this type).
///
/// Lookup for VA `va` (page aligned, from the tag access) and context `ctx`: entry at
/// `base_pa + ((va >> offset_shift) & offset_mask)` (= `base_pa + 16 × ((va >> page
/// shift) & (num_ttes - 1))`, one instruction shorter); hit when the entry's tag word
/// `t` satisfies `(t ^ tsb_tag(ctx, va)) & tag_mask == 0` and the data word has bit 63 set
/// (the same test as [`tlb_miss`]'s walk). The fast path must still check the TTE's size and
/// real address (or hand every hit it is unsure of to [`tlb_miss`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastTsb {
    /// Physical address of the TSB; 0 = slot unused.
    pub base_pa: u64,
    /// `(num_ttes - 1) × 16`: the entry offsets.
    pub offset_mask: u64,
    /// The page shift (`13 + 3 × pgsz_idx`) less log2 of the 16-byte entry.
    pub offset_shift: u64,
    /// The tag bits compared: all when the tag keeps the context (shared TSB or the
    /// context-0 class), else all but the context field (hv-api.md §4.2).
    pub tag_mask: u64,
}

/// A permanent mapping as `mmu_unmap_addr`'s fast path checks it (`#[repr(C)]`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastPerm {
    /// Page-aligned VA.
    pub va: u64,
    /// Page mask (`!(page size - 1)`).
    pub mask: u64,
}

/// What the arch layer's fast paths read of a vCPU's MMU state, in place (`#[repr(C)]`;
/// the assembly takes its offsets from this type and reaches it through a pointer set when
/// the vCPU starts). [`MmuState`] updates it whenever its TSBs, fault area or permanent
/// mappings change, so there is no copy to refresh.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastMmu {
    /// Physical address of the fault status area; 0 = none (the slow path then applies the
    /// failure policy).
    pub fault_area: u64,
    /// Context-0 TSBs, then nonzero-context TSBs (unused slots zero).
    pub tsbs: [FastTsb; 4],
    /// Number of valid entries in `perms`.
    pub perm_count: u64,
    /// Permanent mappings (context 0): a demap of these pages is followed by a reload,
    /// which the Rust path does.
    pub perms: [FastPerm; MAX_PERM_MAPPINGS],
}

/// A permanent mapping (`mmu_map_perm_addr`): context 0, kept in the TLB locked and
/// re-loaded after every TLB miss or demap that lost it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermMapping {
    /// Virtual address (aligned to the page size).
    pub va: u64,
    /// The TTE as the guest gave it (real address).
    pub tte: u64,
    /// The TTE loaded: physical address, lock bit set.
    pub tlb_tte: u64,
    /// Which TLBs hold it: [`MAP_DTLB`] | [`MAP_ITLB`].
    pub flags: u64,
}

impl PermMapping {
    fn page_bytes(&self) -> u64 {
        page_bytes(self.tte)
    }

    fn contains(&self, va: u64) -> bool {
        va.wrapping_sub(self.va) < self.page_bytes()
    }
}

/// A vCPU's MMU state (OSH keeps the same per CPU).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MmuState {
    /// Whether the guest turned its MMU on (`mmu_enable`).
    pub enabled: bool,
    ctx0: heapless::Vec<Tsb, MAX_TSBS>,
    ctxnon0: heapless::Vec<Tsb, MAX_TSBS>,
    /// Fault status area: the RA the guest gave and its checked memory.
    fault_area: Option<(u64, GuestRange)>,
    perm: heapless::Vec<PermMapping, MAX_PERM_MAPPINGS>,
    /// The fast paths' view of the above ([`FastMmu`]).
    fast: FastMmu,
}

impl MmuState {
    /// The TSBs of a context class (context 0, or the non-zero contexts).
    pub fn tsbs(&self, nonzero_ctx: bool) -> &[Tsb] {
        if nonzero_ctx {
            &self.ctxnon0
        } else {
            &self.ctx0
        }
    }

    /// The fault status area's real address (0 = none).
    pub fn fault_area_ra(&self) -> u64 {
        self.fault_area.map_or(0, |(ra, _)| ra)
    }

    /// The fault status area's physical address (0 = none), for the arch-layer fast path.
    pub fn fault_area_pa(&self) -> u64 {
        self.fault_area.map_or(0, |(_, range)| range.pa().raw())
    }

    /// The permanent mappings.
    pub fn perm_mappings(&self) -> &[PermMapping] {
        &self.perm
    }

    /// The TSBs of a context class for the arch-layer fast path (unused slots are zero).
    pub fn fast_tsbs(&self, nonzero_ctx: bool) -> [FastTsb; 2] {
        let mut out = [FastTsb::default(); 2];
        for (slot, t) in out.iter_mut().zip(self.tsbs(nonzero_ctx)) {
            *slot = FastTsb {
                base_pa: t.range.pa().raw(),
                offset_mask: (t.desc.num_ttes as u64 - 1) * TSB_ENTRY_SIZE as u64,
                offset_shift: (t.page_shift() - TSB_ENTRY_SIZE.trailing_zeros()) as u64,
                tag_mask: if t.tag_has_context(nonzero_ctx) { u64::MAX } else { !TAG_CTX_FIELD },
            };
        }
        out
    }

    /// The fast paths' view of this state.
    pub fn fast(&self) -> &FastMmu {
        &self.fast
    }

    /// Brings [`FastMmu`] up to date after a change of the TSBs, the fault area or the
    /// permanent mappings.
    fn sync_fast(&mut self) {
        let mut fast = FastMmu { fault_area: self.fault_area_pa(), ..FastMmu::default() };
        fast.tsbs[..2].copy_from_slice(&self.fast_tsbs(false));
        fast.tsbs[2..].copy_from_slice(&self.fast_tsbs(true));
        fast.perm_count = self.perm.len() as u64;
        for (slot, p) in fast.perms.iter_mut().zip(&self.perm) {
            let mask = !(page_bytes(p.tte) - 1);
            *slot = FastPerm { va: p.va & mask, mask };
        }
        self.fast = fast;
    }

    /// Back to the state at guest start: removes this vCPU's permanent mappings from this
    /// strand's TLBs, demaps everything else and turns the MMU off.
    pub fn reset(&mut self, hw: &mut dyn Hardware) {
        for p in &self.perm {
            if let Some(tlbs) = TlbSet::from_flags(p.flags) {
                hw.tlb_demap_page(tlbs, p.va, 0);
            }
        }
        hw.tlb_demap_all(TlbSet::BOTH);
        hw.mmu_set_enabled(false);
        *self = MmuState::default();
    }

    /// Removes every translation of this strand's TLBs but the permanent mappings, which
    /// are loaded again (an LDC map-in of the domain ended, [`crate::ldc`]).
    pub fn flush(&self, hw: &mut dyn Hardware) {
        hw.tlb_demap_all(TlbSet::BOTH);
        self.reload_perm(hw, TlbSet::BOTH, |_| true);
    }

    /// Loads the permanent mappings in `tlbs` that `lost` says a demap may have removed.
    fn reload_perm(&self, hw: &mut dyn Hardware, tlbs: TlbSet, lost: impl Fn(&PermMapping) -> bool) {
        for p in self.perm.iter().filter(|p| lost(p)) {
            let want = TlbSet {
                data: tlbs.data && p.flags & MAP_DTLB != 0,
                instruction: tlbs.instruction && p.flags & MAP_ITLB != 0,
            };
            if want.data || want.instruction {
                hw.tlb_load(want, p.va, 0, p.tlb_tte);
            }
        }
    }
}

/// Page size in bytes of a TTE whose size code is known to be valid.
fn page_bytes(tte: u64) -> u64 {
    hv_api::mmu::page_bytes(tte & Tte::SZ_MASK)
}

/// The T1 page size of a TTE (4-bit size field, as OSH reads it), or `None`.
fn t1_page_size(tte: u64) -> Option<PageSize> {
    PageSize::from_code(tte & Tte::SZ_MASK).filter(|p| p.is_t1_supported())
}

/// Whether `va` is inside the implemented 48-bit VA space (sign extended; OSH `CHECK_VA_CTX`).
fn va_in_range(va: u64) -> bool {
    let shift = 64 - VA_BITS;
    (((va << shift) as i64) >> shift) as u64 == va
}

/// The `flags` argument of the map / demap calls: 1, 2 or 3, else `EINVAL`.
fn tlbs_of(flags: u64) -> Result<TlbSet, HvError> {
    TlbSet::from_flags(flags).ok_or(HvError::Inval)
}

/// OSH `CHECK_VA_CTX` (`STRICT_API`): VA in range and context below 8192, else `EINVAL`.
fn check_va_ctx(va: u64, ctx: u64) -> Result<(), HvError> {
    if va_in_range(va) && ctx < NCTXS {
        Ok(())
    } else {
        Err(HvError::Inval)
    }
}

/// A guest TTE made ready for the TLB: its page (of `size`) checked to lie in `memory`,
/// the real address replaced by the physical one and the lock bit cleared. A 256 MB page
/// becomes the 4 MB piece holding `va`. Errors: `ENORADDR`.
fn tlb_tte(memory: &GuestMemory, tte: u64, size: PageSize, va: u64) -> Result<u64, HvError> {
    let bytes = size.bytes();
    let ra = tte & Tte::RA_MASK & !(bytes - 1);
    let mut pa = memory.range(Ra::new(ra), bytes)?.pa().raw();
    let mut code = size.code();
    if size == PageSize::Size256M {
        pa += va & (PageSize::Size256M.bytes() - 1) & !(PageSize::Size4M.bytes() - 1);
        code = PageSize::Size4M.code();
    }
    Ok((tte & !(Tte::RA_MASK | Tte::LOCK | Tte::SZ_MASK)) | pa | code)
}

/// As [`tlb_tte`] for a guest TTE that may also name a page of a channel peer mapped in by
/// `ldc_mapin` ([`crate::ldc`]): an 8 KiB page in the caller's map-in window, loaded only
/// if the map-in allows reading, and writing for a writable TTE, and executing for an ITLB
/// load (`instruction`). Errors: `ENORADDR`.
fn guest_tlb_tte(cx: &Context<'_>, tte: u64, size: PageSize, va: u64, instruction: bool) -> Result<u64, HvError> {
    let err = match tlb_tte(&cx.config.memory, tte, size, va) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    use crate::ldc::perm;
    let ra = tte & Tte::RA_MASK & !(size.bytes() - 1);
    let Some((pa, perms)) = cx.channels.mapin_page(cx.hv_config, cx.domain_index, ra) else { return Err(err) };
    let need = perm::R | if tte & Tte::W != 0 { perm::W } else { 0 } | if instruction { perm::X } else { 0 };
    if size != PageSize::Size8K || perms & need != need {
        return Err(err);
    }
    Ok((tte & !(Tte::RA_MASK | Tte::LOCK | Tte::SZ_MASK)) | pa.raw() | size.code())
}

/// A reply of the `*_info` calls: the count goes to `%o1` also with an error (as OSH).
fn count_reply(status: Result<(), HvError>, n: u64) -> Reply {
    match status {
        Ok(()) => Reply::ok1(n),
        Err(e) => Reply::err1(e, n),
    }
}

fn validate_tsb(memory: &GuestMemory, d: &TsbDescriptor) -> Result<Tsb, HvError> {
    let size = PageSize::from_code(d.pgsz_idx as u64).filter(|p| p.is_t1_supported()).ok_or(HvError::BadPgSz)?;
    let bit = size.mask_bit() as u32;
    if d.pgsz_mask & bit == 0 || d.pgsz_mask & (bit - 1) != 0 {
        return Err(HvError::Inval);
    }
    if d.assoc != 1 {
        return Err(HvError::BadTsb);
    }
    let n = d.num_ttes as u64;
    if !n.is_power_of_two() || !(T1_TSB_MIN_ENTRIES..=T1_TSB_MAX_ENTRIES).contains(&n) {
        return Err(HvError::BadTsb);
    }
    if d.ctx_idx != 0 && d.ctx_idx != TSBD_CTX_IDX_SHARED {
        return Err(HvError::Inval);
    }
    if d.reserved != 0 {
        return Err(HvError::Inval);
    }
    let bytes = n * TSB_ENTRY_SIZE as u64;
    let range = memory.range(Ra::new(d.tsb_base), bytes)?;
    if !Ra::new(d.tsb_base).is_aligned(bytes) {
        return Err(HvError::BadAlign);
    }
    Ok(Tsb { desc: *d, range })
}

/// `mmu_tsb_ctx0` (0x20) / `mmu_tsb_ctxnon0` (0x21): registers `ntsb` TSB descriptors at
/// `tsbd_ra` for context 0 / the non-zero contexts; `ntsb` = 0 removes them. The class is
/// unconfigured first, so a failed call leaves it without TSBs (as OSH).
///
/// Errors, in OSH order: `EINVAL` (`ntsb` > 2), `EBADALIGN` (array not 8-byte aligned),
/// `ENORADDR` (array outside memory); per descriptor: `EBADPGSZ` (index not a T1 size),
/// `EINVAL` (index not the lowest bit of the mask), `EBADTSB` (associativity ≠ 1, entries
/// not a power of two in 512…16M), `EINVAL` (`ctx_idx` not 0 / -1, reserved ≠ 0),
/// `ENORADDR` (TSB outside memory), `EBADALIGN` (TSB not aligned to its size).
pub fn mmu_tsb(cx: &mut Context<'_>, nonzero_ctx: bool, ntsb: u64, tsbd_ra: u64) -> Reply {
    let reply = mmu_tsb_checked(cx, nonzero_ctx, ntsb, tsbd_ra);
    cx.mmu.sync_fast();
    reply
}

fn mmu_tsb_checked(cx: &mut Context<'_>, nonzero_ctx: bool, ntsb: u64, tsbd_ra: u64) -> Reply {
    fn set(mmu: &mut MmuState, nonzero_ctx: bool) -> &mut heapless::Vec<Tsb, MAX_TSBS> {
        if nonzero_ctx {
            &mut mmu.ctxnon0
        } else {
            &mut mmu.ctx0
        }
    }
    set(cx.mmu, nonzero_ctx).clear();
    if ntsb == 0 {
        return Reply::ok();
    }
    if ntsb > MAX_TSBS as u64 {
        return Reply::err(HvError::Inval);
    }
    if !Ra::new(tsbd_ra).is_aligned(TSBD_ALIGNMENT) {
        return Reply::err(HvError::BadAlign);
    }
    let array = match cx.config.memory.range(Ra::new(tsbd_ra), ntsb * TSBD_BYTES as u64) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    let mut tsbs: heapless::Vec<Tsb, MAX_TSBS> = heapless::Vec::new();
    for i in 0..ntsb {
        let mut b = [0u8; TSBD_BYTES];
        array.read_at(cx.hw, i * TSBD_BYTES as u64, &mut b);
        match validate_tsb(&cx.config.memory, &TsbDescriptor::from_be_bytes(&b)) {
            // Room for MAX_TSBS, and ntsb ≤ MAX_TSBS.
            Ok(t) => {
                let _ = tsbs.push(t);
            }
            Err(e) => return Reply::err(e),
        }
    }
    *set(cx.mmu, nonzero_ctx) = tsbs;
    Reply::ok()
}

/// `mmu_tsb_ctx0_info` (0x29) / `mmu_tsb_ctxnon0_info` (0x2a): copies the registered
/// descriptors of the class to `buf_ra` and returns their number in `%o1` — also with an
/// error. No TSBs: `EOK`, 0, nothing checked. Errors: `EINVAL` (more TSBs than `max`),
/// `EBADALIGN` (buffer not 8-byte aligned), `ENORADDR`.
pub fn mmu_tsb_info(cx: &mut Context<'_>, nonzero_ctx: bool, max: u64, buf_ra: u64) -> Reply {
    let tsbs = cx.mmu.tsbs(nonzero_ctx);
    let n = tsbs.len() as u64;
    if n == 0 {
        return Reply::ok1(0);
    }
    if n > max {
        return count_reply(Err(HvError::Inval), n);
    }
    if !Ra::new(buf_ra).is_aligned(TSBD_ALIGNMENT) {
        return count_reply(Err(HvError::BadAlign), n);
    }
    let buf = match cx.config.memory.range(Ra::new(buf_ra), n * TSBD_BYTES as u64) {
        Ok(r) => r,
        Err(e) => return count_reply(Err(e), n),
    };
    for (i, t) in tsbs.iter().enumerate() {
        buf.write_at(cx.hw, (i * TSBD_BYTES) as u64, &t.desc.to_be_bytes());
    }
    Reply::ok1(n)
}

/// `mmu_demap_page` (0x22): `(0, 0, va, ctx, flags)` removes the translation of the page
/// holding `va` in `ctx` from this vCPU's TLBs (permanent mappings stay). Errors:
/// `ENOTSUPPORTED` (CPU list arguments not 0), `EINVAL` (VA outside the 48-bit range,
/// ctx ≥ 8192, flags not 1–3).
pub fn mmu_demap_page(cx: &mut Context<'_>, cpus: (u64, u64), va: u64, ctx: u64, flags: u64) -> Reply {
    if cpus != (0, 0) {
        return Reply::err(HvError::NotSupported);
    }
    match check_va_ctx(va, ctx).and_then(|()| tlbs_of(flags)) {
        Ok(tlbs) => {
            demap_page(cx, tlbs, va, ctx);
            Reply::ok()
        }
        Err(e) => Reply::err(e),
    }
}

fn demap_page(cx: &mut Context<'_>, tlbs: TlbSet, va: u64, ctx: u64) {
    let va = va & !PAGE_OFFSET_8K;
    cx.hw.tlb_demap_page(tlbs, va, ctx);
    if ctx == 0 {
        cx.mmu.reload_perm(cx.hw, tlbs, |p| p.contains(va));
    }
}

/// `mmu_demap_ctx` (0x23): `(0, 0, ctx, flags)` removes every translation of `ctx` from
/// this vCPU's TLBs (permanent mappings stay). Errors: `ENOTSUPPORTED` (CPU list arguments
/// not 0), `EINVAL` (ctx ≥ 8192, flags not 1–3).
pub fn mmu_demap_ctx(cx: &mut Context<'_>, cpus: (u64, u64), ctx: u64, flags: u64) -> Reply {
    if cpus != (0, 0) {
        return Reply::err(HvError::NotSupported);
    }
    if ctx >= NCTXS {
        return Reply::err(HvError::Inval);
    }
    match tlbs_of(flags) {
        Ok(tlbs) => {
            cx.hw.tlb_demap_context(tlbs, ctx);
            if ctx == 0 {
                cx.mmu.reload_perm(cx.hw, tlbs, |_| true);
            }
            Reply::ok()
        }
        Err(e) => Reply::err(e),
    }
}

/// `mmu_demap_all` (0x24): `(0, 0, flags)` removes every non-permanent translation from
/// this vCPU's TLBs. Permanent mappings are locked and survive; they are loaded again
/// anyway, in case the TLB lost one. Errors: `ENOTSUPPORTED` (CPU list arguments not 0),
/// `EINVAL` (flags not 1–3).
pub fn mmu_demap_all(cx: &mut Context<'_>, cpus: (u64, u64), flags: u64) -> Reply {
    if cpus != (0, 0) {
        return Reply::err(HvError::NotSupported);
    }
    match tlbs_of(flags) {
        Ok(tlbs) => {
            cx.hw.tlb_demap_all(tlbs);
            cx.mmu.reload_perm(cx.hw, tlbs, |_| true);
            Reply::ok()
        }
        Err(e) => Reply::err(e),
    }
}

/// `mmu_map_perm_addr` (0x25): `(va, 0, tte, flags)` maps `va` in context 0 permanently:
/// loaded locked, re-loaded whenever a miss or demap loses it. Mapping the same VA again
/// with the same TTE adds TLBs.
///
/// Errors, in OSH order: `EINVAL` (context argument ≠ 0, VA outside the 48-bit range,
/// flags not 1–3, TTE not valid), `EBADPGSZ` (size not 8K / 64K / 4M; 256M is refused, see
/// the module doc), `EINVAL` (VA not aligned to the page), `ENORADDR` (page outside the
/// domain's memory), `EINVAL` (VA already mapped with another TTE, or already in one of
/// the TLBs asked for), `ETOOMANY` (8 mappings already).
pub fn mmu_map_perm_addr(cx: &mut Context<'_>, va: u64, ctx: u64, tte: u64, flags: u64) -> Reply {
    let reply = mmu_map_perm_addr_checked(cx, va, ctx, tte, flags);
    cx.mmu.sync_fast();
    reply
}

fn mmu_map_perm_addr_checked(cx: &mut Context<'_>, va: u64, ctx: u64, tte: u64, flags: u64) -> Reply {
    let tlbs = match perm_args(va, ctx, flags) {
        Ok(t) => t,
        Err(e) => return Reply::err(e),
    };
    if tte & Tte::V == 0 {
        return Reply::err(HvError::Inval);
    }
    let size = match t1_page_size(tte) {
        Some(s) if s != PageSize::Size256M => s,
        _ => return Reply::err(HvError::BadPgSz),
    };
    if va & (size.bytes() - 1) != 0 {
        return Reply::err(HvError::Inval);
    }
    let loaded = match tlb_tte(&cx.config.memory, tte, size, va) {
        Ok(t) => t | Tte::LOCK,
        Err(e) => return Reply::err(e),
    };
    if let Some(p) = cx.mmu.perm.iter_mut().find(|p| p.va == va) {
        if p.tlb_tte != loaded || p.flags & flags != 0 {
            return Reply::err(HvError::Inval);
        }
        p.flags |= flags;
    } else if cx.mmu.perm.push(PermMapping { va, tte, tlb_tte: loaded, flags }).is_err() {
        return Reply::err(HvError::TooMany);
    }
    // Remove overlapping context-0 entries first (OSH: guests assume demap semantics),
    // then load every permanent mapping again.
    cx.hw.tlb_demap_context(tlbs, 0);
    cx.mmu.reload_perm(cx.hw, tlbs, |_| true);
    Reply::ok()
}

/// The arguments both permanent-mapping calls share: the context argument must be 0, the
/// VA in range, the flags 1–3. Errors: `EINVAL`.
fn perm_args(va: u64, ctx: u64, flags: u64) -> Result<TlbSet, HvError> {
    if ctx != 0 {
        return Err(HvError::Inval);
    }
    check_va_ctx(va, ctx)?;
    tlbs_of(flags)
}

/// `mmu_unmap_perm_addr` (0x28): `(va, 0, flags)` removes the permanent mapping at `va`
/// from the TLBs in `flags`; the mapping is gone when no TLB holds it any more. Errors:
/// `EINVAL` (context argument ≠ 0, VA outside the 48-bit range, flags not 1–3), `ENOMAP`
/// (no permanent mapping at `va`).
pub fn mmu_unmap_perm_addr(cx: &mut Context<'_>, va: u64, ctx: u64, flags: u64) -> Reply {
    let reply = mmu_unmap_perm_addr_checked(cx, va, ctx, flags);
    cx.mmu.sync_fast();
    reply
}

fn mmu_unmap_perm_addr_checked(cx: &mut Context<'_>, va: u64, ctx: u64, flags: u64) -> Reply {
    let tlbs = match perm_args(va, ctx, flags) {
        Ok(t) => t,
        Err(e) => return Reply::err(e),
    };
    let Some(i) = cx.mmu.perm.iter().position(|p| p.va == va) else {
        return Reply::err(HvError::NoMap);
    };
    cx.mmu.perm[i].flags &= !flags;
    if cx.mmu.perm[i].flags == 0 {
        cx.mmu.perm.swap_remove(i);
    }
    // Every TLB entry for the page goes; other permanent mappings there come back.
    cx.hw.tlb_demap_page(tlbs, va, 0);
    cx.mmu.reload_perm(cx.hw, tlbs, |p| p.contains(va));
    Reply::ok()
}

/// `mmu_fault_area_conf` (0x26): sets this vCPU's MMU fault status area (0x80 bytes) to
/// `ra` and returns the previous RA; `ra` = 0 removes it (as OSH). Errors: `EBADALIGN`
/// (not 64-byte aligned), `ENORADDR` (not inside the domain's memory).
pub fn mmu_fault_area_conf(cx: &mut Context<'_>, ra: u64) -> Reply {
    let reply = mmu_fault_area_conf_checked(cx, ra);
    cx.mmu.sync_fast();
    reply
}

fn mmu_fault_area_conf_checked(cx: &mut Context<'_>, ra: u64) -> Reply {
    if !Ra::new(ra).is_aligned(FAULT_AREA_ALIGNMENT) {
        return Reply::err(HvError::BadAlign);
    }
    let area = if ra == 0 {
        None
    } else {
        match cx.config.memory.range(Ra::new(ra), FAULT_AREA_SIZE) {
            Ok(r) => Some((ra, r)),
            Err(e) => return Reply::err(e),
        }
    };
    let previous = cx.mmu.fault_area_ra();
    cx.mmu.fault_area = area;
    Reply::ok1(previous)
}

/// `mmu_fault_area_info` (0x2b): the fault status area's RA (0 = none). No errors.
pub fn mmu_fault_area_info(cx: &mut Context<'_>) -> Reply {
    Reply::ok1(cx.mmu.fault_area_ra())
}

/// `mmu_enable` (0x27): `(enable, return_address)` turns translation on (`enable` ≠ 0) or
/// off and continues at `return_address` (a VA when enabling, an RA when disabling).
/// Errors, in OSH order: `EBADALIGN` (return address not 4-byte aligned), `EINVAL`
/// (already in that mode), `ENORADDR` (disabling, and the return address is not the
/// domain's memory). On success the outcome is [`Outcome::ReplyAt`].
pub fn mmu_enable(cx: &mut Context<'_>, enable: u64, ret: u64) -> Outcome {
    let enable = enable != 0;
    if ret & 3 != 0 {
        return Reply::err(HvError::BadAlign).into();
    }
    if enable == cx.mmu.enabled {
        return Reply::err(HvError::Inval).into();
    }
    if !enable {
        if let Err(e) = cx.config.memory.range(Ra::new(ret), 4) {
            return Reply::err(e).into();
        }
    }
    cx.hw.mmu_set_enabled(enable);
    cx.mmu.enabled = enable;
    Outcome::ReplyAt { reply: Reply::ok(), pc: ret }
}

fn check_mem_range(cx: &Context<'_>, ra: u64, len: u64) -> Result<GuestRange, HvError> {
    if len == 0 {
        return Err(HvError::Inval);
    }
    if (ra | len) & (MEM_ALIGN - 1) != 0 {
        return Err(HvError::BadAlign);
    }
    cx.config.memory.range(Ra::new(ra), len)
}

/// `mem_scrub` (0x31): `(ra, len)` zeroes guest memory and returns the length done (at
/// most [`MEM_SCRUB_MAX`]; the guest calls again for the rest). Errors, in OSH order:
/// `EINVAL` (len 0), `EBADALIGN` (RA or length not 8 KiB aligned), `ENORADDR`.
pub fn mem_scrub(cx: &mut Context<'_>, ra: u64, len: u64) -> Reply {
    let range = match check_mem_range(cx, ra, len) {
        Ok(r) => r,
        Err(e) => return Reply::err(e),
    };
    let done = core::cmp::min(len, MEM_SCRUB_MAX);
    let zero = [0u8; 512];
    let mut off = 0;
    while off < done {
        range.write_at(cx.hw, off, &zero);
        off += zero.len() as u64;
    }
    Reply::ok1(done)
}

/// `mem_sync` (0x32): `(ra, len)` — memory is always coherent here, so nothing to do;
/// returns `len`. Errors as [`mem_scrub`].
pub fn mem_sync(cx: &mut Context<'_>, ra: u64, len: u64) -> Reply {
    match check_mem_range(cx, ra, len) {
        Ok(_) => Reply::ok1(len),
        Err(e) => Reply::err(e),
    }
}

/// `mmu_map_addr` (`ta 0x83`, TT 0x183): `(va, ctx, tte, flags)` loads a non-permanent
/// translation into this vCPU's TLBs (VA masked to its page; a 256 MB TTE loads the 4 MB
/// piece holding `va`; lock bit cleared). Errors: `EINVAL` (VA outside the 48-bit range,
/// ctx ≥ 8192, flags not 1–3, TTE not valid), `EBADPGSZ` (size not 8K / 64K / 4M / 256M),
/// `ENORADDR` (page outside the domain's memory).
pub fn mmu_map_addr(cx: &mut Context<'_>, va: u64, ctx: u64, tte: u64, flags: u64) -> Reply {
    let tlbs = match check_va_ctx(va, ctx).and_then(|()| tlbs_of(flags)) {
        Ok(t) => t,
        Err(e) => return Reply::err(e),
    };
    if tte & Tte::V == 0 {
        return Reply::err(HvError::Inval);
    }
    let Some(size) = t1_page_size(tte) else {
        return Reply::err(HvError::BadPgSz);
    };
    match guest_tlb_tte(cx, tte, size, va, tlbs.instruction) {
        Ok(t) => {
            cx.hw.tlb_load(tlbs, va & !PAGE_OFFSET_8K, ctx, t);
            Reply::ok()
        }
        Err(e) => Reply::err(e),
    }
}

/// `mmu_unmap_addr` (`ta 0x84`, TT 0x184): `(va, ctx, flags)` demaps the page holding `va`
/// in `ctx` from this vCPU's TLBs (a permanent mapping there is loaded again). Errors:
/// `EINVAL` (VA outside the 48-bit range, ctx ≥ 8192, flags not 1–3).
pub fn mmu_unmap_addr(cx: &mut Context<'_>, va: u64, ctx: u64, flags: u64) -> Reply {
    match check_va_ctx(va, ctx).and_then(|()| tlbs_of(flags)) {
        Ok(tlbs) => {
            demap_page(cx, tlbs, va, ctx);
            Reply::ok()
        }
        Err(e) => Reply::err(e),
    }
}

/// Which MMU trap reached the hypervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissKind {
    /// `fast_instruction_access_MMU_miss` (TT 0x64).
    Instruction,
    /// `fast_data_access_MMU_miss` (TT 0x68).
    Data,
    /// `fast_data_access_protection` (TT 0x6c).
    Protection,
}

/// What [`tlb_miss`] did with the trap frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissOutcome {
    /// A translation was loaded: `frame.resume` = `RESUME_RETRY`.
    Loaded,
    /// The trap goes to the guest's own vector: `frame.resume` = `RESUME_REVECTOR`.
    Revectored,
    /// The guest cannot take the trap (no fault area, or above MAXPTL): apply the
    /// failure policy (OSH `watchdog_guest`).
    GuestFailure(&'static str),
}

impl From<MissOutcome> for Outcome {
    fn from(m: MissOutcome) -> Self {
        match m {
            MissOutcome::Loaded | MissOutcome::Revectored => Outcome::Resume,
            MissOutcome::GuestFailure(why) => Outcome::GuestFailure(why),
        }
    }
}

/// Fault-area words to store: (offset, value); `None` offsets are skipped.
struct FaultReport {
    ft: Option<(usize, u64)>,
    addr: (usize, u64),
    ctx: (usize, u64),
}

/// Fills the fault area and enters the guest's vector `tt`.
fn deliver(cx: &mut Context<'_>, frame: &mut TrapFrame, report: FaultReport, tt: u64) -> MissOutcome {
    let Some((_, area)) = cx.mmu.fault_area else {
        return MissOutcome::GuestFailure("MMU fault with no MMU fault area");
    };
    if frame.tl > platform::MAXPTL {
        return MissOutcome::GuestFailure("MMU fault above MAXPTL");
    }
    for (off, v) in report.ft.into_iter().chain([report.addr, report.ctx]) {
        area.write_at(cx.hw, off as u64, &v.to_be_bytes());
    }
    crate::hypervisor::revector(frame, tt);
    MissOutcome::Revectored
}

/// Fault-status-register bits of a data/instruction access exception (the UltraSPARC
/// SFSR.FT field as QEMU sets it: `target/sparc/cpu.h` `SFSR_FT_*_BIT`).
mod sfsr {
    /// Privilege violation: a user access to a privileged page.
    pub const FT_PRIV: u64 = 1 << 7;
    /// A no-fault load from a page with side effects.
    pub const FT_NF_E: u64 = 1 << 8;
    /// An access other than a no-fault load to a no-fault-only page.
    pub const FT_NFO: u64 = 1 << 11;
}

/// The sun4v fault type (hv-api.md §4.3) of a hardware access exception, from its SFSR.
pub fn access_fault_type(sfsr: u64) -> u64 {
    if sfsr & sfsr::FT_PRIV != 0 {
        fault_type::PRIV_VIOL
    } else if sfsr & sfsr::FT_NFO != 0 {
        fault_type::NFO
    } else if sfsr & sfsr::FT_NF_E != 0 {
        fault_type::NFO_SEFF
    } else {
        fault_type::MULTIPLE
    }
}

/// A `data_access_exception` (0x30) or `instruction_access_exception` (0x08) the hardware
/// raised (a user access to a privileged page, a no-fault-only page, …): the fault area
/// gets the sun4v fault type, the address (data: the fault address register; instruction:
/// the PC) and the context, and the guest's own vector is entered. Without a fault area,
/// or above MAXPTL, the guest has failed.
pub fn access_exception(cx: &mut Context<'_>, instruction: bool, frame: &mut TrapFrame) -> MissOutcome {
    let report = if instruction {
        FaultReport {
            ft: Some((fault_area::IFT, access_fault_type(frame.i_sfsr))),
            addr: (fault_area::IFA, frame.tpc),
            ctx: (fault_area::IFC, frame.i_tag_access & (NCTXS - 1)),
        }
    } else {
        FaultReport {
            ft: Some((fault_area::DFT, access_fault_type(frame.d_sfsr))),
            addr: (fault_area::DFA, frame.d_sfar),
            ctx: (fault_area::DFC, frame.d_tag_access & (NCTXS - 1)),
        }
    };
    let tt = frame.tt;
    deliver(cx, frame, report, tt)
}

/// Why a TSB entry matched but cannot be loaded.
enum BadTte {
    PageSize,
    RealAddress,
}

/// Handles a TLB miss or protection trap of the guest (the slow path: complete on its own;
/// the arch-layer fast path may handle TSB hits first). VA and context come from the tag
/// access register of the trap (`frame.i_tag_access` for instruction misses, else
/// `frame.d_tag_access`).
///
/// * Protection (0x6c): DFA / DFC filled (not DFT), revectored as 0x6c.
/// * Miss, context 0, a permanent mapping of that TLB covers the VA: loaded again, retry.
/// * Miss, TSB hit (tag match, valid; instruction misses also need the X bit): the TTE's
///   page must be a T1 size and lie wholly inside the domain's memory, else the guest
///   gets instruction / data access exception (0x08 / 0x30) with fault type `INV_PGSZ` /
///   `INV_RA` (IFA = `%tpc`, DFA = page VA). A good TTE is loaded with PA, lock bit
///   cleared, 256 MB demoted to the 4 MB piece holding the VA; retry.
/// * TSB miss with TSBs configured for the context class: "slow miss" 0x09 / 0x31 with
///   fault type `MMU_MISS` (IFA = `%tpc`, DFA = page VA). Without TSBs: "fast miss", the
///   original 0x64 / 0x68 with only address (page VA) and context stored.
/// * No fault area, or the guest at MAXPTL already: [`MissOutcome::GuestFailure`].
pub fn tlb_miss(cx: &mut Context<'_>, kind: MissKind, frame: &mut TrapFrame) -> MissOutcome {
    let instruction = kind == MissKind::Instruction;
    let tag_access = if instruction { frame.i_tag_access } else { frame.d_tag_access };
    let va = tag_access & !PAGE_OFFSET_8K;
    let ctx = tag_access & PAGE_OFFSET_8K;
    let (ft_off, addr_off, ctx_off) = if instruction {
        (fault_area::IFT, fault_area::IFA, fault_area::IFC)
    } else {
        (fault_area::DFT, fault_area::DFA, fault_area::DFC)
    };
    // The exact address: %tpc for instruction faults; the page VA for data (QEMU does not
    // update the SFAR on a miss, qemu-niagara.md §4.3).
    let exact = if instruction { frame.tpc } else { va };

    if kind == MissKind::Protection {
        let report = FaultReport { ft: None, addr: (addr_off, va), ctx: (ctx_off, ctx) };
        return deliver(cx, frame, report, tt::FAST_DATA_ACCESS_PROTECTION);
    }

    let tlb_flag = if instruction { MAP_ITLB } else { MAP_DTLB };
    let tlbs = TlbSet { data: !instruction, instruction };
    if ctx == 0 {
        if let Some(p) = cx.mmu.perm.iter().find(|p| p.flags & tlb_flag != 0 && p.contains(va)) {
            cx.hw.tlb_load(tlbs, p.va, 0, p.tlb_tte);
            frame.resume = RESUME_RETRY;
            return MissOutcome::Loaded;
        }
    }

    let nonzero = ctx != 0;
    let target = tsb_tag(ctx, va);
    let mut bad = None;
    for t in cx.mmu.tsbs(nonzero) {
        let index = (va >> t.page_shift()) & (t.desc.num_ttes as u64 - 1);
        let mut entry = [0u8; TSB_ENTRY_SIZE];
        if !t.range.read_at(cx.hw, index * TSB_ENTRY_SIZE as u64, &mut entry) {
            continue;
        }
        let tag = u64::from_be_bytes(entry[..8].try_into().unwrap_or([0; 8]));
        let data = u64::from_be_bytes(entry[8..].try_into().unwrap_or([0; 8]));
        let keep = if t.tag_has_context(nonzero) { u64::MAX } else { !TAG_CTX_FIELD };
        if tag & keep != target & keep || data & Tte::V == 0 {
            continue;
        }
        if instruction && data & Tte::X == 0 {
            // As OSH: a non-executable TTE is a miss for the ITLB.
            continue;
        }
        let Some(size) = t1_page_size(data) else {
            bad = Some(BadTte::PageSize);
            break;
        };
        match guest_tlb_tte(cx, data, size, va, instruction) {
            Ok(loaded) => {
                cx.hw.tlb_load(tlbs, va, ctx, loaded);
                frame.resume = RESUME_RETRY;
                return MissOutcome::Loaded;
            }
            Err(_) => {
                bad = Some(BadTte::RealAddress);
                break;
            }
        }
    }

    if let Some(why) = bad {
        let ft = match why {
            BadTte::PageSize => fault_type::INV_PGSZ,
            BadTte::RealAddress => fault_type::INV_RA,
        };
        let tt = if instruction { tt::INSTRUCTION_ACCESS_EXCEPTION } else { tt::DATA_ACCESS_EXCEPTION };
        let report = FaultReport { ft: Some((ft_off, ft)), addr: (addr_off, exact), ctx: (ctx_off, ctx) };
        return deliver(cx, frame, report, tt);
    }

    if cx.mmu.tsbs(nonzero).is_empty() {
        let tt = if instruction { tt::FAST_INSTRUCTION_ACCESS_MMU_MISS } else { tt::FAST_DATA_ACCESS_MMU_MISS };
        let report = FaultReport { ft: None, addr: (addr_off, va), ctx: (ctx_off, ctx) };
        deliver(cx, frame, report, tt)
    } else {
        let tt = if instruction { tt::INSTRUCTION_ACCESS_MMU_MISS } else { tt::DATA_ACCESS_MMU_MISS };
        let report =
            FaultReport { ft: Some((ft_off, fault_type::MMU_MISS)), addr: (addr_off, exact), ctx: (ctx_off, ctx) };
        deliver(cx, frame, report, tt)
    }
}
