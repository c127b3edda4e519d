//! The hypervisor profile (docs/hv-md-schema.md): the nodes the hypervisor reads, found
//! along the arcs it follows, and one function per rule on them.

use super::model::{Md, N, V};
use super::props::{optional, property_kind, required, required_props, Kind, Prop, Schema};
use super::Report;
use std::collections::{BTreeMap, BTreeSet};

/// The smallest real page: a guest's `realbase` is a multiple of it.
const REAL_PAGE: u64 = 0x2000;
/// The properties the hypervisor reads from a guest node.
const GUEST: &[Prop] = &[
    required("gid"),
    required("pid"),
    required("xid"),
    required("cpuset"),
    required("membase"),
    required("memsize"),
    required("realbase"),
    required("uartbase"),
    required("nvbase"),
    required("nvsize"),
    required("rombase"),
    required("romsize"),
    required("diskpa"),
    required("pdpa"),
    required("bootcpu"),
    required("perfctraccess"),
    optional("name", Kind::Str),
    optional("failure-policy", Kind::Str),
    optional("entry-offset", Kind::Val),
];
/// … from the root.
const ROOT: &[Prop] = &[required("hvuart"), required("tod")];
/// … from a cpu node.
const CPU: &[Prop] = &[required("pid"), required("vid")];
/// … from an ldc_endpoint node.
const LDC_ENDPOINT: &[Prop] =
    &[required("channel"), required("target_channel"), required("tx-ino"), required("rx-ino")];

/// The nodes of a hypervisor MD, as the hypervisor finds them.
struct Hv<'m, 'a> {
    md: &'m Md<'a>,
    root: &'m N<'a>,
    /// The node of root's only `guests` arc, if it is a guests node.
    guests_node: Option<&'m N<'a>>,
    /// The guest nodes its `guest` arcs lead to.
    guests: Vec<&'m N<'a>>,
    /// The node of root's only `cpus` arc, if it is a cpus node.
    cpus_node: Option<&'m N<'a>>,
    /// The cpu nodes its `cpu` arcs lead to.
    cpus: Vec<&'m N<'a>>,
    /// The nodes the `ldc_endpoint` arcs of root's first `ldc_endpoints` arc lead to.
    endpoints: Vec<&'m N<'a>>,
}

impl<'m, 'a> Hv<'m, 'a> {
    fn new(md: &'m Md<'a>, root: &'m N<'a>) -> Self {
        let guests_node = md.one_arc(root, "guests", "guests").ok();
        let cpus_node = md.one_arc(root, "cpus", "cpus").ok();
        let follow = |n: Option<&'m N<'a>>, arc: &'static str, name: &'static str| -> Vec<&'m N<'a>> {
            n.map(|n| n.arcs(arc).map(|t| md.node(t)).filter(|t| t.name == name).collect()).unwrap_or_default()
        };
        let eps = root.arcs("ldc_endpoints").next().map(|t| md.node(t));
        Hv {
            md,
            root,
            guests: follow(guests_node, "guest", "guest"),
            guests_node,
            cpus: follow(cpus_node, "cpu", "cpu"),
            cpus_node,
            endpoints: eps.map(|e| e.arcs("ldc_endpoint").map(|t| md.node(t)).collect()).unwrap_or_default(),
        }
    }

    fn schema(&self) -> Schema<'m, 'a> {
        let mut s: Schema = vec![(self.root, ROOT)];
        s.extend(self.guests.iter().map(|g| (*g, GUEST)));
        s.extend(self.cpus.iter().map(|c| (*c, CPU)));
        s.extend(self.endpoints.iter().map(|e| (*e, LDC_ENDPOINT)));
        s
    }

    /// The (pid, vid) of the cpus of each guest: the guests of the guests node and those
    /// a cpu's guest arc leads to; cpus without a valid pid, vid or guest arc left out.
    fn vcpus(&self) -> BTreeMap<usize, Vec<(u64, u64)>> {
        let mut of: BTreeMap<usize, Vec<(u64, u64)>> = self.guests.iter().map(|g| (g.idx, Vec::new())).collect();
        for c in &self.cpus {
            if let Ok(g) = self.md.one_arc(c, "guest", "guest") {
                if let (Some(p), Some(v)) = (c.val("pid"), c.val("vid")) {
                    if p < 64 {
                        of.entry(g.idx).or_default().push((p, v));
                    }
                }
            }
        }
        of
    }
}

/// Applies the hypervisor profile's rules.
pub(super) fn check(r: &mut Report, md: &Md, root: &N) {
    let hv = Hv::new(md, root);
    hv_root(r, &hv);
    let schema = hv.schema();
    required_props(r, &schema);
    property_kind(r, &schema);
    hv_guest_arc(r, &hv);
    hv_guest_none(r, &hv);
    hv_gid_duplicate(r, &hv);
    hv_guest_realbase(r, &hv);
    hv_failure_policy(r, &hv);
    hv_cpu_arc(r, &hv);
    hv_cpu_guest(r, &hv);
    hv_pid_range(r, &hv);
    hv_pid_duplicate(r, &hv);
    let vcpus = hv.vcpus();
    hv_cpuset(r, &hv, &vcpus);
    hv_vid_duplicate(r, &hv, &vcpus);
    hv_bootcpu(r, &hv, &vcpus);
    hv_ldc_arcs(r, &hv);
    hv_ldc_duplicate(r, &hv);
    hv_ldc_peer(r, &hv);
}

/// `hv-root`: root has exactly one `cpus` arc, to the cpus node, and one `guests` arc, to
/// the guests node.
fn hv_root(r: &mut Report, hv: &Hv) {
    for (arc, target) in [("cpus", "cpus"), ("guests", "guests")] {
        if let Err(m) = hv.md.one_arc(hv.root, arc, target) {
            r.add("hv-root", Some(hv.root.idx), m);
        }
    }
}

/// `hv-guest-arc`: every `guest` arc of the guests node leads to a guest node.
fn hv_guest_arc(r: &mut Report, hv: &Hv) {
    let Some(g) = hv.guests_node else { return };
    for t in g.arcs("guest").map(|t| hv.md.node(t)).filter(|t| t.name != "guest") {
        r.add("hv-guest-arc", Some(g.idx), format!("a \"guest\" arc of the guests node leads to a {} node", t.name));
    }
}

/// `hv-guest-none`: the guests node has at least one guest (with a `gid`).
fn hv_guest_none(r: &mut Report, hv: &Hv) {
    if let Some(g) = hv.guests_node {
        if !hv.guests.iter().any(|g| g.val("gid").is_some()) {
            r.add("hv-guest-none", Some(g.idx), "the guests node has no guest");
        }
    }
}

/// `hv-gid-duplicate`: every guest has its own `gid`.
fn hv_gid_duplicate(r: &mut Report, hv: &Hv) {
    let mut gids = BTreeSet::new();
    for g in &hv.guests {
        if let Some(gid) = g.val("gid") {
            if !gids.insert(gid) {
                r.add("hv-gid-duplicate", Some(g.idx), format!("gid {gid} is used by two guests"));
            }
        }
    }
}

/// `hv-guest-realbase`: a guest's `realbase` is 8 KiB aligned (the smallest real page) and
/// `realbase + memsize` does not wrap: the hypervisor refuses the MD otherwise. (`realbase`
/// may differ from `membase`: the hypervisor translates RA→PA.)
fn hv_guest_realbase(r: &mut Report, hv: &Hv) {
    for g in &hv.guests {
        let Some(rb) = g.val("realbase") else { continue };
        if rb % REAL_PAGE != 0 {
            r.add(
                "hv-guest-realbase",
                Some(g.idx),
                format!("the {}: realbase {rb:#x} is not 8 KiB aligned", g.label()),
            );
        } else if let Some(size) = g.val("memsize") {
            if rb.checked_add(size).is_none() {
                r.add(
                    "hv-guest-realbase",
                    Some(g.idx),
                    format!("the {}: realbase {rb:#x} + memsize {size:#x} wraps", g.label()),
                );
            }
        }
    }
}

/// `hv-failure-policy`: a guest's `failure-policy`, if given, is `stop`, `reset` or
/// `ignore`.
fn hv_failure_policy(r: &mut Report, hv: &Hv) {
    for g in &hv.guests {
        if let Some(V::Str(s)) = g.get("failure-policy") {
            if !matches!(*s, "stop" | "reset" | "ignore") {
                r.add(
                    "hv-failure-policy",
                    Some(g.idx),
                    format!("the {}'s failure-policy {s:?} is not stop, reset or ignore", g.label()),
                );
            }
        }
    }
}

/// `hv-cpu-arc`: every `cpu` arc of the cpus node leads to a cpu node.
fn hv_cpu_arc(r: &mut Report, hv: &Hv) {
    let Some(c) = hv.cpus_node else { return };
    for t in c.arcs("cpu").map(|t| hv.md.node(t)).filter(|t| t.name != "cpu") {
        r.add("hv-cpu-arc", Some(c.idx), format!("a \"cpu\" arc of the cpus node leads to a {} node", t.name));
    }
}

/// `hv-cpu-guest`: every cpu has exactly one `guest` arc, to a guest node.
fn hv_cpu_guest(r: &mut Report, hv: &Hv) {
    for c in &hv.cpus {
        if let Err(m) = hv.md.one_arc(c, "guest", "guest") {
            r.add("hv-cpu-guest", Some(c.idx), m);
        }
    }
}

/// `hv-pid-range`: a cpu's `pid` (its strand) is below 64, so that it fits a cpuset.
fn hv_pid_range(r: &mut Report, hv: &Hv) {
    for c in &hv.cpus {
        if let Some(p) = c.val("pid").filter(|&p| p >= 64) {
            r.add("hv-pid-range", Some(c.idx), format!("pid {p} does not fit a 64-bit cpuset"));
        }
    }
}

/// `hv-pid-duplicate`: no strand (`pid` below 64) is given to two cpus.
fn hv_pid_duplicate(r: &mut Report, hv: &Hv) {
    let mut pids = BTreeSet::new();
    for c in &hv.cpus {
        if let Some(p) = c.val("pid").filter(|&p| p < 64) {
            if !pids.insert(p) {
                r.add("hv-pid-duplicate", Some(c.idx), format!("strand (pid) {p} is given twice"));
            }
        }
    }
}

/// `hv-cpuset`: a guest's `cpuset` is the set of the `pid`s of its cpus.
fn hv_cpuset(r: &mut Report, hv: &Hv, vcpus: &BTreeMap<usize, Vec<(u64, u64)>>) {
    for (&g, cs) in vcpus {
        let g = hv.md.node(g);
        let set = cs.iter().fold(0u64, |m, (p, _)| m | (1 << p));
        if let Some(cpuset) = g.val("cpuset").filter(|&c| c != set) {
            r.add(
                "hv-cpuset",
                Some(g.idx),
                format!("the {}'s cpuset {cpuset:#x} does not match the pids of its cpu nodes ({set:#x})", g.label()),
            );
        }
    }
}

/// `hv-vid-duplicate`: the cpus of a guest have different `vid`s.
fn hv_vid_duplicate(r: &mut Report, hv: &Hv, vcpus: &BTreeMap<usize, Vec<(u64, u64)>>) {
    for (&g, cs) in vcpus {
        let g = hv.md.node(g);
        let mut vids = BTreeSet::new();
        for (_, v) in cs {
            if !vids.insert(*v) {
                r.add("hv-vid-duplicate", Some(g.idx), format!("the {} has two vCPUs with vid {v}", g.label()));
            }
        }
    }
}

/// `hv-bootcpu`: a guest with cpus boots on one of them (`bootcpu` is one of their `vid`s).
fn hv_bootcpu(r: &mut Report, hv: &Hv, vcpus: &BTreeMap<usize, Vec<(u64, u64)>>) {
    for (&g, cs) in vcpus {
        let g = hv.md.node(g);
        if let Some(b) = g.val("bootcpu") {
            if !cs.is_empty() && !cs.iter().any(|&(_, v)| v == b) {
                r.add("hv-bootcpu", Some(g.idx), format!("the {}'s bootcpu {b} is not one of its vids", g.label()));
            }
        }
    }
}

/// `hv-ldc-arcs`: an ldc_endpoint has exactly one `guest` and one `target_guest` arc, each
/// to a guest node.
fn hv_ldc_arcs(r: &mut Report, hv: &Hv) {
    for e in &hv.endpoints {
        for arc in ["guest", "target_guest"] {
            if let Err(m) = hv.md.one_arc(e, arc, "guest") {
                r.add("hv-ldc-arcs", Some(e.idx), m);
            }
        }
    }
}

/// An endpoint's (guest, target guest, channel, target channel), when all are valid.
fn ends<'m, 'a>(hv: &Hv<'m, 'a>, e: &N) -> Option<(&'m N<'a>, &'m N<'a>, u64, u64)> {
    let g = hv.md.one_arc(e, "guest", "guest").ok()?;
    let tg = hv.md.one_arc(e, "target_guest", "guest").ok()?;
    Some((g, tg, e.val("channel")?, e.val("target_channel")?))
}

/// `hv-ldc-duplicate`: a guest's channel is described by one ldc_endpoint.
fn hv_ldc_duplicate(r: &mut Report, hv: &Hv) {
    let mut seen = BTreeSet::new();
    for e in &hv.endpoints {
        if let Some((g, _, ch, _)) = ends(hv, e) {
            if !seen.insert((g.idx, ch)) {
                r.add("hv-ldc-duplicate", Some(e.idx), format!("channel {ch} of the {} is described twice", g.label()));
            }
        }
    }
}

/// `hv-ldc-peer`: an ldc_endpoint has a peer: an ldc_endpoint node from its target guest
/// and channel back to its guest and channel.
fn hv_ldc_peer(r: &mut Report, hv: &Hv) {
    for e in &hv.endpoints {
        if let Some((g, tg, ch, tch)) = ends(hv, e) {
            let peer = hv.md.named("ldc_endpoint").any(|o| {
                o.val("channel") == Some(tch)
                    && o.arcs("guest").next() == Some(tg.idx)
                    && o.arcs("target_guest").next() == Some(g.idx)
                    && o.val("target_channel") == Some(ch)
            });
            if !peer {
                r.add(
                    "hv-ldc-peer",
                    Some(e.idx),
                    format!("the {} (channel {ch}) has no matching peer endpoint", e.label()),
                );
            }
        }
    }
}
