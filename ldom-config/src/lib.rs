//! Logical-domain configuration for the sun4v hypervisor.
//!
//! * [`config`]: the TOML configuration format (docs/ldom-config.md), parsed with source
//!   spans and validated rule by rule: every [`Error`] names FILE:LINE:COLUMN and a rule id;
//! * [`build()`]: lays out the firmware set and generates the hypervisor MD
//!   (docs/hv-md-schema.md) and one guest MD per domain;
//! * [`md`]: the MD model and its writer (Sun `mdgen`'s layout, byte for byte);
//! * [`mdlint`]: an independent MD checker;
//! * [`dump`]: MD → text / Graphviz, through `hv_api`'s reader.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod build;
pub mod config;
pub mod dump;
pub mod error;
pub mod md;
pub mod mdlint;
mod tree;

pub use build::{build, build_config, Build, BuiltDomain, FileResolver, ImageResolver};
pub use config::{load, parse_size, Config};
pub use error::{Error, Errors};
