//! Command-line options and the paths they name (the user's folders, Sun's files).

#[allow(unused_imports)]
use crate::*;
use qemu_sun4v::FirmwareSet;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Minimal option parser: `--name value` pairs and `--flag`s.
pub(crate) struct Opts {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

impl Opts {
    pub(crate) fn parse(args: &[String], with_value: &[&str], flags: &[&str]) -> Result<Opts, String> {
        let mut o = Opts { values: HashMap::new(), flags: Vec::new() };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (a.as_str(), None),
            };
            if with_value.contains(&name) {
                let v = match inline {
                    Some(v) => v,
                    None => it.next().cloned().ok_or_else(|| format!("{name} needs a value"))?,
                };
                o.values.insert(name.to_string(), v);
            } else if flags.contains(&name) && inline.is_none() {
                o.flags.push(name.to_string());
            } else {
                return Err(format!("unexpected argument `{a}`\n\n{USAGE}"));
            }
        }
        Ok(o)
    }
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}

/// A user-given path: relative to the current directory, or else to the workspace.
pub(crate) fn user_path(ws: &Path, p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() || p.exists() {
        return p;
    }
    let in_ws = ws.join(&p);
    if in_ws.exists() {
        in_ws
    } else {
        p
    }
}

pub(crate) fn config_path(ws: &Path, opts: &Opts) -> Result<PathBuf, String> {
    let p = match opts.get("--config") {
        Some(c) => user_path(ws, c),
        None => ws.join(DEFAULT_CONFIG),
    };
    if !p.is_file() {
        return Err(format!("configuration file {} not found", p.display()));
    }
    Ok(p.canonicalize().unwrap_or(p))
}

// ---------------------------------------------------------------------------------------
// Prerequisites

pub(crate) const DEFAULT_CONFIG: &str = "configs/one-domain.toml";

/// `--sun-firmware DIR` or `$SUN_FIRMWARE`, checked.
pub(crate) fn sun_firmware_dir(ws: &Path, opts: &Opts) -> Result<Option<PathBuf>, String> {
    env_dir(ws, opts, "--sun-firmware", "SUN_FIRMWARE")
}

/// `--silo DIR` or `$SILO_DIR`, checked.
pub(crate) fn silo_dir(ws: &Path, opts: &Opts) -> Result<Option<PathBuf>, String> {
    env_dir(ws, opts, "--silo", "SILO_DIR")
}

pub(crate) fn env_dir(ws: &Path, opts: &Opts, name: &str, var: &str) -> Result<Option<PathBuf>, String> {
    let v = match opts.get(name) {
        Some(v) => v.to_string(),
        None => match std::env::var(var) {
            Ok(v) if !v.is_empty() => v,
            _ => return Ok(None),
        },
    };
    let p = user_path(ws, &v);
    if p.is_dir() {
        Ok(Some(p.canonicalize().unwrap_or(p)))
    } else {
        Err(format!("{name} (or ${var}): {} is not a directory", p.display()))
    }
}

/// Sun's complete reference set in `dir` (all six files must be there).
pub(crate) fn check_sun_set(dir: &Path) -> Result<(), String> {
    FirmwareSet::read_from(dir).map(|_| ())
}

/// A folder given on the command line, made absolute (it need not exist yet).
pub(crate) fn user_dir(p: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(p);
    Ok(if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?.join(p)
    })
}
