//! A trace's files: private, like the rest of what gleaner keeps (a page holds personal
//! data). Not synced to disk one by one: a trace is a debugging aid, and a step waits for
//! its files.

use std::fs::{OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::secrets::private_file;

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot write the trace in {}: {source}", .dir.display())]
    Write {
        dir: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Makes `dir` ready for a new trace: created (0700) if it is not there, else left with its
/// mode (it may be a directory the person chose, such as `.`) and rid of an earlier trace's
/// files, so that the report and the files agree.
pub fn prepare_dir(dir: &Path) -> Result<(), TraceError> {
    let failed = |source| TraceError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        return create_dir(dir);
    }
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let path = entry.map_err(failed)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_trace_file(name) {
            std::fs::remove_file(&path).map_err(failed)?;
        }
    }
    Ok(())
}

/// `trace.json`, `index.html`, `step-007.jpg`, `step-007.html`.
fn is_trace_file(name: &str) -> bool {
    if name == "trace.json" || name == "index.html" {
        return true;
    }
    let Some(rest) = name.strip_prefix("step-") else {
        return false;
    };
    let Some((number, ext)) = rest.split_once('.') else {
        return false;
    };
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && matches!(ext, "jpg" | "html")
}

pub fn create_dir(dir: &Path) -> Result<(), TraceError> {
    private_file::create_dir(dir).map_err(|source| TraceError::Write {
        dir: dir.to_path_buf(),
        source,
    })
}

/// Writes `dir/name`, mode 0600.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), TraceError> {
    let path = dir.join(name);
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(private_file::FILE_MODE)
        .open(&path)
        .and_then(|mut f| {
            f.set_permissions(Permissions::from_mode(private_file::FILE_MODE))?;
            f.write_all(bytes)
        });
    written.map_err(|source| TraceError::Write {
        dir: dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_trace_removes_only_an_earlier_traces_files() {
        let root = tempfile::tempdir().unwrap();
        for name in [
            "step-001.jpg",
            "step-012.html",
            "trace.json",
            "index.html",
            "notes.txt",
            "step-x.jpg",
        ] {
            std::fs::write(root.path().join(name), b"x").unwrap();
        }
        prepare_dir(root.path()).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        assert_eq!(left, ["notes.txt", "step-x.jpg"]);
        let new = root.path().join("new");
        prepare_dir(&new).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
