//! The live screen follows the person's display while they drive the page: the display a
//! viewer told ([`Live::set_display`]) is applied when an `interactive` step starts and
//! whenever it changes during one. The engine takes the connector's viewport back itself
//! when the step ends ([`crate::browser::Tab::lend_to_person`]).

use std::sync::Arc;

use super::live::Live;
use crate::browser::ViewerDisplay;

/// Runs until the collect ends. Spawned once per collect, next to the screen pump.
pub async fn follow_display(live: Arc<Live>) {
    let mut status = live.statuses();
    let mut screens = live.screens();
    let mut displays = live.displays();
    // What this screen was last fitted to; a new screen starts at the connector's viewport.
    let mut fitted: Option<ViewerDisplay> = None;
    let mut was_interactive = false;
    loop {
        if live.is_finished() {
            return;
        }
        let interactive = status.borrow_and_update().interactive;
        let screen = screens.borrow_and_update().clone();
        let display = *displays.borrow_and_update();
        if !interactive {
            // The engine restored the connector's viewport as it took the page back.
            fitted = None;
        }
        if let Some(screen) = screen.filter(|_| interactive) {
            let started = !was_interactive;
            if display.is_some() && display != fitted {
                match screen.fit(display).await {
                    Ok(true) => {
                        fitted = display;
                        live.publish_capture(&screen).await;
                    }
                    // The engine has not lent the page yet, or took it back: the status
                    // change that follows wakes this loop again.
                    Ok(false) => {}
                    Err(e) => tracing::debug!(collect = %live.id, "display not followed: {e}"),
                }
                live.read_focus(&screen).await;
            } else if started {
                live.read_focus(&screen).await;
            }
        }
        was_interactive = interactive;
        tokio::select! {
            r = status.changed() => if r.is_err() { return },
            r = screens.changed() => {
                if r.is_err() { return }
                fitted = None;
            },
            r = displays.changed() => if r.is_err() { return },
        }
    }
}
