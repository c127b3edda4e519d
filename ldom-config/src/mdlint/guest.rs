//! The guest profile: what Linux, Solaris and OpenBoot read from a guest MD, and what QEMU
//! niagara needs of it, one function per rule.

use super::model::{Md, N, V};
use super::props::{missing, property_kind, recommended, required, required_props, Need, Prop, Schema};
use super::Report;
use std::collections::BTreeSet;

/// QEMU niagara's STICK and TICK rate.
const QEMU_FREQUENCY: u64 = 100_000_000;
/// The 256M bit of `mmu-page-size-list`.
const PAGE_256M: u64 = 0x20;

const ROOT: &[Prop] = &[recommended("md-generation#")];
const PLATFORM: &[Prop] = &[required("stick-frequency"), recommended("max-cpus")];
const CPU: &[Prop] = &[
    required("id"),
    required("clock-frequency"),
    recommended("mmu-#context-bits"),
    recommended("mmu-#va-bits"),
    recommended("mmu-max-#tsbs"),
    recommended("q-cpu-mondo-#bits"),
    recommended("q-dev-mondo-#bits"),
    recommended("q-resumable-#bits"),
    recommended("q-nonresumable-#bits"),
    recommended("mmu-page-size-list"),
];
const MBLOCK: &[Prop] = &[required("base"), required("size"), recommended("address-congruence-offset")];
const CFG_HANDLE: &[Prop] = &[required("cfg-handle")];
const CHANNEL_ENDPOINT: &[Prop] = &[required("id"), required("tx-ino"), required("rx-ino")];

/// The nodes each schema entry applies to: every node of that name (of `virtual-devices`,
/// the first).
fn schema<'m, 'a>(md: &'m Md<'a>, root: &'m N<'a>) -> Schema<'m, 'a> {
    let mut s: Schema = vec![(root, ROOT)];
    for (name, props) in [
        ("platform", PLATFORM),
        ("cpu", CPU),
        ("mblock", MBLOCK),
        ("channel-devices", CFG_HANDLE),
        ("channel-endpoint", CHANNEL_ENDPOINT),
    ] {
        s.extend(md.named(name).map(|n| (n, props)));
    }
    s.extend(md.named("virtual-devices").next().map(|n| (n, CFG_HANDLE)));
    s
}

/// Applies the guest profile's rules.
pub(super) fn check(r: &mut Report, md: &Md, root: &N) {
    let schema = schema(md, root);
    required_props(r, &schema);
    property_kind(r, &schema);
    guest_recommended_props(r, md, &schema);
    guest_platform_count(r, md);
    guest_stick_frequency(r, md);
    guest_cpu_none(r, md);
    guest_cpu_id_duplicate(r, md);
    guest_clock_frequency(r, md);
    guest_page_size_zero(r, md);
    guest_page_size_256m(r, md);
    guest_cpus_node(r, md);
    guest_mblock_none(r, md);
    guest_mblock_range(r, md);
    guest_memory_node(r, md);
    guest_channel_devices(r, md);
    guest_channel_id_duplicate(r, md);
    guest_vnet_port(r, md);
}

/// `guest-recommended-props`: the properties Solaris or older Linux read and Linux
/// tolerates missing are present: root's `md-generation#`, the platform's `max-cpus` and
/// string `name`, a cpu's `compatible` (string or list), `isalist`, `mmu-*` and `q-*`, an
/// mblock's `address-congruence-offset`.
fn guest_recommended_props(r: &mut Report, md: &Md, schema: &Schema) {
    const RULE: &str = "guest-recommended-props";
    for (n, p) in missing(schema, Need::Recommended) {
        r.add(RULE, Some(n.idx), format!("the {} lacks {p:?}", n.label()));
    }
    for p in md.named("platform") {
        if !matches!(p.get("name"), Some(V::Str(_))) {
            r.add(RULE, Some(p.idx), "the platform node lacks a string \"name\"");
        }
    }
    for c in md.named("cpu") {
        if !matches!(c.get("compatible"), Some(V::Str(_) | V::Data(_))) {
            r.add(RULE, Some(c.idx), format!("the {} lacks \"compatible\" (Solaris requires it)", c.label()));
        }
        if c.get("isalist").is_none() {
            r.add(RULE, Some(c.idx), format!("the {} lacks \"isalist\"", c.label()));
        }
    }
}

/// `guest-platform-count`: exactly one platform node.
fn guest_platform_count(r: &mut Report, md: &Md) {
    let k = md.named("platform").count();
    if k != 1 {
        r.add("guest-platform-count", None, format!("{k} platform nodes; exactly one is required"));
    }
}

/// `guest-stick-frequency`: the platform's `stick-frequency` is QEMU niagara's 100 MHz.
fn guest_stick_frequency(r: &mut Report, md: &Md) {
    for p in md.named("platform") {
        if let Some(f) = p.val("stick-frequency").filter(|&f| f != QEMU_FREQUENCY) {
            r.add(
                "guest-stick-frequency",
                Some(p.idx),
                format!("platform stick-frequency {f} is not 100000000 (QEMU niagara's STICK rate)"),
            );
        }
    }
}

/// `guest-cpu-none`: at least one cpu node.
fn guest_cpu_none(r: &mut Report, md: &Md) {
    if md.named("cpu").next().is_none() {
        r.add("guest-cpu-none", None, "no cpu node");
    }
}

/// `guest-cpu-id-duplicate`: every cpu has its own `id`.
fn guest_cpu_id_duplicate(r: &mut Report, md: &Md) {
    let mut ids = BTreeSet::new();
    for c in md.named("cpu") {
        if let Some(id) = c.val("id") {
            if !ids.insert(id) {
                r.add("guest-cpu-id-duplicate", Some(c.idx), format!("cpu id {id} is used twice"));
            }
        }
    }
}

/// `guest-clock-frequency`: a cpu's `clock-frequency` is QEMU niagara's 100 MHz.
fn guest_clock_frequency(r: &mut Report, md: &Md) {
    for c in md.named("cpu") {
        if let Some(f) = c.val("clock-frequency").filter(|&f| f != QEMU_FREQUENCY) {
            r.add(
                "guest-clock-frequency",
                Some(c.idx),
                format!("cpu clock-frequency {f} is not 100000000 (QEMU niagara's TICK rate)"),
            );
        }
    }
}

/// `guest-page-size-zero`: a cpu's `mmu-page-size-list`, if given, is not 0 (Solaris
/// panics).
fn guest_page_size_zero(r: &mut Report, md: &Md) {
    for c in md.named("cpu").filter(|c| c.val("mmu-page-size-list") == Some(0)) {
        r.add("guest-page-size-zero", Some(c.idx), "mmu-page-size-list is 0 (Solaris panics)");
    }
}

/// `guest-page-size-256m`: a cpu's `mmu-page-size-list` does not offer 256M pages, which
/// QEMU 7.2 mistranslates.
fn guest_page_size_256m(r: &mut Report, md: &Md) {
    for c in md.named("cpu") {
        if let Some(l) = c.val("mmu-page-size-list").filter(|l| l & PAGE_256M != 0) {
            r.add(
                "guest-page-size-256m",
                Some(c.idx),
                format!("mmu-page-size-list {l:#x} offers 256M pages, which QEMU 7.2 mistranslates"),
            );
        }
    }
}

/// `guest-cpus-node`: exactly one cpus node (Solaris requires it), with a `fwd` arc to
/// every cpu.
fn guest_cpus_node(r: &mut Report, md: &Md) {
    let cpus: Vec<&N> = md.named("cpus").collect();
    let [one] = cpus.as_slice() else {
        r.add("guest-cpus-node", None, format!("{} cpus nodes; Solaris requires exactly one", cpus.len()));
        return;
    };
    let kids: BTreeSet<usize> = one.arcs("fwd").filter(|&t| md.node(t).name == "cpu").collect();
    for c in md.named("cpu").filter(|c| !kids.contains(&c.idx)) {
        r.add("guest-cpus-node", Some(c.idx), format!("the cpus node has no fwd arc to the {}", c.label()));
    }
}

/// `guest-mblock-none`: at least one mblock node (the guest's memory).
fn guest_mblock_none(r: &mut Report, md: &Md) {
    if md.named("mblock").next().is_none() {
        r.add("guest-mblock-none", None, "no mblock node: the guest has no memory");
    }
}

/// `guest-mblock-range`: an mblock's `size` is not 0 and `base + size` does not overflow.
fn guest_mblock_range(r: &mut Report, md: &Md) {
    for m in md.named("mblock") {
        let (b, s) = (m.val("base"), m.val("size"));
        if s == Some(0) {
            r.add("guest-mblock-range", Some(m.idx), "mblock size is 0");
        }
        if let (Some(b), Some(s)) = (b, s) {
            if b.checked_add(s).is_none() {
                r.add("guest-mblock-range", Some(m.idx), "mblock base + size overflows");
            }
        }
    }
}

/// `guest-memory-node`: exactly one memory node (Solaris expects it), with a `fwd` arc to
/// every mblock.
fn guest_memory_node(r: &mut Report, md: &Md) {
    let memory: Vec<&N> = md.named("memory").collect();
    let [one] = memory.as_slice() else {
        r.add("guest-memory-node", None, format!("{} memory nodes; Solaris expects exactly one", memory.len()));
        return;
    };
    let kids: BTreeSet<usize> = one.arcs("fwd").collect();
    for m in md.named("mblock").filter(|m| !kids.contains(&m.idx)) {
        r.add("guest-memory-node", Some(m.idx), format!("the memory node has no fwd arc to the {}", m.label()));
    }
}

/// `guest-channel-devices`: a channel-devices node is compatible with
/// `SUNW,sun4v-channel-devices` (Linux vio requires it).
fn guest_channel_devices(r: &mut Report, md: &Md) {
    const COMPATIBLE: &str = "SUNW,sun4v-channel-devices";
    for n in md.named("channel-devices") {
        let ok = match n.get("compatible") {
            Some(V::Data(d)) => d.split(|&b| b == 0).any(|s| s == COMPATIBLE.as_bytes()),
            Some(V::Str(s)) => *s == COMPATIBLE,
            _ => false,
        };
        if !ok {
            r.add(
                "guest-channel-devices",
                Some(n.idx),
                "channel-devices lacks compatible \"SUNW,sun4v-channel-devices\" (Linux vio requires it)",
            );
        }
    }
}

/// `guest-channel-id-duplicate`: every channel-endpoint has its own `id`.
fn guest_channel_id_duplicate(r: &mut Report, md: &Md) {
    let mut ids = BTreeSet::new();
    for e in md.named("channel-endpoint") {
        if let Some(id) = e.val("id") {
            if !ids.insert(id) {
                r.add("guest-channel-id-duplicate", Some(e.idx), format!("channel id {id} is described twice"));
            }
        }
    }
}

/// `guest-vnet-port`: every `virtual-device-port` is what Linux reads (arch/sparc/kernel/
/// vio.c, mdesc.c, drivers/net/ethernet/sun/sunvnet.c): a value `id` and a string `name`;
/// behind a `back` arc a parent with `cfg-handle` (the vio device is
/// `<type>-<cfg-handle>-<id>`, so no two ports share both); a `fwd` arc to a
/// `channel-endpoint` (its channel and interrupts); and for a `vnet-port`, a value
/// `remote-mac-address` and, behind a `back` arc, a node named `network` with a value
/// `local-mac-address` (sunvnet's net device).
fn guest_vnet_port(r: &mut Report, md: &Md) {
    const RULE: &str = "guest-vnet-port";
    let mut seen = BTreeSet::new();
    for p in md.named("virtual-device-port") {
        let name = match p.get("name") {
            Some(V::Str(s)) => Some(*s),
            _ => None,
        };
        let id = p.val("id");
        if id.is_none() || name.is_none() {
            r.add(RULE, Some(p.idx), format!("the {} needs a value \"id\" and a string \"name\"", p.label()));
        }
        let parents: Vec<&N> = p.arcs("back").map(|t| md.node(t)).collect();
        match parents.iter().find_map(|n| n.val("cfg-handle")) {
            None => r.add(
                RULE,
                Some(p.idx),
                format!("no back arc of the {} leads to a node with \"cfg-handle\"", p.label()),
            ),
            Some(h) => {
                if let Some(id) = id {
                    if !seen.insert((h, id)) {
                        r.add(RULE, Some(p.idx), format!("a second port with cfg-handle {h:#x} and id {id}"));
                    }
                }
            }
        }
        if !p.arcs("fwd").any(|t| md.node(t).name == "channel-endpoint") {
            r.add(RULE, Some(p.idx), format!("the {} has no fwd arc to a channel-endpoint", p.label()));
        }
        if name == Some("vnet-port") {
            if p.val("remote-mac-address").is_none() {
                r.add(RULE, Some(p.idx), format!("the {} lacks a value \"remote-mac-address\"", p.label()));
            }
            let network = parents
                .iter()
                .any(|n| matches!(n.get("name"), Some(V::Str("network"))) && n.val("local-mac-address").is_some());
            if !network {
                r.add(
                    RULE,
                    Some(p.idx),
                    format!("no back arc of the {} leads to a \"network\" node with \"local-mac-address\"", p.label()),
                );
            }
        }
    }
}
