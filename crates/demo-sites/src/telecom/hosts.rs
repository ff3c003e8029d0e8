//! The two sites of one server. The portal answers only as `127.0.0.1`, the identity
//! provider only as `localhost` (its paths all start with `/idp/`): a request for one site
//! under the other's name gets `421 Misdirected Request`, so a test that reaches the IdP
//! through the portal's origin (same site, in process) fails instead of passing by luck.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The portal's host name.
pub const PORTAL: &str = "127.0.0.1";
/// The identity provider's host name: another site than [`PORTAL`].
pub const IDP: &str = "localhost";

/// Whether a path belongs to the identity provider.
pub fn is_idp_path(path: &str) -> bool {
    path.starts_with("/idp/")
}

/// The host name of the request (`Host` without its port), as the browser sent it.
fn host_name(req: &Request) -> Option<&str> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    Some(host.rsplit_once(':').map_or(host, |(name, _)| name))
}

pub async fn one_site_per_host(req: Request, next: Next) -> Response {
    let expected = if is_idp_path(req.uri().path()) {
        IDP
    } else {
        PORTAL
    };
    if host_name(&req) != Some(expected) {
        let msg = format!("this path is served by http://{expected}:PORT only\n");
        return (StatusCode::MISDIRECTED_REQUEST, msg).into_response();
    }
    next.run(req).await
}
