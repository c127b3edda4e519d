//! The hypervisor's top level: boot (configuration → domains), guest start, and the trap
//! handler every trap into the hypervisor reaches once the arch layer has saved the guest's
//! state.

use crate::domain::{Domain, DomainStatus, GuestMd};
use crate::hardware::Hardware;
use crate::hcall::{self, Context, Outcome};
use crate::hv_config::{FailurePolicy, HvConfig, HvConfigError};
use crate::intr::Interrupts;
use crate::mmu::{self, MissKind};
use crate::trap::{Action, LaunchState, TrapFrame, RESUME_DONE, RESUME_DONE_AT, RESUME_REVECTOR};
use core::fmt;
use hv_api::md::MachineDescription;
use hv_api::trap::tt;
use log::info;

/// Largest guest MD (the niagara MD slot).
pub const MAX_GUEST_MD: u64 = 0x2000;

/// Watchdog reset vector offset from RTBA (`TT_WDR × 32`, hv-api.md §4.6).
pub const WATCHDOG_OFFSET: u64 = 0x40;

/// Software-initiated reset vector offset from RTBA (`TT_SIR × 32`, hv-api.md §4.6).
pub const SIR_OFFSET: u64 = 0x80;

/// Why the hypervisor cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootError {
    /// The hypervisor MD is invalid.
    HvConfig(HvConfigError),
    /// A domain's guest MD is invalid.
    GuestMd {
        /// Domain name.
        domain: heapless::String<{ crate::hv_config::MAX_NAME }>,
        /// What is wrong.
        error: hv_api::md::MdError,
    },
    /// A guest MD is larger than its slot.
    GuestMdTooLarge {
        /// Domain name.
        domain: heapless::String<{ crate::hv_config::MAX_NAME }>,
        /// Its size.
        size: u64,
    },
    /// A domain's memory is not all backed by RAM.
    MemoryNotPresent {
        /// Domain name.
        domain: heapless::String<{ crate::hv_config::MAX_NAME }>,
        /// End of the domain's memory.
        end: u64,
        /// End of the RAM there is.
        ram_end: u64,
    },
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::HvConfig(e) => write!(f, "invalid hypervisor MD: {e}"),
            BootError::GuestMd { domain, error } => write!(f, "invalid guest MD of domain {domain}: {error}"),
            BootError::GuestMdTooLarge { domain, size } => {
                write!(f, "guest MD of domain {domain} is {size} bytes, more than {MAX_GUEST_MD}")
            }
            BootError::MemoryNotPresent { domain, end, ram_end } => write!(
                f,
                "domain {domain} memory ends at {end:#x} but RAM ends at {ram_end:#x} (give QEMU more memory with -m)"
            ),
        }
    }
}

/// The run-time state of one vCPU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VcpuState {
    /// Its MMU state.
    pub mmu: crate::mmu::MmuState,
    /// Run state, RTBA, queues, trace buffer.
    pub cpu: crate::cpu::CpuState,
}

/// All domains and vCPUs.
#[derive(Debug)]
pub struct Hypervisor {
    /// The configuration read at boot.
    pub config: HvConfig,
    /// Run-time state, one per `config.domains` entry.
    pub domains: heapless::Vec<Domain, { crate::hv_config::MAX_DOMAINS }>,
    /// Run-time state, one per `config.vcpus` entry.
    pub vcpus: heapless::Vec<VcpuState, { crate::hv_config::MAX_VCPUS }>,
}

impl Hypervisor {
    /// Parses and validates the hypervisor MD and every guest MD it names. `ram` is the
    /// partition RAM there is (`(base, size)`); every domain's memory must lie in it.
    pub fn boot(hw: &mut dyn Hardware, hv_md: &[u8], ram: (u64, u64)) -> Result<Hypervisor, BootError> {
        let config = HvConfig::from_md(hv_md).map_err(BootError::HvConfig)?;
        let mut domains = heapless::Vec::new();
        for d in &config.domains {
            let mem_end = d.memory.membase.raw() + d.memory.size;
            if d.memory.membase.raw() < ram.0 || mem_end > ram.0 + ram.1 {
                return Err(BootError::MemoryNotPresent {
                    domain: d.name.clone(),
                    end: mem_end,
                    ram_end: ram.0 + ram.1,
                });
            }
            let mut header = [0u8; 16];
            hw.read_phys(d.pdpa, &mut header);
            let total = 16
                + u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as u64
                + u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as u64
                + u32::from_be_bytes([header[12], header[13], header[14], header[15]]) as u64;
            if total > MAX_GUEST_MD {
                return Err(BootError::GuestMdTooLarge { domain: d.name.clone(), size: total });
            }
            let mut buf = [0u8; MAX_GUEST_MD as usize];
            hw.read_phys(d.pdpa, &mut buf[..total as usize]);
            let md = MachineDescription::new(&buf[..total as usize])
                .map_err(|error| BootError::GuestMd { domain: d.name.clone(), error })?;
            let size = md.size() as u64;
            let mut domain = Domain::new(GuestMd { pa: d.pdpa, size });
            domain.boot_vid = d.bootcpu;
            domain.disk_size = crate::vdisk::probe(hw, d.diskpa);
            domain.interrupts = Interrupts::from_guest_md(&md, d.bootcpu);
            if let Some(max) = md.nodes_named("platform").find_map(|p| p.val("watchdog-max-timeout")) {
                domain.watchdog_max_ms = max;
            }
            // The table has room for every configured domain (same capacity).
            let _ = domains.push(domain);
        }
        let mut vcpus = heapless::Vec::new();
        for _ in &config.vcpus {
            let _ = vcpus.push(VcpuState::default());
        }
        Ok(Hypervisor { config, domains, vcpus })
    }

    /// Starts the domain of the vCPU on `strand`, if that vCPU is its boot vCPU: copies the
    /// guest image into the domain's memory and returns the entry state.
    pub fn start_strand(&mut self, hw: &mut dyn Hardware, strand: u64) -> Option<(usize, LaunchState)> {
        let (vcpu, v) = self.config.vcpu_on_strand(strand)?;
        let domain = v.domain;
        if self.config.domains[domain].bootcpu != v.vid {
            return None;
        }
        Some((vcpu, self.power_on(hw, domain)))
    }

    /// Power-on start of a domain: image copied from its ROM, RTBA = the real base, entry
    /// at real base + entry offset.
    fn power_on(&mut self, hw: &mut dyn Hardware, domain: usize) -> LaunchState {
        let d = &self.config.domains[domain];
        let base = d.memory.realbase.raw();
        self.reset_vcpus(hw, domain, base);
        let d = &self.config.domains[domain];
        hw.copy_phys(d.memory.membase, d.rombase, d.romsize);
        self.domains[domain].reset_for_start();
        info!("starting domain {} at {:#x} ({} MiB)", d.name, d.memory.realbase.raw(), d.memory.size >> 20);
        self.launch_state(domain, base, d.entry_offset)
    }

    /// A (re)started domain's vCPUs have no MMU state (this strand's TLBs are cleared too),
    /// no queues and no trace buffer; their RTBA is `rtba`; the boot vCPU runs, the others
    /// are stopped.
    fn reset_vcpus(&mut self, hw: &mut dyn Hardware, domain: usize, rtba: u64) {
        let boot = self.config.domains[domain].bootcpu;
        for (i, v) in self.config.vcpus.iter().enumerate() {
            if v.domain == domain {
                self.vcpus[i].mmu.reset(hw);
                self.vcpus[i].cpu.reset(rtba, v.vid == boot);
            }
        }
    }

    fn launch_state(&self, domain: usize, rtba: u64, offset: u64) -> LaunchState {
        let d = &self.config.domains[domain];
        let base = d.memory.realbase.raw();
        LaunchState { pc: rtba + offset, rtba, o0: 0, i0: base, i1: d.memory.size }
    }

    /// Handles one trap from the guest running on vCPU `vcpu`.
    ///
    /// Inlined into the arch layer's trap entry, with the fast-trap dispatch, so that a
    /// hypercall runs in one hypervisor window: every further window costs a stash of
    /// the guest's (docs/architecture.md, "Register windows").
    #[inline(always)]
    pub fn handle_trap(&mut self, hw: &mut dyn Hardware, vcpu: usize, frame: &mut TrapFrame) -> Action {
        frame.resume = RESUME_DONE;
        #[cfg(hv_stats)]
        stats::count(frame);
        let v = self.config.vcpus[vcpu];
        let domain = v.domain;
        // The guest's own trap level when it trapped.
        let guest_tl = frame.tl.saturating_sub(1);
        if frame.bad_windows != 0 {
            return self.guest_failed(hw, vcpu, frame, "inconsistent register-window state");
        }
        if guest_tl > platform::MAXPTL {
            return self.guest_failed(hw, vcpu, frame, "trap above MAXPTL");
        }
        // The watchdog can only be checked when the guest traps (crate::cpu module doc).
        // (The clock is read only while a watchdog is armed.)
        let deadline = self.domains[domain].watchdog_deadline;
        if deadline.is_some() && crate::cpu::watchdog_expired(deadline, hw.stick()) {
            self.domains[domain].watchdog_deadline = None;
            return self.guest_failed(hw, vcpu, frame, "watchdog reset");
        }
        let tag_console = self.config.domains.len() > 1;
        let vs = &mut self.vcpus[vcpu];
        let mut cx = Context {
            domain: &mut self.domains[domain],
            config: &self.config.domains[domain],
            vid: v.vid,
            mmu: &mut vs.mmu,
            cpu: &mut vs.cpu,
            vcpus: &self.config.vcpus,
            domain_index: domain,
            tag_console,
            hw,
        };
        let outcome = match frame.tt {
            0x180 => hcall::fast_trap(&mut cx, frame),
            0x1ff => hcall::core_trap(&mut cx, frame),
            0x183 => mmu::mmu_map_addr(&mut cx, frame.o[0], frame.o[1], frame.o[2], frame.o[3]).into(),
            0x184 => mmu::mmu_unmap_addr(&mut cx, frame.o[0], frame.o[1], frame.o[2]).into(),
            0x185 => crate::ttrace::ttrace_addentry(&mut cx, frame).into(),
            0x181..=0x1fe => hcall::Reply::err(hv_api::error::HvError::BadTrap).into(),
            tt::FAST_INSTRUCTION_ACCESS_MMU_MISS => mmu::tlb_miss(&mut cx, MissKind::Instruction, frame).into(),
            tt::FAST_DATA_ACCESS_MMU_MISS => mmu::tlb_miss(&mut cx, MissKind::Data, frame).into(),
            tt::FAST_DATA_ACCESS_PROTECTION => mmu::tlb_miss(&mut cx, MissKind::Protection, frame).into(),
            tt::INSTRUCTION_ACCESS_EXCEPTION => mmu::access_exception(&mut cx, true, frame).into(),
            tt::DATA_ACCESS_EXCEPTION => mmu::access_exception(&mut cx, false, frame).into(),
            // MMU off and an address nothing answers at: a data / instruction access error,
            // unless the guest's handler would run above MAXPTL.
            tt::DATA_REAL_TRANSLATION_MISS | tt::INSTRUCTION_REAL_TRANSLATION_MISS => {
                if frame.tl > platform::MAXPTL {
                    return self.guest_failed(hw, vcpu, frame, "access error above MAXPTL");
                }
                let error = if frame.tt == tt::DATA_REAL_TRANSLATION_MISS {
                    tt::DATA_ACCESS_ERROR
                } else {
                    tt::INSTRUCTION_ACCESS_ERROR
                };
                revector(frame, error);
                return Action::Resume;
            }
            _ => return self.guest_failed(hw, vcpu, frame, "unexpected trap"),
        };
        #[cfg(hv_trace)]
        if (0x180..=0x1ff).contains(&frame.tt) {
            info!(
                "trace tt {:#x} fn {:#x} args {:#x} {:#x} {:#x} {:#x} -> {:?}",
                frame.tt, frame.o[5], frame.o[0], frame.o[1], frame.o[2], frame.o[3], outcome
            );
        }
        match outcome {
            Outcome::Reply(r) => {
                r.apply(frame);
                Action::Resume
            }
            Outcome::Exit(code) => {
                info!("domain {} exited with code {code}", self.config.domains[domain].name);
                self.stop(domain)
            }
            Outcome::ReplyAt { reply, pc } => {
                reply.apply(frame);
                frame.target_pc = pc;
                frame.resume = RESUME_DONE_AT;
                Action::Resume
            }
            Outcome::Resume => Action::Resume,
            Outcome::GuestFailure(why) => self.guest_failed(hw, vcpu, frame, why),
            Outcome::Sir => {
                info!("domain {} software-initiated reset", self.config.domains[domain].name);
                // The reset vector is in the calling vCPU's reset trap table (cpu_set_rtba).
                let rtba = self.vcpus[vcpu].cpu.rtba;
                self.domains[domain].reset_for_start();
                self.reset_vcpus(hw, domain, rtba);
                Action::Launch(self.launch_state(domain, rtba, SIR_OFFSET))
            }
        }
    }

    /// A guest fault the guest cannot handle: apply the domain's failure policy.
    fn guest_failed(&mut self, hw: &mut dyn Hardware, vcpu: usize, frame: &TrapFrame, why: &str) -> Action {
        let domain = self.config.vcpus[vcpu].domain;
        let d = &self.config.domains[domain];
        info!(
            "domain {}: {why} (tt {:#x} at tl {}, pc {:#x})",
            d.name,
            frame.tt,
            frame.tl.saturating_sub(1),
            frame.tpc
        );
        match d.failure_policy {
            FailurePolicy::Reset => {
                info!("domain {}: failure policy reset: restarting", d.name);
                Action::Launch(self.power_on(hw, domain))
            }
            FailurePolicy::Stop => {
                info!("domain {}: failure policy stop", d.name);
                self.stop(domain)
            }
            FailurePolicy::Ignore => {
                info!("domain {}: failure policy ignore: watchdog reset to the guest", d.name);
                let rtba = self.vcpus[vcpu].cpu.rtba;
                self.reset_vcpus(hw, domain, rtba);
                Action::Launch(self.launch_state(domain, rtba, WATCHDOG_OFFSET))
            }
        }
    }

    fn stop(&mut self, domain: usize) -> Action {
        #[cfg(hv_stats)]
        stats::print();
        self.domains[domain].status = DomainStatus::Stopped;
        if self.domains.iter().all(|d| d.status == DomainStatus::Stopped) {
            info!("all domains stopped");
        }
        // One strand runs one vCPU: nothing else to run here.
        Action::Park
    }
}

/// Enters the guest's trap table for `tt`, as the hardware would have: vector
/// `TBA + (TL_before > 0 ? 0x4000 : 0) + tt × 32` (hv-api.md §4.6).
pub fn revector(frame: &mut TrapFrame, tt: u64) {
    let guest_tl = frame.tl.saturating_sub(1);
    let half = if guest_tl > 0 { platform::registers::TBA_TL_GT_0 } else { 0 };
    frame.target_pc = (frame.tba & !(platform::registers::TBA_ALIGN - 1)) + half + tt * 32;
    frame.target_tt = tt;
    frame.resume = RESUME_REVECTOR;
}

/// Trap counts for profiling (`HV_STATS=1` builds only).
#[cfg(hv_stats)]
mod stats {
    use crate::trap::TrapFrame;
    use core::sync::atomic::{AtomicU64, Ordering};

    const N: usize = 0x200;
    static BY_TT: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
    static BY_FN: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];

    pub fn count(frame: &TrapFrame) {
        BY_TT[(frame.tt as usize) % N].fetch_add(1, Ordering::Relaxed);
        if frame.tt == 0x180 {
            BY_FN[(frame.o[5] as usize) % N].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn print() {
        for (i, c) in BY_TT.iter().enumerate() {
            let c = c.load(Ordering::Relaxed);
            if c > 0 {
                log::info!("stats tt {i:#x}: {c}");
            }
        }
        for (i, c) in BY_FN.iter().enumerate() {
            let c = c.load(Ordering::Relaxed);
            if c > 0 {
                log::info!("stats fast-trap function {i:#x}: {c}");
            }
        }
    }
}
