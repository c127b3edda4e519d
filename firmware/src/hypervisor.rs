//! The hypervisor's top level: boot (configuration → domains), guest start, and the trap
//! handler every trap into the hypervisor reaches once the arch layer has saved the guest's
//! state.

use crate::addr::Ra;
use crate::domain::{Domain, DomainStatus, GuestMd};
use crate::guest_memory::REAL_PAGE_8K;
use crate::hardware::Hardware;
use crate::hcall::Reply;
use crate::hcall::{self, Context, Outcome};
use crate::hv_config::{FailurePolicy, HvConfig, HvConfigError};
use crate::intr::{state as intr_state, Interrupts};
use crate::mmu::{self, MissKind};
use crate::trap::{Action, LaunchState, TrapFrame, RESUME_DONE, RESUME_DONE_AT, RESUME_RETRY, RESUME_REVECTOR};
use crate::vcpu::{Mailbox, VcpuState};
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use hv_api::error::HvError;
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
    /// A strand the configuration runs a vCPU on did not come up.
    StrandMissing {
        /// The first missing strand.
        strand: u64,
        /// Strands the configuration needs (1 + the highest strand id it uses).
        needed: u64,
    },
    /// A domain sees its memory at another real address than where it lives, and the
    /// machine does not translate real addresses (stock QEMU, or qemu-sun4v without
    /// `ra2pa=on`: [`Hardware::has_real_translation`]).
    NeedsRealTranslation {
        /// Domain name.
        domain: heapless::String<{ crate::hv_config::MAX_NAME }>,
        /// Where the guest sees its memory.
        realbase: u64,
        /// Where it lives.
        membase: u64,
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
            BootError::StrandMissing { strand, needed } => write!(
                f,
                "strand {strand} is missing: QEMU has fewer strands than the configuration uses (start it with -smp {needed})"
            ),
            BootError::NeedsRealTranslation { domain, realbase, membase } => write!(
                f,
                "domain {domain} sees its memory at {realbase:#x} but it lives at {membase:#x}: that needs RA->PA translation, which this machine does not do (the patched QEMU does with -machine ra2pa=on)"
            ),
            BootError::MemoryNotPresent { domain, end, ram_end } => write!(
                f,
                "domain {domain} memory ends at {end:#x} but RAM ends at {ram_end:#x} (give QEMU more memory with -m)"
            ),
        }
    }
}

/// The interrupt vector the hypervisor sends between strands: "look at your mailbox".
pub const VECTOR_MAILBOX: u64 = 1;

/// How long a strand waits for others (a vCPU to stop, strands to meet at boot): 10 s of
/// `%stick`. Generous: on an emulator the host may be busy; nothing waits this long unless
/// a strand is gone.
pub const CROSS_STRAND_WAIT_TICKS: u64 = 10 * platform::TIMER_FREQUENCY_HZ;

/// How soon a strand looks again at a mondo its guest's full queue did not take: 10 µs of
/// `%stick`.
pub const MONDO_RETRY_TICKS: u64 = platform::TIMER_FREQUENCY_HZ / 100_000;

/// A domain: its run-time state behind its lock, and who owns a domain-wide stop or restart
/// in progress (an atomic: the owner waits for the domain's other vCPUs without holding the
/// lock).
#[derive(Debug)]
pub struct DomainCell {
    /// The run-time state.
    pub state: crate::sync::Mutex<Domain>,
    /// 1 while the domain has CORE at major 1 (cpu_myid and the console calls callable),
    /// else 0: what the fast paths read, in place (the strand keeps a pointer to it). Set
    /// under the domain's lock whenever the versions change.
    pub core_1: AtomicU64,
}

impl DomainCell {
    /// Updates [`DomainCell::core_1`] from the domain's negotiated versions.
    fn sync_fast(&self, d: &Domain) {
        let core_1 = matches!(d.versions.get(hv_api::group::CORE), Ok((1, _)));
        self.core_1.store(core_1 as u64, Ordering::Release);
    }
}

/// How a domain (re)starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Power-on: the image copied from its ROM, entry at real base + entry offset.
    PowerOn,
    /// A reset into the guest's reset trap table `rtba` at `offset` (mach_sir, watchdog).
    Reset {
        /// The RTBA of the vCPU that reset the domain.
        rtba: u64,
        /// Offset of the reset vector.
        offset: u64,
    },
}

/// What a strand does next when it has no guest to return to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Enter vCPU `.0` (an index into the configuration's vCPUs) with this state.
    Launch(usize, LaunchState),
    /// Wait for work ([`Hypervisor::wait_on_strand`]).
    Wait,
    /// Nothing will ever run on this strand: no vCPU is configured there.
    Park,
}

/// All domains and vCPUs, shared by every strand.
///
/// # Locks
///
/// Lock order (a strand takes them in this order and never the other way):
/// 1. `vcpus[v]`: the state of the vCPU the strand runs. Only that strand ever takes it
///    (other strands go through the vCPU's [`Mailbox`]).
/// 2. `domains[d].state`: the domain's run-time state, taken by its vCPUs' strands for the
///    duration of a hypercall.
/// 3. Leaf locks, held for a few stores and taking nothing else: a channel's link (both
///    endpoints' state, [`crate::ldc::Link`]; one at a time), a [`Mailbox`]'s start and
///    mondo slots, the console.
///
/// No lock is held across a guest entry or while a strand waits for another strand: waits
/// (a vCPU to stop, a domain's vCPUs to stop) happen after the hypercall's locks are
/// dropped, and the waiting strand keeps answering its own mailbox's stop request, so two
/// strands never wait for each other. A strand that panics parks with whatever it held; a
/// lock it held is one of its own vCPU's or its domain's, so only that domain is affected.
#[derive(Debug)]
pub struct Hypervisor {
    /// The configuration read at boot (never changes).
    pub config: HvConfig,
    /// Run-time state, one per `config.domains` entry.
    pub domains: heapless::Vec<DomainCell, { crate::hv_config::MAX_DOMAINS }>,
    /// Run-time state of each `config.vcpus` entry, kept by its own strand.
    pub vcpus: heapless::Vec<crate::sync::Mutex<VcpuState>, { crate::hv_config::MAX_VCPUS }>,
    /// The mailbox of each `config.vcpus` entry, for every other strand.
    pub mailboxes: heapless::Vec<Mailbox, { crate::hv_config::MAX_VCPUS }>,
    /// Whether the machine has the T1 strand machinery ([`Hardware::has_strands`]).
    pub strands: bool,
    /// The LDC channels' state ([`crate::ldc`]; their links' locks are leaf locks).
    pub channels: crate::ldc::Channels,
}

impl Hypervisor {
    /// Parses and validates the hypervisor MD and every guest MD it names. `ram` is the
    /// partition RAM there is (`(base, size)`); every domain's memory must lie in it.
    /// Nothing starts yet ([`Hypervisor::start_domains`]).
    pub fn boot(hw: &mut dyn Hardware, hv_md: &[u8], ram: (u64, u64)) -> Result<Hypervisor, BootError> {
        let config = HvConfig::from_md(hv_md).map_err(BootError::HvConfig)?;
        // The console: one labelled line stream per domain when there are several.
        hw.console().configure(config.domains.iter().map(|d| d.name.as_str()));
        let strands = hw.has_strands();
        let real_translation = config.domains.iter().any(|d| d.memory.realbase.raw() != d.memory.membase.raw())
            && hw.has_real_translation();
        let mut domains = heapless::Vec::new();
        for d in &config.domains {
            if d.memory.realbase.raw() != d.memory.membase.raw() && !real_translation {
                return Err(BootError::NeedsRealTranslation {
                    domain: d.name.clone(),
                    realbase: d.memory.realbase.raw(),
                    membase: d.memory.membase.raw(),
                });
            }
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
            let _ = domains.push(DomainCell { state: crate::sync::Mutex::new(domain), core_1: AtomicU64::new(0) });
        }
        let mut vcpus = heapless::Vec::new();
        let mut mailboxes = heapless::Vec::new();
        for _ in &config.vcpus {
            let _ = vcpus.push(crate::sync::Mutex::new(VcpuState::default()));
            let _ = mailboxes.push(Mailbox::default());
        }
        let channels = crate::ldc::Channels::new(&config);
        Ok(Hypervisor { config, domains, vcpus, mailboxes, strands, channels })
    }

    /// The strands the configuration runs vCPUs on, as a bit set (strand ids are below 64).
    pub fn strands_used(&self) -> u64 {
        self.config.vcpus.iter().fold(0, |set, v| set | 1 << v.strand)
    }

    /// The boot error for strands that did not come up: `present` is the set of strands
    /// that did; `None` when every strand the configuration uses is there.
    pub fn missing_strand(&self, present: u64) -> Option<BootError> {
        let missing = self.strands_used() & !present;
        (missing != 0).then(|| BootError::StrandMissing {
            strand: missing.trailing_zeros() as u64,
            needed: 64 - self.strands_used().leading_zeros() as u64,
        })
    }

    /// Starts every domain: power-on of each, its boot vCPU posted to its strand (the
    /// boot strand calls this once every strand is present).
    pub fn start_domains(&self, hw: &mut dyn Hardware) {
        for domain in 0..self.domains.len() {
            self.start_domain(hw, domain, Start::PowerOn);
        }
    }

    /// (Re)starts `domain` (its other vCPUs are stopped): resets its run-time state, copies
    /// the image on power-on, and posts the start of its boot vCPU.
    fn start_domain(&self, hw: &mut dyn Hardware, domain: usize, start: Start) {
        let d = &self.config.domains[domain];
        let base = d.memory.realbase.raw();
        let (rtba, pc) = match start {
            Start::PowerOn => {
                hw.copy_phys(d.memory.membase, d.rombase, d.romsize);
                info!("starting domain {} at {:#x} ({} MiB)", d.name, base, d.memory.size >> 20);
                (base, base + d.entry_offset)
            }
            Start::Reset { rtba, offset } => (rtba, rtba + offset),
        };
        {
            let mut d = self.domains[domain].state.lock();
            d.reset_for_start();
            self.domains[domain].sync_fast(&d);
        }
        self.reset_channels(hw, domain);
        let Some(boot) = self.vcpu_index(domain, d.bootcpu) else { return };
        let state = LaunchState { pc, rtba, o0: 0, i0: base, i1: d.memory.size, cpuid: d.bootcpu };
        if self.mailboxes[boot].post_start(state) {
            hw.strand_resume(self.config.vcpus[boot].strand);
        }
    }

    /// `domain`'s channel endpoints back to their start state (it stops or restarts): the
    /// peers see the link DOWN, get their rx interrupt, and lose their map-ins of its pages
    /// (their TLBs flushed before this returns).
    #[inline(never)]
    fn reset_channels(&self, hw: &mut dyn Hardware, domain: usize) {
        let (kicks, flush) = self.channels.reset_domain(&self.config, domain);
        self.kick(hw, None, kicks);
        if flush != 0 {
            self.flush_and_wait(hw, None, flush);
        }
    }

    /// Index in the configuration of vCPU `vid` of `domain`.
    pub fn vcpu_index(&self, domain: usize, vid: u64) -> Option<usize> {
        self.config.vcpus.iter().position(|v| v.domain == domain && v.vid == vid)
    }

    /// What `strand` runs next when it has no guest to return to: the start posted to its
    /// vCPU (whose own state is then reset: TLBs of this strand flushed, MMU off, queues
    /// unconfigured), or nothing yet.
    pub fn next_on_strand(&self, hw: &mut dyn Hardware, strand: u64) -> Next {
        let Some((vcpu, _)) = self.config.vcpu_on_strand(strand) else { return Next::Park };
        let mailbox = &self.mailboxes[vcpu];
        let Some(state) = mailbox.take_start() else { return Next::Wait };
        self.reset_vcpu(hw, vcpu, state.rtba);
        if mailbox.stop_requested() {
            // Stopped before it ran (its domain is being stopped or reset).
            mailbox.stopped();
            return Next::Wait;
        }
        Next::Launch(vcpu, state)
    }

    /// Idles `strand` until another strand may have posted it a start. The idle takes
    /// effect a little later than the store that asks for it, so a start posted in between
    /// would be missed: the strand resumes itself when it finds one (the poster's resume
    /// and this one are both queued after the idle).
    pub fn wait_on_strand(&self, hw: &mut dyn Hardware, strand: u64) {
        hw.strand_idle(strand);
        if let Some((vcpu, _)) = self.config.vcpu_on_strand(strand) {
            if self.mailboxes[vcpu].start_pending() {
                hw.strand_resume(strand);
            }
        }
    }

    /// A vCPU's own state as its (re)start leaves it: no MMU state (this strand's TLBs
    /// flushed), no queues (HEAD = TAIL = 0), no trace buffer, RTBA `rtba`.
    fn reset_vcpu(&self, hw: &mut dyn Hardware, vcpu: usize, rtba: u64) {
        // The TLBs of this strand serve the vCPU's domain: its partition.
        hw.set_partition(self.config.vcpus[vcpu].domain as u64);
        let mut vs = self.vcpus[vcpu].lock();
        vs.mmu.reset(hw);
        vs.cpu.reset(rtba);
        for id in hv_api::queue::ALL {
            hw.set_queue_registers(id, 0, 0);
        }
    }

    /// Handles one trap from the guest running on vCPU `vcpu`.
    ///
    /// Inlined into the arch layer's trap entry, with the fast-trap dispatch, so that a
    /// hypercall runs in one hypervisor window: every further window costs a stash of
    /// the guest's (docs/architecture.md, "Register windows").
    #[inline(always)]
    pub fn handle_trap(&self, hw: &mut dyn Hardware, vcpu: usize, frame: &mut TrapFrame) -> Action {
        frame.resume = RESUME_DONE;
        #[cfg(hv_stats)]
        stats::count(frame);
        let mailbox = &self.mailboxes[vcpu];
        // Asynchronous traps: an interrupt vector from another strand (its only meaning is
        // "look at the mailbox") or this strand's timer (hstick_match: retry a mondo the
        // guest's full queue did not take). The guest resumes where it was interrupted.
        let interrupt = frame.tt == tt::INTERRUPT_VECTOR || frame.tt == tt::HSTICK_MATCH;
        if interrupt {
            if frame.tt == tt::INTERRUPT_VECTOR {
                while hw.take_interrupt().is_some() {}
            } else {
                hw.clear_hstick_match();
                mailbox.timer_fired();
            }
            frame.resume = RESUME_RETRY;
        }
        if mailbox.stop_requested() {
            return self.stop_self(hw, vcpu);
        }
        // The guest's own trap level when it trapped.
        let guest_tl = frame.tl.saturating_sub(1);
        if frame.bad_windows != 0 {
            return self.guest_failed(hw, vcpu, frame, "inconsistent register-window state");
        }
        if guest_tl > platform::MAXPTL {
            return self.guest_failed(hw, vcpu, frame, "trap above MAXPTL");
        }
        if interrupt {
            if mailbox.flush_pending() {
                self.flush_own(hw, vcpu);
            }
            // (timer_work delivers the channel interrupts posted to this vCPU.)
            return self.timer_work(hw, vcpu, frame).unwrap_or(Action::Resume);
        }
        // (Tested here, so that other traps make no call: every further hypervisor window
        // costs a stash of the guest's, docs/architecture.md "Register windows".)
        let real_miss = frame.tt == tt::INSTRUCTION_REAL_TRANSLATION_MISS || frame.tt == tt::DATA_REAL_TRANSLATION_MISS;
        if real_miss && self.real_translation(hw, vcpu, frame) {
            return Action::Resume;
        }
        if mailbox.mondo_waiting() {
            self.deliver_mondo(hw, vcpu);
        }
        let v = self.config.vcpus[vcpu];
        let domain = v.domain;
        let mut poll = None;
        let mut after = crate::ldc::AfterCall::NONE;
        let outcome = {
            let mut vs = self.vcpus[vcpu].lock();
            let mut d = self.domains[domain].state.lock();
            // The watchdog can only be checked when the guest traps (crate::cpu module
            // doc). (The clock is read only while a watchdog is armed.)
            let deadline = d.watchdog_deadline;
            if deadline.is_some() && crate::cpu::watchdog_expired(deadline, hw.stick()) {
                d.watchdog_deadline = None;
                Outcome::GuestFailure("watchdog reset")
            } else {
                let vs = &mut *vs;
                let mut cx = Context {
                    poll: None,
                    domain: &mut d,
                    config: &self.config.domains[domain],
                    vid: v.vid,
                    mmu: &mut vs.mmu,
                    cpu: &mut vs.cpu,
                    mailboxes: &self.mailboxes,
                    domain_index: domain,
                    hw,
                    hv_config: &self.config,
                    channels: &self.channels,
                    after: crate::ldc::AfterCall::NONE,
                };
                let outcome = dispatch(&mut cx, frame);
                if let Some(vid) = cx.poll {
                    poll = self.vcpu_index(domain, vid);
                }
                after = cx.after;
                if frame.tt == hv_api::trap::hv_tt(hv_api::trap::CORE_TRAP) {
                    self.domains[domain].sync_fast(&d);
                }
                outcome
            }
        };
        // A call changed what a strand's timer is for (an interrupt's enable, state or
        // target, the watchdog): that strand looks at it now.
        if let Some(target) = poll {
            if self.strands {
                if target == vcpu {
                    let now = hw.stick();
                    self.arm_timer(hw, vcpu, now);
                } else {
                    hw.send_interrupt(self.config.vcpus[target].strand, VECTOR_MAILBOX);
                }
            }
        }
        // Channel interrupts raised, map-ins ended (crate::ldc): delivered and flushed
        // before the guest goes on.
        if after != crate::ldc::AfterCall::NONE {
            self.after_call(hw, vcpu, after);
        }
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
            Outcome::ReplyAt { reply, pc } => {
                reply.apply(frame);
                frame.target_pc = pc;
                frame.resume = RESUME_DONE_AT;
                Action::Resume
            }
            Outcome::Resume => Action::Resume,
            Outcome::StopVcpu(target) => {
                let reply = self.stop_vcpu(hw, vcpu, target);
                match reply {
                    Some(r) => {
                        r.apply(frame);
                        Action::Resume
                    }
                    None => self.stop_self(hw, vcpu),
                }
            }
            Outcome::Exit(code) => {
                // What the guest wrote before its end (a line without `\n`) comes first.
                hw.console().flush(hw, domain);
                info!("domain {} exited with code {code}", self.config.domains[domain].name);
                self.stop_domain(hw, vcpu)
            }
            Outcome::GuestFailure(why) => self.guest_failed(hw, vcpu, frame, why),
            Outcome::Sir => {
                hw.console().flush(hw, domain);
                info!("domain {} software-initiated reset", self.config.domains[domain].name);
                // The reset vector is in the calling vCPU's reset trap table (cpu_set_rtba).
                let rtba = self.vcpus[vcpu].lock().cpu.rtba;
                self.restart_domain(hw, vcpu, Start::Reset { rtba, offset: SIR_OFFSET })
            }
        }
    }

    /// The channel work a call left ([`crate::ldc::AfterCall`]).
    #[inline(never)]
    fn after_call(&self, hw: &mut dyn Hardware, vcpu: usize, after: crate::ldc::AfterCall) {
        if after.kick != 0 {
            self.kick(hw, Some(vcpu), after.kick);
        }
        if after.flush != 0 {
            self.flush_and_wait(hw, Some(vcpu), after.flush);
        }
    }

    /// Has the strands of the vCPUs in `kicks` deliver their raised channel interrupts:
    /// this strand's own vCPU (`me`) at once, the others through their mailboxes.
    #[inline(never)]
    fn kick(&self, hw: &mut dyn Hardware, me: Option<usize>, kicks: crate::ldc::Kicks) {
        if !self.strands {
            return;
        }
        for i in (0..self.mailboxes.len()).filter(|&i| kicks & 1 << i != 0) {
            if Some(i) == me {
                self.deliver_vintrs(hw, i);
            } else {
                self.mailboxes[i].post_vintr();
                hw.send_interrupt(self.config.vcpus[i].strand, VECTOR_MAILBOX);
            }
        }
    }

    /// Writes the channel interrupts raised for `vcpu` into its device mondo queue (this
    /// strand's registers); those a full queue does not take wait for this strand's timer
    /// ([`MONDO_RETRY_TICKS`]).
    #[inline(never)]
    fn deliver_vintrs(&self, hw: &mut dyn Hardware, vcpu: usize) {
        let v = self.config.vcpus[vcpu];
        let dev_queue = self.vcpus[vcpu].lock().cpu.queues[1];
        let memory = &self.config.domains[v.domain].memory;
        let waiting = self.channels.deliver(&self.config, v.domain, v.vid, |cookie| {
            let mut entry = [0u64; crate::vcpu::MONDO_WORDS];
            entry[0] = cookie;
            enqueue(hw, memory, dev_queue, hv_api::queue::DEV_MONDO, &entry)
        });
        if waiting {
            self.mailboxes[vcpu].post_vintr();
            let now = hw.stick();
            self.arm_timer(hw, vcpu, now + MONDO_RETRY_TICKS);
        }
    }

    /// Flushes this strand's TLBs for `vcpu` (a map-in of its domain ended): every
    /// translation but the permanent mappings, which are loaded again.
    #[inline(never)]
    fn flush_own(&self, hw: &mut dyn Hardware, vcpu: usize) {
        self.vcpus[vcpu].lock().mmu.flush(hw);
        self.mailboxes[vcpu].flushed();
    }

    /// Flushes the TLBs of every vCPU in `which` and waits (bounded by
    /// [`CROSS_STRAND_WAIT_TICKS`]) until each running one has: this strand's own vCPU
    /// (`me`) at once, the others through their mailboxes. While it waits it answers its
    /// own vCPU's flush requests, so two strands never wait for each other.
    #[inline(never)]
    fn flush_and_wait(&self, hw: &mut dyn Hardware, me: Option<usize>, which: crate::ldc::Kicks) {
        let others = |i: usize| which & 1 << i != 0 && Some(i) != me;
        for i in 0..self.mailboxes.len() {
            if Some(i) == me && which & 1 << i != 0 {
                self.flush_own(hw, i);
            } else if others(i) && self.mailboxes[i].is_running() {
                self.mailboxes[i].request_flush();
                hw.send_interrupt(self.config.vcpus[i].strand, VECTOR_MAILBOX);
            }
        }
        if !self.strands {
            return;
        }
        let deadline = hw.stick().saturating_add(CROSS_STRAND_WAIT_TICKS);
        while (0..self.mailboxes.len())
            .any(|i| others(i) && self.mailboxes[i].is_running() && self.mailboxes[i].flush_pending())
        {
            if let Some(me) = me.filter(|&me| self.mailboxes[me].flush_pending()) {
                self.flush_own(hw, me);
            }
            if hw.stick() >= deadline {
                return;
            }
            core::hint::spin_loop();
        }
    }

    /// Moves the mondo waiting in `vcpu`'s mailbox into its cpu mondo queue if the queue
    /// has room (this strand's HEAD and TAIL registers; the guest moves HEAD). If it has
    /// none, this strand's timer retries in [`MONDO_RETRY_TICKS`]: the guest drains its
    /// queue without trapping, and the sender, whose call succeeded, does not poke again.
    fn deliver_mondo(&self, hw: &mut dyn Hardware, vcpu: usize) {
        if !self.strands {
            return;
        }
        let queue = self.vcpus[vcpu].lock().cpu.queues[0];
        let memory = &self.config.domains[self.config.vcpus[vcpu].domain].memory;
        self.mailboxes[vcpu].deliver_mondo(|data| enqueue(hw, memory, queue, hv_api::queue::CPU_MONDO, data));
        if self.mailboxes[vcpu].mondo_waiting() {
            let now = hw.stick();
            self.arm_timer(hw, vcpu, now + MONDO_RETRY_TICKS);
        }
    }

    /// A real-translation miss (0x3e/0x3f) inside the domain's memory, on a machine that
    /// translates real addresses (qemu-sun4v with `ra2pa`): loads the real TTE (RA→PA, 4 MiB
    /// where both are aligned, else 8 KiB) under the domain's partition and retries; `true`
    /// when it did. The real address of an instruction miss is the PC (the MMU is off, or
    /// it would not be real); of a data miss, the D-MMU tag access register. Elsewhere
    /// (stock QEMU: RA = PA, only addresses nothing answers at miss, and the tag access
    /// register may be stale) the miss is the guest's access error.
    fn real_translation(&self, hw: &mut dyn Hardware, vcpu: usize, frame: &mut TrapFrame) -> bool {
        let instruction = match frame.tt {
            tt::INSTRUCTION_REAL_TRANSLATION_MISS => true,
            tt::DATA_REAL_TRANSLATION_MISS => false,
            _ => return false,
        };
        if !self.strands {
            return false;
        }
        let ra = if instruction { frame.tpc } else { frame.d_tag_access } & !(REAL_PAGE_8K - 1);
        let memory = &self.config.domains[self.config.vcpus[vcpu].domain].memory;
        let Some((page, pa, size)) = memory.real_page(Ra::new(ra)) else { return false };
        let tlbs = if instruction { crate::hardware::TlbSet::INSTRUCTION } else { crate::hardware::TlbSet::DATA };
        hw.tlb_load_real(tlbs, page, real_tte(pa, size));
        frame.resume = RESUME_RETRY;
        true
    }

    /// Arms this strand's timer for `at` unless it is armed for an earlier time.
    fn arm_timer(&self, hw: &mut dyn Hardware, vcpu: usize, at: u64) {
        if self.mailboxes[vcpu].arm_timer(at) {
            hw.set_hstick_match(at);
        }
    }

    /// What this strand's timer is for, run when it fires and when another strand pokes
    /// it: a mondo to retry, the domain's watchdog, the console interrupt of the domain
    /// when it is aimed at this vCPU (module [`crate::intr`]). Re-arms the timer for the
    /// earliest of them. `Some` when the watchdog expired: the failure policy's action.
    fn timer_work(&self, hw: &mut dyn Hardware, vcpu: usize, frame: &TrapFrame) -> Option<Action> {
        if !self.strands {
            return None;
        }
        self.deliver_mondo(hw, vcpu);
        if self.mailboxes[vcpu].take_vintr() {
            self.deliver_vintrs(hw, vcpu);
        }
        let v = self.config.vcpus[vcpu];
        let now = hw.stick();
        let dev_queue = self.vcpus[vcpu].lock().cpu.queues[1];
        let memory = &self.config.domains[v.domain].memory;
        let mut expired = false;
        let mut next: Option<u64> = None;
        {
            let mut d = self.domains[v.domain].state.lock();
            match d.watchdog_deadline {
                Some(deadline) if now >= deadline => {
                    d.watchdog_deadline = None;
                    expired = true;
                }
                Some(deadline) => next = Some(deadline),
                None => {}
            }
            if let Some((sysino, interrupt)) = d.interrupts.console_for(v.vid) {
                if interrupt.state == intr_state::IDLE && hw.console().pending_input(hw, v.domain) {
                    interrupt.state = intr_state::RECEIVED;
                }
                if interrupt.state == intr_state::RECEIVED {
                    let mut entry = [0u64; crate::vcpu::MONDO_WORDS];
                    entry[0] = sysino;
                    if enqueue(hw, memory, dev_queue, hv_api::queue::DEV_MONDO, &entry) {
                        interrupt.state = intr_state::DELIVERED;
                    }
                }
                let poll = now + crate::intr::POLL_TICKS;
                next = Some(next.map_or(poll, |n| n.min(poll)));
            }
        }
        if expired {
            return Some(self.guest_failed(hw, vcpu, frame, "watchdog reset"));
        }
        if let Some(at) = next {
            self.arm_timer(hw, vcpu, at);
        }
        None
    }

    /// Stops this strand's vCPU: its TLBs flushed and MMU off, its state STOPPED; the
    /// strand then waits for a start.
    fn stop_self(&self, hw: &mut dyn Hardware, vcpu: usize) -> Action {
        self.vcpus[vcpu].lock().mmu.reset(hw);
        self.mailboxes[vcpu].stopped();
        Action::Idle
    }

    /// Asks vCPU `target` to stop and waits until it has: `EOK`; `EWOULDBLOCK` if it did
    /// not within [`CROSS_STRAND_WAIT_TICKS`] (it stops when its strand next traps). `None`
    /// when this vCPU was asked to stop while it waited (it must stop).
    fn stop_vcpu(&self, hw: &mut dyn Hardware, vcpu: usize, target: usize) -> Option<Reply> {
        hw.send_interrupt(self.config.vcpus[target].strand, VECTOR_MAILBOX);
        match self.wait_stopped(hw, vcpu, |i| i == target, true) {
            Wait::Done => Some(Reply::ok()),
            Wait::TimedOut => Some(Reply::err(HvError::WouldBlock)),
            Wait::StopSelf => None,
        }
    }

    /// Waits until every vCPU `which` selects has stopped, answering this vCPU's own stop
    /// request if `answer_own_stop`.
    fn wait_stopped(
        &self,
        hw: &mut dyn Hardware,
        vcpu: usize,
        which: impl Fn(usize) -> bool,
        answer_own_stop: bool,
    ) -> Wait {
        let deadline = hw.stick().saturating_add(CROSS_STRAND_WAIT_TICKS);
        loop {
            if !(0..self.mailboxes.len()).any(|i| which(i) && self.mailboxes[i].is_running()) {
                return Wait::Done;
            }
            if answer_own_stop && self.mailboxes[vcpu].stop_requested() {
                return Wait::StopSelf;
            }
            if hw.stick() >= deadline {
                return Wait::TimedOut;
            }
            core::hint::spin_loop();
        }
    }

    /// Stops every other vCPU of `vcpu`'s domain and waits for them: `true` when `vcpu` now
    /// owns the domain's transition (release it with `end_transition`); `false` when
    /// another vCPU of the domain owns one: this one must just stop. The owner ignores a
    /// stop asked of itself meanwhile: it stops anyway at the end of the transition.
    fn stop_others(&self, hw: &mut dyn Hardware, vcpu: usize) -> bool {
        let domain = self.config.vcpus[vcpu].domain;
        let others = |i: usize| i != vcpu && self.config.vcpus[i].domain == domain;
        {
            // Under the domain's lock, so that no cpu_start (which runs under it) can post
            // a start after the scan: it answers EWOULDBLOCK once the flag is set.
            let mut d = self.domains[domain].state.lock();
            if d.in_transition {
                return false;
            }
            d.in_transition = true;
            for (i, v) in self.config.vcpus.iter().enumerate() {
                if others(i) && self.mailboxes[i].request_stop() {
                    hw.send_interrupt(v.strand, VECTOR_MAILBOX);
                }
            }
        }
        if self.wait_stopped(hw, vcpu, others, false) == Wait::TimedOut {
            // A strand that does not answer (it panicked): go on without it; its vCPU stops
            // when its strand next traps.
            for (i, v) in self.config.vcpus.iter().enumerate() {
                if others(i) && self.mailboxes[i].is_running() {
                    info!("domain {}: vCPU {} does not stop", self.config.domains[domain].name, v.vid);
                }
            }
        }
        true
    }

    fn end_transition(&self, vcpu: usize) {
        self.domains[self.config.vcpus[vcpu].domain].state.lock().in_transition = false;
    }

    /// Restarts `vcpu`'s domain on its boot vCPU: the others are stopped first, then this
    /// one, then the boot vCPU starts as `start` says.
    fn restart_domain(&self, hw: &mut dyn Hardware, vcpu: usize, start: Start) -> Action {
        if !self.stop_others(hw, vcpu) {
            return self.stop_self(hw, vcpu);
        }
        let action = self.stop_self(hw, vcpu);
        self.start_domain(hw, self.config.vcpus[vcpu].domain, start);
        self.end_transition(vcpu);
        action
    }

    /// Stops `vcpu`'s domain: every vCPU stopped, the domain STOPPED.
    fn stop_domain(&self, hw: &mut dyn Hardware, vcpu: usize) -> Action {
        #[cfg(hv_stats)]
        stats::print();
        if !self.stop_others(hw, vcpu) {
            return self.stop_self(hw, vcpu);
        }
        self.reset_channels(hw, self.config.vcpus[vcpu].domain);
        {
            let mut d = self.domains[self.config.vcpus[vcpu].domain].state.lock();
            d.status = DomainStatus::Stopped;
            d.in_transition = false;
        }
        if self.domains.iter().all(|d| d.state.lock().status == DomainStatus::Stopped) {
            info!("all domains stopped");
        }
        self.stop_self(hw, vcpu)
    }

    /// A guest fault the guest cannot handle: apply the domain's failure policy.
    fn guest_failed(&self, hw: &mut dyn Hardware, vcpu: usize, frame: &TrapFrame, why: &str) -> Action {
        let domain = self.config.vcpus[vcpu].domain;
        let d = &self.config.domains[domain];
        hw.console().flush(hw, domain);
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
                self.restart_domain(hw, vcpu, Start::PowerOn)
            }
            FailurePolicy::Stop => {
                info!("domain {}: failure policy stop", d.name);
                self.stop_domain(hw, vcpu)
            }
            FailurePolicy::Ignore => {
                info!("domain {}: failure policy ignore: watchdog reset to the guest", d.name);
                let rtba = self.vcpus[vcpu].lock().cpu.rtba;
                self.restart_domain(hw, vcpu, Start::Reset { rtba, offset: WATCHDOG_OFFSET })
            }
        }
    }
}

/// Writes `data` at TAIL of queue `id` (0x3c–0x3f) configured as `queue` and advances
/// TAIL; `false` when the queue is unconfigured or full (this strand's registers).
fn enqueue(
    hw: &mut dyn Hardware,
    memory: &crate::guest_memory::GuestMemory,
    queue: crate::cpu::Queue,
    id: u64,
    data: &[u64; crate::vcpu::MONDO_WORDS],
) -> bool {
    if queue.nentries == 0 {
        return false;
    }
    let mask = queue.nentries * hv_api::queue::ENTRY_SIZE - 1;
    let (head, tail) = hw.queue_registers(id);
    let (head, tail) = (head & mask, tail & mask);
    let next = (tail + hv_api::queue::ENTRY_SIZE) & mask;
    if next == head {
        return false;
    }
    // cpu_qconf checked that the queue lies in the domain's memory, aligned to its size.
    let Ok(entry) = memory.range(Ra::new(queue.base_ra + tail), hv_api::queue::ENTRY_SIZE) else {
        return false;
    };
    if !entry.write_words(hw, data) {
        return false;
    }
    hw.set_queue_tail(id, next);
    true
}

/// How a wait for other vCPUs ended.
#[derive(PartialEq, Eq)]
enum Wait {
    /// They stopped.
    Done,
    /// This vCPU was asked to stop.
    StopSelf,
    /// The deadline passed.
    TimedOut,
}

/// Runs the handler of trap `frame.tt` (with the vCPU's and the domain's locks held).
#[inline(always)] // one hypervisor window per hypercall
fn dispatch(cx: &mut Context<'_>, frame: &mut TrapFrame) -> Outcome {
    match frame.tt {
        0x180 => hcall::fast_trap(cx, frame),
        0x1ff => hcall::core_trap(cx, frame),
        0x183 => mmu::mmu_map_addr(cx, frame.o[0], frame.o[1], frame.o[2], frame.o[3]).into(),
        0x184 => mmu::mmu_unmap_addr(cx, frame.o[0], frame.o[1], frame.o[2]).into(),
        0x185 => crate::ttrace::ttrace_addentry(cx, frame).into(),
        0x181..=0x1fe => hcall::Reply::err(hv_api::error::HvError::BadTrap).into(),
        tt::FAST_INSTRUCTION_ACCESS_MMU_MISS => mmu::tlb_miss(cx, MissKind::Instruction, frame).into(),
        tt::FAST_DATA_ACCESS_MMU_MISS => mmu::tlb_miss(cx, MissKind::Data, frame).into(),
        tt::FAST_DATA_ACCESS_PROTECTION => mmu::tlb_miss(cx, MissKind::Protection, frame).into(),
        tt::INSTRUCTION_ACCESS_EXCEPTION => mmu::access_exception(cx, true, frame).into(),
        tt::DATA_ACCESS_EXCEPTION => mmu::access_exception(cx, false, frame).into(),
        // A real address (MMU off, or ASI_REAL*) that nothing answers at, or outside the
        // domain (`Hypervisor::real_translation`): a data / instruction access error,
        // unless the guest's handler would run above MAXPTL.
        tt::DATA_REAL_TRANSLATION_MISS | tt::INSTRUCTION_REAL_TRANSLATION_MISS => {
            if frame.tl > platform::MAXPTL {
                return Outcome::GuestFailure("access error above MAXPTL");
            }
            let error = if frame.tt == tt::DATA_REAL_TRANSLATION_MISS {
                tt::DATA_ACCESS_ERROR
            } else {
                tt::INSTRUCTION_ACCESS_ERROR
            };
            revector(frame, error);
            Outcome::Resume
        }
        _ => Outcome::GuestFailure("unexpected trap"),
    }
}

/// The real TTE of a page of `size` (4 MiB or 8 KiB) at `pa`: valid, cacheable,
/// privileged, writable.
fn real_tte(pa: crate::addr::Pa, size: u64) -> u64 {
    use hv_api::mmu::{PageSize, Tte};
    let code = if size == crate::guest_memory::REAL_PAGE_4M { PageSize::Size4M } else { PageSize::Size8K }.code();
    Tte::V | pa.raw() | Tte::CP | Tte::P | Tte::W | code
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
