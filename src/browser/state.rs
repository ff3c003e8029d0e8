//! A browser session kept between collects: the cookies of the connector's hosts (session
//! cookies included: keeping them is the point) and the localStorage of their origins.
//! [`Tab::capture_browser_state`] reads it after a login; [`Tab::restore_browser_state`] puts it back
//! into the next collect's fresh browser, before its first navigation.
//!
//! The values are credentials in all but name: `Debug` shows cookie names and storage
//! keys, never a value.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chromiumoxide::cdp::browser_protocol::dom_storage::{GetDomStorageItemsParams, StorageId};
use chromiumoxide::cdp::browser_protocol::network::{
    CookieParam, CookiePartitionKey, CookieSameSite, CookieSourceScheme, SetCookiesParams,
    TimeSinceEpoch,
};
use chromiumoxide::cdp::browser_protocol::page::{
    AddScriptToEvaluateOnNewDocumentParams, FrameTree, GetFrameTreeParams,
};
use chromiumoxide::types::{Command, Method, MethodId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::BrowserError;
use super::tab::Tab;

/// Cookies and localStorage of one site, as kept between collects.
#[derive(Serialize, Deserialize, Clone, Default, PartialEq)]
pub struct BrowserState {
    #[serde(default)]
    pub cookies: Vec<KeptCookie>,
    /// Origin (`https://bank.example`) → key → value.
    #[serde(default)]
    pub local_storage: BTreeMap<String, BTreeMap<String, String>>,
}

impl BrowserState {
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty() && self.local_storage.values().all(BTreeMap::is_empty)
    }
}

impl fmt::Debug for BrowserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let storage: BTreeMap<&str, Vec<&str>> = self
            .local_storage
            .iter()
            .map(|(origin, items)| (origin.as_str(), items.keys().map(String::as_str).collect()))
            .collect();
        f.debug_struct("BrowserState")
            .field("cookies", &self.cookies)
            .field("local_storage", &storage)
            .finish()
    }
}

/// One cookie, with what it takes to set it again as it was.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct KeptCookie {
    pub name: String,
    pub value: String,
    /// As the browser reports it: `bank.example` for a host-only cookie, `.bank.example`
    /// for one that its subdomains receive too.
    pub domain: String,
    pub path: String,
    /// Unix seconds; `None` for a session cookie (one that lives as long as the browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<f64>,
    #[serde(default)]
    pub http_only: bool,
    #[serde(default)]
    pub secure: bool,
    /// `Strict`, `Lax` or `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<String>,
    /// `Secure`, `NonSecure` or `Unset`: the scheme of the page that set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<i64>,
    /// For a partitioned cookie (CHIPS): CDP's `CookiePartitionKey`, as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<Value>,
}

impl fmt::Debug for KeptCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}{}", self.name, self.domain, self.path)
    }
}

impl KeptCookie {
    fn expired(&self, now: f64) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    fn param(&self) -> CookieParam {
        let mut p = CookieParam::new(self.name.clone(), self.value.clone());
        if self.domain.starts_with('.') {
            p.domain = Some(self.domain.clone());
        } else {
            // Host-only: set through a URL, so that it stays host-only.
            let scheme = if self.secure { "https" } else { "http" };
            p.url = Some(format!("{scheme}://{}{}", self.domain, self.path));
        }
        p.path = Some(self.path.clone());
        p.secure = Some(self.secure);
        p.http_only = Some(self.http_only);
        p.same_site = self
            .same_site
            .as_deref()
            .and_then(|s| s.parse::<CookieSameSite>().ok());
        p.expires = self.expires.map(TimeSinceEpoch::new);
        p.source_scheme = self
            .source_scheme
            .as_deref()
            .and_then(|s| s.parse::<CookieSourceScheme>().ok());
        p.source_port = self.source_port.filter(|port| *port > 0);
        p.partition_key = self
            .partition_key
            .clone()
            .and_then(|k| serde_json::from_value::<CookiePartitionKey>(k).ok());
        p
    }
}

/// Whether a cookie of `domain` belongs to one of `hosts`: it is sent to one of them
/// (`.bank.example` for `www.bank.example`), or it was set by a subdomain of one
/// (`auth.bank.example` for `bank.example`).
pub fn cookie_matches(domain: &str, hosts: &[String]) -> bool {
    let d = domain.trim_start_matches('.').to_ascii_lowercase();
    !d.is_empty()
        && hosts.iter().any(|h| {
            let h = h.trim_start_matches('.').to_ascii_lowercase();
            !h.is_empty()
                && (h == d || h.ends_with(&format!(".{d}")) || d.ends_with(&format!(".{h}")))
        })
}

/// Whether an origin (`https://auth.bank.example:8443`) is on one of `hosts` or a subdomain.
fn origin_matches(origin: &str, hosts: &[String]) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    if url.scheme() != "http" && url.scheme() != "https" {
        return false;
    }
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    hosts.iter().any(|h| {
        let h = h.to_ascii_lowercase();
        host == h || host.ends_with(&format!(".{h}"))
    })
}

/// `Storage.getCookies` with a response type of our own: chromiumoxide's `Cookie` requires
/// fields that Chromium versions add and drop, and its `Debug` prints values.
#[derive(Serialize, Debug)]
struct GetAllCookies {}

impl Method for GetAllCookies {
    fn identifier(&self) -> MethodId {
        "Storage.getCookies".into()
    }
}

impl Command for GetAllCookies {
    type Response = RawCookies;
}

#[derive(Deserialize, Debug)]
struct RawCookies {
    #[serde(default)]
    cookies: Vec<RawCookie>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCookie {
    name: String,
    value: String,
    domain: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    expires: Option<f64>,
    #[serde(default)]
    http_only: bool,
    #[serde(default)]
    secure: bool,
    #[serde(default)]
    session: bool,
    #[serde(default)]
    same_site: Option<String>,
    #[serde(default)]
    source_scheme: Option<String>,
    #[serde(default)]
    source_port: Option<i64>,
    #[serde(default)]
    partition_key: Option<Value>,
}

impl fmt::Debug for RawCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.domain)
    }
}

impl From<RawCookie> for KeptCookie {
    fn from(c: RawCookie) -> KeptCookie {
        // Chromium reports -1 (or nothing) for a session cookie.
        let expires = c.expires.filter(|e| !c.session && *e > 0.0);
        KeptCookie {
            name: c.name,
            value: c.value,
            domain: c.domain,
            path: c
                .path
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/".into()),
            expires,
            http_only: c.http_only,
            secure: c.secure,
            same_site: c.same_site,
            source_scheme: c.source_scheme,
            source_port: c.source_port,
            partition_key: c.partition_key,
        }
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Marks, in the tab's sessionStorage of an origin, that its localStorage was restored: the
/// restore script then leaves it alone, so a value the site removes stays removed.
const RESTORED_MARK: &str = "gleaner:restored";

/// Runs in each new document before the page's own scripts: fills the saved items of the
/// document's origin that are not there, once per origin and tab.
fn restore_script(storage: &BTreeMap<String, BTreeMap<String, String>>) -> String {
    let saved = serde_json::to_string(storage).unwrap_or_else(|_| "{}".into());
    let mark = serde_json::to_string(RESTORED_MARK).unwrap_or_default();
    format!(
        r#"(() => {{
  const saved = {saved};
  const items = saved[location.origin];
  if (!items) return;
  try {{
    if (sessionStorage.getItem({mark}) !== null) return;
    sessionStorage.setItem({mark}, "1");
    for (const [key, value] of Object.entries(items)) {{
      if (localStorage.getItem(key) === null) localStorage.setItem(key, value);
    }}
  }} catch (e) {{}}
}})();"#
    )
}

/// The current document's origin and localStorage, read in the page.
const READ_STORAGE: &str = r#"(() => {
  try {
    const items = {};
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      items[key] = localStorage.getItem(key);
    }
    return { origin: location.origin, items };
  } catch (e) {
    return null;
  }
})()"#;

impl Tab {
    /// The cookies of `hosts` (and of their subdomains), and the localStorage of the
    /// current page's origin and of the other origins of its frames on those hosts.
    pub async fn capture_browser_state(
        &self,
        hosts: &[String],
    ) -> Result<BrowserState, BrowserError> {
        let now = now_secs();
        let cookies = self
            .page()
            .execute(GetAllCookies {})
            .await
            .map_err(|e| self.err(e))?
            .result
            .cookies
            .into_iter()
            .filter(|c| cookie_matches(&c.domain, hosts))
            .map(KeptCookie::from)
            .filter(|c| !c.expired(now))
            .collect();

        let mut local_storage = BTreeMap::new();
        let mut current = None;
        match self.eval(READ_STORAGE).await {
            Ok(v) => {
                if let Some(origin) = v["origin"].as_str().filter(|o| origin_matches(o, hosts)) {
                    current = Some(origin.to_string());
                    let items: BTreeMap<String, String> =
                        serde_json::from_value(v["items"].clone()).unwrap_or_default();
                    if !items.is_empty() {
                        local_storage.insert(origin.to_string(), items);
                    }
                }
            }
            Err(BrowserError::Crashed) => return Err(BrowserError::Crashed),
            Err(e) => tracing::debug!("cannot read the page's localStorage: {e}"),
        }
        for origin in self.frame_origins().await {
            if Some(&origin) == current.as_ref() || !origin_matches(&origin, hosts) {
                continue;
            }
            let mut id = StorageId::new(true);
            id.security_origin = Some(origin.clone());
            match self.page().execute(GetDomStorageItemsParams::new(id)).await {
                Ok(r) => {
                    let items: BTreeMap<String, String> = r
                        .result
                        .entries
                        .iter()
                        .filter_map(|item| match item.inner().as_slice() {
                            [k, v] => Some((k.clone(), v.clone())),
                            _ => None,
                        })
                        .collect();
                    if !items.is_empty() {
                        local_storage.insert(origin, items);
                    }
                }
                Err(e) => tracing::debug!("cannot read the localStorage of {origin}: {e}"),
            }
        }
        Ok(BrowserState {
            cookies,
            local_storage,
        })
    }

    /// The security origins of the page's frames.
    async fn frame_origins(&self) -> BTreeSet<String> {
        fn walk(tree: &FrameTree, out: &mut BTreeSet<String>) {
            out.insert(tree.frame.security_origin.clone());
            for child in tree.child_frames.iter().flatten() {
                walk(child, out);
            }
        }
        let mut out = BTreeSet::new();
        if let Ok(r) = self.page().execute(GetFrameTreeParams::default()).await {
            walk(&r.result.frame_tree, &mut out);
        }
        out
    }

    /// Puts a kept session back: the cookies at once, the localStorage through a script
    /// that fills each origin's items when its first document loads. Call it before the
    /// first navigation. Cookies that expired meanwhile are left out; one the browser
    /// refuses is skipped (named in a warning), not fatal.
    pub async fn restore_browser_state(&self, session: &BrowserState) -> Result<(), BrowserError> {
        let now = now_secs();
        let cookies: Vec<&KeptCookie> =
            session.cookies.iter().filter(|c| !c.expired(now)).collect();
        if !cookies.is_empty() {
            let all = SetCookiesParams::new(cookies.iter().map(|c| c.param()).collect::<Vec<_>>());
            if let Err(e) = self.page().execute(all).await {
                let e = self.err(e);
                if matches!(e, BrowserError::Crashed) {
                    return Err(e);
                }
                // One bad cookie fails the whole call: set them one by one.
                for c in cookies {
                    let one = SetCookiesParams::new(vec![c.param()]);
                    if let Err(e) = self.page().execute(one).await {
                        let e = self.err(e);
                        if matches!(e, BrowserError::Crashed) {
                            return Err(e);
                        }
                        tracing::warn!(cookie = ?c, "the browser refused a kept cookie: {e}");
                    }
                }
            }
        }
        let storage: BTreeMap<String, BTreeMap<String, String>> = session
            .local_storage
            .iter()
            .filter(|(_, items)| !items.is_empty())
            .map(|(o, items)| (o.clone(), items.clone()))
            .collect();
        if !storage.is_empty() {
            self.page()
                .execute(AddScriptToEvaluateOnNewDocumentParams::new(restore_script(
                    &storage,
                )))
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cookies_of_the_hosts_and_their_subdomains() {
        let h = hosts(&["bank.example", "127.0.0.1"]);
        assert!(cookie_matches("bank.example", &h));
        assert!(cookie_matches(".bank.example", &h));
        assert!(cookie_matches("auth.bank.example", &h));
        assert!(cookie_matches("127.0.0.1", &h));
        assert!(!cookie_matches("evilbank.example", &h));
        assert!(!cookie_matches("tracker.example", &h));
        assert!(!cookie_matches("", &h));
        // A parent domain's cookie reaches a host of the connector.
        assert!(cookie_matches(".example.org", &hosts(&["www.example.org"])));
    }

    #[test]
    fn origins_of_the_hosts() {
        let h = hosts(&["bank.example", "127.0.0.1"]);
        assert!(origin_matches("https://bank.example", &h));
        assert!(origin_matches("https://app.bank.example:8443", &h));
        assert!(origin_matches("http://127.0.0.1:4000", &h));
        assert!(!origin_matches("https://notbank.example", &h));
        assert!(!origin_matches("null", &h));
        assert!(!origin_matches("chrome://newtab", &h));
    }

    #[test]
    fn debug_never_shows_a_value() {
        let s = BrowserState {
            cookies: vec![KeptCookie {
                name: "sid".into(),
                value: "s3cr3t-cookie".into(),
                domain: "127.0.0.1".into(),
                path: "/".into(),
                expires: None,
                http_only: true,
                secure: false,
                same_site: Some("Lax".into()),
                source_scheme: None,
                source_port: None,
                partition_key: None,
            }],
            local_storage: [(
                "http://127.0.0.1:1".to_string(),
                [("token".to_string(), "s3cr3t-token".to_string())].into(),
            )]
            .into(),
        };
        let shown = format!("{s:?} {s:#?}");
        assert!(
            shown.contains("sid@127.0.0.1/") && shown.contains("token"),
            "{shown}"
        );
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!s.is_empty());
        assert!(BrowserState::default().is_empty());
    }

    #[test]
    fn host_only_cookies_are_set_through_a_url_and_domain_cookies_by_domain() {
        let mut c = KeptCookie {
            name: "a".into(),
            value: "b".into(),
            domain: "127.0.0.1".into(),
            path: "/app".into(),
            expires: Some(2e9),
            http_only: false,
            secure: false,
            same_site: Some("Lax".into()),
            source_scheme: Some("NonSecure".into()),
            source_port: Some(8080),
            partition_key: None,
        };
        let p = c.param();
        assert_eq!(p.url.as_deref(), Some("http://127.0.0.1/app"));
        assert_eq!(p.domain, None);
        assert_eq!(p.same_site, Some(CookieSameSite::Lax));
        assert_eq!(p.source_scheme, Some(CookieSourceScheme::NonSecure));
        c.domain = ".bank.example".into();
        c.expires = None;
        let p = c.param();
        assert_eq!(p.domain.as_deref(), Some(".bank.example"));
        assert_eq!(p.url, None);
        assert!(p.expires.is_none(), "a session cookie stays one");
    }

    #[test]
    fn the_restore_script_embeds_the_items_as_json() {
        let storage: BTreeMap<String, BTreeMap<String, String>> = [(
            "http://h".to_string(),
            [("k".to_string(), "v\"</script>".to_string())].into(),
        )]
        .into();
        let js = restore_script(&storage);
        assert!(js.contains(r#"{"http://h":{"k":"v\"</script>"}}"#), "{js}");
        assert!(js.contains("gleaner:restored"));
    }
}
