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
