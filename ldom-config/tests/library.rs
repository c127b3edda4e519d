//! Library API: build layout, MD contents, error collection, and the MD checker on
//! corrupted variants of our own output.

use hv_api::md::MachineDescription;
use ldom_config::build::{MD_ROM_PA, PROM_GUEST_BASE};
use ldom_config::md::{Md, NodeId, Value};
use ldom_config::mdlint::{self, lint, Profile, Severity, RULES};
use ldom_config::{Build, ImageResolver};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct Fake(usize);
impl ImageResolver for Fake {
    fn resolve(&mut self, name: &str, _realbase: u64) -> Result<Vec<u8>, String> {
        match name {
            "test-guest" => Ok(vec![0x5a; self.0]),
            n => Err(format!("no image {n:?}")),
        }
    }
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs").join(format!("{name}.toml"))
}

fn build(name: &str, image: usize) -> Build {
    ldom_config::build(&example(name), &mut Fake(image)).unwrap_or_else(|e| panic!("{e}"))
}

fn tmp_config(tag: &str, text: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ldom-config-lib-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join("c.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn one_domain_layout() {
    let b = build("one-domain", 0x1234);
    assert_eq!(b.ram_size, 256 << 20);
    assert_eq!(b.domains.len(), 1);
    let d = &b.domains[0];
    assert_eq!(
        (d.name.as_str(), d.realbase, d.rombase, d.romsize, d.pdpa),
        ("primary", 0x8000_0000, PROM_GUEST_BASE, 0x1240, MD_ROM_PA)
    );
    assert_eq!(b.md_rom, d.guest_md);
    assert_eq!(b.prom_guest_area.len(), 0x1240);
    assert!(b.prom_guest_area[..0x1234].iter().all(|&x| x == 0x5a));

    let md = MachineDescription::new(&b.hv_md).unwrap();
    let root = md.root().unwrap();
    assert_eq!(root.val("hvuart"), Some(0xfff0c2c000));
    assert_eq!(root.val("tod"), Some(0xfff0c1fff8));
    let g = root.arc("guests").unwrap().arc("guest").unwrap();
    for (p, v) in [
        ("gid", 0),
        ("pid", 1),
        ("xid", 16),
        ("cpuset", 1),
        ("membase", 0x8000_0000),
        ("memsize", 256 << 20),
        ("realbase", 0x8000_0000),
        ("uartbase", 0x1f10000000),
        ("nvbase", 0x1f11000000),
        ("nvsize", 0x2000),
        ("rombase", 0xfff0080000),
        ("romsize", 0x1240),
        ("diskpa", 0x1f40000000),
        ("pdpa", 0x1f12000000),
        ("bootcpu", 0),
        ("perfctraccess", 1),
        ("entry-offset", 0x20),
    ] {
        assert_eq!(g.val(p), Some(v), "guest {p}");
    }
    assert_eq!(g.str("name"), Some("primary"));
    assert_eq!(g.str("failure-policy"), Some("stop"));
    let cpu = root.arc("cpus").unwrap().arc("cpu").unwrap();
    assert_eq!((cpu.val("pid"), cpu.val("vid")), (Some(0), Some(0)));
    assert_eq!(cpu.arc("guest").unwrap().index(), g.index());
    assert!(root.arc("ldc_endpoints").is_none());

    let gm = MachineDescription::new(&b.md_rom).unwrap();
    let plat = gm.nodes_named("platform").next().unwrap();
    assert_eq!(plat.val("stick-frequency"), Some(100_000_000));
    assert!(plat.val("domaining-enabled").is_none());
    let c = gm.nodes_named("cpu").next().unwrap();
    assert_eq!(c.val("clock-frequency"), Some(100_000_000));
    assert_eq!(c.val("mmu-page-size-list"), Some(0x0b));
    let mb = gm.nodes_named("mblock").next().unwrap();
    assert_eq!(
        (mb.val("base"), mb.val("size"), mb.val("address-congruence-offset")),
        (Some(0x8000_0000), Some(256 << 20), Some(0))
    );
    // every frequency in the guest MD is 100 MHz
    for n in gm.nodes() {
        for p in n.properties() {
            if p.name.ends_with("frequency") {
                assert!(matches!(p.value, hv_api::md::PropValue::Val(100_000_000)), "{} {}", n.name(), p.name);
            }
        }
    }
}

#[test]
fn two_domain_layout_and_channels() {
    let b = build("two-domains-ldc", 0x11000);
    let (d0, d1) = (&b.domains[0], &b.domains[1]);
    assert_eq!(d0.rombase, PROM_GUEST_BASE);
    assert_eq!(d1.rombase, PROM_GUEST_BASE + 0x20000, "second image 64 KiB aligned after the first");
    assert_eq!(d0.pdpa, MD_ROM_PA);
    assert_eq!(d1.pdpa, PROM_GUEST_BASE + 0x32000, "guest MD of domain 1 8 KiB aligned after the images");
    let off = (d1.pdpa - PROM_GUEST_BASE) as usize;
    assert_eq!(&b.prom_guest_area[off..], &d1.guest_md[..]);

    let md = MachineDescription::new(&b.hv_md).unwrap();
    let eps: Vec<_> = md.root().unwrap().arc("ldc_endpoints").unwrap().arcs("ldc_endpoint").collect();
    assert_eq!(eps.len(), 4);
    let ids: Vec<(u64, u64)> =
        eps.iter().map(|e| (e.val("channel").unwrap(), e.val("target_channel").unwrap())).collect();
    assert_eq!(ids, vec![(0, 0), (0, 0), (5, 1), (1, 5)]);
    assert_eq!(eps[2].val("tx-ino"), Some(0x2a));
    assert_eq!(eps[2].val("rx-ino"), Some(0x2b));

    for (d, want) in [(d0, vec![0u64, 5]), (d1, vec![0, 1])] {
        let g = MachineDescription::new(&d.guest_md).unwrap();
        let ids: Vec<u64> = g.nodes_named("channel-endpoint").map(|n| n.val("id").unwrap()).collect();
        assert_eq!(ids, want);
        assert_eq!(g.nodes_named("platform").next().unwrap().val("domaining-enabled"), Some(1));
    }
}

#[test]
fn outputs_pass_the_checker_strictly_and_round_trip() {
    for ex in ["one-domain", "two-domains", "two-domains-ldc", "two-domains-vnet"] {
        let b = build(ex, 4096);
        let mut all = vec![(b.hv_md.clone(), "hv")];
        all.extend(b.domains.iter().map(|d| (d.guest_md.clone(), "guest")));
        for (bytes, kind) in all {
            let r = lint(&bytes, Profile::Auto);
            assert_eq!(r.kind, Some(kind));
            assert!(r.clean(), "{ex} {kind}: {:#?}", r.findings);
            let again = ldom_config::dump::parse(&bytes).unwrap().to_bytes();
            assert_eq!(again, bytes, "{ex} {kind}: reader -> model -> writer is the identity");
        }
    }
}

#[test]
fn all_errors_are_collected() {
    let p = tmp_config(
        "many",
        r#"[platform]
strands = 2
[[domain]]
name = "a"
vcpus = [0, 0, 7]
memory = { base = 0x80001000, size = "64M" }
image = "test-guest"
colour = "blue"
[[domain]]
name = "a"
vcpus = [1]
memory = { base = 0x80000000, size = "64M" }
image = "test-guest"
"#,
    );
    let e = ldom_config::load(&p).unwrap_err();
    let got: Vec<(&str, usize)> = e.iter().map(|e| (e.rule, e.line)).collect();
    assert_eq!(
        got,
        vec![
            ("unknown-key", 8),
            ("domain-name-duplicate", 10),
            ("strand-outside-platform", 5),
            ("strand-twice", 5),
            ("memory-unaligned", 6),
        ],
        "{e}"
    );
    let s = e.to_string();
    assert!(s.starts_with(&format!("{}:8:1: error[unknown-key]: unknown key `colour`", p.display())), "{s}");
    let _ = std::fs::remove_dir_all(p.parent().unwrap());
}

#[test]
fn defaults_and_sizes() {
    let p = tmp_config(
        "defaults",
        "[[domain]]\nname = \"p\"\nvcpus = [0]\nmemory = { base = \"0x80000000\", size = 0x4000000 }\nimage = \"sub/guest.img\"\n",
    );
    let c = ldom_config::load(&p).unwrap();
    assert_eq!(c.platform.ram_size, 256 << 20);
    assert_eq!(c.platform.strands, 1);
    let d = &c.domains[0];
    assert_eq!((d.membase, d.memsize, d.entry_offset), (0x8000_0000, 64 << 20, 0x20));
    assert_eq!(d.failure_policy, ldom_config::config::FailurePolicy::Stop);
    assert_eq!(d.image, ldom_config::config::ImageRef::Path("sub/guest.img".into()));
    // paths are relative to the configuration file
    let dir = p.parent().unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/guest.img"), [1u8; 100]).unwrap();
    let b = ldom_config::build(&p, &mut Fake(0)).unwrap();
    assert_eq!(b.domains[0].romsize, 112);
    let _ = std::fs::remove_dir_all(p.parent().unwrap());
}

/// `realbase` (default `base`) is where the guest sees its memory: it may differ from `base`,
/// two domains may share it (their `base` ranges still may not overlap), it is aligned like
/// `base` and stays below 2^40; the build puts it in the HV MD, the guest MD's mblock and
/// the resolver's link address, and the MD checker accepts it.
#[test]
fn realbase_may_differ_from_base() {
    let dom = |name: &str, strand: u64, base: &str, realbase: &str| {
        format!(
            "[[domain]]\nname = \"{name}\"\nvcpus = [{strand}]\n\
             memory = {{ base = {base}, size = \"256M\", realbase = {realbase} }}\nimage = \"test-guest\"\n"
        )
    };
    let head = "[platform]\nram-size = \"512M\"\nstrands = 2\n";
    let text = format!("{head}{}{}", dom("a", 0, "0x80000000", "0x80000000"), dom("b", 1, "0x90000000", "0x80000000"));
    let p = tmp_config("realbase", &text);
    let c = ldom_config::load(&p).unwrap_or_else(|e| panic!("{e}"));
    let bases: Vec<(u64, u64)> = c.domains.iter().map(|d| (d.membase, d.realbase)).collect();
    assert_eq!(bases, [(0x8000_0000, 0x8000_0000), (0x9000_0000, 0x8000_0000)]);
    struct Linked(Vec<u64>);
    impl ImageResolver for Linked {
        fn resolve(&mut self, _name: &str, realbase: u64) -> Result<Vec<u8>, String> {
            self.0.push(realbase);
            Ok(vec![0x5a; 64])
        }
    }
    let mut linked = Linked(Vec::new());
    let b = ldom_config::build(&p, &mut linked).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(linked.0, [0x8000_0000, 0x8000_0000], "images are linked for their realbase");
    let md = MachineDescription::new(&b.hv_md).unwrap();
    let g = md.root().unwrap().arc("guests").unwrap().arcs("guest").nth(1).unwrap();
    assert_eq!((g.val("membase"), g.val("realbase")), (Some(0x9000_0000), Some(0x8000_0000)));
    let gmd = MachineDescription::new(&b.domains[1].guest_md).unwrap();
    let mblock = gmd.nodes_named("mblock").next().unwrap();
    assert_eq!(mblock.val("base"), Some(0x8000_0000));
    let r = lint(&b.hv_md, Profile::Hv);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    // Overlapping bases are still refused, whatever the realbases.
    let text = format!("{head}{}{}", dom("a", 0, "0x80000000", "0x80000000"), dom("b", 1, "0x80000000", "0x90000000"));
    let e = ldom_config::load(&tmp_config("realbase-overlap", &text)).unwrap_err();
    assert_eq!(e.rules(), vec!["memory-overlap"], "{e}");
    // Aligned like base, and the real range below 2^40.
    for (realbase, needle) in [
        ("0x80200000", "realbase 0x80200000 is not a multiple of 4 MiB"),
        ("0xfff4000000", "does not fit the 40-bit real address space"),
        ("\"0xffffffffffc00000\"", "does not fit the 40-bit real address space"),
    ] {
        let text = format!("{head}{}", dom("a", 0, "0x80000000", realbase));
        let e = ldom_config::load(&tmp_config("realbase-bad", &text)).unwrap_err();
        assert_eq!((e.rules(), e.0[0].line), (vec!["memory-realbase"], 7), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    // The last 256 MiB below 2^40 is fine.
    let text = format!("{head}{}", dom("a", 0, "0x80000000", "0xfff0000000"));
    ldom_config::load(&tmp_config("realbase-top", &text)).unwrap_or_else(|e| panic!("{e}"));
    for tag in ["realbase", "realbase-overlap", "realbase-bad", "realbase-top"] {
        let _ = std::fs::remove_dir_all(tmp_config(tag, "").parent().unwrap());
    }
}

#[test]
fn a_size_without_unit_is_refused() {
    let p = tmp_config(
        "bare-size",
        "[[domain]]\nname = \"p\"\nvcpus = [0]\nmemory = { base = 0x80000000, size = \"256\" }\nimage = \"g\"\n",
    );
    let e = ldom_config::load(&p).unwrap_err();
    let got: Vec<(&str, usize)> = e.iter().map(|e| (e.rule, e.line)).collect();
    assert_eq!(got, vec![("bad-value", 4)], "{e}");
    assert!(e.to_string().contains("needs a unit"), "{e}");
    let _ = std::fs::remove_dir_all(p.parent().unwrap());
}

#[test]
fn prom_area_overflow_is_image_too_large() {
    let p = tmp_config(
        "overflow",
        "[platform]\nstrands = 2\nram-size = \"1G\"\n[[domain]]\nname = \"a\"\nvcpus = [0]\nmemory = { base = 0x80000000, size = \"64M\" }\nimage = \"test-guest\"\n[[domain]]\nname = \"b\"\nvcpus = [1]\nmemory = { base = 0x84000000, size = \"64M\" }\nimage = \"test-guest\"\n",
    );
    let e = ldom_config::build(&p, &mut Fake(0x200000)).unwrap_err();
    assert_eq!(e.rules(), vec!["image-too-large"], "{e}");
    assert_eq!(e.0[0].line, 13, "{e}");
    let _ = std::fs::remove_dir_all(p.parent().unwrap());
}

// ---- the checker on corrupted variants ------------------------------------------------

fn hv() -> Vec<u8> {
    build("one-domain", 4096).hv_md
}

fn guest() -> Vec<u8> {
    build("one-domain", 4096).md_rom
}

/// Element index of property `prop` of the first node named `node`.
fn elem(bytes: &[u8], node: &str, prop: &str) -> usize {
    let md = MachineDescription::new(bytes).unwrap();
    let n = md.nodes_named(node).next().unwrap();
    n.index() + 1 + n.properties().position(|p| p.name == prop).unwrap()
}

fn set_val(bytes: &mut [u8], el: usize, v: u64) {
    bytes[16 + el * 16 + 8..16 + el * 16 + 16].copy_from_slice(&v.to_be_bytes());
}

fn name_block(bytes: &[u8]) -> usize {
    16 + u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize
}

fn rename(bytes: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let nb = name_block(bytes);
    let pat: Vec<u8> = [from.as_bytes(), b"\0"].concat();
    // the first occurrence that starts a string
    let at = (0..bytes.len() - nb - pat.len())
        .find(|&i| bytes[nb + i..nb + i + pat.len()] == pat[..] && (i == 0 || bytes[nb + i - 1] == 0))
        .unwrap();
    bytes[nb + at..nb + at + from.len()].copy_from_slice(to.as_bytes());
}

/// Builds `example`'s MDs, rewrites one through the MD writer's model, returns its bytes.
fn edited(example: &str, which: Which, f: impl FnOnce(&mut Md)) -> Vec<u8> {
    let b = build(example, 4096);
    let bytes = match which {
        Which::Hv => b.hv_md,
        Which::Guest(d) => b.domains[d].guest_md.clone(),
    };
    let mut md = ldom_config::dump::parse(&bytes).unwrap();
    f(&mut md);
    md.to_bytes()
}

/// one-domain's guest MD with its first node `from` renamed `to`.
fn renamed_node(from: &str, to: &str) -> Vec<u8> {
    edited("one-domain", Which::Guest(0), |md| {
        let n = node(md, from, 0);
        md.nodes[n].name = to.into();
    })
}

/// Which MD of a build [`edited`] rewrites.
#[derive(Clone, Copy)]
enum Which {
    Hv,
    Guest(usize),
}

/// The id of the `k`-th node named `name`.
fn node(md: &Md, name: &str, k: usize) -> NodeId {
    md.nodes_named(name).nth(k).unwrap_or_else(|| panic!("no {name} node {k}"))
}

/// The value of the first property `prop` of `n`.
fn prop<'m>(md: &'m mut Md, n: NodeId, prop: &str) -> &'m mut Value {
    let p = md.nodes[n].props.iter_mut().find(|p| p.name == prop).unwrap_or_else(|| panic!("no property {prop}"));
    &mut p.value
}

/// Removes every property `prop` of `n`.
fn remove(md: &mut Md, n: NodeId, prop: &str) {
    md.nodes[n].props.retain(|p| p.name != prop);
}

/// Absolute byte offset of the payload of string/data property element `el`.
fn payload(bytes: &[u8], el: usize) -> usize {
    let off = u32::from_be_bytes(bytes[16 + el * 16 + 12..16 + el * 16 + 16].try_into().unwrap()) as usize;
    let name_sz = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
    name_block(bytes) + name_sz + off
}

/// Offset of `name` in the name block.
fn name_offset(bytes: &[u8], name: &str) -> u32 {
    let nb = name_block(bytes);
    let pat: Vec<u8> = [name.as_bytes(), b"\0"].concat();
    (0..bytes.len() - nb - pat.len())
        .find(|&i| bytes[nb + i..nb + i + pat.len()] == pat[..] && (i == 0 || bytes[nb + i - 1] == 0))
        .unwrap() as u32
}

/// Index of the last element (LIST_END).
fn last_element(bytes: &[u8]) -> usize {
    u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize / 16 - 1
}

/// A broken MD and the rule the checker must report for it, with part of the message.
struct Case {
    rule: &'static str,
    bytes: Vec<u8>,
    profile: Profile,
    needle: &'static str,
}

fn case(rule: &'static str, bytes: Vec<u8>, profile: Profile, needle: &'static str) -> Case {
    Case { rule, bytes, profile, needle }
}

/// Checks that `c.bytes` breaks rule `c.rule` with a message containing `c.needle` and
/// the rule's severity; returns that severity.
fn expect(c: &Case) -> Severity {
    let r = lint(&c.bytes, c.profile);
    let all: Vec<String> = r.findings.iter().map(|f| f.to_string()).collect();
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == c.rule && f.to_string().contains(c.needle))
        .unwrap_or_else(|| panic!("wanted [{}] containing {:?}, got {all:#?}", c.rule, c.needle));
    let rule = mdlint::rule(c.rule).unwrap();
    assert_eq!(f.severity, rule.severity, "{f}");
    assert!(f.to_string().starts_with(&format!("{}[{}]: ", f.severity, c.rule)), "{f}");
    f.severity
}

/// Corruptions that each break one error rule.
fn error_cases() -> Vec<Case> {
    use Profile::{Auto, Guest, Hv};
    let mut v = Vec::new();

    // transport: header
    v.push(case("header-short", hv()[..8].to_vec(), Auto, "8 bytes: shorter than the 16-byte header"));
    let mut b = hv();
    b[3] = 1;
    v.push(case("header-version", b, Auto, "transport version 0x00010001"));
    let mut b = hv();
    b[4..8].copy_from_slice(&0x18u32.to_be_bytes());
    v.push(case("header-node-block", b, Auto, "node block size 0x18 is not a non-zero multiple of 16"));
    let b = hv();
    v.push(case("header-sizes", b[..b.len() - 1].to_vec(), Auto, "header block sizes add up to"));
    let mut b = hv();
    b.extend_from_slice(&[0; 16]);
    v.push(case("trailing-bytes", b, Auto, "16 bytes after the data block"));

    // transport: name block
    let mut b = hv();
    let (nb, name_sz) = (name_block(&b), u32::from_be_bytes(b[8..12].try_into().unwrap()) as usize);
    let last = (nb..nb + name_sz).rev().find(|&i| b[i] != 0).unwrap();
    b[last + 1..nb + name_sz].fill(b'x');
    v.push(case("name-block-unterminated", b, Auto, "has no NUL"));
    let mut b = hv();
    let nb = name_block(&b);
    b[nb] = 0;
    v.push(case("name-block-gap", b, Auto, "name block: empty name at offset 0x0 followed by more names"));
    let mut b = hv();
    let at = name_block(&b) + name_offset(&b, "tod") as usize;
    b[at] = 0xff;
    v.push(case("name-block-utf8", b, Auto, "is not UTF-8"));
    let mut b = hv();
    rename(&mut b, "tod", "pid");
    v.push(case("name-block-duplicate", b, Auto, "\"pid\" is stored twice"));

    // transport: elements
    let mut b = hv();
    let last = last_element(&b);
    b[16 + (last - 1) * 16] = 0;
    v.push(case("element-after-list-end", b, Auto, "element after LIST_END"));
    let mut b = hv();
    b[16] = b'X';
    v.push(case("unknown-tag", b, Auto, "element 0 (byte 0x10): unknown tag 0x58"));
    let mut b = hv();
    b[16 + 4 + 3] = 1; // root's name offset -> middle of "root"
    v.push(case("name-offset", b, Auto, "name offset 0x1 is not the start of a name"));
    let mut b = hv();
    b[17] = 5;
    v.push(case("name-len", b, Auto, "element 0 (byte 0x10): name_len 5 but the name \"root\" has 4 bytes"));
    let mut b = hv();
    let e = elem(&b, "root", "cpus");
    set_val(&mut b, e, 2);
    v.push(case("arc-target", b, Auto, "arc \"cpus\" to element 2, which is not a NODE"));
    let mut b = hv();
    set_val(&mut b, e, 10_000);
    v.push(case("arc-target", b, Auto, "past the end of the node block"));
    let mut b = hv();
    let e = elem(&b, "guest", "name");
    b[16 + e * 16 + 12..16 + e * 16 + 16].copy_from_slice(&0xffffu32.to_be_bytes());
    v.push(case("data-range", b, Auto, "property \"name\": data 0xffff+"));
    let mut b = hv();
    let lenpos = 16 + e * 16 + 8;
    let len = u32::from_be_bytes(b[lenpos..lenpos + 4].try_into().unwrap());
    b[lenpos..lenpos + 4].copy_from_slice(&(len - 1).to_be_bytes());
    v.push(case("string-unterminated", b, Auto, "string property \"name\" is not NUL-terminated"));
    let mut b = hv();
    let at = payload(&b, e);
    b[at + 1] = 0;
    v.push(case("string-inner-nul", b, Auto, "string property \"name\" contains a NUL before its end"));
    let mut b = hv();
    b[at] = 0xff;
    v.push(case("string-utf8", b, Auto, "string property \"name\" is not UTF-8"));
    let mut b = hv();
    let root_end = (0..).find(|&i| b[16 + i * 16] == b'E').unwrap();
    b[16 + root_end * 16] = 0x20;
    v.push(case("node-unterminated", b, Auto, "NODE inside the root node at element 0 (no NODE_END)"));
    let mut b = hv();
    let cpus = MachineDescription::new(&b).unwrap().nodes_named("cpus").next().unwrap().index();
    b[16 + cpus * 16] = 0x20;
    v.push(case("node-end-outside", b.clone(), Auto, "NODE_END outside a node"));
    v.push(case("property-outside-node", b, Auto, "property \"cpu\" outside a node"));
    let mut b = hv();
    let last = last_element(&b);
    b[16 + last * 16] = b'E';
    v.push(case("no-list-end", b, Auto, "no LIST_END element"));
    let mut b = hv();
    set_val(&mut b, 0, 5);
    v.push(case("node-chain", b, Auto, "the root node at element 0's next-node index is 5, expected"));

    // graph
    let mut b = hv();
    b[16 + cpus * 16 + 1] = 4;
    b[16 + cpus * 16 + 4..16 + cpus * 16 + 8].copy_from_slice(&0u32.to_be_bytes());
    v.push(case("root-count", b, Auto, "2 nodes named \"root\""));

    // both profiles
    let mut b = hv();
    rename(&mut b, "hvuart", "hvuarx");
    v.push(case("required-props", b, Auto, "the root node at element 0 lacks \"hvuart\""));
    let mut b = guest();
    rename(&mut b, "stick-frequency", "stick-frequencx");
    v.push(case("required-props", b, Auto, "lacks \"stick-frequency\""));
    let mut b = guest();
    rename(&mut b, "id", "ix");
    v.push(case("required-props", b, Guest, "lacks \"id\""));
    let b = edited("one-domain", Which::Hv, |md| {
        let g = node(md, "guest", 0);
        *prop(md, g, "gid") = Value::Str("0".into());
    });
    v.push(case("property-kind", b, Auto, "'s \"gid\" must be a value property"));
    let b = edited("one-domain", Which::Hv, |md| {
        let g = node(md, "guest", 0);
        *prop(md, g, "failure-policy") = Value::Val(1);
    });
    v.push(case("property-kind", b, Auto, "'s \"failure-policy\" must be a string property"));

    // hypervisor profile
    v.push(case("hv-root", guest(), Hv, "must have exactly one \"cpus\" arc"));
    let b = edited("one-domain", Which::Hv, |md| {
        let (gs, c) = (node(md, "guests", 0), node(md, "cpus", 0));
        md.arc(gs, "guest", c);
    });
    v.push(case("hv-guest-arc", b, Auto, "a \"guest\" arc of the guests node leads to a cpus node"));
    let b = edited("one-domain", Which::Hv, |md| {
        let g = node(md, "guest", 0);
        remove(md, g, "gid");
    });
    v.push(case("hv-guest-none", b, Auto, "the guests node has no guest"));
    let b = edited("two-domains", Which::Hv, |md| {
        let g = node(md, "guest", 1);
        *prop(md, g, "gid") = Value::Val(0);
    });
    v.push(case("hv-gid-duplicate", b, Auto, "gid 0 is used by two guests"));
    let b = edited("one-domain", Which::Hv, |md| {
        let g = node(md, "guest", 0);
        *prop(md, g, "realbase") = Value::Val(0x8000_1000);
    });
    v.push(case("hv-guest-realbase", b, Auto, "realbase 0x80001000 is not 8 KiB aligned"));
    let b = edited("one-domain", Which::Hv, |md| {
        let g = node(md, "guest", 0);
        *prop(md, g, "realbase") = Value::Val(0xffff_ffff_ffff_e000);
    });
    v.push(case("hv-guest-realbase", b, Auto, "realbase 0xffffffffffffe000 + memsize 0x10000000 wraps"));
    let b = edited("one-domain", Which::Hv, |md| {
        let g = node(md, "guest", 0);
        *prop(md, g, "failure-policy") = Value::Str("explode".into());
    });
    v.push(case("hv-failure-policy", b, Auto, "failure-policy \"explode\" is not stop, reset or ignore"));
    let b = edited("one-domain", Which::Hv, |md| {
        let (c, gs) = (node(md, "cpus", 0), node(md, "guests", 0));
        md.arc(c, "cpu", gs);
    });
    v.push(case("hv-cpu-arc", b, Auto, "a \"cpu\" arc of the cpus node leads to a guests node"));
    let b = edited("one-domain", Which::Hv, |md| {
        let c = node(md, "cpu", 0);
        remove(md, c, "guest");
    });
    v.push(case("hv-cpu-guest", b, Auto, "must have exactly one \"guest\" arc, it has 0"));
    let b = edited("one-domain", Which::Hv, |md| {
        let c = node(md, "cpu", 0);
        *prop(md, c, "pid") = Value::Val(64);
    });
    v.push(case("hv-pid-range", b, Auto, "pid 64 does not fit a 64-bit cpuset"));
    let b = edited("two-domains", Which::Hv, |md| {
        let c = node(md, "cpu", 1);
        *prop(md, c, "pid") = Value::Val(0);
    });
    v.push(case("hv-pid-duplicate", b, Auto, "strand (pid) 0 is given twice"));
    let mut b = hv();
    let e = elem(&b, "guest", "cpuset");
    set_val(&mut b, e, 3);
    v.push(case("hv-cpuset", b, Auto, "cpuset 0x3 does not match the pids of its cpu nodes (0x1)"));
    let b = edited("one-domain", Which::Hv, |md| {
        let (cpus, c) = (node(md, "cpus", 0), node(md, "cpu", 0));
        let mut twin = md.nodes[c].clone();
        twin.props.iter_mut().find(|p| p.name == "pid").unwrap().value = Value::Val(1);
        md.nodes.push(twin);
        let t = md.nodes.len() - 1;
        md.arc(cpus, "cpu", t);
    });
    v.push(case("hv-vid-duplicate", b, Auto, "has two vCPUs with vid 0"));
    let mut b = hv();
    let e = elem(&b, "guest", "bootcpu");
    set_val(&mut b, e, 1);
    v.push(case("hv-bootcpu", b, Auto, "bootcpu 1 is not one of its vids"));
    let b = edited("two-domains-ldc", Which::Hv, |md| {
        let e = node(md, "ldc_endpoint", 0);
        remove(md, e, "target_guest");
    });
    v.push(case("hv-ldc-arcs", b, Auto, "must have exactly one \"target_guest\" arc, it has 0"));
    let b = edited("two-domains-ldc", Which::Hv, |md| {
        let e = node(md, "ldc_endpoint", 2);
        *prop(md, e, "channel") = Value::Val(0);
    });
    v.push(case("hv-ldc-duplicate", b, Auto, "channel 0 of the guest node at element"));
    let b = edited("two-domains-ldc", Which::Hv, |md| {
        let e = node(md, "ldc_endpoint", 0);
        *prop(md, e, "target_channel") = Value::Val(7);
    });
    v.push(case("hv-ldc-peer", b, Auto, "(channel 0) has no matching peer endpoint"));

    // guest profile
    let b = renamed_node("platform", "plat");
    v.push(case("guest-platform-count", b, Auto, "0 platform nodes; exactly one is required"));
    let b = renamed_node("cpu", "cpx");
    v.push(case("guest-cpu-none", b, Auto, "no cpu node"));
    let b = edited("one-domain", Which::Guest(0), |md| {
        let c = node(md, "cpu", 0);
        let twin = md.nodes[c].clone();
        md.nodes.push(twin);
    });
    v.push(case("guest-cpu-id-duplicate", b, Auto, "cpu id 0 is used twice"));
    let mut b = guest();
    let e = elem(&b, "cpu", "mmu-page-size-list");
    set_val(&mut b, e, 0);
    v.push(case("guest-page-size-zero", b, Guest, "mmu-page-size-list is 0"));
    let b = renamed_node("mblock", "mblocx");
    v.push(case("guest-mblock-none", b, Auto, "no mblock node: the guest has no memory"));
    let b = edited("one-domain", Which::Guest(0), |md| {
        let m = node(md, "mblock", 0);
        *prop(md, m, "size") = Value::Val(0);
    });
    v.push(case("guest-mblock-range", b, Auto, "mblock size is 0"));
    let b = edited("one-domain", Which::Guest(0), |md| {
        let m = node(md, "mblock", 0);
        *prop(md, m, "base") = Value::Val(u64::MAX);
    });
    v.push(case("guest-mblock-range", b, Auto, "mblock base + size overflows"));
    let b = edited("two-domains-ldc", Which::Guest(0), |md| {
        let c = node(md, "channel-devices", 0);
        *prop(md, c, "compatible") = Value::Str("SUNW,sun4v-channel".into());
    });
    v.push(case("guest-channel-devices", b, Auto, "channel-devices lacks compatible"));
    let b = edited("two-domains-ldc", Which::Guest(0), |md| {
        let e = node(md, "channel-endpoint", 1);
        *prop(md, e, "id") = Value::Val(0);
    });
    v.push(case("guest-channel-id-duplicate", b, Auto, "channel id 0 is described twice"));
    let b = edited("two-domains-vnet", Which::Guest(1), |md| {
        let p = node(md, "virtual-device-port", 0);
        remove(md, p, "remote-mac-address");
    });
    v.push(case("guest-vnet-port", b, Auto, "lacks a value \"remote-mac-address\""));
    let b = edited("two-domains-vnet", Which::Guest(0), |md| {
        let p = node(md, "virtual-device-port", 0);
        md.nodes[p].props.retain(|q| q.name != "fwd");
    });
    v.push(case("guest-vnet-port", b, Auto, "has no fwd arc to a channel-endpoint"));
    let b = edited("two-domains-vnet", Which::Guest(0), |md| {
        let n = node(md, "virtual-device", 4);
        *prop(md, n, "name") = Value::Str("netwerk".into());
    });
    v.push(case("guest-vnet-port", b, Auto, "leads to a \"network\" node"));
    v
}

/// Variants that each break one warning rule.
fn warning_cases() -> Vec<Case> {
    use Profile::Auto;
    let mut v = Vec::new();
    let b = edited("one-domain", Which::Hv, |md| {
        md.data(0, "pad", &[0x5a; 0x2000]);
    });
    v.push(case("md-too-large", b, Auto, "more than the 8192-byte niagara MD slot"));
    let mut b = hv();
    let (nb, name_sz) = (name_block(&b), u32::from_be_bytes(b[8..12].try_into().unwrap()) as usize);
    b.insert(nb + name_sz, 0);
    b[8..12].copy_from_slice(&(name_sz as u32 + 1).to_be_bytes());
    v.push(case("name-block-size", b, Auto, "is not a multiple of 16 (mdgen pads it)"));
    let mut b = hv();
    b[16 + 2] = 1;
    v.push(case("reserved-bytes", b, Auto, "element 0 (byte 0x10): reserved bytes 2..4 are not zero"));
    let mut b = hv();
    let last = last_element(&b);
    b[16 + last * 16 + 1] = 1;
    v.push(case("end-fields", b, Auto, "LIST_END element has non-zero fields"));
    let mut b = hv();
    let e = elem(&b, "root", "tod");
    let pid = name_offset(&b, "pid");
    b[16 + e * 16 + 4..16 + e * 16 + 8].copy_from_slice(&pid.to_be_bytes());
    v.push(case("name-unused", b, Auto, "name \"tod\" (offset"));
    let b = edited("one-domain", Which::Guest(0), |md| {
        md.add_node("orphan");
    });
    v.push(case("node-unreachable", b, Auto, "the orphan node at element"));
    let b = edited("one-domain", Which::Hv, |md| {
        let c = node(md, "cpu", 0);
        md.arc(c, "back", 0);
    });
    v.push(case(
        "back-without-fwd",
        b,
        Auto,
        "has a back arc to the root node at element 0, which has no fwd arc to it",
    ));
    let b = edited("one-domain", Which::Guest(0), |md| {
        let c = node(md, "cpu", 0);
        md.arc(0, "fwd", c);
    });
    v.push(case("fwd-without-back", b, Auto, "whose back arcs do not lead back"));
    let b = edited("one-domain", Which::Guest(0), |md| {
        let c = node(md, "cpu", 0);
        remove(md, c, "isalist");
    });
    v.push(case("guest-recommended-props", b, Auto, "lacks \"isalist\""));
    let mut b = guest();
    let e = elem(&b, "platform", "stick-frequency");
    set_val(&mut b, e, 5_000_000);
    v.push(case("guest-stick-frequency", b, Auto, "stick-frequency 5000000 is not 100000000"));
    let mut b = guest();
    let e = elem(&b, "cpu", "clock-frequency");
    set_val(&mut b, e, 5_000_000);
    v.push(case("guest-clock-frequency", b, Auto, "clock-frequency 5000000 is not 100000000"));
    let mut b = guest();
    let e = elem(&b, "cpu", "mmu-page-size-list");
    set_val(&mut b, e, 0x2b);
    v.push(case("guest-page-size-256m", b, Auto, "offers 256M pages"));
    let b = renamed_node("cpus", "cpux");
    v.push(case("guest-cpus-node", b, Auto, "0 cpus nodes; Solaris requires exactly one"));
    let b = renamed_node("memory", "memorx");
    v.push(case("guest-memory-node", b, Auto, "0 memory nodes; Solaris expects exactly one"));
    v
}

#[test]
fn checker_rejects_corruptions() {
    for c in error_cases() {
        assert_eq!(expect(&c), Severity::Error, "{}", c.rule);
    }
}

#[test]
fn checker_warnings() {
    for c in warning_cases() {
        assert_eq!(expect(&c), Severity::Warning, "{}", c.rule);
        if c.rule.starts_with("guest-") || c.rule.starts_with("hv-") {
            assert!(lint(&c.bytes, c.profile).ok(), "{}: a profile warning alone is no error", c.rule);
        }
    }
    // A wrong frequency is that one warning, nothing else.
    let mut b = guest();
    let e = elem(&b, "platform", "stick-frequency");
    set_val(&mut b, e, 5_000_000);
    let r = lint(&b, Profile::Auto);
    assert!(r.ok());
    let w: Vec<String> = r.warnings().map(|f| f.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].starts_with("warning[guest-stick-frequency]: element "), "{w:#?}");
}

/// Every rule id is listed once in `RULES`, is kebab-case, has its line in
/// docs/ldom-config.md's checker table (id, severity, description, as in `RULES`), and has
/// a case above that breaks it.
#[test]
fn checker_rules_are_listed_once_documented_and_fire() {
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    for id in &ids {
        assert!(
            !id.is_empty()
                && id
                    .split('-')
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
            "{id:?} is not kebab-case"
        );
    }
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "a rule id is listed twice in RULES");

    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ldom-config.md")).unwrap();
    let section = &docs[docs.find("## The MD checker (`lint`)").expect("docs: the checker section")..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |e| e + 1)];
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let want: Vec<String> =
        RULES.iter().map(|r| format!("| `{}` | {} | {} |", r.id, r.severity, r.description)).collect();
    assert_eq!(rows, want, "docs/ldom-config.md's checker table must list RULES in order");

    let fired: BTreeSet<&str> = error_cases().iter().chain(&warning_cases()).map(|c| c.rule).collect();
    let missing: Vec<&str> = RULES.iter().map(|r| r.id).filter(|id| !fired.contains(id)).collect();
    assert!(missing.is_empty(), "rules without a case that breaks them: {missing:?}");
}

/// Three domains: a `[[channel]]`, a network of all three (explicit MACs, a switch-port, the
/// ids of one pair fixed) and a network of two (default MACs). Every domain's guest MD has
/// what Linux's vio bus and sunvnet read: a `network` node per network under
/// channel-devices, one `vnet-port` per peer with the peer's MAC and a `fwd` arc to the
/// `channel-endpoint` of the pair's channel.
#[test]
fn networks_make_channels_and_vnet_nodes() {
    let text = r#"
[platform]
strands = 3
[[domain]]
name = "a"
vcpus = [0]
memory = { base = 0x80000000, size = "64M" }
image = "test-guest"
[[domain]]
name = "b"
vcpus = [1]
memory = { base = 0x84000000, size = "64M" }
image = "test-guest"
[[domain]]
name = "c"
vcpus = [2]
memory = { base = 0x88000000, size = "64M" }
image = "test-guest"
[[channel]]
endpoints = ["a", "b"]
[[network]]
name = "lan"
domains = ["a", "b", "c"]
macs = ["02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"]
switch-port = "c"
[[network.channel]]
endpoints = ["c", "b"]
ids = [7, 9]
[[network]]
domains = ["b", "c"]
"#;
    let p = tmp_config("networks", text);
    let cfg = ldom_config::config::load(&p).unwrap_or_else(|e| panic!("{e}"));
    // Channels: the [[channel]] first, then lan's pairs (a,b), (a,c), (c,b), then net1's (b,c);
    // the explicit ids (c:7, b:9) are taken first, the others get the lowest free id.
    let ends: Vec<[(usize, u64); 2]> =
        cfg.channels.iter().map(|c| [(c.ends[0].domain, c.ends[0].id), (c.ends[1].domain, c.ends[1].id)]).collect();
    assert_eq!(ends, vec![[(0, 0), (1, 0)], [(0, 1), (1, 1)], [(0, 2), (2, 0)], [(2, 7), (1, 9)], [(1, 2), (2, 1)]]);
    assert_eq!(cfg.networks.len(), 2);
    let (lan, net1) = (&cfg.networks[0], &cfg.networks[1]);
    assert_eq!((lan.name.as_str(), net1.name.as_str()), ("lan", "net1"));
    assert_eq!(
        lan.members.iter().map(|m| m.mac).collect::<Vec<_>>(),
        vec![0x0200_0000_000a, 0x0200_0000_000b, 0x0200_0000_000c]
    );
    assert_eq!(lan.switch_port, Some(2));
    assert_eq!(
        lan.links.iter().map(|l| (l.members, l.channel)).collect::<Vec<_>>(),
        vec![([0, 1], 1), ([0, 2], 2), ([2, 1], 3)]
    );
    // Default MACs: DEFAULT_MAC_BASE + 256 × network index + gid + 1.
    let base = ldom_config::config::DEFAULT_MAC_BASE;
    assert_eq!(net1.members.iter().map(|m| m.mac).collect::<Vec<_>>(), vec![base + 256 + 2, base + 256 + 3]);
    assert_eq!(ldom_config::config::mac_text(base + 256 + 2), "02:53:34:76:01:02");

    let b = ldom_config::build::build_config(&cfg, &mut Fake(4096)).unwrap_or_else(|e| panic!("{e}"));
    // Per domain: (local MACs per network node, [(port id, remote MAC, switch-port, channel id)]).
    type Ports = Vec<(u64, u64, bool, u64)>;
    let want: [Vec<(u64, Ports)>; 3] = [
        vec![(0x0200_0000_000a, vec![(0, 0x0200_0000_000b, false, 1), (1, 0x0200_0000_000c, true, 2)])],
        vec![
            (0x0200_0000_000b, vec![(0, 0x0200_0000_000a, false, 1), (1, 0x0200_0000_000c, true, 9)]),
            (base + 256 + 2, vec![(0, base + 256 + 3, false, 2)]),
        ],
        vec![
            (0x0200_0000_000c, vec![(0, 0x0200_0000_000a, false, 0), (1, 0x0200_0000_000b, false, 7)]),
            (base + 256 + 3, vec![(0, base + 256 + 2, false, 1)]),
        ],
    ];
    for (gi, d) in b.domains.iter().enumerate() {
        let md = MachineDescription::new(&d.guest_md).unwrap();
        assert_eq!(lint(&d.guest_md, Profile::Guest).findings.len(), 0, "domain {gi}");
        let cdev = md.nodes_named("channel-devices").next().unwrap();
        let nets: Vec<_> = cdev.arcs("fwd").filter(|n| n.name() == "virtual-device").collect();
        let mut got = Vec::new();
        for (k, n) in nets.iter().enumerate() {
            assert_eq!(n.str("name"), Some("network"));
            assert_eq!(n.str("device-type"), Some("network"));
            assert_eq!(n.str_list("compatible").unwrap().collect::<Vec<_>>(), vec!["SUNW,sun4v-network"]);
            assert_eq!(n.val("cfg-handle"), Some(k as u64));
            assert_eq!(n.val("mtu"), Some(1500));
            let mut ports = Vec::new();
            for p in n.arcs("fwd") {
                assert_eq!(p.name(), "virtual-device-port");
                assert_eq!(p.str("name"), Some("vnet-port"), "sunvnet matches the vio type `vnet-port`");
                assert_eq!(p.arcs("back").collect::<Vec<_>>(), vec![*n], "the port's parent is its network");
                let eps: Vec<_> = p.arcs("fwd").collect();
                assert_eq!(eps.len(), 1);
                assert_eq!(eps[0].name(), "channel-endpoint");
                let (tx, rx) = ldom_config::Config::inos(eps[0].val("id").unwrap());
                assert_eq!((eps[0].val("tx-ino"), eps[0].val("rx-ino")), (Some(tx), Some(rx)));
                ports.push((
                    p.val("id").unwrap(),
                    p.val("remote-mac-address").unwrap(),
                    p.property("switch-port").is_some(),
                    eps[0].val("id").unwrap(),
                ));
            }
            got.push((n.val("local-mac-address").unwrap(), ports));
        }
        assert_eq!(got, want[gi], "domain {gi}");
        let alias = md.nodes_named("devalias").next().unwrap().str("net");
        assert_eq!(alias, Some("/virtual-devices/channel-devices/network@0"));
    }
    let _ = std::fs::remove_dir_all(p.parent().unwrap());
}
