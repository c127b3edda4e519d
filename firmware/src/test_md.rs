//! A small machine-description builder for unit tests (host only).

/// A property value.
#[derive(Clone, Debug)]
pub enum Value {
    /// `v` element.
    Val(u64),
    /// `s` element.
    Str(&'static str),
    /// `a` element to the node with this builder id.
    Arc(usize),
}

struct TestNode {
    name: String,
    props: Vec<(String, Value)>,
}

/// Builds MDs node by node.
pub struct MdBuilder {
    nodes: Vec<TestNode>,
}

impl MdBuilder {
    pub fn new() -> Self {
        MdBuilder { nodes: Vec::new() }
    }

    pub fn node(&mut self, name: &str) -> usize {
        self.nodes.push(TestNode { name: name.to_string(), props: Vec::new() });
        self.nodes.len() - 1
    }

    pub fn prop(&mut self, node: usize, name: &str, value: Value) {
        self.nodes[node].props.push((name.to_string(), value));
    }

    pub fn build(&self) -> Vec<u8> {
        let mut names: Vec<u8> = Vec::new();
        let name_off = |names: &mut Vec<u8>, s: &str| -> u32 {
            let mut off = 0;
            for part in names.split(|&c| c == 0) {
                if part == s.as_bytes() {
                    return off as u32;
                }
                off += part.len() + 1;
            }
            let o = names.len() as u32;
            names.extend_from_slice(s.as_bytes());
            names.push(0);
            o
        };
        let mut start = Vec::new();
        let mut idx = 0u64;
        for n in &self.nodes {
            start.push(idx);
            idx += 2 + n.props.len() as u64;
        }
        let list_end = idx;
        let mut elems: Vec<[u8; 16]> = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let next = if i + 1 < self.nodes.len() { start[i + 1] } else { list_end };
            elems.push(elem(b'N', &n.name, name_off(&mut names, &n.name), next.to_be_bytes()));
            for (pname, v) in &n.props {
                let off = name_off(&mut names, pname);
                let e = match v {
                    Value::Val(x) => elem(b'v', pname, off, x.to_be_bytes()),
                    Value::Arc(t) => elem(b'a', pname, off, start[*t].to_be_bytes()),
                    Value::Str(st) => {
                        let doff = data.len() as u32;
                        data.extend_from_slice(st.as_bytes());
                        data.push(0);
                        let mut w = [0u8; 8];
                        w[..4].copy_from_slice(&((st.len() + 1) as u32).to_be_bytes());
                        w[4..].copy_from_slice(&doff.to_be_bytes());
                        elem(b's', pname, off, w)
                    }
                };
                elems.push(e);
            }
            elems.push([b'E', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
        elems.push([0; 16]);
        while !names.len().is_multiple_of(16) {
            names.push(0);
        }
        while !data.len().is_multiple_of(16) {
            data.push(0);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
        out.extend_from_slice(&((elems.len() * 16) as u32).to_be_bytes());
        out.extend_from_slice(&(names.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for e in elems {
            out.extend_from_slice(&e);
        }
        out.extend_from_slice(&names);
        out.extend_from_slice(&data);
        out
    }
}

fn elem(tag: u8, name: &str, name_off: u32, value: [u8; 8]) -> [u8; 16] {
    let mut e = [0u8; 16];
    e[0] = tag;
    e[1] = name.len() as u8;
    e[4..8].copy_from_slice(&name_off.to_be_bytes());
    e[8..].copy_from_slice(&value);
    e
}
