//! Reading MDs back (through `hv_api`'s reader): text and Graphviz dumps, and conversion
//! to the writer's model (used by the round-trip tests).

use crate::md::{Md, Value};
use hv_api::md::{MachineDescription, MdError, PropValue};
use std::collections::HashMap;
use std::fmt::Write;

/// Rebuilds the writer's model from a parsed MD (node order and property order kept).
pub fn to_model(md: &MachineDescription<'_>) -> Result<Md, String> {
    let index: HashMap<usize, usize> = md.nodes().enumerate().map(|(k, n)| (n.index(), k)).collect();
    let mut out = Md::new();
    for n in md.nodes() {
        let id = out.add_node(n.name());
        for p in n.properties() {
            let v = match p.value {
                PropValue::Val(v) => Value::Val(v),
                PropValue::Str(s) => Value::Str(s.to_string()),
                PropValue::Data(d) => Value::Data(d.to_vec()),
                PropValue::Arc(t) => Value::Arc(
                    *index
                        .get(&t)
                        .ok_or_else(|| format!("arc {} of node {} to element {t}, not a node", p.name, n.index()))?,
                ),
            };
            out.nodes[id].props.push(crate::md::Prop { name: p.name.to_string(), value: v });
        }
    }
    Ok(out)
}

/// Parses `bytes` with `hv_api`'s reader and rebuilds the model.
pub fn parse(bytes: &[u8]) -> Result<Md, String> {
    let md = MachineDescription::new(bytes).map_err(|e: MdError| format!("{e:?}"))?;
    to_model(&md)
}

/// Labels: `<type><n>` with n counting nodes of that type (`cpu0`, `cpu1`, …); `root` for
/// the first root. Characters Graphviz dislikes become `_`.
fn labels(md: &Md) -> Vec<String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    md.nodes
        .iter()
        .map(|n| {
            let c = count.entry(n.name.as_str()).or_insert(0);
            let l = if n.name == "root" && *c == 0 { "root".to_string() } else { format!("{}{}", n.name, c) };
            *c += 1;
            l.chars().map(|ch| if ch.is_ascii_alphanumeric() || ch == '_' { ch } else { '_' }).collect()
        })
        .collect()
}

fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A data payload as `"a", "b"` when it is a list of printable NUL-terminated strings,
/// else as `{ 0x.., … }`.
fn data_text(d: &[u8]) -> String {
    let printable = !d.is_empty()
        && d.last() == Some(&0)
        && d[..d.len() - 1].split(|&b| b == 0).all(|s| !s.is_empty() && s.iter().all(|&b| (0x20..0x7f).contains(&b)));
    if printable {
        d[..d.len() - 1]
            .split(|&b| b == 0)
            .map(|s| quote(std::str::from_utf8(s).unwrap()))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        let bytes: Vec<String> = d.iter().map(|b| format!("0x{b:02x}")).collect();
        format!("{{ {} }}", bytes.join(", "))
    }
}

/// The MD in an mdgen-like text syntax.
pub fn text(md: &Md) -> String {
    let labels = labels(md);
    let mut o = String::new();
    for (i, n) in md.nodes.iter().enumerate() {
        let _ = writeln!(o, "node {} {} {{", n.name, labels[i]);
        for p in &n.props {
            let _ = match &p.value {
                Value::Val(v) => writeln!(o, "\t{} = {:#x};", p.name, v),
                Value::Str(s) => writeln!(o, "\t{} = {};", p.name, quote(s)),
                Value::Data(d) => writeln!(o, "\t{} = {};", p.name, data_text(d)),
                Value::Arc(t) => writeln!(o, "\t{} -> {};", p.name, labels[*t]),
            };
        }
        let _ = writeln!(o, "}}");
    }
    o
}

/// The MD as a Graphviz digraph (arcs other than `back`; `back` arcs without a matching
/// `fwd` arc are drawn dashed).
pub fn dot(md: &Md) -> String {
    let labels = labels(md);
    let mut o = String::from("digraph md {\n\trankdir=LR;\n\tnode [shape=record, fontsize=10];\n");
    for (i, n) in md.nodes.iter().enumerate() {
        let mut rows = vec![format!("{} {}", n.name, labels[i])];
        for p in &n.props {
            match &p.value {
                Value::Val(v) => rows.push(format!("{} = {:#x}", p.name, v)),
                Value::Str(s) => rows.push(format!("{} = {}", p.name, quote(s))),
                Value::Data(d) => rows.push(format!("{} = {}", p.name, data_text(d))),
                Value::Arc(_) => {}
            }
        }
        let esc: Vec<String> = rows
            .iter()
            .map(|r| {
                r.chars()
                    .flat_map(|c| match c {
                        '{' | '}' | '|' | '<' | '>' | '"' | '\\' => vec!['\\', c],
                        c => vec![c],
                    })
                    .collect()
            })
            .collect();
        let _ = writeln!(o, "\t{} [label=\"{{{}}}\"];", labels[i], esc.join("|"));
    }
    for (i, n) in md.nodes.iter().enumerate() {
        for p in &n.props {
            if let Value::Arc(t) = p.value {
                if p.name == "back" {
                    let mirrored = md.nodes[t].props.iter().any(|q| q.name == "fwd" && q.value == Value::Arc(i));
                    if !mirrored {
                        let _ = writeln!(o, "\t{} -> {} [style=dashed, label=\"back\"];", labels[i], labels[t]);
                    }
                } else if p.name == "fwd" {
                    let _ = writeln!(o, "\t{} -> {};", labels[i], labels[t]);
                } else {
                    let _ = writeln!(o, "\t{} -> {} [label={}];", labels[i], labels[t], quote(&p.name));
                }
            }
        }
    }
    o.push_str("}\n");
    o
}
