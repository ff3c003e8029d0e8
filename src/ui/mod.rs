//! The embedded UI: the page a person meets in the host's iframe (`/ui?token=…`) and its
//! static assets (embedded in the binary: no CDN, no build step), with who may embed it.
//! Every UI response carries a Content-Security-Policy whose `frame-ancestors` is the
//! configured allow-list of host origins, which is also where the page's postMessage
//! events may go.
//!
//! The HTTP handlers that serve them, and the session-token API the page calls, are the
//! API's ([`crate::api::ui_page`], [`crate::api::ui_routes`]): this module knows no
//! application state.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use url::Url;

const INDEX_HTML: &str = include_str!("assets/index.html");
const ERROR_HTML: &str = include_str!("assets/error.html");
const UI_JS: &str = include_str!("assets/ui.js");
const LIVE_JS: &str = include_str!("assets/live.js");
const UI_CSS: &str = include_str!("assets/ui.css");

/// Who may embed the UI, where its links point, how long its tokens live.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// Origins (`https://app.example`) of the host pages allowed to embed the UI and to
    /// receive its events; also where `redirectUrl` may point.
    pub allowed_origins: Vec<String>,
    /// The service's address as people's browsers reach it (`url` of `POST /session`).
    pub public_url: Option<Url>,
    pub session_ttl: Duration,
    /// How long a collect's WebSocket path still answers after its final state, so that
    /// a late viewer gets that state; 404 afterwards.
    pub live_path_grace: Duration,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            allowed_origins: Vec::new(),
            public_url: None,
            session_ttl: Duration::from_secs(15 * 60),
            live_path_grace: Duration::from_secs(60),
        }
    }
}

/// `scheme://host[:port]` of a URL, as browsers write origins.
pub fn origin_of(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

/// An allowed origin that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an http(s) origin")]
pub struct NotAnOrigin(pub String);

impl UiConfig {
    /// Normalises the origins; an entry that is not an http(s) origin is an error.
    pub fn with_origins(mut self, origins: &[String]) -> Result<UiConfig, NotAnOrigin> {
        self.allowed_origins = origins
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| origin_of(o).ok_or_else(|| NotAnOrigin(o.clone())))
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    pub fn public_base(&self) -> String {
        self.public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    /// Whether a WebSocket handshake's `Origin` may open a live collect: one of the UI
    /// origins, or gleaner's own (the UI page itself). `null` and anything else may not.
    pub fn allows_socket_origin(&self, origin: &str) -> bool {
        let Some(origin) = origin_of(origin) else {
            return false;
        };
        self.allowed_origins.contains(&origin)
            || self
                .public_url
                .as_ref()
                .is_some_and(|u| u.origin().ascii_serialization() == origin)
    }

    pub fn allows_redirect(&self, url: &str) -> bool {
        origin_of(url).is_some_and(|o| self.allowed_origins.contains(&o))
    }

    pub fn content_security_policy(&self) -> String {
        let ancestors = if self.allowed_origins.is_empty() {
            "'none'".to_string()
        } else {
            self.allowed_origins.join(" ")
        };
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
             connect-src 'self'; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'"
        )
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UiQuery {
    /// The session token from `POST /session`.
    pub token: Option<String>,
    /// Show (or start) the collect of this credential.
    pub collect: Option<String>,
    /// With `collect`: a verification collect (log in only).
    #[serde(default)]
    pub verify: Option<String>,
    /// Open this connector's form.
    pub connector: Option<String>,
    /// `en` or `fr` (default: the browser's language).
    pub lang: Option<String>,
}

/// The languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }
}

/// The page's language, when the query asks for one (`fr`, `fr-CA`, `en`…).
pub fn lang_of(q: &UiQuery) -> Option<Lang> {
    match q.lang.as_deref() {
        Some(l) if l.starts_with("fr") => Some(Lang::Fr),
        Some(l) if l.starts_with("en") => Some(Lang::En),
        _ => None,
    }
}

fn ui_response(ui: &UiConfig, status: StatusCode, html: String) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    secure_headers(ui, &mut response);
    response
}

fn secure_headers(ui: &UiConfig, response: &mut Response) {
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&ui.content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A page a person can read in the iframe instead of a blank frame.
fn error_page(
    ui: &UiConfig,
    status: StatusCode,
    lang: Option<Lang>,
    title: (&str, &str),
    message: (&str, &str),
) -> Response {
    let lang = lang.unwrap_or(Lang::En);
    let fr = lang == Lang::Fr;
    let pick = |(en, fr_text): (&str, &str)| {
        if fr {
            fr_text.to_string()
        } else {
            en.to_string()
        }
    };
    let html = ERROR_HTML
        .replace("{{lang}}", lang.as_str())
        .replace("{{title}}", &escape_html(&pick(title)))
        .replace("{{message}}", &escape_html(&pick(message)));
    ui_response(ui, status, html)
}

/// What the page shows, once the API has looked its token up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageView<'a> {
    /// The UI, for this (valid) token.
    Ready { token: &'a str },
    /// No token, or one the store does not know.
    InvalidLink,
    /// A token past its end.
    ExpiredLink,
    /// The token could not be looked up.
    Failed,
}

/// The page for `view`: the UI, or an error page a person can read in the iframe.
pub fn page(ui: &UiConfig, q: &UiQuery, view: PageView<'_>) -> Response {
    let lang = lang_of(q);
    let token = match view {
        PageView::Ready { token } => token,
        PageView::InvalidLink => {
            return error_page(
                ui,
                StatusCode::UNAUTHORIZED,
                lang,
                ("This link is not valid", "Ce lien n'est pas valide"),
                (
                    "Go back to the site you came from and start again.",
                    "Revenez sur le site d'où vous venez et recommencez.",
                ),
            );
        }
        PageView::Failed => {
            return error_page(
                ui,
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                ("Something went wrong", "Une erreur est survenue"),
                (
                    "Please try again in a moment.",
                    "Merci de réessayer dans un instant.",
                ),
            );
        }
        PageView::ExpiredLink => {
            return error_page(
                ui,
                StatusCode::UNAUTHORIZED,
                lang,
                ("This link has expired", "Ce lien a expiré"),
                (
                    "Go back to the site you came from and start again.",
                    "Revenez sur le site d'où vous venez et recommencez.",
                ),
            );
        }
    };
    let config = serde_json::json!({
        "token": token,
        "lang": lang,
        "allowedOrigins": ui.allowed_origins,
        "collect": q.collect,
        "verify": q.verify.as_deref().is_some_and(|v| v == "1" || v == "true"),
        "connector": q.connector,
    });
    // A JSON data block inside <script>: `<` is escaped so no text can close the element.
    let json = config.to_string().replace('<', "\\u003c");
    ui_response(ui, StatusCode::OK, INDEX_HTML.replace("{{config}}", &json))
}

/// A static asset (`ui.js`, `live.js`, `ui.css`), or `None` for another name.
pub fn asset(ui: &UiConfig, file: &str) -> Option<Response> {
    let (body, content_type) = match file {
        "ui.js" => (UI_JS, "text/javascript; charset=utf-8"),
        "live.js" => (LIVE_JS, "text/javascript; charset=utf-8"),
        "ui.css" => (UI_CSS, "text/css; charset=utf-8"),
        _ => return None,
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    secure_headers(ui, &mut response);
    // The assets change only with the binary.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_redirects_checked() {
        let ui = UiConfig::default()
            .with_origins(&[
                "https://app.example/some/path".into(),
                "http://127.0.0.1:5000".into(),
            ])
            .unwrap();
        assert_eq!(
            ui.allowed_origins,
            ["https://app.example", "http://127.0.0.1:5000"]
        );
        assert!(ui.allows_redirect("https://app.example/done?x=1"));
        let own = UiConfig {
            public_url: Url::parse("https://gleaner.example/").ok(),
            ..ui.clone()
        };
        assert!(own.allows_socket_origin("https://gleaner.example"));
        assert!(own.allows_socket_origin("https://app.example"));
        assert!(!own.allows_socket_origin("null"));
        assert!(!own.allows_socket_origin("http://evil.example"));
        assert!(!own.allows_socket_origin("https://gleaner.example.evil.example"));
        assert!(!ui.allows_redirect("https://evil.example/"));
        assert!(!ui.allows_redirect("javascript:alert(1)"));
        assert!(
            UiConfig::default()
                .with_origins(&["not a url".into()])
                .is_err()
        );
        assert!(
            ui.content_security_policy()
                .contains("frame-ancestors https://app.example http://127.0.0.1:5000;")
        );
        assert!(
            UiConfig::default()
                .content_security_policy()
                .contains("frame-ancestors 'none'")
        );
    }
}
