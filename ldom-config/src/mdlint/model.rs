//! The small model the graph and profile rules read: nodes with their properties, built by
//! [`super::transport`] from an MD whose bytes broke no rule.

use std::collections::HashMap;

/// Size of the MD header.
pub(super) const HDR: usize = 16;
/// Size of an element.
pub(super) const ELEM: usize = 16;
/// `MD_TRANSPORT_VERSION`.
pub(super) const VERSION: u32 = 0x0001_0000;
/// Size of the niagara MD slots.
pub(super) const SLOT: usize = 0x2000;

/// Element tags.
pub(super) mod tag {
    pub const LIST_END: u8 = 0x00;
    pub const NOOP: u8 = 0x20;
    pub const NODE: u8 = b'N';
    pub const NODE_END: u8 = b'E';
    pub const ARC: u8 = b'a';
    pub const VAL: u8 = b'v';
    pub const STR: u8 = b's';
    pub const DATA: u8 = b'd';
}

/// A property value.
#[derive(Clone, Debug)]
pub(super) enum V<'a> {
    Val(u64),
    Str(&'a str),
    Data(&'a [u8]),
    /// Element index of the target NODE.
    Arc(usize),
}

/// A node: its NODE element index, name and properties in order.
#[derive(Clone, Debug)]
pub(super) struct N<'a> {
    pub idx: usize,
    pub name: &'a str,
    pub props: Vec<(&'a str, V<'a>)>,
}

impl<'a> N<'a> {
    /// The first property `name`.
    pub fn get(&self, name: &str) -> Option<&V<'a>> {
        self.props.iter().find(|p| p.0 == name).map(|p| &p.1)
    }
    /// The first property `name`, if it is a value.
    pub fn val(&self, name: &str) -> Option<u64> {
        match self.get(name) {
            Some(V::Val(v)) => Some(*v),
            _ => None,
        }
    }
    /// Targets (element indices) of the arcs named `name`.
    pub fn arcs<'s>(&'s self, name: &'s str) -> impl Iterator<Item = usize> + 's {
        self.props.iter().filter_map(move |p| match p.1 {
            V::Arc(t) if p.0 == name => Some(t),
            _ => None,
        })
    }
    /// `cpu node at element 12`.
    pub fn label(&self) -> String {
        format!("{} node at element {}", self.name, self.idx)
    }
}

/// The nodes of an MD, in element order; every arc leads to one of them.
pub(super) struct Md<'a> {
    pub nodes: Vec<N<'a>>,
    by_idx: HashMap<usize, usize>,
}

impl<'a> Md<'a> {
    /// The model of `nodes` (their arcs must lead to NODE elements among them).
    pub fn new(nodes: Vec<N<'a>>) -> Self {
        let by_idx = nodes.iter().enumerate().map(|(k, n)| (n.idx, k)).collect();
        Md { nodes, by_idx }
    }
    /// Position in `nodes` of the node at element `idx`.
    pub fn pos(&self, idx: usize) -> usize {
        self.by_idx[&idx]
    }
    /// The node at element `idx`.
    pub fn node(&self, idx: usize) -> &N<'a> {
        &self.nodes[self.pos(idx)]
    }
    /// The nodes named `name`.
    pub fn named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s N<'a>> + 's {
        self.nodes.iter().filter(move |n| n.name == name)
    }
    /// The node that the only arc `name` of `n` leads to, if it is named `target`; else the
    /// message saying why not.
    pub fn one_arc(&self, n: &N, name: &str, target: &str) -> Result<&N<'a>, String> {
        let arcs: Vec<usize> = n.arcs(name).collect();
        if arcs.len() != 1 {
            return Err(format!("the {} must have exactly one {name:?} arc, it has {}", n.label(), arcs.len()));
        }
        let t = self.node(arcs[0]);
        if t.name != target {
            return Err(format!("the {}'s {name:?} arc leads to a {} node, expected {target}", n.label(), t.name));
        }
        Ok(t)
    }
}
