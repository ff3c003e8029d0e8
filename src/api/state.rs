//! What every handler of the API reaches: the collects (and through them the store and the
//! connectors), the API keys, the UI's configuration and the scheduler's settings.

use std::sync::Arc;
use std::time::Duration;

use super::auth::ApiKeys;
use crate::collect::Collector;
use crate::scheduler::Wakeup;
use crate::ui::UiConfig;

#[derive(Clone)]
pub struct AppState {
    pub collector: Arc<Collector>,
    pub api_keys: ApiKeys,
    pub ui: Arc<UiConfig>,
    /// The shortest schedule interval, and what wakes the scheduler.
    pub schedules: ScheduleSettings,
}

/// What the schedule routes need besides the store.
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// The shortest `every` accepted (60 s; tests lower it).
    pub min_interval: Duration,
    /// Pokes the scheduler when a schedule changes.
    pub wakeup: Wakeup,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            min_interval: Duration::from_secs(60),
            wakeup: Wakeup::default(),
        }
    }
}
