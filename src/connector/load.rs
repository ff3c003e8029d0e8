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
    let src = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&src, &path.display().to_string())
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

/// serde-saphyr renders errors with a source snippet and location; the diagnostic carries
/// the location itself, so keep only the first line and drop a trailing " at line N column M".
fn plain_message(e: &serde_saphyr::Error) -> String {
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
