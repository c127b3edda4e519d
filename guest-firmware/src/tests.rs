//! Host tests: device trees built from our MDs and Sun's, the client interface's argument
//! checking, and boot images.

use crate::boot::{self, BootError};
use crate::cif::{self, Client, Instances, Platform, FAIL, IHANDLES};
use crate::image;
use crate::tree::{self, BuildParams, Tree};
use hv_api::md::MachineDescription;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn our_md(config: &str) -> Vec<u8> {
    let cfg = ldom_config::load(&workspace().join(config)).unwrap();
    ldom_config::build::guest_md(&cfg, 0).to_bytes()
}

/// Sun's sample MDs, which the project may not ship: from `SUN_MD_DIR` (`cargo xtask test
/// --sun-md DIR`); the test is ignored without it.
fn sun_md(file: &str) -> Vec<u8> {
    let dir = std::env::var("SUN_MD_DIR").expect("SUN_MD_DIR names the folder of Sun's sample MDs");
    std::fs::read(format!("{dir}/{file}")).unwrap_or_else(|e| panic!("{dir}/{file}: {e}"))
}

const FW_RA: u64 = 0x8000_0000;
const TRANSLATIONS: [(u64, u64, u64); 1] = [(0xf000_0000, 4 << 20, 0x8000_0000_8000_07c3)];

fn build(md: &[u8], bootargs: &str) -> (Box<Tree>, Instances) {
    let md = MachineDescription::new(md).unwrap();
    let mut t = Box::new(Tree::new());
    let reserved = [(FW_RA, 4 << 20)];
    let p = BuildParams { bootargs, reserved: &reserved, translations: &TRANSLATIONS, ihandles: IHANDLES };
    let packages = tree::build(&mut t, &md, &p).unwrap_or_else(|e| panic!("{e:?}"));
    (t, Instances { ihandles: IHANDLES, packages })
}

fn path_of(t: &Tree, ph: u32) -> String {
    let mut b = [0u8; 256];
    let n = t.path(ph, &mut b).unwrap();
    String::from_utf8(b[..n].to_vec()).unwrap()
}

fn be32(v: &[u8]) -> u32 {
    u32::from_be_bytes(v[..4].try_into().unwrap())
}

fn u64s(v: &[u8]) -> Vec<u64> {
    v.chunks(8).map(|c| u64::from_be_bytes(c.try_into().unwrap())).collect()
}

fn check_linux_needs(t: &Tree, inst: &Instances, memory: (u64, u64), ncpus: usize) {
    let root = t.root();
    assert_eq!(t.prop(root, b"compatible").unwrap(), b"sun4v\0");
    assert_ne!(be32(t.prop(root, b"stick-frequency").unwrap()), 0);
    let chosen = t.find(b"/chosen").unwrap();
    assert_eq!(be32(t.prop(chosen, b"stdout").unwrap()), IHANDLES.console);
    assert_eq!(be32(t.prop(chosen, b"mmu").unwrap()), IHANDLES.mmu);
    let op = t.find(b"/openprom").unwrap();
    assert!(t.prop(op, b"version").unwrap().starts_with(b"OBP "));
    // head_64.S: finddevice("/cpu") must find the first cpu.
    let cpu = t.find(b"/cpu").unwrap();
    assert_eq!(path_of(t, cpu), "/cpu@0");
    assert!(t.prop(cpu, b"compatible").unwrap().starts_with(b"SUNW,UltraSPARC-T1\0"));
    let mut n = 0;
    let mut c = t.child(root).unwrap();
    while c != 0 {
        if t.prop(c, b"device_type") == Some(b"cpu\0") {
            let reg = u64s(t.prop(c, b"reg").unwrap());
            assert_eq!((reg[0] >> 32) & 0x0fff_ffff, n as u64, "cpu reg");
            n += 1;
        }
        c = t.peer(c).unwrap();
    }
    assert_eq!(n, ncpus);
    // /memory: reg is the MD's memory, available leaves the firmware's 4 MB out.
    let mem = t.find(b"/memory").unwrap();
    assert_eq!(u64s(t.prop(mem, b"reg").unwrap()), vec![memory.0, memory.1]);
    let avail = u64s(t.prop(mem, b"available").unwrap());
    assert_eq!(avail, vec![memory.0 + (4 << 20), memory.1 - (4 << 20)]);
    let vm = t.find(b"/virtual-memory").unwrap();
    assert_eq!(u64s(t.prop(vm, b"translations").unwrap()), vec![0xf000_0000, 4 << 20, 0x8000_0000_8000_07c3]);
    // of_console_init: the stdout instance's path and device_type.
    let console = inst.package(IHANDLES.console).unwrap();
    assert_eq!(path_of(t, console), "/virtual-devices@100/console@1");
    assert_eq!(t.prop(console, b"device_type").unwrap(), b"serial\0");
    assert_eq!(be32(t.prop(console, b"interrupts").unwrap()), 1);
    assert_eq!(t.find(b"/virtual-devices/console"), Some(console));
    assert_eq!(t.find(b"ttya"), Some(console), "alias");
    assert_eq!(t.find(b"/ssp-serial"), None);
    let vdev = t.find(b"/virtual-devices@100").unwrap();
    assert_eq!(u64s(t.prop(vdev, b"reg").unwrap())[0] >> 32, 0xc000_0100);
}

#[test]
fn tree_from_our_one_domain_md() {
    let (t, inst) = build(&our_md("configs/one-domain.toml"), "console=ttyHV0 quiet");
    check_linux_needs(&t, &inst, (0x8000_0000, 256 << 20), 1);
    let chosen = t.find(b"/chosen").unwrap();
    assert_eq!(t.prop(chosen, b"bootargs").unwrap(), b"console=ttyHV0 quiet\0");
    assert_eq!(be32(t.prop(t.root(), b"stick-frequency").unwrap()), 100_000_000);
    assert!(t.find(b"/aliases").is_some() && t.find(b"/options").is_some() && t.find(b"/packages").is_some());
    assert!(t.find(b"/virtual-devices/channel-devices").is_none());
}

#[test]
fn tree_has_channel_devices_when_the_md_has_channels() {
    let (t, _) = build(&our_md("configs/two-domains-ldc.toml"), "");
    let c = t.find(b"/virtual-devices/channel-devices").unwrap();
    assert_eq!(t.prop(c, b"device_type").unwrap(), b"channel-devices\0");
}

#[test]
fn tree_has_the_network_devices_of_the_md() {
    let (t, _) = build(&our_md("configs/linux-vnet.toml"), "");
    let net = t.find(b"/virtual-devices/channel-devices/network@0").unwrap();
    assert_eq!(path_of(&t, net), "/virtual-devices@100/channel-devices@200/network@0");
    assert_eq!(t.prop(net, b"device_type").unwrap(), b"network\0");
    assert_eq!(t.prop(net, b"compatible").unwrap(), b"SUNW,sun4v-network\0");
    assert_eq!(be32(t.prop(net, b"reg").unwrap()), 0);
    assert_eq!(t.prop(net, b"local-mac-address").unwrap(), &[0x02, 0x53, 0x34, 0x76, 0x00, 0x01]);
    assert_eq!(t.find(b"net"), Some(net), "the MD's devalias net");
    // Linux's vio_create_one looks for a child of channel-devices whose device_type is the
    // port's type; there is none (as on Sun's machines) and the port gets no OF node.
    assert!(t.find(b"/virtual-devices/channel-devices/vnet-port").is_none());
    // Without networks, no network node.
    let (t, _) = build(&our_md("configs/two-domains-ldc.toml"), "");
    assert!(t.find(b"/virtual-devices/channel-devices/network").is_none());
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn tree_from_suns_mds() {
    for (file, mem, ncpus) in [
        ("1up-md.bin", (0x8000_0000u64, 0x1000_0000u64), 1usize),
        ("1g2p-md.bin", (0x8000_0000, 0x1000_0000), 2),
        ("1g32p-md.bin", (0x8000_0000, 0x1000_0000), 32),
    ] {
        let md = sun_md(file);
        let (t, inst) = build(&md, "");
        check_linux_needs(&t, &inst, mem, ncpus);
    }
}

#[test]
fn tree_refuses_an_md_without_console_or_memory() {
    let md = ldom_config::md::Md::new();
    let bytes = md.to_bytes();
    let md = MachineDescription::new(&bytes).unwrap();
    let mut t = Tree::new();
    let p = BuildParams { bootargs: "", reserved: &[], translations: &[], ihandles: IHANDLES };
    assert!(tree::build(&mut t, &md, &p).is_err());
}

#[test]
fn tree_nextprop_walks_every_property() {
    let (t, _) = build(&our_md("configs/one-domain.toml"), "");
    let chosen = t.find(b"/chosen").unwrap();
    let mut names = vec![];
    let mut prev: Vec<u8> = vec![];
    while let Some(n) = t.next_prop(chosen, &prev).unwrap() {
        names.push(String::from_utf8(n.to_vec()).unwrap());
        prev = n.to_vec();
    }
    assert_eq!(names, ["name", "stdout", "stdin", "mmu", "memory", "bootargs", "bootpath"]);
    assert!(t.next_prop(chosen, b"nonesuch").is_err());
    assert!(t.next_prop(0x1234, b"").is_err());
}

// ---------------------------------------------------------------------------------------
// The client interface on a fake client

#[derive(Default)]
struct Mem {
    bytes: HashMap<u64, u8>,
    next: u64,
}

impl Mem {
    fn new() -> Self {
        Mem { bytes: HashMap::new(), next: 0x10_0000 }
    }
    fn alloc(&mut self, data: &[u8]) -> u64 {
        let a = self.next;
        for (i, b) in data.iter().enumerate() {
            self.bytes.insert(a + i as u64, *b);
        }
        self.next += (data.len() as u64 + 15) & !7;
        a
    }
    fn str(&mut self, s: &str) -> u64 {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.alloc(&v)
    }
    fn get(&self, a: u64, n: usize) -> Vec<u8> {
        (0..n).map(|i| self.bytes[&(a + i as u64)]).collect()
    }
}

impl Client for Mem {
    fn read(&mut self, va: u64, buf: &mut [u8]) -> bool {
        for (i, b) in buf.iter_mut().enumerate() {
            match self.bytes.get(&(va + i as u64)) {
                Some(v) => *b = *v,
                None => return false,
            }
        }
        true
    }
    fn write(&mut self, va: u64, data: &[u8]) -> bool {
        if (0..data.len()).any(|i| !self.bytes.contains_key(&(va + i as u64))) {
            return false;
        }
        for (i, b) in data.iter().enumerate() {
            self.bytes.insert(va + i as u64, *b);
        }
        true
    }
}

#[derive(Default)]
struct Plat {
    out: Vec<u8>,
    input: Vec<u8>,
    maps: Vec<(u64, u64, u64)>,
    tba: Option<(u64, u64)>,
    started: Vec<(u64, u64, u64)>,
    powered_off: bool,
}

impl Platform for Plat {
    fn console_write(&mut self, bytes: &[u8]) -> usize {
        self.out.extend_from_slice(bytes);
        bytes.len()
    }
    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        n
    }
    fn milliseconds(&mut self) -> u64 {
        42
    }
    fn translate(&mut self, va: u64) -> Option<(u64, u64)> {
        self.maps.iter().find(|m| (m.0..m.0 + m.2).contains(&va)).map(|m| (m.1 + va - m.0, 0x7c0))
    }
    fn map(&mut self, va: u64, ra: u64, size: u64, _mode: u64) -> bool {
        self.maps.push((va, ra, size));
        true
    }
    fn unmap(&mut self, va: u64, _size: u64) -> bool {
        self.maps.retain(|m| m.0 != va);
        true
    }
    fn set_trap_table(&mut self, tba: u64, mmfsa: u64) -> bool {
        self.tba = Some((tba, mmfsa));
        true
    }
    fn start_cpu(&mut self, cpuid: u64, pc: u64, arg: u64) -> u64 {
        if cpuid > 3 {
            return 1; // ENOCPU
        }
        self.started.push((cpuid, pc, arg));
        0
    }
    fn stop_cpu(&mut self, _cpuid: u64) -> u64 {
        0
    }
    fn stop_self(&mut self) {}
    fn power_off(&mut self) {
        self.powered_off = true;
    }
    fn exit(&mut self) {}
    fn reboot(&mut self, _args: &[u8]) {}
    fn soft_state(&mut self, _state: u64, _desc: &[u8]) -> bool {
        true
    }
}

struct Cif {
    t: Box<Tree>,
    inst: Instances,
    mem: Mem,
    plat: Plat,
}

impl Cif {
    fn new() -> Self {
        let (t, inst) = build(&our_md("configs/one-domain.toml"), "root=/dev/ram");
        Cif { t, inst, mem: Mem::new(), plat: Plat::default() }
    }
    /// Calls `service` with `args`; returns (handler result, results).
    fn call(&mut self, service: &str, args: &[u64], nrets: usize) -> (u64, Vec<u64>) {
        let name = self.mem.str(service);
        self.call_raw(name, args.len() as u64, args, nrets)
    }
    fn call_raw(&mut self, name: u64, nargs: u64, args: &[u64], nrets: usize) -> (u64, Vec<u64>) {
        let mut cells = vec![name, nargs, nrets as u64];
        cells.extend_from_slice(args);
        cells.extend(std::iter::repeat_n(0xdead_beef, nrets));
        let bytes: Vec<u8> = cells.iter().flat_map(|c| c.to_be_bytes()).collect();
        let a = self.mem.alloc(&bytes);
        let r = cif::handle(a, &mut self.t, &self.inst, &mut self.mem, &mut self.plat);
        let rets = u64s(&self.mem.get(a + 24 + 8 * args.len() as u64, nrets * 8));
        (r, rets)
    }
    fn buf(&mut self, n: usize) -> u64 {
        self.mem.alloc(&vec![0xaa; n])
    }
}

#[test]
fn cif_walks_the_tree_like_linux() {
    let mut c = Cif::new();
    let (r, root) = c.call("peer", &[0], 1);
    assert_eq!((r, root[0]), (0, c.t.root() as u64));
    let (_, kid) = c.call("child", &[root[0]], 1);
    assert_ne!(kid[0], 0);
    let (_, parent) = c.call("parent", &[kid[0]], 1);
    assert_eq!(parent[0], root[0]);
    // getprop of "compatible" into a 64-byte buffer (head_64.S).
    let buf = c.buf(64);
    let compat = c.mem.str("compatible");
    let (_, len) = c.call("getprop", &[root[0], compat, buf, 64], 1);
    assert_eq!(len[0], 6);
    assert_eq!(c.mem.get(buf, 6), b"sun4v\0");
    let (_, len) = c.call("getproplen", &[root[0], compat], 1);
    assert_eq!(len[0], 6);
    let chosen_path = c.mem.str("/chosen");
    let (_, chosen) = c.call("finddevice", &[chosen_path], 1);
    assert_eq!(chosen[0], c.inst.packages.chosen as u64);
    let stdout = c.mem.str("stdout");
    let (_, n) = c.call("getprop", &[chosen[0], stdout, buf, 4], 1);
    assert_eq!(n[0], 4);
    assert_eq!(be32(&c.mem.get(buf, 4)), IHANDLES.console);
    // nextprop from NULL and from "".
    let (_, one) = c.call("nextprop", &[chosen[0], 0, buf], 1);
    assert_eq!(one[0], 1);
    assert_eq!(c.mem.get(buf, 5), b"name\0");
    // instance-to-path / instance-to-package on stdout (of_console_init).
    let (_, n) = c.call("instance-to-path", &[IHANDLES.console as u64, buf, 64], 1);
    assert_eq!(n[0], 30);
    assert_eq!(c.mem.get(buf, 31), b"/virtual-devices@100/console@1\0");
    let (_, pkg) = c.call("instance-to-package", &[IHANDLES.console as u64], 1);
    assert_eq!(pkg[0], c.inst.packages.console as u64);
    let (_, n) = c.call("package-to-path", &[pkg[0], buf, 64], 1);
    assert_eq!(n[0], 30);
    let cpu = c.mem.str("/cpu");
    let (_, node) = c.call("finddevice", &[cpu], 1);
    assert_ne!(node[0], FAIL);
    let ssp = c.mem.str("/ssp-serial");
    let (_, node) = c.call("finddevice", &[ssp], 1);
    assert_eq!(node[0], FAIL);
}

#[test]
fn cif_console_mmu_and_cpu_services() {
    let mut c = Cif::new();
    let text = c.mem.alloc(b"hello\r\n");
    let (r, n) = c.call("write", &[IHANDLES.console as u64, text, 7], 1);
    assert_eq!((r, n[0]), (0, 7));
    assert_eq!(c.plat.out, b"hello\r\n");
    let (_, n) = c.call("write", &[IHANDLES.mmu as u64, text, 7], 1);
    assert_eq!(n[0], FAIL, "write to a non-console instance");
    let buf = c.buf(8);
    let (_, n) = c.call("read", &[IHANDLES.console as u64, buf, 8], 1);
    assert_eq!(n[0] as i64, -2, "no input yet");
    c.plat.input = b"ab".to_vec();
    let (_, n) = c.call("read", &[IHANDLES.console as u64, buf, 8], 1);
    assert_eq!(n[0], 2);
    assert_eq!(c.mem.get(buf, 2), b"ab");
    // map then translate, as head_64.S does.
    let map = c.mem.str("map");
    let mmu = IHANDLES.mmu as u64;
    let (r, res) = c.call("call-method", &[map, mmu, FAIL, 4 << 20, 0x40_0000, 0, 0x8040_0000], 1);
    assert_eq!((r, res[0]), (0, 0));
    let translate = c.mem.str("translate");
    let (_, res) = c.call("call-method", &[translate, mmu, 0x40_4000], 5);
    assert_eq!(res[0], 0);
    assert_eq!(res[1], FAIL, "true");
    assert_eq!(res[4], 0x8040_4000);
    let (_, res) = c.call("call-method", &[translate, mmu, 0x7000_0000], 5);
    assert_eq!(&res[..2], &[0, 0], "not mapped: false");
    let (_, res) = c.call("call-method", &[translate, 0x1234, 0x40_4000], 5);
    assert_eq!(res[0], FAIL, "bad ihandle: catch-result -1");
    let bogus = c.mem.str("frobnicate");
    let (_, res) = c.call("call-method", &[bogus, mmu, 1, 2], 1);
    assert_eq!(res[0], FAIL);
    // Trap table, CPUs, power.
    let (r, _) = c.call("SUNW,set-trap-table", &[0x42_0000, 0x8f32_6100], 0);
    assert_eq!(r, 0);
    assert_eq!(c.plat.tba, Some((0x42_0000, 0x8f32_6100)));
    let (r, _) = c.call("SUNW,start-cpu-by-cpuid", &[1, 0x40_8000, 7], 0);
    assert_eq!(r, 0, "Linux passes no result cell");
    assert_eq!(c.plat.started, vec![(1, 0x40_8000, 7)]);
    let (_, res) = c.call("SUNW,start-cpu-by-cpuid", &[9, 0x40_8000, 7], 1);
    assert_eq!(res[0], 1, "ENOCPU passed on");
    let (_, ms) = c.call("milliseconds", &[], 1);
    assert_eq!(ms[0], 42);
    let svc = c.mem.str("SUNW,soft-state-supported");
    let (_, res) = c.call("test", &[svc], 1);
    assert_eq!(res[0], 0, "exists");
    let nope = c.mem.str("SUNW,nonesuch");
    let (_, res) = c.call("test", &[nope], 1);
    assert_eq!(res[0], FAIL, "missing");
    let forth = c.mem.str("\" /\" select-dev");
    let (r, res) = c.call("interpret", &[forth], 1);
    assert_eq!((r, res[0]), (0, 0));
    let (r, _) = c.call("SUNW,power-off", &[], 0);
    assert_eq!(r, 0);
    assert!(c.plat.powered_off);
}

#[test]
fn cif_rejects_bad_arguments() {
    let mut c = Cif::new();
    // Unknown service, no array, an unreadable name, too many cells.
    assert_eq!(c.call("no-such-service", &[], 0).0, FAIL);
    assert_eq!(cif::handle(0, &mut c.t, &c.inst, &mut c.mem, &mut c.plat), FAIL);
    assert_eq!(cif::handle(0x7777_0000, &mut c.t, &c.inst, &mut c.mem, &mut c.plat), FAIL);
    assert_eq!(c.call_raw(0x5555_0000, 1, &[0], 1).0, FAIL);
    let peer = c.mem.str("peer");
    assert_eq!(c.call_raw(peer, 1000, &[0], 1).0, FAIL);
    // Too few arguments or results for the service.
    assert_eq!(c.call("getprop", &[c.t.root() as u64, 0], 1).0, FAIL);
    assert_eq!(c.call("peer", &[0], 0).0, FAIL);
    // Bad phandles: 0 for the walk, -1 for properties.
    assert_eq!(c.call("child", &[0x1234], 1).1[0], 0);
    assert_eq!(c.call("peer", &[u64::MAX], 1).1[0], 0);
    let name = c.mem.str("name");
    let buf = c.buf(32);
    assert_eq!(c.call("getprop", &[0x1234, name, buf, 32], 1).1[0], FAIL);
    assert_eq!(c.call("getproplen", &[u64::MAX, name], 1).1[0], FAIL);
    assert_eq!(c.call("nextprop", &[7, 0, buf], 1).1[0], FAIL);
    // Absent property, unreadable property name.
    let nope = c.mem.str("no-such-property");
    assert_eq!(c.call("getproplen", &[c.t.root() as u64, nope], 1).1[0], FAIL);
    assert_eq!(c.call("getprop", &[c.t.root() as u64, 0x6666_0000, buf, 32], 1).1[0], FAIL);
    // A short buffer gets what fits and the full length; an unwritable one -1.
    let compat = c.mem.str("compatible");
    let small = c.buf(3);
    assert_eq!(c.call("getprop", &[c.t.root() as u64, compat, small, 3], 1).1[0], 6);
    assert_eq!(c.mem.get(small, 3), b"sun");
    assert_eq!(c.call("getprop", &[c.t.root() as u64, compat, 0x6666_0000, 8], 1).1[0], FAIL);
    // nextprop with too few arguments, or into an unwritable buffer.
    assert_eq!(c.call("nextprop", &[c.t.root() as u64, 0], 1).0, FAIL);
    assert_eq!(c.call("nextprop", &[c.t.root() as u64, 0, 0x6666_0000], 1).1[0], FAIL);
    // Bad ihandles.
    assert_eq!(c.call("instance-to-package", &[0x4242], 1).1[0], FAIL);
    assert_eq!(c.call("instance-to-path", &[0, buf, 32], 1).1[0], FAIL);
    assert_eq!(c.call("package-to-path", &[0x4242, buf, 32], 1).1[0], FAIL);
    // A path too long or unreadable.
    let long = c.mem.str(&"/x".repeat(300));
    assert_eq!(c.call("finddevice", &[long], 1).1[0], FAIL);
    assert_eq!(c.call("finddevice", &[0x6666_0000], 1).1[0], FAIL);
    // Writing from an unreadable buffer.
    assert_eq!(c.call("write", &[IHANDLES.console as u64, 0x6666_0000, 4], 1).1[0], FAIL);
    // setprop: good, then on a bad phandle.
    let v = c.mem.alloc(b"x\0");
    let ba = c.mem.str("bootargs");
    let chosen = c.inst.packages.chosen as u64;
    assert_eq!(c.call("setprop", &[chosen, ba, v, 2], 1).1[0], 2);
    assert_eq!(c.t.prop(c.inst.packages.chosen, b"bootargs").unwrap(), b"x\0");
    assert_eq!(c.call("setprop", &[0x99, ba, v, 2], 1).1[0], FAIL);
    // set-trap-table without arguments.
    assert_eq!(c.call("SUNW,set-trap-table", &[], 0).0, FAIL);
}

// ---------------------------------------------------------------------------------------
// Boot images and kernels

fn fake_kernel(machine: u16, class: u8) -> Vec<u8> {
    let mut e = vec![0u8; 0x2000];
    e[..4].copy_from_slice(b"\x7fELF");
    e[4] = class;
    e[5] = 2;
    e[16..18].copy_from_slice(&2u16.to_be_bytes());
    e[18..20].copy_from_slice(&machine.to_be_bytes());
    e[24..32].copy_from_slice(&0x40_4000u64.to_be_bytes());
    e[32..40].copy_from_slice(&64u64.to_be_bytes());
    e[54..56].copy_from_slice(&56u16.to_be_bytes());
    e[56..58].copy_from_slice(&1u16.to_be_bytes());
    let ph = 64;
    e[ph..ph + 4].copy_from_slice(&1u32.to_be_bytes());
    e[ph + 8..ph + 16].copy_from_slice(&0x1000u64.to_be_bytes());
    e[ph + 16..ph + 24].copy_from_slice(&0x40_0000u64.to_be_bytes());
    e[ph + 32..ph + 40].copy_from_slice(&0x1000u64.to_be_bytes());
    e[ph + 40..ph + 48].copy_from_slice(&0x8000u64.to_be_bytes());
    e
}

#[test]
fn boot_image_round_trip() {
    let kernel = fake_kernel(boot::EM_SPARCV9, 2);
    let initrd = image::cpio(&[image::CpioEntry::Dir("dev", 0o755), image::CpioEntry::File("init", 0o755, b"#!")]);
    let img = image::boot_image(&kernel, Some(&initrd), "console=ttyHV0");
    assert_eq!(img.len() % 512, 0);
    let (off, size) = boot::parse_label(&img[..512]).unwrap();
    let blocks = u32::from_be_bytes(img[boot::BLOCKS_OFFSET..boot::BLOCKS_OFFSET + 4].try_into().unwrap());
    assert_eq!(blocks as usize * 512, img.len());
    let p = boot::parse_params(&img[off as usize..(off + size) as usize], img.len() as u64).unwrap();
    assert_eq!(p.bootargs, "console=ttyHV0");
    let (ko, kl) = p.kernel;
    assert_eq!(&img[ko as usize..(ko + kl) as usize], &kernel[..]);
    let (io, il) = p.initrd.unwrap();
    assert_eq!(&img[io as usize..(io + il) as usize], &initrd[..]);
    let k = boot::parse_kernel(&img[ko as usize..], kl).unwrap();
    assert_eq!((k.entry, k.count, k.span()), (0x40_4000, 1, (0x40_0000, 0x8000)));
    assert!(std::str::from_utf8(&initrd[..6]).unwrap() == "070701");
}

#[test]
fn boot_rejects_bad_images_and_kernels() {
    assert_eq!(boot::parse_label(&[0; 512]), Err(BootError::NoImage));
    let mut img = image::boot_image(&fake_kernel(boot::EM_SPARCV9, 2), None, "");
    img[24..32].copy_from_slice(&(1u64 << 40).to_be_bytes());
    assert_eq!(boot::parse_label(&img[..512]), Err(BootError::BadHeader));
    assert_eq!(boot::parse_params(b"not an fdt at all, no no no no no no no no", 100).err(), Some(BootError::BadFdt));
    // Parts outside the image.
    let fdt = image::params_fdt("", (0x2000, 0x10_0000), None);
    assert_eq!(boot::parse_params(&fdt, 0x4000).err(), Some(BootError::OutOfImage));
    let fdt = image::params_fdt("", (0x2000, 0x1000), Some((0x8000, 0x10_0000)));
    assert_eq!(boot::parse_params(&fdt, 0x9000).err(), Some(BootError::OutOfImage));
    // Kernels: not ELF, x86-64, 32-bit, no segment.
    assert_eq!(
        boot::parse_kernel(b"MZ\x90\0 this is no ELF file, it is something else entirely...", 64).err(),
        Some(BootError::NotElf)
    );
    assert_eq!(boot::parse_kernel(&fake_kernel(62, 2), 0x2000).err(), Some(BootError::NotSparc64));
    assert_eq!(boot::parse_kernel(&fake_kernel(boot::EM_SPARCV9, 1), 0x2000).err(), Some(BootError::NotSparc64));
    let mut k = fake_kernel(boot::EM_SPARCV9, 2);
    k[64..68].copy_from_slice(&4u32.to_be_bytes());
    assert_eq!(boot::parse_kernel(&k, 0x2000).err(), Some(BootError::BadSegments));
    // A segment past the end of the file.
    assert_eq!(boot::parse_kernel(&fake_kernel(boot::EM_SPARCV9, 2), 0x1800).err(), Some(BootError::BadSegments));
}

#[test]
fn hdrs_offsets_match_head_64() {
    // head_64.S: b/flushw, "HdrS", version word, HdrS version, root_flags, root_dev,
    // ram_flags, sparc_ramdisk_image, sparc_ramdisk_size, two pointers, image64.
    let mut text = vec![0u8; 64];
    text[8..12].copy_from_slice(b"HdrS");
    assert_eq!(boot::find_hdrs(&text), Some(8));
    assert_eq!((boot::HDRS_RAMDISK_IMAGE, boot::HDRS_RAMDISK_SIZE, boot::HDRS_RAMDISK_IMAGE64), (16, 20, 40));
}

#[test]
fn memory_claim_and_release_update_available() {
    let mut c = Cif::new();
    let claim = c.mem.str("claim");
    let release = c.mem.str("release");
    let mem = IHANDLES.memory as u64;
    let avail = |c: &Cif| u64s(c.t.prop(c.inst.packages.memory, b"available").unwrap());
    assert_eq!(avail(&c), vec![0x8040_0000, 0x0fc0_0000]);
    // ( size align -- base ): 1 MB aligned to 1 MB: the lowest such address.
    let (r, res) = c.call("call-method", &[claim, mem, 1 << 20, 1 << 20], 3);
    assert_eq!((r, res[0], res[2]), (0, 0, 0x8040_0000));
    assert_eq!(avail(&c), vec![0x8050_0000, 0x0fb0_0000]);
    // At a given address (align 0): phys.lo phys.hi size align in reverse order.
    let (_, res) = c.call("call-method", &[claim, mem, 0, 0x2000, 0, 0x8800_0000], 3);
    assert_eq!((res[0], res[2]), (0, 0x8800_0000));
    assert_eq!(avail(&c), vec![0x8050_0000, 0x07b0_0000, 0x8800_2000, 0x07ff_e000]);
    // Claimed already, outside memory, bad alignment: catch-result -1.
    assert_eq!(c.call("call-method", &[claim, mem, 0, 0x2000, 0, 0x8800_0000], 3).1[0], FAIL);
    assert_eq!(c.call("call-method", &[claim, mem, 0, 0x2000, 0, 0x1000_0000], 3).1[0], FAIL);
    assert_eq!(c.call("call-method", &[claim, mem, 3, 0x2000], 3).1[0], FAIL);
    assert_eq!(c.call("call-method", &[claim, mem, 0, 1 << 40], 3).1[0], FAIL);
    // Release gives it back; releasing what is available is refused.
    let (_, res) = c.call("call-method", &[release, mem, 0x2000, 0, 0x8800_0000], 1);
    assert_eq!(res[0], 0);
    assert!(avail(&c).contains(&0x8800_0000));
    assert_eq!(c.call("call-method", &[release, mem, 0x2000, 0, 0x8800_0000], 1).1[0], FAIL);
    // The memory instance has no `translate`.
    let translate = c.mem.str("translate");
    assert_eq!(c.call("call-method", &[translate, mem, 0x40_0000], 5).1[0], FAIL);
}

#[test]
fn claim_maps_claimed_memory_and_release_gives_it_back() {
    let mut c = Cif::new();
    let vm = c.inst.packages.mmu;
    let mem = c.inst.packages.memory;
    let vavail = |c: &Cif| u64s(c.t.prop(vm, b"available").unwrap());
    let pavail = |c: &Cif| u64s(c.t.prop(mem, b"available").unwrap());
    let (v0, p0) = (vavail(&c), pavail(&c));
    assert_eq!(v0, vec![0x2000, 0xf000_0000 - 0x2000, 1 << 32, (1 << 47) - (1 << 32)]);
    // At a given address: mapped onto the lowest available real memory.
    let (r, res) = c.call("claim", &[0x1000_0000, 0x3000, 0], 1);
    assert_eq!((r, res[0]), (0, 0x1000_0000));
    assert_eq!(c.plat.maps, vec![(0x1000_0000, 0x8040_0000, 0x4000)], "rounded up to 8 KB pages");
    assert_eq!(pavail(&c)[0], 0x8040_4000);
    // Anywhere, aligned: the lowest aligned virtual address.
    let (_, res) = c.call("claim", &[0, 0x2000, 0x10_0000], 1);
    assert_eq!(res[0], 0x10_0000);
    // Claimed twice, in the firmware's window, unaligned, huge: -1.
    assert_eq!(c.call("claim", &[0x1000_0000, 0x2000, 0], 1).1[0], FAIL);
    assert_eq!(c.call("claim", &[0xf000_0000, 0x2000, 0], 1).1[0], FAIL);
    assert_eq!(c.call("claim", &[0x1000_0001, 0x2000, 0], 1).1[0], FAIL);
    assert_eq!(c.call("claim", &[0, 1 << 40, 0x2000], 1).1[0], FAIL, "no real memory: nothing kept");
    assert_eq!(c.call("claim", &[0, u64::MAX, 0x2000], 1).1[0], FAIL);
    // Release gives both back.
    assert_eq!(c.call("release", &[0x1000_0000, 0x3000], 0).0, 0);
    assert_eq!(c.call("release", &[0x10_0000, 0x2000], 0).0, 0);
    let sizes = |v: Vec<u64>| v.iter().skip(1).step_by(2).sum::<u64>();
    assert_eq!(sizes(vavail(&c)), sizes(v0));
    assert_eq!(sizes(pavail(&c)), sizes(p0));
    assert!(c.plat.maps.is_empty());
    // The MMU instance's claim/release: virtual space only.
    let claim = c.mem.str("claim");
    let release = c.mem.str("release");
    let mmu = IHANDLES.mmu as u64;
    let (_, res) = c.call("call-method", &[claim, mmu, 0x40_0000, 0x40_0000], 2);
    assert_eq!(res, vec![0, 0x40_0000]);
    assert_eq!(c.call("call-method", &[release, mmu, 0x40_0000, 0x40_0000], 1).1[0], 0);
    assert_eq!(c.call("call-method", &[release, mmu, 0x40_0000, 0x40_0000], 1).1[0], FAIL, "twice");
}

/// The boot image of the QEMU case `gfw-x86-kernel`: an x86-64 ELF header where the
/// kernel belongs. Kept in the case folder; this test rewrites it when the writer changes
/// (`GFW_WRITE_CASE_IMAGE=1`) and otherwise checks it is current.
#[test]
fn x86_kernel_case_image_is_current() {
    let img = image::boot_image(&fake_kernel(62, 2), None, "");
    let path = workspace().join("tests/cases/gfw-x86-kernel/boot.img");
    if std::env::var_os("GFW_WRITE_CASE_IMAGE").is_some() {
        std::fs::write(&path, &img).unwrap();
    }
    let committed = std::fs::read(&path).unwrap();
    assert!(committed == img, "{} is stale: run with GFW_WRITE_CASE_IMAGE=1", path.display());
    let (off, size) = boot::parse_label(&img[..512]).unwrap();
    let p = boot::parse_params(&img[off as usize..(off + size) as usize], img.len() as u64).unwrap();
    let kernel = &img[p.kernel.0 as usize..(p.kernel.0 + p.kernel.1) as usize];
    assert_eq!(boot::parse_kernel(kernel, p.kernel.1).err(), Some(BootError::NotSparc64));
}
