//! Virtual interrupts, INTR group 1.0 (hv-api.md §2.5): `intr_devino2sysino`,
//! `intr_getenabled` / `intr_setenabled`, `intr_getstate` / `intr_setstate`,
//! `intr_gettarget` / `intr_settarget`.
//!
//! The domain's virtual devices sit under one device handle, the `cfg-handle` of the guest
//! MD's `virtual-devices` node (0x100 in what ldom-config emits). Its interrupts (devinos)
//! are the non-zero `intr` values of the `virtual-device` nodes (the console's is 1 — what
//! OpenBoot publishes as its `interrupts` and Linux passes to `intr_devino2sysino`; the
//! disk, NVRAM and RTC have 0, no interrupt). A devino is below 64.
//!
//! sysino = devhandle | devino: as in Sun's hypervisor, a device handle is its device id
//! shifted left by 6 and each device has 64 interrupt numbers, so the vdev interrupts are
//! sysinos 0x100–0x13f.
//!
//! Each interrupt keeps enabled (initially no), state (IDLE / RECEIVED / DELIVERED,
//! initially IDLE) and target vCPU (initially the boot vCPU).
//!
//! **Delivery** (the console's interrupt, the only device with a source): niagara's UART
//! has no interrupt line, so the target vCPU's strand polls the domain's console from its
//! `hstick_match` timer while the interrupt is enabled ([`POLL_TICKS`]). Input pending and
//! the interrupt IDLE → RECEIVED; RECEIVED and room in the target's device mondo queue →
//! an entry with the sysino in word 0, DELIVERED. The guest's `intr_setstate(IDLE)` re-arms
//! it. Stock QEMU has neither the timer nor the queue registers: there nothing is
//! delivered and guests poll the console.

use crate::hcall::{Context, Reply};
use hv_api::error::HvError;
use hv_api::md::MachineDescription;

/// How often a strand polls its domain's console for an enabled console interrupt aimed
/// at its vCPU: every 1 ms of `%stick`.
pub const POLL_TICKS: u64 = platform::TIMER_FREQUENCY_HZ / 1000;

/// Most interrupts a domain's virtual devices have.
pub const MAX_INTERRUPTS: usize = 8;
/// Interrupt numbers per device handle (Sun's `NINOSPERDEV`).
pub const INOS_PER_DEVHANDLE: u64 = 64;

/// Interrupt states (hv-api.md §2.5).
pub mod state {
    /// Idle.
    pub const IDLE: u64 = 0;
    /// Received, not yet delivered.
    pub const RECEIVED: u64 = 1;
    /// Delivered to the target's device mondo queue.
    pub const DELIVERED: u64 = 2;
}

/// One virtual interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualInterrupt {
    /// Its devino under the virtual-devices handle.
    pub devino: u64,
    /// Enabled (`intr_setenabled`).
    pub enabled: bool,
    /// [`state`] value.
    pub state: u64,
    /// Target vCPU id.
    pub target: u64,
}

/// A domain's virtual interrupts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interrupts {
    /// The virtual-devices device handle; `None` when the guest MD has none.
    pub devhandle: Option<u64>,
    /// The interrupts.
    pub table: heapless::Vec<VirtualInterrupt, MAX_INTERRUPTS>,
    /// The console's devino (its `virtual-device` node is named `console`), if it has one.
    pub console: Option<u64>,
    /// The device handle of the channel interrupts: the `cfg-handle` of the guest MD's
    /// `channel-devices` node, if it has one ([`crate::ldc`]).
    pub channel_devhandle: Option<u64>,
}

impl Interrupts {
    /// The interrupts of the virtual devices named in a guest MD (module doc).
    pub fn from_guest_md(md: &MachineDescription<'_>, boot_vid: u64) -> Interrupts {
        let mut it = Interrupts {
            channel_devhandle: md.nodes_named("channel-devices").find_map(|n| n.val("cfg-handle")),
            ..Interrupts::default()
        };
        let Some(handle) = md.nodes_named("virtual-devices").find_map(|n| n.val("cfg-handle")) else {
            return it;
        };
        if handle % INOS_PER_DEVHANDLE != 0 {
            return it;
        }
        it.devhandle = Some(handle);
        for dev in md.nodes_named("virtual-device") {
            let Some(devino) = dev.val("intr") else { continue };
            if devino == 0 || devino >= INOS_PER_DEVHANDLE || it.table.iter().any(|i| i.devino == devino) {
                continue;
            }
            let _ = it.table.push(VirtualInterrupt { devino, enabled: false, state: state::IDLE, target: boot_vid });
            if dev.str("name") == Some("console") {
                it.console = Some(devino);
            }
        }
        it
    }

    /// The console's interrupt if it is enabled and aimed at vCPU `vid`: the one a strand
    /// polls for.
    pub fn console_for(&mut self, vid: u64) -> Option<(u64, &mut VirtualInterrupt)> {
        let (handle, devino) = (self.devhandle?, self.console?);
        let i = self.table.iter_mut().find(|i| i.devino == devino)?;
        (i.enabled && i.target == vid).then_some((handle | devino, i))
    }

    /// Back to the start state: disabled, idle, aimed at `boot_vid`.
    pub fn reset(&mut self, boot_vid: u64) {
        for i in self.table.iter_mut() {
            *i = VirtualInterrupt { devino: i.devino, enabled: false, state: state::IDLE, target: boot_vid };
        }
    }

    /// The sysino of `devino` under `devhandle`, if that is one of the domain's interrupts.
    pub fn sysino(&self, devhandle: u64, devino: u64) -> Option<u64> {
        let handle = self.devhandle?;
        (devhandle == handle && self.table.iter().any(|i| i.devino == devino)).then_some(handle | devino)
    }

    fn find(&mut self, sysino: u64) -> Option<&mut VirtualInterrupt> {
        let handle = self.devhandle?;
        if sysino & !(INOS_PER_DEVHANDLE - 1) != handle {
            return None;
        }
        self.table.iter_mut().find(|i| i.devino == sysino & (INOS_PER_DEVHANDLE - 1))
    }
}

/// `intr_devino2sysino` (0xa0, INTR 1.0): the sysino of (`devhandle`, `devino`). Errors:
/// `EINVAL` (unknown device handle or devino) (hv-api.md §2.5).
pub fn intr_devino2sysino(cx: &mut Context<'_>, devhandle: u64, devino: u64) -> Reply {
    match cx.domain.interrupts.sysino(devhandle, devino) {
        Some(s) => Reply::ok1(s),
        None => Reply::err(HvError::Inval),
    }
}

fn with(cx: &mut Context<'_>, sysino: u64, f: impl FnOnce(&mut VirtualInterrupt) -> Reply) -> Reply {
    match cx.domain.interrupts.find(sysino) {
        Some(i) => f(i),
        None => Reply::err(HvError::NoIntr),
    }
}

/// As [`with`] for a call that changes the interrupt: once it succeeded, the target's
/// strand looks at its delivery (module doc).
fn change(cx: &mut Context<'_>, sysino: u64, f: impl FnOnce(&mut VirtualInterrupt) -> Reply) -> Reply {
    let mut target = None;
    let reply = with(cx, sysino, |i| {
        let r = f(i);
        target = Some(i.target);
        r
    });
    if reply.status == hv_api::error::EOK as u32 {
        cx.poll = target;
    }
    reply
}

/// `intr_getenabled` (0xa1, INTR 1.0): 1 if `sysino` is enabled, else 0. Errors: `ENOINTR`
/// (unknown sysino) (hv-api.md §2.5).
pub fn intr_getenabled(cx: &mut Context<'_>, sysino: u64) -> Reply {
    with(cx, sysino, |i| Reply::ok1(i.enabled as u64))
}

/// `intr_setenabled` (0xa2, INTR 1.0): enables (1) or disables (0) `sysino`. Errors:
/// `ENOINTR` (unknown sysino), `EINVAL` (other values) (hv-api.md §2.5).
pub fn intr_setenabled(cx: &mut Context<'_>, sysino: u64, enabled: u64) -> Reply {
    change(cx, sysino, |i| match enabled {
        0 | 1 => {
            i.enabled = enabled == 1;
            Reply::ok()
        }
        _ => Reply::err(HvError::Inval),
    })
}

/// `intr_getstate` (0xa3, INTR 1.0): 0 IDLE, 1 RECEIVED, 2 DELIVERED. Errors: `ENOINTR`
/// (hv-api.md §2.5).
pub fn intr_getstate(cx: &mut Context<'_>, sysino: u64) -> Reply {
    with(cx, sysino, |i| Reply::ok1(i.state))
}

/// `intr_setstate` (0xa4, INTR 1.0): sets the state (IDLE clears a pending interrupt).
/// Errors: `ENOINTR` (unknown sysino), `EINVAL` (state not 0–2) (hv-api.md §2.5).
pub fn intr_setstate(cx: &mut Context<'_>, sysino: u64, new_state: u64) -> Reply {
    change(cx, sysino, |i| {
        if new_state > state::DELIVERED {
            return Reply::err(HvError::Inval);
        }
        i.state = new_state;
        Reply::ok()
    })
}

/// `intr_gettarget` (0xa5, INTR 1.0): the target vCPU id. Errors: `ENOINTR`
/// (hv-api.md §2.5).
pub fn intr_gettarget(cx: &mut Context<'_>, sysino: u64) -> Reply {
    with(cx, sysino, |i| Reply::ok1(i.target))
}

/// `intr_settarget` (0xa6, INTR 1.0): aims `sysino` at vCPU `cpuid`. Errors: `ENOINTR`
/// (unknown sysino), `ENOCPU` (not a vCPU of the domain) (hv-api.md §2.5).
pub fn intr_settarget(cx: &mut Context<'_>, sysino: u64, cpuid: u64) -> Reply {
    let known = cx.has_vcpu(cpuid);
    change(cx, sysino, |i| {
        if !known {
            return Reply::err(HvError::NoCpu);
        }
        i.target = cpuid;
        Reply::ok()
    })
}
