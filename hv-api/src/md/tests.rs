//! Tests for the MD reader: Sun's sample MDs, MDs from ldom-config's writer,
//! malformed inputs and fuzz-like corruption.

extern crate std;

use super::*;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

// ---------------------------------------------------------------------------
// Well-formed MDs come from ldom-config's writer, the project's one MD writer (a
// dev-dependency: only bytes cross); malformed ones are assembled from raw parts below.
// ---------------------------------------------------------------------------

use ldom_config::md::Value as T;

#[derive(Default)]
struct Builder(ldom_config::md::Md);

impl Builder {
    fn node(&mut self, name: &str) -> usize {
        self.0.add_node(name)
    }

    fn prop(&mut self, node: usize, name: &str, v: T) -> &mut Self {
        self.0.push(node, name, v);
        self
    }

    fn build(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
}

fn elem(tag: u8, name_len: u8, name_off: u32, value: u64) -> [u8; 16] {
    let mut e = [0u8; 16];
    e[0] = tag;
    e[1] = name_len;
    e[4..8].copy_from_slice(&name_off.to_be_bytes());
    e[8..16].copy_from_slice(&value.to_be_bytes());
    e
}

fn dat(len: u32, off: u32) -> u64 {
    ((len as u64) << 32) | off as u64
}

/// Assembles header + blocks from raw parts.
fn assemble(elements: &[[u8; 16]], names: &[u8], data: &[u8]) -> Vec<u8> {
    let h = Header {
        transport_version: TRANSPORT_VERSION,
        node_blk_sz: (elements.len() * 16) as u32,
        name_blk_sz: names.len() as u32,
        data_blk_sz: data.len() as u32,
    };
    let mut out = h.to_be_bytes().to_vec();
    for e in elements {
        out.extend_from_slice(e);
    }
    out.extend_from_slice(names);
    out.extend_from_slice(data);
    out
}

/// A small HV-MD-like description in the shape of docs/hv-md-schema.md.
fn sample() -> Vec<u8> {
    let mut b = Builder::default();
    let root = b.node("root");
    let cpus = b.node("cpus");
    let cpu0 = b.node("cpu");
    let cpu1 = b.node("cpu");
    let guests = b.node("guests");
    let guest = b.node("guest");
    b.prop(root, "cpus", T::Arc(cpus))
        .prop(root, "guests", T::Arc(guests))
        .prop(root, "hvuart", T::Val(0x1f_1000_0000))
        .prop(root, "md-generation#", T::Val(1));
    b.prop(cpus, "cpu", T::Arc(cpu0)).prop(cpus, "cpu", T::Arc(cpu1));
    for (n, c) in [(0u64, cpu0), (1, cpu1)] {
        b.prop(c, "pid", T::Val(n)).prop(c, "vid", T::Val(n)).prop(c, "guest", T::Arc(guest)).prop(
            c,
            "back",
            T::Arc(cpus),
        );
    }
    b.prop(guests, "guest", T::Arc(guest));
    b.prop(guest, "name", T::Str("primary".to_string()))
        .prop(guest, "membase", T::Val(0x8000_0000))
        .prop(guest, "compatible", T::Data(b"SUNW,a\0SUNW,bb\0".to_vec()))
        .prop(guest, "empty", T::Str(String::new()))
        .prop(guest, "blob", T::Data(vec![1, 2, 3]));
    b.build()
}

// ---------------------------------------------------------------------------
// Exercising every accessor (used by the fuzz tests on accepted inputs).
// ---------------------------------------------------------------------------

fn exercise(md: &MachineDescription<'_>) -> usize {
    let mut work = 0usize;
    let count = md.element_count();
    assert!(md.size() >= HEADER_SIZE && md.size() == md.as_bytes().len());
    assert_eq!(md.header().total_size(), md.size() as u64);
    let mut last = None;
    for n in md.nodes() {
        assert!(n.index() < count);
        if let Some(l) = last {
            assert!(n.index() > l, "node chain must move forward");
        }
        last = Some(n.index());
        assert_eq!(md.node_at(n.index()), Some(n));
        work += n.name().len();
        for p in n.properties() {
            work += p.name.len();
            match p.value {
                PropValue::Val(v) => work += (v & 1) as usize,
                PropValue::Str(s) => work += s.len(),
                PropValue::Data(d) => work += d.len(),
                PropValue::Arc(t) => {
                    let target = md.node_at(t).expect("validated arc target is a node");
                    work += target.name().len();
                }
            }
            let _ = n.property(p.name);
            let _ = n.val(p.name);
            let _ = n.str(p.name);
            let _ = n.data(p.name);
            let _ = n.arc(p.name);
            work += n.arcs(p.name).count();
            if let Some(l) = n.str_list(p.name) {
                work += l.count();
            }
        }
        work += md.nodes_named(n.name()).count();
    }
    assert!(md.node_count() <= count);
    let _ = md.root();
    for i in 0..count + 3 {
        let _ = md.node_at(i);
    }
    let _ = md.node_at(usize::MAX);
    work
}

// ---------------------------------------------------------------------------
// Builder round trip.
// ---------------------------------------------------------------------------

#[test]
fn builder_round_trip() {
    let bytes = sample();
    let md = MachineDescription::new(&bytes).unwrap();
    assert_eq!(md.size(), bytes.len());
    assert_eq!(md.header().transport_version, TRANSPORT_VERSION);
    assert_eq!(md.node_count(), 6);
    let names: Vec<&str> = md.nodes().map(|n| n.name()).collect();
    assert_eq!(names, ["root", "cpus", "cpu", "cpu", "guests", "guest"]);

    let root = md.root().unwrap();
    assert_eq!(root.index(), 0);
    assert_eq!(root.val("hvuart"), Some(0x1f_1000_0000));
    assert_eq!(root.val("md-generation#"), Some(1));
    assert_eq!(root.val("nonexistent"), None);
    assert_eq!(root.str("hvuart"), None, "type must match");

    let cpus = root.arc("cpus").unwrap();
    assert_eq!(cpus.name(), "cpus");
    let pids: Vec<u64> = cpus.arcs("cpu").map(|c| c.val("pid").unwrap()).collect();
    assert_eq!(pids, [0, 1]);
    for c in cpus.arcs("cpu") {
        assert_eq!(c.arc("back"), Some(cpus));
        let g = c.arc("guest").unwrap();
        assert_eq!(g.name(), "guest");
        assert_eq!(g.str("name"), Some("primary"));
    }
    assert_eq!(cpus.arcs("nope").count(), 0);
    assert_eq!(md.nodes_named("cpu").count(), 2);
    assert_eq!(md.nodes_named("none").count(), 0);

    let g = md.nodes_named("guest").next().unwrap();
    assert_eq!(g.val("membase"), Some(0x8000_0000));
    assert_eq!(g.str("empty"), Some(""));
    assert_eq!(g.data("blob"), Some(&[1u8, 2, 3][..]));
    let compat: Vec<&str> = g.str_list("compatible").unwrap().collect();
    assert_eq!(compat, ["SUNW,a", "SUNW,bb"]);
    let single: Vec<&str> = g.str_list("name").unwrap().collect();
    assert_eq!(single, ["primary"]);
    assert_eq!(g.property("membase"), Some(PropValue::Val(0x8000_0000)));
    let props: Vec<&str> = g.properties().map(|p| p.name).collect();
    assert_eq!(props, ["name", "membase", "compatible", "empty", "blob"]);

    assert_eq!(cpus.index(), 6);
    assert_eq!(md.node_at(6), Some(cpus));
    assert!(md.node_at(1).is_none(), "element 1 is a property");
    assert!(md.node_at(md.element_count()).is_none());
    exercise(&md);
}

#[test]
fn trailing_bytes_after_md_are_ignored() {
    let mut bytes = sample();
    let size = bytes.len();
    bytes.extend_from_slice(&[0xa5; 100]);
    let md = MachineDescription::new(&bytes).unwrap();
    assert_eq!(md.size(), size);
    assert_eq!(md.as_bytes(), &bytes[..size]);
}

#[test]
fn noops_are_skipped() {
    // NOOP before the first node, inside a node, and between nodes.
    let names = b"root\0a\0x\0\0\0\0\0\0\0\0";
    let els = [
        elem(tag::NOOP, 0, 0, 0),
        elem(tag::NODE, 4, 0, 6),
        elem(tag::NOOP, 0, 0, 0),
        elem(tag::PROP_VAL, 1, 5, 42),
        elem(tag::PROP_ARC, 1, 7, 6),
        elem(tag::NODE_END, 0, 0, 0),
        elem(tag::NODE, 1, 7, 8),
        elem(tag::NODE_END, 0, 0, 0),
        elem(tag::LIST_END, 0, 0, 0),
    ];
    let bytes = assemble(&els, names, &[]);
    let md = MachineDescription::new(&bytes).unwrap();
    let root = md.root().unwrap();
    assert_eq!(root.index(), 1);
    assert_eq!(root.val("a"), Some(42));
    assert_eq!(root.arc("x").unwrap().name(), "x");
    assert_eq!(md.node_count(), 2);
    exercise(&md);
}

#[test]
fn elements_after_list_end_are_ignored() {
    let names = b"root\0\0\0\0\0\0\0\0\0\0\0\0";
    let els = [
        elem(tag::NODE, 4, 0, 2),
        elem(tag::NODE_END, 0, 0, 0),
        elem(tag::LIST_END, 0, 0, 0),
        elem(0x99, 0, 0, 0),
        elem(tag::LIST_END, 0, 0, 0),
    ];
    let bytes = assemble(&els, names, &[]);
    let md = MachineDescription::new(&bytes).unwrap();
    assert_eq!(md.element_count(), 3);
    assert_eq!(md.node_count(), 1);
}

#[test]
fn empty_md_is_valid() {
    let bytes = assemble(&[elem(tag::LIST_END, 0, 0, 0)], &[], &[]);
    let md = MachineDescription::new(&bytes).unwrap();
    assert_eq!(md.node_count(), 0);
    assert!(md.root().is_none());
    assert_eq!(md.size(), 32);
}

// ---------------------------------------------------------------------------
// Malformed inputs: one test per error.
// ---------------------------------------------------------------------------

fn err(bytes: &[u8]) -> MdError {
    match MachineDescription::new(bytes) {
        Ok(_) => panic!("malformed MD accepted"),
        Err(e) => e,
    }
}

/// root node with one property element `p` at index 1; names "root\0p\0q\0".
fn one_prop(p: [u8; 16], data: &[u8]) -> Vec<u8> {
    let names = b"root\0p\0q\0\0\0\0\0\0\0\0";
    let els = [elem(tag::NODE, 4, 0, 3), p, elem(tag::NODE_END, 0, 0, 0), elem(tag::LIST_END, 0, 0, 0)];
    assemble(&els, names, data)
}

#[test]
fn header_errors() {
    assert_eq!(err(&[]), MdError::TooShort { len: 0 });
    assert_eq!(err(&[0; 15]), MdError::TooShort { len: 15 });
    let mut b = sample();
    b[1] = 2;
    assert_eq!(err(&b), MdError::BadVersion(0x0002_0000));
    let mut b = sample();
    let len = b.len();
    b[15] = b[15].wrapping_add(1);
    assert_eq!(err(&b), MdError::BlockSizes { total: len + 1, len });
    // Huge sizes must not overflow.
    let mut b = sample();
    b[4..16].copy_from_slice(&[0xff; 12]);
    assert!(matches!(err(&b), MdError::BlockSizes { .. }));
    // Node block not a multiple of 16: move one byte from name to node block.
    let mut b = sample();
    let h = Header::from_be_bytes(b[..16].try_into().unwrap());
    let h2 = Header { node_blk_sz: h.node_blk_sz + 1, name_blk_sz: h.name_blk_sz - 1, ..h };
    b[..16].copy_from_slice(&h2.to_be_bytes());
    assert_eq!(err(&b), MdError::NodeBlockNotMultiple);
}

#[test]
fn missing_list_end() {
    let names = b"root\0\0\0\0\0\0\0\0\0\0\0\0";
    let b = assemble(&[elem(tag::NODE, 4, 0, 2), elem(tag::NODE_END, 0, 0, 0)], names, &[]);
    assert_eq!(err(&b), MdError::MissingListEnd);
    assert_eq!(err(&assemble(&[], &[], &[])), MdError::MissingListEnd);
}

#[test]
fn missing_node_end() {
    let names = b"root\0\0\0\0\0\0\0\0\0\0\0\0";
    let b = assemble(&[elem(tag::NODE, 4, 0, 1), elem(tag::LIST_END, 0, 0, 0)], names, &[]);
    assert_eq!(err(&b), MdError::MissingNodeEnd { element: 0 });
    let b = assemble(
        &[
            elem(tag::NODE, 4, 0, 1),
            elem(tag::NODE, 4, 0, 3),
            elem(tag::NODE_END, 0, 0, 0),
            elem(tag::LIST_END, 0, 0, 0),
        ],
        names,
        &[],
    );
    assert_eq!(err(&b), MdError::MissingNodeEnd { element: 0 });
}

#[test]
fn structure_errors() {
    let names = b"root\0p\0\0\0\0\0\0\0\0\0";
    let b = assemble(&[elem(tag::NODE_END, 0, 0, 0), elem(tag::LIST_END, 0, 0, 0)], names, &[]);
    assert_eq!(err(&b), MdError::UnexpectedNodeEnd { element: 0 });
    let b = assemble(&[elem(tag::PROP_VAL, 1, 5, 0), elem(tag::LIST_END, 0, 0, 0)], names, &[]);
    assert_eq!(err(&b), MdError::PropertyOutsideNode { element: 0 });
    let b = one_prop(elem(b'x', 1, 5, 0), &[]);
    assert_eq!(err(&b), MdError::UnknownTag { element: 1, tag: b'x' });
}

#[test]
fn next_chain_errors() {
    let names = b"root\0\0\0\0\0\0\0\0\0\0\0\0";
    let b =
        assemble(&[elem(tag::NODE, 4, 0, 99), elem(tag::NODE_END, 0, 0, 0), elem(tag::LIST_END, 0, 0, 0)], names, &[]);
    assert_eq!(err(&b), MdError::NextNodeOutOfRange { element: 0 });
    // Points at itself.
    let b =
        assemble(&[elem(tag::NODE, 4, 0, 0), elem(tag::NODE_END, 0, 0, 0), elem(tag::LIST_END, 0, 0, 0)], names, &[]);
    assert_eq!(err(&b), MdError::NextNodeMismatch { element: 0, next: 0, expected: 2 });
    // First node skips the second.
    let b = assemble(
        &[
            elem(tag::NODE, 4, 0, 4),
            elem(tag::NODE_END, 0, 0, 0),
            elem(tag::NODE, 4, 0, 4),
            elem(tag::NODE_END, 0, 0, 0),
            elem(tag::LIST_END, 0, 0, 0),
        ],
        names,
        &[],
    );
    assert_eq!(err(&b), MdError::NextNodeMismatch { element: 0, next: 4, expected: 2 });
}

#[test]
fn name_errors() {
    // Offset beyond the name block.
    let b = one_prop(elem(tag::PROP_VAL, 1, 1000, 0), &[]);
    assert_eq!(err(&b), MdError::NameOutOfRange { element: 1 });
    let b = one_prop(elem(tag::PROP_VAL, 1, u32::MAX, 0), &[]);
    assert_eq!(err(&b), MdError::NameOutOfRange { element: 1 });
    // name_len too long: "p" is followed by "\0", so length 2 hits "q" then not NUL.
    let b = one_prop(elem(tag::PROP_VAL, 2, 5, 0), &[]);
    assert_eq!(err(&b), MdError::NameNotTerminated { element: 1 });
    // name_len counts the NUL (storage length): contains a NUL.
    let b = one_prop(elem(tag::PROP_VAL, 3, 5, 0), &[]);
    assert_eq!(err(&b), MdError::NameNotTerminated { element: 1 });
    // Name runs to the very end of the block with no NUL.
    let names = b"root";
    let b =
        assemble(&[elem(tag::NODE, 4, 0, 2), elem(tag::NODE_END, 0, 0, 0), elem(tag::LIST_END, 0, 0, 0)], names, &[]);
    assert_eq!(err(&b), MdError::NameOutOfRange { element: 0 });
    // Not UTF-8.
    let names = b"\xff\xfe\0\0";
    let b =
        assemble(&[elem(tag::NODE, 2, 0, 2), elem(tag::NODE_END, 0, 0, 0), elem(tag::LIST_END, 0, 0, 0)], names, &[]);
    assert_eq!(err(&b), MdError::NameNotUtf8 { element: 0 });
}

#[test]
fn data_errors() {
    let data = b"abc\0\xff\xfe\0\0";
    assert!(MachineDescription::new(&one_prop(elem(tag::PROP_STR, 1, 5, dat(4, 0)), data)).is_ok());
    let b = one_prop(elem(tag::PROP_STR, 1, 5, dat(4, 6)), data);
    assert_eq!(err(&b), MdError::DataOutOfRange { element: 1 });
    let b = one_prop(elem(tag::PROP_DATA, 1, 5, dat(1, 8)), data);
    assert_eq!(err(&b), MdError::DataOutOfRange { element: 1 });
    let b = one_prop(elem(tag::PROP_DATA, 1, 5, dat(u32::MAX, u32::MAX)), data);
    assert_eq!(err(&b), MdError::DataOutOfRange { element: 1 });
    let b = one_prop(elem(tag::PROP_STR, 1, 5, dat(3, 0)), data);
    assert_eq!(err(&b), MdError::StringNotTerminated { element: 1 });
    let b = one_prop(elem(tag::PROP_STR, 1, 5, dat(0, 0)), data);
    assert_eq!(err(&b), MdError::StringNotTerminated { element: 1 });
    let b = one_prop(elem(tag::PROP_STR, 1, 5, dat(3, 4)), data);
    assert_eq!(err(&b), MdError::StringNotUtf8 { element: 1 });
    // PROP_DATA may hold anything, even at the very end, even empty.
    assert!(MachineDescription::new(&one_prop(elem(tag::PROP_DATA, 1, 5, dat(3, 4)), data)).is_ok());
    assert!(MachineDescription::new(&one_prop(elem(tag::PROP_DATA, 1, 5, dat(0, 8)), data)).is_ok());
}

#[test]
fn arc_errors() {
    let b = one_prop(elem(tag::PROP_ARC, 1, 5, 99), &[]);
    assert_eq!(err(&b), MdError::ArcOutOfRange { element: 1, target: 99 });
    let b = one_prop(elem(tag::PROP_ARC, 1, 5, u64::MAX), &[]);
    assert_eq!(err(&b), MdError::ArcOutOfRange { element: 1, target: u64::MAX });
    let b = one_prop(elem(tag::PROP_ARC, 1, 5, 2), &[]);
    assert_eq!(err(&b), MdError::ArcNotToNode { element: 1, target: 2 });
    // Arc to LIST_END is not an arc to a node.
    let b = one_prop(elem(tag::PROP_ARC, 1, 5, 3), &[]);
    assert_eq!(err(&b), MdError::ArcNotToNode { element: 1, target: 3 });
    // Self arc is fine.
    let md_bytes = one_prop(elem(tag::PROP_ARC, 1, 5, 0), &[]);
    let md = MachineDescription::new(&md_bytes).unwrap();
    assert_eq!(md.root().unwrap().arc("p"), md.root());
}

#[test]
fn error_messages() {
    let m = |e: MdError| format!("{e}");
    assert_eq!(
        m(MdError::ArcOutOfRange { element: 12, target: 99 }),
        "MD element 12: arc target 99 is beyond the node block's LIST_END"
    );
    assert_eq!(m(MdError::BadVersion(0x20000)), "MD transport version 0x00020000 is not 0x00010000");
    assert_eq!(m(MdError::UnknownTag { element: 3, tag: 0x7a }), "MD element 3: unknown tag 0x7a");
    assert_eq!(
        m(MdError::BlockSizes { total: 100, len: 50 }),
        "MD header announces 100 bytes (16 + node + name + data blocks) but the buffer holds 50"
    );
    assert_eq!(m(MdError::MissingListEnd), "MD node block has no LIST_END element");
}

// ---------------------------------------------------------------------------
// Fuzz-like robustness.
// ---------------------------------------------------------------------------

fn truncations_fail(bytes: &[u8]) {
    let size = MachineDescription::new(bytes).unwrap().size();
    for len in 0..size {
        assert!(MachineDescription::new(&bytes[..len]).is_err(), "truncated to {len} of {size} accepted");
    }
    for len in size..=bytes.len() {
        MachineDescription::new(&bytes[..len]).unwrap();
    }
}

fn mutations_never_panic(bytes: &[u8], step: usize) -> (usize, usize) {
    let mut ok = 0;
    let mut bad = 0;
    let mut buf = bytes.to_vec();
    for pos in (0..bytes.len()).step_by(step) {
        for x in [0x01u8, 0x02, 0x10, 0x80, 0xff] {
            buf[pos] ^= x;
            match MachineDescription::new(&buf) {
                Ok(md) => {
                    exercise(&md);
                    ok += 1;
                }
                Err(e) => {
                    let _ = format!("{e}");
                    bad += 1;
                }
            }
            buf[pos] = bytes[pos];
        }
    }
    (ok, bad)
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[test]
fn builder_md_truncation_and_mutation() {
    let b = sample();
    truncations_fail(&b);
    let (ok, bad) = mutations_never_panic(&b, 1);
    assert!(ok > 0 && bad > 0);
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let tags = [
        tag::LIST_END,
        tag::NODE,
        tag::NODE_END,
        tag::NOOP,
        tag::PROP_ARC,
        tag::PROP_VAL,
        tag::PROP_STR,
        tag::PROP_DATA,
    ];
    let mut accepted = 0;
    for round in 0..4000 {
        let nel = (rng.next() % 12) as usize;
        let nnames = (rng.next() % 24) as usize;
        let ndata = (rng.next() % 24) as usize;
        let mut els = Vec::new();
        for _ in 0..nel {
            let t = tags[(rng.next() % 8) as usize];
            let nl = (rng.next() % 6) as u8;
            let no = (rng.next() % 26) as u32;
            let v = if rng.next() % 2 == 0 {
                rng.next() % 14
            } else {
                dat((rng.next() % 10) as u32, (rng.next() % 26) as u32)
            };
            els.push(elem(t, nl, no, v));
        }
        let names: Vec<u8> =
            (0..nnames).map(|_| if rng.next() % 3 == 0 { 0 } else { b'a' + (rng.next() % 4) as u8 }).collect();
        let data: Vec<u8> = (0..ndata).map(|_| if rng.next() % 3 == 0 { 0 } else { rng.next() as u8 }).collect();
        let mut bytes = assemble(&els, &names, &data);
        if round % 5 == 0 {
            let cut = (rng.next() as usize) % (bytes.len() + 1);
            bytes.truncate(cut);
        }
        if let Ok(md) = MachineDescription::new(&bytes) {
            exercise(&md);
            accepted += 1;
        }
    }
    assert!(accepted > 0, "the generator should produce some valid MDs");
    // Pure noise, any length.
    for len in 0..300 {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = MachineDescription::new(&bytes);
        let mut with_hdr = bytes.clone();
        if with_hdr.len() >= 4 {
            with_hdr[..4].copy_from_slice(&TRANSPORT_VERSION.to_be_bytes());
            let _ = MachineDescription::new(&with_hdr);
        }
    }
}

/// The project's own MDs as `cargo xtask` builds them: the hypervisor MD and every guest MD
/// of each configuration in `configs/` and `tests/configs/` (full size: every node type the
/// firmware and the guests read).
fn our_mds() -> Vec<(String, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in ["configs", "tests/configs"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let cfg = ldom_config::load(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            let placed: Vec<(u64, u64, u64)> = (0..cfg.domains.len() as u64)
                .map(|i| (0xff_f008_0000 + i * 0x10_0000, 0x8_0000, 0x1f_1200_0000 + i * 0x2000))
                .collect();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            out.push((format!("{name} hv MD"), ldom_config::build::hv_md(&cfg, &placed).to_bytes()));
            for gi in 0..cfg.domains.len() {
                out.push((format!("{name} guest MD {gi}"), ldom_config::build::guest_md(&cfg, gi).to_bytes()));
            }
        }
    }
    assert!(out.len() >= 10, "the configurations give the fuzz its seeds");
    out
}

/// One random corruption of `md`: a byte, an aligned 32- or 64-bit field overwritten with
/// an edge value (0, 1, all ones, the sign bit, the MD's own sizes and counts, plus or minus
/// one), an element copied over another, or a cut.
fn corrupt(rng: &mut XorShift, md: &mut Vec<u8>) {
    let len = md.len();
    let size = len as u64;
    let edges = [
        0u64,
        1,
        2,
        0x7f,
        0x80,
        0xff,
        0xffff,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        u64::MAX,
        1 << 63,
        size,
        size - 1,
        size + 1,
        size / 16,
        size / 16 + 1,
        rng.next(),
    ];
    match rng.next() % 5 {
        0 => {
            let i = (rng.next() % size) as usize;
            md[i] = rng.next() as u8;
        }
        1 => {
            let i = (rng.next() % (size / 4)) as usize * 4;
            let v = edges[(rng.next() % edges.len() as u64) as usize] as u32;
            md[i..i + 4].copy_from_slice(&v.to_be_bytes());
        }
        2 => {
            let i = (rng.next() % (size / 8)) as usize * 8;
            let v = edges[(rng.next() % edges.len() as u64) as usize];
            md[i..i + 8].copy_from_slice(&v.to_be_bytes());
        }
        3 => {
            // Elements start after the 16-byte header, 16 bytes each.
            let n = (len - HEADER_SIZE) / 16;
            let from = HEADER_SIZE + (rng.next() % n as u64) as usize * 16;
            let to = HEADER_SIZE + (rng.next() % n as u64) as usize * 16;
            let e: Vec<u8> = md[from..from + 16].to_vec();
            md[to..to + 16].copy_from_slice(&e);
        }
        _ => md.truncate((rng.next() % size) as usize),
    }
}

/// `copies` corrupted copies of `bytes`, one to four corruptions each: none may panic;
/// returns how many were accepted and refused.
fn random_corruptions(rng: &mut XorShift, bytes: &[u8], copies: usize) -> (usize, usize) {
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..copies {
        let mut b = bytes.to_vec();
        for _ in 0..1 + rng.next() % 4 {
            if b.len() > HEADER_SIZE + 16 {
                corrupt(rng, &mut b);
            }
        }
        match MachineDescription::new(&b) {
            Ok(md) => {
                exercise(&md);
                accepted += 1;
            }
            Err(e) => {
                let _ = format!("{e}");
                refused += 1;
            }
        }
    }
    (accepted, refused)
}

#[test]
fn our_mds_survive_random_corruption() {
    let mut rng = XorShift(0x0014_4d44_f022_0001);
    let (mut accepted, mut refused) = (0, 0);
    for (name, bytes) in our_mds() {
        let md = MachineDescription::new(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        exercise(&md);
        // Bounded: 1500 corrupted copies of each MD.
        let (a, r) = random_corruptions(&mut rng, &bytes, 1500);
        accepted += a;
        refused += r;
    }
    assert!(
        accepted > 2000 && refused > 2000,
        "the corruptions should reach both outcomes ({accepted} accepted, {refused} refused)"
    );
}

// ---------------------------------------------------------------------------
// Sun's sample MDs (1up, 1g2p, 1g32p: Sun's OpenSPARC T1 Legion configurations), which
// the project may not ship: the tests are ignored unless run with `--include-ignored` and
// `SUN_MD_DIR` naming their folder (`cargo xtask test --sun-md DIR` does both). Expected
// values are restated from their .hdesc/.pdesc sources (1up, 1g2p, 1g32p, common).
// ---------------------------------------------------------------------------

fn sun_md(file: &str) -> Vec<u8> {
    let dir = std::env::var("SUN_MD_DIR").expect("SUN_MD_DIR names the folder of Sun's sample MDs");
    std::fs::read(format!("{dir}/{file}")).unwrap_or_else(|e| panic!("{dir}/{file}: {e}"))
}

const SUN_FILES: [(&str, usize); 6] = [
    ("1up-hv.bin", 752),
    ("1up-md.bin", 2408),
    ("1g2p-hv.bin", 848),
    ("1g2p-md.bin", 2624),
    ("1g32p-hv.bin", 3728),
    ("1g32p-md.bin", 9104),
];

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_all_parse_and_survive_corruption() {
    for (file, size) in SUN_FILES {
        let b = sun_md(file);
        let md = MachineDescription::new(&b).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(md.size(), size, "{file}");
        assert_eq!(md.element_count() * 16, md.header().node_blk_sz as usize, "{file}");
        assert_eq!(md.root().map(|r| r.index()), Some(0), "{file}");
        assert_eq!(md.nodes_named("root").count(), 1, "{file}");
        exercise(&md);
        truncations_fail(&b);
        let step = match b.len() {
            0..=1000 => 1,
            1001..=3000 => 3,
            _ => 13,
        };
        mutations_never_panic(&b, step);
        random_corruptions(&mut XorShift(0x0014_5e4d_0000_0001), &b, 1500);
    }
}

/// Values of common.hdesc `GUEST(0, cpuset, 0x80000000, 256M, 0x80000000,
/// 0x1f12000000, 0x1f40000000)`.
fn check_guest0(g: Node<'_>, cpuset: u64) {
    let expect = [
        ("gid", 0),
        ("pid", 1),
        ("xid", 16),
        ("cpuset", cpuset),
        ("membase", 0x8000_0000),
        ("memsize", 0x1000_0000),
        ("realbase", 0x8000_0000),
        ("uartbase", 0x1f_1000_0000),
        ("nvbase", 0x1f_1100_0000),
        ("nvsize", 0x2000),
        ("rombase", 0xff_f008_0000),
        ("romsize", 0x8_0000),
        ("diskpa", 0x1f_4000_0000),
        ("pdpa", 0x1f_1200_0000),
        ("bootcpu", 0),
        ("perfctraccess", 1),
    ];
    for (name, v) in expect {
        assert_eq!(g.val(name), Some(v), "guest property {name}");
    }
}

fn check_hv(file: &str, pids: &[u64], cpuset: u64) {
    let b = sun_md(file);
    let md = MachineDescription::new(&b).unwrap();
    let root = md.root().unwrap();
    assert_eq!(root.val("hvuart"), Some(0xff_f0c2_c000));
    assert_eq!(root.val("tod"), Some(0xff_f0c1_fff8));
    let cpus = root.arc("cpus").unwrap();
    let guests = root.arc("guests").unwrap();
    assert_eq!(cpus.name(), "cpus");
    assert_eq!(guests.name(), "guests");
    let guest_nodes: Vec<Node<'_>> = guests.arcs("guest").collect();
    assert_eq!(guest_nodes.len(), 1);
    let g = guest_nodes[0];
    check_guest0(g, cpuset);
    let cpu_nodes: Vec<Node<'_>> = cpus.arcs("cpu").collect();
    assert_eq!(cpu_nodes.len(), pids.len());
    for (i, (c, pid)) in cpu_nodes.iter().zip(pids).enumerate() {
        assert_eq!(c.name(), "cpu");
        assert_eq!(c.val("pid"), Some(*pid));
        assert_eq!(c.val("vid"), Some(i as u64));
        assert_eq!(c.arc("guest"), Some(g));
        assert_eq!(cpuset & (1 << pid), 1 << pid);
    }
    assert_eq!(md.nodes_named("cpu").count(), pids.len());
    assert_eq!(md.nodes_named("guest").count(), 1);
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_1up_hv() {
    check_hv("1up-hv.bin", &[0], 0x1);
    let b = sun_md("1up-hv.bin");
    let md = MachineDescription::new(&b).unwrap();
    assert_eq!(
        md.header(),
        Header { transport_version: 0x0001_0000, node_blk_sz: 0x240, name_blk_sz: 0xa0, data_blk_sz: 0 }
    );
    assert_eq!(md.element_count(), 36);
    let names: Vec<&str> = md.nodes().map(|n| n.name()).collect();
    assert_eq!(names, ["root", "cpu", "guest", "cpus", "guests"]);
    let root = md.root().unwrap();
    let props: Vec<&str> = root.properties().map(|p| p.name).collect();
    assert_eq!(props, ["guests", "cpus", "hvuart", "tod"]);
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_1g2p_hv() {
    check_hv("1g2p-hv.bin", &[0, 4], 0x11);
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_1g32p_hv() {
    let pids: Vec<u64> = (0..32).collect();
    check_hv("1g32p-hv.bin", &pids, 0xffff_ffff);
}

fn check_guest_md(file: &str, ncpus: u64) {
    let b = sun_md(file);
    let md = MachineDescription::new(&b).unwrap();
    let root = md.root().unwrap();
    assert_eq!(root.str("banner-name"), Some("Sun Fire T2000"));
    assert_eq!(root.str("name"), Some("SUNW,Sun-Fire-T2000"));
    assert_eq!(root.val("stick-frequency"), Some(5_000_000));
    assert_eq!(root.val("max-#cpus"), Some(32));
    assert_eq!(root.val("max-#cpumondo-entries"), Some(256));
    let fwd: Vec<&str> = root.arcs("fwd").map(|n| n.name()).collect();
    assert_eq!(fwd, ["platform", "virtual-devices"]);

    let plat = md.nodes_named("platform").next().unwrap();
    assert_eq!(plat.val("stick-frequency"), Some(5_000_000));
    assert_eq!(plat.val("clock-frequency"), Some(5_000_000));
    assert_eq!(plat.val("mac-address"), Some(0x80_03de_ad03));
    assert_eq!(plat.val("hostid"), Some(0x8011_2233));
    assert_eq!(plat.val("serial#"), Some(11_223_344));
    assert_eq!(plat.str("banner-name"), Some("Sun Fire T2000"));

    let opts = md.nodes_named("options").next().unwrap();
    assert_eq!(opts.str("boot-device"), Some("vdisk"));
    assert_eq!(opts.val("use-nvramrc?"), Some(u64::MAX));
    let alias = md.nodes_named("devalias").next().unwrap();
    assert_eq!(alias.str("ttya"), Some("/virtual-devices/console@1"));

    let vdev = md.nodes_named("virtual-devices").next().unwrap();
    assert_eq!(vdev.val("cfg-handle"), Some(0x100));
    let mut children = 0;
    for d in md.nodes_named("virtual-device") {
        assert_eq!(d.arc("back"), Some(vdev));
        children += 1;
    }
    assert_eq!(children, 4);
    let console = md.nodes_named("virtual-device").find(|d| d.str("name") == Some("console")).unwrap();
    assert_eq!(console.val("ino"), Some(0x11));
    assert_eq!(console.str("compatible"), Some("qcn"));
    assert_eq!(console.val("cfg-handle"), Some(1));
    let tod = md.nodes_named("virtual-device").find(|d| d.str("name") == Some("rtc")).unwrap();
    assert_eq!(tod.str("compatible"), Some("sun4v-tod"));
    assert_eq!(tod.val("cfg-handle"), Some(3));

    let cpus: Vec<Node<'_>> = md.nodes_named("cpu").collect();
    assert_eq!(cpus.len() as u64, ncpus);
    for (i, c) in cpus.iter().enumerate() {
        assert_eq!(c.val("id"), Some(i as u64));
        assert_eq!(c.val("clock-frequency"), Some(0x4c_4b40));
        assert_eq!(c.val("max-#tsb-entries"), Some(2));
        let isa: Vec<&str> = c.str_list("isalist").unwrap().collect();
        assert_eq!(isa, ["sparcv9", "sparcv8plus", "sparcv8", "sparcv8-fsmuld", "sparcv7", "sparc"]);
        let compat: Vec<&str> = c.str_list("compatible").unwrap().collect();
        assert_eq!(compat, ["SUNW,UltraSPARC-T1", "SUNW,sun4v-cpu", "sun4v"]);
        assert_eq!(c.data("compatible"), Some(&b"SUNW,UltraSPARC-T1\0SUNW,sun4v-cpu\0sun4v\0"[..]));
    }
    let mblocks: Vec<Node<'_>> = md.nodes_named("mblock").collect();
    assert_eq!(mblocks.len(), 1);
    assert_eq!(mblocks[0].val("base"), Some(0x8000_0000));
    assert_eq!(mblocks[0].val("size"), Some(0x1000_0000));
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_1up_md() {
    check_guest_md("1up-md.bin", 1);
    let b = sun_md("1up-md.bin");
    let md = MachineDescription::new(&b).unwrap();
    assert_eq!(md.element_count(), 88);
    assert_eq!(md.node_count(), 11);
    assert_eq!(md.node_at(76).unwrap().name(), "cpu");
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_1g2p_md() {
    check_guest_md("1g2p-md.bin", 2);
}

#[test]
#[ignore = "needs Sun's sample MDs: SUN_MD_DIR=DIR (cargo xtask test --sun-md DIR)"]
fn sun_1g32p_md() {
    check_guest_md("1g32p-md.bin", 32);
}
