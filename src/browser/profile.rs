//! Profile directories: one per browser, private to this user, named after the gleaner
//! process that owns it, so that the next start can remove what a killed process left.

use std::fs::Permissions;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::process;
use super::user::BrowserUser;

/// Profile directories are named with this prefix, then the owner's pid and a dash, so
/// leftovers are easy to find and their owner is known.
pub const PROFILE_PREFIX: &str = "gleaner-profile-";

/// The directory inside a profile given to Chromium as its `TMPDIR`: the
/// `org.chromium.Chromium.*` directories it makes there go with the profile.
const TMP_DIR: &str = "tmp";

/// The directory inside a profile given to Chromium as its `HOME` and XDG directories: its
/// NSS database (`~/.pki`), fontconfig cache and the like go with the profile too.
const HOME_DIR: &str = "home";

/// The directory inside a profile where the browser writes what it downloads, each file
/// named by its download's guid (`Browser.setDownloadBehavior`, `allowAndName`).
const DOWNLOADS_DIR: &str = "downloads";

/// Chromium binds a Unix socket inside its `TMPDIR` (`…/org.chromium.Chromium.XXXXXX/SingletonSocket`,
/// 46 more bytes) and dies at once when that path passes the 107 bytes a socket path may
/// have; a `TMPDIR` longer than this goes to a short directory of its own instead.
const MAX_TMP_DIR_LEN: usize = 60;

/// Where Chromium's temp directory goes when the one inside the profile is too long.
const SHORT_TMP_ROOT: &str = "/tmp";

/// Chromium's temp directories made outside a profile are named with this prefix, then the
/// owner's pid and a dash, like profiles.
const TMP_PREFIX: &str = "gleaner-tmp-";

/// A browser's profile directory and Chromium's temp directory, removed together.
pub struct Profile {
    dir: tempfile::TempDir,
    /// Chromium's `TMPDIR` when it could not be inside the profile.
    short_tmp: Option<tempfile::TempDir>,
}

impl Profile {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Chromium's `TMPDIR`: the `org.chromium.Chromium.*` directories it makes there go
    /// with the profile.
    pub fn tmp_dir(&self) -> PathBuf {
        match &self.short_tmp {
            Some(tmp) => tmp.path().to_path_buf(),
            None => self.dir.path().join(TMP_DIR),
        }
    }

    /// Chromium's `HOME`.
    pub fn home_dir(&self) -> PathBuf {
        self.dir.path().join(HOME_DIR)
    }

    /// Where the browser's downloads land.
    pub fn download_dir(&self) -> PathBuf {
        self.dir.path().join(DOWNLOADS_DIR)
    }

    /// Removes both directories.
    pub fn close(self) -> std::io::Result<()> {
        let short = self.short_tmp.map(tempfile::TempDir::close).transpose();
        self.dir.close()?;
        short.map(|_| ())
    }
}

/// A private (0700) directory named after this process, in `root`.
fn owned_dir(root: &Path, prefix: &str) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        // tempfile makes directories with the default mode (0755 under umask 022).
        .permissions(Permissions::from_mode(0o700))
        .tempdir_in(root)
}

/// A fresh profile under `root`, mode 0700 (it holds the session's cookies), with its
/// private temp and home directories. Removed when the returned handle is closed or
/// dropped. With `owner` (Chromium runs as another user), they are that user's, and that
/// user must be able to reach `root` (see [`make_reachable`]).
pub fn create(root: &Path, owner: Option<BrowserUser>) -> std::io::Result<Profile> {
    std::fs::create_dir_all(root)?;
    if let Some(owner) = owner {
        make_reachable(root, owner)?;
    }
    let dir = owned_dir(root, PROFILE_PREFIX)?;
    let mut private = std::fs::DirBuilder::new();
    private.mode(0o700);
    private.create(dir.path().join(HOME_DIR))?;
    private.create(dir.path().join(DOWNLOADS_DIR))?;
    let inner = dir.path().join(TMP_DIR);
    let short_tmp = if inner.as_os_str().len() <= MAX_TMP_DIR_LEN {
        private.create(&inner)?;
        None
    } else {
        Some(owned_dir(Path::new(SHORT_TMP_ROOT), TMP_PREFIX)?)
    };
    let profile = Profile { dir, short_tmp };
    if let Some(owner) = owner {
        for dir in [
            profile.path().to_path_buf(),
            profile.home_dir(),
            profile.download_dir(),
            profile.tmp_dir(),
        ] {
            std::os::unix::fs::chown(&dir, Some(owner.uid), Some(owner.gid))?;
        }
    }
    Ok(profile)
}

/// Checks that `user` can reach `root` (search permission on it and on every directory
/// above): Chromium must open its profile by path. A root that this process owns gets
/// search permission for others (`o+x`: no listing; each profile in it is 0700 and its
/// user's), as a private directory made for profiles needs; any other blocking one is an
/// error that names it. ACLs are not read.
fn make_reachable(root: &Path, user: BrowserUser) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::canonicalize(root)?;
    let can_search = |m: &std::fs::Metadata| {
        let mode = m.mode();
        if m.uid() == user.uid {
            mode & 0o100 != 0
        } else if m.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    };
    for dir in root.ancestors() {
        let meta = std::fs::metadata(dir)?;
        if can_search(&meta) {
            continue;
        }
        if dir == root && meta.uid() == nix::unistd::geteuid().as_raw() {
            let mode = meta.mode() & 0o7777;
            std::fs::set_permissions(dir, Permissions::from_mode(mode | 0o001))?;
            continue;
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "Chromium runs as uid {} and cannot reach {} (no search permission): \
                 give it one (chmod o+x), or put the profiles elsewhere (TMPDIR)",
                user.uid,
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Removes the profiles under `root` whose owning gleaner process is gone, after killing
/// any Chromium process still using them. Profiles of live processes (another gleaner
/// running next to this one) are left alone, and so are names that carry no pid.
/// Returns the removed directories.
pub fn remove_stale(root: &Path) -> Vec<PathBuf> {
    let mut removed = remove_stale_named(root, PROFILE_PREFIX);
    removed.extend(remove_stale_named(Path::new(SHORT_TMP_ROOT), TMP_PREFIX));
    removed
}

fn remove_stale_named(root: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(|n| owner_pid(n, prefix)) else {
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
fn owner_pid(name: &str, prefix: &str) -> Option<i32> {
    let (pid, _random) = name.strip_prefix(prefix)?.split_once('-')?;
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
        assert_eq!(
            owner_pid("gleaner-profile-1234-a1B2c3", PROFILE_PREFIX),
            Some(1234)
        );
        assert_eq!(owner_pid("gleaner-profile-a1B2c3", PROFILE_PREFIX), None);
        assert_eq!(owner_pid("gleaner-profile-0-x", PROFILE_PREFIX), None);
        assert_eq!(owner_pid("other-1234-x", PROFILE_PREFIX), None);
    }

    #[test]
    fn the_browser_user_must_reach_the_profile_root() {
        use std::os::unix::fs::MetadataExt;
        let other = BrowserUser {
            uid: 4000123,
            gid: 4000123,
        };
        let private = Permissions::from_mode(0o700);
        // A private root of our own gets search permission for others.
        let mine = tempfile::tempdir().unwrap();
        std::fs::set_permissions(mine.path(), private.clone()).unwrap();
        make_reachable(mine.path(), other).unwrap();
        let mode = std::fs::metadata(mine.path()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o701);
        // A directory above it is not ours to open up.
        let above = tempfile::tempdir().unwrap();
        std::fs::set_permissions(above.path(), private).unwrap();
        let root = above.path().join("profiles");
        std::fs::create_dir(&root).unwrap();
        let err = make_reachable(&root, other).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("4000123"), "{err}");
    }

    #[test]
    fn profiles_are_private_and_only_dead_owners_lose_theirs() {
        use std::os::unix::fs::MetadataExt;
        let root = tempfile::tempdir().unwrap();
        let mine = create(root.path(), None).unwrap();
        assert_eq!(
            std::fs::metadata(mine.path()).unwrap().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(mine.tmp_dir()).unwrap().mode() & 0o777,
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
