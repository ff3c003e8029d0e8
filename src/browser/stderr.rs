//! Chromium's stderr, read for as long as it runs: a piped stderr that nobody drains
//! blocks the browser once the pipe is full. The last lines are kept to explain a failed
//! launch (above all a sandbox that cannot start); nothing is logged, since later lines
//! could name the pages of a collect.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How many of the last lines are kept.
const KEPT_LINES: usize = 20;
/// How long a kept line may be (Chromium's "No usable sandbox" line is about 600 bytes).
const KEPT_LINE_LEN: usize = 1000;

/// What Chromium prints when its sandbox cannot start: no user namespaces (and no setuid
/// helper), or started as root without `--no-sandbox`.
const SANDBOX_FAILURES: &[&str] = &[
    "No usable sandbox",
    "without --no-sandbox is not supported",
    "Failed to move to new namespace",
];

/// The reader of one browser's stderr.
pub(crate) struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    sandbox_failure: watch::Receiver<Option<String>>,
    /// Turns true once a renderer printed V8's out-of-memory error (see memory.rs).
    v8_out_of_memory: watch::Receiver<bool>,
    reader: JoinHandle<()>,
}

impl StderrTail {
    /// Reads `stderr` until it ends (every process of the browser has exited).
    pub(crate) fn follow(stderr: impl AsyncRead + Unpin + Send + 'static) -> StderrTail {
        let lines = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
        let (failure_tx, sandbox_failure) = watch::channel(None);
        let (oom_tx, v8_out_of_memory) = watch::channel(false);
        let kept = lines.clone();
        let reader = tokio::spawn(async move {
            let mut stderr = BufReader::new(stderr);
            let mut line = Vec::new();
            loop {
                line.clear();
                match stderr.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let mut text = String::from_utf8_lossy(&line).trim_end().to_string();
                if failure_tx.borrow().is_none() && is_sandbox_failure(&text) {
                    let _ = failure_tx.send(Some(message_of(&text)));
                }
                if super::memory::is_v8_out_of_memory(&text) {
                    oom_tx.send_replace(true);
                }
                text.truncate(text.floor_char_boundary(KEPT_LINE_LEN));
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() == KEPT_LINES {
                    kept.pop_front();
                }
                kept.push_back(text);
            }
        });
        StderrTail {
            lines,
            sandbox_failure,
            v8_out_of_memory,
            reader,
        }
    }

    pub(crate) fn v8_out_of_memory(&self) -> watch::Receiver<bool> {
        self.v8_out_of_memory.clone()
    }

    /// Resolves with Chromium's message when it reports that its sandbox cannot start;
    /// pending forever otherwise.
    pub(crate) async fn sandbox_failure(&self) -> String {
        let mut failure = self.sandbox_failure.clone();
        let seen = failure
            .wait_for(Option::is_some)
            .await
            .map(|message| message.clone().unwrap_or_default());
        match seen {
            Ok(message) => message,
            // The reader ended without one.
            Err(_) => std::future::pending().await,
        }
    }

    /// After the browser failed to start: waits (at most `within`) for its stderr to end,
    /// then returns Chromium's sandbox message if it printed one, or its last line.
    pub(crate) async fn explain(&mut self, within: Duration) -> Explanation {
        let _ = tokio::time::timeout(within, &mut self.reader).await;
        if let Some(message) = self.sandbox_failure.borrow().clone() {
            return Explanation::NoSandbox(message);
        }
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        // The Debian wrapper script's harmless `[: …: unexpected operator` is not it.
        let last = lines
            .iter()
            .rev()
            .find(|l| !l.is_empty() && !l.contains("unexpected operator"))
            .cloned();
        Explanation::LastLine(last)
    }
}

/// Why the browser did not start, as far as its stderr tells.
#[derive(Debug)]
pub(crate) enum Explanation {
    NoSandbox(String),
    LastLine(Option<String>),
}

fn is_sandbox_failure(line: &str) -> bool {
    SANDBOX_FAILURES.iter().any(|s| line.contains(s))
        || (line.contains("FATAL") && line.contains("andbox"))
}

/// The message without Chromium's `[pid:tid:date:FATAL:file.cc(line)] ` prefix, cut short.
fn message_of(line: &str) -> String {
    let message = match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
        Some((_, rest)) => rest,
        None => line,
    };
    let mut message = message.trim().to_string();
    message.truncate(message.floor_char_boundary(300));
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_sandbox_failures_are_recognised() {
        let line = "[1234:1234:1129/213001.123456:FATAL:content/browser/zygote_host/zygote_host_impl_linux.cc(132)] No usable sandbox! If you are running on Ubuntu 23.10+ …";
        assert!(is_sandbox_failure(line));
        assert!(message_of(line).starts_with("No usable sandbox!"));
        assert!(is_sandbox_failure(
            "[9:9:0101/000000.1:FATAL:zygote_host_impl_linux.cc(128)] Running as root without --no-sandbox is not supported. See https://crbug.com/638180."
        ));
        assert!(!is_sandbox_failure(
            "[9:9:0101/000000.1:ERROR:bus.cc(408)] Failed to connect to the bus"
        ));
        assert!(!is_sandbox_failure(
            "/usr/bin/chromium: 1: [: x: unexpected operator"
        ));
    }

    #[tokio::test]
    async fn the_failure_is_seen_as_it_is_printed_and_the_tail_is_kept() {
        let (mut theirs, ours) = tokio::io::duplex(64);
        let mut tail = StderrTail::follow(ours);
        use tokio::io::AsyncWriteExt;
        // More than the pipe holds: the reader keeps draining it.
        for i in 0..100 {
            theirs
                .write_all(format!("[1:1:0:ERROR:x.cc(1)] line {i}\n").as_bytes())
                .await
                .unwrap();
        }
        theirs
            .write_all(b"[1:1:0:FATAL:zygote_host_impl_linux.cc(1)] No usable sandbox!\n")
            .await
            .unwrap();
        assert_eq!(tail.sandbox_failure().await, "No usable sandbox!");
        drop(theirs);
        match tail.explain(Duration::from_secs(5)).await {
            Explanation::NoSandbox(m) => assert_eq!(m, "No usable sandbox!"),
            other => panic!("{other:?}"),
        }
        assert_eq!(tail.lines.lock().unwrap().len(), KEPT_LINES);
    }
}
