//! The switches of chromiumoxide's default list that gleaner keeps.
//!
//! chromiumoxide passes Puppeteer's defaults unless told not to (`disable_default_args`).
//! Some of them weaken the browser, so gleaner passes its own list: these, plus the
//! switches in `Browser::launch` (`disable-background-networking`, `disable-default-apps`,
//! `disable-sync`, `no-first-run`, `password-store=basic` were defaults too). Left out, on
//! purpose:
//! - `disable-popup-blocking`: a page could open windows without a user gesture;
//! - `disable-ipc-flooding-protection`: it keeps a hostile page from flooding the browser
//!   process with navigations and history calls;
//! - `enable-features=NetworkService,NetworkServiceInProcess`: the network service would
//!   run inside the browser process instead of its own sandboxed one;
//! - `enable-blink-features=IdleDetection`: an API that tells a page whether someone is at
//!   the machine, which no connector needs;
//! - `use-mock-keychain` (macOS only) and `lang=en_US` (gleaner sets its own `lang`).
//!
//! No leading dashes: chromiumoxide adds them.

/// Switches without a value.
pub(crate) const SWITCHES: &[&str] = &[
    // Timers and rendering of a tab keep their pace when its window is hidden or
    // occluded (headless, or a headful window behind others): waits stay predictable.
    "disable-background-timer-throttling",
    "disable-backgrounding-occluded-windows",
    "disable-renderer-backgrounding",
    // No crash dumps: a dump of a logged-in browser holds the session's secrets.
    "disable-breakpad",
    // Safe Browsing's client-side model is downloaded and reports to Google; gleaner only
    // goes where a connector's allow-list says, and sends nothing anywhere else.
    "disable-client-side-phishing-detection",
    // Built-in extensions with background pages: code and requests no collect needs.
    "disable-component-extensions-with-background-pages",
    // Shared memory in TMPDIR (inside the profile) instead of /dev/shm, which is 64 MB
    // in a default Docker container and makes renderers crash.
    "disable-dev-shm-usage",
    // No "page unresponsive" dialog: nobody would answer it.
    "disable-hang-monitor",
    // No "resubmit the form?" dialog on a reload after a POST: nobody would answer it.
    "disable-prompt-on-repost",
    // Metrics are recorded (some code paths expect it) but never uploaded.
    "metrics-recording-only",
    // The "controlled by automated software" state, as before: no save-password or
    // translate bubbles. Sites see `navigator.webdriver`, as they did.
    "enable-automation",
];

/// Switches with a value: (name, value). Values of the same name given elsewhere (e.g.
/// more `disable-features`) are merged into one switch by chromiumoxide.
pub(crate) const VALUED: &[(&str, &str)] = &[
    // No translate prompt or request.
    ("disable-features", "TranslateUI"),
    // Screenshots and the live screen look the same on every machine.
    ("force-color-profile", "srgb"),
];

/// The JavaScript heap of each renderer by default. V8's own limit grows with the
/// machine's memory (about 4 GiB on a 24 GiB machine), so that one page eating memory took
/// 4.1 GB. Banking pages, single-page apps included, use tens to a few hundred MiB of heap:
/// 1 GiB leaves them room several times over, and bounds 8 concurrent collects to 8 GiB of
/// JavaScript.
pub(crate) const DEFAULT_RENDERER_MEMORY: u64 = 1 << 30;

/// The value of `js-flags`, `--max-old-space-size=<MiB>`: V8's limit of the old generation, where nearly
/// all of a page's heap lives. A page past it dies of V8's out-of-memory error, which the
/// browser reports as a crashed target.
pub(crate) fn js_heap_limit(bytes: u64) -> String {
    let mib = (bytes >> 20).max(16);
    format!("--max-old-space-size={mib}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_limit_in_mib() {
        assert_eq!(
            js_heap_limit(DEFAULT_RENDERER_MEMORY),
            "--max-old-space-size=1024"
        );
        assert_eq!(js_heap_limit(1), "--max-old-space-size=16");
    }
}
