//! One collect: launch a browser, run the engine, and always clean up, reporting the
//! first state (1 preparing) and the final one (7, -1 or -2).

use crate::browser::{Browser, LaunchOptions, Screen};
use crate::codes::{ErrorKind, State};
use crate::connector::Plan;
use crate::engine::{self, CollectError, Event, Inputs, Links, Outcome};

#[derive(Debug, Clone, Default)]
pub struct CollectOptions {
    pub launch: LaunchOptions,
    pub engine: engine::Options,
}

/// Runs one collect to its end. The browser is closed whatever happens, and the final
/// state (done, error or disconnected) is sent as the last event. `on_screen` receives
/// the tab's screen once it exists, and `None` before the browser closes.
pub async fn run(
    connector: &Plan,
    inputs: Inputs,
    options: &CollectOptions,
    io: Links,
    on_screen: &(dyn Fn(Option<Screen>) + Send + Sync),
) -> Result<Outcome, CollectError> {
    let events = io.events.clone();
    let _ = events.send(Event::State {
        state: State::Preparing,
        message: None,
    });
    let result = match Browser::launch(options.launch.clone()).await {
        Err(e) => Err(CollectError::new(ErrorKind::BrowserCrashed, e.to_string())),
        Ok(browser) => {
            let result = match browser.new_tab().await {
                Ok(tab) => {
                    on_screen(Some(tab.screen()));
                    let r = engine::run(connector, &tab, inputs, &options.engine, io).await;
                    on_screen(None);
                    r
                }
                Err(e) => Err(CollectError::new(ErrorKind::BrowserCrashed, e.to_string())),
            };
            browser.close().await;
            result
        }
    };
    let last = match &result {
        Ok(_) => Event::State {
            state: State::Done,
            message: None,
        },
        Err(e) => Event::State {
            state: e.kind().final_state(),
            message: Some(e.to_string()),
        },
    };
    let _ = events.send(last);
    result
}
