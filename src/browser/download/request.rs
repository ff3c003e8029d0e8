//! What gleaner's own requests for a document carry, as the browser's would, and where
//! they may connect: the `Referer` of Chromium's default policy, the browser's cookie for
//! a `Set-Cookie` received, and a resolver that keeps only public addresses.

use chromiumoxide::cdp::browser_protocol::network::{
    CookieSameSite, SetCookieParams, TimeSinceEpoch,
};
use url::Url;

use crate::browser::guard;

/// The `Referer` Chromium's default policy (`strict-origin-when-cross-origin`) sends: the
/// page's URL for the same origin, its origin for another, nothing from HTTPS to HTTP.
pub(super) fn referer(page: &Url, target: &Url) -> Option<String> {
    if !matches!(page.scheme(), "http" | "https") {
        return None;
    }
    if page.scheme() == "https" && target.scheme() != "https" {
        return None;
    }
    if page.origin() == target.origin() {
        let mut full = page.clone();
        full.set_fragment(None);
        let _ = full.set_username("");
        let _ = full.set_password(None);
        return Some(full.to_string());
    }
    Some(format!("{}/", page.origin().ascii_serialization()))
}

/// CDP `Network.setCookie` for a `Set-Cookie` received from `url`.
pub(super) fn set_cookie_params(url: &Url, c: &cookie::Cookie<'_>) -> SetCookieParams {
    let mut params = SetCookieParams::new(c.name(), c.value());
    params.url = Some(url.to_string());
    params.domain = c.domain().map(str::to_string);
    // Without `Path`, the default path of the URL (RFC 6265 5.1.4), as the browser would.
    params.path = Some(match c.path() {
        Some(p) => p.to_string(),
        None => match url.path().rfind('/') {
            Some(0) | None => "/".to_string(),
            Some(i) => url.path()[..i].to_string(),
        },
    });
    params.secure = c.secure();
    params.http_only = c.http_only();
    params.same_site = c.same_site().map(|s| match s {
        cookie::SameSite::Strict => CookieSameSite::Strict,
        cookie::SameSite::Lax => CookieSameSite::Lax,
        cookie::SameSite::None => CookieSameSite::None,
    });
    // `Max-Age` wins over `Expires`; neither: a session cookie.
    let expires = match (c.max_age(), c.expires_datetime()) {
        (Some(age), _) => Some(cookie::time::OffsetDateTime::now_utc() + age),
        (None, Some(at)) => Some(at),
        (None, None) => None,
    };
    params.expires = expires.map(|at| TimeSinceEpoch::new(at.unix_timestamp() as f64));
    params
}

/// Resolves names as the system does, and keeps only public addresses.
pub(super) struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !guard::ip_is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves to no public address (a private address is refused for a \
                     public site)"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
