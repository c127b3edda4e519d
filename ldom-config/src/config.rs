//! The configuration file: parsing (with spans) and validation of every rule that does not
//! need the guest images. See `docs/ldom-config.md` for the format and the rules.

mod rules;

use crate::error::{Errors, Source};
use crate::tree::{Sv, Tv};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// PA of the partition RAM on QEMU `-M niagara` (and Sun's T1 configurations).
pub const RAM_BASE: u64 = 0x8000_0000;
/// Default partition RAM (QEMU is started with `-m` from the configuration).
pub const DEFAULT_RAM_SIZE: u64 = 256 << 20;
/// Upper bound for the partition RAM: 32 GiB (the most a T1 system takes).
pub const MAX_RAM_SIZE: u64 = 32 << 30;
/// Strands of an UltraSPARC T1 (8 cores × 4).
pub const MAX_STRANDS: u64 = 32;
pub use hv_api::hv_md::{FailurePolicy, DEFAULT_ENTRY_OFFSET, MAX_DOMAINS};
/// Guest memory alignment (base and size): 4 MiB, the largest page size the guest MD
/// advertises (see docs/ldom-config.md, rule `memory-unaligned`).
pub const MEM_ALIGN: u64 = 4 << 20;
/// Real addresses of an UltraSPARC T1 are 40 bits: a domain's memory must lie below this RA
/// (rule `memory-realbase`; hv-api's `Tte::T1_RA_MASK` is bits 39:13).
pub const REAL_ADDRESS_LIMIT: u64 = (hv_api::mmu::Tte::T1_RA_MASK | 0x1fff) + 1;
const _: () = assert!(REAL_ADDRESS_LIMIT == 1 << 40);
/// Most channels a configuration may have, the networks' included: the hypervisor's table
/// holds [`hv_api::hv_md::MAX_LDC_ENDPOINTS`] endpoints, two per channel.
pub const MAX_CHANNELS: usize = hv_api::hv_md::MAX_LDC_ENDPOINTS / 2;
/// Channel ids per domain are `0..MAX_CHANNEL_ID+1`.
pub const MAX_CHANNEL_ID: u64 = 63;
/// MAC address a `[[network]]` gives a domain that `macs` does not name: this base (a
/// locally administered unicast address, `02:53:34:76:00:00`) plus 256 × the network's index
/// plus the domain's gid + 1 (docs/ldom-config.md, "Networks").
pub const DEFAULT_MAC_BASE: u64 = 0x0253_3476_0000;
/// The MTU the guest MDs give a network (`mtu` of the `network` node): Ethernet's 1500.
pub const NETWORK_MTU: u64 = 1500;
/// Where a guest image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageRef {
    /// A path (it contains `/` or `.`), relative to the configuration file's directory.
    Path(PathBuf),
    /// A bare name, looked up by the [`crate::ImageResolver`].
    Named(String),
}

impl ImageRef {
    /// Classifies an `image` value: a [`ImageRef::Path`] if it contains `/` or `.`,
    /// otherwise a [`ImageRef::Named`].
    pub fn parse(s: &str) -> ImageRef {
        if s.contains('/') || s.contains('.') {
            ImageRef::Path(PathBuf::from(s))
        } else {
            ImageRef::Named(s.to_string())
        }
    }
}

/// Byte offsets in the configuration text of the things errors point at.
#[derive(Clone, Debug, Default)]
pub struct DomainSpans {
    /// The `[[domain]]` table.
    pub table: usize,
    /// The `name` value.
    pub name: usize,
    /// The `vcpus` value.
    pub vcpus: usize,
    /// The `memory` value.
    pub memory: usize,
    /// The `image` value.
    pub image: usize,
    /// The `entry-offset` value, or the table when the key is absent.
    pub entry_offset: usize,
}

/// One `[[domain]]`, validated; its index in [`Config::domains`] is its gid.
#[derive(Clone, Debug)]
pub struct Domain {
    /// The domain's name.
    pub name: String,
    /// vCPU `i` runs on strand `vcpus[i]`.
    pub vcpus: Vec<u64>,
    /// PA of the domain's memory (`memory.base`).
    pub membase: u64,
    /// Size of the domain's memory in bytes (`memory.size`).
    pub memsize: u64,
    /// RA of the domain's memory, where the guest sees it (`memory.realbase`, default
    /// `memory.base`). It may differ from [`Domain::membase`]: the hypervisor then
    /// translates RA→PA, which needs the patched QEMU with `-machine ra2pa=on`.
    pub realbase: u64,
    /// The guest image.
    pub image: ImageRef,
    /// The guest starts at `realbase + entry_offset`.
    pub entry_offset: u64,
    /// What the hypervisor does when the guest fails.
    pub failure_policy: FailurePolicy,
    /// Where the domain's keys are in the configuration text.
    pub spans: DomainSpans,
}

/// One end of an LDC channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Index into [`Config::domains`].
    pub domain: usize,
    /// Channel id as that domain sees it.
    pub id: u64,
}

/// One `[[channel]]`: an LDC channel between two domains.
#[derive(Clone, Debug)]
pub struct Channel {
    /// The two ends, in `endpoints` order.
    pub ends: [Endpoint; 2],
    /// Byte offset of the `[[channel]]` table in the configuration text.
    pub span: usize,
}

/// One domain of a [`Network`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Index into [`Config::domains`].
    pub domain: usize,
    /// The domain's MAC address on this network (48 bits): `local-mac-address` of its
    /// `network` node, `remote-mac-address` of the peers' ports to it.
    pub mac: u64,
}

/// One pair of a [`Network`]'s domains and the LDC channel that joins them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Indices into [`Network::members`]: the channel's `ends[0]` and `ends[1]`.
    pub members: [usize; 2],
    /// Index into [`Config::channels`].
    pub channel: usize,
}

/// One `[[network]]`: a virtual network (sunvnet) joining two or more domains, one LDC
/// channel for every pair of them.
#[derive(Clone, Debug)]
pub struct Network {
    /// The network's name (`name`, default `net<index>`).
    pub name: String,
    /// The joined domains, in `domains` order.
    pub members: Vec<Member>,
    /// Index into [`Network::members`] of the `switch-port` domain: the other domains'
    /// ports to it carry the MD property `switch-port` (Linux sends broadcasts there).
    pub switch_port: Option<usize>,
    /// One link per pair of members, in the order (0,1), (0,2), …, (1,2), …
    pub links: Vec<Link>,
    /// Byte offset of the `[[network]]` table in the configuration text.
    pub span: usize,
}

impl Network {
    /// The ports of domain `gi` on this network, as `(peer member index, link)`, in link
    /// order (the port ids in its guest MD are their positions); empty if `gi` is not a
    /// member.
    pub fn ports_of(&self, gi: usize) -> Vec<(usize, &Link)> {
        self.links
            .iter()
            .filter_map(|l| {
                let [a, b] = l.members;
                if self.members[a].domain == gi {
                    Some((b, l))
                } else if self.members[b].domain == gi {
                    Some((a, l))
                } else {
                    None
                }
            })
            .collect()
    }

    /// The member that is domain `gi`, if any.
    pub fn member(&self, gi: usize) -> Option<&Member> {
        self.members.iter().find(|m| m.domain == gi)
    }
}

/// `0x0253_3476_0001` -> `02:53:34:76:00:01`.
pub fn mac_text(mac: u64) -> String {
    let b = mac.to_be_bytes();
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4], b[5], b[6], b[7])
}

/// Parses a MAC address written `xx:xx:xx:xx:xx:xx` (six pairs of hex digits).
pub fn parse_mac(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 || parts.iter().any(|p| p.len() != 2 || !p.chars().all(|c| c.is_ascii_hexdigit())) {
        return None;
    }
    parts.iter().try_fold(0u64, |m, p| u8::from_str_radix(p, 16).ok().map(|b| m << 8 | b as u64))
}

/// The `[platform]` table, with defaults filled in.
#[derive(Clone, Debug)]
pub struct Platform {
    /// PA of the partition RAM: always [`RAM_BASE`].
    pub ram_base: u64,
    /// Partition RAM in bytes (`ram-size`; default [`DEFAULT_RAM_SIZE`]).
    pub ram_size: u64,
    /// Strands of the machine (`strands`; default 1).
    pub strands: u64,
    /// Byte offset of the `platform` value in the configuration text (0 when absent).
    pub span: usize,
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The configuration file's path, as given.
    pub file: PathBuf,
    /// Its directory: relative image paths are resolved against it.
    pub dir: PathBuf,
    /// The platform.
    pub platform: Platform,
    /// The domains; domain `i` has gid `i`, domain 0 boots first.
    pub domains: Vec<Domain>,
    /// The LDC channels: the `[[channel]]` ones, then those of the networks.
    pub channels: Vec<Channel>,
    /// The virtual networks (`[[network]]`).
    pub networks: Vec<Network>,
    pub(crate) text: String,
}

impl Config {
    pub(crate) fn source(&self) -> Source {
        Source::new(&self.file, self.text.clone())
    }
    /// The strands QEMU must have for this configuration: 1 + the largest strand id any
    /// domain's `vcpus` uses (1 when no domain has a vCPU). `cargo xtask test` (on the
    /// patched QEMU) and `cargo xtask run` start QEMU with `-smp` this many.
    pub fn qemu_strands(&self) -> u64 {
        self.domains.iter().flat_map(|d| d.vcpus.iter()).max().map_or(1, |&s| s + 1)
    }

    /// tx/rx interrupt numbers of a channel endpoint.
    pub fn inos(id: u64) -> (u64, u64) {
        (0x20 + 2 * id, 0x21 + 2 * id)
    }
}

/// Reads and validates a configuration file (no image I/O).
pub fn load(path: &Path) -> Result<Config, Errors> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Err(crate::error::Error {
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                rule: "file-unreadable",
                message: format!("cannot read the configuration: {e}"),
            }
            .into())
        }
    };
    parse_str(path, text)
}

/// Parses and validates configuration text; `path` names it in errors and anchors
/// relative image paths.
pub fn parse_str(path: &Path, text: String) -> Result<Config, Errors> {
    let mut src = Source::new(path, text);
    let tree = match toml::from_str::<Sv>(&src.text) {
        Ok(t) => t,
        Err(e) => {
            let off = e.span().map(|s| s.start).unwrap_or(0);
            let msg = e.message().trim().to_string();
            let (rule, msg) = if msg.contains("$__toml_private_datetime") {
                ("wrong-type", "a date-time is not valid here".to_string())
            } else {
                ("toml-syntax", msg)
            };
            src.err(off, rule, msg);
            return Err(Errors(src.errors));
        }
    };
    let raw = extract(&mut src, &tree);
    let cfg = validate(&mut src, raw);
    if src.errors.is_empty() {
        let mut cfg = cfg.expect("no errors but no config");
        cfg.text = src.text;
        Ok(cfg)
    } else {
        Err(Errors(src.errors))
    }
}

// ---------------------------------------------------------------------------------------
// Extraction: tree -> raw structs with every field optional, type errors reported.

#[derive(Default)]
struct RawPlatform {
    ram_size: Option<(u64, usize)>,
    strands: Option<(u64, usize)>,
    span: usize,
}

#[derive(Default)]
struct RawDomain {
    span: usize,
    name: Option<(String, usize)>,
    vcpus: Option<(Vec<(u64, usize)>, usize)>,
    base: Option<(u64, usize)>,
    size: Option<(u64, usize)>,
    realbase: Option<(u64, usize)>,
    memory_span: usize,
    memory_ok: bool,
    image: Option<(String, usize)>,
    entry_offset: Option<(u64, usize)>,
    failure_policy: Option<FailurePolicy>,
    ok: bool,
}

#[derive(Clone, Default)]
struct RawChannel {
    span: usize,
    endpoints: Option<(Vec<(String, usize)>, usize)>,
    ids: Option<(Vec<(u64, usize)>, usize)>,
    ok: bool,
}

#[derive(Default)]
struct RawNetwork {
    span: usize,
    name: Option<(String, usize)>,
    domains: Option<(Vec<(String, usize)>, usize)>,
    macs: Option<(Vec<(String, usize)>, usize)>,
    switch_port: Option<(String, usize)>,
    channels: Vec<RawChannel>,
    ok: bool,
}

struct Raw {
    platform: RawPlatform,
    domains: Vec<RawDomain>,
    domain_key: Option<usize>,
    channels: Vec<RawChannel>,
    networks: Vec<RawNetwork>,
}

/// Iterates a table's entries, rejecting keys not in `known`.
fn entries<'a>(
    src: &mut Source,
    what: &str,
    table: &'a [(toml::Spanned<String>, Sv)],
    known: &[&str],
) -> Vec<(&'a str, &'a Sv)> {
    let mut out = Vec::new();
    for (k, v) in table {
        if known.contains(&k.get_ref().as_str()) {
            out.push((k.get_ref().as_str(), v));
        } else {
            src.err(
                k.span().start,
                "unknown-key",
                format!(
                    "unknown key `{}` in {what} (allowed: {})",
                    k.get_ref(),
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
    out
}

fn wrong_type(src: &mut Source, v: &Sv, key: &str, want: &str) {
    src.err(v.span().start, "wrong-type", format!("`{key}` must be {want}, not {}", v.get_ref().kind()));
}

fn get_str(src: &mut Source, v: &Sv, key: &str) -> Option<(String, usize)> {
    match v.get_ref() {
        Tv::Str(s) => Some((s.clone(), v.span().start)),
        _ => {
            wrong_type(src, v, key, "a string");
            None
        }
    }
}

fn get_uint(src: &mut Source, v: &Sv, key: &str) -> Option<(u64, usize)> {
    match v.get_ref() {
        Tv::Int(i) if *i >= 0 => Some((*i as u64, v.span().start)),
        Tv::Int(i) => {
            src.err(v.span().start, "bad-value", format!("`{key}` must not be negative (found {i})"));
            None
        }
        _ => {
            wrong_type(src, v, key, "an integer");
            None
        }
    }
}

/// Parses a size written as a string, the one size syntax of every configuration file,
/// case file and command of the project: hex (`0x…`), binary (`0b…`) or octal (`0o…`) is a
/// byte count; a decimal needs a unit: `K`, `M`, `G` (×1024ⁿ, with an optional `B`/`iB`:
/// `512KiB`, `1GB`) or `B` for bytes. A bare decimal (`"256"`) is refused: QEMU's `-m` reads
/// it as MiB and a byte count would read it as bytes, so it has no one meaning. (A TOML
/// integer in a configuration is a byte count.)
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a size (write e.g. \"256M\", \"1G\", \"4096B\" or 0x10000000)");
    let t = s.trim().replace('_', "");
    let (radix, mut body) = match t.get(..2) {
        Some("0x") | Some("0X") => (16, &t[2..]),
        Some("0b") => (2, &t[2..]),
        Some("0o") => (8, &t[2..]),
        _ => (10, &t[..]),
    };
    let mut mult: u64 = 1;
    if radix == 10 {
        let unit_start = body.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
            format!("`{s}` needs a unit: \"{s}M\" (MiB) or \"{s}B\" (bytes); a bare number has no one meaning")
        })?;
        mult = match body[unit_start..].to_ascii_lowercase().as_str() {
            "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            _ => return Err(bad()),
        };
        body = &body[..unit_start];
    }
    if body.is_empty() || body.starts_with('+') {
        return Err(bad());
    }
    let n = u64::from_str_radix(body, radix).map_err(|_| bad())?;
    n.checked_mul(mult).ok_or_else(|| format!("`{s}` is too large"))
}

fn get_size(src: &mut Source, v: &Sv, key: &str) -> Option<(u64, usize)> {
    match v.get_ref() {
        Tv::Str(s) => match parse_size(s) {
            Ok(n) => Some((n, v.span().start)),
            Err(m) => {
                src.err(v.span().start, "bad-value", format!("`{key}`: {m}"));
                None
            }
        },
        Tv::Int(_) => get_uint(src, v, key),
        _ => {
            wrong_type(src, v, key, "an integer or a size string such as \"128M\"");
            None
        }
    }
}

fn get_table<'a>(src: &mut Source, v: &'a Sv, key: &str) -> Option<&'a [(toml::Spanned<String>, Sv)]> {
    match v.get_ref() {
        Tv::Table(t) => Some(t),
        _ => {
            wrong_type(src, v, key, "a table");
            None
        }
    }
}

fn get_array<'a>(src: &mut Source, v: &'a Sv, key: &str) -> Option<&'a [Sv]> {
    match v.get_ref() {
        Tv::Array(a) => Some(a),
        _ => {
            wrong_type(src, v, key, "an array");
            None
        }
    }
}

fn missing(src: &mut Source, at: usize, what: &str, key: &str) {
    src.err(at, "missing-key", format!("{what} needs `{key}`"));
}

fn extract(src: &mut Source, tree: &Sv) -> Raw {
    let mut raw = Raw {
        platform: RawPlatform::default(),
        domains: Vec::new(),
        domain_key: None,
        channels: Vec::new(),
        networks: Vec::new(),
    };
    let Tv::Table(top) = tree.get_ref() else {
        src.err(0, "wrong-type", "the configuration must be a TOML table".to_string());
        return raw;
    };
    for (k, v) in entries(src, "the top level", top, &["platform", "domain", "channel", "network"]) {
        match k {
            "platform" => {
                raw.platform.span = v.span().start;
                if let Some(t) = get_table(src, v, k) {
                    for (k, v) in entries(src, "[platform]", t, &["ram-size", "strands"]) {
                        match k {
                            "ram-size" => raw.platform.ram_size = get_size(src, v, k),
                            _ => raw.platform.strands = get_uint(src, v, k),
                        }
                    }
                }
            }
            "domain" => {
                raw.domain_key = Some(v.span().start);
                if let Some(a) = array_of_tables(src, v, "domain") {
                    for t in a {
                        raw.domains.push(extract_domain(src, t));
                    }
                }
            }
            "channel" => {
                if let Some(a) = array_of_tables(src, v, "channel") {
                    for t in a {
                        raw.channels.push(extract_channel(src, t, "[[channel]]"));
                    }
                }
            }
            _ => {
                if let Some(a) = array_of_tables(src, v, "network") {
                    for t in a {
                        raw.networks.push(extract_network(src, t));
                    }
                }
            }
        }
    }
    raw
}

fn array_of_tables<'a>(src: &mut Source, v: &'a Sv, key: &str) -> Option<Vec<&'a Sv>> {
    let a = match v.get_ref() {
        Tv::Array(a) => a,
        _ => {
            wrong_type(src, v, key, &format!("an array of tables (write `[[{key}]]`)"));
            return None;
        }
    };
    let mut out = Vec::new();
    for e in a {
        if matches!(e.get_ref(), Tv::Table(_)) {
            out.push(e);
        } else {
            wrong_type(src, e, key, "a table");
        }
    }
    Some(out)
}

const DOMAIN_KEYS: &[&str] = &["name", "vcpus", "memory", "image", "entry-offset", "console", "failure-policy"];

fn extract_domain(src: &mut Source, t: &Sv) -> RawDomain {
    let mut d = RawDomain { span: t.span().start, ok: true, ..Default::default() };
    let Tv::Table(tab) = t.get_ref() else { unreachable!() };
    let before = src.errors.len();
    for (k, v) in entries(src, "[[domain]]", tab, DOMAIN_KEYS) {
        match k {
            "name" => d.name = get_str(src, v, k),
            "vcpus" => {
                if let Some(a) = get_array(src, v, k) {
                    let mut ids = Vec::new();
                    for x in a {
                        if let Some(n) = get_uint(src, x, "vcpus[]") {
                            ids.push(n);
                        }
                    }
                    d.vcpus = Some((ids, v.span().start));
                }
            }
            "memory" => {
                d.memory_span = v.span().start;
                if let Some(m) = get_table(src, v, k) {
                    let n = src.errors.len();
                    for (k, v) in entries(src, "`memory`", m, &["base", "size", "realbase"]) {
                        match k {
                            "base" => d.base = get_size(src, v, k),
                            "size" => d.size = get_size(src, v, k),
                            _ => d.realbase = get_size(src, v, k),
                        }
                    }
                    if d.base.is_none() && src.errors.len() == n {
                        missing(src, v.span().start, "`memory`", "base");
                    }
                    if d.size.is_none() && src.errors.len() == n {
                        missing(src, v.span().start, "`memory`", "size");
                    }
                    d.memory_ok = d.base.is_some() && d.size.is_some();
                }
            }
            "image" => d.image = get_str(src, v, k),
            "entry-offset" => d.entry_offset = get_size(src, v, k),
            "console" => {
                if let Some((s, at)) = get_str(src, v, k) {
                    if s != "uart" {
                        src.err(
                            at,
                            "bad-value",
                            format!("`console = \"{s}\"` is not supported; the only console is \"uart\""),
                        );
                    }
                }
            }
            _ => {
                if let Some((s, at)) = get_str(src, v, k) {
                    d.failure_policy = match FailurePolicy::from_name(&s) {
                        Some(p) => Some(p),
                        None => {
                            src.err(
                                at,
                                "bad-value",
                                format!("`failure-policy = \"{s}\"`: expected \"stop\", \"reset\" or \"ignore\""),
                            );
                            None
                        }
                    };
                }
            }
        }
    }
    let at = t.span().start;
    for (key, present) in [
        ("name", tab.iter().any(|(k, _)| k.get_ref() == "name")),
        ("vcpus", tab.iter().any(|(k, _)| k.get_ref() == "vcpus")),
        ("memory", tab.iter().any(|(k, _)| k.get_ref() == "memory")),
        ("image", tab.iter().any(|(k, _)| k.get_ref() == "image")),
    ] {
        if !present {
            missing(src, at, "a [[domain]]", key);
        }
    }
    d.ok = src.errors.len() == before;
    d
}

fn extract_channel(src: &mut Source, t: &Sv, what: &str) -> RawChannel {
    let mut c = RawChannel { span: t.span().start, ok: true, ..Default::default() };
    let Tv::Table(tab) = t.get_ref() else { unreachable!() };
    let before = src.errors.len();
    for (k, v) in entries(src, what, tab, &["endpoints", "ids"]) {
        if let Some(a) = get_array(src, v, k) {
            if k == "endpoints" {
                let mut names = Vec::new();
                for x in a {
                    if let Some(s) = get_str(src, x, "endpoints[]") {
                        names.push(s);
                    }
                }
                c.endpoints = Some((names, v.span().start));
            } else {
                let mut ids = Vec::new();
                for x in a {
                    if let Some(n) = get_uint(src, x, "ids[]") {
                        ids.push(n);
                    }
                }
                c.ids = Some((ids, v.span().start));
            }
        }
    }
    if !tab.iter().any(|(k, _)| k.get_ref() == "endpoints") {
        missing(src, t.span().start, &format!("a {what}"), "endpoints");
    }
    c.ok = src.errors.len() == before;
    c
}

/// A list of strings (`key = ["a", "b"]`), each with its span.
fn get_str_list(src: &mut Source, v: &Sv, key: &str) -> Option<(Vec<(String, usize)>, usize)> {
    let a = get_array(src, v, key)?;
    let mut out = Vec::new();
    for x in a {
        if let Some(s) = get_str(src, x, &format!("{key}[]")) {
            out.push(s);
        }
    }
    Some((out, v.span().start))
}

fn extract_network(src: &mut Source, t: &Sv) -> RawNetwork {
    let mut n = RawNetwork { span: t.span().start, ok: true, ..Default::default() };
    let Tv::Table(tab) = t.get_ref() else { unreachable!() };
    let before = src.errors.len();
    for (k, v) in entries(src, "[[network]]", tab, &["name", "domains", "macs", "switch-port", "channel"]) {
        match k {
            "name" => n.name = get_str(src, v, k),
            "domains" => n.domains = get_str_list(src, v, k),
            "macs" => n.macs = get_str_list(src, v, k),
            "switch-port" => n.switch_port = get_str(src, v, k),
            _ => {
                if let Some(a) = array_of_tables(src, v, "network.channel") {
                    for t in a {
                        let c = extract_channel(src, t, "[[network.channel]]");
                        let Tv::Table(ct) = t.get_ref() else { unreachable!() };
                        if !ct.iter().any(|(k, _)| k.get_ref() == "ids") {
                            missing(src, t.span().start, "a [[network.channel]]", "ids");
                        }
                        n.channels.push(c);
                    }
                }
            }
        }
    }
    if !tab.iter().any(|(k, _)| k.get_ref() == "domains") {
        missing(src, t.span().start, "a [[network]]", "domains");
    }
    n.ok = src.errors.len() == before;
    n
}

// ---------------------------------------------------------------------------------------
// Semantic rules.

fn validate(src: &mut Source, mut raw: Raw) -> Option<Config> {
    rules::platform_ram(src, &raw);
    rules::platform_strands(src, &raw);
    let ram_size = raw.platform.ram_size.map_or(DEFAULT_RAM_SIZE, |r| r.0);
    let strands = raw.platform.strands.map_or(1, |s| s.0);
    let platform = Platform { ram_base: RAM_BASE, ram_size, strands, span: raw.platform.span };
    rules::no_domains(src, &raw);
    rules::too_many_domains(src, &raw);
    rules::domain_name_invalid(src, &raw);
    let by_name = rules::domain_name_duplicate(src, &raw);
    rules::vcpus_empty(src, &raw);
    rules::strand_outside_platform(src, &raw, strands);
    rules::strand_twice(src, &raw, strands);
    rules::memory_too_small(src, &raw);
    rules::memory_unaligned(src, &raw);
    rules::memory_outside_ram(src, &raw, ram_size);
    rules::memory_realbase(src, &raw);
    rules::memory_overlap(src, &raw, ram_size);
    rules::entry_offset(src, &raw);
    let net_names = rules::network_name(src, &raw);
    let mut nets_ok = rules::network_domains(src, &raw);
    rules::network_domain_unknown(src, &raw, &by_name, &mut nets_ok);
    let switch_ports = rules::network_switch_port(src, &raw, &nets_ok);
    let given_macs = rules::network_mac(src, &raw, &nets_ok);
    let net_macs = rules::network_mac_duplicate(src, &raw, &by_name, &nets_ok, &given_macs);
    let net_pairs = rules::network_channel(src, &raw, &nets_ok);
    let user_channels = raw.channels.len();
    let net_links = network_channels(&mut raw, &nets_ok, &net_pairs);
    let endpoints_ok = rules::ldc_endpoints(src, &raw);
    rules::ldc_endpoint_no_peer(src, &raw, &by_name, &endpoints_ok);
    let explicit_ids = rules::ldc_limits(src, &raw, &endpoints_ok);
    let mut ids_in_use = rules::ldc_id_duplicate(src, &raw, &by_name, &explicit_ids);
    let channels = assign_channel_ids(src, &raw, &by_name, &endpoints_ok, &explicit_ids, &mut ids_in_use);
    if let Some(c) = channels.get(MAX_CHANNELS) {
        src.err(
            c.span,
            "ldc-count",
            format!(
                "more than {MAX_CHANNELS} channels in all (those of the networks included): the hypervisor's channel table holds {MAX_CHANNELS}"
            ),
        );
    }

    if !src.errors.is_empty() {
        return None;
    }
    let domains = raw
        .domains
        .into_iter()
        .map(|d| {
            let (name, name_at) = d.name.unwrap();
            let (vcpus, vat) = d.vcpus.unwrap();
            let (base, _) = d.base.unwrap();
            let (size, _) = d.size.unwrap();
            let realbase = d.realbase.map_or(base, |r| r.0);
            let (image, iat) = d.image.unwrap();
            Domain {
                name,
                vcpus: vcpus.into_iter().map(|v| v.0).collect(),
                membase: base,
                memsize: size,
                realbase,
                image: ImageRef::parse(&image),
                entry_offset: d.entry_offset.map(|e| e.0).unwrap_or(DEFAULT_ENTRY_OFFSET),
                failure_policy: d.failure_policy.unwrap_or(FailurePolicy::Stop),
                spans: DomainSpans {
                    table: d.span,
                    name: name_at,
                    vcpus: vat,
                    memory: d.memory_span,
                    image: iat,
                    entry_offset: d.entry_offset.map(|e| e.1).unwrap_or(d.span),
                },
            }
        })
        .collect();
    let mut networks: Vec<Network> = raw
        .networks
        .iter()
        .enumerate()
        .map(|(ni, n)| Network {
            name: net_names[ni].clone(),
            members: n
                .domains
                .as_ref()
                .unwrap()
                .0
                .iter()
                .zip(&net_macs[ni])
                .map(|((d, _), &mac)| Member { domain: by_name[d], mac })
                .collect(),
            switch_port: switch_ports[ni],
            links: Vec::new(),
            span: n.span,
        })
        .collect();
    for (k, (ni, members)) in net_links.into_iter().enumerate() {
        networks[ni].links.push(Link { members, channel: user_channels + k });
    }
    let dir = src.file.parent().map(Path::to_path_buf).unwrap_or_default();
    Some(Config { file: src.file.clone(), dir, platform, domains, channels, networks, text: String::new() })
}

/// Appends to `raw.channels` one channel for every pair of every well-formed network's
/// domains, pairs in the order (0,1), (0,2), …, (1,2), …; a pair's `[[network.channel]]`
/// gives its ends' order and ids. Returns, per appended channel, its network and the member
/// indices of its two ends.
fn network_channels(raw: &mut Raw, ok: &[bool], pairs: &[BTreeMap<(usize, usize), usize>]) -> Vec<(usize, [usize; 2])> {
    let mut out = Vec::new();
    let mut add = Vec::new();
    for (ni, n) in raw.networks.iter().enumerate().filter(|(ni, _)| ok[*ni]) {
        let doms = &n.domains.as_ref().unwrap().0;
        for a in 0..doms.len() {
            for b in a + 1..doms.len() {
                let c = match pairs[ni].get(&(a, b)) {
                    Some(&ci) => {
                        let c = n.channels[ci].clone();
                        let first = &c.endpoints.as_ref().unwrap().0[0].0;
                        let ends = if *first == doms[a].0 { [a, b] } else { [b, a] };
                        out.push((ni, ends));
                        c
                    }
                    None => {
                        out.push((ni, [a, b]));
                        RawChannel {
                            span: n.span,
                            endpoints: Some((vec![doms[a].clone(), doms[b].clone()], n.span)),
                            ids: None,
                            ok: true,
                        }
                    }
                };
                add.push(c);
            }
        }
    }
    raw.channels.extend(add);
    out
}

/// The channels with their ids: the explicit ones, or else the lowest id free in each
/// domain after the explicit ones (rule `ldc-limits` when a domain has none left).
fn assign_channel_ids(
    src: &mut Source,
    raw: &Raw,
    by_name: &HashMap<String, usize>,
    endpoints_ok: &[bool],
    explicit: &[Option<[(u64, usize); 2]>],
    in_use: &mut [BTreeMap<u64, usize>],
) -> Vec<Channel> {
    let mut channels = Vec::new();
    for (ci, c) in raw.channels.iter().enumerate() {
        let Some((eps, _)) = c.endpoints.as_ref().filter(|_| endpoints_ok[ci]) else {
            continue;
        };
        let (Some(&d0), Some(&d1)) = (by_name.get(&eps[0].0), by_name.get(&eps[1].0)) else {
            continue;
        };
        let ids = match (&c.ids, explicit[ci]) {
            (_, Some(ids)) => [ids[0].0, ids[1].0],
            (Some(_), None) => continue, // explicit ids with an error of their own
            (None, None) => {
                let mut out = [0u64; 2];
                let mut full = false;
                for (k, di) in [d0, d1].into_iter().enumerate() {
                    match (0..=MAX_CHANNEL_ID).find(|i| !in_use[di].contains_key(i)) {
                        Some(id) => {
                            in_use[di].insert(id, ci);
                            out[k] = id;
                        }
                        None => {
                            full = true;
                            src.err(
                                c.span,
                                "ldc-limits",
                                format!(
                                    "domain {} has no free channel id (at most {} channels per domain)",
                                    dname(&raw.domains[di], di),
                                    MAX_CHANNEL_ID + 1
                                ),
                            );
                        }
                    }
                }
                if full {
                    continue;
                }
                out
            }
        };
        channels.push(Channel {
            ends: [Endpoint { domain: d0, id: ids[0] }, Endpoint { domain: d1, id: ids[1] }],
            span: c.span,
        });
    }
    channels
}

fn dname(d: &RawDomain, i: usize) -> String {
    match &d.name {
        Some((n, _)) => format!("{n:?}"),
        None => format!("#{i}"),
    }
}

/// `268435456` -> `256M`.
pub fn human(n: u64) -> String {
    if n != 0 && n % (1 << 30) == 0 {
        format!("{}G", n >> 30)
    } else if n != 0 && n % (1 << 20) == 0 {
        format!("{}M", n >> 20)
    } else if n != 0 && n % (1 << 10) == 0 {
        format!("{}K", n >> 10)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128M"), Ok(128 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("0x8000000"), Ok(0x800_0000));
        assert_eq!(parse_size("0x80000000"), Ok(0x8000_0000));
        assert_eq!(parse_size("0xB"), Ok(0xb));
        assert_eq!(parse_size("4096B"), Ok(4096));
        assert_eq!(parse_size("1_024B"), Ok(1024));
        assert!(parse_size("4096").unwrap_err().contains("needs a unit"));
        assert!(parse_size("256").unwrap_err().contains("needs a unit"));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("0x1000"), Ok(0x1000));
        assert!(parse_size("12Q").is_err() && parse_size("").is_err() && parse_size("M").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("").is_err());
    }

    fn strands_of(domains: &str) -> u64 {
        let text = format!("[platform]\nram-size = \"1G\"\nstrands = 32\n{domains}");
        parse_str(Path::new("t.toml"), text).unwrap_or_else(|e| panic!("{e}")).qemu_strands()
    }

    #[test]
    fn qemu_strands_is_one_past_the_largest_strand_used() {
        let dom = |name: &str, vcpus: &str, base: &str| {
            format!(
                "[[domain]]\nname = \"{name}\"\nvcpus = {vcpus}\n\
                 memory = {{ base = {base}, size = \"256M\" }}\nimage = \"test-guest\"\n"
            )
        };
        assert_eq!(strands_of(&dom("a", "[0]", "0x80000000")), 1);
        assert_eq!(strands_of(&dom("a", "[0, 1, 2, 3]", "0x80000000")), 4);
        let two = dom("a", "[0, 1, 2, 3]", "0x80000000") + &dom("b", "[4, 5]", "0x90000000");
        assert_eq!(strands_of(&two), 6);
        // The largest id counts, not the number of strands or the order of the domains.
        let sparse = dom("a", "[0]", "0x80000000") + &dom("b", "[9, 3]", "0x90000000");
        assert_eq!(strands_of(&sparse), 10);
        let two = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/two-domains.toml")).unwrap();
        assert_eq!(two.qemu_strands(), 6);
    }
}
