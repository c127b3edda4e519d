//! The graph rules: one root, every node reachable from it, `fwd` and `back` arcs that
//! mirror each other.

use super::model::{Md, N, V};
use super::Report;

/// Applies the graph rules; returns the root when there is exactly one.
pub(super) fn check<'m, 'a>(r: &mut Report, md: &'m Md<'a>) -> Option<&'m N<'a>> {
    let root = root_count(r, md)?;
    node_unreachable(r, md, root);
    back_without_fwd(r, md);
    fwd_without_back(r, md);
    Some(root)
}

/// `root-count`: exactly one node is named `root` (the rules below need it).
fn root_count<'m, 'a>(r: &mut Report, md: &'m Md<'a>) -> Option<&'m N<'a>> {
    let roots: Vec<&N> = md.named("root").collect();
    match roots.len() {
        1 => Some(roots[0]),
        0 => {
            r.add("root-count", None, "no node named \"root\"");
            None
        }
        k => {
            r.add("root-count", Some(roots[1].idx), format!("{k} nodes named \"root\"; exactly one is allowed"));
            None
        }
    }
}

/// `node-unreachable`: every node can be reached from root along arcs other than `back`
/// (Solaris finds nodes by walking arcs from root).
fn node_unreachable(r: &mut Report, md: &Md, root: &N) {
    let mut reach = vec![false; md.nodes.len()];
    let mut stack = vec![md.pos(root.idx)];
    while let Some(k) = stack.pop() {
        if reach[k] {
            continue;
        }
        reach[k] = true;
        for (name, v) in &md.nodes[k].props {
            if let V::Arc(t) = v {
                if *name != "back" {
                    stack.push(md.pos(*t));
                }
            }
        }
    }
    for (n, _) in md.nodes.iter().zip(&reach).filter(|(_, &seen)| !seen) {
        r.add(
            "node-unreachable",
            Some(n.idx),
            format!("the {} is not reachable from root (Solaris finds nodes by walking arcs from root)", n.label()),
        );
    }
}

/// `back-without-fwd`: a node's `back` arc leads to a node with a `fwd` arc to it.
fn back_without_fwd(r: &mut Report, md: &Md) {
    for n in &md.nodes {
        for t in n.arcs("back") {
            let parent = md.node(t);
            if !parent.arcs("fwd").any(|c| c == n.idx) {
                r.add(
                    "back-without-fwd",
                    Some(n.idx),
                    format!("the {} has a back arc to the {}, which has no fwd arc to it", n.label(), parent.label()),
                );
            }
        }
    }
}

/// `fwd-without-back`: a node's `fwd` arc leads to a node that has no `back` arc or one to
/// it.
fn fwd_without_back(r: &mut Report, md: &Md) {
    for n in &md.nodes {
        for t in n.arcs("fwd") {
            let child = md.node(t);
            if child.arcs("back").next().is_some() && !child.arcs("back").any(|p| p == n.idx) {
                r.add(
                    "fwd-without-back",
                    Some(n.idx),
                    format!(
                        "the {} has a fwd arc to the {}, whose back arcs do not lead back",
                        n.label(),
                        child.label()
                    ),
                );
            }
        }
    }
}
