//! What the two sites keep server-side. The IdP keeps no cookie: its login runs in a
//! cross-site frame, where Chromium neither stores nor sends `SameSite=Lax` cookies (and
//! `SameSite=None` needs HTTPS), so its pending login travels in a hidden `txn` field, as
//! many IdPs' `form_post` flows do. The grant it issues is good for one portal login.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::site_login::random_token;

/// Wrong codes allowed before a pending login is dropped (as on the demo bank).
pub const MAX_WRONG_CODES: u32 = 3;

#[derive(Debug, Default)]
struct Inner {
    /// IdP: `txn` → (login, wrong codes so far), between the password and the code.
    pending: HashMap<String, (String, u32)>,
    /// IdP → portal: one-time grant → login.
    grants: HashMap<String, String>,
    /// Portal: `sid` cookie → login.
    site_logins: HashMap<String, String>,
}

#[derive(Debug, Default)]
pub struct Store(Mutex<Inner>);

/// The IdP's verdict on a code.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeOutcome {
    /// Right code: here is the grant for the portal.
    Granted {
        grant: String,
    },
    Wrong,
    /// Too many wrong codes, or no such pending login: start again.
    Locked,
    Missing,
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After the right password: the `txn` of the code step.
    pub fn start_pending(&self, login: &str) -> String {
        let txn = random_token();
        self.lock()
            .pending
            .insert(txn.clone(), (login.to_string(), 0));
        txn
    }

    pub fn check_code(&self, txn: &str, code: &str, expected: &str) -> CodeOutcome {
        let mut inner = self.lock();
        let Some((login, wrong)) = inner.pending.get_mut(txn) else {
            return CodeOutcome::Missing;
        };
        if code.trim() == expected {
            let login = login.clone();
            inner.pending.remove(txn);
            let grant = random_token();
            inner.grants.insert(grant.clone(), login);
            return CodeOutcome::Granted { grant };
        }
        *wrong += 1;
        if *wrong >= MAX_WRONG_CODES {
            inner.pending.remove(txn);
            return CodeOutcome::Locked;
        }
        CodeOutcome::Wrong
    }

    /// Redeems a grant (once) into a portal site login: its `sid`.
    pub fn redeem(&self, grant: &str) -> Option<String> {
        let mut inner = self.lock();
        let login = inner.grants.remove(grant)?;
        let sid = random_token();
        inner.site_logins.insert(sid.clone(), login);
        Some(sid)
    }

    pub fn site_login_user(&self, sid: &str) -> Option<String> {
        self.lock().site_logins.get(sid).cloned()
    }

    pub fn end_site_login(&self, sid: &str) {
        self.lock().site_logins.remove(sid);
    }
}
