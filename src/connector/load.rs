//! Reading a connector file: parse, check, compile into a [`Plan`].

use std::path::{Path, PathBuf};

use super::check;
use super::diagnostic::Diagnostic;
use super::located::Pos;
use super::model::Connector;
use super::plan::Plan;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads, parses, checks and compiles a connector file.
pub fn load(path: &Path) -> Result<Plan, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = path.display().to_string();
    let src = utf8(&bytes, &file).map_err(|d| LoadError::Invalid(vec![d]))?;
    parse(src, &file)
}

/// The file's text, or a diagnostic at its first byte that is not UTF-8.
pub fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, Diagnostic> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        // The prefix is valid UTF-8 by definition; count lines and characters in it.
        let before = std::str::from_utf8(valid).unwrap_or_default();
        let line = before.matches('\n').count() as u32 + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() as u32 + 1;
        let bad = bytes[e.valid_up_to()];
        Diagnostic {
            file: file.to_string(),
            pos: Pos { line, column },
            message: format!(
                "the file is not UTF-8: byte 0x{bad:02X} here is not a character \
                 (save the file as UTF-8)"
            ),
        }
    })
}

/// Parses, checks and compiles connector source; `file` names it in diagnostics.
pub fn parse(src: &str, file: &str) -> Result<Plan, LoadError> {
    let connector = parse_unchecked(src, file).map_err(|d| LoadError::Invalid(vec![d]))?;
    check::check(&connector, file).map_err(LoadError::Invalid)
}

/// Parses without the semantic checks. A syntax or shape error stops the parse, so at
/// most one diagnostic comes back.
pub fn parse_unchecked(src: &str, file: &str) -> Result<Connector, Diagnostic> {
    serde_saphyr::from_str::<Connector>(src).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos {
                line: l.line() as u32,
                column: l.column() as u32,
            })
            .unwrap_or_default();
        Diagnostic {
            file: file.to_string(),
            pos,
            message: plain_message(&e),
        }
    })
}

/// The error under serde-saphyr's snippet and alias wrappers.
fn innermost(mut e: &serde_saphyr::Error) -> &serde_saphyr::Error {
    loop {
        match e {
            serde_saphyr::Error::WithSnippet { error, .. }
            | serde_saphyr::Error::AliasError { error, .. } => e = error,
            other => return other,
        }
    }
}

/// serde-saphyr renders errors with a source snippet and location; the diagnostic carries
/// the location itself, so keep only the first line and drop a trailing " at line N column M".
fn plain_message(e: &serde_saphyr::Error) -> String {
    if let serde_saphyr::Error::DuplicateMappingKey { key, .. } = innermost(e) {
        return match key {
            Some(k) => format!("`{k}` is given twice in the same mapping; keep one"),
            None => "a key is given twice in the same mapping; keep one".to_string(),
        };
    }
    let full = e.to_string();
    let first = full.lines().next().unwrap_or("").trim();
    let first = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    let first = first.trim_start_matches("error: ");
    // Some messages start with their own "line N column M: ".
    match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((pos, msg)) if pos.contains("column") => msg.to_string(),
        _ => first.to_string(),
    }
}
