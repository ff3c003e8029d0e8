//! Files and directories only gleaner's user may read: the data directory (0700), the
//! database with its WAL and SHM, and the documents (0600). Modes are set explicitly, so
//! they do not depend on the umask, and fixed on what an older version left readable.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) and gives it mode 0700, whether it existed or not.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Writes `bytes` to a new or truncated file of mode 0600.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    // `mode` applies only to a file this call creates, and through the umask.
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Gives `path` mode 0600 if it exists (a file an older version left readable).
pub fn restrict(path: &Path) -> std::io::Result<()> {
    match std::fs::set_permissions(path, Permissions::from_mode(FILE_MODE)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Gives every file directly in `dir` mode 0600.
pub fn restrict_files_in(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            restrict(&entry.path())?;
        }
    }
    Ok(())
}

/// Creates an empty file of mode 0600 if `path` does not exist, so that what opens it
/// next (SQLite) keeps that mode, and SQLite gives its WAL and SHM the same.
pub fn create_empty(path: &Path) -> std::io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(file) => file.set_permissions(Permissions::from_mode(FILE_MODE)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => restrict(path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn modes_do_not_depend_on_what_was_there() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data/documents");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("a.pdf");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        restrict_files_in(&dir).unwrap();
        assert_eq!(mode(&file), 0o600);
        let new = dir.join("b.pdf");
        write(&new, b"y").unwrap();
        assert_eq!(mode(&new), 0o600);
        let db = dir.join("g.db");
        create_empty(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        restrict(&dir.join("absent")).unwrap();
    }
}
