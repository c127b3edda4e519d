//! The validation rules of a configuration, one function per rule id (docs/ldom-config.md,
//! "Rules"; each has its negative test `tests/invalid/<rule>.toml`). Every function reports
//! only its own rule, through `src.err`; `validate` runs them in order and builds the
//! [`Config`](super::Config) when none failed.

use super::{dname, human, Raw, MAX_CHANNEL_ID, MAX_RAM_SIZE, MAX_STRANDS, MEM_ALIGN, RAM_BASE, REAL_ADDRESS_LIMIT};
use crate::error::Source;
use hv_api::hv_md::{MAX_DOMAINS, MAX_DOMAIN_NAME};
use std::collections::{BTreeMap, HashMap};

/// `platform-ram`: `ram-size` is a non-zero multiple of 4 MiB, at most 32 GiB.
pub(super) fn platform_ram(src: &mut Source, raw: &Raw) {
    if let Some((n, at)) = raw.platform.ram_size {
        if n == 0 || n % MEM_ALIGN != 0 || n > MAX_RAM_SIZE {
            src.err(
                at,
                "platform-ram",
                format!("ram-size {n:#x} must be a non-zero multiple of 4 MiB and at most 32 GiB"),
            );
        }
    }
}

/// `platform-strands`: 1 to 32 strands.
pub(super) fn platform_strands(src: &mut Source, raw: &Raw) {
    if let Some((n, at)) = raw.platform.strands {
        if n == 0 || n > MAX_STRANDS {
            src.err(
                at,
                "platform-strands",
                format!("strands = {n}: an UltraSPARC T1 has 1 to 32 strands (QEMU niagara: 1)"),
            );
        }
    }
}

/// `no-domains`: at least one `[[domain]]` (reported only when nothing else is wrong).
pub(super) fn no_domains(src: &mut Source, raw: &Raw) {
    if raw.domains.is_empty() && src.errors.is_empty() {
        src.err(
            raw.domain_key.unwrap_or(0),
            "no-domains",
            "the configuration describes no domain: add a [[domain]] table",
        );
    }
}

/// `too-many-domains`: at most [`MAX_DOMAINS`].
pub(super) fn too_many_domains(src: &mut Source, raw: &Raw) {
    if raw.domains.len() > MAX_DOMAINS {
        src.err(
            raw.domains[MAX_DOMAINS].span,
            "too-many-domains",
            format!("{} domains; at most {MAX_DOMAINS} are supported", raw.domains.len()),
        );
    }
}

/// Whether `s` is a valid domain name.
fn valid_domain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_DOMAIN_NAME
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s != "hv"
}

/// `domain-name-invalid`: 1 to [`MAX_DOMAIN_NAME`] letters, digits, `-`, `_`, starting with
/// a letter, not `hv`.
pub(super) fn domain_name_invalid(src: &mut Source, raw: &Raw) {
    for d in &raw.domains {
        if let Some((name, at)) = &d.name {
            if !valid_domain_name(name) {
                src.err(
                    *at,
                    "domain-name-invalid",
                    format!("domain name {name:?}: use 1-{MAX_DOMAIN_NAME} letters, digits, `-` or `_`, starting with a letter (and not \"hv\": the build writes <name>.md next to hv.md)"),
                );
            }
        }
    }
}

/// `domain-name-duplicate`: names are unique. Returns the domain index of each name (its
/// first use).
pub(super) fn domain_name_duplicate(src: &mut Source, raw: &Raw) -> HashMap<String, usize> {
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (i, d) in raw.domains.iter().enumerate() {
        if let Some((name, at)) = &d.name {
            if let Some(&first) = by_name.get(name) {
                let (l, _) = src.position(raw.domains[first].name.as_ref().map_or(0, |n| n.1));
                src.err(*at, "domain-name-duplicate", format!("domain name {name:?} is already used at line {l}"));
            } else {
                by_name.insert(name.clone(), i);
            }
        }
    }
    by_name
}

/// `vcpus-empty`: a domain has at least one vCPU.
pub(super) fn vcpus_empty(src: &mut Source, raw: &Raw) {
    for d in &raw.domains {
        if let Some((vcpus, at)) = &d.vcpus {
            if vcpus.is_empty() && d.ok {
                src.err(*at, "vcpus-empty", "a domain needs at least one vCPU: `vcpus = [strand, …]`");
            }
        }
    }
}

/// `strand-outside-platform`: every vCPU's strand exists.
pub(super) fn strand_outside_platform(src: &mut Source, raw: &Raw, strands: u64) {
    for d in &raw.domains {
        for &(s, at) in d.vcpus.iter().flat_map(|(v, _)| v) {
            if s >= strands {
                src.err(
                    at,
                    "strand-outside-platform",
                    format!(
                        "strand {s} does not exist: the platform has {strands} strand{} (0..{}); set `[platform] strands`",
                        if strands == 1 { "" } else { "s" },
                        strands.saturating_sub(1)
                    ),
                );
            }
        }
    }
}

/// `strand-twice`: no strand runs two vCPUs (strands outside the platform are the other
/// rule's).
pub(super) fn strand_twice(src: &mut Source, raw: &Raw, strands: u64) {
    let mut owner: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for (i, d) in raw.domains.iter().enumerate() {
        for &(s, at) in d.vcpus.iter().flat_map(|(v, _)| v) {
            if s >= strands {
                continue;
            }
            if let Some(&(first, first_at)) = owner.get(&s) {
                let (l, _) = src.position(first_at);
                let who = dname(&raw.domains[first], first);
                src.err(at, "strand-twice", format!("strand {s} is already given to domain {who} (line {l})"));
            } else {
                owner.insert(s, (i, at));
            }
        }
    }
}

/// The domains' memories as `(index, base, base span, size, size span)`.
fn memories(raw: &Raw) -> impl Iterator<Item = (usize, u64, usize, u64, usize)> + '_ {
    raw.domains.iter().enumerate().filter_map(|(i, d)| match (d.base, d.size) {
        (Some((base, bat)), Some((size, zat))) => Some((i, base, bat, size, zat)),
        _ => None,
    })
}

/// `memory-too-small`: the size is not 0.
pub(super) fn memory_too_small(src: &mut Source, raw: &Raw) {
    for (_, _, _, size, zat) in memories(raw) {
        if size == 0 {
            src.err(zat, "memory-too-small", "memory size is 0".to_string());
        }
    }
}

/// `memory-unaligned`: base and size are multiples of 4 MiB.
pub(super) fn memory_unaligned(src: &mut Source, raw: &Raw) {
    for (_, base, bat, size, zat) in memories(raw) {
        if size == 0 {
            continue;
        }
        if base % MEM_ALIGN != 0 {
            src.err(bat, "memory-unaligned", format!("memory base {base:#x} is not a multiple of 4 MiB (0x400000)"));
        }
        if size % MEM_ALIGN != 0 {
            src.err(zat, "memory-unaligned", format!("memory size {size:#x} is not a multiple of 4 MiB (0x400000)"));
        }
    }
}

/// Whether a memory lies inside the platform RAM.
fn inside_ram(base: u64, size: u64, ram_size: u64) -> bool {
    base >= RAM_BASE && base.checked_add(size).is_some_and(|e| e <= RAM_BASE + ram_size)
}

/// `memory-outside-ram`: the memory lies inside the platform RAM.
pub(super) fn memory_outside_ram(src: &mut Source, raw: &Raw, ram_size: u64) {
    for (_, base, bat, size, _) in memories(raw) {
        if size != 0 && !inside_ram(base, size, ram_size) {
            src.err(
                bat,
                "memory-outside-ram",
                format!(
                    "memory {base:#x}+{size:#x} is outside the platform RAM {RAM_BASE:#x}..{:#x} (ram-size {})",
                    RAM_BASE + ram_size,
                    human(ram_size)
                ),
            );
        }
    }
}

/// `memory-realbase`: `realbase`, when given, is aligned like `base` (a multiple of
/// [`MEM_ALIGN`]) and the memory's real range `realbase..realbase + size` stays inside the
/// T1's 40-bit real address space ([`REAL_ADDRESS_LIMIT`]). It may differ from `base` (the
/// hypervisor translates RA→PA), and two domains may use the same `realbase`.
pub(super) fn memory_realbase(src: &mut Source, raw: &Raw) {
    for d in &raw.domains {
        let Some((rb, rat)) = d.realbase else { continue };
        if rb % MEM_ALIGN != 0 {
            src.err(rat, "memory-realbase", format!("memory realbase {rb:#x} is not a multiple of 4 MiB (0x400000)"));
        } else if let Some((size, _)) = d.size {
            if rb.checked_add(size).is_none_or(|end| end > REAL_ADDRESS_LIMIT) {
                src.err(
                    rat,
                    "memory-realbase",
                    format!(
                        "memory realbase {rb:#x} + size {size:#x} does not fit the 40-bit real address space (below {REAL_ADDRESS_LIMIT:#x})"
                    ),
                );
            }
        }
    }
}

/// `memory-overlap`: no two domains' memories overlap (checked among the memories the
/// other memory rules accept).
pub(super) fn memory_overlap(src: &mut Source, raw: &Raw, ram_size: u64) {
    let mut placed: Vec<(u64, u64, usize)> = Vec::new();
    for (i, base, bat, size, _) in memories(raw) {
        let aligned = base % MEM_ALIGN == 0 && size % MEM_ALIGN == 0;
        if size == 0 || !aligned || !inside_ram(base, size, ram_size) {
            continue;
        }
        let end = base + size;
        for &(ob, oe, oi) in &placed {
            if base < oe && ob < end {
                src.err(
                    bat,
                    "memory-overlap",
                    format!(
                        "memory {base:#x}..{end:#x} overlaps domain {}'s memory {ob:#x}..{oe:#x}",
                        dname(&raw.domains[oi], oi)
                    ),
                );
            }
        }
        placed.push((base, end, i));
    }
}

/// `entry-offset`: a multiple of 4 inside the domain's memory.
pub(super) fn entry_offset(src: &mut Source, raw: &Raw) {
    for d in &raw.domains {
        if let Some((eo, at)) = d.entry_offset {
            if eo % 4 != 0 || d.size.is_some_and(|(s, _)| eo >= s) {
                src.err(
                    at,
                    "entry-offset",
                    format!("entry-offset {eo:#x} must be a multiple of 4 inside the domain's memory"),
                );
            }
        }
    }
}

/// `ldc-endpoints`: a channel names two different domains. Returns, per channel, whether
/// its endpoints are well formed (the other channel rules look only at those).
pub(super) fn ldc_endpoints(src: &mut Source, raw: &Raw) -> Vec<bool> {
    let mut ok = Vec::new();
    for c in &raw.channels {
        let Some((eps, eat)) = c.endpoints.as_ref().filter(|_| c.ok) else {
            ok.push(false);
            continue;
        };
        if eps.len() != 2 {
            src.err(*eat, "ldc-endpoints", format!("`endpoints` must name exactly two domains, found {}", eps.len()));
            ok.push(false);
        } else if eps[0].0 == eps[1].0 {
            src.err(
                eps[1].1,
                "ldc-endpoints",
                format!("a channel joins two different domains; both ends are {:?}", eps[0].0),
            );
            ok.push(false);
        } else {
            ok.push(true);
        }
    }
    ok
}

/// `ldc-endpoint-no-peer`: both endpoints are domains of the configuration.
pub(super) fn ldc_endpoint_no_peer(src: &mut Source, raw: &Raw, by_name: &HashMap<String, usize>, ok: &[bool]) {
    for (c, _) in raw.channels.iter().zip(ok).filter(|(_, ok)| **ok) {
        for (n, at) in c.endpoints.iter().flat_map(|(e, _)| e) {
            if !by_name.contains_key(n) {
                src.err(
                    *at,
                    "ldc-endpoint-no-peer",
                    format!("channel endpoint {n:?} is not a domain of this configuration"),
                );
            }
        }
    }
}

/// `ldc-limits` for explicit ids: two of them, each at most [`MAX_CHANNEL_ID`] (the
/// automatic ids are checked where they are given, in `assign_channel_ids`). Returns, per
/// channel, its explicit ids when they are well formed.
pub(super) fn ldc_limits(src: &mut Source, raw: &Raw, ok: &[bool]) -> Vec<Option<[(u64, usize); 2]>> {
    let mut out = Vec::new();
    for (c, ok) in raw.channels.iter().zip(ok) {
        let Some((ids, iat)) = c.ids.as_ref().filter(|_| *ok) else {
            out.push(None);
            continue;
        };
        if ids.len() != 2 {
            src.err(
                *iat,
                "ldc-limits",
                format!("`ids` must give two channel ids (one per endpoint), found {}", ids.len()),
            );
            out.push(None);
            continue;
        }
        let mut good = true;
        for &(id, at) in ids {
            if id > MAX_CHANNEL_ID {
                good = false;
                src.err(at, "ldc-limits", format!("channel id {id} is out of range: ids are 0..={MAX_CHANNEL_ID}"));
            }
        }
        out.push(good.then(|| [ids[0], ids[1]]));
    }
    out
}

/// `ldc-id-duplicate`: no domain has two channels with the same explicit id. Returns each
/// domain's ids in use (id → channel index).
pub(super) fn ldc_id_duplicate(
    src: &mut Source,
    raw: &Raw,
    by_name: &HashMap<String, usize>,
    explicit: &[Option<[(u64, usize); 2]>],
) -> Vec<BTreeMap<u64, usize>> {
    let mut in_use: Vec<BTreeMap<u64, usize>> = vec![BTreeMap::new(); raw.domains.len()];
    for (ci, (c, ids)) in raw.channels.iter().zip(explicit).enumerate() {
        let (Some(ids), Some((eps, _))) = (ids, &c.endpoints) else {
            continue;
        };
        for (k, &(id, at)) in ids.iter().enumerate() {
            let Some(&di) = by_name.get(&eps[k].0) else {
                continue;
            };
            if let Some(&prev) = in_use[di].get(&id) {
                let (l, _) = src.position(raw.channels[prev].span);
                src.err(
                    at,
                    "ldc-id-duplicate",
                    format!("domain {:?} already has channel id {id} (channel at line {l})", eps[k].0),
                );
            } else {
                in_use[di].insert(id, ci);
            }
        }
    }
    in_use
}

/// `network-name`: a network's `name`, when given, is valid like a domain name (1 to
/// [`MAX_DOMAIN_NAME`] letters, digits, `-`, `_`, starting with a letter) and no other
/// network has it. Returns every network's name (`net<index>` when not given).
pub(super) fn network_name(src: &mut Source, raw: &Raw) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, n) in raw.networks.iter().enumerate() {
        let name = match &n.name {
            Some((name, at)) => {
                if !valid_domain_name(name) {
                    src.err(
                        *at,
                        "network-name",
                        format!("network name {name:?}: use 1-{MAX_DOMAIN_NAME} letters, digits, `-` or `_`, starting with a letter"),
                    );
                } else if let Some(&first) = seen.get(name) {
                    let (l, _) = src.position(first);
                    src.err(*at, "network-name", format!("network name {name:?} is already used at line {l}"));
                } else {
                    seen.insert(name.clone(), *at);
                }
                name.clone()
            }
            None => format!("net{i}"),
        };
        names.push(name);
    }
    names
}

/// `network-domains`: a network's `domains` names at least two domains and none twice.
/// Returns, per network, whether it is well formed so far (the other network rules look
/// only at those).
pub(super) fn network_domains(src: &mut Source, raw: &Raw) -> Vec<bool> {
    let mut ok = Vec::new();
    for n in &raw.networks {
        let Some((doms, at)) = n.domains.as_ref().filter(|_| n.ok) else {
            ok.push(false);
            continue;
        };
        let mut good = true;
        if doms.len() < 2 {
            src.err(*at, "network-domains", format!("a network joins at least two domains, found {}", doms.len()));
            good = false;
        }
        for (k, (name, nat)) in doms.iter().enumerate() {
            if doms[..k].iter().any(|(o, _)| o == name) {
                src.err(*nat, "network-domains", format!("domain {name:?} is named twice in this network"));
                good = false;
            }
        }
        ok.push(good);
    }
    ok
}

/// `network-domain-unknown`: every domain a network names (in `domains`) is a domain of
/// the configuration.
pub(super) fn network_domain_unknown(src: &mut Source, raw: &Raw, by_name: &HashMap<String, usize>, ok: &mut [bool]) {
    for (n, ok) in raw.networks.iter().zip(ok.iter_mut()).filter(|(_, ok)| **ok) {
        for (name, at) in n.domains.iter().flat_map(|(d, _)| d) {
            if !by_name.contains_key(name) {
                src.err(
                    *at,
                    "network-domain-unknown",
                    format!("network domain {name:?} is not a domain of this configuration"),
                );
                *ok = false;
            }
        }
    }
}

/// The member index of `name` in a network's `domains`.
fn member_index(n: &super::RawNetwork, name: &str) -> Option<usize> {
    n.domains.as_ref().and_then(|(d, _)| d.iter().position(|(x, _)| x == name))
}

/// `network-switch-port`: `switch-port`, when given, names one of the network's domains.
/// Returns, per network, that domain's member index.
pub(super) fn network_switch_port(src: &mut Source, raw: &Raw, ok: &[bool]) -> Vec<Option<usize>> {
    let mut out = Vec::new();
    for (n, ok) in raw.networks.iter().zip(ok) {
        let Some((name, at)) = n.switch_port.as_ref().filter(|_| *ok) else {
            out.push(None);
            continue;
        };
        let m = member_index(n, name);
        if m.is_none() {
            src.err(*at, "network-switch-port", format!("switch-port {name:?} is not one of this network's domains"));
        }
        out.push(m);
    }
    out
}

/// `network-mac`: `macs`, when given, has one address per domain of `domains`, each
/// written `xx:xx:xx:xx:xx:xx`, unicast (bit 0 of the first byte clear) and not zero.
/// Returns, per network, the addresses given.
pub(super) fn network_mac(src: &mut Source, raw: &Raw, ok: &[bool]) -> Vec<Option<Vec<u64>>> {
    let mut out = Vec::new();
    for (n, ok) in raw.networks.iter().zip(ok) {
        let (Some((macs, at)), Some((doms, _)), true) = (&n.macs, &n.domains, *ok) else {
            out.push(None);
            continue;
        };
        if macs.len() != doms.len() {
            src.err(
                *at,
                "network-mac",
                format!("`macs` must give one address per domain ({}), found {}", doms.len(), macs.len()),
            );
            out.push(None);
            continue;
        }
        let mut vals = Vec::new();
        for (s, at) in macs {
            match super::parse_mac(s) {
                None => src.err(
                    *at,
                    "network-mac",
                    format!("{s:?} is not a MAC address (write e.g. \"02:00:00:00:00:01\")"),
                ),
                Some(0) => src.err(*at, "network-mac", format!("{s:?}: the all-zero address is not a station's")),
                Some(m) if m & (1 << 40) != 0 => src.err(
                    *at,
                    "network-mac",
                    format!("{s:?} is a multicast address (bit 0 of the first byte set); a port needs a unicast one"),
                ),
                Some(m) => vals.push(m),
            }
        }
        out.push((vals.len() == macs.len()).then_some(vals));
    }
    out
}

/// `network-mac-duplicate`: no two ports of any networks have the same MAC address, given
/// or default ([`super::DEFAULT_MAC_BASE`]). Returns, per network, its members' addresses
/// (empty for a network with errors).
pub(super) fn network_mac_duplicate(
    src: &mut Source,
    raw: &Raw,
    by_name: &HashMap<String, usize>,
    ok: &[bool],
    given: &[Option<Vec<u64>>],
) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    let mut seen: HashMap<u64, (usize, String)> = HashMap::new();
    for (ni, n) in raw.networks.iter().enumerate() {
        let Some((doms, _)) = n.domains.as_ref().filter(|_| ok[ni] && (n.macs.is_none() || given[ni].is_some())) else {
            out.push(Vec::new());
            continue;
        };
        let mut macs = Vec::new();
        for (k, (name, dat)) in doms.iter().enumerate() {
            let (mac, at) = match &given[ni] {
                Some(g) => (g[k], n.macs.as_ref().unwrap().0[k].1),
                None => (super::DEFAULT_MAC_BASE + 256 * ni as u64 + by_name[name] as u64 + 1, *dat),
            };
            if let Some((first, who)) = seen.get(&mac) {
                let (l, _) = src.position(*first);
                src.err(
                    at,
                    "network-mac-duplicate",
                    format!("MAC address {} of domain {name:?} is already {who}'s (line {l})", super::mac_text(mac)),
                );
            } else {
                seen.insert(mac, (at, format!("domain {name:?}'s")));
            }
            macs.push(mac);
        }
        out.push(macs);
    }
    out
}

/// `network-channel`: a `[[network.channel]]` (explicit channel ids for one pair) names two
/// different domains of its network, and no pair is given twice. Returns, per network, the
/// index of the `[[network.channel]]` of each pair of member indices (smaller first).
pub(super) fn network_channel(src: &mut Source, raw: &Raw, ok: &[bool]) -> Vec<BTreeMap<(usize, usize), usize>> {
    let mut out = Vec::new();
    for (n, ok) in raw.networks.iter().zip(ok) {
        let mut pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        if !*ok {
            out.push(pairs);
            continue;
        }
        for (ci, c) in n.channels.iter().enumerate() {
            let Some((eps, eat)) = c.endpoints.as_ref().filter(|_| c.ok) else { continue };
            if eps.len() != 2 {
                src.err(
                    *eat,
                    "network-channel",
                    format!("`endpoints` must name exactly two domains, found {}", eps.len()),
                );
                continue;
            }
            let (a, b) = (member_index(n, &eps[0].0), member_index(n, &eps[1].0));
            let (Some(a), Some(b)) = (a, b) else {
                let (name, at) = if a.is_none() { &eps[0] } else { &eps[1] };
                src.err(*at, "network-channel", format!("{name:?} is not one of this network's domains"));
                continue;
            };
            if a == b {
                src.err(
                    eps[1].1,
                    "network-channel",
                    format!("a channel joins two different domains; both ends are {:?}", eps[0].0),
                );
                continue;
            }
            let key = (a.min(b), a.max(b));
            if let Some(&prev) = pairs.get(&key) {
                let (l, _) = src.position(n.channels[prev].span);
                src.err(
                    c.span,
                    "network-channel",
                    format!("the channel between {:?} and {:?} is already given at line {l}", eps[0].0, eps[1].0),
                );
                continue;
            }
            pairs.insert(key, ci);
        }
        out.push(pairs);
    }
    out
}
