//! The hypervisor's configuration, read from the hypervisor MD (docs/hv-md-schema.md).
//!
//! Parse, validate, then commit: [`HvConfig::from_md`] reads every domain and vCPU into
//! fixed-size tables and checks them before the hypervisor uses any of it. Nothing here
//! touches memory; the caller copies images and guest MDs once the whole configuration is
//! known to be good.

use crate::addr::{Pa, Ra};
use crate::guest_memory::GuestMemory;
use core::fmt;
use hv_api::md::{MachineDescription, MdError, Node};

pub use hv_api::hv_md::{FailurePolicy, DEFAULT_ENTRY_OFFSET, MAX_DOMAINS, MAX_LDC_ENDPOINTS, MAX_VCPUS};
/// Longest domain name kept.
pub const MAX_NAME: usize = hv_api::hv_md::MAX_DOMAIN_NAME;

/// One domain (a `guest` node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainConfig {
    /// Domain index (`gid`).
    pub gid: u64,
    /// Name (`name`, or `guest<gid>` when absent).
    pub name: heapless::String<MAX_NAME>,
    /// The domain's memory.
    pub memory: GuestMemory,
    /// Physical address of the guest image.
    pub rombase: Pa,
    /// Size of the guest image.
    pub romsize: u64,
    /// Physical address of the guest MD served by `mach_desc`.
    pub pdpa: Pa,
    /// Entry PC offset from the real base.
    pub entry_offset: u64,
    /// vCPU id that starts the domain.
    pub bootcpu: u64,
    /// Physical strands of the domain (`cpuset`).
    pub cpuset: u64,
    /// What to do when the guest faults.
    pub failure_policy: FailurePolicy,
    /// Physical address of the domain's simulated disk (`diskpa`, optional): what
    /// `disk_read` / `disk_write` access (the pflash vdisk on niagara).
    pub diskpa: Option<Pa>,
    /// Whether another domain of the configuration has the same `diskpa` (on niagara every
    /// domain's disk is the one vdisk): such a disk is read-only for every domain, so that
    /// no domain changes what another reads ([`crate::vdisk`]).
    pub disk_shared: bool,
    /// The domain's NVRAM (`nvbase`, `nvsize`, optional): what the legacy NVRAM calls
    /// read and write.
    pub nvram: Option<(Pa, u64)>,
}

/// One vCPU (a `cpu` node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuConfig {
    /// Physical strand it runs on (`pid`).
    pub strand: u64,
    /// vCPU id the guest sees (`vid`).
    pub vid: u64,
    /// Index of its domain in [`HvConfig::domains`].
    pub domain: usize,
}

/// One end of an LDC channel (an `ldc_endpoint` node, docs/hv-md-schema.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointConfig {
    /// Index of its domain in [`HvConfig::domains`].
    pub domain: usize,
    /// Channel id as that domain sees it (`channel`).
    pub id: u64,
    /// Index in [`HvConfig::endpoints`] of the other end (`target_guest`,
    /// `target_channel`).
    pub peer: usize,
    /// Transmit interrupt number (`tx-ino`).
    pub tx_ino: u64,
    /// Receive interrupt number (`rx-ino`).
    pub rx_ino: u64,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HvConfig {
    /// Domains, in `gid` order of appearance.
    pub domains: heapless::Vec<DomainConfig, MAX_DOMAINS>,
    /// vCPUs.
    pub vcpus: heapless::Vec<VcpuConfig, MAX_VCPUS>,
    /// LDC channel endpoints; each one's peer is another entry.
    pub endpoints: heapless::Vec<EndpointConfig, MAX_LDC_ENDPOINTS>,
}

/// Why a hypervisor MD was refused. Each variant names the node (by MD element index) and
/// the property at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HvConfigError {
    /// The MD itself is malformed.
    Md(MdError),
    /// No node named `root`.
    NoRoot,
    /// The root node lacks the arc to this node.
    MissingArc {
        /// Element index of the node.
        node: usize,
        /// Arc name.
        arc: &'static str,
    },
    /// A node lacks a required property.
    MissingProperty {
        /// Node name.
        node: &'static str,
        /// Element index of the node.
        index: usize,
        /// Property name.
        property: &'static str,
    },
    /// A property has a value the hypervisor cannot use.
    BadValue {
        /// Element index of the node.
        index: usize,
        /// Property name.
        property: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// More domains than [`MAX_DOMAINS`].
    TooManyDomains,
    /// More vCPUs than [`MAX_VCPUS`].
    TooManyVcpus,
    /// Two `cpu` nodes name the same strand.
    StrandTwice {
        /// The strand.
        strand: u64,
    },
    /// Two domains with the same vCPU id twice, or a cpu whose guest is not listed.
    CpuGuestUnknown {
        /// Element index of the cpu node.
        index: usize,
    },
    /// Two domains' memory overlaps.
    MemoryOverlap {
        /// First domain's gid.
        a: u64,
        /// Second domain's gid.
        b: u64,
    },
    /// A domain has no vCPU, or no vCPU with its boot vCPU id.
    NoBootCpu {
        /// The domain's gid.
        gid: u64,
    },
    /// The MD has no domain.
    NoDomains,
    /// More `ldc_endpoint` nodes than [`MAX_LDC_ENDPOINTS`].
    TooManyEndpoints,
}

impl From<MdError> for HvConfigError {
    fn from(e: MdError) -> Self {
        HvConfigError::Md(e)
    }
}

impl fmt::Display for HvConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HvConfigError::Md(e) => write!(f, "{e}"),
            HvConfigError::NoRoot => write!(f, "no node named \"root\""),
            HvConfigError::MissingArc { node, arc } => {
                write!(f, "node at element {node}: missing arc \"{arc}\"")
            }
            HvConfigError::MissingProperty { node, index, property } => {
                write!(f, "{node} node at element {index}: missing property \"{property}\"")
            }
            HvConfigError::BadValue { index, property, reason } => {
                write!(f, "node at element {index}: property \"{property}\": {reason}")
            }
            HvConfigError::TooManyDomains => write!(f, "more than {MAX_DOMAINS} guests"),
            HvConfigError::TooManyVcpus => write!(f, "more than {MAX_VCPUS} cpus"),
            HvConfigError::StrandTwice { strand } => write!(f, "strand {strand} given twice"),
            HvConfigError::CpuGuestUnknown { index } => {
                write!(f, "cpu node at element {index}: its guest is not under \"guests\"")
            }
            HvConfigError::MemoryOverlap { a, b } => {
                write!(f, "memory of guests {a} and {b} overlaps")
            }
            HvConfigError::NoBootCpu { gid } => write!(f, "guest {gid} has no boot cpu"),
            HvConfigError::NoDomains => write!(f, "no guests"),
            HvConfigError::TooManyEndpoints => write!(f, "more than {MAX_LDC_ENDPOINTS} ldc_endpoints"),
        }
    }
}

fn required_val(node: &Node<'_>, name: &'static str, property: &'static str) -> Result<u64, HvConfigError> {
    node.val(property).ok_or(HvConfigError::MissingProperty { node: name, index: node.index(), property })
}

impl HvConfig {
    /// Reads and validates the hypervisor MD.
    pub fn from_md(bytes: &[u8]) -> Result<HvConfig, HvConfigError> {
        let md = MachineDescription::new(bytes)?;
        let root = md.root().ok_or(HvConfigError::NoRoot)?;
        let guests = root.arc("guests").ok_or(HvConfigError::MissingArc { node: root.index(), arc: "guests" })?;
        let cpus = root.arc("cpus").ok_or(HvConfigError::MissingArc { node: root.index(), arc: "cpus" })?;

        let mut config =
            HvConfig { domains: heapless::Vec::new(), vcpus: heapless::Vec::new(), endpoints: heapless::Vec::new() };
        let mut guest_nodes: heapless::Vec<usize, MAX_DOMAINS> = heapless::Vec::new();
        for guest in guests.arcs("guest") {
            let domain = Self::domain(&guest)?;
            config.domains.push(domain).map_err(|_| HvConfigError::TooManyDomains)?;
            guest_nodes.push(guest.index()).map_err(|_| HvConfigError::TooManyDomains)?;
        }
        if config.domains.is_empty() {
            return Err(HvConfigError::NoDomains);
        }
        for i in 0..config.domains.len() {
            let disk = config.domains[i].diskpa;
            config.domains[i].disk_shared =
                disk.is_some() && config.domains.iter().enumerate().any(|(j, d)| j != i && d.diskpa == disk);
        }
        for cpu in cpus.arcs("cpu") {
            let strand = required_val(&cpu, "cpu", "pid")?;
            let vid = required_val(&cpu, "cpu", "vid")?;
            let guest = cpu.arc("guest").ok_or(HvConfigError::MissingArc { node: cpu.index(), arc: "guest" })?;
            let domain = guest_nodes
                .iter()
                .position(|&g| g == guest.index())
                .ok_or(HvConfigError::CpuGuestUnknown { index: cpu.index() })?;
            if strand >= 64 {
                return Err(HvConfigError::BadValue {
                    index: cpu.index(),
                    property: "pid",
                    reason: "strand id above 63",
                });
            }
            if config.vcpus.iter().any(|v| v.strand == strand) {
                return Err(HvConfigError::StrandTwice { strand });
            }
            if config.vcpus.iter().any(|v| v.domain == domain && v.vid == vid) {
                return Err(HvConfigError::BadValue {
                    index: cpu.index(),
                    property: "vid",
                    reason: "vCPU id used twice in one guest",
                });
            }
            config.vcpus.push(VcpuConfig { strand, vid, domain }).map_err(|_| HvConfigError::TooManyVcpus)?;
        }
        if let Some(eps) = root.arc("ldc_endpoints") {
            config.endpoints = Self::endpoints(&eps, &guest_nodes)?;
        }
        config.validate()?;
        Ok(config)
    }

    fn domain(guest: &Node<'_>) -> Result<DomainConfig, HvConfigError> {
        let v = |p| required_val(guest, "guest", p);
        let gid = v("gid")?;
        let membase = v("membase")?;
        let memsize = v("memsize")?;
        let realbase = v("realbase")?;
        let index = guest.index();
        if memsize == 0 || membase.checked_add(memsize).is_none() || realbase.checked_add(memsize).is_none() {
            return Err(HvConfigError::BadValue { index, property: "memsize", reason: "empty or wraps around" });
        }
        if membase & 0x1fff != 0 || memsize & 0x1fff != 0 {
            return Err(HvConfigError::BadValue { index, property: "membase", reason: "not 8 KiB aligned" });
        }
        // The guest may see its memory elsewhere than it lives (RA ≠ PA): the boot then
        // needs real-address translation (`BootError::NeedsRealTranslation`).
        if realbase & 0x1fff != 0 {
            return Err(HvConfigError::BadValue { index, property: "realbase", reason: "not 8 KiB aligned" });
        }
        let romsize = v("romsize")?;
        if romsize > memsize {
            return Err(HvConfigError::BadValue {
                index,
                property: "romsize",
                reason: "image larger than the guest memory",
            });
        }
        let mut name = heapless::String::new();
        match guest.str("name") {
            Some(n) => {
                for c in n.chars().take(MAX_NAME) {
                    let _ = name.push(c);
                }
            }
            None => {
                let _ = core::fmt::write(&mut name, format_args!("guest{gid}"));
            }
        }
        let failure_policy = match guest.str("failure-policy") {
            None => FailurePolicy::default(),
            Some(name) => FailurePolicy::from_name(name).ok_or(HvConfigError::BadValue {
                index,
                property: "failure-policy",
                reason: "not stop, reset or ignore",
            })?,
        };
        let entry_offset = guest.val("entry-offset").unwrap_or(DEFAULT_ENTRY_OFFSET);
        if entry_offset & 3 != 0 || entry_offset >= memsize {
            return Err(HvConfigError::BadValue {
                index,
                property: "entry-offset",
                reason: "unaligned or outside memory",
            });
        }
        Ok(DomainConfig {
            gid,
            name,
            memory: GuestMemory { realbase: Ra::new(realbase), membase: Pa::new(membase), size: memsize },
            rombase: Pa::new(v("rombase")?),
            romsize,
            pdpa: Pa::new(v("pdpa")?),
            entry_offset,
            bootcpu: guest.val("bootcpu").unwrap_or(0),
            cpuset: guest.val("cpuset").unwrap_or(0),
            failure_policy,
            diskpa: guest.val("diskpa").map(Pa::new),
            disk_shared: false, // set by `from_md` once every domain is read
            nvram: match (guest.val("nvbase"), guest.val("nvsize")) {
                (Some(base), Some(size)) if size > 0 && base.checked_add(size).is_some() => Some((Pa::new(base), size)),
                _ => None,
            },
        })
    }

    /// The `ldc_endpoint` nodes under `ldc_endpoints`: each names its guest and channel id,
    /// its peer's guest and channel id, and its interrupt numbers. Every endpoint's peer
    /// must be one of them and name it back; channel ids and interrupt numbers are unique
    /// within a domain, interrupt numbers below [`crate::ldc::INOS`].
    fn endpoints(
        eps: &Node<'_>,
        guest_nodes: &[usize],
    ) -> Result<heapless::Vec<EndpointConfig, MAX_LDC_ENDPOINTS>, HvConfigError> {
        let mut out: heapless::Vec<EndpointConfig, MAX_LDC_ENDPOINTS> = heapless::Vec::new();
        // (endpoint, peer's domain, peer's id)
        let mut targets: heapless::Vec<(usize, u64), MAX_LDC_ENDPOINTS> = heapless::Vec::new();
        let mut nodes: heapless::Vec<usize, MAX_LDC_ENDPOINTS> = heapless::Vec::new();
        for e in eps.arcs("ldc_endpoint") {
            let v = |p| required_val(&e, "ldc_endpoint", p);
            let bad = |property, reason| HvConfigError::BadValue { index: e.index(), property, reason };
            let guest_of = |arc: &'static str| -> Result<usize, HvConfigError> {
                let g = e.arc(arc).ok_or(HvConfigError::MissingArc { node: e.index(), arc })?;
                guest_nodes.iter().position(|&n| n == g.index()).ok_or(bad(arc, "not a guest under \"guests\""))
            };
            let domain = guest_of("guest")?;
            let peer_domain = guest_of("target_guest")?;
            let (id, peer_id, tx_ino, rx_ino) = (v("channel")?, v("target_channel")?, v("tx-ino")?, v("rx-ino")?);
            if tx_ino >= crate::ldc::INOS || rx_ino >= crate::ldc::INOS || tx_ino == rx_ino {
                return Err(bad("tx-ino", "interrupt numbers must differ and be below 256"));
            }
            for o in out.iter().filter(|o| o.domain == domain) {
                if o.id == id {
                    return Err(bad("channel", "channel id used twice in one guest"));
                }
                if [o.tx_ino, o.rx_ino].iter().any(|&i| i == tx_ino || i == rx_ino) {
                    return Err(bad("tx-ino", "interrupt number used twice in one guest"));
                }
            }
            let ep = EndpointConfig { domain, id, peer: usize::MAX, tx_ino, rx_ino };
            out.push(ep).map_err(|_| HvConfigError::TooManyEndpoints)?;
            let _ = targets.push((peer_domain, peer_id));
            let _ = nodes.push(e.index());
        }
        for i in 0..out.len() {
            let (pd, pid) = targets[i];
            let peer = out.iter().position(|o| o.domain == pd && o.id == pid);
            match peer {
                Some(p) if p != i && targets[p] == (out[i].domain, out[i].id) => out[i].peer = p,
                _ => {
                    return Err(HvConfigError::BadValue {
                        index: nodes[i],
                        property: "target_channel",
                        reason: "no endpoint of the target guest names this one back",
                    })
                }
            }
        }
        Ok(out)
    }

    fn validate(&self) -> Result<(), HvConfigError> {
        for (i, a) in self.domains.iter().enumerate() {
            for b in self.domains.iter().skip(i + 1) {
                let (a0, a1) = (a.memory.membase.raw(), a.memory.membase.raw() + a.memory.size);
                let (b0, b1) = (b.memory.membase.raw(), b.memory.membase.raw() + b.memory.size);
                if a0 < b1 && b0 < a1 {
                    return Err(HvConfigError::MemoryOverlap { a: a.gid, b: b.gid });
                }
            }
            if !self.vcpus.iter().any(|v| v.domain == i && v.vid == a.bootcpu) {
                return Err(HvConfigError::NoBootCpu { gid: a.gid });
            }
        }
        Ok(())
    }

    /// The vCPU that runs on `strand`, if any.
    pub fn vcpu_on_strand(&self, strand: u64) -> Option<(usize, &VcpuConfig)> {
        self.vcpus.iter().enumerate().find(|(_, v)| v.strand == strand)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_bench::{hv_md_skeleton, HvMd};
    use crate::test_md::Value;

    #[test]
    fn reads_one_guest() {
        let c = HvConfig::from_md(&HvMd::default().build()).unwrap();
        assert_eq!(c.domains.len(), 1);
        let d = &c.domains[0];
        assert_eq!(d.name.as_str(), "primary");
        assert_eq!(d.memory.membase, Pa::new(0x8000_0000));
        assert_eq!(d.memory.size, 0x1000_0000);
        assert_eq!(d.entry_offset, 0x20);
        assert_eq!(d.failure_policy, FailurePolicy::Stop);
        assert_eq!(c.vcpu_on_strand(0).unwrap().1.domain, 0);
        assert!(c.vcpu_on_strand(1).is_none());
    }

    /// One of Sun's sample MDs, from the folder `SUN_MD_DIR` names (never shipped).
    fn sun_md(file: &str) -> std::vec::Vec<u8> {
        let dir = std::env::var("SUN_MD_DIR").expect("SUN_MD_DIR names the folder of Sun's sample MDs");
        std::fs::read(std::format!("{dir}/{file}")).unwrap_or_else(|e| panic!("{dir}/{file}: {e}"))
    }

    #[test]
    #[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
    fn reads_sun_1up_hv_md() {
        let bytes = sun_md("1up-hv.bin");
        let c = HvConfig::from_md(&bytes).unwrap();
        assert_eq!(c.domains.len(), 1);
        assert_eq!(c.domains[0].name.as_str(), "guest0");
        assert_eq!(c.domains[0].rombase, Pa::new(0xfff0080000));
        assert_eq!(c.domains[0].romsize, 0x80000);
        assert_eq!(c.domains[0].memory.size, 0x1000_0000);
        assert_eq!(c.vcpus.len(), 1);
    }

    #[test]
    #[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
    fn reads_sun_1g2p_hv_md() {
        let bytes = sun_md("1g2p-hv.bin");
        let c = HvConfig::from_md(&bytes).unwrap();
        let strands: Vec<u64> = c.vcpus.iter().map(|v| v.strand).collect();
        assert_eq!(strands, [0, 4]);
        assert_eq!(c.domains[0].cpuset, 0x11);
    }

    #[test]
    fn truncated_md_is_refused_at_every_length() {
        let md = HvMd::default().build();
        for len in 0..md.len() {
            assert!(HvConfig::from_md(&md[..len]).is_err(), "accepted a {len}-byte prefix");
        }
    }

    #[test]
    fn missing_property_is_named() {
        let (mut b, _, guest) = hv_md_skeleton();
        b.prop(guest, "gid", Value::Val(0));
        let err = HvConfig::from_md(&b.build()).unwrap_err();
        assert_eq!(err, HvConfigError::MissingProperty { node: "guest", index: 9, property: "membase" });
        assert_eq!(err.to_string(), "guest node at element 9: missing property \"membase\"");
    }

    #[test]
    fn realbase_may_differ_from_membase_but_is_8k_aligned() {
        HvConfig::from_md(&HvMd::default().build()).unwrap();
        HvConfig::from_md(&HvMd { realbase: 0, ..HvMd::default() }.build()).unwrap();
        let md = HvMd { realbase: 0x1000, ..HvMd::default() }.build();
        assert!(matches!(HvConfig::from_md(&md), Err(HvConfigError::BadValue { property: "realbase", .. })));
    }
}
