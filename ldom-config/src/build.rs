//! Layout of the firmware set and generation of the hypervisor and guest MDs.

use crate::config::{Config, Domain, ImageRef, NETWORK_MTU};
use crate::error::Errors;
use crate::md::{Md, NodeId};
use std::path::{Path, PathBuf};

/// Size of the niagara MD ROM / HV ROM slots (`1up-md.bin`, `1up-hv.bin`).
pub const MD_SLOT_SIZE: usize = 0x2000;
/// PA of the guest-image area in the PROM (`openboot.bin`).
pub const PROM_GUEST_BASE: u64 = 0xff_f008_0000;
/// Size of the `openboot.bin` slot (4 MiB PROM − 0x80000).
pub const PROM_GUEST_SIZE: u64 = 0x38_0000;
/// PA of the MD ROM: domain 0's guest MD.
pub const MD_ROM_PA: u64 = 0x1f_1200_0000;
/// Alignment of the second and further images in the guest area.
pub const IMAGE_ALIGN: u64 = 0x1_0000;
/// Alignment of the guest MDs of domains ≥ 1 in the guest area.
pub const GUEST_MD_ALIGN: u64 = 0x2000;
/// Guest console UART.
pub const UART_PA: u64 = 0x1f_1000_0000;
/// Guest NVRAM.
pub const NVRAM_PA: u64 = 0x1f_1100_0000;
/// Size of the guest NVRAM at [`NVRAM_PA`].
pub const NVRAM_SIZE: u64 = 0x2000;
/// Virtual disk (pflash).
pub const DISK_PA: u64 = 0x1f_4000_0000;
/// HV console UART as Sun's MDs name it (`hvuart`).
pub const HV_UART: u64 = 0xff_f0c2_c000;
/// HV TOD as Sun's MDs name it (`tod`).
pub const HV_TOD: u64 = 0xff_f0c1_fff8;
/// QEMU niagara's STICK and TICK rate; every frequency in the guest MDs.
pub const FREQUENCY: u64 = 100_000_000;
/// Page sizes advertised to guests: 8K | 64K | 4M. Not 256M (0x20): QEMU 7.2 mistranslates
/// 256 MiB TTEs (sz = 5); not 512K (0x04): the T1 has none.
pub const MMU_PAGE_SIZE_LIST: u64 = 0x0b;
/// `cfg-handle` of the virtual-devices nexus.
pub const VDEV_CFG_HANDLE: u64 = 0x100;
/// `cfg-handle` of the channel-devices nexus.
pub const CDEV_CFG_HANDLE: u64 = 0x200;

/// Supplies guest images.
pub trait ImageResolver {
    /// The image called `name` (a bare name in the configuration), linked for `realbase`.
    fn resolve(&mut self, name: &str, realbase: u64) -> Result<Vec<u8>, String>;
}

/// Resolves paths relative to the configuration directory and bare names as
/// `<image_dir>/<name>.bin`.
pub struct FileResolver {
    /// Directory that relative image paths are resolved against.
    pub config_dir: PathBuf,
    /// Where named images are looked up (`--image-dir`); `None`: named images are an error.
    pub image_dir: Option<PathBuf>,
}

impl ImageResolver for FileResolver {
    fn resolve(&mut self, name: &str, _realbase: u64) -> Result<Vec<u8>, String> {
        let path = match ImageRef::parse(name) {
            ImageRef::Path(p) => self.config_dir.join(p),
            ImageRef::Named(n) => match &self.image_dir {
                Some(d) => d.join(format!("{n}.bin")),
                None => {
                    return Err(format!(
                        "{n:?} is a named image and no image directory was given (--image-dir); \
                         write a path (containing `/` or `.`) to use a file"
                    ))
                }
            },
        };
        std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
}

/// One domain of a [`Build`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltDomain {
    /// The domain's name from the configuration.
    pub name: String,
    /// The domain's guest MD.
    pub guest_md: Vec<u8>,
    /// RA (= PA) of the domain's memory, where its image is copied.
    pub realbase: u64,
    /// PA of the domain's image in the PROM guest area.
    pub rombase: u64,
    /// Size of the image, rounded up to 16 bytes.
    pub romsize: u64,
    /// PA of the domain's guest MD.
    pub pdpa: u64,
}

/// Everything the firmware set needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Build {
    /// `1up-hv.bin`.
    pub hv_md: Vec<u8>,
    /// The domains, in configuration order (index = gid).
    pub domains: Vec<BuiltDomain>,
    /// `1up-md.bin`: domain 0's guest MD.
    pub md_rom: Vec<u8>,
    /// `openboot.bin`: placed at PA `0xfff0080000`.
    pub prom_guest_area: Vec<u8>,
    /// Partition RAM for `qemu -m`.
    pub ram_size: u64,
}

/// Loads, validates and builds a configuration.
pub fn build(path: &Path, resolver: &mut dyn ImageResolver) -> Result<Build, Errors> {
    let cfg = crate::config::load(path)?;
    build_config(&cfg, resolver)
}

fn align(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

/// Builds an already validated configuration.
pub fn build_config(cfg: &Config, resolver: &mut dyn ImageResolver) -> Result<Build, Errors> {
    let mut src = cfg.source();
    // Images.
    let mut images: Vec<Option<Vec<u8>>> = Vec::new();
    for d in &cfg.domains {
        let r = match &d.image {
            ImageRef::Path(p) => {
                let full = cfg.dir.join(p);
                std::fs::read(&full).map_err(|e| format!("image {}: {e}", full.display()))
            }
            ImageRef::Named(n) => resolver.resolve(n, d.realbase).map_err(|e| format!("image {n:?}: {e}")),
        };
        match r {
            Ok(img) => {
                if img.len() as u64 > d.memsize {
                    src.err(
                        d.spans.image,
                        "image-too-large",
                        format!(
                            "the image is {:#x} bytes, more than domain {:?}'s memory ({:#x} bytes)",
                            img.len(),
                            d.name,
                            d.memsize
                        ),
                    );
                } else if d.entry_offset >= img.len() as u64 {
                    src.err(
                        d.spans.entry_offset,
                        "entry-offset",
                        format!(
                            "entry-offset {:#x} is beyond the end of the image ({:#x} bytes)",
                            d.entry_offset,
                            img.len()
                        ),
                    );
                }
                images.push(Some(img));
            }
            Err(e) => {
                src.err(d.spans.image, "image-missing", e);
                images.push(None);
            }
        }
    }

    // Guest MDs (their content does not depend on the layout).
    let guest_mds: Vec<Vec<u8>> = (0..cfg.domains.len()).map(|i| guest_md(cfg, i).to_bytes()).collect();
    for (d, md) in cfg.domains.iter().zip(&guest_mds) {
        if md.len() > MD_SLOT_SIZE {
            src.err(
                d.spans.name,
                "md-too-large",
                format!(
                    "domain {:?}'s guest MD is {} bytes, more than the {MD_SLOT_SIZE}-byte MD slot (fewer vCPUs or channels make it smaller)",
                    d.name,
                    md.len()
                ),
            );
        }
    }
    if !src.errors.is_empty() {
        return Err(Errors(src.errors));
    }

    // Layout of the PROM guest area: images, then the other domains' guest MDs.
    let mut area: Vec<u8> = Vec::new();
    let mut placed: Vec<(u64, u64, u64)> = Vec::new(); // rombase, romsize, pdpa
    let mut overflow_reported = false;
    let mut check = |src: &mut crate::error::Source, end: u64, at: usize, what: String| {
        if end > PROM_GUEST_SIZE && !overflow_reported {
            overflow_reported = true;
            src.err(
                at,
                "image-too-large",
                format!(
                    "{what} ends at offset {end:#x} of the PROM guest area, which holds {PROM_GUEST_SIZE:#x} bytes (all guest images plus the guest MDs of domains other than the first must fit)"
                ),
            );
        }
    };
    for (i, img) in images.iter().enumerate() {
        let img = img.as_ref().unwrap();
        let off = if i == 0 { 0 } else { align(area.len() as u64, IMAGE_ALIGN) };
        let romsize = align(img.len() as u64, 16);
        check(&mut src, off + romsize, cfg.domains[i].spans.image, format!("domain {:?}'s image", cfg.domains[i].name));
        if src.errors.is_empty() {
            area.resize(off as usize, 0);
            area.extend_from_slice(img);
            area.resize((off + romsize) as usize, 0);
        }
        placed.push((PROM_GUEST_BASE + off, romsize, MD_ROM_PA));
    }
    for i in 1..cfg.domains.len() {
        let off = align(area.len() as u64, GUEST_MD_ALIGN);
        let md = &guest_mds[i];
        check(
            &mut src,
            off + md.len() as u64,
            cfg.domains[i].spans.name,
            format!("domain {:?}'s guest MD", cfg.domains[i].name),
        );
        if src.errors.is_empty() {
            area.resize(off as usize, 0);
            area.extend_from_slice(md);
        }
        placed[i].2 = PROM_GUEST_BASE + off;
    }

    let hv = hv_md(cfg, &placed).to_bytes();
    if hv.len() > MD_SLOT_SIZE {
        src.err(
            cfg.domains[0].spans.table,
            "md-too-large",
            format!("the hypervisor MD is {} bytes, more than the {MD_SLOT_SIZE}-byte HV MD slot", hv.len()),
        );
    }
    if !src.errors.is_empty() {
        return Err(Errors(src.errors));
    }
    let domains = cfg
        .domains
        .iter()
        .zip(guest_mds)
        .zip(&placed)
        .map(|((d, md), &(rombase, romsize, pdpa))| BuiltDomain {
            name: d.name.clone(),
            guest_md: md,
            realbase: d.realbase,
            rombase,
            romsize,
            pdpa,
        })
        .collect::<Vec<_>>();
    Ok(Build {
        hv_md: hv,
        md_rom: domains[0].guest_md.clone(),
        domains,
        prom_guest_area: area,
        ram_size: cfg.platform.ram_size,
    })
}

/// The hypervisor MD (docs/hv-md-schema.md). `placed[i]` = (rombase, romsize, pdpa).
pub fn hv_md(cfg: &Config, placed: &[(u64, u64, u64)]) -> Md {
    let mut md = Md::new();
    let root = md.add_node("root");
    let cpus = md.add_node("cpus");
    // cpu nodes, in domain then vCPU order
    let mut cpu_nodes: Vec<(NodeId, usize)> = Vec::new();
    for (gi, d) in cfg.domains.iter().enumerate() {
        for (vid, &pid) in d.vcpus.iter().enumerate() {
            let n = md.add_node("cpu");
            md.val(n, "pid", pid).val(n, "vid", vid as u64);
            cpu_nodes.push((n, gi));
        }
    }
    let guests = md.add_node("guests");
    let mut guest_nodes = Vec::new();
    for (gi, d) in cfg.domains.iter().enumerate() {
        let g = md.add_node("guest");
        let (rombase, romsize, pdpa) = placed[gi];
        let cpuset = d.vcpus.iter().fold(0u64, |m, &p| m | (1u64 << p));
        let gid = gi as u64;
        md.val(g, "gid", gid)
            .val(g, "pid", gid + 1)
            .val(g, "xid", 16 + gid)
            .val(g, "cpuset", cpuset)
            .val(g, "membase", d.membase)
            .val(g, "memsize", d.memsize)
            .val(g, "realbase", d.realbase)
            .val(g, "uartbase", UART_PA)
            .val(g, "nvbase", NVRAM_PA)
            .val(g, "nvsize", NVRAM_SIZE)
            .val(g, "rombase", rombase)
            .val(g, "romsize", romsize)
            .val(g, "diskpa", DISK_PA)
            .val(g, "pdpa", pdpa)
            .val(g, "bootcpu", 0)
            .val(g, "perfctraccess", 1)
            .str(g, "name", &d.name)
            .val(g, "entry-offset", d.entry_offset)
            .str(g, "failure-policy", d.failure_policy.name());
        guest_nodes.push(g);
    }
    for &(n, gi) in &cpu_nodes {
        md.arc(cpus, "cpu", n);
        md.arc(n, "guest", guest_nodes[gi]);
    }
    for &g in &guest_nodes {
        md.arc(guests, "guest", g);
    }
    md.arc(root, "cpus", cpus).arc(root, "guests", guests);
    if !cfg.channels.is_empty() {
        let eps = md.add_node("ldc_endpoints");
        md.arc(root, "ldc_endpoints", eps);
        for c in &cfg.channels {
            for k in 0..2 {
                let (me, peer) = (&c.ends[k], &c.ends[1 - k]);
                let (tx, rx) = Config::inos(me.id);
                let e = md.add_node("ldc_endpoint");
                md.val(e, "channel", me.id)
                    .arc(e, "guest", guest_nodes[me.domain])
                    .arc(e, "target_guest", guest_nodes[peer.domain])
                    .val(e, "target_channel", peer.id)
                    .val(e, "tx-ino", tx)
                    .val(e, "rx-ino", rx);
                md.arc(eps, "ldc_endpoint", e);
            }
        }
    }
    md.val(root, "hvuart", HV_UART).val(root, "tod", HV_TOD).val(root, "md-generation#", 1);
    md
}

/// The guest MD of domain `gi`: Sun's `common.pdesc` node set (root, options, devalias,
/// platform, virtual-devices and its disk/console/nvram/rtc children) completed with what
/// current guests read (hv-api.md §5.4: cpus/cpu with MMU and queue properties, caches and
/// execution units, memory/mblock, channel-devices/channel-endpoint), every node reachable
/// from root by `fwd` arcs with matching `back` arcs, and every frequency 100 MHz.
pub fn guest_md(cfg: &Config, gi: usize) -> Md {
    let d: &Domain = &cfg.domains[gi];
    let ncpu = d.vcpus.len() as u64;
    let mut md = Md::new();
    let root = md.add_node("root");
    md.val(root, "md-generation#", 1)
        .str(root, "banner-name", "Sun Fire T2000")
        .str(root, "name", "SUNW,Sun-Fire-T2000")
        .val(root, "stick-frequency", FREQUENCY)
        .val(root, "clock-frequency", FREQUENCY)
        .str(root, "board-part#", "000-000-000")
        // OpenBoot 4.20 reads these from the root node ("FATAL: Missing required
        // property: max-#tsb-entries" without it), as in Sun's common.pdesc.
        .val(root, "max-#cpumondo-entries", 0x100)
        .val(root, "max-#devmondo-entries", 0x100)
        .val(root, "max-#cpus", ncpu)
        .val(root, "max-#tsb-entries", 2)
        .val(root, "reset-reason", 0);

    let platform = md.add_node("platform");
    md.link(root, platform);
    md.str(platform, "banner-name", "Sun Fire T2000")
        .str(platform, "name", "SUNW,Sun-Fire-T2000")
        .val(platform, "mac-address", 0x80_03de_ad03 + gi as u64)
        .val(platform, "hostid", 0x8011_2233 + gi as u64)
        .val(platform, "serial#", 11223344)
        .val(platform, "stick-frequency", FREQUENCY)
        .val(platform, "clock-frequency", FREQUENCY)
        .val(platform, "max-cpus", ncpu)
        .val(platform, "watchdog-resolution", 1000)
        .val(platform, "watchdog-max-timeout", 31_536_000_000);
    if !cfg.channels.is_empty() {
        md.val(platform, "domaining-enabled", 1);
    }

    let options = md.add_node("options");
    md.link(root, options);
    md.str(options, "input-device", "ttya").str(options, "output-device", "ttya").str(options, "boot-device", "vdisk");
    let devalias = md.add_node("devalias");
    md.link(root, devalias);
    md.str(devalias, "disk", "/virtual-devices/disk@0")
        .str(devalias, "vdisk", "/virtual-devices/disk@0")
        .str(devalias, "nvram", "/virtual-devices/nvram@2")
        .str(devalias, "ttya", "/virtual-devices/console@1");

    // CPUs: L1 caches and the integer pipeline are per T1 core (4 strands), the L2 and
    // the FPU are shared by the chip.
    let cpus = md.add_node("cpus");
    md.link(root, cpus);
    let mut cpu_nodes = Vec::new();
    for id in 0..ncpu {
        let c = md.add_node("cpu");
        md.link(cpus, c);
        md.val(c, "id", id)
            .val(c, "clock-frequency", FREQUENCY)
            .strings(c, "compatible", &["SUNW,UltraSPARC-T1", "SUNW,sun4v-cpu", "sun4v"])
            .strings(c, "isalist", &["sparcv9", "sparcv8plus", "sparcv8", "sparcv8-fsmuld", "sparcv7", "sparc"])
            .val(c, "mmu-#context-bits", 13)
            .val(c, "mmu-#va-bits", 48)
            .val(c, "mmu-max-#tsbs", 2)
            .val(c, "max-#tsb-entries", 2)
            .val(c, "mmu-page-size-list", MMU_PAGE_SIZE_LIST)
            .val(c, "q-cpu-mondo-#bits", 7)
            .val(c, "q-dev-mondo-#bits", 7)
            .val(c, "q-resumable-#bits", 6)
            .val(c, "q-nonresumable-#bits", 2);
        cpu_nodes.push(c);
    }
    let mut cores: Vec<u64> = d.vcpus.iter().map(|s| s / 4).collect();
    cores.sort_unstable();
    cores.dedup();
    let l2 = md.add_node("cache");
    md.val(l2, "level", 2)
        .strings(l2, "type", &["instn", "data"])
        .val(l2, "size", 3 << 20)
        .val(l2, "line-size", 64)
        .val(l2, "associativity", 12);
    let fpu = md.add_node("exec-unit");
    md.strings(fpu, "type", &["fp"]);
    for core in cores {
        let members: Vec<NodeId> =
            d.vcpus.iter().zip(&cpu_nodes).filter(|(s, _)| **s / 4 == core).map(|(_, &c)| c).collect();
        let l1i = md.add_node("cache");
        md.val(l1i, "level", 1)
            .strings(l1i, "type", &["instn"])
            .val(l1i, "size", 16 << 10)
            .val(l1i, "line-size", 32)
            .val(l1i, "associativity", 4);
        let l1d = md.add_node("cache");
        md.val(l1d, "level", 1)
            .strings(l1d, "type", &["data"])
            .val(l1d, "size", 8 << 10)
            .val(l1d, "line-size", 16)
            .val(l1d, "associativity", 4);
        let int = md.add_node("exec-unit");
        md.strings(int, "type", &["integer"]);
        for c in members {
            md.link(c, l1i);
            md.link(c, l1d);
            md.link(c, int);
        }
    }
    for &c in &cpu_nodes {
        md.link(c, l2);
        md.link(c, fpu);
    }

    let memory = md.add_node("memory");
    md.link(root, memory);
    let mblock = md.add_node("mblock");
    md.link(memory, mblock);
    md.val(mblock, "base", d.realbase).val(mblock, "size", d.memsize).val(mblock, "address-congruence-offset", 0);

    let vdev = md.add_node("virtual-devices");
    md.link(root, vdev);
    md.str(vdev, "name", "virtual-devices")
        .str(vdev, "device_type", "virtual-devices")
        .strings(vdev, "compatible", &["SUNW,sun4v-virtual-devices", "SUNW,virtual-devices"])
        .val(vdev, "cfg-handle", VDEV_CFG_HANDLE);
    let disk = md.add_node("virtual-device");
    md.link(vdev, disk);
    md.str(disk, "name", "disk")
        .strings(disk, "compatible", &["SUNW,sun4v-disk"])
        .str(disk, "fcode-driver-name", "disk-virtual-device")
        .val(disk, "my-space", 0)
        .val(disk, "intr", 0)
        .val(disk, "ino", 0)
        .val(disk, "cfg-handle", 0);
    let console = md.add_node("virtual-device");
    md.link(vdev, console);
    md.str(console, "name", "console")
        .strings(console, "compatible", &["SUNW,sun4v-console", "qcn"])
        .str(console, "fcode-driver-name", "console-virtual-device")
        .val(console, "intr", 1)
        .val(console, "ino", 0x11)
        .val(console, "cfg-handle", 1)
        .val(console, "channel#", 0);
    let nvram = md.add_node("virtual-device");
    md.link(vdev, nvram);
    md.str(nvram, "name", "nvram")
        .str(nvram, "fcode-driver-name", "nvram-virtual-device")
        .val(nvram, "intr", 0)
        .val(nvram, "ino", 0)
        .val(nvram, "cfg-handle", 2);
    let tod = md.add_node("virtual-device");
    md.link(vdev, tod);
    md.str(tod, "name", "rtc")
        .strings(tod, "compatible", &["sun4v-tod"])
        .str(tod, "fcode-driver-name", "tod-virtual-device")
        .val(tod, "intr", 0)
        .val(tod, "ino", 0)
        .val(tod, "cfg-handle", 3);

    // (channel index, endpoint id) of this domain's channel ends.
    let mine: Vec<(usize, u64)> = cfg
        .channels
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| c.ends.iter().filter(|e| e.domain == gi).map(move |e| (ci, e.id)))
        .collect();
    if !mine.is_empty() {
        let cdev = md.add_node("channel-devices");
        md.link(root, cdev);
        md.str(cdev, "name", "channel-devices")
            .str(cdev, "device_type", "channel-devices")
            .strings(cdev, "compatible", &["SUNW,sun4v-channel-devices"])
            .val(cdev, "cfg-handle", CDEV_CFG_HANDLE);
        let mut endpoint_of: Vec<Option<NodeId>> = vec![None; cfg.channels.len()];
        for &(ci, id) in &mine {
            let (tx, rx) = Config::inos(id);
            let e = md.add_node("channel-endpoint");
            md.link(cdev, e);
            md.val(e, "id", id).val(e, "tx-ino", tx).val(e, "rx-ino", rx);
            endpoint_of[ci] = Some(e);
        }
        network_nodes(&mut md, cfg, gi, cdev, devalias, &endpoint_of);
    }
    md
}

/// Domain `gi`'s virtual network devices, as Linux's vio bus and sunvnet read them
/// (docs/ldom-config.md, "Networks"): under channel-devices, one `virtual-device` named
/// `network` per network the domain is on (`cfg-handle` 0, 1, … in `[[network]]` order,
/// its `local-mac-address`), and under it one `virtual-device-port` named `vnet-port` per
/// peer (`id` 0, 1, …, the peer's `remote-mac-address`, `switch-port` when the peer is the
/// network's switch-port domain) with a `fwd` arc to the channel's `channel-endpoint`.
fn network_nodes(md: &mut Md, cfg: &Config, gi: usize, cdev: NodeId, devalias: NodeId, endpoint_of: &[Option<NodeId>]) {
    let mut handle = 0u64;
    for net in &cfg.networks {
        let Some(me) = net.member(gi) else { continue };
        let n = md.add_node("virtual-device");
        md.link(cdev, n);
        md.str(n, "name", "network")
            .str(n, "device-type", "network")
            .strings(n, "compatible", &["SUNW,sun4v-network"])
            .val(n, "cfg-handle", handle)
            .val(n, "local-mac-address", me.mac)
            .val(n, "mtu", NETWORK_MTU);
        if handle == 0 {
            md.str(devalias, "net", &format!("/virtual-devices/channel-devices/network@{handle:x}"));
        }
        for (id, (peer, link)) in net.ports_of(gi).into_iter().enumerate() {
            let p = md.add_node("virtual-device-port");
            md.link(n, p);
            md.str(p, "name", "vnet-port").val(p, "id", id as u64).val(p, "remote-mac-address", net.members[peer].mac);
            if net.switch_port == Some(peer) {
                md.val(p, "switch-port", 0);
            }
            if let Some(e) = endpoint_of[link.channel] {
                md.link(p, e);
            }
        }
        handle += 1;
    }
}
