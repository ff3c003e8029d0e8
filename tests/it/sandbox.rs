//! Chromium keeps its own sandbox: renderers in their own user namespace under seccomp-bpf,
//! no Chromium process as root, `--no-sandbox` only by the opt-in, the popup blocker on,
//! and a sandbox that cannot start fails the launch at once with what to do.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::target::GetTargetsParams;
use gleaner::browser::process::processes_using;
use gleaner::browser::{Browser, BrowserError, BrowserUser, LaunchOptions, Tab};
use nix::unistd::Uid;
use tokio::time::{Instant, timeout};

use crate::common;

/// One process of the browser, as /proc shows it.
#[derive(Debug)]
struct Proc {
    #[allow(dead_code, reason = "shown in the assertion messages")]
    pid: i32,
    kind: String,
    /// Real, effective, saved and filesystem uids.
    uids: Vec<u32>,
    groups: String,
    seccomp: u8,
    user_ns: String,
}

impl Proc {
    fn read(pid: i32) -> Option<Proc> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let kind = cmdline
            .split_whitespace()
            .find_map(|a| a.strip_prefix("--type="))
            .unwrap_or("browser")
            .to_string();
        Some(Proc {
            pid,
            kind,
            uids: field("Uid:")?
                .split_whitespace()
                .filter_map(|u| u.parse().ok())
                .collect(),
            groups: field("Groups:").unwrap_or_default(),
            seccomp: field("Seccomp:")?.parse().ok()?,
            user_ns: user_ns(&pid.to_string())?,
        })
    }
}

fn user_ns(pid: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/user"))
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

/// Every live process naming `profiles` on its command line, and their descendants.
fn browser_tree(profiles: &Path) -> Vec<Proc> {
    let parent_of = |pid: i32| -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat[stat.rfind(')')? + 2..]
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let all: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let mut tree: BTreeSet<i32> = processes_using(profiles).into_iter().collect();
    loop {
        let children: Vec<i32> = all
            .iter()
            .copied()
            .filter(|p| !tree.contains(p) && parent_of(*p).is_some_and(|pp| tree.contains(&pp)))
            .collect();
        if children.is_empty() {
            break;
        }
        tree.extend(children);
    }
    tree.into_iter().filter_map(Proc::read).collect()
}

/// A browser in a profile root of the test's own, with a tab on the demo bank.
async fn browser_on_a_page(
    options: LaunchOptions,
    site: &demo_sites::DemoSite,
) -> (tempfile::TempDir, Browser, Tab) {
    let profiles = tempfile::tempdir().unwrap();
    let options = LaunchOptions {
        profile_root: Some(profiles.path().to_path_buf()),
        ..options
    };
    let browser = Browser::launch(options).await.expect("launch");
    let tab = browser.new_tab().await.unwrap();
    let status = tab
        .goto(
            &format!("{}login", site.base_url()),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    (profiles, browser, tab)
}

#[tokio::test]
async fn renderers_run_in_their_own_user_namespace_under_seccomp_and_nothing_as_root() {
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let (profiles, browser, _tab) = browser_on_a_page(LaunchOptions::default(), &site).await;

    let tree = browser_tree(profiles.path());
    let ours = user_ns("self").unwrap();
    let renderers: Vec<&Proc> = tree.iter().filter(|p| p.kind == "renderer").collect();
    assert!(!renderers.is_empty(), "no renderer in {tree:#?}");
    for r in &renderers {
        assert_eq!(r.seccomp, 2, "renderer without seccomp-bpf: {r:?}");
        assert_ne!(
            r.user_ns, ours,
            "renderer in gleaner's user namespace: {r:?}"
        );
    }
    for p in &tree {
        assert!(
            !p.uids.contains(&0),
            "a Chromium process runs as root: {p:?}"
        );
    }
    if Uid::effective().is_root() {
        // Started as the default browser user, with no supplementary group (root's
        // would give it root's group rights).
        let nobody = BrowserUser::default().uid;
        for p in &tree {
            assert!(p.uids.iter().all(|u| *u == nobody), "{p:?}");
            assert!(p.groups.is_empty(), "supplementary groups kept: {p:?}");
        }
        // Its profile is that user's, and still private.
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(browser.profile_dir()).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o777), (nobody, 0o700));
    }
    browser.close().await;
    common::assert_nothing_left(profiles.path());
}

#[tokio::test]
async fn chromium_gets_none_of_gleaners_environment_and_a_home_in_its_profile() {
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let (profiles, browser, _tab) = browser_on_a_page(LaunchOptions::default(), &site).await;
    let environ = |pid: &str| -> Vec<(String, String)> {
        std::fs::read(format!("/proc/{pid}/environ"))
            .unwrap()
            .split(|b| *b == 0)
            .filter_map(|kv| {
                let kv = String::from_utf8_lossy(kv);
                let (k, v) = kv.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    };
    // The control: cargo gives this process CARGO_* variables.
    assert!(environ("self").iter().any(|(k, _)| k.starts_with("CARGO_")));
    let pid = browser.pid().expect("the browser's pid").to_string();
    let theirs = environ(&pid);
    let inherited: Vec<_> = theirs
        .iter()
        .filter(|(k, _)| k.starts_with("CARGO_") || k.starts_with("GLEANER_"))
        .collect();
    assert!(inherited.is_empty(), "{inherited:?}");
    let home = theirs.iter().find(|(k, _)| k == "HOME").map(|(_, v)| v);
    assert_eq!(
        home.map(std::path::PathBuf::from),
        Some(browser.profile_dir().join("home"))
    );
    browser.close().await;
    common::assert_nothing_left(profiles.path());
}

#[tokio::test]
async fn with_the_opt_in_the_browser_runs_without_its_sandbox() {
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let options = LaunchOptions {
        sandbox: false,
        ..Default::default()
    };
    let (profiles, browser, tab) = browser_on_a_page(options, &site).await;
    assert_eq!(tab.eval("1 + 1").await.unwrap(), 2);

    // The control of the test above: the same checks see an unconfined renderer.
    let tree = browser_tree(profiles.path());
    let ours = user_ns("self").unwrap();
    let renderers: Vec<&Proc> = tree.iter().filter(|p| p.kind == "renderer").collect();
    assert!(!renderers.is_empty(), "no renderer in {tree:#?}");
    for r in &renderers {
        assert_ne!(r.seccomp, 2, "{r:?}");
        assert_eq!(r.user_ns, ours, "{r:?}");
    }
    // Still not root.
    for p in &tree {
        assert!(
            !p.uids.contains(&0),
            "a Chromium process runs as root: {p:?}"
        );
    }
    browser.close().await;
    common::assert_nothing_left(profiles.path());
}

/// How many page targets (tabs, popups) the browser has.
async fn pages(tab: &Tab) -> usize {
    let targets = tab
        .page()
        .execute(GetTargetsParams::default())
        .await
        .unwrap();
    targets
        .result
        .target_infos
        .iter()
        .filter(|t| t.r#type == "page")
        .count()
}

#[tokio::test]
async fn the_popup_blocker_is_on() {
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let (profiles, browser, tab) = browser_on_a_page(LaunchOptions::default(), &site).await;
    // The browser's first tab is there too.
    let before = pages(&tab).await;

    // No user gesture: window.open returns null and opens nothing.
    let opened = tab
        .eval("window.open(location.href) !== null")
        .await
        .unwrap();
    assert_eq!(opened, false, "a popup opened without a user gesture");
    assert_eq!(pages(&tab).await, before);

    // The control: the same call from a real click opens a popup, which the checks see.
    let center = tab
        .eval(
            "(() => {
                const b = document.createElement('button');
                b.textContent = 'open';
                b.style = 'position:fixed;left:10px;top:10px;width:100px;height:40px;z-index:99999';
                document.body.append(b);
                window.__opened = new Promise(r => b.onclick = () => r(window.open(location.href) !== null));
                const box = b.getBoundingClientRect();
                return [box.x + box.width / 2, box.y + box.height / 2];
            })()",
        )
        .await
        .unwrap();
    let (x, y) = (center[0].as_f64().unwrap(), center[1].as_f64().unwrap());
    tab.click_at(x, y).await.unwrap();
    let opened = timeout(Duration::from_secs(10), tab.eval("window.__opened"))
        .await
        .expect("the click reached the button")
        .unwrap();
    assert_eq!(opened, true, "a clicked window.open opens a popup");
    assert_eq!(pages(&tab).await, before + 1);

    browser.close().await;
    common::assert_nothing_left(profiles.path());
}

#[tokio::test]
async fn a_sandbox_that_cannot_start_fails_the_launch_at_once_saying_what_to_do() {
    let _slot = common::browser_slot().await;
    let profiles = tempfile::tempdir().unwrap();
    let options = LaunchOptions {
        profile_root: Some(profiles.path().to_path_buf()),
        ..Default::default()
    };
    let started = Instant::now();
    let failed = if Uid::effective().is_root() {
        // Chromium itself, as root with its sandbox: it refuses to start.
        let options = LaunchOptions {
            browser_user: BrowserUser { uid: 0, gid: 0 },
            ..options
        };
        Browser::launch(options).await
    } else {
        // Not root, and user namespaces work here: a stand-in Chromium prints what a
        // kernel without them makes Chromium print, and exits.
        let fake = profiles.path().join("chromium");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho '[1:1:0101/000000.000000:FATAL:zygote_host_impl_linux.cc(128)] No usable sandbox! If you are running on Ubuntu 23.10+ …' >&2\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let options = LaunchOptions {
            executable: Some(fake),
            ..options
        };
        Browser::launch(options).await
    };
    let Err(error) = failed else {
        panic!("the launch succeeded");
    };
    assert!(matches!(error, BrowserError::NoSandbox(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("user namespaces"), "{message}");
    assert!(message.contains("--no-sandbox"), "{message}");
    // Well within the 20 s launch timeout.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let left: Vec<_> = std::fs::read_dir(profiles.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| !p.ends_with("chromium"))
        .collect();
    assert!(left.is_empty(), "profile directories left: {left:?}");
    assert!(processes_using(profiles.path()).is_empty());
}
