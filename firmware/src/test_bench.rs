//! The shared host-test bench: a one-guest HV MD, a guest MD and a booted hypervisor on the
//! fake machine, with helpers that make traps on strand 0.

use crate::arch::fake::FakeHardware;
use crate::hypervisor::{Hypervisor, Next};
use crate::test_md::{MdBuilder, Value};
use crate::trap::{Action, LaunchState, TrapFrame, RESUME_DONE, RESUME_DONE_AT};
use hv_api::error::HvError;
use hv_api::{core_fn, hcall};

/// The default guest memory base (physical and real).
pub(crate) const BASE: u64 = 0x8000_0000;
/// The default guest memory size.
pub(crate) const SIZE: u64 = 0x1000_0000;
/// Where the guest MD is.
pub(crate) const PDPA: u64 = 0x1f_1200_0000;
/// The guest image (OpenBoot), copied to the real base at boot.
pub(crate) const ROMBASE: u64 = 0x00ff_f008_0000;
/// The default NVRAM.
pub(crate) const NVBASE: u64 = 0x1f_1100_0000;

pub(crate) const EINVAL: u64 = HvError::Inval.code();
pub(crate) const ENORADDR: u64 = HvError::NoRAddr.code();
pub(crate) const EBADALIGN: u64 = HvError::BadAlign.code();
pub(crate) const EBADTRAP: u64 = HvError::BadTrap.code();
pub(crate) const ENOTSUPPORTED: u64 = HvError::NotSupported.code();

/// An HV MD like Sun's 1up-hv.bin, with one guest named `primary` and vCPU `i` on strand `i`.
/// `Default` is that MD with the guest at [`BASE`], [`SIZE`] bytes, and 8 KiB of NVRAM.
#[derive(Clone, Debug)]
pub(crate) struct HvMd {
    pub(crate) membase: u64,
    pub(crate) memsize: u64,
    pub(crate) realbase: u64,
    pub(crate) vcpus: u64,
    pub(crate) diskpa: Option<u64>,
    /// (`nvbase`, `nvsize`).
    pub(crate) nvram: Option<(u64, u64)>,
    pub(crate) failure_policy: Option<&'static str>,
    /// Boot on a machine with the T1 strand machinery (the fake's `strands`: queue
    /// registers, timer, real translation).
    pub(crate) strands: bool,
}

impl Default for HvMd {
    fn default() -> Self {
        HvMd {
            membase: BASE,
            memsize: SIZE,
            realbase: BASE,
            vcpus: 1,
            diskpa: None,
            nvram: Some((NVBASE, 0x2000)),
            failure_policy: None,
            strands: false,
        }
    }
}

impl HvMd {
    pub(crate) fn build(&self) -> Vec<u8> {
        let (mut b, cpus, guest) = hv_md_skeleton();
        b.prop(0, "hvuart", Value::Val(0xfff0c2c000));
        for id in 0..self.vcpus {
            let cpu = b.node("cpu");
            b.prop(cpus, "cpu", Value::Arc(cpu));
            b.prop(cpu, "pid", Value::Val(id));
            b.prop(cpu, "vid", Value::Val(id));
            b.prop(cpu, "guest", Value::Arc(guest));
        }
        let optional = [
            self.diskpa.map(|d| ("diskpa", d)),
            self.nvram.map(|(base, _)| ("nvbase", base)),
            self.nvram.map(|(_, size)| ("nvsize", size)),
        ];
        for (k, v) in [
            ("gid", 0u64),
            ("cpuset", (1 << self.vcpus) - 1),
            ("membase", self.membase),
            ("memsize", self.memsize),
            ("realbase", self.realbase),
            ("rombase", ROMBASE),
            ("romsize", 0x1_0000),
            ("pdpa", PDPA),
            ("bootcpu", 0),
        ]
        .into_iter()
        .chain(optional.into_iter().flatten())
        {
            b.prop(guest, k, Value::Val(v));
        }
        b.prop(guest, "name", Value::Str("primary".into()));
        if let Some(policy) = self.failure_policy {
            b.prop(guest, "failure-policy", Value::Str(policy.into()));
        }
        b.build()
    }
}

/// The nodes every HV MD has: root → cpus, root → guests → guest, nothing else.
/// Returns the builder and the ids of `cpus` and `guest` (root is 0).
pub(crate) fn hv_md_skeleton() -> (MdBuilder, usize, usize) {
    let mut b = MdBuilder::new();
    let root = b.node("root");
    let cpus = b.node("cpus");
    let guests = b.node("guests");
    let guest = b.node("guest");
    b.prop(root, "cpus", Value::Arc(cpus));
    b.prop(root, "guests", Value::Arc(guests));
    b.prop(guests, "guest", Value::Arc(guest));
    (b, cpus, guest)
}

/// A guest MD: a platform node with a 100 MHz stick, and optionally a
/// `watchdog-max-timeout` and a virtual-devices node like ldom-config's (console `intr` 1).
#[derive(Clone, Debug, Default)]
pub(crate) struct GuestMd {
    pub(crate) watchdog_max: Option<u64>,
    pub(crate) virtual_devices: bool,
}

impl GuestMd {
    pub(crate) fn build(&self) -> Vec<u8> {
        let mut b = MdBuilder::new();
        let root = b.node("root");
        let platform = b.node("platform");
        b.prop(root, "fwd", Value::Arc(platform));
        b.prop(platform, "stick-frequency", Value::Val(100_000_000));
        if let Some(m) = self.watchdog_max {
            b.prop(platform, "watchdog-max-timeout", Value::Val(m));
        }
        if self.virtual_devices {
            let vdev = b.node("virtual-devices");
            b.prop(root, "fwd", Value::Arc(vdev));
            b.prop(vdev, "cfg-handle", Value::Val(0x100));
            for (name, intr) in [("disk", 0), ("console", 1), ("nvram", 0)] {
                let d = b.node("virtual-device");
                b.prop(vdev, "fwd", Value::Arc(d));
                b.prop(d, "name", Value::Str(name.into()));
                b.prop(d, "intr", Value::Val(intr));
                b.prop(d, "ino", Value::Val(if intr == 1 { 0x11 } else { 0 }));
            }
        }
        b.build()
    }
}

/// A hypervisor booted on the fake machine, with vCPU 0 started on strand 0.
pub(crate) struct Bench {
    pub(crate) hv: Hypervisor,
    pub(crate) hw: FakeHardware,
    /// The frame every trap starts from: TL 1, `%tba` at the real base, a `%tpc` and
    /// `%tstate`, and `%o6`/`%o7` marked.
    pub(crate) template: TrapFrame,
}

impl Bench {
    /// The default MDs.
    pub(crate) fn new() -> Self {
        Self::with(&HvMd::default(), &GuestMd::default())
    }

    /// Boots `hv_md` with RAM exactly the guest's memory, checks the boot vCPU's launch
    /// state and that no other vCPU starts.
    pub(crate) fn with(hv_md: &HvMd, guest_md: &GuestMd) -> Self {
        Self::on(FakeHardware::new(), hv_md, guest_md)
    }

    /// As [`Bench::with`], on `hw` (e.g. strand 0 of a machine whose strands threads play;
    /// `hv_md.strands` sets its `strands`).
    pub(crate) fn on(mut hw: FakeHardware, hv_md: &HvMd, guest_md: &GuestMd) -> Self {
        hw.load(PDPA, &guest_md.build());
        hw.load(ROMBASE, &[0xAB; 64]);
        hw.rtc = 1_700_000_000;
        hw.stick = 1_000_000;
        hw.strands = hv_md.strands;
        let (base, real, size) = (hv_md.membase, hv_md.realbase, hv_md.memsize);
        let hv = Hypervisor::boot(&mut hw, &hv_md.build(), (base, size)).unwrap();
        hv.start_domains(&mut hw);
        let launch = match hv.next_on_strand(&mut hw, 0) {
            Next::Launch(0, launch) => launch,
            other => panic!("{other:?}"),
        };
        assert_eq!((launch.pc, launch.rtba, launch.i0, launch.i1), (real + 0x20, real, real, size));
        assert_eq!(hw.peek(base, 4), vec![0xAB; 4], "image copied to the real base");
        for strand in 1..hv_md.vcpus {
            assert_eq!(hv.next_on_strand(&mut hw, strand), Next::Wait, "vid {strand} is not the boot vCPU");
        }
        hw.tlb_loads.clear();
        hw.resumed.clear();
        let mut template =
            TrapFrame { tl: 1, tba: real, tpc: real + 0x4000, tstate: 0x0000_0214_1600, ..Default::default() };
        template.o[6] = 0x6666;
        template.o[7] = 0x7777;
        Bench { hv, hw, template }
    }

    /// The template with trap type `tt` at hypervisor trap level `tl`.
    pub(crate) fn frame(&self, tt: u64, tl: u64) -> TrapFrame {
        TrapFrame { tt, tl, ..self.template }
    }

    /// What strand 0 runs next after its vCPU stopped: the posted restart, if any.
    pub(crate) fn launched(&mut self) -> Option<LaunchState> {
        match self.hv.next_on_strand(&mut self.hw, 0) {
            Next::Launch(0, l) => Some(l),
            Next::Wait => None,
            other => panic!("{other:?}"),
        }
    }

    /// Handles `frame` on strand 0.
    pub(crate) fn handle(&mut self, frame: &mut TrapFrame) -> Action {
        self.hv.handle_trap(&mut self.hw, 0, frame)
    }

    /// A trap at TL 1 with `%o0`–`%o5` = `o`: the action and the frame after it.
    pub(crate) fn trap(&mut self, tt: u64, o: [u64; 6]) -> (Action, TrapFrame) {
        let mut frame = self.frame(tt, 1);
        frame.o[..6].copy_from_slice(&o);
        let action = self.handle(&mut frame);
        (action, frame)
    }

    /// A fast trap (TT 0x180), checked as [`Bench::call`]: (status, %o1, %o2).
    pub(crate) fn fast(&mut self, function: u64, args: &[u64]) -> (u64, u64, u64) {
        self.call(0x180, function, args)
    }

    /// A core trap (TT 0x1ff), checked as [`Bench::call`]: (status, %o1, %o2).
    pub(crate) fn core(&mut self, function: u64, args: &[u64]) -> (u64, u64, u64) {
        self.call(0x1ff, function, args)
    }

    /// `api_set_version`: the status.
    pub(crate) fn set_version(&mut self, group: u64, major: u64, minor: u64) -> u64 {
        self.core(core_fn::API_SET_VERSION, &[group, major, minor]).0
    }

    /// A hypercall; checks that it resumes after the trap (`mmu_enable` may resume at its
    /// given address) with `%o6`/`%o7` untouched.
    fn call(&mut self, tt: u64, function: u64, args: &[u64]) -> (u64, u64, u64) {
        let mut o = [0; 6];
        o[..args.len()].copy_from_slice(args);
        o[5] = function;
        let (action, f) = self.trap(tt, o);
        assert_eq!(action, Action::Resume);
        if !(tt == 0x180 && function == hcall::MMU_ENABLE && f.resume == RESUME_DONE_AT) {
            assert_eq!(f.resume, RESUME_DONE);
        }
        assert_eq!((f.o[6], f.o[7]), (0x6666, 0x7777), "%o6/%o7 untouched");
        (f.o[0], f.o[1], f.o[2])
    }
}

/// xorshift64: a small deterministic generator for the hostile-guest tests (no dependency).
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
