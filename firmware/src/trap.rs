//! What the arch layer saves on a trap into the hypervisor, and what it does on the way
//! out. The layout is shared with the assembly in `arch::sparc64` (offsets pinned there).

/// Resume the guest after the trapping instruction (`done`): hypercalls.
pub const RESUME_DONE: u64 = 0;
/// Resume the guest at the trapping instruction (`retry`): a handled TLB miss.
pub const RESUME_RETRY: u64 = 1;
/// Resume the guest at [`TrapFrame::target_pc`] as if the trapping instruction were a jump
/// there (`%tnpc` = target, then `done`): `mmu_enable`'s return address.
pub const RESUME_DONE_AT: u64 = 3;
/// Enter the guest's own trap table at [`TrapFrame::target_pc`] with `%tt` =
/// [`TrapFrame::target_tt`], privileged, at the trap level of the trap (sun4v revector).
pub const RESUME_REVECTOR: u64 = 2;

/// The guest state saved on entry to the hypervisor. `o` holds the guest's `%o0`–`%o7`;
/// handlers write return values into it.
#[repr(C)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrapFrame {
    /// Guest `%o0`–`%o7` (arguments in, results out).
    pub o: [u64; 8],
    /// Trap type.
    pub tt: u64,
    /// Trap level in the hypervisor (guest TL + 1).
    pub tl: u64,
    /// `%tpc`: the trapping instruction.
    pub tpc: u64,
    /// `%tnpc`.
    pub tnpc: u64,
    /// `%tstate`.
    pub tstate: u64,
    /// The guest's `%tba`.
    pub tba: u64,
    /// How to return: one of the `RESUME_*` constants.
    pub resume: u64,
    /// Revector target PC.
    pub target_pc: u64,
    /// Revector trap type.
    pub target_tt: u64,
    /// IMMU tag access register at entry (`VA & !0x1fff | ctx` of the last ITLB miss).
    /// This and the other MMU registers below are read for trap types below 0x180 only:
    /// hypercalls leave them as the last MMU trap set them.
    pub i_tag_access: u64,
    /// DMMU tag access register at entry (last DTLB miss or protection fault).
    pub d_tag_access: u64,
    /// DMMU synchronous fault status register at entry (QEMU sets it for
    /// data_access_exception and protection faults).
    pub d_sfsr: u64,
    /// DMMU synchronous fault address register at entry.
    pub d_sfar: u64,
    /// IMMU synchronous fault status register at entry (instruction_access_exception).
    pub i_sfsr: u64,
    /// Non-zero when the guest's register-window registers were inconsistent at entry
    /// (CANSAVE + CANRESTORE + OTHERWIN ≠ NWINDOWS − 2): the entry path could not keep its
    /// windows, and the guest has failed.
    pub bad_windows: u64,
}

/// Where and how a guest vCPU starts (sun4v guest entry state, hv-api.md §4.7).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaunchState {
    /// Entry PC (real address; the MMU is off).
    pub pc: u64,
    /// Real trap base address; also written to `%tba`.
    pub rtba: u64,
    /// `%o0`: the start argument (0 for the boot vCPU).
    pub o0: u64,
    /// `%i0`: real base of the memory block holding the entry.
    pub i0: u64,
    /// `%i1`: size of that block.
    pub i1: u64,
    /// The vCPU's id, in the guest's scratchpad register 0x08, where sun4v guests read
    /// their CPU id (Linux's `SCRATCHPAD_CPUID`, "set by hypervisor").
    pub cpuid: u64,
}

/// What runs next on the strand after the portable trap handler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The same vCPU: return to the guest as `frame.resume` says.
    Resume,
    /// The vCPU stopped (or its domain did): the strand asks
    /// [`crate::hypervisor::Hypervisor::next_on_strand`] what runs next, and waits if nothing.
    Idle,
}
