//! The types every API group's calls share: what a call sees ([`Context`]), what it answers
//! ([`Reply`], [`Outcome`]) and how a group describes itself ([`ApiGroup`]). This module
//! imports none of the groups.

use crate::cpu::CpuState;
use crate::domain::Domain;
use crate::hardware::Hardware;
use crate::hv_config::{DomainConfig, HvConfig};
use crate::ldc::{AfterCall, Channels};
use crate::mmu::MmuState;
use crate::trap::TrapFrame;
use crate::vcpu::Mailbox;
use hv_api::error::{HvError, EOK};

/// The answer of a hypercall: status and the return registers it sets (`None` leaves the
/// register untouched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// `%o0`.
    pub status: u32,
    /// How many values the call returns: of `rets`, then `o3`.
    pub count: u16,
    /// `%o3`, the third return value, when `count` is 3: it is always small (the channel
    /// state of `ldc_tx_get_state` / `ldc_rx_get_state`), and keeping it in the first word
    /// keeps the whole reply in three words.
    pub o3: u16,
    /// `%o1`–`%o2`; only the first `count` are written back. Three words in all with the
    /// first, which the compiler builds and copies inline instead of calling
    /// `memset`/`memcpy` on the hypercall path (four cost cpu_yield 75 instructions).
    pub rets: [u64; 2],
}

impl Reply {
    /// `EOK`, no return values.
    pub const fn ok() -> Self {
        Reply { status: EOK as u32, count: 0, o3: 0, rets: [0; 2] }
    }
    /// `EOK` with `%o1`.
    pub const fn ok1(a: u64) -> Self {
        Reply { status: EOK as u32, count: 1, o3: 0, rets: [a, 0] }
    }
    /// `EOK` with `%o1`, `%o2`.
    pub const fn ok2(a: u64, b: u64) -> Self {
        Reply { status: EOK as u32, count: 2, o3: 0, rets: [a, b] }
    }
    /// `EOK` with `%o1`–`%o3` (`%o3` below 2^16, see [`Reply::o3`]).
    pub const fn ok3(a: u64, b: u64, c: u16) -> Self {
        Reply { status: EOK as u32, count: 3, o3: c, rets: [a, b] }
    }
    /// An error, no return values.
    pub const fn err(e: HvError) -> Self {
        Reply { status: e.code() as u32, count: 0, o3: 0, rets: [0; 2] }
    }
    /// An error with `%o1`.
    pub const fn err1(e: HvError, a: u64) -> Self {
        Reply { status: e.code() as u32, count: 1, o3: 0, rets: [a, 0] }
    }
    /// An error with `%o1`, `%o2`.
    pub const fn err2(e: HvError, a: u64, b: u64) -> Self {
        Reply { status: e.code() as u32, count: 2, o3: 0, rets: [a, b] }
    }

    /// Writes the reply into the guest's `%o` registers.
    #[inline]
    pub fn apply(&self, frame: &mut TrapFrame) {
        frame.o[0] = self.status as u64;
        // Register by register: a slice copy would become a call to memcpy.
        if self.count > 0 {
            frame.o[1] = self.rets[0];
        }
        if self.count > 1 {
            frame.o[2] = self.rets[1];
        }
        if self.count > 2 {
            frame.o[3] = self.o3 as u64;
        }
    }
}

impl From<HvError> for Reply {
    fn from(e: HvError) -> Self {
        Reply::err(e)
    }
}

/// What a hypercall asks of the hypervisor besides its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Return to the guest with this reply.
    Reply(Reply),
    /// `mach_exit` / `api_exit`: stop the domain with this exit code.
    Exit(u64),
    /// `mach_sir`: restart the domain (software-initiated reset).
    Sir,
    /// `mmu_enable`: apply the reply, then continue at `pc` instead of after the trap
    /// (`RESUME_DONE_AT`).
    ReplyAt {
        /// The reply.
        reply: Reply,
        /// Where the guest continues.
        pc: u64,
    },
    /// The handler already set up the trap frame (a handled TLB miss or a revectored trap).
    Resume,
    /// The guest cannot continue (e.g. an MMU fault it has no fault area for): apply the
    /// domain's failure policy.
    GuestFailure(&'static str),
    /// `cpu_stop` of the vCPU with this index in the configuration (checked: another running
    /// vCPU of the domain): ask it to stop and wait, with no lock held.
    StopVcpu(usize),
}

impl From<Reply> for Outcome {
    fn from(r: Reply) -> Self {
        Outcome::Reply(r)
    }
}

/// What a hypercall sees of the machine: the calling domain and vCPU.
pub struct Context<'a> {
    /// The calling domain's run-time state.
    pub domain: &'a mut Domain,
    /// The calling domain's configuration.
    pub config: &'a DomainConfig,
    /// The calling vCPU's id.
    pub vid: u64,
    /// The calling vCPU's MMU state.
    pub mmu: &'a mut MmuState,
    /// The calling vCPU's other state (queues, RTBA, trace buffer).
    pub cpu: &'a mut CpuState,
    /// Every vCPU's mailbox (same indices as `vcpus`): how a call reaches other vCPUs.
    pub mailboxes: &'a [Mailbox],
    /// Index of the calling domain in the configuration.
    pub domain_index: usize,
    /// The machine.
    pub hw: &'a mut dyn Hardware,
    /// Set by a call that changes what the timer of vCPU `vid`'s strand is for (the
    /// console interrupt's enable, state or target; the watchdog): the hypervisor has that
    /// strand look at its timer work after the call.
    pub poll: Option<u64>,
    /// The whole configuration: every vCPU (the domain's are those with `domain` =
    /// `domain_index`), channel endpoints, other domains' memory.
    pub hv_config: &'a HvConfig,
    /// Every channel's state ([`crate::ldc`]).
    pub channels: &'a Channels,
    /// Set by a call that raised channel interrupts or ended map-ins: what the hypervisor
    /// does once the call's locks are dropped.
    pub after: AfterCall,
}

impl Context<'_> {
    /// Whether `vid` is one of the calling domain's vCPU ids.
    pub fn has_vcpu(&self, vid: u64) -> bool {
        self.vcpu_index(vid).is_some()
    }

    /// The index in the configuration of the calling domain's vCPU `vid`.
    pub fn vcpu_index(&self, vid: u64) -> Option<usize> {
        self.hv_config.vcpus.iter().position(|v| v.domain == self.domain_index && v.vid == vid)
    }
}

/// A version of an API group the hypervisor offers: `major.0` to `major.max_minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// Major version.
    pub major: u64,
    /// Highest minor of that major; every call up to it is implemented.
    pub max_minor: u64,
}

/// An API group as the hypervisor offers it (hv-api.md §1.3): its number and versions. Its
/// module also holds its dispatch (`dispatch(cx, function, o) -> Option<Outcome>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiGroup {
    /// API group number ([`hv_api::group`]).
    pub number: u64,
    /// The versions offered; a minor is offered only when every call it adds is implemented.
    pub offers: &'static [Offer],
}
