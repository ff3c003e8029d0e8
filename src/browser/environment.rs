//! Chromium's environment: none of gleaner's, which may hold secrets (`GLEANER_FIELD_*`
//! passwords, `GLEANER_API_KEY`, the webhook secret) that every renderer would otherwise
//! carry in its memory; only what Chromium needs, and its home, temp and XDG directories
//! inside its profile, so that it writes nothing elsewhere.

use super::profile::Profile;

/// Variables passed on as they are: finding programs (the Debian `chromium` wrapper is a
/// shell script), language and time zone, and a display for `--headful`.
const PASSED: &[&str] = &[
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "FONTCONFIG_FILE",
    "FONTCONFIG_PATH",
];

/// Used when gleaner itself has no `PATH`.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The whole environment Chromium starts with. `own_runtime_dir`: Chromium runs as another
/// user, who cannot use gleaner's `XDG_RUNTIME_DIR`.
pub(crate) fn for_chromium(profile: &Profile, own_runtime_dir: bool) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| {
            PASSED.contains(&k.as_str())
                || k.starts_with("LC_")
                || (k == "XDG_RUNTIME_DIR" && !own_runtime_dir)
        })
        .collect();
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), DEFAULT_PATH.into()));
    }
    let home = profile.home_dir();
    let tmp = profile.tmp_dir();
    let mut set = |key: &str, path: &std::path::Path| {
        env.push((key.to_string(), path.to_string_lossy().into_owned()));
    };
    set("HOME", &home);
    set("XDG_CONFIG_HOME", &home.join(".config"));
    set("XDG_CACHE_HOME", &home.join(".cache"));
    set("XDG_DATA_HOME", &home.join(".local/share"));
    set("XDG_STATE_HOME", &home.join(".local/state"));
    // Its org.chromium.Chromium.* temp directories go with the profile.
    set("TMPDIR", &tmp);
    if own_runtime_dir {
        set("XDG_RUNTIME_DIR", &tmp);
    }
    env
}
