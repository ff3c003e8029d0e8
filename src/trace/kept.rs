//! The service's traces: a collect that fails (state -1) keeps the report of its last
//! steps, `<data dir>/traces/<credential id>/<collect id>.html` (directories 0700, files
//! 0600, like the rest of the data directory). The disk they take is bounded: a
//! credential keeps the traces of its last [`KEPT_PER_CREDENTIAL`] failed collects, and
//! its directory goes with the credential.

use std::path::{Path, PathBuf};

use super::files::{self, TraceError};

/// Failed collects whose trace a credential keeps (the newest).
pub const KEPT_PER_CREDENTIAL: usize = 5;
/// Steps a running collect keeps in memory, for the trace it writes if it fails.
pub const STEPS_KEPT: usize = 20;

#[derive(Debug, Clone)]
pub struct KeptTraces {
    dir: PathBuf,
}

impl KeptTraces {
    pub fn new(dir: impl Into<PathBuf>) -> KeptTraces {
        KeptTraces { dir: dir.into() }
    }

    /// Keeps `report` as the trace of `collect_id`, then drops the credential's oldest
    /// traces beyond [`KEPT_PER_CREDENTIAL`].
    pub fn save(
        &self,
        credential_id: &str,
        collect_id: &str,
        report: &str,
    ) -> Result<(), TraceError> {
        let (Some(dir), true) = (self.credential_dir(credential_id), safe_id(collect_id)) else {
            return Ok(());
        };
        files::create_dir(&self.dir)?;
        files::create_dir(&dir)?;
        files::write(&dir, &format!("{collect_id}.html"), report.as_bytes())?;
        prune(&dir, KEPT_PER_CREDENTIAL);
        Ok(())
    }

    /// The trace of `collect_id`, if it was kept.
    pub fn read(&self, credential_id: &str, collect_id: &str) -> Option<String> {
        let dir = self.credential_dir(credential_id)?;
        if !safe_id(collect_id) {
            return None;
        }
        std::fs::read_to_string(dir.join(format!("{collect_id}.html"))).ok()
    }

    /// Deletes the traces of a credential that is being deleted.
    pub fn forget_credential(&self, credential_id: &str) {
        if let Some(dir) = self.credential_dir(credential_id)
            && let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(credential = credential_id, "cannot delete its traces: {e}");
        }
    }

    fn credential_dir(&self, credential_id: &str) -> Option<PathBuf> {
        safe_id(credential_id).then(|| self.dir.join(credential_id))
    }
}

/// An id that is one plain path component (the store's ids are UUIDs).
fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Keeps the `keep` newest files of `dir`.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let modified = e.metadata().ok()?.modified().ok()?;
            Some((modified, e.path()))
        })
        .collect();
    files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    for (_, old) in files.into_iter().skip(keep) {
        if let Err(e) = std::fs::remove_file(&old) {
            tracing::warn!("cannot delete the old trace {}: {e}", old.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keeps_the_newest_traces_of_each_credential_privately() {
        let root = tempfile::tempdir().unwrap();
        let kept = KeptTraces::new(root.path().join("traces"));
        for i in 0..KEPT_PER_CREDENTIAL + 2 {
            kept.save("cred-a", &format!("c{i}"), &format!("report {i}"))
                .unwrap();
            // Same mtime is possible: names break ties, and c6 > c0.
        }
        kept.save("cred-b", "other", "b").unwrap();
        let left = std::fs::read_dir(root.path().join("traces/cred-a"))
            .unwrap()
            .count();
        assert_eq!(left, KEPT_PER_CREDENTIAL);
        let last = format!("c{}", KEPT_PER_CREDENTIAL + 1);
        assert_eq!(
            kept.read("cred-a", &last).as_deref(),
            Some(format!("report {}", KEPT_PER_CREDENTIAL + 1).as_str())
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.path().join("traces/cred-a")), 0o700);
        assert_eq!(
            mode(&root.path().join(format!("traces/cred-a/{last}.html"))),
            0o600
        );
        assert_eq!(kept.read("cred-a", "../cred-b/other"), None);
        assert_eq!(kept.read("..", "x"), None);
        kept.forget_credential("cred-a");
        assert!(!root.path().join("traces/cred-a").exists());
        assert_eq!(kept.read("cred-b", "other").as_deref(), Some("b"));
    }
}
