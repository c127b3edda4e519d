//! A TOML document as a tree in which every key and value keeps its source span, so that
//! every rule can name the exact place it is about (serde's typed deserialisation stops at
//! the first problem; this tree lets us report all of them).

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use toml::Spanned;

#[derive(Clone, Debug)]
pub(crate) enum Tv {
    Str(String),
    Int(i64),
    Float,
    Bool,
    Datetime,
    Array(Vec<Sv>),
    Table(Vec<(Spanned<String>, Sv)>),
}

pub(crate) type Sv = Spanned<Tv>;

impl Tv {
    pub fn kind(&self) -> &'static str {
        match self {
            Tv::Str(_) => "a string",
            Tv::Int(_) => "an integer",
            Tv::Float => "a float",
            Tv::Bool => "a boolean",
            Tv::Datetime => "a date-time",
            Tv::Array(_) => "an array",
            Tv::Table(_) => "a table",
        }
    }
}

const DATETIME_KEY: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for Tv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tv;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_bool<E>(self, _v: bool) -> Result<Tv, E> {
                Ok(Tv::Bool)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Tv, E> {
                Ok(Tv::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tv, E> {
                i64::try_from(v).map(Tv::Int).map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E>(self, _v: f64) -> Result<Tv, E> {
                Ok(Tv::Float)
            }
            fn visit_str<E>(self, v: &str) -> Result<Tv, E> {
                Ok(Tv::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Tv, E> {
                Ok(Tv::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Tv, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element::<Sv>()? {
                    v.push(x);
                }
                Ok(Tv::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Tv, A::Error> {
                let mut v: Vec<(Spanned<String>, Sv)> = Vec::new();
                loop {
                    // A date-time arrives as a one-entry map with a private key whose
                    // deserializer does not know about spans: fall back to a plain key.
                    let key = match a.next_key::<Spanned<String>>() {
                        Ok(Some(k)) => k,
                        Ok(None) => break,
                        Err(e) => return Err(e),
                    };
                    if key.get_ref() == DATETIME_KEY {
                        let _: de::IgnoredAny = a.next_value()?;
                        return Ok(Tv::Datetime);
                    }
                    let val = a.next_value::<Sv>()?;
                    v.push((key, val));
                }
                Ok(Tv::Table(v))
            }
        }
        d.deserialize_any(V)
    }
}
