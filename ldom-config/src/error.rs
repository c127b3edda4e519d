//! Located, rule-tagged errors.

use std::fmt;
use std::path::{Path, PathBuf};

/// One broken rule, at a place in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The configuration file, as named when it was loaded.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Stable rule id, e.g. `strand-twice` (see docs/ldom-config.md).
    pub rule: &'static str,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: error[{}]: {}", self.file.display(), self.line, self.column, self.rule, self.message)
    }
}

impl std::error::Error for Error {}

/// One or more errors (never empty when returned as `Err`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors(pub Vec<Error>);

impl Errors {
    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// The errors, in report order.
    pub fn iter(&self) -> std::slice::Iter<'_, Error> {
        self.0.iter()
    }
    /// The rule ids, in report order.
    pub fn rules(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.rule).collect()
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

impl From<Error> for Errors {
    fn from(e: Error) -> Self {
        Errors(vec![e])
    }
}

impl IntoIterator for Errors {
    type Item = Error;
    type IntoIter = std::vec::IntoIter<Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Maps byte offsets of a source text to line/column and collects errors against it.
pub(crate) struct Source {
    pub file: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    pub errors: Vec<Error>,
}

impl Source {
    pub fn new(file: &Path, text: String) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Source { file: file.to_path_buf(), text, line_starts, errors: Vec::new() }
    }

    /// (line, column), both 1-based, of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map(|s| s.chars().count()).unwrap_or(offset - start);
        (line + 1, col + 1)
    }

    pub fn error_at(&self, offset: usize, rule: &'static str, message: String) -> Error {
        let (line, column) = self.position(offset);
        Error { file: self.file.clone(), line, column, rule, message }
    }

    pub fn err(&mut self, offset: usize, rule: &'static str, message: impl Into<String>) {
        let e = self.error_at(offset, rule, message.into());
        self.errors.push(e);
    }
}
