//! Profile directories: one per browser, private to this user, named after the gleaner
//! process that owns it, so that the next start can remove what a killed process left.

use std::fs::Permissions;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::process;

/// Profile directories are named with this prefix, then the owner's pid and a dash, so
/// leftovers are easy to find and their owner is known.
pub const PROFILE_PREFIX: &str = "gleaner-profile-";

/// The directory inside a profile given to Chromium as its `TMPDIR`: the
/// `org.chromium.Chromium.*` directories it makes there go with the profile.
const TMP_DIR: &str = "tmp";

/// A fresh profile under `root`, mode 0700 (it holds the session's cookies), with its
/// private temp directory. Removed when the returned handle is closed or dropped.
pub fn create(root: &Path) -> std::io::Result<tempfile::TempDir> {
    std::fs::create_dir_all(root)?;
    let profile = tempfile::Builder::new()
        .prefix(&format!("{PROFILE_PREFIX}{}-", std::process::id()))
        // tempfile makes directories with the default mode (0755 under umask 022).
        .permissions(Permissions::from_mode(0o700))
        .tempdir_in(root)?;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(tmp_dir(profile.path()))?;
    Ok(profile)
}

/// Chromium's `TMPDIR` for this profile.
pub fn tmp_dir(profile: &Path) -> PathBuf {
    profile.join(TMP_DIR)
}

/// Removes the profiles under `root` whose owning gleaner process is gone, after killing
/// any Chromium process still using them. Profiles of live processes (another gleaner
/// running next to this one) are left alone, and so are names that carry no pid.
/// Returns the removed directories.
pub fn remove_stale(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        // Not a symlink to follow elsewhere: only real directories are profiles.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) || is_alive(owner) {
            continue;
        }
        let path = entry.path();
        process::kill_and_reap(&path);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => removed.push(path),
            Err(e) => tracing::warn!("cannot remove the stale profile {}: {e}", path.display()),
        }
    }
    removed
}

/// The owner's pid in a profile directory's name: `gleaner-profile-<pid>-<random>`.
fn owner_pid(name: &str) -> Option<i32> {
    let (pid, _random) = name.strip_prefix(PROFILE_PREFIX)?.split_once('-')?;
    pid.parse().ok().filter(|p| *p > 0)
}

/// Whether a process with this pid exists (EPERM: it does, another user's). A reused pid
/// keeps a stale profile until the next start after it exits: the safe way round.
fn is_alive(pid: i32) -> bool {
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_pid_is_read_from_the_name() {
        assert_eq!(owner_pid("gleaner-profile-1234-a1B2c3"), Some(1234));
        assert_eq!(owner_pid("gleaner-profile-a1B2c3"), None);
        assert_eq!(owner_pid("gleaner-profile-0-x"), None);
        assert_eq!(owner_pid("other-1234-x"), None);
    }

    #[test]
    fn profiles_are_private_and_only_dead_owners_lose_theirs() {
        use std::os::unix::fs::MetadataExt;
        let root = tempfile::tempdir().unwrap();
        let mine = create(root.path()).unwrap();
        assert_eq!(
            std::fs::metadata(mine.path()).unwrap().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(tmp_dir(mine.path())).unwrap().mode() & 0o777,
            0o700
        );
        // A pid above the kernel's maximum (4194304) never names a live process.
        let dead = root.path().join(format!("{PROFILE_PREFIX}99999999-x"));
        std::fs::create_dir_all(dead.join("Default")).unwrap();
        let legacy = root.path().join(format!("{PROFILE_PREFIX}x1y2z3"));
        std::fs::create_dir(&legacy).unwrap();

        assert_eq!(remove_stale(root.path()), vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(mine.path().exists());
        assert!(legacy.exists());
    }
}
