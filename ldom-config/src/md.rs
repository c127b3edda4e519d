//! In-memory machine description (MD) model and its binary writer.
//!
//! The writer reproduces the layout of Sun's `mdgen` (`output_bin.c` in the OpenSPARC
//! hypervisor sources) byte for byte; the layout rules, restated:
//!
//! * header: transport version `0x00010000`, then the node, name and data block sizes (u32,
//!   big-endian);
//! * node block: for every node, in model order, a `NODE` element, one element per property
//!   (in model order) and a `NODE_END` element; then one `LIST_END` element. A `NODE`'s value
//!   is the element index of the next node's `NODE` element, the last one points at
//!   `LIST_END`. An arc's value is the element index of the target's `NODE` element;
//! * name block: every name (node names and property names, visited in element order) is
//!   stored once, at its first use, NUL-terminated; the element's `name_len` is `strlen`.
//!   The block is then zero-padded to a multiple of 16 bytes;
//! * data block: string (with its NUL) and data property payloads in element order, **not**
//!   deduplicated, each starting at a multiple of 8 (zero padding is inserted *before* an
//!   item when needed; the block itself is not padded at its end).

use std::collections::HashMap;

/// Identifies a node of an [`Md`]: its position in [`Md::nodes`].
pub type NodeId = usize;

/// Element tags.
pub mod tag {
    /// End of the node block.
    pub const LIST_END: u8 = 0x00;
    /// An element readers skip.
    pub const NOOP: u8 = 0x20;
    /// Start of a node.
    pub const NODE: u8 = b'N';
    /// End of a node.
    pub const NODE_END: u8 = b'E';
    /// Arc property: the element index of the target node.
    pub const PROP_ARC: u8 = b'a';
    /// Integer property: a `u64` value.
    pub const PROP_VAL: u8 = b'v';
    /// String property: a NUL-terminated string in the data block.
    pub const PROP_STR: u8 = b's';
    /// Data property: bytes in the data block.
    pub const PROP_DATA: u8 = b'd';
}

/// `MD_TRANSPORT_VERSION`.
pub const TRANSPORT_VERSION: u32 = 0x0001_0000;

/// A property value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer (`PROP_VAL`).
    Val(u64),
    /// A string, written NUL-terminated (`PROP_STR`).
    Str(String),
    /// Raw bytes (`PROP_DATA`).
    Data(Vec<u8>),
    /// An arc to another node (`PROP_ARC`).
    Arc(NodeId),
}

/// A named property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prop {
    /// The property name.
    pub name: String,
    /// The property value.
    pub value: Value,
}

/// A node: a type name (`cpu`, `mblock`…) and its properties, in output order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Node {
    /// The node's type name.
    pub name: String,
    /// The properties, in output order.
    pub props: Vec<Prop>,
}

/// A machine description under construction.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Md {
    /// The nodes, in output order; the first is the root.
    pub nodes: Vec<Node>,
}

/// Builds a PROP_DATA payload from a list of strings (each NUL-terminated), the encoding
/// of `compatible`, `isalist`, `type`…
pub fn string_list(items: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    for s in items {
        v.extend_from_slice(s.as_bytes());
        v.push(0);
    }
    v
}

impl Md {
    /// An MD with no nodes.
    pub fn new() -> Self {
        Md::default()
    }

    /// Appends a node and returns its id.
    pub fn add_node(&mut self, name: &str) -> NodeId {
        self.nodes.push(Node { name: name.to_string(), props: Vec::new() });
        self.nodes.len() - 1
    }

    /// Appends a property of any kind to `node`.
    pub fn push(&mut self, node: NodeId, name: &str, value: Value) -> &mut Self {
        self.nodes[node].props.push(Prop { name: name.to_string(), value });
        self
    }

    /// Appends an integer property to `node`.
    pub fn val(&mut self, node: NodeId, name: &str, v: u64) -> &mut Self {
        self.push(node, name, Value::Val(v))
    }

    /// Appends a string property to `node`.
    pub fn str(&mut self, node: NodeId, name: &str, s: &str) -> &mut Self {
        self.push(node, name, Value::Str(s.to_string()))
    }

    /// Appends a data property to `node`.
    pub fn data(&mut self, node: NodeId, name: &str, d: &[u8]) -> &mut Self {
        self.push(node, name, Value::Data(d.to_vec()))
    }

    /// A data property holding a list of NUL-terminated strings.
    pub fn strings(&mut self, node: NodeId, name: &str, items: &[&str]) -> &mut Self {
        self.push(node, name, Value::Data(string_list(items)))
    }

    /// Appends an arc property from `node` to `target`.
    pub fn arc(&mut self, node: NodeId, name: &str, target: NodeId) -> &mut Self {
        self.push(node, name, Value::Arc(target))
    }

    /// `parent --fwd--> child` and `child --back--> parent`.
    pub fn link(&mut self, parent: NodeId, child: NodeId) {
        self.arc(parent, "fwd", child);
        self.arc(child, "back", parent);
    }

    /// Element index of every node's NODE element, and the LIST_END index.
    fn offsets(&self) -> (Vec<usize>, usize) {
        let mut offs = Vec::with_capacity(self.nodes.len());
        let mut at = 0;
        for n in &self.nodes {
            offs.push(at);
            at += 2 + n.props.len();
        }
        (offs, at)
    }

    /// Number of elements (including LIST_END).
    pub fn element_count(&self) -> usize {
        self.offsets().1 + 1
    }

    /// Serialises the MD in mdgen's exact layout.
    ///
    /// Panics if an arc names a node id that does not exist or a name is longer than 255
    /// bytes (programming errors; [`Md::check`] reports them as values).
    pub fn to_bytes(&self) -> Vec<u8> {
        if let Err(e) = self.check() {
            panic!("invalid MD model: {e}");
        }
        let (offs, list_end) = self.offsets();

        // Name block: first-use order, deduplicated.
        let mut names: Vec<u8> = Vec::new();
        let mut name_at: HashMap<String, u32> = HashMap::new();
        let mut intern = |s: &'_ str, names: &mut Vec<u8>| -> (u8, u32) {
            let off = *name_at.entry(s.to_string()).or_insert_with(|| {
                let o = names.len() as u32;
                names.extend_from_slice(s.as_bytes());
                names.push(0);
                o
            });
            (s.len() as u8, off)
        };
        // Data block: element order, 8-aligned, not deduplicated.
        let mut data: Vec<u8> = Vec::new();
        let put_data = |bytes: &[u8], data: &mut Vec<u8>| -> (u32, u32) {
            while data.len() % 8 != 0 {
                data.push(0);
            }
            let o = data.len() as u32;
            data.extend_from_slice(bytes);
            (bytes.len() as u32, o)
        };

        let mut elems: Vec<[u8; 16]> = Vec::with_capacity(list_end + 1);
        for (i, n) in self.nodes.iter().enumerate() {
            let (nl, no) = intern(&n.name, &mut names);
            let next = if i + 1 < self.nodes.len() { offs[i + 1] } else { list_end };
            elems.push(elem(tag::NODE, nl, no, next as u64));
            for p in &n.props {
                let (nl, no) = intern(&p.name, &mut names);
                let e = match &p.value {
                    Value::Val(v) => elem(tag::PROP_VAL, nl, no, *v),
                    Value::Arc(t) => elem(tag::PROP_ARC, nl, no, offs[*t] as u64),
                    Value::Str(s) => {
                        let mut b = s.as_bytes().to_vec();
                        b.push(0);
                        let (len, off) = put_data(&b, &mut data);
                        elem(tag::PROP_STR, nl, no, ((len as u64) << 32) | off as u64)
                    }
                    Value::Data(d) => {
                        let (len, off) = put_data(d, &mut data);
                        elem(tag::PROP_DATA, nl, no, ((len as u64) << 32) | off as u64)
                    }
                };
                elems.push(e);
            }
            elems.push(elem(tag::NODE_END, 0, 0, 0));
        }
        elems.push(elem(tag::LIST_END, 0, 0, 0));
        while names.len() % 16 != 0 {
            names.push(0);
        }

        let node_sz = elems.len() * 16;
        let mut out = Vec::with_capacity(16 + node_sz + names.len() + data.len());
        out.extend_from_slice(&TRANSPORT_VERSION.to_be_bytes());
        out.extend_from_slice(&(node_sz as u32).to_be_bytes());
        out.extend_from_slice(&(names.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for e in &elems {
            out.extend_from_slice(e);
        }
        out.extend_from_slice(&names);
        out.extend_from_slice(&data);
        out
    }

    /// Checks that the model can be serialised: arcs name existing nodes, names are 1..=255
    /// bytes without NUL, strings have no NUL.
    pub fn check(&self) -> Result<(), String> {
        let bad_name = |s: &str| s.is_empty() || s.len() > 255 || s.contains('\0');
        for (i, n) in self.nodes.iter().enumerate() {
            if bad_name(&n.name) {
                return Err(format!("node {i}: bad node name {:?}", n.name));
            }
            for p in &n.props {
                if bad_name(&p.name) {
                    return Err(format!("node {i} ({}): bad property name {:?}", n.name, p.name));
                }
                match &p.value {
                    Value::Arc(t) if *t >= self.nodes.len() => {
                        return Err(format!("node {i} ({}): arc {} to missing node {t}", n.name, p.name))
                    }
                    Value::Str(s) if s.contains('\0') => {
                        return Err(format!("node {i} ({}): string {} holds a NUL", n.name, p.name))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Ids of the nodes named `name`.
    pub fn nodes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = NodeId> + 'a {
        self.nodes.iter().enumerate().filter(move |(_, n)| n.name == name).map(|(i, _)| i)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_layout() {
        let mut md = Md::new();
        let root = md.add_node("root");
        let cpu = md.add_node("cpu");
        md.link(root, cpu);
        md.str(cpu, "compatible", "x");
        md.val(cpu, "id", 0);
        let b = md.to_bytes();
        // root: NODE, fwd, NODE_END = 3; cpu: NODE back str id NODE_END = 5; LIST_END
        assert_eq!(&b[4..8], &(9u32 * 16).to_be_bytes());
        // names: root\0fwd\0cpu\0back\0compatible\0id\0 = 5+4+4+5+11+3 = 32
        assert_eq!(&b[8..12], &32u32.to_be_bytes());
        assert_eq!(&b[12..16], &2u32.to_be_bytes());
        // root's NODE points at cpu's NODE (index 3); cpu's at LIST_END (8)
        assert_eq!(b[16 + 15], 3);
        assert_eq!(b[16 + 3 * 16 + 15], 8);
        assert_eq!(b.len(), 16 + 144 + 32 + 2);
    }
}
