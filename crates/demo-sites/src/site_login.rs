//! The site's logins, kept server-side: a logged-in browser's `sid` cookie, pending 2FA
//! logins (`pending` cookie), remembered devices and the `/app`'s bearer tokens; plus the
//! cookie helpers. A "site login" is what a bank would call a session.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, header};
use rand::Rng;

/// Wrong codes allowed before a pending login is dropped.
pub const MAX_OTP_ATTEMPTS: u32 = 3;

/// The cookie of a site login.
pub const SID: &str = "sid";
pub const PENDING: &str = "pending";
/// Set when the person ticks "Se souvenir de cet appareil" on a 2FA form: a later login
/// from this browser skips the 2FA.
pub const REMEMBER: &str = "remember_device";
/// How long a remembered device lasts, in seconds (a year).
pub const REMEMBER_MAX_AGE: u64 = 365 * 24 * 3600;

#[derive(Debug)]
struct Pending {
    login: String,
    code: String,
    wrong: u32,
}

#[derive(Debug, Default)]
struct Inner {
    /// sid → login
    site_logins: HashMap<String, String>,
    /// pending token → pending login
    pending: HashMap<String, Pending>,
    /// remember_device token → login
    devices: HashMap<String, String>,
    /// bearer token of the `/app` single-page app → login
    app_tokens: HashMap<String, String>,
}

/// Every login the site holds; [`crate::DemoSite`] shares it to end them.
#[derive(Debug, Default)]
pub struct SiteLogins {
    inner: Mutex<Inner>,
}

/// Result of submitting a 2FA code.
#[derive(Debug, PartialEq, Eq)]
pub enum OtpOutcome {
    /// No pending login for this token (expired, dropped, or never existed).
    Missing,
    /// Right code: the pending login is consumed.
    Success { login: String },
    /// Wrong code, the person may try again.
    Wrong { login: String },
    /// Too many wrong codes: the pending login was dropped.
    Locked,
}

impl SiteLogins {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new site login for `login`; returns its `sid` cookie's value.
    pub fn start_site_login(&self, login: &str) -> String {
        let sid = random_token();
        self.lock()
            .site_logins
            .insert(sid.clone(), login.to_string());
        sid
    }

    pub fn site_login_user(&self, sid: &str) -> Option<String> {
        self.lock().site_logins.get(sid).cloned()
    }

    pub fn end_site_login(&self, sid: &str) {
        self.lock().site_logins.remove(sid);
    }

    /// Ends every site login (`sid` cookies and the app's tokens), as a server restart or a
    /// timeout would. Remembered devices stay.
    pub fn expire_site_logins(&self) {
        let mut inner = self.lock();
        inner.site_logins.clear();
        inner.app_tokens.clear();
    }

    /// Remembers a device for `login`; returns the `remember_device` cookie's value.
    pub fn remember_device(&self, login: &str) -> String {
        let token = random_token();
        self.lock().devices.insert(token.clone(), login.to_string());
        token
    }

    /// The login a `remember_device` token was issued to.
    pub fn device_user(&self, token: &str) -> Option<String> {
        self.lock().devices.get(token).cloned()
    }

    /// Forgets every remembered device: the next logins ask for a code again.
    pub fn forget_devices(&self) {
        self.lock().devices.clear();
    }

    pub fn create_app_token(&self, login: &str) -> String {
        let token = random_token();
        self.lock()
            .app_tokens
            .insert(token.clone(), login.to_string());
        token
    }

    pub fn app_token_user(&self, token: &str) -> Option<String> {
        self.lock().app_tokens.get(token).cloned()
    }

    pub fn drop_app_token(&self, token: &str) {
        self.lock().app_tokens.remove(token);
    }

    /// Starts a pending login (replacing `previous`, if any) and returns its token.
    pub fn start_pending(&self, login: &str, code: &str, previous: Option<&str>) -> String {
        let token = random_token();
        let mut inner = self.lock();
        if let Some(prev) = previous {
            inner.pending.remove(prev);
        }
        let pending = Pending {
            login: login.to_string(),
            code: code.to_string(),
            wrong: 0,
        };
        inner.pending.insert(token.clone(), pending);
        token
    }

    pub fn pending_user(&self, token: &str) -> Option<String> {
        self.lock().pending.get(token).map(|p| p.login.clone())
    }

    pub fn drop_pending(&self, token: &str) {
        self.lock().pending.remove(token);
    }

    pub fn check_code(&self, token: &str, code: &str) -> OtpOutcome {
        let mut inner = self.lock();
        let Some(p) = inner.pending.get_mut(token) else {
            return OtpOutcome::Missing;
        };
        if code.trim() == p.code {
            let login = p.login.clone();
            inner.pending.remove(token);
            return OtpOutcome::Success { login };
        }
        p.wrong += 1;
        if p.wrong >= MAX_OTP_ATTEMPTS {
            inner.pending.remove(token);
            OtpOutcome::Locked
        } else {
            OtpOutcome::Wrong {
                login: p.login.clone(),
            }
        }
    }
}

/// 128 random bits, hex encoded.
pub fn random_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// A random 6-digit code.
pub fn random_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_string())
}

pub fn set_cookie(name: &str, value: &str) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax")
}

/// A cookie that outlives the browser: `max_age` seconds.
pub fn set_lasting_cookie(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}
