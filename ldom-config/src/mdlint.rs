//! An MD checker that parses the bytes itself: it deliberately shares no code with the
//! writer ([`crate::md`]) nor with `hv_api`'s reader, so that a bug in either cannot hide
//! behind the same bug here.
//!
//! Findings are *errors* (the MD is malformed, or a consumer would crash on it) or
//! *warnings* (legal, but something current guests, Solaris, or QEMU need is missing or
//! odd). Sun's 2006 MDs pass with warnings; ours pass with none (`--strict`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

const HDR: usize = 16;
const ELEM: usize = 16;
const VERSION: u32 = 0x0001_0000;
/// Size of the niagara MD slots.
const SLOT: usize = 0x2000;

/// Which content rules [`lint`] applies on top of the structural checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Decide from the root node: `guests` arc ⇒ hypervisor MD, else guest MD.
    Auto,
    /// A hypervisor MD (docs/hv-md-schema.md).
    Hv,
    /// A guest MD.
    Guest,
    /// Structure only.
    None,
}

/// How bad a [`Finding`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The MD is malformed, or a consumer would crash on it.
    Error,
    /// Legal, but something guests, Solaris or QEMU need is missing or odd.
    Warning,
}

/// One problem found in an MD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Element index the finding is about, if any.
    pub element: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.element {
            Some(e) => write!(f, "{s}: element {e} (byte {:#x}): {}", HDR + e * ELEM, self.message),
            None => write!(f, "{s}: {}", self.message),
        }
    }
}

/// The result of [`lint`].
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Every finding, in the order found.
    pub findings: Vec<Finding>,
    /// The profile applied (`"hv"` or `"guest"`, after `Auto` was resolved), if the
    /// structure allowed one.
    pub kind: Option<&'static str>,
    /// Number of nodes parsed (0 if the structure could not be walked).
    pub nodes: usize,
    /// Size of the MD in bytes.
    pub size: usize,
}

impl Report {
    /// The error findings.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Error)
    }
    /// The warning findings.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Warning)
    }
    /// No errors (warnings allowed).
    pub fn ok(&self) -> bool {
        self.errors().next().is_none()
    }
    /// No errors and no warnings.
    pub fn clean(&self) -> bool {
        self.findings.is_empty()
    }
    fn err(&mut self, element: Option<usize>, message: String) {
        self.findings.push(Finding { severity: Severity::Error, element, message });
    }
    fn warn(&mut self, element: Option<usize>, message: String) {
        self.findings.push(Finding { severity: Severity::Warning, element, message });
    }
}

#[derive(Clone, Debug)]
enum V<'a> {
    Val(u64),
    Str(&'a str),
    Data(&'a [u8]),
    Arc(usize),
}

#[derive(Clone, Debug)]
struct N<'a> {
    idx: usize,
    name: &'a str,
    props: Vec<(usize, &'a str, V<'a>)>,
}

impl<'a> N<'a> {
    fn get(&self, name: &str) -> Option<&V<'a>> {
        self.props.iter().find(|p| p.1 == name).map(|p| &p.2)
    }
    fn val(&self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(V::Val(v)) => Some(*v),
            _ => None,
        }
    }
    fn arcs<'s>(&'s self, name: &'s str) -> impl Iterator<Item = usize> + 's {
        self.props.iter().filter_map(move |p| match p.2 {
            V::Arc(t) if p.1 == name => Some(t),
            _ => None,
        })
    }
    fn label(&self) -> String {
        format!("{} node at element {}", self.name, self.idx)
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x)
}

/// Checks an MD binary.
pub fn lint(bytes: &[u8], profile: Profile) -> Report {
    let mut r = Report { size: bytes.len(), ..Default::default() };
    if bytes.len() < HDR {
        r.err(None, format!("{} bytes: shorter than the 16-byte header", bytes.len()));
        return r;
    }
    let ver = be32(bytes, 0);
    let (node_sz, name_sz, data_sz) = (be32(bytes, 4) as usize, be32(bytes, 8) as usize, be32(bytes, 12) as usize);
    if ver != VERSION {
        r.err(None, format!("transport version {ver:#010x}, expected 0x00010000"));
    }
    if node_sz == 0 || node_sz % ELEM != 0 {
        r.err(None, format!("node block size {node_sz:#x} is not a non-zero multiple of 16"));
        return r;
    }
    let total = HDR as u64 + node_sz as u64 + name_sz as u64 + data_sz as u64;
    if total > bytes.len() as u64 {
        r.err(None, format!("header block sizes add up to {total} bytes, the file has {}", bytes.len()));
        return r;
    }
    if total < bytes.len() as u64 {
        r.err(
            None,
            format!("{} bytes after the data block (header says {total} bytes in all)", bytes.len() as u64 - total),
        );
    }
    if bytes.len() > SLOT {
        r.warn(None, format!("{} bytes: more than the {SLOT}-byte niagara MD slot (QEMU drops the rest)", bytes.len()));
    }
    if name_sz % 16 != 0 {
        r.warn(None, format!("name block size {name_sz:#x} is not a multiple of 16 (mdgen pads it)"));
    }
    let nodes_b = &bytes[HDR..HDR + node_sz];
    let names_b = &bytes[HDR + node_sz..HDR + node_sz + name_sz];
    let data_b = &bytes[HDR + node_sz + name_sz..HDR + node_sz + name_sz + data_sz];
    let count = node_sz / ELEM;

    // Name block: consecutive NUL-terminated strings, then zero padding.
    let mut name_starts: BTreeMap<usize, &str> = BTreeMap::new();
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    {
        let mut at = 0;
        while at < names_b.len() {
            let end = match names_b[at..].iter().position(|&b| b == 0) {
                Some(p) => at + p,
                None => {
                    r.err(None, format!("name block: the string at offset {at:#x} has no NUL"));
                    break;
                }
            };
            if end == at {
                // padding: must be zeros to the end
                if names_b[at..].iter().any(|&b| b != 0) {
                    r.err(None, format!("name block: empty name at offset {at:#x} followed by more names"));
                }
                break;
            }
            let s = &names_b[at..end];
            match std::str::from_utf8(s) {
                Ok(t) => {
                    name_starts.insert(at, t);
                }
                Err(_) => r.err(None, format!("name block: the name at offset {at:#x} is not UTF-8")),
            }
            if let Some(prev) = seen.insert(s, at) {
                r.err(None, format!(
                    "name block: {:?} is stored twice (offsets {prev:#x} and {at:#x}); names must be deduplicated (Solaris compares names by offset)",
                    String::from_utf8_lossy(s)
                ));
            }
            at = end + 1;
        }
    }

    // Elements.
    let tag_of = |i: usize| nodes_b[i * ELEM];
    let mut nodes: Vec<N> = Vec::new();
    let mut cur: Option<N> = None;
    let mut list_end = None;
    let mut used_names: BTreeSet<usize> = BTreeSet::new();
    for i in 0..count {
        let e = &nodes_b[i * ELEM..(i + 1) * ELEM];
        let (tag, nlen, noff, value) = (e[0], e[1] as usize, be32(e, 4) as usize, be64(e, 8));
        if list_end.is_some() {
            r.err(Some(i), "element after LIST_END (node block size must end at LIST_END)".into());
            break;
        }
        let name = |r: &mut Report| -> Option<&str> {
            let Some(s) = name_starts.get(&noff) else {
                r.err(Some(i), format!("name offset {noff:#x} is not the start of a name in the name block"));
                return None;
            };
            if s.len() != nlen {
                r.err(Some(i), format!("name_len {nlen} but the name {s:?} has {} bytes", s.len()));
            }
            Some(s)
        };
        if e[2] != 0 || e[3] != 0 {
            r.warn(Some(i), "reserved bytes 2..4 are not zero".into());
        }
        match tag {
            0x00 | 0x45 => {
                if e[1..].iter().any(|&b| b != 0) {
                    r.warn(
                        Some(i),
                        format!("{} element has non-zero fields", if tag == 0 { "LIST_END" } else { "NODE_END" }),
                    );
                }
                if tag == 0 {
                    if let Some(n) = cur.take() {
                        r.err(Some(i), format!("LIST_END inside the {} (no NODE_END)", n.label()));
                    }
                    list_end = Some(i);
                } else {
                    match cur.take() {
                        Some(n) => nodes.push(n),
                        None => r.err(Some(i), "NODE_END outside a node".into()),
                    }
                }
            }
            0x20 => {}
            0x4e => {
                if let Some(n) = cur.take() {
                    r.err(Some(i), format!("NODE inside the {} (no NODE_END)", n.label()));
                }
                used_names.insert(noff);
                let nm = name(&mut r).unwrap_or("?");
                cur = Some(N { idx: i, name: nm, props: Vec::new() });
            }
            0x61 | 0x76 | 0x73 | 0x64 => {
                used_names.insert(noff);
                let nm = name(&mut r).unwrap_or("?");
                let v = match tag {
                    0x76 => V::Val(value),
                    0x61 => {
                        let t = value as usize;
                        if value >= count as u64 {
                            r.err(
                                Some(i),
                                format!(
                                    "arc {nm:?} to element {value}, past the end of the node block ({count} elements)"
                                ),
                            );
                            None
                        } else if tag_of(t) != 0x4e {
                            r.err(
                                Some(i),
                                format!("arc {nm:?} to element {t}, which is not a NODE (tag {:#04x})", tag_of(t)),
                            );
                            None
                        } else {
                            Some(V::Arc(t))
                        }
                    }
                    .unwrap_or(V::Val(0)),
                    _ => {
                        let (len, off) = ((value >> 32) as usize, (value & 0xffff_ffff) as usize);
                        if off + len > data_sz {
                            r.err(Some(i), format!("property {nm:?}: data {off:#x}+{len:#x} is outside the {data_sz:#x}-byte data block"));
                            V::Data(&[])
                        } else if tag == 0x73 {
                            let s = &data_b[off..off + len];
                            if len == 0 || s[len - 1] != 0 {
                                r.err(Some(i), format!("string property {nm:?} is not NUL-terminated"));
                                V::Str("")
                            } else if s[..len - 1].contains(&0) {
                                r.err(Some(i), format!("string property {nm:?} contains a NUL before its end (use a data property for string lists)"));
                                V::Str("")
                            } else {
                                match std::str::from_utf8(&s[..len - 1]) {
                                    Ok(t) => V::Str(t),
                                    Err(_) => {
                                        r.err(Some(i), format!("string property {nm:?} is not UTF-8"));
                                        V::Str("")
                                    }
                                }
                            }
                        } else {
                            V::Data(&data_b[off..off + len])
                        }
                    }
                };
                match cur.as_mut() {
                    Some(n) => n.props.push((i, nm, v)),
                    None => r.err(Some(i), format!("property {nm:?} outside a node")),
                }
            }
            t => r.err(Some(i), format!("unknown tag {t:#04x}")),
        }
    }
    if let Some(n) = cur.take() {
        r.err(None, format!("the {} has no NODE_END", n.label()));
    }
    let Some(list_end) = list_end else {
        r.err(None, "no LIST_END element".into());
        return r;
    };
    for (&off, s) in &name_starts {
        if !used_names.contains(&off) {
            r.warn(None, format!("name {s:?} (offset {off:#x}) is not used by any element"));
        }
    }
    // Node chain.
    for (k, n) in nodes.iter().enumerate() {
        let next = be64(nodes_b, n.idx * ELEM + 8);
        let want = nodes.get(k + 1).map(|m| m.idx).unwrap_or(list_end) as u64;
        if next != want {
            r.err(Some(n.idx), format!("the {}'s next-node index is {next}, expected {want}", n.label()));
        }
    }
    r.nodes = nodes.len();
    if !r.ok() {
        return r;
    }

    let by_idx: HashMap<usize, usize> = nodes.iter().enumerate().map(|(k, n)| (n.idx, k)).collect();
    let roots: Vec<&N> = nodes.iter().filter(|n| n.name == "root").collect();
    match roots.len() {
        1 => {}
        0 => {
            r.err(None, "no node named \"root\"".into());
            return r;
        }
        k => {
            r.err(Some(roots[1].idx), format!("{k} nodes named \"root\"; exactly one is allowed"));
            return r;
        }
    }
    let root = roots[0];

    // Reachability from root along every arc that is not "back".
    let mut reach = vec![false; nodes.len()];
    let mut stack = vec![by_idx[&root.idx]];
    while let Some(k) = stack.pop() {
        if reach[k] {
            continue;
        }
        reach[k] = true;
        for p in &nodes[k].props {
            if let V::Arc(t) = p.2 {
                if p.1 != "back" {
                    stack.push(by_idx[&t]);
                }
            }
        }
    }
    for (k, n) in nodes.iter().enumerate() {
        if !reach[k] {
            r.warn(
                Some(n.idx),
                format!("the {} is not reachable from root (Solaris finds nodes by walking arcs from root)", n.label()),
            );
        }
    }
    // back arcs mirror fwd arcs.
    for n in &nodes {
        for t in n.arcs("back") {
            let parent = &nodes[by_idx[&t]];
            if !parent.arcs("fwd").any(|c| c == n.idx) {
                r.warn(
                    Some(n.idx),
                    format!("the {} has a back arc to the {}, which has no fwd arc to it", n.label(), parent.label()),
                );
            }
        }
        for t in n.arcs("fwd") {
            let child = &nodes[by_idx[&t]];
            if child.arcs("back").next().is_some() && !child.arcs("back").any(|p| p == n.idx) {
                r.warn(
                    Some(n.idx),
                    format!(
                        "the {} has a fwd arc to the {}, whose back arcs do not lead back",
                        n.label(),
                        child.label()
                    ),
                );
            }
        }
    }

    let kind = match profile {
        Profile::None => return r,
        Profile::Hv => "hv",
        Profile::Guest => "guest",
        Profile::Auto => {
            if root.arcs("guests").next().is_some() {
                "hv"
            } else {
                "guest"
            }
        }
    };
    r.kind = Some(kind);
    let ctx = Ctx { nodes: &nodes, by_idx: &by_idx };
    if kind == "hv" {
        check_hv(&mut r, &ctx, root);
    } else {
        check_guest(&mut r, &ctx, root);
    }
    r
}

struct Ctx<'c, 'a> {
    nodes: &'c [N<'a>],
    by_idx: &'c HashMap<usize, usize>,
}

impl<'c, 'a> Ctx<'c, 'a> {
    fn node(&self, idx: usize) -> &'c N<'a> {
        &self.nodes[self.by_idx[&idx]]
    }
    fn named(&self, name: &'c str) -> impl Iterator<Item = &'c N<'a>> + 'c {
        self.nodes.iter().filter(move |n| n.name == name)
    }
}

fn want_val(r: &mut Report, n: &N, prop: &str, sev: Severity) -> Option<u64> {
    match n.get(prop) {
        Some(V::Val(v)) => Some(*v),
        Some(_) => {
            r.err(Some(n.idx), format!("the {}'s {prop:?} must be a value property", n.label()));
            None
        }
        None => {
            let m = format!("the {} lacks {prop:?}", n.label());
            match sev {
                Severity::Error => r.err(Some(n.idx), m),
                Severity::Warning => r.warn(Some(n.idx), m),
            }
            None
        }
    }
}

/// Exactly one arc `name` from `n` to a node named `target`.
fn want_arc<'c, 'a>(r: &mut Report, ctx: &Ctx<'c, 'a>, n: &N, name: &str, target: &str) -> Option<&'c N<'a>> {
    let arcs: Vec<usize> = n.arcs(name).collect();
    if arcs.len() != 1 {
        r.err(Some(n.idx), format!("the {} must have exactly one {name:?} arc, it has {}", n.label(), arcs.len()));
        return None;
    }
    let t = ctx.node(arcs[0]);
    if t.name != target {
        r.err(Some(n.idx), format!("the {}'s {name:?} arc leads to a {} node, expected {target}", n.label(), t.name));
        return None;
    }
    Some(t)
}

fn check_hv(r: &mut Report, ctx: &Ctx, root: &N) {
    use Severity::Error as E;
    let cpus = want_arc(r, ctx, root, "cpus", "cpus");
    let guests = want_arc(r, ctx, root, "guests", "guests");
    want_val(r, root, "hvuart", E);
    want_val(r, root, "tod", E);
    let mut gid_of: HashMap<usize, u64> = HashMap::new();
    let mut cpus_of: HashMap<usize, Vec<(u64, u64)>> = HashMap::new();
    if let Some(g) = guests {
        let mut gids = BTreeSet::new();
        for t in g.arcs("guest") {
            let gn = ctx.node(t);
            if gn.name != "guest" {
                r.err(Some(g.idx), format!("a \"guest\" arc of the guests node leads to a {} node", gn.name));
                continue;
            }
            for p in [
                "gid",
                "pid",
                "xid",
                "cpuset",
                "membase",
                "memsize",
                "realbase",
                "uartbase",
                "nvbase",
                "nvsize",
                "rombase",
                "romsize",
                "diskpa",
                "pdpa",
                "bootcpu",
                "perfctraccess",
            ] {
                want_val(r, gn, p, E);
            }
            if let Some(gid) = gn.val("gid") {
                if !gids.insert(gid) {
                    r.err(Some(gn.idx), format!("gid {gid} is used by two guests"));
                }
                gid_of.insert(gn.idx, gid);
            }
            if let (Some(m), Some(rb)) = (gn.val("membase"), gn.val("realbase")) {
                if m != rb {
                    r.warn(
                        Some(gn.idx),
                        format!(
                            "the {}: realbase {rb:#x} differs from membase {m:#x} (QEMU niagara needs RA = PA)",
                            gn.label()
                        ),
                    );
                }
            }
            match gn.get("name") {
                None | Some(V::Str(_)) => {}
                Some(_) => r.err(Some(gn.idx), format!("the {}'s \"name\" must be a string", gn.label())),
            }
            match gn.get("failure-policy") {
                None | Some(V::Str("stop" | "reset" | "ignore")) => {}
                Some(V::Str(s)) => r.err(
                    Some(gn.idx),
                    format!("the {}'s failure-policy {s:?} is not stop, reset or ignore", gn.label()),
                ),
                Some(_) => r.err(Some(gn.idx), format!("the {}'s \"failure-policy\" must be a string", gn.label())),
            }
            if let Some(V::Arc(_) | V::Str(_) | V::Data(_)) = gn.get("entry-offset") {
                r.err(Some(gn.idx), format!("the {}'s \"entry-offset\" must be a value", gn.label()));
            }
            cpus_of.entry(gn.idx).or_default();
        }
        if gids.is_empty() {
            r.err(Some(g.idx), "the guests node has no guest".into());
        }
    }
    if let Some(c) = cpus {
        let mut pids = BTreeSet::new();
        for t in c.arcs("cpu") {
            let cn = ctx.node(t);
            if cn.name != "cpu" {
                r.err(Some(c.idx), format!("a \"cpu\" arc of the cpus node leads to a {} node", cn.name));
                continue;
            }
            let pid = want_val(r, cn, "pid", E);
            let vid = want_val(r, cn, "vid", E);
            if let Some(p) = pid {
                if p >= 64 {
                    r.err(Some(cn.idx), format!("pid {p} does not fit a 64-bit cpuset"));
                } else if !pids.insert(p) {
                    r.err(Some(cn.idx), format!("strand (pid) {p} is given twice"));
                }
            }
            if let Some(g) = want_arc(r, ctx, cn, "guest", "guest") {
                if let (Some(p), Some(v)) = (pid, vid) {
                    if p < 64 {
                        cpus_of.entry(g.idx).or_default().push((p, v));
                    }
                }
            }
        }
    }
    for (gidx, cs) in &cpus_of {
        let gn = ctx.node(*gidx);
        let set = cs.iter().fold(0u64, |m, (p, _)| m | (1 << p));
        if let Some(cpuset) = gn.val("cpuset") {
            if cpuset != set {
                r.err(
                    Some(gn.idx),
                    format!(
                        "the {}'s cpuset {cpuset:#x} does not match the pids of its cpu nodes ({set:#x})",
                        gn.label()
                    ),
                );
            }
        }
        let mut vids = BTreeSet::new();
        for (_, v) in cs {
            if !vids.insert(*v) {
                r.err(Some(gn.idx), format!("the {} has two vCPUs with vid {v}", gn.label()));
            }
        }
        if let Some(b) = gn.val("bootcpu") {
            if !cs.is_empty() && !vids.contains(&b) {
                r.err(Some(gn.idx), format!("the {}'s bootcpu {b} is not one of its vids", gn.label()));
            }
        }
    }
    if let Some(eps) = root.arcs("ldc_endpoints").next().map(|t| ctx.node(t)) {
        let mut seen = BTreeSet::new();
        for t in eps.arcs("ldc_endpoint") {
            let e = ctx.node(t);
            for p in ["channel", "target_channel", "tx-ino", "rx-ino"] {
                want_val(r, e, p, E);
            }
            let g = want_arc(r, ctx, e, "guest", "guest");
            let tg = want_arc(r, ctx, e, "target_guest", "guest");
            if let (Some(g), Some(tg), Some(ch), Some(tch)) = (g, tg, e.val("channel"), e.val("target_channel")) {
                if !seen.insert((g.idx, ch)) {
                    r.err(Some(e.idx), format!("channel {ch} of the {} is described twice", g.label()));
                }
                let peer = ctx.named("ldc_endpoint").any(|o| {
                    o.val("channel") == Some(tch)
                        && o.arcs("guest").next() == Some(tg.idx)
                        && o.arcs("target_guest").next() == Some(g.idx)
                        && o.val("target_channel") == Some(ch)
                });
                if !peer {
                    r.err(Some(e.idx), format!("the {} (channel {ch}) has no matching peer endpoint", e.label()));
                }
            }
        }
    }
}

fn check_guest(r: &mut Report, ctx: &Ctx, root: &N) {
    use Severity::{Error as E, Warning as W};
    want_val(r, root, "md-generation#", W);
    let platforms: Vec<&N> = ctx.named("platform").collect();
    if platforms.len() != 1 {
        r.err(None, format!("{} platform nodes; exactly one is required", platforms.len()));
    }
    for p in &platforms {
        if let Some(f) = want_val(r, p, "stick-frequency", E) {
            if f != 100_000_000 {
                r.warn(
                    Some(p.idx),
                    format!("platform stick-frequency {f} is not 100000000 (QEMU niagara's STICK rate)"),
                );
            }
        }
        want_val(r, p, "max-cpus", W);
        match p.get("name") {
            Some(V::Str(_)) => {}
            _ => r.warn(Some(p.idx), "the platform node lacks a string \"name\"".into()),
        }
    }
    let cpu_nodes: Vec<&N> = ctx.named("cpu").collect();
    if cpu_nodes.is_empty() {
        r.err(None, "no cpu node".into());
    }
    let mut ids = BTreeSet::new();
    for c in &cpu_nodes {
        if let Some(id) = want_val(r, c, "id", E) {
            if !ids.insert(id) {
                r.err(Some(c.idx), format!("cpu id {id} is used twice"));
            }
        }
        if let Some(f) = want_val(r, c, "clock-frequency", E) {
            if f != 100_000_000 {
                r.warn(Some(c.idx), format!("cpu clock-frequency {f} is not 100000000 (QEMU niagara's TICK rate)"));
            }
        }
        match c.get("compatible") {
            Some(V::Str(_) | V::Data(_)) => {}
            _ => r.warn(Some(c.idx), format!("the {} lacks \"compatible\" (Solaris requires it)", c.label())),
        }
        if c.get("isalist").is_none() {
            r.warn(Some(c.idx), format!("the {} lacks \"isalist\"", c.label()));
        }
        for p in [
            "mmu-#context-bits",
            "mmu-#va-bits",
            "mmu-max-#tsbs",
            "q-cpu-mondo-#bits",
            "q-dev-mondo-#bits",
            "q-resumable-#bits",
            "q-nonresumable-#bits",
        ] {
            want_val(r, c, p, W);
        }
        match want_val(r, c, "mmu-page-size-list", W) {
            Some(0) => r.err(Some(c.idx), "mmu-page-size-list is 0 (Solaris panics)".into()),
            Some(l) if l & 0x20 != 0 => r.warn(
                Some(c.idx),
                format!("mmu-page-size-list {l:#x} offers 256M pages, which QEMU 7.2 mistranslates"),
            ),
            _ => {}
        }
    }
    let cpus: Vec<&N> = ctx.named("cpus").collect();
    match cpus.as_slice() {
        [one] => {
            let kids: BTreeSet<usize> = one.arcs("fwd").filter(|&t| ctx.node(t).name == "cpu").collect();
            for c in &cpu_nodes {
                if !kids.contains(&c.idx) {
                    r.warn(Some(c.idx), format!("the cpus node has no fwd arc to the {}", c.label()));
                }
            }
        }
        v => r.warn(None, format!("{} cpus nodes; Solaris requires exactly one", v.len())),
    }
    let mblocks: Vec<&N> = ctx.named("mblock").collect();
    if mblocks.is_empty() {
        r.err(None, "no mblock node: the guest has no memory".into());
    }
    for m in &mblocks {
        let b = want_val(r, m, "base", E);
        let s = want_val(r, m, "size", E);
        want_val(r, m, "address-congruence-offset", W);
        if s == Some(0) {
            r.err(Some(m.idx), "mblock size is 0".into());
        }
        if let (Some(b), Some(s)) = (b, s) {
            if b.checked_add(s).is_none() {
                r.err(Some(m.idx), "mblock base + size overflows".into());
            }
        }
    }
    let memory: Vec<&N> = ctx.named("memory").collect();
    match memory.as_slice() {
        [one] => {
            let kids: BTreeSet<usize> = one.arcs("fwd").collect();
            for m in &mblocks {
                if !kids.contains(&m.idx) {
                    r.warn(Some(m.idx), format!("the memory node has no fwd arc to the {}", m.label()));
                }
            }
        }
        v => r.warn(None, format!("{} memory nodes; Solaris expects exactly one", v.len())),
    }
    for n in ctx.named("channel-devices") {
        want_val(r, n, "cfg-handle", E);
        let ok = match n.get("compatible") {
            Some(V::Data(d)) => d.split(|&b| b == 0).any(|s| s == b"SUNW,sun4v-channel-devices"),
            Some(V::Str(s)) => *s == "SUNW,sun4v-channel-devices",
            _ => false,
        };
        if !ok {
            r.err(
                Some(n.idx),
                "channel-devices lacks compatible \"SUNW,sun4v-channel-devices\" (Linux vio requires it)".into(),
            );
        }
    }
    let mut chan = BTreeSet::new();
    for e in ctx.named("channel-endpoint") {
        if let Some(id) = want_val(r, e, "id", E) {
            if !chan.insert(id) {
                r.err(Some(e.idx), format!("channel id {id} is described twice"));
            }
        }
        want_val(r, e, "tx-ino", E);
        want_val(r, e, "rx-ino", E);
    }
    if let Some(v) = ctx.named("virtual-devices").next() {
        want_val(r, v, "cfg-handle", E);
    }
}
