//! A recording's directory, everything `gleaner test` needs and nothing secret:
//!
//! - `fixture.json` ([`FixtureSpec`]): the connector file (relative to the directory), the
//!   base URL and extra hosts it was recorded against, the field values (secret ones
//!   replaced by their placeholders), the one-time codes' placeholders in order, and when
//!   and how fast it was recorded;
//! - `recording.har`: every request and response of the collect (HAR 1.2, scrubbed);
//! - `expected.json` ([`Expected`]): the records and the documents' sha256, size and type.

use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use url::Url;

use super::expected::Expected;

pub const SPEC_FILE: &str = "fixture.json";
pub const HAR_FILE: &str = "recording.har";
pub const EXPECTED_FILE: &str = "expected.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureSpec {
    /// The connector file, relative to the fixture's directory.
    pub connector: PathBuf,
    pub base_url: Url,
    /// Hosts allowed besides the connector's `domains` (`gleaner run --domain`).
    #[serde(default)]
    pub domains: Vec<String>,
    /// Field values, secret ones replaced by their placeholders.
    pub fields: IndexMap<String, String>,
    /// What is typed for each one-time code the site asks, in order.
    #[serde(default)]
    pub codes: Vec<String>,
    pub recorded: Recorded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// RFC 3339.
    pub at: String,
    pub gleaner: String,
    /// How long the live collect took, for comparison with the replay.
    pub live_seconds: f64,
    /// How many exchanges the recording holds.
    pub exchanges: usize,
}

/// Why a fixture directory cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Bad { path: PathBuf, reason: String },
}

/// A fixture directory's contents.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub dir: PathBuf,
    pub spec: FixtureSpec,
    pub har: har::v1_2::Log,
    pub expected: Expected,
}

impl Fixture {
    pub fn read(dir: &Path) -> Result<Fixture, FixtureError> {
        let spec: FixtureSpec = read_json(&dir.join(SPEC_FILE))?;
        let expected: Expected = read_json(&dir.join(EXPECTED_FILE))?;
        let har_path = dir.join(HAR_FILE);
        let text = read_text(&har_path)?;
        let har = super::har_log::from_json(&text).map_err(|reason| FixtureError::Bad {
            path: har_path,
            reason,
        })?;
        Ok(Fixture {
            dir: dir.to_path_buf(),
            spec,
            har,
            expected,
        })
    }

    /// The connector file's path.
    pub fn connector_path(&self) -> PathBuf {
        self.dir.join(&self.spec.connector)
    }
}

/// Whether `dir` holds a recording.
pub fn is_fixture(dir: &Path) -> bool {
    dir.join(SPEC_FILE).is_file()
}

/// The fixture directories under `path` (itself, or any below it), sorted.
pub fn find(path: &Path) -> Result<Vec<PathBuf>, FixtureError> {
    let mut found = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if is_fixture(&dir) {
            found.push(dir);
            continue;
        }
        let entries = std::fs::read_dir(&dir).map_err(|source| FixtureError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The fixture directories under `root` recorded with the connector file `connector`.
pub fn for_connector(connector: &Path, root: &Path) -> Result<Vec<PathBuf>, FixtureError> {
    let canonical = |p: &Path| {
        std::fs::canonicalize(p).map_err(|source| FixtureError::Io {
            path: p.to_path_buf(),
            source,
        })
    };
    let wanted = canonical(connector)?;
    let mut found = Vec::new();
    for dir in find(root)? {
        let spec: FixtureSpec = read_json(&dir.join(SPEC_FILE))?;
        if canonical(&dir.join(&spec.connector)).is_ok_and(|p| p == wanted) {
            found.push(dir);
        }
    }
    Ok(found)
}

pub fn write_text(path: &Path, text: &str) -> Result<(), FixtureError> {
    std::fs::write(path, text).map_err(|source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FixtureError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| FixtureError::Bad {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_text(path, &(text + "\n"))
}

fn read_text(path: &Path) -> Result<String, FixtureError> {
    std::fs::read_to_string(path).map_err(|source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FixtureError> {
    serde_json::from_str(&read_text(path)?).map_err(|e| FixtureError::Bad {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// `target` as seen from `dir` (both made absolute first), so a fixture moves with its
/// repository.
pub fn relative_to(target: &Path, dir: &Path) -> Result<PathBuf, FixtureError> {
    let absolute = |p: &Path| {
        std::path::absolute(p).map_err(|source| FixtureError::Io {
            path: p.to_path_buf(),
            source,
        })
    };
    let (target, dir) = (normalise(&absolute(target)?), normalise(&absolute(dir)?));
    let common = target
        .components()
        .zip(dir.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel = PathBuf::new();
    for _ in dir.components().skip(common) {
        rel.push("..");
    }
    for c in target.components().skip(common) {
        rel.push(c);
    }
    Ok(rel)
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connector_path_is_kept_relative_to_the_fixture() {
        assert_eq!(
            relative_to(
                Path::new("/repo/connectors/demo-bank.yaml"),
                Path::new("/repo/fixtures/demo-bank/2fa")
            )
            .unwrap(),
            PathBuf::from("../../../connectors/demo-bank.yaml")
        );
        assert_eq!(
            relative_to(Path::new("/repo/./a.yaml"), Path::new("/repo/x/../f")).unwrap(),
            PathBuf::from("../a.yaml")
        );
    }
}
