//! An MD checker that parses the bytes itself: it deliberately shares no code with the
//! writer ([`crate::md`]) nor with `hv_api`'s reader, so that a bug in either cannot hide
//! behind the same bug here.
//!
//! Findings are *errors* (the MD is malformed, or a consumer would crash on it) or
//! *warnings* (legal, but something current guests, Solaris, or QEMU need is missing or
//! odd). Sun's 2006 MDs pass with warnings; ours pass with none (`--strict`).
//!
//! Every finding belongs to one rule of [`RULES`], and every rule is one function with the
//! rule's id in its doc comment: `mdlint/transport.rs` checks the bytes (header, name block,
//! elements) and parses them into a small model (`mdlint/model.rs`); `mdlint/graph.rs`
//! checks the arcs of that model; `mdlint/hv.rs` and `mdlint/guest.rs` apply a profile's
//! content rules, with the two rules both share in `mdlint/props.rs`. A phase runs only if
//! the one before it found no error (a model with errors cannot be walked safely).

mod graph;
mod guest;
mod hv;
mod model;
mod props;
mod transport;

use std::fmt;

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

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One rule of the checker: its id, the severity of its findings and what it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Kebab-case id, shown in every finding (`error[arc-target]: …`).
    pub id: &'static str,
    /// Severity of every finding of this rule.
    pub severity: Severity,
    /// What breaks the rule, in one line (docs/ldom-config.md lists the same).
    pub description: &'static str,
}

const fn error(id: &'static str, description: &'static str) -> Rule {
    Rule { id, severity: Severity::Error, description }
}

const fn warning(id: &'static str, description: &'static str) -> Rule {
    Rule { id, severity: Severity::Warning, description }
}

/// Every rule, in the order the checker applies them.
pub const RULES: &[Rule] = &[
    // transport: header
    error("header-short", "the file is shorter than the 16-byte header"),
    error("header-version", "the transport version is not 0x00010000"),
    error("header-node-block", "the node block size is 0 or not a multiple of 16"),
    error("header-sizes", "the header's block sizes add up to more than the file"),
    error("trailing-bytes", "bytes follow the data block"),
    warning("md-too-large", "the MD is larger than the 8 KiB niagara MD slot (QEMU drops the rest)"),
    warning("name-block-size", "the name block size is not a multiple of 16 (mdgen pads it)"),
    // transport: name block
    error("name-block-unterminated", "a string of the name block has no NUL"),
    error("name-block-gap", "an empty name (padding) is followed by more names"),
    error("name-block-utf8", "a name is not UTF-8"),
    error("name-block-duplicate", "a name is stored twice (Solaris compares names by offset)"),
    // transport: elements
    error("element-after-list-end", "an element follows LIST_END"),
    warning("reserved-bytes", "an element's reserved bytes 2..4 are not zero"),
    warning("end-fields", "a LIST_END or NODE_END element has non-zero fields"),
    error("unknown-tag", "an element's tag is not one of LIST_END, NOOP, NODE, NODE_END, arc, value, string, data"),
    error("name-offset", "an element's name offset is not the start of a name"),
    error("name-len", "an element's name_len differs from the length of its name"),
    error("arc-target", "an arc leads past the node block or to an element that is not a NODE"),
    error("data-range", "a string or data property lies outside the data block"),
    error("string-unterminated", "a string property is not NUL-terminated"),
    error("string-inner-nul", "a string property contains a NUL before its end"),
    error("string-utf8", "a string property is not UTF-8"),
    error("node-unterminated", "a node has no NODE_END (NODE or LIST_END inside it, or the end of the list)"),
    error("node-end-outside", "a NODE_END outside a node"),
    error("property-outside-node", "a property outside a node"),
    error("no-list-end", "the node block has no LIST_END"),
    warning("name-unused", "a name of the name block is used by no element"),
    error("node-chain", "a NODE's next-node index is not the next NODE (or LIST_END after the last)"),
    // graph
    error("root-count", "not exactly one node named root"),
    warning("node-unreachable", "a node cannot be reached from root along arcs other than back"),
    warning("back-without-fwd", "a back arc leads to a node with no fwd arc to this one"),
    warning("fwd-without-back", "a fwd arc leads to a node whose back arcs do not lead back"),
    // both profiles
    error("required-props", "a node lacks a property its profile requires"),
    error("property-kind", "a property a profile rule reads is not of the kind it needs (value, string)"),
    // hypervisor profile
    error("hv-root", "root lacks exactly one cpus arc to the cpus node or one guests arc to the guests node"),
    error("hv-guest-arc", "a guest arc of the guests node leads to a node that is not a guest"),
    error("hv-guest-none", "the guests node has no guest (with a gid)"),
    error("hv-gid-duplicate", "two guests have the same gid"),
    error("hv-guest-realbase", "a guest's realbase is not 8 KiB aligned, or realbase + memsize wraps"),
    error("hv-failure-policy", "a guest's failure-policy is not stop, reset or ignore"),
    error("hv-cpu-arc", "a cpu arc of the cpus node leads to a node that is not a cpu"),
    error("hv-cpu-guest", "a cpu lacks exactly one guest arc to a guest node"),
    error("hv-pid-range", "a cpu's pid is 64 or more (it does not fit a cpuset)"),
    error("hv-pid-duplicate", "two cpus have the same pid (strand)"),
    error("hv-cpuset", "a guest's cpuset is not the set of the pids of its cpus"),
    error("hv-vid-duplicate", "two cpus of a guest have the same vid"),
    error("hv-bootcpu", "a guest's bootcpu is not the vid of one of its cpus"),
    error("hv-ldc-arcs", "an ldc_endpoint lacks exactly one guest and one target_guest arc to guest nodes"),
    error("hv-ldc-duplicate", "a guest's channel is described by two ldc_endpoints"),
    error("hv-ldc-peer", "an ldc_endpoint has no peer endpoint pointing back at it"),
    // guest profile
    error("guest-platform-count", "not exactly one platform node"),
    warning("guest-recommended-props", "a property Solaris or older Linux read but Linux tolerates missing is absent"),
    warning("guest-stick-frequency", "the platform's stick-frequency is not 100 MHz (QEMU niagara's STICK)"),
    error("guest-cpu-none", "no cpu node"),
    error("guest-cpu-id-duplicate", "two cpus have the same id"),
    warning("guest-clock-frequency", "a cpu's clock-frequency is not 100 MHz (QEMU niagara's TICK)"),
    error("guest-page-size-zero", "a cpu's mmu-page-size-list is 0 (Solaris panics)"),
    warning("guest-page-size-256m", "a cpu's mmu-page-size-list offers 256M pages, which QEMU 7.2 mistranslates"),
    warning("guest-cpus-node", "not exactly one cpus node, or it lacks a fwd arc to a cpu"),
    error("guest-mblock-none", "no mblock node: the guest has no memory"),
    error("guest-mblock-range", "an mblock's size is 0 or its base + size overflows"),
    warning("guest-memory-node", "not exactly one memory node, or it lacks a fwd arc to an mblock"),
    error("guest-channel-devices", "a channel-devices node lacks compatible \"SUNW,sun4v-channel-devices\""),
    error("guest-channel-id-duplicate", "two channel-endpoints have the same id"),
    error(
        "guest-vnet-port",
        "a virtual-device-port lacks what Linux reads: id and name, a parent with cfg-handle (no two ports with the same cfg-handle and id), a fwd arc to a channel-endpoint; a vnet-port also remote-mac-address and a parent named network with local-mac-address",
    ),
];

/// The rule with id `id`, if any.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// One problem found in an MD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The id of the rule broken (one of [`RULES`]).
    pub rule: &'static str,
    /// Error or warning (the rule's severity).
    pub severity: Severity,
    /// Element index the finding is about, if any.
    pub element: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]: ", self.severity, self.rule)?;
        match self.element {
            Some(e) => write!(f, "element {e} (byte {:#x}): {}", model::HDR + e * model::ELEM, self.message),
            None => write!(f, "{}", self.message),
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
    /// Records a finding of rule `id` (its severity comes from [`RULES`]).
    fn add(&mut self, id: &'static str, element: Option<usize>, message: impl Into<String>) {
        let severity = rule(id).unwrap_or_else(|| panic!("mdlint rule {id:?} is not in RULES")).severity;
        self.findings.push(Finding { rule: id, severity, element, message: message.into() });
    }
}

/// Checks an MD binary: the transport rules, then (if they found no error) the graph
/// rules, then (if there is one root) the profile's rules.
pub fn lint(bytes: &[u8], profile: Profile) -> Report {
    let mut r = Report { size: bytes.len(), ..Default::default() };
    let Some(md) = transport::check(&mut r, bytes) else {
        return r;
    };
    let Some(root) = graph::check(&mut r, &md) else {
        return r;
    };
    let kind = match profile {
        Profile::None => return r,
        Profile::Hv => "hv",
        Profile::Guest => "guest",
        Profile::Auto if root.arcs("guests").next().is_some() => "hv",
        Profile::Auto => "guest",
    };
    r.kind = Some(kind);
    if kind == "hv" {
        hv::check(&mut r, &md, root);
    } else {
        guest::check(&mut r, &md, root);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::RULES;

    /// The sources of the rule functions.
    const SOURCES: &[(&str, &str)] = &[
        ("transport.rs", include_str!("mdlint/transport.rs")),
        ("graph.rs", include_str!("mdlint/graph.rs")),
        ("props.rs", include_str!("mdlint/props.rs")),
        ("hv.rs", include_str!("mdlint/hv.rs")),
        ("guest.rs", include_str!("mdlint/guest.rs")),
    ];

    /// Each rule of `RULES` has exactly one function whose doc comment starts with its id.
    #[test]
    fn every_rule_has_one_documented_function() {
        for r in RULES {
            let doc = format!("/// `{}`: ", r.id);
            let n: usize = SOURCES.iter().map(|(_, s)| s.matches(&doc).count()).sum();
            assert_eq!(n, 1, "{:?}: {n} functions documented as this rule", r.id);
        }
    }

    /// Every finding is reported under an id of `RULES` (the literal ids of `Report::add`
    /// calls, and the `RULE` constant of a function that reports several findings).
    #[test]
    fn every_reported_id_is_a_rule() {
        for (file, src) in SOURCES {
            for (at, _) in src.match_indices(".add(") {
                let arg = src[at + 5..].trim_start();
                let id = if let Some(lit) = arg.strip_prefix('"') {
                    &lit[..lit.find('"').unwrap()]
                } else {
                    assert!(arg.starts_with("RULE,"), "{file}: add({}…) takes a literal id or RULE", &arg[..20]);
                    let c = &src[src.find("const RULE: &str = \"").unwrap() + 20..];
                    &c[..c.find('"').unwrap()]
                };
                assert!(super::rule(id).is_some(), "{file}: {id:?} is not in RULES");
            }
        }
    }
}
