//! The two rules both profiles share, on a profile's schema: which properties of which nodes
//! it reads, of what kind, and whether they are required.

use super::model::{N, V};
use super::Report;

/// The kind of property a rule reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A value property.
    Val,
    /// A string property.
    Str,
}

/// Whether a schema property must be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Need {
    /// Missing: `required-props` (error).
    Required,
    /// Missing: the profile's recommended-properties rule (warning).
    Recommended,
    /// May be absent.
    Optional,
}

/// A property of a schema.
#[derive(Clone, Copy, Debug)]
pub(super) struct Prop {
    pub name: &'static str,
    pub kind: Kind,
    pub need: Need,
}

/// A required value property.
pub(super) const fn required(name: &'static str) -> Prop {
    Prop { name, kind: Kind::Val, need: Need::Required }
}

/// A recommended value property.
pub(super) const fn recommended(name: &'static str) -> Prop {
    Prop { name, kind: Kind::Val, need: Need::Recommended }
}

/// An optional property of kind `kind`.
pub(super) const fn optional(name: &'static str, kind: Kind) -> Prop {
    Prop { name, kind, need: Need::Optional }
}

/// A profile's schema: nodes, each with the properties the profile reads.
pub(super) type Schema<'m, 'a> = Vec<(&'m N<'a>, &'static [Prop])>;

/// The properties of `schema` with need `need` that are absent, as (node, property).
pub(super) fn missing<'m, 'a>(schema: &Schema<'m, 'a>, need: Need) -> Vec<(&'m N<'a>, &'static str)> {
    let mut out = Vec::new();
    for (n, props) in schema {
        for p in props.iter().filter(|p| p.need == need) {
            if n.get(p.name).is_none() {
                out.push((*n, p.name));
            }
        }
    }
    out
}

/// `required-props`: every required property of the schema is present.
pub(super) fn required_props(r: &mut Report, schema: &Schema) {
    for (n, p) in missing(schema, Need::Required) {
        r.add("required-props", Some(n.idx), format!("the {} lacks {p:?}", n.label()));
    }
}

/// `property-kind`: every property of the schema that is present has the kind the schema
/// says (the rules that read it then see it as absent).
pub(super) fn property_kind(r: &mut Report, schema: &Schema) {
    for (n, props) in schema {
        for p in props.iter() {
            let ok = matches!(
                (n.get(p.name), p.kind),
                (None, _) | (Some(V::Val(_)), Kind::Val) | (Some(V::Str(_)), Kind::Str)
            );
            if !ok {
                let what = if p.kind == Kind::Val { "a value" } else { "a string" };
                r.add(
                    "property-kind",
                    Some(n.idx),
                    format!("the {}'s {:?} must be {what} property", n.label(), p.name),
                );
            }
        }
    }
}
