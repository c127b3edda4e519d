//! Library API: build layout, MD contents, error collection, and the MD checker on
//! corrupted variants of our own output.

use hv_api::md::MachineDescription;
use ldom_config::build::{MD_ROM_PA, PROM_GUEST_BASE};
use ldom_config::mdlint::{lint, Profile, Severity};
use ldom_config::{Build, ImageResolver};
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
    for ex in ["one-domain", "two-domains", "two-domains-ldc"] {
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

fn expect_error(bytes: &[u8], profile: Profile, needle: &str) {
    let r = lint(bytes, profile);
    let errs: Vec<String> = r.errors().map(|f| f.to_string()).collect();
    assert!(errs.iter().any(|e| e.contains(needle)), "wanted an error containing {needle:?}, got {errs:#?}");
}

#[test]
fn checker_rejects_corruptions() {
    let mut b = hv();
    b[3] = 1;
    expect_error(&b, Profile::Auto, "transport version 0x00010001");

    let b = hv();
    expect_error(&b[..b.len() - 1], Profile::Auto, "header block sizes add up to");

    let mut b = hv();
    b.extend_from_slice(&[0; 16]);
    expect_error(&b, Profile::Auto, "16 bytes after the data block");

    let mut b = hv();
    set_val(&mut b, 0, 5);
    expect_error(&b, Profile::Auto, "the root node at element 0's next-node index is 5, expected");

    let mut b = hv();
    let e = elem(&b, "root", "cpus");
    set_val(&mut b, e, 2);
    expect_error(&b, Profile::Auto, "arc \"cpus\" to element 2, which is not a NODE");

    let mut b = hv();
    set_val(&mut b, e, 10_000);
    expect_error(&b, Profile::Auto, "past the end of the node block");

    let mut b = hv();
    b[17] = 5;
    expect_error(&b, Profile::Auto, "element 0 (byte 0x10): name_len 5 but the name \"root\" has 4 bytes");

    let mut b = hv();
    b[16 + 4 + 3] = 1; // root's name offset -> middle of "root"
    expect_error(&b, Profile::Auto, "name offset 0x1 is not the start of a name");

    let mut b = hv();
    rename(&mut b, "tod", "pid");
    expect_error(&b, Profile::Auto, "\"pid\" is stored twice");

    let mut b = hv();
    let e = elem(&b, "guest", "name");
    let lenpos = 16 + e * 16 + 8;
    let len = u32::from_be_bytes(b[lenpos..lenpos + 4].try_into().unwrap());
    b[lenpos..lenpos + 4].copy_from_slice(&(len - 1).to_be_bytes());
    expect_error(&b, Profile::Auto, "string property \"name\" is not NUL-terminated");

    let mut b = hv();
    let last = u32::from_be_bytes(b[4..8].try_into().unwrap()) as usize / 16 - 1;
    b[16 + last * 16] = b'E';
    expect_error(&b, Profile::Auto, "no LIST_END element");

    let mut b = hv();
    let cpus = MachineDescription::new(&b).unwrap().nodes_named("cpus").next().unwrap().index();
    b[16 + cpus * 16 + 1] = 4;
    b[16 + cpus * 16 + 4..16 + cpus * 16 + 8].copy_from_slice(&0u32.to_be_bytes());
    expect_error(&b, Profile::Auto, "2 nodes named \"root\"");

    let mut b = hv();
    rename(&mut b, "hvuart", "hvuarx");
    expect_error(&b, Profile::Auto, "the root node at element 0 lacks \"hvuart\"");

    let mut b = hv();
    let e = elem(&b, "guest", "cpuset");
    set_val(&mut b, e, 3);
    expect_error(&b, Profile::Auto, "cpuset 0x3 does not match the pids of its cpu nodes (0x1)");

    let mut b = hv();
    let e = elem(&b, "guest", "bootcpu");
    set_val(&mut b, e, 1);
    expect_error(&b, Profile::Auto, "bootcpu 1 is not one of its vids");

    let mut b = guest();
    rename(&mut b, "stick-frequency", "stick-frequencx");
    expect_error(&b, Profile::Auto, "lacks \"stick-frequency\"");

    let mut b = guest();
    rename(&mut b, "id", "ix");
    expect_error(&b, Profile::Guest, "lacks \"id\"");

    let mut b = guest();
    let e = elem(&b, "cpu", "mmu-page-size-list");
    set_val(&mut b, e, 0);
    expect_error(&b, Profile::Guest, "mmu-page-size-list is 0");

    // Forcing the HV profile on a guest MD names what is missing.
    expect_error(&guest(), Profile::Hv, "must have exactly one \"cpus\" arc");
}

#[test]
fn checker_warnings() {
    let mut b = guest();
    let e = elem(&b, "platform", "stick-frequency");
    set_val(&mut b, e, 5_000_000);
    let r = lint(&b, Profile::Auto);
    assert!(r.ok());
    let w: Vec<String> = r.warnings().map(|f| f.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].contains("stick-frequency 5000000 is not 100000000"), "{w:#?}");
    assert_eq!(r.findings[0].severity, Severity::Warning);

    let mut b = guest();
    let e = elem(&b, "cpu", "mmu-page-size-list");
    set_val(&mut b, e, 0x2b);
    let r = lint(&b, Profile::Auto);
    assert!(r.ok() && r.warnings().any(|f| f.message.contains("256M")));
}
