//! A vCPU as the hypervisor keeps it: the state only its own strand touches
//! ([`VcpuState`], behind a lock that in practice is never contended) and the [`Mailbox`]
//! through which every other strand reaches it (atomics and leaf locks).
//!
//! One vCPU runs on one strand (the configuration's `pid`), as in Sun's hypervisor on T1.
//! Another strand never touches a vCPU's [`VcpuState`]; it asks through the mailbox:
//! * **start** (`cpu_start`, a domain start or restart): the start state is posted in the
//!   mailbox and the strand resumed; the strand takes it from its idle loop
//!   ([`crate::hypervisor::Hypervisor::next_on_strand`]), resets the vCPU's own state and
//!   enters the guest;
//! * **stop** (`cpu_stop`, a domain stop or reset): a flag and an interrupt vector; the
//!   strand stops its vCPU at its next trap into the hypervisor (the interrupt vector trap
//!   if nothing sooner), flushing its own TLBs;
//! * **cpu mondo** (`cpu_mondo_send`): a one-entry slot and an interrupt vector; the strand
//!   moves the entry into the guest's cpu mondo queue when the queue has room (Sun's
//!   hypervisor keeps an undeliverable mondo the same way, and every sender gets
//!   `EWOULDBLOCK` until the guest drains its queue).

use crate::cpu::CpuState;
use crate::mmu::MmuState;
use crate::trap::LaunchState;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use hv_api::cpu_state;

/// The run-time state of one vCPU that only its own strand reads or writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VcpuState {
    /// Its MMU state.
    pub mmu: MmuState,
    /// RTBA, queues, trace buffer.
    pub cpu: CpuState,
}

/// Bytes of a cpu mondo (hv-api.md §4.4).
pub const MONDO_WORDS: usize = (hv_api::queue::MONDO_DATA_SIZE / 8) as usize;

/// Internal run state: running, and asked to stop (`cpu_state` reports RUNNING).
pub const STOPPING: u64 = 4;

/// What other strands may ask of a vCPU, and its run state as `cpu_state` reports it.
#[derive(Debug)]
pub struct Mailbox {
    /// [`cpu_state::STOPPED`], [`cpu_state::RUNNING`], [`STOPPING`] (running, asked to
    /// stop; `cpu_state` says RUNNING) or [`cpu_state::ERROR`]. RUNNING from the moment a
    /// start is posted until the vCPU has stopped. A stop can only be asked of a running
    /// vCPU (one atomic step), so a request never outlives the run it was meant for.
    run: AtomicU64,
    /// A posted start, taken by the vCPU's strand.
    start: crate::sync::Mutex<Option<LaunchState>>,
    /// A cpu mondo waiting for room in the guest's queue.
    mondo: crate::sync::Mutex<Option<[u64; MONDO_WORDS]>>,
    /// Whether `mondo` holds one: what every trap checks, in one load.
    mondo_full: AtomicBool,
    /// The `%stick` value the strand's timer is armed for; 0 = not armed. Only the vCPU's
    /// own strand uses it.
    timer: AtomicU64,
    /// A channel interrupt aimed at this vCPU was raised: its strand delivers it
    /// ([`crate::ldc::Channels::deliver`]).
    vintr: AtomicBool,
    /// Another strand ended a map-in of this vCPU's domain: its strand flushes its TLBs and
    /// clears the flag (the other strand waits for that).
    flush: AtomicBool,
}

impl Default for Mailbox {
    fn default() -> Self {
        Mailbox {
            run: AtomicU64::new(cpu_state::STOPPED),
            start: crate::sync::Mutex::new(None),
            mondo: crate::sync::Mutex::new(None),
            mondo_full: AtomicBool::new(false),
            timer: AtomicU64::new(0),
            vintr: AtomicBool::new(false),
            flush: AtomicBool::new(false),
        }
    }
}

impl Mailbox {
    /// The vCPU's `cpu_state` value.
    pub fn run_state(&self) -> u64 {
        match self.run.load(Ordering::Acquire) {
            STOPPING => cpu_state::RUNNING,
            state => state,
        }
    }

    /// Whether the vCPU runs (or is about to: a start was posted), asked to stop or not.
    pub fn is_running(&self) -> bool {
        self.run_state() == cpu_state::RUNNING
    }

    /// Posts a start if the vCPU is stopped; `false` when it is not (running or in error).
    /// The caller then resumes the vCPU's strand.
    pub fn post_start(&self, state: LaunchState) -> bool {
        if self
            .run
            .compare_exchange(cpu_state::STOPPED, cpu_state::RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        *self.start.lock() = Some(state);
        true
    }

    /// Takes a posted start (the vCPU's own strand), dropping a mondo left from before the
    /// vCPU stopped (its queue is gone). A stop requested meanwhile stays requested.
    pub fn take_start(&self) -> Option<LaunchState> {
        let state = self.start.lock().take()?;
        *self.mondo.lock() = None;
        self.mondo_full.store(false, Ordering::Release);
        Some(state)
    }

    /// Records that the strand's timer is to fire at `at` (not 0); `true` when that is
    /// earlier than what it was armed for (the caller then arms the hardware).
    pub fn arm_timer(&self, at: u64) -> bool {
        let at = at.max(1);
        let armed = self.timer.load(Ordering::Relaxed);
        if armed != 0 && armed <= at {
            return false;
        }
        self.timer.store(at, Ordering::Relaxed);
        true
    }

    /// The strand's timer fired (and was disarmed).
    pub fn timer_fired(&self) {
        self.timer.store(0, Ordering::Relaxed);
    }

    /// Whether a start is posted and not yet taken.
    pub fn start_pending(&self) -> bool {
        self.start.lock().is_some()
    }

    /// Asks the vCPU's strand to stop it, if it runs: `false` when it does not (stopped or
    /// in error). The caller then sends the strand an interrupt vector.
    pub fn request_stop(&self) -> bool {
        match self.run.compare_exchange(cpu_state::RUNNING, STOPPING, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => true,
            Err(state) => state == STOPPING,
        }
    }

    /// Whether a stop was requested (the vCPU's own strand checks on every trap).
    pub fn stop_requested(&self) -> bool {
        self.run.load(Ordering::Acquire) == STOPPING
    }

    /// The vCPU's own strand has stopped it.
    pub fn stopped(&self) {
        // Stopping flushed its TLBs.
        self.flush.store(false, Ordering::Release);
        self.run.store(cpu_state::STOPPED, Ordering::Release);
    }

    /// Puts `data` in the mondo slot; `false` when the slot is taken (the sender answers
    /// `EWOULDBLOCK` for that target).
    pub fn post_mondo(&self, data: [u64; MONDO_WORDS]) -> bool {
        let Some(mut slot) = self.mondo.try_lock() else { return false };
        if slot.is_some() {
            return false;
        }
        *slot = Some(data);
        self.mondo_full.store(true, Ordering::Release);
        true
    }

    /// Whether a mondo waits in the slot.
    pub fn mondo_waiting(&self) -> bool {
        self.mondo_full.load(Ordering::Acquire)
    }

    /// Runs `deliver` on the waiting mondo, if any, and empties the slot when it returns
    /// `true` (the guest's queue had room). The vCPU's own strand only.
    pub fn deliver_mondo(&self, deliver: impl FnOnce(&[u64; MONDO_WORDS]) -> bool) {
        let mut slot = self.mondo.lock();
        if let Some(data) = slot.as_ref() {
            if deliver(data) {
                *slot = None;
                self.mondo_full.store(false, Ordering::Release);
            }
        }
    }

    /// Asks the vCPU's strand to deliver its channel interrupts (the caller then sends the
    /// strand an interrupt vector).
    pub fn post_vintr(&self) {
        self.vintr.store(true, Ordering::Release);
    }

    /// Takes the request of [`Mailbox::post_vintr`]: whether there was one.
    pub fn take_vintr(&self) -> bool {
        // A load first: the swap (a compare-and-swap loop on sparc64) only when there is one.
        self.vintr.load(Ordering::Acquire) && self.vintr.swap(false, Ordering::AcqRel)
    }

    /// Asks the vCPU's strand to flush its TLBs (the caller then sends the strand an
    /// interrupt vector and waits for [`Mailbox::flush_pending`] to clear).
    pub fn request_flush(&self) {
        self.flush.store(true, Ordering::Release);
    }

    /// Whether a flush was asked and not yet done.
    pub fn flush_pending(&self) -> bool {
        self.flush.load(Ordering::Acquire)
    }

    /// The vCPU's strand has flushed its TLBs (or the vCPU stopped, which flushes them).
    pub fn flushed(&self) {
        self.flush.store(false, Ordering::Release);
    }
}
