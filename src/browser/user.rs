//! The user Chromium runs as when gleaner runs as root.
//!
//! Chromium refuses to keep its sandbox as root (and a root browser would own the machine
//! if it were taken over), so gleaner started as root starts it as an unprivileged user.
//! The default is `nobody`/`nogroup`, by number (65534), so that it needs no passwd entry
//! and works in minimal images; it owns no file of the system. Every other process running
//! as `nobody` shares that uid, though: a dedicated user (`--browser-user gleaner-browser`)
//! is better where one can be made.

use std::str::FromStr;

use nix::unistd::{Uid, User};

/// A uid and the gid that goes with it. Supplementary groups are always dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserUser {
    pub uid: u32,
    pub gid: u32,
}

impl BrowserUser {
    /// `nobody`/`nogroup` on Debian, Ubuntu, Alpine and most images.
    pub const NOBODY: BrowserUser = BrowserUser {
        uid: 65534,
        gid: 65534,
    };

    /// The uid and gid to start Chromium as from this process: `None` when gleaner is not
    /// root (it cannot change user, and needs not), or when this user is root itself.
    pub fn to_switch_to(&self) -> Option<BrowserUser> {
        (Uid::effective().is_root() && self.uid != 0).then_some(*self)
    }
}

impl Default for BrowserUser {
    fn default() -> Self {
        BrowserUser::NOBODY
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BadBrowserUser {
    #[error("no user named {0:?}")]
    Unknown(String),
    #[error("cannot look up the user {0:?}: {1}")]
    Lookup(String, nix::Error),
}

impl FromStr for BrowserUser {
    type Err = BadBrowserUser;

    /// A user name, or a uid. A uid without a passwd entry gets the group of the same
    /// number, as `nobody`/`nogroup` do.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(uid) = s.parse::<u32>() {
            let entry = User::from_uid(Uid::from_raw(uid))
                .map_err(|e| BadBrowserUser::Lookup(s.to_string(), e))?;
            let gid = entry.map_or(uid, |u| u.gid.as_raw());
            return Ok(BrowserUser { uid, gid });
        }
        match User::from_name(s) {
            Ok(Some(u)) => Ok(BrowserUser {
                uid: u.uid.as_raw(),
                gid: u.gid.as_raw(),
            }),
            Ok(None) => Err(BadBrowserUser::Unknown(s.to_string())),
            Err(e) => Err(BadBrowserUser::Lookup(s.to_string(), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_or_a_name_is_read() {
        assert_eq!(
            "0".parse::<BrowserUser>().unwrap(),
            BrowserUser { uid: 0, gid: 0 }
        );
        // No passwd entry: the group of the same number.
        assert_eq!(
            "4000123".parse::<BrowserUser>().unwrap(),
            BrowserUser {
                uid: 4000123,
                gid: 4000123
            }
        );
        assert_eq!("root".parse::<BrowserUser>().unwrap().uid, 0);
        assert!(matches!(
            "no-such-user-here".parse::<BrowserUser>(),
            Err(BadBrowserUser::Unknown(_))
        ));
    }
}
